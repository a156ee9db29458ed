// Monitor costs (vm/monitor.h), each beside its host-lock counterpart in the
// same run (timings on shared machines are noisy: compare ratios):
//
//   BM_Uncontended/{Synchronized,StdMutex}   enter+exit on one thread; the
//       target is Synchronized no slower than std::mutex lock+unlock
//   BM_Contended/{Synchronized,StdMutex}     two threads take turns as they
//       can on one lock, a short critical section each: per acquisition
//   BM_WaitNotify/{Monitor,CondVar}          a ping-pong round trip between
//       two threads: Wait/Notify against std::condition_variable
//
//   bazel run -c opt //benchmarks:monitor_benchmark --
//       --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//   (one command line)
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "base/check.h"
#include "benchmark/benchmark.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

RuntimeOptions Options() {
  RuntimeOptions options;
  options.heap_limit_bytes = 64 << 20;
  options.classes.push_back({.name = "Bench",
                             .source_file = "monitor_benchmark.cc",
                             .fields = {{"n", FieldType::kInt}, {"turn", FieldType::kInt}},
                             .methods = {{"loop", "()V"}}});
  return options;
}

// The Bench class, resolved once; a benchmark without it cannot run.
struct BenchApi {
  const Class* cls = nullptr;
  FieldRef<int32_t> n;
  FieldRef<int32_t> turn;
  const Method* loop = nullptr;
};

BenchApi ResolveBenchApi(const Runtime& runtime) {
  Resolver resolver(runtime);
  BenchApi api;
  api.cls = resolver.Class("Bench");
  api.n = resolver.Field<int32_t>(api.cls, "n");
  api.turn = resolver.Field<int32_t>(api.cls, "turn");
  api.loop = resolver.Method(api.cls, "loop", "()V");
  const absl::Status status = resolver.status();
  KILN_CHECK(status.ok(), status.ToString());
  return api;
}

// A runtime with one shared Bench object, and a frame on the calling thread.
struct Bench {
  Bench()
      : runtime(*Runtime::Create(Options())),
        api(ResolveBenchApi(*runtime)),
        main(*runtime, "bench"),
        frame(main, api.loop),
        cls(api.cls),
        n(api.n),
        turn(api.turn),
        object(*Object::New(frame, cls)) {}

  // Partner runs `body(frame, object)` on another attached thread.
  std::thread Partner(std::function<void(Frame&, Object*)> body) {
    return std::thread([this, body = std::move(body)] {
      ThreadScope scope(*runtime, "partner");
      Frame partner_frame(scope, api.loop);
      body(partner_frame, object.get());
    });
  }
  void Join(std::thread& thread) {
    ScopedNative joining(main, ThreadStatus::kWaiting);
    thread.join();
  }

  std::unique_ptr<Runtime> runtime;
  BenchApi api;
  ThreadScope main;
  Frame frame;
  const Class* cls;
  FieldRef<int32_t> n;
  FieldRef<int32_t> turn;
  Global<Object> object;
};

void BM_Uncontended_Synchronized(benchmark::State& state) {
  Bench bench;
  Object* object = bench.object.get();
  for (auto _ : state) {
    Synchronized lock(bench.frame, object);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Uncontended_Synchronized);

void BM_Uncontended_StdMutex(benchmark::State& state) {
  std::mutex mu;
  for (auto _ : state) {
    std::lock_guard<std::mutex> lock(mu);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Uncontended_StdMutex);

void BM_Contended_Synchronized(benchmark::State& state) {
  Bench bench;
  std::atomic<bool> stop{false};
  std::thread partner = bench.Partner([&](Frame& frame, Object* object) {
    while (!stop.load(std::memory_order_relaxed)) {
      Synchronized lock(frame, object);
      object->Set(bench.n, object->Get(bench.n) + 1);
      frame.Poll();
    }
  });
  Object* object = bench.object.get();
  for (auto _ : state) {
    Synchronized lock(bench.frame, object);
    object->Set(bench.n, object->Get(bench.n) + 1);
  }
  stop.store(true);
  bench.Join(partner);
}
BENCHMARK(BM_Contended_Synchronized)->UseRealTime();

void BM_Contended_StdMutex(benchmark::State& state) {
  std::mutex mu;
  int64_t n = 0;
  std::atomic<bool> stop{false};
  std::thread partner([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      std::lock_guard<std::mutex> lock(mu);
      ++n;
    }
  });
  for (auto _ : state) {
    std::lock_guard<std::mutex> lock(mu);
    ++n;
  }
  stop.store(true);
  partner.join();
}
BENCHMARK(BM_Contended_StdMutex)->UseRealTime();

// Ping-pong: the benchmark thread sets turn 1 and waits for 0; the partner
// waits for 1 and sets 0. One iteration is one round trip.
void BM_WaitNotify_Monitor(benchmark::State& state) {
  Bench bench;
  std::atomic<bool> stop{false};
  std::thread partner = bench.Partner([&](Frame& frame, Object* object) {
    Synchronized lock(frame, object);
    for (;;) {
      while (object->Get(bench.turn) != 1) {
        if (stop.load()) return;
        (void)Wait(frame, object, absl::Milliseconds(10));
      }
      object->Set(bench.turn, 0);
      (void)Notify(frame, object);
    }
  });
  Object* object = bench.object.get();
  {
    Synchronized lock(bench.frame, object);
    for (auto _ : state) {
      object->Set(bench.turn, 1);
      (void)Notify(bench.frame, object);
      while (object->Get(bench.turn) != 0) (void)Wait(bench.frame, object);
    }
    stop.store(true);
  }
  bench.Join(partner);
}
BENCHMARK(BM_WaitNotify_Monitor)->UseRealTime();

void BM_WaitNotify_CondVar(benchmark::State& state) {
  std::mutex mu;
  std::condition_variable cv;
  int turn = 0;
  bool stop = false;
  std::thread partner([&] {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return turn == 1 || stop; });
      if (stop) return;
      turn = 0;
      cv.notify_one();
    }
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    for (auto _ : state) {
      turn = 1;
      cv.notify_one();
      cv.wait(lock, [&] { return turn == 0; });
    }
    stop = true;
    cv.notify_one();
  }
  partner.join();
}
BENCHMARK(BM_WaitNotify_CondVar)->UseRealTime();

}  // namespace
}  // namespace kiln

BENCHMARK_MAIN();
