#include "inspection/services/monitoring_services.h"

#include "inspection/services/continuous_dumps.h"

namespace kiln {

std::vector<RuntimeServiceFactory> MonitoringServices(const InspectionOptions& inspection,
                                                      AttachOptions attach) {
  std::vector<RuntimeServiceFactory> services;
  services.push_back(InspectionSignals(inspection));
  if (inspection.attach_listener) services.push_back(AttachListener(attach));
  if (inspection.heap_dump_interval > absl::ZeroDuration()) {
    ContinuousDumpOptions dumps;
    dumps.interval = inspection.heap_dump_interval;
    dumps.keep = inspection.heap_dump_keep;
    dumps.heap_dump.path = inspection.heap_dump.path;
    dumps.heap_dump.gzip_level = inspection.heap_dump.gzip_level;
    dumps.output_fd = inspection.output_fd;
    services.push_back(ContinuousHeapDumps(dumps));
  }
  return services;
}

}  // namespace kiln
