// Runtime info: what SIGUSR2 prints (Native Image prints runtime compilation
// info there; Kiln, compiled ahead of time, prints what it has instead):
//
//   Kiln runtime info (pid 1234)
//
//   Classes: 31 (ahead-of-time class table)
//     java.lang.Object  size=16
//       method <init>()V
//     SVMHeapDump extends java.lang.Thread  size=72  source=svm_heap_dump.cc
//       field int counter
//       static java.lang.String greeting
//       method run()V
//     ...
//
//   Heap: committed=16.0 MiB limit=512.0 MiB soft_limit=16.0 MiB free=... chunks=...
//   Collections: 3 in 4.1 ms; last: cause=explicit live_objects=... ...
//   Safepoints: 12, time to safepoint total=... max=..., pauses total=... max=...
//   Threads: 3 attached
//
// Every line is "key: value" shaped or an indented listing, for people first
// and grep second.
#ifndef KILN_INSPECTION_RUNTIME_INFO_H_
#define KILN_INSPECTION_RUNTIME_INFO_H_

#include <string>

#include "absl/status/statusor.h"
#include "base/must_use.h"
#include "vm/runtime.h"
#include "vm/safepoint.h"

namespace kiln {

// FormatRuntimeInfo formats the runtime of a stopped world.
std::string FormatRuntimeInfo(const StoppedWorld& world);

// RuntimeInfo stops the world of `runtime` and returns its runtime info.
KILN_MUST_USE absl::StatusOr<std::string> RuntimeInfo(Runtime& runtime);

}  // namespace kiln

#endif  // KILN_INSPECTION_RUNTIME_INFO_H_
