// The analyses on small hand-built heaps whose answers are worked out by
// hand in the comments: a diamond, a cycle, two roots, a weak reference,
// class objects and arrays.
#include <string>

#include "base/check.h"
#include "gtest/gtest.h"
#include "inspection/analysis/dominators.h"
#include "inspection/analysis/flamegraph.h"
#include "inspection/analysis/heap_graph.h"
#include "inspection/analysis/histogram.h"
#include "inspection/analysis/shortest_path_tree.h"
#include "inspection/analysis/hand_heap.h"
#include "inspection/hprof/hprof_format.h"

namespace kiln::analysis {
namespace {

using hprof::kInt;
using hprof::kLong;
using hprof::kObject;

HandGraph Load(const HandHeap& heap) {
  absl::StatusOr<HandGraph> g = heap.Build();
  KILN_CHECK(g.ok(), g.status().ToString());
  return std::move(*g);
}

// Diamond: R -> A, R -> B, A -> D, B -> D, D -> E.
// Self sizes (the CLASS_DUMP instance size: 16-byte header + field bytes):
// R{a,b,long} 40, A{d} 24, B{d,long} 32, D{e,int} 28, E{long,long} 32;
// total 156.
struct Diamond {
  HandHeap heap;
  uint64_t r, a, b, d, e;
  Diamond() {
    const uint64_t cr = heap.Class("app.Root", {{"a", kObject}, {"b", kObject}, {"x", kLong}});
    const uint64_t ca = heap.Class("app.A", {{"d", kObject}});
    const uint64_t cb = heap.Class("app.B", {{"d", kObject}, {"y", kLong}});
    const uint64_t cd = heap.Class("app.D", {{"e", kObject}, {"z", kInt}});
    const uint64_t ce = heap.Class("app.E", {{"p", kLong}, {"q", kLong}});
    e = heap.Instance(ce, {1, 2});
    d = heap.Instance(cd, {e, 3});
    a = heap.Instance(ca, {d});
    b = heap.Instance(cb, {d, 4});
    r = heap.Instance(cr, {a, b, 5});
    heap.Root(RootType::kJniGlobal, r);
  }
};

TEST(GraphAlgorithmsTest, DiamondSizesReferencesAndFieldNames) {
  Diamond diamond;
  HandGraph g = Load(diamond.heap);
  const HeapGraph& graph = *g.graph;
  EXPECT_EQ(graph.self_size(g.Index(diamond.r)), 40u);
  EXPECT_EQ(graph.self_size(g.Index(diamond.d)), 28u);
  EXPECT_EQ(graph.type_info(graph.type(g.Index(diamond.r))).name, "app.Root");
  const auto refs = graph.references(g.Index(diamond.r));
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].target, g.Index(diamond.a));
  EXPECT_EQ(graph.field_name(refs[0].field_name), "app.Root.a");
  EXPECT_EQ(graph.field_name(refs[1].field_name), "app.Root.b");
  EXPECT_EQ(graph.field_type_name(refs[1]), "app.B");
  EXPECT_EQ(graph.root_type(g.Index(diamond.r)), RootType::kJniGlobal);
  EXPECT_EQ(graph.root_type(g.Index(diamond.a)), std::nullopt);
  EXPECT_EQ(graph.FieldValue(g.Index(diamond.b), "y"), 4u);
  for (const uint64_t id : {diamond.r, diamond.a, diamond.b, diamond.d, diamond.e}) {
    EXPECT_TRUE(graph.reachable(g.Index(id)));
  }
}

TEST(GraphAlgorithmsTest, DiamondShortestPathTree) {
  Diamond diamond;
  HandGraph g = Load(diamond.heap);
  const ShortestPathTree tree = ComputeShortestPathTree(*g.graph);
  EXPECT_EQ(tree.parent[g.Index(diamond.r)], kNoObject);
  EXPECT_EQ(tree.parent[g.Index(diamond.a)], g.Index(diamond.r));
  EXPECT_EQ(tree.parent[g.Index(diamond.b)], g.Index(diamond.r));
  // A is dequeued before B, so A reaches D first.
  EXPECT_EQ(tree.parent[g.Index(diamond.d)], g.Index(diamond.a));
  EXPECT_EQ(tree.parent[g.Index(diamond.e)], g.Index(diamond.d));
  EXPECT_EQ(tree.distance[g.Index(diamond.e)], 3u);
  const std::vector<uint32_t> path = PathToRoot(tree, g.Index(diamond.e));
  EXPECT_EQ(path, (std::vector<uint32_t>{g.Index(diamond.e), g.Index(diamond.d),
                                         g.Index(diamond.a), g.Index(diamond.r)}));
}

TEST(GraphAlgorithmsTest, DiamondDominatorsAndRetainedSizes) {
  Diamond diamond;
  HandGraph g = Load(diamond.heap);
  const DominatorTree dom = ComputeDominators(*g.graph, {});
  EXPECT_EQ(dom.idom[g.Index(diamond.r)], kSuperRoot);
  EXPECT_EQ(dom.idom[g.Index(diamond.a)], g.Index(diamond.r));
  EXPECT_EQ(dom.idom[g.Index(diamond.b)], g.Index(diamond.r));
  EXPECT_EQ(dom.idom[g.Index(diamond.d)], g.Index(diamond.r));  // two paths: A and B
  EXPECT_EQ(dom.idom[g.Index(diamond.e)], g.Index(diamond.d));
  EXPECT_EQ(dom.retained[g.Index(diamond.r)], 156u);
  EXPECT_EQ(dom.retained[g.Index(diamond.a)], 24u);
  EXPECT_EQ(dom.retained[g.Index(diamond.b)], 32u);
  EXPECT_EQ(dom.retained[g.Index(diamond.d)], 60u);  // D 28 + E 32
  EXPECT_EQ(dom.retained[g.Index(diamond.e)], 32u);
  EXPECT_EQ(dom.total_retained, 156u);
  EXPECT_EQ(TopRetainers(*g.graph, dom, 2),
            (std::vector<uint32_t>{g.Index(diamond.r), g.Index(diamond.d)}));
}

TEST(GraphAlgorithmsTest, DiamondFlamegraph) {
  Diamond diamond;
  HandGraph g = Load(diamond.heap);
  const Flamegraph flame = BuildFlamegraph(*g.graph, ComputeShortestPathTree(*g.graph));
  ASSERT_EQ(flame.nodes.size(), 5u);
  EXPECT_EQ(flame.nodes[0].name, "app.Root [ROOT_JNI_GLOBAL]");
  EXPECT_EQ(flame.nodes[0].cumulative_size, 156u);
  EXPECT_EQ(flame.nodes[0].cumulative_count, 5u);
  EXPECT_EQ(flame.total_size, 156u);
  EXPECT_EQ(FlamegraphFolded(flame),
            "app.Root [ROOT_JNI_GLOBAL] 40\n"
            "app.Root [ROOT_JNI_GLOBAL];app.A 24\n"
            "app.Root [ROOT_JNI_GLOBAL];app.B 32\n"
            "app.Root [ROOT_JNI_GLOBAL];app.A;app.D 28\n"
            "app.Root [ROOT_JNI_GLOBAL];app.A;app.D;app.E 32\n");
  EXPECT_EQ(flame.nodes[1].name, "app.A");
  EXPECT_EQ(flame.nodes[1].cumulative_size, 84u);  // A 24 + D 28 + E 32
  const std::string json = FlamegraphJson(flame);
  EXPECT_NE(json.find("{\"name\":\"app.A\",\"self_size\":24,\"self_count\":1,"
                      "\"cumulative_size\":84,\"cumulative_count\":3,\"children\":["),
            std::string::npos)
      << json;
  const std::string svg = FlamegraphSvg(flame, "diamond");
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("<title>app.A\n84 bytes retained"), std::string::npos) << svg;
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
}

// Cycle: X -> Y -> Z -> Y, Z -> X; X is the only root. Each Node{next,
// other} is 32 bytes (16 header + 16).
TEST(GraphAlgorithmsTest, Cycle) {
  HandHeap cycle;
  const uint64_t n = cycle.Class("app.Node", {{"next", kObject}, {"other", kObject}});
  // Ids are handed out in order, so the values can name later objects.
  const uint64_t ix = n + 1, iy = n + 2, iz = n + 3;
  EXPECT_EQ(cycle.Instance(n, {iy, 0}), ix);
  EXPECT_EQ(cycle.Instance(n, {iz, 0}), iy);
  EXPECT_EQ(cycle.Instance(n, {iy, ix}), iz);
  cycle.Root(RootType::kJavaFrame, ix);
  HandGraph g = Load(cycle);
  const ShortestPathTree tree = ComputeShortestPathTree(*g.graph);
  EXPECT_EQ(tree.parent[g.Index(iy)], g.Index(ix));
  EXPECT_EQ(tree.parent[g.Index(iz)], g.Index(iy));
  const DominatorTree dom = ComputeDominators(*g.graph, {});
  EXPECT_EQ(dom.idom[g.Index(ix)], kSuperRoot);
  EXPECT_EQ(dom.idom[g.Index(iy)], g.Index(ix));
  EXPECT_EQ(dom.idom[g.Index(iz)], g.Index(iy));
  EXPECT_EQ(dom.retained[g.Index(ix)], 96u);
  EXPECT_EQ(dom.retained[g.Index(iy)], 64u);
  EXPECT_EQ(dom.retained[g.Index(iz)], 32u);
  const Flamegraph flame = BuildFlamegraph(*g.graph, tree);
  EXPECT_EQ(FlamegraphFolded(flame),
            "app.Node [ROOT_JAVA_FRAME] 32\n"
            "app.Node [ROOT_JAVA_FRAME];app.Node 32\n"
            "app.Node [ROOT_JAVA_FRAME];app.Node;app.Node 32\n");
}

// Two roots: R1 -> S, R2 -> S, S -> T. S is dominated by neither root.
// Each Node{next} is 24 bytes (16 header + 8).
TEST(GraphAlgorithmsTest, TwoRoots) {
  HandHeap heap;
  const uint64_t n = heap.Class("app.Node", {{"next", kObject}});
  const uint64_t t = heap.Instance(n, {0});
  const uint64_t s = heap.Instance(n, {t});
  const uint64_t r1 = heap.Instance(n, {s});
  const uint64_t r2 = heap.Instance(n, {s});
  heap.Root(RootType::kJniGlobal, r1);
  heap.Root(RootType::kStickyClass, r2);
  HandGraph g = Load(heap);
  const ShortestPathTree tree = ComputeShortestPathTree(*g.graph);
  EXPECT_EQ(tree.parent[g.Index(s)], g.Index(r1));  // the first root's edge wins
  const DominatorTree dom = ComputeDominators(*g.graph, {});
  EXPECT_EQ(dom.idom[g.Index(s)], kSuperRoot);
  EXPECT_EQ(dom.idom[g.Index(t)], g.Index(s));
  EXPECT_EQ(dom.retained[g.Index(r1)], 24u);
  EXPECT_EQ(dom.retained[g.Index(r2)], 24u);
  EXPECT_EQ(dom.retained[g.Index(s)], 48u);
  EXPECT_EQ(dom.total_retained, 96u);
  const Flamegraph flame = BuildFlamegraph(*g.graph, tree);
  EXPECT_EQ(FlamegraphFolded(flame),
            "app.Node [ROOT_JNI_GLOBAL] 24\n"
            "app.Node [ROOT_STICKY_CLASS] 24\n"
            "app.Node [ROOT_JNI_GLOBAL];app.Node 24\n"
            "app.Node [ROOT_JNI_GLOBAL];app.Node;app.Node 24\n");
}

// R -> A -> B -> C along the DFS, plus A -> C and R -> B: C's
// semidominator is A, but R -> B -> C avoids A, so C's idom is R (the case
// Lengauer-Tarjan's last pass exists for).
TEST(GraphAlgorithmsTest, IdomAboveTheSemidominator) {
  HandHeap heap;
  const uint64_t node = heap.Class("app.Pair", {{"x", kObject}, {"y", kObject}});
  const uint64_t leaf = heap.Class("app.Leaf", {{"v", kLong}});
  const uint64_t c = heap.Instance(leaf, {1});
  const uint64_t b = heap.Instance(node, {c, 0});
  const uint64_t a = heap.Instance(node, {b, c});
  const uint64_t r = heap.Instance(node, {a, b});
  heap.Root(RootType::kJniGlobal, r);
  HandGraph g = Load(heap);
  const DominatorTree dom = ComputeDominators(*g.graph, {});
  EXPECT_EQ(dom.idom[g.Index(a)], g.Index(r));
  EXPECT_EQ(dom.idom[g.Index(b)], g.Index(r));
  EXPECT_EQ(dom.idom[g.Index(c)], g.Index(r));
  EXPECT_EQ(dom.retained[g.Index(r)], 120u);  // Pair 32 x 3 + Leaf 24
  EXPECT_EQ(dom.retained[g.Index(a)], 32u);
  EXPECT_EQ(dom.retained[g.Index(b)], 32u);
}

// A weak reference's referent is unreachable if only the reference leads to
// it; another path makes it reachable again.
TEST(GraphAlgorithmsTest, WeakReferentIsNotReachableThroughTheReference) {
  HandHeap heap;
  const uint64_t holder = heap.Class("app.Holder", {{"weak", kObject}, {"strong", kObject}});
  const uint64_t leaf = heap.Class("app.Leaf", {{"v", kLong}});
  const uint64_t only_weak = heap.Instance(leaf, {1});
  const uint64_t both = heap.Instance(leaf, {2});
  const uint64_t w1 = heap.Instance(heap.weak_reference_class(), {only_weak});
  const uint64_t w2 = heap.Instance(heap.weak_reference_class(), {both});
  const uint64_t h1 = heap.Instance(holder, {w1, 0});
  const uint64_t h2 = heap.Instance(holder, {w2, both});
  heap.Root(RootType::kJniGlobal, h1);
  heap.Root(RootType::kJniGlobal, h2);
  HandGraph g = Load(heap);
  const HeapGraph& graph = *g.graph;
  EXPECT_TRUE(graph.reachable(g.Index(w1)));
  EXPECT_FALSE(graph.reachable(g.Index(only_weak)));
  EXPECT_TRUE(graph.reachable(g.Index(both)));
  EXPECT_EQ(graph.field_name(graph.references(g.Index(w1))[0].field_name),
            "java.lang.ref.Reference.referent");
  const DominatorTree dom = ComputeDominators(graph, {});
  EXPECT_EQ(dom.idom[g.Index(only_weak)], kNoObject);
  EXPECT_EQ(dom.idom[g.Index(both)], g.Index(h2));  // not via w2's referent
  EXPECT_EQ(dom.retained[g.Index(h1)], 32u + 24u);  // h1 + w1 (referent only)
  EXPECT_EQ(graph.summary().reachable_objects, 5u);
  const std::vector<HistogramRow> rows =
      Histogram(graph, {.reachable_only = true, .order = HistogramOrder::kCount});
  ASSERT_FALSE(rows.empty());
  for (const HistogramRow& row : rows) {
    if (graph.type_info(row.type).name == "app.Leaf") {
      EXPECT_EQ(row.count, 1u);
    }
  }
}

// Class objects, statics, arrays, names and the histogram. An array is its
// array class's instance size (16 here) plus its elements; a class object
// java.lang.Class's instance size plus its statics.
TEST(GraphAlgorithmsTest, ClassObjectsArraysAndHistogram) {
  HandHeap heap;
  heap.Class("java.lang.Class", {});                                // instance size 16
  const uint64_t ints = heap.PrimitiveArray(hprof::kInt, 5);       // 16 + 20 bytes
  const uint64_t bytes = heap.PrimitiveArray(hprof::kByte, 3);     // 16 + 3 bytes
  const uint64_t array = heap.ObjectArray({0, ints, bytes, ints});  // 16 + 32 bytes
  const uint64_t holder = heap.Class("app.Holder", {},
                                     0, {{"TABLE", kObject, array}, {"count", kInt, 7}});
  heap.Root(RootType::kStickyClass, holder);
  HandGraph g = Load(heap);
  const HeapGraph& graph = *g.graph;
  const uint32_t cls = g.Index(holder);
  EXPECT_EQ(graph.type_info(graph.type(cls)).name, "java.lang.Class<app.Holder>");
  EXPECT_EQ(graph.type_info(graph.type(cls)).kind, TypeKind::kClassObject);
  EXPECT_EQ(graph.self_size(cls), 16u + 12u);  // java.lang.Class, an id and an int
  ASSERT_EQ(graph.references(cls).size(), 1u);
  EXPECT_EQ(graph.field_name(graph.references(cls)[0].field_name), "app.Holder.TABLE");
  EXPECT_EQ(graph.type_info(graph.type(g.Index(ints))).name, "int[]");
  EXPECT_EQ(graph.type_info(graph.type(g.Index(array))).name, "java.lang.Object[]");
  EXPECT_EQ(graph.FindType("[I"), graph.type(g.Index(ints)));
  EXPECT_EQ(graph.self_size(g.Index(array)), 48u);
  const auto refs = graph.references(g.Index(array));
  ASSERT_EQ(refs.size(), 3u);
  EXPECT_EQ(graph.field_name(refs[0].field_name), "[1]");
  EXPECT_EQ(graph.field_name(refs[2].field_name), "[3]");
  EXPECT_EQ(graph.field_type_name(refs[1]), "byte[]");
  const std::vector<HistogramRow> rows = Histogram(graph, {.reachable_only = true});
  ASSERT_EQ(rows.size(), 4u);  // Object[] 48, int[] 36, Class<app.Holder> 28, byte[] 19
  EXPECT_EQ(graph.type_info(rows[0].type).name, "java.lang.Object[]");
  EXPECT_EQ(rows[1].self_bytes, 36u);
  EXPECT_EQ(rows[2].self_bytes, 28u);
  EXPECT_EQ(rows[3].self_bytes, 19u);
  const Summary& summary = graph.summary();
  EXPECT_EQ(summary.objects, graph.object_count());
  EXPECT_EQ(summary.reachable_bytes, 131u);
  EXPECT_EQ(summary.roots_by_type.at("ROOT_STICKY_CLASS"), 1u);
  EXPECT_EQ(summary.format, "JAVA PROFILE 1.0.2");
  EXPECT_EQ(summary.timestamp_ms, 1234u);
}

}  // namespace
}  // namespace kiln::analysis
