// The collector against a fake VM (gc/fake_binding.h): what survives, what
// is freed, references, finalizers, stress mode and the verifier.
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <vector>

#include "gc/fake_binding.h"
#include "gc/internal/heap.h"
#include "gc/internal/marker.h"
#include "gtest/gtest.h"

namespace kiln::gc {
namespace {

// Node { Node left; Node right; long value; }
constexpr uint32_t kNodeRefs[] = {16, 24};
const Layout kNode{.kind = LayoutKind::kInstance,
                   .instance_size = 40,
                   .ref_offsets = kNodeRefs,
                   .num_ref_offsets = 2};
// WeakReference { referent }, PhantomReference { referent; next }
const Layout kWeak{.kind = LayoutKind::kInstance,
                   .reference_kind = ReferenceKind::kWeak,
                   .instance_size = 24,
                   .referent_offset = 16};
constexpr uint32_t kPhantomRefs[] = {24};
const Layout kPhantom{.kind = LayoutKind::kInstance,
                      .reference_kind = ReferenceKind::kPhantom,
                      .instance_size = 32,
                      .ref_offsets = kPhantomRefs,
                      .num_ref_offsets = 1,
                      .referent_offset = 16};
const Layout kRefArray{.kind = LayoutKind::kObjectArray};
const Layout kBytes{.kind = LayoutKind::kPrimitiveArray};

ObjectHeader*& Slot(ObjectHeader* object, uint32_t offset) {
  return *reinterpret_cast<ObjectHeader**>(object->address() + offset);
}

class CollectorTest : public ::testing::Test {
 protected:
  explicit CollectorTest(HeapOptions options = Options()) {
    heap_ = *Heap::Create(options, &vm_);
    vm_.set_heap(heap_.get());
    heap_->AttachTlab(&tlab_);
  }
  ~CollectorTest() override { heap_->DetachTlab(&tlab_); }

  static HeapOptions Options() {
    HeapOptions options;
    options.heap_limit_bytes = 64 << 20;
    options.tlab_size = 4 << 10;
    options.verify = true;
    return options;
  }

  ObjectHeader* New(const Layout& layout = kNode) {
    auto object = heap_->Allocate(tlab_, &layout, layout.instance_size, 0);
    EXPECT_TRUE(object.ok()) << object.status();
    return *object;
  }
  ObjectHeader* NewArray(const Layout& layout, uint32_t length) {
    const unsigned log2 = layout.kind == LayoutKind::kObjectArray ? 3 : 0;
    auto object = heap_->Allocate(tlab_, &layout, ObjectHeader::ArraySize(length, log2), length);
    EXPECT_TRUE(object.ok()) << object.status();
    return *object;
  }
  std::set<ObjectHeader*> Objects() {
    std::set<ObjectHeader*> objects;
    heap_->MakeParsable();
    heap_->ForEachObject([&](ObjectHeader* o) { objects.insert(o); });
    return objects;
  }
  CollectionStats Collect() { return heap_->Collect(GcCause::kExplicit); }

  FakeBinding vm_;
  std::unique_ptr<Heap> heap_;
  Tlab tlab_;
};

TEST_F(CollectorTest, ReachableSurvivesUnreachableAndCyclesAreFreed) {
  ObjectHeader* root = New();
  ObjectHeader* left = New();
  ObjectHeader* right = New();
  ObjectHeader* grandchild = New();
  Slot(root, 16) = left;
  Slot(root, 24) = right;
  Slot(right, 16) = grandchild;
  ObjectHeader* array = NewArray(kRefArray, 3);
  ObjectHeader* in_array = New();
  Slot(array, 16 + 8) = in_array;
  // A garbage cycle, and plain garbage.
  ObjectHeader* a = New();
  ObjectHeader* b = New();
  Slot(a, 16) = b;
  Slot(b, 16) = a;
  for (int i = 0; i < 100; ++i) New();
  vm_.roots = {root, array};

  CollectionStats stats = Collect();
  EXPECT_EQ(Objects(), (std::set<ObjectHeader*>{root, left, right, grandchild, array, in_array}));
  EXPECT_EQ(stats.live_objects, 6u);
  EXPECT_EQ(stats.freed_bytes, 102u * 40);
  EXPECT_EQ(stats.live_bytes, 5 * 40 + ObjectHeader::ArraySize(3, 3));
  EXPECT_EQ(Slot(right, 16), grandchild);  // nothing moved, nothing changed

  Slot(root, 24) = nullptr;  // right and grandchild become garbage
  vm_.roots = {root};        // so do the array and its element
  stats = Collect();
  EXPECT_EQ(Objects(), (std::set<ObjectHeader*>{root, left}));
  EXPECT_EQ(stats.freed_bytes, 2 * 40 + ObjectHeader::ArraySize(3, 3) + 40);
  vm_.roots.clear();
  Collect();
  EXPECT_TRUE(Objects().empty());
}

TEST_F(CollectorTest, FreedSpaceIsReusedBeforeTheHeapGrows) {
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 20000; ++i) New();  // 800 KB of garbage per round
    Collect();
  }
  HeapStats stats = heap_->Stats();
  EXPECT_LE(stats.committed_bytes, size_t{2} << 20) << "space was not reused";
  EXPECT_EQ(stats.collections, 20u);
  // Large objects come and go with their own chunks.
  ObjectHeader* large = NewArray(kBytes, 1 << 20);
  EXPECT_EQ(heap_->Stats().large_objects, 1u);
  vm_.roots = {large};
  Collect();
  EXPECT_EQ(heap_->Stats().large_objects, 1u);
  vm_.roots.clear();
  Collect();
  EXPECT_EQ(heap_->Stats().large_objects, 0u);
}

TEST_F(CollectorTest, WeakReferenceIsClearedExactlyWhenItsReferentDies) {
  ObjectHeader* weak = New(kWeak);
  ObjectHeader* referent = New();
  Slot(weak, 16) = referent;
  vm_.roots = {weak, referent};
  for (int i = 0; i < 3; ++i) {
    CollectionStats stats = Collect();
    EXPECT_EQ(Slot(weak, 16), referent);
    EXPECT_EQ(stats.weak_cleared, 0u);
  }
  vm_.roots = {weak};  // only the weak reference reaches it now
  CollectionStats stats = Collect();
  EXPECT_EQ(Slot(weak, 16), nullptr);
  EXPECT_EQ(stats.weak_cleared, 1u);
  EXPECT_EQ(Objects(), (std::set<ObjectHeader*>{weak}));
}

TEST_F(CollectorTest, PhantomReferencesAreReportedOnceWithTheDeadReferent) {
  ObjectHeader* phantom = New(kPhantom);
  ObjectHeader* referent = New();
  ObjectHeader* strong = New();
  Slot(phantom, 16) = referent;
  Slot(phantom, 24) = strong;  // strong fields of a reference are followed
  vm_.roots = {phantom, referent};
  Collect();
  EXPECT_TRUE(vm_.cleared.empty());
  vm_.roots = {phantom};
  Collect();
  ASSERT_EQ(vm_.cleared.size(), 1u);
  EXPECT_EQ(vm_.cleared[0].reference, phantom);
  EXPECT_EQ(vm_.cleared[0].referent, referent);
  EXPECT_EQ(Slot(phantom, 16), nullptr);
  EXPECT_EQ(Objects(), (std::set<ObjectHeader*>{phantom, strong}));
  Collect();
  EXPECT_EQ(vm_.cleared.size(), 1u);  // never reported twice
}

TEST_F(CollectorTest, FinalizableObjectsAreResurrectedOnceThenCollected) {
  ObjectHeader* finalizable = New();
  ObjectHeader* child = New();
  Slot(finalizable, 16) = child;
  ObjectHeader* weak = New(kWeak);
  Slot(weak, 16) = finalizable;
  heap_->RegisterFinalizable(finalizable);
  vm_.roots = {weak};

  CollectionStats stats = Collect();
  EXPECT_EQ(stats.finalizable_resurrected, 1u);
  EXPECT_EQ(vm_.finalization_signals, 1);
  // Resurrected with what it reaches; weak references to it are cleared first.
  EXPECT_EQ(Objects(), (std::set<ObjectHeader*>{finalizable, child, weak}));
  EXPECT_EQ(Slot(weak, 16), nullptr);
  Collect();  // pending finalization is a root
  EXPECT_EQ(Objects().count(finalizable), 1u);

  EXPECT_EQ(heap_->TakePendingFinalization(), finalizable);
  EXPECT_EQ(heap_->TakePendingFinalization(), nullptr);
  stats = Collect();  // finalized and unreachable: gone, and not finalized again
  EXPECT_EQ(Objects(), (std::set<ObjectHeader*>{weak}));
  EXPECT_EQ(stats.finalizable_resurrected, 0u);
  EXPECT_EQ(vm_.finalization_signals, 1);
}

TEST_F(CollectorTest, VerifierNamesADanglingReference) {
  ObjectHeader* root = New();
  vm_.roots = {root};
  heap_->MakeParsable();
  EXPECT_TRUE(heap_->Verify().ok());
  static char not_an_object[64];
  Slot(root, 24) = reinterpret_cast<ObjectHeader*>(not_an_object);
  absl::Status status = heap_->Verify();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_NE(status.message().find("offset 24"), std::string::npos) << status;
  Slot(root, 24) = nullptr;
  vm_.roots.push_back(reinterpret_cast<ObjectHeader*>(not_an_object + 8));
  EXPECT_NE(heap_->Verify().message().find("root refers to"), std::string::npos);
  vm_.roots.pop_back();
}

// SnapshotMarkingTest: with the default reservation every chunk is in it
// (the marks go to side bits); with a reservation of one chunk, all but the
// first come from mimalloc and keep their marks in the chunk.
class SnapshotMarkingTest : public CollectorTest, public ::testing::WithParamInterface<size_t> {
 protected:
  static HeapOptions ReservedOptions(size_t reserved) {
    HeapOptions options = Options();
    options.reserved_bytes = reserved;
    return options;
  }
  SnapshotMarkingTest() : CollectorTest(ReservedOptions(GetParam())) {}
};

TEST_P(SnapshotMarkingTest, MarksTheStronglyReachableFromTheRootsItRecorded) {
  ObjectHeader* root = New();
  ObjectHeader* child = New();
  Slot(root, 16) = child;
  // A large object array (a chunk of its own) whose elements are all live,
  // scanned in slices of kArraySlice.
  constexpr uint32_t kElements = 150000;
  ObjectHeader* array = NewArray(kRefArray, kElements);
  std::vector<ObjectHeader*> elements;
  for (uint32_t i = 0; i < kElements; ++i) {
    elements.push_back(New());
    Slot(array, 16 + 8 * i) = elements.back();
  }
  ObjectHeader* weak = New(kWeak);
  ObjectHeader* weakly_reachable = New();
  Slot(weak, 16) = weakly_reachable;
  Slot(child, 24) = weak;
  ObjectHeader* garbage = New();
  Slot(garbage, 16) = root;  // garbage pointing at live objects
  ObjectHeader* large_garbage = NewArray(kRefArray, 2 * kElements);
  vm_.roots = {root, array, root};
  ASSERT_EQ(heap_->Stats().large_objects, 2u);

  absl::StatusOr<std::unique_ptr<Heap::SnapshotMarking>> marking =
      heap_->PrepareSnapshotMarking();
  ASSERT_TRUE(marking.ok()) << marking.status();
  EXPECT_TRUE((*marking)->side_bits());
  vm_.roots.clear();  // Mark uses the roots Prepare recorded
  EXPECT_EQ((*marking)->Mark(), 4u + kElements);
  for (ObjectHeader* live : {root, child, array, weak}) EXPECT_TRUE((*marking)->IsMarked(live));
  size_t unmarked = 0;
  for (ObjectHeader* element : elements) unmarked += !(*marking)->IsMarked(element);
  EXPECT_EQ(unmarked, 0u);
  // The array was scanned a slice at a time (marker.h): the stack never held
  // all of its elements at once.
  EXPECT_LE((*marking)->deepest_stack_entries(), size_t{2} * kArraySlice);
  EXPECT_FALSE((*marking)->IsMarked(weakly_reachable));  // referents are not followed
  EXPECT_FALSE((*marking)->IsMarked(garbage));
  EXPECT_FALSE((*marking)->IsMarked(large_garbage));
  if (GetParam() == 0) {
    // All in the reservation: the collection's bits (none yet) untouched.
    for (ObjectHeader* live : {root, child, array, weak}) EXPECT_FALSE(heap_->IsMarked(live));
  }
  // The walk finds the same objects through the snapshot's bits.
  auto walk = [&] {
    size_t found = 0;
    heap_->MakeParsable();
    for (const Heap::Range& range : heap_->ParsableRanges()) {
      (*marking)->ForEachMarkedObjectIn(range, [&](ObjectHeader* object) {
        found += (*marking)->IsMarked(object) && object != garbage;
      });
    }
    return found;
  };
  EXPECT_EQ(walk(), 4u + kElements);
  // Marking again starts from clear bits: the same answer, less the weak
  // reference.
  Slot(child, 24) = nullptr;
  EXPECT_EQ((*marking)->Mark(), 3u + kElements);
  EXPECT_FALSE((*marking)->IsMarked(weak));
  EXPECT_EQ(walk(), 3u + kElements);
  // Nothing was collected.
  EXPECT_EQ(Objects().count(garbage), 1u);
  EXPECT_EQ(Objects().count(large_garbage), 1u);
}

INSTANTIATE_TEST_SUITE_P(Reservations, SnapshotMarkingTest,
                         ::testing::Values(size_t{0}, size_t{1} << 20),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return info.param == 0 ? "Whole" : "OneChunk";
                         });

TEST_F(CollectorTest, SnapshotMarkingInAForkedChildLeavesTheParentsBitsAlone) {
  ObjectHeader* old_live = New();
  vm_.roots = {old_live};
  Collect();  // the parent's bits: old_live marked
  ObjectHeader* young = New();  // allocated since: unmarked
  Slot(old_live, 16) = young;
  ObjectHeader* garbage = New();
  absl::StatusOr<std::unique_ptr<Heap::SnapshotMarking>> marking =
      heap_->PrepareSnapshotMarking();
  ASSERT_TRUE(marking.ok()) << marking.status();

  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child: no gtest here, an exit code for each way to fail.
    if ((*marking)->Mark() != 2) _exit(1);
    if (!(*marking)->IsMarked(old_live) || !(*marking)->IsMarked(young)) _exit(2);
    if ((*marking)->IsMarked(garbage)) _exit(3);
    if (heap_->IsMarked(young)) _exit(4);  // the collection's bits, the child's copy
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(heap_->IsMarked(old_live));
  EXPECT_FALSE(heap_->IsMarked(young)) << "the child's marking reached the parent";
}

class StressCollectorTest : public CollectorTest {
 protected:
  static HeapOptions StressOptions() {
    HeapOptions options = Options();
    options.stress = true;
    return options;
  }
  StressCollectorTest() : CollectorTest(StressOptions()) {}
};

TEST_F(StressCollectorTest, EveryAllocationCollectsAndVerifies) {
  // A growing list with garbage in between; verify is on, so every one of
  // these collections checks the whole heap before and after.
  ObjectHeader* head = nullptr;
  for (int i = 0; i < 300; ++i) {
    vm_.roots = {head};
    ObjectHeader* node = New();
    Slot(node, 16) = head;
    head = node;
    vm_.roots = {head};
    New();  // garbage
  }
  EXPECT_EQ(heap_->collections(), 600u);
  vm_.roots = {head};
  Collect();
  EXPECT_EQ(Objects().size(), 300u);
}

}  // namespace
}  // namespace kiln::gc
