// HeapDumper: writes a stopped runtime's heap as an HPROF 1.0.2 file.
//
// Runs inside a VM operation (it takes a StoppedWorld). It never allocates on
// the managed heap, so it works at out-of-memory: its tables (string ids,
// per-class value sizes) are native memory, and the bytes stream through the
// HprofWriter's fixed buffer.
//
// What it writes, in order: the header; a STRING for every name; a
// LOAD_CLASS for every class; one empty STACK_TRACE (serial 1, what every
// object refers to); a STACK_FRAME per managed frame and a STACK_TRACE per
// thread; then the heap dump: per thread ROOT_THREAD_OBJECT followed by a
// ROOT_JAVA_FRAME for each frame slot, ROOT_JNI_GLOBAL for Globals,
// ROOT_STICKY_CLASS for classes, ROOT_UNKNOWN for interned strings and
// objects waiting for finalization, a CLASS_DUMP per class (with static
// values), and an INSTANCE_DUMP, OBJ_ARRAY_DUMP or PRIM_ARRAY_DUMP per
// object; HEAP_DUMP_END.
//
// Object ids are addresses (the heap does not move); a class's id is its
// java.lang.Class mirror, which is therefore not dumped as an instance.
#ifndef KILN_INSPECTION_HEAP_DUMPER_H_
#define KILN_INSPECTION_HEAP_DUMPER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "inspection/hprof_writer.h"
#include "vm/safepoint.h"

namespace kiln {

struct HeapDumpStats {
  uint64_t objects = 0;  // instance and array records
  uint64_t classes = 0;
  uint64_t roots = 0;
  uint64_t bytes = 0;
};

// WriteHeapDump writes the heap of `world`'s runtime to `writer`: only the
// objects reachable from the roots if `live` (marking, no collection), every
// object on the heap otherwise. Returns the writer's first I/O error.
absl::Status WriteHeapDump(const StoppedWorld& world, bool live, HprofWriter& writer,
                           HeapDumpStats* stats = nullptr);

}  // namespace kiln

#endif  // KILN_INSPECTION_HEAP_DUMPER_H_
