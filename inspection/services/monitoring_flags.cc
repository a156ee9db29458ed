#include "inspection/services/monitoring_flags.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace kiln {
namespace {

struct Features {
  bool heap_dump = false;
  bool thread_dump = false;
  bool runtime_info = false;
  bool attach = false;
  void SetAll(bool on) { heap_dump = thread_dump = runtime_info = attach = on; }
};

absl::Status ParseFeatures(absl::string_view list, Features& features) {
  features.SetAll(false);
  for (absl::string_view feature : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    if (feature == "all") {
      features.SetAll(true);
    } else if (feature == "heapdump") {
      features.heap_dump = true;
    } else if (feature == "threaddump") {
      features.thread_dump = true;
    } else if (feature == "runtimeinfo") {
      features.runtime_info = true;
    } else if (feature == "attach") {
      features.attach = true;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--enable-monitoring: unknown feature \"", feature,
                       "\" (known: heapdump, threaddump, runtimeinfo, attach, all)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<InspectionOptions>> ParseMonitoringFlags(int& argc, char** argv,
                                                                      bool enabled_by_default) {
  Features features;
  features.SetAll(enabled_by_default);
  InspectionOptions options;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "-XX:+AllowVMInspection" || arg == "--enable-monitoring") {
      features.SetAll(true);
    } else if (arg == "-XX:-AllowVMInspection") {
      features.SetAll(false);
    } else if (absl::StartsWith(arg, "--enable-monitoring=")) {
      absl::Status status =
          ParseFeatures(arg.substr(sizeof("--enable-monitoring=") - 1), features);
      if (!status.ok()) return status;
    } else if (arg == "-XX:+StartAttachListener" || arg == "-XX:-StartAttachListener") {
      features.attach = arg[4] == '+';
    } else if (absl::StartsWith(arg, "-XX:HeapDumpInterval=")) {
      double seconds;
      if (!absl::SimpleAtod(arg.substr(21), &seconds) || !(seconds > 0 && seconds < 1e9)) {
        return absl::InvalidArgumentError(
            absl::StrCat(arg, ": the interval is a number of seconds more than 0"));
      }
      options.heap_dump_interval = absl::Seconds(seconds);
    } else if (absl::StartsWith(arg, "-XX:HeapDumpKeep=")) {
      if (!absl::SimpleAtoi(arg.substr(17), &options.heap_dump_keep) ||
          options.heap_dump_keep < 1) {
        return absl::InvalidArgumentError(absl::StrCat(arg, ": keep a number of files, 1 or more"));
      }
    } else if (absl::StartsWith(arg, "-XX:HeapDumpPath=")) {
      options.heap_dump.path = std::string(arg.substr(sizeof("-XX:HeapDumpPath=") - 1));
    } else if (arg == "-XX:+HeapDumpOnOutOfMemoryError") {
      options.heap_dump_on_out_of_memory = true;
    } else if (arg == "-XX:-HeapDumpOnOutOfMemoryError") {
      options.heap_dump_on_out_of_memory = false;
    } else if (absl::StartsWith(arg, "-XX:HeapDumpGzipLevel=")) {
      const absl::string_view level = arg.substr(sizeof("-XX:HeapDumpGzipLevel=") - 1);
      if (!absl::SimpleAtoi(level, &options.heap_dump.gzip_level) ||
          options.heap_dump.gzip_level < 0 || options.heap_dump.gzip_level > 9) {
        return absl::InvalidArgumentError(
            absl::StrCat("-XX:HeapDumpGzipLevel: \"", level, "\" is not 0..9"));
      }
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  argv[argc] = nullptr;
  options.attach_listener = features.attach;
  if (!features.heap_dump && !features.thread_dump && !features.runtime_info &&
      !features.attach && options.heap_dump_interval == absl::ZeroDuration() &&
      !options.heap_dump_on_out_of_memory) {
    return std::nullopt;
  }
  if (!features.heap_dump) options.heap_dump_signal = 0;
  if (!features.thread_dump) options.thread_dump_signal = 0;
  if (!features.runtime_info) options.runtime_info_signal = 0;
  return options;
}

void ApplyMonitoringOptions(const InspectionOptions& inspection, RuntimeOptions& options) {
  if (inspection.heap_dump_signal != 0 || inspection.thread_dump_signal != 0 ||
      inspection.runtime_info_signal != 0) {
    options.services.push_back(InspectionSignals(inspection));
  }
  if (inspection.heap_dump_on_out_of_memory) {
    options.on_out_of_memory = VMRuntime::HeapDumpOnOutOfMemory(inspection.heap_dump);
  }
}

const char* MonitoringFlagsUsage() {
  return "Monitoring switches (before the program's own flags; the later wins):\n"
         "  -XX:+AllowVMInspection          heap dump on SIGUSR1, thread dump on SIGQUIT,\n"
         "                                  runtime info on SIGUSR2\n"
         "  -XX:-AllowVMInspection          none of them\n"
         "  --enable-monitoring[=LIST]      LIST of heapdump, threaddump, runtimeinfo, all\n"
         "                                  (default: all)\n"
         "  -XX:HeapDumpPath=FILE_OR_DIR    where heap dumps go (default: the working\n"
         "                                  directory, svm-heapdump-<pid>-<time>.hprof)\n"
         "  -XX:+HeapDumpOnOutOfMemoryError dump the heap once when an allocation first\n"
         "                                  fails for lack of memory; -XX:- turns it off\n"
         "  -XX:HeapDumpGzipLevel=N         1..9: compress heap dumps (.hprof.gz); 0: plain\n"
         "  --enable-monitoring=attach, -XX:+StartAttachListener\n"
         "                                  the attach listener for kiln-ctl\n"
         "  -XX:HeapDumpInterval=SECONDS    a live fork-mode dump every SECONDS\n"
         "  -XX:HeapDumpKeep=K              keep the newest K of them (default 5)\n";
}

}  // namespace kiln
