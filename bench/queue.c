/* queue.c - benchmark of the review queue: fills a store with 1,000,000
 * cases, then times the `vigia queue` query (and its filters) through the
 * store's API. Also times ingest through vg_store_ingest_canonical on a
 * smaller sample. Prints figures; asserts nothing. */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 42;
static uint32_t rnd(uint32_t n) {
  /* xorshift64*: enough to spread scores, kinds and statuses. */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)(((rng_state * UINT64_C(2685821657736338717)) >> 32) % n);
}

static const char *const kinds[] = {"travel", "job_advert", "premises"};
static const char *const routes[] = {"border", "labour", "protection",
                                     "child_protection"};
#define NRULES 40

static void die_sql(sqlite3 *db, const char *what) {
  fprintf(stderr, "bench: %s: %s\n", what, sqlite3_errmsg(db));
  exit(1);
}

/* The bench-only fill: rows written straight into the schema the store
 * created (cases, their rules, routes and one record each), because a
 * million cases through the full ingest path (content hashing, audit
 * events) would take minutes. */
static void fill_direct(const char *path, long ncases) {
  sqlite3 *db;
  if (sqlite3_open(path, &db) != SQLITE_OK)
    die_sql(db, "open");
  sqlite3_exec(db, "PRAGMA synchronous = OFF; PRAGMA cache_size = -262144",
               NULL, NULL, NULL);
  /* Indexes are dropped for the fill and built again after it, from the
   * schema's own text: building an index once is much faster than keeping
   * it up to date row by row. */
  char *indexes[64];
  size_t nindexes = 0;
  sqlite3_stmt *list;
  if (sqlite3_prepare_v2(db,
                         "SELECT name, sql FROM sqlite_master WHERE type = "
                         "'index' AND sql IS NOT NULL",
                         -1, &list, NULL) != SQLITE_OK)
    die_sql(db, "listing indexes");
  char names[64][64];
  while (sqlite3_step(list) == SQLITE_ROW && nindexes < 64) {
    snprintf(names[nindexes], sizeof names[nindexes], "%s",
             sqlite3_column_text(list, 0));
    indexes[nindexes++] = strdup((const char *)sqlite3_column_text(list, 1));
  }
  sqlite3_finalize(list);
  for (size_t i = 0; i < nindexes; i++) {
    /* Names come from the schema this program just created. */
    char drop[160];
    snprintf(drop, sizeof drop, "DROP INDEX \"%.63s\"", names[i]);
    if (sqlite3_exec(db, drop, NULL, NULL, NULL) != SQLITE_OK)
      die_sql(db, "dropping an index");
  }
  sqlite3_stmt *ins_case, *ins_rule, *ins_route, *ins_rec;
  if (sqlite3_prepare_v2(db,
                         "INSERT INTO cases (id, kind, subject, status, "
                         "score, assignee, escalated_by, created_at, "
                         "updated_at, decided_at) VALUES (?1, ?2, ?3, ?4, "
                         "?5, ?6, ?7, ?8, ?8, ?9)",
                         -1, &ins_case, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db,
                         "INSERT OR IGNORE INTO case_rules (case_id, rule, "
                         "open, score, created_at) VALUES (?1, ?2, ?3, ?4, "
                         "?5)",
                         -1, &ins_rule, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db,
                         "INSERT OR IGNORE INTO case_routes (case_id, route, "
                         "open, score, created_at) VALUES (?1, ?2, ?3, ?4, "
                         "?5)",
                         -1, &ins_route, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(
          db,
          "INSERT INTO records (source, record_id, version, kind, content, "
          "sha256, observed_at, score, subject, case_id, created_at, hits) "
          "VALUES ('bench', ?1, 1, ?2, '{}', ?3, ?4, ?5, ?6, ?7, ?4, '[]')",
          -1, &ins_rec, NULL) != SQLITE_OK)
    die_sql(db, "prepare");
  int64_t t0 = INT64_C(1767225600) * 1000000;
  sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
  for (long i = 1; i <= ncases; i++) {
    char subject[32], rid[32], hash[65], rule[32];
    snprintf(subject, sizeof subject, "S%ld", i);
    snprintf(rid, sizeof rid, "r%ld", i);
    snprintf(hash, sizeof hash, "%064ld", i);
    const char *kind = kinds[rnd(3)];
    uint32_t r = rnd(100);
    /* 50% new, 15% in review, 5% escalated, 30% decided. */
    const char *status = r < 50   ? "new"
                         : r < 65 ? "in_review"
                         : r < 70 ? "escalated"
                         : r < 85 ? "confirmed"
                                  : "dismissed";
    int score = 50 + (int)rnd(51);
    int64_t created = t0 + (int64_t)i * 1000000;
    char assignee[16];
    snprintf(assignee, sizeof assignee, "reviewer%u", rnd(20));
    bool assigned = strcmp(status, "new") != 0;
    sqlite3_reset(ins_case);
    sqlite3_bind_int64(ins_case, 1, i);
    sqlite3_bind_text(ins_case, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins_case, 3, subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins_case, 4, status, -1, SQLITE_STATIC);
    sqlite3_bind_int(ins_case, 5, score);
    if (assigned)
      sqlite3_bind_text(ins_case, 6, assignee, -1, SQLITE_STATIC);
    else
      sqlite3_bind_null(ins_case, 6);
    if (strcmp(status, "escalated") == 0)
      sqlite3_bind_text(ins_case, 7, assignee, -1, SQLITE_STATIC);
    else
      sqlite3_bind_null(ins_case, 7);
    sqlite3_bind_int64(ins_case, 8, created);
    if (r >= 70)
      sqlite3_bind_int64(ins_case, 9, created + 3600000000);
    else
      sqlite3_bind_null(ins_case, 9);
    if (sqlite3_step(ins_case) != SQLITE_DONE)
      die_sql(db, "insert case");
    for (int k = 0; k < 2; k++) {
      snprintf(rule, sizeof rule, "RULE-%02u", rnd(NRULES));
      sqlite3_reset(ins_rule);
      sqlite3_bind_int64(ins_rule, 1, i);
      sqlite3_bind_text(ins_rule, 2, rule, -1, SQLITE_STATIC);
      sqlite3_bind_int(ins_rule, 3, r < 70);
      sqlite3_bind_int(ins_rule, 4, score);
      sqlite3_bind_int64(ins_rule, 5, created);
      if (sqlite3_step(ins_rule) != SQLITE_DONE)
        die_sql(db, "insert rule");
    }
    sqlite3_reset(ins_route);
    sqlite3_bind_int64(ins_route, 1, i);
    sqlite3_bind_text(ins_route, 2, routes[rnd(4)], -1, SQLITE_STATIC);
    sqlite3_bind_int(ins_route, 3, r < 70);
    sqlite3_bind_int(ins_route, 4, score);
    sqlite3_bind_int64(ins_route, 5, created);
    if (sqlite3_step(ins_route) != SQLITE_DONE)
      die_sql(db, "insert route");
    sqlite3_reset(ins_rec);
    sqlite3_bind_text(ins_rec, 1, rid, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins_rec, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins_rec, 3, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins_rec, 4, created);
    sqlite3_bind_int(ins_rec, 5, score);
    sqlite3_bind_text(ins_rec, 6, subject, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins_rec, 7, i);
    if (sqlite3_step(ins_rec) != SQLITE_DONE)
      die_sql(db, "insert record");
  }
  for (size_t i = 0; i < nindexes; i++) {
    if (sqlite3_exec(db, indexes[i], NULL, NULL, NULL) != SQLITE_OK)
      die_sql(db, "building an index");
    free(indexes[i]);
  }
  if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    die_sql(db, "commit");
  sqlite3_finalize(ins_case);
  sqlite3_finalize(ins_rule);
  sqlite3_finalize(ins_route);
  sqlite3_finalize(ins_rec);
  sqlite3_close(db);
}

/* Ingest through the API: records with two hits, one in four opening or
 * joining a case, the others stored without one; ids never repeat. */
static double ingest_rate(vg_store *store, long n) {
  struct vg_evidence ev = {.selection = "sel",
                           .field = "traveller.surname",
                           .value = "MORENO CASTRO",
                           .value_len = 13,
                           .value_is_string = true,
                           .span_start = 0,
                           .span_end = 6};
  struct vg_hit hits[2] = {{.rule_id = "RULE-01",
                            .title = "t",
                            .digest = "d",
                            .route = "border",
                            .score = 30,
                            .evidence = &ev,
                            .nevidence = 1},
                           {.rule_id = "RULE-02",
                            .title = "t",
                            .digest = "d",
                            .route = "labour",
                            .score = 30,
                            .evidence = &ev,
                            .nevidence = 1}};
  double t = now_s();
  vg_store_batch_begin(store);
  for (long i = 0; i < n; i++) {
    char id[32], subject[32], content[256];
    snprintf(id, sizeof id, "ingest-%ld", i);
    snprintf(subject, sizeof subject, "I%ld", i % 5000);
    int len = snprintf(content, sizeof content,
                       "{\"id\":\"%s\",\"kind\":\"travel\",\"traveller\":{"
                       "\"surname\":\"MORENO CASTRO\",\"age\":14}}",
                       id);
    int score = i % 4 == 0 ? 60 : 30;
    struct vg_result r = {.kind_name = "travel",
                          .id = id,
                          .id_len = strlen(id),
                          .source = "ingest",
                          .source_len = 6,
                          .score = score,
                          .opens_case = score >= 50,
                          .subject = subject,
                          .subject_len = strlen(subject),
                          .hits = hits,
                          .nhits = 2};
    struct vg_ingest_outcome o;
    if (vg_store_ingest_canonical(store, &r, content, (size_t)len, NULL, 0,
                                  &o) != 0) {
      fprintf(stderr, "bench: ingest: %s\n", vg_store_errmsg(store));
      exit(1);
    }
    if ((i + 1) % 4096 == 0) {
      vg_store_batch_commit(store);
      vg_store_batch_begin(store);
    }
  }
  vg_store_batch_commit(store);
  return (double)n / (now_s() - t);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median of runs of the queue query with filter, in milliseconds. */
static double time_queue(vg_store *store, const struct vg_queue_filter *f,
                         size_t *rows) {
  double ms[15];
  for (int i = 0; i < 15; i++) {
    json_t *out = NULL;
    double t = now_s();
    if (vg_store_queue(store, f, false, &out) != 0) {
      fprintf(stderr, "bench: queue: %s\n", vg_store_errmsg(store));
      exit(1);
    }
    ms[i] = (now_s() - t) * 1000;
    *rows = json_array_size(out);
    json_decref(out);
  }
  qsort(ms, 15, sizeof *ms, cmp_double);
  return ms[7];
}

int main(int argc, char **argv) {
  long ncases = 1000000, ningest = 20000;
  const char *dir = "/tmp", *keep = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--cases") == 0 && i + 1 < argc)
      ncases = strtol(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--ingest") == 0 && i + 1 < argc)
      ningest = strtol(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
      dir = argv[++i];
    else if (strcmp(argv[i], "--reuse") == 0 && i + 1 < argc)
      keep = argv[++i];
    else {
      fprintf(stderr, "usage: vg_bench_queue [--cases N] [--ingest N] "
                      "[--dir DIR] [--reuse DB]\n");
      return 2;
    }
  }
  char path[4096], err[512];
  vg_store *store;
  if (keep)
    /* --reuse PATH: a store an earlier run filled, or filled now and kept
     * (to time the `vigia queue` command on it). */
    snprintf(path, sizeof path, "%s", keep);
  else
    snprintf(path, sizeof path, "%s/vg_bench_queue.%ld.db", dir,
             (long)getpid());
  if (!keep || access(keep, F_OK) != 0) {
    if (vg_store_open(path, true, &store, err, sizeof err) != 0) {
      fprintf(stderr, "bench: %s\n", err);
      return 1;
    }
    vg_store_close(store);
    double t = now_s();
    fill_direct(path, ncases);
    printf("fill: %ld cases in %.1f s (direct SQL)\n", ncases, now_s() - t);
  }
  if (vg_store_open(path, false, &store, err, sizeof err) != 0) {
    fprintf(stderr, "bench: %s\n", err);
    return 1;
  }
  struct {
    const char *name;
    struct vg_queue_filter f;
  } runs[] = {
      {"vigia queue (open cases, limit 50)", {.limit = 50}},
      {"--kind premises", {.kind = "premises", .limit = 50}},
      {"--route child_protection", {.route = "child_protection", .limit = 50}},
      {"--rule RULE-07", {.rule = "RULE-07", .limit = 50}},
      {"--min-score 95", {.min_score = 95, .limit = 50}},
      {"--status escalated", {.status = "escalated", .limit = 50}},
      {"--status new", {.status = "new", .limit = 50}},
      {"--status confirmed", {.status = "confirmed", .limit = 50}},
      {"--assignee reviewer3", {.assignee = "reviewer3", .limit = 50}},
      {"--since (last tenth)",
       {.since = (INT64_C(1767225600) + ncases * 9 / 10) * 1000000,
        .limit = 50}},
      {"--limit 1000", {.limit = 1000}},
      /* Worst cases: filters that match nothing scan every open case. */
      {"--kind none (no match)", {.kind = "none", .limit = 50}},
      {"--rule NONE (no match)", {.rule = "NONE", .limit = 50}},
      {"--route none (no match)", {.route = "none", .limit = 50}},
      {"--assignee nobody (no match)", {.assignee = "nobody", .limit = 50}},
  };
  for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
    size_t rows = 0;
    double ms = time_queue(store, &runs[i].f, &rows);
    printf("queue %-38s %8.2f ms  (%zu rows, median of 15)\n", runs[i].name, ms,
           rows);
  }
  if (ningest > 0)
    printf("ingest: %.0f records/s through vg_store_ingest_canonical (two "
           "hits each, one in four at the threshold)\n",
           ingest_rate(store, ningest));
  vg_store_close(store);
  if (keep)
    return 0;
  char side[4200];
  unlink(path);
  snprintf(side, sizeof side, "%s-wal", path);
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", path);
  unlink(side);
  return 0;
}
