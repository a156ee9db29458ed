// WriteHeapSqlFile (internal to the heap_sql library): the database file
// ExportHeapGraph writes, with the three tables and their indexes, built
// by SqliteFileWriter from HeapSqlRows' cells: rows in id order, index
// entries from counting sorts (owner_id needs none: references are in
// owner order already).
#ifndef KILN_INSPECTION_ANALYSIS_HEAP_SQL_FILE_H_
#define KILN_INSPECTION_ANALYSIS_HEAP_SQL_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "base/must_use.h"
#include "inspection/analysis/heap_graph.h"
#include "inspection/analysis/heap_sql.h"

namespace kiln::analysis {

// WriteHeapSqlFile writes a new database file at `path` (which must not
// exist; NewFile's, so it is named only once complete) with
// heap_graph_class, heap_graph_object and heap_graph_reference, and with
// options.indexes their indexes.
KILN_MUST_USE absl::Status WriteHeapSqlFile(const HeapGraph& graph, const std::string& path,
                                            const SqlExportOptions& options);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_HEAP_SQL_FILE_H_
