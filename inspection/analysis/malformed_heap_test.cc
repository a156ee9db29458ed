// HeapGraph on well-formed records that contradict each other: the graph is
// refused with a DataLoss status naming the record, never built (the first
// of these was found by heap_graph_fuzzer: an INSTANCE_DUMP of an array
// class read its field offset as an index into the array elements).
// Superclass chains that loop or run deeper than kHprofMaxSuperclassDepth are
// refused too, so every walk up a chain in the analyses ends.
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "inspection/analysis/hand_heap.h"
#include "inspection/hprof/hprof_reader.h"
#include "inspection/hprof/hprof_format.h"

namespace kiln::analysis {
namespace {

TEST(MalformedHeapTest, InstanceOfAnArrayClassIsRefusedNamingItsOffset) {
  HandHeap heap;
  const uint64_t element = heap.Instance(heap.Class("app.Leaf", {}), {});
  heap.Instance(heap.object_array_class(), {});
  heap.ObjectArray({element});
  const absl::StatusOr<HandGraph> g = heap.Build();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(g.status().message(), "INSTANCE_DUMP with field values at offset "))
      << g.status();
  EXPECT_TRUE(absl::StrContains(g.status().message(), "[Ljava/lang/Object;") ||
              absl::StrContains(g.status().message(), "[Ljava.lang.Object;"))
      << g.status();
}

TEST(MalformedHeapTest, ObjectArrayOfAnInstanceClassIsRefusedNamingTheArray) {
  HandHeap heap;
  const uint64_t leaf = heap.Class("app.Leaf", {{"next", hprof::kObject}});
  const uint64_t element = heap.Instance(leaf, {0});
  const uint64_t array = heap.ObjectArray({element}, leaf);
  const absl::StatusOr<HandGraph> g = heap.Build();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(g.status().message(),
                                absl::StrFormat("OBJ_ARRAY_DUMP of object 0x%x", array)))
      << g.status();
  EXPECT_TRUE(absl::StrContains(g.status().message(), "app.Leaf")) << g.status();
}

TEST(MalformedHeapTest, SuperclassLoopIsRefusedNamingTheClassAndItsRecord) {
  HandHeap heap;
  const uint64_t a = heap.Class("app.A", {});
  const uint64_t b = heap.Class("app.B", {}, a);
  const uint64_t c = heap.Class("app.C", {}, b);
  heap.SetSuperclass(a, c);
  heap.Instance(heap.Class("app.Fine", {}), {});
  const absl::StatusOr<HandGraph> g = heap.Build();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(g.status().message(), "HPROF offset ")) << g.status();
  EXPECT_TRUE(absl::StrContains(
      g.status().message(),
      absl::StrFormat("CLASS_DUMP of class 0x%x (app.A): its superclass chain loops", a)))
      << g.status();
}

TEST(MalformedHeapTest, SuperclassChainDeeperThanTheBoundIsRefused) {
  for (const uint32_t depth : {kHprofMaxSuperclassDepth, kHprofMaxSuperclassDepth + 1}) {
    SCOPED_TRACE(depth);
    HandHeap heap;
    uint64_t cls = 0;  // java.lang.Object is the first of the chain
    for (uint32_t i = 1; i < depth; ++i) cls = heap.Class(absl::StrFormat("app.C%d", i), {}, cls);
    heap.Root(RootType::kJniGlobal, heap.Instance(cls, {}));
    const absl::StatusOr<HandGraph> g = heap.Build();
    if (depth == kHprofMaxSuperclassDepth) {
      ASSERT_TRUE(g.ok()) << g.status();
      continue;
    }
    ASSERT_FALSE(g.ok());
    EXPECT_TRUE(absl::StrContains(
        g.status().message(),
        absl::StrFormat("CLASS_DUMP of class 0x%x (app.C%d): its superclass chain is more than",
                        cls, depth - 1)))
        << g.status();
  }
}

TEST(MalformedHeapTest, ObjectIdOrClassDumpTwiceNamesBothRecords) {
  HandHeap heap;
  const uint64_t leaf = heap.Class("app.Leaf", {});
  const uint64_t object = heap.Instance(leaf, {});
  for (const uint64_t id : {object, leaf}) {
    SCOPED_TRACE(id);
    HandHeap twice = heap;
    twice.Repeat(id);
    const absl::StatusOr<HandGraph> g = twice.Build();
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.status().code(), absl::StatusCode::kDataLoss);
    const std::string message(g.status().message());
    EXPECT_TRUE(absl::StartsWith(message, "HPROF offset ")) << message;
    EXPECT_TRUE(absl::StrContains(message, "at offset ")) << message;
    EXPECT_TRUE(absl::StrContains(message, absl::StrFormat("0x%x", id))) << message;
  }
}

}  // namespace
}  // namespace kiln::analysis
