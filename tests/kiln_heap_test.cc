// kiln-heap end to end: the binary run as a user runs it, on dumps a Kiln
// runtime writes in this test (inspection/analysis/test_heap.h: a heap whose
// answers are known by hand), plain and in HotSpot's block gzip; and on
// corrupt, truncated and missing files, which must give exit status 1 and a
// message naming the offset, never a crash.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "inspection/analysis/sql_equivalence_queries.h"
#include "inspection/analysis/test_heap.h"
#include "inspection/hprof/byte_sink.h"
#include "inspection/hprof/gzip_sink.h"
#include "tests/heap_equivalence.h"
#include "tests/kiln_heap_runner.h"
#include "tests/perfetto_self_size.h"

namespace kiln {
namespace {

using analysis::testing::kAllItems;
using analysis::testing::kItemSelfBytes;
using analysis::testing::kListItems;
using analysis::testing::kNativeBytes;

// The query from Perfetto's Java heap dump docs, as is (inspection/hprof/HPROF.md).
constexpr char kSeedQuery[] = R"(select c.name, sum(o.self_size)
from heap_graph_object o join heap_graph_class c on (o.type_id = c.id)
where reachable = 1 group by 1 order by 2 desc;)";

using testing::HistogramRows;
using testing::QueryRows;
using testing::ReadFile;
using testing::RunKilnHeap;
using testing::TableRows;
using testing::ToolResult;

class KilnHeapTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(absl::StrCat(std::getenv("TEST_TMPDIR"), "/kiln_heap"));
    mkdir(dir_->c_str(), 0700);
    ASSERT_TRUE(analysis::testing::DumpKnownHeap(Path("known.hprof"), {}).ok());
    // The same bytes in HotSpot's block gzip (a second dump could differ:
    // the runtime's Cleaner thread starts at its own pace).
    const std::string plain = ReadFile(Path("known.hprof"));
    MemorySink compressed;
    GzipSink gzip(&compressed, 1);
    ASSERT_TRUE(gzip.Write(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(plain.data()),
                                               plain.size()))
                    .ok());
    ASSERT_TRUE(gzip.Finish().ok());
    std::ofstream(Path("known.hprof.gz"), std::ios::binary)
        .write(reinterpret_cast<const char*>(compressed.data().data()),
               static_cast<std::streamsize>(compressed.data().size()));
  }
  static std::string Path(const std::string& name) { return absl::StrCat(*dir_, "/", name); }

  static std::string* dir_;
};

std::string* KilnHeapTest::dir_ = nullptr;

TEST_F(KilnHeapTest, HistogramHasTheHandComputedNumbers) {
  const ToolResult all = RunKilnHeap({"histogram", Path("known.hprof")});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  auto rows = HistogramRows(all.out);
  EXPECT_EQ(rows["test.Item"], (std::array<uint64_t, 3>{kAllItems, kAllItems * kItemSelfBytes,
                                                        kNativeBytes}));
  const ToolResult reachable = RunKilnHeap({"histogram", Path("known.hprof"), "--reachable"});
  ASSERT_EQ(reachable.exit_code, 0) << reachable.err;
  rows = HistogramRows(reachable.out);
  EXPECT_EQ(rows["test.Item"], (std::array<uint64_t, 3>{kListItems, kListItems * kItemSelfBytes,
                                                        kNativeBytes}));
  // Only the registered allocation is native, so it leads --by native.
  const ToolResult native = RunKilnHeap({"histogram", Path("known.hprof"), "--by=native", "--top", "1"});
  ASSERT_EQ(native.exit_code, 0) << native.err;
  const auto native_rows = TableRows(native.out);
  ASSERT_EQ(native_rows.size(), 2u) << native.out;  // the top row and the total
  EXPECT_EQ(native_rows[0].back(), "test.Item");
  EXPECT_TRUE(absl::StrContains(native.out, " not shown)")) << native.out;
}

// Histograms, flamegraph and dominators row by row against the plain
// reference computation (tests/heap_equivalence.h), plain and gzip.
TEST_F(KilnHeapTest, WholeGraphAnswersMatchTheReferenceComputation) {
  testing::ExpectSameAsReference(Path("known.hprof"));
  testing::ExpectSameAsReference(Path("known.hprof.gz"));
}

TEST_F(KilnHeapTest, GzipDumpsReadTheSame) {
  const ToolResult plain = RunKilnHeap({"histogram", Path("known.hprof")});
  const ToolResult gz = RunKilnHeap({"histogram", Path("known.hprof.gz")});
  ASSERT_EQ(gz.exit_code, 0) << gz.err;
  EXPECT_EQ(HistogramRows(plain.out), HistogramRows(gz.out));
  const ToolResult summary = RunKilnHeap({"summary", Path("known.hprof.gz")});
  ASSERT_EQ(summary.exit_code, 0) << summary.err;
  EXPECT_TRUE(absl::StrContains(summary.out, "gzip: ")) << summary.out;
}

TEST_F(KilnHeapTest, SummaryAndThreads) {
  const ToolResult summary = RunKilnHeap({"summary", Path("known.hprof")});
  ASSERT_EQ(summary.exit_code, 0) << summary.err;
  EXPECT_TRUE(absl::StrContains(summary.out, "Format      JAVA PROFILE 1.0.2, id size 8"))
      << summary.out;
  EXPECT_TRUE(absl::StrContains(summary.out, "Native      4,096 bytes\n")) << summary.out;
  EXPECT_TRUE(absl::StrContains(summary.out, "ROOT_STICKY_CLASS")) << summary.out;
  EXPECT_TRUE(absl::StrContains(summary.out, "\"main\"")) << summary.out;
  // The environment the dump carries (inspection/internal/dump_environment.h): this
  // process wrote it.
  EXPECT_TRUE(absl::StrContains(summary.out, " (java.lang.System.props)\n")) << summary.out;
  EXPECT_TRUE(absl::StrContains(summary.out, "\n  java.vm.name=Kiln\n")) << summary.out;
  EXPECT_TRUE(absl::StrContains(summary.out, absl::StrCat("\n  kiln.pid=", getpid(), "\n")))
      << summary.out;
  EXPECT_TRUE(absl::StrContains(summary.out, "\n  kiln.dump.trigger=api\n")) << summary.out;
  EXPECT_TRUE(absl::StrContains(summary.out, "\n  kiln.memory.rss_bytes=")) << summary.out;

  const ToolResult threads = RunKilnHeap({"threads", Path("known.hprof")});
  ASSERT_EQ(threads.exit_code, 0) << threads.err;
  EXPECT_TRUE(absl::StrContains(threads.out, "\n\"main\" #")) << threads.out;
  EXPECT_TRUE(absl::StrContains(threads.out, "\tat test.Holder.main(Holder.java:7)\n"))
      << threads.out;
}

TEST_F(KilnHeapTest, FlamegraphFollowsTheShortestPathsWithNativeChildren) {
  const ToolResult folded = RunKilnHeap({"flamegraph", Path("known.hprof")});
  ASSERT_EQ(folded.exit_code, 0) << folded.err;
  // The list hangs off test.Holder's class object; item2 owns the native bytes.
  std::string path = "java.lang.Class<test.Holder> [ROOT_STICKY_CLASS]";
  for (int i = 0; i < kListItems; ++i) {
    absl::StrAppend(&path, ";test.Item");
    EXPECT_TRUE(absl::StrContains(folded.out, absl::StrCat(path, " ", kItemSelfBytes, "\n")))
        << path << "\n" << folded.out;
    if (i == 2) {
      EXPECT_TRUE(absl::StrContains(
          folded.out, absl::StrCat(path, ";[native] test.Item ", kNativeBytes, "\n")))
          << folded.out;
    }
  }
  // The unreachable Items are not in it.
  EXPECT_FALSE(absl::StrContains(folded.out, "\ntest.Item ")) << folded.out;

  const ToolResult json = RunKilnHeap({"flamegraph", Path("known.hprof"), "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_TRUE(absl::StrContains(json.out, absl::StrCat(kListItems * kItemSelfBytes + kNativeBytes)))
      << "the first Item node's cumulative size\n" << json.out;

  const ToolResult svg = RunKilnHeap({"flamegraph", Path("known.hprof"), "--format=svg", "-o",
                                  Path("flame.svg")});
  ASSERT_EQ(svg.exit_code, 0) << svg.err;
  const std::string picture = ReadFile(Path("flame.svg"));
  EXPECT_TRUE(absl::StrContains(picture, "<svg")) << picture.substr(0, 200);
  EXPECT_TRUE(absl::StrContains(picture, "test.Item"));
  EXPECT_FALSE(absl::StrContains(picture, "<script"));
}

TEST_F(KilnHeapTest, DominatorsRetainTheListFromItsHead) {
  const ToolResult dom = RunKilnHeap({"dominators", Path("known.hprof"), "--top", "50"});
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  // item0 retains the whole list; item2 itself and the two after it.
  bool head = false, middle = false;
  for (const auto& row : TableRows(dom.out)) {
    if (row.size() < 5 || !absl::StartsWith(row[4], "test.Item@")) continue;
    head = head || row[1] == absl::StrCat(kListItems * kItemSelfBytes);
    middle = middle || row[1] == absl::StrCat(3 * kItemSelfBytes);
  }
  EXPECT_TRUE(head && middle) << dom.out;
  EXPECT_TRUE(absl::StrContains(dom.out, "<- test.Holder.list of java.lang.Class<test.Holder>@"))
      << dom.out;
}

// Perfetto's documented query gives Perfetto's sums, worked out from the records
// (tests/perfetto_self_size.h): a test.Item is its CLASS_DUMP's 40 bytes,
// header included.
TEST_F(KilnHeapTest, TheSeedQueryGivesPerfettosSelfSizes) {
  const absl::StatusOr<std::map<std::string, uint64_t>> expected =
      testing::PerfettoSeedQuery(Path("known.hprof"));
  ASSERT_TRUE(expected.ok()) << expected.status();
  EXPECT_EQ(expected->at("test.Item"), kListItems * kItemSelfBytes);
  const ToolResult query = RunKilnHeap({"query", Path("known.hprof"), kSeedQuery});
  ASSERT_EQ(query.exit_code, 0) << query.err;
  EXPECT_EQ(QueryRows(query.out), *expected);
}

// `query` on a dump reads the virtual tables over its graph; on the
// database `sql` wrote, real tables: every query answers the same.
TEST_F(KilnHeapTest, QueriesOnTheDumpAndOnItsDatabaseAgree) {
  const std::string db = Path("agree.sqlite");
  const ToolResult sql = RunKilnHeap({"sql", Path("known.hprof"), "-o", db});
  ASSERT_EQ(sql.exit_code, 0) << sql.err;
  const std::vector<std::string> queries = analysis::testing::EquivalenceQueries();
  EXPECT_GT(testing::ExpectSameAnswers(Path("known.hprof"), db, queries), 60);
  // Bad SQL fails with SQLite's reason, on the dump as on the database.
  for (const std::string& source : {Path("known.hprof"), db}) {
    SCOPED_TRACE(source);
    const ToolResult write = RunKilnHeap({"query", source, "delete from heap_graph_object"});
    EXPECT_EQ(write.exit_code, 1);
    EXPECT_TRUE(absl::StrContains(write.err, "SQLite: ")) << write.err;
    const ToolResult bad = RunKilnHeap({"query", source, "select * from heap_graph_object whre 1"});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_TRUE(absl::StrContains(bad.err, "syntax error")) << bad.err;
  }
}

TEST_F(KilnHeapTest, TheSeedQueryOnSqlOutputReturnsTheHistogram) {
  const std::string db = Path("known.sqlite");
  const ToolResult sql = RunKilnHeap({"sql", Path("known.hprof"), "-o", db});
  ASSERT_EQ(sql.exit_code, 0) << sql.err;
  std::map<std::string, uint64_t> expected;
  for (const auto& [name, numbers] :
       HistogramRows(RunKilnHeap({"histogram", Path("known.hprof"), "--reachable"}).out)) {
    expected[name] = numbers[1];
  }
  ASSERT_FALSE(expected.empty());
  // On the database `sql` wrote, and straight from the dump.
  for (const std::string& source : {db, Path("known.hprof")}) {
    SCOPED_TRACE(source);
    const ToolResult query = RunKilnHeap({"query", source, kSeedQuery});
    ASSERT_EQ(query.exit_code, 0) << query.err;
    EXPECT_EQ(QueryRows(query.out), expected);
  }
  // The output is never overwritten.
  const ToolResult again = RunKilnHeap({"sql", Path("known.hprof"), "-o", db});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(again.err, "exists")) << again.err;
}

TEST_F(KilnHeapTest, CorruptTruncatedAndMissingFilesFailWithTheOffset) {
  const std::string dump = ReadFile(Path("known.hprof"));
  const std::string gz = ReadFile(Path("known.hprof.gz"));
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(Path(name), std::ios::binary) << bytes;
    return Path(name);
  };
  struct Case {
    std::string file;
    std::string message;
  };
  std::string bad_tag = dump;
  bad_tag[31] = 0x77;  // the first record's tag, after the 31-byte header
  // Format errors name the file, then the offset.
  auto bad = [&](const std::string& name, const std::string& bytes, const std::string& message) {
    return Case{write(name, bytes), absl::StrCat("kiln-heap: ", Path(name), ": ", message)};
  };
  const std::vector<Case> cases = {
      bad("truncated.hprof", dump.substr(0, dump.size() * 2 / 3), "HPROF offset "),
      bad("header.hprof", dump.substr(0, 20), "HPROF offset "),
      bad("empty.hprof", "", "HPROF offset 0: header: the file is empty"),
      bad("bad_tag.hprof", bad_tag, "HPROF offset 31: unknown record tag 0x77"),
      {write("truncated.hprof.gz", gz.substr(0, gz.size() / 2)), "kiln-heap: "},
      bad("text.hprof", "hello, world\n", "HPROF offset 0: header"),
      {Path("missing.hprof"), "kiln-heap: opening "},
  };
  for (const Case& c : cases) {
    for (const char* command : {"summary", "histogram", "sql"}) {
      SCOPED_TRACE(absl::StrCat(command, " ", c.file));
      std::vector<std::string> args = {command, c.file};
      if (std::string(command) == "sql") args = {"sql", c.file, "-o", c.file + ".sqlite"};
      const ToolResult result = RunKilnHeap(args);
      EXPECT_EQ(result.exit_code, 1) << result.err;
      EXPECT_TRUE(absl::StartsWith(result.err, c.message)) << result.err;
      EXPECT_TRUE(result.out.empty()) << result.out;
    }
  }
  // A truncated gzip names the offset in the compressed file.
  const ToolResult gz_cut = RunKilnHeap({"summary", Path("truncated.hprof.gz")});
  EXPECT_TRUE(absl::StrContains(gz_cut.err, "gzip offset ")) << gz_cut.err;
  // A truncated dump names the record that runs past the end.
  const ToolResult cut = RunKilnHeap({"histogram", Path("truncated.hprof")});
  EXPECT_TRUE(absl::StrContains(cut.err, "runs past the end of the file")) << cut.err;
}

TEST_F(KilnHeapTest, UsageErrorsExitWithTwo) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{},
                                             {"nonsense", Path("known.hprof")},
                                             {"histogram"},
                                             {"histogram", Path("known.hprof"), "--by", "size"},
                                             {"histogram", Path("known.hprof"), "--top", "-3"},
                                             {"flamegraph", Path("known.hprof"), "--format=png"},
                                             {"summary", Path("known.hprof"), "extra"},
                                             {"sql", Path("known.hprof")}}) {
    const ToolResult result = RunKilnHeap(args);
    EXPECT_EQ(result.exit_code, 2) << absl::StrJoin(args, " ") << "\n" << result.err;
    EXPECT_TRUE(absl::StrContains(result.err, "usage: kiln-heap")) << result.err;
  }
  const ToolResult help = RunKilnHeap({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* command : {"summary", "histogram", "threads", "flamegraph", "dominators",
                              "sql", "query"}) {
    EXPECT_TRUE(absl::StrContains(help.out, absl::StrCat("  ", command, " FILE"))) << help.out;
  }
}

}  // namespace
}  // namespace kiln
