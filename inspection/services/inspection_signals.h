// Inspection signals: the signal side of Native Image's
// -H:+AllowVMInspection, for a runtime that asks for it.
//
//   kiln::InspectionOptions inspection;             // SIGUSR1, SIGQUIT, SIGUSR2
//   inspection.heap_dump.path = "/var/dumps";       // default: working directory
//   options.services.push_back(kiln::InspectionSignals(inspection));
//   auto runtime = kiln::Runtime::Create(std::move(options));
//
// - SIGUSR1: a live heap dump (VMRuntime::DumpHeap with `heap_dump`; a
//   directory or empty path gets the default name svm-heapdump-<pid>-<time>.hprof),
//   then "Heap dump created <path>, size: <bytes>" on the output. A failed
//   dump prints "Heap dump failed: <status>" and the runtime runs on.
// - SIGQUIT: a full thread dump (thread_dump.h) on the output.
// - SIGUSR2: runtime info (runtime_info.h) on the output.
//
// Any signal number may be chosen, and 0 turns one off. The handlers belong to
// the runtime: they are installed when it starts and the previous dispositions
// come back when it shuts down. A runtime without this service installs no
// handler. signal_dispatcher.h has the handler/dispatcher protocol; bursts
// of a signal coalesce into one more run after the current one.
#ifndef KILN_INSPECTION_SERVICES_INSPECTION_SIGNALS_H_
#define KILN_INSPECTION_SERVICES_INSPECTION_SIGNALS_H_

#include <signal.h>
#include <unistd.h>

#include "absl/time/time.h"
#include "inspection/vm_runtime.h"
#include "vm/runtime.h"

namespace kiln {

struct InspectionOptions {
  int heap_dump_signal = SIGUSR1;
  int thread_dump_signal = SIGQUIT;
  int runtime_info_signal = SIGUSR2;
  // What SIGUSR1 writes, and where (path: a file, a directory, or empty for
  // the working directory). Live by default, as Native Image's.
  HeapDumpOptions heap_dump;
  // Also dump (with `heap_dump`'s path and gzip level) before the first
  // allocation that fails for lack of memory: VMRuntime::HeapDumpOnOutOfMemory,
  // installed by ApplyMonitoringOptions (monitoring_flags.h).
  bool heap_dump_on_out_of_memory = false;
  // Where thread dumps, runtime info and the dump's path are printed. Not
  // owned; must stay open while the runtime runs.
  int output_fd = STDOUT_FILENO;

  // The other services the monitoring switches (monitoring_flags.h) ask for;
  // the program adds them to RuntimeOptions::services. InspectionSignals
  // ignores these.
  bool attach_listener = false;                             // attach_listener.h
  absl::Duration heap_dump_interval = absl::ZeroDuration();  // continuous_dumps.h; 0: off
  int heap_dump_keep = 5;
};

// InspectionSignals: a RuntimeOptions::services entry that installs the
// handlers `options` names. Runtime::Create fails if one cannot be installed
// (a bad signal number, or one another runtime in the process already owns).
RuntimeServiceFactory InspectionSignals(InspectionOptions options);

}  // namespace kiln

#endif  // KILN_INSPECTION_SERVICES_INSPECTION_SIGNALS_H_
