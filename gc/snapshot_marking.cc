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
// of it as the deepest stack needs. Marking in the child writes the child's
// copy-on-write copy of the bitmaps: the parent's bits are untouched.
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
  {
    MutexLock lock(&mu_);
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
  return marking;
}

Heap::SnapshotMarking::~SnapshotMarking() {
  if (stack_ != nullptr) munmap(stack_, mapped_bytes_);
}

size_t Heap::SnapshotMarking::Mark() {
  for (Chunk* chunk : chunks_) heap_.ClearMarks(chunk);
  FixedMarkStack stack(stack_, stack_entries_);
  Marker<FixedMarkStack> marker(heap_, stack, /*discovered=*/nullptr);
  for (ObjectHeader* root : roots_) marker.Mark(root);
  marker.Drain();
  deepest_ = stack.deepest();
  return marker.objects();
}

}  // namespace kiln::gc
