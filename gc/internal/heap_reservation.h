// HeapReservation: the heap's address space, reserved once at start-up and
// aligned to 2 MiB, from which chunks are carved. With transparent huge pages
// (MADV_HUGEPAGE on the whole range before any page is touched) the kernel
// backs it with 2 MiB pages, so a fork-mode dump's fork() copies one
// page-table entry per 2 MiB of heap instead of 512. See gc/COLLECTOR.md for
// why the heap does this itself rather than through mimalloc's arenas.
//
// Not thread-safe: the heap calls it under its lock.
#ifndef KILN_GC_INTERNAL_HEAP_RESERVATION_H_
#define KILN_GC_INTERNAL_HEAP_RESERVATION_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kiln::gc {

// TransparentHugePages: whether the kernel offers them to a range that asks
// (MADV_HUGEPAGE), read from /sys/kernel/mm/transparent_hugepage/enabled
// ("always" or "madvise": yes; "never" or no such file: no). `why` says what
// was read.
bool TransparentHugePagesOffered(std::string* why);

class HeapReservation {
 public:
  static constexpr size_t kHugePage = size_t{2} << 20;

  // Create reserves `bytes` of address space (no memory is committed until
  // touched) in slots of `slot_bytes` (the chunk size, a power of two),
  // aligned to both the slot and 2 MiB. With `huge_pages`, asks for
  // transparent huge pages; where the kernel refuses, says so once on stderr
  // and goes on with 4 KiB pages. nullptr if the address space cannot be had.
  static std::unique_ptr<HeapReservation> Create(size_t bytes, size_t slot_bytes,
                                                 bool huge_pages);
  ~HeapReservation();
  HeapReservation(const HeapReservation&) = delete;
  HeapReservation& operator=(const HeapReservation&) = delete;

  // Take: `bytes` rounded up to whole slots, contiguous, slot-aligned,
  // lowest address first (so that freed holes refill before fresh space is
  // touched); nullptr when no run of free slots is long enough. The memory
  // reads as zero if never used (or given back to the kernel since), or as
  // left by its last user: *zeroed says which (true only if every slot of
  // the span is known zero), so the heap zeroes only memory that needs it.
  void* Take(size_t bytes, bool* zeroed);
  // Give returns a span from Take. Memory goes back to the kernel only in
  // whole 2 MiB groups (all their slots free), so that a freed chunk never
  // splits a huge page that its neighbour still uses; until then its slots
  // are dirty (MADV_DONTNEED makes them read as zero again).
  void Give(void* span, size_t bytes);

  bool Contains(const void* p) const {
    const auto* c = static_cast<const char*>(p);
    return c >= base_ && c < base_ + size_;
  }
  // huge_pages: MADV_HUGEPAGE was asked for and accepted.
  bool huge_pages() const { return huge_pages_; }
  char* base() const { return base_; }
  size_t size() const { return size_; }

  // HugePageBytes: the reservation's bytes the kernel backs with huge pages
  // now (the AnonHugePages of its mapping in /proc/self/smaps); 0 if that
  // cannot be read. Reads a /proc file: for statistics, not hot paths.
  size_t HugePageBytes() const;

 private:
  HeapReservation(char* base, size_t size, size_t slot_bytes, bool huge_pages);
  size_t SlotOf(const void* p) const {
    return static_cast<size_t>(static_cast<const char*>(p) - base_) / slot_bytes_;
  }

  char* const base_;
  const size_t size_;
  const size_t slot_bytes_;
  const bool huge_pages_;
  // The slots released together: 2 MiB, or one slot if slots are larger.
  const size_t group_slots_;
  // Per slot: kFree (reads as zero), kUsed, or kDirty (free, not zero).
  enum : uint8_t { kFree = 0, kUsed = 1, kDirty = 2 };
  std::vector<uint8_t> used_;
  size_t first_free_ = 0;      // no free slot below this
};

}  // namespace kiln::gc

#endif  // KILN_GC_INTERNAL_HEAP_RESERVATION_H_
