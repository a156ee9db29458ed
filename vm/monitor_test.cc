// Monitors (vm/monitor.h, vm/MONITORS.md): exclusion, reentrancy, Wait and
// Notify, the safepoint protocol and the collector. No test depends on
// timing: threads wait for each other through real conditions (a thread's
// status, a flag set under the monitor); sleeps are bounded hang guards.
#include "vm/monitor.h"

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "base/notification.h"
#include "gtest/gtest.h"
#include "vm/internal/monitor_table.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

RuntimeOptions Options() {
  RuntimeOptions options;
  options.heap_limit_bytes = 64 << 20;
  options.classes.push_back({.name = "test.Box",
                             .source_file = "monitor_test.cc",
                             .fields = {{"n", FieldType::kInt}},
                             .methods = {{"run", "()V"}, {"inner", "()V"}}});
  return options;
}

// WaitFor polls `done` until it holds; a minute is the hang guard.
template <typename Pred>
void WaitFor(Pred done) {
  const absl::Time deadline = absl::Now() + absl::Minutes(1);
  while (!done()) {
    ASSERT_LT(absl::Now(), deadline) << "condition never held";
    absl::SleepFor(absl::Milliseconds(1));
  }
}

class MonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime_ = *Runtime::Create(Options());
    Resolver resolver(*runtime_);
    box_class_ = resolver.Class("test.Box");
    run_ = resolver.Method(box_class_, "run", "()V");
    n_ = resolver.Field<int32_t>(box_class_, "n");
    ASSERT_TRUE(resolver.status().ok()) << resolver.status();
    main_.emplace(*runtime_, "main");
    frame_.emplace(*main_, run_);
    // The shared box lives in a Global, so that every thread can reach it.
    box_ = Global<Object>(*Object::New(*frame_, box_class_));
  }
  void TearDown() override {
    box_.Reset();
    frame_.reset();
    main_.reset();
    runtime_.reset();
  }

  // Runs `body` on a new attached thread named `name`, in a frame of run().
  std::thread Start(std::string name, std::function<void(Frame&)> body) {
    return std::thread([this, name, body = std::move(body)] {
      ThreadScope scope(*runtime_, name);
      Frame frame(scope, run_);
      body(frame);
    });
  }

  std::unique_ptr<Runtime> runtime_;
  const Class* box_class_ = nullptr;
  const Method* run_ = nullptr;
  FieldRef<int32_t> n_;
  std::optional<ThreadScope> main_;
  std::optional<Frame> frame_;
  Global<Object> box_;
};

TEST_F(MonitorTest, EightThreadsExcludeEachOther) {
  constexpr int kThreads = 8;
  constexpr int kIncrements = 20000;
  int64_t host_counter = 0;  // unsynchronized but for the monitor: TSan checks it
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.push_back(Start("worker-" + std::to_string(t), [&](Frame& frame) {
      for (int i = 0; i < kIncrements; ++i) {
        Synchronized lock(frame, box_.get());
        box_->Set(n_, box_->Get(n_) + 1);
        ++host_counter;
        frame.Poll();
      }
    }));
  }
  {
    ScopedNative joining(*main_, ThreadStatus::kWaiting);
    for (std::thread& t : threads) t.join();
  }
  EXPECT_EQ(box_->Get(n_), kThreads * kIncrements);
  EXPECT_EQ(host_counter, kThreads * kIncrements);
}

TEST_F(MonitorTest, IsReentrantAndReportsWhoHoldsIt) {
  EXPECT_FALSE(HoldsLock(*main_, box_.get()));
  {
    Synchronized outer(*frame_, box_.get());
    {
      Synchronized inner(*frame_, box_.get());
      Synchronized innermost(*frame_, box_.get());
      EXPECT_TRUE(HoldsLock(*main_, box_.get()));
    }
    EXPECT_TRUE(HoldsLock(*main_, box_.get()));
  }
  EXPECT_FALSE(HoldsLock(*main_, box_.get()));
}

TEST_F(MonitorTest, RecursionDeeperThanTheThinLockInflates) {
  const MonitorStats before = runtime_->monitor_stats();
  constexpr int kDepth = LockWord::kMaxThinCount + 10;
  std::vector<std::optional<Synchronized>> scopes(kDepth);
  for (auto& scope : scopes) scope.emplace(*frame_, box_.get());
  EXPECT_EQ(runtime_->monitor_stats().inflated, before.inflated + 1);
  for (int i = kDepth - 1; i >= 0; --i) {
    EXPECT_TRUE(HoldsLock(*main_, box_.get()));
    scopes[i].reset();
  }
  EXPECT_FALSE(HoldsLock(*main_, box_.get()));
  // Another thread can take it now.
  std::thread other = Start("other", [&](Frame& frame) { Synchronized lock(frame, box_.get()); });
  ScopedNative joining(*main_, ThreadStatus::kWaiting);
  other.join();
}

TEST_F(MonitorTest, WaitWithoutHoldingTheMonitorIsAFailedPrecondition) {
  EXPECT_EQ(Wait(*frame_, box_.get()).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Wait(*frame_, box_.get(), absl::Milliseconds(1)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Notify(*frame_, box_.get()).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(NotifyAll(*frame_, box_.get()).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Wait(*frame_, nullptr).status().code(), absl::StatusCode::kInvalidArgument);

  // Held by another thread (inflated, since that thread waits on it): still
  // not ours.
  Notification holding, release;
  std::thread holder = Start("holder", [&](Frame& frame) {
    Synchronized lock(frame, box_.get());
    EXPECT_TRUE(Notify(frame, box_.get()).ok());  // thin, held: fine
    holding.Notify();
    ScopedNative waiting(frame.thread(), ThreadStatus::kWaiting);
    release.WaitForNotification();
  });
  {
    ScopedNative waiting(*main_, ThreadStatus::kWaiting);
    holding.WaitForNotification();
  }
  EXPECT_EQ(Wait(*frame_, box_.get(), absl::Milliseconds(1)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(NotifyAll(*frame_, box_.get()).code(), absl::StatusCode::kFailedPrecondition);
  release.Notify();
  ScopedNative joining(*main_, ThreadStatus::kWaiting);
  holder.join();
}

// A waiter loops on a condition set under the monitor, as Java code does;
// the notifier waits until the waiter is really in Wait.
TEST_F(MonitorTest, NotifyWakesAWaiterWithAndWithoutTimeout) {
  for (absl::Duration timeout : {absl::InfiniteDuration(), absl::Minutes(5)}) {
    box_->Set(n_, 0);
    std::atomic<const Thread*> waiter_thread{nullptr};
    std::optional<WaitResult> result;
    std::thread waiter = Start("waiter", [&](Frame& frame) {
      waiter_thread.store(&frame.thread());
      Synchronized lock(frame, box_.get());
      while (box_->Get(n_) == 0) {
        absl::StatusOr<WaitResult> r = Wait(frame, box_.get(), timeout);
        ASSERT_TRUE(r.ok()) << r.status();
        result = *r;
      }
      EXPECT_TRUE(HoldsLock(frame.thread(), box_.get()));
    });
    const ThreadStatus expected = timeout == absl::InfiniteDuration()
                                      ? ThreadStatus::kMonitorWait
                                      : ThreadStatus::kTimedMonitorWait;
    WaitFor([&] {
      const Thread* t = waiter_thread.load();
      return t != nullptr && t->status() == expected;
    });
    {
      Synchronized lock(*frame_, box_.get());
      box_->Set(n_, 1);
      EXPECT_TRUE(Notify(*frame_, box_.get()).ok());
    }
    {
      ScopedNative joining(*main_, ThreadStatus::kWaiting);
      waiter.join();
    }
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(*result, WaitResult::kNotified);
  }
}

TEST_F(MonitorTest, TimedWaitTimesOutAndKeepsTheDepth) {
  Synchronized outer(*frame_, box_.get());
  Synchronized inner(*frame_, box_.get());
  absl::StatusOr<WaitResult> result = Wait(*frame_, box_.get(), absl::Milliseconds(20));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(*result, WaitResult::kTimedOut);
  EXPECT_TRUE(HoldsLock(*main_, box_.get()));
}

TEST_F(MonitorTest, NotifyAllWakesEveryWaiter) {
  constexpr int kWaiters = 4;
  std::atomic<int> waiting{0};
  std::atomic<int> woken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWaiters; ++t) {
    threads.push_back(Start("waiter-" + std::to_string(t), [&](Frame& frame) {
      Synchronized lock(frame, box_.get());
      waiting.fetch_add(1);
      while (box_->Get(n_) == 0) ASSERT_TRUE(Wait(frame, box_.get()).ok());
      woken.fetch_add(1);
    }));
  }
  // Every waiter is in Wait once all have counted themselves and the monitor
  // is free: each counts under the monitor and releases it only in Wait.
  WaitFor([&] { return waiting.load() == kWaiters; });
  {
    Synchronized lock(*frame_, box_.get());
    box_->Set(n_, 1);
    EXPECT_TRUE(NotifyAll(*frame_, box_.get()).ok());
  }
  ScopedNative joining(*main_, ThreadStatus::kWaiting);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(woken.load(), kWaiters);
}

TEST_F(MonitorTest, InterruptEndsAWaitWithCancelled) {
  std::atomic<const Thread*> waiter_thread{nullptr};
  absl::Status status;
  std::thread waiter = Start("waiter", [&](Frame& frame) {
    Synchronized lock(frame, box_.get());
    waiter_thread.store(&frame.thread());
    status = Wait(frame, box_.get()).status();
    EXPECT_TRUE(HoldsLock(frame.thread(), box_.get()));
  });
  WaitFor([&] {
    const Thread* t = waiter_thread.load();
    return t != nullptr && t->status() == ThreadStatus::kMonitorWait;
  });
  const_cast<Thread*>(waiter_thread.load())->Interrupt();
  {
    ScopedNative joining(*main_, ThreadStatus::kWaiting);
    waiter.join();
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
}

TEST_F(MonitorTest, IdentityHashSurvivesLockingInflationAndDeflation) {
  const int32_t hash = box_->IdentityHashCode();
  EXPECT_GT(hash, 0);
  {
    Synchronized lock(*frame_, box_.get());  // hashed: inflates
    EXPECT_EQ(box_->IdentityHashCode(), hash);
  }
  Local<Object> other = *Object::New(*frame_, box_class_);
  int32_t other_hash;
  {
    Synchronized lock(*frame_, other);  // thin
    other_hash = other->IdentityHashCode();  // locked thin: inflates to keep it
    EXPECT_EQ(other->IdentityHashCode(), other_hash);
  }
  const MonitorStats before = runtime_->monitor_stats();
  ASSERT_TRUE(runtime_->CollectGarbage().ok());
  const MonitorStats after = runtime_->monitor_stats();
  EXPECT_EQ(after.deflated, before.deflated + 2);  // both idle, both alive
  EXPECT_EQ(after.live, 0u);
  EXPECT_EQ(box_->IdentityHashCode(), hash);
  EXPECT_EQ(other->IdentityHashCode(), other_hash);
}

// The collector keeps objects whose monitors are held or waited on even when
// nothing else refers to them, and frees their monitors once they die.
TEST_F(MonitorTest, CollectionKeepsMonitoredObjectsAndFreesTheirMonitorsWithThem) {
  const MonitorStats before = runtime_->monitor_stats();
  Notification waiter_ready, release_waiter;
  std::atomic<const Thread*> waiter_thread{nullptr};
  std::thread waiter = Start("waiter", [&](Frame& frame) {
    Local<Object> local = *Object::New(frame, box_class_);
    local->Set(n_, 7);
    Object* object = local.get();
    Synchronized lock(frame, object);
    local.Set(nullptr);  // only the monitor keeps it now
    waiter_thread.store(&frame.thread());
    // Waits (inflated) until the main thread has collected.
    while (!release_waiter.HasBeenNotified()) {
      ASSERT_TRUE(Wait(frame, object, absl::Milliseconds(5)).ok());
    }
    EXPECT_EQ(object->Get(n_), 7);
    EXPECT_EQ(object->GetClass(), box_class_);
  });
  WaitFor([&] { return waiter_thread.load() != nullptr; });

  Frame inner(*main_, run_);
  Local<Object> local = *Object::New(inner, box_class_);
  local->Set(n_, 42);
  Object* held = local.get();
  {
    Synchronized lock(inner, held);
    local.Set(nullptr);
    (void)held->IdentityHashCode();  // inflate it too
    const gc::CollectionStats stats = *runtime_->CollectGarbage();
    EXPECT_GT(stats.live_objects, 0u);
    EXPECT_EQ(held->Get(n_), 42);
    EXPECT_EQ(held->GetClass(), box_class_);
    EXPECT_EQ(runtime_->monitor_stats().freed, before.freed);
    EXPECT_GE(runtime_->monitor_stats().live, before.live + 2);
  }
  release_waiter.Notify();
  {
    ScopedNative joining(*main_, ThreadStatus::kWaiting);
    waiter.join();
  }
  ASSERT_TRUE(runtime_->CollectGarbage().ok());
  const MonitorStats after = runtime_->monitor_stats();
  EXPECT_EQ(after.freed, before.freed + 2);
  EXPECT_EQ(after.live, 0u);
}

// 1,000 safepoints while threads contend for a monitor and wait on it: every
// safepoint completes (nobody blocked on a monitor holds it up), no thread
// runs managed code during one (in particular none that got the monitor while
// the world was stopped), and the threads finish (no deadlock).
TEST_F(MonitorTest, ThousandSafepointsWhileThreadsContendAndWait) {
  constexpr int kThreads = 4;
  std::atomic<bool> in_safepoint{false};
  std::atomic<int> violations{0};
  std::atomic<bool> stop{false};
  std::atomic<int64_t> iterations{0};
  auto check = [&] {
    if (in_safepoint.load(std::memory_order_acquire)) violations.fetch_add(1);
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.push_back(Start("contender-" + std::to_string(t), [&, t](Frame& frame) {
      for (int64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        Synchronized lock(frame, box_.get());
        check();
        box_->Set(n_, box_->Get(n_) + 1);
        if ((i + t) % 4 == 0) {
          ASSERT_TRUE(Wait(frame, box_.get(), absl::Microseconds(200)).ok());
          check();
        } else {
          ASSERT_TRUE(Notify(frame, box_.get()).ok());
        }
        iterations.fetch_add(1, std::memory_order_relaxed);
        frame.Poll();
        check();
      }
    }));
  }
  for (int i = 0; i < 1000; ++i) {
    if (i % 100 == 99) {
      ASSERT_TRUE(runtime_->CollectGarbage().ok());
      continue;
    }
    ASSERT_TRUE(runtime_
                    ->RunAtSafepoint("monitor test",
                                     [&](StoppedWorld&) {
                                       in_safepoint.store(true, std::memory_order_release);
                                       // Long enough for a thread woken in native to try.
                                       absl::SleepFor(absl::Microseconds(50));
                                       in_safepoint.store(false, std::memory_order_release);
                                     })
                    .ok());
  }
  stop.store(true);
  {
    ScopedNative joining(*main_, ThreadStatus::kWaiting);
    for (std::thread& t : threads) t.join();
  }
  EXPECT_EQ(violations.load(), 0);
  EXPECT_GT(iterations.load(), 0);
  EXPECT_GE(runtime_->safepoint_stats().count, 1000u);
}

TEST_F(MonitorTest, BlockedAndWaitingThreadsAreSeenAtASafepoint) {
  std::atomic<const Thread*> blocked{nullptr};
  std::thread entering;
  {
    Synchronized lock(*frame_, box_.get());
    entering = Start("entering", [&](Frame& frame) {
      blocked.store(&frame.thread());
      Synchronized lock(frame, box_.get());
    });
    WaitFor([&] {
      const Thread* t = blocked.load();
      return t != nullptr && t->status() == ThreadStatus::kBlocked;
    });
    ASSERT_TRUE(runtime_
                    ->RunAtSafepoint("look",
                                     [&](StoppedWorld& world) {
                                       const ThreadMonitors view =
                                           MonitorsOf(world, *blocked.load());
                                       EXPECT_EQ(view.blocked_on, box_.get());
                                       EXPECT_TRUE(view.held.empty());
                                       EXPECT_EQ(MonitorOwner(world, box_.get()), &main_->thread());
                                       EXPECT_NE(InflatedMonitor(world, box_.get()), nullptr);
                                       const ThreadMonitors mine = MonitorsOf(world, *main_);
                                       ASSERT_EQ(mine.held.size(), 1u);
                                       EXPECT_EQ(mine.held[0].object, box_.get());
                                       EXPECT_EQ(mine.held[0].frame, &*frame_);
                                     })
                    .ok());
  }
  ScopedNative joining(*main_, ThreadStatus::kWaiting);
  entering.join();
}

}  // namespace
}  // namespace kiln
