// kiln-heap summary, histogram and threads.
#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "inspection/analysis/cli_commands.h"
#include "inspection/analysis/cli_load.h"
#include "inspection/analysis/cli_table.h"
#include "inspection/analysis/frame_text.h"
#include "inspection/analysis/histogram.h"
#include "inspection/analysis/system_properties.h"

namespace kiln::analysis {
namespace {

std::string JoinCounts(const std::map<std::string, uint64_t>& counts) {
  std::vector<std::string> parts;
  for (const auto& [name, n] : counts) parts.push_back(absl::StrCat(name, " ", Thousands(n)));
  return parts.empty() ? "none" : absl::StrJoin(parts, ", ");
}

}  // namespace

absl::Status CommandSummary(const CliArgs& args, std::string* out) {
  ASSIGN_OR_RETURN(LoadedDump dump, LoadDump(args.positional.at("FILE")));
  const HeapGraph& graph = *dump.graph;
  const Summary& s = graph.summary();
  const uint64_t class_objects =
      s.objects - s.instances - s.object_arrays - s.primitive_arrays;
  std::string& o = *out;
  absl::StrAppend(&o, "File        ", dump.path, " (", Thousands(s.file_bytes), " bytes",
                  dump.reader->compressed()
                      ? absl::StrCat(", gzip: ", Thousands(dump.reader->stored_size()), " stored")
                      : "",
                  ")\n");
  absl::StrAppend(&o, "Format      ", s.format, ", id size ", s.id_size, ", dumped ",
                  absl::FormatTime("%Y-%m-%d %H:%M:%E3S UTC",
                                   absl::FromUnixMillis(static_cast<int64_t>(s.timestamp_ms)),
                                   absl::UTCTimeZone()),
                  "\n");
  absl::StrAppend(&o, "Records     ", JoinCounts(s.records), "\n");
  absl::StrAppend(&o, "Classes     ", Thousands(s.classes), "\n");
  absl::StrAppend(&o, "Objects     ", Thousands(s.objects), " (instances ",
                  Thousands(s.instances), ", object arrays ", Thousands(s.object_arrays),
                  ", primitive arrays ", Thousands(s.primitive_arrays), ", class objects ",
                  Thousands(class_objects), ")\n");
  absl::StrAppend(&o, "Shallow     ", Thousands(s.shallow_bytes), " bytes\n");
  absl::StrAppend(&o, "Native      ", Thousands(s.native_bytes), " bytes\n");
  absl::StrAppend(&o, "Reachable   ", Thousands(s.reachable_objects), " objects, ",
                  Thousands(s.reachable_bytes), " bytes; unreachable ",
                  Thousands(s.objects - s.reachable_objects), " objects, ",
                  Thousands(s.shallow_bytes - s.reachable_bytes), " bytes\n");
  absl::StrAppend(&o, "References  ", Thousands(s.references), " (dangling ",
                  Thousands(s.dangling_references), ")\n");
  absl::StrAppend(&o, "Roots       ", JoinCounts(s.roots_by_type), "\n");
  std::vector<std::string> names;
  for (const ThreadInfo& t : graph.threads()) names.push_back(absl::StrCat("\"", t.name, "\""));
  absl::StrAppend(&o, "Threads     ", graph.threads().size(),
                  names.empty() ? "" : absl::StrCat(": ", absl::StrJoin(names, ", ")), "\n");
  // The process the dump came from, when it says (HotSpot's and Kiln's do);
  // control characters (line.separator) escaped, one property a line.
  if (const std::optional<PropertyMap> props = SystemProperties(graph)) {
    absl::StrAppend(&o, "Properties  ", props->size(), " (java.lang.System.props)\n");
    for (const auto& [key, value] : *props) {
      absl::StrAppend(&o, "  ", key, "=",
                      absl::StrReplaceAll(value, {{"\n", "\\n"}, {"\r", "\\r"}, {"\t", "\\t"}}),
                      "\n");
    }
  }
  return absl::OkStatus();
}

absl::Status CommandHistogram(const CliArgs& args, std::string* out) {
  static constexpr const char* kOrders[] = {"self", "native", "count"};
  ASSIGN_OR_RETURN(const std::string by, args.GetChoice("by", kOrders));
  ASSIGN_OR_RETURN(const uint64_t top, args.GetCount("top", 0));
  HistogramOptions options;
  options.reachable_only = args.Has("reachable");
  // Over all objects, the histogram needs no references (nor their cost).
  ASSIGN_OR_RETURN(LoadedDump dump,
                   LoadDump(args.positional.at("FILE"), /*references=*/options.reachable_only));
  const HeapGraph& graph = *dump.graph;
  options.order = by == "native" ? HistogramOrder::kNative
                  : by == "count" ? HistogramOrder::kCount
                                  : HistogramOrder::kSelf;
  // Every row, for the totals; the table shows the first `top`.
  const std::vector<HistogramRow> rows = Histogram(graph, options);
  TextTable table({"instances", "self_bytes", "native_bytes", "class"});
  HistogramRow total;
  for (size_t i = 0; i < rows.size(); ++i) {
    const HistogramRow& row = rows[i];
    total.count += row.count;
    total.self_bytes += row.self_bytes;
    total.native_bytes += row.native_bytes;
    if (top != 0 && i >= top) continue;
    table.AddRow({absl::StrCat(row.count), absl::StrCat(row.self_bytes),
                  absl::StrCat(row.native_bytes), graph.type_info(row.type).name});
  }
  table.AddRow({absl::StrCat(total.count), absl::StrCat(total.self_bytes),
                absl::StrCat(total.native_bytes),
                absl::StrCat("total (", rows.size(), " classes",
                             table.rows() < rows.size()
                                 ? absl::StrCat(", ", rows.size() - table.rows(), " not shown")
                                 : "",
                             ")")});
  absl::StrAppend(out, "Class histogram of ", dump.path, " (",
                  options.reachable_only ? "reachable objects" : "all objects", ", by ", by,
                  "; self_bytes as Perfetto's self_size: the class's CLASS_DUMP instance size, "
                  "arrays plus their elements)\n",
                  table.Format());
  return absl::OkStatus();
}

absl::Status CommandThreads(const CliArgs& args, std::string* out) {
  ASSIGN_OR_RETURN(LoadedDump dump, LoadDump(args.positional.at("FILE")));
  const HeapGraph& graph = *dump.graph;
  // jstack's layout; HPROF records no thread state and no locks.
  absl::StrAppend(out, "Full thread dump from ", dump.path, " (", graph.threads().size(),
                  " threads):\n");
  for (const ThreadInfo& t : graph.threads()) {
    absl::StrAppendFormat(out, "\n\"%s\" #%d%s prio=%d tid=0x%x nid=0x%x\n", t.name, t.tid,
                          t.daemon ? " daemon" : "", t.priority,
                          t.object == kNoObject ? 0 : graph.id(t.object), t.serial);
    for (const StackFrameInfo& frame : t.frames) {
      absl::StrAppend(out, "\tat ", FrameText(frame), "\n");
    }
  }
  return absl::OkStatus();
}

}  // namespace kiln::analysis
