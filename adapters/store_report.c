/* store_report.c - what the store tells about itself: rule and kind
 * statistics, the fairness report, the rejects, and retention (purge). */
#include "store_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *ratio(int64_t num, int64_t den) {
  return den > 0 ? json_real((double)num / (double)den) : json_null();
}

int vg_store_stats(vg_store *store, json_t **out) {
  json_t *o = json_pack("{s:[],s:[]}", "rules", "kinds");
  if (!o)
    return vg__store_error(store, VG_ENOMEM, "out of memory");
  json_t *rules = json_object_get(o, "rules"),
         *kinds = json_object_get(o, "kinds");
  int rc = vg__store_fold_totals(store), step;
  if (rc != 0) {
    json_decref(o);
    return rc;
  }
  if (sqlite3_exec(store->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
    json_decref(o);
    return vg__store_fail(store, "reading statistics");
  }
  sqlite3_stmt *st = vg__store_stmt(store, ST_STATS_RULES);
  if (!st) {
    rc = VG_EIO;
    goto out;
  }
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t conf = sqlite3_column_int64(st, 3),
            dis = sqlite3_column_int64(st, 4);
    json_t *r = json_pack(
        "{s:o,s:I,s:I,s:I,s:I,s:o}", "rule", vg__col_json_string(st, 0), "hits",
        (json_int_t)sqlite3_column_int64(st, 1), "cases",
        (json_int_t)sqlite3_column_int64(st, 2), "confirmed", (json_int_t)conf,
        "dismissed", (json_int_t)dis, "precision", ratio(conf, conf + dis));
    if (!r || json_array_append_new(rules, r) != 0) {
      rc = vg__store_error(store, VG_ENOMEM, "out of memory");
      break;
    }
  }
  if (rc == 0 && step != SQLITE_DONE)
    rc = vg__store_fail(store, "reading rule statistics");
  sqlite3_reset(st);
  if (rc)
    goto out;
  if (!(st = vg__store_stmt(store, ST_STATS_KINDS))) {
    rc = VG_EIO;
    goto out;
  }
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    json_t *k = json_pack("{s:o,s:I,s:I}", "kind", vg__col_json_string(st, 0),
                          "screened", (json_int_t)sqlite3_column_int64(st, 1),
                          "flagged", (json_int_t)sqlite3_column_int64(st, 2));
    if (!k || json_array_append_new(kinds, k) != 0) {
      rc = vg__store_error(store, VG_ENOMEM, "out of memory");
      break;
    }
  }
  if (rc == 0 && step != SQLITE_DONE)
    rc = vg__store_fail(store, "reading kind statistics");
  sqlite3_reset(st);
out:
  sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL);
  if (rc) {
    json_decref(o);
    return rc;
  }
  *out = o;
  return 0;
}

/* ------------------------------------------------------------ fairness */

struct counts {
  int64_t records, flagged, confirmed, dismissed;
};

static json_t *counts_json(const struct counts *c) {
  return json_pack("{s:I,s:I,s:o,s:I,s:I,s:o}", "records",
                   (json_int_t)c->records, "flagged", (json_int_t)c->flagged,
                   "flag_rate", ratio(c->flagged, c->records), "confirmed",
                   (json_int_t)c->confirmed, "dismissed",
                   (json_int_t)c->dismissed, "confirmation_rate",
                   ratio(c->confirmed, c->confirmed + c->dismissed));
}

/* A value's rate divided by the whole's: 1 is parity. */
static json_t *against(const json_t *value, const json_t *all,
                       const char *key) {
  json_t *v = json_object_get(value, key), *a = json_object_get(all, key);
  if (!json_is_number(v) || !json_is_number(a) || json_number_value(a) == 0)
    return json_null();
  return json_real(json_number_value(v) / json_number_value(a));
}

static int finish_kind(json_t *kind, const struct counts *all) {
  json_t *a = counts_json(all);
  if (!a)
    return VG_ENOMEM;
  json_object_set_new(kind, "all", a);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(kind, "values"), i, v) {
    json_object_set_new(v, "flag_rate_vs_all", against(v, a, "flag_rate"));
    json_object_set_new(v, "confirmation_rate_vs_all",
                        against(v, a, "confirmation_rate"));
  }
  return 0;
}

/* Lists the reportable protected fields into list; *found: 1 when field
 * is one, 2 when it is protected but not counted per value, else 0. */
static int protected_fields(vg_store *store, const char *field, int *found,
                            char *list, size_t listlen) {
  sqlite3_stmt *st = vg__store_stmt(store, ST_PROTECTED_FIELDS);
  if (!st)
    return VG_EIO;
  size_t used = 0;
  int step;
  *found = 0;
  list[0] = '\0';
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    const char *path = (const char *)sqlite3_column_text(st, 0);
    int level = sqlite3_column_int(st, 1);
    if (strcmp(path, field) == 0)
      *found = level;
    if (level != 1)
      continue;
    int n =
        snprintf(list + used, listlen - used, "%s%s", used ? ", " : "", path);
    if (n > 0 && (size_t)n < listlen - used)
      used += (size_t)n;
  }
  int rc = step == SQLITE_DONE ? 0 : vg__store_fail(store, "reading fields");
  sqlite3_reset(st);
  return rc;
}

int vg_store_fairness(vg_store *store, const char *field, json_t **out) {
  char list[1024];
  int found;
  int rc = protected_fields(store, field, &found, list, sizeof list);
  if (rc)
    return rc;
  if (found == 2)
    return vg__store_error(store, VG_EINVAL,
                           "'%s' is protected but a date or free text: a "
                           "count per value would be a count per person, so "
                           "none is kept; report by a coarser field derived "
                           "from it (%s)",
                           field, list[0] ? list : "none recorded yet");
  if (found != 1)
    return vg__store_error(store, VG_EINVAL,
                           "'%s' is not a protected field of any screened "
                           "kind; the fairness report is by protected fields "
                           "only (%s)",
                           field, list[0] ? list : "none recorded yet");
  if ((rc = vg__store_fold_totals(store)) != 0)
    return rc;
  json_t *o = json_pack("{s:s,s:[]}", "field", field, "kinds");
  if (!o)
    return vg__store_error(store, VG_ENOMEM, "out of memory");
  json_t *kinds = json_object_get(o, "kinds"), *kind = NULL;
  struct counts all = {0};
  sqlite3_stmt *st = vg__store_stmt(store, ST_FAIR_FIELD);
  if (!st) {
    json_decref(o);
    return VG_EIO;
  }
  vg__bind_text(st, 1, field, strlen(field));
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    const char *k = (const char *)sqlite3_column_text(st, 0);
    if (!kind || strcmp(json_string_value(json_object_get(kind, "kind")), k)) {
      if (kind && (rc = finish_kind(kind, &all)) != 0)
        break;
      kind = json_pack("{s:s,s:[]}", "kind", k, "values");
      if (!kind || json_array_append_new(kinds, kind) != 0) {
        rc = VG_ENOMEM;
        break;
      }
      memset(&all, 0, sizeof all);
    }
    struct counts c = {sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4),
                       sqlite3_column_int64(st, 5),
                       sqlite3_column_int64(st, 6)};
    all.records += c.records;
    all.flagged += c.flagged;
    all.confirmed += c.confirmed;
    all.dismissed += c.dismissed;
    json_t *v = counts_json(&c);
    if (!v) {
      rc = VG_ENOMEM;
      break;
    }
    json_object_set_new(v, "value",
                        sqlite3_column_int(st, 1) ? vg__col_json_string(st, 2)
                                                  : json_null());
    json_array_append_new(json_object_get(kind, "values"), v);
  }
  if (rc == 0 && step != SQLITE_DONE)
    rc = vg__store_fail(store, "reading the fairness totals");
  sqlite3_reset(st);
  if (rc == 0 && kind)
    rc = finish_kind(kind, &all);
  if (rc) {
    json_decref(o);
    return rc == VG_ENOMEM ? vg__store_error(store, rc, "out of memory") : rc;
  }
  *out = o;
  return 0;
}

/* ------------------------------------------------------------- rejects */

int vg_store_rejects(vg_store *store, const char *source, long limit,
                     json_t **out) {
  json_t *o = json_pack("{s:[]}", "rejects");
  if (!o)
    return vg__store_error(store, VG_ENOMEM, "out of memory");
  json_t *arr = json_object_get(o, "rejects");
  sqlite3_stmt *st = vg__store_stmt(store, ST_REJECTS);
  if (!st) {
    json_decref(o);
    return VG_EIO;
  }
  vg__bind_text(st, 1, source, source ? strlen(source) : 0);
  sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
  int step, rc = 0;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    const void *raw = sqlite3_column_blob(st, 6);
    int rawlen = sqlite3_column_bytes(st, 6);
    json_t *jraw = raw ? json_stringn(raw, (size_t)rawlen) : NULL;
    json_t *r = json_pack(
        "{s:o,s:I,s:o,s:o,s:b,s:o,s:o}", "source", vg__col_json_string(st, 0),
        "line", (json_int_t)sqlite3_column_int64(st, 1), "where",
        vg__col_json_string(st, 2), "reason", vg__col_json_string(st, 3),
        "warning", sqlite3_column_int(st, 4), "created_at",
        vg__col_json_time(st, 5), "raw", jraw ? jraw : json_null());
    if (!r || json_array_append_new(arr, r) != 0) {
      rc = vg__store_error(store, VG_ENOMEM, "out of memory");
      break;
    }
  }
  if (rc == 0 && step != SQLITE_DONE)
    rc = vg__store_fail(store, "reading the rejects");
  sqlite3_reset(st);
  if (rc) {
    json_decref(o);
    return rc;
  }
  *out = o;
  return 0;
}

/* --------------------------------------------------------------- purge */

int vg_store_purge(vg_store *store, int64_t before, const char *status,
                   const char *actor, int64_t *cases, int64_t *records) {
  if (status && strcmp(status, "confirmed") != 0 &&
      strcmp(status, "dismissed") != 0)
    return vg__store_error(store, VG_EINVAL,
                           "only decided cases can be purged: --status "
                           "confirmed or dismissed, not '%s'",
                           status);
  int64_t ncases = 0, nrecords = 0;
  int64_t *ids = NULL;
  char(*sts)[16] = NULL;
  size_t n = 0, cap = 0;
  int rc = vg__store_begin(store), step;
  if (rc)
    return rc;
  sqlite3_stmt *st = vg__store_stmt(store, ST_PURGE_SELECT);
  if (!st) {
    rc = VG_EIO;
    goto out;
  }
  sqlite3_bind_int64(st, 1, before);
  vg__bind_text(st, 2, status, status ? strlen(status) : 0);
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 64;
      int64_t *more = realloc(ids, ncap * sizeof *ids);
      if (more)
        ids = more;
      char(*more_st)[16] = more ? realloc(sts, ncap * sizeof *sts) : NULL;
      if (!more || !more_st) {
        rc = vg__store_error(store, VG_ENOMEM, "out of memory");
        break;
      }
      sts = more_st;
      cap = ncap;
    }
    ids[n] = sqlite3_column_int64(st, 0);
    snprintf(sts[n], sizeof sts[n], "%s", sqlite3_column_text(st, 1));
    n++;
  }
  if (rc == 0 && step != SQLITE_DONE)
    rc = vg__store_fail(store, "finding cases to purge");
  sqlite3_reset(st);
  char note[96], date[40];
  vg_store_time_format(before, date, sizeof date);
  snprintf(note, sizeof note, "retention: decided before %s", date);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (!(st = vg__store_stmt(store, ST_PURGE_COUNT_RECORDS))) {
      rc = VG_EIO;
      break;
    }
    sqlite3_bind_int64(st, 1, ids[i]);
    if (sqlite3_step(st) == SQLITE_ROW)
      nrecords += sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    /* The event stays after the case is gone: the audit keeps that it was
     * purged, and the chain is untouched. */
    rc = vg__store_event(store, ids[i], actor, "purged", sts[i], NULL, note,
                         NULL);
    if (rc == 0 && !(st = vg__store_stmt(store, ST_PURGE_CASE)))
      rc = VG_EIO;
    if (rc == 0) {
      sqlite3_bind_int64(st, 1, ids[i]);
      rc = vg__store_exec(store, st, "purging a case");
    }
    ncases += rc == 0;
  }
  if (rc == 0 && !status) {
    if (!(st = vg__store_stmt(store, ST_PURGE_LOOSE_RECORDS))) {
      rc = VG_EIO;
    } else {
      sqlite3_bind_int64(st, 1, before);
      rc = vg__store_exec(store, st, "purging records");
      nrecords += sqlite3_changes(store->db);
    }
    if (rc == 0 && !(st = vg__store_stmt(store, ST_PURGE_REJECTS)))
      rc = VG_EIO;
    if (rc == 0) {
      sqlite3_bind_int64(st, 1, before);
      rc = vg__store_exec(store, st, "purging rejects");
    }
  }
  if (rc == 0)
    rc = vg__store_commit(store);
out:
  if (rc)
    vg__store_rollback(store);
  free(ids);
  free(sts);
  if (rc == 0) {
    *cases = ncases;
    *records = nrecords;
  }
  return rc;
}
