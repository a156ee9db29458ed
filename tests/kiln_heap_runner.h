// Running kiln-heap from the end-to-end tests, and reading its tables back.
//
//   ToolResult r = RunKilnHeap({"histogram", dump, "--reachable"});
//   std::map<std::string, HistogramCounts> rows = HistogramRows(r.out);
#ifndef KILN_TESTS_KILN_HEAP_RUNNER_H_
#define KILN_TESTS_KILN_HEAP_RUNNER_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/subprocess.h"

namespace kiln::testing {

// RunKilnHeap runs the kiln_heap binary from the test's runfiles.
ToolResult RunKilnHeap(const std::vector<std::string>& args);

// TableRows: the rows of a kiln-heap table (the lines after the dashed
// rule, up to a "(N rows)" line), split on runs of spaces.
std::vector<std::vector<std::string>> TableRows(const std::string& out);

// HistogramRows: class -> {instances, self_bytes, native_bytes} from
// `kiln-heap histogram` output (the total row left out).
using HistogramCounts = std::array<uint64_t, 3>;
std::map<std::string, HistogramCounts> HistogramRows(const std::string& out);

// QueryRows: name -> value from a two-column `kiln-heap query` table.
std::map<std::string, uint64_t> QueryRows(const std::string& out);

// ExpectSameAnswers: each query's `kiln-heap query` output (or exit status
// and error) is the same on `dump` (the virtual tables) and on `db`, the
// database `kiln-heap sql` wrote from it; a gtest failure names the query.
// Returns how many queries answered with at least one row.
int ExpectSameAnswers(const std::string& dump, const std::string& db,
                      const std::vector<std::string>& queries);

}  // namespace kiln::testing

#endif  // KILN_TESTS_KILN_HEAP_RUNNER_H_
