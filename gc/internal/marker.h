// Heap::Marker: depth-first marking with mark-on-push, shared by the
// collector (collector.cc) and the snapshot marking of live heap dumps
// (snapshot_marking.cc). Internal to gc/.
//
// The marker is a template on its stack: a collection grows a std::vector; a
// snapshot marking, which may run in a forked child where no allocator may be
// called, uses a FixedMarkStack in memory mapped beforehand. Mark-on-push
// pushes each object at most once, so a stack with one entry per object the
// heap can hold never overflows.
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
  }
  bool Empty() const { return size_ == 0; }
  ObjectHeader* Pop() { return base_[--size_]; }

 private:
  ObjectHeader** const base_;
  const size_t capacity_;
  size_t size_ = 0;
};

template <typename Stack>
class Heap::Marker {
 public:
  // Reference objects with a referent are "discovered" into `discovered`
  // (a collection processes them after marking) rather than followed through
  // their referent; nullptr: not recorded.
  Marker(const Heap& heap, Stack& stack, std::vector<ObjectHeader*>* discovered)
      : heap_(heap), stack_(stack), discovered_(discovered) {}

  void Mark(ObjectHeader* object) {
    if (object != nullptr && heap_.SetMark(object)) stack_.Push(object);
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
  void Scan(ObjectHeader* object) {
    ++objects_;
    bytes_ += object->Size();
    const char* base = object->address();
    ForEachReferenceSlot(object, [&](uint32_t offset) { Mark(LoadSlot(base, offset)); });
    const Layout* layout = object->layout;
    if (discovered_ != nullptr && layout->reference_kind != ReferenceKind::kNone &&
        LoadSlot(base, layout->referent_offset) != nullptr) {
      discovered_->push_back(object);
    }
  }

  const Heap& heap_;
  Stack& stack_;
  std::vector<ObjectHeader*>* const discovered_;
  size_t objects_ = 0;
  size_t bytes_ = 0;
};

}  // namespace kiln::gc

#endif  // KILN_GC_INTERNAL_MARKER_H_
