/* test_corr.c - correlation rules (SPEC 2.5): each type at and around its
 * bound, window edges, out-of-order arrival, cross-kind keys, match
 * filters, eviction, the memory state and the dry-run overlay. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vigia.h"

static const char schema_job[] =
    "kind: job_advert\n"
    "subject: contact.phone\n"
    "fields:\n"
    "  contact.phone: { type: phone }\n"
    "  contact.email: { type: string }\n"
    "  location.city: { type: string }\n"
    "  employer.name: { type: string }\n"
    "  benefits.lodging: { type: bool }\n"
    "  origin: { type: string, protected: true }\n";

static const char schema_travel[] =
    "kind: travel\n"
    "fields:\n"
    "  sponsor.phone: { type: phone }\n"
    "  nationality: { type: string, protected: true }\n";

struct fixture {
  char *dir;
  vg_ruleset *rs;
  vg_eval *ev;
  struct vg_corr_state *state;
  struct vg_diags diags;
};

static void write_rules(const char *dir, const char *rules) {
  char path[512];
  snprintf(path, sizeof path, "%s/schemas/job.yaml", dir);
  assert_int_equal(vgt_write_file(path, schema_job), 0);
  snprintf(path, sizeof path, "%s/schemas/travel.yaml", dir);
  assert_int_equal(vgt_write_file(path, schema_travel), 0);
  snprintf(path, sizeof path, "%s/rules.yaml", dir);
  assert_int_equal(vgt_write_file(path, rules), 0);
}

/* Loads rules into a fresh fixture; returns the load status. */
static int load(struct fixture *f, const char *rules) {
  memset(f, 0, sizeof *f);
  f->dir = vgt_tempdir();
  assert_non_null(f->dir);
  write_rules(f->dir, rules);
  struct vg_config cfg;
  vg_config_init(&cfg);
  vg_diags_init(&f->diags);
  int rc = vg_ruleset_load(f->dir, &cfg, &f->diags, &f->rs);
  vg_config_close(&cfg);
  if (rc == VG_OK) {
    f->ev = vg_eval_new(f->rs);
    f->state = vg_corr_mem_new();
    assert_non_null(f->ev);
    assert_non_null(f->state);
    vg_eval_set_state(f->ev, f->state);
  }
  return rc;
}

static void unload(struct fixture *f) {
  vg_eval_free(f->ev);
  vg_corr_state_free(f->state);
  vg_ruleset_free(f->rs);
  vg_diags_close(&f->diags);
  vgt_rmtree(f->dir);
  free(f->dir);
}

static bool has_code(const struct fixture *f, const char *code) {
  for (size_t i = 0; i < f->diags.count; i++)
    if (!strcmp(f->diags.items[i].code, code))
      return true;
  return false;
}

/* Screens one advert; returns the score (or -1 when rejected). */
static int advert(struct fixture *f, const char *id, const char *when,
                  const char *phone, const char *city) {
  char json[512];
  snprintf(json, sizeof json,
           "{\"kind\":\"job_advert\",\"id\":\"%s\",\"observed_at\":\"%s\","
           "\"contact\":{\"phone\":\"%s\"},\"location\":{\"city\":\"%s\"},"
           "\"benefits\":{\"lodging\":true}}",
           id, when, phone, city);
  struct vg_result res;
  struct vg_reject rej;
  if (vg_eval_record(f->ev, json, strlen(json), &res, &rej) != VG_OK) {
    fprintf(stderr, "rejected: %s\n", rej.reason);
    return -1;
  }
  return res.score;
}

static const char count_rule[] =
    "rules:\n"
    "  - id: C\n"
    "    title: same phone thrice\n"
    "    kind: job_advert\n"
    "    score: 30\n"
    "    correlate: { key: contact.phone, window: 2d, type: count, gte: 3 }\n";

static void count_at_bound(void **state) {
  (void)state;
  struct fixture f;
  assert_int_equal(load(&f, count_rule), VG_OK);
  assert_int_equal(advert(&f, "a", "2026-01-01T00:00:00Z", "300 1", "x"), 0);
  assert_int_equal(advert(&f, "b", "2026-01-01T10:00:00Z", "300-1", "x"), 0);
  /* Third record sharing the key (digits only): fires. */
  assert_int_equal(advert(&f, "c", "2026-01-02T00:00:00Z", "(300) 1", "x"), 30);
  /* Another phone does not. */
  assert_int_equal(advert(&f, "d", "2026-01-02T00:00:00Z", "300 2", "x"), 0);
  unload(&f);
}

static void count_same_record_once(void **state) {
  (void)state;
  struct fixture f;
  assert_int_equal(load(&f, count_rule), VG_OK);
  assert_int_equal(advert(&f, "a", "2026-01-01T00:00:00Z", "3001", "x"), 0);
  assert_int_equal(advert(&f, "a", "2026-01-01T01:00:00Z", "3001", "x"), 0);
  /* A record counted twice would reach 3 here. */
  assert_int_equal(advert(&f, "b", "2026-01-01T02:00:00Z", "3001", "x"), 0);
  assert_int_equal(advert(&f, "c", "2026-01-01T03:00:00Z", "3001", "x"), 30);
  unload(&f);
}

static void window_edges(void **state) {
  (void)state;
  struct fixture f;
  assert_int_equal(load(&f, count_rule), VG_OK);
  assert_int_equal(advert(&f, "a", "2026-01-01T00:00:00Z", "3001", "x"), 0);
  assert_int_equal(advert(&f, "b", "2026-01-02T00:00:00Z", "3001", "x"), 0);
  /* Exactly 2 days after a: the window [t-2d, t] is inclusive. */
  assert_int_equal(advert(&f, "c", "2026-01-03T00:00:00Z", "3001", "x"), 30);
  /* One second later a has left the window: b, c, d = 3 still. */
  assert_int_equal(advert(&f, "d", "2026-01-03T00:00:01Z", "3001", "x"), 30);
  /* Far later: alone again. */
  assert_int_equal(advert(&f, "e", "2026-02-01T00:00:00Z", "3001", "x"), 0);
  unload(&f);
}

static void out_of_order(void **state) {
  (void)state;
  struct fixture f;
  assert_int_equal(load(&f, count_rule), VG_OK);
  /* Two records observed later arrive first. */
  assert_int_equal(advert(&f, "late1", "2026-01-05T00:00:00Z", "3001", "x"), 0);
  assert_int_equal(advert(&f, "late2", "2026-01-05T01:00:00Z", "3001", "x"), 0);
  /* Observed before both: they do not count for it. */
  assert_int_equal(advert(&f, "early", "2026-01-04T00:00:00Z", "3001", "x"), 0);
  /* Observed after all three, within 2 days of each: fires. */
  assert_int_equal(advert(&f, "last", "2026-01-05T02:00:00Z", "3001", "x"), 30);
  unload(&f);
}

static const char distinct_rule[] =
    "rules:\n"
    "  - id: D\n"
    "    title: one phone, many cities\n"
    "    kind: job_advert\n"
    "    score: 25\n"
    "    match: { sel: { benefits.lodging: true } }\n"
    "    correlate:\n"
    "      key: contact.phone\n"
    "      window: 30d\n"
    "      type: distinct\n"
    "      field: location.city\n"
    "      gte: 3\n";

static void distinct_at_bound(void **state) {
  (void)state;
  struct fixture f;
  assert_int_equal(load(&f, distinct_rule), VG_OK);
  assert_int_equal(advert(&f, "a", "2026-01-01T00:00:00Z", "9", "Cali"), 0);
  /* Folded: the same city twice. */
  assert_int_equal(advert(&f, "b", "2026-01-02T00:00:00Z", "9", " CALI"), 0);
  assert_int_equal(advert(&f, "c", "2026-01-03T00:00:00Z", "9", "Bogotá"), 0);
  assert_int_equal(advert(&f, "d", "2026-01-04T00:00:00Z", "9", "bogota"), 0);
  assert_int_equal(advert(&f, "e", "2026-01-05T00:00:00Z", "9", "Medellín"),
                   25);
  unload(&f);
}

static void match_filter(void **state) {
  (void)state;
  struct fixture f;
  assert_int_equal(load(&f, distinct_rule), VG_OK);
  const char *no_lodging =
      "{\"kind\":\"job_advert\",\"id\":\"n%d\",\"observed_at\":"
      "\"2026-01-0%dT00:00:00Z\",\"contact\":{\"phone\":\"9\"},"
      "\"location\":{\"city\":\"c%d\"},\"benefits\":{\"lodging\":false}}";
  for (int i = 1; i <= 3; i++) {
    char json[512];
    snprintf(json, sizeof json, no_lodging, i, i, i);
    struct vg_result res;
    struct vg_reject rej;
    assert_int_equal(vg_eval_record(f.ev, json, strlen(json), &res, &rej),
                     VG_OK);
    assert_int_equal(res.nhits, 0);
  }
  /* Records outside the filter were not counted. */
  assert_int_equal(advert(&f, "y", "2026-01-05T00:00:00Z", "9", "Quito"), 0);
  assert_int_equal(advert(&f, "z", "2026-01-06T00:00:00Z", "9", "Lima"), 0);
  unload(&f);
}

static const char kinds_rule[] =
    "rules:\n"
    "  - id: K\n"
    "    title: advert phone sponsors travel\n"
    "    score: 40\n"
    "    correlate:\n"
    "      key: { job_advert: contact.phone, travel: sponsor.phone }\n"
    "      window: 90d\n"
    "      type: kinds\n";

static int traveller(struct fixture *f, const char *id, const char *when,
                     const char *phone, const char **related) {
  char json[512];
  snprintf(json, sizeof json,
           "{\"kind\":\"travel\",\"id\":\"%s\",\"observed_at\":\"%s\","
           "\"sponsor\":{\"phone\":\"%s\"}}",
           id, when, phone);
  struct vg_result res;
  struct vg_reject rej;
  if (vg_eval_record(f->ev, json, strlen(json), &res, &rej) != VG_OK)
    return -1;
  if (related && res.nhits)
    *related = res.hits[0].evidence[res.hits[0].nevidence - 1].related;
  return res.score;
}

static void kinds_cross(void **state) {
  (void)state;
  struct fixture f;
  assert_int_equal(load(&f, kinds_rule), VG_OK);
  struct vg_rule_info info;
  vg_ruleset_rule_info(f.rs, 0, &info);
  assert_null(info.kind);
  assert_true(info.correlation);
  /* Travel alone: not every kind seen. */
  assert_int_equal(traveller(&f, "t0", "2026-01-01T00:00:00Z", "+57 1", NULL),
                   0);
  /* An advert with the same number written otherwise: now both kinds. */
  assert_int_equal(advert(&f, "a", "2026-01-02T00:00:00Z", "0057 1", "x"), 40);
  const char *related = NULL;
  assert_int_equal(
      traveller(&f, "t1", "2026-01-03T00:00:00Z", "57-1", &related), 40);
  assert_non_null(related);
  assert_non_null(strstr(related, "\"id\":\"a\""));
  assert_non_null(strstr(related, "\"id\":\"t0\""));
  assert_null(strstr(related, "\"id\":\"t1\""));
  unload(&f);
}

static void eviction(void **state) {
  (void)state;
  struct fixture f;
  assert_int_equal(load(&f, count_rule), VG_OK);
  assert_int_equal(vg_ruleset_max_window(f.rs), INT64_C(2) * 86400000000);
  assert_int_equal(advert(&f, "a", "2026-01-01T00:00:00Z", "3001", "x"), 0);
  assert_int_equal(advert(&f, "b", "2026-01-01T01:00:00Z", "3001", "x"), 0);
  /* Evicting everything before b's time drops a. */
  assert_int_equal(f.state->evict(f.state, INT64_C(1767229200000000)), VG_OK);
  assert_int_equal(advert(&f, "c", "2026-01-01T02:00:00Z", "3001", "x"), 0);
  assert_int_equal(advert(&f, "d", "2026-01-01T03:00:00Z", "3001", "x"), 30);
  unload(&f);
}

static int count_entries(const struct vg_corr_entry *e, void *arg) {
  (void)e;
  ++*(int *)arg;
  return 0;
}

static void overlay_reads_base_writes_layer(void **state) {
  (void)state;
  struct vg_corr_state *base = vg_corr_mem_new();
  assert_non_null(base);
  struct vg_corr_entry e = {.kind = "k",
                            .source = "s",
                            .source_len = 1,
                            .id = "1",
                            .id_len = 1,
                            .time = 10,
                            .value = "v",
                            .value_len = 1};
  assert_int_equal(base->put(base, "R", "key", 3, &e), VG_OK);
  struct vg_corr_state *top = vg_corr_overlay_new(base);
  assert_non_null(top);
  int n = 0;
  assert_int_equal(top->scan(top, "R", "key", 3, 0, 100, count_entries, &n), 0);
  assert_int_equal(n, 1);
  /* A new version of the same record replaces the base's entry. */
  e.time = 20;
  assert_int_equal(top->put(top, "R", "key", 3, &e), VG_OK);
  e.id = "2";
  assert_int_equal(top->put(top, "R", "key", 3, &e), VG_OK);
  n = 0;
  assert_int_equal(top->scan(top, "R", "key", 3, 0, 100, count_entries, &n), 0);
  assert_int_equal(n, 2);
  /* The base is unchanged. */
  n = 0;
  assert_int_equal(base->scan(base, "R", "key", 3, 0, 100, count_entries, &n),
                   0);
  assert_int_equal(n, 1);
  /* Other rules and keys are apart. */
  n = 0;
  assert_int_equal(top->scan(top, "S", "key", 3, 0, 100, count_entries, &n), 0);
  assert_int_equal(n, 0);
  vg_corr_state_free(top);
  vg_corr_state_free(base);
}

static void memory_state_many_keys(void **state) {
  (void)state;
  struct vg_corr_state *m = vg_corr_mem_new();
  assert_non_null(m);
  char key[32];
  for (int i = 0; i < 20000; i++) {
    int len = snprintf(key, sizeof key, "k%d", i);
    struct vg_corr_entry e = {.kind = "k",
                              .source = "s",
                              .source_len = 1,
                              .id = key,
                              .id_len = (size_t)len,
                              .time = i,
                              .value = "",
                              .value_len = 0};
    assert_int_equal(m->put(m, "R", key, (size_t)len, &e), VG_OK);
  }
  for (int i = 0; i < 20000; i += 997) {
    int len = snprintf(key, sizeof key, "k%d", i);
    int n = 0;
    assert_int_equal(m->scan(m, "R", key, (size_t)len, INT64_MIN, INT64_MAX,
                             count_entries, &n),
                     0);
    assert_int_equal(n, 1);
  }
  assert_int_equal(m->evict(m, 10000), VG_OK);
  int n = 0;
  assert_int_equal(
      m->scan(m, "R", "k5", 2, INT64_MIN, INT64_MAX, count_entries, &n), 0);
  assert_int_equal(n, 0);
  vg_corr_state_free(m);
}

struct load_case {
  const char *rules;
  const char *code;
};

static void load_errors(void **state) {
  (void)state;
  static const struct load_case cases[] = {
      /* window without unit */
      {"rules:\n  - id: X\n    title: t\n    kind: job_advert\n    score: 5\n"
       "    correlate: { key: contact.phone, window: 30, type: count, gte: 2 "
       "}\n",
       "bad-correlation"},
      /* key field missing in a kind */
      {"rules:\n  - id: X\n    title: t\n    score: 5\n"
       "    correlate: { key: { job_advert: contact.phone, travel: "
       "sponsor.fone }, window: 3d, type: kinds }\n",
       "unknown-field"},
      /* incomparable key types */
      {"rules:\n  - id: X\n    title: t\n    score: 5\n"
       "    correlate: { key: { job_advert: contact.email, travel: "
       "sponsor.phone }, window: 3d, type: kinds }\n",
       "bad-correlation"},
      /* a key on a bool */
      {"rules:\n  - id: X\n    title: t\n    kind: job_advert\n    score: 5\n"
       "    correlate: { key: benefits.lodging, window: 3d, type: count, "
       "gte: 2 }\n",
       "bad-correlation"},
      /* kinds with one kind */
      {"rules:\n  - id: X\n    title: t\n    kind: job_advert\n    score: 5\n"
       "    correlate: { key: contact.phone, window: 3d, type: kinds }\n",
       "bad-correlation"},
      /* distinct without field */
      {"rules:\n  - id: X\n    title: t\n    kind: job_advert\n    score: 5\n"
       "    correlate: { key: contact.phone, window: 3d, type: distinct, "
       "gte: 2 }\n",
       "missing-key"},
      /* count without gte */
      {"rules:\n  - id: X\n    title: t\n    kind: job_advert\n    score: 5\n"
       "    correlate: { key: contact.phone, window: 3d, type: count }\n",
       "missing-key"},
      /* unknown type */
      {"rules:\n  - id: X\n    title: t\n    kind: job_advert\n    score: 5\n"
       "    correlate: { key: contact.phone, window: 3d, type: some }\n",
       "bad-correlation"},
      /* scalar key without the rule's kind */
      {"rules:\n  - id: X\n    title: t\n    score: 5\n"
       "    correlate: { key: contact.phone, window: 3d, type: count, gte: 2 "
       "}\n",
       "bad-correlation"},
      /* key of a kind the rule does not screen */
      {"rules:\n  - id: X\n    title: t\n    kind: job_advert\n    score: 5\n"
       "    correlate: { key: { travel: sponsor.phone }, window: 3d, type: "
       "count, gte: 2 }\n",
       "bad-correlation"},
      /* a key on a protected field alone */
      {"rules:\n  - id: X\n    title: t\n    kind: job_advert\n    score: 5\n"
       "    correlate: { key: origin, window: 3d, type: count, gte: 2 }\n",
       "fairness"},
      /* unknown key in correlate */
      {"rules:\n  - id: X\n    title: t\n    kind: job_advert\n    score: 5\n"
       "    correlate: { key: contact.phone, window: 3d, type: count, gte: 2, "
       "within: 2 }\n",
       "unknown-key"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    struct fixture f;
    int rc = load(&f, cases[i].rules);
    if (rc == VG_OK || !has_code(&f, cases[i].code)) {
      fprintf(stderr, "case %zu: expected [%s], got rc %d with:\n", i,
              cases[i].code, rc);
      for (size_t d = 0; d < f.diags.count; d++)
        fprintf(stderr, "  [%s] %s\n", f.diags.items[d].code,
                f.diags.items[d].message);
    }
    assert_int_not_equal(rc, VG_OK);
    assert_true(has_code(&f, cases[i].code));
    unload(&f);
  }
}

static void protected_key_with_safe_match(void **state) {
  (void)state;
  struct fixture f;
  assert_int_equal(
      load(&f, "rules:\n  - id: X\n    title: t\n    kind: job_advert\n"
               "    score: 5\n    match: { s: { benefits.lodging: true } }\n"
               "    correlate: { key: origin, window: 3d, type: count, "
               "gte: 2 }\n"),
      VG_OK);
  unload(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(count_at_bound),
      cmocka_unit_test(count_same_record_once),
      cmocka_unit_test(window_edges),
      cmocka_unit_test(out_of_order),
      cmocka_unit_test(distinct_at_bound),
      cmocka_unit_test(match_filter),
      cmocka_unit_test(kinds_cross),
      cmocka_unit_test(eviction),
      cmocka_unit_test(overlay_reads_base_writes_layer),
      cmocka_unit_test(memory_state_many_keys),
      cmocka_unit_test(load_errors),
      cmocka_unit_test(protected_key_with_safe_match),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
