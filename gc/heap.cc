#include "gc/heap.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "mimalloc.h"

namespace kiln::gc {

const Layout kFillerLayout{.kind = LayoutKind::kFiller};
const Layout kFillerWordLayout{.kind = LayoutKind::kFillerWord};

namespace {

bool IsPowerOfTwo(size_t n) { return n != 0 && (n & (n - 1)) == 0; }

}  // namespace

void FillGap(char* start, size_t size) {
  KILN_DCHECK(size % kObjectAlignment == 0, "gap of ", size, " bytes");
  if (size == 0) return;
  auto* header = reinterpret_cast<ObjectHeader*>(start);
  if (size == kObjectAlignment) {
    header->layout = &kFillerWordLayout;
    return;
  }
  header->layout = &kFillerLayout;
  header->length = static_cast<uint32_t>(size);
}

absl::StatusOr<std::unique_ptr<Heap>> Heap::Create(const HeapOptions& options) {
  if (!IsPowerOfTwo(options.chunk_size) || !IsPowerOfTwo(options.tlab_size)) {
    return absl::InvalidArgumentError(
        absl::StrCat("heap: chunk_size (", options.chunk_size, ") and tlab_size (",
                     options.tlab_size, ") must be powers of two"));
  }
  if (options.tlab_size > options.chunk_size || options.tlab_size < 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("heap: tlab_size ", options.tlab_size,
                     " must be between 256 bytes and chunk_size ", options.chunk_size));
  }
  if (options.heap_limit_bytes < options.chunk_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("heap: heap_limit_bytes ", options.heap_limit_bytes,
                     " is smaller than one chunk (", options.chunk_size, ")"));
  }
  return std::unique_ptr<Heap>(new Heap(options));
}

Heap::~Heap() {
  MutexLock lock(&mu_);
  KILN_CHECK(tlabs_ == nullptr, "heap destroyed with a Tlab still attached");
  for (const Span& span : chunks_) mi_free(span.start);
  for (const Span& span : large_) mi_free(span.start);
}

void Heap::AttachTlab(Tlab* tlab) {
  MutexLock lock(&mu_);
  KILN_CHECK(tlab->prev_ == nullptr && tlab->next_ == nullptr && tlabs_ != tlab,
             "Tlab attached twice");
  tlab->next_ = tlabs_;
  if (tlabs_ != nullptr) tlabs_->prev_ = tlab;
  tlabs_ = tlab;
}

void Heap::DetachTlab(Tlab* tlab) {
  MutexLock lock(&mu_);
  RetireTlab(*tlab);
  if (tlab->prev_ != nullptr) {
    tlab->prev_->next_ = tlab->next_;
  } else {
    KILN_CHECK(tlabs_ == tlab, "detaching a Tlab that is not attached");
    tlabs_ = tlab->next_;
  }
  if (tlab->next_ != nullptr) tlab->next_->prev_ = tlab->prev_;
  tlab->prev_ = tlab->next_ = nullptr;
}

void Heap::RetireTlab(Tlab& tlab) {
  if (!chunks_.empty() && tlab.end_ != nullptr && tlab.end_ == chunks_.back().top) {
    // The Tlab is the newest carving of the current chunk: give its unused
    // tail back (threads that attach briefly then use almost nothing).
    chunks_.back().top = tlab.top_;
  } else {
    FillGap(tlab.top_, tlab.remaining());
  }
  tlab.top_ = tlab.end_ = nullptr;
}

absl::StatusOr<ObjectHeader*> Heap::AllocateSlow(Tlab& tlab, const Layout* layout,
                                                 size_t size, uint32_t length) {
  KILN_DCHECK(size % kObjectAlignment == 0 && size >= kHeaderSize,
              "bad allocation size ", size);
  MutexLock lock(&mu_);
  char* memory = nullptr;
  if (size > options_.chunk_size / 4) {
    memory = AllocateLarge(size);
  } else if (size > options_.tlab_size / 4) {
    // Medium objects go straight into the chunk: refilling the Tlab for them
    // would waste up to a quarter of a Tlab each time.
    memory = AllocateInChunk(size);
    if (memory != nullptr) std::memset(memory, 0, size);
  } else if (RefillTlab(tlab)) {
    memory = tlab.top_;
    tlab.top_ += size;
  }
  if (memory == nullptr) return OutOfMemory(size);
  return Initialize(memory, layout, length);
}

bool Heap::RefillTlab(Tlab& tlab) {
  RetireTlab(tlab);
  char* memory = AllocateInChunk(options_.tlab_size);
  if (memory == nullptr) return false;
  std::memset(memory, 0, options_.tlab_size);
  tlab.top_ = memory;
  tlab.end_ = memory + options_.tlab_size;
  ++tlab_refills_;
  return true;
}

char* Heap::AllocateInChunk(size_t size) {
  if (chunks_.empty() ||
      static_cast<size_t>(chunks_.back().end - chunks_.back().top) < size) {
    if (committed_bytes_ + options_.chunk_size > options_.heap_limit_bytes) {
      return nullptr;
    }
    auto* start = static_cast<char*>(
        mi_malloc_aligned(options_.chunk_size, options_.chunk_size));
    if (start == nullptr) return nullptr;
    if (!chunks_.empty()) {
      // The old chunk's tail is never used: walks stop at its top.
      Span& old = chunks_.back();
      old.end = old.top;
    }
    chunks_.push_back(Span{start, start, start + options_.chunk_size});
    committed_bytes_ += options_.chunk_size;
  }
  Span& chunk = chunks_.back();
  char* result = chunk.top;
  chunk.top += size;
  return result;
}

char* Heap::AllocateLarge(size_t size) {
  if (committed_bytes_ + size > options_.heap_limit_bytes) return nullptr;
  auto* start = static_cast<char*>(mi_zalloc_aligned(size, kObjectAlignment));
  if (start == nullptr) return nullptr;
  large_.push_back(Span{start, start + size, start + size});
  committed_bytes_ += size;
  return start;
}

absl::Status Heap::OutOfMemory(size_t size) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "heap: out of memory allocating ", size, " bytes (heap limit ",
      options_.heap_limit_bytes, " bytes, ", committed_bytes_, " in use)"));
}

void Heap::MakeParsable() {
  MutexLock lock(&mu_);
  for (Tlab* tlab = tlabs_; tlab != nullptr; tlab = tlab->next_) {
    FillGap(tlab->top_, tlab->remaining());
  }
}

void Heap::ForEachObject(absl::FunctionRef<void(ObjectHeader*)> fn) {
  MutexLock lock(&mu_);
  std::vector<Span> spans;
  spans.reserve(chunks_.size() + large_.size());
  spans.insert(spans.end(), chunks_.begin(), chunks_.end());
  spans.insert(spans.end(), large_.begin(), large_.end());
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.start < b.start; });
  for (const Span& span : spans) {
    for (char* p = span.start; p < span.top;) {
      auto* object = reinterpret_cast<ObjectHeader*>(p);
      const size_t size = object->Size();
      KILN_DCHECK(size >= kObjectAlignment && p + size <= span.top,
                  "heap not parsable at ",
                  absl::Hex(reinterpret_cast<uintptr_t>(p)));
      if (!object->layout->IsFiller()) fn(object);
      p += size;
    }
  }
}

bool Heap::Contains(const void* address) {
  MutexLock lock(&mu_);
  auto* p = static_cast<const char*>(address);
  for (const auto* spans : {&chunks_, &large_}) {
    for (const Span& span : *spans) {
      if (p >= span.start && p < span.top) return true;
    }
  }
  return false;
}

HeapStats Heap::Stats() {
  MutexLock lock(&mu_);
  HeapStats stats;
  stats.limit_bytes = options_.heap_limit_bytes;
  stats.committed_bytes = committed_bytes_;
  for (const Span& span : chunks_) stats.used_bytes += span.top - span.start;
  for (const Span& span : large_) stats.used_bytes += span.top - span.start;
  stats.chunks = chunks_.size();
  stats.large_objects = large_.size();
  stats.tlab_refills = tlab_refills_;
  return stats;
}

}  // namespace kiln::gc
