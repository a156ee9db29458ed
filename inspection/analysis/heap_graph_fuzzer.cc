// libFuzzer target for the analyzer: any bytes the reader accepts must build
// a HeapGraph or fail with a Status, and every analysis kiln-heap runs on a
// graph (histogram, shortest paths, flamegraph, dominators, threads, string
// decoding) must finish without a crash, a leak or undefined behaviour; a
// file the graph refuses as malformed is refused naming an offset. Built
// with clang outside Bazel by the `kiln` script's fuzz stage, like
// inspection/hprof/hprof_reader_fuzzer.cc, and seeded with the same corpus.
// Each input is built a second time by the sharded parse (chunks of a size
// the input picks, so shards split its segments), which must give the same
// Status and the same objects. It runs without worker threads
// (BuildOptions::threads = 0): with them, how often a wait's predicate ran
// depended on the threads' timing, and so did the hit counts libFuzzer
// steers by, so a fixed-seed run took other inputs every time. The threads
// themselves are tested under TSan (sharded_parse_test).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "base/check.h"
#include "inspection/analysis/dominators.h"
#include "inspection/analysis/flamegraph.h"
#include "inspection/analysis/heap_graph.h"
#include "inspection/analysis/histogram.h"
#include "inspection/analysis/shortest_path_tree.h"
#include "inspection/hprof/hprof_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kiln::analysis;
  std::unique_ptr<kiln::HprofReader> reader =
      kiln::HprofReader::FromBytes(std::vector<uint8_t>(data, data + size));
  absl::StatusOr<std::unique_ptr<HeapGraph>> graph = HeapGraph::Build(*reader, {});
  KILN_CHECK(graph.ok() || !absl::IsDataLoss(graph.status()) ||
                 absl::StrContains(graph.status().message(), "offset "),
             "a malformed-file error without an offset: ", graph.status().ToString());
  {
    BuildOptions sharded;
    sharded.threads = 0;
    sharded.parse_chunk_bytes = 1 + size % 251;
    absl::StatusOr<std::unique_ptr<HeapGraph>> twin = HeapGraph::Build(*reader, sharded);
    KILN_CHECK(graph.ok() == twin.ok() && graph.status() == twin.status(),
               "the parallel parse disagrees: ", graph.status().ToString(), " against ",
               twin.status().ToString());
    if (graph.ok()) {
      const HeapGraph &a = **graph, &b = **twin;
      KILN_CHECK(a.object_count() == b.object_count() && a.type_count() == b.type_count(),
                 "the parallel parse found other objects or types");
      for (uint32_t obj = 0; obj < a.object_count(); ++obj) {
        KILN_CHECK(a.id(obj) == b.id(obj) && a.type(obj) == b.type(obj) &&
                       a.self_size(obj) == b.self_size(obj) &&
                       a.references(obj).size() == b.references(obj).size(),
                   "the parallel parse differs at object ", obj);
      }
    }
  }
  if (!graph.ok()) return 0;
  const HeapGraph& g = **graph;
  (void)Histogram(g, {.reachable_only = true});
  const ShortestPathTree tree = ComputeShortestPathTree(g);
  const Flamegraph flame = BuildFlamegraph(g, tree);
  (void)FlamegraphFolded(flame);
  (void)FlamegraphJson(flame);
  (void)FlamegraphSvg(flame, "fuzz");
  const DominatorTree dom = ComputeDominators(g, {.include_native = true});
  for (uint32_t obj : TopRetainers(g, dom, 5)) (void)PathToRoot(tree, obj);
  for (uint32_t obj = 0; obj < g.object_count(); ++obj) {
    (void)g.StringValue(obj);
    for (const Reference& ref : g.references(obj)) (void)g.field_name(ref.field_name);
  }
  return 0;
}
