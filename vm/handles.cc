#include "vm/handles.h"

#include "vm/internal/global_handles.h"

#include "vm/internal/runtime_access.h"
#include "vm/runtime.h"

namespace kiln {

namespace internal {

Object** NewGlobalSlot(Thread& thread, Object* value, GlobalHandles** owner) {
  *owner = &GlobalsOf(thread.runtime());
  return (*owner)->Allocate(value);
}

void FreeGlobalSlot(GlobalHandles* owner, Object** slot) { owner->Free(slot); }

}  // namespace internal

Object** GlobalHandles::Allocate(Object* value) {
  MutexLock lock(&mu_);
  if (free_.empty()) {
    blocks_.push_back(std::make_unique<Object*[]>(kBlockSize));
    Object** block = blocks_.back().get();
    for (size_t i = kBlockSize; i > 0; --i) free_.push_back(&block[i - 1]);
  }
  Object** slot = free_.back();
  free_.pop_back();
  internal::StoreField<Object*>(slot, value);
  ++used_;
  return slot;
}

void GlobalHandles::Free(Object** slot) {
  MutexLock lock(&mu_);
  internal::StoreField<Object*>(slot, nullptr);
  free_.push_back(slot);
  --used_;
}

void GlobalHandles::VisitRoots(absl::FunctionRef<void(Object** slot)> fn) {
  MutexLock lock(&mu_);
  // Free slots hold null; so may slots in use, which visitors skip alike.
  for (const auto& block : blocks_) {
    for (size_t i = 0; i < kBlockSize; ++i) {
      if (internal::LoadField<Object*>(&block[i]) != nullptr) fn(&block[i]);
    }
  }
}

size_t GlobalHandles::size() {
  MutexLock lock(&mu_);
  return used_;
}

}  // namespace kiln
