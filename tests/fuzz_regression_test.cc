// Every input of the fuzz regression corpus (tests/fuzz_regressions/, see its
// README.md) through what the fuzz targets run: HprofReader alone,
// HprofSnapshot with its queries, and HeapGraph with every analysis kiln-heap
// runs. Each input is read or rejected with a DataLoss error naming an
// offset; a hang is caught by this test's Bazel timeout, never by a clock.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "inspection/analysis/dominators.h"
#include "inspection/analysis/flamegraph.h"
#include "inspection/analysis/heap_graph.h"
#include "inspection/analysis/histogram.h"
#include "inspection/analysis/shortest_path_tree.h"
#include "inspection/hprof/hprof_reader.h"
#include "inspection/hprof/hprof_snapshot.h"
#include "tests/subprocess.h"

namespace kiln {
namespace {

struct Input {
  std::string name;  // "<target>/<file>"
  std::vector<uint8_t> bytes;
};

std::vector<Input> Corpus() {
  const std::filesystem::path root = testing::RunfilePath("tests/fuzz_regressions");
  std::vector<Input> inputs;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".hprof") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    inputs.push_back({entry.path().lexically_relative(root).string(),
                      {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()}});
  }
  return inputs;
}

void ExpectOkOrOffset(const absl::Status& status, const char* reader) {
  if (status.ok()) return;
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << reader << ": " << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "offset ")) << reader << ": " << status;
}

// Snapshot: the hprof_reader fuzzer's queries.
absl::Status Snapshot(const std::vector<uint8_t>& bytes) {
  absl::StatusOr<std::unique_ptr<HprofSnapshot>> snapshot = HprofSnapshot::FromBytes(bytes);
  if (!snapshot.ok()) return snapshot.status();
  (void)(*snapshot)->CheckReferences();
  for (const auto& [id, instance] : (*snapshot)->instances()) {
    (void)(*snapshot)->Fields(id);
    (void)(*snapshot)->StringValue(id);
  }
  return absl::OkStatus();
}

// Graph: the heap_graph fuzzer's analyses.
absl::Status Graph(const std::vector<uint8_t>& bytes) {
  using namespace analysis;
  std::unique_ptr<HprofReader> reader = HprofReader::FromBytes(bytes);
  absl::StatusOr<std::unique_ptr<HeapGraph>> graph = HeapGraph::Build(*reader, {});
  if (!graph.ok()) return graph.status();
  const HeapGraph& g = **graph;
  (void)Histogram(g, {.reachable_only = true});
  const ShortestPathTree tree = ComputeShortestPathTree(g);
  const Flamegraph flame = BuildFlamegraph(g, tree);
  (void)FlamegraphJson(flame);
  (void)FlamegraphSvg(flame, "regression");
  const DominatorTree dom = ComputeDominators(g, {.include_native = true});
  for (const uint32_t obj : TopRetainers(g, dom, 5)) (void)PathToRoot(tree, obj);
  for (uint32_t obj = 0; obj < g.object_count(); ++obj) (void)g.StringValue(obj);
  return absl::OkStatus();
}

TEST(FuzzRegressionTest, EveryInputIsReadOrRejectedNamingAnOffset) {
  const std::vector<Input> corpus = Corpus();
  ASSERT_FALSE(corpus.empty());
  for (const Input& input : corpus) {
    SCOPED_TRACE(input.name);
    HprofVisitor ignore;
    ExpectOkOrOffset(HprofReader::FromBytes(input.bytes)->Parse(ignore), "HprofReader");
    ExpectOkOrOffset(Snapshot(input.bytes), "HprofSnapshot");
    ExpectOkOrOffset(Graph(input.bytes), "HeapGraph");
  }
}

TEST(FuzzRegressionTest, SuperclassLoopIsRejectedNamingTheClass) {
  for (const Input& input : Corpus()) {
    if (input.name != "hprof_reader/super-cycle.hprof") continue;
    for (const absl::Status& status : {Snapshot(input.bytes), Graph(input.bytes)}) {
      EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
      EXPECT_TRUE(absl::StrContains(status.message(), "HPROF offset ")) << status;
      EXPECT_TRUE(absl::StrContains(status.message(), "CLASS_DUMP of class 0x")) << status;
      EXPECT_TRUE(absl::StrContains(status.message(), "superclass chain loops")) << status;
    }
    return;
  }
  FAIL() << "no hprof_reader/super-cycle.hprof in the corpus";
}

}  // namespace
}  // namespace kiln
