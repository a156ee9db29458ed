#include "inspection/hprof/hprof_writer.h"

#include <cstring>

#include "base/check.h"

namespace kiln {

HprofWriter::HprofWriter(ByteSink* sink, size_t buffer_size)
    : sink_(sink), capacity_(buffer_size), own_(new uint8_t[buffer_size]), buf_(own_.get()) {
  KILN_CHECK(buffer_size >= (64 << 10), "HPROF buffer of ", buffer_size, " bytes is too small");
}

void HprofWriter::WriteHeader(uint64_t milliseconds) {
  Bytes(hprof::kMagic, sizeof(hprof::kMagic));  // with its NUL
  U4(hprof::kIdSize);
  U8(milliseconds);
}

void HprofWriter::PatchU4(size_t at, uint32_t v) {
  buf_[at] = static_cast<uint8_t>(v >> 24);
  buf_[at + 1] = static_cast<uint8_t>(v >> 16);
  buf_[at + 2] = static_cast<uint8_t>(v >> 8);
  buf_[at + 3] = static_cast<uint8_t>(v);
}

void HprofWriter::PutSlow(const uint8_t* data, size_t size) {
  while (size > 0 && status_.ok()) {
    if (used_ == capacity_) {
      // Only streamed (oversized) sub-records may outgrow the buffer; every
      // length still to be patched lives inside it.
      KILN_CHECK(record_length_at_ == kNone && segment_length_at_ == kNone,
                 "HPROF record larger than the writer's buffer");
      Flush();
      continue;
    }
    const size_t n = std::min(size, capacity_ - used_);
    std::memcpy(buf_ + used_, data, n);
    used_ += n;
    data += n;
    size -= n;
  }
}

void HprofWriter::Flush() {
  if (used_ == 0 || !status_.ok()) return;
  Submit();
  const absl::Span<uint8_t> lent =
      status_.ok() ? sink_->LendBuffer(capacity_) : absl::Span<uint8_t>();
  if (!lent.empty()) {
    lent_ = true;
    buf_ = lent.data();
  }
}

void HprofWriter::Submit() {
  if (status_.ok() && (used_ > 0 || lent_)) {
    status_ = lent_ ? sink_->SubmitBuffer(used_) : sink_->Write(absl::MakeConstSpan(buf_, used_));
    flushed_ += used_;
    used_ = 0;
  }
  // Never fill a buffer we do not hold (the fast paths write even after an
  // error).
  lent_ = false;
  buf_ = own_.get();
}

void HprofWriter::BeginRecord(hprof::Tag tag) {
  KILN_CHECK(segment_length_at_ == kNone && record_length_at_ == kNone,
             "HPROF record begun inside another record or a heap dump segment");
  if (used_ > capacity_ / 2) Flush();
  U1(tag);
  U4(0);  // microseconds since the header: Kiln writes 0
  record_length_at_ = used_;
  U4(0);  // length, backfilled by EndRecord
}

void HprofWriter::EndRecord() {
  KILN_CHECK(record_length_at_ != kNone, "EndRecord without BeginRecord");
  PatchU4(record_length_at_, static_cast<uint32_t>(used_ - record_length_at_ - 4));
  record_length_at_ = kNone;
}

void HprofWriter::BeginSubRecord(hprof::SubTag tag, size_t size) {
  KILN_CHECK(record_length_at_ == kNone, "heap dump sub-record inside a top-level record");
  if (size + hprof::kRecordHeaderSize > capacity_) {
    // Too big for any buffered segment: a segment of its own, length known.
    CloseSegment();
    U1(hprof::kHeapDumpSegment);
    U4(0);
    U4(static_cast<uint32_t>(size));
    U1(tag);
    return;
  }
  if (segment_length_at_ != kNone && segment_bytes_ + size > kSegmentSize) CloseSegment();
  if (segment_length_at_ == kNone) {
    Flush();  // the segment then fits the buffer whole
    U1(hprof::kHeapDumpSegment);
    U4(0);
    segment_length_at_ = used_;
    U4(0);
    segment_bytes_ = 0;
  }
  segment_bytes_ += size;
  U1(tag);
}

uint8_t* HprofWriter::ReserveSubRecordSlow(hprof::SubTag tag, size_t size) {
  if (!status_.ok() || size + hprof::kRecordHeaderSize > capacity_) return nullptr;
  if (size > capacity_ - used_) CloseSegment();  // a small buffer: start afresh
  BeginSubRecord(tag, size);  // opens or rolls over the segment; flushes
  KILN_CHECK(size - 1 <= capacity_ - used_, "HPROF sub-record does not fit its segment");
  uint8_t* p = buf_ + used_;
  used_ += size - 1;
  return p;
}

void HprofWriter::CloseSegment() {
  if (segment_length_at_ == kNone) return;
  PatchU4(segment_length_at_, static_cast<uint32_t>(used_ - segment_length_at_ - 4));
  segment_length_at_ = kNone;
  Flush();
}

void HprofWriter::EndHeapDump() {
  CloseSegment();
  U1(hprof::kHeapDumpEnd);
  U4(0);
  U4(0);
}

absl::Status HprofWriter::Finish() {
  KILN_CHECK(record_length_at_ == kNone && segment_length_at_ == kNone,
             "HPROF writer finished inside a record");
  Submit();  // a lent buffer goes back, even empty
  return status_;
}

}  // namespace kiln
