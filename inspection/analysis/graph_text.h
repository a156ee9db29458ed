// GraphText (tests only): everything a HeapGraph holds and every analysis
// over it, as text, so that two graphs (one parse on one thread and one on
// several, or before and after a change) compare row by row with EXPECT_EQ:
// types (names, kinds, classes, fields, totals), objects (id, type, sizes,
// reachability, root kind, references with field names), roots, threads
// with their frames, the summary's counts, both histograms, the dominator
// tree with retained sizes, and the folded flamegraph.
//
//   EXPECT_EQ(GraphText(*serial), GraphText(*parallel));
#ifndef KILN_INSPECTION_ANALYSIS_GRAPH_TEXT_H_
#define KILN_INSPECTION_ANALYSIS_GRAPH_TEXT_H_

#include <string>

#include "inspection/analysis/heap_graph.h"

namespace kiln::analysis {

// GraphText: a graph built without objects (BuildOptions::objects off) has
// its types, totals and summary only; without references, no edges and no
// reachability analyses.
std::string GraphText(const HeapGraph& graph);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_GRAPH_TEXT_H_
