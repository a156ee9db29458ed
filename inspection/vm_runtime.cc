#include "inspection/vm_runtime.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "inspection/byte_sink.h"
#include "inspection/hprof_writer.h"

namespace kiln {
namespace {

absl::Status ErrnoStatus(int error, absl::string_view step, absl::string_view path) {
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat("heap dump: ", step, " ", path, ": ", std::strerror(error)));
}

// TemporaryPath: a name beside `path`, unique within the process.
std::string TemporaryPath(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return absl::StrCat(dir, ".", base, ".", getpid(), ".", counter.fetch_add(1), ".tmp");
}

class DumpOperation : public VmOperation {
 public:
  DumpOperation(bool live, HprofWriter& writer)
      : VmOperation(live ? "heap dump (live)" : "heap dump (full)"), live_(live), writer_(writer) {}
  void Doit(StoppedWorld& world) override { status = WriteHeapDump(world, live_, writer_, &stats); }

  absl::Status status;
  HeapDumpStats stats;

 private:
  const bool live_;
  HprofWriter& writer_;
};

}  // namespace

absl::Status VMRuntime::DumpHeap(Runtime& runtime, const std::string& path, bool live,
                                 HeapDumpStats* stats) {
  const absl::Time start = absl::Now();
  if (path.empty()) return absl::InvalidArgumentError("heap dump: empty path");
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("heap dump: ", path, " already exists; not overwriting it"));
  }
  const std::string temporary = TemporaryPath(path);
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      0600);
  if (fd < 0) return ErrnoStatus(errno, "creating", temporary);

  absl::Status status;
  HeapDumpStats written;
  {
    FdSink sink(fd, temporary);
    HprofWriter writer(&sink);  // its buffer is allocated before the world stops
    DumpOperation op(live, writer);
    status = runtime.Execute(op);
    if (status.ok()) status = op.status;
    written = op.stats;
  }
  if (close(fd) != 0 && status.ok()) status = ErrnoStatus(errno, "closing", temporary);
  if (status.ok() && renameat2(AT_FDCWD, temporary.c_str(), AT_FDCWD, path.c_str(),
                               RENAME_NOREPLACE) != 0) {
    status = ErrnoStatus(errno, "renaming the finished dump to", path);
  }
  if (!status.ok()) {
    unlink(temporary.c_str());
    return status;
  }
  if (stats != nullptr) *stats = written;
  std::fprintf(stderr, "Heap dump file created [%llu bytes in %.3f secs]\n",
               static_cast<unsigned long long>(written.bytes),
               absl::ToDoubleSeconds(absl::Now() - start));
  return absl::OkStatus();
}

}  // namespace kiln
