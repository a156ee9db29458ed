#include "tests/perfetto_self_size.h"

#include <algorithm>
#include <array>
#include <map>
#include <tuple>
#include <memory>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "inspection/hprof/hprof_format.h"
#include "inspection/hprof/hprof_reader.h"

namespace kiln::testing {
namespace {

// SourceName: "[[I" -> "int[][]", "[Lapp/Foo;" -> "app.Foo[]", "app/Foo" -> "app.Foo".
std::string SourceName(absl::string_view file_name) {
  const std::string name = absl::StrReplaceAll(file_name, {{"/", "."}});
  size_t dims = 0;
  while (dims < name.size() && name[dims] == '[') ++dims;
  if (dims == 0) return name;
  std::string element = name.substr(dims);
  static const std::map<char, const char*> kPrimitives = {
      {'Z', "boolean"}, {'C', "char"}, {'F', "float"}, {'D', "double"},
      {'B', "byte"},    {'S', "short"}, {'I', "int"},  {'J', "long"}};
  if (element.size() == 1 && kPrimitives.count(element[0])) {
    element = kPrimitives.at(element[0]);
  } else if (element.size() > 2 && element.front() == 'L' && element.back() == ';') {
    element = element.substr(1, element.size() - 2);
  }
  for (size_t i = 0; i < dims; ++i) element += "[]";
  return element;
}

const char* PrimitiveArrayName(uint8_t type) {
  switch (type) {
    case hprof::kBoolean: return "boolean[]";
    case hprof::kChar: return "char[]";
    case hprof::kFloat: return "float[]";
    case hprof::kDouble: return "double[]";
    case hprof::kByte: return "byte[]";
    case hprof::kShort: return "short[]";
    case hprof::kInt: return "int[]";
    default: return "long[]";
  }
}

// Records: what the sums need, kept as the records give it.
class Records : public HprofVisitor {
 public:
  struct Class {
    uint64_t name_id = 0;
    bool dumped = false;
    uint64_t super_id = 0;
    uint32_t instance_size = 0;
    std::vector<HprofFieldInfo> fields;
    std::vector<HprofStaticInfo> statics;
  };
  struct Object {
    enum Kind { kInstance, kObjectArray, kPrimitiveArray, kClass } kind;
    uint64_t class_id = 0;  // kPrimitiveArray: 0
    uint8_t element_type = 0;
    uint64_t payload = 0;   // element count (arrays)
    absl::Span<const uint8_t> values;   // instances
    std::vector<uint64_t> elements;     // object arrays
  };

  absl::Status OnString(uint64_t id, absl::string_view text) override {
    strings_[id] = std::string(text);
    return absl::OkStatus();
  }
  absl::Status OnLoadClass(uint32_t, uint64_t class_id, uint64_t name_id) override {
    classes_[class_id].name_id = name_id;
    return absl::OkStatus();
  }
  absl::Status OnRoot(uint8_t tag, uint64_t id, uint32_t, int32_t, uint32_t) override {
    roots_.push_back(id);
    root_tags_.push_back(tag);
    return absl::OkStatus();
  }
  absl::Status OnClassDump(const HprofClassDump& dump) override {
    Class& cls = classes_[dump.class_id];
    cls.dumped = true;
    cls.super_id = dump.super_id;
    cls.instance_size = dump.instance_size;
    cls.fields = dump.fields;
    cls.statics = dump.statics;
    objects_[dump.class_id] = Object{.kind = Object::kClass, .class_id = dump.class_id};
    return absl::OkStatus();
  }
  absl::Status OnInstance(uint64_t id, uint64_t class_id,
                          absl::Span<const uint8_t> values) override {
    objects_[id] = Object{.kind = Object::kInstance, .class_id = class_id, .values = values};
    return absl::OkStatus();
  }
  absl::Status OnObjectArray(uint64_t id, uint64_t class_id,
                             absl::Span<const uint64_t> elements) override {
    objects_[id] = Object{.kind = Object::kObjectArray,
                          .class_id = class_id,
                          .payload = elements.size(),
                          .elements = {elements.begin(), elements.end()}};
    return absl::OkStatus();
  }
  absl::Status OnPrimitiveArray(uint64_t id, uint8_t type, uint32_t length,
                                absl::Span<const uint8_t>) override {
    objects_[id] = Object{.kind = Object::kPrimitiveArray, .element_type = type, .payload = length};
    return absl::OkStatus();
  }

  std::string NameOf(uint64_t class_id) const {
    const auto it = classes_.find(class_id);
    if (it == classes_.end()) return "";
    const auto name = strings_.find(it->second.name_id);
    return name == strings_.end() ? "" : SourceName(name->second);
  }
  uint64_t Bytes(uint8_t type) const {
    return type == hprof::kObject ? id_size_ : hprof::BasicTypeSize(type);
  }

  uint32_t id_size_ = 0;  // the header's, known once Parse has begun
  absl::flat_hash_map<uint64_t, std::string> strings_;
  absl::flat_hash_map<uint64_t, Class> classes_;
  absl::flat_hash_map<uint64_t, Object> objects_;
  std::vector<uint64_t> roots_;
  std::vector<uint8_t> root_tags_;  // parallel to roots_
};

}  // namespace

absl::StatusOr<std::map<std::string, uint64_t>> PerfettoSeedQuery(const std::string& path) {
  absl::StatusOr<std::unique_ptr<HprofReader>> reader = HprofReader::Open(path);
  if (!reader.ok()) return reader.status();
  Records r;
  if (absl::Status parsed = (*reader)->Parse(r); !parsed.ok()) return parsed;
  r.id_size_ = (*reader)->id_size();

  // Class ids by Perfetto's name; the instance size a class's CLASS_DUMP gives.
  absl::flat_hash_map<std::string, uint64_t> class_by_name;
  for (const auto& [id, cls] : r.classes_) class_by_name.try_emplace(r.NameOf(id), id);
  const auto instance_size = [&](uint64_t class_id) -> uint64_t {
    const auto it = r.classes_.find(class_id);
    return it != r.classes_.end() && it->second.dumped ? it->second.instance_size : 0;
  };
  const auto named = class_by_name.find("java.lang.Class");
  const uint64_t class_size = named == class_by_name.end() ? 0 : instance_size(named->second);

  // Each object's type name and self_size.
  const auto name_and_size = [&](const Records::Object& o) -> std::pair<std::string, uint64_t> {
    switch (o.kind) {
      case Records::Object::kInstance:
        return {r.NameOf(o.class_id), instance_size(o.class_id)};
      case Records::Object::kObjectArray:
        return {r.NameOf(o.class_id), instance_size(o.class_id) + o.payload * r.id_size_};
      case Records::Object::kPrimitiveArray: {
        const std::string name = PrimitiveArrayName(o.element_type);
        const auto cls = class_by_name.find(name);
        return {name, (cls == class_by_name.end() ? 0 : instance_size(cls->second)) +
                          o.payload * hprof::BasicTypeSize(o.element_type)};
      }
      case Records::Object::kClass: {
        uint64_t size = class_size;
        for (const HprofStaticInfo& s : r.classes_.at(o.class_id).statics) size += r.Bytes(s.type);
        return {absl::StrCat("java.lang.Class<", r.NameOf(o.class_id), ">"), size};
      }
    }
    return {"", 0};
  };

  // Reachability: breadth-first from the roots.
  absl::flat_hash_set<uint64_t> reached;
  std::vector<uint64_t> queue;
  const auto visit = [&](uint64_t id) {
    if (id != 0 && r.objects_.contains(id) && reached.insert(id).second) queue.push_back(id);
  };
  for (const uint64_t root : r.roots_) visit(root);
  for (size_t next = 0; next < queue.size(); ++next) {
    const Records::Object& o = r.objects_.at(queue[next]);
    if (o.kind == Records::Object::kInstance) {
      size_t at = 0;
      for (uint64_t c = o.class_id; c != 0 && r.classes_.contains(c);
           c = r.classes_.at(c).super_id) {
        const bool reference = r.NameOf(c) == "java.lang.ref.Reference";
        for (const HprofFieldInfo& field : r.classes_.at(c).fields) {
          const uint64_t bytes = r.Bytes(field.type);
          if (at + bytes > o.values.size()) return absl::DataLossError("short INSTANCE_DUMP");
          const bool referent = reference && r.strings_[field.name_id] == "referent";
          if (field.type == hprof::kObject && !referent) {
            uint64_t id = 0;
            for (uint64_t i = 0; i < bytes; ++i) id = (id << 8) | o.values[at + i];
            visit(id);
          }
          at += bytes;
        }
      }
    } else if (o.kind == Records::Object::kObjectArray) {
      for (const uint64_t element : o.elements) visit(element);
    } else if (o.kind == Records::Object::kClass) {
      for (const HprofStaticInfo& s : r.classes_.at(o.class_id).statics) {
        if (s.type == hprof::kObject) visit(s.value);
      }
    }
  }
  std::map<std::string, uint64_t> sums;
  for (const uint64_t id : reached) {
    const auto [name, size] = name_and_size(r.objects_.at(id));
    sums[name] += size;
  }
  return sums;
}


// ReferenceAnalyses: the whole-graph analyses done the plain way, with maps
// keyed by HPROF id and no HeapGraph: the same objects, edges and roots as
// README.md defines them, then a breadth-first tree, an iterative dominator
// computation (Cooper, Harvey and Kennedy) and per-class sums.
absl::StatusOr<ReferenceAnalyses> ComputeReferenceAnalyses(const std::string& path) {
  absl::StatusOr<std::unique_ptr<HprofReader>> reader = HprofReader::Open(path);
  if (!reader.ok()) return reader.status();
  Records r;
  if (absl::Status parsed = (*reader)->Parse(r); !parsed.ok()) return parsed;
  r.id_size_ = (*reader)->id_size();
  using Object = Records::Object;

  const auto class_of = [&](uint64_t id) -> const Records::Class* {
    const auto it = r.classes_.find(id);
    return it == r.classes_.end() ? nullptr : &it->second;
  };
  const auto type_name = [&](uint64_t class_id) {
    const std::string name = r.NameOf(class_id);
    return name.empty() ? absl::StrFormat("unknown class 0x%x", class_id) : name;
  };
  absl::flat_hash_map<std::string, uint64_t> class_by_name;
  for (const auto& [id, cls] : r.classes_) class_by_name.try_emplace(type_name(id), id);
  const auto instance_size = [&](uint64_t class_id) -> uint64_t {
    const Records::Class* cls = class_of(class_id);
    return cls != nullptr && cls->dumped ? cls->instance_size : 0;
  };
  const auto named = class_by_name.find("java.lang.Class");
  const uint64_t class_size = named == class_by_name.end() ? 0 : instance_size(named->second);
  // Objects in id order, as HeapGraph numbers them.
  std::vector<uint64_t> ids;
  for (const auto& [id, o] : r.objects_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  const uint32_t n = static_cast<uint32_t>(ids.size());
  absl::flat_hash_map<uint64_t, uint32_t> index;
  for (uint32_t i = 0; i < n; ++i) index[ids[i]] = i;
  const auto find = [&](uint64_t id) -> std::optional<uint32_t> {
    const auto it = index.find(id);
    if (id == 0 || it == index.end()) return std::nullopt;
    return it->second;
  };
  std::vector<std::string> names(n);
  std::vector<uint64_t> self(n);
  for (uint32_t i = 0; i < n; ++i) {
    const Object& o = r.objects_.at(ids[i]);
    switch (o.kind) {
      case Object::kInstance:
        names[i] = type_name(o.class_id);
        self[i] = instance_size(o.class_id);
        break;
      case Object::kObjectArray:
        names[i] = type_name(o.class_id);
        self[i] = instance_size(o.class_id) + o.payload * r.id_size_;
        break;
      case Object::kPrimitiveArray: {
        names[i] = PrimitiveArrayName(o.element_type);
        const auto cls = class_by_name.find(names[i]);
        self[i] = (cls == class_by_name.end() ? 0 : instance_size(cls->second)) +
                  o.payload * hprof::BasicTypeSize(o.element_type);
        break;
      }
      case Object::kClass:
        names[i] = absl::StrCat("java.lang.Class<", type_name(o.class_id), ">");
        self[i] = class_size;
        for (const HprofStaticInfo& s : class_of(o.class_id)->statics) self[i] += r.Bytes(s.type);
        break;
    }
  }
  // Field reads: the nearest declaring class wins.
  const auto field_value = [&](uint32_t obj, const std::string& name) -> std::optional<uint64_t> {
    const Object& o = r.objects_.at(ids[obj]);
    if (o.kind != Object::kInstance) return std::nullopt;
    size_t at = 0;
    for (const Records::Class* c = class_of(o.class_id); c != nullptr; c = class_of(c->super_id)) {
      for (const HprofFieldInfo& field : c->fields) {
        const uint64_t bytes = r.Bytes(field.type);
        if (at + bytes > o.values.size()) return std::nullopt;
        if (r.strings_[field.name_id] == name) {
          uint64_t value = 0;
          for (uint64_t k = 0; k < bytes; ++k) value = (value << 8) | o.values[at + k];
          return value;
        }
        at += bytes;
      }
    }
    return std::nullopt;
  };
  const auto field_object = [&](uint32_t obj, const std::string& name) -> std::optional<uint32_t> {
    const std::optional<uint64_t> value = field_value(obj, name);
    return value.has_value() ? find(*value) : std::nullopt;
  };
  const auto is_a = [&](uint32_t obj, const std::string& ancestor) {
    const Object& o = r.objects_.at(ids[obj]);
    if (o.kind != Object::kInstance) return false;
    for (uint64_t c = o.class_id; c != 0 && class_of(c) != nullptr; c = class_of(c)->super_id) {
      if (type_name(c) == ancestor) return true;
    }
    return false;
  };
  // Native sizes: a live sun.misc.Cleaner's registry size, to its referent.
  std::vector<uint64_t> native(n, 0);
  if (class_by_name.contains("sun.misc.Cleaner") &&
      class_by_name.contains("libcore.util.NativeAllocationRegistry$CleanerThunk") &&
      class_by_name.contains("libcore.util.NativeAllocationRegistry")) {
    for (uint32_t obj = 0; obj < n; ++obj) {
      if (!is_a(obj, "sun.misc.Cleaner") || field_value(obj, "next") == ids[obj]) continue;
      const std::optional<uint32_t> thunk = field_object(obj, "thunk");
      if (!thunk || !is_a(*thunk, "libcore.util.NativeAllocationRegistry$CleanerThunk")) continue;
      const std::optional<uint32_t> registry = field_object(*thunk, "this$0");
      if (!registry || !is_a(*registry, "libcore.util.NativeAllocationRegistry")) continue;
      const std::optional<uint32_t> referent = field_object(obj, "referent");
      const std::optional<uint64_t> size = field_value(*registry, "size");
      if (referent && size) native[*referent] += *size & ~uint64_t{1};
    }
  }
  // Edges, in HeapGraph's field order, without Reference.referent.
  std::vector<std::vector<uint32_t>> edges(n);
  for (uint32_t i = 0; i < n; ++i) {
    const Object& o = r.objects_.at(ids[i]);
    const auto add = [&](uint64_t id) {
      if (const std::optional<uint32_t> target = find(id)) edges[i].push_back(*target);
    };
    if (o.kind == Object::kInstance) {
      size_t at = 0;
      for (uint64_t c = o.class_id; c != 0 && class_of(c) != nullptr; c = class_of(c)->super_id) {
        const bool reference = type_name(c) == "java.lang.ref.Reference";
        for (const HprofFieldInfo& field : class_of(c)->fields) {
          const uint64_t bytes = r.Bytes(field.type);
          if (at + bytes > o.values.size()) return absl::DataLossError("short INSTANCE_DUMP");
          if (field.type == hprof::kObject &&
              !(reference && r.strings_[field.name_id] == "referent")) {
            uint64_t id = 0;
            for (uint64_t k = 0; k < bytes; ++k) id = (id << 8) | o.values[at + k];
            add(id);
          }
          at += bytes;
        }
      }
    } else if (o.kind == Object::kObjectArray) {
      for (const uint64_t element : o.elements) add(element);
    } else if (o.kind == Object::kClass) {
      for (const HprofStaticInfo& s : class_of(o.class_id)->statics) {
        if (s.type == hprof::kObject) add(s.value);
      }
    }
  }
  // Roots in file order; an object's kind is its first root record's.
  std::vector<uint32_t> roots;
  std::vector<int> root_tag(n, -1);
  for (size_t k = 0; k < r.roots_.size(); ++k) {
    const std::optional<uint32_t> obj = find(r.roots_[k]);
    if (!obj) continue;
    roots.push_back(*obj);
    if (root_tag[*obj] < 0) root_tag[*obj] = r.root_tags_[k];
  }
  // Breadth-first tree: the first to reach an object is its parent.
  constexpr uint32_t kNone = ~uint32_t{0};
  std::vector<uint32_t> parent(n, kNone), order;
  std::vector<bool> reached(n, false);
  for (const uint32_t root : roots) {
    if (!reached[root]) {
      reached[root] = true;
      order.push_back(root);
    }
  }
  for (size_t head = 0; head < order.size(); ++head) {
    for (const uint32_t target : edges[order[head]]) {
      if (reached[target]) continue;
      reached[target] = true;
      parent[target] = order[head];
      order.push_back(target);
    }
  }
  ReferenceAnalyses out;
  // Histograms, one row per class (types of one name stay apart, as HeapGraph's).
  {
    std::map<std::pair<std::string, uint64_t>, std::array<uint64_t, 3>> all, live;
    for (uint32_t i = 0; i < n; ++i) {
      const Object& o = r.objects_.at(ids[i]);
      // A type: the class (instances, object arrays), the primitive array's
      // class by name, or the class object's own.
      uint64_t key = o.class_id;
      if (o.kind == Object::kPrimitiveArray) key = 0;
      if (o.kind == Object::kClass) key = ~uint64_t{0} - o.class_id;
      for (auto* table : {&all, &live}) {
        if (table == &live && !reached[i]) continue;
        auto& row = (*table)[{names[i], key}];
        ++row[0];
        row[1] += self[i];
        row[2] += native[i];
      }
    }
    const auto rows_of = [](const auto& table, std::vector<std::string>* rows) {
      for (const auto& [key, row] : table) {
        rows->push_back(absl::StrCat(row[0], " ", row[1], " ", row[2], " ", key.first));
      }
      std::sort(rows->begin(), rows->end());
    };
    rows_of(all, &out.histogram);
    rows_of(live, &out.reachable_histogram);
  }
  // Flamegraph: objects merged by the path of class names from their root.
  {
    std::map<std::tuple<uint32_t, std::string, int>, uint32_t> nodes;
    std::vector<std::string> node_path;
    std::vector<uint64_t> node_self;
    const auto node_for = [&](uint32_t parent_node, const std::string& name, int tag) {
      const auto [it, inserted] =
          nodes.try_emplace({parent_node, name, tag}, static_cast<uint32_t>(node_path.size()));
      if (inserted) {
        std::string label = tag == -2  ? absl::StrCat("[native] ", name)
                            : tag >= 0 ? absl::StrCat(name, " [", HprofSubRecordName(tag), "]")
                                       : name;
        node_path.push_back(parent_node == kNone ? label
                                                 : absl::StrCat(node_path[parent_node], ";", label));
        node_self.push_back(0);
      }
      return it->second;
    };
    std::vector<uint32_t> node_of(n, kNone);
    for (const uint32_t obj : order) {
      const bool root = parent[obj] == kNone;
      const uint32_t node = node_for(root ? kNone : node_of[parent[obj]], names[obj],
                                     root ? (root_tag[obj] < 0 ? 0 : root_tag[obj]) : -1);
      node_of[obj] = node;
      node_self[node] += self[obj];
      if (native[obj] != 0) node_self[node_for(node, names[obj], -2)] += native[obj];
    }
    for (size_t k = 0; k < node_path.size(); ++k) {
      if (node_self[k] != 0) out.flamegraph[node_path[k]] = node_self[k];
    }
  }
  // Dominators, iterated to the fixed point over a reverse postorder, with
  // a super-root (position 0) before every root.
  {
    std::vector<uint32_t> post_of(n, kNone), rpo;  // rpo[k]: object at position k + 1
    std::vector<std::pair<uint32_t, size_t>> stack;
    std::vector<bool> seen(n, false);
    for (const uint32_t root : roots) {
      if (seen[root]) continue;
      seen[root] = true;
      stack.emplace_back(root, 0);
      while (!stack.empty()) {
        auto& [obj, next] = stack.back();
        if (next == edges[obj].size()) {
          rpo.push_back(obj);
          stack.pop_back();
          continue;
        }
        const uint32_t target = edges[obj][next++];
        if (!seen[target]) {
          seen[target] = true;
          stack.emplace_back(target, 0);
        }
      }
    }
    std::reverse(rpo.begin(), rpo.end());
    const uint32_t m = static_cast<uint32_t>(rpo.size());
    std::vector<uint32_t> pos(n, kNone);
    for (uint32_t k = 0; k < m; ++k) pos[rpo[k]] = k + 1;
    std::vector<std::vector<uint32_t>> preds(m + 1);
    for (const uint32_t root : roots) preds[pos[root]].push_back(0);
    for (uint32_t k = 0; k < m; ++k) {
      for (const uint32_t target : edges[rpo[k]]) preds[pos[target]].push_back(k + 1);
    }
    std::vector<uint32_t> idom(m + 1, kNone);
    idom[0] = 0;
    const auto intersect = [&](uint32_t a, uint32_t b) {
      while (a != b) {
        while (a > b) a = idom[a];
        while (b > a) b = idom[b];
      }
      return a;
    };
    for (bool changed = true; changed;) {
      changed = false;
      for (uint32_t v = 1; v <= m; ++v) {
        uint32_t dom = kNone;
        for (const uint32_t p : preds[v]) {
          if (idom[p] == kNone) continue;
          dom = dom == kNone ? p : intersect(p, dom);
        }
        if (dom != idom[v]) {
          idom[v] = dom;
          changed = true;
        }
      }
    }
    std::vector<uint64_t> retained(m + 1, 0);
    for (uint32_t v = m; v >= 1; --v) {
      retained[v] += self[rpo[v - 1]];
      retained[idom[v]] += retained[v];
    }
    out.total_retained = retained[0];
    for (uint32_t v = 1; v <= m; ++v) out.retained[ids[rpo[v - 1]]] = retained[v];
  }
  return out;
}

}  // namespace kiln::testing
