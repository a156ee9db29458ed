// analyzer_benchmark: kiln-heap against VisualVM's heap library on the
// benchmark heap shape (benchmarks/HEAP_SHAPE.md), side by side in one run.
//
//   bazel run -c opt //inspection/analysis/bench:analyzer_benchmark -- [N] [RUNS] [DUMP]
//
// It writes a full dump of the shape at N (default 4,000,000) with Kiln
// (//benchmarks:heap_shape --out), unless DUMP names an existing file, then alternates
// RUNS times (default 5): `kiln-heap histogram DUMP` (serial, and on two parse
// threads: --threads 1 and 2) (and, for scale,
// `--reachable`, which builds the whole graph) and VisualVM opening
// DUMP and computing its class histogram (VisualVmHistogram.java; its
// .hwcache index is deleted before every run so each run parses the file).
// Each is a child process timed by wall clock, its peak RSS from wait4.
// Prints the medians (wall and CPU time, and the load average after each
// run: the machine may be shared), the ratios, and peak RSS against the file
// size; also the HPROF reader alone (in process, no graph) for scale.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "inspection/analysis/bench/bench_process.h"
#include "inspection/hprof/hprof_reader.h"

namespace kiln {
namespace {

constexpr char kHeapJar[] =
    "/usr/share/visualvm/visualvm/modules/org-graalvm-visualvm-lib-jfluid-heap.jar";

std::string FirstLine(const std::string& path, const std::string& prefix) {
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return "";
  char line[512];
  std::string found;
  while (std::fgets(line, sizeof(line), file) != nullptr) {
    if (std::string(line).find(prefix) != std::string::npos) {
      found = line;
      break;
    }
  }
  std::fclose(file);
  if (!found.empty() && found.back() == '\n') found.pop_back();
  return found;
}

// LoadAverage: the first field of /proc/loadavg, to show how busy the
// (possibly shared) machine was.
std::string LoadAverage() {
  FILE* file = std::fopen("/proc/loadavg", "r");
  if (file == nullptr) return "?";
  char line[128] = {};
  const bool read = std::fgets(line, sizeof(line), file) != nullptr;
  std::fclose(file);
  if (!read) return "?";
  std::string text(line);
  return text.substr(0, text.find(' '));
}

// ReaderOnlySeconds: HprofReader::Open + Parse with a visitor that ignores
// everything: the floor any analysis of this file pays.
double ReaderOnlySeconds(const std::string& dump) {
  const auto start = std::chrono::steady_clock::now();
  auto reader = HprofReader::Open(dump);
  HprofVisitor ignore;
  if (!reader.ok() || !(*reader)->Parse(ignore).ok()) return -1;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int Main(int argc, char** argv) {
  int64_t n = 4000000;
  int runs = 5;
  if ((argc > 1 && !absl::SimpleAtoi(argv[1], &n)) ||
      (argc > 2 && (!absl::SimpleAtoi(argv[2], &runs) || runs < 1))) {
    std::fprintf(stderr, "usage: analyzer_benchmark [N] [RUNS] [DUMP]\n");
    return 2;
  }
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/kiln-analyzer-bench-",
                                       getpid());
  std::filesystem::create_directories(dir);
  std::string dump = argc > 3 ? argv[3] : absl::StrCat(dir, "/heap-shape.hprof");
  const bool own_dump = argc <= 3;
  // bazel run starts us in the runfiles tree.
  const std::string kiln_heap = "inspection/analysis/kiln_heap";
  if (own_dump) {
    std::printf("writing the heap shape at N = %lld ...\n", static_cast<long long>(n));
    const Sample made = Spawn({"benchmarks/heap_shape", absl::StrCat("--n=", n), "--repeat=1",
                               "--mode=stw", absl::StrCat("--out=", dump)},
                              dir + "/dump.out");
    if (made.status != 0) {
      std::fprintf(stderr, "heap_shape failed (%d)\n", made.status);
      return 1;
    }
  }
  const Sample javac = Spawn({"javac", "-cp", kHeapJar, "-d", dir,
                              "inspection/analysis/bench/VisualVmHistogram.java"},
                             dir + "/javac.out");
  if (javac.status != 0) {
    std::fprintf(stderr, "javac failed: is the visualvm package installed (./kiln setup)?\n");
    return 1;
  }
  struct stat st;
  stat(dump.c_str(), &st);
  const double file_mb = st.st_size / 1e6 / 1.048576;  // MiB, like ru_maxrss
  std::printf("dump %s: %.1f MiB\n\n", dump.c_str(), file_mb);
  std::printf("%-4s %32s %32s %20s %6s\n", "run", "kiln-heap histogram (wall, cpu)",
              "VisualVM histogram (wall, cpu)", "kiln --reachable", "load");
  std::vector<double> kiln_s, kiln_cpu, kiln_rss, vv_s, vv_cpu, vv_rss, reader_s;
  std::vector<double> full_s, full_cpu, full_rss;  // --reachable: the whole graph
  // The same two commands parsing on two threads (--threads 2; the others
  // run --threads 1, the serial parse), alternated with them in each run.
  std::vector<double> kiln2_s, kiln2_cpu, full2_s, full2_cpu;
  for (int run = 1; run <= runs; ++run) {
    const Sample kiln = Spawn({kiln_heap, "--threads", "1", "histogram", dump}, dir + "/kiln.out");
    const Sample kiln2 =
        Spawn({kiln_heap, "--threads", "2", "histogram", dump}, dir + "/kiln2.out");
    const Sample full = Spawn({kiln_heap, "--threads", "1", "histogram", "--reachable", dump},
                              dir + "/full.out");
    const Sample full2 = Spawn({kiln_heap, "--threads", "2", "histogram", "--reachable", dump},
                               dir + "/full2.out");
    std::filesystem::remove_all(dump + ".hwcache");  // VisualVM's index: rebuild it every run
    const Sample vv = Spawn({"java", "-cp", absl::StrCat(kHeapJar, ":", dir), "VisualVmHistogram",
                             dump},
                            dir + "/visualvm.out");
    if (kiln.status != 0 || full.status != 0 || vv.status != 0 || kiln2.status != 0 ||
        full2.status != 0) {
      std::fprintf(stderr,
                   "a run failed: kiln-heap %d, --reachable %d, VisualVM %d, on 2 threads %d "
                   "and %d\n",
                   kiln.status, full.status, vv.status, kiln2.status, full2.status);
      return 1;
    }
    kiln2_s.push_back(kiln2.seconds);
    kiln2_cpu.push_back(kiln2.cpu_seconds);
    full2_s.push_back(full2.seconds);
    full2_cpu.push_back(full2.cpu_seconds);
    kiln_s.push_back(kiln.seconds);
    kiln_cpu.push_back(kiln.cpu_seconds);
    kiln_rss.push_back(kiln.peak_rss_mb);
    full_s.push_back(full.seconds);
    full_cpu.push_back(full.cpu_seconds);
    full_rss.push_back(full.peak_rss_mb);
    vv_s.push_back(vv.seconds);
    vv_cpu.push_back(vv.cpu_seconds);
    vv_rss.push_back(vv.peak_rss_mb);
    std::printf("%-4d %7.2f s %7.2f s %6.0f MiB %7.2f s %7.2f s %6.0f MiB %7.2f s %6.0f MiB %6s"
                "  (2 threads: %.2f s, --reachable %.2f s)\n",
                run, kiln.seconds, kiln.cpu_seconds, kiln.peak_rss_mb, vv.seconds,
                vv.cpu_seconds, vv.peak_rss_mb, full.seconds, full.peak_rss_mb,
                LoadAverage().c_str(), kiln2.seconds, full2.seconds);
  }
  std::filesystem::remove_all(dump + ".hwcache");
  // The reader alone runs in this process, after the children: posix_spawn
  // shares this process's memory until exec, and Linux carries its peak RSS
  // into the child's ru_maxrss, so mapping the dump here first would show in
  // every later child's peak.
  for (int run = 1; run <= runs; ++run) reader_s.push_back(ReaderOnlySeconds(dump));
  std::printf("\nkiln-heap: %s\n", FirstLine(dir + "/kiln.out", "total").c_str());
  std::printf("VisualVM:  %s\n", FirstLine(dir + "/visualvm.out", "classes").c_str());
  const double kiln = Median(kiln_s), vv = Median(vv_s);
  std::printf("\nmedians of %d runs:\n", runs);
  std::printf("  kiln-heap histogram  %.2f s (cpu %.2f s), peak RSS %.0f MiB (%.2fx the file)\n",
              kiln, Median(kiln_cpu), Median(kiln_rss), Median(kiln_rss) / file_mb);
  std::printf("  kiln-heap histogram --reachable (whole graph) %.2f s (cpu %.2f s), peak RSS %.0f "
              "MiB (%.2fx the file)\n",
              Median(full_s), Median(full_cpu), Median(full_rss), Median(full_rss) / file_mb);
  std::printf("  on 2 threads: histogram %.2f s (cpu %.2f s), --reachable %.2f s (cpu %.2f s): "
              "%.2fx and %.2fx the serial parse's wall time\n",
              Median(kiln2_s), Median(kiln2_cpu), Median(full2_s), Median(full2_cpu),
              kiln / Median(kiln2_s), Median(full_s) / Median(full2_s));
  std::printf("  VisualVM histogram   %.2f s (cpu %.2f s), peak RSS %.0f MiB (%.2fx the file)\n",
              vv, Median(vv_cpu), Median(vv_rss), Median(vv_rss) / file_mb);
  std::printf("  VisualVM / kiln-heap %.2fx wall, %.2fx cpu\n", vv / kiln,
              Median(vv_cpu) / Median(kiln_cpu));
  std::printf("  HPROF reader alone (in process, no graph): %.2f s\n", Median(reader_s));
  if (own_dump) std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace kiln

int main(int argc, char** argv) { return kiln::Main(argc, argv); }
