// Collector benchmarks:
//  - small-object allocation through the inline bump path, against mi_malloc
//    of the same sizes in the same run (the bump path should be at least
//    twice as fast; Kiln's numbers include the collections that reclaim);
//  - full-collection pause against live heap size (10 MB, 100 MB, 1 GB), with
//    the marking rate in objects per second;
//  - a full collection of the heap-shape heap (HEAP_SHAPE.md) at
//    N = 4,000,000, to read next to HotSpot's 0.38 s full GC on it.
//
//   bazel run -c opt //benchmarks:gc_benchmark
#include <vector>

#include "absl/status/statusor.h"
#include "base/status_macros.h"
#include "benchmark/benchmark.h"
#include "benchmarks/heap_shape.h"
#include "mimalloc.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

RuntimeOptions Options(size_t heap_limit) {
  RuntimeOptions options;
  options.heap_limit_bytes = heap_limit;
  options.initial_heap_bytes = 32 << 20;
  options.classes = bench::HeapShapeClasses();
  options.classes.push_back({.name = "Bench",
                             .fields = {{"next", FieldType::kObject},
                                        {"payload", FieldType::kObject},
                                        {"value", FieldType::kLong}},
                             .methods = {{"run", "()V"}}});
  return options;
}

// The Bench class, resolved once.
struct BenchApi {
  const Class* bench = nullptr;
  FieldRef<Object*> next;
  FieldRef<Object*> payload;
  const Method* run = nullptr;
};

absl::StatusOr<BenchApi> ResolveBenchApi(const Runtime& runtime) {
  Resolver resolver(runtime);
  BenchApi api;
  api.bench = resolver.Class("Bench");
  api.next = resolver.Field<Object*>(api.bench, "next");
  api.payload = resolver.Field<Object*>(api.bench, "payload");
  api.run = resolver.Method(api.bench, "run", "()V");
  RETURN_IF_ERROR(resolver.status());
  return api;
}

// Collect runs one explicit collection and reports its mark+sweep time as the
// iteration's manual time; false (and the benchmark skipped) on failure.
bool Collect(benchmark::State& state, Runtime& runtime, gc::CollectionStats* stats) {
  absl::StatusOr<gc::CollectionStats> result = runtime.CollectGarbage();
  if (!result.ok()) {
    state.SkipWithError("collection failed");
    return false;
  }
  *stats = *result;
  state.SetIterationTime(absl::ToDoubleSeconds(stats->mark_time + stats->sweep_time));
  state.counters["live_objects"] = static_cast<double>(stats->live_objects);
  return true;
}

// AllocatingRuntime: the allocation benchmarks' runtime (a 1 GiB heap whose
// freed space is zeroed as arg 1 says) and its *api; null after
// SkipWithError.
std::unique_ptr<Runtime> AllocatingRuntime(benchmark::State& state, BenchApi* api) {
  RuntimeOptions options = Options(size_t{1} << 30);
  options.heap_zeroing = static_cast<gc::ZeroingMode>(state.range(1));
  auto runtime = *Runtime::Create(std::move(options));
  absl::StatusOr<BenchApi> resolved = ResolveBenchApi(*runtime);
  if (!resolved.ok()) {
    state.SkipWithError(resolved.status().ToString().c_str());
    return nullptr;
  }
  *api = *resolved;
  return runtime;
}

// Arg 0: the object size; arg 1: who zeroes freed space (gc::ZeroingMode:
// 0 the background zeroer thread; 1 the sweep, in the pause; 2 the
// allocating thread, a Tlab at a time, the default). The counters say
// where the zeroing went, in bytes per allocated byte.
void BM_KilnAllocate(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  BenchApi api;
  const std::unique_ptr<Runtime> runtime = AllocatingRuntime(state, &api);
  if (runtime == nullptr) return;
  ThreadScope scope(*runtime, "allocator");
  Frame frame(scope, api.run);
  // A byte[] of the requested total size (header included).
  const Class* bytes = runtime->classes().primitive_array_class(FieldType::kByte);
  const uint32_t length = static_cast<uint32_t>(size - gc::kHeaderSize);
  Thread& thread = scope.thread();
  for (auto _ : state) {
    absl::StatusOr<Object*> object = thread.Allocate(bytes, size, length);
    benchmark::DoNotOptimize(object);
  }
  state.SetItemsProcessed(state.iterations());
  const gc::HeapStats stats = runtime->heap_stats();
  state.counters["collections"] = static_cast<double>(stats.collections);
  // A collection's pause (mark + sweep, on the VM thread), in µs.
  state.counters["pause_us"] =
      stats.collections == 0 ? 0.0
                             : absl::ToDoubleMicroseconds(stats.total_collection_time) /
                                   static_cast<double>(stats.collections);
  const double allocated = static_cast<double>(state.iterations()) * static_cast<double>(size);
  state.counters["zeroed_bg"] = static_cast<double>(stats.background_zeroed_bytes) / allocated;
  state.counters["zeroed_sweep"] = static_cast<double>(stats.sweep_zeroed_bytes) / allocated;
  state.counters["zeroed_alloc"] = static_cast<double>(stats.allocation_zeroed_bytes) / allocated;
}

void BM_MiMalloc(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  // Freed in batches, so that the measured cost includes freeing, as Kiln's
  // includes collecting.
  std::vector<void*> batch;
  batch.reserve(4096);
  for (auto _ : state) {
    void* p = mi_malloc(size);
    benchmark::DoNotOptimize(p);
    batch.push_back(p);
    if (batch.size() == 4096) {
      for (void* q : batch) mi_free(q);
      batch.clear();
    }
  }
  for (void* q : batch) mi_free(q);
  state.SetItemsProcessed(state.iterations());
}

// Both report wall time and the CPU time of the whole process: Kiln's
// collections run on the VM thread and its background zeroing on the zeroer
// thread, so process CPU counts all the work an allocation costs wherever it
// ran, and stays readable on a loaded machine, where wall time also counts
// the waits for a core.
BENCHMARK(BM_KilnAllocate)->ArgsProduct({{16, 32, 64, 128}, {0, 1, 2}})->MeasureProcessCPUTime();
BENCHMARK(BM_MiMalloc)->Arg(16)->Arg(32)->Arg(64)->Arg(128)->MeasureProcessCPUTime();

// Allocation beside a live set: arg 0 the live megabytes (1, 4, 64) (linked Bench
// nodes, each holding a byte[64], 112 bytes a pair), arg 1 the zeroing mode
// as in BM_KilnAllocate; 64-byte garbage objects. The live set sets the
// collection budget (live + 1 chunk once it is past the cache-sized
// minimum), so each collection marks it again.
void BM_KilnAllocateBesideLiveSet(benchmark::State& state) {
  const size_t megabytes = static_cast<size_t>(state.range(0));
  BenchApi api;
  const std::unique_ptr<Runtime> runtime = AllocatingRuntime(state, &api);
  if (runtime == nullptr) return;
  ThreadScope scope(*runtime, "allocator");
  Frame frame(scope, api.run);
  Local<Object> list = frame.NewLocal<Object>(nullptr);
  for (size_t i = 0; i < megabytes * (1 << 20) / 112; ++i) {
    Frame step(scope, api.run);
    Local<Object> node = *Object::New(step, api.bench);
    node->Set(api.payload, ByteArray::New(step, 64)->get());
    node->Set(api.next, list.get());
    list.Set(node.get());
  }
  const Class* bytes = runtime->classes().primitive_array_class(FieldType::kByte);
  Thread& thread = scope.thread();
  const uint64_t before = runtime->heap_stats().collections;
  for (auto _ : state) {
    absl::StatusOr<Object*> object = thread.Allocate(bytes, 64, 64 - gc::kHeaderSize);
    benchmark::DoNotOptimize(object);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["collections"] =
      static_cast<double>(runtime->heap_stats().collections - before);
}
BENCHMARK(BM_KilnAllocateBesideLiveSet)
    ->ArgsProduct({{1, 4, 64}, {0, 2}})
    ->MeasureProcessCPUTime();

// A live heap of `megabytes`: linked Bench nodes each holding a byte[64]
// (112 bytes per pair), reachable from one Global.
void BM_FullCollection(benchmark::State& state) {
  const size_t megabytes = static_cast<size_t>(state.range(0));
  auto runtime = *Runtime::Create(Options(megabytes * 3 * (1 << 20) + (size_t{256} << 20)));
  absl::StatusOr<BenchApi> api = ResolveBenchApi(*runtime);
  if (!api.ok()) {
    state.SkipWithError(api.status().ToString().c_str());
    return;
  }
  ThreadScope scope(*runtime, "builder");
  Global<Object> head;
  {
    Frame frame(scope, api->run);
    Local<Object> list = frame.NewLocal<Object>(nullptr);
    const size_t pairs = megabytes * (1 << 20) / 112;
    for (size_t i = 0; i < pairs; ++i) {
      Frame step(scope, api->run);
      Local<Object> node = *Object::New(step, api->bench);
      node->Set(api->payload, ByteArray::New(step, 64)->get());
      node->Set(api->next, list.get());
      list.Set(node.get());
    }
    head = Global<Object>(list);
  }
  gc::CollectionStats stats;
  for (auto _ : state) {
    if (!Collect(state, *runtime, &stats)) break;
    state.counters["mark_ms"] = absl::ToDoubleMilliseconds(stats.mark_time);
    state.counters["sweep_ms"] = absl::ToDoubleMilliseconds(stats.sweep_time);
    state.counters["marked_objects_per_s"] =
        static_cast<double>(stats.live_objects) / absl::ToDoubleSeconds(stats.mark_time);
  }
  head.Reset();
}
BENCHMARK(BM_FullCollection)
    ->Arg(10)->Arg(100)->Arg(1000)
    ->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(5);

// The heap shape at N = 4M: the first collection also frees the N/4 garbage
// Nodes, later ones find only live data. HotSpot (ParallelGC) needs 0.38 s
// for the full GC of its live dump of this heap.
void BM_HeapShapeCollection(benchmark::State& state) {
  const int64_t n = state.range(0);
  auto runtime = *Runtime::Create(Options(size_t{4} << 30));
  bench::HeapShape shape(*runtime, n);
  {
    ThreadScope scope(*runtime, "main");
    if (!shape.Build(scope.thread()).ok()) {
      state.SkipWithError("building the heap shape failed");
      return;
    }
  }
  shape.Park();
  bool first = true;
  gc::CollectionStats stats;
  for (auto _ : state) {
    if (!Collect(state, *runtime, &stats)) break;
    if (first) state.counters["first_freed_MB"] = stats.freed_bytes / 1e6;
    first = false;
  }
  state.counters["hotspot_full_gc_s"] = 0.38;
}
BENCHMARK(BM_HeapShapeCollection)
    ->Arg(4000000)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(5);

}  // namespace
}  // namespace kiln

BENCHMARK_MAIN();
