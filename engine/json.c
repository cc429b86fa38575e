/* json.c - the record reader's JSON scanner: strict RFC 8259 validation of
 * one record that notes only where the declared field paths' values are. */
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vg_error.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef unsigned char uchar;

/* ------------------------------------------------------------ path trie */

struct child {
  uint32_t len;  /* segment length */
  uint32_t node; /* index into trie->nodes */
  char *seg;     /* owned, NUL-terminated for convenience */
};

struct node {
  int32_t index; /* path index, or -1 when no path ends here */
  uint32_t nchildren, capchildren;
  struct child *children;
  /* Path indices strictly below this node: reset to ABSENT whenever this
   * node's key occurs again, so a repeated key wins with its whole subtree
   * and not a mix of both occurrences. */
  uint32_t *desc;
  uint32_t ndesc, capdesc;
};

struct vg_pathtrie {
  struct node *nodes; /* nodes[0] is the root */
  size_t nnodes, capnodes;
  size_t npaths;
};

struct vg_pathtrie *vg_pathtrie_new(void) {
  struct vg_pathtrie *trie = calloc(1, sizeof *trie);
  if (!trie)
    return NULL;
  trie->nodes = calloc(8, sizeof *trie->nodes);
  if (!trie->nodes) {
    free(trie);
    return NULL;
  }
  trie->capnodes = 8;
  trie->nnodes = 1;
  trie->nodes[0].index = -1;
  return trie;
}

void vg_pathtrie_free(struct vg_pathtrie *trie) {
  if (!trie)
    return;
  for (size_t i = 0; i < trie->nnodes; i++) {
    struct node *n = &trie->nodes[i];
    for (uint32_t c = 0; c < n->nchildren; c++)
      free(n->children[c].seg);
    free(n->children);
    free(n->desc);
  }
  free(trie->nodes);
  free(trie);
}

size_t vg_pathtrie_count(const struct vg_pathtrie *trie) {
  return trie ? trie->npaths : 0;
}

/* Returns the index of the child of nodes[parent] named seg, creating it
 * when absent; -1 when out of memory. */
static long trie_child(struct vg_pathtrie *trie, size_t parent, const char *seg,
                       size_t len) {
  struct node *p = &trie->nodes[parent];
  for (uint32_t i = 0; i < p->nchildren; i++)
    if (p->children[i].len == len && memcmp(p->children[i].seg, seg, len) == 0)
      return p->children[i].node;
  if (trie->nnodes >= UINT32_MAX)
    return -1;
  if (trie->nnodes == trie->capnodes) {
    size_t cap = trie->capnodes * 2;
    struct node *nodes = realloc(trie->nodes, cap * sizeof *nodes);
    if (!nodes)
      return -1;
    trie->nodes = nodes;
    trie->capnodes = cap;
    p = &trie->nodes[parent];
  }
  if (p->nchildren == p->capchildren) {
    uint32_t cap = p->capchildren ? p->capchildren * 2 : 4;
    struct child *children = realloc(p->children, cap * sizeof *children);
    if (!children)
      return -1;
    p->children = children;
    p->capchildren = cap;
  }
  char *copy = malloc(len + 1);
  if (!copy)
    return -1;
  memcpy(copy, seg, len);
  copy[len] = '\0';
  size_t id = trie->nnodes++;
  memset(&trie->nodes[id], 0, sizeof trie->nodes[id]);
  trie->nodes[id].index = -1;
  p->children[p->nchildren++] =
      (struct child){.len = (uint32_t)len, .node = (uint32_t)id, .seg = copy};
  return (long)id;
}

static int reserve_desc(struct node *n) {
  if (n->ndesc < n->capdesc)
    return 0;
  uint32_t cap = n->capdesc ? n->capdesc * 2 : 4;
  uint32_t *desc = realloc(n->desc, cap * sizeof *desc);
  if (!desc)
    return VG_ENOMEM;
  n->desc = desc;
  n->capdesc = cap;
  return 0;
}

/* Beyond json.h: a path of more than VG_JSON_MAX_DEPTH segments is refused
 * with VG_EINVAL, as no record the scanner accepts could hold it. On
 * VG_ENOMEM the trie may keep new interior nodes, which match nothing. */
int vg_pathtrie_add(struct vg_pathtrie *trie, const char *path, size_t len) {
  /* Nodes on the way, kept so the new index can be listed in each
   * ancestor's descendants once every allocation has succeeded. */
  size_t chain[VG_JSON_MAX_DEPTH + 1];
  size_t depth = 0;
  if (!trie || !path || len == 0)
    return VG_EINVAL;
  if (trie->npaths >= INT32_MAX)
    return VG_ENOMEM;
  size_t cur = 0, seg = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && path[i] != '.')
      continue;
    if (i == seg)
      return VG_EINVAL; /* empty segment: "a..b", ".a", "a." */
    /* A path deeper than the scanner can nest can never be present. */
    if (depth >= VG_JSON_MAX_DEPTH)
      return VG_EINVAL;
    chain[depth++] = cur;
    long child = trie_child(trie, cur, path + seg, i - seg);
    if (child < 0)
      return VG_ENOMEM;
    cur = (size_t)child;
    seg = i + 1;
  }
  struct node *leaf = &trie->nodes[cur];
  if (leaf->index >= 0)
    return leaf->index;
  for (size_t d = 1; d < depth; d++)
    if (reserve_desc(&trie->nodes[chain[d]]) != 0)
      return VG_ENOMEM;
  uint32_t index = (uint32_t)trie->npaths++;
  leaf->index = (int32_t)index;
  /* The root's descendants are every path; vg_json_scan clears them all up
   * front, so the root keeps no list. */
  for (size_t d = 1; d < depth; d++) {
    struct node *n = &trie->nodes[chain[d]];
    n->desc[n->ndesc++] = index;
  }
  return (int)index;
}

/* -------------------------------------------------------------- scanner */

struct scan {
  const uchar *base, *end;
  const struct vg_pathtrie *trie; /* NULL: no paths */
  struct vg_json_token *tokens;
  struct vg_json_error *err; /* may be NULL */
};

#if defined(__GNUC__)
#define COLD __attribute__((cold, noinline))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define COLD
#define LIKELY(x) (x)
#define UNLIKELY(x) (x)
#endif

/* Records the first error and returns NULL, so callers can write
 * `return fail(...)` from any depth. */
static COLD const uchar *fail(struct scan *s, const uchar *at,
                              const char *message) {
  if (s->err) {
    s->err->offset = (size_t)(at - s->base);
    snprintf(s->err->message, sizeof s->err->message, "%s", message);
  }
  return NULL;
}

static inline const uchar *skip_ws(const uchar *p, const uchar *end) {
  while (p < end && *p <= ' ' &&
         (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    p++;
  return p;
}

static int hex4(const uchar *p) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    int c = p[i], d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return -1;
    v = v * 16 + d;
  }
  return v;
}

/* p is at a backslash inside a string; returns the byte after the escape. */
static const uchar *scan_escape(struct scan *s, const uchar *p) {
  const uchar *end = s->end;
  if (end - p < 2)
    return fail(s, p, "unterminated string");
  switch (p[1]) {
  case '"':
  case '\\':
  case '/':
  case 'b':
  case 'f':
  case 'n':
  case 'r':
  case 't':
    return p + 2;
  case 'u':
    break;
  default:
    return fail(s, p, "invalid escape sequence");
  }
  int cp = end - p >= 6 ? hex4(p + 2) : -1;
  if (cp < 0)
    return fail(s, p, "\\u must be followed by four hex digits");
  if (cp >= 0xDC00 && cp <= 0xDFFF)
    return fail(s, p, "unpaired surrogate in \\u escape");
  if (cp < 0xD800 || cp > 0xDBFF)
    return p + 6;
  /* A high surrogate must be followed at once by a low one, or the decoded
   * text would not be valid UTF-8. */
  if (end - p < 12 || p[6] != '\\' || p[7] != 'u')
    return fail(s, p, "unpaired surrogate in \\u escape");
  int lo = hex4(p + 8);
  if (lo < 0)
    return fail(s, p + 6, "\\u must be followed by four hex digits");
  if (lo < 0xDC00 || lo > 0xDFFF)
    return fail(s, p, "unpaired surrogate in \\u escape");
  return p + 12;
}

/* p is at a byte >= 0x80; checks one UTF-8 sequence (RFC 3629: no
 * overlongs, no encoded surrogates, nothing above U+10FFFF) and returns the
 * byte after it. */
static const uchar *scan_utf8(struct scan *s, const uchar *p) {
  const uchar *end = s->end;
  uchar c = p[0];
  size_t n;
  uchar lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0)
      lo = 0xA0; /* overlong */
    else if (c == 0xED)
      hi = 0x9F; /* surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0)
      lo = 0x90; /* overlong */
    else if (c == 0xF4)
      hi = 0x8F; /* above U+10FFFF */
  } else {
    return fail(s, p, "invalid UTF-8");
  }
  if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
    return fail(s, p, "invalid UTF-8");
  for (size_t i = 2; i < n; i++)
    if ((p[i] & 0xC0) != 0x80)
      return fail(s, p, "invalid UTF-8");
  return p + n;
}

/* p is at the opening quote. Fills tok (start/len of the contents) and
 * returns the byte after the closing quote. */
static const uchar *scan_string(struct scan *s, const uchar *p,
                                struct vg_json_token *tok) {
  const uchar *end = s->end;
  const uchar *q = p + 1;
  uint8_t escaped = 0;
  for (;;) {
    /* Most string bytes are plain ASCII: skip them a block at a time and
     * stop at the first quote, backslash, control or non-ASCII byte. */
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(' ');
    while (end - q >= 16) {
      __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
      /* Signed compare: bytes >= 0x80 are negative, so one test catches
       * both control bytes and non-ASCII ones. */
      __m128i hit = _mm_or_si128(
          _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
          _mm_cmplt_epi8(v, space));
      unsigned mask = (unsigned)_mm_movemask_epi8(hit);
      if (mask) {
        q += __builtin_ctz(mask);
        break;
      }
      q += 16;
    }
#elif defined(__GNUC__) && defined(__BYTE_ORDER__) &&                          \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    while (end - q >= 8) {
      uint64_t v;
      memcpy(&v, q, 8);
      uint64_t xq = v ^ (ones * '"'), xb = v ^ (ones * '\\');
      /* A byte's high bit ends up set when it is zero after the xor
       * (quote, backslash), below 0x20, or non-ASCII. Borrows only run
       * upwards from a real hit, so the lowest flagged byte is exact. */
      uint64_t mask =
          ((xq - ones) | (xb - ones) | (v - ones * 0x20) | v) & highs;
      if (mask) {
        q += __builtin_ctzll(mask) >> 3;
        break;
      }
      q += 8;
    }
#endif
    if (UNLIKELY(q >= end))
      return fail(s, p, "unterminated string");
    uchar c = *q;
    if (c == '"')
      break;
    if (c == '\\') {
      q = scan_escape(s, q);
      if (!q)
        return NULL;
      escaped = 1;
    } else if (c >= 0x80) {
      q = scan_utf8(s, q);
      if (!q)
        return NULL;
    } else if (c < 0x20) {
      return fail(s, q, "control character in string (must be escaped)");
    } else {
      q++;
    }
  }
  tok->kind = VG_JSON_STRING;
  tok->escaped = escaped;
  tok->start = (uint32_t)(p + 1 - s->base);
  tok->len = (uint32_t)(q - (p + 1));
  tok->count = 0;
  return q + 1;
}

static inline int is_digit(uchar c) {
  return c >= '0' && c <= '9';
}

/* The number grammar of RFC 8259 section 6; p is at '-' or a digit. */
static const uchar *scan_number(struct scan *s, const uchar *p) {
  const uchar *end = s->end;
  if (*p == '-')
    p++;
  if (p >= end || !is_digit(*p))
    return fail(s, p, "expected a digit after '-'");
  if (*p == '0') {
    p++;
    if (p < end && is_digit(*p))
      return fail(s, p - 1, "leading zeros are not allowed in numbers");
  } else {
    while (p < end && is_digit(*p))
      p++;
  }
  if (p < end && *p == '.') {
    p++;
    if (p >= end || !is_digit(*p))
      return fail(s, p, "expected a digit after the decimal point");
    while (p < end && is_digit(*p))
      p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-'))
      p++;
    if (p >= end || !is_digit(*p))
      return fail(s, p, "expected a digit in the exponent");
    while (p < end && is_digit(*p))
      p++;
  }
  return p;
}

static const uchar *scan_value(struct scan *s, const uchar *p, int depth,
                               const struct node *node,
                               struct vg_json_token *tok);

static size_t decode_escape(const uchar *in, size_t len, size_t *i, char *out);

/* Does the escaped key k[0..klen) decode to seg[0..len)? Keys with escapes
 * are rare, so they are compared by decoding on the fly rather than into a
 * buffer whose size would limit key length. */
static bool escaped_key_equals(const uchar *k, size_t klen, const char *seg,
                               size_t len) {
  char tmp[4];
  size_t i = 0, o = 0;
  while (i < klen) {
    size_t n;
    if (k[i] != '\\') {
      tmp[0] = (char)k[i++];
      n = 1;
    } else {
      n = decode_escape(k, klen, &i, tmp);
    }
    if (o + n > len || memcmp(seg + o, tmp, n) != 0)
      return false;
    o += n;
  }
  return o == len;
}

static const struct node *match_key(const struct scan *s,
                                    const struct node *node, const uchar *k,
                                    size_t klen, bool escaped) {
  const struct child *c = node->children;
  const struct child *stop = c + node->nchildren;
  if (LIKELY(!escaped)) {
    for (; c < stop; c++)
      if (c->len == klen && (uchar)c->seg[0] == k[0] &&
          memcmp(c->seg, k, klen) == 0)
        return &s->trie->nodes[c->node];
    return NULL;
  }
  for (; c < stop; c++)
    if (escaped_key_equals(k, klen, c->seg, c->len))
      return &s->trie->nodes[c->node];
  return NULL;
}

/* p is at '{'; depth counts this object. node (may be NULL) is the trie
 * node whose children name this object's interesting members. */
static const uchar *scan_object(struct scan *s, const uchar *p, int depth,
                                const struct node *node,
                                struct vg_json_token *tok) {
  const uchar *end = s->end, *open = p;
  if (UNLIKELY(depth > VG_JSON_MAX_DEPTH))
    return fail(s, p, "nesting deeper than 128 levels");
  uint32_t count = 0;
  p = skip_ws(p + 1, end);
  if (p < end && *p == '}') {
    p++;
    goto done;
  }
  for (;;) {
    if (UNLIKELY(p >= end || *p != '"'))
      return fail(s, p,
                  count ? "expected a string key after ','"
                        : "expected a string key or '}'");
    struct vg_json_token key;
    p = scan_string(s, p, &key);
    if (!p)
      return NULL;
    const struct node *child = NULL;
    if (node)
      child = match_key(s, node, s->base + key.start, key.len, key.escaped);
    p = skip_ws(p, end);
    if (UNLIKELY(p >= end || *p != ':'))
      return fail(s, p, "expected ':' after object key");
    p = skip_ws(p + 1, end);
    struct vg_json_token value;
    if (child) {
      for (uint32_t i = 0; i < child->ndesc; i++)
        memset(&s->tokens[child->desc[i]], 0, sizeof s->tokens[0]);
      p = scan_value(s, p, depth, child->nchildren ? child : NULL, &value);
      if (!p)
        return NULL;
      if (child->index >= 0)
        s->tokens[child->index] = value;
    } else {
      p = scan_value(s, p, depth, NULL, &value);
      if (!p)
        return NULL;
    }
    count++;
    p = skip_ws(p, end);
    if (LIKELY(p < end && *p == ',')) {
      p = skip_ws(p + 1, end);
      continue;
    }
    if (LIKELY(p < end && *p == '}')) {
      p++;
      break;
    }
    return fail(s, p, "expected ',' or '}'");
  }
done:
  tok->kind = VG_JSON_OBJECT;
  tok->escaped = 0;
  tok->start = (uint32_t)(open - s->base);
  tok->len = (uint32_t)(p - open);
  tok->count = count;
  return p;
}

/* p is at '['; depth counts this array. Values inside arrays never match a
 * path, so elements are scanned without a trie node. */
static const uchar *scan_array(struct scan *s, const uchar *p, int depth,
                               struct vg_json_token *tok) {
  const uchar *end = s->end, *open = p;
  if (UNLIKELY(depth > VG_JSON_MAX_DEPTH))
    return fail(s, p, "nesting deeper than 128 levels");
  uint32_t count = 0;
  p = skip_ws(p + 1, end);
  if (p < end && *p == ']') {
    p++;
    goto done;
  }
  for (;;) {
    if (UNLIKELY(count && p < end && *p == ']'))
      return fail(s, p, "expected a value after ','");
    struct vg_json_token elem;
    p = scan_value(s, p, depth, NULL, &elem);
    if (!p)
      return NULL;
    count++;
    p = skip_ws(p, end);
    if (LIKELY(p < end && *p == ',')) {
      p = skip_ws(p + 1, end);
      continue;
    }
    if (LIKELY(p < end && *p == ']')) {
      p++;
      break;
    }
    return fail(s, p, "expected ',' or ']'");
  }
done:
  tok->kind = VG_JSON_ARRAY;
  tok->escaped = 0;
  tok->start = (uint32_t)(open - s->base);
  tok->len = (uint32_t)(p - open);
  tok->count = count;
  return p;
}

static const uchar *scan_literal(struct scan *s, const uchar *p,
                                 const char *word, size_t n) {
  if ((size_t)(s->end - p) < n || memcmp(p, word, n) != 0)
    return fail(s, p, "invalid literal (expected true, false or null)");
  return p + n;
}

/* p is at the first byte of a value; depth is that of the enclosing
 * container. */
static const uchar *scan_value(struct scan *s, const uchar *p, int depth,
                               const struct node *node,
                               struct vg_json_token *tok) {
  const uchar *start = p;
  uint8_t kind;
  if (UNLIKELY(p >= s->end))
    return fail(s, p, "expected a value");
  switch (*p) {
  case '"':
    return scan_string(s, p, tok);
  case '{':
    return scan_object(s, p, depth + 1, node, tok);
  case '[':
    return scan_array(s, p, depth + 1, tok);
  case '-':
  case '0':
  case '1':
  case '2':
  case '3':
  case '4':
  case '5':
  case '6':
  case '7':
  case '8':
  case '9':
    p = scan_number(s, p);
    kind = VG_JSON_NUMBER;
    break;
  case 't':
    p = scan_literal(s, p, "true", 4);
    kind = VG_JSON_TRUE;
    break;
  case 'f':
    p = scan_literal(s, p, "false", 5);
    kind = VG_JSON_FALSE;
    break;
  case 'n':
    p = scan_literal(s, p, "null", 4);
    kind = VG_JSON_NULL;
    break;
  default:
    return fail(s, p, "expected a value");
  }
  if (!p)
    return NULL;
  tok->kind = kind;
  tok->escaped = 0;
  tok->start = (uint32_t)(start - s->base);
  tok->len = (uint32_t)(p - start);
  tok->count = 0;
  return p;
}

/* Beyond json.h: trie may be NULL (validation only; tokens may then be NULL
 * too) and err may be NULL. */
int vg_json_scan(const struct vg_pathtrie *trie, const char *buf, size_t len,
                 struct vg_json_token *tokens, struct vg_json_error *err) {
  struct scan s = {(const uchar *)buf, (const uchar *)buf + len, trie, tokens,
                   err};
  if (trie && trie->npaths)
    memset(tokens, 0, trie->npaths * sizeof *tokens);
  if (len > UINT32_MAX) {
    fail(&s, s.base, "record larger than 4 GiB");
    return VG_EINVAL;
  }
  const uchar *p = skip_ws(s.base, s.end);
  if (p >= s.end || *p != '{') {
    fail(&s, p, "record is not a JSON object");
    return VG_EINVAL;
  }
  const struct node *root =
      trie && trie->nodes[0].nchildren ? &trie->nodes[0] : NULL;
  struct vg_json_token top;
  p = scan_object(&s, p, 1, root, &top);
  if (!p)
    return VG_EINVAL;
  p = skip_ws(p, s.end);
  if (p != s.end) {
    fail(&s, p, "unexpected text after the record");
    return VG_EINVAL;
  }
  return 0;
}

/* ------------------------------------------------------------- helpers */

static size_t put_utf8(char *out, uint32_t cp) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* in[*i] is a backslash: writes the decoded character (1-4 bytes) to out,
 * advances *i past the escape and returns the length written. Text the
 * scanner would refuse is passed through rather than trusted. */
static size_t decode_escape(const uchar *in, size_t len, size_t *i, char *out) {
  size_t at = *i;
  uchar c = at + 1 < len ? in[at + 1] : 0;
  static const char names[] = "\"\\/bfnrt", values[] = "\"\\/\b\f\n\r\t";
  const char *simple = c ? strchr(names, c) : NULL;
  if (simple) {
    *i = at + 2;
    out[0] = values[simple - names];
    return 1;
  }
  int cp = (c == 'u' && len - at >= 6) ? hex4(in + at + 2) : -1;
  if (cp < 0) {
    *i = at + 1;
    out[0] = '\\';
    return 1;
  }
  at += 6;
  uint32_t code = (uint32_t)cp;
  if (cp >= 0xD800 && cp <= 0xDBFF && len - at >= 6 && in[at] == '\\' &&
      in[at + 1] == 'u') {
    int lo = hex4(in + at + 2);
    if (lo >= 0xDC00 && lo <= 0xDFFF) {
      code =
          0x10000 + (((uint32_t)cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
      at += 6;
    }
  }
  if (code >= 0xD800 && code <= 0xDFFF)
    code = 0xFFFD; /* a lone surrogate; the scanner refuses these */
  *i = at;
  return put_utf8(out, code);
}

/* Beyond json.h: out may be contents itself (decoding in place). */
size_t vg_json_unescape(const char *contents, size_t len, char *out) {
  const uchar *in = (const uchar *)contents;
  size_t i = 0, o = 0;
  while (i < len) {
    const uchar *bs = memchr(in + i, '\\', len - i);
    size_t run = bs ? (size_t)(bs - (in + i)) : len - i;
    /* memmove: decoding in place (out == contents) is allowed, as the
     * output never runs ahead of the input. */
    memmove(out + o, in + i, run);
    o += run;
    i += run;
    if (!bs)
      break;
    /* Decode before writing: in place, out + o may overlap the escape. */
    char tmp[4];
    size_t n = decode_escape(in, len, &i, tmp);
    memcpy(out + o, tmp, n);
    o += n;
  }
  return o;
}

void vg_json_iter_init(struct vg_json_iter *it, const char *buf,
                       const struct vg_json_token *array) {
  it->buf = buf;
  if (array->kind != VG_JSON_ARRAY || array->len < 2) {
    it->pos = it->end = 0;
    return;
  }
  it->pos = array->start + 1;
  it->end = array->start + array->len - 1; /* the closing ']' */
}

/* Skipping over a value of a buffer vg_json_scan accepted needs none of
 * its checks: only quotes and backslashes matter inside strings, and
 * brackets, commas and quotes outside. A request's records are iterated
 * twice before each is scanned for its fields, so this is worth having
 * apart from the checking scanner. */

/* p is at the opening quote; returns the byte after the closing one and
 * notes whether the contents hold escapes. */
static const uchar *skip_string(const uchar *p, const uchar *end,
                                uint8_t *escaped) {
  const uchar *q = p + 1;
  for (;;) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i bslash = _mm_set1_epi8('\\');
    while (end - q >= 16) {
      __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
      unsigned mask = (unsigned)_mm_movemask_epi8(
          _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)));
      if (mask) {
        q += __builtin_ctz(mask);
        break;
      }
      q += 16;
    }
#endif
    while (q < end && *q != '"' && *q != '\\')
      q++;
    if (q >= end)
      return end;
    if (*q == '"')
      return q + 1;
    /* An escape: neither the byte after the backslash nor the hex digits
     * of a \u escape can end the string. */
    *escaped = 1;
    q += 2;
  }
}

/* p is at '{' or '['; returns the byte after the matching bracket and
 * counts the members or elements at the first level. */
static const uchar *skip_container(const uchar *p, const uchar *end,
                                   uint32_t *count) {
  int depth = 0;
  uint32_t commas = 0;
  bool any = false;
  uint8_t escaped = 0;
  for (const uchar *q = p; q < end;) {
    switch (*q) {
    case '"':
      any |= depth == 1;
      q = skip_string(q, end, &escaped);
      continue;
    case '{':
    case '[':
      any |= depth == 1;
      depth++;
      break;
    case '}':
    case ']':
      if (--depth == 0) {
        *count = any ? commas + 1 : 0;
        return q + 1;
      }
      break;
    case ',':
      commas += depth == 1;
      break;
    case ' ':
    case '\t':
    case '\n':
    case '\r':
      break;
    default:
      any |= depth == 1;
    }
    q++;
  }
  *count = 0;
  return end;
}

bool vg_json_iter_next(struct vg_json_iter *it, struct vg_json_token *elem) {
  const uchar *base = (const uchar *)it->buf, *end = base + it->end;
  const uchar *p = skip_ws(base + it->pos, end), *q;
  if (p >= end)
    return false;
  memset(elem, 0, sizeof *elem);
  elem->start = (uint32_t)(p - base);
  switch (*p) {
  case '"':
    q = skip_string(p, end, &elem->escaped);
    elem->kind = VG_JSON_STRING;
    elem->start++;
    elem->len = (uint32_t)(q - p - 2);
    break;
  case '{':
  case '[':
    elem->kind = *p == '{' ? VG_JSON_OBJECT : VG_JSON_ARRAY;
    q = skip_container(p, end, &elem->count);
    elem->len = (uint32_t)(q - p);
    break;
  default:
    /* A number or a literal: up to the next separator. */
    q = p;
    while (q < end && *q != ',' && *q != ' ' && *q != '\t' && *q != '\n' &&
           *q != '\r')
      q++;
    elem->len = (uint32_t)(q - p);
    elem->kind = *p == 't'   ? VG_JSON_TRUE
                 : *p == 'f' ? VG_JSON_FALSE
                 : *p == 'n' ? VG_JSON_NULL
                             : VG_JSON_NUMBER;
  }
  p = skip_ws(q, end);
  if (p < end && *p == ',')
    p++;
  it->pos = (uint32_t)(p - base);
  return true;
}

/* Beyond json.h: text that is not a JSON number is VG_EINVAL too, and a
 * text of 128 bytes or more needs a heap copy, so it may fail with
 * VG_ENOMEM. strtod follows LC_NUMERIC: the library expects the "C" locale
 * (a program that calls setlocale must keep LC_NUMERIC at "C"). */
int vg_json_number(const char *text, size_t len, double *value, bool *integral,
                   int64_t *ivalue) {
  /* Check the JSON grammar first: strtod alone would also take "inf",
   * "0x1p3" or " 1". */
  struct scan s = {(const uchar *)text, (const uchar *)text + len, NULL, NULL,
                   NULL};
  if (len == 0 || (text[0] != '-' && !is_digit((uchar)text[0])) ||
      scan_number(&s, s.base) != s.end)
    return VG_EINVAL;
  char stack[128];
  char *copy = stack;
  if (len >= sizeof stack) {
    /* Only absurdly long numbers ("0.000...1") get here. */
    copy = malloc(len + 1);
    if (!copy)
      return VG_ENOMEM;
  }
  memcpy(copy, text, len);
  copy[len] = '\0';
  int rc = VG_EINVAL;
  char *stop;
  errno = 0;
  double d = strtod(copy, &stop);
  if (stop != copy + len)
    goto out;
  bool underflow = false;
  if (errno == ERANGE) {
    if (d > 1.0 || d < -1.0)
      goto out; /* overflow: out of double range */
    underflow = true;
  }
  bool is_int = false;
  int64_t iv = 0;
  if (!memchr(text, '.', len) && !memchr(text, 'e', len) &&
      !memchr(text, 'E', len)) {
    /* Integer text: read it exactly, as a double would round integers
     * above 2^53. */
    errno = 0;
    long long ll = strtoll(copy, &stop, 10);
    if (errno == 0 && stop == copy + len) {
      is_int = true;
      iv = (int64_t)ll;
    }
  } else if (!underflow && d >= -9223372036854775808.0 &&
             d < 9223372036854775808.0) {
    iv = (int64_t)d;
    is_int = (double)iv == d;
  }
  *value = d;
  if (integral)
    *integral = is_int;
  if (ivalue && is_int)
    *ivalue = iv;
  rc = 0;
out:
  if (copy != stack)
    free(copy);
  return rc;
}
