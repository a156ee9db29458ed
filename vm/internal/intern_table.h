// InternTable: a runtime's interned strings (String::Intern). Internal to
// the runtime.
#ifndef KILN_VM_INTERNAL_INTERN_TABLE_H_
#define KILN_VM_INTERNAL_INTERN_TABLE_H_

#include <cstddef>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "base/mutex.h"
#include "vm/string.h"

namespace kiln {

// InternTable: a runtime's interned strings, by UTF-8 text. Lookups and
// inserts take a lock but never poll, so the world can stop at any time.
class InternTable {
 public:
  String* Find(absl::string_view utf8);
  // Insert adds `string` unless the text is already there; returns the
  // table's String for the text.
  String* Insert(absl::string_view utf8, String* string);
  // VisitRoots: every interned String is a root. World stopped.
  void VisitRoots(absl::FunctionRef<void(Object** slot)> fn);
  size_t size();

 private:
  Mutex mu_;
  absl::flat_hash_map<std::string, String*> strings_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kiln

#endif  // KILN_VM_INTERNAL_INTERN_TABLE_H_
