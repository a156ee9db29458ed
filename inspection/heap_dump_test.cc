// Heap dumps end to end: build a known heap, dump it with VMRuntime::DumpHeap,
// read it back with HprofSnapshot, and compare.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/notification.h"
#include "base/status_macros.h"
#include "gtest/gtest.h"
#include "inspection/analysis/heap_graph.h"
#include "inspection/hprof/hprof_snapshot.h"
#include "inspection/internal/dump_environment.h"
#include "inspection/vm_runtime.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

RuntimeOptions Options() {
  RuntimeOptions options;
  options.heap_limit_bytes = 64 << 20;
  options.classes.push_back({.name = "test.AllTypes",
                             .source_file = "AllTypes.cc",
                             .fields = {{"z", FieldType::kBoolean},
                                        {"c", FieldType::kChar},
                                        {"f", FieldType::kFloat},
                                        {"d", FieldType::kDouble},
                                        {"b", FieldType::kByte},
                                        {"s", FieldType::kShort},
                                        {"i", FieldType::kInt},
                                        {"j", FieldType::kLong},
                                        {"ref", FieldType::kObject}},
                             .static_fields = {{"counter", FieldType::kLong},
                                               {"holder", FieldType::kObject}},
                             .methods = {{"main", "([Ljava/lang/String;)V"},
                                         {"work", "(I)V"},
                                         {"park", "()V"}}});
  options.classes.push_back({.name = "test.Sub",
                             .super_name = "test.AllTypes",
                             .fields = {{"extra", FieldType::kInt}}});
  return options;
}

std::string TempDir() {
  const char* env = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(env != nullptr ? env : "/tmp", "/dump-", getpid(), "-",
                                 std::rand());
  mkdir(dir.c_str(), 0700);
  return dir;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// What the tests use of Options()'s classes, resolved once.
struct AllTypesApi {
  const Class* all;
  FieldRef<bool> z;
  FieldRef<char16_t> c;
  FieldRef<float> f;
  FieldRef<double> d;
  FieldRef<int8_t> b;
  FieldRef<int16_t> s;
  FieldRef<int32_t> i;
  FieldRef<int64_t> j;
  FieldRef<Object*> ref;
  StaticFieldRef<int64_t> counter;
  StaticFieldRef<Object*> holder;
  const Method* main;
  const Method* work;
  const Method* park;
  const Class* sub;
  FieldRef<int32_t> extra;
};

absl::StatusOr<AllTypesApi> ResolveAllTypesApi(const Runtime& runtime) {
  Resolver resolver(runtime);
  AllTypesApi api;
  api.all = resolver.Class("test.AllTypes");
  api.z = resolver.Field<bool>(api.all, "z");
  api.c = resolver.Field<char16_t>(api.all, "c");
  api.f = resolver.Field<float>(api.all, "f");
  api.d = resolver.Field<double>(api.all, "d");
  api.b = resolver.Field<int8_t>(api.all, "b");
  api.s = resolver.Field<int16_t>(api.all, "s");
  api.i = resolver.Field<int32_t>(api.all, "i");
  api.j = resolver.Field<int64_t>(api.all, "j");
  api.ref = resolver.Field<Object*>(api.all, "ref");
  api.counter = resolver.StaticField<int64_t>(api.all, "counter");
  api.holder = resolver.StaticField<Object*>(api.all, "holder");
  api.main = resolver.Method(api.all, "main", "([Ljava/lang/String;)V");
  api.work = resolver.Method(api.all, "work", "(I)V");
  api.park = resolver.Method(api.all, "park", "()V");
  api.sub = resolver.Class("test.Sub");
  api.extra = resolver.Field<int32_t>(api.sub, "extra");
  RETURN_IF_ERROR(resolver.status());
  return api;
}

class HeapDumpTest : public ::testing::Test {
 protected:
  HeapDumpTest() : runtime_(*Runtime::Create(Options())), dir_(TempDir()) {}

  void SetUp() override {
    absl::StatusOr<AllTypesApi> api = ResolveAllTypesApi(*runtime_);
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = *api;
    all_ = api_.all;
    main_ = api_.main;
  }

  std::unique_ptr<HprofSnapshot> Dump(bool live, const std::string& name,
                                      DumpMode mode = DumpMode::kStopTheWorld, int gzip = 0) {
    const std::string path = dir_ + "/" + name;
    HeapDumpOptions options;
    options.path = path;
    options.live = live;
    options.mode = mode;
    options.gzip_level = gzip;
    absl::Status status = VMRuntime::DumpHeap(*runtime_, options).status();
    EXPECT_TRUE(status.ok()) << status;
    struct stat st;
    EXPECT_EQ(lstat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto snapshot = HprofSnapshot::Load(path);
    EXPECT_TRUE(snapshot.ok()) << snapshot.status();
    if (!snapshot.ok()) return nullptr;
    absl::Status references = (*snapshot)->CheckReferences();
    EXPECT_TRUE(references.ok()) << references;
    return std::move(*snapshot);
  }

  std::unique_ptr<Runtime> runtime_;
  std::string dir_;
  AllTypesApi api_;
  const Class* all_ = nullptr;
  const Method* main_ = nullptr;
};

// Three threads parked in native code, 1 + `index` frames deep, each frame
// at line 100 + depth, each holding a String in its innermost frame.
class ParkedThreads {
 public:
  ParkedThreads(Runtime& runtime, const AllTypesApi& api) {
    for (int t = 0; t < 3; ++t) {
      threads_.emplace_back([this, &runtime, &api, t] {
        ThreadScope scope(runtime, absl::StrCat("parked-", t));
        auto nest = [&](auto& self, int depth) -> void {
          Frame frame(scope, depth == t ? api.park : api.work);
          frame.set_line(100 + depth);
          if (depth < t) {
            self(self, depth + 1);
            return;
          }
          ASSERT_TRUE(String::New(frame, absl::StrCat("held-by-", t)).ok());
          ScopedNative native(scope, ThreadStatus::kWaiting);
          parked_.fetch_add(1);
          release_.WaitForNotification();
        };
        nest(nest, 0);
      });
    }
    while (parked_.load() < 3) std::this_thread::yield();
  }
  ~ParkedThreads() {
    release_.Notify();
    for (auto& t : threads_) t.join();
  }

 private:
  std::atomic<int> parked_{0};
  Notification release_;
  std::vector<std::thread> threads_;
};

TEST_F(HeapDumpTest, RoundTripOfAKnownHeap) {
  ParkedThreads parked(*runtime_, api_);
  ThreadScope scope(*runtime_, "main");
  Frame frame(scope, main_);
  frame.set_line(42);
  Local<Object> o = *Object::New(frame, all_);
  o->Set(api_.z, true);
  o->Set(api_.c, u'\u20AC');
  o->Set(api_.f, 1.5f);
  o->Set(api_.d, -2.25);
  o->Set(api_.b, int8_t{-7});
  o->Set(api_.s, int16_t{-300});
  o->Set(api_.i, 123456789);
  o->Set(api_.j, int64_t{1} << 40);
  Local<Object> sub = *Object::New(frame, api_.sub);
  sub->Set(api_.extra, 7);
  sub->Set(api_.i, -1);
  o->Set(api_.ref, sub.get());
  sub->Set(api_.ref, o.get());  // a cycle
  Local<String> latin1 = *String::New(frame, "caf\xC3\xA9");
  Local<String> utf16 = *String::New(frame, "\xE2\x82\xAC \xF0\x9D\x84\x9E");
  Local<IntArray> ints = *IntArray::New(frame, 4);
  for (int k = 0; k < 4; ++k) ints->Set(k, k * 1000 - 1);
  Local<LongArray> longs = *LongArray::New(frame, 2);
  longs->Set(1, -5);
  Local<ObjectArray> objects = *ObjectArray::New(frame, runtime_->classes().object_class(), 3);
  objects->Set(0, latin1.get());
  objects->Set(2, ints.get());
  Local<BooleanArray> booleans = *BooleanArray::New(frame, 2);
  booleans->Set(1, true);
  Local<CharArray> chars = *CharArray::New(frame, 2);
  chars->Set(0, u'\u20AC');
  Local<FloatArray> floats = *FloatArray::New(frame, 1);
  floats->Set(0, -0.5f);
  Local<DoubleArray> doubles = *DoubleArray::New(frame, 1);
  doubles->Set(0, 3.25);
  Local<ShortArray> shorts = *ShortArray::New(frame, 1);
  shorts->Set(0, -2);
  Local<ByteArray> bytes = *ByteArray::New(frame, 2);
  bytes->Set(1, -128);
  api_.counter.Set(99);
  api_.holder.Set(utf16.get());
  Global<Object> global(o);
  {
    Frame garbage(scope, main_);
    for (int k = 0; k < 10; ++k) ASSERT_TRUE(Object::New(garbage, all_).ok());
  }

  std::unique_ptr<HprofSnapshot> dump = Dump(/*live=*/false, "full.hprof");
  ASSERT_NE(dump, nullptr);
  EXPECT_EQ(dump->id_size(), 8u);

  // Every class, with its fields and a non-zero java.lang.Object size, and
  // the environment's synthetic classes (dump_environment.h).
  EXPECT_EQ(dump->classes().size(), runtime_->classes().size() + kEnvironmentClasses);
  const HprofSnapshot::Class* object_class = dump->FindClass("java.lang.Object");
  ASSERT_NE(object_class, nullptr);
  EXPECT_EQ(object_class->instance_size, 16u);
  for (const char* name : {"[Z", "[C", "[F", "[D", "[B", "[S", "[I", "[J", "java.lang.String",
                           "java.lang.Thread", "test.Sub", "[Ltest.AllTypes;"}) {
    EXPECT_NE(dump->FindClass(name), nullptr) << name;
  }
  const HprofSnapshot::Class* all = dump->FindClass("test.AllTypes");
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(all->fields.size(), 9u);
  EXPECT_EQ(all->instance_size, all_->instance_size);
  EXPECT_EQ(dump->ClassById(dump->FindClass("test.Sub")->super_id), all);

  // Instances: o, the 10 garbage objects (a full dump); sub separately.
  EXPECT_EQ(dump->InstancesOf("test.AllTypes").size(), 11u);
  EXPECT_EQ(dump->InstancesOf("test.Sub").size(), 1u);
  EXPECT_EQ(dump->InstancesOf("java.lang.Thread").size(), 4u);
  auto fields = *dump->Fields(reinterpret_cast<uint64_t>(o.get()));
  EXPECT_EQ(fields["z"].bits, 1u);
  EXPECT_EQ(fields["c"].bits, 0x20ACu);
  float f;
  uint32_t f_bits = static_cast<uint32_t>(fields["f"].bits);
  std::memcpy(&f, &f_bits, 4);
  EXPECT_EQ(f, 1.5f);
  double d;
  std::memcpy(&d, &fields["d"].bits, 8);
  EXPECT_EQ(d, -2.25);
  EXPECT_EQ(static_cast<int8_t>(fields["b"].bits), -7);
  EXPECT_EQ(static_cast<int16_t>(fields["s"].bits), -300);
  EXPECT_EQ(static_cast<int32_t>(fields["i"].bits), 123456789);
  EXPECT_EQ(fields["j"].bits, uint64_t{1} << 40);
  EXPECT_EQ(fields["ref"].bits, reinterpret_cast<uint64_t>(sub.get()));
  auto sub_fields = *dump->Fields(reinterpret_cast<uint64_t>(sub.get()));
  EXPECT_EQ(sub_fields["extra"].bits, 7u);
  EXPECT_EQ(static_cast<int32_t>(sub_fields["i"].bits), -1);
  EXPECT_EQ(sub_fields["ref"].bits, reinterpret_cast<uint64_t>(o.get()));

  // Strings and arrays.
  EXPECT_EQ(*dump->StringValue(reinterpret_cast<uint64_t>(latin1.get())), "caf\xC3\xA9");
  EXPECT_EQ(*dump->StringValue(reinterpret_cast<uint64_t>(utf16.get())),
            "\xE2\x82\xAC \xF0\x9D\x84\x9E");
  const auto& int_array = dump->primitive_arrays().at(reinterpret_cast<uint64_t>(ints.get()));
  ASSERT_EQ(int_array.length, 4u);
  EXPECT_EQ(int_array.type, hprof::kInt);
  EXPECT_EQ(int_array.elements[4 * 3 + 2], (2999 >> 8) & 0xFF);  // big-endian
  const auto& long_array = dump->primitive_arrays().at(reinterpret_cast<uint64_t>(longs.get()));
  EXPECT_EQ(long_array.elements[15], 0xFB);  // -5
  // Every element type, big-endian in the file.
  auto elements = [&](const auto& local) {
    const auto& a = dump->primitive_arrays().at(reinterpret_cast<uint64_t>(local.get()));
    return std::vector<uint8_t>(a.elements.begin(), a.elements.end());
  };
  EXPECT_EQ(elements(booleans), (std::vector<uint8_t>{0, 1}));
  EXPECT_EQ(elements(chars), (std::vector<uint8_t>{0x20, 0xAC, 0, 0}));
  EXPECT_EQ(elements(floats), (std::vector<uint8_t>{0xBF, 0x00, 0x00, 0x00}));
  EXPECT_EQ(elements(doubles), (std::vector<uint8_t>{0x40, 0x0A, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(elements(shorts), (std::vector<uint8_t>{0xFF, 0xFE}));
  EXPECT_EQ(elements(bytes), (std::vector<uint8_t>{0x00, 0x80}));
  EXPECT_EQ(dump->primitive_arrays().at(reinterpret_cast<uint64_t>(chars.get())).type,
            hprof::kChar);
  const auto& array = dump->object_arrays().at(reinterpret_cast<uint64_t>(objects.get()));
  EXPECT_EQ(array.elements,
            (std::vector<uint64_t>{reinterpret_cast<uint64_t>(latin1.get()), 0,
                                   reinterpret_cast<uint64_t>(ints.get())}));
  EXPECT_EQ(dump->ClassById(array.class_id)->name, "[Ljava.lang.Object;");

  // Statics.
  std::map<std::string, uint64_t> statics;
  for (const HprofStaticInfo& s : all->statics) statics[dump->StringById(s.name_id)] = s.value;
  EXPECT_EQ(statics["counter"], 99u);
  EXPECT_EQ(statics["holder"], reinterpret_cast<uint64_t>(utf16.get()));

  // Roots: every class sticky, the Global, thread objects before their frames.
  std::map<uint8_t, int> by_tag;
  std::map<uint32_t, uint64_t> thread_objects;  // thread serial -> object
  for (const HprofSnapshot::Root& root : dump->roots()) {
    ++by_tag[root.tag];
    if (root.tag == hprof::kRootThreadObject) thread_objects[root.thread_serial] = root.id;
    if (root.tag == hprof::kRootJavaFrame) {
      EXPECT_TRUE(thread_objects.contains(root.thread_serial))
          << "ROOT_JAVA_FRAME before its ROOT_THREAD_OBJECT";
    }
  }
  EXPECT_EQ(by_tag[hprof::kRootStickyClass],
            static_cast<int>(runtime_->classes().size() + kEnvironmentClasses));
  EXPECT_EQ(by_tag[hprof::kRootJniGlobal], 1);
  EXPECT_EQ(by_tag[hprof::kRootThreadObject], 4);
  bool found_o_at_depth_0 = false;
  for (const HprofSnapshot::Root& root : dump->roots()) {
    if (root.tag == hprof::kRootJavaFrame && root.id == reinterpret_cast<uint64_t>(o.get())) {
      found_o_at_depth_0 = root.depth == 0;
    }
  }
  EXPECT_TRUE(found_o_at_depth_0);

  // Each thread's stack: names from its java.lang.Thread, frames with lines.
  std::map<std::string, std::vector<std::string>> stacks;
  for (const HprofSnapshot::Root& root : dump->roots()) {
    if (root.tag != hprof::kRootThreadObject) continue;
    auto thread_fields = *dump->Fields(root.id);
    const std::string name = *dump->StringValue(thread_fields["name"].bits);
    const HprofSnapshot::StackTrace& trace = dump->traces().at(root.trace_serial);
    EXPECT_EQ(trace.thread_serial, root.thread_serial);
    for (uint64_t frame_id : trace.frame_ids) {
      const HprofSnapshot::StackFrame& frame = dump->frames().at(frame_id);
      stacks[name].push_back(absl::StrCat(frame.method, frame.signature, " ", frame.source, ":",
                                          frame.line));
    }
  }
  EXPECT_EQ(stacks["main"], (std::vector<std::string>{"main([Ljava/lang/String;)V AllTypes.cc:42"}));
  EXPECT_EQ(stacks["parked-0"], (std::vector<std::string>{"park()V AllTypes.cc:100"}));
  EXPECT_EQ(stacks["parked-2"],
            (std::vector<std::string>{"park()V AllTypes.cc:102", "work(I)V AllTypes.cc:101",
                                      "work(I)V AllTypes.cc:100"}));
}

TEST_F(HeapDumpTest, LiveDumpHoldsExactlyTheReachableSetAndFullAddsTheGarbage) {
  ThreadScope scope(*runtime_, "main");
  Frame frame(scope, main_);
  Local<Object> kept = *Object::New(frame, all_);
  {
    Frame garbage(scope, main_);
    Local<Object> a = *Object::New(garbage, all_);
    Local<Object> b = *Object::New(garbage, all_);
    a->Set(api_.ref, b.get());
    b->Set(api_.ref, a.get());
    for (int k = 0; k < 20; ++k) ASSERT_TRUE(String::New(garbage, "garbage").ok());
  }
  Local<Object> weak = *WeakReference::New(frame, kept);
  {
    Frame only_weak(scope, main_);
    Local<Object> target = *Object::New(only_weak, all_);
    kept->Set(api_.ref, WeakReference::New(only_weak, target)->get());
  }
  // Both modes: a fork-mode dump marks in its child, and must agree.
  for (DumpMode mode : {DumpMode::kStopTheWorld, DumpMode::kFork}) {
    SCOPED_TRACE(mode == DumpMode::kFork ? "fork mode" : "stop-the-world");
    const std::string suffix = mode == DumpMode::kFork ? "-fork.hprof" : "-stw.hprof";
    auto full = Dump(false, "full" + suffix, mode);
    auto live = Dump(true, "live" + suffix, mode);
    ASSERT_NE(full, nullptr);
    ASSERT_NE(live, nullptr);
    EXPECT_EQ(full->InstancesOf("test.AllTypes").size(), 4u);  // kept, a, b, weak target
    EXPECT_EQ(live->InstancesOf("test.AllTypes").size(), 1u);
    EXPECT_EQ(full->InstancesOf("java.lang.String").size(),
              live->InstancesOf("java.lang.String").size() + 20);
    // In the live dump the weakly reachable target is gone and its referent
    // slot reads null; the reference object itself is there.
    uint64_t weak_to_dead = (*live->Fields(reinterpret_cast<uint64_t>(kept.get())))["ref"].bits;
    ASSERT_NE(weak_to_dead, 0u);
    EXPECT_EQ((*live->Fields(weak_to_dead))["referent"].bits, 0u);
    EXPECT_EQ((*live->Fields(reinterpret_cast<uint64_t>(weak.get())))["referent"].bits,
              reinterpret_cast<uint64_t>(kept.get()));
    // A live dump does not collect: the garbage is still on the heap.
    EXPECT_EQ(Dump(false, "full-again" + suffix)->InstancesOf("test.AllTypes").size(), 4u);
  }
}

TEST_F(HeapDumpTest, ConsistentWhileFourThreadsMutate) {
  std::atomic<bool> stop{false};
  std::atomic<int> running{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      ThreadScope scope(*runtime_, absl::StrCat("mutator-", t));
      Frame frame(scope, main_);
      Local<Object> head = frame.NewLocal<Object>(nullptr);
      running.fetch_add(1);
      for (int i = 0; !stop.load(); ++i) {
        Frame step(scope, main_);
        Local<Object> node = *Object::New(step, all_);
        node->Set(api_.ref, i % 100 == 0 ? nullptr : head.get());
        head.Set(node.get());
      }
    });
  }
  while (running.load() < 4) std::this_thread::yield();
  for (int k = 0; k < 3; ++k) {
    ASSERT_NE(Dump(k % 2 == 0, absl::StrCat("busy-", k, ".hprof")), nullptr);
  }
  // Fork mode, compressed: the parent compresses on worker threads while
  // the mutators run and the child walks.
  for (int k = 0; k < 2; ++k) {
    ASSERT_NE(Dump(k % 2 == 0, absl::StrCat("busy-fork-", k, ".hprof.gz"), DumpMode::kFork, 1),
              nullptr);
  }
  stop.store(true);
  for (auto& t : threads) t.join();
}

TEST_F(HeapDumpTest, BadPathsFailClearlyAndLeaveNothingBehind) {
  absl::Status missing = VMRuntime::DumpHeap(*runtime_, dir_ + "/no/such/dir/x.hprof", true);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound) << missing;
  EXPECT_NE(missing.message().find("creating"), std::string::npos) << missing;

  const std::string existing = dir_ + "/existing.hprof";
  FILE* f = std::fopen(existing.c_str(), "w");
  std::fputs("precious", f);
  std::fclose(f);
  absl::Status exists = VMRuntime::DumpHeap(*runtime_, existing, true);
  EXPECT_EQ(exists.code(), absl::StatusCode::kAlreadyExists) << exists;
  struct stat st;
  ASSERT_EQ(stat(existing.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 8);  // untouched

  const std::string link = dir_ + "/link.hprof";
  ASSERT_EQ(symlink((dir_ + "/target.hprof").c_str(), link.c_str()), 0);
  EXPECT_EQ(VMRuntime::DumpHeap(*runtime_, link, true).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(Exists(dir_ + "/target.hprof"));

  // No temporary file is left, and the next dump works.
  ASSERT_NE(Dump(true, "after.hprof"), nullptr);
  int entries = 0;
  for (const char* name : {"existing.hprof", "link.hprof", "after.hprof"}) {
    entries += Exists(dir_ + "/" + name);
  }
  EXPECT_EQ(entries, 3);
  EXPECT_EQ(system(absl::StrCat("test -z \"$(ls -A ", dir_, " | grep tmp)\"").c_str()), 0);
}

// An object whose monitor is held is a ROOT_MONITOR_USED root, once however
// deep the lock, and kept by a live dump though nothing else refers to it;
// one whose monitor a thread waits on is too.
TEST_F(HeapDumpTest, HeldAndAwaitedMonitorsAreMonitorUsedRoots) {
  ThreadScope scope(*runtime_, "main");
  Frame frame(scope, main_);
  Local<Object> local = *Object::New(frame, all_);
  Object* held = local.get();
  local.Set(nullptr);  // only the monitor roots it now
  Synchronized outer(frame, held);
  Synchronized inner(frame, held);

  std::atomic<const Thread*> waiter_thread{nullptr};
  std::atomic<Object*> awaited{nullptr};
  Notification done;
  std::thread waiter([&] {
    ThreadScope waiter_scope(*runtime_, "waiter");
    Frame wait_frame(waiter_scope, main_);
    Local<Object> object = *Object::New(wait_frame, all_);
    Synchronized lock(wait_frame, object);
    awaited.store(object.get());
    object.Set(nullptr);
    waiter_thread.store(&waiter_scope.thread());
    while (!done.HasBeenNotified()) {
      ASSERT_TRUE(Wait(wait_frame, awaited.load(), absl::Milliseconds(10)).ok());
    }
  });
  {
    ScopedNative starting(scope, ThreadStatus::kWaiting);
    while (waiter_thread.load() == nullptr) absl::SleepFor(absl::Milliseconds(1));
  }

  for (bool live : {true, false}) {
    SCOPED_TRACE(live ? "live" : "full");
    std::unique_ptr<HprofSnapshot> dump = Dump(live, live ? "live.hprof" : "full.hprof");
    ASSERT_NE(dump, nullptr);
    std::map<uint64_t, int> monitor_roots;
    for (const HprofSnapshot::Root& root : dump->roots()) {
      if (root.tag == hprof::kRootMonitorUsed) ++monitor_roots[root.id];
    }
    EXPECT_EQ(monitor_roots, (std::map<uint64_t, int>{
                                 {reinterpret_cast<uint64_t>(held), 1},
                                 {reinterpret_cast<uint64_t>(awaited.load()), 1}}));
    EXPECT_TRUE(dump->instances().contains(reinterpret_cast<uint64_t>(held)));
    EXPECT_TRUE(dump->instances().contains(reinterpret_cast<uint64_t>(awaited.load())));
    // kiln-heap's graph (its tables and viewer read the same) names the root.
    absl::StatusOr<std::unique_ptr<analysis::HeapGraph>> graph = analysis::HeapGraph::Load(
        dir_ + "/" + (live ? "live.hprof" : "full.hprof"), analysis::BuildOptions{});
    ASSERT_TRUE(graph.ok()) << graph.status();
    EXPECT_EQ((*graph)->summary().roots_by_type.at("ROOT_MONITOR_USED"), 2u);
    EXPECT_EQ((*graph)->root_type((*graph)->FindObject(reinterpret_cast<uint64_t>(held))),
              analysis::RootType::kMonitorUsed);
  }
  done.Notify();
  ScopedNative joining(scope, ThreadStatus::kWaiting);
  waiter.join();
}

}  // namespace
}  // namespace kiln
