// experimental_flamegraph as an SQLite eponymous virtual table.
#include "inspection/analysis/sql_flamegraph.h"

#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "inspection/analysis/shortest_path_tree.h"
#include "sqlite3.h"

namespace kiln::analysis {
namespace {

// Columns in declaration order; the arguments are the hidden ones after
// kFirstArgument.
enum Column {
  kId,
  kParentId,
  kDepth,
  kName,
  kMapName,
  kCount,
  kCumulativeCount,
  kSize,
  kCumulativeSize,
  kAllocCount,
  kCumulativeAllocCount,
  kAllocSize,
  kCumulativeAllocSize,
  kFirstArgument,
  kProfileType = kFirstArgument,
  kTs,
  kTsConstraint,
  kUpid,
  kUpidGroup,
  kFocusStr,
  kColumnCount,
};
constexpr int kArguments = kColumnCount - kFirstArgument;

constexpr char kSchema[] =
    "CREATE TABLE x(id INTEGER, parent_id INTEGER, depth INTEGER, name TEXT, map_name TEXT, "
    "count INTEGER, cumulative_count INTEGER, size INTEGER, cumulative_size INTEGER, "
    "alloc_count INTEGER, cumulative_alloc_count INTEGER, alloc_size INTEGER, "
    "cumulative_alloc_size INTEGER, profile_type HIDDEN, ts HIDDEN, ts_constraint HIDDEN, "
    "upid HIDDEN, upid_group HIDDEN, focus_str HIDDEN)";

// Source: what the module reads; owned by the module (freed by SQLite).
struct Source {
  const HeapGraph* graph;
  const Flamegraph* given;
  std::once_flag once;
  std::unique_ptr<Flamegraph> built;
  const Flamegraph& flame() {
    if (given != nullptr) return *given;
    std::call_once(once, [&] {
      built = std::make_unique<Flamegraph>(BuildFlamegraph(*graph, ComputeShortestPathTree(*graph)));
    });
    return *built;
  }
};

struct Table {
  sqlite3_vtab base;
  Source* source;
};

struct Cursor {
  sqlite3_vtab_cursor base;
  Source* source;
  const Flamegraph* flame = nullptr;  // null: no rows
  size_t row = 0;
  std::optional<int64_t> args_int[kArguments];
  std::optional<std::string> args_text[kArguments];
};

void SetError(sqlite3_vtab* vtab, const std::string& message) {
  sqlite3_free(vtab->zErrMsg);
  vtab->zErrMsg = sqlite3_mprintf("%s", message.c_str());
}

int Connect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char**) {
  const int rc = sqlite3_declare_vtab(db, kSchema);
  if (rc != SQLITE_OK) return rc;
  auto* table = new Table{};
  table->source = static_cast<Source*>(aux);
  *out = &table->base;
  return SQLITE_OK;
}

int Disconnect(sqlite3_vtab* vtab) {
  sqlite3_free(vtab->zErrMsg);
  delete reinterpret_cast<Table*>(vtab);
  return SQLITE_OK;
}

// BestIndex: every argument given as an equality is passed to Filter, in
// argument order; idxNum's bits say which ones.
int BestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  int mask = 0;
  int slot[kArguments];
  for (int& s : slot) s = -1;
  for (int i = 0; i < info->nConstraint; ++i) {
    const auto& c = info->aConstraint[i];
    if (c.iColumn < kFirstArgument) continue;
    if (!c.usable || c.op != SQLITE_INDEX_CONSTRAINT_EQ) return SQLITE_CONSTRAINT;
    slot[c.iColumn - kFirstArgument] = i;
  }
  int next = 1;
  for (int a = 0; a < kArguments; ++a) {
    if (slot[a] < 0) continue;
    mask |= 1 << a;
    info->aConstraintUsage[slot[a]].argvIndex = next++;
    info->aConstraintUsage[slot[a]].omit = 1;
  }
  info->idxNum = mask;
  info->estimatedCost = 1000;
  return SQLITE_OK;
}

int Open(sqlite3_vtab* vtab, sqlite3_vtab_cursor** out) {
  auto* cursor = new Cursor{};
  cursor->source = reinterpret_cast<Table*>(vtab)->source;
  *out = &cursor->base;
  return SQLITE_OK;
}

int Close(sqlite3_vtab_cursor* cursor) {
  delete reinterpret_cast<Cursor*>(cursor);
  return SQLITE_OK;
}

int Filter(sqlite3_vtab_cursor* base, int mask, const char*, int argc, sqlite3_value** argv) {
  auto* cursor = reinterpret_cast<Cursor*>(base);
  sqlite3_vtab* vtab = base->pVtab;
  int next = 0;
  for (int a = 0; a < kArguments; ++a) {
    cursor->args_int[a].reset();
    cursor->args_text[a].reset();
    if (!(mask & (1 << a)) || next >= argc) continue;
    sqlite3_value* value = argv[next++];
    switch (sqlite3_value_type(value)) {
      case SQLITE_NULL:
        break;
      case SQLITE_INTEGER:
        cursor->args_int[a] = sqlite3_value_int64(value);
        break;
      default:
        cursor->args_text[a] =
            std::string(reinterpret_cast<const char*>(sqlite3_value_text(value)),
                        sqlite3_value_bytes(value));
    }
  }
  const auto given = [&](int column) {
    const int a = column - kFirstArgument;
    return cursor->args_int[a].has_value() || cursor->args_text[a].has_value();
  };
  const std::optional<std::string>& type = cursor->args_text[kProfileType - kFirstArgument];
  if (!type.has_value() || *type != "graph") {
    SetError(vtab,
             "experimental_flamegraph: profile_type must be 'graph' (a Java heap graph); "
             "usage: experimental_flamegraph('graph', graph_sample_ts, NULL, upid, NULL, NULL)");
    return SQLITE_ERROR;
  }
  if (given(kTsConstraint) || given(kUpidGroup)) {
    SetError(vtab, "experimental_flamegraph: ts_constraint and upid_group must be NULL for 'graph'");
    return SQLITE_ERROR;
  }
  if (given(kFocusStr)) {
    SetError(vtab, "experimental_flamegraph: focus_str is not supported; pass NULL");
    return SQLITE_ERROR;
  }
  const std::optional<int64_t>& ts = cursor->args_int[kTs - kFirstArgument];
  const std::optional<int64_t>& upid = cursor->args_int[kUpid - kFirstArgument];
  if (!ts.has_value() || !upid.has_value()) {
    SetError(vtab, "experimental_flamegraph: ts and upid must be integers (select distinct "
                   "graph_sample_ts, upid from heap_graph_object)");
    return SQLITE_ERROR;
  }
  const bool match = *ts == GraphSampleTs(*cursor->source->graph) && *upid == 1;
  cursor->flame = match ? &cursor->source->flame() : nullptr;
  cursor->row = 0;
  return SQLITE_OK;
}

int Next(sqlite3_vtab_cursor* base) {
  ++reinterpret_cast<Cursor*>(base)->row;
  return SQLITE_OK;
}

int Eof(sqlite3_vtab_cursor* base) {
  auto* cursor = reinterpret_cast<Cursor*>(base);
  return cursor->flame == nullptr || cursor->row >= cursor->flame->nodes.size();
}

int ColumnValue(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  auto* cursor = reinterpret_cast<Cursor*>(base);
  const FlamegraphNode& node = cursor->flame->nodes[cursor->row];
  const auto integer = [&](uint64_t v) { sqlite3_result_int64(ctx, static_cast<int64_t>(v)); };
  switch (column) {
    case kId: integer(cursor->row); break;
    case kParentId:
      if (node.parent == kNoNode) {
        sqlite3_result_null(ctx);
      } else {
        integer(node.parent);
      }
      break;
    case kDepth: integer(node.depth); break;
    case kName:
      sqlite3_result_text(ctx, node.name.data(), static_cast<int>(node.name.size()),
                          SQLITE_TRANSIENT);
      break;
    case kMapName: sqlite3_result_text(ctx, "JAVA", -1, SQLITE_STATIC); break;
    case kCount: integer(node.self_count); break;
    case kCumulativeCount: integer(node.cumulative_count); break;
    case kSize: integer(node.self_size); break;
    case kCumulativeSize: integer(node.cumulative_size); break;
    case kAllocCount:
    case kCumulativeAllocCount:
    case kAllocSize:
    case kCumulativeAllocSize: integer(0); break;
    default: {  // an argument: the value given
      const int a = column - kFirstArgument;
      if (cursor->args_int[a].has_value()) {
        sqlite3_result_int64(ctx, *cursor->args_int[a]);
      } else if (cursor->args_text[a].has_value()) {
        sqlite3_result_text(ctx, cursor->args_text[a]->c_str(), -1, SQLITE_TRANSIENT);
      } else {
        sqlite3_result_null(ctx);
      }
    }
  }
  return SQLITE_OK;
}

int RowId(sqlite3_vtab_cursor* base, sqlite3_int64* rowid) {
  *rowid = static_cast<sqlite3_int64>(reinterpret_cast<Cursor*>(base)->row);
  return SQLITE_OK;
}

sqlite3_module MakeModule() {
  sqlite3_module module;
  std::memset(&module, 0, sizeof(module));
  module.iVersion = 0;
  module.xCreate = nullptr;  // eponymous only: no CREATE VIRTUAL TABLE
  module.xConnect = Connect;
  module.xBestIndex = BestIndex;
  module.xDisconnect = Disconnect;
  module.xDestroy = Disconnect;
  module.xOpen = Open;
  module.xClose = Close;
  module.xFilter = Filter;
  module.xNext = Next;
  module.xEof = Eof;
  module.xColumn = ColumnValue;
  module.xRowid = RowId;
  return module;
}

const sqlite3_module kModule = MakeModule();

}  // namespace

int64_t GraphSampleTs(const HeapGraph& graph) {
  return static_cast<int64_t>(graph.summary().timestamp_ms) * 1000000;
}

absl::Status RegisterExperimentalFlamegraph(sqlite3* db, const HeapGraph& graph,
                                            const Flamegraph* flame) {
  auto* source = new Source{&graph, flame, {}, nullptr};
  const int rc = sqlite3_create_module_v2(
      db, "experimental_flamegraph", &kModule, source,
      [](void* p) { delete static_cast<Source*>(p); });
  if (rc != SQLITE_OK) {
    return absl::InternalError(
        absl::StrCat("SQLite: registering experimental_flamegraph: ", sqlite3_errmsg(db)));
  }
  return absl::OkStatus();
}

}  // namespace kiln::analysis
