#include "gc/internal/heap.h"

#include <cstring>
#include <string>
#include <vector>

#include "gc/fake_binding.h"
#include "gc/internal/heap_reservation.h"
#include "gtest/gtest.h"

namespace kiln::gc {
namespace {

const Layout kPair{.kind = LayoutKind::kInstance, .instance_size = 32};
const Layout kBytes{.kind = LayoutKind::kPrimitiveArray, .element_size_log2 = 0};

HeapOptions SmallHeap() {
  HeapOptions options;
  options.heap_limit_bytes = 4 << 20;
  options.initial_soft_limit_bytes = 4 << 20;
  options.chunk_size = 1 << 20;
  options.tlab_size = 4 << 10;
  return options;
}

// A heap with a fake VM whose only roots are the test's.
struct TestHeap {
  explicit TestHeap(const HeapOptions& options) : heap(*Heap::Create(options, &vm)) {
    vm.set_heap(heap.get());
  }
  Heap* operator->() { return heap.get(); }
  Heap& operator*() { return *heap; }
  FakeBinding vm;
  std::unique_ptr<Heap> heap;
};

std::vector<ObjectHeader*> Walk(Heap& heap) {
  std::vector<ObjectHeader*> seen;
  heap.MakeParsable();
  heap.ForEachObject([&](ObjectHeader* o) { seen.push_back(o); });
  return seen;
}

TEST(HeapTest, RejectsBadOptions) {
  FakeBinding vm;
  HeapOptions options;
  options.chunk_size = 3 << 20;
  EXPECT_EQ(Heap::Create(options, &vm).status().code(), absl::StatusCode::kInvalidArgument);
  options = HeapOptions();
  options.heap_limit_bytes = 1024;
  EXPECT_EQ(Heap::Create(options, &vm).status().code(), absl::StatusCode::kInvalidArgument);
  options = HeapOptions();
  options.tlab_size = 1 << 20;
  EXPECT_EQ(Heap::Create(options, &vm).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HeapTest, WalkSeesEveryObjectInAddressOrderAcrossTlabsAndLargeObjects) {
  TestHeap heap(SmallHeap());
  Tlab a, b;
  heap->AttachTlab(&a);
  heap->AttachTlab(&b);
  std::vector<ObjectHeader*> allocated;
  for (int i = 0; i < 1000; ++i) {
    Tlab& tlab = i % 2 ? a : b;
    const uint32_t length = static_cast<uint32_t>(i % 300);
    auto object = i % 3 ? heap->Allocate(tlab, &kPair, kPair.instance_size, 0)
                        : heap->Allocate(tlab, &kBytes,
                                         ObjectHeader::ArraySize(length, 0), length);
    ASSERT_TRUE(object.ok()) << object.status();
    allocated.push_back(*object);
  }
  // A large object (beyond a quarter chunk) and a medium one (beyond a quarter
  // Tlab) take the slow paths.
  auto large = heap->Allocate(a, &kBytes, ObjectHeader::ArraySize(600000, 0), 600000);
  auto medium = heap->Allocate(b, &kBytes, ObjectHeader::ArraySize(2000, 0), 2000);
  ASSERT_TRUE(large.ok() && medium.ok());
  allocated.push_back(*large);
  allocated.push_back(*medium);

  std::vector<ObjectHeader*> seen = Walk(*heap);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  std::sort(allocated.begin(), allocated.end());
  EXPECT_EQ(seen, allocated);
  EXPECT_EQ((*large)->length, 600000u);
  // Fresh memory is zeroed.
  const char* data = (*large)->address() + kHeaderSize;
  EXPECT_TRUE(std::all_of(data, data + 600000, [](char c) { return c == 0; }));

  // Allocation continues after the walk over the fillers it wrote.
  auto after = heap->Allocate(a, &kPair, kPair.instance_size, 0);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)->lock_word.load(), 0u);
  EXPECT_EQ(Walk(*heap).size(), allocated.size() + 1);
  heap->DetachTlab(&a);
  heap->DetachTlab(&b);
  EXPECT_EQ(Walk(*heap).size(), allocated.size() + 1);
}

// Objects just under a quarter Tlab leave Tlab tails big enough to be free
// ranges but too small for the next object: refills must not hand them out.
TEST(HeapTest, RefillNeverHandsOutARangeSmallerThanTheObject) {
  TestHeap heap(SmallHeap());
  Tlab tlab;
  heap->AttachTlab(&tlab);
  const uint32_t length = (4 << 10) / 4 - 24;  // an array of just under 1 KiB
  size_t count = 0;
  while (true) {
    auto object = heap->Allocate(tlab, &kBytes, ObjectHeader::ArraySize(length, 0), length);
    if (!object.ok()) break;
    heap.vm.roots.push_back(*object);
    ++count;
  }
  EXPECT_GT(count, (4u << 20) / 1024 * 9 / 10);
  EXPECT_EQ(Walk(*heap).size(), count);
  for (ObjectHeader* o : heap.vm.roots) EXPECT_EQ(o->length, length);
  heap->DetachTlab(&tlab);
}

TEST(HeapTest, FullHeapCollectsCallsTheOomHookOnceThenFailsAndRecovers) {
  TestHeap heap(SmallHeap());
  Tlab tlab;
  heap->AttachTlab(&tlab);
  absl::Status status;
  while (true) {
    auto object = heap->Allocate(tlab, &kPair, kPair.instance_size, 0);
    if (!object.ok()) {
      status = object.status();
      break;
    }
    heap.vm.roots.push_back(*object);  // everything stays reachable
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(status.message().find("out of memory allocating 32 bytes"), std::string::npos)
      << status;
  EXPECT_EQ(heap.vm.out_of_memory, 1);
  EXPECT_GE(heap.vm.requests, 1);  // a full collection ran before giving up
  // Chunk headers and mark bitmaps take 1.6%; Tlab tails a little more.
  EXPECT_GT(heap.vm.roots.size(), (4u << 20) / 32 * 95 / 100);
  EXPECT_EQ(heap->Stats().committed_bytes, 4u << 20);
  auto huge = heap->Allocate(tlab, &kBytes, ObjectHeader::ArraySize(8 << 20, 0), 8 << 20);
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Walk(*heap).size(), heap.vm.roots.size());

  // Let go, and the same thread allocates again: the collection frees it all.
  heap.vm.roots.clear();
  auto again = heap->Allocate(tlab, &kPair, kPair.instance_size, 0);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_GT(heap.vm.last().freed_bytes, (4u << 20) * 95 / 100);
  heap->DetachTlab(&tlab);
}

TEST(HeapTest, DetachingTheNewestTlabGivesItsTailBack) {
  TestHeap heap(SmallHeap());
  for (int i = 0; i < 10000; ++i) {
    Tlab tlab;
    heap->AttachTlab(&tlab);
    ASSERT_TRUE(heap->Allocate(tlab, &kPair, kPair.instance_size, 0).ok());
    heap->DetachTlab(&tlab);
  }
  EXPECT_EQ(heap->Stats().chunks, 1u);
  EXPECT_EQ(Walk(*heap).size(), 10000u);
}

TEST(HeapTest, FillersCoverEightByteGaps) {
  std::vector<uint64_t> memory(8, ~uint64_t{0});
  char* base = reinterpret_cast<char*>(memory.data());
  FillGap(base, 8);
  FillGap(base + 8, 56);
  auto* word = reinterpret_cast<ObjectHeader*>(base);
  auto* rest = reinterpret_cast<ObjectHeader*>(base + 8);
  EXPECT_EQ(word->Size(), 8u);
  EXPECT_EQ(rest->Size(), 56u);
  EXPECT_TRUE(word->layout->IsFiller() && rest->layout->IsFiller());
}


TEST(HeapTest, HugePagesBackTheHeapWhereTheKernelOffersThem) {
  std::string why;
  if (!TransparentHugePagesOffered(&why)) {
    GTEST_SKIP() << "the kernel offers no transparent huge pages (" << why << ")";
  }
  HeapOptions options = SmallHeap();
  options.heap_limit_bytes = 64 << 20;
  options.initial_soft_limit_bytes = 64 << 20;
  TestHeap heap(options);
  Tlab tlab;
  heap->AttachTlab(&tlab);
  // 16 MiB of small objects: chunks carved in address order from the
  // 2 MiB-aligned reservation, every byte written (the Tlab refills zero).
  for (int i = 0; i < (16 << 20) / 32; ++i) ASSERT_TRUE(heap->Allocate(tlab, &kPair, 32, 0).ok());
  heap->DetachTlab(&tlab);
  const HeapStats stats = heap->Stats();
  EXPECT_TRUE(stats.huge_pages);
  EXPECT_GE(stats.reserved_bytes, options.heap_limit_bytes);
  // Most of the 16 MiB; the kernel may have had no free 2 MiB page for some
  // groups (fragmentation), but not for all.
  EXPECT_GE(stats.huge_page_bytes, size_t{8} << 20) << why;
}

TEST(HeapTest, WithoutHugePagesTheHeapDoesNotAskForThem) {
  HeapOptions options = SmallHeap();
  options.huge_pages = false;
  TestHeap heap(options);
  Tlab tlab;
  heap->AttachTlab(&tlab);
  ASSERT_TRUE(heap->Allocate(tlab, &kPair, 32, 0).ok());
  heap->DetachTlab(&tlab);
  const HeapStats stats = heap->Stats();
  EXPECT_FALSE(stats.huge_pages);
  EXPECT_GT(stats.reserved_bytes, 0u);
}

TEST(HeapReservationTest, TakesLowestFirstAndReusesWhatWasGiven) {
  auto reservation = HeapReservation::Create(16 << 20, 1 << 20, /*huge_pages=*/false);
  ASSERT_NE(reservation, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(reservation->base()) % HeapReservation::kHugePage, 0u);
  char* a = static_cast<char*>(reservation->Take(1 << 20));
  char* b = static_cast<char*>(reservation->Take(3 << 20));  // three slots
  char* c = static_cast<char*>(reservation->Take(1));
  EXPECT_EQ(a, reservation->base());
  EXPECT_EQ(b, a + (1 << 20));
  EXPECT_EQ(c, b + (3 << 20));
  reservation->Give(b, 3 << 20);
  EXPECT_EQ(reservation->Take(2 << 20), b);  // the hole, first fit
  EXPECT_EQ(reservation->Take(1 << 20), b + (2 << 20));
  EXPECT_EQ(reservation->Take(64 << 20), nullptr);  // more than reserved
  std::memset(c, 1, 1 << 20);
  EXPECT_TRUE(reservation->Contains(c) && !reservation->Contains(a + (16 << 20)));
}

}  // namespace
}  // namespace kiln::gc
