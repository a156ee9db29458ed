// ParentOnlyMemory: private anonymous memory (mmap) that a fork() child does
// not get (MADV_DONTFORK), unmapped when destroyed.
//
// fork() copies a page-table entry for every touched 4 KiB page of the
// parent, inside a fork-mode dump's pause (inspection/FORK_MODE.md). Buffers
// that only the parent's threads use across that fork (a compressed dump's
// block slots, which the parent fills from the child's ring) cost the pause
// their entries for nothing: mapped here, they are left out of the child
// altogether. The child must never touch them; a child that did would fault.
//
// The mapping is address space only until written (MAP_NORESERVE), so a
// generous size costs nothing it does not use.
#ifndef KILN_BASE_PARENT_ONLY_MEMORY_H_
#define KILN_BASE_PARENT_ONLY_MEMORY_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/must_use.h"

namespace kiln {

class ParentOnlyMemory {
 public:
  // Create: `bytes` (rounded up to pages, at least one) of zeroed memory;
  // ResourceExhausted naming `what` if it cannot be mapped.
  KILN_MUST_USE static absl::StatusOr<ParentOnlyMemory> Create(size_t bytes,
                                                               absl::string_view what);
  ParentOnlyMemory() = default;
  ParentOnlyMemory(ParentOnlyMemory&& other) noexcept;
  ParentOnlyMemory& operator=(ParentOnlyMemory&& other) noexcept;
  ParentOnlyMemory(const ParentOnlyMemory&) = delete;
  ParentOnlyMemory& operator=(const ParentOnlyMemory&) = delete;
  ~ParentOnlyMemory();

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  ParentOnlyMemory(uint8_t* data, size_t size) : data_(data), size_(size) {}
  void Release();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace kiln

#endif  // KILN_BASE_PARENT_ONLY_MEMORY_H_
