// HprofSnapshot: the visitor that indexes a parse, and the queries on it.
#include "inspection/hprof/hprof_snapshot.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "base/status_macros.h"
#include "base/utf8.h"

namespace kiln {
namespace {

uint64_t ReadBigEndian(const uint8_t* p, size_t size) {
  uint64_t v = 0;
  for (size_t i = 0; i < size; ++i) v = v << 8 | p[i];
  return v;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HprofSnapshot>> HprofSnapshot::Load(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<HprofReader> reader, HprofReader::Open(path));
  return Build(std::move(reader));
}

absl::StatusOr<std::unique_ptr<HprofSnapshot>> HprofSnapshot::FromBytes(
    std::vector<uint8_t> bytes) {
  return Build(HprofReader::FromBytes(std::move(bytes)));
}

absl::StatusOr<std::unique_ptr<HprofSnapshot>> HprofSnapshot::Build(
    std::unique_ptr<HprofReader> reader) {
  auto snapshot = std::unique_ptr<HprofSnapshot>(new HprofSnapshot());
  snapshot->reader_ = std::move(reader);
  RETURN_IF_ERROR(snapshot->reader_->Parse(*snapshot));
  RETURN_IF_ERROR(snapshot->CheckSuperclassChains());
  return snapshot;
}

// The reader prefixes a visitor's error with the record's offset and name.
absl::Status HprofSnapshot::Duplicate(uint64_t id, const char* what) const {
  return absl::DataLossError(absl::StrFormat("%s 0x%x appears twice", what, id));
}

absl::Status HprofSnapshot::AddObjectId(uint64_t id) {
  const auto [it, inserted] = object_offsets_.try_emplace(id, reader_->record_offset());
  if (inserted) return absl::OkStatus();
  return absl::DataLossError(absl::StrFormat(
      "object id 0x%x appears twice: its first record is at offset %d", id, it->second));
}

// CheckSuperclassChains: classes numbered in id order, so that the class an
// error names does not depend on hash order.
absl::Status HprofSnapshot::CheckSuperclassChains() const {
  std::vector<uint64_t> ids;
  ids.reserve(classes_.size());
  for (const auto& [id, cls] : classes_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  const auto number = [&](uint64_t id) {
    return static_cast<uint32_t>(std::lower_bound(ids.begin(), ids.end(), id) - ids.begin());
  };
  std::vector<uint32_t> supers(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const uint64_t super_id = classes_.at(ids[i]).super_id;
    const uint32_t k = number(super_id);
    supers[i] = super_id != 0 && k < ids.size() && ids[k] == super_id ? k : ~uint32_t{0};
  }
  const std::optional<HprofBadChain> bad = FindBadSuperclassChain(supers);
  if (!bad.has_value()) return absl::OkStatus();
  const Class& cls = classes_.at(ids[bad->cls]);
  return SuperclassChainError(*bad, cls.offset, cls.id, cls.name);
}

absl::Status HprofSnapshot::OnString(uint64_t id, absl::string_view text) {
  if (!strings_.emplace(id, std::string(text)).second) return Duplicate(id, "string id");
  return absl::OkStatus();
}

absl::Status HprofSnapshot::OnLoadClass(uint32_t serial, uint64_t class_id, uint64_t name_id) {
  auto name = strings_.find(name_id);
  if (name == strings_.end()) {
    return absl::DataLossError(absl::StrFormat(
        "class 0x%x's name is string 0x%x, which is not defined before it", class_id,
        name_id));
  }
  Class& cls = classes_[class_id];
  const std::string dotted = absl::StrReplaceAll(name->second, {{"/", "."}});
  if (cls.serial != 0) {
    // HotSpot writes a class once per loader that can see it (its initiating
    // loaders' dictionaries), under one id and one name; the first serial
    // stays. The same id under another name is a contradiction.
    if (cls.name == dotted) return absl::OkStatus();
    return absl::DataLossError(absl::StrFormat(
        "LOAD_CLASS of class 0x%x names it %s, an earlier one %s", class_id, dotted, cls.name));
  }
  cls.id = class_id;
  cls.serial = serial;
  cls.name = dotted;
  class_by_name_[cls.name] = class_id;
  return absl::OkStatus();
}

absl::Status HprofSnapshot::OnStackFrame(uint64_t frame_id, uint64_t method_name_id,
                                         uint64_t signature_id, uint64_t source_id,
                                         uint32_t class_serial, int32_t line) {
  StackFrame frame{StringById(method_name_id), StringById(signature_id), StringById(source_id),
                   class_serial, line};
  if (!frames_.emplace(frame_id, std::move(frame)).second) return Duplicate(frame_id, "frame id");
  return absl::OkStatus();
}

absl::Status HprofSnapshot::OnStackTrace(uint32_t serial, uint32_t thread_serial,
                                         absl::Span<const uint64_t> frame_ids) {
  StackTrace trace{thread_serial, std::vector<uint64_t>(frame_ids.begin(), frame_ids.end())};
  if (!traces_.emplace(serial, std::move(trace)).second) return Duplicate(serial, "trace serial");
  return absl::OkStatus();
}

absl::Status HprofSnapshot::OnRoot(uint8_t tag, uint64_t id, uint32_t thread_serial,
                                   int32_t depth, uint32_t trace_serial) {
  roots_.push_back(Root{tag, id, thread_serial, depth, trace_serial});
  return absl::OkStatus();
}

absl::Status HprofSnapshot::OnClassDump(const HprofClassDump& dump) {
  RETURN_IF_ERROR(AddObjectId(dump.class_id));
  Class& cls = classes_[dump.class_id];
  cls.id = dump.class_id;
  cls.dumped = true;
  cls.offset = dump.offset;
  cls.super_id = dump.super_id;
  cls.instance_size = dump.instance_size;
  cls.fields = dump.fields;
  cls.statics = dump.statics;
  return absl::OkStatus();
}

absl::Status HprofSnapshot::OnInstance(uint64_t id, uint64_t class_id,
                                       absl::Span<const uint8_t> values) {
  RETURN_IF_ERROR(AddObjectId(id));
  instances_.emplace(id, Instance{class_id, values});
  return absl::OkStatus();
}

absl::Status HprofSnapshot::OnObjectArray(uint64_t id, uint64_t class_id,
                                          absl::Span<const uint64_t> elements) {
  RETURN_IF_ERROR(AddObjectId(id));
  object_arrays_.emplace(
      id, ObjectArray{class_id, std::vector<uint64_t>(elements.begin(), elements.end())});
  return absl::OkStatus();
}

absl::Status HprofSnapshot::OnPrimitiveArray(uint64_t id, uint8_t type, uint32_t length,
                                             absl::Span<const uint8_t> elements) {
  RETURN_IF_ERROR(AddObjectId(id));
  primitive_arrays_.emplace(id, PrimitiveArray{type, length, elements});
  return absl::OkStatus();
}

const std::string& HprofSnapshot::StringById(uint64_t id) const {
  static const std::string* const kMissing = new std::string("<missing string>");
  auto it = strings_.find(id);
  return it == strings_.end() ? *kMissing : it->second;
}

const HprofSnapshot::Class* HprofSnapshot::FindClass(const std::string& name) const {
  auto it = class_by_name_.find(name);
  return it == class_by_name_.end() ? nullptr : ClassById(it->second);
}

const HprofSnapshot::Class* HprofSnapshot::ClassById(uint64_t id) const {
  auto it = classes_.find(id);
  return it == classes_.end() ? nullptr : &it->second;
}

std::vector<uint64_t> HprofSnapshot::InstancesOf(const std::string& name) const {
  std::vector<uint64_t> ids;
  const Class* cls = FindClass(name);
  if (cls == nullptr) return ids;
  for (const auto& [id, instance] : instances_) {
    if (instance.class_id == cls->id) ids.push_back(id);
  }
  for (const auto& [id, array] : object_arrays_) {
    if (array.class_id == cls->id) ids.push_back(id);
  }
  return ids;
}

bool HprofSnapshot::Contains(uint64_t id) const {
  return instances_.contains(id) || object_arrays_.contains(id) ||
         primitive_arrays_.contains(id) || classes_.contains(id);
}

absl::StatusOr<std::map<std::string, HprofSnapshot::Value>> HprofSnapshot::Fields(
    uint64_t instance_id) const {
  auto it = instances_.find(instance_id);
  if (it == instances_.end()) {
    return absl::NotFoundError(absl::StrFormat("no instance 0x%x", instance_id));
  }
  std::map<std::string, Value> fields;
  const Instance& instance = it->second;
  size_t at = 0;
  for (const Class* cls = ClassById(instance.class_id); cls != nullptr;
       cls = cls->super_id == 0 ? nullptr : ClassById(cls->super_id)) {
    for (const HprofFieldInfo& field : cls->fields) {
      const size_t size = field.type == hprof::kObject ? id_size() : hprof::BasicTypeSize(field.type);
      if (at + size > instance.values.size()) {
        return absl::DataLossError(absl::StrFormat(
            "instance 0x%x: its %d value bytes end before field %s", instance_id,
            instance.values.size(), StringById(field.name_id)));
      }
      fields.emplace(StringById(field.name_id),
                     Value{field.type, ReadBigEndian(instance.values.data() + at, size)});
      at += size;
    }
  }
  if (at != instance.values.size()) {
    return absl::DataLossError(absl::StrFormat("instance 0x%x: %d value bytes, fields need %d",
                                               instance_id, instance.values.size(), at));
  }
  return fields;
}

absl::StatusOr<std::string> HprofSnapshot::StringValue(uint64_t string_id) const {
  ASSIGN_OR_RETURN(auto fields, Fields(string_id));
  auto value = fields.find("value");
  if (value == fields.end()) return absl::NotFoundError("not a java.lang.String");
  if (value->second.bits == 0) return std::string();
  auto array = primitive_arrays_.find(value->second.bits);
  if (array == primitive_arrays_.end()) {
    return absl::DataLossError(absl::StrFormat("string 0x%x: value array missing", string_id));
  }
  const PrimitiveArray& a = array->second;
  std::u16string units;
  if (a.type == hprof::kChar) {  // pre-JDK 9: char[], big-endian in the file
    for (uint32_t i = 0; i < a.length; ++i) {
      units.push_back(static_cast<char16_t>(a.elements[2 * i] << 8 | a.elements[2 * i + 1]));
    }
    return Utf16ToUtf8(units);
  }
  auto coder = fields.find("coder");
  const bool utf16 = coder != fields.end() && coder->second.bits == 1;
  if (utf16) {  // UTF-16, in the platform's (little-endian) byte order
    for (uint32_t i = 0; i + 1 < a.length; i += 2) {
      units.push_back(static_cast<char16_t>(a.elements[i] | a.elements[i + 1] << 8));
    }
  } else {
    for (uint32_t i = 0; i < a.length; ++i) units.push_back(a.elements[i]);
  }
  return Utf16ToUtf8(units);
}

absl::Status HprofSnapshot::CheckReferences() const {
  auto check = [&](uint64_t id, const std::string& where) -> absl::Status {
    if (id == 0 || Contains(id)) return absl::OkStatus();
    return absl::DataLossError(absl::StrFormat("%s refers to 0x%x, which is not in the dump",
                                               where, id));
  };
  for (const auto& [id, cls] : classes_) {
    if (cls.serial == 0) return absl::DataLossError(absl::StrFormat("class 0x%x has no LOAD_CLASS", id));
    if (!cls.dumped) {
      return absl::DataLossError(absl::StrFormat("class %s has no CLASS_DUMP", cls.name));
    }
    if (cls.super_id != 0 && !classes_.contains(cls.super_id)) {
      return absl::DataLossError(absl::StrFormat("class %s: unknown superclass", cls.name));
    }
    for (const HprofStaticInfo& s : cls.statics) {
      if (s.type == hprof::kObject) {
        RETURN_IF_ERROR(check(s.value, absl::StrCat("static ", cls.name, ".",
                                                    StringById(s.name_id))));
      }
    }
  }
  for (const auto& [id, instance] : instances_) {
    const Class* cls = ClassById(instance.class_id);
    if (cls == nullptr || !cls->dumped) {
      return absl::DataLossError(absl::StrFormat("instance 0x%x has unknown class 0x%x", id,
                                                 instance.class_id));
    }
    ASSIGN_OR_RETURN(auto fields, Fields(id));
    for (const auto& [name, value] : fields) {
      if (value.type == hprof::kObject) {
        RETURN_IF_ERROR(check(value.bits, absl::StrFormat("%s 0x%x.%s", cls->name, id, name)));
      }
    }
  }
  for (const auto& [id, array] : object_arrays_) {
    if (ClassById(array.class_id) == nullptr) {
      return absl::DataLossError(absl::StrFormat("array 0x%x has unknown class", id));
    }
    for (size_t i = 0; i < array.elements.size(); ++i) {
      RETURN_IF_ERROR(check(array.elements[i], absl::StrFormat("array 0x%x[%d]", id, i)));
    }
  }
  for (const Root& root : roots_) {
    RETURN_IF_ERROR(check(root.id, absl::StrFormat("root (tag 0x%02x)", root.tag)));
  }
  return absl::OkStatus();
}

}  // namespace kiln
