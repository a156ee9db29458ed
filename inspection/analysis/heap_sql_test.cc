// heap_sql: Perfetto's tables from a heap with known contents (test_heap.h);
// Perfetto's documented query, unchanged, returns the histogram's numbers.
#include "inspection/analysis/heap_sql.h"

#include <sys/resource.h>

#include <csignal>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "inspection/analysis/heap_graph.h"
#include "inspection/analysis/histogram.h"
#include "inspection/analysis/test_heap.h"
#include "tests/subprocess.h"

namespace kiln::analysis {
namespace {

// The query from Perfetto's Java heap dump docs, as is (inspection/hprof/HPROF.md).
constexpr char kSeedQuery[] = R"(select c.name, sum(o.self_size)
from heap_graph_object o join heap_graph_class c on (o.type_id = c.id)
where reachable = 1 group by 1 order by 2 desc;)";

class HeapSqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/known.hprof");
    ASSERT_TRUE(testing::DumpKnownHeap(path, {}).ok());
    auto graph = HeapGraph::Load(path, {});
    ASSERT_TRUE(graph.ok()) << graph.status();
    graph_ = *std::move(graph);
    auto db = SqliteDb::InMemory();
    ASSERT_TRUE(db.ok()) << db.status();
    db_.emplace(*std::move(db));
    ASSERT_TRUE(ExportHeapGraph(*graph_, *db_).ok());
  }

  // Column 0 of a one-column query, as integers; -1 for NULL.
  std::vector<int64_t> Ints(const std::string& sql) {
    std::vector<int64_t> values;
    auto result = db_->Query(sql);
    EXPECT_TRUE(result.ok()) << result.status() << " in " << sql;
    if (!result.ok()) return values;
    for (const auto& row : result->rows) {
      int64_t v = -1;
      if (row[0].has_value()) {
        EXPECT_TRUE(absl::SimpleAtoi(*row[0], &v)) << *row[0];
      }
      values.push_back(v);
    }
    return values;
  }
  std::string Text(const std::string& sql) {
    auto result = db_->Query(sql);
    EXPECT_TRUE(result.ok()) << result.status() << " in " << sql;
    if (!result.ok() || result->rows.empty() || !result->rows[0][0].has_value()) return "<none>";
    return *result->rows[0][0];
  }

  std::unique_ptr<HeapGraph> graph_;
  std::optional<SqliteDb> db_;
};

TEST_F(HeapSqlTest, TheSeedQueryReturnsTheHistogram) {
  auto result = db_->Query(kSeedQuery);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->columns, (std::vector<std::string>{"name", "sum(o.self_size)"}));
  std::map<std::string, uint64_t> from_sql, from_histogram;
  uint64_t previous = UINT64_MAX;
  for (const auto& row : result->rows) {
    uint64_t bytes;
    ASSERT_TRUE(absl::SimpleAtoi(*row[1], &bytes));
    EXPECT_LE(bytes, previous) << "order by 2 desc";
    previous = bytes;
    from_sql[*row[0]] = bytes;
  }
  for (const HistogramRow& row : Histogram(*graph_, {.reachable_only = true})) {
    from_histogram[graph_->type_info(row.type).name] = row.self_bytes;
  }
  EXPECT_EQ(from_sql, from_histogram);
  EXPECT_EQ(from_sql["test.Item"], testing::kListItems * testing::kItemSelfBytes);
}

TEST_F(HeapSqlTest, ObjectsCarrySizesReachabilityAndRootDistance) {
  EXPECT_EQ(Ints("select count(*) from heap_graph_object"),
            std::vector<int64_t>{graph_->object_count()});
  const std::string items =
      "from heap_graph_object o join heap_graph_class c on o.type_id = c.id "
      "where c.name = 'test.Item'";
  EXPECT_EQ(Ints("select count(*) " + items), std::vector<int64_t>{testing::kAllItems});
  EXPECT_EQ(Ints("select count(*) " + items + " and reachable = 1"),
            std::vector<int64_t>{testing::kListItems});
  EXPECT_EQ(Ints("select distinct self_size " + items),
            std::vector<int64_t>{testing::kItemSelfBytes});
  EXPECT_EQ(Ints("select native_size " + items + " and native_size != 0"),
            std::vector<int64_t>{testing::kNativeBytes});
  // The list hangs off the class object (a root, distance 0) of test.Holder.
  EXPECT_EQ(Ints("select root_distance " + items + " and reachable = 1 order by 1"),
            (std::vector<int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(Ints("select distinct root_distance " + items + " and reachable = 0"),
            std::vector<int64_t>{-1});
  EXPECT_EQ(Text("select root_type from heap_graph_object o join heap_graph_class c "
                 "on o.type_id = c.id where c.name = 'java.lang.Class<test.Holder>'"),
            "ROOT_STICKY_CLASS");
  EXPECT_EQ(Ints("select count(*) from heap_graph_object where upid != 1 or "
                 "graph_sample_ts <= 0 or heap_type is not null"),
            std::vector<int64_t>{0});
}

TEST_F(HeapSqlTest, ReferencesJoinThroughReferenceSetId) {
  // Every object's references share its reference_set_id, the id of the
  // first of them.
  EXPECT_EQ(Ints("select count(*) from heap_graph_object o join heap_graph_reference r "
                 "on r.reference_set_id = o.reference_set_id where r.owner_id != o.id"),
            std::vector<int64_t>{0});
  EXPECT_EQ(Ints("select count(*) from heap_graph_object o where reference_set_id is not null "
                 "and reference_set_id != (select min(id) from heap_graph_reference r "
                 "where r.owner_id = o.id)"),
            std::vector<int64_t>{0});
  EXPECT_EQ(Ints("select count(*) from heap_graph_reference"),
            std::vector<int64_t>{static_cast<int64_t>(graph_->summary().references)});
  // item_i.next -> item_{i+1}: 4 such references between reachable Items.
  EXPECT_EQ(Ints("select count(*) from heap_graph_reference r "
                 "join heap_graph_object o on r.owned_id = o.id "
                 "where r.field_name = 'test.Item.next' and r.field_type_name = 'test.Item' "
                 "and o.reachable = 1"),
            std::vector<int64_t>{testing::kListItems - 1});
  EXPECT_EQ(Text("select field_name from heap_graph_reference r join heap_graph_object o "
                 "on r.owner_id = o.id join heap_graph_class c on o.type_id = c.id "
                 "where c.name = 'java.lang.Class<test.Holder>' and r.field_type_name = "
                 "'test.Item'"),
            "test.Holder.list");
}

TEST_F(HeapSqlTest, ClassesHavePerfettosKinds) {
  auto kind = [&](const std::string& name) {
    return Text("select kind from heap_graph_class where name = '" + name + "'");
  };
  EXPECT_EQ(kind("test.Item"), "KIND_NORMAL");
  EXPECT_EQ(kind("java.lang.String"), "KIND_STRING");
  EXPECT_EQ(kind("java.lang.ref.WeakReference"), "KIND_WEAK_REFERENCE");
  EXPECT_EQ(kind("sun.misc.Cleaner"), "KIND_PHANTOM_REFERENCE");
  EXPECT_EQ(kind("libcore.util.NativeAllocationRegistry"), "KIND_NOREFERENCES");
  EXPECT_EQ(kind("int[]"), "KIND_ARRAY");
  EXPECT_EQ(kind("java.lang.Class<test.Item>"), "KIND_CLASS");
  EXPECT_EQ(Text("select s.name from heap_graph_class c join heap_graph_class s "
                 "on c.superclass_id = s.id where c.name = 'test.Item'"),
            "java.lang.Object");
}

TEST_F(HeapSqlTest, ErrorsNameTheStep) {
  const absl::Status again = ExportHeapGraph(*graph_, *db_);
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.message().find("heap_graph_class already exists"), std::string::npos) << again;
  EXPECT_FALSE(db_->Query("select nope from heap_graph_object").ok());
  EXPECT_FALSE(db_->Query("select 1; select 2").ok());
  const absl::StatusOr<SqliteDb> over =
      WriteHeapGraphDatabase(*graph_, absl::StrCat(std::getenv("TEST_TMPDIR"), "/known.hprof"), {});
  EXPECT_EQ(over.status().code(), absl::StatusCode::kAlreadyExists) << over.status();
}

// A database that cannot be written whole (here: the file-size limit, as a
// full disk would) fails naming the write and leaves no file, named or
// temporary; the next export into the same directory works.
TEST_F(HeapSqlTest, AFailedWriteLeavesNoFile) {
  const std::string dir = ::kiln::testing::MakeTempDir("failed-write");
  const std::string path = dir + "/heap.sqlite";
  absl::StatusOr<SqliteDb> db = absl::UnknownError("not run");
  {
    struct rlimit old;
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
    struct rlimit small = old;
    small.rlim_cur = 4096;  // one page: the known heap's database has many
    void (*const previous)(int) = std::signal(SIGXFSZ, SIG_IGN);  // EFBIG, not a signal
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
    db = WriteHeapGraphDatabase(*graph_, path, {});
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
    std::signal(SIGXFSZ, previous);
  }
  EXPECT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("writing"), std::string::npos) << db.status();
  EXPECT_NE(db.status().message().find("heap.sqlite"), std::string::npos) << db.status();
  EXPECT_EQ(::kiln::testing::ListDir(dir), std::vector<std::string>{});

  db = WriteHeapGraphDatabase(*graph_, path, {});
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(::kiln::testing::ListDir(dir), std::vector<std::string>{"heap.sqlite"});
  auto objects = db->Query("select count(*) from heap_graph_object");
  ASSERT_TRUE(objects.ok()) << objects.status();
  EXPECT_EQ(objects->rows.at(0).at(0), std::to_string(graph_->object_count()));
}

}  // namespace
}  // namespace kiln::analysis
