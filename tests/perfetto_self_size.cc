#include "tests/perfetto_self_size.h"

#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "inspection/hprof/hprof_format.h"
#include "inspection/hprof/hprof_reader.h"

namespace kiln::testing {
namespace {

// SourceName: "[[I" -> "int[][]", "[Lapp/Foo;" -> "app.Foo[]", "app/Foo" -> "app.Foo".
std::string SourceName(absl::string_view file_name) {
  const std::string name = absl::StrReplaceAll(file_name, {{"/", "."}});
  size_t dims = 0;
  while (dims < name.size() && name[dims] == '[') ++dims;
  if (dims == 0) return name;
  std::string element = name.substr(dims);
  static const std::map<char, const char*> kPrimitives = {
      {'Z', "boolean"}, {'C', "char"}, {'F', "float"}, {'D', "double"},
      {'B', "byte"},    {'S', "short"}, {'I', "int"},  {'J', "long"}};
  if (element.size() == 1 && kPrimitives.count(element[0])) {
    element = kPrimitives.at(element[0]);
  } else if (element.size() > 2 && element.front() == 'L' && element.back() == ';') {
    element = element.substr(1, element.size() - 2);
  }
  for (size_t i = 0; i < dims; ++i) element += "[]";
  return element;
}

const char* PrimitiveArrayName(uint8_t type) {
  switch (type) {
    case hprof::kBoolean: return "boolean[]";
    case hprof::kChar: return "char[]";
    case hprof::kFloat: return "float[]";
    case hprof::kDouble: return "double[]";
    case hprof::kByte: return "byte[]";
    case hprof::kShort: return "short[]";
    case hprof::kInt: return "int[]";
    default: return "long[]";
  }
}

// Records: what the sums need, kept as the records give it.
class Records : public HprofVisitor {
 public:
  struct Class {
    uint64_t name_id = 0;
    bool dumped = false;
    uint64_t super_id = 0;
    uint32_t instance_size = 0;
    std::vector<HprofFieldInfo> fields;
    std::vector<HprofStaticInfo> statics;
  };
  struct Object {
    enum Kind { kInstance, kObjectArray, kPrimitiveArray, kClass } kind;
    uint64_t class_id = 0;  // kPrimitiveArray: 0
    uint8_t element_type = 0;
    uint64_t payload = 0;   // element count (arrays)
    absl::Span<const uint8_t> values;   // instances
    std::vector<uint64_t> elements;     // object arrays
  };

  absl::Status OnString(uint64_t id, absl::string_view text) override {
    strings_[id] = std::string(text);
    return absl::OkStatus();
  }
  absl::Status OnLoadClass(uint32_t, uint64_t class_id, uint64_t name_id) override {
    classes_[class_id].name_id = name_id;
    return absl::OkStatus();
  }
  absl::Status OnRoot(uint8_t, uint64_t id, uint32_t, int32_t, uint32_t) override {
    roots_.push_back(id);
    return absl::OkStatus();
  }
  absl::Status OnClassDump(const HprofClassDump& dump) override {
    Class& cls = classes_[dump.class_id];
    cls.dumped = true;
    cls.super_id = dump.super_id;
    cls.instance_size = dump.instance_size;
    cls.fields = dump.fields;
    cls.statics = dump.statics;
    objects_[dump.class_id] = Object{.kind = Object::kClass, .class_id = dump.class_id};
    return absl::OkStatus();
  }
  absl::Status OnInstance(uint64_t id, uint64_t class_id,
                          absl::Span<const uint8_t> values) override {
    objects_[id] = Object{.kind = Object::kInstance, .class_id = class_id, .values = values};
    return absl::OkStatus();
  }
  absl::Status OnObjectArray(uint64_t id, uint64_t class_id,
                             absl::Span<const uint64_t> elements) override {
    objects_[id] = Object{.kind = Object::kObjectArray,
                          .class_id = class_id,
                          .payload = elements.size(),
                          .elements = {elements.begin(), elements.end()}};
    return absl::OkStatus();
  }
  absl::Status OnPrimitiveArray(uint64_t id, uint8_t type, uint32_t length,
                                absl::Span<const uint8_t>) override {
    objects_[id] = Object{.kind = Object::kPrimitiveArray, .element_type = type, .payload = length};
    return absl::OkStatus();
  }

  std::string NameOf(uint64_t class_id) const {
    const auto it = classes_.find(class_id);
    if (it == classes_.end()) return "";
    const auto name = strings_.find(it->second.name_id);
    return name == strings_.end() ? "" : SourceName(name->second);
  }
  uint64_t Bytes(uint8_t type) const {
    return type == hprof::kObject ? id_size_ : hprof::BasicTypeSize(type);
  }

  uint32_t id_size_ = 0;  // the header's, known once Parse has begun
  absl::flat_hash_map<uint64_t, std::string> strings_;
  absl::flat_hash_map<uint64_t, Class> classes_;
  absl::flat_hash_map<uint64_t, Object> objects_;
  std::vector<uint64_t> roots_;
};

}  // namespace

absl::StatusOr<std::map<std::string, uint64_t>> PerfettoSeedQuery(const std::string& path) {
  absl::StatusOr<std::unique_ptr<HprofReader>> reader = HprofReader::Open(path);
  if (!reader.ok()) return reader.status();
  Records r;
  if (absl::Status parsed = (*reader)->Parse(r); !parsed.ok()) return parsed;
  r.id_size_ = (*reader)->id_size();

  // Class ids by Perfetto's name; the instance size a class's CLASS_DUMP gives.
  absl::flat_hash_map<std::string, uint64_t> class_by_name;
  for (const auto& [id, cls] : r.classes_) class_by_name.try_emplace(r.NameOf(id), id);
  const auto instance_size = [&](uint64_t class_id) -> uint64_t {
    const auto it = r.classes_.find(class_id);
    return it != r.classes_.end() && it->second.dumped ? it->second.instance_size : 0;
  };
  const auto named = class_by_name.find("java.lang.Class");
  const uint64_t class_size = named == class_by_name.end() ? 0 : instance_size(named->second);

  // Each object's type name and self_size.
  const auto name_and_size = [&](const Records::Object& o) -> std::pair<std::string, uint64_t> {
    switch (o.kind) {
      case Records::Object::kInstance:
        return {r.NameOf(o.class_id), instance_size(o.class_id)};
      case Records::Object::kObjectArray:
        return {r.NameOf(o.class_id), instance_size(o.class_id) + o.payload * r.id_size_};
      case Records::Object::kPrimitiveArray: {
        const std::string name = PrimitiveArrayName(o.element_type);
        const auto cls = class_by_name.find(name);
        return {name, (cls == class_by_name.end() ? 0 : instance_size(cls->second)) +
                          o.payload * hprof::BasicTypeSize(o.element_type)};
      }
      case Records::Object::kClass: {
        uint64_t size = class_size;
        for (const HprofStaticInfo& s : r.classes_.at(o.class_id).statics) size += r.Bytes(s.type);
        return {absl::StrCat("java.lang.Class<", r.NameOf(o.class_id), ">"), size};
      }
    }
    return {"", 0};
  };

  // Reachability: breadth-first from the roots.
  absl::flat_hash_set<uint64_t> reached;
  std::vector<uint64_t> queue;
  const auto visit = [&](uint64_t id) {
    if (id != 0 && r.objects_.contains(id) && reached.insert(id).second) queue.push_back(id);
  };
  for (const uint64_t root : r.roots_) visit(root);
  for (size_t next = 0; next < queue.size(); ++next) {
    const Records::Object& o = r.objects_.at(queue[next]);
    if (o.kind == Records::Object::kInstance) {
      size_t at = 0;
      for (uint64_t c = o.class_id; c != 0 && r.classes_.contains(c);
           c = r.classes_.at(c).super_id) {
        const bool reference = r.NameOf(c) == "java.lang.ref.Reference";
        for (const HprofFieldInfo& field : r.classes_.at(c).fields) {
          const uint64_t bytes = r.Bytes(field.type);
          if (at + bytes > o.values.size()) return absl::DataLossError("short INSTANCE_DUMP");
          const bool referent = reference && r.strings_[field.name_id] == "referent";
          if (field.type == hprof::kObject && !referent) {
            uint64_t id = 0;
            for (uint64_t i = 0; i < bytes; ++i) id = (id << 8) | o.values[at + i];
            visit(id);
          }
          at += bytes;
        }
      }
    } else if (o.kind == Records::Object::kObjectArray) {
      for (const uint64_t element : o.elements) visit(element);
    } else if (o.kind == Records::Object::kClass) {
      for (const HprofStaticInfo& s : r.classes_.at(o.class_id).statics) {
        if (s.type == hprof::kObject) visit(s.value);
      }
    }
  }
  std::map<std::string, uint64_t> sums;
  for (const uint64_t id : reached) {
    const auto [name, size] = name_and_size(r.objects_.at(id));
    sums[name] += size;
  }
  return sums;
}

}  // namespace kiln::testing
