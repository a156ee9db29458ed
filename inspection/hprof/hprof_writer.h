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
// The writer allocates only its buffer (native memory), at construction, and
// takes no lock: a forked child may go on writing with it (fork-mode dumps).
// A sink that lends buffers (ByteSink::LendBuffer: PipelinedSink, the fork
// child's ring) is filled in place after the first flush, so the bytes are
// not copied again on their way to the write(2)s.
//
// Speed: U1..U8 and Bytes are inline copies into the buffer with an
// out-of-line slow path. The heap walk goes further: ReserveSubRecord hands
// out the whole sub-record's bytes at once, and the Store* helpers fill them
// big-endian (one bswap and one store per value).
#ifndef KILN_INSPECTION_HPROF_HPROF_WRITER_H_
#define KILN_INSPECTION_HPROF_HPROF_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "base/must_use.h"
#include "inspection/hprof/byte_sink.h"
#include "inspection/hprof/hprof_format.h"

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

  // ReserveSubRecord starts a heap dump sub-record of exactly `size` bytes,
  // tag included, like BeginSubRecord, and returns the buffer space for its
  // size - 1 body bytes, which the caller fills at once (Store*). Returns
  // nullptr, having written nothing, if the sub-record cannot sit whole in the
  // buffer: then BeginSubRecord and the streaming calls write it.
  uint8_t* ReserveSubRecord(hprof::SubTag tag, size_t size) {
    if (segment_length_at_ != kNone && segment_bytes_ + size <= kSegmentSize &&
        size <= capacity_ - used_) {
      segment_bytes_ += size;
      uint8_t* p = buf_ + used_;
      used_ += size;
      *p = tag;
      return p + 1;
    }
    return ReserveSubRecordSlow(tag, size);
  }

  // Big-endian stores into reserved space; each returns the next position.
  static uint8_t* StoreU1(uint8_t* p, uint8_t v) {
    *p = v;
    return p + 1;
  }
  static uint8_t* StoreU2(uint8_t* p, uint16_t v) {
    v = __builtin_bswap16(v);
    std::memcpy(p, &v, 2);
    return p + 2;
  }
  static uint8_t* StoreU4(uint8_t* p, uint32_t v) {
    v = __builtin_bswap32(v);
    std::memcpy(p, &v, 4);
    return p + 4;
  }
  static uint8_t* StoreU8(uint8_t* p, uint64_t v) {
    v = __builtin_bswap64(v);
    std::memcpy(p, &v, 8);
    return p + 8;
  }

  void U1(uint8_t v) { Put(&v, 1); }
  void U2(uint16_t v) {
    uint8_t bytes[2];
    StoreU2(bytes, v);
    Put(bytes, 2);
  }
  void U4(uint32_t v) {
    uint8_t bytes[4];
    StoreU4(bytes, v);
    Put(bytes, 4);
  }
  void U8(uint64_t v) {
    uint8_t bytes[8];
    StoreU8(bytes, v);
    Put(bytes, 8);
  }
  void Id(uint64_t id) { U8(id); }
  void Bytes(const void* data, size_t size) { Put(static_cast<const uint8_t*>(data), size); }
  void Bytes(absl::string_view text) { Bytes(text.data(), text.size()); }

  // Finish flushes and returns the first error, if any.
  KILN_MUST_USE absl::Status Finish();
  uint64_t bytes_written() const { return flushed_ + used_; }
  bool ok() const { return status_.ok(); }

 private:
  void Put(const uint8_t* data, size_t size) {
    if (size <= capacity_ - used_ && status_.ok()) {
      std::memcpy(buf_ + used_, data, size);
      used_ += size;
      return;
    }
    PutSlow(data, size);
  }
  void PutSlow(const uint8_t* data, size_t size);
  uint8_t* ReserveSubRecordSlow(hprof::SubTag tag, size_t size);
  // Flush hands the bytes to the sink (Submit), then fills a buffer the sink
  // lends (ByteSink::LendBuffer) if it lends one, else our own.
  void Flush();
  // Submit: the bytes to the sink (a lent buffer goes back, even empty);
  // then our own buffer is current.
  void Submit();
  void CloseSegment();
  void PatchU4(size_t at, uint32_t value);

  ByteSink* const sink_;
  const size_t capacity_;
  std::unique_ptr<uint8_t[]> own_;
  uint8_t* buf_;        // the buffer being filled: own_, or the sink's
  bool lent_ = false;   // buf_ is the sink's: Flush submits it
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

#endif  // KILN_INSPECTION_HPROF_HPROF_WRITER_H_
