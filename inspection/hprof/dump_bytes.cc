// DumpBytes: file mappings and gzip inflation into anonymous memory.
#include "inspection/hprof/dump_bytes.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "zlib.h"

namespace kiln {
namespace {

absl::Status ErrnoStatus(int error, const std::string& what) {
  return absl::Status(absl::ErrnoToStatusCode(error), absl::StrCat(what, ": ", std::strerror(error)));
}

uint64_t PageRound(uint64_t n) {
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return (n + page - 1) / page * page;
}

// Output: an anonymous read-write mapping that grows by doubling. mremap may
// move it, which remaps pages instead of copying them.
class Output {
 public:
  ~Output() {
    if (data_ != nullptr) munmap(data_, mapped_);
  }
  absl::Status Reserve(uint64_t bytes) {
    bytes = PageRound(std::max<uint64_t>(bytes, 1));
    void* p = data_ == nullptr
                  ? mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
                  : mremap(data_, mapped_, bytes, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) {
      return ErrnoStatus(errno, absl::StrCat("gzip: mapping ", bytes,
                                             " bytes for the uncompressed dump"));
    }
    data_ = static_cast<uint8_t*>(p);
    mapped_ = bytes;
    return absl::OkStatus();
  }
  uint8_t* data() const { return data_; }
  uint64_t mapped() const { return mapped_; }
  // Release hands the mapping over, trimmed to `size` and made read-only.
  void Release(uint64_t size, void** data, uint64_t* mapped) {
    const uint64_t keep = PageRound(std::max<uint64_t>(size, 1));
    if (keep < mapped_) {
      void* p = mremap(data_, mapped_, keep, 0);  // shrinking never moves
      if (p != MAP_FAILED) mapped_ = keep;
    }
    mprotect(data_, mapped_, PROT_READ);
    *data = data_;
    *mapped = mapped_;
    data_ = nullptr;
  }

 private:
  uint8_t* data_ = nullptr;
  uint64_t mapped_ = 0;
};

// ZStream: an inflating z_stream that is always ended.
struct ZStream {
  z_stream s;
  bool live = false;
  ZStream() { std::memset(&s, 0, sizeof(s)); }
  ~ZStream() {
    if (live) inflateEnd(&s);
  }
};

}  // namespace

DumpBytes& DumpBytes::operator=(DumpBytes&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
    stored_size_ = other.stored_size_;
    compressed_ = other.compressed_;
  }
  return *this;
}

DumpBytes::~DumpBytes() { Release(); }

void DumpBytes::Release() {
  if (data_ != nullptr) munmap(data_, mapped_);
  data_ = nullptr;
  size_ = mapped_ = 0;
}

void DumpBytes::Evict(uint64_t begin, uint64_t end) const {
  if (data_ == nullptr || compressed_) return;
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  begin = (begin + page - 1) / page * page;
  end = std::min(end, size_) / page * page;
  if (begin >= end) return;
  madvise(static_cast<uint8_t*>(data_) + begin, end - begin, MADV_DONTNEED);
}

absl::StatusOr<DumpBytes> DumpBytes::Open(const std::string& path,
                                          const DumpProgress& progress) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("opening ", path));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    return ErrnoStatus(error, absl::StrCat("stat ", path));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
  }
  DumpBytes file;
  file.stored_size_ = static_cast<uint64_t>(st.st_size);
  if (st.st_size > 0) {
    void* mapping = mmap(nullptr, file.stored_size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (mapping == MAP_FAILED) {
      const int error = errno;
      ::close(fd);
      return ErrnoStatus(error, absl::StrCat("mapping ", path));
    }
    file.data_ = mapping;
    file.size_ = file.stored_size_;
    file.mapped_ = file.stored_size_;
  }
  ::close(fd);
  if (!IsGzip(file.bytes())) return file;
  // Inflation reads the compressed file once, front to back.
  madvise(file.data_, file.mapped_, MADV_SEQUENTIAL);
  absl::StatusOr<DumpBytes> inflated = Inflate(file.bytes(), progress);
  if (!inflated.ok()) {
    return absl::Status(inflated.status().code(),
                        absl::StrCat(path, ": ", inflated.status().message()));
  }
  return inflated;
}

absl::StatusOr<DumpBytes> DumpBytes::Inflate(absl::Span<const uint8_t> compressed,
                                             const DumpProgress& progress) {
  Output out;
  // HPROF compresses about 3-8x; start at 4x and double as needed.
  RETURN_IF_ERROR(out.Reserve(std::max<uint64_t>(uint64_t{compressed.size()} * 4, 1 << 16)));
  ZStream z;
  // 16 + MAX_WBITS: expect a gzip header and trailer.
  if (inflateInit2(&z.s, 16 + MAX_WBITS) != Z_OK) return absl::InternalError("gzip: inflateInit2 failed");
  z.live = true;

  uint64_t in = 0, produced = 0, members = 0, next_report = 0;
  constexpr uint64_t kReportEvery = 16 << 20;
  bool member_open = false;
  while (true) {
    if (in == compressed.size()) {
      if (member_open) {
        return absl::DataLossError(absl::StrCat(
            "gzip offset ", in, ": truncated: the compressed data ends inside member ", members + 1));
      }
      break;
    }
    if (!member_open) {
      // Between members: another member, or trailing zero padding (which
      // gzip itself accepts), or garbage.
      if (!IsGzip(compressed.subspan(in))) {
        const bool zeros = std::all_of(compressed.begin() + in, compressed.end(),
                                       [](uint8_t b) { return b == 0; });
        if (members > 0 && zeros) break;
        return absl::DataLossError(absl::StrCat("gzip offset ", in, ": ",
                                                members == 0 ? "not a gzip file"
                                                             : "garbage after the last gzip member"));
      }
      member_open = true;
    }
    if (produced == out.mapped()) RETURN_IF_ERROR(out.Reserve(out.mapped() * 2));
    const uint64_t in_chunk = std::min<uint64_t>(compressed.size() - in, UINT_MAX);
    const uint64_t out_chunk = std::min<uint64_t>(out.mapped() - produced, UINT_MAX);
    z.s.next_in = const_cast<Bytef*>(compressed.data() + in);
    z.s.avail_in = static_cast<uInt>(in_chunk);
    z.s.next_out = out.data() + produced;
    z.s.avail_out = static_cast<uInt>(out_chunk);
    const int result = inflate(&z.s, Z_NO_FLUSH);
    in += in_chunk - z.s.avail_in;
    produced += out_chunk - z.s.avail_out;
    if (result == Z_STREAM_END) {
      ++members;
      member_open = false;
      inflateReset(&z.s);
    } else if (result == Z_BUF_ERROR) {
      // No progress possible: either the output is full (grown above) or the
      // input ran out (truncation, reported above).
      if (z.s.avail_out != 0 && in != compressed.size()) {
        return absl::DataLossError(absl::StrCat("gzip offset ", in, ": inflate made no progress"));
      }
    } else if (result != Z_OK) {
      return absl::DataLossError(absl::StrCat(
          "gzip offset ", in, ": member ", members + 1, ": ",
          z.s.msg != nullptr ? z.s.msg : absl::StrCat("zlib error ", result)));
    }
    if (progress && in >= next_report) {
      progress(in, compressed.size());
      next_report = in + kReportEvery;
    }
  }
  if (progress) progress(compressed.size(), compressed.size());
  DumpBytes bytes;
  bytes.stored_size_ = compressed.size();
  bytes.compressed_ = true;
  bytes.size_ = produced;
  out.Release(produced, &bytes.data_, &bytes.mapped_);
  return bytes;
}

}  // namespace kiln
