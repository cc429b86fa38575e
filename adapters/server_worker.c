/* server_worker.c - the thread behind `vigia serve` that owns the ruleset,
 * the evaluator and the store: it screens the records of many requests, from
 * every connection, in one store transaction (group commit), answers a
 * screen request only once its transaction is committed, runs the review
 * queue's requests, announces opened cases, and swaps the rules on SIGHUP. */
#include "server_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "vg_error.h"

/* Records per transaction at most: a commit is cheap next to screening, but
 * the answers of a batch wait for it, so a long stream of requests is still
 * acknowledged every few milliseconds. */
#define MAX_BATCH_RECORDS 2048
/* Correlation state is trimmed every so many records, not every commit. */
#define EVICT_EVERY 4096

/* ----------------------------------------------------------------- log */

void vg__log(const char *fmt, ...) {
  char line[1024];
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  struct tm tm;
  gmtime_r(&now.tv_sec, &tm);
  int n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ serve: ", &tm);
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (m < 0)
    m = 0;
  size_t len = (size_t)n + (size_t)m;
  if (len > sizeof line - 2)
    len = sizeof line - 2;
  /* One line per event, even a long message cut short. */
  for (size_t i = (size_t)n; i < len; i++)
    if (line[i] == '\n' || line[i] == '\r')
      line[i] = ' ';
  line[len++] = '\n';
  ssize_t w = write(STDERR_FILENO, line, len);
  (void)w;
}

/* ------------------------------------------------------------- answers */

/* Appends text that may have been cut inside a UTF-8 sequence (a message
 * from a fixed-size buffer) as a JSON string: bytes that do not form UTF-8
 * become '?', so the answer is always valid JSON. */
static void put_text(struct vg_jsonw *w, const char *s) {
  size_t n = strlen(s);
  char *clean = malloc(n + 1);
  if (!clean) {
    w->failed = true;
    return;
  }
  size_t o = 0;
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    unsigned c = p[i];
    size_t len = c < 0x80         ? 1
                 : (c >> 5) == 6  ? 2
                 : (c >> 4) == 14 ? 3
                 : (c >> 3) == 30 ? 4
                                  : 0;
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; k++)
      ok = (p[i + k] & 0xC0) == 0x80;
    if (ok && len == 2)
      ok = c >= 0xC2;
    if (ok && len == 3) {
      unsigned cp =
          (c & 0x0F) << 12 | (p[i + 1] & 0x3Fu) << 6 | (p[i + 2] & 0x3Fu);
      ok = cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF);
    }
    if (ok && len == 4) {
      unsigned cp = (c & 0x07) << 18 | (p[i + 1] & 0x3Fu) << 12 |
                    (p[i + 2] & 0x3Fu) << 6 | (p[i + 3] & 0x3Fu);
      ok = cp >= 0x10000 && cp <= 0x10FFFF;
    }
    if (!ok) {
      clean[o++] = '?';
      i++;
      continue;
    }
    memcpy(clean + o, p + i, len);
    o += len;
    i += len;
  }
  vg_jsonw_str(w, clean, o);
  free(clean);
}

/* The start of every answer: {"id":ID, when the request had one. */
static void answer_open(struct vg_jsonw *w, const char *id, size_t id_len) {
  vg_jsonw_lit(w, "{");
  if (id) {
    vg_jsonw_lit(w, "\"id\":");
    vg_jsonw_raw(w, id, id_len);
    vg_jsonw_lit(w, ",");
  }
}

void vg__answer_error(struct vg_jsonw *w, const char *id, size_t id_len,
                      const char *code, const char *message) {
  answer_open(w, id, id_len);
  vg_jsonw_lit(w, "\"ok\":false,\"error\":{\"code\":");
  vg_jsonw_str(w, code, strlen(code));
  vg_jsonw_lit(w, ",\"message\":");
  put_text(w, message);
  vg_jsonw_lit(w, "}}\n");
}

/* Moves the writer's text into the reply as its answer. Returns false when
 * out of memory (the reply then carries a fixed `internal` answer). */
static bool take_answer(struct vg__reply *r, struct vg_jsonw *w) {
  static const char oom[] =
      "{\"ok\":false,\"error\":{\"code\":\"internal\",\"message\":"
      "\"out of memory\"}}\n";
  free(r->data);
  r->data = NULL;
  if (!w->failed && (r->data = malloc(w->len)) != NULL) {
    memcpy(r->data, w->data, w->len);
    r->len = w->len;
  } else if ((r->data = malloc(sizeof oom - 1)) != NULL) {
    memcpy(r->data, oom, sizeof oom - 1);
    r->len = sizeof oom - 1;
  } else {
    r->len = 0; /* the loop closes a connection it cannot answer */
  }
  vg_jsonw_reset(w);
  w->failed = false;
  return r->data != NULL;
}

static void set_error(struct vg__worker *w, struct vg__reply *r,
                      const char *code, const char *message) {
  vg_jsonw_reset(&w->out);
  vg__answer_error(&w->out, r->req.id, r->req.id_len, code, message);
  take_answer(r, &w->out);
}

/* A store failure as the socket's error codes (SPEC 5). Failures of the
 * store itself are logged in full and answered in general terms: their
 * text is about the database, not the request. */
static void set_store_error(struct vg__worker *w, struct vg__reply *r, int rc) {
  const char *msg = vg_store_errmsg(w->store);
  switch (rc) {
  case VG_ENOTFOUND:
    set_error(w, r, "not_found", msg);
    break;
  case VG_EREFUSED:
    set_error(w, r, "conflict", msg);
    break;
  case VG_EINVAL:
    set_error(w, r, "bad_request", msg);
    break;
  default:
    vg__log("store error on %s: %s", vg_op_name(r->req.op), msg);
    set_error(w, r, "internal", "the store failed; see the server log");
  }
}

/* {"id":..,"ok":true,<members of doc>} */
static void set_doc(struct vg__worker *w, struct vg__reply *r, json_t *doc) {
  char *text = json_dumps(doc, JSON_COMPACT);
  if (!text) {
    set_error(w, r, "internal", "out of memory");
    return;
  }
  vg_jsonw_reset(&w->out);
  answer_open(&w->out, r->req.id, r->req.id_len);
  vg_jsonw_lit(&w->out, "\"ok\":true");
  size_t n = strlen(text);
  if (n > 2) { /* not "{}": its members follow */
    vg_jsonw_lit(&w->out, ",");
    vg_jsonw_raw(&w->out, text + 1, n - 1);
  } else {
    vg_jsonw_lit(&w->out, "}");
  }
  vg_jsonw_lit(&w->out, "\n");
  free(text);
  take_answer(r, &w->out);
}

/* ----------------------------------------------------- handing answers */

static void release_list(struct vg__worker *w, struct vg__reply *head,
                         struct vg__reply *tail, struct vg__event *events,
                         struct vg__event *events_tail) {
  if (!head && !events)
    return;
  struct vg__shared *sh = w->shared;
  uv_mutex_lock(&sh->lock);
  if (head) {
    if (sh->done_tail)
      sh->done_tail->qnext = head;
    else
      sh->done = head;
    sh->done_tail = tail;
  }
  if (events) {
    if (sh->events_tail)
      sh->events_tail->next = events;
    else
      sh->events = events;
    sh->events_tail = events_tail;
  }
  uv_mutex_unlock(&sh->lock);
  uv_async_send(sh->notify);
}

static void release_one(struct vg__worker *w, struct vg__reply *r) {
  r->qnext = NULL;
  release_list(w, r, r, NULL, NULL);
}

/* The line and request are no longer needed once answered. */
static void drop_request(struct vg__reply *r) {
  vg_request_close(&r->req);
  free(r->line);
  r->line = NULL;
}

/* One case.opened event per case the batch opened, read after the commit
 * so the case is as stored. Cases whose reading fails are logged, not
 * announced: the screening itself succeeded. Runs on the store writer's
 * thread. */
static void build_events(struct vg__worker *w, struct vg__event **head,
                         struct vg__event **tail) {
  for (size_t i = 0; i < w->nopened; i++) {
    json_t *c = NULL;
    int rc = vg_store_case_get(w->store, w->opened[i], false, w->redact, &c);
    if (rc != 0) {
      vg__log("cannot read opened case %lld for subscribers: %s",
              (long long)w->opened[i], vg_store_errmsg(w->store));
      continue;
    }
    char *text = json_dumps(c, JSON_COMPACT);
    struct vg__event *ev = calloc(1, sizeof *ev);
    const char *kind = json_string_value(json_object_get(c, "kind"));
    size_t n = text ? strlen(text) : 0;
    static const char pre[] = "{\"event\":\"case.opened\",\"case\":";
    if (ev && text && (ev->data = malloc(sizeof pre - 1 + n + 2)) != NULL) {
      memcpy(ev->data, pre, sizeof pre - 1);
      memcpy(ev->data + sizeof pre - 1, text, n);
      memcpy(ev->data + sizeof pre - 1 + n, "}\n", 2);
      ev->len = sizeof pre - 1 + n + 2;
      snprintf(ev->kind, sizeof ev->kind, "%s", kind ? kind : "");
      ev->score = (int)json_integer_value(json_object_get(c, "score"));
      if (*tail)
        (*tail)->next = ev;
      else
        *head = ev;
      *tail = ev;
    } else {
      vg__log("out of memory announcing case %lld", (long long)w->opened[i]);
      free(ev);
    }
    free(text);
    json_decref(c);
  }
  w->nopened = 0;
}

/* ------------------------------------------------- the store's writer */

/* A screen request's answer is written by the store writer's thread as it
 * stores the request's records, from the text the worker rendered; the
 * worker hands the request over with its first entry and never touches it
 * again. Each entry's tag starts with this. */
struct screen_tag {
  struct vg__reply *reply;
  size_t index; /* of the record in the request */
  int status;   /* the mark ending a request: 0, or why it failed */
};

static struct screen_tag tag_head(const char *tag) {
  struct screen_tag t;
  memcpy(&t, tag, sizeof t);
  return t;
}

static int note_opened(struct vg__worker *w, int64_t case_id) {
  if (w->nopened == w->capopened) {
    size_t cap = w->capopened ? w->capopened * 2 : 64;
    int64_t *grown = realloc(w->opened, cap * sizeof *grown);
    if (!grown)
      return VG_ENOMEM;
    w->opened = grown;
    w->capopened = cap;
  }
  w->opened[w->nopened++] = case_id;
  return 0;
}

/* The mark after a request's last record: its answer is whole and waits
 * for the commit (or, failed, goes at once). */
static void finish_answer(struct vg__worker *w, struct vg__reply *r,
                          int status) {
  bool failed = status != 0 || r->store_failed;
  if (!failed) {
    vg_jsonw_lit(&r->answer, "]}\n");
  } else {
    vg_jsonw_reset(&r->answer);
    const char *message =
        status == VG_ENOMEM
            ? "out of memory"
            : "the store failed while screening; the records of this "
              "request are not acknowledged and may be sent again";
    vg__answer_error(&r->answer, r->req.id, r->req.id_len, "internal", message);
  }
  take_answer(r, &r->answer);
  vg_jsonw_close(&r->answer);
  r->qnext = NULL;
  if (failed) {
    drop_request(r);
    release_one(w, r);
    return;
  }
  /* The request stays until the commit: a failed batch answers with its
   * id. */
  if (w->batch_tail)
    w->batch_tail->qnext = r;
  else
    w->batch = r;
  w->batch_tail = r;
}

static int on_applied(void *arg, const struct vg_store_applied *a) {
  struct vg__worker *w = arg;
  struct screen_tag t = tag_head(a->tag);
  struct vg__reply *r = t.reply;
  const char *text = a->tag + sizeof t;
  size_t len = a->tag_len - sizeof t;
  if (a->type == VG_APPLIED_MARK) {
    w->current = NULL;
    finish_answer(w, r, t.status);
    return 0;
  }
  w->current = r;
  if (t.index)
    vg_jsonw_lit(&r->answer, ",");
  if (a->type == VG_APPLIED_REJECT) {
    vg_jsonw_raw(&r->answer, text, len);
    return 0;
  }
  vg_result_json_join(&r->answer, text, len, a->outcome.case_id);
  if (a->outcome.status == VG_INGEST_DUPLICATE && !r->answer.failed &&
      r->answer.len > 0) {
    /* Say so, inside the result object. */
    r->answer.len--;
    vg_jsonw_lit(&r->answer, ",\"duplicate\":true}");
  }
  if (a->outcome.case_opened && note_opened(w, a->outcome.case_id) != 0)
    vg__log("out of memory noting case %lld for subscribers",
            (long long)a->outcome.case_id);
  return 0;
}

/* Everything applied is durable: the answers waiting for it go out, with
 * the cases it opened for the subscribers. */
static void on_committed(void *arg) {
  struct vg__worker *w = arg;
  struct vg__event *events = NULL, *events_tail = NULL;
  w->batches++;
  if (w->nopened && atomic_load(&w->shared->subscribers) > 0)
    build_events(w, &events, &events_tail);
  w->nopened = 0;
  for (struct vg__reply *r = w->batch; r; r = r->qnext)
    drop_request(r);
  release_list(w, w->batch, w->batch_tail, events, events_tail);
  w->batch = w->batch_tail = NULL;
}

/* The open batch was rolled back: none of its answers may say stored. */
static void on_failed(void *arg, int rc, const char *message, const char *tag,
                      size_t tag_len) {
  (void)rc;
  struct vg__worker *w = arg;
  vg__log("a batch could not be stored, nothing of it was kept: %s", message);
  for (struct vg__reply *r = w->batch; r; r = r->qnext) {
    vg_jsonw_reset(&w->failure);
    vg__answer_error(&w->failure, r->req.id, r->req.id_len, "internal",
                     "the records could not be stored; nothing of this "
                     "request was kept");
    take_answer(r, &w->failure);
    drop_request(r);
  }
  release_list(w, w->batch, w->batch_tail, NULL, NULL);
  w->batch = w->batch_tail = NULL;
  w->nopened = 0;
  /* The request being stored, and the one whose entry failed, are answered
   * with an error by their marks. */
  if (w->current)
    w->current->store_failed = true;
  if (tag && tag_len >= sizeof(struct screen_tag))
    tag_head(tag).reply->store_failed = true;
}

/* ----------------------------------------------------------- screening */

/* The tag of an entry of request r into w->out, followed by its text. */
static void tag_open(struct vg__worker *w, struct vg__reply *r, size_t index,
                     int status) {
  struct screen_tag t = {r, index, status};
  vg_jsonw_reset(&w->out);
  vg_jsonw_raw(&w->out, (const char *)&t, sizeof t);
}

/* Screens one record and queues it (or its rejection) for the store.
 * Returns 0, or a negative code when it could not be queued. */
static int screen_one(struct vg__worker *w, struct vg__reply *r,
                      const char *json, size_t len, size_t index) {
  struct vg_result res;
  struct vg_reject rej;
  int rc = vg_eval_record(w->ev, json, len, &res, &rej);
  if (rc == VG_ENOMEM)
    return rc;
  w->records++;
  if (rc != 0) {
    /* Nothing read is dropped: the reject is stored like a file's. */
    char source[96], where[64];
    snprintf(source, sizeof source, "socket:%s", r->actor);
    snprintf(where, sizeof where, "record %zu of a request", index + 1);
    w->rejected++;
    tag_open(w, r, index, 0);
    vg_jsonw_lit(&w->out, "{\"rejected\":");
    put_text(&w->out, rej.reason);
    vg_jsonw_lit(&w->out, "}");
    if (w->out.failed)
      return VG_ENOMEM;
    return vg_store_writer_reject(w->writer, source, (long)index + 1, where,
                                  rej.reason, json, len, false, w->out.data,
                                  w->out.len);
  }
  if (res.observed_at > w->newest)
    w->newest = res.observed_at;
  struct vg_result_style style = {w->rs, w->redact};
  tag_open(w, r, index, 0);
  vg_result_json_parts(&w->out, &res, &style);
  if (w->out.failed)
    return VG_ENOMEM;
  rc = vg_store_writer_record(w->writer, w->ev, &res, json, len, w->out.data,
                              w->out.len);
  if (rc == 0 && w->state && --w->evict_due == 0) {
    int64_t window = vg_ruleset_max_window(w->rs);
    if (window > 0 && w->newest &&
        w->state->evict(w->state, w->newest - window) != 0)
      vg__log("correlation eviction failed: %s", vg_store_errmsg(w->store));
    w->evict_due = EVICT_EVERY;
  }
  return rc;
}

static void screen_request(struct vg__worker *w, struct vg__reply *r) {
  struct vg_request *q = &r->req;
  size_t nrecords = q->nrecords ? q->nrecords : 1;
  /* Written here before the first entry goes; by the writer's thread
   * after. */
  vg_jsonw_init(&r->answer);
  answer_open(&r->answer, q->id, q->id_len);
  vg_jsonw_lit(&r->answer, "\"ok\":true,\"results\":[");
  int rc = 0;
  if (!q->batch) {
    rc = screen_one(w, r, r->line + q->records.start, q->records.len, 0);
  } else {
    for (size_t i = 0; rc == 0 && i < q->nrecords; i++)
      rc = screen_one(w, r, r->line + q->record_spans[i].start,
                      q->record_spans[i].len, i);
  }
  if (rc != 0 && rc != VG_ENOMEM)
    vg__log("screening failed: %s", vg_store_errmsg(w->store));
  /* Once the mark is queued, the request is the writer's thread's. The
   * mark answers the request once its records are stored; a record
   * that could not be queued fails the whole request (the records before
   * it may be stored: a resent record is a duplicate). */
  tag_open(w, r, 0, rc);
  if (w->out.failed ||
      vg_store_writer_mark(w->writer, w->out.data, w->out.len) != 0) {
    /* Not even the mark could be queued: wait for the writer to be done
     * with the request, then answer it here. */
    vg_store_writer_sync(w->writer);
    finish_answer(w, r, VG_ENOMEM);
  }
  /* The writer stores the request while the next one is screened. */
  vg_store_writer_flush(w->writer, false);
  /* r belongs to the writer's thread now. */
  w->requests++;
  w->batch_requests++;
  w->batch_records += nrecords;
}

/* Ends the group of requests screened since the last: the writer commits
 * once it has stored them, and their answers go out. */
static void commit_group(struct vg__worker *w) {
  if (!w->batch_requests)
    return;
  vg_store_writer_flush(w->writer, true);
  w->batch_requests = 0;
  w->batch_records = 0;
}

/* -------------------------------------------------------- review queue */

static void review_request(struct vg__worker *w, struct vg__reply *r) {
  struct vg_request *q = &r->req;
  json_t *result = NULL, *doc = NULL;
  int rc = 0;
  w->requests++;
  switch (q->op) {
  case VG_OP_QUEUE:
    rc = vg_store_queue(w->store, &q->filter, w->redact, &result);
    if (rc == 0)
      doc = json_pack("{s:O}", "cases", result);
    break;
  case VG_OP_CASE_SHOW:
    rc = vg_store_case_show(w->store, q->case_id, r->actor, w->redact, &result);
    if (rc == 0)
      doc = json_pack("{s:O}", "case", result);
    break;
  case VG_OP_STATS:
    rc = vg_store_stats(w->store, &result);
    if (rc == 0)
      doc = json_incref(result);
    break;
  default:
    rc = vg_store_case_act(w->store, q->case_id, q->action, r->actor, q->note,
                           q->reason);
    if (rc == 0)
      rc = vg_store_case_get(w->store, q->case_id, false, w->redact, &result);
    if (rc == 0)
      doc = json_pack("{s:O}", "case", result);
    break;
  }
  if (rc != 0)
    set_store_error(w, r, rc);
  else if (!doc)
    set_error(w, r, "internal", "out of memory");
  else
    set_doc(w, r, doc);
  json_decref(doc);
  json_decref(result);
  drop_request(r);
  release_one(w, r);
}

/* ------------------------------------------------------------- reload */

static int attach_state(struct vg__worker *w, vg_eval *ev, const vg_ruleset *rs,
                        char *err, size_t errlen) {
  if (!w->state && vg_ruleset_max_window(rs) > 0 &&
      vg_store_corr_state(w->store, true, &w->state) != 0) {
    snprintf(err, errlen, "cannot use the correlation state: %s",
             vg_store_errmsg(w->store));
    return VG_EIO;
  }
  if (w->state)
    vg_eval_set_state(ev, w->state);
  return 0;
}

/* Loads the rules again; the new set replaces the old only when it loads
 * without error. Runs between batches, so no record is screened half by
 * one set and half by the other. */
static void reload(struct vg__worker *w) {
  struct vg_diags diags;
  vg_diags_init(&diags);
  vg_ruleset *rs = NULL;
  vg_eval *ev = NULL;
  char err[256] = "";
  int rc = vg_ruleset_load(w->rules_dir, w->cfg, &diags, &rs);
  for (size_t i = 0; i < diags.count; i++) {
    const struct vg_diag *d = &diags.items[i];
    if (d->severity == VG_SEV_ERROR)
      vg__log("reload: %s:%d:%d: error: %s [%s]", d->file ? d->file : "-",
              d->line, d->col, d->message, d->code);
  }
  if (rc != 0) {
    vg__log("reload failed (%zu error%s): the rules in '%s' did not load; "
            "the previous rules stay in force",
            diags.errors, diags.errors == 1 ? "" : "s", w->rules_dir);
    goto out;
  }
  if (!(ev = vg_eval_new(rs)) || attach_state(w, ev, rs, err, sizeof err)) {
    vg__log("reload failed: %s; the previous rules stay in force",
            err[0] ? err : "out of memory");
    goto out;
  }
  /* The store keeps per-ruleset field flags: give it the new set before
   * the old one's memory can be reused. */
  if (vg_store_sync_fields(w->store, rs) != 0) {
    vg__log("reload failed: %s; the previous rules stay in force",
            vg_store_errmsg(w->store));
    vg_store_sync_fields(w->store, w->rs);
    goto out;
  }
  vg_eval_free(w->ev);
  vg_ruleset_free(w->rs);
  w->rs = rs;
  w->ev = ev;
  rs = NULL;
  ev = NULL;
  vg__log("rules reloaded from '%s': %zu rules, %zu warning%s", w->rules_dir,
          vg_ruleset_rule_count(w->rs), diags.warnings,
          diags.warnings == 1 ? "" : "s");
out:
  vg_eval_free(ev);
  vg_ruleset_free(rs);
  vg_diags_close(&diags);
}

/* -------------------------------------------------------------- thread */

/* Takes every queued request (NULL when none), with the flags; with
 * wait, waits for a request (or a flag) first. */
static struct vg__reply *take(struct vg__shared *sh, bool wait, bool *reload,
                              bool *stop) {
  uv_mutex_lock(&sh->lock);
  if (wait) {
    sh->idle = true;
    while (!sh->queue && !sh->reload && !sh->stop)
      uv_cond_wait(&sh->wake, &sh->lock);
  }
  sh->idle = false;
  struct vg__reply *list = sh->queue;
  sh->queue = sh->queue_tail = NULL;
  *reload |= sh->reload;
  *stop |= sh->stop;
  sh->reload = false;
  uv_mutex_unlock(&sh->lock);
  return list;
}

static void worker_main(void *arg) {
  struct vg__worker *w = arg;
  struct vg__shared *sh = w->shared;
  bool do_reload = false, stop = false;
  for (;;) {
    struct vg__reply *list = take(sh, true, &do_reload, &stop);
    while (list) {
      struct vg__reply *r = list;
      list = r->qnext;
      r->qnext = NULL;
      if (r->req.op == VG_OP_SCREEN) {
        screen_request(w, r);
        if (w->batch_records >= MAX_BATCH_RECORDS)
          commit_group(w);
      } else {
        /* The review queue must see every record screened before: the
         * writer commits them and stands idle while the store is used
         * here. */
        commit_group(w);
        vg_store_writer_sync(w->writer);
        review_request(w, r);
      }
      /* Requests that came in meanwhile join the group. */
      if (!list && !do_reload)
        list = take(sh, false, &do_reload, &stop);
    }
    /* None waiting: a commit point. The writer commits there unless more
     * is already on its way to it, so the requests of many clients share
     * one commit while it is busy with the last (group commit). */
    commit_group(w);
    if (do_reload) {
      do_reload = false;
      /* The store's field flags change with the rules: not under records
       * on their way. */
      vg_store_writer_sync(w->writer);
      reload(w);
    }
    if (stop) {
      uv_mutex_lock(&sh->lock);
      bool empty = !sh->queue;
      uv_mutex_unlock(&sh->lock);
      if (empty)
        break;
    }
  }
  /* The last answers go out with the last commit. */
  vg_store_writer_sync(w->writer);
}

int vg__worker_init(struct vg__worker *w, struct vg__shared *shared,
                    vg_ruleset *rs, vg_store *store,
                    const struct vg_server_options *opts, char *err,
                    size_t errlen) {
  memset(w, 0, sizeof *w);
  w->shared = shared;
  w->rs = rs;
  w->store = store;
  w->rules_dir = opts->rules_dir;
  w->cfg = opts->cfg;
  w->redact = opts->redact;
  w->evict_due = 0;
  vg_jsonw_init(&w->out);
  if (!(w->ev = vg_eval_new(rs))) {
    snprintf(err, errlen, "out of memory");
    return VG_ENOMEM;
  }
  int rc = attach_state(w, w->ev, rs, err, errlen);
  if (rc == 0 && vg_store_sync_fields(store, rs) != 0) {
    snprintf(err, errlen, "%s", vg_store_errmsg(store));
    rc = VG_EIO;
  }
  struct vg_store_writer_hooks hooks = {.applied = on_applied,
                                        .committed = on_committed,
                                        .failed = on_failed,
                                        .arg = w,
                                        .batch_records = MAX_BATCH_RECORDS,
                                        .keep_going = true,
                                        .checkpoint_thread = true,
                                        .queue_chunks = 32};
  if (rc == 0 && vg_store_writer_start(store, rs, &hooks, &w->writer) != 0) {
    snprintf(err, errlen, "%s", vg_store_errmsg(store));
    rc = VG_EIO;
  }
  return rc;
}

int vg__worker_start(struct vg__worker *w) {
  if (uv_thread_create(&w->thread, worker_main, w) != 0)
    return VG_ENOMEM;
  w->started = true;
  return 0;
}

void vg__worker_stop(struct vg__worker *w) {
  if (!w->started)
    return;
  uv_mutex_lock(&w->shared->lock);
  w->shared->stop = true;
  uv_cond_signal(&w->shared->wake);
  uv_mutex_unlock(&w->shared->lock);
  uv_thread_join(&w->thread);
  w->started = false;
}

void vg__worker_close(struct vg__worker *w) {
  if (w->writer && vg_store_writer_finish(w->writer) != 0)
    vg__log("the last records could not be stored: %s",
            vg_store_errmsg(w->store));
  w->writer = NULL;
  vg_jsonw_close(&w->failure);
  vg_corr_state_free(w->state);
  w->state = NULL;
  vg_eval_free(w->ev);
  vg_ruleset_free(w->rs);
  vg_jsonw_close(&w->out);
  free(w->opened);
  memset(w, 0, sizeof *w);
}
