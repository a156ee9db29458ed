// PerfettoSeedQuery (tests only): what Perfetto's first documented query,
//   select c.name, sum(o.self_size) from heap_graph_object o
//   join heap_graph_class c on (o.type_id = c.id)
//   where reachable = 1 group by 1
// gives on a dump by Perfetto's definition of self_size (its trace
// processor's art_hprof importer, HeapGraphResolver::ComputeSelfSizes),
// worked out straight from the CLASS_DUMP, INSTANCE_DUMP and array records
// as HprofReader hands them over, with no use of kiln-heap's HeapGraph
// (HprofSnapshot would do, but it rejects the JDK's repeated LOAD_CLASS):
//   instance      its class's CLASS_DUMP instance size
//   array         its array class's instance size + its element bytes
//   class object  java.lang.Class's instance size + its static values' bytes
// Ids count the file's id size. Reachable: reached from a root without
// crossing java.lang.ref.Reference.referent (kiln-heap's rule, README.md).
//
//   absl::StatusOr<std::map<std::string, uint64_t>> sums = PerfettoSeedQuery(path);
#ifndef KILN_TESTS_PERFETTO_SELF_SIZE_H_
#define KILN_TESTS_PERFETTO_SELF_SIZE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/must_use.h"

namespace kiln::testing {

// PerfettoSeedQuery: class name (Perfetto's spelling: int[],
// java.lang.Object[], java.lang.Class<app.Main>) -> the sum of self_size of
// its reachable objects, for the plain HPROF file at `path`.
KILN_MUST_USE absl::StatusOr<std::map<std::string, uint64_t>> PerfettoSeedQuery(const std::string& path);


// ReferenceAnalyses (tests only): kiln-heap's whole-graph answers worked out
// the plain way, from the records with maps keyed by id and no HeapGraph,
// so that a change in how HeapGraph stores the graph cannot change what the
// tool prints unnoticed (tests/heap_equivalence.h compares them):
//   histogram, reachable_histogram  "count self_bytes native_bytes name"
//       per class (sorted), as `kiln-heap histogram [--reachable]` rows;
//   flamegraph  folded path -> self bytes (nodes with bytes), as
//       `kiln-heap flamegraph` prints them: a breadth-first tree from the
//       roots in file order, each object's first referrer its parent;
//   retained    reachable object id -> retained bytes (the dominator tree,
//       iterated to its fixed point; unique, so any algorithm agrees).
// Native sizes and edges follow README.md (NativeAllocationRegistry's
// Cleaners; java.lang.ref.Reference.referent not followed).
struct ReferenceAnalyses {
  std::vector<std::string> histogram, reachable_histogram;
  std::map<std::string, uint64_t> flamegraph;
  std::map<uint64_t, uint64_t> retained;
  uint64_t total_retained = 0;
};
KILN_MUST_USE absl::StatusOr<ReferenceAnalyses> ComputeReferenceAnalyses(const std::string& path);

}  // namespace kiln::testing

#endif  // KILN_TESTS_PERFETTO_SELF_SIZE_H_
