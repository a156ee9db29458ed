// HeapView: one loaded dump with every analysis kiln-heap serve shows,
// computed once at load and then read by any number of request threads:
// the graph, the shortest-path tree, the dominator tree with retained
// sizes, the retention flamegraph, and the indexes the pages need on top
// (referrers, dominator-tree children, instances of each class by retained
// size, per-class retained bytes), plus an optional baseline histogram.
// Nothing changes after Create but one thing: each class's instances are
// bucketed at Create and sorted by retained size on first use, under a once
// flag per class, by a background thread that sorts them all in turn or by
// the first request that needs a class before it gets there. Those sorts
// were a third of serve's load time (4M objects: 0.86 s of 2.8 s), spent
// before the first page could be asked for.
//
//   ASSIGN_OR_RETURN(LoadedDump dump, LoadDump(path));
//   std::unique_ptr<HeapView> view = HeapView::Create(std::move(dump), {});
//   for (uint32_t r : view->referrers(obj)) ...
#ifndef KILN_INSPECTION_ANALYSIS_VIEWER_HEAP_VIEW_H_
#define KILN_INSPECTION_ANALYSIS_VIEWER_HEAP_VIEW_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/types/span.h"
#include "inspection/analysis/cli_load.h"
#include "inspection/analysis/dominators.h"
#include "inspection/analysis/flamegraph.h"
#include "inspection/analysis/heap_graph.h"
#include "inspection/analysis/histogram_diff.h"
#include "inspection/analysis/shortest_path_tree.h"

namespace kiln::analysis {

// SizeConvention: how shallow sizes are shown. kPerfetto is HeapGraph's
// self_size (field and element bytes, no header), the default and the only
// one in SQL; kJvm is what VisualVM and MAT show for a HotSpot dump: the
// object header (12 bytes with compressed references, else 2 ids), fields
// with references of 4 bytes when compressed, arrays' 4-byte length, all
// aligned to 8. References are compressed when the dump's system properties
// name java.vm.compressedOopsMode (HotSpot sets it when they are).
enum class SizeConvention { kPerfetto, kJvm };

struct HeapViewOptions {
  SizeConvention sizes = SizeConvention::kPerfetto;
  // baseline: the older dump's histograms (all objects, reachable ones).
  std::optional<BaselineHistogram> baseline_all, baseline_reachable;
  std::string baseline_name;  // what --baseline named, for the pages
};

class HeapView {
 public:
  static std::unique_ptr<HeapView> Create(LoadedDump dump, HeapViewOptions options);
  ~HeapView();  // stops the background sort (after the class it is sorting)
  HeapView(const HeapView&) = delete;
  HeapView& operator=(const HeapView&) = delete;

  const HeapGraph& graph() const { return *dump_.graph; }
  const std::string& path() const { return dump_.path; }
  const HeapViewOptions& options() const { return options_; }
  // paths: parent and distance (order is empty: only the flamegraph, built
  // from it first, reads it).
  const ShortestPathTree& paths() const { return paths_; }
  const DominatorTree& dominators() const { return dominators_; }
  const Flamegraph& flamegraph() const { return flamegraph_; }

  // shallow_size: self_size or the JVM's, by options().sizes.
  uint64_t shallow_size(uint32_t obj) const;
  bool compressed_references() const { return compressed_references_; }
  // retained: the dominator tree's retained bytes (by self_size, as
  // `kiln-heap dominators` prints them).
  uint64_t retained(uint32_t obj) const { return dominators_.retained[obj]; }

  // referrers: every object with a reference to `obj` (once per reference,
  // in ascending index order), the exact inverse of HeapGraph::references.
  absl::Span<const uint32_t> referrers(uint32_t obj) const {
    return absl::MakeConstSpan(referrers_.data() + referrer_begin_[obj],
                               referrers_.data() + referrer_begin_[obj + 1]);
  }
  // dominated: the objects whose immediate dominator is `obj` (kSuperRoot
  // for the top of the tree), by retained size descending.
  absl::Span<const uint32_t> dominated(uint32_t obj) const;
  // instances: the objects of `type`, by retained size descending (sorted
  // now if the background sort has not reached `type` yet).
  absl::Span<const uint32_t> instances(uint32_t type) const;
  // WaitForSortedInstances: returns once every class's instances are
  // sorted (for tests and benchmarks that want the steady state).
  void WaitForSortedInstances() const;
  // class_retained: bytes retained by the instances of `type` together,
  // counting each object once: the sum of the retained sizes of the
  // instances that no other instance of the type dominates.
  uint64_t class_retained(uint32_t type) const { return class_retained_[type]; }

 private:
  HeapView() = default;
  void BuildIndexes();
  void SortInstances(uint32_t type) const;
  // RetainsMore: the pages' order, by retained size descending, then index.
  bool RetainsMore(uint32_t a, uint32_t b) const;

  LoadedDump dump_;
  HeapViewOptions options_;
  ShortestPathTree paths_;
  DominatorTree dominators_;
  Flamegraph flamegraph_;
  bool compressed_references_ = false;
  std::vector<uint32_t> referrer_begin_, referrers_;
  std::vector<uint32_t> dominated_begin_, dominated_;  // index object_count() = super-root
  std::vector<uint32_t> type_begin_;
  // by_type_: the instances, bucketed by type_begin_; each bucket is sorted
  // in place inside its once flag, and read only after it.
  mutable std::vector<uint32_t> by_type_;
  std::unique_ptr<std::once_flag[]> instances_sorted_;
  std::atomic<bool> stopping_{false};
  std::thread sorter_;
  std::vector<uint64_t> class_retained_;
};

}  // namespace kiln::analysis

#endif  // KILN_INSPECTION_ANALYSIS_VIEWER_HEAP_VIEW_H_
