// SQLite's record format (https://www.sqlite.org/fileformat2.html, 2.1):
// the cells SqliteFileWriter puts on its pages, their varints and their
// big-endian integers. The format only; pages and trees are
// sqlite_file_writer's.
#ifndef KILN_INSPECTION_ANALYSIS_SQLITE_RECORD_H_
#define KILN_INSPECTION_ANALYSIS_SQLITE_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace kiln::analysis {

// SqlValue: one cell. Text is not owned (the caller keeps it alive until the
// call that takes it returns).
struct SqlValue {
  enum Kind { kNull, kInteger, kText };
  Kind kind = kNull;
  int64_t integer = 0;
  absl::string_view text;

  static SqlValue Null() { return SqlValue(); }
  static SqlValue Integer(int64_t v) { return SqlValue{kInteger, v, {}}; }
  static SqlValue Text(absl::string_view t) { return SqlValue{kText, 0, t}; }
};

// VarintLength: the bytes SQLite's varint of `v` takes (1 to 9).
size_t VarintLength(uint64_t v);
// PutVarint: SQLite's varint (big-endian, seven bits a byte, the ninth
// byte eight) at `p`; its length.
size_t PutVarint(uint8_t* p, uint64_t v);
void AppendVarint(uint64_t v, std::string* out);

// PutBigEndian: the low `bytes` bytes of `v`, most significant first; the
// count.
uint32_t PutBigEndian(uint8_t* p, uint64_t v, uint32_t bytes);
inline void Put16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void Put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
void Append32(uint32_t v, std::string* out);

// IntegerSerialType: SQLite's record type code for an integer
// (sqlite3VdbeSerialType: 8 and 9 for 0 and 1, schema format 4); its
// body's length in *bytes.
uint32_t IntegerSerialType(int64_t v, uint32_t* bytes);

// AppendRecord: `values` in SQLite's record format (header, then bodies),
// at most 64 of them.
void AppendRecord(absl::Span<const SqlValue> values, std::string* out);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_SQLITE_RECORD_H_
