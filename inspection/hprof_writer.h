// HprofWriter: streams an HPROF 1.0.2 file through a fixed native buffer.
//
// Lengths are never computed by hand beside the code that writes a record:
// BeginRecord reserves the length and EndRecord backfills it in the buffer.
// Heap sub-records go into HEAP_DUMP_SEGMENTs of about 1 MiB whose lengths
// are patched in the buffer before it is flushed, so no seek is ever needed
// and the output may be a pipe. A sub-record too big for the buffer gets a
// segment of its own, written with its length known up front. Errors are
// sticky: after the first failed write the writer writes nothing more, and
// Finish returns that error.
//
//   HprofWriter writer(&sink);
//   writer.WriteHeader(now_ms);
//   writer.BeginRecord(hprof::kString);
//   writer.Id(1); writer.Bytes(name);
//   writer.EndRecord();
//   writer.BeginSubRecord(hprof::kRootStickyClass, 8); writer.Id(class_id);
//   ...
//   writer.EndHeapDump();
//   absl::Status status = writer.Finish();
//
// The writer allocates only its buffer (native memory), at construction.
#ifndef KILN_INSPECTION_HPROF_WRITER_H_
#define KILN_INSPECTION_HPROF_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "inspection/byte_sink.h"
#include "inspection/hprof_format.h"

namespace kiln {

class HprofWriter {
 public:
  static constexpr size_t kSegmentSize = size_t{1} << 20;

  explicit HprofWriter(ByteSink* sink, size_t buffer_size = kSegmentSize + (64 << 10));
  HprofWriter(const HprofWriter&) = delete;
  HprofWriter& operator=(const HprofWriter&) = delete;

  void WriteHeader(uint64_t milliseconds);

  // A top-level record (not a heap dump segment): its length is backfilled.
  void BeginRecord(hprof::Tag tag);
  void EndRecord();

  // BeginSubRecord starts a heap dump sub-record of exactly `size` bytes,
  // tag included, opening or rolling over a segment as needed. The caller
  // then writes exactly size - 1 bytes.
  void BeginSubRecord(hprof::SubTag tag, size_t size);
  // EndHeapDump closes the open segment and writes HEAP_DUMP_END.
  void EndHeapDump();

  void U1(uint8_t v) { Put(&v, 1); }
  void U2(uint16_t v);
  void U4(uint32_t v);
  void U8(uint64_t v);
  void Id(uint64_t id) { U8(id); }
  void Bytes(const void* data, size_t size) { Put(static_cast<const uint8_t*>(data), size); }
  void Bytes(absl::string_view text) { Bytes(text.data(), text.size()); }

  // Finish flushes and returns the first error, if any.
  absl::Status Finish();
  uint64_t bytes_written() const { return flushed_ + used_; }
  bool ok() const { return status_.ok(); }

 private:
  void Put(const uint8_t* data, size_t size);
  void Flush();
  void CloseSegment();
  void PatchU4(size_t at, uint32_t value);

  ByteSink* const sink_;
  const size_t capacity_;
  std::unique_ptr<uint8_t[]> buffer_;
  size_t used_ = 0;
  uint64_t flushed_ = 0;
  absl::Status status_;

  static constexpr size_t kNone = ~size_t{0};
  size_t record_length_at_ = kNone;   // open top-level record's length field
  size_t segment_length_at_ = kNone;  // open segment's length field
  size_t segment_bytes_ = 0;          // sub-record bytes in the open segment
  size_t direct_remaining_ = 0;       // bytes of an oversized sub-record to stream
};

}  // namespace kiln

#endif  // KILN_INSPECTION_HPROF_WRITER_H_
