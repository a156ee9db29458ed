// fork_mutator_benchmark: what mutators feel while a fork-mode dump runs,
// with the heap on 4 KiB or on 2 MiB pages (--huge_pages). After a fork,
// the parent's first write to each page the child shares is a copy-on-write
// fault; with huge pages the kernel splits the 2 MiB mapping and copies
// 4 KiB (Linux 5.8 on), and the allocator's fresh memory faults in 2 MiB at
// a time.
//
//   bazel run -c opt //benchmarks:fork_mutator_benchmark -- --n=4000000 --huge_pages=true
//
// Builds the heap shape, then runs two managed threads: an allocator
// (Nodes, dropped at once: no collection runs, the heap's first threshold
// is its limit) and a writer that stores into the `left` field of 64 Ki
// tree Nodes spread over the whole tree, in address order, over and over
// (the value it read: only the write matters). It takes --repeat fork-mode
// full dumps with --gap between them, and prints per phase ("before": the
// --gap before each dump; "during": from the dump's request until it
// returned):
//
//   mutators n=<N> huge_pages=<bool> phase=<before|during> alloc_per_us=<objects/µs>
//       writes_per_us=<writes/µs> max_write_gap_ms=<longest time between two writes>
//
// (medians over the dumps of the per-dump rate, and the longest gap of all),
// then a `dump` line with the medians of the dump's seconds and pause, and
// the heap's bytes in huge pages before the first dump and after the last.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmarks/heap_shape.h"
#include "inspection/vm_runtime.h"
#include "vm/kiln.h"

ABSL_FLAG(int64_t, n, 4000000, "the shape's N");
ABSL_FLAG(bool, huge_pages, true, "back the heap with transparent huge pages where offered");
ABSL_FLAG(int, repeat, 3, "fork-mode dumps");
ABSL_FLAG(double, gap, 0.5, "seconds between dumps (the 'before' phase)");
ABSL_FLAG(std::string, dir, "/tmp", "where the dumps go (deleted once written)");

namespace kiln::bench {
namespace {

// Phase counters: the threads add to the current phase's.
struct Counters {
  std::atomic<uint64_t> allocations{0};
  std::atomic<uint64_t> writes{0};
  std::atomic<int64_t> max_gap_ns{0};
};

void RaiseMax(std::atomic<int64_t>& max, int64_t v) {
  int64_t old = max.load(std::memory_order_relaxed);
  while (v > old && !max.compare_exchange_weak(old, v, std::memory_order_relaxed)) {
  }
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int Main() {
  const int64_t n = absl::GetFlag(FLAGS_n);
  RuntimeOptions options;
  options.heap_limit_bytes = size_t{16} << 30;
  options.initial_heap_bytes = options.heap_limit_bytes;  // no collection at all
  options.classes = HeapShapeClasses();
  options.heap_huge_pages = absl::GetFlag(FLAGS_huge_pages);
  std::unique_ptr<Runtime> runtime = *Runtime::Create(std::move(options));
  HeapShape shape(*runtime, n);
  {
    ThreadScope scope(*runtime, "main");
    if (!shape.Build(scope.thread()).ok()) return 1;
  }
  shape.Park();
  Resolver resolver(*runtime);
  const Class* node = resolver.Class("Node");
  const FieldRef<Object*> left = resolver.Field<Object*>(node, "left");
  const FieldRef<Object*> right = resolver.Field<Object*>(node, "right");
  const StaticFieldRef<Object*> root =
      resolver.StaticField<Object*>(resolver.Class("HeapShape"), "root");
  const Method* build = resolver.Method(resolver.Class("HeapShape"), "build", "(JJ)LNode;");
  if (!resolver.status().ok()) {
    std::fprintf(stderr, "%s\n", resolver.status().ToString().c_str());
    return 1;
  }
  // Nodes 16 levels down: pre-order allocation spreads them over the tree's
  // whole address range. Raw pointers are safe here: the heap does not move
  // and no collection runs.
  std::vector<Object*> targets{root.Get()};
  for (int depth = 0; depth < 16; ++depth) {
    std::vector<Object*> next;
    for (Object* o : targets) {
      for (const FieldRef<Object*>* f : {&left, &right}) {
        if (Object* child = o->Get(*f)) next.push_back(child);
      }
    }
    if (next.empty()) break;
    targets = std::move(next);
  }
  std::sort(targets.begin(), targets.end());
  const size_t huge_before = runtime->heap_stats().huge_page_bytes;

  Counters phases[2];  // 0 before, 1 during
  std::atomic<int> phase{0};
  std::atomic<bool> stop{false};
  std::thread allocator([&] {
    ThreadScope scope(*runtime, "allocator");
    Frame frame(scope, build);
    while (!stop.load(std::memory_order_relaxed)) {
      Frame step(scope, build);
      for (int i = 0; i < 64; ++i) {
        if (!Object::New(step, node).ok()) return;
      }
      phases[phase.load(std::memory_order_relaxed)].allocations.fetch_add(
          64, std::memory_order_relaxed);
    }
  });
  std::thread writer([&] {
    ThreadScope scope(*runtime, "writer");
    Frame frame(scope, build);
    int64_t last = absl::GetCurrentTimeNanos();
    int last_phase = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      for (Object* o : targets) {
        frame.Poll();
        o->Set(left, o->Get(left));
        const int64_t now = absl::GetCurrentTimeNanos();
        const int p = phase.load(std::memory_order_relaxed);
        if (p == last_phase) RaiseMax(phases[p].max_gap_ns, now - last);
        last = now;
        last_phase = p;
        phases[p].writes.fetch_add(1, std::memory_order_relaxed);
      }
    }
  });

  std::vector<double> rate[2][2];  // [phase][alloc, writes]
  std::vector<double> seconds, pauses;
  for (int r = 0; r < absl::GetFlag(FLAGS_repeat); ++r) {
    const uint64_t a0 = phases[0].allocations.load(), w0 = phases[0].writes.load();
    absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_gap)));
    const double gap_us = absl::GetFlag(FLAGS_gap) * 1e6;
    rate[0][0].push_back((phases[0].allocations.load() - a0) / gap_us);
    rate[0][1].push_back((phases[0].writes.load() - w0) / gap_us);
    const uint64_t a1 = phases[1].allocations.load(), w1 = phases[1].writes.load();
    HeapDumpOptions dump;
    dump.path = absl::StrCat(absl::GetFlag(FLAGS_dir), "/fork_mutator-", getpid(), "-", r, ".hprof");
    dump.live = false;
    dump.mode = DumpMode::kFork;
    HeapDumpStats stats;
    const absl::Time start = absl::Now();
    phase.store(1);
    absl::StatusOr<std::string> path = VMRuntime::DumpHeap(*runtime, dump, &stats);
    phase.store(0);
    const double us = absl::ToDoubleMicroseconds(absl::Now() - start);
    if (!path.ok()) {
      std::fprintf(stderr, "%s\n", path.status().ToString().c_str());
      return 1;
    }
    unlink(path->c_str());
    rate[1][0].push_back((phases[1].allocations.load() - a1) / us);
    rate[1][1].push_back((phases[1].writes.load() - w1) / us);
    seconds.push_back(us / 1e6);
    pauses.push_back(absl::ToDoubleMilliseconds(stats.pause));
  }
  stop.store(true);
  allocator.join();
  writer.join();
  const bool huge = absl::GetFlag(FLAGS_huge_pages);
  for (int p = 0; p < 2; ++p) {
    std::printf(
        "mutators n=%lld huge_pages=%s phase=%s alloc_per_us=%.2f writes_per_us=%.2f "
        "max_write_gap_ms=%.3f\n",
        static_cast<long long>(n), huge ? "true" : "false", p == 0 ? "before" : "during",
        Median(rate[p][0]), Median(rate[p][1]), phases[p].max_gap_ns.load() / 1e6);
  }
  std::printf(
      "dump n=%lld huge_pages=%s seconds=%.3f pause_ms=%.2f huge_page_bytes_before=%zu "
      "huge_page_bytes_after=%zu targets=%zu\n",
      static_cast<long long>(n), huge ? "true" : "false", Median(seconds), Median(pauses),
      huge_before, runtime->heap_stats().huge_page_bytes, targets.size());
  return 0;
}

}  // namespace
}  // namespace kiln::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return kiln::bench::Main();
}
