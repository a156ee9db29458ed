#include "inspection/vm_runtime.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/new_file.h"
#include "base/status_macros.h"
#include "absl/time/time.h"
#include "inspection/hprof/byte_sink.h"
#include "inspection/internal/fork_dump.h"
#include "inspection/hprof/parallel_gzip_sink.h"
#include "inspection/hprof/hprof_writer.h"
#include "vm/internal/runtime_access.h"

namespace kiln {
namespace {

// DumpOperation: the dump's safepoint. Stop-the-world: the whole dump.
// Fork mode: the prologue and the fork; the parent waits for the child after
// the world resumed.
class DumpOperation : public VmOperation {
 public:
  // `process`: GatherProcessProperties's, gathered before the world stops.
  DumpOperation(const HeapDumpOptions& options, HprofWriter& writer, FdSink* file,
                DumpProperties process)
      : VmOperation(options.live ? "heap dump (live)" : "heap dump (full)"),
        options_(options),
        writer_(writer),
        file_(file),
        process_(std::move(process)) {}
  void Doit(StoppedWorld& world) override {
    const absl::Time doit = absl::Now();
    if (options_.collect_first) internal::RunCollection(world.runtime(), world, gc::GcCause::kExplicit);
    // The background zeroer stops for the rest of the pause, as for a
    // collection (gc/COLLECTOR.md): it would take the other core (the stw
    // dump's writer thread's) and, in fork mode, write to the heap while
    // fork() copies its page tables.
    gc::Heap& heap = internal::HeapOf(world.runtime());
    const absl::Time pausing = absl::Now();
    heap.PauseBackgroundZeroer();
    const absl::Duration paused = absl::Now() - pausing;
    Run(world);
    const absl::Time resuming = absl::Now();
    heap.ResumeBackgroundZeroer();
    steps.zeroer = paused + (absl::Now() - resuming);
    doit_time = absl::Now() - doit;
  }

  absl::Status status;
  HeapDumpStats stats;
  HeapDumpStats::Steps steps;  // the prologue's, fork mode's, the zeroer's
  ForkDumpChild child;  // fork mode: pid -1 unless a child was started
  absl::Duration prologue;
  absl::Duration fork;
  absl::Duration doit_time;  // all of Doit

 private:
  void Run(StoppedWorld& world) {
    HeapDumper dumper(world, options_.live, writer_);
    dumper.set_environment(options_.trigger, options_.extra_properties);
    dumper.set_process_properties(std::move(process_));
    if (options_.mode == DumpMode::kFork) {
      dumper.set_stop_after_objects(options_.fork_child_stop_after_objects);
    }
    const absl::Time start = absl::Now();
    status = dumper.WritePrologue();
    prologue = absl::Now() - start;
    steps = dumper.stats().steps;
    if (!status.ok()) return;  // nothing written: the caller drops the file
    if (options_.mode == DumpMode::kStopTheWorld || !writer_.ok()) {
      status = dumper.WriteObjects();
      stats = dumper.stats();
      return;
    }
    // A compressed dump's child writes plain bytes; the parent compresses.
    absl::StatusOr<ForkDumpChild> forked =
        StartForkDumpChild(dumper, /*gzip=*/nullptr, *file_, options_.gzip_level > 0,
                           options_.fork_child_hook);
    fork = absl::Now() - start - prologue;
    if (forked.ok()) {
      child = *forked;
      steps.fork_call = child.fork_call;
      steps.fork_call_cpu = child.fork_call_cpu;
      steps.fork_setup = fork - child.fork_call;
    } else {
      status = forked.status();
    }
  }

  const HeapDumpOptions& options_;
  HprofWriter& writer_;
  FdSink* const file_;
  DumpProperties process_;
};

// RunDump: DumpHeapTo, with the file's FdSink for fork mode (nullptr: a sink
// of the caller's, stop-the-world only).
absl::Status RunDump(Runtime& runtime, ByteSink& sink, FdSink* file,
                     const HeapDumpOptions& options, HeapDumpStats* stats) {
  if (options.gzip_level < 0 || options.gzip_level > 9) {
    return absl::InvalidArgumentError(
        absl::StrCat("heap dump: gzip level ", options.gzip_level, " is not 0..9"));
  }
  const bool fork = options.mode == DumpMode::kFork;
  if (fork && file == nullptr) {
    return absl::InvalidArgumentError(
        "heap dump: fork mode writes files (VMRuntime::DumpHeap), not a caller's sink");
  }
  // The buffers and the compressor's threads are set up here, before the
  // world stops. Fork mode compresses in this process: the prologue (written
  // here) goes to the compressor through `file`'s redirect, the child's bytes
  // come through the ring (the child redirects its copy of `file` there),
  // and the members go to the file through a second FdSink on its
  // descriptor.
  std::unique_ptr<ParallelGzipSink> gzip;
  std::unique_ptr<FdSink> gzip_out;
  if (options.gzip_level > 0) {
    ParallelGzipSink::Options gz;
    gz.level = options.gzip_level;
    gz.fail_block = options.gzip_fail_block;
    if (fork) {
      gzip_out = std::make_unique<FdSink>(file->fd(), file->what());
      if (file->preallocating()) gzip_out->set_preallocate();
    }
    ASSIGN_OR_RETURN(gzip, ParallelGzipSink::Create(
                               fork ? static_cast<ByteSink*>(gzip_out.get()) : &sink, gz));
    if (fork) file->set_redirect(gzip.get());
  }
  HprofWriter writer(gzip != nullptr && !fork ? static_cast<ByteSink*>(gzip.get()) : &sink);
  DumpOperation op(options, writer, file,
                   GatherProcessProperties(runtime, options.trigger, options.live));
  absl::Status status = internal::Execute(runtime, op);
  if (fork) file->set_redirect(nullptr);
  if (status.ok()) status = op.status;
  if (op.child.pid > 0) {
    // The world runs again: the child may start (and take a core).
    ReleaseForkDumpChild(op.child);
    if (options.on_fork_child) options.on_fork_child(op.child.pid);
    // An attached caller waits in native state: the world runs meanwhile and
    // may need to stop again.
    Thread* self = Thread::CurrentFor(&runtime);
    if (self != nullptr && self->IsManaged()) {
      ScopedNative waiting(*self, ThreadStatus::kWaiting);
      status = WaitForForkDumpChild(op.child, *file, &op.stats, gzip.get());
    } else {
      status = WaitForForkDumpChild(op.child, *file, &op.stats, gzip.get());
    }
  }
  if (gzip != nullptr) {
    // Always: it waits for its workers, which may be writing the file.
    absl::Status finished = gzip->Finish();
    if (status.ok()) status = std::move(finished);
  }
  if (stats != nullptr) {
    *stats = op.stats;
    if (!fork) stats->bytes = sink.bytes_written();
    if (gzip_out != nullptr) stats->bytes = gzip_out->bytes_written();
    stats->pause = op.timing().pause;
    stats->time_to_safepoint = op.timing().time_to_safepoint;
    stats->prologue = op.prologue;
    stats->fork = op.fork;
    stats->steps = op.steps;
    stats->steps.resume = op.timing().pause - op.timing().time_to_safepoint - op.doit_time;
  }
  return status;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// WriteToFd writes the dump to `fd` (a file or a pipe), in either mode.
// `new_file`: `fd` is a new file of the dump's own (FdSink::set_preallocate).
absl::Status WriteToFd(Runtime& runtime, int fd, const std::string& what, bool new_file,
                       const HeapDumpOptions& options, HeapDumpStats* stats) {
  FdSink file(fd, what);
  if (new_file) file.set_preallocate();
  if (options.mode == DumpMode::kFork) return RunDump(runtime, file, &file, options, stats);
  // The walk on this thread, the write(2)s on another: each is about half
  // of a dump's time.
  PipelinedSink pipelined(&file);
  absl::Status status = RunDump(runtime, pipelined, &file, options, stats);
  absl::Status closed = pipelined.Close();
  return status.ok() ? closed : status;
}

// WriteDumpFile writes the dump to a new file that gets its name, `path`,
// only when complete, never replacing an existing file (base/new_file.h).
absl::Status WriteDumpFile(Runtime& runtime, const std::string& path,
                           const HeapDumpOptions& options, HeapDumpStats* stats) {
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(std::unique_ptr<NewFile> file, NewFile::Create(path, "heap dump"));
  HeapDumpStats written;
  RETURN_IF_ERROR(WriteToFd(runtime, file->fd(), file->writing_name(), /*new_file=*/true,
                            options, &written));
  RETURN_IF_ERROR(TrimPreallocated(file->fd(), file->writing_name()));
  RETURN_IF_ERROR(file->Commit());
  if (stats != nullptr) *stats = written;
  std::fprintf(stderr, "Heap dump file created [%llu bytes in %.3f secs]\n",
               static_cast<unsigned long long>(written.bytes),
               absl::ToDoubleSeconds(absl::Now() - start));
  return absl::OkStatus();
}

// ResolvePath: the file a dump with `options` goes to: the configured file,
// or the default name in the configured (or working) directory, with ".1",
// ".2", ... appended while the name is taken.
std::string ResolvePath(const HeapDumpOptions& options, bool out_of_memory, int attempt) {
  std::string path = options.path.empty() ? "." : options.path;
  if (IsDirectory(path)) {
    path = absl::StrCat(path, "/",
                        VMRuntime::DefaultDumpName(out_of_memory, absl::Now(),
                                                   options.gzip_level > 0));
  }
  if (attempt > 0) absl::StrAppend(&path, ".", attempt);
  return path;
}

absl::StatusOr<std::string> DumpWithOptions(Runtime& runtime, const HeapDumpOptions& options,
                                            bool out_of_memory, HeapDumpStats* stats) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const std::string path = ResolvePath(options, out_of_memory, attempt);
    if (Exists(path)) continue;
    absl::Status status = WriteDumpFile(runtime, path, options, stats);
    if (absl::IsAlreadyExists(status)) continue;  // taken meanwhile: next suffix
    if (!status.ok()) return status;
    return path;
  }
  return absl::AlreadyExistsError(
      absl::StrCat("heap dump: no free name for ", ResolvePath(options, out_of_memory, 0)));
}

}  // namespace

absl::Status VMRuntime::DumpHeapTo(Runtime& runtime, ByteSink& sink,
                                   const HeapDumpOptions& options, HeapDumpStats* stats) {
  return RunDump(runtime, sink, nullptr, options, stats);
}

absl::Status VMRuntime::DumpHeapToFd(Runtime& runtime, int fd, const std::string& what,
                                     const HeapDumpOptions& options, HeapDumpStats* stats) {
  return WriteToFd(runtime, fd, what, /*new_file=*/false, options, stats);
}

absl::Status VMRuntime::DumpHeap(Runtime& runtime, const std::string& path, bool live,
                                 HeapDumpStats* stats) {
  HeapDumpOptions options;
  options.live = live;
  return WriteDumpFile(runtime, path, options, stats);
}

absl::StatusOr<std::string> VMRuntime::DumpHeap(Runtime& runtime, const HeapDumpOptions& options,
                                                HeapDumpStats* stats) {
  return DumpWithOptions(runtime, options, /*out_of_memory=*/false, stats);
}

std::string VMRuntime::DefaultDumpName(bool out_of_memory, absl::Time now, bool gzip) {
  const std::string when =
      out_of_memory ? "OOME" : absl::FormatTime("%Y%m%dT%H%M%SZ", now, absl::UTCTimeZone());
  return absl::StrCat("svm-heapdump-", getpid(), "-", when, ".hprof", gzip ? ".gz" : "");
}

std::function<void(Runtime&, size_t)> VMRuntime::HeapDumpOnOutOfMemory(HeapDumpOptions options) {
  options.collect_first = false;
  options.trigger = DumpTrigger::kOutOfMemory;
  auto dumped = std::make_shared<std::atomic<bool>>(false);
  return [options, dumped](Runtime& runtime, size_t request) {
    if (dumped->exchange(true)) return;  // once per runtime
    std::fprintf(stderr, "java.lang.OutOfMemoryError: allocating %zu bytes\nDumping heap ...\n",
                 request);
    absl::StatusOr<std::string> path =
        DumpWithOptions(runtime, options, /*out_of_memory=*/true, nullptr);
    if (!path.ok()) {
      std::fprintf(stderr, "Heap dump on out of memory failed: %s\n",
                   path.status().ToString().c_str());
    }
  };
}

}  // namespace kiln
