// hprof_fuzz_seeds: writes the seed corpus of the libFuzzer targets
// (hprof_reader_fuzzer, analysis/heap_graph_fuzzer) into a directory: dumps
// of a small Kiln heap (live and plain, full and gzip, with a registered
// native allocation and a weak reference) and the JDK-layout dumps of
// hprof_test_dumps.h (4- and 8-byte ids, and gzip in HotSpot's blocks).
//
//   hprof_fuzz_seeds <directory>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "inspection/hprof/byte_sink.h"
#include "inspection/hprof/hprof_test_dumps.h"
#include "inspection/vm_runtime.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

absl::Status WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return absl::UnavailableError(absl::StrCat("creating ", path));
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  if (std::fclose(file) != 0 || !ok) return absl::UnavailableError(absl::StrCat("writing ", path));
  return absl::OkStatus();
}

void FreeNative(void* p) { std::free(p); }

// KilnDumps: a few linked nodes, a string, an int[], an Object[], a native
// allocation owned by a node and a weak reference to another; one dump of
// each kind, into memory.
absl::Status KilnDumps(const std::string& dir) {
  RuntimeOptions options;
  options.classes.push_back({.name = "seed.Node",
                             .source_file = "Seed.java",
                             .fields = {{"next", FieldType::kObject}, {"value", FieldType::kInt}},
                             .static_fields = {{"head", FieldType::kObject}},
                             .methods = {{"main", "()V"}}});
  ASSIGN_OR_RETURN(std::unique_ptr<Runtime> runtime, Runtime::Create(options));
  Resolver resolver(*runtime);
  const Class* node = resolver.Class("seed.Node");
  const FieldRef<Object*> next = resolver.Field<Object*>(node, "next");
  const FieldRef<int32_t> value = resolver.Field<int32_t>(node, "value");
  const StaticFieldRef<Object*> static_head = resolver.StaticField<Object*>(node, "head");
  const Method* main = resolver.Method(node, "main", "()V");
  RETURN_IF_ERROR(resolver.status());
  ASSIGN_OR_RETURN(ThreadScope scope, ThreadScope::Attach(*runtime, "main"));
  Frame frame(scope, main);
  frame.set_line(3);
  Local<Object> head = frame.NewLocal<Object>(nullptr);
  for (int i = 0; i < 3; ++i) {
    ASSIGN_OR_RETURN(Local<Object> n, Object::New(frame, node));
    n->Set(next, head.get());
    n->Set(value, i);
    head.Set(n.get());
  }
  static_head.Set(head.get());
  ASSIGN_OR_RETURN(Local<String> text, String::New(frame, "seed"));
  ASSIGN_OR_RETURN(Local<ObjectArray> array, ObjectArray::New(frame, node, 3));
  array->Set(0, head.get());
  array->Set(1, text.get());
  ASSIGN_OR_RETURN(Local<IntArray> ints, IntArray::New(frame, 4));
  ASSIGN_OR_RETURN(Local<Object> registry, NativeAllocationRegistry::Create(frame, &FreeNative, 100));
  RETURN_IF_ERROR(NativeAllocationRegistry::RegisterNativeAllocation(frame, registry, head,
                                                                     std::malloc(100)));
  ASSIGN_OR_RETURN(Local<Object> weak,
                   WeakReference::New(frame, frame.NewLocal<Object>(ints.get())));
  array->Set(2, weak.get());
  for (bool live : {true, false}) {
    for (int gzip : {0, 1}) {
      MemorySink sink;
      HeapDumpOptions dump;
      dump.live = live;
      dump.gzip_level = gzip;
      RETURN_IF_ERROR(VMRuntime::DumpHeapTo(*runtime, sink, dump));
      RETURN_IF_ERROR(WriteFile(absl::StrCat(dir, "/kiln-", live ? "live" : "full",
                                             gzip ? ".hprof.gz" : ".hprof"),
                                sink.data()));
    }
  }
  return absl::OkStatus();
}

absl::Status Seeds(const std::string& dir) {
  mkdir(dir.c_str(), 0755);
  RETURN_IF_ERROR(KilnDumps(dir));
  for (uint32_t id_size : {4u, 8u}) {
    const std::vector<uint8_t> jdk = testing::JdkStyleDump(id_size);
    RETURN_IF_ERROR(WriteFile(absl::StrCat(dir, "/jdk-id", id_size, ".hprof"), jdk));
    RETURN_IF_ERROR(WriteFile(absl::StrCat(dir, "/jdk-id", id_size, "-blocks.hprof.gz"),
                              testing::Gzip(jdk, 256)));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace kiln

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: hprof_fuzz_seeds <directory>\n");
    return 2;
  }
  const absl::Status status = kiln::Seeds(argv[1]);
  if (!status.ok()) {
    std::fprintf(stderr, "hprof_fuzz_seeds: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
