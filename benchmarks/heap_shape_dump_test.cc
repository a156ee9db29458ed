// Dumps of the benchmark heap shape, read back with Kiln's reader: both dump
// modes hold exactly the shape's counts and texts, and a fork-mode dump holds
// the same classes, objects, roots and references as a stop-the-world dump of
// the same frozen heap (nothing runs between the two dumps: the shape's
// threads are parked).
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "benchmarks/heap_shape.h"
#include "gtest/gtest.h"
#include "gc/internal/heap_reservation.h"
#include "inspection/internal/dump_environment.h"
#include "inspection/hprof/hprof_format.h"
#include "inspection/hprof/hprof_snapshot.h"
#include "inspection/vm_runtime.h"
#include "vm/kiln.h"

namespace kiln::bench {
namespace {

constexpr int64_t kN = 1600;

class HeapShapeDumpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RuntimeOptions options;
    options.heap_limit_bytes = size_t{256} << 20;
    options.initial_heap_bytes = options.heap_limit_bytes;  // keep the garbage
    options.classes = HeapShapeClasses();
    runtime_ = Runtime::Create(std::move(options))->release();
    shape_ = new HeapShape(*runtime_, kN);
    {
      ThreadScope scope(*runtime_, "main");
      ASSERT_TRUE(shape_->Build(scope.thread()).ok());
    }
    shape_->Park();
  }
  static void TearDownTestSuite() {
    delete shape_;
    delete runtime_;
  }

  // Dump: the snapshot of a dump in `mode`.
  std::unique_ptr<HprofSnapshot> Dump(bool live, DumpMode mode) {
    HeapDumpOptions options;
    const char* dir = std::getenv("TEST_TMPDIR");
    options.path = absl::StrCat(dir != nullptr ? dir : "/tmp", "/shape-", live ? "live" : "full",
                                "-", mode == DumpMode::kFork ? "fork" : "stw", "-",
                                counter_++, ".hprof");
    options.live = live;
    options.mode = mode;
    // The modes' dumps are compared value for value, the environment's too.
    options.extra_properties = PinnedVolatileProperties();
    HeapDumpStats stats;
    absl::StatusOr<std::string> path = VMRuntime::DumpHeap(*runtime_, options, &stats);
    EXPECT_TRUE(path.ok()) << path.status();
    if (!path.ok()) return nullptr;
    absl::StatusOr<std::unique_ptr<HprofSnapshot>> snapshot = HprofSnapshot::Load(*path);
    EXPECT_TRUE(snapshot.ok()) << snapshot.status();
    if (!snapshot.ok()) return nullptr;
    EXPECT_TRUE((*snapshot)->CheckReferences().ok());
    EXPECT_EQ(stats.objects, (*snapshot)->instances().size() +
                                 (*snapshot)->object_arrays().size() +
                                 (*snapshot)->primitive_arrays().size());
    return std::move(*snapshot);
  }

  // ExpectShape: the shape's counts, and every string's text.
  void ExpectShape(const HprofSnapshot& s, bool live) {
    EXPECT_EQ(s.InstancesOf("Node").size(), live ? kN : kN + kN / 4);
    std::set<std::string> texts;
    for (uint64_t id : s.InstancesOf("java.lang.String")) {
      absl::StatusOr<std::string> text = s.StringValue(id);
      ASSERT_TRUE(text.ok()) << text.status();
      if (text->rfind("str-", 0) == 0) texts.insert(*text);
    }
    std::set<std::string> expected;
    for (int64_t i = 0; i < kN / 16; ++i) expected.insert(absl::StrFormat("str-%016d", i));
    EXPECT_EQ(texts, expected);
    int int16 = 0, byte64 = 0;
    for (const auto& [id, array] : s.primitive_arrays()) {
      int16 += array.type == hprof::kInt && array.length == 16;
      byte64 += array.type == hprof::kByte && array.length == 64;
    }
    EXPECT_EQ(int16, kN / 8);
    EXPECT_EQ(byte64, kN / 8);
  }

  // ExpectSameDump: the same classes, objects (with their values and
  // references) and roots.
  void ExpectSameDump(const HprofSnapshot& a, const HprofSnapshot& b) {
    ASSERT_EQ(a.classes().size(), b.classes().size());
    for (const auto& [id, cls] : a.classes()) {
      const HprofSnapshot::Class* other = b.ClassById(id);
      ASSERT_NE(other, nullptr) << cls.name;
      EXPECT_EQ(cls.name, other->name);
      EXPECT_EQ(cls.super_id, other->super_id);
      EXPECT_EQ(cls.instance_size, other->instance_size);
    }
    ASSERT_EQ(a.instances().size(), b.instances().size());
    for (const auto& [id, instance] : a.instances()) {
      auto it = b.instances().find(id);
      ASSERT_NE(it, b.instances().end());
      EXPECT_EQ(instance.class_id, it->second.class_id);
      EXPECT_TRUE(std::equal(instance.values.begin(), instance.values.end(),
                             it->second.values.begin(), it->second.values.end()));
    }
    ASSERT_EQ(a.object_arrays().size(), b.object_arrays().size());
    for (const auto& [id, array] : a.object_arrays()) {
      auto it = b.object_arrays().find(id);
      ASSERT_NE(it, b.object_arrays().end());
      EXPECT_EQ(array.class_id, it->second.class_id);
      EXPECT_EQ(array.elements, it->second.elements);
    }
    ASSERT_EQ(a.primitive_arrays().size(), b.primitive_arrays().size());
    for (const auto& [id, array] : a.primitive_arrays()) {
      auto it = b.primitive_arrays().find(id);
      ASSERT_NE(it, b.primitive_arrays().end());
      EXPECT_EQ(array.type, it->second.type);
      EXPECT_TRUE(std::equal(array.elements.begin(), array.elements.end(),
                             it->second.elements.begin(), it->second.elements.end()));
    }
    ASSERT_EQ(a.roots().size(), b.roots().size());
    for (size_t i = 0; i < a.roots().size(); ++i) {
      EXPECT_EQ(a.roots()[i].tag, b.roots()[i].tag) << i;
      EXPECT_EQ(a.roots()[i].id, b.roots()[i].id) << i;
      EXPECT_EQ(a.roots()[i].thread_serial, b.roots()[i].thread_serial) << i;
      EXPECT_EQ(a.roots()[i].depth, b.roots()[i].depth) << i;
    }
  }

  static Runtime* runtime_;
  static HeapShape* shape_;
  static int counter_;
};

Runtime* HeapShapeDumpTest::runtime_ = nullptr;
HeapShape* HeapShapeDumpTest::shape_ = nullptr;
int HeapShapeDumpTest::counter_ = 0;

TEST_F(HeapShapeDumpTest, FullDumpsHoldTheShapeInBothModesAndAgree) {
  std::unique_ptr<HprofSnapshot> stw = Dump(/*live=*/false, DumpMode::kStopTheWorld);
  std::unique_ptr<HprofSnapshot> fork = Dump(/*live=*/false, DumpMode::kFork);
  ASSERT_NE(stw, nullptr);
  ASSERT_NE(fork, nullptr);
  ExpectShape(*stw, /*live=*/false);
  ExpectShape(*fork, /*live=*/false);
  ExpectSameDump(*stw, *fork);
}

TEST_F(HeapShapeDumpTest, LiveDumpsHoldTheShapeInBothModesAndAgree) {
  std::unique_ptr<HprofSnapshot> fork = Dump(/*live=*/true, DumpMode::kFork);
  std::unique_ptr<HprofSnapshot> stw = Dump(/*live=*/true, DumpMode::kStopTheWorld);
  ASSERT_NE(stw, nullptr);
  ASSERT_NE(fork, nullptr);
  ExpectShape(*stw, /*live=*/true);
  ExpectShape(*fork, /*live=*/true);
  ExpectSameDump(*stw, *fork);
}

// FileBytes: a file's bytes with the header's timestamp (the u8 after the
// magic and the id size) zeroed: two dumps of one frozen heap differ only
// there.
std::vector<uint8_t> FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t at = sizeof(hprof::kMagic) + 4;
  if (bytes.size() >= at + 8) std::fill_n(bytes.begin() + static_cast<ptrdiff_t>(at), 8, 0);
  return bytes;
}

// Canonical: a dump's objects, classes and roots with every id replaced by
// its rank among the dump's ids (address order): two runtimes that built the
// same heap at different addresses give the same text.
std::string Canonical(const HprofSnapshot& s) {
  std::vector<uint64_t> ids;
  for (const auto& [id, c] : s.classes()) ids.push_back(id);
  for (const auto& [id, o] : s.instances()) ids.push_back(id);
  for (const auto& [id, o] : s.object_arrays()) ids.push_back(id);
  for (const auto& [id, o] : s.primitive_arrays()) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  std::map<uint64_t, size_t> rank;
  for (size_t i = 0; i < ids.size(); ++i) rank[ids[i]] = i + 1;
  auto r = [&](uint64_t id) { return id == 0 ? size_t{0} : rank.at(id); };
  std::string out;
  for (uint64_t id : ids) {
    if (const HprofSnapshot::Class* c = s.ClassById(id)) {
      absl::StrAppend(&out, "C", r(id), " ", c->name, " super=", r(c->super_id), "\n");
    } else if (auto it = s.instances().find(id); it != s.instances().end()) {
      absl::StrAppend(&out, "I", r(id), " class=", r(it->second.class_id));
      // A local: `*s.Fields(id)` in the loop header would outlive its StatusOr.
      const absl::StatusOr<std::map<std::string, HprofSnapshot::Value>> fields = s.Fields(id);
      for (const auto& [name, value] : *fields) {
        absl::StrAppend(&out, " ", name, "=",
                        value.type == hprof::kObject ? r(value.bits) : value.bits);
      }
      out += "\n";
    } else if (auto it = s.object_arrays().find(id); it != s.object_arrays().end()) {
      absl::StrAppend(&out, "A", r(id), " class=", r(it->second.class_id));
      for (uint64_t e : it->second.elements) absl::StrAppend(&out, " ", r(e));
      out += "\n";
    } else {
      const HprofSnapshot::PrimitiveArray& a = s.primitive_arrays().at(id);
      absl::StrAppend(&out, "P", r(id), " type=", a.type, " ",
                      absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(a.elements.data()), a.elements.size())),
                      "\n");
    }
  }
  for (const HprofSnapshot::Root& root : s.roots()) {
    absl::StrAppend(&out, "R", root.tag, " ", r(root.id), " ", root.thread_serial, " ",
                    root.depth, "\n");
  }
  return out;
}

// With and without transparent huge pages: the same shape dumped in both
// modes gives the same dump (byte for byte between the modes of one
// runtime; the same objects, values, references and roots up to addresses
// between the two runtimes).
TEST(HeapShapeHugePagesTest, DumpsAreTheSameWithAndWithoutHugePagesInBothModes) {
  std::string why;
  const bool offered = gc::TransparentHugePagesOffered(&why);
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  std::vector<std::string> canonical;
  for (bool huge : {true, false}) {
    SCOPED_TRACE(huge ? "huge pages" : "4 KiB pages");
    RuntimeOptions options;
    options.heap_limit_bytes = size_t{64} << 20;
    options.initial_heap_bytes = options.heap_limit_bytes;
    options.classes = HeapShapeClasses();
    options.heap_huge_pages = huge;
    std::unique_ptr<Runtime> runtime = *Runtime::Create(std::move(options));
    HeapShape shape(*runtime, kN);
    {
      ThreadScope scope(*runtime, "main");
      ASSERT_TRUE(shape.Build(scope.thread()).ok());
    }
    // Not parked: threads that start in a different order allocate their
    // objects in a different order, whatever the pages.
    const gc::HeapStats stats = runtime->heap_stats();
    EXPECT_EQ(stats.huge_pages, huge && offered) << why;
    std::vector<uint8_t> bytes[2];
    for (DumpMode mode : {DumpMode::kStopTheWorld, DumpMode::kFork}) {
      HeapDumpOptions dump;
      dump.path = absl::StrCat(dir, "/pages-", huge, "-", mode == DumpMode::kFork, ".hprof");
      dump.live = false;
      dump.mode = mode;
      dump.extra_properties = PinnedVolatileProperties();
      absl::StatusOr<std::string> path = VMRuntime::DumpHeap(*runtime, dump);
      ASSERT_TRUE(path.ok()) << path.status();
      bytes[mode == DumpMode::kFork] = FileBytes(*path);
      if (mode == DumpMode::kFork) continue;
      absl::StatusOr<std::unique_ptr<HprofSnapshot>> snapshot = HprofSnapshot::Load(*path);
      ASSERT_TRUE(snapshot.ok()) << snapshot.status();
      canonical.push_back(Canonical(**snapshot));
    }
    EXPECT_FALSE(bytes[0].empty());
    EXPECT_TRUE(bytes[0] == bytes[1]) << "stop-the-world and fork-mode dumps differ";
  }
  ASSERT_EQ(canonical.size(), 2u);
  EXPECT_FALSE(canonical[0].empty());
  if (canonical[0] != canonical[1]) {
    size_t at = 0;
    while (at < canonical[0].size() && at < canonical[1].size() &&
           canonical[0][at] == canonical[1][at]) {
      ++at;
    }
    const size_t line = canonical[0].rfind('\n', at) + 1;
    ADD_FAILURE() << "the dumps differ with and without huge pages, from:\n"
                  << canonical[0].substr(line, 300) << "\nvs\n" << canonical[1].substr(line, 300);
  }
}

// Compressed dumps (blocks compressed on worker threads; in fork mode by the
// parent, from the child's plain bytes) restore with `gzip -d` to exactly
// the plain dump of the same frozen heap, in both modes.
TEST_F(HeapShapeDumpTest, GzipDumpsRestoreToThePlainDumpInBothModes) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  for (DumpMode mode : {DumpMode::kStopTheWorld, DumpMode::kFork}) {
    SCOPED_TRACE(mode == DumpMode::kFork ? "fork" : "stw");
    const std::string base = absl::StrCat(dir, "/gz-", mode == DumpMode::kFork ? "fork" : "stw");
    HeapDumpOptions options;
    options.live = false;
    options.mode = mode;
    options.extra_properties = PinnedVolatileProperties();
    options.path = base + "-plain.hprof";
    ASSERT_TRUE(VMRuntime::DumpHeap(*runtime_, options).ok());
    options.path = base + ".hprof.gz";
    options.gzip_level = 1;
    ASSERT_TRUE(VMRuntime::DumpHeap(*runtime_, options).ok());
    ASSERT_EQ(std::system(absl::StrCat("gzip -d ", base, ".hprof.gz").c_str()), 0);
    const std::vector<uint8_t> plain = FileBytes(base + "-plain.hprof");
    const std::vector<uint8_t> restored = FileBytes(base + ".hprof");
    EXPECT_FALSE(plain.empty());
    EXPECT_TRUE(plain == restored) << plain.size() << " vs " << restored.size();
  }
}

}  // namespace
}  // namespace kiln::bench
