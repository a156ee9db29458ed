// WriteHeapSqlFile: kiln-heap sql's database file (heap_sql_file.h).
//
// Why not SQLite's INSERT: through it (INSERT ... SELECT from the virtual
// tables, one transaction, no journal, the indexes after the rows) the
// N = 4M dump's 13 million rows and 19.5 million index entries took about
// 20 s of CPU, two thirds of all samples in SQLite's VDBE, B-tree inserts
// and sorter (perf), and copying the same rows between two database files
// with the sqlite3 shell (its transfer optimization) still took 2.3 s of
// CPU a table. The rows come in rowid order and every index's entries can be
// had in order for the price of a counting sort, so the B-trees are
// written bottom up instead (sqlite_file_writer.h). The cells are
// HeapSqlRows', the virtual tables' own: both answer every query alike
// (sql_equivalence_queries.h, run by the SQL tests over both).
#include "inspection/analysis/heap_sql_file.h"

#include <memory>
#include <vector>

#include "base/new_file.h"
#include "base/status_macros.h"
#include "inspection/analysis/heap_sql_rows.h"
#include "inspection/analysis/sqlite_file_writer.h"

namespace kiln::analysis {
namespace {

constexpr char kClassTable[] = R"sql(CREATE TABLE heap_graph_class(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  deobfuscated_name TEXT,
  location TEXT,
  superclass_id INTEGER,
  classloader_id INTEGER,
  kind TEXT NOT NULL))sql";
constexpr char kObjectTable[] = R"sql(CREATE TABLE heap_graph_object(
  id INTEGER PRIMARY KEY,
  upid INTEGER NOT NULL,
  graph_sample_ts INTEGER NOT NULL,
  self_size INTEGER NOT NULL,
  native_size INTEGER NOT NULL,
  reference_set_id INTEGER,
  reachable INTEGER NOT NULL,
  heap_type TEXT,
  type_id INTEGER NOT NULL,
  root_type TEXT,
  root_distance INTEGER NOT NULL))sql";
constexpr char kReferenceTable[] = R"sql(CREATE TABLE heap_graph_reference(
  id INTEGER PRIMARY KEY,
  reference_set_id INTEGER NOT NULL,
  owner_id INTEGER NOT NULL,
  owned_id INTEGER,
  field_name TEXT NOT NULL,
  field_type_name TEXT NOT NULL,
  deobfuscated_field_name TEXT))sql";

// Progress: rows and index entries written, reported every 2^18.
class Progress {
 public:
  Progress(const SqlExportOptions& options, uint64_t total) : options_(options), total_(total) {}
  void Step() {
    if ((++done_ & ((uint64_t{1} << 18) - 1)) == 0 && options_.progress) {
      options_.progress(done_, total_);
    }
  }

 private:
  const SqlExportOptions& options_;
  const uint64_t total_;
  uint64_t done_ = 0;
};

absl::Status WriteTables(HeapSqlRows& rows, SqliteFileWriter& writer, Progress& progress) {
  const HeapGraph& graph = rows.graph();
  SqlValue values[kObjectColumns];
  writer.BeginTable("heap_graph_class", kClassTable);
  for (uint32_t type = 0; type < graph.type_count(); ++type) {
    for (int c = 0; c < kClassColumns; ++c) values[c] = rows.ClassValue(type, c);
    values[kClassId] = SqlValue::Null();  // the rowid's alias
    RETURN_IF_ERROR(writer.AddRow(type, absl::MakeConstSpan(values, kClassColumns)));
    progress.Step();
  }
  RETURN_IF_ERROR(writer.EndTable());
  writer.BeginTable("heap_graph_object", kObjectTable);
  for (uint32_t obj = 0; obj < rows.objects(); ++obj) {
    for (int c = 0; c < kObjectColumns; ++c) values[c] = rows.ObjectValue(obj, c);
    values[kObjectId] = SqlValue::Null();
    RETURN_IF_ERROR(writer.AddRow(obj, absl::MakeConstSpan(values, kObjectColumns)));
    progress.Step();
  }
  RETURN_IF_ERROR(writer.EndTable());
  writer.BeginTable("heap_graph_reference", kReferenceTable);
  SqlFieldNames names;
  for (uint32_t owner = 0; owner < rows.objects(); ++owner) {
    const uint64_t begin = rows.Begin(owner), end = rows.Begin(owner + 1);
    for (uint64_t ref = begin; ref < end; ++ref) {
      for (int c = 0; c < kRefColumns; ++c) {
        values[c] = rows.ReferenceValue(ref, owner, begin, c, &names);
      }
      values[kRefId] = SqlValue::Null();
      RETURN_IF_ERROR(
          writer.AddRow(static_cast<int64_t>(ref), absl::MakeConstSpan(values, kRefColumns)));
      progress.Step();
    }
  }
  return writer.EndTable();
}

absl::Status WriteIndexes(HeapSqlRows& rows, SqliteFileWriter& writer, Progress& progress) {
  const HeapGraph& graph = rows.graph();
  // owner_id: the references' own order.
  writer.BeginIndex("heap_graph_reference_owner", "heap_graph_reference",
                    "CREATE INDEX heap_graph_reference_owner ON heap_graph_reference(owner_id)",
                    rows.references());
  for (uint32_t owner = 0; owner < rows.objects(); ++owner) {
    for (uint64_t ref = rows.Begin(owner); ref < rows.Begin(owner + 1); ++ref) {
      RETURN_IF_ERROR(writer.AddIndexEntry(owner, static_cast<int64_t>(ref)));
      progress.Step();
    }
  }
  RETURN_IF_ERROR(writer.EndIndex());
  // owned_id: a counting sort of the references by target, stable, so each
  // target's references stay in id order.
  {
    std::vector<uint64_t> begin(uint64_t{rows.objects()} + 1, 0);
    for (uint32_t owner = 0; owner < rows.objects(); ++owner) {
      for (const Reference& ref : graph.references(owner)) ++begin[ref.target + 1];
    }
    for (uint32_t obj = 0; obj < rows.objects(); ++obj) begin[obj + 1] += begin[obj];
    std::vector<uint64_t> by_target(rows.references());
    for (uint32_t owner = 0; owner < rows.objects(); ++owner) {
      uint64_t id = rows.Begin(owner);
      for (const Reference& ref : graph.references(owner)) by_target[begin[ref.target]++] = id++;
    }
    writer.BeginIndex("heap_graph_reference_owned", "heap_graph_reference",
                      "CREATE INDEX heap_graph_reference_owned ON heap_graph_reference(owned_id)",
                      rows.references());
    uint64_t at = 0;  // begin[t] is now the end of target t's references
    for (uint32_t target = 0; target < rows.objects(); ++target) {
      for (; at < begin[target]; ++at) {
        RETURN_IF_ERROR(writer.AddIndexEntry(target, static_cast<int64_t>(by_target[at])));
        progress.Step();
      }
    }
    RETURN_IF_ERROR(writer.EndIndex());
  }
  // type_id: the rows' own index by type.
  writer.BeginIndex("heap_graph_object_type", "heap_graph_object",
                    "CREATE INDEX heap_graph_object_type ON heap_graph_object(type_id)",
                    rows.objects());
  for (uint32_t type = 0; type < graph.type_count(); ++type) {
    for (const uint32_t obj : rows.ObjectsOfType(type)) {
      RETURN_IF_ERROR(writer.AddIndexEntry(type, obj));
      progress.Step();
    }
  }
  return writer.EndIndex();
}

}  // namespace

absl::Status WriteHeapSqlFile(const HeapGraph& graph, const std::string& path,
                              const SqlExportOptions& options) {
  if (!graph.has_references()) {
    return absl::FailedPreconditionError(
        "the heap_graph_* tables need a graph built with references");
  }
  HeapSqlRows rows(graph);
  const uint64_t table_rows = uint64_t{graph.type_count()} + rows.objects() + rows.references();
  const uint64_t index_entries = options.indexes ? 2 * rows.references() + rows.objects() : 0;
  Progress progress(options, table_rows + index_entries);
  ASSIGN_OR_RETURN(std::unique_ptr<NewFile> file, NewFile::Create(path, "SQLite database"));
  {
    SqliteFileWriter writer(file->fd(), file->writing_name());
    RETURN_IF_ERROR(WriteTables(rows, writer, progress));
    if (options.indexes) RETURN_IF_ERROR(WriteIndexes(rows, writer, progress));
    RETURN_IF_ERROR(writer.Finish());
  }
  RETURN_IF_ERROR(file->Commit());
  if (options.progress) options.progress(table_rows + index_entries, table_rows + index_entries);
  return absl::OkStatus();
}

}  // namespace kiln::analysis
