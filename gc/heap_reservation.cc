#include "gc/internal/heap_reservation.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace kiln::gc {
namespace {

// SayOnce: the first fallback to 4 KiB pages in this process is reported;
// later heaps fall back silently for the same reason.
void SayOnce(const std::string& why) {
  static std::atomic<bool> said{false};
  if (said.exchange(true)) return;
  std::fprintf(stderr, "kiln: heap: no transparent huge pages (%s); using 4 KiB pages\n",
               why.c_str());
}

}  // namespace

bool TransparentHugePagesOffered(std::string* why) {
  FILE* f = std::fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (f == nullptr) {
    *why = "no /sys/kernel/mm/transparent_hugepage/enabled";
    return false;
  }
  char line[128] = {};
  const bool read = std::fgets(line, sizeof(line), f) != nullptr;
  std::fclose(f);
  if (!read) {
    *why = "/sys/kernel/mm/transparent_hugepage/enabled is empty";
    return false;
  }
  line[std::strcspn(line, "\n")] = '\0';
  *why = std::string("/sys/kernel/mm/transparent_hugepage/enabled: ") + line;
  return std::strstr(line, "[always]") != nullptr || std::strstr(line, "[madvise]") != nullptr;
}

std::unique_ptr<HeapReservation> HeapReservation::Create(size_t bytes, size_t slot_bytes,
                                                         bool huge_pages) {
  const size_t align = std::max(kHugePage, slot_bytes);
  const size_t size = (bytes + align - 1) / align * align;
  // MAP_NORESERVE: address space only; pages are committed as they are
  // touched, so an unused reservation costs neither memory nor fork time.
  void* raw = mmap(nullptr, size + align, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + align - 1) / align * align;
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t tail = aligned + size;
  if (start + size + align > tail) munmap(reinterpret_cast<void*>(tail), start + size + align - tail);
  char* base = reinterpret_cast<char*>(aligned);

  bool huge = false;
  if (huge_pages) {
    std::string why;
    if (!TransparentHugePagesOffered(&why)) {
      SayOnce(why);
    } else if (madvise(base, size, MADV_HUGEPAGE) != 0) {
      SayOnce(std::string("madvise(MADV_HUGEPAGE): ") + std::strerror(errno));
    } else {
      huge = true;
    }
  }
  return std::unique_ptr<HeapReservation>(new HeapReservation(base, size, slot_bytes, huge));
}

HeapReservation::HeapReservation(char* base, size_t size, size_t slot_bytes, bool huge_pages)
    : base_(base),
      size_(size),
      slot_bytes_(slot_bytes),
      huge_pages_(huge_pages),
      group_slots_(std::max<size_t>(1, kHugePage / slot_bytes)),
      used_(size / slot_bytes, 0) {}

HeapReservation::~HeapReservation() { munmap(base_, size_); }

void* HeapReservation::Take(size_t bytes, bool* zeroed) {
  const size_t slots = (bytes + slot_bytes_ - 1) / slot_bytes_;
  while (first_free_ < used_.size() && used_[first_free_] == kUsed) ++first_free_;
  size_t run = 0;
  for (size_t i = first_free_; i < used_.size(); ++i) {
    run = used_[i] == kUsed ? 0 : run + 1;
    if (run == slots) {
      const size_t first = i + 1 - slots;
      const auto begin = used_.begin() + static_cast<ptrdiff_t>(first);
      *zeroed = std::all_of(begin, begin + static_cast<ptrdiff_t>(slots),
                            [](uint8_t u) { return u == kFree; });
      std::fill_n(begin, slots, kUsed);
      return base_ + first * slot_bytes_;
    }
  }
  return nullptr;
}

void HeapReservation::Give(void* span, size_t bytes) {
  const size_t first = SlotOf(span);
  const size_t slots = (bytes + slot_bytes_ - 1) / slot_bytes_;
  std::fill_n(used_.begin() + static_cast<ptrdiff_t>(first), slots, kDirty);
  first_free_ = std::min(first_free_, first);
  // Release every group the span touches that is now wholly free.
  const size_t g_first = first / group_slots_;
  const size_t g_last = (first + slots - 1) / group_slots_;
  for (size_t g = g_first; g <= g_last; ++g) {
    const size_t s = g * group_slots_;
    const size_t e = std::min(used_.size(), s + group_slots_);
    if (std::any_of(used_.begin() + static_cast<ptrdiff_t>(s),
                    used_.begin() + static_cast<ptrdiff_t>(e),
                    [](uint8_t u) { return u == kUsed; })) {
      continue;
    }
    if (std::all_of(used_.begin() + static_cast<ptrdiff_t>(s),
                    used_.begin() + static_cast<ptrdiff_t>(e),
                    [](uint8_t u) { return u == kFree; })) {
      continue;  // already given back
    }
    // Pages given back read as zero when touched again (the kernel zeroes
    // them, 4 KiB or 2 MiB at a time): the slots are clean.
    if (madvise(base_ + s * slot_bytes_, (e - s) * slot_bytes_, MADV_DONTNEED) == 0) {
      std::fill(used_.begin() + static_cast<ptrdiff_t>(s), used_.begin() + static_cast<ptrdiff_t>(e),
                kFree);
    }
  }
}

size_t HeapReservation::HugePageBytes() const {
  FILE* f = std::fopen("/proc/self/smaps", "r");
  if (f == nullptr) return 0;
  const uintptr_t lo = reinterpret_cast<uintptr_t>(base_);
  const uintptr_t hi = lo + size_;
  char line[512];
  bool inside = false;
  size_t total = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    uintptr_t start, end;
    // A mapping's first line: "start-end perms offset dev inode path".
    if (std::sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &start, &end) == 2) {
      inside = start < hi && end > lo;
      continue;
    }
    unsigned long long kb;
    if (inside && std::sscanf(line, "AnonHugePages: %llu kB", &kb) == 1) total += kb << 10;
  }
  std::fclose(f);
  return total;
}

}  // namespace kiln::gc
