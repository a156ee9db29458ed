// The handler/dispatcher protocol: actions run on the dispatcher thread,
// bursts coalesce into one more run, uninstalling restores the previous
// disposition and waits for a run in progress.
#include "inspection/services/signal_dispatcher.h"

#include <signal.h>

#include <atomic>
#include <thread>

#include "absl/time/clock.h"
#include "base/mutex.h"
#include "base/notification.h"
#include "gtest/gtest.h"

namespace kiln {
namespace {

// Counter: how many times an action ran, and a way to wait for a count.
class Counter {
 public:
  void Increment() {
    MutexLock lock(&mu_);
    ++count_;
    cv_.SignalAll();
  }
  void WaitFor(int count) {
    MutexLock lock(&mu_);
    while (count_ < count) cv_.Wait(&mu_);
  }
  int count() {
    MutexLock lock(&mu_);
    return count_;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
};

void (*CurrentHandler(int signo))(int) {
  struct sigaction current;
  EXPECT_EQ(sigaction(signo, nullptr, &current), 0);
  return current.sa_handler;
}

TEST(SignalDispatcherTest, RunsTheActionOnAnotherThread) {
  Counter runs;
  std::atomic<bool> on_caller{false};
  const std::thread::id caller = std::this_thread::get_id();
  auto action = SignalAction::Install(SIGUSR1, "test", [&] {
    if (std::this_thread::get_id() == caller) on_caller = true;
    runs.Increment();
  });
  ASSERT_TRUE(action.ok()) << action.status();
  ASSERT_EQ(raise(SIGUSR1), 0);
  runs.WaitFor(1);
  ASSERT_EQ(raise(SIGUSR1), 0);
  runs.WaitFor(2);
  EXPECT_FALSE(on_caller);
}

TEST(SignalDispatcherTest, BurstDuringARunCoalescesIntoOneMoreRun) {
  Counter runs;
  Notification entered, release;
  auto action = SignalAction::Install(SIGUSR2, "test", [&] {
    if (!entered.HasBeenNotified()) {
      entered.Notify();
      release.WaitForNotification();
    }
    runs.Increment();
  });
  ASSERT_TRUE(action.ok()) << action.status();
  ASSERT_EQ(raise(SIGUSR2), 0);
  entered.WaitForNotification();
  for (int i = 0; i < 20; ++i) ASSERT_EQ(raise(SIGUSR2), 0);
  release.Notify();
  runs.WaitFor(2);
  absl::SleepFor(absl::Milliseconds(50));  // room for a wrong third run
  EXPECT_EQ(runs.count(), 2);
}

TEST(SignalDispatcherTest, UninstallRestoresThePreviousDisposition) {
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction saved;
  ASSERT_EQ(sigaction(SIGUSR1, &ignore, &saved), 0);
  {
    auto action = SignalAction::Install(SIGUSR1, "test", [] {});
    ASSERT_TRUE(action.ok()) << action.status();
    EXPECT_NE(CurrentHandler(SIGUSR1), SIG_IGN);
  }
  EXPECT_EQ(CurrentHandler(SIGUSR1), SIG_IGN);
  ASSERT_EQ(sigaction(SIGUSR1, &saved, nullptr), 0);
  EXPECT_EQ(CurrentHandler(SIGUSR1), SIG_DFL);
}

TEST(SignalDispatcherTest, UninstallWaitsForARunInProgress) {
  Notification entered, release;
  std::atomic<bool> finished{false};
  auto action = SignalAction::Install(SIGUSR1, "test", [&] {
    entered.Notify();
    release.WaitForNotification();
    finished = true;
  });
  ASSERT_TRUE(action.ok()) << action.status();
  ASSERT_EQ(raise(SIGUSR1), 0);
  entered.WaitForNotification();
  std::atomic<bool> uninstalled{false};
  std::thread uninstaller([&] {
    action->reset();
    uninstalled = true;
  });
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_FALSE(uninstalled);
  release.Notify();
  uninstaller.join();
  EXPECT_TRUE(finished);
}

TEST(SignalDispatcherTest, OneActionPerSignal) {
  auto first = SignalAction::Install(SIGUSR1, "heap dump", [] {});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = SignalAction::Install(SIGUSR1, "other", [] {});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(second.status().message().find("SIGUSR1 already runs \"heap dump\""),
            std::string::npos)
      << second.status();
  first->reset();
  auto third = SignalAction::Install(SIGUSR1, "other", [] {});
  EXPECT_TRUE(third.ok()) << third.status();
}

TEST(SignalDispatcherTest, RefusesSignalsThatMustNotBeCaught) {
  for (int signo : {SIGKILL, SIGSTOP, SIGSEGV, 0, NSIG}) {
    auto action = SignalAction::Install(signo, "test", [] {});
    EXPECT_EQ(action.status().code(), absl::StatusCode::kInvalidArgument) << signo;
  }
  EXPECT_EQ(SignalName(SIGQUIT), "SIGQUIT");
}

}  // namespace
}  // namespace kiln
