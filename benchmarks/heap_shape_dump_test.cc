// Dumps of the benchmark heap shape, read back with Kiln's reader: both dump
// modes hold exactly the shape's counts and texts, and a fork-mode dump holds
// the same classes, objects, roots and references as a stop-the-world dump of
// the same frozen heap (nothing runs between the two dumps: the shape's
// threads are parked).
#include <cstdlib>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmarks/heap_shape.h"
#include "gtest/gtest.h"
#include "inspection/dump_environment.h"
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

}  // namespace
}  // namespace kiln::bench
