// HeapObjectWriter: the object phase of a heap dump, one INSTANCE_DUMP,
// OBJ_ARRAY_DUMP or PRIM_ARRAY_DUMP record per object, in address order.
//
// It is apart from the rest of the dump (heap_dumper.cc) for two reasons.
// It is the hot loop: millions of records, where a per-value virtual call or
// buffer check shows. And it must be able to run where nothing may take a
// lock or call the allocator: in the child of a fork-mode dump, whose only
// thread is a copy of the VM thread while the other threads' locks (and
// mimalloc's state) were copied in whatever state they were. So the
// constructor (world stopped; it allocates) computes everything the walk
// needs: the heap's chunk list (gc::Heap::SnapshotRanges: the walk sorts it
// and reads the chunks' bounds) and, per class, a plan: the record's size
// and, in dump order (the class's own fields first, then its superclass's),
// the fields as runs: consecutive fields of one width at
// consecutive offsets (a reference is 8 bytes like a long: its id is its
// value), each run one byte-swapping loop (a Node's four fields are two
// runs). Writing an instance is then a loop over its runs into space
// reserved whole in the writer's buffer (HprofWriter::ReserveSubRecord). A
// full walk steps from object to object by the plan's size, so each object
// costs one dispatch on its plan, not one on its layout and another on its
// plan. Primitive arrays are byte-swapped in bulk (byte and boolean arrays are
// a memcpy). Records too big for the buffer
// stream through a fixed stack buffer. WriteObjects neither locks nor
// allocates.
//
// Object ids are addresses. In a live dump (the caller's snapshot marking)
// only marked objects are written, and a reference to an unmarked object is
// written as null. Only the referent of a weak or phantom reference can be
// one (marking follows every other reference of a marked object), so only
// referents are checked: the plan marks them.
// A class's java.lang.Class mirror is its CLASS_DUMP, never an instance.
#ifndef KILN_INSPECTION_INTERNAL_HEAP_OBJECT_WRITER_H_
#define KILN_INSPECTION_INTERNAL_HEAP_OBJECT_WRITER_H_

#include <cstdint>
#include <vector>

#include "gc/internal/heap.h"
#include "inspection/hprof/hprof_writer.h"
#include "vm/runtime.h"

namespace kiln {

class HeapObjectWriter {
 public:
  // HeapObjectWriter prepares a walk of `world`'s heap, which must be
  // parsable and stay frozen until WriteObjects returns: the world stays
  // stopped, or WriteObjects runs in a forked child. A live dump passes its
  // marking (nullptr: a full dump), which must have marked before
  // WriteObjects (not before the constructor) and outlive the walk.
  HeapObjectWriter(const StoppedWorld& world, const gc::Heap::SnapshotMarking* marking,
                   HprofWriter& writer);
  HeapObjectWriter(const HeapObjectWriter&) = delete;
  HeapObjectWriter& operator=(const HeapObjectWriter&) = delete;

  // WriteObjects writes every object's record (a live dump: every marked
  // object's). Errors stay in the writer (sticky).
  void WriteObjects();

  // objects: records written so far.
  uint64_t objects() const { return objects_; }

  // Testing: stop the calling process (raise(SIGSTOP)) once this many
  // objects are written; 0 never. Fork-mode tests kill the child there.
  void set_stop_after_objects(uint64_t n) { stop_after_objects_ = n; }

 private:
  enum class Kind : uint8_t { kSkip, kInstance, kObjectArray, kPrimitiveArray };
  // Consecutive instance fields of one width at consecutive offsets, in
  // dump order; width kReferent: a Reference's referent (a run of one).
  static constexpr uint8_t kReferent = 0xFF;
  struct Run {
    uint32_t offset;
    uint16_t count;
    uint8_t width;
  };
  struct Plan {
    Kind kind = Kind::kSkip;
    uint8_t element_type = 0;  // primitive arrays: the HPROF basic type
    uint8_t element_size = 0;  // primitive arrays: bytes per element
    uint32_t values_size = 0;  // instances: field bytes in the record
    uint32_t first_run = 0;    // instances: their runs in runs_
    uint32_t num_runs = 0;
    uint64_t class_id = 0;  // the class's mirror
    // instances: what follows the id in every record of the class, as the
    // file has it: the stack trace serial, class_id and values_size.
    uint8_t instance_head[16] = {};
  };

  template <bool kLive>
  void Walk();
  // WalkRange: a full walk of one range, fillers skipped. Aligned to a cache
  // line: where the linker happens to place the loop matters. With Abseil
  // linked static, the function moved from a 256-byte to a 32-byte
  // boundary, the loop's head to 33 bytes into a line, and `--mode=walk` at
  // 4M took 13% longer (medians of 11 processes: 0.083 s against 0.073 s).
  // Aligned, it took 0.074 s (benchmarks/README.md, eighth pass).
  __attribute__((aligned(64))) void WalkRange(const gc::Heap::Range& range);
  void Write(const gc::ObjectHeader* object, const Plan& plan);
  // ReferentId: a Reference's referent's id: null in a live dump if the
  // referent is not marked (a marked object's other references all point to
  // marked objects).
  uint64_t ReferentId(const void* slot) const;
  // Inlined into the walk: most records are instances, and the calls cost
  // as much as a small instance's fields.
  [[gnu::always_inline]] inline uint8_t* FillInstance(uint8_t* p, const gc::ObjectHeader* object,
                                                      const Plan& plan) const;
  [[gnu::always_inline]] inline void WriteInstance(const gc::ObjectHeader* object,
                                                   const Plan& plan);
  [[gnu::noinline]] void WriteInstanceStreamed(const gc::ObjectHeader* object, const Plan& plan);
  void WriteObjectArray(const gc::ObjectHeader* object, const Plan& plan);
  void WritePrimitiveArray(const gc::ObjectHeader* object, const Plan& plan);
  // The streamed (bigger than the buffer) part of an array record.
  [[gnu::noinline]] void StreamObjectArray(const gc::ObjectHeader* object, const Plan& plan);
  [[gnu::noinline]] void StreamPrimitiveArray(const gc::ObjectHeader* object, const Plan& plan);
  void Counted();

  const gc::Heap::SnapshotMarking* const marking_;  // live dumps
  HprofWriter& w_;
  gc::Heap::RangeSnapshot ranges_;  // filled by the walk, not in the pause
  std::vector<Plan> plans_;         // by class id
  std::vector<Run> runs_;
  uint64_t objects_ = 0;
  uint64_t stop_after_objects_ = 0;
};

}  // namespace kiln

#endif  // KILN_INSPECTION_INTERNAL_HEAP_OBJECT_WRITER_H_
