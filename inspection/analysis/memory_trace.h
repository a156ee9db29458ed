// TraceMemory: with KILN_HEAP_MEMORY set in the environment, kiln-heap
// prints to stderr, after each phase of loading and analysing a dump, the
// process's resident memory (anonymous and file-backed, from
// /proc/self/status), its peak so far, and the seconds since the first
// phase printed: how README.md's memory budget ("The leaner graph") was
// measured.
//
//   KILN_HEAP_MEMORY=1 kiln-heap dominators /tmp/shape.hprof > /dev/null
#ifndef KILN_INSPECTION_ANALYSIS_MEMORY_TRACE_H_
#define KILN_INSPECTION_ANALYSIS_MEMORY_TRACE_H_

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace kiln::analysis {

inline void TraceMemory(const char* phase) {
  static const bool enabled = std::getenv("KILN_HEAP_MEMORY") != nullptr;
  if (!enabled) return;
  static const auto start = std::chrono::steady_clock::now();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  FILE* status = std::fopen("/proc/self/status", "r");
  if (status == nullptr) return;
  long rss = -1, anon = -1, file = -1, peak = -1;
  char line[256];
  while (std::fgets(line, sizeof(line), status) != nullptr) {
    long* field = std::strncmp(line, "VmRSS:", 6) == 0     ? &rss
                  : std::strncmp(line, "RssAnon:", 8) == 0 ? &anon
                  : std::strncmp(line, "RssFile:", 8) == 0 ? &file
                  : std::strncmp(line, "VmHWM:", 6) == 0   ? &peak
                                                           : nullptr;
    if (field != nullptr) std::sscanf(std::strchr(line, ':') + 1, "%ld", field);
  }
  std::fclose(status);
  std::fprintf(stderr,
               "memory: %-34s resident %7ld KiB (anon %7ld, file %6ld), peak %7ld KiB, %6.2f s\n",
               phase, rss, anon, file, peak, seconds);
}

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_MEMORY_TRACE_H_
