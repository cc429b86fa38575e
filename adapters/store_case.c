/* store_case.c - cases: the queue query, a case with its records, hits,
 * links and history, and the lifecycle of SPEC 4 (claim, release, decide,
 * note, reopen) with four eyes on escalated cases. */
#include "store_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const statuses[] = {"new", "in_review", "escalated",
                                       "confirmed", "dismissed"};

bool vg_case_status_valid(const char *status) {
  for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++)
    if (strcmp(status, statuses[i]) == 0)
      return true;
  return false;
}

bool vg_dismiss_reason_valid(const char *reason) {
  static const char *const reasons[] = {
      "false_positive", "insufficient_information", "duplicate", "other"};
  for (size_t i = 0; reason && i < sizeof reasons / sizeof *reasons; i++)
    if (strcmp(reason, reasons[i]) == 0)
      return true;
  return false;
}

static const char *col_text(sqlite3_stmt *st, int col) {
  return (const char *)sqlite3_column_text(st, col);
}

static json_t *parse_array(sqlite3_stmt *st, int col) {
  const char *text = col_text(st, col);
  json_t *a = text ? json_loads(text, 0, NULL) : NULL;
  return json_is_array(a) ? a : (json_decref(a), json_array());
}

static const char redacted[] = "[redacted]";

/* One CASE object from a row of the queue's columns. */
static json_t *case_from_row(sqlite3_stmt *st, bool redact) {
  json_t *c = json_object();
  if (!c)
    return NULL;
  bool hide = redact && sqlite3_column_int(st, 11) == 1 &&
              sqlite3_column_type(st, 4) != SQLITE_NULL;
  json_object_set_new(c, "case_id", json_integer(sqlite3_column_int64(st, 0)));
  json_object_set_new(c, "status", vg__col_json_string(st, 1));
  json_object_set_new(c, "score", json_integer(sqlite3_column_int(st, 2)));
  json_object_set_new(c, "kind", vg__col_json_string(st, 3));
  json_object_set_new(
      c, "subject", hide ? json_string(redacted) : vg__col_json_string(st, 4));
  json_object_set_new(c, "routes", parse_array(st, 8));
  json_object_set_new(c, "assignee", vg__col_json_string(st, 5));
  json_object_set_new(c, "created_at", vg__col_json_time(st, 6));
  json_object_set_new(c, "updated_at", vg__col_json_time(st, 7));
  json_object_set_new(c, "record_ids", parse_array(st, 9));
  json_object_set_new(c, "rules", parse_array(st, 10));
  return c;
}

static void bind_filters(sqlite3_stmt *st, const struct vg_queue_filter *f) {
  vg__bind_text(st, 1, f->kind, f->kind ? strlen(f->kind) : 0);
  vg__bind_text(st, 2, f->assignee, f->assignee ? strlen(f->assignee) : 0);
  sqlite3_bind_int(st, 3, f->min_score);
  sqlite3_bind_int64(st, 4, f->since);
  vg__bind_text(st, 5, f->route, f->route ? strlen(f->route) : 0);
  vg__bind_text(st, 6, f->rule, f->rule ? strlen(f->rule) : 0);
  sqlite3_bind_int64(st, 7, f->limit > 0 ? f->limit : -1);
}

int vg_store_queue(vg_store *store, const struct vg_queue_filter *filter,
                   bool redact, json_t **out) {
  if (filter->status && !vg_case_status_valid(filter->status))
    return vg__store_error(store, VG_EINVAL,
                           "unknown status '%s' (new, in_review, escalated, "
                           "confirmed, dismissed)",
                           filter->status);
  /* The index that drives the query: the most selective filter given. */
  enum stmt_id which =
      filter->status
          ? strcmp(filter->status, "new") == 0 ? ST_QUEUE_NEW : ST_QUEUE_STATUS
      : filter->rule     ? ST_QUEUE_RULE
      : filter->route    ? ST_QUEUE_ROUTE
      : filter->assignee ? ST_QUEUE_ASSIGNEE
      : filter->kind     ? ST_QUEUE_KIND
                         : ST_QUEUE_OPEN;
  sqlite3_stmt *st = vg__store_stmt(store, which);
  if (!st)
    return VG_EIO;
  bind_filters(st, filter);
  if (filter->status)
    vg__bind_text(st, 8, filter->status, strlen(filter->status));
  json_t *cases = json_array();
  if (!cases)
    return vg__store_error(store, VG_ENOMEM, "out of memory");
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    json_t *c = case_from_row(st, redact);
    if (!c || json_array_append_new(cases, c) != 0) {
      sqlite3_reset(st);
      json_decref(cases);
      return vg__store_error(store, VG_ENOMEM, "out of memory");
    }
  }
  if (step != SQLITE_DONE) {
    int rc = vg__store_fail(store, "reading the queue");
    sqlite3_reset(st);
    json_decref(cases);
    return rc;
  }
  sqlite3_reset(st);
  *out = cases;
  return 0;
}

/* ------------------------------------------------------------ one case */

/* The pii field paths of kind (borrowed strings in a new JSON array). */
static json_t *pii_fields(vg_store *store, const char *kind) {
  json_t *paths = json_array();
  sqlite3_stmt *st = vg__store_stmt(store, ST_PII_FIELDS);
  if (!paths || !st)
    return paths;
  vg__bind_text(st, 1, kind, strlen(kind));
  while (sqlite3_step(st) == SQLITE_ROW)
    json_array_append_new(paths, vg__col_json_string(st, 0));
  sqlite3_reset(st);
  return paths;
}

static bool is_pii(const json_t *paths, const char *field) {
  size_t i;
  json_t *p;
  json_array_foreach(paths, i, p) {
    if (field && strcmp(json_string_value(p), field) == 0)
      return true;
  }
  return false;
}

/* Replaces the value at a dotted path of content with "[redacted]". */
static void redact_path(json_t *content, const char *path) {
  json_t *obj = content;
  const char *seg = path;
  for (;;) {
    const char *dot = strchr(seg, '.');
    size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
    if (!json_is_object(obj))
      return;
    if (!dot) {
      if (json_object_getn(obj, seg, len))
        json_object_setn_new(obj, seg, len, json_string(redacted));
      return;
    }
    obj = json_object_getn(obj, seg, len);
    seg = dot + 1;
  }
}

/* Appends the hits of a record (its `hits` column) to hits, naming the
 * record in each. */
static void add_hits(const char *text, const json_t *record, json_t *hits,
                     const json_t *pii) {
  json_t *list = text ? json_loads(text, 0, NULL) : NULL;
  size_t i;
  json_t *h;
  json_array_foreach(list, i, h) {
    json_t *out = json_pack("{s:O,s:O,s:O}", "record_id",
                            json_object_get(record, "record_id"), "source",
                            json_object_get(record, "source"), "version",
                            json_object_get(record, "version"));
    if (!out)
      break;
    json_object_update(out, h);
    json_t *evidence = json_object_get(out, "evidence");
    size_t j;
    json_t *e;
    json_array_foreach(evidence, j, e) {
      if (pii && is_pii(pii, json_string_value(json_object_get(e, "field"))))
        json_object_set_new(e, "value", json_string(redacted));
    }
    json_array_append_new(hits, out);
  }
  json_decref(list);
}

static int add_detail(vg_store *store, int64_t case_id, const char *kind,
                      bool redact, json_t *c) {
  json_t *records = json_array(), *hits = json_array(), *linked = json_array(),
         *events = json_array();
  json_t *pii = redact ? pii_fields(store, kind) : NULL;
  int rc = 0, step;
  json_object_set_new(c, "records", records);
  json_object_set_new(c, "hits", hits);
  json_object_set_new(c, "linked", linked);
  json_object_set_new(c, "events", events);
  if (!records || !hits || !linked || !events || (redact && !pii)) {
    rc = vg__store_error(store, VG_ENOMEM, "out of memory");
    goto out;
  }
  sqlite3_stmt *st = vg__store_stmt(store, ST_CASE_RECORDS);
  if (!st) {
    rc = VG_EIO;
    goto out;
  }
  sqlite3_bind_int64(st, 1, case_id);
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    json_t *r = json_object();
    if (!r)
      break;
    json_object_set_new(r, "record_id", vg__col_json_string(st, 1));
    json_object_set_new(r, "source", vg__col_json_string(st, 2));
    json_object_set_new(r, "version", json_integer(sqlite3_column_int(st, 3)));
    json_object_set_new(r, "kind", vg__col_json_string(st, 4));
    json_object_set_new(r, "observed_at", vg__col_json_time(st, 5));
    json_object_set_new(r, "score", json_integer(sqlite3_column_int(st, 6)));
    json_object_set_new(r, "content_sha256", vg__col_json_string(st, 7));
    json_t *content = json_loads(col_text(st, 8), JSON_ALLOW_NUL, NULL);
    if (pii) {
      size_t i;
      json_t *p;
      json_array_foreach(pii, i, p) redact_path(content, json_string_value(p));
    }
    json_object_set_new(r, "content", content ? content : json_null());
    json_object_set_new(r, "stored_at", vg__col_json_time(st, 9));
    json_array_append_new(records, r);
    add_hits(col_text(st, 10), r, hits, pii);
  }
  if (step != SQLITE_DONE) {
    rc = vg__store_fail(store, "reading a case's records");
    sqlite3_reset(st);
    goto out;
  }
  sqlite3_reset(st);

  if (!(st = vg__store_stmt(store, ST_CASE_LINKS))) {
    rc = VG_EIO;
    goto out;
  }
  sqlite3_bind_int64(st, 1, case_id);
  while ((step = sqlite3_step(st)) == SQLITE_ROW)
    json_array_append_new(linked, json_integer(sqlite3_column_int64(st, 0)));
  sqlite3_reset(st);

  if (!(st = vg__store_stmt(store, ST_CASE_EVENTS))) {
    rc = VG_EIO;
    goto out;
  }
  sqlite3_bind_int64(st, 1, case_id);
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    json_t *e = json_object();
    if (!e)
      break;
    json_object_set_new(e, "event_id",
                        json_integer(sqlite3_column_int64(st, 0)));
    json_object_set_new(e, "at", vg__col_json_time(st, 7));
    json_object_set_new(e, "actor", vg__col_json_string(st, 1));
    json_object_set_new(e, "action", vg__col_json_string(st, 2));
    json_object_set_new(e, "from", vg__col_json_string(st, 3));
    json_object_set_new(e, "to", vg__col_json_string(st, 4));
    json_object_set_new(e, "note", vg__col_json_string(st, 5));
    json_object_set_new(e, "reason", vg__col_json_string(st, 6));
    json_array_append_new(events, e);
  }
  if (step != SQLITE_DONE)
    rc = vg__store_fail(store, "reading a case's history");
  sqlite3_reset(st);
out:
  json_decref(pii);
  return rc;
}

int vg_store_case_get(vg_store *store, int64_t case_id, bool detail,
                      bool redact, json_t **out) {
  /* The queue's statement with its filters open and the status fixed
   * would need a status; a direct lookup by id reads the same columns. */
  static const char sql[] =
      "SELECT c.id, c.status, c.score, c.kind, c.subject, c.assignee, "
      "c.created_at, c.updated_at, "
      "(SELECT json_group_array(route) FROM case_routes WHERE case_id = "
      "c.id), (SELECT json_group_array(record_id) FROM (SELECT record_id "
      "FROM records WHERE case_id = c.id GROUP BY record_id ORDER BY "
      "min(id))), (SELECT json_group_array(rule) FROM case_rules WHERE "
      "case_id = c.id), (SELECT pii FROM fields f WHERE f.kind = c.kind AND "
      "f.subject = 1), c.escalated_by, c.reason, c.decided_at "
      "FROM cases c WHERE c.id = ?1";
  sqlite3_stmt *st = NULL;
  int rc = 0;
  if (sqlite3_prepare_v2(store->db, sql, -1, &st, NULL) != SQLITE_OK)
    return vg__store_fail(store, "reading a case");
  sqlite3_bind_int64(st, 1, case_id);
  int step = sqlite3_step(st);
  if (step == SQLITE_DONE) {
    rc = vg__store_error(store, VG_ENOTFOUND, "no case %lld",
                         (long long)case_id);
    goto out;
  }
  if (step != SQLITE_ROW) {
    rc = vg__store_fail(store, "reading a case");
    goto out;
  }
  json_t *c = case_from_row(st, redact);
  if (!c) {
    rc = vg__store_error(store, VG_ENOMEM, "out of memory");
    goto out;
  }
  json_object_set_new(c, "escalated_by", vg__col_json_string(st, 12));
  json_object_set_new(c, "reason", vg__col_json_string(st, 13));
  json_object_set_new(c, "decided_at", vg__col_json_time(st, 14));
  if (detail) {
    char kind[128];
    snprintf(kind, sizeof kind, "%s", col_text(st, 3));
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = add_detail(store, case_id, kind, redact, c)) != 0) {
      json_decref(c);
      goto out;
    }
  }
  *out = c;
out:
  sqlite3_finalize(st);
  return rc;
}

/* ----------------------------------------------------------- lifecycle */

struct case_row {
  char status[16];
  char *assignee, *escalated_by, *kind, *subject, *reason;
  int64_t decided_at; /* 0: not decided */
};

static void case_row_free(struct case_row *row) {
  free(row->reason);
  free(row->assignee);
  free(row->escalated_by);
  free(row->kind);
  free(row->subject);
}

static char *dup_col(sqlite3_stmt *st, int col) {
  const char *t = col_text(st, col);
  return t ? strdup(t) : NULL;
}

static int read_case(vg_store *store, int64_t case_id, struct case_row *row) {
  memset(row, 0, sizeof *row);
  sqlite3_stmt *st = vg__store_stmt(store, ST_CASE_ROW);
  if (!st)
    return VG_EIO;
  sqlite3_bind_int64(st, 1, case_id);
  int step = sqlite3_step(st), rc = 0;
  if (step == SQLITE_ROW) {
    snprintf(row->status, sizeof row->status, "%s", col_text(st, 0));
    row->assignee = dup_col(st, 1);
    row->escalated_by = dup_col(st, 2);
    row->kind = dup_col(st, 3);
    row->subject = dup_col(st, 4);
    row->reason = dup_col(st, 5);
    row->decided_at = sqlite3_column_int64(st, 6);
  } else if (step == SQLITE_DONE) {
    rc = vg__store_error(store, VG_ENOTFOUND, "no case %lld",
                         (long long)case_id);
  } else {
    rc = vg__store_fail(store, "reading a case");
  }
  sqlite3_reset(st);
  return rc;
}

int vg_store_case_show(vg_store *store, int64_t case_id, const char *actor,
                       bool redact, json_t **out) {
  struct case_row row;
  int rc = vg__store_begin(store);
  if (rc)
    return rc;
  if ((rc = read_case(store, case_id, &row)) == 0) {
    rc = vg__store_event(store, case_id, actor, "viewed", row.status,
                         row.status, NULL, NULL);
    case_row_free(&row);
  }
  if (rc == 0)
    rc = vg__store_commit(store);
  if (rc) {
    vg__store_rollback(store);
    return rc;
  }
  return vg_store_case_get(store, case_id, true, redact, out);
}

int vg__store_fair_decided(vg_store *store, int64_t case_id, const char *status,
                           int delta) {
  bool confirmed = strcmp(status, "confirmed") == 0;
  if (!confirmed && strcmp(status, "dismissed") != 0)
    return 0;
  /* Collect first, then update: the cached statements run one at a time. */
  json_t *all = json_array();
  sqlite3_stmt *st = vg__store_stmt(store, ST_CASE_VALUES);
  if (!all || !st) {
    json_decref(all);
    return all ? VG_EIO : vg__store_error(store, VG_ENOMEM, "out of memory");
  }
  sqlite3_bind_int64(st, 1, case_id);
  int rc = 0, step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    json_t *values = json_loads(col_text(st, 1), 0, NULL);
    json_t *item = json_pack("{s:o,s:o}", "kind", vg__col_json_string(st, 0),
                             "values", values ? values : json_object());
    if (!item || json_array_append_new(all, item) != 0) {
      rc = vg__store_error(store, VG_ENOMEM, "out of memory");
      break;
    }
  }
  if (rc == 0 && step != SQLITE_DONE)
    rc = vg__store_fail(store, "reading a case's values");
  sqlite3_reset(st);
  size_t i;
  json_t *item;
  json_array_foreach(all, i, item) {
    const char *kind = json_string_value(json_object_get(item, "kind"));
    const char *field;
    json_t *value;
    json_object_foreach(json_object_get(item, "values"), field, value) {
      if (rc != 0 || !kind)
        break;
      sqlite3_stmt *up = vg__store_stmt(store, ST_FAIR_DECIDED);
      if (!up) {
        rc = VG_EIO;
        break;
      }
      const char *text = json_is_string(value) ? json_string_value(value) : "";
      vg__bind_text(up, 1, kind, strlen(kind));
      vg__bind_text(up, 2, field, strlen(field));
      sqlite3_bind_int(up, 3, json_is_string(value));
      vg__bind_text(up, 4, text,
                    json_is_string(value) ? json_string_length(value) : 0);
      sqlite3_bind_int(up, 5, confirmed ? delta : 0);
      sqlite3_bind_int(up, 6, confirmed ? 0 : delta);
      rc = vg__store_exec(store, up, "updating fairness totals");
    }
  }
  json_decref(all);
  return rc;
}

static const char *const verbs[] = {"claim",   "release", "escalate", "confirm",
                                    "dismiss", "note",    "reopen"};
static const char *const past[] = {"claimed",   "released",  "escalated",
                                   "confirmed", "dismissed", "noted",
                                   "reopened"};

static bool same(const char *a, const char *b) {
  return a && b && strcmp(a, b) == 0;
}

/* Decides the transition. Returns 0 and fills the new state, or
 * VG_EREFUSED with the message naming the case's status. */
static int transition(vg_store *store, int64_t id, enum vg_case_action act,
                      const char *actor, const struct case_row *row,
                      const char **to, const char **assignee,
                      const char **escalated_by) {
  const char *s = row->status;
  long long cid = (long long)id;
  *to = s;
  *assignee = row->assignee;
  *escalated_by = row->escalated_by;
  switch (act) {
  case VG_ACT_CLAIM:
    if (strcmp(s, "new") != 0)
      return vg__store_error(store, VG_EREFUSED,
                             "case %lld is %s%s%s: only a new case can be "
                             "claimed",
                             cid, s, row->assignee ? ", assigned to " : "",
                             row->assignee ? row->assignee : "");
    *to = "in_review";
    *assignee = actor;
    return 0;
  case VG_ACT_RELEASE:
    if (strcmp(s, "in_review") != 0)
      return vg__store_error(store, VG_EREFUSED,
                             "case %lld is %s: only a case in review can be "
                             "released",
                             cid, s);
    if (!same(row->assignee, actor))
      return vg__store_error(store, VG_EREFUSED,
                             "case %lld is in_review, assigned to %s: only "
                             "the assignee can release it",
                             cid, row->assignee ? row->assignee : "nobody");
    *to = "new";
    *assignee = NULL;
    return 0;
  case VG_ACT_ESCALATE:
  case VG_ACT_CONFIRM:
  case VG_ACT_DISMISS:
    *to = act == VG_ACT_ESCALATE  ? "escalated"
          : act == VG_ACT_CONFIRM ? "confirmed"
                                  : "dismissed";
    if (strcmp(s, "in_review") == 0) {
      if (!same(row->assignee, actor))
        return vg__store_error(store, VG_EREFUSED,
                               "case %lld is in_review, assigned to %s: only "
                               "the assignee can %s it",
                               cid, row->assignee ? row->assignee : "nobody",
                               verbs[act]);
      if (act == VG_ACT_ESCALATE)
        *escalated_by = actor;
      return 0;
    }
    if (strcmp(s, "escalated") == 0 && act != VG_ACT_ESCALATE) {
      if (same(row->escalated_by, actor))
        return vg__store_error(store, VG_EREFUSED,
                               "case %lld is escalated by %s: four eyes, a "
                               "reviewer other than the one who escalated "
                               "must %s it",
                               cid, actor, verbs[act]);
      *assignee = actor;
      return 0;
    }
    if (strcmp(s, "escalated") == 0)
      return vg__store_error(store, VG_EREFUSED,
                             "case %lld is escalated: it can only be "
                             "confirmed or dismissed",
                             cid);
    return vg__store_error(
        store, VG_EREFUSED,
        "case %lld is %s: only a case in review%s can be "
        "%s",
        cid, s, act == VG_ACT_ESCALATE ? "" : " or escalated", past[act]);
  case VG_ACT_NOTE:
    return 0;
  case VG_ACT_REOPEN:
    if (strcmp(s, "confirmed") != 0 && strcmp(s, "dismissed") != 0)
      return vg__store_error(store, VG_EREFUSED,
                             "case %lld is %s: only a confirmed or dismissed "
                             "case can be reopened",
                             cid, s);
    *to = "in_review";
    *assignee = actor;
    *escalated_by = NULL;
    return 0;
  }
  return vg__store_error(store, VG_EINVAL, "unknown action");
}

/* Reopening must not give a subject a second open case. */
static int check_other_open(vg_store *store, int64_t id,
                            const struct case_row *row) {
  if (!row->subject)
    return 0;
  sqlite3_stmt *st = vg__store_stmt(store, ST_OTHER_OPEN_CASE);
  if (!st)
    return VG_EIO;
  vg__bind_text(st, 1, row->kind, strlen(row->kind));
  vg__bind_text(st, 2, row->subject, strlen(row->subject));
  sqlite3_bind_int64(st, 3, id);
  int step = sqlite3_step(st), rc = 0;
  if (step == SQLITE_ROW)
    rc = vg__store_error(store, VG_EREFUSED,
                         "case %lld is %s and its subject already has open "
                         "case %lld: work on that case instead",
                         (long long)id, row->status,
                         (long long)sqlite3_column_int64(st, 0));
  else if (step != SQLITE_DONE)
    rc = vg__store_fail(store, "looking for open cases");
  sqlite3_reset(st);
  return rc;
}

int vg_store_case_act(vg_store *store, int64_t case_id,
                      enum vg_case_action action, const char *actor,
                      const char *note, const char *reason) {
  if ((unsigned)action > VG_ACT_REOPEN)
    return vg__store_error(store, VG_EINVAL, "unknown action");
  bool needs_note = action != VG_ACT_CLAIM && action != VG_ACT_RELEASE;
  if (!actor || !*actor)
    return vg__store_error(store, VG_EINVAL, "%s needs an actor",
                           verbs[action]);
  if (needs_note && (!note || !*note))
    return vg__store_error(store, VG_EINVAL, "%s needs a note (--note TEXT)",
                           verbs[action]);
  if (action == VG_ACT_DISMISS && !reason)
    return vg__store_error(store, VG_EINVAL,
                           "dismiss needs --reason (false_positive, "
                           "insufficient_information, duplicate, other)");
  if (action == VG_ACT_DISMISS && !vg_dismiss_reason_valid(reason))
    return vg__store_error(store, VG_EINVAL,
                           "unknown dismiss reason '%s' (false_positive, "
                           "insufficient_information, duplicate, other)",
                           reason);
  if (action != VG_ACT_DISMISS)
    reason = NULL;

  struct case_row row;
  int rc = vg__store_begin(store);
  if (rc)
    return rc;
  if ((rc = read_case(store, case_id, &row)) != 0) {
    vg__store_rollback(store);
    return rc;
  }
  const char *to, *assignee, *escalated_by;
  rc = transition(store, case_id, action, actor, &row, &to, &assignee,
                  &escalated_by);
  if (rc == 0 && action == VG_ACT_REOPEN)
    rc = check_other_open(store, case_id, &row);
  int64_t now = vg__store_now(store);
  sqlite3_stmt *st = rc ? NULL : vg__store_stmt(store, ST_CASE_SET);
  if (rc == 0 && !st)
    rc = VG_EIO;
  if (rc == 0) {
    bool decided = strcmp(to, "confirmed") == 0 || strcmp(to, "dismissed") == 0;
    sqlite3_bind_int64(st, 1, case_id);
    vg__bind_text(st, 2, to, strlen(to));
    vg__bind_text(st, 3, assignee, assignee ? strlen(assignee) : 0);
    vg__bind_text(st, 4, escalated_by, escalated_by ? strlen(escalated_by) : 0);
    /* A note changes nothing but the time: reason and decision stay. */
    const char *keep_reason = action == VG_ACT_NOTE ? row.reason : reason;
    int64_t decided_at = action == VG_ACT_NOTE ? row.decided_at
                         : decided             ? now
                                               : 0;
    vg__bind_text(st, 5, keep_reason, keep_reason ? strlen(keep_reason) : 0);
    sqlite3_bind_int64(st, 6, now);
    if (decided_at)
      sqlite3_bind_int64(st, 7, decided_at);
    else
      sqlite3_bind_null(st, 7);
    rc = vg__store_exec(store, st, "updating a case");
  }
  if (rc == 0 && action == VG_ACT_REOPEN)
    rc = vg__store_fair_decided(store, case_id, row.status, -1);
  if (rc == 0 && (action == VG_ACT_CONFIRM || action == VG_ACT_DISMISS))
    rc = vg__store_fair_decided(store, case_id, to, +1);
  if (rc == 0)
    rc = vg__store_event(store, case_id, actor, past[action], row.status, to,
                         note, reason);
  if (rc == 0)
    rc = vg__store_commit(store);
  if (rc)
    vg__store_rollback(store);
  case_row_free(&row);
  return rc;
}
