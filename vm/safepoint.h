// StoppedWorld: the proof that a runtime's managed threads are stopped, and
// what safepoints report (SafepointStats, SafepointTiming).
//
//   runtime->RunAtSafepoint("count", [&](kiln::StoppedWorld& world) {
//     runtime->ForEachObject(world, [&](kiln::Object*) { ++objects; });
//   });
//
// The protocol that stops the world is internal (vm/internal/safepoint_manager.h)
// and written down in vm/SAFEPOINTS.md.
#ifndef KILN_VM_SAFEPOINT_H_
#define KILN_VM_SAFEPOINT_H_

#include <cstdint>

#include "absl/time/time.h"
#include "absl/types/span.h"

namespace kiln {

class Runtime;
class Thread;

struct SafepointStats {
  uint64_t count = 0;
  absl::Duration total_time_to_safepoint;
  absl::Duration max_time_to_safepoint;
  absl::Duration total_pause;  // from the request to the resume
  absl::Duration max_pause;
};

// StoppedWorld: proof that every managed thread of a runtime is stopped. Only
// the VM thread makes one; functions that need a stopped world take it as a
// parameter.
class StoppedWorld {
 public:
  StoppedWorld(const StoppedWorld&) = delete;
  StoppedWorld& operator=(const StoppedWorld&) = delete;

  Runtime& runtime() const { return runtime_; }
  // threads: every attached thread, in attach order.
  absl::Span<Thread* const> threads() const { return threads_; }
  absl::Duration time_to_safepoint() const { return time_to_safepoint_; }

 private:
  friend class VmThread;
  StoppedWorld(Runtime& runtime, absl::Span<Thread* const> threads,
               absl::Duration time_to_safepoint)
      : runtime_(runtime), threads_(threads), time_to_safepoint_(time_to_safepoint) {}

  Runtime& runtime_;
  absl::Span<Thread* const> threads_;
  absl::Duration time_to_safepoint_;
};

// SafepointTiming: how long one stop-the-world operation's safepoint took.
struct SafepointTiming {
  absl::Duration time_to_safepoint;  // request until every thread stopped
  absl::Duration pause;              // request until resume
};

}  // namespace kiln

#endif  // KILN_VM_SAFEPOINT_H_
