#include "inspection/services/attach_client.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "inspection/services/attach_protocol.h"

namespace kiln::attach {
namespace {

bool Running(pid_t pid) { return kill(pid, 0) == 0 || errno == EPERM; }

absl::Status Error(absl::StatusCode code, pid_t pid, const std::string& socket,
                   absl::string_view what) {
  return absl::Status(code, absl::StrCat("pid ", pid, " (", socket, "): ", what));
}

// ReadFull reads exactly `size` bytes, waiting at most `idle` for each
// piece; false at EOF (errno 0), when the wait runs out (ETIMEDOUT) or on an
// error.
bool ReadFull(int fd, char* out, size_t size, absl::Duration idle) {
  const int timeout_ms =
      idle == absl::InfiniteDuration()
          ? -1
          : static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(idle), INT32_MAX));
  while (size > 0) {
    struct pollfd ready = {.fd = fd, .events = POLLIN, .revents = 0};
    const int polled = poll(&ready, 1, timeout_ms);
    if (polled < 0 && errno == EINTR) continue;
    if (polled < 0) return false;
    if (polled == 0) {
      errno = ETIMEDOUT;
      return false;
    }
    const ssize_t n = read(fd, out, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = 0;
      return false;
    }
    out += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool WriteFull(int fd, absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

absl::StatusOr<int> Connect(pid_t pid) {
  const std::string socket_path = SocketPath(pid);
  struct stat st;
  if (lstat(socket_path.c_str(), &st) != 0) {
    return Error(absl::StatusCode::kNotFound, pid, socket_path,
                 Running(pid) ? "no attach socket: not a Kiln process, or one without the "
                                "attach listener (or with another TMPDIR)"
                              : "no such process");
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Error(absl::StatusCode::kFailedPrecondition, pid, socket_path, "not a socket");
  }
  if (st.st_uid != geteuid() && geteuid() != 0) {
    return Error(absl::StatusCode::kPermissionDenied, pid, socket_path,
                 absl::StrCat("owned by uid ", st.st_uid, ", not by you (uid ", geteuid(), ")"));
  }
  if (!Running(pid)) {
    return Error(absl::StatusCode::kNotFound, pid, socket_path,
                 "stale socket: the process is gone");
  }
  struct sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path)) {
    return Error(absl::StatusCode::kInvalidArgument, pid, socket_path,
                 "too long for a Unix socket path");
  }
  std::strcpy(address.sun_path, socket_path.c_str());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Error(absl::StatusCode::kInternal, pid, socket_path,
                 absl::StrCat("socket: ", std::strerror(errno)));
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    const int error = errno;
    close(fd);
    return Error(absl::ErrnoToStatusCode(error), pid, socket_path,
                 error == ECONNREFUSED
                     ? "nobody listens (a stale socket of an earlier process with this pid?)"
                     : absl::StrCat("connecting: ", std::strerror(error)));
  }
  return fd;
}

std::vector<Target> ListTargets() {
  std::vector<Target> targets;
  const std::string dir = SocketDirectory();
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return targets;
  while (const dirent* entry = readdir(d)) {
    absl::string_view name = entry->d_name;
    int pid;
    if (!absl::ConsumePrefix(&name, ".kiln_pid") || !absl::SimpleAtoi(name, &pid) || pid <= 0 ||
        absl::StrCat(pid) != name) {
      continue;
    }
    absl::StatusOr<int> fd = Connect(pid);
    if (!fd.ok()) continue;
    close(*fd);  // a probe: the listener drops a client that sends nothing
    targets.push_back({pid, SocketPath(pid), CommandLine(pid)});
  }
  closedir(d);
  std::sort(targets.begin(), targets.end(),
            [](const Target& a, const Target& b) { return a.pid < b.pid; });
  return targets;
}

CallResult Call(pid_t pid, absl::string_view command, const std::vector<std::string>& arguments,
                const Handlers& handlers, const CallOptions& options) {
  CallResult result;
  absl::StatusOr<std::string> request = EncodeRequest(command, arguments);
  if (!request.ok()) {
    result.transport = request.status();
    return result;
  }
  absl::StatusOr<int> fd = Connect(pid);
  if (!fd.ok()) {
    result.transport = fd.status();
    return result;
  }
  const std::string socket_path = SocketPath(pid);
  auto broken = [&](absl::string_view what) {
    return Error(absl::StatusCode::kDataLoss, pid, socket_path, what);
  };
  // Why a read failed: the end of the stream (`at_end`), silence, or errno.
  auto unread = [&](absl::string_view at_end) {
    if (errno == ETIMEDOUT) {
      return Error(absl::StatusCode::kDeadlineExceeded, pid, socket_path,
                   absl::StrCat("no answer for ", absl::FormatDuration(options.idle_timeout),
                                " (is the process stopped or wedged?)"));
    }
    return broken(errno == 0 ? at_end : std::strerror(errno));
  };
  if (!WriteFull(*fd, *request)) {
    result.transport = broken(absl::StrCat("sending the request: ", std::strerror(errno)));
    close(*fd);
    return result;
  }
  std::unique_ptr<char[]> payload(new char[kMaxFrameBytes]);
  for (;;) {
    uint8_t header[kFrameHeaderBytes];
    if (!ReadFull(*fd, reinterpret_cast<char*>(header), sizeof(header), options.idle_timeout)) {
      result.transport = unread("the target closed the connection before the end");
      break;
    }
    absl::StatusOr<FrameHead> head = ParseFrameHeader(header);
    if (!head.ok()) {
      result.transport = broken(head.status().message());
      break;
    }
    if (!ReadFull(*fd, payload.get(), head->size, options.idle_timeout)) {
      result.transport = unread("the target closed the connection in a frame");
      break;
    }
    const absl::string_view bytes(payload.get(), head->size);
    if (head->type == FrameType::kEnd) {
      result.target = EndStatus(bytes);
      if (absl::IsDataLoss(result.target)) result.transport = broken(result.target.message());
      break;
    }
    const auto& handler = head->type == FrameType::kText ? handlers.text : handlers.data;
    absl::Status handled =
        handler ? handler(bytes) : broken(absl::StrCat("unexpected ", head->type == FrameType::kText
                                                                          ? "text"
                                                                          : "dump data"));
    if (!handled.ok()) {
      result.transport = handled;
      break;
    }
  }
  close(*fd);
  return result;
}

}  // namespace kiln::attach
