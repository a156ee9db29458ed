// GzipSink: HotSpot's compressed heap-dump format. The bytes are cut into
// blocks of 1 MiB, each compressed as an independent gzip member; the first
// member's header carries the comment "HPROF BLOCKSIZE=1048576", so readers
// that know the format can seek block by block, and plain `gzip -d`
// restores the whole file.
//
// One deflate stream is set up at construction and reset for every block, so
// writing allocates nothing (zlib's state and both buffers exist up front):
// a fork-mode dump's child may compress.
#ifndef KILN_INSPECTION_HPROF_GZIP_SINK_H_
#define KILN_INSPECTION_HPROF_GZIP_SINK_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "base/must_use.h"
#include "inspection/hprof/byte_sink.h"

struct z_stream_s;

namespace kiln {

class GzipSink : public ByteSink {
 public:
  static constexpr size_t kBlockSize = size_t{1} << 20;

  // GzipSink compresses at `level` (1..9) into `out`.
  GzipSink(ByteSink* out, int level);
  ~GzipSink() override;

  KILN_MUST_USE absl::Status Write(absl::Span<const uint8_t> bytes) override;
  // Finish compresses the last, partial block. Call once, after the last Write.
  KILN_MUST_USE absl::Status Finish();
  uint64_t bytes_written() const override { return accepted_; }

  // In a forked child nothing may allocate, and a Status message does: after
  // set_allocation_free_errors(), a zlib failure returns InternalError with
  // no message, and failure() names it (a string literal; nullptr: none).
  void set_allocation_free_errors() { allocation_free_errors_ = true; }
  const char* failure() const { return failure_; }

 private:
  KILN_MUST_USE absl::Status CompressBlock();
  KILN_MUST_USE absl::Status Fail(const char* what, int zlib_result);

  ByteSink* const out_;
  const int level_;
  std::unique_ptr<z_stream_s> stream_;
  bool stream_ready_ = false;  // deflateInit2 succeeded
  int init_result_ = 0;        // what deflateInit2 returned
  std::vector<uint8_t> block_;
  std::vector<uint8_t> compressed_;
  uint64_t accepted_ = 0;
  bool first_ = true;
  bool allocation_free_errors_ = false;
  const char* failure_ = nullptr;
};

}  // namespace kiln

#endif  // KILN_INSPECTION_HPROF_GZIP_SINK_H_
