#!/usr/bin/env bash
# golden_diags.sh - the loader's diagnostics, word for word. Each case
# tests/data/diag/<case>/ holds a rules/ directory (schemas/ and rule files)
# and expected.txt, the exact stderr of `vigia rules lint --rules rules` run
# from the case directory (so paths are relative). The exit status must be 3
# when the expected text has an error and 0 otherwise. A case holding a file
# BUG documents an engine bug: it is listed and skipped until fixed. Every
# code the engine's sources can emit must have a case.
set -u

VIGIA=${VIGIA:?set VIGIA to the vigia binary}
DATA=${VG_TEST_DATA:?set VG_TEST_DATA}/diag
SRC=${VG_SOURCE_DIR:-}

failures=0
ran=0
skipped=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for dir in "$DATA"/*/; do
  dir=${dir%/}
  name=$(basename "$dir")
  if [ -f "$dir/BUG" ]; then
    echo "SKIP $name: $(head -n 1 "$dir/BUG")"
    skipped=$((skipped + 1))
    continue
  fi
  if [ ! -f "$dir/expected.txt" ] || [ ! -d "$dir/rules" ]; then
    echo "FAIL $name: needs rules/ and expected.txt"
    failures=$((failures + 1))
    continue
  fi
  ran=$((ran + 1))
  (cd "$dir" && "$VIGIA" rules lint --rules rules >"$tmp/stdout" 2>"$tmp/stderr")
  status=$?
  if ! diff -u "$dir/expected.txt" "$tmp/stderr" >"$tmp/diff"; then
    echo "FAIL $name: stderr differs from expected.txt"
    cat "$tmp/diff"
    failures=$((failures + 1))
    continue
  fi
  want=0
  grep -q ': error: ' "$dir/expected.txt" && want=3
  if [ "$status" -ne "$want" ]; then
    echo "FAIL $name: exit status $status, want $want"
    failures=$((failures + 1))
    continue
  fi
  if [ -s "$tmp/stdout" ]; then
    echo "FAIL $name: lint wrote to stdout without --json"
    failures=$((failures + 1))
    continue
  fi
  # The same diagnostics with --json: one object each, on stdout.
  (cd "$dir" && "$VIGIA" rules lint --rules rules --json >"$tmp/json" 2>/dev/null)
  jstatus=$?
  texts=$(grep -cE '^[^ ].*: (error|warning): .* \[[a-z-]+\]$' "$dir/expected.txt")
  objects=$(grep -o '"severity":' "$tmp/json" | wc -l)
  if [ "$jstatus" -ne "$want" ] || [ "$texts" -ne "$objects" ]; then
    echo "FAIL $name: --json gave $objects diagnostics (exit $jstatus), the text $texts (exit $want)"
    failures=$((failures + 1))
    continue
  fi
  missing=""
  for code in $(grep -E '^[^ ].*: (error|warning): ' "$dir/expected.txt" |
                grep -oE '\[[a-z-]+\]$' | tr -d '[]' | sort -u); do
    grep -q "\"code\":\"$code\"" "$tmp/json" || missing="$missing $code"
  done
  if [ -n "$missing" ]; then
    echo "FAIL $name: --json lacks code(s)$missing"
    failures=$((failures + 1))
    continue
  fi
  echo "ok   $name"
done

# Every code the engine can emit has a case showing it (a BUG case counts).
if [ -n "$SRC" ] && [ -d "$SRC/engine" ]; then
  codes=$( (grep -ohE '"[a-z]+(-[a-z]+)+"' "$SRC"/engine/*.c | tr -d '"'
            echo io; echo fairness) | sort -u)
  for code in $codes; do
    if ! grep -qF "[$code]" "$DATA"/*/expected.txt; then
      echo "FAIL no golden case shows [$code]"
      failures=$((failures + 1))
    fi
  done
fi

echo "$ran cases run, $skipped skipped, $failures failed"
[ "$failures" -eq 0 ]
