// PackedColumn: re-encoding and widening (packed_column.h).
#include "inspection/analysis/packed_column.h"

#include <algorithm>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "inspection/analysis/page_array.h"

namespace kiln::analysis {
namespace {

// kFirstShift: the shift a column starts with, at most (ids are 8-byte
// aligned addresses; a value with fewer low zero bits lowers it).
constexpr int kFirstShift = 3;

int LowZeroBits(uint64_t v) { return v == 0 ? 64 : __builtin_ctzll(v); }

}  // namespace

bool PackedColumn::Refit(uint64_t v) {
  if (!started_) {
    Start(v, std::min(kFirstShift, LowZeroBits(v)));
    narrow_.push_back(0);
    return true;
  }
  const uint64_t low = std::min(v, base_);
  const uint64_t high = std::max(v, max_);
  int shift = std::min(shift_, LowZeroBits(v > base_ ? v - base_ : base_ - v));
  uint64_t base = base_;
  if (v < base_) {
    // As far again below v as v is below the old base, in whole steps.
    const uint64_t room = std::min(base_ - v, v) >> shift << shift;
    base = v - room;
  }
  if (((high - base) >> shift) > ~uint32_t{0}) {
    base = low;  // no room below, then
    if (((high - base) >> shift) > ~uint32_t{0}) {
      Widen();
      return false;
    }
  }
  const uint64_t old_base = base_;
  const int old_shift = shift_;
  for (uint32_t& x : narrow_) {
    x = static_cast<uint32_t>(((old_base + (uint64_t{x} << old_shift)) - base) >> shift);
  }
  base_ = base;
  shift_ = shift;
  max_ = high;
  KILN_DCHECK(Fits(v), "PackedColumn: refit to base ", base_, " shift ", shift_, " misses ", v);
  narrow_.push_back(static_cast<uint32_t>((v - base_) >> shift_));
  return true;
}

void PackedColumn::Widen() {
  wide_.reserve(std::max(narrow_.capacity(), narrow_.size() + 1));
  for (size_t i = 0; i < narrow_.size(); ++i) wide_.push_back((*this)[i]);
  ReleaseStorage(narrow_);
  wide_mode_ = true;
}

void PackedColumn::Set(size_t i, uint64_t v) {
  KILN_CHECK(i < size(), "PackedColumn::Set ", i, " of ", size());
  if (!wide_mode_ && !Fits(v)) Widen();
  if (wide_mode_) {
    wide_[i] = v;
  } else {
    narrow_[i] = static_cast<uint32_t>((v - base_) >> shift_);
    if (v > max_) max_ = v;
  }
}

void PackedColumn::Permute(const std::vector<uint32_t>& order) {
  KILN_CHECK(order.size() == size(), "PackedColumn::Permute: ", order.size(), " for ", size());
  const auto permute = [&](auto& values) {
    std::remove_reference_t<decltype(values)> sorted(values.size());
    for (size_t i = 0; i < values.size(); ++i) sorted[i] = values[order[i]];
    values = std::move(sorted);
  };
  if (wide_mode_) {
    permute(wide_);
  } else {
    permute(narrow_);
  }
}

void PackedColumn::Clear() {
  ReleaseStorage(wide_);
  ReleaseStorage(narrow_);
  wide_mode_ = started_ = false;
  base_ = max_ = 0;
  shift_ = 0;
}

}  // namespace kiln::analysis
