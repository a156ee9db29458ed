// HeapSql: SQLite databases with Perfetto's heap_graph_* tables.
#include "inspection/analysis/heap_sql.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "inspection/analysis/heap_sql_file.h"
#include "inspection/analysis/heap_sql_vtab.h"
#include "inspection/hprof/hprof_format.h"
#include "sqlite3.h"

namespace kiln::analysis {
namespace {

absl::Status SqliteError(sqlite3* db, const std::string& what) {
  return absl::InternalError(absl::StrCat("SQLite: ", what, ": ",
                                          db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

}  // namespace

// SqliteDb ------------------------------------------------------------------

absl::StatusOr<SqliteDb> SqliteDb::OpenReadOnly(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    absl::Status status = SqliteError(db, absl::StrCat("opening ", path));
    sqlite3_close(db);
    return status;
  }
  return SqliteDb(db, path);
}

absl::StatusOr<SqliteDb> SqliteDb::InMemory() {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    absl::Status status = SqliteError(db, "opening an in-memory database");
    sqlite3_close(db);
    return status;
  }
  return SqliteDb(db, ":memory:");
}

SqliteDb& SqliteDb::operator=(SqliteDb&& other) noexcept {
  if (this != &other) {
    sqlite3_close(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

SqliteDb::~SqliteDb() { sqlite3_close(db_); }

absl::Status SqliteDb::Execute(const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    absl::Status status = absl::InvalidArgumentError(
        absl::StrCat("SQLite: ", error != nullptr ? error : "error", " in: ", sql));
    sqlite3_free(error);
    return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<QueryResult> SqliteDb::Query(const std::string& sql, size_t max_rows) {
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, &tail) != SQLITE_OK) {
    return absl::InvalidArgumentError(absl::StrCat("SQLite: ", sqlite3_errmsg(db_)));
  }
  if (stmt == nullptr) return absl::InvalidArgumentError("SQLite: the query is empty");
  QueryResult result;
  const int columns = sqlite3_column_count(stmt);
  for (int i = 0; i < columns; ++i) result.columns.push_back(sqlite3_column_name(stmt, i));
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    if (result.rows.size() == max_rows) {
      result.truncated = true;
      rc = SQLITE_DONE;
      break;
    }
    std::vector<std::optional<std::string>>& row = result.rows.emplace_back();
    for (int i = 0; i < columns; ++i) {
      if (sqlite3_column_type(stmt, i) == SQLITE_NULL) {
        row.emplace_back();
      } else {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
        row.emplace_back(std::string(text, sqlite3_column_bytes(stmt, i)));
      }
    }
  }
  absl::Status status = rc == SQLITE_DONE
                            ? absl::OkStatus()
                            : absl::InvalidArgumentError(absl::StrCat("SQLite: ", sqlite3_errmsg(db_)));
  sqlite3_finalize(stmt);
  RETURN_IF_ERROR(status);
  for (; tail != nullptr && *tail != '\0'; ++tail) {
    if (!std::isspace(static_cast<unsigned char>(*tail)) && *tail != ';') {
      return absl::InvalidArgumentError("SQLite: one statement at a time (found more after ';')");
    }
  }
  return result;
}

// Export --------------------------------------------------------------------

std::string ClassKind(const HeapGraph& graph, uint32_t type) {
  const TypeInfo& info = graph.type_info(type);
  switch (info.kind) {
    case TypeKind::kObjectArray:
    case TypeKind::kPrimitiveArray:
      return "KIND_ARRAY";
    case TypeKind::kClassObject:
      return "KIND_CLASS";
    case TypeKind::kInstance:
      break;
  }
  static constexpr std::pair<const char*, const char*> kByAncestor[] = {
      {"java.lang.String", "KIND_STRING"},
      {"java.lang.ClassLoader", "KIND_CLASSLOADER"},
      {"java.lang.ref.SoftReference", "KIND_SOFT_REFERENCE"},
      {"java.lang.ref.WeakReference", "KIND_WEAK_REFERENCE"},
      {"java.lang.ref.FinalizerReference", "KIND_FINALIZER_REFERENCE"},  // Android
      {"java.lang.ref.FinalReference", "KIND_FINALIZER_REFERENCE"},      // the JDK
      {"java.lang.ref.PhantomReference", "KIND_PHANTOM_REFERENCE"},
  };
  for (const auto& [ancestor, kind] : kByAncestor) {
    const uint32_t ancestor_type = graph.FindType(ancestor);
    if (ancestor_type != kNoType && graph.IsSubtype(type, ancestor_type)) return kind;
  }
  // KIND_NOREFERENCES: no reference field, declared here or inherited.
  for (uint32_t t = type; t != kNoType; t = graph.type_info(t).superclass) {
    for (const FieldInfo& field : graph.type_info(t).fields) {
      if (field.type == hprof::kObject) return "KIND_NORMAL";
    }
  }
  return "KIND_NOREFERENCES";
}

absl::Status ExportHeapGraph(const HeapGraph& graph, SqliteDb& db) {
  if (db.path() != ":memory:") {
    return absl::InvalidArgumentError(absl::StrCat(
        db.path(), " is a database file: a file's tables are written by WriteHeapGraphDatabase"));
  }
  return ServeHeapGraph(graph, db.get());
}

absl::StatusOr<SqliteDb> WriteHeapGraphDatabase(const HeapGraph& graph, const std::string& path,
                                                const SqlExportOptions& options) {
  // The pages are written directly from the graph (heap_sql_file.cc), then
  // read back once through SQLite.
  RETURN_IF_ERROR(WriteHeapSqlFile(graph, path, options));
  absl::StatusOr<SqliteDb> db = SqliteDb::OpenReadOnly(path);
  absl::Status status = db.status();
  if (status.ok()) status = db->Query("SELECT count(*) FROM sqlite_schema WHERE type = 'table'").status();
  if (!status.ok()) {
    unlink(path.c_str());  // ours: the name was given to it above
    return absl::InternalError(absl::StrCat(
        path, ": SQLite refuses the database just written (removed): ", status.message()));
  }
  return db;
}

}  // namespace kiln::analysis
