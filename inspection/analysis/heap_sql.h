// HeapSql: a HeapGraph as an SQLite database with Perfetto's heap graph
// tables, so that queries written for Perfetto's trace processor run
// unchanged on Kiln's and the JDK's dumps:
//
//   ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::InMemory());
//   RETURN_IF_ERROR(ExportHeapGraph(*graph, db));  // or WriteHeapGraphDatabase
//   ASSIGN_OR_RETURN(QueryResult rows, db.Query(
//       "select c.name, sum(o.self_size) from heap_graph_object o "
//       "join heap_graph_class c on (o.type_id = c.id) "
//       "where reachable = 1 group by 1 order by 2 desc"));
//
// The tables, with Perfetto's column names and types (profiler_tables.py):
//
//   heap_graph_class(id, name, deobfuscated_name, location, superclass_id,
//                    classloader_id, kind)
//   heap_graph_object(id, upid, graph_sample_ts, self_size, native_size,
//                     reference_set_id, reachable, heap_type, type_id,
//                     root_type, root_distance)
//   heap_graph_reference(id, reference_set_id, owner_id, owned_id,
//                        field_name, field_type_name, deobfuscated_field_name)
//
// Conventions where HPROF and Perfetto's traces differ:
// - heap_graph_class.id is HeapGraph's type index and heap_graph_object.id its
//   object index, so both agree with kiln-heap's other commands. name is
//   Perfetto's spelling (int[], java.lang.Class<Foo>); kind is Perfetto's
//   (KIND_NORMAL, KIND_NOREFERENCES, KIND_STRING, KIND_ARRAY, KIND_CLASS,
//   KIND_CLASSLOADER, KIND_WEAK_REFERENCE, ...). deobfuscated_name, location,
//   classloader_id and heap_type are NULL: HPROF 1.0.2 has no such facts.
// - upid is 1 (one process per dump) and graph_sample_ts the dump's header
//   time in nanoseconds.
// - reference_set_id is the id of the object's first heap_graph_reference
//   row (NULL without references), as Perfetto assigns it; owned_id is never
//   NULL (null and dangling references are not rows).
// - root_distance is the distance in the shortest-path tree
//   (shortest_path_tree.h: breadth first from the roots, never through
//   Reference.referent); -1 for unreachable objects.
// - The cells come from one place (heap_sql_rows.h). In memory the tables
//   are virtual tables over the graph (heap_sql_vtab.h); a file gets real
//   tables and indexes whose pages are written directly, bottom up from
//   rows in id order and counting-sorted index entries
//   (sqlite_file_writer.h), not through SQLite's INSERT: at N = 4M (13
//   million rows, 19.5 million index entries) SQLite's path took about 20 s
//   of CPU, the writer about 5.5 (README). SQLite then opens the file once,
//   so a file it would refuse fails the export.
#ifndef KILN_INSPECTION_ANALYSIS_HEAP_SQL_H_
#define KILN_INSPECTION_ANALYSIS_HEAP_SQL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/must_use.h"
#include "inspection/analysis/heap_graph.h"

struct sqlite3;

namespace kiln::analysis {

// QueryResult: a query's column names and rows; NULL is nullopt.
struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
  bool truncated = false;  // the statement had more than max_rows rows
};

// SqliteDb: an open SQLite database, closed on destruction.
class SqliteDb {
 public:
  // OpenReadOnly opens an existing database file.
  KILN_MUST_USE static absl::StatusOr<SqliteDb> OpenReadOnly(const std::string& path);
  // InMemory: a private in-memory database.
  KILN_MUST_USE static absl::StatusOr<SqliteDb> InMemory();

  SqliteDb(SqliteDb&& other) noexcept : db_(other.db_), path_(std::move(other.path_)) {
    other.db_ = nullptr;
  }
  SqliteDb& operator=(SqliteDb&& other) noexcept;
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;
  ~SqliteDb();

  // Execute runs `sql` (one or more statements), discarding rows.
  KILN_MUST_USE absl::Status Execute(const std::string& sql);
  // Query runs one statement and returns its rows (values as SQLite's
  // text), at most `max_rows` of them (then truncated is set).
  KILN_MUST_USE absl::StatusOr<QueryResult> Query(const std::string& sql,
                                                  size_t max_rows = SIZE_MAX);

  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;  // ":memory:" for in-memory databases
};

// SqlExportOptions: how WriteHeapGraphDatabase writes a file.
struct SqlExportOptions {
  // progress(done, total): rows written so far, of the total.
  std::function<void(uint64_t done, uint64_t total)> progress;
  // Indexes on heap_graph_reference (owner_id, owned_id) and
  // heap_graph_object (type_id), for interactive queries; off saves time on
  // very large dumps.
  bool indexes = true;
};

// ExportHeapGraph creates the three tables in the in-memory database `db`
// (SqliteDb::InMemory's) as virtual tables that read `graph` as queries
// run: no copy, no indexes (the graph's own lookups instead), so `graph`
// must outlive `db`. Fails (naming the step) if the tables exist, or if
// `db` is a file (WriteHeapGraphDatabase writes those). `graph` needs
// references.
KILN_MUST_USE absl::Status ExportHeapGraph(const HeapGraph& graph, SqliteDb& db);

// WriteHeapGraphDatabase writes the three tables (with options.indexes,
// their indexes) into a new database file at `path`, which must not exist.
// The file gets its name only once it is complete (base/new_file.h), so a
// failed or killed export leaves nothing. SQLite then opens it once,
// read-only, and the connection is returned: a file SQLite would refuse
// fails here, naming the file, and is removed. `graph` needs references.
KILN_MUST_USE absl::StatusOr<SqliteDb> WriteHeapGraphDatabase(const HeapGraph& graph,
                                                              const std::string& path,
                                                              const SqlExportOptions& options);

// ClassKind: Perfetto's heap_graph_class.kind of `type`.
std::string ClassKind(const HeapGraph& graph, uint32_t type);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_HEAP_SQL_H_
