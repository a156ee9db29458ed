// HprofReader: a validating, streaming parser of HPROF files (Kiln's and the
// JDK's, id size 4 or 8). It walks records and heap sub-records in file order
// and hands each to an HprofVisitor; every length is checked against its
// enclosing record, so malformed input (truncated, a bad tag, a length that
// runs past its record) yields an error naming the byte offset and the
// record, never a crash. A visitor's error is returned prefixed with the
// offset and name of the record it was handed ("HPROF offset 812:
// INSTANCE_DUMP: ..."), so every error of a parse names where it is.
//
//   ASSIGN_OR_RETURN(auto reader, HprofReader::Open("/tmp/app.hprof"));
//   MyVisitor visitor;
//   RETURN_IF_ERROR(reader->Parse(visitor));
//
// ParseSharded parses the heap dump sub-records on worker threads into
// shards a visitor merges in file order (hprof_sharded_parse.cc), with the
// serial parse's results and errors.
//
// Files are memory-mapped read-only; the spans handed to the visitor point
// into the mapping and live as long as the reader. Gzip-compressed files
// (plain gzip or HotSpot's block format from `jcmd GC.heap_dump -gz=N`) are
// inflated first into anonymous memory (DumpBytes); offsets in errors are
// then offsets in the uncompressed HPROF bytes, and a corrupt compressed
// stream is reported as "gzip offset N: ..." in the compressed file.
#ifndef KILN_INSPECTION_HPROF_HPROF_READER_H_
#define KILN_INSPECTION_HPROF_HPROF_READER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/must_use.h"
#include "inspection/hprof/dump_bytes.h"
#include "inspection/hprof/hprof_format.h"

namespace kiln {

struct HprofFieldInfo {
  uint64_t name_id;
  uint8_t type;
};

struct HprofStaticInfo {
  uint64_t name_id;
  uint8_t type;
  uint64_t value;  // ids and primitives, zero-extended
};

struct HprofClassDump {
  uint64_t offset;  // of the CLASS_DUMP sub-record in the file
  uint64_t class_id;
  uint64_t super_id;
  uint32_t instance_size;
  std::vector<HprofStaticInfo> statics;
  std::vector<HprofFieldInfo> fields;
};

// HprofVisitor: callbacks for what the file holds; each returns a Status to
// stop the parse. Defaults ignore.
class HprofVisitor {
 public:
  virtual ~HprofVisitor() = default;
  KILN_MUST_USE virtual absl::Status OnString(uint64_t id, absl::string_view text) { return Ok(); }
  KILN_MUST_USE virtual absl::Status OnLoadClass(uint32_t serial, uint64_t class_id,
                                                 uint64_t name_id) {
    return Ok();
  }
  KILN_MUST_USE virtual absl::Status OnStackFrame(uint64_t frame_id, uint64_t method_name_id,
                                                  uint64_t signature_id, uint64_t source_id,
                                                  uint32_t class_serial, int32_t line) {
    return Ok();
  }
  KILN_MUST_USE virtual absl::Status OnStackTrace(uint32_t serial, uint32_t thread_serial,
                                                  absl::Span<const uint64_t> frame_ids) {
    return Ok();
  }
  // OnRoot: `tag` is the sub-record tag; thread_serial and depth are 0 and
  // -1 where the root kind has none.
  KILN_MUST_USE virtual absl::Status OnRoot(uint8_t tag, uint64_t id, uint32_t thread_serial,
                                            int32_t depth, uint32_t trace_serial) {
    return Ok();
  }
  KILN_MUST_USE virtual absl::Status OnClassDump(const HprofClassDump& dump) { return Ok(); }
  // OnInstance: the raw field values (big-endian), this class's first.
  KILN_MUST_USE virtual absl::Status OnInstance(uint64_t id, uint64_t class_id,
                                                absl::Span<const uint8_t> values) {
    return Ok();
  }
  KILN_MUST_USE virtual absl::Status OnObjectArray(uint64_t id, uint64_t class_id,
                                                   absl::Span<const uint64_t> elements) {
    return Ok();
  }
  // OnPrimitiveArray: the raw elements (big-endian).
  KILN_MUST_USE virtual absl::Status OnPrimitiveArray(uint64_t id, uint8_t type, uint32_t length,
                                                      absl::Span<const uint8_t> elements) {
    return Ok();
  }

 private:
  KILN_MUST_USE static absl::Status Ok() { return absl::OkStatus(); }
};

// HprofRecordCounts: how many records of each tag a Parse saw, top-level
// records and heap dump sub-records apart, indexed by tag.
struct HprofRecordCounts {
  std::array<uint64_t, 256> records{};
  std::array<uint64_t, 256> sub_records{};
};

// HprofRecordName, HprofSubRecordName: a tag's name as the JDK's
// hprof_b_spec.h (and Android, for 1.0.3) spell it: "HEAP_DUMP_SEGMENT",
// "INSTANCE_DUMP", "ROOT_JAVA_FRAME"; "record" / "sub-record" if unknown.
const char* HprofRecordName(uint8_t tag);
const char* HprofSubRecordName(uint8_t tag);

// kHprofMaxSuperclassDepth: the longest superclass chain (the class itself
// counted) a reader accepts. The JDK's deepest is about 10 classes; a file
// that claims more than this was not written by a JVM, and every walk up a
// chain (field layouts, subtype tests) may trust the bound.
inline constexpr uint32_t kHprofMaxSuperclassDepth = 1024;

// HprofBadChain: a class whose superclass chain loops (it is on the loop) or
// runs deeper than kHprofMaxSuperclassDepth.
struct HprofBadChain {
  uint32_t cls;
  bool cycle;
};

// FindBadSuperclassChain: among classes numbered 0..n-1, where supers[i] is
// class i's superclass's number (>= n: none or not in the file), the first
// class (by number) of a chain that loops or is too deep; nullopt if none.
// O(n) in all: each class is walked once.
std::optional<HprofBadChain> FindBadSuperclassChain(absl::Span<const uint32_t> supers);

// SuperclassChainError: the DataLoss error for `bad`, naming the CLASS_DUMP
// at `offset` of class `class_id` called `name` ("" if the file names none).
KILN_MUST_USE absl::Status SuperclassChainError(const HprofBadChain& bad, uint64_t offset, uint64_t class_id,
                                  absl::string_view name);

// HprofShard: a visitor for some of a dump's heap dump sub-records, on a
// worker thread of HprofReader::ParseSharded. record_offset() is the offset
// of the sub-record being visited (what HprofReader::record_offset() says
// in a serial parse).
class HprofShard : public HprofVisitor {
 public:
  uint64_t record_offset() const { return record_offset_; }

 private:
  friend class HprofReader;
  uint64_t record_offset_ = 0;
};

// HprofSharding: how a visitor takes part in a sharded parse. NewShard is
// called on worker threads (concurrently: it must only read shared state);
// Merge on the thread that called ParseSharded, once per shard, in file
// order, interleaved with the visitor's calls for the records between the
// shards, so that a visitor that merges what its shards saw ends where a
// serial Parse would have. A shard whose range held a malformed sub-record
// is merged with what it saw before it, then the parse returns the
// reader's error; an error from Merge stops the parse and is returned.
class HprofSharding {
 public:
  virtual ~HprofSharding() = default;
  virtual std::unique_ptr<HprofShard> NewShard() = 0;
  KILN_MUST_USE virtual absl::Status Merge(HprofShard& shard, uint64_t end_offset) = 0;
};

// HprofShardOptions: the workers of a sharded parse, and the bytes of heap
// dump sub-records each shard covers (at least; a shard ends at a record or
// sub-record boundary, and never spans a record other than HEAP_DUMP and
// HEAP_DUMP_SEGMENT). At most `window` shards are parsed ahead of the merge,
// so memory is bounded by window * chunk_bytes of the visitor's buffers.
// HprofDefaultThreads: std::thread::hardware_concurrency(), at least 1 and
// capped at 8.
int HprofDefaultThreads();

struct HprofShardOptions {
  // threads: the worker threads. 0 starts none: each chunk is parsed on the
  // calling thread just before its merge, the same shards and merge in an
  // order that no timing changes (the fuzzer's deterministic twin).
  int threads = HprofDefaultThreads();
  uint64_t chunk_bytes = uint64_t{4} << 20;
  int window = 6;
};

// HprofAtRecord: `status` (if not OK) prefixed as the reader prefixes a
// visitor's errors: "HPROF offset <offset>: <what>: ...".
KILN_MUST_USE absl::Status HprofAtRecord(absl::Status status, uint64_t offset, const char* what);

class HprofReader {
 public:
  // Open maps `path` (inflating it if it is gzip); `progress`, if set,
  // follows the inflation of a compressed file.
  KILN_MUST_USE static absl::StatusOr<std::unique_ptr<HprofReader>> Open(
      const std::string& path, const DumpProgress& progress = nullptr);
  // FromBytes takes `bytes` (gzip is inflated here too; if that fails, every
  // Parse returns the error).
  static std::unique_ptr<HprofReader> FromBytes(std::vector<uint8_t> bytes);
  ~HprofReader();

  HprofReader(const HprofReader&) = delete;
  HprofReader& operator=(const HprofReader&) = delete;

  // Parse validates the header and calls `visitor` for every record. After a
  // successful parse, id_size() and timestamp_ms() describe the file.
  KILN_MUST_USE absl::Status Parse(HprofVisitor& visitor);
  // ParseSharded: what Parse(visitor) does, with the heap dump sub-records
  // handed to shards of `sharding` on options.threads worker threads
  // (visitor is called for the other records, on this thread, in file
  // order). The first pass finds the record boundaries, and sub-record
  // boundaries inside a HEAP_DUMP_SEGMENT longer than options.chunk_bytes.
  // Errors are the ones Parse would return: the first in file order.
  KILN_MUST_USE absl::Status ParseSharded(HprofVisitor& visitor, HprofSharding& sharding,
                                          const HprofShardOptions& options);
  uint32_t id_size() const { return id_size_; }
  uint64_t timestamp_ms() const { return timestamp_ms_; }
  // record_offset: during a visitor callback, the offset in data() of the
  // record or heap dump sub-record being visited.
  uint64_t record_offset() const { return record_offset_; }
  // record_counts: what the last Parse saw, counted as it went (free, unlike
  // a visitor keeping its own tally per record).
  const HprofRecordCounts& record_counts() const { return counts_; }
  // size: bytes of HPROF (uncompressed); stored_size: bytes of the file as
  // stored, compressed or not.
  uint64_t size() const { return data_.size(); }
  uint64_t stored_size() const { return stored_size_; }
  bool compressed() const { return compressed_; }
  // data: the uncompressed HPROF bytes, for readers that index into them.
  absl::Span<const uint8_t> data() const { return data_; }
  // Evict: bytes [begin, end) of data() will not be read again soon; a
  // mapped file's pages leave the resident set (DumpBytes::Evict). data()
  // stays valid and unchanged.
  void Evict(uint64_t begin, uint64_t end) const { mapped_.Evict(begin, end); }

 private:
  HprofReader() = default;
  struct RecordHeader {
    uint8_t tag;
    uint64_t begin, end;  // the record's body
  };
  KILN_MUST_USE absl::StatusOr<uint64_t> ParseHeader();  // the first record's offset
  KILN_MUST_USE absl::StatusOr<RecordHeader> ReadRecordHeader(uint64_t pos) const;
  // ParseRecord: the record at `pos` (header, body, leftover check); the
  // offset of the next.
  KILN_MUST_USE absl::StatusOr<uint64_t> ParseRecord(uint64_t pos, HprofVisitor& visitor,
                                                     std::vector<uint64_t>& ids);
  // ParseHeapDump: the sub-records in [begin, end), recording the offset of
  // each in `record_offset` and counting them in `counts`.
  KILN_MUST_USE absl::Status ParseHeapDump(uint64_t begin, uint64_t end, HprofVisitor& visitor,
                                           uint64_t& record_offset,
                                           HprofRecordCounts& counts) const;
  // SubRecordEnd: the end of the sub-record at `pos` (before `end`), or 0 if
  // it is malformed (ParseHeapDump then names the error).
  uint64_t SubRecordEnd(uint64_t pos, uint64_t end) const;

  absl::Span<const uint8_t> data_;
  std::vector<uint8_t> owned_;
  DumpBytes mapped_;
  absl::Status open_status_;  // a FromBytes inflation failure
  uint64_t stored_size_ = 0;
  bool compressed_ = false;
  uint32_t id_size_ = 0;
  uint64_t timestamp_ms_ = 0;
  uint64_t record_offset_ = 0;
  HprofRecordCounts counts_;
};

}  // namespace kiln

#endif  // KILN_INSPECTION_HPROF_HPROF_READER_H_
