#include "inspection/fork_dump.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace kiln {
namespace {

// ChildReport: what the child tells the parent; smaller than PIPE_BUF, so one
// write delivers it whole without blocking.
struct ChildReport {
  int32_t code;          // absl::StatusCode
  int32_t write_errno;   // a failed write's errno, or 0
  uint64_t error_offset;  // where that write failed
  uint64_t objects;
  uint64_t classes;
  uint64_t roots;
  uint64_t bytes;        // bytes in the file
  char message[256];     // the Status message, truncated (often empty)
};
static_assert(sizeof(ChildReport) < PIPE_BUF);

absl::Status Errno(absl::string_view step) {
  const int error = errno;
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat("heap dump (fork mode): ", step, ": ", std::strerror(error)));
}

// DropSignalHandlers: the child runs no handler of the parent's (an
// inspection signal would otherwise reach the parent's dispatcher through
// the inherited self-pipe); signals get their default action. Async-signal
// safe, no allocation.
void DropSignalHandlers() {
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction old;
    if (sigaction(sig, nullptr, &old) != 0) continue;
    const bool handled = (old.sa_flags & SA_SIGINFO) != 0 ||
                         (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN);
    if (!handled) continue;
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, nullptr);
  }
}

[[noreturn]] void RunChild(HeapDumper& dumper, GzipSink* gzip, FdSink& file, pid_t parent,
                           int report_fd) {
  DropSignalHandlers();
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(2);  // the parent died before the prctl
  file.set_allocation_free_errors();

  absl::Status status = dumper.WriteObjects();
  if (status.ok() && gzip != nullptr) status = gzip->Finish();

  ChildReport report;
  std::memset(&report, 0, sizeof(report));
  const HeapDumpStats stats = dumper.stats();
  report.code = static_cast<int32_t>(status.code());
  report.write_errno = file.error();
  report.error_offset = file.error_offset();
  report.objects = stats.objects;
  report.classes = stats.classes;
  report.roots = stats.roots;
  report.bytes = file.bytes_written();
  const absl::string_view message = status.message();
  if (!message.empty()) {  // an empty view's data() may be null
    std::memcpy(report.message, message.data(),
                std::min(message.size(), sizeof(report.message) - 1));
  }
  const char* p = reinterpret_cast<const char*>(&report);
  size_t left = sizeof(report);
  while (left > 0) {
    const ssize_t n = write(report_fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(3);
    p += n;
    left -= static_cast<size_t>(n);
  }
  _exit(status.ok() ? 0 : 1);
}

}  // namespace

absl::StatusOr<ForkDumpChild> StartForkDumpChild(HeapDumper& dumper, GzipSink* gzip,
                                                 FdSink& file) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Errno("creating the report pipe");
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    absl::Status status = Errno("fork");
    close(fds[0]);
    close(fds[1]);
    return status;
  }
  if (pid == 0) {
    close(fds[0]);
    RunChild(dumper, gzip, file, parent, fds[1]);
  }
  close(fds[1]);
  return ForkDumpChild{pid, fds[0]};
}

absl::Status WaitForForkDumpChild(const ForkDumpChild& child, const FdSink& file,
                                  HeapDumpStats* stats) {
  // The report first: it arrives when the file is complete, before the
  // child's address space is torn down.
  ChildReport report;
  size_t got = 0;
  while (got < sizeof(report)) {
    const ssize_t n = read(child.report_fd, reinterpret_cast<char*>(&report) + got,
                           sizeof(report) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(child.report_fd);
  int wstatus = 0;
  while (waitpid(child.pid, &wstatus, 0) < 0) {
    if (errno != EINTR) return Errno(absl::StrCat("waiting for the child ", child.pid));
  }

  const std::string who = absl::StrCat("heap dump (fork mode): the child process ", child.pid,
                                       " writing ", file.what());
  if (WIFSIGNALED(wstatus)) {
    const int sig = WTERMSIG(wstatus);
    const char* abbrev = sigabbrev_np(sig);
    return absl::AbortedError(absl::StrCat(who, " was killed by signal ", sig, " (SIG",
                                           abbrev != nullptr ? abbrev : "?", ": ",
                                           strsignal(sig), "); no dump was written"));
  }
  if (got != sizeof(report)) {
    return absl::InternalError(absl::StrCat(who, " exited with status ",
                                            WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1,
                                            " without reporting"));
  }
  if (stats != nullptr) {
    stats->objects = report.objects;
    stats->classes = report.classes;
    stats->roots = report.roots;
    stats->bytes = report.bytes;
  }
  const auto code = static_cast<absl::StatusCode>(report.code);
  if (code == absl::StatusCode::kOk) return absl::OkStatus();
  if (report.write_errno != 0) return file.ErrorStatus(report.write_errno, report.error_offset);
  report.message[sizeof(report.message) - 1] = '\0';
  return absl::Status(code, absl::StrCat(who, ": ", report.message));
}

}  // namespace kiln
