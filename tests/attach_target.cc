// attach_target: a Kiln program for the attach tests (tests/attach_test.cc)
// to attach to. It takes the monitoring switches (monitoring_flags.h, all off
// unless given), keeps --ballast_mb of int arrays alive, with --mutate a thread
// that keeps building and dropping lists, prints "Ready <pid>" and runs until
// SIGTERM, after which it shuts the runtime down and exits 0.
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "inspection/services/monitoring_flags.h"
#include "inspection/services/monitoring_services.h"
#include "vm/kiln.h"

ABSL_FLAG(int, ballast_mb, 0, "MiB of int arrays kept alive");
ABSL_FLAG(bool, mutate, false, "a thread keeps building and dropping lists");
ABSL_FLAG(int, client_timeout_ms, 10000, "the attach listener's client timeout");
ABSL_FLAG(int, max_connections, 4, "the attach listener's bound");

namespace {

int Run(kiln::Runtime& runtime) {
  kiln::Resolver resolver(runtime);
  const kiln::Class* target = resolver.Class("test.Target");
  const kiln::FieldRef<kiln::Object*> next = resolver.Field<kiln::Object*>(target, "next");
  const kiln::StaticFieldRef<kiln::ObjectArray*> ballast_field =
      resolver.StaticField<kiln::ObjectArray*>(target, "ballast");
  const kiln::Method* main_method = resolver.Method(target, "main", "()V");
  const kiln::Method* run = resolver.Method(target, "run", "()V");
  if (!resolver.status().ok()) {
    std::fprintf(stderr, "%s\n", resolver.status().ToString().c_str());
    return 1;
  }
  std::atomic<bool> stop{false};
  std::thread mutator;
  {
    kiln::ThreadScope scope(runtime, "main");
    kiln::Frame frame(scope, main_method);
    frame.set_line(10);
    const uint32_t arrays = static_cast<uint32_t>(absl::GetFlag(FLAGS_ballast_mb)) * 16;
    kiln::Local<kiln::ObjectArray> ballast =
        *kiln::ObjectArray::New(frame, runtime.classes().object_class(), arrays);
    for (uint32_t i = 0; i < arrays; ++i) {
      kiln::LocalScope fill(frame);  // one slot per array, freed each time
      kiln::Local<kiln::IntArray> ints = *kiln::IntArray::New(frame, 16384);
      for (uint32_t j = 0; j < 16384; j += 1024) ints->Set(j, static_cast<int32_t>(i + j));
      ballast->Set(i, ints.get());
    }
    ballast_field.Set(ballast.get());
    if (absl::GetFlag(FLAGS_mutate)) {
      mutator = std::thread([&] {
        kiln::ThreadScope mutating(runtime, "mutator");
        while (!stop.load()) {
          kiln::Frame batch(mutating, run);
          kiln::Local<kiln::Object> list = batch.NewLocal<kiln::Object>(nullptr);
          for (int i = 0; i < 200; ++i) {
            kiln::Local<kiln::Object> node = *kiln::Object::New(batch, target);
            node->Set(next, list.get());
            list.Set(node.get());
          }
        }
      });
    }
    std::printf("Ready %d\n", getpid());
    std::fflush(stdout);
    kiln::ScopedNative waiting(scope, kiln::ThreadStatus::kWaiting);
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    int signo;
    sigwait(&term, &signo);
  }
  stop.store(true);
  if (mutator.joinable()) mutator.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // SIGTERM is waited for, on the main thread: blocked in every thread.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, nullptr);
  absl::StatusOr<std::optional<kiln::InspectionOptions>> inspection =
      kiln::ParseMonitoringFlags(argc, argv, /*enabled_by_default=*/false);
  if (!inspection.ok()) {
    std::fprintf(stderr, "attach_target: %s\n", inspection.status().ToString().c_str());
    return 2;
  }
  absl::ParseCommandLine(argc, argv);
  kiln::RuntimeOptions options;
  options.heap_limit_bytes = size_t{1} << 30;
  options.classes.push_back({.name = "test.Target",
                             .source_file = "attach_target.cc",
                             .fields = {{"next", kiln::FieldType::kObject}},
                             .static_fields = {{"ballast", kiln::FieldType::kObject}},
                             .methods = {{"main", "()V"}, {"run", "()V"}}});
  if (inspection->has_value()) {
    kiln::AttachOptions attach;
    attach.client_timeout = absl::Milliseconds(absl::GetFlag(FLAGS_client_timeout_ms));
    attach.max_connections = absl::GetFlag(FLAGS_max_connections);
    options.services = kiln::MonitoringServices(**inspection, attach);
  }
  absl::StatusOr<std::unique_ptr<kiln::Runtime>> runtime =
      kiln::Runtime::Create(std::move(options));
  if (!runtime.ok()) {
    std::fprintf(stderr, "attach_target: %s\n", runtime.status().ToString().c_str());
    return 1;
  }
  return Run(**runtime);
}
