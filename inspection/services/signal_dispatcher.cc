#include "inspection/services/signal_dispatcher.h"

#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/mutex.h"

namespace kiln {
namespace {

// Written by the handler, read by the dispatcher. Plain arrays of lock-free
// atomics: the only state a handler may touch.
std::array<std::atomic<bool>, NSIG> g_pending;
std::atomic<int> g_wake_fd{-1};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free);

void HandleSignal(int signo) {
  const int saved_errno = errno;
  if (signo > 0 && signo < NSIG && !g_pending[signo].exchange(true)) {
    const unsigned char byte = static_cast<unsigned char>(signo);
    // EAGAIN cannot happen (one byte per signal at most); nothing else to do
    // about an error here.
    [[maybe_unused]] ssize_t n = write(g_wake_fd.load(std::memory_order_relaxed), &byte, 1);
  }
  errno = saved_errno;
}

// Byte 0 on the pipe: the dispatcher thread should look at stop_.
constexpr unsigned char kWakeToStop = 0;

class Dispatcher {
 public:
  static Dispatcher& Get() {
    static Dispatcher* const dispatcher = new Dispatcher();  // never destroyed
    return *dispatcher;
  }

  absl::Status Install(int signo, std::string name, std::function<void()> action) {
    MutexLock lifecycle(&lifecycle_mu_);
    {
      MutexLock lock(&mu_);
      if (entries_[signo] != nullptr) {
        return absl::AlreadyExistsError(absl::StrCat(SignalName(signo), " already runs \"",
                                                     entries_[signo]->name, "\""));
      }
    }
    if (installed_ == 0) {
      stop_.store(false);
      thread_ = std::thread([this] { Loop(); });
    }
    auto entry = std::make_unique<Entry>();
    entry->name = std::move(name);
    entry->action = std::move(action);
    g_pending[signo].store(false);
    struct sigaction handler = {};
    handler.sa_handler = HandleSignal;
    sigemptyset(&handler.sa_mask);
    handler.sa_flags = SA_RESTART;
    // Publish the entry before the handler can fire.
    Entry* published = entry.get();
    {
      MutexLock lock(&mu_);
      entries_[signo] = std::move(entry);
    }
    if (sigaction(signo, &handler, &published->previous) != 0) {
      const int error = errno;
      {
        MutexLock lock(&mu_);
        entries_[signo].reset();
      }
      if (installed_ == 0) StopThread();
      return absl::Status(absl::ErrnoToStatusCode(error),
                          absl::StrCat("installing the ", SignalName(signo),
                                       " handler: ", strerror(error)));
    }
    ++installed_;
    return absl::OkStatus();
  }

  void Uninstall(int signo) {
    MutexLock lifecycle(&lifecycle_mu_);
    std::unique_ptr<Entry> entry;
    {
      MutexLock lock(&mu_);
      entry = std::move(entries_[signo]);
    }
    KILN_CHECK(entry != nullptr, SignalName(signo), " has no action to uninstall");
    KILN_CHECK(sigaction(signo, &entry->previous, nullptr) == 0, "restoring ",
               SignalName(signo), ": ", strerror(errno));
    // A run in progress finishes before the entry dies; later ones find none.
    { MutexLock barrier(&run_mu_); }
    g_pending[signo].store(false);
    if (--installed_ == 0) StopThread();
  }

 private:
  struct Entry {
    std::string name;
    std::function<void()> action;
    struct sigaction previous = {};
  };

  Dispatcher() {
    int fds[2];
    KILN_CHECK(pipe2(fds, O_CLOEXEC) == 0, "signal dispatcher pipe: ", strerror(errno));
    const int flags = fcntl(fds[1], F_GETFL);
    KILN_CHECK(flags >= 0 && fcntl(fds[1], F_SETFL, flags | O_NONBLOCK) == 0,
               "signal dispatcher pipe: ", strerror(errno));
    read_fd_ = fds[0];
    g_wake_fd.store(fds[1]);
  }

  void StopThread() ABSL_EXCLUSIVE_LOCKS_REQUIRED(lifecycle_mu_) {
    stop_.store(true);
    const unsigned char byte = kWakeToStop;
    ssize_t n;
    do {
      n = write(g_wake_fd.load(), &byte, 1);
    } while (n < 0 && errno == EINTR);
    KILN_CHECK(n == 1, "waking the signal dispatcher: ", strerror(errno));
    thread_.join();
  }

  void Loop() {
    // Actions write to the output, which may be a closed pipe.
    BlockSigpipe();
    for (;;) {
      unsigned char byte;
      const ssize_t n = read(read_fd_, &byte, 1);
      if (n < 0 && errno == EINTR) continue;
      KILN_CHECK(n == 1, "signal dispatcher pipe: ", n == 0 ? "closed" : strerror(errno));
      if (byte == kWakeToStop) {
        if (stop_.load()) return;
        continue;
      }
      const int signo = byte;
      // Clear first: a signal from now on means one more run.
      g_pending[signo].store(false);
      MutexLock run(&run_mu_);
      std::function<void()>* action = nullptr;
      {
        MutexLock lock(&mu_);
        if (entries_[signo] != nullptr) action = &entries_[signo]->action;
      }
      // Uninstall cannot free the entry while run_mu_ is held.
      if (action != nullptr) (*action)();
    }
  }

  int read_fd_ = -1;
  Mutex lifecycle_mu_;  // Install and Uninstall, one at a time
  int installed_ ABSL_GUARDED_BY(lifecycle_mu_) = 0;
  std::thread thread_ ABSL_GUARDED_BY(lifecycle_mu_);
  std::atomic<bool> stop_{false};
  Mutex run_mu_;  // held while an action runs
  Mutex mu_;      // entries_
  std::array<std::unique_ptr<Entry>, NSIG> entries_ ABSL_GUARDED_BY(mu_);
};

bool Catchable(int signo) {
  switch (signo) {
    case SIGKILL:
    case SIGSTOP:
    case SIGSEGV:
    case SIGBUS:
    case SIGFPE:
    case SIGILL:
    case SIGABRT:
    case SIGTRAP:
      return false;
    default:
      return signo > 0 && signo < NSIG;
  }
}

}  // namespace

void BlockSigpipe() {
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
}

std::string SignalName(int signo) {
  const char* abbrev = signo > 0 && signo < NSIG ? sigabbrev_np(signo) : nullptr;
  return abbrev != nullptr ? absl::StrCat("SIG", abbrev) : absl::StrCat("signal ", signo);
}

absl::StatusOr<std::unique_ptr<SignalAction>> SignalAction::Install(
    int signo, std::string name, std::function<void()> action) {
  if (!Catchable(signo)) {
    return absl::InvalidArgumentError(
        absl::StrCat(SignalName(signo), " cannot carry an inspection action (\"", name, "\")"));
  }
  if (!action) return absl::InvalidArgumentError(absl::StrCat("no action for ", name));
  absl::Status status = Dispatcher::Get().Install(signo, std::move(name), std::move(action));
  if (!status.ok()) return status;
  return std::unique_ptr<SignalAction>(new SignalAction(signo));
}

SignalAction::~SignalAction() { Dispatcher::Get().Uninstall(signo_); }

}  // namespace kiln
