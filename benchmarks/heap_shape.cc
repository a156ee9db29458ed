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
  const Field* left;
  const Field* right;
  const Field* key;
  const Field* value;
  const Method* build;
};

Shape ShapeOf(Runtime& runtime) {
  const Class* node = runtime.FindClass("Node");
  return Shape{node,
               node->FindField("left"),
               node->FindField("right"),
               node->FindField("key"),
               node->FindField("value"),
               *runtime.FindMethod("HeapShape", "build", "(JJ)LNode;")};
}

// BuildTree: the balanced tree over [lo, hi), pre-order, as the doc's
// build(lo, hi). Recursion depth is log2(N); each level has one frame.
absl::StatusOr<Object*> BuildTree(Thread& thread, const Shape& shape, int64_t lo, int64_t hi) {
  if (lo >= hi) return nullptr;
  Frame frame(thread, shape.build);
  const int64_t mid = static_cast<int64_t>(static_cast<uint64_t>(lo + hi) >> 1);
  ASSIGN_OR_RETURN(Local<Object> node, Object::New(frame, shape.node));
  node->Set<int64_t>(*shape.key, mid);
  node->Set<int32_t>(*shape.value, static_cast<int32_t>(mid * 2654435761LL));
  ASSIGN_OR_RETURN(Object * left, BuildTree(thread, shape, lo, mid));
  node->SetRef(*shape.left, left);
  ASSIGN_OR_RETURN(Object * right, BuildTree(thread, shape, mid + 1, hi));
  node->SetRef(*shape.right, right);
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
  const Shape shape = ShapeOf(runtime_);
  const Class* holder = runtime_.FindClass("HeapShape");
  Frame frame(thread, *runtime_.FindMethod("HeapShape", "main", "([Ljava/lang/String;)V"));

  ASSIGN_OR_RETURN(Object * root, BuildTree(thread, shape, 0, n_));
  holder->SetStaticRef(*holder->FindStaticField("root"), root);

  const int64_t pairs = n_ / 8;
  ASSIGN_OR_RETURN(Local<ObjectArray> table,
                   ObjectArray::New(frame, runtime_.classes().object_class(),
                                    static_cast<uint32_t>(2 * pairs)));
  holder->SetStaticRef(*holder->FindStaticField("table"), table.get());
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
  holder->SetStaticRef(*holder->FindStaticField("strings"), string_array.get());
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
  for (int t = 0; t < count; ++t) {
    threads_.emplace_back([this, t, &runtime, &parked, &prefix] {
      static constexpr const char* kFrames[] = {"run", "frame2", "frame3", "frame4", "frame5"};
      ThreadScope scope(runtime, absl::StrCat(prefix, t));
      // Frames live on the C++ stack: recurse to nest five of them.
      auto park = [&](auto& self, int depth) -> void {
        Frame frame(scope, *runtime.FindMethod("HeapShape", kFrames[depth], "()V"));
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
