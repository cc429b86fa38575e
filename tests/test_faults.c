/* test_faults.c - fault injection: every allocation the engine makes while
 * loading rules and screening records, and the store's while storing them
 * through its writer thread, is failed in turn (the Nth, for N = 1, 2, ...
 * until a run completes), proving each cleanup path: the call must fail
 * cleanly (no crash, no leak under ASan) and succeed once memory is there.
 * The allocator is wrapped at link time (-Wl,--wrap); the libraries'
 * own allocations (SQLite's, jansson's) are not failed. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "testutil.h"
#include "vigia.h"

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);

/* Allocation number at which to fail; 0: never. Counted across threads:
 * the store's writer allocates too. */
static long fail_at;
static atomic_long count;

static bool should_fail(void) {
  return fail_at && atomic_fetch_add(&count, 1) + 1 == fail_at;
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

/* Loads the rules and stores two records (one twice) and a reject through
 * a writer into a fresh database. Returns 0 when everything succeeded, -1
 * when something failed (cleanly). */
static int store_run_once(void) {
  char path[600];
  snprintf(path, sizeof path, "%s/faults.db", rules_dir);
  const char *suffixes[] = {"", "-wal", "-shm"};
  for (size_t i = 0; i < 3; i++) {
    char file[620];
    snprintf(file, sizeof file, "%s%s", path, suffixes[i]);
    unlink(file);
  }
  struct vg_config cfg;
  vg_config_init(&cfg);
  struct vg_diags diags;
  vg_diags_init(&diags);
  vg_ruleset *rs = NULL;
  vg_eval *ev = NULL;
  vg_store *store = NULL;
  struct vg_corr_state *state = NULL;
  char err[256];
  int rc = vg_ruleset_load(rules_dir, &cfg, &diags, &rs);
  if (rc != VG_OK)
    goto done;
  rc = -1;
  if (!(ev = vg_eval_new(rs)) ||
      vg_store_open(path, true, &store, err, sizeof err) != VG_OK ||
      vg_store_corr_state(store, true, &state) != VG_OK)
    goto done;
  vg_eval_set_state(ev, state);
  struct vg_store_writer_hooks hooks = {.batch_records = 2};
  vg_store_writer *w;
  if (vg_store_writer_start(store, rs, &hooks, &w) != VG_OK)
    goto done;
  static const char *const ids[] = {"x", "y", "x"};
  rc = VG_OK;
  for (size_t i = 0; rc == VG_OK && i < 3; i++) {
    char text[sizeof record + 8];
    snprintf(text, sizeof text, "%s", record);
    text[strstr(record, "\"x\"") - record + 1] = ids[i][0];
    struct vg_result res;
    struct vg_reject rej;
    rc = vg_eval_record(ev, text, strlen(text), &res, &rej);
    if (rc == VG_OK)
      rc = vg_store_writer_record(w, ev, &res, text, strlen(text), "tag", 3);
  }
  if (rc == VG_OK)
    rc = vg_store_writer_reject(w, "in", 4, "line 4", "not JSON", "{", 1, false,
                                NULL, 0);
  int frc = vg_store_writer_finish(w);
  if (rc == VG_OK)
    rc = frc;
done:
  vg_corr_state_free(state);
  vg_store_close(store);
  vg_eval_free(ev);
  vg_ruleset_free(rs);
  vg_diags_close(&diags);
  vg_config_close(&cfg);
  return rc == VG_OK ? 0 : -1;
}

/* Fails the 1st, 2nd, ... allocation of run() until a run makes fewer
 * allocations than the one failed: each failed run must end cleanly, and
 * the last must succeed. */
static void fail_each_allocation(int (*run)(void), const char *what) {
  /* Without faults the run succeeds. */
  fail_at = 0;
  assert_int_equal(run(), 0);
  long n;
  for (n = 1; n < 100000; n++) {
    fail_at = n;
    atomic_store(&count, 0);
    int rc = run();
    fail_at = 0;
    if (atomic_load(&count) < n) {
      /* Fewer allocations than n: the run completed untouched. */
      assert_int_equal(rc, 0);
      break;
    }
  }
  assert_true(n > 10);
  fprintf(stderr, "%s: failed each of %ld allocations in turn\n", what, n - 1);
}

static void every_allocation_fails_cleanly(void **state) {
  (void)state;
  fail_each_allocation(run_once, "load and screen");
}

static void every_store_allocation_fails_cleanly(void **state) {
  (void)state;
  fail_each_allocation(store_run_once, "store through the writer");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_allocation_fails_cleanly),
      cmocka_unit_test(every_store_allocation_fails_cleanly),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
