// kiln-heap flamegraph and dominators: the retention views.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "inspection/analysis/cli_commands.h"
#include "inspection/analysis/cli_load.h"
#include "inspection/analysis/cli_table.h"
#include "inspection/analysis/dominators.h"
#include "inspection/analysis/flamegraph.h"
#include "inspection/analysis/shortest_path_tree.h"

namespace kiln::analysis {
namespace {

// ObjectLabel: "java.lang.String@0x7f001234", with " [ROOT_KIND]" on roots.
std::string ObjectLabel(const HeapGraph& graph, uint32_t obj) {
  std::string label =
      absl::StrFormat("%s@0x%x", graph.type_info(graph.type(obj)).name, graph.id(obj));
  if (const std::optional<RootType> root = graph.root_type(obj)) {
    absl::StrAppend(&label, " [", RootTypeName(*root), "]");
  }
  return label;
}

// EdgeName: the field of `from` that refers to `to` (the first, if several).
std::string EdgeName(const HeapGraph& graph, uint32_t from, uint32_t to) {
  for (const Reference& ref : graph.references(from)) {
    if (ref.target == to) return graph.field_name(ref.field_name);
  }
  return "?";
}

}  // namespace

absl::Status CommandFlamegraph(const CliArgs& args, std::string* out) {
  static constexpr const char* kFormats[] = {"folded", "svg", "json"};
  ASSIGN_OR_RETURN(const std::string format, args.GetChoice("format", kFormats));
  ASSIGN_OR_RETURN(LoadedDump dump, LoadDump(args.positional.at("FILE")));
  const Flamegraph flame = BuildFlamegraph(*dump.graph, ComputeShortestPathTree(*dump.graph));
  std::string rendered = format == "svg"    ? FlamegraphSvg(flame, dump.path)
                         : format == "json" ? FlamegraphJson(flame)
                                            : FlamegraphFolded(flame);
  if (!args.Has("output")) {
    *out = std::move(rendered);
    return absl::OkStatus();
  }
  const std::string path = args.Get("output", "");
  RETURN_IF_ERROR(WriteOutputFile(path, rendered));
  absl::StrAppend(out, "wrote ", path, ": ", format, ", ", flame.nodes.size(), " nodes, ",
                  flame.total_size, " bytes retained from the roots\n");
  return absl::OkStatus();
}

absl::Status CommandDominators(const CliArgs& args, std::string* out) {
  ASSIGN_OR_RETURN(const uint64_t top, args.GetCount("top", 10));
  ASSIGN_OR_RETURN(LoadedDump dump, LoadDump(args.positional.at("FILE")));
  const HeapGraph& graph = *dump.graph;
  // The dominator tree goes (all but the top retainers' sizes) before the
  // shortest-path tree is built: the two are never resident together.
  std::vector<uint32_t> retainers;
  std::vector<uint64_t> retained;
  uint64_t total_retained = 0;
  {
    const DominatorTree dom = ComputeDominators(graph, {});
    retainers = TopRetainers(graph, dom, top);
    for (const uint32_t obj : retainers) retained.push_back(dom.retained[obj]);
    total_retained = dom.total_retained;
  }
  const ShortestPathTree paths = ComputeShortestPathTree(graph);
  absl::StrAppend(out, "Biggest retainers in ", dump.path, ": retained bytes are what would be\n",
                  "freed with the object (MAT's retained heap; shallow bytes, no native).\n",
                  "All reachable objects retain ", total_retained, " bytes.\n\n");
  TextTable table({"rank", "retained_bytes", "share", "self_bytes", "object"});
  for (size_t i = 0; i < retainers.size(); ++i) {
    const uint32_t obj = retainers[i];
    const double share = total_retained == 0 ? 0.0 : 100.0 * retained[i] / total_retained;
    table.AddRow({absl::StrCat(i + 1), absl::StrCat(retained[i]),
                  absl::StrFormat("%.1f%%", share), absl::StrCat(graph.self_size(obj)),
                  ObjectLabel(graph, obj)});
  }
  absl::StrAppend(out, table.Format());
  absl::StrAppend(out, "\nShortest paths from a root:\n");
  for (size_t i = 0; i < retainers.size(); ++i) {
    const std::vector<uint32_t> path = PathToRoot(paths, retainers[i]);
    absl::StrAppend(out, "\n#", i + 1, " ", ObjectLabel(graph, retainers[i]), "\n");
    for (size_t k = 1; k < path.size(); ++k) {
      absl::StrAppend(out, "    <- ", EdgeName(graph, path[k], path[k - 1]), " of ",
                      ObjectLabel(graph, path[k]), "\n");
    }
  }
  return absl::OkStatus();
}

}  // namespace kiln::analysis
