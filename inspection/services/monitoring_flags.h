// Monitoring flags: the command-line switches with which a program built
// "with inspection" (as Native Image's -H:+AllowVMInspection builds are)
// chooses its inspection signals at run time:
//
//   -XX:+AllowVMInspection            SIGUSR1, SIGQUIT and SIGUSR2 on
//   -XX:-AllowVMInspection            all off
//   --enable-monitoring               all on
//   --enable-monitoring=heapdump,threaddump
//                                     just these (heapdump: SIGUSR1,
//                                     threaddump: SIGQUIT, runtimeinfo:
//                                     SIGUSR2, all)
//   -XX:HeapDumpPath=<file or dir>    where SIGUSR1's (and out-of-memory) dumps go
//   -XX:+HeapDumpOnOutOfMemoryError   dump once before the first allocation
//                                     that fails for lack of memory (HotSpot's,
//                                     Native Image's); -XX:- turns it off
//   -XX:HeapDumpGzipLevel=N           N in 1..9: those dumps gzip-compressed
//                                     (".hprof.gz"); 0: plain
//   --enable-monitoring=attach, -XX:+StartAttachListener (-XX:-...)
//                                     the attach listener (attach_listener.h)
//   -XX:HeapDumpInterval=<seconds>    continuous dumps (continuous_dumps.h)
//   -XX:HeapDumpKeep=<K>              the newest K of them kept (5)
//
// The later switch wins. Programs parse these before their own flags, list
// them in their --help, and apply them to the runtime's options:
//
//   absl::SetProgramUsageMessage(absl::StrCat("...\n", MonitoringFlagsUsage()));
//   absl::StatusOr<std::optional<InspectionOptions>> inspection =
//       ParseMonitoringFlags(argc, argv, /*enabled_by_default=*/true);
//   ... then absl::ParseCommandLine(argc, argv) sees the rest;
//   if (*inspection) ApplyMonitoringOptions(**inspection, runtime_options);
#ifndef KILN_INSPECTION_SERVICES_MONITORING_FLAGS_H_
#define KILN_INSPECTION_SERVICES_MONITORING_FLAGS_H_

#include <optional>

#include "absl/status/statusor.h"
#include "base/must_use.h"
#include "inspection/services/inspection_signals.h"

namespace kiln {

// ParseMonitoringFlags removes the switches above from argv (updating argc)
// and returns the inspection they ask for, or nullopt for none (no signal
// and no out-of-memory dump). InvalidArgument names an unknown monitoring
// feature or a bad gzip level.
KILN_MUST_USE absl::StatusOr<std::optional<InspectionOptions>> ParseMonitoringFlags(
    int& argc, char** argv, bool enabled_by_default);

// ApplyMonitoringOptions: the inspection signals service (if any signal is
// on) and the out-of-memory dump hook (if asked for) into `options`.
void ApplyMonitoringOptions(const InspectionOptions& inspection, RuntimeOptions& options);

// MonitoringFlagsUsage: the switches above, one per line, for --help.
const char* MonitoringFlagsUsage();

}  // namespace kiln

#endif  // KILN_INSPECTION_SERVICES_MONITORING_FLAGS_H_
