#include "inspection/hprof/gzip_sink.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "zlib.h"

namespace kiln {

GzipSink::GzipSink(ByteSink* out, int level)
    : out_(out), level_(level), stream_(std::make_unique<z_stream_s>()) {
  KILN_CHECK(level >= 1 && level <= 9, "gzip level ", level, " is not 1..9");
  block_.reserve(kBlockSize);
  compressed_.resize(compressBound(kBlockSize) + 256);
  std::memset(stream_.get(), 0, sizeof(z_stream_s));
  // windowBits 15 + 16: a gzip header and trailer around the deflate data.
  init_result_ = deflateInit2(stream_.get(), level_, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  stream_ready_ = init_result_ == Z_OK;
}

GzipSink::~GzipSink() {
  if (stream_ready_) deflateEnd(stream_.get());
}

absl::Status GzipSink::Write(absl::Span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    const size_t n = std::min(bytes.size(), kBlockSize - block_.size());
    block_.insert(block_.end(), bytes.begin(), bytes.begin() + n);
    bytes.remove_prefix(n);
    accepted_ += n;
    if (block_.size() == kBlockSize) RETURN_IF_ERROR(CompressBlock());
  }
  return absl::OkStatus();
}

absl::Status GzipSink::Finish() {
  if (!block_.empty() || first_) RETURN_IF_ERROR(CompressBlock());
  return absl::OkStatus();
}

absl::Status GzipSink::Fail(const char* what, int zlib_result) {
  failure_ = what;
  if (allocation_free_errors_) return absl::InternalError("");
  return absl::InternalError(absl::StrCat(what, " (", zlib_result, ")"));
}

absl::Status GzipSink::CompressBlock() {
  if (!stream_ready_) return Fail("gzip: deflateInit2 failed", init_result_);
  z_stream* stream = stream_.get();
  if (const int result = deflateReset(stream); result != Z_OK) {
    return Fail("gzip: deflateReset failed", result);
  }
  // The first member's header carries the comment; later ones the default
  // header (a null gz_header).
  static char kComment[] = "HPROF BLOCKSIZE=1048576";
  gz_header header;
  std::memset(&header, 0, sizeof(header));
  header.comment = reinterpret_cast<Bytef*>(kComment);
  if (const int result = deflateSetHeader(stream, first_ ? &header : Z_NULL); result != Z_OK) {
    return Fail("gzip: deflateSetHeader failed", result);
  }
  stream->next_in = block_.data();
  stream->avail_in = static_cast<uInt>(block_.size());
  stream->next_out = compressed_.data();
  stream->avail_out = static_cast<uInt>(compressed_.size());
  const int result = deflate(stream, Z_FINISH);
  const size_t produced = compressed_.size() - stream->avail_out;
  if (result != Z_STREAM_END) return Fail("gzip: deflate failed", result);
  first_ = false;
  block_.clear();
  return out_->Write(absl::MakeConstSpan(compressed_.data(), produced));
}

}  // namespace kiln
