// Thread dumps in the layout people and parsers know from jstack:
//
//   Full thread dump Kiln (pid 1234):
//
//   "main" #1 prio=5 tid=0x00007f.. nid=0x4d2 sleeping
//      java.lang.Thread.State: TIMED_WAITING (sleeping)
//   	at SVMHeapDump.run(SVMHeapDump.cc:42)
//   	at SVMHeapDump.main(SVMHeapDump.cc:60)
//
// Daemon threads carry "daemon" after their number. Kiln has no monitors, so
// no locks are listed.
#ifndef KILN_INSPECTION_THREAD_DUMP_H_
#define KILN_INSPECTION_THREAD_DUMP_H_

#include <string>

#include "absl/status/statusor.h"
#include "base/must_use.h"
#include "vm/runtime.h"

namespace kiln {

// FormatThreadDump formats every thread of a stopped world.
std::string FormatThreadDump(const StoppedWorld& world);

// ThreadDump stops the world of `runtime` and returns its thread dump.
KILN_MUST_USE absl::StatusOr<std::string> ThreadDump(Runtime& runtime);

}  // namespace kiln

#endif  // KILN_INSPECTION_THREAD_DUMP_H_
