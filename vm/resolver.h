// Resolver: resolves a program's classes, fields and methods once, after
// Runtime::Create, and reports the first thing missing as one Status.
//
//   struct ItemApi {
//     const kiln::Class* item;
//     kiln::FieldRef<int32_t> index;
//     const kiln::Method* append;
//   };
//   absl::StatusOr<ItemApi> ResolveItemApi(const kiln::Runtime& runtime) {
//     kiln::Resolver resolver(runtime);
//     ItemApi api;
//     api.item = resolver.Class("demo.Item");
//     api.index = resolver.Field<int32_t>(api.item, "index");
//     api.append = resolver.Method(api.item, "append", "(I)Ldemo/Item;");
//     RETURN_IF_ERROR(resolver.status());  // NotFound: demo.Item has no int field 'index'
//     return api;
//   }
//
// Each call returns what it resolved, or null / an empty ref. Once a call
// failed, the rest return empty too and the first error is kept (a missing
// class is reported, not every field of it). Nothing is looked up by string
// after resolution: hot code uses the Class pointers, FieldRefs and Method
// pointers.
#ifndef KILN_VM_RESOLVER_H_
#define KILN_VM_RESOLVER_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "base/must_use.h"
#include "vm/class.h"
#include "vm/field_ref.h"

namespace kiln {

class ClassTable;
class Runtime;

class Resolver {
 public:
  explicit Resolver(const Runtime& runtime);
  explicit Resolver(const ClassTable& classes) : classes_(classes) {}

  // Class: the class with this binary name ("demo.Item", "[I").
  const kiln::Class* Class(absl::string_view name);
  // Field: the instance field `name` of `cls` or a superclass, of T's type.
  template <FieldValue T>
  FieldRef<T> Field(const kiln::Class* cls, absl::string_view name) {
    const kiln::Field* field = FindField(cls, name, FieldRef<T>::kType, /*is_static=*/false);
    return field == nullptr ? FieldRef<T>() : FieldRef<T>(field);
  }
  // StaticField: the static field `name` declared by `cls`, of T's type.
  template <FieldValue T>
  StaticFieldRef<T> StaticField(const kiln::Class* cls, absl::string_view name) {
    const kiln::Field* field = FindField(cls, name, StaticFieldRef<T>::kType, /*is_static=*/true);
    if (field == nullptr) return StaticFieldRef<T>();
    using Storage = typename StaticFieldRef<T>::Storage;
    return StaticFieldRef<T>(field, reinterpret_cast<Storage*>(cls->static_ref_slot(*field)));
  }
  // Method: the method of `cls` with this name and JVM signature.
  const kiln::Method* Method(const kiln::Class* cls, absl::string_view name,
                             absl::string_view signature);

  // status: OK if everything resolved so far did; otherwise the first
  // failure (NotFound, naming the class, the member and its type).
  KILN_MUST_USE absl::Status status() const { return status_; }

 private:
  const kiln::Field* FindField(const kiln::Class* cls, absl::string_view name, FieldType type,
                               bool is_static);
  // Usable: whether to go on (no error yet); records one for a null class.
  bool Usable(const kiln::Class* cls, absl::string_view what, absl::string_view name);

  const ClassTable& classes_;
  absl::Status status_;
};

}  // namespace kiln

#endif  // KILN_VM_RESOLVER_H_
