// ViewerSql: the console's read-only connection.
#include "inspection/analysis/viewer/viewer_sql.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "inspection/analysis/sql_flamegraph.h"
#include "sqlite3.h"

namespace kiln::analysis {
namespace {

// Authorize: reading only. Functions are allowed (load_extension is off in
// SQLite's C API by default); everything that writes, attaches, changes
// settings or opens transactions is refused.
int Authorize(void*, int action, const char*, const char*, const char*, const char*) {
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    default:
      return SQLITE_DENY;
  }
}

}  // namespace

ViewerSql::~ViewerSql() = default;

absl::Status ViewerSql::Open() {
  ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::InMemory());
  RETURN_IF_ERROR(ExportHeapGraph(graph_, db));
  RETURN_IF_ERROR(RegisterExperimentalFlamegraph(db.get(), graph_, nullptr));
  // Connect the eponymous table once now: connecting declares its schema,
  // which the authorizer below would refuse.
  RETURN_IF_ERROR(db.Query("select count(*) from experimental_flamegraph('graph', 0, NULL, 0, "
                           "NULL, NULL)")
                      .status());
  RETURN_IF_ERROR(db.Execute("PRAGMA query_only = 1"));
  sqlite3_set_authorizer(db.get(), Authorize, nullptr);
  sqlite3_progress_handler(
      db.get(), 10000,
      [](void* self) -> int {
        return std::chrono::steady_clock::now() > static_cast<ViewerSql*>(self)->deadline_;
      },
      this);
  db_ = std::make_unique<SqliteDb>(std::move(db));
  return absl::OkStatus();
}

absl::StatusOr<SqlAnswer> ViewerSql::Run(const std::string& sql) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (db_ == nullptr) RETURN_IF_ERROR(Open());
  deadline_ = std::chrono::steady_clock::now() + kTimeLimit;
  absl::StatusOr<QueryResult> result = db_->Query(sql, kRowCap);
  if (!result.ok()) {
    const absl::string_view message = result.status().message();
    if (message == "SQLite: interrupted") {
      return absl::InvalidArgumentError(absl::StrCat(
          "SQLite: stopped at the console's time limit of ", kTimeLimit.count() / 1000, " s"));
    }
    if (message == "SQLite: not authorized") {
      return absl::InvalidArgumentError(
          "SQLite: not authorized (the console is read-only: no writes, ATTACH, PRAGMA or "
          "transactions)");
    }
    return result.status();
  }
  return SqlAnswer{*std::move(result)};
}

}  // namespace kiln::analysis
