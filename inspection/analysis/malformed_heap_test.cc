// HeapGraph on well-formed records that contradict each other: the graph is
// refused with a DataLoss status naming the record, never built (the first
// of these was found by heap_graph_fuzzer: an INSTANCE_DUMP of an array
// class read its field offset as an index into the array elements).
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "inspection/analysis/hand_heap.h"
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

}  // namespace
}  // namespace kiln::analysis
