#include "vm/references.h"

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "vm/internal/runtime_access.h"
#include "vm/runtime.h"

namespace kiln {

absl::StatusOr<Local<Object>> NativeAllocationRegistry::Create(Frame& frame,
                                                               FreeFunction free_function,
                                                               int64_t size) {
  if (free_function == nullptr || size < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "NativeAllocationRegistry: needs a free function and a size >= 0 (size ", size, ")"));
  }
  const ClassTable::ReferenceClasses& refs = frame.thread().runtime().classes().references();
  ASSIGN_OR_RETURN(Local<Object> registry, Object::New(frame, refs.registry));
  registry->Set<int64_t>(*refs.registry_free,
                         static_cast<int64_t>(reinterpret_cast<uintptr_t>(free_function)));
  registry->Set<int64_t>(*refs.registry_size, size);
  return registry;
}

absl::Status NativeAllocationRegistry::RegisterNativeAllocation(Frame& frame,
                                                                Local<Object> registry,
                                                                Local<Object> referent,
                                                                void* native_pointer) {
  Runtime& runtime = frame.thread().runtime();
  const ClassTable::ReferenceClasses& refs = runtime.classes().references();
  KILN_CHECK(registry && registry->GetClass() == refs.registry,
             "RegisterNativeAllocation needs a NativeAllocationRegistry");
  KILN_CHECK(referent, "RegisterNativeAllocation needs a referent");
  const auto free_function = reinterpret_cast<FreeFunction>(
      static_cast<uintptr_t>(registry->Get<int64_t>(*refs.registry_free)));
  const int64_t size = registry->Get<int64_t>(*refs.registry_size);

  absl::StatusOr<Local<Object>> thunk = Object::New(frame, refs.thunk);
  absl::StatusOr<Local<Object>> cleaner =
      thunk.ok() ? Object::New(frame, refs.cleaner) : thunk.status();
  absl::Status daemon =
      cleaner.ok() ? internal::ReferenceProcessorOf(runtime).EnsureCleanerDaemon() : cleaner.status();
  if (!daemon.ok()) {
    free_function(native_pointer);
    return absl::Status(daemon.code(), absl::StrCat("RegisterNativeAllocation: ",
                                                    daemon.message()));
  }
  (*thunk)->SetRef(*refs.thunk_registry, registry.get());
  (*thunk)->Set<int64_t>(*refs.thunk_pointer,
                         static_cast<int64_t>(reinterpret_cast<uintptr_t>(native_pointer)));
  (*cleaner)->SetRef(*refs.referent, referent.get());
  (*cleaner)->SetRef(*refs.cleaner_thunk, thunk->get());
  {
    // Link at the head of Cleaner's list, which keeps every Cleaner alive.
    // No allocation or poll happens under the lock.
    ReferenceProcessor& processor = internal::ReferenceProcessorOf(runtime);
    MutexLock lock(&processor.list_mu_);
    const Class* cleaner_class = refs.cleaner;
    Object* first = cleaner_class->GetStaticRef(*refs.cleaner_first);
    (*cleaner)->SetRef(*refs.cleaner_next, first);
    if (first != nullptr) first->SetRef(*refs.cleaner_prev, cleaner->get());
    cleaner_class->SetStaticRef(*refs.cleaner_first, cleaner->get());
  }
  if (internal::ReferenceProcessorOf(runtime).RecordRegistration(referent.get(), size)) {
    RETURN_IF_ERROR(runtime.CollectGarbage(gc::GcCause::kNativePressure).status());
  }
  return absl::OkStatus();
}

int64_t NativeAllocationRegistry::NativeBytesOf(Thread& thread, const Object* object) {
  return internal::ReferenceProcessorOf(thread.runtime()).NativeBytesOf(object);
}

absl::StatusOr<Local<Object>> WeakReference::New(Frame& frame, Local<Object> referent) {
  const ClassTable::ReferenceClasses& refs = frame.thread().runtime().classes().references();
  ASSIGN_OR_RETURN(Local<Object> reference, Object::New(frame, refs.weak_reference));
  reference->SetRef(*refs.referent, referent.get());
  return reference;
}

Object* WeakReference::Get(Thread& thread, const Object* reference) {
  return reference->GetRef(*thread.runtime().classes().references().referent);
}

}  // namespace kiln
