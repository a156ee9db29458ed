// SystemProperties: java.lang.System.props read from the graph.
#include "inspection/analysis/system_properties.h"

#include <vector>

namespace kiln::analysis {
namespace {

// StaticObject: the object a static field `name` of `type`'s class object
// refers to (its references are named "Class.field"), or kNoObject.
uint32_t StaticObject(const HeapGraph& graph, uint32_t type, const std::string& name) {
  const uint32_t class_object = graph.type_info(type).class_object;
  if (class_object == kNoObject) return kNoObject;
  const std::string field = graph.type_info(type).name + "." + name;
  for (const Reference& ref : graph.references(class_object)) {
    if (graph.field_name(ref.field_name) == field) return ref.target;
  }
  return kNoObject;
}

}  // namespace

std::map<std::string, std::string> SystemProperties(const HeapGraph& graph) {
  std::map<std::string, std::string> properties;
  const uint32_t system = graph.FindType("java.lang.System");
  if (system == kNoType || !graph.has_references()) return properties;
  const uint32_t props = StaticObject(graph, system, "props");
  if (props == kNoObject) return properties;
  // JDK 9+: Properties keeps a ConcurrentHashMap in `map`; older JDKs and
  // Android: Properties is a Hashtable.
  const uint32_t map = graph.FieldObject(props, "map");
  const uint32_t table = graph.FieldObject(map != kNoObject ? map : props, "table");
  if (table == kNoObject) return properties;
  const char* value_field = map != kNoObject ? "val" : "value";
  // Each bucket is a chain through `next`; bounded by the object count so a
  // malformed cycle ends.
  for (const Reference& bucket : graph.references(table)) {
    uint32_t steps = 0;
    for (uint32_t node = bucket.target; node != kNoObject && steps < graph.object_count();
         node = graph.FieldObject(node, "next"), ++steps) {
      const uint32_t key = graph.FieldObject(node, "key");
      const uint32_t value = graph.FieldObject(node, value_field);
      if (key == kNoObject) continue;
      const std::optional<std::string> k = graph.StringValue(key);
      if (!k.has_value()) continue;
      std::optional<std::string> v;
      if (value != kNoObject) v = graph.StringValue(value);
      properties[*k] = v.value_or("");
    }
  }
  return properties;
}

}  // namespace kiln::analysis
