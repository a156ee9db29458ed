#!/usr/bin/env bash
# clang_check.sh [FILE...]: clang's compile-time checks over Kiln's sources,
# which gcc (the build's compiler) does not make: the thread-safety analysis
# of the ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED annotations, and
# dropped results of KILN_MUST_USE functions (every Status and StatusOr).
# Each file goes through `clang++ -fsyntax-only` with those two as errors;
# other warnings are shown and do not fail. Without arguments: every .cc file
# of the repository, tests, benchmarks, samples and fuzzers included. Exits 1
# on any finding. `./kiln test` runs it; tests/clang_check_test.sh proves it
# fails on a planted finding.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
flags=(-std=c++20 -fsyntax-only -I. -Wthread-safety -Werror=thread-safety
  -Werror=unused-result)

files=("$@")
if ((${#files[@]} == 0)); then
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files '*.cc' | grep -v '^third_party/')
  else
    mapfile -t files < <(find . -name '*.cc' -not -path './third_party/*' \
      -not -path './bazel-*' -not -path './build/*' | sed 's|^\./||' | sort)
  fi
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
printf '%s\0' "${files[@]}" |
  xargs -0 -P "$(nproc)" -n 4 clang++ "${flags[@]}" >"$log" 2>&1 || status=$?
findings=$(grep -cE ': error: ' "$log" || true)
if ((status != 0)); then
  cat "$log"
  echo "clang_check: ${findings} error(s) in ${#files[@]} files" >&2
  exit 1
fi
grep -E ': warning: ' "$log" || true
echo "clang_check: ${#files[@]} files, no thread-safety or unused-result finding"
