#!/bin/bash
# crash.sh - `vigia screen` killed with SIGKILL at several points of a large
# file, then run again on the same file to the end: every record is
# accounted for, no subject has two open cases, the stored records and
# rejects are exactly those of the file, the audit chain holds and SQLite's
# integrity check passes.
set -u
VIGIA=${VIGIA:?path of the vigia binary}
if ! command -v sqlite3 >/dev/null; then
  echo "crash.sh needs the sqlite3 command (make deps installs it)"
  exit 1
fi
work=$(mktemp -d /tmp/vgcrash.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
fail=0

mkdir -p rules/schemas
cat > rules/schemas/t.yaml <<'YAML'
kind: t
subject: person.doc
fields:
  person.doc: { type: string, pii: true }
  person.sex: { type: string, protected: true }
  a:          { type: int }
  b:          { type: int }
YAML
cat > rules/t.yaml <<'YAML'
rules:
  - id: T-A
    title: a is 9
    kind: t
    score: 30
    match: { sel: { a: 9 } }
  - id: T-B
    title: b is 9
    kind: t
    score: 25
    match: { sel: { b: 9 } }
YAML
# N lines: one in 10 has a = 9 (30: stored, no case), one in 14 b = 9
# (25), both (55: a case, grouped by a subject shared by many records);
# one line in 20000 is not JSON.
N=${CRASH_LINES:-200000}
awk -v n="$N" 'BEGIN {
  for (i = 0; i < n; i++) {
    if (i % 20000 == 77) { print "this is not json " i; continue }
    a = (i % 10 == 0) ? 9 : 1; b = (i % 14 == 0) ? 9 : 1
    printf "{\"kind\":\"t\",\"id\":\"r%d\",\"observed_at\":\"2026-01-01T00:00:00Z\",\"person\":{\"doc\":\"P%d\",\"sex\":\"%s\"},\"a\":%d,\"b\":%d,\"text\":\"some words to make the line longer than it needs to be\"}\n", i, i % 997, (i % 2 ? "F" : "M"), a, b
  } }' > big.ndjson
lines=$(wc -l < big.ndjson)
bad=$(grep -c 'not json' big.ndjson)
flagged=$(grep -c -E '"a":9|"b":9' big.ndjson)
subjects=$(grep '"a":9' big.ndjson | grep '"b":9' | grep -o '"doc":"P[0-9]*"' | sort -u | wc -l)

# Kill at several points; each run continues from what the last committed.
for delay in 0.3 0.7 1.2 2.0; do
  "$VIGIA" screen big.ndjson --rules rules --db c.db >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=
  ic=$(sqlite3 c.db "PRAGMA integrity_check" 2>&1)
  if [ "$ic" != "ok" ]; then
    echo "FAIL: integrity_check after a kill at ${delay}s: $ic"
    fail=1
  fi
done
stored_before=$(sqlite3 c.db "SELECT count(*) FROM records")

"$VIGIA" screen big.ndjson --rules rules --db c.db --json >out.json 2>err.txt
status=$?
if [ "$status" != 4 ]; then
  echo "FAIL: the final run exited $status (want 4: some records rejected)"
  cat err.txt
  fail=1
fi
summary=$(cat out.json err.txt | tr -d ' \n' | grep -o '{"read".*}' | head -1)
num() { echo "$summary" | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }
read=$(num read); screened=$(num screened); dups=$(num duplicates); rej=$(num rejected)
if [ -z "$read" ] || [ "$read" != "$lines" ] ||
   [ $((screened + dups + rej)) != "$lines" ]; then
  echo "FAIL: accounting: lines $lines, summary $summary"
  fail=1
fi
if [ "$rej" != "$bad" ]; then
  echo "FAIL: rejected $rej, want $bad"
  fail=1
fi
# What the killed runs stored is a duplicate now, and only that.
if [ "$dups" != "$stored_before" ]; then
  echo "FAIL: duplicates $dups, but $stored_before records were stored before"
  fail=1
fi

q() { sqlite3 c.db "$1"; }
if [ "$(q 'SELECT count(*) FROM records')" != "$flagged" ]; then
  echo "FAIL: stored records $(q 'SELECT count(*) FROM records'), want $flagged"
  fail=1
fi
if [ "$(q 'SELECT count(*) FROM (SELECT source, record_id FROM records GROUP BY 1, 2 HAVING count(*) > 1)')" != 0 ]; then
  echo "FAIL: a record stored twice"
  fail=1
fi
dup_cases=$(q "SELECT count(*) FROM (SELECT kind, subject FROM cases WHERE status IN ('new','in_review','escalated') GROUP BY 1, 2 HAVING count(*) > 1)")
if [ "$dup_cases" != 0 ]; then
  echo "FAIL: $dup_cases subjects with more than one open case"
  fail=1
fi
if [ "$(q 'SELECT count(*) FROM cases')" != "$subjects" ]; then
  echo "FAIL: cases $(q 'SELECT count(*) FROM cases'), want one per subject: $subjects"
  fail=1
fi
if [ "$(q 'SELECT count(*) FROM records WHERE score >= 50 AND case_id IS NULL')" != 0 ]; then
  echo "FAIL: a record at the threshold without its case"
  fail=1
fi
if [ "$(q 'SELECT count(*) FROM rejects')" != "$bad" ]; then
  echo "FAIL: rejects $(q 'SELECT count(*) FROM rejects'), want $bad"
  fail=1
fi
if [ "$(q 'PRAGMA integrity_check')" != ok ]; then
  echo "FAIL: integrity_check at the end"
  fail=1
fi
if [ "$(q 'PRAGMA foreign_key_check' | wc -l)" != 0 ]; then
  echo "FAIL: foreign_key_check"
  fail=1
fi
if ! "$VIGIA" audit verify --db c.db >verify.txt; then
  echo "FAIL: audit verify: $(cat verify.txt)"
  fail=1
fi
exit $fail
