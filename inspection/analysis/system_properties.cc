#include "inspection/analysis/system_properties.h"

#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace kiln::analysis {
namespace {

constexpr int kMaxDefaults = 16;

// StaticObject: the object a class's static reference field `name` holds.
uint32_t StaticObject(const HeapGraph& graph, uint32_t type, const std::string& name) {
  const TypeInfo& info = graph.type_info(type);
  if (info.class_object == kNoObject) return kNoObject;
  const std::string field = absl::StrCat(info.name, ".", name);
  for (const Reference& ref : graph.references(info.class_object)) {
    if (graph.field_name(ref.field_name) == field) return ref.target;
  }
  return kNoObject;
}

// Field: FieldObject, kNoObject from kNoObject (HeapGraph's indexes it).
uint32_t Field(const HeapGraph& graph, uint32_t obj, const char* name) {
  return obj == kNoObject ? kNoObject : graph.FieldObject(obj, name);
}

std::optional<std::string> Text(const HeapGraph& graph, uint32_t obj) {
  return obj == kNoObject ? std::nullopt : graph.StringValue(obj);
}

// AddTable adds the key/value chains of an entry array, without replacing.
void AddTable(const HeapGraph& graph, uint32_t table, const char* value_field, PropertyMap& out) {
  if (table == kNoObject || graph.type_info(graph.type(table)).kind != TypeKind::kObjectArray) {
    return;
  }
  absl::flat_hash_set<uint32_t> seen;
  for (const Reference& slot : graph.references(table)) {
    for (uint32_t entry = slot.target; entry != kNoObject && seen.insert(entry).second;
         entry = Field(graph, entry, "next")) {
      const std::optional<std::string> key = Text(graph, Field(graph, entry, "key"));
      const std::optional<std::string> value = Text(graph, Field(graph, entry, value_field));
      if (key && value) out.emplace(*key, *value);
    }
  }
}

}  // namespace

std::optional<PropertyMap> SystemProperties(const HeapGraph& graph) {
  const uint32_t system = graph.FindType("java.lang.System");
  if (system == kNoType) return std::nullopt;
  uint32_t props = StaticObject(graph, system, "props");
  if (props == kNoObject) props = StaticObject(graph, system, "systemProperties");
  if (props == kNoObject) return std::nullopt;
  PropertyMap out;
  bool readable = false;
  for (int depth = 0; props != kNoObject && depth < kMaxDefaults; ++depth) {
    if (const uint32_t table = Field(graph, props, "table"); table != kNoObject) {
      AddTable(graph, table, "value", out);
      readable = true;
    } else if (const uint32_t map = Field(graph, props, "map"); map != kNoObject) {
      AddTable(graph, Field(graph, map, "table"), "val", out);
      readable = true;
    } else if (const uint32_t old = Field(graph, props, "elementData"); old != kNoObject) {
      AddTable(graph, old, "value", out);
      readable = true;
    }
    props = Field(graph, props, "defaults");
  }
  if (!readable) return std::nullopt;
  return out;
}

}  // namespace kiln::analysis
