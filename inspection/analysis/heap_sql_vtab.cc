// heap_graph_* as SQLite virtual tables over a HeapGraph (heap_sql_vtab.h).
#include "inspection/analysis/heap_sql_vtab.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "inspection/analysis/heap_sql.h"
#include "inspection/analysis/shortest_path_tree.h"
#include "sqlite3.h"

namespace kiln::analysis {
namespace {

enum class Table { kClass, kObject, kReference };

// Columns, in the order and with the types of heap_sql.cc's CREATE TABLEs
// (ExportHeapGraph copies with SELECT *).
enum ClassColumn { kClassId, kClassName, kClassDeobfuscatedName, kClassLocation,
                   kClassSuperclassId, kClassClassloaderId, kClassKind };
enum ObjectColumn { kObjectId, kObjectUpid, kObjectGraphSampleTs, kObjectSelfSize,
                    kObjectNativeSize, kObjectReferenceSetId, kObjectReachable, kObjectHeapType,
                    kObjectTypeId, kObjectRootType, kObjectRootDistance };
enum ReferenceColumn { kRefId, kRefReferenceSetId, kRefOwnerId, kRefOwnedId, kRefFieldName,
                       kRefFieldTypeName, kRefDeobfuscatedFieldName };

const char* Schema(Table table) {
  switch (table) {
    case Table::kClass:
      return "CREATE TABLE x(id INTEGER, name TEXT NOT NULL, deobfuscated_name TEXT, "
             "location TEXT, superclass_id INTEGER, classloader_id INTEGER, kind TEXT NOT NULL)";
    case Table::kObject:
      return "CREATE TABLE x(id INTEGER, upid INTEGER NOT NULL, graph_sample_ts INTEGER NOT NULL, "
             "self_size INTEGER NOT NULL, native_size INTEGER NOT NULL, reference_set_id INTEGER, "
             "reachable INTEGER NOT NULL, heap_type TEXT, type_id INTEGER NOT NULL, "
             "root_type TEXT, root_distance INTEGER NOT NULL)";
    case Table::kReference:
      return "CREATE TABLE x(id INTEGER, reference_set_id INTEGER NOT NULL, "
             "owner_id INTEGER NOT NULL, owned_id INTEGER, field_name TEXT NOT NULL, "
             "field_type_name TEXT NOT NULL, deobfuscated_field_name TEXT)";
  }
  return "";
}

// Source: the graph and what the tables derive from it, shared by the three
// modules (freed with the last of them).
class Source {
 public:
  explicit Source(const HeapGraph& graph)
      : graph_(graph),
        objects_(graph.object_count()),
        ts_(static_cast<int64_t>(graph.summary().timestamp_ms) * 1000000) {
    // A reference's id is its position in object order, the first of an
    // object's references its reference_set_id. HeapGraph keeps them in one
    // CSR array, so a position is a span's offset from the first span: no
    // table of its own. Should the spans ever not be one array, the
    // positions are counted instead (8 bytes an object).
    const Reference* expected = objects_ > 0 ? graph.references(0).data() : nullptr;
    base_ = expected;
    for (uint32_t obj = 0; obj < objects_; ++obj) {
      const absl::Span<const Reference> refs = graph.references(obj);
      contiguous_ = contiguous_ && refs.data() == expected;
      expected = refs.data() + refs.size();
      references_ += refs.size();
    }
    if (!contiguous_) {
      begins_.reserve(uint64_t{objects_} + 1);
      uint64_t next = 0;
      for (uint32_t obj = 0; obj < objects_; ++obj) {
        begins_.push_back(next);
        next += graph.references(obj).size();
      }
      begins_.push_back(next);
    }
  }

  const HeapGraph& graph() const { return graph_; }
  uint32_t objects() const { return objects_; }
  uint64_t references() const { return references_; }
  int64_t ts() const { return ts_; }
  uint64_t Rows(Table table) const {
    switch (table) {
      case Table::kClass: return graph_.type_count();
      case Table::kObject: return objects_;
      case Table::kReference: return references_;
    }
    return 0;
  }

  // Begin: the id of `obj`'s first reference (obj <= objects()).
  uint64_t Begin(uint32_t obj) const {
    if (!contiguous_) return begins_[obj];
    if (obj == objects_) return references_;
    return static_cast<uint64_t>(graph_.references(obj).data() - base_);
  }
  // OwnerOf: the object whose references include reference `ref`
  // (ref < references()).
  uint32_t OwnerOf(uint64_t ref) const {
    uint32_t lo = 0, hi = objects_;  // the answer: the last obj with Begin(obj) <= ref
    while (hi - lo > 1) {
      const uint32_t mid = lo + (hi - lo) / 2;
      if (Begin(mid) <= ref) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  // Distance: heap_graph_object.root_distance (-1 unreachable).
  int64_t Distance(uint32_t obj) {
    std::call_once(distances_once_, [&] { distances_ = ComputeShortestPathTree(graph_).distance; });
    return distances_[obj] == kNoObject ? -1 : static_cast<int64_t>(distances_[obj]);
  }
  // ObjectsOfType: the objects of `type` in id order, from an index built on
  // first use (a counting sort: 4 bytes an object), since the graph keeps
  // none by type.
  absl::Span<const uint32_t> ObjectsOfType(uint32_t type) {
    std::call_once(by_type_once_, [&] {
      type_begin_.assign(uint64_t{graph_.type_count()} + 1, 0);
      for (uint32_t obj = 0; obj < objects_; ++obj) ++type_begin_[graph_.type(obj) + 1];
      for (uint32_t t = 0; t < graph_.type_count(); ++t) type_begin_[t + 1] += type_begin_[t];
      by_type_.resize(objects_);
      std::vector<uint32_t> next(type_begin_.begin(), type_begin_.end() - 1);
      for (uint32_t obj = 0; obj < objects_; ++obj) by_type_[next[graph_.type(obj)]++] = obj;
    });
    return absl::MakeConstSpan(by_type_.data() + type_begin_[type],
                               by_type_.data() + type_begin_[type + 1]);
  }
  // TypesByName: the type indices by (name, index), as ORDER BY name, id
  // sorts them (names compare as BINARY does, bytewise).
  const std::vector<uint32_t>& TypesByName() {
    std::call_once(by_name_once_, [&] {
      by_name_.resize(graph_.type_count());
      for (uint32_t t = 0; t < graph_.type_count(); ++t) by_name_[t] = t;
      std::stable_sort(by_name_.begin(), by_name_.end(), [&](uint32_t a, uint32_t b) {
        return graph_.type_info(a).name < graph_.type_info(b).name;
      });
    });
    return by_name_;
  }
  const std::vector<uint32_t>& TypesByNameDescending() {
    std::call_once(by_name_descending_once_, [&] {
      by_name_descending_.assign(TypesByName().rbegin(), TypesByName().rend());
    });
    return by_name_descending_;
  }

  const std::string& Kind(uint32_t type) {
    std::call_once(kinds_once_, [&] {
      kinds_.reserve(graph_.type_count());
      for (uint32_t t = 0; t < graph_.type_count(); ++t) kinds_.push_back(ClassKind(graph_, t));
    });
    return kinds_[type];
  }

 private:
  const HeapGraph& graph_;
  const uint32_t objects_;
  const int64_t ts_;
  uint64_t references_ = 0;
  bool contiguous_ = true;
  const Reference* base_ = nullptr;
  std::vector<uint64_t> begins_;  // only if !contiguous_
  std::once_flag distances_once_;
  std::vector<uint32_t> distances_;
  std::once_flag kinds_once_;
  std::vector<std::string> kinds_;
  std::once_flag by_type_once_;
  std::vector<uint32_t> type_begin_, by_type_;
  std::once_flag by_name_once_;
  std::vector<uint32_t> by_name_;
  std::once_flag by_name_descending_once_;
  std::vector<uint32_t> by_name_descending_;
};

// idxNum bits.
constexpr int kByName = 1;            // classes in name order
constexpr int kByNameDescending = 2;  // and backwards

struct ModuleAux {
  std::shared_ptr<Source> source;
  Table table;
};

struct VTab {
  sqlite3_vtab base;
  Source* source;
  Table table;
};

struct Cursor {
  sqlite3_vtab_cursor base;
  Source* source;
  Table table;
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
  std::string field_name;
};

// --- planning -------------------------------------------------------------

// A plan (idxStr) is one letter per argument, in argv order:
//   i = id equals, g/G = id >/>=, l/L = id </<=, o = owner_id equals,
//   s = reference_set_id equals, t = type_id equals.
// Equalities are exact (omit: SQLite does not check them again); ranges
// narrow to a superset and SQLite checks them.
char PlanLetter(Table table, int column, unsigned char op) {
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
  if (table == Table::kObject && column == kObjectReferenceSetId) return 's';
  if (table == Table::kObject && column == kObjectTypeId) return 't';
  if (table == Table::kReference && column == kRefReferenceSetId) return 's';
  if (table == Table::kReference && column == kRefOwnerId) return 'o';
  return 0;
}

// OrderedBy: whether the rows, which come in id order, satisfy the ORDER BY
// as they are: every term ascending on a column that ascends with id, up to
// one on id itself (unique, so later terms do not matter). (A GROUP BY
// comes as an ORDER BY too, its direction that of the query's ORDER BY when
// they match: SQLite then drops the ORDER BY's sort, so grouping alone is not
// enough, whatever sqlite3_vtab_distinct says.)
bool OrderedBy(Table table, const sqlite3_index_info* info) {
  for (int i = 0; i < info->nOrderBy; ++i) {
    const auto& term = info->aOrderBy[i];
    if (term.desc) return false;
    if (term.iColumn == 0) return true;
    const bool ascends = table == Table::kReference &&
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
  const Source& source = *table->source;
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
        visited = std::min(visited, table->table == Table::kObject
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
  if (table->table == Table::kClass && ByName(info) != 0) {
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
  const Source& source = *cursor->source;
  if (cursor->row >= cursor->end) return;
  if (cursor->row >= cursor->owner_begin && cursor->row < cursor->owner_end) return;
  cursor->owner = source.OwnerOf(cursor->row);
  cursor->owner_begin = source.Begin(cursor->owner);
  cursor->owner_end = source.Begin(cursor->owner + 1);
}

int Filter(sqlite3_vtab_cursor* base, int plan_flags, const char* plan, int argc, sqlite3_value** argv) {
  auto* cursor = reinterpret_cast<Cursor*>(base);
  Source& source = *cursor->source;
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
        } else if (cursor->table == Table::kObject) {
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
  if (cursor->table == Table::kObject && cursor->type != kNoType && !none) {
    const absl::Span<const uint32_t> objects = source.ObjectsOfType(cursor->type);
    cursor->perm = objects.data();
    cursor->pos = std::lower_bound(objects.begin(), objects.end(), cursor->lo) - objects.begin();
    cursor->pos_end = std::lower_bound(objects.begin(), objects.end(), cursor->end) - objects.begin();
    SkipOutside(cursor);
  } else if (cursor->table == Table::kClass && (plan_flags & (kByName | kByNameDescending)) != 0) {
    cursor->perm = (plan_flags & kByName) != 0 ? source.TypesByName().data()
                                               : source.TypesByNameDescending().data();
    cursor->pos_end = none ? 0 : source.TypesByName().size();
    SkipOutside(cursor);
  }
  if (cursor->table == Table::kReference) SeekOwner(cursor);
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
  if (cursor->table == Table::kReference && cursor->row < cursor->end &&
             cursor->row >= cursor->owner_end) {
    const Source& source = *cursor->source;
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

void Integer(sqlite3_context* ctx, uint64_t v) { sqlite3_result_int64(ctx, static_cast<int64_t>(v)); }
// Text: a string the graph keeps (it outlives the statement).
void Text(sqlite3_context* ctx, const std::string& text) {
  sqlite3_result_text(ctx, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

void ClassValue(Cursor* cursor, sqlite3_context* ctx, int column) {
  const auto type = static_cast<uint32_t>(cursor->row);
  const TypeInfo& info = cursor->source->graph().type_info(type);
  switch (column) {
    case kClassId: Integer(ctx, type); break;
    case kClassName: Text(ctx, info.name); break;
    case kClassSuperclassId:
      if (info.superclass == kNoType) sqlite3_result_null(ctx);
      else Integer(ctx, info.superclass);
      break;
    case kClassKind: Text(ctx, cursor->source->Kind(type)); break;
    default: sqlite3_result_null(ctx);  // deobfuscated_name, location, classloader_id
  }
}

void ObjectValue(Cursor* cursor, sqlite3_context* ctx, int column) {
  Source& source = *cursor->source;
  const HeapGraph& graph = source.graph();
  const auto obj = static_cast<uint32_t>(cursor->row);
  switch (column) {
    case kObjectId: Integer(ctx, obj); break;
    case kObjectUpid: Integer(ctx, 1); break;
    case kObjectGraphSampleTs: sqlite3_result_int64(ctx, source.ts()); break;
    case kObjectSelfSize: Integer(ctx, graph.self_size(obj)); break;
    case kObjectNativeSize: Integer(ctx, graph.native_size(obj)); break;
    case kObjectReferenceSetId:
      if (graph.references(obj).empty()) sqlite3_result_null(ctx);
      else Integer(ctx, source.Begin(obj));
      break;
    case kObjectReachable: Integer(ctx, graph.reachable(obj) ? 1 : 0); break;
    case kObjectTypeId: Integer(ctx, graph.type(obj)); break;
    case kObjectRootType: {
      const std::optional<RootType> root = graph.root_type(obj);
      if (root.has_value()) sqlite3_result_text(ctx, RootTypeName(*root), -1, SQLITE_STATIC);
      else sqlite3_result_null(ctx);
      break;
    }
    case kObjectRootDistance: sqlite3_result_int64(ctx, source.Distance(obj)); break;
    default: sqlite3_result_null(ctx);  // heap_type
  }
}

void ReferenceValue(Cursor* cursor, sqlite3_context* ctx, int column) {
  const HeapGraph& graph = cursor->source->graph();
  const Reference& ref = graph.references(cursor->owner)[cursor->row - cursor->owner_begin];
  switch (column) {
    case kRefId: Integer(ctx, cursor->row); break;
    case kRefReferenceSetId: Integer(ctx, cursor->owner_begin); break;
    case kRefOwnerId: Integer(ctx, cursor->owner); break;
    case kRefOwnedId: Integer(ctx, ref.target); break;
    case kRefFieldName:
      cursor->field_name = graph.field_name(ref.field_name);
      sqlite3_result_text(ctx, cursor->field_name.data(),
                          static_cast<int>(cursor->field_name.size()), SQLITE_TRANSIENT);
      break;
    case kRefFieldTypeName: Text(ctx, graph.field_type_name(ref)); break;
    default: sqlite3_result_null(ctx);  // deobfuscated_field_name
  }
}

int ColumnValue(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  auto* cursor = reinterpret_cast<Cursor*>(base);
  switch (cursor->table) {
    case Table::kClass: ClassValue(cursor, ctx, column); break;
    case Table::kObject: ObjectValue(cursor, ctx, column); break;
    case Table::kReference: ReferenceValue(cursor, ctx, column); break;
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

constexpr Table kTables[] = {Table::kClass, Table::kObject, Table::kReference};

// Register adds the three modules (kTables' order) as `names`.
absl::Status Register(sqlite3* db, const HeapGraph& graph, const char* const(&names)[3]) {
  if (!graph.has_references()) {
    return absl::FailedPreconditionError(
        "the heap_graph_* tables need a graph built with references");
  }
  auto source = std::make_shared<Source>(graph);
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

absl::Status RegisterHeapGraphModules(sqlite3* db, const HeapGraph& graph) {
  static constexpr const char* kNames[3] = {kClassModule, kObjectModule, kReferenceModule};
  return Register(db, graph, kNames);
}

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
