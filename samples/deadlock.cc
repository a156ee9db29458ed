// deadlock: two threads take two monitors in opposite orders and deadlock,
// and the main thread joins the first one forever; the thread dump shows the
// deadlock the way jstack shows it for the same Java program:
//
//   public class Deadlock {
//     static final Object left = new Object(), right = new Object();
//     static final CountDownLatch both = new CountDownLatch(2);
//     static class First extends Thread {
//       public void run() { synchronized (left) { both.countDown(); await(); synchronized (right) {} } }
//     }
//     static class Second extends Thread {   // the same with right, then left
//     }
//     public static void main(String[] args) throws Exception {
//       First first = new First(); first.setName("first"); first.start();
//       ... second likewise ...
//       first.join();
//     }
//   }
//
// It prints its pid and the command to run:
//
//   kill -QUIT <pid>    prints every thread, then "Found one Java-level deadlock:"
//
// and never ends by itself (stop it with Ctrl-C). tests/deadlock_jstack_test
// compares its dump with jstack's on that Java program.
#include <stdio.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "inspection/services/inspection_signals.h"
#include "vm/kiln.h"

namespace {

std::vector<kiln::ClassSpec> Classes() {
  return {
      {.name = "Deadlock",
       .source_file = "deadlock.cc",
       .static_fields = {{"left", kiln::FieldType::kObject},
                         {"right", kiln::FieldType::kObject},
                         {"first", kiln::FieldType::kObject}},
       .methods = {{"main", "([Ljava/lang/String;)V"}}},
      {.name = "Deadlock$First",
       .super_name = "java.lang.Thread",
       .source_file = "deadlock.cc",
       .methods = {{"run", "()V"}}},
      {.name = "Deadlock$Second",
       .super_name = "java.lang.Thread",
       .source_file = "deadlock.cc",
       .methods = {{"run", "()V"}}},
  };
}

// What the program uses of its classes, resolved once.
struct DeadlockApi {
  const kiln::Class* deadlock = nullptr;
  kiln::StaticFieldRef<kiln::Object*> left;
  kiln::StaticFieldRef<kiln::Object*> right;
  kiln::StaticFieldRef<kiln::Object*> first;
  const kiln::Method* main = nullptr;
  const kiln::Class* first_class = nullptr;
  const kiln::Method* first_run = nullptr;
  const kiln::Class* second_class = nullptr;
  const kiln::Method* second_run = nullptr;
  const kiln::Method* join = nullptr;  // java.lang.Thread.join(J)V
};

absl::StatusOr<DeadlockApi> ResolveDeadlockApi(const kiln::Runtime& runtime) {
  kiln::Resolver resolver(runtime);
  DeadlockApi api;
  api.deadlock = resolver.Class("Deadlock");
  api.left = resolver.StaticField<kiln::Object*>(api.deadlock, "left");
  api.right = resolver.StaticField<kiln::Object*>(api.deadlock, "right");
  api.first = resolver.StaticField<kiln::Object*>(api.deadlock, "first");
  api.main = resolver.Method(api.deadlock, "main", "([Ljava/lang/String;)V");
  api.first_class = resolver.Class("Deadlock$First");
  api.first_run = resolver.Method(api.first_class, "run", "()V");
  api.second_class = resolver.Class("Deadlock$Second");
  api.second_run = resolver.Method(api.second_class, "run", "()V");
  api.join = resolver.Method(resolver.Class("java.lang.Thread"), "join", "(J)V");
  RETURN_IF_ERROR(resolver.status());
  return api;
}

// The CountDownLatch(2): both threads hold their first monitor.
std::atomic<int> holding{0};
std::atomic<bool> first_attached{false};

// Run: First.run() or Second.run() (`run`, on a thread of `thread_class`),
// which take `outer`, then `inner`.
void Run(kiln::Runtime& runtime, const DeadlockApi& api, const char* name,
         const kiln::Class* thread_class, const kiln::Method* run_method,
         const kiln::StaticFieldRef<kiln::Object*>& outer,
         const kiln::StaticFieldRef<kiln::Object*>& inner) {
  kiln::ThreadScope scope(runtime, name, {.thread_class = thread_class});
  if (thread_class == api.first_class) {
    api.first.Set(scope.thread().thread_object());
    first_attached.store(true);
  }
  kiln::Frame run(scope, run_method);
  KILN_LINE(run);
  kiln::Synchronized outer_lock(run, outer.Get());
  holding.fetch_add(1);
  while (holding.load() < 2) {
    run.Poll();
    std::this_thread::yield();
  }
  KILN_LINE(run);
  kiln::Synchronized inner_lock(run, inner.Get());
  KILN_CHECK(false, "the threads got through a deadlock");
}

// Main returns only on an error. `api` outlives the threads it starts, as
// `runtime` does (both are main()'s).
absl::Status Main(kiln::Runtime& runtime, const DeadlockApi& api) {
  ASSIGN_OR_RETURN(kiln::ThreadScope main, kiln::ThreadScope::Attach(runtime, "main"));
  kiln::Frame frame(main, api.main);
  KILN_LINE(frame);
  const kiln::Class* object_class = runtime.classes().object_class();
  for (const kiln::StaticFieldRef<kiln::Object*>* field : {&api.left, &api.right}) {
    ASSIGN_OR_RETURN(kiln::Local<kiln::Object> lock, kiln::Object::New(frame, object_class));
    field->Set(lock.get());
  }
  // Like Thread.start, each start returns once the thread is attached, so
  // "first" comes before "second" in the thread list (and the dump).
  std::thread(Run, std::ref(runtime), std::cref(api), "first", api.first_class, api.first_run,
              std::cref(api.left), std::cref(api.right))
      .detach();
  {
    kiln::ScopedNative starting(main, kiln::ThreadStatus::kNative);
    while (!first_attached.load()) std::this_thread::yield();
  }
  std::thread(Run, std::ref(runtime), std::cref(api), "second", api.second_class, api.second_run,
              std::cref(api.right), std::cref(api.left))
      .detach();
  std::printf("Deadlock: pid %d. Two threads are about to deadlock; see it with\n"
              "  kill -QUIT %d\n",
              getpid(), getpid());
  std::fflush(stdout);

  // first.join(): Thread.join waits on the thread object while it is alive.
  KILN_LINE(frame);
  kiln::Frame join(main, api.join);
  kiln::Local<kiln::Object> first = join.NewLocal(api.first.Get());
  RETURN_IF_ERROR(kiln::Join(join, first.get()));
  return absl::OkStatus();
}

}  // namespace

int main() {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  kiln::RuntimeOptions options;
  options.classes = Classes();
  kiln::InspectionOptions inspection;
  options.services.push_back(kiln::InspectionSignals(inspection));
  absl::StatusOr<std::unique_ptr<kiln::Runtime>> runtime =
      kiln::Runtime::Create(std::move(options));
  if (!runtime.ok()) {
    std::fprintf(stderr, "deadlock: %s\n", runtime.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<DeadlockApi> api = ResolveDeadlockApi(**runtime);
  absl::Status status = api.ok() ? Main(**runtime, *api) : api.status();
  // Main returns only on an error: the deadlocked threads never let go.
  std::fprintf(stderr, "deadlock: %s\n", status.ToString().c_str());
  _exit(1);
}
