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
                         {"first", kiln::FieldType::kObject},
                         {"finished", kiln::FieldType::kBoolean}},
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

// The CountDownLatch(2): both threads hold their first monitor.
std::atomic<int> holding{0};
std::atomic<bool> first_attached{false};

// Run: First.run() or Second.run(), which take `outer`, then `inner`.
void Run(kiln::Runtime& runtime, const char* name, const char* cls, const char* outer,
         const char* inner) {
  kiln::ThreadScope scope(runtime, name, {.thread_class = runtime.FindClass(cls)});
  const kiln::Class* deadlock = runtime.FindClass("Deadlock");
  if (std::string(name) == "first") {
    deadlock->SetStaticRef(*deadlock->FindStaticField("first"), scope.thread().thread_object());
    first_attached.store(true);
  }
  kiln::Frame run(scope, *runtime.FindMethod(cls, "run", "()V"));
  KILN_LINE(run);
  kiln::Synchronized outer_lock(run, deadlock->GetStaticRef(*deadlock->FindStaticField(outer)));
  holding.fetch_add(1);
  while (holding.load() < 2) {
    run.Poll();
    std::this_thread::yield();
  }
  KILN_LINE(run);
  kiln::Synchronized inner_lock(run, deadlock->GetStaticRef(*deadlock->FindStaticField(inner)));
  KILN_CHECK(false, "the threads got through a deadlock");
}

absl::Status Main(kiln::Runtime& runtime) {
  kiln::ThreadScope main(runtime, "main");
  const kiln::Class* deadlock = runtime.FindClass("Deadlock");
  kiln::Frame frame(main, *runtime.FindMethod("Deadlock", "main", "([Ljava/lang/String;)V"));
  KILN_LINE(frame);
  const kiln::Class* object_class = runtime.FindClass("java.lang.Object");
  for (const char* field : {"left", "right"}) {
    ASSIGN_OR_RETURN(kiln::Local<kiln::Object> lock, kiln::Object::New(frame, object_class));
    deadlock->SetStaticRef(*deadlock->FindStaticField(field), lock.get());
  }
  // Like Thread.start, each start returns once the thread is attached, so
  // "first" comes before "second" in the thread list (and the dump).
  std::thread(Run, std::ref(runtime), "first", "Deadlock$First", "left", "right").detach();
  {
    kiln::ScopedNative starting(main, kiln::ThreadStatus::kNative);
    while (!first_attached.load()) std::this_thread::yield();
  }
  std::thread(Run, std::ref(runtime), "second", "Deadlock$Second", "right", "left").detach();
  std::printf("Deadlock: pid %d. Two threads are about to deadlock; see it with\n"
              "  kill -QUIT %d\n",
              getpid(), getpid());
  std::fflush(stdout);

  // first.join(): Thread.join waits on the thread object while it is alive.
  KILN_LINE(frame);
  kiln::Frame join(main, *runtime.FindMethod("java.lang.Thread", "join", "(J)V"));
  kiln::Local<kiln::Object> first =
      join.NewLocal(deadlock->GetStaticRef(*deadlock->FindStaticField("first")));
  kiln::Synchronized lock(join, first);
  while (!deadlock->GetStatic<bool>(*deadlock->FindStaticField("finished"))) {
    ASSIGN_OR_RETURN(kiln::WaitResult woken, kiln::Wait(join, first.get()));
    (void)woken;
  }
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
  absl::Status status = Main(**runtime);
  // Main returns only on an error: the deadlocked threads never let go.
  std::fprintf(stderr, "deadlock: %s\n", status.ToString().c_str());
  _exit(1);
}
