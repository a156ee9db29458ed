// ClassTable: every class of one runtime, built once at start-up from the
// builtins and the embedder's ClassSpecs, immutable afterwards (so it is read
// without locks from any thread).
//
// Builtins: java.lang.Object, java.lang.Class, java.lang.String (JDK 9+
// layout: byte[] value, byte coder, int hash), java.lang.Thread (name, tid,
// daemon, priority), the eight primitive array classes, and for every instance
// class its one-dimensional array class ("[Ljava.lang.Object;", "[LNode;").
#ifndef KILN_VM_CLASS_TABLE_H_
#define KILN_VM_CLASS_TABLE_H_

#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/must_use.h"
#include "vm/class.h"

namespace kiln {

class ClassTable {
 public:
  // Build validates `specs` (unique names, known superclasses, no cycles, no
  // duplicate field names, no primitive or array superclass) and lays out
  // every class. Specs may come in any order.
  KILN_MUST_USE static absl::StatusOr<std::unique_ptr<ClassTable>> Build(
      absl::Span<const ClassSpec> specs);

  // Find: the class named `name` (a binary name), or nullptr.
  const Class* Find(absl::string_view name) const;
  // FindMethod: a method by class name, name and signature; NotFound names
  // what is missing.
  KILN_MUST_USE absl::StatusOr<const Method*> FindMethod(absl::string_view class_name,
                                                         absl::string_view name,
                                                         absl::string_view signature) const;

  // classes: all classes, indexed by Class::id().
  absl::Span<const Class* const> classes() const { return class_ptrs_; }
  size_t size() const { return class_ptrs_.size(); }

  const Class* object_class() const { return object_; }
  const Class* class_class() const { return class_; }
  const Class* string_class() const { return string_; }
  const Class* thread_class() const { return thread_; }
  const Class* object_array_class() const { return object_->array_class(); }
  // primitive_array_class: "[I" for kInt and so on; CHECKs on kObject.
  const Class* primitive_array_class(FieldType type) const;

  // Well-known fields of the builtins.
  struct ThreadFields {
    const Field* name;
    const Field* tid;
    const Field* daemon;
    const Field* priority;
  };
  const ThreadFields& thread_fields() const { return thread_fields_; }

  // The reference and native-allocation classes, and their fields.
  struct ReferenceClasses {
    const Class* weak_reference;
    const Class* cleaner;
    const Class* registry;
    const Class* thunk;
    const Field* referent;        // java.lang.ref.Reference.referent
    const Field* cleaner_thunk;   // sun.misc.Cleaner.thunk
    const Field* cleaner_next;
    const Field* cleaner_prev;
    const Field* cleaner_first;   // static
    const Field* registry_free;   // NativeAllocationRegistry.freeFunction
    const Field* registry_size;   // NativeAllocationRegistry.size
    const Field* thunk_registry;  // CleanerThunk.this$0
    const Field* thunk_pointer;   // CleanerThunk.nativePtr
  };
  const ReferenceClasses& references() const { return references_; }

 private:
  ClassTable() = default;
  Class* NewClass(std::string name);
  void DefineInstanceClass(const ClassSpec& spec, const Class* super);
  void DefineArrayClass(Class* element_or_null, FieldType component);

  std::vector<std::unique_ptr<Class>> classes_;
  std::vector<const Class*> class_ptrs_;
  absl::flat_hash_map<std::string, const Class*> by_name_;
  const Class* object_ = nullptr;
  const Class* class_ = nullptr;
  const Class* string_ = nullptr;
  const Class* thread_ = nullptr;
  const Class* primitive_arrays_[12] = {};  // indexed by FieldType
  ThreadFields thread_fields_{};
  ReferenceClasses references_{};
};

}  // namespace kiln

#endif  // KILN_VM_CLASS_TABLE_H_
