// KILN_MUST_USE: the result of this function must not be dropped. Every
// function returning an absl::Status or absl::StatusOr carries it, and so do
// functions whose result is the point of calling them (a slot, an escaped
// Local). Abseil marks Status must-use only under clang; [[nodiscard]] makes
// gcc warn too, and `./kiln test`'s clang stage turns a dropped one into an
// error. A deliberate drop is written `(void)Call();  // why`.
//
//   KILN_MUST_USE absl::Status Flush();
#ifndef KILN_BASE_MUST_USE_H_
#define KILN_BASE_MUST_USE_H_

#define KILN_MUST_USE [[nodiscard]]

#endif  // KILN_BASE_MUST_USE_H_
