// Histogram: per type, how many objects and how many bytes (shallow and
// native) -- Perfetto's documented `select c.name, sum(o.self_size) ...
// group by 1` and kiln-heap's `histogram` subcommand.
//
//   std::vector<HistogramRow> rows =
//       Histogram(graph, {.reachable_only = true, .order = HistogramOrder::kSelf, .top = 20});
#ifndef KILN_INSPECTION_ANALYSIS_HISTOGRAM_H_
#define KILN_INSPECTION_ANALYSIS_HISTOGRAM_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "inspection/analysis/heap_graph.h"

namespace kiln::analysis {

enum class HistogramOrder { kSelf, kNative, kCount };

struct HistogramOptions {
  bool reachable_only = false;  // count only HeapGraph::reachable objects
  HistogramOrder order = HistogramOrder::kSelf;  // descending; ties by type name
  size_t top = 0;  // keep the first `top` rows; 0 keeps all
};

struct HistogramRow {
  uint32_t type;  // HeapGraph type index
  uint64_t count = 0;
  uint64_t self_bytes = 0;    // sum of self_size
  uint64_t native_bytes = 0;  // sum of native_size
};

// Histogram: one row per type with at least one counted object.
std::vector<HistogramRow> Histogram(const HeapGraph& graph, const HistogramOptions& options);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_HISTOGRAM_H_
