// References: WeakReference, and NativeAllocationRegistry, Android's libcore.util API for tying malloc'd
// memory to a managed object.
//
// A registry knows how to free one kind of native allocation (a free
// function) and how big each is. RegisterNativeAllocation ties one native
// pointer to a managed object; when that object dies, the runtime's "Cleaner"
// daemon calls the free function on the pointer exactly once. Registered bytes
// count as GC pressure and are queryable per object.
//
//   ASSIGN_OR_RETURN(Local<Object> registry,
//                    NativeAllocationRegistry::Create(frame, &FreeBuffer, 4096));
//   void* buffer = malloc(4096);
//   RETURN_IF_ERROR(NativeAllocationRegistry::RegisterNativeAllocation(
//       frame, registry, owner, buffer));
//
// The managed objects have the shapes Perfetto and ahat read from heap dumps:
// a libcore.util.NativeAllocationRegistry (long freeFunction, long size), a
// NativeAllocationRegistry$CleanerThunk per allocation (this$0, long
// nativePtr), and a sun.misc.Cleaner, a PhantomReference whose referent is the
// owner, linked into Cleaner's static list.
#ifndef KILN_VM_REFERENCES_H_
#define KILN_VM_REFERENCES_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/must_use.h"
#include "vm/frame.h"
#include "vm/object.h"

namespace kiln {

class NativeAllocationRegistry {
 public:
  using FreeFunction = void (*)(void* native_pointer);

  // Create makes a registry for allocations of `size` bytes freed by
  // `free_function`. InvalidArgument for a null function or negative size.
  KILN_MUST_USE static absl::StatusOr<Local<Object>> Create(Frame& frame,
                                                            FreeFunction free_function,
                                                            int64_t size);

  // RegisterNativeAllocation ties `native_pointer` to `referent`. If it fails
  // (the heap is full), the pointer is freed at once, as Android does, and the
  // error returned.
  KILN_MUST_USE static absl::Status RegisterNativeAllocation(Frame& frame, Local<Object> registry,
                                                             Local<Object> referent,
                                                             void* native_pointer);

  // NativeBytesOf: the native bytes registered against `object`, not yet
  // freed.
  static int64_t NativeBytesOf(Thread& thread, const Object* object);
};

// WeakReference: java.lang.ref.WeakReference, cleared by the collector when
// its referent is no longer strongly reachable.
class WeakReference {
 public:
  KILN_MUST_USE static absl::StatusOr<Local<Object>> New(Frame& frame, Local<Object> referent);
  // Get: the referent, or nullptr once cleared.
  static Object* Get(Thread& thread, const Object* reference);
};

}  // namespace kiln

#endif  // KILN_VM_REFERENCES_H_
