// SafepointManager: the thread list and the stop-the-world protocol. Internal
// to the runtime: embedders stop the world through Runtime::RunAtSafepoint.
//
// The protocol is written down in vm/SAFEPOINTS.md. In short: the VM thread
// holds the thread-list lock for the whole safepoint (no thread attaches or
// detaches meanwhile), sets the request flag in every thread's state word, and
// waits until every thread that was managed has acknowledged by moving to
// native state (at a poll, or by entering a native region). Threads that were
// already native count as stopped. A thread trying to become managed while the
// flag is set waits until the VM thread clears it.
#ifndef KILN_VM_INTERNAL_SAFEPOINT_MANAGER_H_
#define KILN_VM_INTERNAL_SAFEPOINT_MANAGER_H_

#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "base/mutex.h"
#include "vm/safepoint.h"

namespace kiln {

class Runtime;
class Thread;

class SafepointManager {
 public:
  SafepointManager() = default;
  SafepointManager(const SafepointManager&) = delete;
  SafepointManager& operator=(const SafepointManager&) = delete;

  // Add and Remove register a thread (in native state). Both wait while a
  // safepoint is in progress.
  void Add(Thread* thread);
  void Remove(Thread* thread);
  // ForEachThread calls `fn` on every attached thread under the thread-list
  // lock (so not during a safepoint, and `fn` must not attach or detach).
  void ForEachThread(absl::FunctionRef<void(Thread&)> fn);

  // StopTheWorld returns once every attached thread is stopped, holding the
  // thread-list lock; it returns the threads. ResumeTheWorld releases them.
  // VM thread only.
  absl::Span<Thread* const> StopTheWorld() ABSL_EXCLUSIVE_LOCK_FUNCTION(threads_mu_);
  void ResumeTheWorld() ABSL_UNLOCK_FUNCTION(threads_mu_);

  // Called by a thread that leaves managed state while a safepoint request is
  // pending: it counts as stopped from now on.
  void AcknowledgeStopped();
  // Called by a thread that wants to become managed and found the request
  // flag set: returns once the safepoint is over.
  void WaitUntilResumed(const std::atomic<uint32_t>& word, uint32_t request_flag);

  void RecordPause(absl::Duration time_to_safepoint, absl::Duration pause);
  SafepointStats stats();

 private:
  Mutex threads_mu_;
  std::vector<Thread*> threads_ ABSL_GUARDED_BY(threads_mu_);

  Mutex mu_;  // pending_ and the two condition variables
  // Threads still to acknowledge; may dip below zero while the VM thread is
  // still counting, since acknowledgements can arrive first.
  int64_t pending_ ABSL_GUARDED_BY(mu_) = 0;
  CondVar all_stopped_;
  CondVar resumed_;

  Mutex stats_mu_;
  SafepointStats stats_ ABSL_GUARDED_BY(stats_mu_);
};

}  // namespace kiln

#endif  // KILN_VM_INTERNAL_SAFEPOINT_MANAGER_H_
