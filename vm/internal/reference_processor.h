// ReferenceProcessor: the VM's side of reference processing. It receives the
// collector's reports (phantom references cleared, objects pending
// finalization), keeps the native-allocation accounting, and runs the two
// daemon threads that act on them:
//
//   "Cleaner"    frees the native memory of every sun.misc.Cleaner whose
//                referent died, exactly once, and unlinks the Cleaner;
//   "Finalizer"  runs class finalizers on objects the collector resurrected.
//
// Both daemons start on first need, so a runtime that never registers native
// memory or defines a finalizer has neither. At shutdown, native memory still
// registered is freed, so that an embedder's allocations never leak.
#ifndef KILN_VM_INTERNAL_REFERENCE_PROCESSOR_H_
#define KILN_VM_INTERNAL_REFERENCE_PROCESSOR_H_

#include <cstdint>
#include <deque>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "base/must_use.h"
#include "base/mutex.h"
#include "gc/internal/binding.h"

namespace kiln {

class Object;
class Runtime;
class Thread;

class ReferenceProcessor {
 public:
  explicit ReferenceProcessor(Runtime& runtime) : runtime_(runtime) {}
  ReferenceProcessor(const ReferenceProcessor&) = delete;
  ReferenceProcessor& operator=(const ReferenceProcessor&) = delete;

  // Collector reports; the world is stopped.
  void OnReferencesCleared(absl::Span<const gc::ClearedReference> cleared);
  void OnFinalizationPending();
  void OnCollection();

  // RecordRegistration accounts `size` native bytes to `referent` (caller
  // managed). Returns true when native bytes allocated since the last
  // collection passed the watermark: the caller should collect.
  bool RecordRegistration(const Object* referent, int64_t size);
  // NativeBytesOf: native bytes registered against `object` and not yet freed.
  int64_t NativeBytesOf(const Object* object);
  int64_t native_bytes();
  uint64_t native_frees();

  KILN_MUST_USE absl::Status EnsureCleanerDaemon();
  KILN_MUST_USE absl::Status EnsureFinalizerDaemon();

  // Stop wakes the daemons so they see their thread interrupted and return.
  void Stop();
  // FreeRemaining frees the native memory of every Cleaner still linked.
  // Called at shutdown with no thread attached.
  void FreeRemaining();

 private:
  void CleanerLoop(Thread& self);
  void FinalizerLoop(Thread& self);
  // RunCleaner unlinks `cleaner` and frees its native memory (managed caller).
  void RunCleaner(Thread& self, Object* cleaner);

  Runtime& runtime_;
  Mutex mu_;
  CondVar work_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool cleaner_started_ ABSL_GUARDED_BY(mu_) = false;
  bool finalizer_started_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Object*> pending_cleaners_ ABSL_GUARDED_BY(mu_);
  bool finalization_pending_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<const Object*, int64_t> native_by_object_ ABSL_GUARDED_BY(mu_);
  int64_t native_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t native_since_collection_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t native_frees_ ABSL_GUARDED_BY(mu_) = 0;

  Mutex list_mu_;  // the Cleaner list (sun.misc.Cleaner.first, next, prev)
  friend class NativeAllocationRegistry;
};

}  // namespace kiln

#endif  // KILN_VM_INTERNAL_REFERENCE_PROCESSOR_H_
