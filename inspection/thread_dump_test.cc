#include "inspection/thread_dump.h"

#include <atomic>
#include <regex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/notification.h"
#include "gtest/gtest.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

TEST(ThreadDumpTest, JstackLayoutWithStatesDaemonsAndFrames) {
  RuntimeOptions options;
  options.classes.push_back({.name = "app.Worker",
                             .source_file = "Worker.cc",
                             .methods = {{"run", "()V"}, {"step", "(I)V"}}});
  options.classes.push_back({.name = "app.NoSource", .methods = {{"go", "()V"}}});
  auto runtime = *Runtime::Create(options);
  Resolver resolver(*runtime);
  const Class* worker = resolver.Class("app.Worker");
  const Method* run_method = resolver.Method(worker, "run", "()V");
  const Method* step_method = resolver.Method(worker, "step", "(I)V");
  const Method* go_method = resolver.Method(resolver.Class("app.NoSource"), "go", "()V");
  ASSERT_TRUE(resolver.status().ok()) << resolver.status();
  std::atomic<int> ready{0};
  Notification release;
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    ThreadScope scope(*runtime, "sleeper", {.daemon = true, .priority = 7});
    Frame run(scope, run_method);
    run.set_line(10);
    Frame step(scope, step_method);
    step.set_line(42);
    ready.fetch_add(1);
    (void)scope.thread().Sleep(absl::Hours(1));
  });
  threads.emplace_back([&] {
    ThreadScope scope(*runtime, "blocked");
    Frame go(scope, go_method);
    ScopedNative native(scope, ThreadStatus::kBlocked);
    ready.fetch_add(1);
    release.WaitForNotification();
  });
  while (ready.load() < 2) std::this_thread::yield();
  absl::SleepFor(absl::Milliseconds(20));  // the sleeper enters its sleep

  absl::StatusOr<std::string> dump = ThreadDump(*runtime);
  ASSERT_TRUE(dump.ok()) << dump.status();
  EXPECT_TRUE(absl::StartsWith(*dump, "Full thread dump Kiln (pid ")) << *dump;
  EXPECT_TRUE(std::regex_search(
      *dump, std::regex("\"sleeper\" #[0-9]+ daemon prio=7 cpu=[0-9.]+ms elapsed=[0-9.]+s tid=0x[0-9a-f]+ nid=0x[0-9a-f]+ sleeping\n"
                        "   java.lang.Thread.State: TIMED_WAITING \\(sleeping\\)\n"
                        "\tat app.Worker.step\\(Worker.cc:42\\)\n"
                        "\tat app.Worker.run\\(Worker.cc:10\\)\n")))
      << *dump;
  EXPECT_TRUE(std::regex_search(
      *dump, std::regex("\"blocked\" #[0-9]+ prio=5 cpu=[0-9.]+ms elapsed=[0-9.]+s tid=0x[0-9a-f]+ nid=0x[0-9a-f]+ waiting for "
                        "monitor entry\n   java.lang.Thread.State: BLOCKED \\(on object "
                        "monitor\\)\n\tat app.NoSource.go\\(Unknown Source\\)\n")))
      << *dump;
  release.Notify();
  runtime->ForEachThread([](Thread& t) { t.Interrupt(); });
  for (auto& t : threads) t.join();
}

}  // namespace
}  // namespace kiln
