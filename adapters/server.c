/* server.c - the loop thread of `vigia serve`: listeners, connections,
 * NDJSON framing, authentication and roles, answers in request order,
 * backpressure, subscriptions, signals and the orderly stop. Screening and
 * the store are the worker's (server_worker.c); this thread never waits on
 * either. */
#include "server_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vg_error.h"

#define DEFAULT_MAX_PENDING ((size_t)4 << 20)
#define DEFAULT_MAX_BACKLOG ((size_t)1 << 20)
/* Requests of one connection waiting for their answers: past this the
 * connection is not read until answers drain, whatever their size. */
#define MAX_UNANSWERED 256
/* A connection being closed that makes no progress for this long (a
 * client that stopped reading) is closed without its remaining answers. */
#define CLOSE_GRACE_MS 10000
#define SWEEP_MS 1000
/* Failed auth attempts before a connection is dropped. */
#define MAX_AUTH_FAILURES 5
/* Answers gathered into one write. */
#define MAX_WRITE_BUFS 64

struct listener {
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_pipe_t pipe;
    uv_tcp_t tcp;
  } h;
  struct vg_server *srv;
  struct vg_listen_addr addr;
  char name[300]; /* for the log: unix:PATH or tcp:HOST:PORT as bound */
  bool open, created_file;
};

struct vg__conn {
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_pipe_t pipe;
    uv_tcp_t tcp;
  } h;
  struct vg_server *srv;
  struct vg__conn *prev, *next;
  uint64_t num;
  bool is_unix;
  enum vg_role role;
  char name[72];
  unsigned auth_failures;
  struct vg_linebuf in;
  struct vg__reply *head, *tail; /* answers in request order */
  size_t unanswered;             /* replies in that list */
  size_t held;     /* bytes of requests in flight and answers unwritten */
  size_t inflight; /* replies at the worker */
  size_t writing;  /* write requests under way */
  size_t backlog;  /* bytes of events not yet written */
  uint64_t requests;
  uint64_t progress_ms; /* last write completed, for the close grace */
  bool reading, input_done, close_when_done, closing, closed, paused_logged;
  bool subscribed, touched;
  struct vg__conn *touched_next; /* conns an async round answered */
  char *kinds[VG_REQUEST_MAX_KINDS];
  size_t nkinds;
  int min_score;
  const char *close_reason;
};

struct write_req {
  uv_write_t req;
  struct vg__conn *conn;
  struct vg__reply *replies; /* linked by next; freed when written */
  size_t bytes, event_bytes;
  uv_buf_t bufs[MAX_WRITE_BUFS];
};

struct vg_server {
  uv_loop_t loop;
  bool loop_open;
  struct vg_server_options opts;
  struct listener *listeners;
  size_t nlisteners;
  struct vg__conn *conns;
  size_t nconns;
  uint64_t next_conn;
  struct vg_request_parser *parser;
  struct vg__shared shared;
  bool shared_init;
  struct vg__worker worker;
  bool worker_init;
  uv_async_t notify;
  uv_signal_t sigint, sigterm, sighup;
  uv_timer_t sweep;
  bool handles_open;
  bool stopping, forced;
  uid_t uid;
  char user[72]; /* the server's user name: what same-uid peers act as */
  struct vg__reply *outbox, *outbox_tail; /* to the worker, per callback */
  struct vg_jsonw scratch;
  int status;
};

static bool flush(struct vg__conn *c);
static void pump(struct vg__conn *c);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void close_conn(struct vg__conn *c, const char *reason);
static void maybe_finish(struct vg_server *srv);

/* ------------------------------------------------------------- replies */

static void reply_free(struct vg__reply *r) {
  if (!r)
    return;
  vg_request_close(&r->req);
  free(r->line);
  free(r->data);
  vg_jsonw_close(&r->answer);
  free(r);
}

/* Appends a reply slot in the connection's order. */
static void reply_append(struct vg__conn *c, struct vg__reply *r) {
  r->conn = c;
  if (c->tail)
    c->tail->next = r;
  else
    c->head = r;
  c->tail = r;
  c->unanswered++;
}

/* An answer known at once, in its place among the connection's answers. */
static void answer_now(struct vg__conn *c, const char *data, size_t len,
                       bool event) {
  struct vg__reply *r = calloc(1, sizeof *r);
  char *copy = malloc(len ? len : 1);
  if (!r || !copy) {
    free(r);
    free(copy);
    close_conn(c, "out of memory");
    return;
  }
  memcpy(copy, data, len);
  r->data = copy;
  r->len = len;
  r->ready = true;
  r->event = event;
  c->held += len;
  if (event)
    c->backlog += len;
  reply_append(c, r);
}

static void answer_error(struct vg__conn *c, const struct vg_request *req,
                         const char *code, const char *message) {
  struct vg_jsonw *w = &c->srv->scratch;
  vg_jsonw_reset(w);
  w->failed = false;
  vg__answer_error(w, req ? req->id : NULL, req ? req->id_len : 0, code,
                   message);
  if (w->failed)
    close_conn(c, "out of memory");
  else
    answer_now(c, w->data, w->len, false);
}

/* ---------------------------------------------------------- connections */

static void conn_free(struct vg__conn *c) {
  for (struct vg__reply *r = c->head, *next; r; r = next) {
    next = r->next;
    reply_free(r);
  }
  for (size_t i = 0; i < c->nkinds; i++)
    free(c->kinds[i]);
  vg_linebuf_close(&c->in);
  free(c);
}

static void unsubscribe(struct vg__conn *c) {
  if (!c->subscribed)
    return;
  c->subscribed = false;
  atomic_fetch_sub(&c->srv->shared.subscribers, 1);
  for (size_t i = 0; i < c->nkinds; i++)
    free(c->kinds[i]);
  c->nkinds = 0;
}

static void on_conn_closed(uv_handle_t *h) {
  struct vg__conn *c = h->data;
  struct vg_server *srv = c->srv;
  c->closed = true;
  if (c->prev)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  srv->nconns--;
  /* Answers still at the worker come back to a closed connection, which
   * lives on until the last of them. */
  struct vg__reply **link = &c->head;
  c->tail = NULL;
  while (*link) {
    struct vg__reply *r = *link;
    if (r->ready) {
      *link = r->next;
      reply_free(r);
    } else {
      c->tail = r;
      link = &r->next;
    }
  }
  if (c->inflight == 0)
    conn_free(c);
  maybe_finish(srv);
}

static void close_conn(struct vg__conn *c, const char *reason) {
  if (c->closing)
    return;
  c->closing = true;
  unsubscribe(c);
  if (c->reading)
    uv_read_stop(&c->h.stream);
  c->reading = false;
  vg__log("conn %llu closed (%s) after %llu request%s",
          (unsigned long long)c->num, reason ? reason : "done",
          (unsigned long long)c->requests, c->requests == 1 ? "" : "s");
  uv_close(&c->h.handle, on_conn_closed);
}

/* Closes the connection once every answer is written. */
static void maybe_close(struct vg__conn *c) {
  if (!c->closing && c->close_when_done && !c->head && !c->writing &&
      !c->inflight)
    close_conn(c, c->close_reason);
}

static void finish_input(struct vg__conn *c, const char *reason) {
  if (c->reading)
    uv_read_stop(&c->h.stream);
  c->reading = false;
  c->input_done = true;
  if (!c->close_when_done) {
    c->close_when_done = true;
    c->close_reason = reason;
    c->progress_ms = uv_now(&c->srv->loop);
  }
}

/* ---------------------------------------------------------------- writes */

/* Frees answers taken from the connection's order (written, or never to
 * be) and the bytes they held. */
static void release_answers(struct vg__conn *c, struct vg__reply *replies,
                            size_t bytes, size_t event_bytes) {
  for (struct vg__reply *r = replies, *next; r; r = next) {
    next = r->next;
    reply_free(r);
  }
  c->held -= bytes;
  c->backlog -= event_bytes;
}

static void on_write(uv_write_t *req, int status) {
  struct write_req *wr = req->data;
  struct vg__conn *c = wr->conn;
  release_answers(c, wr->replies, wr->bytes, wr->event_bytes);
  c->writing--;
  free(wr);
  if (c->closing)
    return;
  if (status < 0) {
    close_conn(c, uv_strerror(status));
    return;
  }
  c->progress_ms = uv_now(&c->srv->loop);
  flush(c);
  pump(c);
  maybe_close(c);
}

/* Takes the answers from the head of the connection's order up to last:
 * they are written or being written. */
static struct vg__reply *take_answers(struct vg__conn *c,
                                      struct vg__reply *last, size_t n) {
  struct vg__reply *taken = c->head;
  c->head = last->next;
  if (!c->head)
    c->tail = NULL;
  last->next = NULL;
  c->unanswered -= n;
  return taken;
}

/* Hands the answers that a direct write left over to libuv, from byte
 * `done` of the first buffer on; the replies are freed once written. */
static bool queue_write(struct vg__conn *c, struct vg__reply *replies,
                        const uv_buf_t *bufs, size_t n, size_t bytes,
                        size_t event_bytes, size_t done) {
  struct write_req *wr = calloc(1, sizeof *wr);
  if (!wr) {
    release_answers(c, replies, bytes, event_bytes);
    close_conn(c, "out of memory");
    return false;
  }
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (done >= bufs[i].len) {
      done -= bufs[i].len;
      continue;
    }
    wr->bufs[m++] =
        uv_buf_init(bufs[i].base + done, (unsigned)(bufs[i].len - done));
    done = 0;
  }
  wr->replies = replies;
  wr->conn = c;
  wr->bytes = bytes;
  wr->event_bytes = event_bytes;
  wr->req.data = wr;
  c->writing++;
  int rc = uv_write(&wr->req, &c->h.stream, wr->bufs, (unsigned)m, on_write);
  if (rc != 0) {
    /* Not queued: undo and drop the connection. */
    c->writing--;
    release_answers(c, replies, bytes, event_bytes);
    free(wr);
    close_conn(c, uv_strerror(rc));
    return false;
  }
  return true;
}

/* Writes the answers ready at the head of the connection's order. Most
 * go out at once with a direct write (no request, no callback: libuv
 * would otherwise touch the connection's poll registration after every
 * completed write); what the socket does not take is queued. Returns
 * whether answers were written at once, so the caller reads again and
 * closes as a completed write would have it do. */
static bool flush(struct vg__conn *c) {
  bool written = false;
  while (!c->closing && c->head && c->head->ready) {
    uv_buf_t bufs[MAX_WRITE_BUFS];
    struct vg__reply *last = NULL;
    size_t n = 0, bytes = 0, event_bytes = 0;
    for (struct vg__reply *r = c->head; r && r->ready && n < MAX_WRITE_BUFS;
         r = r->next) {
      if (r->len == 0) { /* the worker could not even say it failed */
        close_conn(c, "out of memory");
        return written;
      }
      bufs[n++] = uv_buf_init(r->data, (unsigned)r->len);
      bytes += r->len;
      if (r->event)
        event_bytes += r->len;
      last = r;
    }
    /* At once only when nothing is queued: these bytes must not overtake
     * queued ones. */
    int done =
        c->writing ? UV_EAGAIN : uv_try_write(&c->h.stream, bufs, (unsigned)n);
    if (done < 0 && done != UV_EAGAIN) {
      close_conn(c, uv_strerror(done));
      return written;
    }
    struct vg__reply *replies = take_answers(c, last, n);
    if (done > 0 && (size_t)done == bytes) {
      release_answers(c, replies, bytes, event_bytes);
      c->progress_ms = uv_now(&c->srv->loop);
      written = true;
      continue;
    }
    if (!queue_write(c, replies, bufs, n, bytes, event_bytes,
                     done > 0 ? (size_t)done : 0))
      return written;
  }
  return written;
}

/* --------------------------------------------------------------- requests */

/* Sends the requests gathered in this callback to the worker at once: one
 * lock and at most one wake-up for all of them. */
static void submit(struct vg_server *srv) {
  if (!srv->outbox)
    return;
  struct vg__shared *sh = &srv->shared;
  uv_mutex_lock(&sh->lock);
  if (sh->queue_tail)
    sh->queue_tail->qnext = srv->outbox;
  else
    sh->queue = srv->outbox;
  sh->queue_tail = srv->outbox_tail;
  /* A wake-up costs both threads a system call: only when it waits. */
  if (sh->idle)
    uv_cond_signal(&sh->wake);
  uv_mutex_unlock(&sh->lock);
  srv->outbox = srv->outbox_tail = NULL;
}

static void do_auth(struct vg__conn *c, const struct vg_request *req) {
  struct vg_server *srv = c->srv;
  const char *name = NULL;
  enum vg_role role = VG_ROLE_NONE;
  if (!srv->opts.tokens) {
    answer_error(c, req, "unauthorized",
                 "this server has no tokens file: no token is accepted");
    return;
  }
  if (!vg_tokens_check(srv->opts.tokens, req->token, req->token_len, &name,
                       &role)) {
    c->auth_failures++;
    vg__log("conn %llu: auth failed (%u)", (unsigned long long)c->num,
            c->auth_failures);
    answer_error(c, req, "unauthorized", "unknown token");
    if (c->auth_failures >= MAX_AUTH_FAILURES)
      finish_input(c, "too many failed auth attempts");
    return;
  }
  c->role = role;
  snprintf(c->name, sizeof c->name, "%s", name);
  vg__log("conn %llu: authenticated as %s (%s)", (unsigned long long)c->num,
          c->name, vg_role_name(role));
  struct vg_jsonw *w = &srv->scratch;
  vg_jsonw_reset(w);
  vg_jsonw_lit(w, "{");
  if (req->id) {
    vg_jsonw_lit(w, "\"id\":");
    vg_jsonw_raw(w, req->id, req->id_len);
    vg_jsonw_lit(w, ",");
  }
  vg_jsonw_lit(w, "\"ok\":true,\"role\":");
  vg_jsonw_lit(w, role == VG_ROLE_ADMIN      ? "\"admin\""
                  : role == VG_ROLE_REVIEWER ? "\"reviewer\""
                                             : "\"ingest\"");
  vg_jsonw_lit(w, "}\n");
  if (w->failed)
    close_conn(c, "out of memory");
  else
    answer_now(c, w->data, w->len, false);
}

static void do_subscribe(struct vg__conn *c, struct vg_request *req) {
  bool was = c->subscribed;
  unsubscribe(c);
  /* The filters move from the request to the connection. */
  for (size_t i = 0; i < req->nkinds; i++) {
    c->kinds[i] = req->kinds[i];
    req->kinds[i] = NULL;
  }
  c->nkinds = req->nkinds;
  req->nkinds = 0;
  c->min_score = req->min_score;
  c->subscribed = true;
  atomic_fetch_add(&c->srv->shared.subscribers, 1);
  if (!was)
    vg__log("conn %llu: %s subscribed", (unsigned long long)c->num, c->name);
  struct vg_jsonw *w = &c->srv->scratch;
  vg_jsonw_reset(w);
  vg_jsonw_lit(w, "{");
  if (req->id) {
    vg_jsonw_lit(w, "\"id\":");
    vg_jsonw_raw(w, req->id, req->id_len);
    vg_jsonw_lit(w, ",");
  }
  vg_jsonw_lit(w, "\"ok\":true}\n");
  if (w->failed)
    close_conn(c, "out of memory");
  else
    answer_now(c, w->data, w->len, false);
}

static bool blank(const char *line, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
      return false;
  return true;
}

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void handle_line(struct vg__conn *c, const char *line, size_t len) {
  struct vg_server *srv = c->srv;
  if (blank(line, len))
    return;
  c->requests++;
  struct vg__reply *r = calloc(1, sizeof *r);
  if (!r) {
    close_conn(c, "out of memory");
    return;
  }
  /* The worker needs the line after the read buffer has moved on. */
  if (!(r->line = malloc(len ? len : 1))) {
    free(r);
    close_conn(c, "out of memory");
    return;
  }
  memcpy(r->line, line, len);
  r->line_len = len;
  char err[256];
  int rc = vg_request_parse(srv->parser, r->line, len, now_us(), &r->req, err,
                            sizeof err);
  if (rc == VG_ENOMEM) {
    reply_free(r);
    close_conn(c, "out of memory");
    return;
  }
  if (rc != 0) {
    answer_error(c, &r->req, "bad_request", err);
    reply_free(r);
    return;
  }
  enum vg_op op = r->req.op;
  if (op == VG_OP_AUTH) {
    do_auth(c, &r->req);
    reply_free(r);
    return;
  }
  if (c->role == VG_ROLE_NONE) {
    answer_error(c, &r->req, "unauthorized",
                 "authenticate first: {\"op\":\"auth\",\"token\":...}");
    reply_free(r);
    return;
  }
  if (!vg_role_allows(c->role, op)) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s may not %s (role %s)", c->name,
             vg_op_name(op), vg_role_name(c->role));
    vg__log("conn %llu: %s refused to %s (%s)", (unsigned long long)c->num,
            vg_op_name(op), c->name, vg_role_name(c->role));
    answer_error(c, &r->req, "forbidden", msg);
    reply_free(r);
    return;
  }
  if (op == VG_OP_SUBSCRIBE) {
    do_subscribe(c, &r->req);
    reply_free(r);
    return;
  }
  snprintf(r->actor, sizeof r->actor, "%s", c->name);
  reply_append(c, r);
  c->inflight++;
  c->held += len;
  if (srv->outbox_tail)
    srv->outbox_tail->qnext = r;
  else
    srv->outbox = r;
  srv->outbox_tail = r;
}

static bool can_take(const struct vg__conn *c) {
  return c->held < c->srv->opts.max_pending && c->unanswered < MAX_UNANSWERED;
}

/* Reads while the connection's bounds leave room, and stops reading
 * when they do not. */
static void read_as_bounds_allow(struct vg__conn *c) {
  bool want = can_take(c);
  if (want && !c->reading) {
    if (uv_read_start(&c->h.stream, on_alloc, on_read) == 0)
      c->reading = true;
  } else if (!want && c->reading) {
    uv_read_stop(&c->h.stream);
    c->reading = false;
    if (!c->paused_logged) {
      c->paused_logged = true;
      vg__log("conn %llu: not reading its answers; reading paused",
              (unsigned long long)c->num);
    }
  }
}

/* Handles the complete lines held, as far as the connection's bounds
 * allow, and reads more only when there is room for it. */
static void pump(struct vg__conn *c) {
  struct vg_server *srv = c->srv;
  const char *line;
  size_t len;
  /* Stopping: every line already read is answered, bounds or not; a line
   * cut short by the stop is not a request. */
  bool draining = srv->stopping;
  while (!c->closing && (draining || can_take(c))) {
    int rc = vg_linebuf_next(&c->in, &line, &len);
    if (rc == 0 && c->input_done && !draining)
      rc = vg_linebuf_rest(&c->in, &line, &len);
    if (rc == 0)
      break;
    if (rc == VG_ELIMIT) {
      char msg[128];
      snprintf(msg, sizeof msg,
               "the line is longer than the limit of %zu bytes; closing",
               srv->opts.max_line);
      vg__log("conn %llu: line over %zu bytes", (unsigned long long)c->num,
              srv->opts.max_line);
      answer_error(c, NULL, "too_large", msg);
      /* Nothing after it can be framed: drop the rest. */
      vg_linebuf_close(&c->in);
      vg_linebuf_init(&c->in, srv->opts.max_line);
      finish_input(c, "line too large");
      break;
    }
    handle_line(c, line, len);
  }
  if (!c->closing)
    vg_linebuf_release(&c->in);
  submit(srv);
  bool written = flush(c);
  if (!c->closing && !c->input_done)
    read_as_bounds_allow(c);
  if (written)
    maybe_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct vg__conn *c = h->data;
  char *at;
  size_t avail;
  if (vg_linebuf_reserve(&c->in, suggested, &at, &avail) != 0) {
    *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
    return;
  }
  *buf = uv_buf_init(at, (unsigned)(avail > 0x7fffffff ? 0x7fffffff : avail));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;
  struct vg__conn *c = s->data;
  if (nread > 0) {
    vg_linebuf_commit(&c->in, (size_t)nread);
    pump(c);
    return;
  }
  if (nread == 0)
    return;
  if (nread == UV_EOF) {
    /* The client may close its side and still read the answers. */
    finish_input(c, "end of input");
    pump(c);
    maybe_close(c);
    return;
  }
  close_conn(c, uv_strerror((int)nread));
}

/* ------------------------------------------------------------- accepting */

/* Who a Unix peer is: same uid as the server and no tokens file means an
 * admin under the server's user name; anyone else must authenticate. */
static void identify_unix_peer(struct vg__conn *c, char *desc, size_t len) {
  struct vg_server *srv = c->srv;
  uv_os_fd_t fd;
  struct ucred cred;
  socklen_t clen = sizeof cred;
  if (uv_fileno(&c->h.handle, &fd) != 0 ||
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0) {
    snprintf(desc, len, "unix, peer unknown");
    return;
  }
  snprintf(desc, len, "unix, uid %u", (unsigned)cred.uid);
  if (cred.uid == srv->uid && !srv->opts.tokens) {
    c->role = VG_ROLE_ADMIN;
    snprintf(c->name, sizeof c->name, "%s", srv->user);
  }
}

static void on_connection(uv_stream_t *ls, int status) {
  struct listener *l = ls->data;
  struct vg_server *srv = l->srv;
  if (status < 0) {
    vg__log("accept on %s failed: %s", l->name, uv_strerror(status));
    return;
  }
  struct vg__conn *c = calloc(1, sizeof *c);
  if (!c) {
    vg__log("accept on %s: out of memory", l->name);
    return;
  }
  c->srv = srv;
  c->is_unix = l->addr.type == VG_ADDR_UNIX;
  vg_linebuf_init(&c->in, srv->opts.max_line);
  int rc = c->is_unix ? uv_pipe_init(&srv->loop, &c->h.pipe, 0)
                      : uv_tcp_init(&srv->loop, &c->h.tcp);
  if (rc != 0) {
    free(c);
    return;
  }
  c->h.handle.data = c;
  c->num = ++srv->next_conn;
  c->next = srv->conns;
  if (srv->conns)
    srv->conns->prev = c;
  srv->conns = c;
  srv->nconns++;
  if ((rc = uv_accept(ls, &c->h.stream)) != 0) {
    close_conn(c, uv_strerror(rc));
    return;
  }
  char desc[128];
  if (c->is_unix) {
    identify_unix_peer(c, desc, sizeof desc);
  } else {
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    char ip[64] = "?";
    int port = 0;
    uv_tcp_nodelay(&c->h.tcp, 1);
    if (uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)&ss, &sl) == 0) {
      if (ss.ss_family == AF_INET) {
        uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
        port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
      } else {
        uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
        port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
      }
    }
    snprintf(desc, sizeof desc, "tcp, %s port %d", ip, port);
  }
  vg__log("conn %llu opened on %s (%s)%s%s", (unsigned long long)c->num,
          l->name, desc, c->role ? " as " : "", c->role ? c->name : "");
  if (uv_read_start(&c->h.stream, on_alloc, on_read) == 0)
    c->reading = true;
  else
    close_conn(c, "cannot read");
}

/* ---------------------------------------------------- worker round trip */

static bool event_wanted(const struct vg__conn *c, const struct vg__event *ev) {
  if (!c->subscribed || c->closing || ev->score < c->min_score)
    return false;
  if (c->nkinds == 0)
    return true;
  for (size_t i = 0; i < c->nkinds; i++)
    if (strcmp(c->kinds[i], ev->kind) == 0)
      return true;
  return false;
}

static void publish(struct vg_server *srv, const struct vg__event *ev) {
  for (struct vg__conn *c = srv->conns; c; c = c->next) {
    if (!event_wanted(c, ev))
      continue;
    if (c->backlog + ev->len > srv->opts.max_backlog) {
      /* It stops being a subscriber; what it has is still delivered if it
       * reads, then the reason, then the end. */
      char line[200];
      int n = snprintf(line, sizeof line,
                       "{\"event\":\"closed\",\"reason\":\"subscriber too "
                       "slow: more than %zu bytes of events waiting\"}\n",
                       srv->opts.max_backlog);
      vg__log("conn %llu: subscriber too slow (%zu bytes waiting); "
              "disconnecting",
              (unsigned long long)c->num, c->backlog);
      unsubscribe(c);
      answer_now(c, line, (size_t)n, false);
      finish_input(c, "subscriber too slow");
    } else {
      answer_now(c, ev->data, ev->len, true);
    }
    /* Written at once: as after a completed write, room to read again,
     * or the end of a connection that was to close. */
    if (flush(c)) {
      pump(c);
      maybe_close(c);
    }
  }
}

static void on_notify(uv_async_t *a) {
  struct vg_server *srv = a->data;
  struct vg__shared *sh = &srv->shared;
  uv_mutex_lock(&sh->lock);
  struct vg__reply *done = sh->done;
  struct vg__event *events = sh->events;
  sh->done = sh->done_tail = NULL;
  sh->events = sh->events_tail = NULL;
  uv_mutex_unlock(&sh->lock);

  /* Mark every answer first, then write each connection once. */
  struct vg__conn *touched = NULL;
  for (struct vg__reply *r = done, *next; r; r = next) {
    next = r->qnext;
    struct vg__conn *c = r->conn;
    c->inflight--;
    if (c->closed) {
      /* Its connection went away: unlink and forget the answer. */
      struct vg__reply **link = &c->head;
      while (*link && *link != r)
        link = &(*link)->next;
      if (*link)
        *link = r->next;
      reply_free(r);
      if (c->inflight == 0)
        conn_free(c);
      continue;
    }
    r->ready = true;
    c->held += r->len;
    c->held -= r->line_len;
    r->line_len = 0;
    if (!c->touched) {
      c->touched = true;
      c->touched_next = touched;
      touched = c;
    }
  }
  for (struct vg__event *ev = events, *next; ev; ev = next) {
    next = ev->next;
    publish(srv, ev);
    free(ev->data);
    free(ev);
  }
  /* Connections close asynchronously, so every one touched is still
   * here; room freed up means reading again where it stopped. */
  for (struct vg__conn *c = touched, *next; c; c = next) {
    next = c->touched_next;
    c->touched = false;
    c->touched_next = NULL;
    pump(c);
    maybe_close(c);
  }
  maybe_finish(srv);
}

/* ------------------------------------------------------------- stopping */

static void on_handle_closed(uv_handle_t *h) {
  (void)h;
}

static void close_listeners(struct vg_server *srv) {
  for (size_t i = 0; i < srv->nlisteners; i++) {
    struct listener *l = &srv->listeners[i];
    if (!l->open)
      continue;
    l->open = false;
    uv_close(&l->h.handle, on_handle_closed);
    if (l->created_file) {
      unlink(l->addr.path);
      l->created_file = false;
    }
  }
}

/* Once the last connection is gone: the worker commits and exits, and the
 * loop runs out of handles. */
static void maybe_finish(struct vg_server *srv) {
  if (!srv->stopping || srv->conns || !srv->handles_open)
    return;
  srv->handles_open = false;
  vg__worker_stop(&srv->worker);
  /* Answers to closed connections may have come back meanwhile. */
  on_notify(&srv->notify);
  uv_close((uv_handle_t *)&srv->notify, on_handle_closed);
  uv_close((uv_handle_t *)&srv->sigint, on_handle_closed);
  uv_close((uv_handle_t *)&srv->sigterm, on_handle_closed);
  uv_close((uv_handle_t *)&srv->sighup, on_handle_closed);
  uv_close((uv_handle_t *)&srv->sweep, on_handle_closed);
  struct vg__worker *w = &srv->worker;
  vg__log("stopped: %llu requests, %llu records screened (%llu rejected) in "
          "%llu commits",
          (unsigned long long)w->requests, (unsigned long long)w->records,
          (unsigned long long)w->rejected, (unsigned long long)w->batches);
}

static void stop(struct vg_server *srv, int signum) {
  if (srv->stopping) {
    /* A second signal: stop waiting for slow readers. */
    if (!srv->forced) {
      srv->forced = true;
      vg__log("signal %d again: closing every connection now", signum);
      for (struct vg__conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        close_conn(c, "server stopping");
      }
    }
    return;
  }
  srv->stopping = true;
  vg__log("signal %d: stopping; answering the %zu connection%s' requests "
          "already read",
          signum, srv->nconns, srv->nconns == 1 ? "" : "s");
  close_listeners(srv);
  for (struct vg__conn *c = srv->conns, *next; c; c = next) {
    next = c->next;
    if (c->closing)
      continue;
    if (c->subscribed) {
      static const char bye[] =
          "{\"event\":\"closed\",\"reason\":\"server stopping\"}\n";
      unsubscribe(c);
      answer_now(c, bye, sizeof bye - 1, false);
    }
    finish_input(c, "server stopping");
    pump(c);
    maybe_close(c);
  }
  maybe_finish(srv);
}

static void on_signal(uv_signal_t *s, int signum) {
  struct vg_server *srv = s->data;
  if (signum == SIGHUP) {
    vg__log("SIGHUP: reloading the rules from '%s'", srv->opts.rules_dir);
    uv_mutex_lock(&srv->shared.lock);
    srv->shared.reload = true;
    uv_cond_signal(&srv->shared.wake);
    uv_mutex_unlock(&srv->shared.lock);
    return;
  }
  stop(srv, signum);
}

/* Closes connections that are being closed but have made no progress for
 * the grace period (a client that does not read what it is owed). */
static void on_sweep(uv_timer_t *t) {
  struct vg_server *srv = t->data;
  uint64_t now = uv_now(&srv->loop);
  for (struct vg__conn *c = srv->conns, *next; c; c = next) {
    next = c->next;
    if (c->close_when_done && !c->closing && !c->inflight &&
        now - c->progress_ms > CLOSE_GRACE_MS)
      close_conn(c, "no progress writing the last answers");
  }
}

/* ------------------------------------------------------------ listening */

static bool is_loopback(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
      return true;
    return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
           in6->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

static int listen_tcp(struct vg_server *srv, struct listener *l, char *err,
                      size_t errlen) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  char port[16];
  snprintf(port, sizeof port, "%d", l->addr.port);
  int grc = getaddrinfo(l->addr.host, port, &hints, &res);
  if (grc != 0) {
    snprintf(err, errlen, "tcp:%s:%d: %s", l->addr.host, l->addr.port,
             gai_strerror(grc));
    return VG_EINVAL;
  }
  int rc = 0;
  if (!srv->opts.allow_remote && !is_loopback(res->ai_addr)) {
    snprintf(err, errlen,
             "tcp:%s:%d is not a loopback address; --allow-remote allows "
             "other addresses",
             l->addr.host, l->addr.port);
    rc = VG_EINVAL;
    goto out;
  }
  if ((rc = uv_tcp_init(&srv->loop, &l->h.tcp)) != 0) {
    snprintf(err, errlen, "tcp: %s", uv_strerror(rc));
    rc = VG_EIO;
    goto out;
  }
  l->open = true;
  l->h.handle.data = l;
  if ((rc = uv_tcp_bind(&l->h.tcp, res->ai_addr, 0)) != 0 ||
      (rc = uv_listen(&l->h.stream, 1024, on_connection)) != 0) {
    snprintf(err, errlen, "cannot listen on tcp:%s:%d: %s", l->addr.host,
             l->addr.port, uv_strerror(rc));
    rc = VG_EIO;
    goto out;
  }
  struct sockaddr_storage ss;
  int sl = sizeof ss;
  char ip[64] = "?";
  int bound = l->addr.port;
  if (uv_tcp_getsockname(&l->h.tcp, (struct sockaddr *)&ss, &sl) == 0) {
    if (ss.ss_family == AF_INET) {
      uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
      bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
      snprintf(l->name, sizeof l->name, "tcp:%s:%d", ip, bound);
    } else {
      uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
      bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
      snprintf(l->name, sizeof l->name, "tcp:[%s]:%d", ip, bound);
    }
  }
out:
  freeaddrinfo(res);
  return rc;
}

/* A socket file left by a server that died is replaced; one a running
 * server answers on, or any other file, is not. */
static int clear_stale(const char *path, char *err, size_t errlen) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return errno == ENOENT
               ? 0
               : (snprintf(err, errlen, "unix:%s: %s", path, strerror(errno)),
                  VG_EIO);
  if (!S_ISSOCK(st.st_mode)) {
    snprintf(err, errlen, "unix:%s exists and is not a socket", path);
    return VG_EIO;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(err, errlen, "unix:%s: %s", path, strerror(errno));
    return VG_EIO;
  }
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  memcpy(sun.sun_path, path, strlen(path) + 1);
  int live = connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0;
  int e = errno;
  close(fd);
  if (live) {
    snprintf(err, errlen, "unix:%s is in use by a running server", path);
    return VG_EIO;
  }
  if (e != ECONNREFUSED) {
    snprintf(err, errlen, "unix:%s: %s", path, strerror(e));
    return VG_EIO;
  }
  if (unlink(path) != 0) {
    snprintf(err, errlen, "cannot remove the stale socket unix:%s: %s", path,
             strerror(errno));
    return VG_EIO;
  }
  return 0;
}

static int listen_unix(struct vg_server *srv, struct listener *l, char *err,
                       size_t errlen) {
  const char *path = l->addr.path;
  int rc = clear_stale(path, err, errlen);
  if (rc != 0)
    return rc;
  if ((rc = uv_pipe_init(&srv->loop, &l->h.pipe, 0)) != 0) {
    snprintf(err, errlen, "unix:%s: %s", path, uv_strerror(rc));
    return VG_EIO;
  }
  l->open = true;
  l->h.handle.data = l;
  /* Created private: no moment when another user could connect. */
  mode_t old = umask(0177);
  rc = uv_pipe_bind(&l->h.pipe, path);
  umask(old);
  if (rc == 0) {
    l->created_file = true;
    if (chmod(path, 0600) != 0)
      rc = uv_translate_sys_error(errno);
  }
  if (rc == 0)
    rc = uv_listen(&l->h.stream, 1024, on_connection);
  if (rc != 0) {
    snprintf(err, errlen, "cannot listen on unix:%s: %s", path,
             uv_strerror(rc));
    return VG_EIO;
  }
  snprintf(l->name, sizeof l->name, "unix:%s", path);
  return 0;
}

/* ------------------------------------------------------------ lifecycle */

static void find_user(struct vg_server *srv) {
  srv->uid = geteuid();
  struct passwd pw, *found = NULL;
  char buf[4096];
  if (getpwuid_r(srv->uid, &pw, buf, sizeof buf, &found) == 0 && found &&
      found->pw_name[0])
    snprintf(srv->user, sizeof srv->user, "%s", found->pw_name);
  else
    snprintf(srv->user, sizeof srv->user, "uid%u", (unsigned)srv->uid);
}

/* Many connections need many descriptors: use what the system allows. */
static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int vg_server_new(const struct vg_server_options *opts, vg_ruleset *rs,
                  vg_store *store, struct vg_server **out, char *err,
                  size_t errlen) {
  struct vg_server *srv = calloc(1, sizeof *srv);
  if (!srv) {
    vg_ruleset_free(rs);
    snprintf(err, errlen, "out of memory");
    return VG_ENOMEM;
  }
  int rc = VG_EINVAL;
  srv->opts = *opts;
  if (!srv->opts.max_line)
    srv->opts.max_line = VG_DEFAULT_MAX_RECORD_BYTES;
  if (!srv->opts.max_pending)
    srv->opts.max_pending = DEFAULT_MAX_PENDING;
  if (!srv->opts.max_backlog)
    srv->opts.max_backlog = DEFAULT_MAX_BACKLOG;
  vg_jsonw_init(&srv->scratch);
  find_user(srv);
  srv->status = 0;

  if (opts->nlisten == 0) {
    snprintf(err, errlen, "no listen address");
    goto fail_rs;
  }
  for (size_t i = 0; i < opts->nlisten; i++)
    if (opts->listen[i].type == VG_ADDR_TCP && !opts->tokens) {
      snprintf(err, errlen,
               "tcp:%s:%d needs --tokens FILE: TCP peers always "
               "authenticate with a token",
               opts->listen[i].host, opts->listen[i].port);
      goto fail_rs;
    }
  rc = VG_ENOMEM;
  if (!(srv->parser = vg_request_parser_new()) ||
      !(srv->listeners = calloc(opts->nlisten, sizeof *srv->listeners))) {
    snprintf(err, errlen, "out of memory");
    goto fail_rs;
  }
  if (uv_mutex_init(&srv->shared.lock) != 0) {
    snprintf(err, errlen, "cannot create a lock");
    goto fail_rs;
  }
  if (uv_cond_init(&srv->shared.wake) != 0) {
    uv_mutex_destroy(&srv->shared.lock);
    snprintf(err, errlen, "cannot create a condition variable");
    goto fail_rs;
  }
  srv->shared_init = true;
  atomic_init(&srv->shared.subscribers, 0);
  srv->worker_init = true;
  if ((rc = vg__worker_init(&srv->worker, &srv->shared, rs, store, opts, err,
                            errlen)) != 0)
    goto fail;
  if (uv_loop_init(&srv->loop) != 0) {
    snprintf(err, errlen, "cannot create the event loop");
    rc = VG_EIO;
    goto fail;
  }
  srv->loop_open = true;
  raise_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  for (size_t i = 0; i < opts->nlisten; i++) {
    struct listener *l = &srv->listeners[i];
    l->srv = srv;
    l->addr = opts->listen[i];
    srv->nlisteners++;
    rc = l->addr.type == VG_ADDR_UNIX ? listen_unix(srv, l, err, errlen)
                                      : listen_tcp(srv, l, err, errlen);
    if (rc != 0)
      goto fail;
  }
  uv_async_init(&srv->loop, &srv->notify, on_notify);
  srv->notify.data = srv;
  srv->shared.notify = &srv->notify;
  uv_signal_init(&srv->loop, &srv->sigint);
  uv_signal_init(&srv->loop, &srv->sigterm);
  uv_signal_init(&srv->loop, &srv->sighup);
  srv->sigint.data = srv->sigterm.data = srv->sighup.data = srv;
  uv_timer_init(&srv->loop, &srv->sweep);
  srv->sweep.data = srv;
  srv->handles_open = true;
  *out = srv;
  return 0;
fail_rs:
  vg_ruleset_free(rs);
fail:
  vg_server_free(srv);
  return rc;
}

int vg_server_run(struct vg_server *srv) {
  if ((uv_signal_start(&srv->sigint, on_signal, SIGINT)) != 0 ||
      uv_signal_start(&srv->sigterm, on_signal, SIGTERM) != 0 ||
      uv_signal_start(&srv->sighup, on_signal, SIGHUP) != 0) {
    vg__log("cannot catch signals");
    return VG_EIO;
  }
  uv_timer_start(&srv->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
  uv_unref((uv_handle_t *)&srv->sweep);
  if (vg__worker_start(&srv->worker) != 0) {
    vg__log("cannot start the worker thread");
    return VG_ENOMEM;
  }
  for (size_t i = 0; i < srv->nlisteners; i++)
    vg__log("listening on %s", srv->listeners[i].name);
  vg__log("ready: %zu rules from '%s'%s", vg_ruleset_rule_count(srv->worker.rs),
          srv->opts.rules_dir,
          srv->opts.tokens ? ""
                           : "; no tokens file: same-user Unix peers "
                             "act as admin");
  int rc = uv_run(&srv->loop, UV_RUN_DEFAULT);
  (void)rc;
  return srv->status;
}

void vg_server_free(struct vg_server *srv) {
  if (!srv)
    return;
  if (srv->loop_open) {
    close_listeners(srv);
    for (struct vg__conn *c = srv->conns, *next; c; c = next) {
      next = c->next;
      close_conn(c, "server freed");
    }
    if (srv->handles_open) {
      srv->handles_open = false;
      vg__worker_stop(&srv->worker);
      uv_close((uv_handle_t *)&srv->notify, on_handle_closed);
      uv_close((uv_handle_t *)&srv->sigint, on_handle_closed);
      uv_close((uv_handle_t *)&srv->sigterm, on_handle_closed);
      uv_close((uv_handle_t *)&srv->sighup, on_handle_closed);
      uv_close((uv_handle_t *)&srv->sweep, on_handle_closed);
    }
    uv_run(&srv->loop, UV_RUN_DEFAULT);
    uv_loop_close(&srv->loop);
  }
  if (srv->worker_init) {
    vg__worker_stop(&srv->worker);
    vg__worker_close(&srv->worker);
  }
  if (srv->shared_init) {
    /* Whatever the worker never took back. */
    for (struct vg__reply *r = srv->shared.queue, *next; r; r = next) {
      next = r->qnext;
      reply_free(r);
    }
    for (struct vg__event *ev = srv->shared.events, *next; ev; ev = next) {
      next = ev->next;
      free(ev->data);
      free(ev);
    }
    uv_cond_destroy(&srv->shared.wake);
    uv_mutex_destroy(&srv->shared.lock);
  }
  vg_request_parser_free(srv->parser);
  free(srv->listeners);
  vg_jsonw_close(&srv->scratch);
  free(srv);
}
