/* test_writer.c - the store writer (screening on one thread, storing on
 * another): a run through it leaves the database exactly as storing each
 * record in turn does, correlation state included; outcomes come back in
 * order with their tags; duplicates and rejects are kept; and a failure on
 * either side stops the run with its reason, keeping only whole batches. */
#include "testutil.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* 2026-01-01T00:00:00Z: both databases get the same times. */
#define CLOCK_US (INT64_C(1767225600) * 1000000)

struct lines {
  char **text;
  size_t *len;
  size_t n;
};

static struct lines sample;
static vg_ruleset *rules;

static int load_sample(void **state) {
  (void)state;
  struct vg_config cfg;
  struct vg_diags diags;
  vg_config_init(&cfg);
  vg_diags_init(&diags);
  assert_int_equal(vg_config_load(&cfg, VG_SOURCE_DIR "/vigia.yaml", &diags),
                   VG_OK);
  assert_int_equal(
      vg_ruleset_load(VG_SOURCE_DIR "/rules", &cfg, &diags, &rules), VG_OK);
  vg_diags_close(&diags);
  vg_config_close(&cfg);
  size_t len;
  char *all = vgt_read_file(VG_SOURCE_DIR "/examples/records.ndjson", &len);
  assert_non_null(all);
  for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
    sample.text = realloc(sample.text, (sample.n + 1) * sizeof *sample.text);
    sample.len = realloc(sample.len, (sample.n + 1) * sizeof *sample.len);
    assert_non_null(sample.text);
    assert_non_null(sample.len);
    sample.text[sample.n] = strdup(line);
    sample.len[sample.n++] = strlen(line);
  }
  free(all);
  assert_true(sample.n > 1000);
  return 0;
}

static int free_sample(void **state) {
  (void)state;
  for (size_t i = 0; i < sample.n; i++)
    free(sample.text[i]);
  free(sample.text);
  free(sample.len);
  vg_ruleset_free(rules);
  return 0;
}

struct run {
  char *dir;
  char path[512];
  vg_store *store;
  vg_eval *ev;
  struct vg_corr_state *state;
};

static void run_open(struct run *r) {
  memset(r, 0, sizeof *r);
  r->dir = vgt_tempdir();
  assert_non_null(r->dir);
  snprintf(r->path, sizeof r->path, "%s/vigia.db", r->dir);
  char err[256];
  assert_int_equal(vg_store_open(r->path, true, &r->store, err, sizeof err),
                   VG_OK);
  vg_store_set_clock(r->store, CLOCK_US);
  assert_non_null(r->ev = vg_eval_new(rules));
  assert_int_equal(vg_store_corr_state(r->store, true, &r->state), VG_OK);
  vg_eval_set_state(r->ev, r->state);
}

static void run_close(struct run *r) {
  vg_corr_state_free(r->state);
  vg_eval_free(r->ev);
  vg_store_close(r->store);
  r->store = NULL;
}

static void run_remove(struct run *r) {
  vgt_rmtree(r->dir);
  free(r->dir);
}

/* Every row of every table the screening writes, as text, in a fixed
 * order: two runs that stored the same leave the same dump. */
static char *dump(const char *path) {
  static const char *const queries[] = {
      "SELECT * FROM records ORDER BY id",
      "SELECT * FROM cases ORDER BY id",
      "SELECT * FROM case_rules ORDER BY case_id, rule",
      "SELECT * FROM case_routes ORDER BY case_id, route",
      "SELECT * FROM case_links ORDER BY case_id, other",
      "SELECT * FROM events ORDER BY id",
      "SELECT * FROM rejects ORDER BY id",
      "SELECT * FROM kind_totals ORDER BY kind",
      "SELECT * FROM rule_totals ORDER BY rule",
      "SELECT * FROM fairness ORDER BY kind, field, present, value",
      "SELECT * FROM corr_state ORDER BY rule, key, source, record_id",
  };
  sqlite3 *db;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                   SQLITE_OK);
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  assert_non_null(f);
  for (size_t q = 0; q < sizeof queries / sizeof *queries; q++) {
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, queries[q], -1, &st, NULL),
                     SQLITE_OK);
    fprintf(f, "-- %s\n", queries[q]);
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(st); c++) {
        const unsigned char *v = sqlite3_column_text(st, c);
        fprintf(f, "%s%s", c ? "|" : "", v ? (const char *)v : "NULL");
      }
      fputc('\n', f);
    }
    sqlite3_finalize(st);
  }
  fclose(f);
  sqlite3_close(db);
  return out;
}

/* Screens the sample in turn, each record stored before the next is
 * screened. */
static void screen_directly(struct run *r) {
  assert_int_equal(vg_store_batch_begin(r->store), VG_OK);
  for (size_t i = 0; i < sample.n; i++) {
    struct vg_result res;
    struct vg_reject rej;
    if (vg_eval_record(r->ev, sample.text[i], sample.len[i], &res, &rej) !=
        VG_OK) {
      assert_int_equal(vg_store_add_reject(r->store, "sample", (long)i + 1,
                                           "line", rej.reason, sample.text[i],
                                           sample.len[i], false),
                       VG_OK);
      continue;
    }
    struct vg_ingest_outcome out;
    assert_int_equal(vg_store_ingest(r->store, rules, r->ev, &res,
                                     sample.text[i], sample.len[i], &out),
                     VG_OK);
    if ((i + 1) % 500 == 0) {
      assert_int_equal(vg_store_batch_commit(r->store), VG_OK);
      assert_int_equal(vg_store_batch_begin(r->store), VG_OK);
    }
  }
  assert_int_equal(vg_store_batch_commit(r->store), VG_OK);
}

/* What the writer reported, in the order it did. */
struct seen {
  size_t n, duplicates, opened, stored, fail_at;
  long *tags;
};

static int on_applied(void *arg, const struct vg_store_applied *a) {
  struct seen *s = arg;
  if (a->type != VG_APPLIED_RECORD)
    return 0;
  if (s->fail_at && s->n + 1 == s->fail_at)
    return VG_EIO;
  s->tags = realloc(s->tags, (s->n + 1) * sizeof *s->tags);
  assert_non_null(s->tags);
  assert_non_null(a->tag);
  char text[32];
  assert_true(a->tag_len < sizeof text);
  memcpy(text, a->tag, a->tag_len);
  text[a->tag_len] = '\0';
  s->tags[s->n++] = strtol(text, NULL, 10);
  s->duplicates += a->outcome.status == VG_INGEST_DUPLICATE;
  s->stored += a->outcome.status == VG_INGEST_SCREENED && a->nhits > 0;
  s->opened += a->outcome.case_opened;
  return 0;
}

/* Screens the sample through a writer; returns the first failure. Each
 * record's tag is its line number. */
static int screen_through_writer(struct run *r, struct seen *seen,
                                 long batch_records, size_t *rejected) {
  struct vg_store_writer_hooks hooks = {
      .applied = on_applied, .arg = seen, .batch_records = batch_records};
  vg_store_writer *w;
  assert_int_equal(vg_store_writer_start(r->store, rules, &hooks, &w), VG_OK);
  int rc = VG_OK;
  for (size_t i = 0; i < sample.n && rc == VG_OK; i++) {
    struct vg_result res;
    struct vg_reject rej;
    if (vg_eval_record(r->ev, sample.text[i], sample.len[i], &res, &rej) !=
        VG_OK) {
      ++*rejected;
      rc =
          vg_store_writer_reject(w, "sample", (long)i + 1, "line", rej.reason,
                                 sample.text[i], sample.len[i], false, NULL, 0);
      continue;
    }
    char tag[32];
    int n = snprintf(tag, sizeof tag, "%zu", i + 1);
    rc = vg_store_writer_record(w, r->ev, &res, sample.text[i], sample.len[i],
                                tag, (size_t)n);
  }
  int frc = vg_store_writer_finish(w);
  return rc != VG_OK ? rc : frc;
}

/* The sample through the writer, in batches of 7 (many commits, each in
 * the middle of a chunk), leaves what storing each in turn leaves:
 * records, cases, events and their chain, totals and correlation state. */
static void test_same_as_direct(void **state) {
  (void)state;
  struct run direct, threaded;
  run_open(&direct);
  screen_directly(&direct);
  run_close(&direct);

  run_open(&threaded);
  struct seen seen = {0};
  size_t rejected = 0;
  assert_int_equal(screen_through_writer(&threaded, &seen, 7, &rejected),
                   VG_OK);
  run_close(&threaded);

  char *a = dump(direct.path), *b = dump(threaded.path);
  assert_true(strlen(a) > 100000); /* records, cases and events are there */
  assert_string_equal(a, b);
  free(a);
  free(b);

  /* Every record came back once, in the order given. */
  assert_int_equal(seen.n + rejected, sample.n);
  for (size_t i = 1; i < seen.n; i++)
    assert_true(seen.tags[i] > seen.tags[i - 1]);
  assert_true(seen.opened > 10);
  assert_int_equal(seen.duplicates, 0);
  free(seen.tags);
  run_remove(&direct);
  run_remove(&threaded);
}

/* The same sample again: every stored record is a duplicate, no case is
 * opened, and nothing new is stored. */
static void test_rerun_duplicates(void **state) {
  (void)state;
  struct run r;
  run_open(&r);
  struct seen first = {0}, second = {0};
  size_t rejected = 0;
  assert_int_equal(screen_through_writer(&r, &first, 4096, &rejected), VG_OK);
  int64_t stored = vgt_sql_int(r.path, "SELECT count(*) FROM records");
  int64_t cases = vgt_sql_int(r.path, "SELECT count(*) FROM cases");
  assert_true(stored > 50);
  assert_int_equal(screen_through_writer(&r, &second, 4096, &rejected), VG_OK);
  assert_int_equal((int64_t)second.duplicates, stored);
  assert_int_equal(second.opened, 0);
  assert_int_equal(vgt_sql_int(r.path, "SELECT count(*) FROM records"), stored);
  assert_int_equal(vgt_sql_int(r.path, "SELECT count(*) FROM cases"), cases);
  free(first.tags);
  free(second.tags);
  run_close(&r);
  run_remove(&r);
}

/* Rejects go through the writer in their place among the records. */
static void test_rejects_in_order(void **state) {
  (void)state;
  struct run r;
  run_open(&r);
  struct vg_store_writer_hooks hooks = {.batch_records = 3};
  vg_store_writer *w;
  assert_int_equal(vg_store_writer_start(r.store, rules, &hooks, &w), VG_OK);
  for (long i = 1; i <= 10; i++)
    assert_int_equal(vg_store_writer_reject(w, "in.ndjson", i, "line",
                                            "not a record", "{oops", 5, i == 4,
                                            NULL, 0),
                     VG_OK);
  assert_int_equal(vg_store_writer_finish(w), VG_OK);
  assert_int_equal(vgt_sql_int(r.path, "SELECT count(*) FROM rejects"), 10);
  assert_int_equal(vgt_sql_int(r.path, "SELECT count(*) FROM rejects WHERE "
                                       "line = id AND source = 'in.ndjson'"),
                   10);
  assert_int_equal(vgt_sql_int(r.path, "SELECT sum(warning) FROM rejects"), 1);
  assert_int_equal(
      vgt_sql_int(r.path, "SELECT line FROM rejects WHERE warning"), 4);
  run_close(&r);
  run_remove(&r);
}

/* The caller's hook fails at the 1,000th record: the run stops with that
 * failure, whole batches before it stay, the failed batch is gone, and
 * the database is sound. */
static void test_hook_failure_keeps_whole_batches(void **state) {
  (void)state;
  struct run r;
  run_open(&r);
  struct seen seen = {.fail_at = 1000};
  size_t rejected = 0;
  assert_int_equal(screen_through_writer(&r, &seen, 300, &rejected), VG_EIO);
  assert_int_equal(seen.n, 999);
  run_close(&r); /* which brings the running totals up to date */
  /* Batches of 300 records and rejects: those committed before the 1,000th
   * record, no more, no fewer. */
  int64_t kept =
      vgt_sql_int(r.path,
                  "SELECT coalesce(sum(screened), 0) FROM kind_totals") +
      vgt_sql_int(r.path, "SELECT count(*) FROM rejects");
  assert_int_equal(kept % 300, 0);
  assert_true(kept >= 900 && kept < 999 + 300);
  assert_true(vgt_sql_int(r.path, "SELECT count(*) FROM records") > 0);
  sqlite3 *db;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open(r.path, &db), SQLITE_OK);
  assert_int_equal(
      sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
      SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
  sqlite3_finalize(st);
  sqlite3_close(db);
  free(seen.tags);
  run_remove(&r);
}

/* Screens the sample with rules that never fire, through a writer on
 * store, counting the duplicates. */
static size_t rescreen_without_hits(vg_store *store, vg_ruleset *none) {
  vg_eval *ev = vg_eval_new(none);
  assert_non_null(ev);
  struct seen seen = {0};
  struct vg_store_writer_hooks hooks = {
      .applied = on_applied, .arg = &seen, .batch_records = 1000};
  vg_store_writer *w;
  assert_int_equal(vg_store_writer_start(store, none, &hooks, &w), VG_OK);
  for (size_t i = 0; i < sample.n; i++) {
    struct vg_result res;
    struct vg_reject rej;
    if (vg_eval_record(ev, sample.text[i], sample.len[i], &res, &rej) != VG_OK)
      continue;
    assert_int_equal(res.nhits, 0);
    assert_int_equal(vg_store_writer_record(w, ev, &res, sample.text[i],
                                            sample.len[i], "0", 1),
                     VG_OK);
  }
  assert_int_equal(vg_store_writer_finish(w), VG_OK);
  vg_eval_free(ev);
  free(seen.tags);
  return seen.duplicates;
}

/* A stored record that comes again with the same content is a duplicate
 * even when it no longer has hits (the rules changed): the filter of
 * stored identities never says "not stored" for one that is, whether it
 * was filled by this handle or loaded from the database. */
static void test_stored_identity_found_without_hits(void **state) {
  (void)state;
  struct run r;
  run_open(&r);
  struct seen seen = {0};
  size_t rejected = 0;
  assert_int_equal(screen_through_writer(&r, &seen, 4096, &rejected), VG_OK);
  free(seen.tags);
  int64_t stored = vgt_sql_int(r.path, "SELECT count(*) FROM records");
  assert_true(stored > 100);
  /* The same rule files' schemas, and no rules. */
  char *dir = vgt_tempdir();
  const char *kinds[] = {"travel", "job_advert", "premises"};
  for (size_t k = 0; k < 3; k++) {
    char from[512], to[512];
    snprintf(from, sizeof from, VG_SOURCE_DIR "/rules/schemas/%s.yaml",
             kinds[k]);
    snprintf(to, sizeof to, "%s/schemas/%s.yaml", dir, kinds[k]);
    char *text = vgt_read_file(from, NULL);
    assert_non_null(text);
    assert_int_equal(vgt_write_file(to, text), 0);
    free(text);
  }
  struct vg_config cfg;
  struct vg_diags diags;
  vg_config_init(&cfg);
  vg_diags_init(&diags);
  vg_ruleset *none = NULL;
  assert_int_equal(vg_ruleset_load(dir, &cfg, &diags, &none), VG_OK);
  vg_diags_close(&diags);
  vg_config_close(&cfg);
  /* The handle that stored them, then a new one. */
  assert_int_equal(rescreen_without_hits(r.store, none), (size_t)stored);
  /* The correlation state uses the handle's connection: it goes first. */
  vg_corr_state_free(r.state);
  vg_store_close(r.store);
  char err[256];
  assert_int_equal(vg_store_open(r.path, false, &r.store, err, sizeof err),
                   VG_OK);
  assert_int_equal(vg_store_corr_state(r.store, true, &r.state), VG_OK);
  vg_eval_set_state(r.ev, r.state);
  assert_int_equal(rescreen_without_hits(r.store, none), (size_t)stored);
  /* The handle's cached field flags belong to `none`: back to the rules
   * the run's evaluator was made with, before `none` goes. */
  assert_int_equal(vg_store_sync_fields(r.store, rules), VG_OK);
  vg_ruleset_free(none);
  vgt_rmtree(dir);
  free(dir);
  run_close(&r);
  run_remove(&r);
}

/* The log's generation: the checkpoint sequence number of its header
 * (big-endian, at byte 12), which SQLite raises each time it starts
 * writing the log from its beginning again; 0 while there is no log. */
static uint32_t log_generation(const char *db_path) {
  char path[600];
  snprintf(path, sizeof path, "%s-wal", db_path);
  unsigned char header[16] = {0};
  FILE *f = fopen(path, "rb");
  if (!f)
    return 0;
  size_t n = fread(header, 1, sizeof header, f);
  fclose(f);
  if (n < sizeof header)
    return 0;
  return (uint32_t)header[12] << 24 | (uint32_t)header[13] << 16 |
         (uint32_t)header[14] << 8 | header[15];
}

/* With checkpoints on a thread of their own, a writer that commits after
 * every record (as a server does) still has its log copied and written
 * again from its start, over and over; and what it stored is whole: every
 * record with hits, and a database that checks out. */
static void test_checkpoint_thread_reuses_log(void **state) {
  (void)state;
  struct run r;
  run_open(&r);
  struct seen seen = {0};
  struct vg_store_writer_hooks hooks = {.applied = on_applied,
                                        .arg = &seen,
                                        .checkpoint_pages = 16,
                                        .checkpoint_thread = true};
  vg_store_writer *w;
  assert_int_equal(vg_store_writer_start(r.store, rules, &hooks, &w), VG_OK);
  uint32_t generation = log_generation(r.path);
  size_t restarts = 0;
  /* The thread copies while the records go on: each restart needs it to
   * have caught up, however slow the machine, so the loop ends on the
   * restarts seen rather than after a fixed count. */
  for (size_t i = 0; restarts < 3 && i < 20 * sample.n; i++) {
    size_t line = i % sample.n;
    struct vg_result res;
    struct vg_reject rej;
    if (vg_eval_record(r.ev, sample.text[line], sample.len[line], &res, &rej) !=
        VG_OK)
      continue;
    /* Each pass over the sample stores new records: a fresh id each. */
    char id[32];
    snprintf(id, sizeof id, "%zu", i + 1);
    assert_int_equal(vg_store_writer_record(w, r.ev, &res, sample.text[line],
                                            sample.len[line], id, strlen(id)),
                     VG_OK);
    assert_int_equal(vg_store_writer_sync(w), VG_OK);
    uint32_t now = log_generation(r.path);
    restarts += now != generation;
    generation = now;
  }
  assert_true(restarts >= 3);
  assert_int_equal(vg_store_writer_finish(w), VG_OK);
  run_close(&r);
  /* Every record the writer reported stored is there. */
  assert_true(seen.stored > 0);
  assert_int_equal(vgt_sql_int(r.path, "SELECT count(*) FROM records"),
                   (int64_t)seen.stored);
  assert_int_equal(vgt_sql_int(r.path, "SELECT count(*) FROM pragma_"
                                       "integrity_check WHERE integrity_check "
                                       "= 'ok'"),
                   1);
  free(seen.tags);
  run_remove(&r);
}

/* A record whose text cannot be made canonical fails on the writer's
 * side; the screening side hears of it and the reason names the record. */
static void test_writer_failure_reaches_caller(void **state) {
  (void)state;
  struct run r;
  run_open(&r);
  struct vg_store_writer_hooks hooks = {.batch_records = 4096};
  vg_store_writer *w;
  assert_int_equal(vg_store_writer_start(r.store, rules, &hooks, &w), VG_OK);
  int rc = VG_OK;
  size_t i, bad = 0;
  for (i = 0; i < sample.n && rc == VG_OK; i++) {
    struct vg_result res;
    struct vg_reject rej;
    if (vg_eval_record(r.ev, sample.text[i], sample.len[i], &res, &rej) !=
        VG_OK)
      continue;
    /* The first record with hits is handed over with broken text. */
    bool broken = !bad && res.nhits > 0;
    if (broken)
      bad = i + 1;
    rc = vg_store_writer_record(w, r.ev, &res,
                                broken ? "{\"id\": " : sample.text[i],
                                broken ? 7 : sample.len[i], NULL, 0);
  }
  assert_true(bad > 0);
  int frc = vg_store_writer_finish(w);
  assert_int_not_equal(frc, VG_OK);
  assert_non_null(strstr(vg_store_errmsg(r.store), "canonical JSON"));
  /* Nothing of the failed batch was kept. */
  assert_int_equal(vgt_sql_int(r.path, "SELECT count(*) FROM records"), 0);
  run_close(&r);
  run_remove(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_same_as_direct),
      cmocka_unit_test(test_rerun_duplicates),
      cmocka_unit_test(test_rejects_in_order),
      cmocka_unit_test(test_hook_failure_keeps_whole_batches),
      cmocka_unit_test(test_writer_failure_reaches_caller),
      cmocka_unit_test(test_stored_identity_found_without_hits),
      cmocka_unit_test(test_checkpoint_thread_reuses_log),
  };
  return cmocka_run_group_tests(tests, load_sample, free_sample);
}
