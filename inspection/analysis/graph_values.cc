// HeapGraph's readers of whole values for the viewer (kiln-heap serve): an
// instance's fields in order and a primitive array's elements, read from the
// dump's bytes like heap_graph.cc's single-field accessors.
#include "inspection/analysis/heap_graph.h"
#include "inspection/hprof/hprof_format.h"

namespace kiln::analysis {

std::vector<HeapGraph::FieldEntry> HeapGraph::InstanceFields(uint32_t obj) const {
  std::vector<FieldEntry> entries;
  uint32_t t = type(obj);
  if (type_info(t).kind != TypeKind::kInstance) return entries;
  uint64_t offset = data_offsets_[obj];
  // Bounded: a malformed file may make the superclass chain a cycle.
  for (uint32_t steps = 0; t != kNoType && steps <= type_count(); ++steps) {
    for (const FieldInfo& field : type_info(t).fields) {
      const size_t size =
          field.type == hprof::kObject ? id_size_ : hprof::BasicTypeSize(field.type);
      if (offset + size > data_.size()) return entries;
      entries.push_back({t, &field, ReadValue(offset, size)});
      offset += size;
    }
    t = type_info(t).superclass;
  }
  return entries;
}

absl::Span<const uint8_t> HeapGraph::PrimitiveArrayBytes(uint32_t obj) const {
  const TypeInfo& info = type_info(type(obj));
  if (info.kind != TypeKind::kPrimitiveArray) return {};
  // PRIM_ARRAY_DUMP: id, u4 stack serial, u4 length, u1 type, elements; the
  // graph keeps the offset of the elements.
  const uint64_t offset = data_offsets_[obj];
  if (offset < 5 || offset > data_.size()) return {};
  const uint64_t length = ReadValue(offset - 5, 4);
  const uint64_t bytes = length * hprof::BasicTypeSize(info.element_type);
  if (bytes > data_.size() - offset) return {};
  return data_.subspan(offset, bytes);
}

}  // namespace kiln::analysis
