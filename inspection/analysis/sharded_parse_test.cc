// HeapGraph::Build with BuildOptions::threads 0 or above 1 (HprofReader::
// ParseSharded, graph_shards.cc) against the serial parse: the graph and
// every analysis (GraphText) identical on the known heap (full, live,
// gzip), on JDK-layout dumps, in all three build modes; and for malformed
// files (truncated, or one byte changed, at offsets across the file), the
// same Status, code and message. Small chunks split these small dumps
// inside their heap dump segments, so shards begin and end mid-segment.
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "inspection/analysis/graph_text.h"
#include "inspection/analysis/hand_heap.h"
#include "inspection/analysis/heap_graph.h"
#include "inspection/analysis/test_heap.h"
#include "inspection/hprof/hprof_format.h"
#include "inspection/hprof/hprof_reader.h"
#include "inspection/hprof/hprof_test_dumps.h"

namespace kiln::analysis {
namespace {

struct Mode {
  const char* name;
  bool references, objects;
};
constexpr Mode kModes[] = {{"whole", true, true},
                           {"no references", false, true},
                           {"counts only", false, false}};

struct Split {
  int threads;
  uint64_t chunk_bytes;
};
// threads 0: the shards parsed inline, without workers (the fuzzer's twin).
constexpr Split kSplits[] = {{2, 1}, {3, 64}, {2, 4096}, {4, uint64_t{1} << 20}, {0, 1}, {0, 4096}};

absl::StatusOr<std::string> BuildText(const std::vector<uint8_t>& bytes, const Mode& mode,
                                      int threads, uint64_t chunk_bytes) {
  std::unique_ptr<HprofReader> reader = HprofReader::FromBytes(bytes);
  BuildOptions options;
  options.references = mode.references;
  options.objects = mode.objects;
  options.threads = threads;
  options.parse_chunk_bytes = chunk_bytes;
  absl::StatusOr<std::unique_ptr<HeapGraph>> graph = HeapGraph::Build(*reader, options);
  if (!graph.ok()) return graph.status();
  return GraphText(**graph);
}

std::string Describe(const absl::StatusOr<std::string>& text) {
  return text.ok() ? *text : text.status().ToString();
}

// ExpectSameOnAnyThreads: `bytes` built serially and split every way, in
// every mode; returns how many (mode) builds failed serially.
int ExpectSameOnAnyThreads(const std::vector<uint8_t>& bytes, bool expect_ok) {
  int failed = 0;
  for (const Mode& mode : kModes) {
    SCOPED_TRACE(mode.name);
    const absl::StatusOr<std::string> serial = BuildText(bytes, mode, 1, 1);
    if (expect_ok) {
      EXPECT_TRUE(serial.ok()) << serial.status();
    }
    failed += serial.ok() ? 0 : 1;
    for (const Split& split : kSplits) {
      SCOPED_TRACE(absl::StrCat(split.threads, " threads, chunks of ", split.chunk_bytes));
      const absl::StatusOr<std::string> sharded =
          BuildText(bytes, mode, split.threads, split.chunk_bytes);
      EXPECT_EQ(Describe(serial), Describe(sharded));
    }
  }
  return failed;
}

std::vector<uint8_t> KnownHeap(const std::string& name, const testing::KnownHeapOptions& options) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  const absl::Status dumped = testing::DumpKnownHeap(path, options);
  EXPECT_TRUE(dumped.ok()) << dumped;
  std::ifstream file(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(file), {});
}

TEST(ShardedParseTest, KnownHeapIsTheSameOnAnyThreadCount) {
  for (const bool live : {false, true}) {
    for (const int gzip : {0, 1}) {
      SCOPED_TRACE(absl::StrCat(live ? "live" : "full", " gzip ", gzip));
      const std::vector<uint8_t> bytes =
          KnownHeap("known.hprof", {.live = live, .gzip_level = gzip});
      ASSERT_GT(bytes.size(), 1000u);
      ExpectSameOnAnyThreads(bytes, /*expect_ok=*/true);
    }
  }
}

TEST(ShardedParseTest, JdkStyleDumpsAreTheSameOnAnyThreadCount) {
  for (const uint32_t id_size : {4u, 8u}) {
    SCOPED_TRACE(id_size);
    ExpectSameOnAnyThreads(kiln::testing::JdkStyleDump(id_size), /*expect_ok=*/true);
  }
}

// The shards' own checks: a CLASS_DUMP or an object twice (the second may
// be in a later shard than the first).
TEST(ShardedParseTest, RepeatedRecordsFailTheSameOnAnyThreadCount) {
  HandHeap heap;
  const uint64_t leaf = heap.Class("app.Leaf", {{"next", hprof::kObject}});
  const uint64_t a = heap.Instance(leaf, {0});
  const uint64_t b = heap.Instance(leaf, {a});
  heap.Root(RootType::kJniGlobal, b);
  for (const uint64_t id : {a, leaf}) {
    SCOPED_TRACE(id);
    HandHeap twice = heap;
    twice.Repeat(id);
    absl::StatusOr<std::vector<uint8_t>> bytes = twice.Bytes();
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    // The counting mode does not look for repeated object ids.
    EXPECT_GE(ExpectSameOnAnyThreads(*bytes, /*expect_ok=*/false), id == leaf ? 3 : 2);
  }
}

TEST(ShardedParseTest, MalformedFilesFailWithTheSameStatusOnAnyThreadCount) {
  const std::vector<uint8_t> bytes = KnownHeap("malformed.hprof", {.live = true});
  ASSERT_GT(bytes.size(), 1000u);
  constexpr int kCuts = 60;
  int failed = 0, builds = 0;
  for (int k = 1; k < kCuts; ++k) {
    const size_t at = bytes.size() * k / kCuts + k % 7;
    SCOPED_TRACE(at);
    {
      SCOPED_TRACE("truncated");
      failed += ExpectSameOnAnyThreads(std::vector<uint8_t>(bytes.begin(), bytes.begin() + at),
                                       /*expect_ok=*/false);
    }
    for (const uint8_t flip : {0x01, 0x80, 0xFF}) {
      SCOPED_TRACE(absl::StrCat("xor ", flip));
      std::vector<uint8_t> changed = bytes;
      changed[at] ^= flip;
      failed += ExpectSameOnAnyThreads(changed, /*expect_ok=*/false);
    }
    builds += 4 * 3;
  }
  // Every truncation fails, and many changed bytes do.
  EXPECT_GE(failed, (kCuts - 1) * 3);
  EXPECT_LT(failed, builds);
}

}  // namespace
}  // namespace kiln::analysis
