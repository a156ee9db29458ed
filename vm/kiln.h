// The Kiln embedding API: include this one header.
//
//   #include "vm/kiln.h"
//
//   ASSIGN_OR_RETURN(std::unique_ptr<kiln::Runtime> runtime,
//                    kiln::Runtime::Create(kiln::RuntimeOptions{}));
//   ASSIGN_OR_RETURN(kiln::ThreadScope main, kiln::ThreadScope::Attach(*runtime, "main"));
//   kiln::Frame frame(main);  // the built-in host method's frame
//   ASSIGN_OR_RETURN(kiln::Local<kiln::String> s, kiln::String::New(frame, "hi"));
//
// A program's own classes, fields and methods are resolved once with
// kiln::Resolver (vm/resolver.h) and used through FieldRef<T> and Method
// pointers; ARCHITECTURE.md at the repository's root is the map.
//
// The public line. What an embedder may use is this header and what it
// includes, plus a short list of inspection headers: inspection/vm_runtime.h
// (heap dumps), inspection/thread_dump.h, inspection/services/
// {inspection_signals,monitoring_flags,attach_listener,monitoring_services}.h
// and inspection/hprof/hprof_snapshot.h (a dump read back). Those, and the
// few headers they need (gc/object_header.h, gc/tlab.h, gc/gc_stats.h,
// base/, inspection/hprof/byte_sink.h and the reader's), are exactly what
// the CMake package installs.
//
// Everything else lives behind `internal/` directories, cppgc's
// include/cppgc/internal split: the heap and the collector
// (gc/internal/), the safepoint manager, VM operations, the Global handle,
// intern and monitor tables, lock words and the reference processor
// (vm/internal/), the dumper and its object writer (inspection/internal/).
// They are not installed, and Bazel lets only //:internal (gc/, vm/,
// inspection/, tests/, benchmarks/) depend on their targets. A public
// class whose internals the layers above must reach does it through one
// friend, not through public accessors: Runtime befriends
// internal::RuntimeAccess (vm/internal/runtime_access.h), so an embedder's
// Runtime has no heap(), safepoints() or Execute(VmOperation&), and holds
// its internals by pointer to forward-declared types. Where a public
// header's inline fast path needs an internal detail, the detail moved
// into a small public header instead (gc/tlab.h: Thread::Allocate's bump
// stays inline) or into a value cached on the public side (the thin lock
// word Synchronized stores).
#ifndef KILN_VM_KILN_H_
#define KILN_VM_KILN_H_

#include "vm/class.h"        // IWYU pragma: export
#include "vm/class_table.h"  // IWYU pragma: export
#include "vm/field_ref.h"    // IWYU pragma: export
#include "vm/frame.h"        // IWYU pragma: export
#include "vm/handles.h"      // IWYU pragma: export
#include "vm/monitor.h"      // IWYU pragma: export
#include "vm/object.h"       // IWYU pragma: export
#include "vm/references.h"   // IWYU pragma: export
#include "vm/resolver.h"     // IWYU pragma: export
#include "vm/runtime.h"      // IWYU pragma: export
#include "vm/safepoint.h"    // IWYU pragma: export
#include "vm/string.h"       // IWYU pragma: export
#include "vm/thread.h"       // IWYU pragma: export

#endif  // KILN_VM_KILN_H_
