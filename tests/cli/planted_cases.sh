#!/bin/bash
# planted_cases.sh - the shipped rules against the bundled sample
# (examples/records.ndjson: generated background records plus the planted
# cases of examples/planted.ndjson): every record with an id starting
# "planted-" ends in an open case, no "nearmiss-" record does, and the rules
# lint clean and pass their embedded tests. Prints recall and precision on
# the sample (docs/indicators.md quotes them); fails when recall < 100%.
set -u
VIGIA=${VIGIA:?path of the vigia binary}
SRC=${VG_SOURCE_DIR:?path of the source tree}
RULES=$SRC/rules
SAMPLE=$SRC/examples/records.ndjson
work=$(mktemp -d /tmp/vgplanted.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0
bad() {
  echo "FAIL: $*"
  fail=1
}

# --- the rules themselves: no error, no warning, every embedded test passes
"$VIGIA" rules lint --rules "$RULES" --json >"$work/lint.json" 2>"$work/lint.err"
rc=$?
[ "$rc" = 0 ] || bad "rules lint exited $rc"
grep -q '"errors":0,"warnings":0}$' "$work/lint.json" ||
  bad "rules lint reports errors or warnings: $(head -c 2000 "$work/lint.json")"
"$VIGIA" rules test --rules "$RULES" >"$work/test.out" 2>&1
rc=$?
[ "$rc" = 0 ] || bad "rules test exited $rc: $(grep -v ' passed, ' "$work/test.out" | head -20)"
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$work/test.out")
case $summary in
*" passed, 0 failed") echo "rule tests: $summary" ;;
*) bad "rules test summary: '$summary'" ;;
esac

# --- screen the sample into a fresh store
[ -s "$SAMPLE" ] || {
  echo "FAIL: no sample at $SAMPLE"
  exit 1
}
"$VIGIA" screen --db "$work/v.db" --rules "$RULES" --emit "$SAMPLE" \
  >"$work/emit.ndjson" 2>"$work/screen.err"
rc=$?
[ "$rc" = 0 ] || bad "screen exited $rc: $(head -5 "$work/screen.err")"
lines=$(grep -c . "$SAMPLE")
results=$(grep -c '^{"record_id":' "$work/emit.ndjson")
[ "$results" = "$lines" ] || bad "$lines records in the sample but $results result lines"

# One line per record: id, source and case id ("null" without a case). The
# case id closes the result line; ids and sources hold no quote.
sed -n 's/^{"record_id":"\([^"]*\)","source":"\([^"]*\)",.*"case_id":\([0-9a-z]*\)}$/\1 \2 \3/p' \
  "$work/emit.ndjson" >"$work/results.txt"
[ "$(grep -c . "$work/results.txt")" = "$results" ] ||
  bad "could not read every result line"

# Open cases and their records, from the queue.
"$VIGIA" queue --db "$work/v.db" --json --limit 100000 >"$work/queue.json" 2>"$work/queue.err" ||
  bad "queue failed: $(head -5 "$work/queue.err")"
grep -o '"record_ids":\[[^]]*\]' "$work/queue.json" |
  sed 's/^"record_ids":\[//; s/\]$//; s/"//g' >"$work/cases.txt"
tr ',' '\n' <"$work/cases.txt" | grep . | sort >"$work/in_cases.txt"
ncases=$(grep -c . "$work/cases.txt")
[ "$ncases" -gt 0 ] || bad "the queue holds no case"

# --- every planted case in an open case, no near miss in any
planted=$(grep -o '^{"kind":"[a-z_]*","id":"planted-[^"]*"' "$SAMPLE" |
  sed 's/.*"id":"//; s/"$//' | sort -u)
nplanted=$(echo "$planted" | grep -c .)
want=$(grep -c '"id":"planted-' "$SRC/examples/planted.ndjson")
[ "$nplanted" = "$want" ] && [ "$nplanted" -gt 0 ] ||
  bad "the sample holds $nplanted planted records, examples/planted.ndjson $want"
found=0
for id in $planted; do
  if grep -qx "$id" "$work/in_cases.txt"; then
    found=$((found + 1))
  else
    bad "planted record $id is in no open case ($(grep "^$id " "$work/results.txt"))"
  fi
  case_id=$(awk -v id="$id" '$1 == id { print $3 }' "$work/results.txt")
  [ -n "$case_id" ] && [ "$case_id" != null ] ||
    bad "the result line of $id carries no case_id"
done
nearmiss=$(grep -o '^{"kind":"[a-z_]*","id":"nearmiss-[^"]*"' "$SAMPLE" |
  sed 's/.*"id":"//; s/"$//' | sort -u)
nnear=$(echo "$nearmiss" | grep -c .)
[ "$nnear" -gt 0 ] || bad "the sample holds no near miss"
for id in $nearmiss; do
  grep -qx "$id" "$work/in_cases.txt" && bad "near miss $id is in an open case"
  case_id=$(awk -v id="$id" '$1 == id { print $3 }' "$work/results.txt")
  [ "$case_id" = null ] || bad "near miss $id opened or joined case $case_id"
done

# --- recall and precision on the sample. A case counts as planted when all
# its records come from examples/planted.ndjson (source "planted").
tp=$(awk '
  FNR == NR { source[$1] = $2; next }
  {
    n = split($0, ids, ",")
    ok = n > 0
    for (i = 1; i <= n; i++)
      if (source[ids[i]] != "planted")
        ok = 0
    if (ok)
      tp++
  }
  END { print tp + 0 }' "$work/results.txt" "$work/cases.txt")
recall=$(awk -v f="$found" -v n="$nplanted" 'BEGIN { printf "%.1f", n ? 100 * f / n : 0 }')
precision=$(awk -v t="$tp" -v n="$ncases" 'BEGIN { printf "%.1f", n ? 100 * t / n : 0 }')
echo "sample: $lines records, $(grep -c ' [0-9][0-9]*$' "$work/results.txt") in a case," \
  "$ncases open cases"
echo "recall: $found of $nplanted planted records in an open case ($recall%)"
echo "near misses: $nnear, none in a case unless reported above"
echo "precision: $tp of $ncases cases hold only planted records ($precision%)"
[ "$found" = "$nplanted" ] || bad "recall $recall% is below 100%"

exit $fail
