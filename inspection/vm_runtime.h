// VMRuntime: the heap-dump API, after Native Image's
// org.graalvm.nativeimage.VMRuntime#dumpHeap(String, boolean).
//
//   absl::Status status = kiln::VMRuntime::DumpHeap(*runtime, "/tmp/app.hprof",
//                                                   /*live=*/true);
//
// One VM operation: stop the world, make the heap parsable, (live) mark what
// the roots reach, walk, write, resume. A live dump does not collect.
//
// Files are created new with mode 0600, never over an existing file and never
// through a symlink, and written under a temporary name in the same directory
// that is renamed into place only when the dump is complete, so a failed dump
// leaves nothing under the final name. Every failure is a Status naming the
// step; the runtime runs on and the next dump works. On success one line goes
// to stderr: "Heap dump file created [N bytes in S secs]".
#ifndef KILN_INSPECTION_VM_RUNTIME_H_
#define KILN_INSPECTION_VM_RUNTIME_H_

#include <string>

#include "absl/status/status.h"
#include "inspection/heap_dumper.h"
#include "vm/runtime.h"

namespace kiln {

class VMRuntime {
 public:
  // DumpHeap writes `runtime`'s heap to `path`: the objects reachable from
  // the roots if `live`, every object on the heap otherwise. The calling
  // thread may be attached (it waits in native state) or not.
  static absl::Status DumpHeap(Runtime& runtime, const std::string& path, bool live,
                               HeapDumpStats* stats = nullptr);
};

}  // namespace kiln

#endif  // KILN_INSPECTION_VM_RUNTIME_H_
