#include "inspection/services/inspection_signals.h"

#include <limits.h>
#include <sys/stat.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "inspection/hprof/byte_sink.h"
#include "inspection/runtime_info.h"
#include "inspection/services/signal_dispatcher.h"
#include "inspection/thread_dump.h"

namespace kiln {
namespace {

// Absolute: `path` from the working directory, for people who look for the
// file from another terminal.
std::string Absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof(cwd)) == nullptr) return path;
  absl::string_view relative = path;
  absl::ConsumePrefix(&relative, "./");
  return absl::StrCat(cwd, "/", relative);
}

// SignalTriggered: `options` with its dumps saying a signal asked for them.
InspectionOptions SignalTriggered(InspectionOptions options) {
  options.heap_dump.trigger = DumpTrigger::kSignal;
  return options;
}

class InspectionService : public RuntimeService {
 public:
  InspectionService(Runtime& runtime, InspectionOptions options)
      : runtime_(runtime), options_(SignalTriggered(std::move(options))) {}

  absl::Status Start() {
    if (options_.heap_dump_signal != 0) {
      RETURN_IF_ERROR(Add(options_.heap_dump_signal, "heap dump", [this] { DumpHeap(); }));
    }
    if (options_.thread_dump_signal != 0) {
      RETURN_IF_ERROR(Add(options_.thread_dump_signal, "thread dump",
                          [this] { Print(ThreadDump(runtime_)); }));
    }
    if (options_.runtime_info_signal != 0) {
      RETURN_IF_ERROR(Add(options_.runtime_info_signal, "runtime info",
                          [this] { Print(RuntimeInfo(runtime_)); }));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Add(int signo, std::string name, std::function<void()> action) {
    absl::StatusOr<std::unique_ptr<SignalAction>> installed =
        SignalAction::Install(signo, name, std::move(action));
    if (!installed.ok()) {
      return absl::Status(installed.status().code(),
                          absl::StrCat("inspection signals: ", installed.status().message()));
    }
    actions_.push_back(*std::move(installed));
    return absl::OkStatus();
  }

  void DumpHeap() {
    absl::StatusOr<std::string> path = VMRuntime::DumpHeap(runtime_, options_.heap_dump);
    if (!path.ok()) {
      Write(absl::StrCat("Heap dump failed: ", path.status().ToString(), "\n"));
      return;
    }
    struct stat st;
    const long long size = stat(path->c_str(), &st) == 0 ? st.st_size : -1;
    Write(absl::StrCat("Heap dump created ", Absolute(*path), ", size: ", size, "\n"));
  }

  void Print(const absl::StatusOr<std::string>& text) {
    Write(text.ok() ? *text : absl::StrCat("inspection failed: ", text.status().ToString(), "\n"));
  }

  // Write: best effort; the output may be a closed pipe, and the runtime
  // must run on regardless.
  void Write(const std::string& text) {
    FdSink sink(options_.output_fd, "inspection output");
    sink.Write(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(text.data()), text.size()))
        .IgnoreError();
  }

  Runtime& runtime_;
  const InspectionOptions options_;
  // Destroyed (handlers uninstalled, runs waited for) before the rest.
  std::vector<std::unique_ptr<SignalAction>> actions_;
};

}  // namespace

RuntimeServiceFactory InspectionSignals(InspectionOptions options) {
  return [options = std::move(options)](
             Runtime& runtime) -> absl::StatusOr<std::unique_ptr<RuntimeService>> {
    auto service = std::make_unique<InspectionService>(runtime, options);
    RETURN_IF_ERROR(service->Start());
    return service;
  };
}

}  // namespace kiln
