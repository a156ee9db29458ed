#include "gc/internal/heap.h"

#include <cstring>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/clock.h"

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
  // The two-step ranges (a dump's: the chunk list copied, sorted and bounded
  // later) are ParsableRanges', in address order; the large object's chunk
  // is one of them.
  Heap::RangeSnapshot snapshot = heap->SnapshotRanges();
  const std::vector<Heap::Range> direct = heap->ParsableRanges();
  const std::vector<Heap::Range>& filled = snapshot.Fill();
  ASSERT_EQ(filled.size(), direct.size());
  ASSERT_GE(filled.size(), 2u);
  for (size_t i = 0; i < filled.size(); ++i) {
    EXPECT_EQ(filled[i].start, direct[i].start);
    EXPECT_EQ(filled[i].end, direct[i].end);
    if (i > 0) EXPECT_LT(filled[i - 1].end, filled[i].start);
  }
  EXPECT_EQ(&snapshot.Fill(), &filled);  // computed once
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

// Every allocation path hands out memory whose payload is zero: fresh chunks,
// free ranges the sweep made of dead objects (zeroed by the background
// zeroer, by the allocation when the zeroer is behind, by the sweep, or by
// the allocating thread a Tlab at a time, outside the heap lock or in it),
// retained empty chunks, reused chunk slots, medium and large objects. Each
// object is checked byte by byte when allocated, then filled with garbage
// (lock word included) before most of it is dropped and collected.
class ZeroingTest : public ::testing::TestWithParam<std::tuple<HeapOptions::Zeroing, bool>> {};

// CheckZeroThenDirty: the header is what Allocate was asked for, every byte
// past it is zero; then every byte past the layout word becomes garbage.
void CheckZeroThenDirty(ObjectHeader* object, uint32_t length, size_t size) {
  ASSERT_EQ(object->layout, &kBytes);
  ASSERT_EQ(object->lock_word.load(), 0u);
  ASSERT_EQ(object->length, length);
  ASSERT_EQ(object->Size(), size);
  const unsigned char* payload = reinterpret_cast<unsigned char*>(object->address()) + kHeaderSize;
  for (size_t i = 0; i < size - kHeaderSize; ++i) {
    ASSERT_EQ(payload[i], 0) << "byte " << i << " of a " << size << "-byte object at "
                             << static_cast<const void*>(object);
  }
  object->lock_word.store(0xdeadbeef);
  std::memset(object->address() + kHeaderSize, 0xa5, size - kHeaderSize);
}

TEST_P(ZeroingTest, AllocationReturnsZeroedMemoryOnEveryPath) {
  const auto [zeroing, hold_zeroer] = GetParam();
  HeapOptions options = SmallHeap();
  options.heap_limit_bytes = 8 << 20;
  options.initial_soft_limit_bytes = 4 << 20;
  options.zeroing = zeroing;
  options.verify = true;
  TestHeap heap(options);
  heap->HoldZeroerForTesting(hold_zeroer);
  Tlab tlab;
  heap->AttachTlab(&tlab);
  // Sizes for the Tlab (up to a quarter Tlab), medium objects (past it) and
  // large objects (past a quarter chunk).
  const uint32_t lengths[] = {0, 1, 7, 8, 16, 48, 100, 1000, 2000, 5000, 70000, 300000, 600000};
  uint64_t seed = 1;
  for (int round = 0; round < 12; ++round) {
    size_t allocated = 0;
    while (allocated < (3u << 20)) {
      seed = seed * 6364136223846793005u + 1442695040888963407u;
      // Mostly small, now and then medium or large.
      const size_t pick = (seed >> 33) % 64;
      const uint32_t length = pick < 56 ? lengths[pick % 6] : lengths[6 + pick % 7];
      const size_t size = ObjectHeader::ArraySize(length, 0);
      auto object = heap->Allocate(tlab, &kBytes, size, length);
      ASSERT_TRUE(object.ok()) << object.status();
      CheckZeroThenDirty(*object, length, size);
      allocated += size;
      // Some survive a round or two, so free ranges fall between live ones.
      if ((seed >> 40) % 4 == 0) heap.vm.roots.push_back(*object);
    }
    // Drop most survivors, keep a few; collect; allocate at once, while the
    // zeroer (if any) may still be at work.
    std::vector<ObjectHeader*> keep;
    for (size_t i = 0; i < heap.vm.roots.size(); i += 3) keep.push_back(heap.vm.roots[i]);
    heap.vm.roots = std::move(keep);
    heap->Collect(GcCause::kExplicit);
  }
  heap->DetachTlab(&tlab);
  const HeapStats stats = heap->Stats();
  EXPECT_GE(stats.collections, 12u);
  if (zeroing == HeapOptions::Zeroing::kSweep) {
    EXPECT_GT(stats.sweep_zeroed_bytes, 0u);
    EXPECT_EQ(stats.background_zeroed_bytes, 0u);
  } else if (zeroing == HeapOptions::Zeroing::kAllocation) {
    EXPECT_GT(stats.allocation_zeroed_bytes, 1u << 20);  // the freed space, reused
    EXPECT_EQ(stats.background_zeroed_bytes + stats.sweep_zeroed_bytes, 0u);
  } else if (hold_zeroer) {
    EXPECT_GT(stats.allocation_zeroed_bytes, 0u);  // the allocations did it
    EXPECT_EQ(stats.background_zeroed_bytes, 0u);
  } else {
    EXPECT_GT(stats.background_zeroed_bytes + stats.allocation_zeroed_bytes, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Modes, ZeroingTest,
    ::testing::Values(std::make_tuple(HeapOptions::Zeroing::kBackground, false),
                      std::make_tuple(HeapOptions::Zeroing::kBackground, true),
                      std::make_tuple(HeapOptions::Zeroing::kSweep, false),
                      std::make_tuple(HeapOptions::Zeroing::kAllocation, false)));

// Zeroing on the allocating thread releases the heap lock around its memset:
// two threads refilling from the same dirty ranges at once each get zeroed,
// disjoint memory (run under TSan too).
TEST(ZeroingTest, AllocatingThreadsZeroTheirOwnPiecesConcurrently) {
  HeapOptions options = SmallHeap();
  options.heap_limit_bytes = 8 << 20;
  options.initial_soft_limit_bytes = 4 << 20;
  options.min_collection_budget_bytes = 4 << 20;
  options.zeroing = HeapOptions::Zeroing::kAllocation;
  TestHeap heap(options);
  {
    // Fill about 3 MiB with garbage, then collect: all of it becomes dirty.
    Tlab tlab;
    heap->AttachTlab(&tlab);
    for (size_t allocated = 0; allocated < (3u << 20); allocated += kPair.instance_size) {
      auto object = heap->Allocate(tlab, &kPair, kPair.instance_size, 0);
      ASSERT_TRUE(object.ok());
      std::memset((*object)->address() + kHeaderSize, 0xff, kPair.instance_size - kHeaderSize);
    }
    heap->DetachTlab(&tlab);
  }
  heap->Collect(GcCause::kExplicit);
  ASSERT_GT(heap->Stats().dirty_bytes, 2u << 20);
  const uint64_t collections = heap->collections();
  // Together well under the dirty space: no collection starts meanwhile
  // (the fake VM would run it on the allocating thread, world not stopped).
  constexpr size_t kPerThread = 768 << 10;
  std::vector<std::vector<ObjectHeader*>> seen(2);
  auto run = [&](std::vector<ObjectHeader*>* mine) {
    Tlab tlab;
    heap->AttachTlab(&tlab);
    for (size_t allocated = 0; allocated < kPerThread; allocated += kPair.instance_size) {
      auto object = heap->Allocate(tlab, &kPair, kPair.instance_size, 0);
      ASSERT_TRUE(object.ok());
      for (size_t b = kHeaderSize; b < kPair.instance_size; ++b) {
        ASSERT_EQ((*object)->address()[b], 0) << "byte " << b;
      }
      std::memset((*object)->address() + kHeaderSize, 0xee, kPair.instance_size - kHeaderSize);
      mine->push_back(*object);
    }
    heap->DetachTlab(&tlab);
  };
  std::thread a(run, &seen[0]);
  std::thread b(run, &seen[1]);
  a.join();
  b.join();
  EXPECT_EQ(heap->collections(), collections);
  absl::flat_hash_set<ObjectHeader*> all;
  for (const auto& objects : seen) {
    for (ObjectHeader* object : objects) EXPECT_TRUE(all.insert(object).second);
  }
  EXPECT_EQ(all.size(), 2 * ((kPerThread + kPair.instance_size - 1) / kPair.instance_size));
  EXPECT_GE(heap->Stats().allocation_zeroed_bytes, 2 * kPerThread);
  EXPECT_EQ(heap->Stats().background_zeroed_bytes, 0u);
}

// The background zeroer, left alone, zeroes all the space a collection frees,
// and the allocations after it zero nothing.
TEST(ZeroingTest, TheZeroerCatchesUpBetweenCollections) {
  HeapOptions options = SmallHeap();
  options.zeroing = HeapOptions::Zeroing::kBackground;
  TestHeap heap(options);
  Tlab tlab;
  heap->AttachTlab(&tlab);
  for (int i = 0; i < 60000; ++i) {
    auto object = heap->Allocate(tlab, &kPair, kPair.instance_size, 0);
    ASSERT_TRUE(object.ok());
    std::memset((*object)->address() + kHeaderSize, 0xff, kPair.instance_size - kHeaderSize);
    if (i % 40 == 0) heap.vm.roots.push_back(*object);  // gaps of 1248 bytes
  }
  heap->Collect(GcCause::kExplicit);
  HeapStats stats = heap->Stats();
  for (int i = 0; i < 2000 && stats.dirty_bytes > 0; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
    stats = heap->Stats();
  }
  EXPECT_EQ(stats.dirty_bytes, 0u);
  EXPECT_GT(stats.background_zeroed_bytes, 1u << 20);
  const size_t before = stats.allocation_zeroed_bytes;
  for (int i = 0; i < 30000; ++i) {
    auto object = heap->Allocate(tlab, &kPair, kPair.instance_size, 0);
    ASSERT_TRUE(object.ok());
    for (size_t b = kHeaderSize; b < kPair.instance_size; ++b) {
      ASSERT_EQ((*object)->address()[b], 0);
    }
  }
  EXPECT_EQ(heap->Stats().allocation_zeroed_bytes, before);
  heap->DetachTlab(&tlab);
}

TEST(HeapReservationTest, TakesLowestFirstAndReusesWhatWasGiven) {
  auto reservation = HeapReservation::Create(16 << 20, 1 << 20, /*huge_pages=*/false);
  ASSERT_NE(reservation, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(reservation->base()) % HeapReservation::kHugePage, 0u);
  bool zeroed = false;
  char* a = static_cast<char*>(reservation->Take(1 << 20, &zeroed));
  EXPECT_TRUE(zeroed);  // never used
  char* b = static_cast<char*>(reservation->Take(3 << 20, &zeroed));  // three slots
  char* c = static_cast<char*>(reservation->Take(1, &zeroed));
  EXPECT_EQ(a, reservation->base());
  EXPECT_EQ(b, a + (1 << 20));
  EXPECT_EQ(c, b + (3 << 20));
  reservation->Give(b, 3 << 20);
  EXPECT_EQ(reservation->Take(2 << 20, &zeroed), b);  // the hole, first fit
  EXPECT_FALSE(zeroed);  // reused, and its 2 MiB groups were not all free
  EXPECT_EQ(reservation->Take(1 << 20, &zeroed), b + (2 << 20));
  EXPECT_EQ(reservation->Take(64 << 20, &zeroed), nullptr);  // more than reserved
  std::memset(c, 1, 1 << 20);
  EXPECT_TRUE(reservation->Contains(c) && !reservation->Contains(a + (16 << 20)));
}

}  // namespace
}  // namespace kiln::gc
