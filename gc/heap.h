// The heap: where every managed object lives.
//
// This is Kiln's first collector, in the spirit of HotSpot's Epsilon: it
// allocates and never reclaims. It already has the shape the real collector
// keeps:
//
//  - Allocation is a bump pointer in a thread-local allocation buffer (Tlab),
//    inline; a Tlab is refilled from 1 MiB chunks under the heap lock; large
//    objects get a block of their own. Chunks and large blocks come from
//    mimalloc.
//  - The heap is parsable: unused Tlab space is plugged with filler objects, so
//    ForEachObject can visit every object, in address order, at a safepoint.
//  - A heap limit: an allocation that would exceed it fails with
//    ResourceExhausted instead of aborting.
//
// Threading: Allocate may be called by the thread owning the Tlab only.
// MakeParsable and ForEachObject require every mutator to be stopped (the VM
// proves it with a StoppedWorld token; gc/ cannot see that type).
#ifndef KILN_GC_HEAP_H_
#define KILN_GC_HEAP_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "base/mutex.h"
#include "gc/object_header.h"

namespace kiln::gc {

struct HeapOptions {
  // Bytes the heap may take from the system (chunks plus large objects).
  size_t heap_limit_bytes = size_t{512} << 20;
  size_t chunk_size = size_t{1} << 20;
  size_t tlab_size = size_t{32} << 10;
};

struct HeapStats {
  size_t limit_bytes = 0;
  size_t committed_bytes = 0;  // chunks plus large objects
  size_t used_bytes = 0;       // handed out to Tlabs and objects
  size_t chunks = 0;
  size_t large_objects = 0;
  size_t tlab_refills = 0;
};

class Heap;

// Tlab: one thread's allocation buffer. Owned by the thread, attached to one
// heap for its lifetime.
class Tlab {
 public:
  Tlab() = default;
  Tlab(const Tlab&) = delete;
  Tlab& operator=(const Tlab&) = delete;

  size_t remaining() const { return static_cast<size_t>(end_ - top_); }

 private:
  friend class Heap;
  char* top_ = nullptr;
  char* end_ = nullptr;
  Tlab* prev_ = nullptr;  // heap's list of attached Tlabs
  Tlab* next_ = nullptr;
};

class Heap {
 public:
  // Create validates `options` (sizes must be powers of two, the Tlab no
  // larger than a chunk, the limit at least one chunk).
  static absl::StatusOr<std::unique_ptr<Heap>> Create(const HeapOptions& options);
  ~Heap();

  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  const HeapOptions& options() const { return options_; }

  // AttachTlab registers a thread's Tlab; DetachTlab plugs its unused tail and
  // forgets it. A Tlab must be detached before it is destroyed.
  void AttachTlab(Tlab* tlab);
  void DetachTlab(Tlab* tlab);

  // Allocate returns `size` zeroed bytes (size already aligned, header
  // included) whose header names `layout` and `length`. Fails with
  // ResourceExhausted when the heap limit would be exceeded.
  absl::StatusOr<ObjectHeader*> Allocate(Tlab& tlab, const Layout* layout,
                                         size_t size, uint32_t length) {
    if (ABSL_PREDICT_TRUE(size <= tlab.remaining())) {
      char* result = tlab.top_;
      tlab.top_ += size;
      return Initialize(result, layout, length);
    }
    return AllocateSlow(tlab, layout, size, length);
  }

  // MakeParsable plugs every attached Tlab's unused tail with a filler, so the
  // heap can be walked. The world must be stopped.
  void MakeParsable();

  // ForEachObject calls `fn` on every object in the heap, reachable or not, in
  // address order, skipping fillers. The world must be stopped and the heap
  // parsable.
  void ForEachObject(absl::FunctionRef<void(ObjectHeader*)> fn);

  // Contains: whether `address` is the start of a span this heap handed out
  // (a chunk or large block); used by verifiers and tests, not on fast paths.
  bool Contains(const void* address);

  HeapStats Stats();

 private:
  struct Span {
    char* start;
    char* top;  // end of allocated space
    char* end;
  };

  explicit Heap(const HeapOptions& options) : options_(options) {}

  static ObjectHeader* Initialize(char* memory, const Layout* layout,
                                  uint32_t length) {
    auto* header = reinterpret_cast<ObjectHeader*>(memory);
    header->layout = layout;
    header->hash.store(0, std::memory_order_relaxed);
    header->length = length;
    return header;
  }

  absl::StatusOr<ObjectHeader*> AllocateSlow(Tlab& tlab, const Layout* layout,
                                             size_t size, uint32_t length);
  // Refills `tlab`; false when the heap limit is reached.
  bool RefillTlab(Tlab& tlab) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Carves `size` bytes from the current chunk, starting a new one if needed.
  char* AllocateInChunk(size_t size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  char* AllocateLarge(size_t size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RetireTlab(Tlab& tlab) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status OutOfMemory(size_t size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const HeapOptions options_;
  Mutex mu_;
  std::vector<Span> chunks_ ABSL_GUARDED_BY(mu_);  // last one is current
  std::vector<Span> large_ ABSL_GUARDED_BY(mu_);
  Tlab* tlabs_ ABSL_GUARDED_BY(mu_) = nullptr;
  size_t committed_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t tlab_refills_ ABSL_GUARDED_BY(mu_) = 0;
};

// FillGap writes a filler object over [start, start + size); size is a
// multiple of 8.
void FillGap(char* start, size_t size);

}  // namespace kiln::gc

#endif  // KILN_GC_HEAP_H_
