// MonitorTable: a runtime's inflated monitors, and what the inspection layer
// reads of monitors with the world stopped. Internal to the runtime and the
// inspection layer; the embedder's side is vm/monitor.h.
#ifndef KILN_VM_INTERNAL_MONITOR_TABLE_H_
#define KILN_VM_INTERNAL_MONITOR_TABLE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "base/mutex.h"
#include "gc/object_header.h"
#include "vm/internal/lock_word.h"
#include "vm/monitor.h"

namespace kiln {

class StoppedWorld;

// What the inspection layer reads, with the world stopped.

// ThreadMonitors: one thread's monitors at a safepoint.
struct ThreadMonitors {
  // The monitors the thread's frames hold, in the order entered (a Wait's
  // monitor included: Java lists it as locked by the frame that entered it).
  std::vector<LockRecord> held;
  // Entering a monitor (or taking it back after Wait) that another thread
  // holds: its object and the frame that enters it; otherwise null.
  Object* blocked_on = nullptr;
  const Frame* blocked_frame = nullptr;
  // In Wait: the object waited on and Wait's frame (java.lang.Object.wait).
  // `relocking`: notified or timed out, taking the monitor back.
  Object* waiting_on = nullptr;
  const Frame* wait_frame = nullptr;
  bool relocking = false;
};
ThreadMonitors MonitorsOf(const StoppedWorld& world, const Thread& thread);

// MonitorOwner: the thread holding `object`'s monitor, or nullptr.
const Thread* MonitorOwner(const StoppedWorld& world, const Object* object);
// InflatedMonitor: the address of `object`'s inflated monitor (jstack's
// "monitor 0x..."), or nullptr while the lock is thin or unused.
const void* InflatedMonitor(const StoppedWorld& world, const Object* object);

// MonitorTable: a runtime's inflated monitors, by id (the lock word holds
// the id), and its threads' thin-lock ids. Internal to vm/.
class MonitorTable {
 public:
  MonitorTable();
  ~MonitorTable();
  MonitorTable(const MonitorTable&) = delete;
  MonitorTable& operator=(const MonitorTable&) = delete;

  // Thin-lock ids: 1 to LockWord::kMaxThinId, reused after detach.
  uint32_t AllocateThinId();
  void ReleaseThinId(uint32_t id);

  // Get: the monitor with `id`, which a lock word just read names.
  Monitor* Get(uint32_t id) const {
    return chunks_[id >> kChunkBits].load(std::memory_order_acquire)[id & (kChunkSize - 1)];
  }
  // New: a monitor for `object`, not yet published in its lock word.
  // Release: give one back that lost the race to publish.
  Monitor* New(Object* object, uint32_t hash, uint32_t owner, uint32_t recursion);
  void Release(Monitor* monitor);

  // Sweep (world stopped, from the collector): frees the monitors of dead
  // objects, and deflates idle ones (no owner, no waiter, no contender)
  // back to a thin word, keeping the hash.
  void Sweep(absl::FunctionRef<bool(const gc::ObjectHeader*)> is_marked);

  MonitorStats stats();

 private:
  static constexpr uint32_t kChunkBits = 12;
  static constexpr uint32_t kChunkSize = 1u << kChunkBits;
  static constexpr uint32_t kMaxChunks = 1u << 12;  // 16M monitors

  Mutex mu_;
  // Chunks of monitor slots; a chunk never moves once published.
  std::unique_ptr<std::atomic<Monitor**>[]> chunks_;
  uint32_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<uint32_t> free_ids_ ABSL_GUARDED_BY(mu_);
  std::vector<uint32_t> free_thin_ids_ ABSL_GUARDED_BY(mu_);
  uint32_t next_thin_id_ ABSL_GUARDED_BY(mu_) = 1;
  MonitorStats stats_ ABSL_GUARDED_BY(mu_);
};

namespace internal {
// IdentityHash: Object::IdentityHashCode's implementation (the hash shares
// the lock word).
uint32_t IdentityHash(Thread* self, Object* object);
// WakeForInterrupt: Thread::Interrupt's way into a Wait, waking the thread
// waiting on `cv` in `monitor`.
void WakeForInterrupt(Monitor* monitor, CondVar* cv);
}  // namespace internal

}  // namespace kiln

#endif  // KILN_VM_INTERNAL_MONITOR_TABLE_H_
