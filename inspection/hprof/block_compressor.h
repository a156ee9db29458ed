// BlockCompressor: one block of a compressed heap dump as one complete gzip
// member (header, raw deflate, CRC-32 and size), as HotSpot's block format
// wants (gzip_sink.h). Three deflate implementations at the same level:
// zlib, libdeflate and ISA-L's igzip; see benchmarks/README.md for how they
// compare on the heap shape, and kDefaultDeflater for the pick.
//
// Each compressor holds its state and scratch memory from construction on,
// so Compress allocates nothing. One compressor per thread.
#ifndef KILN_INSPECTION_HPROF_BLOCK_COMPRESSOR_H_
#define KILN_INSPECTION_HPROF_BLOCK_COMPRESSOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/must_use.h"

namespace kiln {

enum class Deflater { kZlib, kLibdeflate, kIsal };

// kDefaultDeflater: ISA-L's igzip. On the heap shape's dump (N = 4M, 376 MB)
// at level 1, one core: 3.2x zlib's speed at 1.07x zlib's size; libdeflate
// 1.6x zlib's speed at 0.98x its size (//benchmarks:deflate_benchmark;
// benchmarks/README.md). The size target is within 10% of zlib's: igzip
// meets it and is twice as fast as libdeflate.
inline constexpr Deflater kDefaultDeflater = Deflater::kIsal;

// DeflaterName: "zlib", "libdeflate", "isal".
const char* DeflaterName(Deflater deflater);
// ParseDeflater: the inverse; false if unknown.
bool ParseDeflater(absl::string_view name, Deflater* deflater);

class BlockCompressor {
 public:
  // Create: a compressor at `level` (1..9; ISA-L has levels 0..3 and takes
  // min(level, 3)). InvalidArgument for a bad level, Internal if the
  // library's state cannot be set up.
  KILN_MUST_USE static absl::StatusOr<std::unique_ptr<BlockCompressor>> Create(Deflater deflater, int level);
  virtual ~BlockCompressor() = default;

  // Bound: room enough in `out` for any block of `in_bytes`, with the
  // header's comment.
  static size_t Bound(size_t in_bytes);

  // Compress writes `in` as one gzip member into `out` (Bound(in.size())
  // bytes at least), with `comment` (may be empty: no FCOMMENT) in its
  // header, and returns the member's size.
  KILN_MUST_USE absl::StatusOr<size_t> Compress(absl::Span<const uint8_t> in, absl::string_view comment,
                                  absl::Span<uint8_t> out);

 protected:
  // Deflate: raw deflate of `in` into `out`; the size, or 0 on failure.
  virtual size_t Deflate(absl::Span<const uint8_t> in, absl::Span<uint8_t> out) = 0;
  virtual uint32_t Crc32(absl::Span<const uint8_t> in) = 0;
};

}  // namespace kiln

#endif  // KILN_INSPECTION_HPROF_BLOCK_COMPRESSOR_H_
