// HprofReader: the record loop, heap dump sub-records, tag names, and the
// superclass-chain check the readers built on it share.
#include "inspection/hprof/hprof_reader.h"

#include <algorithm>
#include <cstring>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"

namespace kiln {

// The record names of the JDK's heapDumper.cpp / hprof_b_spec.h (Android's
// for its 1.0.3 additions).
const char* HprofRecordName(uint8_t tag) {
  switch (tag) {
    case hprof::kString: return "STRING";
    case hprof::kLoadClass: return "LOAD_CLASS";
    case 0x03: return "UNLOAD_CLASS";
    case hprof::kStackFrame: return "STACK_FRAME";
    case hprof::kStackTrace: return "STACK_TRACE";
    case 0x06: return "ALLOC_SITES";
    case 0x07: return "HEAP_SUMMARY";
    case 0x0A: return "START_THREAD";
    case 0x0B: return "END_THREAD";
    case 0x0C: return "HEAP_DUMP";
    case 0x0D: return "CPU_SAMPLES";
    case 0x0E: return "CONTROL_SETTINGS";
    case hprof::kHeapDumpSegment: return "HEAP_DUMP_SEGMENT";
    case hprof::kHeapDumpEnd: return "HEAP_DUMP_END";
    default: return "record";
  }
}

const char* HprofSubRecordName(uint8_t tag) {
  switch (tag) {
    case hprof::kRootUnknown: return "ROOT_UNKNOWN";
    case hprof::kRootJniGlobal: return "ROOT_JNI_GLOBAL";
    case hprof::kRootJniLocal: return "ROOT_JNI_LOCAL";
    case hprof::kRootJavaFrame: return "ROOT_JAVA_FRAME";
    case hprof::kRootNativeStack: return "ROOT_NATIVE_STACK";
    case hprof::kRootStickyClass: return "ROOT_STICKY_CLASS";
    case hprof::kRootThreadBlock: return "ROOT_THREAD_BLOCK";
    case hprof::kRootMonitorUsed: return "ROOT_MONITOR_USED";
    case hprof::kRootThreadObject: return "ROOT_THREAD_OBJECT";
    case hprof::kClassDump: return "CLASS_DUMP";
    case hprof::kInstanceDump: return "INSTANCE_DUMP";
    case hprof::kObjectArrayDump: return "OBJ_ARRAY_DUMP";
    case hprof::kPrimitiveArrayDump: return "PRIM_ARRAY_DUMP";
    case hprof::kRootInternedString: return "ROOT_INTERNED_STRING";
    case hprof::kRootFinalizing: return "ROOT_FINALIZING";
    case hprof::kRootDebugger: return "ROOT_DEBUGGER";
    case hprof::kRootReferenceCleanup: return "ROOT_REFERENCE_CLEANUP";
    case hprof::kRootVmInternal: return "ROOT_VM_INTERNAL";
    case hprof::kRootJniMonitor: return "ROOT_JNI_MONITOR";
    case hprof::kRootUnreachable: return "ROOT_UNREACHABLE";
    case hprof::kHeapDumpInfo: return "HEAP_DUMP_INFO";
    case hprof::kPrimitiveArrayNoData: return "PRIMITIVE_ARRAY_NODATA";
    default: return "sub-record";
  }
}

std::optional<HprofBadChain> FindBadSuperclassChain(absl::Span<const uint32_t> supers) {
  const size_t n = supers.size();
  constexpr uint32_t kUnknown = 0, kOnPath = ~uint32_t{0};
  std::vector<uint32_t> depth(n, kUnknown);  // chain length, once known
  std::vector<uint32_t> path;
  for (uint32_t i = 0; i < n; ++i) {
    if (depth[i] != kUnknown) continue;
    path.clear();
    uint32_t c = i;
    for (; c < n && depth[c] == kUnknown; c = supers[c]) {
      depth[c] = kOnPath;
      path.push_back(c);
    }
    if (c < n && depth[c] == kOnPath) return HprofBadChain{c, true};
    uint32_t d = c < n ? depth[c] : 0;
    for (size_t k = path.size(); k-- > 0;) {
      depth[path[k]] = ++d;
      if (d > kHprofMaxSuperclassDepth) return HprofBadChain{path[k], false};
    }
  }
  return std::nullopt;
}

absl::Status SuperclassChainError(const HprofBadChain& bad, uint64_t offset, uint64_t class_id,
                                  absl::string_view name) {
  return absl::DataLossError(absl::StrFormat(
      "HPROF offset %d: CLASS_DUMP of class 0x%x (%s): %s", offset, class_id,
      name.empty() ? "no name in the file" : name,
      bad.cycle ? "its superclass chain loops back to it"
                : absl::StrCat("its superclass chain is more than ", kHprofMaxSuperclassDepth,
                               " classes deep")));
}

absl::Status HprofAtRecord(absl::Status status, uint64_t offset, const char* what) {
  if (ABSL_PREDICT_TRUE(status.ok())) return status;
  return absl::Status(status.code(),
                      absl::StrFormat("HPROF offset %d: %s: %s", offset, what, status.message()));
}

namespace {

// LoadBigEndian: an unsigned big-endian integer of `bytes` (1..8) bytes.
inline uint64_t LoadBigEndian(const uint8_t* p, unsigned bytes) {
  switch (bytes) {
    case 8: {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return __builtin_bswap64(v);
    }
    case 4: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return __builtin_bswap32(v);
    }
    case 2: return uint64_t{p[0]} << 8 | p[1];
    case 1: return p[0];
    default: {
      uint64_t v = 0;
      for (unsigned i = 0; i < bytes; ++i) v = v << 8 | p[i];
      return v;
    }
  }
}

// Cursor: bounds-checked big-endian reads over [pos, end) of the file. The
// first failed read records an error naming the offset and what was being
// read; later reads return zeros, and the caller checks status().
class Cursor {
 public:
  Cursor(absl::Span<const uint8_t> data, uint64_t pos, uint64_t end, uint32_t id_size,
         const char* what)
      : data_(data), pos_(pos), end_(end), id_size_(id_size), what_(what) {}

  ABSL_ATTRIBUTE_ALWAYS_INLINE bool Need(uint64_t n) {
    if (ABSL_PREDICT_TRUE(end_ - pos_ >= n && status_.ok())) return true;
    if (status_.ok()) {
      status_ = absl::DataLossError(absl::StrFormat(
          "HPROF offset %d: %s truncated: needs %d more bytes, %d left", pos_, what(), n,
          end_ - pos_));
    }
    return false;
  }
  ABSL_ATTRIBUTE_ALWAYS_INLINE uint64_t Read(unsigned bytes) {
    if (!Need(bytes)) return 0;
    const uint64_t v = LoadBigEndian(data_.data() + pos_, bytes);
    pos_ += bytes;
    return v;
  }
  // Ids reads `n` ids into `out` after one bounds check (the caller has
  // checked that n * id_size bytes remain).
  void Ids(uint32_t n, uint64_t* out) {
    const uint8_t* p = data_.data() + pos_;
    if (id_size_ == 8) {
      for (uint32_t i = 0; i < n; ++i) out[i] = LoadBigEndian(p + 8 * i, 8);
    } else {
      for (uint32_t i = 0; i < n; ++i) out[i] = LoadBigEndian(p + 4 * i, 4);
    }
    pos_ += uint64_t{n} * id_size_;
  }
  ABSL_ATTRIBUTE_ALWAYS_INLINE uint8_t U1() { return static_cast<uint8_t>(Read(1)); }
  ABSL_ATTRIBUTE_ALWAYS_INLINE uint16_t U2() { return static_cast<uint16_t>(Read(2)); }
  ABSL_ATTRIBUTE_ALWAYS_INLINE uint32_t U4() { return static_cast<uint32_t>(Read(4)); }
  ABSL_ATTRIBUTE_ALWAYS_INLINE uint64_t U8() { return Read(8); }
  ABSL_ATTRIBUTE_ALWAYS_INLINE uint64_t Id() { return Read(id_size_); }
  ABSL_ATTRIBUTE_ALWAYS_INLINE absl::Span<const uint8_t> Bytes(uint64_t n) {
    if (!Need(n)) return {};
    absl::Span<const uint8_t> bytes = data_.subspan(pos_, n);
    pos_ += n;
    return bytes;
  }
  void Fail(const std::string& problem) {
    if (status_.ok()) {
      status_ = absl::DataLossError(absl::StrFormat("HPROF offset %d: %s: %s", pos_, what(),
                                                    problem));
    }
  }
  void set_what(const char* what) { what_ = what; }
  // set_sub_record: what is being read is the heap dump sub-record `tag`
  // (named only if an error needs it).
  void set_sub_record(uint8_t tag) {
    what_ = nullptr;
    sub_record_ = tag;
  }
  const char* what() const { return what_ != nullptr ? what_ : HprofSubRecordName(sub_record_); }
  uint64_t pos() const { return pos_; }
  uint64_t end() const { return end_; }
  bool at_end() const { return pos_ == end_; }
  const absl::Status& status() const { return status_; }

 private:
  absl::Span<const uint8_t> data_;
  uint64_t pos_;
  uint64_t end_;
  uint32_t id_size_;
  const char* what_;
  uint8_t sub_record_ = 0;
  absl::Status status_;
};

// AtRecord: a visitor's error, prefixed with the offset and name of the
// record `c` reads (named only on error: HprofSubRecordName is a switch).
ABSL_ATTRIBUTE_ALWAYS_INLINE inline absl::Status AtRecord(absl::Status status, uint64_t offset,
                                                          const Cursor& c) {
  if (ABSL_PREDICT_TRUE(status.ok())) return status;
  return HprofAtRecord(std::move(status), offset, c.what());
}

}  // namespace

absl::StatusOr<std::unique_ptr<HprofReader>> HprofReader::Open(const std::string& path,
                                                               const DumpProgress& progress) {
  ASSIGN_OR_RETURN(DumpBytes bytes, DumpBytes::Open(path, progress));
  auto reader = std::unique_ptr<HprofReader>(new HprofReader());
  reader->data_ = bytes.bytes();
  reader->stored_size_ = bytes.stored_size();
  reader->compressed_ = bytes.compressed();
  reader->mapped_ = std::move(bytes);
  return reader;
}

std::unique_ptr<HprofReader> HprofReader::FromBytes(std::vector<uint8_t> bytes) {
  auto reader = std::unique_ptr<HprofReader>(new HprofReader());
  reader->stored_size_ = bytes.size();
  if (DumpBytes::IsGzip(bytes)) {
    reader->compressed_ = true;
    absl::StatusOr<DumpBytes> inflated = DumpBytes::Inflate(bytes);
    if (!inflated.ok()) {
      reader->open_status_ = inflated.status();
      return reader;
    }
    reader->data_ = inflated->bytes();
    reader->mapped_ = *std::move(inflated);
    return reader;
  }
  reader->owned_ = std::move(bytes);
  reader->data_ = absl::MakeConstSpan(reader->owned_);
  return reader;
}

HprofReader::~HprofReader() = default;

absl::StatusOr<uint64_t> HprofReader::ParseHeader() {
  RETURN_IF_ERROR(open_status_);
  counts_ = HprofRecordCounts();
  // Header: "JAVA PROFILE 1.0.x\0", u4 id size, u8 timestamp.
  if (data_.empty()) return absl::DataLossError("HPROF offset 0: header: the file is empty");
  const size_t nul = std::min<size_t>(data_.size(), 32);
  const uint8_t* end_of_magic = static_cast<const uint8_t*>(std::memchr(data_.data(), 0, nul));
  if (end_of_magic == nullptr) {
    return absl::DataLossError("HPROF offset 0: header: no \"JAVA PROFILE 1.0.x\" string");
  }
  const absl::string_view magic(reinterpret_cast<const char*>(data_.data()),
                                end_of_magic - data_.data());
  if (magic != "JAVA PROFILE 1.0.1" && magic != "JAVA PROFILE 1.0.2" &&
      magic != "JAVA PROFILE 1.0.3") {
    return absl::DataLossError(
        absl::StrCat("HPROF offset 0: header: unsupported format \"", magic, "\""));
  }
  Cursor header(data_, magic.size() + 1, data_.size(), 4, "header");
  id_size_ = header.U4();
  timestamp_ms_ = header.U8();
  RETURN_IF_ERROR(header.status());
  if (id_size_ != 4 && id_size_ != 8) {
    return absl::DataLossError(absl::StrCat("HPROF offset ", magic.size() + 1,
                                            ": header: id size ", id_size_, " is not 4 or 8"));
  }
  return header.pos();
}

absl::StatusOr<HprofReader::RecordHeader> HprofReader::ReadRecordHeader(uint64_t pos) const {
  Cursor head(data_, pos, data_.size(), id_size_, "record header");
  const uint8_t tag = head.U1();
  head.U4();  // time
  const uint32_t length = head.U4();
  RETURN_IF_ERROR(head.status());
  if (data_.size() - head.pos() < length) {
    return absl::DataLossError(absl::StrFormat(
        "HPROF offset %d: %s (tag 0x%02x) of %d bytes runs past the end of the file (%d bytes)",
        pos, HprofRecordName(tag), tag, length, data_.size()));
  }
  return RecordHeader{tag, head.pos(), head.pos() + length};
}

absl::Status HprofReader::Parse(HprofVisitor& visitor) {
  ASSIGN_OR_RETURN(const uint64_t first, ParseHeader());
  std::vector<uint64_t> ids;
  for (uint64_t pos = first; pos < data_.size();) {
    ASSIGN_OR_RETURN(pos, ParseRecord(pos, visitor, ids));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> HprofReader::ParseRecord(uint64_t pos, HprofVisitor& visitor,
                                                  std::vector<uint64_t>& ids) {
  ASSIGN_OR_RETURN(const RecordHeader head, ReadRecordHeader(pos));
  const uint8_t tag = head.tag;
  const uint64_t length = head.end - head.begin;
  Cursor c(data_, head.begin, head.end, id_size_, HprofRecordName(tag));
  ++counts_.records[tag];
  record_offset_ = pos;
  switch (tag) {
    case hprof::kString: {
      const uint64_t id = c.Id();
      absl::Span<const uint8_t> text = c.Bytes(c.end() - c.pos());
      RETURN_IF_ERROR(c.status());
      RETURN_IF_ERROR(AtRecord(
          visitor.OnString(
              id, absl::string_view(reinterpret_cast<const char*>(text.data()), text.size())),
          pos, c));
      break;
    }
    case hprof::kLoadClass: {
      const uint32_t serial = c.U4();
      const uint64_t class_id = c.Id();
      c.U4();
      const uint64_t name_id = c.Id();
      RETURN_IF_ERROR(c.status());
      RETURN_IF_ERROR(AtRecord(visitor.OnLoadClass(serial, class_id, name_id), pos, c));
      break;
    }
    case hprof::kStackFrame: {
      const uint64_t frame = c.Id(), name = c.Id(), signature = c.Id(), source = c.Id();
      const uint32_t serial = c.U4();
      const auto line = static_cast<int32_t>(c.U4());
      RETURN_IF_ERROR(c.status());
      RETURN_IF_ERROR(AtRecord(visitor.OnStackFrame(frame, name, signature, source, serial, line),
                               pos, c));
      break;
    }
    case hprof::kStackTrace: {
      const uint32_t serial = c.U4(), thread = c.U4(), n = c.U4();
      if (!c.Need(uint64_t{n} * id_size_)) return c.status();
      ids.resize(n);
      c.Ids(n, ids.data());
      RETURN_IF_ERROR(AtRecord(visitor.OnStackTrace(serial, thread, ids), pos, c));
      break;
    }
    case 0x0C:
    case hprof::kHeapDumpSegment:
      RETURN_IF_ERROR(ParseHeapDump(c.pos(), c.end(), visitor, record_offset_, counts_));
      c.Bytes(length);
      break;
    case hprof::kHeapDumpEnd:
    case 0x03: case 0x06: case 0x07: case 0x0A: case 0x0B: case 0x0D: case 0x0E:
      c.Bytes(length);  // known records Kiln has no use for
      break;
    default:
      return absl::DataLossError(
          absl::StrFormat("HPROF offset %d: unknown record tag 0x%02x", pos, tag));
  }
  RETURN_IF_ERROR(c.status());
  if (!c.at_end()) {
    return absl::DataLossError(absl::StrFormat(
        "HPROF offset %d: %s: %d bytes left over in a record of %d bytes", c.pos(),
        HprofRecordName(tag), c.end() - c.pos(), length));
  }
  return c.end();
}

absl::Status HprofReader::ParseHeapDump(uint64_t begin, uint64_t end, HprofVisitor& visitor,
                                       uint64_t& record_offset,
                                       HprofRecordCounts& counts) const {
  Cursor c(data_, begin, end, id_size_, "heap dump");
  std::vector<uint64_t> ids;
  HprofClassDump dump;
  while (!c.at_end()) {
    const uint64_t at = c.pos();
    record_offset = at;
    const uint8_t tag = c.U1();
    c.set_sub_record(tag);
    ++counts.sub_records[tag];
    switch (tag) {
      case hprof::kRootUnknown: case hprof::kRootStickyClass: case hprof::kRootMonitorUsed:
      case hprof::kRootInternedString: case hprof::kRootFinalizing: case hprof::kRootDebugger:
      case hprof::kRootReferenceCleanup: case hprof::kRootVmInternal:
      case hprof::kRootUnreachable: {
        const uint64_t id = c.Id();
        RETURN_IF_ERROR(c.status());
        RETURN_IF_ERROR(AtRecord(visitor.OnRoot(tag, id, 0, -1, 0), at, c));
        break;
      }
      case hprof::kRootJniGlobal: {
        const uint64_t id = c.Id();
        c.Id();
        RETURN_IF_ERROR(c.status());
        RETURN_IF_ERROR(AtRecord(visitor.OnRoot(tag, id, 0, -1, 0), at, c));
        break;
      }
      case hprof::kRootJniLocal: case hprof::kRootJavaFrame: case hprof::kRootJniMonitor: {
        const uint64_t id = c.Id();
        const uint32_t thread = c.U4();
        const auto depth = static_cast<int32_t>(c.U4());
        RETURN_IF_ERROR(c.status());
        RETURN_IF_ERROR(AtRecord(visitor.OnRoot(tag, id, thread, depth, 0), at, c));
        break;
      }
      case hprof::kRootNativeStack: case hprof::kRootThreadBlock: {
        const uint64_t id = c.Id();
        const uint32_t thread = c.U4();
        RETURN_IF_ERROR(c.status());
        RETURN_IF_ERROR(AtRecord(visitor.OnRoot(tag, id, thread, -1, 0), at, c));
        break;
      }
      case hprof::kRootThreadObject: {
        const uint64_t id = c.Id();
        const uint32_t thread = c.U4(), trace = c.U4();
        RETURN_IF_ERROR(c.status());
        RETURN_IF_ERROR(AtRecord(visitor.OnRoot(tag, id, thread, -1, trace), at, c));
        break;
      }
      case hprof::kHeapDumpInfo:  // Android HEAP_DUMP_INFO: heap id, name string id
        c.U4();
        c.Id();
        break;
      case hprof::kPrimitiveArrayNoData:  // Android PRIMITIVE_ARRAY_NODATA
        c.Id(); c.U4(); c.U4(); c.U1();
        break;
      case hprof::kClassDump: {
        dump.offset = at;
        dump.class_id = c.Id();
        c.U4();
        dump.super_id = c.Id();
        for (int i = 0; i < 5; ++i) c.Id();
        dump.instance_size = c.U4();
        dump.statics.clear();
        dump.fields.clear();
        const uint16_t constants = c.U2();
        for (uint16_t i = 0; i < constants && c.status().ok(); ++i) {
          c.U2();
          const uint8_t type = c.U1();
          const size_t size = type == hprof::kObject ? id_size_ : hprof::BasicTypeSize(type);
          if (size == 0) c.Fail(absl::StrCat("bad constant type ", type));
          c.Read(static_cast<unsigned>(size));
        }
        const uint16_t statics = c.U2();
        for (uint16_t i = 0; i < statics && c.status().ok(); ++i) {
          HprofStaticInfo info;
          info.name_id = c.Id();
          info.type = c.U1();
          const size_t size = info.type == hprof::kObject ? id_size_ : hprof::BasicTypeSize(info.type);
          if (size == 0) c.Fail(absl::StrCat("bad static field type ", info.type));
          info.value = c.Read(static_cast<unsigned>(size));
          dump.statics.push_back(info);
        }
        const uint16_t fields = c.U2();
        for (uint16_t i = 0; i < fields && c.status().ok(); ++i) {
          HprofFieldInfo info;
          info.name_id = c.Id();
          info.type = c.U1();
          if (hprof::BasicTypeSize(info.type) == 0) {
            c.Fail(absl::StrCat("bad field type ", info.type));
          }
          dump.fields.push_back(info);
        }
        RETURN_IF_ERROR(c.status());
        RETURN_IF_ERROR(AtRecord(visitor.OnClassDump(dump), at, c));
        break;
      }
      case hprof::kInstanceDump: {
        const uint64_t id = c.Id();
        c.U4();
        const uint64_t class_id = c.Id();
        const uint32_t n = c.U4();
        absl::Span<const uint8_t> values = c.Bytes(n);
        RETURN_IF_ERROR(c.status());
        RETURN_IF_ERROR(AtRecord(visitor.OnInstance(id, class_id, values), at, c));
        break;
      }
      case hprof::kObjectArrayDump: {
        const uint64_t id = c.Id();
        c.U4();
        const uint32_t length = c.U4();
        const uint64_t class_id = c.Id();
        if (!c.Need(uint64_t{length} * id_size_)) return c.status();
        ids.resize(length);
        c.Ids(length, ids.data());
        RETURN_IF_ERROR(AtRecord(visitor.OnObjectArray(id, class_id, ids), at, c));
        break;
      }
      case hprof::kPrimitiveArrayDump: {
        const uint64_t id = c.Id();
        c.U4();
        const uint32_t length = c.U4();
        const uint8_t type = c.U1();
        if (type == hprof::kObject || hprof::BasicTypeSize(type) == 0) {
          c.Fail(absl::StrCat("bad element type ", type));
        }
        absl::Span<const uint8_t> elements =
            c.Bytes(uint64_t{length} * hprof::BasicTypeSize(type));
        RETURN_IF_ERROR(c.status());
        RETURN_IF_ERROR(
            AtRecord(visitor.OnPrimitiveArray(id, type, length, elements), at, c));
        break;
      }
      default:
        return absl::DataLossError(
            absl::StrFormat("HPROF offset %d: unknown heap dump sub-record tag 0x%02x", at, tag));
    }
    RETURN_IF_ERROR(c.status());
  }
  return absl::OkStatus();
}

// SubRecordEnd follows ParseHeapDump's layouts, reading only lengths and
// types; anything ParseHeapDump would reject gives 0.
uint64_t HprofReader::SubRecordEnd(uint64_t pos, uint64_t end) const {
  const uint8_t* p = data_.data();
  const uint64_t id = id_size_;
  bool ok = true;
  const auto skip = [&](uint64_t n) {
    if (!ok || end - pos < n) {
      ok = false;
      return;
    }
    pos += n;
  };
  const auto read = [&](unsigned n) -> uint64_t {
    if (!ok || end - pos < n) {
      ok = false;
      return 0;
    }
    const uint64_t v = LoadBigEndian(p + pos, n);
    pos += n;
    return v;
  };
  const auto value_size = [&](uint8_t type) -> uint64_t {
    const uint64_t size = type == hprof::kObject ? id : hprof::BasicTypeSize(type);
    if (size == 0) ok = false;
    return size;
  };
  const uint8_t tag = static_cast<uint8_t>(read(1));
  switch (tag) {
    case hprof::kRootUnknown: case hprof::kRootStickyClass: case hprof::kRootMonitorUsed:
    case hprof::kRootInternedString: case hprof::kRootFinalizing: case hprof::kRootDebugger:
    case hprof::kRootReferenceCleanup: case hprof::kRootVmInternal:
    case hprof::kRootUnreachable:
      skip(id);
      break;
    case hprof::kRootJniGlobal: skip(2 * id); break;
    case hprof::kRootJniLocal: case hprof::kRootJavaFrame: case hprof::kRootJniMonitor:
    case hprof::kRootThreadObject:
      skip(id + 8);
      break;
    case hprof::kRootNativeStack: case hprof::kRootThreadBlock: skip(id + 4); break;
    case hprof::kHeapDumpInfo: skip(4 + id); break;
    case hprof::kPrimitiveArrayNoData: skip(id + 9); break;
    case hprof::kClassDump: {
      skip(7 * id + 8);
      const uint64_t constants = read(2);
      for (uint64_t i = 0; i < constants && ok; ++i) {
        skip(2);
        skip(value_size(static_cast<uint8_t>(read(1))));
      }
      const uint64_t statics = read(2);
      for (uint64_t i = 0; i < statics && ok; ++i) {
        skip(id);
        skip(value_size(static_cast<uint8_t>(read(1))));
      }
      const uint64_t fields = read(2);
      for (uint64_t i = 0; i < fields && ok; ++i) {
        skip(id);
        if (hprof::BasicTypeSize(static_cast<uint8_t>(read(1))) == 0) ok = false;
      }
      break;
    }
    case hprof::kInstanceDump:
      skip(2 * id + 4);
      skip(read(4));
      break;
    case hprof::kObjectArrayDump: {
      skip(id + 4);
      const uint64_t length = read(4);
      skip(id + length * id);
      break;
    }
    case hprof::kPrimitiveArrayDump: {
      skip(id + 4);
      const uint64_t length = read(4);
      const uint8_t type = static_cast<uint8_t>(read(1));
      if (type == hprof::kObject) ok = false;
      skip(length * value_size(type));
      break;
    }
    default:
      ok = false;
  }
  return ok ? pos : 0;
}

}  // namespace kiln
