// VMRuntime: the heap-dump API, after Native Image's
// org.graalvm.nativeimage.VMRuntime#dumpHeap(String, boolean).
//
//   absl::Status status = kiln::VMRuntime::DumpHeap(*runtime, "/tmp/app.hprof",
//                                                   /*live=*/true);
//
// One VM operation: stop the world, make the heap parsable, (live) mark what
// the roots reach, walk, write, resume. A live dump does not collect. A file
// is written through a PipelinedSink: a thread does the write(2)s while the
// walk goes on.
//
// Fork mode (HeapDumpOptions::mode = DumpMode::kFork) stops the world only to
// record the roots, write the few records before the objects and fork: a
// child process marks (live) and walks its frozen copy-on-write view of the
// heap and produces the same dump while the world runs on; the caller's
// thread, waiting for the dump, copies the child's bytes into the file
// (inspection/internal/fork_dump.h). It needs a file (not DumpHeapTo's arbitrary
// sink); gzip works in both modes.
//
// Files are created new with mode 0600, never over an existing file and never
// through a symlink, and written under a temporary name in the same directory
// that is renamed into place only when the dump is complete, so a failed dump
// leaves nothing under the final name. Every failure is a Status naming the
// step; the runtime runs on and the next dump works. On success one line goes
// to stderr: "Heap dump file created [N bytes in S secs]".
#ifndef KILN_INSPECTION_VM_RUNTIME_H_
#define KILN_INSPECTION_VM_RUNTIME_H_

#include <sys/types.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/must_use.h"
#include "inspection/hprof/byte_sink.h"
#include "vm/runtime.h"

namespace kiln {

// What asked for a dump; the dump's kiln.dump.trigger property.
enum class DumpTrigger {
  kApi,          // VMRuntime::DumpHeap / DumpHeapTo
  kSignal,       // an inspection signal (SIGUSR1)
  kOutOfMemory,  // -XX:+HeapDumpOnOutOfMemoryError
};
const char* DumpTriggerName(DumpTrigger trigger);  // "api", "signal", "out_of_memory"

using DumpProperties = std::vector<std::pair<std::string, std::string>>;

// HeapDumpStats: what one dump wrote, and how long it stopped the world.
struct HeapDumpStats {
  uint64_t objects = 0;  // instance and array records
  uint64_t classes = 0;
  uint64_t roots = 0;
  uint64_t bytes = 0;
  // The stop-the-world pause the dump took (VMRuntime fills it in), and its
  // parts: reaching the safepoint, the prologue (roots, classes, walk
  // preparation) and, in fork mode, the fork() itself.
  absl::Duration pause;
  absl::Duration time_to_safepoint;
  absl::Duration prologue;
  absl::Duration fork;
  // The pause's steps, for finding what grows with the heap
  // (benchmarks/heap_shape prints them). The prologue's: a live dump's
  // roots, MakeParsable, the environment's properties, the records before
  // the objects, the walk's ranges and plans. Fork mode's: pausing the
  // background zeroer, mapping the ring and the report pipe, the fork()
  // system call alone (and, `fork_call_cpu`, the forking thread's CPU time
  // in it: the rest is waiting for a core). `resume`: the rest of the pause
  // (the VM thread restarting the world).
  struct Steps {
    absl::Duration live_roots, make_parsable, properties, records, walk_plans;
    absl::Duration zeroer, fork_setup, fork_call, resume, fork_call_cpu;
  } steps;
};

enum class DumpMode {
  kStopTheWorld,  // the VM thread writes the whole dump at the safepoint
  kFork,          // a forked child walks the heap; the safepoint lasts until the fork
};

struct HeapDumpOptions {
  // path: a file, or a directory that gets the default name
  // (DefaultDumpName); empty means the working directory. An existing file is
  // never overwritten: ".1", ".2", ... is appended instead.
  std::string path;
  // Only objects reachable from the roots (marked, not collected), or every
  // object on the heap.
  bool live = true;
  // Collect before walking, in the same VM operation (the JDK's live dumps
  // always do; Kiln's need not).
  bool collect_first = false;
  // 1..9: compress in HotSpot's block-gzip format (1 MiB blocks, each an
  // independent gzip member) on worker threads (ParallelGzipSink, ISA-L);
  // 0: plain. Stop-the-world: the blocks compress while the walk goes on,
  // and the walk waits for a free block whenever the compressors are behind
  // (they are, by far), so a compressed stop-the-world dump's pause is
  // practically the whole dump: all but the last few blocks' compression.
  // Fork mode: the child writes plain bytes and this process compresses
  // them, after the pause.
  int gzip_level = 0;
  DumpMode mode = DumpMode::kStopTheWorld;
  // What asked for the dump, written into it (kiln.dump.trigger,
  // dump_environment.h). HeapDumpOnOutOfMemory and the inspection signals
  // set theirs.
  DumpTrigger trigger = DumpTrigger::kApi;
  // extra_properties: added to the dump's System.props after the gathered
  // ones, replacing any of the same name (an embedder's build id, say; a
  // test pins the memory figures that change from one dump to the next).
  DumpProperties extra_properties;

  // Testing, fork mode only: the child stops itself (SIGSTOP) after writing
  // this many object records (0: never), and on_fork_child runs in the
  // parent with the child's pid, outside the safepoint, before the parent
  // waits for the child.
  uint64_t fork_child_stop_after_objects = 0;
  std::function<void(pid_t child)> on_fork_child;
  // Testing, fork mode only: the child calls this, if set, after its report
  // and just before _exit (fork_dump_allocation_trap_test plants an
  // allocation there; the parent must see the child's exit status).
  void (*fork_child_hook)() = nullptr;

  // Testing, compressed dumps: the compressor of this block (1-based) fails
  // (0: none).
  uint64_t gzip_fail_block = 0;
};

class VMRuntime {
 public:
  // DumpHeap writes `runtime`'s heap to `path`, which must not exist: the
  // objects reachable from the roots if `live`, every object on the heap
  // otherwise. The calling thread may be attached (it waits in native state)
  // or not.
  KILN_MUST_USE static absl::Status DumpHeap(Runtime& runtime, const std::string& path, bool live,
                                             HeapDumpStats* stats = nullptr);

  // DumpHeap with options: resolves the path as HeapDumpOptions::path says
  // and returns the file written.
  KILN_MUST_USE static absl::StatusOr<std::string> DumpHeap(Runtime& runtime,
                                                            const HeapDumpOptions& options,
                                                            HeapDumpStats* stats = nullptr);

  // DumpHeapTo streams the dump into `sink` (a pipe, a socket, memory): no
  // file handling, the same bytes. options.path is ignored. Stop-the-world
  // only: fork mode is InvalidArgument here.
  KILN_MUST_USE static absl::Status DumpHeapTo(Runtime& runtime, ByteSink& sink,
                                               const HeapDumpOptions& options,
                                               HeapDumpStats* stats = nullptr);

  // DumpHeapToFd streams the dump to `fd` (a pipe, a socket), which it does
  // not own, in either mode: the bytes DumpHeap writes to a file. Errors name
  // `what`. The caller must not get SIGPIPE from a closed reader: the
  // write(2)s run on the calling thread or on threads it starts, with one
  // exception: in fork mode, what of the prologue overflows HprofWriter's
  // buffer is written by the VM thread at the safepoint, before the fork
  // (HeapDumpOptions::on_fork_child says when that is over).
  KILN_MUST_USE static absl::Status DumpHeapToFd(Runtime& runtime, int fd, const std::string& what,
                                   const HeapDumpOptions& options,
                                   HeapDumpStats* stats = nullptr);

  // DefaultDumpName: svm-heapdump-<pid>-<yyyyMMdd'T'HHmmss'Z'>.hprof, or
  // svm-heapdump-<pid>-OOME.hprof for out-of-memory dumps (Native Image's
  // names), with ".gz" when compressed.
  static std::string DefaultDumpName(bool out_of_memory, absl::Time now, bool gzip = false);

  // HeapDumpOnOutOfMemory: a RuntimeOptions::on_out_of_memory hook that
  // dumps the heap once, without collecting, before the first allocation that
  // fails for lack of memory (HotSpot's -XX:+HeapDumpOnOutOfMemoryError).
  // The allocation still fails afterwards.
  static std::function<void(Runtime&, size_t)> HeapDumpOnOutOfMemory(HeapDumpOptions options);
};

}  // namespace kiln

#endif  // KILN_INSPECTION_VM_RUNTIME_H_
