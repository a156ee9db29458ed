// Snapshot marking: the mark bits of a live heap dump, prepared at a
// safepoint and set later on the frozen heap, possibly in a forked child
// (see Heap::SnapshotMarking in heap.h).
//
// The child of a fork-mode dump is a copy of the VM thread alone: a lock
// another thread held at the fork stays held, and mimalloc's state may be
// mid-update. So everything Mark needs is gathered at the safepoint: the
// roots (through the binding, which needs the stopped world), the chunk list
// (guarded by the heap lock) and the mark stack, mapped with one entry for
// every object the chunks can hold (an object is at least a header, and
// mark-on-push pushes each object once), so that it cannot overflow. The
// mapping is address space only (MAP_NORESERVE); the marking touches as much
// of it as the deepest stack needs.
//
// The bits are the marking's own (Heap::SideMarkBits), in a mapping that
// covers the reservation at 1/64 of its size, also address space only. A
// chunk's own bitmap sits on the same 2 MiB page as its first objects: a
// child clearing and setting those bits copied every huge page of the heap
// (at N = 16M, a live fork-mode dump took 1.4 times the stop-the-world one,
// and the child's RSS became the heap's). Side bits fault in fresh zero
// pages, 1/64 of the heap, and leave the collection's bits alone.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gc/internal/heap.h"
#include "gc/internal/marker.h"

namespace kiln::gc {

absl::StatusOr<std::unique_ptr<Heap::SnapshotMarking>> Heap::PrepareSnapshotMarking() {
  auto marking = std::unique_ptr<SnapshotMarking>(new SnapshotMarking(*this));
  size_t entries = 0;
  const char* covered = nullptr;
  size_t covered_bytes = 0;
  bool huge_pages = false;
  {
    MutexLock lock(&mu_);
    if (reservation_ != nullptr) {
      covered = reservation_->base();
      covered_bytes = reservation_->size();
      huge_pages = reservation_->huge_pages();
    }
    marking->chunks_ = chunks_;
    // At most one entry per 16 bytes the chunks take (a large object's
    // chunk holds one), bounded without reading a chunk header: at the
    // safepoint each header read is a cache and TLB miss (a pause that grew
    // with the chunk count). The mapping reserves no memory; only the pages
    // the marking's deepest stack reaches get touched.
    entries = committed_bytes_ / kHeaderSize;
  }
  binding_->VisitRoots([&](ObjectHeader** slot) { marking->roots_.push_back(*slot); });

  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t bytes = ((entries + 1) * sizeof(ObjectHeader*) + page - 1) / page * page;
  const bool fail = fail_next_mark_stack_.exchange(false, std::memory_order_relaxed);
  void* stack = fail ? MAP_FAILED
                     : mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (stack == MAP_FAILED) {
    const int error = fail ? ENOMEM : errno;
    return absl::ResourceExhaustedError(absl::StrCat("heap marking: mapping a mark stack of ",
                                                     bytes, " bytes: ", std::strerror(error)));
  }
  marking->stack_ = static_cast<ObjectHeader**>(stack);
  marking->stack_entries_ = entries + 1;
  marking->mapped_bytes_ = bytes;

  // The side bits. Without them (no reservation, or no address space for
  // the mapping) the marks go into the chunks: correct, only dearer in a
  // fork-mode child.
  if (covered_bytes > 0) {
    const size_t side_bytes = (covered_bytes / 64 + page - 1) / page * page;
    void* side = mmap(nullptr, side_bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (side != MAP_FAILED) {
      // Fewer, larger zero-fill faults; the pages are freed with the marking.
      if (huge_pages) madvise(side, side_bytes, MADV_HUGEPAGE);
      marking->side_ = side;
      marking->side_bytes_ = side_bytes;
      marking->bits_ = SideMarkBits(covered, covered_bytes, static_cast<uint64_t*>(side));
    }
  }
  return marking;
}

Heap::SnapshotMarking::~SnapshotMarking() {
  if (stack_ != nullptr) munmap(stack_, mapped_bytes_);
  if (side_ != nullptr) munmap(side_, side_bytes_);
}

size_t Heap::SnapshotMarking::Mark() {
  // A fresh mapping reads as zero; after a Mark, MADV_DONTNEED makes it so
  // again (a system call: the child may make it).
  if (marked_ && side_ != nullptr) madvise(side_, side_bytes_, MADV_DONTNEED);
  marked_ = true;
  heap_.snapshot_marks_.fetch_add(1, std::memory_order_relaxed);
  for (Chunk* chunk : chunks_) {
    if (!bits_.Covers(chunk)) heap_.ClearMarks(chunk);
  }
  FixedMarkStack stack(stack_, stack_entries_);
  Marker<FixedMarkStack, SideMarkBits> marker(heap_, bits_, stack, /*discovered=*/nullptr);
  for (ObjectHeader* root : roots_) marker.Mark(root);
  marker.Drain();
  deepest_ = stack.deepest();
  return marker.objects();
}

}  // namespace kiln::gc
