// Loading a dump for kiln-heap: the reader (gzip inflated) and the graph,
// with a progress bar on stderr for large files when stderr is a terminal;
// and writing output files.
//
//   ASSIGN_OR_RETURN(LoadedDump dump, LoadDump(path));
//   const HeapGraph& graph = *dump.graph;
#ifndef KILN_INSPECTION_ANALYSIS_CLI_LOAD_H_
#define KILN_INSPECTION_ANALYSIS_CLI_LOAD_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "base/must_use.h"
#include "inspection/analysis/heap_graph.h"
#include "inspection/hprof/hprof_reader.h"

namespace kiln::analysis {

// ProgressBar: "label [#######.......]  48%  180/376 MB" redrawn in place on
// stderr, at most once per percent; erased by Done() or the destructor.
// Disabled bars print nothing.
class ProgressBar {
 public:
  ProgressBar(std::string label, bool enabled) : label_(std::move(label)), enabled_(enabled) {}
  ~ProgressBar() { Done(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Update: `done` of `total` units (bytes when `bytes`, else rows).
  void Update(uint64_t done, uint64_t total);
  void Done();
  void set_units(const char* units) { units_ = units; }

 private:
  std::string label_;
  bool enabled_;
  const char* units_ = "MB";
  int last_percent_ = -1;
  bool drawn_ = false;
};

// ShowProgress: whether a job over `bytes` deserves a progress bar: stderr is
// a terminal and the file is at least 16 MiB.
bool ShowProgress(uint64_t bytes);

struct LoadedDump {
  std::string path;
  std::unique_ptr<HprofReader> reader;
  std::unique_ptr<HeapGraph> graph;
};

// SetLoadThreads: the parse threads of every LoadDump after it (kiln-heap's
// --threads; BuildOptions::threads). Results are the same for any count.
// Until set, 1: on this shared 2-core machine the parallel parse did not
// win reliably for any command (README.md, "The parallel parse").
void SetLoadThreads(int threads);
int LoadThreads();

// LoadDump opens and builds `path` (with references unless `references` is
// false: then BuildOptions::references and BuildOptions::objects are off,
// and the graph has the types and their totals only, enough for a histogram
// over all objects). Errors are the reader's or the graph's,
// naming the file and the offset for malformed files.
KILN_MUST_USE absl::StatusOr<LoadedDump> LoadDump(const std::string& path, bool references = true);

// WriteOutputFile writes `bytes` to `path` (created or truncated), naming
// the path in errors.
KILN_MUST_USE absl::Status WriteOutputFile(const std::string& path, const std::string& bytes);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_CLI_LOAD_H_
