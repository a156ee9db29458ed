#include "inspection/hprof/byte_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/status_macros.h"

namespace kiln {

absl::Status FdSink::Write(absl::Span<const uint8_t> bytes) {
  if (redirect_ != nullptr) {
    absl::Status status = redirect_->Write(bytes);
    if (status.ok()) written_ += bytes.size();
    return status;
  }
  if (preallocate_) Preallocate(bytes.size());
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
    if (offset_ >= 0) offset_ += n;
  }
  written_ += done;
  return absl::OkStatus();
}

void FdSink::Preallocate(size_t bytes) {
  if (offset_ < 0) {
    offset_ = lseek(fd_, 0, SEEK_CUR);
    reserved_end_ = offset_;
    if (offset_ < 0) {
      preallocate_ = false;
      return;
    }
  }
  const int64_t end = offset_ + static_cast<int64_t>(bytes);
  while (reserved_end_ < end) {
    if (fallocate(fd_, FALLOC_FL_KEEP_SIZE, reserved_end_,
                  static_cast<off_t>(kPreallocateBytes)) != 0) {
      preallocate_ = false;  // refused, or no room: plain writes from here on
      return;
    }
    reserved_end_ += static_cast<int64_t>(kPreallocateBytes);
  }
}

absl::Status TrimPreallocated(int fd, absl::string_view what) {
  struct stat st;
  if (fstat(fd, &st) != 0 || ftruncate(fd, st.st_size) != 0) {
    const int error = errno;
    return absl::Status(absl::ErrnoToStatusCode(error),
                        absl::StrCat("trimming ", what, ": ", std::strerror(error)));
  }
  return absl::OkStatus();
}

absl::Span<uint8_t> FdSink::LendBuffer(size_t min_bytes) {
  return redirect_ != nullptr ? redirect_->LendBuffer(min_bytes) : absl::Span<uint8_t>();
}

absl::Status FdSink::SubmitBuffer(size_t used) {
  KILN_CHECK(redirect_ != nullptr, "FdSink::SubmitBuffer without a lent buffer");
  absl::Status status = redirect_->SubmitBuffer(used);
  if (status.ok()) written_ += used;
  return status;
}

absl::Status FdSink::ErrorStatus(int error, uint64_t at) const {
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat("writing ", what_, " at byte ", at, ": ", std::strerror(error)));
}

absl::Status ByteSink::SubmitBuffer(size_t) {
  KILN_CHECK(false, "SubmitBuffer on a sink that lends no buffers");
  return absl::InternalError("unreachable");
}

absl::Status MemorySink::Write(absl::Span<const uint8_t> bytes) {
  if (data_.size() + bytes.size() > limit_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("writing to memory: limit of ", limit_, " bytes reached"));
  }
  data_.insert(data_.end(), bytes.begin(), bytes.end());
  return absl::OkStatus();
}

PipelinedSink::PipelinedSink(ByteSink* out, size_t slot_bytes, int slots)
    : out_(out), slot_bytes_(slot_bytes), slots_(static_cast<size_t>(slots)) {
  KILN_CHECK(slots >= 2 && slot_bytes > 0, "PipelinedSink needs 2 or more slots, not ", slots);
  for (Slot& slot : slots_) slot.data.reset(new uint8_t[slot_bytes]);
  thread_ = std::thread([this] { Run(); });
}

PipelinedSink::~PipelinedSink() { Close().IgnoreError(); }

absl::Status PipelinedSink::WaitForFreeSlot() {
  MutexLock lock(&mu_);
  if (!status_.ok()) return status_;
  KILN_CHECK(!closing_, "PipelinedSink written after Close");
  while (queued_ == slots_.size() && status_.ok()) changed_.Wait(&mu_);
  return status_;
}

void PipelinedSink::Queue(size_t size) {
  slots_[next_fill_].size = size;
  accepted_ += size;
  next_fill_ = (next_fill_ + 1) % slots_.size();
  MutexLock lock(&mu_);
  ++queued_;
  changed_.SignalAll();
}

absl::Status PipelinedSink::Write(absl::Span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    RETURN_IF_ERROR(WaitForFreeSlot());
    // The slot is neither queued nor being written: the producer owns it.
    const size_t n = std::min(bytes.size(), slot_bytes_);
    std::memcpy(slots_[next_fill_].data.get(), bytes.data(), n);
    bytes.remove_prefix(n);
    Queue(n);
  }
  return absl::OkStatus();
}

absl::Span<uint8_t> PipelinedSink::LendBuffer(size_t min_bytes) {
  if (min_bytes > slot_bytes_ || !WaitForFreeSlot().ok()) return {};
  return absl::MakeSpan(slots_[next_fill_].data.get(), slot_bytes_);
}

absl::Status PipelinedSink::SubmitBuffer(size_t used) {
  KILN_CHECK(used <= slot_bytes_, "PipelinedSink: ", used, " bytes submitted in a slot of ",
             slot_bytes_);
  {
    MutexLock lock(&mu_);
    if (!status_.ok()) return status_;
  }
  if (used > 0) Queue(used);
  return absl::OkStatus();
}

void PipelinedSink::Run() {
  for (;;) {
    size_t index;
    {
      MutexLock lock(&mu_);
      while (queued_ == 0 && !closing_) changed_.Wait(&mu_);
      if (queued_ == 0) return;  // closing, everything written
      index = next_write_;
      if (!status_.ok()) {  // failed before: drop the rest
        next_write_ = (next_write_ + 1) % slots_.size();
        --queued_;
        changed_.SignalAll();
        continue;
      }
    }
    const Slot& slot = slots_[index];
    absl::Status status = out_->Write(absl::MakeConstSpan(slot.data.get(), slot.size));
    MutexLock lock(&mu_);
    if (!status.ok() && status_.ok()) status_ = std::move(status);
    next_write_ = (next_write_ + 1) % slots_.size();
    --queued_;
    changed_.SignalAll();
  }
}

absl::Status PipelinedSink::Close() {
  {
    MutexLock lock(&mu_);
    closing_ = true;
    changed_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
  MutexLock lock(&mu_);
  return status_;
}

}  // namespace kiln
