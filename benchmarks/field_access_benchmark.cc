// Field access: a resolved FieldRef against the by-name lookups it replaces
// (what samples/runtime_tour did before it resolved its API: the class, the
// method and each field found by string at every use).
//
//   bazel run -c opt //benchmarks:field_access_benchmark
#include "benchmark/benchmark.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

RuntimeOptions Options() {
  RuntimeOptions options;
  options.classes.push_back({.name = "demo.Item",
                             .fields = {{"name", FieldType::kObject},
                                        {"next", FieldType::kObject},
                                        {"index", FieldType::kInt},
                                        {"weight", FieldType::kDouble}},
                             .methods = {{"append", "(Ldemo/Item;I)Ldemo/Item;"}}});
  return options;
}

// Four field writes and a frame, by name: FindClass, FindMethod and one
// FindField per write, every time.
void BM_FieldsByName(benchmark::State& state) {
  auto runtime = *Runtime::Create(Options());
  ThreadScope scope(*runtime, "main");
  Frame frame(scope);
  Local<Object> item = *Object::New(frame, runtime->FindClass("demo.Item"));
  int32_t i = 0;
  for (auto _ : state) {
    const Class* cls = runtime->FindClass("demo.Item");
    Frame append(scope, *runtime->FindMethod("demo.Item", "append", "(Ldemo/Item;I)Ldemo/Item;"));
    item->SetRef(*cls->FindField("name"), nullptr);
    item->SetRef(*cls->FindField("next"), item.get());
    item->Set<int32_t>(*cls->FindField("index"), i);
    item->Set<double>(*cls->FindField("weight"), i * 0.5);
    benchmark::DoNotOptimize(item->Get<int32_t>(*cls->FindField("index")));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}

// The same through what a Resolver resolved once.
void BM_FieldsResolved(benchmark::State& state) {
  auto runtime = *Runtime::Create(Options());
  Resolver resolver(*runtime);
  const Class* cls = resolver.Class("demo.Item");
  const FieldRef<String*> name = resolver.Field<String*>(cls, "name");
  const FieldRef<Object*> next = resolver.Field<Object*>(cls, "next");
  const FieldRef<int32_t> index = resolver.Field<int32_t>(cls, "index");
  const FieldRef<double> weight = resolver.Field<double>(cls, "weight");
  const Method* method = resolver.Method(cls, "append", "(Ldemo/Item;I)Ldemo/Item;");
  if (!resolver.status().ok()) {
    state.SkipWithError("resolution failed");
    return;
  }
  ThreadScope scope(*runtime, "main");
  Frame frame(scope);
  Local<Object> item = *Object::New(frame, cls);
  int32_t i = 0;
  for (auto _ : state) {
    Frame append(scope, method);
    item->Set(name, nullptr);
    item->Set(next, item.get());
    item->Set(index, i);
    item->Set(weight, i * 0.5);
    benchmark::DoNotOptimize(item->Get(index));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_FieldsByName);
BENCHMARK(BM_FieldsResolved);

}  // namespace
}  // namespace kiln

BENCHMARK_MAIN();
