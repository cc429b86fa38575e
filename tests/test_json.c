/* test_json.c - the JSON scanner: strict validation with error offsets,
 * path matching through the trie, arrays, numbers and unescaping. */
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "vg_error.h"

/* Scans exactly len bytes from a heap copy, so the sanitizers catch any
 * read past the end (the scanner needs no NUL). */
static int scan_exact(const struct vg_pathtrie *trie, const char *text,
                      size_t len, struct vg_json_token *tokens,
                      struct vg_json_error *err) {
  char *copy = malloc(len ? len : 1);
  assert_non_null(copy);
  memcpy(copy, text, len);
  int rc = vg_json_scan(trie, copy, len, tokens, err);
  free(copy);
  return rc;
}

struct doc_case {
  const char *text;
  size_t len;          /* texts may hold a NUL */
  long offset;         /* -1: valid */
  const char *message; /* expected error message when invalid */
};
#define D(text, offset, message)                                               \
  { text, sizeof(text) - 1, offset, message }

static const struct doc_case doc_cases[] = {
    /* valid documents */
    D("{}", -1, NULL),
    D(" \t\r\n{ } \r\n\t ", -1, NULL),
    D("{\"a\":1}", -1, NULL),
    D("{\"a\":-0.5e-3,\"b\":0,\"c\":-0,\"d\":1E+2,\"e\":12.25E9}", -1, NULL),
    D("{\"a\":true,\"b\":false,\"c\":null}", -1, NULL),
    D("{\"a\":[],\"b\":{},\"c\":[{}],\"d\":[[]]}", -1, NULL),
    D("{ \"a\" : [ 1 , \"x\" , { \"y\" : null } ] }", -1, NULL),
    D("{\"\":\"\"}", -1, NULL),
    D("{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\"}", -1, NULL),
    D("{\"a\":\"\\uD83D\\uDE00\"}", -1, NULL),
    D("{\"a\":\"\\u0000\"}", -1, NULL),
    D("{\"a\":\"\x7f\"}", -1, NULL),
    D("{\"a\":\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"}", -1, NULL),
    D("{\"a\":\"\xEF\xBF\xBF\xF4\x8F\xBF\xBF\xED\x9F\xBF\xEE\x80\x80\"}", -1,
      NULL),
    D("{\"\xC3\xA9t\xC3\xA9\":1}", -1, NULL),
    /* not an object */
    D("", 0, "record is not a JSON object"),
    D("   ", 3, "record is not a JSON object"),
    D("[1]", 0, "record is not a JSON object"),
    D("\"x\"", 0, "record is not a JSON object"),
    D("1", 0, "record is not a JSON object"),
    D("null", 0, "record is not a JSON object"),
    D("\xEF\xBB\xBF{}", 0, "record is not a JSON object"),
    /* structure */
    D("{", 1, "expected a string key or '}'"),
    D("{\"a\"}", 4, "expected ':' after object key"),
    D("{\"a\" 1}", 5, "expected ':' after object key"),
    D("{\"a\":}", 5, "expected a value"),
    D("{\"a\":", 5, "expected a value"),
    D("{\"a\":1,}", 7, "expected a string key after ','"),
    D("{\"a\":1,,\"b\":2}", 7, "expected a string key after ','"),
    D("{,}", 1, "expected a string key or '}'"),
    D("{\"a\":1", 6, "expected ',' or '}'"),
    D("{\"a\":1 \"b\":2}", 7, "expected ',' or '}'"),
    D("{\"a\":1]", 6, "expected ',' or '}'"),
    D("{\"a\":[1,]}", 8, "expected a value after ','"),
    D("{\"a\":[,]}", 6, "expected a value"),
    D("{\"a\":[1 2]}", 8, "expected ',' or ']'"),
    D("{\"a\":[1}", 7, "expected ',' or ']'"),
    D("{\"a\":[1", 7, "expected ',' or ']'"),
    D("{'a':1}", 1, "expected a string key or '}'"),
    D("{a:1}", 1, "expected a string key or '}'"),
    D("{1:1}", 1, "expected a string key or '}'"),
    D("{\"a\":1}x", 7, "unexpected text after the record"),
    D("{\"a\":1} {}", 8, "unexpected text after the record"),
    D("{}{}", 2, "unexpected text after the record"),
    D("{}\n\n,", 4, "unexpected text after the record"),
    D("{}\xC3\xA9", 2, "unexpected text after the record"),
    D("{}\f", 2, "unexpected text after the record"),
    D("{\f}", 1, "expected a string key or '}'"),
    D("{}\0", 2, "unexpected text after the record"),
    /* numbers */
    D("{\"a\":01}", 5, "leading zeros are not allowed in numbers"),
    D("{\"a\":-01}", 6, "leading zeros are not allowed in numbers"),
    D("{\"a\":00}", 5, "leading zeros are not allowed in numbers"),
    D("{\"a\":+1}", 5, "expected a value"),
    D("{\"a\":.5}", 5, "expected a value"),
    D("{\"a\":1.}", 7, "expected a digit after the decimal point"),
    D("{\"a\":1.e3}", 7, "expected a digit after the decimal point"),
    D("{\"a\":1e}", 7, "expected a digit in the exponent"),
    D("{\"a\":1e+}", 8, "expected a digit in the exponent"),
    D("{\"a\":1E-x}", 8, "expected a digit in the exponent"),
    D("{\"a\":-}", 6, "expected a digit after '-'"),
    D("{\"a\":-a}", 6, "expected a digit after '-'"),
    D("{\"a\":NaN}", 5, "expected a value"),
    D("{\"a\":Infinity}", 5, "expected a value"),
    D("{\"a\":-Infinity}", 6, "expected a digit after '-'"),
    D("{\"a\":0x10}", 6, "expected ',' or '}'"),
    D("{\"a\":1_000}", 6, "expected ',' or '}'"),
    /* literals */
    D("{\"a\":tru}", 5, "invalid literal (expected true, false or null)"),
    D("{\"a\":nul", 5, "invalid literal (expected true, false or null)"),
    D("{\"a\":fals}", 5, "invalid literal (expected true, false or null)"),
    D("{\"a\":True}", 5, "expected a value"),
    D("{\"a\":truex}", 9, "expected ',' or '}'"),
    /* strings */
    D("{\"a\":\"x}", 5, "unterminated string"),
    D("{\"a", 1, "unterminated string"),
    D("{\"a\":\"x\\", 7, "unterminated string"),
    D("{\"a\":\"\\x\"}", 6, "invalid escape sequence"),
    D("{\"a\":\"\\U0041\"}", 6, "invalid escape sequence"),
    D("{\"a\":\"\\'\"}", 6, "invalid escape sequence"),
    D("{\"a\":\"\\u12\"}", 6, "\\u must be followed by four hex digits"),
    D("{\"a\":\"\\u12G4\"}", 6, "\\u must be followed by four hex digits"),
    D("{\"a\":\"\\u", 6, "\\u must be followed by four hex digits"),
    D("{\"a\":\"\\uD800\"}", 6, "unpaired surrogate in \\u escape"),
    D("{\"a\":\"\\uDBFF\"}", 6, "unpaired surrogate in \\u escape"),
    D("{\"a\":\"\\uDC00\"}", 6, "unpaired surrogate in \\u escape"),
    D("{\"a\":\"\\uDFFF\\uD800\"}", 6, "unpaired surrogate in \\u escape"),
    D("{\"a\":\"\\uD800\\u0041\"}", 6, "unpaired surrogate in \\u escape"),
    D("{\"a\":\"\\uD800\\uD800\"}", 6, "unpaired surrogate in \\u escape"),
    D("{\"a\":\"\\uD800\\n\"}", 6, "unpaired surrogate in \\u escape"),
    D("{\"a\":\"\\uD800x\"}", 6, "unpaired surrogate in \\u escape"),
    D("{\"a\":\"\\uD800\\uDCxx\"}", 12,
      "\\u must be followed by four hex digits"),
    D("{\"a\":\"x\ty\"}", 7, "control character in string (must be escaped)"),
    D("{\"a\":\"\n\"}", 6, "control character in string (must be escaped)"),
    D("{\"a\":\"\x01\"}", 6, "control character in string (must be escaped)"),
    D("{\"a\":\"\x1f\"}", 6, "control character in string (must be escaped)"),
    D("{\"a\x00\":1}", 3, "control character in string (must be escaped)"),
    /* UTF-8 */
    D("{\"a\":\"\x80\"}", 6, "invalid UTF-8"), /* lone continuation */
    D("{\"a\":\"\xBF\"}", 6, "invalid UTF-8"),
    D("{\"a\":\"\xC0\xAF\"}", 6, "invalid UTF-8"),         /* overlong '/' */
    D("{\"a\":\"\xC1\xBF\"}", 6, "invalid UTF-8"),         /* overlong */
    D("{\"a\":\"\xE0\x80\xAF\"}", 6, "invalid UTF-8"),     /* overlong */
    D("{\"a\":\"\xE0\x9F\xBF\"}", 6, "invalid UTF-8"),     /* overlong */
    D("{\"a\":\"\xF0\x80\x80\xAF\"}", 6, "invalid UTF-8"), /* overlong */
    D("{\"a\":\"\xF0\x8F\xBF\xBF\"}", 6, "invalid UTF-8"), /* overlong */
    D("{\"a\":\"\xED\xA0\x80\"}", 6, "invalid UTF-8"),     /* U+D800 */
    D("{\"a\":\"\xED\xBF\xBF\"}", 6, "invalid UTF-8"),     /* U+DFFF */
    D("{\"a\":\"\xF4\x90\x80\x80\"}", 6, "invalid UTF-8"), /* U+110000 */
    D("{\"a\":\"\xF5\x80\x80\x80\"}", 6, "invalid UTF-8"),
    D("{\"a\":\"\xF8\x88\x80\x80\x80\"}", 6, "invalid UTF-8"),
    D("{\"a\":\"\xFE\"}", 6, "invalid UTF-8"),
    D("{\"a\":\"\xFF\"}", 6, "invalid UTF-8"),
    D("{\"a\":\"\xC3\"}", 6, "invalid UTF-8"), /* truncated */
    D("{\"a\":\"\xE2\x82\"}", 6, "invalid UTF-8"),
    D("{\"a\":\"\xF0\x9F\x98\"}", 6, "invalid UTF-8"),
    D("{\"a\":\"\xC3\xC3\xA9\"}", 6, "invalid UTF-8"),
    D("{\"a\":\"\xE2\x28\xA1\"}", 6, "invalid UTF-8"),
    D("{\"a\":\"\xE2\x82\x28\"}", 6, "invalid UTF-8"),
    D("{\"a\":\"\xF0\x9F\x98\x28\"}", 6, "invalid UTF-8"),
    D("{\"a\":\"ok\xC3\xA9\xFF\"}", 10, "invalid UTF-8"),
    D("{\"\xFF\":1}", 2, "invalid UTF-8"),
    D("{\"a\":\"\xC3", 6, "invalid UTF-8"),
    D("{\"a\":\xC3\xA9}", 5, "expected a value"),
};

static void test_documents(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof doc_cases / sizeof doc_cases[0]; i++) {
    const struct doc_case *c = &doc_cases[i];
    size_t len = c->len;
    struct vg_json_error err = {0};
    int rc = scan_exact(NULL, c->text, len, NULL, &err);
    if (c->offset < 0) {
      if (rc != 0)
        print_error("case %zu (%s): %s at %zu\n", i, c->text, err.message,
                    err.offset);
      assert_int_equal(rc, 0);
      continue;
    }
    if (rc != VG_EINVAL)
      print_error("case %zu (%s) was accepted\n", i, c->text);
    assert_int_equal(rc, VG_EINVAL);
    if ((long)err.offset != c->offset || strcmp(err.message, c->message))
      print_error("case %zu (%s): got \"%s\" at %zu\n", i, c->text, err.message,
                  err.offset);
    assert_int_equal(err.offset, c->offset);
    assert_string_equal(err.message, c->message);
  }
}

/* The string loop skips plain bytes in blocks: put each kind of special
 * byte at every position of strings of many lengths, so both the block
 * path and the byte-at-a-time tail are covered. */
static void test_string_block_boundaries(void **state) {
  (void)state;
  char doc[128];
  struct vg_json_error err;
  for (size_t n = 1; n <= 48; n++) {
    for (size_t pos = 0; pos < n; pos++) {
      static const struct {
        const char *bytes;
        const char *message; /* NULL: valid */
      } specials[] = {{"\x01", "control character in string (must be escaped)"},
                      {"\x1f", "control character in string (must be escaped)"},
                      {"\xFF", "invalid UTF-8"},
                      {"\xC0\x80", "invalid UTF-8"},
                      {"\xC3\xA9", NULL},
                      {"\xF0\x9F\x98\x80", NULL},
                      {"\\n", NULL},
                      {"\\u00e9", NULL},
                      {"\\q", "invalid escape sequence"},
                      {" ", NULL},
                      {"\x7f", NULL}};
      for (size_t k = 0; k < sizeof specials / sizeof specials[0]; k++) {
        size_t len = 0;
        memcpy(doc, "{\"a\":\"", 6);
        len = 6;
        memset(doc + len, 'x', pos);
        len += pos;
        size_t sl = strlen(specials[k].bytes);
        memcpy(doc + len, specials[k].bytes, sl);
        len += sl;
        memset(doc + len, 'y', n - pos - 1);
        len += n - pos - 1;
        memcpy(doc + len, "\"}", 2);
        len += 2;
        int rc = scan_exact(NULL, doc, len, NULL, &err);
        if (!specials[k].message) {
          assert_int_equal(rc, 0);
          continue;
        }
        assert_int_equal(rc, VG_EINVAL);
        assert_int_equal(err.offset, 6 + pos);
        assert_string_equal(err.message, specials[k].message);
      }
      /* A quote ends the string early: the rest is unexpected. */
      size_t len = 6;
      memset(doc + len, 'x', n);
      doc[len + pos] = '"';
      len += n;
      memcpy(doc + len, "\"}", 2);
      len += 2;
      int rc = scan_exact(NULL, doc, len, NULL, &err);
      assert_int_equal(rc, VG_EINVAL);
      assert_int_equal(err.offset, 6 + pos + 1);
      /* Unterminated at every length: the error names the opening quote. */
      rc = scan_exact(NULL,
                      "{\"a\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                      "xxxxxxxxxxxxxxx",
                      5 + n, NULL, &err);
      assert_int_equal(rc, VG_EINVAL);
      assert_int_equal(err.offset, 5);
      assert_string_equal(err.message, "unterminated string");
    }
  }
}

/* Builds {"a":{"a":...{}...}} with `levels` objects in all. */
static char *nested_objects(int levels, size_t *len) {
  char *buf = malloc((size_t)levels * 6 + 8);
  assert_non_null(buf);
  size_t n = 0;
  for (int i = 0; i < levels; i++) {
    if (i)
      memcpy(buf + n, "\"a\":", 4), n += 4;
    buf[n++] = '{';
  }
  for (int i = 0; i < levels; i++)
    buf[n++] = '}';
  *len = n;
  return buf;
}

static void test_depth_limit(void **state) {
  (void)state;
  struct vg_json_error err;
  size_t len;
  char *doc = nested_objects(VG_JSON_MAX_DEPTH, &len);
  assert_int_equal(vg_json_scan(NULL, doc, len, NULL, &err), 0);
  free(doc);
  doc = nested_objects(VG_JSON_MAX_DEPTH + 1, &len);
  assert_int_equal(vg_json_scan(NULL, doc, len, NULL, &err), VG_EINVAL);
  assert_string_equal(err.message, "nesting deeper than 128 levels");
  /* The 129th '{' comes after 128 times "{" and "\"a\":". */
  assert_int_equal(err.offset, 128 * 5);
  free(doc);

  /* Arrays count too: the object is level 1, then 127 arrays. */
  char buf[600];
  size_t n = 0;
  memcpy(buf, "{\"a\":", 5);
  n = 5;
  for (int i = 0; i < VG_JSON_MAX_DEPTH - 1; i++)
    buf[n++] = '[';
  for (int i = 0; i < VG_JSON_MAX_DEPTH - 1; i++)
    buf[n++] = ']';
  buf[n++] = '}';
  assert_int_equal(vg_json_scan(NULL, buf, n, NULL, &err), 0);
  n = 5;
  for (int i = 0; i < VG_JSON_MAX_DEPTH; i++)
    buf[n++] = '[';
  for (int i = 0; i < VG_JSON_MAX_DEPTH; i++)
    buf[n++] = ']';
  buf[n++] = '}';
  assert_int_equal(vg_json_scan(NULL, buf, n, NULL, &err), VG_EINVAL);
  assert_string_equal(err.message, "nesting deeper than 128 levels");
  assert_int_equal(err.offset, 5 + 127);

  /* A deep document far past the limit fails cleanly (no stack trouble). */
  size_t big = 200000;
  char *deep = malloc(big);
  assert_non_null(deep);
  deep[0] = '{';
  memcpy(deep + 1, "\"a\":", 4);
  memset(deep + 5, '[', big - 5);
  assert_int_equal(vg_json_scan(NULL, deep, big, NULL, &err), VG_EINVAL);
  assert_string_equal(err.message, "nesting deeper than 128 levels");
  free(deep);
}

static void test_trie(void **state) {
  (void)state;
  struct vg_pathtrie *trie = vg_pathtrie_new();
  assert_non_null(trie);
  assert_int_equal(vg_pathtrie_count(trie), 0);
  assert_int_equal(vg_pathtrie_add(trie, "a.b", 3), 0);
  assert_int_equal(vg_pathtrie_add(trie, "a", 1), 1);
  assert_int_equal(vg_pathtrie_add(trie, "a.b", 3), 0);
  assert_int_equal(vg_pathtrie_add(trie, "a.bc", 4), 2);
  /* len bounds the path: "a.bXYZ" with len 3 is "a.b". */
  assert_int_equal(vg_pathtrie_add(trie, "a.bXYZ", 3), 0);
  assert_int_equal(vg_pathtrie_add(trie, "", 0), VG_EINVAL);
  assert_int_equal(vg_pathtrie_add(trie, ".", 1), VG_EINVAL);
  assert_int_equal(vg_pathtrie_add(trie, ".a", 2), VG_EINVAL);
  assert_int_equal(vg_pathtrie_add(trie, "a.", 2), VG_EINVAL);
  assert_int_equal(vg_pathtrie_add(trie, "a..b", 4), VG_EINVAL);
  assert_int_equal(vg_pathtrie_count(trie), 3);
  /* Many siblings: the child arrays grow. */
  char name[16];
  for (int i = 0; i < 100; i++) {
    int n = snprintf(name, sizeof name, "k%d.x", i);
    assert_int_equal(vg_pathtrie_add(trie, name, (size_t)n), 3 + i);
  }
  assert_int_equal(vg_pathtrie_count(trie), 103);
  vg_pathtrie_free(trie);
  vg_pathtrie_free(NULL);
}

/* A trie over the given paths; index i is paths[i]. */
static struct vg_pathtrie *make_trie(const char *const *paths, size_t n) {
  struct vg_pathtrie *trie = vg_pathtrie_new();
  assert_non_null(trie);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(vg_pathtrie_add(trie, paths[i], strlen(paths[i])), (int)i);
  return trie;
}

static void assert_token(const char *doc, const struct vg_json_token *tok,
                         int kind, const char *text) {
  if (tok->kind != kind)
    print_error("kind %d, expected %d\n", tok->kind, kind);
  assert_int_equal(tok->kind, kind);
  if (!text)
    return;
  assert_int_equal(tok->len, strlen(text));
  assert_memory_equal(doc + tok->start, text, tok->len);
}

enum {
  P_KIND,
  P_NAME,
  P_DOCNUM,
  P_A,
  P_AB,
  P_MISSING,
  P_XY,
  P_LIST,
  P_LISTB,
  P_N
};
static const char *const test_paths[] = {"kind",
                                         "traveller.name",
                                         "traveller.document.number",
                                         "a",
                                         "a.b",
                                         "missing",
                                         "x.y",
                                         "list",
                                         "list.b"};

static void test_paths_found(void **state) {
  (void)state;
  struct vg_pathtrie *trie = make_trie(test_paths, P_N);
  struct vg_json_token tok[P_N];
  struct vg_json_error err;
  const char *doc =
      "{\"skip\":{\"kind\":\"no\",\"traveller\":{\"name\":\"no\"}},"
      "\"kind\":\"travel\",\"traveller\":{\"age\":31,\"name\":\"Ana "
      "\\\"A\\\"\","
      "\"document\":{\"type\":\"P\",\"number\":12345}},"
      "\"a\":{\"b\":[1,2,3],\"c\":{}},\"x\":5,"
      "\"list\":[{\"b\":1},{\"b\":2}]}";
  assert_int_equal(scan_exact(trie, doc, strlen(doc), tok, &err), 0);
  assert_token(doc, &tok[P_KIND], VG_JSON_STRING, "travel");
  assert_int_equal(tok[P_KIND].escaped, 0);
  assert_token(doc, &tok[P_NAME], VG_JSON_STRING, "Ana \\\"A\\\"");
  assert_int_equal(tok[P_NAME].escaped, 1);
  assert_token(doc, &tok[P_DOCNUM], VG_JSON_NUMBER, "12345");
  /* "a" is both a leaf and a parent. */
  assert_token(doc, &tok[P_A], VG_JSON_OBJECT, "{\"b\":[1,2,3],\"c\":{}}");
  assert_int_equal(tok[P_A].count, 2);
  assert_token(doc, &tok[P_AB], VG_JSON_ARRAY, "[1,2,3]");
  assert_int_equal(tok[P_AB].count, 3);
  assert_int_equal(tok[P_MISSING].kind, VG_JSON_ABSENT);
  /* The prefix "x" is not an object. */
  assert_int_equal(tok[P_XY].kind, VG_JSON_ABSENT);
  /* Arrays are leaves: "list.b" never matches inside them. */
  assert_token(doc, &tok[P_LIST], VG_JSON_ARRAY, NULL);
  assert_int_equal(tok[P_LIST].count, 2);
  assert_int_equal(tok[P_LISTB].kind, VG_JSON_ABSENT);

  /* Every kind of value, and tokens reset between scans. */
  const char *doc2 = "{\"a\":null,\"kind\":true,\"missing\":false,"
                     "\"traveller\":\"flat\",\"x\":{\"y\":-1.5e3}}";
  assert_int_equal(scan_exact(trie, doc2, strlen(doc2), tok, &err), 0);
  assert_token(doc2, &tok[P_A], VG_JSON_NULL, "null");
  assert_token(doc2, &tok[P_KIND], VG_JSON_TRUE, "true");
  assert_token(doc2, &tok[P_MISSING], VG_JSON_FALSE, "false");
  assert_int_equal(tok[P_NAME].kind, VG_JSON_ABSENT);
  assert_int_equal(tok[P_DOCNUM].kind, VG_JSON_ABSENT);
  assert_int_equal(tok[P_AB].kind, VG_JSON_ABSENT);
  assert_token(doc2, &tok[P_XY], VG_JSON_NUMBER, "-1.5e3");

  /* Keys that only share a prefix or length with a path do not match. */
  const char *doc3 = "{\"kinds\":1,\"kin\":2,\"king\":3,\"a.b\":4,\"\":5,"
                     "\"traveller\":{\"name \":1,\"Name\":2}}";
  assert_int_equal(scan_exact(trie, doc3, strlen(doc3), tok, &err), 0);
  for (int i = 0; i < P_N; i++)
    assert_int_equal(tok[i].kind, VG_JSON_ABSENT);

  /* An invalid document after a valid match still fails. */
  const char *bad = "{\"kind\":\"travel\",\"z\":[1,]}";
  assert_int_equal(scan_exact(trie, bad, strlen(bad), tok, &err), VG_EINVAL);
  assert_string_equal(err.message, "expected a value after ','");
  vg_pathtrie_free(trie);
}

static void test_repeated_keys(void **state) {
  (void)state;
  struct vg_pathtrie *trie = make_trie(test_paths, P_N);
  struct vg_json_token tok[P_N];
  struct vg_json_error err;
  const char *doc = "{\"kind\":1,\"kind\":\"two\"}";
  assert_int_equal(scan_exact(trie, doc, strlen(doc), tok, &err), 0);
  assert_token(doc, &tok[P_KIND], VG_JSON_STRING, "two");

  /* The last "a" wins with its whole subtree: no "a.b" from the first. */
  doc = "{\"a\":{\"b\":1},\"a\":{\"c\":2}}";
  assert_int_equal(scan_exact(trie, doc, strlen(doc), tok, &err), 0);
  assert_token(doc, &tok[P_A], VG_JSON_OBJECT, "{\"c\":2}");
  assert_int_equal(tok[P_AB].kind, VG_JSON_ABSENT);

  doc = "{\"a\":{\"b\":1},\"a\":5}";
  assert_int_equal(scan_exact(trie, doc, strlen(doc), tok, &err), 0);
  assert_token(doc, &tok[P_A], VG_JSON_NUMBER, "5");
  assert_int_equal(tok[P_AB].kind, VG_JSON_ABSENT);

  doc = "{\"a\":{\"b\":1,\"b\":2},\"a\":{\"b\":3}}";
  assert_int_equal(scan_exact(trie, doc, strlen(doc), tok, &err), 0);
  assert_token(doc, &tok[P_AB], VG_JSON_NUMBER, "3");

  doc = "{\"traveller\":{\"document\":{\"number\":\"X\"},\"name\":\"N\"},"
        "\"traveller\":{\"name\":\"M\"}}";
  assert_int_equal(scan_exact(trie, doc, strlen(doc), tok, &err), 0);
  assert_token(doc, &tok[P_NAME], VG_JSON_STRING, "M");
  assert_int_equal(tok[P_DOCNUM].kind, VG_JSON_ABSENT);
  vg_pathtrie_free(trie);
}

static void test_escaped_keys(void **state) {
  (void)state;
  static const char *const paths[] = {"traveller.name", "\xC3\xA9t\xC3\xA9",
                                      "we\"ird", "\xF0\x9F\x98\x80", "a/b"};
  struct vg_pathtrie *trie = make_trie(paths, 5);
  struct vg_json_token tok[5];
  struct vg_json_error err;
  const char *doc = "{\"tr\\u0061veller\":{\"n\\u0061me\":\"x\"},"
                    "\"\\u00e9t\\u00E9\":1,\"we\\\"ird\":2,"
                    "\"\\ud83d\\ude00\":3,\"a\\/b\":4}";
  assert_int_equal(scan_exact(trie, doc, strlen(doc), tok, &err), 0);
  assert_token(doc, &tok[0], VG_JSON_STRING, "x");
  assert_token(doc, &tok[1], VG_JSON_NUMBER, "1");
  assert_token(doc, &tok[2], VG_JSON_NUMBER, "2");
  assert_token(doc, &tok[3], VG_JSON_NUMBER, "3");
  assert_token(doc, &tok[4], VG_JSON_NUMBER, "4");
  /* Escaped keys that decode to something else, longer or shorter. */
  doc = "{\"\\u00e9t\\u00e9s\":1,\"\\u00e9t\":2,\"we\\\\ird\":3,"
        "\"a\\\\/b\":4,\"\\ud83d\\ude01\":5}";
  assert_int_equal(scan_exact(trie, doc, strlen(doc), tok, &err), 0);
  for (int i = 0; i < 5; i++)
    assert_int_equal(tok[i].kind, VG_JSON_ABSENT);
  vg_pathtrie_free(trie);
}

static void test_arrays(void **state) {
  (void)state;
  static const char *const paths[] = {"a", "empty", "spaced"};
  struct vg_pathtrie *trie = make_trie(paths, 3);
  struct vg_json_token tok[3], el, inner;
  struct vg_json_error err;
  const char *doc = "{\"a\":[1,\"two\",[3,[4]],{\"five\":5,\"b\":[]},true,"
                    "null,false,-6.5e1,\"\\u00e9\"],\"empty\":[ ],"
                    "\"spaced\":[ 1 ,\n\t2 ]}";
  assert_int_equal(scan_exact(trie, doc, strlen(doc), tok, &err), 0);
  assert_int_equal(tok[0].kind, VG_JSON_ARRAY);
  assert_int_equal(tok[0].count, 9);
  struct vg_json_iter it;
  vg_json_iter_init(&it, doc, &tok[0]);
  static const struct {
    int kind;
    const char *text;
    uint32_t count;
  } want[] = {{VG_JSON_NUMBER, "1", 0},
              {VG_JSON_STRING, "two", 0},
              {VG_JSON_ARRAY, "[3,[4]]", 2},
              {VG_JSON_OBJECT, "{\"five\":5,\"b\":[]}", 2},
              {VG_JSON_TRUE, "true", 0},
              {VG_JSON_NULL, "null", 0},
              {VG_JSON_FALSE, "false", 0},
              {VG_JSON_NUMBER, "-6.5e1", 0},
              {VG_JSON_STRING, "\\u00e9", 0}};
  for (size_t i = 0; i < 9; i++) {
    assert_true(vg_json_iter_next(&it, &el));
    assert_token(doc, &el, want[i].kind, want[i].text);
    assert_int_equal(el.count, want[i].count);
    if (i == 2) { /* nested: iterate the inner array too */
      struct vg_json_iter in2;
      vg_json_iter_init(&in2, doc, &el);
      assert_true(vg_json_iter_next(&in2, &inner));
      assert_token(doc, &inner, VG_JSON_NUMBER, "3");
      assert_true(vg_json_iter_next(&in2, &inner));
      assert_token(doc, &inner, VG_JSON_ARRAY, "[4]");
      assert_false(vg_json_iter_next(&in2, &inner));
    }
    if (i == 8)
      assert_int_equal(el.escaped, 1);
  }
  assert_false(vg_json_iter_next(&it, &el));
  assert_false(vg_json_iter_next(&it, &el));

  assert_int_equal(tok[1].kind, VG_JSON_ARRAY);
  assert_int_equal(tok[1].count, 0);
  vg_json_iter_init(&it, doc, &tok[1]);
  assert_false(vg_json_iter_next(&it, &el));

  assert_int_equal(tok[2].count, 2);
  vg_json_iter_init(&it, doc, &tok[2]);
  assert_true(vg_json_iter_next(&it, &el));
  assert_token(doc, &el, VG_JSON_NUMBER, "1");
  assert_true(vg_json_iter_next(&it, &el));
  assert_token(doc, &el, VG_JSON_NUMBER, "2");
  assert_false(vg_json_iter_next(&it, &el));

  /* Iterating a token that is not an array yields nothing. */
  struct vg_json_token absent = {0};
  vg_json_iter_init(&it, doc, &absent);
  assert_false(vg_json_iter_next(&it, &el));
  vg_pathtrie_free(trie);
}

/* Elements whose text holds what could end them early: quotes and
 * backslashes escaped inside strings, brackets and commas inside strings,
 * empty containers, white space around members. Each comes back whole,
 * with its count and escape flag. */
static void test_array_elements_with_tricky_text(void **state) {
  (void)state;
  static const char *const paths[] = {"a"};
  struct vg_pathtrie *trie = make_trie(paths, 1);
  struct vg_json_token tok[1], el;
  struct vg_json_error err;
  const char *doc =
      "{\"a\":[\"q\\\"]\",\"b\\\\\",\"{[,\",[\"]\", {\"k\" : \"}\" , "
      "\"l\":[ ]} ],{ },[\n],{\"x\":{\"y\":[1,{}]}},12.5e-3 ]}";
  assert_int_equal(scan_exact(trie, doc, strlen(doc), tok, &err), 0);
  assert_int_equal(tok[0].count, 8);
  static const struct {
    int kind;
    const char *text;
    uint32_t count;
    uint8_t escaped;
  } want[] = {{VG_JSON_STRING, "q\\\"]", 0, 1},
              {VG_JSON_STRING, "b\\\\", 0, 1},
              {VG_JSON_STRING, "{[,", 0, 0},
              {VG_JSON_ARRAY, "[\"]\", {\"k\" : \"}\" , \"l\":[ ]} ]", 2, 0},
              {VG_JSON_OBJECT, "{ }", 0, 0},
              {VG_JSON_ARRAY, "[\n]", 0, 0},
              {VG_JSON_OBJECT, "{\"x\":{\"y\":[1,{}]}}", 1, 0},
              {VG_JSON_NUMBER, "12.5e-3", 0, 0}};
  struct vg_json_iter it;
  vg_json_iter_init(&it, doc, &tok[0]);
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    assert_true(vg_json_iter_next(&it, &el));
    assert_token(doc, &el, want[i].kind, want[i].text);
    assert_int_equal(el.count, want[i].count);
    assert_int_equal(el.escaped, want[i].escaped);
  }
  assert_false(vg_json_iter_next(&it, &el));
  vg_pathtrie_free(trie);
}

static void check_number(const char *text, double value, bool integral,
                         int64_t ivalue) {
  double d = -12345;
  bool in = !integral;
  int64_t iv = -777;
  int rc = vg_json_number(text, strlen(text), &d, &in, &iv);
  if (rc != 0)
    print_error("number %s: rc %d\n", text, rc);
  assert_int_equal(rc, 0);
  if (d != value)
    print_error("number %s: %.17g, expected %.17g\n", text, d, value);
  assert_true(d == value);
  assert_int_equal(in, integral);
  if (integral)
    assert_int_equal(iv, ivalue);
}

static void test_numbers(void **state) {
  (void)state;
  check_number("3", 3, true, 3);
  check_number("3.0", 3, true, 3);
  check_number("1e2", 100, true, 100);
  check_number("1E+2", 100, true, 100);
  check_number("-0", 0, true, 0);
  check_number("-0.0", 0, true, 0);
  check_number("1.5", 1.5, false, 0);
  check_number("-2.5e-1", -0.25, false, 0);
  check_number("1.5e1", 15, true, 15);
  check_number("120e-1", 12, true, 12);
  check_number("9223372036854775807", 9223372036854775807.0, true, INT64_MAX);
  check_number("-9223372036854775808", -9223372036854775808.0, true, INT64_MIN);
  /* Integers above 2^53 are read exactly, not through a double. */
  check_number("9007199254740993", 9007199254740992.0, true,
               9007199254740993LL);
  check_number("9223372036854775808", 9223372036854775808.0, false, 0);
  check_number("1e19", 1e19, false, 0);
  check_number("100000000000000000000.0", 1e20, false, 0);
  check_number("1e-400", 0, false, 0); /* underflow: no longer integral */
  double d;
  bool in;
  int64_t iv;
  assert_int_equal(vg_json_number("-0", 2, &d, &in, &iv), 0);
  assert_true(signbit(d));
  /* Long texts go through a heap copy. */
  char longnum[400];
  memcpy(longnum, "0.", 2);
  memset(longnum + 2, '0', 300);
  memcpy(longnum + 302, "25", 3);
  assert_int_equal(vg_json_number(longnum, strlen(longnum), &d, &in, &iv), 0);
  assert_true(d > 2.4e-301 && d < 2.6e-301);
  assert_false(in);
  memset(longnum, '9', 320);
  longnum[320] = '\0';
  assert_int_equal(vg_json_number(longnum, 320, &d, &in, &iv), VG_EINVAL);
  /* Out of range and not JSON numbers; outputs are left alone. */
  static const char *const bad[] = {
      "1e400", "-1e400", "",     "-",  "01", "+1", " 1",  "1 ",
      "inf",   "nan",    "0x10", "1.", ".5", "1e", "--1", "1e+"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    d = 42;
    in = true;
    iv = 42;
    if (vg_json_number(bad[i], strlen(bad[i]), &d, &in, &iv) != VG_EINVAL)
      print_error("number \"%s\" accepted\n", bad[i]);
    assert_int_equal(vg_json_number(bad[i], strlen(bad[i]), &d, &in, &iv),
                     VG_EINVAL);
    assert_true(d == 42);
    assert_true(in);
    assert_int_equal(iv, 42);
  }
  /* The text need not be NUL-terminated: only len bytes are read. */
  assert_int_equal(vg_json_number("12,", 2, &d, &in, &iv), 0);
  assert_true(d == 12);
  /* NULL integral / ivalue pointers are allowed. */
  assert_int_equal(vg_json_number("7", 1, &d, NULL, NULL), 0);
  assert_true(d == 7);
}

/* Scans {"s":"<escaped>"} and returns the decoded string. */
static size_t decode(const char *escaped, char *out) {
  static const char *const paths[] = {"s"};
  struct vg_pathtrie *trie = make_trie(paths, 1);
  char doc[512];
  int n = snprintf(doc, sizeof doc, "{\"s\":\"%s\"}", escaped);
  struct vg_json_token tok;
  struct vg_json_error err;
  assert_int_equal(vg_json_scan(trie, doc, (size_t)n, &tok, &err), 0);
  assert_int_equal(tok.kind, VG_JSON_STRING);
  size_t len = vg_json_unescape(doc + tok.start, tok.len, out);
  assert_true(len <= tok.len);
  /* In place gives the same result. */
  char again[512];
  memcpy(again, doc + tok.start, tok.len);
  size_t len2 = vg_json_unescape(again, tok.len, again);
  assert_int_equal(len2, len);
  assert_memory_equal(again, out, len);
  vg_pathtrie_free(trie);
  return len;
}

static void test_unescape(void **state) {
  (void)state;
  char out[512];
  size_t n = decode("\\\"\\\\\\/\\b\\f\\n\\r\\t", out);
  assert_int_equal(n, 8);
  assert_memory_equal(out, "\"\\/\b\f\n\r\t", 8);
  n = decode("a\\u0041\\u00e9\\u20AC\\ud83d\\ude00z", out);
  assert_int_equal(n, 1 + 1 + 2 + 3 + 4 + 1);
  assert_memory_equal(out, "aA\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z", n);
  n = decode("\\u0000x", out);
  assert_int_equal(n, 2);
  assert_memory_equal(out, "\0x", 2);
  n = decode("\\u007f\\u0080\\u07FF\\u0800\\uFFFF\\uDBFF\\uDFFF", out);
  assert_memory_equal(out,
                      "\x7f\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF"
                      "\xF4\x8F\xBF\xBF",
                      n);
  assert_int_equal(n, 15);
  n = decode("plain \xC3\xA9 text", out);
  assert_int_equal(n, 13);
  assert_memory_equal(out, "plain \xC3\xA9 text", n);
  n = decode("", out);
  assert_int_equal(n, 0);
  /* Input the scanner refuses is passed through, never read past. */
  n = vg_json_unescape("\\uD800x", 7, out);
  assert_memory_equal(out, "\xEF\xBF\xBDx", n);
  n = vg_json_unescape("ab\\", 3, out);
  assert_int_equal(n, 3);
  assert_memory_equal(out, "ab\\", 3);
  n = vg_json_unescape("\\u12", 4, out);
  assert_int_equal(n, 4);
  assert_memory_equal(out, "\\u12", 4);
}

/* Records far larger than a line are fine; the scanner allocates nothing
 * and works on any buffer. */
static void test_large_record(void **state) {
  (void)state;
  static const char *const paths[] = {"last", "first"};
  struct vg_pathtrie *trie = make_trie(paths, 2);
  size_t cap = 3 << 20, n = 0;
  char *doc = malloc(cap);
  assert_non_null(doc);
  n += (size_t)snprintf(doc, cap, "{\"first\":\"");
  for (int i = 0; i < 100000; i++)
    n += (size_t)snprintf(doc + n, cap - n, "\xC3\xA9t\xC3\xA9 \\n ");
  n += (size_t)snprintf(doc + n, cap - n, "\",\"arr\":[");
  for (int i = 0; i < 50000; i++)
    n += (size_t)snprintf(doc + n, cap - n, "%s%d", i ? "," : "", i);
  n += (size_t)snprintf(doc + n, cap - n, "],\"last\":true}");
  struct vg_json_token tok[2];
  struct vg_json_error err;
  assert_int_equal(vg_json_scan(trie, doc, n, tok, &err), 0);
  assert_int_equal(tok[0].kind, VG_JSON_TRUE);
  assert_int_equal(tok[1].kind, VG_JSON_STRING);
  assert_int_equal(tok[1].len, 100000 * 9);
  free(doc);
  vg_pathtrie_free(trie);
}

/* Random single-byte edits of valid records must get the same verdict
 * from the scanner as from jansson (except where jansson cannot hold valid
 * JSON: huge numbers, NUL in keys; or is lax: raw NUL between tokens). */
static void test_against_jansson(void **state) {
  (void)state;
  static const char *const seeds[] = {
      ("{\"kind\":\"travel\",\"id\":\"T1\",\"a\":{\"b\":[1,-2.5e3,true,null]},"
       "\"s\":\"\\u00e9\\n\xC3\xA9\xF0\x9F\x98\x80\"}"),
      "{\"x\":{\"y\":{\"z\":[{},[],\"\\\"\\\\\",0,false]}},\"n\":-0.0E+1}",
      " {\"\\ud83d\\ude00\":\"\xE2\x82\xAC\", \"k\" : [ 1 , 2 ] } \r\n"};
  static const char alphabet[] = "{}[]:,\"\\/ \t\r\n0123456789-+.eEtrufalsn"
                                 "xu\x00\x01\x1f\x7f\x80\xBF\xC0\xC3\xE0\xED"
                                 "\xF0\xF4\xF5\xFF";
  uint32_t rng = 2024;
  char doc[256];
  size_t agreed = 0;
  for (int round = 0; round < 60000; round++) {
    const char *seed = seeds[round % 3];
    size_t len = strlen(seed);
    memcpy(doc, seed, len);
    int edits = 1 + round % 3;
    for (int e = 0; e < edits; e++) {
      rng = rng * 1103515245u + 12345u;
      size_t at = (rng >> 8) % len;
      char c = alphabet[(rng >> 20) % (sizeof alphabet - 1)];
      switch ((rng >> 4) % 3) {
      case 0: /* replace */
        doc[at] = c;
        break;
      case 1: /* insert */
        memmove(doc + at + 1, doc + at, len - at);
        doc[at] = c;
        len++;
        break;
      default: /* delete */
        memmove(doc + at, doc + at + 1, len - at - 1);
        len--;
      }
    }
    struct vg_json_error err;
    int rc = scan_exact(NULL, doc, len, NULL, &err);
    json_error_t jerr;
    json_t *root = json_loadb(doc, len, JSON_ALLOW_NUL, &jerr);
    bool jansson_ok = root && json_is_object(root);
    bool skip = memchr(doc, '\0', len) ||
                (!root && (strstr(jerr.text, "too big") ||
                           strstr(jerr.text, "overflow") ||
                           strstr(jerr.text, "NUL byte in object key")));
    if (!skip) {
      if ((rc == 0) != jansson_ok)
        print_error("verdicts differ on \"%.*s\": scanner %s, jansson %s\n",
                    (int)len, doc, rc ? err.message : "ok",
                    root ? "ok" : jerr.text);
      assert_int_equal(rc == 0, jansson_ok);
      agreed++;
    }
    json_decref(root);
  }
  assert_true(agreed > 50000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_documents),
      cmocka_unit_test(test_string_block_boundaries),
      cmocka_unit_test(test_depth_limit),
      cmocka_unit_test(test_trie),
      cmocka_unit_test(test_paths_found),
      cmocka_unit_test(test_repeated_keys),
      cmocka_unit_test(test_escaped_keys),
      cmocka_unit_test(test_arrays),
      cmocka_unit_test(test_array_elements_with_tricky_text),
      cmocka_unit_test(test_numbers),
      cmocka_unit_test(test_unescape),
      cmocka_unit_test(test_large_record),
      cmocka_unit_test(test_against_jansson),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
