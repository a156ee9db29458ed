// Flamegraph: merging shortest-path-tree objects into class-name nodes, and
// the folded and JSON renderings (SVG: flamegraph_svg.cc).
#include "inspection/analysis/flamegraph.h"

#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kiln::analysis {
namespace {

// A node's identity: (parent node, canonical type, root kind + 1 or 0, or
// kNativeTag for a "[native]" child).
using NodeKey = std::tuple<uint32_t, uint32_t, uint16_t>;
constexpr uint16_t kNativeTag = 0xFFFF;

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

}  // namespace

Flamegraph BuildFlamegraph(const HeapGraph& graph, const ShortestPathTree& tree) {
  Flamegraph flame;
  // Types with the same name merge (Perfetto merges by name).
  std::vector<uint32_t> canonical(graph.type_count());
  for (uint32_t t = 0; t < graph.type_count(); ++t) {
    canonical[t] = graph.FindType(graph.type_info(t).name);
  }
  absl::flat_hash_map<NodeKey, uint32_t> nodes;
  const auto node_for = [&](uint32_t parent, uint32_t type, uint16_t tag) {
    auto [it, inserted] =
        nodes.try_emplace(NodeKey{parent, canonical[type], tag}, flame.nodes.size());
    if (inserted) {
      FlamegraphNode node;
      const std::string& name = graph.type_info(type).name;
      if (tag == kNativeTag) {
        node.name = absl::StrCat("[native] ", name);
      } else if (tag != 0) {
        node.name = absl::StrCat(name, " [", RootTypeName(static_cast<RootType>(tag - 1)), "]");
      } else {
        node.name = name;
      }
      node.parent = parent;
      node.depth = parent == kNoNode ? 0 : flame.nodes[parent].depth + 1;
      flame.nodes.push_back(std::move(node));
    }
    return it->second;
  };
  std::vector<uint32_t> node_of(graph.object_count(), kNoNode);
  for (const uint32_t obj : tree.order) {
    const uint32_t parent = tree.parent[obj];
    uint16_t tag = 0;
    if (parent == kNoObject) {
      tag = static_cast<uint16_t>(graph.root_type(obj).value_or(RootType::kUnknown)) + 1;
    }
    const uint32_t node =
        node_for(parent == kNoObject ? kNoNode : node_of[parent], graph.type(obj), tag);
    node_of[obj] = node;
    flame.nodes[node].self_size += graph.self_size(obj);
    ++flame.nodes[node].self_count;
    if (const uint64_t native = graph.native_size(obj); native != 0) {
      FlamegraphNode& child = flame.nodes[node_for(node, graph.type(obj), kNativeTag)];
      child.self_size += native;
      ++child.self_count;
    }
  }
  for (FlamegraphNode& node : flame.nodes) {
    node.cumulative_size = node.self_size;
    node.cumulative_count = node.self_count;
  }
  for (size_t i = flame.nodes.size(); i-- > 0;) {
    const FlamegraphNode& node = flame.nodes[i];
    if (node.parent == kNoNode) {
      flame.total_size += node.cumulative_size;
      continue;
    }
    flame.nodes[node.parent].cumulative_size += node.cumulative_size;
    flame.nodes[node.parent].cumulative_count += node.cumulative_count;
  }
  return flame;
}

std::string FlamegraphFolded(const Flamegraph& flame) {
  std::vector<std::string> paths(flame.nodes.size());
  std::string out;
  for (size_t i = 0; i < flame.nodes.size(); ++i) {
    const FlamegraphNode& node = flame.nodes[i];
    paths[i] = node.parent == kNoNode ? node.name : absl::StrCat(paths[node.parent], ";", node.name);
    if (node.self_size != 0) absl::StrAppend(&out, paths[i], " ", node.self_size, "\n");
  }
  return out;
}

std::string FlamegraphJson(const Flamegraph& flame) {
  // Children lists, then an explicit-stack walk (paths may be very deep).
  std::vector<std::vector<uint32_t>> children(flame.nodes.size() + 1);
  const uint32_t top = static_cast<uint32_t>(flame.nodes.size());
  for (uint32_t i = 0; i < flame.nodes.size(); ++i) {
    children[flame.nodes[i].parent == kNoNode ? top : flame.nodes[i].parent].push_back(i);
  }
  uint64_t top_count = 0;
  for (const uint32_t i : children[top]) top_count += flame.nodes[i].cumulative_count;
  std::string out = absl::StrFormat(
      "{\"name\":\"root\",\"self_size\":0,\"self_count\":0,\"cumulative_size\":%d,"
      "\"cumulative_count\":%d,\"children\":[",
      flame.total_size, top_count);
  std::vector<std::pair<uint32_t, size_t>> stack = {{top, 0}};  // (node, next child)
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next == children[node].size()) {
      out += "]}";
      stack.pop_back();
      continue;
    }
    if (next != 0) out += ",";
    const uint32_t child = children[node][next++];
    const FlamegraphNode& n = flame.nodes[child];
    absl::StrAppendFormat(&out,
                          "{\"name\":%s,\"self_size\":%d,\"self_count\":%d,"
                          "\"cumulative_size\":%d,\"cumulative_count\":%d,\"children\":[",
                          JsonString(n.name), n.self_size, n.self_count, n.cumulative_size,
                          n.cumulative_count);
    stack.emplace_back(child, 0);
  }
  out += "\n";
  return out;
}

}  // namespace kiln::analysis
