// HeapSql: SQLite databases with Perfetto's heap_graph_* tables.
#include "inspection/analysis/heap_sql.h"

#include <sys/stat.h>

#include <cctype>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "inspection/analysis/shortest_path_tree.h"
#include "inspection/hprof/hprof_format.h"
#include "sqlite3.h"

namespace kiln::analysis {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE heap_graph_class(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  deobfuscated_name TEXT,
  location TEXT,
  superclass_id INTEGER,
  classloader_id INTEGER,
  kind TEXT NOT NULL);
CREATE TABLE heap_graph_object(
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
  root_distance INTEGER NOT NULL);
CREATE TABLE heap_graph_reference(
  id INTEGER PRIMARY KEY,
  reference_set_id INTEGER NOT NULL,
  owner_id INTEGER NOT NULL,
  owned_id INTEGER,
  field_name TEXT NOT NULL,
  field_type_name TEXT NOT NULL,
  deobfuscated_field_name TEXT);
)sql";

constexpr char kIndexes[] = R"sql(
CREATE INDEX heap_graph_reference_owner ON heap_graph_reference(owner_id);
CREATE INDEX heap_graph_reference_owned ON heap_graph_reference(owned_id);
CREATE INDEX heap_graph_object_type ON heap_graph_object(type_id);
)sql";

absl::Status SqliteError(sqlite3* db, const std::string& what) {
  return absl::InternalError(absl::StrCat("SQLite: ", what, ": ",
                                          db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

// Statement: a prepared statement, finalized on destruction.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  sqlite3_stmt* get() const { return stmt_; }
  absl::Status status(const char* what) const {
    return stmt_ != nullptr ? absl::OkStatus() : SqliteError(db_, what);
  }
  void Int(int column, int64_t value) { sqlite3_bind_int64(stmt_, column, value); }
  void Text(int column, const std::string& text) {
    sqlite3_bind_text(stmt_, column, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  }
  void Null(int column) { sqlite3_bind_null(stmt_, column); }
  // Step runs the bound statement (an insert) and resets it.
  absl::Status Step(const char* what) {
    const int rc = sqlite3_step(stmt_);
    sqlite3_reset(stmt_);
    return rc == SQLITE_DONE ? absl::OkStatus() : SqliteError(db_, what);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

// SqliteDb ------------------------------------------------------------------

absl::StatusOr<SqliteDb> SqliteDb::Create(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(absl::StrCat(path, " exists; not overwriting it"));
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    absl::Status status = SqliteError(db, absl::StrCat("creating ", path));
    sqlite3_close(db);
    return status;
  }
  return SqliteDb(db, path);
}

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

namespace {

absl::Status InsertClasses(const HeapGraph& graph, sqlite3* db) {
  Statement insert(db,
                   "INSERT INTO heap_graph_class(id, name, superclass_id, kind) "
                   "VALUES (?, ?, ?, ?)");
  RETURN_IF_ERROR(insert.status("preparing the heap_graph_class insert"));
  for (uint32_t type = 0; type < graph.type_count(); ++type) {
    const TypeInfo& info = graph.type_info(type);
    const std::string kind = ClassKind(graph, type);
    insert.Int(1, type);
    insert.Text(2, info.name);
    if (info.superclass == kNoType) {
      insert.Null(3);
    } else {
      insert.Int(3, info.superclass);
    }
    insert.Text(4, kind);
    RETURN_IF_ERROR(insert.Step("inserting into heap_graph_class"));
  }
  return absl::OkStatus();
}

// InsertObjectsAndReferences: one row per object, then per reference; every
// few thousand rows reports progress.
absl::Status InsertObjectsAndReferences(const HeapGraph& graph, sqlite3* db,
                                        const SqlExportOptions& options) {
  Statement object(db,
                   "INSERT INTO heap_graph_object(id, upid, graph_sample_ts, self_size, "
                   "native_size, reference_set_id, reachable, type_id, root_type, "
                   "root_distance) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?)");
  RETURN_IF_ERROR(object.status("preparing the heap_graph_object insert"));
  Statement reference(db,
                      "INSERT INTO heap_graph_reference(id, reference_set_id, owner_id, "
                      "owned_id, field_name, field_type_name) VALUES (?, ?, ?, ?, ?, ?)");
  RETURN_IF_ERROR(reference.status("preparing the heap_graph_reference insert"));
  const std::vector<uint32_t> distances = ComputeShortestPathTree(graph).distance;
  const int64_t ts = static_cast<int64_t>(graph.summary().timestamp_ms) * 1000000;
  const uint64_t total = graph.object_count();
  std::string field_name;
  int64_t next_reference = 0;
  for (uint32_t obj = 0; obj < graph.object_count(); ++obj) {
    const absl::Span<const Reference> refs = graph.references(obj);
    const std::optional<RootType> root = graph.root_type(obj);
    object.Int(1, obj);
    object.Int(2, ts);
    object.Int(3, graph.self_size(obj));
    object.Int(4, static_cast<int64_t>(graph.native_size(obj)));
    if (refs.empty()) {
      object.Null(5);
    } else {
      object.Int(5, next_reference);
    }
    object.Int(6, graph.reachable(obj) ? 1 : 0);
    object.Int(7, graph.type(obj));
    if (root.has_value()) {
      sqlite3_bind_text(object.get(), 8, RootTypeName(*root), -1, SQLITE_STATIC);
    } else {
      object.Null(8);
    }
    object.Int(9, distances[obj] == kNoObject ? -1 : static_cast<int64_t>(distances[obj]));
    RETURN_IF_ERROR(object.Step("inserting into heap_graph_object"));
    const int64_t set = next_reference;
    for (const Reference& ref : refs) {
      field_name = graph.field_name(ref.field_name);
      reference.Int(1, next_reference++);
      reference.Int(2, set);
      reference.Int(3, obj);
      reference.Int(4, ref.target);
      reference.Text(5, field_name);
      reference.Text(6, graph.field_type_name(ref));
      RETURN_IF_ERROR(reference.Step("inserting into heap_graph_reference"));
    }
    if (options.progress && (obj & 0xFFFF) == 0) options.progress(obj, total);
  }
  if (options.progress) options.progress(total, total);
  return absl::OkStatus();
}

}  // namespace

absl::Status ExportHeapGraph(const HeapGraph& graph, SqliteDb& db,
                             const SqlExportOptions& options) {
  // A scratch database: no journal, no syncing; one transaction.
  RETURN_IF_ERROR(db.Execute("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"));
  RETURN_IF_ERROR(db.Execute("BEGIN"));
  absl::Status status = db.Execute(kSchema);
  if (status.ok()) status = InsertClasses(graph, db.get());
  if (status.ok()) status = InsertObjectsAndReferences(graph, db.get(), options);
  if (status.ok() && options.indexes) status = db.Execute(kIndexes);
  if (!status.ok()) {
    (void)db.Execute("ROLLBACK");
    return status;
  }
  return db.Execute("COMMIT");
}

}  // namespace kiln::analysis
