#include "inspection/internal/dump_environment.h"

#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gc/object_header.h"
#include "base/utf8.h"
#include "vm/internal/runtime_access.h"
#include "vm/runtime.h"

namespace kiln {
namespace {

constexpr uint32_t kIdBytes = hprof::kIdSize;
constexpr uint32_t kHeaderBytes = 16;  // what the runtime's instance sizes include

// ReadSmallFile: a /proc file's text (they report size 0, so read to EOF).
std::string ReadSmallFile(const char* path) {
  std::string text;
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return text;
}

// CommandLine: /proc/self/cmdline's NUL-separated arguments joined by spaces.
std::string CommandLine() {
  std::string args = ReadSmallFile("/proc/self/cmdline");
  while (!args.empty() && args.back() == '\0') args.pop_back();
  return absl::StrReplaceAll(args, {{absl::string_view("\0", 1), " "}});
}

std::string ExecutableDirectory() {
  char path[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return "";
  const std::string exe(path, static_cast<size_t>(n));
  const size_t slash = exe.rfind('/');
  return slash == std::string::npos ? "" : exe.substr(0, slash == 0 ? 1 : slash);
}

std::string UserName() {
  struct passwd entry;
  struct passwd* found = nullptr;
  char buf[4096];
  if (getpwuid_r(geteuid(), &entry, buf, sizeof(buf), &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return "";
}

// StatmBytes: /proc/self/statm's resident and shared (file-backed and
// shmem) sizes, in bytes: "size resident shared text lib data dt", in pages.
bool StatmBytes(absl::string_view statm, uint64_t* resident, uint64_t* shared) {
  std::vector<absl::string_view> fields = absl::StrSplit(statm, ' ', absl::SkipEmpty());
  uint64_t pages[2];
  if (fields.size() < 3 || !absl::SimpleAtoi(fields[1], &pages[0]) ||
      !absl::SimpleAtoi(absl::StripTrailingAsciiWhitespace(fields[2]), &pages[1]) ||
      pages[1] > pages[0]) {
    return false;
  }
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  *resident = pages[0] * page;
  *shared = pages[1] * page;
  return true;
}

// OsArch: the JDK's os.arch for the machine uname names.
std::string OsArch(const std::string& machine) {
  if (machine == "x86_64") return "amd64";
  if (machine == "i686" || machine == "i386") return "x86";
  return machine;
}

// JavaHash: String.hashCode() of UTF-16 code units.
int32_t JavaHash(const std::u16string& units) {
  uint32_t h = 0;
  for (char16_t c : units) h = 31 * h + c;
  return static_cast<int32_t>(h);
}

uint8_t HprofType(FieldType type) { return static_cast<uint8_t>(type); }

uint32_t ValueBytes(uint8_t hprof_type) {
  switch (hprof_type) {
    case hprof::kObject: return kIdBytes;
    case hprof::kBoolean:
    case hprof::kByte: return 1;
    case hprof::kChar:
    case hprof::kShort: return 2;
    case hprof::kFloat:
    case hprof::kInt: return 4;
    default: return 8;
  }
}

void WriteValue(HprofWriter& w, uint8_t hprof_type, uint64_t value) {
  switch (ValueBytes(hprof_type)) {
    case 1: w.U1(static_cast<uint8_t>(value)); return;
    case 2: w.U2(static_cast<uint16_t>(value)); return;
    case 4: w.U4(static_cast<uint32_t>(value)); return;
    default: w.U8(value); return;
  }
}

// Names the synthetic classes go by; the Properties ones come as a set.
constexpr const char* kPropertiesClasses[] = {
    "java.lang.System", "java.util.Hashtable", "java.util.Properties",
    "java.util.Hashtable$Entry", "[Ljava.util.Hashtable$Entry;"};
constexpr const char* kRuntimeMBeanClasses[] = {"sun.management.ManagementFactoryHelper",
                                                "sun.management.RuntimeImpl"};

}  // namespace

const char* DumpTriggerName(DumpTrigger trigger) {
  switch (trigger) {
    case DumpTrigger::kApi: return "api";
    case DumpTrigger::kSignal: return "signal";
    case DumpTrigger::kOutOfMemory: return "out_of_memory";
  }
  return "unknown";
}

DumpProperties GatherProcessProperties(const Runtime& runtime, DumpTrigger trigger, bool live) {
  DumpProperties p;
  auto add = [&p](std::string key, std::string value) {
    if (!value.empty()) p.emplace_back(std::move(key), std::move(value));
  };
  add("java.vm.name", "Kiln");
  add("java.vm.vendor", "Kiln");
  add("java.vm.version", kKilnVersion);
  add("java.vm.info", "ahead-of-time compiled, embedded");
  add("java.version", kKilnVersion);
  add("java.vendor", "Kiln");
  add("java.home", ExecutableDirectory());
  add("sun.java.command", CommandLine());
  struct utsname uts;
  if (uname(&uts) == 0) {
    add("os.name", uts.sysname);
    add("os.version", uts.release);
    add("os.arch", OsArch(uts.machine));
  }
  add("sun.arch.data.model", absl::StrCat(sizeof(void*) * 8));
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof(cwd)) != nullptr) add("user.dir", cwd);
  add("user.name", UserName());
  add("kiln.pid", absl::StrCat(getpid()));
  add("kiln.vm.start_time_ms", absl::StrCat(absl::ToUnixMillis(runtime.start_time())));
  char host[HOST_NAME_MAX + 1] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) add("kiln.hostname", host);
  add("kiln.dump.trigger", DumpTriggerName(trigger));
  add("kiln.dump.live", live ? "true" : "false");
  return p;
}

DumpProperties GatherDumpProperties(const StoppedWorld& world, DumpProperties process,
                                    const DumpProperties& extra) {
  Runtime& runtime = world.runtime();
  DumpProperties p = std::move(process);
  auto add = [&p](std::string key, std::string value) {
    if (!value.empty()) p.emplace_back(std::move(key), std::move(value));
  };
  // All of this runs in the dump's pause: nothing here may grow with the
  // heap. Runtime::heap_stats() reads /proc/self/smaps for its huge-page
  // figure and smaps_rollup walks every page table (each 4 to 40 ms at
  // N = 4M on a loaded machine, the pause's largest part); the heap's
  // counters and /proc/self/statm (the kernel's RSS counters) cost
  // microseconds at any size.
  gc::Heap& heap = internal::HeapOf(runtime);
  add("kiln.heap.limit_bytes", absl::StrCat(heap.limit_bytes()));
  add("kiln.heap.committed_bytes", absl::StrCat(heap.committed_bytes()));
  add("kiln.native.registered_bytes", absl::StrCat(internal::ReferenceProcessorOf(runtime).native_bytes()));
  uint64_t rss = 0;
  uint64_t file = 0;
  if (StatmBytes(ReadSmallFile("/proc/self/statm"), &rss, &file)) {
    add("kiln.memory.rss_bytes", absl::StrCat(rss));
    add("kiln.memory.anonymous_bytes", absl::StrCat(rss - file));
    add("kiln.memory.file_bytes", absl::StrCat(file));
  }
  for (const auto& property : extra) {
    const std::string& key = property.first;  // (clang 14 cannot capture a structured binding)
    auto same = std::find_if(p.begin(), p.end(), [&](const auto& kv) { return kv.first == key; });
    if (same != p.end()) {
      same->second = property.second;
    } else {
      p.emplace_back(key, property.second);
    }
  }
  return p;
}

DumpProperties PinnedVolatileProperties() {
  return {{"kiln.heap.committed_bytes", "0"},
          {"kiln.memory.rss_bytes", "0"},
          {"kiln.memory.anonymous_bytes", "0"},
          {"kiln.memory.file_bytes", "0"},
          {"kiln.vm.start_time_ms", "0"}};
}

EnvironmentRecords::EnvironmentRecords(const StoppedWorld& world, DumpProperties properties)
    : properties_(std::move(properties)) {
  id_base_ = reinterpret_cast<uint64_t>(world.runtime().classes().object_class()->mirror());
  AddClasses(world);
}

EnvironmentRecords::~EnvironmentRecords() = default;

uint64_t EnvironmentRecords::NextId() {
  static_assert(gc::kObjectAlignment % 8 == 0, "synthetic ids assume 8-aligned objects");
  return id_base_ + 8 * ids_used_++ + 1;
}

EnvironmentRecords::SyntheticClass* EnvironmentRecords::Find(const std::string& name) {
  for (SyntheticClass& cls : classes_) {
    if (cls.name == name) return &cls;
  }
  return nullptr;
}

void EnvironmentRecords::AddClasses(const StoppedWorld& world) {
  const ClassTable& table = world.runtime().classes();
  const uint64_t object_id = reinterpret_cast<uint64_t>(table.object_class()->mirror());
  const Class* string_class = table.string_class();
  string_class_id_ = reinterpret_cast<uint64_t>(string_class->mirror());
  for (const Class* c = string_class; c != nullptr; c = c->super()) {
    for (const Field& field : c->fields()) {
      string_fields_.emplace_back(field.name(), HprofType(field.type()));
    }
  }
  auto add = [&](std::string name, uint64_t super_id, std::vector<SyntheticField> fields,
                 std::vector<SyntheticField> statics) -> SyntheticClass& {
    SyntheticClass cls{.name = std::move(name), .id = NextId(), .super_id = super_id};
    cls.fields = std::move(fields);
    cls.statics = std::move(statics);
    classes_.push_back(std::move(cls));
    return classes_.back();
  };
  write_properties_ = true;
  for (const char* name : kPropertiesClasses) {
    if (table.Find(name) != nullptr) write_properties_ = false;
  }
  classes_.reserve(kEnvironmentClasses);
  if (write_properties_) {
    props_id_ = NextId();
    add("java.lang.System", object_id, {}, {{.name = "props", .type = hprof::kObject,
                                             .value = props_id_}});
    const uint64_t hashtable = add("java.util.Hashtable", object_id,
                                   {{.name = "table", .type = hprof::kObject},
                                    {.name = "count", .type = hprof::kInt}},
                                   {})
                                   .id;
    add("java.util.Properties", hashtable, {{.name = "defaults", .type = hprof::kObject}}, {});
    add("java.util.Hashtable$Entry", object_id,
        {{.name = "hash", .type = hprof::kInt},
         {.name = "key", .type = hprof::kObject},
         {.name = "value", .type = hprof::kObject},
         {.name = "next", .type = hprof::kObject}},
        {});
    add("[Ljava.util.Hashtable$Entry;", object_id, {}, {});
  }
  // The start time, from the properties (so that extra_properties can pin it).
  const auto start = std::find_if(properties_.begin(), properties_.end(), [](const auto& kv) {
    return kv.first == "kiln.vm.start_time_ms";
  });
  write_runtime_mbean_ = start != properties_.end() && absl::SimpleAtoi(start->second, &start_time_ms_);
  for (const char* name : kRuntimeMBeanClasses) {
    if (table.Find(name) != nullptr) write_runtime_mbean_ = false;
  }
  if (write_runtime_mbean_) {
    runtime_mbean_id_ = NextId();
    add("sun.management.ManagementFactoryHelper", object_id, {},
        {{.name = "runtimeMBean", .type = hprof::kObject, .value = runtime_mbean_id_}});
    add("sun.management.RuntimeImpl", object_id, {{.name = "vmStartupTime", .type = hprof::kLong}},
        {});
  }
  if (table.Find("java.lang.ClassLoader") == nullptr) {
    add("java.lang.ClassLoader", object_id, {}, {});
  }
  if (table.Find("java.lang.StringUTF16") == nullptr) {
    // Kiln's UTF-16 strings are little-endian: char = b[i] << 0 | b[i+1] << 8.
    add("java.lang.StringUTF16", object_id, {},
        {{.name = "HI_BYTE_SHIFT", .type = hprof::kInt, .value = 0},
         {.name = "LO_BYTE_SHIFT", .type = hprof::kInt, .value = 8}});
  }
  // Instance sizes: the header plus the fields up the chain (arrays: 0, as
  // the runtime's array classes).
  for (SyntheticClass& cls : classes_) {
    if (cls.name[0] == '[') continue;
    uint32_t size = kHeaderBytes;
    for (const SyntheticClass* c = &cls; c != nullptr;) {
      for (const SyntheticField& field : c->fields) size += ValueBytes(field.type);
      const uint64_t super_id = c->super_id;
      c = nullptr;
      for (const SyntheticClass& other : classes_) {
        if (other.id == super_id) c = &other;
      }
    }
    cls.instance_size = size;
  }
}

void EnvironmentRecords::WriteLoadClasses(
    HprofWriter& w, uint32_t first_serial,
    absl::FunctionRef<uint64_t(const std::string&)> string_id) {
  uint32_t serial = first_serial;
  for (SyntheticClass& cls : classes_) {
    const uint64_t name = string_id(absl::StrReplaceAll(cls.name, {{".", "/"}}));
    w.BeginRecord(hprof::kLoadClass);
    w.U4(serial++);
    w.Id(cls.id);
    w.U4(hprof::kEmptyTraceSerial);
    w.Id(name);
    w.EndRecord();
    for (SyntheticField& field : cls.fields) field.name_id = string_id(field.name);
    for (SyntheticField& field : cls.statics) field.name_id = string_id(field.name);
  }
}

void EnvironmentRecords::WriteRoots(HprofWriter& w) {
  for (const SyntheticClass& cls : classes_) {
    w.BeginSubRecord(hprof::kRootStickyClass, 1 + kIdBytes);
    w.Id(cls.id);
  }
}

void EnvironmentRecords::WriteClassDumps(HprofWriter& w) {
  for (const SyntheticClass& cls : classes_) {
    size_t statics_size = 0;
    for (const SyntheticField& field : cls.statics) {
      statics_size += kIdBytes + 1 + ValueBytes(field.type);
    }
    const size_t size = 1 + kIdBytes + 4 + 6 * kIdBytes + 4 + 2 + 2 + statics_size + 2 +
                        cls.fields.size() * (kIdBytes + 1);
    w.BeginSubRecord(hprof::kClassDump, size);
    w.Id(cls.id);
    w.U4(hprof::kEmptyTraceSerial);
    w.Id(cls.super_id);
    for (int i = 0; i < 5; ++i) w.Id(0);  // loader, signers, domain, 2 reserved
    w.U4(cls.instance_size);
    w.U2(0);  // constant pool
    w.U2(static_cast<uint16_t>(cls.statics.size()));
    for (const SyntheticField& field : cls.statics) {
      w.Id(field.name_id);
      w.U1(field.type);
      WriteValue(w, field.type, field.value);
    }
    w.U2(static_cast<uint16_t>(cls.fields.size()));
    for (const SyntheticField& field : cls.fields) {
      w.Id(field.name_id);
      w.U1(field.type);
    }
  }
  if (write_properties_) WriteProperties(w);
  if (write_runtime_mbean_) WriteRuntimeMBean(w);
}

void EnvironmentRecords::WriteRuntimeMBean(HprofWriter& w) {
  w.BeginSubRecord(hprof::kInstanceDump, 1 + kIdBytes + 4 + kIdBytes + 4 + 8);
  w.Id(runtime_mbean_id_);
  w.U4(hprof::kEmptyTraceSerial);
  w.Id(Find("sun.management.RuntimeImpl")->id);
  w.U4(8);
  w.U8(static_cast<uint64_t>(start_time_ms_));
  ++objects_;
}

void EnvironmentRecords::WriteByteArray(HprofWriter& w, uint64_t id,
                                        const std::vector<uint8_t>& bytes) {
  w.BeginSubRecord(hprof::kPrimitiveArrayDump, 1 + kIdBytes + 4 + 4 + 1 + bytes.size());
  w.Id(id);
  w.U4(hprof::kEmptyTraceSerial);
  w.U4(static_cast<uint32_t>(bytes.size()));
  w.U1(hprof::kByte);
  w.Bytes(bytes.data(), bytes.size());
  ++objects_;
}

void EnvironmentRecords::WriteString(HprofWriter& w, uint64_t id, uint64_t value_id,
                                     const EncodedString& text) {
  uint32_t values_size = 0;
  for (const auto& [name, type] : string_fields_) values_size += ValueBytes(type);
  w.BeginSubRecord(hprof::kInstanceDump, 1 + kIdBytes + 4 + kIdBytes + 4 + values_size);
  w.Id(id);
  w.U4(hprof::kEmptyTraceSerial);
  w.Id(string_class_id_);
  w.U4(values_size);
  for (const auto& [name, type] : string_fields_) {
    uint64_t value = 0;
    if (name == "value") value = value_id;
    if (name == "coder") value = text.coder;
    if (name == "hash") value = static_cast<uint32_t>(text.hash);
    WriteValue(w, type, value);
  }
  ++objects_;
}

void EnvironmentRecords::WriteProperties(HprofWriter& w) {
  const SyntheticClass& properties = *Find("java.util.Properties");
  const SyntheticClass& entry_class = *Find("java.util.Hashtable$Entry");
  const SyntheticClass& table_class = *Find("[Ljava.util.Hashtable$Entry;");
  const size_t n = properties_.size();
  const uint32_t buckets = static_cast<uint32_t>(2 * n + 1);
  const uint64_t table_id = NextId();

  // Per property: its entry, key and value Strings, and their byte arrays.
  struct Entry {
    uint64_t id, key_id, key_bytes_id, value_id, value_bytes_id, next;
    EncodedString key, value;
  };
  std::vector<Entry> entries(n);
  std::vector<uint64_t> table(buckets, 0);
  auto encode = [](const std::string& utf8) {
    EncodedString out;
    std::u16string units;
    if (!Utf8ToUtf16(utf8, &units).ok()) {
      units.clear();  // not UTF-8 (a path in another encoding): the bytes as Latin-1
      for (unsigned char c : utf8) units.push_back(c);
    }
    out.hash = JavaHash(units);
    bool latin1 = true;
    for (char16_t c : units) latin1 &= c <= 0xFF;
    out.coder = latin1 ? 0 : 1;
    for (char16_t c : units) {
      out.bytes.push_back(static_cast<uint8_t>(c & 0xFF));
      if (!latin1) out.bytes.push_back(static_cast<uint8_t>(c >> 8));
    }
    return out;
  };
  for (size_t i = 0; i < n; ++i) {
    Entry& e = entries[i];
    e.id = NextId();
    e.key_id = NextId();
    e.key_bytes_id = NextId();
    e.value_id = NextId();
    e.value_bytes_id = NextId();
    e.key = encode(properties_[i].first);
    e.value = encode(properties_[i].second);
    // Hashtable's bucket for the key, newest entry first.
    const uint32_t bucket = static_cast<uint32_t>(e.key.hash & 0x7FFFFFFF) % buckets;
    e.next = table[bucket];
    table[bucket] = e.id;
  }

  // Properties: its own field (defaults), then Hashtable's (table, count).
  w.BeginSubRecord(hprof::kInstanceDump, 1 + kIdBytes + 4 + kIdBytes + 4 + 2 * kIdBytes + 4);
  w.Id(props_id_);
  w.U4(hprof::kEmptyTraceSerial);
  w.Id(properties.id);
  w.U4(2 * kIdBytes + 4);
  w.Id(0);  // defaults
  w.Id(table_id);
  w.U4(static_cast<uint32_t>(n));
  ++objects_;

  w.BeginSubRecord(hprof::kObjectArrayDump, 1 + kIdBytes + 4 + 4 + kIdBytes + buckets * kIdBytes);
  w.Id(table_id);
  w.U4(hprof::kEmptyTraceSerial);
  w.U4(buckets);
  w.Id(table_class.id);
  for (uint64_t id : table) w.Id(id);
  ++objects_;

  for (const Entry& e : entries) {
    w.BeginSubRecord(hprof::kInstanceDump, 1 + kIdBytes + 4 + kIdBytes + 4 + 4 + 3 * kIdBytes);
    w.Id(e.id);
    w.U4(hprof::kEmptyTraceSerial);
    w.Id(entry_class.id);
    w.U4(4 + 3 * kIdBytes);
    w.U4(static_cast<uint32_t>(e.key.hash));
    w.Id(e.key_id);
    w.Id(e.value_id);
    w.Id(e.next);
    ++objects_;
    WriteString(w, e.key_id, e.key_bytes_id, e.key);
    WriteByteArray(w, e.key_bytes_id, e.key.bytes);
    WriteString(w, e.value_id, e.value_bytes_id, e.value);
    WriteByteArray(w, e.value_bytes_id, e.value.bytes);
  }
}

}  // namespace kiln
