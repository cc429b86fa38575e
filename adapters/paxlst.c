/* paxlst.c - UN/EDIFACT PAXLST passenger and crew lists read segment by
 * segment: the flight part of each message is kept, and every traveller
 * group (NAD+FL, FM, DDU, DDT) becomes one `travel` record. */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <utf8proc.h>

#include "source.h"
#include "vg_error.h"

/* A segment with no terminator in this many bytes is not a segment. */
#define MAX_SEGMENT (64 * 1024)

/* ------------------------------------------------------------- helpers */

/* Grows the array *pptr (any object pointer, passed by address) to hold
 * need elements of size bytes. The pointer is moved with memcpy, so no
 * cast through void ** is needed. */
static int grow(void *pptr, size_t *cap, size_t need, size_t size) {
  if (need <= *cap)
    return VG_OK;
  size_t cap2 = *cap ? *cap : 16;
  while (cap2 < need)
    cap2 *= 2;
  void *old;
  memcpy(&old, pptr, sizeof old);
  void *grown = realloc(old, cap2 * size);
  if (!grown)
    return VG_ENOMEM;
  memcpy(pptr, &grown, sizeof grown);
  *cap = cap2;
  return VG_OK;
}

#define GROW(ptr, cap, need) grow(&(ptr), &(cap), (need), sizeof *(ptr))

/* ------------------------------------------------------------- output */

/* Records are written straight into a growable buffer. Values enter the
 * string pool already escaped for JSON (pool_put), so writing one is a
 * copy between quotes: building a JSON tree per record cost most of the
 * time, and a call per byte the rest. */
struct obuf {
  char *data;
  size_t len, cap;
  bool failed; /* an allocation failed; the content is incomplete */
};

static bool o_grow(struct obuf *o, size_t more) {
  size_t cap = o->cap ? o->cap : 1024;
  while (cap < o->len + more)
    cap *= 2;
  char *grown = realloc(o->data, cap);
  if (!grown) {
    o->failed = true;
    return false;
  }
  o->data = grown;
  o->cap = cap;
  return true;
}

static inline bool o_reserve(struct obuf *o, size_t more) {
  return o->len + more <= o->cap || o_grow(o, more);
}

static inline void o_raw(struct obuf *o, const char *s, size_t n) {
  if (o_reserve(o, n)) {
    memcpy(o->data + o->len, s, n);
    o->len += n;
  }
}

static inline void o_reset(struct obuf *o) {
  o->len = 0;
  o->failed = false;
}

static void o_close(struct obuf *o) {
  free(o->data);
  memset(o, 0, sizeof *o);
}

/* Text that needs no escaping, between quotes. */
static inline void o_quoted(struct obuf *o, const char *s, size_t n) {
  if (o_reserve(o, n + 2)) {
    o->data[o->len] = '"';
    memcpy(o->data + o->len + 1, s, n);
    o->data[o->len + n + 1] = '"';
    o->len += n + 2;
  }
}

/* A JSON string of valid UTF-8 text with quotes, escaping what must be. */
static void o_str(struct obuf *o, const char *s, size_t n) {
  if (!o_reserve(o, 6 * n + 2))
    return;
  char *w = o->data + o->len;
  *w++ = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      *w++ = '\\';
      *w++ = (char)c;
    } else if (c < 0x20) {
      static const char hex[] = "0123456789abcdef";
      memcpy(w, "\\u00", 4);
      w[4] = hex[c >> 4];
      w[5] = hex[c & 15];
      w += 6;
    } else {
      *w++ = (char)c;
    }
  }
  *w++ = '"';
  o->len = (size_t)(w - o->data);
}

/* A string kept in a pool: offset and length; len 0 is "absent". */
struct str {
  uint32_t off, len;
};

struct pool {
  char *buf;
  size_t len, cap;
};

static bool valid_utf8(const char *p, size_t n) {
  const utf8proc_uint8_t *s = (const utf8proc_uint8_t *)p;
  utf8proc_ssize_t left = (utf8proc_ssize_t)n;
  while (left > 0) {
    if (*s < 0x80) {
      s++;
      left--;
      continue;
    }
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate(s, left, &cp);
    if (k < 0)
      return false;
    s += k;
    left -= k;
  }
  return true;
}

/* Copies a value into the pool as UTF-8 escaped for a JSON string:
 * trimmed of spaces; ISO 8859-1 when the interchange says so (UNOC) or when
 * the bytes are not UTF-8. EDIFACT text holds no control characters; a
 * stray one (a NUL, a tab) becomes a space rather than spoiling the
 * record. */
static int pool_put(struct pool *pool, const char *p, size_t n, bool latin1,
                    struct str *out) {
  while (n && *p == ' ') {
    p++;
    n--;
  }
  while (n && p[n - 1] == ' ')
    n--;
  *out = (struct str){0, 0};
  if (n == 0)
    return VG_OK;
  /* Escaping and Latin-1 each at most double a byte, never both. */
  if (pool->len + 2 * n > UINT32_MAX)
    return VG_ENOMEM;
  if (GROW(pool->buf, pool->cap, pool->len + 2 * n + 1) != VG_OK)
    return VG_ENOMEM;
  char *start = pool->buf + pool->len, *o = start;
  bool high = false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c < 0x20)
      c = ' ';
    else if (c == '"' || c == '\\')
      *o++ = '\\';
    else if (c >= 0x80)
      high = true;
    *o++ = (char)c;
  }
  if (high && (latin1 || !valid_utf8(start, (size_t)(o - start)))) {
    o = start;
    for (size_t i = 0; i < n; i++) {
      unsigned char c = (unsigned char)p[i];
      if (c < 0x20) {
        *o++ = ' ';
      } else if (c == '"' || c == '\\') {
        *o++ = '\\';
        *o++ = (char)c;
      } else if (c < 0x80) {
        *o++ = (char)c;
      } else {
        *o++ = (char)(0xC0 | (c >> 6));
        *o++ = (char)(0x80 | (c & 0x3F));
      }
    }
  }
  out->off = (uint32_t)pool->len;
  out->len = (uint32_t)(o - start);
  pool->len += out->len;
  return VG_OK;
}

static bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* ------------------------------------------------------------ segments */

struct seps {
  char comp, elem, dec, rel, rep, term; /* rep 0: no repetition */
};

static const struct seps default_seps = {':', '+', '.', '?', 0, '\''};

struct comp {
  uint32_t off, len; /* in segment text */
};

/* One element (or one repetition of it). */
struct elem {
  uint32_t no, rep;
  uint32_t first, n; /* its components */
};

/* A segment tag as a number, so dispatch compares integers. */
#define TAG3(t)                                                                \
  ((uint32_t)(unsigned char)(t)[0] | (uint32_t)(unsigned char)(t)[1] << 8 |    \
   (uint32_t)(unsigned char)(t)[2] << 16)

struct segment {
  char tag[4];
  uint32_t code; /* TAG3 of the tag, 0 when the tag is not valid */
  bool tag_ok;
  bool unterminated; /* cut off by the end of the input */
  bool overlong;
  long line;
  const char *raw; /* valid until the next read */
  size_t raw_len;
  char *text; /* unescaped values */
  size_t text_len, text_cap;
  struct comp *comps;
  size_t ncomps, comps_cap;
  struct elem *els;
  size_t nels, els_cap;
  uint32_t *el_first; /* per element number: index of its first entry */
  size_t nel_first, el_first_cap;
};

/* Component c of element e (first repetition), or an empty value. */
static bool comp_get(const struct segment *sg, uint32_t e, uint32_t c,
                     const char **p, size_t *n) {
  *p = "";
  *n = 0;
  if (e >= sg->nel_first)
    return false;
  const struct elem *el = &sg->els[sg->el_first[e]];
  if (c >= el->n)
    return false;
  const struct comp *cp = &sg->comps[el->first + c];
  *p = sg->text + cp->off;
  *n = cp->len;
  return cp->len > 0;
}

/* A qualifier of up to three characters as a number, so a segment's
 * qualifier is compared as an integer: Q("178"), Q("2"), Q("AVF"). */
#define Q(t)                                                                   \
  ((uint32_t)(sizeof(t) - 1) << 24 | (uint32_t)(unsigned char)(t)[0] |         \
   (sizeof(t) > 2 ? (uint32_t)(unsigned char)(t)[1] << 8 : 0u) |               \
   (sizeof(t) > 3 ? (uint32_t)(unsigned char)(t)[2] << 16 : 0u))

/* Component c of element e packed as Q() packs, or 0 when it is empty or
 * longer than three characters. */
static uint32_t qual(const struct segment *sg, uint32_t e, uint32_t c) {
  const char *p;
  size_t n;
  comp_get(sg, e, c, &p, &n);
  if (n == 0 || n > 3)
    return 0;
  uint32_t v = (uint32_t)n << 24;
  for (size_t k = 0; k < n; k++)
    v |= (uint32_t)(unsigned char)p[k] << (8 * k);
  return v;
}

static bool comp_is(const struct segment *sg, uint32_t e, uint32_t c,
                    const char *want) {
  const char *p;
  size_t n;
  comp_get(sg, e, c, &p, &n);
  return n == strlen(want) && memcmp(p, want, n) == 0;
}

/* Splits raw into elements and components, undoing release characters;
 * line breaks inside a segment (wrapped lines) are dropped. */
static int split_segment(struct segment *sg, const struct seps *sp,
                         const unsigned char *special, const char *raw,
                         size_t n) {
  sg->text_len = sg->ncomps = sg->nels = sg->nel_first = 0;
  if (GROW(sg->text, sg->text_cap, n + 1) != VG_OK)
    return VG_ENOMEM;
  uint32_t el_no = 0, rep = 0;
  size_t comp_start = 0, el_first = 0;
  size_t i = 0;
  for (;;) {
    size_t run = i;
    while (run < n && !special[(unsigned char)raw[run]])
      run++;
    memcpy(sg->text + sg->text_len, raw + i, run - i);
    sg->text_len += run - i;
    i = run;
    char c = i < n ? raw[i] : 0;
    if (i < n && c == sp->rel && i + 1 < n) {
      sg->text[sg->text_len++] = raw[i + 1];
      i += 2;
      continue;
    }
    if (i < n && (c == '\r' || c == '\n' || c == sp->rel)) {
      i++;
      continue;
    }
    /* The end of a component. */
    if (GROW(sg->comps, sg->comps_cap, sg->ncomps + 1) != VG_OK)
      return VG_ENOMEM;
    sg->comps[sg->ncomps++] = (struct comp){
        (uint32_t)comp_start, (uint32_t)(sg->text_len - comp_start)};
    comp_start = sg->text_len;
    if (i < n && c == sp->comp) {
      i++;
      continue;
    }
    /* The end of an element or a repetition. */
    if (GROW(sg->els, sg->els_cap, sg->nels + 1) != VG_OK)
      return VG_ENOMEM;
    if (rep == 0) {
      if (GROW(sg->el_first, sg->el_first_cap, (size_t)el_no + 1) != VG_OK)
        return VG_ENOMEM;
      sg->el_first[el_no] = (uint32_t)sg->nels;
      sg->nel_first = (size_t)el_no + 1;
    }
    sg->els[sg->nels++] = (struct elem){el_no, rep, (uint32_t)el_first,
                                        (uint32_t)(sg->ncomps - el_first)};
    el_first = sg->ncomps;
    if (i >= n)
      break;
    if (c == sp->elem) {
      el_no++;
      rep = 0;
    } else {
      rep++;
    }
    i++;
  }
  /* The tag: three capital letters or digits. */
  const struct comp *tc = &sg->comps[sg->els[0].first];
  const unsigned char *t = (const unsigned char *)sg->text + tc->off;
  sg->tag_ok = tc->len == 3 && sg->els[0].n == 1;
  for (size_t k = 0; k < 3 && sg->tag_ok; k++)
    sg->tag_ok = (t[k] >= 'A' && t[k] <= 'Z') || (t[k] >= '0' && t[k] <= '9');
  if (sg->tag_ok) {
    memcpy(sg->tag, t, 3);
    sg->tag[3] = '\0';
    sg->code = TAG3(sg->tag);
  } else {
    sg->tag[0] = '\0';
    sg->code = 0;
  }
  return VG_OK;
}

/* ------------------------------------------------------------- records */

enum role {
  ROLE_PASSENGER,
  ROLE_CREW,
  ROLE_TRANSIT_PASSENGER,
  ROLE_TRANSIT_CREW
};

static const char *const role_names[] = {"passenger", "crew",
                                         "transit_passenger", "transit_crew"};

struct doc {
  struct str type, number, issuing, expiry;
};

struct traveller {
  bool open;
  enum role role;
  long seg, line; /* of its NAD */
  long ordinal;   /* 1-based within the message */
  struct pool pool;
  struct str surname, given, sex, birth, nationality, birth_place, residence,
      address, embark, debark, seat, booking, pax_ref;
  struct doc *docs;
  size_t ndocs, docs_cap;
  bool bad;
  char bad_where[96];
  char reason[320];
  char raw[VG_RAW_EXCERPT];
  size_t raw_len;
};

/* A place on the route: LOC+125, LOC+92 or LOC+87 with its times. */
struct stop {
  size_t leg;
  int qual; /* 125, 92, 87 */
  struct str port, dep, arr;
};

struct comnum {
  struct str number, type;
};

struct leg {
  struct str carrier, number;
  size_t nstops;
};

struct message {
  bool open;
  bool skip; /* not a PAXLST */
  long index;
  long segs; /* counted from UNH */
  struct pool pool;
  char ref[36]; /* UNH message reference as sent (an..14; kept short) */
  size_t ref_len;
  struct leg *legs;
  size_t nlegs, legs_cap;
  struct stop *stops;
  size_t nstops, stops_cap;
  struct str party, phone, fax, list;
  struct comnum *nums; /* every COM number of the reporting party */
  size_t nnums, nums_cap;
  bool travellers_started, flight_late_warned, outside_warned;
  bool other_party;      /* inside a NAD group that is not a traveller */
  long passengers, crew; /* traveller groups read */
  /* Frozen when the first traveller group starts. */
  struct obuf flight, report; /* JSON text shared by every record */
  char departure_at[32];
  int dep_y, dep_m, dep_d; /* 0 when unknown */
  char flight_fault[320];  /* why travellers have no departure time */
  char id_flight[64];      /* "UA924/2026-03-14" */
};

struct qitem {
  enum vg_item_type type;
  long line;
  char where[96];
  char reason[320];
  struct obuf json;
  char *raw;
  size_t raw_len, raw_cap;
};

struct px_source {
  struct vg_source base;
  FILE *in;

  char *buf;
  size_t cap, start, end;
  bool eof;
  long line; /* of buf[start] */
  struct seps sp;
  unsigned char special[256]; /* the bytes split_segment stops at */
  struct segment seg;
  char *long_raw; /* an overlong segment's start */

  /* Interchange. */
  bool in_ic, after_unz, junk_warned, in_group;
  long ic_index, ic_messages, ic_groups, group_messages;
  bool latin1;
  char sender[64];
  int ic_y, ic_m, ic_d; /* preparation date */
  char source[80];
  struct obuf source_json; /* source as a JSON string */

  struct message msg;
  long messages;       /* messages opened so far in the input */
  long place_warnings; /* warn_place calls since the message began */
  struct traveller trav;

  struct qitem *q;
  size_t qlen, qpos, qcap;

  EVP_MD *md;
  EVP_MD_CTX *md_ctx;
  bool done;
};

/* Sets the separators and the table of bytes that end a run of plain
 * text. */
static void set_seps(struct px_source *s, const struct seps *sp) {
  s->sp = *sp;
  memset(s->special, 0, sizeof s->special);
  s->special[(unsigned char)sp->comp] = 1;
  s->special[(unsigned char)sp->elem] = 1;
  s->special[(unsigned char)sp->rel] = 1;
  if (sp->rep)
    s->special[(unsigned char)sp->rep] = 1;
  s->special['\r'] = 1;
  s->special['\n'] = 1;
}

/* ---------------------------------------------------------------- queue */

static struct qitem *push(struct px_source *s, enum vg_item_type type,
                          long line) {
  if (s->qlen == s->qcap) {
    size_t cap = s->qcap ? s->qcap * 2 : 8;
    struct qitem *grown = realloc(s->q, cap * sizeof *grown);
    if (!grown)
      return NULL;
    memset(grown + s->qcap, 0, (cap - s->qcap) * sizeof *grown);
    s->q = grown;
    s->qcap = cap;
  }
  struct qitem *it = &s->q[s->qlen++];
  it->type = type;
  it->line = line;
  it->where[0] = it->reason[0] = '\0';
  o_reset(&it->json);
  it->raw_len = 0;
  return it;
}

static int set_raw(struct qitem *it, const char *raw, size_t n) {
  while (n && (raw[n - 1] == '\n' || raw[n - 1] == '\r' || raw[n - 1] == ' '))
    n--;
  if (n > VG_RAW_EXCERPT)
    n = VG_RAW_EXCERPT;
  if (GROW(it->raw, it->raw_cap, n + 1) != VG_OK)
    return VG_ENOMEM;
  memcpy(it->raw, raw, n);
  it->raw_len = n;
  return VG_OK;
}

static char *put_long(char *o, long v) {
  char digits[24];
  size_t k = sizeof digits;
  unsigned long u = v < 0 ? 0 : (unsigned long)v;
  do {
    digits[--k] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  memcpy(o, digits + k, sizeof digits - k);
  return o + (sizeof digits - k);
}

/* "message N, segment M, line L", without printf: written per record. */
static void where3(char *out, long msg, long seg, long line) {
  char *o = out;
  memcpy(o, "message ", 8);
  o = put_long(o + 8, msg);
  memcpy(o, ", segment ", 10);
  o = put_long(o + 10, seg);
  memcpy(o, ", line ", 7);
  o = put_long(o + 7, line);
  *o = '\0';
}

static void seg_where(const struct px_source *s, char *out, size_t cap) {
  if (s->msg.open && cap >= 96)
    where3(out, s->msg.index, s->msg.segs, s->seg.line);
  else if (s->seg.tag_ok)
    snprintf(out, cap, "line %ld (%s)", s->seg.line, s->seg.tag);
  else
    snprintf(out, cap, "line %ld", s->seg.line);
}

static int vwarn(struct px_source *s, const char *fmt, va_list ap) {
  struct qitem *it = push(s, VG_ITEM_WARNING, s->msg.open ? s->msg.index : 0);
  if (!it)
    return VG_ENOMEM;
  seg_where(s, it->where, sizeof it->where);
  vsnprintf(it->reason, sizeof it->reason, fmt, ap);
  vg_text_sanitize(it->reason);
  return set_raw(it, s->seg.raw, s->seg.raw_len);
}

/* A warning about the current segment. */
static int warn(struct px_source *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int warn(struct px_source *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = vwarn(s, fmt, ap);
  va_end(ap);
  return rc;
}

/* Segments out of place or unreadable are warned about up to a point per
 * message, so a file broken throughout does not bury its reader in
 * warnings; the counts (UNT, CNT, ...) are always checked. */
#define MAX_PLACE_WARNINGS 20

static int warn_place(struct px_source *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int warn_place(struct px_source *s, const char *fmt, ...) {
  long n = ++s->place_warnings;
  if (n > MAX_PLACE_WARNINGS + 1)
    return VG_OK;
  if (n == MAX_PLACE_WARNINGS + 1)
    return warn(s,
                "more than %d segments out of place or unreadable; the "
                "rest of them in this message are not reported",
                MAX_PLACE_WARNINGS);
  va_list ap;
  va_start(ap, fmt);
  int rc = vwarn(s, fmt, ap);
  va_end(ap);
  return rc;
}

/* ---------------------------------------------------------- traveller */

static void trav_reset(struct traveller *t) {
  t->open = false;
  t->pool.len = 0;
  t->surname = t->given = t->sex = t->birth = t->nationality = t->birth_place =
      t->residence = t->address = t->embark = t->debark = t->seat = t->booking =
          t->pax_ref = (struct str){0, 0};
  t->ndocs = 0;
  t->bad = false;
  t->raw_len = 0;
}

/* Marks the open traveller unreadable; the first fault is the one told. */
static void trav_fault(struct px_source *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void trav_fault(struct px_source *s, const char *fmt, ...) {
  struct traveller *t = &s->trav;
  if (t->bad)
    return;
  t->bad = true;
  seg_where(s, t->bad_where, sizeof t->bad_where);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t->reason, sizeof t->reason, fmt, ap);
  va_end(ap);
  vg_text_sanitize(t->reason);
}

static void trav_keep_raw(struct px_source *s) {
  struct traveller *t = &s->trav;
  size_t room = sizeof t->raw - t->raw_len;
  size_t n = s->seg.raw_len < room ? s->seg.raw_len : room;
  memcpy(t->raw + t->raw_len, s->seg.raw, n);
  t->raw_len += n;
  if (t->raw_len < sizeof t->raw && !s->seg.unterminated)
    t->raw[t->raw_len++] = s->sp.term;
}

/* Copies component c of element e into pool (the traveller's or the
 * message's). */
static int comp_put(struct px_source *s, struct pool *pool,
                    const struct segment *sg, uint32_t e, uint32_t c,
                    struct str *out) {
  const char *p;
  size_t n;
  comp_get(sg, e, c, &p, &n);
  return pool_put(pool, p, n, s->latin1, out);
}

/* Joins the non-empty components [c0, c1) of element e with sep. */
static int tjoin(struct px_source *s, const struct segment *sg, uint32_t e,
                 uint32_t c0, uint32_t c1, const char *sep, struct str *out) {
  char buf[1024];
  size_t len = 0, seplen = strlen(sep);
  for (uint32_t c = c0; c < c1; c++) {
    const char *p;
    size_t n;
    comp_get(sg, e, c, &p, &n);
    while (n && *p == ' ') {
      p++;
      n--;
    }
    while (n && p[n - 1] == ' ')
      n--;
    if (!n || len + seplen + n > sizeof buf)
      continue;
    if (len) {
      memcpy(buf + len, sep, seplen);
      len += seplen;
    }
    memcpy(buf + len, p, n);
    len += n;
  }
  return pool_put(&s->trav.pool, buf, len, s->latin1, out);
}

struct ymdhm {
  int y, m, d, hh, mm;
};

static bool all_digits(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] < '0' || p[i] > '9')
      return false;
  return n > 0;
}

static int num2(const char *p) {
  return (p[0] - '0') * 10 + (p[1] - '0');
}

enum pivot { PIVOT_BIRTH, PIVOT_EXPIRY, PIVOT_FLIGHT };

/* Reads an EDIFACT date or date and time: YYMMDD (101), CCYYMMDD (102),
 * YYMMDDhhmm (201) or CCYYMMDDhhmm (203), told apart by the format code or
 * the length. Two-digit years get their century from pivot (see
 * docs/adapters.md). */
static bool parse_edi_date(const char *p, size_t n, const char *fmt,
                           size_t fmtlen, enum pivot pivot, int ref_y,
                           int ref_m, int ref_d, struct ymdhm *out) {
  if (!all_digits(p, n))
    return false;
  if (fmtlen) {
    size_t want = 0;
    if (fmtlen == 3 && memcmp(fmt, "101", 3) == 0)
      want = 6;
    else if (fmtlen == 3 && memcmp(fmt, "102", 3) == 0)
      want = 8;
    else if (fmtlen == 3 && memcmp(fmt, "201", 3) == 0)
      want = 10;
    else if (fmtlen == 3 && memcmp(fmt, "203", 3) == 0)
      want = 12;
    if (want && want != n)
      return false;
  }
  bool century = n == 8 || n == 12;
  if (n != 6 && n != 8 && n != 10 && n != 12)
    return false;
  struct ymdhm v = {0};
  size_t i = 0;
  if (century) {
    v.y = num2(p) * 100 + num2(p + 2);
    i = 4;
  } else {
    v.y = num2(p);
    i = 2;
  }
  v.m = num2(p + i);
  v.d = num2(p + i + 2);
  i += 4;
  if (i < n) {
    v.hh = num2(p + i);
    v.mm = num2(p + i + 2);
  }
  if (!century) {
    int yy = v.y;
    v.y = 2000 + yy;
    if (pivot == PIVOT_BIRTH && ref_y) {
      /* Nobody is born after the flight. */
      if (v.y > ref_y ||
          (v.y == ref_y && (v.m > ref_m || (v.m == ref_m && v.d > ref_d))))
        v.y -= 100;
    } else if (pivot == PIVOT_EXPIRY) {
      /* Expiry dates fall within 50 years either side of the flight. */
      int base = ref_y ? ref_y : 2000;
      if (v.y > base + 49)
        v.y -= 100;
    }
  }
  if (v.y < 1 || v.m < 1 || v.m > 12 || v.d < 1 ||
      v.d > days_in_month(v.y, v.m) || v.hh > 23 || v.mm > 59)
    return false;
  *out = v;
  return true;
}

static void put_digits(char *o, int v, int width) {
  for (int i = width - 1; i >= 0; i--) {
    o[i] = (char)('0' + v % 10);
    v /= 10;
  }
}

static int put_date(struct pool *pool, const struct ymdhm *v, struct str *out) {
  char text[10];
  put_digits(text, v->y, 4);
  text[4] = '-';
  put_digits(text + 5, v->m, 2);
  text[7] = '-';
  put_digits(text + 8, v->d, 2);
  return pool_put(pool, text, sizeof text, false, out);
}

static int trav_date(struct px_source *s, const struct segment *sg,
                     enum pivot pivot, const char *field, struct str *out) {
  const char *p, *fmt;
  size_t n, fmtlen;
  comp_get(sg, 1, 1, &p, &n);
  comp_get(sg, 1, 2, &fmt, &fmtlen);
  if (n == 0)
    return VG_OK;
  struct ymdhm v;
  const struct message *m = &s->msg;
  int ry = m->dep_y ? m->dep_y : s->ic_y, rm = m->dep_y ? m->dep_m : s->ic_m,
      rd = m->dep_y ? m->dep_d : s->ic_d;
  if (!parse_edi_date(p, n, fmt, fmtlen, pivot, ry, rm, rd, &v)) {
    char q[40];
    snprintf(q, sizeof q, "%.*s", (int)(n < 32 ? n : 32), p);
    trav_fault(s, "%s: DTM+%s '%s' is not a date (YYMMDD or CCYYMMDD)", field,
               pivot == PIVOT_BIRTH ? "329" : "36", q);
    return VG_OK;
  }
  return put_date(&s->trav.pool, &v, out);
}

static int trav_segment(struct px_source *s, const struct segment *sg) {
  struct traveller *t = &s->trav;
  uint32_t q1 = qual(sg, 1, 0);
  if (sg->code == TAG3("ATT")) {
    if (q1 == Q("2"))
      return comp_put(s, &s->trav.pool, sg, 3, 0, &t->sex);
    return VG_OK;
  }
  if (sg->code == TAG3("DTM")) {
    if (q1 == Q("329"))
      return trav_date(s, sg, PIVOT_BIRTH, "traveller.birth_date", &t->birth);
    if (q1 == Q("36")) {
      if (t->ndocs == 0)
        return warn_place(s, "DTM+36 (document expiry) comes before any DOC in "
                             "this traveller group; ignored");
      return trav_date(s, sg, PIVOT_EXPIRY, "traveller.document.expiry",
                       &t->docs[t->ndocs - 1].expiry);
    }
    return VG_OK;
  }
  if (sg->code == TAG3("LOC")) {
    const char *q;
    size_t qn;
    comp_get(sg, 1, 0, &q, &qn);
    if (q1 == Q("178"))
      return comp_put(s, &s->trav.pool, sg, 2, 0, &t->embark);
    if (q1 == Q("179"))
      return comp_put(s, &s->trav.pool, sg, 2, 0, &t->debark);
    if (q1 == Q("174"))
      return comp_put(s, &s->trav.pool, sg, 2, 0, &t->residence);
    if (q1 == Q("180")) {
      /* A code (LOC+180+USA), free text (LOC+180+:::Hartford USA) or
       * both; free text in the related places counts too. */
      const char *name;
      size_t nn;
      comp_get(sg, 2, 3, &name, &nn);
      if (nn == 0)
        comp_get(sg, 3, 3, &name, &nn);
      if (nn)
        return pool_put(&t->pool, name, nn, s->latin1, &t->birth_place);
      return comp_put(s, &s->trav.pool, sg, 2, 0, &t->birth_place);
    }
    if (q1 == Q("91")) {
      if (t->ndocs == 0)
        return warn_place(s,
                          "LOC+91 (document issuing country) comes before any "
                          "DOC in this traveller group; ignored");
      return comp_put(s, &s->trav.pool, sg, 2, 0,
                      &t->docs[t->ndocs - 1].issuing);
    }
    if ((q1 == Q("125") || q1 == Q("87") || q1 == Q("92")) &&
        !s->msg.flight_late_warned) /* else part of the late TDT */
      return warn_place(s,
                        "LOC+%.*s (a flight's airport) inside a traveller "
                        "group; ignored (flight details come before the "
                        "travellers)",
                        (int)qn, q);
    return VG_OK;
  }
  if (sg->code == TAG3("NAT")) {
    if (q1 == Q("2"))
      return comp_put(s, &s->trav.pool, sg, 2, 0, &t->nationality);
    return VG_OK;
  }
  if (sg->code == TAG3("RFF")) {
    if (q1 == Q("AVF"))
      return comp_put(s, &s->trav.pool, sg, 1, 1, &t->booking);
    if (q1 == Q("SEA"))
      return comp_put(s, &s->trav.pool, sg, 1, 1, &t->seat);
    if (q1 == Q("ABO"))
      return comp_put(s, &s->trav.pool, sg, 1, 1, &t->pax_ref);
    return VG_OK;
  }
  if (sg->code == TAG3("DOC")) {
    if (GROW(t->docs, t->docs_cap, t->ndocs + 1) != VG_OK)
      return VG_ENOMEM;
    struct doc *d = &t->docs[t->ndocs++];
    memset(d, 0, sizeof *d);
    int rc = comp_put(s, &s->trav.pool, sg, 1, 0, &d->type);
    if (rc == VG_OK)
      rc = comp_put(s, &s->trav.pool, sg, 2, 0, &d->number);
    return rc;
  }
  return VG_OK; /* FTX, MEA, GEI, EMP, COM, ...: nothing we keep */
}

/* ------------------------------------------------------------- flight */

static const char *pstr(const struct pool *pool, struct str v) {
  return v.len ? pool->buf + v.off : "";
}

/* Writes ,"key": (without the comma when the object is still empty); k
 * is the literal ,"key": with its comma. */
static inline void key(struct obuf *w, bool *any, const char *k, size_t n) {
  o_raw(w, *any ? k : k + 1, *any ? n : n - 1);
  *any = true;
}

#define KEY(w, any, k) key((w), (any), ",\"" k "\":", sizeof(",\"" k "\":") - 1)

/* A string member, left out when the value is absent. Pool strings are
 * valid UTF-8 and already escaped (pool_put). */
static inline void member(struct obuf *w, bool *any, const char *k, size_t kn,
                          const struct pool *pool, struct str v) {
  if (v.len == 0)
    return;
  size_t skip = *any ? 0 : 1;
  if (!o_reserve(w, kn + v.len + 2))
    return;
  char *o = w->data + w->len;
  memcpy(o, k + skip, kn - skip);
  o += kn - skip;
  *o++ = '"';
  memcpy(o, pool->buf + v.off, v.len);
  o += v.len;
  *o++ = '"';
  w->len = (size_t)(o - w->data);
  *any = true;
}

#define MEMBER(w, any, k, pool, v)                                             \
  member((w), (any), ",\"" k "\":", sizeof(",\"" k "\":") - 1, (pool), (v))

/* A leg's time as stored: "YYYY-MM-DDThh:mm:00Z". */
static int stop_time(struct px_source *s, const struct segment *sg,
                     struct str *out) {
  const char *p, *fmt;
  size_t n, fmtlen;
  comp_get(sg, 1, 1, &p, &n);
  comp_get(sg, 1, 2, &fmt, &fmtlen);
  struct ymdhm v;
  if (!parse_edi_date(p, n, fmt, fmtlen, PIVOT_FLIGHT, 0, 0, 0, &v)) {
    char q[40];
    snprintf(q, sizeof q, "%.*s", (int)(n < 32 ? n : 32), p);
    return warn_place(s,
                      "DTM+%s '%s' is not a date and time (YYMMDDhhmm); the "
                      "time is left out",
                      comp_is(sg, 1, 0, "189") ? "189" : "232", q);
  }
  char text[32];
  int len = snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:00Z", v.y,
                     v.m, v.d, v.hh, v.mm);
  return pool_put(&s->msg.pool, text, (size_t)len, false, out);
}

static int flight_segment(struct px_source *s, const struct segment *sg) {
  struct message *m = &s->msg;
  if (sg->code == TAG3("TDT")) {
    if (GROW(m->legs, m->legs_cap, m->nlegs + 1) != VG_OK)
      return VG_ENOMEM;
    struct leg *leg = &m->legs[m->nlegs++];
    memset(leg, 0, sizeof *leg);
    int rc = comp_put(s, &s->msg.pool, sg, 2, 0, &leg->number);
    if (rc == VG_OK)
      rc = comp_put(s, &s->msg.pool, sg, 5, 0, &leg->carrier);
    const char *num;
    size_t nn;
    comp_get(sg, 2, 0, &num, &nn);
    if (rc == VG_OK && leg->carrier.len == 0 && nn > 2)
      /* No carrier element: the airline designator leads the flight
       * number (two characters, letters or digits). */
      rc = pool_put(&m->pool, num, 2, s->latin1, &leg->carrier);
    return rc;
  }
  if (sg->code == TAG3("LOC")) {
    uint32_t q = qual(sg, 1, 0);
    int place = q == Q("125") ? 125 : q == Q("87") ? 87 : q == Q("92") ? 92 : 0;
    if (!place)
      return VG_OK;
    if (m->nlegs == 0)
      return warn_place(s, "LOC+%d comes before any TDT; ignored", place);
    if (GROW(m->stops, m->stops_cap, m->nstops + 1) != VG_OK)
      return VG_ENOMEM;
    struct stop *st = &m->stops[m->nstops++];
    memset(st, 0, sizeof *st);
    st->leg = m->nlegs - 1;
    st->qual = place;
    m->legs[m->nlegs - 1].nstops++;
    return comp_put(s, &s->msg.pool, sg, 2, 0, &st->port);
  }
  if (sg->code == TAG3("DTM")) {
    uint32_t q = qual(sg, 1, 0);
    bool dep = q == Q("189"), arr = q == Q("232");
    if (!dep && !arr)
      return VG_OK;
    if (m->nstops == 0 || m->stops[m->nstops - 1].leg != m->nlegs - 1)
      return warn_place(s,
                        "DTM+%s comes before any LOC of its flight leg; "
                        "ignored",
                        dep ? "189" : "232");
    struct stop *st = &m->stops[m->nstops - 1];
    return stop_time(s, sg, dep ? &st->dep : &st->arr);
  }
  return VG_OK;
}

/* The stops of leg i in route order: departure (125) first, arrival (87)
 * last, routing places (92) in the order given. */
static size_t leg_route(const struct message *m, size_t leg,
                        const struct stop **out, size_t cap) {
  size_t k = 0;
  for (int pass = 0; pass < 3; pass++) {
    int want = pass == 0 ? 125 : pass == 1 ? 92 : 87;
    for (size_t i = 0; i < m->nstops && k < cap; i++)
      if (m->stops[i].leg == leg && m->stops[i].qual == want)
        out[k++] = &m->stops[i];
  }
  return k;
}

struct hop {
  const struct stop *from, *to;
};

static void hop_json(struct obuf *w, const struct pool *pool,
                     const struct hop *h) {
  bool any = false;
  o_raw(w, "{", 1);
  if (h->from) {
    MEMBER(w, &any, "departure_port", pool, h->from->port);
    MEMBER(w, &any, "departure_at", pool, h->from->dep);
  }
  if (h->to) {
    MEMBER(w, &any, "arrival_port", pool, h->to->port);
    MEMBER(w, &any, "arrival_at", pool, h->to->arr);
  }
  o_raw(w, "}", 1);
}

/* Safe characters of a flight designator, for the readable part of ids. */
static size_t designator(const char *p, size_t n, char *out, size_t cap) {
  size_t k = 0;
  for (size_t i = 0; i < n && k + 1 < cap; i++) {
    char c = p[i];
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9'))
      out[k++] = c;
  }
  out[k] = '\0';
  return k;
}

/* Builds what every traveller of the message shares: the flight with its
 * legs, the reporting party, the departure time and the id prefix. Called
 * when the first traveller group opens; later flight segments are out of
 * place. */
static int freeze_flight(struct px_source *s) {
  struct message *m = &s->msg;
  const struct pool *pool = &m->pool;
  m->travellers_started = true;

  /* Every hop of every leg, in order. */
  struct hop *hops = NULL;
  size_t nhops = 0, hops_cap = 0;
  const struct stop **route = NULL;
  size_t route_cap = 0;
  if (m->nstops && GROW(route, route_cap, m->nstops) != VG_OK)
    return VG_ENOMEM;
  for (size_t l = 0; l < m->nlegs; l++) {
    size_t k = leg_route(m, l, route, route_cap);
    for (size_t i = 0; i + 1 < k || (k == 1 && i == 0); i++) {
      if (GROW(hops, hops_cap, nhops + 1) != VG_OK) {
        free(route);
        free(hops);
        return VG_ENOMEM;
      }
      if (k == 1)
        hops[nhops++] = route[0]->qual == 87 ? (struct hop){NULL, route[0]}
                                             : (struct hop){route[0], NULL};
      else
        hops[nhops++] = (struct hop){route[i], route[i + 1]};
    }
  }
  free(route);

  struct obuf *w = &m->flight;
  bool any = false;
  o_reset(w);
  o_raw(w, "{", 1);
  const struct leg *first = m->nlegs ? &m->legs[0] : NULL;
  if (first) {
    MEMBER(w, &any, "carrier", pool, first->carrier);
    MEMBER(w, &any, "number", pool, first->number);
  }
  const struct stop *dep = nhops ? hops[0].from : NULL;
  const struct stop *arr = nhops ? hops[nhops - 1].to : NULL;
  if (dep) {
    MEMBER(w, &any, "departure_port", pool, dep->port);
    MEMBER(w, &any, "departure_at", pool, dep->dep);
  }
  if (arr) {
    MEMBER(w, &any, "arrival_port", pool, arr->port);
    MEMBER(w, &any, "arrival_at", pool, arr->arr);
  }
  if (nhops > 1) {
    KEY(w, &any, "legs");
    o_raw(w, "[", 1);
    for (size_t i = 0; i < nhops; i++) {
      if (i)
        o_raw(w, ",", 1);
      hop_json(w, pool, &hops[i]);
    }
    o_raw(w, "]", 1);
  }
  o_raw(w, "}", 1);

  m->departure_at[0] = '\0';
  m->dep_y = 0;
  m->flight_fault[0] = '\0';
  if (dep && dep->dep.len) {
    const char *t = pstr(pool, dep->dep);
    snprintf(m->departure_at, sizeof m->departure_at, "%.*s", (int)dep->dep.len,
             t);
    m->dep_y = num2(t) * 100 + num2(t + 2);
    m->dep_m = num2(t + 5);
    m->dep_d = num2(t + 8);
  } else if (!first) {
    snprintf(m->flight_fault, sizeof m->flight_fault,
             "flight.departure_at: the message has no flight (TDT+20) "
             "before its travellers");
  } else {
    snprintf(m->flight_fault, sizeof m->flight_fault,
             "flight.departure_at: the flight has no readable departure "
             "time (DTM+189 after the first LOC+125 or LOC+92)");
  }
  free(hops);

  char fl[40] = "";
  if (first) {
    char carrier[16], number[24];
    size_t cl = designator(pstr(pool, first->carrier), first->carrier.len,
                           carrier, sizeof carrier);
    size_t nl = designator(pstr(pool, first->number), first->number.len, number,
                           sizeof number);
    bool prefixed = cl && nl >= cl && memcmp(number, carrier, cl) == 0;
    snprintf(fl, sizeof fl, "%s%s", prefixed ? "" : carrier, number);
  }
  snprintf(m->id_flight, sizeof m->id_flight, "%s/%.10s", fl[0] ? fl : "flight",
           m->departure_at[0] ? m->departure_at : "0000-00-00");

  w = &m->report;
  any = false;
  o_reset(w);
  o_raw(w, "{", 1);
  MEMBER(w, &any, "list", pool, m->list);
  MEMBER(w, &any, "party", pool, m->party);
  MEMBER(w, &any, "phone", pool, m->phone);
  MEMBER(w, &any, "fax", pool, m->fax);
  /* All the numbers, when phone and fax do not already say them all. */
  if (m->nnums > (size_t)(m->phone.len > 0) + (m->fax.len > 0)) {
    KEY(w, &any, "numbers");
    o_raw(w, "[", 1);
    for (size_t i = 0; i < m->nnums; i++) {
      bool inner = false;
      o_raw(w, i ? ",{" : "{", i ? 2 : 1);
      MEMBER(w, &inner, "number", pool, m->nums[i].number);
      MEMBER(w, &inner, "type", pool, m->nums[i].type);
      o_raw(w, "}", 1);
    }
    o_raw(w, "]", 1);
  }
  o_raw(w, "}", 1);
  if (!any)
    o_reset(w); /* no report object at all */
  return m->flight.failed || m->report.failed ? VG_ENOMEM : VG_OK;
}

/* --------------------------------------------------------------- emit */

/* Appends a value to the id key as compared: letters upper-cased, spaces,
 * dots and hyphens dropped, then a unit separator. */
static size_t key_part(char *key, size_t len, size_t cap, const char *p,
                       size_t n) {
  for (size_t i = 0; i < n && len + 1 < cap; i++) {
    char c = p[i];
    if (c == ' ' || c == '-' || c == '.')
      continue;
    key[len++] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
  }
  if (len < cap)
    key[len++] = '\x1f';
  return len;
}

/* The document the record is about: the first passport, else the first
 * document. */
static const struct doc *main_doc(const struct traveller *t) {
  for (size_t i = 0; i < t->ndocs; i++)
    if (t->docs[i].type.len == 1 && t->pool.buf[t->docs[i].type.off] == 'P')
      return &t->docs[i];
  return t->ndocs ? &t->docs[0] : NULL;
}

/* The record id: readable flight and date, then a digest of who travels,
 * so a re-sent message (new control references, new send time) gives the
 * same ids. docs/adapters.md describes the key. */
static int make_id(struct px_source *s, char *out, size_t cap) {
  const struct traveller *t = &s->trav;
  const struct pool *mp = &s->msg.pool, *tp = &t->pool;
  char key[1024];
  size_t k = 0;
  memcpy(key, "paxlst-id-1\x1f", 12);
  k = 12;
  const struct leg *first = s->msg.nlegs ? &s->msg.legs[0] : NULL;
  if (first) {
    k = key_part(key, k, sizeof key, pstr(mp, first->carrier),
                 first->carrier.len);
    k = key_part(key, k, sizeof key, pstr(mp, first->number),
                 first->number.len);
  }
  size_t dl = strlen(s->msg.departure_at);
  k = key_part(key, k, sizeof key, s->msg.departure_at, dl > 10 ? 10 : dl);
  const struct doc *d = main_doc(t);
  if (d && d->number.len) {
    k = key_part(key, k, sizeof key, "doc", 3);
    k = key_part(key, k, sizeof key, pstr(tp, d->issuing), d->issuing.len);
    k = key_part(key, k, sizeof key, pstr(tp, d->number), d->number.len);
  } else if (t->surname.len || t->given.len || t->birth.len) {
    k = key_part(key, k, sizeof key, "name", 4);
    k = key_part(key, k, sizeof key, pstr(tp, t->surname), t->surname.len);
    k = key_part(key, k, sizeof key, pstr(tp, t->given), t->given.len);
    k = key_part(key, k, sizeof key, pstr(tp, t->birth), t->birth.len);
  } else if (t->pax_ref.len) {
    k = key_part(key, k, sizeof key, "ref", 3);
    k = key_part(key, k, sizeof key, pstr(tp, t->pax_ref), t->pax_ref.len);
  } else {
    char pos[32];
    int n = snprintf(pos, sizeof pos, "pos%ld", t->ordinal);
    k = key_part(key, k, sizeof key, pos, (size_t)n);
  }
  EVP_MD_CTX *ctx = s->md_ctx;
  if (EVP_DigestInit_ex(ctx, s->md, NULL) != 1 ||
      EVP_DigestUpdate(ctx, key, k) != 1)
    return VG_ENOMEM;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen < 12)
    return VG_ENOMEM;
  static const char hex[] = "0123456789abcdef";
  char digest[25];
  for (int i = 0; i < 12; i++) {
    digest[2 * i] = hex[md[i] >> 4];
    digest[2 * i + 1] = hex[md[i] & 15];
  }
  digest[24] = '\0';
  size_t fl = strlen(s->msg.id_flight);
  if (fl + 1 + sizeof digest > cap)
    return VG_EINVAL;
  memcpy(out, s->msg.id_flight, fl);
  out[fl] = '/';
  memcpy(out + fl + 1, digest, sizeof digest);
  return VG_OK;
}

static void doc_json(struct obuf *w, const struct pool *pool,
                     const struct doc *d) {
  bool any = false;
  o_raw(w, "{", 1);
  MEMBER(w, &any, "type", pool, d->type);
  MEMBER(w, &any, "number", pool, d->number);
  MEMBER(w, &any, "issuing_country", pool, d->issuing);
  MEMBER(w, &any, "expiry", pool, d->expiry);
  o_raw(w, "}", 1);
}

static int build_record(struct px_source *s, struct obuf *w) {
  const struct traveller *t = &s->trav;
  const struct pool *tp = &t->pool;
  char id[160];
  int rc = make_id(s, id, sizeof id);
  if (rc != VG_OK)
    return rc;
  bool any = false;
  o_raw(w, "{\"kind\":\"travel\"", 16);
  any = true;
  /* The id, the time and the role need no escaping; the source was
   * escaped once, at UNB. */
  KEY(w, &any, "id");
  o_quoted(w, id, strlen(id));
  KEY(w, &any, "source");
  o_raw(w, s->source_json.data, s->source_json.len);
  if (s->msg.departure_at[0]) {
    KEY(w, &any, "observed_at");
    o_quoted(w, s->msg.departure_at, strlen(s->msg.departure_at));
  }

  bool tany = false;
  KEY(w, &any, "traveller");
  o_raw(w, "{", 1);
  KEY(w, &tany, "role");
  o_quoted(w, role_names[t->role], strlen(role_names[t->role]));
  MEMBER(w, &tany, "surname", tp, t->surname);
  MEMBER(w, &tany, "given_names", tp, t->given);
  MEMBER(w, &tany, "sex", tp, t->sex);
  MEMBER(w, &tany, "birth_date", tp, t->birth);
  MEMBER(w, &tany, "nationality", tp, t->nationality);
  MEMBER(w, &tany, "birth_place", tp, t->birth_place);
  MEMBER(w, &tany, "residence_country", tp, t->residence);
  MEMBER(w, &tany, "address", tp, t->address);
  MEMBER(w, &tany, "port_embark", tp, t->embark);
  MEMBER(w, &tany, "port_debark", tp, t->debark);
  MEMBER(w, &tany, "seat", tp, t->seat);
  const struct doc *main = main_doc(t);
  if (main) {
    KEY(w, &tany, "document");
    doc_json(w, tp, main);
    KEY(w, &tany, "documents");
    o_raw(w, "[", 1);
    for (size_t i = 0; i < t->ndocs; i++) {
      if (i)
        o_raw(w, ",", 1);
      doc_json(w, tp, &t->docs[i]);
    }
    o_raw(w, "]", 1);
  }
  o_raw(w, "}", 1);

  if (t->booking.len || t->pax_ref.len) {
    bool bany = false;
    KEY(w, &any, "booking");
    o_raw(w, "{", 1);
    MEMBER(w, &bany, "reference", tp, t->booking);
    MEMBER(w, &bany, "passenger_ref", tp, t->pax_ref);
    o_raw(w, "}", 1);
  }
  /* The flight and the reporting party are the same for every record of
   * the message: written once, copied here. */
  KEY(w, &any, "flight");
  o_raw(w, s->msg.flight.data, s->msg.flight.len);
  if (s->msg.report.len) {
    KEY(w, &any, "report");
    o_raw(w, s->msg.report.data, s->msg.report.len);
  }
  o_raw(w, "}", 1);
  return w->failed ? VG_ENOMEM : VG_OK;
}

/* Ends the open traveller group: a record, or a reject when it could not
 * be read. cut names why the group ends early (NULL when it ended well). */
static int close_traveller(struct px_source *s, const char *cut) {
  struct traveller *t = &s->trav;
  if (!t->open)
    return VG_OK;
  t->open = false;
  if (cut && !t->bad) {
    t->bad = true;
    seg_where(s, t->bad_where, sizeof t->bad_where);
    snprintf(t->reason, sizeof t->reason, "%s", cut);
  }
  if (!t->bad && s->msg.flight_fault[0]) {
    t->bad = true;
    where3(t->bad_where, s->msg.index, t->seg, t->line);
    snprintf(t->reason, sizeof t->reason, "%s", s->msg.flight_fault);
  }
  if (t->bad) {
    struct qitem *it = push(s, VG_ITEM_REJECT, s->msg.index);
    if (!it)
      return VG_ENOMEM;
    memcpy(it->where, t->bad_where, sizeof it->where);
    memcpy(it->reason, t->reason, sizeof it->reason);
    return set_raw(it, t->raw, t->raw_len);
  }
  struct qitem *it = push(s, VG_ITEM_RECORD, s->msg.index);
  if (!it)
    return VG_ENOMEM;
  where3(it->where, s->msg.index, t->seg, t->line);
  return build_record(s, &it->json);
}

static int open_traveller(struct px_source *s, enum role role) {
  struct message *m = &s->msg;
  if (!m->travellers_started) {
    int rc = freeze_flight(s);
    if (rc != VG_OK)
      return rc;
  }
  struct traveller *t = &s->trav;
  trav_reset(t);
  t->open = true;
  t->role = role;
  t->seg = m->segs;
  t->line = s->seg.line;
  if (role == ROLE_PASSENGER || role == ROLE_TRANSIT_PASSENGER)
    m->passengers++;
  else
    m->crew++;
  t->ordinal = m->passengers + m->crew;
  const struct segment *sg = &s->seg;
  int rc = comp_put(s, &s->trav.pool, sg, 4, 0, &t->surname);
  if (rc == VG_OK)
    rc = tjoin(s, sg, 4, 1, 8, " ", &t->given);
  if (rc == VG_OK) {
    /* The address: street, city, region, postcode, country. */
    char buf[1024];
    size_t len = 0;
    for (uint32_t e = 5; e <= 9; e++) {
      for (uint32_t c = 0; c < (e == 5 ? 4u : 1u); c++) {
        const char *p;
        size_t n;
        comp_get(sg, e, c, &p, &n);
        while (n && *p == ' ') {
          p++;
          n--;
        }
        while (n && p[n - 1] == ' ')
          n--;
        if (!n || len + n + 2 > sizeof buf)
          continue;
        if (len) {
          memcpy(buf + len, ", ", 2);
          len += 2;
        }
        memcpy(buf + len, p, n);
        len += n;
      }
    }
    rc = pool_put(&t->pool, buf, len, s->latin1, &t->address);
  }
  return rc;
}

/* ------------------------------------------------------------ messages */

static void message_reset(struct message *m) {
  /* Buffers are kept for the next message. */
  struct message keep = *m;
  memset(m, 0, sizeof *m);
  m->pool = keep.pool;
  m->pool.len = 0;
  m->legs = keep.legs;
  m->legs_cap = keep.legs_cap;
  m->stops = keep.stops;
  m->stops_cap = keep.stops_cap;
  m->nums = keep.nums;
  m->nums_cap = keep.nums_cap;
  m->flight = keep.flight;
  m->report = keep.report;
  o_reset(&m->flight);
  o_reset(&m->report);
}

static const char *const cut_no_unt =
    "the message ends (no UNT) inside this traveller group: it may be cut "
    "off, so it is not read";

/* Closes a message that has no UNT. */
static int close_message_unended(struct px_source *s, const char *why) {
  if (!s->msg.open)
    return VG_OK;
  int rc = close_traveller(s, cut_no_unt);
  if (rc == VG_OK)
    rc = warn(s, "message %ld has no UNT (%s)", s->msg.index, why);
  message_reset(&s->msg);
  return rc;
}

static bool parse_count(const char *p, size_t n, long *out) {
  if (!all_digits(p, n) || n > 15)
    return false;
  long v = 0;
  for (size_t i = 0; i < n; i++)
    v = v * 10 + (p[i] - '0');
  *out = v;
  return true;
}

/* Checks a count a segment declares against the one seen. */
static int check_count(struct px_source *s, const struct segment *sg,
                       uint32_t e, uint32_t c, long seen, const char *what) {
  const char *p;
  size_t n;
  comp_get(sg, e, c, &p, &n);
  long declared;
  if (n == 0)
    return warn(s, "%s gives no count (%s seen)", sg->tag, what);
  if (!parse_count(p, n, &declared))
    return warn(s, "%s count '%.*s' is not a number", sg->tag,
                (int)(n < 32 ? n : 32), p);
  if (declared != seen)
    return warn(s, "%s says %ld, but %s", sg->tag, declared, what);
  return VG_OK;
}

static int on_unh(struct px_source *s, const struct segment *sg) {
  int rc = close_message_unended(s, "a new UNH follows");
  if (rc != VG_OK)
    return rc;
  struct message *m = &s->msg;
  message_reset(m);
  m->open = true;
  m->index = ++s->messages;
  s->place_warnings = 0;
  m->segs = 1;
  if (s->in_ic)
    s->ic_messages++;
  if (s->in_group)
    s->group_messages++;
  const char *ref;
  size_t ref_len;
  comp_get(sg, 1, 0, &ref, &ref_len);
  m->ref_len = ref_len < sizeof m->ref ? ref_len : sizeof m->ref;
  memcpy(m->ref, ref, m->ref_len);
  if (!s->in_ic && !s->after_unz)
    rc = warn(s, "message %ld is outside an interchange (no UNB before it)",
              m->index);
  else if (!s->in_ic)
    rc = warn(s, "message %ld comes after UNZ, outside any interchange",
              m->index);
  if (rc != VG_OK)
    return rc;
  if (!comp_is(sg, 2, 0, "PAXLST")) {
    const char *t;
    size_t tn;
    comp_get(sg, 2, 0, &t, &tn);
    m->skip = true;
    return warn(s, "message %ld is a '%.*s' message, not PAXLST: skipped",
                m->index, (int)(tn < 16 ? tn : 16), t);
  }
  const char *v, *r;
  size_t vn, rn;
  comp_get(sg, 2, 1, &v, &vn);
  comp_get(sg, 2, 2, &r, &rn);
  if (!(vn == 1 && v[0] == 'D' && rn == 3 &&
        (memcmp(r, "02B", 3) == 0 || memcmp(r, "05B", 3) == 0)))
    return warn(s, "message %ld uses directory %.*s:%.*s, read as D:02B",
                m->index, (int)(vn < 8 ? vn : 8), v, (int)(rn < 8 ? rn : 8), r);
  return VG_OK;
}

static int on_unt(struct px_source *s, const struct segment *sg) {
  struct message *m = &s->msg;
  int rc = close_traveller(s, NULL);
  if (rc != VG_OK)
    return rc;
  char what[64];
  snprintf(what, sizeof what, "message %ld has %ld segments from UNH to UNT",
           m->index, m->segs);
  rc = check_count(s, sg, 1, 0, m->segs, what);
  const char *p;
  size_t n;
  comp_get(sg, 2, 0, &p, &n);
  if (n > sizeof m->ref)
    n = sizeof m->ref;
  if (rc == VG_OK && (n != m->ref_len || memcmp(p, m->ref, n) != 0))
    rc = warn(s, "UNT message reference '%.*s' differs from UNH's '%.*s'",
              (int)n, p, (int)m->ref_len, m->ref);
  message_reset(m);
  return rc;
}

/* One CNT count against the groups read; a mismatch is a warning. */
static int check_cnt(struct px_source *s, const struct segment *sg,
                     const char *code, long counted, const char *who,
                     const char *group, const char *segments) {
  const struct message *m = &s->msg;
  const char *p;
  size_t n;
  comp_get(sg, 1, 1, &p, &n);
  long declared;
  if (!parse_count(p, n, &declared))
    return warn(s, "CNT+%s count '%.*s' is not a number", code,
                (int)(n < 32 ? n : 32), p);
  if (declared != counted)
    return warn(s, "CNT+%s says %ld %s but message %ld has %ld %s groups (%s)",
                code, declared, who, m->index, counted, group, segments);
  return VG_OK;
}

static int on_cnt(struct px_source *s, const struct segment *sg) {
  struct message *m = &s->msg;
  int rc = close_traveller(s, NULL);
  m->other_party = false;
  if (rc != VG_OK)
    return rc;
  if (comp_is(sg, 1, 0, "42"))
    return check_cnt(s, sg, "42", m->passengers, "passengers", "passenger",
                     "NAD+FL, NAD+DDU");
  if (comp_is(sg, 1, 0, "41"))
    return check_cnt(s, sg, "41", m->crew, "crew", "crew", "NAD+FM, NAD+DDT");
  return VG_OK;
}

static int on_nad(struct px_source *s, const struct segment *sg) {
  struct message *m = &s->msg;
  static const struct {
    const char *code;
    enum role role;
  } roles[] = {{"FL", ROLE_PASSENGER},
               {"FM", ROLE_CREW},
               {"DDU", ROLE_TRANSIT_PASSENGER},
               {"DDT", ROLE_TRANSIT_CREW}};
  for (size_t i = 0; i < 4; i++) {
    if (comp_is(sg, 1, 0, roles[i].code)) {
      int rc = close_traveller(s, NULL);
      m->other_party = false;
      if (rc == VG_OK)
        rc = open_traveller(s, roles[i].role);
      if (rc == VG_OK)
        trav_keep_raw(s);
      return rc;
    }
  }
  if (comp_is(sg, 1, 0, "MS")) {
    if (m->travellers_started)
      return warn_place(s, "NAD+MS (reporting party) after the travellers; "
                           "ignored");
    char buf[512];
    size_t len = 0;
    for (uint32_t c = 0; c < 5; c++) {
      const char *p;
      size_t n;
      comp_get(sg, 4, c, &p, &n);
      if (!n || len + n + 1 > sizeof buf)
        continue;
      if (len)
        buf[len++] = ' ';
      memcpy(buf + len, p, n);
      len += n;
    }
    if (len == 0) {
      const char *p;
      size_t n;
      comp_get(sg, 3, 0, &p, &n);
      if (n < sizeof buf) {
        memcpy(buf, p, n);
        len = n;
      }
    }
    return pool_put(&m->pool, buf, len, s->latin1, &m->party);
  }
  const char *q;
  size_t qn;
  comp_get(sg, 1, 0, &q, &qn);
  if (m->travellers_started || s->trav.open) {
    int rc = close_traveller(s, NULL);
    if (rc != VG_OK)
      return rc;
    m->other_party = true;
    return warn_place(s,
                      "NAD+%.*s is not a traveller group (FL, FM, DDU, DDT); "
                      "its segments are ignored",
                      (int)(qn < 8 ? qn : 8), q);
  }
  return VG_OK;
}

static int on_com(struct px_source *s, const struct segment *sg) {
  struct message *m = &s->msg;
  if (s->trav.open || m->travellers_started)
    return VG_OK;
  for (size_t i = 0; i < sg->nels; i++) {
    const struct elem *el = &sg->els[i];
    if (el->no == 0 || el->n == 0)
      continue;
    const struct comp *num = &sg->comps[el->first];
    const char *kind = "";
    size_t kn = 0;
    if (el->n > 1) {
      kind = sg->text + sg->comps[el->first + 1].off;
      kn = sg->comps[el->first + 1].len;
    }
    struct str v;
    int rc = pool_put(&m->pool, sg->text + num->off, num->len, s->latin1, &v);
    if (rc != VG_OK)
      return rc;
    if (v.len == 0)
      continue;
    if (kn == 2 && memcmp(kind, "TE", 2) == 0 && m->phone.len == 0)
      m->phone = v;
    else if (kn == 2 && memcmp(kind, "FX", 2) == 0 && m->fax.len == 0)
      m->fax = v;
    if (GROW(m->nums, m->nums_cap, m->nnums + 1) != VG_OK)
      return VG_ENOMEM;
    struct comnum *cn = &m->nums[m->nnums++];
    cn->number = v;
    rc = pool_put(&m->pool, kind, kn, s->latin1, &cn->type);
    if (rc != VG_OK)
      return rc;
  }
  return VG_OK;
}

static bool traveller_tag(const struct segment *sg) {
  return sg->code == TAG3("ATT") || sg->code == TAG3("NAT") ||
         sg->code == TAG3("DOC");
}

static int dispatch(struct px_source *s, const struct segment *sg);

/* A segment between UNH and UNT. */
static int message_segment(struct px_source *s, const struct segment *sg) {
  struct message *m = &s->msg;
  struct traveller *t = &s->trav;
  if (m->skip)
    return VG_OK;
  if (!sg->tag_ok) {
    if (!t->open)
      return warn_place(s, "'%.*s' is not a segment; ignored",
                        (int)(sg->raw_len < 24 ? sg->raw_len : 24), sg->raw);
    trav_keep_raw(s);
    trav_fault(s, "'%.*s' is not a segment: the traveller group is damaged",
               (int)(sg->raw_len < 24 ? sg->raw_len : 24), sg->raw);
    return VG_OK;
  }
  int rc = dispatch(s, sg);
  /* A segment cut off by the end of the input spoils the group it
   * belongs to (for a NAD, the group it opens). */
  if (rc == VG_OK && sg->unterminated && t->open)
    trav_fault(s,
               "the input ends inside segment %s: the traveller group is "
               "cut off",
               sg->tag);
  return rc;
}

static int dispatch(struct px_source *s, const struct segment *sg) {
  struct message *m = &s->msg;
  struct traveller *t = &s->trav;
  if (t->open && sg->code != TAG3("NAD") && sg->code != TAG3("CNT"))
    trav_keep_raw(s);
  if (sg->code == TAG3("NAD"))
    return on_nad(s, sg);
  if (sg->code == TAG3("CNT"))
    return on_cnt(s, sg);
  if (sg->code == TAG3("TDT") ||
      (!t->open && !m->travellers_started &&
       (sg->code == TAG3("LOC") || sg->code == TAG3("DTM")))) {
    if (m->travellers_started) {
      if (m->flight_late_warned)
        return VG_OK;
      m->flight_late_warned = true;
      return warn_place(s,
                        "TDT after the traveller groups: this flight leg and "
                        "its LOC and DTM are ignored (flight details come "
                        "before the travellers)");
    }
    return flight_segment(s, sg);
  }
  if (sg->code == TAG3("COM"))
    return on_com(s, sg);
  if (sg->code == TAG3("BGM")) {
    const char *p;
    size_t n;
    comp_get(sg, 1, 0, &p, &n);
    const char *list = n == 3 && memcmp(p, "745", 3) == 0   ? "passengers"
                       : n == 3 && memcmp(p, "250", 3) == 0 ? "crew"
                                                            : NULL;
    if (list)
      return pool_put(&m->pool, list, strlen(list), false, &m->list);
    return comp_put(s, &s->msg.pool, sg, 1, 0, &m->list);
  }
  if (t->open)
    return trav_segment(s, sg);
  if (m->other_party)
    return VG_OK; /* the group of a NAD already warned about */
  if (m->travellers_started &&
      (sg->code == TAG3("LOC") || sg->code == TAG3("DTM")))
    return VG_OK; /* part of a late TDT, already warned about */
  if (traveller_tag(sg) ||
      (sg->code == TAG3("RFF") &&
       (comp_is(sg, 1, 0, "AVF") || comp_is(sg, 1, 0, "SEA") ||
        comp_is(sg, 1, 0, "ABO"))))
    return warn_place(s,
                      "%s belongs in a traveller group (NAD+FL, FM, DDU or "
                      "DDT) but comes outside one; ignored",
                      sg->tag);
  return VG_OK; /* RFF+TN, DTM+137, FTX, ...: nothing a record needs */
}

/* --------------------------------------------------------- interchange */

static int close_interchange_unended(struct px_source *s, const char *why) {
  if (!s->in_ic)
    return VG_OK;
  int rc = close_message_unended(s, why);
  s->in_ic = false;
  if (rc == VG_OK)
    rc = warn(s, "interchange %ld has no UNZ (%s)", s->ic_index, why);
  return rc;
}

static int on_unb(struct px_source *s, const struct segment *sg) {
  int rc = close_interchange_unended(s, "a new UNB follows");
  if (rc != VG_OK)
    return rc;
  s->in_ic = true;
  s->after_unz = false;
  s->junk_warned = false;
  s->in_group = false;
  s->ic_index++;
  s->ic_messages = 0;
  s->ic_groups = 0;
  s->group_messages = 0;
  s->latin1 = comp_is(sg, 1, 0, "UNOC");
  const char *p;
  size_t n;
  comp_get(sg, 2, 0, &p, &n);
  snprintf(s->sender, sizeof s->sender, "%.*s", (int)(n < 60 ? n : 60), p);
  if (s->sender[0] && valid_utf8(s->sender, strlen(s->sender)))
    snprintf(s->source, sizeof s->source, "paxlst:%s", s->sender);
  else
    snprintf(s->source, sizeof s->source, "paxlst");
  vg_text_sanitize(s->source);
  o_reset(&s->source_json);
  o_str(&s->source_json, s->source, strlen(s->source));
  if (s->source_json.failed)
    return VG_ENOMEM;
  comp_get(sg, 4, 0, &p, &n);
  struct ymdhm v;
  s->ic_y = 0;
  if (parse_edi_date(p, n, "", 0, PIVOT_FLIGHT, 0, 0, 0, &v)) {
    s->ic_y = v.y;
    s->ic_m = v.m;
    s->ic_d = v.d;
  }
  return VG_OK;
}

static int on_unz(struct px_source *s, const struct segment *sg) {
  int rc = close_message_unended(s, "UNZ follows");
  if (rc != VG_OK)
    return rc;
  if (!s->in_ic) {
    rc = warn(s, "UNZ without UNB");
  } else {
    /* The count is of groups when the interchange has groups, else of
     * messages. */
    char what[80];
    long seen = s->ic_groups ? s->ic_groups : s->ic_messages;
    snprintf(what, sizeof what, "interchange %ld has %ld %s", s->ic_index, seen,
             s->ic_groups ? "groups (UNG)" : "messages");
    rc = check_count(s, sg, 1, 0, seen, what);
  }
  s->in_ic = false;
  s->after_unz = true;
  s->junk_warned = false;
  set_seps(s, &default_seps);
  return rc;
}

static int on_segment(struct px_source *s) {
  struct segment *sg = &s->seg;
  if (s->msg.open)
    s->msg.segs++;
  if (sg->tag_ok && sg->code == TAG3("UNA"))
    return VG_OK;
  if (sg->tag_ok && sg->code == TAG3("UNB"))
    return on_unb(s, sg);
  if (sg->tag_ok && sg->code == TAG3("UNZ"))
    return on_unz(s, sg);
  if (sg->tag_ok && sg->code == TAG3("UNH"))
    return on_unh(s, sg);
  if (sg->tag_ok && sg->code == TAG3("UNG")) {
    int rc = close_message_unended(s, "UNG follows");
    s->in_group = true;
    s->group_messages = 0;
    s->ic_groups++;
    return rc;
  }
  if (sg->tag_ok && sg->code == TAG3("UNE")) {
    int rc = close_message_unended(s, "UNE follows");
    if (rc == VG_OK && s->in_group) {
      char what[48];
      snprintf(what, sizeof what, "the group has %ld messages",
               s->group_messages);
      rc = check_count(s, sg, 1, 0, s->group_messages, what);
    }
    s->in_group = false;
    return rc;
  }
  if (s->msg.open) {
    if (sg->tag_ok && sg->code == TAG3("UNT"))
      return on_unt(s, sg);
    return message_segment(s, sg);
  }
  /* Outside any message. */
  if (s->after_unz) {
    if (s->junk_warned)
      return VG_OK;
    s->junk_warned = true;
    return warn(s, "text after UNZ; ignored");
  }
  if (s->msg.outside_warned)
    return VG_OK;
  s->msg.outside_warned = true;
  if (sg->tag_ok && sg->code == TAG3("UNT"))
    return warn(s, "UNT without UNH; ignored");
  return warn(s, "%s outside any message (UNH ... UNT); ignored",
              sg->tag_ok ? sg->tag : "text that is not a segment");
}

/* -------------------------------------------------------------- reading */

static int fill(struct px_source *s) {
  if (s->start > 0) {
    memmove(s->buf, s->buf + s->start, s->end - s->start);
    s->end -= s->start;
    s->start = 0;
  }
  if (s->cap - s->end < 65536) {
    size_t cap = s->cap * 2;
    char *grown = realloc(s->buf, cap);
    if (!grown)
      return VG_ENOMEM;
    s->buf = grown;
    s->cap = cap;
  }
  size_t got = fread(s->buf + s->end, 1, s->cap - s->end, s->in);
  s->end += got;
  if (got == 0) {
    if (ferror(s->in))
      return VG_EIO;
    s->eof = true;
  }
  return VG_OK;
}

static size_t count_lines(const char *p, size_t n) {
  size_t k = 0;
  const char *end = p + n;
  while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
    k++;
    p++;
  }
  return k;
}

/* Reads the next segment into s->seg. Returns 1, 0 at the end of the
 * input, or a negative code. */
static int read_segment(struct px_source *s) {
  struct segment *sg = &s->seg;
  /* White space and line breaks between segments. */
  for (;;) {
    while (s->start < s->end) {
      char c = s->buf[s->start];
      if (c == '\n')
        s->line++;
      else if (c != ' ' && c != '\r' && c != '\t' && c != '\0' && c != '\x1a')
        break;
      s->start++;
    }
    if (s->start < s->end)
      break;
    if (s->eof)
      return 0;
    int rc = fill(s);
    if (rc != VG_OK)
      return rc;
  }
  /* A byte order mark before UNA or UNB. */
  while (s->end - s->start < 9 && !s->eof) {
    int rc = fill(s);
    if (rc != VG_OK)
      return rc;
  }
  if (s->end - s->start >= 3 &&
      memcmp(s->buf + s->start, "\xEF\xBB\xBF", 3) == 0) {
    s->start += 3;
    return read_segment(s);
  }
  sg->line = s->line;
  sg->unterminated = sg->overlong = false;
  if (s->end - s->start >= 9 && memcmp(s->buf + s->start, "UNA", 3) == 0) {
    const char *u = s->buf + s->start + 3;
    struct seps sp = {u[0], u[1], u[2], u[3], u[4] == ' ' ? 0 : u[4], u[5]};
    sg->raw = s->buf + s->start;
    sg->raw_len = 9;
    s->start += 9;
    memcpy(sg->tag, "UNA", 4);
    sg->tag_ok = true;
    sg->code = TAG3("UNA");
    sg->nels = sg->ncomps = sg->nel_first = 0;
    bool distinct = sp.comp != sp.elem && sp.comp != sp.term &&
                    sp.elem != sp.term && sp.rel != sp.comp &&
                    sp.rel != sp.elem && sp.rel != sp.term &&
                    (!sp.rep || (sp.rep != sp.comp && sp.rep != sp.elem &&
                                 sp.rep != sp.term && sp.rep != sp.rel));
    if (!distinct) {
      int rc = s->in_ic ? close_interchange_unended(s, "UNA follows") : VG_OK;
      if (rc == VG_OK)
        rc = warn(s,
                  "UNA service string '%.6s' repeats a separator; the "
                  "default separators are used",
                  u);
      set_seps(s, &default_seps);
      return rc == VG_OK ? 1 : rc;
    }
    if (s->in_ic) {
      int rc = close_interchange_unended(s, "UNA follows");
      if (rc != VG_OK)
        return rc;
    }
    set_seps(s, &sp);
    return 1;
  }
  /* Find the terminator that no release character escapes. */
  size_t from = s->start;
  for (;;) {
    const char *q = memchr(s->buf + from, s->sp.term, s->end - from);
    if (q) {
      size_t k = 0;
      while (q - k - 1 >= s->buf + s->start &&
             q[-(ptrdiff_t)k - 1] == s->sp.rel)
        k++;
      if (k % 2 == 1) {
        from = (size_t)(q - s->buf) + 1;
        continue;
      }
      size_t len = (size_t)(q - (s->buf + s->start));
      if (len > MAX_SEGMENT)
        sg->overlong = true;
      sg->raw = s->buf + s->start;
      sg->raw_len = len;
      if (s->sp.term == '\n' && len && sg->raw[len - 1] == '\r')
        sg->raw_len--;
      s->line += (long)count_lines(sg->raw, len);
      s->start += len + 1;
      if (s->sp.term == '\n')
        s->line++;
      break;
    }
    if (s->eof) {
      sg->raw = s->buf + s->start;
      sg->raw_len = s->end - s->start;
      sg->unterminated = true;
      s->line += (long)count_lines(sg->raw, sg->raw_len);
      s->start = s->end;
      break;
    }
    size_t done = from - s->start;
    if (s->end - s->start > MAX_SEGMENT) {
      /* Not a segment: keep its start for the excerpt and discard the
       * rest up to the next terminator. */
      if (!s->long_raw && !(s->long_raw = malloc(VG_RAW_EXCERPT)))
        return VG_ENOMEM;
      memcpy(s->long_raw, s->buf + s->start, VG_RAW_EXCERPT);
      s->line += (long)count_lines(s->buf + s->start, s->end - s->start);
      s->start = s->end;
      for (;;) {
        int rc = fill(s);
        if (rc != VG_OK)
          return rc;
        const char *t =
            memchr(s->buf + s->start, s->sp.term, s->end - s->start);
        size_t upto = t ? (size_t)(t - s->buf) + 1 : s->end;
        s->line += (long)count_lines(s->buf + s->start, upto - s->start);
        s->start = upto;
        if (t || s->eof)
          break;
      }
      sg->raw = s->long_raw;
      sg->raw_len = VG_RAW_EXCERPT;
      sg->overlong = true;
      break;
    }
    int rc = fill(s);
    if (rc != VG_OK)
      return rc;
    from = s->start + done;
  }
  if (sg->overlong) {
    sg->nels = sg->ncomps = sg->nel_first = 0;
    sg->tag_ok = false;
    sg->code = 0;
    memset(sg->tag, 0, sizeof sg->tag);
    return 1;
  }
  int rc = split_segment(sg, &s->sp, s->special, sg->raw, sg->raw_len);
  return rc == VG_OK ? 1 : rc;
}

static int finish(struct px_source *s) {
  s->done = true;
  if (s->msg.open) {
    int rc = close_traveller(s, "the input ends (no UNT) inside this "
                                "traveller group: it may be cut off, so it "
                                "is not read");
    if (rc != VG_OK)
      return rc;
    rc = warn(s, "message %ld has no UNT: the input ends", s->msg.index);
    message_reset(&s->msg);
    if (rc != VG_OK)
      return rc;
  }
  if (s->in_ic) {
    s->in_ic = false;
    return warn(s, "interchange %ld has no UNZ: the input ends", s->ic_index);
  }
  return VG_OK;
}

static int px_next(struct vg_source *base, struct vg_source_item *item) {
  struct px_source *s = (struct px_source *)base;
  while (s->qpos == s->qlen) {
    s->qpos = s->qlen = 0;
    if (s->done)
      return 0;
    int rc = read_segment(s);
    if (rc < 0)
      return rc;
    if (rc == 1 && s->seg.raw_len == 0)
      continue; /* an empty segment ('' in a row) says nothing */
    rc = rc == 0 ? finish(s) : on_segment(s);
    if (rc != VG_OK)
      return rc;
  }
  const struct qitem *it = &s->q[s->qpos++];
  item->type = it->type;
  item->line = it->line;
  memcpy(item->where, it->where, sizeof item->where);
  if (it->type == VG_ITEM_RECORD) {
    item->json = it->json.data;
    item->json_len = it->json.len;
    item->reason[0] = '\0';
    item->raw = NULL;
    item->raw_len = 0;
  } else {
    item->json = NULL;
    item->json_len = 0;
    memcpy(item->reason, it->reason, sizeof item->reason);
    item->raw = it->raw;
    item->raw_len = it->raw_len;
  }
  return 1;
}

static void px_free(struct vg_source *base) {
  struct px_source *s = (struct px_source *)base;
  free(s->msg.pool.buf);
  free(s->msg.nums);
  o_close(&s->source_json);
  o_close(&s->msg.flight);
  o_close(&s->msg.report);
  free(s->msg.legs);
  free(s->msg.stops);
  free(s->trav.pool.buf);
  free(s->trav.docs);
  for (size_t i = 0; i < s->qcap; i++) {
    o_close(&s->q[i].json);
    free(s->q[i].raw);
  }
  free(s->q);
  free(s->seg.text);
  free(s->seg.comps);
  free(s->seg.els);
  free(s->seg.el_first);
  free(s->long_raw);
  free(s->buf);
  EVP_MD_CTX_free(s->md_ctx);
  EVP_MD_free(s->md);
  free(s);
}

static const struct vg_source_ops px_ops = {px_next, px_free};

struct vg_source *vg_source_paxlst_new(FILE *in, const char *name) {
  struct px_source *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->base.ops = &px_ops;
  s->base.name = name;
  s->in = in;
  s->line = 1;
  set_seps(s, &default_seps);
  snprintf(s->source, sizeof s->source, "paxlst");
  o_str(&s->source_json, s->source, strlen(s->source));
  s->cap = 256 * 1024;
  s->buf = malloc(s->cap);
  s->md = EVP_MD_fetch(NULL, "SHA256", NULL);
  s->md_ctx = EVP_MD_CTX_new();
  if (!s->buf || !s->md || !s->md_ctx || s->source_json.failed) {
    px_free(&s->base);
    return NULL;
  }
  return &s->base;
}
