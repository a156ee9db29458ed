// The collector: precise marking from the VM's roots, reference and
// finalizer processing, sweeping into free ranges, and the heap verifier.
// gc/COLLECTOR.md explains the design and lists the invariants.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "gc/internal/heap.h"
#include "gc/internal/marker.h"

namespace kiln::gc {
namespace {

ObjectHeader** SlotAt(char* object, uint32_t offset) {
  return reinterpret_cast<ObjectHeader**>(object + offset);
}

}  // namespace

size_t CacheSizedCollectionBudget() {
  // A quarter of the L3 sysconf reports (the whole package's here: 256 MiB,
  // so the 8 MiB clamp). Four per-core L2s (2 MiB here) was tried: faster
  // on a loaded machine, 20-30% slower on an idle one (gc/COLLECTOR.md).
  constexpr size_t kMiB = size_t{1} << 20;
  long cache = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (cache <= 0) cache = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (cache <= 0) return 4 * kMiB;
  return std::clamp(static_cast<size_t>(cache) / 4, 2 * kMiB, 8 * kMiB);
}

void Heap::ClearMarks(Chunk* chunk) const {
  if (chunk->large) {
    chunk->large_marked = false;
  } else {
    std::memset(BitmapOf(chunk), 0, options_.chunk_size / 64);
  }
}

void Heap::ClearMarks() {
  MutexLock lock(&mu_);
  for (Chunk* chunk : chunks_) ClearMarks(chunk);
}

CollectionStats Heap::Collect(GcCause cause, uint64_t observed_collections) {
  CollectionStats stats;
  stats.cause = cause;
  if (observed_collections != kAlways && observed_collections != collections()) {
    stats.skipped = true;
    return stats;
  }
  if (options_.verify) {
    MakeParsable();
    absl::Status status = Verify();
    KILN_CHECK(status.ok(), "heap verification before collection: ", status.ToString());
  }
  const absl::Time start = absl::Now();
  {
    // Sweeping may hand any free space to any thread: every Tlab starts over.
    MutexLock lock(&mu_);
    for (Tlab* tlab = tlabs_; tlab != nullptr; tlab = tlab->next_) RetireTlab(*tlab);
  }
  ClearMarks();
  GrowableMarkStack stack;
  std::vector<ObjectHeader*> discovered;
  Marker<GrowableMarkStack, ChunkMarkBits> marker(*this, ChunkMarkBits{}, stack, &discovered);
  binding_->VisitRoots([&](ObjectHeader** slot) { marker.Mark(*slot); });
  marker.Drain();

  // Weak references whose referents are not strongly reachable are cleared
  // before finalizers resurrect anything (Java's order).
  auto clear_weak = [&] {
    for (ObjectHeader* reference : discovered) {
      if (reference->layout->reference_kind != ReferenceKind::kWeak) continue;
      ObjectHeader** slot = SlotAt(reference->address(), reference->layout->referent_offset);
      if (*slot != nullptr && !IsMarked(*slot)) {
        *slot = nullptr;
        ++stats.weak_cleared;
      }
    }
  };
  clear_weak();
  {
    // Unreachable finalizable objects are resurrected (with everything they
    // reach) and wait for the VM's finalizer; they are collected in a later
    // cycle once finalized and unreachable.
    MutexLock lock(&finalization_mu_);
    auto dead = std::partition(finalizable_.begin(), finalizable_.end(),
                               [&](ObjectHeader* object) { return IsMarked(object); });
    for (auto it = dead; it != finalizable_.end(); ++it) {
      pending_finalization_.push_back(*it);
      marker.Mark(*it);
    }
    stats.finalizable_resurrected = finalizable_.end() - dead;
    finalizable_.erase(dead, finalizable_.end());
  }
  marker.Drain();
  clear_weak();  // weak references discovered while resurrecting

  std::vector<ClearedReference> cleared;
  for (ObjectHeader* reference : discovered) {
    if (reference->layout->reference_kind != ReferenceKind::kPhantom) continue;
    ObjectHeader** slot = SlotAt(reference->address(), reference->layout->referent_offset);
    if (*slot != nullptr && !IsMarked(*slot)) {
      cleared.push_back(ClearedReference{reference, *slot});
      *slot = nullptr;
    }
  }
  stats.phantom_cleared = cleared.size();
  // Side tables keyed by objects are swept while dead objects are still
  // where marking left them (sweeping may free a dead large object's chunk).
  binding_->SweepSystemWeaks([this](const ObjectHeader* object) { return IsMarked(object); });
  stats.live_objects = marker.objects();
  stats.live_bytes = marker.bytes();
  const absl::Time marked = absl::Now();
  stats.mark_time = marked - start;
  {
    MutexLock lock(&mu_);
    // The zeroer lets go of its range first: the sweep rebuilds the lists.
    PauseZeroer();
    // The next collection comes after a budget: the live bytes plus a
    // chunk (so collecting costs at most about one marking of the live set
    // per live set allocated), but at least the cache-sized minimum, so a
    // small live set's garbage cycles through cached memory rather than
    // through the initial heap (gc/COLLECTOR.md, "The collection budget").
    const size_t budget =
        std::max(stats.live_bytes + options_.chunk_size, options_.min_collection_budget_bytes);
    const size_t next_soft_limit =
        std::clamp(stats.live_bytes + budget, options_.chunk_size, options_.heap_limit_bytes);
    Sweep(stats, next_soft_limit);
    ++collections_;
    soft_limit_bytes_ = next_soft_limit;
    // kSweep zeroes the dead bytes here, in the pause; kBackground hands
    // them to the zeroer thread; kAllocation leaves them to the refills.
    stats.zeroed_bytes = ResumeZeroer();
  }
  stats.sweep_time = absl::Now() - marked;
  {
    MutexLock lock(&mu_);
    total_collection_time_ += stats.mark_time + stats.sweep_time;
    last_collection_ = stats;
  }
  if (options_.verify) {
    absl::Status status = Verify();
    KILN_CHECK(status.ok(), "heap verification after collection: ", status.ToString());
  }
  if (!cleared.empty()) binding_->OnReferencesCleared(cleared);
  if (stats.finalizable_resurrected > 0) binding_->OnFinalizationPending();
  return stats;
}

size_t Heap::UsedBytes() {
  size_t used = 0;
  for (const Chunk* chunk : chunks_) used += chunk->top - chunk->start;
  for (const FreeRange& range : free_ranges_) used -= range.size;
  for (const FreeRange& range : dirty_ranges_) used -= range.size;
  return used;
}

void Heap::Sweep(CollectionStats& stats, size_t next_soft_limit) {
  KILN_DCHECK(!zeroer_busy_, "sweeping while the zeroer holds a range");
  const size_t used_before = UsedBytes();
  // Every free byte is found again below, from the marks. Ranges that were
  // zeroed and not yet used become dirty again with their neighbours (they
  // merge with dead objects): rezeroing them is the price of not tracking
  // zeroed space across collections.
  free_ranges_.clear();
  dirty_ranges_.clear();
  std::vector<Chunk*> kept;
  std::vector<Chunk*> empty;
  std::vector<FreeRange> ranges;
  for (Chunk* chunk : chunks_) {
    if (chunk->large) {
      if (chunk->large_marked) {
        kept.push_back(chunk);
      } else {
        committed_bytes_ -= chunk->bytes;
        FreeChunk(chunk);
      }
      continue;
    }
    // The mark bitmap leads the way: only live objects are read, and the
    // space between one live object's end and the next one's start (dead
    // objects and fillers alike) becomes a free range. Sweeping costs the
    // bitmap plus the live objects, not the garbage.
    ranges.clear();
    size_t live = 0;
    char* run = chunk->start;
    ForEachMarkedObjectIn(Range{chunk->start, chunk->top}, [&](ObjectHeader* marked) {
      char* object = marked->address();
      if (object > run) ranges.push_back(FreeRange{run, static_cast<size_t>(object - run)});
      run = object + marked->Size();
      ++live;
    });
    if (live == 0 && chunk != current_) {
      empty.push_back(chunk);
      continue;
    }
    kept.push_back(chunk);
    // The trailing run too, on the current chunk: its bump space past `top`
    // is zero, the run is not.
    if (run < chunk->top) ranges.push_back(FreeRange{run, static_cast<size_t>(chunk->top - run)});
    for (const FreeRange& range : ranges) AddDirtyRange(range.start, range.size);
  }
  // Empty chunks: the heap would commit up to the soft limit again before
  // the next collection, so chunks within it are kept, as one dirty range
  // each (zeroing them in user space is cheaper than giving them back and
  // taking page faults that the kernel zeroes). The highest are given back
  // first, so the reservation stays dense.
  std::sort(empty.begin(), empty.end());
  while (!empty.empty() && committed_bytes_ > next_soft_limit) {
    committed_bytes_ -= empty.back()->bytes;
    FreeChunk(empty.back());
    empty.pop_back();
  }
  for (Chunk* chunk : empty) {
    kept.push_back(chunk);
    AddDirtyRange(chunk->start, static_cast<size_t>(chunk->top - chunk->start));
  }
  chunks_ = std::move(kept);
  stats.freed_bytes = used_before - UsedBytes();
}

absl::Status Heap::Verify() {
  absl::flat_hash_set<const ObjectHeader*> objects;
  ForEachObject([&](ObjectHeader* object) { objects.insert(object); });
  absl::Status status;
  auto check = [&](const ObjectHeader* holder, uint32_t offset, const ObjectHeader* target) {
    if (!status.ok() || target == nullptr || objects.contains(target)) return;
    status = absl::InternalError(absl::StrCat(
        "heap verification: ", holder == nullptr ? "root" : "object at 0x",
        holder == nullptr ? "" : absl::StrCat(absl::Hex(reinterpret_cast<uintptr_t>(holder))),
        holder == nullptr ? "" : absl::StrCat(" offset ", offset), " refers to 0x",
        absl::Hex(reinterpret_cast<uintptr_t>(target)), ", which is not an object"));
  };
  for (const ObjectHeader* object : objects) {
    const char* base = object->address();
    ForEachReferenceSlot(object, [&](uint32_t offset) {
      check(object, offset, LoadSlot(base, offset));
    });
    if (object->layout->reference_kind != ReferenceKind::kNone) {
      check(object, object->layout->referent_offset,
            LoadSlot(base, object->layout->referent_offset));
    }
  }
  binding_->VisitRoots([&](ObjectHeader** slot) { check(nullptr, 0, *slot); });
  return status;
}

}  // namespace kiln::gc
