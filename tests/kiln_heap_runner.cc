// Running kiln-heap from the end-to-end tests.
#include "tests/kiln_heap_runner.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace kiln::testing {

ToolResult RunKilnHeap(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {RunfilePath("inspection/analysis/kiln_heap")};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv);
}

std::vector<std::vector<std::string>> TableRows(const std::string& out) {
  std::vector<std::vector<std::string>> rows;
  bool body = false;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::StartsWith(line, "---")) {
      body = true;
      continue;
    }
    if (!body || line.empty()) continue;
    if (absl::StartsWith(line, "(")) break;
    rows.push_back(absl::StrSplit(line, ' ', absl::SkipEmpty()));
  }
  return rows;
}

std::map<std::string, HistogramCounts> HistogramRows(const std::string& out) {
  std::map<std::string, HistogramCounts> by_class;
  for (const auto& row : TableRows(out)) {
    if (row.size() != 4) continue;  // the total row has more words
    HistogramCounts numbers;
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(absl::SimpleAtoi(row[i], &numbers[i])) << row[i];
    by_class[row[3]] = numbers;
  }
  return by_class;
}

std::map<std::string, uint64_t> QueryRows(const std::string& out) {
  std::map<std::string, uint64_t> values;
  for (const auto& row : TableRows(out)) {
    EXPECT_EQ(row.size(), 2u) << out;
    if (row.size() != 2) continue;
    EXPECT_TRUE(absl::SimpleAtoi(row[1], &values[row[0]])) << row[1];
  }
  return values;
}

int ExpectSameAnswers(const std::string& dump, const std::string& db,
                      const std::vector<std::string>& queries) {
  int answered = 0;
  for (const std::string& sql : queries) {
    SCOPED_TRACE(sql);
    const ToolResult on_dump = RunKilnHeap({"query", dump, sql});
    const ToolResult on_db = RunKilnHeap({"query", db, sql});
    EXPECT_EQ(on_dump.exit_code, 0) << on_dump.err;
    EXPECT_EQ(on_dump.exit_code, on_db.exit_code) << on_db.err;
    EXPECT_EQ(on_dump.out, on_db.out);
    answered += on_dump.exit_code == 0 && !absl::StrContains(on_dump.out, "(0 rows)");
  }
  return answered;
}

}  // namespace kiln::testing
