// The facts HeapGraph::Build derives once the graph is resolved: self
// sizes, roots, reachability and native sizes (Perfetto's definitions,
// inspection/hprof/HPROF.md, "Perfetto's view"), threads with their stacks, and the
// summary.
#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

#include "inspection/analysis/graph_builder.h"
#include "inspection/analysis/page_array.h"
#include "inspection/hprof/hprof_format.h"

namespace kiln::analysis {

// ComputeSizeRules: Perfetto's self_size (its art_hprof importer's
// HeapGraphResolver::ComputeSelfSizes) per type. An instance is its class's
// CLASS_DUMP instance size whatever its record holds; an array adds its
// element bytes to its array class's instance size; a class object adds its
// static values' bytes to java.lang.Class's instance size. A type without a
// CLASS_DUMP (a primitive array class the file leaves out, where Perfetto
// stops its import) has instance size 0.
void GraphBuilder::ComputeSizeRules() {
  HeapGraph& g = *graph_;
  const uint32_t class_type = g.FindType("java.lang.Class");
  const uint32_t class_size = class_type == kNoType ? 0 : g.type_infos_[class_type].instance_size;
  g.size_rules_.resize(g.type_infos_.size());
  for (uint32_t t = 0; t < g.type_infos_.size(); ++t) {
    const TypeInfo& info = g.type_infos_[t];
    const bool class_object = info.kind == TypeKind::kClassObject;
    g.size_rules_[t] = HeapGraph::SizeRule{
        .fixed = class_object ? class_size : info.instance_size,
        .adds_payload = info.kind != TypeKind::kInstance,
    };
  }
}

void GraphBuilder::ResolveRoots() {
  HeapGraph& g = *graph_;
  for (const RawRoot& raw : roots_) {
    const uint32_t obj = g.FindObject(raw.id);
    if (obj == kNoObject) continue;  // a root naming nothing in the dump
    g.roots_.push_back(Root{raw.type, obj, raw.thread_serial, raw.depth});
    g.root_types_.try_emplace(obj, raw.type);  // the first record wins
  }
}

// Breadth-first from every root, not following the referent of any
// java.lang.ref.Reference (weak, soft, phantom, finalizer references and
// Cleaners all inherit that one field).
void GraphBuilder::ComputeReachability() {
  HeapGraph& g = *graph_;
  const uint32_t n = g.object_count();
  g.reachable_.assign((uint64_t{n} + 63) / 64, 0);
  const std::optional<uint32_t> referent = g.FindFieldName("java.lang.ref.Reference.referent");
  const uint32_t skip = referent.value_or(kNoObject);
  // The queue holds each object once: a PageArray resident only between
  // its head and tail (the pages behind the head are handed back).
  PageArray<uint32_t> queue(n);
  size_t tail = 0;
  const auto visit = [&](uint32_t obj) {
    uint64_t& word = g.reachable_[obj >> 6];
    const uint64_t bit = uint64_t{1} << (obj & 63);
    if (word & bit) return;
    word |= bit;
    queue[tail++] = obj;
  };
  for (const Root& root : g.roots_) visit(root.object);
  constexpr size_t kReleaseEvery = size_t{1} << 16;
  for (size_t head = 0; head < tail; ++head) {
    if (head % kReleaseEvery == 0) queue.Release(0, head);
    for (const Reference& ref : g.references(queue[head])) {
      if (ref.field_name != skip) visit(ref.target);
    }
  }
}

// For every sun.misc.Cleaner not yet cleaned (next != itself): thunk ->
// NativeAllocationRegistry$CleanerThunk.this$0 -> NativeAllocationRegistry.size,
// low bit cleared (Android keeps a flag there), added to the referent.
void GraphBuilder::ComputeNativeSizes() {
  HeapGraph& g = *graph_;
  const uint32_t cleaner = g.FindType("sun.misc.Cleaner");
  const uint32_t thunk_type = g.FindType("libcore.util.NativeAllocationRegistry$CleanerThunk");
  const uint32_t registry_type = g.FindType("libcore.util.NativeAllocationRegistry");
  if (cleaner == kNoType || thunk_type == kNoType || registry_type == kNoType) return;
  std::vector<bool> is_cleaner(g.type_count());
  for (uint32_t t = 0; t < g.type_count(); ++t) is_cleaner[t] = g.IsSubtype(t, cleaner);
  for (uint32_t obj = 0; obj < g.object_count(); ++obj) {
    if (!is_cleaner[g.type(obj)]) continue;
    if (g.FieldValue(obj, "next") == g.id(obj)) continue;
    const uint32_t thunk = g.FieldObject(obj, "thunk");
    if (thunk == kNoObject || !g.IsSubtype(g.type(thunk), thunk_type)) continue;
    const uint32_t registry = g.FieldObject(thunk, "this$0");
    if (registry == kNoObject || !g.IsSubtype(g.type(registry), registry_type)) continue;
    const uint32_t referent = g.FieldObject(obj, "referent");
    const std::optional<uint64_t> size = g.FieldValue(registry, "size");
    if (referent == kNoObject || !size.has_value()) continue;
    g.native_sizes_[referent] += *size & ~uint64_t{1};
  }
}

// One thread per thread serial (the first ROOT_THREAD_OBJECT wins), with the
// trace its root names, else its thread's trace of lowest serial: each trace
// serves one thread, so the frames listed are at most the file's.
void GraphBuilder::ResolveThreads() {
  HeapGraph& g = *graph_;
  absl::flat_hash_map<uint32_t, uint32_t> trace_of_thread;
  for (const auto& [serial, trace] : traces_) {
    const auto [it, inserted] = trace_of_thread.try_emplace(trace.thread_serial, serial);
    if (!inserted && serial < it->second) it->second = serial;
  }
  const auto frames_of = [&](const RawRoot& root) {
    std::vector<StackFrameInfo> frames;
    auto trace = traces_.find(root.trace_serial);
    if (trace == traces_.end() || trace->second.thread_serial != root.thread_serial) {
      const auto own = trace_of_thread.find(root.thread_serial);
      trace = own == trace_of_thread.end() ? traces_.end() : traces_.find(own->second);
    }
    if (trace == traces_.end()) return frames;
    for (const uint64_t frame_id : trace->second.frame_ids) {
      const auto raw = frames_.find(frame_id);
      if (raw == frames_.end()) continue;
      StackFrameInfo frame;
      frame.method = StringOf(raw->second.method_id);
      frame.signature = StringOf(raw->second.signature_id);
      frame.source_file = StringOf(raw->second.source_id);
      frame.line = raw->second.line;
      const auto cls = class_by_serial_.find(raw->second.class_serial);
      if (cls != class_by_serial_.end()) {
        const auto slot = slot_by_class_id_.find(cls->second);
        if (slot != slot_by_class_id_.end()) frame.class_name = g.type_infos_[slot->second].name;
      }
      frames.push_back(std::move(frame));
    }
    return frames;
  };
  absl::flat_hash_set<uint32_t> listed;
  for (const RawRoot& root : roots_) {
    if (root.type != RootType::kThreadObject || !listed.insert(root.thread_serial).second) {
      continue;
    }
    ThreadInfo thread;
    thread.serial = root.thread_serial;
    thread.object = g.FindObject(root.id);
    if (thread.object != kNoObject) {
      const uint32_t name = g.FieldObject(thread.object, "name");
      if (name != kNoObject) thread.name = g.StringValue(name).value_or("");
      thread.daemon = g.FieldValue(thread.object, "daemon").value_or(0) != 0;
      thread.priority = static_cast<int32_t>(g.FieldValue(thread.object, "priority").value_or(0));
      thread.tid = static_cast<int64_t>(g.FieldValue(thread.object, "tid").value_or(0));
    }
    thread.frames = frames_of(root);
    g.threads_.push_back(std::move(thread));
  }
  std::sort(g.threads_.begin(), g.threads_.end(),
            [](const ThreadInfo& a, const ThreadInfo& b) { return a.serial < b.serial; });
}

void GraphBuilder::Summarize() {
  HeapGraph& g = *graph_;
  Summary& s = g.summary_;
  const absl::Span<const uint8_t> data = reader_.data();
  const auto nul = std::find(data.begin(), data.end(), uint8_t{0});
  s.format.assign(data.begin(), nul);
  s.id_size = reader_.id_size();
  s.timestamp_ms = reader_.timestamp_ms();
  s.file_bytes = reader_.size();
  const std::pair<uint8_t, const char*> top_level[] = {{hprof::kString, "STRING"},
                                                       {hprof::kLoadClass, "LOAD_CLASS"},
                                                       {hprof::kStackFrame, "STACK_FRAME"},
                                                       {hprof::kStackTrace, "STACK_TRACE"}};
  for (const auto& [tag, name] : top_level) {
    if (record_counts_[tag] != 0) s.records[name] = record_counts_[tag];
  }
  for (int tag = 0; tag < 256; ++tag) {
    if (sub_record_counts_[tag] == 0) continue;
    const char* name = nullptr;
    switch (tag) {
      case hprof::kClassDump: name = "CLASS_DUMP"; break;
      case hprof::kInstanceDump: name = "INSTANCE_DUMP"; break;
      case hprof::kObjectArrayDump: name = "OBJ_ARRAY_DUMP"; break;
      case hprof::kPrimitiveArrayDump: name = "PRIM_ARRAY_DUMP"; break;
      default: name = RootTypeName(static_cast<RootType>(tag));
    }
    s.records[name] += sub_record_counts_[tag];
  }
  s.references = g.edges_.size();
  s.dangling_references = dangling_;
  for (uint32_t t = 0; t < g.type_count(); ++t) {
    const TypeTotals& totals = g.type_totals_[t];
    switch (g.type_info(t).kind) {
      case TypeKind::kInstance: s.instances += totals.count; break;
      case TypeKind::kObjectArray: s.object_arrays += totals.count; break;
      case TypeKind::kPrimitiveArray: s.primitive_arrays += totals.count; break;
      case TypeKind::kClassObject: s.classes += totals.count; break;
    }
    s.objects += totals.count;
    s.shallow_bytes += totals.self_bytes;
    s.native_bytes += totals.native_bytes;
  }
  if (g.has_references()) {
    for (uint32_t obj = 0; obj < g.object_count(); ++obj) {
      if (!g.reachable(obj)) continue;
      ++s.reachable_objects;
      s.reachable_bytes += g.self_size(obj);
    }
  }
  for (const Root& root : g.roots_) ++s.roots_by_type[RootTypeName(root.type)];
}

}  // namespace kiln::analysis
