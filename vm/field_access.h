// Field access for managed memory: atomics, so that racy managed code (which
// Java permits) is not C++ undefined behaviour. Primitives are relaxed;
// references are release on store and acquire on load, so that a thread that
// reads a reference published by another also sees the object's header and
// the fields written before publication (Java's safe-publication guarantee
// for the class pointer). On x86 every one of them is a plain move.
#ifndef KILN_VM_FIELD_ACCESS_H_
#define KILN_VM_FIELD_ACCESS_H_

#include <atomic>
#include <type_traits>

namespace kiln {

namespace internal {
template <typename T>
T LoadField(const void* address) {
  constexpr std::memory_order order =
      std::is_pointer_v<T> ? std::memory_order_acquire : std::memory_order_relaxed;
  return std::atomic_ref<T>(*static_cast<T*>(const_cast<void*>(address))).load(order);
}
template <typename T>
void StoreField(void* address, T value) {
  constexpr std::memory_order order =
      std::is_pointer_v<T> ? std::memory_order_release : std::memory_order_relaxed;
  std::atomic_ref<T>(*static_cast<T*>(address)).store(value, order);
}
}  // namespace internal

}  // namespace kiln

#endif  // KILN_VM_FIELD_ACCESS_H_
