#include "vm/runtime.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/check.h"
#include "base/status_macros.h"
#include "vm/frame.h"
#include "vm/string.h"

namespace kiln {

absl::StatusOr<std::unique_ptr<Runtime>> Runtime::Create(RuntimeOptions options) {
  auto runtime = std::unique_ptr<Runtime>(new Runtime());
  ASSIGN_OR_RETURN(runtime->classes_, ClassTable::Build(options.classes));
  gc::HeapOptions heap_options;
  heap_options.heap_limit_bytes = options.heap_limit_bytes;
  heap_options.tlab_size = options.tlab_size;
  ASSIGN_OR_RETURN(runtime->heap_, gc::Heap::Create(heap_options));
  ASSIGN_OR_RETURN(runtime->thread_init_,
                   runtime->classes_->FindMethod("java.lang.Thread", "<init>",
                                                 "(Ljava/lang/String;)V"));
  RETURN_IF_ERROR(runtime->AllocateMirrors());
  runtime->vm_thread_ = std::make_unique<VmThread>(*runtime, runtime->safepoints_);
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
  std::vector<std::thread> daemons;
  {
    MutexLock lock(&lifecycle_mu_);
    shutting_down_ = true;
    daemons.swap(daemons_);
  }
  safepoints_.ForEachThread([](Thread& thread) {
    if (thread.daemon()) thread.Interrupt();
  });
  for (std::thread& daemon : daemons) daemon.join();

  std::vector<std::string> attached;
  safepoints_.ForEachThread([&](Thread& thread) { attached.push_back(thread.name()); });
  KILN_CHECK(attached.empty(), "runtime destroyed while threads are attached: ",
             absl::StrJoin(attached, ", "));
  vm_thread_.reset();
  KILN_CHECK(globals_.size() == 0, "runtime destroyed while ", globals_.size(),
             " Global handles are alive");
}

absl::Status Runtime::Execute(VmOperation& op) {
  Thread* self = Thread::CurrentFor(this);
  if (self != nullptr && self->IsManaged()) {
    ScopedNative waiting(*self, ThreadStatus::kWaiting);
    return vm_thread_->Execute(op);
  }
  return vm_thread_->Execute(op);
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
  MutexLock lock(&lifecycle_mu_);
  if (shutting_down_) {
    return absl::FailedPreconditionError(
        absl::StrCat("daemon thread ", name, ": the runtime is shutting down"));
  }
  daemons_.emplace_back([this, name = std::move(name), body = std::move(body)] {
    absl::StatusOr<Thread*> thread = AttachCurrentThread(name, {.daemon = true});
    if (!thread.ok()) return;  // shutdown began before the thread could start
    body(**thread);
    DetachCurrentThread(*thread);
  });
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
  auto* thread = new Thread(*this, std::string(name), next_tid_.fetch_add(1), options);
  heap_->AttachTlab(&thread->tlab_);
  safepoints_.Add(thread);
  thread->MakeCurrent();
  thread->TransitionToManaged(ThreadStatus::kRunnable);

  // The java.lang.Thread is made in a frame of Thread.<init>, so that a
  // collection at either allocation sees it rooted.
  absl::Status status = [&]() -> absl::Status {
    Frame frame(*thread, thread_init_);
    ASSIGN_OR_RETURN(Local<Object> object, Object::New(frame, classes_->thread_class()));
    thread->thread_object_ = object.get();
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
  thread->TransitionToNative(ThreadStatus::kTerminated);
  safepoints_.Remove(thread);
  heap_->DetachTlab(&thread->tlab_);
  thread->ClearCurrent();
  delete thread;
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
  }
  globals_.VisitRoots([&](Object** slot) { visit(slot, {.kind = RootKind::kGlobal}); });
  for (const Class* cls : classes_->classes()) {
    visit(cls->mirror_slot(), {.kind = RootKind::kClass, .cls = cls});
    for (const Field& field : cls->static_fields()) {
      if (field.type() != FieldType::kObject) continue;
      visit(cls->static_ref_slot(field), {.kind = RootKind::kStaticField, .cls = cls});
    }
  }
}

void Runtime::ForEachObject(const StoppedWorld& world, absl::FunctionRef<void(Object*)> fn) {
  KILN_CHECK(&world.runtime() == this, "StoppedWorld of another runtime");
  heap_->MakeParsable();
  heap_->ForEachObject(
      [&](gc::ObjectHeader* header) { fn(reinterpret_cast<Object*>(header)); });
}

}  // namespace kiln
