/* test_loader.c - the loader's diagnostics through the API (SPEC 2.6): for
 * each broken schema or rule file, the code, place (line and column,
 * pointing at the key or at the wrong value), severity and message of
 * every problem, all of them and sorted; warnings that do not stop
 * loading; and what vg_ruleset_load returns. */
#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigia.h"

static const char schema_t[] = "kind: t\n"
                               "fields:\n"
                               "  name:  { type: string }\n"
                               "  text:  { type: text }\n"
                               "  n:     { type: int }\n"
                               "  flag:  { type: bool }\n"
                               "  sex:   { type: string, protected: true }\n"
                               "  phone: { type: phone }\n"
                               "  tags:  { type: list }\n"
                               "  dt:    { type: datetime }\n"
                               "  birth: { type: date }\n";

/* Every rule file below starts with this head: the selections begin on
 * line 7, indented 6 spaces. */
#define HEAD                                                                   \
  "rules:\n"                                                                   \
  "  - id: A\n"                                                                \
  "    title: a\n"                                                             \
  "    kind: t\n"                                                              \
  "    score: 1\n"                                                             \
  "    match:\n"

struct want {
  const char *code;
  const char *file; /* path relative to the rules dir */
  int line, col;
  enum vg_severity severity;
  const char *message; /* a part of it */
};

struct dcase {
  const char *name;
  const char *file, *text;   /* the file under test */
  const char *file2, *text2; /* an optional second file */
  bool loads;
  struct want want[8];
};

#define E VG_SEV_ERROR
#define W VG_SEV_WARNING

static const struct dcase cases[] = {
    /* ------------------------------------------------- YAML */
    {"yaml syntax",
     "r.yaml",
     "rules:\n  - id: [a, b\n",
     NULL,
     NULL,
     false,
     {{"yaml-syntax", "r.yaml", 2, 9, E, "flow sequence"}}},
    {"unclosed quote",
     "r.yaml",
     HEAD "      s: { name: 'abc }\n",
     NULL,
     NULL,
     false,
     {{"yaml-syntax", "r.yaml", 7, 18, E, "quoted scalar"}}},
    {"two documents",
     "r.yaml",
     "lists: {}\n---\nrules: []\n",
     NULL,
     NULL,
     false,
     {{"yaml-syntax", "r.yaml", 2, 1, E, "one YAML document"}}},
    {"unknown alias",
     "r.yaml",
     "lists:\n  a: *nope\n",
     NULL,
     NULL,
     false,
     {{"yaml-syntax", "r.yaml", 2, 6, E, "unknown alias 'nope'"}}},
    /* An alias inside the node it names would make a cycle. */
    {"alias cycle",
     "r.yaml",
     "macros:\n  m: &m { kind: t, match: { name: x }, description: *m }\n",
     NULL,
     NULL,
     false,
     {{"yaml-syntax", "r.yaml", 2, 53, E, "unknown alias 'm'"}}},
    {"alias bomb",
     "r.yaml",
     "lists:\n"
     "  a: &a [x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x]\n"
     "  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
     "  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     "  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
     "  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
     NULL,
     NULL,
     false,
     {{"yaml-syntax", "r.yaml", 0, 0, E, "aliases expand"}}},
    /* A repeated key would silently override the first. */
    {"duplicate key",
     "r.yaml",
     HEAD "      s: { name: x }\n    condition: s\n    condition: s\n",
     NULL,
     NULL,
     false,
     {{"yaml-syntax", "r.yaml", 9, 5, E, "duplicate key 'condition'"}}},
    {"duplicate key in a flow map",
     "r.yaml",
     HEAD "      s: { name: x, n: 1, name: y }\n",
     NULL,
     NULL,
     false,
     {{"yaml-syntax", "r.yaml", 7, 27, E, "(first at line 7)"}}},
    {"not a mapping",
     "r.yaml",
     "- a\n- b\n",
     NULL,
     NULL,
     false,
     {{"bad-value", "r.yaml", 1, 1, E, "mapping"}}},
    {"unknown top-level key",
     "r.yaml",
     "rule:\n  - id: A\n",
     NULL,
     NULL,
     false,
     {{"unknown-key", "r.yaml", 1, 1, E, "'rule'"}}},
    /* ------------------------------------------------- schemas */
    {"schema without kind",
     "schemas/t.yaml",
     "fields:\n  name: { type: string }\n",
     NULL,
     NULL,
     false,
     {{"missing-key", "schemas/t.yaml", 1, 1, E, "'kind'"}}},
    {"schema unknown key",
     "schemas/t.yaml",
     "kind: t\nfeilds:\n  name: { type: string }\n",
     NULL,
     NULL,
     false,
     {{"unknown-key", "schemas/t.yaml", 2, 1, E, "'feilds'"}}},
    {"field without type",
     "schemas/t.yaml",
     "kind: t\nfields:\n  name: { pii: true }\n",
     NULL,
     NULL,
     false,
     {{"missing-key", "schemas/t.yaml", 3, 9, E, "no 'type'"}}},
    {"unknown type and flag",
     "schemas/t.yaml",
     "kind: t\nfields:\n  name: { type: str }\n"
     "  n:    { type: int, secret: true }\n"
     "  m:    { type: int, pii: yes }\n",
     NULL,
     NULL,
     false,
     {{"bad-value", "schemas/t.yaml", 3, 17, E, "unknown type 'str'"},
      {"unknown-key", "schemas/t.yaml", 4, 22, E, "'secret'"},
      {"bad-value", "schemas/t.yaml", 5, 27, E,
       "'pii' must be true or false"}}},
    {"duplicate field",
     "schemas/t.yaml",
     "kind: t\nfields:\n  a: { type: date }\n  b: { type: date }\n"
     "derived:\n  a: { days_between: [a, b] }\n",
     NULL,
     NULL,
     false,
     {{"duplicate-field", "schemas/t.yaml", 6, 3, E, "'a'"}}},
    {"derived problems",
     "schemas/t.yaml",
     "kind: t\nfields:\n  a: { type: date }\n  b: { type: string }\n"
     "  l: { type: list }\n"
     "derived:\n"
     "  x: { weeks_between: [a, a] }\n"
     "  y: { days_between: [a, b] }\n"
     "  z: { days_between: [a, bb] }\n"
     "  w: { count: a }\n"
     "  v: { days_between: [a] }\n",
     NULL,
     NULL,
     false,
     {{"unknown-key", "schemas/t.yaml", 7, 8, E, "'weeks_between'"},
      {"type-mismatch", "schemas/t.yaml", 8, 26, E, "'b' is string"},
      {"unknown-field", "schemas/t.yaml", 9, 26, E, "did you mean 'b'"},
      {"type-mismatch", "schemas/t.yaml", 10, 15, E, "count needs a list"},
      {"bad-value", "schemas/t.yaml", 11, 22, E, "two field paths"}}},
    {"unknown subject",
     "schemas/t.yaml",
     "kind: t\nsubject: doc\nfields:\n  name: { type: string }\n",
     NULL,
     NULL,
     false,
     {{"unknown-field", "schemas/t.yaml", 2, 10, E, "'doc'"}}},
    {"duplicate kind",
     "schemas/u.yaml",
     "kind: t\n",
     NULL,
     NULL,
     false,
     {{"duplicate-kind", "schemas/u.yaml", 1, 7, E, "already declared"}}},
    /* ------------------------------------------------- rule keys */
    {"unknown rule key",
     "r.yaml",
     HEAD "      s: { name: x }\n    sevrity: 3\n",
     NULL,
     NULL,
     false,
     {{"unknown-key", "r.yaml", 8, 5, E, "'sevrity'"}}},
    {"missing title and score",
     "r.yaml",
     "rules:\n  - id: A\n    kind: t\n    match:\n      s: { name: x }\n",
     NULL,
     NULL,
     false,
     {{"missing-key", "r.yaml", 2, 5, E, "no 'title'"},
      {"missing-key", "r.yaml", 2, 5, E, "no 'score'"}}},
    {"bad values",
     "r.yaml",
     "rules:\n"
     "  - id: 'A B'\n"
     "    title: a\n"
     "    kind: t\n"
     "    score: 101\n"
     "    enabled: maybe\n"
     "    route: nowhere\n"
     "    tags: { a: b }\n"
     "    match:\n"
     "      s: { name: x }\n",
     NULL,
     NULL,
     false,
     {{"bad-value", "r.yaml", 2, 9, E, "letters, digits"},
      {"bad-value", "r.yaml", 5, 12, E, "from 1 to 100"},
      {"bad-value", "r.yaml", 6, 14, E, "'enabled'"},
      {"bad-value", "r.yaml", 7, 12, E, "unknown route 'nowhere'"},
      {"bad-value", "r.yaml", 8, 11, E, "'tags'"}}},
    {"multi-line title",
     "r.yaml",
     "rules:\n  - id: A\n    title: |\n      one\n      two\n    kind: t\n"
     "    score: 1\n    match:\n      s: { name: x }\n",
     NULL,
     NULL,
     false,
     {{"bad-value", "r.yaml", 3, 12, E, "one line"}}},
    {"unknown kind",
     "r.yaml",
     "rules:\n  - id: A\n    title: a\n    kind: travel\n    score: 1\n"
     "    match:\n      s: { name: x }\n",
     NULL,
     NULL,
     false,
     {{"unknown-kind", "r.yaml", 4, 11, E, "'travel'"}}},
    {"two selections, no condition",
     "r.yaml",
     HEAD "      s: { name: x }\n      u: { n: 1 }\n",
     NULL,
     NULL,
     false,
     {{"missing-key", "r.yaml", 7, 7, E, "no 'condition'"}}},
    {"duplicate id in one file",
     "r.yaml",
     HEAD
     "      s: { name: x }\n"
     "  - { id: A, title: b, kind: t, score: 1, match: { s: { n: 1 } } }\n",
     NULL,
     NULL,
     false,
     {{"duplicate-id", "r.yaml", 2, 5, E, "used again at"},
      {"duplicate-id", "r.yaml", 8, 11, E, "already used at"}}},
    {"bad test entries",
     "r.yaml",
     HEAD "      s: { name: x }\n"
          "    tests:\n"
          "      - record: { kind: t }\n"
          "        expect: maybe\n"
          "      - expect: match\n"
          "        score: 101\n",
     NULL,
     NULL,
     false,
     {{"bad-value", "r.yaml", 10, 17, E, "'expect: match'"},
      {"missing-key", "r.yaml", 11, 9, E, "'record'"},
      {"bad-value", "r.yaml", 12, 16, E, "'score'"}}},
    /* ------------------------------------------------- tests */
    {"unknown field with a suggestion",
     "r.yaml",
     HEAD "      s: { nmae: x }\n",
     NULL,
     NULL,
     false,
     {{"unknown-field", "r.yaml", 7, 12, E, "(did you mean 'name'?)"}}},
    {"unknown field far from any",
     "r.yaml",
     HEAD "      s: { zzzzzzzz: x }\n",
     NULL,
     NULL,
     false,
     {{"unknown-field", "r.yaml", 7, 12, E, "unknown field 'zzzzzzzz'"}}},
    {"unknown modifier",
     "r.yaml",
     HEAD "      s: { name|startwith: x }\n",
     NULL,
     NULL,
     false,
     {{"unknown-modifier", "r.yaml", 7, 12, E, "'startwith'"}}},
    {"bad modifiers",
     "r.yaml",
     HEAD "      s:\n"
          "        name|contains|startswith: x\n"
          "        text|contains|s: x\n"
          "        n|cased: 1\n"
          "        flag|all: true\n"
          "        name|in|fieldref: l\n",
     NULL,
     NULL,
     false,
     {{"bad-modifier", "r.yaml", 8, 9, E, "another comparison"},
      {"bad-modifier", "r.yaml", 9, 9, E, "'re' only"},
      {"bad-modifier", "r.yaml", 10, 9, E, "cased"},
      {"bad-modifier", "r.yaml", 11, 9, E, "list of values"},
      {"bad-modifier", "r.yaml", 12, 9, E, "fieldref"}}},
    /* A modifier that does not fit the field's type: at the key. */
    {"type mismatches at the key",
     "r.yaml",
     HEAD "      s:\n"
          "        flag|gt: 1\n"
          "        n|contains: 1\n"
          "        n|re: '1'\n"
          "        phone|fuzzy: l\n"
          "        birth|in: l\n",
     NULL,
     NULL,
     false,
     {{"type-mismatch", "r.yaml", 8, 9, E, "'gt' cannot be used on 'flag'"},
      {"type-mismatch", "r.yaml", 9, 9, E, "'contains'"},
      {"type-mismatch", "r.yaml", 10, 9, E, "'re'"},
      {"type-mismatch", "r.yaml", 11, 9, E, "'fuzzy'"},
      {"type-mismatch", "r.yaml", 12, 9, E, "'in'"}}},
    /* A value that does not fit: at the value. */
    {"type mismatches at the value",
     "r.yaml",
     HEAD "      s:\n"
          "        n: '5'\n"
          "        flag: 'yes'\n"
          "        name: true\n"
          "        dt|gt: 2026-13-01\n"
          "        name|exists: maybe\n",
     NULL,
     NULL,
     false,
     {{"type-mismatch", "r.yaml", 8, 12, E, "expected a number"},
      {"type-mismatch", "r.yaml", 9, 15, E, "true or false"},
      {"type-mismatch", "r.yaml", 10, 15, E, "quote 'true'"},
      {"type-mismatch", "r.yaml", 11, 16, E, "expected a date"},
      {"type-mismatch", "r.yaml", 12, 22, E, "true or false"}}},
    {"null value",
     "r.yaml",
     HEAD "      s: { name: null, n: [1, ~] }\n",
     NULL,
     NULL,
     false,
     {{"type-mismatch", "r.yaml", 7, 18, E, "exists: false"},
      {"type-mismatch", "r.yaml", 7, 31, E, "here (to test"}}},
    {"phone without digits",
     "r.yaml",
     HEAD "      s: { phone: abc }\n",
     NULL,
     NULL,
     false,
     {{"type-mismatch", "r.yaml", 7, 19, E, "no digits"}}},
    {"empty value list",
     "r.yaml",
     HEAD "      s: { name: [] }\n",
     NULL,
     NULL,
     false,
     {{"bad-value", "r.yaml", 7, 18, E, "empty list"}}},
    {"bad regex with offset",
     "r.yaml",
     HEAD "      s: { text|re: 'ab[c' }\n",
     NULL,
     NULL,
     false,
     {{"bad-regex", "r.yaml", 7, 26, E,
       "missing terminating ] for character class at offset 4"}}},
    {"bad regex, plain scalar",
     "r.yaml",
     HEAD "      s:\n        text|re: a{2,1}b\n",
     NULL,
     NULL,
     false,
     {{"bad-regex", "r.yaml", 8, 23, E, "out of order"}}},
    /* The column counts characters: PCRE2's byte offset 8 is 5 characters
     * after the quote. */
    {"bad regex after accents",
     "r.yaml",
     HEAD "      s: { text|re: 'ñññ(a' }\n",
     NULL,
     NULL,
     false,
     {{"bad-regex", "r.yaml", 7, 27, E, "at offset 8"}}},
    {"fieldref problems",
     "r.yaml",
     HEAD "      s:\n"
          "        name|fieldref: txet\n"
          "        n|fieldref: name\n"
          "        dt|gt|fieldref: birth\n",
     NULL,
     NULL,
     false,
     {{"unknown-field", "r.yaml", 8, 24, E, "did you mean 'text'"},
      {"type-mismatch", "r.yaml", 9, 21, E, "cannot be compared"}}},
    {"unknown list",
     "r.yaml",
     HEAD "      s: { name|in: nolist }\n",
     NULL,
     NULL,
     false,
     {{"unknown-list", "r.yaml", 7, 21, E, "'nolist'"}}},
    /* ------------------------------------------------- lists */
    {"list problems",
     "r.yaml",
     "lists:\n"
     "  a: { items: [x], threshold: 1.5 }\n"
     "  b: { items: x }\n"
     "  c: { itms: [x] }\n"
     "  d: [x, [y]]\n",
     NULL,
     NULL,
     false,
     {{"unused-list", "r.yaml", 2, 3, W, "'a'"},
      {"bad-value", "r.yaml", 2, 31, E, "'threshold'"},
      {"unused-list", "r.yaml", 3, 3, W, "'b'"},
      {"bad-value", "r.yaml", 3, 15, E, "sequence"},
      {"unused-list", "r.yaml", 4, 3, W, "'c'"},
      {"unknown-key", "r.yaml", 4, 8, E, "'itms'"},
      {"unused-list", "r.yaml", 5, 3, W, "'d'"},
      {"bad-value", "r.yaml", 5, 10, E, "plain values"}}},
    {"list file missing",
     "r.yaml",
     "lists:\n  a: { file: gone.txt }\n",
     NULL,
     NULL,
     false,
     {{"unused-list", "r.yaml", 2, 3, W, "'a'"},
      {"list-file", "r.yaml", 2, 14, E, "gone.txt"}}},
    {"duplicate list",
     "a.yaml",
     "lists:\n  l: [x]\n",
     "b.yaml",
     "lists:\n  l: [y]\n",
     false,
     {{"unused-list", "a.yaml", 2, 3, W, "'l'"},
      {"duplicate-list", "b.yaml", 2, 3, E, "a.yaml:2"}}},
    /* ------------------------------------------------- macros */
    {"macro problems",
     "r.yaml",
     "macros:\n"
     "  a: { kind: t }\n"
     "  b: { kind: nope, match: { name: x } }\n"
     "  c: { kind: t, match: { name: x }, extra: 1 }\n"
     "  d: x\n",
     NULL,
     NULL,
     false,
     {{"missing-key", "r.yaml", 2, 6, E, "'match'"},
      {"unknown-kind", "r.yaml", 3, 14, E, "'nope'"},
      {"unknown-key", "r.yaml", 4, 37, E, "'extra'"},
      {"bad-value", "r.yaml", 5, 6, E, "'kind' and 'match'"}}},
    {"duplicate macro",
     "a.yaml",
     "macros:\n  m: { kind: t, match: { n: 1 } }\n",
     "b.yaml",
     "macros:\n  m: { kind: t, match: { n: 2 } }\n",
     false,
     {{"unused-macro", "a.yaml", 2, 3, W, "'m'"},
      {"duplicate-macro", "b.yaml", 2, 3, E, "a.yaml:2"}}},
    /* ------------------------------------------------- conditions */
    {"unknown selection",
     "r.yaml",
     HEAD "      s: { name: x }\n    condition: s and t\n",
     NULL,
     NULL,
     false,
     {{"unknown-selection", "r.yaml", 8, 22, E, "'t'"}}},
    {"unknown selection, quoted",
     "r.yaml",
     HEAD "      s: { name: x }\n    condition: 's and t'\n",
     NULL,
     NULL,
     false,
     {{"unknown-selection", "r.yaml", 8, 23, E, "'t'"}}},
    /* Columns count characters, not bytes. */
    {"unknown selection after accents",
     "r.yaml",
     HEAD "      señal: { name: x }\n    condition: señal and t\n",
     NULL,
     NULL,
     false,
     {{"unknown-selection", "r.yaml", 8, 26, E, "'t'"}}},
    {"no selection matches the pattern",
     "r.yaml",
     HEAD "      s: { name: x }\n    condition: 1 of z*\n",
     NULL,
     NULL,
     false,
     {{"unknown-selection", "r.yaml", 8, 21, E, "'z*'"}}},
    {"macro of another kind",
     "r.yaml",
     "macros:\n  m: { kind: u, match: { city: x } }\n" HEAD
     "      s: { name: x }\n    condition: s and m\n",
     "schemas/u.yaml",
     "kind: u\nfields:\n  city: { type: string }\n",
     false,
     {{"unused-macro", "r.yaml", 2, 3, W, "'m'"},
      {"unknown-macro", "r.yaml", 10, 22, E, "kind 'u', not 't'"}}},
    {"condition does not parse",
     "r.yaml",
     HEAD
     "      s: { name: x }\n      u: { n: 1 }\n    condition: s and (u or\n",
     NULL,
     NULL,
     false,
     {{"bad-condition", "r.yaml", 9, 27, E, "ends where a selection"}}},
    {"unclosed parenthesis",
     "r.yaml",
     HEAD "      s: { name: x }\n      u: { n: 1 }\n    condition: s and (u\n",
     NULL,
     NULL,
     false,
     {{"bad-condition", "r.yaml", 9, 22, E, "not closed"}}},
    {"extra parenthesis",
     "r.yaml",
     HEAD "      s: { name: x }\n      u: { n: 1 }\n    condition: s and u)\n",
     NULL,
     NULL,
     false,
     {{"bad-condition", "r.yaml", 9, 23, E, "')'"}}},
    {"bad character",
     "r.yaml",
     HEAD "      s: { name: x }\n      u: { n: 1 }\n    condition: s && u\n",
     NULL,
     NULL,
     false,
     {{"bad-condition", "r.yaml", 9, 18, E, "'&'"}}},
    {"quantifier too large",
     "r.yaml",
     HEAD "      s: { name: x }\n      u: { n: 1 }\n    condition: 3 of them\n",
     NULL,
     NULL,
     false,
     {{"bad-condition", "r.yaml", 9, 16, E, "never hold"}}},
    /* A count past the integer range does not wrap round to a small one. */
    {"quantifier overflowing",
     "r.yaml",
     HEAD "      s: { name: x }\n      u: { n: 1 }\n"
          "    condition: 18446744073709551617 of them\n",
     NULL,
     NULL,
     false,
     {{"bad-condition", "r.yaml", 9, 16, E, "never hold"}}},
    {"empty condition",
     "r.yaml",
     HEAD "      s: { name: x }\n      u: { n: 1 }\n    condition: ''\n",
     NULL,
     NULL,
     false,
     {{"bad-condition", "r.yaml", 9, 17, E, "empty"}}},
    {"condition not text",
     "r.yaml",
     HEAD "      s: { name: x }\n      u: { n: 1 }\n    condition: [s, u]\n",
     NULL,
     NULL,
     false,
     {{"bad-condition", "r.yaml", 9, 16, E, "expression"}}},
    /* ------------------------------------------------- fairness */
    {"fairness",
     "r.yaml",
     HEAD "      s: { sex: f }\n      u: { n: 1 }\n    condition: u or s\n",
     NULL,
     NULL,
     false,
     {{"fairness", "r.yaml", 9, 16, E, "'s (sex)'"}}},
    {"fairness, single selection",
     "r.yaml",
     HEAD "      s: { sex: f }\n",
     NULL,
     NULL,
     false,
     {{"fairness", "r.yaml", 7, 7, E, "rule A"}}},
    /* ------------------------------------------------- warnings */
    {"warnings load",
     "r.yaml",
     "lists:\n  spare: [a]\n"
     "macros:\n  m: { kind: t, match: { n: 1 } }\n" HEAD
     "      s: { text|re: '\\d+' }\n      u: { n: 1 }\n    condition: s\n",
     NULL,
     NULL,
     true,
     {{"unused-list", "r.yaml", 2, 3, W, "'spare'"},
      {"unused-macro", "r.yaml", 4, 3, W, "'m'"},
      {"regex-no-literal", "r.yaml", 11, 21, W, "'text|re'"},
      {"unused-selection", "r.yaml", 12, 7, W, "'u' of rule A"}}},
    /* A list used only by a macro no rule uses is still used. */
    {"list used by a macro",
     "r.yaml",
     "lists:\n  l: [a]\nmacros:\n  m: { kind: t, match: { name|in: l } }\n",
     NULL,
     NULL,
     true,
     {{"unused-macro", "r.yaml", 4, 3, W, "'m'"}}},
};

static bool matches(const struct vg_diag *d, const struct want *w,
                    const char *dir) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, w->file);
  if (strcmp(d->code, w->code) || !d->file || strcmp(d->file, path) ||
      d->severity != w->severity || !strstr(d->message, w->message))
    return false;
  /* Line 0 in a case: any place (the place is not the point). */
  return w->line == 0 || (d->line == w->line && d->col == w->col);
}

static void dump(const struct vg_diags *d) {
  for (size_t i = 0; i < d->count; i++)
    fprintf(stderr, "    %s:%d:%d: %s: %s [%s]\n",
            d->items[i].file ? d->items[i].file : "-", d->items[i].line,
            d->items[i].col, d->items[i].severity ? "warning" : "error",
            d->items[i].message, d->items[i].code);
}

static int run_case(const struct dcase *c) {
  char *dir = vgt_tempdir();
  assert_non_null(dir);
  char path[1024];
  snprintf(path, sizeof path, "%s/schemas/t.yaml", dir);
  assert_int_equal(vgt_write_file(path, schema_t), 0);
  snprintf(path, sizeof path, "%s/%s", dir, c->file);
  assert_int_equal(vgt_write_file(path, c->text), 0);
  if (c->file2) {
    snprintf(path, sizeof path, "%s/%s", dir, c->file2);
    assert_int_equal(vgt_write_file(path, c->text2), 0);
  }
  struct vg_config cfg;
  vg_config_init(&cfg);
  struct vg_diags d;
  vg_diags_init(&d);
  vg_ruleset *rs = (vg_ruleset *)&cfg; /* must stay untouched on failure */
  int rc = vg_ruleset_load(dir, &cfg, &d, &rs);
  int failed = 0;
  size_t nwant = 0, werrors = 0, wwarnings = 0;
  while (nwant < 8 && c->want[nwant].code) {
    if (c->want[nwant].severity == VG_SEV_ERROR)
      werrors++;
    else
      wwarnings++;
    nwant++;
  }
  if (c->loads ? rc != VG_OK : rc != VG_EINVAL) {
    fprintf(stderr, "%s: load returned %d\n", c->name, rc);
    failed = 1;
  }
  if (!c->loads && rs != (vg_ruleset *)&cfg) {
    fprintf(stderr, "%s: *out changed on failure\n", c->name);
    failed = 1;
  }
  /* Exactly the expected diagnostics, in order. */
  if (d.count != nwant || d.errors != werrors || d.warnings != wwarnings) {
    fprintf(stderr,
            "%s: %zu diagnostics (%zu errors, %zu warnings), want "
            "%zu (%zu, %zu)\n",
            c->name, d.count, d.errors, d.warnings, nwant, werrors, wwarnings);
    failed = 1;
  } else {
    for (size_t i = 0; i < nwant; i++)
      if (!matches(&d.items[i], &c->want[i], dir)) {
        fprintf(stderr, "%s: diagnostic %zu is not %s at %s:%d:%d (%s)\n",
                c->name, i, c->want[i].code, c->want[i].file, c->want[i].line,
                c->want[i].col, c->want[i].message);
        failed = 1;
      }
  }
  if (failed)
    dump(&d);
  if (c->loads && rc == VG_OK)
    vg_ruleset_free(rs);
  vg_diags_close(&d);
  vg_config_close(&cfg);
  vgt_rmtree(dir);
  free(dir);
  return failed;
}

static void test_diagnostics(void **state) {
  (void)state;
  int failures = 0;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    failures += run_case(&cases[i]);
  assert_int_equal(failures, 0);
}

/* Problems in several files: every one is reported, sorted by file, line
 * and column, whatever order they were found in; the two rules named A
 * are broken and still reported as duplicates, at both places. */
static void test_all_reported_sorted(void **state) {
  (void)state;
  char *dir = vgt_tempdir();
  assert_non_null(dir);
  char path[1024];
  snprintf(path, sizeof path, "%s/schemas/t.yaml", dir);
  vgt_write_file(path, schema_t);
  snprintf(path, sizeof path, "%s/b/z.yaml", dir);
  vgt_write_file(path, HEAD "      s: { nmae: x, n|gt: abc }\n");
  snprintf(path, sizeof path, "%s/a.yml", dir);
  vgt_write_file(path, "lists:\n  l: { file: none.txt }\n"
                       "rules:\n"
                       "  - id: A\n"
                       "    title: a\n"
                       "    kind: t\n"
                       "    match:\n"
                       "      s: { name|in: l, text|re: '(' }\n"
                       "    score: 0\n");
  snprintf(path, sizeof path, "%s/notes.txt", dir);
  vgt_write_file(path, "not yaml: [ at all\n");
  struct vg_config cfg;
  vg_config_init(&cfg);
  struct vg_diags d;
  vg_diags_init(&d);
  vg_ruleset *rs = NULL;
  assert_int_equal(vg_ruleset_load(dir, &cfg, &d, &rs), VG_EINVAL);
  assert_null(rs);
  static const struct {
    const char *file, *code;
    int line, col;
  } want[] = {
      {"a.yml", "list-file", 2, 14},       {"a.yml", "duplicate-id", 4, 5},
      {"a.yml", "bad-regex", 8, 35},       {"a.yml", "bad-value", 9, 12},
      {"b/z.yaml", "duplicate-id", 2, 9},  {"b/z.yaml", "unknown-field", 7, 12},
      {"b/z.yaml", "type-mismatch", 7, 27}};
  size_t n = sizeof want / sizeof *want;
  if (d.count != n)
    dump(&d);
  assert_int_equal(d.count, n);
  assert_int_equal(d.errors, n);
  for (size_t i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, want[i].file);
    if (strcmp(d.items[i].file, path) ||
        strcmp(d.items[i].code, want[i].code) ||
        d.items[i].line != want[i].line || d.items[i].col != want[i].col) {
      dump(&d);
      fail_msg("diagnostic %zu should be %s at %s:%d:%d", i, want[i].code,
               want[i].file, want[i].line, want[i].col);
    }
  }
  vg_diags_close(&d);
  vg_config_close(&cfg);
  vgt_rmtree(dir);
  free(dir);
}

/* A directory that is not there, and one without schemas. */
static void test_missing_directories(void **state) {
  (void)state;
  struct vg_config cfg;
  vg_config_init(&cfg);
  struct vg_diags d;
  vg_diags_init(&d);
  vg_ruleset *rs = NULL;
  assert_int_equal(vg_ruleset_load("/nonexistent/vigia/rules", &cfg, &d, &rs),
                   VG_EIO);
  assert_null(rs);
  assert_int_equal(d.count, 1);
  assert_string_equal(d.items[0].code, "io");
  assert_int_equal(d.items[0].line, 0);
  vg_diags_close(&d);

  char *dir = vgt_tempdir();
  assert_non_null(dir);
  char path[1024];
  snprintf(path, sizeof path, "%s/r.yaml", dir);
  vgt_write_file(path, "rules: []\n");
  vg_diags_init(&d);
  assert_true(vg_ruleset_load(dir, &cfg, &d, &rs) < 0);
  assert_null(rs);
  assert_true(d.errors >= 1);
  assert_string_equal(d.items[0].code, "io");
  assert_non_null(strstr(d.items[0].file, "schemas"));
  vg_diags_close(&d);
  /* A schemas folder without any schema. */
  snprintf(path, sizeof path, "%s/schemas/README", dir);
  vgt_write_file(path, "nothing here\n");
  vg_diags_init(&d);
  assert_int_equal(vg_ruleset_load(dir, &cfg, &d, &rs), VG_EINVAL);
  assert_null(rs);
  assert_int_equal(d.count, 1);
  assert_string_equal(d.items[0].code, "io");
  vg_diags_close(&d);
  /* Rules files that are empty documents, and no rule at all, load. */
  snprintf(path, sizeof path, "%s/schemas/t.yaml", dir);
  vgt_write_file(path, schema_t);
  snprintf(path, sizeof path, "%s/empty.yaml", dir);
  vgt_write_file(path, "");
  snprintf(path, sizeof path, "%s/comment.yml", dir);
  vgt_write_file(path, "# nothing yet\n");
  vg_diags_init(&d);
  assert_int_equal(vg_ruleset_load(dir, &cfg, &d, &rs), VG_OK);
  assert_non_null(rs);
  assert_int_equal(d.count, 0);
  assert_int_equal(vg_ruleset_rule_count(rs), 0);
  vg_ruleset_free(rs);
  vg_diags_close(&d);
  vg_config_close(&cfg);
  vgt_rmtree(dir);
  free(dir);
}

/* The config file's own diagnostics. */
static void test_config_diagnostics(void **state) {
  (void)state;
  char *dir = vgt_tempdir();
  assert_non_null(dir);
  char path[1024];
  snprintf(path, sizeof path, "%s/vigia.yaml", dir);
  vgt_write_file(path, "db: x.db\n"
                       "thresholds: { travel: 0, job_advert: 60 }\n"
                       "phone_country_code: '+57'\n"
                       "limits: { max_record_bytes: 10, other: 1 }\n"
                       "colour: blue\n"
                       "retention_days: 30\n");
  struct vg_config cfg;
  vg_config_init(&cfg);
  struct vg_diags d;
  vg_diags_init(&d);
  assert_int_equal(vg_config_load(&cfg, path, &d), VG_EINVAL);
  vg_diags_sort(&d);
  static const struct {
    const char *code;
    int line, col;
  } want[] = {{"bad-value", 2, 23},
              {"bad-value", 3, 21},
              {"bad-value", 4, 29},
              {"unknown-key", 4, 33},
              {"unknown-key", 5, 1}};
  if (d.count != 5)
    dump(&d);
  assert_int_equal(d.count, 5);
  for (size_t i = 0; i < 5; i++)
    if (strcmp(d.items[i].code, want[i].code) ||
        d.items[i].line != want[i].line || d.items[i].col != want[i].col) {
      dump(&d);
      fail_msg("config diagnostic %zu should be %s at %d:%d", i, want[i].code,
               want[i].line, want[i].col);
    }
  /* What was right was still read. */
  assert_string_equal(cfg.db, "x.db");
  assert_int_equal(vg_config_threshold(&cfg, "job_advert"), 60);
  assert_int_equal(vg_config_threshold(&cfg, "travel"), VG_DEFAULT_THRESHOLD);
  assert_int_equal(cfg.retention_days, 30);
  vg_diags_close(&d);
  vg_config_close(&cfg);
  /* A config that is not there. */
  vg_config_init(&cfg);
  vg_diags_init(&d);
  snprintf(path, sizeof path, "%s/none.yaml", dir);
  assert_int_equal(vg_config_load(&cfg, path, &d), VG_EIO);
  assert_int_equal(d.count, 1);
  assert_string_equal(d.items[0].code, "io");
  vg_diags_close(&d);
  vg_config_close(&cfg);
  vgt_rmtree(dir);
  free(dir);
}

static void test_diags_list(void **state) {
  (void)state;
  struct vg_diags d;
  vg_diags_init(&d);
  vg_diags_add(&d, VG_SEV_ERROR, "b", 1, 1, "x-y", "one %d", 1);
  vg_diags_add(&d, VG_SEV_WARNING, "a", 9, 2, "x-y", "two");
  vg_diags_add(&d, VG_SEV_ERROR, "a", 9, 1, "x-y", "three");
  vg_diags_add(&d, VG_SEV_ERROR, "a", 2, 5, "x-y", "four");
  vg_diags_add(&d, VG_SEV_ERROR, "a", 2, 5, "x-y", "five");
  vg_diags_add(&d, VG_SEV_ERROR, NULL, 0, 0, "io", "six");
  assert_int_equal(d.count, 6);
  assert_int_equal(d.errors, 5);
  assert_int_equal(d.warnings, 1);
  vg_diags_sort(&d);
  static const char *const order[] = {"six",   "four", "five",
                                      "three", "two",  "one 1"};
  for (size_t i = 0; i < 6; i++)
    assert_string_equal(d.items[i].message, order[i]);
  assert_null(d.items[0].file);
  vg_diags_close(&d);
  vg_diags_close(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_diagnostics),
      cmocka_unit_test(test_all_reported_sorted),
      cmocka_unit_test(test_missing_directories),
      cmocka_unit_test(test_config_diagnostics),
      cmocka_unit_test(test_diags_list),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
