// Global<T>: a reference to a managed object owned by the host (a JNI global
// reference, in HPROF's terms). It is a root until it is reset or destroyed,
// and may be held by any host code, attached or not; reading or writing it
// requires an attached thread in managed state, like any object access.
//
//   kiln::Global<kiln::String> greeting(frame.thread(), s.get());
//   ...
//   greeting->length();   // later, from any attached managed thread
//
// Every Global must be destroyed before its runtime.
#ifndef KILN_VM_HANDLES_H_
#define KILN_VM_HANDLES_H_

#include <utility>

#include "base/must_use.h"
#include "vm/frame.h"
#include "vm/object.h"

namespace kiln {

class GlobalHandles;  // vm/internal/global_handles.h

namespace internal {
// NewGlobalSlot / FreeGlobalSlot: Global's way into the handle table of
// `thread`'s runtime, out of line.
KILN_MUST_USE Object** NewGlobalSlot(Thread& thread, Object* value, GlobalHandles** owner);
void FreeGlobalSlot(GlobalHandles* owner, Object** slot);
}  // namespace internal

template <typename T>
class Global {
 public:
  Global() = default;
  // Global makes a root for `object` in `thread`'s runtime.
  Global(Thread& thread, T* object)
      : slot_(internal::NewGlobalSlot(thread, object, &owner_)) {}
  explicit Global(const Local<T>& local) : Global(local.frame()->thread(), local.get()) {}
  ~Global() { Reset(); }

  Global(Global&& other) noexcept
      : owner_(std::exchange(other.owner_, nullptr)),
        slot_(std::exchange(other.slot_, nullptr)) {}
  Global& operator=(Global&& other) noexcept {
    if (this != &other) {
      Reset();
      owner_ = std::exchange(other.owner_, nullptr);
      slot_ = std::exchange(other.slot_, nullptr);
    }
    return *this;
  }

  T* get() const {
    return slot_ == nullptr ? nullptr
                            : static_cast<T*>(internal::LoadField<Object*>(slot_));
  }
  T* operator->() const { return get(); }
  explicit operator bool() const { return get() != nullptr; }

  // Set changes the referent; the Global must not be empty.
  void Set(T* object) {
    KILN_CHECK(slot_ != nullptr, "Set on an empty Global");
    internal::StoreField<Object*>(slot_, object);
  }
  // Reset drops the root; the Global becomes empty.
  void Reset() {
    if (slot_ != nullptr) internal::FreeGlobalSlot(owner_, slot_);
    owner_ = nullptr;
    slot_ = nullptr;
  }

 private:
  GlobalHandles* owner_ = nullptr;
  Object** slot_ = nullptr;
};

}  // namespace kiln

#endif  // KILN_VM_HANDLES_H_
