#include "vm/thread.h"

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "vm/frame.h"
#include "vm/internal/runtime_access.h"
#include "vm/monitor.h"
#include "vm/runtime.h"

namespace kiln {
namespace {

// The innermost Thread attached on this OS thread; each Thread links to the
// one that was current before it (a host thread may attach to several
// runtimes).
thread_local Thread* tls_current = nullptr;

}  // namespace

absl::string_view JavaThreadState(ThreadStatus status) {
  switch (status) {
    case ThreadStatus::kNew: return "NEW";
    case ThreadStatus::kRunnable: return "RUNNABLE";
    case ThreadStatus::kNative: return "RUNNABLE";
    case ThreadStatus::kSleeping: return "TIMED_WAITING (sleeping)";
    case ThreadStatus::kWaiting: return "WAITING (parking)";
    case ThreadStatus::kTimedWaiting: return "TIMED_WAITING (parking)";
    case ThreadStatus::kBlocked: return "BLOCKED (on object monitor)";
    case ThreadStatus::kMonitorWait: return "WAITING (on object monitor)";
    case ThreadStatus::kTimedMonitorWait: return "TIMED_WAITING (on object monitor)";
    case ThreadStatus::kTerminated: return "TERMINATED";
  }
  return "UNKNOWN";
}

Thread::Thread(Runtime& runtime, std::string name, int64_t tid, const ThreadOptions& options)
    : runtime_(runtime),
      name_(std::move(name)),
      tid_(tid),
      native_id_(static_cast<pid_t>(syscall(SYS_gettid))),
      options_(options),
      pthread_(pthread_self()),
      attach_time_(absl::Now()) {
  lock_records_.reserve(16);
}

absl::Duration Thread::cpu_time() const {
  clockid_t clock;
  struct timespec ts;
  if (pthread_getcpuclockid(pthread_, &clock) != 0 || clock_gettime(clock, &ts) != 0) {
    return absl::ZeroDuration();
  }
  return absl::DurationFromTimespec(ts);
}

Thread* Thread::CurrentFor(const Runtime* runtime) {
  for (Thread* thread = tls_current; thread != nullptr; thread = thread->previous_current_) {
    if (&thread->runtime_ == runtime) return thread;
  }
  return nullptr;
}

Thread* Thread::CurrentForClass(const Class* cls) {
  for (Thread* thread = tls_current; thread != nullptr; thread = thread->previous_current_) {
    absl::Span<const Class* const> classes = thread->runtime_.classes().classes();
    if (cls->id() < classes.size() && classes[cls->id()] == cls) return thread;
  }
  return nullptr;
}

void Thread::MakeCurrent() {
  previous_current_ = tls_current;
  tls_current = this;
}

void Thread::ClearCurrent() {
  KILN_CHECK(tls_current == this, "thread ", name_,
             " detached out of order (ThreadScopes must nest)");
  tls_current = previous_current_;
}

void Thread::PollSlow() {
  // Stopped at a poll, the thread still reports what it was doing.
  const ThreadStatus status = this->status();
  TransitionToNative(status);
  TransitionToManaged(status);
}

void Thread::TransitionToNative(ThreadStatus status) {
  KILN_DCHECK(IsManaged(), "thread ", name_, " is already in native state");
  status_.store(status, std::memory_order_relaxed);
  const uint32_t old = word_.fetch_or(kNativeBit, std::memory_order_acq_rel);
  if (old & kSafepointRequested) internal::SafepointsOf(runtime_).AcknowledgeStopped();
}

void Thread::TransitionToManaged(ThreadStatus status) {
  uint32_t expected = kNativeBit;
  while (!word_.compare_exchange_weak(expected, 0, std::memory_order_acq_rel,
                                      std::memory_order_relaxed)) {
    KILN_DCHECK(expected & kNativeBit, "thread ", name_, " is already managed");
    if (expected & kSafepointRequested) {
      internal::SafepointsOf(runtime_).WaitUntilResumed(word_, kSafepointRequested);
    }
    expected = kNativeBit;
  }
  status_.store(status, std::memory_order_relaxed);
}

absl::Status Thread::Sleep(absl::Duration duration) {
  ScopedNative sleeping(*this, ThreadStatus::kSleeping);
  const absl::Time deadline = absl::Now() + duration;
  MutexLock lock(&sleep_mu_);
  while (!interrupted()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return absl::OkStatus();
    sleep_cv_.WaitWithTimeout(&sleep_mu_, left);
  }
  return absl::CancelledError(absl::StrCat("thread ", name_, " interrupted"));
}

void Thread::Interrupt() {
  MutexLock lock(&sleep_mu_);
  interrupted_.store(true, std::memory_order_release);
  sleep_cv_.SignalAll();
  // In Wait: the monitor is in use (this thread waits in it) while
  // wait_monitor_ is set, so it cannot be freed meanwhile.
  if (wait_monitor_ != nullptr) internal::WakeForInterrupt(wait_monitor_, wait_cv_);
}

absl::StatusOr<Object*> Thread::AllocateSlow(const gc::Layout* layout, size_t size,
                                             uint32_t length) {
  KILN_DCHECK(IsManaged(), "thread ", name_, " allocates in native state");
  ASSIGN_OR_RETURN(gc::ObjectHeader * header,
                   internal::HeapOf(runtime_).Allocate(tlab_, layout, size, length));
  return reinterpret_cast<Object*>(header);
}

void Thread::ForEachFrame(absl::FunctionRef<void(const Frame& frame, int depth)> fn) const {
  int depth = 0;
  for (const Frame* frame = top_frame_; frame != nullptr; frame = frame->caller()) {
    fn(*frame, depth++);
  }
}

ThreadScope::ThreadScope(Runtime& runtime, absl::string_view name, ThreadOptions options) {
  absl::StatusOr<Thread*> thread = runtime.AttachCurrentThread(name, options);
  KILN_CHECK(thread.ok(), thread.status().ToString());
  thread_ = *thread;
}

absl::StatusOr<ThreadScope> ThreadScope::Attach(Runtime& runtime, absl::string_view name,
                                                ThreadOptions options) {
  ASSIGN_OR_RETURN(Thread * thread, runtime.AttachCurrentThread(name, options));
  return ThreadScope(thread);
}

ThreadScope::~ThreadScope() {
  if (thread_ != nullptr) thread_->runtime().DetachCurrentThread(thread_);
}

}  // namespace kiln
