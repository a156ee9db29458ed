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

// Directory: the directory part of `path`, "." when it has none.
std::string Directory(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

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
                                                         absl::string_view what, Naming naming) {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": empty path"));
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat(what, ": ", path, " already exists; not overwriting it"));
  }
  // Unnamed first. Any failure falls through to the named temporary, whose
  // own error (if it fails too) names a file the user can look for.
  if (naming == Naming::kUnnamedWherePossible) {
    const int fd = open(Directory(path).c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) return std::unique_ptr<NewFile>(new NewFile(path, "", std::string(what), fd));
  }
  std::string temporary = TemporaryPath(path);
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      0600);
  if (fd < 0) return ErrnoError(errno, what, "creating", temporary);
  return std::unique_ptr<NewFile>(
      new NewFile(path, std::move(temporary), std::string(what), fd));
}

NewFile::NewFile(std::string path, std::string temporary, std::string what, int fd)
    : path_(std::move(path)),
      temporary_(std::move(temporary)),
      writing_name_(temporary_.empty() ? absl::StrCat(path_, " (unfinished)") : temporary_),
      what_(std::move(what)),
      fd_(fd) {}

NewFile::~NewFile() {
  if (!committed_) Discard();
}

absl::Status NewFile::Error(int error, absl::string_view step, absl::string_view path) const {
  return ErrnoError(error, what_, step, path);
}

void NewFile::Discard() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (!unnamed()) unlink(temporary_.c_str());
}

// Link names the unnamed file path_: through /proc/self/fd, which needs no
// privilege, or else by its descriptor (AT_EMPTY_PATH, which needs
// CAP_DAC_READ_SEARCH) where /proc is not mounted. Neither replaces a file.
absl::Status NewFile::Link() {
  const std::string proc = absl::StrCat("/proc/self/fd/", fd_);
  if (linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, path_.c_str(), AT_SYMLINK_FOLLOW) == 0) {
    return absl::OkStatus();
  }
  const int error = errno;
  if (error == ENOENT && linkat(fd_, "", AT_FDCWD, path_.c_str(), AT_EMPTY_PATH) == 0) {
    return absl::OkStatus();
  }
  return Error(error, "linking the finished file in as", path_);
}

absl::Status NewFile::Commit() {
  absl::Status status;
  if (unnamed()) status = Link();
  const int fd = fd_;
  fd_ = -1;
  if (close(fd) != 0 && status.ok()) {
    status = Error(errno, "closing", writing_name_);
    if (unnamed()) unlink(path_.c_str());  // linked just now, but not complete
  }
  if (status.ok() && !unnamed() &&
      renameat2(AT_FDCWD, temporary_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE) != 0) {
    status = Error(errno, "renaming the finished file to", path_);
  }
  if (!status.ok()) {
    if (!unnamed()) unlink(temporary_.c_str());
    return status;
  }
  committed_ = true;
  return absl::OkStatus();
}

}  // namespace kiln
