// HprofSnapshot: an HPROF file read into memory and indexed by id, for
// questions such as "how many instances of java.lang.String", "what does this
// field hold", "does every reference resolve". Built on HprofReader (which
// validates the format, and names the offset of every record it rejects);
// Load also rejects superclass chains that loop or run deeper than
// kHprofMaxSuperclassDepth, so every walk up a chain ends. CheckReferences
// validates the graph.
//
//   ASSIGN_OR_RETURN(auto snapshot, HprofSnapshot::Load("/tmp/app.hprof"));
//   const HprofSnapshot::Class* node = snapshot->FindClass("app.Node");
//   RETURN_IF_ERROR(snapshot->CheckReferences());
#ifndef KILN_INSPECTION_HPROF_HPROF_SNAPSHOT_H_
#define KILN_INSPECTION_HPROF_HPROF_SNAPSHOT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "base/must_use.h"
#include "inspection/hprof/hprof_reader.h"

namespace kiln {

class HprofSnapshot : public HprofVisitor {
 public:
  struct Class {
    uint64_t id = 0;
    uint32_t serial = 0;
    std::string name;  // dotted: java.lang.String, [I, [Ljava.lang.Object;
    bool dumped = false;  // a CLASS_DUMP was seen
    uint64_t offset = 0;  // of the CLASS_DUMP
    uint64_t super_id = 0;
    uint32_t instance_size = 0;
    std::vector<HprofFieldInfo> fields;
    std::vector<HprofStaticInfo> statics;
  };
  struct Instance {
    uint64_t class_id;
    absl::Span<const uint8_t> values;
  };
  struct ObjectArray {
    uint64_t class_id;
    std::vector<uint64_t> elements;
  };
  struct PrimitiveArray {
    uint8_t type;
    uint32_t length;
    absl::Span<const uint8_t> elements;
  };
  struct Root {
    uint8_t tag;
    uint64_t id;
    uint32_t thread_serial;
    int32_t depth;
    uint32_t trace_serial;
  };
  struct StackFrame {
    std::string method;
    std::string signature;
    std::string source;
    uint32_t class_serial;
    int32_t line;
  };
  struct StackTrace {
    uint32_t thread_serial;
    std::vector<uint64_t> frame_ids;
  };
  // A field value: the type and the raw value (ids and primitives,
  // zero-extended; floats as their bits).
  struct Value {
    uint8_t type;
    uint64_t bits;
  };

  KILN_MUST_USE static absl::StatusOr<std::unique_ptr<HprofSnapshot>> Load(const std::string& path);
  KILN_MUST_USE static absl::StatusOr<std::unique_ptr<HprofSnapshot>> FromBytes(
      std::vector<uint8_t> bytes);

  // FindClass: by dotted name; nullptr if absent.
  const Class* FindClass(const std::string& name) const;
  const Class* ClassById(uint64_t id) const;
  // InstancesOf: ids of the instances whose class is exactly `name`.
  std::vector<uint64_t> InstancesOf(const std::string& name) const;
  // Fields: an instance's field values by name, its own class's first (a
  // shadowed superclass field is not listed).
  KILN_MUST_USE absl::StatusOr<std::map<std::string, Value>> Fields(uint64_t instance_id) const;
  // StringValue: the text of a java.lang.String (JDK 9+ value/coder layout,
  // or the old char[] layout), as UTF-8.
  KILN_MUST_USE absl::StatusOr<std::string> StringValue(uint64_t string_id) const;
  // CheckReferences: every class has its LOAD_CLASS and CLASS_DUMP, every
  // instance and array its class, and every reference in a field, static,
  // array element or root names an object or class in the file.
  KILN_MUST_USE absl::Status CheckReferences() const;

  bool Contains(uint64_t id) const;
  const std::string& StringById(uint64_t id) const;

  const absl::flat_hash_map<uint64_t, Class>& classes() const { return classes_; }
  const absl::flat_hash_map<uint64_t, Instance>& instances() const { return instances_; }
  const absl::flat_hash_map<uint64_t, ObjectArray>& object_arrays() const { return object_arrays_; }
  const absl::flat_hash_map<uint64_t, PrimitiveArray>& primitive_arrays() const {
    return primitive_arrays_;
  }
  const std::vector<Root>& roots() const { return roots_; }
  const absl::flat_hash_map<uint64_t, StackFrame>& frames() const { return frames_; }
  const absl::flat_hash_map<uint32_t, StackTrace>& traces() const { return traces_; }
  uint32_t id_size() const { return reader_->id_size(); }

  // HprofVisitor
  KILN_MUST_USE absl::Status OnString(uint64_t id, absl::string_view text) override;
  KILN_MUST_USE absl::Status OnLoadClass(uint32_t serial, uint64_t class_id,
                                         uint64_t name_id) override;
  KILN_MUST_USE absl::Status OnStackFrame(uint64_t frame_id, uint64_t method_name_id,
                                          uint64_t signature_id, uint64_t source_id,
                                          uint32_t class_serial, int32_t line) override;
  KILN_MUST_USE absl::Status OnStackTrace(uint32_t serial, uint32_t thread_serial,
                                          absl::Span<const uint64_t> frame_ids) override;
  KILN_MUST_USE absl::Status OnRoot(uint8_t tag, uint64_t id, uint32_t thread_serial, int32_t depth,
                                    uint32_t trace_serial) override;
  KILN_MUST_USE absl::Status OnClassDump(const HprofClassDump& dump) override;
  KILN_MUST_USE absl::Status OnInstance(uint64_t id, uint64_t class_id,
                                        absl::Span<const uint8_t> values) override;
  KILN_MUST_USE absl::Status OnObjectArray(uint64_t id, uint64_t class_id,
                                           absl::Span<const uint64_t> elements) override;
  KILN_MUST_USE absl::Status OnPrimitiveArray(uint64_t id, uint8_t type, uint32_t length,
                                              absl::Span<const uint8_t> elements) override;

 private:
  HprofSnapshot() = default;
  KILN_MUST_USE static absl::StatusOr<std::unique_ptr<HprofSnapshot>> Build(
      std::unique_ptr<HprofReader> reader);
  KILN_MUST_USE absl::Status Duplicate(uint64_t id, const char* what) const;
  // AddObjectId: `id` (an object's or a CLASS_DUMP's) is new; else an error
  // naming the offset of its first record.
  KILN_MUST_USE absl::Status AddObjectId(uint64_t id);
  KILN_MUST_USE absl::Status CheckSuperclassChains() const;

  std::unique_ptr<HprofReader> reader_;
  absl::flat_hash_map<uint64_t, uint64_t> object_offsets_;  // id -> offset of its record
  absl::flat_hash_map<uint64_t, std::string> strings_;
  absl::flat_hash_map<uint64_t, Class> classes_;
  absl::flat_hash_map<std::string, uint64_t> class_by_name_;
  absl::flat_hash_map<uint64_t, Instance> instances_;
  absl::flat_hash_map<uint64_t, ObjectArray> object_arrays_;
  absl::flat_hash_map<uint64_t, PrimitiveArray> primitive_arrays_;
  std::vector<Root> roots_;
  absl::flat_hash_map<uint64_t, StackFrame> frames_;
  absl::flat_hash_map<uint32_t, StackTrace> traces_;
};

}  // namespace kiln

#endif  // KILN_INSPECTION_HPROF_HPROF_SNAPSHOT_H_
