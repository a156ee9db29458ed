// kiln-heap end to end: the binary run as a user runs it, on dumps a Kiln
// runtime writes in this test (inspection/analysis/test_heap.h: a heap whose
// answers are known by hand), plain and gzip; and on corrupt, truncated and
// missing files, which must give exit status 1 and a message naming the
// offset, never a crash.
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "inspection/analysis/test_heap.h"

namespace kiln {
namespace {

using analysis::testing::kAllItems;
using analysis::testing::kItemSelfBytes;
using analysis::testing::kListItems;
using analysis::testing::kNativeBytes;

// The query from ../shared/seeds/003 (Perfetto's Java heap dump docs), as is.
constexpr char kSeedQuery[] = R"(select c.name, sum(o.self_size)
from heap_graph_object o join heap_graph_class c on (o.type_id = c.id)
where reachable = 1 group by 1 order by 2 desc;)";

struct ToolResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Quote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class KilnHeapTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(absl::StrCat(std::getenv("TEST_TMPDIR"), "/kiln_heap"));
    mkdir(dir_->c_str(), 0700);
    ASSERT_TRUE(analysis::testing::DumpKnownHeap(Path("known.hprof"), {}).ok());
    ASSERT_TRUE(
        analysis::testing::DumpKnownHeap(Path("known.hprof.gz"), {.gzip_level = 1}).ok());
  }
  static std::string Path(const std::string& name) { return absl::StrCat(*dir_, "/", name); }

  // RunTool runs kiln-heap with `args`; stdout and stderr kept apart.
  static ToolResult RunTool(const std::vector<std::string>& args) {
    std::string command = absl::StrCat(std::getenv("TEST_SRCDIR"), "/",
                                       std::getenv("TEST_WORKSPACE"),
                                       "/inspection/analysis/kiln_heap");
    for (const std::string& arg : args) absl::StrAppend(&command, " ", Quote(arg));
    const std::string err_path = Path("stderr.txt");
    absl::StrAppend(&command, " 2>", err_path);
    ToolResult result;
    FILE* pipe = popen(command.c_str(), "r");
    std::array<char, 4096> buffer;
    size_t n;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.out.append(buffer.data(), n);
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.err = ReadFile(err_path);
    return result;
  }

  // Rows of a kiln-heap table: the lines after the dashed rule, split on
  // runs of spaces (class names have none).
  static std::vector<std::vector<std::string>> TableRows(const std::string& out) {
    std::vector<std::vector<std::string>> rows;
    bool body = false;
    for (absl::string_view line : absl::StrSplit(out, '\n')) {
      if (absl::StartsWith(line, "---")) {
        body = true;
        continue;
      }
      if (!body || line.empty() || absl::StartsWith(line, "(")) continue;
      rows.push_back(absl::StrSplit(line, ' ', absl::SkipEmpty()));
    }
    return rows;
  }

  // Histogram: class -> {instances, self_bytes, native_bytes}.
  static std::map<std::string, std::array<uint64_t, 3>> Histogram(const ToolResult& result) {
    std::map<std::string, std::array<uint64_t, 3>> by_class;
    for (const auto& row : TableRows(result.out)) {
      if (row.size() != 4) continue;  // the total row has more words
      std::array<uint64_t, 3> numbers;
      for (int i = 0; i < 3; ++i) EXPECT_TRUE(absl::SimpleAtoi(row[i], &numbers[i])) << row[i];
      by_class[row[3]] = numbers;
    }
    return by_class;
  }

  static std::string* dir_;
};

std::string* KilnHeapTest::dir_ = nullptr;

TEST_F(KilnHeapTest, HistogramHasTheHandComputedNumbers) {
  const ToolResult all = RunTool({"histogram", Path("known.hprof")});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  auto rows = Histogram(all);
  EXPECT_EQ(rows["test.Item"], (std::array<uint64_t, 3>{kAllItems, kAllItems * kItemSelfBytes,
                                                        kNativeBytes}));
  const ToolResult reachable = RunTool({"histogram", Path("known.hprof"), "--reachable"});
  ASSERT_EQ(reachable.exit_code, 0) << reachable.err;
  rows = Histogram(reachable);
  EXPECT_EQ(rows["test.Item"], (std::array<uint64_t, 3>{kListItems, kListItems * kItemSelfBytes,
                                                        kNativeBytes}));
  // Only the registered allocation is native, so it leads --by native.
  const ToolResult native = RunTool({"histogram", Path("known.hprof"), "--by=native", "--top", "1"});
  ASSERT_EQ(native.exit_code, 0) << native.err;
  const auto native_rows = TableRows(native.out);
  ASSERT_EQ(native_rows.size(), 2u) << native.out;  // the top row and the total
  EXPECT_EQ(native_rows[0].back(), "test.Item");
  EXPECT_TRUE(absl::StrContains(native.out, " not shown)")) << native.out;
}

TEST_F(KilnHeapTest, GzipDumpsReadTheSame) {
  const ToolResult plain = RunTool({"histogram", Path("known.hprof")});
  const ToolResult gz = RunTool({"histogram", Path("known.hprof.gz")});
  ASSERT_EQ(gz.exit_code, 0) << gz.err;
  EXPECT_EQ(Histogram(plain), Histogram(gz));
  const ToolResult summary = RunTool({"summary", Path("known.hprof.gz")});
  ASSERT_EQ(summary.exit_code, 0) << summary.err;
  EXPECT_TRUE(absl::StrContains(summary.out, "gzip: ")) << summary.out;
}

TEST_F(KilnHeapTest, SummaryAndThreads) {
  const ToolResult summary = RunTool({"summary", Path("known.hprof")});
  ASSERT_EQ(summary.exit_code, 0) << summary.err;
  EXPECT_TRUE(absl::StrContains(summary.out, "Format      JAVA PROFILE 1.0.2, id size 8"))
      << summary.out;
  EXPECT_TRUE(absl::StrContains(summary.out, "Native      4,096 bytes\n")) << summary.out;
  EXPECT_TRUE(absl::StrContains(summary.out, "ROOT_STICKY_CLASS")) << summary.out;
  EXPECT_TRUE(absl::StrContains(summary.out, "\"main\"")) << summary.out;

  const ToolResult threads = RunTool({"threads", Path("known.hprof")});
  ASSERT_EQ(threads.exit_code, 0) << threads.err;
  EXPECT_TRUE(absl::StrContains(threads.out, "\n\"main\" #")) << threads.out;
  EXPECT_TRUE(absl::StrContains(threads.out, "\tat test.Holder.main(Holder.java:7)\n"))
      << threads.out;
}

TEST_F(KilnHeapTest, FlamegraphFollowsTheShortestPathsWithNativeChildren) {
  const ToolResult folded = RunTool({"flamegraph", Path("known.hprof")});
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

  const ToolResult json = RunTool({"flamegraph", Path("known.hprof"), "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_TRUE(absl::StrContains(json.out, absl::StrCat(kListItems * kItemSelfBytes + kNativeBytes)))
      << "the first Item node's cumulative size\n" << json.out;

  const ToolResult svg = RunTool({"flamegraph", Path("known.hprof"), "--format=svg", "-o",
                                  Path("flame.svg")});
  ASSERT_EQ(svg.exit_code, 0) << svg.err;
  const std::string picture = ReadFile(Path("flame.svg"));
  EXPECT_TRUE(absl::StrContains(picture, "<svg")) << picture.substr(0, 200);
  EXPECT_TRUE(absl::StrContains(picture, "test.Item"));
  EXPECT_FALSE(absl::StrContains(picture, "<script"));
}

TEST_F(KilnHeapTest, DominatorsRetainTheListFromItsHead) {
  const ToolResult dom = RunTool({"dominators", Path("known.hprof"), "--top", "50"});
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

TEST_F(KilnHeapTest, TheSeedQueryOnSqlOutputReturnsTheHistogram) {
  const std::string db = Path("known.sqlite");
  const ToolResult sql = RunTool({"sql", Path("known.hprof"), "-o", db});
  ASSERT_EQ(sql.exit_code, 0) << sql.err;
  std::map<std::string, uint64_t> expected;
  for (const auto& [name, numbers] : Histogram(RunTool({"histogram", Path("known.hprof"),
                                                        "--reachable"}))) {
    expected[name] = numbers[1];
  }
  ASSERT_FALSE(expected.empty());
  // On the database `sql` wrote, and straight from the dump.
  for (const std::string& source : {db, Path("known.hprof")}) {
    SCOPED_TRACE(source);
    const ToolResult query = RunTool({"query", source, kSeedQuery});
    ASSERT_EQ(query.exit_code, 0) << query.err;
    std::map<std::string, uint64_t> got;
    for (const auto& row : TableRows(query.out)) {
      ASSERT_EQ(row.size(), 2u) << query.out;
      ASSERT_TRUE(absl::SimpleAtoi(row[1], &got[row[0]])) << row[1];
    }
    EXPECT_EQ(got, expected);
  }
  // The output is never overwritten.
  const ToolResult again = RunTool({"sql", Path("known.hprof"), "-o", db});
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
  const std::vector<Case> cases = {
      {write("truncated.hprof", dump.substr(0, dump.size() * 2 / 3)), "kiln-heap: HPROF offset "},
      {write("header.hprof", dump.substr(0, 20)), "kiln-heap: HPROF offset "},
      {write("empty.hprof", ""), "kiln-heap: HPROF offset 0: header: the file is empty"},
      {write("bad_tag.hprof", bad_tag), "kiln-heap: HPROF offset 31: unknown record tag 0x77"},
      {write("truncated.hprof.gz", gz.substr(0, gz.size() / 2)), "kiln-heap: "},
      {write("text.hprof", "hello, world\n"), "kiln-heap: HPROF offset 0: header"},
      {Path("missing.hprof"), "kiln-heap: opening "},
  };
  for (const Case& c : cases) {
    for (const char* command : {"summary", "histogram", "sql"}) {
      SCOPED_TRACE(absl::StrCat(command, " ", c.file));
      std::vector<std::string> args = {command, c.file};
      if (std::string(command) == "sql") args = {"sql", c.file, "-o", c.file + ".sqlite"};
      const ToolResult result = RunTool(args);
      EXPECT_EQ(result.exit_code, 1) << result.err;
      EXPECT_TRUE(absl::StartsWith(result.err, c.message)) << result.err;
      EXPECT_TRUE(result.out.empty()) << result.out;
    }
  }
  // A truncated gzip names the offset in the compressed file.
  const ToolResult gz_cut = RunTool({"summary", Path("truncated.hprof.gz")});
  EXPECT_TRUE(absl::StrContains(gz_cut.err, "gzip offset ")) << gz_cut.err;
  // A truncated dump names the record that runs past the end.
  const ToolResult cut = RunTool({"histogram", Path("truncated.hprof")});
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
    const ToolResult result = RunTool(args);
    EXPECT_EQ(result.exit_code, 2) << absl::StrJoin(args, " ") << "\n" << result.err;
    EXPECT_TRUE(absl::StrContains(result.err, "usage: kiln-heap")) << result.err;
  }
  const ToolResult help = RunTool({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* command : {"summary", "histogram", "threads", "flamegraph", "dominators",
                              "sql", "query"}) {
    EXPECT_TRUE(absl::StrContains(help.out, absl::StrCat("  ", command, " FILE"))) << help.out;
  }
}

}  // namespace
}  // namespace kiln
