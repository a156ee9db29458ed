// Tlab: one thread's allocation buffer, and the allocation fast path.
//
// Public because the fast path is inline in kiln::Thread::Allocate
// (vm/thread.h): a bump of the buffer's top and the header's three stores,
// no call. Everything else about the heap (refilling a Tlab, collecting)
// is gc/internal/heap.h, out of the embedder's reach.
#ifndef KILN_GC_TLAB_H_
#define KILN_GC_TLAB_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/optimization.h"
#include "base/must_use.h"
#include "gc/object_header.h"

namespace kiln::gc {

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
  friend ObjectHeader* TryAllocateInTlab(Tlab& tlab, const Layout* layout, size_t size,
                                         uint32_t length);
  char* top_ = nullptr;
  char* end_ = nullptr;
  Tlab* prev_ = nullptr;  // heap's list of attached Tlabs
  Tlab* next_ = nullptr;
};

// InitializeHeader writes a new object's header over zeroed `memory`.
inline ObjectHeader* InitializeHeader(char* memory, const Layout* layout, uint32_t length) {
  auto* header = reinterpret_cast<ObjectHeader*>(memory);
  header->layout = layout;
  header->lock_word.store(0, std::memory_order_relaxed);
  header->length = length;
  return header;
}

// TryAllocateInTlab is Heap::Allocate's inline fast path alone: `size`
// zeroed bytes (size aligned, header included) bumped from `tlab`, or
// nullptr when the Tlab is too small (then call Heap::Allocate).
KILN_MUST_USE inline ObjectHeader* TryAllocateInTlab(Tlab& tlab, const Layout* layout,
                                                     size_t size, uint32_t length) {
  if (ABSL_PREDICT_FALSE(size > tlab.remaining())) return nullptr;
  char* result = tlab.top_;
  tlab.top_ += size;
  return InitializeHeader(result, layout, length);
}

}  // namespace kiln::gc

#endif  // KILN_GC_TLAB_H_
