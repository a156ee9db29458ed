// ShortestPathTree: Perfetto's breadth-first shortest-path tree over the
// reachable graph. Every root is at distance 0 (roots in HeapGraph::roots()
// order); an object's parent is the object that first reaches it, at
// distance + 1, in breadth-first order, never through a
// java.lang.ref.Reference.referent. The retention flamegraph and the paths
// of dominators' biggest retainers are read from it.
//
//   ShortestPathTree tree = ComputeShortestPathTree(graph);
//   std::vector<uint32_t> path = PathToRoot(tree, obj);  // obj ... root
#ifndef KILN_INSPECTION_ANALYSIS_SHORTEST_PATH_TREE_H_
#define KILN_INSPECTION_ANALYSIS_SHORTEST_PATH_TREE_H_

#include <cstdint>
#include <vector>

#include "inspection/analysis/heap_graph.h"

namespace kiln::analysis {

struct ShortestPathTree {
  // parent[obj]: the tree parent; kNoObject for roots and unreachable objects.
  std::vector<uint32_t> parent;
  // distance[obj]: Perfetto's root_distance; kNoObject if unreachable.
  std::vector<uint32_t> distance;
  // order: the reachable objects in breadth-first order (parents first).
  std::vector<uint32_t> order;
};

ShortestPathTree ComputeShortestPathTree(const HeapGraph& graph);

// PathToRoot: `obj`, its parent, ..., the root; empty if unreachable.
std::vector<uint32_t> PathToRoot(const ShortestPathTree& tree, uint32_t obj);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_SHORTEST_PATH_TREE_H_
