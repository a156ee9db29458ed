#include "tests/pipe_capture.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/time/clock.h"
#include "base/check.h"

namespace kiln::testing {

PipeCapture::PipeCapture() {
  int fds[2];
  KILN_CHECK(pipe2(fds, O_CLOEXEC) == 0, "pipe: ", strerror(errno));
  read_fd_ = fds[0];
  write_fd_ = fds[1];
  reader_ = std::thread([this] {
    char buffer[4096];
    for (;;) {
      const ssize_t n = read(read_fd_, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      MutexLock lock(&mu_);
      if (n <= 0) {
        closed_ = true;
        cv_.SignalAll();
        return;
      }
      text_.append(buffer, n);
      cv_.SignalAll();
    }
  });
}

PipeCapture::~PipeCapture() {
  CloseWriteEnd();
  reader_.join();
  close(read_fd_);
}

void PipeCapture::CloseWriteEnd() {
  if (write_fd_ >= 0) close(write_fd_);
  write_fd_ = -1;
}

bool PipeCapture::WaitForEof(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  MutexLock lock(&mu_);
  while (!closed_) {
    if (absl::Now() >= deadline) return false;
    cv_.WaitWithTimeout(&mu_, absl::Milliseconds(100));
  }
  return true;
}

bool PipeCapture::WaitFor(absl::string_view needle, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  const std::string wanted(needle);
  MutexLock lock(&mu_);
  for (;;) {
    const size_t at = text_.find(wanted);
    if (at != std::string::npos && text_.find('\n', at + wanted.size() - 1) != std::string::npos) {
      return true;
    }
    if (closed_ || absl::Now() >= deadline) return false;
    cv_.WaitWithTimeout(&mu_, absl::Milliseconds(100));
  }
}

std::string PipeCapture::text() {
  MutexLock lock(&mu_);
  return text_;
}

}  // namespace kiln::testing
