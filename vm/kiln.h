// The Kiln embedding API: include this one header.
//
//   #include "vm/kiln.h"
//
//   auto runtime = kiln::Runtime::Create(kiln::RuntimeOptions{});
//   kiln::ThreadScope main(**runtime, "main");
//   kiln::Frame frame(main, *(*runtime)->FindMethod("Main", "main", "()V"));
//   absl::StatusOr<kiln::Local<kiln::String>> s = kiln::String::New(frame, "hi");
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
