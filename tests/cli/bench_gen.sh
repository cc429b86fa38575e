#!/usr/bin/env bash
# bench_gen.sh - the benchmark generator (bench/gen.c) gives the same bytes
# for a seed and writes well-formed JSON lines of the three record kinds.
set -euo pipefail
export LC_ALL=C

src=${VG_SOURCE_DIR:?VG_SOURCE_DIR is not set}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# The generator sits in the build tree next to vigia; without one, build it
# here: it needs only libc.
gen=
if [[ -n ${VIGIA-} && -x $(dirname "$VIGIA")/bench/vg_bench_gen ]]; then
  gen=$(dirname "$VIGIA")/bench/vg_bench_gen
else
  gen=$tmp/vg_bench_gen
  cc -std=c11 -O2 -D_GNU_SOURCE -o "$gen" "$src/bench/gen.c" ||
    fail "cannot compile bench/gen.c"
fi

n=3000
"$gen" --seed 7 --count $n >"$tmp/a.ndjson"
"$gen" --count $n --seed 7 >"$tmp/b.ndjson"
"$gen" --seed 8 --count $n >"$tmp/c.ndjson"

# --- determinism
cmp -s "$tmp/a.ndjson" "$tmp/b.ndjson" || fail "same seed, different output"
cmp -s "$tmp/a.ndjson" "$tmp/c.ndjson" && fail "seeds 7 and 8 gave the same output"
[[ $("$gen" --seed 7 --count 0 | wc -c) -eq 0 ]] || fail "--count 0 wrote something"

# --- one record per line, each with the common head
lines=$(wc -l <"$tmp/a.ndjson")
[[ $lines -eq $n ]] || fail "expected $n lines, got $lines"
head_re='^\{"kind":"(travel|job_advert|premises)","id":"(tr|ja|in)-[0-9]{10}","source":"[^"]+","observed_at":"20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z",.*\}$'
bad=$(grep -cvE "$head_re" "$tmp/a.ndjson" || true)
[[ $bad -eq 0 ]] || fail "$bad lines lack the common head: $(grep -vE "$head_re" "$tmp/a.ndjson" | head -n 1)"

# --- the mix holds every kind in a fair share; ids are unique
for kind in travel job_advert premises; do
  k=$(grep -c "^{\"kind\":\"$kind\"" "$tmp/a.ndjson" || true)
  ((k >= n / 10)) || fail "only $k $kind records in $n"
done
dups=$(grep -oE '^\{"kind":"[a-z_]+","id":"[^"]+"' "$tmp/a.ndjson" | sort | uniq -d | head -n 3)
[[ -z $dups ]] || fail "duplicate ids: $dups"

# --- structure: strings closed with valid escapes, no raw control bytes,
# brackets balanced, nothing after the object, only JSON tokens outside
# strings.
awk '
  function err(msg) { printf "line %d: %s\n", NR, msg; bad++ }
  {
    line = $0; n = length(line); instr = 0; stack = ""
    for (i = 1; i <= n; i++) {
      c = substr(line, i, 1)
      if (instr) {
        if (c == "\\") {
          e = substr(line, i + 1, 1)
          if (e == "u") {
            if (substr(line, i + 2, 4) !~ /^[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]$/) {
              err("bad \\u escape"); next
            }
            i += 5
          } else if (e == "" || index("\"\\/bfnrt", e) == 0) {
            err("bad escape \\" e); next
          } else i++
        } else if (c == "\"") instr = 0
        else if (c < " ") { err("control byte in a string"); next }
      } else if (c == "\"") instr = 1
      else if (c == "{" || c == "[") stack = stack c
      else if (c == "}" || c == "]") {
        top = substr(stack, length(stack), 1)
        if ((c == "}" && top != "{") || (c == "]" && top != "[")) {
          err("unbalanced " c); next
        }
        stack = substr(stack, 1, length(stack) - 1)
        if (stack == "" && i != n) { err("text after the object"); next }
      } else if (index("-0123456789.eE+:,truefalsn", c) == 0) {
        err("stray character " c " at " i); next
      }
    }
    if (instr || stack != "") err("unterminated string or object")
  }
  END { exit bad > 0 }
' "$tmp/a.ndjson" >"$tmp/awk.txt" || fail "malformed JSON: $(head -n 3 "$tmp/awk.txt")"

if command -v iconv >/dev/null 2>&1; then
  iconv -f UTF-8 -t UTF-8 "$tmp/a.ndjson" >/dev/null || fail "output is not valid UTF-8"
fi

# --- advert text carries accents and every common JSON escape
grep -q 'ñ' "$tmp/a.ndjson" || fail "no ñ anywhere"
grep -q 'ã' "$tmp/a.ndjson" || fail "no Portuguese text (ã)"
for esc in '\u00e9' '\"' '\n'; do
  grep -qF "$esc" "$tmp/a.ndjson" || fail "no $esc escape in $n records"
done

# --- required fields of each kind are there
grep '^{"kind":"travel"' "$tmp/a.ndjson" | grep -vqF '"departure_at":"' &&
  fail "a travel record without flight.departure_at"
grep '^{"kind":"job_advert"' "$tmp/a.ndjson" | grep -vqE '"text":"[^"]' &&
  fail "a job advert without text"

# --- lures follow --lure-rate: none at 0, in every advert at 1
lure_re='viaje pagado|sin experiencia|hospedaje incluido|solo whatsapp|passagem paga|sem experiência|somente pelo whatsapp|travel paid|no experience needed|whatsapp only'
none=$("$gen" --seed 3 --count 2000 --kind job_advert --lure-rate 0 | grep -ciE "$lure_re" || true)
[[ $none -eq 0 ]] || fail "$none adverts carry lures at --lure-rate 0"
all=$("$gen" --seed 3 --count 2000 --kind job_advert --lure-rate 1 | grep -ciE "$lure_re" || true)
[[ $all -eq 2000 ]] || fail "only $all of 2000 adverts carry lures at --lure-rate 1"
some=$("$gen" --seed 3 --count 2000 --kind job_advert --lure-rate 1 |
  grep -ciE 'tres uno|uno dos|[0-9O]l[0-9O]|[0-9]O[0-9-]|um dois|one two' || true)
((some > 0)) || fail "no advert writes its phone to evade scrapers"
others=$("$gen" --seed 3 --count 500 --kind travel | grep -vc '^{"kind":"travel"' || true)
[[ $others -eq 0 ]] || fail "--kind travel wrote other kinds"

# --- bad arguments are usage errors (2)
for args in "--count abc" "--count" "--seed -1" "--kind boat" "--lure-rate 2" \
  "--lure-rate x" "--bogus 1"; do
  status=0
  # shellcheck disable=SC2086 # the arguments are meant to split
  "$gen" $args >"$tmp/out" 2>"$tmp/err" || status=$?
  [[ $status -eq 2 ]] || fail "'$args' exited $status, expected 2"
  [[ -s $tmp/err && ! -s $tmp/out ]] || fail "'$args': expected a message on stderr only"
done
"$gen" --help | grep -q '^usage:' || fail "--help prints no usage"

# --- the records pass the shipped schemas and the reference rules fire on
# them: every record is screened, none rejected, some flagged.
if [[ -n ${VIGIA-} && -x $VIGIA ]]; then
  mkdir -p "$tmp/rules/schemas"
  cp "$src"/bench/rules/*.yaml "$tmp/rules/"
  cp "$src"/rules/schemas/*.yaml "$tmp/rules/schemas/"
  status=0
  (cd "$tmp" && "$VIGIA" screen --dry-run --rules "$tmp/rules" \
    --db "$tmp/absent.db" "$tmp/a.ndjson" >/dev/null 2>"$tmp/screen.err") || status=$?
  [[ $status -eq 0 ]] || fail "vigia screen exited $status: $(tail -n 5 "$tmp/screen.err")"
  grep -qE "read $n, screened $n,.* rejected 0" "$tmp/screen.err" ||
    fail "not every record was screened: $(tail -n 3 "$tmp/screen.err")"
  flagged=$(sed -nE 's/^read [0-9]+, screened [0-9]+, flagged ([0-9]+),.*/\1/p' "$tmp/screen.err")
  ((${flagged:-0} > 0)) || fail "the reference rules flagged nothing in $n records"
fi

echo "bench_gen: ok"
