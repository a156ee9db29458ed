// svm_heap_dump_api: Kiln's port of GraalVM's SVMHeapDumpAPI sample (the
// first seed). It creates some data, and with `--heapdump [true|false]`
// (live, default true) calls the dump API, VMRuntime::DumpHeap, on a new
// temporary file:
//
//   $ svm_heap_dump_api --heapdump
//   Sep 15, 2020, 4:06:36 PM: Hello Kiln developer.
//   Your command line options are: --heapdump
//     Heap dump created /tmp/SVMHeapDump-6437252222863577987.hprof, size: 8051959
//
// Without arguments it prints the greeting and "None". `--exhaust-heap`
// allocates until the heap (32 MiB for that run) is full, for -XX:+HeapDumpOnOutOfMemoryError to
// show; the monitoring switches (inspection/services/monitoring_flags.h, listed by
// --help) come first and are off unless given. The Java original
// creates the file first (File.createTempFile) and dumps into it; Kiln never
// writes over an existing file, so the sample picks a fresh name instead.
//
// The data: a small address book (Person objects with String names, int[]
// phone digits and a Person[] of friends), and some garbage for full dumps
// to show.
#include <stdio.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "inspection/services/monitoring_flags.h"
#include "inspection/vm_runtime.h"
#include "samples/date_format.h"
#include "vm/kiln.h"

namespace {

using kiln::FieldType;

constexpr int kPeople = 2000;
constexpr int kGarbagePeople = 1000;

kiln::RuntimeOptions Options() {
  kiln::RuntimeOptions options;
  options.classes.push_back({.name = "SVMHeapDumpAPI",
                             .source_file = "svm_heap_dump_api.cc",
                             .static_fields = {{"people", FieldType::kObject}},
                             .methods = {{"main", "([Ljava/lang/String;)V"},
                                         {"createData", "()V"},
                                         {"createHeapDump", "(Z)V"}}});
  options.classes.push_back({.name = "SVMHeapDumpAPI$Person",
                             .source_file = "svm_heap_dump_api.cc",
                             .fields = {{"name", FieldType::kObject},
                                        {"phone", FieldType::kObject},
                                        {"friends", FieldType::kObject},
                                        {"age", FieldType::kInt}}});
  return options;
}

// Api: the sample's classes, fields and methods, resolved once.
struct Api {
  const kiln::Class* person;
  kiln::FieldRef<kiln::String*> name;
  kiln::FieldRef<kiln::IntArray*> phone;
  kiln::FieldRef<kiln::ObjectArray*> friends;
  kiln::FieldRef<int32_t> age;
  kiln::StaticFieldRef<kiln::ObjectArray*> people;
  const kiln::Method* main;
  const kiln::Method* create_data;
  const kiln::Method* create_heap_dump;
};

absl::StatusOr<Api> ResolveApi(const kiln::Runtime& runtime) {
  kiln::Resolver resolver(runtime);
  Api api;
  const kiln::Class* cls = resolver.Class("SVMHeapDumpAPI");
  api.person = resolver.Class("SVMHeapDumpAPI$Person");
  api.name = resolver.Field<kiln::String*>(api.person, "name");
  api.phone = resolver.Field<kiln::IntArray*>(api.person, "phone");
  api.friends = resolver.Field<kiln::ObjectArray*>(api.person, "friends");
  api.age = resolver.Field<int32_t>(api.person, "age");
  api.people = resolver.StaticField<kiln::ObjectArray*>(cls, "people");
  api.main = resolver.Method(cls, "main", "([Ljava/lang/String;)V");
  api.create_data = resolver.Method(cls, "createData", "()V");
  api.create_heap_dump = resolver.Method(cls, "createHeapDump", "(Z)V");
  RETURN_IF_ERROR(resolver.status());
  return api;
}

// NewPeople: `count` Persons named person-<i>, each with a phone number and
// up to two friends among those before it, in a Person[]. Each Person's
// locals live in a LocalScope: the frame keeps the array and nothing else.
absl::StatusOr<kiln::Local<kiln::ObjectArray>> NewPeople(kiln::Frame& frame, const Api& api,
                                                         int count, absl::string_view prefix) {
  ASSIGN_OR_RETURN(kiln::Local<kiln::ObjectArray> people,
                   kiln::ObjectArray::New(frame, api.person, count));
  for (int i = 0; i < count; ++i) {
    kiln::LocalScope scope(frame);
    ASSIGN_OR_RETURN(kiln::Local<kiln::Object> p, kiln::Object::New(frame, api.person));
    ASSIGN_OR_RETURN(kiln::Local<kiln::String> name,
                     kiln::String::New(frame, absl::StrCat(prefix, "-", i)));
    ASSIGN_OR_RETURN(kiln::Local<kiln::IntArray> phone, kiln::IntArray::New(frame, 10));
    for (uint32_t d = 0; d < 10; ++d) phone->Set(d, (i * 7 + d * 3) % 10);
    const int friends = std::min(i, 2);
    ASSIGN_OR_RETURN(kiln::Local<kiln::ObjectArray> links,
                     kiln::ObjectArray::New(frame, api.person, friends));
    for (int f = 0; f < friends; ++f) links->Set(f, people->Get(i - 1 - f));
    p->Set(api.name, name.get());
    p->Set(api.phone, phone.get());
    p->Set(api.friends, links.get());
    p->Set(api.age, 20 + i % 60);
    people->Set(i, p.get());
  }
  return people;
}

absl::Status CreateData(kiln::Thread& thread, const Api& api) {
  kiln::Frame frame(thread, api.create_data);
  KILN_LINE(frame);
  ASSIGN_OR_RETURN(kiln::Local<kiln::ObjectArray> people,
                   NewPeople(frame, api, kPeople, "person"));
  api.people.Set(people.get());
  KILN_LINE(frame);
  // Garbage: reachable from nothing once this returns.
  return NewPeople(frame, api, kGarbagePeople, "former").status();
}

// CreateHeapDump: "Generate heap dump and save it into temp file".
void CreateHeapDump(kiln::Thread& thread, const Api& api, bool live) {
  kiln::Runtime& runtime = thread.runtime();
  kiln::Frame frame(thread, api.create_heap_dump);
  KILN_LINE(frame);
  const char* tmpdir = std::getenv("TMPDIR");
  const std::string dir = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
  absl::BitGen random;
  for (int attempt = 0;; ++attempt) {
    const std::string path =
        absl::StrCat(dir, "/SVMHeapDump-", absl::Uniform<uint64_t>(random), ".hprof");
    absl::Status status = [&] {
      kiln::ScopedNative native(thread, kiln::ThreadStatus::kNative);
      return kiln::VMRuntime::DumpHeap(runtime, path, live);
    }();
    if (absl::IsAlreadyExists(status) && attempt < 10) continue;  // the name was taken
    if (!status.ok()) {
      std::printf("  Heap dump creation failed.%s\n", std::string(status.message()).c_str());
      return;
    }
    struct stat st;
    std::printf("  Heap dump created %s, size: %lld\n", path.c_str(),
                stat(path.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1LL);
    return;
  }
}

int Main(kiln::Runtime& runtime, int argc, char** argv) {
  absl::StatusOr<Api> api = ResolveApi(runtime);
  if (!api.ok()) {
    std::fprintf(stderr, "svm_heap_dump_api: %s\n", api.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<kiln::ThreadScope> main = kiln::ThreadScope::Attach(runtime, "main");
  if (!main.ok()) {
    std::fprintf(stderr, "svm_heap_dump_api: %s\n", main.status().ToString().c_str());
    return 1;
  }
  kiln::Frame frame(*main, api->main);
  KILN_LINE(frame);
  if (absl::Status status = CreateData(*main, *api); !status.ok()) {
    std::fprintf(stderr, "svm_heap_dump_api: %s\n", status.ToString().c_str());
    return 1;
  }
  std::string greeting = absl::StrCat(kiln::samples::DateTimeNow(),
                                      ": Hello Kiln developer. \nYour command line options are: ");
  if (argc > 1) {
    std::printf("%s%s\n", greeting.c_str(), argv[1]);
    if (absl::EqualsIgnoreCase(argv[1], "--exhaust-heap")) {
      absl::Status failure;
      while (failure.ok()) failure = kiln::LongArray::New(frame, 1 << 16).status();
      std::printf("Allocation failed: %s\n", failure.ToString().c_str());
    }
    if (absl::EqualsIgnoreCase(argv[1], "--heapdump")) {
      // Boolean.valueOf: true only for "true", in any case.
      const bool live = argc > 2 ? absl::EqualsIgnoreCase(argv[2], "true") : true;
      KILN_LINE(frame);
      CreateHeapDump(*main, *api, live);
    }
  } else {
    std::printf("%sNone\n", greeting.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<std::optional<kiln::InspectionOptions>> inspection =
      kiln::ParseMonitoringFlags(argc, argv, /*enabled_by_default=*/false);
  if (!inspection.ok()) {
    std::fprintf(stderr, "svm_heap_dump_api: %s\n", inspection.status().ToString().c_str());
    return 2;
  }
  if (argc > 1 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    std::printf(
        "Kiln's port of GraalVM's SVMHeapDumpAPI: creates an address book and, with\n"
        "--heapdump [true|false], dumps the heap through VMRuntime::DumpHeap (live by\n"
        "default); --exhaust-heap allocates until the heap (32 MiB) is full.\n"
        "Usage: svm_heap_dump_api [monitoring switches] [--heapdump [true|false] | "
        "--exhaust-heap]\n\n%s",
        kiln::MonitoringFlagsUsage());
    return 0;
  }
  kiln::RuntimeOptions options = Options();
  if (argc > 1 && absl::EqualsIgnoreCase(argv[1], "--exhaust-heap")) {
    options.heap_limit_bytes = 32 << 20;  // full soon, and a small dump
  }
  if (inspection->has_value()) kiln::ApplyMonitoringOptions(**inspection, options);
  absl::StatusOr<std::unique_ptr<kiln::Runtime>> runtime = kiln::Runtime::Create(std::move(options));
  if (!runtime.ok()) {
    std::fprintf(stderr, "svm_heap_dump_api: %s\n", runtime.status().ToString().c_str());
    return 1;
  }
  return Main(**runtime, argc, argv);
}
