// ParallelGzipSink: HotSpot's compressed heap-dump format (gzip_sink.h: 1 MiB
// blocks, each an independent gzip member, the first one's header saying
// "HPROF BLOCKSIZE=1048576"), with the blocks compressed on worker threads
// while the producer goes on: the walk and the compression overlap, and the
// compression runs on every core. Members are written to `out` in order, by
// whichever worker finishes the next one.
//
// Everything is allocated at construction (block buffers, compressors, the
// threads): build it before stopping the world. Not for a forked child
// (threads do not survive fork): a fork-mode dump compresses in the parent,
// from the ring the child fills (fork_dump.h). The block buffers are
// ParentOnlyMemory, which a fork leaves out: a fork-mode dump's fork()
// copied their 2,000-odd page-table entries (8 MiB on two cores) for a
// child that never reads them, 0.18 ms of a 1 ms pause at N = 4M.
//
// Errors are sticky: after a compressor or `out` fails once, nothing more is
// written and Write and Finish return that error.
#ifndef KILN_INSPECTION_HPROF_PARALLEL_GZIP_SINK_H_
#define KILN_INSPECTION_HPROF_PARALLEL_GZIP_SINK_H_

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "base/must_use.h"
#include "base/mutex.h"
#include "base/parent_only_memory.h"
#include "inspection/hprof/block_compressor.h"
#include "inspection/hprof/byte_sink.h"

namespace kiln {

class ParallelGzipSink : public ByteSink {
 public:
  static constexpr size_t kBlockSize = size_t{1} << 20;

  struct Options {
    int level = 1;
    // Worker threads; 0: one per core.
    int workers = 0;
    Deflater deflater = kDefaultDeflater;
    // Testing: the compressor of this block (1-based) fails; 0: none.
    uint64_t fail_block = 0;
  };

  // Create: InvalidArgument for a bad level, Internal if a compressor
  // cannot be set up.
  KILN_MUST_USE static absl::StatusOr<std::unique_ptr<ParallelGzipSink>> Create(ByteSink* out,
                                                                  const Options& options);
  ~ParallelGzipSink() override;
  ParallelGzipSink(const ParallelGzipSink&) = delete;
  ParallelGzipSink& operator=(const ParallelGzipSink&) = delete;

  KILN_MUST_USE absl::Status Write(absl::Span<const uint8_t> bytes) override;
  // bytes_written: the uncompressed bytes accepted.
  uint64_t bytes_written() const override { return accepted_; }
  // Finish compresses the last, partial block, waits until every member is
  // written and stops the workers; returns the first error. Call once.
  KILN_MUST_USE absl::Status Finish();

 private:
  enum class SlotState { kFree, kQueued, kCompressing, kDone };
  struct Slot {
    uint8_t* raw = nullptr;     // kBlockSize bytes of buffers_
    uint8_t* packed = nullptr;  // packed_capacity_ bytes of buffers_
    size_t raw_size = 0;  // set when queued
    size_t packed_size = 0;
    uint64_t sequence = 0;
    SlotState state = SlotState::kFree;
  };

  ParallelGzipSink(ByteSink* out, const Options& options, ParentOnlyMemory buffers);
  // BufferBytes: what `workers` workers' slots take, SlotStride each.
  static size_t BufferBytes(int workers);
  static size_t SlotStride();
  static size_t Slots(int workers) { return static_cast<size_t>(workers) + 2; }
  void Run(BlockCompressor* compressor);
  // WaitForFillSlot: the slot the producer fills next is free (its member
  // written), or the first error.
  KILN_MUST_USE absl::Status WaitForFillSlot();
  // Submit: the producer's slot is full (or the last); a worker may take it.
  KILN_MUST_USE absl::Status Submit();
  // WriteReady writes done members in order while none else is writing.
  // Called with mu_ held; releases it while writing.
  void WriteReady() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Stop();

  ByteSink* const out_;
  const Options options_;
  const size_t packed_capacity_;
  ParentOnlyMemory buffers_;  // every slot's raw and packed bytes
  std::vector<Slot> slots_;
  std::vector<std::unique_ptr<BlockCompressor>> compressors_;
  std::vector<std::thread> threads_;

  // Producer only.
  uint64_t accepted_ = 0;
  size_t fill_ = 0;            // the slot being filled
  size_t filled_ = 0;          // bytes in it
  bool fill_ready_ = false;    // known to be free
  uint64_t next_sequence_ = 0;  // the sequence number it gets
  bool finished_ = false;

  Mutex mu_;
  CondVar changed_;
  uint64_t next_compress_ ABSL_GUARDED_BY(mu_) = 0;  // next sequence a worker takes
  uint64_t next_write_ ABSL_GUARDED_BY(mu_) = 0;     // next sequence to write
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kiln

#endif  // KILN_INSPECTION_HPROF_PARALLEL_GZIP_SINK_H_
