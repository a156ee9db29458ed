// GraphBuilder, once the objects are ordered: where each class's reference
// fields are (MakeLayouts), whether every instance carries the bytes its class
// declares (CheckSizes), and every reference resolved into one CSR array
// (ResolveReferences).
#include "inspection/analysis/graph_builder.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "inspection/hprof/hprof_format.h"

namespace kiln::analysis {
namespace {

// LoadId: a big-endian id of `size` (4 or 8) bytes.
inline uint64_t LoadId(const uint8_t* p, uint32_t size) {
  if (size == 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return __builtin_bswap64(v);
  }
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}

}  // namespace

// MakeLayouts: for each instance type, where its reference fields are,
// with their interned names, and how many bytes of values its instances
// carry.
void GraphBuilder::MakeLayouts() {
  layouts_.assign(graph_->type_count(), Layout());
  for (uint32_t type = 0; type < graph_->type_count(); ++type) {
    if (graph_->type_infos_[type].kind != TypeKind::kInstance) continue;
    Layout& layout = layouts_[type];
    uint32_t offset = 0;
    for (uint32_t t = type; t != kNoType; t = graph_->type_infos_[t].superclass) {
      const TypeInfo& info = graph_->type_infos_[t];
      for (const FieldInfo& field : info.fields) {
        if (field.type == hprof::kObject) {
          layout.refs.push_back(
              {offset, InternFieldName(absl::StrCat(info.name, ".", field.name))});
        }
        offset += FieldBytes(field.type);
      }
    }
    layout.bytes = offset;
  }
}

// CheckSizes: every instance carries exactly the bytes of field values its
// class declares (so field reads stay inside it). Returns the most
// references the objects can hold (every non-null slot), so that
// ResolveReferences allocates the edge array once.
absl::StatusOr<uint64_t> GraphBuilder::CheckSizes() {
  const HeapGraph& g = *graph_;
  const uint32_t n = g.object_count();
  const uint32_t id_size = reader_.id_size();
  uint64_t bound = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const TypeInfo& t = g.type_infos_[g.types_of_[i]];
    if (t.kind == TypeKind::kInstance) {
      const Layout& layout = layouts_[g.types_of_[i]];
      if (layout.bytes != g.payload_bytes_[i]) {
        return absl::DataLossError(absl::StrFormat(
            "HPROF offset %d: INSTANCE_DUMP of object 0x%x holds %d bytes of field values; "
            "its class %s declares %d",
            g.data_offsets_[i], g.ids_[i], g.payload_bytes_[i], t.name, layout.bytes));
      }
      bound += layout.refs.size();
    } else if (t.kind == TypeKind::kObjectArray) {
      bound += g.payload_bytes_[i] / id_size;
    } else if (t.kind == TypeKind::kClassObject) {
      bound += slots_[class_slot_[g.types_of_[i]]].statics.size();
    }
  }
  return bound;
}

absl::Status GraphBuilder::ResolveReferences(uint64_t bound) {
  HeapGraph& g = *graph_;
  const uint32_t n = g.object_count();
  const uint32_t id_size = reader_.id_size();
  if (bound >= (uint64_t{1} << 32)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("heap dump holds ", bound, " references; at most 2^32 supported"));
  }
  g.edges_.reserve(bound);
  g.edge_begin_.resize(uint64_t{n} + 1);
  const auto add = [&](uint64_t target_id, uint32_t field) {
    if (target_id == 0) return;
    const uint32_t target = g.FindObject(target_id);
    if (target == kNoObject) {
      ++dangling_;
      return;
    }
    g.edges_.push_back(Reference{target, field});
  };
  // Field values are read in id order, for most dumps the file's order:
  // the bytes behind the furthest read leave the resident set every 1%.
  const uint64_t step = std::max<uint64_t>(g.data_.size() / 100, 1);
  uint64_t furthest = 0, evicted = 0;
  const auto bytes_at = [&](uint64_t offset) {
    furthest = std::max(furthest, offset);
    if (furthest >= evicted + step) {
      reader_.Evict(0, furthest);
      evicted = furthest;
    }
    return g.data_.data() + offset;
  };
  for (uint32_t i = 0; i < n; ++i) {
    g.edge_begin_[i] = static_cast<uint32_t>(g.edges_.size());
    const uint32_t type = g.types_of_[i];
    const TypeInfo& t = g.type_infos_[type];
    if (t.kind == TypeKind::kInstance) {
      const uint8_t* values = bytes_at(g.data_offsets_[i]);
      for (const auto& [offset, field] : layouts_[type].refs) {
        add(LoadId(values + offset, id_size), field);
      }
    } else if (t.kind == TypeKind::kObjectArray) {
      const uint8_t* elements = bytes_at(g.data_offsets_[i]);
      g.data_offsets_.Set(i, 0);  // object arrays keep none
      const uint32_t length = g.payload_bytes_[i] / id_size;
      for (uint32_t k = 0; k < length; ++k) {
        add(LoadId(elements + uint64_t{k} * id_size, id_size), kArrayIndexBit | k);
      }
    } else if (t.kind == TypeKind::kClassObject) {
      const uint32_t slot = class_slot_[type];
      const TypeInfo& cls = g.type_infos_[slot];
      for (size_t k = 0; k < slots_[slot].statics.size(); ++k) {
        const HprofStaticInfo& info = slots_[slot].statics[k];
        if (info.type != hprof::kObject) continue;
        add(info.value, InternFieldName(absl::StrCat(cls.name, ".", cls.statics[k].name)));
      }
    }
  }
  g.edge_begin_[n] = static_cast<uint32_t>(g.edges_.size());
  return absl::OkStatus();
}

}  // namespace kiln::analysis
