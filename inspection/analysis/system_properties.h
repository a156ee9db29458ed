// SystemProperties: the java.lang.System.props a heap dump carries, read the
// way VisualVM's HprofProxy.getProperties reads them, from any of the layouts
// a dump may have:
//
//   JDK 8 and Kiln  Properties.table: Hashtable$Entry[] of key/value/next
//   JDK 9+          Properties.map: ConcurrentHashMap, table of Node key/val/next
//   JDK 1.1         Properties.elementData (old Hashtable) of key/value/next
//
// plus Properties.defaults, followed (its entries lose to the Properties'
// own). Every walk is bounded: a `next` chain that loops or a defaults chain
// deeper than kMaxDefaults stops there.
//
//   std::optional<PropertyMap> props = SystemProperties(graph);
//   if (props) printf("%s\n", (*props)["java.vm.name"].c_str());
#ifndef KILN_INSPECTION_ANALYSIS_SYSTEM_PROPERTIES_H_
#define KILN_INSPECTION_ANALYSIS_SYSTEM_PROPERTIES_H_

#include <map>
#include <optional>
#include <string>

#include "inspection/analysis/heap_graph.h"

namespace kiln::analysis {

using PropertyMap = std::map<std::string, std::string>;

// SystemProperties: by key; nullopt if the dump has no java.lang.System with
// a props (or systemProperties) static holding a readable Properties. A key
// or value that is not a decodable String is left out. Needs references.
std::optional<PropertyMap> SystemProperties(const HeapGraph& graph);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_SYSTEM_PROPERTIES_H_
