#include "vm/internal/safepoint_manager.h"

#include <algorithm>

#include "base/check.h"
#include "vm/thread.h"

namespace kiln {

void SafepointManager::Add(Thread* thread) {
  MutexLock lock(&threads_mu_);
  threads_.push_back(thread);
}

void SafepointManager::Remove(Thread* thread) {
  MutexLock lock(&threads_mu_);
  auto it = std::find(threads_.begin(), threads_.end(), thread);
  KILN_CHECK(it != threads_.end(), "removing unregistered thread ", thread->name());
  threads_.erase(it);
}

void SafepointManager::ForEachThread(absl::FunctionRef<void(Thread&)> fn) {
  MutexLock lock(&threads_mu_);
  for (Thread* thread : threads_) fn(*thread);
}

absl::Span<Thread* const> SafepointManager::StopTheWorld() {
  threads_mu_.Lock();
  int64_t managed = 0;
  for (Thread* thread : threads_) {
    const uint32_t old =
        thread->word_.fetch_or(Thread::kSafepointRequested, std::memory_order_acq_rel);
    KILN_DCHECK((old & Thread::kSafepointRequested) == 0, "nested safepoint request");
    // A thread already in native state is stopped: to become managed it must
    // clear its native bit with a CAS, which now fails on the request flag.
    if ((old & Thread::kNativeBit) == 0) ++managed;
  }
  MutexLock lock(&mu_);
  pending_ += managed;
  while (pending_ != 0) all_stopped_.Wait(&mu_);
  return threads_;
}

void SafepointManager::ResumeTheWorld() {
  {
    // Clearing under mu_ means a thread in WaitUntilResumed either sees the
    // flag cleared or is already waiting when SignalAll runs.
    MutexLock lock(&mu_);
    for (Thread* thread : threads_) {
      thread->word_.fetch_and(~Thread::kSafepointRequested, std::memory_order_acq_rel);
    }
    resumed_.SignalAll();
  }
  threads_mu_.Unlock();
}

void SafepointManager::AcknowledgeStopped() {
  MutexLock lock(&mu_);
  if (--pending_ == 0) all_stopped_.Signal();
}

void SafepointManager::WaitUntilResumed(const std::atomic<uint32_t>& word,
                                        uint32_t request_flag) {
  MutexLock lock(&mu_);
  while (word.load(std::memory_order_acquire) & request_flag) resumed_.Wait(&mu_);
}

void SafepointManager::RecordPause(absl::Duration time_to_safepoint, absl::Duration pause) {
  MutexLock lock(&stats_mu_);
  ++stats_.count;
  stats_.total_time_to_safepoint += time_to_safepoint;
  stats_.max_time_to_safepoint = std::max(stats_.max_time_to_safepoint, time_to_safepoint);
  stats_.total_pause += pause;
  stats_.max_pause = std::max(stats_.max_pause, pause);
}

SafepointStats SafepointManager::stats() {
  MutexLock lock(&stats_mu_);
  return stats_;
}

}  // namespace kiln
