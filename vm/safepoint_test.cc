// The stop-the-world protocol's guarantees (vm/SAFEPOINTS.md), observed.
#include "vm/internal/safepoint_manager.h"

#include <dirent.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "base/notification.h"
#include "gtest/gtest.h"
#include "vm/internal/runtime_access.h"
#include "vm/internal/vm_operation.h"
#include "vm/object.h"
#include "vm/resolver.h"
#include "vm/runtime.h"

namespace kiln {
namespace {

RuntimeOptions Options() {
  RuntimeOptions options;
  options.heap_limit_bytes = 32 << 20;
  options.classes.push_back(
      {.name = "Worker", .source_file = "safepoint_test.cc", .methods = {{"loop", "()V"}}});
  return options;
}

// LoopMethod: Worker.loop()V, resolved once per runtime.
const Method* LoopMethod(const Runtime& runtime) {
  Resolver resolver(runtime);
  const Method* loop = resolver.Method(resolver.Class("Worker"), "loop", "()V");
  EXPECT_TRUE(resolver.status().ok()) << resolver.status();
  return loop;
}

// Mutators run managed loops, each bumping its own counter between polls.
class Mutators {
 public:
  Mutators(Runtime& runtime, int n) : counters_(n) {
    const Method* loop = LoopMethod(runtime);
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this, &runtime, loop, i] {
        ThreadScope scope(runtime, "mutator-" + std::to_string(i));
        Frame frame(scope, loop);
        started_.fetch_add(1);
        while (!stop_.load(std::memory_order_relaxed)) {
          counters_[i].fetch_add(1, std::memory_order_relaxed);
          frame.Poll();
        }
      });
    }
    while (started_.load() < n) std::this_thread::yield();
  }
  ~Mutators() {
    stop_.store(true);
    for (auto& t : threads_) t.join();
  }

  std::vector<uint64_t> Snapshot() const {
    std::vector<uint64_t> values;
    for (const auto& c : counters_) values.push_back(c.load(std::memory_order_relaxed));
    return values;
  }

 private:
  std::vector<std::atomic<uint64_t>> counters_;
  std::atomic<int> started_{0};
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

TEST(SafepointTest, NoMutatorMovesWhileTheWorldIsStopped) {
  auto runtime = *Runtime::Create(Options());
  Mutators mutators(*runtime, 8);
  for (int round = 0; round < 20; ++round) {
    std::vector<uint64_t> at_start, at_end;
    size_t threads = 0;
    auto timing = runtime->RunAtSafepoint("observe", [&](StoppedWorld& world) {
      threads = world.threads().size();
      at_start = mutators.Snapshot();
      absl::SleepFor(absl::Milliseconds(2));
      at_end = mutators.Snapshot();
    });
    ASSERT_TRUE(timing.ok());
    EXPECT_EQ(threads, 8u);
    EXPECT_EQ(at_start, at_end) << "a mutator ran during the safepoint";
    EXPECT_GE(timing->pause, absl::Milliseconds(2));
    EXPECT_LE(timing->time_to_safepoint, timing->pause);
  }
  // And every one of them runs again afterwards (on a busy 2-core machine a
  // thread may wait a while for a core; 10 s is far beyond that).
  const std::vector<uint64_t> before = mutators.Snapshot();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  size_t moved = 0;
  while (moved < before.size() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
    const std::vector<uint64_t> now = mutators.Snapshot();
    moved = 0;
    for (size_t i = 0; i < before.size(); ++i) moved += now[i] > before[i];
  }
  EXPECT_EQ(moved, before.size());
  EXPECT_EQ(runtime->safepoint_stats().count, 20u);
}

TEST(SafepointTest, ThousandSafepointsWithThreadsAttachingAndDetaching) {
  RuntimeOptions options = Options();
  options.heap_limit_bytes = 256 << 20;  // each attach allocates; nothing is collected yet
  auto runtime = *Runtime::Create(options);
  Mutators mutators(*runtime, 4);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> attaches{0};
  std::vector<std::thread> churn;
  const Method* loop = LoopMethod(*runtime);
  for (int i = 0; i < 2; ++i) {
    churn.emplace_back([&, i] {
      while (!stop.load()) {
        ThreadScope scope(*runtime, "churn-" + std::to_string(i));
        Frame frame(scope, loop);
        frame.Poll();
        attaches.fetch_add(1);
        absl::SleepFor(absl::Microseconds(20));
      }
    });
  }
  for (int i = 0; i < 1000; ++i) {
    bool still = false;
    ASSERT_TRUE(runtime
                    ->RunAtSafepoint("churn",
                                     [&](StoppedWorld&) {
                                       const auto a = mutators.Snapshot();
                                       const auto b = mutators.Snapshot();
                                       still = a == b;
                                     })
                    .ok());
    ASSERT_TRUE(still) << "safepoint " << i;
  }
  stop.store(true);
  for (auto& t : churn) t.join();
  EXPECT_GT(attaches.load(), 0u);
  EXPECT_EQ(runtime->safepoint_stats().count, 1000u);
}

TEST(SafepointTest, SleepingBlockedAndNativeThreadsDoNotDelayASafepoint) {
  auto runtime = *Runtime::Create(Options());
  kiln::Notification release;
  std::atomic<int> parked{0};
  std::vector<std::thread> threads;
  for (ThreadStatus status :
       {ThreadStatus::kNative, ThreadStatus::kBlocked, ThreadStatus::kWaiting}) {
    threads.emplace_back([&, status] {
      ThreadScope scope(*runtime, "parked");
      ScopedNative native(scope, status);
      parked.fetch_add(1);
      release.WaitForNotification();  // stands for a host call that never returns
    });
  }
  threads.emplace_back([&] {
    ThreadScope scope(*runtime, "sleeper");
    parked.fetch_add(1);
    (void)scope.thread().Sleep(absl::Hours(1));  // until interrupted
  });
  while (parked.load() < 4) std::this_thread::yield();
  absl::SleepFor(absl::Milliseconds(10));  // let the sleeper enter its sleep

  // If the safepoint waited for any of them, this would never return.
  std::vector<ThreadStatus> statuses;
  auto timing = runtime->RunAtSafepoint("while parked", [&](StoppedWorld& world) {
    for (Thread* t : world.threads()) statuses.push_back(t->status());
  });
  ASSERT_TRUE(timing.ok());
  EXPECT_LT(timing->time_to_safepoint, absl::Seconds(5));
  EXPECT_EQ(statuses.size(), 4u);
  EXPECT_NE(std::find(statuses.begin(), statuses.end(), ThreadStatus::kSleeping),
            statuses.end());
  EXPECT_NE(std::find(statuses.begin(), statuses.end(), ThreadStatus::kBlocked),
            statuses.end());
  release.Notify();
  runtime->ForEachThread([](Thread& t) { t.Interrupt(); });
  for (auto& t : threads) t.join();
}

TEST(SafepointTest, ThreadReturningFromNativeWaitsForTheOperationToEnd) {
  auto runtime = *Runtime::Create(Options());
  kiln::Notification in_native, leave_native;
  std::atomic<bool> back_in_managed{false};
  std::thread thread([&] {
    ThreadScope scope(*runtime, "returner");
    {
      ScopedNative native(scope, ThreadStatus::kNative);
      in_native.Notify();
      leave_native.WaitForNotification();
    }  // must block here while the operation runs
    back_in_managed.store(true);
  });
  in_native.WaitForNotification();
  bool returned_during_op = true;
  ASSERT_TRUE(runtime
                  ->RunAtSafepoint("hold",
                                   [&](StoppedWorld&) {
                                     leave_native.Notify();
                                     absl::SleepFor(absl::Milliseconds(100));
                                     returned_during_op = back_in_managed.load();
                                   })
                  .ok());
  thread.join();
  EXPECT_FALSE(returned_during_op);
  EXPECT_TRUE(back_in_managed.load());
}

TEST(SafepointTest, ManagedThreadCanRequestAnOperationItself) {
  auto runtime = *Runtime::Create(Options());
  Mutators mutators(*runtime, 2);
  ThreadScope scope(*runtime, "requester");
  Frame frame(scope, LoopMethod(*runtime));
  size_t seen = 0;
  // The requester is managed: Execute must park it, or this would deadlock.
  ASSERT_TRUE(
      runtime->RunAtSafepoint("self", [&](StoppedWorld& w) { seen = w.threads().size(); })
          .ok());
  EXPECT_EQ(seen, 3u);
  EXPECT_TRUE(scope.thread().IsManaged());
}

// CountingOperation: records the thread it ran on and the world it saw,
// and fails the test if another operation ran at the same time.
class CountingOperation : public VmOperation {
 public:
  explicit CountingOperation(std::atomic<int>* running) : VmOperation("counting"), running_(running) {}
  void Doit(StoppedWorld& world) override {
    EXPECT_EQ(running_->fetch_add(1), 0) << "two operations at once";
    ran_on = std::this_thread::get_id();
    threads = world.threads().size();
    running_->fetch_sub(1);
  }
  std::thread::id ran_on;
  size_t threads = 0;

 private:
  std::atomic<int>* const running_;
};

TEST(SafepointTest, ExecuteHereRunsOnTheCallerInTurnWithTheVmThread) {
  auto runtime = *Runtime::Create(Options());
  Mutators mutators(*runtime, 2);
  std::atomic<int> running{0};
  // Operations on the VM thread, queued from an unattached thread, all the
  // while.
  std::atomic<bool> stop{false};
  std::atomic<int> queued{0};
  std::thread queuer([&] {
    while (!stop.load()) {
      CountingOperation op(&running);
      EXPECT_TRUE(internal::Execute(*runtime, op).ok());
      EXPECT_NE(op.ran_on, std::this_thread::get_id());
      queued.fetch_add(1);
    }
  });
  // Two managed threads running operations themselves.
  std::vector<std::thread> callers;
  for (int c = 0; c < 2; ++c) {
    callers.emplace_back([&, c] {
      ThreadScope scope(*runtime, "caller-" + std::to_string(c));
      Frame frame(scope, LoopMethod(*runtime));
      for (int i = 0; i < 200; ++i) {
        CountingOperation op(&running);
        EXPECT_TRUE(internal::ExecuteHere(*runtime, op).ok());
        EXPECT_EQ(op.ran_on, std::this_thread::get_id());
        EXPECT_GE(op.threads, 3u);  // the mutators and this caller (and the other one, if attached)
        EXPECT_TRUE(scope.thread().IsManaged());
        frame.Poll();
      }
    });
  }
  for (auto& t : callers) t.join();
  while (queued.load() == 0) std::this_thread::yield();
  stop.store(true);
  queuer.join();
  EXPECT_EQ(running.load(), 0);
}

// VmThreadTask: /proc/self/task/<tid> of the thread named "VM Thread"; ""
// if there is none (yet: the thread names itself once it runs).
std::string VmThreadTask() {
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return "";
  std::string found;
  while (dirent* entry = readdir(tasks)) {
    const std::string dir = std::string("/proc/self/task/") + entry->d_name;
    std::ifstream comm(dir + "/comm");
    std::string name;
    std::getline(comm, name);
    if (name == "VM Thread") {
      found = dir;
      break;
    }
  }
  closedir(tasks);
  return found;
}

// Runs: how many times the kernel has run `task` (the third field of its
// schedstat: timeslices); -1 if unreadable. A thread blocked on its
// condition variable is never run.
int64_t Runs(const std::string& task) {
  std::ifstream schedstat(task + "/schedstat");
  int64_t on_cpu = 0, waiting = 0, runs = -1;
  if (!(schedstat >> on_cpu >> waiting >> runs)) return -1;
  return runs;
}

// Asleep: `task`'s state (the field after the name in its stat) is S.
bool Asleep(const std::string& task) {
  std::ifstream stat(task + "/stat");
  std::string line;
  std::getline(stat, line);
  const size_t name_end = line.rfind(") ");
  return name_end != std::string::npos && name_end + 2 < line.size() && line[name_end + 2] == 'S';
}

// IdleVmThreadRuns: Runs of the VM thread once it has settled into waiting
// for work: asleep, and not run again, across a short sleep. Right after
// Runtime::Create it may not have named itself yet, or may still be on its
// way to its condition variable. -1 if it never settles (a hang guard, not
// a timing assertion: the loop ends as soon as the thread is idle).
int64_t IdleVmThreadRuns() {
  for (int attempt = 0; attempt < 5000; ++attempt) {
    const std::string task = VmThreadTask();
    if (!task.empty() && Asleep(task)) {
      const int64_t before = Runs(task);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      if (before >= 0 && Asleep(task) && Runs(task) == before) return before;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  return -1;
}

TEST(SafepointTest, AnAllocationCollectsOnTheAllocatingThread) {
  RuntimeOptions options = Options();
  options.heap_limit_bytes = 16 << 20;
  auto runtime = *Runtime::Create(std::move(options));
  ThreadScope scope(*runtime, "allocator");
  Frame frame(scope, LoopMethod(*runtime));
  const Class* bytes = runtime->classes().primitive_array_class(FieldType::kByte);
  ASSERT_TRUE(scope.thread().Allocate(bytes, 1024, 1024 - 16).ok());
  const uint64_t collections = runtime->heap_stats().collections;
  const int64_t vm_thread_runs = IdleVmThreadRuns();
  ASSERT_GE(vm_thread_runs, 0) << "no idle VM Thread in /proc/self/task";
  // Garbage: many times the heap, so many collections.
  for (int i = 0; i < 200000; ++i) {
    ASSERT_TRUE(scope.thread().Allocate(bytes, 1024, 1024 - 16).ok());
  }
  EXPECT_GE(runtime->heap_stats().collections - collections, 5u);
  // Each collection handed to the VM thread would have woken it.
  EXPECT_EQ(Runs(VmThreadTask()), vm_thread_runs) << "the VM thread ran meanwhile";
}

}  // namespace
}  // namespace kiln
