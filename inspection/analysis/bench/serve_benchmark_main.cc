// serve_benchmark: kiln-heap serve on the heap shape of benchmarks/HEAP_SHAPE.md.
// Alternates, ROUNDS times, `kiln-heap dominators DUMP --top 1` (a child
// process: wall time, peak RSS) and `kiln-heap serve DUMP --port 0` (time
// until it prints its URL, i.e. the dump is loaded and every analysis the
// pages read is built; then the latency of API answers for object pages,
// referrer lists and the histogram; its peak RSS from /proc, VmHWM, before
// and after the answers). Prints medians. Not a test: timings on a shared
// machine are noisy.
//
// Usage: serve_benchmark N ROUNDS [DUMP]   (writes DUMP with heap_shape if absent)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "inspection/analysis/bench/bench_process.h"
#include "nlohmann/json.hpp"

namespace kiln {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double HwmMb(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return 0;
}

struct ServeRound {
  double ready_seconds = 0;
  double hwm_loaded_mb = 0, hwm_after_mb = 0;
  std::vector<double> object_ms, referrers_ms, histogram_ms;
};

ServeRound Serve(const std::string& kiln_heap, const std::string& dump) {
  ServeRound round;
  int out[2];
  if (pipe(out) != 0) return round;
  const Clock::time_point start = Clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    execl(kiln_heap.c_str(), kiln_heap.c_str(), "serve", dump.c_str(), "--port", "0", nullptr);
    _exit(127);
  }
  close(out[1]);
  std::string line;
  char c;
  while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
  round.ready_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  round.hwm_loaded_mb = HwmMb(pid);
  const size_t colon = line.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(line.substr(colon + 1, line.size() - colon - 2), &port)) {
    std::fprintf(stderr, "serve printed '%s'\n", line.c_str());
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return round;
  }
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(60, 0);
  const auto timed = [&](const std::string& path, std::vector<double>* into) -> std::string {
    const Clock::time_point t = Clock::now();
    httplib::Result r = client.Get(path.c_str());
    into->push_back(Ms(Clock::now() - t));
    return r && r->status == 200 ? r->body : "";
  };
  std::vector<double> ignored;
  // Objects to open: the biggest retainers and what they dominate, then
  // objects far down (a Node's chain, an array's elements).
  std::vector<std::string> ids;
  const nlohmann::json top = nlohmann::json::parse(timed("/api/dominators?limit=20", &ignored));
  for (const auto& child : top["children"]) {
    ids.push_back(child["id"]);
    const nlohmann::json below = nlohmann::json::parse(
        timed("/api/dominators?limit=5&parent=" + child["id"].get<std::string>(), &ignored));
    for (const auto& grandchild : below["children"]) ids.push_back(grandchild["id"]);
  }
  for (int i = 0; i < 5; ++i) timed("/api/histogram", &round.histogram_ms);
  for (int i = 0; i < 5; ++i) timed("/api/histogram?reachable=1", &round.histogram_ms);
  for (const std::string& id : ids) {
    timed("/api/object/" + id, &round.object_ms);
    timed("/api/object/" + id + "/referrers", &round.referrers_ms);
  }
  round.hwm_after_mb = HwmMb(pid);
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  close(out[0]);
  return round;
}

int Main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: serve_benchmark N ROUNDS [DUMP]\n");
    return 2;
  }
  const std::string n = argv[1];
  const int rounds = std::atoi(argv[2]);
  const std::string runfiles = absl::StrCat(argv[0], ".runfiles/kiln/");
  const std::string kiln_heap = runfiles + "inspection/analysis/kiln_heap";
  const std::string dump = argc > 3 ? argv[3] : absl::StrCat("/tmp/serve_shape_", n, ".hprof");
  if (!std::filesystem::exists(dump)) {
    const Sample made = Spawn({runfiles + "benchmarks/heap_shape", "--n=" + n, "--repeat=1",
                               "--mode=stw", "--out=" + dump},
                              "/dev/null");
    if (made.status != 0) return 1;
  }
  const double file_mb = std::filesystem::file_size(dump) / 1048576.0;
  std::vector<double> dom_s, dom_rss, ready_s, hwm_loaded, hwm_after, object_ms, referrers_ms,
      histogram_ms;
  for (int r = 0; r < rounds; ++r) {
    const Sample dom = Spawn({kiln_heap, "dominators", dump, "--top", "1"}, "/dev/null");
    dom_s.push_back(dom.seconds);
    dom_rss.push_back(dom.peak_rss_mb);
    const ServeRound serve = Serve(kiln_heap, dump);
    ready_s.push_back(serve.ready_seconds);
    hwm_loaded.push_back(serve.hwm_loaded_mb);
    hwm_after.push_back(serve.hwm_after_mb);
    object_ms.insert(object_ms.end(), serve.object_ms.begin(), serve.object_ms.end());
    referrers_ms.insert(referrers_ms.end(), serve.referrers_ms.begin(), serve.referrers_ms.end());
    histogram_ms.insert(histogram_ms.end(), serve.histogram_ms.begin(), serve.histogram_ms.end());
    std::fprintf(stderr, "round %d: dominators %.2f s, serve ready %.2f s\n", r + 1, dom.seconds,
                 serve.ready_seconds);
  }
  std::printf("dump %s: %.1f MiB, N = %s, %d rounds (medians)\n", dump.c_str(), file_mb, n.c_str(),
              rounds);
  std::printf("| what | median | ratio |\n|---|---:|---:|\n");
  std::printf("| kiln-heap dominators, wall | %.2f s | |\n", Median(dom_s));
  std::printf("| kiln-heap serve, until ready | %.2f s | %.2fx dominators |\n", Median(ready_s),
              Median(ready_s) / Median(dom_s));
  std::printf("| dominators peak RSS | %.0f MiB | %.2fx file |\n", Median(dom_rss),
              Median(dom_rss) / file_mb);
  std::printf("| serve peak RSS, ready | %.0f MiB | %.2fx file |\n", Median(hwm_loaded),
              Median(hwm_loaded) / file_mb);
  std::printf("| serve peak RSS, after the answers | %.0f MiB | %.2fx file |\n", Median(hwm_after),
              Median(hwm_after) / file_mb);
  std::printf("| /api/object/<id> (%zu answers) | %.2f ms | |\n", object_ms.size(), Median(object_ms));
  std::printf("| /api/object/<id>/referrers (%zu) | %.2f ms | |\n", referrers_ms.size(),
              Median(referrers_ms));
  std::printf("| /api/histogram[?reachable=1] (%zu) | %.2f ms | |\n", histogram_ms.size(),
              Median(histogram_ms));
  return 0;
}

}  // namespace
}  // namespace kiln

int main(int argc, char** argv) { return kiln::Main(argc, argv); }
