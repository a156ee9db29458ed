// Allocation, chunks, free ranges and heap walking. The collector proper
// (marking, reference processing, sweeping, verification) is collector.cc.
#include "gc/internal/heap.h"

#include <pthread.h>

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "mimalloc.h"

namespace kiln::gc {

const Layout kFillerLayout{.kind = LayoutKind::kFiller};
const Layout kFillerWordLayout{.kind = LayoutKind::kFillerWord};

namespace {

bool IsPowerOfTwo(size_t n) { return n != 0 && (n & (n - 1)) == 0; }

// Free space smaller than this stays a filler until its neighbours die.
constexpr size_t kMinFreeRange = 256;

}  // namespace

const char* GcCauseName(GcCause cause) {
  switch (cause) {
    case GcCause::kAllocationFailure: return "allocation failure";
    case GcCause::kExplicit: return "explicit";
    case GcCause::kNativePressure: return "native allocation pressure";
    case GcCause::kStress: return "stress";
  }
  return "unknown";
}

void FillGap(char* start, size_t size) {
  KILN_DCHECK(size % kObjectAlignment == 0, "gap of ", size, " bytes");
  if (size == 0) return;
  auto* header = reinterpret_cast<ObjectHeader*>(start);
  if (size == kObjectAlignment) {
    header->layout = &kFillerWordLayout;
    return;
  }
  header->layout = &kFillerLayout;
  header->length = static_cast<uint32_t>(size);
}

absl::StatusOr<std::unique_ptr<Heap>> Heap::Create(const HeapOptions& options,
                                                   VmBinding* binding) {
  if (!IsPowerOfTwo(options.chunk_size) || !IsPowerOfTwo(options.tlab_size)) {
    return absl::InvalidArgumentError(
        absl::StrCat("heap: chunk_size (", options.chunk_size, ") and tlab_size (",
                     options.tlab_size, ") must be powers of two"));
  }
  if (options.chunk_size < (size_t{64} << 10)) {
    return absl::InvalidArgumentError(
        absl::StrCat("heap: chunk_size ", options.chunk_size, " is below 64 KiB"));
  }
  if (options.tlab_size > options.chunk_size / 4 || options.tlab_size < kMinFreeRange) {
    return absl::InvalidArgumentError(
        absl::StrCat("heap: tlab_size ", options.tlab_size, " must be between ",
                     kMinFreeRange, " bytes and a quarter chunk (", options.chunk_size / 4,
                     ")"));
  }
  if (options.heap_limit_bytes < options.chunk_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("heap: heap_limit_bytes ", options.heap_limit_bytes,
                     " is smaller than one chunk (", options.chunk_size, ")"));
  }
  KILN_CHECK(binding != nullptr, "heap without a VM binding");
  HeapOptions resolved = options;
  if (resolved.min_collection_budget_bytes == 0) {
    resolved.min_collection_budget_bytes = CacheSizedCollectionBudget();
  }
  auto heap = std::unique_ptr<Heap>(new Heap(resolved, binding));
  {
    // Twice the limit: a large object takes whole chunks of address space,
    // but counts against the limit only for its pages. No other thread sees
    // the heap yet; the lock is what the annotations ask for.
    MutexLock lock(&heap->mu_);
    const size_t reserved =
        options.reserved_bytes > 0 ? options.reserved_bytes : 2 * options.heap_limit_bytes;
    heap->reservation_ =
        HeapReservation::Create(reserved, options.chunk_size, options.huge_pages);
    heap->soft_limit_bytes_ =
        std::min(options.heap_limit_bytes,
                 std::max(options.initial_soft_limit_bytes, options.chunk_size));
  }
  return heap;
}

Heap::~Heap() {
  std::thread zeroer;
  {
    MutexLock lock(&mu_);
    zeroer_exit_ = true;
    zeroer_stop_.store(true, std::memory_order_relaxed);
    zeroer_cv_.SignalAll();
    zeroer = std::move(zeroer_);
  }
  if (zeroer.joinable()) zeroer.join();
  MutexLock lock(&mu_);
  KILN_CHECK(tlabs_ == nullptr, "heap destroyed with a Tlab still attached");
  for (Chunk* chunk : chunks_) FreeChunk(chunk);
}

namespace {

// ZeroPast: zero [start + kHeaderSize, start + size), a free range's bytes
// past its filler header (an allocation overwrites the whole header).
void ZeroPast(char* start, size_t size) {
  if (size > kHeaderSize) std::memset(start + kHeaderSize, 0, size - kHeaderSize);
}

}  // namespace

void Heap::ZeroerMain() {
  // Pieces small enough that a collection, which pauses the zeroer before it
  // sweeps, never waits long for the piece in hand.
  constexpr size_t kPiece = size_t{64} << 10;
  for (;;) {
    FreeRange range;
    {
      MutexLock lock(&mu_);
      while (!zeroer_exit_ && (zeroer_paused_ || zeroer_held_ || dirty_ranges_.empty())) {
        zeroer_cv_.Wait(&mu_);
      }
      if (zeroer_exit_) return;
      range = dirty_ranges_.back();
      dirty_ranges_.pop_back();
      zeroer_busy_ = true;
      zeroer_range_bytes_ = range.size;
    }
    // Outside the lock. The range is in no list, so no allocation takes it;
    // heap walks (world stopped) read only its filler header, which this
    // never writes.
    size_t done = kHeaderSize;
    while (done < range.size && !zeroer_stop_.load(std::memory_order_relaxed)) {
      const size_t piece = std::min(kPiece, range.size - done);
      std::memset(range.start + done, 0, piece);
      done += piece;
    }
    {
      MutexLock lock(&mu_);
      background_zeroed_bytes_ += done - kHeaderSize;
      if (done >= range.size) {
        free_ranges_.push_back(range);
      } else {
        dirty_ranges_.push_back(range);  // stopped: the sweep rebuilds the lists
      }
      zeroer_busy_ = false;
      zeroer_range_bytes_ = 0;
      zeroer_idle_cv_.SignalAll();
    }
  }
}

void Heap::HoldZeroerForTesting(bool hold) {
  MutexLock lock(&mu_);
  zeroer_held_ = hold;
  zeroer_cv_.SignalAll();
}

void Heap::PauseZeroer() {
  zeroer_paused_ = true;
  zeroer_stop_.store(true, std::memory_order_relaxed);
  while (zeroer_busy_) zeroer_idle_cv_.Wait(&mu_);
}

void Heap::PauseBackgroundZeroer() {
  MutexLock lock(&mu_);
  KILN_CHECK(!zeroer_paused_, "PauseBackgroundZeroer: the zeroer is already paused");
  PauseZeroer();
}

void Heap::ResumeBackgroundZeroer() {
  MutexLock lock(&mu_);
  KILN_CHECK(zeroer_paused_, "ResumeBackgroundZeroer without PauseBackgroundZeroer");
  zeroer_paused_ = false;
  zeroer_stop_.store(false, std::memory_order_relaxed);
  // Outside a collection the dirty ranges are the zeroer's alone in
  // kBackground (the thread exists if there are any); kSweep leaves none,
  // and kAllocation's wait for the refills.
  if (options_.zeroing == HeapOptions::Zeroing::kBackground && !dirty_ranges_.empty()) {
    zeroer_cv_.Signal();
  }
}

size_t Heap::ResumeZeroer() {
  zeroer_paused_ = false;
  zeroer_stop_.store(false, std::memory_order_relaxed);
  // kAllocation: the dirty ranges wait for the allocations that carve them.
  if (dirty_ranges_.empty() || options_.zeroing == HeapOptions::Zeroing::kAllocation) return 0;
  if (options_.zeroing == HeapOptions::Zeroing::kSweep) {
    size_t zeroed = 0;
    for (const FreeRange& range : dirty_ranges_) {
      ZeroPast(range.start, range.size);
      zeroed += range.size;
      free_ranges_.push_back(range);
    }
    dirty_ranges_.clear();
    sweep_zeroed_bytes_ += zeroed;
    return zeroed;
  }
  if (!zeroer_.joinable()) {
    zeroer_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "kiln-zeroer");
      ZeroerMain();
    });
  }
  zeroer_cv_.Signal();
  return 0;
}

size_t Heap::ChunkOverhead() const {
  // The header, then one mark bit per 8-byte word of the chunk.
  return AlignUp(sizeof(Chunk) + options_.chunk_size / 64, kObjectAlignment);
}

void Heap::AttachTlab(Tlab* tlab) {
  MutexLock lock(&mu_);
  KILN_CHECK(tlab->prev_ == nullptr && tlab->next_ == nullptr && tlabs_ != tlab,
             "Tlab attached twice");
  tlab->next_ = tlabs_;
  if (tlabs_ != nullptr) tlabs_->prev_ = tlab;
  tlabs_ = tlab;
}

void Heap::DetachTlab(Tlab* tlab) {
  MutexLock lock(&mu_);
  RetireTlab(*tlab);
  if (tlab->prev_ != nullptr) {
    tlab->prev_->next_ = tlab->next_;
  } else {
    KILN_CHECK(tlabs_ == tlab, "detaching a Tlab that is not attached");
    tlabs_ = tlab->next_;
  }
  if (tlab->next_ != nullptr) tlab->next_->prev_ = tlab->prev_;
  tlab->prev_ = tlab->next_ = nullptr;
}

void Heap::RetireTlab(Tlab& tlab) {
  if (tlab.end_ == nullptr) return;
  if (current_ != nullptr && tlab.end_ == current_->top) {
    // The newest carving of the current chunk: give its tail back to the bump
    // space (threads that attach briefly use almost nothing). The bump space
    // may start with a filler header (MakeParsable's, at a Tlab's top); it
    // would now be mid-space, where no object header overwrites it: clear it.
    const size_t stale = std::min(kHeaderSize, static_cast<size_t>(current_->end - current_->top));
    std::memset(current_->top, 0, stale);
    current_->top = tlab.top_;
  } else {
    AddFreeRange(tlab.top_, tlab.remaining());
  }
  tlab.top_ = tlab.end_ = nullptr;
}

void Heap::AddFreeRange(char* start, size_t size) {
  FillGap(start, size);
  if (size >= kMinFreeRange) free_ranges_.push_back(FreeRange{start, size});
}

void Heap::AddDirtyRange(char* start, size_t size) {
  FillGap(start, size);
  if (size >= kMinFreeRange) dirty_ranges_.push_back(FreeRange{start, size});
}

absl::StatusOr<ObjectHeader*> Heap::AllocateSlow(Tlab& tlab, const Layout* layout,
                                                 size_t size, uint32_t length) {
  KILN_DCHECK(size % kObjectAlignment == 0 && size >= kHeaderSize,
              "bad allocation size ", size);
  uint64_t observed;
  {
    MutexLock lock(&mu_);
    if (!options_.stress) {
      if (options_.zeroing == HeapOptions::Zeroing::kAllocation) ZeroAheadOutsideLock(size);
      if (char* memory = TryAllocate(tlab, size, Limit::kSoft)) {
        return Initialize(memory, layout, length);
      }
    }
    observed = collections_;
  }
  binding_->RequestCollection(options_.stress ? GcCause::kStress : GcCause::kAllocationFailure,
                              observed);
  for (bool dumped = false;; dumped = true) {
    {
      MutexLock lock(&mu_);
      // Under stress the Tlab stays empty, so that every allocation collects.
      char* memory = options_.stress ? AllocateOutsideTlab(size, Limit::kHard)
                                     : TryAllocate(tlab, size, Limit::kHard);
      if (memory != nullptr) return Initialize(memory, layout, length);
      if (dumped) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "heap: out of memory allocating ", size, " bytes (heap limit ",
            options_.heap_limit_bytes, " bytes, ", committed_bytes_, " committed)"));
      }
    }
    binding_->OnOutOfMemory(size);
  }
}

char* Heap::TryAllocate(Tlab& tlab, size_t size, Limit limit) {
  // Medium objects skip the Tlab: refilling for them would waste up to a
  // quarter of a Tlab each time.
  if (size > options_.tlab_size / 4) return AllocateOutsideTlab(size, limit);
  if (!RefillTlab(tlab, size, limit)) return nullptr;
  char* memory = tlab.top_;
  tlab.top_ += size;
  return memory;
}

char* Heap::CarveFront(std::vector<FreeRange>& ranges, size_t min_size, size_t* size) {
  // The most recent range that fits: its memory is likeliest cached.
  for (size_t i = ranges.size(); i > 0; --i) {
    FreeRange& range = ranges[i - 1];
    if (range.size < min_size) continue;
    *size = std::min(*size, range.size);
    char* memory = range.start;
    range.start += *size;
    range.size -= *size;
    FillGap(range.start, range.size);
    // A rest too small to carve is a filler until its neighbours die.
    if (range.size < kMinFreeRange) {
      ranges.erase(ranges.begin() + static_cast<ptrdiff_t>(i - 1));
    }
    return memory;
  }
  return nullptr;
}

char* Heap::TakeFreeRange(size_t min_size, size_t* size) {
  return CarveFront(free_ranges_, min_size, size);
}

bool Heap::ZeroDirtyRange(size_t min_size) {
  for (size_t i = dirty_ranges_.size(); i > 0; --i) {
    const FreeRange range = dirty_ranges_[i - 1];
    if (range.size < min_size) continue;
    dirty_ranges_.erase(dirty_ranges_.begin() + static_cast<ptrdiff_t>(i - 1));
    ZeroPast(range.start, range.size);
    allocation_zeroed_bytes_ += range.size;
    free_ranges_.push_back(range);
    return true;
  }
  return false;
}

char* Heap::CarveDirtyPiece(size_t min_size, size_t* size) {
  char* memory = CarveFront(dirty_ranges_, min_size, size);  // the rest stays dirty
  if (memory == nullptr) return nullptr;
  FillGap(memory, *size);
  allocation_zeroed_bytes_ += *size;
  return memory;
}

char* Heap::TakeDirtyPiece(size_t min_size, size_t* size) {
  char* memory = CarveDirtyPiece(min_size, size);
  if (memory != nullptr) ZeroPast(memory, *size);
  return memory;
}

void Heap::ZeroAheadOutsideLock(size_t size) {
  // What the refill (or a medium object) will ask AllocateRange for.
  const bool medium = size > options_.tlab_size / 4;
  if (medium && size > options_.chunk_size / 4) return;  // large: a fresh chunk
  size_t piece = medium ? size : options_.tlab_size;
  for (const FreeRange& range : free_ranges_) {
    if (range.size >= size) return;  // zeroed space that fits is taken first
  }
  char* memory = CarveDirtyPiece(size, &piece);
  if (memory == nullptr) return;
  // The piece is in no list, so no other thread takes it, and its filler
  // header keeps the heap parsable; no collection or heap walk can start
  // while this (managed) thread is between safepoints.
  const uint64_t collections = collections_;
  mu_.Unlock();
  ZeroPast(memory, piece);
  mu_.Lock();
  KILN_CHECK(collections_ == collections, "a collection ran while an allocating thread zeroed ",
             piece, " bytes outside the heap lock");
  free_ranges_.push_back(FreeRange{memory, piece});  // the most recent: taken next
}

bool Heap::RefillTlab(Tlab& tlab, size_t min_size, Limit limit) {
  RetireTlab(tlab);
  size_t size = options_.tlab_size;
  // Zeroed memory: no memset here (gc/COLLECTOR.md, "Zeroing").
  char* memory = AllocateRange(min_size, &size, limit);
  if (memory == nullptr) return false;
  tlab.top_ = memory;
  tlab.end_ = memory + size;
  ++tlab_refills_;
  return true;
}

char* Heap::AllocateOutsideTlab(size_t size, Limit limit) {
  if (size > options_.chunk_size / 4) return AllocateLarge(size, limit);  // zeroed
  size_t taken = size;
  return AllocateRange(size, &taken, limit);  // zeroed
}

char* Heap::AllocateRange(size_t min_size, size_t* size_inout, Limit limit) {
  if (char* memory = TakeFreeRange(min_size, size_inout)) return memory;
  if (options_.zeroing == HeapOptions::Zeroing::kAllocation) {
    // Zeroed here, under the lock: the paths that skip ZeroAheadOutsideLock
    // (the retry up to the hard limit, stress mode), or another thread
    // took the piece it zeroed.
    if (char* memory = TakeDirtyPiece(min_size, size_inout)) return memory;
  }
  const size_t size = *size_inout;
  const bool bump_fits =
      current_ != nullptr && static_cast<size_t>(current_->end - current_->top) >= size;
  // The zeroer is behind: zero a dirty range here rather than grow the heap.
  if (!bump_fits && ZeroDirtyRange(min_size)) {
    char* memory = TakeFreeRange(min_size, size_inout);
    KILN_DCHECK(memory != nullptr, "a zeroed dirty range does not fit");
    return memory;
  }
  if (!bump_fits) {
    if (!MayCommit(options_.chunk_size, limit)) {
      // The zeroer may hold the last free range outside the lock: wait for
      // it (one range's memset) rather than collect early. The world cannot
      // stop meanwhile (this thread is managed), so no collection pauses it.
      while (zeroer_busy_) {
        zeroer_idle_cv_.Wait(&mu_);
        if (char* memory = TakeFreeRange(min_size, size_inout)) return memory;
        if (ZeroDirtyRange(min_size)) return TakeFreeRange(min_size, size_inout);
      }
      return nullptr;
    }
    Chunk* chunk = NewChunk(options_.chunk_size, /*large=*/false);
    if (chunk == nullptr) return nullptr;
    if (current_ != nullptr) {
      // The old chunk's unused tail becomes a free range.
      AddFreeRange(current_->top, current_->end - current_->top);
      current_->top = current_->end;
    }
    current_ = chunk;
  }
  char* memory = current_->top;
  current_->top += size;
  return memory;
}

char* Heap::AllocateLarge(size_t size, Limit limit) {
  const size_t bytes = AlignUp(sizeof(Chunk) + size, size_t{4096});
  if (!MayCommit(bytes, limit)) return nullptr;
  Chunk* chunk = NewChunk(bytes, /*large=*/true);
  if (chunk == nullptr) return nullptr;
  chunk->top = chunk->end = chunk->start + size;  // NewChunk zeroed it
  return chunk->start;
}

bool Heap::MayCommit(size_t bytes, Limit limit) const {
  const size_t cap = limit == Limit::kSoft ? soft_limit_bytes_ : options_.heap_limit_bytes;
  return committed_bytes_ + bytes <= cap;
}

Heap::Chunk* Heap::NewChunk(size_t bytes, bool large) {
  bool zeroed = false;
  void* memory = reservation_ != nullptr ? reservation_->Take(bytes, &zeroed) : nullptr;
  if (memory == nullptr) {
    // mimalloc knows whether its memory is fresh from the OS, and zeroes
    // only what is not.
    memory = mi_zalloc_aligned(bytes, options_.chunk_size);
    zeroed = true;
  }
  if (memory == nullptr) return nullptr;
  auto* chunk = new (memory) Chunk();
  chunk->large = large;
  chunk->bytes = bytes;
  chunk->start = static_cast<char*>(memory) + (large ? sizeof(Chunk) : ChunkOverhead());
  chunk->top = chunk->start;
  chunk->end = static_cast<char*>(memory) + bytes;
  if (!zeroed) {
    // A chunk's worth of reused memory that was never given back to the
    // kernel: the bitmap and every byte of object space start at zero.
    const size_t dirty = static_cast<size_t>(chunk->end - static_cast<char*>(memory)) -
                         sizeof(Chunk);
    std::memset(static_cast<char*>(memory) + sizeof(Chunk), 0, dirty);
    allocation_zeroed_bytes_ += dirty;
  }
  chunks_.push_back(chunk);
  committed_bytes_ += bytes;
  return chunk;
}

void Heap::FreeChunk(Chunk* chunk) {
  if (reservation_ != nullptr && reservation_->Contains(chunk)) {
    reservation_->Give(chunk, chunk->bytes);
  } else {
    mi_free(chunk);
  }
}

void Heap::MakeParsable() {
  MutexLock lock(&mu_);
  for (Tlab* tlab = tlabs_; tlab != nullptr; tlab = tlab->next_) {
    FillGap(tlab->top_, tlab->remaining());
  }
}

std::vector<Heap::Chunk*> Heap::ChunksInAddressOrder() {
  std::vector<Chunk*> sorted = chunks_;
  std::sort(sorted.begin(), sorted.end());
  return sorted;
}

void Heap::ForEachObject(absl::FunctionRef<void(ObjectHeader*)> fn) {
  MutexLock lock(&mu_);
  for (Chunk* chunk : ChunksInAddressOrder()) {
    for (char* p = chunk->start; p < chunk->top;) {
      auto* object = reinterpret_cast<ObjectHeader*>(p);
      const size_t size = object->Size();
      KILN_DCHECK(size >= kObjectAlignment && p + size <= chunk->top,
                  "heap not parsable at ", absl::Hex(reinterpret_cast<uintptr_t>(p)));
      if (!object->layout->IsFiller()) fn(object);
      p += size;
    }
  }
}

Heap::RangeSnapshot Heap::SnapshotRanges() {
  MutexLock lock(&mu_);
  RangeSnapshot snapshot;
  snapshot.chunks_ = chunks_;
  snapshot.ranges_.reserve(chunks_.size());
  return snapshot;
}

const std::vector<Heap::Range>& Heap::RangeSnapshot::Fill() {
  if (filled_) return ranges_;
  std::sort(chunks_.begin(), chunks_.end());  // in place: no allocation
  for (const Chunk* chunk : chunks_) {
    if (chunk->start < chunk->top) {
      KILN_CHECK(ranges_.size() < ranges_.capacity(), "RangeSnapshot::Fill: more ranges than chunks");
      ranges_.push_back({chunk->start, chunk->top});
    }
  }
  filled_ = true;
  return ranges_;
}

std::vector<Heap::Range> Heap::ParsableRanges() {
  MutexLock lock(&mu_);
  std::vector<Range> ranges;
  ranges.reserve(chunks_.size());
  for (Chunk* chunk : ChunksInAddressOrder()) {
    if (chunk->start < chunk->top) ranges.push_back({chunk->start, chunk->top});
  }
  return ranges;
}

void Heap::RegisterFinalizable(ObjectHeader* object) {
  MutexLock lock(&finalization_mu_);
  finalizable_.push_back(object);
}

ObjectHeader* Heap::TakePendingFinalization() {
  MutexLock lock(&finalization_mu_);
  if (pending_finalization_.empty()) return nullptr;
  ObjectHeader* object = pending_finalization_.back();
  pending_finalization_.pop_back();
  return object;
}

void Heap::VisitPendingFinalization(absl::FunctionRef<void(ObjectHeader** slot)> fn) {
  MutexLock lock(&finalization_mu_);
  for (ObjectHeader*& object : pending_finalization_) fn(&object);
}

uint64_t Heap::collections() {
  MutexLock lock(&mu_);
  return collections_;
}

size_t Heap::committed_bytes() {
  MutexLock lock(&mu_);
  return committed_bytes_;
}

HeapStats Heap::Stats() {
  MutexLock lock(&mu_);
  HeapStats stats;
  stats.limit_bytes = options_.heap_limit_bytes;
  stats.soft_limit_bytes = soft_limit_bytes_;
  stats.committed_bytes = committed_bytes_;
  for (const FreeRange& range : free_ranges_) stats.free_bytes += range.size;
  for (const FreeRange& range : dirty_ranges_) stats.dirty_bytes += range.size;
  stats.dirty_bytes += zeroer_range_bytes_;
  stats.free_bytes += stats.dirty_bytes;
  stats.background_zeroed_bytes = background_zeroed_bytes_;
  stats.sweep_zeroed_bytes = sweep_zeroed_bytes_;
  stats.allocation_zeroed_bytes = allocation_zeroed_bytes_;
  if (current_ != nullptr) stats.free_bytes += current_->end - current_->top;
  for (const Chunk* chunk : chunks_) {
    if (chunk->large) {
      ++stats.large_objects;
    } else {
      ++stats.chunks;
    }
  }
  stats.tlab_refills = tlab_refills_;
  if (reservation_ != nullptr) {
    stats.reserved_bytes = reservation_->size();
    stats.huge_pages = reservation_->huge_pages();
    stats.huge_page_bytes = reservation_->HugePageBytes();
  }
  stats.collections = collections_;
  stats.total_collection_time = total_collection_time_;
  stats.last_collection = last_collection_;
  return stats;
}

}  // namespace kiln::gc
