#include "inspection/internal/fork_dump.h"

#include <fcntl.h>
#include <pthread.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

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
// fills them, and the parent's waiting thread, which writes them to the file
// in order. Each slot's state is a futex word: kFree, kFull, or kEnd (no more
// data).
struct SharedRing {
  static constexpr int kSlots = 2;
  static constexpr size_t kSlotBytes = size_t{2} << 20;
  static constexpr uint32_t kFree = 0, kFull = 1, kEnd = 2;
  std::atomic<uint32_t> state[kSlots];
  uint64_t size[kSlots];
  std::atomic<int32_t> write_errno;  // the parent's failed write, or 0
  alignas(4096) uint8_t data[kSlots][kSlotBytes];
};
static_assert(std::atomic<uint32_t>::is_always_lock_free &&
              sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));

// Futex waits and wakes across processes (the words are in shared memory).
// FutexWait returns after a wake, a signal, or `timeout` if given.
void FutexWait(std::atomic<uint32_t>& word, uint32_t expected,
               const struct timespec* timeout = nullptr) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT, expected, timeout,
          nullptr, 0);
}
void FutexWake(std::atomic<uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE, INT_MAX, nullptr,
          nullptr, 0);
}

// RingSink: the child's FdSink redirects into it (FdSink::set_redirect). It
// lends the HprofWriter its next free slot to fill in place; Write (gzip's
// output, the bytes before the first lend) copies into it. A failed write of
// the parent's comes back as a Status with the code alone (no allocation).
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
      bytes.remove_prefix(n);
      Hand(n);
    }
    return absl::OkStatus();
  }
  uint64_t bytes_written() const override { return written_; }

  // The writer fills the next free slot in place (no copy), unless the
  // parent's write failed.
  absl::Span<uint8_t> LendBuffer(size_t min_bytes) override {
    if (min_bytes > SharedRing::kSlotBytes) return {};
    WaitWhileFull(ring_->state[next_]);
    if (ring_->write_errno.load(std::memory_order_acquire) != 0) return {};
    return absl::MakeSpan(ring_->data[next_], SharedRing::kSlotBytes);
  }
  absl::Status SubmitBuffer(size_t used) override {
    if (used > 0) Hand(used);
    if (const int error = ring_->write_errno.load(std::memory_order_acquire); error != 0) {
      return absl::Status(absl::ErrnoToStatusCode(error), "");
    }
    return absl::OkStatus();
  }

  // End: no more data; the parent stops reading once it wrote everything.
  void End() {
    std::atomic<uint32_t>& state = ring_->state[next_];
    WaitWhileFull(state);
    state.store(SharedRing::kEnd, std::memory_order_release);
    FutexWake(state);
  }

 private:
  // Hand: the next slot holds `size` bytes; the parent may write it.
  void Hand(size_t size) {
    std::atomic<uint32_t>& state = ring_->state[next_];
    ring_->size[next_] = size;
    state.store(SharedRing::kFull, std::memory_order_release);
    FutexWake(state);
    written_ += size;
    next_ = (next_ + 1) % SharedRing::kSlots;
  }

  static void WaitWhileFull(std::atomic<uint32_t>& state) {
    while (state.load(std::memory_order_acquire) == SharedRing::kFull) {
      FutexWait(state, SharedRing::kFull);
    }
  }

  SharedRing* const ring_;
  int next_ = 0;
  uint64_t written_ = 0;
};

// Exited: `pid` has exited or was killed (it is not reaped here). With
// SIGCHLD ignored the kernel reaps it at once, and waitid says ECHILD.
bool Exited(pid_t pid) {
  siginfo_t info;
  std::memset(&info, 0, sizeof(info));
  if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return errno == ECHILD;
  }
  return info.si_pid == pid;
}

// DrainRing: the parent's side. Writes the slots to `out` in order until the
// child's end mark, or until the child is gone (it looks every 100 ms while
// no slot is full). After a failed write it tells the child (the file's
// errno, or EIO for another sink's error) and goes on emptying slots without
// writing them, so that the child finishes. Returns `out`'s first error.
// `file` is the FdSink behind `out` whose errno to pass on when `out` is
// that FdSink itself; nullptr when `out` writes it from other threads.
absl::Status DrainRing(SharedRing* ring, ByteSink& out, const FdSink* file, pid_t child) {
  absl::Status status;
  constexpr struct timespec kPoll = {0, 100 * 1000 * 1000};
  for (int i = 0;; i = (i + 1) % SharedRing::kSlots) {
    std::atomic<uint32_t>& state = ring->state[i];
    uint32_t now;
    while ((now = state.load(std::memory_order_acquire)) == SharedRing::kFree) {
      FutexWait(state, SharedRing::kFree, &kPoll);
      if (state.load(std::memory_order_acquire) == SharedRing::kFree && Exited(child)) {
        return status;
      }
    }
    if (now == SharedRing::kEnd) return status;
    if (status.ok()) {
      status = out.Write(absl::MakeConstSpan(ring->data[i], ring->size[i]));
      if (!status.ok()) {
        ring->write_errno.store(file != nullptr && file->error() != 0 ? file->error() : EIO,
                                std::memory_order_release);
      }
    }
    state.store(SharedRing::kFree, std::memory_order_release);
    FutexWake(state);
  }
}

// Exit statuses of the child's own: reported OK, reported an error, the
// parent gone before the child asked to die with it, the report not written.
constexpr int kExitOk = 0, kExitError = 1, kExitOrphan = 2, kExitNoReport = 3;

[[noreturn]] void RunChild(HeapDumper& dumper, GzipSink* gzip, FdSink& file, pid_t parent,
                           int report_fd, int start_fd, SharedRing* ring, const sigset_t& mask,
                           void (*hook)()) {
  // Signals are blocked from before the fork until the parent's handlers
  // are gone: none of them (a host's may allocate) ever runs in the child.
  DropSignalHandlers();
  pthread_sigmask(SIG_SETMASK, &mask, nullptr);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(kExitOrphan);  // the parent died before the prctl
  // Until the parent has restarted the world (ReleaseForkDumpChild): its
  // byte, or end of file. A byte, because another fork of the parent's
  // (a host's worker that does not exec) could hold the parent's end open;
  // if the parent dies meanwhile, the death signal ends this process.
  char start;
  while (read(start_fd, &start, 1) < 0 && errno == EINTR) {
  }
  close(start_fd);
  file.set_allocation_free_errors();
  if (gzip != nullptr) gzip->set_allocation_free_errors();
  RingSink ring_sink(ring);
  if (ring != nullptr) file.set_redirect(&ring_sink);

  absl::Status status = dumper.WriteObjects();
  if (status.ok() && gzip != nullptr) status = gzip->Finish();
  if (ring != nullptr) ring_sink.End();

  ChildReport report;
  std::memset(&report, 0, sizeof(report));
  report.write_errno = file.error();  // its own writes (no ring) only
  report.error_offset = file.error_offset();
  const HeapDumpStats stats = dumper.stats();
  report.code = static_cast<int32_t>(status.code());
  report.objects = stats.objects;
  report.classes = stats.classes;
  report.roots = stats.roots;
  report.bytes = file.bytes_written();
  // The child's errors carry no message (building one allocates); a zlib
  // failure's fixed text goes into the report instead.
  absl::string_view message = status.message();
  if (message.empty() && !status.ok() && gzip != nullptr && gzip->failure() != nullptr) {
    message = gzip->failure();
  }
  if (!message.empty()) {  // an empty view's data() may be null
    std::memcpy(report.message, message.data(),
                std::min(message.size(), sizeof(report.message) - 1));
  }
  const char* p = reinterpret_cast<const char*>(&report);
  size_t left = sizeof(report);
  while (left > 0) {
    const ssize_t n = write(report_fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(kExitNoReport);
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (hook != nullptr) hook();
  _exit(status.ok() ? kExitOk : kExitError);
}

}  // namespace

absl::StatusOr<ForkDumpChild> StartForkDumpChild(HeapDumper& dumper, GzipSink* gzip,
                                                 FdSink& file, bool require_ring,
                                                 void (*child_hook)()) {
  // The ring between the child and the parent's waiting thread; without it
  // (mmap failed) the child writes the file itself.
  void* shared = mmap(nullptr, sizeof(SharedRing), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED && require_ring) return Errno("mapping the shared ring");
  int fds[2], start[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    absl::Status status = Errno("creating the report pipe");
    if (shared != MAP_FAILED) munmap(shared, sizeof(SharedRing));
    return status;
  }
  // A socket pair rather than a pipe: the release is a send with
  // MSG_NOSIGNAL, so a child already gone is EPIPE, not a SIGPIPE that
  // would end the host.
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, start) != 0) {
    absl::Status status = Errno("creating the start socket pair");
    if (shared != MAP_FAILED) munmap(shared, sizeof(SharedRing));
    close(fds[0]);
    close(fds[1]);
    return status;
  }
  SharedRing* ring = shared == MAP_FAILED ? nullptr : new (shared) SharedRing;
  const pid_t parent = getpid();
  sigset_t all, mask;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &mask);
  // The thread's CPU time beside the wall time: on a loaded machine fork()
  // gives up the core between page tables (cond_resched), and the
  // difference is the time it waited for it.
  timespec cpu_start, cpu_end;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_start);
  const absl::Time fork_start = absl::Now();
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    close(start[1]);
    RunChild(dumper, gzip, file, parent, fds[1], start[0], ring, mask, child_hook);
  }
  pthread_sigmask(SIG_SETMASK, &mask, nullptr);
  if (pid < 0) {
    absl::Status status = Errno("fork");
    if (ring != nullptr) munmap(shared, sizeof(SharedRing));
    for (int fd : {fds[0], fds[1], start[0], start[1]}) close(fd);
    return status;
  }
  const absl::Duration fork_call = absl::Now() - fork_start;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_end);
  close(fds[1]);
  close(start[0]);
  return ForkDumpChild{pid, fds[0], start[1], ring, fork_call,
                       absl::DurationFromTimespec(cpu_end) - absl::DurationFromTimespec(cpu_start)};
}

void ReleaseForkDumpChild(ForkDumpChild& child) {
  if (child.start_fd < 0) return;
  const char go = 1;
  // One byte into an empty socket: never blocks; EPIPE (the child gone) is
  // for the child's report, or its absence, to tell.
  while (send(child.start_fd, &go, 1, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
  close(child.start_fd);
  child.start_fd = -1;
}

absl::Status WaitForForkDumpChild(ForkDumpChild& child, FdSink& file,
                                  HeapDumpStats* stats, ByteSink* through) {
  ReleaseForkDumpChild(child);
  absl::Status drained;
  if (child.ring != nullptr) {
    auto* ring = static_cast<SharedRing*>(child.ring);
    drained = through != nullptr ? DrainRing(ring, *through, nullptr, child.pid)
                                 : DrainRing(ring, file, &file, child.pid);
    munmap(ring, sizeof(SharedRing));
  }
  // The report: it arrives when the file is complete, before the child's
  // address space is torn down.
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
  bool reaped = true;  // wstatus is the child's
  while (waitpid(child.pid, &wstatus, 0) < 0) {
    if (errno == EINTR) continue;
    // SIGCHLD set to SIG_IGN reaps the child for us: its report tells all.
    if (errno == ECHILD && got == sizeof(report)) {
      reaped = false;
      break;
    }
    return Errno(absl::StrCat("waiting for the child ", child.pid));
  }

  const std::string who = absl::StrCat("heap dump (fork mode): the child process ", child.pid,
                                       " writing ", file.what());
  // With `through`, its threads may still be writing `file`: its error
  // comes back through `drained` (or the caller's Finish).
  if (through == nullptr && file.error() != 0) {
    return file.ErrorStatus(file.error(), file.error_offset());
  }
  if (!drained.ok()) return drained;
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
  // After its report the child only leaves: an exit status other than the
  // one its report implies means something failed on the way out (an
  // allocation trap's exit, say), and the dump is not to be trusted.
  const auto code = static_cast<absl::StatusCode>(report.code);
  const int expected = code == absl::StatusCode::kOk ? kExitOk : kExitError;
  if (reaped && (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != expected)) {
    return absl::InternalError(absl::StrCat(who, " exited with status ",
                                            WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1,
                                            " after reporting ", absl::StatusCodeToString(code),
                                            " (expected ", expected, ")"));
  }
  if (stats != nullptr) {
    stats->objects = report.objects;
    stats->classes = report.classes;
    stats->roots = report.roots;
    stats->bytes = report.bytes;
  }
  if (code == absl::StatusCode::kOk) return absl::OkStatus();
  if (report.write_errno != 0) return file.ErrorStatus(report.write_errno, report.error_offset);
  report.message[sizeof(report.message) - 1] = '\0';
  return absl::Status(code, absl::StrCat(who, ": ", report.message));
}

}  // namespace kiln
