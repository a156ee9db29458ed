#include "vm/internal/reference_processor.h"

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "vm/internal/runtime_access.h"
#include "vm/runtime.h"

namespace kiln {
namespace {

using FreeFunction = void (*)(void*);

struct NativeAllocation {
  FreeFunction free_function;
  void* pointer;
  int64_t size;
};

// AllocationOf reads what a Cleaner frees (its thunk and registry).
NativeAllocation AllocationOf(const ClassTable::ReferenceClasses& refs, const Object* cleaner) {
  const Object* thunk = cleaner->GetRef(*refs.cleaner_thunk);
  const Object* registry = thunk->GetRef(*refs.thunk_registry);
  return NativeAllocation{
      reinterpret_cast<FreeFunction>(
          static_cast<uintptr_t>(registry->Get<int64_t>(*refs.registry_free))),
      reinterpret_cast<void*>(static_cast<uintptr_t>(thunk->Get<int64_t>(*refs.thunk_pointer))),
      registry->Get<int64_t>(*refs.registry_size)};
}

}  // namespace

void ReferenceProcessor::OnReferencesCleared(absl::Span<const gc::ClearedReference> cleared) {
  const ClassTable::ReferenceClasses& refs = runtime_.classes().references();
  MutexLock lock(&mu_);
  for (const gc::ClearedReference& entry : cleared) {
    auto* reference = reinterpret_cast<Object*>(entry.reference);
    if (!reference->GetClass()->IsSubclassOf(refs.cleaner)) continue;
    const NativeAllocation allocation = AllocationOf(refs, reference);
    auto it = native_by_object_.find(reinterpret_cast<const Object*>(entry.referent));
    if (it != native_by_object_.end() && (it->second -= allocation.size) <= 0) {
      native_by_object_.erase(it);
    }
    pending_cleaners_.push_back(reference);
  }
  work_.SignalAll();
}

void ReferenceProcessor::OnFinalizationPending() {
  MutexLock lock(&mu_);
  finalization_pending_ = true;
  work_.SignalAll();
}

void ReferenceProcessor::OnCollection() {
  MutexLock lock(&mu_);
  native_since_collection_ = 0;
}

bool ReferenceProcessor::RecordRegistration(const Object* referent, int64_t size) {
  MutexLock lock(&mu_);
  native_by_object_[referent] += size;
  native_bytes_ += size;
  native_since_collection_ += size;
  return native_since_collection_ >= runtime_.options().native_gc_watermark_bytes;
}

int64_t ReferenceProcessor::NativeBytesOf(const Object* object) {
  MutexLock lock(&mu_);
  auto it = native_by_object_.find(object);
  return it == native_by_object_.end() ? 0 : it->second;
}

int64_t ReferenceProcessor::native_bytes() {
  MutexLock lock(&mu_);
  return native_bytes_;
}

uint64_t ReferenceProcessor::native_frees() {
  MutexLock lock(&mu_);
  return native_frees_;
}

absl::Status ReferenceProcessor::EnsureCleanerDaemon() {
  {
    MutexLock lock(&mu_);
    if (cleaner_started_) return absl::OkStatus();
    cleaner_started_ = true;
  }
  return runtime_.StartDaemonThread("Cleaner", [this](Thread& self) { CleanerLoop(self); });
}

absl::Status ReferenceProcessor::EnsureFinalizerDaemon() {
  {
    MutexLock lock(&mu_);
    if (finalizer_started_) return absl::OkStatus();
    finalizer_started_ = true;
  }
  return runtime_.StartDaemonThread("Finalizer", [this](Thread& self) { FinalizerLoop(self); });
}

void ReferenceProcessor::Stop() {
  MutexLock lock(&mu_);
  stopping_ = true;
  work_.SignalAll();
}

void ReferenceProcessor::CleanerLoop(Thread& self) {
  while (true) {
    {
      ScopedNative waiting(self, ThreadStatus::kWaiting);
      MutexLock lock(&mu_);
      while (pending_cleaners_.empty() && !stopping_) work_.Wait(&mu_);
      if (stopping_) return;
    }
    // Managed again: take one Cleaner. It stays reachable (linked in
    // Cleaner's list) until RunCleaner unlinks it.
    Object* cleaner;
    {
      MutexLock lock(&mu_);
      if (pending_cleaners_.empty()) continue;
      cleaner = pending_cleaners_.front();
      pending_cleaners_.pop_front();
    }
    RunCleaner(self, cleaner);
  }
}

void ReferenceProcessor::RunCleaner(Thread& self, Object* cleaner) {
  const ClassTable::ReferenceClasses& refs = runtime_.classes().references();
  const NativeAllocation allocation = AllocationOf(refs, cleaner);
  {
    // Unlink; a removed Cleaner points at itself, which is how Perfetto
    // tells a run Cleaner from a live one.
    MutexLock lock(&list_mu_);
    Object* next = cleaner->GetRef(*refs.cleaner_next);
    Object* prev = cleaner->GetRef(*refs.cleaner_prev);
    if (prev != nullptr) {
      prev->SetRef(*refs.cleaner_next, next);
    } else {
      refs.cleaner->SetStaticRef(*refs.cleaner_first, next);
    }
    if (next != nullptr) next->SetRef(*refs.cleaner_prev, prev);
    cleaner->SetRef(*refs.cleaner_next, cleaner);
    cleaner->SetRef(*refs.cleaner_prev, cleaner);
  }
  {
    ScopedNative native(self, ThreadStatus::kNative);
    allocation.free_function(allocation.pointer);
  }
  MutexLock lock(&mu_);
  native_bytes_ -= allocation.size;
  ++native_frees_;
}

void ReferenceProcessor::FinalizerLoop(Thread& self) {
  const Method* run = *runtime_.FindMethod("java.lang.Thread", "run", "()V");
  while (true) {
    {
      ScopedNative waiting(self, ThreadStatus::kWaiting);
      MutexLock lock(&mu_);
      while (!finalization_pending_ && !stopping_) work_.Wait(&mu_);
      if (stopping_) return;
      finalization_pending_ = false;
    }
    Frame frame(self, run);
    Local<Object> object = frame.NewLocal<Object>(nullptr);
    while (gc::ObjectHeader* header = internal::HeapOf(runtime_).TakePendingFinalization()) {
      object.Set(reinterpret_cast<Object*>(header));  // rooted before any poll
      object->GetClass()->finalizer()(self, object.get());
      frame.Poll();
    }
  }
}

void ReferenceProcessor::FreeRemaining() {
  const ClassTable::ReferenceClasses& refs = runtime_.classes().references();
  Object* cleaner = refs.cleaner->GetStaticRef(*refs.cleaner_first);
  while (cleaner != nullptr) {
    const NativeAllocation allocation = AllocationOf(refs, cleaner);
    allocation.free_function(allocation.pointer);
    MutexLock lock(&mu_);
    native_bytes_ -= allocation.size;
    ++native_frees_;
    cleaner = cleaner->GetRef(*refs.cleaner_next);
  }
  refs.cleaner->SetStaticRef(*refs.cleaner_first, nullptr);
}

}  // namespace kiln
