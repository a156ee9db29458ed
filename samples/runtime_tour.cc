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

// append: one managed frame per call, so thread dumps show nested frames.
absl::StatusOr<kiln::Object*> Append(kiln::Thread& thread, kiln::Object* head, int worker,
                                     int index) {
  kiln::Runtime& runtime = thread.runtime();
  const kiln::Class* item_class = runtime.FindClass("demo.Item");
  kiln::Frame frame(thread, *runtime.FindMethod("demo.Tour", "append",
                                                "(Ldemo/Item;I)Ldemo/Item;"));
  KILN_LINE(frame);
  kiln::Local<kiln::Object> previous = frame.NewLocal(head);
  ASSIGN_OR_RETURN(kiln::Local<kiln::Object> item, kiln::Object::New(frame, item_class));
  ASSIGN_OR_RETURN(kiln::Local<kiln::String> name,
                   kiln::String::New(frame, absl::StrCat("item-", worker, "-", index)));
  item->SetRef(*item_class->FindField("name"), name.get());
  item->SetRef(*item_class->FindField("next"), previous.get());
  item->Set<int32_t>(*item_class->FindField("index"), index);
  item->Set<double>(*item_class->FindField("weight"), index * 0.5);
  return item.get();
}

// Worker: builds a list, publishes it in a Global, then idles in a managed
// loop (polling) until told to stop.
void Worker(kiln::Runtime& runtime, int id, std::atomic<int>& ready,
            std::atomic<bool>& stop, std::vector<kiln::Global<kiln::Object>>& lists) {
  kiln::ThreadScope scope(runtime, absl::StrCat("builder-", id));
  kiln::Frame frame(scope, *runtime.FindMethod("demo.Tour", "build", "(I)Ldemo/Item;"));
  KILN_LINE(frame);
  kiln::Local<kiln::Object> head = frame.NewLocal<kiln::Object>(nullptr);
  for (int i = 0; i < kItemsPerWorker; ++i) {
    absl::StatusOr<kiln::Object*> item = Append(scope, head.get(), id, i);
    if (!item.ok()) {
      std::fprintf(stderr, "builder-%d: %s\n", id, item.status().ToString().c_str());
      break;
    }
    head.Set(*item);
    frame.Poll();
  }
  lists[id] = kiln::Global<kiln::Object>(head);
  head.Set(nullptr);  // from now on the Global alone keeps the list
  ready.fetch_add(1);
  kiln::Frame idle(scope, *runtime.FindMethod("demo.Tour", "idle", "()V"));
  KILN_LINE(idle);
  while (!stop.load(std::memory_order_relaxed)) idle.Poll();
}

class HeapCensus : public kiln::VmOperation {
 public:
  HeapCensus() : VmOperation("heap census") {}
  void Doit(kiln::StoppedWorld& world) override {
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
  std::printf("Kiln runtime tour, pid %d\n", getpid());
  std::printf("Class table: %zu classes (builtins, arrays and demo.*)\n",
              runtime->classes().size());

  kiln::ThreadScope main(*runtime, "main");
  kiln::Frame frame(main, *runtime->FindMethod("demo.Tour", "main", "([Ljava/lang/String;)V"));
  KILN_LINE(frame);

  std::atomic<int> ready{0};
  std::atomic<bool> stop{false};
  std::vector<kiln::Global<kiln::Object>> lists(kWorkers);
  std::vector<std::thread> threads;
  {
    kiln::ScopedNative starting(main, kiln::ThreadStatus::kNative);
    for (int i = 0; i < kWorkers; ++i) {
      threads.emplace_back(Worker, std::ref(*runtime), i, std::ref(ready), std::ref(stop),
                           std::ref(lists));
    }
  }
  kiln::Notification host_call_done;
  threads.emplace_back([&] {
    kiln::ThreadScope scope(*runtime, "host-caller");
    kiln::Frame call(scope, *runtime->FindMethod("demo.Tour", "callHost", "()V"));
    KILN_LINE(call);
    kiln::ScopedNative native(scope, kiln::ThreadStatus::kNative);
    ready.fetch_add(1);
    host_call_done.WaitForNotification();  // a long host call
  });
  threads.emplace_back([&] {
    kiln::ThreadScope scope(*runtime, "sleeper");
    kiln::Frame idle(scope, *runtime->FindMethod("demo.Tour", "idle", "()V"));
    KILN_LINE(idle);
    ready.fetch_add(1);
    (void)idle.Sleep(absl::Seconds(30));  // interrupted below
  });
  // However the tour ends, its threads stop and are joined first.
  auto stop_threads = absl::MakeCleanup([&] {
    stop.store(true);
    host_call_done.Notify();
    runtime->safepoints().ForEachThread([](kiln::Thread& t) {
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
  const kiln::Class* tour = runtime->FindClass("demo.Tour");
  ASSIGN_OR_RETURN(kiln::Local<kiln::String> registry, kiln::String::New(frame, "registry"));
  tour->SetStaticRef(*tour->FindStaticField("registry"), registry.get());

  ASSIGN_OR_RETURN(const std::string thread_dump, kiln::ThreadDump(*runtime));
  std::printf("\n%s", thread_dump.c_str());

  HeapCensus census;
  RETURN_IF_ERROR(runtime->Execute(census));
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
  tour->SetStaticRef(*tour->FindStaticField("registry"), nullptr);

  const kiln::SafepointStats stats = runtime->safepoint_stats();
  const kiln::gc::HeapStats heap = runtime->heap().Stats();
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
