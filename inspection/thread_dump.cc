#include "inspection/thread_dump.h"

#include <unistd.h>

#include "absl/strings/str_format.h"
#include "base/status_macros.h"

namespace kiln {
namespace {

// The phrase jstack puts after nid=.
absl::string_view Activity(ThreadStatus status) {
  switch (status) {
    case ThreadStatus::kSleeping: return "sleeping";
    case ThreadStatus::kWaiting:
    case ThreadStatus::kTimedWaiting: return "waiting on condition";
    case ThreadStatus::kBlocked: return "waiting for monitor entry";
    case ThreadStatus::kNew:
    case ThreadStatus::kRunnable:
    case ThreadStatus::kNative:
    case ThreadStatus::kTerminated: return "runnable";
  }
  return "runnable";
}

}  // namespace

std::string FormatThreadDump(const StoppedWorld& world) {
  std::string out = absl::StrFormat("Full thread dump Kiln (pid %d):\n\n", getpid());
  for (const Thread* thread : world.threads()) {
    absl::StrAppendFormat(&out, "\"%s\" #%d%s prio=%d tid=%p nid=0x%x %s\n", thread->name(),
                          thread->tid(), thread->daemon() ? " daemon" : "", thread->priority(),
                          static_cast<const void*>(thread), thread->native_id(),
                          Activity(thread->status()));
    absl::StrAppendFormat(&out, "   java.lang.Thread.State: %s\n",
                          JavaThreadState(thread->status()));
    thread->ForEachFrame([&](const Frame& frame, int) {
      const Method* method = frame.method();
      const std::string& file = method->holder()->source_file();
      if (file.empty()) {
        absl::StrAppendFormat(&out, "\tat %s.%s(Unknown Source)\n", method->holder()->name(),
                              method->name());
      } else if (frame.line() > 0) {
        absl::StrAppendFormat(&out, "\tat %s.%s(%s:%d)\n", method->holder()->name(),
                              method->name(), file, frame.line());
      } else {
        absl::StrAppendFormat(&out, "\tat %s.%s(%s)\n", method->holder()->name(),
                              method->name(), file);
      }
    });
    out += "\n";
  }
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
