#include "inspection/fork_dump.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <new>

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

// SharedRing: buffers in memory shared (MAP_SHARED) by the child, which
// fills them, and its writer process, which writes them to the file in order.
// Each slot's state is a futex word: kFree, kFull, or kEnd (no more data).
struct SharedRing {
  static constexpr int kSlots = 2;
  static constexpr size_t kSlotBytes = size_t{2} << 20;
  static constexpr uint32_t kFree = 0, kFull = 1, kEnd = 2;
  std::atomic<uint32_t> state[kSlots];
  uint64_t size[kSlots];
  std::atomic<int32_t> write_errno;  // the writer's first failed write, or 0
  uint64_t error_offset;             // where it failed
  alignas(4096) uint8_t data[kSlots][kSlotBytes];
};
static_assert(std::atomic<uint32_t>::is_always_lock_free &&
              sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));

// Futex waits and wakes across processes (the words are in shared memory).
void FutexWait(std::atomic<uint32_t>& word, uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT, expected, nullptr,
          nullptr, 0);
}
void FutexWake(std::atomic<uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE, INT_MAX, nullptr,
          nullptr, 0);
}

// RingSink: the child's FdSink redirects into it (FdSink::set_redirect). Write
// copies into the next free slot and returns; a failed write of the writer
// process comes back as a Status with the code alone (no allocation).
class RingSink : public ByteSink {
 public:
  explicit RingSink(SharedRing* ring) : ring_(ring) {}
  absl::Status Write(absl::Span<const uint8_t> bytes) override {
    while (!bytes.empty()) {
      std::atomic<uint32_t>& state = ring_->state[next_];
      WaitWhileFull(state);
      if (const int error = ring_->write_errno.load(std::memory_order_acquire); error != 0) {
        return absl::Status(absl::ErrnoToStatusCode(error), "");
      }
      const size_t n = std::min(bytes.size(), SharedRing::kSlotBytes);
      std::memcpy(ring_->data[next_], bytes.data(), n);
      ring_->size[next_] = n;
      state.store(SharedRing::kFull, std::memory_order_release);
      FutexWake(state);
      bytes.remove_prefix(n);
      written_ += n;
      next_ = (next_ + 1) % SharedRing::kSlots;
    }
    return absl::OkStatus();
  }
  uint64_t bytes_written() const override { return written_; }

  // End: no more data; the writer process exits once it wrote everything.
  void End() {
    std::atomic<uint32_t>& state = ring_->state[next_];
    WaitWhileFull(state);
    state.store(SharedRing::kEnd, std::memory_order_release);
    FutexWake(state);
  }

 private:
  static void WaitWhileFull(std::atomic<uint32_t>& state) {
    while (state.load(std::memory_order_acquire) == SharedRing::kFull) {
      FutexWait(state, SharedRing::kFull);
    }
  }

  SharedRing* const ring_;
  int next_ = 0;
  uint64_t written_ = 0;
};

// RunWriter: the writer process. Writes the slots to `fd` in order until the
// end mark; after a failed write it records errno and offset and drops the
// rest (the child sees the error at its next Write).
[[noreturn]] void RunWriter(SharedRing* ring, int fd, uint64_t offset) {
  for (int i = 0;; i = (i + 1) % SharedRing::kSlots) {
    std::atomic<uint32_t>& state = ring->state[i];
    uint32_t now;
    while ((now = state.load(std::memory_order_acquire)) == SharedRing::kFree) {
      FutexWait(state, SharedRing::kFree);
    }
    if (now == SharedRing::kEnd) _exit(0);
    const uint8_t* p = ring->data[i];
    size_t left = ring->size[i];
    while (left > 0 && ring->write_errno.load(std::memory_order_relaxed) == 0) {
      const ssize_t n = write(fd, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ring->error_offset = offset;
        ring->write_errno.store(errno, std::memory_order_release);
        break;
      }
      p += n;
      left -= static_cast<size_t>(n);
      offset += static_cast<uint64_t>(n);
    }
    state.store(SharedRing::kFree, std::memory_order_release);
    FutexWake(state);
  }
}

// StartWriter forks the child's writer process (it writes while the child
// walks: each is about half of a dump's time) and redirects `file` into the
// ring. Returns its pid, or -1 if it could not start: then the child writes
// the file itself.
pid_t StartWriter(SharedRing* ring, RingSink& sink, FdSink& file, int report_fd) {
  if (ring == nullptr) return -1;
  const pid_t child = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    close(report_fd);  // the parent sees EOF when the child dies, not later
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != child) _exit(2);
    RunWriter(ring, file.fd(), file.bytes_written());
  }
  if (pid > 0) file.set_redirect(&sink);
  return pid;
}

[[noreturn]] void RunChild(HeapDumper& dumper, GzipSink* gzip, FdSink& file, pid_t parent,
                           int report_fd, SharedRing* ring) {
  DropSignalHandlers();
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(2);  // the parent died before the prctl
  file.set_allocation_free_errors();
  RingSink ring_sink(ring);
  const pid_t writer = StartWriter(ring, ring_sink, file, report_fd);

  absl::Status status = dumper.WriteObjects();
  if (status.ok() && gzip != nullptr) status = gzip->Finish();

  ChildReport report;
  std::memset(&report, 0, sizeof(report));
  report.write_errno = file.error();
  report.error_offset = file.error_offset();
  const char* note = nullptr;  // a static message: no allocation here
  if (writer > 0) {
    ring_sink.End();
    int wstatus = 0;
    while (waitpid(writer, &wstatus, 0) < 0 && errno == EINTR) {
    }
    if (const int error = ring->write_errno.load(std::memory_order_acquire); error != 0) {
      report.write_errno = error;
      report.error_offset = ring->error_offset;
      if (status.ok()) status = absl::Status(absl::ErrnoToStatusCode(error), "");
    } else if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
      if (status.ok()) {
        status = absl::InternalError("");
        note = "its writer process died";
      }
    }
  }
  const HeapDumpStats stats = dumper.stats();
  report.code = static_cast<int32_t>(status.code());
  report.objects = stats.objects;
  report.classes = stats.classes;
  report.roots = stats.roots;
  report.bytes = file.bytes_written();
  const absl::string_view message = note != nullptr ? note : status.message();
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
  // The ring for the child and its writer process; without it (mmap failed)
  // the child writes the file itself.
  void* shared = mmap(nullptr, sizeof(SharedRing), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  SharedRing* ring = shared == MAP_FAILED ? nullptr : new (shared) SharedRing;
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    RunChild(dumper, gzip, file, parent, fds[1], ring);
  }
  absl::Status status = pid < 0 ? Errno("fork") : absl::OkStatus();
  if (ring != nullptr) munmap(shared, sizeof(SharedRing));  // the child's alone
  if (!status.ok()) {
    close(fds[0]);
    close(fds[1]);
    return status;
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
