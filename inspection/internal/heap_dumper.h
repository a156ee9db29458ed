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
// objects waiting for finalization, ROOT_MONITOR_USED (once per object) for
// objects whose monitors threads hold, enter or wait on, a CLASS_DUMP per class (with static
// values), and an INSTANCE_DUMP, OBJ_ARRAY_DUMP or PRIM_ARRAY_DUMP per
// object; HEAP_DUMP_END. The process's environment (java.lang.System.props,
// java.lang.ClassLoader: dump_environment.h) is synthetic classes and
// objects written with the runtime's, in the prologue.
//
// Object ids are addresses (the heap does not move); a class's id is its
// java.lang.Class mirror, which is therefore not dumped as an instance.
//
// A dump runs in two steps, so that the second can run in a forked child
// (fork-mode dumps, inspection/internal/fork_dump.h): WritePrologue (world stopped:
// records a live dump's roots for marking, makes the heap parsable, writes
// everything up to the class dumps and prepares the object walk; it
// allocates and locks), then WriteObjects (a live dump's marking, the object
// records, HEAP_DUMP_END and the final flush; it neither locks nor allocates,
// see gc::Heap::SnapshotMarking and heap_object_writer.h). So a live
// fork-mode dump marks in the child, not in the pause. WriteHeapDump does
// both.
#ifndef KILN_INSPECTION_INTERNAL_HEAP_DUMPER_H_
#define KILN_INSPECTION_INTERNAL_HEAP_DUMPER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/must_use.h"
#include "gc/internal/heap.h"
#include "inspection/internal/dump_environment.h"
#include "inspection/hprof/hprof_writer.h"
#include "vm/safepoint.h"

namespace kiln {

class HeapObjectWriter;

class HeapDumper {
 public:
  // HeapDumper dumps `world`'s heap into `writer`: the objects reachable from
  // the roots if `live` (marking, no collection), every object otherwise.
  HeapDumper(const StoppedWorld& world, bool live, HprofWriter& writer);
  ~HeapDumper();
  HeapDumper(const HeapDumper&) = delete;
  HeapDumper& operator=(const HeapDumper&) = delete;

  // WritePrologue: world stopped. Everything before the object records.
  // Fails (nothing written) only if a live dump's mark stack cannot be
  // mapped.
  KILN_MUST_USE absl::Status WritePrologue();
  // WriteObjects: after WritePrologue, with the heap still frozen (the world
  // stopped, or in a forked child). Marks (a live dump), writes the objects
  // and the end, flushes, and returns the writer's first I/O error. No lock,
  // no allocation.
  KILN_MUST_USE absl::Status WriteObjects();

  // stats: what was written so far (bytes: what the writer took), and the
  // prologue's steps' durations (HeapDumpStats::steps).
  HeapDumpStats stats() const;

  // set_environment: what the dump's kiln.dump.trigger property says
  // (default: the API) and properties to add or replace
  // (dump_environment.h). Before WritePrologue.
  void set_environment(DumpTrigger trigger, DumpProperties extra) {
    trigger_ = trigger;
    extra_properties_ = std::move(extra);
  }
  // set_process_properties: GatherProcessProperties's, gathered before the
  // world stopped (for the same trigger and liveness); without them,
  // WritePrologue gathers them in the pause.
  void set_process_properties(DumpProperties process) { process_properties_ = std::move(process); }

  // Testing: raise(SIGSTOP) after this many object records; 0: never.
  void set_stop_after_objects(uint64_t n) { stop_after_objects_ = n; }

 private:
  const StoppedWorld& world_;
  const bool live_;
  HprofWriter& w_;
  std::unique_ptr<gc::Heap::SnapshotMarking> marking_;  // live dumps
  std::unique_ptr<HeapObjectWriter> objects_;
  uint64_t classes_ = 0;
  uint64_t roots_ = 0;
  uint64_t stop_after_objects_ = 0;
  uint64_t environment_objects_ = 0;  // dump_environment.h's synthetic objects
  HeapDumpStats::Steps steps_;        // the prologue's
  DumpTrigger trigger_ = DumpTrigger::kApi;
  DumpProperties extra_properties_;
  std::optional<DumpProperties> process_properties_;
};

// WriteHeapDump: HeapDumper's two steps at once. Returns the writer's first
// I/O error.
KILN_MUST_USE absl::Status WriteHeapDump(const StoppedWorld& world, bool live, HprofWriter& writer,
                                         HeapDumpStats* stats = nullptr);

}  // namespace kiln

#endif  // KILN_INSPECTION_INTERNAL_HEAP_DUMPER_H_
