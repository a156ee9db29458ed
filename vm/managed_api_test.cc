// The managed-code API: FieldRef types fixed at compile time and checked at
// resolution, the Resolver's one Status, LocalScope bounding a frame's slots,
// Escape to the enclosing scope and to the caller's frame, the host frame,
// and ThreadScope::Attach racing shutdown.
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

// Wrong types do not compile: the value must convert to the field's type
// without narrowing, and a reference field takes managed pointers only.
template <typename T, typename V>
concept CanSet = requires(Object* object, const FieldRef<T>& ref, V value) {
  object->Set(ref, value);
};
template <typename T, typename V>
concept CanSetStatic = requires(const StaticFieldRef<T>& ref, V value) { ref.Set(value); };

static_assert(CanSet<int32_t, int32_t>);
static_assert(CanSet<int64_t, int32_t>);  // widening is fine
static_assert(!CanSet<int32_t, double>);
static_assert(!CanSet<int32_t, int64_t>);
static_assert(!CanSet<bool, int>);
static_assert(CanSet<double, double>);
static_assert(!CanSet<double, int>);
static_assert(CanSet<Object*, Object*>);
static_assert(CanSet<Object*, String*>);
static_assert(CanSet<Object*, std::nullptr_t>);
static_assert(!CanSet<Object*, int>);
static_assert(!CanSet<Object*, double>);
static_assert(!CanSet<String*, Object*>);  // a String field takes Strings
static_assert(!CanSet<Object*, Local<Object>>);
static_assert(CanSetStatic<int32_t, int32_t>);
static_assert(!CanSetStatic<int32_t, double>);
static_assert(!CanSetStatic<Object*, int>);
static_assert(FieldValue<String*> && FieldValue<int8_t> && FieldValue<char16_t>);
static_assert(!FieldValue<char> && !FieldValue<const char*> && !FieldValue<int32_t*>);

RuntimeOptions Options() {
  RuntimeOptions options;
  options.heap_limit_bytes = 64 << 20;
  options.classes.push_back({.name = "demo.Base", .fields = {{"id", FieldType::kLong}}});
  options.classes.push_back({.name = "demo.Item",
                             .super_name = "demo.Base",
                             .source_file = "managed_api_test.cc",
                             .fields = {{"name", FieldType::kObject},
                                        {"next", FieldType::kObject},
                                        {"index", FieldType::kInt},
                                        {"weight", FieldType::kDouble}},
                             .static_fields = {{"count", FieldType::kInt},
                                               {"first", FieldType::kObject}},
                             .methods = {{"make", "(I)Ldemo/Item;"}, {"loop", "()V"}}});
  return options;
}

struct ItemApi {
  const Class* item = nullptr;
  FieldRef<String*> name;
  FieldRef<Object*> next;
  FieldRef<int32_t> index;
  FieldRef<double> weight;
  FieldRef<int64_t> id;  // inherited
  StaticFieldRef<int32_t> count;
  StaticFieldRef<Object*> first;
  const Method* make = nullptr;
  const Method* loop = nullptr;
};

absl::StatusOr<ItemApi> ResolveItemApi(const Runtime& runtime) {
  Resolver resolver(runtime);
  ItemApi api;
  api.item = resolver.Class("demo.Item");
  api.name = resolver.Field<String*>(api.item, "name");
  api.next = resolver.Field<Object*>(api.item, "next");
  api.index = resolver.Field<int32_t>(api.item, "index");
  api.weight = resolver.Field<double>(api.item, "weight");
  api.id = resolver.Field<int64_t>(api.item, "id");
  api.count = resolver.StaticField<int32_t>(api.item, "count");
  api.first = resolver.StaticField<Object*>(api.item, "first");
  api.make = resolver.Method(api.item, "make", "(I)Ldemo/Item;");
  api.loop = resolver.Method(api.item, "loop", "()V");
  if (absl::Status status = resolver.status(); !status.ok()) return status;
  return api;
}

class ManagedApiTest : public ::testing::Test {
 protected:
  ManagedApiTest() : runtime_(*Runtime::Create(Options())), api_(*ResolveItemApi(*runtime_)) {}
  std::unique_ptr<Runtime> runtime_;
  ItemApi api_;
};

TEST_F(ManagedApiTest, ResolverNamesTheFirstThingMissingAndKeepsIt) {
  Resolver resolver(*runtime_);
  const Class* item = resolver.Class("demo.Item");
  EXPECT_TRUE(resolver.Field<int32_t>(item, "index"));
  EXPECT_TRUE(resolver.status().ok());
  EXPECT_FALSE(resolver.Field<int32_t>(item, "indx"));
  EXPECT_FALSE(resolver.Field<double>(item, "nope"));  // after the first error: empty
  EXPECT_EQ(resolver.Method(item, "make", "(I)Ldemo/Item;"), nullptr);
  EXPECT_EQ(resolver.status(),
            absl::NotFoundError("demo.Item has no int field 'indx'"));

  Resolver typed(*runtime_);
  EXPECT_FALSE(typed.Field<double>(typed.Class("demo.Item"), "index"));
  EXPECT_EQ(typed.status(),
            absl::NotFoundError("demo.Item has no double field 'index' (it is int)"));

  Resolver statics(*runtime_);
  EXPECT_FALSE(statics.StaticField<int32_t>(statics.Class("demo.Item"), "index"));
  EXPECT_EQ(statics.status(), absl::NotFoundError("demo.Item has no static int field 'index'"));

  Resolver classes(*runtime_);
  const Class* missing = classes.Class("demo.Itme");
  EXPECT_EQ(missing, nullptr);
  EXPECT_FALSE(classes.Field<int32_t>(missing, "index"));
  EXPECT_EQ(classes.Method(missing, "make", "(I)Ldemo/Item;"), nullptr);
  EXPECT_EQ(classes.status(), absl::NotFoundError("no class named 'demo.Itme'"));

  Resolver methods(*runtime_);
  EXPECT_EQ(methods.Method(methods.Class("demo.Item"), "make", "()V"), nullptr);
  EXPECT_EQ(methods.status(), absl::NotFoundError("demo.Item has no method make()V"));
}

TEST_F(ManagedApiTest, FieldRefsReadAndWriteTheirFieldsAndStatics) {
  ThreadScope main(*runtime_, "main");
  Frame frame(main, api_.make);
  Local<Object> item = *Object::New(frame, api_.item);
  Local<String> name = *String::New(frame, "first");
  item->Set(api_.name, name.get());
  item->Set(api_.index, 7);
  item->Set(api_.weight, 2.5);
  item->Set(api_.id, int64_t{1} << 40);
  item->Set(api_.next, nullptr);
  EXPECT_EQ(item->Get(api_.name)->ToUtf8(), "first");
  EXPECT_EQ(item->Get(api_.index), 7);
  EXPECT_EQ(item->Get(api_.weight), 2.5);
  EXPECT_EQ(item->Get(api_.id), int64_t{1} << 40);
  EXPECT_EQ(item->Get(api_.next), nullptr);
  // The same memory the low-level, by-Field accessors see.
  EXPECT_EQ(item->Get<int32_t>(*api_.item->FindField("index")), 7);

  api_.count.Set(3);
  api_.first.Set(item.get());
  EXPECT_EQ(api_.count.Get(), 3);
  EXPECT_EQ(api_.first.Get(), item.get());
  api_.first.Set(nullptr);
}

TEST_F(ManagedApiTest, AMillionAllocationsInALocalScopeKeepTheFrameBoundedAndBecomeGarbage) {
  ThreadScope main(*runtime_, "main");
  Frame frame(main, api_.loop);
  const size_t before = frame.num_slots();
  size_t most = 0;
  Local<Object> last;
  constexpr int kCount = 1000000;
  for (int i = 0; i < kCount; ++i) {
    LocalScope scope(frame);
    absl::StatusOr<Local<Object>> item = Object::New(frame, api_.item);
    ASSERT_TRUE(item.ok()) << item.status();
    (*item)->Set(api_.index, i);
    most = std::max(most, frame.num_slots());
    if (i == kCount - 1) last = scope.Escape(*item);
  }
  EXPECT_LE(most, before + 2);            // the escape slot and the item
  EXPECT_EQ(frame.num_slots(), before + 1);  // the one escaped result
  EXPECT_EQ(last->Get(api_.index), kCount - 1);

  absl::StatusOr<gc::CollectionStats> stats = runtime_->CollectGarbage();
  ASSERT_TRUE(stats.ok());
  // Of the million items only the escaped one survives: the collections
  // during the loop and this one freed the rest.
  EXPECT_LT(stats->live_objects, runtime_->classes().size() + 16) << "the loop's garbage was kept";
  EXPECT_GT(runtime_->heap_stats().collections, 1u);
  EXPECT_EQ(last->Get(api_.index), kCount - 1);  // the escaped one is alive
}

TEST_F(ManagedApiTest, NestedScopesReleaseInOrderAndEscapeToTheEnclosingOne) {
  ThreadScope main(*runtime_, "main");
  Frame frame(main, api_.loop);
  Local<Object> outer_result;
  {
    LocalScope outer(frame);
    Local<Object> inner_result;
    {
      LocalScope inner(frame);
      Local<Object> a = *Object::New(frame, api_.item);
      a->Set(api_.index, 1);
      Local<Object> b = *Object::New(frame, api_.item);
      b->Set(api_.index, 2);
      inner_result = inner.Escape(b);
    }
    EXPECT_EQ(inner_result->Get(api_.index), 2);
    outer_result = outer.Escape(inner_result);
  }
  EXPECT_EQ(frame.num_slots(), 1u);
  EXPECT_EQ(outer_result->Get(api_.index), 2);
}

// Make: a callee with its own frame (stack traces show it) returning its
// result to the caller's frame.
absl::StatusOr<Local<Object>> Make(Frame& caller, const ItemApi& api, int index) {
  Frame frame(caller.thread(), api.make);
  absl::StatusOr<Local<Object>> item = Object::New(frame, api.item);
  if (!item.ok()) return item.status();
  (*item)->Set(api.index, index);
  return frame.Escape(*item);
}

TEST_F(ManagedApiTest, ACalleeReturnsALocalToItsCaller) {
  ThreadScope main(*runtime_, "main");
  Frame frame(main, api_.loop);
  absl::StatusOr<Local<Object>> made = Make(frame, api_, 42);
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(made->frame(), &frame);
  ASSERT_TRUE(runtime_->CollectGarbage().ok());
  EXPECT_EQ((*made)->Get(api_.index), 42);
}

TEST_F(ManagedApiTest, AHostFrameNeedsNoInventedMethod) {
  absl::StatusOr<ThreadScope> main = ThreadScope::Attach(*runtime_, "host");
  ASSERT_TRUE(main.ok()) << main.status();
  Frame frame(*main);
  EXPECT_EQ(frame.method(), runtime_->host_method());
  EXPECT_EQ(frame.method()->holder()->name(), "java.lang.Thread");
  EXPECT_EQ(frame.method()->name(), "run");
  EXPECT_TRUE(String::New(frame, "hello").ok());
}

// A pool of host threads attaching and detaching while the runtime shuts
// down: each Attach either works or returns FailedPrecondition; none aborts.
// A service (destroyed once attaching is refused) holds the runtime alive
// until every pool thread has been refused, so no one touches a destroyed
// runtime.
TEST(ThreadScopeAttachTest, RacingShutdownReturnsFailedPreconditionNotAnAbort) {
  constexpr int kThreads = 4;
  std::atomic<int> attached{0};
  std::atomic<int> refused{0};
  struct Gate : RuntimeService {
    explicit Gate(std::atomic<int>& refused) : refused(refused) {}
    ~Gate() override {
      while (refused.load() < kThreads) absl::SleepFor(absl::Microseconds(100));
    }
    std::atomic<int>& refused;
  };
  RuntimeOptions options = Options();
  options.services.push_back(
      [&](Runtime&) -> absl::StatusOr<std::unique_ptr<RuntimeService>> {
        return std::make_unique<Gate>(refused);
      });
  std::unique_ptr<Runtime> runtime = *Runtime::Create(std::move(options));
  Runtime& shared = *runtime;  // reset() nulls the pointer before the destructor runs
  std::vector<std::thread> pool;
  std::vector<absl::Status> last(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&, t] {
      for (;;) {
        absl::StatusOr<ThreadScope> scope = ThreadScope::Attach(shared, "pooled");
        if (!scope.ok()) {
          last[t] = scope.status();
          refused.fetch_add(1);
          return;
        }
        attached.fetch_add(1);
        Frame frame(*scope);
        (void)String::New(frame, "work");  // the work itself does not matter
      }
    });
  }
  while (attached.load() < 200) absl::SleepFor(absl::Milliseconds(1));
  runtime.reset();
  for (std::thread& t : pool) t.join();
  for (const absl::Status& status : last) {
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    EXPECT_NE(status.message().find("shutting down"), absl::string_view::npos) << status;
  }
}

}  // namespace
}  // namespace kiln
