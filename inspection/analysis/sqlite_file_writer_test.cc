// SqliteFileWriter: what it writes, SQLite reads back value for value and
// finds consistent (PRAGMA integrity_check checks every page, every cell,
// the free-space accounting, key order, and that each index holds exactly
// its table's entries), across the sizes where pages split, levels are
// added and rows spill to overflow pages.
#include "inspection/analysis/sqlite_file_writer.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/new_file.h"
#include "gtest/gtest.h"
#include "inspection/analysis/heap_sql.h"

namespace kiln::analysis {
namespace {

std::string TempPath(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
}

// Row i's values: every integer width SQLite stores, NULLs, and texts from
// empty to several overflow pages long.
int64_t IntegerOf(uint64_t i) {
  static const int64_t kValues[] = {0, 1, -1, 2, 127, 128, -128, -129, 32767, 32768, -32769,
                                    8388607, 8388608, int64_t{1} << 31, -(int64_t{1} << 31) - 1,
                                    int64_t{1} << 40, (int64_t{1} << 47) - 1, int64_t{1} << 47,
                                    INT64_MAX, INT64_MIN};
  return kValues[i % (sizeof(kValues) / sizeof(kValues[0]))];
}
size_t TextLength(uint64_t i) {
  static const size_t kLengths[] = {0, 1, 10, 100, 4000, 4061, 4062, 4100, 5000, 9000, 20000};
  // Mostly short rows, so that many share a page.
  return i % 7 == 3 ? kLengths[(i / 7) % (sizeof(kLengths) / sizeof(kLengths[0]))] : i % 13;
}
std::string TextOf(uint64_t i) {
  std::string text(TextLength(i), ' ');
  for (size_t j = 0; j < text.size(); ++j) text[j] = static_cast<char>('a' + (i + j) % 26);
  return text;
}
int64_t KeyOf(uint64_t i) { return static_cast<int64_t>((i * 7919) % 1009); }

constexpr char kTable[] =
    "CREATE TABLE t(id INTEGER PRIMARY KEY, n INTEGER, s TEXT, k INTEGER NOT NULL)";
constexpr char kIndex[] = "CREATE INDEX t_k ON t(k)";

// Write: table t of `rows` rows (rowids 0, 3, 6, ...), with the index t_k
// on k.
absl::Status Write(const std::string& path, uint64_t rows) {
  auto file = NewFile::Create(path, "test database");
  if (!file.ok()) return file.status();
  auto writer = std::make_unique<SqliteFileWriter>((*file)->fd(), (*file)->writing_name());
  writer->BeginTable("t", kTable);
  for (uint64_t i = 0; i < rows; ++i) {
    const std::string text = TextOf(i);
    const SqlValue values[4] = {SqlValue::Null(),
                                i % 11 == 5 ? SqlValue::Null() : SqlValue::Integer(IntegerOf(i)),
                                SqlValue::Text(text), SqlValue::Integer(KeyOf(i))};
    absl::Status status = writer->AddRow(static_cast<int64_t>(3 * i), values);
    if (!status.ok()) return status;
  }
  absl::Status status = writer->EndTable();
  if (!status.ok()) return status;
  // The index's entries in (k, rowid) order.
  std::vector<std::vector<int64_t>> by_key(1009);
  for (uint64_t i = 0; i < rows; ++i) by_key[KeyOf(i)].push_back(static_cast<int64_t>(3 * i));
  writer->BeginIndex("t_k", "t", kIndex, rows);
  for (int64_t k = 0; k < 1009; ++k) {
    for (const int64_t rowid : by_key[k]) {
      status = writer->AddIndexEntry(k, rowid);
      if (!status.ok()) return status;
    }
  }
  status = writer->EndIndex();
  if (!status.ok()) return status;
  status = writer->Finish();
  if (!status.ok()) return status;
  writer.reset();
  return (*file)->Commit();
}

void ExpectReadsBack(uint64_t rows) {
  SCOPED_TRACE(absl::StrCat(rows, " rows"));
  const std::string path = TempPath(absl::StrCat("rows", rows, ".sqlite"));
  ASSERT_TRUE(Write(path, rows).ok());
  auto db = SqliteDb::OpenReadOnly(path);
  ASSERT_TRUE(db.ok()) << db.status();
  auto check = db->Query("PRAGMA integrity_check");
  ASSERT_TRUE(check.ok()) << check.status();
  ASSERT_EQ(check->rows.size(), 1u);
  EXPECT_EQ(check->rows[0][0].value_or("NULL"), "ok");
  auto all = db->Query("SELECT id, n, s, k FROM t ORDER BY id");
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->rows.size(), rows);
  for (uint64_t i = 0; i < rows; ++i) {
    const auto& row = all->rows[i];
    ASSERT_EQ(row[0], std::to_string(3 * i));
    if (i % 11 == 5) {
      ASSERT_FALSE(row[1].has_value()) << "row " << i;
    } else {
      ASSERT_EQ(row[1], std::to_string(IntegerOf(i))) << "row " << i;
    }
    ASSERT_EQ(row[2], TextOf(i)) << "row " << i;
    ASSERT_EQ(row[3], std::to_string(KeyOf(i))) << "row " << i;
  }
  // Lookups through the index and through the rowid.
  uint64_t with_key_5 = 0;
  for (uint64_t i = 0; i < rows; ++i) with_key_5 += KeyOf(i) == 5;
  auto counted = db->Query("SELECT count(*) FROM t INDEXED BY t_k WHERE k = 5");
  ASSERT_TRUE(counted.ok()) << counted.status();
  EXPECT_EQ(counted->rows[0][0], std::to_string(with_key_5));
  if (rows > 0) {
    const uint64_t middle = rows / 2;
    auto one = db->Query(absl::StrCat("SELECT length(s) FROM t WHERE id = ", 3 * middle));
    ASSERT_TRUE(one.ok()) << one.status();
    ASSERT_EQ(one->rows.size(), 1u);
    EXPECT_EQ(one->rows[0][0], std::to_string(TextLength(middle)));
  }
}

TEST(SqliteFileWriterTest, EmptyTablesAndIndexes) { ExpectReadsBack(0); }

TEST(SqliteFileWriterTest, AFewRows) {
  for (uint64_t rows : {1, 2, 3, 4, 5}) ExpectReadsBack(rows);
}

// Around the sizes where the first leaves fill (about 250 of these rows
// a table leaf, 400 entries an index leaf), with overflow rows among them.
TEST(SqliteFileWriterTest, PageBoundaries) {
  for (uint64_t rows = 140; rows < 700; rows += 37) ExpectReadsBack(rows);
}

// Enough for interior levels above interior levels, in the index too.
TEST(SqliteFileWriterTest, ThreeLevels) { ExpectReadsBack(150000); }

// A new file for a writer that is meant to fail: never committed.
std::unique_ptr<NewFile> Scratch(const std::string& name) {
  auto file = NewFile::Create(TempPath(name), "test database");
  EXPECT_TRUE(file.ok()) << file.status();
  return file.ok() ? *std::move(file) : nullptr;
}

TEST(SqliteFileWriterTest, RowsOutOfOrderAreRefused) {
  const std::unique_ptr<NewFile> file = Scratch("order.sqlite");
  ASSERT_NE(file, nullptr);
  SqliteFileWriter writer(file->fd(), file->writing_name());
  writer.BeginTable("t", "CREATE TABLE t(id INTEGER PRIMARY KEY)");
  const SqlValue null[1] = {SqlValue::Null()};
  ASSERT_TRUE(writer.AddRow(5, null).ok());
  const absl::Status status = writer.AddRow(5, null);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("rowid 5 after 5"), std::string::npos) << status;
  EXPECT_EQ(writer.Finish().code(), absl::StatusCode::kInvalidArgument);  // sticky
}

TEST(SqliteFileWriterTest, IndexEntriesMustMatchTheirCount) {
  const std::unique_ptr<NewFile> file = Scratch("count.sqlite");
  ASSERT_NE(file, nullptr);
  SqliteFileWriter writer(file->fd(), file->writing_name());
  writer.BeginIndex("i", "t", "CREATE INDEX i ON t(k)", 2);
  ASSERT_TRUE(writer.AddIndexEntry(1, 1).ok());
  const absl::Status status = writer.EndIndex();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_NE(status.message().find("1 entries fewer than declared"), std::string::npos) << status;
}

}  // namespace
}  // namespace kiln::analysis
