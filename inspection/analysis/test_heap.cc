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

// The known heap's classes, fields and method, resolved once.
struct KnownHeapApi {
  ItemApi items;
  const Class* holder;
  StaticFieldRef<Object*> list;
  StaticFieldRef<Object*> weak;
  const Method* main;
};

absl::StatusOr<KnownHeapApi> ResolveKnownHeapApi(const Runtime& runtime) {
  KnownHeapApi api;
  ASSIGN_OR_RETURN(api.items, ResolveItems(runtime));
  Resolver resolver(runtime);
  api.holder = resolver.Class("test.Holder");
  api.list = resolver.StaticField<Object*>(api.holder, "list");
  api.weak = resolver.StaticField<Object*>(api.holder, "weak");
  api.main = resolver.Method(api.holder, "main", "()V");
  RETURN_IF_ERROR(resolver.status());
  return api;
}

}  // namespace

ClassSpec ItemClass() {
  return {.name = "test.Item",
          .source_file = "Item.java",
          .fields = {{"next", FieldType::kObject},
                     {"value", FieldType::kInt},
                     {"weight", FieldType::kLong}}};
}

absl::StatusOr<ItemApi> ResolveItems(const Runtime& runtime) {
  Resolver resolver(runtime);
  ItemApi api;
  api.item = resolver.Class("test.Item");
  api.next = resolver.Field<Object*>(api.item, "next");
  api.value = resolver.Field<int32_t>(api.item, "value");
  api.weight = resolver.Field<int64_t>(api.item, "weight");
  RETURN_IF_ERROR(resolver.status());
  return api;
}

absl::StatusOr<Local<Object>> NewItem(Frame& frame, const ItemApi& api, int value, Object* next) {
  ASSIGN_OR_RETURN(Local<Object> object, Object::New(frame, api.item));
  object->Set(api.next, next);
  object->Set(api.value, value);
  object->Set(api.weight, int64_t{value} * 10);
  return object;
}

absl::StatusOr<Local<Object>> BuildItemList(Frame& frame, const ItemApi& api) {
  // Back to front, so each Item's next exists when it is made.
  Local<Object> head = frame.NewLocal<Object>(nullptr);
  for (int i = kListItems - 1; i >= 0; --i) {
    ASSIGN_OR_RETURN(Local<Object> node, NewItem(frame, api, i, head.get()));
    head.Set(node.get());
    if (i == 2) {
      ASSIGN_OR_RETURN(Local<Object> registry,
                       NativeAllocationRegistry::Create(frame, &FreeNative, kNativeBytes));
      RETURN_IF_ERROR(NativeAllocationRegistry::RegisterNativeAllocation(
          frame, registry, node, std::malloc(kNativeBytes)));
    }
  }
  return head;
}

absl::Status DumpKnownHeap(const std::string& path, const KnownHeapOptions& options) {
  RuntimeOptions runtime_options;
  runtime_options.classes.push_back(ItemClass());
  runtime_options.classes.push_back({.name = "test.Holder",
                                     .source_file = "Holder.java",
                                     .static_fields = {{"list", FieldType::kObject},
                                                       {"weak", FieldType::kObject}},
                                     .methods = {{"main", "()V"}}});
  ASSIGN_OR_RETURN(std::unique_ptr<Runtime> runtime, Runtime::Create(runtime_options));
  ASSIGN_OR_RETURN(const KnownHeapApi api, ResolveKnownHeapApi(*runtime));
  ASSIGN_OR_RETURN(ThreadScope scope, ThreadScope::Attach(*runtime, "main"));
  Frame frame(scope, api.main);
  frame.set_line(7);
  {
    // Built in a frame of its own, popped before the dump: its slots would
    // be roots.
    Frame build(scope, api.main);
    ASSIGN_OR_RETURN(Local<Object> head, BuildItemList(build, api.items));
    api.list.Set(head.get());
    ASSIGN_OR_RETURN(Local<Object> lonely, NewItem(build, api.items, 100, nullptr));
    ASSIGN_OR_RETURN(Local<Object> weak, WeakReference::New(build, lonely));
    api.weak.Set(weak.get());
    for (int i = 0; i < kGarbageItems; ++i) {
      LocalScope garbage(build);
      RETURN_IF_ERROR(NewItem(build, api.items, 200 + i, nullptr).status());
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
