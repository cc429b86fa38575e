/* test_store.c - the review-queue store: schema and migrations, canonical
 * JSON and content hashes, duplicates and versions, subject grouping, the
 * queue's filters and order, running totals, fairness counts, rejects, the
 * audit chain against each kind of tampering, and purge. */
#include "testutil.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

struct fixture {
  char *dir;
  char path[512];
  vg_store *store;
};

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->dir = vgt_tempdir();
  assert_non_null(f->dir);
  snprintf(f->path, sizeof f->path, "%s/vigia.db", f->dir);
  char err[256];
  assert_int_equal(vg_store_open(f->path, true, &f->store, err, sizeof err), 0);
  /* 2026-01-01T00:00:00Z */
  vg_store_set_clock(f->store, INT64_C(1767225600) * 1000000);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  vg_store_close(f->store);
  vgt_rmtree(f->dir);
  free(f->dir);
  free(f);
  return 0;
}

/* Raw SQL on the database file, as someone with file access could. */
static void raw_sql(struct fixture *f, const char *sql) {
  sqlite3 *db;
  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  char *err = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK)
    print_error("%s: %s\n", sql, err ? err : "?");
  sqlite3_free(err);
  assert_int_equal(rc, SQLITE_OK);
  sqlite3_close(db);
}

static int64_t raw_count(struct fixture *f, const char *sql) {
  return vgt_sql_int(f->path, sql);
}

/* A running total as `stats` reports it (which folds the batches' logged
 * totals into their tables first): a kind's screened or flagged count, or
 * a rule's hits. */
static int64_t stat_of(struct fixture *f, const char *list, const char *key,
                       const char *name, const char *member) {
  json_t *st = NULL;
  assert_int_equal(vg_store_stats(f->store, &st), 0);
  int64_t n = -1;
  size_t i;
  json_t *item;
  json_array_foreach(json_object_get(st, list), i, item) {
    if (!strcmp(json_string_value(json_object_get(item, key)), name))
      n = json_integer_value(json_object_get(item, member));
  }
  json_decref(st);
  return n;
}

static int64_t kind_stat(struct fixture *f, const char *kind,
                         const char *member) {
  return stat_of(f, "kinds", "kind", kind, member);
}

/* One screened record, as the engine would describe it. */
struct rec {
  const char *kind, *source, *id, *subject, *content;
  int score;
  const char *rules[3];
  const char *route;
};

static int ingest(struct fixture *f, const struct rec *r,
                  struct vg_ingest_outcome *out) {
  struct vg_hit hits[3];
  struct vg_evidence ev = {.selection = "sel",
                           .field = "traveller.surname",
                           .value = "Pérez",
                           .value_len = strlen("Pérez"),
                           .value_is_string = true,
                           .span_start = 0,
                           .span_end = 3};
  size_t n = 0;
  for (; n < 3 && r->rules[n]; n++)
    hits[n] = (struct vg_hit){.rule_id = r->rules[n],
                              .title = "title",
                              .digest = "ab",
                              .route = r->route,
                              .score = r->score,
                              .evidence = &ev,
                              .nevidence = 1};
  struct vg_result res = {.kind_name = r->kind ? r->kind : "travel",
                          .id = r->id,
                          .id_len = strlen(r->id),
                          .source = r->source ? r->source : "default",
                          .score = r->score,
                          .threshold = 50,
                          .opens_case = r->score >= 50,
                          .subject = r->subject,
                          .subject_len = r->subject ? strlen(r->subject) : 0,
                          .hits = hits,
                          .nhits = n};
  res.source_len = strlen(res.source);
  const char *content = r->content ? r->content : "{}";
  return vg_store_ingest_canonical(f->store, &res, n ? content : NULL,
                                   n ? strlen(content) : 0, NULL, 0, out);
}

/* ------------------------------------------------------------- schema */

static void test_open_and_migrate(void **state) {
  struct fixture *f = *state;
  assert_int_equal(raw_count(f, "PRAGMA user_version"), 4);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM sqlite_master WHERE "
                                "name = 'cases_queue'"),
                   1);
  char journal[16];
  {
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(journal, sizeof journal, "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  assert_string_equal(journal, "wal");
  /* Opening again does not migrate again. */
  vg_store *again;
  char err[256];
  assert_int_equal(vg_store_open(f->path, false, &again, err, sizeof err), 0);
  vg_store_close(again);
  /* A newer schema is refused, not touched. */
  raw_sql(f, "PRAGMA user_version = 99");
  assert_int_equal(vg_store_open(f->path, false, &again, err, sizeof err),
                   VG_EINVAL);
  assert_non_null(strstr(err, "99"));
  raw_sql(f, "PRAGMA user_version = 4");
  /* Without create, a missing database is not found. */
  char missing[600];
  snprintf(missing, sizeof missing, "%s/nope.db", f->dir);
  assert_int_equal(vg_store_open(missing, false, &again, err, sizeof err),
                   VG_ENOTFOUND);
  assert_non_null(strstr(err, missing));
}

/* A database of the first schema, with a case in it, gains the later
 * schemas' indexes and tables and keeps its rows. */
static void test_migrate_from_version_1(void **state) {
  struct fixture *f = *state;
  struct vg_ingest_outcome out;
  struct rec r = {"travel", "src", "r1", "S1", "{\"a\":1}", 60, {"R1"}, NULL};
  assert_int_equal(ingest(f, &r, &out), 0);
  vg_store_close(f->store);
  f->store = NULL;
  raw_sql(f, "DROP INDEX records_case;"
             "CREATE INDEX records_case ON records (case_id);"
             "CREATE INDEX case_rules_rule ON case_rules (rule, case_id);"
             "DROP TABLE totals_log;"
             "DROP INDEX cases_status;"
             "CREATE INDEX cases_status ON cases "
             "(status, score DESC, created_at, id);"
             "DROP INDEX cases_assignee;"
             "CREATE INDEX cases_assignee ON cases "
             "(assignee, score DESC, created_at, id) WHERE status IN "
             "('new','in_review','escalated');"
             "PRAGMA user_version = 1;");
  char err[256];
  assert_int_equal(vg_store_open(f->path, false, &f->store, err, sizeof err),
                   0);
  assert_int_equal(raw_count(f, "PRAGMA user_version"), 4);
  /* Version 4: a case opened by screening is in neither index. */
  assert_int_equal(raw_count(f, "SELECT count(*) FROM sqlite_master WHERE "
                                "name = 'cases_assignee' AND sql LIKE "
                                "'%assignee IS NOT NULL%'"),
                   1);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM cases INDEXED BY "
                                "cases_status WHERE status IN "
                                "('in_review','escalated','confirmed',"
                                "'dismissed')"),
                   0);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM totals_log"), 0);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM sqlite_master WHERE "
                                "name = 'case_rules_rule'"),
                   0);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM sqlite_master WHERE "
                                "name = 'records_case' AND sql LIKE "
                                "'%WHERE case_id IS NOT NULL'"),
                   1);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM records"), 1);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM cases"), 1);
}

/* ------------------------------------------------------- canonical JSON */

static void canon_is(const char *in, const char *const *drop, size_t ndrop,
                     const char *want) {
  char *out = NULL;
  size_t len = 0;
  assert_int_equal(
      vg_store_canonical_json(in, strlen(in), drop, ndrop, &out, &len), 0);
  assert_string_equal(out, want);
  assert_int_equal(len, strlen(want));
  free(out);
}

static void test_canonical_json(void **state) {
  (void)state;
  canon_is(" { \"b\" : 1 , \"a\" : { \"d\" : [ 1 , 2 ] , \"c\" : null } } ",
           NULL, 0, "{\"a\":{\"c\":null,\"d\":[1,2]},\"b\":1}");
  /* Shortest round-trip numbers, one spelling each. */
  canon_is("{\"n\":[0.1,1.0,1e2,1.5e300,5e-324,0.30000000000000004,-0.0,"
           "123456789012345678,2.50,-7,1E-7]}",
           NULL, 0,
           "{\"n\":[0.1,1,100,1.5e300,5e-324,0.30000000000000004,0,"
           "123456789012345678,2.5,-7,1e-7]}");
  /* An integer beyond 64 bits still canonicalises (as a double). */
  canon_is("{\"n\":123456789012345678901234}", NULL, 0,
           "{\"n\":1.2345678901234569e23}");
  /* Only the escapes JSON requires; UTF-8 as is. */
  canon_is("{\"s\":\"a\\/b \\u00e9 \\u0001 \\n \\\" \\\\\"}", NULL, 0,
           "{\"s\":\"a/b \xc3\xa9 \\u0001 \\n \\\" \\\\\"}");
  /* Keys sort by their bytes: upper case before lower, shorter first. */
  canon_is("{\"b\":1,\"B\":2,\"ab\":3,\"a\":4,\"\xc3\xa9\":5}", NULL, 0,
           "{\"B\":2,\"a\":4,\"ab\":3,\"b\":1,\"\xc3\xa9\":5}");
  /* Dropped fields go, nested or not; missing paths are no error. */
  const char *drop[] = {"booking.special_requests", "secret", "no.such.path"};
  canon_is("{\"secret\":1,\"booking\":{\"special_requests\":\"vegan\","
           "\"one_way\":true},\"id\":\"x\"}",
           drop, 3, "{\"booking\":{\"one_way\":true},\"id\":\"x\"}");
  /* Two spellings of one record give one content hash. */
  char *a, *b;
  size_t al, bl;
  const char *x = "{\"id\":\"1\",\"v\":1.0,\"s\":\"\\u00e9\"}";
  const char *y = "{ \"s\":\"\xc3\xa9\", \"v\":1, \"id\":\"1\" }";
  assert_int_equal(vg_store_canonical_json(x, strlen(x), NULL, 0, &a, &al), 0);
  assert_int_equal(vg_store_canonical_json(y, strlen(y), NULL, 0, &b, &bl), 0);
  assert_string_equal(a, b);
  free(a);
  free(b);
  /* Bad input. */
  char *out = NULL;
  size_t len;
  assert_int_equal(vg_store_canonical_json("[1]", 3, NULL, 0, &out, &len),
                   VG_EINVAL);
  assert_int_equal(vg_store_canonical_json("{\"a\":", 5, NULL, 0, &out, &len),
                   VG_EINVAL);
  assert_null(out);
}

/* ------------------------------------- canonical JSON against jansson */

static uint64_t seed = 12345;
static uint32_t rnd(uint32_t n) {
  seed = seed * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)((seed >> 33) % n);
}

/* A random value: nested objects and arrays, strings with escapes and
 * non-ASCII characters, integers and non-integral reals. */
static json_t *random_value(int depth) {
  static const char *const pieces[] = {
      "a",    "Z",    "é", "ñ",    "/", "\\",   "\"",    "\n", "\t",
      "\x01", "\x1f", " ", "日本", "😀", "\x7f", "<tag>", "0",  "."};
  uint32_t kind = depth > 3 ? 2 + rnd(4) : rnd(6);
  switch (kind) {
  case 0: {
    json_t *o = json_object();
    uint32_t n = rnd(6);
    for (uint32_t i = 0; i < n; i++) {
      char key[64] = "";
      size_t len = 0;
      for (uint32_t j = 0, m = 1 + rnd(4); j < m; j++) {
        const char *piece = pieces[rnd(18)];
        if (len + strlen(piece) + 1 >= sizeof key)
          break;
        memcpy(key + len, piece, strlen(piece) + 1);
        len += strlen(piece);
      }
      json_object_set_new(o, key, random_value(depth + 1));
    }
    return o;
  }
  case 1: {
    json_t *a = json_array();
    for (uint32_t i = 0, n = rnd(5); i < n; i++)
      json_array_append_new(a, random_value(depth + 1));
    return a;
  }
  case 2: {
    char text[128] = "";
    size_t len = 0;
    for (uint32_t j = 0, m = rnd(8); j < m; j++) {
      const char *piece = pieces[rnd(18)];
      if (len + strlen(piece) + 1 >= sizeof text)
        break;
      memcpy(text + len, piece, strlen(piece) + 1);
      len += strlen(piece);
    }
    return json_string(text);
  }
  case 3:
    return json_integer((json_int_t)rnd(2000000000) - 1000000000 +
                        (rnd(2) ? (json_int_t)rnd(1000) << 40 : 0));
  case 4: {
    double v = ((double)rnd(1000000) + 0.5) / (double)(1 + rnd(1000));
    if (rnd(4) == 0)
      v *= 1e-30;
    if (rnd(4) == 0)
      v *= 1e200;
    return json_real(rnd(2) ? v : -v);
  }
  default:
    return rnd(3) == 0 ? json_true() : rnd(2) ? json_false() : json_null();
  }
}

static char *canon_of(const char *text) {
  char *out = NULL;
  size_t len;
  int rc = vg_store_canonical_json(text, strlen(text), NULL, 0, &out, &len);
  if (rc != 0)
    print_error("cannot canonicalise: %s\n", text);
  assert_int_equal(rc, 0);
  assert_int_equal(strlen(out), len);
  return out;
}

/* Keys of every object in order of their bytes, no white space outside
 * strings: checked on jansson's reading of the output, which keeps the
 * order of the text. */
static void assert_sorted(const json_t *v) {
  if (json_is_object(v)) {
    const char *key, *prev = NULL;
    size_t klen, plen = 0;
    json_t *val;
    json_object_keylen_foreach((json_t *)v, key, klen, val) {
      if (prev) {
        size_t n = klen < plen ? klen : plen;
        int d = memcmp(prev, key, n);
        assert_true(d < 0 || (d == 0 && plen < klen));
      }
      prev = key;
      plen = klen;
      assert_sorted(val);
    }
  } else if (json_is_array(v)) {
    size_t i;
    json_t *e;
    json_array_foreach((json_t *)v, i, e) assert_sorted(e);
  }
}

static void test_canonical_random(void **state) {
  (void)state;
  for (int round = 0; round < 2000; round++) {
    json_t *tree = json_object();
    for (uint32_t i = 0, n = 1 + rnd(6); i < n; i++) {
      char key[16];
      snprintf(key, sizeof key, "k%u", rnd(10));
      json_object_set_new(tree, key, random_value(1));
    }
    /* Two spellings: pretty, in insertion order, UTF-8 as is; compact,
     * every non-ASCII character and slash escaped. */
    char *a = json_dumps(tree, JSON_INDENT(rnd(4)) | JSON_PRESERVE_ORDER |
                                   JSON_REAL_PRECISION(17));
    char *b = json_dumps(tree, JSON_COMPACT | JSON_ENSURE_ASCII |
                                   JSON_ESCAPE_SLASH | JSON_SORT_KEYS);
    char *ca = canon_of(a), *cb = canon_of(b);
    assert_string_equal(ca, cb);
    /* Idempotent, and the same values as the input. */
    char *cc = canon_of(ca);
    assert_string_equal(ca, cc);
    json_error_t err;
    json_t *back = json_loads(ca, JSON_PRESERVE_ORDER, &err);
    if (!back)
      print_error("not JSON: %s (%s)\n", ca, err.text);
    assert_non_null(back);
    if (!json_equal(tree, back))
      print_error("changed:\n%s\n%s\n", b, ca);
    assert_true(json_equal(tree, back));
    assert_sorted(back);
    assert_null(strchr(ca, '\n'));
    /* jansson agrees wherever it is canonical too: without reals, its
     * sorted compact output must be ours. */
    json_decref(back);
    free(a);
    free(b);
    free(ca);
    free(cb);
    free(cc);
    json_decref(tree);
  }
}

static void test_canonical_rejects(void **state) {
  (void)state;
  static const char *const bad[] = {"",
                                    "{",
                                    "}",
                                    "[1]",
                                    "\"s\"",
                                    "{\"a\":}",
                                    "{\"a\" 1}",
                                    "{,}",
                                    "{\"a\":1,}",
                                    "{\"a\":01}",
                                    "{\"a\":1.}",
                                    "{\"a\":.5}",
                                    "{\"a\":-}",
                                    "{\"a\":1e}",
                                    "{\"a\":+1}",
                                    "{\"a\":tru}",
                                    "{\"a\":nul}",
                                    "{\"a\":\"\\ud800\"}",
                                    "{\"a\":\"\\udc00\"}",
                                    "{\"a\":\"\\x\"}",
                                    "{\"a\":\"\\u12\"}",
                                    "{\"a\":\"\x01\"}",
                                    "{\"a\":\"\xff\"}",
                                    "{\"a\":\"\xc0\xaf\"}",
                                    "{\"a\":\"\xed\xa0\x80\"}",
                                    "{\"a\":\"\xf4\x90\x80\x80\"}",
                                    "{\"a\":\"abc}",
                                    "{\"a\":1} x",
                                    "{\"a\":1}{}",
                                    "{\"a\":1e999}",
                                    "{\"a\":[1,]}",
                                    "{\"a\":[1 2]}",
                                    "{a:1}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *out = NULL;
    size_t len;
    int rc =
        vg_store_canonical_json(bad[i], strlen(bad[i]), NULL, 0, &out, &len);
    if (rc != VG_EINVAL)
      print_error("accepted: %s\n", bad[i]);
    assert_int_equal(rc, VG_EINVAL);
    assert_null(out);
    /* jansson refuses them too. */
    json_t *j = json_loadb(bad[i], strlen(bad[i]), 0, NULL);
    if (j && !json_is_object(j) == 0)
      print_error("jansson accepts: %s\n", bad[i]);
    assert_true(!j || !json_is_object(j));
    json_decref(j);
  }
  /* Nesting: 200 levels are fine, 300 are refused. */
  char deep[700];
  size_t n = 0;
  deep[n++] = '{';
  deep[n++] = '"';
  deep[n++] = 'a';
  deep[n++] = '"';
  deep[n++] = ':';
  for (int i = 0; i < 300; i++)
    deep[n++] = '[';
  for (int i = 0; i < 300; i++)
    deep[n++] = ']';
  deep[n++] = '}';
  char *out = NULL;
  size_t len;
  assert_int_equal(vg_store_canonical_json(deep, n, NULL, 0, &out, &len),
                   VG_EINVAL);
  /* Escapes that decode to the same text, and a repeated key (the last
   * one wins, as in the engine). */
  canon_is("{\"a\":\"\\ud83d\\ude00 \\u00E9\\u0000\"}", NULL, 0,
           "{\"a\":\"\xf0\x9f\x98\x80 \xc3\xa9\\u0000\"}");
  canon_is("{\"a\":1,\"b\":2,\"a\":3}", NULL, 0, "{\"a\":3,\"b\":2}");
  canon_is("{\"a\":{},\"b\":[],\"c\":[{}],\"d\":-0,\"e\":1E+2}", NULL, 0,
           "{\"a\":{},\"b\":[],\"c\":[{}],\"d\":0,\"e\":100}");
  /* A drop path dropping a whole object, and one inside an array, which
   * paths do not address. */
  const char *drop[] = {"x", "arr.y"};
  canon_is("{\"x\":{\"deep\":[1,2]},\"arr\":[{\"y\":1}],\"z\":0}", drop, 2,
           "{\"arr\":[{\"y\":1}],\"z\":0}");
}

static void test_sha256(void **state) {
  (void)state;
  char hex[65];
  vg_store_sha256_hex("abc", 3, hex);
  assert_string_equal(
      hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_times(void **state) {
  (void)state;
  int64_t us;
  char buf[40];
  assert_int_equal(vg_store_time_parse("2026-01-01", &us), 0);
  assert_true(us == INT64_C(1767225600) * 1000000);
  vg_store_time_format(us, buf, sizeof buf);
  assert_string_equal(buf, "2026-01-01T00:00:00Z");
  assert_int_equal(vg_store_time_parse("2026-01-01T05:00:00+05:00", &us), 0);
  assert_true(us == INT64_C(1767225600) * 1000000);
  assert_int_equal(vg_store_time_parse("2024-02-29T12:30:15.5Z", &us), 0);
  vg_store_time_format(us, buf, sizeof buf);
  assert_string_equal(buf, "2024-02-29T12:30:15Z");
  assert_int_equal(vg_store_time_parse("2025-02-29", &us), VG_EINVAL);
  assert_int_equal(vg_store_time_parse("2025-13-01", &us), VG_EINVAL);
  assert_int_equal(vg_store_time_parse("yesterday", &us), VG_EINVAL);
  assert_int_equal(vg_store_time_parse("2025-01-01T10:00", &us), VG_EINVAL);
  assert_int_equal(vg_store_time_parse("2025-01-01T10:00:00", &us), VG_EINVAL);
}

/* ----------------------------------------------- ingest and grouping */

static void test_no_hits_not_stored(void **state) {
  struct fixture *f = *state;
  struct rec r = {.id = "clean", .score = 0, .subject = "P1"};
  struct vg_ingest_outcome o;
  assert_int_equal(ingest(f, &r, &o), 0);
  assert_int_equal(o.status, VG_INGEST_SCREENED);
  assert_int_equal(o.case_id, 0);
  /* Again: still screened, never a duplicate, still nothing stored. */
  assert_int_equal(ingest(f, &r, &o), 0);
  assert_int_equal(o.status, VG_INGEST_SCREENED);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM records"), 0);
  assert_int_equal(kind_stat(f, "travel", "screened"), 2);
  assert_int_equal(kind_stat(f, "travel", "flagged"), 0);
}

static void test_below_threshold_stored_without_case(void **state) {
  struct fixture *f = *state;
  struct rec r = {.id = "low", .score = 49, .subject = "P1", .rules = {"R1"}};
  struct vg_ingest_outcome o;
  assert_int_equal(ingest(f, &r, &o), 0);
  assert_int_equal(o.status, VG_INGEST_SCREENED);
  assert_int_equal(o.case_id, 0);
  assert_false(o.case_opened);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM records"), 1);
  assert_int_equal(raw_count(f, "SELECT json_array_length(hits) FROM records"),
                   1);
  assert_int_equal(stat_of(f, "rules", "rule", "R1", "hits"), 1);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM cases"), 0);
  /* At the threshold exactly, a case opens. */
  struct rec r2 = {.id = "edge", .score = 50, .subject = "P2", .rules = {"R1"}};
  assert_int_equal(ingest(f, &r2, &o), 0);
  assert_true(o.case_opened);
  assert_true(o.case_id > 0);
  /* A stored record can be a duplicate even without a case. */
  assert_int_equal(ingest(f, &r, &o), 0);
  assert_int_equal(o.status, VG_INGEST_DUPLICATE);
}

static void test_duplicates_and_versions(void **state) {
  struct fixture *f = *state;
  struct rec r = {.id = "r1",
                  .score = 60,
                  .subject = "P1",
                  .rules = {"R1"},
                  .content = "{\"id\":\"r1\",\"v\":1}"};
  struct vg_ingest_outcome o;
  assert_int_equal(ingest(f, &r, &o), 0);
  assert_true(o.case_opened);
  int64_t case_id = o.case_id;
  /* Same identity, same content: a duplicate, nothing new. */
  assert_int_equal(ingest(f, &r, &o), 0);
  assert_int_equal(o.status, VG_INGEST_DUPLICATE);
  assert_false(o.case_opened);
  assert_int_equal(o.case_id, case_id);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM records"), 1);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM events"), 1);
  /* Same content from another source is another record. */
  struct rec other = r;
  other.source = "feed2";
  other.subject = "P9";
  assert_int_equal(ingest(f, &other, &o), 0);
  assert_int_equal(o.status, VG_INGEST_SCREENED);
  /* New content: version 2, screened, joins the subject's open case. */
  struct rec v2 = r;
  v2.content = "{\"id\":\"r1\",\"v\":2}";
  v2.score = 80;
  assert_int_equal(ingest(f, &v2, &o), 0);
  assert_int_equal(o.status, VG_INGEST_SCREENED);
  assert_false(o.case_opened);
  assert_int_equal(o.case_id, case_id);
  assert_int_equal(raw_count(f, "SELECT max(version) FROM records WHERE "
                                "record_id = 'r1' AND source = 'default'"),
                   2);
  json_t *c = NULL;
  assert_int_equal(vg_store_case_get(f->store, case_id, true, false, &c), 0);
  assert_int_equal(json_integer_value(json_object_get(c, "score")), 80);
  assert_int_equal(json_array_size(json_object_get(c, "records")), 2);
  /* record_ids names the record once. */
  assert_int_equal(json_array_size(json_object_get(c, "record_ids")), 1);
  json_t *events = json_object_get(c, "events");
  assert_int_equal(json_array_size(events), 2);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(events, 1), "action")),
      "updated");
  json_decref(c);
  /* The first version again is still a duplicate. */
  assert_int_equal(ingest(f, &r, &o), 0);
  assert_int_equal(o.status, VG_INGEST_DUPLICATE);
  /* Duplicates are not screened again: the totals count 3 screenings. */
  assert_int_equal(kind_stat(f, "travel", "screened"), 3);
}

static void test_subject_grouping(void **state) {
  struct fixture *f = *state;
  struct vg_ingest_outcome o;
  struct rec a = {.id = "a",
                  .score = 55,
                  .subject = "DOC1",
                  .rules = {"R1"},
                  .route = "border"};
  assert_int_equal(ingest(f, &a, &o), 0);
  int64_t c1 = o.case_id;
  /* Another record of the same subject joins; score = max; rules and
   * routes are the union. */
  struct rec b = {.id = "b",
                  .score = 90,
                  .subject = "DOC1",
                  .rules = {"R2", "R3"},
                  .route = "child_protection"};
  assert_int_equal(ingest(f, &b, &o), 0);
  assert_false(o.case_opened);
  assert_int_equal(o.case_id, c1);
  struct rec lower = {.id = "c",
                      .score = 51,
                      .subject = "DOC1",
                      .rules = {"R1"},
                      .route = "border"};
  assert_int_equal(ingest(f, &lower, &o), 0);
  assert_int_equal(o.case_id, c1);
  json_t *c = NULL;
  assert_int_equal(vg_store_case_get(f->store, c1, false, false, &c), 0);
  assert_int_equal(json_integer_value(json_object_get(c, "score")), 90);
  assert_int_equal(json_array_size(json_object_get(c, "record_ids")), 3);
  assert_int_equal(json_array_size(json_object_get(c, "rules")), 3);
  json_t *routes = json_object_get(c, "routes");
  assert_int_equal(json_array_size(routes), 2);
  assert_string_equal(json_string_value(json_array_get(routes, 0)), "border");
  assert_string_equal(json_string_value(json_array_get(routes, 1)),
                      "child_protection");
  json_decref(c);
  /* Same subject, another kind: another case. */
  struct rec job = {.kind = "job_advert",
                    .id = "j",
                    .score = 60,
                    .subject = "DOC1",
                    .rules = {"J1"}};
  assert_int_equal(ingest(f, &job, &o), 0);
  assert_true(o.case_opened);
  /* No subject value: each record opens its own case. */
  struct rec n1 = {.id = "n1", .score = 60, .rules = {"R1"}};
  struct rec n2 = {.id = "n2", .score = 60, .rules = {"R1"}};
  int64_t first;
  assert_int_equal(ingest(f, &n1, &o), 0);
  assert_true(o.case_opened);
  first = o.case_id;
  assert_int_equal(ingest(f, &n2, &o), 0);
  assert_true(o.case_opened);
  assert_true(o.case_id != first);
  /* Once the subject's case is decided, a new record opens a new case. */
  assert_int_equal(
      vg_store_case_act(f->store, c1, VG_ACT_CLAIM, "alice", NULL, NULL), 0);
  assert_int_equal(
      vg_store_case_act(f->store, c1, VG_ACT_CONFIRM, "alice", "seen", NULL),
      0);
  struct rec d = {.id = "d", .score = 70, .subject = "DOC1", .rules = {"R1"}};
  assert_int_equal(ingest(f, &d, &o), 0);
  assert_true(o.case_opened);
  assert_true(o.case_id != c1);
  /* The database itself refuses a second open case for a subject. */
  assert_int_equal(raw_count(f, "SELECT count(*) FROM cases WHERE kind = "
                                "'travel' AND subject = 'DOC1' AND status "
                                "IN ('new','in_review','escalated')"),
                   1);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  assert_int_not_equal(
      sqlite3_exec(db,
                   "INSERT INTO cases (kind, subject, status, score, "
                   "created_at, updated_at) VALUES ('travel', 'DOC1', 'new', "
                   "1, 0, 0)",
                   NULL, NULL, NULL),
      SQLITE_OK);
  sqlite3_close(db);
}

static void test_evidence_stored(void **state) {
  struct fixture *f = *state;
  struct vg_ingest_outcome o;
  struct rec a = {.id = "a",
                  .score = 60,
                  .subject = "S",
                  .rules = {"R1"},
                  .content = "{\"traveller\":{\"surname\":\"P\\u00e9rez\","
                             "\"age\":15}}"};
  assert_int_equal(ingest(f, &a, &o), 0);
  assert_int_equal(vg_store_set_field(f->store, "travel", "traveller.surname",
                                      true, false, false),
                   0);
  json_t *c = NULL;
  assert_int_equal(vg_store_case_get(f->store, o.case_id, true, false, &c), 0);
  json_t *hit = json_array_get(json_object_get(c, "hits"), 0);
  assert_string_equal(json_string_value(json_object_get(hit, "rule")), "R1");
  assert_string_equal(json_string_value(json_object_get(hit, "rule_digest")),
                      "ab");
  json_t *ev = json_array_get(json_object_get(hit, "evidence"), 0);
  assert_string_equal(json_string_value(json_object_get(ev, "value")), "Pérez");
  json_t *span = json_object_get(ev, "span");
  assert_int_equal(json_integer_value(json_array_get(span, 1)), 3);
  json_t *content = json_object_get(
      json_array_get(json_object_get(c, "records"), 0), "content");
  assert_string_equal(json_string_value(json_object_get(
                          json_object_get(content, "traveller"), "surname")),
                      "Pérez");
  json_decref(c);
  /* --redact hides pii values in the record and the evidence. */
  assert_int_equal(vg_store_case_get(f->store, o.case_id, true, true, &c), 0);
  hit = json_array_get(json_object_get(c, "hits"), 0);
  ev = json_array_get(json_object_get(hit, "evidence"), 0);
  assert_string_equal(json_string_value(json_object_get(ev, "value")),
                      "[redacted]");
  content = json_object_get(json_array_get(json_object_get(c, "records"), 0),
                            "content");
  json_t *trav = json_object_get(content, "traveller");
  assert_string_equal(json_string_value(json_object_get(trav, "surname")),
                      "[redacted]");
  assert_int_equal(json_integer_value(json_object_get(trav, "age")), 15);
  json_decref(c);
}

/* --------------------------------------------------------------- queue */

static void test_queue_order_and_filters(void **state) {
  struct fixture *f = *state;
  struct vg_ingest_outcome o;
  int64_t t0 = INT64_C(1767225600) * 1000000;
  struct rec recs[] = {
      {.id = "a",
       .score = 60,
       .subject = "A",
       .rules = {"R1"},
       .route = "border"},
      {.id = "b",
       .score = 90,
       .subject = "B",
       .rules = {"R2"},
       .route = "border"},
      {.id = "c",
       .score = 60,
       .subject = "C",
       .rules = {"R1", "R2"},
       .route = "child_protection"},
      {.kind = "job_advert",
       .id = "d",
       .score = 75,
       .subject = "D",
       .rules = {"J1"},
       .route = "labour"},
  };
  int64_t ids[4];
  for (int i = 0; i < 4; i++) {
    vg_store_set_clock(f->store, t0 + i * INT64_C(3600000000));
    assert_int_equal(ingest(f, &recs[i], &o), 0);
    ids[i] = o.case_id;
  }
  json_t *q = NULL;
  struct vg_queue_filter filter = {0};
  assert_int_equal(vg_store_queue(f->store, &filter, false, &q), 0);
  /* Score descending, then oldest first. */
  int64_t want[] = {ids[1], ids[3], ids[0], ids[2]};
  assert_int_equal(json_array_size(q), 4);
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(q, i), "case_id")),
        want[i]);
  json_t *first = json_array_get(q, 0);
  static const char *const keys[] = {
      "case_id",  "status",     "score",      "kind",       "subject", "routes",
      "assignee", "created_at", "updated_at", "record_ids", "rules"};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    assert_non_null(json_object_get(first, keys[i]));
  assert_string_equal(json_string_value(json_object_get(first, "created_at")),
                      "2026-01-01T01:00:00Z");
  json_decref(q);

  struct {
    struct vg_queue_filter f;
    size_t n;
    int64_t first;
  } cases[] = {
      {{.kind = "travel"}, 3, ids[1]},
      {{.kind = "premises"}, 0, 0},
      {{.route = "child_protection"}, 1, ids[2]},
      {{.rule = "R2"}, 2, ids[1]},
      {{.rule = "R1"}, 2, ids[0]},
      {{.min_score = 75}, 2, ids[1]},
      {{.min_score = 91}, 0, 0},
      {{.since = t0 + INT64_C(7200000000)}, 2, ids[3]},
      {{.limit = 1}, 1, ids[1]},
      {{.status = "new"}, 4, ids[1]},
      {{.status = "confirmed"}, 0, 0},
      {{.assignee = "alice"}, 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    assert_int_equal(vg_store_queue(f->store, &cases[i].f, false, &q), 0);
    if (json_array_size(q) != cases[i].n)
      print_error("filter %zu\n", i);
    assert_int_equal(json_array_size(q), cases[i].n);
    if (cases[i].n)
      assert_int_equal(
          json_integer_value(json_object_get(json_array_get(q, 0), "case_id")),
          cases[i].first);
    json_decref(q);
  }
  /* Decided cases leave the queue but not --status. */
  assert_int_equal(
      vg_store_case_act(f->store, ids[1], VG_ACT_CLAIM, "alice", NULL, NULL),
      0);
  filter = (struct vg_queue_filter){.assignee = "alice"};
  assert_int_equal(vg_store_queue(f->store, &filter, false, &q), 0);
  assert_int_equal(json_array_size(q), 1);
  json_decref(q);
  /* New cases are read from the open queue's index, the others from the
   * status index: the claimed case moves from one list to the other. */
  filter = (struct vg_queue_filter){.status = "in_review"};
  assert_int_equal(vg_store_queue(f->store, &filter, false, &q), 0);
  assert_int_equal(json_array_size(q), 1);
  assert_int_equal(
      json_integer_value(json_object_get(json_array_get(q, 0), "case_id")),
      ids[1]);
  json_decref(q);
  filter = (struct vg_queue_filter){.status = "new"};
  assert_int_equal(vg_store_queue(f->store, &filter, false, &q), 0);
  assert_int_equal(json_array_size(q), 3);
  json_decref(q);
  assert_int_equal(
      vg_store_case_act(f->store, ids[1], VG_ACT_CONFIRM, "alice", "ok", NULL),
      0);
  filter = (struct vg_queue_filter){0};
  assert_int_equal(vg_store_queue(f->store, &filter, false, &q), 0);
  assert_int_equal(json_array_size(q), 3);
  json_decref(q);
  filter.status = "confirmed";
  assert_int_equal(vg_store_queue(f->store, &filter, false, &q), 0);
  assert_int_equal(json_array_size(q), 1);
  json_decref(q);
  /* The rule and route filters follow status and score changes. */
  filter = (struct vg_queue_filter){.rule = "R2"};
  assert_int_equal(vg_store_queue(f->store, &filter, false, &q), 0);
  assert_int_equal(json_array_size(q), 1);
  assert_int_equal(
      json_integer_value(json_object_get(json_array_get(q, 0), "case_id")),
      ids[2]);
  json_decref(q);
  struct rec up = {.id = "a2",
                   .score = 95,
                   .subject = "A",
                   .rules = {"R2"},
                   .route = "protection"};
  assert_int_equal(ingest(f, &up, &o), 0);
  assert_int_equal(o.case_id, ids[0]);
  assert_int_equal(vg_store_queue(f->store, &filter, false, &q), 0);
  assert_int_equal(json_array_size(q), 2);
  assert_int_equal(
      json_integer_value(json_object_get(json_array_get(q, 0), "case_id")),
      ids[0]);
  assert_int_equal(
      json_integer_value(json_object_get(json_array_get(q, 0), "score")), 95);
  json_decref(q);
  filter = (struct vg_queue_filter){.route = "border", .min_score = 90};
  assert_int_equal(vg_store_queue(f->store, &filter, false, &q), 0);
  assert_int_equal(json_array_size(q), 1);
  json_decref(q);
  filter = (struct vg_queue_filter){.kind = "job_advert", .rule = "R1"};
  assert_int_equal(vg_store_queue(f->store, &filter, false, &q), 0);
  assert_int_equal(json_array_size(q), 0);
  json_decref(q);
  filter = (struct vg_queue_filter){.status = "open"};
  assert_int_equal(vg_store_queue(f->store, &filter, false, &q), VG_EINVAL);
  /* --redact hides a pii subject. */
  assert_int_equal(vg_store_set_field(f->store, "travel",
                                      "traveller.document.number", true, false,
                                      true),
                   0);
  filter = (struct vg_queue_filter){.kind = "travel"};
  assert_int_equal(vg_store_queue(f->store, &filter, true, &q), 0);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(q, 0), "subject")),
      "[redacted]");
  json_decref(q);
  filter.kind = "job_advert";
  assert_int_equal(vg_store_queue(f->store, &filter, true, &q), 0);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(q, 0), "subject")), "D");
  json_decref(q);
}

/* --------------------------------------------------------------- audit */

/* A store with a few cases and a dozen events. */
static void some_history(struct fixture *f) {
  struct vg_ingest_outcome o;
  for (int i = 0; i < 3; i++) {
    char id[8], subject[8];
    snprintf(id, sizeof id, "r%d", i);
    snprintf(subject, sizeof subject, "S%d", i);
    struct rec r = {.id = id, .score = 70, .subject = subject, .rules = {"R1"}};
    assert_int_equal(ingest(f, &r, &o), 0);
    assert_int_equal(vg_store_case_act(f->store, o.case_id, VG_ACT_CLAIM,
                                       "alice", NULL, NULL),
                     0);
    assert_int_equal(vg_store_case_act(f->store, o.case_id, VG_ACT_NOTE,
                                       "alice", "looked at it", NULL),
                     0);
    assert_int_equal(vg_store_case_act(f->store, o.case_id, VG_ACT_DISMISS,
                                       "alice", "nothing", "other"),
                     0);
  }
  struct vg_audit_report rep;
  assert_int_equal(vg_store_audit_verify(f->store, &rep), 0);
  assert_true(rep.ok);
  assert_int_equal(rep.events, 12);
  assert_int_equal(strlen(rep.head), 64);
}

static void expect_broken(struct fixture *f, int64_t event, const char *what) {
  struct vg_audit_report rep;
  assert_int_equal(vg_store_audit_verify(f->store, &rep), 0);
  assert_false(rep.ok);
  if (rep.broken_event != event)
    print_error("broken at %lld: %s\n", (long long)rep.broken_event,
                rep.problem);
  assert_int_equal(rep.broken_event, event);
  assert_non_null(strstr(rep.problem, what));
}

static void test_audit_edit_note(void **state) {
  struct fixture *f = *state;
  some_history(f);
  raw_sql(f, "UPDATE events SET note = 'nothing to see' WHERE id = 7");
  expect_broken(f, 7, "content does not match");
}

static void test_audit_edit_actor_and_time(void **state) {
  struct fixture *f = *state;
  some_history(f);
  raw_sql(f, "UPDATE events SET actor = 'mallory' WHERE id = 2");
  expect_broken(f, 2, "content");
  raw_sql(f, "UPDATE events SET actor = 'alice' WHERE id = 2");
  struct vg_audit_report rep;
  assert_int_equal(vg_store_audit_verify(f->store, &rep), 0);
  assert_true(rep.ok);
  raw_sql(f, "UPDATE events SET at = at + 1 WHERE id = 10");
  expect_broken(f, 10, "content");
}

static void test_audit_edit_with_rehash(void **state) {
  struct fixture *f = *state;
  some_history(f);
  /* Whoever edits a note and recomputes its hash still breaks the next
   * event's link. */
  sqlite3 *db;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  assert_int_equal(
      sqlite3_prepare_v2(db, "UPDATE events SET hash = ?1 WHERE id = 3", -1,
                         &st, NULL),
      SQLITE_OK);
  sqlite3_bind_text(st, 1,
                    "0123456789abcdef0123456789abcdef0123456789abcdef"
                    "0123456789abcdef",
                    -1, SQLITE_STATIC);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  sqlite3_close(db);
  expect_broken(f, 3, "content");
}

static void test_audit_delete_event(void **state) {
  struct fixture *f = *state;
  some_history(f);
  raw_sql(f, "DELETE FROM events WHERE id = 5");
  expect_broken(f, 6, "previous-event hash");
}

static void test_audit_delete_first_event(void **state) {
  struct fixture *f = *state;
  some_history(f);
  raw_sql(f, "DELETE FROM events WHERE id = 1");
  expect_broken(f, 2, "previous-event hash");
}

static void test_audit_delete_last_event(void **state) {
  struct fixture *f = *state;
  some_history(f);
  /* The last event (a dismissal) leaves no gap in the chain, but its case
   * still says dismissed. */
  raw_sql(f, "DELETE FROM events WHERE id = 12");
  struct vg_audit_report rep;
  assert_int_equal(vg_store_audit_verify(f->store, &rep), 0);
  assert_false(rep.ok);
  assert_non_null(strstr(rep.problem, "case 3 is dismissed"));
}

static void test_audit_reorder_events(void **state) {
  struct fixture *f = *state;
  some_history(f);
  /* Swap events 4 and 5 (ids exchanged through a free id). */
  raw_sql(f, "UPDATE events SET id = 1000 WHERE id = 4;"
             "UPDATE events SET id = 4 WHERE id = 5;"
             "UPDATE events SET id = 5 WHERE id = 1000;");
  expect_broken(f, 4, "previous-event hash");
}

static void test_audit_status_changed_outside(void **state) {
  struct fixture *f = *state;
  some_history(f);
  raw_sql(f, "UPDATE cases SET status = 'confirmed' WHERE id = 2");
  struct vg_audit_report rep;
  assert_int_equal(vg_store_audit_verify(f->store, &rep), 0);
  assert_false(rep.ok);
  assert_non_null(strstr(rep.problem, "case 2 is confirmed"));
}

/* --------------------------------------------------------------- purge */

static void test_purge(void **state) {
  struct fixture *f = *state;
  some_history(f); /* three dismissed cases, at 2026-01-01 */
  struct vg_ingest_outcome o;
  struct rec open = {
      .id = "open", .score = 70, .subject = "OPEN", .rules = {"R1"}};
  assert_int_equal(ingest(f, &open, &o), 0);
  int64_t open_case = o.case_id;
  struct rec loose = {.id = "loose", .score = 10, .rules = {"R1"}};
  assert_int_equal(ingest(f, &loose, &o), 0);
  assert_int_equal(vg_store_add_reject(f->store, "in.ndjson", 3, "line 3",
                                       "not JSON", "{x", 2, false),
                   0);
  int64_t cases = -1, records = -1, before;
  assert_int_equal(vg_store_time_parse("2025-12-31", &before), 0);
  assert_int_equal(
      vg_store_purge(f->store, before, NULL, "admin", &cases, &records), 0);
  assert_int_equal(cases, 0);
  assert_int_equal(records, 0);
  assert_int_equal(
      vg_store_purge(f->store, before, "in_review", "admin", &cases, &records),
      VG_EINVAL);
  assert_int_equal(
      vg_store_purge(f->store, before, "new", "admin", &cases, &records),
      VG_EINVAL);
  assert_int_equal(vg_store_time_parse("2026-01-02", &before), 0);
  /* --status confirmed matches none of the dismissed cases. */
  assert_int_equal(
      vg_store_purge(f->store, before, "confirmed", "admin", &cases, &records),
      0);
  assert_int_equal(cases, 0);
  assert_int_equal(
      vg_store_purge(f->store, before, NULL, "admin", &cases, &records), 0);
  assert_int_equal(cases, 3);
  assert_int_equal(records, 4); /* three case records and the loose one */
  assert_int_equal(raw_count(f, "SELECT count(*) FROM cases"), 1);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM records"), 1);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM records WHERE case_id "
                                "IS NOT NULL"),
                   1);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM rejects"), 0);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM case_rules"), 1);
  /* Events stay, with a purge event each, and the chain verifies. */
  assert_int_equal(
      raw_count(f, "SELECT count(*) FROM events WHERE action = 'purged'"), 3);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM events"), 12 + 1 + 3);
  struct vg_audit_report rep;
  assert_int_equal(vg_store_audit_verify(f->store, &rep), 0);
  assert_true(rep.ok);
  json_t *c = NULL;
  assert_int_equal(vg_store_case_get(f->store, 1, false, false, &c),
                   VG_ENOTFOUND);
  assert_int_equal(vg_store_case_get(f->store, open_case, false, false, &c), 0);
  json_decref(c);
  /* A purged record that arrives again is a new record. */
  struct rec again = {
      .id = "r0", .score = 70, .subject = "S0", .rules = {"R1"}};
  assert_int_equal(ingest(f, &again, &o), 0);
  assert_int_equal(o.status, VG_INGEST_SCREENED);
  assert_true(o.case_opened);
}

/* ------------------------------------------------------ stats, fairness */

static void test_stats(void **state) {
  struct fixture *f = *state;
  struct vg_ingest_outcome o;
  struct rec a = {.id = "a", .score = 60, .subject = "A", .rules = {"R1"}};
  struct rec b = {
      .id = "b", .score = 60, .subject = "B", .rules = {"R1", "R2"}};
  struct rec c = {.id = "c", .score = 10, .subject = "C", .rules = {"R2"}};
  struct rec d = {.id = "d", .score = 0, .subject = "D"};
  int64_t ca, cb;
  assert_int_equal(ingest(f, &a, &o), 0);
  ca = o.case_id;
  assert_int_equal(ingest(f, &b, &o), 0);
  cb = o.case_id;
  assert_int_equal(ingest(f, &c, &o), 0);
  assert_int_equal(ingest(f, &d, &o), 0);
  json_t *s = NULL;
  assert_int_equal(vg_store_stats(f->store, &s), 0);
  json_t *r1 = json_array_get(json_object_get(s, "rules"), 0);
  assert_string_equal(json_string_value(json_object_get(r1, "rule")), "R1");
  assert_int_equal(json_integer_value(json_object_get(r1, "hits")), 2);
  assert_int_equal(json_integer_value(json_object_get(r1, "cases")), 2);
  assert_true(json_is_null(json_object_get(r1, "precision")));
  json_t *r2 = json_array_get(json_object_get(s, "rules"), 1);
  assert_int_equal(json_integer_value(json_object_get(r2, "hits")), 2);
  assert_int_equal(json_integer_value(json_object_get(r2, "cases")), 1);
  json_t *k = json_array_get(json_object_get(s, "kinds"), 0);
  assert_string_equal(json_string_value(json_object_get(k, "kind")), "travel");
  assert_int_equal(json_integer_value(json_object_get(k, "screened")), 4);
  assert_int_equal(json_integer_value(json_object_get(k, "flagged")), 3);
  json_decref(s);
  vg_store_case_act(f->store, ca, VG_ACT_CLAIM, "x", NULL, NULL);
  vg_store_case_act(f->store, ca, VG_ACT_CONFIRM, "x", "n", NULL);
  vg_store_case_act(f->store, cb, VG_ACT_CLAIM, "x", NULL, NULL);
  vg_store_case_act(f->store, cb, VG_ACT_DISMISS, "x", "n", "other");
  assert_int_equal(vg_store_stats(f->store, &s), 0);
  r1 = json_array_get(json_object_get(s, "rules"), 0);
  assert_int_equal(json_integer_value(json_object_get(r1, "confirmed")), 1);
  assert_int_equal(json_integer_value(json_object_get(r1, "dismissed")), 1);
  assert_true(json_real_value(json_object_get(r1, "precision")) == 0.5);
  r2 = json_array_get(json_object_get(s, "rules"), 1);
  assert_true(json_real_value(json_object_get(r2, "precision")) == 0.0);
  json_decref(s);
}

static int ingest_values(struct fixture *f, const char *id, int score,
                         const char *sex, int64_t *case_id) {
  struct vg_hit hit = {
      .rule_id = "R1", .title = "t", .digest = "0", .score = score};
  struct vg_result r = {.kind_name = "travel",
                        .id = id,
                        .id_len = strlen(id),
                        .source = "s",
                        .source_len = 1,
                        .score = score,
                        .opens_case = score >= 50,
                        .hits = &hit,
                        .nhits = score > 0};
  struct vg_store_value v = {"traveller.sex", sex, sex ? strlen(sex) : 0};
  struct vg_ingest_outcome o;
  int rc = vg_store_ingest_canonical(f->store, &r, score > 0 ? "{}" : NULL,
                                     score > 0 ? 2 : 0, &v, 1, &o);
  if (case_id)
    *case_id = o.case_id;
  return rc;
}

static json_t *value_row(json_t *report, const char *value) {
  json_t *kind = json_array_get(json_object_get(report, "kinds"), 0);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(kind, "values"), i, v) {
    json_t *jv = json_object_get(v, "value");
    if ((!value && json_is_null(jv)) ||
        (value && json_is_string(jv) && !strcmp(json_string_value(jv), value)))
      return v;
  }
  return NULL;
}

static void test_fairness(void **state) {
  struct fixture *f = *state;
  json_t *rep = NULL;
  assert_int_equal(vg_store_fairness(f->store, "traveller.sex", &rep),
                   VG_EINVAL);
  assert_int_equal(vg_store_set_field(f->store, "travel", "traveller.sex",
                                      false, true, false),
                   0);
  assert_int_equal(vg_store_set_field(f->store, "travel", "traveller.surname",
                                      true, false, false),
                   0);
  assert_int_equal(vg_store_fairness(f->store, "traveller.surname", &rep),
                   VG_EINVAL);
  assert_non_null(strstr(vg_store_errmsg(f->store), "traveller.sex"));
  int64_t c1, c2;
  assert_int_equal(vg_store_batch_begin(f->store), 0);
  assert_int_equal(ingest_values(f, "1", 60, "F", &c1), 0);
  assert_int_equal(ingest_values(f, "2", 60, "M", &c2), 0);
  assert_int_equal(ingest_values(f, "3", 0, "F", NULL), 0);
  assert_int_equal(ingest_values(f, "4", 0, "F", NULL), 0);
  assert_int_equal(ingest_values(f, "5", 0, "M", NULL), 0);
  assert_int_equal(ingest_values(f, "6", 0, NULL, NULL), 0);
  assert_int_equal(vg_store_batch_commit(f->store), 0);
  vg_store_case_act(f->store, c1, VG_ACT_CLAIM, "x", NULL, NULL);
  vg_store_case_act(f->store, c1, VG_ACT_CONFIRM, "x", "n", NULL);
  vg_store_case_act(f->store, c2, VG_ACT_CLAIM, "x", NULL, NULL);
  vg_store_case_act(f->store, c2, VG_ACT_DISMISS, "x", "n", "other");
  assert_int_equal(vg_store_fairness(f->store, "traveller.sex", &rep), 0);
  json_t *fem = value_row(rep, "F"), *mal = value_row(rep, "M"),
         *none = value_row(rep, NULL);
  assert_non_null(fem);
  assert_non_null(mal);
  assert_non_null(none);
  assert_int_equal(json_integer_value(json_object_get(fem, "records")), 3);
  assert_int_equal(json_integer_value(json_object_get(fem, "flagged")), 1);
  assert_int_equal(json_integer_value(json_object_get(fem, "confirmed")), 1);
  assert_true(json_real_value(json_object_get(fem, "confirmation_rate")) == 1);
  assert_int_equal(json_integer_value(json_object_get(mal, "dismissed")), 1);
  assert_int_equal(json_integer_value(json_object_get(none, "records")), 1);
  json_t *all =
      json_object_get(json_array_get(json_object_get(rep, "kinds"), 0), "all");
  assert_int_equal(json_integer_value(json_object_get(all, "records")), 6);
  assert_int_equal(json_integer_value(json_object_get(all, "flagged")), 2);
  /* F: 1/3 flagged against 2/6 overall: parity. */
  assert_true(
      json_real_value(json_object_get(fem, "flag_rate_vs_all")) > 0.999 &&
      json_real_value(json_object_get(fem, "flag_rate_vs_all")) < 1.001);
  /* No personal data: only counts and the protected values. */
  char *text = json_dumps(rep, 0);
  assert_null(strstr(text, "\"1\""));
  free(text);
  json_decref(rep);
  /* A reopened case no longer counts as confirmed. */
  assert_int_equal(
      vg_store_case_act(f->store, c1, VG_ACT_REOPEN, "y", "second look", NULL),
      0);
  assert_int_equal(vg_store_fairness(f->store, "traveller.sex", &rep), 0);
  assert_int_equal(
      json_integer_value(json_object_get(value_row(rep, "F"), "confirmed")), 0);
  json_decref(rep);
}

/* ------------------------------------------------------------- rejects */

static void test_rejects(void **state) {
  struct fixture *f = *state;
  assert_int_equal(vg_store_add_reject(f->store, "a.ndjson", 2, "line 2",
                                       "line 2: not valid JSON", "{oops", 5,
                                       false),
                   0);
  assert_int_equal(vg_store_add_reject(f->store, "b.edi", 1, "message 1",
                                       "UNT count is wrong", "UNH+1", 5, true),
                   0);
  /* The same reject again (a rerun) is kept once. */
  assert_int_equal(vg_store_add_reject(f->store, "a.ndjson", 2, "line 2",
                                       "line 2: not valid JSON", "{oops", 5,
                                       false),
                   0);
  /* Raw input is cut at 4 KiB; bytes that are not UTF-8 give raw null. */
  char big[5000];
  memset(big, 'x', sizeof big);
  big[0] = (char)0xff;
  assert_int_equal(vg_store_add_reject(f->store, "a.ndjson", 9, "line 9",
                                       "too big", big, sizeof big, false),
                   0);
  assert_int_equal(raw_count(f, "SELECT length(raw) FROM rejects WHERE line "
                                "= 9"),
                   4096);
  json_t *r = NULL;
  assert_int_equal(vg_store_rejects(f->store, NULL, 0, &r), 0);
  json_t *arr = json_object_get(r, "rejects");
  assert_int_equal(json_array_size(arr), 3);
  json_t *first = json_array_get(arr, 0);
  assert_string_equal(json_string_value(json_object_get(first, "source")),
                      "a.ndjson");
  assert_int_equal(json_integer_value(json_object_get(first, "line")), 2);
  assert_string_equal(json_string_value(json_object_get(first, "raw")),
                      "{oops");
  assert_true(json_is_false(json_object_get(first, "warning")));
  assert_true(json_is_true(json_object_get(json_array_get(arr, 1), "warning")));
  assert_true(json_is_null(json_object_get(json_array_get(arr, 2), "raw")));
  json_decref(r);
  assert_int_equal(vg_store_rejects(f->store, "b.edi", 0, &r), 0);
  assert_int_equal(json_array_size(json_object_get(r, "rejects")), 1);
  json_decref(r);
  assert_int_equal(vg_store_rejects(f->store, NULL, 1, &r), 0);
  assert_int_equal(json_array_size(json_object_get(r, "rejects")), 1);
  json_decref(r);
}

/* A batch's totals are written with its records or not at all. */
static void test_batch_atomic(void **state) {
  struct fixture *f = *state;
  assert_int_equal(vg_store_batch_begin(f->store), 0);
  struct vg_ingest_outcome o;
  struct rec a = {.id = "a", .score = 60, .subject = "A", .rules = {"R1"}};
  struct rec b = {.id = "b", .score = 0};
  assert_int_equal(ingest(f, &a, &o), 0);
  assert_int_equal(ingest(f, &b, &o), 0);
  /* Nothing is visible to another connection before the commit. */
  assert_int_equal(raw_count(f, "SELECT count(*) FROM records"), 0);
  assert_int_equal(raw_count(f, "SELECT (SELECT count(*) FROM kind_totals) + "
                                "(SELECT count(*) FROM totals_log)"),
                   0);
  assert_int_equal(vg_store_batch_commit(f->store), 0);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM records"), 1);
  /* The batch's totals are one row of the log until they are read. */
  assert_int_equal(raw_count(f, "SELECT count(*) FROM totals_log"), 1);
  assert_int_equal(kind_stat(f, "travel", "screened"), 2);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM totals_log"), 0);
  assert_int_equal(raw_count(f, "SELECT screened FROM kind_totals"), 2);
  /* Closing commits an open batch. */
  assert_int_equal(vg_store_batch_begin(f->store), 0);
  struct rec c = {.id = "c", .score = 0};
  assert_int_equal(ingest(f, &c, &o), 0);
  vg_store_close(f->store);
  char err[256];
  assert_int_equal(vg_store_open(f->path, false, &f->store, err, sizeof err),
                   0);
  /* A closed store leaves its totals folded. */
  assert_int_equal(raw_count(f, "SELECT count(*) FROM totals_log"), 0);
  assert_int_equal(raw_count(f, "SELECT screened FROM kind_totals"), 3);
}

/* Each batch logs its totals as one row; the log is folded into the
 * tables every 1024 rows and whenever the totals are read, and the totals
 * come out the same. */
static void test_totals_log_folds(void **state) {
  struct fixture *f = *state;
  struct vg_ingest_outcome o;
  for (int i = 0; i < 2100; i++) {
    char id[16];
    snprintf(id, sizeof id, "r%d", i);
    struct rec r = {.id = id, .score = i % 3 ? 0 : 10, .rules = {"R1"}};
    if (i % 3)
      r.rules[0] = NULL;
    assert_int_equal(vg_store_batch_begin(f->store), 0);
    assert_int_equal(ingest(f, &r, &o), 0);
    assert_int_equal(vg_store_batch_commit(f->store), 0);
  }
  /* Folded at rows 1024 and 2048: 52 wait. */
  assert_int_equal(raw_count(f, "SELECT count(*) FROM totals_log"), 52);
  assert_int_equal(raw_count(f, "SELECT screened FROM kind_totals"), 2048);
  assert_int_equal(kind_stat(f, "travel", "screened"), 2100);
  assert_int_equal(kind_stat(f, "travel", "flagged"), 700);
  assert_int_equal(stat_of(f, "rules", "rule", "R1", "hits"), 700);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM totals_log"), 0);
}

/* A log row that does not parse is an error naming the log, not a total
 * silently wrong. */
static void test_totals_log_damaged(void **state) {
  struct fixture *f = *state;
  struct vg_ingest_outcome o;
  struct rec r = {.id = "a", .score = 0};
  assert_int_equal(ingest(f, &r, &o), 0);
  raw_sql(f, "UPDATE totals_log SET delta = x'0301ffffffff'");
  json_t *st = NULL;
  assert_int_not_equal(vg_store_stats(f->store, &st), 0);
  assert_null(st);
  assert_non_null(strstr(vg_store_errmsg(f->store), "totals log"));
}

/* A record that fails half-way takes its batch with it: nothing of the
 * batch is committed, and its commit says so. */
static void test_batch_failure(void **state) {
  struct fixture *f = *state;
  raw_sql(f, "CREATE TRIGGER boom BEFORE INSERT ON records WHEN "
             "NEW.record_id = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END");
  struct vg_ingest_outcome o;
  struct rec a = {.id = "a", .score = 60, .subject = "A", .rules = {"R1"}};
  struct rec boom = {
      .id = "boom", .score = 60, .subject = "B", .rules = {"R1"}};
  struct rec clean = {.id = "c", .score = 0};
  assert_int_equal(vg_store_batch_begin(f->store), 0);
  assert_int_equal(ingest(f, &a, &o), 0);
  assert_int_equal(ingest(f, &clean, &o), 0);
  assert_int_not_equal(ingest(f, &boom, &o), 0);
  assert_non_null(strstr(vg_store_errmsg(f->store), "boom"));
  assert_int_equal(vg_store_batch_commit(f->store), VG_EIO);
  assert_non_null(strstr(vg_store_errmsg(f->store), "rolled back"));
  assert_int_equal(raw_count(f, "SELECT count(*) FROM records"), 0);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM cases"), 0);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM events"), 0);
  assert_int_equal(raw_count(f, "SELECT (SELECT count(*) FROM kind_totals) + "
                                "(SELECT count(*) FROM totals_log)"),
                   0);
  /* The next batch works again. */
  assert_int_equal(vg_store_batch_begin(f->store), 0);
  assert_int_equal(ingest(f, &a, &o), 0);
  assert_int_equal(vg_store_batch_commit(f->store), 0);
  assert_int_equal(raw_count(f, "SELECT count(*) FROM records"), 1);
  assert_int_equal(kind_stat(f, "travel", "screened"), 1);
  struct vg_audit_report rep;
  assert_int_equal(vg_store_audit_verify(f->store, &rep), 0);
  assert_true(rep.ok);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_open_and_migrate),
      T(test_totals_log_folds),
      T(test_totals_log_damaged),
      T(test_migrate_from_version_1),
      cmocka_unit_test(test_canonical_json),
      cmocka_unit_test(test_canonical_random),
      cmocka_unit_test(test_canonical_rejects),
      cmocka_unit_test(test_sha256),
      cmocka_unit_test(test_times),
      T(test_no_hits_not_stored),
      T(test_below_threshold_stored_without_case),
      T(test_duplicates_and_versions),
      T(test_subject_grouping),
      T(test_evidence_stored),
      T(test_queue_order_and_filters),
      T(test_audit_edit_note),
      T(test_audit_edit_actor_and_time),
      T(test_audit_edit_with_rehash),
      T(test_audit_delete_event),
      T(test_audit_delete_first_event),
      T(test_audit_delete_last_event),
      T(test_audit_reorder_events),
      T(test_audit_status_changed_outside),
      T(test_purge),
      T(test_stats),
      T(test_fairness),
      T(test_rejects),
      T(test_batch_atomic),
      T(test_batch_failure),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
