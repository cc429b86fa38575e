/* test_acm.c - the regex prefilter: the multi-literal matcher (acm.c)
 * against a naive search, and the required literals of a pattern
 * (regex.c) against PCRE2 itself: whenever PCRE2 matches a value, the
 * prefilter must say the pattern could match. */
#include "testutil.h"

#include <stdbool.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "acm.h"
#include "arena.h"
#include "fold.h"
#include "regex.h"
#include "vg_error.h"

/* A small deterministic generator so failures replay. */
static uint64_t rng_state;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
}
static uint32_t below(uint32_t n) {
  return n ? rnd() % n : 0;
}

static bool bit(const uint64_t *found, size_t i) {
  return (found[i >> 6] >> (i & 63)) & 1;
}

static char lower(char c) {
  return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* Naive search, optionally ASCII-caseless. */
static bool ascii_word(char c) {
  return isalnum((unsigned char)c) || c == '_';
}

/* A plain search: does lit occur in text, with no ASCII word character
 * before it (bounds bit 1) or after it (bit 2)? */
static bool occurs_bounded(const char *text, size_t len, const char *lit,
                           size_t litlen, bool caseless, uint8_t bounds) {
  if (litlen == 0)
    return false;
  for (size_t i = 0; i + litlen <= len; i++) {
    size_t j = 0;
    while (j < litlen && (caseless ? lower(text[i + j]) == lower(lit[j])
                                   : text[i + j] == lit[j]))
      j++;
    if (j < litlen)
      continue;
    if ((bounds & 1) && i > 0 && ascii_word(text[i - 1]))
      continue;
    if ((bounds & 2) && i + litlen < len && ascii_word(text[i + litlen]))
      continue;
    return true;
  }
  return false;
}

static bool occurs(const char *text, size_t len, const char *lit, size_t litlen,
                   bool caseless) {
  return occurs_bounded(text, len, lit, litlen, caseless, 0);
}

/* ---------------------------------------------------------------- acm */

static void check_scan_bounded(const char *const *lits, const size_t *lens,
                               const uint8_t *bounds, size_t n, bool caseless,
                               const char *text, size_t len) {
  struct vg_acm *acm = vg_acm_new(lits, lens, bounds, n, caseless);
  assert_non_null(acm);
  size_t words = vg_acm_words(acm);
  assert_int_equal(words, (n + 63) / 64);
  uint64_t *found = calloc(words ? words : 1, sizeof *found);
  assert_non_null(found);
  vg_acm_scan(acm, text, len, found);
  for (size_t i = 0; i < n; i++) {
    bool want = occurs_bounded(text, len, lits[i], lens[i], caseless,
                               bounds ? bounds[i] : 0);
    if (bit(found, i) != want)
      fail_msg("literal %zu \"%.*s\" in \"%.*s\" (caseless %d): got %d, want "
               "%d",
               i, (int)lens[i], lits[i], (int)len, text, caseless,
               bit(found, i), want);
  }
  free(found);
  vg_acm_free(acm);
}

static void check_scan(const char *const *lits, const size_t *lens, size_t n,
                       bool caseless, const char *text, size_t len) {
  check_scan_bounded(lits, lens, NULL, n, caseless, text, len);
}

static void test_acm_basic(void **state) {
  (void)state;
  const char *lits[] = {"he", "she", "his", "hers", "", "e", "she"};
  size_t lens[] = {2, 3, 3, 4, 0, 1, 3};
  check_scan(lits, lens, 7, false, "ushers", 6);
  check_scan(lits, lens, 7, false, "USHERS", 6);
  check_scan(lits, lens, 7, true, "USHERS", 6);
  check_scan(lits, lens, 7, true, "", 0);
  check_scan(lits, lens, 7, false, "hishe", 5);
  /* Overlaps and a literal that is a suffix of another. */
  const char *l2[] = {"aaa", "aa", "a", "ab", "bab"};
  size_t n2[] = {3, 2, 1, 2, 3};
  check_scan(l2, n2, 5, false, "aabab", 5);
  check_scan(l2, n2, 5, false, "bbb", 3);
  /* Non-ASCII bytes are never folded. */
  const char *l3[] = {"ñ", "Ñ", "señor"};
  size_t n3[] = {2, 2, 6};
  check_scan(l3, n3, 3, true, "SEÑOR", 6);
  check_scan(l3, n3, 3, true, "señor", 6);
  /* NUL bytes in literals and text. */
  const char l4a[] = {'a', '\0', 'b'};
  const char *l4[] = {l4a, "b"};
  size_t n4[] = {3, 1};
  const char t4[] = {'x', 'a', '\0', 'b'};
  check_scan(l4, n4, 2, false, t4, 4);
  /* No literals at all. */
  check_scan(NULL, NULL, 0, false, "abc", 3);
  vg_acm_free(NULL);
}

/* Literals using every byte value: the classes must not run out. */
static void test_acm_all_bytes(void **state) {
  (void)state;
  char bytes[256];
  for (int i = 0; i < 256; i++)
    bytes[i] = (char)i;
  const char *lits[256];
  size_t lens[256];
  for (int i = 0; i < 256; i++) {
    lits[i] = bytes + i;
    lens[i] = (size_t)(i < 255 ? 2 : 1);
  }
  char text[512];
  for (int i = 0; i < 512; i++)
    text[i] = (char)(i * 7);
  check_scan(lits, lens, 256, false, text, sizeof text);
  check_scan(lits, lens, 256, true, text, sizeof text);
}

/* Many random literal sets over a small alphabet, against the naive search
 * (more than 64 literals so the bitmap has several words). */
static void test_acm_random(void **state) {
  (void)state;
  rng_state = 0x243F6A8885A308D3u;
  static const char alphabet[] = "abAB\xc3\xb1 .";
  char store[200][8];
  const char *lits[200];
  size_t lens[200];
  uint8_t bounds[200];
  char text[300];
  for (int round = 0; round < 3000; round++) {
    size_t n = 1 + below(round % 10 == 0 ? 200 : 12);
    for (size_t i = 0; i < n; i++) {
      lens[i] = below(6) + (round % 7 == 0 ? 0 : 1);
      for (size_t j = 0; j < lens[i]; j++)
        store[i][j] = alphabet[below(sizeof alphabet - 1)];
      lits[i] = store[i];
      bounds[i] = (uint8_t)below(4);
    }
    size_t len = below(sizeof text);
    for (size_t j = 0; j < len; j++)
      text[j] = alphabet[below(sizeof alphabet - 1)];
    check_scan_bounded(lits, lens, round & 2 ? bounds : NULL, n, round & 1,
                       text, len);
  }
}

/* ------------------------------------------------------ regex literals */

struct lits {
  struct vg_regex_literals r;
  struct vg_arena arena;
};

/* True when the prefilter of l lets `subject` through, searching as the
 * evaluator does: raw bytes; ASCII-caseless, with KELVIN SIGN and LONG S
 * forcing a run; or in the folded value. */
static bool could_match(const struct vg_regex_literals *l, bool caseless,
                        bool folded, const char *subject, size_t len) {
  if (l->nsets == 0)
    return true;
  if (caseless && !folded &&
      (occurs(subject, len, "\xE2\x84\xAA", 3, false) ||
       occurs(subject, len, "\xC5\xBF", 2, false)))
    return true;
  size_t i = 0;
  for (size_t set = 0; set < l->nsets; set++) {
    bool any = false;
    for (; i < l->set_ends[set]; i++)
      if (occurs_bounded(subject, len, l->literals[i], l->lens[i],
                         caseless && !folded, l->bounds ? l->bounds[i] : 0))
        any = true;
    if (!any)
      return false;
  }
  return true;
}

static void describe(const struct vg_regex_literals *l, char *out, size_t cap) {
  size_t at = 0, i = 0;
  out[0] = '\0';
  for (size_t set = 0; set < l->nsets && at < cap; set++) {
    at += (size_t)snprintf(out + at, cap - at, "%s{", set ? " AND " : "");
    for (; i < l->set_ends[set] && at < cap; i++)
      at += (size_t)snprintf(out + at, cap - at, "%s\"%.*s\"",
                             i + 1 < l->set_ends[set] ? "" : "",
                             (int)l->lens[i], l->literals[i]);
    if (at < cap)
      at += (size_t)snprintf(out + at, cap - at, "}");
  }
}

/* Checks the literals of a pattern against PCRE2 on one subject, in raw,
 * caseless and folded modes. Returns false and prints the case when the
 * prefilter would skip a real match. */
static bool check_pattern(const char *pattern, size_t plen, uint32_t options,
                          const char *subject, size_t slen, long *matched) {
  bool ok = true;
  for (int mode = 0; mode < 4; mode++) {
    bool caseless = mode & 1, folded = mode & 2;
    int err;
    PCRE2_SIZE erroff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, plen,
                                   options | PCRE2_UTF | PCRE2_UCP |
                                       (caseless ? PCRE2_CASELESS : 0),
                                   &err, &erroff, NULL);
    if (!re)
      return true; /* not a pattern the loader would accept */
    const char *subj = subject;
    size_t sl = slen;
    char *foldbuf = NULL;
    if (folded) {
      size_t n = vg_fold(subject, slen, NULL, 0);
      foldbuf = malloc(n + 1);
      assert_non_null(foldbuf);
      vg_fold(subject, slen, foldbuf, n);
      subj = foldbuf;
      sl = n;
    }
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    int rc = pcre2_match(re, (PCRE2_SPTR)subj, sl, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    if (rc >= 0) {
      ++*matched;
      struct lits l;
      vg_arena_init(&l.arena, 4096);
      assert_int_equal(
          vg__regex_literals(&l.arena, pattern, plen, caseless, folded, &l.r),
          VG_OK);
      /* The documented forms: caseless literals are lower-case ASCII. */
      for (size_t i = 0; i < l.r.count; i++) {
        assert_true(l.r.lens[i] > 0);
        if (caseless && !folded)
          for (size_t j = 0; j < l.r.lens[i]; j++) {
            unsigned char c = (unsigned char)l.r.literals[i][j];
            assert_true(c < 0x80 && !(c >= 'A' && c <= 'Z'));
          }
      }
      if (!could_match(&l.r, caseless, folded, subj, sl)) {
        char sets[512];
        describe(&l.r, sets, sizeof sets);
        fprintf(stderr,
                "prefilter skips a match: pattern /%.*s/ (%s%s) on \"%.*s\"; "
                "literals %s\n",
                (int)plen, pattern, caseless ? "i" : "", folded ? "fold" : "",
                (int)sl, subj, sets);
        ok = false;
      }
      vg_arena_close(&l.arena);
    }
    free(foldbuf);
    if (!ok)
      break;
  }
  return ok;
}

/* Crafted patterns with a subject each matches: escapes that are not
 * literal text, verbs, classes and quantifiers that tempt a naive reader. */
static void test_literals_crafted(void **state) {
  (void)state;
  static const struct {
    const char *pattern, *subject;
  } cases[] = {
      {"abc", "xxabcxx"},
      {"ab+c", "abbbc"},
      {"ab*c", "ac"},
      {"ab?c", "ac"},
      {"a{0}bc", "bc"},
      {"a{0,2}bc", "bc"},
      {"(ab|cd)ef", "cdef"},
      {"(ab|cd)?ef", "ef"},
      {"(?:ab|cd)*ef", "ef"},
      {"x(?=abc)", "xabc"},
      {"(?<=abc)x", "abcx"},
      {"(?!abc)def", "def"},
      {"foo|bar", "bar"},
      {"foo|", "zzz"},
      {"a\\.b", "a.b"},
      {"\\bsin experiencia\\b", "sin experiencia"},
      {"se\\w+ritas", "señoritas"},
      {"[abc]def", "bdef"},
      {"[]a]bc", "]bc"},
      {"[^]a]bc", "xbc"},
      {"[[:alpha:]]xy", "axy"},
      {"[[:digit:]]+ años", "12 años"},
      {"\\cAbc", "\x01"
                 "bc"},
      {"\\x41bc", "Abc"},
      {"\\x{41}bc", "Abc"},
      {"\\o{101}bc", "Abc"},
      {"\\N{U+41}bc", "Abc"},
      {"\\101bc", "Abc"},
      {"\\pLxy", "axy"},
      {"\\PLxy", "1xy"},
      {"\\p{Lu}xy", "Axy"},
      {"(ab)\\1", "abab"},
      {"(ab)\\g1", "abab"},
      {"(ab)\\g{1}", "abab"},
      {"(ab)\\g-1", "abab"},
      {"(?<n>ab)\\k<n>", "abab"},
      {"(?<n>ab)\\k{n}", "abab"},
      {"(?<n>ab)\\k'n'", "abab"},
      {"(?P<n>ab)(?P=n)", "abab"},
      {"(*UTF)abc", "abc"},
      {"(*UCP)abc", "abc"},
      {"abc(*ACCEPT)def", "abc"},
      {"(*CR)abc", "abc"},
      {"a(*SKIP)(*FAIL)|bcd", "bcd"},
      {"(?i)abc", "ABC"},
      {"a(?i)bc", "aBC"},
      {"(?i:abc)", "ABC"},
      {"\\Qa.b\\E", "a.b"},
      {"xy\\Qa.b\\E", "xya.b"},
      {"\\ñ*x", "x"},
      {"ñ*x", "x"},
      {"a{,3}b", "a{,3}b"},
      {"a{2,3", "a{2,3"},
      {"a{x}", "a{x}"},
      {"a\\Kbc", "abc"},
      {"(?#comment)abc", "abc"},
      {"(?|(a)|(b))c", "bc"},
      {"(a)(?1)c", "aac"},
      {"(?(?=a)ab|cd)", "cd"},
      {"\\d{3}-\\d{4}", "555-1234"},
      {"\\s+x", "  x"},
      {"a\\Eb", "ab"},
      {"(a|b)(c|d)", "bd"},
      {"((ab|cd)e|fg)h", "fgh"},
      {"ab|(cd|ef)g", "efg"},
      {"(?>ab|cd)e", "cde"},
      {"\\x{212A}elvin", "\xE2\x84\xAA"
                         "elvin"},
      {"kelvin", "\xE2\x84\xAA"
                 "elvin"},
      {"sss", "\xC5\xBF"
              "ss"},
      {"straße", "STRASSE"},
      {"Señoritas", "SEÑORITAS"},
      {"SEÑOR", "señor"},
      {"ǅx", "ǆx"},
      {"ﬁle", "file"},
      {"file", "ﬁle"},
      {"a\\x{300}b", "a\xCC\x80"
                     "b"},
      {"nú", "nu\xCC\x81"},
      {"\\Aabc\\z", "abc"},
      {"^abc$", "abc"},
      {"a\\Rb", "a\r\nb"},
      {"a\\Xb", "aéb"},
      {"a.b", "a\nb"},
      {"(?s)a.b", "a\nb"},
      {"a\\ b", "a b"},
      {"a#b", "a#b"},
      {"ı", "I"},
      {"i", "İ"},
      {"İ", "i"},
  };
  long matched = 0;
  int failures = 0;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    for (int opt = 0; opt < 2; opt++)
      if (!check_pattern(cases[i].pattern, strlen(cases[i].pattern),
                         opt ? PCRE2_DOTALL | PCRE2_MULTILINE : 0,
                         cases[i].subject, strlen(cases[i].subject), &matched))
        failures++;
  assert_true(matched > 100);
  assert_int_equal(failures, 0);
}

/* ---------------------------------------- random patterns and subjects */

/* A random regular expression written into pat and, alongside, several
 * strings built to follow it (PCRE2 has the last word on whether they
 * match). */
#define NSAMPLES 6
struct gen {
  char pat[512];
  size_t plen;
  char sample[NSAMPLES][1024];
  size_t slen[NSAMPLES];
  bool full; /* a buffer ran out: drop this pattern */
};

static void put_pat(struct gen *g, const char *s, size_t n) {
  if (g->plen + n >= sizeof g->pat) {
    g->full = true;
    return;
  }
  memcpy(g->pat + g->plen, s, n);
  g->plen += n;
}

static void put_sample(struct gen *g, int k, const char *s, size_t n) {
  if (g->slen[k] + n >= sizeof g->sample[k]) {
    g->full = true;
    return;
  }
  memcpy(g->sample[k] + g->slen[k], s, n);
  g->slen[k] += n;
}

/* Characters the generator draws from: letters with case twins inside and
 * outside ASCII, accents, signs that fold to ASCII, spaces. */
static const char *const chars[] = {
    "a", "b", "k", "s",        "i",         "A",  "B",        "K",
    "S", "I", "n", "0",        "7",         " ",  "-",        ".",
    ",", "ñ", "Ñ", "é",        "É",         "ß",  "\xC5\xBF", "\xE2\x84\xAA",
    "ı", "İ", "ﬁ", "\xC2\xA0", "e\xCC\x81", "\t", "\n",       "_",
    "#", "x"};
#define NCHARS (sizeof chars / sizeof *chars)

/* What a single literal character could also appear as in a matching
 * subject (case twins), for caseless samples. */
static const char *twin(const char *c) {
  static const char *const pairs[][2] = {
      {"a", "A"}, {"b", "B"},        {"k", "\xE2\x84\xAA"},
      {"K", "k"}, {"s", "\xC5\xBF"}, {"S", "s"},
      {"i", "I"}, {"I", "i"},        {"ñ", "Ñ"},
      {"Ñ", "ñ"}, {"é", "É"},        {"É", "é"},
      {"n", "N"}, {"x", "X"}};
  for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++)
    if (!strcmp(pairs[i][0], c))
      return pairs[i][1];
  return c;
}

static void gen_alternatives(struct gen *g, int depth);

/* One atom: appends its pattern text and a matching piece to every sample. */
static void gen_atom(struct gen *g, int depth) {
  uint32_t kind = below(depth > 2 ? 14 : 20);
  switch (kind) {
  case 0:
  case 1:
  case 2:
  case 3:
  case 4:
  case 5: { /* a literal character */
    const char *c = chars[below(NCHARS)];
    bool special = strchr(".#", c[0]) && c[1] == '\0';
    if (special || (c[0] == '-' && below(2)))
      put_pat(g, "\\", 1);
    put_pat(g, c, strlen(c));
    for (int k = 0; k < NSAMPLES; k++) {
      const char *s = below(3) == 0 ? twin(c) : c;
      put_sample(g, k, s, strlen(s));
    }
    break;
  }
  case 6: { /* an escape that is not literal text */
    static const struct {
      const char *pat, *sample;
    } esc[] = {/* \b several times: the prefilter's word-boundary marks
                * are checked against PCRE2 only where it appears */
               {"\\b", ""},          {"\\b", ""},
               {"\\b", ""},          {"\\d", "5"},
               {"\\w", "q"},         {"\\s", " "},
               {"\\b", ""},          {"\\D", "z"},
               {"\\W", "!"},         {"\\S", "y"},
               {"\\cA", "\x01"},     {"\\x41", "A"},
               {"\\x{6B}", "k"},     {"\\o{141}", "a"},
               {"\\N{U+61}", "a"},   {"\\pL", "b"},
               {"\\PL", "3"},        {"\\p{Lu}", "Q"},
               {"\\e", "\x1b"},      {"\\t", "\t"},
               {"\\n", "\n"},        {"\\h", " "},
               {"\\R", "\r\n"},      {"\\X", "e\xCC\x81"},
               {"\\Qa.b\\E", "a.b"}, {"\\K", ""},
               {"\\B", ""},          {"\\N", "x"},
               {"\\101", "A"},       {"\\ñ", "ñ"},
               {"\\cz", "\x1a"},     {"\\x{212A}", "\xE2\x84\xAA"}};
    size_t e = below(sizeof esc / sizeof *esc);
    put_pat(g, esc[e].pat, strlen(esc[e].pat));
    for (int k = 0; k < NSAMPLES; k++)
      put_sample(g, k, esc[e].sample, strlen(esc[e].sample));
    break;
  }
  case 7: { /* a class */
    static const struct {
      const char *pat, *sample;
    } cls[] = {{"[abc]", "b"},          {"[^abc]", "z"}, {"[a-z]", "q"},
               {"[]a]", "]"},           {"[^]a]", "k"},  {"[[:alpha:]]", "w"},
               {"[[:digit:]]", "4"},    {"[\\d.]", "."}, {"[ñé]", "é"},
               {"[k]", "\xE2\x84\xAA"}, {"[|)]", "|"},   {"[(]", "("}};
    size_t c = below(sizeof cls / sizeof *cls);
    put_pat(g, cls[c].pat, strlen(cls[c].pat));
    for (int k = 0; k < NSAMPLES; k++)
      put_sample(g, k, cls[c].sample, strlen(cls[c].sample));
    break;
  }
  case 8: /* any character */
    put_pat(g, ".", 1);
    for (int k = 0; k < NSAMPLES; k++) {
      const char *c = chars[below(NCHARS)];
      put_sample(g, k, c, strlen(c));
    }
    break;
  case 9: { /* anchors and assertions, which match no text */
    static const char *const anchors[] = {"^", "$", "\\A", "\\z", "\\Z", "\\G"};
    const char *a = anchors[below(6)];
    put_pat(g, a, strlen(a));
    break;
  }
  case 10: { /* verbs */
    static const char *const verbs[] = {"(*ACCEPT)", "(*COMMIT)", "(*PRUNE)",
                                        "(*SKIP)",   "(*THEN)",   "(*MARK:ab)",
                                        "(*:xy)"};
    const char *v = verbs[below(7)];
    put_pat(g, v, strlen(v));
    break;
  }
  case 11: { /* a back reference to group 1, whatever it holds */
    const char *ref = below(2) ? "\\g1" : "\\g{-1}";
    put_pat(g, ref, strlen(ref));
    break;
  }
  case 12:
  case 13: /* a character with a quantifier */ {
    const char *c = chars[below(6)];
    put_pat(g, c, strlen(c));
    static const struct {
      const char *q;
      int min, max;
    } qs[] = {{"*", 0, 3},   {"+", 1, 3},     {"?", 0, 1},
              {"{2}", 2, 2}, {"{0,2}", 0, 2}, {"{1,}", 1, 3},
              {"*?", 0, 2},  {"++", 1, 2},    {"{,2}", -1, -1}};
    size_t q = below(sizeof qs / sizeof *qs);
    put_pat(g, qs[q].q, strlen(qs[q].q));
    for (int k = 0; k < NSAMPLES; k++) {
      if (qs[q].min < 0) {
        put_sample(g, k, c, strlen(c));
        put_sample(g, k, qs[q].q, strlen(qs[q].q));
        continue;
      }
      int n = qs[q].min + (int)below((uint32_t)(qs[q].max - qs[q].min + 1));
      for (int r = 0; r < n; r++)
        put_sample(g, k, c, strlen(c));
    }
    break;
  }
  default: { /* a group, maybe quantified */
    static const char *const opens[] = {
        "(",   "(?:",  "(?>",   "(?=",   "(?!",   "(?<n>",
        "(?|", "(?i:", "(?i)(", "(?<=a", "(?#c)("};
    size_t o = below(sizeof opens / sizeof *opens);
    put_pat(g, opens[o], strlen(opens[o]));
    struct gen inner;
    memset(&inner, 0, sizeof inner);
    gen_alternatives(&inner, depth + 1);
    if (inner.full) {
      g->full = true;
      return;
    }
    put_pat(g, inner.pat, inner.plen);
    put_pat(g, ")", 1);
    bool consumes = o != 3 && o != 4 && o != 9;
    static const char *const quants[] = {"",  "",  "",    "*",
                                         "+", "?", "{2}", "{0,1}"};
    size_t q = below(sizeof quants / sizeof *quants);
    put_pat(g, quants[q], strlen(quants[q]));
    for (int k = 0; k < NSAMPLES; k++) {
      int reps = q == 3             ? (int)below(3)
                 : q == 4           ? 1 + (int)below(2)
                 : q == 5 || q == 7 ? (int)below(2)
                 : q == 6           ? 2
                                    : 1;
      if (!consumes)
        reps = o == 3 ? 1 : 0; /* a lookahead's text may follow */
      for (int r = 0; r < reps; r++) {
        int pick = (int)below(NSAMPLES);
        put_sample(g, k, inner.sample[pick], inner.slen[pick]);
      }
    }
    break;
  }
  }
}

static void gen_sequence(struct gen *g, int depth) {
  int n = 1 + (int)below(depth ? 4 : 7);
  for (int i = 0; i < n && !g->full; i++)
    gen_atom(g, depth);
}

static void gen_alternatives(struct gen *g, int depth) {
  int alts = below(4) == 0 ? 2 + (int)below(2) : 1;
  struct gen *alt = malloc(sizeof *alt);
  assert_non_null(alt);
  int chosen[NSAMPLES];
  for (int k = 0; k < NSAMPLES; k++)
    chosen[k] = (int)below((uint32_t)alts);
  for (int a = 0; a < alts && !g->full; a++) {
    memset(alt, 0, sizeof *alt);
    gen_sequence(alt, depth);
    if (alt->full) {
      g->full = true;
      break;
    }
    if (a)
      put_pat(g, "|", 1);
    put_pat(g, alt->pat, alt->plen);
    for (int k = 0; k < NSAMPLES; k++)
      if (chosen[k] == a)
        put_sample(g, k, alt->sample[k], alt->slen[k]);
  }
  free(alt);
}

static void test_literals_random(void **state) {
  (void)state;
  rng_state = 0x13198A2E03707344u;
  long matched = 0, patterns = 0;
  int failures = 0;
  struct gen *g = malloc(sizeof *g);
  assert_non_null(g);
  for (int round = 0; round < 20000 && failures < 10; round++) {
    memset(g, 0, sizeof *g);
    gen_alternatives(g, 0);
    if (g->full)
      continue;
    patterns++;
    uint32_t options = below(4) == 0 ? PCRE2_DOTALL | PCRE2_MULTILINE : 0;
    for (int k = 0; k < NSAMPLES && failures < 10; k++) {
      /* The sample as built, and inside random text. */
      char subject[1200];
      size_t len = 0;
      for (int w = 0; w < 2; w++) {
        len = 0;
        if (w) {
          for (int r = (int)below(4); r > 0; r--) {
            const char *c = chars[below(NCHARS)];
            memcpy(subject + len, c, strlen(c));
            len += strlen(c);
          }
        }
        memcpy(subject + len, g->sample[k], g->slen[k]);
        len += g->slen[k];
        if (w)
          for (int r = (int)below(4); r > 0; r--) {
            const char *c = chars[below(NCHARS)];
            memcpy(subject + len, c, strlen(c));
            len += strlen(c);
          }
        if (!check_pattern(g->pat, g->plen, options, subject, len, &matched))
          failures++;
      }
    }
  }
  free(g);
  fprintf(stderr, "  %ld patterns, %ld matches checked\n", patterns, matched);
  assert_true(matched > 10000);
  assert_int_equal(failures, 0);
}

/* Patterns with no literal text give no sets; plain words give one set
 * holding the word; alternatives give one set holding each. */
static void test_literals_shapes(void **state) {
  (void)state;
  struct vg_arena arena;
  vg_arena_init(&arena, 4096);
  struct vg_regex_literals l;
  assert_int_equal(vg__regex_literals(&arena, "\\d+", 3, false, false, &l),
                   VG_OK);
  assert_int_equal(l.nsets, 0);
  assert_int_equal(vg__regex_literals(&arena, "[a-z]+", 6, false, false, &l),
                   VG_OK);
  assert_int_equal(l.nsets, 0);
  assert_int_equal(vg__regex_literals(&arena, "recruiter", 9, false, false, &l),
                   VG_OK);
  assert_int_equal(l.nsets, 1);
  assert_int_equal(l.count, 1);
  assert_int_equal(l.lens[0], 9);
  assert_memory_equal(l.literals[0], "recruiter", 9);
  assert_int_equal(
      vg__regex_literals(&arena, "Visa|Pasaje", 11, true, false, &l), VG_OK);
  assert_int_equal(l.nsets, 1);
  assert_int_equal(l.count, 2);
  assert_memory_equal(l.literals[0], "visa", 4);
  assert_memory_equal(l.literals[1], "pasaje", 6);
  /* Folded literals are folded. */
  assert_int_equal(vg__regex_literals(&arena, "SEÑORITAS", strlen("SEÑORITAS"),
                                      false, true, &l),
                   VG_OK);
  assert_int_equal(l.nsets, 1);
  assert_int_equal(l.lens[0], 9);
  assert_memory_equal(l.literals[0], "senoritas", 9);
  vg_arena_close(&arena);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_acm_basic),
      cmocka_unit_test(test_acm_all_bytes),
      cmocka_unit_test(test_acm_random),
      cmocka_unit_test(test_literals_shapes),
      cmocka_unit_test(test_literals_crafted),
      cmocka_unit_test(test_literals_random),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
