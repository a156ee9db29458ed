// Thread dumps in the layout people and parsers know from jstack:
//
//   Full thread dump Kiln (pid 1234):
//
//   "main" #1 prio=5 cpu=1.52ms elapsed=3.01s tid=0x00007f.. nid=0x4d2 in Object.wait()
//      java.lang.Thread.State: WAITING (on object monitor)
//   	at java.lang.Object.wait(Native Method)
//   	- waiting on <0x00007f1c2a400e10> (a SVMHeapDump)
//   	at SVMHeapDump.join(svm_heap_dump.cc:110)
//   	- locked <0x00007f1c2a400e10> (a SVMHeapDump)
//   	at SVMHeapDump.main(svm_heap_dump.cc:98)
//
// Daemon threads carry "daemon" after their number. Under each frame come
// the monitors it waits on ("- waiting on", "- waiting to re-lock in
// wait()"), is blocked entering ("- waiting to lock") and holds ("- locked",
// innermost first). After the threads, deadlocks found at the same safepoint
// (inspection/deadlocks.h) in jstack's "Found one Java-level deadlock:"
// blocks, and "Found N deadlock(s)."
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
