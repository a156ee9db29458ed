// HeapGraph on JDK-layout dumps (hprof_test_dumps.h: HotSpot 17's record
// layout, 4- and 8-byte ids): sizes are Perfetto's (an instance its
// CLASS_DUMP instance size; arrays and statics count ids at the file's id
// size), names in Perfetto's spelling, references resolve, the thread's
// trace is read.
#include "gtest/gtest.h"
#include "inspection/analysis/heap_graph.h"
#include "inspection/hprof/hprof_reader.h"
#include "inspection/hprof/hprof_test_dumps.h"

namespace kiln::analysis {
namespace {

class JdkLayoutTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(JdkLayoutTest, ObjectsSizesAndReferences) {
  const uint32_t id_size = GetParam();
  std::unique_ptr<HprofReader> reader = HprofReader::FromBytes(kiln::testing::JdkStyleDump(id_size));
  absl::StatusOr<std::unique_ptr<HeapGraph>> built = HeapGraph::Build(*reader, {});
  ASSERT_TRUE(built.ok()) << built.status();
  const HeapGraph& graph = **built;
  EXPECT_EQ(graph.id_size(), id_size);
  const uint32_t foo0 = graph.FindObject(0x1000), foo1 = graph.FindObject(0x1001);
  const uint32_t array = graph.FindObject(0x2000), ints = graph.FindObject(0x3000);
  ASSERT_NE(foo0, kNoObject);
  ASSERT_NE(foo1, kNoObject);
  ASSERT_NE(array, kNoObject);
  ASSERT_NE(ints, kNoObject);
  EXPECT_EQ(graph.type_info(graph.type(foo0)).name, "Foo");
  // Foo's CLASS_DUMP says 24, whatever its records' 4 + id_size field bytes.
  EXPECT_EQ(graph.self_size(foo0), 24u);
  EXPECT_EQ(graph.FieldValue(foo0, "value"), 7u);
  EXPECT_EQ(graph.FieldObject(foo0, "next"), foo1);
  EXPECT_EQ(graph.type_info(graph.type(array)).name, "java.lang.Object[]");
  EXPECT_EQ(graph.self_size(array), 3 * id_size);
  EXPECT_EQ(graph.type_info(graph.type(ints)).name, "int[]");
  EXPECT_EQ(graph.self_size(ints), 12u);
  const auto refs = graph.references(array);
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].target, foo0);
  EXPECT_EQ(graph.field_name(refs[1].field_name), "[1]");
  const uint32_t foo_class = graph.FindObject(0x200);
  ASSERT_NE(foo_class, kNoObject);
  EXPECT_EQ(graph.self_size(foo_class), id_size);  // no java.lang.Class: 0 + its one static
  EXPECT_EQ(graph.type_info(graph.type(foo_class)).name, "java.lang.Class<Foo>");
  ASSERT_EQ(graph.references(foo_class).size(), 1u);
  EXPECT_EQ(graph.field_name(graph.references(foo_class)[0].field_name), "Foo.INSTANCE");
  EXPECT_EQ(graph.summary().dangling_references, 0u);
  ASSERT_EQ(graph.threads().size(), 1u);
  EXPECT_EQ(graph.threads()[0].frames.size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(IdSizes, JdkLayoutTest, ::testing::Values(4u, 8u));

}  // namespace
}  // namespace kiln::analysis
