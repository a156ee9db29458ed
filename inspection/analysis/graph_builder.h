// GraphBuilder (internal to HeapGraph::Build): the HprofVisitor that records
// a dump's objects in one pass, and the steps that turn them into a
// HeapGraph. graph_builder.cc: parse, types, object order, references;
// graph_facts.cc: roots, reachability, native sizes, threads, summary;
// graph_shards.cc: the shards of a parallel parse (BuildOptions::threads).
#ifndef KILN_INSPECTION_ANALYSIS_GRAPH_BUILDER_H_
#define KILN_INSPECTION_ANALYSIS_GRAPH_BUILDER_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "base/must_use.h"
#include "inspection/analysis/heap_graph.h"
#include "inspection/hprof/hprof_reader.h"

namespace kiln::analysis {

// JavaTypeName: Perfetto's spelling of an HPROF class name: "[I" -> "int[]",
// "[Ljava/lang/Object;" -> "java.lang.Object[]", "java/lang/String" ->
// "java.lang.String".
std::string JavaTypeName(absl::string_view hprof_name);

class GraphBuilder : public HprofVisitor, public HprofSharding {
 public:
  GraphBuilder(HprofReader& reader, const BuildOptions& options, HeapGraph* graph);
  KILN_MUST_USE absl::Status Build();

  KILN_MUST_USE absl::Status OnString(uint64_t id, absl::string_view text) override;
  KILN_MUST_USE absl::Status OnLoadClass(uint32_t serial, uint64_t class_id,
                                         uint64_t name_id) override;
  KILN_MUST_USE absl::Status OnStackFrame(uint64_t frame_id, uint64_t method_name_id,
                                          uint64_t signature_id, uint64_t source_id,
                                          uint32_t class_serial, int32_t line) override;
  KILN_MUST_USE absl::Status OnStackTrace(uint32_t serial, uint32_t thread_serial,
                                          absl::Span<const uint64_t> frame_ids) override;
  KILN_MUST_USE absl::Status OnRoot(uint8_t tag, uint64_t id, uint32_t thread_serial, int32_t depth,
                                    uint32_t trace_serial) override;
  KILN_MUST_USE absl::Status OnClassDump(const HprofClassDump& dump) override;
  KILN_MUST_USE absl::Status OnInstance(uint64_t id, uint64_t class_id,
                                        absl::Span<const uint8_t> values) override;
  KILN_MUST_USE absl::Status OnObjectArray(uint64_t id, uint64_t class_id,
                                           absl::Span<const uint64_t> elements) override;
  KILN_MUST_USE absl::Status OnPrimitiveArray(uint64_t id, uint8_t type, uint32_t length,
                                              absl::Span<const uint8_t> elements) override;
  // HprofSharding (graph_shards.cc).
  std::unique_ptr<HprofShard> NewShard() override;
  KILN_MUST_USE absl::Status Merge(HprofShard& shard, uint64_t end_offset) override;

 private:
  // During the parse an object's type (HeapGraph::types_of_) holds a class
  // slot (instances, object arrays), kPrimitiveFlag | the element type, or
  // kClassObjectFlag | the class's slot; OrderObjects turns it into a type.
  // data_offsets_ holds, for object arrays, the offset of the elements in
  // the file until ResolveReferences has read them (then 0).
  static constexpr uint32_t kPrimitiveFlag = uint32_t{1} << 31;
  // A reference's field_name with this bit set is an array index.
  static constexpr uint32_t kArrayIndexBit = uint32_t{1} << 31;
  static constexpr uint32_t kClassObjectFlag = uint32_t{1} << 30;

  // Slot: one class id seen anywhere (LOAD_CLASS, CLASS_DUMP, an object's class).
  struct Slot {
    uint64_t class_id = 0;
    uint64_t name_id = 0;
    uint64_t super_id = 0;
    uint32_t instance_size = 0;
    bool dumped = false;
    uint64_t dump_offset = 0;  // of the CLASS_DUMP
    // The first INSTANCE_DUMP (offset of its field values; 0: none) and the
    // first OBJ_ARRAY_DUMP (its object id and record offset) of this class,
    // so MakeTypes can reject a record whose class is of the other kind.
    uint64_t first_instance_offset = 0;
    uint64_t first_object_array = 0;
    uint64_t first_object_array_offset = 0;
    bool has_object_arrays = false;
    // Counting (BuildOptions::objects off): this class's instances or
    // object arrays, and the bytes their records carry; the first instance
    // (id and field bytes) and the first whose field bytes differ from it,
    // for CheckCounts.
    uint64_t count = 0, payload = 0;
    uint64_t static_bytes = 0;  // of its class object (when dumped)
    uint64_t first_instance_id = 0, odd_instance_id = 0, odd_instance_offset = 0;
    uint32_t first_instance_bytes = 0, odd_instance_bytes = 0;
    std::vector<HprofFieldInfo> fields;
    std::vector<HprofStaticInfo> statics;

    // NoteInstance, NoteObjectArray: what a record of this class tells
    // (first and odd instances, counts); Absorb: what `later`, the same
    // class's slot in a shard further on in the file, adds to this one.
    void NoteInstance(uint64_t id, uint64_t offset, uint32_t bytes, bool counting);
    void NoteObjectArray(uint64_t id, uint64_t offset);
    void Absorb(const Slot& later);
  };
  struct RawRoot {
    uint64_t id;
    RootType type;
    uint32_t thread_serial;
    int32_t depth;
    uint32_t trace_serial;
  };
  struct RawFrame {
    uint64_t method_id, signature_id, source_id;
    uint32_t class_serial;
    int32_t line;
  };
  struct RawTrace {
    uint32_t thread_serial;
    std::vector<uint64_t> frame_ids;
  };
  struct Layout {
    std::vector<std::pair<uint32_t, uint32_t>> refs;  // (byte offset, field name)
    uint32_t bytes = 0;
  };

  class Picker;  // graph_totals.cc
  friend class Picker;
  class Shard;  // graph_shards.cc
  friend class Shard;

  // Parse: the reader's pass over the file, sharded over options_.threads.
  KILN_MUST_USE absl::Status Parse();
  // ApplyClassDump: a CLASS_DUMP's facts into its slot; the size of its
  // class object (the static values' bytes).
  KILN_MUST_USE absl::StatusOr<uint32_t> ApplyClassDump(uint32_t slot, const HprofClassDump& dump);
  // CountObject: counting mode's AddObject.
  static void CountObject(uint32_t slot, uint32_t size, std::vector<Slot>& slots,
                          std::array<uint64_t, 16>& primitive_counts,
                          std::array<uint64_t, 16>& primitive_bytes);

  void Progress(const uint8_t* at);
  // PushObject: the object's row in the graph's per-object columns.
  void PushObject(uint64_t id, uint32_t raw, uint32_t size, uint64_t payload);
  uint32_t SlotOf(uint64_t class_id);
  // SlotIn: the slot of `class_id` in `slots` (indexed by `by_id`), added
  // if new; last_id and last_slot cache the last answer (runs of one class).
  static uint32_t SlotIn(uint64_t class_id, absl::flat_hash_map<uint64_t, uint32_t>& by_id,
                         std::vector<Slot>& slots, uint64_t& last_id, uint32_t& last_slot);
  void AddObject(uint64_t id, uint32_t slot, uint32_t size, uint64_t payload);
  uint32_t FieldBytes(uint8_t type) const;
  uint32_t StaticBytes(const HprofClassDump& dump) const;
  std::string StringOf(uint64_t id) const;
  uint32_t InternFieldName(std::string name);
  uint32_t TypeOf(uint32_t raw) const;
  void MakeLayouts();

  KILN_MUST_USE absl::Status MakeTypes();
  KILN_MUST_USE absl::Status OrderObjects();
  KILN_MUST_USE absl::Status DuplicateIdError(uint64_t id) const;
  KILN_MUST_USE absl::StatusOr<uint64_t> CheckSizes();
  KILN_MUST_USE absl::Status ResolveReferences(uint64_t bound);
  // graph_totals.cc: counting mode, and the per-type totals of both modes.
  KILN_MUST_USE absl::Status BuildCounts();
  KILN_MUST_USE absl::Status CheckCounts() const;
  KILN_MUST_USE absl::Status CountNativeSizes();
  void TotalObjects();
  // graph_facts.cc
  void ComputeSizeRules();
  void ResolveRoots();
  void ComputeReachability();
  void ComputeNativeSizes();
  void ResolveThreads();
  void Summarize();

  HprofReader& reader_;
  const BuildOptions& options_;
  HeapGraph* const graph_;
  uint64_t next_progress_ = 0;

  absl::flat_hash_map<uint64_t, std::string> strings_;
  absl::flat_hash_map<uint64_t, uint32_t> slot_by_class_id_;
  std::vector<Slot> slots_;
  absl::flat_hash_map<uint32_t, uint64_t> class_by_serial_;
  absl::flat_hash_map<uint64_t, RawFrame> frames_;
  absl::flat_hash_map<uint32_t, RawTrace> traces_;
  std::vector<RawRoot> roots_;
  // Record counts: top-level by tag, heap sub-records by tag.
  std::array<uint64_t, 256> record_counts_{};
  std::array<uint64_t, 256> sub_record_counts_{};
  uint64_t last_class_id_ = 0;  // SlotOf's one-entry cache: runs of one class
  uint32_t last_slot_ = 0;

  std::array<uint32_t, 16> primitive_types_{};
  std::vector<uint32_t> class_object_types_;  // by slot
  std::vector<uint32_t> class_slot_;          // by type: the slot of a class object's class
  std::vector<Layout> layouts_;               // by type (instance types)
  uint64_t dangling_ = 0;
  // Counting mode: no per-object rows during the first pass, only counts
  // (Slot::count, primitive_counts_); primitive arrays by element type.
  const bool counting_;
  std::array<uint64_t, 16> primitive_counts_{}, primitive_bytes_{};
};

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_GRAPH_BUILDER_H_
