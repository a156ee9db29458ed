// Status propagation macros. Debian's Abseil (20220623) ships no status
// macros, so Kiln carries its own two, in the shape every Google codebase uses.
//
//   RETURN_IF_ERROR(file.Write(bytes));
//   ASSIGN_OR_RETURN(Local<String> s, String::New(frame, "hello"));
#ifndef KILN_BASE_STATUS_MACROS_H_
#define KILN_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define KILN_STATUS_CONCAT_INNER_(a, b) a##b
#define KILN_STATUS_CONCAT_(a, b) KILN_STATUS_CONCAT_INNER_(a, b)

// RETURN_IF_ERROR(expr) returns the absl::Status of `expr` if it is not OK.
#define RETURN_IF_ERROR(expr)                                   \
  do {                                                          \
    ::absl::Status kiln_status_ = (expr);                       \
    if (!kiln_status_.ok()) return kiln_status_;                \
  } while (false)

// ASSIGN_OR_RETURN(lhs, expr) evaluates the absl::StatusOr `expr`; on error it
// returns the status, otherwise it moves the value into `lhs` (which may be a
// declaration).
#define ASSIGN_OR_RETURN(lhs, expr) \
  KILN_ASSIGN_OR_RETURN_IMPL_(KILN_STATUS_CONCAT_(kiln_statusor_, __LINE__), lhs, expr)

#define KILN_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // KILN_BASE_STATUS_MACROS_H_
