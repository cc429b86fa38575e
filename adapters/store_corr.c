/* store_corr.c - durable correlation state (SPEC 2.5) in the store's
 * database: one row per (rule, key, record), holding only the key, kind,
 * record identity, observation time and counted value. Writes join the
 * store's open batch, so state and cases commit together. */
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

struct store_corr {
  struct vg_corr_state base;
  vg_store *store;
  sqlite3_stmt *put, *scan, *evict;
  bool writable;
  bool reading; /* a read transaction held for the state's lifetime */
};

/* One B-tree only. The primary key serves the window scans: a key holds
 * few entries, so reading all of a key's and filtering by time beats
 * keeping another index up to date on every put. Eviction reads the whole
 * table, so callers run it rarely (the end of a run, every so many
 * batches). */
static const char corr_schema[] =
    "CREATE TABLE IF NOT EXISTS corr_state ("
    " rule TEXT NOT NULL, key TEXT NOT NULL, source TEXT NOT NULL,"
    " record_id TEXT NOT NULL, kind TEXT NOT NULL,"
    " observed_at INTEGER NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (rule, key, source, record_id)) WITHOUT ROWID;";

/* The connection's mutex is held for a whole operation: a store writer
 * (store_writer.c) may use the connection from its own thread meanwhile,
 * and must see neither a scan half done nor this side's error message. */
static sqlite3_mutex *lock_db(const struct store_corr *c) {
  sqlite3_mutex *m = sqlite3_db_mutex(c->store->db);
  sqlite3_mutex_enter(m);
  return m;
}

static int corr_put_locked(struct store_corr *c, const char *rule,
                           const char *key, size_t key_len,
                           const struct vg_corr_entry *e) {
  sqlite3_stmt *st = c->put;
  sqlite3_reset(st);
  sqlite3_bind_text(st, 1, rule, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, key, (int)key_len, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, e->source, (int)e->source_len, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, e->id, (int)e->id_len, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, e->kind, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 6, e->time);
  sqlite3_bind_text(st, 7, e->value ? e->value : "", (int)e->value_len,
                    SQLITE_STATIC);
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? VG_OK
                           : vg__store_fail(c->store, "correlation state");
}

static int corr_put(struct vg_corr_state *self, const char *rule,
                    const char *key, size_t key_len,
                    const struct vg_corr_entry *e) {
  struct store_corr *c = (struct store_corr *)self;
  if (!c->writable)
    return VG_EINVAL;
  sqlite3_mutex *m = lock_db(c);
  int rc = corr_put_locked(c, rule, key, key_len, e);
  sqlite3_mutex_leave(m);
  return rc;
}

static int corr_scan_locked(struct store_corr *c, const char *rule,
                            const char *key, size_t key_len, int64_t from,
                            int64_t to, vg_corr_visit visit, void *arg) {
  sqlite3_stmt *st = c->scan;
  sqlite3_reset(st);
  sqlite3_bind_text(st, 1, rule, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, key, (int)key_len, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, from);
  sqlite3_bind_int64(st, 4, to);
  int rc, out = VG_OK;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct vg_corr_entry e = {.source =
                                  (const char *)sqlite3_column_text(st, 0),
                              .source_len = (size_t)sqlite3_column_bytes(st, 0),
                              .id = (const char *)sqlite3_column_text(st, 1),
                              .id_len = (size_t)sqlite3_column_bytes(st, 1),
                              .kind = (const char *)sqlite3_column_text(st, 2),
                              .time = sqlite3_column_int64(st, 3),
                              .value = (const char *)sqlite3_column_text(st, 4),
                              .value_len = (size_t)sqlite3_column_bytes(st, 4)};
    if (!e.source || !e.id || !e.kind || !e.value) {
      out = VG_ENOMEM;
      break;
    }
    if ((out = visit(&e, arg)) != 0)
      break;
  }
  if (out == VG_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    out = vg__store_fail(c->store, "correlation state");
  sqlite3_reset(st);
  return out;
}

static int corr_scan(struct vg_corr_state *self, const char *rule,
                     const char *key, size_t key_len, int64_t from, int64_t to,
                     vg_corr_visit visit, void *arg) {
  struct store_corr *c = (struct store_corr *)self;
  if (!c->scan)
    return VG_OK; /* a database without state: nothing seen yet */
  sqlite3_mutex *m = lock_db(c);
  int rc = corr_scan_locked(c, rule, key, key_len, from, to, visit, arg);
  sqlite3_mutex_leave(m);
  return rc;
}

static int corr_evict(struct vg_corr_state *self, int64_t before) {
  struct store_corr *c = (struct store_corr *)self;
  if (!c->writable)
    return VG_OK;
  sqlite3_mutex *m = lock_db(c);
  sqlite3_reset(c->evict);
  sqlite3_bind_int64(c->evict, 1, before);
  int rc = sqlite3_step(c->evict);
  sqlite3_reset(c->evict);
  rc = rc == SQLITE_DONE ? VG_OK
                         : vg__store_fail(c->store, "correlation eviction");
  sqlite3_mutex_leave(m);
  return rc;
}

static void corr_free(struct vg_corr_state *self) {
  struct store_corr *c = (struct store_corr *)self;
  if (!c)
    return;
  sqlite3_finalize(c->put);
  sqlite3_finalize(c->scan);
  sqlite3_finalize(c->evict);
  if (c->reading)
    sqlite3_exec(c->store->db, "ROLLBACK", NULL, NULL, NULL);
  free(c);
}

static int prepare(vg_store *store, const char *sql, sqlite3_stmt **st) {
  return sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
                            NULL) == SQLITE_OK
             ? VG_OK
             : vg__store_fail(store, "correlation state");
}

int vg_store_corr_state(vg_store *store, bool writable,
                        struct vg_corr_state **out) {
  struct store_corr *c = calloc(1, sizeof *c);
  if (!c)
    return VG_ENOMEM;
  c->store = store;
  c->writable = writable;
  c->base.put = corr_put;
  c->base.scan = corr_scan;
  c->base.evict = corr_evict;
  c->base.free = corr_free;
  int rc = VG_OK;
  if (writable) {
    char *err = NULL;
    if (sqlite3_exec(store->db, corr_schema, NULL, NULL, &err) != SQLITE_OK) {
      rc = vg__store_error(store, VG_EIO, "correlation state: %s",
                           err ? err : "cannot create");
      sqlite3_free(err);
      goto fail;
    }
    if ((rc = prepare(store,
                      "INSERT OR REPLACE INTO corr_state (rule, key, source,"
                      " record_id, kind, observed_at, value)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                      &c->put)) != VG_OK ||
        (rc = prepare(store, "DELETE FROM corr_state WHERE observed_at < ?1",
                      &c->evict)) != VG_OK)
      goto fail;
  }
  /* A read-only database that never held state has no table: reads then
   * see nothing. */
  if (sqlite3_prepare_v3(store->db,
                         "SELECT source, record_id, kind, observed_at, value"
                         " FROM corr_state WHERE rule = ?1 AND key = ?2"
                         " AND observed_at BETWEEN ?3 AND ?4",
                         -1, SQLITE_PREPARE_PERSISTENT, &c->scan,
                         NULL) != SQLITE_OK) {
    if (writable) {
      rc = vg__store_fail(store, "correlation state");
      goto fail;
    }
    c->scan = NULL;
  }
  /* Read only: one transaction for the whole run gives a consistent
   * snapshot and spares a lock and an unlock per scan. */
  if (!writable && c->scan &&
      sqlite3_exec(store->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK)
    c->reading = true;
  *out = &c->base;
  return VG_OK;
fail:
  corr_free(&c->base);
  return rc;
}
