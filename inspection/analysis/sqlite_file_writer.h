// SqliteFileWriter: writes a new SQLite 3 database file directly in SQLite's
// file format (https://www.sqlite.org/fileformat2.html), page by page, from
// rows that come in rowid order and index entries that come sorted: a bulk
// load, as a B-tree is built bottom up from sorted input, with no B-tree
// inserts, no VDBE, no sorter and no page cache. kiln-heap sql writes its
// tables this way (heap_sql_file.cc): SQLite's own insert path spent most of
// its time on what sorted input makes unnecessary (the measurements are in
// inspection/analysis/README.md).
//
// What it writes is an ordinary database: 4096-byte pages, UTF-8, schema
// format 4, rollback-journal mode, no free pages, no auto-vacuum; leaves
// filled as full as they go (as SQLite's own VACUUM leaves them), rows too
// long for a page spill to overflow pages as SQLite's do; the lock-byte
// page at 1 GiB is left unused. Tables are rowid tables; indexes have one
// INTEGER key column (what kiln-heap's need). `PRAGMA integrity_check`
// passes on the result (heap_sql_file_test checks).
//
//   ASSIGN_OR_RETURN(std::unique_ptr<NewFile> file, NewFile::Create(path, "database"));
//   SqliteFileWriter writer(file->fd(), file->writing_name());
//   writer.BeginTable("t", "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)");
//   RETURN_IF_ERROR(writer.AddRow(1, {SqlValue::Null(), SqlValue::Text("a")}));
//   RETURN_IF_ERROR(writer.EndTable());
//   RETURN_IF_ERROR(writer.Finish());
//   RETURN_IF_ERROR(file->Commit());
#ifndef KILN_INSPECTION_ANALYSIS_SQLITE_FILE_WRITER_H_
#define KILN_INSPECTION_ANALYSIS_SQLITE_FILE_WRITER_H_

#include <sys/types.h>

#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/must_use.h"
#include "inspection/analysis/sqlite_record.h"

namespace kiln::analysis {

class SqliteFileWriter {
 public:
  static constexpr uint32_t kPageSize = 4096;

  // The writer writes into `fd`, a new, empty file it does not own (a
  // NewFile's: so that only a finished database gets its name), and names
  // it `name` in errors. The destructor waits for the write in flight, so
  // the descriptor must outlive the writer.
  SqliteFileWriter(int fd, std::string name);
  ~SqliteFileWriter();
  SqliteFileWriter(const SqliteFileWriter&) = delete;
  SqliteFileWriter& operator=(const SqliteFileWriter&) = delete;

  // BeginTable starts table `name`, whose CREATE TABLE statement is `sql`.
  // AddRow appends a row: `rowid` above the last one, one value per column
  // (an INTEGER PRIMARY KEY column, the rowid's alias, as Null, the way
  // SQLite stores it). One table or index at a time.
  void BeginTable(std::string name, std::string sql);
  KILN_MUST_USE absl::Status AddRow(int64_t rowid, absl::Span<const SqlValue> values);
  KILN_MUST_USE absl::Status EndTable();

  // BeginIndex starts index `name` on `table` (its CREATE INDEX `sql`) of
  // one integer column, with exactly `entries` entries; AddIndexEntry
  // appends them in ascending (key, rowid) order, as SQLite orders them.
  void BeginIndex(std::string name, std::string table, std::string sql, uint64_t entries);
  KILN_MUST_USE absl::Status AddIndexEntry(int64_t key, int64_t rowid);
  KILN_MUST_USE absl::Status EndIndex();

  // Finish writes page 1 (the header and the schema) and sizes the file.
  KILN_MUST_USE absl::Status Finish();

  uint32_t pages() const { return next_page_ - 1; }

 private:
  struct Page;
  struct SchemaRow {
    std::string type, name, table, sql;
    uint32_t root;
  };

  uint32_t AllocatePage();
  KILN_MUST_USE absl::Status WritePage(uint32_t number, const uint8_t* bytes);
  KILN_MUST_USE absl::Status Flush();
  KILN_MUST_USE absl::Status WaitForWrite();
  KILN_MUST_USE absl::Status WriteAll(const uint8_t* bytes, size_t size, off_t offset) const;
  KILN_MUST_USE absl::Status AddCell(bool index, const std::string& payload, int64_t rowid);
  KILN_MUST_USE absl::Status CloseLeaf(bool index);
  KILN_MUST_USE absl::StatusOr<uint32_t> BuildInterior(bool index);
  KILN_MUST_USE absl::Status Fail(absl::Status status);

  const int fd_;
  const std::string path_;
  absl::Status error_;  // sticky: the first failure
  uint32_t next_page_ = 2;  // page 1 is written last
  std::vector<uint8_t> buffer_;  // pages not yet written, in order, from
  uint32_t buffer_first_ = 2;    // this one
  std::vector<uint8_t> writing_;  // pages being written by in_flight_
  std::future<absl::Status> in_flight_;

  // The tree being built.
  bool in_tree_ = false;
  bool index_ = false;
  std::string name_, table_, sql_;
  uint64_t entries_left_ = 0;  // indexes: entries not yet added
  int64_t last_rowid_ = 0;
  bool any_row_ = false;
  std::unique_ptr<Page> leaf_;
  // Leaves closed so far: page numbers, and for tables their last rowid,
  // for indexes the record lifted out between one leaf and the next.
  std::vector<uint32_t> children_;
  std::vector<int64_t> child_keys_;
  std::vector<std::string> separators_;
  bool lift_next_ = false;  // indexes: the next entry separates two leaves
  std::string record_, cell_;  // scratch
  std::vector<SchemaRow> schema_;
};

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_SQLITE_FILE_WRITER_H_
