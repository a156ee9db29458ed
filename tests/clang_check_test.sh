#!/usr/bin/env bash
# clang_check_test: tests/clang_check.sh fails on a planted dropped Status, a
# planted dropped KILN_MUST_USE value and a planted unguarded access, and
# passes the same code written right (a deliberate `(void)` drop included).
# The snippets are written to a temporary directory here, never committed.
set -euo pipefail

check=$(dirname "${BASH_SOURCE[0]}")/clang_check.sh
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=$(mktemp -d "${TEST_TMPDIR:-/tmp}/clang_check_test.XXXXXX")
trap 'rm -rf "$dir"' EXIT

cat >"$dir/dropped_status.cc" <<'CC'
#include "absl/status/status.h"
#include "base/must_use.h"
KILN_MUST_USE absl::Status Flush();
void Caller() { Flush(); }
CC
cat >"$dir/dropped_value.cc" <<'CC'
#include "base/must_use.h"
KILN_MUST_USE int* Allocate();
void Caller() { Allocate(); }
CC
cat >"$dir/unguarded.cc" <<'CC'
#include "base/mutex.h"
class Cache {
 public:
  void Clear() { size_ = 0; }
 private:
  kiln::Mutex mu_;
  int size_ ABSL_GUARDED_BY(mu_) = 0;
};
void Caller(Cache& cache) { cache.Clear(); }
CC
cat >"$dir/clean.cc" <<'CC'
#include "absl/status/status.h"
#include "base/must_use.h"
#include "base/mutex.h"
KILN_MUST_USE absl::Status Flush();
class Cache {
 public:
  void Clear() {
    kiln::MutexLock lock(&mu_);
    size_ = 0;
  }
 private:
  kiln::Mutex mu_;
  int size_ ABSL_GUARDED_BY(mu_) = 0;
};
absl::Status Caller(Cache& cache) {
  cache.Clear();
  (void)Flush();  // deliberately dropped: the test's point
  return Flush();
}
CC

fail=0
# expect_finding FILE PATTERN: the check fails on FILE and says PATTERN.
expect_finding() {
  local out
  if out=$("$check" "$dir/$1" 2>&1); then
    echo "FAIL: clang_check passed $1"; echo "$out"; fail=1; return
  fi
  if ! grep -q -- "$2" <<<"$out"; then
    echo "FAIL: clang_check on $1 did not report /$2/"; echo "$out"; fail=1; return
  fi
  echo "ok: $1 fails with /$2/"
}
expect_finding dropped_status.cc "ignoring return value.*-Werror,-Wunused-result"
expect_finding dropped_value.cc "ignoring return value.*-Werror,-Wunused-result"
expect_finding unguarded.cc "requires holding mutex 'mu_'.*-Werror,-Wthread-safety-analysis"
if out=$("$check" "$dir/clean.cc" 2>&1); then
  echo "ok: clean.cc passes"
else
  echo "FAIL: clang_check rejected clean.cc"; echo "$out"; fail=1
fi
if ((fail)); then echo "0 passed, 1 failed"; exit 1; fi
echo "4 passed, 0 failed"
