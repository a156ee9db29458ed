// ByteSink: where an HPROF writer's bytes go. A file descriptor (a file or a
// pipe) or memory (tests), possibly through a writer thread (PipelinedSink);
// each reports I/O failures as a Status naming the step.
#ifndef KILN_INSPECTION_HPROF_BYTE_SINK_H_
#define KILN_INSPECTION_HPROF_BYTE_SINK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/must_use.h"
#include "base/mutex.h"

namespace kiln {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Write writes all of `bytes` or fails.
  KILN_MUST_USE virtual absl::Status Write(absl::Span<const uint8_t> bytes) = 0;
  // bytes_written: what Write (and SubmitBuffer) accepted so far.
  virtual uint64_t bytes_written() const = 0;

  // Buffer lending, optional: a sink that writes from buffers of its own
  // (PipelinedSink, a fork-mode child's ring) lends one to the producer
  // (HprofWriter), which fills it in place and submits it, saving Write's
  // copy. LendBuffer returns a buffer of at least `min_bytes`, or an empty
  // span if the sink does not lend (or has failed): then use Write. While a
  // buffer is lent, the producer calls SubmitBuffer (the first `used` bytes
  // are the next output; the buffer is the sink's again) before anything
  // else; it returns what Write would.
  virtual absl::Span<uint8_t> LendBuffer(size_t min_bytes) { return {}; }
  KILN_MUST_USE virtual absl::Status SubmitBuffer(size_t used);
};

// FdSink writes to a file descriptor it does not own, retrying short writes
// and EINTR. Errors name `what` (a path, or "pipe") and the errno text.
//
// In a forked child nothing may allocate, and a Status message does: after
// set_allocation_free_errors(), a failed Write returns a Status with the code
// alone and keeps errno and the offset (error(), error_offset()), from which
// ErrorStatus rebuilds the full Status in the parent.
class FdSink : public ByteSink {
 public:
  FdSink(int fd, std::string what) : fd_(fd), what_(std::move(what)) {}
  KILN_MUST_USE absl::Status Write(absl::Span<const uint8_t> bytes) override;
  uint64_t bytes_written() const override { return written_; }
  // A redirected FdSink lends what its target lends.
  absl::Span<uint8_t> LendBuffer(size_t min_bytes) override;
  KILN_MUST_USE absl::Status SubmitBuffer(size_t used) override;

  void set_allocation_free_errors() { allocation_free_errors_ = true; }
  // set_preallocate: the descriptor is a regular file that this sink (or a
  // copy of it in a forked child) alone writes, from its current offset on.
  // Write then reserves the file's blocks ahead of its bytes
  // (fallocate(FALLOC_FL_KEEP_SIZE), kPreallocateBytes at a time; the size
  // stays what was written): on ext4 a write into reserved blocks skips the
  // delayed allocation's work for every 4 KiB block, about 40% of the
  // kernel's cost of a write. The reserve past the end stays allocated
  // until TrimPreallocated. Where the file system refuses, or the disk has
  // no room for a whole step, reserving stops and writing goes on (and
  // fails, if it must, on its own).
  void set_preallocate() { preallocate_ = true; }
  bool preallocating() const { return preallocate_; }
  static constexpr uint64_t kPreallocateBytes = uint64_t{64} << 20;
  // set_redirect: Write hands the bytes to `to` instead of the descriptor
  // (bytes_written still counts them). A fork-mode child hands its bytes to
  // the parent that way (fork_dump.cc).
  void set_redirect(ByteSink* to) { redirect_ = to; }
  int fd() const { return fd_; }
  // The errno of the failed write (0: none), and the byte it failed at.
  int error() const { return error_; }
  uint64_t error_offset() const { return error_offset_; }
  // ErrorStatus: the Status of a write that failed with `error` at byte `at`.
  KILN_MUST_USE absl::Status ErrorStatus(int error, uint64_t at) const;
  const std::string& what() const { return what_; }

 private:
  // Preallocate: the blocks of the next `bytes` bytes are reserved (or
  // reserving has stopped).
  void Preallocate(size_t bytes);

  const int fd_;
  const std::string what_;
  uint64_t written_ = 0;
  bool preallocate_ = false;
  int64_t offset_ = -1;        // the descriptor's offset, once preallocating
  int64_t reserved_end_ = -1;  // the file's blocks are reserved up to here
  bool allocation_free_errors_ = false;
  ByteSink* redirect_ = nullptr;
  int error_ = 0;
  uint64_t error_offset_ = 0;
};

// TrimPreallocated gives back the blocks reserved past the end of the file
// behind `fd` (FdSink::set_preallocate): a truncation to its own size.
KILN_MUST_USE absl::Status TrimPreallocated(int fd, absl::string_view what);

// PipelinedSink hands the bytes to `out` on a thread of its own, so that the
// producer (a heap dump's walk) and the write(2)s (for a file: the copy into
// the page cache, about half of a dump's time) run on different cores. Write
// copies the bytes into one of `slots` buffers of `slot_bytes` (waiting while
// all are queued) and returns; the thread writes the buffers to `out` in
// order. Errors are sticky: after `out` fails once, nothing more is written
// and every Write and Close returns that error. Close waits until everything
// is written and stops the thread; call it before using `out`'s result. The
// thread starts at construction: build the sink before stopping the world.
// Not for a forked child (threads do not survive fork). Four slots rather
// than two: the walk and the writes each run ahead of the other by turns,
// and with one spare slot each a short lag no longer stops the other side
// (a full dump at N = 4M 6% faster, benchmarks/README.md); 8 MiB in all.
class PipelinedSink : public ByteSink {
 public:
  explicit PipelinedSink(ByteSink* out, size_t slot_bytes = size_t{2} << 20, int slots = 4);
  ~PipelinedSink() override;
  PipelinedSink(const PipelinedSink&) = delete;
  PipelinedSink& operator=(const PipelinedSink&) = delete;

  KILN_MUST_USE absl::Status Write(absl::Span<const uint8_t> bytes) override;
  // bytes_written: what Write and SubmitBuffer accepted (all of it written
  // once Close returned OK).
  uint64_t bytes_written() const override { return accepted_; }
  // Lends the next slot (waiting while all are queued); SubmitBuffer queues it.
  absl::Span<uint8_t> LendBuffer(size_t min_bytes) override;
  KILN_MUST_USE absl::Status SubmitBuffer(size_t used) override;
  // Close: every accepted byte written (or the first error); idempotent.
  KILN_MUST_USE absl::Status Close();

 private:
  struct Slot {
    std::unique_ptr<uint8_t[]> data;
    size_t size = 0;
  };
  void Run();
  // WaitForFreeSlot: the producer's next slot is neither queued nor being
  // written (or the first error).
  KILN_MUST_USE absl::Status WaitForFreeSlot();
  // Queue: the producer's slot holds `size` bytes; the thread may write it.
  void Queue(size_t size);

  ByteSink* const out_;
  const size_t slot_bytes_;
  std::vector<Slot> slots_;
  uint64_t accepted_ = 0;  // producer only
  size_t next_fill_ = 0;   // producer only: the slot Write fills next

  Mutex mu_;
  CondVar changed_;
  size_t queued_ ABSL_GUARDED_BY(mu_) = 0;      // filled slots not yet written
  size_t next_write_ ABSL_GUARDED_BY(mu_) = 0;  // the thread's next slot
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// MemorySink collects the bytes in memory; with a limit it fails like a full
// disk once `limit` bytes are reached (for fault tests).
class MemorySink : public ByteSink {
 public:
  explicit MemorySink(uint64_t limit = UINT64_MAX) : limit_(limit) {}
  KILN_MUST_USE absl::Status Write(absl::Span<const uint8_t> bytes) override;
  uint64_t bytes_written() const override { return data_.size(); }
  const std::vector<uint8_t>& data() const { return data_; }

 private:
  const uint64_t limit_;
  std::vector<uint8_t> data_;
};

}  // namespace kiln

#endif  // KILN_INSPECTION_HPROF_BYTE_SINK_H_
