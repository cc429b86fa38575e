#!/usr/bin/env bash
# Duplicates: a stored record arriving again is a duplicate even when the
# rules no longer flag it (the identity filter must find it), a record never
# stored is screened again, and new content is a new version.
set -euo pipefail
: "${VIGIA:?}" "${VG_SOURCE_DIR:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir -p flag/schemas quiet/schemas
cp "$VG_SOURCE_DIR"/rules/schemas/*.yaml flag/schemas/
cp "$VG_SOURCE_DIR"/rules/schemas/*.yaml quiet/schemas/
cat > flag/r.yaml <<'YAML'
rules:
  - id: LODGING
    title: Lodging offered
    kind: job_advert
    score: 10
    match: { s: { benefits.accommodation_provided: true } }
YAML
cat > quiet/r.yaml <<'YAML'
rules:
  - id: NEVER
    title: Never fires on these records
    kind: job_advert
    score: 10
    match: { s: { occupation: astronaut } }
YAML
rec() { # id lodging
  printf '{"kind":"job_advert","id":"%s","observed_at":"2026-01-01T00:00:00Z","benefits":{"accommodation_provided":%s}}\n' "$1" "$2"
}
{ rec a true; rec b false; } >first.ndjson
fail() { echo "FAIL: $*" >&2; exit 1; }
summary() { "$VIGIA" screen --json --db v.db --rules "$1" "$2" 2>&1 >/dev/null | tail -1; }

s=$(summary flag first.ndjson)
[ "$s" = '{"read":2,"screened":2,"flagged":1,"cases":0,"duplicates":0,"rejected":0}' ] || fail "first run: $s"
# Same records, rules that flag nothing: a was stored, so it is a
# duplicate; b was never stored, so it is screened again.
s=$(summary quiet first.ndjson)
[ "$s" = '{"read":2,"screened":1,"flagged":0,"cases":0,"duplicates":1,"rejected":0}' ] || fail "second run: $s"
# New content for a: a new version, screened.
{ rec a true | sed 's/}}$/},"occupation":"cook"}/'; } >second.ndjson
s=$(summary flag second.ndjson)
[ "$s" = '{"read":1,"screened":1,"flagged":1,"cases":0,"duplicates":0,"rejected":0}' ] || fail "new version: $s"
echo "1 passed, 0 failed"
