// FieldRef<T> and StaticFieldRef<T>: a field resolved once, with its C++ type
// fixed (JNI's cached jfieldID, typed).
//
//   kiln::Resolver resolver(*runtime);
//   const kiln::Class* item = resolver.Class("demo.Item");
//   kiln::FieldRef<int32_t> index = resolver.Field<int32_t>(item, "index");
//   kiln::FieldRef<kiln::String*> name = resolver.Field<kiln::String*>(item, "name");
//   RETURN_IF_ERROR(resolver.status());
//   ...
//   object->Set(index, 42);          // object->Set(index, 4.2) does not compile
//   kiln::String* s = object->Get(name);
//
// T is one of the eight primitive types (bool, char16_t, float, double,
// int8_t, int16_t, int32_t, int64_t) or a pointer to a managed class
// (Object*, String*, ObjectArray*...). The Resolver checks, in every build,
// that the field exists with T's field type; a reference field has no
// declared class, so FieldRef<String*> is the program's word that the field
// holds Strings. Set takes a value that converts to T without narrowing:
// Set(FieldRef<int32_t>, double) and Set(FieldRef<Object*>, int) do not
// compile. An access is one load or store at a fixed offset; the receiver's
// class is checked in debug builds.
//
// An empty (default-constructed) ref is what a failed resolution returns:
// using one CHECK-fails. Check Resolver::status() once, before any use.
#ifndef KILN_VM_FIELD_REF_H_
#define KILN_VM_FIELD_REF_H_

#include <cstdint>
#include <type_traits>

#include "base/check.h"
#include "vm/class.h"
#include "vm/field_access.h"

namespace kiln {

class Resolver;

namespace internal {

// FieldStorage<T>: what a FieldRef<T> loads and stores: T itself for the
// primitives, Object* for a pointer to any managed class.
template <typename T>
struct FieldStorage {
  using type = T;
};
template <typename T>
struct FieldStorage<T*> {
  using type = Object*;
};

}  // namespace internal

// FieldValue<T>: T may be the type of a FieldRef.
template <typename T>
concept FieldValue =
    requires { FieldTypeOf<typename internal::FieldStorage<T>::type>::value; } &&
    (!std::is_pointer_v<T> || std::is_base_of_v<Object, std::remove_pointer_t<T>>);

// StoresAs<V, T>: a V converts to a field of type T without narrowing.
template <typename V, typename T>
concept StoresAs = requires(V value) { T{value}; };

template <FieldValue T>
class FieldRef {
 public:
  using Storage = typename internal::FieldStorage<T>::type;
  static constexpr FieldType kType = FieldTypeOf<Storage>::value;

  // An empty ref (what a failed resolution returns).
  FieldRef() = default;

  // field: the resolved field, or nullptr for an empty ref.
  const Field* field() const { return field_; }
  explicit operator bool() const { return field_ != nullptr; }

 private:
  friend class Object;
  friend class Resolver;
  explicit FieldRef(const Field* field) : field_(field), offset_(field->offset()) {}

  const Field* field_ = nullptr;
  // Never 0 once resolved (the header is there): Object's accessors check it.
  uint32_t offset_ = 0;
};

template <FieldValue T>
class StaticFieldRef {
 public:
  using Storage = typename internal::FieldStorage<T>::type;
  static constexpr FieldType kType = FieldTypeOf<Storage>::value;

  StaticFieldRef() = default;

  // Get / Set: the static field's value. Like any managed access, from an
  // attached thread in managed state.
  T Get() const { return static_cast<T>(internal::LoadField<Storage>(Slot())); }
  template <typename V>
    requires StoresAs<V, T>
  void Set(V value) const {
    internal::StoreField<Storage>(Slot(), static_cast<Storage>(T{value}));
  }

  const Field* field() const { return field_; }
  explicit operator bool() const { return field_ != nullptr; }

 private:
  friend class Resolver;
  StaticFieldRef(const Field* field, Storage* slot) : field_(field), slot_(slot) {}
  Storage* Slot() const {
    KILN_CHECK(slot_ != nullptr, "an empty StaticFieldRef used (check Resolver::status())");
    return slot_;
  }

  const Field* field_ = nullptr;
  Storage* slot_ = nullptr;
};

}  // namespace kiln

#endif  // KILN_VM_FIELD_REF_H_
