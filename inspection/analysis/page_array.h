// PageArray<T>: a fixed-size array of trivially copyable T in a mapping of
// its own. It reads as zero until written, and a page of it is resident
// only once written: an analysis whose arrays fill up in some order (the
// dominators' semidominators, labels and ancestors, written from the last
// DFS number down) pays only for what it has written so far. Release hands
// pages back to the system (they read as zero again), so an array consumed
// in order (the dominators' predecessor lists) shrinks while it is read.
//
//   PageArray<uint32_t> semi(n + 1);   // all zero, nothing resident
//   semi[w] = s;                       // this page becomes resident
//   preds.Release(begin, preds.size());  // pages wholly inside leave
//
// ReleaseStorage(v) frees a std::vector's storage (`v = {}` keeps it).
#ifndef KILN_INSPECTION_ANALYSIS_PAGE_ARRAY_H_
#define KILN_INSPECTION_ANALYSIS_PAGE_ARRAY_H_

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace kiln::analysis {

template <typename T>
class PageArray {
  static_assert(std::is_trivially_copyable_v<T>, "PageArray holds plain values");

 public:
  PageArray() = default;
  explicit PageArray(size_t size) : size_(size) {
    if (size == 0) return;
    bytes_ = size * sizeof(T);
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KILN_CHECK(p != MAP_FAILED, "PageArray: mapping ", bytes_, " bytes failed");
    data_ = static_cast<T*>(p);
  }
  ~PageArray() { Reset(); }
  PageArray(PageArray&& other) noexcept { *this = std::move(other); }
  PageArray& operator=(PageArray&& other) noexcept {
    if (this != &other) {
      Reset();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }
  PageArray(const PageArray&) = delete;
  PageArray& operator=(const PageArray&) = delete;

  T& operator[](size_t i) {
    KILN_DCHECK(i < size_, "PageArray index ", i, " of ", size_);
    return data_[i];
  }
  const T& operator[](size_t i) const {
    KILN_DCHECK(i < size_, "PageArray index ", i, " of ", size_);
    return data_[i];
  }
  size_t size() const { return size_; }
  T* data() { return data_; }

  // Release: the pages wholly inside elements [begin, end) leave the
  // resident set and read as zero again.
  void Release(size_t begin, size_t end) {
    if (data_ == nullptr || begin >= end) return;
    const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const uintptr_t first = (reinterpret_cast<uintptr_t>(data_ + begin) + page - 1) / page * page;
    const uintptr_t last = reinterpret_cast<uintptr_t>(data_ + end) / page * page;
    if (first < last) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
  }
  // Reset: the mapping is gone, size() 0.
  void Reset() {
    if (data_ != nullptr) munmap(data_, bytes_);
    data_ = nullptr;
    size_ = bytes_ = 0;
  }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
  size_t bytes_ = 0;
};

// ReleaseStorage: empties a container and hands its storage back. (`v = {}`
// does not: for a std::vector it is assignment from an empty
// initializer_list, which keeps the capacity, and so the pages.)
template <typename Container>
void ReleaseStorage(Container& c) {
  Container().swap(c);
}

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_PAGE_ARRAY_H_
