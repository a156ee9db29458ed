// The collection budget (gc/COLLECTOR.md, "The collection budget"): the
// initial soft limit governs the first collection only; afterwards the heap
// allocates live + 1 chunk before the next one, but at least
// HeapOptions::min_collection_budget_bytes, so a small live set's garbage
// cycles through a cache-sized heap rather than through the initial heap.
#include <vector>

#include "gc/fake_binding.h"
#include "gc/internal/heap.h"
#include "gtest/gtest.h"

namespace kiln::gc {
namespace {

constexpr size_t kMiB = size_t{1} << 20;
const Layout kBytes{.kind = LayoutKind::kPrimitiveArray, .element_size_log2 = 0};

HeapOptions BudgetHeap() {
  HeapOptions options;
  options.heap_limit_bytes = 128 * kMiB;
  options.initial_soft_limit_bytes = 16 * kMiB;
  options.min_collection_budget_bytes = 2 * kMiB;
  options.chunk_size = kMiB;
  options.tlab_size = 4 << 10;
  options.verify = false;
  return options;
}

struct TestHeap {
  explicit TestHeap(const HeapOptions& options) : heap(*Heap::Create(options, &vm)) {
    vm.set_heap(heap.get());
    heap->AttachTlab(&tlab);
  }
  ~TestHeap() { heap->DetachTlab(&tlab); }
  // Allocate `bytes` in 1 KiB byte arrays; `keep` roots every one of them.
  void Allocate(size_t bytes, bool keep) {
    constexpr uint32_t kLength = 1024 - kHeaderSize;
    for (size_t done = 0; done < bytes; done += 1024) {
      auto object = heap->Allocate(tlab, &kBytes, ObjectHeader::ArraySize(kLength, 0), kLength);
      ASSERT_TRUE(object.ok()) << object.status();
      if (keep) vm.roots.push_back(*object);
    }
  }
  FakeBinding vm;
  std::unique_ptr<Heap> heap;
  Tlab tlab;
};

TEST(CollectionBudgetTest, AZeroMinimumIsSizedToTheCache) {
  FakeBinding vm;
  HeapOptions options = BudgetHeap();
  options.min_collection_budget_bytes = 0;
  auto heap = *Heap::Create(options, &vm);
  EXPECT_EQ(heap->options().min_collection_budget_bytes, CacheSizedCollectionBudget());
  EXPECT_GE(CacheSizedCollectionBudget(), 2 * kMiB);
  EXPECT_LE(CacheSizedCollectionBudget(), 8 * kMiB);
}

TEST(CollectionBudgetTest, ASmallLiveSetCollectsAfterTheMinimumBudgetNotTheInitialHeap) {
  TestHeap heap(BudgetHeap());
  // The initial heap fills before the first collection.
  heap.Allocate(15 * kMiB, /*keep=*/false);
  EXPECT_EQ(heap.vm.requests, 0);
  heap.Allocate(2 * kMiB, /*keep=*/false);
  ASSERT_EQ(heap.vm.requests, 1);
  const HeapStats first = heap.heap->Stats();
  const size_t live = first.last_collection.live_bytes;
  EXPECT_LT(live, 64u << 10);
  // The soft limit is now live + the 2 MiB minimum, not 16 MiB: the empty
  // chunks past it went back.
  EXPECT_EQ(first.soft_limit_bytes, live + 2 * kMiB);
  EXPECT_LE(first.committed_bytes, first.soft_limit_bytes);
  // 20 MiB of garbage: a collection every 2 MiB or so (a chunk's bitmap and
  // header come off each MiB), within the new soft limit all along.
  heap.Allocate(20 * kMiB, /*keep=*/false);
  const HeapStats after = heap.heap->Stats();
  EXPECT_GE(heap.vm.requests, 1 + 20 / 2);
  EXPECT_LE(heap.vm.requests, 1 + 20);
  EXPECT_LE(after.committed_bytes, after.soft_limit_bytes);
}

TEST(CollectionBudgetTest, ALargeLiveSetGetsABudgetOfItsOwnSize) {
  TestHeap heap(BudgetHeap());
  heap.Allocate(12 * kMiB, /*keep=*/true);
  heap.Allocate(8 * kMiB, /*keep=*/false);
  ASSERT_GE(heap.vm.requests, 1);
  const HeapStats stats = heap.heap->Stats();
  const size_t live = stats.last_collection.live_bytes;
  EXPECT_GE(live, 12 * kMiB);
  EXPECT_EQ(stats.soft_limit_bytes, 2 * live + kMiB);
}

TEST(CollectionBudgetTest, TheHardLimitCapsTheBudget) {
  HeapOptions options = BudgetHeap();
  options.heap_limit_bytes = 16 * kMiB;
  options.min_collection_budget_bytes = 64 * kMiB;
  TestHeap heap(options);
  heap.Allocate(20 * kMiB, /*keep=*/false);
  ASSERT_GE(heap.vm.requests, 1);
  EXPECT_EQ(heap.heap->Stats().soft_limit_bytes, 16 * kMiB);
}

}  // namespace
}  // namespace kiln::gc
