// kiln-heap: loading dumps, with progress bars; writing output files.
#include "inspection/analysis/cli_load.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"

namespace kiln::analysis {

void ProgressBar::Update(uint64_t done, uint64_t total) {
  if (!enabled_ || total == 0) return;
  const int percent = static_cast<int>(std::min<uint64_t>(done, total) * 100 / total);
  if (percent == last_percent_) return;
  last_percent_ = percent;
  constexpr int kWidth = 30;
  const int filled = percent * kWidth / 100;
  const double scale = units_[0] == 'M' ? 1e6 : 1.0;
  std::fprintf(stderr, "\r%s [%s%s] %3d%%  %.0f/%.0f %s", label_.c_str(),
               std::string(filled, '#').c_str(), std::string(kWidth - filled, '.').c_str(),
               percent, done / scale, total / scale, units_);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::Done() {
  if (drawn_) {
    std::fputs("\r\033[K", stderr);  // back to the start and erase the line
    std::fflush(stderr);
  }
  drawn_ = false;
}

namespace {
int load_threads = 1;
}  // namespace

void SetLoadThreads(int threads) { load_threads = std::max(threads, 1); }
int LoadThreads() { return load_threads; }

bool ShowProgress(uint64_t bytes) { return bytes >= (16u << 20) && isatty(STDERR_FILENO) == 1; }

absl::StatusOr<LoadedDump> LoadDump(const std::string& path, bool references) {
  struct stat st;
  const bool show = stat(path.c_str(), &st) == 0 && ShowProgress(static_cast<uint64_t>(st.st_size));
  LoadedDump dump;
  dump.path = path;
  {
    ProgressBar inflating("inflating", show);
    ASSIGN_OR_RETURN(dump.reader,
                     HprofReader::Open(path, [&](uint64_t done, uint64_t total) {
                       inflating.Update(done, total);
                     }));
  }
  ProgressBar reading("reading  ", show);
  BuildOptions options;
  options.references = references;
  options.objects = references;  // without references, counts per type only
  options.threads = LoadThreads();
  options.progress = [&](uint64_t done, uint64_t total) { reading.Update(done, total); };
  absl::StatusOr<std::unique_ptr<HeapGraph>> graph = HeapGraph::Build(*dump.reader, options);
  if (!graph.ok()) {
    return absl::Status(graph.status().code(),
                        absl::StrCat(path, ": ", graph.status().message()));
  }
  dump.graph = *std::move(graph);
  return dump;
}

absl::Status WriteOutputFile(const std::string& path, const std::string& bytes) {
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    const int error = errno;
    return absl::Status(absl::ErrnoToStatusCode(error),
                        absl::StrCat("creating ", path, ": ", std::strerror(error)));
  }
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  const int error = errno;
  if (std::fclose(file) != 0 || !written) {
    return absl::Status(absl::ErrnoToStatusCode(error),
                        absl::StrCat("writing ", path, ": ", std::strerror(error)));
  }
  return absl::OkStatus();
}

}  // namespace kiln::analysis
