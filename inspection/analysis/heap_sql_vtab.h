// Perfetto's heap_graph_class, heap_graph_object and heap_graph_reference as
// SQLite virtual tables over a HeapGraph: the rows are read from the graph as
// a query asks for them, so serving the tables costs no copy and no memory of
// their own (root_distance and the class kinds are worked out on first use:
// 4 bytes an object, one string a class). Columns, types and values are
// those of heap_sql.h's real tables, row for row: both take their cells from
// HeapSqlRows (heap_sql_rows.h), which ExportHeapGraph also writes database
// files from.
//
// xBestIndex uses what the graph can look up directly and says what it costs:
//   heap_graph_class      id (=, <, <=, >, >=): the type index
//   heap_graph_object     id (=, ranges): the object index;
//                         reference_set_id =: the owner of that reference;
//                         type_id =: the objects of that type, from an index
//                         built on first use (4 bytes an object: the graph
//                         keeps none by type)
//   heap_graph_reference  id (=, ranges); owner_id =: the object's CSR
//                         range; reference_set_id =: the same range
// Rows come out in id order (references also in owner_id and
// reference_set_id order), so such an ORDER BY costs no sort; classes come
// in name order when ORDER BY / GROUP BY name asks (the seed's query). owned_id and
// the other columns are filtered by SQLite over a scan.
//
//   RETURN_IF_ERROR(ServeHeapGraph(graph, db.get()));   // graph outlives db
//   db.Query("select count(*) from heap_graph_object where type_id = 3");
#ifndef KILN_INSPECTION_ANALYSIS_HEAP_SQL_VTAB_H_
#define KILN_INSPECTION_ANALYSIS_HEAP_SQL_VTAB_H_

#include "absl/status/status.h"
#include "base/must_use.h"
#include "inspection/analysis/heap_graph.h"

struct sqlite3;

namespace kiln::analysis {

// ServeHeapGraph registers the three modules as heap_graph_class,
// heap_graph_object and heap_graph_reference over `graph` (which must
// outlive the connection and have references), eponymous tables (not in the
// schema: no schema reset disconnects them, and they cannot be dropped),
// and connects them. Fails, naming the table, if one exists already.
KILN_MUST_USE absl::Status ServeHeapGraph(const HeapGraph& graph, sqlite3* db);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_HEAP_SQL_VTAB_H_
