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
// (Nodes, dropped at once: collected when the heap reaches its 3 GiB limit) and a writer that stores into the `left` field of 64 Ki
// tree Nodes spread over the whole tree, in address order, over and over
// (the value it read: only the write matters). It takes --repeat fork-mode
// full dumps with --gap between them. Per dump ("before": the --gap before
// it; "during": from the dump's request until it returned) it prints
//
//   rep n=<N> huge_pages=<bool> r=<i> alloc_before=<objects/us>
//       alloc_during=<objects/us> writes_before=<writes/us> writes_during=<writes/us>
//       stall_before_ms=<longest gap between two writes> stall_during_ms=<same>
//       seconds=<dump> pause_ms=<dump's pause> thp_split_pmd=<splits meanwhile>
//
// (the longest stall is the max over that phase of that repetition), then
// one `median` line of the same fields, each the median over the
// repetitions, and a `heap` line with the heap's bytes in huge pages
// before the first dump and after the last. Many short repetitions and
// their medians, not one long run, so that the other engineers' load on a
// shared machine moves single repetitions but not the medians much; run
// the two page sizes as alternating processes to compare them.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
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
ABSL_FLAG(int, repeat, 15, "fork-mode dumps");
ABSL_FLAG(double, gap, 0.3, "seconds between dumps (the 'before' phase)");
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

// ThpSplitPmd: /proc/vmstat's thp_split_pmd (huge-page mappings split by
// the kernel, system-wide); 0 if it cannot be read.
uint64_t ThpSplitPmd() {
  std::ifstream vmstat("/proc/vmstat");
  std::string key;
  uint64_t value = 0;
  while (vmstat >> key >> value) {
    if (key == "thp_split_pmd") return value;
  }
  return 0;
}

// One repetition's figures, in the order the lines print them.
struct Rep {
  double alloc[2], writes[2], stall_ms[2];  // [before, during]
  double seconds, pause_ms, splits;
};

int Main() {
  const int64_t n = absl::GetFlag(FLAGS_n);
  RuntimeOptions options;
  // The allocator's garbage must be collected: at some 240 MB/s a 16 GiB
  // heap that never collects filled this 23 GiB machine within a minute of
  // slow dumps (the kernel's OOM killer ended the run). With the first
  // collection at 3 GiB there are a few collections per run, in either
  // phase; the `heap` line counts them.
  options.heap_limit_bytes = size_t{3} << 30;
  options.initial_heap_bytes = options.heap_limit_bytes;
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
  // and the tree stays reachable from its static root through every collection.
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

  const bool huge = absl::GetFlag(FLAGS_huge_pages);
  const double gap_us = absl::GetFlag(FLAGS_gap) * 1e6;
  auto print = [&](const char* kind, const std::string& r, const Rep& x) {
    std::printf(
        "%s n=%lld huge_pages=%s%s alloc_before=%.2f alloc_during=%.2f writes_before=%.2f "
        "writes_during=%.2f stall_before_ms=%.3f stall_during_ms=%.3f seconds=%.3f "
        "pause_ms=%.2f thp_split_pmd=%.0f\n",
        kind, static_cast<long long>(n), huge ? "true" : "false", r.c_str(), x.alloc[0],
        x.alloc[1], x.writes[0], x.writes[1], x.stall_ms[0], x.stall_ms[1], x.seconds,
        x.pause_ms, x.splits);
    std::fflush(stdout);
  };
  std::vector<Rep> reps;
  for (int r = 0; r < absl::GetFlag(FLAGS_repeat); ++r) {
    Rep rep;
    // Each phase's longest stall is this repetition's: reset as it starts
    // (the writer only raises the counter of the phase it is in).
    phases[0].max_gap_ns.store(0);
    const uint64_t a0 = phases[0].allocations.load(), w0 = phases[0].writes.load();
    absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_gap)));
    rep.alloc[0] = (phases[0].allocations.load() - a0) / gap_us;
    rep.writes[0] = (phases[0].writes.load() - w0) / gap_us;
    phases[1].max_gap_ns.store(0);
    const uint64_t a1 = phases[1].allocations.load(), w1 = phases[1].writes.load();
    const uint64_t splits = ThpSplitPmd();
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
    rep.stall_ms[0] = phases[0].max_gap_ns.load() / 1e6;
    rep.stall_ms[1] = phases[1].max_gap_ns.load() / 1e6;
    rep.splits = static_cast<double>(ThpSplitPmd() - splits);
    if (!path.ok()) {
      std::fprintf(stderr, "%s\n", path.status().ToString().c_str());
      return 1;
    }
    unlink(path->c_str());
    rep.alloc[1] = (phases[1].allocations.load() - a1) / us;
    rep.writes[1] = (phases[1].writes.load() - w1) / us;
    rep.seconds = us / 1e6;
    rep.pause_ms = absl::ToDoubleMilliseconds(stats.pause);
    reps.push_back(rep);
    print("rep", absl::StrCat(" r=", r), rep);
  }
  stop.store(true);
  allocator.join();
  writer.join();
  auto median = [&](auto field) {
    std::vector<double> v;
    for (const Rep& x : reps) v.push_back(field(x));
    return Median(v);
  };
  Rep m;
  for (int p = 0; p < 2; ++p) {
    m.alloc[p] = median([p](const Rep& x) { return x.alloc[p]; });
    m.writes[p] = median([p](const Rep& x) { return x.writes[p]; });
    m.stall_ms[p] = median([p](const Rep& x) { return x.stall_ms[p]; });
  }
  m.seconds = median([](const Rep& x) { return x.seconds; });
  m.pause_ms = median([](const Rep& x) { return x.pause_ms; });
  m.splits = median([](const Rep& x) { return x.splits; });
  print("median", "", m);
  const gc::HeapStats after = runtime->heap_stats();
  std::printf("heap n=%lld huge_pages=%s huge_page_bytes_before=%zu huge_page_bytes_after=%zu "
              "targets=%zu collections=%llu\n",
              static_cast<long long>(n), huge ? "true" : "false", huge_before,
              after.huge_page_bytes, targets.size(),
              static_cast<unsigned long long>(after.collections));
  return 0;
}

}  // namespace
}  // namespace kiln::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return kiln::bench::Main();
}
