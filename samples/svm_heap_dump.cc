// svm_heap_dump: Kiln's port of GraalVM's SVMHeapDump sample (the first seed,
// "Generating Heap Dumps from Native Images"). A multi-threaded program that
// runs for 60 seconds; built with inspection enabled, so while it runs
//
//   kill -SIGUSR1 <pid>   writes a live heap dump into the working directory
//                         (svm-heapdump-<pid>-<time>.hprof) and it goes on,
//   kill -SIGQUIT <pid>   prints every thread's stack,
//   kill -SIGUSR2 <pid>   prints the runtime info,
//   kiln-ctl <pid> Thread.print, GC.heap_dump ... (the attach listener).
//
// Flags: --runs (60) and --sleep_ms (1000) shorten the run;
// -XX:-AllowVMInspection or --enable-monitoring=<features> choose the signals
// and the attach listener (inspection/services/monitoring_flags.h),
// -XX:HeapDumpPath=<dir> where dumps go, -XX:HeapDumpInterval=<seconds>
// continuous dumps there.
//
// As in the Java original, class SVMHeapDump extends java.lang.Thread and
// keeps its counters in statics (i, runs, sleepTime); main builds the
// greeting, starts the thread ("Thread-0") and joins it: like Thread.join,
// it waits on the thread object's monitor until the thread is done, so a
// thread dump shows main "in Object.wait()", "- waiting on <...> (a
// SVMHeapDump)".
#include <stdio.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/notification.h"
#include "base/status_macros.h"
#include "inspection/services/monitoring_flags.h"
#include "inspection/services/monitoring_services.h"
#include "inspection/vm_runtime.h"
#include "samples/date_format.h"
#include "vm/kiln.h"

ABSL_FLAG(int, runs, 60, "how many times the thread sleeps");
ABSL_FLAG(int, sleep_ms, 1000, "how long each sleep is, in milliseconds");

namespace {

using kiln::FieldType;

kiln::ClassSpec SvmHeapDumpClass() {
  return {.name = "SVMHeapDump",
          .super_name = "java.lang.Thread",
          .source_file = "svm_heap_dump.cc",
          .static_fields = {{"i", FieldType::kInt},
                            {"runs", FieldType::kInt},
                            {"sleepTime", FieldType::kInt},
                            {"greeting", FieldType::kObject}},
          .methods = {{"main", "([Ljava/lang/String;)V"},
                      {"run", "()V"},
                      {"join", "(J)V"}}};
}

void Print(const std::string& line) { std::printf("%s\n", line.c_str()); }

// Api: SVMHeapDump's statics and methods, resolved once.
struct Api {
  kiln::StaticFieldRef<int32_t> i;
  kiln::StaticFieldRef<int32_t> runs;
  kiln::StaticFieldRef<int32_t> sleep_time;
  kiln::StaticFieldRef<kiln::String*> greeting;
  const kiln::Method* main;
  const kiln::Method* run;
  const kiln::Method* join;
};

absl::StatusOr<Api> ResolveApi(const kiln::Runtime& runtime) {
  kiln::Resolver resolver(runtime);
  const kiln::Class* cls = resolver.Class("SVMHeapDump");
  Api api;
  api.i = resolver.StaticField<int32_t>(cls, "i");
  api.runs = resolver.StaticField<int32_t>(cls, "runs");
  api.sleep_time = resolver.StaticField<int32_t>(cls, "sleepTime");
  api.greeting = resolver.StaticField<kiln::String*>(cls, "greeting");
  api.main = resolver.Method(cls, "main", "([Ljava/lang/String;)V");
  api.run = resolver.Method(cls, "run", "()V");
  api.join = resolver.Method(cls, "join", "(J)V");
  RETURN_IF_ERROR(resolver.status());
  return api;
}

// Thread-0's thread object, handed to main for t.join(); the runtime
// tells when the thread has ended (kiln::Join, as the JVM does).
struct Started {
  std::optional<kiln::Global<kiln::Object>> thread;  // for main
  std::atomic<bool> attached{false};
  const kiln::Thread* main = nullptr;  // set before Thread-0 starts
};

// Run: SVMHeapDump.run(), on thread "Thread-0" (an SVMHeapDump).
void Run(kiln::Runtime& runtime, const Api& api, Started& started) {
  kiln::ThreadScope scope(runtime, "Thread-0",
                          {.thread_class = runtime.FindClass("SVMHeapDump")});
  started.thread.emplace(scope.thread(), scope.thread().thread_object());
  started.attached.store(true, std::memory_order_release);
  kiln::Frame frame(scope, api.run);
  KILN_LINE(frame);
  const int runs = api.runs.Get();
  const int sleep_ms = api.sleep_time.Get();
  {
    // "Thread started" once main waits in t.join(), so that whoever acts on
    // the line (a signal, kiln-ctl, the tests) finds both threads where the
    // line says: Thread-0 in run(), main in join()'s Object.wait().
    kiln::ScopedNative starting(scope.thread(), kiln::ThreadStatus::kWaiting);
    while (started.main->status() != kiln::ThreadStatus::kMonitorWait) std::this_thread::yield();
  }
  Print(absl::StrCat(kiln::samples::DateTimeNow(), ": Thread started, it will run for ", runs,
                     " seconds"));
  while (api.i.Get() < runs) {
    KILN_LINE(frame);
    Print(absl::StrCat("Sleeping for ", runs - api.i.Get(), " seconds."));
    if (!scope.thread().Sleep(absl::Milliseconds(sleep_ms)).ok()) Print("Sleep interrupted.");
    api.i.Set(api.i.Get() + 1);
  }
}  // detaching, the thread ends and wakes its joiners, as the JVM's do

absl::Status Main(kiln::Runtime& runtime, bool inspection) {
  ASSIGN_OR_RETURN(const Api api, ResolveApi(runtime));
  ASSIGN_OR_RETURN(kiln::ThreadScope main, kiln::ThreadScope::Attach(runtime, "main"));
  kiln::Frame frame(main, api.main);
  KILN_LINE(frame);
  api.runs.Set(absl::GetFlag(FLAGS_runs));
  api.sleep_time.Set(absl::GetFlag(FLAGS_sleep_ms));

  const int pid = getpid();
  std::string greeting = absl::StrCat(kiln::samples::DateTimeNow(),
                                      ": Hello Kiln developer! \nGet PID of this process: ",
                                      "'ps -C svm_heap_dump -o pid= ' (it is ", pid, ")\n");
  if (inspection) {
    absl::StrAppend(&greeting, "then send it signal: 'kill -SIGUSR1 ", pid, "' \n",
                    "to get heap dump generated into working directory.\n");
  } else {
    absl::StrAppend(&greeting, "Inspection is off (-XX:-AllowVMInspection): SIGUSR1 does not ",
                    "dump the heap.\n");
  }
  absl::StrAppend(&greeting, "Starting thread!");
  // The greeting lives on the managed heap, as the Java original's does.
  ASSIGN_OR_RETURN(kiln::Local<kiln::String> text, kiln::String::New(frame, greeting));
  api.greeting.Set(text.get());
  Print(greeting);
  std::fflush(stdout);

  Started started;
  started.main = &main.thread();
  std::thread thread(Run, std::ref(runtime), std::cref(api), std::ref(started));
  {
    kiln::ScopedNative starting(main, kiln::ThreadStatus::kWaiting);
    while (!started.attached.load(std::memory_order_acquire)) std::this_thread::yield();
  }
  {
    // t.join(), in a frame of it as in the JVM's thread dumps: waits on t.
    kiln::Frame join(main, api.join);
    KILN_LINE(join);
    kiln::Local<kiln::Object> t = join.NewLocal(started.thread->get());
    started.thread.reset();
    RETURN_IF_ERROR(kiln::Join(join, t.get()));
  }
  {
    kiln::ScopedNative joining(main, kiln::ThreadStatus::kWaiting);
    thread.join();  // the OS thread detaches right after run()
  }
  KILN_LINE(frame);
  Print(absl::StrCat(kiln::samples::DateTimeNow(), ": Thread finished after: ",
                     api.i.Get(), " iterations."));
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  absl::SetProgramUsageMessage(absl::StrCat(
      "Kiln's port of GraalVM's SVMHeapDump: a thread sleeps and counts; SIGUSR1 dumps the "
      "heap.\nUsage: svm_heap_dump [monitoring switches] [--runs=N] [--sleep_ms=MS]\n\n",
      kiln::MonitoringFlagsUsage()));
  absl::StatusOr<std::optional<kiln::InspectionOptions>> inspection =
      kiln::ParseMonitoringFlags(argc, argv, /*enabled_by_default=*/true);
  if (!inspection.ok()) {
    std::fprintf(stderr, "svm_heap_dump: %s\n", inspection.status().ToString().c_str());
    return 2;
  }
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_runs) < 0 || absl::GetFlag(FLAGS_sleep_ms) < 0) {
    std::fprintf(stderr, "svm_heap_dump: --runs and --sleep_ms must not be negative\n");
    return 2;
  }

  kiln::RuntimeOptions options;
  options.classes.push_back(SvmHeapDumpClass());
  if (inspection->has_value()) {
    options.services = kiln::MonitoringServices(**inspection);
    if ((*inspection)->heap_dump_on_out_of_memory) {
      options.on_out_of_memory = kiln::VMRuntime::HeapDumpOnOutOfMemory((*inspection)->heap_dump);
    }
  }
  absl::StatusOr<std::unique_ptr<kiln::Runtime>> runtime =
      kiln::Runtime::Create(std::move(options));
  if (!runtime.ok()) {
    std::fprintf(stderr, "svm_heap_dump: %s\n", runtime.status().ToString().c_str());
    return 1;
  }
  absl::Status status = Main(**runtime, inspection->has_value());
  if (!status.ok()) {
    std::fprintf(stderr, "svm_heap_dump: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
