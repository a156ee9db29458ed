#include "inspection/runtime_info.h"

#include <unistd.h>

#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "vm/class.h"
#include "vm/thread.h"

namespace kiln {
namespace {

std::string Mib(size_t bytes) { return absl::StrFormat("%.1f MiB", bytes / 1048576.0); }

void AppendClass(const Class& cls, std::string& out) {
  absl::StrAppend(&out, "  ", cls.name());
  if (cls.super() != nullptr) absl::StrAppend(&out, " extends ", cls.super()->name());
  if (!cls.IsArray()) absl::StrAppend(&out, "  size=", cls.instance_size);
  if (!cls.source_file().empty()) absl::StrAppend(&out, "  source=", cls.source_file());
  if (cls.has_finalizer()) absl::StrAppend(&out, "  finalizer");
  out += "\n";
  for (const Field& field : cls.fields()) {
    absl::StrAppend(&out, "    field ", FieldTypeName(field.type()), " ", field.name(), "\n");
  }
  for (const Field& field : cls.static_fields()) {
    absl::StrAppend(&out, "    static ", FieldTypeName(field.type()), " ", field.name(), "\n");
  }
  for (const Method& method : cls.methods()) {
    absl::StrAppend(&out, "    method ", method.name(), method.signature(), "\n");
  }
}

}  // namespace

std::string FormatRuntimeInfo(const StoppedWorld& world) {
  Runtime& runtime = world.runtime();
  std::string out = absl::StrFormat("Kiln runtime info (pid %d)\n\n", getpid());

  absl::Span<const Class* const> classes = runtime.classes().classes();
  size_t methods = 0;
  for (const Class* cls : classes) methods += cls->methods().size();
  absl::StrAppendFormat(&out, "Classes: %d, methods: %d (ahead-of-time class table)\n",
                        classes.size(), methods);
  for (const Class* cls : classes) AppendClass(*cls, out);

  const gc::HeapStats heap = runtime.heap_stats();
  absl::StrAppendFormat(&out,
                        "\nHeap: committed=%s limit=%s soft_limit=%s free=%s chunks=%d "
                        "large_objects=%d tlab_refills=%d\n",
                        Mib(heap.committed_bytes), Mib(heap.limit_bytes),
                        Mib(heap.soft_limit_bytes), Mib(heap.free_bytes), heap.chunks,
                        heap.large_objects, heap.tlab_refills);
  absl::StrAppendFormat(&out, "Heap pages: reserved=%s huge_pages=%s in_huge_pages=%s\n",
                        Mib(heap.reserved_bytes), heap.huge_pages ? "on" : "off",
                        Mib(heap.huge_page_bytes));
  absl::StrAppendFormat(&out, "Collections: %d in %s", heap.collections,
                        absl::FormatDuration(heap.total_collection_time));
  if (heap.collections > 0) {
    const gc::CollectionStats& last = heap.last_collection;
    absl::StrAppendFormat(&out,
                          "; last: cause=%s live_objects=%d live=%s freed=%s mark=%s sweep=%s",
                          gc::GcCauseName(last.cause), last.live_objects, Mib(last.live_bytes),
                          Mib(last.freed_bytes), absl::FormatDuration(last.mark_time),
                          absl::FormatDuration(last.sweep_time));
  }
  out += "\n";

  const SafepointStats safepoints = runtime.safepoint_stats();
  absl::StrAppendFormat(&out,
                        "Safepoints: %d; time to safepoint total=%s max=%s; pauses total=%s "
                        "max=%s; this one reached in %s\n",
                        safepoints.count, absl::FormatDuration(safepoints.total_time_to_safepoint),
                        absl::FormatDuration(safepoints.max_time_to_safepoint),
                        absl::FormatDuration(safepoints.total_pause),
                        absl::FormatDuration(safepoints.max_pause),
                        absl::FormatDuration(world.time_to_safepoint()));
  size_t daemons = 0;
  for (const Thread* thread : world.threads()) daemons += thread->daemon() ? 1 : 0;
  absl::StrAppendFormat(&out, "Threads: %d attached, %d daemon\n", world.threads().size(),
                        daemons);
  return out;
}

absl::StatusOr<std::string> RuntimeInfo(Runtime& runtime) {
  std::string text;
  RETURN_IF_ERROR(runtime
                      .RunAtSafepoint("runtime info",
                                      [&](StoppedWorld& world) { text = FormatRuntimeInfo(world); })
                      .status());
  return text;
}

}  // namespace kiln
