// FakeBinding: a VmBinding for gc/ tests, standing in for the VM the way
// MMTk's tests use a mock VM. Roots are a vector of slots; a "stop the world"
// collection runs directly on the calling (only) thread.
#ifndef KILN_GC_FAKE_BINDING_H_
#define KILN_GC_FAKE_BINDING_H_

#include <vector>

#include "gc/internal/binding.h"
#include "gc/internal/heap.h"

namespace kiln::gc {

class FakeBinding : public VmBinding {
 public:
  void set_heap(Heap* heap) { heap_ = heap; }

  void RequestCollection(GcCause cause, uint64_t observed) override {
    last_ = heap_->Collect(cause, observed);
    ++requests;
  }
  void VisitRoots(absl::FunctionRef<void(ObjectHeader** slot)> visit) override {
    for (ObjectHeader*& root : roots) visit(&root);
    heap_->VisitPendingFinalization(visit);
  }
  void OnReferencesCleared(absl::Span<const ClearedReference> list) override {
    cleared.insert(cleared.end(), list.begin(), list.end());
  }
  void OnFinalizationPending() override { ++finalization_signals; }
  void SweepSystemWeaks(absl::FunctionRef<bool(const ObjectHeader*)>) override {
    ++system_weak_sweeps;
  }
  void OnOutOfMemory(size_t) override { ++out_of_memory; }

  const CollectionStats& last() const { return last_; }

  std::vector<ObjectHeader*> roots;
  std::vector<ClearedReference> cleared;
  int requests = 0;
  int finalization_signals = 0;
  int system_weak_sweeps = 0;
  int out_of_memory = 0;

 private:
  Heap* heap_ = nullptr;
  CollectionStats last_;
};

}  // namespace kiln::gc

#endif  // KILN_GC_FAKE_BINDING_H_
