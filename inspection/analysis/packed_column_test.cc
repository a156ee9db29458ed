// PackedColumn: values come back as appended through every re-encoding (a
// lower base, a smaller shift) and the widening to 64 bits; PageArray reads
// zero until written and again after Release.
#include "inspection/analysis/packed_column.h"

#include <cstdint>
#include <numeric>
#include <vector>

#include "gtest/gtest.h"
#include "inspection/analysis/page_array.h"

namespace kiln::analysis {
namespace {

void ExpectValues(const PackedColumn& column, const std::vector<uint64_t>& values) {
  ASSERT_EQ(column.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(column[i], values[i]) << "value " << i;
}

TEST(PackedColumnTest, AlignedIdsStayNarrow) {
  PackedColumn column;
  std::vector<uint64_t> values;
  for (uint64_t i = 0; i < 1000; ++i) values.push_back(0x2d7e4204000 + 48 * i);
  for (uint64_t v : values) column.Append(v);
  EXPECT_EQ(column.bytes_per_value(), 4u);
  ExpectValues(column, values);
}

TEST(PackedColumnTest, SmallerAndOddValuesReencode) {
  PackedColumn column;
  // Descending (a lower base each time), then one with fewer low zero bits.
  const std::vector<uint64_t> values = {0x7080000000, 0x707ffffff8, 0x7060000000, 0x7010000000,
                                        0x7010000001, 0x7080000010, 0x700fffff00};
  for (uint64_t v : values) column.Append(v);
  EXPECT_EQ(column.bytes_per_value(), 4u);
  ExpectValues(column, values);
}

TEST(PackedColumnTest, WideSpanWidens) {
  PackedColumn column;
  const std::vector<uint64_t> values = {0x1000, 0x1008, 0x1000 + (uint64_t{1} << 40) + 1, 0x8,
                                        ~uint64_t{0}};
  for (uint64_t v : values) column.Append(v);
  EXPECT_EQ(column.bytes_per_value(), 8u);
  ExpectValues(column, values);
}

TEST(PackedColumnTest, StartSetAndPermute) {
  PackedColumn column;
  column.Start(0, 0);
  std::vector<uint64_t> values = {17, 4000000000, 3, 99};
  for (uint64_t v : values) column.Append(v);
  EXPECT_EQ(column.bytes_per_value(), 4u);
  column.Set(1, 0);
  values[1] = 0;
  ExpectValues(column, values);
  column.Permute({3, 2, 1, 0});
  ExpectValues(column, {99, 3, 0, 17});
  column.Set(0, uint64_t{1} << 33);  // does not fit: widens
  EXPECT_EQ(column.bytes_per_value(), 8u);
  ExpectValues(column, {uint64_t{1} << 33, 3, 0, 17});
}

TEST(PageArrayTest, ZeroUntilWrittenAndAfterRelease) {
  PageArray<uint32_t> array(1 << 20);
  EXPECT_EQ(array[12345], 0u);
  for (size_t i = 0; i < array.size(); ++i) array[i] = static_cast<uint32_t>(i + 1);
  array.Release(1000, array.size());
  EXPECT_EQ(array[999], 1000u);
  // Pages wholly inside the range read zero; a page partly below it keeps its values.
  EXPECT_EQ(array[array.size() - 1], 0u);
  EXPECT_EQ(array[1000], 1001u);
  PageArray<uint32_t> moved = std::move(array);
  EXPECT_EQ(array.size(), 0u);
  EXPECT_EQ(moved[5], 6u);
}

}  // namespace
}  // namespace kiln::analysis
