// Object and arrays: typed views of managed objects on the heap.
//
// These types are never constructed by C++: a pointer to one is a view of heap
// memory laid out by the object's Class (a gc::ObjectHeader, then fields or
// elements). Raw pointers are valid until the next safepoint poll or
// allocation; hold objects across those in a Local (frame slot) or a Global.
//
// Field and element accesses are atomics (std::atomic_ref), so that racy
// managed code (which Java permits) is not C++ undefined behaviour: relaxed
// for primitives, and release/acquire for references, so that a thread that
// reads a reference published by another sees the object's header and the
// fields written before publication (Java's safe-publication guarantee for
// the class pointer). On x86 all of them are plain moves.
#ifndef KILN_VM_OBJECT_H_
#define KILN_VM_OBJECT_H_

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "absl/status/statusor.h"
#include "base/check.h"
#include "base/must_use.h"
#include "gc/object_header.h"
#include "vm/class.h"
#include "vm/field_access.h"
#include "vm/field_ref.h"
#include "vm/frame.h"

namespace kiln {


class Object {
 public:
  Object() = delete;
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;

  // New allocates a zeroed instance of `cls` (an instance class) and returns
  // it in a new slot of `frame`. ResourceExhausted when the heap is full.
  KILN_MUST_USE static absl::StatusOr<Local<Object>> New(Frame& frame, const Class* cls);

  const Class* GetClass() const { return Class::From(&header_); }
  gc::ObjectHeader* header() { return &header_; }
  const gc::ObjectHeader* header() const { return &header_; }
  // SizeOf: bytes this object occupies on the heap.
  size_t SizeOf() const { return header_.Size(); }

  // IdentityHashCode: a stable, positive hash (30 bits) assigned on first
  // use; it lives in the lock word, or in the monitor once inflated. The
  // calling thread must be attached to the object's runtime, managed.
  int32_t IdentityHashCode();

  // Get / Set through a resolved FieldRef (vm/field_ref.h): the type was
  // checked when the ref was resolved, the value's type is checked by the
  // compiler, and the access is one load or store.
  //
  //   item->Set(api.index, 42);
  //   kiln::String* name = item->Get(api.name);
  template <typename T>
  T Get(const FieldRef<T>& ref) const {
    CheckRef(ref.field_, ref.offset_);
    return static_cast<T>(
        internal::LoadField<typename FieldRef<T>::Storage>(address() + ref.offset_));
  }
  template <typename T, typename V>
    requires StoresAs<V, T>
  void Set(const FieldRef<T>& ref, V value) {
    CheckRef(ref.field_, ref.offset_);
    internal::StoreField<typename FieldRef<T>::Storage>(
        address() + ref.offset_, static_cast<typename FieldRef<T>::Storage>(T{value}));
  }

  // The low-level field access, by Field: for the runtime's own builtins
  // (which hold their Field pointers) and for code that walks a class's
  // fields. T must match the field's type (checked in every build): bool,
  // char16_t, float, double, int8_t, int16_t, int32_t, int64_t, Object*.
  // Managed code resolves FieldRefs instead.
  template <typename T>
  T Get(const Field& field) const {
    CheckField(field, FieldTypeOf<T>::value);
    return internal::LoadField<T>(address() + field.offset());
  }
  template <typename T>
  void Set(const Field& field, T value) {
    CheckField(field, FieldTypeOf<T>::value);
    internal::StoreField<T>(address() + field.offset(), value);
  }
  Object* GetRef(const Field& field) const { return Get<Object*>(field); }
  void SetRef(const Field& field, Object* value) { Set<Object*>(field, value); }

  const char* address() const { return reinterpret_cast<const char*>(this); }
  char* address() { return reinterpret_cast<char*>(this); }

 private:
  void CheckField(const Field& field, FieldType type) const {
    KILN_CHECK(field.type() == type, "field ", field.holder()->name(), ".", field.name(),
               " accessed as ", FieldTypeName(type));
    KILN_DCHECK(GetClass()->IsSubclassOf(field.holder()), "field ", field.holder()->name(),
                ".", field.name(), " accessed on a ", GetClass()->name());
  }
  // CheckRef: a resolved ref (offset 0 is the header: never a field's), on
  // an object of its class (debug builds).
  void CheckRef(const Field* field, uint32_t offset) const {
    KILN_CHECK(offset != 0, "an empty FieldRef used (check Resolver::status())");
    KILN_DCHECK(GetClass()->IsSubclassOf(field->holder()), "field ", field->holder()->name(),
                ".", field->name(), " accessed on a ", GetClass()->name());
  }

  gc::ObjectHeader header_;
};

class Array : public Object {
 public:
  uint32_t length() const { return header()->length; }

 protected:
  char* data() { return address() + gc::kHeaderSize; }
  const char* data() const { return address() + gc::kHeaderSize; }
};

// PrimitiveArray<T>: boolean[] ... long[]; T is one of FieldTypeOf's types
// other than Object*.
template <typename T>
class PrimitiveArray : public Array {
 public:
  KILN_MUST_USE static absl::StatusOr<Local<PrimitiveArray<T>>> New(Frame& frame, uint32_t length);

  T Get(uint32_t index) const {
    KILN_DCHECK(index < length(), "index ", index, " out of bounds ", length());
    return internal::LoadField<T>(data() + index * sizeof(T));
  }
  void Set(uint32_t index, T value) {
    KILN_DCHECK(index < length(), "index ", index, " out of bounds ", length());
    internal::StoreField<T>(data() + index * sizeof(T), value);
  }
  // elements: the raw elements, for bulk reads and writes by the owning
  // thread (no other thread may access the array meanwhile).
  T* elements() { return reinterpret_cast<T*>(data()); }
  const T* elements() const { return reinterpret_cast<const T*>(data()); }
};

using BooleanArray = PrimitiveArray<bool>;
using CharArray = PrimitiveArray<char16_t>;
using FloatArray = PrimitiveArray<float>;
using DoubleArray = PrimitiveArray<double>;
using ByteArray = PrimitiveArray<int8_t>;
using ShortArray = PrimitiveArray<int16_t>;
using IntArray = PrimitiveArray<int32_t>;
using LongArray = PrimitiveArray<int64_t>;

class ObjectArray : public Array {
 public:
  // New allocates an array of `length` nulls whose elements are of class
  // `element_class` (its class is element_class->array_class()).
  KILN_MUST_USE static absl::StatusOr<Local<ObjectArray>> New(Frame& frame,
                                                              const Class* element_class,
                                                              uint32_t length);

  Object* Get(uint32_t index) const {
    KILN_DCHECK(index < length(), "index ", index, " out of bounds ", length());
    return internal::LoadField<Object*>(data() + index * sizeof(Object*));
  }
  void Set(uint32_t index, Object* value) {
    KILN_DCHECK(index < length(), "index ", index, " out of bounds ", length());
    internal::StoreField<Object*>(data() + index * sizeof(Object*), value);
  }
};

}  // namespace kiln

#endif  // KILN_VM_OBJECT_H_
