#include "vm/internal/vm_operation.h"

#include <pthread.h>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"

namespace kiln {

VmThread::VmThread(Runtime& runtime, SafepointManager& safepoints)
    : runtime_(runtime), safepoints_(safepoints), thread_([this] { Loop(); }) {}

VmThread::~VmThread() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    work_.SignalAll();
  }
  thread_.join();
}

// Both hand-overs signal after releasing mu_: a thread woken while the
// signaller still held it would block on mu_ at once and need a second
// wake-up (a futex call each, an inter-processor interrupt each on a
// virtual machine). Waking outside the lock loses nothing: the waiter
// tests its condition under mu_, so it either sees the change or is
// already waiting when the signal comes.
absl::Status VmThread::Execute(VmOperation& op) {
  {
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(Admit(op));
    op.done_ = false;
    queue_.push_back(&op);
  }
  work_.Signal();
  MutexLock lock(&mu_);
  while (!op.done_) done_.Wait(&mu_);
  return absl::OkStatus();
}

absl::Status VmThread::Admit(const VmOperation& op) {
  KILN_CHECK(!IsCurrent(), "VM operation ", op.name(), " started from the VM thread");
  if (!stopping_) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("VM operation ", op.name(), ": the runtime is shutting down"));
}

absl::Status VmThread::ExecuteHere(VmOperation& op) {
  {
    MutexLock lock(&mu_);
    RETURN_IF_ERROR(Admit(op));
  }
  // A thread waiting here is native: it does not hold up the safepoint of
  // the operation running meanwhile.
  MutexLock run(&run_mu_);
  Run(op);
  return absl::OkStatus();
}

void VmThread::Run(VmOperation& op) {
  const absl::Time start = absl::Now();
  absl::Span<Thread* const> threads = safepoints_.StopTheWorld();
  const absl::Duration time_to_safepoint = absl::Now() - start;
  StoppedWorld world(runtime_, threads, time_to_safepoint);
  op.Doit(world);
  safepoints_.ResumeTheWorld();
  const absl::Duration pause = absl::Now() - start;
  safepoints_.RecordPause(time_to_safepoint, pause);
  op.timing_ = SafepointTiming{time_to_safepoint, pause};
}

void VmThread::Loop() {
  pthread_setname_np(pthread_self(), "VM Thread");
  while (true) {
    VmOperation* op;
    {
      MutexLock lock(&mu_);
      while (queue_.empty() && !stopping_) work_.Wait(&mu_);
      if (queue_.empty()) return;  // stopping, and nothing left to run
      op = queue_.front();
      queue_.pop_front();
    }
    {
      MutexLock run(&run_mu_);
      Run(*op);
    }
    {
      MutexLock lock(&mu_);
      op->done_ = true;
    }
    done_.SignalAll();  // `op` may be gone already: done_ is ours
  }
}

}  // namespace kiln
