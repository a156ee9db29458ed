// The analyses on a heap built by a Kiln runtime (test_heap.h: a list of
// five test.Item held by a static, one with 4096 native bytes registered
// through NativeAllocationRegistry, one Item only weakly held, three garbage
// Items), dumped with VMRuntime::DumpHeap and loaded with HeapGraph::Load.
// Every number is worked out in the comments from test_heap.h.
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "inspection/analysis/dominators.h"
#include "inspection/analysis/flamegraph.h"
#include "inspection/analysis/heap_graph.h"
#include "inspection/analysis/histogram.h"
#include "inspection/analysis/shortest_path_tree.h"
#include "inspection/analysis/test_heap.h"

namespace kiln::analysis {
namespace {

using testing::kItemSelfBytes;
using testing::kNativeBytes;

std::unique_ptr<HeapGraph> LoadKnownHeap(bool live, const std::string& name,
                                         bool references = true) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  const absl::Status dumped = testing::DumpKnownHeap(path, {.live = live});
  EXPECT_TRUE(dumped.ok()) << dumped;
  uint64_t last_done = 0, calls = 0;
  BuildOptions options;
  options.references = references;
  options.progress = [&](uint64_t done, uint64_t total) {
    EXPECT_GE(done, last_done);
    EXPECT_LE(done, total);
    last_done = done;
    ++calls;
  };
  absl::StatusOr<std::unique_ptr<HeapGraph>> graph = HeapGraph::Load(path, options);
  EXPECT_TRUE(graph.ok()) << graph.status();
  EXPECT_GE(calls, 1u);
  return graph.ok() ? std::move(*graph) : nullptr;
}

// The Items, ordered by their `value` field: item0..item4 = 0..4, lonely =
// 100, garbage 200..202.
std::map<int, uint32_t> ItemsByValue(const HeapGraph& graph) {
  std::map<int, uint32_t> items;
  const uint32_t item = graph.FindType("test.Item");
  for (uint32_t obj = 0; obj < graph.object_count(); ++obj) {
    if (graph.type(obj) == item) items[*graph.FieldValue(obj, "value")] = obj;
  }
  return items;
}

TEST(KnownHeapTest, HistogramNativeSizesAndReachability) {
  std::unique_ptr<HeapGraph> graph = LoadKnownHeap(/*live=*/false, "full.hprof");
  ASSERT_NE(graph, nullptr);
  std::map<int, uint32_t> items = ItemsByValue(*graph);
  ASSERT_EQ(items.size(), 9u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(graph->reachable(items[i])) << i;
    // test.Item's CLASS_DUMP instance size: header 16 + id 8 + int 4 + long 8, aligned to 8.
    EXPECT_EQ(graph->self_size(items[i]), kItemSelfBytes);
    EXPECT_EQ(graph->type_info(graph->type(items[i])).instance_size, kItemSelfBytes);
  }
  EXPECT_FALSE(graph->reachable(items[100]));  // only the WeakReference leads to it
  EXPECT_FALSE(graph->reachable(items[200]));
  EXPECT_EQ(graph->native_size(items[2]), uint64_t{kNativeBytes});
  EXPECT_EQ(graph->native_size(items[1]), 0u);
  EXPECT_EQ(graph->summary().native_bytes, uint64_t{kNativeBytes});

  const auto row_of = [&](const std::vector<HistogramRow>& rows, const std::string& name) {
    for (const HistogramRow& row : rows) {
      if (graph->type_info(row.type).name == name) return row;
    }
    return HistogramRow{kNoType};
  };
  const HistogramRow all = row_of(Histogram(*graph, {}), "test.Item");
  EXPECT_EQ(all.count, 9u);
  EXPECT_EQ(all.self_bytes, 9u * kItemSelfBytes);
  EXPECT_EQ(all.native_bytes, uint64_t{kNativeBytes});
  const std::vector<HistogramRow> reachable =
      Histogram(*graph, {.reachable_only = true, .order = HistogramOrder::kNative, .top = 1});
  ASSERT_EQ(reachable.size(), 1u);
  EXPECT_EQ(graph->type_info(reachable[0].type).name, "test.Item");
  EXPECT_EQ(reachable[0].count, 5u);
  EXPECT_EQ(reachable[0].self_bytes, 5u * kItemSelfBytes);
  // Type names as Perfetto spells them.
  EXPECT_NE(graph->FindType("java.lang.Class<test.Holder>"), kNoType);
  EXPECT_NE(graph->FindType("byte[]"), kNoType);
  EXPECT_EQ(graph->FindType("byte[]"), graph->FindType("[B"));
  // Field names: the declaring class, then the field.
  const auto refs = graph->references(items[0]);
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0].target, items[1]);
  EXPECT_EQ(graph->field_name(refs[0].field_name), "test.Item.next");
}

// Built without references (kiln-heap histogram over all objects), the
// graph has the same objects, sizes, native sizes, threads and histogram.
TEST(KnownHeapTest, WithoutReferencesHistogramAndNativeSizesAreTheSame) {
  std::unique_ptr<HeapGraph> full = LoadKnownHeap(/*live=*/false, "with.hprof");
  std::unique_ptr<HeapGraph> graph =
      LoadKnownHeap(/*live=*/false, "without.hprof", /*references=*/false);
  ASSERT_NE(full, nullptr);
  ASSERT_NE(graph, nullptr);
  EXPECT_TRUE(full->has_references());
  EXPECT_FALSE(graph->has_references());
  std::map<int, uint32_t> items = ItemsByValue(*graph);
  ASSERT_EQ(items.size(), 9u);
  EXPECT_EQ(graph->native_size(items[2]), uint64_t{kNativeBytes});
  EXPECT_EQ(graph->summary().native_bytes, uint64_t{kNativeBytes});
  EXPECT_EQ(graph->summary().objects, full->summary().objects);
  EXPECT_EQ(graph->summary().shallow_bytes, full->summary().shallow_bytes);
  EXPECT_EQ(graph->summary().references, 0u);
  EXPECT_EQ(graph->summary().reachable_objects, 0u);
  EXPECT_EQ(graph->threads().size(), full->threads().size());
  const std::vector<HistogramRow> rows = Histogram(*graph, {});
  const std::vector<HistogramRow> full_rows = Histogram(*full, {});
  ASSERT_EQ(rows.size(), full_rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(graph->type_info(rows[i].type).name);
    EXPECT_EQ(graph->type_info(rows[i].type).name, full->type_info(full_rows[i].type).name);
    EXPECT_EQ(rows[i].count, full_rows[i].count);
    EXPECT_EQ(rows[i].self_bytes, full_rows[i].self_bytes);
    EXPECT_EQ(rows[i].native_bytes, full_rows[i].native_bytes);
  }
}

// Built without objects (kiln-heap histogram over all objects: counts per
// type in the reader's pass), one file gives the same histogram, native
// bytes included, and the same summary counts as the whole graph.
TEST(KnownHeapTest, WithoutObjectsTheTotalsAreTheWholeGraphs) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/counted.hprof");
  ASSERT_TRUE(testing::DumpKnownHeap(path, {}).ok());
  absl::StatusOr<std::unique_ptr<HeapGraph>> full = HeapGraph::Load(path, {});
  ASSERT_TRUE(full.ok()) << full.status();
  BuildOptions options;
  options.references = false;
  options.objects = false;
  absl::StatusOr<std::unique_ptr<HeapGraph>> counted = HeapGraph::Load(path, options);
  ASSERT_TRUE(counted.ok()) << counted.status();
  const HeapGraph& graph = **counted;
  EXPECT_FALSE(graph.has_objects());
  EXPECT_TRUE((*full)->has_objects());
  EXPECT_EQ(graph.object_count(), 0u);
  const Summary& a = graph.summary();
  const Summary& b = (*full)->summary();
  EXPECT_EQ(a.objects, b.objects);
  EXPECT_EQ(a.instances, b.instances);
  EXPECT_EQ(a.object_arrays, b.object_arrays);
  EXPECT_EQ(a.primitive_arrays, b.primitive_arrays);
  EXPECT_EQ(a.classes, b.classes);
  EXPECT_EQ(a.shallow_bytes, b.shallow_bytes);
  EXPECT_EQ(a.native_bytes, uint64_t{kNativeBytes});
  EXPECT_EQ(a.records, b.records);
  for (const HistogramOrder order :
       {HistogramOrder::kSelf, HistogramOrder::kNative, HistogramOrder::kCount}) {
    const std::vector<HistogramRow> rows = Histogram(graph, {.order = order});
    const std::vector<HistogramRow> full_rows = Histogram(**full, {.order = order});
    ASSERT_EQ(rows.size(), full_rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      SCOPED_TRACE(graph.type_info(rows[i].type).name);
      EXPECT_EQ(graph.type_info(rows[i].type).name, (*full)->type_info(full_rows[i].type).name);
      EXPECT_EQ(rows[i].count, full_rows[i].count);
      EXPECT_EQ(rows[i].self_bytes, full_rows[i].self_bytes);
      EXPECT_EQ(rows[i].native_bytes, full_rows[i].native_bytes);
    }
  }
}

TEST(KnownHeapTest, LiveDumpHoldsOnlyReachableItems) {
  std::unique_ptr<HeapGraph> graph = LoadKnownHeap(/*live=*/true, "live.hprof");
  ASSERT_NE(graph, nullptr);
  std::map<int, uint32_t> items = ItemsByValue(*graph);
  // A live dump keeps what the collector keeps: the list, and the weakly
  // held Item (a weak referent is still in the heap until it is cleared).
  EXPECT_EQ(items.count(200), 0u);
  EXPECT_EQ(items.count(4), 1u);
}

TEST(KnownHeapTest, FlamegraphAndRetainedSizes) {
  std::unique_ptr<HeapGraph> graph = LoadKnownHeap(/*live=*/false, "flame.hprof");
  ASSERT_NE(graph, nullptr);
  std::map<int, uint32_t> items = ItemsByValue(*graph);
  const ShortestPathTree tree = ComputeShortestPathTree(*graph);
  // java.lang.Class<test.Holder> (a sticky-class root) -> item0 -> ... -> item4.
  const uint32_t holder = graph->type_info(graph->FindType("test.Holder")).class_object;
  ASSERT_NE(holder, kNoObject);
  EXPECT_EQ(graph->root_type(holder), RootType::kStickyClass);
  EXPECT_EQ(tree.parent[items[0]], holder);
  EXPECT_EQ(tree.distance[items[0]], 1u);
  EXPECT_EQ(tree.distance[items[4]], 5u);
  EXPECT_EQ(PathToRoot(tree, items[2]),
            (std::vector<uint32_t>{items[2], items[1], items[0], holder}));

  const Flamegraph flame = BuildFlamegraph(*graph, tree);
  // The Holder class object: java.lang.Class's 16 (Kiln's Class: a header,
  // no fields) + 16 bytes of statics (list, weak); under it the five Items
  // (200 bytes) with item2's 4096 native bytes, and the WeakReference (24:
  // header 16 + its referent id) -- the referent not followed.
  const FlamegraphNode* root = nullptr;
  for (const FlamegraphNode& node : flame.nodes) {
    if (node.name == "java.lang.Class<test.Holder> [ROOT_STICKY_CLASS]") root = &node;
  }
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->self_size, 16u + 16u);
  EXPECT_EQ(root->cumulative_size, 32u + 5 * kItemSelfBytes + kNativeBytes + 24);
  EXPECT_EQ(root->cumulative_count, 1u + 5 + 1 + 1);  // the [native] node counts as one
  const uint32_t root_index = static_cast<uint32_t>(root - flame.nodes.data());
  const FlamegraphNode* first_item = nullptr;
  const FlamegraphNode* native = nullptr;
  for (const FlamegraphNode& node : flame.nodes) {
    if (node.parent == root_index && node.name == "test.Item") first_item = &node;
    if (node.name == "[native] test.Item") native = &node;
  }
  ASSERT_NE(first_item, nullptr);
  EXPECT_EQ(first_item->cumulative_size, 5 * kItemSelfBytes + kNativeBytes);
  ASSERT_NE(native, nullptr);
  EXPECT_EQ(native->self_size, uint64_t{kNativeBytes});
  EXPECT_EQ(native->depth, first_item->depth + 3);  // under item2's node
  EXPECT_NE(FlamegraphFolded(flame).find(
                "java.lang.Class<test.Holder> [ROOT_STICKY_CLASS];test.Item;test.Item;"
                "test.Item;[native] test.Item 4096\n"),
            std::string::npos);

  // Retained: item0 keeps the whole list (5 x 40), item2 the last three;
  // the Holder class object (32) also the WeakReference (24).
  const DominatorTree shallow = ComputeDominators(*graph, {});
  EXPECT_EQ(shallow.retained[items[0]], 5 * kItemSelfBytes);
  EXPECT_EQ(shallow.retained[items[2]], 3 * kItemSelfBytes);
  EXPECT_EQ(shallow.retained[holder], 32u + 5 * kItemSelfBytes + 24);
  EXPECT_EQ(shallow.idom[items[0]], holder);
  EXPECT_EQ(shallow.idom[items[100]], kNoObject);
  const DominatorTree with_native = ComputeDominators(*graph, {.include_native = true});
  EXPECT_EQ(with_native.retained[items[0]], 5 * kItemSelfBytes + kNativeBytes);
  EXPECT_EQ(with_native.retained[items[3]], 2 * kItemSelfBytes);
}

TEST(KnownHeapTest, ThreadsAndSummary) {
  std::unique_ptr<HeapGraph> graph = LoadKnownHeap(/*live=*/true, "threads.hprof");
  ASSERT_NE(graph, nullptr);
  const ThreadInfo* main = nullptr;
  for (const ThreadInfo& thread : graph->threads()) {
    if (thread.name == "main") main = &thread;
  }
  ASSERT_NE(main, nullptr);
  ASSERT_FALSE(main->frames.empty());
  EXPECT_EQ(main->frames[0].method, "main");
  EXPECT_EQ(main->frames[0].class_name, "test.Holder");
  EXPECT_EQ(main->frames[0].source_file, "Holder.java");
  EXPECT_EQ(main->frames[0].line, 7);
  EXPECT_EQ(graph->type_info(graph->type(main->object)).name, "java.lang.Thread");
  const Summary& summary = graph->summary();
  EXPECT_EQ(summary.id_size, 8u);
  EXPECT_EQ(summary.objects, graph->object_count());
  EXPECT_EQ(summary.dangling_references, 0u);
  EXPECT_EQ(summary.instances + summary.object_arrays + summary.primitive_arrays +
                summary.classes,
            summary.objects);
  EXPECT_EQ(summary.records.at("INSTANCE_DUMP"), summary.instances);
  EXPECT_EQ(summary.roots_by_type.at("ROOT_THREAD_OBJECT"), graph->threads().size());
}

}  // namespace
}  // namespace kiln::analysis
