/* server.h - `vigia serve`, the socket interface of SPEC 5: listen
 * addresses, the request line parser, NDJSON framing, and the server (a
 * libuv loop for the sockets and one worker thread that owns the ruleset,
 * the evaluator and the store). */
#ifndef VG_SERVER_H
#define VG_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "store.h"
#include "tokens.h"
#include "vigia.h"

/* ------------------------------------------------------------ addresses */

enum vg_addr_type { VG_ADDR_UNIX, VG_ADDR_TCP };

struct vg_listen_addr {
  enum vg_addr_type type;
  char path[108]; /* unix: the socket file */
  char host[256]; /* tcp: name or address, without IPv6 brackets */
  int port;       /* tcp: 0 picks a free port (logged when listening) */
};

/* Parses unix:PATH or tcp:HOST:PORT (tcp:[::1]:PORT for IPv6). Returns 0
 * and fills *out, or VG_EINVAL with the reason in err. */
int vg_listen_addr_parse(const char *text, struct vg_listen_addr *out,
                         char *err, size_t errlen);

/* ------------------------------------------------------------- requests */

enum vg_op {
  VG_OP_AUTH,
  VG_OP_SCREEN,
  VG_OP_QUEUE,
  VG_OP_CASE_SHOW,
  VG_OP_CASE_CLAIM,
  VG_OP_CASE_RELEASE,
  VG_OP_CASE_DECIDE,
  VG_OP_CASE_NOTE,
  VG_OP_CASE_REOPEN,
  VG_OP_SUBSCRIBE,
  VG_OP_STATS
};
#define VG_OP_COUNT 11

/* The op's name on the wire ("case.show"); never NULL. */
const char *vg_op_name(enum vg_op op);
/* True when a peer of that role may perform op: anyone may `auth`; ingest
 * may `screen`; reviewer may `queue`, `case.*` and `subscribe`; admin may
 * do everything. */
bool vg_role_allows(enum vg_role role, enum vg_op op);

#define VG_REQUEST_MAX_KINDS 32
#define VG_REQUEST_MAX_TOKEN 1024
#define VG_QUEUE_DEFAULT_LIMIT 50

/* One request line, checked. Strings are NUL-terminated copies owned by
 * the request; id and the records point into the line parsed, which must
 * outlive the request. */
struct vg_request {
  enum vg_op op;
  const char *id; /* the raw JSON text of "id" (any value), or NULL */
  size_t id_len;
  /* screen: `record` (an object) or `records` (an array of objects) */
  struct vg_json_token records;
  bool batch; /* `records` was given */
  size_t nrecords;
  /* With `records`: where each record sits in the line (start and length
   * of its text), found while checking them, so that screening them does
   * not scan the array again. */
  struct vg_json_span {
    uint32_t start, len;
  } * record_spans;
  /* auth */
  char *token;
  size_t token_len;
  /* case.*; action is meaningful for every case op but case.show */
  int64_t case_id;
  enum vg_case_action action;
  char *note, *reason;
  /* queue (status, kind, route, rule and assignee point at owned copies) */
  struct vg_queue_filter filter;
  /* subscribe */
  char *kinds[VG_REQUEST_MAX_KINDS];
  size_t nkinds; /* 0: every kind */
  int min_score;
};

/* The parser's fixed state (the set of keys it looks for), shared read-only
 * by any number of threads. Returns NULL when out of memory. */
struct vg_request_parser *vg_request_parser_new(void);
void vg_request_parser_free(struct vg_request_parser *p);

/* Parses and checks one request line (without its newline): a JSON object
 * with "op", an optional "id", and the op's keys (SPEC 5; keys an op does
 * not use are ignored). now_us is the clock for `since` ages such as "7d".
 * Returns 0 and fills *req (release with vg_request_close); VG_EINVAL when
 * the line is not a valid request, with the reason in err and *req holding
 * only what was read before the fault (req->id is set whenever the line is
 * a JSON object with an id; close it all the same); or VG_ENOMEM. */
int vg_request_parse(const struct vg_request_parser *p, const char *line,
                     size_t len, int64_t now_us, struct vg_request *req,
                     char *err, size_t errlen);
void vg_request_close(struct vg_request *req);

/* -------------------------------------------------------------- framing */

/* A connection's read buffer: bytes arrive in arbitrary pieces and leave as
 * whole lines. Memory is bounded by the line limit plus one read, and is
 * released whenever no partial line is held, so an idle connection holds
 * none. */
struct vg_linebuf {
  char *data;
  size_t len, cap;
  size_t start;    /* first byte not yet handed out as a line */
  size_t scanned;  /* data[start..scanned) is known to hold no newline */
  size_t max_line; /* longest line accepted, without its newline */
};

void vg_linebuf_init(struct vg_linebuf *lb, size_t max_line);
void vg_linebuf_close(struct vg_linebuf *lb);
/* Room for at least `want` more bytes at *at (*avail bytes). Returns 0, or
 * VG_ENOMEM. */
int vg_linebuf_reserve(struct vg_linebuf *lb, size_t want, char **at,
                       size_t *avail);
/* Counts n bytes written at the place reserve gave. */
void vg_linebuf_commit(struct vg_linebuf *lb, size_t n);
/* The next complete line, without its "\n" or "\r\n": returns 1 and sets
 * *line (valid until the next reserve or release) and *len; 0 when no whole
 * line is held yet; VG_ELIMIT when the line being read is longer than
 * max_line (it is known before its end arrives). */
int vg_linebuf_next(struct vg_linebuf *lb, const char **line, size_t *len);
/* At the end of the input: the unterminated rest as a last line (1), or 0
 * when nothing is left; VG_ELIMIT as for next. */
int vg_linebuf_rest(struct vg_linebuf *lb, const char **line, size_t *len);
/* Drops the lines handed out and frees the buffer when nothing else is
 * held. */
void vg_linebuf_release(struct vg_linebuf *lb);

/* --------------------------------------------------------------- server */

struct vg_server_options {
  const struct vg_listen_addr *listen;
  size_t nlisten;
  bool allow_remote; /* TCP on other than loopback */
  /* NULL: no tokens file. Then Unix peers of the server's uid are admins
   * under their user name and TCP is refused. Borrowed. */
  const struct vg_tokens *tokens;
  const char *rules_dir;       /* reloaded on SIGHUP */
  const struct vg_config *cfg; /* borrowed; for reloads */
  bool redact;                 /* pii values as "[redacted]" in every answer */
  size_t max_line;             /* 0: VG_DEFAULT_MAX_RECORD_BYTES */
  /* Per connection, bytes of requests and answers held before the
   * connection is no longer read (0: 4 MiB). */
  size_t max_pending;
  /* Per subscriber, bytes of events waiting before it is disconnected
   * (0: 1 MiB). */
  size_t max_backlog;
};

struct vg_server;

/* Checks the options and opens every listener (a Unix socket file is
 * created with mode 0600; a stale one left by a crash is replaced, a live
 * one is not). Takes over rs (the server frees it, or replaces it on
 * SIGHUP), even on failure; borrows store, which must stay open until
 * vg_server_free. Returns 0 and sets *out; VG_EINVAL for options that
 * cannot work (TCP without tokens, a remote address without allow_remote,
 * an unknown host) or VG_EIO when a listener cannot be opened, with the
 * reason in err; or VG_ENOMEM. */
int vg_server_new(const struct vg_server_options *opts, vg_ruleset *rs,
                  vg_store *store, struct vg_server **out, char *err,
                  size_t errlen);
/* Serves until SIGINT or SIGTERM, then stops accepting, answers every
 * request already read, commits and returns 0; or a negative code when the
 * loop cannot run. Logs one line per event to stderr, never a record's
 * content. */
int vg_server_run(struct vg_server *srv);
/* Closes the listeners (removing Unix socket files) and frees. NULL is a
 * no-op. */
void vg_server_free(struct vg_server *srv);

#endif
