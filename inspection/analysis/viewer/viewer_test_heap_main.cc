// viewer_test_heap: writes the Kiln heap the viewer's tests read, and says
// what it made, one "made <class> <instances>" line per class of its own and
// "value <what> <text>" lines for the values the pages must show:
//   test.Item {Item next; int value; long weight}: a list of 5 held by
//     test.Holder.list; item2 (value 2) owns 4096 native bytes (the known
//     heap's list, ../test_heap.h, built by the same code);
//   test.Holder.greeting: a UTF-16 String; test.Holder.name: a Latin-1 one;
//   test.Holder.numbers: int[10] = 0, 10, ..., 90;
//   test.Leak {int n}: --grow N of them (N <= 64), held in test.Holder.leaks
//     (a test.Leak[64] whatever N is), so two dumps with different N differ
//     by exactly that many test.Leak and nothing else.
//
// Usage: viewer_test_heap OUT.hprof [--grow N] [--gzip]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "base/status_macros.h"
#include "inspection/analysis/test_heap.h"
#include "inspection/internal/dump_environment.h"
#include "inspection/vm_runtime.h"
#include "vm/kiln.h"

namespace kiln {
namespace {

using analysis::testing::kListItems;
using analysis::testing::kNativeBytes;

constexpr char16_t kGreeting[] = u"Grüße, 世界 ☃";
constexpr int kLeakCapacity = 64;

absl::Status Run(const std::string& path, int grow, bool gzip) {
  RuntimeOptions options;
  options.classes.push_back(analysis::testing::ItemClass());
  options.classes.push_back({.name = "test.Leak", .fields = {{"n", FieldType::kInt}}});
  options.classes.push_back({.name = "test.Holder",
                             .source_file = "Holder.java",
                             .static_fields = {{"list", FieldType::kObject},
                                               {"greeting", FieldType::kObject},
                                               {"name", FieldType::kObject},
                                               {"numbers", FieldType::kObject},
                                               {"leaks", FieldType::kObject}},
                             .methods = {{"main", "()V"}}});
  ASSIGN_OR_RETURN(std::unique_ptr<Runtime> runtime, Runtime::Create(options));
  ASSIGN_OR_RETURN(const analysis::testing::ItemApi items,
                   analysis::testing::ResolveItems(*runtime));
  Resolver resolver(*runtime);
  const Class* leak = resolver.Class("test.Leak");
  const FieldRef<int32_t> leak_n = resolver.Field<int32_t>(leak, "n");
  const Class* holder = resolver.Class("test.Holder");
  const StaticFieldRef<Object*> list = resolver.StaticField<Object*>(holder, "list");
  const StaticFieldRef<String*> greeting_field = resolver.StaticField<String*>(holder, "greeting");
  const StaticFieldRef<String*> name_field = resolver.StaticField<String*>(holder, "name");
  const StaticFieldRef<IntArray*> numbers_field =
      resolver.StaticField<IntArray*>(holder, "numbers");
  const StaticFieldRef<ObjectArray*> leaks_field =
      resolver.StaticField<ObjectArray*>(holder, "leaks");
  const Method* main = resolver.Method(holder, "main", "()V");
  RETURN_IF_ERROR(resolver.status());
  ASSIGN_OR_RETURN(ThreadScope scope, ThreadScope::Attach(*runtime, "main"));
  Frame frame(scope, main);
  frame.set_line(7);
  {
    Frame build(scope, main);
    ASSIGN_OR_RETURN(Local<Object> head, analysis::testing::BuildItemList(build, items));
    list.Set(head.get());
    ASSIGN_OR_RETURN(Local<String> greeting, String::NewUtf16(build, kGreeting));
    greeting_field.Set(greeting.get());
    ASSIGN_OR_RETURN(Local<String> name, String::New(build, "kiln"));
    name_field.Set(name.get());
    ASSIGN_OR_RETURN(Local<IntArray> numbers, IntArray::New(build, 10));
    for (int i = 0; i < 10; ++i) numbers->Set(i, i * 10);
    numbers_field.Set(numbers.get());
    ASSIGN_OR_RETURN(Local<ObjectArray> leaks, ObjectArray::New(build, leak, kLeakCapacity));
    leaks_field.Set(leaks.get());
    for (int i = 0; i < grow; ++i) {
      ASSIGN_OR_RETURN(Local<Object> l, Object::New(build, leak));
      l->Set(leak_n, i);
      leaks->Set(i, l.get());
    }
  }
  HeapDumpOptions dump;
  dump.path = path;
  dump.live = true;
  dump.gzip_level = gzip ? 1 : 0;
  // Two dumps that differ by --grow must differ only in test.Leak: pin the
  // environment's figures that move from run to run, and the command line
  // (whose --grow N has as many digits as N).
  dump.extra_properties = PinnedVolatileProperties();
  dump.extra_properties.emplace_back("sun.java.command", "viewer_test_heap");
  RETURN_IF_ERROR(VMRuntime::DumpHeap(*runtime, dump).status());
  std::printf("made test.Item %d\nmade test.Leak %d\n", kListItems, grow);
  std::printf("value native test.Item 2 %d\n", static_cast<int>(kNativeBytes));
  return absl::OkStatus();
}

}  // namespace
}  // namespace kiln

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: viewer_test_heap OUT.hprof [--grow N] [--gzip]\n");
    return 2;
  }
  int grow = 0;
  bool gzip = false;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--grow") == 0 && i + 1 < argc) {
      grow = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--gzip") == 0) {
      gzip = true;
    } else {
      std::fprintf(stderr, "viewer_test_heap: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (grow < 0 || grow > 64) {
    std::fprintf(stderr, "viewer_test_heap: --grow must be 0 to 64\n");
    return 2;
  }
  const absl::Status status = kiln::Run(argv[1], grow, gzip);
  if (!status.ok()) {
    std::fprintf(stderr, "viewer_test_heap: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
