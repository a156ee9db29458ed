// Thread: a host thread attached to a runtime, and the RAII types that move it
// between managed and native state.
//
// Every attached thread has one atomic state word holding its state (managed or
// native) and the safepoint request flag. Managed code polls that word; see
// vm/SAFEPOINTS.md for the whole protocol.
//
//   kiln::ThreadScope main(*runtime, "main");      // attach this host thread
//   kiln::Frame frame(main, run_method);           // a managed frame
//   while (working) {
//     frame.Poll();                                // safepoint poll
//     ...
//   }
//   {
//     kiln::ScopedNative native(main, kiln::ThreadStatus::kBlocked);
//     host_mutex.lock();                           // may block: not managed
//   }
#ifndef KILN_VM_THREAD_H_
#define KILN_VM_THREAD_H_

#include <pthread.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/must_use.h"
#include "base/mutex.h"
#include "gc/tlab.h"

namespace kiln {

class Class;
class Frame;
class Monitor;
class Object;
class Runtime;

// ThreadStatus: what a thread is doing, as thread dumps report it.
enum class ThreadStatus : uint8_t {
  kNew,
  kRunnable,      // running managed code
  kNative,        // running host code (Java: RUNNABLE, in native)
  kSleeping,      // Thread::Sleep
  kWaiting,       // waiting for a condition, no timeout
  kTimedWaiting,  // waiting for a condition, with a timeout
  kBlocked,       // waiting to enter a monitor (or to take it back after Wait)
  kMonitorWait,   // in Wait on a monitor, no timeout
  kTimedMonitorWait,  // in Wait on a monitor, with a timeout
  kTerminated,
};

// JavaThreadState: the java.lang.Thread.State line of a thread dump,
// "TIMED_WAITING (sleeping)" and so on.
absl::string_view JavaThreadState(ThreadStatus status);

struct ThreadOptions {
  bool daemon = false;
  int priority = 5;  // java.lang.Thread.NORM_PRIORITY
  // thread_class: the class of the thread's java.lang.Thread object, a
  // subclass of java.lang.Thread (Java's `class Worker extends Thread`);
  // nullptr: java.lang.Thread.
  const Class* thread_class = nullptr;
};

// LockRecord: a monitor entered by a frame (a kiln::Synchronized scope).
struct LockRecord {
  Object* object;
  const Frame* frame;
};

class Thread {
 public:
  Thread(const Thread&) = delete;
  Thread& operator=(const Thread&) = delete;

  Runtime& runtime() const { return runtime_; }
  const std::string& name() const { return name_; }
  // tid: the java.lang.Thread id, 1 for the first thread of a runtime.
  int64_t tid() const { return tid_; }
  // native_id: the OS thread id (gettid).
  pid_t native_id() const { return native_id_; }
  bool daemon() const { return options_.daemon; }
  int priority() const { return options_.priority; }
  ThreadStatus status() const { return status_.load(std::memory_order_relaxed); }
  // cpu_time: CPU time the OS thread has used; elapsed: time since attach.
  // Any thread may ask while this one is attached.
  absl::Duration cpu_time() const;
  absl::Duration elapsed() const { return absl::Now() - attach_time_; }

  // thread_object: this thread's java.lang.Thread on the heap.
  Object* thread_object() const { return thread_object_; }
  Object** thread_object_slot() { return &thread_object_; }

  // Poll is the safepoint poll: one relaxed load and a branch. Managed code
  // calls it at loop back-edges; allocation and frame entry call it too.
  void Poll() {
    if (ABSL_PREDICT_FALSE(word_.load(std::memory_order_relaxed) & kSafepointRequested)) {
      PollSlow();
    }
  }

  // IsManaged: whether this thread is in managed state (may touch the heap).
  bool IsManaged() const {
    return (word_.load(std::memory_order_relaxed) & kNativeBit) == 0;
  }

  // Sleep sleeps in native state (a safepoint does not wait for it). Returns
  // Cancelled if the thread is interrupted, before or during the sleep.
  KILN_MUST_USE absl::Status Sleep(absl::Duration duration);
  // Interrupt wakes this thread from Sleep and makes the next Sleep return at
  // once; the runtime interrupts its daemon threads at shutdown.
  void Interrupt();
  bool interrupted() const { return interrupted_.load(std::memory_order_acquire); }

  // Allocate returns a new zeroed object of class `layout` (a Class) with
  // `size` bytes and `length` elements (arrays). Polls first; the Tlab bump
  // is inline. Callers must root the result before the next allocation or
  // poll; the typed New functions do that.
  KILN_MUST_USE absl::StatusOr<Object*> Allocate(const gc::Layout* layout, size_t size,
                                                 uint32_t length) {
    Poll();
    if (gc::ObjectHeader* object = gc::TryAllocateInTlab(tlab_, layout, size, length)) {
      return reinterpret_cast<Object*>(object);
    }
    return AllocateSlow(layout, size, length);
  }

  // ForEachFrame walks this thread's managed stack from the innermost frame
  // (depth 0) outwards. Only the thread itself may call it, or anyone while
  // the world is stopped.
  void ForEachFrame(absl::FunctionRef<void(const Frame& frame, int depth)> fn) const;
  Frame* top_frame() const { return top_frame_; }

  // CurrentFor: the calling OS thread's Thread in `runtime`, or nullptr when
  // it is not attached to it.
  static Thread* CurrentFor(const Runtime* runtime);
  // CurrentForClass: the calling OS thread's Thread in the runtime that
  // defines `cls`, or nullptr.
  static Thread* CurrentForClass(const Class* cls);

 private:
  friend class Frame;
  friend class Monitor;
  friend class MonitorOps;
  friend class Runtime;
  friend class SafepointManager;
  friend class ScopedNative;
  friend class Synchronized;
  friend class ThreadScope;

  // The state word. State bit set: native (safe); clear: managed. The request
  // flag is set by the VM thread for the duration of a safepoint.
  static constexpr uint32_t kNativeBit = 1u << 0;
  static constexpr uint32_t kSafepointRequested = 1u << 1;

  Thread(Runtime& runtime, std::string name, int64_t tid, const ThreadOptions& options);

  void PollSlow();
  KILN_MUST_USE absl::StatusOr<Object*> AllocateSlow(const gc::Layout* layout, size_t size,
                                                     uint32_t length);
  // MakeCurrent / ClearCurrent maintain CurrentFor's per-OS-thread chain.
  void MakeCurrent();
  void ClearCurrent();
  // TransitionToNative: managed -> native; acknowledges a pending safepoint.
  void TransitionToNative(ThreadStatus status);
  // TransitionToManaged: native -> managed; waits while a safepoint runs.
  void TransitionToManaged(ThreadStatus status);

  Runtime& runtime_;
  const std::string name_;
  const int64_t tid_;
  const pid_t native_id_;
  const ThreadOptions options_;
  std::atomic<uint32_t> word_{kNativeBit};
  std::atomic<ThreadStatus> status_{ThreadStatus::kNew};
  Frame* top_frame_ = nullptr;
  Object* thread_object_ = nullptr;
  gc::Tlab tlab_;
  Thread* previous_current_ = nullptr;  // CurrentFor's per-OS-thread chain
  const pthread_t pthread_;
  const absl::Time attach_time_;

  // Monitors (vm/monitor.h). Written by the thread in managed state, read by
  // others only at safepoints.
  uint32_t thin_id_ = 0;  // the owner field of its thin locks
  // thin_lock_word_: the lock word of a thin lock it holds once (owner
  // thin_id_, depth 0), what Synchronized's inline CAS stores.
  uint32_t thin_lock_word_ = 0;
  // Synchronized scopes, innermost last. A vector with room reserved: its
  // push_back is a compare and a store, cheaper than InlinedVector's.
  std::vector<LockRecord> lock_records_;
  Object* blocked_on_ = nullptr;  // entering this monitor (the last lock record)
  Object* waiting_on_ = nullptr;  // in Wait on this monitor
  const Frame* wait_frame_ = nullptr;

  Mutex sleep_mu_;
  CondVar sleep_cv_;
  std::atomic<bool> interrupted_{false};
  // The monitor and the condition this thread waits on in Wait, for
  // Interrupt to wake it.
  Monitor* wait_monitor_ ABSL_GUARDED_BY(sleep_mu_) = nullptr;
  CondVar* wait_cv_ ABSL_GUARDED_BY(sleep_mu_) = nullptr;
};

// ThreadScope attaches the calling host thread to a runtime for its lifetime,
// with a java.lang.Thread named `name`, and leaves it in managed state.
//
//   ASSIGN_OR_RETURN(kiln::ThreadScope main, kiln::ThreadScope::Attach(runtime, "main"));
//
// Attach returns FailedPrecondition once the runtime is shutting down (a
// pooled host thread racing shutdown) and ResourceExhausted when the heap
// cannot hold the thread's java.lang.Thread; JNI's AttachCurrentThread. The
// constructor CHECK-fails on either instead: for a program's main thread,
// where both are bugs. A ThreadScope may be moved (out of a StatusOr), not
// to another OS thread; scopes end in the reverse order they began.
class ThreadScope {
 public:
  KILN_MUST_USE static absl::StatusOr<ThreadScope> Attach(Runtime& runtime,
                                                          absl::string_view name,
                                                          ThreadOptions options = {});
  ThreadScope(Runtime& runtime, absl::string_view name, ThreadOptions options = {});
  ~ThreadScope();

  ThreadScope(ThreadScope&& other) noexcept : thread_(other.thread_) { other.thread_ = nullptr; }
  ThreadScope& operator=(ThreadScope&&) = delete;
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;
  void* operator new(size_t) = delete;

  Thread& thread() const { return *thread_; }
  operator Thread&() const { return *thread_; }  // NOLINT: scopes stand for threads

 private:
  explicit ThreadScope(Thread* thread) : thread_(thread) {}

  Thread* thread_;
};

// ScopedNative moves a managed thread to native state with `status` for its
// lifetime: around blocking calls, host code, waits on host locks. The thread
// must not touch managed objects meanwhile; a safepoint does not wait for it,
// and leaving the scope waits until a running safepoint ends.
class ScopedNative {
 public:
  ScopedNative(Thread& thread, ThreadStatus status) : thread_(thread) {
    thread_.TransitionToNative(status);
  }
  ~ScopedNative() { thread_.TransitionToManaged(ThreadStatus::kRunnable); }

  ScopedNative(const ScopedNative&) = delete;
  ScopedNative& operator=(const ScopedNative&) = delete;
  void* operator new(size_t) = delete;

 private:
  Thread& thread_;
};

}  // namespace kiln

#endif  // KILN_VM_THREAD_H_
