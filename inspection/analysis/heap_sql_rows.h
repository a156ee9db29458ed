// HeapSqlRows (internal to the heap_sql library): the rows of Perfetto's
// heap_graph_class, heap_graph_object and heap_graph_reference over a
// HeapGraph, cell by cell, and the lookups the tables use (a reference's
// owner, the objects of a type, classes by name). One definition of every
// column's value, read by the virtual tables (heap_sql_vtab.cc) and by the
// database-file writer (heap_sql_file.cc), so the two cannot disagree.
//
//   HeapSqlRows rows(graph);
//   SqlValue v = rows.ObjectValue(obj, kObjectSelfSize);
#ifndef KILN_INSPECTION_ANALYSIS_HEAP_SQL_ROWS_H_
#define KILN_INSPECTION_ANALYSIS_HEAP_SQL_ROWS_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "inspection/analysis/heap_graph.h"
#include "inspection/analysis/sqlite_file_writer.h"  // SqlValue

namespace kiln::analysis {

enum class SqlTable { kClass, kObject, kReference };

// Columns, in the order and with the types of heap_sql.cc's CREATE TABLEs.
enum ClassColumn { kClassId, kClassName, kClassDeobfuscatedName, kClassLocation,
                   kClassSuperclassId, kClassClassloaderId, kClassKind, kClassColumns };
enum ObjectColumn { kObjectId, kObjectUpid, kObjectGraphSampleTs, kObjectSelfSize,
                    kObjectNativeSize, kObjectReferenceSetId, kObjectReachable, kObjectHeapType,
                    kObjectTypeId, kObjectRootType, kObjectRootDistance, kObjectColumns };
enum ReferenceColumn { kRefId, kRefReferenceSetId, kRefOwnerId, kRefOwnedId, kRefFieldName,
                       kRefFieldTypeName, kRefDeobfuscatedFieldName, kRefColumns };

// SqlFieldNames: heap_graph_reference.field_name's texts, each long one
// built once (HeapGraph::field_name makes a new string per call, which for
// a name past 15 bytes means an allocation per row). Not locked: one per
// reader (a cursor, the file writer). A returned view is valid until the
// next call.
class SqlFieldNames {
 public:
  absl::string_view Get(const HeapGraph& graph, uint32_t field_name);

 private:
  absl::flat_hash_map<uint32_t, std::string> long_names_;
  std::string last_;
};

class HeapSqlRows {
 public:
  explicit HeapSqlRows(const HeapGraph& graph);

  const HeapGraph& graph() const { return graph_; }
  uint32_t objects() const { return objects_; }
  uint64_t references() const { return references_; }
  int64_t ts() const { return ts_; }
  uint64_t Rows(SqlTable table) const;

  // Begin: the id of `obj`'s first reference (obj <= objects()).
  uint64_t Begin(uint32_t obj) const {
    if (!contiguous_) return begins_[obj];
    if (obj == objects_) return references_;
    return static_cast<uint64_t>(graph_.references(obj).data() - base_);
  }
  // OwnerOf: the object whose references include reference `ref`
  // (ref < references()).
  uint32_t OwnerOf(uint64_t ref) const;

  // Distance: heap_graph_object.root_distance (-1 unreachable), from the
  // shortest-path tree computed on first use.
  int64_t Distance(uint32_t obj);
  // ObjectsOfType: the objects of `type` in id order, from an index built on
  // first use (a counting sort: 4 bytes an object), since the graph keeps
  // none by type.
  absl::Span<const uint32_t> ObjectsOfType(uint32_t type);
  // TypesByName: the type indices by (name, index), as ORDER BY name, id
  // sorts them (names compare as BINARY does, bytewise), and backwards.
  const std::vector<uint32_t>& TypesByName();
  const std::vector<uint32_t>& TypesByNameDescending();
  // Kind: heap_graph_class.kind (ClassKind), worked out on first use.
  const std::string& Kind(uint32_t type);

  // The cells. A reference is `row` with its owner and the owner's first
  // reference id (Begin(owner)); its field_name comes from `names`.
  SqlValue ClassValue(uint32_t type, int column);
  SqlValue ObjectValue(uint32_t obj, int column);
  SqlValue ReferenceValue(uint64_t row, uint32_t owner, uint64_t owner_begin, int column,
                          SqlFieldNames* names) const;

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

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_HEAP_SQL_ROWS_H_
