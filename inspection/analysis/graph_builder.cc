// GraphBuilder: turns one HprofReader parse into a HeapGraph. One pass over
// the file records what each object is and where its bytes are; then objects
// are ordered by id, types named, references resolved into one CSR array
// (graph_references.cc), and reachability, native sizes and threads computed
// (graph_facts.cc).
// Classes may appear after their instances (record order is free in HPROF),
// which is why references are resolved only after the parse.
#include "inspection/analysis/graph_builder.h"

#include <algorithm>
#include <numeric>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "inspection/analysis/memory_trace.h"
#include "inspection/analysis/page_array.h"
#include "inspection/hprof/hprof_format.h"

namespace kiln::analysis {
namespace {

const char* PrimitiveName(char descriptor) {
  switch (descriptor) {
    case 'Z': return "boolean";
    case 'C': return "char";
    case 'F': return "float";
    case 'D': return "double";
    case 'B': return "byte";
    case 'S': return "short";
    case 'I': return "int";
    case 'J': return "long";
    default: return nullptr;
  }
}

char DescriptorOf(uint8_t basic_type) {
  switch (basic_type) {
    case hprof::kBoolean: return 'Z';
    case hprof::kChar: return 'C';
    case hprof::kFloat: return 'F';
    case hprof::kDouble: return 'D';
    case hprof::kByte: return 'B';
    case hprof::kShort: return 'S';
    case hprof::kInt: return 'I';
    case hprof::kLong: return 'J';
    default: return '?';
  }
}

}  // namespace

std::string JavaTypeName(absl::string_view hprof_name) {
  std::string name = absl::StrReplaceAll(hprof_name, {{"/", "."}});
  size_t dims = 0;
  while (dims < name.size() && name[dims] == '[') ++dims;
  if (dims == 0) return name;
  std::string element;
  absl::string_view rest = absl::string_view(name).substr(dims);
  if (rest.size() >= 2 && rest.front() == 'L' && rest.back() == ';') {
    element = std::string(rest.substr(1, rest.size() - 2));
  } else if (rest.size() == 1 && PrimitiveName(rest[0]) != nullptr) {
    element = PrimitiveName(rest[0]);
  } else {
    return name;  // not a descriptor: keep it as written
  }
  for (size_t i = 0; i < dims; ++i) element += "[]";
  return element;
}

GraphBuilder::GraphBuilder(HprofReader& reader, const BuildOptions& options, HeapGraph* graph)
    : reader_(reader), options_(options), graph_(graph), counting_(!options.objects) {}

// Progress: every 1% of the file, reports progress and evicts the bytes
// parsed so far (a mapped file's pages leave the resident set; what is read
// again, the instances' field values when references are resolved, comes
// back from the page cache, and leaves again behind ResolveReferences).
void GraphBuilder::Progress(const uint8_t* at) {
  const uint64_t done = static_cast<uint64_t>(at - reader_.data().data());
  if (done < next_progress_) return;
  next_progress_ = done + std::max<uint64_t>(reader_.size() / 100, 1);
  reader_.Evict(0, done);
  if (options_.progress) options_.progress(done, reader_.size());
}

uint32_t GraphBuilder::SlotIn(uint64_t class_id, absl::flat_hash_map<uint64_t, uint32_t>& by_id,
                              std::vector<Slot>& slots, uint64_t& last_id, uint32_t& last_slot) {
  if (class_id == last_id && !slots.empty()) return last_slot;
  auto [it, inserted] = by_id.try_emplace(class_id, slots.size());
  if (inserted) slots.push_back(Slot{.class_id = class_id});
  last_id = class_id;
  last_slot = it->second;
  return it->second;
}

uint32_t GraphBuilder::SlotOf(uint64_t class_id) {
  return SlotIn(class_id, slot_by_class_id_, slots_, last_class_id_, last_slot_);
}

void GraphBuilder::CountObject(uint32_t slot, uint32_t size, std::vector<Slot>& slots,
                               std::array<uint64_t, 16>& primitive_counts,
                               std::array<uint64_t, 16>& primitive_bytes) {
  if (slot & kPrimitiveFlag) {
    ++primitive_counts[slot & 0xF];
    primitive_bytes[slot & 0xF] += size;
  } else if (slot & kClassObjectFlag) {
    slots[slot & ~kClassObjectFlag].static_bytes = size;
  } else {
    ++slots[slot].count;
    slots[slot].payload += size;
  }
}

void GraphBuilder::AddObject(uint64_t id, uint32_t slot, uint32_t size, uint64_t payload) {
  if (counting_) return CountObject(slot, size, slots_, primitive_counts_, primitive_bytes_);
  PushObject(id, slot, size, payload);
}

void GraphBuilder::Slot::NoteInstance(uint64_t id, uint64_t offset, uint32_t bytes,
                                      bool counting) {
  if (first_instance_offset == 0) {
    first_instance_offset = offset;
    first_instance_id = id;
    first_instance_bytes = bytes;
  } else if (counting && odd_instance_offset == 0 && bytes != first_instance_bytes) {
    odd_instance_id = id;
    odd_instance_offset = offset;
    odd_instance_bytes = bytes;
  }
}

void GraphBuilder::Slot::NoteObjectArray(uint64_t id, uint64_t offset) {
  if (has_object_arrays) return;
  has_object_arrays = true;
  first_object_array = id;
  first_object_array_offset = offset;
}

// Absorb: the first instance is the earlier one; the odd one is the first
// after it whose bytes differ from it: `later`'s first if that differs,
// else `later`'s odd (which differs from its first, of the same bytes).
void GraphBuilder::Slot::Absorb(const Slot& later) {
  if (later.first_instance_offset != 0) {
    if (first_instance_offset == 0) {
      first_instance_offset = later.first_instance_offset;
      first_instance_id = later.first_instance_id;
      first_instance_bytes = later.first_instance_bytes;
      odd_instance_id = later.odd_instance_id;
      odd_instance_offset = later.odd_instance_offset;
      odd_instance_bytes = later.odd_instance_bytes;
    } else if (odd_instance_offset == 0) {
      if (later.first_instance_bytes != first_instance_bytes) {
        odd_instance_id = later.first_instance_id;
        odd_instance_offset = later.first_instance_offset;
        odd_instance_bytes = later.first_instance_bytes;
      } else {
        odd_instance_id = later.odd_instance_id;
        odd_instance_offset = later.odd_instance_offset;
        odd_instance_bytes = later.odd_instance_bytes;
      }
    }
  }
  if (later.has_object_arrays) NoteObjectArray(later.first_object_array,
                                               later.first_object_array_offset);
  count += later.count;
  payload += later.payload;
}

void GraphBuilder::PushObject(uint64_t id, uint32_t slot, uint32_t size, uint64_t payload) {
  HeapGraph& g = *graph_;
  g.ids_.Append(id);
  g.types_of_.push_back(slot);
  g.payload_bytes_.push_back(size);
  g.data_offsets_.Append(payload);
}

absl::Status GraphBuilder::OnString(uint64_t id, absl::string_view text) {
  ++record_counts_[hprof::kString];
  strings_[id] = std::string(text);
  return absl::OkStatus();
}

absl::Status GraphBuilder::OnLoadClass(uint32_t serial, uint64_t class_id, uint64_t name_id) {
  ++record_counts_[hprof::kLoadClass];
  slots_[SlotOf(class_id)].name_id = name_id;
  class_by_serial_[serial] = class_id;
  return absl::OkStatus();
}

absl::Status GraphBuilder::OnStackFrame(uint64_t frame_id, uint64_t method_name_id,
                                        uint64_t signature_id, uint64_t source_id,
                                        uint32_t class_serial, int32_t line) {
  ++record_counts_[hprof::kStackFrame];
  frames_[frame_id] = RawFrame{method_name_id, signature_id, source_id, class_serial, line};
  return absl::OkStatus();
}

absl::Status GraphBuilder::OnStackTrace(uint32_t serial, uint32_t thread_serial,
                                        absl::Span<const uint64_t> frame_ids) {
  ++record_counts_[hprof::kStackTrace];
  traces_[serial] = RawTrace{thread_serial, {frame_ids.begin(), frame_ids.end()}};
  return absl::OkStatus();
}

absl::Status GraphBuilder::OnRoot(uint8_t tag, uint64_t id, uint32_t thread_serial,
                                  int32_t depth, uint32_t trace_serial) {
  ++sub_record_counts_[tag];
  roots_.push_back(RawRoot{id, static_cast<RootType>(tag), thread_serial, depth, trace_serial});
  return absl::OkStatus();
}

absl::Status GraphBuilder::OnClassDump(const HprofClassDump& dump) {
  ++sub_record_counts_[hprof::kClassDump];
  const uint32_t slot = SlotOf(dump.class_id);
  ASSIGN_OR_RETURN(const uint32_t size, ApplyClassDump(slot, dump));
  AddObject(dump.class_id, slot | kClassObjectFlag, size, 0);
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> GraphBuilder::ApplyClassDump(uint32_t slot, const HprofClassDump& dump) {
  Slot& s = slots_[slot];
  if (s.dumped) {  // the reader adds this record's offset
    return absl::DataLossError(absl::StrFormat(
        "class 0x%x has a CLASS_DUMP at offset %d already", dump.class_id, s.dump_offset));
  }
  s.dumped = true;
  s.dump_offset = dump.offset;
  s.super_id = dump.super_id;
  s.instance_size = dump.instance_size;
  s.fields = dump.fields;
  s.statics = dump.statics;
  return StaticBytes(dump);
}

uint32_t GraphBuilder::StaticBytes(const HprofClassDump& dump) const {
  uint64_t size = 0;
  for (const HprofStaticInfo& info : dump.statics) size += FieldBytes(info.type);
  return static_cast<uint32_t>(size);
}

absl::Status GraphBuilder::OnInstance(uint64_t id, uint64_t class_id,
                                      absl::Span<const uint8_t> values) {
  ++sub_record_counts_[hprof::kInstanceDump];
  Progress(values.data());
  const uint32_t slot = SlotOf(class_id);
  const uint64_t offset = static_cast<uint64_t>(values.data() - reader_.data().data());
  slots_[slot].NoteInstance(id, offset, static_cast<uint32_t>(values.size()), counting_);
  AddObject(id, slot, static_cast<uint32_t>(values.size()), offset);
  return absl::OkStatus();
}

absl::Status GraphBuilder::OnObjectArray(uint64_t id, uint64_t class_id,
                                         absl::Span<const uint64_t> elements) {
  ++sub_record_counts_[hprof::kObjectArrayDump];
  const uint32_t slot = SlotOf(class_id);
  slots_[slot].NoteObjectArray(id, reader_.record_offset());
  // The elements are read again from the file when references are resolved:
  // after the tag, the array's id, stack serial, length and class id.
  const uint64_t offset = reader_.record_offset() + 1 + 4 + 4 + 2 * uint64_t{reader_.id_size()};
  Progress(reader_.data().data() + offset);
  AddObject(id, slot, static_cast<uint32_t>(elements.size() * reader_.id_size()), offset);
  return absl::OkStatus();
}

absl::Status GraphBuilder::OnPrimitiveArray(uint64_t id, uint8_t type, uint32_t length,
                                            absl::Span<const uint8_t> elements) {
  ++sub_record_counts_[hprof::kPrimitiveArrayDump];
  Progress(elements.data());
  AddObject(id, kPrimitiveFlag | type, static_cast<uint32_t>(elements.size()),
            static_cast<uint64_t>(elements.data() - reader_.data().data()));
  return absl::OkStatus();
}

uint32_t GraphBuilder::FieldBytes(uint8_t type) const {
  return type == hprof::kObject ? reader_.id_size()
                                : static_cast<uint32_t>(hprof::BasicTypeSize(type));
}

std::string GraphBuilder::StringOf(uint64_t id) const {
  const auto it = strings_.find(id);
  return it == strings_.end() ? std::string() : it->second;
}

uint32_t GraphBuilder::InternFieldName(std::string name) {
  auto [it, inserted] =
      graph_->field_name_ids_.try_emplace(name, graph_->field_names_.size());
  if (inserted) graph_->field_names_.push_back(std::move(name));
  return it->second;
}

// MakeTypes: one type per class slot (index = slot), one per primitive
// element type without a class in the file, one class-object type per
// CLASS_DUMP.
absl::Status GraphBuilder::MakeTypes() {
  std::vector<TypeInfo>& types = graph_->type_infos_;
  types.resize(slots_.size());
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    TypeInfo& t = types[i];
    t.hprof_name = s.name_id != 0 ? absl::StrReplaceAll(StringOf(s.name_id), {{"/", "."}})
                                  : std::string();
    if (t.hprof_name.empty()) t.hprof_name = absl::StrFormat("unknown class 0x%x", s.class_id);
    t.name = JavaTypeName(t.hprof_name);
    t.class_id = s.class_id;
    t.instance_size = s.instance_size;
    if (t.hprof_name[0] == '[') {
      const bool primitive = t.hprof_name.size() == 2 && PrimitiveName(t.hprof_name[1]);
      t.kind = primitive ? TypeKind::kPrimitiveArray : TypeKind::kObjectArray;
      if (primitive) {
        for (uint8_t b = hprof::kBoolean; b <= hprof::kLong; ++b) {
          if (DescriptorOf(b) == t.hprof_name[1]) t.element_type = b;
        }
      }
    }
    // A class the file never names takes its kind from its records.
    if (s.name_id == 0 && s.has_object_arrays && s.first_instance_offset == 0) {
      t.kind = TypeKind::kObjectArray;
    }
    if (s.first_instance_offset != 0 && t.kind != TypeKind::kInstance) {
      return absl::DataLossError(absl::StrFormat(
          "INSTANCE_DUMP with field values at offset %d is of class %s, an array class",
          s.first_instance_offset, t.hprof_name));
    }
    if (s.has_object_arrays && t.kind != TypeKind::kObjectArray) {
      return absl::DataLossError(absl::StrFormat(
          "HPROF offset %d: OBJ_ARRAY_DUMP of object 0x%x is of class %s, not an object-array "
          "class",
          s.first_object_array_offset, s.first_object_array, t.hprof_name));
    }
    for (const HprofFieldInfo& f : s.fields) t.fields.push_back({StringOf(f.name_id), f.type});
    for (const HprofStaticInfo& f : s.statics) t.statics.push_back({StringOf(f.name_id), f.type});
  }
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].super_id != 0) {
      const auto it = slot_by_class_id_.find(slots_[i].super_id);
      if (it != slot_by_class_id_.end()) types[i].superclass = it->second;
    }
  }
  // Every walk up a chain (layouts, field reads, IsSubtype, the SQL kinds)
  // relies on this: no loops, no chain deeper than kHprofMaxSuperclassDepth.
  std::vector<uint32_t> supers(slots_.size());
  for (uint32_t i = 0; i < slots_.size(); ++i) supers[i] = types[i].superclass;
  if (const std::optional<HprofBadChain> bad = FindBadSuperclassChain(supers)) {
    const Slot& s = slots_[bad->cls];
    return SuperclassChainError(*bad, s.dump_offset, s.class_id,
                                s.name_id != 0 ? types[bad->cls].hprof_name : std::string());
  }
  for (uint32_t i = 0; i < types.size(); ++i) {
    graph_->types_by_name_.try_emplace(types[i].name, i);
    graph_->types_by_name_.try_emplace(types[i].hprof_name, i);
  }
  // Primitive arrays: the file's "[I" class, else a type of our own.
  for (uint8_t b = hprof::kBoolean; b <= hprof::kLong; ++b) {
    const std::string hprof_name = std::string("[") + DescriptorOf(b);
    uint32_t t = graph_->FindType(hprof_name);
    if (t == kNoType) {
      t = static_cast<uint32_t>(types.size());
      TypeInfo info;
      info.hprof_name = hprof_name;
      info.name = JavaTypeName(hprof_name);
      info.kind = TypeKind::kPrimitiveArray;
      info.element_type = b;
      types.push_back(std::move(info));
      graph_->types_by_name_.try_emplace(types[t].name, t);
      graph_->types_by_name_.try_emplace(types[t].hprof_name, t);
    }
    primitive_types_[b] = t;
  }
  // Class objects: java.lang.Class<Name>, a subtype of java.lang.Class.
  const uint32_t class_type = graph_->FindType("java.lang.Class");
  class_object_types_.assign(slots_.size(), kNoType);
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].dumped) continue;
    TypeInfo info;
    info.name = absl::StrCat("java.lang.Class<", types[i].name, ">");
    info.kind = TypeKind::kClassObject;
    info.class_id = slots_[i].class_id;
    info.superclass = class_type;
    class_object_types_[i] = static_cast<uint32_t>(types.size());
    class_slot_.resize(types.size() + 1, kNoType);
    class_slot_[types.size()] = i;
    graph_->types_by_name_.try_emplace(info.name, types.size());
    types.push_back(std::move(info));
  }
  return absl::OkStatus();
}

uint32_t GraphBuilder::TypeOf(uint32_t raw) const {
  if (raw & kPrimitiveFlag) return primitive_types_[raw & 0xFF];
  if (raw & kClassObjectFlag) return class_object_types_[raw & ~kClassObjectFlag];
  return raw;
}

// OrderObjects sorts the objects by id (a no-op for Kiln's dumps, written
// in address order) and fills the per-object arrays and the id directory.
absl::Status GraphBuilder::OrderObjects() {
  HeapGraph& g = *graph_;
  const PackedColumn& ids = g.ids_;
  const size_t n = ids.size();
  if (n >= kArrayIndexBit) {
    return absl::ResourceExhaustedError(
        absl::StrCat("heap dump holds ", n, " objects; at most 2^31 supported"));
  }
  bool sorted = true;
  for (size_t i = 1; i < n && sorted; ++i) sorted = ids[i - 1] <= ids[i];
  if (!sorted) {
    std::vector<uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](uint32_t a, uint32_t b) { return ids[a] < ids[b]; });
    const auto permute = [&](auto& values) {
      std::remove_reference_t<decltype(values)> sorted(n);
      for (size_t i = 0; i < n; ++i) sorted[i] = values[order[i]];
      values = std::move(sorted);
    };
    g.ids_.Permute(order);
    permute(g.types_of_);
    permute(g.payload_bytes_);
    g.data_offsets_.Permute(order);
  }
  for (size_t i = 1; i < n; ++i) {
    if (ids[i] == ids[i - 1]) return DuplicateIdError(ids[i]);
  }
  for (size_t i = 0; i < n; ++i) {
    const uint32_t raw = g.types_of_[i];
    g.types_of_[i] = TypeOf(raw);
    if (raw & kClassObjectFlag) {
      g.type_infos_[raw & ~kClassObjectFlag].class_object = static_cast<uint32_t>(i);
    }
  }
  // Directory: about two objects per bucket.
  g.min_id_ = n == 0 ? 0 : ids[0];
  const uint64_t span = n == 0 ? 0 : ids[n - 1] - g.min_id_;
  g.id_shift_ = 0;
  while (g.id_shift_ < 63 && (span >> g.id_shift_) > n / 2 + 1) ++g.id_shift_;
  const uint64_t buckets = n == 0 ? 0 : (span >> g.id_shift_) + 1;
  g.id_directory_.assign(buckets + 1, 0);
  size_t at = 0;
  for (uint64_t b = 0; b <= buckets; ++b) {
    while (at < n && ((ids[at] - g.min_id_) >> g.id_shift_) < b) ++at;
    g.id_directory_[b] = static_cast<uint32_t>(at);
  }
  return absl::OkStatus();
}

namespace {

// RepeatFinder: a second parse that stops at the second record of object
// `id` (the reader prefixes the error with that record's offset), naming the
// first record's offset too.
class RepeatFinder : public HprofVisitor {
 public:
  RepeatFinder(const HprofReader& reader, uint64_t id) : reader_(reader), id_(id) {}
  absl::Status OnClassDump(const HprofClassDump& dump) override { return Saw(dump.class_id); }
  absl::Status OnInstance(uint64_t id, uint64_t, absl::Span<const uint8_t>) override {
    return Saw(id);
  }
  absl::Status OnObjectArray(uint64_t id, uint64_t, absl::Span<const uint64_t>) override {
    return Saw(id);
  }
  absl::Status OnPrimitiveArray(uint64_t id, uint8_t, uint32_t,
                                absl::Span<const uint8_t>) override {
    return Saw(id);
  }

 private:
  absl::Status Saw(uint64_t id) {
    if (id != id_) return absl::OkStatus();
    if (!first_.has_value()) {
      first_ = reader_.record_offset();
      return absl::OkStatus();
    }
    return absl::DataLossError(absl::StrFormat(
        "object id 0x%x appears twice: its first record is at offset %d", id, *first_));
  }
  const HprofReader& reader_;
  const uint64_t id_;
  std::optional<uint64_t> first_;
};

}  // namespace

// DuplicateIdError: OrderObjects finds a repeated id once the objects are
// sorted, when their records' offsets are no longer known; the error path
// parses the file again to find them.
absl::Status GraphBuilder::DuplicateIdError(uint64_t id) const {
  RepeatFinder finder(reader_, id);
  RETURN_IF_ERROR(reader_.Parse(finder));
  return absl::InternalError(absl::StrFormat("object id 0x%x: repeated, then not found", id));
}

absl::Status GraphBuilder::Build() {
  if (counting_) return BuildCounts();
  // Room for the most objects the file could hold (the smallest object
  // record is 14 bytes): reserved address space, never touched beyond what
  // the objects fill, so the arrays never move while they grow.
  // Ids and data offsets are 4 bytes each from the start where they fit
  // (PackedColumn); offsets are encoded from 0, so that they can be cleared.
  const size_t most = reader_.size() / 14 + 1;
  graph_->ids_.Reserve(most);
  graph_->types_of_.reserve(most);
  graph_->payload_bytes_.reserve(most);
  graph_->data_offsets_.Reserve(most);
  graph_->data_offsets_.Start(0, 0);
  TraceMemory("graph: parsing");  // the clock starts: "parsed" is the parse's time
  RETURN_IF_ERROR(Parse());
  TraceMemory("graph: parsed");
  graph_->data_ = reader_.data();
  graph_->id_size_ = reader_.id_size();
  RETURN_IF_ERROR(MakeTypes());
  RETURN_IF_ERROR(OrderObjects());
  TraceMemory("graph: objects ordered");
  MakeLayouts();
  ASSIGN_OR_RETURN(const uint64_t bound, CheckSizes());
  if (options_.references) {
    RETURN_IF_ERROR(ResolveReferences(bound));
    TraceMemory("graph: references resolved");
  } else {
    for (uint32_t i = 0; i < graph_->object_count(); ++i) {
      if (graph_->type_info(graph_->types_of_[i]).kind == TypeKind::kObjectArray) {
        graph_->data_offsets_.Set(i, 0);  // object arrays keep none
      }
    }
  }
  graph_->has_references_ = options_.references;
  graph_->has_objects_ = true;
  ReleaseStorage(layouts_);
  ComputeSizeRules();
  ResolveRoots();
  if (options_.references) ComputeReachability();
  ComputeNativeSizes();
  ResolveThreads();
  TotalObjects();
  Summarize();
  // The graph reads the dump's bytes again only for field values, on
  // demand: none stays resident.
  reader_.Evict(0, reader_.size());
  TraceMemory("graph: built");
  if (options_.progress) options_.progress(reader_.size(), reader_.size());
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<HeapGraph>> HeapGraph::Build(HprofReader& reader,
                                                            const BuildOptions& options) {
  std::unique_ptr<HeapGraph> graph(new HeapGraph());
  GraphBuilder builder(reader, options, graph.get());
  RETURN_IF_ERROR(builder.Build());
  return graph;
}

}  // namespace kiln::analysis
