// Classes, fields and methods: Kiln's ahead-of-time type system.
//
// Managed code is C++ compiled against Kiln, so every class is known before the
// runtime starts: the embedder describes its classes as ClassSpecs in
// RuntimeOptions and the runtime builds one immutable Class per spec (plus the
// builtins) at start-up. Names are Java binary names ("java.lang.String",
// "[I", "[Ljava.lang.Object;") so that heap dumps read like a JVM's.
//
// A Class *is* the collector's Layout for its instances (public inheritance,
// so gc/ walks objects without knowing about classes, and the VM gets from an
// object header to its Class with a static_cast).
#ifndef KILN_VM_CLASS_H_
#define KILN_VM_CLASS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/check.h"
#include "gc/object_header.h"
#include "vm/field_access.h"

namespace kiln {

class Class;
class Object;
class Thread;

// FieldType: a field's or array element's type. The values are HPROF's basic
// type codes.
enum class FieldType : uint8_t {
  kObject = 2,
  kBoolean = 4,
  kChar = 5,
  kFloat = 6,
  kDouble = 7,
  kByte = 8,
  kShort = 9,
  kInt = 10,
  kLong = 11,
};

// FieldTypeSize: bytes a value of `type` occupies in an object.
size_t FieldTypeSize(FieldType type);
// FieldTypeName: the Java name of the type ("int", "java.lang.Object").
absl::string_view FieldTypeName(FieldType type);

// FieldTypeOf<T>: the FieldType that C++ type T reads and writes.
template <typename T> struct FieldTypeOf;
template <> struct FieldTypeOf<bool> { static constexpr FieldType value = FieldType::kBoolean; };
template <> struct FieldTypeOf<char16_t> { static constexpr FieldType value = FieldType::kChar; };
template <> struct FieldTypeOf<float> { static constexpr FieldType value = FieldType::kFloat; };
template <> struct FieldTypeOf<double> { static constexpr FieldType value = FieldType::kDouble; };
template <> struct FieldTypeOf<int8_t> { static constexpr FieldType value = FieldType::kByte; };
template <> struct FieldTypeOf<int16_t> { static constexpr FieldType value = FieldType::kShort; };
template <> struct FieldTypeOf<int32_t> { static constexpr FieldType value = FieldType::kInt; };
template <> struct FieldTypeOf<int64_t> { static constexpr FieldType value = FieldType::kLong; };
template <> struct FieldTypeOf<Object*> { static constexpr FieldType value = FieldType::kObject; };

// Specs: what an embedder writes to define its classes.
struct FieldSpec {
  std::string name;
  FieldType type;
};

struct MethodSpec {
  std::string name;       // "run"
  std::string signature;  // JVM descriptor, "()V"
};

// Finalizer: Java's finalize(), run on the runtime's "Finalizer" daemon
// thread once an instance is no longer reachable; the object is collected
// after it returns (unless it made the object reachable again).
using Finalizer = std::function<void(Thread& thread, Object* object)>;

struct ClassSpec {
  std::string name;  // binary name, "com.example.Node"
  std::string super_name = "java.lang.Object";
  std::string source_file;  // shown in stack traces, "Node.cc"
  std::vector<FieldSpec> fields;
  std::vector<FieldSpec> static_fields;
  std::vector<MethodSpec> methods;
  // finalizer: inherited by subclasses that do not set their own.
  Finalizer finalizer;
};

// Field: an instance field (offset from the object's start) or a static field
// (index into its class's static storage).
class Field {
 public:
  Field(const Class* holder, std::string name, FieldType type, uint32_t offset)
      : holder_(holder), name_(std::move(name)), type_(type), offset_(offset) {}

  const Class* holder() const { return holder_; }
  const std::string& name() const { return name_; }
  FieldType type() const { return type_; }
  uint32_t offset() const { return offset_; }

 private:
  const Class* holder_;
  std::string name_;
  FieldType type_;
  uint32_t offset_;
};

// Method: a method of a class, as stack traces name it.
class Method {
 public:
  Method(const Class* holder, std::string name, std::string signature)
      : holder_(holder), name_(std::move(name)), signature_(std::move(signature)) {}

  const Class* holder() const { return holder_; }
  const std::string& name() const { return name_; }
  const std::string& signature() const { return signature_; }

 private:
  const Class* holder_;
  std::string name_;
  std::string signature_;
};

class Class final : public gc::Layout {
 public:
  // From: the class of an object, read from its header.
  static const Class* From(const gc::ObjectHeader* header) {
    return static_cast<const Class*>(header->layout);
  }

  Class(const Class&) = delete;
  Class& operator=(const Class&) = delete;

  const std::string& name() const { return name_; }
  const Class* super() const { return super_; }
  const std::string& source_file() const { return source_file_; }
  // id: the class's index in its ClassTable, stable for the runtime's life.
  uint32_t id() const { return id_; }

  // Fields and methods this class declares (not its superclasses').
  absl::Span<const Field> fields() const { return fields_; }
  absl::Span<const Field> static_fields() const { return static_fields_; }
  absl::Span<const Method> methods() const { return methods_; }

  // FindField: the instance field `name`, searching superclasses; nullptr if
  // there is none. FindStaticField searches this class only. Low-level
  // lookups by name: a program resolves typed FieldRefs once with
  // kiln::Resolver instead.
  const Field* FindField(absl::string_view name) const;
  const Field* FindStaticField(absl::string_view name) const;
  const Method* FindMethod(absl::string_view name, absl::string_view signature) const;

  bool IsArray() const { return gc::Layout::IsArray(); }
  bool IsObjectArray() const { return kind == gc::LayoutKind::kObjectArray; }
  bool IsPrimitiveArray() const { return kind == gc::LayoutKind::kPrimitiveArray; }
  // component_type: the element type of an array class.
  FieldType component_type() const { return component_type_; }
  // element_class: for object arrays, the class of the elements.
  const Class* element_class() const { return element_class_; }
  // array_class: the class of one-dimensional arrays of this class.
  const Class* array_class() const { return array_class_; }

  // finalizer: the class's finalizer, or an empty function.
  const Finalizer& finalizer() const { return finalizer_; }
  bool has_finalizer() const { return static_cast<bool>(finalizer_); }

  // IsSubclassOf: whether this class is `other` or inherits from it.
  bool IsSubclassOf(const Class* other) const;

  // mirror: this class's java.lang.Class instance on the heap. Set once at
  // start-up; only the collector (world stopped) changes it afterwards.
  Object* mirror() const { return mirror_; }
  Object** mirror_slot() const { return &mirror_; }

  // Static field values, by Field (low-level: programs use StaticFieldRef).
  // Statics live outside the heap, one 8-byte slot each.
  template <typename T>
  T GetStatic(const Field& field) const;
  template <typename T>
  void SetStatic(const Field& field, T value) const;
  Object* GetStaticRef(const Field& field) const { return GetStatic<Object*>(field); }
  void SetStaticRef(const Field& field, Object* value) const {
    SetStatic<Object*>(field, value);
  }
  // static_ref_slot: the storage of a static reference field, for root visits.
  Object** static_ref_slot(const Field& field) const {
    return reinterpret_cast<Object**>(&statics_[field.offset()]);
  }

 private:
  friend class ClassTable;
  Class() = default;

  std::string name_;
  const Class* super_ = nullptr;
  std::string source_file_;
  uint32_t id_ = 0;
  std::vector<Field> fields_;
  std::vector<Field> static_fields_;
  std::vector<Method> methods_;
  std::vector<uint32_t> ref_offset_storage_;  // gc::Layout::ref_offsets
  FieldType component_type_ = FieldType::kObject;
  const Class* element_class_ = nullptr;
  const Class* array_class_ = nullptr;
  std::unique_ptr<uint64_t[]> statics_;
  Finalizer finalizer_;
  mutable Object* mirror_ = nullptr;
};

template <typename T>
T Class::GetStatic(const Field& field) const {
  KILN_DCHECK(field.type() == FieldTypeOf<T>::value, "static ", field.name());
  T* slot = reinterpret_cast<T*>(&statics_[field.offset()]);
  return internal::LoadField<T>(slot);
}

template <typename T>
void Class::SetStatic(const Field& field, T value) const {
  KILN_DCHECK(field.type() == FieldTypeOf<T>::value, "static ", field.name());
  T* slot = reinterpret_cast<T*>(&statics_[field.offset()]);
  internal::StoreField<T>(slot, value);
}

}  // namespace kiln

#endif  // KILN_VM_CLASS_H_
