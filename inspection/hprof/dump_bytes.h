// DumpBytes: the bytes of a heap dump file, read-only and memory-mapped, with
// gzip-compressed files (plain gzip, or HotSpot's block format from
// `jcmd GC.heap_dump -gz=N`, a sequence of independent gzip members)
// inflated transparently into anonymous memory.
//
//   ASSIGN_OR_RETURN(DumpBytes bytes, DumpBytes::Open("/tmp/app.hprof.gz"));
//   absl::Span<const uint8_t> hprof = bytes.bytes();  // the uncompressed HPROF
//
// Why a mapping and not a std::vector: a dump may be many GiB. A plain file
// is mapped straight from the page cache (no copy at all); an inflated one
// grows an anonymous mapping with mremap, which moves page tables rather than
// copying bytes, so the peak is the uncompressed size, never twice it.
// Errors in the compressed stream name their offset in the compressed file:
// "gzip offset N: ...". Offsets in HPROF errors are in the uncompressed bytes.
#ifndef KILN_INSPECTION_HPROF_DUMP_BYTES_H_
#define KILN_INSPECTION_HPROF_DUMP_BYTES_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "base/must_use.h"

namespace kiln {

// DumpProgress: called now and then while a file is read, with the bytes done
// and the total (both counted in the file as stored, compressed or not).
using DumpProgress = std::function<void(uint64_t done, uint64_t total)>;

class DumpBytes {
 public:
  DumpBytes() = default;
  DumpBytes(DumpBytes&& other) noexcept { *this = std::move(other); }
  DumpBytes& operator=(DumpBytes&& other) noexcept;
  DumpBytes(const DumpBytes&) = delete;
  DumpBytes& operator=(const DumpBytes&) = delete;
  ~DumpBytes();

  // Open maps `path`; if it starts with the gzip magic (1f 8b) it is inflated.
  // `progress` (optional) follows the inflation, which is the slow part.
  KILN_MUST_USE static absl::StatusOr<DumpBytes> Open(const std::string& path,
                                                      const DumpProgress& progress = nullptr);

  // Inflate decompresses `compressed`, every gzip member of it, into a new
  // anonymous mapping.
  KILN_MUST_USE static absl::StatusOr<DumpBytes> Inflate(absl::Span<const uint8_t> compressed,
                                                         const DumpProgress& progress = nullptr);

  // IsGzip: whether `bytes` starts with the gzip magic.
  static bool IsGzip(absl::Span<const uint8_t> bytes) {
    return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
  }

  absl::Span<const uint8_t> bytes() const {
    return absl::MakeConstSpan(static_cast<const uint8_t*>(data_), size_);
  }
  // stored_size: the size of the file as stored (compressed, if it was).
  uint64_t stored_size() const { return stored_size_; }
  bool compressed() const { return compressed_; }

  // Evict: a hint that bytes [begin, end) will not be read again soon. A
  // mapped file's whole pages in the range leave this process's resident set
  // (a later read maps them again from the page cache; the bytes never
  // change); inflated bytes live only in memory and stay.
  void Evict(uint64_t begin, uint64_t end) const;

 private:
  void Release();

  void* data_ = nullptr;
  uint64_t size_ = 0;
  uint64_t mapped_ = 0;  // bytes mapped at data_ (a multiple of the page size)
  uint64_t stored_size_ = 0;
  bool compressed_ = false;
};

}  // namespace kiln

#endif  // KILN_INSPECTION_HPROF_DUMP_BYTES_H_
