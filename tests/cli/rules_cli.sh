#!/usr/bin/env bash
# rules_cli.sh - `vigia rules lint|test|list` and `vigia screen --dry-run`
# from the outside (SPEC 2.6, 2.7, 3, 6): output, summary, --json forms,
# exit codes 0/1/2/3/4, --help on every command, options before and after
# the subcommand.
set -u

VIGIA=${VIGIA:?set VIGIA to the vigia binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

failures=0
fail() {
  echo "FAIL: $*"
  echo "  stdout: $(head -c 2000 out)"
  echo "  stderr: $(head -c 2000 err)"
  failures=$((failures + 1))
}

# run ARGS...: runs vigia, stdout to ./out, stderr to ./err, status in $status.
run() {
  "$VIGIA" "$@" >out 2>err
  status=$?
}

# want STATUS DESCRIPTION
want() {
  [ "$status" -eq "$1" ] || fail "$2: exit $status, want $1"
}

has() { grep -qF -- "$2" "$1"; }
count() { grep -cF -- "$2" "$1"; }

# ------------------------------------------------------------ fixtures

mkdir -p rules/schemas bad/schemas
cat >rules/schemas/t.yaml <<'EOF'
kind: t
subject: doc
fields:
  doc:  { type: string }
  name: { type: string }
  text: { type: text }
  n:    { type: int }
EOF
cp rules/schemas/t.yaml bad/schemas/t.yaml
cat >rules/r.yaml <<'EOF'
rules:
  - id: R-HIGH
    title: Name holds alpha
    kind: t
    score: 60
    match:
      s: { name|contains: alpha }
    tests:
      - record: { kind: t, id: a, observed_at: '2026-01-01T00:00:00Z', name: Alpha }
        expect: match
        score: 60
  - id: R-LOW
    title: Big n
    kind: t
    score: 20
    match:
      s: { n|gt: 5 }
  - id: R-OFF
    title: Disabled
    kind: t
    score: 50
    enabled: false
    match:
      s: { name: beta }
    tests:
      - record: { kind: t, id: b, observed_at: '2026-01-01T00:00:00Z', name: beta }
        expect: match
  - id: R-SLOW
    title: A pattern that backtracks
    kind: t
    score: 5
    match:
      s: { text|re: '^(a|aa|aaa)+(a|aa)+$' }
EOF
cat >bad/r.yaml <<'EOF'
rules:
  - id: B-1
    title: Misspelt field
    kind: t
    score: 10
    match:
      s: { nmae: x }
EOF

long_a=$(printf 'a%.0s' $(seq 1 120))
{
  echo '{"kind":"t","id":"1","observed_at":"2026-01-01T00:00:00Z","name":"the alpha","n":9}'
  echo '{"kind":"t","id":"2","observed_at":"2026-01-01T00:00:00Z","name":"beta"}'
  echo '{"kind":"t","id":"3","observed_at":"2026-01-01T00:00:00Z","n":"x"}'
  echo '{"kind":"t","id":"4","source":"feed","observed_at":"2026-01-01T00:00:00Z","n":6,"doc":"D4"}'
} >mixed.ndjson
head -n 2 mixed.ndjson >good.ndjson
{
  echo '{"kind":"t","id":"1","observed_at":"2026-01-01T00:00:00Z"'
  printf '{"kind":"t","id":"2","observed_at":"2026-01-01T00:00:00Z","name":"\xff"}\n'
  echo '[1,2,3]'
  echo '{"kind":"t","observed_at":"2026-01-01T00:00:00Z"}'
  echo '{"kind":"nope","id":"5","observed_at":"2026-01-01T00:00:00Z"}'
  echo '{"kind":"t","id":"6","observed_at":"2026-01-01T00:00:00Z","n":3.5}'
  echo '{"kind":"t","id":"7","observed_at":"yesterday"}'
  echo '{"kind":"t","id":"8","observed_at":"2026-01-01T00:00:00Z","n":7}'
} >rejects.ndjson
echo "{\"kind\":\"t\",\"id\":\"s\",\"observed_at\":\"2026-01-01T00:00:00Z\",\"text\":\"${long_a}b\"}" >slow.ndjson

# ---------------------------------------------------------------- help

run --help
want 0 "--help"
has out "usage: vigia" || fail "--help prints the usage on stdout"
run -h
want 0 "-h"
run
want 2 "no command"
has err "usage: vigia" || fail "no command prints the usage on stderr"

for cmd in "screen" "rules lint" "rules test" "rules list" "queue" \
  "case show" "case claim" "case release" "case decide" "case note" \
  "case reopen" "stats" "report fairness" "rejects" "audit verify" "purge"; do
  # shellcheck disable=SC2086
  run $cmd --help
  want 0 "$cmd --help"
  head -n 1 out | grep -q "^vigia $cmd" || fail "$cmd --help starts with 'vigia $cmd'"
  # shellcheck disable=SC2086
  run --help $cmd
  want 0 "--help $cmd"
  head -n 1 out | grep -q "^vigia $cmd" || fail "--help $cmd"
done
run rules --help
want 0 "rules --help"
cat out err >both
for sub in lint test list; do
  has both "vigia rules $sub" || fail "rules --help names 'rules $sub'"
done

# --------------------------------------------------------- usage errors

run rules list --rules rules --bogus
want 2 "unknown option"
has err "--bogus" || fail "the unknown option is named"
run rules list --rules
want 2 "--rules without a value"
run rules
want 2 "rules without a subcommand"
run rules frob --rules rules
want 2 "unknown rules subcommand"
run frob
want 2 "unknown command"
run rules lint extra --rules rules
want 2 "rules lint takes no argument"
run rules list --rules rules --dry-run=yes
want 2 "a flag given a value"

# ------------------------------------------------------------ rules list

run rules list --rules rules
want 0 "rules list"
cp out list_after
head -n 1 out | grep -qE '^ID +KIND +SCORE +ENABLED +TITLE$' ||
  fail "rules list header"
[ "$(wc -l <out)" -eq 5 ] || fail "rules list: a header and four rules"
grep -qE '^R-HIGH +t +60 +yes +Name holds alpha$' out || fail "rules list R-HIGH"
grep -qE '^R-OFF +t +50 +no +Disabled$' out || fail "rules list R-OFF disabled"
# Options may stand anywhere.
for form in "--rules rules rules list" "rules --rules rules list" \
  "rules list --rules=rules" "--rules=rules rules list"; do
  # shellcheck disable=SC2086
  run $form
  want 0 "$form"
  cmp -s out list_after || fail "'$form' lists the same"
done
run rules list --rules rules --json
want 0 "rules list --json"
[ "$(wc -l <out)" -eq 1 ] || fail "rules list --json is one document"
has out '{"rules":[' || fail "rules list --json shape"
for id in R-HIGH R-LOW R-OFF R-SLOW; do
  has out "\"id\":\"$id\"" || fail "rules list --json has $id"
done
has out '"enabled":false' || fail "rules list --json: R-OFF disabled"
[ "$(grep -oE '"digest":"[0-9a-f]{64}"' out | wc -l)" -eq 4 ] ||
  fail "rules list --json: four digests"
run rules list --rules bad
want 3 "rules list on rules that do not load"
[ -s out ] && fail "nothing listed when the rules do not load"

# ------------------------------------------------------------ rules lint

run rules lint --rules rules
want 0 "rules lint"
[ -s out ] && fail "rules lint prints nothing on stdout"
has err "4 rules loaded from rules: 0 errors, 0 warnings" ||
  fail "rules lint summary"
run rules lint --rules bad
want 3 "rules lint on bad rules"
has err "bad/r.yaml:7:12: error: unknown field 'nmae' for kind 't' (did you mean 'name'?) [unknown-field]" ||
  fail "rules lint error line"
has err "      s: { nmae: x }" || fail "rules lint source line"
grep -qxF '             ^' err || fail "rules lint caret under the column"
run --json rules lint --rules bad
want 3 "rules lint --json"
for part in '"file":"bad/r.yaml"' '"line":7' '"col":12' '"code":"unknown-field"' \
  '"severity":"error"' '"message":"unknown field '; do
  has out "$part" || fail "rules lint --json has $part"
done
run rules lint --rules nowhere
want 3 "rules lint on a missing directory"
has err "[io]" || fail "a missing directory is an io error"
# A warning does not stop loading.
mkdir -p warn/schemas
cp rules/schemas/t.yaml warn/schemas/
printf 'lists:\n  spare: [a]\nrules:\n  - { id: W, title: w, kind: t, score: 1, match: { s: { n: 1 } } }\n' >warn/r.yaml
run rules lint --rules warn
want 0 "rules lint with a warning"
has err "warn/r.yaml:2:3: warning: list 'spare' is not used by any rule [unused-list]" ||
  fail "the warning is shown"
has err "1 rules loaded from warn: 0 errors, 1 warning" || fail "lint counts the warning"

# ------------------------------------------------------------ rules test

run rules test --rules rules
want 0 "rules test"
# The disabled rule's test runs too.
has out "2 passed, 0 failed" || fail "rules test summary"
mkdir -p failing/schemas
cp rules/schemas/t.yaml failing/schemas/
cp rules/r.yaml failing/r.yaml
cat >>failing/r.yaml <<'EOF'
  - id: R-BAD
    title: A test that fails
    kind: t
    score: 10
    match:
      s: { name: gamma }
    tests:
      - record: { kind: t, id: c, observed_at: '2026-01-01T00:00:00Z', name: delta }
        expect: match
      - record: { kind: t, id: c, observed_at: '2026-01-01T00:00:00Z', name: gamma }
        expect: match
        score: 99
EOF
run rules test --rules failing
want 1 "rules test with failures"
has out "2 passed, 2 failed" || fail "rules test summary with failures"
[ "$(count out FAIL)" -eq 2 ] || fail "one line per failure"
has out "R-BAD test 1: expected match, got no_match" || fail "the failure says why"
has out "R-BAD test 2: expected score 99, got 10" || fail "a score failure"
run rules test --rules bad
want 3 "rules test on rules that do not load"

# ------------------------------------------------------ screen --dry-run

run screen --dry-run --rules rules --db never.db mixed.ndjson
want 4 "screen with a rejected record"
[ -e never.db ] && fail "--dry-run creates no database"
[ "$(wc -l <out)" -eq 3 ] || fail "one result line per screened record"
sed -n 1p out >line1
sed -n 2p out >line2
sed -n 3p out >line3
for part in '{"record_id":"1","source":"default","kind":"t","score":80,' \
  '"rule":"R-HIGH","title":"Name holds alpha","score":60,' \
  '"evidence":[{"selection":"s","field":"name","value":"the alpha","span":[4,9]}]' \
  '"rule":"R-LOW"' '"value":9,"span":null' '"case_id":null}'; do
  has line1 "$part" || fail "result line 1 has $part"
done
grep -qE '"rule_digest":"[0-9a-f]{64}"' line1 || fail "result line has the digest"
# The disabled rule never fires.
has line2 '{"record_id":"2","source":"default","kind":"t","score":0,"hits":[],"case_id":null}' ||
  fail "result line 2"
has line3 '"record_id":"4","source":"feed"' || fail "result line 4 keeps its source"
has line3 '"score":20' || fail "result line 4 score"
has err "mixed.ndjson:line 3: rejected: " || fail "the reject names the line"
has err "'n'" || fail "the reject names the field"
has err "read 4, screened 3, flagged 2, cases 1, duplicates 0, rejected 1" ||
  fail "screen summary"
[ "$(tail -n 1 err)" = "read 4, screened 3, flagged 2, cases 1, duplicates 0, rejected 1" ] ||
  fail "the summary is the last line on stderr"

run screen --dry-run --rules rules good.ndjson
want 0 "screen without rejects"
[ "$(wc -l <out)" -eq 2 ] || fail "two result lines"
has err "read 2, screened 2, flagged 1, cases 1, duplicates 0, rejected 0" ||
  fail "summary without rejects"

# Options before the subcommand and after the files; stdin.
run --dry-run --rules=rules screen good.ndjson
want 0 "options before screen"
cp out before
run screen good.ndjson --rules rules --dry-run
want 0 "options after the file"
cmp -s out before || fail "options anywhere give the same result"
"$VIGIA" screen --dry-run --rules rules <good.ndjson >out 2>err
status=$?
want 0 "screen from stdin"
cmp -s out before || fail "stdin gives the same result"
"$VIGIA" screen - --dry-run --rules rules <good.ndjson >out 2>err
status=$?
want 0 "screen -"
cmp -s out before || fail "'-' reads stdin"
run screen --dry-run --rules rules good.ndjson good.ndjson
want 0 "two files"
[ "$(wc -l <out)" -eq 4 ] || fail "two files, four result lines"
has err "read 4, screened 4" || fail "two files counted"

run screen --dry-run --rules rules --json mixed.ndjson
want 4 "screen --json"
has err '{"read":4,"screened":3,"flagged":2,"cases":1,"duplicates":0,"rejected":1}' ||
  fail "screen --json summary"
[ "$(wc -l <out)" -eq 3 ] || fail "screen --json: NDJSON result lines"

# Every bad-input rule of SPEC 6 rejects, naming the line.
run screen --dry-run --rules rules rejects.ndjson
want 4 "bad input"
has err "read 8, screened 1, flagged 1, cases 0, duplicates 0, rejected 7" ||
  fail "every line read is counted once"
for line in 1 2 3 4 5 6 7; do
  has err "rejects.ndjson:line $line: rejected: " || fail "line $line rejected"
done
grep -q "line 1: rejected: .*JSON" err || fail "invalid JSON named"
grep -q "line 2: rejected: .*UTF-8" err || fail "invalid UTF-8 named"
grep -q "line 3: rejected: .*object" err || fail "not an object named"
grep -q "line 4: rejected: .*'id'" err || fail "missing id named"
grep -q "line 5: rejected: .*nope" err || fail "unknown kind named"
grep -q "line 6: rejected: .*'n'" err || fail "3.5 for an int named"
grep -q "line 7: rejected: .*observed_at" err || fail "a bad datetime named"

# A record over the size limit of the config: line 1 has 83 bytes, line 2
# has 72.
printf 'limits: { max_record_bytes: 80 }\n' >small.yaml
run screen --dry-run --rules rules --config small.yaml good.ndjson
want 4 "a record over the limit"
has err "good.ndjson:line 1: rejected: " || fail "the long record is rejected"
has err "read 2, screened 1, flagged 0, cases 0, duplicates 0, rejected 1" ||
  fail "the short record is screened"

# Thresholds from the config.
printf 'thresholds: { t: 90 }\n' >high.yaml
run screen --dry-run --rules rules --config high.yaml good.ndjson
want 0 "a higher threshold"
has err "flagged 1, cases 0" || fail "the config threshold counts"
run screen --dry-run --rules rules --config missing.yaml good.ndjson
want 2 "a config given but not there"

# The rules did not load: nothing is screened.
run screen --dry-run --rules bad mixed.ndjson
want 3 "screen with rules that do not load"
[ -s out ] && fail "nothing screened when the rules do not load"
has err "[unknown-field]" || fail "the load error is shown"
has err "read " && fail "no summary when nothing was read"

# A pattern that hits the PCRE2 limit: incomplete, and no hang.
run screen --dry-run --rules rules slow.ndjson
want 0 "a regex limit"
has out '"incomplete":["R-SLOW"]' || fail "the result line names the cut rule"
has out '"hits":[]' || fail "a cut test does not hold"

echo "$failures failures"
[ "$failures" -eq 0 ]
