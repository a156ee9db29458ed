// Invariant checks. A failed KILN_CHECK means Kiln itself (or an embedder
// breaking a documented contract) is wrong: it prints where and why and aborts.
// Recoverable failures are absl::Status, never a CHECK.
//
//   KILN_CHECK(thread->IsManaged(), "allocating thread ", thread->name(),
//              " is not in managed state");
#ifndef KILN_BASE_CHECK_H_
#define KILN_BASE_CHECK_H_

#include <string>

#include "absl/base/optimization.h"
#include "absl/strings/str_cat.h"

namespace kiln::internal {

// CheckFailed prints "file:line: CHECK failed: condition: message" to stderr
// and aborts.
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition,
                              const std::string& message);

}  // namespace kiln::internal

#define KILN_CHECK(condition, ...)                                       \
  (ABSL_PREDICT_TRUE(condition)                                          \
       ? static_cast<void>(0)                                            \
       : ::kiln::internal::CheckFailed(__FILE__, __LINE__, #condition,   \
                                       ::absl::StrCat(__VA_ARGS__)))

#ifdef NDEBUG
#define KILN_DCHECK(condition, ...) static_cast<void>(0)
#else
#define KILN_DCHECK(condition, ...) KILN_CHECK(condition, __VA_ARGS__)
#endif

#endif  // KILN_BASE_CHECK_H_
