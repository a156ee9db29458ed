#include "vm/runtime.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "gc/internal/binding.h"
#include "gc/internal/heap.h"
#include "vm/frame.h"
#include "vm/internal/global_handles.h"
#include "vm/internal/intern_table.h"
#include "vm/internal/lock_word.h"
#include "vm/internal/monitor_table.h"
#include "vm/internal/reference_processor.h"
#include "vm/internal/runtime_access.h"
#include "vm/internal/safepoint_manager.h"
#include "vm/internal/vm_operation.h"
#include "vm/monitor.h"
#include "vm/string.h"

namespace kiln {

// GcBinding: the VM's side of gc::VmBinding.
class Runtime::GcBinding : public gc::VmBinding {
 public:
  explicit GcBinding(Runtime& runtime) : runtime_(runtime) {}
  void RequestCollection(gc::GcCause cause, uint64_t observed) override;
  void VisitRoots(absl::FunctionRef<void(gc::ObjectHeader** slot)> visit) override;
  void OnReferencesCleared(absl::Span<const gc::ClearedReference> cleared) override;
  void OnFinalizationPending() override;
  void SweepSystemWeaks(absl::FunctionRef<bool(const gc::ObjectHeader*)> is_marked) override;
  void OnOutOfMemory(size_t size) override;

  const StoppedWorld* world = nullptr;  // set while the collector runs

 private:
  Runtime& runtime_;
};

Runtime::Runtime(RuntimeOptions options)
    : options_(std::move(options)),
      gc_binding_(std::make_unique<GcBinding>(*this)),
      reference_processor_(std::make_unique<ReferenceProcessor>(*this)),
      globals_(std::make_unique<GlobalHandles>()),
      interned_strings_(std::make_unique<InternTable>()),
      safepoints_(std::make_unique<SafepointManager>()),
      monitors_(std::make_unique<MonitorTable>()) {}

gc::HeapStats Runtime::heap_stats() { return heap_->Stats(); }
MonitorStats Runtime::monitor_stats() { return monitors_->stats(); }
SafepointStats Runtime::safepoint_stats() { return safepoints_->stats(); }
void Runtime::ForEachThread(absl::FunctionRef<void(Thread&)> fn) {
  safepoints_->ForEachThread(fn);
}

absl::StatusOr<std::unique_ptr<Runtime>> Runtime::Create(RuntimeOptions options) {
  auto runtime = std::unique_ptr<Runtime>(new Runtime(std::move(options)));
  const RuntimeOptions& opts = runtime->options_;
  ASSIGN_OR_RETURN(runtime->classes_, ClassTable::Build(opts.classes));
  gc::HeapOptions heap_options;
  heap_options.heap_limit_bytes = opts.heap_limit_bytes;
  heap_options.initial_soft_limit_bytes = opts.initial_heap_bytes;
  heap_options.tlab_size = opts.tlab_size;
  heap_options.stress = opts.gc_stress;
  heap_options.verify = opts.verify_heap;
  heap_options.huge_pages = opts.heap_huge_pages;
  heap_options.zeroing = opts.heap_zeroing;
  ASSIGN_OR_RETURN(runtime->heap_, gc::Heap::Create(heap_options, runtime->gc_binding_.get()));
  ASSIGN_OR_RETURN(runtime->thread_init_,
                   runtime->classes_->FindMethod("java.lang.Thread", "<init>",
                                                 "(Ljava/lang/String;)V"));
  ASSIGN_OR_RETURN(runtime->host_method_,
                   runtime->classes_->FindMethod("java.lang.Thread", "run", "()V"));
  ASSIGN_OR_RETURN(runtime->object_wait_,
                   runtime->classes_->FindMethod("java.lang.Object", "wait", "(J)V"));
  // The VM thread first: allocating the mirrors may already collect.
  runtime->vm_thread_ = std::make_unique<VmThread>(*runtime, *runtime->safepoints_);
  RETURN_IF_ERROR(runtime->AllocateMirrors());
  for (const Class* cls : runtime->classes_->classes()) {
    if (cls->has_finalizer()) {
      RETURN_IF_ERROR(runtime->reference_processor_->EnsureFinalizerDaemon());
      break;
    }
  }
  for (const RuntimeServiceFactory& factory : opts.services) {
    ASSIGN_OR_RETURN(std::unique_ptr<RuntimeService> service, factory(*runtime));
    runtime->services_.push_back(std::move(service));
  }
  return runtime;
}

absl::Status Runtime::AllocateMirrors() {
  // No thread is attached yet: the mirrors come from a Tlab of their own.
  gc::Tlab tlab;
  heap_->AttachTlab(&tlab);
  const Class* class_class = classes_->class_class();
  absl::Status status;
  for (const Class* cls : classes_->classes()) {
    absl::StatusOr<gc::ObjectHeader*> mirror =
        heap_->Allocate(tlab, class_class, class_class->instance_size, 0);
    if (!mirror.ok()) {
      status = absl::ResourceExhaustedError(absl::StrCat(
          "runtime: heap too small for the class mirrors: ", mirror.status().message()));
      break;
    }
    *cls->mirror_slot() = reinterpret_cast<Object*>(*mirror);
  }
  heap_->DetachTlab(&tlab);
  return status;
}

Runtime::~Runtime() {
  // From here on ThreadScope::Attach and StartDaemonThread return
  // FailedPrecondition; a host thread racing shutdown gets that, not an abort.
  {
    MutexLock lock(&lifecycle_mu_);
    shutting_down_ = true;
  }
  while (!services_.empty()) services_.pop_back();
  std::vector<std::thread> daemons;
  {
    MutexLock lock(&lifecycle_mu_);
    daemons.swap(daemons_);
  }
  reference_processor_->Stop();
  safepoints_->ForEachThread([](Thread& thread) {
    if (thread.daemon()) thread.Interrupt();
  });
  for (std::thread& daemon : daemons) daemon.join();

  std::vector<std::string> attached;
  safepoints_->ForEachThread([&](Thread& thread) { attached.push_back(thread.name()); });
  KILN_CHECK(attached.empty(), "runtime destroyed while threads are attached: ",
             absl::StrJoin(attached, ", "));
  vm_thread_.reset();
  KILN_CHECK(globals_->size() == 0, "runtime destroyed while ", globals_->size(),
             " Global handles are alive");
  // Native memory still registered is the embedder's: give it back.
  if (classes_ != nullptr) reference_processor_->FreeRemaining();
}

absl::StatusOr<gc::CollectionStats> Runtime::CollectGarbage(gc::GcCause cause) {
  gc::CollectionStats stats;
  RETURN_IF_ERROR(RunAtSafepoint(absl::StrCat("GC (", gc::GcCauseName(cause), ")"),
                                 [&](StoppedWorld& world) {
                                   stats = RunCollection(world, cause);
                                 })
                      .status());
  return stats;
}

gc::CollectionStats Runtime::RunCollection(const StoppedWorld& world, gc::GcCause cause,
                                           uint64_t observed) {
  KILN_CHECK(&world.runtime() == this, "StoppedWorld of another runtime");
  gc_binding_->world = &world;
  gc::CollectionStats stats = heap_->Collect(cause, observed);
  gc_binding_->world = nullptr;
  if (!stats.skipped) reference_processor_->OnCollection();
  return stats;
}

absl::StatusOr<std::unique_ptr<gc::Heap::SnapshotMarking>>
internal::RuntimeAccess::PrepareLiveMarking(Runtime& runtime, const StoppedWorld& world) {
  KILN_CHECK(&world.runtime() == &runtime, "StoppedWorld of another runtime");
  runtime.gc_binding_->world = &world;  // the roots are visited now
  absl::StatusOr<std::unique_ptr<gc::Heap::SnapshotMarking>> marking =
      runtime.heap_->PrepareSnapshotMarking();
  runtime.gc_binding_->world = nullptr;
  return marking;
}

void Runtime::GcBinding::RequestCollection(gc::GcCause cause, uint64_t observed) {
  // On the allocating thread (Runtime::ExecuteHere). Fails only while
  // shutting down, when no managed thread allocates.
  class Collection : public VmOperation {
   public:
    Collection(Runtime& runtime, gc::GcCause cause, uint64_t observed)
        : VmOperation(absl::StrCat("GC (", gc::GcCauseName(cause), ")")),
          runtime_(runtime),
          cause_(cause),
          observed_(observed) {}
    void Doit(StoppedWorld& world) override { runtime_.RunCollection(world, cause_, observed_); }

   private:
    Runtime& runtime_;
    const gc::GcCause cause_;
    const uint64_t observed_;
  };
  Collection op(runtime_, cause, observed);
  (void)runtime_.ExecuteHere(op);
}

void Runtime::GcBinding::VisitRoots(absl::FunctionRef<void(gc::ObjectHeader** slot)> visit) {
  KILN_CHECK(world != nullptr, "the collector asked for roots outside a safepoint");
  runtime_.VisitRoots(*world, [&](Object** slot, const RootInfo&) {
    visit(reinterpret_cast<gc::ObjectHeader**>(slot));
  });
}

void Runtime::GcBinding::OnReferencesCleared(absl::Span<const gc::ClearedReference> cleared) {
  runtime_.reference_processor_->OnReferencesCleared(cleared);
}

void Runtime::GcBinding::OnFinalizationPending() {
  runtime_.reference_processor_->OnFinalizationPending();
}

void Runtime::GcBinding::SweepSystemWeaks(
    absl::FunctionRef<bool(const gc::ObjectHeader*)> is_marked) {
  runtime_.monitors_->Sweep(is_marked);
}

void Runtime::GcBinding::OnOutOfMemory(size_t size) {
  if (runtime_.options_.on_out_of_memory) runtime_.options_.on_out_of_memory(runtime_, size);
}

// A calling thread attached to this runtime is native for the operation:
// the world it stops includes that thread. Execute's waits for the VM
// thread (kWaiting); ExecuteHere's runs it (kRunnable).
absl::Status Runtime::Execute(VmOperation& op) {
  std::optional<ScopedNative> native;
  Thread* self = Thread::CurrentFor(this);
  if (self != nullptr && self->IsManaged()) native.emplace(*self, ThreadStatus::kWaiting);
  return vm_thread_->Execute(op);
}

absl::Status Runtime::ExecuteHere(VmOperation& op) {
  std::optional<ScopedNative> native;
  Thread* self = Thread::CurrentFor(this);
  if (self != nullptr && self->IsManaged()) native.emplace(*self, ThreadStatus::kRunnable);
  return vm_thread_->ExecuteHere(op);
}

absl::StatusOr<SafepointTiming> Runtime::RunAtSafepoint(
    absl::string_view name, absl::FunctionRef<void(StoppedWorld&)> fn) {
  class FunctionOperation : public VmOperation {
   public:
    FunctionOperation(absl::string_view name, absl::FunctionRef<void(StoppedWorld&)> fn)
        : VmOperation(std::string(name)), fn_(fn) {}
    void Doit(StoppedWorld& world) override { fn_(world); }

   private:
    absl::FunctionRef<void(StoppedWorld&)> fn_;
  };
  FunctionOperation op(name, fn);
  RETURN_IF_ERROR(Execute(op));
  return op.timing();
}

absl::Status Runtime::StartDaemonThread(std::string name,
                                        std::function<void(Thread&)> body) {
  // The daemon reports its attach (which allocates its Thread object, and so
  // may collect) before StartDaemonThread returns: what happens on the heap
  // afterwards is the caller's alone, and the daemon shows in thread dumps.
  struct Attached {
    Mutex mu;
    CondVar cv;
    std::optional<absl::Status> status ABSL_GUARDED_BY(mu);
  };
  auto attached = std::make_shared<Attached>();
  {
    MutexLock lock(&lifecycle_mu_);
    if (shutting_down_) {
      return absl::FailedPreconditionError(
          absl::StrCat("daemon thread ", name, ": the runtime is shutting down"));
    }
    daemons_.emplace_back([this, attached, name, body = std::move(body)] {
      absl::StatusOr<Thread*> thread = AttachCurrentThread(name, {.daemon = true});
      {
        MutexLock lock(&attached->mu);
        attached->status = thread.status();
        attached->cv.SignalAll();
      }
      if (!thread.ok()) return;  // shutdown began before the thread could start
      body(**thread);
      DetachCurrentThread(*thread);
    });
  }
  // A managed caller waits in native: the attach may need a safepoint.
  Thread* self = Thread::CurrentFor(this);
  std::optional<ScopedNative> waiting;
  if (self != nullptr && self->IsManaged()) waiting.emplace(*self, ThreadStatus::kWaiting);
  MutexLock lock(&attached->mu);
  while (!attached->status.has_value()) attached->cv.Wait(&attached->mu);
  if (!attached->status->ok()) {
    return absl::Status(attached->status->code(),
                        absl::StrCat("daemon thread ", name, ": ", attached->status->message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<Thread*> Runtime::AttachCurrentThread(absl::string_view name,
                                                     const ThreadOptions& options) {
  KILN_CHECK(Thread::CurrentFor(this) == nullptr, "thread \"", name,
             "\" is already attached to this runtime");
  {
    MutexLock lock(&lifecycle_mu_);
    if (shutting_down_) {
      return absl::FailedPreconditionError(
          absl::StrCat("attaching thread ", name, ": the runtime is shutting down"));
    }
  }
  const Class* thread_class = options.thread_class;
  if (thread_class == nullptr) thread_class = classes_->thread_class();
  if (!thread_class->IsSubclassOf(classes_->thread_class())) {
    return absl::InvalidArgumentError(absl::StrCat("attaching thread ", name, ": class ",
                                                   thread_class->name(),
                                                   " does not extend java.lang.Thread"));
  }
  auto* thread = new Thread(*this, std::string(name), next_tid_.fetch_add(1), options);
  thread->thin_id_ = monitors_->AllocateThinId();
  thread->thin_lock_word_ = LockWord::Thin(thread->thin_id_, 0).value();
  heap_->AttachTlab(&thread->tlab_);
  safepoints_->Add(thread);
  thread->MakeCurrent();
  thread->TransitionToManaged(ThreadStatus::kRunnable);

  // The java.lang.Thread is made in a frame of Thread.<init>, so that a
  // collection at either allocation sees it rooted.
  absl::Status status = [&]() -> absl::Status {
    Frame frame(*thread, thread_init_);
    ASSIGN_OR_RETURN(Local<Object> object, Object::New(frame, thread_class));
    thread->thread_object_ = object.get();
    {
      MutexLock lock(&alive_mu_);
      alive_thread_objects_.insert(object.get());
    }
    ASSIGN_OR_RETURN(Local<String> thread_name, String::New(frame, name));
    const ClassTable::ThreadFields& fields = classes_->thread_fields();
    object->SetRef(*fields.name, thread_name.get());
    object->Set<int64_t>(*fields.tid, thread->tid());
    object->Set<bool>(*fields.daemon, options.daemon);
    object->Set<int32_t>(*fields.priority, options.priority);
    return absl::OkStatus();
  }();
  if (!status.ok()) {
    DetachCurrentThread(thread);
    return absl::ResourceExhaustedError(
        absl::StrCat("attaching thread ", name, ": ", status.message()));
  }
  return thread;
}

void Runtime::DetachCurrentThread(Thread* thread) {
  KILN_CHECK(thread->top_frame_ == nullptr, "thread ", thread->name(),
             " detached with managed frames on its stack");
  KILN_CHECK(thread->lock_records_.empty(), "thread ", thread->name(),
             " detached holding monitors");
  if (Object* const object = thread->thread_object_; object != nullptr) {
    // What the JVM does as a thread ends (HotSpot's ensure_join): under its
    // thread object's monitor, the thread stops being alive and wakes the
    // object's waiters, so that a Join (or Java's Thread.join loop) sees it.
    // Uncontended and without waiters, the monitor stays a thin lock.
    Frame frame(*thread);
    Synchronized lock(frame, object);
    {
      MutexLock alive(&alive_mu_);
      alive_thread_objects_.erase(object);
    }
    const absl::Status notified = NotifyAll(frame, object);
    KILN_CHECK(notified.ok(), "thread ", thread->name(), " ending: ", notified.ToString());
  }
  thread->TransitionToNative(ThreadStatus::kTerminated);
  safepoints_->Remove(thread);
  heap_->DetachTlab(&thread->tlab_);
  monitors_->ReleaseThinId(thread->thin_id_);
  thread->ClearCurrent();
  delete thread;
}

bool Runtime::IsThreadAlive(const Object* thread_object) {
  MutexLock lock(&alive_mu_);
  return alive_thread_objects_.contains(thread_object);
}

void Runtime::VisitRoots(const StoppedWorld& world,
                         absl::FunctionRef<void(Object** slot, const RootInfo& info)> fn) {
  KILN_CHECK(&world.runtime() == this, "StoppedWorld of another runtime");
  auto visit = [&](Object** slot, const RootInfo& info) {
    if (*slot != nullptr) fn(slot, info);
  };
  for (Thread* thread : world.threads()) {
    visit(thread->thread_object_slot(), {.kind = RootKind::kThreadObject, .thread = thread});
    int depth = 0;
    for (Frame* frame = thread->top_frame(); frame != nullptr;
         frame = frame->caller(), ++depth) {
      for (size_t i = 0; i < frame->num_slots(); ++i) {
        visit(frame->slot_address(i),
              {.kind = RootKind::kFrameSlot, .thread = thread, .frame_depth = depth});
      }
    }
    for (LockRecord& record : thread->lock_records_) {
      visit(&record.object, {.kind = RootKind::kMonitorUsed, .thread = thread});
    }
  }
  globals_->VisitRoots([&](Object** slot) { visit(slot, {.kind = RootKind::kGlobal}); });
  for (const Class* cls : classes_->classes()) {
    visit(cls->mirror_slot(), {.kind = RootKind::kClass, .cls = cls});
    for (const Field& field : cls->static_fields()) {
      if (field.type() != FieldType::kObject) continue;
      visit(cls->static_ref_slot(field), {.kind = RootKind::kStaticField, .cls = cls});
    }
  }
  interned_strings_->VisitRoots(
      [&](Object** slot) { visit(slot, {.kind = RootKind::kInternedString}); });
  heap_->VisitPendingFinalization([&](gc::ObjectHeader** slot) {
    visit(reinterpret_cast<Object**>(slot), {.kind = RootKind::kFinalizing});
  });
}

void Runtime::ForEachObject(const StoppedWorld& world, absl::FunctionRef<void(Object*)> fn) {
  KILN_CHECK(&world.runtime() == this, "StoppedWorld of another runtime");
  heap_->MakeParsable();
  heap_->ForEachObject(
      [&](gc::ObjectHeader* header) { fn(reinterpret_cast<Object*>(header)); });
}

}  // namespace kiln
