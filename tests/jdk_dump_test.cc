// kiln-heap on JDK 17 dumps made in this test: a Java program
// (jdk/JdkHeapDump.java) builds known objects and dumps its own heap with
// HotSpotDiagnosticMXBean.dumpHeap and with `jcmd GC.heap_dump -gz=1`;
// kiln-heap must see exactly the instances the program made, each class once
// (with its class object), the program's parked thread with its stack, and
// Perfetto's documented SQL query must agree with the histogram.
#include <sys/stat.h>

#include <cstdlib>
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "inspection/analysis/graph_text.h"
#include "inspection/analysis/heap_graph.h"
#include "inspection/analysis/sql_equivalence_queries.h"
#include "inspection/hprof/hprof_snapshot.h"
#include "tests/heap_equivalence.h"
#include "tests/kiln_heap_runner.h"
#include "tests/perfetto_self_size.h"

namespace kiln {
namespace {

using testing::HistogramRows;
using testing::QueryRows;
using testing::RunCommand;
using testing::RunKilnHeap;
using testing::ToolResult;

constexpr char kSeedQuery[] = R"(select c.name, sum(o.self_size)
from heap_graph_object o join heap_graph_class c on (o.type_id = c.id)
where reachable = 1 group by 1 order by 2 desc;)";

class JdkDumpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(absl::StrCat(std::getenv("TEST_TMPDIR"), "/jdk"));
    mkdir(dir_->c_str(), 0700);
    const std::string source = absl::StrCat(std::getenv("TEST_SRCDIR"), "/",
                                            std::getenv("TEST_WORKSPACE"),
                                            "/tests/jdk/JdkHeapDump.java");
    const ToolResult javac = RunCommand({"javac", "-d", *dir_, source});
    ASSERT_EQ(javac.exit_code, 0) << "javac (./kiln setup installs the JDK):\n" << javac.err;
    const ToolResult java =
        RunCommand({"java", "-Xmx256m", "-cp", *dir_, "JdkHeapDump", Path("plain.hprof"),
                    Path("compressed.hprof.gz")});
    ASSERT_EQ(java.exit_code, 0) << java.out << java.err;
    made_ = new std::map<std::string, uint64_t>;
    for (absl::string_view line : absl::StrSplit(java.out, '\n')) {
      std::vector<std::string> words = absl::StrSplit(line, ' ');
      if (words.size() == 3 && words[0] == "made") {
        ASSERT_TRUE(absl::SimpleAtoi(words[2], &(*made_)[words[1]])) << line;
      }
    }
    ASSERT_EQ(made_->size(), 5u) << java.out;
  }
  static std::string Path(const std::string& name) { return absl::StrCat(*dir_, "/", name); }

  static std::string* dir_;
  static std::map<std::string, uint64_t>* made_;
};

std::string* JdkDumpTest::dir_ = nullptr;
std::map<std::string, uint64_t>* JdkDumpTest::made_ = nullptr;

TEST_F(JdkDumpTest, InstanceCountsAreWhatTheProgramMade) {
  for (const char* file : {"plain.hprof", "compressed.hprof.gz"}) {
    SCOPED_TRACE(file);
    const ToolResult histogram = RunKilnHeap({"histogram", Path(file)});
    ASSERT_EQ(histogram.exit_code, 0) << histogram.err;
    const auto rows = HistogramRows(histogram.out);
    for (const auto& [name, count] : *made_) {
      ASSERT_EQ(rows.count(name), 1u) << name << "\n" << histogram.out;
      EXPECT_EQ(rows.at(name)[0], count) << name;
    }
    // JdkHeapDump$Foo {int id; Foo next}: 4 + 8 bytes of fields (8-byte ids).
    EXPECT_EQ(rows.at("JdkHeapDump$Foo")[1], made_->at("JdkHeapDump$Foo") * 12);
    // Foo[] holds 1234 ids.
    EXPECT_EQ(rows.at("JdkHeapDump$Foo[]")[1], made_->at("JdkHeapDump$Foo") * 8);
  }
}

// Kiln's validating reader reads the JDK's dumps too: HotSpot writes a
// LOAD_CLASS per loader that can see a class (same id, same name), which is
// not a contradiction. The counts are the program's. (CheckReferences is for
// Kiln's own dumps: HotSpot's may refer to objects they leave out, which
// kiln-heap counts as dangling.)
// Histograms, flamegraph and dominators row by row against the plain
// reference computation (tests/heap_equivalence.h).
TEST_F(JdkDumpTest, WholeGraphAnswersMatchTheReferenceComputation) {
  testing::ExpectSameAsReference(Path("plain.hprof"));
  testing::ExpectSameAsReference(Path("compressed.hprof.gz"));
}

// The parallel parse (BuildOptions::threads, chunks of 64 KiB: HotSpot's
// one large HEAP_DUMP_SEGMENT split at sub-records) builds the graph the
// serial one does, and every analysis gives the same rows (GraphText).
TEST_F(JdkDumpTest, TheParallelParseBuildsTheSameGraph) {
  for (const char* file : {"plain.hprof", "compressed.hprof.gz"}) {
    for (const bool whole : {true, false}) {
      SCOPED_TRACE(absl::StrCat(file, whole ? " whole graph" : " counts only"));
      std::string texts[2];
      for (const int threads : {1, 3}) {
        analysis::BuildOptions options;
        options.references = whole;
        options.objects = whole;
        options.threads = threads;
        options.parse_chunk_bytes = 64 << 10;
        absl::StatusOr<std::unique_ptr<analysis::HeapGraph>> graph =
            analysis::HeapGraph::Load(Path(file), options);
        ASSERT_TRUE(graph.ok()) << graph.status();
        texts[threads == 1 ? 0 : 1] = analysis::GraphText(**graph);
      }
      EXPECT_GT(texts[0].size(), 1000u);
      EXPECT_EQ(texts[0], texts[1]);
    }
  }
}

TEST_F(JdkDumpTest, TheValidatingReaderReadsThem) {
  for (const char* file : {"plain.hprof", "compressed.hprof.gz"}) {
    SCOPED_TRACE(file);
    const absl::StatusOr<std::unique_ptr<HprofSnapshot>> snapshot =
        HprofSnapshot::Load(Path(file));
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    for (const auto& [name, count] : *made_) {
      if (absl::EndsWith(name, "[]")) continue;  // kiln-heap's array names
      const HprofSnapshot::Class* cls = (*snapshot)->FindClass(name);
      ASSERT_NE(cls, nullptr) << name;
      uint64_t instances = 0;
      for (const auto& [id, instance] : (*snapshot)->instances()) {
        instances += instance.class_id == cls->id;
      }
      EXPECT_EQ(instances, count) << name;
    }
  }
}

TEST_F(JdkDumpTest, EachClassOnceWithItsClassObject) {
  for (const char* file : {"plain.hprof", "compressed.hprof.gz"}) {
    SCOPED_TRACE(file);
    for (const auto& [name, count] : *made_) {
      const ToolResult query = RunKilnHeap(
          {"query", Path(file),
           absl::StrCat("select kind, count(*) from heap_graph_class where name = '", name,
                        "' or name = 'java.lang.Class<", name, ">' group by kind")});
      ASSERT_EQ(query.exit_code, 0) << query.err;
      const std::map<std::string, uint64_t> kinds = QueryRows(query.out);
      EXPECT_EQ(kinds.at("KIND_CLASS"), 1u) << name << "\n" << query.out;
      EXPECT_EQ(kinds.size(), 2u) << name << "\n" << query.out;  // the class, its Class object
    }
  }
  const ToolResult summary = RunKilnHeap({"summary", Path("compressed.hprof.gz")});
  ASSERT_EQ(summary.exit_code, 0) << summary.err;
  EXPECT_TRUE(absl::StrContains(summary.out, "JAVA PROFILE 1.0.2, id size 8")) << summary.out;
  EXPECT_TRUE(absl::StrContains(summary.out, "gzip: ")) << summary.out;
  EXPECT_TRUE(absl::StrContains(summary.out, "ROOT_JNI_GLOBAL")) << summary.out;
  // JDK 17's System.props: a Properties whose map is a ConcurrentHashMap.
  EXPECT_TRUE(absl::StrContains(summary.out, " (java.lang.System.props)\n")) << summary.out;
  EXPECT_TRUE(absl::StrContains(summary.out, "\n  java.vm.name=OpenJDK 64-Bit Server VM\n"))
      << summary.out;
  EXPECT_TRUE(absl::StrContains(summary.out, "\n  java.class.path=" + *dir_ + "\n")) << summary.out;
  EXPECT_TRUE(absl::StrContains(summary.out, "\n  line.separator=\\n\n")) << summary.out;
  EXPECT_TRUE(absl::StrContains(summary.out, "\n  sun.java.command=JdkHeapDump ")) << summary.out;
}

TEST_F(JdkDumpTest, ThreadsShowTheParkedThreadsStack) {
  for (const char* file : {"plain.hprof", "compressed.hprof.gz"}) {
    SCOPED_TRACE(file);
    const ToolResult threads = RunKilnHeap({"threads", Path(file)});
    ASSERT_EQ(threads.exit_code, 0) << threads.err;
    EXPECT_TRUE(absl::StrContains(threads.out, "\n\"jdk-dump-parked\" #")) << threads.out;
    EXPECT_TRUE(absl::StrContains(threads.out, "\tat JdkHeapDump.parkHere(JdkHeapDump.java:"))
        << threads.out;
    EXPECT_TRUE(absl::StrContains(threads.out, "\n\"main\" #1 prio=5")) << threads.out;
  }
}

TEST_F(JdkDumpTest, TheSeedQueryAgreesWithTheHistogram) {
  const ToolResult histogram = RunKilnHeap({"histogram", Path("plain.hprof"), "--reachable"});
  ASSERT_EQ(histogram.exit_code, 0) << histogram.err;
  std::map<std::string, uint64_t> expected;
  for (const auto& [name, numbers] : HistogramRows(histogram.out)) expected[name] = numbers[1];
  const ToolResult query = RunKilnHeap({"query", Path("plain.hprof"), kSeedQuery});
  ASSERT_EQ(query.exit_code, 0) << query.err;
  EXPECT_EQ(QueryRows(query.out), expected);
  EXPECT_GT(expected.size(), 100u);
}

// Perfetto's documented query gives Perfetto's sums, worked out from the records
// (tests/perfetto_self_size.h). HotSpot's instance sizes are field bytes
// without a header, its array classes' 0, and java.lang.Class's its own
// fields' bytes, so a class object counts more than its statics.
TEST_F(JdkDumpTest, TheSeedQueryGivesPerfettosSelfSizes) {
  const absl::StatusOr<std::map<std::string, uint64_t>> expected =
      testing::PerfettoSeedQuery(Path("plain.hprof"));
  ASSERT_TRUE(expected.ok()) << expected.status();
  const ToolResult query = RunKilnHeap({"query", Path("plain.hprof"), kSeedQuery});
  ASSERT_EQ(query.exit_code, 0) << query.err;
  EXPECT_EQ(QueryRows(query.out), *expected);
  EXPECT_GT(expected->size(), 100u);
}

// On a JDK dump too, `query` over the virtual tables and over the database
// `sql` wrote answer every query alike.
TEST_F(JdkDumpTest, QueriesOnTheDumpAndOnItsDatabaseAgree) {
  const std::string db = Path("plain.sqlite");
  const ToolResult sql = RunKilnHeap({"sql", Path("plain.hprof"), "-o", db});
  ASSERT_EQ(sql.exit_code, 0) << sql.err;
  EXPECT_GT(testing::ExpectSameAnswers(Path("plain.hprof"), db,
                                       analysis::testing::EquivalenceQueries()),
            60);
}

}  // namespace
}  // namespace kiln
