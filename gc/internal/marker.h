// Heap::Marker: depth-first marking with mark-on-push, shared by the
// collector (collector.cc) and the snapshot marking of live heap dumps
// (snapshot_marking.cc). Internal to gc/.
//
// The marker is a template on its stack and on where its bits are
// (Heap::ChunkMarkBits, Heap::SideMarkBits): a collection grows a
// std::vector and marks in the chunks; a snapshot marking, which may run in
// a forked child where no allocator may be called, uses a FixedMarkStack in
// memory mapped beforehand and bits of its own. Mark-on-push
// pushes each object at most once, so a stack with one entry per object the
// heap can hold never overflows.
//
// An object array longer than kArraySlice is scanned a slice at a time: its
// first kArraySlice elements are marked and pushed above a two-entry
// continuation (the array, tagged in its low bit, and the next index), which
// pushes the next slice when it is popped. Pushing a whole array at once made
// the stack as deep as the array: the heap shape's table (N/4 elements) took
// 32 MB of mark stack at N = 16M, which a live dump's RSS showed. With
// slices the stack holds at most kArraySlice elements per array being
// scanned. The bound above still holds: such an array is pushed once and
// has at most one continuation at a time, and it takes over 256 stack
// entries' worth of heap (16 bytes per entry) beyond its own one.
#ifndef KILN_GC_INTERNAL_MARKER_H_
#define KILN_GC_INTERNAL_MARKER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/check.h"
#include "gc/internal/heap.h"

namespace kiln::gc {

inline ObjectHeader* LoadSlot(const char* object, uint32_t offset) {
  return *reinterpret_cast<ObjectHeader* const*>(object + offset);
}

// ForEachReferenceSlot calls `fn(offset)` for every strong reference slot of
// `object` (not the referent of a reference object), last slot first. The
// marker pushes in this order so that it pops, and scans, the first field
// (or element) first: a depth-first walk in field order then follows the
// allocation order of structures built recursively (trees allocated in
// pre-order, lists, arrays filled in index order), and reads memory mostly
// forwards. On the heap shape's tree this cut marking by about a fifth.
template <typename Fn>
void ForEachReferenceSlot(const ObjectHeader* object, Fn&& fn) {
  const Layout* layout = object->layout;
  if (layout->kind == LayoutKind::kInstance) {
    for (uint32_t i = layout->num_ref_offsets; i-- > 0;) fn(layout->ref_offsets[i]);
  } else if (layout->kind == LayoutKind::kObjectArray) {
    for (uint32_t i = object->length; i-- > 0;) {
      fn(static_cast<uint32_t>(kHeaderSize + i * sizeof(ObjectHeader*)));
    }
  }
}

// GrowableMarkStack: a collection's mark stack.
class GrowableMarkStack {
 public:
  void Push(ObjectHeader* object) { stack_.push_back(object); }
  bool Empty() const { return stack_.empty(); }
  ObjectHeader* Pop() {
    ObjectHeader* object = stack_.back();
    stack_.pop_back();
    return object;
  }

 private:
  std::vector<ObjectHeader*> stack_;
};

// FixedMarkStack: a mark stack in the caller's memory, `capacity` entries;
// never allocates. Running out is a bug (the capacity bounds the objects).
class FixedMarkStack {
 public:
  FixedMarkStack(ObjectHeader** base, size_t capacity) : base_(base), capacity_(capacity) {}
  void Push(ObjectHeader* object) {
    KILN_CHECK(size_ < capacity_, "snapshot mark stack overflow at ", capacity_, " entries");
    base_[size_++] = object;
    deepest_ = size_ > deepest_ ? size_ : deepest_;
  }
  // deepest: the most entries it held (the stack's touched pages).
  size_t deepest() const { return deepest_; }
  bool Empty() const { return size_ == 0; }
  ObjectHeader* Pop() { return base_[--size_]; }

 private:
  ObjectHeader** const base_;
  const size_t capacity_;
  size_t size_ = 0;
  size_t deepest_ = 0;
};

// The elements an object array's scan marks and pushes at a time.
inline constexpr uint32_t kArraySlice = 512;

template <typename Stack, typename Bits>
class Heap::Marker {
 public:
  // Reference objects with a referent are "discovered" into `discovered`
  // (a collection processes them after marking) rather than followed through
  // their referent; nullptr: not recorded.
  Marker(const Heap& heap, Bits bits, Stack& stack, std::vector<ObjectHeader*>* discovered)
      : heap_(heap), bits_(bits), stack_(stack), discovered_(discovered) {}

  void Mark(ObjectHeader* object) {
    if (object != nullptr && heap_.SetMarkIn(bits_, object)) stack_.Push(object);
  }

  // Drain scans until the stack is empty. Marking is bound by cache misses
  // on the objects themselves (the bitmap is small and warm): a popped object
  // waits in a short FIFO behind a prefetch of its header, so that its memory
  // is on its way by the time it is scanned.
  void Drain() {
    static constexpr size_t kPrefetchDepth = 16;
    ObjectHeader* fifo[kPrefetchDepth];
    size_t head = 0;
    size_t count = 0;
    for (;;) {
      while (count < kPrefetchDepth && !stack_.Empty()) {
        ObjectHeader* object = stack_.Pop();
        if (IsContinuation(object)) {
          const auto next = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(stack_.Pop()));
          ScanSlice(Untag(object), next);
          continue;
        }
        __builtin_prefetch(object);
        fifo[(head + count++) % kPrefetchDepth] = object;
      }
      if (count == 0) return;
      ObjectHeader* object = fifo[head];
      head = (head + 1) % kPrefetchDepth;
      --count;
      Scan(object);
    }
  }

  size_t objects() const { return objects_; }
  size_t bytes() const { return bytes_; }

 private:
  static bool IsContinuation(const ObjectHeader* entry) {
    return (reinterpret_cast<uintptr_t>(entry) & 1) != 0;
  }
  static ObjectHeader* Untag(ObjectHeader* entry) {
    return reinterpret_cast<ObjectHeader*>(reinterpret_cast<uintptr_t>(entry) & ~uintptr_t{1});
  }

  // ScanSlice marks elements [from, from + kArraySlice) of `array`, after
  // pushing the continuation for the rest (below them, so that they are
  // popped first and the array is read forwards).
  void ScanSlice(ObjectHeader* array, uint32_t from) {
    const uint32_t length = array->length;
    const uint32_t end = length - from > kArraySlice ? from + kArraySlice : length;
    if (end < length) {
      stack_.Push(reinterpret_cast<ObjectHeader*>(static_cast<uintptr_t>(end)));
      stack_.Push(reinterpret_cast<ObjectHeader*>(reinterpret_cast<uintptr_t>(array) | 1));
    }
    const char* base = array->address();
    for (uint32_t i = end; i-- > from;) {
      Mark(LoadSlot(base, static_cast<uint32_t>(kHeaderSize + i * sizeof(ObjectHeader*))));
    }
  }

  void Scan(ObjectHeader* object) {
    ++objects_;
    bytes_ += object->Size();
    const char* base = object->address();
    const Layout* layout = object->layout;
    if (layout->kind == LayoutKind::kObjectArray && object->length > kArraySlice) {
      ScanSlice(object, 0);  // never a Reference: nothing to discover
      return;
    }
    ForEachReferenceSlot(object, [&](uint32_t offset) { Mark(LoadSlot(base, offset)); });
    if (discovered_ != nullptr && layout->reference_kind != ReferenceKind::kNone &&
        LoadSlot(base, layout->referent_offset) != nullptr) {
      discovered_->push_back(object);
    }
  }

  const Heap& heap_;
  const Bits bits_;
  Stack& stack_;
  std::vector<ObjectHeader*>* const discovered_;
  size_t objects_ = 0;
  size_t bytes_ = 0;
};

}  // namespace kiln::gc

#endif  // KILN_GC_INTERNAL_MARKER_H_
