// VmOperation and VmThread: stop-the-world work, one operation at a time.
// Internal: an embedder runs a function at a safepoint with
// Runtime::RunAtSafepoint, which is a VmOperation underneath.
//
// Collections, heap dumps and thread dumps are VM operations. Each runs on the
// runtime's VM thread between StopTheWorld and ResumeTheWorld; callers block
// (in native state, so they do not hold up the safepoint) until it is done.
//
//   class CountThreads : public kiln::VmOperation {
//    public:
//     CountThreads() : VmOperation("count threads") {}
//     void Doit(kiln::StoppedWorld& world) override { n = world.threads().size(); }
//     size_t n = 0;
//   };
//   CountThreads op;
//   RETURN_IF_ERROR(kiln::internal::Execute(*runtime, op));  // vm/internal/runtime_access.h
#ifndef KILN_VM_INTERNAL_VM_OPERATION_H_
#define KILN_VM_INTERNAL_VM_OPERATION_H_

#include <deque>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/must_use.h"
#include "base/mutex.h"
#include "vm/internal/safepoint_manager.h"
#include "vm/safepoint.h"

namespace kiln {

class VmOperation {
 public:
  explicit VmOperation(std::string name) : name_(std::move(name)) {}
  virtual ~VmOperation() = default;
  VmOperation(const VmOperation&) = delete;
  VmOperation& operator=(const VmOperation&) = delete;

  // Doit runs on the VM thread with every managed thread stopped. It must not
  // block on anything a stopped thread may hold.
  virtual void Doit(StoppedWorld& world) = 0;

  const std::string& name() const { return name_; }
  // timing: how long the operation's safepoint took, once it has run.
  const SafepointTiming& timing() const { return timing_; }

 private:
  friend class VmThread;
  const std::string name_;
  SafepointTiming timing_;
  bool done_ = false;  // guarded by the VmThread's lock
};

class VmThread {
 public:
  VmThread(Runtime& runtime, SafepointManager& safepoints);
  // ~VmThread finishes queued operations and joins the thread.
  ~VmThread();
  VmThread(const VmThread&) = delete;
  VmThread& operator=(const VmThread&) = delete;

  // Execute queues `op` and blocks until it has run. The caller must not be
  // a managed thread of this runtime (Runtime::Execute takes care of that) nor
  // the VM thread itself.
  KILN_MUST_USE absl::Status Execute(VmOperation& op);
  // ExecuteHere runs `op` on the calling thread, in turn with the VM
  // thread's operations and other callers'. Same conditions as Execute.
  // For a collection an allocation needs: the allocating thread would
  // only wait meanwhile, and handing over to the VM thread costs two
  // wake-ups, on a virtual machine an inter-processor interrupt each (a
  // sixth of an allocation-bound thread's time with a cache-sized
  // collection budget; vm/SAFEPOINTS.md).
  KILN_MUST_USE absl::Status ExecuteHere(VmOperation& op);

  // IsCurrent: whether the caller is this VM thread.
  bool IsCurrent() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  void Loop();
  // Admit: FailedPrecondition once the runtime is shutting down; checks
  // that the caller is not the VM thread.
  absl::Status Admit(const VmOperation& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Run: one operation's safepoint, on whichever thread holds run_mu_.
  void Run(VmOperation& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(run_mu_);

  Runtime& runtime_;
  SafepointManager& safepoints_;
  Mutex run_mu_;  // held by the thread running an operation
  Mutex mu_;
  CondVar work_;
  CondVar done_;
  std::deque<VmOperation*> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace kiln

#endif  // KILN_VM_INTERNAL_VM_OPERATION_H_
