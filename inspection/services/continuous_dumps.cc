#include "inspection/services/continuous_dumps.h"

#include <sys/stat.h>

#include <deque>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/mutex.h"
#include "base/status_macros.h"
#include "inspection/hprof/byte_sink.h"
#include "inspection/services/signal_dispatcher.h"

namespace kiln {
namespace {

class ContinuousDumpService : public RuntimeService {
 public:
  ContinuousDumpService(Runtime& runtime, ContinuousDumpOptions options)
      : runtime_(runtime), options_(std::move(options)) {
    options_.heap_dump.live = true;
    options_.heap_dump.mode = DumpMode::kFork;
  }

  ~ContinuousDumpService() override {
    {
      MutexLock lock(&mu_);
      stop_ = true;
    }
    wake_.SignalAll();
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Start() {
    if (options_.interval <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "continuous heap dumps: the interval must be more than zero, not ",
          absl::FormatDuration(options_.interval)));
    }
    if (options_.keep < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "continuous heap dumps: keep must be at least 1, not ", options_.keep));
    }
    const std::string& dir = options_.heap_dump.path;
    struct stat st;
    if (!dir.empty() && (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "continuous heap dumps: ", dir, " is not a directory (the dumps need one)"));
    }
    thread_ = std::thread([this] { Run(); });
    return absl::OkStatus();
  }

 private:
  void Run() {
    BlockSigpipe();  // the output may be a closed pipe
    absl::Time next = absl::Now() + options_.interval;
    for (uint64_t n = 1;; ++n) {
      {
        MutexLock lock(&mu_);
        while (!stop_) {
          const absl::Duration left = next - absl::Now();
          if (left <= absl::ZeroDuration()) break;
          wake_.WaitWithTimeout(&mu_, left);
        }
        if (stop_) return;
      }
      Dump(n);
      // Skip the ticks a long dump overran: never two dumps back to back.
      const absl::Time now = absl::Now();
      next += options_.interval;
      uint64_t skipped = 0;
      while (next <= now) {
        next += options_.interval;
        ++skipped;
      }
      if (skipped > 0) {
        Print(absl::StrCat("Continuous heap dump ", n, " took longer than the interval; ",
                           skipped, " skipped\n"));
      }
    }
  }

  void Dump(uint64_t n) {
    while (files_.size() >= static_cast<size_t>(options_.keep)) {
      unlink(files_.front().c_str());
      files_.pop_front();
    }
    absl::StatusOr<std::string> path = VMRuntime::DumpHeap(runtime_, options_.heap_dump);
    if (!path.ok()) {
      Print(absl::StrCat("Continuous heap dump ", n, " failed: ", path.status().ToString(),
                         "\n"));
      return;
    }
    files_.push_back(*path);
    struct stat st;
    const long long size = stat(path->c_str(), &st) == 0 ? st.st_size : -1;
    Print(absl::StrCat("Continuous heap dump ", n, " created ", *path, ", size: ", size, "\n"));
  }

  // Print: best effort; the output may be a closed pipe.
  void Print(const std::string& text) {
    FdSink sink(options_.output_fd, "continuous heap dump output");
    sink.Write(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(text.data()), text.size()))
        .IgnoreError();
  }

  Runtime& runtime_;
  ContinuousDumpOptions options_;
  std::deque<std::string> files_;  // the dump thread's: oldest first
  Mutex mu_;
  CondVar wake_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace

RuntimeServiceFactory ContinuousHeapDumps(ContinuousDumpOptions options) {
  return [options = std::move(options)](
             Runtime& runtime) -> absl::StatusOr<std::unique_ptr<RuntimeService>> {
    auto service = std::make_unique<ContinuousDumpService>(runtime, options);
    RETURN_IF_ERROR(service->Start());
    return service;
  };
}

}  // namespace kiln
