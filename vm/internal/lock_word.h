// LockWord: the 32-bit word at offset 8 of every object header
// (gc::ObjectHeader::lock_word), which holds either the identity hash, a thin
// lock or the id of an inflated monitor. ART's lock word is the model;
// vm/MONITORS.md explains the protocol.
//
//   bits 31..30  state
//   kUnlocked / kThin (state 0):  bits 29..16 recursion beyond the first
//                                 entry, bits 15..0 the owner's thin id
//                                 (0: nobody; the whole word is then 0)
//   kFat  (state 1):              bits 29..0 monitor id (MonitorTable)
//   kHash (state 2):              bits 29..0 the identity hash (never 0)
//
// Only compare-and-swap changes a word (the owner's thin exits included), so
// a contender may inflate a thin lock it does not own. The collector never
// reads the word; it only zeroes it at allocation.
#ifndef KILN_VM_INTERNAL_LOCK_WORD_H_
#define KILN_VM_INTERNAL_LOCK_WORD_H_

#include <cstdint>

namespace kiln {

class LockWord {
 public:
  enum class State : uint32_t { kThinOrUnlocked = 0, kFat = 1, kHash = 2 };

  static constexpr uint32_t kStateShift = 30;
  static constexpr uint32_t kPayloadMask = (1u << kStateShift) - 1;
  static constexpr uint32_t kOwnerBits = 16;
  static constexpr uint32_t kOwnerMask = (1u << kOwnerBits) - 1;
  static constexpr uint32_t kCountOne = 1u << kOwnerBits;
  static constexpr uint32_t kMaxThinCount = kPayloadMask >> kOwnerBits;  // 16383
  // The largest thin id (owner field) and monitor id a word can hold.
  static constexpr uint32_t kMaxThinId = kOwnerMask;
  static constexpr uint32_t kMaxMonitorId = kPayloadMask;

  constexpr explicit LockWord(uint32_t value) : value_(value) {}

  static constexpr LockWord Unlocked() { return LockWord(0); }
  static constexpr LockWord Thin(uint32_t owner, uint32_t count) {
    return LockWord(count << kOwnerBits | owner);
  }
  static constexpr LockWord Fat(uint32_t monitor_id) {
    return LockWord(static_cast<uint32_t>(State::kFat) << kStateShift | monitor_id);
  }
  static constexpr LockWord Hash(uint32_t hash) {
    return LockWord(static_cast<uint32_t>(State::kHash) << kStateShift | (hash & kPayloadMask));
  }

  constexpr uint32_t value() const { return value_; }
  constexpr State state() const { return static_cast<State>(value_ >> kStateShift); }
  constexpr bool IsUnlocked() const { return value_ == 0; }
  constexpr bool IsThinLocked() const {
    return state() == State::kThinOrUnlocked && value_ != 0;
  }
  // Thin locks.
  constexpr uint32_t thin_owner() const { return value_ & kOwnerMask; }
  constexpr uint32_t thin_count() const { return (value_ & kPayloadMask) >> kOwnerBits; }
  // Inflated monitors.
  constexpr uint32_t monitor_id() const { return value_ & kPayloadMask; }
  // Hashed, unlocked objects.
  constexpr uint32_t hash() const { return value_ & kPayloadMask; }

 private:
  uint32_t value_;
};

static_assert(LockWord::Thin(5, 0).IsThinLocked());
static_assert(LockWord::Fat(7).state() == LockWord::State::kFat);
static_assert(LockWord::Hash(~0u).hash() == LockWord::kPayloadMask);

}  // namespace kiln

#endif  // KILN_VM_INTERNAL_LOCK_WORD_H_
