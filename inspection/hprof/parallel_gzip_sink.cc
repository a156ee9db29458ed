#include "inspection/hprof/parallel_gzip_sink.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"

namespace kiln {
namespace {

constexpr char kComment[] = "HPROF BLOCKSIZE=1048576";
static_assert(ParallelGzipSink::kBlockSize == 1048576, "the comment names the block size");

}  // namespace

absl::StatusOr<std::unique_ptr<ParallelGzipSink>> ParallelGzipSink::Create(
    ByteSink* out, const Options& options) {
  Options resolved = options;
  if (resolved.workers <= 0) {
    resolved.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  ASSIGN_OR_RETURN(ParentOnlyMemory buffers,
                   ParentOnlyMemory::Create(BufferBytes(resolved.workers), "gzip block buffers"));
  std::unique_ptr<ParallelGzipSink> sink(
      new ParallelGzipSink(out, resolved, std::move(buffers)));
  for (int i = 0; i < resolved.workers; ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<BlockCompressor> compressor,
                     BlockCompressor::Create(resolved.deflater, resolved.level));
    sink->compressors_.push_back(std::move(compressor));
  }
  for (auto& compressor : sink->compressors_) {
    sink->threads_.emplace_back([s = sink.get(), c = compressor.get()] { s->Run(c); });
  }
  return sink;
}

size_t ParallelGzipSink::SlotStride() {
  // Each slot's raw block starts on a page of its own.
  constexpr size_t kPage = 4096;
  return (kBlockSize + BlockCompressor::Bound(kBlockSize) + kPage - 1) / kPage * kPage;
}

size_t ParallelGzipSink::BufferBytes(int workers) { return Slots(workers) * SlotStride(); }

ParallelGzipSink::ParallelGzipSink(ByteSink* out, const Options& options,
                                   ParentOnlyMemory buffers)
    : out_(out),
      options_(options),
      packed_capacity_(BlockCompressor::Bound(kBlockSize)),
      buffers_(std::move(buffers)) {
  // One slot per worker, one being filled, one being written.
  slots_.resize(Slots(options.workers));
  KILN_CHECK(buffers_.size() >= BufferBytes(options.workers), "gzip block buffers too small");
  uint8_t* next = buffers_.data();
  for (Slot& slot : slots_) {
    slot.raw = next;
    slot.packed = next + kBlockSize;
    next += SlotStride();
  }
}

ParallelGzipSink::~ParallelGzipSink() { Stop(); }

void ParallelGzipSink::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    changed_.SignalAll();
  }
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

absl::Status ParallelGzipSink::WaitForFillSlot() {
  if (fill_ready_) return absl::OkStatus();
  // Wait until the slot's last member is written (or the first error).
  const Slot& slot = slots_[fill_];
  MutexLock lock(&mu_);
  while (slot.state != SlotState::kFree && status_.ok()) changed_.Wait(&mu_);
  fill_ready_ = status_.ok();
  return status_;
}

absl::Status ParallelGzipSink::Write(absl::Span<const uint8_t> bytes) {
  KILN_CHECK(!finished_, "ParallelGzipSink written after Finish");
  while (!bytes.empty()) {
    RETURN_IF_ERROR(WaitForFillSlot());
    const size_t n = std::min(bytes.size(), kBlockSize - filled_);
    std::memcpy(slots_[fill_].raw + filled_, bytes.data(), n);
    filled_ += n;
    accepted_ += n;
    bytes.remove_prefix(n);
    if (filled_ == kBlockSize) RETURN_IF_ERROR(Submit());
  }
  return absl::OkStatus();
}

absl::Status ParallelGzipSink::Submit() {
  Slot& slot = slots_[fill_];
  MutexLock lock(&mu_);
  slot.raw_size = filled_;
  slot.sequence = next_sequence_++;
  slot.state = SlotState::kQueued;
  fill_ = next_sequence_ % slots_.size();
  filled_ = 0;
  fill_ready_ = false;
  changed_.SignalAll();
  return status_;
}

absl::Status ParallelGzipSink::Finish() {
  KILN_CHECK(!finished_, "ParallelGzipSink::Finish twice");
  finished_ = true;
  // The last, partial block; an empty dump still gets the one member.
  if ((filled_ > 0 || next_sequence_ == 0) && WaitForFillSlot().ok()) {
    Submit().IgnoreError();  // the error, if any, is returned below
  }
  absl::Status status;
  {
    MutexLock lock(&mu_);
    // After an error the workers still drain the queue: wait for that too,
    // so that no worker touches `out` once Finish returned.
    while (next_write_ < next_sequence_) changed_.Wait(&mu_);
    status = status_;
  }
  Stop();
  return status;
}

void ParallelGzipSink::Run(BlockCompressor* compressor) {
  MutexLock lock(&mu_);
  for (;;) {
    Slot* slot = &slots_[next_compress_ % slots_.size()];
    while (!(slot->state == SlotState::kQueued && slot->sequence == next_compress_) &&
           !stopping_) {
      changed_.Wait(&mu_);
      slot = &slots_[next_compress_ % slots_.size()];
    }
    if (slot->state != SlotState::kQueued || slot->sequence != next_compress_) return;
    ++next_compress_;
    slot->state = SlotState::kCompressing;
    const bool failed_before = !status_.ok();
    const uint64_t sequence = slot->sequence;
    absl::Status status;
    if (!failed_before) {
      mu_.Unlock();
      absl::StatusOr<size_t> packed =
          options_.fail_block == sequence + 1
              ? absl::StatusOr<size_t>(absl::InternalError(absl::StrCat(
                    "gzip: the compressor of block ", sequence + 1, " failed (testing)")))
              : compressor->Compress(absl::MakeConstSpan(slot->raw, slot->raw_size),
                                     sequence == 0 ? kComment : "",
                                     absl::MakeSpan(slot->packed, packed_capacity_));
      if (packed.ok()) {
        slot->packed_size = *packed;
      } else {
        status = packed.status();
      }
      mu_.Lock();
    }
    if (!status.ok() && status_.ok()) status_ = std::move(status);
    slot->state = SlotState::kDone;
    WriteReady();
    changed_.SignalAll();
  }
}

void ParallelGzipSink::WriteReady() {
  while (!writing_) {
    Slot& slot = slots_[next_write_ % slots_.size()];
    if (slot.state != SlotState::kDone || slot.sequence != next_write_) return;
    if (status_.ok()) {
      writing_ = true;
      mu_.Unlock();
      absl::Status status = out_->Write(absl::MakeConstSpan(slot.packed, slot.packed_size));
      mu_.Lock();
      writing_ = false;
      if (!status.ok() && status_.ok()) status_ = std::move(status);
    }
    slot.state = SlotState::kFree;
    ++next_write_;
    changed_.SignalAll();
  }
}

}  // namespace kiln
