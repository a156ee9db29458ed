// Histogram: one pass over the objects into per-type counters, then a sort.
#include "inspection/analysis/histogram.h"

#include <algorithm>

#include "base/check.h"

namespace kiln::analysis {

std::vector<HistogramRow> Histogram(const HeapGraph& graph, const HistogramOptions& options) {
  KILN_CHECK(!options.reachable_only || graph.has_references(),
             "a reachable-only histogram needs a graph built with references");
  std::vector<HistogramRow> by_type(graph.type_count());
  for (uint32_t t = 0; t < graph.type_count(); ++t) {
    by_type[t].type = t;
    if (options.reachable_only) continue;
    // Every object: the graph's totals (a graph built without objects has
    // only those).
    const TypeTotals& totals = graph.type_totals(t);
    by_type[t].count = totals.count;
    by_type[t].self_bytes = totals.self_bytes;
    by_type[t].native_bytes = totals.native_bytes;
  }
  if (options.reachable_only) {
    for (uint32_t obj = 0; obj < graph.object_count(); ++obj) {
      if (!graph.reachable(obj)) continue;
      HistogramRow& row = by_type[graph.type(obj)];
      ++row.count;
      row.self_bytes += graph.self_size(obj);
    }
    for (const auto& [obj, size] : graph.native_sizes()) {
      if (graph.reachable(obj)) by_type[graph.type(obj)].native_bytes += size;
    }
  }
  std::vector<HistogramRow> rows;
  for (const HistogramRow& row : by_type) {
    if (row.count != 0) rows.push_back(row);
  }
  const auto key = [&](const HistogramRow& row) {
    switch (options.order) {
      case HistogramOrder::kNative: return row.native_bytes;
      case HistogramOrder::kCount: return row.count;
      case HistogramOrder::kSelf: break;
    }
    return row.self_bytes;
  };
  std::sort(rows.begin(), rows.end(), [&](const HistogramRow& a, const HistogramRow& b) {
    const uint64_t ka = key(a), kb = key(b);
    if (ka != kb) return ka > kb;
    return graph.type_info(a.type).name < graph.type_info(b.type).name;
  });
  if (options.top != 0 && rows.size() > options.top) rows.resize(options.top);
  return rows;
}

}  // namespace kiln::analysis
