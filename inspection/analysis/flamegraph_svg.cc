// FlamegraphSvg: a static, self-contained flamegraph picture. Children sit
// above their parent, ordered by name (as flamegraph.pl does), each as wide
// as its share of the total retained bytes; every rectangle has a <title>
// (the browser's tooltip) with its bytes, objects and share. Rectangles too
// narrow to see are left out, and so are levels beyond kMaxDepth.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "inspection/analysis/flamegraph.h"

namespace kiln::analysis {
namespace {

constexpr double kWidth = 1200, kPad = 10, kRow = 17, kMinWidth = 0.3;
constexpr uint32_t kMaxDepth = 256;
constexpr double kCharWidth = 6.6;  // 11px monospace

std::string XmlEscape(absl::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

// Color: warm hues from the name (stable across runs), blue for native.
std::string Color(absl::string_view name) {
  if (absl::StartsWith(name, "[native]")) return "rgb(90,140,220)";
  uint32_t h = 2166136261u;
  for (const char c : name) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  return absl::StrFormat("rgb(%d,%d,%d)", 205 + h % 50, 80 + (h >> 8) % 150, (h >> 16) % 55);
}

}  // namespace

std::string FlamegraphSvg(const Flamegraph& flame, absl::string_view title) {
  const uint32_t top = static_cast<uint32_t>(flame.nodes.size());
  std::vector<std::vector<uint32_t>> children(flame.nodes.size() + 1);
  uint32_t max_depth = 0;
  for (uint32_t i = 0; i < flame.nodes.size(); ++i) {
    const FlamegraphNode& node = flame.nodes[i];
    children[node.parent == kNoNode ? top : node.parent].push_back(i);
    max_depth = std::max(max_depth, std::min(node.depth, kMaxDepth));
  }
  for (auto& list : children) {
    std::sort(list.begin(), list.end(),
              [&](uint32_t a, uint32_t b) { return flame.nodes[a].name < flame.nodes[b].name; });
  }
  const double plot = kWidth - 2 * kPad;
  const double scale = flame.total_size == 0 ? 0 : plot / static_cast<double>(flame.total_size);
  const double height = (max_depth + 1) * kRow + 3 * kRow + 2 * kPad;
  std::string out = absl::StrFormat(
      "<?xml version=\"1.0\" standalone=\"no\"?>\n"
      "<svg version=\"1.1\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
      "xmlns=\"http://www.w3.org/2000/svg\">\n"
      "<style>text{font-family:monospace;font-size:11px;fill:#000}"
      "rect{stroke:#fff;stroke-width:0.5}g:hover rect{stroke:#000}</style>\n"
      "<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"#f8f8f0\"/>\n"
      "<text x=\"%.0f\" y=\"%.0f\" style=\"font-size:15px\">%s</text>\n"
      "<text x=\"%.0f\" y=\"%.0f\">retained by shortest path from a root: %d bytes; "
      "hover a frame for its numbers</text>\n",
      kWidth, height, kWidth, height, kPad, kPad + 14,
      XmlEscape(absl::StrCat("Retention flamegraph: ", title)), kPad, kPad + 14 + kRow,
      flame.total_size);
  // Depth-first with explicit stack: (node, x).
  std::vector<std::pair<uint32_t, double>> stack;
  double x = kPad;
  for (const uint32_t root : children[top]) {
    stack.emplace_back(root, x);
    x += flame.nodes[root].cumulative_size * scale;
  }
  std::reverse(stack.begin(), stack.end());
  while (!stack.empty()) {
    const auto [i, left] = stack.back();
    stack.pop_back();
    const FlamegraphNode& node = flame.nodes[i];
    const double width = node.cumulative_size * scale;
    if (width < kMinWidth || node.depth > kMaxDepth) continue;
    const double y = height - kPad - (node.depth + 1) * kRow;
    const double share =
        flame.total_size == 0 ? 0 : 100.0 * node.cumulative_size / flame.total_size;
    absl::StrAppendFormat(
        &out,
        "<g><title>%s\n%d bytes retained (%.2f%%), %d objects; self %d bytes, %d "
        "objects</title><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.0f\" "
        "fill=\"%s\"/>",
        XmlEscape(node.name), node.cumulative_size, share, node.cumulative_count,
        node.self_size, node.self_count, left, y, width, kRow - 1, Color(node.name));
    const size_t fits = static_cast<size_t>((width - 6) / kCharWidth);
    if (fits >= 3) {
      std::string label = node.name;
      if (label.size() > fits) label = label.substr(0, fits - 2) + "..";
      absl::StrAppendFormat(&out, "<text x=\"%.2f\" y=\"%.2f\">%s</text>", left + 3,
                            y + kRow - 5, XmlEscape(label));
    }
    out += "</g>\n";
    double child_x = left;
    std::vector<std::pair<uint32_t, double>> next;
    for (const uint32_t child : children[i]) {
      next.emplace_back(child, child_x);
      child_x += flame.nodes[child].cumulative_size * scale;
    }
    stack.insert(stack.end(), next.rbegin(), next.rend());
  }
  out += "</svg>\n";
  return out;
}

}  // namespace kiln::analysis
