// ViewerSql: the SQL console's database: Perfetto's heap_graph_* tables and
// experimental_flamegraph over one graph, in memory, built on the first
// query (they cost about as much memory as the graph, so a viewer that is
// never asked SQL never pays). Queries run read-only: after the tables are
// written the connection is query_only and an authorizer refuses everything
// but reading (no ATTACH, no PRAGMA, no writes, no transactions); a progress
// handler stops a statement after a time limit, and at most a row cap of
// rows comes back. One query at a time (a mutex).
//
//   ViewerSql sql(graph);
//   absl::StatusOr<SqlAnswer> answer = sql.Run("select count(*) from heap_graph_object");
#ifndef KILN_INSPECTION_ANALYSIS_VIEWER_VIEWER_SQL_H_
#define KILN_INSPECTION_ANALYSIS_VIEWER_VIEWER_SQL_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "base/must_use.h"
#include "inspection/analysis/heap_graph.h"
#include "inspection/analysis/heap_sql.h"

namespace kiln::analysis {

struct SqlAnswer {
  QueryResult result;  // result.truncated: more rows than kRowCap
};

class ViewerSql {
 public:
  static constexpr size_t kRowCap = 10000;
  static constexpr std::chrono::milliseconds kTimeLimit{5000};

  explicit ViewerSql(const HeapGraph& graph) : graph_(graph) {}
  ~ViewerSql();

  // Run: one read-only statement. InvalidArgument for SQL errors, refused
  // statements and statements stopped by the time limit.
  KILN_MUST_USE absl::StatusOr<SqlAnswer> Run(const std::string& sql);

 private:
  KILN_MUST_USE absl::Status Open();

  const HeapGraph& graph_;
  std::mutex mutex_;
  std::unique_ptr<SqliteDb> db_;
  std::chrono::steady_clock::time_point deadline_;
};

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_VIEWER_VIEWER_SQL_H_
