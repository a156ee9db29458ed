// experimental_flamegraph: Perfetto's table-valued function over the
// retention flamegraph (flamegraph.h), as an SQLite eponymous virtual table,
// so Perfetto's documented query runs unchanged:
//
//   select name, cumulative_size
//   from experimental_flamegraph('graph', <graph_sample_ts>, NULL, <upid>, NULL, NULL)
//   order by 2 desc;
//
// The six arguments are Perfetto's (profile_type, ts, ts_constraint, upid,
// upid_group, focus_str), bound to hidden columns of those names. For heap
// graphs Perfetto needs profile_type 'graph' and the ts and upid of
// heap_graph_object (graph_sample_ts, upid 1); ts_constraint and upid_group
// must be NULL; focus_str (a regex focus) is not supported and must be
// NULL. Another ts or upid gives no rows, as in Perfetto.
//
// Columns, Perfetto's names: id (the node index), parent_id (NULL at the
// top), depth, name, map_name ('JAVA'), count and size (the node's own
// objects), cumulative_count and cumulative_size (its subtree), and the
// allocation columns Perfetto has for native profiles (alloc_count,
// cumulative_alloc_count, alloc_size, cumulative_alloc_size: 0 here).
//
//   RETURN_IF_ERROR(RegisterExperimentalFlamegraph(db.get(), graph, nullptr));
#ifndef KILN_INSPECTION_ANALYSIS_SQL_FLAMEGRAPH_H_
#define KILN_INSPECTION_ANALYSIS_SQL_FLAMEGRAPH_H_

#include "absl/status/status.h"
#include "base/must_use.h"
#include "inspection/analysis/flamegraph.h"
#include "inspection/analysis/heap_graph.h"

struct sqlite3;

namespace kiln::analysis {

// RegisterExperimentalFlamegraph: adds the function to `db`. `graph` (and
// `flame`, when given: a flamegraph already built from `graph`) must outlive
// the connection; without `flame` it is built on the first query.
KILN_MUST_USE absl::Status RegisterExperimentalFlamegraph(sqlite3* db, const HeapGraph& graph,
                                            const Flamegraph* flame);

// GraphSampleTs: heap_graph_object.graph_sample_ts of `graph`'s objects
// (the header time in nanoseconds).
int64_t GraphSampleTs(const HeapGraph& graph);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_SQL_FLAMEGRAPH_H_
