// HeapGraph's accessors: id lookup, field names, field values and strings
// read from the dump's bytes. Building the graph is graph_builder.cc.
#include "inspection/analysis/heap_graph.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "base/utf8.h"
#include "inspection/hprof/hprof_format.h"

namespace kiln::analysis {
namespace {

constexpr uint32_t kArrayIndexBit = uint32_t{1} << 31;

}  // namespace

const char* RootTypeName(RootType type) {
  // RootType's values are the HPROF tags, whose names Perfetto uses too.
  return HprofSubRecordName(static_cast<uint8_t>(type));
}

HeapGraph::~HeapGraph() = default;

absl::StatusOr<std::unique_ptr<HeapGraph>> HeapGraph::Load(const std::string& path,
                                                           const BuildOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<HprofReader> reader, HprofReader::Open(path));
  ASSIGN_OR_RETURN(std::unique_ptr<HeapGraph> graph, Build(*reader, options));
  graph->owned_reader_ = std::move(reader);
  return graph;
}

uint32_t HeapGraph::FindObject(uint64_t id) const {
  if (ids_.empty() || id < min_id_) return kNoObject;
  const uint64_t bucket = (id - min_id_) >> id_shift_;
  if (bucket + 1 >= id_directory_.size()) return kNoObject;
  // Binary search of [begin, end) in the bucket.
  uint32_t begin = id_directory_[bucket], end = id_directory_[bucket + 1];
  while (begin < end) {
    const uint32_t mid = begin + (end - begin) / 2;
    if (ids_[mid] < id) {
      begin = mid + 1;
    } else {
      end = mid;
    }
  }
  if (begin == id_directory_[bucket + 1] || ids_[begin] != id) return kNoObject;
  return begin;
}

uint64_t HeapGraph::native_size(uint32_t obj) const {
  const auto it = native_sizes_.find(obj);
  return it == native_sizes_.end() ? 0 : it->second;
}

std::optional<RootType> HeapGraph::root_type(uint32_t obj) const {
  const auto it = root_types_.find(obj);
  if (it == root_types_.end()) return std::nullopt;
  return it->second;
}

std::string HeapGraph::field_name(uint32_t field_name) const {
  if (field_name & kArrayIndexBit) return absl::StrCat("[", field_name & ~kArrayIndexBit, "]");
  KILN_CHECK(field_name < field_names_.size(), "field name ", field_name, " out of range");
  return field_names_[field_name];
}

std::optional<uint32_t> HeapGraph::FindFieldName(absl::string_view name) const {
  const auto it = field_name_ids_.find(name);
  if (it == field_name_ids_.end()) return std::nullopt;
  return it->second;
}

uint64_t HeapGraph::ReadValue(uint64_t offset, size_t size) const {
  KILN_CHECK(offset + size <= data_.size(), "value at ", offset, " past the dump's end");
  uint64_t value = 0;
  for (size_t i = 0; i < size; ++i) value = (value << 8) | data_[offset + i];
  return value;
}

std::optional<uint64_t> HeapGraph::FieldValue(uint32_t obj, absl::string_view name) const {
  uint32_t t = type(obj);
  if (type_info(t).kind != TypeKind::kInstance) return std::nullopt;
  uint64_t offset = data_offsets_[obj];
  const uint64_t end = offset + payload_bytes_[obj];
  for (; t != kNoType; t = type_info(t).superclass) {
    for (const FieldInfo& field : type_info(t).fields) {
      const size_t size =
          field.type == hprof::kObject ? id_size_ : hprof::BasicTypeSize(field.type);
      if (offset + size > end) return std::nullopt;
      if (field.name == name) return ReadValue(offset, size);
      offset += size;
    }
  }
  return std::nullopt;
}

uint32_t HeapGraph::FieldObject(uint32_t obj, absl::string_view name) const {
  const std::optional<uint64_t> value = FieldValue(obj, name);
  if (!value.has_value() || *value == 0) return kNoObject;
  return FindObject(*value);
}

std::optional<std::string> HeapGraph::StringValue(uint32_t obj) const {
  const uint32_t value = FieldObject(obj, "value");
  if (value == kNoObject) return std::nullopt;
  const TypeInfo& array = type_info(type(value));
  if (array.kind != TypeKind::kPrimitiveArray) return std::nullopt;
  const uint8_t* bytes = data_.data() + data_offsets_[value];
  const uint32_t size = payload_bytes_[value];
  std::u16string units;
  if (array.element_type == hprof::kChar) {  // the old char[] layout, big-endian
    for (uint32_t i = 0; i + 1 < size; i += 2) units.push_back((bytes[i] << 8) | bytes[i + 1]);
  } else if (array.element_type == hprof::kByte) {
    const std::optional<uint64_t> coder = FieldValue(obj, "coder");
    if (coder.value_or(0) == 0) {  // Latin-1
      std::string out;
      for (uint32_t i = 0; i < size; ++i) AppendUtf8(bytes[i], &out);
      return out;
    }
    for (uint32_t i = 0; i + 1 < size; i += 2) units.push_back(bytes[i] | (bytes[i + 1] << 8));
  } else {
    return std::nullopt;
  }
  return Utf16ToUtf8(units);
}

uint32_t HeapGraph::FindType(absl::string_view name) const {
  const auto it = types_by_name_.find(name);
  return it == types_by_name_.end() ? kNoType : it->second;
}

bool HeapGraph::IsSubtype(uint32_t type, uint32_t ancestor) const {
  for (; type != kNoType; type = type_info(type).superclass) {  // chains end: Build
    if (type == ancestor) return true;
  }
  return false;
}

}  // namespace kiln::analysis
