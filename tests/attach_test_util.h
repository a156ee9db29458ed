// Test helpers shared by the attach tests (in process and end to end): what a
// dump holds by class, what GC.class_histogram says, a dump's bytes without
// the header's timestamp, a short private TMPDIR for sockets.
#ifndef KILN_TESTS_ATTACH_TEST_UTIL_H_
#define KILN_TESTS_ATTACH_TEST_UTIL_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "inspection/hprof/hprof_snapshot.h"
#include "tests/subprocess.h"  // ReadFile

namespace kiln::testing {

// DumpCounts: objects by class name in a dump (arrays as "[I",
// "[Ljava.lang.Object;"), with java.lang.Class counting the classes, as
// GC.class_histogram counts them.
std::map<std::string, uint64_t> DumpCounts(const HprofSnapshot& snapshot);
// HistogramCounts: the instance counts of a GC.class_histogram answer.
std::map<std::string, uint64_t> HistogramCounts(absl::string_view histogram);
// WithoutTimestamp: a dump with the header's milliseconds zeroed, so two
// dumps of one heap compare equal.
std::string WithoutTimestamp(std::string dump);
// ShortTempDir: a new directory under /tmp, short enough for Unix socket
// paths (TEST_TMPDIR often is not). The caller removes it.
std::string ShortTempDir();
// RemoveTree: rm -rf `dir` (files and one level of directories).
void RemoveTree(const std::string& dir);

}  // namespace kiln::testing

#endif  // KILN_TESTS_ATTACH_TEST_UTIL_H_
