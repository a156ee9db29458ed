// The heap: where every managed object lives, and its collector.
//
// Allocation is a bump pointer in a thread-local allocation buffer (Tlab),
// inline. Tlabs are carved from free ranges left by the last sweep, or from
// the bump tail of the current chunk; objects too big for a Tlab go straight
// to a free range or chunk; large objects get a chunk of their own. Chunks are
// chunk_size-aligned blocks from mimalloc, each starting with a header and a
// mark bitmap, so an object's mark bit is found from its address alone.
//
// The collector is a precise, non-moving, stop-the-world mark-sweep; see
// gc/COLLECTOR.md for why, and for its invariants. The heap is always
// parsable at a safepoint (free space and unused Tlab tails are filler
// objects), so ForEachObject visits every object, live or dead, in address
// order.
//
// Threading: Allocate is called by the thread owning the Tlab. Collect,
// MakeParsable, ForEachObject, Verify and the mark-bit queries require every
// mutator to be stopped (the VM proves it with a StoppedWorld token; gc/
// cannot see that type).
#ifndef KILN_GC_INTERNAL_HEAP_H_
#define KILN_GC_INTERNAL_HEAP_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/must_use.h"
#include "base/mutex.h"
#include "gc/gc_stats.h"
#include "gc/internal/binding.h"
#include "gc/internal/heap_reservation.h"
#include "gc/object_header.h"
#include "gc/tlab.h"

namespace kiln::gc {

struct HeapOptions {
  // Bytes the heap may take from the system (chunks plus large objects).
  size_t heap_limit_bytes = size_t{512} << 20;
  // The heap grows without collecting up to this size before its first
  // collection. After each collection the heap may allocate a budget before
  // the next one: the live bytes plus a chunk, but at least
  // min_collection_budget_bytes (the soft limit becomes live + budget, never
  // above the hard limit). See gc/COLLECTOR.md, "The collection budget".
  size_t initial_soft_limit_bytes = size_t{16} << 20;
  // The least a collection leaves to allocate before the next one; 0: sized
  // to the cache (CacheSizedCollectionBudget), so that a small live set's
  // garbage cycles through memory that is still cached.
  size_t min_collection_budget_bytes = 0;
  size_t chunk_size = size_t{1} << 20;
  size_t tlab_size = size_t{32} << 10;
  // Stress mode: every allocation collects first.
  bool stress = false;
  // Verify the heap (Heap::Verify) before and after every collection and
  // abort on the first bad reference.
  bool verify = false;
  // Back the heap with transparent huge pages (MADV_HUGEPAGE on its
  // reserved address space) where the kernel offers them: a fork-mode dump's
  // fork() then copies one page-table entry per 2 MiB. Off: 4 KiB pages.
  bool huge_pages = true;
  // Address space reserved for chunks (HeapReservation); 0: twice
  // heap_limit_bytes. Chunks that do not fit come from mimalloc.
  size_t reserved_bytes = 0;
  // Who zeroes the free space a sweep leaves (gc/gc_stats.h, ZeroingMode).
  using Zeroing = ZeroingMode;
  Zeroing zeroing = Zeroing::kAllocation;
};

// CacheSizedCollectionBudget: a quarter of the last-level cache
// (sysconf's L3, else L2), between 2 and 8 MiB; 4 MiB if the cache size is
// unknown. HeapOptions::min_collection_budget_bytes's default.
size_t CacheSizedCollectionBudget();

class Heap {
  struct Chunk;  // below, private

 public:
  // Create validates `options` (sizes must be powers of two, the Tlab no
  // larger than a chunk, the limit at least one chunk). `binding` must
  // outlive the heap.
  KILN_MUST_USE static absl::StatusOr<std::unique_ptr<Heap>> Create(const HeapOptions& options,
                                                                    VmBinding* binding);
  ~Heap();

  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  const HeapOptions& options() const { return options_; }

  // AttachTlab registers a thread's Tlab; DetachTlab retires it and forgets
  // it. A Tlab must be detached before it is destroyed.
  void AttachTlab(Tlab* tlab);
  void DetachTlab(Tlab* tlab);

  // Allocate returns `size` zeroed bytes (size aligned, header included)
  // whose header names `layout` and `length`. The slow path may run a
  // collection (through the binding) and so is a safepoint. Fails with
  // ResourceExhausted when even a full collection leaves no room.
  KILN_MUST_USE absl::StatusOr<ObjectHeader*> Allocate(Tlab& tlab, const Layout* layout,
                                                       size_t size, uint32_t length) {
    if (ObjectHeader* object = TryAllocateInTlab(tlab, layout, size, length)) return object;
    return AllocateSlow(tlab, layout, size, length);
  }

  // TryAllocateInTlab (gc/tlab.h) is Allocate's inline fast path alone.

  // Collect runs a full collection: mark from the binding's roots, process
  // weak and phantom references and finalizable objects, sweep. World
  // stopped. If `observed_collections` is given and a collection has run
  // since the caller read collections(), it returns at once (skipped).
  static constexpr uint64_t kAlways = ~uint64_t{0};
  CollectionStats Collect(GcCause cause, uint64_t observed_collections = kAlways);
  uint64_t collections();

  // RegisterFinalizable: `object` gets finalized (Heap::TakePendingFinalization
  // hands it out) once it is no longer strongly reachable, and is collected
  // only after that.
  void RegisterFinalizable(ObjectHeader* object);
  // TakePendingFinalization: one object waiting to be finalized, or nullptr.
  // The caller must root it before its next safepoint poll.
  ObjectHeader* TakePendingFinalization();
  // VisitPendingFinalization: the objects waiting for finalization are roots;
  // the VM includes them in VisitRoots. World stopped.
  void VisitPendingFinalization(absl::FunctionRef<void(ObjectHeader** slot)> fn);

  // MakeParsable plugs every attached Tlab's unused tail with a filler, so the
  // heap can be walked. World stopped.
  void MakeParsable();

  // ForEachObject calls `fn` on every object in the heap, reachable or not, in
  // address order, skipping fillers. World stopped, heap parsable.
  void ForEachObject(absl::FunctionRef<void(ObjectHeader*)> fn);

  // ParsableRanges: the heap's object space as ranges in address order, for
  // walks that may take no lock and call no allocator (a heap dump written by
  // a forked child, which sees the heap frozen). World stopped, heap
  // parsable; valid until the world resumes (or, in a forked child, for good).
  struct Range {
    char* start;
    char* end;
  };
  std::vector<Range> ParsableRanges();
  // ParsableRanges in two steps, so that a pause pays only a copy of the
  // chunk list: SnapshotRanges (world stopped, heap parsable) copies the
  // chunk pointers and reserves room for the ranges; Fill (later, on the
  // same frozen heap: the world still stopped, or in a forked child) sorts
  // them in place and reads each chunk's bounds, with no lock and no
  // allocation. Reading the chunks' headers (one cache and TLB miss each,
  // 3,400 chunks at N = 40M) was 0.2 to 0.75 ms of a fork-mode dump's pause.
  class RangeSnapshot {
   public:
    RangeSnapshot() = default;
    // Fill: the ranges, in address order (computed on the first call).
    const std::vector<Range>& Fill();

   private:
    friend class Heap;
    std::vector<Chunk*> chunks_;
    std::vector<Range> ranges_;  // capacity: chunks_.size()
    bool filled_ = false;
  };
  RangeSnapshot SnapshotRanges();
  // ForEachObjectIn calls `fn` on every object in `range`, skipping fillers.
  template <typename Fn>
  static void ForEachObjectIn(const Range& range, Fn&& fn) {
    for (char* p = range.start; p < range.end;) {
      auto* object = reinterpret_cast<ObjectHeader*>(p);
      p += object->Size();
      if (!object->layout->IsFiller()) fn(object);
    }
  }

  // ForEachMarkedObjectIn calls `fn` on every object in `range` (one of
  // ParsableRanges: a chunk's) that the last collection marked, in address
  // order, found through the mark bitmap: unmarked objects are never read.
  // The marks must be valid, as for IsMarked. A snapshot marking's own:
  // SnapshotMarking::ForEachMarkedObjectIn.
  template <typename Fn>
  void ForEachMarkedObjectIn(const Range& range, Fn&& fn) const {
    ForEachMarkedIn(ChunkMarkBits{}, range, fn);
  }

  // Verify checks that every reference in every object and root is null or
  // the start of an object in this heap. World stopped, heap parsable. The
  // error names the holder's address and the slot's offset.
  KILN_MUST_USE absl::Status Verify();

  // SnapshotMarking: the mark bits of a live heap dump, which marks without
  // collecting. It marks in two steps, so that the marking can run in a
  // forked child (a live fork-mode dump stops the world only to fork):
  // PrepareSnapshotMarking (world stopped) records the binding's strong roots
  // and the chunks, and maps a mark stack with room for every object the
  // heap holds (address space, touched only as deep as the marking goes);
  // Mark runs later on the frozen heap, taking no lock and calling no
  // allocator.
  class SnapshotMarking;
  // PrepareSnapshotMarking: world stopped. ResourceExhausted if the mark
  // stack cannot be mapped.
  KILN_MUST_USE absl::StatusOr<std::unique_ptr<SnapshotMarking>> PrepareSnapshotMarking();
  // snapshot_marks: how many SnapshotMarking::Mark calls ran in this
  // process (a fork-mode dump's child counts in its own copy): which process
  // a live dump marked in.
  uint64_t snapshot_marks() const { return snapshot_marks_.load(std::memory_order_relaxed); }
  // Testing: the next PrepareSnapshotMarking fails as if mapping its mark
  // stack had failed (ENOMEM), once; what a live dump then does is tested in
  // inspection/.
  void FailNextMarkStackMappingForTesting() {
    fail_next_mark_stack_.store(true, std::memory_order_relaxed);
  }

  // IsMarked: after a collection's marking (a snapshot marking's bits are
  // its own: SnapshotMarking::IsMarked). Inline, and reads the bitmap only
  // (a large object's chunk header; no lock).
  bool IsMarked(const ObjectHeader* object) const { return IsMarkedIn(ChunkMarkBits{}, object); }

  // Testing: while held, the background zeroer takes no new range, so
  // allocations find dirty ranges and zero them themselves.
  void HoldZeroerForTesting(bool hold);

  // PauseBackgroundZeroer / ResumeBackgroundZeroer: world stopped, outside a
  // collection (a heap dump's VM operation, after any collection it runs):
  // the zeroer stops at its next 64 KiB piece, hands its range back, and
  // takes none until resumed, as during a collection. So it neither
  // contends with the dump for the other core and memory bandwidth nor
  // writes (page faults, copy-on-write splits) while a fork-mode dump
  // forks. No allocation can wait for it meanwhile: the world is stopped.
  void PauseBackgroundZeroer();
  void ResumeBackgroundZeroer();
  // Testing: whether the zeroer is told to stop (paused, or exiting). Reads
  // an atomic, no lock: a fork-mode dump's child may call it.
  bool ZeroerStoppedForTesting() const { return zeroer_stop_.load(std::memory_order_relaxed); }

  // Stats: reads /proc/self/smaps for huge_page_bytes (statistics, not a
  // hot path: with 4 KiB pages, 10 to 30 ms for a 400 MB heap).
  HeapStats Stats();
  // committed_bytes: Stats().committed_bytes without the rest (no /proc
  // read, no walk of the free lists): for a dump's pause.
  size_t committed_bytes();
  size_t limit_bytes() const { return options_.heap_limit_bytes; }

 private:
  struct alignas(64) Chunk {
    bool large = false;
    bool large_marked = false;
    char* start = nullptr;  // the first object
    char* top = nullptr;    // the end of parsable space
    char* end = nullptr;    // the end of usable space
    size_t bytes = 0;       // what was taken from mimalloc
  };
  static_assert(sizeof(Chunk) == 64, "IsLarge: the header is smaller than any bitmap");
  struct FreeRange {
    char* start;
    size_t size;
  };
  template <typename Stack, typename Bits>
  class Marker;  // gc/internal/marker.h

  // Where a marking keeps its bits: one per 8 bytes of a chunk, indexed by
  // the offset from the chunk's start, and one per large object.
  // ChunkMarkBits: a collection's, in each chunk right after its header (a
  // large object's: a flag in the header).
  struct ChunkMarkBits {
    static uint64_t* Words(const Chunk* chunk) {
      return reinterpret_cast<uint64_t*>(const_cast<Chunk*>(chunk) + 1);
    }
    static bool IsLargeMarked(const Chunk* chunk) { return chunk->large_marked; }
    static bool SetLargeMark(const Chunk* chunk) {
      bool& flag = const_cast<Chunk*>(chunk)->large_marked;
      if (flag) return false;
      flag = true;
      return true;
    }
  };
  // SideMarkBits: a snapshot marking's, in a mapping of its own that covers
  // the reservation, chunk_size / 64 bytes per chunk slot at the chunk's
  // offset / 64; a large object's bit is its chunk's first word, which no
  // small object's bit shares (a small chunk's objects start past its
  // bitmap). Chunks outside the reservation (from mimalloc) keep their marks
  // in the chunk. Writing the chunks' own bits in a fork-mode dump's child
  // would copy every 2 MiB page of the heap on its first write.
  class SideMarkBits {
   public:
    SideMarkBits() = default;  // covers nothing: every chunk's bits in the chunk
    SideMarkBits(const char* base, size_t size, uint64_t* words)
        : base_(reinterpret_cast<uintptr_t>(base)), size_(size), words_(words) {}
    bool Covers(const Chunk* chunk) const { return Offset(chunk) < size_; }
    uint64_t* Words(const Chunk* chunk) const {
      const uintptr_t offset = Offset(chunk);
      return offset < size_ ? words_ + (offset >> 9) : ChunkMarkBits::Words(chunk);
    }
    bool IsLargeMarked(const Chunk* chunk) const {
      const uintptr_t offset = Offset(chunk);
      return offset < size_ ? (words_[offset >> 9] & 1) != 0 : chunk->large_marked;
    }
    bool SetLargeMark(const Chunk* chunk) const {
      const uintptr_t offset = Offset(chunk);
      if (offset >= size_) return ChunkMarkBits::SetLargeMark(chunk);
      uint64_t& word = words_[offset >> 9];
      if (word & 1) return false;
      word |= 1;
      return true;
    }

   private:
    uintptr_t Offset(const Chunk* chunk) const { return reinterpret_cast<uintptr_t>(chunk) - base_; }
    uintptr_t base_ = 0;
    size_t size_ = 0;
    uint64_t* words_ = nullptr;
  };
  template <typename Bits>
  bool IsMarkedIn(const Bits& bits, const ObjectHeader* object) const {
    const Chunk* chunk = ChunkOf(object);
    if (IsLarge(object)) return bits.IsLargeMarked(chunk);
    const size_t bit = (object->address() - reinterpret_cast<const char*>(chunk)) >> 3;
    return (bits.Words(chunk)[bit >> 6] >> (bit & 63)) & 1;
  }
  // SetMarkIn marks `object`; false if it was already marked. Inline: the
  // marker calls it for every reference.
  template <typename Bits>
  bool SetMarkIn(const Bits& bits, ObjectHeader* object) const {
    const Chunk* chunk = ChunkOf(object);
    if (IsLarge(object)) return bits.SetLargeMark(chunk);
    const size_t bit = (object->address() - reinterpret_cast<const char*>(chunk)) >> 3;
    uint64_t& word = bits.Words(chunk)[bit >> 6];
    const uint64_t mask = uint64_t{1} << (bit & 63);
    if (word & mask) return false;
    word |= mask;
    return true;
  }
  template <typename Bits, typename Fn>
  void ForEachMarkedIn(const Bits& bits, const Range& range, Fn& fn) const {
    const Chunk* chunk = ChunkOf(range.start);
    if (chunk->large) {
      if (bits.IsLargeMarked(chunk)) fn(reinterpret_cast<ObjectHeader*>(range.start));
      return;
    }
    char* const base = reinterpret_cast<char*>(const_cast<Chunk*>(chunk));
    const uint64_t* const words = bits.Words(chunk);
    const size_t end_word = (static_cast<size_t>(range.end - base) + 511) >> 9;
    for (size_t w = static_cast<size_t>(range.start - base) >> 9;; ++w) {
      // Runs of empty words (dead or free space) in a loop of their own,
      // on locals the compiler keeps in registers (the loop below spills
      // its counters around `fn`): a sweep of a mostly dead heap is mostly
      // this.
      const uint64_t* word_at = words + w;
      const uint64_t* const words_end = words + end_word;
      while (word_at < words_end && *word_at == 0) ++word_at;
      if (word_at >= words_end) break;
      w = static_cast<size_t>(word_at - words);
      for (uint64_t word = *word_at; word != 0; word &= word - 1) {
        fn(reinterpret_cast<ObjectHeader*>(base + ((w * 64 + __builtin_ctzll(word)) << 3)));
      }
    }
  }

  Heap(const HeapOptions& options, VmBinding* binding) : options_(options), binding_(binding) {}

  static ObjectHeader* Initialize(char* memory, const Layout* layout, uint32_t length) {
    return InitializeHeader(memory, layout, length);
  }

  Chunk* ChunkOf(const void* address) const {
    return reinterpret_cast<Chunk*>(reinterpret_cast<uintptr_t>(address) &
                                    ~(options_.chunk_size - 1));
  }
  // IsLarge: a large object sits alone in its chunk right after the header;
  // a small chunk's objects start after its bitmap. So the offset tells,
  // without reading the chunk header: marking asks for every reference, and
  // chunk headers, all chunk-aligned, share a few cache sets.
  bool IsLarge(const ObjectHeader* object) const {
    return (reinterpret_cast<uintptr_t>(object) & (options_.chunk_size - 1)) == sizeof(Chunk);
  }
  uint64_t* BitmapOf(Chunk* chunk) const { return ChunkMarkBits::Words(chunk); }
  size_t ChunkOverhead() const;
  // ClearMarks clears every chunk's mark bits (a collection's first step).
  void ClearMarks();
  void ClearMarks(Chunk* chunk) const;

  enum class Limit { kSoft, kHard };
  KILN_MUST_USE absl::StatusOr<ObjectHeader*> AllocateSlow(Tlab& tlab, const Layout* layout,
                                                           size_t size, uint32_t length);
  char* TryAllocate(Tlab& tlab, size_t size, Limit limit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // RefillTlab gives `tlab` fresh space for at least `min_size` bytes.
  bool RefillTlab(Tlab& tlab, size_t min_size, Limit limit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // AllocateOutsideTlab places a medium or large object directly, zeroed.
  char* AllocateOutsideTlab(size_t size, Limit limit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // CarveFront takes the front *size bytes (fewer if the range is smaller)
  // of the most recent range in `ranges` of at least min_size bytes and sets
  // *size to what it took; the rest keeps a filler header, and a rest too
  // small to carve leaves the list. nullptr if no range is big enough.
  static char* CarveFront(std::vector<FreeRange>& ranges, size_t min_size, size_t* size);
  // TakeFreeRange carves up to *size bytes (at least min_size) from a zeroed
  // free range and sets *size to what it took; nullptr if no range is big
  // enough.
  char* TakeFreeRange(size_t min_size, size_t* size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // ZeroDirtyRange: the background zeroer is behind; zero a dirty range of
  // at least min_size bytes here and make it a zeroed one. False if none.
  bool ZeroDirtyRange(size_t min_size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Zeroing::kAllocation: the allocating thread zeroes the piece of a dirty
  // range it is about to use, so that its lines are in this core's cache
  // when the objects are written. CarveDirtyPiece takes up to *size bytes
  // (at least min_size) off the most recent dirty range that fits, still
  // dirty, in no list, and counts it as allocation zeroing; TakeDirtyPiece
  // also zeroes it (under the lock).
  char* CarveDirtyPiece(size_t min_size, size_t* size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  char* TakeDirtyPiece(size_t min_size, size_t* size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // ZeroAheadOutsideLock: before a refill for `size` bytes finds no zeroed
  // range, carve the dirty piece it would take, zero it with mu_ released
  // (other threads refill meanwhile) and make it the newest free range.
  void ZeroAheadOutsideLock(size_t size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // AllocateRange carves up to *size bytes (at least min_size) of zeroed
  // memory: from a free range, the current chunk's bump space, a dirty range
  // zeroed here, or a new chunk if `limit` allows; sets *size.
  char* AllocateRange(size_t min_size, size_t* size, Limit limit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  char* AllocateLarge(size_t size, Limit limit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Chunk* NewChunk(size_t bytes, bool large) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // FreeChunk gives a chunk's memory back (to the reservation or mimalloc).
  void FreeChunk(Chunk* chunk) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool MayCommit(size_t bytes, Limit limit) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RetireTlab(Tlab& tlab) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // AddFreeRange makes [start, start + size) a filler, and a free range if
  // it is big enough: zeroed (past the filler's header) or dirty.
  void AddFreeRange(char* start, size_t size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddDirtyRange(char* start, size_t size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sweep: `next_soft_limit` is what the soft limit becomes; empty chunks
  // are kept (as dirty free ranges) while the heap stays within it.
  void Sweep(CollectionStats& stats, size_t next_soft_limit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The background zeroer (HeapOptions::Zeroing::kBackground): zeroes dirty
  // ranges and moves them to free_ranges_. A collection pauses it first.
  void ZeroerMain();
  void PauseZeroer() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // ResumeZeroer: after a sweep. Returns the bytes zeroed at once (kSweep).
  size_t ResumeZeroer() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // UsedBytes: parsable space not in a free range (objects, small fillers).
  size_t UsedBytes() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<Chunk*> ChunksInAddressOrder() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const HeapOptions options_;
  std::atomic<bool> fail_next_mark_stack_{false};  // FailNextMarkStackMappingForTesting
  mutable std::atomic<uint64_t> snapshot_marks_{0};
  VmBinding* const binding_;

  Mutex mu_;
  // Where chunks come from; chunks that do not fit it (or every chunk, if
  // the address space could not be reserved) come from mimalloc.
  std::unique_ptr<HeapReservation> reservation_ ABSL_GUARDED_BY(mu_);
  std::vector<Chunk*> chunks_ ABSL_GUARDED_BY(mu_);  // small and large
  Chunk* current_ ABSL_GUARDED_BY(mu_) = nullptr;   // the chunk being bumped
  // Free space is zero past each range's 16-byte filler header (which the
  // allocated object's header overwrites whole) in free_ranges_, in the
  // current chunk's bump space and in Tlabs; dirty_ranges_ hold dead
  // objects' bytes until the zeroer (or an allocation that cannot wait)
  // zeroes them. See gc/COLLECTOR.md, "Zeroing".
  std::vector<FreeRange> free_ranges_ ABSL_GUARDED_BY(mu_);
  std::vector<FreeRange> dirty_ranges_ ABSL_GUARDED_BY(mu_);
  std::thread zeroer_ ABSL_GUARDED_BY(mu_);
  CondVar zeroer_cv_;       // work for the zeroer, or exit
  CondVar zeroer_idle_cv_;  // the zeroer let go of its range
  bool zeroer_paused_ ABSL_GUARDED_BY(mu_) = false;
  bool zeroer_exit_ ABSL_GUARDED_BY(mu_) = false;
  bool zeroer_held_ ABSL_GUARDED_BY(mu_) = false;  // HoldZeroerForTesting
  bool zeroer_busy_ ABSL_GUARDED_BY(mu_) = false;  // zeroing a range outside the lock
  size_t zeroer_range_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // that range's size
  // Read by the zeroer between pieces without the lock: stop at once.
  std::atomic<bool> zeroer_stop_{false};
  size_t background_zeroed_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t sweep_zeroed_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t allocation_zeroed_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  Tlab* tlabs_ ABSL_GUARDED_BY(mu_) = nullptr;
  size_t committed_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t soft_limit_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t tlab_refills_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t collections_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration total_collection_time_ ABSL_GUARDED_BY(mu_);
  CollectionStats last_collection_ ABSL_GUARDED_BY(mu_);

  Mutex finalization_mu_;
  std::vector<ObjectHeader*> finalizable_ ABSL_GUARDED_BY(finalization_mu_);
  std::vector<ObjectHeader*> pending_finalization_ ABSL_GUARDED_BY(finalization_mu_);
};

class Heap::SnapshotMarking {
 public:
  ~SnapshotMarking();
  SnapshotMarking(const SnapshotMarking&) = delete;
  SnapshotMarking& operator=(const SnapshotMarking&) = delete;

  // Mark: the heap exactly as Prepare saw it (the world still stopped, or
  // in a process forked at that safepoint). Clears this marking's bits and
  // marks everything strongly reachable from the recorded roots (referents
  // of references are not followed); returns how many objects. The bits are
  // this marking's own (SideMarkBits): a collection's are left alone,
  // except those of chunks outside the reservation. IsMarked and
  // ForEachMarkedObjectIn are then valid until the next collection.
  size_t Mark();
  bool IsMarked(const ObjectHeader* object) const { return heap_.IsMarkedIn(bits_, object); }
  template <typename Fn>
  void ForEachMarkedObjectIn(const Range& range, Fn&& fn) const {
    heap_.ForEachMarkedIn(bits_, range, fn);
  }
  // deepest_stack_entries: how deep the last Mark's stack got.
  size_t deepest_stack_entries() const { return deepest_; }
  // side_bits: whether the bits are in a mapping of the marking's own (no
  // reservation, or mapping it failed: in the chunks).
  bool side_bits() const { return side_ != nullptr; }

 private:
  friend class Heap;
  explicit SnapshotMarking(const Heap& heap) : heap_(heap) {}

  const Heap& heap_;
  std::vector<Chunk*> chunks_;
  std::vector<ObjectHeader*> roots_;
  ObjectHeader** stack_ = nullptr;
  size_t stack_entries_ = 0;
  size_t mapped_bytes_ = 0;
  size_t deepest_ = 0;
  SideMarkBits bits_;
  void* side_ = nullptr;  // bits_'s mapping
  size_t side_bytes_ = 0;
  bool marked_ = false;  // Mark ran: the side bits need clearing
};

// FillGap writes a filler object over [start, start + size); size is a
// multiple of 8.
void FillGap(char* start, size_t size);

}  // namespace kiln::gc

#endif  // KILN_GC_INTERNAL_HEAP_H_
