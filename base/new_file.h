// NewFile: a file that appears under its name only once it is complete, the
// guarantee heap dumps give (ARCHITECTURE.md, "Heap dumps") and kiln-ctl gives the
// dumps it receives.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<NewFile> file, NewFile::Create(path, "heap dump"));
//   ... write(file->fd(), ...) ...
//   RETURN_IF_ERROR(file->Commit());  // renamed to `path`, never over a file
//
// Create refuses an existing `path` (AlreadyExists) and opens the file
// unnamed, in `path`'s directory (O_TMPFILE, mode 0600): until Commit it has
// no name at all, so a process killed mid-write (SIGKILL, the OOM killer)
// leaves nothing behind. Commit links it in under `path` with linkat, which
// never replaces a file that appeared meanwhile (AlreadyExists). Where the
// file system or kernel has no O_TMPFILE, the file is a temporary beside
// `path` instead, ".<name>.<pid>.<n>.tmp": created new (O_EXCL, so never a
// file someone else made), mode 0600, never through a symlink (O_NOFOLLOW),
// and renamed into place with RENAME_NOREPLACE; only a killed process can
// leave that one. A NewFile destroyed without a successful Commit is closed
// and (if named) its temporary removed: a failure leaves nothing. Errors
// name `what`, the step and the path.
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
  // How the file is kept until Commit: unnamed where the kernel and file
  // system allow (the default), or always as a named temporary (the
  // fallback, chosen explicitly only by tests).
  enum class Naming { kUnnamedWherePossible, kTemporaryName };

  KILN_MUST_USE static absl::StatusOr<std::unique_ptr<NewFile>> Create(
      const std::string& path, absl::string_view what,
      Naming naming = Naming::kUnnamedWherePossible);
  ~NewFile();
  NewFile(const NewFile&) = delete;
  NewFile& operator=(const NewFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // The file while it is being written, for messages: the temporary's path,
  // or path() marked unfinished when the file is unnamed.
  const std::string& writing_name() const { return writing_name_; }
  // Whether the file is unnamed until Commit (O_TMPFILE).
  bool unnamed() const { return temporary_.empty(); }

  // Commit: gives the file its name, path(), and closes it. After a failure
  // nothing is left under either name.
  KILN_MUST_USE absl::Status Commit();

 private:
  NewFile(std::string path, std::string temporary, std::string what, int fd);
  KILN_MUST_USE absl::Status Error(int error, absl::string_view step, absl::string_view path) const;
  KILN_MUST_USE absl::Status Link();
  void Discard();

  const std::string path_;
  const std::string temporary_;  // empty when unnamed
  const std::string writing_name_;
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
