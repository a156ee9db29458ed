// Join and thread ends (vm/monitor.h, Runtime::IsThreadAlive): a thread that
// detaches stops being alive under its thread object's monitor and wakes the
// object's waiters, as the JVM's ending thread does, so joiners return. No
// test depends on timing: threads wait for each other through their status
// and notifications; the one timeout is the behaviour under test.
#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "base/notification.h"
#include "gtest/gtest.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

// WaitUntil polls `done` until it holds; a minute is the hang guard.
template <typename Pred>
void WaitUntil(Pred done) {
  const absl::Time deadline = absl::Now() + absl::Minutes(1);
  while (!done()) {
    ASSERT_LT(absl::Now(), deadline) << "condition never held";
    absl::SleepFor(absl::Milliseconds(1));
  }
}

// A runtime, the attached "main" in a host frame, and a worker thread that
// stays attached until Release.
class JoinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime_ = *Runtime::Create(RuntimeOptions{});
    main_.emplace(*runtime_, "main");
    frame_.emplace(*main_);
  }
  void TearDown() override {
    Release();
    worker_object_.Reset();
    frame_.reset();
    main_.reset();
    runtime_.reset();
  }

  // StartWorker attaches "worker" on a new thread, which keeps its
  // java.lang.Thread in worker_object_ and then waits in native state.
  void StartWorker() {
    std::atomic<bool> attached{false};
    worker_ = std::thread([this, &attached] {
      ThreadScope scope(*runtime_, "worker");
      worker_object_ = Global<Object>(scope, scope.thread().thread_object());
      attached.store(true);
      ScopedNative parked(scope, ThreadStatus::kWaiting);
      release_.WaitForNotification();
    });
    ScopedNative starting(*main_, ThreadStatus::kWaiting);
    WaitUntil([&] { return attached.load(); });
  }
  // Release lets the worker end (detach), and joins its OS thread.
  void Release() {
    if (!worker_.joinable()) return;
    if (!release_.HasBeenNotified()) release_.Notify();
    ScopedNative joining(*main_, ThreadStatus::kWaiting);
    worker_.join();
  }

  // Joiners: `n` threads that each Join the worker; returns once all of
  // them wait in Join (in Wait on the worker's object).
  std::vector<std::thread> StartJoiners(int n, std::vector<absl::Status>& results) {
    std::vector<std::thread> joiners;
    std::vector<std::atomic<const Thread*>> threads(n);
    for (int i = 0; i < n; ++i) {
      joiners.emplace_back([this, i, &results, &threads] {
        ThreadScope scope(*runtime_, "joiner-" + std::to_string(i));
        Frame frame(scope);
        threads[i].store(&scope.thread());
        results[i] = Join(frame, worker_object_.get());
      });
    }
    ScopedNative watching(*main_, ThreadStatus::kWaiting);
    WaitUntil([&] {
      for (const auto& t : threads) {
        const Thread* thread = t.load();
        if (thread == nullptr || thread->status() != ThreadStatus::kMonitorWait) return false;
      }
      return true;
    });
    return joiners;
  }

  std::unique_ptr<Runtime> runtime_;
  std::optional<ThreadScope> main_;
  std::optional<Frame> frame_;
  std::thread worker_;
  Global<Object> worker_object_;
  Notification release_;
};

TEST_F(JoinTest, EveryJoinerReturnsWhenTheThreadEnds) {
  StartWorker();
  EXPECT_TRUE(runtime_->IsThreadAlive(worker_object_.get()));
  std::vector<absl::Status> results(3, absl::UnknownError("not returned"));
  std::vector<std::thread> joiners = StartJoiners(3, results);
  Release();  // the worker detaches: its NotifyAll wakes all three
  {
    ScopedNative joining(*main_, ThreadStatus::kWaiting);
    for (std::thread& t : joiners) t.join();
  }
  for (const absl::Status& status : results) EXPECT_TRUE(status.ok()) << status;
  EXPECT_FALSE(runtime_->IsThreadAlive(worker_object_.get()));
  // The ended thread's object is an ordinary object now: joining it again
  // returns at once, and a collection keeps it while a Global holds it.
  EXPECT_TRUE(Join(*frame_, worker_object_.get()).ok());
  ASSERT_TRUE(runtime_->CollectGarbage().ok());
  EXPECT_EQ(worker_object_->GetClass(), runtime_->classes().thread_class());
}

// The Java idiom by hand (synchronized (t) { while (t.isAlive()) t.wait(); }),
// with no Join: the ending thread's notification is the runtime's own.
TEST_F(JoinTest, AHandWrittenJoinLoopIsWokenByTheEndingThread) {
  StartWorker();
  std::atomic<const Thread*> waiter{nullptr};
  absl::Status status = absl::UnknownError("not returned");
  std::thread joiner([&] {
    ThreadScope scope(*runtime_, "joiner");
    Frame frame(scope);
    Synchronized lock(frame, worker_object_.get());
    waiter.store(&scope.thread());
    while (runtime_->IsThreadAlive(worker_object_.get())) {
      absl::StatusOr<WaitResult> woken = Wait(frame, worker_object_.get());
      if (!woken.ok()) {
        status = woken.status();
        return;
      }
    }
    status = absl::OkStatus();
  });
  {
    ScopedNative watching(*main_, ThreadStatus::kWaiting);
    WaitUntil([&] {
      const Thread* t = waiter.load();
      return t != nullptr && t->status() == ThreadStatus::kMonitorWait;
    });
  }
  Release();
  {
    ScopedNative joining(*main_, ThreadStatus::kWaiting);
    joiner.join();
  }
  EXPECT_TRUE(status.ok()) << status;
}

TEST_F(JoinTest, ATimedJoinOfALiveThreadIsDeadlineExceeded) {
  StartWorker();
  const absl::Status status = Join(*frame_, worker_object_.get(), absl::Milliseconds(20));
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_TRUE(runtime_->IsThreadAlive(worker_object_.get()));
  EXPECT_FALSE(HoldsLock(main_->thread(), worker_object_.get()));  // released on return
}

TEST_F(JoinTest, AnInterruptedJoinIsCancelled) {
  StartWorker();
  std::vector<absl::Status> results(1, absl::UnknownError("not returned"));
  std::vector<std::thread> joiners = StartJoiners(1, results);
  Thread* joiner = nullptr;
  runtime_->ForEachThread([&](Thread& t) {
    if (t.name() == "joiner-0") joiner = &t;
  });
  ASSERT_NE(joiner, nullptr);
  joiner->Interrupt();
  {
    ScopedNative joining(*main_, ThreadStatus::kWaiting);
    joiners[0].join();
  }
  EXPECT_EQ(results[0].code(), absl::StatusCode::kCancelled) << results[0];
  EXPECT_TRUE(runtime_->IsThreadAlive(worker_object_.get()));
}

TEST_F(JoinTest, RefusesWhatCanNeverEnd) {
  EXPECT_EQ(Join(*frame_, nullptr).code(), absl::StatusCode::kInvalidArgument);
  const absl::Status self = Join(*frame_, main_->thread().thread_object());
  EXPECT_EQ(self.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(self.message().find("joining itself"), std::string::npos) << self;
  absl::StatusOr<Local<Object>> plain = Object::New(*frame_, runtime_->classes().object_class());
  ASSERT_TRUE(plain.ok()) << plain.status();
  const absl::Status not_thread = Join(*frame_, plain->get());
  EXPECT_EQ(not_thread.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(not_thread.message().find("no java.lang.Thread"), std::string::npos) << not_thread;
  EXPECT_TRUE(runtime_->IsThreadAlive(main_->thread().thread_object()));
}

}  // namespace
}  // namespace kiln
