/* store.c - the review queue's SQLite store: opening and migrating the
 * schema, the prepared statements, screening batches and the ingest of
 * screened records (canonical JSON, duplicates, versions, cases). */
#include "store_impl.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>

/* Schema migrations: migrations[i] brings user_version i to i + 1, one
 * statement at a time. A database newer than the last one known is
 * refused, never downgraded. */
static const char *const migration_1[] = {
    "CREATE TABLE cases ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  subject TEXT,"
    "  status TEXT NOT NULL CHECK (status IN"
    "    ('new','in_review','escalated','confirmed','dismissed')),"
    "  score INTEGER NOT NULL,"
    "  assignee TEXT,"
    "  escalated_by TEXT,"
    "  reason TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  decided_at INTEGER);",
    /* One open case per (kind, subject): the database enforces it too. */
    "CREATE UNIQUE INDEX cases_open_subject ON cases (kind, subject)"
    "  WHERE status IN " OPEN_STATUSES " AND subject IS NOT NULL;",
    /* The queue: open cases by score, then age, straight from the index. */
    "CREATE INDEX cases_queue ON cases (score DESC, created_at, id)"
    "  WHERE status IN " OPEN_STATUSES ";",
    "CREATE INDEX cases_status ON cases (status, score DESC, created_at, id);",
    "CREATE INDEX cases_kind ON cases (kind, score DESC, created_at, id)"
    "  WHERE status IN " OPEN_STATUSES ";",
    "CREATE INDEX cases_assignee ON cases"
    "  (assignee, score DESC, created_at, id) WHERE status IN " OPEN_STATUSES
    ";",
    "CREATE INDEX cases_decided ON cases (decided_at)"
    "  WHERE decided_at IS NOT NULL;",
    "CREATE TABLE records ("
    "  id INTEGER PRIMARY KEY,"
    "  source TEXT NOT NULL,"
    "  record_id TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  content TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  observed_at INTEGER NOT NULL,"
    "  score INTEGER NOT NULL,"
    "  subject TEXT,"
    "  case_id INTEGER REFERENCES cases (id) ON DELETE CASCADE,"
    "  fair TEXT," /* protected values: {"field": "value" or null} */
    /* The hits, a JSON array of {"rule", "title", "score", "rule_digest",
     * "route", "evidence"}: read only with their record, so a column of
     * it rather than a table with rows and indexes to keep. */
    "  hits TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (source, record_id, version));",
    "CREATE INDEX records_case ON records (case_id);",
    "CREATE INDEX records_loose ON records (created_at) WHERE case_id IS NULL;",
    /* Hits per rule, a running total like the kind totals. */
    "CREATE TABLE rule_totals ("
    "  rule TEXT PRIMARY KEY,"
    "  hits INTEGER NOT NULL) WITHOUT ROWID;",
    /* The rules and routes of a case carry copies of its score, creation
     * time and openness (kept by the trigger below), so a queue filtered
     * by rule or route reads in order from one index too. */
    "CREATE TABLE case_rules ("
    "  case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,"
    "  rule TEXT NOT NULL,"
    "  open INTEGER NOT NULL,"
    "  score INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (case_id, rule)) WITHOUT ROWID;",
    "CREATE INDEX case_rules_rule ON case_rules (rule, case_id);",
    "CREATE INDEX case_rules_queue ON case_rules"
    "  (rule, score DESC, created_at, case_id) WHERE open = 1;",
    "CREATE TABLE case_routes ("
    "  case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,"
    "  route TEXT NOT NULL,"
    "  open INTEGER NOT NULL,"
    "  score INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (case_id, route)) WITHOUT ROWID;",
    "CREATE INDEX case_routes_queue ON case_routes"
    "  (route, score DESC, created_at, case_id) WHERE open = 1;",
    "CREATE TRIGGER cases_queue_copies AFTER UPDATE OF score, status ON cases"
    " BEGIN"
    "  UPDATE case_rules SET score = NEW.score,"
    "    open = NEW.status IN " OPEN_STATUSES " WHERE case_id = NEW.id;"
    "  UPDATE case_routes SET score = NEW.score,"
    "    open = NEW.status IN " OPEN_STATUSES " WHERE case_id = NEW.id;"
    " END;",
    "CREATE TABLE case_links ("
    "  case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,"
    "  other INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,"
    "  PRIMARY KEY (case_id, other)) WITHOUT ROWID;",
    "CREATE INDEX case_links_other ON case_links (other);",
    /* Events outlive purged cases, so case_id is not a foreign key. */
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  from_status TEXT,"
    "  to_status TEXT,"
    "  note TEXT,"
    "  reason TEXT,"
    "  at INTEGER NOT NULL,"
    "  prev_hash TEXT NOT NULL,"
    "  hash TEXT NOT NULL);",
    "CREATE INDEX events_case ON events (case_id, id);",
    "CREATE TABLE rejects ("
    "  id INTEGER PRIMARY KEY,"
    "  source TEXT NOT NULL,"
    "  line INTEGER NOT NULL,"
    "  place TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  raw BLOB NOT NULL,"
    "  warning INTEGER NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (source, line, digest));",
    "CREATE INDEX rejects_created ON rejects (created_at);",
    "CREATE TABLE kind_totals ("
    "  kind TEXT PRIMARY KEY,"
    "  screened INTEGER NOT NULL,"
    "  flagged INTEGER NOT NULL);",
    "CREATE TABLE fairness ("
    "  kind TEXT NOT NULL,"
    "  field TEXT NOT NULL,"
    "  present INTEGER NOT NULL,"
    "  value TEXT NOT NULL,"
    "  records INTEGER NOT NULL DEFAULT 0,"
    "  flagged INTEGER NOT NULL DEFAULT 0,"
    "  confirmed INTEGER NOT NULL DEFAULT 0,"
    "  dismissed INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (kind, field, present, value)) WITHOUT ROWID;",
    "CREATE TABLE fields ("
    "  kind TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  pii INTEGER NOT NULL,"
    "  protected INTEGER NOT NULL,"
    "  subject INTEGER NOT NULL,"
    "  PRIMARY KEY (kind, path)) WITHOUT ROWID;",
    NULL};

/* Fewer index pages per commit: every page a transaction touches is
 * written to the log again at its commit, and a server commits every few
 * records. The rules of cases are grouped for `stats` by reading them all
 * (as they were read through the index anyway), and only records with a
 * case are looked up by case. */
static const char *const migration_2[] = {
    "DROP INDEX case_rules_rule;", "DROP INDEX records_case;",
    "CREATE INDEX records_case ON records (case_id) WHERE case_id IS NOT "
    "NULL;",
    NULL};

/* The running totals of each batch as one row, folded into the totals
 * tables every so many rows (see agg_log). */
static const char *const migration_3[] = {"CREATE TABLE totals_log ("
                                          "  id INTEGER PRIMARY KEY,"
                                          "  delta BLOB NOT NULL);",
                                          NULL};

/* Fewer index pages per commit again: the status and assignee indexes
 * cover only cases a reviewer has touched, so a case opened by screening
 * (status new, no assignee) adds a row to neither. Queues of new cases
 * read the open queue's index, where they are most of the rows. */
static const char *const migration_4[] = {
    "DROP INDEX cases_status;",
    "CREATE INDEX cases_status ON cases (status, score DESC, created_at, id)"
    "  WHERE status IN " REVIEWED_STATUSES ";",
    "DROP INDEX cases_assignee;",
    "CREATE INDEX cases_assignee ON cases"
    "  (assignee, score DESC, created_at, id)"
    "  WHERE assignee IS NOT NULL AND status IN " OPEN_STATUSES ";",
    NULL};

static const char *const *const migrations[] = {migration_1, migration_2,
                                                migration_3, migration_4};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof *migrations))

/* The queue: one statement per index that can drive it, chosen by the
 * filters given (vg_store_queue); the other filters apply to the rows the
 * index yields in order. The arrays come from the small per-case tables. */
#define QUEUE_SELECT                                                           \
  "SELECT c.id, c.status, c.score, c.kind, c.subject, c.assignee, "            \
  "c.created_at, c.updated_at, "                                               \
  "(SELECT json_group_array(route) FROM case_routes WHERE case_id = c.id), "   \
  "(SELECT json_group_array(record_id) FROM (SELECT record_id FROM records "   \
  "WHERE case_id = c.id GROUP BY record_id ORDER BY min(id))), "               \
  "(SELECT json_group_array(rule) FROM case_rules WHERE case_id = c.id), "     \
  "(SELECT pii FROM fields f WHERE f.kind = c.kind AND f.subject = 1) "
#define QUEUE_FILTERS                                                          \
  " AND (?1 IS NULL OR c.kind = ?1) AND (?2 IS NULL OR c.assignee = ?2) "      \
  "AND c.score >= ?3 AND c.created_at >= ?4 "                                  \
  "AND (?5 IS NULL OR EXISTS (SELECT 1 FROM case_routes r WHERE "              \
  "r.case_id = c.id AND r.route = ?5)) "                                       \
  "AND (?6 IS NULL OR EXISTS (SELECT 1 FROM case_rules r WHERE "               \
  "r.case_id = c.id AND r.rule = ?6)) "
#define QUEUE_ORDER(t)                                                         \
  "ORDER BY " t ".score DESC, " t ".created_at, " t ".id LIMIT ?7"
#define QUEUE_FROM_CASES(where)                                                \
  QUEUE_SELECT "FROM cases c WHERE " where QUEUE_FILTERS QUEUE_ORDER("c")
#define QUEUE_FROM_COPY(table, column, param)                                  \
  QUEUE_SELECT "FROM " table " x JOIN cases c ON c.id = x.case_id WHERE "      \
               "x." column " = " param " AND x.open = 1" QUEUE_FILTERS         \
               "ORDER BY x.score DESC, x.created_at, x.case_id LIMIT ?7"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_IDENTITY_EXISTS] = "SELECT 1 FROM records WHERE source = ?1 AND "
                           "record_id = ?2 LIMIT 1",
    /* One probe gives the next version and whether this content is
     * stored already (and its case). */
    [ST_LOOKUP] = "SELECT coalesce(max(version), 0) + 1, max(sha256 = ?3), "
                  "max(CASE WHEN sha256 = ?3 THEN coalesce(case_id, 0) END) "
                  "FROM records WHERE source = ?1 AND record_id = ?2",
    [ST_INSERT_RECORD] =
        "INSERT INTO records (source, record_id, version, kind, content, "
        "sha256, observed_at, score, subject, created_at, fair, case_id, "
        "hits) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
        "?13)",
    [ST_LOG_TOTALS] = "INSERT INTO totals_log (delta) VALUES (?1)",
    [ST_READ_TOTALS_LOG] = "SELECT delta FROM totals_log ORDER BY id",
    [ST_CLEAR_TOTALS_LOG] = "DELETE FROM totals_log",
    [ST_RULE_TOTAL] =
        "INSERT INTO rule_totals (rule, hits) VALUES (?1, ?2) ON CONFLICT "
        "(rule) DO UPDATE SET hits = hits + ?2",
    [ST_OPEN_CASE_FOR] = "SELECT id FROM cases WHERE kind = ?1 AND subject = "
                         "?2 AND status IN " OPEN_STATUSES,
    [ST_INSERT_CASE] = "INSERT INTO cases (kind, subject, status, score, "
                       "created_at, updated_at) VALUES (?1, ?2, 'new', ?3, "
                       "?4, ?4)",
    [ST_JOIN_CASE] = "UPDATE cases SET score = max(score, ?3), updated_at = "
                     "?2 WHERE id = ?1",
    [ST_TOUCH_CASE] = "UPDATE cases SET updated_at = ?2 WHERE id = ?1",
    [ST_CASE_SCORE] = "SELECT status, score FROM cases WHERE id = ?1",
    /* One-row inserts with the case's values bound: an INSERT ... SELECT
     * costs twice as much (SQLite gives it a statement journal). */
    [ST_INSERT_CASE_RULE] =
        "INSERT OR IGNORE INTO case_rules (case_id, rule, open, score, "
        "created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_INSERT_CASE_ROUTE] =
        "INSERT OR IGNORE INTO case_routes (case_id, route, open, score, "
        "created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_CASE_QUEUE_VALUES] = "SELECT status IN " OPEN_STATUSES
                             ", score, created_at FROM cases WHERE id = ?1",
    [ST_CASES_OF_RECORD] =
        "SELECT DISTINCT case_id FROM records WHERE source = ?2 AND "
        "record_id = ?1 AND case_id IS NOT NULL",
    [ST_INSERT_LINK] =
        "INSERT OR IGNORE INTO case_links (case_id, other) VALUES (?1, ?2)",
    [ST_KIND_TOTAL] =
        "INSERT INTO kind_totals (kind, screened, flagged) VALUES (?1, ?2, ?3)"
        " ON CONFLICT (kind) DO UPDATE SET screened = screened + ?2, "
        "flagged = flagged + ?3",
    [ST_FAIR_TOTAL] =
        "INSERT INTO fairness (kind, field, present, value, records, "
        "flagged) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO UPDATE SET "
        "records = records + ?5, flagged = flagged + ?6",
    [ST_FAIR_DECIDED] =
        "INSERT INTO fairness (kind, field, present, value, confirmed, "
        "dismissed) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO UPDATE "
        "SET confirmed = confirmed + ?5, dismissed = dismissed + ?6",
    [ST_CASE_VALUES] = "SELECT kind, fair FROM records WHERE case_id = ?1 "
                       "AND fair IS NOT NULL",
    [ST_UPSERT_FIELD] =
        "INSERT OR REPLACE INTO fields (kind, path, pii, protected, subject) "
        "VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_INSERT_REJECT] =
        "INSERT OR IGNORE INTO rejects (source, line, place, reason, raw, "
        "warning, digest, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_LAST_EVENT] = "SELECT id, hash FROM events ORDER BY id DESC LIMIT 1",
    [ST_INSERT_EVENT] =
        "INSERT INTO events (id, case_id, actor, action, from_status, "
        "to_status, note, reason, at, prev_hash, hash) VALUES (?1, ?2, ?3, "
        "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [ST_CASE_ROW] = "SELECT status, assignee, escalated_by, kind, subject, "
                    "reason, decided_at FROM cases WHERE id = ?1",
    [ST_CASE_SET] = "UPDATE cases SET status = ?2, assignee = ?3, "
                    "escalated_by = ?4, reason = ?5, updated_at = ?6, "
                    "decided_at = ?7 WHERE id = ?1",
    [ST_OTHER_OPEN_CASE] = "SELECT id FROM cases WHERE kind = ?1 AND subject "
                           "= ?2 AND status IN " OPEN_STATUSES " AND id <> ?3",
    [ST_QUEUE_OPEN] = QUEUE_FROM_CASES("c.status IN " OPEN_STATUSES),
    [ST_QUEUE_STATUS] =
        QUEUE_FROM_CASES("c.status = ?8 AND c.status IN " REVIEWED_STATUSES),
    [ST_QUEUE_NEW] =
        QUEUE_FROM_CASES("c.status = ?8 AND c.status IN " OPEN_STATUSES),
    [ST_QUEUE_KIND] =
        QUEUE_FROM_CASES("c.kind = ?1 AND c.status IN " OPEN_STATUSES),
    [ST_QUEUE_ASSIGNEE] =
        QUEUE_FROM_CASES("c.assignee = ?2 AND c.status IN " OPEN_STATUSES),
    [ST_QUEUE_RULE] = QUEUE_FROM_COPY("case_rules", "rule", "?6"),
    [ST_QUEUE_ROUTE] = QUEUE_FROM_COPY("case_routes", "route", "?5"),
    [ST_CASE_RECORDS] = "SELECT id, record_id, source, version, kind, "
                        "observed_at, score, sha256, content, created_at, "
                        "hits FROM records WHERE case_id = ?1 ORDER BY id",
    [ST_CASE_LINKS] =
        "SELECT other FROM case_links WHERE case_id = ?1 UNION SELECT "
        "case_id FROM case_links WHERE other = ?1 ORDER BY 1",
    [ST_CASE_EVENTS] = "SELECT id, actor, action, from_status, to_status, "
                       "note, reason, at FROM events WHERE case_id = ?1 "
                       "ORDER BY id",
    [ST_PII_FIELDS] = "SELECT path, subject FROM fields WHERE kind = ?1 AND "
                      "pii = 1",
    [ST_EVENTS_ALL] = "SELECT id, case_id, actor, action, from_status, "
                      "to_status, note, reason, at, prev_hash, hash FROM "
                      "events ORDER BY id",
    [ST_CASE_LAST_EVENTS] =
        "SELECT c.id, c.status, (SELECT to_status FROM events e WHERE "
        "e.case_id = c.id AND e.to_status IS NOT NULL ORDER BY e.id DESC "
        "LIMIT 1) FROM cases c ORDER BY c.id",
    [ST_STATS_RULES] =
        "WITH h AS (SELECT rule, hits AS n FROM rule_totals), "
        "k AS (SELECT cr.rule, count(*) AS n, sum(c.status = 'confirmed') AS "
        "conf, sum(c.status = 'dismissed') AS dis FROM case_rules cr JOIN "
        "cases c ON c.id = cr.case_id GROUP BY cr.rule) "
        "SELECT h.rule, h.n, coalesce(k.n, 0), coalesce(k.conf, 0), "
        "coalesce(k.dis, 0) FROM h LEFT JOIN k ON k.rule = h.rule "
        "ORDER BY h.rule",
    [ST_STATS_KINDS] = "SELECT kind, screened, flagged FROM kind_totals "
                       "ORDER BY kind",
    [ST_FAIR_FIELD] = "SELECT kind, present, value, records, flagged, "
                      "confirmed, dismissed FROM fairness WHERE field = ?1 "
                      "ORDER BY kind, present, value",
    [ST_PROTECTED_FIELDS] = "SELECT path, max(protected) FROM fields WHERE "
                            "protected > 0 GROUP BY path ORDER BY path",
    [ST_REJECTS] = "SELECT source, line, place, reason, warning, created_at, "
                   "raw FROM rejects WHERE (?1 IS NULL OR source = ?1) "
                   "ORDER BY id LIMIT ?2",
    [ST_PURGE_SELECT] = "SELECT id, status FROM cases WHERE decided_at < ?1 "
                        "AND status IN ('confirmed', 'dismissed') AND "
                        "(?2 IS NULL OR status = ?2) ORDER BY id",
    [ST_PURGE_CASE] = "DELETE FROM cases WHERE id = ?1",
    [ST_PURGE_COUNT_RECORDS] = "SELECT count(*) FROM records WHERE "
                               "case_id = ?1",
    [ST_PURGE_LOOSE_RECORDS] = "DELETE FROM records WHERE case_id IS NULL "
                               "AND created_at < ?1",
    [ST_PURGE_REJECTS] = "DELETE FROM rejects WHERE created_at < ?1",
};

/* ------------------------------------------------------------ helpers */

int vg__store_error(vg_store *store, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(store->errmsg, sizeof store->errmsg, fmt, ap);
  va_end(ap);
  return code;
}

int vg__store_fail(vg_store *store, const char *what) {
  int rc = sqlite3_errcode(store->db);
  vg__store_error(store, 0, "%s: %s", what, sqlite3_errmsg(store->db));
  return rc == SQLITE_NOMEM ? VG_ENOMEM : VG_EIO;
}

const char *vg_store_errmsg(const vg_store *store) {
  return store ? store->errmsg : "out of memory";
}

void vg_store_set_clock(vg_store *store, int64_t now_us) {
  store->clock_us = now_us;
}

int vg_store_set_actor(vg_store *store, const char *actor) {
  char *copy = strdup(actor ? actor : "vigia");
  if (!copy)
    return vg__store_error(store, VG_ENOMEM, "out of memory");
  free(store->actor);
  store->actor = copy;
  return 0;
}

int64_t vg__store_now(const vg_store *store) {
  if (store->clock_us)
    return store->clock_us;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

sqlite3_stmt *vg__store_stmt(vg_store *store, enum stmt_id id) {
  sqlite3_stmt *st = store->st[id];
  if (!st) {
    if (sqlite3_prepare_v3(store->db, stmt_sql[id], -1,
                           SQLITE_PREPARE_PERSISTENT, &store->st[id],
                           NULL) != SQLITE_OK) {
      vg__store_fail(store, "preparing a statement");
      return NULL;
    }
    return store->st[id];
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return st;
}

int vg__store_exec(vg_store *store, sqlite3_stmt *st, const char *what) {
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    ;
  if (rc != SQLITE_DONE) {
    int code = vg__store_fail(store, what);
    sqlite3_reset(st);
    return code;
  }
  sqlite3_reset(st);
  return 0;
}

static int exec_id(vg_store *store, enum stmt_id id, const char *what) {
  sqlite3_stmt *st = vg__store_stmt(store, id);
  return st ? vg__store_exec(store, st, what) : VG_EIO;
}

int vg__store_begin(vg_store *store) {
  return exec_id(store, ST_BEGIN, "starting a transaction");
}

int vg__store_commit(vg_store *store) {
  return exec_id(store, ST_COMMIT, "committing");
}

void vg__store_rollback(vg_store *store) {
  if (!sqlite3_get_autocommit(store->db)) {
    char keep[sizeof store->errmsg];
    memcpy(keep, store->errmsg, sizeof keep);
    exec_id(store, ST_ROLLBACK, "rolling back");
    memcpy(store->errmsg, keep, sizeof keep);
  }
}

int vg__bind_text(sqlite3_stmt *st, int col, const char *text, size_t len) {
  if (!text)
    return sqlite3_bind_null(st, col);
  return sqlite3_bind_text64(st, col, text, len, SQLITE_STATIC, SQLITE_UTF8);
}

json_t *vg__col_json_string(sqlite3_stmt *st, int col) {
  if (sqlite3_column_type(st, col) == SQLITE_NULL)
    return json_null();
  const char *text = (const char *)sqlite3_column_text(st, col);
  int len = sqlite3_column_bytes(st, col);
  json_t *s = json_stringn(text ? text : "", (size_t)len);
  return s ? s : json_string("");
}

json_t *vg__col_json_time(sqlite3_stmt *st, int col) {
  if (sqlite3_column_type(st, col) == SQLITE_NULL)
    return json_null();
  char buf[40];
  vg_store_time_format(sqlite3_column_int64(st, col), buf, sizeof buf);
  return json_string(buf);
}

/* --------------------------------------------------------------- times */

void vg_store_time_format(int64_t us, char *buf, size_t len) {
  time_t secs = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
  struct tm tm;
  if (!gmtime_r(&secs, &tm) ||
      strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf(buf, len, "invalid");
}

static bool digits(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int vg_store_time_parse(const char *text, int64_t *us) {
  int y, mo, d, h = 0, mi = 0, s = 0;
  size_t len = strlen(text);
  if (len < 10 || !digits(text, 4, &y) || text[4] != '-' ||
      !digits(text + 5, 2, &mo) || text[7] != '-' || !digits(text + 8, 2, &d))
    return VG_EINVAL;
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
      (mo == 2 && d == 29 && !leap))
    return VG_EINVAL;
  int64_t frac = 0, offset = 0;
  const char *p = text + 10;
  if (*p) {
    if ((*p != 'T' && *p != 't' && *p != ' ') || strlen(p) < 9 ||
        !digits(p + 1, 2, &h) || p[3] != ':' || !digits(p + 4, 2, &mi) ||
        p[6] != ':' || !digits(p + 7, 2, &s) || h > 23 || mi > 59 || s > 60)
      return VG_EINVAL;
    p += 9;
    if (*p == '.') {
      int64_t scale = 100000;
      p++;
      if (*p < '0' || *p > '9')
        return VG_EINVAL;
      for (; *p >= '0' && *p <= '9'; p++) {
        frac += (*p - '0') * scale;
        scale /= 10;
      }
    }
    if (*p == 'Z' || *p == 'z') {
      p++;
    } else if (*p == '+' || *p == '-') {
      int oh, om;
      if (strlen(p) != 6 || !digits(p + 1, 2, &oh) || p[3] != ':' ||
          !digits(p + 4, 2, &om) || oh > 23 || om > 59)
        return VG_EINVAL;
      offset = (*p == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
      p += 6;
    } else {
      return VG_EINVAL;
    }
    if (*p)
      return VG_EINVAL;
  }
  int64_t secs =
      days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
  *us = secs * 1000000 + frac;
  return 0;
}

/* ------------------------------------------------------- open / close */

static int migrate(vg_store *store) {
  sqlite3_stmt *st = NULL;
  int version = 0, rc = 0;
  if (sqlite3_prepare_v2(store->db, "PRAGMA user_version", -1, &st, NULL) !=
          SQLITE_OK ||
      sqlite3_step(st) != SQLITE_ROW) {
    rc = vg__store_fail(store, "reading the schema version");
    goto out;
  }
  version = sqlite3_column_int(st, 0);
  /* Done with before the migrations: a statement still open keeps its
   * tables locked against DROP. */
  sqlite3_finalize(st);
  st = NULL;
  if (version > SCHEMA_VERSION) {
    rc = vg__store_error(store, VG_EINVAL,
                         "the database's schema version %d is newer than "
                         "this vigia knows (%d)",
                         version, SCHEMA_VERSION);
    goto out;
  }
  for (; version < SCHEMA_VERSION; version++) {
    /* The version number is ours, not input: a constant-format pragma. */
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", version + 1);
    if (sqlite3_exec(store->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
        SQLITE_OK) {
      rc = vg__store_fail(store, "migrating the database");
      goto out;
    }
    bool ok = true;
    for (const char *const *sql = migrations[version]; ok && *sql; sql++)
      ok = sqlite3_exec(store->db, *sql, NULL, NULL, NULL) == SQLITE_OK;
    if (!ok || sqlite3_exec(store->db, pragma, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
      rc = vg__store_fail(store, "migrating the database");
      sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
      goto out;
    }
  }
out:
  sqlite3_finalize(st);
  return rc;
}

int vg_store_open(const char *path, bool create, vg_store **out, char *err,
                  size_t errlen) {
  struct stat sb;
  if (!create && stat(path, &sb) != 0) {
    snprintf(err, errlen, "no database at %s (nothing screened yet?)", path);
    return VG_ENOTFOUND;
  }
  vg_store *store = calloc(1, sizeof *store);
  if (!store) {
    snprintf(err, errlen, "out of memory");
    return VG_ENOMEM;
  }
  int rc = VG_EIO;
  int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path, &store->db, flags, NULL) != SQLITE_OK) {
    snprintf(err, errlen, "cannot open %s: %s", path,
             store->db ? sqlite3_errmsg(store->db) : "out of memory");
    goto fail;
  }
  sqlite3_extended_result_codes(store->db, 1);
  sqlite3_busy_timeout(store->db, 10000);
  /* WAL lets reviewers read while a screening run writes. NORMAL: a
   * committed batch survives a crash of the process; a power cut may lose
   * the last batches but never corrupts the file. A larger checkpoint
   * interval and memory-mapped reads cut the copying a screening run does;
   * 16 KiB pages (for a new database) hold several records each. */
  if (sqlite3_exec(store->db,
                   "PRAGMA page_size = 16384; "
                   "PRAGMA journal_mode = WAL; "
                   "PRAGMA synchronous = NORMAL; "
                   "PRAGMA cache_size = -65536; "
                   "PRAGMA temp_store = MEMORY; "
                   "PRAGMA mmap_size = 67108864; "
                   "PRAGMA foreign_keys = ON",
                   NULL, NULL, NULL) != SQLITE_OK) {
    snprintf(err, errlen, "cannot open %s: %s", path,
             sqlite3_errmsg(store->db));
    goto fail;
  }
  sqlite3_wal_autocheckpoint(store->db, VG__CHECKPOINT_PAGES);
  if ((rc = migrate(store)) != 0) {
    snprintf(err, errlen, "%s: %s", path, store->errmsg);
    goto fail;
  }
  store->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  store->mdctx = EVP_MD_CTX_new();
  if (vg_store_set_actor(store, "vigia") != 0) {
    rc = VG_ENOMEM;
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  *out = store;
  return 0;
fail:
  vg_store_close(store);
  return rc;
}

static void agg_clear(struct agg_table *agg);
static void kinds_clear(vg_store *store);

void vg_store_close(vg_store *store) {
  if (!store)
    return;
  if (store->in_batch)
    vg_store_batch_commit(store);
  /* A database left alone has its totals in their tables. */
  if (store->log_rows > 0)
    vg__store_fold_totals(store);
  for (int i = 0; i < ST_COUNT; i++)
    sqlite3_finalize(store->st[i]);
  sqlite3_close(store->db);
  agg_clear(&store->agg);
  free(store->agg.slots);
  kinds_clear(store);
  free(store->seen);
  vg__item_free(store->item);
  free(store->item);
  vg__canon_scratch_free(&store->canon_scratch);
  free(store->canon_input.p);
  EVP_MD_CTX_free(store->mdctx);
  EVP_MD_free(store->sha256);
  free(store->actor);
  free(store);
}

/* ------------------------------------------------- in-memory totals */

static uint64_t hash_bytes(const char *p, size_t n) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)p[i];
    h *= 1099511628211ull;
  }
  return h;
}

/* The slot an entry hashes to: the same when it is looked up and when the
 * table grows, or a grown table would hold a key twice. */
static uint64_t agg_hash(const char *key, size_t keylen, uint8_t type,
                         bool present) {
  return hash_bytes(key, keylen) ^ (type * 31u + present);
}

static void agg_clear(struct agg_table *agg) {
  for (size_t i = 0; i < agg->cap; i++) {
    free(agg->slots[i].key);
    agg->slots[i].key = NULL;
  }
  agg->count = 0;
}

static struct agg_entry *agg_find(struct agg_table *agg, const char *key,
                                  size_t keylen, uint8_t type, bool present) {
  if (agg->count * 2 >= agg->cap) {
    size_t cap = agg->cap ? agg->cap * 2 : 64;
    struct agg_entry *slots = calloc(cap, sizeof *slots);
    if (!slots)
      return NULL;
    for (size_t i = 0; i < agg->cap; i++) {
      struct agg_entry *e = &agg->slots[i];
      if (!e->key)
        continue;
      size_t j = agg_hash(e->key, e->keylen, e->type, e->present) & (cap - 1);
      while (slots[j].key)
        j = (j + 1) & (cap - 1);
      slots[j] = *e;
    }
    free(agg->slots);
    agg->slots = slots;
    agg->cap = cap;
  }
  size_t j = agg_hash(key, keylen, type, present) & (agg->cap - 1);
  for (;; j = (j + 1) & (agg->cap - 1)) {
    struct agg_entry *e = &agg->slots[j];
    if (!e->key)
      break;
    if (e->type == type && e->present == present && e->keylen == keylen &&
        memcmp(e->key, key, keylen) == 0)
      return e;
  }
  struct agg_entry *e = &agg->slots[j];
  e->key = malloc(keylen + 1);
  if (!e->key)
    return NULL;
  memcpy(e->key, key, keylen);
  e->key[keylen] = '\0';
  e->keylen = keylen;
  e->type = type;
  e->present = present;
  e->records = e->flagged = 0;
  agg->count++;
  return e;
}

/* Key layout: kind \0 field \0 value; the value is cut so one odd value
 * cannot grow the table without bound. */
#define FAIR_VALUE_MAX 128

/* len cut to at most max bytes without splitting a UTF-8 character. */
static size_t utf8_cut(const char *s, size_t len, size_t max) {
  if (len <= max)
    return len;
  while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
    max--;
  return max;
}

/* Text of an item by offset. */
static const char *item_str(const struct vg__item *it, size_t at) {
  return at == VG__NO_TEXT ? NULL : it->text.p + at;
}

static int agg_count(vg_store *store, const struct vg__item *it) {
  const char *kind = item_str(it, it->kind);
  size_t klen = strlen(kind);
  bool flagged = it->nhits > 0;
  struct agg_entry *e = agg_find(&store->agg, kind, klen, AGG_KIND, true);
  if (!e)
    return vg__store_error(store, VG_ENOMEM, "out of memory");
  e->records++;
  e->flagged += flagged;
  for (size_t i = 0; i < it->nhits; i++) {
    const char *rule = item_str(it, it->hits[i].rule);
    if (!(e = agg_find(&store->agg, rule, strlen(rule), AGG_RULE, true)))
      return vg__store_error(store, VG_ENOMEM, "out of memory");
    e->records++;
  }
  for (size_t i = 0; i < it->nvalues; i++) {
    const struct vg__item_value *v = &it->values[i];
    const char *field = item_str(it, v->field);
    const char *value = item_str(it, v->value);
    char key[512];
    size_t flen = strlen(field);
    size_t vlen = value ? utf8_cut(value, v->value_len, FAIR_VALUE_MAX) : 0;
    if (klen + flen + vlen + 2 > sizeof key)
      continue;
    memcpy(key, kind, klen);
    key[klen] = '\0';
    memcpy(key + klen + 1, field, flen);
    key[klen + 1 + flen] = '\0';
    if (vlen)
      memcpy(key + klen + flen + 2, value, vlen);
    e = agg_find(&store->agg, key, klen + flen + 2 + vlen, AGG_FAIR,
                 value != NULL);
    if (!e)
      return vg__store_error(store, VG_ENOMEM, "out of memory");
    e->records++;
    e->flagged += flagged;
  }
  return 0;
}

/* Adds agg to the totals tables: one upsert per key. */
static int agg_write(vg_store *store, const struct agg_table *agg) {
  for (size_t i = 0; i < agg->cap; i++) {
    const struct agg_entry *e = &agg->slots[i];
    if (!e->key)
      continue;
    sqlite3_stmt *st;
    if (e->type == AGG_KIND) {
      if (!(st = vg__store_stmt(store, ST_KIND_TOTAL)))
        return VG_EIO;
      vg__bind_text(st, 1, e->key, e->keylen);
      sqlite3_bind_int64(st, 2, e->records);
      sqlite3_bind_int64(st, 3, e->flagged);
    } else if (e->type == AGG_RULE) {
      if (!(st = vg__store_stmt(store, ST_RULE_TOTAL)))
        return VG_EIO;
      vg__bind_text(st, 1, e->key, e->keylen);
      sqlite3_bind_int64(st, 2, e->records);
    } else {
      if (!(st = vg__store_stmt(store, ST_FAIR_TOTAL)))
        return VG_EIO;
      size_t klen = strlen(e->key);
      const char *field = e->key + klen + 1;
      size_t flen = strlen(field);
      vg__bind_text(st, 1, e->key, klen);
      vg__bind_text(st, 2, field, flen);
      sqlite3_bind_int(st, 3, e->present);
      vg__bind_text(st, 4, field + flen + 1, e->keylen - klen - flen - 2);
      sqlite3_bind_int64(st, 5, e->records);
      sqlite3_bind_int64(st, 6, e->flagged);
    }
    int rc = vg__store_exec(store, st, "updating running totals");
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* A batch's totals as one row of totals_log: per entry its type, whether
 * present, key length, records and flagged (little-endian), then the key.
 * A server commits every few records, and an upsert per key per commit
 * (dozens: every value of every protected field) cost it more than the
 * records themselves; one row per commit is one insert, and the log is
 * folded into the tables every TOTALS_FOLD_EVERY rows and before the
 * totals are read. Folding touches a page of every totals table it
 * updates: once every 1024 commits costs a server less than every 128
 * (a fifteenth of a page a commit instead of half), and reading 1024
 * rows before `stats` takes a millisecond or two. */
#define TOTALS_FOLD_EVERY 1024
#define TOTALS_ENTRY_HEAD 22

static void put_le(unsigned char *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static int agg_encode(const struct agg_table *agg, struct vg__sbuf *b) {
  for (size_t i = 0; i < agg->cap; i++) {
    const struct agg_entry *e = &agg->slots[i];
    if (!e->key)
      continue;
    unsigned char head[TOTALS_ENTRY_HEAD];
    head[0] = e->type;
    head[1] = e->present;
    put_le(head + 2, e->keylen, 4);
    put_le(head + 6, (uint64_t)e->records, 8);
    put_le(head + 14, (uint64_t)e->flagged, 8);
    if (vg__sbuf_put(b, (const char *)head, sizeof head) != 0 ||
        vg__sbuf_put(b, e->key, e->keylen) != 0)
      return VG_ENOMEM;
  }
  return 0;
}

/* Adds one logged row to agg. A row that does not parse is refused whole:
 * the log is the store's own, so it means a damaged file. */
static int agg_decode(struct agg_table *agg, const unsigned char *p, size_t n) {
  for (size_t at = 0; at < n;) {
    if (n - at < TOTALS_ENTRY_HEAD)
      return VG_EINVAL;
    const unsigned char *h = p + at;
    uint8_t type = h[0];
    bool present = h[1] != 0;
    size_t keylen = (size_t)get_le(h + 2, 4);
    if (type < AGG_KIND || type > AGG_RULE ||
        keylen > n - at - TOTALS_ENTRY_HEAD)
      return VG_EINVAL;
    struct agg_entry *e = agg_find(agg, (const char *)h + TOTALS_ENTRY_HEAD,
                                   keylen, type, present);
    if (!e)
      return VG_ENOMEM;
    e->records += (int64_t)get_le(h + 6, 8);
    e->flagged += (int64_t)get_le(h + 14, 8);
    at += TOTALS_ENTRY_HEAD + keylen;
  }
  return 0;
}

/* Folds totals_log into the totals tables, inside the caller's
 * transaction. */
static int totals_fold(vg_store *store) {
  struct agg_table fold = {0};
  sqlite3_stmt *st = vg__store_stmt(store, ST_READ_TOTALS_LOG);
  if (!st)
    return VG_EIO;
  int rc = 0, step;
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
    rc = agg_decode(&fold, sqlite3_column_blob(st, 0),
                    (size_t)sqlite3_column_bytes(st, 0));
    if (rc == VG_EINVAL)
      vg__store_error(store, rc, "the totals log is damaged");
    else if (rc)
      vg__store_error(store, rc, "out of memory");
  }
  if (rc == 0 && step != SQLITE_DONE)
    rc = vg__store_fail(store, "reading the totals log");
  sqlite3_reset(st);
  if (rc == 0)
    rc = agg_write(store, &fold);
  if (rc == 0 && (st = vg__store_stmt(store, ST_CLEAR_TOTALS_LOG)) == NULL)
    rc = VG_EIO;
  if (rc == 0)
    rc = vg__store_exec(store, st, "clearing the totals log");
  agg_clear(&fold);
  free(fold.slots);
  if (rc == 0)
    store->log_rows = 0;
  return rc;
}

/* The batch's totals into the log (and the log into the tables when it
 * has grown): part of the batch's transaction, so a crash loses both the
 * records and their counts or neither. */
static int agg_log(vg_store *store) {
  if (store->agg.count == 0)
    return 0;
  struct vg__sbuf b = {0};
  int rc = agg_encode(&store->agg, &b);
  sqlite3_stmt *st = rc ? NULL : vg__store_stmt(store, ST_LOG_TOTALS);
  if (rc)
    rc = vg__store_error(store, rc, "out of memory");
  else if (!st)
    rc = VG_EIO;
  if (rc == 0) {
    sqlite3_bind_blob64(st, 1, b.p, b.len, SQLITE_STATIC);
    rc = vg__store_exec(store, st, "logging running totals");
  }
  free(b.p);
  agg_clear(&store->agg);
  if (rc == 0 && ++store->log_rows >= TOTALS_FOLD_EVERY)
    rc = totals_fold(store);
  return rc;
}

int vg__store_fold_totals(vg_store *store) {
  if (store->in_batch)
    return totals_fold(store);
  /* Most often empty: a look spares the write transaction. */
  sqlite3_stmt *st = NULL;
  bool any = false;
  if (sqlite3_prepare_v2(store->db, "SELECT 1 FROM totals_log LIMIT 1", -1, &st,
                         NULL) != SQLITE_OK)
    return vg__store_fail(store, "reading the totals log");
  int step = sqlite3_step(st);
  any = step == SQLITE_ROW;
  sqlite3_finalize(st);
  if (step != SQLITE_ROW && step != SQLITE_DONE)
    return vg__store_fail(store, "reading the totals log");
  if (!any)
    return 0;
  int rc = vg__store_begin(store);
  if (rc == 0)
    rc = totals_fold(store);
  if (rc == 0)
    rc = vg__store_commit(store);
  if (rc != 0)
    vg__store_rollback(store);
  return rc;
}

/* ------------------------------------------------------------ batches */

int vg_store_batch_begin(vg_store *store) {
  if (store->in_batch)
    return 0;
  store->batch_failed = false;
  int rc = vg__store_begin(store);
  if (rc == 0)
    store->in_batch = true;
  return rc;
}

static void batch_abort(vg_store *store) {
  if (!store->in_batch)
    return;
  vg__store_rollback(store);
  agg_clear(&store->agg);
  store->in_batch = false;
  store->batch_failed = true;
}

void vg__store_abort_batch(vg_store *store) {
  batch_abort(store);
  store->batch_failed = false;
}

int vg_store_batch_commit(vg_store *store) {
  if (store->batch_failed) {
    store->batch_failed = false;
    return vg__store_error(store, VG_EIO,
                           "the batch was rolled back after an earlier "
                           "error; nothing of it was stored");
  }
  if (!store->in_batch)
    return 0;
  int rc = agg_log(store);
  if (rc == 0)
    rc = vg__store_commit(store);
  if (rc != 0) {
    vg__store_rollback(store);
    agg_clear(&store->agg);
  }
  store->in_batch = false;
  return rc;
}

/* ------------------------------------------------------------ hashing */

static void to_hex(const unsigned char *md, unsigned int mdlen, char hex[65]) {
  static const char digitset[] = "0123456789abcdef";
  if (mdlen != 32) {
    memset(hex, '0', 64);
    hex[64] = '\0';
    return;
  }
  for (unsigned i = 0; i < 32; i++) {
    hex[2 * i] = digitset[md[i] >> 4];
    hex[2 * i + 1] = digitset[md[i] & 15];
  }
  hex[64] = '\0';
}

void vg_store_sha256_hex(const void *data, size_t len, char hex[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL))
    mdlen = 0;
  to_hex(md, mdlen, hex);
}

static void sha256_with(EVP_MD_CTX *ctx, const EVP_MD *md_type,
                        const void *data, size_t len, char hex[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (!md_type || !ctx || !EVP_DigestInit_ex(ctx, md_type, NULL) ||
      !EVP_DigestUpdate(ctx, data, len) ||
      !EVP_DigestFinal_ex(ctx, md, &mdlen)) {
    vg_store_sha256_hex(data, len, hex);
    return;
  }
  to_hex(md, mdlen, hex);
}

void vg__store_sha256(vg_store *store, const void *data, size_t len,
                      char hex[65]) {
  sha256_with(store->mdctx, store->sha256, data, len, hex);
}

/* ---------------------------------------------------------------- ingest */

/* True when text is a JSON number, true or false, so it can stand bare. */
static bool bare_json(const char *text, size_t len) {
  if ((len == 4 && memcmp(text, "true", 4) == 0) ||
      (len == 5 && memcmp(text, "false", 5) == 0))
    return true;
  if (len == 0 || len > 64 ||
      (text[0] != '-' && (text[0] < '0' || text[0] > '9')))
    return false;
  char num[72];
  memcpy(num, text, len);
  num[len] = '\0';
  char *end;
  strtod(num, &end);
  return *end == '\0';
}

static int put_cstring(struct vg__sbuf *b, const char *s) {
  return s ? vg__sbuf_string(b, s, strlen(s)) : vg__sbuf_put(b, "null", 4);
}

/* The evidence of one hit as a JSON array into b: written directly, as
 * this runs for every stored hit. */
static int evidence_json(struct vg__sbuf *b, const struct vg_hit *hit) {
  char num[64];
  int rc = vg__sbuf_put(b, "[", 1);
  for (size_t i = 0; rc == 0 && i < hit->nevidence; i++) {
    const struct vg_evidence *ev = &hit->evidence[i];
    rc = vg__sbuf_put(b,
                      i ? ",{\"selection\":" : "{\"selection\":", i ? 14 : 13);
    if (rc == 0)
      rc = put_cstring(b, ev->selection);
    if (rc == 0)
      rc = vg__sbuf_put(b, ",\"field\":", 9);
    if (rc == 0)
      rc = put_cstring(b, ev->field);
    if (rc == 0)
      rc = vg__sbuf_put(b, ",\"value\":", 9);
    if (rc == 0 && !ev->value)
      rc = vg__sbuf_put(b, "null", 4);
    else if (rc == 0 && !ev->value_is_string &&
             bare_json(ev->value, ev->value_len))
      rc = vg__sbuf_put(b, ev->value, ev->value_len);
    else if (rc == 0)
      rc = vg__sbuf_string(b, ev->value, ev->value_len);
    if (rc == 0 && ev->span_start >= 0 && ev->span_end >= ev->span_start) {
      snprintf(num, sizeof num, ",\"span\":[%lld,%lld]",
               (long long)ev->span_start, (long long)ev->span_end);
      rc = vg__sbuf_put(b, num, strlen(num));
    } else if (rc == 0) {
      rc = vg__sbuf_put(b, ",\"span\":null", 12);
    }
    if (rc == 0 && ev->entry) {
      rc = vg__sbuf_put(b, ",\"entry\":", 9);
      if (rc == 0)
        rc = put_cstring(b, ev->entry);
      /* Four decimals, as the result line gives it (docs/rules.md). */
      int n = snprintf(num, sizeof num, ",\"similarity\":%.4f", ev->similarity);
      if (rc == 0)
        rc = vg__sbuf_put(b, num, (size_t)n);
    }
    if (rc == 0 && ev->related) {
      json_t *rel = json_loads(ev->related, JSON_DECODE_ANY, NULL);
      rc = vg__sbuf_put(b, ",\"related\":", 11);
      if (rc == 0)
        rc = rel ? vg__sbuf_json(b, rel, 0) : put_cstring(b, ev->related);
      json_decref(rel);
    }
    if (rc == 0)
      rc = vg__sbuf_put(b, "}", 1);
  }
  return rc ? rc : vg__sbuf_put(b, "]", 1);
}

/* The hits of a record as the JSON array of its `hits` column. */
static int hits_json(struct vg__sbuf *b, const struct vg_result *result) {
  int rc = vg__sbuf_put(b, "[", 1);
  for (size_t i = 0; rc == 0 && i < result->nhits; i++) {
    const struct vg_hit *hit = &result->hits[i];
    char num[32];
    rc = vg__sbuf_put(b, i ? ",{\"rule\":" : "{\"rule\":", i ? 9 : 8);
    if (rc == 0)
      rc = put_cstring(b, hit->rule_id);
    if (rc == 0)
      rc = vg__sbuf_put(b, ",\"title\":", 9);
    if (rc == 0)
      rc = put_cstring(b, hit->title ? hit->title : "");
    snprintf(num, sizeof num, ",\"score\":%d", hit->score);
    if (rc == 0)
      rc = vg__sbuf_put(b, num, strlen(num));
    if (rc == 0)
      rc = vg__sbuf_put(b, ",\"rule_digest\":", 15);
    if (rc == 0)
      rc = put_cstring(b, hit->digest ? hit->digest : "");
    if (rc == 0)
      rc = vg__sbuf_put(b, ",\"route\":", 9);
    if (rc == 0)
      rc = put_cstring(b, hit->route);
    if (rc == 0)
      rc = vg__sbuf_put(b, ",\"evidence\":", 12);
    if (rc == 0)
      rc = evidence_json(b, hit);
    if (rc == 0)
      rc = vg__sbuf_put(b, "}", 1);
  }
  return rc ? rc : vg__sbuf_put(b, "]", 1);
}

/* ------------------------------------------------------------ items */

/* Appends s[0..n) and a NUL to the item's text and returns its offset;
 * sets *failed when out of memory. */
static size_t item_put(struct vg__item *it, const char *s, size_t n,
                       bool *failed) {
  size_t at = it->text.len;
  if (vg__sbuf_reserve(&it->text, n + 1) != 0) {
    *failed = true;
    return VG__NO_TEXT;
  }
  if (n)
    memcpy(it->text.p + at, s, n);
  it->text.len = at + n + 1;
  it->text.p[at + n] = '\0';
  it->text.p[it->text.len] = '\0';
  return at;
}

/* Room for n + 1 elements of size in *arr. */
static bool item_grow(void **arr, size_t *cap, size_t n, size_t size) {
  if (n < *cap)
    return true;
  size_t ncap = *cap ? *cap * 2 : 16;
  void *p = realloc(*arr, ncap * size);
  if (!p)
    return false;
  *arr = p;
  *cap = ncap;
  return true;
}

void vg__item_free(struct vg__item *it) {
  if (!it)
    return;
  free(it->text.p);
  free(it->hits);
  free(it->values);
  free(it->related);
  memset(it, 0, sizeof *it);
}

/* The record's kind, score and hits (with their JSON and the related
 * records correlation evidence names), and with identity its source, id
 * and subject: a record that will be neither looked up nor stored (most
 * records) is only counted. */
static int item_begin(struct vg__item *it, const struct vg_result *res,
                      bool identity) {
  bool failed = false;
  it->text.len = 0;
  it->nhits = it->nvalues = it->nrelated = 0;
  it->has_content = it->has_raw = false;
  it->fair = VG__NO_TEXT;
  it->fair_len = 0;
  it->err[0] = '\0';
  it->kind = item_put(it, res->kind_name, strlen(res->kind_name), &failed);
  it->source = it->id = it->subject = VG__NO_TEXT;
  it->source_len = it->id_len = it->subject_len = 0;
  if (identity) {
    it->source = item_put(it, res->source, res->source_len, &failed);
    it->source_len = res->source_len;
    it->id = item_put(it, res->id, res->id_len, &failed);
    it->id_len = res->id_len;
    if (res->subject) {
      it->subject = item_put(it, res->subject, res->subject_len, &failed);
      it->subject_len = res->subject_len;
    }
  }
  it->score = res->score;
  it->observed_at = res->observed_at;
  it->opens_case = res->opens_case;
  for (size_t i = 0; !failed && i < res->nhits; i++) {
    const struct vg_hit *hit = &res->hits[i];
    if (!item_grow((void **)&it->hits, &it->cap_hits, it->nhits,
                   sizeof *it->hits)) {
      failed = true;
      break;
    }
    struct vg__item_hit *h = &it->hits[it->nhits++];
    h->rule = item_put(it, hit->rule_id, strlen(hit->rule_id), &failed);
    h->route = hit->route
                   ? item_put(it, hit->route, strlen(hit->route), &failed)
                   : VG__NO_TEXT;
    for (size_t e = 0; !failed && e < hit->nevidence; e++) {
      const char *related = hit->evidence[e].related;
      if (!related)
        continue;
      if (!item_grow((void **)&it->related, &it->cap_related, it->nrelated,
                     sizeof *it->related)) {
        failed = true;
        break;
      }
      it->related[it->nrelated++] =
          item_put(it, related, strlen(related), &failed);
    }
  }
  if (!failed) {
    it->hits_json = it->text.len;
    failed = hits_json(&it->text, res) != 0;
    it->hits_json_len = it->text.len - it->hits_json;
    item_put(it, "", 0, &failed); /* its NUL */
  }
  return failed ? VG_ENOMEM : 0;
}

static int item_add_value(struct vg__item *it, const char *field,
                          const char *value, size_t value_len) {
  bool failed = false;
  if (!item_grow((void **)&it->values, &it->cap_values, it->nvalues,
                 sizeof *it->values))
    return VG_ENOMEM;
  struct vg__item_value v = {item_put(it, field, strlen(field), &failed),
                             VG__NO_TEXT, 0};
  if (value) {
    v.value = item_put(it, value, value_len, &failed);
    v.value_len = value_len;
  }
  if (failed)
    return VG_ENOMEM;
  it->values[it->nvalues++] = v;
  return 0;
}

static void item_hash(vg_store *store, EVP_MD_CTX *ctx, struct vg__item *it) {
  sha256_with(ctx, store->sha256, it->text.p + it->content, it->content_len,
              it->sha256);
  it->has_content = true;
}

/* The content of a record given as read: its canonical JSON, without the
 * fields its kind drops, and the digest that identifies it. */
static int item_canonical(vg_store *store, struct vg__item *it) {
  const struct kind_cache *kc =
      it->kind_index < store->nkinds ? &store->kinds[it->kind_index] : NULL;
  if (!kc)
    return vg__store_error(store, VG_EINVAL, "record of an unknown kind");
  size_t at = it->text.len;
  /* Copied out first: the canonical text is appended to the buffer that
   * holds the record, which may move as it grows. */
  struct vg__sbuf *in = &store->canon_input;
  in->len = 0;
  if (vg__sbuf_put(in, it->text.p + it->raw, it->raw_len) != 0)
    return vg__store_error(store, VG_ENOMEM, "out of memory");
  int rc = vg__canonical_append(&it->text, &store->canon_scratch, in->p,
                                it->raw_len, kc->drop, kc->ndrop);
  bool failed = rc != 0;
  it->content = at;
  it->content_len = it->text.len - at;
  if (!failed)
    item_put(it, "", 0, &failed); /* its NUL */
  if (failed)
    return vg__store_error(store, rc ? rc : VG_ENOMEM,
                           "record %.*s: cannot be stored as canonical JSON",
                           (int)(it->id_len > 100 ? 100 : it->id_len),
                           item_str(it, it->id));
  item_hash(store, store->mdctx, it);
  return 0;
}

/* The protected values as a JSON object (the record's `fair` column, for
 * the fairness totals of decisions). */
static int item_fair(struct vg__item *it) {
  if (it->nvalues == 0)
    return 0;
  /* Written aside, then added: the values are read from the item's text,
   * which may move as it grows. */
  struct vg__sbuf b = {0};
  int rc = vg__sbuf_put(&b, "{", 1);
  for (size_t i = 0; rc == 0 && i < it->nvalues; i++) {
    const char *field = item_str(it, it->values[i].field);
    const char *value = item_str(it, it->values[i].value);
    if (i)
      rc = vg__sbuf_put(&b, ",", 1);
    if (rc == 0)
      rc = vg__sbuf_string(&b, field, strlen(field));
    if (rc == 0)
      rc = vg__sbuf_put(&b, ":", 1);
    if (rc == 0)
      rc = value ? vg__sbuf_string(
                       &b, value,
                       utf8_cut(value, it->values[i].value_len, FAIR_VALUE_MAX))
                 : vg__sbuf_put(&b, "null", 4);
  }
  if (rc == 0)
    rc = vg__sbuf_put(&b, "}", 1);
  bool failed = rc != 0;
  if (!failed) {
    it->fair = item_put(it, b.p, b.len, &failed);
    it->fair_len = b.len;
  }
  free(b.p);
  return failed ? VG_ENOMEM : 0;
}

static uint64_t identity_hash(const char *source, size_t source_len,
                              const char *id, size_t id_len) {
  uint64_t h = UINT64_C(1469598103934665603);
  for (size_t i = 0; i < source_len; i++)
    h = (h ^ (unsigned char)source[i]) * UINT64_C(1099511628211);
  h = (h ^ 0xff) * UINT64_C(1099511628211); /* no byte of UTF-8 is 0xff */
  for (size_t i = 0; i < id_len; i++)
    h = (h ^ (unsigned char)id[i]) * UINT64_C(1099511628211);
  return h;
}

/* Three probes derived from one 64-bit hash, all in one 512-bit block (a
 * cache line): a lookup costs one miss, not three, whatever the filter's
 * size. */
static uint64_t *seen_block(const vg_store *store, uint64_t h) {
  return store->seen + ((h ^ (h >> 32)) & store->seen_mask) * 8;
}

static unsigned seen_bit(uint64_t h, int k) {
  uint64_t g = h * UINT64_C(0x9E3779B97F4A7C15);
  return (unsigned)(g >> (55 - 9 * k)) & 511u;
}

static void seen_add(vg_store *store, uint64_t h) {
  uint64_t *block = seen_block(store, h);
  for (int k = 0; k < 3; k++) {
    unsigned bit = seen_bit(h, k);
    block[bit >> 6] |= UINT64_C(1) << (bit & 63);
  }
}

static bool seen_maybe(const vg_store *store, uint64_t h) {
  const uint64_t *block = seen_block(store, h);
  for (int k = 0; k < 3; k++) {
    unsigned bit = seen_bit(h, k);
    if (!(block[bit >> 6] >> (bit & 63) & 1))
      return false;
  }
  return true;
}

/* Loads every stored identity into the filter: 16 bits an identity (about
 * 0.2 % false positives with three probes), with room for a million more,
 * since a run adds to it. A false positive costs a record without hits its
 * canonical JSON and a lookup. */
static int seen_load(vg_store *store) {
  sqlite3_stmt *st = NULL;
  int64_t count = 0;
  if (sqlite3_prepare_v2(store->db, "SELECT count(*) FROM records", -1, &st,
                         NULL) != SQLITE_OK)
    return vg__store_fail(store, "counting records");
  if (sqlite3_step(st) == SQLITE_ROW)
    count = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  uint64_t bits = UINT64_C(1) << 24;
  while (bits < ((uint64_t)count + (UINT64_C(1) << 20)) * 16 &&
         bits < (UINT64_C(1) << 31))
    bits <<= 1;
  store->seen = calloc(bits / 64, sizeof *store->seen);
  if (!store->seen)
    return vg__store_error(store, VG_ENOMEM, "out of memory");
  store->seen_mask = bits / 512 - 1; /* blocks of 512 bits */
  if (sqlite3_prepare_v2(store->db, "SELECT source, record_id FROM records", -1,
                         &st, NULL) != SQLITE_OK)
    return vg__store_fail(store, "reading record identities");
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    seen_add(store, identity_hash((const char *)sqlite3_column_text(st, 0),
                                  (size_t)sqlite3_column_bytes(st, 0),
                                  (const char *)sqlite3_column_text(st, 1),
                                  (size_t)sqlite3_column_bytes(st, 1)));
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : vg__store_fail(store, "reading identities");
}

int vg__store_ready(vg_store *store, const vg_ruleset *rs) {
  int rc;
  if (store->rs != rs && (rc = vg_store_sync_fields(store, rs)) != 0)
    return rc;
  return store->seen ? 0 : seen_load(store);
}

int vg__item_prepare(vg_store *store, vg_eval *ev, const struct vg_result *res,
                     const char *json, size_t json_len, struct vg__item *it) {
  if (res->kind >= store->nkinds) {
    snprintf(it->err, sizeof it->err, "record of an unknown kind");
    return VG_EINVAL;
  }
  const struct kind_cache *kc = &store->kinds[res->kind];
  /* A record without hits is only a duplicate when its identity is
   * stored: the filter spares the JSON work for nearly all of them, and
   * a "maybe" is settled by the lookup when the item is applied. */
  uint64_t ident =
      identity_hash(res->source, res->source_len, res->id, res->id_len);
  bool content = res->nhits > 0 || seen_maybe(store, ident);
  int rc = item_begin(it, res, content);
  for (size_t i = 0; rc == 0 && i < kc->nprotected && i < 64; i++) {
    const char *value;
    size_t value_len;
    if (!vg_eval_field_text(ev, kc->protected_[i], &value, &value_len))
      value = NULL, value_len = 0;
    rc = item_add_value(it, kc->protected_[i], value, value_len);
  }
  if (rc == 0 && content) {
    bool failed = false;
    it->raw = item_put(it, json, json_len, &failed);
    it->raw_len = json_len;
    it->kind_index = res->kind;
    it->has_raw = true;
    if (failed)
      rc = VG_ENOMEM;
  }
  /* The protected values as stored with the record: only a record with
   * hits is stored. */
  if (rc == 0 && res->nhits > 0)
    rc = item_fair(it);
  if (rc != 0) {
    snprintf(it->err, sizeof it->err, "out of memory");
    return rc;
  }
  /* Added before it is stored: the filter may only err towards "maybe". */
  if (res->nhits > 0)
    seen_add(store, ident);
  return 0;
}

/* ---------------------------------------------------------------- apply */

/* Links case_id with the cases of the records a correlation hit names. */
static int link_related(vg_store *store, int64_t case_id,
                        const struct vg__item *it) {
  for (size_t r = 0; r < it->nrelated; r++) {
    json_t *rel =
        json_loads(item_str(it, it->related[r]), JSON_DECODE_ANY, NULL);
    size_t i;
    json_t *item;
    json_array_foreach(rel, i, item) {
      const char *id = NULL, *source = NULL;
      if (json_is_string(item)) {
        id = json_string_value(item);
      } else if (json_is_object(item)) {
        json_t *jid = json_object_get(item, "id");
        if (!jid)
          jid = json_object_get(item, "record_id");
        id = json_string_value(jid);
        source = json_string_value(json_object_get(item, "source"));
      }
      if (!id)
        continue;
      if (!source)
        source = "default"; /* a record without `source` (SPEC 1) */
      sqlite3_stmt *st = vg__store_stmt(store, ST_CASES_OF_RECORD);
      if (!st) {
        json_decref(rel);
        return VG_EIO;
      }
      vg__bind_text(st, 1, id, strlen(id));
      vg__bind_text(st, 2, source, strlen(source));
      int64_t others[16];
      size_t nothers = 0;
      while (sqlite3_step(st) == SQLITE_ROW && nothers < 16)
        others[nothers++] = sqlite3_column_int64(st, 0);
      sqlite3_reset(st);
      for (size_t k = 0; k < nothers; k++) {
        if (others[k] == case_id)
          continue;
        for (int dir = 0; dir < 2; dir++) {
          sqlite3_stmt *ins = vg__store_stmt(store, ST_INSERT_LINK);
          if (!ins) {
            json_decref(rel);
            return VG_EIO;
          }
          sqlite3_bind_int64(ins, 1, dir ? others[k] : case_id);
          sqlite3_bind_int64(ins, 2, dir ? case_id : others[k]);
          int rc = vg__store_exec(store, ins, "linking cases");
          if (rc) {
            json_decref(rel);
            return rc;
          }
        }
      }
    }
    json_decref(rel);
  }
  return 0;
}

/* Opens a case for the record or joins the open case of its subject,
 * with its event; sets out->case_id. The record is stored after, with its
 * case, and then the case gains its rules and routes (case_details). */
static int open_or_join(vg_store *store, const struct vg__item *it,
                        struct vg_ingest_outcome *out) {
  int64_t now = vg__store_now(store), case_id = 0;
  const char *kind = item_str(it, it->kind);
  sqlite3_stmt *st;
  int rc;
  if (it->subject != VG__NO_TEXT) {
    if (!(st = vg__store_stmt(store, ST_OPEN_CASE_FOR)))
      return VG_EIO;
    vg__bind_text(st, 1, kind, strlen(kind));
    vg__bind_text(st, 2, item_str(it, it->subject), it->subject_len);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
      case_id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
      return vg__store_fail(store, "finding the subject's case");
  }
  char note[200];
  snprintf(note, sizeof note, "record %.*s/%.*s, score %d",
           (int)(it->source_len > 60 ? 60 : it->source_len),
           item_str(it, it->source), (int)(it->id_len > 60 ? 60 : it->id_len),
           item_str(it, it->id), it->score);
  if (case_id) {
    sqlite3_stmt *cur = vg__store_stmt(store, ST_CASE_SCORE);
    if (!cur)
      return VG_EIO;
    sqlite3_bind_int64(cur, 1, case_id);
    char status[16] = "new";
    int64_t score = 0;
    if ((rc = sqlite3_step(cur)) == SQLITE_ROW) {
      snprintf(status, sizeof status, "%s", sqlite3_column_text(cur, 0));
      score = sqlite3_column_int64(cur, 1);
    }
    sqlite3_reset(cur);
    if (rc != SQLITE_ROW)
      return vg__store_fail(store, "reading the subject's case");
    /* The score only ever rises; leaving it alone when it does not spares
     * the case's indexes and its queue copies an update each. */
    enum stmt_id id = it->score > score ? ST_JOIN_CASE : ST_TOUCH_CASE;
    if (!(st = vg__store_stmt(store, id)))
      return VG_EIO;
    sqlite3_bind_int64(st, 1, case_id);
    sqlite3_bind_int64(st, 2, now);
    if (id == ST_JOIN_CASE)
      sqlite3_bind_int(st, 3, it->score);
    if ((rc = vg__store_exec(store, st, "joining a case")) != 0)
      return rc;
    rc = vg__store_event(store, case_id, store->actor, "updated", status,
                         status, note, NULL);
  } else {
    if (!(st = vg__store_stmt(store, ST_INSERT_CASE)))
      return VG_EIO;
    vg__bind_text(st, 1, kind, strlen(kind));
    vg__bind_text(st, 2, item_str(it, it->subject), it->subject_len);
    sqlite3_bind_int(st, 3, it->score);
    sqlite3_bind_int64(st, 4, now);
    if ((rc = vg__store_exec(store, st, "opening a case")) != 0)
      return rc;
    case_id = sqlite3_last_insert_rowid(store->db);
    out->case_opened = true;
    rc = vg__store_event(store, case_id, store->actor, "opened", NULL, "new",
                         note, NULL);
  }
  if (rc == 0)
    out->case_id = case_id;
  return rc;
}

/* The case gains the rules and routes of the record's hits, and links to
 * the cases of the records its correlation hits name. */
static int case_details(vg_store *store, int64_t case_id,
                        const struct vg__item *it) {
  sqlite3_stmt *st = vg__store_stmt(store, ST_CASE_QUEUE_VALUES);
  if (!st)
    return VG_EIO;
  sqlite3_bind_int64(st, 1, case_id);
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    sqlite3_reset(st);
    return vg__store_fail(store, "reading a case");
  }
  int open = sqlite3_column_int(st, 0);
  int64_t score = sqlite3_column_int64(st, 1);
  int64_t created_at = sqlite3_column_int64(st, 2);
  sqlite3_reset(st);
  for (size_t i = 0; i < it->nhits; i++) {
    const char *rule = item_str(it, it->hits[i].rule);
    const char *route = item_str(it, it->hits[i].route);
    if (!(st = vg__store_stmt(store, ST_INSERT_CASE_RULE)))
      return VG_EIO;
    sqlite3_bind_int64(st, 1, case_id);
    vg__bind_text(st, 2, rule, strlen(rule));
    sqlite3_bind_int(st, 3, open);
    sqlite3_bind_int64(st, 4, score);
    sqlite3_bind_int64(st, 5, created_at);
    if ((rc = vg__store_exec(store, st, "adding a rule to a case")) != 0)
      return rc;
    if (!route)
      continue;
    /* Hits of one record mostly share a route: add each route once. */
    bool seen = false;
    for (size_t j = 0; j < i && !seen; j++) {
      const char *other = item_str(it, it->hits[j].route);
      seen = other && !strcmp(other, route);
    }
    if (seen)
      continue;
    if (!(st = vg__store_stmt(store, ST_INSERT_CASE_ROUTE)))
      return VG_EIO;
    sqlite3_bind_int64(st, 1, case_id);
    vg__bind_text(st, 2, route, strlen(route));
    sqlite3_bind_int(st, 3, open);
    sqlite3_bind_int64(st, 4, score);
    sqlite3_bind_int64(st, 5, created_at);
    if ((rc = vg__store_exec(store, st, "adding a route to a case")) != 0)
      return rc;
  }
  return link_related(store, case_id, it);
}

/* Stores a record with hits as version `version`, opening or joining its
 * case first when it reaches the threshold. */
static int store_record(vg_store *store, const struct vg__item *it,
                        int64_t version, struct vg_ingest_outcome *out) {
  int rc = it->opens_case ? open_or_join(store, it, out) : 0;
  if (rc)
    return rc;
  sqlite3_stmt *st = vg__store_stmt(store, ST_INSERT_RECORD);
  if (!st)
    return VG_EIO;
  const char *kind = item_str(it, it->kind);
  vg__bind_text(st, 1, item_str(it, it->source), it->source_len);
  vg__bind_text(st, 2, item_str(it, it->id), it->id_len);
  sqlite3_bind_int64(st, 3, version);
  vg__bind_text(st, 4, kind, strlen(kind));
  vg__bind_text(st, 5, item_str(it, it->content), it->content_len);
  vg__bind_text(st, 6, it->sha256, 64);
  sqlite3_bind_int64(st, 7, it->observed_at);
  sqlite3_bind_int(st, 8, it->score);
  vg__bind_text(st, 9, item_str(it, it->subject), it->subject_len);
  sqlite3_bind_int64(st, 10, vg__store_now(store));
  vg__bind_text(st, 11, item_str(it, it->fair), it->fair_len);
  if (out->case_id)
    sqlite3_bind_int64(st, 12, out->case_id);
  vg__bind_text(st, 13, item_str(it, it->hits_json), it->hits_json_len);
  if ((rc = vg__store_exec(store, st, "storing a record")) != 0)
    return rc;
  return it->opens_case ? case_details(store, out->case_id, it) : 0;
}

/* Looks up the record's identity: the next version number, and whether
 * this exact content is stored (then *case_id is its case, or 0). */
static int lookup(vg_store *store, const struct vg__item *it, int64_t *version,
                  bool *dup, int64_t *case_id) {
  sqlite3_stmt *st = vg__store_stmt(store, ST_LOOKUP);
  if (!st)
    return VG_EIO;
  vg__bind_text(st, 1, item_str(it, it->source), it->source_len);
  vg__bind_text(st, 2, item_str(it, it->id), it->id_len);
  vg__bind_text(st, 3, it->sha256, 64);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *version = sqlite3_column_int64(st, 0);
    *dup = sqlite3_column_int(st, 1) == 1;
    *case_id = *dup ? sqlite3_column_int64(st, 2) : 0;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_ROW)
    return vg__store_fail(store, "looking up a record");
  return 0;
}

int vg__item_apply(vg_store *store, struct vg__item *it,
                   struct vg_ingest_outcome *out) {
  struct vg_ingest_outcome o = {VG_INGEST_SCREENED, 0, false};
  bool own_batch = !store->in_batch;
  int rc = 0;
  if (it->has_raw && !it->has_content && (rc = item_canonical(store, it)) != 0)
    return rc;
  if (it->nhits > 0 && !it->has_content)
    return vg__store_error(store, VG_EINVAL,
                           "a record with hits needs its content");
  if (own_batch && (rc = vg_store_batch_begin(store)) != 0)
    return rc;
  if (it->has_content) {
    bool dup = false;
    int64_t version = 1;
    if ((rc = lookup(store, it, &version, &dup, &o.case_id)) != 0)
      goto out;
    if (dup) {
      o.status = VG_INGEST_DUPLICATE;
      goto done;
    }
    if (it->nhits > 0 && (rc = store_record(store, it, version, &o)) != 0)
      goto out;
  }
  if ((rc = agg_count(store, it)) != 0)
    goto out;
done:
  *out = o;
out:
  if (rc != 0) {
    /* A record half stored would be committed with the batch: the whole
     * batch goes instead, as after a crash, and its commit says so. */
    batch_abort(store);
  } else if (own_batch) {
    rc = vg_store_batch_commit(store);
  }
  return rc;
}

/* The store's own item for vg_store_ingest and vg_store_ingest_canonical. */
static struct vg__item *own_item(vg_store *store) {
  if (!store->item)
    store->item = calloc(1, sizeof *store->item);
  return store->item;
}

int vg_store_ingest_canonical(vg_store *store, const struct vg_result *result,
                              const char *canonical, size_t canonical_len,
                              const struct vg_store_value *values,
                              size_t nvalues, struct vg_ingest_outcome *out) {
  struct vg__item *it = own_item(store);
  int rc = it ? item_begin(it, result, true) : VG_ENOMEM;
  for (size_t i = 0; rc == 0 && i < nvalues; i++)
    rc = item_add_value(it, values[i].field, values[i].value,
                        values[i].value_len);
  if (rc == 0 && canonical) {
    bool failed = false;
    it->content = item_put(it, canonical, canonical_len, &failed);
    it->content_len = canonical_len;
    if (failed)
      rc = VG_ENOMEM;
    else
      item_hash(store, store->mdctx, it);
  }
  if (rc == 0 && result->nhits > 0 && store->seen)
    seen_add(store, identity_hash(result->source, result->source_len,
                                  result->id, result->id_len));
  if (rc == 0)
    rc = item_fair(it);
  if (rc != 0)
    return vg__store_error(store, rc, "out of memory");
  return vg__item_apply(store, it, out);
}

/* ------------------------------------------------ fields and the engine */

static void kinds_clear(vg_store *store) {
  for (size_t i = 0; i < store->nkinds; i++) {
    struct kind_cache *kc = &store->kinds[i];
    for (size_t j = 0; j < kc->ndrop; j++)
      free((char *)kc->drop[j]);
    for (size_t j = 0; j < kc->nprotected; j++)
      free((char *)kc->protected_[j]);
    free(kc->drop);
    free(kc->protected_);
  }
  free(store->kinds);
  store->kinds = NULL;
  store->nkinds = 0;
  store->rs = NULL;
}

/* protection: 0 not protected, 1 protected and reported per value, 2
 * protected but too fine-grained to count per value (dates, free text). */
static int set_field(vg_store *store, const char *kind, const char *path,
                     bool pii, int protection, bool subject) {
  sqlite3_stmt *st = vg__store_stmt(store, ST_UPSERT_FIELD);
  if (!st)
    return VG_EIO;
  vg__bind_text(st, 1, kind, strlen(kind));
  vg__bind_text(st, 2, path, strlen(path));
  sqlite3_bind_int(st, 3, pii);
  sqlite3_bind_int(st, 4, protection);
  sqlite3_bind_int(st, 5, subject);
  return vg__store_exec(store, st, "recording field flags");
}

int vg_store_set_field(vg_store *store, const char *kind, const char *path,
                       bool pii, bool protected_, bool subject) {
  return set_field(store, kind, path, pii, protected_ ? 1 : 0, subject);
}

int vg_store_sync_fields(vg_store *store, const vg_ruleset *rs) {
  kinds_clear(store);
  size_t nkinds = vg_ruleset_kind_count(rs);
  store->kinds = calloc(nkinds ? nkinds : 1, sizeof *store->kinds);
  if (!store->kinds)
    return vg__store_error(store, VG_ENOMEM, "out of memory");
  store->nkinds = nkinds;
  bool own = !store->in_batch && sqlite3_get_autocommit(store->db);
  int rc = own ? vg__store_begin(store) : 0;
  for (size_t k = 0; rc == 0 && k < nkinds; k++) {
    struct kind_cache *kc = &store->kinds[k];
    const char *kind = vg_ruleset_kind_name(rs, k);
    const char *subject = vg_ruleset_kind_subject(rs, k);
    size_t nfields = vg_ruleset_field_count(rs, k);
    kc->drop = calloc(nfields ? nfields : 1, sizeof *kc->drop);
    kc->protected_ = calloc(nfields ? nfields : 1, sizeof *kc->protected_);
    if (!kc->drop || !kc->protected_) {
      rc = vg__store_error(store, VG_ENOMEM, "out of memory");
      break;
    }
    for (size_t f = 0; rc == 0 && f < nfields; f++) {
      struct vg_field_info fi;
      vg_ruleset_field_info(rs, k, f, &fi);
      /* Copies: the cache may outlive a ruleset replaced on reload. */
      if (fi.drop && !(kc->drop[kc->ndrop++] = strdup(fi.path)))
        rc = vg__store_error(store, VG_ENOMEM, "out of memory");
      /* A count per birth date (or per free text) would be a count per
       * person: such fields are left out of the fairness totals; report
       * by a coarser field derived from them (an age). */
      bool fine = fi.type == VG_TYPE_DATE || fi.type == VG_TYPE_DATETIME ||
                  fi.type == VG_TYPE_TEXT;
      if (fi.protected_ && !fine &&
          !(kc->protected_[kc->nprotected++] = strdup(fi.path)))
        rc = vg__store_error(store, VG_ENOMEM, "out of memory");
      bool is_subject = subject && strcmp(subject, fi.path) == 0;
      if (rc == 0 && (fi.pii || fi.protected_ || is_subject))
        rc = set_field(store, kind, fi.path, fi.pii,
                       fi.protected_ ? (fine ? 2 : 1) : 0, is_subject);
    }
  }
  if (own) {
    if (rc == 0)
      rc = vg__store_commit(store);
    if (rc != 0)
      vg__store_rollback(store);
  }
  if (rc == 0)
    store->rs = rs;
  else
    kinds_clear(store);
  return rc;
}

int vg_store_ingest(vg_store *store, const vg_ruleset *rs, vg_eval *ev,
                    const struct vg_result *result, const char *json,
                    size_t json_len, struct vg_ingest_outcome *out) {
  int rc = vg__store_ready(store, rs);
  if (rc != 0)
    return rc;
  struct vg__item *it = own_item(store);
  if (!it)
    return vg__store_error(store, VG_ENOMEM, "out of memory");
  if ((rc = vg__item_prepare(store, ev, result, json, json_len, it)) != 0)
    return vg__store_error(store, rc, "%s", it->err);
  return vg__item_apply(store, it, out);
}

/* --------------------------------------------------------------- rejects */

int vg_store_add_reject(vg_store *store, const char *source, long line,
                        const char *where, const char *reason, const char *raw,
                        size_t raw_len, bool is_warning) {
  if (raw_len > 4096)
    raw_len = 4096;
  if (!source)
    source = "-";
  /* The same input rejected again (a rerun of the same file) is kept
   * once: (source, line, digest of reason and input) identifies it. */
  char digest[65];
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
      !EVP_DigestUpdate(ctx, reason ? reason : "",
                        reason ? strlen(reason) : 0) ||
      !EVP_DigestUpdate(ctx, "\n", 1) ||
      !EVP_DigestUpdate(ctx, raw ? raw : "", raw ? raw_len : 0) ||
      !EVP_DigestFinal_ex(ctx, md, &mdlen)) {
    EVP_MD_CTX_free(ctx);
    return vg__store_error(store, VG_ENOMEM, "cannot hash a reject");
  }
  EVP_MD_CTX_free(ctx);
  for (unsigned i = 0; i < 32; i++)
    snprintf(digest + 2 * i, 3, "%02x", md[i]);

  bool own_batch = !store->in_batch;
  int rc = own_batch ? vg_store_batch_begin(store) : 0;
  if (rc)
    return rc;
  sqlite3_stmt *st = vg__store_stmt(store, ST_INSERT_REJECT);
  if (!st) {
    rc = VG_EIO;
  } else {
    vg__bind_text(st, 1, source, strlen(source));
    sqlite3_bind_int64(st, 2, line);
    vg__bind_text(st, 3, where ? where : "", where ? strlen(where) : 0);
    vg__bind_text(st, 4, reason ? reason : "", reason ? strlen(reason) : 0);
    sqlite3_bind_blob64(st, 5, raw ? raw : "", raw ? raw_len : 0,
                        SQLITE_STATIC);
    sqlite3_bind_int(st, 6, is_warning);
    vg__bind_text(st, 7, digest, 64);
    sqlite3_bind_int64(st, 8, vg__store_now(store));
    rc = vg__store_exec(store, st, "storing a reject");
  }
  if (own_batch) {
    int crc = vg_store_batch_commit(store);
    if (rc == 0)
      rc = crc;
  }
  return rc;
}
