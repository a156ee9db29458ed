// Continuous heap dumps, as Perfetto's continuous_dump_config gives Android:
// a live fork-mode dump every interval into one directory, the newest `keep`
// files kept, so that a slow leak can be followed from dump to dump.
//
//   kiln::ContinuousDumpOptions dumps;
//   dumps.interval = absl::Minutes(10);
//   dumps.keep = 6;
//   dumps.heap_dump.path = "/var/dumps";    // a directory; empty: the working one
//   options.services.push_back(kiln::ContinuousHeapDumps(dumps));
//
// One thread of the service's own (not attached to the runtime) takes the
// dumps, so two never run at once; a dump that takes longer than the interval
// makes the service skip the ticks it missed rather than pile up dumps. Each
// dump is VMRuntime::DumpHeap's (the default name, mode 0600, written under a
// temporary name and renamed), forced live and fork mode (the world stops only
// to fork). Before a dump, the oldest of the files this service wrote are
// removed down to keep - 1, so that no more than `keep` ever exist (a failed
// dump leaves keep - 1); files it did not write are never touched. Each dump
// prints "Continuous heap dump <n> created <path>, size: <bytes>" (or
// "Continuous heap dump <n> failed: <status>") on `output_fd`.
#ifndef KILN_INSPECTION_SERVICES_CONTINUOUS_DUMPS_H_
#define KILN_INSPECTION_SERVICES_CONTINUOUS_DUMPS_H_

#include <unistd.h>

#include "absl/time/time.h"
#include "inspection/vm_runtime.h"
#include "vm/runtime.h"

namespace kiln {

struct ContinuousDumpOptions {
  absl::Duration interval = absl::Minutes(10);  // more than zero
  int keep = 5;                                 // at least 1
  // Where (a directory) and how (gzip_level); live and mode are forced.
  HeapDumpOptions heap_dump;
  // Not owned; must stay open while the runtime runs.
  int output_fd = STDOUT_FILENO;
};

// ContinuousHeapDumps: a RuntimeOptions::services entry. Runtime::Create
// fails with InvalidArgument for a bad interval or keep, or a path that is
// not a directory.
RuntimeServiceFactory ContinuousHeapDumps(ContinuousDumpOptions options);

}  // namespace kiln

#endif  // KILN_INSPECTION_SERVICES_CONTINUOUS_DUMPS_H_
