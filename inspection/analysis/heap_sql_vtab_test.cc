// heap_sql_vtab: the virtual tables over a known heap (test_heap.h) give
// the graph's rows, use the graph's lookups, consume an ORDER BY only when
// their order satisfies it, answer every query as a database file written
// from them does (sql_equivalence_queries.h), and refuse bad SQL clearly.
#include "inspection/analysis/heap_sql_vtab.h"

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "inspection/analysis/heap_graph.h"
#include "inspection/analysis/heap_sql.h"
#include "inspection/analysis/shortest_path_tree.h"
#include "inspection/analysis/sql_equivalence_queries.h"
#include "inspection/analysis/test_heap.h"

namespace kiln::analysis {
namespace {

using Row = std::vector<std::optional<std::string>>;

std::string Show(const Row& row) {
  std::vector<std::string> cells;
  for (const auto& cell : row) cells.push_back(cell.value_or("NULL"));
  return absl::StrJoin(cells, "|");
}

class HeapSqlVtabTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = std::getenv("TEST_TMPDIR");
    const std::string path = dir + "/known.hprof";
    ASSERT_TRUE(testing::DumpKnownHeap(path, {}).ok());
    auto graph = HeapGraph::Load(path, {});
    ASSERT_TRUE(graph.ok()) << graph.status();
    graph_ = graph->release();
    auto vdb = SqliteDb::InMemory();
    ASSERT_TRUE(vdb.ok()) << vdb.status();
    vtab_ = new SqliteDb(*std::move(vdb));
    ASSERT_TRUE(ServeHeapGraph(*graph_, vtab_->get()).ok());
    const std::string file = dir + "/known.sqlite";
    {
      auto written = WriteHeapGraphDatabase(*graph_, file, {});
      ASSERT_TRUE(written.ok()) << written.status();
    }
    auto fdb = SqliteDb::OpenReadOnly(file);
    ASSERT_TRUE(fdb.ok()) << fdb.status();
    file_ = new SqliteDb(*std::move(fdb));
  }
  static void TearDownTestSuite() {
    delete vtab_;
    delete file_;
    delete graph_;
  }

  static QueryResult Query(SqliteDb& db, const std::string& sql) {
    auto result = db.Query(sql);
    EXPECT_TRUE(result.ok()) << result.status() << " in " << sql;
    return result.ok() ? *std::move(result) : QueryResult{};
  }
  static std::string Plan(const std::string& sql) {
    std::string plan;
    for (const Row& row : Query(*vtab_, "explain query plan " + sql).rows) {
      absl::StrAppend(&plan, row.back().value_or(""), "\n");
    }
    return plan;
  }
  static std::vector<std::string> Rows(const std::string& sql) {
    std::vector<std::string> rows;
    for (const Row& row : Query(*vtab_, sql).rows) rows.push_back(Show(row));
    return rows;
  }

  static HeapGraph* graph_;
  static SqliteDb* vtab_;
  static SqliteDb* file_;
};

HeapGraph* HeapSqlVtabTest::graph_ = nullptr;
SqliteDb* HeapSqlVtabTest::vtab_ = nullptr;
SqliteDb* HeapSqlVtabTest::file_ = nullptr;

TEST_F(HeapSqlVtabTest, TheRowsAreTheGraphs) {
  // Worked out here from HeapGraph's accessors, as the old row-by-row
  // export wrote them.
  std::vector<std::string> classes, objects, references;
  for (uint32_t t = 0; t < graph_->type_count(); ++t) {
    const TypeInfo& info = graph_->type_info(t);
    classes.push_back(absl::StrCat(t, "|", info.name, "|NULL|NULL|",
                                   info.superclass == kNoType ? "NULL" : absl::StrCat(info.superclass),
                                   "|NULL|", ClassKind(*graph_, t)));
  }
  const std::vector<uint32_t> distance = ComputeShortestPathTree(*graph_).distance;
  const int64_t ts = static_cast<int64_t>(graph_->summary().timestamp_ms) * 1000000;
  uint64_t next = 0;
  for (uint32_t obj = 0; obj < graph_->object_count(); ++obj) {
    const auto refs = graph_->references(obj);
    const auto root = graph_->root_type(obj);
    objects.push_back(absl::StrCat(
        obj, "|1|", ts, "|", graph_->self_size(obj), "|", graph_->native_size(obj), "|",
        refs.empty() ? "NULL" : absl::StrCat(next), "|", graph_->reachable(obj) ? 1 : 0, "|NULL|",
        graph_->type(obj), "|", root.has_value() ? RootTypeName(*root) : "NULL", "|",
        distance[obj] == kNoObject ? int64_t{-1} : int64_t{distance[obj]}));
    const uint64_t set = next;
    for (const Reference& ref : refs) {
      references.push_back(absl::StrCat(next++, "|", set, "|", obj, "|", ref.target, "|",
                                        graph_->field_name(ref.field_name), "|",
                                        graph_->field_type_name(ref), "|NULL"));
    }
  }
  ASSERT_GT(references.size(), 100u);
  EXPECT_EQ(Rows("select * from heap_graph_class"), classes);
  EXPECT_EQ(Rows("select * from heap_graph_object"), objects);
  EXPECT_EQ(Rows("select * from heap_graph_reference"), references);
  // Every row by its id, every object's references by owner_id and by
  // reference_set_id, every type's objects by type_id.
  for (uint32_t obj = 0; obj < graph_->object_count(); ++obj) {
    EXPECT_EQ(Rows(absl::StrCat("select * from heap_graph_object where id = ", obj)),
              std::vector<std::string>{objects[obj]});
  }
  for (uint64_t r = 0; r < references.size(); ++r) {
    EXPECT_EQ(Rows(absl::StrCat("select * from heap_graph_reference where id = ", r)),
              std::vector<std::string>{references[r]});
  }
  next = 0;
  for (uint32_t obj = 0; obj < graph_->object_count(); ++obj) {
    const size_t n = graph_->references(obj).size();
    const std::vector<std::string> mine(references.begin() + next, references.begin() + next + n);
    EXPECT_EQ(Rows(absl::StrCat("select * from heap_graph_reference where owner_id = ", obj)), mine);
    if (n > 0) {
      EXPECT_EQ(Rows(absl::StrCat("select * from heap_graph_reference where reference_set_id = ",
                                  next)),
                mine);
      EXPECT_EQ(Rows(absl::StrCat("select id from heap_graph_object where reference_set_id = ",
                                  next)),
                std::vector<std::string>{absl::StrCat(obj)});
    }
    next += n;
  }
  for (uint32_t t = 0; t < graph_->type_count(); ++t) {
    std::vector<std::string> ids;
    for (uint32_t obj = 0; obj < graph_->object_count(); ++obj) {
      if (graph_->type(obj) == t) ids.push_back(absl::StrCat(obj));
    }
    EXPECT_EQ(Rows(absl::StrCat("select id from heap_graph_object where type_id = ", t)), ids);
  }
}

TEST_F(HeapSqlVtabTest, EveryQueryGivesTheRowsOfTheDatabaseFile) {
  const std::vector<std::string> queries = testing::EquivalenceQueries();
  ASSERT_GT(queries.size(), 80u);
  for (const std::string& sql : queries) {
    SCOPED_TRACE(sql);
    const QueryResult virtual_rows = Query(*vtab_, sql);
    const QueryResult file_rows = Query(*file_, sql);
    EXPECT_EQ(virtual_rows.columns, file_rows.columns);
    ASSERT_EQ(virtual_rows.rows.size(), file_rows.rows.size());
    for (size_t i = 0; i < file_rows.rows.size(); ++i) {
      ASSERT_EQ(Show(virtual_rows.rows[i]), Show(file_rows.rows[i])) << "row " << i;
    }
  }
  // The lookups found something: the queries are not vacuous.
  EXPECT_EQ(Query(*vtab_, "select count(*) from heap_graph_reference where owner_id = (select "
                          "owner_id from heap_graph_reference where id = 3)")
                .rows.at(0)
                .at(0)
                .value_or("0") != "0",
            true);
  // The file's tables are real ones, with the indexes.
  EXPECT_EQ(Query(*file_, "select count(*) from sqlite_schema where type = 'table' and sql like "
                          "'CREATE TABLE heap_graph_%'")
                .rows.at(0)
                .at(0),
            "3");
  EXPECT_EQ(Query(*file_, "select count(*) from sqlite_schema where type = 'index'").rows.at(0).at(0),
            "3");
}

TEST_F(HeapSqlVtabTest, LookupsUseTheGraphsIndices) {
  EXPECT_TRUE(absl::StrContains(Plan("select * from heap_graph_object where id = 5"), "INDEX 0:i"));
  EXPECT_TRUE(absl::StrContains(Plan("select * from heap_graph_class where id = 5"), "INDEX 0:i"));
  EXPECT_TRUE(
      absl::StrContains(Plan("select * from heap_graph_reference where id = 5"), "INDEX 0:i"));
  EXPECT_TRUE(absl::StrContains(Plan("select * from heap_graph_reference where owner_id = 5"),
                                "INDEX 0:o"));
  EXPECT_TRUE(absl::StrContains(
      Plan("select * from heap_graph_reference where reference_set_id = 5"), "INDEX 0:s"));
  EXPECT_TRUE(absl::StrContains(Plan("select * from heap_graph_object where type_id = 5"),
                                "INDEX 0:t"));
  EXPECT_TRUE(absl::StrContains(Plan("select * from heap_graph_object where id > 5 and id <= 9"),
                                "INDEX 0:gL"));
  // A join looks up the inner table by the outer's value.
  const std::string join = Plan(
      "select * from heap_graph_object o join heap_graph_reference r on r.owner_id = o.id");
  EXPECT_TRUE(absl::StrContains(join, "SCAN r VIRTUAL TABLE INDEX 0:o") ||
              absl::StrContains(join, "SCAN o VIRTUAL TABLE INDEX 0:i"))
      << join;
  // The seed's query: classes in name order, each one's objects by type,
  // so no sort for the GROUP BY.
  const std::string seed = Plan(
      "select c.name, sum(o.self_size) from heap_graph_object o join heap_graph_class c on "
      "(o.type_id = c.id) where reachable = 1 group by 1 order by 2 desc");
  // (GROUP BY takes the ORDER BY's direction: the classes come backwards.)
  EXPECT_TRUE(absl::StrContains(seed, "SCAN c VIRTUAL TABLE INDEX 2:")) << seed;
  EXPECT_TRUE(absl::StrContains(seed, "SCAN o VIRTUAL TABLE INDEX 0:t")) << seed;
  EXPECT_FALSE(absl::StrContains(seed, "GROUP BY")) << seed;
  // owned_id has no index: a scan that SQLite filters.
  EXPECT_TRUE(absl::StrContains(Plan("select * from heap_graph_reference where owned_id = 5"),
                                "INDEX 0:\n"));
}

TEST_F(HeapSqlVtabTest, OrderByIsConsumedOnlyWhenTrue) {
  const auto sorts = [](const std::string& sql) {
    return absl::StrContains(Plan(sql), "USE TEMP B-TREE FOR ORDER BY");
  };
  EXPECT_FALSE(sorts("select id from heap_graph_object order by id"));
  EXPECT_FALSE(sorts("select id from heap_graph_object where type_id = 3 order by id"));
  EXPECT_FALSE(sorts("select id from heap_graph_reference order by owner_id, id"));
  EXPECT_FALSE(sorts("select id from heap_graph_reference order by reference_set_id"));
  EXPECT_FALSE(sorts("select id from heap_graph_class order by name"));
  EXPECT_TRUE(sorts("select id from heap_graph_object order by id desc"));
  EXPECT_TRUE(sorts("select id from heap_graph_object order by reference_set_id"));
  EXPECT_TRUE(sorts("select id from heap_graph_object order by self_size"));
  EXPECT_TRUE(sorts("select id from heap_graph_reference order by owned_id"));
  EXPECT_TRUE(sorts("select id from heap_graph_reference order by owner_id desc"));
  EXPECT_FALSE(sorts("select id from heap_graph_class order by name desc, id desc"));
  EXPECT_TRUE(sorts("select id from heap_graph_class order by name desc, id"));
  EXPECT_TRUE(sorts("select id from heap_graph_class order by name collate nocase"));
  // And the rows are in that order.
  const std::vector<std::string> ids = Rows("select id from heap_graph_object order by id");
  ASSERT_EQ(ids.size(), graph_->object_count());
  for (uint32_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], absl::StrCat(i));
  std::vector<std::string> names = Rows("select name from heap_graph_class order by name");
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(names.size(), graph_->type_count());
  const std::vector<std::string> owners =
      Rows("select owner_id from heap_graph_reference order by owner_id");
  EXPECT_TRUE(std::is_sorted(owners.begin(), owners.end(), [](const std::string& a,
                                                               const std::string& b) {
    return std::stoll(a) < std::stoll(b);
  }));
}

TEST_F(HeapSqlVtabTest, BadSqlGivesAClearError) {
  const auto error = [](const std::string& sql) {
    auto result = vtab_->Query(sql);
    EXPECT_FALSE(result.ok()) << sql;
    return result.ok() ? std::string() : std::string(result.status().message());
  };
  EXPECT_TRUE(absl::StrContains(error("insert into heap_graph_object(id) values (1)"),
                                "table heap_graph_object may not be modified"));
  EXPECT_TRUE(absl::StrContains(error("delete from heap_graph_reference"), "may not be modified"));
  EXPECT_TRUE(absl::StrContains(error("update heap_graph_class set name = 'x'"),
                                "may not be modified"));
  EXPECT_TRUE(absl::StrContains(error("drop table heap_graph_object"), "may not be dropped"));
  EXPECT_TRUE(absl::StrContains(error("select nope from heap_graph_object"), "no such column: nope"));
  EXPECT_TRUE(absl::StrContains(error("select * from heap_graph_object where"), "incomplete input"));
  EXPECT_TRUE(absl::StrContains(error("select * form heap_graph_object"), "syntax error"));
  EXPECT_TRUE(absl::StrContains(error("select * from heap_graph_object('x')"),
                                "too many arguments"));
  EXPECT_TRUE(absl::StrContains(error("select 1; drop table heap_graph_object"),
                                "one statement at a time"));
  EXPECT_TRUE(absl::StrContains(error(""), "empty"));
  EXPECT_TRUE(absl::StrContains(error("select * from heap_graph_objects"), "no such table"));
  // Serving twice is refused, naming the table; the first tables still serve.
  const absl::Status again = ServeHeapGraph(*graph_, vtab_->get());
  EXPECT_TRUE(absl::StrContains(again.message(), "table heap_graph_class already exists")) << again;
  EXPECT_EQ(Rows("select count(*) from heap_graph_object"),
            std::vector<std::string>{absl::StrCat(graph_->object_count())});
  // A graph without references cannot serve the tables.
  auto no_refs = HeapGraph::Load(absl::StrCat(std::getenv("TEST_TMPDIR"), "/known.hprof"),
                                 {.references = false});
  ASSERT_TRUE(no_refs.ok());
  auto db = SqliteDb::InMemory();
  ASSERT_TRUE(db.ok());
  EXPECT_TRUE(absl::StrContains(ServeHeapGraph(**no_refs, db->get()).message(),
                                "built with references"));
}

}  // namespace
}  // namespace kiln::analysis
