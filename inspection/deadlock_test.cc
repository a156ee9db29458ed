// Deadlock detection (inspection/deadlocks.h) and the thread dump's
// deadlock section, on real deadlocks. Like a Java deadlock, these never
// end: each test leaves its runtime and its deadlocked threads behind on
// purpose (reachable from a static, so LeakSanitizer does not count them),
// and the process ends them.
#include "inspection/deadlocks.h"

#include <atomic>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "inspection/thread_dump.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

// A runtime whose threads deadlock; never destroyed (see above).
struct Scene {
  std::unique_ptr<Runtime> runtime;
  std::vector<std::unique_ptr<Global<Object>>> locks;
  std::atomic<int> holding{0};
  const Method* run = nullptr;
};
std::vector<Scene*>* scenes = new std::vector<Scene*>;

Scene* NewScene(int locks) {
  auto* scene = new Scene;
  scenes->push_back(scene);
  RuntimeOptions options;
  options.classes.push_back({.name = "app.Lock", .source_file = "Lock.java"});
  options.classes.push_back(
      {.name = "app.Deadlock", .source_file = "deadlock_test.cc", .methods = {{"run", "()V"}}});
  scene->runtime = *Runtime::Create(options);
  Resolver resolver(*scene->runtime);
  const Class* lock = resolver.Class("app.Lock");
  scene->run = resolver.Method(resolver.Class("app.Deadlock"), "run", "()V");
  EXPECT_TRUE(resolver.status().ok()) << resolver.status();
  ThreadScope main(*scene->runtime, "main");
  Frame frame(main, scene->run);
  for (int i = 0; i < locks; ++i) {
    scene->locks.push_back(std::make_unique<Global<Object>>(*Object::New(frame, lock)));
  }
  return scene;
}

constexpr int kFirstLine = 1000;
constexpr int kSecondLine = 2000;

// Locker: a thread that takes `first`, waits until `wait_for` threads of the
// scene hold their first lock, then takes `second` (if any) and, holding
// both, waits on `second` forever (for a thread that is not deadlocked).
// StartLocker returns once the thread holds `first`: threads attach in the
// order they are started.
void StartLocker(Scene* scene, std::string name, int first, int second, int wait_for,
                 bool wait_on_first = false) {
  const int before = scene->holding.load();
  std::thread([=] {
    ThreadScope scope(*scene->runtime, name);
    Frame frame(scope, scene->run);
    frame.set_line(kFirstLine);
    Synchronized held(frame, scene->locks[first]->get());
    scene->holding.fetch_add(1);
    if (wait_on_first) {
      for (;;) (void)Wait(frame, scene->locks[first]->get());
    }
    while (scene->holding.load() < wait_for) {
      frame.Poll();
      std::this_thread::yield();
    }
    frame.set_line(kSecondLine);
    Synchronized blocked(frame, scene->locks[second]->get());
    ADD_FAILURE() << name << " got through a deadlock";
  }).detach();
  while (scene->holding.load() == before) std::this_thread::yield();
}

// Waits until FindDeadlocks reports `cycles` cycles; returns them.
std::vector<Deadlock> WaitForDeadlocks(Runtime& runtime, size_t cycles) {
  const absl::Time deadline = absl::Now() + absl::Minutes(1);
  for (;;) {
    absl::StatusOr<std::vector<Deadlock>> found = FindDeadlocks(runtime);
    EXPECT_TRUE(found.ok()) << found.status();
    if (!found.ok() || found->size() >= cycles || absl::Now() > deadline) return *found;
    absl::SleepFor(absl::Milliseconds(2));
  }
}

std::string Address(const Global<Object>& lock) {
  return absl::StrFormat("0x%016x", reinterpret_cast<uintptr_t>(lock.get()));
}

// The "Found one Java-level deadlock:" block jstack prints for a cycle of
// `names`, thread i waiting for lock `locks[i]` held by thread i + 1.
std::string CycleBlock(const Scene& scene, const std::vector<std::string>& names,
                       const std::vector<int>& locks) {
  std::string block = "\nFound one Java-level deadlock:\n=============================\n";
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StrAppend(&block, "\"", names[i], "\":\n  waiting to lock monitor 0x[0-9a-f]+ \\(object ",
                    Address(*scene.locks[locks[i]]), ", a app.Lock\\),\n  which is held by \"",
                    names[(i + 1) % names.size()], "\"\n\n");
  }
  absl::StrAppend(&block,
                  "Java stack information for the threads listed above:\n"
                  "===================================================\n");
  for (size_t i = 0; i < names.size(); ++i) {
    const int held = locks[(i + names.size() - 1) % names.size()];
    absl::StrAppend(&block, "\"", names[i], "\":\n\tat app.Deadlock.run\\(deadlock_test.cc:",
                    kSecondLine, "\\)\n\t- waiting to lock <", Address(*scene.locks[locks[i]]),
                    "> \\(a app.Lock\\)\n\t- locked <", Address(*scene.locks[held]),
                    "> \\(a app.Lock\\)\n");
  }
  return block;
}

TEST(DeadlockTest, TwoThreadsAreNamedExactlyAndAWaiterIsNot) {
  Scene* scene = NewScene(3);
  StartLocker(scene, "waiter", 2, 0, 0, /*wait_on_first=*/true);
  StartLocker(scene, "first", 0, 1, 3);
  StartLocker(scene, "second", 1, 0, 3);
  std::vector<Deadlock> found = WaitForDeadlocks(*scene->runtime, 1);
  ASSERT_EQ(found.size(), 1u);
  ASSERT_EQ(found[0].threads.size(), 2u);
  EXPECT_EQ(found[0].threads[0].name, "first");
  EXPECT_EQ(found[0].threads[0].owner_name, "second");
  EXPECT_EQ(found[0].threads[0].lock, reinterpret_cast<uintptr_t>(scene->locks[1]->get()));
  EXPECT_EQ(found[0].threads[0].lock_class, "app.Lock");
  EXPECT_EQ(found[0].threads[1].name, "second");
  EXPECT_EQ(found[0].threads[1].owner_name, "first");

  // A bystander blocked on a deadlocked thread's lock waits for the cycle
  // but is not in it. It takes lock 2 first, which the waiter released in
  // Wait, then blocks on lock 0.
  StartLocker(scene, "bystander", 2, 0, 0);
  absl::StatusOr<std::string> dump;
  const absl::Time deadline = absl::Now() + absl::Minutes(1);
  do {
    dump = ThreadDump(*scene->runtime);
    ASSERT_TRUE(dump.ok()) << dump.status();
    ASSERT_LT(absl::Now(), deadline) << *dump;
  } while (!std::regex_search(*dump, std::regex("\"bystander\"[^\n]* waiting for monitor entry")));
  const size_t section = dump->find("\nFound one Java-level deadlock:");
  ASSERT_NE(section, std::string::npos) << *dump;
  const std::string deadlocks = dump->substr(section);
  EXPECT_TRUE(std::regex_match(deadlocks, std::regex(CycleBlock(*scene, {"first", "second"},
                                                                {1, 0}) +
                                                     "\nFound 1 deadlock.\n")))
      << deadlocks;
  EXPECT_FALSE(absl::StrContains(deadlocks, "waiter")) << deadlocks;
  EXPECT_FALSE(absl::StrContains(deadlocks, "bystander")) << deadlocks;
  // The waiter's own entry in the dump: in Object.wait(), waiting on lock 2.
  EXPECT_TRUE(std::regex_search(
      *dump, std::regex(absl::StrCat(
                 "\"waiter\" #[0-9]+ prio=5 cpu=[0-9.]+ms elapsed=[0-9.]+s tid=0x[0-9a-f]+ "
                 "nid=0x[0-9a-f]+ in Object.wait\\(\\)\n"
                 "   java.lang.Thread.State: WAITING \\(on object monitor\\)\n"
                 "\tat java.lang.Object.wait\\(Native Method\\)\n"
                 "\t- waiting on <",
                 Address(*scene->locks[2]), "> \\(a app.Lock\\)\n\tat app.Deadlock.run\\(deadlock_test.cc:",
                 kFirstLine, "\\)\n\t- locked <", Address(*scene->locks[2]), "> \\(a app.Lock\\)\n"))))
      << *dump;
}

TEST(DeadlockTest, ThreeThreadCycleAndATwoThreadCycleAreEachNamed) {
  Scene* scene = NewScene(5);
  StartLocker(scene, "a", 0, 1, 5);
  StartLocker(scene, "b", 1, 2, 5);
  StartLocker(scene, "c", 2, 0, 5);
  StartLocker(scene, "x", 3, 4, 5);
  StartLocker(scene, "y", 4, 3, 5);
  std::vector<Deadlock> found = WaitForDeadlocks(*scene->runtime, 2);
  ASSERT_EQ(found.size(), 2u);
  ASSERT_EQ(found[0].threads.size(), 3u);
  ASSERT_EQ(found[1].threads.size(), 2u);
  absl::StatusOr<std::string> dump = ThreadDump(*scene->runtime);
  ASSERT_TRUE(dump.ok()) << dump.status();
  const size_t section = dump->find("\nFound one Java-level deadlock:");
  ASSERT_NE(section, std::string::npos) << *dump;
  EXPECT_TRUE(std::regex_match(
      dump->substr(section),
      std::regex(CycleBlock(*scene, {"a", "b", "c"}, {1, 2, 0}) +
                 CycleBlock(*scene, {"x", "y"}, {4, 3}) + "\nFound 2 deadlocks.\n")))
      << dump->substr(section);
}

}  // namespace
}  // namespace kiln
