#include "benchmarks/heap_shape.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"

namespace kiln::bench {
namespace {

struct Shape {
  const Class* node;
  FieldRef<Object*> left;
  FieldRef<Object*> right;
  FieldRef<int64_t> key;
  FieldRef<int32_t> value;
  StaticFieldRef<Object*> root;
  StaticFieldRef<ObjectArray*> table;
  StaticFieldRef<ObjectArray*> strings;
  const Method* main;
  const Method* build;
};

absl::StatusOr<Shape> ResolveShape(const Runtime& runtime) {
  Resolver resolver(runtime);
  Shape shape;
  shape.node = resolver.Class("Node");
  shape.left = resolver.Field<Object*>(shape.node, "left");
  shape.right = resolver.Field<Object*>(shape.node, "right");
  shape.key = resolver.Field<int64_t>(shape.node, "key");
  shape.value = resolver.Field<int32_t>(shape.node, "value");
  const Class* holder = resolver.Class("HeapShape");
  shape.root = resolver.StaticField<Object*>(holder, "root");
  shape.table = resolver.StaticField<ObjectArray*>(holder, "table");
  shape.strings = resolver.StaticField<ObjectArray*>(holder, "strings");
  shape.main = resolver.Method(holder, "main", "([Ljava/lang/String;)V");
  shape.build = resolver.Method(holder, "build", "(JJ)LNode;");
  RETURN_IF_ERROR(resolver.status());
  return shape;
}

// BuildTree: the balanced tree over [lo, hi), pre-order, as the doc's
// build(lo, hi). Recursion depth is log2(N); each level has one frame.
absl::StatusOr<Object*> BuildTree(Thread& thread, const Shape& shape, int64_t lo, int64_t hi) {
  if (lo >= hi) return nullptr;
  Frame frame(thread, shape.build);
  const int64_t mid = static_cast<int64_t>(static_cast<uint64_t>(lo + hi) >> 1);
  ASSIGN_OR_RETURN(Local<Object> node, Object::New(frame, shape.node));
  node->Set(shape.key, mid);
  node->Set(shape.value, static_cast<int32_t>(mid * 2654435761LL));
  ASSIGN_OR_RETURN(Object * left, BuildTree(thread, shape, lo, mid));
  node->Set(shape.left, left);
  ASSIGN_OR_RETURN(Object * right, BuildTree(thread, shape, mid + 1, hi));
  node->Set(shape.right, right);
  return node.get();
}

}  // namespace

std::vector<ClassSpec> HeapShapeClasses() {
  return {
      {.name = "Node",
       .source_file = "HeapShape.java",
       .fields = {{"left", FieldType::kObject},
                  {"right", FieldType::kObject},
                  {"key", FieldType::kLong},
                  {"value", FieldType::kInt}}},
      {.name = "HeapShape",
       .source_file = "HeapShape.java",
       .static_fields = {{"root", FieldType::kObject},
                         {"table", FieldType::kObject},
                         {"strings", FieldType::kObject}},
       .methods = {{"main", "([Ljava/lang/String;)V"},
                   {"build", "(JJ)LNode;"},
                   {"run", "()V"},
                   {"frame2", "()V"},
                   {"frame3", "()V"},
                   {"frame4", "()V"},
                   {"frame5", "()V"}}},
  };
}

absl::Status HeapShape::Build(Thread& thread) {
  ASSIGN_OR_RETURN(const Shape shape, ResolveShape(runtime_));
  Frame frame(thread, shape.main);

  ASSIGN_OR_RETURN(Object * root, BuildTree(thread, shape, 0, n_));
  shape.root.Set(root);

  const int64_t pairs = n_ / 8;
  ASSIGN_OR_RETURN(Local<ObjectArray> table,
                   ObjectArray::New(frame, runtime_.classes().object_class(),
                                    static_cast<uint32_t>(2 * pairs)));
  shape.table.Set(table.get());
  for (int64_t i = 0; i < pairs; ++i) {
    Frame step(thread, shape.build);
    ASSIGN_OR_RETURN(Local<IntArray> ints, IntArray::New(step, 16));
    for (int j = 0; j < 16; ++j) ints->Set(j, static_cast<int32_t>(i * 16 + j));
    table->Set(static_cast<uint32_t>(2 * i), ints.get());
    ASSIGN_OR_RETURN(Local<ByteArray> bytes, ByteArray::New(step, 64));
    for (int j = 0; j < 64; ++j) bytes->Set(j, static_cast<int8_t>(i * 64 + j));
    table->Set(static_cast<uint32_t>(2 * i + 1), bytes.get());
  }

  ASSIGN_OR_RETURN(Local<ObjectArray> string_array,
                   ObjectArray::New(frame, runtime_.classes().string_class(),
                                    static_cast<uint32_t>(strings())));
  shape.strings.Set(string_array.get());
  for (int64_t i = 0; i < strings(); ++i) {
    Frame step(thread, shape.build);
    ASSIGN_OR_RETURN(Local<String> s, String::New(step, absl::StrFormat("str-%016d", i)));
    string_array->Set(static_cast<uint32_t>(i), s.get());
  }

  // The garbage tree: built, then dropped.
  ASSIGN_OR_RETURN(Object * garbage, BuildTree(thread, shape, n_, n_ + n_ / 4));
  (void)garbage;
  return absl::OkStatus();
}

ParkedThreads::ParkedThreads(Runtime& runtime, int count, const std::string& prefix) {
  std::atomic<int> parked{0};
  static constexpr const char* kFrames[] = {"run", "frame2", "frame3", "frame4", "frame5"};
  Resolver resolver(runtime);
  const Class* holder = resolver.Class("HeapShape");
  const Method* methods[5];
  for (int depth = 0; depth < 5; ++depth) {
    methods[depth] = resolver.Method(holder, kFrames[depth], "()V");
  }
  const absl::Status resolved = resolver.status();
  KILN_CHECK(resolved.ok(), resolved.ToString());
  for (int t = 0; t < count; ++t) {
    threads_.emplace_back([this, t, &runtime, &parked, &prefix, &methods] {
      ThreadScope scope(runtime, absl::StrCat(prefix, t));
      // Frames live on the C++ stack: recurse to nest five of them.
      auto park = [&](auto& self, int depth) -> void {
        Frame frame(scope, methods[depth]);
        frame.set_line(10 * (depth + 1));
        if (depth + 1 < 5) {
          self(self, depth + 1);
          return;
        }
        ScopedNative native(scope, ThreadStatus::kWaiting);
        parked.fetch_add(1);
        release_.WaitForNotification();
      };
      park(park, 0);
    });
  }
  while (parked.load() < count) std::this_thread::yield();
}

ParkedThreads::~ParkedThreads() {
  release_.Notify();
  for (std::thread& t : threads_) t.join();
}

void HeapShape::Park() {
  parked_ = std::make_unique<ParkedThreads>(runtime_, 4, "heapshape-parked-");
}

}  // namespace kiln::bench
