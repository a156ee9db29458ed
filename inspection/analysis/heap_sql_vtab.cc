// heap_graph_* as SQLite virtual tables over a HeapGraph (heap_sql_vtab.h).
#include "inspection/analysis/heap_sql_vtab.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "inspection/analysis/heap_sql_rows.h"
#include "sqlite3.h"

namespace kiln::analysis {
namespace {

const char* Schema(SqlTable table) {
  switch (table) {
    case SqlTable::kClass:
      return "CREATE TABLE x(id INTEGER, name TEXT NOT NULL, deobfuscated_name TEXT, "
             "location TEXT, superclass_id INTEGER, classloader_id INTEGER, kind TEXT NOT NULL)";
    case SqlTable::kObject:
      return "CREATE TABLE x(id INTEGER, upid INTEGER NOT NULL, graph_sample_ts INTEGER NOT NULL, "
             "self_size INTEGER NOT NULL, native_size INTEGER NOT NULL, reference_set_id INTEGER, "
             "reachable INTEGER NOT NULL, heap_type TEXT, type_id INTEGER NOT NULL, "
             "root_type TEXT, root_distance INTEGER NOT NULL)";
    case SqlTable::kReference:
      return "CREATE TABLE x(id INTEGER, reference_set_id INTEGER NOT NULL, "
             "owner_id INTEGER NOT NULL, owned_id INTEGER, field_name TEXT NOT NULL, "
             "field_type_name TEXT NOT NULL, deobfuscated_field_name TEXT)";
  }
  return "";
}

// idxNum bits.
constexpr int kByName = 1;            // classes in name order
constexpr int kByNameDescending = 2;  // and backwards

struct ModuleAux {
  std::shared_ptr<HeapSqlRows> source;
  SqlTable table;
};

struct VTab {
  sqlite3_vtab base;
  HeapSqlRows* source;
  SqlTable table;
};

struct Cursor {
  sqlite3_vtab_cursor base;
  HeapSqlRows* source;
  SqlTable table;
  uint64_t lo = 0, end = 0;  // the ids the constraints leave: [lo, end)
  uint64_t row = 0;          // the current row's id
  uint32_t type = kNoType;   // objects: only this type_id (kNoType: any)
  // In an order of its own (the objects of one type, classes by name), the
  // rows are perm[pos], pos < pos_end, those outside [lo, end) skipped.
  const uint32_t* perm = nullptr;
  size_t pos = 0, pos_end = 0;
  // References: the owner of `row` and the ids of its references.
  uint32_t owner = 0;
  uint64_t owner_begin = 0, owner_end = 0;
  SqlFieldNames field_names;
};

// --- planning -------------------------------------------------------------

// A plan (idxStr) is one letter per argument, in argv order:
//   i = id equals, g/G = id >/>=, l/L = id </<=, o = owner_id equals,
//   s = reference_set_id equals, t = type_id equals.
// Equalities are exact (omit: SQLite does not check them again); ranges
// narrow to a superset and SQLite checks them.
char PlanLetter(SqlTable table, int column, unsigned char op) {
  if (column == 0) {  // id, in every table
    switch (op) {
      case SQLITE_INDEX_CONSTRAINT_EQ: return 'i';
      case SQLITE_INDEX_CONSTRAINT_GT: return 'g';
      case SQLITE_INDEX_CONSTRAINT_GE: return 'G';
      case SQLITE_INDEX_CONSTRAINT_LT: return 'l';
      case SQLITE_INDEX_CONSTRAINT_LE: return 'L';
      default: return 0;
    }
  }
  if (op != SQLITE_INDEX_CONSTRAINT_EQ) return 0;
  if (table == SqlTable::kObject && column == kObjectReferenceSetId) return 's';
  if (table == SqlTable::kObject && column == kObjectTypeId) return 't';
  if (table == SqlTable::kReference && column == kRefReferenceSetId) return 's';
  if (table == SqlTable::kReference && column == kRefOwnerId) return 'o';
  return 0;
}

// OrderedBy: whether the rows, which come in id order, satisfy the ORDER BY
// as they are: every term ascending on a column that ascends with id, up to
// one on id itself (unique, so later terms do not matter). (A GROUP BY
// comes as an ORDER BY too, its direction that of the query's ORDER BY when
// they match: SQLite then drops the ORDER BY's sort, so grouping alone is not
// enough, whatever sqlite3_vtab_distinct says.)
bool OrderedBy(SqlTable table, const sqlite3_index_info* info) {
  for (int i = 0; i < info->nOrderBy; ++i) {
    const auto& term = info->aOrderBy[i];
    if (term.desc) return false;
    if (term.iColumn == 0) return true;
    const bool ascends = table == SqlTable::kReference &&
                         (term.iColumn == kRefOwnerId || term.iColumn == kRefReferenceSetId);
    if (!ascends) return false;
  }
  return info->nOrderBy > 0;
}

// ByName: classes in name order (a sort of the classes, once), forwards or
// backwards, satisfy ORDER BY name or name, id, both ascending or both
// descending.
int ByName(const sqlite3_index_info* info) {
  const auto& order = info->aOrderBy;
  if (info->nOrderBy < 1 || info->nOrderBy > 2 || order[0].iColumn != kClassName) return 0;
  if (info->nOrderBy == 2 && (order[1].iColumn != kClassId || order[1].desc != order[0].desc)) {
    return 0;
  }
  return order[0].desc ? kByNameDescending : kByName;
}

int BestIndex(sqlite3_vtab* vtab, sqlite3_index_info* info) {
  const auto* table = reinterpret_cast<VTab*>(vtab);
  const HeapSqlRows& source = *table->source;
  const double rows = static_cast<double>(source.Rows(table->table));
  double visited = rows;  // rows the cursor steps over
  bool unique = false;
  std::string plan;
  for (int i = 0; i < info->nConstraint; ++i) {
    const auto& constraint = info->aConstraint[i];
    if (!constraint.usable) continue;
    const char letter = PlanLetter(table->table, constraint.iColumn, constraint.op);
    if (letter == 0) continue;
    plan.push_back(letter);
    info->aConstraintUsage[i].argvIndex = static_cast<int>(plan.size());
    info->aConstraintUsage[i].omit = constraint.op == SQLITE_INDEX_CONSTRAINT_EQ;
    switch (letter) {
      case 'i':
        visited = std::min(visited, 1.0);
        unique = true;
        break;
      case 's':
      case 'o':
        // One object's references (objects: the one object owning them).
        visited = std::min(visited, table->table == SqlTable::kObject
                                        ? 1.0
                                        : std::max(1.0, rows / std::max(1u, source.objects())));
        break;
      case 't':  // the objects of one type (ObjectsOfType), an average share
        visited = std::max(1.0, visited / std::max(1u, source.graph().type_count()));
        break;
      default:  // a range: a guess
        visited = std::max(1.0, visited / 4);
    }
  }
  if (!plan.empty()) {
    info->idxStr = sqlite3_mprintf("%s", plan.c_str());
    if (info->idxStr == nullptr) return SQLITE_NOMEM;
    info->needToFreeIdxStr = 1;
  }
  // A lookup costs about one step (a binary search for references) plus the
  // rows it visits; a scan, every row.
  info->estimatedCost = 1 + visited;
  info->estimatedRows = static_cast<sqlite3_int64>(std::max(1.0, visited));
  if (unique) info->idxFlags |= SQLITE_INDEX_SCAN_UNIQUE;
  info->orderByConsumed = OrderedBy(table->table, info);
  if (table->table == SqlTable::kClass && ByName(info) != 0) {
    info->idxNum |= ByName(info);
    info->orderByConsumed = 1;
  }
  return SQLITE_OK;
}

// --- cursor ---------------------------------------------------------------

// ExactInteger: `value` as the integer it equals under the column's INTEGER
// affinity ('12' and 12.0 are 12), or false (NULL, text, 1.5: no row equals it).
bool ExactInteger(sqlite3_value* value, int64_t* out) {
  switch (sqlite3_value_numeric_type(value)) {
    case SQLITE_INTEGER:
      *out = sqlite3_value_int64(value);
      return true;
    case SQLITE_FLOAT: {
      const double d = sqlite3_value_double(value);
      if (!(d >= -9.2e18 && d <= 9.2e18) || d != std::floor(d)) return false;
      *out = static_cast<int64_t>(d);
      return true;
    }
    default:
      return false;
  }
}

// Bound: for a range, a number to narrow [lo, end) by, rounded outwards
// (down for a lower bound, up for an upper one) so that the interval only
// grows; false if `value` is no number (SQLite's own check decides).
bool Bound(sqlite3_value* value, bool upper, int64_t* out) {
  switch (sqlite3_value_numeric_type(value)) {
    case SQLITE_INTEGER:
      *out = sqlite3_value_int64(value);
      return true;
    case SQLITE_FLOAT: {
      const double d = sqlite3_value_double(value);
      if (std::isnan(d)) return false;
      *out = static_cast<int64_t>(std::clamp(upper ? std::ceil(d) : std::floor(d), -9.2e18, 9.2e18));
      return true;
    }
    default:
      return false;
  }
}

void Intersect(Cursor* cursor, uint64_t begin, uint64_t end) {
  cursor->lo = std::max(cursor->lo, begin);
  cursor->end = std::min(cursor->end, end);
}

// Lower/Upper: id > v etc. as [begin, end) bounds clamped to the table.
uint64_t Clamp(int64_t v, uint64_t rows) {
  return v < 0 ? 0 : std::min(static_cast<uint64_t>(v), rows);
}

// SkipOutside: in a cursor's own order, steps to the next row in [lo, end).
void SkipOutside(Cursor* cursor) {
  while (cursor->pos < cursor->pos_end &&
         (cursor->perm[cursor->pos] < cursor->lo || cursor->perm[cursor->pos] >= cursor->end)) {
    ++cursor->pos;
  }
  if (cursor->pos < cursor->pos_end) cursor->row = cursor->perm[cursor->pos];
}

// SeekOwner: cursor->owner and its range for reference `row` (< end).
void SeekOwner(Cursor* cursor) {
  const HeapSqlRows& source = *cursor->source;
  if (cursor->row >= cursor->end) return;
  if (cursor->row >= cursor->owner_begin && cursor->row < cursor->owner_end) return;
  cursor->owner = source.OwnerOf(cursor->row);
  cursor->owner_begin = source.Begin(cursor->owner);
  cursor->owner_end = source.Begin(cursor->owner + 1);
}

int Filter(sqlite3_vtab_cursor* base, int plan_flags, const char* plan, int argc, sqlite3_value** argv) {
  auto* cursor = reinterpret_cast<Cursor*>(base);
  HeapSqlRows& source = *cursor->source;
  const uint64_t rows = source.Rows(cursor->table);
  cursor->lo = 0;
  cursor->end = rows;
  cursor->type = kNoType;
  cursor->perm = nullptr;
  cursor->pos = cursor->pos_end = 0;
  cursor->owner_begin = cursor->owner_end = 0;
  bool none = false;  // an equality no row meets
  const int letters = plan == nullptr ? 0 : static_cast<int>(std::strlen(plan));
  for (int a = 0; a < letters && a < argc && !none; ++a) {
    int64_t v = 0;
    const char letter = plan[a];
    if (letter == 'i' || letter == 'o' || letter == 's' || letter == 't') {
      if (!ExactInteger(argv[a], &v) || v < 0) {
        none = true;
        continue;
      }
    } else if (!Bound(argv[a], /*upper=*/letter == 'l' || letter == 'L', &v)) {
      continue;
    }
    switch (letter) {
      case 'i':
        if (static_cast<uint64_t>(v) >= rows) none = true;
        else Intersect(cursor, v, v + 1);
        break;
      case 'g': Intersect(cursor, v == INT64_MAX ? rows : Clamp(v + 1, rows), rows); break;
      case 'G': Intersect(cursor, Clamp(v, rows), rows); break;
      case 'l': Intersect(cursor, 0, Clamp(v, rows)); break;
      case 'L': Intersect(cursor, 0, v == INT64_MAX ? rows : Clamp(v + 1, rows)); break;
      case 'o':  // references: owner_id
        if (static_cast<uint64_t>(v) >= source.objects()) none = true;
        else Intersect(cursor, source.Begin(v), source.Begin(v + 1));
        break;
      case 's': {  // reference_set_id: the first reference of one object
        const uint64_t set = static_cast<uint64_t>(v);
        const uint32_t owner = set < source.references() ? source.OwnerOf(set) : 0;
        if (set >= source.references() || source.Begin(owner) != set) {
          none = true;
        } else if (cursor->table == SqlTable::kObject) {
          Intersect(cursor, owner, owner + 1);
        } else {
          Intersect(cursor, set, source.Begin(owner + 1));
        }
        break;
      }
      case 't':
        if (cursor->type != kNoType && cursor->type != static_cast<uint64_t>(v)) none = true;
        else if (static_cast<uint64_t>(v) >= source.graph().type_count()) none = true;
        else cursor->type = static_cast<uint32_t>(v);
        break;
      default:
        break;
    }
  }
  if (none) cursor->lo = cursor->end;
  cursor->row = cursor->lo;
  if (cursor->table == SqlTable::kObject && cursor->type != kNoType && !none) {
    const absl::Span<const uint32_t> objects = source.ObjectsOfType(cursor->type);
    cursor->perm = objects.data();
    cursor->pos = std::lower_bound(objects.begin(), objects.end(), cursor->lo) - objects.begin();
    cursor->pos_end = std::lower_bound(objects.begin(), objects.end(), cursor->end) - objects.begin();
    SkipOutside(cursor);
  } else if (cursor->table == SqlTable::kClass && (plan_flags & (kByName | kByNameDescending)) != 0) {
    cursor->perm = (plan_flags & kByName) != 0 ? source.TypesByName().data()
                                               : source.TypesByNameDescending().data();
    cursor->pos_end = none ? 0 : source.TypesByName().size();
    SkipOutside(cursor);
  }
  if (cursor->table == SqlTable::kReference) SeekOwner(cursor);
  return SQLITE_OK;
}

int Next(sqlite3_vtab_cursor* base) {
  auto* cursor = reinterpret_cast<Cursor*>(base);
  if (cursor->perm != nullptr) {
    ++cursor->pos;
    SkipOutside(cursor);
    return SQLITE_OK;
  }
  ++cursor->row;
  if (cursor->table == SqlTable::kReference && cursor->row < cursor->end &&
             cursor->row >= cursor->owner_end) {
    const HeapSqlRows& source = *cursor->source;
    // The next owner with references (objects without any are skipped).
    do {
      ++cursor->owner;
      cursor->owner_begin = cursor->owner_end;
      cursor->owner_end = source.Begin(cursor->owner + 1);
    } while (cursor->row >= cursor->owner_end);
  }
  return SQLITE_OK;
}

int Eof(sqlite3_vtab_cursor* base) {
  const auto* cursor = reinterpret_cast<Cursor*>(base);
  return cursor->perm != nullptr ? cursor->pos >= cursor->pos_end : cursor->row >= cursor->end;
}

int ColumnValue(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  auto* cursor = reinterpret_cast<Cursor*>(base);
  HeapSqlRows& rows = *cursor->source;
  SqlValue value;
  const auto row = static_cast<uint32_t>(cursor->row);  // classes, objects
  switch (cursor->table) {
    case SqlTable::kClass: value = rows.ClassValue(row, column); break;
    case SqlTable::kObject: value = rows.ObjectValue(row, column); break;
    case SqlTable::kReference:
      value = rows.ReferenceValue(cursor->row, cursor->owner, cursor->owner_begin, column,
                                  &cursor->field_names);
      break;
  }
  switch (value.kind) {
    case SqlValue::kNull: sqlite3_result_null(ctx); break;
    case SqlValue::kInteger: sqlite3_result_int64(ctx, value.integer); break;
    case SqlValue::kText:
      // Text the graph keeps outlives the statement; the cursor's field
      // names do not.
      sqlite3_result_text(ctx, value.text.data(), static_cast<int>(value.text.size()),
                          cursor->table == SqlTable::kReference && column == kRefFieldName
                              ? SQLITE_TRANSIENT
                              : SQLITE_STATIC);
      break;
  }
  return SQLITE_OK;
}

int RowId(sqlite3_vtab_cursor* base, sqlite3_int64* rowid) {
  *rowid = static_cast<sqlite3_int64>(reinterpret_cast<Cursor*>(base)->row);
  return SQLITE_OK;
}

// --- the module -----------------------------------------------------------

int Connect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char** error) {
  const auto* module = static_cast<ModuleAux*>(aux);
  const int rc = sqlite3_declare_vtab(db, Schema(module->table));
  if (rc != SQLITE_OK) {
    *error = sqlite3_mprintf("declaring the table: %s", sqlite3_errmsg(db));
    return rc;
  }
  auto* vtab = new VTab{};
  vtab->source = module->source.get();
  vtab->table = module->table;
  *out = &vtab->base;
  return SQLITE_OK;
}

int Disconnect(sqlite3_vtab* vtab) {
  sqlite3_free(vtab->zErrMsg);
  delete reinterpret_cast<VTab*>(vtab);
  return SQLITE_OK;
}

int Open(sqlite3_vtab* vtab, sqlite3_vtab_cursor** out) {
  const auto* table = reinterpret_cast<VTab*>(vtab);
  auto* cursor = new Cursor{};
  cursor->source = table->source;
  cursor->table = table->table;
  *out = &cursor->base;
  return SQLITE_OK;
}

int Close(sqlite3_vtab_cursor* cursor) {
  delete reinterpret_cast<Cursor*>(cursor);
  return SQLITE_OK;
}

// Read-only (no xUpdate), no transactions. xCreate == xConnect: eponymous
// under the module's name, and CREATE VIRTUAL TABLE t USING it works too.
const sqlite3_module kModule = {
    /*iVersion=*/0, /*xCreate=*/Connect, /*xConnect=*/Connect, BestIndex,
    /*xDisconnect=*/Disconnect, /*xDestroy=*/Disconnect, Open, Close, Filter, Next, Eof,
    ColumnValue, RowId,
};

constexpr SqlTable kTables[] = {SqlTable::kClass, SqlTable::kObject, SqlTable::kReference};

// Register adds the three modules (kTables' order) as `names`.
absl::Status Register(sqlite3* db, const HeapGraph& graph, const char* const(&names)[3]) {
  if (!graph.has_references()) {
    return absl::FailedPreconditionError(
        "the heap_graph_* tables need a graph built with references");
  }
  auto source = std::make_shared<HeapSqlRows>(graph);
  for (int i = 0; i < 3; ++i) {
    auto* aux = new ModuleAux{source, kTables[i]};
    // On failure SQLite calls the destructor itself.
    if (sqlite3_create_module_v2(db, names[i], &kModule, aux,
                                 [](void* p) { delete static_cast<ModuleAux*>(p); }) != SQLITE_OK) {
      return absl::InternalError(
          absl::StrCat("SQLite: registering ", names[i], ": ", sqlite3_errmsg(db)));
    }
  }
  return absl::OkStatus();
}

// Prepares: whether `sql` compiles in `db` (the statement is not run).
bool Prepares(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  sqlite3_finalize(stmt);
  return rc == SQLITE_OK;
}

}  // namespace

absl::Status ServeHeapGraph(const HeapGraph& graph, sqlite3* db) {
  static constexpr const char* kNames[3] = {"heap_graph_class", "heap_graph_object",
                                            "heap_graph_reference"};
  for (const char* table : kNames) {
    if (Prepares(db, absl::StrCat("SELECT 1 FROM main.", table))) {
      return absl::AlreadyExistsError(
          absl::StrCat("SQLite: creating the tables: table ", table, " already exists"));
    }
  }
  RETURN_IF_ERROR(Register(db, graph, kNames));
  // Eponymous tables, connected now: connecting declares the schema, which a
  // read-only authorizer set later (the viewer's) would refuse. They are
  // not in the schema, so no schema reset disconnects them.
  for (const char* table : kNames) {
    if (!Prepares(db, absl::StrCat("SELECT * FROM main.", table, " LIMIT 0"))) {
      return absl::InternalError(
          absl::StrCat("SQLite: connecting ", table, ": ", sqlite3_errmsg(db)));
    }
  }
  return absl::OkStatus();
}

}  // namespace kiln::analysis
