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
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/strings/string_view.h"
#include "base/must_use.h"
#include "base/mutex.h"
#include "gc/gc_stats.h"
#include "vm/class_table.h"
#include "vm/handles.h"
#include "vm/monitor.h"
#include "vm/object.h"
#include "vm/safepoint.h"
#include "vm/string.h"
#include "vm/thread.h"

namespace kiln {

namespace gc {
class Heap;
}  // namespace gc

class GlobalHandles;
class InternTable;
class MonitorTable;
class ReferenceProcessor;
class Runtime;
class SafepointManager;
class VmOperation;
class VmThread;

namespace internal {
class RuntimeAccess;  // vm/internal/runtime_access.h
}  // namespace internal

// RuntimeService: something that runs beside a runtime for its whole life,
// such as the inspection layer's signal handlers (vm/ knows nothing of
// inspection/; it only starts and stops what the options name). Services are
// created, in order, once the runtime is up, and destroyed in reverse order
// first thing at shutdown, once no new thread can attach but while attached
// threads may still run and the VM thread still runs operations: a
// destructor may wait for work it started.
class RuntimeService {
 public:
  virtual ~RuntimeService() = default;
};

// RuntimeServiceFactory starts a service on a runtime that is up; an error
// fails Runtime::Create.
using RuntimeServiceFactory =
    std::function<absl::StatusOr<std::unique_ptr<RuntimeService>>(Runtime& runtime)>;

struct RuntimeOptions {
  // The most bytes the heap may take; when a full collection cannot make room
  // within it, allocations fail with ResourceExhausted.
  size_t heap_limit_bytes = size_t{512} << 20;
  // The heap grows to this size before its first collection; afterwards
  // the collector keeps it near twice the live bytes, or the live bytes
  // plus a cache-sized budget when that is more (gc/COLLECTOR.md, "The
  // collection budget").
  size_t initial_heap_bytes = size_t{16} << 20;
  // Each thread's allocation buffer (a power of two, 256 bytes to 256 KiB).
  size_t tlab_size = size_t{32} << 10;
  // Collect when this many native bytes were registered with
  // NativeAllocationRegistry since the last collection.
  int64_t native_gc_watermark_bytes = int64_t{64} << 20;
  // Debug aids: collect at every allocation; verify the heap around every
  // collection (abort on a bad reference).
  bool gc_stress = false;
  bool verify_heap = false;
  // Back the heap with transparent huge pages where the kernel offers them
  // (gc::HeapOptions::huge_pages): fork-mode dumps fork much faster.
  bool heap_huge_pages = true;
  // Who zeroes the space a collection frees (gc::HeapOptions::zeroing): a
  // background thread between collections, the sweep, in the pause, or the
  // allocating thread, a Tlab at a time just before it uses it.
  gc::ZeroingMode heap_zeroing = gc::ZeroingMode::kAllocation;
  // Called once before an allocation fails for lack of memory, on the
  // allocating thread (managed), after a full collection. The heap-dump
  // subsystem hooks in here.
  std::function<void(Runtime& runtime, size_t request_bytes)> on_out_of_memory;
  // The embedder's classes, defined at start-up next to the builtins.
  std::vector<ClassSpec> classes;
  // Services to run beside the runtime (e.g. kiln::InspectionSignals from
  // inspection/services/inspection_signals.h). None by default: a runtime embedded as
  // a library installs no signal handler unless asked.
  std::vector<RuntimeServiceFactory> services;
};

// RootKind: why a root keeps an object alive.
enum class RootKind : uint8_t {
  kThreadObject,  // a thread's java.lang.Thread
  kFrameSlot,     // a slot of a managed frame (Local)
  kGlobal,        // a Global handle
  kClass,         // a class's java.lang.Class mirror
  kStaticField,   // a static reference field
  kFinalizing,    // an object waiting for its finalizer
  kInternedString,  // a String in the intern table
  kMonitorUsed,   // an object whose monitor a thread holds, awaits or enters
};

struct RootInfo {
  RootKind kind;
  const Thread* thread = nullptr;  // kThreadObject, kFrameSlot, kMonitorUsed
  int frame_depth = -1;            // kFrameSlot: 0 is the innermost frame
  const Class* cls = nullptr;      // kClass, kStaticField
};

class Runtime {
 public:
  // Create builds the class table and the heap, allocates the class mirrors
  // and starts the VM thread. InvalidArgument names a bad class spec or heap
  // option.
  KILN_MUST_USE static absl::StatusOr<std::unique_ptr<Runtime>> Create(RuntimeOptions options);
  ~Runtime();

  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const ClassTable& classes() const { return *classes_; }
  // FindClass / FindMethod: the low-level lookups by name, for tools that
  // take names at run time. A program resolves its classes, fields and
  // methods once with kiln::Resolver (vm/resolver.h) instead.
  // FindClass: the class named `name`, or nullptr.
  const Class* FindClass(absl::string_view name) const { return classes_->Find(name); }
  KILN_MUST_USE absl::StatusOr<const Method*> FindMethod(absl::string_view class_name,
                                                         absl::string_view name,
                                                         absl::string_view signature) const {
    return classes_->FindMethod(class_name, name, signature);
  }

  // host_method: the built-in method a host frame names (java.lang.Thread's
  // run()V, where a JVM thread's stack starts), for host code that needs
  // frame slots and has no managed method of its own: kiln::Frame(thread).
  const Method* host_method() const { return host_method_; }

  const RuntimeOptions& options() const { return options_; }
  // start_time: when Create began (VM.uptime; a dump's
  // kiln.vm.start_time_ms, whence VisualVM's JVM Uptime).
  absl::Time start_time() const { return start_time_; }
  // heap_stats: the heap's size, occupancy and collection totals now
  // (reads /proc/self/smaps: statistics, not a hot path).
  gc::HeapStats heap_stats();
  MonitorStats monitor_stats();
  SafepointStats safepoint_stats();

  // RunAtSafepoint runs `fn` on the VM thread with the world stopped, and
  // returns when it is done. A calling thread attached to this runtime waits
  // in native state. FailedPrecondition once the runtime is shutting down.
  KILN_MUST_USE absl::StatusOr<SafepointTiming> RunAtSafepoint(
      absl::string_view name, absl::FunctionRef<void(StoppedWorld&)> fn);

  // CollectGarbage runs a full collection at a safepoint and returns what it
  // did. FailedPrecondition once the runtime is shutting down.
  KILN_MUST_USE absl::StatusOr<gc::CollectionStats> CollectGarbage(
      gc::GcCause cause = gc::GcCause::kExplicit);

  // StartDaemonThread starts a runtime-owned daemon thread running `body`
  // attached as `name`, and returns once it is attached (a managed caller
  // waits in native). `body` should return soon after its thread is
  // interrupted (Sleep returns Cancelled); the runtime interrupts and joins
  // its daemon threads when it shuts down.
  KILN_MUST_USE absl::Status StartDaemonThread(std::string name, std::function<void(Thread&)> body);

  // VisitRoots calls `fn` on every root slot: for each thread its
  // java.lang.Thread and then its frame slots (innermost first), then the
  // Global handles, the class mirrors, the static reference fields, the
  // interned strings and the objects waiting for finalization; and, per
  // thread after its frames, the objects of its monitors (kMonitorUsed: one
  // per Synchronized scope, so an object may come more than once). Null
  // slots are skipped.
  void VisitRoots(const StoppedWorld& world,
                  absl::FunctionRef<void(Object** slot, const RootInfo& info)> fn);
  // ForEachObject visits every object on the heap, reachable or not, in
  // address order.
  void ForEachObject(const StoppedWorld& world, absl::FunctionRef<void(Object*)> fn);

  // IsThreadAlive: whether `thread_object` is the java.lang.Thread of a
  // thread attached to this runtime (Java's Thread.isAlive). A thread stops
  // being alive as it detaches, under its thread object's monitor, and
  // then notifies the object's waiters, as the JVM does when a thread ends:
  // what kiln::Join (vm/monitor.h) and Thread.join's waiters rely on.
  bool IsThreadAlive(const Object* thread_object);

  // ForEachThread calls `fn` on every attached thread, under the thread-list
  // lock: not during a safepoint, and `fn` must not attach or detach.
  void ForEachThread(absl::FunctionRef<void(Thread&)> fn);

 private:
  friend class ThreadScope;
  // The runtime's internals (the heap, the safepoint manager, the handle,
  // intern and monitor tables, the reference processor, VM operations) are
  // reached through vm/internal/runtime_access.h, which vm/, inspection/ and
  // tests include and the installed package does not ship.
  friend class internal::RuntimeAccess;
  class GcBinding;  // the VM's side of gc::VmBinding (runtime.cc)

  explicit Runtime(RuntimeOptions options);
  // Execute runs `op` on the VM thread with the world stopped.
  KILN_MUST_USE absl::Status Execute(VmOperation& op);
  // ExecuteHere runs `op` on the calling thread with the world stopped
  // (VmThread::ExecuteHere): an allocation's collection.
  KILN_MUST_USE absl::Status ExecuteHere(VmOperation& op);
  // RunCollection: the collection itself, for VM operations that already
  // stopped the world. `observed` as in gc::Heap::Collect (~0: always).
  gc::CollectionStats RunCollection(const StoppedWorld& world, gc::GcCause cause,
                                    uint64_t observed = ~uint64_t{0});
  KILN_MUST_USE absl::Status AllocateMirrors();
  KILN_MUST_USE absl::StatusOr<Thread*> AttachCurrentThread(absl::string_view name,
                                                            const ThreadOptions& options);
  void DetachCurrentThread(Thread* thread);

  const RuntimeOptions options_;
  const absl::Time start_time_ = absl::Now();
  std::unique_ptr<ClassTable> classes_;
  std::unique_ptr<GcBinding> gc_binding_;
  std::unique_ptr<gc::Heap> heap_;
  std::unique_ptr<ReferenceProcessor> reference_processor_;
  std::unique_ptr<GlobalHandles> globals_;
  std::unique_ptr<InternTable> interned_strings_;
  std::unique_ptr<SafepointManager> safepoints_;
  std::unique_ptr<MonitorTable> monitors_;
  std::unique_ptr<VmThread> vm_thread_;
  const Method* thread_init_ = nullptr;  // java.lang.Thread.<init>
  const Method* host_method_ = nullptr;  // java.lang.Thread.run
  const Method* object_wait_ = nullptr;  // java.lang.Object.wait(J)V
  std::atomic<int64_t> next_tid_{1};
  // The thread objects of attached threads (IsThreadAlive). A leaf lock,
  // held for a lookup or an update only; the objects are roots while their
  // threads are attached, and the heap does not move objects.
  Mutex alive_mu_;
  absl::flat_hash_set<const Object*> alive_thread_objects_ ABSL_GUARDED_BY(alive_mu_);

  Mutex lifecycle_mu_;
  bool shutting_down_ ABSL_GUARDED_BY(lifecycle_mu_) = false;
  std::vector<std::thread> daemons_ ABSL_GUARDED_BY(lifecycle_mu_);
  // Started last by Create, stopped first by the destructor.
  std::vector<std::unique_ptr<RuntimeService>> services_;
};

}  // namespace kiln

#endif  // KILN_VM_RUNTIME_H_
