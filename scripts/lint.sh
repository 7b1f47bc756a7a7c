#!/usr/bin/env bash
# Formatting and static checks developers run before submitting:
#   scripts/lint.sh          check: clang-format (no changes) and clang-tidy on changed files
#   scripts/lint.sh --fix    rewrite files with clang-format
# clang-tidy needs build/compile_commands.json (scripts/test.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-check}
mapfile -t files < <(git ls-files '*.h' '*.cc' | grep -v '^build')
if [[ $mode == --fix ]]; then
  clang-format -i "${files[@]}"
  exit 0
fi
status=0
clang-format --dry-run --Werror "${files[@]}" || status=1
./scripts/check-deps.sh || status=1
if [[ -f build/compile_commands.json ]]; then
  mapfile -t changed < <(git diff --name-only --diff-filter=AM HEAD -- '*.cc' | grep -v '^tests/' || true)
  if ((${#changed[@]})); then
    clang-tidy -p build --quiet "${changed[@]}" || status=1
  fi
fi
exit $status
