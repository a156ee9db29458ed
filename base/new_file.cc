#include "base/new_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace kiln {
namespace {

// TemporaryPath: a name beside `path`, unique within the process.
std::string TemporaryPath(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return absl::StrCat(dir, ".", base, ".", getpid(), ".", counter.fetch_add(1), ".tmp");
}

}  // namespace

absl::Status ErrnoError(int error, absl::string_view what, absl::string_view step,
                        absl::string_view path) {
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat(what, ": ", step, " ", path, ": ", std::strerror(error)));
}

absl::StatusOr<std::unique_ptr<NewFile>> NewFile::Create(const std::string& path,
                                                         absl::string_view what) {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": empty path"));
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat(what, ": ", path, " already exists; not overwriting it"));
  }
  std::string temporary = TemporaryPath(path);
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      0600);
  if (fd < 0) return ErrnoError(errno, what, "creating", temporary);
  return std::unique_ptr<NewFile>(
      new NewFile(path, std::move(temporary), std::string(what), fd));
}

NewFile::~NewFile() {
  if (!committed_) Discard();
}

absl::Status NewFile::Error(int error, absl::string_view step, absl::string_view path) const {
  return ErrnoError(error, what_, step, path);
}

void NewFile::Discard() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  unlink(temporary_.c_str());
}

absl::Status NewFile::Commit() {
  const int fd = fd_;
  fd_ = -1;
  absl::Status status;
  if (close(fd) != 0) status = Error(errno, "closing", temporary_);
  if (status.ok() && renameat2(AT_FDCWD, temporary_.c_str(), AT_FDCWD, path_.c_str(),
                               RENAME_NOREPLACE) != 0) {
    status = Error(errno, "renaming the finished file to", path_);
  }
  if (!status.ok()) {
    unlink(temporary_.c_str());
    return status;
  }
  committed_ = true;
  return absl::OkStatus();
}

}  // namespace kiln
