#include "vm/class_table.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/check.h"
#include "base/status_macros.h"

namespace kiln {
namespace {

constexpr FieldType kPrimitiveTypes[] = {
    FieldType::kBoolean, FieldType::kChar,  FieldType::kFloat, FieldType::kDouble,
    FieldType::kByte,    FieldType::kShort, FieldType::kInt,   FieldType::kLong,
};

char DescriptorChar(FieldType type) {
  switch (type) {
    case FieldType::kObject: return 'L';
    case FieldType::kBoolean: return 'Z';
    case FieldType::kChar: return 'C';
    case FieldType::kFloat: return 'F';
    case FieldType::kDouble: return 'D';
    case FieldType::kByte: return 'B';
    case FieldType::kShort: return 'S';
    case FieldType::kInt: return 'I';
    case FieldType::kLong: return 'J';
  }
  KILN_CHECK(false, "bad field type ", static_cast<int>(type));
  __builtin_unreachable();
}

std::vector<ClassSpec> BuiltinSpecs() {
  std::vector<ClassSpec> specs;
  specs.push_back({.name = "java.lang.Object",
                   .super_name = "",
                   .source_file = "Object.java",
                   .methods = {{"wait", "(J)V"}}});
  specs.push_back({.name = "java.lang.Class", .source_file = "Class.java"});
  specs.push_back({.name = "java.lang.String",
                   .source_file = "String.java",
                   .fields = {{"value", FieldType::kObject},
                              {"coder", FieldType::kByte},
                              {"hash", FieldType::kInt}}});
  specs.push_back({.name = "java.lang.Thread",
                   .source_file = "Thread.java",
                   .fields = {{"name", FieldType::kObject},
                              {"tid", FieldType::kLong},
                              {"daemon", FieldType::kBoolean},
                              {"priority", FieldType::kInt}},
                   .methods = {{"<init>", "(Ljava/lang/String;)V"},
                               {"run", "()V"},
                               {"join", "(J)V"}}});
  // References, and the native-allocation registry in the shapes Perfetto and
  // ahat read (docs: "Perfetto's view"): Cleaner.thunk -> CleanerThunk.this$0
  // -> NativeAllocationRegistry.size.
  specs.push_back({.name = "java.lang.ref.Reference",
                   .source_file = "Reference.java",
                   .fields = {{"referent", FieldType::kObject}}});
  specs.push_back({.name = "java.lang.ref.WeakReference",
                   .super_name = "java.lang.ref.Reference",
                   .source_file = "WeakReference.java"});
  specs.push_back({.name = "java.lang.ref.PhantomReference",
                   .super_name = "java.lang.ref.Reference",
                   .source_file = "PhantomReference.java"});
  specs.push_back({.name = "sun.misc.Cleaner",
                   .super_name = "java.lang.ref.PhantomReference",
                   .source_file = "Cleaner.java",
                   .fields = {{"thunk", FieldType::kObject},
                              {"next", FieldType::kObject},
                              {"prev", FieldType::kObject}},
                   .static_fields = {{"first", FieldType::kObject}},
                   .methods = {{"clean", "()V"}}});
  specs.push_back({.name = "libcore.util.NativeAllocationRegistry",
                   .source_file = "NativeAllocationRegistry.java",
                   .fields = {{"freeFunction", FieldType::kLong}, {"size", FieldType::kLong}},
                   .methods = {{"registerNativeAllocation",
                                "(Ljava/lang/Object;J)Ljava/lang/Runnable;"}}});
  specs.push_back({.name = "libcore.util.NativeAllocationRegistry$CleanerThunk",
                   .source_file = "NativeAllocationRegistry.java",
                   .fields = {{"this$0", FieldType::kObject}, {"nativePtr", FieldType::kLong}},
                   .methods = {{"run", "()V"}}});
  return specs;
}

absl::Status ValidateMembers(const ClassSpec& spec) {
  if (spec.name.empty() || spec.name[0] == '[') {
    return absl::InvalidArgumentError(
        absl::StrCat("class table: bad class name \"", spec.name, "\""));
  }
  if (!spec.super_name.empty() && spec.super_name[0] == '[') {
    return absl::InvalidArgumentError(absl::StrCat(
        "class table: class ", spec.name, " cannot extend array class ", spec.super_name));
  }
  absl::flat_hash_set<absl::string_view> names;
  for (const auto* fields : {&spec.fields, &spec.static_fields}) {
    for (const FieldSpec& field : *fields) {
      if (field.name.empty() || !names.insert(field.name).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            "class table: class ", spec.name, " declares field \"", field.name,
            "\" twice or with an empty name"));
      }
    }
  }
  absl::flat_hash_set<std::pair<absl::string_view, absl::string_view>> methods;
  for (const MethodSpec& method : spec.methods) {
    if (method.name.empty() || method.signature.empty() ||
        !methods.insert({method.name, method.signature}).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "class table: class ", spec.name, " declares method ", method.name,
          method.signature, " twice or without a name or signature"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

size_t FieldTypeSize(FieldType type) {
  switch (type) {
    case FieldType::kBoolean:
    case FieldType::kByte:
      return 1;
    case FieldType::kChar:
    case FieldType::kShort:
      return 2;
    case FieldType::kFloat:
    case FieldType::kInt:
      return 4;
    case FieldType::kObject:
    case FieldType::kDouble:
    case FieldType::kLong:
      return 8;
  }
  KILN_CHECK(false, "bad field type ", static_cast<int>(type));
  __builtin_unreachable();
}

absl::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kObject: return "java.lang.Object";
    case FieldType::kBoolean: return "boolean";
    case FieldType::kChar: return "char";
    case FieldType::kFloat: return "float";
    case FieldType::kDouble: return "double";
    case FieldType::kByte: return "byte";
    case FieldType::kShort: return "short";
    case FieldType::kInt: return "int";
    case FieldType::kLong: return "long";
  }
  KILN_CHECK(false, "bad field type ", static_cast<int>(type));
  __builtin_unreachable();
}

absl::StatusOr<std::unique_ptr<ClassTable>> ClassTable::Build(
    absl::Span<const ClassSpec> user_specs) {
  std::vector<ClassSpec> specs = BuiltinSpecs();
  specs.insert(specs.end(), user_specs.begin(), user_specs.end());

  absl::flat_hash_map<absl::string_view, const ClassSpec*> spec_by_name;
  for (const ClassSpec& spec : specs) {
    RETURN_IF_ERROR(ValidateMembers(spec));
    if (!spec_by_name.emplace(spec.name, &spec).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("class table: class ", spec.name, " is defined twice"));
    }
  }

  auto table = std::unique_ptr<ClassTable>(new ClassTable());
  // Define each class once its superclass is defined; a pass that defines
  // nothing means the rest have unknown superclasses or form a cycle.
  std::vector<const ClassSpec*> pending;
  for (const ClassSpec& spec : specs) pending.push_back(&spec);
  while (!pending.empty()) {
    std::vector<const ClassSpec*> next;
    for (const ClassSpec* spec : pending) {
      const Class* super = nullptr;
      if (!spec->super_name.empty()) {
        super = table->Find(spec->super_name);
        if (super == nullptr) {
          next.push_back(spec);
          continue;
        }
      }
      table->DefineInstanceClass(*spec, super);
    }
    if (next.size() == pending.size()) {
      std::vector<std::string> problems;
      for (const ClassSpec* spec : next) {
        problems.push_back(absl::StrCat(
            spec->name, " (superclass ", spec->super_name,
            spec_by_name.contains(spec->super_name) ? " is part of a cycle)"
                                                    : " is not defined)"));
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "class table: cannot define ", absl::StrJoin(problems, ", ")));
    }
    pending = std::move(next);
  }

  table->object_ = table->Find("java.lang.Object");
  table->class_ = table->Find("java.lang.Class");
  table->string_ = table->Find("java.lang.String");
  table->thread_ = table->Find("java.lang.Thread");

  for (FieldType type : kPrimitiveTypes) table->DefineArrayClass(nullptr, type);
  const size_t instance_classes = table->classes_.size() - std::size(kPrimitiveTypes);
  for (size_t i = 0; i < instance_classes; ++i) {
    table->DefineArrayClass(table->classes_[i].get(), FieldType::kObject);
  }

  const Class* thread = table->thread_;
  table->thread_fields_ = {thread->FindField("name"), thread->FindField("tid"),
                           thread->FindField("daemon"), thread->FindField("priority")};
  const Class* cleaner = table->Find("sun.misc.Cleaner");
  const Class* registry = table->Find("libcore.util.NativeAllocationRegistry");
  const Class* thunk = table->Find("libcore.util.NativeAllocationRegistry$CleanerThunk");
  table->references_ = {
      .weak_reference = table->Find("java.lang.ref.WeakReference"),
      .cleaner = cleaner,
      .registry = registry,
      .thunk = thunk,
      .referent = cleaner->FindField("referent"),
      .cleaner_thunk = cleaner->FindField("thunk"),
      .cleaner_next = cleaner->FindField("next"),
      .cleaner_prev = cleaner->FindField("prev"),
      .cleaner_first = cleaner->FindStaticField("first"),
      .registry_free = registry->FindField("freeFunction"),
      .registry_size = registry->FindField("size"),
      .thunk_registry = thunk->FindField("this$0"),
      .thunk_pointer = thunk->FindField("nativePtr"),
  };
  return table;
}

Class* ClassTable::NewClass(std::string name) {
  auto owned = std::unique_ptr<Class>(new Class());
  Class* cls = owned.get();
  cls->name_ = std::move(name);
  cls->id_ = static_cast<uint32_t>(classes_.size());
  classes_.push_back(std::move(owned));
  class_ptrs_.push_back(cls);
  by_name_.emplace(cls->name_, cls);
  return cls;
}

void ClassTable::DefineInstanceClass(const ClassSpec& spec, const Class* super) {
  Class* cls = NewClass(spec.name);
  cls->super_ = super;
  cls->source_file_ = spec.source_file;
  cls->kind = gc::LayoutKind::kInstance;

  // Lay out the declared fields after the superclass's, largest first, so
  // that every field is naturally aligned without padding.
  uint32_t offset = super != nullptr ? super->instance_size : gc::kHeaderSize;
  if (super != nullptr) cls->ref_offset_storage_ = super->ref_offset_storage_;
  std::vector<const FieldSpec*> by_size;
  for (const FieldSpec& field : spec.fields) by_size.push_back(&field);
  std::stable_sort(by_size.begin(), by_size.end(), [](auto* a, auto* b) {
    return FieldTypeSize(a->type) > FieldTypeSize(b->type);
  });
  absl::flat_hash_map<const FieldSpec*, uint32_t> offsets;
  for (const FieldSpec* field : by_size) {
    offsets[field] = offset;
    if (field->type == FieldType::kObject) cls->ref_offset_storage_.push_back(offset);
    offset += static_cast<uint32_t>(FieldTypeSize(field->type));
  }
  // Declaration order is kept for the class's field list: heap dumps list
  // fields as declared.
  for (const FieldSpec& field : spec.fields) {
    cls->fields_.emplace_back(cls, field.name, field.type, offsets[&field]);
  }
  // Weak and phantom references: the collector must not follow the referent.
  if (super != nullptr) {
    cls->reference_kind = super->reference_kind;
    cls->referent_offset = super->referent_offset;
  }
  const bool weak = spec.name == "java.lang.ref.WeakReference";
  if (weak || spec.name == "java.lang.ref.PhantomReference") {
    cls->reference_kind = weak ? gc::ReferenceKind::kWeak : gc::ReferenceKind::kPhantom;
    cls->referent_offset = super->FindField("referent")->offset();
    std::erase(cls->ref_offset_storage_, cls->referent_offset);
  }
  cls->finalizer_ = spec.finalizer ? spec.finalizer
                    : super != nullptr ? super->finalizer_
                                       : Finalizer();
  cls->instance_size = static_cast<uint32_t>(gc::AlignUp(offset, gc::kObjectAlignment));
  cls->ref_offsets = cls->ref_offset_storage_.data();
  cls->num_ref_offsets = static_cast<uint32_t>(cls->ref_offset_storage_.size());

  uint32_t index = 0;
  for (const FieldSpec& field : spec.static_fields) {
    cls->static_fields_.emplace_back(cls, field.name, field.type, index++);
  }
  cls->statics_ = std::make_unique<uint64_t[]>(spec.static_fields.size());
  for (const MethodSpec& method : spec.methods) {
    cls->methods_.emplace_back(cls, method.name, method.signature);
  }
}

void ClassTable::DefineArrayClass(Class* element, FieldType component) {
  std::string name =
      element != nullptr ? absl::StrCat("[L", element->name(), ";")
                         : std::string{'[', DescriptorChar(component)};
  Class* cls = NewClass(std::move(name));
  cls->super_ = object_;
  cls->instance_size = gc::kHeaderSize;
  cls->component_type_ = component;
  cls->statics_ = std::make_unique<uint64_t[]>(0);
  if (element != nullptr) {
    cls->kind = gc::LayoutKind::kObjectArray;
    cls->element_class_ = element;
    element->array_class_ = cls;
  } else {
    cls->kind = gc::LayoutKind::kPrimitiveArray;
    cls->element_size_log2 =
        static_cast<uint8_t>(__builtin_ctz(FieldTypeSize(component)));
    primitive_arrays_[static_cast<int>(component)] = cls;
  }
}

const Class* ClassTable::Find(absl::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

absl::StatusOr<const Method*> ClassTable::FindMethod(absl::string_view class_name,
                                                     absl::string_view name,
                                                     absl::string_view signature) const {
  const Class* cls = Find(class_name);
  if (cls == nullptr) {
    return absl::NotFoundError(absl::StrCat("no class ", class_name));
  }
  const Method* method = cls->FindMethod(name, signature);
  if (method == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("class ", class_name, " has no method ", name, signature));
  }
  return method;
}

const Class* ClassTable::primitive_array_class(FieldType type) const {
  const Class* cls = primitive_arrays_[static_cast<int>(type)];
  KILN_CHECK(cls != nullptr, "no primitive array class for type ", static_cast<int>(type));
  return cls;
}

const Field* Class::FindField(absl::string_view name) const {
  for (const Class* cls = this; cls != nullptr; cls = cls->super_) {
    for (const Field& field : cls->fields_) {
      if (field.name() == name) return &field;
    }
  }
  return nullptr;
}

const Field* Class::FindStaticField(absl::string_view name) const {
  for (const Field& field : static_fields_) {
    if (field.name() == name) return &field;
  }
  return nullptr;
}

const Method* Class::FindMethod(absl::string_view name, absl::string_view signature) const {
  for (const Method& method : methods_) {
    if (method.name() == name && method.signature() == signature) return &method;
  }
  return nullptr;
}

bool Class::IsSubclassOf(const Class* other) const {
  for (const Class* cls = this; cls != nullptr; cls = cls->super_) {
    if (cls == other) return true;
  }
  return false;
}

}  // namespace kiln
