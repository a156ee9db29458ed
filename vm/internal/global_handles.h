// GlobalHandles: the table behind a runtime's Global<T> handles (vm/handles.h).
// Internal to the runtime.
#ifndef KILN_VM_INTERNAL_GLOBAL_HANDLES_H_
#define KILN_VM_INTERNAL_GLOBAL_HANDLES_H_

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "base/must_use.h"
#include "base/mutex.h"
#include "vm/handles.h"

namespace kiln {

// GlobalHandles: the slots behind one runtime's Globals, in blocks that never
// move.
class GlobalHandles {
 public:
  GlobalHandles() = default;
  GlobalHandles(const GlobalHandles&) = delete;
  GlobalHandles& operator=(const GlobalHandles&) = delete;

  KILN_MUST_USE Object** Allocate(Object* value);
  void Free(Object** slot);
  // VisitRoots calls `fn` on every non-null slot; the world must be stopped.
  void VisitRoots(absl::FunctionRef<void(Object** slot)> fn);
  size_t size();

 private:
  static constexpr size_t kBlockSize = 256;
  Mutex mu_;
  std::vector<std::unique_ptr<Object*[]>> blocks_ ABSL_GUARDED_BY(mu_);
  std::vector<Object**> free_ ABSL_GUARDED_BY(mu_);
  size_t used_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace kiln

#endif  // KILN_VM_INTERNAL_GLOBAL_HANDLES_H_
