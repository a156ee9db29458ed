// GraphBuilder's per-type totals: TotalObjects sums a built graph's objects;
// BuildCounts is the counting mode (BuildOptions::objects off), where the
// reader's pass keeps no row per object, only counts per class (Slot::count)
// and per primitive element type, and native sizes come from a second pass
// that keeps only the Cleaners, their thunks and registries (and a third
// for their referents), as a small graph that ComputeNativeSizes reads as
// it reads a whole one.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "inspection/analysis/graph_builder.h"
#include "inspection/analysis/memory_trace.h"
#include "inspection/analysis/page_array.h"

namespace kiln::analysis {

// Picker: a pass that keeps the rows of the objects `wanted` says, as the
// first pass would have (GraphBuilder::PushObject), evicting parsed bytes
// behind it.
class GraphBuilder::Picker : public HprofVisitor {
 public:
  // wanted(id, raw): raw is the first pass's raw type (GraphBuilder's flags).
  Picker(GraphBuilder& builder, std::function<bool(uint64_t, uint32_t)> wanted)
      : b_(builder), wanted_(std::move(wanted)) {}

  absl::Status OnClassDump(const HprofClassDump& dump) override {
    const uint32_t slot = b_.slot_by_class_id_.at(dump.class_id);
    Keep(dump.class_id, slot | kClassObjectFlag,
         static_cast<uint32_t>(b_.slots_[slot].static_bytes), 0);
    return absl::OkStatus();
  }
  absl::Status OnInstance(uint64_t id, uint64_t class_id,
                          absl::Span<const uint8_t> values) override {
    Evict(values.data());
    Keep(id, b_.slot_by_class_id_.at(class_id), static_cast<uint32_t>(values.size()),
         static_cast<uint64_t>(values.data() - b_.reader_.data().data()));
    return absl::OkStatus();
  }
  absl::Status OnObjectArray(uint64_t id, uint64_t class_id,
                             absl::Span<const uint64_t> elements) override {
    // Native sizes never read an array's elements: offset 0.
    Keep(id, b_.slot_by_class_id_.at(class_id),
         static_cast<uint32_t>(elements.size() * b_.reader_.id_size()), 0);
    return absl::OkStatus();
  }
  absl::Status OnPrimitiveArray(uint64_t id, uint8_t type, uint32_t,
                                absl::Span<const uint8_t> elements) override {
    Evict(elements.data());
    Keep(id, kPrimitiveFlag | type, static_cast<uint32_t>(elements.size()),
         static_cast<uint64_t>(elements.data() - b_.reader_.data().data()));
    return absl::OkStatus();
  }

 private:
  void Keep(uint64_t id, uint32_t raw, uint32_t size, uint64_t payload) {
    if (wanted_(id, raw)) b_.PushObject(id, raw, size, payload);
  }
  void Evict(const uint8_t* at) {
    const uint64_t done = static_cast<uint64_t>(at - b_.reader_.data().data());
    if (done < next_evict_) return;
    next_evict_ = done + std::max<uint64_t>(b_.reader_.size() / 100, 1);
    b_.reader_.Evict(0, done);
  }

  GraphBuilder& b_;
  const std::function<bool(uint64_t, uint32_t)> wanted_;
  uint64_t next_evict_ = 0;
};

void GraphBuilder::TotalObjects() {
  HeapGraph& g = *graph_;
  g.type_totals_.assign(g.type_count(), TypeTotals());
  for (uint32_t obj = 0; obj < g.object_count(); ++obj) {
    TypeTotals& totals = g.type_totals_[g.types_of_[obj]];
    ++totals.count;
    totals.self_bytes += g.self_size(obj);
  }
  for (const auto& [obj, size] : g.native_sizes_)
    g.type_totals_[g.types_of_[obj]].native_bytes += size;
}

// CheckCounts: CheckSizes without the objects: each class's first instance,
// and the first whose field bytes differ from it, against its layout.
absl::Status GraphBuilder::CheckCounts() const {
  for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
    const Slot& s = slots_[slot];
    if (s.first_instance_offset == 0) continue;
    const uint32_t declared = layouts_[slot].bytes;
    uint64_t id = s.first_instance_id, offset = s.first_instance_offset;
    uint32_t bytes = s.first_instance_bytes;
    if (bytes == declared) {
      if (s.odd_instance_offset == 0) continue;
      id = s.odd_instance_id;
      offset = s.odd_instance_offset;
      bytes = s.odd_instance_bytes;
    }
    return absl::DataLossError(
        absl::StrFormat("HPROF offset %d: INSTANCE_DUMP of object 0x%x holds %d bytes of field "
                        "values; "
                        "its class %s declares %d",
                        offset, id, bytes, graph_->type_infos_[slot].name, declared));
  }
  return absl::OkStatus();
}

absl::Status GraphBuilder::BuildCounts() {
  HeapGraph& g = *graph_;
  TraceMemory("graph: parsing (counts)");
  RETURN_IF_ERROR(Parse());
  TraceMemory("graph: parsed");
  g.data_ = reader_.data();
  g.id_size_ = reader_.id_size();
  RETURN_IF_ERROR(MakeTypes());
  MakeLayouts();
  RETURN_IF_ERROR(CheckCounts());
  ComputeSizeRules();
  g.type_totals_.assign(g.type_count(), TypeTotals());
  const auto add = [&](uint32_t type, uint64_t count, uint64_t payload) {
    const HeapGraph::SizeRule& rule = g.size_rules_[type];
    TypeTotals& totals = g.type_totals_[type];
    totals.count += count;
    totals.self_bytes += rule.fixed * count + (rule.adds_payload ? payload : 0);
  };
  for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
    if (slots_[slot].count != 0) add(slot, slots_[slot].count, slots_[slot].payload);
    if (slots_[slot].dumped) add(class_object_types_[slot], 1, slots_[slot].static_bytes);
  }
  for (uint8_t b = 0; b < primitive_counts_.size(); ++b) {
    if (primitive_counts_[b] != 0)
      add(primitive_types_[b], primitive_counts_[b], primitive_bytes_[b]);
  }
  RETURN_IF_ERROR(CountNativeSizes());
  TraceMemory("graph: native sizes counted");
  Summarize();
  if (options_.progress) options_.progress(reader_.size(), reader_.size());
  return absl::OkStatus();
}

// CountNativeSizes: the objects ComputeNativeSizes reads (the instances of
// the Cleaner, thunk and registry classes, then the Cleaners' referents) as
// a graph of their own, then only the totals are kept.
absl::Status GraphBuilder::CountNativeSizes() {
  HeapGraph& g = *graph_;
  const uint32_t cleaner = g.FindType("sun.misc.Cleaner");
  const uint32_t thunk = g.FindType("libcore.util.NativeAllocationRegistry$CleanerThunk");
  const uint32_t registry = g.FindType("libcore.util.NativeAllocationRegistry");
  if (cleaner == kNoType || thunk == kNoType || registry == kNoType) return absl::OkStatus();
  std::vector<bool> involved(slots_.size());
  bool any = false;
  for (uint32_t t = 0; t < slots_.size(); ++t) {
    involved[t] = g.type_infos_[t].kind == TypeKind::kInstance && slots_[t].count != 0 &&
                  (g.IsSubtype(t, cleaner) || g.IsSubtype(t, thunk) || g.IsSubtype(t, registry));
    any = any || (involved[t] && g.IsSubtype(t, cleaner));
  }
  if (!any) return absl::OkStatus();
  const auto is_instance = [](uint32_t raw) {
    return (raw & (kPrimitiveFlag | kClassObjectFlag)) == 0;
  };
  Picker involved_objects(*this, [&](uint64_t, uint32_t raw) {
    return is_instance(raw) && involved[raw] && g.type_infos_[raw].kind == TypeKind::kInstance;
  });
  RETURN_IF_ERROR(reader_.Parse(involved_objects));
  absl::flat_hash_set<uint64_t> kept, referents;
  for (uint32_t obj = 0; obj < g.object_count(); ++obj) kept.insert(g.ids_[obj]);
  for (uint32_t obj = 0; obj < g.object_count(); ++obj) {
    if (!g.IsSubtype(g.types_of_[obj], cleaner)) continue;
    const std::optional<uint64_t> referent = g.FieldValue(obj, "referent");
    if (referent.value_or(0) != 0 && !kept.contains(*referent)) referents.insert(*referent);
  }
  if (!referents.empty()) {
    Picker referent_objects(*this, [&](uint64_t id, uint32_t) { return referents.contains(id); });
    RETURN_IF_ERROR(reader_.Parse(referent_objects));
  }
  RETURN_IF_ERROR(OrderObjects());
  ComputeNativeSizes();
  for (const auto& [obj, size] : g.native_sizes_)
    g.type_totals_[g.types_of_[obj]].native_bytes += size;
  // Only the totals stay: the graph has no objects.
  g.native_sizes_.clear();
  g.ids_.Clear();
  ReleaseStorage(g.types_of_);
  ReleaseStorage(g.payload_bytes_);
  g.data_offsets_.Clear();
  ReleaseStorage(g.id_directory_);
  for (TypeInfo& info : g.type_infos_) info.class_object = kNoObject;
  return absl::OkStatus();
}

}  // namespace kiln::analysis
