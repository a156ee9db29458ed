// Plain-text tables for kiln-heap's output: columns padded to their widest
// cell, numbers right-aligned, a dashed rule under the header.
//
//   TextTable table({"instances", "bytes", "class"});
//   table.AddRow({"12", "480", "java.lang.String"});
//   std::string text = table.Format();
#ifndef KILN_INSPECTION_ANALYSIS_CLI_TABLE_H_
#define KILN_INSPECTION_ANALYSIS_CLI_TABLE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::analysis {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  size_t rows() const { return rows_.size(); }
  // Format: the header, a rule, the rows; each line ends in '\n'. A column is
  // right-aligned when every non-empty cell in it is a number.
  std::string Format() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Thousands: 1234567 -> "1,234,567".
std::string Thousands(uint64_t n);

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_CLI_TABLE_H_
