#include "vm/resolver.h"

#include "absl/strings/str_cat.h"
#include "vm/class_table.h"
#include "vm/runtime.h"

namespace kiln {

Resolver::Resolver(const Runtime& runtime) : Resolver(runtime.classes()) {}

const Class* Resolver::Class(absl::string_view name) {
  if (!status_.ok()) return nullptr;
  const kiln::Class* cls = classes_.Find(name);
  if (cls == nullptr) status_ = absl::NotFoundError(absl::StrCat("no class named '", name, "'"));
  return cls;
}

bool Resolver::Usable(const kiln::Class* cls, absl::string_view what, absl::string_view name) {
  if (!status_.ok()) return false;
  if (cls == nullptr) {
    status_ = absl::InvalidArgumentError(absl::StrCat("resolving ", what, " '", name,
                                                      "' of a null class"));
    return false;
  }
  return true;
}

const Field* Resolver::FindField(const kiln::Class* cls, absl::string_view name, FieldType type,
                                 bool is_static) {
  const absl::string_view kind = is_static ? "static field" : "field";
  if (!Usable(cls, kind, name)) return nullptr;
  const kiln::Field* field = is_static ? cls->FindStaticField(name) : cls->FindField(name);
  if (field != nullptr && field->type() == type) return field;
  std::string message = absl::StrCat(cls->name(), " has no ", is_static ? "static " : "",
                                     FieldTypeName(type), " field '", name, "'");
  if (field != nullptr) absl::StrAppend(&message, " (it is ", FieldTypeName(field->type()), ")");
  status_ = absl::NotFoundError(message);
  return nullptr;
}

const Method* Resolver::Method(const kiln::Class* cls, absl::string_view name,
                               absl::string_view signature) {
  if (!Usable(cls, "method", name)) return nullptr;
  const kiln::Method* method = cls->FindMethod(name, signature);
  if (method == nullptr) {
    status_ = absl::NotFoundError(
        absl::StrCat(cls->name(), " has no method ", name, signature));
  }
  return method;
}

}  // namespace kiln
