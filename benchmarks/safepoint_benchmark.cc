// Safepoint costs: the poll on the fast path, and time-to-safepoint (from the
// request until every thread is stopped) against the number of threads running
// managed loops, or parked in native code.
//
//   bazel run -c opt //benchmarks:safepoint_benchmark
//
// Time-to-safepoint benchmarks report each iteration's time-to-safepoint as
// manual time, plus its median and p99 in microseconds as counters. With more
// spinning threads than cores the scheduler dominates: a stopped-but-not-yet-
// polled thread must first get a core.
#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "base/check.h"
#include "base/notification.h"
#include "benchmark/benchmark.h"
#include "vm/internal/runtime_access.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

RuntimeOptions Options() {
  RuntimeOptions options;
  options.heap_limit_bytes = 64 << 20;
  options.classes.push_back({.name = "Bench",
                             .source_file = "safepoint_benchmark.cc",
                             .methods = {{"loop", "()V"}, {"park", "()V"}}});
  return options;
}

// LoopMethod: Bench.loop()V; a benchmark without it cannot run.
const Method* LoopMethod(const Runtime& runtime) {
  Resolver resolver(runtime);
  const Method* loop = resolver.Method(resolver.Class("Bench"), "loop", "()V");
  const absl::Status status = resolver.status();
  KILN_CHECK(status.ok(), status.ToString());
  return loop;
}

void BM_Poll(benchmark::State& state) {
  auto runtime = *Runtime::Create(Options());
  ThreadScope scope(*runtime, "poller");
  Frame frame(scope, LoopMethod(*runtime));
  for (auto _ : state) {
    frame.Poll();
    benchmark::ClobberMemory();  // keep the load in the loop
  }
}
BENCHMARK(BM_Poll);

// Threads that either spin in a managed loop (polling) or park in native code.
class Population {
 public:
  Population(Runtime& runtime, int n, bool native) {
    const Method* loop = LoopMethod(runtime);
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this, &runtime, loop, native] {
        ThreadScope scope(runtime, "population");
        Frame frame(scope, loop);
        if (native) {
          ScopedNative parked(scope, ThreadStatus::kNative);
          started_.fetch_add(1);
          release_.WaitForNotification();
          return;
        }
        started_.fetch_add(1);
        while (!release_.HasBeenNotified()) frame.Poll();
      });
    }
    while (started_.load() < n) std::this_thread::yield();
  }
  ~Population() {
    release_.Notify();
    for (auto& t : threads_) t.join();
  }

 private:
  std::atomic<int> started_{0};
  kiln::Notification release_;
  std::vector<std::thread> threads_;
};

class EmptyOperation : public VmOperation {
 public:
  EmptyOperation() : VmOperation("benchmark") {}
  void Doit(StoppedWorld&) override {}
};

void TimeToSafepoint(benchmark::State& state, bool native) {
  auto runtime = *Runtime::Create(Options());
  Population population(*runtime, static_cast<int>(state.range(0)), native);
  std::vector<double> samples;
  for (auto _ : state) {
    EmptyOperation op;
    if (!internal::Execute(*runtime, op).ok()) {
      state.SkipWithError("VM operation failed");
      break;
    }
    const double seconds = absl::ToDoubleSeconds(op.timing().time_to_safepoint);
    state.SetIterationTime(seconds);
    samples.push_back(seconds);
  }
  if (samples.empty()) return;
  std::sort(samples.begin(), samples.end());
  state.counters["median_us"] = samples[samples.size() / 2] * 1e6;
  state.counters["p99_us"] = samples[std::min(samples.size() - 1, samples.size() * 99 / 100)] * 1e6;
}

void BM_TimeToSafepoint_ManagedLoops(benchmark::State& state) { TimeToSafepoint(state, false); }
void BM_TimeToSafepoint_ParkedInNative(benchmark::State& state) { TimeToSafepoint(state, true); }
BENCHMARK(BM_TimeToSafepoint_ManagedLoops)
    ->Arg(1)->Arg(2)->Arg(4)->Arg(8)->UseManualTime()->Iterations(2000);
BENCHMARK(BM_TimeToSafepoint_ParkedInNative)
    ->Arg(1)->Arg(2)->Arg(4)->Arg(8)->UseManualTime()->Iterations(2000);

}  // namespace
}  // namespace kiln

BENCHMARK_MAIN();
