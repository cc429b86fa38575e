/* test_engine.c - semantic tests of the rule language through the public
 * API (SPEC 1, 2, 6): small schemas and rules written to a temporary
 * directory, loaded with vg_ruleset_load and run against JSON records. Most
 * cases are tables: a selection, a record, whether the rule fires. */
#include "testutil.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigia.h"

/* ------------------------------------------------------------ fixture */

/* One schema for most tests: a field of every type, protected fields, and
 * derived fields from protected and non-protected inputs. */
static const char schema_t[] = "kind: t\n"
                               "subject: doc\n"
                               "fields:\n"
                               "  doc:   { type: string }\n"
                               "  name:  { type: string }\n"
                               "  other: { type: string }\n"
                               "  text:  { type: text }\n"
                               "  phone: { type: phone }\n"
                               "  phone2: { type: phone }\n"
                               "  n:     { type: int }\n"
                               "  m:     { type: int }\n"
                               "  x:     { type: number }\n"
                               "  flag:  { type: bool }\n"
                               "  d:     { type: date }\n"
                               "  d2:    { type: date }\n"
                               "  dt:    { type: datetime }\n"
                               "  dt2:   { type: datetime }\n"
                               "  tags:  { type: list }\n"
                               "  sex:   { type: string, protected: true }\n"
                               "  nat:   { type: string, protected: true }\n"
                               "  birth: { type: date, protected: true }\n"
                               "  start: { type: datetime }\n"
                               "  end:   { type: datetime }\n"
                               "  a.b.c: { type: string }\n"
                               "derived:\n"
                               "  age:   { years_between: [birth, dt] }\n"
                               "  yrs:   { years_between: [d, dt] }\n"
                               "  days:  { days_between: [start, end] }\n"
                               "  hours: { hours_between: [start, end] }\n"
                               "  ntags: { count: tags }\n";

/* A second kind with a required field, for rejects and kind checks. */
static const char schema_r[] = "kind: r\n"
                               "fields:\n"
                               "  must: { type: string, required: true }\n"
                               "  v:    { type: int }\n";

struct fx {
  char *dir;
  struct vg_config cfg;
  struct vg_diags diags;
  vg_ruleset *rs;
  vg_eval *ev;
  int rc;
};

static void fx_write(struct fx *fx, const char *rel, const char *text) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", fx->dir, rel);
  assert_int_equal(vgt_write_file(path, text), 0);
}

/* A fresh directory with the two schemas and no rules yet. */
static void fx_init(struct fx *fx) {
  memset(fx, 0, sizeof *fx);
  fx->dir = vgt_tempdir();
  assert_non_null(fx->dir);
  vg_config_init(&fx->cfg);
  vg_diags_init(&fx->diags);
  fx_write(fx, "schemas/t.yaml", schema_t);
  fx_write(fx, "schemas/r.yaml", schema_r);
}

static void print_diags(const struct vg_diags *d) {
  for (size_t i = 0; i < d->count; i++)
    fprintf(stderr, "  %s:%d:%d: %s: %s [%s]\n",
            d->items[i].file ? d->items[i].file : "-", d->items[i].line,
            d->items[i].col,
            d->items[i].severity == VG_SEV_ERROR ? "error" : "warning",
            d->items[i].message, d->items[i].code);
}

static int fx_try_load(struct fx *fx) {
  vg_ruleset_free(fx->rs);
  fx->rs = NULL;
  vg_eval_free(fx->ev);
  fx->ev = NULL;
  vg_diags_close(&fx->diags);
  vg_diags_init(&fx->diags);
  fx->rc = vg_ruleset_load(fx->dir, &fx->cfg, &fx->diags, &fx->rs);
  if (fx->rc == VG_OK) {
    fx->ev = vg_eval_new(fx->rs);
    assert_non_null(fx->ev);
  }
  return fx->rc;
}

/* Loads and insists on success. */
static void fx_load(struct fx *fx) {
  if (fx_try_load(fx) != VG_OK) {
    print_diags(&fx->diags);
    fail_msg("the rules did not load (rc %d)", fx->rc);
  }
}

static void fx_close(struct fx *fx) {
  vg_eval_free(fx->ev);
  vg_ruleset_free(fx->rs);
  vg_diags_close(&fx->diags);
  vg_config_close(&fx->cfg);
  vgt_rmtree(fx->dir);
  free(fx->dir);
}

static size_t rule_index(const struct fx *fx, const char *id) {
  for (size_t i = 0; i < vg_ruleset_rule_count(fx->rs); i++) {
    struct vg_rule_info info;
    vg_ruleset_rule_info(fx->rs, i, &info);
    if (!strcmp(info.id, id))
      return i;
  }
  fail_msg("no rule %s", id);
  return 0;
}

/* A record of kind t with the given extra members (JSON text without the
 * braces, may be empty). Static storage: valid until the next call. */
static const char *rec(const char *fields) {
  static char buf[8192];
  snprintf(buf, sizeof buf,
           "{\"kind\":\"t\",\"id\":\"r1\",\"observed_at\":"
           "\"2026-01-01T00:00:00Z\"%s%s}",
           fields && *fields ? "," : "", fields ? fields : "");
  return buf;
}

/* Screens json with every enabled rule; fails the test on a reject. */
static void screen(struct fx *fx, const char *json, struct vg_result *res) {
  struct vg_reject rej;
  int rc = vg_eval_record(fx->ev, json, strlen(json), res, &rej);
  if (rc != VG_OK)
    fail_msg("record rejected (%d): %s [%s]\n  %s", rc, rej.reason, rej.field,
             json);
}

static const struct vg_hit *find_hit(const struct vg_result *res,
                                     const char *id) {
  for (size_t i = 0; i < res->nhits; i++)
    if (!strcmp(res->hits[i].rule_id, id))
      return &res->hits[i];
  return NULL;
}

/* Whether rule `id` alone fires on json. */
static bool fires(struct fx *fx, const char *id, const char *json) {
  struct vg_result res;
  struct vg_reject rej;
  int rc = vg_eval_record_rule(fx->ev, json, strlen(json), rule_index(fx, id),
                               &res, &rej);
  if (rc != VG_OK)
    fail_msg("record rejected (%d): %s\n  %s", rc, rej.reason, json);
  return res.nhits == 1;
}

static bool has_diag(const struct vg_diags *d, const char *code,
                     const char *needle) {
  for (size_t i = 0; i < d->count; i++)
    if (!strcmp(d->items[i].code, code) &&
        (!needle || strstr(d->items[i].message, needle)))
      return true;
  return false;
}

/* Appends printf output to a growing heap string. */
struct sbuf {
  char *s;
  size_t len, cap;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  assert_true(n >= 0);
  if (b->len + (size_t)n + 1 > b->cap) {
    b->cap = (b->len + (size_t)n + 1) * 2;
    b->s = realloc(b->s, b->cap);
    assert_non_null(b->s);
  }
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* The lists every table below may use. */
static const char lists_yaml[] =
    "lists:\n"
    "  cities: [Bogotá, Medellín]\n"
    "  phones: ['+57 300 123 4567']\n"
    "  wanted: [Juan Pérez Gómez]\n"
    "  strict: { items: [Juan Pérez Gómez], threshold: 0.99 }\n"
    "  short: { items: [Ana], threshold: 0.5 }\n";

/* --------------------------------------------------- modifier tables */

struct mcase {
  const char *match;  /* the selection, a YAML flow map or list of maps */
  const char *fields; /* record members */
  bool fires;
};

/* Every case becomes rule C<i> with `sel` and a selection that always
 * holds (kind is t), so negative tests pass the fairness rule. */
static void run_cases(const struct mcase *cases, size_t n,
                      const char *config_code) {
  struct fx fx;
  fx_init(&fx);
  if (config_code)
    fx.cfg.phone_country_code = strdup(config_code);
  struct sbuf b = {0};
  sb_printf(&b, "%srules:\n", lists_yaml);
  for (size_t i = 0; i < n; i++)
    sb_printf(&b,
              "  - id: C%zu\n    title: case %zu\n    kind: t\n    score: 1\n"
              "    match:\n      sel: %s\n      base: { kind: t }\n"
              "    condition: sel and base\n",
              i, i, cases[i].match);
  fx_write(&fx, "rules.yaml", b.s);
  free(b.s);
  fx_load(&fx);
  int failures = 0;
  for (size_t i = 0; i < n; i++) {
    char id[32];
    snprintf(id, sizeof id, "C%zu", i);
    bool got = fires(&fx, id, rec(cases[i].fields));
    if (got != cases[i].fires) {
      fprintf(stderr, "case %zu: %s on {%s}: expected %s, got %s\n", i,
              cases[i].match, cases[i].fields,
              cases[i].fires ? "a hit" : "no hit", got ? "a hit" : "no hit");
      failures++;
    }
  }
  fx_close(&fx);
  assert_int_equal(failures, 0);
}

static void test_equals_and_folding(void **state) {
  (void)state;
  static const struct mcase cases[] = {
      {"{name: senoritas}", "\"name\":\"Señoritas\"", true},
      {"{name: senoritas}", "\"name\":\" Señoritas \"", true},
      {"{name: 'Señoritas'}", "\"name\":\"SENORITAS\"", true},
      {"{name: 'Las Señoritas'}", "\"name\":\"las \\t  SEÑORITAS\"", true},
      {"{name: senoritas}", "\"name\":\"senorita\"", false},
      {"{name: senoritas}", "\"name\":\"las senoritas\"", false},
      {"{name: [foo, senoritas]}", "\"name\":\"Señoritas\"", true},
      {"{name: [foo, bar]}", "\"name\":\"Señoritas\"", false},
      /* JSON escapes are decoded before comparing. */
      {"{name: 'Señoritas'}", "\"name\":\"Se\\u00f1oritas\"", true},
      {"{name|cased: Señoritas}", "\"name\":\"Señoritas\"", true},
      {"{name|cased: Señoritas}", "\"name\":\"señoritas\"", false},
      {"{name|cased: Señoritas}", "\"name\":\"Senoritas\"", false},
      {"{n: 5}", "\"n\":5", true},
      {"{n: 5}", "\"n\":5.0", true},
      {"{n: 5}", "\"n\":6", false},
      {"{n: [4, 5]}", "\"n\":5", true},
      {"{x: 2.5}", "\"x\":2.5", true},
      {"{x: 2.5}", "\"x\":2.25", false},
      {"{x: 2}", "\"x\":2", true},
      {"{flag: true}", "\"flag\":true", true},
      {"{flag: true}", "\"flag\":false", false},
      {"{flag: false}", "\"flag\":false", true},
      {"{d: 2026-01-02}", "\"d\":\"2026-01-02\"", true},
      {"{d: 2026-01-02}", "\"d\":\"2026-01-03\"", false},
      {"{dt: '2026-01-02T00:00:00Z'}", "\"dt\":\"2026-01-02T01:00:00+01:00\"",
       true},
      {"{dt: '2026-01-02T00:00:00Z'}", "\"dt\":\"2026-01-02T00:00:01Z\"",
       false},
      {"{a.b.c: deep}", "\"a\":{\"b\":{\"c\":\"Deep\"}}", true},
      {"{a.b.c: deep}", "\"a\":{\"b\":{\"d\":\"deep\"}}", false},
      /* An undeclared member named like the path is not the field. */
      {"{a.b.c: deep}", "\"a.b.c\":\"deep\"", false},
  };
  run_cases(cases, sizeof cases / sizeof *cases, NULL);
}

static void test_substrings(void **state) {
  (void)state;
  static const struct mcase cases[] = {
      {"{text|contains: senoritas}", "\"text\":\"Las Señoritas bar\"", true},
      {"{text|contains: 'SEÑOR'}", "\"text\":\"las senoritas\"", true},
      {"{text|contains: xyz}", "\"text\":\"Las Señoritas bar\"", false},
      {"{text|contains: [xyz, bar]}", "\"text\":\"Las Señoritas bar\"", true},
      {"{text|contains|all: [las, bar]}", "\"text\":\"Las Señoritas bar\"",
       true},
      {"{text|contains|all: [las, bar]}", "\"text\":\"Las Señoritas\"", false},
      {"{text|startswith: las}", "\"text\":\"Las Señoritas\"", true},
      {"{text|startswith: las}", "\"text\":\"  Las Señoritas\"", true},
      {"{text|startswith: senoritas}", "\"text\":\"Las Señoritas\"", false},
      {"{text|endswith: senoritas}", "\"text\":\"Las Señoritas\"", true},
      {"{text|endswith: senoritas}", "\"text\":\"Las Señoritas \"", true},
      {"{text|endswith: las}", "\"text\":\"Las Señoritas\"", false},
      {"{text|contains|cased: Señor}", "\"text\":\"Las Señoritas\"", true},
      {"{text|contains|cased: señor}", "\"text\":\"Las Señoritas\"", false},
      {"{text|contains|cased: Senor}", "\"text\":\"Las Señoritas\"", false},
      {"{text|startswith|cased: Las}", "\"text\":\"Las Señoritas\"", true},
      {"{text|startswith|cased: las}", "\"text\":\"Las Señoritas\"", false},
      {"{text|endswith|cased: tas}", "\"text\":\"Las Señoritas\"", true},
      {"{text|endswith|cased: TAS}", "\"text\":\"Las Señoritas\"", false},
      {"{name|contains: or}", "\"name\":\"Señoritas\"", true},
      /* A phone contains digits, whatever the punctuation. */
      {"{phone|contains: '1234567'}", "\"phone\":\"300-123 4567\"", true},
  };
  run_cases(cases, sizeof cases / sizeof *cases, NULL);
}

static void test_regex(void **state) {
  (void)state;
  static const struct mcase cases[] = {
      {"{text|re: 'Se.oritas'}", "\"text\":\"Las Señoritas\"", true},
      {"{text|re: 'señoritas'}", "\"text\":\"LAS SEÑORITAS\"", false},
      {"{text|re|i: 'señoritas'}", "\"text\":\"LAS SEÑORITAS\"", true},
      {"{text|re|i: 'señoritas'}", "\"text\":\"las senoritas\"", false},
      {"{text|re: 'senoritas'}", "\"text\":\"Las SEÑORITAS\"", false},
      {"{text|re|fold: 'senoritas'}", "\"text\":\"Las SEÑORITAS\"", true},
      {"{text|re|fold: '^las senoritas$'}", "\"text\":\"  Las   Señoritas \"",
       true},
      {"{text|re: '^b'}", "\"text\":\"a\\nb\"", false},
      {"{text|re|m: '^b'}", "\"text\":\"a\\nb\"", true},
      {"{text|re: 'a.b'}", "\"text\":\"a\\nb\"", false},
      {"{text|re|s: 'a.b'}", "\"text\":\"a\\nb\"", true},
      {"{text|re|i|m|s: '^B.C'}", "\"text\":\"a\\nb\\nc\"", true},
      {"{text|re: '\\p{Lu}{3}'}", "\"text\":\"x ÁÉÍ y\"", true},
      {"{text|re: '\\p{Lu}{3}'}", "\"text\":\"x áéí y\"", false},
      {"{text|re: '\\bsin experiencia\\b'}",
       "\"text\":\"Viaje pagado, sin experiencia\"", true},
      {"{text|re: '\\bsin experiencia\\b'}",
       "\"text\":\"Viaje pagado, sin experiencias\"", false},
      {"{text|re: ['^x', 'y$']}", "\"text\":\"aay\"", true},
      {"{text|re|all: ['^a', 'y$']}", "\"text\":\"aay\"", true},
      {"{text|re|all: ['^a', 'z$']}", "\"text\":\"aay\"", false},
      /* The raw value, not the folded one: case and accents count. */
      {"{text|re: '^Las'}", "\"text\":\" Las\"", false},
      {"{name|re: '^\\d+$'}", "\"name\":\"12345\"", true},
      {"{phone|re: '^\\+57'}", "\"phone\":\"+57 300\"", true},
  };
  run_cases(cases, sizeof cases / sizeof *cases, NULL);
}

static void test_ordering(void **state) {
  (void)state;
  static const struct mcase cases[] = {
      {"{n|gt: 5}", "\"n\":6", true},
      {"{n|gt: 5}", "\"n\":5", false},
      {"{n|gte: 5}", "\"n\":5", true},
      {"{n|gte: 5}", "\"n\":4", false},
      {"{n|lt: 5}", "\"n\":4", true},
      {"{n|lt: 5}", "\"n\":5", false},
      {"{n|lte: 5}", "\"n\":5", true},
      {"{n|lte: 5}", "\"n\":6", false},
      {"{n|gt: -3}", "\"n\":-2", true},
      {"{n|lt: 2.5}", "\"n\":2", true},
      {"{x|gt: 1.5}", "\"x\":1.6", true},
      {"{x|gt: 1.5}", "\"x\":1.5", false},
      {"{x|gte: 1.5}", "\"x\":1.5", true},
      {"{x|lt: 1.5}", "\"x\":1.4", true},
      {"{x|lte: 1.5}", "\"x\":1.51", false},
      {"{x|lt: 1e3}", "\"x\":999", true},
      {"{d|gt: 2026-01-01}", "\"d\":\"2026-01-02\"", true},
      {"{d|gt: 2026-01-01}", "\"d\":\"2026-01-01\"", false},
      {"{d|gte: 2026-01-01}", "\"d\":\"2026-01-01\"", true},
      {"{d|lt: 2026-01-01}", "\"d\":\"2025-12-31\"", true},
      {"{d|lte: 2026-01-01}", "\"d\":\"2026-01-02\"", false},
      /* A date is its midnight UTC. */
      {"{d|lt: '2026-01-01T12:00:00Z'}", "\"d\":\"2026-01-01\"", true},
      {"{d|gte: '2026-01-01T00:00:00Z'}", "\"d\":\"2026-01-01\"", true},
      {"{dt|gte: '2026-01-01T00:00:00Z'}", "\"dt\":\"2025-12-31T23:59:59Z\"",
       false},
      {"{dt|gte: '2026-01-01T00:00:00Z'}",
       "\"dt\":\"2026-01-01T01:00:00+01:00\"", true},
      {"{dt|gt: '2026-01-01T00:00:00Z'}", "\"dt\":\"2026-01-01T00:00:00.5Z\"",
       true},
      {"{dt|lt: 2026-01-02}", "\"dt\":\"2026-01-01T23:59:59Z\"", true},
      {"{dt|lte: '2026-01-01T00:00:00Z'}",
       "\"dt\":\"2025-12-31T20:00:00-04:00\"", true},
      {"{dt|lt: '2026-01-01T00:00:00Z'}",
       "\"dt\":\"2025-12-31T20:00:00-04:00\"", false},
      {"{n|gt: [10, 3]}", "\"n\":5", true},
      {"{n|gt|all: [10, 3]}", "\"n\":5", false},
      {"{n|gt|all: [1, 3]}", "\"n\":5", true},
  };
  run_cases(cases, sizeof cases / sizeof *cases, NULL);
}

static void test_exists(void **state) {
  (void)state;
  static const struct mcase cases[] = {
      {"{name|exists: true}", "\"name\":\"x\"", true},
      {"{name|exists: true}", "\"name\":\"\"", true},
      {"{name|exists: true}", "", false},
      {"{name|exists: true}", "\"name\":null", false},
      {"{name|exists: false}", "", true},
      {"{name|exists: false}", "\"name\":null", true},
      {"{name|exists: false}", "\"name\":\"x\"", false},
      {"{tags|exists: true}", "\"tags\":[]", true},
      {"{n|exists: true}", "\"n\":0", true},
      {"{flag|exists: true}", "\"flag\":false", true},
      {"{a.b.c|exists: true}", "\"a\":{\"b\":{}}", false},
      {"{a.b.c|exists: false}", "\"a\":null", true},
  };
  run_cases(cases, sizeof cases / sizeof *cases, NULL);
}

static void test_lists_in_and_fuzzy(void **state) {
  (void)state;
  static const struct mcase cases[] = {
      {"{name|in: cities}", "\"name\":\"bogota\"", true},
      {"{name|in: cities}", "\"name\":\" MEDELLÍN \"", true},
      {"{name|in: cities}", "\"name\":\"Cali\"", false},
      {"{name|in: cities}", "\"name\":\"Bogotá D.C.\"", false},
      {"{name|in|cased: cities}", "\"name\":\"Bogotá\"", true},
      {"{name|in|cased: cities}", "\"name\":\"bogota\"", false},
      {"{tags|in: cities}", "\"tags\":[\"x\",\"medellin\"]", true},
      {"{tags|in: cities}", "\"tags\":[\"x\",\"y\"]", false},
      {"{phone|in: phones}", "\"phone\":\"0057 3001234567\"", true},
      {"{phone|in: phones}", "\"phone\":\"+57 (300) 123-4567\"", true},
      {"{phone|in: phones}", "\"phone\":\"+57 300 123 4568\"", false},
      /* Same name, other order and punctuation: similarity 1. */
      {"{name|fuzzy: wanted}", "\"name\":\"PEREZ GOMEZ, Juan\"", true},
      /* Near: one letter off. */
      {"{name|fuzzy: wanted}", "\"name\":\"Juan Peres Gomez\"", true},
      /* Far. */
      {"{name|fuzzy: wanted}", "\"name\":\"Maria Lopez\"", false},
      {"{name|fuzzy: strict}", "\"name\":\"Juan Peres Gomez\"", false},
      {"{name|fuzzy: strict}", "\"name\":\"juan perez-gomez\"", true},
      /* Very short names must match exactly, whatever the threshold. */
      {"{name|fuzzy: short}", "\"name\":\"Ane\"", false},
      {"{name|fuzzy: short}", "\"name\":\"ANA\"", true},
      {"{tags|fuzzy: wanted}", "\"tags\":[\"nobody\",\"Juan Perez Gomes\"]",
       true},
  };
  run_cases(cases, sizeof cases / sizeof *cases, NULL);
}

static void test_fieldref(void **state) {
  (void)state;
  static const struct mcase cases[] = {
      {"{name|fieldref: other}",
       "\"name\":\"Señoritas\",\"other\":\" senoritas \"", true},
      {"{name|fieldref: other}", "\"name\":\"Señoritas\",\"other\":\"x\"",
       false},
      {"{name|fieldref: other}", "\"name\":\"Señoritas\"", false},
      {"{name|fieldref: other}", "\"other\":\"Señoritas\"", false},
      {"{phone|fieldref: phone2}",
       "\"phone\":\"+57 300-123 4567\",\"phone2\":\"0057 3001234567\"", true},
      {"{n|fieldref: m}", "\"n\":5,\"m\":5", true},
      {"{n|fieldref: m}", "\"n\":5,\"m\":6", false},
      {"{n|gt|fieldref: m}", "\"n\":5,\"m\":4", true},
      {"{n|gt|fieldref: m}", "\"n\":5,\"m\":5", false},
      {"{n|gte|fieldref: m}", "\"n\":5,\"m\":5", true},
      {"{n|lt|fieldref: m}", "\"n\":4,\"m\":5", true},
      {"{n|lte|fieldref: m}", "\"n\":6,\"m\":5", false},
      {"{n|gt|fieldref: x}", "\"n\":2,\"x\":1.5", true},
      {"{dt|lt|fieldref: dt2}",
       "\"dt\":\"2026-01-01T00:00:00Z\",\"dt2\":\"2026-01-01T00:00:01Z\"",
       true},
      {"{dt|gt|fieldref: dt2}",
       "\"dt\":\"2026-01-01T00:00:00Z\",\"dt2\":\"2026-01-01T00:00:01Z\"",
       false},
      {"{d|lt|fieldref: dt}",
       "\"d\":\"2026-01-01\",\"dt\":\"2026-01-01T00:00:01Z\"", true},
      {"{d|fieldref: d2}", "\"d\":\"2026-01-01\",\"d2\":\"2026-01-01\"", true},
      {"{name|fieldref|cased: other}",
       "\"name\":\"Señoritas\",\"other\":\"Señoritas\"", true},
      /* cased applies to fieldref too. */
      {"{name|fieldref|cased: other}", "\"name\":\"Foo\",\"other\":\"foo\"",
       false},
  };
  run_cases(cases, sizeof cases / sizeof *cases, NULL);
}

static void test_list_fields(void **state) {
  (void)state;
  static const struct mcase cases[] = {
      {"{tags: b}", "\"tags\":[\"a\",\"B\"]", true},
      {"{tags: b}", "\"tags\":[\"a\"]", false},
      {"{tags: b}", "\"tags\":[]", false},
      {"{tags: [c, b]}", "\"tags\":[\"a\",\"b\"]", true},
      {"{tags|contains: ell}", "\"tags\":[\"x\",\"Hello\"]", true},
      {"{tags|startswith: he}", "\"tags\":[\"the\",\"Hello\"]", true},
      {"{tags|endswith: he}", "\"tags\":[\"Hello\"]", false},
      {"{tags|re: '^H.l'}", "\"tags\":[\"x\",\"Hello\"]", true},
      {"{tags|re: '^h.l'}", "\"tags\":[\"x\",\"Hello\"]", false},
      {"{tags|re|i: '^h.l'}", "\"tags\":[\"x\",\"Hello\"]", true},
      {"{tags|cased: Hello}", "\"tags\":[\"hello\"]", false},
      /* |all with a list value: one element holds for every value. */
      {"{tags|contains|all: [he, lo]}", "\"tags\":[\"x\",\"hello\"]", true},
      {"{tags|contains|all: [he, xx]}", "\"tags\":[\"x\",\"hello\"]", false},
      /* ... or each value in some element (docs/rules.md: the list holds
       * every value). */
      {"{tags|all: [a, b]}", "\"tags\":[\"B\",\"x\",\"a\"]", true},
      {"{tags|all: [a, b]}", "\"tags\":[\"a\",\"x\"]", false},
      {"{tags|contains|all: [he, lo]}", "\"tags\":[\"he\",\"lo\"]", true},
      {"{tags|fieldref: name}", "\"tags\":[\"a\",\"Señor\"],\"name\":\"senor\"",
       true},
      {"{name|fieldref: tags}", "\"tags\":[\"a\",\"Señor\"],\"name\":\"senor\"",
       true},
      {"{name|fieldref: tags}", "\"tags\":[\"a\"],\"name\":\"senor\"", false},
  };
  run_cases(cases, sizeof cases / sizeof *cases, NULL);
}

/* A missing or null field makes every test false except `exists: false`;
 * each test is also shown to hold on a present value, so the false counts. */
static void test_missing_and_null(void **state) {
  (void)state;
  static const struct {
    const char *match, *present;
  } tests[] = {
      {"{name: foo}", "\"name\":\"foo\""},
      {"{name|cased: foo}", "\"name\":\"foo\""},
      {"{name|contains: o}", "\"name\":\"foo\""},
      {"{name|startswith: f}", "\"name\":\"foo\""},
      {"{name|endswith: o}", "\"name\":\"foo\""},
      {"{name|re: 'f'}", "\"name\":\"foo\""},
      {"{name|re: '^$|.'}", "\"name\":\"foo\""},
      {"{name|in: cities}", "\"name\":\"bogota\""},
      {"{name|fuzzy: wanted}", "\"name\":\"juan perez gomez\""},
      {"{name|fieldref: other}", "\"name\":\"foo\",\"other\":\"foo\""},
      {"{name|exists: true}", "\"name\":\"foo\""},
      {"{n: 0}", "\"n\":0"},
      {"{n|gt: -1}", "\"n\":0"},
      {"{n|gte: 0}", "\"n\":0"},
      {"{n|lt: 1}", "\"n\":0"},
      {"{n|lte: 0}", "\"n\":0"},
      {"{n|gt|fieldref: m}", "\"n\":1,\"m\":0"},
      {"{flag: false}", "\"flag\":false"},
      {"{d|lt: 2100-01-01}", "\"d\":\"2000-01-01\""},
      {"{dt|gt: 1970-01-01}", "\"dt\":\"2000-01-01T00:00:00Z\""},
      {"{tags: a}", "\"tags\":[\"a\"]"},
      {"{phone: '300'}", "\"phone\":\"300\""},
  };
  size_t n = sizeof tests / sizeof *tests;
  /* Three cases per test: present (holds), missing, null. */
  struct mcase *cases = calloc(3 * n + 4, sizeof *cases);
  char(*null_fields)[128] = calloc(n, sizeof *null_fields);
  assert_non_null(cases);
  assert_non_null(null_fields);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    /* The tested field is the key before the first '|' or ':'. */
    const char *start = tests[i].match + 1;
    size_t len = strcspn(start, "|:");
    snprintf(null_fields[i], sizeof null_fields[i], "\"%.*s\":null", (int)len,
             start);
    cases[k++] = (struct mcase){tests[i].match, tests[i].present, true};
    cases[k++] = (struct mcase){tests[i].match, "", false};
    cases[k++] = (struct mcase){tests[i].match, null_fields[i], false};
  }
  /* The exception, missing and null. */
  cases[k++] = (struct mcase){"{name|exists: false}", "", true};
  cases[k++] = (struct mcase){"{name|exists: false}", "\"name\":null", true};
  cases[k++] = (struct mcase){"{n|exists: false}", "\"n\":null", true};
  cases[k++] = (struct mcase){"{tags|exists: false}", "", true};
  run_cases(cases, k, NULL);
  free(cases);
  free(null_fields);
}

static void test_phone_equality(void **state) {
  (void)state;
  static const struct mcase cases[] = {
      {"{phone: '+57 300-123 4567'}", "\"phone\":\"0057 3001234567\"", true},
      {"{phone: '+57 300-123 4567'}", "\"phone\":\"300 123 4567\"", true},
      {"{phone: '+57 300-123 4567'}", "\"phone\":\"+57 (300) 123.4567\"", true},
      {"{phone: '300 123 4567'}", "\"phone\":\"+57 300-123 4567\"", true},
      {"{phone: '0057 3001234567'}", "\"phone\":\"300 123 4567\"", true},
      {"{phone: '+57 300-123 4567'}", "\"phone\":\"+58 300 123 4567\"", false},
      {"{phone: '+57 300-123 4567'}", "\"phone\":\"300 123 4568\"", false},
      {"{phone|in: phones}", "\"phone\":\"300 123 4567\"", true},
      {"{phone|fieldref: phone2}",
       "\"phone\":\"300 123 4567\",\"phone2\":\"+57 3001234567\"", true},
  };
  run_cases(cases, sizeof cases / sizeof *cases, "57");
  /* Without a country code a number without '+' or 00 stays as written. */
  static const struct mcase plain[] = {
      {"{phone: '+57 300-123 4567'}", "\"phone\":\"0057 3001234567\"", true},
      {"{phone: '+57 300-123 4567'}", "\"phone\":\"300 123 4567\"", false},
      {"{phone: '300 123 4567'}", "\"phone\":\"(300) 123-4567\"", true},
  };
  run_cases(plain, sizeof plain / sizeof *plain, NULL);
}

/* ------------------------------------------------------- conditions */

struct ccase {
  const char *condition;
  const char *tags; /* which of the selections a, b, c, sel_x... hold */
  bool fires;
};

/* Selection s holds when the record's tags hold s. */
static void run_conditions(const struct ccase *cases, size_t n) {
  struct fx fx;
  fx_init(&fx);
  struct sbuf b = {0};
  sb_printf(&b, "rules:\n");
  for (size_t i = 0; i < n; i++)
    sb_printf(&b,
              "  - id: K%zu\n    title: condition %zu\n    kind: t\n"
              "    score: 1\n    match:\n"
              "      a: { tags: a }\n      b: { tags: b }\n"
              "      c: { tags: c }\n      sel_x: { tags: x }\n"
              "      sel_y: { tags: y }\n      base: { kind: t }\n"
              "    condition: '%s'\n",
              i, i, cases[i].condition);
  fx_write(&fx, "rules.yaml", b.s);
  free(b.s);
  fx_load(&fx);
  int failures = 0;
  for (size_t i = 0; i < n; i++) {
    char id[32], fields[256];
    snprintf(id, sizeof id, "K%zu", i);
    snprintf(fields, sizeof fields, "\"tags\":[\"-\"%s%s]",
             *cases[i].tags ? "," : "", cases[i].tags);
    bool got = fires(&fx, id, rec(fields));
    if (got != cases[i].fires) {
      fprintf(stderr, "condition '%s' with tags [%s]: expected %s, got %s\n",
              cases[i].condition, cases[i].tags,
              cases[i].fires ? "a hit" : "no hit", got ? "a hit" : "no hit");
      failures++;
    }
  }
  fx_close(&fx);
  assert_int_equal(failures, 0);
}

static void test_precedence(void **state) {
  (void)state;
  static const struct ccase cases[] = {
      /* or is loosest: a or (b and c). */
      {"a or b and c", "\"a\"", true},
      {"a or b and c", "\"b\"", false},
      {"a or b and c", "\"b\",\"c\"", true},
      {"b and c or a", "\"a\"", true},
      /* not binds tighter than and: (not a) and b. */
      {"not a and b", "", false},
      {"not a and b", "\"b\"", true},
      {"not a and b", "\"a\",\"b\"", false},
      {"b and not a", "\"b\"", true},
      /* not binds tighter than or. */
      {"base and (not a or b)", "", true},
      {"base and (not a or b)", "\"a\"", false},
      {"base and (not a or b)", "\"a\",\"b\"", true},
      {"a and not b or c", "\"a\",\"b\"", false},
      {"a and not b or c", "\"a\",\"b\",\"c\"", true},
      {"a and not b or c", "\"a\"", true},
      /* parentheses group */
      {"(a or b) and c", "\"a\"", false},
      {"(a or b) and c", "\"b\",\"c\"", true},
      {"a and (b or c)", "\"a\",\"c\"", true},
      {"a and (b or c)", "\"b\",\"c\"", false},
      {"base and not (a and b)", "\"a\"", true},
      {"base and not (a and b)", "\"a\",\"b\"", false},
      {"base and not (a or b)", "\"b\"", false},
      {"base and not (a or b)", "", true},
      {"base and not not a", "\"a\"", true},
      {"base and not not a", "", false},
      {"((a))", "\"a\"", true},
      {"a and b and c", "\"a\",\"b\"", false},
      {"a and b and c", "\"a\",\"b\",\"c\"", true},
      {"a or b or c", "\"c\"", true},
      {"a or b or c", "", false},
      /* quantifiers */
      {"1 of sel_*", "\"y\"", true},
      {"1 of sel_*", "\"a\",\"b\"", false},
      {"all of sel_*", "\"x\"", false},
      {"all of sel_*", "\"x\",\"y\"", true},
      {"1 of them", "\"c\"", true},
      {"all of them", "\"a\",\"b\",\"c\",\"x\"", false},
      {"all of them", "\"a\",\"b\",\"c\",\"x\",\"y\"", true},
      {"2 of them", "\"a\"", true}, /* base always holds */
      {"3 of them", "\"a\"", false},
      {"3 of them", "\"a\",\"y\"", true},
      {"a and 1 of sel_*", "\"a\",\"x\"", true},
      {"a and 1 of sel_*", "\"x\"", false},
      {"base and not 1 of sel_*", "\"a\"", true},
      {"base and not 1 of sel_*", "\"x\"", false},
      {"1 of sel_x", "\"x\"", true},
      {"1 of sel_?", "\"x\"", true},
  };
  run_conditions(cases, sizeof cases / sizeof *cases);
}

static void test_single_selection_without_condition(void **state) {
  (void)state;
  struct fx fx;
  fx_init(&fx);
  fx_write(&fx, "rules.yaml",
           "rules:\n"
           "  - id: ONE\n    title: one\n    kind: t\n    score: 5\n"
           "    match:\n      only: { name: x }\n");
  fx_load(&fx);
  assert_true(fires(&fx, "ONE", rec("\"name\":\"X\"")));
  assert_false(fires(&fx, "ONE", rec("\"name\":\"y\"")));
  fx_close(&fx);
}

/* A selection that is a list of maps holds when any map holds. */
static void test_selection_list_of_maps(void **state) {
  (void)state;
  static const struct mcase cases[] = {
      {"[{name: a, n: 1}, {name: b}]", "\"name\":\"a\",\"n\":1", true},
      {"[{name: a, n: 1}, {name: b}]", "\"name\":\"a\",\"n\":2", false},
      {"[{name: a, n: 1}, {name: b}]", "\"name\":\"b\"", true},
      {"{name: a, n: 1}", "\"name\":\"a\"", false},
  };
  run_cases(cases, sizeof cases / sizeof *cases, NULL);
}

/* ------------------------------------------------ macros and lists */

static void test_macros(void **state) {
  (void)state;
  struct fx fx;
  fx_init(&fx);
  /* The macro is defined in another file, after the rule in file order. */
  fx_write(&fx, "b_macros.yaml",
           "macros:\n"
           "  minor:\n    kind: t\n    match: { age|lt: 18 }\n"
           "  named:\n    kind: t\n    match: [{ name: x }, { name: y }]\n");
  fx_write(&fx, "a_rules.yaml",
           "rules:\n"
           "  - id: M1\n    title: m\n    kind: t\n    score: 1\n"
           "    match:\n      s: { other: z }\n"
           "    condition: s and minor\n"
           "  - id: M2\n    title: m\n    kind: t\n    score: 1\n"
           "    match:\n      s: { other: z }\n"
           "    condition: named and not s\n");
  fx_load(&fx);
  char minor[8192];
  snprintf(minor, sizeof minor, "%s",
           rec("\"other\":\"z\",\"birth\":\"2010-01-01\","
               "\"dt\":\"2026-01-01T00:00:00Z\""));
  assert_true(fires(&fx, "M1", minor));
  const char *adult = rec("\"other\":\"z\",\"birth\":\"2000-01-01\","
                          "\"dt\":\"2026-01-01T00:00:00Z\"");
  assert_false(fires(&fx, "M1", adult));
  assert_true(fires(&fx, "M2", rec("\"name\":\"Y\"")));
  assert_false(fires(&fx, "M2", rec("\"name\":\"Y\",\"other\":\"z\"")));
  assert_false(fires(&fx, "M2", rec("\"name\":\"w\"")));
  /* Evidence names the macro as the selection. */
  struct vg_result res;
  screen(&fx, minor, &res);
  const struct vg_hit *h = find_hit(&res, "M1");
  assert_non_null(h);
  bool saw_macro = false;
  for (size_t i = 0; i < h->nevidence; i++)
    if (!strcmp(h->evidence[i].selection, "minor")) {
      saw_macro = true;
      assert_string_equal(h->evidence[i].field, "age");
      assert_int_equal(h->evidence[i].value_len, 2);
      assert_memory_equal(h->evidence[i].value, "16", 2);
    }
  assert_true(saw_macro);
  fx_close(&fx);
}

static void test_macro_of_other_kind(void **state) {
  (void)state;
  struct fx fx;
  fx_init(&fx);
  fx_write(&fx, "rules.yaml",
           "macros:\n"
           "  big:\n    kind: r\n    match: { v|gt: 10 }\n"
           "rules:\n"
           "  - id: X1\n    title: m\n    kind: t\n    score: 1\n"
           "    match:\n      s: { other: z }\n"
           "    condition: s and big\n");
  assert_int_equal(fx_try_load(&fx), VG_EINVAL);
  assert_true(has_diag(&fx.diags, "unknown-macro", "big"));
  assert_null(fx.rs);
  fx_close(&fx);
}

static void test_list_from_file(void **state) {
  (void)state;
  struct fx fx;
  fx_init(&fx);
  fx_write(&fx, "pack/watch/names.txt",
           "# recruiters seen in adverts\n"
           "\n"
           "  Agencia Sol Naciente  \n"
           "\t# indented comment\n"
           "El Patrón\r\n"
           "   \n"
           "Juan Pérez Gómez\n"
           "last line without newline");
  fx_write(&fx, "pack/rules.yaml",
           "lists:\n"
           "  recruiters: { file: watch/names.txt, threshold: 0.9 }\n"
           "rules:\n"
           "  - id: L1\n    title: in\n    kind: t\n    score: 1\n"
           "    match:\n      s: { name|in: recruiters }\n"
           "  - id: L2\n    title: fuzzy\n    kind: t\n    score: 1\n"
           "    match:\n      s: { name|fuzzy: recruiters }\n"
           "  - id: L3\n    title: cased\n    kind: t\n    score: 1\n"
           "    match:\n      s: { name|in|cased: recruiters }\n");
  fx_load(&fx);
  assert_true(fires(&fx, "L1", rec("\"name\":\"agencia sol naciente\"")));
  assert_true(fires(&fx, "L1", rec("\"name\":\"el patron\"")));
  assert_true(fires(&fx, "L1", rec("\"name\":\"Last line without newline\"")));
  /* Comments and blank lines are not entries. */
  assert_false(fires(&fx, "L1",
                     rec("\"name\":\"# recruiters seen in "
                         "adverts\"")));
  assert_false(fires(&fx, "L1", rec("\"name\":\"# indented comment\"")));
  assert_false(fires(&fx, "L1", rec("\"name\":\"\"")));
  /* Entries are trimmed (a cased match proves it) and CR is dropped. */
  assert_true(fires(&fx, "L3", rec("\"name\":\"Agencia Sol Naciente\"")));
  assert_true(fires(&fx, "L3", rec("\"name\":\"El Patrón\"")));
  assert_true(fires(&fx, "L2", rec("\"name\":\"Gomez, Juan Perez\"")));
  struct vg_result res;
  screen(&fx, rec("\"name\":\"Juan Peres Gomez\""), &res);
  const struct vg_hit *h = find_hit(&res, "L2");
  assert_non_null(h);
  assert_int_equal(h->nevidence, 1);
  assert_string_equal(h->evidence[0].entry, "Juan Pérez Gómez");
  /* Near, not equal: a similarity under 1, at or above the threshold. */
  assert_true(h->evidence[0].similarity >= 0.9);
  assert_true(h->evidence[0].similarity < 1.0);
  assert_string_equal(h->evidence[0].field, "name");
  assert_int_equal(h->evidence[0].value_len, strlen("Juan Peres Gomez"));
  fx_close(&fx);
}

static void test_list_file_missing(void **state) {
  (void)state;
  struct fx fx;
  fx_init(&fx);
  fx_write(&fx, "rules.yaml",
           "lists:\n  gone: { file: nowhere.txt }\n"
           "rules:\n"
           "  - id: L1\n    title: in\n    kind: t\n    score: 1\n"
           "    match:\n      s: { name|in: gone }\n");
  assert_int_equal(fx_try_load(&fx), VG_EINVAL);
  assert_true(has_diag(&fx.diags, "list-file", "nowhere.txt"));
  fx_close(&fx);
}

/* ------------------------------------------------ enabled, scores */

static void test_enabled_false(void **state) {
  (void)state;
  struct fx fx;
  fx_init(&fx);
  fx_write(&fx, "rules.yaml",
           "rules:\n"
           "  - id: OFF\n    title: off\n    kind: t\n    score: 30\n"
           "    enabled: false\n"
           "    match:\n      s: { name: x }\n"
           "    tests:\n"
           "      - record: { kind: t, id: a, observed_at: "
           "'2026-01-01T00:00:00Z', name: x }\n"
           "        expect: match\n"
           "      - record: { kind: t, id: b, observed_at: "
           "'2026-01-01T00:00:00Z', name: y }\n"
           "        expect: match\n"
           "  - id: ON\n    title: on\n    kind: t\n    score: 20\n"
           "    match:\n      s: { name: x }\n");
  fx_load(&fx);
  struct vg_rule_info info;
  vg_ruleset_rule_info(fx.rs, rule_index(&fx, "OFF"), &info);
  assert_false(info.enabled);
  assert_int_equal(info.ntests, 2);
  struct vg_result res;
  screen(&fx, rec("\"name\":\"x\""), &res);
  assert_int_equal(res.nhits, 1);
  assert_string_equal(res.hits[0].rule_id, "ON");
  assert_int_equal(res.score, 20);
  /* vg_eval_record_rule runs it all the same (for its tests). */
  assert_true(fires(&fx, "OFF", rec("\"name\":\"x\"")));
  fx_close(&fx);
}

struct outcomes {
  size_t n;
  char lines[16][512];
};

static void collect_outcome(const struct vg_rule_test_outcome *o, void *user) {
  struct outcomes *out = user;
  if (out->n < 16)
    snprintf(out->lines[out->n++], sizeof out->lines[0], "%zu/%zu %s %s",
             o->rule, o->test, o->passed ? "pass" : "FAIL", o->message);
}

static void test_rule_tests_run(void **state) {
  (void)state;
  struct fx fx;
  fx_init(&fx);
  fx_write(&fx, "rules.yaml",
           "rules:\n"
           "  - id: OFF\n    title: off\n    kind: t\n    score: 30\n"
           "    enabled: false\n"
           "    match:\n      s: { name: x }\n"
           "    tests:\n"
           "      - record: { kind: t, id: a, observed_at: "
           "'2026-01-01T00:00:00Z', name: x }\n"
           "        expect: match\n"
           "        score: 30\n"
           "      - record: { kind: t, id: b, observed_at: "
           "'2026-01-01T00:00:00Z', name: y }\n"
           "        expect: match\n"
           "  - id: ON\n    title: on\n    kind: t\n    score: 20\n"
           "    match:\n      s: { n|gt: 3 }\n"
           "    tests:\n"
           "      - record: { kind: t, id: a, observed_at: "
           "'2026-01-01T00:00:00Z', n: 4 }\n"
           "        expect: match\n"
           "        score: 25\n"
           "      - record: { kind: t, id: a, observed_at: "
           "'2026-01-01T00:00:00Z', n: 3 }\n"
           "        expect: no_match\n"
           "      - record: { kind: t, id: a, observed_at: "
           "'2026-01-01T00:00:00Z', n: '3' }\n"
           "        expect: no_match\n");
  fx_load(&fx);
  struct outcomes out = {0};
  size_t passed = 99, failed = 99;
  assert_int_equal(
      vg_ruleset_run_tests(fx.rs, collect_outcome, &out, &passed, &failed),
      VG_OK);
  assert_int_equal(out.n, 5);
  assert_int_equal(passed, 2);
  assert_int_equal(failed, 3);
  size_t off = rule_index(&fx, "OFF"), on = rule_index(&fx, "ON");
  char want[64];
  snprintf(want, sizeof want, "%zu/0 pass", off);
  assert_non_null(strstr(out.lines[0], want));
  snprintf(want, sizeof want, "%zu/1 FAIL", off);
  assert_non_null(strstr(out.lines[1], want));
  assert_non_null(strstr(out.lines[1], "expected match"));
  snprintf(want, sizeof want, "%zu/0 FAIL", on);
  assert_non_null(strstr(out.lines[2], want));
  assert_non_null(strstr(out.lines[2], "score"));
  snprintf(want, sizeof want, "%zu/1 pass", on);
  assert_non_null(strstr(out.lines[3], want));
  /* A test record of the wrong type is rejected, so the test fails. */
  snprintf(want, sizeof want, "%zu/2 FAIL", on);
  assert_non_null(strstr(out.lines[4], want));
  assert_non_null(strstr(out.lines[4], "'n'"));
  fx_close(&fx);
}

static void test_scores_sum_and_cap(void **state) {
  (void)state;
  struct fx fx;
  fx_init(&fx);
  fx_write(&fx, "rules.yaml",
           "rules:\n"
           "  - { id: S1, title: s, kind: t, score: 40, match: { s: { name: x "
           "} } }\n"
           "  - { id: S2, title: s, kind: t, score: 35, match: { s: { other: "
           "y } } }\n"
           "  - { id: S3, title: s, kind: t, score: 45, match: { s: { n: 1 } } "
           "}\n"
           "  - { id: S4, title: s, kind: r, score: 100, match: { s: { v: 1 } "
           "} }\n");
  fx_load(&fx);
  struct vg_result res;
  screen(&fx, rec("\"name\":\"x\""), &res);
  assert_int_equal(res.nhits, 1);
  assert_int_equal(res.score, 40);
  assert_false(res.opens_case);
  assert_int_equal(res.threshold, VG_DEFAULT_THRESHOLD);
  screen(&fx, rec("\"name\":\"x\",\"other\":\"y\""), &res);
  assert_int_equal(res.nhits, 2);
  assert_int_equal(res.score, 75);
  assert_true(res.opens_case);
  screen(&fx, rec("\"name\":\"x\",\"other\":\"y\",\"n\":1"), &res);
  assert_int_equal(res.nhits, 3);
  assert_int_equal(res.score, 100);
  int sum = 0;
  for (size_t i = 0; i < res.nhits; i++)
    sum += res.hits[i].score;
  assert_int_equal(sum, 120);
  screen(&fx, rec("\"name\":\"q\""), &res);
  assert_int_equal(res.nhits, 0);
  assert_int_equal(res.score, 0);
  assert_false(res.opens_case);
  /* A rule of another kind does not run on this kind. */
  screen(&fx, rec("\"v\":1"), &res);
  assert_int_equal(res.nhits, 0);
  fx_close(&fx);
}

static void test_threshold_from_config(void **state) {
  (void)state;
  struct fx fx;
  fx_init(&fx);
  /* The config lives outside the rules directory. */
  char *cfgdir = vgt_tempdir();
  assert_non_null(cfgdir);
  char cfgpath[1024];
  snprintf(cfgpath, sizeof cfgpath, "%s/vigia.yaml", cfgdir);
  assert_int_equal(vgt_write_file(cfgpath, "thresholds: { t: 30, r: 90 }\n"
                                           "routes: { t: border }\n"),
                   0);
  struct vg_diags d;
  vg_diags_init(&d);
  assert_int_equal(vg_config_load(&fx.cfg, cfgpath, &d), VG_OK);
  assert_int_equal(d.count, 0);
  vg_diags_close(&d);
  vgt_rmtree(cfgdir);
  free(cfgdir);
  assert_int_equal(vg_config_threshold(&fx.cfg, "t"), 30);
  assert_int_equal(vg_config_threshold(&fx.cfg, "other"), VG_DEFAULT_THRESHOLD);
  fx_write(&fx, "rules.yaml",
           "rules:\n"
           "  - { id: S1, title: s, kind: t, score: 29, match: { s: { name: x "
           "} } }\n"
           "  - { id: S2, title: s, kind: t, score: 1, match: { s: { other: y "
           "} } }\n");
  fx_load(&fx);
  int t = vg_ruleset_kind_find(fx.rs, "t"),
      r = vg_ruleset_kind_find(fx.rs, "r");
  assert_true(t >= 0 && r >= 0);
  assert_int_equal(vg_ruleset_kind_threshold(fx.rs, (size_t)t), 30);
  assert_int_equal(vg_ruleset_kind_threshold(fx.rs, (size_t)r), 90);
  assert_int_equal(vg_ruleset_kind_find(fx.rs, "nope"), -1);
  struct vg_result res;
  screen(&fx, rec("\"name\":\"x\""), &res);
  assert_int_equal(res.score, 29);
  assert_int_equal(res.threshold, 30);
  assert_false(res.opens_case);
  screen(&fx, rec("\"name\":\"x\",\"other\":\"y\""), &res);
  assert_int_equal(res.score, 30);
  assert_true(res.opens_case);
  assert_string_equal(res.hits[0].route, "border");
  fx_close(&fx);
}

/* --------------------------------------------------------- derived */

static const char *field_text(struct fx *fx, const char *path) {
  static char buf[128];
  const char *text;
  size_t len;
  if (!vg_eval_field_text(fx->ev, path, &text, &len))
    return NULL;
  snprintf(buf, sizeof buf, "%.*s", (int)len, text);
  return buf;
}

static void derived_is(struct fx *fx, const char *fields, const char *path,
                       const char *want) {
  struct vg_result res;
  screen(fx, rec(fields), &res);
  const char *got = field_text(fx, path);
  if (want == NULL ? got != NULL : (got == NULL || strcmp(got, want) != 0))
    fail_msg("%s on {%s}: got %s, want %s", path, fields, got ? got : "missing",
             want ? want : "missing");
}

static void test_derived_fields(void **state) {
  (void)state;
  struct fx fx;
  fx_init(&fx);
  fx_write(&fx, "rules.yaml",
           "rules:\n"
           "  - id: D1\n    title: d\n    kind: t\n    score: 1\n"
           "    match:\n      s: { ntags|gte: 3 }\n");
  fx_load(&fx);
  /* 18th birthday on the day of departure, at any time of that day. */
  derived_is(&fx, "\"birth\":\"2008-05-10\",\"dt\":\"2026-05-10T00:00:00Z\"",
             "age", "18");
  derived_is(&fx, "\"birth\":\"2008-05-10\",\"dt\":\"2026-05-10T23:59:59Z\"",
             "age", "18");
  /* The day before: 17. */
  derived_is(&fx, "\"birth\":\"2008-05-10\",\"dt\":\"2026-05-09T23:59:59Z\"",
             "age", "17");
  /* Both ends in UTC: 01:00 at +03:00 is still the day before in UTC. */
  derived_is(&fx,
             "\"birth\":\"2008-05-10\",\"dt\":\"2026-05-10T01:00:00+03:00\"",
             "age", "17");
  derived_is(&fx,
             "\"birth\":\"2008-05-10\",\"dt\":\"2026-05-09T22:00:00-03:00\"",
             "age", "18");
  /* 29 February: a year older on 1 March in common years... */
  derived_is(&fx, "\"birth\":\"2008-02-29\",\"dt\":\"2026-02-28T23:00:00Z\"",
             "age", "17");
  derived_is(&fx, "\"birth\":\"2008-02-29\",\"dt\":\"2026-03-01T00:00:00Z\"",
             "age", "18");
  /* ... and on 29 February in leap years. */
  derived_is(&fx, "\"birth\":\"2008-02-29\",\"dt\":\"2028-02-28T12:00:00Z\"",
             "age", "19");
  derived_is(&fx, "\"birth\":\"2008-02-29\",\"dt\":\"2028-02-29T00:00:00Z\"",
             "age", "20");
  derived_is(&fx, "\"birth\":\"2026-01-01\",\"dt\":\"2026-01-01T00:00:00Z\"",
             "age", "0");
  derived_is(&fx, "\"d\":\"1999-12-31\",\"dt\":\"2026-01-01T00:00:00Z\"", "yrs",
             "26");
  /* Completed days and hours. */
  derived_is(&fx,
             "\"start\":\"2026-01-01T10:00:00Z\",\"end\":"
             "\"2026-01-03T09:59:59Z\"",
             "days", "1");
  derived_is(&fx,
             "\"start\":\"2026-01-01T10:00:00Z\",\"end\":"
             "\"2026-01-03T10:00:00Z\"",
             "days", "2");
  derived_is(&fx,
             "\"start\":\"2026-01-01T10:00:00Z\",\"end\":"
             "\"2026-01-01T12:59:59Z\"",
             "hours", "2");
  derived_is(&fx,
             "\"start\":\"2026-01-01T10:00:00Z\",\"end\":"
             "\"2026-01-01T13:00:00Z\"",
             "hours", "3");
  derived_is(&fx,
             "\"start\":\"2026-03-28T12:00:00+01:00\",\"end\":"
             "\"2026-03-29T12:00:00+02:00\"",
             "hours", "23");
  derived_is(&fx,
             "\"start\":\"2026-01-01T00:00:00Z\",\"end\":"
             "\"2026-01-01T00:00:00Z\"",
             "days", "0");
  /* count */
  derived_is(&fx, "\"tags\":[\"a\",\"b\",\"c\"]", "ntags", "3");
  derived_is(&fx, "\"tags\":[]", "ntags", "0");
  /* A missing input: the derived field is missing. */
  derived_is(&fx, "\"dt\":\"2026-05-10T00:00:00Z\"", "age", NULL);
  derived_is(&fx, "\"birth\":\"2008-05-10\"", "age", NULL);
  derived_is(&fx, "\"birth\":null,\"dt\":\"2026-05-10T00:00:00Z\"", "age",
             NULL);
  derived_is(&fx, "\"start\":\"2026-01-01T10:00:00Z\"", "days", NULL);
  derived_is(&fx, "", "ntags", NULL);
  assert_true(fires(&fx, "D1", rec("\"tags\":[\"a\",\"b\",\"c\"]")));
  assert_false(fires(&fx, "D1", rec("\"tags\":[\"a\",\"b\"]")));
  assert_false(fires(&fx, "D1", rec("")));
  fx_close(&fx);
}

static void test_derived_in_rules(void **state) {
  (void)state;
  static const struct mcase cases[] = {
      {"{age|lt: 18}",
       "\"birth\":\"2008-05-10\",\"dt\":\"2026-05-09T23:59:59Z\"", true},
      {"{age|lt: 18}",
       "\"birth\":\"2008-05-10\",\"dt\":\"2026-05-10T00:00:00Z\"", false},
      {"{age: 18}", "\"birth\":\"2008-05-10\",\"dt\":\"2026-05-10T00:00:00Z\"",
       true},
      {"{age|lt: 100}", "\"dt\":\"2026-05-10T00:00:00Z\"", false},
      {"{age|exists: false}", "\"dt\":\"2026-05-10T00:00:00Z\"", true},
      {"{days|gte: 2}",
       "\"start\":\"2026-01-01T10:00:00Z\",\"end\":\"2026-01-03T09:59:59Z\"",
       false},
      {"{days|lt: 0}",
       "\"start\":\"2026-01-03T00:00:00Z\",\"end\":\"2026-01-01T00:00:00Z\"",
       true},
      {"{hours|lte: 48}",
       "\"start\":\"2026-01-01T10:00:00Z\",\"end\":\"2026-01-03T10:00:00Z\"",
       true},
      {"{ntags: 0}", "\"tags\":[]", true},
  };
  run_cases(cases, sizeof cases / sizeof *cases, NULL);
}

static void test_derived_protection(void **state) {
  (void)state;
  struct fx fx;
  fx_init(&fx);
  fx_write(&fx, "rules.yaml",
           "rules:\n  - { id: R, title: r, kind: t, score: 1, match: { s: { "
           "name: x } } }\n");
  fx_load(&fx);
  int t = vg_ruleset_kind_find(fx.rs, "t");
  assert_true(t >= 0);
  size_t n = vg_ruleset_field_count(fx.rs, (size_t)t);
  int seen = 0;
  for (size_t i = 0; i < n; i++) {
    struct vg_field_info f;
    vg_ruleset_field_info(fx.rs, (size_t)t, i, &f);
    if (!strcmp(f.path, "age")) {
      seen++;
      assert_true(f.derived);
      assert_true(f.protected_);
      assert_int_equal(f.type, VG_TYPE_INT);
    } else if (!strcmp(f.path, "yrs") || !strcmp(f.path, "days") ||
               !strcmp(f.path, "ntags")) {
      seen++;
      assert_true(f.derived);
      assert_false(f.protected_);
    } else if (!strcmp(f.path, "birth")) {
      seen++;
      assert_true(f.protected_);
      assert_false(f.derived);
    } else if (!strcmp(f.path, "kind") || !strcmp(f.path, "id") ||
               !strcmp(f.path, "observed_at")) {
      seen++;
      assert_true(f.required);
    }
  }
  assert_int_equal(seen, 8);
  assert_string_equal(vg_ruleset_kind_subject(fx.rs, (size_t)t), "doc");
  fx_close(&fx);
}

/* -------------------------------------------------------- fairness */

struct fcase {
  const char *match;     /* the rule's match map body, YAML flow */
  const char *condition; /* or NULL */
  const char *term;      /* expected in the message; NULL: accepted */
};

static void test_fairness(void **state) {
  (void)state;
  static const struct fcase cases[] = {
      /* A protected field alone. */
      {"{s: { sex: f }}", NULL, "s (sex)"},
      {"{s: { nat|in: cities }}", NULL, "nat"},
      /* A derived field of a protected input is protected. */
      {"{s: { age|lt: 18 }}", NULL, "age"},
      {"{s: { age|lt: 18, yrs|lt: 18 }}", NULL, NULL},
      /* exists: false is not positive, even on a non-protected field. */
      {"{s: { sex: f, name|exists: false }}", NULL, "s"},
      {"{s: { name|exists: false }}", NULL, "s"},
      {"{s: { sex: f, name|exists: true }}", NULL, NULL},
      /* A test under not is not positive; negations only are refused. */
      {"{s: { sex: f }, t: { name: x }}", "s and not t", "not t"},
      {"{t: { name: x }}", "not t", "not t"},
      {"{t: { name: x }, u: { other: y }}", "not t and not u", "not"},
      {"{t: { name: x }, u: { other: y }}", "not (t or u)", "not"},
      /* OR with one unsafe branch. */
      {"{s: { sex: f }, t: { name: x }}", "s or t", "s (sex)"},
      {"{s: { sex: f }, t: { name: x }}", "t or s", "s (sex)"},
      {"{s: { sex: f }, t: { name: x }, u: { nat: c }}", "t and s or u",
       "u (nat)"},
      /* A protected test AND a non-protected positive test. */
      {"{s: { sex: f }, t: { name: x }}", "s and t", NULL},
      {"{s: { sex: f, name: x }}", NULL, NULL},
      {"{s: { sex: f }, t: { name: x }, u: { other: y }}", "s and (t or u)",
       NULL},
      {"{s: { sex: f }, t: { name: x }, u: { nat: y }}", "s and (t or u)",
       "nat"},
      {"{s: { sex: f }, t: { name: x }, u: { other: y }}", "(s or t) and u",
       NULL},
      /* A selection that is a list of maps: each map is a term. */
      {"{s: [{ sex: f, name: x }, { nat: c }]}", NULL, "nat"},
      {"{s: [{ sex: f, name: x }, { nat: c, other: y }]}", NULL, NULL},
      /* Quantifiers expand to their terms. */
      {"{sel_a: { sex: f }, sel_b: { nat: c }}", "1 of sel_*", "sel_"},
      {"{sel_a: { sex: f }, sel_b: { nat: c }, t: { name: x }}",
       "1 of sel_* and t", NULL},
      {"{sel_a: { sex: f }, sel_b: { name: x }}", "all of them", NULL},
      {"{sel_a: { sex: f }, sel_b: { nat: x }}", "all of them", "sel_"},
      {"{a: { sex: f }, b: { nat: x }, c: { name: y }}", "2 of them", "a"},
      {"{a: { name: f }, b: { other: x }, c: { sex: y }}", "2 of them", NULL},
      /* A fieldref to a protected field is not a positive test
       * (docs/rules.md). */
      {"{s: { name|fieldref: nat }}", NULL, "s"},
  };
  int failures = 0;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    struct fx fx;
    fx_init(&fx);
    char text[1024];
    snprintf(text, sizeof text,
             "%srules:\n  - id: F%zu\n    title: f\n    kind: t\n"
             "    score: 1\n    match: %s\n%s%s%s",
             lists_yaml, i, cases[i].match,
             cases[i].condition ? "    condition: '" : "",
             cases[i].condition ? cases[i].condition : "",
             cases[i].condition ? "'\n" : "");
    fx_write(&fx, "rules.yaml", text);
    int rc = fx_try_load(&fx);
    bool refused = has_diag(&fx.diags, "fairness", NULL);
    if (!cases[i].term) {
      if (rc != VG_OK) {
        fprintf(stderr, "fairness case %zu (%s / %s): refused\n", i,
                cases[i].match, cases[i].condition ? cases[i].condition : "");
        print_diags(&fx.diags);
        failures++;
      }
    } else if (rc != VG_EINVAL || !refused ||
               !has_diag(&fx.diags, "fairness", cases[i].term)) {
      fprintf(stderr,
              "fairness case %zu (%s / %s): expected a refusal naming "
              "'%s'\n",
              i, cases[i].match, cases[i].condition ? cases[i].condition : "",
              cases[i].term);
      print_diags(&fx.diags);
      failures++;
    }
    fx_close(&fx);
  }
  assert_int_equal(failures, 0);
}

static void test_fairness_macro(void **state) {
  (void)state;
  struct fx fx;
  fx_init(&fx);
  fx_write(&fx, "macros.yaml",
           "macros:\n"
           "  minor: { kind: t, match: { age|lt: 18 } }\n"
           "  woman: { kind: t, match: { sex: f } }\n");
  fx_write(&fx, "rules.yaml",
           "rules:\n"
           "  - id: F1\n    title: f\n    kind: t\n    score: 1\n"
           "    match:\n      s: { nat: x }\n"
           "    condition: minor and woman and s\n");
  assert_int_equal(fx_try_load(&fx), VG_EINVAL);
  assert_true(has_diag(&fx.diags, "fairness", "minor"));
  /* With a positive non-protected test in the term it loads. */
  fx_write(&fx, "rules.yaml",
           "rules:\n"
           "  - id: F1\n    title: f\n    kind: t\n    score: 1\n"
           "    match:\n      s: { name: x }\n"
           "    condition: minor and woman and s\n");
  fx_load(&fx);
  fx_close(&fx);
}

/* -------------------------------------------------------- evidence */

static const struct vg_evidence *evidence_of(const struct vg_result *res,
                                             const char *rule,
                                             const char *selection) {
  const struct vg_hit *h = find_hit(res, rule);
  if (!h)
    fail_msg("rule %s did not fire", rule);
  for (size_t i = 0; i < h->nevidence; i++)
    if (!strcmp(h->evidence[i].selection, selection))
      return &h->evidence[i];
  fail_msg("rule %s has no evidence for %s", rule, selection);
  return NULL;
}

static void check_span(const struct vg_evidence *e, const char *value,
                       const char *want) {
  const char *at = strstr(value, want);
  assert_non_null(at);
  int64_t start = at - value, end = start + (int64_t)strlen(want);
  if (e->span_start != start || e->span_end != end)
    fail_msg("span [%lld, %lld) on \"%s\", want [%lld, %lld) (\"%s\")",
             (long long)e->span_start, (long long)e->span_end, value,
             (long long)start, (long long)end, want);
}

static void test_evidence(void **state) {
  (void)state;
  struct fx fx;
  fx_init(&fx);
  fx_write(&fx, "rules.yaml",
           "lists:\n  wanted: [Juan Pérez Gómez]\n"
           "rules:\n"
           "  - id: E1\n    title: contains\n    kind: t\n    score: 10\n"
           "    match:\n      lure: { text|contains: senoritas }\n"
           "      adult: { n|gte: 18 }\n"
           "      off: { name: nobody }\n"
           "    condition: lure and adult and not off\n"
           "  - id: E2\n    title: starts\n    kind: t\n    score: 10\n"
           "    match:\n      s: { text|startswith: 'las señ' }\n"
           "  - id: E3\n    title: ends\n    kind: t\n    score: 10\n"
           "    match:\n      s: { text|endswith: 'ritas bar' }\n"
           "  - id: E4\n    title: re\n    kind: t\n    score: 10\n"
           "    match:\n      s: { text|re: 'Se.or' }\n"
           "  - id: E5\n    title: re fold\n    kind: t\n    score: 10\n"
           "    match:\n      s: { text|re|fold: 'senoritas' }\n"
           "  - id: E6\n    title: fuzzy\n    kind: t\n    score: 10\n"
           "    match:\n      s: { name|fuzzy: wanted }\n"
           "  - id: E7\n    title: equals\n    kind: t\n    score: 10\n"
           "    match:\n      s: { flag: true, d: 2026-01-02 }\n"
           "  - id: E8\n    title: list\n    kind: t\n    score: 10\n"
           "    match:\n      s: { tags|contains: ñor }\n"
           "  - id: E9\n    title: exists\n    kind: t\n    score: 10\n"
           "    match:\n      s: { other|exists: false, name|exists: true }\n"
           "  - id: E10\n    title: cased\n    kind: t\n    score: 10\n"
           "    match:\n      s: { text|contains|cased: Señor }\n");
  fx_load(&fx);
  const char *text = "Las Señoritas bar";
  struct vg_result res;
  screen(&fx,
         rec("\"text\":\"Las Señoritas bar\",\"n\":21,\"name\":\"Perez Gomez, "
             "Juan\",\"flag\":true,\"d\":\"2026-01-02\","
             "\"tags\":[\"x\",\"La Señora\"]"),
         &res);
  /* contains: the span of 'Señoritas' in the raw bytes. */
  const struct vg_evidence *e = evidence_of(&res, "E1", "lure");
  assert_string_equal(e->field, "text");
  assert_int_equal(e->value_len, strlen(text));
  assert_memory_equal(e->value, text, strlen(text));
  assert_true(e->value_is_string);
  check_span(e, text, "Señoritas");
  assert_null(e->entry);
  e = evidence_of(&res, "E1", "adult");
  assert_string_equal(e->field, "n");
  assert_int_equal(e->value_len, 2);
  assert_memory_equal(e->value, "21", 2);
  assert_false(e->value_is_string);
  assert_int_equal(e->span_start, -1);
  assert_int_equal(e->span_end, -1);
  /* A selection under not argues against the hit: no evidence for it. */
  const struct vg_hit *h = find_hit(&res, "E1");
  assert_int_equal(h->nevidence, 2);
  assert_int_equal(h->score, 10);
  assert_string_equal(h->title, "contains");
  assert_int_equal(strlen(h->digest), 64);
  check_span(evidence_of(&res, "E2", "s"), text, "Las Señ");
  check_span(evidence_of(&res, "E3", "s"), text, "ritas bar");
  check_span(evidence_of(&res, "E4", "s"), text, "Señor");
  check_span(evidence_of(&res, "E5", "s"), text, "Señoritas");
  check_span(evidence_of(&res, "E10", "s"), text, "Señor");
  e = evidence_of(&res, "E6", "s");
  assert_string_equal(e->field, "name");
  assert_non_null(e->entry);
  assert_string_equal(e->entry, "Juan Pérez Gómez");
  assert_true(e->similarity > 0.999 && e->similarity <= 1.0);
  assert_int_equal(e->span_start, -1);
  h = find_hit(&res, "E7");
  assert_int_equal(h->nevidence, 2);
  e = evidence_of(&res, "E7", "s");
  /* For a list field the value is the element that held. */
  e = evidence_of(&res, "E8", "s");
  assert_string_equal(e->field, "tags");
  assert_int_equal(e->value_len, strlen("La Señora"));
  assert_memory_equal(e->value, "La Señora", e->value_len);
  check_span(e, "La Señora", "ñor");
  h = find_hit(&res, "E9");
  assert_non_null(h);
  /* An accent that folds away still spans its raw bytes. */
  screen(&fx, rec("\"text\":\"  LAS   SEÑORITAS\""), &res);
  check_span(evidence_of(&res, "E5", "s"), "  LAS   SEÑORITAS", "SEÑORITAS");
  check_span(evidence_of(&res, "E2", "s"), "  LAS   SEÑORITAS", "LAS   SEÑ");
  fx_close(&fx);
}

static void test_evidence_cut(void **state) {
  (void)state;
  struct fx fx;
  fx_init(&fx);
  fx_write(&fx, "rules.yaml",
           "rules:\n"
           "  - id: LONG\n    title: long\n    kind: t\n    score: 10\n"
           "    match:\n      s: { text|contains: needle }\n");
  fx_load(&fx);
  /* 255 ASCII bytes, then 'é' across bytes 255-256, then the needle. */
  char value[600], fields[700];
  memset(value, 'a', 255);
  memcpy(value + 255, "é", 2);
  snprintf(value + 257, sizeof value - 257, " and a needle at the end");
  snprintf(fields, sizeof fields, "\"text\":\"%s\"", value);
  struct vg_result res;
  screen(&fx, rec(fields), &res);
  const struct vg_evidence *e = evidence_of(&res, "LONG", "s");
  assert_int_equal(e->value_len, 255);
  assert_memory_equal(e->value, value, 255);
  /* The span still names the needle's bytes in the raw value. */
  check_span(e, value, "needle");
  /* Exactly 256 ASCII bytes before a multi-byte character: cut at 256. */
  memset(value, 'b', 256);
  snprintf(value + 256, sizeof value - 256, "ñ needle");
  snprintf(fields, sizeof fields, "\"text\":\"%s\"", value);
  screen(&fx, rec(fields), &res);
  e = evidence_of(&res, "LONG", "s");
  assert_int_equal(e->value_len, 256);
  /* Short values are whole. */
  screen(&fx, rec("\"text\":\"needle\""), &res);
  e = evidence_of(&res, "LONG", "s");
  assert_int_equal(e->value_len, 6);
  fx_close(&fx);
}

/* ---------------------------------------------------------- digests */

static void digest_of(const char *rules_text, const char *extra_file,
                      const char *extra_text, char out[65]) {
  struct fx fx;
  fx_init(&fx);
  fx_write(&fx, "rules.yaml", rules_text);
  if (extra_file)
    fx_write(&fx, extra_file, extra_text);
  fx_load(&fx);
  struct vg_rule_info info;
  vg_ruleset_rule_info(fx.rs, rule_index(&fx, "DG"), &info);
  assert_int_equal(strlen(info.digest), 64);
  for (const char *p = info.digest; *p; p++)
    assert_true((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
  memcpy(out, info.digest, 65);
  fx_close(&fx);
}

static void test_rule_digest(void **state) {
  (void)state;
  static const char base[] =
      "lists:\n  l: [a, b]\n"
      "rules:\n"
      "  - id: DG\n    title: digest\n    kind: t\n    score: 10\n"
      "    match:\n      s: { name|in: l, n|gt: 3 }\n"
      "      t: { text|re: 'x+y' }\n"
      "    condition: s and t\n";
  /* The same rule, formatted otherwise: block style, other key order,
   * comments, quotes, another list formatting. */
  static const char reformatted[] = "# a comment\n"
                                    "rules:\n"
                                    "  - kind: t   # kind first\n"
                                    "    condition: \"s and t\"\n"
                                    "    id: 'DG'\n"
                                    "    score: 10\n"
                                    "    title: \"digest\"\n"
                                    "    match:\n"
                                    "      t:\n"
                                    "        text|re: \"x+y\"\n"
                                    "      s:\n"
                                    "        n|gt: 3\n"
                                    "        name|in: l\n"
                                    "lists:\n"
                                    "  l:\n"
                                    "    - a\n"
                                    "    - 'b'\n";
  static const char other_score[] =
      "lists:\n  l: [a, b]\n"
      "rules:\n"
      "  - id: DG\n    title: digest\n    kind: t\n    score: 11\n"
      "    match:\n      s: { name|in: l, n|gt: 3 }\n"
      "      t: { text|re: 'x+y' }\n"
      "    condition: s and t\n";
  static const char other_regex[] =
      "lists:\n  l: [a, b]\n"
      "rules:\n"
      "  - id: DG\n    title: digest\n    kind: t\n    score: 10\n"
      "    match:\n      s: { name|in: l, n|gt: 3 }\n"
      "      t: { text|re: 'x+z' }\n"
      "    condition: s and t\n";
  static const char other_list[] =
      "lists:\n  l: [a, c]\n"
      "rules:\n"
      "  - id: DG\n    title: digest\n    kind: t\n    score: 10\n"
      "    match:\n      s: { name|in: l, n|gt: 3 }\n"
      "      t: { text|re: 'x+y' }\n"
      "    condition: s and t\n";
  static const char unused_list_changed[] =
      "lists:\n  l: [a, b]\n  unrelated: [q]\n"
      "rules:\n"
      "  - id: DG\n    title: digest\n    kind: t\n    score: 10\n"
      "    match:\n      s: { name|in: l, n|gt: 3 }\n"
      "      t: { text|re: 'x+y' }\n"
      "    condition: s and t\n"
      "  - { id: OTHER, title: o, kind: t, score: 1, match: { s: { name|in: "
      "unrelated } } }\n";
  char d_base[65], d_again[65], d_fmt[65], d_score[65], d_regex[65], d_list[65],
      d_unrelated[65];
  digest_of(base, NULL, NULL, d_base);
  digest_of(base, NULL, NULL, d_again);
  assert_string_equal(d_base, d_again);
  digest_of(reformatted, NULL, NULL, d_fmt);
  assert_string_equal(d_base, d_fmt);
  digest_of(unused_list_changed, NULL, NULL, d_unrelated);
  assert_string_equal(d_base, d_unrelated);
  digest_of(other_score, NULL, NULL, d_score);
  assert_string_not_equal(d_base, d_score);
  digest_of(other_regex, NULL, NULL, d_regex);
  assert_string_not_equal(d_base, d_regex);
  digest_of(other_list, NULL, NULL, d_list);
  assert_string_not_equal(d_base, d_list);

  /* A list from a file: changing the file changes the digest. */
  static const char from_file[] =
      "lists:\n  l: { file: l.txt }\n"
      "rules:\n"
      "  - id: DG\n    title: digest\n    kind: t\n    score: 10\n"
      "    match:\n      s: { name|in: l }\n";
  char f1[65], f2[65], f3[65];
  digest_of(from_file, "l.txt", "a\nb\n", f1);
  digest_of(from_file, "l.txt", "# comment\na\n\nb", f2);
  assert_string_equal(f1, f2);
  digest_of(from_file, "l.txt", "a\nb\nc\n", f3);
  assert_string_not_equal(f1, f3);

  /* A macro it uses: changing the macro changes the digest. */
  static const char with_macro_a[] =
      "macros:\n  mm: { kind: t, match: { other: y } }\n"
      "rules:\n"
      "  - id: DG\n    title: digest\n    kind: t\n    score: 10\n"
      "    match:\n      s: { name: x }\n    condition: s and mm\n";
  static const char with_macro_b[] =
      "macros:\n  mm: { kind: t, match: { other: z } }\n"
      "rules:\n"
      "  - id: DG\n    title: digest\n    kind: t\n    score: 10\n"
      "    match:\n      s: { name: x }\n    condition: s and mm\n";
  char m1[65], m2[65];
  digest_of(with_macro_a, NULL, NULL, m1);
  digest_of(with_macro_b, NULL, NULL, m2);
  assert_string_not_equal(m1, m2);
}

/* Digests reach hits: the hit carries the rule's digest. */
static void test_digest_in_hit(void **state) {
  (void)state;
  struct fx fx;
  fx_init(&fx);
  fx_write(&fx, "rules.yaml",
           "rules:\n  - { id: H, title: h, kind: t, score: 5, match: { s: { "
           "name: x } } }\n");
  fx_load(&fx);
  struct vg_rule_info info;
  vg_ruleset_rule_info(fx.rs, 0, &info);
  struct vg_result res;
  screen(&fx, rec("\"name\":\"x\""), &res);
  assert_int_equal(res.nhits, 1);
  assert_string_equal(res.hits[0].digest, info.digest);
  assert_int_equal(res.hits[0].rule, 0);
  fx_close(&fx);
}

/* ---------------------------------------------------------- rejects */

struct rcase {
  const char *json;
  const char *field;  /* expected vg_reject.field */
  const char *reason; /* expected in the reason */
};

static void test_rejects(void **state) {
  (void)state;
  static const struct rcase cases[] = {
      {"{\"kind\":\"t\",\"id\":", "", "JSON"},
      {"{\"kind\":\"t\",\"id\":\"a\",\"observed_at\":\"2026-01-01T00:00:00Z\","
       "\"name\":\"\xff\"}",
       "", "UTF-8"},
      {"{\"kind\":\"t\",\"id\":\"a\",\"observed_at\":\"2026-01-01T00:00:00Z\","
       "\"name\":\"\xc3\"}",
       "", "UTF-8"},
      {"[1, 2]", "", "object"},
      {"\"text\"", "", "object"},
      {"", "", ""},
      {"{\"id\":\"a\",\"observed_at\":\"2026-01-01T00:00:00Z\"}", "kind",
       "kind"},
      {"{\"kind\":null,\"id\":\"a\",\"observed_at\":\"2026-01-01T00:00:00Z\"}",
       "kind", "kind"},
      {"{\"kind\":\"t\",\"observed_at\":\"2026-01-01T00:00:00Z\"}", "id", "id"},
      {"{\"kind\":\"t\",\"id\":\"a\"}", "observed_at", "observed_at"},
      {"{\"kind\":\"t\",\"id\":\"a\",\"observed_at\":\"2026-01-01\"}",
       "observed_at", "observed_at"},
      {"{\"kind\":\"nope\",\"id\":\"a\",\"observed_at\":"
       "\"2026-01-01T00:00:00Z\"}",
       "kind", "nope"},
      {"{\"kind\":\"r\",\"id\":\"a\",\"observed_at\":\"2026-01-01T00:00:00Z\"}",
       "must", "must"},
      {"{\"kind\":\"r\",\"id\":\"a\",\"observed_at\":\"2026-01-01T00:00:00Z\","
       "\"must\":null}",
       "must", "must"},
      /* A JSON string where a number is declared. */
      {"{\"kind\":\"t\",\"id\":\"a\",\"observed_at\":\"2026-01-01T00:00:00Z\","
       "\"n\":\"5\"}",
       "n", "'n'"},
      {"{\"kind\":\"t\",\"id\":\"a\",\"observed_at\":\"2026-01-01T00:00:00Z\","
       "\"x\":\"2.5\"}",
       "x", "'x'"},
      /* 3.5 for an int. */
      {"{\"kind\":\"t\",\"id\":\"a\",\"observed_at\":\"2026-01-01T00:00:00Z\","
       "\"n\":3.5}",
       "n", "'n'"},
      /* A bad date, a bad datetime. */
      {"{\"kind\":\"t\",\"id\":\"a\",\"observed_at\":\"2026-01-01T00:00:00Z\","
       "\"d\":\"2026-02-30\"}",
       "d", "'d'"},
      {"{\"kind\":\"t\",\"id\":\"a\",\"observed_at\":\"2026-01-01T00:00:00Z\","
       "\"d\":\"01/02/2026\"}",
       "d", "'d'"},
      {"{\"kind\":\"t\",\"id\":\"a\",\"observed_at\":\"2026-01-01T00:00:00Z\","
       "\"dt\":\"2026-01-01T00:00:00\"}",
       "dt", "'dt'"},
      {"{\"kind\":\"t\",\"id\":\"a\",\"observed_at\":\"2026-01-01T00:00:00Z\","
       "\"flag\":\"true\"}",
       "flag", "'flag'"},
      {"{\"kind\":\"t\",\"id\":\"a\",\"observed_at\":\"2026-01-01T00:00:00Z\","
       "\"name\":5}",
       "name", "'name'"},
      {"{\"kind\":\"t\",\"id\":\"a\",\"observed_at\":\"2026-01-01T00:00:00Z\","
       "\"tags\":\"a\"}",
       "tags", "'tags'"},
      {"{\"kind\":\"t\",\"id\":\"a\",\"observed_at\":\"2026-01-01T00:00:00Z\","
       "\"tags\":[\"a\",3]}",
       "tags", "'tags'"},
      {"{\"kind\":\"t\",\"id\":\"a\",\"observed_at\":\"2026-01-01T00:00:00Z\","
       "\"a\":{\"b\":{\"c\":[]}}}",
       "a.b.c", "'a.b.c'"},
      {"{\"kind\":\"t\",\"id\":5,\"observed_at\":\"2026-01-01T00:00:00Z\"}",
       "id", "'id'"},
  };
  struct fx fx;
  fx_init(&fx);
  fx_write(&fx, "rules.yaml",
           "rules:\n  - { id: R, title: r, kind: t, score: 5, match: { s: { "
           "name: x } } }\n");
  fx_load(&fx);
  int failures = 0;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    struct vg_result res;
    struct vg_reject rej;
    memset(&rej, 0x5a, sizeof rej);
    int rc =
        vg_eval_record(fx.ev, cases[i].json, strlen(cases[i].json), &res, &rej);
    if (rc != VG_EINVAL) {
      fprintf(stderr, "reject case %zu: rc %d, want VG_EINVAL: %s\n", i, rc,
              cases[i].json);
      failures++;
      continue;
    }
    if (!memchr(rej.field, '\0', sizeof rej.field) ||
        !memchr(rej.reason, '\0', sizeof rej.reason) ||
        strcmp(rej.field, cases[i].field) != 0 ||
        !strstr(rej.reason, cases[i].reason) || !rej.reason[0]) {
      fprintf(stderr,
              "reject case %zu: field '%.40s' reason '%.200s'; want "
              "field '%s' and '%s' in the reason\n",
              i, rej.field, rej.reason, cases[i].field, cases[i].reason);
      failures++;
    }
  }
  /* The evaluator is still good after rejects. */
  struct vg_result res;
  screen(&fx, rec("\"name\":\"x\""), &res);
  assert_int_equal(res.nhits, 1);
  fx_close(&fx);
  assert_int_equal(failures, 0);
}

/* Results carry the record's identity, with source defaulting. */
static void test_result_identity(void **state) {
  (void)state;
  struct fx fx;
  fx_init(&fx);
  fx_write(&fx, "rules.yaml",
           "rules:\n  - { id: R, title: r, kind: t, score: 5, match: { s: { "
           "name: x } } }\n");
  fx_load(&fx);
  struct vg_result res;
  screen(&fx, rec("\"doc\":\"AB123\",\"undeclared\":{\"deep\":[1,2]}"), &res);
  assert_string_equal(res.kind_name, "t");
  assert_int_equal(res.id_len, 2);
  assert_memory_equal(res.id, "r1", 2);
  assert_int_equal(res.source_len, 7);
  assert_memory_equal(res.source, "default", 7);
  assert_int_equal(res.observed_at, INT64_C(1767225600000000));
  assert_int_equal(res.subject_len, 5);
  assert_memory_equal(res.subject, "AB123", 5);
  const char *with_source = "{\"kind\":\"t\",\"id\":\"q\",\"source\":\"feed1\","
                            "\"observed_at\":\"2026-01-01T00:00:00Z\"}";
  screen(&fx, with_source, &res);
  assert_int_equal(res.source_len, 5);
  assert_memory_equal(res.source, "feed1", 5);
  assert_null(res.subject);
  fx_close(&fx);
}

/* ------------------------------------------------------ match limit */

static void test_match_limit(void **state) {
  (void)state;
  struct fx fx;
  fx_init(&fx);
  fx_write(&fx, "rules.yaml",
           "rules:\n"
           "  - id: SLOW\n    title: slow\n    kind: t\n    score: 10\n"
           "    match:\n      s: { text|re: '^(a|aa|aaa)+(a|aa)+$' }\n"
           "  - id: FINE\n    title: fine\n    kind: t\n    score: 10\n"
           "    match:\n      s: { text|contains: aaa }\n");
  fx_load(&fx);
  char fields[256];
  char value[200];
  memset(value, 'a', 120);
  value[120] = 'b';
  value[121] = '\0';
  snprintf(fields, sizeof fields, "\"text\":\"%s\"", value);
  time_t before = time(NULL);
  struct vg_result res;
  screen(&fx, rec(fields), &res);
  assert_true(time(NULL) - before < 60);
  assert_int_equal(res.nincomplete, 1);
  assert_string_equal(res.incomplete[0], "SLOW");
  /* The cut test does not hold; the rest of the record is screened. */
  assert_null(find_hit(&res, "SLOW"));
  assert_non_null(find_hit(&res, "FINE"));
  /* A record that does not hit the limit is complete. */
  screen(&fx, rec("\"text\":\"aaaa\""), &res);
  assert_int_equal(res.nincomplete, 0);
  assert_non_null(find_hit(&res, "SLOW"));
  fx_close(&fx);
}

/* Two evaluators share one ruleset; each keeps its own results. */
static void test_two_evaluators(void **state) {
  (void)state;
  struct fx fx;
  fx_init(&fx);
  fx_write(&fx, "rules.yaml",
           "rules:\n  - { id: R, title: r, kind: t, score: 5, match: { s: { "
           "text|re: 'ab+c' } } }\n");
  fx_load(&fx);
  vg_eval *ev2 = vg_eval_new(fx.rs);
  assert_non_null(ev2);
  struct vg_result r1, r2;
  struct vg_reject rej;
  const char *a = rec("\"text\":\"xabbc\"");
  char copy[8192];
  snprintf(copy, sizeof copy, "%s", a);
  assert_int_equal(vg_eval_record(fx.ev, copy, strlen(copy), &r1, &rej), 0);
  const char *b = rec("\"text\":\"xac\"");
  assert_int_equal(vg_eval_record(ev2, b, strlen(b), &r2, &rej), 0);
  assert_int_equal(r1.nhits, 1);
  assert_int_equal(r2.nhits, 0);
  vg_eval_free(ev2);
  vg_eval_free(NULL);
  vg_ruleset_free(NULL);
  fx_close(&fx);
}

/* Many records through one evaluator: results stay right as the per-record
 * memory is reused (prefilter generations, arenas). */
static void test_many_records(void **state) {
  (void)state;
  struct fx fx;
  fx_init(&fx);
  fx_write(
      &fx, "rules.yaml",
      "rules:\n"
      "  - { id: R1, title: r, kind: t, score: 5, match: { s: { text|re: "
      "'needle\\d' } } }\n"
      "  - { id: R2, title: r, kind: t, score: 5, match: { s: { text|re|i: "
      "'haystack' } } }\n");
  fx_load(&fx);
  for (int i = 0; i < 3000; i++) {
    char fields[128];
    snprintf(fields, sizeof fields, "\"text\":\"%s%d\"",
             i % 3 == 0   ? "a needle"
             : i % 3 == 1 ? "HayStack "
                          : "none ",
             i);
    struct vg_result res;
    screen(&fx, rec(fields), &res);
    size_t want = i % 3 == 2 ? 0 : 1;
    if (res.nhits != want)
      fail_msg("record %d: %zu hits, want %zu", i, res.nhits, want);
  }
  fx_close(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_equals_and_folding),
      cmocka_unit_test(test_substrings),
      cmocka_unit_test(test_regex),
      cmocka_unit_test(test_ordering),
      cmocka_unit_test(test_exists),
      cmocka_unit_test(test_lists_in_and_fuzzy),
      cmocka_unit_test(test_fieldref),
      cmocka_unit_test(test_list_fields),
      cmocka_unit_test(test_missing_and_null),
      cmocka_unit_test(test_phone_equality),
      cmocka_unit_test(test_precedence),
      cmocka_unit_test(test_single_selection_without_condition),
      cmocka_unit_test(test_selection_list_of_maps),
      cmocka_unit_test(test_macros),
      cmocka_unit_test(test_macro_of_other_kind),
      cmocka_unit_test(test_list_from_file),
      cmocka_unit_test(test_list_file_missing),
      cmocka_unit_test(test_enabled_false),
      cmocka_unit_test(test_rule_tests_run),
      cmocka_unit_test(test_scores_sum_and_cap),
      cmocka_unit_test(test_threshold_from_config),
      cmocka_unit_test(test_derived_fields),
      cmocka_unit_test(test_derived_in_rules),
      cmocka_unit_test(test_derived_protection),
      cmocka_unit_test(test_fairness),
      cmocka_unit_test(test_fairness_macro),
      cmocka_unit_test(test_evidence),
      cmocka_unit_test(test_evidence_cut),
      cmocka_unit_test(test_rule_digest),
      cmocka_unit_test(test_digest_in_hit),
      cmocka_unit_test(test_rejects),
      cmocka_unit_test(test_result_identity),
      cmocka_unit_test(test_match_limit),
      cmocka_unit_test(test_two_evaluators),
      cmocka_unit_test(test_many_records),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
