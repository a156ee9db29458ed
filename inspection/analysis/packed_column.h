// PackedColumn: one uint64 per object, kept in 32 bits (base + (v << shift),
// v below 2^32) while every value fits, else in 64: object ids (aligned
// addresses in a span of 32 GiB or less) and data offsets (a file under 4
// GiB) take 4 bytes per object. The graph's builder appends to it during
// the parse, so the column is narrow from the first object on: a value that
// does not fit the current base and shift re-encodes the column in place
// (a lower base, with room below it as far again; a smaller shift), and
// only a span wider than 2^32 steps widens it to 64 bits.
#ifndef KILN_INSPECTION_ANALYSIS_PACKED_COLUMN_H_
#define KILN_INSPECTION_ANALYSIS_PACKED_COLUMN_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kiln::analysis {

class PackedColumn {
 public:
  uint64_t operator[](size_t i) const {
    return wide_mode_ ? wide_[i] : base_ + (uint64_t{narrow_[i]} << shift_);
  }
  size_t size() const { return wide_mode_ ? wide_.size() : narrow_.size(); }
  bool empty() const { return size() == 0; }
  size_t bytes_per_value() const { return wide_mode_ ? 8 : 4; }

  // Reserve: address space for `n` values at 4 bytes each (pages are
  // touched only as values are appended).
  void Reserve(size_t n) { narrow_.reserve(n); }
  // Start: before the first Append, the base and shift to encode with (data
  // offsets: 0 and 0, so that an offset can be set to 0 later); without
  // it, the first value is the base.
  void Start(uint64_t base, int shift) {
    started_ = true;
    base_ = max_ = base;
    shift_ = shift;
  }
  void Append(uint64_t v) {
    if (!wide_mode_) {
      if (started_ && Fits(v)) {
        narrow_.push_back(static_cast<uint32_t>((v - base_) >> shift_));
        if (v > max_) max_ = v;
        return;
      }
      if (Refit(v)) return;
    }
    wide_.push_back(v);
  }
  // Set: value i becomes v (widening the column if v does not fit).
  void Set(size_t i, uint64_t v);
  // Permute: value i becomes the old value order[i].
  void Permute(const std::vector<uint32_t>& order);
  void Clear();

 private:
  bool Fits(uint64_t v) const {
    return v >= base_ && ((v - base_) & ((uint64_t{1} << shift_) - 1)) == 0 &&
           ((v - base_) >> shift_) <= ~uint32_t{0};
  }
  // Refit: appends v by re-encoding the column (true), or widens it to 64
  // bits and returns false (the caller appends v).
  bool Refit(uint64_t v);
  void Widen();

  bool wide_mode_ = false;
  bool started_ = false;
  std::vector<uint32_t> narrow_;
  std::vector<uint64_t> wide_;
  uint64_t base_ = 0;
  uint64_t max_ = 0;  // the largest value appended (narrow mode)
  int shift_ = 0;
};

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_PACKED_COLUMN_H_
