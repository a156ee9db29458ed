#include "base/parent_only_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace kiln {

absl::StatusOr<ParentOnlyMemory> ParentOnlyMemory::Create(size_t bytes, absl::string_view what) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t size = bytes == 0 ? page : (bytes + page - 1) / page * page;
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, ": mapping ", size, " bytes: ", std::strerror(errno)));
  }
  // Only an unaligned or unmapped range fails MADV_DONTFORK, and this one is
  // neither; were it to fail the memory would just be copied at a fork.
  madvise(p, size, MADV_DONTFORK);
  return ParentOnlyMemory(static_cast<uint8_t*>(p), size);
}

ParentOnlyMemory::ParentOnlyMemory(ParentOnlyMemory&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

ParentOnlyMemory& ParentOnlyMemory::operator=(ParentOnlyMemory&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

ParentOnlyMemory::~ParentOnlyMemory() { Release(); }

void ParentOnlyMemory::Release() {
  if (data_ != nullptr) munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace kiln
