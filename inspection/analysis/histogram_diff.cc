// HistogramDiff: per-class deltas between two dumps.
#include "inspection/analysis/histogram_diff.h"

#include <algorithm>
#include <cstdlib>

#include "inspection/analysis/histogram.h"

namespace kiln::analysis {

BaselineHistogram BaselineOf(const HeapGraph& graph, bool reachable_only) {
  BaselineHistogram totals;
  HistogramOptions options;
  options.reachable_only = reachable_only;
  for (const HistogramRow& row : Histogram(graph, options)) {
    // Two types may share a name (two class loaders): their totals add up.
    ClassTotals& t = totals[graph.type_info(row.type).name];
    t.count += row.count;
    t.self_bytes += row.self_bytes;
    t.native_bytes += row.native_bytes;
  }
  return totals;
}

std::vector<HistogramDelta> DiffHistograms(const BaselineHistogram& old_histogram,
                                           const BaselineHistogram& new_histogram) {
  std::map<std::string, HistogramDelta> by_name;
  for (const auto& [name, totals] : old_histogram) by_name[name].old_totals = totals;
  for (const auto& [name, totals] : new_histogram) by_name[name].new_totals = totals;
  std::vector<HistogramDelta> rows;
  for (auto& [name, row] : by_name) {
    row.name = name;
    row.count_delta = static_cast<int64_t>(row.new_totals.count - row.old_totals.count);
    row.self_bytes_delta =
        static_cast<int64_t>(row.new_totals.self_bytes - row.old_totals.self_bytes);
    row.native_bytes_delta =
        static_cast<int64_t>(row.new_totals.native_bytes - row.old_totals.native_bytes);
    if (row.count_delta != 0 || row.self_bytes_delta != 0 || row.native_bytes_delta != 0) {
      rows.push_back(std::move(row));
    }
  }
  std::sort(rows.begin(), rows.end(), [](const HistogramDelta& a, const HistogramDelta& b) {
    const int64_t sa = std::llabs(a.self_bytes_delta), sb = std::llabs(b.self_bytes_delta);
    if (sa != sb) return sa > sb;
    const int64_t ca = std::llabs(a.count_delta), cb = std::llabs(b.count_delta);
    if (ca != cb) return ca > cb;
    return a.name < b.name;
  });
  return rows;
}

}  // namespace kiln::analysis
