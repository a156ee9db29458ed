// What the collector reports: why a collection ran, what it did, and the
// heap's size and occupancy. Public: kiln::Runtime::CollectGarbage and
// Runtime::heap_stats return these; the heap itself (gc/internal/heap.h) is
// not part of the embedding API.
#ifndef KILN_GC_GC_STATS_H_
#define KILN_GC_GC_STATS_H_

#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"

namespace kiln::gc {

enum class GcCause : uint8_t {
  kAllocationFailure,  // an allocation found no room within the soft limit
  kExplicit,           // Runtime::CollectGarbage
  kNativePressure,     // registered native bytes grew past the watermark
  kStress,             // stress mode: every allocation collects
};

const char* GcCauseName(GcCause cause);

// CollectionStats: what one collection did.
// ZeroingMode: who zeroes the free space a sweep leaves (dead objects'
// bytes): a background thread between collections, the sweep itself, in
// the pause, or the allocating thread, one Tlab (or medium object) at a
// time just before it uses it. Memory fresh from the kernel is never zeroed
// again; see
// gc/COLLECTOR.md, "Zeroing". (gc::HeapOptions::zeroing; public because
// RuntimeOptions names it.)
enum class ZeroingMode { kBackground, kSweep, kAllocation };

struct CollectionStats {
  GcCause cause = GcCause::kExplicit;
  bool skipped = false;  // another collection ran since the caller looked
  size_t live_objects = 0;
  size_t live_bytes = 0;
  // Bytes that held objects before the collection and are free after it.
  size_t freed_bytes = 0;
  size_t weak_cleared = 0;
  size_t phantom_cleared = 0;
  size_t finalizable_resurrected = 0;
  // Bytes the sweep zeroed in the pause (HeapOptions::Zeroing::kSweep).
  size_t zeroed_bytes = 0;
  absl::Duration mark_time;
  absl::Duration sweep_time;
};

// HeapStats: the heap's size and occupancy now, and its collection totals.
struct HeapStats {
  size_t limit_bytes = 0;
  size_t soft_limit_bytes = 0;
  size_t committed_bytes = 0;  // chunks plus large objects
  size_t free_bytes = 0;       // free ranges plus the current chunk's tail
  size_t chunks = 0;
  size_t large_objects = 0;
  size_t tlab_refills = 0;
  // Where zeroing happened, in bytes since the heap was created: by the
  // background zeroer, by sweeps (kSweep), and by allocation itself (when
  // the zeroer was behind, or a reused chunk or large object's memory was
  // not known zero). Memory fresh from the kernel is in none of them.
  size_t background_zeroed_bytes = 0;
  size_t sweep_zeroed_bytes = 0;
  size_t allocation_zeroed_bytes = 0;
  // Free bytes still holding dead objects (the zeroer's work left).
  size_t dirty_bytes = 0;
  // The heap's reserved address space, whether it asked for transparent
  // huge pages (and the kernel accepted), and how many of its bytes the
  // kernel backs with huge pages now (/proc/self/smaps AnonHugePages).
  size_t reserved_bytes = 0;
  bool huge_pages = false;
  size_t huge_page_bytes = 0;
  uint64_t collections = 0;
  // Time spent in collections (mark plus sweep), and what the latest did.
  absl::Duration total_collection_time;
  CollectionStats last_collection;
};

}  // namespace kiln::gc

#endif  // KILN_GC_GC_STATS_H_
