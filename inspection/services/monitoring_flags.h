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
//   -XX:HeapDumpPath=<file or dir>    where SIGUSR1's dumps go
//   --enable-monitoring=attach, -XX:+StartAttachListener (-XX:-...)
//                                     the attach listener (attach_listener.h)
//   -XX:HeapDumpInterval=<seconds>    continuous dumps (continuous_dumps.h)
//   -XX:HeapDumpKeep=<K>              the newest K of them kept (5)
//
// The later switch wins. Programs parse these before their own flags:
//
//   absl::StatusOr<std::optional<InspectionOptions>> inspection =
//       ParseMonitoringFlags(argc, argv, /*enabled_by_default=*/true);
//   ... then absl::ParseCommandLine(argc, argv) sees the rest.
#ifndef KILN_INSPECTION_SERVICES_MONITORING_FLAGS_H_
#define KILN_INSPECTION_SERVICES_MONITORING_FLAGS_H_

#include <optional>

#include "absl/status/statusor.h"
#include "inspection/services/inspection_signals.h"

namespace kiln {

// ParseMonitoringFlags removes the switches above from argv (updating argc)
// and returns the inspection they ask for, or nullopt for none.
// InvalidArgument names an unknown monitoring feature.
absl::StatusOr<std::optional<InspectionOptions>> ParseMonitoringFlags(int& argc, char** argv,
                                                                      bool enabled_by_default);

}  // namespace kiln

#endif  // KILN_INSPECTION_SERVICES_MONITORING_FLAGS_H_
