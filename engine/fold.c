/* fold.c - text normalisation for comparisons: Unicode folding (utf8proc),
 * phone, e-mail and name keys, Jaro-Winkler name similarity, fuzzy lists and
 * read-only string sets. */
#include "fold.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Case folding and compatibility decomposition with marks stripped; default
 * ignorables (soft hyphen, zero-width joiners) go too, since they are
 * invisible and would otherwise make equal-looking names differ. */
#define FOLD_OPTIONS                                                           \
  (UTF8PROC_CASEFOLD | UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE |                  \
   UTF8PROC_STRIPMARK | UTF8PROC_IGNORE)

/* Longest folded form of one code point is 18 (U+FDFA) in the Unicode data
 * utf8proc ships; the slack covers future tables. */
#define DECOMP_MAX 32

#define BAG_BUCKETS 32

/* Where folded output goes: bytes past cap are counted but not written, which
 * gives the "returns the needed size" contract for free. */
struct sink {
  char *out;
  size_t cap;
  size_t len;
  bool space; /* a separator is owed before the next character */
};

static inline void sink_byte(struct sink *k, unsigned char c) {
  if (k->len < k->cap)
    k->out[k->len] = (char)c;
  k->len++;
}

/* Emits one non-space character's bytes, preceded by the owed separator.
 * Leading white space never owes one because nothing has been written yet. */
static inline void sink_char(struct sink *k, const unsigned char *bytes,
                             size_t n) {
  if (k->space) {
    sink_byte(k, ' ');
    k->space = false;
  }
  for (size_t i = 0; i < n; i++)
    sink_byte(k, bytes[i]);
}

static inline void sink_space(struct sink *k) {
  k->space = k->len > 0;
}

static inline bool ascii_space(unsigned char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

/* The Unicode White_Space property outside ASCII. */
static bool unicode_space(utf8proc_int32_t cp) {
  if (cp == 0x85)
    return true;
  utf8proc_category_t cat = utf8proc_category(cp);
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
         cat == UTF8PROC_CATEGORY_ZP;
}

static inline unsigned char ascii_lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/* Decodes one code point from p[0..rem); returns its byte length, or 0 when
 * the bytes there are not valid UTF-8. */
static size_t decode(const unsigned char *p, size_t rem, utf8proc_int32_t *cp) {
  utf8proc_ssize_t n =
      utf8proc_iterate(p, rem < 4 ? (utf8proc_ssize_t)rem : 4, cp);
  return n > 0 ? (size_t)n : 0;
}

static void fold_codepoint(struct sink *k, utf8proc_int32_t cp) {
  if (cp < 0x80) {
    unsigned char c = (unsigned char)cp;
    if (ascii_space(c))
      sink_space(k);
    else
      sink_char(k, &c, 1);
    return;
  }
  if (unicode_space(cp)) {
    sink_space(k);
    return;
  }
  unsigned char bytes[4];
  utf8proc_ssize_t n = utf8proc_encode_char(cp, bytes);
  sink_char(k, bytes, (size_t)n);
}

/* Folds the character starting at p (not ASCII) and returns how many input
 * bytes it took. */
static size_t fold_nonascii(struct sink *k, const unsigned char *p,
                            size_t rem) {
  utf8proc_int32_t cp;
  size_t n = decode(p, rem, &cp);
  if (n == 0) {
    sink_char(k, p, 1);
    return 1;
  }
  utf8proc_int32_t buf[DECOMP_MAX];
  int boundclass = 0;
  utf8proc_ssize_t m =
      utf8proc_decompose_char(cp, buf, DECOMP_MAX, FOLD_OPTIONS, &boundclass);
  if (m < 0 || m > DECOMP_MAX) {
    sink_char(k, p, n);
    return n;
  }
  /* Decomposing one code point at a time skips the canonical reordering a
   * whole-string decomposition does; it only moves combining marks, which
   * are stripped here anyway. */
  for (utf8proc_ssize_t i = 0; i < m; i++)
    fold_codepoint(k, buf[i]);
  return n;
}

size_t vg_fold(const char *s, size_t len, char *out, size_t cap) {
  struct sink k = {out, cap, 0, false};
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    unsigned char c = p[i];
    if (c < 0x80) {
      if (ascii_space(c)) {
        sink_space(&k);
      } else {
        c = ascii_lower(c);
        sink_char(&k, &c, 1);
      }
      i++;
    } else {
      i += fold_nonascii(&k, p + i, len - i);
    }
  }
  return k.len;
}

bool vg_is_ascii(const char *s, size_t len) {
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    if (w & UINT64_C(0x8080808080808080))
      return false;
  }
  for (; i < len; i++)
    if ((unsigned char)s[i] & 0x80)
      return false;
  return true;
}

/* ---- phone keys ---------------------------------------------------------- */

enum { PHONE_OTHER = -1, PHONE_PLUS = -2 };

/* The value of a decimal digit (category Nd). Unicode encodes every decimal
 * digit set as a contiguous run of ten starting at zero, so the value is the
 * distance from the start of the run, modulo ten for adjacent sets. */
static int digit_value(utf8proc_int32_t cp) {
  int back = 0;
  while (back < 100 && utf8proc_category(cp - back - 1) == UTF8PROC_CATEGORY_ND)
    back++;
  return back % 10;
}

/* Classifies the character at p: a digit value, PHONE_PLUS or PHONE_OTHER;
 * *used gets its byte length. */
static int phone_char(const unsigned char *p, size_t rem, size_t *used) {
  if (p[0] < 0x80) {
    *used = 1;
    if (p[0] >= '0' && p[0] <= '9')
      return p[0] - '0';
    return p[0] == '+' ? PHONE_PLUS : PHONE_OTHER;
  }
  utf8proc_int32_t cp;
  size_t n = decode(p, rem, &cp);
  if (n == 0) {
    *used = 1;
    return PHONE_OTHER;
  }
  *used = n;
  if (cp == 0xFF0B) /* fullwidth plus sign */
    return PHONE_PLUS;
  if (utf8proc_category(cp) == UTF8PROC_CATEGORY_ND)
    return digit_value(cp);
  return PHONE_OTHER;
}

size_t vg_phone_key(const char *s, size_t len, const char *country_code,
                    char *out, size_t cap) {
  const unsigned char *p = (const unsigned char *)s;
  int first = -1, second = -1;
  bool plus = false;
  size_t used;
  for (size_t i = 0; i < len && second < 0; i += used) {
    int c = phone_char(p + i, len - i, &used);
    if (c == PHONE_PLUS && first < 0)
      plus = true;
    else if (c >= 0 && first < 0)
      first = c;
    else if (c >= 0)
      second = c;
  }
  if (first < 0)
    return 0;
  size_t skip = (first == 0 && second == 0) ? 2 : 0;

  struct sink k = {out, cap, 0, false};
  if (country_code && !plus && skip == 0)
    for (const char *c = country_code; *c; c++)
      if (*c >= '0' && *c <= '9')
        sink_byte(&k, (unsigned char)*c);
  for (size_t i = 0; i < len; i += used) {
    int c = phone_char(p + i, len - i, &used);
    if (c < 0)
      continue;
    if (skip > 0)
      skip--;
    else
      sink_byte(&k, (unsigned char)('0' + c));
  }
  return k.len;
}

size_t vg_email_key(const char *s, size_t len, char *out, size_t cap) {
  return vg_fold(s, len, out, cap);
}

/* ---- name keys ----------------------------------------------------------- */

/* Every printable ASCII character that is neither a letter, a digit nor a
 * space is in a Unicode P* or S* category. */
static inline bool ascii_punct_or_symbol(unsigned char c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) ||
         (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

static bool punct_or_symbol(utf8proc_int32_t cp) {
  utf8proc_category_t cat = utf8proc_category(cp);
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_SO;
}

struct span {
  uint16_t off;
  uint16_t len;
};

static int span_cmp(const char *base, struct span a, struct span b) {
  size_t n = a.len < b.len ? a.len : b.len;
  int c = memcmp(base + a.off, base + b.off, n);
  if (c != 0)
    return c;
  return (a.len > b.len) - (a.len < b.len);
}

/* Shell sort: in place, no recursion, and no quadratic worst case for a name
 * made of hundreds of one-letter tokens. */
static void sort_spans(const char *base, struct span *v, size_t n) {
  static const size_t gaps[] = {132, 57, 23, 10, 4, 1};
  for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
    size_t gap = gaps[g];
    for (size_t i = gap; i < n; i++) {
      struct span x = v[i];
      size_t j = i;
      for (; j >= gap && span_cmp(base, v[j - gap], x) > 0; j -= gap)
        v[j] = v[j - gap];
      v[j] = x;
    }
  }
}

size_t vg_name_key(const char *s, size_t len, char *out, size_t cap) {
  /* Slack past the limit so the character straddling it can be seen. */
  char buf[VG_NAME_MAX_BYTES + 4];
  struct span tokens[VG_NAME_MAX_BYTES / 2 + 1];

  size_t n = vg_fold(s, len, buf, sizeof buf);
  if (n > VG_NAME_MAX_BYTES) {
    n = VG_NAME_MAX_BYTES;
    for (int back = 0; back < 3 && ((unsigned char)buf[n] & 0xC0) == 0x80;
         back++)
      n--;
  }

  /* Punctuation and symbols become spaces, in place: the text only shrinks. */
  size_t w = 0;
  for (size_t r = 0; r < n;) {
    unsigned char c = (unsigned char)buf[r];
    if (c < 0x80) {
      buf[w++] = ascii_punct_or_symbol(c) ? ' ' : (char)c;
      r++;
      continue;
    }
    utf8proc_int32_t cp;
    size_t m = decode((const unsigned char *)buf + r, n - r, &cp);
    if (m == 0) {
      buf[w++] = buf[r++];
      continue;
    }
    if (punct_or_symbol(cp)) {
      buf[w++] = ' ';
    } else {
      memmove(buf + w, buf + r, m);
      w += m;
    }
    r += m;
  }

  /* Folding left ' ' as the only white space. */
  size_t ntok = 0;
  for (size_t i = 0; i < w;) {
    while (i < w && buf[i] == ' ')
      i++;
    size_t start = i;
    while (i < w && buf[i] != ' ')
      i++;
    if (i > start) {
      assert(ntok < sizeof tokens / sizeof tokens[0]);
      tokens[ntok].off = (uint16_t)start;
      tokens[ntok].len = (uint16_t)(i - start);
      ntok++;
    }
  }
  sort_spans(buf, tokens, ntok);

  struct sink k = {out, cap, 0, false};
  for (size_t t = 0; t < ntok; t++) {
    if (t > 0)
      sink_byte(&k, ' ');
    for (size_t i = 0; i < tokens[t].len; i++)
      sink_byte(&k, (unsigned char)buf[tokens[t].off + i]);
  }
  return k.len;
}

/* ---- similarity ---------------------------------------------------------- */

/* Decodes up to max code points of s; an invalid byte becomes its negated
 * value so it still compares equal only to the same byte. Returns the count
 * stored. */
static size_t decode_key(const char *s, size_t len, int32_t *cps, size_t max) {
  const unsigned char *p = (const unsigned char *)s;
  size_t n = 0;
  for (size_t i = 0; i < len && n < max;) {
    if (p[i] < 0x80) {
      cps[n++] = p[i++];
      continue;
    }
    utf8proc_int32_t cp;
    size_t m = decode(p + i, len - i, &cp);
    if (m == 0) {
      cps[n++] = -(int32_t)p[i++];
    } else {
      cps[n++] = cp;
      i += m;
    }
  }
  return n;
}

static size_t common_prefix(const int32_t *a, size_t na, const int32_t *b,
                            size_t nb) {
  size_t l = 0;
  while (l < 4 && l < na && l < nb && a[l] == b[l])
    l++;
  return l;
}

static double winkler(double jaro, size_t prefix) {
  return jaro + 0.1 * (double)prefix * (1.0 - jaro);
}

/* Jaro matching: each code point of a, in order, takes the first unmatched
 * equal code point of b within the window. Sets *m to the matches and *half
 * to the matched pairs out of order. */
static void match_long(const int32_t *a, size_t na, const int32_t *b, size_t nb,
                       size_t window, size_t *m, size_t *half) {
  unsigned char amatch[VG_FUZZY_MAX_CHARS], bmatch[VG_FUZZY_MAX_CHARS];
  memset(amatch, 0, na);
  memset(bmatch, 0, nb);
  *m = 0;
  for (size_t i = 0; i < na; i++) {
    size_t lo = i > window ? i - window : 0;
    size_t hi = i + window + 1 < nb ? i + window + 1 : nb;
    for (size_t j = lo; j < hi; j++) {
      if (!bmatch[j] && b[j] == a[i]) {
        amatch[i] = bmatch[j] = 1;
        (*m)++;
        break;
      }
    }
  }
  *half = 0;
  for (size_t i = 0, j = 0; i < na; i++) {
    if (!amatch[i])
      continue;
    while (!bmatch[j])
      j++;
    if (a[i] != b[j])
      (*half)++;
    j++;
  }
}

#define POS_SLOTS 128 /* twice the most distinct code points in b */

/* The same matching for b of at most 64 code points, with b's positions per
 * code point as bit masks: one table lookup per code point of a instead of a
 * scan of the window, several times faster on names. */
static void match_short(const int32_t *a, size_t na, const int32_t *b,
                        size_t nb, size_t window, size_t *m, size_t *half) {
  int32_t key[POS_SLOTS];
  uint64_t pos[POS_SLOTS];
  bool live[POS_SLOTS];
  memset(live, 0, sizeof live);
  for (size_t j = 0; j < nb; j++) {
    size_t s = ((uint32_t)b[j] * UINT32_C(0x9E3779B1)) >> 25;
    while (live[s] && key[s] != b[j])
      s = (s + 1) % POS_SLOTS;
    if (!live[s]) {
      live[s] = true;
      key[s] = b[j];
      pos[s] = 0;
    }
    pos[s] |= UINT64_C(1) << j;
  }

  uint64_t amask = 0, bmask = 0;
  for (size_t i = 0; i < na; i++) {
    size_t s = ((uint32_t)a[i] * UINT32_C(0x9E3779B1)) >> 25;
    while (live[s] && key[s] != a[i])
      s = (s + 1) % POS_SLOTS;
    if (!live[s])
      continue;
    size_t lo = i > window ? i - window : 0;
    size_t hi = i + window + 1 < nb ? i + window + 1 : nb;
    uint64_t range =
        hi - lo >= 64 ? ~UINT64_C(0) : ((UINT64_C(1) << (hi - lo)) - 1) << lo;
    uint64_t cand = pos[s] & ~bmask & range;
    if (cand) {
      bmask |= cand & (~cand + 1); /* the lowest position */
      amask |= UINT64_C(1) << i;
    }
  }
  *m = (size_t)__builtin_popcountll(amask);
  *half = 0;
  while (amask) {
    if (a[__builtin_ctzll(amask)] != b[__builtin_ctzll(bmask)])
      (*half)++;
    amask &= amask - 1;
    bmask &= bmask - 1;
  }
}

static double jaro_winkler(const int32_t *a, size_t na, const int32_t *b,
                           size_t nb) {
  /* Greedy matching depends on which string drives it; a fixed order keeps
   * the result symmetric. */
  if (nb < na || (na == nb && memcmp(a, b, na * sizeof *a) > 0)) {
    const int32_t *t = a;
    a = b;
    b = t;
    size_t tn = na;
    na = nb;
    nb = tn;
  }
  assert(na > 0 && nb <= VG_FUZZY_MAX_CHARS);
  size_t window = nb / 2 > 0 ? nb / 2 - 1 : 0;
  size_t m, half;
  if (nb <= 64)
    match_short(a, na, b, nb, window, &m, &half);
  else
    match_long(a, na, b, nb, window, &m, &half);
  if (m == 0)
    return 0.0;
  double dm = (double)m;
  double jaro =
      (dm / (double)na + dm / (double)nb + (dm - (double)(half / 2)) / dm) /
      3.0;
  return winkler(jaro, common_prefix(a, na, b, nb));
}

/* Similarity of two decoded keys that are not byte-equal. */
static double similarity_cps(const int32_t *a, size_t na, const int32_t *b,
                             size_t nb) {
  if (na < VG_FUZZY_MIN_CHARS || nb < VG_FUZZY_MIN_CHARS)
    return 0.0;
  return jaro_winkler(a, na, b, nb);
}

double vg_name_similarity(const char *a, size_t alen, const char *b,
                          size_t blen) {
  if (alen == blen && (alen == 0 || memcmp(a, b, alen) == 0))
    return 1.0;
  int32_t ca[VG_FUZZY_MAX_CHARS], cb[VG_FUZZY_MAX_CHARS];
  size_t na = decode_key(a, alen, ca, VG_FUZZY_MAX_CHARS);
  size_t nb = decode_key(b, blen, cb, VG_FUZZY_MAX_CHARS);
  return similarity_cps(ca, na, cb, nb);
}

/* ---- fuzzy lists --------------------------------------------------------- */

/* Code point counts per hash bucket: two keys cannot share more characters
 * than the sum over buckets of the smaller count, which bounds the Jaro
 * matches without scoring. Bytes keep an entry in one cache line; a count
 * saturates at 255, which only a key of 256 code points in one bucket
 * reaches (see bag_overlap). */
struct bag {
  uint8_t count[BAG_BUCKETS];
};

static void bag_fill(struct bag *bag, const int32_t *cps, size_t n) {
  memset(bag, 0, sizeof *bag);
  for (size_t i = 0; i < n; i++) {
    uint8_t *c = &bag->count[(uint32_t)cps[i] % BAG_BUCKETS];
    if (*c < UINT8_MAX)
      (*c)++;
  }
}

/* An upper bound on the characters two keys share. */
static size_t bag_overlap(const struct bag *a, const struct bag *b) {
  unsigned sum = 0;
  for (int i = 0; i < BAG_BUCKETS; i++)
    sum += a->count[i] < b->count[i] ? a->count[i] : b->count[i];
  /* Two saturated buckets may hide 256 shared characters behind 255. */
  return sum >= UINT8_MAX ? sum + 1 : sum;
}

/* 64 bytes, one cache line: the scan reads ncp, key_len, head and bag of
 * every entry, the offsets only of the few it scores. */
struct fuzzy_entry {
  uint32_t ncp;     /* code points in cps, <= VG_FUZZY_MAX_CHARS */
  uint32_t key_len; /* <= VG_NAME_MAX_BYTES */
  uint32_t key_off; /* in list->keys */
  uint32_t cp_off;  /* in list->cps */
  int32_t head[4];  /* the first code points, for the Winkler prefix */
  struct bag bag;
};

struct vg_fuzzy_list {
  size_t n;
  struct fuzzy_entry *entries;
  char *keys;
  int32_t *cps;
};

struct vg_fuzzy_list *vg_fuzzy_list_new(const char *const *entries,
                                        const size_t *lens, size_t n) {
  char key[VG_NAME_MAX_BYTES];
  int32_t cps[VG_FUZZY_MAX_CHARS];
  struct vg_fuzzy_list *list = calloc(1, sizeof *list);
  if (!list)
    return NULL;
  if (n > SIZE_MAX / sizeof *list->entries)
    goto fail;

  /* First pass sizes the two pools so each is one allocation. */
  size_t key_bytes = 0, cp_count = 0;
  for (size_t i = 0; i < n; i++) {
    size_t klen = vg_name_key(entries[i], lens[i], key, sizeof key);
    assert(klen <= sizeof key);
    key_bytes += klen;
    cp_count += decode_key(key, klen, cps, VG_FUZZY_MAX_CHARS);
  }
  /* Offsets are 32-bit to keep an entry in one cache line. */
  if (cp_count > UINT32_MAX || key_bytes > UINT32_MAX)
    goto fail;
  list->entries = calloc(n > 0 ? n : 1, sizeof *list->entries);
  list->keys = malloc(key_bytes > 0 ? key_bytes : 1);
  list->cps = malloc(cp_count > 0 ? cp_count * sizeof *cps : 1);
  if (!list->entries || !list->keys || !list->cps)
    goto fail;

  size_t koff = 0, coff = 0;
  for (size_t i = 0; i < n; i++) {
    struct fuzzy_entry *e = &list->entries[i];
    e->key_len = (uint32_t)vg_name_key(entries[i], lens[i], list->keys + koff,
                                       key_bytes - koff);
    e->key_off = (uint32_t)koff;
    koff += e->key_len;
    int32_t *ecps = list->cps + coff;
    size_t ncp = decode_key(list->keys + e->key_off, e->key_len, ecps,
                            VG_FUZZY_MAX_CHARS);
    e->ncp = (uint32_t)ncp;
    e->cp_off = (uint32_t)coff;
    coff += ncp;
    for (size_t h = 0; h < 4; h++)
      e->head[h] = h < ncp ? ecps[h] : INT32_MIN;
    bag_fill(&e->bag, ecps, ncp);
  }
  assert(koff == key_bytes && coff == cp_count);
  list->n = n;
  return list;

fail:
  vg_fuzzy_list_free(list);
  return NULL;
}

void vg_fuzzy_list_free(struct vg_fuzzy_list *list) {
  if (!list)
    return;
  free(list->entries);
  free(list->keys);
  free(list->cps);
  free(list);
}

/* A query as the scan sees it. Two keys of nq and ne code points sharing at
 * most m have a Jaro similarity of at most (m/nq + m/ne + 1) / 3 (no
 * transpositions), and the Winkler boost for a prefix of l only grows with
 * it; so the score can reach `need` only when m * (nq + ne) >= cut[l] * nq *
 * ne, which rules entries out with multiplications, no division. */
struct probe {
  size_t nq;
  int32_t head[4];
  struct bag bag;
  double need;
  double cut[5];
};

/* Ruling out must never drop an entry whose computed score reaches need;
 * this margin dwarfs the rounding of both computations. */
#define CUT_SLACK 1e-9

static void probe_need(struct probe *p, double need) {
  p->need = need;
  for (int l = 0; l <= 4; l++) {
    double boost = 0.1 * l;
    double jaro = (need - boost) / (1.0 - boost);
    p->cut[l] = 3.0 * jaro - 1.0 - CUT_SLACK;
  }
}

/* False when entry e cannot score p->need. The tests run cheapest and most
 * selective first, assuming the largest prefix until the bucket counts have
 * ruled most entries out: comparing prefixes first costs branch misses on
 * every entry. For need <= 1 the cut falls as the prefix grows, so cut[4]
 * holds for any prefix. */
static bool may_reach(const struct probe *p, const struct fuzzy_entry *e) {
  size_t nq = p->nq, ne = e->ncp;
  if (nq < VG_FUZZY_MIN_CHARS || ne < VG_FUZZY_MIN_CHARS)
    return p->need <= 0.0; /* not byte-equal, so it scores exactly 0 */
  double area = (double)(nq * ne);
  size_t span = nq + ne;
  size_t shorter = nq < ne ? nq : ne;
  if ((double)(shorter * span) < p->cut[4] * area)
    return false;
  double shared = (double)(bag_overlap(&p->bag, &e->bag) * span);
  if (shared < p->cut[4] * area)
    return false;
  size_t l = 0;
  while (l < 4 && p->head[l] == e->head[l])
    l++;
  return shared >= p->cut[l] * area;
}

bool vg_fuzzy_list_best(const struct vg_fuzzy_list *list, const char *key,
                        size_t keylen, double threshold, size_t *entry,
                        double *similarity) {
  if (!list || keylen == 0)
    return false;
  int32_t q[VG_FUZZY_MAX_CHARS];
  struct probe p;
  p.nq = decode_key(key, keylen, q, VG_FUZZY_MAX_CHARS);
  /* Entry heads are padded with INT32_MIN, which no decoded key holds, so
   * the prefix loop stops at the shorter key's end. */
  for (size_t h = 0; h < 4; h++)
    p.head[h] = h < p.nq ? q[h] : INT32_MIN + 1;
  bag_fill(&p.bag, q, p.nq);
  probe_need(&p, threshold);

  bool found = false;
  size_t best_i = 0;
  double best = 0.0;
  for (size_t i = 0; i < list->n; i++) {
    const struct fuzzy_entry *e = &list->entries[i];
    double sim;
    if (e->key_len == keylen &&
        memcmp(list->keys + e->key_off, key, keylen) == 0) {
      sim = 1.0;
    } else {
      if (!may_reach(&p, e))
        continue;
      sim = similarity_cps(q, p.nq, list->cps + e->cp_off, e->ncp);
    }
    /* A later entry must beat the best strictly to replace it. */
    if (sim >= threshold && (!found || sim > best)) {
      found = true;
      best = sim;
      best_i = i;
      if (sim >= 1.0)
        break;
      probe_need(&p, best);
    }
  }
  if (!found)
    return false;
  *entry = best_i;
  *similarity = best;
  return true;
}

/* ---- string sets --------------------------------------------------------- */

struct set_item {
  uint64_t hash;
  size_t off, len; /* in set->bytes */
};

struct vg_strset {
  size_t mask;     /* slot count - 1; a power of two */
  uint32_t *slots; /* 0 empty, else item index + 1 */
  struct set_item *items;
  char *bytes;
};

/* A multiply-xorshift hash over 8-byte words: fast on short strings and
 * mixing every input bit into the low bits the table indexes with. */
static uint64_t hash_bytes(const char *s, size_t len) {
  const uint64_t k = UINT64_C(0x9E3779B97F4A7C15);
  uint64_t h = UINT64_C(0x243F6A8885A308D3) ^ ((uint64_t)len * k);
  uint64_t w;
  for (; len >= 8; s += 8, len -= 8) {
    memcpy(&w, s, 8);
    h = (h ^ w) * k;
    h ^= h >> 29;
  }
  if (len > 0) {
    w = 0;
    memcpy(&w, s, len);
    h = (h ^ w) * k;
    h ^= h >> 29;
  }
  h ^= h >> 32;
  h *= UINT64_C(0xD6E8FEB86659FD93);
  h ^= h >> 32;
  return h;
}

static bool set_find(const struct vg_strset *set, const char *s, size_t len,
                     uint64_t h, size_t *slot) {
  size_t i = (size_t)h & set->mask;
  for (;; i = (i + 1) & set->mask) {
    uint32_t v = set->slots[i];
    if (v == 0) {
      *slot = i;
      return false;
    }
    const struct set_item *it = &set->items[v - 1];
    if (it->hash == h && it->len == len &&
        (len == 0 || memcmp(set->bytes + it->off, s, len) == 0)) {
      *slot = i;
      return true;
    }
  }
}

struct vg_strset *vg_strset_new(const char *const *items, const size_t *lens,
                                size_t n) {
  struct vg_strset *set = calloc(1, sizeof *set);
  if (!set)
    return NULL;
  /* Slots hold 32-bit indexes; the table is at least twice n. */
  if (n > UINT32_MAX / 4 || n > SIZE_MAX / sizeof *set->items)
    goto fail;
  size_t nslots = 8;
  while (nslots < 2 * n)
    nslots *= 2;
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    if (lens[i] > SIZE_MAX - total)
      goto fail;
    total += lens[i];
  }
  set->mask = nslots - 1;
  set->slots = calloc(nslots, sizeof *set->slots);
  set->items = malloc(n > 0 ? n * sizeof *set->items : 1);
  set->bytes = malloc(total > 0 ? total : 1);
  if (!set->slots || !set->items || !set->bytes)
    goto fail;

  size_t nitems = 0, off = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t h = hash_bytes(items[i], lens[i]);
    size_t slot;
    if (set_find(set, items[i], lens[i], h, &slot))
      continue;
    if (lens[i] > 0)
      memcpy(set->bytes + off, items[i], lens[i]);
    set->items[nitems] = (struct set_item){h, off, lens[i]};
    set->slots[slot] = (uint32_t)(nitems + 1);
    nitems++;
    off += lens[i];
  }
  return set;

fail:
  vg_strset_free(set);
  return NULL;
}

void vg_strset_free(struct vg_strset *set) {
  if (!set)
    return;
  free(set->slots);
  free(set->items);
  free(set->bytes);
  free(set);
}

bool vg_strset_contains(const struct vg_strset *set, const char *s,
                        size_t len) {
  if (!set)
    return false;
  size_t slot;
  return set_find(set, s, len, hash_bytes(s, len), &slot);
}
