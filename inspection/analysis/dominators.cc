// Dominators: Semi-NCA over the reachable graph, in DFS-number
// space. Vertex 1 is the virtual super-root, 0 means "none". Every step that
// a textbook writes recursively (the DFS, path compression) uses an explicit
// stack: heap graphs have paths millions of objects long.
#include "inspection/analysis/dominators.h"

#include <algorithm>

#include "base/check.h"
#include "inspection/analysis/memory_trace.h"
#include "inspection/analysis/page_array.h"

namespace kiln::analysis {
namespace {

class LengauerTarjan {
 public:
  LengauerTarjan(const HeapGraph& graph, uint32_t skip_field) : g_(graph), skip_(skip_field) {}

  // Compute: idom per DFS number (idom_[v] for v >= 2; vertex_[v] its
  // object), by Semi-NCA: semidominators as Lengauer-Tarjan computes them
  // (Eval with path compression), then each idom as the nearest ancestor
  // of the parent at or above the semidominator. Every array but vertex_
  // and idom_ is freed on the way, so the caller's result arrays are
  // allocated once the scratch is gone.
  //
  // Memory: vertices are processed from the last DFS number down, and only
  // processed vertices have a semidominator, label or ancestor of their own
  // (an unprocessed one's are itself, itself and none), so those three are
  // PageArrays read as "itself" while zero, resident only from the top down;
  // the predecessor lists are read from the top down too, and handed back
  // behind the loop. The two trade places, so the loop's peak is about
  // three arrays, not five.
  void Compute() {
    Number();
    TraceMemory("dominators: numbered");
    Predecessors();
    TraceMemory("dominators: predecessors");
    ReleaseStorage(number_);
    const uint32_t n = count_;
    semi_ = PageArray<uint32_t>(uint64_t{n} + 1);
    label_ = PageArray<uint32_t>(uint64_t{n} + 1);
    ancestor_ = PageArray<uint32_t>(uint64_t{n} + 1);
    constexpr uint32_t kReleaseEvery = 1 << 16;
    for (uint32_t w = n; w >= 2; --w) {
      uint32_t semi = w;
      for (uint32_t p = pred_begin_[w]; p < pred_begin_[w + 1]; ++p) {
        semi = std::min(semi, Semi(Eval(preds_[p])));
      }
      semi_[w] = semi;
      ancestor_[w] = parent_[w];
      if (w % kReleaseEvery == 0) {  // w's predecessors and above are read
        preds_.Release(pred_begin_[w], preds_.size());
        pred_begin_.Release(uint64_t{w} + 1, pred_begin_.size());
      }
    }
    TraceMemory("dominators: semidominators");
    preds_.Reset();
    pred_begin_.Reset();
    label_.Reset();
    ancestor_.Reset();
    ReleaseStorage(compress_stack_);
    idom_ = std::move(parent_);  // idom_[w] starts at the DFS parent
    for (uint32_t w = 2; w <= n; ++w) {
      while (idom_[w] > semi_[w]) idom_[w] = idom_[idom_[w]];
    }
    semi_.Reset();
  }

  uint32_t count() const { return count_; }
  uint32_t object(uint32_t v) const { return vertex_[v]; }
  uint32_t idom(uint32_t v) const { return idom_[v]; }
  // ReleaseIdoms: idom() may not be called after.
  void ReleaseIdoms() { ReleaseStorage(idom_); }

 private:
  // Number: iterative DFS from the super-root (1) over roots, then edges.
  void Number() {
    const uint32_t n = g_.object_count();
    number_.assign(n, 0);
    // Reserved, never moved: only the pages the reachable objects fill are touched.
    vertex_.reserve(uint64_t{n} + 2);
    parent_.reserve(uint64_t{n} + 2);
    vertex_.assign(2, kNoObject);  // [0] unused, [1] the super-root
    parent_.assign(2, 0);
    count_ = 1;
    std::vector<std::pair<uint32_t, uint32_t>> stack;  // (object, next edge index)
    const auto discover = [&](uint32_t obj, uint32_t parent) {
      number_[obj] = ++count_;
      vertex_.push_back(obj);
      parent_.push_back(parent);
      stack.emplace_back(obj, 0);
    };
    for (const Root& root : g_.roots()) {
      if (number_[root.object] != 0) continue;
      discover(root.object, 1);
      while (!stack.empty()) {
        auto& [obj, next] = stack.back();
        const absl::Span<const Reference> refs = g_.references(obj);
        if (next == refs.size()) {
          stack.pop_back();
          continue;
        }
        const Reference ref = refs[next++];
        if (ref.field_name == skip_ || number_[ref.target] != 0) continue;
        discover(ref.target, number_[obj]);
      }
    }
  }

  // Predecessors: CSR of incoming edges in DFS numbers (roots from 1).
  // Counted into pred_begin_[w], summed to the end of w's list, and filled
  // backwards, so that pred_begin_[w] ends at its start with no second
  // cursor array (a predecessor list's order does not matter).
  void Predecessors() {
    const uint32_t n = count_;
    pred_begin_ = PageArray<uint32_t>(uint64_t{n} + 2);
    const auto for_each_edge = [&](auto&& f) {
      for (const Root& root : g_.roots()) f(1, number_[root.object]);
      for (uint32_t v = 2; v <= n; ++v) {
        for (const Reference& ref : g_.references(vertex_[v])) {
          if (ref.field_name != skip_) f(v, number_[ref.target]);
        }
      }
    };
    for_each_edge([&](uint32_t, uint32_t w) { ++pred_begin_[w]; });
    for (uint32_t v = 1; v <= n; ++v) pred_begin_[v] += pred_begin_[v - 1];
    pred_begin_[uint64_t{n} + 1] = pred_begin_[n];
    preds_ = PageArray<uint32_t>(pred_begin_[n]);
    for_each_edge([&](uint32_t v, uint32_t w) { preds_[--pred_begin_[w]] = v; });
  }

  // Semi, Label: a vertex's own number while unset (zero).
  uint32_t Semi(uint32_t v) const { return semi_[v] != 0 ? semi_[v] : v; }
  uint32_t Label(uint32_t v) const { return label_[v] != 0 ? label_[v] : v; }

  uint32_t Eval(uint32_t v) {
    if (ancestor_[v] == 0) return v;
    Compress(v);
    return Label(v);
  }

  void Compress(uint32_t v) {
    compress_stack_.clear();
    for (uint32_t u = v; ancestor_[ancestor_[u]] != 0; u = ancestor_[u]) {
      compress_stack_.push_back(u);
    }
    while (!compress_stack_.empty()) {
      const uint32_t u = compress_stack_.back();
      compress_stack_.pop_back();
      const uint32_t a = ancestor_[u];
      if (Semi(Label(a)) < Semi(Label(u))) label_[u] = Label(a);
      ancestor_[u] = ancestor_[a];
    }
  }

  const HeapGraph& g_;
  const uint32_t skip_;
  uint32_t count_ = 0;
  std::vector<uint32_t> number_;  // object -> DFS number (0: unreachable)
  std::vector<uint32_t> vertex_, parent_, idom_, compress_stack_;
  PageArray<uint32_t> pred_begin_, preds_, semi_, label_, ancestor_;
};

}  // namespace

DominatorTree ComputeDominators(const HeapGraph& graph, const DominatorOptions& options) {
  const uint32_t skip =
      graph.FindFieldName("java.lang.ref.Reference.referent").value_or(kNoObject);
  LengauerTarjan lt(graph, skip);
  lt.Compute();
  TraceMemory("dominators: computed");
  DominatorTree tree;
  tree.idom.assign(graph.object_count(), kNoObject);
  for (uint32_t v = 2; v <= lt.count(); ++v) {
    tree.idom[lt.object(v)] = lt.idom(v) == 1 ? kSuperRoot : lt.object(lt.idom(v));
  }
  lt.ReleaseIdoms();  // the sums below read tree.idom, before retained is allocated
  TraceMemory("dominators: idoms");
  tree.retained.assign(graph.object_count(), 0);
  for (uint32_t v = 2; v <= lt.count(); ++v) {
    const uint32_t obj = lt.object(v);
    tree.retained[obj] = graph.self_size(obj) + (options.include_native ? graph.native_size(obj) : 0);
  }
  TraceMemory("dominators: result");
  // An idom precedes its children in DFS order: sum from the last vertex up.
  for (uint32_t v = lt.count(); v >= 2; --v) {
    const uint32_t obj = lt.object(v);
    const uint32_t idom = tree.idom[obj];
    if (idom == kSuperRoot) {
      tree.total_retained += tree.retained[obj];
    } else {
      tree.retained[idom] += tree.retained[obj];
    }
  }
  return tree;
}

std::vector<uint32_t> TopRetainers(const HeapGraph& graph, const DominatorTree& tree, size_t n) {
  std::vector<uint32_t> objects;
  for (uint32_t obj = 0; obj < graph.object_count(); ++obj) {
    if (tree.idom[obj] != kNoObject) objects.push_back(obj);
  }
  const auto larger = [&](uint32_t a, uint32_t b) {
    if (tree.retained[a] != tree.retained[b]) return tree.retained[a] > tree.retained[b];
    return a < b;
  };
  n = std::min(n, objects.size());
  std::partial_sort(objects.begin(), objects.begin() + n, objects.end(), larger);
  objects.resize(n);
  return objects;
}

}  // namespace kiln::analysis
