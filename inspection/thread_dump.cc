#include "inspection/thread_dump.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "inspection/deadlocks.h"
#include "vm/internal/monitor_table.h"
#include "vm/monitor.h"

namespace kiln {
namespace {

// The phrase jstack puts after nid=.
absl::string_view Activity(ThreadStatus status) {
  switch (status) {
    case ThreadStatus::kSleeping: return "sleeping";
    case ThreadStatus::kWaiting:
    case ThreadStatus::kTimedWaiting: return "waiting on condition";
    case ThreadStatus::kBlocked: return "waiting for monitor entry";
    case ThreadStatus::kMonitorWait:
    case ThreadStatus::kTimedMonitorWait: return "in Object.wait()";
    case ThreadStatus::kNew:
    case ThreadStatus::kRunnable:
    case ThreadStatus::kNative:
    case ThreadStatus::kTerminated: return "runnable";
  }
  return "runnable";
}

// LockedObject: jstack's "<0x000000069ec19410> (a java.lang.Object)"; a
// class mirror is "(a java.lang.Class for Name)".
std::string LockedObject(const StoppedWorld& world, const Object* object) {
  const Class* cls = object->GetClass();
  std::string name = cls->name();
  if (cls == world.runtime().classes().class_class()) {
    for (const Class* c : world.runtime().classes().classes()) {
      if (c->mirror() == object) {
        name = absl::StrCat("java.lang.Class for ", c->name());
        break;
      }
    }
  }
  return absl::StrFormat("<0x%016x> (a %s)", reinterpret_cast<uintptr_t>(object), name);
}

// AppendStack: a thread's frames, each followed by its monitors as jstack
// lists them: what the frame waits on or to lock, then what it holds,
// innermost first.
void AppendStack(const StoppedWorld& world, const Thread& thread, std::string& out) {
  const ThreadMonitors monitors = MonitorsOf(world, thread);
  thread.ForEachFrame([&](const Frame& frame, int) {
    const Method* method = frame.method();
    const std::string& file = method->holder()->source_file();
    if (frame.line() == kNativeMethodLine) {
      absl::StrAppendFormat(&out, "\tat %s.%s(Native Method)\n", method->holder()->name(),
                            method->name());
    } else if (file.empty()) {
      absl::StrAppendFormat(&out, "\tat %s.%s(Unknown Source)\n", method->holder()->name(),
                            method->name());
    } else if (frame.line() > 0) {
      absl::StrAppendFormat(&out, "\tat %s.%s(%s:%d)\n", method->holder()->name(),
                            method->name(), file, frame.line());
    } else {
      absl::StrAppendFormat(&out, "\tat %s.%s(%s)\n", method->holder()->name(),
                            method->name(), file);
    }
    if (monitors.wait_frame == &frame) {
      absl::StrAppend(&out, monitors.relocking ? "\t- waiting to re-lock in wait() "
                                               : "\t- waiting on ",
                      LockedObject(world, monitors.waiting_on), "\n");
    } else if (monitors.blocked_frame == &frame) {
      absl::StrAppend(&out, "\t- waiting to lock ", LockedObject(world, monitors.blocked_on),
                      "\n");
    }
    for (auto it = monitors.held.rbegin(); it != monitors.held.rend(); ++it) {
      if (it->frame != &frame) continue;
      absl::StrAppend(&out, "\t- locked ", LockedObject(world, it->object), "\n");
    }
  });
}

// AppendDeadlocks: jstack's deadlock section, or nothing.
void AppendDeadlocks(const StoppedWorld& world, std::string& out) {
  const std::vector<std::vector<DeadlockEdge>> cycles = FindDeadlockCycles(world);
  if (cycles.empty()) return;
  for (const std::vector<DeadlockEdge>& cycle : cycles) {
    out += "\nFound one Java-level deadlock:\n=============================\n";
    for (const DeadlockEdge& edge : cycle) {
      absl::StrAppendFormat(
          &out,
          "\"%s\":\n  waiting to lock monitor 0x%016x (object 0x%016x, a %s),\n"
          "  which is held by \"%s\"\n\n",
          edge.thread->name(),
          reinterpret_cast<uintptr_t>(InflatedMonitor(world, edge.object)),
          reinterpret_cast<uintptr_t>(edge.object), edge.object->GetClass()->name(),
          edge.owner->name());
    }
    out += "Java stack information for the threads listed above:\n"
           "===================================================\n";
    for (const DeadlockEdge& edge : cycle) {
      absl::StrAppendFormat(&out, "\"%s\":\n", edge.thread->name());
      AppendStack(world, *edge.thread, out);
    }
  }
  if (cycles.size() == 1) {
    out += "\nFound 1 deadlock.\n";
  } else {
    absl::StrAppendFormat(&out, "\nFound %d deadlocks.\n", cycles.size());
  }
}

}  // namespace

std::string FormatThreadDump(const StoppedWorld& world) {
  std::string out = absl::StrFormat("Full thread dump Kiln (pid %d):\n\n", getpid());
  for (const Thread* thread : world.threads()) {
    absl::StrAppendFormat(&out,
                          "\"%s\" #%d%s prio=%d cpu=%.2fms elapsed=%.2fs tid=0x%016x nid=0x%x %s\n",
                          thread->name(), thread->tid(), thread->daemon() ? " daemon" : "",
                          thread->priority(), absl::ToDoubleMilliseconds(thread->cpu_time()),
                          absl::ToDoubleSeconds(thread->elapsed()),
                          reinterpret_cast<uintptr_t>(thread), thread->native_id(),
                          Activity(thread->status()));
    absl::StrAppendFormat(&out, "   java.lang.Thread.State: %s\n",
                          JavaThreadState(thread->status()));
    AppendStack(world, *thread, out);
    out += "\n";
  }
  AppendDeadlocks(world, out);
  return out;
}

absl::StatusOr<std::string> ThreadDump(Runtime& runtime) {
  std::string text;
  RETURN_IF_ERROR(runtime
                      .RunAtSafepoint("thread dump",
                                      [&](StoppedWorld& world) { text = FormatThreadDump(world); })
                      .status());
  return text;
}

}  // namespace kiln
