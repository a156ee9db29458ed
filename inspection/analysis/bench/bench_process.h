// The analyzer benchmarks' child processes: wall time, CPU time and peak RSS
// of one run (wait4), and medians.
#ifndef KILN_INSPECTION_ANALYSIS_BENCH_BENCH_PROCESS_H_
#define KILN_INSPECTION_ANALYSIS_BENCH_BENCH_PROCESS_H_

#include <string>
#include <vector>

namespace kiln {

struct Sample {
  double seconds = 0;
  double cpu_seconds = 0;  // user + system, all threads (less sensitive to a shared machine)
  double peak_rss_mb = 0;
  int status = -1;
};

// Spawn runs `argv` with stdout to `out_path` and returns its wall time and
// peak RSS (ru_maxrss of the child, from wait4).
Sample Spawn(const std::vector<std::string>& argv, const std::string& out_path);

double Median(std::vector<double> values);

}  // namespace kiln

#endif  // KILN_INSPECTION_ANALYSIS_BENCH_BENCH_PROCESS_H_
