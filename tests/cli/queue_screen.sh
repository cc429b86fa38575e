#!/bin/bash
# queue_screen.sh - `vigia screen` into the store and what the queue then
# shows: the threshold edge, subject grouping, duplicates and versions,
# idempotent re-screening, queue order and filters, stats, fairness,
# rejects, purge and the audit chain against tampering.
set -u
VIGIA=${VIGIA:?path of the vigia binary}
work=$(mktemp -d /tmp/vgq.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
fail=0
run() { "$@" >out.txt 2>err.txt; echo $?; }
want() { # want GOT WANT WHAT
  if [ "$1" != "$2" ]; then
    echo "FAIL: $3: got '$1', want '$2'"
    sed 's/^/  out: /' out.txt | head -20
    sed 's/^/  err: /' err.txt | head -20
    fail=1
  fi
}
# The value of "key" in compact JSON on stdout (numbers and strings).
field() { grep -o "\"$1\":[^,}]*" out.txt | head -1 | cut -d: -f2- | tr -d '"'; }

mkdir -p rules/schemas
cat > rules/schemas/t.yaml <<'YAML'
kind: t
subject: person.doc
fields:
  person.doc: { type: string, pii: true }
  person.sex: { type: string, protected: true }
  person.birth: { type: date, protected: true }
  a:          { type: int }
  b:          { type: int }
YAML
cat > rules/t.yaml <<'YAML'
rules:
  - id: T-A
    title: a is at least 1
    kind: t
    score: 30
    match: { sel: { a|gte: 1 } }
  - id: T-B
    title: a is at least 2
    kind: t
    score: 19
    route: protection
    match: { sel: { a|gte: 2 } }
  - id: T-ONE
    title: b is at least 1
    kind: t
    score: 1
    route: child_protection
    match: { sel: { b|gte: 1 } }
YAML
rec() { # rec ID DOC A B SEX [SOURCE]
  printf '{"kind":"t","id":"%s","source":"%s","observed_at":"2026-01-01T00:00:00Z","person":{"doc":"%s","sex":"%s"},"a":%s,"b":%s}\n' \
    "$1" "${6:-feed}" "$2" "$5" "$3" "$4"
}
{
  rec below  P1 2 0 F   # 49: hits, stored, no case (one under the threshold)
  rec edge   P2 2 1 M   # 50: at the threshold, a case
  rec clean  P3 0 0 F   # no hit: not stored
  rec p4a    P4 2 1 F   # two records of one subject: one case
  rec p4b    P4 2 5 F
  echo '{"kind":"t","id":"nosubj1","observed_at":"2026-01-01T00:00:00Z","a":2,"b":1}'
  echo '{"kind":"t","id":"nosubj2","observed_at":"2026-01-01T00:00:00Z","a":2,"b":1}'
  echo 'not json'
  echo '{"kind":"t","id":"bad","observed_at":"2026-01-01T00:00:00Z","a":"two"}'
} > in.ndjson

st=$(run "$VIGIA" screen in.ndjson --rules rules --db q.db)
want "$st" 4 "screen with rejects exits 4"
want "$(cat err.txt | tail -1)" "read 9, screened 7, flagged 6, cases 4, duplicates 0, rejected 2" "summary"

# Threshold edge: 49 stored without a case, 50 opens one.
st=$(run "$VIGIA" queue --json --db q.db --limit 0)
want "$st" 0 "queue"
want "$(grep -o '"case_id"' out.txt | wc -l)" 4 "four open cases"
if grep -q '"below"' out.txt; then echo "FAIL: a 49 record opened a case"; fail=1; fi
grep -q '"edge"' out.txt || { echo "FAIL: a 50 record opened no case"; fail=1; }
# Subject grouping: p4a and p4b share one case.
grep -q '"record_ids":\["p4a","p4b"\]' out.txt || { echo "FAIL: P4 not grouped"; cat out.txt; fail=1; }
# Records without a subject open a case each.
want "$(grep -o '"nosubj[12]"' out.txt | wc -l)" 2 "subjectless records, a case each"

# Idempotent re-screening: same file, nothing new.
st=$(run "$VIGIA" screen in.ndjson --rules rules --db q.db --json)
want "$st" 4 "rescreen exits 4 (the same rejects)"
want "$(tr -d ' \n' < err.txt | grep -o '"duplicates":[0-9]*' | cut -d: -f2)$(tr -d ' \n' < out.txt | grep -o '"duplicates":[0-9]*' | cut -d: -f2)" 6 "duplicates on rescreen"
st=$(run "$VIGIA" queue --json --db q.db --limit 0)
want "$(grep -o '"case_id"' out.txt | wc -l)" 4 "no new case on rescreen"
st=$(run "$VIGIA" rejects --json --db q.db)
want "$(grep -o '"reason"' out.txt | wc -l)" 2 "rejects kept once"
grep -q '"line":8' out.txt || { echo "FAIL: reject line 8 missing"; fail=1; }

# A new version of a record is screened again and joins the subject's case.
rec p4a P4 3 1 F > v2.ndjson
st=$(run "$VIGIA" screen v2.ndjson --rules rules --db q.db)
want "$st" 0 "screen v2"
want "$(tail -1 err.txt)" "read 1, screened 1, flagged 1, cases 0, duplicates 0, rejected 0" "v2 summary"
st=$(run "$VIGIA" queue --json --kind t --min-score 50 --db q.db --limit 0)
want "$(grep -o '"case_id"' out.txt | wc -l)" 4 "still four cases"

# Queue order: score desc, then created asc; filters.
st=$(run "$VIGIA" queue --json --db q.db --route child_protection)
want "$(grep -o '"case_id"' out.txt | wc -l)" 4 "route filter"
st=$(run "$VIGIA" queue --json --db q.db --rule T-ONE --limit 1)
want "$(grep -o '"case_id"' out.txt | wc -l)" 1 "limit"
st=$(run "$VIGIA" queue --json --db q.db --kind nope)
want "$(cat out.txt)" '{"cases":[]}' "kind filter, nothing"
st=$(run "$VIGIA" queue --status open --db q.db)
want "$st" 2 "unknown status is usage"
st=$(run "$VIGIA" queue --min-score high --db q.db)
want "$st" 2 "bad --min-score is usage"
st=$(run "$VIGIA" queue --since yesterday --db q.db)
want "$st" 2 "bad --since is usage"
st=$(run "$VIGIA" queue --since 2000-01-01 --json --db q.db)
want "$(grep -o '"case_id"' out.txt | wc -l)" 4 "since"
st=$(run "$VIGIA" queue --db q.db)
want "$st" 0 "table"
want "$(head -1 out.txt | awk '{print $1, $2, $3}')" "CASE SCORE STATUS" "table header"

# stats --json shape and values.
st=$(run "$VIGIA" stats --json --db q.db)
want "$st" 0 "stats"
grep -q '{"rules":\[{"rule":"T-A","hits":[0-9]*,"cases":[0-9]*,"confirmed":0,"dismissed":0,"precision":null}' out.txt ||
  { echo "FAIL: stats shape"; cat out.txt; fail=1; }
grep -q '"kinds":\[{"kind":"t","screened":9,"flagged":7}\]' out.txt ||
  { echo "FAIL: kind totals"; cat out.txt; fail=1; }

# Fairness: protected fields only, counts only.
st=$(run "$VIGIA" report fairness --by person.doc --db q.db)
want "$st" 2 "fairness by a non-protected field"
grep -q "protected" err.txt || { echo "FAIL: fairness message"; fail=1; }
st=$(run "$VIGIA" report fairness --by person.birth --db q.db)
want "$st" 2 "fairness by a protected date"
grep -q "per person" err.txt || { echo "FAIL: date fairness message"; cat err.txt; fail=1; }
st=$(run "$VIGIA" report fairness --db q.db)
want "$st" 2 "fairness without --by"
st=$(run "$VIGIA" report fairness --by person.sex --json --db q.db)
want "$st" 0 "fairness by sex"
if grep -q 'P[0-9]' out.txt; then echo "FAIL: fairness output names a subject"; fail=1; fi
grep -q '"value":"F"' out.txt || { echo "FAIL: fairness value F"; cat out.txt; fail=1; }

# Purge: decided cases only; the chain still verifies; a purged event.
run "$VIGIA" queue --json --db q.db --limit 1 >/dev/null
id=$(field case_id)
run "$VIGIA" case claim "$id" --as a --db q.db >/dev/null
run "$VIGIA" case decide "$id" dismiss --reason duplicate --note n --as a --db q.db >/dev/null
st=$(run "$VIGIA" purge --before 2000-01-01 --json --db q.db)
want "$(cat out.txt)" '{"cases":0,"records":0,"before":"2000-01-01T00:00:00Z"}' "purge nothing"
st=$(run "$VIGIA" purge --before 2100-01-01 --status in_review --db q.db)
want "$st" 2 "purge of open cases is usage"
st=$(run "$VIGIA" purge --before tomorrow --db q.db)
want "$st" 2 "purge with a bad date"
st=$(run "$VIGIA" purge --before 2100-01-01 --status dismissed --json --db q.db)
want "$(field cases)" 1 "purge one case"
st=$(run "$VIGIA" case show "$id" --db q.db)
want "$st" 1 "purged case is gone"
st=$(run "$VIGIA" audit verify --db q.db)
want "$st" 0 "chain verifies after purge"

if command -v sqlite3 >/dev/null; then
  n=$(sqlite3 q.db "SELECT count(*) FROM events WHERE action = 'purged' AND case_id = $id")
  want "$n" 1 "purged event"
  # Tampering, each kind: the verify names the first broken event.
  cp q.db t1.db; rm -f t1.db-wal t1.db-shm
  sqlite3 t1.db "UPDATE events SET note = 'edited' WHERE id = 3"
  st=$(run "$VIGIA" audit verify --db t1.db)
  want "$st" 1 "edited note"
  grep -q "event 3" out.txt || { echo "FAIL: edited event not named"; cat out.txt; fail=1; }
  cp q.db t2.db
  sqlite3 t2.db "DELETE FROM events WHERE id = 2"
  st=$(run "$VIGIA" audit verify --db t2.db --json)
  want "$st" 1 "deleted event"
  want "$(field broken_event)" 3 "deleted event: the next one is named"
  cp q.db t3.db
  sqlite3 t3.db "UPDATE events SET id = 100000 WHERE id = 2; UPDATE events SET id = 2 WHERE id = 3; UPDATE events SET id = 3 WHERE id = 100000;"
  st=$(run "$VIGIA" audit verify --db t3.db)
  want "$st" 1 "reordered events"
  grep -q "event 2" out.txt || { echo "FAIL: reordered event not named"; cat out.txt; fail=1; }
else
  echo "note: sqlite3 missing; tampering checked by test_store only"
fi
exit $fail
