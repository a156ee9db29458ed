// kiln-heap's text tables.
#include "inspection/analysis/cli_table.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kiln::analysis {
namespace {

bool IsNumber(const std::string& cell) {
  double value;
  return absl::SimpleAtod(cell, &value) || cell == "NULL";
}

}  // namespace

std::string TextTable::Format() const {
  const size_t columns = header_.size();
  std::vector<size_t> width(columns);
  std::vector<bool> numeric(columns, true);
  for (size_t c = 0; c < columns; ++c) {
    width[c] = header_[c].size();
    bool any = false;
    for (const auto& row : rows_) {
      if (c >= row.size()) continue;
      width[c] = std::max(width[c], row[c].size());
      if (!row[c].empty()) {
        any = true;
        numeric[c] = numeric[c] && IsNumber(row[c]);
      }
    }
    numeric[c] = numeric[c] && any;
  }
  std::string out;
  auto append_line = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < columns; ++c) {
      const std::string cell = c < cells.size() ? cells[c] : "";
      const std::string pad(width[c] - std::min(width[c], cell.size()), ' ');
      if (c > 0) line += "  ";
      line += numeric[c] ? pad + cell : (c + 1 == columns ? cell : cell + pad);
    }
    out += line;
    out += '\n';
  };
  append_line(header_);
  std::vector<std::string> rule;
  for (size_t c = 0; c < columns; ++c) rule.push_back(std::string(width[c], '-'));
  append_line(rule);
  for (const auto& row : rows_) append_line(row);
  return out;
}

std::string Thousands(uint64_t n) {
  std::string digits = absl::StrCat(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace kiln::analysis
