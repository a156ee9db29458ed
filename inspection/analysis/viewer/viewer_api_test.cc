// ViewerApi without sockets, on small hand-built heaps: referrers are the
// exact inverse of references; every endpoint answers JSON; bad ids and
// parameters are 400s (absent objects 404s) and writes through /api/sql are
// refused, while the API keeps answering.
#include "inspection/analysis/viewer/viewer_api.h"

#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "gtest/gtest.h"
#include "inspection/analysis/hand_heap.h"
#include "nlohmann/json.hpp"

namespace kiln::analysis {
namespace {

using hprof::kInt;
using hprof::kLong;
using hprof::kObject;
using Json = nlohmann::json;

std::string Hex(uint64_t id) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(id));
  return text;
}

// A small heap with shared objects, two references from one object to the
// same target, a cycle, an array and a weak reference:
//   R{a, b, x} -> A, B;  A{d} -> D;  B{d, d2, y} -> D, D;  D{e, z} -> E;
//   E{back, q} -> A (a cycle);  arr = Object[]{D, null, E};  weak -> W.
struct Heap {
  HandHeap heap;
  uint64_t r, a, b, d, e, arr, weak, w;
  Heap() {
    const uint64_t cr = heap.Class("app.Root", {{"a", kObject}, {"b", kObject}, {"x", kLong}});
    const uint64_t ca = heap.Class("app.A", {{"d", kObject}});
    const uint64_t cb = heap.Class("app.B", {{"d", kObject}, {"d2", kObject}, {"y", kLong}});
    const uint64_t cd = heap.Class("app.D", {{"e", kObject}, {"z", kInt}});
    const uint64_t ce = heap.Class("app.E", {{"back", kObject}, {"q", kLong}});
    const uint64_t cw = heap.Class("app.W", {{"n", kInt}});
    w = heap.Instance(cw, {9});
    e = heap.Instance(ce, {0, 2});
    d = heap.Instance(cd, {e, 3});
    a = heap.Instance(ca, {d});
    b = heap.Instance(cb, {d, d, 4});
    r = heap.Instance(cr, {a, b, 5});
    arr = heap.ObjectArray({d, 0, e});
    weak = heap.Instance(heap.weak_reference_class(), {w});
    heap.Root(RootType::kJniGlobal, r);
    heap.Root(RootType::kJniGlobal, arr);
    heap.Root(RootType::kJniGlobal, weak);
  }
};

class ViewerApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<HandGraph> g = h_.heap.Build();
    ASSERT_TRUE(g.ok()) << g.status();
    LoadedDump dump;
    dump.path = "hand.hprof";
    dump.reader = std::move(g->reader);
    dump.graph = std::move(g->graph);
    view_ = HeapView::Create(std::move(dump), {});
    api_ = std::make_unique<ViewerApi>(*view_);
  }
  Json Get(const std::string& path, const std::map<std::string, std::string>& params = {},
           int want = 200) {
    const ApiResponse r = api_->Handle(path, params);
    EXPECT_EQ(r.status, want) << path << ": " << r.body;
    return Json::parse(r.body);
  }
  const HeapGraph& graph() const { return view_->graph(); }

  Heap h_;
  std::unique_ptr<HeapView> view_;
  std::unique_ptr<ViewerApi> api_;
};

// Each class's instances are sorted by a background thread or by the first
// request for them, whichever comes first: requests from several threads
// while the sorter runs all see every instance exactly once, by retained
// size descending (TSan checks the hand-over).
absl::StatusOr<HandGraph> ChainsHeap() {
  HandHeap heap;
  std::vector<uint64_t> classes;
  for (int c = 0; c < 12; ++c) {
    classes.push_back(heap.Class(absl::StrCat("app.C", c), {{"next", kObject}}));
  }
  // Chains of 1..40 objects, each all of one class (app.C<length % 12>) and
  // rooted, so that retained sizes differ within a class.
  for (int length = 1; length <= 40; ++length) {
    uint64_t next = 0;
    for (int i = 0; i < length; ++i) next = heap.Instance(classes[length % 12], {next});
    heap.Root(RootType::kJniGlobal, next);
  }
  return heap.Build();
}

std::unique_ptr<HeapView> ChainsView() {
  absl::StatusOr<HandGraph> g = ChainsHeap();
  KILN_CHECK(g.ok(), g.status().ToString());
  LoadedDump dump;
  dump.path = "chains.hprof";
  dump.reader = std::move(g->reader);
  dump.graph = std::move(g->graph);
  return HeapView::Create(std::move(dump), {});
}

TEST(HeapViewTest, InstancesAreSortedOnFirstUseFromAnyThread) {
  ChainsView().reset();  // destroyed at once, its sorter stopped mid-way
  std::unique_ptr<HeapView> view = ChainsView();
  const HeapGraph& graph = view->graph();
  const uint32_t types = graph.type_count();
  std::vector<uint32_t> counts(types, 0);
  for (uint32_t obj = 0; obj < graph.object_count(); ++obj) ++counts[graph.type(obj)];
  std::vector<std::vector<std::vector<uint32_t>>> seen(4,
                                                       std::vector<std::vector<uint32_t>>(types));
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&, r] {
      for (uint32_t k = 0; k < types; ++k) {
        const uint32_t t = r % 2 == 0 ? k : types - 1 - k;
        const absl::Span<const uint32_t> span = view->instances(t);
        seen[r][t].assign(span.begin(), span.end());
      }
    });
  }
  for (std::thread& t : readers) t.join();
  view->WaitForSortedInstances();
  int chain_classes = 0;
  for (uint32_t t = 0; t < types; ++t) {
    const std::vector<uint32_t>& list = seen[0][t];
    const std::string& name = graph.type_info(t).name;
    ASSERT_EQ(list.size(), counts[t]) << name;
    for (size_t i = 0; i < list.size(); ++i) {
      EXPECT_EQ(graph.type(list[i]), t) << name;
      if (i > 0) {
        EXPECT_GE(view->retained(list[i - 1]), view->retained(list[i])) << name;
      }
    }
    for (int r = 1; r < 4; ++r) {
      EXPECT_EQ(seen[r][t], list) << name;
    }
    if (name == "app.C4") {  // chains of 4, 16, 28 and 40: the 40's head first
      ++chain_classes;
      ASSERT_EQ(list.size(), 4u + 16 + 28 + 40);
      EXPECT_EQ(view->retained(list[0]), 40 * uint64_t{graph.self_size(list[0])});
    }
  }
  EXPECT_EQ(chain_classes, 1);
}

TEST_F(ViewerApiTest, ReferrersAreTheExactInverseOfReferences) {
  // (owner, field, target) triples both ways, over every object.
  std::multiset<std::tuple<std::string, std::string, std::string>> forward, backward;
  for (uint32_t obj = 0; obj < graph().object_count(); ++obj) {
    const std::string id = Hex(graph().id(obj));
    const Json o = Get("/api/object/" + id);
    ASSERT_EQ(o["references"]["total"].get<size_t>(), graph().references(obj).size());
    for (const Json& ref : o["references"]["items"]) {
      forward.insert({id, ref["field"], ref["id"]});
    }
    const Json r = Get("/api/object/" + id + "/referrers", {{"limit", "1000"}});
    ASSERT_EQ(r["total"].get<size_t>(), r["referrers"].size());
    EXPECT_EQ(o["referrer_count"], r["total"]);
    for (const Json& from : r["referrers"]) backward.insert({from["id"], from["field"], id});
  }
  EXPECT_EQ(forward, backward);
  // B refers to D twice, through two fields; the array once.
  const Json d = Get("/api/object/" + Hex(h_.d) + "/referrers");
  std::multiset<std::string> fields;
  for (const Json& from : d["referrers"]) fields.insert(from["field"].get<std::string>());
  EXPECT_EQ(fields, (std::multiset<std::string>{"app.A.d", "app.B.d", "app.B.d2", "[0]"}));
  // The weak reference's referent is a reference like any other here.
  const Json w = Get("/api/object/" + Hex(h_.w) + "/referrers");
  ASSERT_EQ(w["referrers"].size(), 1u);
  EXPECT_EQ(w["referrers"][0]["id"], Hex(h_.weak));
  EXPECT_FALSE(Get("/api/object/" + Hex(h_.w))["reachable"].get<bool>());
}

TEST_F(ViewerApiTest, ObjectPathDominatorsAndFields) {
  const Json e = Get("/api/object/" + Hex(h_.e));
  // E: shortest path arr -> E ([2]); dominated by the super-root (R and arr
  // both reach it).
  ASSERT_EQ(e["path"].size(), 2u);
  EXPECT_EQ(e["path"][0]["id"], Hex(h_.arr));
  EXPECT_EQ(e["path"][1]["field"], "[2]");
  EXPECT_TRUE(e["dominators"].empty());
  const Json b = Get("/api/object/" + Hex(h_.b));
  EXPECT_EQ(b["fields"][2]["name"], "y");
  EXPECT_EQ(b["fields"][2]["value"], "4");
  EXPECT_EQ(b["fields"][0]["ref"]["id"], Hex(h_.d));
  ASSERT_EQ(b["dominators"].size(), 1u);  // R
  EXPECT_EQ(b["dominators"][0]["id"], Hex(h_.r));
  // The dominator tree: top-level children are what the roots hold alone.
  const Json top = Get("/api/dominators");
  std::set<std::string> ids;
  for (const Json& c : top["children"]) ids.insert(c["id"]);
  EXPECT_TRUE(ids.count(Hex(h_.r)) && ids.count(Hex(h_.arr)) && ids.count(Hex(h_.d)));
  const Json under_r = Get("/api/dominators", {{"parent", Hex(h_.r)}});
  std::set<std::string> kids;
  for (const Json& c : under_r["children"]) kids.insert(c["id"]);
  EXPECT_EQ(kids, (std::set<std::string>{Hex(h_.a), Hex(h_.b)}));
}

TEST_F(ViewerApiTest, HistogramMatchesTheGraph) {
  const Json all = Get("/api/histogram");
  std::map<std::string, uint64_t> counts;
  for (const Json& c : all["classes"]) counts[c["name"]] = c["count"];
  EXPECT_EQ(counts["app.D"], 1u);
  EXPECT_EQ(counts["app.W"], 1u);
  const Json reachable = Get("/api/histogram", {{"reachable", "1"}});
  for (const Json& c : reachable["classes"]) EXPECT_NE(c["name"], "app.W");
  for (const char* key : {"name", "count", "self_bytes", "native_bytes", "retained_bytes"}) {
    EXPECT_TRUE(all["classes"][0].contains(key)) << key;
  }
}

TEST_F(ViewerApiTest, BadIdsAndParametersAre400sAndTheApiRunsOn) {
  for (const char* id : {"zz", "0x", "-1", "0x12345678901234567", "1e5", "0x12g", "%00",
                         "123456789012345678901234", ""}) {
    SCOPED_TRACE(id);
    const Json j = Get(std::string("/api/object/") + id, {}, 400);
    EXPECT_TRUE(j.contains("error"));
    Get(std::string("/api/object/") + id + "/referrers", {}, 400);
  }
  Get("/api/object/0x1", {}, 404);  // well-formed, but no such object
  Get("/api/object/" + Hex(h_.r) + "/nothing", {}, 404);
  Get("/api/class/abc", {}, 400);
  Get("/api/class/99999", {}, 404);
  Get("/api/class/-1", {}, 400);
  Get("/api/histogram", {{"reachable", "maybe"}}, 400);
  Get("/api/object/" + Hex(h_.r) + "/referrers", {{"offset", "-1"}}, 400);
  Get("/api/object/" + Hex(h_.r) + "/referrers", {{"limit", "100000"}}, 400);
  Get("/api/object/" + Hex(h_.r) + "/referrers", {{"limit", "12abc"}}, 400);
  Get("/api/dominators", {{"parent", "../../etc/passwd"}}, 400);
  Get("/api/dominators", {{"parent", Hex(h_.w)}}, 400);  // unreachable
  Get("/api/nothing", {}, 404);
  Get("/api/../../etc/passwd", {}, 404);
  Get("/api/sql", {}, 400);
  EXPECT_EQ(Get("/api/overview")["objects"], graph().object_count());
}

TEST_F(ViewerApiTest, SqlIsReadOnly) {
  for (const char* sql :
       {"delete from heap_graph_object", "insert into heap_graph_class(id, name, kind) values (1000, 'x', 'y')",
        "update heap_graph_object set self_size = 0", "drop table heap_graph_reference",
        "create table t(x)", "create temp table t(x)", "attach database '/tmp/kiln-x.db' as x",
        "attach ':memory:' as x", "pragma query_only = 0", "pragma writable_schema = 1",
        "begin", "vacuum into '/tmp/kiln-vacuum.db'", "select load_extension('/tmp/x.so')",
        "select 1; delete from heap_graph_object", "create virtual table v using experimental_flamegraph",
        "select * from nosuchtable", "with recursive c(x) as (select 1 union all select x + 1 from c) "
        "select count(*) from c"}) {
    SCOPED_TRACE(sql);
    const Json j = Get("/api/sql", {{"q", sql}}, 400);
    EXPECT_TRUE(j.contains("error"));
  }
  const Json count = Get("/api/sql", {{"q", "select count(*) from heap_graph_object"}});
  EXPECT_EQ(count["rows"][0][0], std::to_string(graph().object_count()));
  const Json many = Get("/api/sql", {{"q", "with recursive c(x) as (select 1 union all select x + 1 "
                                           "from c limit 20000) select x from c"}});
  EXPECT_TRUE(many["truncated"].get<bool>());
  EXPECT_EQ(many["rows"].size(), ViewerSql::kRowCap);
}

}  // namespace
}  // namespace kiln::analysis
