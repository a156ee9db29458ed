// Monitors: the slow paths behind vm/monitor.h. vm/MONITORS.md has the
// protocol; the rules that keep it safepoint-correct are repeated where they
// matter:
//  - a thread holds a Monitor* only while managed and between two polls, or
//    while counted in the monitor (owner, contender or waiter), so the
//    collector may free or deflate an uncounted monitor at a safepoint;
//  - a thread never holds a monitor's mutex across a poll or a change to
//    managed state, so the VM thread may take it at a safepoint;
//  - fields of Thread that the VM thread reads at safepoints are written only
//    in managed state.
#include "vm/monitor.h"

#include <immintrin.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "vm/internal/runtime_access.h"
#include "vm/object.h"
#include "vm/runtime.h"
#include "vm/safepoint.h"

namespace kiln {

// Monitor: an inflated lock. Owners are thin ids, as in the lock word, so
// inflating a thin lock needs no lookup of its owner.
class Monitor {
 public:
  Monitor(uint32_t id, Object* object, uint32_t hash, uint32_t owner, uint32_t recursion)
      : id_(id), object_(object), hash_(hash), owner_(owner), recursion_(recursion) {}

  uint32_t id() const { return id_; }
  Object* object() const { return object_; }
  std::atomic<uint32_t>& hash() { return hash_; }

  // Enter: `self` is managed and has pushed its lock record for `object`.
  void Enter(Thread& self, const Frame& frame, Object* object);
  void Exit(Thread& self);
  absl::StatusOr<WaitResult> Wait(Thread& self, const Frame& wait_frame, Object* object,
                                  absl::Duration timeout);
  absl::Status Notify(Thread& self, bool all);
  bool OwnedBy(const Thread& self) {
    MutexLock lock(&mu_);
    return owner_ == self.thin_id_;
  }
  uint32_t owner() {
    MutexLock lock(&mu_);
    return owner_;
  }
  // Idle: nobody owns, enters or waits on it. World stopped.
  bool Idle() {
    MutexLock lock(&mu_);
    return owner_ == 0 && contenders_ == 0 && waiters_ == nullptr;
  }
  void WakeForInterrupt(CondVar* cv) {
    MutexLock lock(&mu_);
    cv->SignalAll();
  }

 private:
  struct Waiter {
    CondVar cv;
    bool notified = false;
    Waiter* next = nullptr;
  };
  void Unlink(Waiter* waiter) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Acquire takes the monitor for `self`, already counted as a contender,
  // waiting on entry_cv_ while it is owned. Native state.
  void Acquire(Thread& self, uint32_t recursion) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const uint32_t id_;
  Object* const object_;  // a weak reference: the collector sweeps it
  std::atomic<uint32_t> hash_;

  Mutex mu_;
  uint32_t owner_ ABSL_GUARDED_BY(mu_);
  uint32_t recursion_ ABSL_GUARDED_BY(mu_);  // entries by the owner
  uint32_t contenders_ ABSL_GUARDED_BY(mu_) = 0;  // entering, or taking it back after Wait
  Waiter* waiters_ ABSL_GUARDED_BY(mu_) = nullptr;  // FIFO: Notify wakes the first
  Waiter* last_waiter_ ABSL_GUARDED_BY(mu_) = nullptr;
  CondVar entry_cv_;
};

// MonitorOps: the slow paths, with Thread's private state (a friend).
class MonitorOps {
 public:
  static std::atomic<uint32_t>& WordOf(const Object* object) {
    return const_cast<gc::ObjectHeader*>(object->header())->lock_word;
  }

  // Inflate replaces the word `seen` by a monitor carrying its state (the
  // hash, or the thin owner and depth); false if the word changed first.
  static bool Inflate(MonitorTable& table, Object* object, LockWord seen) {
    uint32_t hash = 0, owner = 0, recursion = 0;
    if (seen.state() == LockWord::State::kHash) {
      hash = seen.hash();
    } else if (seen.IsThinLocked()) {
      owner = seen.thin_owner();
      recursion = seen.thin_count() + 1;
    }
    Monitor* monitor = table.New(object, hash, owner, recursion);
    uint32_t expected = seen.value();
    if (WordOf(object).compare_exchange_strong(expected, LockWord::Fat(monitor->id()).value(),
                                               std::memory_order_acq_rel,
                                               std::memory_order_relaxed)) {
      return true;
    }
    table.Release(monitor);
    return false;
  }

  // OwnedMonitor: `object`'s monitor if `self` holds it (inflating a thin
  // lock), else nullptr. Managed, no poll.
  static Monitor* OwnedMonitor(Thread& self, Object* object) {
    MonitorTable& table = internal::MonitorTableOf(self.runtime());
    for (;;) {
      const LockWord word(WordOf(object).load(std::memory_order_acquire));
      switch (word.state()) {
        case LockWord::State::kThinOrUnlocked:
          if (word.IsUnlocked() || word.thin_owner() != self.thin_id_) return nullptr;
          Inflate(table, object, word);
          continue;
        case LockWord::State::kHash:
          return nullptr;
        case LockWord::State::kFat: {
          Monitor* monitor = table.Get(word.monitor_id());
          return monitor->OwnedBy(self) ? monitor : nullptr;
        }
      }
    }
  }

  static absl::Status NotHeld(const Thread& self, absl::string_view what) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, ": thread \"", self.name(), "\" does not hold the object's monitor"));
  }

  static void SetBlocked(Thread& self, Object* object) { self.blocked_on_ = object; }
  static void SetWaiting(Thread& self, Object* object, const Frame* frame) {
    self.waiting_on_ = object;
    self.wait_frame_ = frame;
  }
  static void SetWaitCondition(Thread& self, Monitor* monitor, CondVar* cv) {
    MutexLock lock(&self.sleep_mu_);
    self.wait_monitor_ = monitor;
    self.wait_cv_ = cv;
  }
  static void SetStatus(Thread& self, ThreadStatus status) {
    self.status_.store(status, std::memory_order_relaxed);
  }
  static uint32_t ThinId(const Thread& thread) { return thread.thin_id_; }
  static const Thread* ByThinId(const StoppedWorld& world, uint32_t id) {
    for (const Thread* thread : world.threads()) {
      if (thread->thin_id_ == id) return thread;
    }
    return nullptr;
  }
  static ThreadMonitors View(const StoppedWorld& world, const Thread& thread);
};

void Monitor::Acquire(Thread& self, uint32_t recursion) {
  while (owner_ != 0) entry_cv_.Wait(&mu_);
  --contenders_;
  owner_ = MonitorOps::ThinId(self);
  recursion_ = recursion;
}

void Monitor::Enter(Thread& self, const Frame& frame, Object* object) {
  const uint32_t id = MonitorOps::ThinId(self);
  {
    MutexLock lock(&mu_);
    if (owner_ == id) {
      ++recursion_;
      return;
    }
    if (owner_ == 0) {
      owner_ = id;
      recursion_ = 1;
      return;
    }
    // Counted before going native: the monitor stays while this thread
    // waits for it, even across a collection.
    ++contenders_;
  }
  MonitorOps::SetBlocked(self, object);
  {
    ScopedNative blocked(self, ThreadStatus::kBlocked);
    MutexLock lock(&mu_);
    Acquire(self, 1);
  }
  // Managed again: any safepoint that ran while this thread took the
  // monitor is over.
  MonitorOps::SetBlocked(self, nullptr);
}

void Monitor::Exit(Thread& self) {
  MutexLock lock(&mu_);
  KILN_CHECK(owner_ == MonitorOps::ThinId(self), "thread ", self.name(),
             " exits a monitor it does not hold");
  if (--recursion_ == 0) {
    owner_ = 0;
    if (contenders_ > 0) entry_cv_.Signal();
  }
}

void Monitor::Unlink(Waiter* waiter) {
  Waiter* previous = nullptr;
  for (Waiter* w = waiters_; w != nullptr; previous = w, w = w->next) {
    if (w != waiter) continue;
    (previous == nullptr ? waiters_ : previous->next) = w->next;
    if (last_waiter_ == w) last_waiter_ = previous;
    return;
  }
}

absl::StatusOr<WaitResult> Monitor::Wait(Thread& self, const Frame& wait_frame, Object* object,
                                         absl::Duration timeout) {
  Waiter waiter;
  uint32_t recursion;
  {
    MutexLock lock(&mu_);
    if (owner_ != MonitorOps::ThinId(self)) return MonitorOps::NotHeld(self, "Wait");
    recursion = recursion_;
    owner_ = 0;
    recursion_ = 0;
    (last_waiter_ == nullptr ? waiters_ : last_waiter_->next) = &waiter;
    last_waiter_ = &waiter;
    if (contenders_ > 0) entry_cv_.Signal();
  }
  MonitorOps::SetWaiting(self, object, &wait_frame);
  MonitorOps::SetWaitCondition(self, this, &waiter.cv);
  const bool timed = timeout != absl::InfiniteDuration();
  bool notified;
  {
    ScopedNative waiting(self, timed ? ThreadStatus::kTimedMonitorWait
                                     : ThreadStatus::kMonitorWait);
    const absl::Time deadline = absl::Now() + timeout;
    MutexLock lock(&mu_);
    while (!waiter.notified && !self.interrupted()) {
      if (!timed) {
        waiter.cv.Wait(&mu_);
        continue;
      }
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) break;
      waiter.cv.WaitWithTimeout(&mu_, left);
    }
    notified = waiter.notified;
    if (!notified) Unlink(&waiter);
    // Java reports a thread taking its monitor back as BLOCKED.
    MonitorOps::SetStatus(self, ThreadStatus::kBlocked);
    ++contenders_;
    Acquire(self, recursion);
  }
  // Owned again, so the monitor cannot be freed before Interrupt forgets it.
  MonitorOps::SetWaitCondition(self, nullptr, nullptr);
  MonitorOps::SetWaiting(self, nullptr, nullptr);
  if (!notified && self.interrupted()) {
    return absl::CancelledError(absl::StrCat("thread ", self.name(), " interrupted in Wait"));
  }
  return notified ? WaitResult::kNotified : WaitResult::kTimedOut;
}

absl::Status Monitor::Notify(Thread& self, bool all) {
  MutexLock lock(&mu_);
  if (owner_ != MonitorOps::ThinId(self)) {
    return MonitorOps::NotHeld(self, all ? "NotifyAll" : "Notify");
  }
  while (waiters_ != nullptr) {
    Waiter* waiter = waiters_;
    waiters_ = waiter->next;
    if (waiters_ == nullptr) last_waiter_ = nullptr;
    waiter->notified = true;
    waiter->cv.Signal();
    if (!all) break;
  }
  return absl::OkStatus();
}

void Synchronized::EnterSlow(Frame& frame, Object* object) {
  MonitorTable& table = internal::MonitorTableOf(thread_.runtime());
  std::atomic<uint32_t>& word = LockWordOf(object);
  const uint32_t self = thread_.thin_id_;
  for (int spins = 0;; ++spins) {
    const LockWord seen(word.load(std::memory_order_acquire));
    switch (seen.state()) {
      case LockWord::State::kThinOrUnlocked: {
        uint32_t expected = seen.value();
        if (seen.IsUnlocked()) {
          if (word.compare_exchange_weak(expected, LockWord::Thin(self, 0).value(),
                                         std::memory_order_acquire, std::memory_order_relaxed)) {
            return;
          }
          continue;
        }
        if (seen.thin_owner() == self) {
          if (seen.thin_count() < LockWord::kMaxThinCount) {
            if (word.compare_exchange_weak(expected, seen.value() + LockWord::kCountOne,
                                           std::memory_order_acquire,
                                           std::memory_order_relaxed)) {
              return;
            }
            continue;
          }
          MonitorOps::Inflate(table, object, seen);  // too deep for the word
          continue;
        }
        // Another thread's thin lock: spin briefly (short critical sections
        // end soon), then inflate and block.
        if (spins < 64) {
          _mm_pause();
          continue;
        }
        MonitorOps::Inflate(table, object, seen);
        continue;
      }
      case LockWord::State::kHash:
        MonitorOps::Inflate(table, object, seen);
        continue;
      case LockWord::State::kFat:
        table.Get(seen.monitor_id())->Enter(thread_, frame, object);
        return;
    }
  }
}

void Synchronized::ExitSlow(Object* object) {
  std::atomic<uint32_t>& word = LockWordOf(object);
  const uint32_t self = thread_.thin_id_;
  for (;;) {
    // Acquire: a contender's inflation published the monitor's slot.
    const LockWord seen(word.load(std::memory_order_acquire));
    if (seen.state() == LockWord::State::kFat) {
      internal::MonitorTableOf(thread_.runtime()).Get(seen.monitor_id())->Exit(thread_);
      return;
    }
    KILN_CHECK(seen.IsThinLocked() && seen.thin_owner() == self, "thread ", thread_.name(),
               " exits a monitor it does not hold");
    uint32_t expected = seen.value();
    const uint32_t next = seen.thin_count() > 0 ? seen.value() - LockWord::kCountOne : 0;
    if (word.compare_exchange_weak(expected, next, std::memory_order_release,
                                   std::memory_order_relaxed)) {
      return;
    }
  }
}

absl::StatusOr<WaitResult> Wait(Frame& frame, Object* object, absl::Duration timeout) {
  if (object == nullptr) return absl::InvalidArgumentError("Wait on null");
  Thread& self = frame.thread();
  Monitor* monitor = MonitorOps::OwnedMonitor(self, object);
  if (monitor == nullptr) return MonitorOps::NotHeld(self, "Wait");
  if (self.interrupted()) {
    return absl::CancelledError(absl::StrCat("thread ", self.name(), " interrupted before Wait"));
  }
  // The monitor is owned, so a collection at the frame's poll keeps it.
  Frame wait_frame(self, internal::ObjectWaitMethod(self.runtime()));
  wait_frame.set_line(kNativeMethodLine);
  return monitor->Wait(self, wait_frame, object, timeout);
}

namespace {

absl::Status NotifySome(Frame& frame, Object* object, bool all) {
  const char* what = all ? "NotifyAll" : "Notify";
  if (object == nullptr) return absl::InvalidArgumentError(absl::StrCat(what, " on null"));
  Thread& self = frame.thread();
  const LockWord word(MonitorOps::WordOf(object).load(std::memory_order_acquire));
  // A thin lock has no waiters (Wait inflates).
  if (word.IsThinLocked() && word.thin_owner() == MonitorOps::ThinId(self)) {
    return absl::OkStatus();
  }
  if (word.state() != LockWord::State::kFat) return MonitorOps::NotHeld(self, what);
  return internal::MonitorTableOf(self.runtime()).Get(word.monitor_id())->Notify(self, all);
}

}  // namespace

absl::Status Notify(Frame& frame, Object* object) {
  return NotifySome(frame, object, /*all=*/false);
}

absl::Status NotifyAll(Frame& frame, Object* object) {
  return NotifySome(frame, object, /*all=*/true);
}

absl::Status Join(Frame& frame, Object* thread_object, absl::Duration timeout) {
  Thread& self = frame.thread();
  Runtime& runtime = self.runtime();
  if (thread_object == nullptr) return absl::InvalidArgumentError("Join on null");
  if (!thread_object->GetClass()->IsSubclassOf(runtime.classes().thread_class())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Join on a ", thread_object->GetClass()->name(), ", which is no java.lang.Thread"));
  }
  if (thread_object == self.thread_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("thread ", self.name(), " joining itself would wait forever"));
  }
  const absl::Time deadline = timeout == absl::InfiniteDuration()
                                  ? absl::InfiniteFuture()
                                  : absl::Now() + timeout;
  // Held, the monitor keeps the object (a monitor-used root) however long
  // this waits. synchronized (t) { while (t.isAlive()) t.wait(left); }
  Synchronized lock(frame, thread_object);
  while (runtime.IsThreadAlive(thread_object)) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("thread ", self.name(), ": the joined thread is still alive after ",
                       absl::FormatDuration(timeout)));
    }
    absl::StatusOr<WaitResult> woken = Wait(frame, thread_object, left);
    if (!woken.ok()) return woken.status();
  }
  return absl::OkStatus();
}

bool HoldsLock(const Thread& thread, const Object* object) {
  const LockWord word(MonitorOps::WordOf(object).load(std::memory_order_acquire));
  if (word.state() == LockWord::State::kFat) {
    return internal::MonitorTableOf(thread.runtime()).Get(word.monitor_id())->OwnedBy(thread);
  }
  return word.IsThinLocked() && word.thin_owner() == MonitorOps::ThinId(thread);
}

ThreadMonitors MonitorOps::View(const StoppedWorld& world, const Thread& thread) {
  ThreadMonitors view;
  view.held.assign(thread.lock_records_.begin(), thread.lock_records_.end());
  if (thread.blocked_on_ != nullptr) {
    // Entering: the last record is the monitor being entered. A thread that
    // got it while the world stopped holds it already.
    if (MonitorOwner(world, thread.blocked_on_) != &thread) {
      view.blocked_on = thread.blocked_on_;
      view.blocked_frame = view.held.back().frame;
      view.held.pop_back();
    }
  }
  if (thread.waiting_on_ != nullptr) {
    view.waiting_on = thread.waiting_on_;
    view.wait_frame = thread.wait_frame_;
    view.relocking = thread.status() == ThreadStatus::kBlocked;
    if (view.relocking) {
      if (MonitorOwner(world, thread.waiting_on_) == &thread) {
        view.relocking = false;  // it has the monitor back; not waiting at all
        view.waiting_on = nullptr;
        view.wait_frame = nullptr;
      } else {
        view.blocked_on = thread.waiting_on_;
        view.blocked_frame = thread.wait_frame_;
      }
    }
  }
  return view;
}

ThreadMonitors MonitorsOf(const StoppedWorld& world, const Thread& thread) {
  return MonitorOps::View(world, thread);
}

const Thread* MonitorOwner(const StoppedWorld& world, const Object* object) {
  const LockWord word(MonitorOps::WordOf(object).load(std::memory_order_acquire));
  uint32_t owner = 0;
  if (word.state() == LockWord::State::kFat) {
    owner = internal::MonitorTableOf(world.runtime()).Get(word.monitor_id())->owner();
  } else if (word.IsThinLocked()) {
    owner = word.thin_owner();
  }
  return owner == 0 ? nullptr : MonitorOps::ByThinId(world, owner);
}

const void* InflatedMonitor(const StoppedWorld& world, const Object* object) {
  const LockWord word(MonitorOps::WordOf(object).load(std::memory_order_acquire));
  if (word.state() != LockWord::State::kFat) return nullptr;
  return internal::MonitorTableOf(world.runtime()).Get(word.monitor_id());
}

namespace internal {

namespace {

// Identity hashes come from a per-thread xorshift generator, as HotSpot's
// default (hashCode=5) does: cheap, no shared state, never zero; 30 bits,
// what the lock word holds.
uint32_t NextIdentityHash() {
  thread_local uint32_t state = 0x9E3779B9u ^ static_cast<uint32_t>(
      reinterpret_cast<uintptr_t>(&state) >> 4);
  uint32_t hash;
  do {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    hash = state & LockWord::kPayloadMask;
  } while (hash == 0);
  return hash;
}

}  // namespace

uint32_t IdentityHash(Thread* self, Object* object) {
  std::atomic<uint32_t>& word = MonitorOps::WordOf(object);
  MonitorTable& table = internal::MonitorTableOf(self->runtime());
  for (;;) {
    const LockWord seen(word.load(std::memory_order_acquire));
    switch (seen.state()) {
      case LockWord::State::kHash:
        return seen.hash();
      case LockWord::State::kThinOrUnlocked:
        if (seen.IsUnlocked()) {
          uint32_t expected = 0;
          const uint32_t fresh = NextIdentityHash();
          if (word.compare_exchange_strong(expected, LockWord::Hash(fresh).value(),
                                           std::memory_order_relaxed)) {
            return fresh;
          }
          continue;
        }
        // Locked thin: the hash needs a home, the monitor.
        MonitorOps::Inflate(table, object, seen);
        continue;
      case LockWord::State::kFat: {
        std::atomic<uint32_t>& hash = table.Get(seen.monitor_id())->hash();
        uint32_t current = hash.load(std::memory_order_relaxed);
        if (current != 0) return current;
        const uint32_t fresh = NextIdentityHash();
        // Another thread may have won the race: its hash is the hash.
        if (hash.compare_exchange_strong(current, fresh, std::memory_order_relaxed)) return fresh;
        return current;
      }
    }
  }
}

void WakeForInterrupt(Monitor* monitor, CondVar* cv) { monitor->WakeForInterrupt(cv); }

}  // namespace internal

MonitorTable::MonitorTable() : chunks_(new std::atomic<Monitor**>[kMaxChunks]) {
  for (uint32_t i = 0; i < kMaxChunks; ++i) chunks_[i].store(nullptr, std::memory_order_relaxed);
}

MonitorTable::~MonitorTable() {
  for (uint32_t i = 0; i < kMaxChunks; ++i) {
    Monitor** chunk = chunks_[i].load(std::memory_order_relaxed);
    if (chunk == nullptr) break;
    for (uint32_t j = 0; j < kChunkSize; ++j) delete chunk[j];
    delete[] chunk;
  }
}

uint32_t MonitorTable::AllocateThinId() {
  MutexLock lock(&mu_);
  if (!free_thin_ids_.empty()) {
    const uint32_t id = free_thin_ids_.back();
    free_thin_ids_.pop_back();
    return id;
  }
  KILN_CHECK(next_thin_id_ <= LockWord::kMaxThinId, "more than ", LockWord::kMaxThinId,
             " threads attached to one runtime");
  return next_thin_id_++;
}

void MonitorTable::ReleaseThinId(uint32_t id) {
  MutexLock lock(&mu_);
  free_thin_ids_.push_back(id);
}

Monitor* MonitorTable::New(Object* object, uint32_t hash, uint32_t owner, uint32_t recursion) {
  MutexLock lock(&mu_);
  uint32_t id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = next_id_++;
    KILN_CHECK(id < kMaxChunks * kChunkSize, "more than ", kMaxChunks * kChunkSize,
               " inflated monitors");
    if (id % kChunkSize == 0) {
      chunks_[id >> kChunkBits].store(new Monitor* [kChunkSize] {}, std::memory_order_release);
    }
  }
  auto* monitor = new Monitor(id, object, hash, owner, recursion);
  // Published by the CAS of the lock word that names the id.
  chunks_[id >> kChunkBits].load(std::memory_order_relaxed)[id & (kChunkSize - 1)] = monitor;
  ++stats_.inflated;
  ++stats_.live;
  return monitor;
}

void MonitorTable::Release(Monitor* monitor) {
  MutexLock lock(&mu_);
  chunks_[monitor->id() >> kChunkBits].load(
      std::memory_order_relaxed)[monitor->id() & (kChunkSize - 1)] = nullptr;
  free_ids_.push_back(monitor->id());
  --stats_.inflated;
  --stats_.live;
  delete monitor;
}

void MonitorTable::Sweep(absl::FunctionRef<bool(const gc::ObjectHeader*)> is_marked) {
  MutexLock lock(&mu_);
  for (uint32_t id = 0; id < next_id_; ++id) {
    Monitor*& slot = chunks_[id >> kChunkBits].load(std::memory_order_relaxed)[id & (kChunkSize - 1)];
    Monitor* monitor = slot;
    if (monitor == nullptr) continue;
    if (!is_marked(monitor->object()->header())) {
      ++stats_.freed;  // the object is dead: its word dies with it
    } else if (monitor->Idle()) {
      const uint32_t hash = monitor->hash().load(std::memory_order_relaxed);
      MonitorOps::WordOf(monitor->object())
          .store(hash == 0 ? 0 : LockWord::Hash(hash).value(), std::memory_order_relaxed);
      ++stats_.deflated;
    } else {
      continue;
    }
    slot = nullptr;
    free_ids_.push_back(id);
    --stats_.live;
    delete monitor;
  }
}

MonitorStats MonitorTable::stats() {
  MutexLock lock(&mu_);
  return stats_;
}

}  // namespace kiln
