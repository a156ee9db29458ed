// HeapGraph: an HPROF heap dump (Kiln's or the JDK's) loaded as a compact
// object graph, with the facts Perfetto's heap_graph_* tables hold: types,
// objects with self and native sizes, references with field names, roots,
// reachability, threads with their stacks, and summary counts. The analyses
// (histogram.h, shortest_path_tree.h / flamegraph.h, dominators.h) and the
// kiln-heap tool read it; README.md describes the conventions.
//
//   ASSIGN_OR_RETURN(auto graph, analysis::HeapGraph::Load("/tmp/app.hprof", {}));
//   for (uint32_t obj = 0; obj < graph->object_count(); ++obj) {
//     const TypeInfo& type = graph->type_info(graph->type(obj));
//     ... graph->self_size(obj), graph->native_size(obj), graph->reachable(obj)
//   }
//
// Objects are dense indices 0..object_count()-1 in ascending id order,
// covering instances, object arrays, primitive arrays and class objects (as
// Perfetto does, a class object is an object of its own type
// `java.lang.Class<Name>`). Per-object data lives in flat arrays and the
// references in one CSR array, so memory is a few tens of bytes per object
// plus 8 per reference; the graph keeps the reader's bytes (the mapping) to
// read field values on demand.
#ifndef KILN_INSPECTION_ANALYSIS_HEAP_GRAPH_H_
#define KILN_INSPECTION_ANALYSIS_HEAP_GRAPH_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/check.h"
#include "base/must_use.h"
#include "inspection/analysis/packed_column.h"
#include "inspection/hprof/hprof_format.h"
#include "inspection/hprof/hprof_reader.h"

namespace kiln::analysis {

inline constexpr uint32_t kNoObject = ~uint32_t{0};
inline constexpr uint32_t kNoType = ~uint32_t{0};

// RootType: HPROF root kinds, named as Perfetto names them (RootTypeName).
// The values are the HPROF sub-record tags (Android's 1.0.3 kinds included).
enum class RootType : uint8_t {
  kUnknown = hprof::kRootUnknown,
  kJniGlobal = hprof::kRootJniGlobal,
  kJniLocal = hprof::kRootJniLocal,
  kJavaFrame = hprof::kRootJavaFrame,
  kNativeStack = hprof::kRootNativeStack,
  kStickyClass = hprof::kRootStickyClass,
  kThreadBlock = hprof::kRootThreadBlock,
  kMonitorUsed = hprof::kRootMonitorUsed,
  kThreadObject = hprof::kRootThreadObject,
  kInternedString = hprof::kRootInternedString,
  kFinalizing = hprof::kRootFinalizing,
  kDebugger = hprof::kRootDebugger,
  kReferenceCleanup = hprof::kRootReferenceCleanup,
  kVmInternal = hprof::kRootVmInternal,
  kJniMonitor = hprof::kRootJniMonitor,
  kUnreachable = hprof::kRootUnreachable,
};

// RootTypeName: "ROOT_JAVA_FRAME", "ROOT_JNI_GLOBAL", ... (Perfetto's
// heap_graph_object.root_type values).
const char* RootTypeName(RootType type);

// TypeKind: what the objects of a type are.
enum class TypeKind : uint8_t {
  kInstance,        // a class's instances (java.lang.String)
  kObjectArray,     // java.lang.Object[], java.lang.String[]
  kPrimitiveArray,  // int[], byte[]
  kClassObject,     // the class object of one class: java.lang.Class<Name>
};

// FieldInfo: one field declared by a class (instance or static).
struct FieldInfo {
  std::string name;  // as declared: "value", "this$0"
  uint8_t type;      // hprof::BasicType
};

// TypeInfo: one row of Perfetto's heap_graph_class.
struct TypeInfo {
  // name: Perfetto's (Java source) spelling: java.lang.String, int[],
  // java.lang.Object[], int[][], java.lang.Class<java.lang.String>.
  std::string name;
  // hprof_name: the name as the file spells it (LOAD_CLASS): [I,
  // [Ljava.lang.Object;. Empty for class-object types.
  std::string hprof_name;
  TypeKind kind = TypeKind::kInstance;
  uint64_t class_id = 0;            // the CLASS_DUMP id (0 if the file has none)
  // superclass: type index of the superclass. Chains end (Build rejects
  // loops) within kHprofMaxSuperclassDepth steps.
  uint32_t superclass = kNoType;
  uint32_t class_object = kNoObject;  // object index of this class's class object
  // instance_size: CLASS_DUMP's instance size, what the writer claims for an
  // instance (Kiln's and ART's include the object header, HotSpot's do not);
  // 0 without a CLASS_DUMP and for class-object types. self_size uses it.
  uint32_t instance_size = 0;
  uint8_t element_type = 0;  // primitive arrays: the hprof::BasicType of elements
  std::vector<FieldInfo> fields;   // instance fields this class declares
  std::vector<FieldInfo> statics;  // static fields this class declares
};

// Reference: one non-null reference out of an object (heap_graph_reference).
// field_name indexes HeapGraph::field_name().
struct Reference {
  uint32_t target;
  uint32_t field_name;
};

// Root: one HPROF root record whose object is in the dump.
struct Root {
  RootType type;
  uint32_t object;
  uint32_t thread_serial;  // 0 where the kind has none
  int32_t frame_depth;     // -1 where the kind has none or it is unknown
};

struct StackFrameInfo {
  std::string method;     // "frame2"
  std::string signature;  // "()V"
  std::string class_name;  // dotted, "app.Main"; empty if the serial is unknown
  std::string source_file;  // "Main.java"; empty if none
  int32_t line;  // >0 line, 0 none, -1 unknown, -2 compiled, -3 native
};

// ThreadInfo: a thread from ROOT_THREAD_OBJECT, its java.lang.Thread object
// and its STACK_TRACE.
struct ThreadInfo {
  uint32_t serial = 0;
  uint32_t object = kNoObject;  // the java.lang.Thread object
  std::string name;             // Thread.name decoded; "" if absent
  bool daemon = false;          // Thread.daemon (false if absent)
  int32_t priority = 0;         // Thread.priority (0 if absent)
  int64_t tid = 0;              // Thread.tid (0 if absent)
  std::vector<StackFrameInfo> frames;  // innermost first
};

// Summary: whole-file counts (kiln-heap summary).
struct Summary {
  std::string format;  // the header string, "JAVA PROFILE 1.0.2"
  uint32_t id_size = 0;
  uint64_t timestamp_ms = 0;
  uint64_t file_bytes = 0;  // HPROF bytes (uncompressed)
  // records: count per kind of record and heap sub-record, keyed by
  // "STRING", "LOAD_CLASS", "STACK_FRAME", "STACK_TRACE", "CLASS_DUMP",
  // "INSTANCE_DUMP", "OBJ_ARRAY_DUMP", "PRIM_ARRAY_DUMP", and the root names.
  std::map<std::string, uint64_t> records;
  uint64_t classes = 0;    // CLASS_DUMPs
  uint64_t objects = 0;    // object_count()
  uint64_t instances = 0, object_arrays = 0, primitive_arrays = 0;
  uint64_t shallow_bytes = 0;  // sum of self_size
  uint64_t native_bytes = 0;   // sum of native_size
  uint64_t reachable_objects = 0;
  uint64_t reachable_bytes = 0;  // shallow bytes of reachable objects
  uint64_t references = 0;       // non-null references that resolved
  uint64_t dangling_references = 0;  // non-null ids with no object in the dump
  std::map<std::string, uint64_t> roots_by_type;  // RootTypeName -> count
};

struct BuildOptions {
  // progress(done, total): HPROF bytes parsed so far, of the total; called
  // about every 1% and once at the end. May be empty.
  std::function<void(uint64_t done_bytes, uint64_t total_bytes)> progress;
  // references: resolve every reference and compute reachability (the
  // default). Off, the graph has objects, types, sizes, native sizes, roots
  // and threads but no references: has_references() is false, references()
  // and reachable() must not be called, and the summary's reachable and
  // reference counts are 0. Parsing then evicts a mapped file's bytes behind
  // it (HprofReader::Evict), so memory is the graph's, not the file's: what
  // `kiln-heap histogram` over all objects needs.
  bool references = true;
  // objects: keep a row per object (the default). Off (references are
  // then off too), the reader's pass only counts objects per type:
  // object_count() is 0, roots() and threads() are empty, and what is left
  // is the types, type_totals() (native sizes included, found by a second
  // pass over the few objects they involve, when the dump has
  // NativeAllocationRegistry's classes) and the summary's counts: what
  // `kiln-heap histogram` over all objects needs, in memory that does not
  // grow with the objects. The dump's objects are not checked for repeated
  // ids (the other checks are the same).
  bool objects = true;
  // threads: the parse's worker threads (HprofReader::ParseSharded); 1
  // parses serially, 0 shards the parse without worker threads (each shard
  // parsed just before its merge). Every result, and every error, is the
  // same for any count. parse_chunk_bytes: the heap dump bytes of each
  // shard (tests make it small, to split small dumps).
  int threads = 1;
  uint64_t parse_chunk_bytes = uint64_t{4} << 20;
};

// TypeTotals: a type's objects, the sum of their self_size and of their
// native_size (every object, reachable or not).
struct TypeTotals {
  uint64_t count = 0;
  uint64_t self_bytes = 0;
  uint64_t native_bytes = 0;
};

class HeapGraph {
 public:
  // Build parses `reader` (which must outlive the graph: field values are
  // read from its bytes) and builds the graph, reachability and native sizes.
  // Errors: the reader's, or a structural one (an instance whose field bytes
  // disagree with its class, an object id twice, a superclass chain that
  // loops or is deeper than kHprofMaxSuperclassDepth), each naming the
  // record and its offset.
  KILN_MUST_USE static absl::StatusOr<std::unique_ptr<HeapGraph>> Build(HprofReader& reader,
                                                          const BuildOptions& options);
  // Load opens `path` with HprofReader::Open and builds; the graph owns the
  // reader.
  KILN_MUST_USE static absl::StatusOr<std::unique_ptr<HeapGraph>> Load(const std::string& path,
                                                                       const BuildOptions& options);
  ~HeapGraph();
  HeapGraph(const HeapGraph&) = delete;
  HeapGraph& operator=(const HeapGraph&) = delete;

  // --- objects ---
  uint32_t object_count() const { return static_cast<uint32_t>(ids_.size()); }
  uint64_t id(uint32_t obj) const { return ids_[obj]; }
  // FindObject: the index of the object with HPROF id `id`, or kNoObject.
  uint32_t FindObject(uint64_t id) const;
  uint32_t type(uint32_t obj) const { return types_of_[obj]; }
  // self_size: Perfetto's heap_graph_object.self_size, as its HPROF importer
  // computes it from the file (and ahat before it): an instance, its class's
  // CLASS_DUMP instance size (not its INSTANCE_DUMP byte count); an array,
  // its array class's instance size plus its element bytes (ids count
  // id_size); a class object, java.lang.Class's instance size plus the bytes
  // of its static values (ids count id_size). A class without a CLASS_DUMP
  // counts 0. What that is in memory depends on the writer (README.md).
  uint64_t self_size(uint32_t obj) const {
    const SizeRule& rule = size_rules_[types_of_[obj]];
    return rule.fixed + (rule.adds_payload ? payload_bytes_[obj] : 0);
  }
  // native_size: bytes attributed through NativeAllocationRegistry (see
  // README.md); 0 for most objects.
  uint64_t native_size(uint32_t obj) const;
  // native_sizes: every object with a non-zero native_size, and that size.
  const absl::flat_hash_map<uint32_t, uint64_t>& native_sizes() const { return native_sizes_; }
  // reachable: reached from a root without crossing a
  // java.lang.ref.Reference.referent (Perfetto's definition).
  bool reachable(uint32_t obj) const {
    KILN_DCHECK(has_references_, "reachable() on a graph built without references");
    return (reachable_[obj >> 6] >> (obj & 63)) & 1;
  }
  // has_references: built with BuildOptions::references (the default).
  bool has_references() const { return has_references_; }
  // has_objects: built with BuildOptions::objects (the default).
  bool has_objects() const { return has_objects_; }
  // root_type: the kind of the first root record naming `obj`, if any.
  std::optional<RootType> root_type(uint32_t obj) const;
  // references: the non-null references out of `obj` whose target is in the
  // dump, in field order (instances: the class's own fields first, then its
  // superclasses'; arrays: by index; class objects: static fields).
  absl::Span<const Reference> references(uint32_t obj) const {
    KILN_DCHECK(has_references_, "references() on a graph built without references");
    return absl::MakeConstSpan(edges_.data() + edge_begin_[obj],
                               edges_.data() + edge_begin_[obj + 1]);
  }

  // --- field names ---
  // field_name: heap_graph_reference.field_name. Instance fields: the
  // declaring class's dotted name, ".", the field's name
  // ("java.lang.String.value"); static fields likewise with the class that
  // declares them; array elements: "[index]" ("[3]"), as Android's
  // perfetto_hprof writes them. Array indices are encoded in the id (top bit
  // set) rather than interned.
  std::string field_name(uint32_t field_name) const;
  uint32_t field_name_count() const { return static_cast<uint32_t>(field_names_.size()); }
  // FindFieldName: the interned id of "Class.field", or nullopt.
  std::optional<uint32_t> FindFieldName(absl::string_view name) const;
  // field_type_name: heap_graph_reference.field_type_name. HPROF records
  // only "object" for a reference field, so this is the name of the target's
  // type (its runtime class), for every reference alike.
  const std::string& field_type_name(const Reference& ref) const {
    return type_info(type(ref.target)).name;
  }

  // --- field values (read from the reader's bytes) ---
  // FieldValue: the raw value of instance field `name` (declared by the
  // object's class or a superclass; the nearest wins), zero-extended; ids as
  // ids. nullopt if `obj` is not an instance or has no such field.
  std::optional<uint64_t> FieldValue(uint32_t obj, absl::string_view name) const;
  // FieldObject: FieldValue of a reference field, resolved to an index
  // (kNoObject if null, absent or dangling).
  uint32_t FieldObject(uint32_t obj, absl::string_view name) const;
  // StringValue: the text of a java.lang.String (byte[] + coder, or char[]),
  // as UTF-8; nullopt if `obj` is not a decodable String.
  std::optional<std::string> StringValue(uint32_t obj) const;
  // InstanceFields (graph_values.cc): every instance field of `obj` with its
  // raw value (as FieldValue reads it), in HPROF order: the class's own
  // fields first, then its superclasses'. Empty if `obj` is not an instance.
  struct FieldEntry {
    uint32_t declaring_type;
    const FieldInfo* field;
    uint64_t value;
  };
  std::vector<FieldEntry> InstanceFields(uint32_t obj) const;
  // PrimitiveArrayBytes (graph_values.cc): a primitive array's elements as
  // the file stores them (big-endian), length x element size bytes; empty
  // for anything else.
  absl::Span<const uint8_t> PrimitiveArrayBytes(uint32_t obj) const;

  // --- types ---
  uint32_t type_count() const { return static_cast<uint32_t>(type_infos_.size()); }
  const TypeInfo& type_info(uint32_t type) const { return type_infos_[type]; }
  // FindType: the type named `name` in either spelling (Perfetto's
  // "int[]" or the file's "[I"), or kNoType.
  uint32_t FindType(absl::string_view name) const;
  // IsSubtype: `type` is `ancestor` or extends it.
  bool IsSubtype(uint32_t type, uint32_t ancestor) const;
  // type_totals: the type's objects and bytes (also without objects).
  const TypeTotals& type_totals(uint32_t type) const { return type_totals_[type]; }

  // --- roots, threads, summary ---
  const std::vector<Root>& roots() const { return roots_; }
  const std::vector<ThreadInfo>& threads() const { return threads_; }
  const Summary& summary() const { return summary_; }
  uint32_t id_size() const { return id_size_; }

 private:
  friend class GraphBuilder;
  HeapGraph() = default;
  // ReadValue: `size` big-endian bytes at data_[offset].
  uint64_t ReadValue(uint64_t offset, size_t size) const;

  std::unique_ptr<HprofReader> owned_reader_;
  absl::Span<const uint8_t> data_;  // the reader's HPROF bytes
  uint32_t id_size_ = 8;

  // Per object, index order = ascending id.
  PackedColumn ids_;
  std::vector<uint32_t> types_of_;
  // payload_bytes_: the bytes the object's record carries: field values,
  // array elements (ids count id_size), static values.
  std::vector<uint32_t> payload_bytes_;
  // data_offsets_: instances: offset of the field values in data_;
  // primitive arrays: offset of the elements; others 0.
  PackedColumn data_offsets_;
  // FindObject's directory: bucket b = (id - min_id_) >> id_shift_ holds
  // the indices [id_directory_[b], id_directory_[b + 1]).
  std::vector<uint32_t> id_directory_;
  uint64_t min_id_ = 0;
  int id_shift_ = 0;
  std::vector<uint32_t> edge_begin_;    // object_count() + 1 entries
  std::vector<Reference> edges_;
  std::vector<uint64_t> reachable_;     // bitset
  bool has_references_ = false;
  bool has_objects_ = false;
  std::vector<TypeTotals> type_totals_;  // by type
  absl::flat_hash_map<uint32_t, uint64_t> native_sizes_;
  absl::flat_hash_map<uint32_t, RootType> root_types_;

  std::vector<TypeInfo> type_infos_;
  // SizeRule, by type: self_size = fixed, plus the payload for arrays and
  // class objects.
  struct SizeRule {
    uint32_t fixed = 0;
    bool adds_payload = false;
  };
  std::vector<SizeRule> size_rules_;
  absl::flat_hash_map<std::string, uint32_t> types_by_name_;  // both spellings
  std::vector<std::string> field_names_;
  absl::flat_hash_map<std::string, uint32_t> field_name_ids_;

  std::vector<Root> roots_;
  std::vector<ThreadInfo> threads_;
  Summary summary_;
};

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_HEAP_GRAPH_H_
