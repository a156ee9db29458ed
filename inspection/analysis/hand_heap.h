// HandHeap (tests only): writes small HPROF heaps of any shape through
// Kiln's HprofWriter, so the graph-algorithm tests can state every size,
// parent and dominator by hand. Every class gets STRINGs, a LOAD_CLASS and a
// CLASS_DUMP whose instance size is Kiln's shape, a 16-byte header plus the
// field bytes of the class and its superclasses; array classes get 16 too
// (Kiln and HotSpot write 0) so that the header an array adds shows; ids are
// handed out in increasing order.
//
//   HandHeap heap;
//   uint64_t node = heap.Class("app.Node", {{"next", hprof::kObject}, {"n", hprof::kLong}});
//   uint64_t a = heap.Instance(node, {0, 7});
//   heap.Root(RootType::kJniGlobal, a);
//   absl::StatusOr<HandGraph> g = heap.Build();
#ifndef KILN_INSPECTION_ANALYSIS_HAND_HEAP_H_
#define KILN_INSPECTION_ANALYSIS_HAND_HEAP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "base/must_use.h"
#include "inspection/analysis/heap_graph.h"
#include "inspection/hprof/hprof_reader.h"

namespace kiln::analysis {

struct HandGraph {
  std::unique_ptr<HprofReader> reader;  // outlives graph
  std::unique_ptr<HeapGraph> graph;
  // Index: the object index of `id` (checked).
  uint32_t Index(uint64_t id) const;
};

class HandHeap {
 public:
  using Fields = std::vector<std::pair<std::string, uint8_t>>;  // name, hprof::BasicType
  struct Static {
    std::string name;
    uint8_t type;
    uint64_t value;
  };

  // Defines java.lang.Object, java.lang.ref.Reference {referent},
  // java.lang.ref.WeakReference and java.lang.Object[].
  HandHeap();

  // Class: a class named `name` (dotted) extending `super_id` (0: Object).
  uint64_t Class(const std::string& name, const Fields& fields, uint64_t super_id = 0,
                 const std::vector<Static>& statics = {});
  // Instance: a value for every field, the class's own first, then its
  // superclasses' (HPROF order); ids for object fields.
  uint64_t Instance(uint64_t class_id, const std::vector<uint64_t>& values);
  // ObjectArray: a java.lang.Object[] holding `elements` (0 = null), or an
  // array of class `class_id` when non-zero.
  uint64_t ObjectArray(const std::vector<uint64_t>& elements, uint64_t class_id = 0);
  // PrimitiveArray: `length` zeroed elements of basic type `type`.
  uint64_t PrimitiveArray(uint8_t type, uint32_t length);
  void Root(RootType type, uint64_t id);
  // For malformed heaps: SetSuperclass makes class `class_id` extend
  // `super_id` (a loop if the chain leads back; give such classes no
  // instances); Repeat writes the records of class or object `id` twice.
  void SetSuperclass(uint64_t class_id, uint64_t super_id);
  void Repeat(uint64_t id);

  uint64_t weak_reference_class() const { return weak_class_; }
  uint64_t object_array_class() const { return object_array_class_; }

  // Build: writes the file into memory and loads it as a HeapGraph.
  KILN_MUST_USE absl::StatusOr<HandGraph> Build() const;
  // Bytes: the file Build loads.
  KILN_MUST_USE absl::StatusOr<std::vector<uint8_t>> Bytes() const;

 private:
  struct ClassDef {
    uint64_t id;
    std::string name;
    uint64_t super_id;
    Fields fields;
    std::vector<Static> statics;
  };
  struct Object {
    uint64_t id;
    uint64_t class_id;
    std::vector<uint64_t> values;  // instances: field values; arrays: elements
    uint8_t kind;                  // hprof::SubTag
    uint8_t element_type;
    uint32_t length;
  };

  uint64_t next_id_ = 0x1000;
  std::vector<ClassDef> classes_;
  std::vector<Object> objects_;
  std::vector<std::pair<RootType, uint64_t>> roots_;
  uint64_t object_class_ = 0, weak_class_ = 0, object_array_class_ = 0;
};

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_HAND_HEAP_H_
