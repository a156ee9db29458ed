// ExpectSameAsReference (tests only): kiln-heap's histograms (all and
// reachable objects), retention flamegraph (folded) and dominators (every
// listed retainer's retained bytes, and the total) on `path`, row by row
// against ComputeReferenceAnalyses (perfetto_self_size.h), which works them
// out from the records without HeapGraph. It guards HeapGraph's storage
// (narrow columns, name tables, evicted bytes, the count-only histogram):
// whatever changes there, what the tool prints must not.
#ifndef KILN_TESTS_HEAP_EQUIVALENCE_H_
#define KILN_TESTS_HEAP_EQUIVALENCE_H_

#include <string>

namespace kiln::testing {

void ExpectSameAsReference(const std::string& path);

}  // namespace kiln::testing

#endif  // KILN_TESTS_HEAP_EQUIVALENCE_H_
