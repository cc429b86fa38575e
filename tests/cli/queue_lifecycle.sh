#!/bin/bash
# queue_lifecycle.sh - the review commands end to end: screen a few records
# with a small rule set, then claim, release, decide, note, reopen through
# `vigia case`, with every exit code of SPEC 3 (0, 1, 2, 5).
set -u
VIGIA=${VIGIA:?path of the vigia binary}
work=$(mktemp -d /tmp/vgq.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
fail=0
check() { # check WANT_STATUS DESCRIPTION -- command...
  local want=$1 what=$2
  shift 3
  "$@" >out.txt 2>err.txt
  local got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: $what: exit $got, want $want"
    sed 's/^/  out: /' out.txt
    sed 's/^/  err: /' err.txt
    fail=1
  fi
}
expect_err() { # expect_err TEXT DESCRIPTION
  if ! grep -q -- "$1" err.txt; then
    echo "FAIL: $2: stderr lacks '$1'"
    sed 's/^/  err: /' err.txt
    fail=1
  fi
}
expect_out() {
  if ! grep -q -- "$1" out.txt; then
    echo "FAIL: $2: stdout lacks '$1'"
    sed 's/^/  out: /' out.txt
    fail=1
  fi
}

mkdir -p rules/schemas
cat > rules/schemas/t.yaml <<'YAML'
kind: t
subject: person.doc
fields:
  person.doc:  { type: string, pii: true }
  person.name: { type: string, pii: true }
  person.sex:  { type: string, protected: true }
  a:           { type: int }
  b:           { type: int }
  diet:        { type: text, drop: true }
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
    score: 20
    route: protection
    match: { sel: { a|gte: 2 } }
  - id: T-C
    title: b is set
    kind: t
    score: 60
    match: { sel: { b|exists: true } }
YAML
rec() { # rec ID DOC A [extra json]
  printf '{"kind":"t","id":"%s","observed_at":"2026-01-01T00:00:00Z","person":{"doc":"%s","name":"Ana Pérez","sex":"F"},"a":%s%s}\n' "$1" "$2" "$3" "${4:-}"
}
{
  rec r1 D1 2        # 50: opens a case (threshold edge)
  rec r2 D2 2
  rec r3 D3 2
  rec r4 D4 2
  rec r5 D5 2
  rec r6 D6 2
} > in.ndjson
export VG=$VIGIA
check 0 "screen" -- "$VIGIA" screen in.ndjson --rules rules --db q.db
expect_err "cases 6" "six cases"

# Unknown case ids: exit 1 naming the id.
check 1 "claim unknown" -- "$VIGIA" case claim 999 --as alice --db q.db
expect_err "999" "unknown id named"
check 1 "show unknown" -- "$VIGIA" case show 998 --db q.db
expect_err "998" "unknown id named"
check 1 "show malformed id" -- "$VIGIA" case show x12 --db q.db
expect_err "x12" "malformed id named"
check 2 "show without id" -- "$VIGIA" case show --db q.db

# new -> in_review -> new
check 0 "claim" -- "$VIGIA" case claim 1 --as alice --db q.db
expect_out "new -> in_review" "claim output"
check 5 "claim twice" -- "$VIGIA" case claim 1 --as bob --db q.db
expect_err "in_review" "refusal names the status"
check 5 "release by another" -- "$VIGIA" case release 1 --as bob --db q.db
expect_err "in_review" "refusal names the status"
check 0 "release" -- "$VIGIA" case release 1 --as alice --db q.db
check 5 "release a new case" -- "$VIGIA" case release 1 --as alice --db q.db
expect_err "is new" "refusal names the status"

# Decisions need --note, dismiss needs a known --reason: usage errors (2),
# checked before anything changes.
check 0 "claim again" -- "$VIGIA" case claim 1 --as alice --db q.db
check 2 "decide without note" -- "$VIGIA" case decide 1 confirm --as alice --db q.db
expect_err "note" "names --note"
check 2 "dismiss without reason" -- "$VIGIA" case decide 1 dismiss --note n --as alice --db q.db
expect_err "reason" "names --reason"
check 2 "unknown reason" -- "$VIGIA" case decide 1 dismiss --note n --reason whatever --as alice --db q.db
expect_err "whatever" "names the reason"
check 2 "unknown decision" -- "$VIGIA" case decide 1 approve --note n --as alice --db q.db
check 2 "note without text" -- "$VIGIA" case note 1 --as alice --db q.db
check 2 "reopen without note" -- "$VIGIA" case reopen 1 --as alice --db q.db
check 5 "decide by non-assignee" -- "$VIGIA" case decide 1 confirm --note n --as bob --db q.db
expect_err "in_review" "refusal names the status"

# Four eyes on an escalated case.
check 0 "escalate" -- "$VIGIA" case decide 1 escalate --note "second look" --as alice --db q.db
check 5 "confirm own escalation" -- "$VIGIA" case decide 1 confirm --note n --as alice --db q.db
expect_err "escalated" "refusal names the status"
check 5 "dismiss own escalation" -- "$VIGIA" case decide 1 dismiss --reason other --note n --as alice --db q.db
check 5 "escalate again" -- "$VIGIA" case decide 1 escalate --note n --as bob --db q.db
check 5 "claim escalated" -- "$VIGIA" case claim 1 --as bob --db q.db
check 0 "confirm by another" -- "$VIGIA" case decide 1 confirm --note "agreed" --as bob --db q.db
expect_out "escalated -> confirmed" "confirm output"

# Decided: only reopen (and notes).
check 5 "claim confirmed" -- "$VIGIA" case claim 1 --as carol --db q.db
expect_err "confirmed" "refusal names the status"
check 5 "dismiss confirmed" -- "$VIGIA" case decide 1 dismiss --reason other --note n --as bob --db q.db
check 0 "note on confirmed" -- "$VIGIA" case note 1 --note "family contacted" --as carol --db q.db
check 0 "reopen" -- "$VIGIA" case reopen 1 --note "new facts" --as carol --db q.db
expect_out "confirmed -> in_review" "reopen output"
check 5 "reopen an open case" -- "$VIGIA" case reopen 1 --note n --as carol --db q.db
expect_err "in_review" "refusal names the status"

# Dismiss with each reason, from in_review, by the assignee.
n=2
for reason in false_positive insufficient_information duplicate other; do
  check 0 "claim $n" -- "$VIGIA" case claim $n --as dan --db q.db
  check 0 "dismiss $reason" -- "$VIGIA" case decide $n dismiss --reason $reason --note "checked" --as dan --db q.db
  n=$((n + 1))
done
check 5 "new case cannot be confirmed" -- "$VIGIA" case decide 6 confirm --note n --as dan --db q.db
expect_err "is new" "refusal names the status"

# --json on a change prints the case.
check 0 "claim json" -- "$VIGIA" case claim 6 --as erin --json --db q.db
expect_out '"status":"in_review"' "json status"
expect_out '"assignee":"erin"' "json assignee"

# --as defaults to the login name.
me=$(id -un)
check 5 "release without --as" -- env USER="$me" LOGNAME="$me" "$VIGIA" case release 6 --db q.db
expect_err "assigned to erin" "names the assignee"

# History of case 1, in order, with who did what.
check 0 "show json" -- "$VIGIA" case show 1 --json --as auditor --db q.db
actions=$(grep -o '"action":"[a-z]*"' out.txt | cut -d'"' -f4 | tr '\n' ' ')
want="opened claimed released claimed escalated confirmed noted reopened viewed "
if [ "$actions" != "$want" ]; then
  echo "FAIL: history: got '$actions', want '$want'"
  fail=1
fi
for key in '"records"' '"hits"' '"linked"' '"events"' '"evidence"' '"rule_digest"'; do
  expect_out "$key" "case show --json has $key"
done
# Dropped fields never reach the store.
check 0 "screen with a drop field" -- "$VIGIA" screen --rules rules --db q.db <(rec r7 D7 2 ',"diet":"no pork, diabetic"')
check 0 "show 7" -- "$VIGIA" case show 7 --json --db q.db
if grep -q diabetic out.txt || grep -q '"diet"' out.txt; then
  echo "FAIL: a drop field was stored"; fail=1
fi
# --redact hides pii values (subject, record fields, evidence).
check 0 "show redacted" -- "$VIGIA" case show 7 --redact --json --db q.db
if grep -q "Pérez" out.txt || grep -q '"D7"' out.txt; then
  echo "FAIL: --redact left pii in the output"; fail=1
fi
expect_out '\[redacted\]' "redaction marker"

check 0 "audit verify" -- "$VIGIA" audit verify --db q.db
expect_out "ok" "chain ok"

# Commands on a missing database fail cleanly (1).
check 1 "queue without a db" -- "$VIGIA" queue --db nothing.db
check 1 "case show without a db" -- "$VIGIA" case show 1 --db nothing.db
[ ! -e nothing.db ] || { echo "FAIL: a read command created a database"; fail=1; }
exit $fail
