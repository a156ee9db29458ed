#include "vm/thread.h"

#include <thread>

#include "base/notification.h"
#include "gtest/gtest.h"
#include "vm/resolver.h"
#include "vm/runtime.h"
#include "vm/string.h"

namespace kiln {
namespace {

RuntimeOptions Options() {
  RuntimeOptions options;
  options.heap_limit_bytes = 16 << 20;
  options.classes.push_back({.name = "App",
                             .source_file = "App.cc",
                             .methods = {{"main", "([Ljava/lang/String;)V"},
                                         {"run", "()V"},
                                         {"work", "(I)I"}}});
  return options;
}

TEST(ThreadTest, AttachedThreadHasAJavaLangThread) {
  auto runtime = *Runtime::Create(Options());
  ThreadScope main(*runtime, "main");
  ThreadScope* inner = nullptr;
  std::thread other([&] {
    ThreadScope worker(*runtime, "worker-\xC3\xA9", {.daemon = true, .priority = 7});
    inner = &worker;
    Thread& t = worker.thread();
    EXPECT_EQ(t.tid(), 2);
    EXPECT_TRUE(t.daemon());
    EXPECT_EQ(t.priority(), 7);
    EXPECT_EQ(t.status(), ThreadStatus::kRunnable);
    EXPECT_EQ(Thread::CurrentFor(runtime.get()), &t);
    Object* object = t.thread_object();
    ASSERT_NE(object, nullptr);
    const ClassTable::ThreadFields& f = runtime->classes().thread_fields();
    EXPECT_EQ(object->GetClass()->name(), "java.lang.Thread");
    EXPECT_EQ(static_cast<String*>(object->GetRef(*f.name))->ToUtf8(), "worker-\xC3\xA9");
    EXPECT_EQ(object->Get<int64_t>(*f.tid), 2);
    EXPECT_TRUE(object->Get<bool>(*f.daemon));
    EXPECT_EQ(object->Get<int32_t>(*f.priority), 7);
  });
  {
    // Joined in native state, so that nothing the other thread does can
    // wait on a safepoint that waits for this one.
    ScopedNative joining(main, ThreadStatus::kWaiting);
    other.join();
  }
  EXPECT_NE(inner, nullptr);
  EXPECT_EQ(main.thread().tid(), 1);
  EXPECT_EQ(main.thread().native_id(), static_cast<pid_t>(gettid()));
  EXPECT_EQ(Thread::CurrentFor(runtime.get()), &main.thread());
  int count = 0;
  runtime->ForEachThread([&](Thread&) { ++count; });
  EXPECT_EQ(count, 1);  // the worker detached
}

TEST(ThreadTest, ManagedCodeWalksItsOwnStack) {
  auto runtime = *Runtime::Create(Options());
  ThreadScope scope(*runtime, "main");
  Resolver resolver(*runtime);
  const Class* app = resolver.Class("App");
  const Method* main_method = resolver.Method(app, "main", "([Ljava/lang/String;)V");
  const Method* run = resolver.Method(app, "run", "()V");
  const Method* work = resolver.Method(app, "work", "(I)I");
  ASSERT_TRUE(resolver.status().ok()) << resolver.status();
  Frame f0(scope, main_method);
  f0.set_line(10);
  Frame f1(scope, run);
  f1.set_line(20);
  Frame f2(scope, work);
  KILN_LINE(f2);
  const int line = __LINE__ - 1;
  std::vector<std::string> stack;
  scope.thread().ForEachFrame([&](const Frame& frame, int depth) {
    stack.push_back(absl::StrCat(depth, " ", frame.method()->holder()->name(), ".",
                                 frame.method()->name(), "(",
                                 frame.method()->holder()->source_file(), ":",
                                 frame.line(), ")"));
  });
  EXPECT_EQ(stack, (std::vector<std::string>{absl::StrCat("0 App.work(App.cc:", line, ")"),
                                             "1 App.run(App.cc:20)",
                                             "2 App.main(App.cc:10)"}));
  EXPECT_EQ(scope.thread().top_frame(), &f2);
  EXPECT_EQ(f2.caller(), &f1);
}

TEST(ThreadTest, SleepIsInterruptible) {
  auto runtime = *Runtime::Create(Options());
  kiln::Notification sleeping;
  Thread* sleeper = nullptr;
  absl::Status result;
  std::thread t([&] {
    ThreadScope scope(*runtime, "sleeper");
    EXPECT_TRUE(scope.thread().Sleep(absl::Milliseconds(1)).ok());
    sleeper = &scope.thread();
    sleeping.Notify();
    result = scope.thread().Sleep(absl::Hours(1));
    EXPECT_TRUE(scope.thread().IsManaged());
  });
  sleeping.WaitForNotification();
  while (sleeper->status() != ThreadStatus::kSleeping) std::this_thread::yield();
  sleeper->Interrupt();
  t.join();
  EXPECT_EQ(result.code(), absl::StatusCode::kCancelled);
}

TEST(ThreadTest, DaemonThreadsAreInterruptedAndJoinedAtShutdown) {
  std::atomic<int> iterations{0};
  std::atomic<bool> finished{false};
  {
    auto runtime = *Runtime::Create(Options());
    ASSERT_TRUE(runtime
                    ->StartDaemonThread("ticker",
                                        [&](Thread& self) {
                                          EXPECT_TRUE(self.daemon());
                                          while (self.Sleep(absl::Milliseconds(1)).ok()) {
                                            iterations.fetch_add(1);
                                          }
                                          finished.store(true);
                                        })
                    .ok());
    while (iterations.load() < 3) std::this_thread::yield();
  }  // ~Runtime interrupts and joins the daemon
  EXPECT_TRUE(finished.load());
}

TEST(ThreadTest, AHostThreadMayBeAttachedToTwoRuntimes) {
  auto a = *Runtime::Create(Options());
  auto b = *Runtime::Create(Options());
  ThreadScope in_a(*a, "host");
  {
    ThreadScope in_b(*b, "host");
    EXPECT_EQ(Thread::CurrentFor(a.get()), &in_a.thread());
    EXPECT_EQ(Thread::CurrentFor(b.get()), &in_b.thread());
    // A managed thread of `a` asks `b` for an operation; `a` is unaffected.
    ASSERT_TRUE(b->RunAtSafepoint("b op", [](StoppedWorld&) {}).ok());
  }
  EXPECT_EQ(Thread::CurrentFor(b.get()), nullptr);
}

}  // namespace
}  // namespace kiln
