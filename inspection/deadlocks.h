// Deadlocks: cycles of threads each entering a monitor that the next holds,
// found at a safepoint, as HotSpot's ThreadService finds them for jstack and
// ThreadMXBean.findDeadlockedThreads.
//
//   absl::StatusOr<std::vector<kiln::Deadlock>> found = kiln::FindDeadlocks(*runtime);
//   for (const kiln::Deadlock& d : *found) {
//     for (const kiln::DeadlockedThread& t : d.threads) { ... t.name, t.owner_name ... }
//   }
//
// A thread in Wait is not deadlocked (a Notify may still come); a thread
// taking its monitor back after Wait is entering it, and is.
#ifndef KILN_INSPECTION_DEADLOCKS_H_
#define KILN_INSPECTION_DEADLOCKS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "vm/runtime.h"

namespace kiln {

// DeadlockEdge: one thread of a cycle, the object it enters, and the next
// thread of the cycle, which holds that object's monitor.
struct DeadlockEdge {
  const Thread* thread;
  const Object* object;
  const Thread* owner;
};

// FindDeadlockCycles: every cycle in `world`, each starting at its thread
// that comes first in attach order, cycles in that order too. A thread is in
// at most one cycle.
std::vector<std::vector<DeadlockEdge>> FindDeadlockCycles(const StoppedWorld& world);

// DeadlockedThread: a DeadlockEdge copied out of the safepoint.
struct DeadlockedThread {
  std::string name;
  int64_t tid = 0;
  uintptr_t lock = 0;      // the object's address
  std::string lock_class;  // its class, "java.lang.Object"
  std::string owner_name;
  int64_t owner_tid = 0;
};

struct Deadlock {
  std::vector<DeadlockedThread> threads;
};

// FindDeadlocks stops the world of `runtime` and returns its deadlocks.
// FailedPrecondition once the runtime is shutting down.
[[nodiscard]] absl::StatusOr<std::vector<Deadlock>> FindDeadlocks(Runtime& runtime);

}  // namespace kiln

#endif  // KILN_INSPECTION_DEADLOCKS_H_
