/* store_audit.c - the audit chain: every change to a case (and every
 * showing of one) is an event, chained to the one before it with SHA-256,
 * and the check that walks the chain. */
#include "store_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The genesis "previous hash" of the first event. */
static const char zero_hash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct event {
  int64_t id, case_id, at;
  const char *actor, *action, *from, *to, *note, *reason, *prev;
};

static json_t *maybe_string(const char *s) {
  return s ? json_string(s) : json_null();
}

/* The hashed content of an event: its fields and the previous event's
 * hash, as JSON with sorted keys and no white space. The event's own id
 * is part of it, so moving an event breaks its hash. Returns the hex
 * digest in hash, or VG_EINVAL when a text field is not UTF-8. */
static int event_hash(vg_store *store, const struct event *e, char hash[65]) {
  json_t *o = json_object();
  if (!o)
    return VG_ENOMEM;
  json_t *vals[] = {json_integer(e->id),    json_integer(e->case_id),
                    maybe_string(e->actor), maybe_string(e->action),
                    maybe_string(e->from),  maybe_string(e->to),
                    maybe_string(e->note),  maybe_string(e->reason),
                    json_integer(e->at),    maybe_string(e->prev)};
  static const char *const keys[] = {"seq", "case", "actor",  "action", "from",
                                     "to",  "note", "reason", "at",     "prev"};
  int rc = 0;
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
    if (!vals[i]) {
      rc = VG_EINVAL;
      continue;
    }
    json_object_set_new(o, keys[i], vals[i]);
  }
  char *text = rc ? NULL : json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
  json_decref(o);
  if (!text)
    return rc ? rc : VG_ENOMEM;
  vg__store_sha256(store, text, strlen(text), hash);
  free(text);
  return 0;
}

int vg__store_event(vg_store *store, int64_t case_id, const char *actor,
                    const char *action, const char *from, const char *to,
                    const char *note, const char *reason) {
  /* Called inside a write transaction, so the last event cannot change
   * under us: the chain stays a line even with several writers. */
  sqlite3_stmt *st = vg__store_stmt(store, ST_LAST_EVENT);
  if (!st)
    return VG_EIO;
  struct event e = {0};
  char prev[65];
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    e.id = sqlite3_column_int64(st, 0) + 1;
    snprintf(prev, sizeof prev, "%s", sqlite3_column_text(st, 1));
  } else {
    e.id = 1;
    snprintf(prev, sizeof prev, "%s", zero_hash);
  }
  sqlite3_reset(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return vg__store_fail(store, "reading the audit chain");
  e.case_id = case_id;
  e.actor = actor;
  e.action = action;
  e.from = from;
  e.to = to;
  e.note = note;
  e.reason = reason;
  e.at = vg__store_now(store);
  e.prev = prev;
  char hash[65];
  if ((rc = event_hash(store, &e, hash)) != 0)
    return vg__store_error(store, rc, "the event's text is not UTF-8");
  if (!(st = vg__store_stmt(store, ST_INSERT_EVENT)))
    return VG_EIO;
  sqlite3_bind_int64(st, 1, e.id);
  sqlite3_bind_int64(st, 2, case_id);
  vg__bind_text(st, 3, actor, strlen(actor));
  vg__bind_text(st, 4, action, strlen(action));
  vg__bind_text(st, 5, from, from ? strlen(from) : 0);
  vg__bind_text(st, 6, to, to ? strlen(to) : 0);
  vg__bind_text(st, 7, note, note ? strlen(note) : 0);
  vg__bind_text(st, 8, reason, reason ? strlen(reason) : 0);
  sqlite3_bind_int64(st, 9, e.at);
  vg__bind_text(st, 10, prev, 64);
  vg__bind_text(st, 11, hash, 64);
  return vg__store_exec(store, st, "writing an audit event");
}

static const char *col_text(sqlite3_stmt *st, int col) {
  return (const char *)sqlite3_column_text(st, col);
}

static void broken(struct vg_audit_report *report, int64_t id, const char *fmt,
                   const char *detail) {
  report->ok = false;
  report->broken_event = id;
  snprintf(report->problem, sizeof report->problem, fmt, detail);
}

int vg_store_audit_verify(vg_store *store, struct vg_audit_report *report) {
  memset(report, 0, sizeof *report);
  report->ok = true;
  /* One read transaction: a consistent snapshot even while others write. */
  if (sqlite3_exec(store->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
    return vg__store_fail(store, "reading the audit chain");
  sqlite3_stmt *st = vg__store_stmt(store, ST_EVENTS_ALL);
  int rc = 0, step;
  char prev[65];
  snprintf(prev, sizeof prev, "%s", zero_hash);
  if (!st) {
    rc = VG_EIO;
    goto out;
  }
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    struct event e;
    e.id = sqlite3_column_int64(st, 0);
    e.case_id = sqlite3_column_int64(st, 1);
    e.actor = col_text(st, 2);
    e.action = col_text(st, 3);
    e.from = col_text(st, 4);
    e.to = col_text(st, 5);
    e.note = col_text(st, 6);
    e.reason = col_text(st, 7);
    e.at = sqlite3_column_int64(st, 8);
    e.prev = col_text(st, 9);
    const char *stored = col_text(st, 10);
    report->events++;
    if (!e.prev || strcmp(e.prev, prev) != 0) {
      broken(report, e.id,
             "its previous-event hash does not match the event before it "
             "%s: an event was deleted, moved or changed",
             report->events == 1 ? "(the chain's start)" : "in the chain");
      break;
    }
    char hash[65];
    if (event_hash(store, &e, hash) != 0 || !stored ||
        strcmp(hash, stored) != 0) {
      broken(report, e.id,
             "its content does not match its hash: the event was %s",
             "changed");
      break;
    }
    snprintf(prev, sizeof prev, "%s", stored);
    snprintf(report->head, sizeof report->head, "%s", stored);
  }
  if (report->ok && step != SQLITE_DONE) {
    rc = vg__store_fail(store, "reading the audit chain");
    goto out;
  }
  sqlite3_reset(st);
  if (!report->ok)
    goto out;
  /* A deleted last event leaves no gap in the chain; the case it changed
   * still shows the status that event set. */
  if (!(st = vg__store_stmt(store, ST_CASE_LAST_EVENTS))) {
    rc = VG_EIO;
    goto out;
  }
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    const char *status = col_text(st, 1), *last = col_text(st, 2);
    if (!last || strcmp(status, last) != 0) {
      char detail[200];
      snprintf(detail, sizeof detail,
               "case %lld is %s but its last event leaves it %s",
               (long long)sqlite3_column_int64(st, 0), status,
               last ? last : "without any event");
      broken(report, 0,
             "%s: an event was deleted or the case changed "
             "outside vigia",
             detail);
      break;
    }
  }
  if (report->ok && step != SQLITE_DONE)
    rc = vg__store_fail(store, "reading the cases");
  sqlite3_reset(st);
out:
  sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL);
  return rc;
}
