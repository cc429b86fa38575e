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
/* How long the open batch waits for the requests the last commit's
 * clients are likely to send next (see gather()). */
#define GATHER_WAIT_NS 500000

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
 * announced: the screening itself succeeded. */
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

/* Commits the open batch and hands its answers back: on failure every
 * answer in it becomes an `internal` error, since nothing in it is
 * stored. */
static void commit_batch(struct vg__worker *w) {
  if (!w->in_batch)
    return;
  int rc = 0;
  if (w->state && w->newest && w->evict_due == 0) {
    int64_t window = vg_ruleset_max_window(w->rs);
    if (window > 0)
      rc = w->state->evict(w->state, w->newest - window);
    w->evict_due = EVICT_EVERY;
  }
  if (rc == 0)
    rc = vg_store_batch_commit(w->store);
  w->in_batch = false;
  struct vg__event *events = NULL, *events_tail = NULL;
  if (rc != 0) {
    vg__log("commit of %zu records failed: %s", w->batch_records,
            vg_store_errmsg(w->store));
    for (struct vg__reply *r = w->batch; r; r = r->qnext)
      set_error(w, r, "internal",
                "the records could not be stored; nothing of this request "
                "was kept");
    w->nopened = 0;
  } else {
    w->batches++;
    if (w->nopened && atomic_load(&w->shared->subscribers) > 0)
      build_events(w, &events, &events_tail);
    w->nopened = 0;
  }
  for (struct vg__reply *r = w->batch; r; r = r->qnext)
    drop_request(r);
  release_list(w, w->batch, w->batch_tail, events, events_tail);
  w->batch = w->batch_tail = NULL;
  w->last_requests = w->batch_requests;
  w->batch_requests = 0;
  w->batch_records = 0;
}

/* ----------------------------------------------------------- screening */

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

/* Screens one record into the open batch and appends its result (or its
 * rejection) to the answer. Returns 0, or a negative code when the store
 * failed (the answer is then an error). */
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
    rc = vg_store_add_reject(w->store, source, (long)index + 1, where,
                             rej.reason, json, len, false);
    if (rc != 0)
      return rc;
    vg_jsonw_lit(&w->out, "{\"rejected\":");
    put_text(&w->out, rej.reason);
    vg_jsonw_lit(&w->out, "}");
    return 0;
  }
  if (res.observed_at > w->newest)
    w->newest = res.observed_at;
  struct vg_ingest_outcome outcome;
  rc = vg_store_ingest(w->store, w->rs, w->ev, &res, json, len, &outcome);
  if (rc != 0)
    return rc;
  if (outcome.case_opened && (rc = note_opened(w, outcome.case_id)) != 0)
    return rc;
  struct vg_result_style style = {w->rs, w->redact};
  size_t mark = w->out.len;
  vg_result_json(&w->out, &res, outcome.case_id, &style);
  if (outcome.status == VG_INGEST_DUPLICATE && !w->out.failed &&
      w->out.len > mark) {
    /* Say so, inside the result object. */
    w->out.len--;
    vg_jsonw_lit(&w->out, ",\"duplicate\":true}");
  }
  if (w->evict_due)
    w->evict_due--;
  return 0;
}

static void screen_request(struct vg__worker *w, struct vg__reply *r) {
  if (!w->in_batch) {
    if (vg_store_batch_begin(w->store) != 0) {
      vg__log("cannot start a transaction: %s", vg_store_errmsg(w->store));
      set_error(w, r, "internal", "the store failed; see the server log");
      drop_request(r);
      release_one(w, r);
      return;
    }
    w->in_batch = true;
  }
  struct vg_request *q = &r->req;
  vg_jsonw_reset(&w->out);
  answer_open(&w->out, q->id, q->id_len);
  vg_jsonw_lit(&w->out, "\"ok\":true,\"results\":[");
  int rc = 0;
  if (!q->batch) {
    rc = screen_one(w, r, r->line + q->records.start, q->records.len, 0);
  } else {
    struct vg_json_iter it;
    struct vg_json_token elem;
    size_t i = 0;
    vg_json_iter_init(&it, r->line, &q->records);
    while (rc == 0 && vg_json_iter_next(&it, &elem)) {
      if (i)
        vg_jsonw_lit(&w->out, ",");
      rc = screen_one(w, r, r->line + elem.start, elem.len, i++);
    }
  }
  vg_jsonw_lit(&w->out, "]}\n");
  if (rc == VG_ENOMEM) {
    set_error(w, r, "internal", "out of memory");
  } else if (rc != 0) {
    /* Records before the failure stay in the batch (each is stored whole
     * or not at all); the client is told none of them is acknowledged and
     * may send them again: a resent record is a duplicate. */
    vg__log("screening failed: %s", vg_store_errmsg(w->store));
    set_error(w, r, "internal",
              "the store failed while screening; the records of this "
              "request are not acknowledged and may be sent again");
  } else {
    take_answer(r, &w->out);
  }
  w->requests++;
  w->batch_requests++;
  w->batch_records += q->nrecords ? q->nrecords : 1;
  r->qnext = NULL;
  if (w->batch_tail)
    w->batch_tail->qnext = r;
  else
    w->batch = r;
  w->batch_tail = r;
  if (w->batch_records >= MAX_BATCH_RECORDS)
    commit_batch(w);
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

/* Takes every queued request (NULL when none), with the flags. With
 * want 0, returns at once; with want SIZE_MAX, waits for a request (or a
 * flag); otherwise waits until `want` requests are queued or wait_ns has
 * passed. */
static struct vg__reply *take(struct vg__shared *sh, size_t want,
                              uint64_t wait_ns, bool *reload, bool *stop) {
  uv_mutex_lock(&sh->lock);
  if (want == SIZE_MAX) {
    sh->waiting = VG__IDLE;
    while (!sh->queue && !sh->reload && !sh->stop)
      uv_cond_wait(&sh->wake, &sh->lock);
  } else if (want > 0 && sh->queued < want && !sh->reload && !sh->stop) {
    sh->waiting = VG__GATHERING;
    sh->want = want;
    uint64_t end = uv_hrtime() + wait_ns, now;
    while (sh->queued < want && !sh->reload && !sh->stop &&
           (now = uv_hrtime()) < end)
      uv_cond_timedwait(&sh->wake, &sh->lock, end - now);
  }
  sh->waiting = VG__BUSY;
  struct vg__reply *list = sh->queue;
  sh->queue = sh->queue_tail = NULL;
  sh->queued = 0;
  *reload |= sh->reload;
  *stop |= sh->stop;
  sh->reload = false;
  uv_mutex_unlock(&sh->lock);
  return list;
}

/* More requests for the open batch. Each commit costs page writes, so
 * the batch is worth holding open a moment when the last commit answered
 * several clients: each is likely to send again at once, and one commit
 * for all of them beats one each. So the batch waits until as many
 * requests as the last commit answered are in, or GATHER_WAIT_NS; a lone
 * client (the last commit answered one request) never waits, and clients
 * that went away cost one wait, after which the count has adapted. */
static struct vg__reply *gather(struct vg__worker *w, bool *reload,
                                bool *stop) {
  size_t want = 0;
  if (w->batch_requests < w->last_requests)
    want = w->last_requests - w->batch_requests;
  return take(w->shared, want, GATHER_WAIT_NS, reload, stop);
}

static void worker_main(void *arg) {
  struct vg__worker *w = arg;
  struct vg__shared *sh = w->shared;
  bool do_reload = false, stop = false;
  for (;;) {
    struct vg__reply *list = take(sh, SIZE_MAX, 0, &do_reload, &stop);
    while (list) {
      struct vg__reply *r = list;
      list = r->qnext;
      r->qnext = NULL;
      if (r->req.op == VG_OP_SCREEN) {
        screen_request(w, r);
      } else {
        /* The review queue must see every record screened before. */
        commit_batch(w);
        review_request(w, r);
      }
      /* Requests that came in meanwhile join the open batch: the commit
       * waits until no request is waiting (or the batch is full), which
       * is what groups many clients' requests into one transaction. */
      if (!list && w->in_batch && !do_reload &&
          w->batch_records < MAX_BATCH_RECORDS)
        list = gather(w, &do_reload, &stop);
    }
    commit_batch(w);
    if (do_reload) {
      do_reload = false;
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
  vg_corr_state_free(w->state);
  w->state = NULL;
  vg_eval_free(w->ev);
  vg_ruleset_free(w->rs);
  vg_jsonw_close(&w->out);
  free(w->opened);
  memset(w, 0, sizeof *w);
}
