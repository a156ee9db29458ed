// SystemProperties: the dump's java.lang.System properties (System.props), as
// VisualVM's Environment panel reads them: HotSpot's dumps carry them, and
// so may Kiln's. Both layouts are read: JDK 9+'s Properties over a
// ConcurrentHashMap (Properties.map -> table of Nodes {key, val, next}) and
// the older Hashtable (table of Entries {key, value, next}).
//
//   for (const auto& [key, value] : SystemProperties(graph)) ...
#ifndef KILN_INSPECTION_ANALYSIS_SYSTEM_PROPERTIES_H_
#define KILN_INSPECTION_ANALYSIS_SYSTEM_PROPERTIES_H_

#include <map>
#include <string>

#include "inspection/analysis/heap_graph.h"

namespace kiln::analysis {

// SystemProperties: key -> value; empty when the dump has no
// java.lang.System with a props object, or no references were resolved.
std::map<std::string, std::string> SystemProperties(const HeapGraph& graph);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_SYSTEM_PROPERTIES_H_
