// The collector seen from managed code: roots of every kind keep objects
// alive, unrooted objects and cycles go, weak references, finalizers, native
// allocations freed exactly once, and mutators racing collections with the
// verifier on.
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "base/status_macros.h"
#include "gtest/gtest.h"
#include "vm/internal/runtime_access.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

std::atomic<int> finalized{0};

RuntimeOptions Options() {
  RuntimeOptions options;
  options.heap_limit_bytes = 64 << 20;
  options.verify_heap = true;
  options.classes.push_back({.name = "Node",
                             .source_file = "gc_test.cc",
                             .fields = {{"next", FieldType::kObject},
                                        {"other", FieldType::kObject},
                                        {"value", FieldType::kLong}},
                             .static_fields = {{"root", FieldType::kObject}},
                             .methods = {{"test", "()V"}, {"inner", "()V"}}});
  options.classes.push_back({.name = "Finalizable",
                             .fields = {{"child", FieldType::kObject}},
                             .finalizer = [](Thread&, Object*) { finalized.fetch_add(1); }});
  return options;
}

// What the tests use of Options()'s classes, resolved once.
struct NodeApi {
  const Class* node = nullptr;
  FieldRef<Object*> next;
  FieldRef<int64_t> value;
  StaticFieldRef<Object*> root;
  const Method* test = nullptr;
  const Method* inner = nullptr;
  const Class* finalizable = nullptr;
};

absl::StatusOr<NodeApi> ResolveNodeApi(const Runtime& runtime) {
  Resolver resolver(runtime);
  NodeApi api;
  api.node = resolver.Class("Node");
  api.next = resolver.Field<Object*>(api.node, "next");
  api.value = resolver.Field<int64_t>(api.node, "value");
  api.root = resolver.StaticField<Object*>(api.node, "root");
  api.test = resolver.Method(api.node, "test", "()V");
  api.inner = resolver.Method(api.node, "inner", "()V");
  api.finalizable = resolver.Class("Finalizable");
  RETURN_IF_ERROR(resolver.status());
  return api;
}

class GcTest : public ::testing::Test {
 protected:
  GcTest() : runtime_(*Runtime::Create(Options())) {}

  void SetUp() override {
    absl::StatusOr<NodeApi> api = ResolveNodeApi(*runtime_);
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = *api;
    node_ = api_.node;
    next_ = api_.next;
    value_ = api_.value;
    test_ = api_.test;
  }

  // Census: live instances per class name, from a heap walk right after a
  // collection (so the walk sees only survivors).
  std::map<std::string, int> CollectAndCount() {
    std::map<std::string, int> counts;
    auto status = runtime_->RunAtSafepoint("collect and count", [&](StoppedWorld& world) {
      internal::RunCollection(*runtime_, world, gc::GcCause::kExplicit);
      runtime_->ForEachObject(world, [&](Object* o) { ++counts[o->GetClass()->name()]; });
    });
    EXPECT_TRUE(status.ok());
    return counts;
  }

  std::unique_ptr<Runtime> runtime_;
  NodeApi api_;
  const Class* node_ = nullptr;
  FieldRef<Object*> next_;
  FieldRef<int64_t> value_;
  const Method* test_ = nullptr;
};

TEST_F(GcTest, EveryKindOfRootKeepsItsObjectAndNothingElse) {
  ThreadScope scope(*runtime_, "main");
  Frame frame(scope, test_);
  EXPECT_EQ(CollectAndCount()["Node"], 0);

  Local<Object> in_slot = *Object::New(frame, node_);              // frame slot
  Global<Object> global;
  Local<ObjectArray> array = *ObjectArray::New(frame, node_, 2);   // array element
  {
    Frame inner(scope, test_);
    global = Global<Object>(*Object::New(inner, node_));           // Global
    api_.root.Set(Object::New(inner, node_)->get());               // static field
    array->Set(1, Object::New(inner, node_)->get());
    in_slot->Set(next_, Object::New(inner, node_)->get());         // another's field
    // A cycle, and a chain, reachable from nothing once `inner` is popped.
    Local<Object> a = *Object::New(inner, node_);
    Local<Object> b = *Object::New(inner, node_);
    a->Set(next_, b.get());
    b->Set(next_, a.get());
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(Object::New(inner, node_).ok());
    EXPECT_EQ(CollectAndCount()["Node"], 5 + 2 + 100);  // all rooted by `inner` too
  }
  EXPECT_EQ(CollectAndCount()["Node"], 5);
  Object* kept = in_slot->Get(next_);
  kept->Set(value_, 42);
  EXPECT_EQ(CollectAndCount()["Node"], 5);
  EXPECT_EQ(in_slot->Get(next_)->Get(value_), 42);  // non-moving

  // Unroot each in turn.
  in_slot->Set(next_, nullptr);
  EXPECT_EQ(CollectAndCount()["Node"], 4);
  global.Reset();
  EXPECT_EQ(CollectAndCount()["Node"], 3);
  api_.root.Set(nullptr);
  EXPECT_EQ(CollectAndCount()["Node"], 2);
  array->Set(1, nullptr);
  EXPECT_EQ(CollectAndCount()["Node"], 1);
  in_slot.Set(nullptr);
  EXPECT_EQ(CollectAndCount()["Node"], 0);
}

TEST_F(GcTest, InternedStringsAreOneObjectAndARoot) {
  ThreadScope scope(*runtime_, "main");
  Frame frame(scope, test_);
  String* first;
  {
    Frame inner(scope, test_);
    first = String::Intern(inner, "interned")->get();
    EXPECT_EQ(String::Intern(inner, "interned")->get(), first);
    EXPECT_NE(String::New(inner, "interned")->get(), first);
  }
  ASSERT_TRUE(runtime_->CollectGarbage().ok());  // only the table holds it
  Local<String> again = *String::Intern(frame, "interned");
  EXPECT_EQ(again.get(), first);
  EXPECT_EQ(again->ToUtf8(), "interned");
  EXPECT_EQ(internal::InternedStringsOf(*runtime_).size(), 1u);
}

TEST_F(GcTest, WeakReferenceIsClearedExactlyWhenItsReferentDies) {
  ThreadScope scope(*runtime_, "main");
  Frame frame(scope, test_);
  Local<Object> referent = *Object::New(frame, node_);
  Local<Object> weak = *WeakReference::New(frame, referent);
  EXPECT_EQ(weak->GetClass()->name(), "java.lang.ref.WeakReference");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(runtime_->CollectGarbage().ok());
    EXPECT_EQ(WeakReference::Get(scope, weak.get()), referent.get());
  }
  referent.Set(nullptr);
  absl::StatusOr<gc::CollectionStats> stats = runtime_->CollectGarbage();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->weak_cleared, 1u);
  EXPECT_EQ(WeakReference::Get(scope, weak.get()), nullptr);
}

TEST_F(GcTest, FinalizerRunsOnceOnTheFinalizerThreadThenTheObjectGoes) {
  finalized = 0;
  ThreadScope scope(*runtime_, "main");
  Frame frame(scope, test_);
  {
    Frame inner(scope, test_);
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(Object::New(inner, api_.finalizable).ok());
    }
  }
  ASSERT_TRUE(runtime_->CollectGarbage().ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (finalized.load() < 10 && absl::Now() < deadline) {
    ScopedNative waiting(scope, ThreadStatus::kSleeping);
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(finalized.load(), 10);
  EXPECT_EQ(CollectAndCount()["Finalizable"], 0);
  EXPECT_EQ(finalized.load(), 10);  // never twice
  bool finalizer_thread = false;
  runtime_->ForEachThread(
      [&](Thread& t) { finalizer_thread |= t.name() == "Finalizer" && t.daemon(); });
  EXPECT_TRUE(finalizer_thread);
}

std::atomic<int> frees{0};
std::atomic<int> frees_of_live{0};
std::mutex live_mu;
std::set<void*> live_natives;  // buffers whose owners are alive

void FreeBuffer(void* pointer) {
  {
    std::lock_guard<std::mutex> lock(live_mu);
    if (live_natives.count(pointer) != 0) frees_of_live.fetch_add(1);
  }
  frees.fetch_add(1);
  std::free(pointer);
}

TEST_F(GcTest, NativeAllocationsAreFreedExactlyOnceAfterTheirOwnersDie) {
  live_natives.clear();
  frees = 0;
  frees_of_live = 0;
  constexpr int kCount = 5000;
  ThreadScope scope(*runtime_, "main");
  Frame frame(scope, test_);
  Local<Object> registry = *NativeAllocationRegistry::Create(frame, &FreeBuffer, 1000);
  EXPECT_EQ(registry->GetClass()->name(), "libcore.util.NativeAllocationRegistry");
  Local<ObjectArray> survivors = *ObjectArray::New(frame, node_, kCount);
  for (int i = 0; i < kCount; ++i) {
    Frame inner(scope, test_);
    Local<Object> owner = *Object::New(inner, node_);
    void* buffer = std::malloc(1000);
    ASSERT_TRUE(NativeAllocationRegistry::RegisterNativeAllocation(inner, registry, owner,
                                                                   buffer)
                    .ok());
    if (i % 2 == 0) {  // half the owners survive
      survivors->Set(i, owner.get());
      std::lock_guard<std::mutex> lock(live_mu);
      live_natives.insert(buffer);
    }
  }
  EXPECT_EQ(NativeAllocationRegistry::NativeBytesOf(scope, survivors->Get(0)), 1000);
  EXPECT_EQ(internal::ReferenceProcessorOf(*runtime_).native_bytes(), int64_t{kCount} * 1000);
  ASSERT_TRUE(runtime_->CollectGarbage().ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (frees.load() < kCount / 2 && absl::Now() < deadline) {
    ScopedNative waiting(scope, ThreadStatus::kSleeping);
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_TRUE(runtime_->CollectGarbage().ok());  // nothing more may be freed
  {
    ScopedNative waiting(scope, ThreadStatus::kSleeping);
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(frees.load(), kCount / 2);
  EXPECT_EQ(frees_of_live.load(), 0);
  EXPECT_EQ(internal::ReferenceProcessorOf(*runtime_).native_frees(), uint64_t{kCount} / 2);
  EXPECT_EQ(internal::ReferenceProcessorOf(*runtime_).native_bytes(), int64_t{kCount} / 2 * 1000);
  EXPECT_EQ(NativeAllocationRegistry::NativeBytesOf(scope, survivors->Get(2)), 1000);
  EXPECT_EQ(NativeAllocationRegistry::NativeBytesOf(scope, survivors->Get(1)), 0);
  // Freed Cleaners point at themselves and are unlinked.
  const ClassTable::ReferenceClasses& refs = runtime_->classes().references();
  int linked = 0;
  for (Object* c = refs.cleaner->GetStaticRef(*refs.cleaner_first); c != nullptr;
       c = c->GetRef(*refs.cleaner_next)) {
    ++linked;
    EXPECT_NE(c->GetRef(*refs.referent), nullptr);
  }
  EXPECT_EQ(linked, kCount / 2);
  // The survivors' memory is freed when the runtime shuts down, never twice.
  std::lock_guard<std::mutex> lock(live_mu);
  live_natives.clear();
}

TEST(GcShutdownTest, NativeMemoryStillRegisteredIsFreedAtShutdown) {
  live_natives.clear();
  frees = 0;
  {
    auto runtime = *Runtime::Create(Options());
    absl::StatusOr<NodeApi> api = ResolveNodeApi(*runtime);
    ASSERT_TRUE(api.ok()) << api.status();
    ThreadScope scope(*runtime, "main");
    Frame frame(scope, api->test);
    Local<Object> registry = *NativeAllocationRegistry::Create(frame, &FreeBuffer, 64);
    Local<Object> owner = *Object::New(frame, api->node);
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(NativeAllocationRegistry::RegisterNativeAllocation(frame, registry, owner,
                                                                     std::malloc(64))
                      .ok());
    }
    EXPECT_EQ(NativeAllocationRegistry::NativeBytesOf(scope, owner.get()), 640);
  }
  EXPECT_EQ(frees.load(), 10);
}

TEST(GcPressureTest, RegisteredNativeBytesTriggerCollections) {
  live_natives.clear();
  RuntimeOptions options = Options();
  options.verify_heap = false;
  options.native_gc_watermark_bytes = 1 << 20;
  auto runtime = *Runtime::Create(options);
  absl::StatusOr<NodeApi> api = ResolveNodeApi(*runtime);
  ASSERT_TRUE(api.ok()) << api.status();
  ThreadScope scope(*runtime, "main");
  Frame frame(scope, api->test);
  Local<Object> registry = *NativeAllocationRegistry::Create(frame, &FreeBuffer, 64 << 10);
  for (int i = 0; i < 100; ++i) {  // 6.4 MB of native memory, almost no heap
    Frame inner(scope, api->test);
    Local<Object> owner = *Object::New(inner, api->node);
    ASSERT_TRUE(NativeAllocationRegistry::RegisterNativeAllocation(inner, registry, owner,
                                                                   std::malloc(64 << 10))
                    .ok());
  }
  EXPECT_GE(runtime->heap_stats().collections, 6u);
}

// Four threads allocate and rewire one shared graph while collections run;
// the verifier checks the whole heap before and after each collection.
TEST_F(GcTest, FourMutatorsAndCollectionsLoseNothing) {
  constexpr int kSlots = 64;
  ThreadScope main(*runtime_, "main");
  Frame frame(main, test_);
  Global<ObjectArray> shared(*ObjectArray::New(frame, node_, kSlots));
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      ThreadScope scope(*runtime_, "mutator-" + std::to_string(t));
      Frame loop(scope, test_);
      uint64_t state = 0x9E3779B97F4A7C15ull * (t + 1);
      for (int i = 0; !stop.load() || i < 2000; ++i) {
        Frame step(scope, test_);
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // A fresh node carries a checksum, points at a random shared node,
        // and replaces another random shared node.
        Local<Object> node = *Object::New(step, node_);
        const int from = static_cast<int>(state % kSlots);
        const int to = static_cast<int>((state >> 8) % kSlots);
        Object* target = shared->Get(from);
        if (target != nullptr) {
          EXPECT_EQ(target->Get(value_) % 1000003, 17);  // still intact
        }
        node->Set(value_, 17 + 1000003 * static_cast<int64_t>(state % 1000));
        node->Set(next_, target);
        shared->Set(to, node.get());
        if (i % 64 == 0) {
          ASSERT_TRUE(ByteArray::New(step, 4000).ok());  // garbage
        }
      }
    });
  }
  for (int i = 0; i < 30; ++i) {
    absl::StatusOr<gc::CollectionStats> stats = runtime_->CollectGarbage();
    ASSERT_TRUE(stats.ok());
  }
  stop.store(true);
  {
    // Joined in native state: a mutator's last allocations may still ask
    // for a collection, whose safepoint would otherwise wait for this
    // thread, blocked in join() while managed, forever (a deadlock seen
    // under ASan, one run in some 30).
    ScopedNative joining(main, ThreadStatus::kWaiting);
    for (auto& t : threads) t.join();
  }
  // Everything reachable from the shared array is intact.
  int nodes = 0;
  for (int i = 0; i < kSlots; ++i) {
    for (Object* n = shared->Get(i); n != nullptr && nodes < 1000000; n = n->Get(next_)) {
      EXPECT_EQ(n->Get(value_) % 1000003, 17);
      ++nodes;
    }
  }
  EXPECT_GT(nodes, 0);
  EXPECT_GE(runtime_->heap_stats().collections, 30u);
}

TEST(GcStressTest, EveryAllocationCollectsAndTheHeapVerifies) {
  RuntimeOptions options = Options();
  options.gc_stress = true;
  auto runtime = *Runtime::Create(options);
  absl::StatusOr<NodeApi> api = ResolveNodeApi(*runtime);
  ASSERT_TRUE(api.ok()) << api.status();
  ThreadScope scope(*runtime, "main");
  Frame frame(scope, api->test);
  Local<Object> head = frame.NewLocal<Object>(nullptr);
  const uint64_t before = runtime->heap_stats().collections;
  for (int i = 0; i < 200; ++i) {
    Frame inner(scope, api->inner);
    Local<Object> n = *Object::New(inner, api->node);
    n->Set(api->next, head.get());
    head.Set(n.get());
    ASSERT_TRUE(String::New(inner, "garbage").ok());  // two more allocations
  }
  EXPECT_EQ(runtime->heap_stats().collections - before, 600u);
  int length = 0;
  for (Object* n = head.get(); n != nullptr; n = n->Get(api->next)) ++length;
  EXPECT_EQ(length, 200);
}

}  // namespace
}  // namespace kiln
