// Flamegraph: Perfetto's retention flamegraph. Objects are laid on their
// shortest path from a root (shortest_path_tree.h) and merged by class name
// along the path: a node is (parent node, name), where a root object's name
// carries its root kind ("java.lang.Thread [ROOT_THREAD_OBJECT]"). Each node
// has the size and count of its own objects and, summed bottom-up, of its
// subtree. An object with a native size gets a child "[native] <class>"
// holding that size as one more object (as Perfetto's UI shows it).
//
// Three renderings: Brendan Gregg's folded stacks ("a;b;c <bytes>", one line
// per node with self bytes), a JSON tree, and a self-contained SVG.
//
//   Flamegraph flame = BuildFlamegraph(graph, ComputeShortestPathTree(graph));
//   std::string svg = FlamegraphSvg(flame, "app.hprof");
#ifndef KILN_INSPECTION_ANALYSIS_FLAMEGRAPH_H_
#define KILN_INSPECTION_ANALYSIS_FLAMEGRAPH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "inspection/analysis/heap_graph.h"
#include "inspection/analysis/shortest_path_tree.h"

namespace kiln::analysis {

inline constexpr uint32_t kNoNode = ~uint32_t{0};

struct FlamegraphNode {
  std::string name;
  uint32_t parent = kNoNode;  // kNoNode for top-level (root) nodes
  uint32_t depth = 0;         // 0 for top-level nodes
  uint64_t self_size = 0;     // bytes of this node's own objects
  uint64_t self_count = 0;
  uint64_t cumulative_size = 0;  // self plus every descendant
  uint64_t cumulative_count = 0;
};

struct Flamegraph {
  // nodes: parents before children; siblings in order of first appearance.
  std::vector<FlamegraphNode> nodes;
  uint64_t total_size = 0;  // sum of top-level cumulative sizes
};

Flamegraph BuildFlamegraph(const HeapGraph& graph, const ShortestPathTree& tree);

// FlamegraphFolded: "root;child;grandchild <self bytes>\n" for every node
// with self bytes, in node order (flamegraph.pl and speedscope read it).
std::string FlamegraphFolded(const Flamegraph& flame);
// FlamegraphJson: {"name","self_size","self_count","cumulative_size",
// "cumulative_count","children":[...]} under a synthetic "root" node.
std::string FlamegraphJson(const Flamegraph& flame);
// FlamegraphSvg: a self-contained SVG (flamegraph_svg.cc): one rectangle per
// node, width by cumulative size, roots at the bottom, a <title> tooltip per
// rectangle; no scripts, no external resources.
std::string FlamegraphSvg(const Flamegraph& flame, absl::string_view title);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_FLAMEGRAPH_H_
