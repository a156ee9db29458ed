// Dump benchmarks:
//  - heap-dump latency against heap size: the heap shape of
//    benchmarks/HEAP_SHAPE.md at N = 100k, 1M and 4M, full and live,
//    stop-the-world, into a sink that drops the bytes (the dumper's own cost,
//    no I/O) and into a file in $TMPDIR (what `./kiln bench` measures);
//  - thread-dump latency against the number of threads (each parked 5 frames
//    deep, as the shape's threads are);
//  - the HPROF writer's raw throughput into memory: instance-like sub-records
//    through the reserved fast path, the same through the streaming calls,
//    and byte[64] primitive arrays.
//
//   bazel run -c opt //benchmarks:dump_benchmark --
//       --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//   (one command line)
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "benchmarks/heap_shape.h"
#include "inspection/hprof/hprof_writer.h"
#include "inspection/thread_dump.h"
#include "inspection/vm_runtime.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

// DiscardSink counts the bytes and drops them.
class DiscardSink : public ByteSink {
 public:
  absl::Status Write(absl::Span<const uint8_t> bytes) override {
    benchmark::DoNotOptimize(bytes.data());
    written_ += bytes.size();
    return absl::OkStatus();
  }
  uint64_t bytes_written() const override { return written_; }

 private:
  uint64_t written_ = 0;
};

// RingSink copies the bytes into a fixed buffer, wrapping around: memory
// writes as real as a MemorySink's, without its vector growing to gigabytes.
class RingSink : public ByteSink {
 public:
  explicit RingSink(size_t size) : size_(size), buffer_(new uint8_t[size]) {
    std::memset(buffer_.get(), 0, size_);  // touched before timing
  }
  absl::Status Write(absl::Span<const uint8_t> bytes) override {
    size_t done = 0;
    while (done < bytes.size()) {
      const size_t n = std::min(bytes.size() - done, size_ - at_);
      std::memcpy(buffer_.get() + at_, bytes.data() + done, n);
      at_ = (at_ + n) % size_;
      done += n;
    }
    written_ += bytes.size();
    return absl::OkStatus();
  }
  uint64_t bytes_written() const override { return written_; }

 private:
  const size_t size_;
  std::unique_ptr<uint8_t[]> buffer_;
  size_t at_ = 0;
  uint64_t written_ = 0;
};

// One heap-shape runtime at a time, kept across benchmarks of the same N
// (building the 4M shape takes seconds).
struct ShapeRuntime {
  std::unique_ptr<Runtime> runtime;
  std::unique_ptr<bench::HeapShape> shape;
};

ShapeRuntime* SharedShape(int64_t n) {
  static int64_t built_n = -1;
  static ShapeRuntime* current = nullptr;
  if (built_n == n) return current;
  if (current != nullptr) {
    current->shape.reset();  // joins the parked threads before the runtime goes
    current->runtime.reset();
    delete current;
    current = nullptr;
    built_n = -1;
  }
  RuntimeOptions options;
  options.heap_limit_bytes = size_t{8} << 30;
  options.initial_heap_bytes = options.heap_limit_bytes;  // no collection
  options.classes = bench::HeapShapeClasses();
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create(std::move(options));
  if (!runtime.ok()) return nullptr;
  auto built = new ShapeRuntime{std::move(*runtime), nullptr};
  built->shape = std::make_unique<bench::HeapShape>(*built->runtime, n);
  {
    ThreadScope scope(*built->runtime, "main");
    if (!built->shape->Build(scope.thread()).ok()) {
      built->shape.reset();
      built->runtime.reset();
      delete built;
      return nullptr;
    }
  }
  built->shape->Park();
  current = built;
  built_n = n;
  return current;
}

// ReportDump: counters for `stats` (the last dump's) and `wall`, the time
// of all the iterations' dumps.
void ReportDump(benchmark::State& state, const HeapDumpStats& stats, absl::Duration wall) {
  const double dumps = static_cast<double>(state.iterations());
  state.counters["objects"] = static_cast<double>(stats.objects);
  state.counters["MB"] = static_cast<double>(stats.bytes) / 1e6;
  state.counters["ns_per_object"] =
      absl::ToDoubleNanoseconds(wall) / dumps / static_cast<double>(stats.objects);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stats.bytes));
}

// BM_DumpHeapShape/N/live: a stop-the-world dump of the shape into a sink
// that drops the bytes.
void BM_DumpHeapShape(benchmark::State& state) {
  ShapeRuntime* shape = SharedShape(state.range(0));
  if (shape == nullptr) {
    state.SkipWithError("building the heap shape failed");
    return;
  }
  HeapDumpOptions options;
  options.live = state.range(1) != 0;
  HeapDumpStats stats;
  absl::Duration wall;
  for (auto _ : state) {
    DiscardSink sink;
    const absl::Time start = absl::Now();
    if (!VMRuntime::DumpHeapTo(*shape->runtime, sink, options, &stats).ok()) {
      state.SkipWithError("dump failed");
      return;
    }
    wall += absl::Now() - start;
  }
  ReportDump(state, stats, wall);
}
// Grouped by N: the shape is built once per N.
BENCHMARK(BM_DumpHeapShape)
    ->Args({100000, 0})->Args({100000, 1})
    ->Args({1000000, 0})->Args({1000000, 1})
    ->Args({4000000, 0})->Args({4000000, 1})
    ->ArgNames({"n", "live"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(5);

std::string TempDir() {
  const char* dir = std::getenv("TMPDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

// BM_DumpHeapShapeFile/N/live/fork: a dump to a file, stop-the-world or fork
// mode (pause_ms: the safepoint; a live fork-mode dump marks in the child);
// the file is deleted after each dump.
void BM_DumpHeapShapeFile(benchmark::State& state) {
  ShapeRuntime* shape = SharedShape(state.range(0));
  if (shape == nullptr) {
    state.SkipWithError("building the heap shape failed");
    return;
  }
  HeapDumpOptions options;
  options.live = state.range(1) != 0;
  options.mode = state.range(2) != 0 ? DumpMode::kFork : DumpMode::kStopTheWorld;
  HeapDumpStats stats;
  double pause_ms = 0;
  absl::Duration wall;
  int i = 0;
  for (auto _ : state) {
    options.path = absl::StrCat(TempDir(), "/dump_benchmark-", getpid(), "-", i++, ".hprof");
    const absl::Time start = absl::Now();
    absl::StatusOr<std::string> path = VMRuntime::DumpHeap(*shape->runtime, options, &stats);
    if (!path.ok()) {
      state.SkipWithError(std::string(path.status().message()).c_str());
      return;
    }
    wall += absl::Now() - start;
    pause_ms += absl::ToDoubleMilliseconds(stats.pause);
    state.PauseTiming();
    unlink(path->c_str());
    state.ResumeTiming();
  }
  ReportDump(state, stats, wall);
  state.counters["pause_ms"] = pause_ms / static_cast<double>(state.iterations());
}
BENCHMARK(BM_DumpHeapShapeFile)
    ->ArgsProduct({{1000000, 4000000}, {0, 1}, {0, 1}})
    ->ArgNames({"n", "live", "fork"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(5);

// BM_ThreadDump/threads: ThreadDump (stop the world, format every thread,
// resume) with that many parked threads.
void BM_ThreadDump(benchmark::State& state) {
  RuntimeOptions options;
  options.classes = bench::HeapShapeClasses();
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create(std::move(options));
  if (!runtime.ok()) {
    state.SkipWithError("creating the runtime failed");
    return;
  }
  size_t bytes = 0;
  {
    bench::ParkedThreads parked(**runtime, static_cast<int>(state.range(0)), "parked-");
    for (auto _ : state) {
      absl::StatusOr<std::string> dump = ThreadDump(**runtime);
      if (!dump.ok()) {
        state.SkipWithError("thread dump failed");
        break;
      }
      bytes = dump->size();
      benchmark::DoNotOptimize(dump->data());
    }
  }
  state.counters["dump_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_ThreadDump)
    ->Arg(1)->Arg(16)->Arg(128)
    ->ArgName("threads")
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

constexpr size_t kRecords = 1 << 20;
constexpr size_t kRing = size_t{64} << 20;
// An INSTANCE_DUMP of a Node: tag, id, trace serial, class id, length, then
// left, right (ids), key (long), value (int).
constexpr size_t kNodeFields = 8 + 8 + 8 + 4;
constexpr size_t kNodeRecord = 1 + 8 + 4 + 8 + 4 + kNodeFields;

// WriterThroughput runs kRecords calls of `write(writer, i)` per iteration
// on a writer into a RingSink; each call writes one sub-record of
// `record_size` bytes.
template <typename WriteRecord>
void WriterThroughput(benchmark::State& state, size_t record_size, WriteRecord write) {
  RingSink sink(kRing);
  HprofWriter writer(&sink);
  writer.WriteHeader(0);
  for (auto _ : state) {
    for (size_t i = 0; i < kRecords; ++i) {
      if (!write(writer, i)) {
        state.SkipWithError("a record did not fit the writer's buffer");
        return;
      }
    }
  }
  writer.EndHeapDump();
  if (!writer.Finish().ok()) state.SkipWithError("writer failed");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRecords * record_size));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRecords));
}

uint64_t NodeId(size_t i) { return 0x7f0000000000 + 32 * i; }

// BM_HprofWriterReserved: Node instance records through ReserveSubRecord and
// the Store* helpers (the heap walk's path).
void BM_HprofWriterReserved(benchmark::State& state) {
  WriterThroughput(state, kNodeRecord, [](HprofWriter& writer, size_t i) {
    uint8_t* p = writer.ReserveSubRecord(hprof::kInstanceDump, kNodeRecord);
    if (p == nullptr) return false;
    p = HprofWriter::StoreU8(p, NodeId(i));
    p = HprofWriter::StoreU4(p, 1);
    p = HprofWriter::StoreU8(p, 0x7f0000001000);
    p = HprofWriter::StoreU4(p, kNodeFields);
    p = HprofWriter::StoreU8(p, NodeId(i + 1));
    p = HprofWriter::StoreU8(p, NodeId(i + 2));
    p = HprofWriter::StoreU8(p, i);
    HprofWriter::StoreU4(p, static_cast<uint32_t>(i * 2654435761u));
    return true;
  });
}
BENCHMARK(BM_HprofWriterReserved)->Unit(benchmark::kMillisecond);

// BM_HprofWriterStreaming: the same records through BeginSubRecord and one
// call per value (the prologue's path).
void BM_HprofWriterStreaming(benchmark::State& state) {
  WriterThroughput(state, kNodeRecord, [](HprofWriter& writer, size_t i) {
    writer.BeginSubRecord(hprof::kInstanceDump, kNodeRecord);
    writer.Id(NodeId(i));
    writer.U4(1);
    writer.Id(0x7f0000001000);
    writer.U4(kNodeFields);
    writer.Id(NodeId(i + 1));
    writer.Id(NodeId(i + 2));
    writer.U8(i);
    writer.U4(static_cast<uint32_t>(i * 2654435761u));
    return true;
  });
}
BENCHMARK(BM_HprofWriterStreaming)->Unit(benchmark::kMillisecond);

// BM_HprofWriterPrimArrays: byte[64] PRIM_ARRAY_DUMPs (header reserved, the
// elements copied in with memcpy).
void BM_HprofWriterPrimArrays(benchmark::State& state) {
  uint8_t elements[64];
  for (int j = 0; j < 64; ++j) elements[j] = static_cast<uint8_t>(j);
  constexpr size_t kSize = 1 + 8 + 4 + 4 + 1 + sizeof(elements);
  WriterThroughput(state, kSize, [&elements](HprofWriter& writer, size_t i) {
    uint8_t* p = writer.ReserveSubRecord(hprof::kPrimitiveArrayDump, kSize);
    if (p == nullptr) return false;
    p = HprofWriter::StoreU8(p, 0x7f0000000000 + 80 * i);
    p = HprofWriter::StoreU4(p, 1);
    p = HprofWriter::StoreU4(p, sizeof(elements));
    p = HprofWriter::StoreU1(p, hprof::kByte);
    std::memcpy(p, elements, sizeof(elements));
    return true;
  });
}
BENCHMARK(BM_HprofWriterPrimArrays)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kiln

BENCHMARK_MAIN();
