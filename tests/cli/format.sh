#!/usr/bin/env bash
# Every C file is formatted with the repository's .clang-format (STYLE.md).
set -euo pipefail
: "${VG_SOURCE_DIR:?}"
cd "$VG_SOURCE_DIR"
if ! command -v clang-format >/dev/null; then
  echo "FAIL: clang-format is not installed (make deps installs it)" >&2
  exit 1
fi
bad=0
checked=0
for f in engine/*.[ch] adapters/*.[ch] cli/*.[ch] tests/*.[ch] tests/fuzz/*.c bench/*.c; do
  [ -f "$f" ] || continue
  checked=$((checked + 1))
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f (run: clang-format -i $f)" >&2
    bad=$((bad + 1))
  fi
done
echo "$((checked - bad)) passed, $bad failed"
[ "$bad" = 0 ]
