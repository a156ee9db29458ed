// SqliteFileWriter: SQLite's file format written bottom up (sqlite_file_writer.h).
//
// Layout decisions, against https://www.sqlite.org/fileformat2.html:
// - Pages are numbered in the order they are written, so the file is written
//   front to back: a leaf when it is full, an overflow page when its row
//   comes, a tree's interior pages once its leaves are done, and page 1 (the
//   100-byte header and sqlite_schema's only page) last.
// - A table leaf takes rows until the next one does not fit. An interior
//   table cell is (left child, the child's largest rowid); the last child is
//   the page's right-most pointer.
// - An index entry lives in exactly one page, so between two leaves one
//   entry is lifted into their parent as the separator. Leaves and interior
//   pages close with room for one more cell left (kReserve), and only when
//   at least two entries (children) remain to follow, so that no page ends
//   up empty: the entry after a closed leaf is the separator, the one after
//   it starts the next leaf.
#include "inspection/analysis/sqlite_file_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "sqlite3.h"

namespace kiln::analysis {
namespace {

constexpr uint32_t kUsable = SqliteFileWriter::kPageSize;  // no reserved bytes
// Payload kept on a table leaf before spilling (X, M of the format's 1.6).
constexpr uint32_t kTableMaxLocal = kUsable - 35;
constexpr uint32_t kMinLocal = (kUsable - 12) * 32 / 255 - 23;
constexpr uint32_t kIndexMaxLocal = (kUsable - 12) * 64 / 255 - 23;
// Room left in a page that may still take one cell: an index cell of two
// integers is at most 4 + 1 + 19 bytes, an interior table cell 4 + 9; its
// pointer 2.
constexpr uint32_t kReserve = 2 * (32 + 2);
// The lock-byte page (1 GiB in), which SQLite never uses.
constexpr uint32_t kPendingBytePage = 0x40000000 / SqliteFileWriter::kPageSize + 1;
constexpr size_t kFlushBytes = size_t{4} << 20;

constexpr uint8_t kInteriorIndex = 0x02, kInteriorTable = 0x05, kLeafIndex = 0x0a,
                  kLeafTable = 0x0d;

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

// Page: one b-tree page being filled: header at `header` (100 on page 1),
// cell pointers after it, cells packed down from the end.
struct SqliteFileWriter::Page {
  uint8_t bytes[kPageSize];
  uint32_t header = 0;
  uint8_t type = 0;
  uint32_t cells = 0;
  uint32_t content = kPageSize;

  void Reset(uint8_t page_type, uint32_t header_offset = 0) {
    std::memset(bytes, 0, sizeof(bytes));
    header = header_offset;
    type = page_type;
    cells = 0;
    content = kPageSize;
  }
  uint32_t HeaderBytes() const { return type == kInteriorIndex || type == kInteriorTable ? 12 : 8; }
  uint32_t Free() const { return content - (header + HeaderBytes() + 2 * cells); }
  bool Fits(size_t cell) const { return cell + 2 <= Free(); }
  void Add(const uint8_t* cell, size_t size) {
    KILN_CHECK(Fits(size), "a cell of ", size, " bytes in ", Free());
    content -= static_cast<uint32_t>(size);
    std::memcpy(bytes + content, cell, size);
    Put16(bytes + header + HeaderBytes() + 2 * cells, content);
    ++cells;
  }
  void Add(const std::string& cell) {
    Add(reinterpret_cast<const uint8_t*>(cell.data()), cell.size());
  }
  // Seal: the header's fields (an interior page's right-most child too).
  void Seal(uint32_t right_child = 0) {
    uint8_t* h = bytes + header;
    h[0] = type;
    Put16(h + 1, 0);  // no freeblocks
    Put16(h + 3, cells);
    Put16(h + 5, content == 65536 ? 0 : content);
    h[7] = 0;  // no fragmented bytes
    if (HeaderBytes() == 12) Put32(h + 8, right_child);
  }
};

SqliteFileWriter::SqliteFileWriter(int fd, std::string path)
    : fd_(fd), path_(std::move(path)), leaf_(std::make_unique<Page>()) {
  buffer_.reserve(kFlushBytes + kPageSize);
  writing_.reserve(kFlushBytes + kPageSize);
}

SqliteFileWriter::~SqliteFileWriter() {
  (void)WaitForWrite();  // before the descriptor goes
}

absl::Status SqliteFileWriter::Fail(absl::Status status) {
  if (error_.ok()) error_ = status;
  return error_;
}

uint32_t SqliteFileWriter::AllocatePage() {
  if (next_page_ == kPendingBytePage) ++next_page_;
  return next_page_++;
}

absl::Status SqliteFileWriter::WritePage(uint32_t number, const uint8_t* bytes) {
  const uint32_t expected = buffer_first_ + static_cast<uint32_t>(buffer_.size() / kPageSize);
  KILN_CHECK(number >= expected, "page ", number, " written after page ", expected);
  // The only gap allocation leaves: the lock-byte page, zeros.
  buffer_.resize(buffer_.size() + size_t{number - expected} * kPageSize, 0);
  buffer_.insert(buffer_.end(), bytes, bytes + kPageSize);
  if (buffer_.size() >= kFlushBytes) return Flush();
  return absl::OkStatus();
}

// Flush hands the buffered pages to a write of their own (the other core),
// so that copying them into the page cache overlaps building the next
// pages; one write is in flight at a time.
absl::Status SqliteFileWriter::Flush() {
  RETURN_IF_ERROR(WaitForWrite());
  if (buffer_.empty()) return absl::OkStatus();
  std::swap(buffer_, writing_);
  const off_t offset = static_cast<off_t>(buffer_first_ - 1) * kPageSize;
  buffer_first_ += static_cast<uint32_t>(writing_.size() / kPageSize);
  buffer_.clear();
  in_flight_ = std::async(std::launch::async, [this, offset] {
    return WriteAll(writing_.data(), writing_.size(), offset);
  });
  return absl::OkStatus();
}

absl::Status SqliteFileWriter::WaitForWrite() {
  if (!in_flight_.valid()) return absl::OkStatus();
  absl::Status status = in_flight_.get();
  if (!status.ok()) return Fail(std::move(status));
  return absl::OkStatus();
}

absl::Status SqliteFileWriter::WriteAll(const uint8_t* p, size_t left, off_t offset) const {
  while (left > 0) {
    const ssize_t n = pwrite(fd_, p, left, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno(absl::StrCat("writing ", path_));
    p += n;
    left -= static_cast<size_t>(n);
    offset += n;
  }
  return absl::OkStatus();
}

void SqliteFileWriter::BeginTable(std::string name, std::string sql) {
  KILN_CHECK(!in_tree_, "BeginTable(", name, ") inside ", name_);
  in_tree_ = true;
  index_ = false;
  name_ = std::move(name);
  table_ = name_;
  sql_ = std::move(sql);
  any_row_ = false;
  leaf_->Reset(kLeafTable);
  children_.clear();
  child_keys_.clear();
  separators_.clear();
}

void SqliteFileWriter::BeginIndex(std::string name, std::string table, std::string sql,
                                  uint64_t entries) {
  KILN_CHECK(!in_tree_, "BeginIndex(", name, ") inside ", name_);
  in_tree_ = true;
  index_ = true;
  name_ = std::move(name);
  table_ = std::move(table);
  sql_ = std::move(sql);
  entries_left_ = entries;
  lift_next_ = false;
  leaf_->Reset(kLeafIndex);
  children_.clear();
  child_keys_.clear();
  separators_.clear();
}

absl::Status SqliteFileWriter::CloseLeaf(bool index) {
  leaf_->Seal();
  const uint32_t number = AllocatePage();
  RETURN_IF_ERROR(WritePage(number, leaf_->bytes));
  children_.push_back(number);
  if (!index) child_keys_.push_back(last_rowid_);
  leaf_->Reset(index ? kLeafIndex : kLeafTable);
  return absl::OkStatus();
}

absl::Status SqliteFileWriter::AddRow(int64_t rowid, absl::Span<const SqlValue> values) {
  RETURN_IF_ERROR(error_);
  KILN_CHECK(in_tree_ && !index_, "AddRow outside a table");
  if (any_row_ && rowid <= last_rowid_) {
    return Fail(absl::InvalidArgumentError(absl::StrCat("table ", name_, ": rowid ", rowid,
                                                        " after ", last_rowid_,
                                                        " (rows come in rowid order)")));
  }
  // The record goes after room for the cell's two varints, which are then
  // put right before it: no copy for a row that fits its page.
  constexpr size_t kHead = 18;
  cell_.resize(kHead);
  AppendRecord(values, &cell_);
  const uint64_t payload = cell_.size() - kHead;
  if (payload <= kTableMaxLocal) {
    uint8_t head[kHead];
    size_t n = PutVarint(head, payload);
    n += PutVarint(head + n, static_cast<uint64_t>(rowid));
    auto* start = reinterpret_cast<uint8_t*>(cell_.data()) + kHead - n;
    std::memcpy(start, head, n);
    if (!leaf_->Fits(n + payload)) RETURN_IF_ERROR(CloseLeaf(/*index=*/false));
    leaf_->Add(start, n + payload);
    last_rowid_ = rowid;
    any_row_ = true;
    return absl::OkStatus();
  }
  // Past the format's maximum: the cell keeps the first `local` bytes and
  // the rest goes to a chain of overflow pages.
  record_.assign(cell_, kHead, std::string::npos);
  uint64_t local = kMinLocal + (payload - kMinLocal) % (kUsable - 4);
  if (local > kTableMaxLocal) local = kMinLocal;
  std::string& cell = cell_;
  cell.clear();
  AppendVarint(payload, &cell);
  AppendVarint(static_cast<uint64_t>(rowid), &cell);
  cell.append(record_, 0, local);
  {
    uint64_t at = local;
    uint32_t page = AllocatePage();
    Append32(page, &cell);
    uint8_t overflow[kPageSize];
    while (at < payload) {
      const uint64_t n = std::min<uint64_t>(payload - at, kUsable - 4);
      std::memset(overflow, 0, sizeof(overflow));
      const uint32_t next = at + n < payload ? AllocatePage() : 0;
      Put32(overflow, next);
      std::memcpy(overflow + 4, record_.data() + at, n);
      RETURN_IF_ERROR(WritePage(page, overflow));
      page = next;
      at += n;
    }
  }
  if (!leaf_->Fits(cell.size())) RETURN_IF_ERROR(CloseLeaf(/*index=*/false));
  leaf_->Add(cell);
  last_rowid_ = rowid;
  any_row_ = true;
  return absl::OkStatus();
}

absl::Status SqliteFileWriter::AddIndexEntry(int64_t key, int64_t rowid) {
  RETURN_IF_ERROR(error_);
  KILN_CHECK(in_tree_ && index_, "AddIndexEntry outside an index");
  if (entries_left_ == 0) {
    return Fail(absl::InternalError(absl::StrCat("index ", name_, ": more entries than declared")));
  }
  --entries_left_;
  // The cell: the payload's size (one byte: a record of two integers is at
  // most 19), then the record: header (its size, two serial types), bodies.
  uint8_t cell[1 + 3 + 16];
  uint32_t key_bytes, rowid_bytes;
  uint8_t* record = cell + 1;
  record[0] = 3;
  record[1] = static_cast<uint8_t>(IntegerSerialType(key, &key_bytes));
  record[2] = static_cast<uint8_t>(IntegerSerialType(rowid, &rowid_bytes));
  uint8_t* p = record + 3;
  p += PutBigEndian(p, static_cast<uint64_t>(key), key_bytes);
  p += PutBigEndian(p, static_cast<uint64_t>(rowid), rowid_bytes);
  const size_t size = static_cast<size_t>(p - record);
  cell[0] = static_cast<uint8_t>(size);
  if (lift_next_) {  // it separates the leaf just closed from the next
    separators_.emplace_back(reinterpret_cast<const char*>(record), size);
    lift_next_ = false;
    return absl::OkStatus();
  }
  leaf_->Add(cell, 1 + size);  // kReserve left room
  if (leaf_->Free() < kReserve && entries_left_ >= 2) {
    RETURN_IF_ERROR(CloseLeaf(/*index=*/true));
    lift_next_ = true;
  }
  return absl::OkStatus();
}

// BuildInterior: the levels above the leaves (children_), bottom up; the
// root's page number.
absl::StatusOr<uint32_t> SqliteFileWriter::BuildInterior(bool index) {
  std::vector<uint32_t> children = std::move(children_);
  std::vector<int64_t> keys = std::move(child_keys_);
  std::vector<std::string> separators = std::move(separators_);
  Page page;
  std::string cell;
  while (children.size() > 1) {
    std::vector<uint32_t> up_children;
    std::vector<int64_t> up_keys;
    std::vector<std::string> up_separators;
    const size_t last = children.size() - 1;
    page.Reset(index ? kInteriorIndex : kInteriorTable);
    for (size_t i = 0; i <= last; ++i) {
      const auto close = [&](size_t right) -> absl::Status {
        page.Seal(children[right]);
        const uint32_t number = AllocatePage();
        RETURN_IF_ERROR(WritePage(number, page.bytes));
        up_children.push_back(number);
        if (!index) up_keys.push_back(keys[right]);
        page.Reset(index ? kInteriorIndex : kInteriorTable);
        return absl::OkStatus();
      };
      if (i == last) {
        RETURN_IF_ERROR(close(i));
        break;
      }
      cell.clear();
      Append32(children[i], &cell);
      if (index) {
        AppendVarint(separators[i].size(), &cell);
        cell += separators[i];
      } else {
        AppendVarint(static_cast<uint64_t>(keys[i]), &cell);
      }
      page.Add(cell);  // kReserve left room
      // Close with child i + 1 on the right when the page is full and at
      // least two children follow it (a page of one cell or more).
      if (page.Free() < kReserve && last - (i + 1) >= 2) {
        RETURN_IF_ERROR(close(i + 1));
        if (index) up_separators.push_back(std::move(separators[i + 1]));
        ++i;
      }
    }
    children = std::move(up_children);
    keys = std::move(up_keys);
    separators = std::move(up_separators);
  }
  return children.front();
}

absl::Status SqliteFileWriter::EndTable() {
  RETURN_IF_ERROR(error_);
  KILN_CHECK(in_tree_ && !index_, "EndTable outside a table");
  RETURN_IF_ERROR(CloseLeaf(/*index=*/false));
  ASSIGN_OR_RETURN(const uint32_t root, BuildInterior(/*index=*/false));
  schema_.push_back(SchemaRow{"table", name_, table_, sql_, root});
  in_tree_ = false;
  return absl::OkStatus();
}

absl::Status SqliteFileWriter::EndIndex() {
  RETURN_IF_ERROR(error_);
  KILN_CHECK(in_tree_ && index_, "EndIndex outside an index");
  if (entries_left_ != 0) {
    return Fail(absl::InternalError(
        absl::StrCat("index ", name_, ": ", entries_left_, " entries fewer than declared")));
  }
  KILN_CHECK(!lift_next_, "index ", name_, " ends on a separator");
  RETURN_IF_ERROR(CloseLeaf(/*index=*/true));
  ASSIGN_OR_RETURN(const uint32_t root, BuildInterior(/*index=*/true));
  schema_.push_back(SchemaRow{"index", name_, table_, sql_, root});
  in_tree_ = false;
  return absl::OkStatus();
}

absl::Status SqliteFileWriter::Finish() {
  RETURN_IF_ERROR(error_);
  KILN_CHECK(!in_tree_, "Finish inside ", name_);
  RETURN_IF_ERROR(Flush());
  const uint32_t pages = next_page_ - 1;
  // Page 1: sqlite_schema's rows on one leaf after the file header.
  Page& first = *leaf_;
  first.Reset(kLeafTable, /*header_offset=*/100);
  std::string cell;
  for (size_t i = 0; i < schema_.size(); ++i) {
    const SchemaRow& row = schema_[i];
    const SqlValue values[5] = {SqlValue::Text(row.type), SqlValue::Text(row.name),
                                SqlValue::Text(row.table), SqlValue::Integer(row.root),
                                SqlValue::Text(row.sql)};
    record_.clear();
    AppendRecord(values, &record_);
    cell.clear();
    AppendVarint(record_.size(), &cell);
    AppendVarint(i + 1, &cell);
    cell += record_;
    if (!first.Fits(cell.size())) {
      return Fail(absl::InternalError(
          absl::StrCat(path_, ": the schema does not fit on page 1 (at ", row.name, ")")));
    }
    first.Add(cell);
  }
  first.Seal();
  uint8_t* h = first.bytes;
  std::memcpy(h, "SQLite format 3", 16);
  Put16(h + 16, kPageSize);
  h[18] = 1;  // file format write version: rollback journal
  h[19] = 1;  // read version
  h[20] = 0;  // reserved bytes per page
  h[21] = 64;  // payload fractions, fixed by the format
  h[22] = 32;
  h[23] = 32;
  Put32(h + 24, 1);      // file change counter
  Put32(h + 28, pages);  // the database's size in pages (valid: 92 matches 24)
  Put32(h + 40, 1);      // schema cookie
  Put32(h + 44, 4);      // schema format 4
  Put32(h + 56, 1);      // UTF-8
  Put32(h + 92, 1);      // version-valid-for
  Put32(h + 96, static_cast<uint32_t>(sqlite3_libversion_number()));
  RETURN_IF_ERROR(WaitForWrite());
  if (absl::Status status = WriteAll(h, kPageSize, 0); !status.ok()) return Fail(status);
  // A file whose last pages are the lock-byte page's gap: its size is the
  // header's page count either way.
  if (ftruncate(fd_, static_cast<off_t>(pages) * kPageSize) != 0) {
    return Fail(Errno(absl::StrCat("sizing ", path_)));
  }
  return absl::OkStatus();
}

}  // namespace kiln::analysis
