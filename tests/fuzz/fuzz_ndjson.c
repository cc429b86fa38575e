/* fuzz_ndjson.c - fuzz target for the record reader's fast path: arbitrary
 * bytes go through the NDJSON source and every record through the JSON
 * scanner, checked against jansson's verdict and values. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "source.h"

#define MAX_RECORD 1000

static const char *const paths[] = {
    "a", "a.b", "a.b.c", "kind", "id", "t.n", "\xC3\xA9.\xC3\xA9"};
#define NPATHS (sizeof paths / sizeof paths[0])

static void check(bool ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_ndjson: %s\n", what);
    abort();
  }
}

/* The value jansson holds at a dotted path, or NULL. */
static json_t *lookup(json_t *root, const char *path) {
  json_t *cur = root;
  const char *seg = path;
  for (;;) {
    const char *dot = strchr(seg, '.');
    size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
    if (!json_is_object(cur))
      return NULL;
    cur = json_object_getn(cur, seg, len);
    if (!cur || !dot)
      return cur;
    seg = dot + 1;
  }
}

static int kind_of(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return VG_JSON_OBJECT;
  case JSON_ARRAY:
    return VG_JSON_ARRAY;
  case JSON_STRING:
    return VG_JSON_STRING;
  case JSON_INTEGER:
  case JSON_REAL:
    return VG_JSON_NUMBER;
  case JSON_TRUE:
    return VG_JSON_TRUE;
  case JSON_FALSE:
    return VG_JSON_FALSE;
  default:
    return VG_JSON_NULL;
  }
}

/* One token against jansson's value for it. */
static void compare(const char *buf, const struct vg_json_token *tok,
                    json_t *want) {
  check(tok->kind == kind_of(want), "kind differs from jansson");
  check((size_t)tok->start + tok->len <= UINT32_MAX, "token out of range");
  const char *text = buf + tok->start;
  if (tok->kind == VG_JSON_STRING) {
    char *out = malloc(tok->len ? tok->len : 1);
    check(out != NULL, "out of memory");
    size_t n = vg_json_unescape(text, tok->len, out);
    check(n == json_string_length(want) &&
              memcmp(out, json_string_value(want), n) == 0,
          "string differs from jansson");
    check(tok->escaped || n == tok->len, "unescaped string changed");
    free(out);
  } else if (tok->kind == VG_JSON_NUMBER) {
    double d;
    bool integral;
    int64_t iv;
    check(vg_json_number(text, tok->len, &d, &integral, &iv) == 0,
          "number refused");
    check(d == json_number_value(want), "number differs from jansson");
    if (json_is_integer(want))
      check(integral && iv == json_integer_value(want),
            "integer differs from jansson");
  } else if (tok->kind == VG_JSON_ARRAY) {
    check(tok->count == json_array_size(want), "array count differs");
    struct vg_json_iter it;
    struct vg_json_token elem;
    vg_json_iter_init(&it, buf, tok);
    size_t i = 0;
    while (vg_json_iter_next(&it, &elem)) {
      check(i < json_array_size(want), "iteration runs past the count");
      compare(buf, &elem, json_array_get(want, i));
      i++;
    }
    check(i == tok->count, "iteration stops short of the count");
  } else if (tok->kind == VG_JSON_OBJECT) {
    /* Repeated keys count as members here, once in jansson. */
    check(tok->count >= json_object_size(want), "object count differs");
  }
}

static void scan_record(const struct vg_pathtrie *trie, const char *json,
                        size_t len) {
  /* An exact copy, so reading one byte past the record is caught. */
  char *buf = malloc(len ? len : 1);
  check(buf != NULL, "out of memory");
  memcpy(buf, json, len);
  struct vg_json_token tokens[NPATHS];
  struct vg_json_error err;
  int rc = vg_json_scan(trie, buf, len, tokens, &err);
  if (rc != 0)
    check(err.offset <= len && err.message[0], "error without place");

  json_error_t jerr;
  json_t *root = json_loadb(buf, len, JSON_ALLOW_NUL, &jerr);
  /* jansson passes over raw NUL bytes between tokens, which RFC 8259 does
   * not allow; only compare verdicts on records without them. */
  if (root && json_is_object(root) && !memchr(buf, '\0', len)) {
    check(rc == 0 || strstr(err.message, "nesting deeper"),
          "jansson accepts a record the scanner refuses");
  } else if (rc == 0) {
    /* Valid JSON jansson cannot hold: huge numbers, "\u0000" in keys. */
    check(!root &&
              (strstr(jerr.text, "too big") || strstr(jerr.text, "overflow") ||
               strstr(jerr.text, "NUL byte in object key")),
          "the scanner accepts a record jansson refuses");
  }
  if (rc == 0 && root) {
    for (size_t i = 0; i < NPATHS; i++) {
      json_t *want = lookup(root, paths[i]);
      if (want)
        compare(buf, &tokens[i], want);
      else
        check(tokens[i].kind == VG_JSON_ABSENT, "found a path jansson lacks");
    }
  }
  json_decref(root);
  free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char empty[1];
  struct vg_pathtrie *trie = vg_pathtrie_new();
  check(trie != NULL, "out of memory");
  for (size_t i = 0; i < NPATHS; i++)
    check(vg_pathtrie_add(trie, paths[i], strlen(paths[i])) == (int)i,
          "trie refused a path");
  FILE *in = size ? fmemopen((void *)(uintptr_t)data, size, "r")
                  : fmemopen(empty, 0, "r");
  check(in != NULL, "fmemopen failed");
  struct vg_source *src = vg_source_ndjson_new(in, "fuzz", MAX_RECORD);
  check(src != NULL, "out of memory");
  struct vg_source_item item;
  long last = 0;
  int rc;
  while ((rc = vg_source_next(src, &item)) == 1) {
    check(item.line > last, "line numbers do not increase");
    last = item.line;
    if (item.type == VG_ITEM_RECORD) {
      check(item.json_len <= MAX_RECORD, "record over the limit");
      scan_record(trie, item.json, item.json_len);
    } else {
      check(item.type == VG_ITEM_REJECT && item.raw_len > 0 &&
                item.raw_len <= VG_RAW_EXCERPT,
            "bad reject");
    }
  }
  check(rc == 0, "read error on memory");
  vg_source_free(src);
  fclose(in);
  vg_pathtrie_free(trie);
  return 0;
}
