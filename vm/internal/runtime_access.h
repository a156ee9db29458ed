// RuntimeAccess: the way into a Runtime's internals, for vm/ itself, the
// inspection layer and tests. Not installed: an embedder's Runtime
// (vm/runtime.h) has no heap(), no safepoint manager and no VM operations,
// only what vm/kiln.h documents.
//
//   gc::Heap& heap = kiln::internal::HeapOf(runtime);
//   RETURN_IF_ERROR(kiln::internal::Execute(runtime, op));
//
// The accessors are free functions over one friend class, so the public
// header names none of the internal types beyond a forward declaration.
#ifndef KILN_VM_INTERNAL_RUNTIME_ACCESS_H_
#define KILN_VM_INTERNAL_RUNTIME_ACCESS_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/must_use.h"
#include "gc/internal/heap.h"
#include "vm/internal/global_handles.h"
#include "vm/internal/intern_table.h"
#include "vm/internal/monitor_table.h"
#include "vm/internal/reference_processor.h"
#include "vm/internal/safepoint_manager.h"
#include "vm/internal/vm_operation.h"
#include "vm/runtime.h"

namespace kiln::internal {

class RuntimeAccess {
 public:
  static gc::Heap& Heap(Runtime& runtime) { return *runtime.heap_; }
  static SafepointManager& Safepoints(Runtime& runtime) { return *runtime.safepoints_; }
  static ReferenceProcessor& References(Runtime& runtime) {
    return *runtime.reference_processor_;
  }
  static GlobalHandles& Globals(Runtime& runtime) { return *runtime.globals_; }
  static InternTable& InternedStrings(Runtime& runtime) { return *runtime.interned_strings_; }
  static MonitorTable& Monitors(Runtime& runtime) { return *runtime.monitors_; }
  static const Method* ObjectWait(const Runtime& runtime) { return runtime.object_wait_; }
  KILN_MUST_USE static absl::Status Execute(Runtime& runtime, VmOperation& op) {
    return runtime.Execute(op);
  }
  KILN_MUST_USE static absl::Status ExecuteHere(Runtime& runtime, VmOperation& op) {
    return runtime.ExecuteHere(op);
  }
  static gc::CollectionStats RunCollection(Runtime& runtime, const StoppedWorld& world,
                                           gc::GcCause cause, uint64_t observed) {
    return runtime.RunCollection(world, cause, observed);
  }
  KILN_MUST_USE static absl::StatusOr<std::unique_ptr<gc::Heap::SnapshotMarking>>
  PrepareLiveMarking(Runtime& runtime, const StoppedWorld& world);
};

// HeapOf and the others: `runtime`'s heap, thread list and safepoint
// protocol, reference processor, Global handle table, intern table and
// monitor table.
inline gc::Heap& HeapOf(Runtime& runtime) { return RuntimeAccess::Heap(runtime); }
inline SafepointManager& SafepointsOf(Runtime& runtime) {
  return RuntimeAccess::Safepoints(runtime);
}
inline ReferenceProcessor& ReferenceProcessorOf(Runtime& runtime) {
  return RuntimeAccess::References(runtime);
}
inline GlobalHandles& GlobalsOf(Runtime& runtime) { return RuntimeAccess::Globals(runtime); }
inline InternTable& InternedStringsOf(Runtime& runtime) {
  return RuntimeAccess::InternedStrings(runtime);
}
inline MonitorTable& MonitorTableOf(Runtime& runtime) { return RuntimeAccess::Monitors(runtime); }
// ObjectWaitMethod: java.lang.Object.wait(J)V, the frame Wait runs in.
inline const Method* ObjectWaitMethod(const Runtime& runtime) {
  return RuntimeAccess::ObjectWait(runtime);
}

// Execute runs `op` on `runtime`'s VM thread with the world stopped, and
// returns when it is done; a calling thread attached to it waits in native
// state. FailedPrecondition once the runtime is shutting down.
KILN_MUST_USE inline absl::Status Execute(Runtime& runtime, VmOperation& op) {
  return RuntimeAccess::Execute(runtime, op);
}

// ExecuteHere runs `op` on the calling thread with the world stopped, in
// turn with the VM thread's operations (vm/SAFEPOINTS.md); a calling thread
// attached to it is native meanwhile. What an allocation's collection uses.
KILN_MUST_USE inline absl::Status ExecuteHere(Runtime& runtime, VmOperation& op) {
  return RuntimeAccess::ExecuteHere(runtime, op);
}

// RunCollection: a full collection, for VM operations that already stopped
// the world. `observed` as in gc::Heap::Collect.
inline gc::CollectionStats RunCollection(Runtime& runtime, const StoppedWorld& world,
                                         gc::GcCause cause,
                                         uint64_t observed = gc::Heap::kAlways) {
  return RuntimeAccess::RunCollection(runtime, world, cause, observed);
}

// PrepareLiveMarking: the first step of marking the objects reachable from
// the roots without collecting (gc::Heap::SnapshotMarking; its Mark sets the
// bits gc::Heap::IsMarked reads, later, possibly in a forked child).
KILN_MUST_USE inline absl::StatusOr<std::unique_ptr<gc::Heap::SnapshotMarking>>
PrepareLiveMarking(Runtime& runtime, const StoppedWorld& world) {
  return RuntimeAccess::PrepareLiveMarking(runtime, world);
}

}  // namespace kiln::internal

#endif  // KILN_VM_INTERNAL_RUNTIME_ACCESS_H_
