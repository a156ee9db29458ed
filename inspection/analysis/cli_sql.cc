// kiln-heap sql and query: Perfetto's heap_graph_* tables in SQLite.
#include <sys/stat.h>

#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "inspection/analysis/cli_commands.h"
#include "inspection/analysis/cli_load.h"
#include "inspection/analysis/cli_table.h"
#include "inspection/analysis/heap_sql.h"
#include "inspection/analysis/heap_sql_vtab.h"
#include "inspection/analysis/sql_flamegraph.h"

namespace kiln::analysis {
namespace {

// IsSqliteFile: whether `path` starts with SQLite's file header, so that
// `query` can run on a database `sql` wrote before.
bool IsSqliteFile(const std::string& path) {
  char header[16] = {};
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return false;
  const size_t n = std::fread(header, 1, sizeof(header), file);
  std::fclose(file);
  return n == sizeof(header) && std::memcmp(header, "SQLite format 3", 16) == 0;
}

absl::StatusOr<SqliteDb> Write(const HeapGraph& graph, const std::string& path) {
  ProgressBar writing("writing  ", ShowProgress(uint64_t{graph.object_count()} * 64));
  writing.set_units("rows");
  SqlExportOptions options;
  options.indexes = true;
  options.progress = [&](uint64_t done, uint64_t total) { writing.Update(done, total); };
  return WriteHeapGraphDatabase(graph, path, options);
}

}  // namespace

absl::Status CommandSql(const CliArgs& args, std::string* out) {
  if (!args.Has("output")) {
    return absl::InvalidArgumentError(
        absl::StrCat("sql needs -o OUT.sqlite\nusage: kiln-heap ", args.usage));
  }
  const std::string path = args.Get("output", "");
  // Refused before the load rather than after it (the write refuses it too).
  if (struct stat st; lstat(path.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(absl::StrCat(path, " exists; not overwriting it"));
  }
  ASSIGN_OR_RETURN(LoadedDump dump, LoadDump(args.positional.at("FILE")));
  // Nothing is left under `path` unless the whole database is written.
  RETURN_IF_ERROR(Write(*dump.graph, path).status());
  absl::StrAppend(out, "wrote ", path, ": heap_graph_class ", Thousands(dump.graph->type_count()),
                  " rows, heap_graph_object ", Thousands(dump.graph->object_count()),
                  " rows, heap_graph_reference ", Thousands(dump.graph->summary().references),
                  " rows\n");
  return absl::OkStatus();
}

absl::Status CommandQuery(const CliArgs& args, std::string* out) {
  const std::string& file = args.positional.at("FILE");
  std::optional<LoadedDump> graph;  // declared first: it outlives the database
  std::optional<SqliteDb> db;
  if (IsSqliteFile(file)) {
    ASSIGN_OR_RETURN(db, SqliteDb::OpenReadOnly(file));
  } else {
    ASSIGN_OR_RETURN(LoadedDump dump, LoadDump(file));
    ASSIGN_OR_RETURN(db, SqliteDb::InMemory());
    // The tables are virtual, over the graph: no copy (heap_sql_vtab.h).
    RETURN_IF_ERROR(ServeHeapGraph(*dump.graph, db->get()));
    RETURN_IF_ERROR(RegisterExperimentalFlamegraph(db->get(), *dump.graph, nullptr));
    graph = std::move(dump);  // the function reads the graph while the query runs
  }
  ASSIGN_OR_RETURN(QueryResult result, db->Query(args.positional.at("SQL")));
  TextTable table(result.columns);
  for (const auto& row : result.rows) {
    std::vector<std::string> cells;
    for (const auto& value : row) cells.push_back(value.value_or("NULL"));
    table.AddRow(std::move(cells));
  }
  absl::StrAppend(out, table.Format(), "(", result.rows.size(),
                  result.rows.size() == 1 ? " row)\n" : " rows)\n");
  return absl::OkStatus();
}

}  // namespace kiln::analysis
