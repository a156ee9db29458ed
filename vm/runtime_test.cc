#include "vm/runtime.h"

#include <map>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "base/status_macros.h"
#include "gtest/gtest.h"
#include "vm/internal/runtime_access.h"
#include "vm/resolver.h"
#include "vm/string.h"

namespace kiln {
namespace {

RuntimeOptions Options() {
  RuntimeOptions options;
  options.heap_limit_bytes = 16 << 20;
  options.classes.push_back({.name = "Holder",
                             .fields = {{"next", FieldType::kObject}},
                             .static_fields = {{"root", FieldType::kObject},
                                               {"count", FieldType::kInt}},
                             .methods = {{"outer", "()V"}, {"inner", "()V"}}});
  return options;
}

// What the tests use of Options()'s class, resolved once.
struct HolderApi {
  const Class* holder = nullptr;
  StaticFieldRef<Object*> root;
  const Method* outer = nullptr;
  const Method* inner = nullptr;
};

absl::StatusOr<HolderApi> ResolveHolderApi(const Runtime& runtime) {
  Resolver resolver(runtime);
  HolderApi api;
  api.holder = resolver.Class("Holder");
  api.root = resolver.StaticField<Object*>(api.holder, "root");
  api.outer = resolver.Method(api.holder, "outer", "()V");
  api.inner = resolver.Method(api.holder, "inner", "()V");
  RETURN_IF_ERROR(resolver.status());
  return api;
}

TEST(RuntimeTest, CreateRejectsBadOptions) {
  RuntimeOptions options;
  options.tlab_size = 1000;
  EXPECT_EQ(Runtime::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = RuntimeOptions();
  options.classes.push_back({.name = "X", .super_name = "Y"});
  EXPECT_EQ(Runtime::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = RuntimeOptions();
  options.heap_limit_bytes = 1 << 20;
  options.classes.resize(40000);
  for (size_t i = 0; i < options.classes.size(); ++i) {
    options.classes[i].name = absl::StrCat("C", i);
  }
  auto runtime = Runtime::Create(options);  // too many mirrors for 1 MiB
  EXPECT_EQ(runtime.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(RuntimeTest, VisitRootsReportsEveryKindWithThreadAndDepth) {
  auto runtime = *Runtime::Create(Options());
  absl::StatusOr<HolderApi> api = ResolveHolderApi(*runtime);
  ASSERT_TRUE(api.ok()) << api.status();
  const Class* holder = api->holder;
  ThreadScope scope(*runtime, "main");
  Frame outer(scope, api->outer);
  Local<Object> in_outer = *Object::New(outer, holder);
  Frame inner(scope, api->inner);
  Local<Object> in_inner = *Object::New(inner, holder);
  Local<Object> empty = inner.NewLocal<Object>(nullptr);  // null slots are skipped
  Global<Object> global;
  {
    Frame temporary(scope, api->inner);
    global = Global<Object>(*Object::New(temporary, holder));
  }  // now only the Global holds it
  Local<Object> static_value = *Object::New(inner, holder);
  api->root.Set(static_value.get());

  std::map<RootKind, int> kinds;
  std::map<Object*, std::vector<RootInfo>> by_object;
  ASSERT_TRUE(runtime
                  ->RunAtSafepoint("roots",
                                   [&](StoppedWorld& world) {
                                     runtime->VisitRoots(world, [&](Object** slot,
                                                                    const RootInfo& info) {
                                       ASSERT_NE(*slot, nullptr);
                                       ++kinds[info.kind];
                                       by_object[*slot].push_back(info);
                                     });
                                   })
                  .ok());
  EXPECT_EQ(kinds[RootKind::kThreadObject], 1);
  EXPECT_EQ(kinds[RootKind::kGlobal], 1);
  EXPECT_EQ(kinds[RootKind::kStaticField], 1);
  EXPECT_EQ(kinds[RootKind::kClass], static_cast<int>(runtime->classes().size()));
  auto only = [&](Object* object) {
    EXPECT_EQ(by_object[object].size(), 1u);
    return by_object[object].empty() ? RootInfo{} : by_object[object][0];
  };
  EXPECT_EQ(only(in_outer.get()).kind, RootKind::kFrameSlot);
  EXPECT_EQ(only(in_outer.get()).frame_depth, 1);
  EXPECT_EQ(only(in_outer.get()).thread, &scope.thread());
  EXPECT_EQ(only(in_inner.get()).frame_depth, 0);
  EXPECT_EQ(only(global.get()).kind, RootKind::kGlobal);
  EXPECT_EQ(only(scope.thread().thread_object()).kind, RootKind::kThreadObject);
  EXPECT_EQ(only(holder->mirror()).kind, RootKind::kClass);
  EXPECT_EQ(only(holder->mirror()).cls, holder);
  // In a frame slot and a static field: reported as both.
  ASSERT_EQ(by_object[static_value.get()].size(), 2u);
  EXPECT_EQ(by_object[static_value.get()][1].kind, RootKind::kStaticField);
  EXPECT_EQ(by_object[static_value.get()][1].cls, holder);
  EXPECT_FALSE(empty);
  api->root.Set(nullptr);
}

TEST(RuntimeTest, GlobalsOutliveFramesAndMove) {
  auto runtime = *Runtime::Create(Options());
  absl::StatusOr<HolderApi> api = ResolveHolderApi(*runtime);
  ASSERT_TRUE(api.ok()) << api.status();
  ThreadScope scope(*runtime, "main");
  Global<String> kept;
  {
    Frame frame(scope, api->outer);
    Local<String> s = *String::New(frame, "kept");
    kept = Global<String>(s);
  }
  EXPECT_EQ(internal::GlobalsOf(*runtime).size(), 1u);
  EXPECT_EQ(kept->ToUtf8(), "kept");
  Global<String> moved = std::move(kept);
  EXPECT_FALSE(kept);
  EXPECT_EQ(moved->ToUtf8(), "kept");
  moved.Reset();
  EXPECT_EQ(internal::GlobalsOf(*runtime).size(), 0u);
}

// Each runtime has its own threads, heap, classes and VM thread.
TEST(RuntimeTest, TwoRuntimesRunSideBySideAndShutDownCleanly) {
  std::vector<std::unique_ptr<Runtime>> runtimes;
  runtimes.push_back(*Runtime::Create(Options()));
  runtimes.push_back(*Runtime::Create(Options()));
  EXPECT_NE(runtimes[0]->FindClass("Holder"), runtimes[1]->FindClass("Holder"));
  std::vector<HolderApi> apis;
  for (const std::unique_ptr<Runtime>& runtime : runtimes) {
    absl::StatusOr<HolderApi> api = ResolveHolderApi(*runtime);
    ASSERT_TRUE(api.ok()) << api.status();
    apis.push_back(*api);
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  std::atomic<int> per_runtime[2] = {0, 0};
  std::atomic<int> started{0};
  for (int r = 0; r < 2; ++r) {
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&, r] {
        Runtime& runtime = *runtimes[r];
        const HolderApi& api = apis[r];
        ThreadScope scope(runtime, "worker");
        Frame frame(scope, api.outer);
        started.fetch_add(1);
        for (int allocated = 0; !stop.load(); frame.Poll()) {
          if (allocated++ < 10000) {
            ASSERT_TRUE(Object::New(frame, api.holder).ok());
          }
        }
      });
    }
    ASSERT_TRUE(runtimes[r]->StartDaemonThread("daemon", [](Thread& self) {
      while (self.Sleep(absl::Milliseconds(1)).ok()) {}
    }).ok());
  }
  while (started.load() < 4) std::this_thread::yield();
  for (int round = 0; round < 50; ++round) {
    for (int r = 0; r < 2; ++r) {
      ASSERT_TRUE(runtimes[r]
                      ->RunAtSafepoint("count",
                                       [&](StoppedWorld& world) {
                                         per_runtime[r] = static_cast<int>(world.threads().size());
                                         for (Thread* t : world.threads()) {
                                           EXPECT_EQ(&t->runtime(), runtimes[r].get());
                                         }
                                       })
                      .ok());
    }
  }
  stop.store(true);
  for (auto& t : threads) t.join();
  EXPECT_GE(per_runtime[0].load(), 2);
  EXPECT_GE(per_runtime[1].load(), 2);
  EXPECT_EQ(runtimes[0]->safepoint_stats().count, 50u);
  runtimes.clear();  // joins daemons and VM threads; would hang or crash if not clean
}

}  // namespace
}  // namespace kiln
