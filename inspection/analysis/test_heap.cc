// The analyzer tests' known heap (test_heap.h).
#include "inspection/analysis/test_heap.h"

#include <cstdlib>
#include <memory>

#include "base/status_macros.h"
#include "inspection/vm_runtime.h"
#include "vm/kiln.h"

namespace kiln::analysis::testing {
namespace {

void FreeNative(void* p) { std::free(p); }

absl::StatusOr<Local<Object>> NewItem(Frame& frame, const Class* item, int value, Object* next) {
  ASSIGN_OR_RETURN(Local<Object> object, Object::New(frame, item));
  object->SetRef(*item->FindField("next"), next);
  object->Set<int32_t>(*item->FindField("value"), value);
  object->Set<int64_t>(*item->FindField("weight"), value * 10);
  return object;
}

}  // namespace

absl::Status DumpKnownHeap(const std::string& path, const KnownHeapOptions& options) {
  RuntimeOptions runtime_options;
  runtime_options.classes.push_back({.name = "test.Item",
                                     .source_file = "Item.java",
                                     .fields = {{"next", FieldType::kObject},
                                                {"value", FieldType::kInt},
                                                {"weight", FieldType::kLong}}});
  runtime_options.classes.push_back({.name = "test.Holder",
                                     .source_file = "Holder.java",
                                     .static_fields = {{"list", FieldType::kObject},
                                                       {"weak", FieldType::kObject}},
                                     .methods = {{"main", "()V"}}});
  ASSIGN_OR_RETURN(std::unique_ptr<Runtime> runtime, Runtime::Create(runtime_options));
  const Class* item = runtime->FindClass("test.Item");
  const Class* holder = runtime->FindClass("test.Holder");
  ThreadScope scope(*runtime, "main");
  ASSIGN_OR_RETURN(const Method* main, runtime->FindMethod("test.Holder", "main", "()V"));
  Frame frame(scope, main);
  frame.set_line(7);
  {
    // Built in a frame of its own, popped before the dump: its slots would
    // be roots. The list is built back to front; item2 owns native memory.
    Frame build(scope, main);
    Local<Object> head = build.NewLocal<Object>(nullptr);
    for (int i = kListItems - 1; i >= 0; --i) {
      ASSIGN_OR_RETURN(Local<Object> node, NewItem(build, item, i, head.get()));
      head.Set(node.get());
      if (i == 2) {
        ASSIGN_OR_RETURN(Local<Object> registry,
                         NativeAllocationRegistry::Create(build, &FreeNative, kNativeBytes));
        RETURN_IF_ERROR(NativeAllocationRegistry::RegisterNativeAllocation(
            build, registry, node, std::malloc(kNativeBytes)));
      }
    }
    holder->SetStaticRef(*holder->FindStaticField("list"), head.get());
    ASSIGN_OR_RETURN(Local<Object> lonely, NewItem(build, item, 100, nullptr));
    ASSIGN_OR_RETURN(Local<Object> weak, WeakReference::New(build, lonely));
    holder->SetStaticRef(*holder->FindStaticField("weak"), weak.get());
    for (int i = 0; i < kGarbageItems; ++i) {
      RETURN_IF_ERROR(NewItem(build, item, 200 + i, nullptr).status());
    }
  }
  HeapDumpOptions dump;
  dump.path = path;
  dump.live = options.live;
  dump.gzip_level = options.gzip_level;
  ASSIGN_OR_RETURN(const std::string written, VMRuntime::DumpHeap(*runtime, dump));
  (void)written;
  return absl::OkStatus();
}

}  // namespace kiln::analysis::testing
