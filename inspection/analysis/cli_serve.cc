// kiln-heap serve and diff: the viewer in the browser, and the baseline
// comparison on the command line.
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "inspection/analysis/cli_commands.h"
#include "inspection/analysis/cli_load.h"
#include "inspection/analysis/cli_table.h"
#include "inspection/analysis/histogram_diff.h"
#include "inspection/analysis/viewer/heap_view.h"
#include "inspection/analysis/viewer/viewer_api.h"
#include "inspection/analysis/viewer/viewer_server.h"

namespace kiln::analysis {
namespace {

std::string Signed(int64_t n) { return n > 0 ? absl::StrCat("+", n) : absl::StrCat(n); }

}  // namespace

absl::Status CommandServe(const CliArgs& args, std::string* out) {
  static constexpr const char* kSizes[] = {"perfetto", "jvm"};
  ASSIGN_OR_RETURN(const std::string sizes, args.GetChoice("sizes", kSizes));
  ASSIGN_OR_RETURN(const uint64_t port, args.GetCount("port", 0));
  if (port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--port must be 0 to 65535\nusage: kiln-heap ", args.usage));
  }
  const std::string bind = args.Get("bind", "127.0.0.1");
  HeapViewOptions options;
  options.sizes = sizes == "jvm" ? SizeConvention::kJvm : SizeConvention::kPerfetto;
  if (args.Has("baseline")) {
    options.baseline_name = args.Get("baseline", "");
    ASSIGN_OR_RETURN(LoadedDump old, LoadDump(options.baseline_name));
    options.baseline_all = BaselineOf(*old.graph, false);
    options.baseline_reachable = BaselineOf(*old.graph, true);
  }
  const std::string& file = args.positional.at("FILE");
  ASSIGN_OR_RETURN(LoadedDump dump, LoadDump(file));
  std::unique_ptr<HeapView> view = HeapView::Create(std::move(dump), std::move(options));
  ViewerApi api(*view);
  RETURN_IF_ERROR(ServeUntilSignal(api, bind, static_cast<int>(port), absl::StrCat("Serving ", file)));
  (void)out;
  return absl::OkStatus();
}

absl::Status CommandDiff(const CliArgs& args, std::string* out) {
  ASSIGN_OR_RETURN(const uint64_t top, args.GetCount("top", 20));
  const bool reachable = args.Has("reachable");
  const std::string& old_path = args.positional.at("OLD");
  const std::string& new_path = args.positional.at("NEW");
  BaselineHistogram old_histogram, new_histogram;
  {
    ASSIGN_OR_RETURN(LoadedDump old, LoadDump(old_path, reachable));
    old_histogram = BaselineOf(*old.graph, reachable);
  }
  {
    ASSIGN_OR_RETURN(LoadedDump now, LoadDump(new_path, reachable));
    new_histogram = BaselineOf(*now.graph, reachable);
  }
  const std::vector<HistogramDelta> rows = DiffHistograms(old_histogram, new_histogram);
  TextTable table({"count_delta", "self_bytes_delta", "native_bytes_delta", "count", "self_bytes",
                   "class"});
  int64_t count = 0, self = 0, native = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const HistogramDelta& row = rows[i];
    count += row.count_delta;
    self += row.self_bytes_delta;
    native += row.native_bytes_delta;
    if (top != 0 && i >= top) continue;
    table.AddRow({Signed(row.count_delta), Signed(row.self_bytes_delta),
                  Signed(row.native_bytes_delta), absl::StrCat(row.new_totals.count),
                  absl::StrCat(row.new_totals.self_bytes), row.name});
  }
  table.AddRow({Signed(count), Signed(self), Signed(native), "", "",
                absl::StrCat("total (", rows.size(), " classes changed",
                             table.rows() < rows.size()
                                 ? absl::StrCat(", ", rows.size() - table.rows(), " not shown")
                                 : "",
                             ")")});
  absl::StrAppend(out, "Histogram change from ", old_path, " to ", new_path, " (",
                  reachable ? "reachable objects" : "all objects",
                  ", by |self_bytes_delta|; classes matched by name; self_bytes as Perfetto's "
                  "self_size)\n",
                  table.Format());
  return absl::OkStatus();
}

}  // namespace kiln::analysis
