#include "tests/heap_equivalence.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/kiln_heap_runner.h"
#include "tests/perfetto_self_size.h"

namespace kiln::testing {
namespace {

// BodyLines: the table's lines after its dashed rule, up to an empty line.
std::vector<std::string> BodyLines(const std::string& out) {
  std::vector<std::string> lines;
  bool body = false;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (absl::StartsWith(line, "---")) {
      body = true;
      continue;
    }
    if (!body) continue;
    if (line.empty()) break;
    lines.emplace_back(line);
  }
  return lines;
}

// HistogramLines: "count self native name" per class, sorted; the total
// row left out.
std::vector<std::string> HistogramLines(const std::string& out) {
  std::vector<std::string> rows;
  for (const std::string& line : BodyLines(out)) {
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (words.size() >= 5 && words[3] == "total" && absl::StartsWith(words[4], "(")) continue;
    rows.push_back(absl::StrJoin(words, " "));
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

// ExpectSameRows: equal sorted lists, with the rows that differ on failure.
void ExpectSameRows(const std::vector<std::string>& actual,
                    const std::vector<std::string>& expected, const char* what) {
  std::vector<std::string> extra, missing;
  std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                      std::back_inserter(extra));
  std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                      std::back_inserter(missing));
  EXPECT_TRUE(extra.empty() && missing.empty())
      << what << ": " << actual.size() << " rows, expected " << expected.size()
      << "\nonly in kiln-heap's:\n  " << absl::StrJoin(extra, "\n  ")
      << "\nonly in the reference:\n  " << absl::StrJoin(missing, "\n  ");
}

std::vector<std::string> Lines(const std::map<std::string, uint64_t>& rows) {
  std::vector<std::string> lines;
  for (const auto& [path, bytes] : rows) lines.push_back(absl::StrCat(path, " ", bytes));
  return lines;
}

}  // namespace

void ExpectSameAsReference(const std::string& path) {
  SCOPED_TRACE(path);
  absl::StatusOr<ReferenceAnalyses> expected = ComputeReferenceAnalyses(path);
  ASSERT_TRUE(expected.ok()) << expected.status();

  const ToolResult all = RunKilnHeap({"histogram", path});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  ExpectSameRows(HistogramLines(all.out), expected->histogram, "histogram");
  const ToolResult reachable = RunKilnHeap({"histogram", path, "--reachable"});
  ASSERT_EQ(reachable.exit_code, 0) << reachable.err;
  ExpectSameRows(HistogramLines(reachable.out), expected->reachable_histogram,
                 "histogram --reachable");

  const ToolResult flame = RunKilnHeap({"flamegraph", path});
  ASSERT_EQ(flame.exit_code, 0) << flame.err;
  std::map<std::string, uint64_t> folded;
  for (absl::string_view line : absl::StrSplit(flame.out, '\n', absl::SkipEmpty())) {
    const size_t space = line.rfind(' ');
    ASSERT_NE(space, absl::string_view::npos) << line;
    uint64_t bytes = 0;
    ASSERT_TRUE(absl::SimpleAtoi(line.substr(space + 1), &bytes)) << line;
    EXPECT_TRUE(folded.emplace(std::string(line.substr(0, space)), bytes).second) << line;
  }
  ExpectSameRows(Lines(folded), Lines(expected->flamegraph), "flamegraph");

  constexpr size_t kTop = 200;
  const ToolResult dominators = RunKilnHeap({"dominators", path, "--top", std::to_string(kTop)});
  ASSERT_EQ(dominators.exit_code, 0) << dominators.err;
  EXPECT_TRUE(absl::StrContains(
      dominators.out, absl::StrCat("All reachable objects retain ", expected->total_retained,
                                   " bytes.")))
      << dominators.out;
  std::vector<uint64_t> listed;
  for (const std::string& line : BodyLines(dominators.out)) {
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    ASSERT_GE(words.size(), 5u) << line;
    uint64_t retained = 0;
    ASSERT_TRUE(absl::SimpleAtoi(words[1], &retained)) << line;
    const size_t at = line.rfind("@0x");
    ASSERT_NE(at, std::string::npos) << line;
    const std::string hex = line.substr(at + 3, line.find_first_not_of(
                                                    "0123456789abcdef", at + 3) - at - 3);
    uint64_t id = 0;
    ASSERT_TRUE(absl::SimpleHexAtoi(hex, &id)) << line;
    ASSERT_EQ(expected->retained.count(id), 1u) << line;
    EXPECT_EQ(retained, expected->retained.at(id)) << line;
    listed.push_back(retained);
  }
  std::vector<uint64_t> biggest;
  for (const auto& [id, retained] : expected->retained) biggest.push_back(retained);
  std::sort(biggest.begin(), biggest.end(), std::greater<>());
  biggest.resize(std::min(biggest.size(), kTop));
  EXPECT_EQ(listed, biggest);
}

}  // namespace kiln::testing
