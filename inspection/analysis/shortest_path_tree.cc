// ShortestPathTree: one breadth-first pass with a flat queue (the `order`
// vector itself), three uint32 per object.
#include "inspection/analysis/shortest_path_tree.h"

#include <optional>

#include "inspection/analysis/memory_trace.h"

namespace kiln::analysis {

ShortestPathTree ComputeShortestPathTree(const HeapGraph& graph) {
  const uint32_t n = graph.object_count();
  ShortestPathTree tree;
  tree.parent.assign(n, kNoObject);
  tree.distance.assign(n, kNoObject);
  tree.order.reserve(n);  // address space: only the reachable objects' pages are touched
  const uint32_t skip =
      graph.FindFieldName("java.lang.ref.Reference.referent").value_or(kNoObject);
  for (const Root& root : graph.roots()) {
    if (tree.distance[root.object] != kNoObject) continue;
    tree.distance[root.object] = 0;
    tree.order.push_back(root.object);
  }
  for (size_t head = 0; head < tree.order.size(); ++head) {
    const uint32_t from = tree.order[head];
    for (const Reference& ref : graph.references(from)) {
      if (ref.field_name == skip || tree.distance[ref.target] != kNoObject) continue;
      tree.distance[ref.target] = tree.distance[from] + 1;
      tree.parent[ref.target] = from;
      tree.order.push_back(ref.target);
    }
  }
  TraceMemory("shortest-path tree");
  return tree;
}

std::vector<uint32_t> PathToRoot(const ShortestPathTree& tree, uint32_t obj) {
  std::vector<uint32_t> path;
  if (tree.distance[obj] == kNoObject) return path;
  for (; obj != kNoObject; obj = tree.parent[obj]) path.push_back(obj);
  return path;
}

}  // namespace kiln::analysis
