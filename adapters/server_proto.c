/* server_proto.c - the wire side of `vigia serve` that needs no socket:
 * listen addresses, ops and roles, the request line parser (one pass of the
 * strict JSON scanner, no tree built, so a screen request's records are
 * handed to the evaluator as the client wrote them) and NDJSON framing. */
#include "server.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vg_error.h"

/* ------------------------------------------------------------ addresses */

int vg_listen_addr_parse(const char *text, struct vg_listen_addr *out,
                         char *err, size_t errlen) {
  struct vg_listen_addr a;
  memset(&a, 0, sizeof a);
  if (strncmp(text, "unix:", 5) == 0) {
    const char *path = text + 5;
    size_t len = strlen(path);
    if (len == 0) {
      snprintf(err, errlen, "'%s': unix: needs a socket path", text);
      return VG_EINVAL;
    }
    if (len >= sizeof a.path) {
      snprintf(err, errlen, "'%s': a socket path is at most %zu bytes", text,
               sizeof a.path - 1);
      return VG_EINVAL;
    }
    a.type = VG_ADDR_UNIX;
    memcpy(a.path, path, len + 1);
    *out = a;
    return 0;
  }
  if (strncmp(text, "tcp:", 4) != 0) {
    snprintf(err, errlen,
             "'%s': a listen address is unix:PATH or tcp:HOST:PORT", text);
    return VG_EINVAL;
  }
  const char *host = text + 4, *colon;
  size_t hlen;
  if (*host == '[') {
    const char *close = strchr(host, ']');
    if (!close || close[1] != ':') {
      snprintf(err, errlen, "'%s': an IPv6 address is written [ADDR]:PORT",
               text);
      return VG_EINVAL;
    }
    host++;
    hlen = (size_t)(close - host);
    colon = close + 1;
  } else {
    colon = strrchr(host, ':');
    if (!colon) {
      snprintf(err, errlen, "'%s': tcp: needs HOST:PORT", text);
      return VG_EINVAL;
    }
    hlen = (size_t)(colon - host);
    if (memchr(host, ':', hlen)) {
      snprintf(err, errlen, "'%s': an IPv6 address is written [ADDR]:PORT",
               text);
      return VG_EINVAL;
    }
  }
  if (hlen == 0 || hlen >= sizeof a.host) {
    snprintf(err, errlen, "'%s': tcp: needs a host", text);
    return VG_EINVAL;
  }
  const char *port = colon + 1;
  char *end;
  errno = 0;
  long p = strtol(port, &end, 10);
  if (*port < '0' || *port > '9' || *end || errno || p < 0 || p > 65535) {
    snprintf(err, errlen, "'%s': the port is a number from 0 to 65535", text);
    return VG_EINVAL;
  }
  a.type = VG_ADDR_TCP;
  memcpy(a.host, host, hlen);
  a.host[hlen] = '\0';
  a.port = (int)p;
  *out = a;
  return 0;
}

/* ------------------------------------------------------------ ops, roles */

static const char *const op_names[VG_OP_COUNT] = {
    [VG_OP_AUTH] = "auth",
    [VG_OP_SCREEN] = "screen",
    [VG_OP_QUEUE] = "queue",
    [VG_OP_CASE_SHOW] = "case.show",
    [VG_OP_CASE_CLAIM] = "case.claim",
    [VG_OP_CASE_RELEASE] = "case.release",
    [VG_OP_CASE_DECIDE] = "case.decide",
    [VG_OP_CASE_NOTE] = "case.note",
    [VG_OP_CASE_REOPEN] = "case.reopen",
    [VG_OP_SUBSCRIBE] = "subscribe",
    [VG_OP_STATS] = "stats"};

const char *vg_op_name(enum vg_op op) {
  return (size_t)op < VG_OP_COUNT ? op_names[op] : "?";
}

bool vg_role_allows(enum vg_role role, enum vg_op op) {
  switch (op) {
  case VG_OP_AUTH:
    return true;
  case VG_OP_SCREEN:
    return role == VG_ROLE_INGEST || role == VG_ROLE_ADMIN;
  case VG_OP_STATS:
    return role == VG_ROLE_ADMIN;
  default:
    return role == VG_ROLE_REVIEWER || role == VG_ROLE_ADMIN;
  }
}

/* ------------------------------------------------------------- requests */

/* The keys looked for, in the order of the parser's trie. */
enum key {
  K_OP,
  K_ID,
  K_TOKEN,
  K_RECORD,
  K_RECORDS,
  K_CASE_ID,
  K_DECISION,
  K_NOTE,
  K_REASON,
  K_STATUS,
  K_KIND,
  K_ROUTE,
  K_RULE,
  K_ASSIGNEE,
  K_MIN_SCORE,
  K_SINCE,
  K_LIMIT,
  K_KINDS,
  K_COUNT
};

static const char *const key_names[K_COUNT] = {
    "op",       "id",       "token",     "record", "records", "case_id",
    "decision", "note",     "reason",    "status", "kind",    "route",
    "rule",     "assignee", "min_score", "since",  "limit",   "kinds"};

struct vg_request_parser {
  struct vg_pathtrie *trie;
};

struct vg_request_parser *vg_request_parser_new(void) {
  struct vg_request_parser *p = calloc(1, sizeof *p);
  if (!p || !(p->trie = vg_pathtrie_new()))
    goto fail;
  for (size_t i = 0; i < K_COUNT; i++)
    if (vg_pathtrie_add(p->trie, key_names[i], strlen(key_names[i])) != (int)i)
      goto fail;
  return p;
fail:
  vg_request_parser_free(p);
  return NULL;
}

void vg_request_parser_free(struct vg_request_parser *p) {
  if (!p)
    return;
  vg_pathtrie_free(p->trie);
  free(p);
}

void vg_request_close(struct vg_request *req) {
  free(req->record_spans);
  free(req->token);
  free(req->note);
  free(req->reason);
  free((char *)req->filter.status);
  free((char *)req->filter.kind);
  free((char *)req->filter.route);
  free((char *)req->filter.rule);
  free((char *)req->filter.assignee);
  for (size_t i = 0; i < req->nkinds; i++)
    free(req->kinds[i]);
  memset(req, 0, sizeof *req);
}

/* What one parse works on. */
struct parse {
  const char *line;
  struct vg_json_token tok[K_COUNT];
  char *err;
  size_t errlen;
};

static int fail(struct parse *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct parse *ps, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ps->err, ps->errlen, fmt, ap);
  va_end(ap);
  return VG_EINVAL;
}

static bool present(const struct parse *ps, enum key k) {
  return ps->tok[k].kind != VG_JSON_ABSENT;
}

/* A string value as a NUL-terminated copy. JSON allows "\u0000", which no
 * name, note or token may hold. */
static int copy_string(struct parse *ps, const struct vg_json_token *t,
                       const char *what, char **out, size_t *outlen) {
  if (t->kind != VG_JSON_STRING)
    return fail(ps, "'%s' must be a string", what);
  char *s = malloc((size_t)t->len + 1);
  if (!s)
    return VG_ENOMEM;
  size_t n = t->escaped ? vg_json_unescape(ps->line + t->start, t->len, s)
                        : (memcpy(s, ps->line + t->start, t->len), t->len);
  s[n] = '\0';
  if (memchr(s, '\0', n)) {
    free(s);
    return fail(ps, "'%s' must not contain a NUL character", what);
  }
  *out = s;
  if (outlen)
    *outlen = n;
  return 0;
}

/* An optional string key: absent leaves *out NULL. */
static int opt_string(struct parse *ps, enum key k, char **out) {
  if (!present(ps, k) || ps->tok[k].kind == VG_JSON_NULL)
    return 0;
  return copy_string(ps, &ps->tok[k], key_names[k], out, NULL);
}

/* An optional integer key within [min, max]; absent leaves *out. */
static int opt_int(struct parse *ps, enum key k, int64_t min, int64_t max,
                   int64_t *out) {
  const struct vg_json_token *t = &ps->tok[k];
  if (!present(ps, k) || t->kind == VG_JSON_NULL)
    return 0;
  double d;
  bool integral = false;
  int64_t v = 0;
  if (t->kind != VG_JSON_NUMBER ||
      vg_json_number(ps->line + t->start, t->len, &d, &integral, &v) != 0 ||
      !integral || v < min || v > max)
    return fail(ps, "'%s' must be a whole number from %lld to %lld",
                key_names[k], (long long)min, (long long)max);
  *out = v;
  return 0;
}

/* `since` as the CLI takes it: a date, an RFC 3339 datetime, or an age
 * such as "7d" or "12h" before now. */
static int parse_since(struct parse *ps, const char *text, int64_t now_us,
                       int64_t *out) {
  if (vg_store_time_parse(text, out) == 0)
    return 0;
  size_t len = strlen(text);
  int64_t n = 0;
  bool ok =
      len >= 2 && len <= 8 && (text[len - 1] == 'd' || text[len - 1] == 'h');
  for (size_t i = 0; ok && i + 1 < len; i++) {
    ok = text[i] >= '0' && text[i] <= '9';
    n = n * 10 + (text[i] - '0');
  }
  if (!ok || n > 100000)
    return fail(ps, "'since' takes a date, an RFC 3339 datetime or an age "
                    "like 7d or 12h");
  int64_t unit = text[len - 1] == 'd' ? INT64_C(86400) : INT64_C(3600);
  *out = now_us - n * unit * 1000000;
  return 0;
}

static int parse_op(struct parse *ps, enum vg_op *op) {
  const struct vg_json_token *t = &ps->tok[K_OP];
  if (!present(ps, K_OP))
    return fail(ps, "a request needs \"op\"");
  if (t->kind != VG_JSON_STRING)
    return fail(ps, "'op' must be a string");
  char name[16];
  size_t n = 0;
  if (t->len < sizeof name) {
    n = t->escaped ? vg_json_unescape(ps->line + t->start, t->len, name)
                   : (memcpy(name, ps->line + t->start, t->len), t->len);
    for (size_t i = 0; i < VG_OP_COUNT; i++)
      if (strlen(op_names[i]) == n && memcmp(op_names[i], name, n) == 0) {
        *op = (enum vg_op)i;
        return 0;
      }
  }
  /* Echo the name only when it is plainly printable and short. */
  bool plain = n > 0 && t->len < sizeof name;
  for (size_t i = 0; plain && i < n; i++)
    plain =
        (name[i] >= 'a' && name[i] <= 'z') || name[i] == '.' || name[i] == '_';
  if (plain)
    return fail(ps, "unknown op '%.*s'", (int)n, name);
  return fail(ps, "unknown op");
}

static int parse_screen(struct parse *ps, struct vg_request *req) {
  bool one = present(ps, K_RECORD), many = present(ps, K_RECORDS);
  if (one && many)
    return fail(ps, "screen takes 'record' or 'records', not both");
  if (!one && !many)
    return fail(ps, "screen needs 'record' (an object) or 'records' (an "
                    "array of objects)");
  if (one) {
    if (ps->tok[K_RECORD].kind != VG_JSON_OBJECT)
      return fail(ps, "'record' must be a JSON object");
    req->records = ps->tok[K_RECORD];
    req->nrecords = 1;
    return 0;
  }
  const struct vg_json_token *arr = &ps->tok[K_RECORDS];
  if (arr->kind != VG_JSON_ARRAY)
    return fail(ps, "'records' must be an array of JSON objects");
  req->records = *arr;
  req->batch = true;
  req->record_spans =
      malloc((arr->count ? arr->count : 1) * sizeof *req->record_spans);
  if (!req->record_spans)
    return VG_ENOMEM;
  struct vg_json_iter it;
  struct vg_json_token elem;
  size_t i = 0;
  vg_json_iter_init(&it, ps->line, arr);
  while (i < arr->count && vg_json_iter_next(&it, &elem)) {
    if (elem.kind != VG_JSON_OBJECT)
      return fail(ps, "'records' element %zu is not a JSON object", i + 1);
    req->record_spans[i].start = elem.start;
    req->record_spans[i].len = elem.len;
    i++;
  }
  req->nrecords = i;
  return 0;
}

static int parse_case(struct parse *ps, struct vg_request *req) {
  if (!present(ps, K_CASE_ID) || ps->tok[K_CASE_ID].kind == VG_JSON_NULL)
    return fail(ps, "%s needs 'case_id'", vg_op_name(req->op));
  int rc = opt_int(ps, K_CASE_ID, 1, INT64_MAX, &req->case_id);
  if (rc == 0)
    rc = opt_string(ps, K_NOTE, &req->note);
  if (rc == 0)
    rc = opt_string(ps, K_REASON, &req->reason);
  if (rc != 0)
    return rc;
  bool needs_note = false;
  switch (req->op) {
  case VG_OP_CASE_CLAIM:
    req->action = VG_ACT_CLAIM;
    break;
  case VG_OP_CASE_RELEASE:
    req->action = VG_ACT_RELEASE;
    break;
  case VG_OP_CASE_NOTE:
    req->action = VG_ACT_NOTE;
    needs_note = true;
    break;
  case VG_OP_CASE_REOPEN:
    req->action = VG_ACT_REOPEN;
    needs_note = true;
    break;
  case VG_OP_CASE_DECIDE: {
    char *d = NULL;
    if (!present(ps, K_DECISION))
      return fail(ps, "case.decide needs 'decision' (escalate, confirm or "
                      "dismiss)");
    if ((rc = copy_string(ps, &ps->tok[K_DECISION], "decision", &d, NULL)))
      return rc;
    if (strcmp(d, "escalate") == 0)
      req->action = VG_ACT_ESCALATE;
    else if (strcmp(d, "confirm") == 0)
      req->action = VG_ACT_CONFIRM;
    else if (strcmp(d, "dismiss") == 0)
      req->action = VG_ACT_DISMISS;
    else
      rc = fail(ps, "'decision' is escalate, confirm or dismiss");
    free(d);
    if (rc != 0)
      return rc;
    needs_note = true;
    if (req->action == VG_ACT_DISMISS && !req->reason)
      return fail(ps, "dismiss needs 'reason' (false_positive, "
                      "insufficient_information, duplicate, other)");
    break;
  }
  default: /* case.show */
    return 0;
  }
  if (needs_note && (!req->note || !*req->note))
    return fail(ps, "%s needs a 'note'", vg_op_name(req->op));
  if (req->reason && req->action != VG_ACT_DISMISS)
    return fail(ps, "'reason' goes with the dismiss decision only");
  if (req->reason && !vg_dismiss_reason_valid(req->reason))
    return fail(ps, "unknown reason (false_positive, "
                    "insufficient_information, duplicate, other)");
  return 0;
}

static int parse_queue(struct parse *ps, struct vg_request *req,
                       int64_t now_us) {
  struct vg_queue_filter *f = &req->filter;
  char *s[5] = {NULL};
  static const enum key keys[5] = {K_STATUS, K_KIND, K_ROUTE, K_RULE,
                                   K_ASSIGNEE};
  int rc = 0;
  for (size_t i = 0; i < 5 && rc == 0; i++)
    rc = opt_string(ps, keys[i], &s[i]);
  f->status = s[0];
  f->kind = s[1];
  f->route = s[2];
  f->rule = s[3];
  f->assignee = s[4];
  if (rc != 0)
    return rc;
  if (f->status && !vg_case_status_valid(f->status))
    return fail(ps, "unknown status (new, in_review, escalated, confirmed, "
                    "dismissed)");
  int64_t min_score = 0, limit = VG_QUEUE_DEFAULT_LIMIT;
  if ((rc = opt_int(ps, K_MIN_SCORE, 0, 100, &min_score)) ||
      (rc = opt_int(ps, K_LIMIT, 0, 100000000, &limit)))
    return rc;
  f->min_score = (int)min_score;
  f->limit = (long)limit;
  char *since = NULL;
  if ((rc = opt_string(ps, K_SINCE, &since)) || !since)
    return rc;
  rc = parse_since(ps, since, now_us, &f->since);
  free(since);
  return rc;
}

static int parse_subscribe(struct parse *ps, struct vg_request *req) {
  int64_t min_score = 0;
  int rc = opt_int(ps, K_MIN_SCORE, 0, 100, &min_score);
  if (rc != 0)
    return rc;
  req->min_score = (int)min_score;
  const struct vg_json_token *t = &ps->tok[K_KINDS];
  if (!present(ps, K_KINDS) || t->kind == VG_JSON_NULL)
    return 0;
  if (t->kind != VG_JSON_ARRAY)
    return fail(ps, "'kinds' must be an array of kind names");
  if (t->count > VG_REQUEST_MAX_KINDS)
    return fail(ps, "'kinds' names at most %d kinds", VG_REQUEST_MAX_KINDS);
  struct vg_json_iter it;
  struct vg_json_token elem;
  vg_json_iter_init(&it, ps->line, t);
  while (vg_json_iter_next(&it, &elem)) {
    if (req->nkinds == VG_REQUEST_MAX_KINDS)
      return fail(ps, "'kinds' names at most %d kinds", VG_REQUEST_MAX_KINDS);
    char *kind = NULL;
    if ((rc = copy_string(ps, &elem, "kinds", &kind, NULL)) != 0)
      return rc;
    req->kinds[req->nkinds++] = kind;
  }
  return 0;
}

int vg_request_parse(const struct vg_request_parser *p, const char *line,
                     size_t len, int64_t now_us, struct vg_request *req,
                     char *err, size_t errlen) {
  memset(req, 0, sizeof *req);
  struct parse ps = {.line = line, .err = err, .errlen = errlen};
  struct vg_json_error jerr;
  if (vg_json_scan(p->trie, line, len, ps.tok, &jerr) != 0) {
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
      i++;
    if (i == len || line[i] != '{')
      return fail(&ps, "a request is one JSON object on one line");
    return fail(&ps, "invalid JSON at byte %zu: %s", jerr.offset + 1,
                jerr.message);
  }
  const struct vg_json_token *id = &ps.tok[K_ID];
  if (id->kind == VG_JSON_STRING) {
    /* The string's text with its quotes, escapes as the client wrote. */
    req->id = line + id->start - 1;
    req->id_len = (size_t)id->len + 2;
  } else if (id->kind != VG_JSON_ABSENT) {
    req->id = line + id->start;
    req->id_len = id->len;
  }
  int rc = parse_op(&ps, &req->op);
  if (rc != 0)
    return rc;
  switch (req->op) {
  case VG_OP_AUTH:
    if (!present(&ps, K_TOKEN))
      return fail(&ps, "auth needs 'token'");
    rc = copy_string(&ps, &ps.tok[K_TOKEN], "token", &req->token,
                     &req->token_len);
    if (rc == 0 &&
        (req->token_len == 0 || req->token_len > VG_REQUEST_MAX_TOKEN))
      rc = fail(&ps, "'token' must hold 1 to %d bytes", VG_REQUEST_MAX_TOKEN);
    return rc;
  case VG_OP_SCREEN:
    return parse_screen(&ps, req);
  case VG_OP_QUEUE:
    return parse_queue(&ps, req, now_us);
  case VG_OP_SUBSCRIBE:
    return parse_subscribe(&ps, req);
  case VG_OP_STATS:
    return 0;
  default:
    return parse_case(&ps, req);
  }
}

/* -------------------------------------------------------------- framing */

/* Reads come in this size; a buffer never grows past a line and one read. */
#define READ_CHUNK ((size_t)64 << 10)

void vg_linebuf_init(struct vg_linebuf *lb, size_t max_line) {
  memset(lb, 0, sizeof *lb);
  lb->max_line = max_line;
}

void vg_linebuf_close(struct vg_linebuf *lb) {
  free(lb->data);
  memset(lb, 0, sizeof *lb);
}

int vg_linebuf_reserve(struct vg_linebuf *lb, size_t want, char **at,
                       size_t *avail) {
  if (want < READ_CHUNK)
    want = READ_CHUNK;
  if (lb->start > 0 && lb->cap - lb->len < want) {
    /* Move the partial line to the front before growing. */
    size_t held = lb->len - lb->start;
    memmove(lb->data, lb->data + lb->start, held);
    lb->len = held;
    lb->scanned -= lb->start;
    lb->start = 0;
  }
  if (lb->cap - lb->len < want) {
    size_t cap = lb->len + want;
    char *grown = realloc(lb->data, cap);
    if (!grown)
      return VG_ENOMEM;
    lb->data = grown;
    lb->cap = cap;
  }
  *at = lb->data + lb->len;
  *avail = lb->cap - lb->len;
  return 0;
}

void vg_linebuf_commit(struct vg_linebuf *lb, size_t n) {
  lb->len += n;
}

int vg_linebuf_next(struct vg_linebuf *lb, const char **line, size_t *len) {
  const char *nl = NULL;
  if (lb->scanned < lb->start)
    lb->scanned = lb->start;
  if (lb->len > lb->scanned)
    nl = memchr(lb->data + lb->scanned, '\n', lb->len - lb->scanned);
  if (!nl) {
    lb->scanned = lb->len;
    /* "\r" may still end the line, so one byte more is allowed until the
     * newline arrives. */
    return lb->len - lb->start > lb->max_line + 1 ? VG_ELIMIT : 0;
  }
  size_t end = (size_t)(nl - lb->data);
  size_t n = end - lb->start;
  if (n > 0 && lb->data[end - 1] == '\r')
    n--;
  if (n > lb->max_line)
    return VG_ELIMIT;
  *line = lb->data + lb->start;
  *len = n;
  lb->start = end + 1;
  lb->scanned = lb->start;
  return 1;
}

int vg_linebuf_rest(struct vg_linebuf *lb, const char **line, size_t *len) {
  int rc = vg_linebuf_next(lb, line, len);
  if (rc != 0)
    return rc;
  size_t n = lb->len - lb->start;
  if (n == 0)
    return 0;
  if (lb->data[lb->len - 1] == '\r')
    n--;
  if (n > lb->max_line)
    return VG_ELIMIT;
  *line = lb->data + lb->start;
  *len = n;
  lb->start = lb->scanned = lb->len;
  return 1;
}

void vg_linebuf_release(struct vg_linebuf *lb) {
  if (lb->start < lb->len)
    return;
  free(lb->data);
  size_t max = lb->max_line;
  memset(lb, 0, sizeof *lb);
  lb->max_line = max;
}
