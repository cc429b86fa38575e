#!/usr/bin/env bash
# Correlation through the CLI: state survives a new process, --dry-run
# reads it but writes nothing, and the cases of related records are linked
# both ways.
set -euo pipefail
: "${VIGIA:?}" "${VG_SOURCE_DIR:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir -p rules
cp -r "$VG_SOURCE_DIR/rules/schemas" rules/
cat > rules/x.yaml <<'YAML'
rules:
  - id: ADV
    title: Advert offering lodging
    kind: job_advert
    score: 60
    match: { s: { benefits.accommodation_provided: true } }
  - id: X-PHONE
    title: Advert phone sponsors a traveller
    score: 60
    correlate:
      key: { job_advert: contact.phone, travel: sponsor.phone }
      window: 90d
      type: kinds
YAML
cat > advert.ndjson <<'JSON'
{"kind":"job_advert","id":"a1","observed_at":"2026-01-01T00:00:00Z","contact":{"phone":"+57 300 123 4567"},"benefits":{"accommodation_provided":true}}
JSON
cat > travel.ndjson <<'JSON'
{"kind":"travel","id":"t1","observed_at":"2026-01-10T00:00:00Z","flight":{"departure_at":"2026-01-10T00:00:00Z"},"sponsor":{"phone":"0057 300 1234567"},"traveller":{"document":{"number":"P1"}}}
JSON
cat > travel2.ndjson <<'JSON'
{"kind":"travel","id":"t2","observed_at":"2026-01-11T00:00:00Z","flight":{"departure_at":"2026-01-11T00:00:00Z"},"sponsor":{"phone":"573001234567"},"traveller":{"document":{"number":"P2"}}}
JSON
fail() { echo "FAIL: $*" >&2; exit 1; }

# A dry run on no database sees nothing stored and creates no file.
out=$("$VIGIA" screen --dry-run travel.ndjson 2>/dev/null)
grep -q '"hits":\[\]' <<<"$out" || fail "dry run without state flagged: $out"
[ ! -e vigia.db ] || fail "dry run created the database"

# First process: the advert; second process: the traveller fires.
"$VIGIA" screen advert.ndjson 2>/dev/null
out=$("$VIGIA" screen --emit travel.ndjson 2>/dev/null)
grep -q '"rule":"X-PHONE"' <<<"$out" || fail "state did not survive: $out"
grep -q '"related":\[{"source":"default","id":"a1","kind":"job_advert"' <<<"$out" \
  || fail "evidence does not name the related advert: $out"

# A dry run reads the state and changes nothing.
before=$(md5sum vigia.db | cut -d' ' -f1)
out=$("$VIGIA" screen --dry-run travel2.ndjson 2>/dev/null)
grep -q '"rule":"X-PHONE"' <<<"$out" || fail "dry run did not read the state: $out"
after=$(md5sum vigia.db | cut -d' ' -f1)
[ "$before" = "$after" ] || fail "dry run changed the database"

# The two cases are linked both ways.
"$VIGIA" case show 1 --json --as tester | grep -q '"linked":\[2\]' \
  || fail "case 1 is not linked to case 2"
"$VIGIA" case show 2 --json --as tester | grep -q '"linked":\[1\]' \
  || fail "case 2 is not linked to case 1"

# A broken correlation rule stops loading with exit 3.
cat > rules/bad.yaml <<'YAML'
rules:
  - id: BAD
    title: Window without a unit
    kind: job_advert
    score: 5
    correlate: { key: contact.phone, window: 30, type: count, gte: 2 }
YAML
set +e
"$VIGIA" rules lint 2>err.txt
rc=$?
set -e
[ "$rc" = 3 ] || fail "lint exit $rc, expected 3"
grep -q 'rules/bad.yaml:6:.*\[bad-correlation\]' err.txt || fail "no bad-correlation diagnostic: $(cat err.txt)"
echo "1 passed, 0 failed"
