// HistogramDiff: two dumps' class histograms side by side, keyed by class
// name (ids differ between dumps), for finding leaks: ahat's and MAT's
// "compare to baseline". `kiln-heap diff OLD NEW` prints it and
// `kiln-heap serve --baseline OLD` adds it to the histogram's rows.
//
//   BaselineHistogram old = BaselineOf(old_graph, /*reachable_only=*/false);
//   std::vector<HistogramDelta> rows = DiffHistograms(old, BaselineOf(new_graph, false));
#ifndef KILN_INSPECTION_ANALYSIS_HISTOGRAM_DIFF_H_
#define KILN_INSPECTION_ANALYSIS_HISTOGRAM_DIFF_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "inspection/analysis/heap_graph.h"

namespace kiln::analysis {

struct ClassTotals {
  uint64_t count = 0;
  uint64_t self_bytes = 0;
  uint64_t native_bytes = 0;
};

// BaselineHistogram: class name -> totals, from histogram.h's Histogram.
using BaselineHistogram = std::map<std::string, ClassTotals>;
BaselineHistogram BaselineOf(const HeapGraph& graph, bool reachable_only);

struct HistogramDelta {
  std::string name;
  ClassTotals old_totals, new_totals;
  int64_t count_delta = 0;
  int64_t self_bytes_delta = 0;
  int64_t native_bytes_delta = 0;
};

// DiffHistograms: one row per class that changed (in count, self or native
// bytes), by |self_bytes_delta| then |count_delta| descending, then name.
std::vector<HistogramDelta> DiffHistograms(const BaselineHistogram& old_histogram,
                                           const BaselineHistogram& new_histogram);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_HISTOGRAM_DIFF_H_
