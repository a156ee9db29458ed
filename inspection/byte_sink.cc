#include "inspection/byte_sink.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace kiln {

absl::Status FdSink::Write(absl::Span<const uint8_t> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = errno;
      error_offset_ = written_ + done;
      if (allocation_free_errors_) return absl::Status(absl::ErrnoToStatusCode(error_), "");
      return ErrorStatus(error_, error_offset_);
    }
    done += static_cast<size_t>(n);
  }
  written_ += done;
  return absl::OkStatus();
}

absl::Status FdSink::ErrorStatus(int error, uint64_t at) const {
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat("writing ", what_, " at byte ", at, ": ", std::strerror(error)));
}

absl::Status MemorySink::Write(absl::Span<const uint8_t> bytes) {
  if (data_.size() + bytes.size() > limit_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("writing to memory: limit of ", limit_, " bytes reached"));
  }
  data_.insert(data_.end(), bytes.begin(), bytes.end());
  return absl::OkStatus();
}

}  // namespace kiln
