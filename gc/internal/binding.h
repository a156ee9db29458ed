// VmBinding: the hooks through which the collector talks to the VM.
//
// gc/ never includes vm/. Like an MMTk binding, the VM implements this small
// interface; gc/ tests implement it with a fake VM. Every hook documents
// whether the world is stopped when it is called.
#ifndef KILN_GC_INTERNAL_BINDING_H_
#define KILN_GC_INTERNAL_BINDING_H_

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/types/span.h"
#include "gc/gc_stats.h"
#include "gc/object_header.h"

namespace kiln::gc {

// A phantom reference whose referent died in a collection; the referent slot
// is already cleared, `referent` is the dead object's address (a key only:
// it must not be dereferenced).
struct ClearedReference {
  ObjectHeader* reference;
  const ObjectHeader* referent;
};

class VmBinding {
 public:
  virtual ~VmBinding() = default;

  // RequestCollection stops the world and runs Heap::Collect(cause,
  // observed_collections) in it, then resumes. Called by a mutator in managed
  // state from the allocation slow path, without heap locks held.
  virtual void RequestCollection(GcCause cause, uint64_t observed_collections) = 0;

  // VisitRoots calls `visit` on every strong root slot. World stopped.
  virtual void VisitRoots(absl::FunctionRef<void(ObjectHeader** slot)> visit) = 0;

  // OnReferencesCleared reports phantom references whose referents died.
  // World stopped, at the end of a collection.
  virtual void OnReferencesCleared(absl::Span<const ClearedReference> cleared) = 0;

  // OnFinalizationPending: objects were resurrected for finalization
  // (Heap::TakePendingFinalization hands them out). World stopped.
  virtual void OnFinalizationPending() = 0;

  // SweepSystemWeaks: marking is done and nothing is swept yet; the VM drops
  // or updates side tables keyed by objects (inflated monitors) whose keys
  // died: `is_marked` tells live from dead. Dead objects must not be
  // dereferenced. World stopped.
  virtual void SweepSystemWeaks(absl::FunctionRef<bool(const ObjectHeader*)> is_marked) = 0;

  // OnOutOfMemory runs once before an allocation of `size` bytes fails after
  // a full collection (the place for a heap dump). The caller is a mutator in
  // managed state; no heap lock is held.
  virtual void OnOutOfMemory(size_t size) = 0;
};

}  // namespace kiln::gc

#endif  // KILN_GC_INTERNAL_BINDING_H_
