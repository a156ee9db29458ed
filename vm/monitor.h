// Monitors: Java's `synchronized`, `wait` and `notify` on every managed
// object.
//
//   {
//     kiln::Synchronized lock(frame, queue);        // synchronized (queue) {
//     while (queue->Get<int32_t>(size) == 0) {
//       ASSIGN_OR_RETURN(kiln::WaitResult r, kiln::Wait(frame, queue.get()));
//     }
//     ...
//     RETURN_IF_ERROR(kiln::NotifyAll(frame, queue.get()));
//   }                                               // }
//
// An uncontended enter or exit is one compare-and-swap on the object's lock
// word (a thin lock, vm/internal/lock_word.h); contention, Wait, a hash of a locked
// object or a deep recursion inflate the lock to a Monitor in the runtime's
// MonitorTable (vm/internal/monitor_table.h). A thread blocked entering a monitor or waiting in Wait is in
// native state: it does not delay a safepoint, and it runs no managed code
// until the safepoint is over. vm/MONITORS.md has the protocol, how it meets
// safepoints and the collector, and why this design.
#ifndef KILN_VM_MONITOR_H_
#define KILN_VM_MONITOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/check.h"
#include "gc/object_header.h"
#include "vm/frame.h"
#include "vm/thread.h"

namespace kiln {

class Monitor;
class Object;
class StoppedWorld;

// Synchronized enters `object`'s monitor for its lifetime (Java's
// `synchronized (object) { ... }`), on behalf of `frame`, which thread dumps
// show as holding it ("- locked"). Reentrant. Blocks, in native state, while
// another thread holds the monitor. `object` must not be null, and the
// calling thread must be `frame`'s, in managed state. The object stays alive
// while the scope lasts (the monitor is a root).
class Synchronized {
 public:
  Synchronized(Frame& frame, Object* object) : thread_(frame.thread()) {
    KILN_CHECK(object != nullptr, "synchronized on null");
    KILN_DCHECK(thread_.IsManaged(), "synchronized in native state");
    // The record roots the object before anything can poll.
    thread_.lock_records_.push_back(LockRecord{object, &frame});
    uint32_t expected = 0;
    if (ABSL_PREDICT_FALSE(!LockWordOf(object).compare_exchange_strong(
            expected, thread_.thin_lock_word_, std::memory_order_acquire,
            std::memory_order_relaxed))) {
      EnterSlow(frame, object);
    }
  }
  template <typename T>
  Synchronized(Frame& frame, const Local<T>& object)
      : Synchronized(frame, static_cast<Object*>(object.get())) {}
  ~Synchronized() {
    Object* object = thread_.lock_records_.back().object;
    thread_.lock_records_.pop_back();
    uint32_t expected = thread_.thin_lock_word_;
    if (ABSL_PREDICT_FALSE(!LockWordOf(object).compare_exchange_strong(
            expected, 0, std::memory_order_release, std::memory_order_relaxed))) {
      ExitSlow(object);
    }
  }

  Synchronized(const Synchronized&) = delete;
  Synchronized& operator=(const Synchronized&) = delete;
  void* operator new(size_t) = delete;

 private:
  static std::atomic<uint32_t>& LockWordOf(Object* object) {
    return reinterpret_cast<gc::ObjectHeader*>(object)->lock_word;
  }
  void EnterSlow(Frame& frame, Object* object);
  void ExitSlow(Object* object);

  Thread& thread_;
};

enum class WaitResult : uint8_t {
  kNotified,  // Notify or NotifyAll chose this thread
  kTimedOut,  // the timeout passed first
};

// Wait releases `object`'s monitor, which the calling thread must hold (at
// any depth), and waits in native state (WAITING, or TIMED_WAITING with a
// finite `timeout`) until notified or the timeout passes; then it takes the
// monitor back, at the same depth, before it returns. Thread dumps show it
// in a frame of java.lang.Object.wait. FailedPrecondition if the thread does
// not hold the monitor (Java's IllegalMonitorStateException); Cancelled if
// the thread is interrupted (Thread::Interrupt), before or during the wait.
[[nodiscard]] absl::StatusOr<WaitResult> Wait(Frame& frame, Object* object,
                                              absl::Duration timeout = absl::InfiniteDuration());
// Notify wakes the longest-waiting thread in Wait on `object`, if any;
// NotifyAll wakes them all. They run once they get the monitor back, after
// the caller releases it. FailedPrecondition if the calling thread does not
// hold the monitor.
[[nodiscard]] absl::Status Notify(Frame& frame, Object* object);
[[nodiscard]] absl::Status NotifyAll(Frame& frame, Object* object);

// Join waits until the thread whose java.lang.Thread is `thread_object` is
// no longer alive (Runtime::IsThreadAlive), as Java's Thread.join(millis)
// does: under the object's monitor, in Wait on it, woken by the ending
// thread's NotifyAll. It waits in the caller's frame: push a frame of
// java.lang.Thread.join (or of a subclass's join) first for thread dumps to
// show one, as the JVM's do. OK once the thread has ended (at once if it
// never ran in this runtime or has ended already); DeadlineExceeded after
// `timeout`; Cancelled if the calling thread is interrupted;
// InvalidArgument for null, an object that is no java.lang.Thread, or the
// calling thread's own (which would never end).
[[nodiscard]] absl::Status Join(Frame& frame, Object* thread_object,
                                absl::Duration timeout = absl::InfiniteDuration());

// HoldsLock: whether `thread` (the calling thread) holds `object`'s monitor
// (Java's Thread.holdsLock).
bool HoldsLock(const Thread& thread, const Object* object);

// MonitorStats: the monitor table's counts.
struct MonitorStats {
  uint64_t inflated = 0;  // monitors ever made
  uint64_t deflated = 0;  // idle monitors of live objects given back by the collector
  uint64_t freed = 0;     // monitors freed with their dead objects
  uint64_t live = 0;      // monitors now
};

}  // namespace kiln

#endif  // KILN_VM_MONITOR_H_
