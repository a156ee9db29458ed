#include "inspection/hprof/block_compressor.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "isa-l/crc.h"
#include "isa-l/igzip_lib.h"
#include "libdeflate.h"
#include "zlib.h"

namespace kiln {
namespace {

constexpr size_t kHeaderBytes = 10;
constexpr size_t kTrailerBytes = 8;
constexpr size_t kMaxComment = 256;

void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

class ZlibCompressor : public BlockCompressor {
 public:
  bool Init(int level) {
    std::memset(&stream_, 0, sizeof(stream_));
    // windowBits -15: raw deflate; the member's header and trailer are ours.
    ready_ = deflateInit2(&stream_, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    return ready_;
  }
  ~ZlibCompressor() override {
    if (ready_) deflateEnd(&stream_);
  }

 protected:
  size_t Deflate(absl::Span<const uint8_t> in, absl::Span<uint8_t> out) override {
    if (deflateReset(&stream_) != Z_OK) return 0;
    stream_.next_in = const_cast<Bytef*>(in.data());
    stream_.avail_in = static_cast<uInt>(in.size());
    stream_.next_out = out.data();
    stream_.avail_out = static_cast<uInt>(out.size());
    if (deflate(&stream_, Z_FINISH) != Z_STREAM_END) return 0;
    return out.size() - stream_.avail_out;
  }
  uint32_t Crc32(absl::Span<const uint8_t> in) override {
    return static_cast<uint32_t>(crc32(0, in.data(), static_cast<uInt>(in.size())));
  }

 private:
  z_stream stream_;
  bool ready_ = false;
};

class LibdeflateCompressor : public BlockCompressor {
 public:
  bool Init(int level) {
    compressor_ = libdeflate_alloc_compressor(level);
    return compressor_ != nullptr;
  }
  ~LibdeflateCompressor() override {
    if (compressor_ != nullptr) libdeflate_free_compressor(compressor_);
  }

 protected:
  size_t Deflate(absl::Span<const uint8_t> in, absl::Span<uint8_t> out) override {
    return libdeflate_deflate_compress(compressor_, in.data(), in.size(), out.data(), out.size());
  }
  uint32_t Crc32(absl::Span<const uint8_t> in) override {
    return libdeflate_crc32(0, in.data(), in.size());
  }

 private:
  libdeflate_compressor* compressor_ = nullptr;
};

class IsalCompressor : public BlockCompressor {
 public:
  bool Init(int level) {
    level_ = static_cast<uint32_t>(std::min(level, 3));
    static constexpr uint32_t kLevelBuf[] = {0, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT,
                                             ISAL_DEF_LVL3_DEFAULT};
    level_buf_.resize(kLevelBuf[level_]);
    return true;
  }

 protected:
  size_t Deflate(absl::Span<const uint8_t> in, absl::Span<uint8_t> out) override {
    isal_zstream stream;
    isal_deflate_stateless_init(&stream);
    stream.level = level_;
    stream.level_buf = level_buf_.empty() ? nullptr : level_buf_.data();
    stream.level_buf_size = static_cast<uint32_t>(level_buf_.size());
    stream.gzip_flag = IGZIP_DEFLATE;
    stream.end_of_stream = 1;
    stream.flush = NO_FLUSH;
    stream.next_in = const_cast<uint8_t*>(in.data());
    stream.avail_in = static_cast<uint32_t>(in.size());
    stream.next_out = out.data();
    stream.avail_out = static_cast<uint32_t>(out.size());
    if (isal_deflate_stateless(&stream) != COMP_OK) return 0;
    return out.size() - stream.avail_out;
  }
  uint32_t Crc32(absl::Span<const uint8_t> in) override {
    return crc32_gzip_refl(0, in.data(), in.size());
  }

 private:
  uint32_t level_ = 1;
  std::vector<uint8_t> level_buf_;
};

}  // namespace

const char* DeflaterName(Deflater deflater) {
  switch (deflater) {
    case Deflater::kZlib: return "zlib";
    case Deflater::kLibdeflate: return "libdeflate";
    case Deflater::kIsal: return "isal";
  }
  return "?";
}

bool ParseDeflater(absl::string_view name, Deflater* deflater) {
  for (Deflater d : {Deflater::kZlib, Deflater::kLibdeflate, Deflater::kIsal}) {
    if (name == DeflaterName(d)) {
      *deflater = d;
      return true;
    }
  }
  return false;
}

absl::StatusOr<std::unique_ptr<BlockCompressor>> BlockCompressor::Create(Deflater deflater,
                                                                          int level) {
  if (level < 1 || level > 9) {
    return absl::InvalidArgumentError(absl::StrCat("gzip level ", level, " is not 1..9"));
  }
  bool ok = false;
  std::unique_ptr<BlockCompressor> compressor;
  switch (deflater) {
    case Deflater::kZlib: {
      auto z = std::make_unique<ZlibCompressor>();
      ok = z->Init(level);
      compressor = std::move(z);
      break;
    }
    case Deflater::kLibdeflate: {
      auto d = std::make_unique<LibdeflateCompressor>();
      ok = d->Init(level);
      compressor = std::move(d);
      break;
    }
    case Deflater::kIsal: {
      auto i = std::make_unique<IsalCompressor>();
      ok = i->Init(level);
      compressor = std::move(i);
      break;
    }
  }
  if (!ok) {
    return absl::InternalError(
        absl::StrCat("gzip: setting up ", DeflaterName(deflater), " at level ", level, " failed"));
  }
  return compressor;
}

size_t BlockCompressor::Bound(size_t in_bytes) {
  // Stored blocks in the worst case: 5 bytes per 16 KiB or so; zlib's
  // compressBound is larger than all three libraries' own bounds.
  return compressBound(static_cast<uLong>(in_bytes)) + 64 + kHeaderBytes + kMaxComment + 1 +
         kTrailerBytes;
}

absl::StatusOr<size_t> BlockCompressor::Compress(absl::Span<const uint8_t> in,
                                                 absl::string_view comment,
                                                 absl::Span<uint8_t> out) {
  if (comment.size() > kMaxComment || out.size() < Bound(in.size())) {
    return absl::InternalError("gzip: output buffer too small");
  }
  uint8_t* p = out.data();
  // RFC 1952: ID1 ID2 CM FLG MTIME(4) XFL OS; FLG bit 4 is FCOMMENT.
  const uint8_t flags = comment.empty() ? 0 : 0x10;
  const uint8_t header[kHeaderBytes] = {0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3};
  std::memcpy(p, header, kHeaderBytes);
  p += kHeaderBytes;
  if (!comment.empty()) {
    std::memcpy(p, comment.data(), comment.size());
    p += comment.size();
    *p++ = 0;
  }
  const size_t room = static_cast<size_t>(out.data() + out.size() - p) - kTrailerBytes;
  const size_t deflated = Deflate(in, absl::MakeSpan(p, room));
  if (deflated == 0) return absl::InternalError("gzip: deflate failed");
  p += deflated;
  PutU32(p, Crc32(in));
  PutU32(p + 4, static_cast<uint32_t>(in.size()));
  p += kTrailerBytes;
  return static_cast<size_t>(p - out.data());
}

}  // namespace kiln
