/* test_server.c - `vigia serve` through real sockets: the built binary is
 * started on a Unix socket (and loopback TCP), and small clients check the
 * protocol, ordering, roles and tokens, concurrency with subscribers and
 * triage, malformed and oversize lines, slow readers and subscribers, rule
 * reloads, and that a stop in the middle of traffic acknowledges exactly
 * what it stored. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sqlite3.h>

#include "store.h"
#include "tokens.h"

/* Generous: the tests must hold on a loaded two-core machine. */
#define WAIT_MS 30000

static const char schema[] = "kind: t\n"
                             "subject: person.doc\n"
                             "fields:\n"
                             "  person.doc: { type: string, pii: true }\n"
                             "  a: { type: int }\n"
                             "  b: { type: int }\n"
                             "  pad: { type: text }\n";

/* a=2: 60, a case; a=1 and b=1: 50, a case at the threshold; a=1: 30. */
static const char rules_v1[] = "rules:\n"
                               "  - id: T-A\n"
                               "    title: a is at least 1\n"
                               "    kind: t\n"
                               "    score: 30\n"
                               "    match: { sel: { a|gte: 1 } }\n"
                               "  - id: T-B\n"
                               "    title: a is at least 2\n"
                               "    kind: t\n"
                               "    score: 30\n"
                               "    match: { sel: { a|gte: 2 } }\n"
                               "  - id: T-C\n"
                               "    title: b is at least 1\n"
                               "    kind: t\n"
                               "    score: 20\n"
                               "    match: { sel: { b|gte: 1 } }\n";

struct server {
  char *dir;
  char sock[256], db[256], rules[256], log[256], tokens[256];
  pid_t pid;
  int port; /* loopback TCP, when listening there */
};

/* The server of the running test, killed by the teardown if a check
 * failed half way. */
static struct server *current;

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

static void make_dir(struct server *s, const char *rules_text) {
  memset(s, 0, sizeof *s);
  s->dir = vgt_tempdir();
  assert_non_null(s->dir);
  snprintf(s->sock, sizeof s->sock, "%s/s.sock", s->dir);
  snprintf(s->db, sizeof s->db, "%s/t.db", s->dir);
  snprintf(s->rules, sizeof s->rules, "%s/rules", s->dir);
  snprintf(s->log, sizeof s->log, "%s/server.log", s->dir);
  snprintf(s->tokens, sizeof s->tokens, "%s/tokens.yaml", s->dir);
  char path[512];
  snprintf(path, sizeof path, "%s/schemas/t.yaml", s->rules);
  assert_int_equal(vgt_write_file(path, schema), 0);
  snprintf(path, sizeof path, "%s/t.yaml", s->rules);
  assert_int_equal(vgt_write_file(path, rules_text), 0);
  current = s;
}

/* Runs `vigia serve` with the given extra arguments (NULL-terminated) in
 * the test's directory, stderr to the log. Returns the pid. */
static pid_t spawn(struct server *s, const char *const *extra) {
  const char *argv[32];
  size_t n = 0;
  argv[n++] = VG_BINARY;
  argv[n++] = "serve";
  argv[n++] = "--rules";
  argv[n++] = s->rules;
  argv[n++] = "--db";
  argv[n++] = s->db;
  for (size_t i = 0; extra && extra[i] && n < 30; i++)
    argv[n++] = extra[i];
  argv[n] = NULL;
  /* A log per run: two servers may run at once, and "ready" must be this
   * run's. */
  static int runs;
  snprintf(s->log, sizeof s->log, "%s/server-%d.log", s->dir, ++runs);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int out = open("/dev/null", O_WRONLY);
    int err = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 ||
        chdir(s->dir) != 0)
      _exit(127);
    execv(VG_BINARY, (char *const *)argv);
    _exit(127);
  }
  return pid;
}

static bool log_has(const struct server *s, const char *needle) {
  char *text = vgt_read_file(s->log, NULL);
  bool found = text && strstr(text, needle);
  free(text);
  return found;
}

/* Waits until the log holds needle (true) or the process exits or time
 * runs out (false). */
static bool wait_log(struct server *s, const char *needle) {
  uint64_t end = now_ms() + WAIT_MS;
  while (now_ms() < end) {
    if (log_has(s, needle))
      return true;
    int status;
    if (s->pid > 0 && waitpid(s->pid, &status, WNOHANG) == s->pid) {
      s->pid = 0;
      return log_has(s, needle);
    }
    sleep_ms(10);
  }
  return false;
}

static void print_log(const struct server *s) {
  char *text = vgt_read_file(s->log, NULL);
  print_message("--- server log ---\n%s------------------\n",
                text ? text : "(none)");
  free(text);
}

/* Starts the server and waits until it is ready; reads the TCP port from
 * the log when it listens there. */
static void start(struct server *s, const char *const *extra) {
  s->pid = spawn(s, extra);
  if (!wait_log(s, "serve: ready")) {
    print_log(s);
    fail_msg("the server did not start");
  }
  char *text = vgt_read_file(s->log, NULL);
  const char *at = text ? strstr(text, "listening on tcp:127.0.0.1:") : NULL;
  if (at)
    s->port = (int)strtol(at + strlen("listening on tcp:127.0.0.1:"), NULL, 10);
  free(text);
}

/* Waits for the process to exit; returns its exit status, or -1 when it
 * did not exit in time (it is then killed). */
static int wait_exit(struct server *s) {
  uint64_t end = now_ms() + WAIT_MS;
  int status = 0;
  while (s->pid > 0 && now_ms() < end) {
    pid_t got = waitpid(s->pid, &status, WNOHANG);
    if (got == s->pid) {
      s->pid = 0;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    sleep_ms(10);
  }
  if (s->pid > 0) {
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    s->pid = 0;
  }
  return -1;
}

static int stop(struct server *s) {
  if (s->pid <= 0)
    return -1;
  kill(s->pid, SIGTERM);
  return wait_exit(s);
}

static int teardown(void **state) {
  (void)state;
  if (current) {
    if (current->pid > 0) {
      kill(current->pid, SIGKILL);
      waitpid(current->pid, NULL, 0);
    }
    vgt_rmtree(current->dir);
    free(current->dir);
    current = NULL;
  }
  return 0;
}

/* ------------------------------------------------------------- clients */

struct client {
  int fd;
  char *buf;
  size_t len, cap;
};

static void client_init(struct client *c, int fd) {
  memset(c, 0, sizeof *c);
  c->fd = fd;
}

static int dial_unix(const char *path, int rcvbuf) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (rcvbuf > 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
  if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int dial_tcp(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in in;
  memset(&in, 0, sizeof in);
  in.sin_family = AF_INET;
  in.sin_port = htons((uint16_t)port);
  in.sin_addr.s_addr = htonl(0x7f000001);
  if (connect(fd, (struct sockaddr *)&in, sizeof in) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static void client_unix(struct client *c, const struct server *s) {
  int fd = dial_unix(s->sock, 0);
  assert_true(fd >= 0);
  client_init(c, fd);
}

static void client_close(struct client *c) {
  if (c->fd >= 0)
    close(c->fd);
  free(c->buf);
  memset(c, 0, sizeof *c);
  c->fd = -1;
}

static bool send_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data += n;
    len -= (size_t)n;
  }
  return true;
}

static bool send_line(struct client *c, const char *line) {
  return send_all(c->fd, line, strlen(line)) && send_all(c->fd, "\n", 1);
}

/* The next line (caller frees, without its newline); NULL at the end of
 * the stream or after timeout_ms. A reset after the data counts as the
 * end: a server that closes with our unread requests resets. */
static char *read_line_within(struct client *c, int timeout_ms) {
  uint64_t end = now_ms() + (uint64_t)timeout_ms;
  for (;;) {
    char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
    if (nl) {
      size_t n = (size_t)(nl - c->buf);
      char *line = malloc(n + 1);
      memcpy(line, c->buf, n);
      line[n] = '\0';
      memmove(c->buf, nl + 1, c->len - n - 1);
      c->len -= n + 1;
      return line;
    }
    uint64_t now = now_ms();
    if (now >= end)
      return NULL;
    struct pollfd p = {c->fd, POLLIN, 0};
    int rc = poll(&p, 1, (int)(end - now));
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc <= 0)
      return NULL;
    if (c->cap - c->len < 65536) {
      c->cap = c->cap ? c->cap * 2 : 131072;
      c->buf = realloc(c->buf, c->cap);
      assert_non_null(c->buf);
    }
    ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return NULL;
    c->len += (size_t)n;
  }
}

static char *read_line(struct client *c) {
  return read_line_within(c, WAIT_MS);
}

/* True when the server closed the connection (EOF or reset) in time. */
static bool at_end(struct client *c) {
  char *line = read_line(c);
  if (line) {
    print_message("expected the end, got: %.200s\n", line);
    free(line);
    return false;
  }
  return true;
}

static json_t *read_json(struct client *c) {
  char *line = read_line(c);
  if (!line)
    return NULL;
  json_error_t err;
  json_t *doc = json_loads(line, 0, &err);
  if (!doc)
    print_message("not JSON (%s): %.300s\n", err.text, line);
  free(line);
  return doc;
}

/* Sends one request and reads its answer (which must be JSON). */
static json_t *call(struct client *c, const char *line) {
  assert_true(send_line(c, line));
  json_t *doc = read_json(c);
  if (!doc)
    print_message("no answer to %.200s\n", line);
  assert_non_null(doc);
  return doc;
}

static bool is_ok(const json_t *doc) {
  return json_is_true(json_object_get(doc, "ok"));
}

static const char *error_code(const json_t *doc) {
  const char *code =
      json_string_value(json_object_get(json_object_get(doc, "error"), "code"));
  return code ? code : "";
}

/* Asserts an error answer with that code. */
static void expect_error(json_t *doc, const char *code) {
  if (is_ok(doc) || strcmp(error_code(doc), code) != 0) {
    char *text = json_dumps(doc, JSON_COMPACT);
    print_message("expected error %s, got %s\n", code, text);
    free(text);
    fail();
  }
}

static void expect_ok(json_t *doc) {
  if (!is_ok(doc)) {
    char *text = json_dumps(doc, JSON_COMPACT);
    print_message("expected ok, got %s\n", text);
    free(text);
    fail();
  }
}

/* A record of kind t. */
static void record(char *buf, size_t len, const char *id, const char *doc,
                   int a, int b) {
  snprintf(buf, len,
           "{\"kind\":\"t\",\"id\":\"%s\",\"observed_at\":"
           "\"2026-01-01T00:00:00Z\",\"person\":{\"doc\":\"%s\"},\"a\":%d,"
           "\"b\":%d}",
           id, doc, a, b);
}

static void screen_line(char *buf, size_t len, long id, const char *rec_id,
                        const char *doc, int a, int b) {
  char rec[512];
  record(rec, sizeof rec, rec_id, doc, a, b);
  snprintf(buf, len, "{\"op\":\"screen\",\"id\":%ld,\"record\":%s}", id, rec);
}

static json_t *first_result(json_t *doc) {
  return json_array_get(json_object_get(doc, "results"), 0);
}

/* Every record id in the store's cases (any status). */
static json_t *stored_record_ids(const char *db) {
  vg_store *store = NULL;
  char err[256];
  assert_int_equal(vg_store_open(db, false, &store, err, sizeof err), 0);
  json_t *ids = json_object();
  static const char *const statuses[] = {"new", "in_review", "escalated",
                                         "confirmed", "dismissed"};
  for (size_t s = 0; s < 5; s++) {
    struct vg_queue_filter f = {.status = statuses[s]};
    json_t *cases = NULL;
    assert_int_equal(vg_store_queue(store, &f, false, &cases), 0);
    size_t i, j;
    json_t *c, *id;
    json_array_foreach(cases, i, c) {
      json_array_foreach(json_object_get(c, "record_ids"), j, id)
          json_object_set_new(ids, json_string_value(id), json_true());
    }
    json_decref(cases);
  }
  vg_store_close(store);
  return ids;
}

/* ---------------------------------------------------------------- tests */

/* The socket file's mode, a screen acknowledged only once stored, ids
 * echoed whatever their JSON type, the review ops under the peer's user
 * name, and a clean stop that removes the socket. */
static void test_basics(void **state) {
  (void)state;
  struct server s;
  make_dir(&s, rules_v1);
  const char *const listen[] = {"--listen", "unix:s.sock", NULL};
  start(&s, listen);
  struct stat st;
  assert_int_equal(stat(s.sock, &st), 0);
  assert_true(S_ISSOCK(st.st_mode));
  assert_int_equal(st.st_mode & 0777, 0600);

  struct client c;
  client_unix(&c, &s);
  char line[1024];
  screen_line(line, sizeof line, 7, "r1", "P1", 2, 0);
  json_t *doc = call(&c, line);
  expect_ok(doc);
  assert_int_equal(json_integer_value(json_object_get(doc, "id")), 7);
  json_t *res = first_result(doc);
  assert_string_equal(json_string_value(json_object_get(res, "record_id")),
                      "r1");
  assert_int_equal(json_integer_value(json_object_get(res, "score")), 60);
  json_int_t case_id = json_integer_value(json_object_get(res, "case_id"));
  assert_true(case_id > 0);
  json_decref(doc);
  /* Acknowledged means committed: another connection to the database
   * sees it while the server runs. */
  json_t *stored = stored_record_ids(s.db);
  assert_non_null(json_object_get(stored, "r1"));
  json_decref(stored);

  /* ids of every JSON type come back as sent. */
  static const char *const ids[] = {"\"a\\\"b\"", "-1.5e3", "null",
                                    "{\"k\":[1,\"x\"]}", "[true,false]"};
  for (size_t i = 0; i < 5; i++) {
    snprintf(line, sizeof line, "{\"op\":\"queue\",\"id\":%s}", ids[i]);
    doc = call(&c, line);
    expect_ok(doc);
    json_t *want = json_loads(ids[i], JSON_DECODE_ANY, NULL);
    assert_true(json_equal(json_object_get(doc, "id"), want));
    json_decref(want);
    json_decref(doc);
  }
  /* No id, no id in the answer. */
  doc = call(&c, "{\"op\":\"queue\"}");
  assert_null(json_object_get(doc, "id"));
  assert_int_equal(json_array_size(json_object_get(doc, "cases")), 1);
  json_decref(doc);

  /* A same-user peer acts as admin under its user name. */
  struct passwd *pw = getpwuid(geteuid());
  assert_non_null(pw);
  snprintf(line, sizeof line, "{\"op\":\"case.claim\",\"case_id\":%lld}",
           (long long)case_id);
  doc = call(&c, line);
  expect_ok(doc);
  json_t *cs = json_object_get(doc, "case");
  assert_string_equal(json_string_value(json_object_get(cs, "status")),
                      "in_review");
  assert_string_equal(json_string_value(json_object_get(cs, "assignee")),
                      pw->pw_name);
  json_decref(doc);
  doc = call(&c, line); /* claimed already: refused */
  expect_error(doc, "conflict");
  json_decref(doc);
  snprintf(line, sizeof line,
           "{\"op\":\"case.decide\",\"case_id\":%lld,\"decision\":"
           "\"dismiss\",\"note\":\"looked\",\"reason\":\"false_positive\"}",
           (long long)case_id);
  doc = call(&c, line);
  expect_ok(doc);
  assert_string_equal(json_string_value(json_object_get(
                          json_object_get(doc, "case"), "status")),
                      "dismissed");
  json_decref(doc);
  doc = call(&c, "{\"op\":\"case.show\",\"case_id\":999}");
  expect_error(doc, "not_found");
  json_decref(doc);
  snprintf(line, sizeof line, "{\"op\":\"case.show\",\"case_id\":%lld}",
           (long long)case_id);
  doc = call(&c, line);
  expect_ok(doc);
  json_t *events = json_object_get(json_object_get(doc, "case"), "events");
  assert_true(json_array_size(events) >= 3); /* opened, claim, dismiss */
  json_decref(doc);
  doc = call(&c, "{\"op\":\"stats\"}");
  expect_ok(doc);
  assert_true(json_is_array(json_object_get(doc, "rules")));
  assert_true(json_is_array(json_object_get(doc, "kinds")));
  json_decref(doc);

  /* The same record again is a duplicate, not a second case. */
  screen_line(line, sizeof line, 8, "r1", "P1", 2, 0);
  doc = call(&c, line);
  expect_ok(doc);
  assert_true(json_is_true(json_object_get(first_result(doc), "duplicate")));
  json_decref(doc);
  /* A record that cannot be screened is answered as rejected, in place. */
  doc = call(&c, "{\"op\":\"screen\",\"records\":[{\"kind\":\"t\",\"id\":"
                 "\"x\"},{\"kind\":\"nope\",\"id\":\"y\",\"observed_at\":"
                 "\"2026-01-01T00:00:00Z\"}]}");
  expect_ok(doc);
  json_t *results = json_object_get(doc, "results");
  assert_int_equal(json_array_size(results), 2);
  assert_true(
      json_is_string(json_object_get(json_array_get(results, 0), "rejected")));
  assert_true(
      json_is_string(json_object_get(json_array_get(results, 1), "rejected")));
  json_decref(doc);
  client_close(&c);

  assert_int_equal(stop(&s), 0);
  assert_int_equal(access(s.sock, F_OK), -1); /* removed */
  assert_true(log_has(&s, "stopped:"));
}

/* Malformed lines are answered and the connection goes on; answers keep
 * the order of pipelined requests; a line at the limit is accepted and one
 * over it is answered with too_large, then the connection is closed. */
static void test_malformed_and_oversize(void **state) {
  (void)state;
  struct server s;
  make_dir(&s, rules_v1);
  const char *const listen[] = {"--listen", "unix:s.sock", NULL};
  start(&s, listen);
  struct client c;
  client_unix(&c, &s);
  static const struct {
    const char *line, *code;
  } bad[] = {
      {"not json", "bad_request"},
      {"[1,2]", "bad_request"},
      {"{\"op\":\"screen\",\"record\":{\"a\":1}", "bad_request"},
      {"{\"id\":1}", "bad_request"},
      {"{\"op\":\"fly\"}", "bad_request"},
      {"{\"op\":42}", "bad_request"},
      {"{\"op\":\"screen\"}", "bad_request"},
      {"{\"op\":\"screen\",\"record\":[]}", "bad_request"},
      {"{\"op\":\"screen\",\"records\":[{},1]}", "bad_request"},
      {"{\"op\":\"screen\",\"record\":{},\"records\":[]}", "bad_request"},
      {"{\"op\":\"case.show\"}", "bad_request"},
      {"{\"op\":\"case.show\",\"case_id\":\"1\"}", "bad_request"},
      {"{\"op\":\"case.show\",\"case_id\":0}", "bad_request"},
      {"{\"op\":\"case.decide\",\"case_id\":1,\"decision\":\"confirm\"}",
       "bad_request"},
      {"{\"op\":\"case.decide\",\"case_id\":1,\"decision\":\"dismiss\","
       "\"note\":\"n\"}",
       "bad_request"},
      {"{\"op\":\"case.decide\",\"case_id\":1,\"decision\":\"dismiss\","
       "\"note\":\"n\",\"reason\":\"bored\"}",
       "bad_request"},
      {"{\"op\":\"case.note\",\"case_id\":1}", "bad_request"},
      {"{\"op\":\"queue\",\"status\":\"open\"}", "bad_request"},
      {"{\"op\":\"queue\",\"min_score\":101}", "bad_request"},
      {"{\"op\":\"queue\",\"since\":\"soon\"}", "bad_request"},
      {"{\"op\":\"subscribe\",\"kinds\":\"t\"}", "bad_request"},
      {"{\"op\":\"auth\"}", "bad_request"},
      {"{\"op\":\"case.note\",\"case_id\":1,\"note\":\"a\\u0000b\"}",
       "bad_request"},
      {"{\"op\":\"stats\",\"id\":\"\xff\"}", "bad_request"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    json_t *doc = call(&c, bad[i].line);
    if (is_ok(doc) || strcmp(error_code(doc), bad[i].code) != 0)
      fail_msg("line %zu (%s): expected %s", i, bad[i].line, bad[i].code);
    assert_true(json_is_string(
        json_object_get(json_object_get(doc, "error"), "message")));
    json_decref(doc);
  }
  /* An id is echoed even when the request is refused. */
  json_t *doc = call(&c, "{\"op\":\"fly\",\"id\":\"x9\"}");
  assert_string_equal(json_string_value(json_object_get(doc, "id")), "x9");
  json_decref(doc);
  /* Blank lines are no requests; CRLF ends a line too. */
  static const char crlf[] = "\n  \r\n{\"op\":\"queue\",\"id\":1}\r\n";
  assert_true(send_all(c.fd, crlf, sizeof crlf - 1));
  doc = read_json(&c);
  assert_non_null(doc);
  assert_int_equal(json_integer_value(json_object_get(doc, "id")), 1);
  json_decref(doc);

  /* Pipelined: answers in the order of the requests, whatever the worker
   * or the loop answered first. */
  char rec[512], big[8192];
  size_t off = 0;
  for (int i = 0; i < 40; i++) {
    char id[32], subject[32];
    snprintf(id, sizeof id, "p%d", i);
    snprintf(subject, sizeof subject, "S%d", i);
    record(rec, sizeof rec, id, subject, i % 3, 0);
    if (i % 4 == 1)
      off += (size_t)snprintf(big + off, sizeof big - off,
                              "{\"op\":\"nope\",\"id\":%d}\n", i);
    else if (i % 4 == 3)
      off += (size_t)snprintf(big + off, sizeof big - off,
                              "{\"op\":\"queue\",\"id\":%d,\"limit\":1}\n", i);
    else
      off += (size_t)snprintf(big + off, sizeof big - off,
                              "{\"op\":\"screen\",\"id\":%d,\"record\":%s}\n",
                              i, rec);
  }
  assert_true(send_all(c.fd, big, off));
  for (int i = 0; i < 40; i++) {
    doc = read_json(&c);
    assert_non_null(doc);
    assert_int_equal(json_integer_value(json_object_get(doc, "id")), i);
    if (is_ok(doc) != (i % 4 != 1)) {
      char *text = json_dumps(doc, JSON_COMPACT);
      fail_msg("answer %d: %s", i, text);
    }
    json_decref(doc);
  }

  /* Exactly at the limit (1 MiB without the newline): accepted. */
  size_t limit = 1024 * 1024;
  char *line = malloc(limit + 64);
  assert_non_null(line);
  const char *head = "{\"op\":\"screen\",\"id\":\"edge\",\"record\":{\"kind\":"
                     "\"t\",\"id\":\"edge\",\"observed_at\":"
                     "\"2026-01-01T00:00:00Z\",\"a\":0,\"pad\":\"";
  size_t hl = strlen(head);
  memcpy(line, head, hl);
  memset(line + hl, 'x', limit - hl - 3);
  memcpy(line + limit - 3, "\"}}", 3);
  line[limit] = '\n';
  assert_true(send_all(c.fd, line, limit + 1));
  doc = read_json(&c);
  assert_non_null(doc);
  expect_ok(doc);
  json_decref(doc);
  /* One byte over, after a request that is still answered first; what
   * follows the long line is never read as a request. */
  assert_true(send_line(&c, "{\"op\":\"queue\",\"id\":\"before\"}"));
  memset(line, 'x', limit + 1);
  line[limit + 1] = '\n';
  assert_true(send_all(c.fd, line, limit + 2));
  send_line(&c, "{\"op\":\"queue\",\"id\":\"after\"}");
  free(line);
  doc = read_json(&c);
  assert_non_null(doc);
  assert_string_equal(json_string_value(json_object_get(doc, "id")), "before");
  json_decref(doc);
  doc = read_json(&c);
  assert_non_null(doc);
  expect_error(doc, "too_large");
  json_decref(doc);
  assert_true(at_end(&c));
  client_close(&c);

  /* The server is fine for the next client. */
  client_unix(&c, &s);
  doc = call(&c, "{\"op\":\"queue\"}");
  expect_ok(doc);
  json_decref(doc);
  client_close(&c);
  assert_int_equal(stop(&s), 0);
}

/* Makes a token with `vigia token new` and appends its entry to the tokens
 * file; returns the token (caller frees). */
static char *new_token(struct server *s, const char *name, const char *role) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "'%s' token new --name %s --role %s 2>/dev/null",
           VG_BINARY, name, role);
  char *out = NULL;
  assert_int_equal(vgt_run(cmd, &out), 0);
  char *nl = strchr(out, '\n');
  assert_non_null(nl);
  *nl = '\0';
  char *token = strdup(out);
  assert_int_equal(strlen(token), 43);
  const char *entry = nl + 1;
  assert_true(strncmp(entry, "- {name: ", 9) == 0);
  FILE *f = fopen(s->tokens, "a");
  assert_non_null(f);
  fputs(entry, f);
  fclose(f);
  chmod(s->tokens, 0600);
  free(out);
  return token;
}

static void auth(struct client *c, const char *token, const char *role) {
  char line[256];
  snprintf(line, sizeof line, "{\"op\":\"auth\",\"id\":0,\"token\":\"%s\"}",
           token);
  json_t *doc = call(c, line);
  expect_ok(doc);
  assert_string_equal(json_string_value(json_object_get(doc, "role")), role);
  json_decref(doc);
}

/* Every op for every role over TCP, and without a token: refused exactly
 * when the role does not allow it. */
static void test_roles_and_tokens(void **state) {
  (void)state;
  struct server s;
  make_dir(&s, rules_v1);
  char *tok_ingest = new_token(&s, "feed-1", "ingest");
  char *tok_rev = new_token(&s, "ana", "reviewer");
  char *tok_admin = new_token(&s, "root.admin", "admin");
  const char *const args[] = {
      "--listen", "unix:s.sock", "--listen", "tcp:127.0.0.1:0",
      "--tokens", s.tokens,      NULL};
  start(&s, args);
  assert_true(s.port > 0);

  /* A case to act on, screened by the ingest role. */
  struct client c;
  client_init(&c, dial_tcp(s.port));
  assert_true(c.fd >= 0);
  auth(&c, tok_ingest, "ingest");
  char line[1024];
  screen_line(line, sizeof line, 1, "r1", "P1", 2, 0);
  json_t *doc = call(&c, line);
  expect_ok(doc);
  json_decref(doc);
  client_close(&c);

  static const char *const ops[] = {
      "{\"op\":\"screen\",\"record\":{\"kind\":\"t\",\"id\":\"z\","
      "\"observed_at\":\"2026-01-01T00:00:00Z\",\"a\":0}}",
      "{\"op\":\"queue\"}",
      "{\"op\":\"case.show\",\"case_id\":1}",
      "{\"op\":\"case.claim\",\"case_id\":1}",
      "{\"op\":\"case.release\",\"case_id\":1}",
      "{\"op\":\"case.decide\",\"case_id\":1,\"decision\":\"escalate\","
      "\"note\":\"n\"}",
      "{\"op\":\"case.note\",\"case_id\":1,\"note\":\"n\"}",
      "{\"op\":\"case.reopen\",\"case_id\":1,\"note\":\"n\"}",
      "{\"op\":\"subscribe\"}",
      "{\"op\":\"stats\"}"};
  /* Which roles may: ingest, reviewer, admin. */
  static const bool allowed[][3] = {{true, false, true}, {false, true, true},
                                    {false, true, true}, {false, true, true},
                                    {false, true, true}, {false, true, true},
                                    {false, true, true}, {false, true, true},
                                    {false, true, true}, {false, false, true}};
  const char *tokens[3] = {tok_ingest, tok_rev, tok_admin};
  static const char *const roles[3] = {"ingest", "reviewer", "admin"};
  for (size_t op = 0; op < sizeof ops / sizeof *ops; op++) {
    /* No token on TCP: unauthorized, whatever the op. */
    client_init(&c, dial_tcp(s.port));
    assert_true(c.fd >= 0);
    doc = call(&c, ops[op]);
    expect_error(doc, "unauthorized");
    json_decref(doc);
    client_close(&c);
    for (size_t r = 0; r < 3; r++) {
      client_init(&c, dial_tcp(s.port));
      assert_true(c.fd >= 0);
      auth(&c, tokens[r], roles[r]);
      doc = call(&c, ops[op]);
      const char *code = error_code(doc);
      if (allowed[op][r]) {
        if (!strcmp(code, "forbidden") || !strcmp(code, "unauthorized"))
          fail_msg("%s refused to %s: %s", ops[op], roles[r], code);
      } else if (strcmp(code, "forbidden") != 0) {
        fail_msg("%s allowed to %s", ops[op], roles[r]);
      }
      json_decref(doc);
      client_close(&c);
    }
  }
  /* The reviewer acts under the token's name. */
  client_init(&c, dial_tcp(s.port));
  auth(&c, tok_rev, "reviewer");
  doc = call(&c, "{\"op\":\"case.show\",\"case_id\":1}");
  expect_ok(doc);
  json_t *events = json_object_get(json_object_get(doc, "case"), "events");
  bool viewed_by_ana = false;
  size_t i;
  json_t *e;
  json_array_foreach(events, i, e) viewed_by_ana |=
      !strcmp(json_string_value(json_object_get(e, "action")), "viewed") &&
      !strcmp(json_string_value(json_object_get(e, "actor")), "ana");
  assert_true(viewed_by_ana);
  json_decref(doc);
  /* A wrong token: unauthorized, and the connection is still usable. */
  doc = call(&c, "{\"op\":\"auth\",\"token\":\"not-a-token\"}");
  expect_error(doc, "unauthorized");
  json_decref(doc);
  client_close(&c);

  /* With a tokens file, a same-user Unix peer authenticates too. */
  client_unix(&c, &s);
  doc = call(&c, "{\"op\":\"queue\"}");
  expect_error(doc, "unauthorized");
  json_decref(doc);
  auth(&c, tok_admin, "admin");
  doc = call(&c, "{\"op\":\"stats\"}");
  expect_ok(doc);
  json_decref(doc);
  /* Repeated failures end the connection. */
  for (int k = 0; k < 5; k++) {
    doc = call(&c, "{\"op\":\"auth\",\"token\":\"guess\"}");
    expect_error(doc, "unauthorized");
    json_decref(doc);
  }
  assert_true(at_end(&c));
  client_close(&c);
  assert_int_equal(stop(&s), 0);
  assert_false(log_has(&s, tok_rev)); /* tokens never reach the log */
  free(tok_ingest);
  free(tok_rev);
  free(tok_admin);
}

/* The tokens file: what is accepted, every problem reported with its
 * place, private permissions, and tokens checked against the digests. */
static void test_tokens_file(void **state) {
  (void)state;
  struct server s;
  make_dir(&s, rules_v1);
  char *tok = new_token(&s, "ana", "reviewer");
  char *other = new_token(&s, "ana", "admin"); /* a rotation: same name */
  assert_string_not_equal(tok, other);
  for (const char *p = tok; *p; p++)
    assert_true((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                (*p >= '0' && *p <= '9') || *p == '-' || *p == '_');
  struct vg_diags diags;
  vg_diags_init(&diags);
  struct vg_tokens *t = NULL;
  assert_int_equal(vg_tokens_load(s.tokens, &t, &diags), 0);
  assert_int_equal(vg_tokens_count(t), 2);
  const char *name = NULL;
  enum vg_role role = VG_ROLE_NONE;
  assert_true(vg_tokens_check(t, tok, strlen(tok), &name, &role));
  assert_string_equal(name, "ana");
  assert_int_equal(role, VG_ROLE_REVIEWER);
  assert_true(vg_tokens_check(t, other, strlen(other), &name, &role));
  assert_int_equal(role, VG_ROLE_ADMIN);
  assert_false(vg_tokens_check(t, tok, strlen(tok) - 1, &name, &role));
  assert_false(vg_tokens_check(t, "", 0, &name, &role));
  vg_tokens_free(t);
  vg_diags_close(&diags);

  /* Readable or writable by anyone but the owner: refused, naming it. */
  static const mode_t modes[] = {0640, 0604, 0620, 0602, 0660};
  for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
    chmod(s.tokens, modes[i]);
    vg_diags_init(&diags);
    t = NULL;
    assert_int_not_equal(vg_tokens_load(s.tokens, &t, &diags), 0);
    assert_null(t);
    assert_int_equal(diags.errors, 1);
    assert_string_equal(diags.items[0].code, "insecure-permissions");
    assert_string_equal(diags.items[0].file, s.tokens);
    vg_diags_close(&diags);
  }

  /* Every problem, each at its place. */
  char sha[65];
  vg_store_sha256_hex("x", 1, sha);
  char text[2048];
  snprintf(text, sizeof text,
           "- {name: a, role: reviewer, sha256: %s}\n"    /* fine */
           "- {name: b, role: boss, sha256: %s}\n"        /* role */
           "- {name: c d, role: admin, sha256: %s}\n"     /* name */
           "- {name: e, role: admin, sha256: abc}\n"      /* digest */
           "- {name: f, role: admin}\n"                   /* missing */
           "- {name: g, role: admin, sha256: %s, x: 1}\n" /* key */
           "- {name: h, role: ingest, sha256: %s}\n",     /* same digest */
           sha, sha, sha, sha, sha);
  assert_int_equal(vgt_write_file(s.tokens, text), 0);
  chmod(s.tokens, 0600);
  vg_diags_init(&diags);
  t = NULL;
  assert_int_equal(vg_tokens_load(s.tokens, &t, &diags), VG_EINVAL);
  assert_null(t);
  static const struct {
    int line;
    const char *code;
  } want[] = {{2, "bad-value"},   {3, "bad-value"},   {4, "bad-value"},
              {5, "missing-key"}, {6, "unknown-key"}, {7, "duplicate-token"}};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    bool found = false;
    for (size_t k = 0; k < diags.count; k++)
      found |= diags.items[k].line == want[i].line &&
               !strcmp(diags.items[k].code, want[i].code);
    if (!found)
      fail_msg("no [%s] on line %d", want[i].code, want[i].line);
  }
  for (size_t k = 0; k < diags.count; k++)
    assert_int_not_equal(diags.items[k].line, 1);
  vg_diags_close(&diags);
  /* Not a list; an empty file is no tokens at all. */
  assert_int_equal(vgt_write_file(s.tokens, "name: a\n"), 0);
  vg_diags_init(&diags);
  assert_int_equal(vg_tokens_load(s.tokens, &t, &diags), VG_EINVAL);
  vg_diags_close(&diags);
  assert_int_equal(vgt_write_file(s.tokens, "# nobody yet\n"), 0);
  vg_diags_init(&diags);
  assert_int_equal(vg_tokens_load(s.tokens, &t, &diags), 0);
  assert_int_equal(vg_tokens_count(t), 0);
  assert_false(vg_tokens_check(t, tok, strlen(tok), &name, &role));
  vg_tokens_free(t);
  vg_diags_close(&diags);
  free(tok);
  free(other);

  /* `vigia token new` refuses what it cannot make an entry of. */
  static const char *const bad[] = {
      "token new --name 'a b' --role admin", "token new --name x --role boss",
      "token new --role admin", "token new --name x",
      "token new --name x --role admin extra"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>/dev/null", VG_BINARY, bad[i]);
    char *out = NULL;
    assert_int_equal(vgt_run(cmd, &out), 2);
    assert_true(!out || !*out); /* nothing that looks like a token */
    free(out);
  }
  /* --json gives the same, and the digest is the token's SHA-256. */
  char cmd[512];
  snprintf(cmd, sizeof cmd, "'%s' token new --name bo --role ingest --json",
           VG_BINARY);
  char *out = NULL;
  assert_int_equal(vgt_run(cmd, &out), 0);
  json_t *doc = json_loads(out, 0, NULL);
  assert_non_null(doc);
  const char *token = json_string_value(json_object_get(doc, "token"));
  assert_non_null(token);
  vg_store_sha256_hex(token, strlen(token), sha);
  assert_string_equal(json_string_value(json_object_get(doc, "sha256")), sha);
  assert_string_equal(json_string_value(json_object_get(doc, "role")),
                      "ingest");
  json_decref(doc);
  free(out);
}

/* What `serve` refuses before it starts: exit 2 naming the problem. */
static void test_refusals(void **state) {
  (void)state;
  struct server s;
  make_dir(&s, rules_v1);
  char *tok = new_token(&s, "x", "admin");
  free(tok);
  chmod(s.tokens, 0640);
  const char *const insecure[] = {"--listen", "unix:s.sock", "--tokens",
                                  s.tokens, NULL};
  s.pid = spawn(&s, insecure);
  assert_int_equal(wait_exit(&s), 2);
  assert_true(log_has(&s, s.tokens));
  assert_true(log_has(&s, "insecure-permissions"));
  assert_int_equal(access(s.sock, F_OK), -1);

  const char *const tcp_no_tokens[] = {"--listen", "tcp:127.0.0.1:0", NULL};
  s.pid = spawn(&s, tcp_no_tokens);
  assert_int_equal(wait_exit(&s), 2);
  assert_true(log_has(&s, "needs --tokens"));

  chmod(s.tokens, 0600);
  const char *const remote[] = {"--listen", "tcp:0.0.0.0:0", "--tokens",
                                s.tokens, NULL};
  s.pid = spawn(&s, remote);
  assert_int_equal(wait_exit(&s), 2);
  assert_true(log_has(&s, "--allow-remote"));

  const char *const bad_addr[] = {"--listen", "tcp:localhost", NULL};
  s.pid = spawn(&s, bad_addr);
  assert_int_equal(wait_exit(&s), 2);

  const char *const none[] = {NULL};
  s.pid = spawn(&s, none);
  assert_int_equal(wait_exit(&s), 2);

  /* A live server's socket is not taken over; a stale one is. */
  const char *const listen[] = {"--listen", "unix:s.sock", NULL};
  start(&s, listen);
  pid_t first = s.pid;
  s.pid = spawn(&s, listen);
  assert_int_equal(wait_exit(&s), 1);
  assert_true(log_has(&s, "in use"));
  s.pid = first;
  kill(first, SIGKILL);
  wait_exit(&s);
  assert_int_equal(access(s.sock, F_OK), 0); /* left behind by the kill */
  start(&s, listen);
  assert_int_equal(stop(&s), 0);
}

/* ------------------------------------------------- concurrent traffic */

#define SCREENERS 32
#define PER_SCREENER 30

struct shared_result {
  pthread_mutex_t lock;
  char failure[512];
  json_t *opened; /* case id -> score, from screen results */
  const char *sock;
  volatile int screeners_done;
};

static void record_failure(struct shared_result *sr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void record_failure(struct shared_result *sr, const char *fmt, ...) {
  pthread_mutex_lock(&sr->lock);
  if (!sr->failure[0]) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sr->failure, sizeof sr->failure, fmt, ap);
    va_end(ap);
  }
  pthread_mutex_unlock(&sr->lock);
}

struct screener {
  pthread_t thread;
  int n;
  struct shared_result *sr;
};

/* One client screening its records one request at a time: a third open a
 * case at 60, a third at 50, a third have a hit and no case. */
static void *screener_main(void *arg) {
  struct screener *sc = arg;
  struct shared_result *sr = sc->sr;
  struct client c;
  client_init(&c, dial_unix(sr->sock, 0));
  if (c.fd < 0) {
    record_failure(sr, "screener %d cannot connect", sc->n);
    return NULL;
  }
  for (int i = 0; i < PER_SCREENER; i++) {
    char line[1024], id[32], subject[32];
    snprintf(id, sizeof id, "c%d-%d", sc->n, i);
    snprintf(subject, sizeof subject, "S%d-%d", sc->n, i);
    int kind = i % 3;
    screen_line(line, sizeof line, i, id, subject, kind == 0 ? 2 : 1,
                kind == 1 ? 1 : 0);
    char *answer = NULL;
    json_t *doc = NULL;
    if (!send_line(&c, line) || !(answer = read_line(&c)) ||
        !(doc = json_loads(answer, 0, NULL)) || !is_ok(doc) ||
        json_integer_value(json_object_get(doc, "id")) != i) {
      record_failure(sr, "screener %d request %d: %.200s", sc->n, i,
                     answer ? answer : "no answer");
      free(answer);
      json_decref(doc);
      break;
    }
    json_t *res = first_result(doc);
    json_int_t case_id = json_integer_value(json_object_get(res, "case_id"));
    int score = (int)json_integer_value(json_object_get(res, "score"));
    bool want_case = kind != 2;
    if ((case_id > 0) != want_case ||
        strcmp(json_string_value(json_object_get(res, "record_id")), id))
      record_failure(sr, "screener %d request %d: wrong result %.200s", sc->n,
                     i, answer);
    if (case_id > 0) {
      char key[32];
      snprintf(key, sizeof key, "%lld", (long long)case_id);
      pthread_mutex_lock(&sr->lock);
      json_object_set_new(sr->opened, key, json_integer(score));
      pthread_mutex_unlock(&sr->lock);
    }
    free(answer);
    json_decref(doc);
  }
  client_close(&c);
  __atomic_add_fetch(&sr->screeners_done, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

struct subscriber {
  pthread_t thread;
  const char *request;
  struct shared_result *sr;
  json_t *seen; /* case id -> score */
  int expect;   /* stop after this many events (set before the join) */
  struct client c;
};

static void *subscriber_main(void *arg) {
  struct subscriber *sub = arg;
  uint64_t end = now_ms() + 3 * WAIT_MS;
  while (now_ms() < end) {
    int want = __atomic_load_n(&sub->expect, __ATOMIC_SEQ_CST);
    if (want >= 0 && (int)json_object_size(sub->seen) >= want)
      break;
    char *line = read_line_within(&sub->c, 200);
    if (!line)
      continue;
    json_t *doc = json_loads(line, 0, NULL);
    const char *ev = json_string_value(json_object_get(doc, "event"));
    json_t *cs = json_object_get(doc, "case");
    if (!ev || strcmp(ev, "case.opened") || !json_is_object(cs)) {
      record_failure(sub->sr, "subscriber: unexpected line %.200s", line);
    } else {
      char key[32];
      snprintf(key, sizeof key, "%lld",
               (long long)json_integer_value(json_object_get(cs, "case_id")));
      if (json_object_get(sub->seen, key))
        record_failure(sub->sr, "subscriber: case %s announced twice", key);
      json_object_set(sub->seen, key, json_object_get(cs, "score"));
    }
    json_decref(doc);
    free(line);
  }
  return NULL;
}

/* A reviewer triaging while records arrive: claims the top new case and
 * dismisses it, over and over. */
static void *triage_main(void *arg) {
  struct shared_result *sr = arg;
  struct client c;
  client_init(&c, dial_unix(sr->sock, 0));
  int decided = 0;
  uint64_t end = now_ms() + 3 * WAIT_MS;
  while (decided < 15 && now_ms() < end) {
    if (!send_line(&c, "{\"op\":\"queue\",\"status\":\"new\",\"limit\":1}"))
      break;
    char *answer = read_line(&c);
    json_t *doc = answer ? json_loads(answer, 0, NULL) : NULL;
    json_t *cs = json_array_get(json_object_get(doc, "cases"), 0);
    if (!doc || !is_ok(doc)) {
      record_failure(sr, "triage: queue failed: %.200s",
                     answer ? answer : "no answer");
      free(answer);
      json_decref(doc);
      break;
    }
    json_int_t id = json_integer_value(json_object_get(cs, "case_id"));
    free(answer);
    json_decref(doc);
    if (!id) {
      sleep_ms(5);
      continue;
    }
    char line[256];
    snprintf(line, sizeof line, "{\"op\":\"case.claim\",\"case_id\":%lld}",
             (long long)id);
    send_line(&c, line);
    answer = read_line(&c);
    doc = answer ? json_loads(answer, 0, NULL) : NULL;
    if (!doc || !is_ok(doc))
      record_failure(sr, "triage: claim failed: %.200s",
                     answer ? answer : "no answer");
    free(answer);
    json_decref(doc);
    snprintf(line, sizeof line,
             "{\"op\":\"case.decide\",\"case_id\":%lld,\"decision\":"
             "\"dismiss\",\"note\":\"checked\",\"reason\":\"other\"}",
             (long long)id);
    send_line(&c, line);
    answer = read_line(&c);
    doc = answer ? json_loads(answer, 0, NULL) : NULL;
    if (!doc || !is_ok(doc))
      record_failure(sr, "triage: decide failed: %.200s",
                     answer ? answer : "no answer");
    free(answer);
    json_decref(doc);
    decided++;
  }
  if (decided < 15)
    record_failure(sr, "triage decided only %d cases", decided);
  client_close(&c);
  return NULL;
}

static void subscribe(struct subscriber *sub, struct server *s,
                      struct shared_result *sr, const char *request) {
  sub->sr = sr;
  sub->request = request;
  sub->seen = json_object();
  sub->expect = -1;
  client_unix(&sub->c, s);
  json_t *doc = call(&sub->c, request);
  expect_ok(doc);
  json_decref(doc);
  assert_int_equal(pthread_create(&sub->thread, NULL, subscriber_main, sub), 0);
}

/* 32 clients screening at once while two subscribers (one filtered by
 * score, one by kind) listen and a reviewer triages: every request is
 * answered, every opened case is announced once to each subscriber it
 * fits, and the store holds every acknowledged record. */
static void test_concurrent(void **state) {
  (void)state;
  struct server s;
  make_dir(&s, rules_v1);
  const char *const listen[] = {"--listen", "unix:s.sock", NULL};
  start(&s, listen);
  struct shared_result sr;
  memset(&sr, 0, sizeof sr);
  pthread_mutex_init(&sr.lock, NULL);
  sr.opened = json_object();
  sr.sock = s.sock;
  struct subscriber all, high, other;
  subscribe(&all, &s, &sr, "{\"op\":\"subscribe\",\"id\":\"all\"}");
  subscribe(&high, &s, &sr,
            "{\"op\":\"subscribe\",\"kinds\":[\"t\"],\"min_score\":60}");
  subscribe(&other, &s, &sr, "{\"op\":\"subscribe\",\"kinds\":[\"x\"]}");
  pthread_t triage;
  struct screener sc[SCREENERS];
  for (int i = 0; i < SCREENERS; i++) {
    sc[i].n = i;
    sc[i].sr = &sr;
    assert_int_equal(pthread_create(&sc[i].thread, NULL, screener_main, &sc[i]),
                     0);
  }
  assert_int_equal(pthread_create(&triage, NULL, triage_main, &sr), 0);
  for (int i = 0; i < SCREENERS; i++)
    pthread_join(sc[i].thread, NULL);
  pthread_join(triage, NULL);
  if (sr.failure[0])
    fail_msg("%s", sr.failure);
  int opened = (int)json_object_size(sr.opened), opened60 = 0;
  const char *key;
  json_t *v;
  json_object_foreach(sr.opened, key, v) opened60 +=
      json_integer_value(v) >= 60;
  assert_int_equal(opened, SCREENERS * PER_SCREENER * 2 / 3);
  __atomic_store_n(&all.expect, opened, __ATOMIC_SEQ_CST);
  __atomic_store_n(&high.expect, opened60, __ATOMIC_SEQ_CST);
  __atomic_store_n(&other.expect, 0, __ATOMIC_SEQ_CST);
  pthread_join(all.thread, NULL);
  pthread_join(high.thread, NULL);
  pthread_join(other.thread, NULL);
  if (sr.failure[0])
    fail_msg("%s", sr.failure);
  assert_int_equal(json_object_size(all.seen), opened);
  json_object_foreach(sr.opened, key, v) {
    if (!json_object_get(all.seen, key))
      fail_msg("case %s was not announced", key);
    if ((json_integer_value(v) >= 60) != !!json_object_get(high.seen, key))
      fail_msg("case %s: min_score filter wrong", key);
  }
  assert_int_equal(json_object_size(high.seen), opened60);
  /* Nothing for a kind no record has, even after a moment. */
  char *line = read_line_within(&other.c, 300);
  assert_null(line);
  assert_int_equal(json_object_size(other.seen), 0);

  json_t *stored = stored_record_ids(s.db);
  assert_int_equal(json_object_size(stored), opened);
  json_decref(stored);
  client_close(&all.c);
  client_close(&high.c);
  client_close(&other.c);
  json_decref(all.seen);
  json_decref(high.seen);
  json_decref(other.seen);
  json_decref(sr.opened);
  pthread_mutex_destroy(&sr.lock);
  assert_int_equal(stop(&s), 0);
}

/* ------------------------------------------------------- slow clients */

static long server_rss_kb(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  char *text = vgt_read_file(path, NULL);
  const char *at = text ? strstr(text, "VmRSS:") : NULL;
  long kb = at ? strtol(at + 6, NULL, 10) : -1;
  free(text);
  return kb;
}

struct rest {
  int fd;
  const char *data;
  size_t len;
  bool ok;
};

static void *rest_main(void *arg) {
  struct rest *r = arg;
  r->ok = send_all(r->fd, r->data, r->len);
  return NULL;
}

/* A client that sends and never reads stops being read once its bounds
 * are reached: the server's memory stays bounded, other clients are
 * served, and the answers are all there, in order, once it reads. */
static void test_slow_reader(void **state) {
  (void)state;
  struct server s;
  make_dir(&s, rules_v1);
  const char *const listen[] = {"--listen", "unix:s.sock", NULL};
  start(&s, listen);
  /* A small send buffer, so the kernel holds few requests beyond those
   * the server has taken. */
  struct client c;
  client_init(&c, dial_unix(s.sock, 0));
  assert_true(c.fd >= 0);
  int small = 8192;
  setsockopt(c.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  /* Some cases, so each answer is larger than its request. */
  char line[1024];
  for (int i = 0; i < 20; i++) {
    char id[16], subject[16];
    snprintf(id, sizeof id, "q%d", i);
    snprintf(subject, sizeof subject, "Q%d", i);
    screen_line(line, sizeof line, i, id, subject, 2, 0);
    json_decref(call(&c, line));
  }
  long rss_before = server_rss_kb(s.pid);
  int fl = fcntl(c.fd, F_GETFL);
  fcntl(c.fd, F_SETFL, fl | O_NONBLOCK);
  long sent = 0;
  uint64_t stalled_since = 0, end = now_ms() + WAIT_MS;
  char buf[65536];
  size_t pending = 0, off = 0;
  /* Write until the server has stopped reading: the socket stays full. */
  while (now_ms() < end && sent < 200000) {
    if (off == pending) {
      off = pending = 0;
      while (pending + 64 < sizeof buf)
        pending += (size_t)snprintf(
            buf + pending, sizeof buf - pending,
            "{\"op\":\"queue\",\"id\":%ld,\"limit\":20}\n", sent++);
    }
    ssize_t n = send(c.fd, buf + off, pending - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += (size_t)n;
      stalled_since = 0;
      continue;
    }
    assert_true(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    if (!stalled_since)
      stalled_since = now_ms();
    else if (now_ms() - stalled_since > 1500)
      break;
    sleep_ms(5);
  }
  assert_true(stalled_since != 0); /* it did stop reading */
  assert_true(wait_log(&s, "reading paused"));
  /* Whole lines only: finish the one cut by the full socket. */
  fcntl(c.fd, F_SETFL, fl);
  long last_sent = sent;
  /* Another client is served meanwhile. */
  struct client other;
  client_unix(&other, &s);
  json_t *doc = call(&other, "{\"op\":\"stats\",\"id\":\"other\"}");
  expect_ok(doc);
  json_decref(doc);
  client_close(&other);
  long rss = server_rss_kb(s.pid);
  print_message("slow reader: %ld requests sent before the server stopped "
                "reading; server RSS %ld KiB (was %ld)\n",
                sent, rss, rss_before);
#ifndef __SANITIZE_ADDRESS__
  /* (Under AddressSanitizer freed memory sits in quarantine, so the
   * server's RSS says nothing about what it holds.) */
  assert_true(rss - rss_before < 64 * 1024);
#endif
  /* Now read: every answer, in order, while the rest of the last piece
   * is written (the server reads it only as answers drain). */
  struct rest rest = {c.fd, buf + off, pending - off, false};
  pthread_t writer;
  assert_int_equal(pthread_create(&writer, NULL, rest_main, &rest), 0);
  for (long i = 0; i < last_sent; i++) {
    char *answer = read_line(&c);
    if (!answer)
      fail_msg("answer %ld of %ld missing", i, last_sent);
    /* Answers start with the echoed id: {"id":N,"ok":true,... */
    char *end_id;
    long id = strncmp(answer, "{\"id\":", 6) == 0
                  ? strtol(answer + 6, &end_id, 10)
                  : -1;
    if (id != i || strncmp(end_id, ",\"ok\":true,", 11) != 0)
      fail_msg("answer %ld out of order: %.80s", i, answer);
    free(answer);
  }
  pthread_join(writer, NULL);
  assert_true(rest.ok);
  client_close(&c);
  assert_int_equal(stop(&s), 0);
}

/* A subscriber that stops reading is cut off once its backlog passes the
 * bound, with a reason line after what it was owed; the other subscriber
 * gets every event meanwhile. */
static void test_slow_subscriber(void **state) {
  (void)state;
  struct server s;
  make_dir(&s, rules_v1);
  const char *const listen[] = {"--listen", "unix:s.sock", NULL};
  start(&s, listen);
  struct shared_result sr;
  memset(&sr, 0, sizeof sr);
  pthread_mutex_init(&sr.lock, NULL);
  struct client slow;
  slow.fd = dial_unix(s.sock, 4096);
  assert_true(slow.fd >= 0);
  client_init(&slow, slow.fd);
  json_t *doc = call(&slow, "{\"op\":\"subscribe\"}");
  expect_ok(doc);
  json_decref(doc);
  struct subscriber fast;
  subscribe(&fast, &s, &sr, "{\"op\":\"subscribe\"}");

  /* Enough new cases to pass the 1 MiB bound and the socket buffers. */
  enum { REQUESTS = 16, PER_REQUEST = 500 };
  struct client feed;
  client_unix(&feed, &s);
  size_t cap = PER_REQUEST * 256 + 64;
  char *line = malloc(cap);
  assert_non_null(line);
  for (int r = 0; r < REQUESTS; r++) {
    size_t off =
        (size_t)snprintf(line, cap, "{\"op\":\"screen\",\"records\":[");
    for (int i = 0; i < PER_REQUEST; i++) {
      char id[32], subject[32];
      snprintf(id, sizeof id, "s%d-%d", r, i);
      snprintf(subject, sizeof subject, "SUB%d-%d", r, i);
      if (i)
        line[off++] = ',';
      record(line + off, cap - off, id, subject, 2, 0);
      off += strlen(line + off);
    }
    snprintf(line + off, cap - off, "]}");
    doc = call(&feed, line);
    expect_ok(doc);
    json_decref(doc);
  }
  free(line);
  client_close(&feed);
  int total = REQUESTS * PER_REQUEST;
  __atomic_store_n(&fast.expect, total, __ATOMIC_SEQ_CST);
  pthread_join(fast.thread, NULL);
  if (sr.failure[0])
    fail_msg("%s", sr.failure);
  assert_int_equal(json_object_size(fast.seen), total);
  assert_true(wait_log(&s, "subscriber too slow"));

  /* The slow one: the events it was owed, the reason, the end. */
  int events = 0;
  bool reason = false;
  char *text;
  while ((text = read_line(&slow)) != NULL) {
    doc = json_loads(text, 0, NULL);
    const char *ev = json_string_value(json_object_get(doc, "event"));
    assert_non_null(ev);
    assert_false(reason); /* nothing after the reason */
    if (!strcmp(ev, "case.opened")) {
      events++;
    } else {
      assert_string_equal(ev, "closed");
      assert_non_null(
          strstr(json_string_value(json_object_get(doc, "reason")), "slow"));
      reason = true;
    }
    json_decref(doc);
    free(text);
  }
  assert_true(reason);
  assert_true(events > 0 && events < total);
  print_message("slow subscriber: %d of %d events before it was cut off\n",
                events, total);
  client_close(&slow);
  client_close(&fast.c);
  json_decref(fast.seen);
  pthread_mutex_destroy(&sr.lock);
  assert_int_equal(stop(&s), 0);
}

/* SIGHUP with broken rules keeps the rules in force; with good ones, the
 * new set screens the next record. */
static void test_reload(void **state) {
  (void)state;
  struct server s;
  make_dir(&s, rules_v1);
  const char *const listen[] = {"--listen", "unix:s.sock", NULL};
  start(&s, listen);
  struct client c;
  client_unix(&c, &s);
  char line[1024], path[512];
  screen_line(line, sizeof line, 1, "h1", "H1", 1, 0);
  json_t *doc = call(&c, line);
  expect_ok(doc);
  json_t *hit = json_array_get(json_object_get(first_result(doc), "hits"), 0);
  assert_string_equal(json_string_value(json_object_get(hit, "rule")), "T-A");
  json_decref(doc);

  snprintf(path, sizeof path, "%s/t.yaml", s.rules);
  assert_int_equal(vgt_write_file(path, "rules:\n"
                                        "  - id: T-NEW\n"
                                        "    title: broken\n"
                                        "    kind: t\n"
                                        "    score: 10\n"
                                        "    match: { sel: { nosuch|gte: 1 } "
                                        "}\n"),
                   0);
  kill(s.pid, SIGHUP);
  assert_true(wait_log(&s, "reload failed"));
  assert_true(log_has(&s, "t.yaml:6:")); /* the error, with its place */
  screen_line(line, sizeof line, 2, "h2", "H2", 1, 0);
  doc = call(&c, line);
  expect_ok(doc);
  hit = json_array_get(json_object_get(first_result(doc), "hits"), 0);
  assert_string_equal(json_string_value(json_object_get(hit, "rule")), "T-A");
  json_decref(doc);

  assert_int_equal(vgt_write_file(path, "rules:\n"
                                        "  - id: T-NEW\n"
                                        "    title: a is positive\n"
                                        "    kind: t\n"
                                        "    score: 10\n"
                                        "    match: { sel: { a|gte: 1 } }\n"),
                   0);
  kill(s.pid, SIGHUP);
  assert_true(wait_log(&s, "rules reloaded"));
  screen_line(line, sizeof line, 3, "h3", "H3", 1, 0);
  doc = call(&c, line);
  expect_ok(doc);
  json_t *hits = json_object_get(first_result(doc), "hits");
  assert_int_equal(json_array_size(hits), 1);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(hits, 0), "rule")),
      "T-NEW");
  json_decref(doc);
  client_close(&c);
  assert_int_equal(stop(&s), 0);
}

struct flood {
  int fd;
  int count;
  volatile int written; /* requests fully sent */
};

static void *flood_main(void *arg) {
  struct flood *f = arg;
  for (int i = 0; i < f->count; i++) {
    char line[1024], id[32], subject[32];
    snprintf(id, sizeof id, "k%d", i);
    snprintf(subject, sizeof subject, "K%d", i);
    screen_line(line, sizeof line, i, id, subject, 2, 0);
    size_t len = strlen(line);
    line[len++] = '\n';
    if (!send_all(f->fd, line, len))
      break; /* the server stopped reading and closed */
    __atomic_store_n(&f->written, i + 1, __ATOMIC_SEQ_CST);
  }
  shutdown(f->fd, SHUT_WR);
  return NULL;
}

/* SIGTERM in the middle of a stream of requests: the server answers what
 * it read, stops, and exits 0; the records acknowledged are exactly the
 * records stored. */
static void test_sigterm_in_flight(void **state) {
  (void)state;
  struct server s;
  make_dir(&s, rules_v1);
  const char *const listen[] = {"--listen", "unix:s.sock", NULL};
  start(&s, listen);
  struct client c;
  client_unix(&c, &s);
  struct flood f = {c.fd, 20000, 0};
  pthread_t writer;
  assert_int_equal(pthread_create(&writer, NULL, flood_main, &f), 0);
  json_t *acked = json_object();
  int answers = 0;
  bool signalled = false;
  char *text;
  while ((text = read_line(&c)) != NULL) {
    json_t *doc = json_loads(text, 0, NULL);
    if (!doc || !is_ok(doc) ||
        json_integer_value(json_object_get(doc, "id")) != answers)
      fail_msg("answer %d: %.200s", answers, text);
    json_t *res = first_result(doc);
    json_object_set_new(acked,
                        json_string_value(json_object_get(res, "record_id")),
                        json_true());
    json_decref(doc);
    free(text);
    if (++answers == 300 && !signalled) {
      kill(s.pid, SIGTERM);
      signalled = true;
    }
  }
  assert_true(signalled);
  assert_int_equal(wait_exit(&s), 0);
  pthread_join(writer, NULL);
  int written = __atomic_load_n(&f.written, __ATOMIC_SEQ_CST);
  print_message("stop in flight: %d requests written, %d answered\n", written,
                answers);
  assert_true(answers <= written);
  json_t *stored = stored_record_ids(s.db);
  const char *key;
  json_t *v;
  json_object_foreach(acked, key, v) {
    if (!json_object_get(stored, key))
      fail_msg("record %s was acknowledged but is not stored", key);
  }
  json_object_foreach(stored, key, v) {
    if (!json_object_get(acked, key))
      fail_msg("record %s is stored but was never acknowledged", key);
  }
  assert_true(log_has(&s, "stopped:"));
  json_decref(stored);
  json_decref(acked);
  client_close(&c);
}

/* A batch the store cannot write is rolled back: the requests with records
 * in it are answered `internal`, with their ids, none of their records is
 * stored, and the server goes on storing the next requests. */
static void test_store_failure(void **state) {
  (void)state;
  struct server s;
  make_dir(&s, rules_v1);
  /* The database is made first, with a trigger that refuses one record. */
  vg_store *store = NULL;
  char err[256];
  assert_int_equal(vg_store_open(s.db, true, &store, err, sizeof err), 0);
  vg_store_close(store);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(s.db, &db), SQLITE_OK);
  assert_int_equal(
      sqlite3_exec(db,
                   "CREATE TRIGGER boom BEFORE INSERT ON records WHEN "
                   "NEW.record_id = 'boom' BEGIN SELECT RAISE(ABORT, "
                   "'refused by the test'); END",
                   NULL, NULL, NULL),
      SQLITE_OK);
  sqlite3_close(db);
  const char *const listen[] = {"--listen", "unix:s.sock", NULL};
  start(&s, listen);
  struct client c;
  client_unix(&c, &s);
  char line[2048];
  screen_line(line, sizeof line, 7, "boom", "D1", 2, 0);
  json_t *doc = call(&c, line);
  expect_error(doc, "internal");
  assert_int_equal(json_integer_value(json_object_get(doc, "id")), 7);
  json_decref(doc);
  /* Two records in one request, the second refused: neither is kept. */
  char a[512], b[512];
  record(a, sizeof a, "kept-not", "D2", 2, 0);
  record(b, sizeof b, "boom", "D3", 2, 0);
  snprintf(line, sizeof line,
           "{\"op\":\"screen\",\"id\":\"pair\",\"records\":[%s,%s]}", a, b);
  doc = call(&c, line);
  expect_error(doc, "internal");
  assert_string_equal(json_string_value(json_object_get(doc, "id")), "pair");
  json_decref(doc);
  /* Two requests sent at once share a batch: the first, answered before
   * the second fails, is rolled back with it and told so, by its id. */
  char first[1024], second[1024], both[2100];
  screen_line(first, sizeof first, 9, "early", "D5", 2, 0);
  screen_line(second, sizeof second, 10, "boom", "D6", 2, 0);
  /* One write, both newlines in it: the server reads both at once. */
  snprintf(both, sizeof both, "%s\n%s\n", first, second);
  assert_true(send_all(c.fd, both, strlen(both)));
  for (int i = 0; i < 2; i++) {
    doc = read_json(&c);
    expect_error(doc, "internal");
    assert_int_equal(json_integer_value(json_object_get(doc, "id")), 9 + i);
    json_decref(doc);
  }
  /* The next request is stored as usual. */
  screen_line(line, sizeof line, 8, "fine", "D4", 2, 0);
  doc = call(&c, line);
  expect_ok(doc);
  assert_true(
      json_integer_value(json_object_get(first_result(doc), "case_id")) > 0);
  json_decref(doc);
  client_close(&c);
  assert_int_equal(stop(&s), 0);
  assert_true(log_has(&s, "could not be stored"));
  assert_true(log_has(&s, "refused by the test"));
  json_t *ids = stored_record_ids(s.db);
  assert_non_null(json_object_get(ids, "fine"));
  assert_null(json_object_get(ids, "boom"));
  assert_null(json_object_get(ids, "kept-not"));
  assert_null(json_object_get(ids, "early"));
  json_decref(ids);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_basics, teardown),
      cmocka_unit_test_teardown(test_malformed_and_oversize, teardown),
      cmocka_unit_test_teardown(test_roles_and_tokens, teardown),
      cmocka_unit_test_teardown(test_tokens_file, teardown),
      cmocka_unit_test_teardown(test_refusals, teardown),
      cmocka_unit_test_teardown(test_concurrent, teardown),
      cmocka_unit_test_teardown(test_slow_reader, teardown),
      cmocka_unit_test_teardown(test_slow_subscriber, teardown),
      cmocka_unit_test_teardown(test_reload, teardown),
      cmocka_unit_test_teardown(test_sigterm_in_flight, teardown),
      cmocka_unit_test_teardown(test_store_failure, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
