// ViewerApi: the JSON answers of kiln-heap serve.
#include "inspection/analysis/viewer/viewer_api.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "inspection/analysis/frame_text.h"
#include "inspection/analysis/histogram.h"
#include "inspection/analysis/system_properties.h"
#include "inspection/hprof/hprof_format.h"
#include "nlohmann/json.hpp"

namespace kiln::analysis {
namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kDefaultLimit = 100;
constexpr size_t kMaxLimit = 1000;
constexpr size_t kArrayPreview = 32;  // elements of a primitive array shown

// BadRequest: thrown by the parameter parsers, answered as a 400.
struct BadRequest {
  int status;
  std::string message;
};

ApiResponse Answer(int status, const Json& json) {
  // Names and strings come from the dump and may be invalid UTF-8.
  return {status, json.dump(-1, ' ', false, Json::error_handler_t::replace)};
}

std::string IdText(uint64_t id) { return absl::StrFormat("0x%x", id); }

// ParseId: "0x1a2b" (hex) or "6699" (decimal), nothing else.
std::optional<uint64_t> ParseId(absl::string_view text) {
  uint64_t id = 0;
  if (absl::StartsWith(text, "0x") || absl::StartsWith(text, "0X")) {
    text.remove_prefix(2);
    if (text.empty() || text.size() > 16) return std::nullopt;
    for (char c : text) {
      if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    }
    if (!absl::SimpleHexAtoi(text, &id)) return std::nullopt;
    return id;
  }
  if (text.empty() || text.size() > 20) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  if (!absl::SimpleAtoi(text, &id)) return std::nullopt;
  return id;
}

class Request {
 public:
  Request(const HeapView& view, const std::map<std::string, std::string>& params)
      : view_(view), graph_(view.graph()), params_(params) {}

  // Object: the object named by `text` (an id); 400 if malformed, 404 if absent.
  uint32_t Object(absl::string_view text) const {
    const std::optional<uint64_t> id = ParseId(text);
    if (!id.has_value()) {
      throw BadRequest{400, absl::StrCat("bad object id '", text.substr(0, 40),
                                         "': want 0x<hex> or a decimal number")};
    }
    const uint32_t obj = graph_.FindObject(*id);
    if (obj == kNoObject) throw BadRequest{404, absl::StrCat("no object ", IdText(*id))};
    return obj;
  }
  uint32_t Type(absl::string_view text) const {
    uint32_t type = 0;
    if (text.empty() || text.size() > 10 || !absl::SimpleAtoi(text, &type) ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      throw BadRequest{400, absl::StrCat("bad class id '", text.substr(0, 40),
                                         "': want a number (heap_graph_class.id)")};
    }
    if (type >= graph_.type_count()) throw BadRequest{404, absl::StrCat("no class ", type)};
    return type;
  }
  // Count: a non-negative integer parameter, at most `max`.
  size_t Count(const std::string& name, size_t fallback, size_t max) const {
    const auto it = params_.find(name);
    if (it == params_.end()) return fallback;
    size_t value = 0;
    if (it->second.empty() || it->second.size() > 10 ||
        !std::all_of(it->second.begin(), it->second.end(),
                     [](char c) { return c >= '0' && c <= '9'; }) ||
        !absl::SimpleAtoi(it->second, &value) || value > max) {
      throw BadRequest{400, absl::StrCat("bad ", name, " '", it->second.substr(0, 40),
                                         "': want a number from 0 to ", max)};
    }
    return value;
  }
  bool Flag(const std::string& name) const {
    const auto it = params_.find(name);
    if (it == params_.end()) return false;
    if (it->second == "1" || it->second == "true") return true;
    if (it->second == "0" || it->second == "false" || it->second.empty()) return false;
    throw BadRequest{400, absl::StrCat("bad ", name, ": want 1 or 0")};
  }
  std::string Text(const std::string& name) const {
    const auto it = params_.find(name);
    return it == params_.end() ? "" : it->second;
  }

  // Ref: {"id", "class", "class_id"} of an object, for links.
  Json Ref(uint32_t obj) const {
    Json j;
    j["id"] = IdText(graph_.id(obj));
    j["class"] = graph_.type_info(graph_.type(obj)).name;
    j["class_id"] = graph_.type(obj);
    if (const std::optional<RootType> root = graph_.root_type(obj)) j["root"] = RootTypeName(*root);
    return j;
  }
  Json Sized(uint32_t obj) const {
    Json j = Ref(obj);
    j["self_bytes"] = view_.shallow_size(obj);
    j["native_bytes"] = graph_.native_size(obj);
    j["retained_bytes"] = view_.retained(obj);
    return j;
  }
  // FieldRef: the field of `from` that refers to `to` (the first).
  std::string FieldRef(uint32_t from, uint32_t to) const {
    for (const Reference& ref : graph_.references(from)) {
      if (ref.target == to) return graph_.field_name(ref.field_name);
    }
    return "?";
  }

  Json Page(size_t total, size_t offset, size_t limit) const {
    return Json{{"total", total}, {"offset", offset}, {"limit", limit}};
  }

  const HeapView& view_;
  const HeapGraph& graph_;
  const std::map<std::string, std::string>& params_;
};

const char* SizesName(const HeapView& view) {
  return view.options().sizes == SizeConvention::kJvm ? "jvm" : "perfetto";
}

std::string SizesText(const HeapView& view) {
  if (view.options().sizes == SizeConvention::kPerfetto) {
    return "self bytes as Perfetto's self_size: field and element bytes, no headers";
  }
  return absl::StrCat("self bytes as the JVM's tools show them: object header, ",
                      view.compressed_references() ? "compressed (4-byte) references"
                                                   : "references of the id size",
                      ", aligned to 8 (retained bytes stay Perfetto's)");
}

// PrimitiveText: one primitive value as Java would print it.
std::string PrimitiveText(uint8_t type, uint64_t raw) {
  switch (type) {
    case hprof::kBoolean: return raw ? "true" : "false";
    case hprof::kChar: {
      if (raw >= 0x20 && raw < 0x7f) return absl::StrFormat("'%c'", static_cast<char>(raw));
      return absl::StrFormat("'\\u%04x'", raw);
    }
    case hprof::kFloat: {
      float f;
      const uint32_t bits = static_cast<uint32_t>(raw);
      std::memcpy(&f, &bits, 4);
      return absl::StrCat(f);
    }
    case hprof::kDouble: {
      double d;
      std::memcpy(&d, &raw, 8);
      return absl::StrCat(d);
    }
    case hprof::kByte: return absl::StrCat(static_cast<int8_t>(raw));
    case hprof::kShort: return absl::StrCat(static_cast<int16_t>(raw));
    case hprof::kInt: return absl::StrCat(static_cast<int32_t>(raw));
    case hprof::kLong: return absl::StrCat(static_cast<int64_t>(raw));
    default: return absl::StrCat(raw);
  }
}

const char* TypeName(uint8_t type) {
  switch (type) {
    case hprof::kObject: return "object";
    case hprof::kBoolean: return "boolean";
    case hprof::kChar: return "char";
    case hprof::kFloat: return "float";
    case hprof::kDouble: return "double";
    case hprof::kByte: return "byte";
    case hprof::kShort: return "short";
    case hprof::kInt: return "int";
    case hprof::kLong: return "long";
    default: return "?";
  }
}

Json Overview(const Request& r) {
  const HeapGraph& g = r.graph_;
  const Summary& s = g.summary();
  Json j;
  const std::string& path = r.view_.path();
  j["file"] = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  j["format"] = s.format;
  j["id_size"] = s.id_size;
  j["timestamp_ms"] = s.timestamp_ms;
  j["file_bytes"] = s.file_bytes;
  j["classes"] = s.classes;
  j["objects"] = s.objects;
  j["instances"] = s.instances;
  j["object_arrays"] = s.object_arrays;
  j["primitive_arrays"] = s.primitive_arrays;
  j["shallow_bytes"] = s.shallow_bytes;
  j["native_bytes"] = s.native_bytes;
  j["reachable_objects"] = s.reachable_objects;
  j["reachable_bytes"] = s.reachable_bytes;
  j["references"] = s.references;
  j["dangling_references"] = s.dangling_references;
  j["records"] = s.records;
  j["sizes"] = SizesName(r.view_);
  j["sizes_text"] = SizesText(r.view_);
  if (!r.view_.options().baseline_name.empty()) j["baseline"] = r.view_.options().baseline_name;
  j["properties"] = SystemProperties(g).value_or(PropertyMap{});
  // Roots by kind, with the first few of each.
  std::map<std::string, Json> roots;
  for (const Root& root : g.roots()) {
    Json& kind = roots[RootTypeName(root.type)];
    if (kind.is_null()) kind = Json{{"kind", RootTypeName(root.type)}, {"count", 0}, {"first", Json::array()}};
    kind["count"] = kind["count"].get<uint64_t>() + 1;
    if (kind["first"].size() < 20) kind["first"].push_back(r.Ref(root.object));
  }
  j["roots"] = Json::array();
  for (auto& [name, kind] : roots) j["roots"].push_back(kind);
  j["threads"] = Json::array();
  for (const ThreadInfo& t : g.threads()) {
    Json thread{{"name", t.name}, {"serial", t.serial}, {"frames", t.frames.size()}};
    if (t.object != kNoObject) thread["object"] = r.Ref(t.object);
    j["threads"].push_back(thread);
  }
  return j;
}

Json HistogramJson(const Request& r) {
  const bool reachable = r.Flag("reachable");
  const HeapGraph& g = r.graph_;
  HistogramOptions options;
  options.reachable_only = reachable;
  const std::vector<HistogramRow> rows = Histogram(g, options);
  const auto& baseline =
      reachable ? r.view_.options().baseline_reachable : r.view_.options().baseline_all;
  Json classes = Json::array();
  std::map<std::string, ClassTotals> seen;  // for classes gone since the baseline
  const bool jvm = r.view_.options().sizes == SizeConvention::kJvm;
  std::vector<uint64_t> jvm_bytes;
  if (jvm) {
    jvm_bytes.assign(g.type_count(), 0);
    for (uint32_t obj = 0; obj < g.object_count(); ++obj) {
      if (!reachable || g.reachable(obj)) jvm_bytes[g.type(obj)] += r.view_.shallow_size(obj);
    }
  }
  for (const HistogramRow& row : rows) {
    const std::string& name = g.type_info(row.type).name;
    const uint64_t self = jvm ? jvm_bytes[row.type] : row.self_bytes;
    Json c{{"id", row.type},
           {"name", name},
           {"count", row.count},
           {"self_bytes", self},
           {"native_bytes", row.native_bytes},
           {"retained_bytes", r.view_.class_retained(row.type)}};
    ClassTotals& totals = seen[name];
    totals.count += row.count;
    totals.self_bytes += row.self_bytes;
    totals.native_bytes += row.native_bytes;
    classes.push_back(std::move(c));
  }
  if (baseline.has_value()) {
    // Deltas by name (the sum over types of that name), on every row of it.
    for (Json& c : classes) {
      const std::string name = c["name"];
      const ClassTotals& now = seen[name];
      const auto it = baseline->find(name);
      const ClassTotals old = it == baseline->end() ? ClassTotals{} : it->second;
      c["count_delta"] = static_cast<int64_t>(now.count - old.count);
      c["self_bytes_delta"] = static_cast<int64_t>(now.self_bytes - old.self_bytes);
      c["native_bytes_delta"] = static_cast<int64_t>(now.native_bytes - old.native_bytes);
    }
    for (const auto& [name, old] : *baseline) {
      if (seen.count(name)) continue;
      classes.push_back(Json{{"name", name},
                             {"count", 0},
                             {"self_bytes", 0},
                             {"native_bytes", 0},
                             {"retained_bytes", 0},
                             {"count_delta", -static_cast<int64_t>(old.count)},
                             {"self_bytes_delta", -static_cast<int64_t>(old.self_bytes)},
                             {"native_bytes_delta", -static_cast<int64_t>(old.native_bytes)}});
    }
  }
  Json j{{"reachable", reachable}, {"sizes", SizesName(r.view_)}, {"sizes_text", SizesText(r.view_)}};
  if (baseline.has_value()) j["baseline"] = r.view_.options().baseline_name;
  j["classes"] = std::move(classes);
  return j;
}

Json ClassJson(const Request& r, uint32_t type) {
  const HeapGraph& g = r.graph_;
  const TypeInfo& info = g.type_info(type);
  static constexpr const char* kKinds[] = {"instance", "object array", "primitive array",
                                           "class object"};
  Json j{{"id", type}, {"name", info.name}, {"kind", kKinds[static_cast<int>(info.kind)]}};
  if (info.class_id != 0) j["class_object_id"] = IdText(info.class_id);
  if (info.class_object != kNoObject) j["class_object"] = r.Ref(info.class_object);
  if (info.superclass != kNoType) {
    j["superclass"] = Json{{"id", info.superclass}, {"name", g.type_info(info.superclass).name}};
  }
  j["instance_size"] = info.instance_size;
  j["fields"] = Json::array();
  uint32_t steps = 0;
  for (uint32_t t = type; t != kNoType && steps <= g.type_count();
       t = g.type_info(t).superclass, ++steps) {
    for (const FieldInfo& f : g.type_info(t).fields) {
      j["fields"].push_back(
          Json{{"name", f.name}, {"type", TypeName(f.type)}, {"declared_by", g.type_info(t).name}});
    }
  }
  // Statics: reference values come from the class object's references
  // (named "Class.field"); primitive static values are not kept by the graph.
  j["statics"] = Json::array();
  for (const FieldInfo& f : info.statics) {
    Json s{{"name", f.name}, {"type", TypeName(f.type)}};
    if (f.type == hprof::kObject && info.class_object != kNoObject) {
      const std::string qualified = absl::StrCat(info.name, ".", f.name);
      s["value"] = nullptr;
      for (const Reference& ref : g.references(info.class_object)) {
        if (g.field_name(ref.field_name) == qualified) {
          s["value"] = r.Ref(ref.target);
          break;
        }
      }
    }
    j["statics"].push_back(std::move(s));
  }
  const absl::Span<const uint32_t> instances = r.view_.instances(type);
  const size_t offset = r.Count("offset", 0, instances.size());
  const size_t limit = r.Count("limit", kDefaultLimit, kMaxLimit);
  j["instances"] = r.Page(instances.size(), offset, limit);
  j["instances"]["sizes"] = SizesName(r.view_);
  Json list = Json::array();
  for (size_t i = offset; i < instances.size() && i < offset + limit; ++i) {
    Json o = r.Sized(instances[i]);
    if (info.kind == TypeKind::kInstance) {
      if (std::optional<std::string> text = g.StringValue(instances[i])) o["string"] = *text;
    }
    list.push_back(std::move(o));
  }
  j["instances"]["items"] = std::move(list);
  j["retained_bytes"] = r.view_.class_retained(type);
  return j;
}

Json ObjectJson(const Request& r, uint32_t obj) {
  const HeapGraph& g = r.graph_;
  const TypeInfo& info = g.type_info(g.type(obj));
  Json j = r.Sized(obj);
  j["perfetto_self_bytes"] = g.self_size(obj);
  j["sizes"] = SizesName(r.view_);
  j["sizes_text"] = SizesText(r.view_);
  j["reachable"] = g.reachable(obj);
  j["root_distance"] = r.view_.paths().distance[obj] == kNoObject
                           ? -1
                           : static_cast<int64_t>(r.view_.paths().distance[obj]);
  if (info.kind == TypeKind::kInstance) {
    if (std::optional<std::string> text = g.StringValue(obj)) j["string"] = *text;
    Json fields = Json::array();
    for (const HeapGraph::FieldEntry& e : g.InstanceFields(obj)) {
      Json f{{"name", e.field->name},
             {"type", TypeName(e.field->type)},
             {"declared_by", g.type_info(e.declaring_type).name}};
      if (e.field->type == hprof::kObject) {
        if (e.value == 0) {
          f["value"] = "null";
        } else {
          const uint32_t target = g.FindObject(e.value);
          f["value"] = IdText(e.value);
          if (target != kNoObject) {
            f["ref"] = r.Ref(target);
            if (std::optional<std::string> text = g.StringValue(target)) f["string"] = *text;
          } else {
            f["dangling"] = true;
          }
        }
      } else {
        f["value"] = PrimitiveText(e.field->type, e.value);
      }
      fields.push_back(std::move(f));
    }
    j["fields"] = std::move(fields);
  } else if (info.kind == TypeKind::kPrimitiveArray) {
    const absl::Span<const uint8_t> bytes = g.PrimitiveArrayBytes(obj);
    const size_t size = hprof::BasicTypeSize(info.element_type);
    const size_t length = size == 0 ? 0 : bytes.size() / size;
    Json values = Json::array();
    for (size_t i = 0; i < length && i < kArrayPreview; ++i) {
      uint64_t raw = 0;
      for (size_t b = 0; b < size; ++b) raw = (raw << 8) | bytes[i * size + b];
      values.push_back(PrimitiveText(info.element_type, raw));
    }
    j["array"] = Json{{"element_type", TypeName(info.element_type)},
                      {"length", length},
                      {"values", std::move(values)}};
  }
  // Outgoing references (at most kMaxLimit), with their fields.
  const absl::Span<const Reference> refs = g.references(obj);
  Json out = Json::array();
  for (size_t i = 0; i < refs.size() && i < kMaxLimit; ++i) {
    Json o = r.Ref(refs[i].target);
    o["field"] = g.field_name(refs[i].field_name);
    out.push_back(std::move(o));
  }
  j["references"] = Json{{"total", refs.size()}, {"items", std::move(out)}};
  j["referrer_count"] = r.view_.referrers(obj).size();
  // The shortest path from a root: the root first, each step with the
  // field it goes through.
  const std::vector<uint32_t> path = PathToRoot(r.view_.paths(), obj);
  Json steps = Json::array();
  for (size_t k = path.size(); k-- > 0;) {
    Json step = r.Ref(path[k]);
    if (k + 1 < path.size()) step["field"] = r.FieldRef(path[k + 1], path[k]);
    steps.push_back(std::move(step));
  }
  j["path"] = std::move(steps);
  // The dominator chain: obj's immediate dominator up to the top.
  Json chain = Json::array();
  uint32_t d = r.view_.dominators().idom[obj];
  for (uint32_t guard = 0; d != kSuperRoot && d != kNoObject && guard < g.object_count(); ++guard) {
    chain.push_back(r.Sized(d));
    d = r.view_.dominators().idom[d];
  }
  j["dominators"] = std::move(chain);
  return j;
}

Json ReferrersJson(const Request& r, uint32_t obj) {
  const absl::Span<const uint32_t> from = r.view_.referrers(obj);
  const size_t offset = r.Count("offset", 0, from.size());
  const size_t limit = r.Count("limit", kDefaultLimit, kMaxLimit);
  Json j = r.Page(from.size(), offset, limit);
  j["id"] = IdText(r.graph_.id(obj));
  Json items = Json::array();
  // A referrer with two references to obj appears twice (once per field).
  for (size_t i = offset; i < from.size() && i < offset + limit; ++i) {
    const uint32_t source = from[i];
    size_t nth = 0;  // which of source's references to obj this entry is
    for (size_t k = i; k > 0 && from[k - 1] == source; --k) ++nth;
    Json o = r.Ref(source);
    for (const Reference& ref : r.graph_.references(source)) {
      if (ref.target == obj && nth-- == 0) {
        o["field"] = r.graph_.field_name(ref.field_name);
        break;
      }
    }
    items.push_back(std::move(o));
  }
  j["referrers"] = std::move(items);
  return j;
}

Json DominatorsJson(const Request& r) {
  const std::string parent_text = r.Text("parent");
  const uint32_t parent =
      parent_text.empty() || parent_text == "root" ? kSuperRoot : r.Object(parent_text);
  if (parent != kSuperRoot && !r.graph_.reachable(parent)) {
    throw BadRequest{400, absl::StrCat("object ", IdText(r.graph_.id(parent)),
                                       " is unreachable: it is not in the dominator tree")};
  }
  const absl::Span<const uint32_t> children = r.view_.dominated(parent);
  const size_t offset = r.Count("offset", 0, children.size());
  const size_t limit = r.Count("limit", kDefaultLimit, kMaxLimit);
  Json j = r.Page(children.size(), offset, limit);
  j["parent"] = parent == kSuperRoot ? Json("root") : Json(IdText(r.graph_.id(parent)));
  j["total_retained"] = parent == kSuperRoot ? r.view_.dominators().total_retained
                                             : r.view_.retained(parent);
  j["sizes"] = SizesName(r.view_);
  Json items = Json::array();
  for (size_t i = offset; i < children.size() && i < offset + limit; ++i) {
    Json o = r.Sized(children[i]);
    o["children"] = r.view_.dominated(children[i]).size();
    items.push_back(std::move(o));
  }
  j["children"] = std::move(items);
  return j;
}

Json FlamegraphJsonApi(const Request& r) {
  const Flamegraph& flame = r.view_.flamegraph();
  Json nodes = Json::array();
  for (size_t i = 0; i < flame.nodes.size(); ++i) {
    const FlamegraphNode& n = flame.nodes[i];
    nodes.push_back(Json{{"id", i},
                         {"parent", n.parent == kNoNode ? Json(nullptr) : Json(n.parent)},
                         {"depth", n.depth},
                         {"name", n.name},
                         {"self_size", n.self_size},
                         {"self_count", n.self_count},
                         {"cumulative_size", n.cumulative_size},
                         {"cumulative_count", n.cumulative_count}});
  }
  return Json{{"total_size", flame.total_size},
              {"sizes", "perfetto"},
              {"nodes", std::move(nodes)}};
}

Json ThreadsJson(const Request& r) {
  const HeapGraph& g = r.graph_;
  // Local roots by (thread serial, frame depth).
  std::map<std::pair<uint32_t, int32_t>, std::vector<uint32_t>> locals;
  for (const Root& root : g.roots()) {
    if (root.thread_serial != 0 && root.frame_depth >= 0) {
      locals[{root.thread_serial, root.frame_depth}].push_back(root.object);
    }
  }
  Json threads = Json::array();
  for (const ThreadInfo& t : g.threads()) {
    Json thread{{"name", t.name},
                {"serial", t.serial},
                {"daemon", t.daemon},
                {"priority", t.priority},
                {"tid", t.tid}};
    if (t.object != kNoObject) thread["object"] = r.Ref(t.object);
    thread["header"] = absl::StrFormat("\"%s\" #%d%s prio=%d tid=0x%x nid=0x%x", t.name, t.tid,
                                       t.daemon ? " daemon" : "", t.priority,
                                       t.object == kNoObject ? 0 : g.id(t.object), t.serial);
    Json frames = Json::array();
    for (size_t d = 0; d < t.frames.size(); ++d) {
      Json frame{{"text", absl::StrCat("at ", FrameText(t.frames[d]))}, {"locals", Json::array()}};
      const auto it = locals.find({t.serial, static_cast<int32_t>(d)});
      if (it != locals.end()) {
        for (uint32_t obj : it->second) frame["locals"].push_back(r.Ref(obj));
      }
      frames.push_back(std::move(frame));
    }
    thread["frames"] = std::move(frames);
    threads.push_back(std::move(thread));
  }
  return Json{{"threads", std::move(threads)}};
}

Json SearchJson(const Request& r) {
  // Classes whose name contains q, for the pages' search box.
  const std::string q = r.Text("q");
  Json items = Json::array();
  for (uint32_t t = 0; t < r.graph_.type_count() && items.size() < 50; ++t) {
    if (!q.empty() && absl::StrContains(r.graph_.type_info(t).name, q)) {
      items.push_back(Json{{"id", t}, {"name", r.graph_.type_info(t).name}});
    }
  }
  return Json{{"classes", std::move(items)}};
}

}  // namespace

ApiResponse ViewerApi::Handle(const std::string& path,
                              const std::map<std::string, std::string>& params) {
  const Request r(view_, params);
  try {
    const std::vector<absl::string_view> parts =
        absl::StrSplit(absl::string_view(path).substr(std::min<size_t>(path.size(), 5)), '/');
    if (!absl::StartsWith(path, "/api/") || parts.empty()) {
      throw BadRequest{404, "no such API (see /api/)"};
    }
    const absl::string_view what = parts[0];
    if (what == "overview" && parts.size() == 1) return Answer(200, Overview(r));
    if (what == "histogram" && parts.size() == 1) {
      const int reachable = r.Flag("reachable") ? 1 : 0;
      std::call_once(histogram_once_[reachable],
                     [&] { histogram_body_[reachable] = Answer(200, HistogramJson(r)).body; });
      return {200, histogram_body_[reachable]};
    }
    if (what == "class" && parts.size() == 2) return Answer(200, ClassJson(r, r.Type(parts[1])));
    if (what == "object" && parts.size() == 2) return Answer(200, ObjectJson(r, r.Object(parts[1])));
    if (what == "object" && parts.size() == 3 && parts[2] == "referrers") {
      return Answer(200, ReferrersJson(r, r.Object(parts[1])));
    }
    if (what == "dominators" && parts.size() == 1) return Answer(200, DominatorsJson(r));
    if (what == "flamegraph" && parts.size() == 1) return Answer(200, FlamegraphJsonApi(r));
    if (what == "threads" && parts.size() == 1) return Answer(200, ThreadsJson(r));
    if (what == "search" && parts.size() == 1) return Answer(200, SearchJson(r));
    if (what == "sql" && parts.size() == 1) {
      const auto it = params.find("q");
      if (it == params.end() || it->second.empty()) throw BadRequest{400, "sql needs ?q=SELECT ..."};
      if (it->second.size() > 100000) throw BadRequest{400, "the query is longer than 100000 bytes"};
      absl::StatusOr<SqlAnswer> answer = sql_.Run(it->second);
      if (!answer.ok()) throw BadRequest{400, std::string(answer.status().message())};
      Json rows = Json::array();
      for (const auto& row : answer->result.rows) {
        Json cells = Json::array();
        for (const auto& cell : row) cells.push_back(cell.has_value() ? Json(*cell) : Json(nullptr));
        rows.push_back(std::move(cells));
      }
      return Answer(200, Json{{"columns", answer->result.columns},
                              {"rows", std::move(rows)},
                              {"truncated", answer->result.truncated},
                              {"row_cap", ViewerSql::kRowCap}});
    }
    throw BadRequest{404, absl::StrCat("no such API: ", path.substr(0, 80))};
  } catch (const BadRequest& bad) {
    return Answer(bad.status, Json{{"error", bad.message}});
  }
}

}  // namespace kiln::analysis
