// Signal dispatch: the process's inspection signal handlers, the one
// process-wide piece of inspection (signal dispositions are process-global in
// POSIX; runtimes are not).
//
//   ASSIGN_OR_RETURN(std::unique_ptr<SignalAction> action,
//                    SignalAction::Install(SIGUSR1, "heap dump", [&] { ... }));
//   // ... until `action` is destroyed, every SIGUSR1 runs the lambda once,
//   // on the dispatcher thread.
//
// Protocol (ARCHITECTURE.md, "Signals and the attach listener"):
// - The handler only records the signal: it sets the signal's pending flag
//   and, if the flag was clear, writes the signal number as one byte to a
//   self-pipe. Both are async-signal-safe; the handler saves and restores
//   errno and never blocks (the pipe's write end is non-blocking, and at most
//   one byte per signal is ever in it).
// - One dispatcher thread (native, not attached to any runtime) reads the
//   pipe, clears the pending flag and then runs the action. A signal that
//   arrives while its action runs sets the flag again and causes exactly one
//   more run afterwards: bursts are coalesced, never lost, never concurrent.
// - Actions run one at a time. Destroying a SignalAction restores the
//   disposition that was there before Install and waits for a run in
//   progress; after it returns the action never runs again.
// - The dispatcher thread exists only while some action is installed. The
//   self-pipe is created once and never closed, so a handler that runs late,
//   on another thread, can never write to a reused descriptor.
// - A signal number has at most one action in the process: a second Install
//   (from another runtime, say) is AlreadyExists, naming the first.
#ifndef KILN_INSPECTION_SERVICES_SIGNAL_DISPATCHER_H_
#define KILN_INSPECTION_SERVICES_SIGNAL_DISPATCHER_H_

#include <signal.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "base/must_use.h"

namespace kiln {

class SignalAction {
 public:
  // Install makes `signo` run `action` on the dispatcher thread. `name` says
  // what the action is, for errors. InvalidArgument for signals that cannot
  // or must not be caught (SIGKILL, SIGSTOP, the synchronous fault signals),
  // AlreadyExists if the signal already has an action.
  KILN_MUST_USE static absl::StatusOr<std::unique_ptr<SignalAction>> Install(
      int signo, std::string name, std::function<void()> action);
  ~SignalAction();

  SignalAction(const SignalAction&) = delete;
  SignalAction& operator=(const SignalAction&) = delete;

  int signo() const { return signo_; }

 private:
  explicit SignalAction(int signo) : signo_(signo) {}
  const int signo_;
};

// BlockSigpipe blocks SIGPIPE on the calling thread (and so on the threads
// it starts later): a write to a closed pipe or socket there fails with
// EPIPE instead of killing the process. For threads that write where the
// reader may be gone (a signal action's output, an attach client).
void BlockSigpipe();

// SignalName: "SIGUSR1" for SIGUSR1, "signal 40" for a number without a name.
std::string SignalName(int signo);

}  // namespace kiln

#endif  // KILN_INSPECTION_SERVICES_SIGNAL_DISPATCHER_H_
