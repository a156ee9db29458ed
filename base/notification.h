// Notification: a one-shot event, like absl::Notification, but built on
// kiln::Mutex so that ThreadSanitizer sees its happens-before edge (see
// base/mutex.h for why Kiln avoids absl::Mutex).
#ifndef KILN_BASE_NOTIFICATION_H_
#define KILN_BASE_NOTIFICATION_H_

#include <atomic>

#include "base/mutex.h"

namespace kiln {

class Notification {
 public:
  Notification() = default;
  Notification(const Notification&) = delete;
  Notification& operator=(const Notification&) = delete;

  void Notify() {
    MutexLock lock(&mu_);
    notified_.store(true, std::memory_order_release);
    cv_.SignalAll();
  }

  bool HasBeenNotified() const { return notified_.load(std::memory_order_acquire); }

  void WaitForNotification() {
    MutexLock lock(&mu_);
    while (!notified_.load(std::memory_order_relaxed)) cv_.Wait(&mu_);
  }

 private:
  Mutex mu_;
  CondVar cv_;
  std::atomic<bool> notified_{false};
};

}  // namespace kiln

#endif  // KILN_BASE_NOTIFICATION_H_
