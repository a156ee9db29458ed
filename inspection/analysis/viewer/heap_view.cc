// HeapView: the analyses and indexes kiln-heap serve reads.
#include "inspection/analysis/viewer/heap_view.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>

#include "inspection/analysis/memory_trace.h"
#include "inspection/analysis/page_array.h"
#include "inspection/analysis/system_properties.h"
#include "inspection/hprof/hprof_format.h"

namespace kiln::analysis {
namespace {

uint64_t Align8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

// CountingSort: objects 0..n-1 bucketed by key(obj) into CSR arrays `begin`
// (buckets + 1 entries) and `items`, items in ascending order within a
// bucket; keys >= buckets are left out. Counted into begin[key], summed to
// each bucket's end and filled from the last object down, so that begin
// ends at each bucket's start with no cursor array beside it.
template <typename Key>
void CountingSort(uint32_t n, const Key& key, uint32_t buckets, std::vector<uint32_t>* begin,
                  std::vector<uint32_t>* items) {
  begin->assign(uint64_t{buckets} + 1, 0);
  for (uint32_t i = 0; i < n; ++i) {
    if (const uint32_t k = key(i); k < buckets) ++(*begin)[k];
  }
  for (uint32_t b = 1; b < buckets; ++b) (*begin)[b] += (*begin)[b - 1];
  if (buckets > 0) (*begin)[buckets] = (*begin)[buckets - 1];
  items->resize((*begin)[buckets]);
  for (uint32_t i = n; i-- > 0;) {
    if (const uint32_t k = key(i); k < buckets) (*items)[--(*begin)[k]] = i;
  }
}

}  // namespace

std::unique_ptr<HeapView> HeapView::Create(LoadedDump dump, HeapViewOptions options) {
  std::unique_ptr<HeapView> view(new HeapView);
  view->dump_ = std::move(dump);
  view->options_ = std::move(options);
  const HeapGraph& graph = *view->dump_.graph;
  // Dominators first: their scratch is gone before the shortest-path tree
  // is allocated; the tree's BFS order is read by the flamegraph only.
  view->dominators_ = ComputeDominators(graph, {});
  view->paths_ = ComputeShortestPathTree(graph);
  view->flamegraph_ = BuildFlamegraph(graph, view->paths_);
  ReleaseStorage(view->paths_.order);
  TraceMemory("viewer: flamegraph");
  view->compressed_references_ =
      graph.id_size() == 8 && SystemProperties(graph).value_or(PropertyMap{}).count("java.vm.compressedOopsMode") != 0;
  view->BuildIndexes();
  TraceMemory("viewer: indexes");
  // The sorter starts with every signal blocked: a signal meant for the
  // program (serve's SIGINT, which it waits for) must not land on it.
  HeapView* const v = view.get();
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  view->sorter_ = std::thread([v] {
    for (uint32_t t = 0; t < v->graph().type_count() && !v->stopping_.load(); ++t) {
      v->SortInstances(t);
    }
  });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return view;
}

HeapView::~HeapView() {
  stopping_.store(true);
  if (sorter_.joinable()) sorter_.join();
}

void HeapView::SortInstances(uint32_t type) const {
  std::call_once(instances_sorted_[type], [&] {
    std::sort(by_type_.begin() + type_begin_[type], by_type_.begin() + type_begin_[type + 1],
              [this](uint32_t a, uint32_t b) { return RetainsMore(a, b); });
  });
}

bool HeapView::RetainsMore(uint32_t a, uint32_t b) const {
  if (retained(a) != retained(b)) return retained(a) > retained(b);
  return a < b;
}

absl::Span<const uint32_t> HeapView::instances(uint32_t type) const {
  SortInstances(type);
  return absl::MakeConstSpan(by_type_.data() + type_begin_[type],
                             by_type_.data() + type_begin_[type + 1]);
}

void HeapView::WaitForSortedInstances() const {
  for (uint32_t t = 0; t < graph().type_count(); ++t) SortInstances(t);
}

void HeapView::BuildIndexes() {
  const HeapGraph& graph = this->graph();
  const uint32_t n = graph.object_count();
  // Referrers: the references, transposed (sources ascend within a target;
  // one source's references to it in field order).
  referrer_begin_.assign(uint64_t{n} + 1, 0);
  for (uint32_t obj = 0; obj < n; ++obj) {
    for (const Reference& ref : graph.references(obj)) ++referrer_begin_[ref.target];
  }
  for (uint32_t i = 1; i < n; ++i) referrer_begin_[i] += referrer_begin_[i - 1];
  if (n > 0) referrer_begin_[n] = referrer_begin_[n - 1];
  referrers_.resize(referrer_begin_[n]);
  for (uint32_t obj = n; obj-- > 0;) {
    const absl::Span<const Reference> refs = graph.references(obj);
    for (size_t k = refs.size(); k-- > 0;) referrers_[--referrer_begin_[refs[k].target]] = obj;
  }
  // Dominator-tree children; the super-root is bucket n.
  const std::vector<uint32_t>& idom = dominators_.idom;
  CountingSort(
      n, [&](uint32_t obj) { return idom[obj] == kSuperRoot ? n : idom[obj]; }, n + 1,
      &dominated_begin_, &dominated_);
  const auto by_retained = [this](uint32_t a, uint32_t b) { return RetainsMore(a, b); };
  for (uint32_t b = 0; b <= n; ++b) {
    std::sort(dominated_.begin() + dominated_begin_[b], dominated_.begin() + dominated_begin_[b + 1],
              by_retained);
  }
  // Instances per type, sorted on first use (SortInstances).
  CountingSort(
      n, [&](uint32_t obj) { return graph.type(obj); }, graph.type_count(), &type_begin_,
      &by_type_);
  instances_sorted_ = std::make_unique<std::once_flag[]>(graph.type_count());
  // Per-class retained bytes: walk the dominator tree from the super-root
  // (an explicit stack: the tree can be millions deep), counting on the path
  // how many ancestors have each type; an object counts when none does.
  class_retained_.assign(graph.type_count(), 0);
  std::vector<uint32_t> on_path(graph.type_count(), 0);
  struct Step {
    uint32_t obj;
    uint32_t next_child;
  };
  std::vector<Step> stack;
  const absl::Span<const uint32_t> top = dominated(kSuperRoot);
  for (size_t i = top.size(); i-- > 0;) stack.push_back({top[i], ~uint32_t{0}});
  while (!stack.empty()) {
    Step& step = stack.back();
    const uint32_t t = graph.type(step.obj);
    if (step.next_child == ~uint32_t{0}) {  // entering
      if (on_path[t] == 0) class_retained_[t] += retained(step.obj);
      ++on_path[t];
      step.next_child = 0;
    }
    const absl::Span<const uint32_t> children = dominated(step.obj);
    if (step.next_child < children.size()) {
      const uint32_t child = children[step.next_child++];
      stack.push_back({child, ~uint32_t{0}});
      continue;
    }
    --on_path[t];
    stack.pop_back();
  }
}

absl::Span<const uint32_t> HeapView::dominated(uint32_t obj) const {
  const uint32_t b = obj == kSuperRoot ? graph().object_count() : obj;
  return absl::MakeConstSpan(dominated_.data() + dominated_begin_[b],
                             dominated_.data() + dominated_begin_[b + 1]);
}

uint64_t HeapView::shallow_size(uint32_t obj) const {
  const HeapGraph& graph = this->graph();
  if (options_.sizes == SizeConvention::kPerfetto) return graph.self_size(obj);
  const TypeInfo& info = graph.type_info(graph.type(obj));
  const uint32_t id = graph.id_size();
  const uint64_t ref = compressed_references_ ? 4 : id;
  const uint64_t header = compressed_references_ ? 12 : 2 * id;
  switch (info.kind) {
    case TypeKind::kInstance: {
      uint64_t fields = 0;
      uint32_t steps = 0;
      for (uint32_t t = graph.type(obj); t != kNoType && steps <= graph.type_count();
           t = graph.type_info(t).superclass, ++steps) {
        for (const FieldInfo& field : graph.type_info(t).fields) {
          fields += field.type == hprof::kObject ? ref : hprof::BasicTypeSize(field.type);
        }
      }
      return Align8(header + fields);
    }
    case TypeKind::kObjectArray:
      return Align8(header + 4 + graph.self_size(obj) / id * ref);
    case TypeKind::kPrimitiveArray:
      return Align8(header + 4 + graph.PrimitiveArrayBytes(obj).size());
    case TypeKind::kClassObject:
      break;
  }
  return graph.self_size(obj);
}

}  // namespace kiln::analysis
