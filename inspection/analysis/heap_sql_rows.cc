// HeapSqlRows: the heap_graph_* tables' cells over a HeapGraph (heap_sql_rows.h).
#include "inspection/analysis/heap_sql_rows.h"

#include <algorithm>

#include "inspection/analysis/heap_sql.h"
#include "inspection/analysis/shortest_path_tree.h"

namespace kiln::analysis {

absl::string_view SqlFieldNames::Get(const HeapGraph& graph, uint32_t field_name) {
  const auto it = long_names_.find(field_name);
  if (it != long_names_.end()) return it->second;
  std::string name = graph.field_name(field_name);
  // Short names (array indices among them: "[12]") cost no allocation;
  // long ones are field names, of which a dump has a few thousand at most.
  constexpr size_t kShort = 15, kMostCached = 1 << 16;
  if (name.size() > kShort && long_names_.size() < kMostCached) {
    return long_names_.emplace(field_name, std::move(name)).first->second;
  }
  last_ = std::move(name);
  return last_;
}

HeapSqlRows::HeapSqlRows(const HeapGraph& graph)
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

uint64_t HeapSqlRows::Rows(SqlTable table) const {
  switch (table) {
    case SqlTable::kClass: return graph_.type_count();
    case SqlTable::kObject: return objects_;
    case SqlTable::kReference: return references_;
  }
  return 0;
}

uint32_t HeapSqlRows::OwnerOf(uint64_t ref) const {
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

int64_t HeapSqlRows::Distance(uint32_t obj) {
  std::call_once(distances_once_, [&] { distances_ = ComputeShortestPathTree(graph_).distance; });
  return distances_[obj] == kNoObject ? -1 : static_cast<int64_t>(distances_[obj]);
}

absl::Span<const uint32_t> HeapSqlRows::ObjectsOfType(uint32_t type) {
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

const std::vector<uint32_t>& HeapSqlRows::TypesByName() {
  std::call_once(by_name_once_, [&] {
    by_name_.resize(graph_.type_count());
    for (uint32_t t = 0; t < graph_.type_count(); ++t) by_name_[t] = t;
    std::stable_sort(by_name_.begin(), by_name_.end(), [&](uint32_t a, uint32_t b) {
      return graph_.type_info(a).name < graph_.type_info(b).name;
    });
  });
  return by_name_;
}

const std::vector<uint32_t>& HeapSqlRows::TypesByNameDescending() {
  std::call_once(by_name_descending_once_, [&] {
    by_name_descending_.assign(TypesByName().rbegin(), TypesByName().rend());
  });
  return by_name_descending_;
}

const std::string& HeapSqlRows::Kind(uint32_t type) {
  std::call_once(kinds_once_, [&] {
    kinds_.reserve(graph_.type_count());
    for (uint32_t t = 0; t < graph_.type_count(); ++t) kinds_.push_back(ClassKind(graph_, t));
  });
  return kinds_[type];
}

SqlValue HeapSqlRows::ClassValue(uint32_t type, int column) {
  const TypeInfo& info = graph_.type_info(type);
  switch (column) {
    case kClassId: return SqlValue::Integer(type);
    case kClassName: return SqlValue::Text(info.name);
    case kClassSuperclassId:
      return info.superclass == kNoType ? SqlValue::Null() : SqlValue::Integer(info.superclass);
    case kClassKind: return SqlValue::Text(Kind(type));
    default: return SqlValue::Null();  // deobfuscated_name, location, classloader_id
  }
}

SqlValue HeapSqlRows::ObjectValue(uint32_t obj, int column) {
  switch (column) {
    case kObjectId: return SqlValue::Integer(obj);
    case kObjectUpid: return SqlValue::Integer(1);
    case kObjectGraphSampleTs: return SqlValue::Integer(ts_);
    case kObjectSelfSize: return SqlValue::Integer(static_cast<int64_t>(graph_.self_size(obj)));
    case kObjectNativeSize: return SqlValue::Integer(static_cast<int64_t>(graph_.native_size(obj)));
    case kObjectReferenceSetId:
      return graph_.references(obj).empty() ? SqlValue::Null()
                                             : SqlValue::Integer(static_cast<int64_t>(Begin(obj)));
    case kObjectReachable: return SqlValue::Integer(graph_.reachable(obj) ? 1 : 0);
    case kObjectTypeId: return SqlValue::Integer(graph_.type(obj));
    case kObjectRootType: {
      const std::optional<RootType> root = graph_.root_type(obj);
      return root.has_value() ? SqlValue::Text(RootTypeName(*root)) : SqlValue::Null();
    }
    case kObjectRootDistance: return SqlValue::Integer(Distance(obj));
    default: return SqlValue::Null();  // heap_type
  }
}

SqlValue HeapSqlRows::ReferenceValue(uint64_t row, uint32_t owner, uint64_t owner_begin,
                                     int column, SqlFieldNames* names) const {
  const Reference& ref = graph_.references(owner)[row - owner_begin];
  switch (column) {
    case kRefId: return SqlValue::Integer(static_cast<int64_t>(row));
    case kRefReferenceSetId: return SqlValue::Integer(static_cast<int64_t>(owner_begin));
    case kRefOwnerId: return SqlValue::Integer(owner);
    case kRefOwnedId: return SqlValue::Integer(ref.target);
    case kRefFieldName: return SqlValue::Text(names->Get(graph_, ref.field_name));
    case kRefFieldTypeName: return SqlValue::Text(graph_.field_type_name(ref));
    default: return SqlValue::Null();  // deobfuscated_field_name
  }
}

}  // namespace kiln::analysis
