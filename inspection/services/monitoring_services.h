// MonitoringServices: the runtime services the monitoring switches ask for
// (monitoring_flags.h), ready for RuntimeOptions::services:
//
//   auto inspection = kiln::ParseMonitoringFlags(argc, argv, /*enabled_by_default=*/true);
//   if (inspection.ok() && inspection->has_value()) {
//     options.services = kiln::MonitoringServices(**inspection);
//   }
#ifndef KILN_INSPECTION_SERVICES_MONITORING_SERVICES_H_
#define KILN_INSPECTION_SERVICES_MONITORING_SERVICES_H_

#include <vector>

#include "inspection/services/attach_listener.h"
#include "inspection/services/inspection_signals.h"
#include "vm/runtime.h"

namespace kiln {

// MonitoringServices: the inspection signals, then the attach listener (with
// `attach`) if asked for, then continuous dumps into inspection.heap_dump.path
// if an interval is set.
std::vector<RuntimeServiceFactory> MonitoringServices(const InspectionOptions& inspection,
                                                      AttachOptions attach = {});

}  // namespace kiln

#endif  // KILN_INSPECTION_SERVICES_MONITORING_SERVICES_H_
