// NewFile: a file that appears under its name only once it is complete, the
// guarantee heap dumps give (ARCHITECTURE.md, "Heap dumps") and kiln-ctl gives the
// dumps it receives.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<NewFile> file, NewFile::Create(path, "heap dump"));
//   ... write(file->fd(), ...) ...
//   RETURN_IF_ERROR(file->Commit());  // renamed to `path`, never over a file
//
// Create refuses an existing `path` (AlreadyExists), and opens a temporary
// file beside it, in the same directory, named ".<name>.<pid>.<n>.tmp":
// created new (O_EXCL, so never a file someone else made), with mode 0600,
// never through a symlink (O_NOFOLLOW). Commit closes it and renames it into
// place with RENAME_NOREPLACE, so a file that appeared meanwhile is not
// replaced (AlreadyExists). A NewFile destroyed without a successful Commit
// is closed and its temporary removed: a failure leaves nothing behind.
// Errors name `what`, the step and the path.
#ifndef KILN_BASE_NEW_FILE_H_
#define KILN_BASE_NEW_FILE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/must_use.h"

namespace kiln {

class NewFile {
 public:
  KILN_MUST_USE static absl::StatusOr<std::unique_ptr<NewFile>> Create(const std::string& path,
                                                         absl::string_view what);
  ~NewFile();
  NewFile(const NewFile&) = delete;
  NewFile& operator=(const NewFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  const std::string& temporary_path() const { return temporary_; }

  // Commit: closes the file and renames it to path(). After a failure the
  // temporary is removed.
  KILN_MUST_USE absl::Status Commit();

 private:
  NewFile(std::string path, std::string temporary, std::string what, int fd)
      : path_(std::move(path)), temporary_(std::move(temporary)), what_(std::move(what)),
        fd_(fd) {}
  KILN_MUST_USE absl::Status Error(int error, absl::string_view step, absl::string_view path) const;
  void Discard();

  const std::string path_;
  const std::string temporary_;
  const std::string what_;
  int fd_;
  bool committed_ = false;
};

// ErrnoError: "<what>: <step> <path>: <strerror(error)>", with the code errno
// maps to.
KILN_MUST_USE absl::Status ErrnoError(int error, absl::string_view what, absl::string_view step,
                        absl::string_view path);

}  // namespace kiln

#endif  // KILN_BASE_NEW_FILE_H_
