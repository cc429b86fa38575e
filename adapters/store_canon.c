/* store_canon.c - canonical JSON (SPEC 4): the content whose SHA-256
 * identifies a stored record. Keys sorted by their bytes, no white space,
 * only the escapes JSON requires, numbers in their shortest round-trip
 * form.
 *
 * Records are canonicalised by a single pass over their text rather than
 * through jansson: loading a record into jansson's tree cost more than
 * screening it (about ten times the writing), and every record with hits
 * goes through here. jansson still writes the JSON values the store builds
 * itself (vg__sbuf_json). */
#include "store_impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vg__sbuf_reserve(struct vg__sbuf *b, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
      return VG_ENOMEM;
    b->p = p;
    b->cap = cap;
  }
  return 0;
}

int vg__sbuf_put(struct vg__sbuf *b, const char *s, size_t n) {
  if (vg__sbuf_reserve(b, n) != 0)
    return VG_ENOMEM;
  if (n)
    memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

int vg__sbuf_string(struct vg__sbuf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  /* Worst case: every byte becomes \u00XX. */
  if (vg__sbuf_reserve(b, n * 6 + 2) != 0)
    return VG_ENOMEM;
  char *o = b->p + b->len;
  *o++ = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') {
      *o++ = (char)c;
      continue;
    }
    *o++ = '\\';
    switch (c) {
    case '"':
      *o++ = '"';
      break;
    case '\\':
      *o++ = '\\';
      break;
    case '\b':
      *o++ = 'b';
      break;
    case '\f':
      *o++ = 'f';
      break;
    case '\n':
      *o++ = 'n';
      break;
    case '\r':
      *o++ = 'r';
      break;
    case '\t':
      *o++ = 't';
      break;
    default:
      *o++ = 'u';
      *o++ = '0';
      *o++ = '0';
      *o++ = hex[c >> 4];
      *o++ = hex[c & 15];
    }
  }
  *o++ = '"';
  b->len = (size_t)(o - b->p);
  b->p[b->len] = '\0';
  return 0;
}

int vg__sbuf_real(struct vg__sbuf *b, double v) {
  char text[40];
  if (!isfinite(v))
    return VG_EINVAL;
  if (v == 0) {
    snprintf(text, sizeof text, "0");
  } else if (v == floor(v) && fabs(v) < 9007199254740992.0) {
    snprintf(text, sizeof text, "%.0f", v);
  } else {
    for (int prec = 1; prec <= 17; prec++) {
      snprintf(text, sizeof text, "%.*g", prec, v);
      if (strtod(text, NULL) == v)
        break;
    }
    /* "1.5e+300" -> "1.5e300", "5e-07" -> "5e-7": one spelling only. */
    char *e = strchr(text, 'e');
    if (e) {
      char *src = e + 1, *dst = e + 1;
      if (*src == '+')
        src++;
      else if (*src == '-')
        *dst++ = *src++;
      while (*src == '0' && src[1])
        src++;
      memmove(dst, src, strlen(src) + 1);
    }
  }
  return vg__sbuf_put(b, text, strlen(text));
}

struct member {
  const char *key;
  size_t len;
  json_t *value;
};

static int cmp_member(const void *a, const void *b) {
  const struct member *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->key, y->key, n);
  if (c)
    return c;
  return x->len < y->len ? -1 : x->len > y->len;
}

int vg__sbuf_json(struct vg__sbuf *b, json_t *v, int depth) {
  char text[32];
  int rc = 0;
  if (depth > 256)
    return VG_ELIMIT;
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    size_t n = json_object_size(v), i = 0;
    struct member small[32];
    struct member *m = n <= 32 ? small : calloc(n, sizeof *m);
    if (!m)
      return VG_ENOMEM;
    const char *key;
    size_t klen;
    json_t *val;
    json_object_keylen_foreach(v, key, klen, val) {
      m[i].key = key;
      m[i].len = klen;
      m[i].value = val;
      i++;
    }
    qsort(m, n, sizeof *m, cmp_member);
    rc = vg__sbuf_put(b, "{", 1);
    for (i = 0; rc == 0 && i < n; i++) {
      if (i)
        rc = vg__sbuf_put(b, ",", 1);
      if (rc == 0)
        rc = vg__sbuf_string(b, m[i].key, m[i].len);
      if (rc == 0)
        rc = vg__sbuf_put(b, ":", 1);
      if (rc == 0)
        rc = vg__sbuf_json(b, m[i].value, depth + 1);
    }
    if (rc == 0)
      rc = vg__sbuf_put(b, "}", 1);
    if (m != small)
      free(m);
    return rc;
  }
  case JSON_ARRAY:
    rc = vg__sbuf_put(b, "[", 1);
    for (size_t i = 0; rc == 0 && i < json_array_size(v); i++) {
      if (i)
        rc = vg__sbuf_put(b, ",", 1);
      if (rc == 0)
        rc = vg__sbuf_json(b, json_array_get(v, i), depth + 1);
    }
    return rc ? rc : vg__sbuf_put(b, "]", 1);
  case JSON_STRING:
    return vg__sbuf_string(b, json_string_value(v), json_string_length(v));
  case JSON_INTEGER:
    snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return vg__sbuf_put(b, text, strlen(text));
  case JSON_REAL:
    return vg__sbuf_real(b, json_real_value(v));
  case JSON_TRUE:
    return vg__sbuf_put(b, "true", 4);
  case JSON_FALSE:
    return vg__sbuf_put(b, "false", 5);
  case JSON_NULL:
    return vg__sbuf_put(b, "null", 4);
  }
  return VG_EINVAL;
}

/* ------------------------------------------------- records from text */

#define CANON_MAX_DEPTH 256

struct canon {
  const char *p, *end;
  struct vg__sbuf *out;
  struct vg__sbuf *key; /* scratch: decoded keys of the objects being read */
  struct vg__sbuf *tmp; /* scratch: sorting members */
};

static void skip_ws(struct canon *c) {
  while (c->p < c->end &&
         (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

static int read_hex4(struct canon *c, unsigned *cp) {
  if (c->end - c->p < 4)
    return VG_EINVAL;
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(c->p[i]);
    if (h < 0)
      return VG_EINVAL;
    v = v * 16 + (unsigned)h;
  }
  c->p += 4;
  *cp = v;
  return 0;
}

/* Length of the well-formed UTF-8 sequence at p (1 to 4), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end) {
  unsigned char b = p[0];
  size_t n;
  unsigned cp;
  if (b < 0x80)
    return 1;
  if (b >= 0xC2 && b <= 0xDF) {
    n = 2;
    cp = b & 0x1F;
  } else if (b >= 0xE0 && b <= 0xEF) {
    n = 3;
    cp = b & 0x0F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    n = 4;
    cp = b & 0x07;
  } else {
    return 0;
  }
  if ((size_t)(end - p) < n)
    return 0;
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    cp = cp << 6 | (p[i] & 0x3F);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
      (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return n;
}

static int put_utf8(struct vg__sbuf *b, unsigned cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) {
    u[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    u[0] = (char)(0xC0 | cp >> 6);
    u[1] = (char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | cp >> 12);
    u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    u[0] = (char)(0xF0 | cp >> 18);
    u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    u[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  return vg__sbuf_put(b, u, n);
}

/* Reads a string (c->p at its opening quote) and appends its decoded bytes
 * to dst. */
static int read_string(struct canon *c, struct vg__sbuf *dst) {
  c->p++;
  for (;;) {
    const char *run = c->p;
    while (c->p < c->end && *c->p != '"' && *c->p != '\\' &&
           (unsigned char)*c->p >= 0x20 && (unsigned char)*c->p < 0x80)
      c->p++;
    if (c->p > run && vg__sbuf_put(dst, run, (size_t)(c->p - run)) != 0)
      return VG_ENOMEM;
    if (c->p >= c->end)
      return VG_EINVAL;
    unsigned char ch = (unsigned char)*c->p;
    if (ch == '"') {
      c->p++;
      return 0;
    }
    if (ch < 0x20)
      return VG_EINVAL;
    if (ch >= 0x80) {
      size_t n =
          utf8_len((const unsigned char *)c->p, (const unsigned char *)c->end);
      if (n == 0)
        return VG_EINVAL;
      if (vg__sbuf_put(dst, c->p, n) != 0)
        return VG_ENOMEM;
      c->p += n;
      continue;
    }
    /* A backslash escape. */
    if (++c->p >= c->end)
      return VG_EINVAL;
    char e = *c->p++, lit;
    switch (e) {
    case '"':
    case '\\':
    case '/':
      lit = e;
      break;
    case 'b':
      lit = '\b';
      break;
    case 'f':
      lit = '\f';
      break;
    case 'n':
      lit = '\n';
      break;
    case 'r':
      lit = '\r';
      break;
    case 't':
      lit = '\t';
      break;
    case 'u': {
      unsigned cp, lo;
      if (read_hex4(c, &cp) != 0)
        return VG_EINVAL;
      if (cp >= 0xDC00 && cp <= 0xDFFF)
        return VG_EINVAL; /* a low surrogate alone */
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u')
          return VG_EINVAL;
        c->p += 2;
        if (read_hex4(c, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
          return VG_EINVAL;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      }
      if (put_utf8(dst, cp) != 0)
        return VG_ENOMEM;
      continue;
    }
    default:
      return VG_EINVAL;
    }
    if (vg__sbuf_put(dst, &lit, 1) != 0)
      return VG_ENOMEM;
  }
}

static bool is_digit(char ch) {
  return ch >= '0' && ch <= '9';
}

/* A number: an integer that fits 64 bits is written back as an integer,
 * anything else (fraction, exponent, too large) as the shortest double. */
static int read_number(struct canon *c) {
  const char *start = c->p;
  bool integral = true;
  if (c->p < c->end && *c->p == '-')
    c->p++;
  if (c->p >= c->end || !is_digit(*c->p))
    return VG_EINVAL;
  if (*c->p == '0')
    c->p++;
  else
    while (c->p < c->end && is_digit(*c->p))
      c->p++;
  if (c->p < c->end && *c->p == '.') {
    integral = false;
    if (++c->p >= c->end || !is_digit(*c->p))
      return VG_EINVAL;
    while (c->p < c->end && is_digit(*c->p))
      c->p++;
  }
  if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
    integral = false;
    c->p++;
    if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
      c->p++;
    if (c->p >= c->end || !is_digit(*c->p))
      return VG_EINVAL;
    while (c->p < c->end && is_digit(*c->p))
      c->p++;
  }
  char text[400];
  size_t len = (size_t)(c->p - start);
  if (len >= sizeof text)
    return VG_EINVAL;
  memcpy(text, start, len);
  text[len] = '\0';
  /* An integer in JSON's grammar is already canonical (no plus, no
   * leading zero), except "-0"; up to 18 digits it fits 64 bits. */
  if (integral && len <= 18 && !(len == 2 && start[1] == '0'))
    return vg__sbuf_put(c->out, start, len);
  if (integral) {
    errno = 0;
    long long v = strtoll(text, NULL, 10);
    if (errno == 0) {
      char out[32];
      int n = snprintf(out, sizeof out, "%lld", v); /* "-0" becomes "0" */
      return vg__sbuf_put(c->out, out, (size_t)n);
    }
  }
  errno = 0;
  double d = strtod(text, NULL);
  if (errno == ERANGE && isinf(d))
    return VG_EINVAL; /* beyond the range of a double, as jansson says */
  return vg__sbuf_real(c->out, d);
}

static int read_value(struct canon *c, int depth, const char *const *drop,
                      size_t ndrop);

struct field_at {
  size_t key_at, key_len; /* in c->key */
  size_t val_at, val_len; /* in c->out: the whole "key":value */
  size_t order;           /* position in the object: the last one wins */
};

static int cmp_members(const void *a, const void *b, void *keys) {
  const struct field_at *x = a, *y = b;
  const char *base = keys;
  size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
  int d = memcmp(base + x->key_at, base + y->key_at, n);
  if (d)
    return d;
  if (x->key_len != y->key_len)
    return x->key_len < y->key_len ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* The drop paths that continue below key: "a.b" under "a" is "b". Returns
 * how many were written to sub; sets *dropped when key itself is one. */
static size_t drop_below(const char *const *drop, size_t ndrop, const char *key,
                         size_t key_len, const char **sub, size_t max,
                         bool *dropped) {
  size_t n = 0;
  *dropped = false;
  for (size_t i = 0; i < ndrop; i++) {
    if (strncmp(drop[i], key, key_len) != 0)
      continue;
    char next = drop[i][key_len];
    if (next == '\0')
      *dropped = true;
    else if (next == '.' && n < max)
      sub[n++] = drop[i] + key_len + 1;
  }
  return n;
}

static bool same_key(const struct canon *c, const struct field_at *x,
                     const struct field_at *y) {
  return x->key_len == y->key_len &&
         memcmp(c->key->p + x->key_at, c->key->p + y->key_at, x->key_len) == 0;
}

/* Writes the members as they come ("key":value, comma separated) and
 * notes where each is; only when they are not already in key order (or a
 * key repeats) are they written again in order. */
static int read_object(struct canon *c, int depth, const char *const *drop,
                       size_t ndrop) {
  size_t start = c->out->len, key_mark = c->key->len;
  struct field_at small[32], *m = small;
  size_t n = 0, cap = 32;
  bool sorted = true;
  int rc = vg__sbuf_put(c->out, "{", 1);
  c->p++; /* '{' */
  skip_ws(c);
  if (rc == 0 && c->p < c->end && *c->p == '}') {
    c->p++;
    return vg__sbuf_put(c->out, "}", 1);
  }
  while (rc == 0) {
    skip_ws(c);
    if (c->p >= c->end || *c->p != '"') {
      rc = VG_EINVAL;
      break;
    }
    size_t key_at = c->key->len;
    if ((rc = read_string(c, c->key)) != 0)
      break;
    size_t key_len = c->key->len - key_at;
    skip_ws(c);
    if (c->p >= c->end || *c->p != ':') {
      rc = VG_EINVAL;
      break;
    }
    c->p++;
    const char *sub[16];
    bool dropped = false;
    size_t nsub = ndrop ? drop_below(drop, ndrop, c->key->p + key_at, key_len,
                                     sub, 16, &dropped)
                        : 0;
    size_t comma_at = c->out->len;
    if (n > 0)
      rc = vg__sbuf_put(c->out, ",", 1);
    size_t mem_at = c->out->len;
    if (rc == 0)
      rc = vg__sbuf_string(c->out, c->key->p + key_at, key_len);
    if (rc == 0)
      rc = vg__sbuf_put(c->out, ":", 1);
    if (rc == 0)
      rc = read_value(c, depth + 1, sub, nsub);
    if (rc)
      break;
    if (dropped) {
      c->out->len = comma_at; /* read (to check it) but not kept */
      c->key->len = key_at;
    } else {
      if (n == cap) {
        size_t ncap = cap * 2;
        struct field_at *more = m == small ? malloc(ncap * sizeof *more)
                                           : realloc(m, ncap * sizeof *more);
        if (!more) {
          rc = VG_ENOMEM;
          break;
        }
        if (m == small)
          memcpy(more, small, sizeof small);
        m = more;
        cap = ncap;
      }
      m[n] =
          (struct field_at){key_at, key_len, mem_at, c->out->len - mem_at, n};
      if (n > 0 && cmp_members(&m[n - 1], &m[n], c->key->p) >= 0)
        sorted = false;
      if (n > 0 && same_key(c, &m[n - 1], &m[n]))
        sorted = false;
      n++;
    }
    skip_ws(c);
    if (c->p < c->end && *c->p == ',') {
      c->p++;
      continue;
    }
    if (c->p < c->end && *c->p == '}') {
      c->p++;
      break;
    }
    rc = VG_EINVAL;
  }
  if (rc == 0 && !sorted) {
    /* Sort by key (then by position, so the last of equal keys comes
     * last) and write the members again in that order. */
    qsort_r(m, n, sizeof *m, cmp_members, c->key->p);
    c->tmp->len = 0;
    rc = vg__sbuf_put(c->tmp, "{", 1);
    bool first = true;
    for (size_t i = 0; rc == 0 && i < n; i++) {
      if (i + 1 < n && same_key(c, &m[i], &m[i + 1]))
        continue; /* a repeated key: the last occurrence wins */
      if (!first)
        rc = vg__sbuf_put(c->tmp, ",", 1);
      first = false;
      if (rc == 0)
        rc = vg__sbuf_put(c->tmp, c->out->p + m[i].val_at, m[i].val_len);
    }
    if (rc == 0) {
      c->out->len = start;
      rc = vg__sbuf_put(c->out, c->tmp->p, c->tmp->len);
    }
  }
  if (rc == 0)
    rc = vg__sbuf_put(c->out, "}", 1);
  if (m != small)
    free(m);
  c->key->len = key_mark;
  return rc;
}

static int read_array(struct canon *c, int depth) {
  int rc = vg__sbuf_put(c->out, "[", 1);
  c->p++; /* '[' */
  skip_ws(c);
  if (rc == 0 && c->p < c->end && *c->p == ']') {
    c->p++;
    return vg__sbuf_put(c->out, "]", 1);
  }
  for (bool first = true; rc == 0; first = false) {
    if (!first)
      rc = vg__sbuf_put(c->out, ",", 1);
    skip_ws(c);
    if (rc == 0)
      rc = read_value(c, depth + 1, NULL, 0);
    if (rc)
      break;
    skip_ws(c);
    if (c->p < c->end && *c->p == ',') {
      c->p++;
      continue;
    }
    if (c->p < c->end && *c->p == ']') {
      c->p++;
      return vg__sbuf_put(c->out, "]", 1);
    }
    rc = VG_EINVAL;
  }
  return rc;
}

static int literal(struct canon *c, const char *word, size_t n) {
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
    return VG_EINVAL;
  c->p += n;
  return vg__sbuf_put(c->out, word, n);
}

static int read_value(struct canon *c, int depth, const char *const *drop,
                      size_t ndrop) {
  if (depth > CANON_MAX_DEPTH)
    return VG_EINVAL;
  skip_ws(c);
  if (c->p >= c->end)
    return VG_EINVAL;
  switch (*c->p) {
  case '{':
    return read_object(c, depth, drop, ndrop);
  case '[':
    return read_array(c, depth);
  case '"': {
    /* Without a backslash, the text between the quotes (valid UTF-8, no
     * control character) is already canonical. */
    const char *q = c->p + 1;
    while (q < c->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20) {
      if ((unsigned char)*q < 0x80) {
        q++;
        continue;
      }
      size_t n =
          utf8_len((const unsigned char *)q, (const unsigned char *)c->end);
      if (n == 0)
        return VG_EINVAL;
      q += n;
    }
    if (q < c->end && *q == '"') {
      int rc = vg__sbuf_put(c->out, c->p, (size_t)(q + 1 - c->p));
      c->p = q + 1;
      return rc;
    }
    /* Decode into the key scratch, then write with only the needed
     * escapes. */
    size_t mark = c->key->len;
    int rc = read_string(c, c->key);
    if (rc == 0)
      rc = vg__sbuf_string(c->out, c->key->p + mark, c->key->len - mark);
    c->key->len = mark;
    return rc;
  }
  case 't':
    return literal(c, "true", 4);
  case 'f':
    return literal(c, "false", 5);
  case 'n':
    return literal(c, "null", 4);
  default:
    return read_number(c);
  }
}

int vg__canonical_append(struct vg__sbuf *out,
                         struct vg__canon_scratch *scratch, const char *json,
                         size_t len, const char *const *drop, size_t ndrop) {
  size_t mark = out->len;
  scratch->key.len = 0;
  struct canon c = {.p = json,
                    .end = json + len,
                    .out = out,
                    .key = &scratch->key,
                    .tmp = &scratch->tmp};
  skip_ws(&c);
  int rc =
      c.p < c.end && *c.p == '{' ? read_value(&c, 0, drop, ndrop) : VG_EINVAL;
  skip_ws(&c);
  if (rc == 0 && c.p != c.end)
    rc = VG_EINVAL; /* text after the record */
  if (rc != 0) {
    out->len = mark;
    if (out->p)
      out->p[mark] = '\0';
  }
  return rc;
}

int vg_store_canonical_json(const char *json, size_t len,
                            const char *const *drop, size_t ndrop, char **out,
                            size_t *outlen) {
  struct vg__sbuf text = {0};
  struct vg__canon_scratch scratch = {0};
  int rc = vg__canonical_append(&text, &scratch, json, len, drop, ndrop);
  if (rc == 0 && !text.p)
    rc = VG_ENOMEM;
  vg__canon_scratch_free(&scratch);
  if (rc != 0) {
    free(text.p);
    return rc;
  }
  *out = text.p;
  *outlen = text.len;
  return 0;
}

void vg__canon_scratch_free(struct vg__canon_scratch *scratch) {
  free(scratch->key.p);
  free(scratch->tmp.p);
  memset(scratch, 0, sizeof *scratch);
}
