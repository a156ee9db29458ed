// GraphBuilder's shards: with BuildOptions::threads above 1 the reader's
// pass is HprofReader::ParseSharded, and each range of heap dump
// sub-records is parsed on a worker into a Shard: the rows of its objects
// (class slots numbered in the shard), its roots, its CLASS_DUMPs, and per
// class what the serial pass keeps in a Slot. Merge, on the building
// thread and in file order, numbers the shard's classes in the graph in the
// order the shard met them (so slots come out in first-mention order, as
// serially), applies its CLASS_DUMPs in order (a repeated one fails with
// the serial pass's message), absorbs its slots and appends its rows. The
// graph is then the one a serial pass builds, row for row.
//
// What stays serial: the merge's appends (a copy per object into the
// graph's columns) and everything after the parse.
#include <memory>
#include <vector>

#include "base/status_macros.h"
#include "inspection/analysis/graph_builder.h"
#include "inspection/hprof/hprof_format.h"

namespace kiln::analysis {

class GraphBuilder::Shard : public HprofShard {
 public:
  explicit Shard(const GraphBuilder& builder)
      : b_(builder),
        base_(builder.reader_.data().data()),
        id_size_(builder.reader_.id_size()),
        counting_(builder.counting_) {}

  absl::Status OnRoot(uint8_t tag, uint64_t id, uint32_t thread_serial, int32_t depth,
                      uint32_t trace_serial) override {
    ++sub_record_counts_[tag];
    roots_.push_back(RawRoot{id, static_cast<RootType>(tag), thread_serial, depth, trace_serial});
    return absl::OkStatus();
  }
  absl::Status OnClassDump(const HprofClassDump& dump) override {
    ++sub_record_counts_[hprof::kClassDump];
    const uint32_t slot = SlotOf(dump.class_id);
    dumps_.push_back({slot, dump});
    if (!counting_) Row(dump.class_id, slot | kClassObjectFlag, b_.StaticBytes(dump), 0);
    return absl::OkStatus();
  }
  absl::Status OnInstance(uint64_t id, uint64_t class_id,
                          absl::Span<const uint8_t> values) override {
    ++sub_record_counts_[hprof::kInstanceDump];
    const uint32_t slot = SlotOf(class_id);
    const uint64_t offset = static_cast<uint64_t>(values.data() - base_);
    const auto bytes = static_cast<uint32_t>(values.size());
    slots_[slot].NoteInstance(id, offset, bytes, counting_);
    Add(id, slot, bytes, offset);
    return absl::OkStatus();
  }
  absl::Status OnObjectArray(uint64_t id, uint64_t class_id,
                             absl::Span<const uint64_t> elements) override {
    ++sub_record_counts_[hprof::kObjectArrayDump];
    const uint32_t slot = SlotOf(class_id);
    slots_[slot].NoteObjectArray(id, record_offset());
    // As GraphBuilder::OnObjectArray: the elements' offset.
    const uint64_t offset = record_offset() + 1 + 4 + 4 + 2 * uint64_t{id_size_};
    Add(id, slot, static_cast<uint32_t>(elements.size() * id_size_), offset);
    return absl::OkStatus();
  }
  absl::Status OnPrimitiveArray(uint64_t id, uint8_t type, uint32_t,
                                absl::Span<const uint8_t> elements) override {
    ++sub_record_counts_[hprof::kPrimitiveArrayDump];
    Add(id, kPrimitiveFlag | type, static_cast<uint32_t>(elements.size()),
        static_cast<uint64_t>(elements.data() - base_));
    return absl::OkStatus();
  }

 private:
  friend class GraphBuilder;

  uint32_t SlotOf(uint64_t class_id) {
    return SlotIn(class_id, slot_by_class_id_, slots_, last_class_id_, last_slot_);
  }
  void Add(uint64_t id, uint32_t raw, uint32_t size, uint64_t payload) {
    if (counting_) return CountObject(raw, size, slots_, primitive_counts_, primitive_bytes_);
    Row(id, raw, size, payload);
  }
  void Row(uint64_t id, uint32_t raw, uint32_t size, uint64_t payload) {
    ids_.push_back(id);
    raws_.push_back(raw);
    sizes_.push_back(size);
    payloads_.push_back(payload);
  }

  const GraphBuilder& b_;
  const uint8_t* const base_;
  const uint32_t id_size_;
  const bool counting_;
  absl::flat_hash_map<uint64_t, uint32_t> slot_by_class_id_;
  std::vector<Slot> slots_;
  uint64_t last_class_id_ = 0;
  uint32_t last_slot_ = 0;
  std::vector<std::pair<uint32_t, HprofClassDump>> dumps_;  // (shard slot, dump)
  std::vector<RawRoot> roots_;
  std::vector<uint64_t> ids_, payloads_;
  std::vector<uint32_t> raws_, sizes_;
  std::array<uint64_t, 256> sub_record_counts_{};
  std::array<uint64_t, 16> primitive_counts_{}, primitive_bytes_{};
};

absl::Status GraphBuilder::Parse() {
  if (options_.threads < 0 || options_.threads == 1) return reader_.Parse(*this);
  HprofShardOptions shards;
  shards.threads = options_.threads;
  shards.chunk_bytes = options_.parse_chunk_bytes;
  return reader_.ParseSharded(*this, *this, shards);
}

std::unique_ptr<HprofShard> GraphBuilder::NewShard() { return std::make_unique<Shard>(*this); }

absl::Status GraphBuilder::Merge(HprofShard& base, uint64_t end_offset) {
  Shard& shard = static_cast<Shard&>(base);
  std::vector<uint32_t> slots(shard.slots_.size());
  for (size_t i = 0; i < slots.size(); ++i) slots[i] = SlotOf(shard.slots_[i].class_id);
  for (const auto& [local, dump] : shard.dumps_) {
    const uint32_t slot = slots[local];
    absl::StatusOr<uint32_t> size = ApplyClassDump(slot, dump);
    if (!size.ok()) {
      return HprofAtRecord(size.status(), dump.offset, HprofSubRecordName(hprof::kClassDump));
    }
    if (counting_) {
      CountObject(slot | kClassObjectFlag, *size, slots_, primitive_counts_, primitive_bytes_);
    }
  }
  for (size_t i = 0; i < slots.size(); ++i) slots_[slots[i]].Absorb(shard.slots_[i]);
  for (size_t b = 0; b < primitive_counts_.size(); ++b) {
    primitive_counts_[b] += shard.primitive_counts_[b];
    primitive_bytes_[b] += shard.primitive_bytes_[b];
  }
  for (size_t tag = 0; tag < sub_record_counts_.size(); ++tag) {
    sub_record_counts_[tag] += shard.sub_record_counts_[tag];
  }
  roots_.insert(roots_.end(), shard.roots_.begin(), shard.roots_.end());
  for (size_t k = 0; k < shard.ids_.size(); ++k) {
    uint32_t raw = shard.raws_[k];
    if (!(raw & kPrimitiveFlag)) raw = (raw & kClassObjectFlag) | slots[raw & ~kClassObjectFlag];
    PushObject(shard.ids_[k], raw, shard.sizes_[k], shard.payloads_[k]);
  }
  Progress(reader_.data().data() + end_offset);
  return absl::OkStatus();
}

}  // namespace kiln::analysis
