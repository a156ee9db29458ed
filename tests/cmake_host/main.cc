// A host application built against the installed Kiln package
// (find_package(Kiln), Kiln::kiln): it creates a runtime, attaches, allocates
// a string and an array, and checks them at a safepoint. Exits 0 on success.
// It uses the public API only (vm/kiln.h, inspection/vm_runtime.h,
// inspection/hprof/hprof_snapshot.h): the package installs nothing else.
#include <cstdio>

#include <unistd.h>

#include <string>

#include "inspection/hprof/hprof_snapshot.h"
#include "inspection/vm_runtime.h"
#include "vm/kiln.h"

int main() {
  kiln::RuntimeOptions options;
  options.heap_limit_bytes = 16 << 20;
  absl::StatusOr<std::unique_ptr<kiln::Runtime>> runtime = kiln::Runtime::Create(options);
  if (!runtime.ok()) {
    std::fprintf(stderr, "host: %s\n", runtime.status().ToString().c_str());
    return 1;
  }
  size_t objects = 0;
  {
    absl::StatusOr<kiln::ThreadScope> main = kiln::ThreadScope::Attach(**runtime, "main");
    if (!main.ok()) {
      std::fprintf(stderr, "host: %s\n", main.status().ToString().c_str());
      return 1;
    }
    kiln::Frame frame(*main);  // a host frame: no managed method of our own
    absl::StatusOr<kiln::Local<kiln::String>> greeting =
        kiln::String::New(frame, "hello from the host");
    absl::StatusOr<kiln::Local<kiln::IntArray>> numbers = kiln::IntArray::New(frame, 10);
    if (!greeting.ok() || !numbers.ok()) return 1;
    auto timing = (*runtime)->RunAtSafepoint("count", [&](kiln::StoppedWorld& world) {
      (*runtime)->ForEachObject(world, [&](kiln::Object*) { ++objects; });
    });
    if (!timing.ok()) return 1;
    std::printf("%s; %zu objects on the heap\n", (*greeting)->ToUtf8().c_str(), objects);
  }
  // Mirrors + thread + its name (String, byte[]) + greeting (String, byte[]) + int[].
  if (objects != (*runtime)->classes().size() + 6) return 1;

  // A full heap dump through the installed package, read back.
  const std::string path = "/tmp/kiln-cmake-host-" + std::to_string(getpid()) + ".hprof";
  absl::Status dumped = kiln::VMRuntime::DumpHeap(**runtime, path, /*live=*/false);
  if (!dumped.ok()) {
    std::fprintf(stderr, "host: %s\n", dumped.ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<kiln::HprofSnapshot>> snapshot = kiln::HprofSnapshot::Load(path);
  unlink(path.c_str());
  if (!snapshot.ok() || !(*snapshot)->CheckReferences().ok()) return 1;
  std::printf("heap dump: %zu classes, %zu instances\n", (*snapshot)->classes().size(),
              (*snapshot)->instances().size());
  // Every class of the runtime is in the dump, by name. The dump holds a few
  // more: the synthetic environment (java.lang.System's properties and the
  // classes readers look for), so the counts are not compared.
  for (const kiln::Class* klass : (*runtime)->classes().classes()) {
    if ((*snapshot)->FindClass(klass->name()) == nullptr) {
      std::fprintf(stderr, "host: class %s is not in the dump\n", klass->name().c_str());
      return 1;
    }
  }
  return 0;
}
