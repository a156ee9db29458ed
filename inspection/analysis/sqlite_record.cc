// SQLite's record format (sqlite_record.h).
#include "inspection/analysis/sqlite_record.h"

#include <cstring>

#include "base/check.h"

namespace kiln::analysis {

size_t VarintLength(uint64_t v) {
  if (v > 0x00ffffffffffffffULL) return 9;
  size_t n = 1;
  while (v > 0x7f) {
    v >>= 7;
    ++n;
  }
  return n;
}

size_t PutVarint(uint8_t* p, uint64_t v) {
  if (v <= 0x7f) {
    p[0] = static_cast<uint8_t>(v);
    return 1;
  }
  if (v <= 0x3fff) {
    p[0] = static_cast<uint8_t>((v >> 7) | 0x80);
    p[1] = static_cast<uint8_t>(v & 0x7f);
    return 2;
  }
  if (v > 0x00ffffffffffffffULL) {  // nine bytes: the last holds eight bits
    p[8] = static_cast<uint8_t>(v);
    v >>= 8;
    for (int i = 7; i >= 0; --i) {
      p[i] = static_cast<uint8_t>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    return 9;
  }
  const size_t n = VarintLength(v);
  for (size_t i = n; i-- > 0;) {
    p[i] = static_cast<uint8_t>((v & 0x7f) | (i + 1 == n ? 0 : 0x80));
    v >>= 7;
  }
  return n;
}

void AppendVarint(uint64_t v, std::string* out) {
  if (v <= 0x7f) {
    out->push_back(static_cast<char>(v));
    return;
  }
  uint8_t bytes[9];
  out->append(reinterpret_cast<const char*>(bytes), PutVarint(bytes, v));
}

uint32_t PutBigEndian(uint8_t* p, uint64_t v, uint32_t bytes) {
  for (uint32_t b = 0; b < bytes; ++b) p[b] = static_cast<uint8_t>(v >> (8 * (bytes - 1 - b)));
  return bytes;
}

void Append32(uint32_t v, std::string* out) {
  uint8_t b[4];
  Put32(b, v);
  out->append(reinterpret_cast<const char*>(b), 4);
}

uint32_t IntegerSerialType(int64_t v, uint32_t* bytes) {
  if (v == 0 || v == 1) {
    *bytes = 0;
    return v == 0 ? 8 : 9;
  }
  const uint64_t u = v < 0 ? ~static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  if (u <= 127) return *bytes = 1, 1;
  if (u <= 32767) return *bytes = 2, 2;
  if (u <= 8388607) return *bytes = 3, 3;
  if (u <= 2147483647) return *bytes = 4, 4;
  if (u <= 0x00007fffffffffffULL) return *bytes = 6, 5;
  return *bytes = 8, 6;
}

// Sized once and written in place.
void AppendRecord(absl::Span<const SqlValue> values, std::string* out) {
  uint32_t types[64];
  uint32_t lengths[64];
  KILN_CHECK(values.size() <= 64, "a record of ", values.size(), " columns");
  size_t header = 0, body = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const SqlValue& v = values[i];
    switch (v.kind) {
      case SqlValue::kNull: types[i] = 0, lengths[i] = 0; break;
      case SqlValue::kInteger: types[i] = IntegerSerialType(v.integer, &lengths[i]); break;
      case SqlValue::kText:
        types[i] = static_cast<uint32_t>(2 * v.text.size() + 13);
        lengths[i] = static_cast<uint32_t>(v.text.size());
        break;
    }
    header += types[i] <= 0x7f ? 1 : VarintLength(types[i]);
    body += lengths[i];
  }
  size_t size = header + 1;  // the header's size counts its own varint
  while (VarintLength(size) + header != size) size = header + VarintLength(size);
  const size_t start = out->size();
  out->resize(start + size + body);
  auto* p = reinterpret_cast<uint8_t*>(out->data()) + start;
  p += PutVarint(p, size);
  for (size_t i = 0; i < values.size(); ++i) p += PutVarint(p, types[i]);
  for (size_t i = 0; i < values.size(); ++i) {
    const SqlValue& v = values[i];
    if (v.kind == SqlValue::kText) {
      std::memcpy(p, v.text.data(), v.text.size());
    } else if (v.kind == SqlValue::kInteger) {
      PutBigEndian(p, static_cast<uint64_t>(v.integer), lengths[i]);
    }
    p += lengths[i];
  }
}

}  // namespace kiln::analysis
