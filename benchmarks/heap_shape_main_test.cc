// //benchmarks:heap_shape run as `./kiln bench` runs it: exactly one `dump`
// line per dump and one `median` line per mode, in the form the script
// parses, with every file deleted once measured; and --out, which keeps one
// dump (the analyzer's benchmark reads it) holding the shape.
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "inspection/hprof/hprof_snapshot.h"
#include "tests/subprocess.h"

namespace kiln::bench {
namespace {

using testing::ListDir;
using testing::MakeTempDir;
using testing::RunCommand;
using testing::RunfilePath;
using testing::ToolResult;

constexpr int64_t kN = 1600;

struct Line {
  std::string kind;  // dump or median
  std::string mode;
  uint64_t bytes = 0;
  uint64_t objects = 0;
};

// Lines: the dump and median lines of `out`; any other line but `rss ...`
// and the one `heap ...` line is a failure.
std::vector<Line> Lines(const std::string& out, bool live) {
  const std::regex form(absl::StrCat(
      "(dump|median) n=", kN, " live=", live ? "true" : "false",
      " mode=(stw|fork) seconds=[0-9]+\\.[0-9]{4} pause_seconds=[0-9]+\\.[0-9]{4}"
      " bytes=([0-9]+) objects=([0-9]+)"
      " ttsp_ms=[0-9.]+ prologue_ms=[0-9.]+ fork_ms=[0-9.]+ cpu_ms=[0-9.]+ child_cpu_ms=[0-9.]+"
      " steps_ms=[0-9]+\\.[0-9]{3}(/[0-9]+\\.[0-9]{3}){9}"));
  const std::regex heap(absl::StrCat("heap n=", kN,
                                     " huge_pages=(true|false) committed_bytes=[0-9]+"
                                     " huge_page_bytes=[0-9]+"));
  std::vector<Line> lines;
  for (absl::string_view text : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    const std::string s(text);
    std::smatch match;
    if (std::regex_match(s, match, form)) {
      Line line{match[1], match[2]};
      EXPECT_TRUE(absl::SimpleAtoi(match[3].str(), &line.bytes));
      EXPECT_TRUE(absl::SimpleAtoi(match[4].str(), &line.objects));
      lines.push_back(line);
    } else if (!std::regex_match(s, heap) && s.rfind("floor", 0) != 0 &&
               s.rfind("gz_floor", 0) != 0) {
      EXPECT_EQ(s.rfind("rss ", 0), 0u) << "unexpected line: " << s;
    }
  }
  return lines;
}

TEST(HeapShapeMainTest, OneLinePerDumpAMedianPerModeAndNoFileLeft) {
  const std::string dir = MakeTempDir("heap-shape");
  const ToolResult run = RunCommand({RunfilePath("benchmarks/heap_shape"),
                                     absl::StrCat("--n=", kN), "--repeat=2", "--mode=stw,fork",
                                     absl::StrCat("--dir=", dir)});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::map<std::string, int> count;
  const std::vector<Line> lines = Lines(run.out, /*live=*/false);
  ASSERT_FALSE(lines.empty()) << run.out;
  for (const Line& line : lines) {
    ++count[absl::StrCat(line.kind, " ", line.mode)];
    // The same frozen heap every time, in both modes: the same dump.
    EXPECT_EQ(line.bytes, lines[0].bytes);
    EXPECT_EQ(line.objects, lines[0].objects);
  }
  EXPECT_EQ(count, (std::map<std::string, int>{
                       {"dump fork", 2}, {"dump stw", 2}, {"median fork", 1}, {"median stw", 1}}));
  // A full dump holds the live and the garbage Nodes at least.
  EXPECT_GT(lines[0].objects, static_cast<uint64_t>(kN + kN / 4));
  EXPECT_TRUE(ListDir(dir).empty());
}

// Floors: the byte counts of `out`'s `<kind> n=... seconds=... bytes=...`
// lines in order, and how many `<kind>_median` lines it has.
struct Floors {
  std::vector<uint64_t> bytes;
  int medians = 0;
};
Floors FloorLines(const std::string& out, const std::string& kind) {
  const std::regex floor(absl::StrCat(kind, " n=", kN, " seconds=[0-9]+\\.[0-9]{4} bytes=([0-9]+)"));
  const std::regex median(absl::StrCat(kind, "_median n=", kN, " seconds=[0-9]+\\.[0-9]{4}"));
  Floors floors;
  for (absl::string_view text : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    const std::string s(text);
    std::smatch match;
    if (std::regex_match(s, match, floor)) {
      uint64_t bytes = 0;
      EXPECT_TRUE(absl::SimpleAtoi(match[1].str(), &bytes)) << s;
      floors.bytes.push_back(bytes);
    } else if (std::regex_match(s, median)) {
      ++floors.medians;
    }
  }
  return floors;
}

// --floor: per repetition, a write of the dump's byte count into --dir (the
// dd floor, in the same run), and its median; its file is deleted too.
TEST(HeapShapeMainTest, FloorWritesTheDumpsBytesOncePerRepetition) {
  const std::string dir = MakeTempDir("heap-shape-floor");
  const ToolResult run = RunCommand({RunfilePath("benchmarks/heap_shape"),
                                     absl::StrCat("--n=", kN), "--repeat=3", "--mode=stw,fork",
                                     "--floor", absl::StrCat("--dir=", dir)});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<Line> dumps = Lines(run.out, /*live=*/false);
  ASSERT_FALSE(dumps.empty()) << run.out;
  const Floors floors = FloorLines(run.out, "floor");
  EXPECT_EQ(floors.bytes, std::vector<uint64_t>(3, dumps[0].bytes)) << run.out;
  EXPECT_EQ(floors.medians, 1) << run.out;
  EXPECT_TRUE(ListDir(dir).empty());
}

// --floor with --gz: per repetition, also the compression alone of the
// plain dump's bytes in memory. What it compressed is what each compressed
// dump holds, but for the header's 8-byte timestamp (the dumps of one process
// differ in nothing else), so its size is theirs within a few bytes; another
// level or other bytes would be off by hundreds.
TEST(HeapShapeMainTest, GzFloorCompressesTheDumpsOwnBytesOncePerRepetition) {
  const std::string dir = MakeTempDir("heap-shape-gz-floor");
  const ToolResult run = RunCommand({RunfilePath("benchmarks/heap_shape"),
                                     absl::StrCat("--n=", kN), "--repeat=2", "--mode=stw,fork",
                                     "--gz=1", "--floor", absl::StrCat("--dir=", dir)});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<Line> dumps = Lines(run.out, /*live=*/false);
  ASSERT_EQ(dumps.size(), 6u) << run.out;
  constexpr double kTimestampSlack = 16;
  const Floors floors = FloorLines(run.out, "gz_floor");
  ASSERT_EQ(floors.bytes.size(), 2u) << run.out;
  for (uint64_t bytes : floors.bytes) {
    for (const Line& dump : dumps) EXPECT_NEAR(bytes, dump.bytes, kTimestampSlack) << run.out;
  }
  EXPECT_EQ(floors.medians, 1) << run.out;
  EXPECT_TRUE(ListDir(dir).empty());
}

TEST(HeapShapeMainTest, OutKeepsOneDumpThatHoldsTheShape) {
  const std::string path = MakeTempDir("heap-shape-out") + "/shape.hprof";
  const ToolResult run =
      RunCommand({RunfilePath("benchmarks/heap_shape"), absl::StrCat("--n=", kN), "--repeat=1",
                  "--mode=fork", "--live=true", absl::StrCat("--out=", path)});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<Line> lines = Lines(run.out, /*live=*/true);
  ASSERT_EQ(lines.size(), 2u) << run.out;
  absl::StatusOr<std::unique_ptr<HprofSnapshot>> dump = HprofSnapshot::Load(path);
  ASSERT_TRUE(dump.ok()) << dump.status();
  EXPECT_EQ((*dump)->InstancesOf("Node").size(), static_cast<size_t>(kN));
  EXPECT_EQ(lines[0].objects, (*dump)->instances().size() + (*dump)->object_arrays().size() +
                                  (*dump)->primitive_arrays().size());
}

TEST(HeapShapeMainTest, OutTakesExactlyOneDump) {
  const std::string dir = MakeTempDir("heap-shape-usage");
  const ToolResult run =
      RunCommand({RunfilePath("benchmarks/heap_shape"), absl::StrCat("--n=", kN), "--repeat=2",
                  absl::StrCat("--out=", dir, "/shape.hprof")});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("--out takes one dump"), std::string::npos) << run.err;
  EXPECT_TRUE(ListDir(dir).empty());
}

}  // namespace
}  // namespace kiln::bench
