// Dominators: the dominator tree of the reachable heap graph and retained
// sizes (what Eclipse MAT calls retained heap). A virtual super-root points
// at every root, so an object reachable from two roots is dominated by the
// super-root (idom kSuperRoot). Edges are those of the reachable graph:
// java.lang.ref.Reference.referent is not followed.
//
// Semi-NCA (Lengauer-Tarjan's semidominators, the "simple" version with
// path compression, then each idom as the nearest ancestor of the DFS
// parent at or above the semidominator), iterative throughout, on flat
// uint32 arrays. Its peak is while the predecessor lists are built: 4
// bytes per object (DFS numbers), 12 per reachable object (vertex, parent,
// list starts) and 4 per reachable edge. The semidominators, labels and
// ancestors (12 bytes per reachable object) become resident as the
// predecessor lists are handed back (page_array.h), and all scratch but
// the idoms is freed before the result (12 bytes per object) is allocated.
//
//   DominatorTree dom = ComputeDominators(graph, {});
//   for (uint32_t obj : TopRetainers(graph, dom, 10)) ... dom.retained[obj]
#ifndef KILN_INSPECTION_ANALYSIS_DOMINATORS_H_
#define KILN_INSPECTION_ANALYSIS_DOMINATORS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "inspection/analysis/heap_graph.h"

namespace kiln::analysis {

// kSuperRoot: the idom of objects dominated by no single object (roots, and
// objects reachable from more than one root along disjoint paths).
inline constexpr uint32_t kSuperRoot = kNoObject - 1;

struct DominatorOptions {
  // include_native: retained sizes add native_size to self_size. Off, the
  // retained size is MAT's retained heap (shallow bytes only).
  bool include_native = false;
};

struct DominatorTree {
  // idom[obj]: the immediate dominator; kSuperRoot; kNoObject if unreachable.
  std::vector<uint32_t> idom;
  // retained[obj]: bytes of every object obj dominates, itself included;
  // 0 if unreachable.
  std::vector<uint64_t> retained;
  uint64_t total_retained = 0;  // the super-root's: all reachable bytes
};

DominatorTree ComputeDominators(const HeapGraph& graph, const DominatorOptions& options);

// TopRetainers: the `n` reachable objects with the largest retained sizes,
// largest first (ties by index).
std::vector<uint32_t> TopRetainers(const HeapGraph& graph, const DominatorTree& tree, size_t n);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_DOMINATORS_H_
