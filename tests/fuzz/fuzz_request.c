/* fuzz_request.c - fuzz target for the socket protocol's reading side:
 * arbitrary bytes are framed into lines in arbitrary pieces (checked against
 * a plain split), every line goes through the request parser (checked
 * against jansson's reading of the same line), and every error answer built
 * from it must be valid JSON. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "server_impl.h"
#include "vg_error.h"

#define MAX_LINE 512

static void check(bool ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_request: %s\n", what);
    abort();
  }
}

static const struct vg_request_parser *parser(void) {
  static struct vg_request_parser *p;
  if (!p)
    p = vg_request_parser_new();
  check(p != NULL, "out of memory");
  return p;
}

/* A JSON value from text, or NULL. */
static json_t *load(const char *text, size_t len) {
  return json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

/* Valid JSON that jansson cannot hold: numbers out of its range, "\u0000"
 * in keys. RFC 8259 sets no such limits, so the parser may accept it. */
static bool beyond_jansson(const char *text, size_t len) {
  json_error_t err;
  json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
  if (v) {
    json_decref(v);
    return false;
  }
  return strstr(err.text, "too big") || strstr(err.text, "overflow") ||
         strstr(err.text, "NUL byte in object key");
}

static void check_answer(const struct vg_request *req, const char *err) {
  struct vg_jsonw w;
  vg_jsonw_init(&w);
  vg__answer_error(&w, req->id, req->id_len, "bad_request", err);
  check(!w.failed && w.len > 0 && w.data[w.len - 1] == '\n',
        "answer not built");
  /* An id is echoed as the client wrote it, "\u0000" included. */
  json_t *doc = json_loadb(w.data, w.len - 1, JSON_ALLOW_NUL, NULL);
  if (!doc && beyond_jansson(w.data, w.len - 1)) {
    vg_jsonw_close(&w);
    return;
  }
  check(doc != NULL, "error answer is not valid JSON");
  check(json_is_false(json_object_get(doc, "ok")), "answer not ok:false");
  check(!req->id == !json_object_get(doc, "id"), "id echoed wrongly");
  json_decref(doc);
  vg_jsonw_close(&w);
}

/* What the parser made of a line it accepted, against jansson. */
static void compare(const char *line, size_t len,
                    const struct vg_request *req) {
  json_t *root = load(line, len);
  if (!root && beyond_jansson(line, len))
    return;
  check(root && json_is_object(root), "parser accepts what jansson refuses");
  json_t *op = json_object_get(root, "op");
  check(json_is_string(op) &&
            !strcmp(json_string_value(op), vg_op_name(req->op)),
        "op differs from jansson");
  json_t *id = json_object_get(root, "id");
  check(!id == !req->id, "id presence differs");
  if (id) {
    check(req->id >= line && req->id + req->id_len <= line + len,
          "id outside the line");
    json_t *mine = load(req->id, req->id_len);
    check(mine && json_equal(mine, id), "id differs from jansson");
    json_decref(mine);
  }
  if (req->op == VG_OP_SCREEN) {
    json_t *recs = json_object_get(root, "records");
    json_t *one = json_object_get(root, "record");
    check(req->records.start + (size_t)req->records.len <= len,
          "records outside the line");
    json_t *mine = load(line + req->records.start, req->records.len);
    check(mine != NULL, "records text is not JSON");
    if (req->batch) {
      check(json_is_array(recs) && json_equal(mine, recs),
            "records differ from jansson");
      check(req->nrecords == json_array_size(recs), "record count differs");
      for (size_t i = 0; i < req->nrecords; i++) {
        const struct vg_json_span *sp = &req->record_spans[i];
        check(sp->start + (size_t)sp->len <= len, "record outside the line");
        json_t *rec = load(line + sp->start, sp->len);
        check(rec && json_equal(rec, json_array_get(recs, i)),
              "a record's place differs from jansson");
        json_decref(rec);
      }
    } else {
      check(json_is_object(one) && json_equal(mine, one),
            "record differs from jansson");
      check(req->nrecords == 1, "one record counted wrongly");
    }
    json_decref(mine);
  } else if (req->op >= VG_OP_CASE_SHOW && req->op <= VG_OP_CASE_REOPEN) {
    json_t *cid = json_object_get(root, "case_id");
    /* 3.0 is the whole number 3, as for records (SPEC 1). */
    check(json_is_number(cid) &&
              json_number_value(cid) == (double)req->case_id &&
              req->case_id > 0,
          "case_id differs");
  } else if (req->op == VG_OP_AUTH) {
    json_t *tok = json_object_get(root, "token");
    check(json_is_string(tok) && json_string_length(tok) == req->token_len &&
              !memcmp(json_string_value(tok), req->token, req->token_len),
          "token differs");
  } else if (req->op == VG_OP_SUBSCRIBE) {
    json_t *kinds = json_object_get(root, "kinds");
    size_t n = json_is_array(kinds) ? json_array_size(kinds) : 0;
    check(req->nkinds == n, "kinds count differs");
    for (size_t i = 0; i < n; i++)
      check(!strcmp(req->kinds[i], json_string_value(json_array_get(kinds, i))),
            "kind differs");
  }
  json_decref(root);
}

static void parse_line(const char *data, size_t len) {
  /* An exact copy so a read past the line is caught. */
  char *line = malloc(len ? len : 1);
  check(line != NULL, "out of memory");
  memcpy(line, data, len);
  struct vg_request req;
  char err[256];
  memset(err, 'x', sizeof err);
  int rc = vg_request_parse(parser(), line, len, INT64_C(1767225600000000),
                            &req, err, sizeof err);
  check(rc == 0 || rc == VG_EINVAL, "unexpected return");
  if (rc == 0) {
    compare(line, len, &req);
  } else {
    check(memchr(err, '\0', sizeof err) && err[0], "error without message");
    /* Valid JSON objects jansson reads, with an op, may still be refused
     * for their content, never as invalid JSON. */
    json_t *root = load(line, len);
    if (root && json_is_object(root) && !memchr(line, '\0', len))
      check(strncmp(err, "invalid JSON", 12) != 0 ||
                strstr(err, "nesting deeper"),
            "jansson reads what the parser calls invalid");
    json_decref(root);
  }
  check_answer(&req, rc == 0 ? "ok" : err);
  vg_request_close(&req);
  free(line);
}

/* The lines a plain split gives, to hold the framing to. */
struct expect {
  const uint8_t *data;
  size_t size, pos;
  bool dead;
};

/* Next expected line: 1 with it, 0 at the end, VG_ELIMIT. */
static int expect_next(struct expect *e, bool at_end, const char **line,
                       size_t *len) {
  if (e->dead || e->pos >= e->size)
    return 0;
  const uint8_t *nl = memchr(e->data + e->pos, '\n', e->size - e->pos);
  if (!nl && !at_end)
    return 0;
  size_t end = nl ? (size_t)(nl - e->data) : e->size;
  size_t n = end - e->pos;
  if (n > 0 && e->data[end - 1] == '\r')
    n--;
  if (n > MAX_LINE) {
    e->dead = true;
    return VG_ELIMIT;
  }
  *line = (const char *)e->data + e->pos;
  *len = n;
  e->pos = nl ? end + 1 : e->size;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct vg_linebuf lb;
  vg_linebuf_init(&lb, MAX_LINE);
  struct expect e = {data, size, 0, false};
  size_t fed = 0;
  uint32_t h = 2166136261u;
  bool dead = false;
  while (!dead) {
    bool at_end = fed == size;
    const char *line, *want;
    size_t len, want_len;
    int rc = at_end ? vg_linebuf_rest(&lb, &line, &len)
                    : vg_linebuf_next(&lb, &line, &len);
    if (rc == 1) {
      check(expect_next(&e, at_end, &want, &want_len) == 1,
            "framing gave a line the split does not");
      check(len == want_len && !memcmp(line, want, len),
            "framing gave another line");
      parse_line(line, len);
      continue;
    }
    if (rc == VG_ELIMIT) {
      /* Known early: the line in progress is already too long. */
      const uint8_t *nl = memchr(data + e.pos, '\n', size - e.pos);
      size_t end = nl ? (size_t)(nl - data) : size;
      check(end - e.pos > MAX_LINE, "limit reported for a short line");
      dead = true;
      break;
    }
    check(rc == 0, "unexpected framing return");
    if (at_end)
      break;
    vg_linebuf_release(&lb);
    /* Pieces of 1 to 97 bytes, chosen by the data itself. */
    h = (h ^ data[fed]) * 16777619u;
    size_t piece = 1 + h % 97;
    if (piece > size - fed)
      piece = size - fed;
    char *at;
    size_t avail;
    check(vg_linebuf_reserve(&lb, piece, &at, &avail) == 0, "out of memory");
    check(avail >= piece, "reserve gave too little");
    check(lb.cap <= MAX_LINE + 2 + 2 * ((size_t)64 << 10) + piece,
          "buffer grew past its bound");
    memcpy(at, data + fed, piece);
    vg_linebuf_commit(&lb, piece);
    fed += piece;
  }
  if (!dead) {
    const char *want;
    size_t want_len;
    check(expect_next(&e, true, &want, &want_len) == 0,
          "the split has a line framing missed");
  }
  vg_linebuf_close(&lb);
  return 0;
}
