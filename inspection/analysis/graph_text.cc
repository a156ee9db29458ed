// GraphText: one line per row of each table, in the graph's own order.
#include "inspection/analysis/graph_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "inspection/analysis/dominators.h"
#include "inspection/analysis/flamegraph.h"
#include "inspection/analysis/histogram.h"
#include "inspection/analysis/shortest_path_tree.h"

namespace kiln::analysis {

std::string GraphText(const HeapGraph& graph) {
  std::string out;
  const Summary& s = graph.summary();
  absl::StrAppendFormat(&out, "summary %s id=%d time=%d bytes=%d classes=%d objects=%d\n",
                        s.format, s.id_size, s.timestamp_ms, s.file_bytes, s.classes, s.objects);
  absl::StrAppendFormat(&out, "  instances=%d object_arrays=%d primitive_arrays=%d shallow=%d\n",
                        s.instances, s.object_arrays, s.primitive_arrays, s.shallow_bytes);
  for (const auto& [name, count] : s.records) absl::StrAppend(&out, "  ", name, "=", count, "\n");
  for (uint32_t t = 0; t < graph.type_count(); ++t) {
    const TypeInfo& info = graph.type_info(t);
    const TypeTotals& totals = graph.type_totals(t);
    absl::StrAppendFormat(&out, "type %d %s (%s) kind=%d class=0x%x super=%d size=%d element=%d",
                          t, info.name, info.hprof_name, static_cast<int>(info.kind),
                          info.class_id, info.superclass, info.instance_size, info.element_type);
    absl::StrAppendFormat(&out, " class_object=%d count=%d self=%d native=%d\n",
                          info.class_object, totals.count, totals.self_bytes,
                          totals.native_bytes);
    for (const FieldInfo& f : info.fields) absl::StrAppend(&out, "  field ", f.name, " ", f.type, "\n");
    for (const FieldInfo& f : info.statics) absl::StrAppend(&out, "  static ", f.name, " ", f.type, "\n");
  }
  if (!graph.has_objects()) return out;
  for (uint32_t obj = 0; obj < graph.object_count(); ++obj) {
    const std::optional<RootType> root = graph.root_type(obj);
    absl::StrAppendFormat(&out, "object %d 0x%x type=%d self=%d native=%d root=%d", obj,
                          graph.id(obj), graph.type(obj), graph.self_size(obj),
                          graph.native_size(obj), root ? static_cast<int>(*root) : -1);
    if (graph.has_references()) {
      absl::StrAppend(&out, " reachable=", graph.reachable(obj));
      for (const Reference& ref : graph.references(obj)) {
        absl::StrAppend(&out, " ", graph.field_name(ref.field_name), "->", ref.target);
      }
    }
    out += "\n";
  }
  for (const Root& root : graph.roots()) {
    absl::StrAppendFormat(&out, "root %d %d thread=%d depth=%d\n", static_cast<int>(root.type),
                          root.object, root.thread_serial, root.frame_depth);
  }
  for (const ThreadInfo& thread : graph.threads()) {
    absl::StrAppendFormat(&out, "thread %d %d %s daemon=%d priority=%d tid=%d\n", thread.serial,
                          thread.object, thread.name, thread.daemon, thread.priority,
                          thread.tid);
    for (const StackFrameInfo& frame : thread.frames) {
      absl::StrAppendFormat(&out, "  at %s.%s%s (%s:%d)\n", frame.class_name, frame.method,
                            frame.signature, frame.source_file, frame.line);
    }
  }
  for (const HistogramRow& row : Histogram(graph, {})) {
    absl::StrAppendFormat(&out, "histogram %d %d %d %d\n", row.type, row.count, row.self_bytes,
                          row.native_bytes);
  }
  if (!graph.has_references()) return out;
  HistogramOptions reachable;
  reachable.reachable_only = true;
  for (const HistogramRow& row : Histogram(graph, reachable)) {
    absl::StrAppendFormat(&out, "reachable %d %d %d %d\n", row.type, row.count, row.self_bytes,
                          row.native_bytes);
  }
  const DominatorTree tree = ComputeDominators(graph, {});
  for (uint32_t obj = 0; obj < graph.object_count(); ++obj) {
    absl::StrAppendFormat(&out, "idom %d %d %d\n", obj, tree.idom[obj], tree.retained[obj]);
  }
  absl::StrAppend(&out, "flamegraph\n",
                  FlamegraphFolded(BuildFlamegraph(graph, ComputeShortestPathTree(graph))));
  return out;
}

}  // namespace kiln::analysis
