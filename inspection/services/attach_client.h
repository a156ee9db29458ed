// The client side of the attach protocol (attach_protocol.h, ATTACH.md):
// finding the Kiln processes one may attach to, and asking one a question.
// kiln-ctl is a thin command line over this.
//
//   for (const attach::Target& target : attach::ListTargets()) ...
//   absl::Status answer = attach::Call(pid, "Thread.print", {}, handlers);
#ifndef KILN_INSPECTION_SERVICES_ATTACH_CLIENT_H_
#define KILN_INSPECTION_SERVICES_ATTACH_CLIENT_H_

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/must_use.h"

namespace kiln::attach {

struct Target {
  pid_t pid;
  std::string socket;
  std::string command_line;  // /proc/<pid>/cmdline, spaces between the words
};

// ListTargets: the processes with a live attach socket in SocketDirectory()
// that this user may attach to (sockets it owns; root: all), by pid. A
// socket whose process is gone, or that nobody listens on (a dead process's,
// its pid reused), is skipped.
std::vector<Target> ListTargets();

// Connect: a socket connected to `pid`'s listener. The errors name the pid
// and the socket: none there, not a socket, owned by another user, a stale
// socket of a process that is gone, nobody listening.
KILN_MUST_USE absl::StatusOr<int> Connect(pid_t pid);

struct Handlers {
  // Each kText and kData payload as it arrives; an error ends the call.
  std::function<absl::Status(absl::string_view)> text;
  std::function<absl::Status(absl::string_view)> data;
};

// CallResult: how a call ended. `target` is what the target answered (OK,
// or its error); `transport` is OK unless the conversation itself failed
// (cannot connect, a broken stream, a handler's error), and then says why.
struct CallResult {
  absl::Status transport;
  absl::Status target;
};

struct CallOptions {
  // How long the target may stay silent before the call gives up
  // (DeadlineExceeded): a stopped or wedged target would otherwise hold the
  // caller forever. A file dump sends nothing until it is written, so this
  // bounds a whole GC.heap_dump to a file. Infinite: wait as long as it takes.
  absl::Duration idle_timeout = absl::InfiniteDuration();
};

// Call sends `command` with `arguments` to `pid` and hands the answer's
// frames to `handlers` until the end frame.
CallResult Call(pid_t pid, absl::string_view command, const std::vector<std::string>& arguments,
                const Handlers& handlers, const CallOptions& options = {});

}  // namespace kiln::attach

#endif  // KILN_INSPECTION_SERVICES_ATTACH_CLIENT_H_
