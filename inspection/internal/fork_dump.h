// Fork-mode heap dumps: the world stops only long enough to fork.
//
// Android's Perfetto dumps ART heaps this way; the JDK has nothing like it.
// At the safepoint the VM thread records a live dump's roots, makes the heap
// parsable, writes the dump's prologue into the writer's buffer and prepares
// the object walk (HeapDumper::WritePrologue), then forks. The child sees the
// heap frozen, copy-on-write, exactly as the stop-the-world dump would have
// seen it, marks it (live dumps: in its own copy of the mark bitmaps, see
// gc::Heap::SnapshotMarking) and produces the same bytes: it continues the very
// writer (its buffer, its open segment) and file offset the parent set up.
// The parent resumes the world at once and waits for the child outside the
// safepoint; its mark bits are untouched.
//
// The child does not call write(2) on the file: it hands the bytes to the
// parent's waiting thread (the caller of the dump, blocked on it anyway)
// through two 2 MiB buffers in shared memory (mapped before the fork, futex
// words for hand-over), so that the walk and the copy into the page cache
// (each about half of a dump's time) run on two cores without a thread in the
// child and without a third process (whose fork would copy the heap's page
// tables again). The child's FdSink redirects into that ring
// (FdSink::set_redirect); a failed write of the parent's is reported with its
// errno and offset, and the child sees it at its next write and writes no
// more. If the ring cannot be mapped, the child writes the file itself.
//
// The child is a copy of one thread of a multi-threaded process: any lock
// another thread held at the fork stays held forever, and mimalloc's state
// may be mid-update. So the child takes no lock and calls no allocator:
// HeapObjectWriter walks ranges computed beforehand, the writer's buffer and
// the gzip stream exist already (GzipSink resets one zlib stream per block),
// FdSink reports errors without building a message, and the child leaves with
// _exit (no atexit handlers, no destructors, no stdio flush). It drops the
// process's signal handlers (they would talk to the parent's dispatcher
// through shared pipes), asks to be killed if the parent dies, and reports
// through a pipe a fixed-size record: status code, errno and offset of a failed
// write, counts and bytes. The parent turns that, or the child's death by a
// signal, into a Status; the caller removes the temporary file. FORK_MODE.md
// beside this file lists every call the child makes and why each is safe.
#ifndef KILN_INSPECTION_INTERNAL_FORK_DUMP_H_
#define KILN_INSPECTION_INTERNAL_FORK_DUMP_H_

#include <sys/types.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/must_use.h"
#include "inspection/hprof/byte_sink.h"
#include "inspection/hprof/gzip_sink.h"
#include "inspection/internal/heap_dumper.h"

namespace kiln {

struct ForkDumpChild {
  pid_t pid = -1;
  int report_fd = -1;     // the read end of the child's report pipe
  int start_fd = -1;      // the parent's end of its start socket, until released
  void* ring = nullptr;   // the shared ring (fork_dump.cc), or nullptr
  absl::Duration fork_call;  // the fork() system call alone, in the parent
  absl::Duration fork_call_cpu;  // of it, the forking thread's CPU time
};

// StartForkDumpChild forks a child that finishes `dumper`'s dump
// (WriteObjects, then `gzip`'s Finish if there is one) into `file` and exits;
// it never returns in the child. Call at the safepoint, after
// dumper.WritePrologue. The parent gets the child to pass to
// WaitForForkDumpChild. With `require_ring`, fails (before forking) if the
// shared ring cannot be mapped: a parent that compresses the child's bytes
// (WaitForForkDumpChild's `through`) needs them to come through it.
// The child waits, before any work, until ReleaseForkDumpChild.
// Testing: the child calls `child_hook`, if given, after its report and just
// before _exit.
KILN_MUST_USE absl::StatusOr<ForkDumpChild> StartForkDumpChild(
    HeapDumper& dumper, GzipSink* gzip, FdSink& file, bool require_ring = false,
    void (*child_hook)() = nullptr);

// ReleaseForkDumpChild lets the child start its walk (it sends the byte
// the child waits for on the start socket, and closes it); idempotent. Call it once
// the world has resumed: a child that started at once could take the
// forking thread's core (the scheduler places a new task on the idlest
// core, which on a busy machine is the parent's, and may run it first)
// and hold the world stopped for its time slice, 3 to 4 ms.
// WaitForForkDumpChild releases a child not yet released.
void ReleaseForkDumpChild(ForkDumpChild& child);

// WaitForForkDumpChild writes what `child` produces to `file` (or hands it
// to `through` if given: a ParallelGzipSink writing `file`, so that a
// compressed dump compresses in the parent, outside the pause, on every
// core) and waits for it (call it exactly once, outside the safepoint, in
// native state if attached). Returns the result: OK with `stats` filled in
// (objects, classes, roots, bytes), a failed write naming the file and
// offset (or `through`'s error), the child's error, an error naming the
// signal that killed it, or one naming its exit status if that does not
// match its report (a child that reported and then failed on its way out).
KILN_MUST_USE absl::Status WaitForForkDumpChild(ForkDumpChild& child, FdSink& file,
                                                HeapDumpStats* stats,
                                                ByteSink* through = nullptr);

}  // namespace kiln

#endif  // KILN_INSPECTION_INTERNAL_FORK_DUMP_H_
