// runtime_tour: a guided run of the Kiln runtime core.
//
// It defines classes ahead of time, attaches host threads that build linked
// lists of strings in managed frames, parks one thread in a sleep and one in
// native code, starts a daemon, and then, from the host, stops the world to
// take a thread dump (every managed frame with its line) and a census of the
// whole heap, drops one list and collects it, writes a live HPROF heap dump
// and reads it back, and prints the roots and the safepoint and heap
// statistics. Every number it
// prints is read from the runtime, none is assumed.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/notification.h"
#include "base/status_macros.h"
#include "inspection/hprof/hprof_snapshot.h"
#include "inspection/thread_dump.h"
#include "inspection/vm_runtime.h"
#include "vm/kiln.h"

namespace {

using kiln::FieldType;

constexpr int kWorkers = 3;
constexpr int kItemsPerWorker = 2000;

kiln::RuntimeOptions TourOptions() {
  kiln::RuntimeOptions options;
  options.heap_limit_bytes = 64 << 20;
  options.classes.push_back({.name = "demo.Item",
                             .source_file = "runtime_tour.cc",
                             .fields = {{"name", FieldType::kObject},
                                        {"next", FieldType::kObject},
                                        {"index", FieldType::kInt},
                                        {"weight", FieldType::kDouble}}});
  options.classes.push_back({.name = "demo.Tour",
                             .source_file = "runtime_tour.cc",
                             .static_fields = {{"registry", FieldType::kObject}},
                             .methods = {{"main", "([Ljava/lang/String;)V"},
                                         {"build", "(I)Ldemo/Item;"},
                                         {"append", "(Ldemo/Item;I)Ldemo/Item;"},
                                         {"idle", "()V"},
                                         {"callHost", "()V"}}});
  return options;
}

// TourApi: the classes, fields and methods the tour uses, resolved once
// after Runtime::Create; nothing is looked up by name afterwards.
struct TourApi {
  const kiln::Class* item;
  kiln::FieldRef<kiln::String*> name;
  kiln::FieldRef<kiln::Object*> next;
  kiln::FieldRef<int32_t> index;
  kiln::FieldRef<double> weight;
  kiln::StaticFieldRef<kiln::Object*> registry;
  const kiln::Method* main;
  const kiln::Method* build;
  const kiln::Method* append;
  const kiln::Method* idle;
  const kiln::Method* call_host;
};

absl::StatusOr<TourApi> ResolveTourApi(const kiln::Runtime& runtime) {
  kiln::Resolver resolver(runtime);
  TourApi api;
  api.item = resolver.Class("demo.Item");
  api.name = resolver.Field<kiln::String*>(api.item, "name");
  api.next = resolver.Field<kiln::Object*>(api.item, "next");
  api.index = resolver.Field<int32_t>(api.item, "index");
  api.weight = resolver.Field<double>(api.item, "weight");
  const kiln::Class* tour = resolver.Class("demo.Tour");
  api.registry = resolver.StaticField<kiln::Object*>(tour, "registry");
  api.main = resolver.Method(tour, "main", "([Ljava/lang/String;)V");
  api.build = resolver.Method(tour, "build", "(I)Ldemo/Item;");
  api.append = resolver.Method(tour, "append", "(Ldemo/Item;I)Ldemo/Item;");
  api.idle = resolver.Method(tour, "idle", "()V");
  api.call_host = resolver.Method(tour, "callHost", "()V");
  RETURN_IF_ERROR(resolver.status());
  return api;
}

// append: one managed frame per call, so thread dumps show nested frames;
// the new item goes back to the caller's frame.
absl::StatusOr<kiln::Local<kiln::Object>> Append(kiln::Frame& caller, const TourApi& api,
                                                 kiln::Local<kiln::Object> head, int worker,
                                                 int index) {
  kiln::Frame frame(caller.thread(), api.append);
  KILN_LINE(frame);
  ASSIGN_OR_RETURN(kiln::Local<kiln::Object> item, kiln::Object::New(frame, api.item));
  ASSIGN_OR_RETURN(kiln::Local<kiln::String> name,
                   kiln::String::New(frame, absl::StrCat("item-", worker, "-", index)));
  item->Set(api.name, name.get());
  item->Set(api.next, head.get());
  item->Set(api.index, index);
  item->Set(api.weight, index * 0.5);
  return frame.Escape(item);
}

// Worker: builds a list, publishes it in a Global, then idles in a managed
// loop (polling) until told to stop.
void Worker(kiln::Runtime& runtime, const TourApi& api, int id, std::atomic<int>& ready,
            std::atomic<bool>& stop, std::vector<kiln::Global<kiln::Object>>& lists) {
  absl::StatusOr<kiln::ThreadScope> scope =
      kiln::ThreadScope::Attach(runtime, absl::StrCat("builder-", id));
  if (!scope.ok()) {
    std::fprintf(stderr, "builder-%d: %s\n", id, scope.status().ToString().c_str());
    ready.fetch_add(1);
    return;
  }
  kiln::Frame frame(*scope, api.build);
  KILN_LINE(frame);
  kiln::Local<kiln::Object> head = frame.NewLocal<kiln::Object>(nullptr);
  for (int i = 0; i < kItemsPerWorker; ++i) {
    kiln::LocalScope step(frame);  // the frame keeps `head` and nothing else
    absl::StatusOr<kiln::Local<kiln::Object>> item = Append(frame, api, head, id, i);
    if (!item.ok()) {
      std::fprintf(stderr, "builder-%d: %s\n", id, item.status().ToString().c_str());
      break;
    }
    head.Set(item->get());
    frame.Poll();
  }
  lists[id] = kiln::Global<kiln::Object>(head);
  head.Set(nullptr);  // from now on the Global alone keeps the list
  ready.fetch_add(1);
  kiln::Frame idle(*scope, api.idle);
  KILN_LINE(idle);
  while (!stop.load(std::memory_order_relaxed)) idle.Poll();
}

// HeapCensus counts every object on the heap by class, and the roots by
// kind, at a safepoint (Runtime::RunAtSafepoint).
struct HeapCensus {
  void Take(kiln::StoppedWorld& world) {
    world.runtime().ForEachObject(world, [&](kiln::Object* object) {
      Entry& entry = by_class[object->GetClass()->name()];
      ++entry.count;
      entry.bytes += object->SizeOf();
    });
    world.runtime().VisitRoots(world, [&](kiln::Object**, const kiln::RootInfo& info) {
      ++roots[info.kind];
    });
  }
  struct Entry {
    size_t count = 0;
    size_t bytes = 0;
  };
  std::map<std::string, Entry> by_class;
  std::map<kiln::RootKind, int> roots;
};

absl::Status Tour() {
  ASSIGN_OR_RETURN(std::unique_ptr<kiln::Runtime> runtime, kiln::Runtime::Create(TourOptions()));
  ASSIGN_OR_RETURN(const TourApi api, ResolveTourApi(*runtime));
  std::printf("Kiln runtime tour, pid %d\n", getpid());
  std::printf("Class table: %zu classes (builtins, arrays and demo.*)\n",
              runtime->classes().size());

  ASSIGN_OR_RETURN(kiln::ThreadScope main, kiln::ThreadScope::Attach(*runtime, "main"));
  kiln::Frame frame(main, api.main);
  KILN_LINE(frame);

  std::atomic<int> ready{0};
  std::atomic<bool> stop{false};
  std::vector<kiln::Global<kiln::Object>> lists(kWorkers);
  std::vector<std::thread> threads;
  {
    kiln::ScopedNative starting(main, kiln::ThreadStatus::kNative);
    for (int i = 0; i < kWorkers; ++i) {
      threads.emplace_back(Worker, std::ref(*runtime), std::cref(api), i, std::ref(ready),
                           std::ref(stop), std::ref(lists));
    }
  }
  kiln::Notification host_call_done;
  threads.emplace_back([&] {
    kiln::ThreadScope scope(*runtime, "host-caller");
    kiln::Frame call(scope, api.call_host);
    KILN_LINE(call);
    kiln::ScopedNative native(scope, kiln::ThreadStatus::kNative);
    ready.fetch_add(1);
    host_call_done.WaitForNotification();  // a long host call
  });
  threads.emplace_back([&] {
    kiln::ThreadScope scope(*runtime, "sleeper");
    kiln::Frame idle(scope, api.idle);
    KILN_LINE(idle);
    ready.fetch_add(1);
    (void)idle.Sleep(absl::Seconds(30));  // interrupted below
  });
  // However the tour ends, its threads stop and are joined first.
  auto stop_threads = absl::MakeCleanup([&] {
    stop.store(true);
    host_call_done.Notify();
    runtime->ForEachThread([](kiln::Thread& t) {
      if (t.name() == "sleeper") t.Interrupt();
    });
    kiln::ScopedNative joining(main, kiln::ThreadStatus::kWaiting);
    for (std::thread& t : threads) t.join();
  });
  RETURN_IF_ERROR(runtime->StartDaemonThread("ticker", [](kiln::Thread& self) {
    while (self.Sleep(absl::Milliseconds(5)).ok()) {}
  }));
  while (ready.load() < kWorkers + 2) {
    kiln::ScopedNative waiting(main, kiln::ThreadStatus::kSleeping);
    absl::SleepFor(absl::Milliseconds(1));
  }
  absl::SleepFor(absl::Milliseconds(20));  // let the sleeper fall asleep

  // A string kept by a static field, another root kind.
  ASSIGN_OR_RETURN(kiln::Local<kiln::String> registry, kiln::String::New(frame, "registry"));
  api.registry.Set(registry.get());

  ASSIGN_OR_RETURN(const std::string thread_dump, kiln::ThreadDump(*runtime));
  std::printf("\n%s", thread_dump.c_str());

  HeapCensus census;
  RETURN_IF_ERROR(runtime->RunAtSafepoint("heap census", [&](kiln::StoppedWorld& world) {
                           census.Take(world);
                         }).status());
  std::vector<std::pair<std::string, HeapCensus::Entry>> rows(census.by_class.begin(),
                                                              census.by_class.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.bytes > b.second.bytes; });
  std::printf("Heap census (every object on the heap):\n%10s %12s  %s\n", "objects", "bytes",
              "class");
  size_t objects = 0, bytes = 0;
  for (const auto& [name, entry] : rows) {
    std::printf("%10zu %12zu  %s\n", entry.count, entry.bytes, name.c_str());
    objects += entry.count;
    bytes += entry.bytes;
  }
  std::printf("%10zu %12zu  total\n", objects, bytes);
  std::printf("\nRoots: %d thread objects, %d frame slots, %d globals, %d class mirrors, "
              "%d static fields\n",
              census.roots[kiln::RootKind::kThreadObject], census.roots[kiln::RootKind::kFrameSlot],
              census.roots[kiln::RootKind::kGlobal], census.roots[kiln::RootKind::kClass],
              census.roots[kiln::RootKind::kStaticField]);

  // Drop builder-0's list and collect: its items, their names and their
  // names' bytes are garbage now.
  lists[0].Reset();
  ASSIGN_OR_RETURN(kiln::gc::CollectionStats gc, runtime->CollectGarbage());
  std::printf("\nGarbage collection after dropping builder-0's list: %zu bytes freed, "
              "%zu objects live; mark %s, sweep %s\n",
              gc.freed_bytes, gc.live_objects,
              absl::FormatDuration(gc.mark_time).c_str(),
              absl::FormatDuration(gc.sweep_time).c_str());

  // A live heap dump, read back with Kiln's HPROF reader.
  // Into $TMPDIR (or /tmp) under Native Image's default name: never over
  // an existing file.
  kiln::HeapDumpOptions dump_options;
  const char* tmpdir = std::getenv("TMPDIR");
  dump_options.path = tmpdir != nullptr ? tmpdir : "/tmp";
  dump_options.live = true;
  ASSIGN_OR_RETURN(const std::string path, kiln::VMRuntime::DumpHeap(*runtime, dump_options));
  ASSIGN_OR_RETURN(std::unique_ptr<kiln::HprofSnapshot> heap_dump, kiln::HprofSnapshot::Load(path));
  RETURN_IF_ERROR(heap_dump->CheckReferences());
  std::map<std::string, int> in_dump;
  for (const auto& [id, instance] : heap_dump->instances()) {
    ++in_dump[heap_dump->ClassById(instance.class_id)->name];
  }
  std::printf("\nHeap dump %s (open it in VisualVM): %zu classes, %zu instances, "
              "%zu object arrays, %zu primitive arrays, %zu GC roots; every reference "
              "resolves\n",
              path.c_str(), heap_dump->classes().size(), heap_dump->instances().size(),
              heap_dump->object_arrays().size(), heap_dump->primitive_arrays().size(),
              heap_dump->roots().size());
  for (const auto& [name, count] : in_dump) std::printf("%10d  %s\n", count, name.c_str());

  std::move(stop_threads).Invoke();
  lists.clear();
  api.registry.Set(nullptr);

  const kiln::SafepointStats stats = runtime->safepoint_stats();
  const kiln::gc::HeapStats heap = runtime->heap_stats();
  std::printf("Safepoints: %llu, time-to-safepoint max %s, pause max %s\n",
              static_cast<unsigned long long>(stats.count),
              absl::FormatDuration(stats.max_time_to_safepoint).c_str(),
              absl::FormatDuration(stats.max_pause).c_str());
  std::printf("Heap: %zu bytes committed (limit %zu), %zu free, %zu Tlab refills, "
              "%llu collections\n",
              heap.committed_bytes, heap.limit_bytes, heap.free_bytes, heap.tlab_refills,
              static_cast<unsigned long long>(heap.collections));
  return absl::OkStatus();
}

}  // namespace

int main() {
  absl::Status status = Tour();
  if (!status.ok()) {
    std::fprintf(stderr, "runtime_tour: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
