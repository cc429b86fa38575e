/* test_faults.c - fault injection: every allocation the engine makes while
 * loading rules and screening records is failed in turn (the Nth, for N =
 * 1, 2, ... until a run completes), proving each cleanup path: the call
 * must fail cleanly (no crash, no leak under ASan) and succeed once memory
 * is there. The allocator is wrapped at link time (-Wl,--wrap). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vigia.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);

/* Allocation number at which to fail; 0: never. */
static long fail_at, count;

static bool should_fail(void) {
  return fail_at && ++count == fail_at;
}

void *__wrap_malloc(size_t size) {
  return should_fail() ? NULL : __real_malloc(size);
}
void *__wrap_calloc(size_t n, size_t size) {
  return should_fail() ? NULL : __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t size) {
  return should_fail() ? NULL : __real_realloc(p, size);
}
char *__wrap_strdup(const char *s) {
  return should_fail() ? NULL : __real_strdup(s);
}

static char *rules_dir;

static const char schema[] = "kind: job_advert\n"
                             "subject: contact.phone\n"
                             "fields:\n"
                             "  contact.phone: { type: phone }\n"
                             "  text: { type: text }\n"
                             "  tags: { type: list }\n"
                             "  city: { type: string }\n"
                             "  pay: { type: number }\n"
                             "  posted: { type: date }\n"
                             "derived:\n"
                             "  ntags: { count: tags }\n";

static const char rules[] =
    "lists:\n"
    "  cities: [Cali, Bogotá]\n"
    "  names: { items: [Kali, Ana Gómez], threshold: 0.8 }\n"
    "macros:\n"
    "  paid: { kind: job_advert, match: { pay|gt: 100 } }\n"
    "rules:\n"
    "  - id: R1\n"
    "    title: lure\n"
    "    kind: job_advert\n"
    "    score: 30\n"
    "    match:\n"
    "      a: { text|re|i: '\\bsin experiencia\\b' }\n"
    "      b: { city|in: cities }\n"
    "      c: [ { tags|contains: whats }, { ntags|gte: 3 } ]\n"
    "    condition: a and (b or c) and paid\n"
    "    tests:\n"
    "      - record: { kind: job_advert, id: t, observed_at: "
    "'2026-01-01T00:00:00Z', text: 'Sin experiencia', city: cali, pay: 200 }\n"
    "        expect: match\n"
    "  - id: R2\n"
    "    title: name\n"
    "    kind: job_advert\n"
    "    score: 30\n"
    "    match: { n: { city|fuzzy: names } }\n"
    "  - id: R3\n"
    "    title: repeat\n"
    "    kind: job_advert\n"
    "    score: 10\n"
    "    match: { s: { city|exists: true } }\n"
    "    correlate: { key: contact.phone, window: 2d, type: distinct, field: "
    "city, gte: 1 }\n";

static const char record[] =
    "{\"kind\":\"job_advert\",\"id\":\"x\",\"observed_at\":"
    "\"2026-01-01T00:00:00Z\",\"contact\":{\"phone\":\"+57 1\"},"
    "\"text\":\"Trabajo SIN experiencia, pago \\u00e9\",\"city\":\"CALI\","
    "\"pay\":300,\"tags\":[\"whatsapp\"],\"posted\":\"2026-01-01\"}";

static int setup(void **state) {
  (void)state;
  rules_dir = vgt_tempdir();
  char path[512];
  snprintf(path, sizeof path, "%s/schemas/job.yaml", rules_dir);
  if (vgt_write_file(path, schema) != 0)
    return -1;
  snprintf(path, sizeof path, "%s/r.yaml", rules_dir);
  return vgt_write_file(path, rules);
}

static int teardown(void **state) {
  (void)state;
  vgt_rmtree(rules_dir);
  free(rules_dir);
  return 0;
}

static void ignore_outcome(const struct vg_rule_test_outcome *o, void *u) {
  (void)o;
  (void)u;
}

/* One full run: load, screen twice (the second with state), run tests.
 * Returns 0 when everything succeeded, -1 when an allocation failed. */
static int run_once(void) {
  struct vg_config cfg;
  vg_config_init(&cfg);
  struct vg_diags diags;
  vg_diags_init(&diags);
  vg_ruleset *rs = NULL;
  vg_eval *ev = NULL;
  struct vg_corr_state *state = NULL;
  int rc = vg_ruleset_load(rules_dir, &cfg, &diags, &rs);
  if (rc != VG_OK)
    goto done;
  rc = -1;
  if (!(ev = vg_eval_new(rs)) || !(state = vg_corr_mem_new()))
    goto done;
  vg_eval_set_state(ev, state);
  struct vg_result res;
  struct vg_reject rej;
  for (int i = 0; i < 2; i++) {
    rc = vg_eval_record(ev, record, strlen(record), &res, &rej);
    if (rc != VG_OK)
      goto done;
  }
  assert_int_equal(res.nhits, 3);
  size_t passed = 0, failed = 0;
  rc = vg_ruleset_run_tests(rs, ignore_outcome, NULL, &passed, &failed);
done:
  vg_corr_state_free(state);
  vg_eval_free(ev);
  vg_ruleset_free(rs);
  vg_diags_close(&diags);
  vg_config_close(&cfg);
  return rc == VG_OK ? 0 : -1;
}

static void every_allocation_fails_cleanly(void **state) {
  (void)state;
  /* Without faults the run succeeds. */
  fail_at = 0;
  assert_int_equal(run_once(), 0);
  long n;
  for (n = 1; n < 100000; n++) {
    fail_at = n;
    count = 0;
    int rc = run_once();
    fail_at = 0;
    if (count < n) {
      /* Fewer allocations than n: the run completed untouched. */
      assert_int_equal(rc, 0);
      break;
    }
  }
  assert_true(n > 10);
  fprintf(stderr, "failed each of %ld allocations in turn\n", n - 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_allocation_fails_cleanly),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
