// Runtime: one instance of the Kiln managed runtime.
//
//   kiln::RuntimeOptions options;
//   options.heap_limit_bytes = 256 << 20;
//   options.classes.push_back({.name = "Node",
//                              .fields = {{"next", kiln::FieldType::kObject}}});
//   absl::StatusOr<std::unique_ptr<kiln::Runtime>> runtime =
//       kiln::Runtime::Create(std::move(options));
//
// A process may hold several runtimes; they share nothing. A runtime owns its
// class table, heap, thread list, VM thread, global handles and daemon
// threads. Destroying it stops and joins its daemon threads and its VM thread;
// every host thread must have detached (ThreadScope ended) and every Global
// been destroyed before.
#ifndef KILN_VM_RUNTIME_H_
#define KILN_VM_RUNTIME_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/mutex.h"
#include "gc/heap.h"
#include "vm/class_table.h"
#include "vm/handles.h"
#include "vm/object.h"
#include "vm/safepoint.h"
#include "vm/thread.h"
#include "vm/vm_operation.h"

namespace kiln {

struct RuntimeOptions {
  // The most bytes the heap may take; allocations beyond it fail with
  // ResourceExhausted.
  size_t heap_limit_bytes = size_t{512} << 20;
  // Each thread's allocation buffer (a power of two, 256 bytes to 1 MiB).
  size_t tlab_size = size_t{32} << 10;
  // The embedder's classes, defined at start-up next to the builtins.
  std::vector<ClassSpec> classes;
};

// RootKind: why a root keeps an object alive.
enum class RootKind : uint8_t {
  kThreadObject,  // a thread's java.lang.Thread
  kFrameSlot,     // a slot of a managed frame (Local)
  kGlobal,        // a Global handle
  kClass,         // a class's java.lang.Class mirror
  kStaticField,   // a static reference field
};

struct RootInfo {
  RootKind kind;
  const Thread* thread = nullptr;  // kThreadObject, kFrameSlot
  int frame_depth = -1;            // kFrameSlot: 0 is the innermost frame
  const Class* cls = nullptr;      // kClass, kStaticField
};

class Runtime {
 public:
  // Create builds the class table and the heap, allocates the class mirrors
  // and starts the VM thread. InvalidArgument names a bad class spec or heap
  // option.
  static absl::StatusOr<std::unique_ptr<Runtime>> Create(RuntimeOptions options);
  ~Runtime();

  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const ClassTable& classes() const { return *classes_; }
  // FindClass: the class named `name`, or nullptr.
  const Class* FindClass(absl::string_view name) const { return classes_->Find(name); }
  absl::StatusOr<const Method*> FindMethod(absl::string_view class_name,
                                           absl::string_view name,
                                           absl::string_view signature) const {
    return classes_->FindMethod(class_name, name, signature);
  }

  gc::Heap& heap() { return *heap_; }
  GlobalHandles& globals() { return globals_; }
  SafepointManager& safepoints() { return safepoints_; }

  // Execute runs `op` on the VM thread with the world stopped, and returns
  // when it is done. A calling thread attached to this runtime waits in native
  // state. FailedPrecondition once the runtime is shutting down.
  absl::Status Execute(VmOperation& op);
  // RunAtSafepoint: Execute for a function.
  absl::StatusOr<SafepointTiming> RunAtSafepoint(
      absl::string_view name, absl::FunctionRef<void(StoppedWorld&)> fn);

  // StartDaemonThread starts a runtime-owned daemon thread running `body`
  // attached as `name`. `body` should return soon after its thread is
  // interrupted (Sleep returns Cancelled); the runtime interrupts and joins
  // its daemon threads when it shuts down.
  absl::Status StartDaemonThread(std::string name, std::function<void(Thread&)> body);

  // VisitRoots calls `fn` on every root slot: for each thread its
  // java.lang.Thread and then its frame slots (innermost first), then the
  // Global handles, the class mirrors and the static reference fields. Null
  // slots are skipped.
  void VisitRoots(const StoppedWorld& world,
                  absl::FunctionRef<void(Object** slot, const RootInfo& info)> fn);
  // ForEachObject visits every object on the heap, reachable or not, in
  // address order.
  void ForEachObject(const StoppedWorld& world, absl::FunctionRef<void(Object*)> fn);

  SafepointStats safepoint_stats() { return safepoints_.stats(); }

 private:
  friend class ThreadScope;

  Runtime() = default;
  absl::Status AllocateMirrors();
  absl::StatusOr<Thread*> AttachCurrentThread(absl::string_view name,
                                              const ThreadOptions& options);
  void DetachCurrentThread(Thread* thread);

  std::unique_ptr<ClassTable> classes_;
  std::unique_ptr<gc::Heap> heap_;
  GlobalHandles globals_;
  SafepointManager safepoints_;
  std::unique_ptr<VmThread> vm_thread_;
  const Method* thread_init_ = nullptr;  // java.lang.Thread.<init>
  std::atomic<int64_t> next_tid_{1};

  Mutex lifecycle_mu_;
  bool shutting_down_ ABSL_GUARDED_BY(lifecycle_mu_) = false;
  std::vector<std::thread> daemons_ ABSL_GUARDED_BY(lifecycle_mu_);
};

}  // namespace kiln

#endif  // KILN_VM_RUNTIME_H_
