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
#include "vm/vm_operation.h" // IWYU pragma: export

#endif  // KILN_VM_KILN_H_
