#include "inspection/services/attach_commands.h"

#include <limits.h>
#include <pwd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "gc/internal/heap.h"
#include "inspection/internal/dump_environment.h"
#include "inspection/runtime_info.h"
#include "inspection/thread_dump.h"
#include "inspection/vm_runtime.h"
#include "vm/class.h"
#include "vm/internal/runtime_access.h"

namespace kiln::attach {
namespace {

constexpr const char* kHelp[][2] = {
    {"help", "this list"},
    {"VM.version", "Kiln's version"},
    {"VM.command_line", "the process's command line"},
    {"VM.system_properties", "the process's facts as name=value lines"},
    {"VM.uptime", "seconds since the runtime started"},
    {"VM.info", "runtime info (what SIGUSR2 prints)"},
    {"Thread.print", "every thread's stack (jstack's layout)"},
    {"GC.run", "a full collection"},
    {"GC.heap_info", "the heap's size and occupancy"},
    {"GC.class_histogram [-all]", "objects by class: live (marked, not collected) or all"},
    {"GC.heap_dump [-all] [-gz=N] [-fork] FILENAME|-",
     "a live (or -all: full) HPROF dump written on the target's side, or - streamed to the "
     "client"},
};

std::string Mib(size_t bytes) { return absl::StrFormat("%.1f MiB", bytes / 1048576.0); }

std::string SystemProperties(Runtime& runtime) {
  char cwd[PATH_MAX];
  struct utsname uts;
  const bool have_uts = uname(&uts) == 0;
  const struct passwd* user = getpwuid(geteuid());
  const RuntimeOptions& options = runtime.options();
  std::string out;
  auto add = [&](absl::string_view key, absl::string_view value) {
    absl::StrAppend(&out, key, "=", value, "\n");
  };
  add("kiln.version", kKilnVersion);
  add("kiln.pid", absl::StrCat(getpid()));
  add("kiln.heap.limit_bytes", absl::StrCat(options.heap_limit_bytes));
  add("kiln.heap.initial_bytes", absl::StrCat(options.initial_heap_bytes));
  add("kiln.tlab_bytes", absl::StrCat(options.tlab_size));
  add("kiln.classes", absl::StrCat(runtime.classes().size()));
  add("java.io.tmpdir", SocketDirectory());
  if (have_uts) {
    add("os.name", uts.sysname);
    add("os.version", uts.release);
    add("os.arch", uts.machine);
  }
  add("user.dir", getcwd(cwd, sizeof(cwd)) != nullptr ? cwd : "?");
  add("user.name", user != nullptr ? user->pw_name : absl::StrCat(geteuid()));
  return out;
}

absl::StatusOr<std::string> HeapInfo(Runtime& runtime) {
  gc::HeapStats heap;
  RETURN_IF_ERROR(runtime
                      .RunAtSafepoint("GC.heap_info",
                                      [&](StoppedWorld&) { heap = runtime.heap_stats(); })
                      .status());
  std::string out = absl::StrFormat(
      " Kiln heap   committed %s, limit %s, soft limit %s, free %s\n"
      "  chunks %d, large objects %d, tlab refills %d\n"
      "  collections %d in %s\n",
      Mib(heap.committed_bytes), Mib(heap.limit_bytes), Mib(heap.soft_limit_bytes),
      Mib(heap.free_bytes), heap.chunks, heap.large_objects, heap.tlab_refills, heap.collections,
      absl::FormatDuration(heap.total_collection_time));
  if (heap.collections > 0) {
    absl::StrAppendFormat(&out, "  last: cause %s, %d live objects, %s live, %s freed\n",
                          gc::GcCauseName(heap.last_collection.cause),
                          heap.last_collection.live_objects,
                          Mib(heap.last_collection.live_bytes),
                          Mib(heap.last_collection.freed_bytes));
  }
  return out;
}

absl::StatusOr<std::string> RunGc(Runtime& runtime) {
  ASSIGN_OR_RETURN(gc::CollectionStats stats, runtime.CollectGarbage(gc::GcCause::kExplicit));
  return absl::StrFormat("Collected: %d live objects (%s), %s freed in %s\n",
                         stats.live_objects, Mib(stats.live_bytes), Mib(stats.freed_bytes),
                         absl::FormatDuration(stats.mark_time + stats.sweep_time));
}

absl::StatusOr<std::string> HeapDumpToFile(Runtime& runtime, absl::string_view arguments,
                                           const CommandContext& context) {
  ASSIGN_OR_RETURN(HeapDumpRequest request, ParseHeapDumpArguments(arguments));
  if (request.path == "-") {
    return absl::InvalidArgumentError("GC.heap_dump -: streaming is the listener's");
  }
  HeapDumpOptions options;
  options.path = request.path;
  options.live = request.live;
  options.gzip_level = request.gzip_level;
  options.mode = request.fork ? DumpMode::kFork : DumpMode::kStopTheWorld;
  options.extra_properties = context.extra_properties;
  HeapDumpStats stats;
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(std::string path, VMRuntime::DumpHeap(runtime, options, &stats));
  if (path[0] != '/') {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) != nullptr) {
      path = absl::StrCat(cwd, "/", absl::StripPrefix(path, "./"));
    }
  }
  return absl::StrFormat("Dumping heap to %s ...\nHeap dump file created [%d bytes in %.3f secs]\n",
                         path, stats.bytes, absl::ToDoubleSeconds(absl::Now() - start));
}

struct HistogramRow {
  const Class* cls;
  uint64_t instances = 0;
  uint64_t bytes = 0;
};

}  // namespace

absl::StatusOr<std::string> ClassHistogram(Runtime& runtime, bool live) {
  std::vector<HistogramRow> rows;
  absl::Status marked;
  RETURN_IF_ERROR(
      runtime
          .RunAtSafepoint(live ? "GC.class_histogram (live)" : "GC.class_histogram (all)",
                          [&](StoppedWorld& world) {
                            const ClassTable& classes = runtime.classes();
                            rows.resize(classes.size());
                            for (const Class* cls : classes.classes()) rows[cls->id()].cls = cls;
                            auto count = [&](const gc::ObjectHeader* object) {
                              HistogramRow& row = rows[Class::From(object)->id()];
                              ++row.instances;
                              row.bytes += object->Size();
                            };
                            gc::Heap& heap = internal::HeapOf(runtime);
                            // The marks, as a live dump's: no collection.
                            std::unique_ptr<gc::Heap::SnapshotMarking> marking;
                            if (live) {
                              auto prepared = internal::PrepareLiveMarking(runtime, world);
                              if (!prepared.ok()) {
                                marked = prepared.status();
                                return;
                              }
                              marking = *std::move(prepared);
                              marking->Mark();
                            }
                            heap.MakeParsable();
                            for (const gc::Heap::Range& range : heap.ParsableRanges()) {
                              if (live) {
                                marking->ForEachMarkedObjectIn(range, count);
                              } else {
                                gc::Heap::ForEachObjectIn(range, count);
                              }
                            }
                          })
          .status());
  RETURN_IF_ERROR(marked);
  rows.erase(std::remove_if(rows.begin(), rows.end(),
                            [](const HistogramRow& row) { return row.instances == 0; }),
             rows.end());
  std::sort(rows.begin(), rows.end(), [](const HistogramRow& a, const HistogramRow& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    return a.cls->name() < b.cls->name();
  });
  std::string out =
      " num     #instances         #bytes  class name\n"
      "----------------------------------------------\n";
  uint64_t instances = 0, bytes = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    absl::StrAppendFormat(&out, "%4d: %14d %14d  %s\n", i + 1, rows[i].instances, rows[i].bytes,
                          rows[i].cls->name());
    instances += rows[i].instances;
    bytes += rows[i].bytes;
  }
  absl::StrAppendFormat(&out, "Total %14d %14d\n", instances, bytes);
  return out;
}

absl::StatusOr<std::string> RunCommand(Runtime& runtime, const Request& request,
                                       const CommandContext& context) {
  const std::string& command = request.command;
  const bool no_arguments = request.arguments.empty();
  auto none = [&]() -> absl::Status {
    if (no_arguments) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(command, " takes no arguments, got \"", request.arguments, "\""));
  };
  if (command == "help") {
    RETURN_IF_ERROR(none());
    std::string out = "The following commands are available:\n";
    for (const auto& [name, what] : kHelp) absl::StrAppendFormat(&out, "%-48s %s\n", name, what);
    return out;
  }
  if (command == "VM.version") {
    RETURN_IF_ERROR(none());
    return absl::StrCat("Kiln ", kKilnVersion, " (attach protocol ", kVersion,
                        ", HPROF 1.0.2 heap dumps)\n");
  }
  if (command == "VM.command_line") {
    RETURN_IF_ERROR(none());
    return absl::StrCat("command_line: ", CommandLine(getpid()), "\n");
  }
  if (command == "VM.system_properties") {
    RETURN_IF_ERROR(none());
    return SystemProperties(runtime);
  }
  if (command == "VM.uptime") {
    RETURN_IF_ERROR(none());
    return absl::StrFormat("%.3f s\n", absl::ToDoubleSeconds(absl::Now() - runtime.start_time()));
  }
  if (command == "VM.info") {
    RETURN_IF_ERROR(none());
    return RuntimeInfo(runtime);
  }
  if (command == "Thread.print") {
    RETURN_IF_ERROR(none());
    return ThreadDump(runtime);
  }
  if (command == "GC.run") {
    RETURN_IF_ERROR(none());
    return RunGc(runtime);
  }
  if (command == "GC.heap_info") {
    RETURN_IF_ERROR(none());
    return HeapInfo(runtime);
  }
  if (command == "GC.class_histogram") {
    ASSIGN_OR_RETURN(bool live, ParseHistogramArguments(request.arguments));
    return ClassHistogram(runtime, live);
  }
  if (command == "GC.heap_dump") return HeapDumpToFile(runtime, request.arguments, context);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown command \"", command, "\" (help lists the commands)"));
}

}  // namespace kiln::attach
