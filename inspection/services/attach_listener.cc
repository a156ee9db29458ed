#include "inspection/services/attach_listener.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/mutex.h"
#include "base/new_file.h"
#include "base/status_macros.h"
#include "inspection/services/attach_commands.h"
#include "inspection/services/attach_protocol.h"
#include "inspection/services/signal_dispatcher.h"
#include "inspection/vm_runtime.h"

namespace kiln {
namespace {

using attach::FrameType;

// The socket's name is the pid's: one listener per process.
std::atomic<bool> g_listening{false};

void Log(const std::string& line) { std::fprintf(stderr, "kiln attach: %s\n", line.c_str()); }

// SendAll sends `bytes` (MSG_NOSIGNAL: a gone client is EPIPE, not a
// SIGPIPE), bounded by the socket's SO_SNDTIMEO. Returns 0 or the errno.
int SendAll(int fd, const struct iovec* iov_in, int count) {
  struct iovec iov[2];
  std::memcpy(iov, iov_in, sizeof(iov[0]) * static_cast<size_t>(count));
  int first = 0;
  while (first < count) {
    struct msghdr msg = {};
    msg.msg_iov = iov + first;
    msg.msg_iovlen = static_cast<size_t>(count - first);
    const ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    size_t left = static_cast<size_t>(n);
    while (first < count && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (first < count) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return 0;
}

int SendFrame(int fd, FrameType type, const char* data, size_t size) {
  uint8_t header[attach::kFrameHeaderBytes];
  attach::FrameHeader(type, static_cast<uint32_t>(size), header);
  const struct iovec iov[2] = {{header, sizeof(header)}, {const_cast<char*>(data), size}};
  return SendAll(fd, iov, 2);
}

// SendText sends `text` in frames of at most kMaxFrameBytes.
int SendText(int fd, absl::string_view text) {
  while (!text.empty()) {
    const size_t n = std::min<size_t>(text.size(), attach::kMaxFrameBytes);
    if (const int error = SendFrame(fd, FrameType::kText, text.data(), n); error != 0) {
      return error;
    }
    text.remove_prefix(n);
  }
  return 0;
}

int SendEnd(int fd, const absl::Status& status) {
  const std::string frame = attach::EndFrame(status);
  const struct iovec iov[1] = {{const_cast<char*>(frame.data()), frame.size()}};
  return SendAll(fd, iov, 1);
}

// StreamRelay: a streamed dump's bytes go from the dump (VMRuntime::
// DumpHeapToFd, writing a pipe) to the client, in kData frames, on a thread
// of its own. When the client goes away the dump is ended early:
// - stop-the-world: the relay closes its end of the pipe, and the dump's next
//   write (on PipelinedSink's thread, which blocks SIGPIPE as its creator
//   does; the VM thread only fills buffers) fails with EPIPE;
// - fork mode: the child, which holds copies of both ends of the pipe (so
//   closing ours would not end anything), is killed; the relay empties the
//   pipe until its end, so that nothing blocks on it.
class StreamRelay {
 public:
  StreamRelay(int read_fd, int client_fd, bool fork)
      : read_fd_(read_fd), client_fd_(client_fd), fork_(fork) {
    thread_ = std::thread([this] { Run(); });
  }
  ~StreamRelay() { Join(); }

  // SetChild: the fork-mode child writing the dump (on_fork_child).
  void SetChild(pid_t child) {
    MutexLock lock(&mu_);
    child_ = child;
    if (gone_) kill(child_, SIGKILL);
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  // After Join: the client's errno (0: every byte was sent) and what it got.
  int error() const { return error_; }
  uint64_t sent() const { return sent_; }

 private:
  void Run() {
    std::unique_ptr<char[]> buffer(new char[attach::kMaxFrameBytes]);
    for (;;) {
      const ssize_t n = read(read_fd_, buffer.get(), attach::kMaxFrameBytes);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (error_ != 0) continue;  // fork mode: emptying the pipe
      error_ = SendFrame(client_fd_, FrameType::kData, buffer.get(), static_cast<size_t>(n));
      if (error_ == 0) {
        sent_ += static_cast<uint64_t>(n);
        continue;
      }
      if (!fork_) break;
      MutexLock lock(&mu_);
      gone_ = true;
      // Not reaped before the dump returns, so the pid is still the child's.
      if (child_ > 0) kill(child_, SIGKILL);
    }
    close(read_fd_);
  }

  const int read_fd_;
  const int client_fd_;
  const bool fork_;
  int error_ = 0;
  uint64_t sent_ = 0;
  Mutex mu_;
  pid_t child_ ABSL_GUARDED_BY(mu_) = -1;
  bool gone_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

class AttachService : public RuntimeService {
 public:
  AttachService(Runtime& runtime, AttachOptions options)
      : runtime_(runtime), options_(options) {
    context_.extra_properties = options_.extra_properties;
  }

  ~AttachService() override {
    if (wake_fd_ >= 0) {
      const uint64_t one = 1;
      [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
    }
    for (std::thread& worker : workers_) worker.join();
    if (listen_fd_ >= 0) {
      // Only our socket: not a file someone put under the name since.
      struct stat st;
      if (lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
        unlink(path_.c_str());
      }
      close(listen_fd_);
    }
    if (wake_fd_ >= 0) close(wake_fd_);
    if (owns_name_) g_listening.store(false);
  }

  absl::Status Start() {
    if (options_.max_connections < 1) {
      return absl::InvalidArgumentError("attach listener: max_connections must be at least 1");
    }
    path_ = attach::SocketPath(getpid());
    if (g_listening.exchange(true)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "attach listener: another runtime in this process already listens on ", path_));
    }
    owns_name_ = true;
    RETURN_IF_ERROR(Bind());
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) return ErrnoError(errno, "attach listener", "creating", "its eventfd");
    for (int i = 0; i < options_.max_connections; ++i) {
      workers_.emplace_back([this] { Work(); });
    }
    return absl::OkStatus();
  }

 private:
  // Bind creates the socket owner-only, with no moment at which the name
  // exists with another mode or without a listener behind it:
  // - it is bound in a new directory of its own (mkdtemp: mode 0700, so no
  //   one else can reach what is inside, whatever its mode);
  // - the socket's inode is made 0600 before bind (Linux gives the new file
  //   the socket's mode, less the umask), and the file is chmod-ed to 0600
  //   after, inside that directory, in case either was not so;
  // - it listens, and only then is renamed to its public name, atomically,
  //   replacing what a dead process with this pid left there (in a sticky
  //   /tmp another user's file cannot be replaced: an error);
  // - the directory is removed.
  // Not umask(2): it is process-wide, and other threads create files.
  absl::Status Bind() {
    const std::string dir = attach::SocketDirectory();
    std::string private_dir = absl::StrCat(dir, "/.kiln_pid", getpid(), ".XXXXXX");
    struct sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    // The bound name, private_dir + "/s", is the longer.
    if (private_dir.size() + 2 >= sizeof(address.sun_path)) {
      return absl::InvalidArgumentError(
          absl::StrCat("attach listener: the socket path ", path_,
                       " is too long for a Unix socket (", sizeof(address.sun_path) - 1,
                       " bytes with the temporary name beside it); set TMPDIR to a shorter "
                       "directory"));
    }
    if (mkdtemp(private_dir.data()) == nullptr) {
      return ErrnoError(errno, "attach listener", "creating a directory in", dir);
    }
    const std::string temporary = private_dir + "/s";
    std::strcpy(address.sun_path, temporary.c_str());
    absl::Status status;
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd_ < 0) {
      status = ErrnoError(errno, "attach listener", "creating the socket for", path_);
    } else if (fchmod(listen_fd_, 0600) != 0) {
      status = ErrnoError(errno, "attach listener", "setting the mode of the socket for", path_);
    } else if (bind(listen_fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) !=
               0) {
      status = ErrnoError(errno, "attach listener", "binding", temporary);
    } else if (chmod(temporary.c_str(), 0600) != 0) {
      status = ErrnoError(errno, "attach listener", "setting the mode of", temporary);
    } else if (listen(listen_fd_, 64) != 0) {
      status = ErrnoError(errno, "attach listener", "listening on", temporary);
    } else if (rename(temporary.c_str(), path_.c_str()) != 0) {
      status = ErrnoError(errno, "attach listener", "renaming the socket to", path_);
    }
    struct stat st;
    if (status.ok() && lstat(path_.c_str(), &st) == 0) {
      dev_ = st.st_dev;
      ino_ = st.st_ino;
    }
    unlink(temporary.c_str());  // after a failure; gone after the rename
    rmdir(private_dir.c_str());
    if (!status.ok() && listen_fd_ >= 0) {
      close(listen_fd_);
      listen_fd_ = -1;
    }
    return status;
  }

  void Work() {
    // Answers go to sockets that may close, and so may a stream's pipe
    // (written by a thread this one starts, PipelinedSink's).
    BlockSigpipe();
    for (;;) {
      struct pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) continue;  // EINTR
      if (fds[1].revents != 0) return;
      const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;  // another worker took it, or the client left
      Serve(client);
      close(client);
    }
  }

  void Serve(int client) {
    struct ucred peer = {};
    socklen_t size = sizeof(peer);
    if (getsockopt(client, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0) return;
    const struct timeval timeout = absl::ToTimeval(options_.client_timeout);
    setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    const uid_t self = geteuid();
    if (peer.uid != self && peer.uid != 0) {
      Refuse(client, peer, self);
      return;
    }
    std::string line;
    absl::Status read = ReadRequest(client, line);
    if (absl::IsCancelled(read)) return;  // shutting down, or a silent probe
    absl::StatusOr<attach::Request> request =
        read.ok() ? attach::ParseRequest(line) : absl::StatusOr<attach::Request>(read);
    if (!request.ok()) {
      SendEnd(client, request.status());
      return;
    }
    if (request->command == "GC.heap_dump") {
      MutexLock one_dump_at_a_time(&dump_mu_);
      absl::StatusOr<attach::HeapDumpRequest> dump =
          attach::ParseHeapDumpArguments(request->arguments);
      if (dump.ok() && dump->path == "-") {
        Stream(client, *dump, peer.pid);
        return;
      }
      Answer(client, attach::RunCommand(runtime_, *request, context_));
      return;
    }
    Answer(client, attach::RunCommand(runtime_, *request, context_));
  }

  void Answer(int client, const absl::StatusOr<std::string>& answer) {
    if (answer.ok() && SendText(client, *answer) != 0) return;
    SendEnd(client, answer.status());
  }

  void Refuse(int client, const struct ucred& peer, uid_t self) {
    bool first;
    {
      MutexLock lock(&mu_);
      first = refused_.size() < 1024 && refused_.insert(peer.uid).second;
    }
    if (first) {
      Log(absl::StrCat("refused a client with uid ", peer.uid, " (pid ", peer.pid,
                       "): only uid ", self, " and root may attach; further refusals of uid ",
                       peer.uid, " are not logged"));
    }
    SendEnd(client, absl::PermissionDeniedError(absl::StrCat(
                        "permission denied: uid ", peer.uid, " may not attach to pid ",
                        getpid(), " (uid ", self, ")")));
  }

  // ReadRequest reads one request line (without its newline) within the
  // client timeout. Cancelled: nothing to answer (shutdown, or a client that
  // closed without a byte, as kiln-ctl -l's probes do).
  absl::Status ReadRequest(int client, std::string& line) {
    char buffer[attach::kMaxRequestBytes];
    size_t got = 0;
    const absl::Time deadline = absl::Now() + options_.client_timeout;
    for (;;) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) {
        return absl::DeadlineExceededError(absl::StrCat(
            "no complete request within ", absl::FormatDuration(options_.client_timeout)));
      }
      struct pollfd fds[2] = {{client, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      const int ready = poll(fds, 2, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
      if (ready < 0) continue;  // EINTR
      if (fds[1].revents != 0) return absl::CancelledError("shutting down");
      if (ready == 0) continue;
      const ssize_t n = recv(client, buffer + got, sizeof(buffer) - got, MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return absl::CancelledError("the client went away");
      }
      if (n == 0) {
        if (got == 0) return absl::CancelledError("the client sent nothing");
        return absl::InvalidArgumentError(
            absl::StrCat("truncated request: ", got, " bytes and no newline"));
      }
      const char* newline = static_cast<const char*>(std::memchr(buffer + got, '\n', n));
      got += static_cast<size_t>(n);
      if (newline != nullptr) {
        line.assign(buffer, static_cast<size_t>(newline - buffer));
        return absl::OkStatus();
      }
      if (got == sizeof(buffer)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "request longer than ", attach::kMaxRequestBytes, " bytes (the limit)"));
      }
    }
  }

  // Stream: GC.heap_dump -, the dump's bytes to the client as they are
  // written (VMRuntime::DumpHeapToFd into a pipe, relayed in kData frames).
  void Stream(int client, const attach::HeapDumpRequest& request, pid_t peer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(dump_mu_) {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
      SendEnd(client, ErrnoError(errno, "GC.heap_dump -", "creating", "a pipe"));
      return;
    }
    fcntl(pipe_fds[1], F_SETPIPE_SZ, 1 << 20);  // fewer, larger frames; best effort
    HeapDumpOptions options;
    options.live = request.live;
    options.gzip_level = request.gzip_level;
    options.mode = request.fork ? DumpMode::kFork : DumpMode::kStopTheWorld;
    options.extra_properties = options_.extra_properties;
    StreamRelay relay(pipe_fds[0], client, request.fork);
    options.on_fork_child = [&relay](pid_t child) { relay.SetChild(child); };
    HeapDumpStats stats;
    const absl::Status status =
        VMRuntime::DumpHeapToFd(runtime_, pipe_fds[1], "the attach stream", options, &stats);
    close(pipe_fds[1]);
    relay.Join();
    if (relay.error() != 0) {
      Log(absl::StrCat("GC.heap_dump - to pid ", peer, ": the client stopped reading after ",
                       relay.sent(), " bytes (", std::strerror(relay.error()),
                       "); the dump was abandoned, nothing was kept"));
      return;
    }
    SendEnd(client, status);
  }

  Runtime& runtime_;
  const AttachOptions options_;
  attach::CommandContext context_;
  std::string path_;
  bool owns_name_ = false;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // readable once the service stops
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::vector<std::thread> workers_;
  Mutex dump_mu_;  // one dump at a time
  Mutex mu_;
  std::set<uid_t> refused_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

RuntimeServiceFactory AttachListener(AttachOptions options) {
  return [options](Runtime& runtime) -> absl::StatusOr<std::unique_ptr<RuntimeService>> {
    auto service = std::make_unique<AttachService>(runtime, options);
    RETURN_IF_ERROR(service->Start());
    return service;
  };
}

}  // namespace kiln
