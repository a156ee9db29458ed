#include "base/parent_only_memory.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "gtest/gtest.h"

namespace kiln {
namespace {

// Mapped: whether the page at `p` (page-aligned) is mapped in this process
// (msync fails with ENOMEM on an unmapped range).
bool Mapped(const void* p) {
  return msync(const_cast<void*>(p), 1, MS_ASYNC) == 0 || errno != ENOMEM;
}

TEST(ParentOnlyMemoryTest, ZeroedWritableWholePages) {
  absl::StatusOr<ParentOnlyMemory> memory = ParentOnlyMemory::Create(10000, "test buffer");
  ASSERT_TRUE(memory.ok()) << memory.status();
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  EXPECT_EQ(memory->size() % page, 0u);
  EXPECT_GE(memory->size(), 10000u);
  for (size_t i = 0; i < memory->size(); ++i) ASSERT_EQ(memory->data()[i], 0) << i;
  std::memset(memory->data(), 0xab, memory->size());
  EXPECT_EQ(memory->data()[memory->size() - 1], 0xab);
}

TEST(ParentOnlyMemoryTest, AForkChildDoesNotGetIt) {
  absl::StatusOr<ParentOnlyMemory> memory = ParentOnlyMemory::Create(1 << 20, "test buffer");
  ASSERT_TRUE(memory.ok()) << memory.status();
  std::memset(memory->data(), 0x5a, memory->size());
  const pid_t child = fork();
  ASSERT_GE(child, 0) << std::strerror(errno);
  if (child == 0) {
    // 0: neither end of the range mapped; 1: it was copied into the child.
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    _exit(Mapped(memory->data()) || Mapped(memory->data() + memory->size() - page) ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child had the parent-only memory";
  // The parent's is untouched.
  EXPECT_TRUE(Mapped(memory->data()));
  EXPECT_EQ(memory->data()[memory->size() - 1], 0x5a);
}

TEST(ParentOnlyMemoryTest, MovesOwnershipAndUnmapsOnce) {
  absl::StatusOr<ParentOnlyMemory> memory = ParentOnlyMemory::Create(1, "test buffer");
  ASSERT_TRUE(memory.ok()) << memory.status();
  uint8_t* const data = memory->data();
  ParentOnlyMemory moved = *std::move(memory);
  EXPECT_EQ(moved.data(), data);
  ParentOnlyMemory assigned;
  EXPECT_EQ(assigned.data(), nullptr);
  assigned = std::move(moved);
  EXPECT_EQ(moved.data(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(assigned.data(), data);
  EXPECT_TRUE(Mapped(data));
  assigned = ParentOnlyMemory();
  EXPECT_FALSE(Mapped(data));
}

}  // namespace
}  // namespace kiln
