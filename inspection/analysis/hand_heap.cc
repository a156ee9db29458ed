// HandHeap: small HPROF files for the graph-algorithm tests, written with
// Kiln's own HprofWriter into memory.
#include "inspection/analysis/hand_heap.h"

#include "absl/container/flat_hash_map.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "inspection/hprof/byte_sink.h"
#include "inspection/hprof/hprof_format.h"
#include "inspection/hprof/hprof_writer.h"

namespace kiln::analysis {

uint32_t HandGraph::Index(uint64_t id) const {
  const uint32_t index = graph->FindObject(id);
  KILN_CHECK(index != kNoObject, "no object ", id);
  return index;
}

HandHeap::HandHeap() {
  object_class_ = Class("java.lang.Object", {});
  const uint64_t reference = Class("java.lang.ref.Reference", {{"referent", hprof::kObject}});
  weak_class_ = Class("java.lang.ref.WeakReference", {}, reference);
  object_array_class_ = Class("[Ljava.lang.Object;", {});
}

uint64_t HandHeap::Class(const std::string& name, const Fields& fields, uint64_t super_id,
                         const std::vector<Static>& statics) {
  const uint64_t id = next_id_++;
  if (super_id == 0) super_id = object_class_;  // 0 for Object itself
  classes_.push_back(ClassDef{id, name, super_id, fields, statics});
  return id;
}

uint64_t HandHeap::Instance(uint64_t class_id, const std::vector<uint64_t>& values) {
  const uint64_t id = next_id_++;
  objects_.push_back(Object{id, class_id, values, hprof::kInstanceDump, 0, 0});
  return id;
}

uint64_t HandHeap::ObjectArray(const std::vector<uint64_t>& elements, uint64_t class_id) {
  const uint64_t id = next_id_++;
  objects_.push_back(Object{id, class_id != 0 ? class_id : object_array_class_, elements,
                            hprof::kObjectArrayDump, 0, static_cast<uint32_t>(elements.size())});
  return id;
}

uint64_t HandHeap::PrimitiveArray(uint8_t type, uint32_t length) {
  const uint64_t id = next_id_++;
  objects_.push_back(Object{id, 0, {}, hprof::kPrimitiveArrayDump, type, length});
  return id;
}

void HandHeap::Root(RootType type, uint64_t id) { roots_.emplace_back(type, id); }

void HandHeap::SetSuperclass(uint64_t class_id, uint64_t super_id) {
  for (ClassDef& c : classes_) {
    if (c.id == class_id) c.super_id = super_id;
  }
}

void HandHeap::Repeat(uint64_t id) {
  for (size_t i = 0, n = classes_.size(); i < n; ++i) {
    if (classes_[i].id == id) classes_.push_back(classes_[i]);
  }
  for (size_t i = 0, n = objects_.size(); i < n; ++i) {
    if (objects_[i].id == id) objects_.push_back(objects_[i]);
  }
}

absl::StatusOr<HandGraph> HandHeap::Build() const {
  ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, Bytes());
  HandGraph graph;
  graph.reader = HprofReader::FromBytes(std::move(bytes));
  ASSIGN_OR_RETURN(graph.graph, HeapGraph::Build(*graph.reader, {}));
  return graph;
}

absl::StatusOr<std::vector<uint8_t>> HandHeap::Bytes() const {
  MemorySink sink;
  HprofWriter w(&sink);
  w.WriteHeader(1234);
  uint64_t string_id = 1;
  const auto string = [&](const std::string& text) {
    w.BeginRecord(hprof::kString);
    w.Id(string_id);
    w.Bytes(text);
    w.EndRecord();
    return string_id++;
  };
  // The primitive array classes, as real dumps have them.
  std::vector<ClassDef> classes = classes_;
  uint64_t class_id = 0x100;
  for (const char* name : {"[Z", "[C", "[F", "[D", "[B", "[S", "[I", "[J"}) {
    classes.push_back(ClassDef{class_id++, name, object_class_, {}, {}});
  }
  uint32_t serial = 1;
  for (const ClassDef& c : classes) {
    const uint64_t name = string(c.name);
    w.BeginRecord(hprof::kLoadClass);
    w.U4(serial++);
    w.Id(c.id);
    w.U4(hprof::kEmptyTraceSerial);
    w.Id(name);
    w.EndRecord();
  }
  const auto value_size = [](uint8_t type) { return hprof::BasicTypeSize(type); };
  const auto put = [&](uint64_t value, size_t bytes) {
    for (size_t b = bytes; b-- > 0;) w.U1(static_cast<uint8_t>(value >> (8 * b)));
  };
  // Every STRING before the heap dump: no record may sit inside a segment.
  std::vector<std::vector<uint64_t>> static_name_ids, field_name_ids;
  for (const ClassDef& c : classes) {
    static_name_ids.emplace_back();
    field_name_ids.emplace_back();
    for (const Static& s : c.statics) static_name_ids.back().push_back(string(s.name));
    for (const auto& f : c.fields) field_name_ids.back().push_back(string(f.first));
  }
  // Classes by id (the last of a repeated id, as a reader that keeps the
  // later record would see it): the walks below stay linear in the chain.
  absl::flat_hash_map<uint64_t, const ClassDef*> class_by_id;
  for (const ClassDef& c : classes) class_by_id.insert_or_assign(c.id, &c);
  const auto find_class = [&](uint64_t id) -> const ClassDef* {
    const auto it = class_by_id.find(id);
    return it == class_by_id.end() ? nullptr : it->second;
  };
  // Instance sizes as Kiln declares them: a 16-byte header plus the field
  // bytes of the class and its superclasses (no alignment, to keep sums easy).
  // A chain a test made loop (SetSuperclass) is walked once round.
  const auto instance_size = [&](const ClassDef& leaf) {
    uint32_t size = 16;
    size_t steps = 0;
    for (const ClassDef* c = &leaf; c != nullptr && steps++ < classes.size();) {
      for (const auto& f : c->fields) size += static_cast<uint32_t>(value_size(f.second));
      c = c->super_id == 0 ? nullptr : find_class(c->super_id);
    }
    return size;
  };
  for (size_t k = 0; k < classes.size(); ++k) {
    const ClassDef& c = classes[k];
    const std::vector<uint64_t>& static_names = static_name_ids[k];
    const std::vector<uint64_t>& field_names = field_name_ids[k];
    size_t size = 1 + 8 + 4 + 6 * 8 + 4 + 2 + 2 + 2 + 9 * c.fields.size();
    for (const Static& s : c.statics) size += 8 + 1 + value_size(s.type);
    w.BeginSubRecord(hprof::kClassDump, size);
    w.Id(c.id);
    w.U4(hprof::kEmptyTraceSerial);
    w.Id(c.super_id);
    for (int i = 0; i < 5; ++i) w.Id(0);  // loader, signers, domain, reserved x2
    w.U4(instance_size(c));
    w.U2(0);
    w.U2(static_cast<uint16_t>(c.statics.size()));
    for (size_t i = 0; i < c.statics.size(); ++i) {
      w.Id(static_names[i]);
      w.U1(c.statics[i].type);
      put(c.statics[i].value, value_size(c.statics[i].type));
    }
    w.U2(static_cast<uint16_t>(c.fields.size()));
    for (size_t i = 0; i < c.fields.size(); ++i) {
      w.Id(field_names[i]);
      w.U1(c.fields[i].second);
    }
  }
  // The field types of a class and its superclasses, in HPROF order.
  const auto layout = [&](uint64_t id) {
    std::vector<uint8_t> types;
    while (id != 0) {
      const ClassDef* def = find_class(id);
      KILN_CHECK(def != nullptr, "no class ", id);
      for (const auto& f : def->fields) types.push_back(f.second);
      id = def->super_id;
    }
    return types;
  };
  for (const Object& o : objects_) {
    if (o.kind == hprof::kInstanceDump) {
      const std::vector<uint8_t> types = layout(o.class_id);
      KILN_CHECK(types.size() == o.values.size(), "instance ", o.id, ": ", types.size(),
                 " fields, ", o.values.size(), " values");
      size_t bytes = 0;
      for (const uint8_t t : types) bytes += value_size(t);
      w.BeginSubRecord(hprof::kInstanceDump, 1 + 8 + 4 + 8 + 4 + bytes);
      w.Id(o.id);
      w.U4(hprof::kEmptyTraceSerial);
      w.Id(o.class_id);
      w.U4(static_cast<uint32_t>(bytes));
      for (size_t i = 0; i < types.size(); ++i) put(o.values[i], value_size(types[i]));
    } else if (o.kind == hprof::kObjectArrayDump) {
      w.BeginSubRecord(hprof::kObjectArrayDump, 1 + 8 + 4 + 4 + 8 + 8 * o.length);
      w.Id(o.id);
      w.U4(hprof::kEmptyTraceSerial);
      w.U4(o.length);
      w.Id(o.class_id);
      for (const uint64_t e : o.values) w.Id(e);
    } else {
      const size_t bytes = size_t{o.length} * value_size(o.element_type);
      w.BeginSubRecord(hprof::kPrimitiveArrayDump, 1 + 8 + 4 + 4 + 1 + bytes);
      w.Id(o.id);
      w.U4(hprof::kEmptyTraceSerial);
      w.U4(o.length);
      w.U1(o.element_type);
      for (size_t i = 0; i < bytes; ++i) w.U1(0);
    }
  }
  for (const auto& [type, id] : roots_) {
    switch (type) {
      case RootType::kJniGlobal:
        w.BeginSubRecord(hprof::kRootJniGlobal, 1 + 8 + 8);
        w.Id(id);
        w.Id(0);
        break;
      case RootType::kJavaFrame:
        w.BeginSubRecord(hprof::kRootJavaFrame, 1 + 8 + 4 + 4);
        w.Id(id);
        w.U4(1);
        w.U4(0);
        break;
      default:  // the kinds that hold only an id
        w.BeginSubRecord(static_cast<hprof::SubTag>(type), 1 + 8);
        w.Id(id);
    }
  }
  w.EndHeapDump();
  RETURN_IF_ERROR(w.Finish());
  return sink.data();
}

}  // namespace kiln::analysis
