// heap_shape_dump: builds the benchmark heap shape (docs/heap-shape.md,
// benchmarks/heap_shape.h) at size N in a Kiln runtime and writes one heap
// dump of it, for the analyzer benchmark.
//
//   heap_shape_dump <N> <path> [--live] [--gzip=LEVEL]
//
// A full dump (the default) holds the garbage tree too: 1.625·N objects.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "benchmarks/heap_shape.h"
#include "inspection/vm_runtime.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

absl::Status Dump(int64_t n, const HeapDumpOptions& dump) {
  RuntimeOptions options;
  options.heap_limit_bytes = size_t{8} << 30;
  options.initial_heap_bytes = 32 << 20;
  options.classes = bench::HeapShapeClasses();
  ASSIGN_OR_RETURN(std::unique_ptr<Runtime> runtime, Runtime::Create(options));
  bench::HeapShape shape(*runtime, n);
  {
    ThreadScope scope(*runtime, "main");
    RETURN_IF_ERROR(shape.Build(scope.thread()));
  }
  shape.Park();
  HeapDumpStats stats;
  ASSIGN_OR_RETURN(const std::string path, VMRuntime::DumpHeap(*runtime, dump, &stats));
  std::printf("%s\n", path.c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace kiln

int main(int argc, char** argv) {
  int64_t n = 0;
  kiln::HeapDumpOptions dump;
  dump.live = false;
  bool usage = argc < 3 || !absl::SimpleAtoi(argv[1], &n) || n < 0;
  if (!usage) dump.path = argv[2];
  for (int i = 3; i < argc && !usage; ++i) {
    const std::string arg = argv[i];
    if (arg == "--live") {
      dump.live = true;
    } else if (absl::StartsWith(arg, "--gzip=")) {
      usage = !absl::SimpleAtoi(arg.substr(7), &dump.gzip_level) || dump.gzip_level < 1 ||
              dump.gzip_level > 9;
    } else {
      usage = true;
    }
  }
  if (usage) {
    std::fprintf(stderr, "usage: heap_shape_dump <N> <path> [--live] [--gzip=1..9]\n");
    return 2;
  }
  const absl::Status status = kiln::Dump(n, dump);
  if (!status.ok()) {
    std::fprintf(stderr, "heap_shape_dump: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
