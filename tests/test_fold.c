/* test_fold.c - unit tests for engine/fold.c: folding, phone, e-mail and name
 * keys, name similarity, fuzzy lists and string sets. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "fold.h"

typedef size_t (*keyfn)(const char *, size_t, char *, size_t);

/* Runs f on in with a roomy buffer and checks the result is want; also checks
 * the retry contract: asking with cap 0 gives the same length. */
static void check_key(keyfn f, const char *in, size_t inlen, const char *want) {
  char out[4096];
  memset(out, 0x55, sizeof out);
  size_t n = f(in, inlen, out, sizeof out);
  if (n != strlen(want) || memcmp(out, want, n) != 0)
    fail_msg("input \"%.*s\": got \"%.*s\" (%zu bytes), want \"%s\"",
             (int)inlen, in, (int)(n < sizeof out ? n : sizeof out), out, n,
             want);
  assert_int_equal(f(in, inlen, NULL, 0), n);
}

static void check_fold(const char *in, const char *want) {
  check_key(vg_fold, in, strlen(in), want);
}

static void check_name(const char *in, const char *want) {
  check_key(vg_name_key, in, strlen(in), want);
}

static void check_phone(const char *in, const char *code, const char *want) {
  char out[256];
  size_t n = vg_phone_key(in, strlen(in), code, out, sizeof out);
  if (n != strlen(want) || memcmp(out, want, n) != 0)
    fail_msg("phone \"%s\" code %s: got \"%.*s\", want \"%s\"", in,
             code ? code : "(none)", (int)n, out, want);
}

/* A small deterministic generator so failures replay. */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
}

/* ---- vg_fold ------------------------------------------------------------- */

static void test_fold_unicode(void **state) {
  (void)state;
  check_fold("Señoritas", "senoritas");
  check_fold("ÉCOLE", "ecole");
  check_fold("Straße", "strasse");
  check_fold("ＡＢＣ", "abc");
  check_fold("Sen\xcc\x83oritas", "senoritas"); /* combining tilde */
  check_fold("İstanbul", "istanbul");
  check_fold("ΣΊΣΥΦΟΣ", "σισυφοσ");
  check_fold("Seño\xc2\xadritas", "senoritas"); /* soft hyphen */
  check_fold("ﬁancée", "fiancee");              /* ligature */
  check_fold("Привет", "привет");
  check_fold("東京", "東京");
}

static void test_fold_whitespace(void **state) {
  (void)state;
  check_fold(" a \t b ", "a b");
  check_fold("\n\r\v\fx\t\t", "x");
  check_fold("Hello   World", "hello world");
  /* no-break, ideographic and em spaces, line separator, next line */
  check_fold("\xc2\xa0"
             "a\xc2\xa0\xe3\x80\x80"
             "b\xe2\x80\xa8"
             "c\xc2\x85\xe2\x80\x83",
             "a b c");
  check_fold(" \t\n ", "");
  check_fold("\xe3\x80\x80", "");
  check_fold("José  Ñandú ", "jose nandu");
}

static void test_fold_empty(void **state) {
  (void)state;
  assert_int_equal(vg_fold("", 0, NULL, 0), 0);
  assert_int_equal(vg_fold(NULL, 0, NULL, 0), 0);
  char out[4] = "zzz";
  assert_int_equal(vg_fold("", 0, out, sizeof out), 0);
  assert_string_equal(out, "zzz");
}

static void test_fold_retry(void **state) {
  (void)state;
  char out[16];
  memset(out, '#', sizeof out);
  size_t n = vg_fold(" Hello World", 12, out, 5);
  assert_int_equal(n, 11);
  assert_memory_equal(out, "hello", 5);
  assert_int_equal(out[5], '#'); /* nothing past cap */

  memset(out, '#', sizeof out);
  n = vg_fold("ÉCOLE", strlen("ÉCOLE"), out, 2);
  assert_int_equal(n, 5);
  assert_memory_equal(out, "ec", 2);
  assert_int_equal(out[2], '#');
  assert_int_equal(vg_fold("ÉCOLE", strlen("ÉCOLE"), out, n), 5);
  assert_memory_equal(out, "ecole", 5);

  /* a multi-byte character straddling cap is cut, never overrun */
  memset(out, '#', sizeof out);
  n = vg_fold("abc東", strlen("abc東"), out, 4);
  assert_int_equal(n, 6);
  assert_int_equal(out[4], '#');
  n = vg_fold("Straße", strlen("Straße"), NULL, 0);
  assert_int_equal(n, 7);
}

static void test_fold_invalid_utf8(void **state) {
  (void)state;
  /* invalid bytes pass through untouched; letters around them fold */
  check_fold("A\xff\xfe"
             "B",
             "a\xff\xfe"
             "b");
  check_fold("ab\xc3", "ab\xc3");     /* truncated sequence at the end */
  check_fold("\xc3X", "\xc3x");       /* lead byte then ASCII */
  check_fold("\x80\x80", "\x80\x80"); /* lone continuation bytes */
  check_fold("\xed\xa0\x80", "\xed\xa0\x80");         /* UTF-16 surrogate */
  check_fold("\xf4\x90\x80\x80", "\xf4\x90\x80\x80"); /* above U+10FFFF */
  check_fold("  \xff  \xff  ", "\xff \xff");

  /* random bytes: no crash, and the retry contract holds */
  char in[64], out[512], again[512];
  for (int round = 0; round < 20000; round++) {
    size_t len = rnd() % sizeof in;
    for (size_t i = 0; i < len; i++)
      in[i] = (char)(rnd() % 4 == 0 ? rnd() % 128 : 0x80 + rnd() % 128);
    size_t n = vg_fold(in, len, out, sizeof out);
    assert_true(n <= sizeof out);
    assert_int_equal(vg_fold(in, len, NULL, 0), n);
    if (n > 0) {
      memset(again, 0, sizeof again);
      assert_int_equal(vg_fold(in, len, again, n - 1), n);
      assert_memory_equal(again, out, n - 1);
    }
  }
}

/* Fullwidth forms decompose to ASCII inside utf8proc, so they exercise its
 * treatment of ASCII against the inline fast path. */
static void test_fold_ascii_paths_agree(void **state) {
  (void)state;
  for (int c = 0x21; c <= 0x7E; c++) {
    char ascii[1] = {(char)c};
    unsigned char wide[4];
    utf8proc_ssize_t wn = utf8proc_encode_char(0xFF01 + (c - 0x21), wide);
    char a[8], b[8];
    size_t na = vg_fold(ascii, 1, a, sizeof a);
    size_t nb = vg_fold((const char *)wide, (size_t)wn, b, sizeof b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
  }
}

static void test_is_ascii(void **state) {
  (void)state;
  assert_true(vg_is_ascii("", 0));
  assert_true(vg_is_ascii("plain ascii text, longer than a word", 36));
  assert_false(vg_is_ascii("Señor", strlen("Señor")));
  char buf[40];
  memset(buf, 'a', sizeof buf);
  for (size_t i = 0; i < sizeof buf; i++) {
    buf[i] = (char)0x80;
    assert_false(vg_is_ascii(buf, sizeof buf));
    assert_true(vg_is_ascii(buf, i));
    buf[i] = 'a';
  }
}

/* ---- keys ---------------------------------------------------------------- */

static void test_phone_key(void **state) {
  (void)state;
  check_phone("+57 300-123 4567", "57", "573001234567");
  check_phone("0057 3001234567", "57", "573001234567");
  check_phone("300 123 4567", "57", "573001234567");
  check_phone("300 123 4567", NULL, "3001234567");
  check_phone("(+57) 300 123 4567", "57", "573001234567");
  check_phone("+1 (555) 010-9999", "57", "15550109999"); /* '+': no prefix */
  check_phone("001 555 010 9999", "57", "15550109999");  /* "00": dropped */
  check_phone("300 123 4567", "+57", "573001234567");    /* code's digits */
  check_phone("0300 123", "57", "570300123");            /* one 0 stays */
  check_phone("３００ １２３ ４５６７", "57", "573001234567"); /* fullwidth */
  check_phone("\xd9\xa3\xd9\xa0\xd9\xa0", NULL, "300"); /* Arabic-Indic */
  check_phone("＋57 300", "57", "57300");               /* fullwidth plus */
  check_phone("tel: 3\xff"
              "00",
              NULL, "300");

  char out[16];
  memset(out, '#', sizeof out);
  assert_int_equal(vg_phone_key("", 0, "57", out, sizeof out), 0);
  assert_int_equal(vg_phone_key("no digits", 9, "57", out, sizeof out), 0);
  assert_int_equal(vg_phone_key("+", 1, "57", out, sizeof out), 0);
  assert_int_equal(vg_phone_key("00", 2, "57", out, sizeof out), 0);
  assert_int_equal(out[0], '#');

  /* retry contract */
  size_t n = vg_phone_key("300 123 4567", 12, "57", out, 3);
  assert_int_equal(n, 12);
  assert_memory_equal(out, "573", 3);
  assert_int_equal(out[3], '#');
}

static void test_email_key(void **state) {
  (void)state;
  check_key(vg_email_key, "  John.Doe@Example.COM ", 23,
            "john.doe@example.com");
  check_key(vg_email_key, "JOSÉ@Correo.co", strlen("JOSÉ@Correo.co"),
            "jose@correo.co");
  check_key(vg_email_key, "", 0, "");
}

static void test_name_key(void **state) {
  (void)state;
  check_name("Pérez-Gómez, Juan", "gomez juan perez");
  check_name("  JUAN   pérez ", "juan perez");
  check_name("O'Brien & Sons", "brien o sons");
  check_name("Juan★Pérez", "juan perez");     /* So */
  check_name("«Juan» — Pérez", "juan perez"); /* Pi, Pf, Pd */
  check_name("b a a", "a a b");               /* duplicates kept */
  check_name("ab a", "a ab");                 /* a prefix sorts first */
  check_name("Zoë zoe", "zoe zoe");
  check_name("€ — !", "");
  check_name("", "");
  check_name("Ivan\xff Petrov", "ivan\xff petrov");

  /* many tokens sort like a reference sort */
  char in[600], want[600];
  const char *words[] = {"delta", "alfa", "echo", "bravo", "charlie", "alfa"};
  size_t len = 0;
  for (int i = 0; i < 60; i++)
    len += (size_t)snprintf(in + len, sizeof in - len, "%s%s;",
                            i % 2 ? "" : " ", words[(i * 7) % 6]);
  size_t wl = 0;
  const char *sorted[] = {"alfa", "bravo", "charlie", "delta", "echo"};
  const int count[] = {20, 10, 10, 10, 10};
  for (int w = 0; w < 5; w++)
    for (int i = 0; i < count[w]; i++)
      wl += (size_t)snprintf(want + wl, sizeof want - wl, "%s%s", wl ? " " : "",
                             sorted[w]);
  check_key(vg_name_key, in, len, want);
}

/* The inline ASCII test agrees with the Unicode categories. */
static void test_name_key_ascii_punct(void **state) {
  (void)state;
  for (int c = 0x21; c <= 0x7E; c++) {
    char in[3] = {'x', (char)c, 'y'};
    char out[8];
    size_t n = vg_name_key(in, 3, out, sizeof out);
    utf8proc_category_t cat = utf8proc_category(c);
    bool sep = cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_SO;
    if (sep) {
      assert_int_equal(n, 3);
      assert_memory_equal(out, "x y", 3);
    } else {
      assert_int_equal(n, 3);
      assert_int_equal(out[1], c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
  }
}

static void test_name_key_limit(void **state) {
  (void)state;
  /* 400 three-byte characters: the key is cut at a character boundary */
  char in[1300];
  size_t len = 0;
  for (int i = 0; i < 400; i++) {
    memcpy(in + len, "東", 3);
    len += 3;
  }
  char out[2048];
  size_t n = vg_name_key(in, len, out, sizeof out);
  assert_true(n <= VG_NAME_MAX_BYTES);
  assert_int_equal(n, VG_NAME_MAX_BYTES / 3 * 3);
  for (size_t i = 0; i < n; i += 3)
    assert_memory_equal(out + i, "東", 3);

  /* 2000 one-letter tokens: bounded output, still sorted */
  char many[4000];
  for (int i = 0; i < 2000; i++) {
    many[2 * i] = (char)('z' - i % 26);
    many[2 * i + 1] = ' ';
  }
  n = vg_name_key(many, sizeof many, out, sizeof out);
  assert_true(n <= VG_NAME_MAX_BYTES);
  for (size_t i = 2; i < n; i += 2) {
    assert_int_equal(out[i - 1], ' ');
    assert_true(out[i - 2] <= out[i]);
  }
}

/* ---- similarity ---------------------------------------------------------- */

static double sim(const char *a, const char *b) {
  return vg_name_similarity(a, strlen(a), b, strlen(b));
}

static void test_similarity(void **state) {
  (void)state;
  assert_true(sim("juan perez", "juan perez") == 1.0);
  assert_true(fabs(sim("martha", "marhta") - 0.961111) < 1e-5);
  assert_true(fabs(sim("dwayne", "duane") - 0.84) < 1e-5);
  assert_true(fabs(sim("dixon", "dicksonx") - 0.813333) < 1e-5);
  assert_true(sim("juan perez", "maria gomez") < 0.6);
  assert_true(sim("abcd", "wxyz") == 0.0);
  assert_true(sim("gomez juan perez", "gomez juan peres") > 0.95);
  /* over code points, not bytes: the same shape scores the same */
  assert_true(sim("жжжж", "жжжк") == sim("aaaa", "aaab"));
  assert_true(sim("иван петров", "иван петрова") > 0.95);
}

static void test_similarity_short(void **state) {
  (void)state;
  assert_true(sim("ana", "ano") == 0.0);
  assert_true(sim("ana", "ana") == 1.0);
  assert_true(sim("ana", "anab") == 0.0);
  assert_true(sim("", "") == 1.0);
  assert_true(sim("", "abcd") == 0.0);
  assert_true(sim("東京", "東京都") == 0.0);
  assert_true(sim("abcd", "abce") > 0.8);
}

static void test_similarity_symmetric(void **state) {
  (void)state;
  char a[24], b[24];
  for (int round = 0; round < 20000; round++) {
    size_t na = rnd() % 20, nb = rnd() % 20;
    for (size_t i = 0; i < na; i++)
      a[i] = (char)('a' + rnd() % 4);
    for (size_t i = 0; i < nb; i++)
      b[i] = (char)('a' + rnd() % 4);
    double x = vg_name_similarity(a, na, b, nb);
    double y = vg_name_similarity(b, nb, a, na);
    assert_true(x == y);
    assert_true(x >= 0.0 && x <= 1.0);
  }
}

/* Textbook Jaro-Winkler over bytes, a driving the greedy matching. */
static double reference_jw(const char *a, size_t na, const char *b, size_t nb) {
  if (na == nb && memcmp(a, b, na) == 0)
    return 1.0;
  if (na < VG_FUZZY_MIN_CHARS || nb < VG_FUZZY_MIN_CHARS)
    return 0.0;
  bool am[128] = {false}, bm[128] = {false};
  size_t longer = na > nb ? na : nb;
  size_t window = longer / 2 > 0 ? longer / 2 - 1 : 0;
  size_t m = 0;
  for (size_t i = 0; i < na; i++)
    for (size_t j = i > window ? i - window : 0; j < nb && j <= i + window; j++)
      if (!bm[j] && a[i] == b[j]) {
        am[i] = bm[j] = true;
        m++;
        break;
      }
  if (m == 0)
    return 0.0;
  size_t t = 0;
  for (size_t i = 0, j = 0; i < na; i++) {
    if (!am[i])
      continue;
    while (!bm[j])
      j++;
    t += a[i] != b[j];
    j++;
  }
  double jaro = ((double)m / (double)na + (double)m / (double)nb +
                 ((double)m - (double)(t / 2)) / (double)m) /
                3.0;
  size_t l = 0;
  while (l < 4 && l < na && l < nb && a[l] == b[l])
    l++;
  return jaro + 0.1 * (double)l * (1.0 - jaro);
}

/* Both matching paths (up to 64 code points and beyond) agree with the
 * textbook algorithm run one way or the other. */
static void test_similarity_reference(void **state) {
  (void)state;
  char a[100], b[100];
  for (int round = 0; round < 20000; round++) {
    size_t na = rnd() % 100, nb = rnd() % 100;
    if (round % 2) {
      na %= 12;
      nb %= 12;
    }
    int alphabet = 2 + (int)(rnd() % 10);
    for (size_t i = 0; i < na; i++)
      a[i] = (char)('a' + rnd() % (unsigned)alphabet);
    for (size_t i = 0; i < nb; i++)
      b[i] = (char)('a' + rnd() % (unsigned)alphabet);
    double got = vg_name_similarity(a, na, b, nb);
    double one = reference_jw(a, na, b, nb), two = reference_jw(b, nb, a, na);
    if (fabs(got - one) > 1e-12 && fabs(got - two) > 1e-12)
      fail_msg("\"%.*s\" vs \"%.*s\": got %.15f, want %.15f or %.15f", (int)na,
               a, (int)nb, b, got, one, two);
  }
}

static void test_similarity_long(void **state) {
  (void)state;
  char a[600], b[600];
  memset(a, 'x', sizeof a);
  memset(b, 'x', sizeof b);
  b[599] = 'y';
  /* documented: only the first VG_FUZZY_MAX_CHARS code points count */
  assert_true(vg_name_similarity(a, sizeof a, b, sizeof b) == 1.0);
  b[10] = 'y';
  double s = vg_name_similarity(a, sizeof a, b, sizeof b);
  assert_true(s > 0.9 && s < 1.0);
}

/* ---- fuzzy lists --------------------------------------------------------- */

static struct vg_fuzzy_list *make_list(const char *const *names, size_t n) {
  size_t *lens = malloc((n ? n : 1) * sizeof *lens);
  assert_non_null(lens);
  for (size_t i = 0; i < n; i++)
    lens[i] = strlen(names[i]);
  struct vg_fuzzy_list *list = vg_fuzzy_list_new(names, lens, n);
  free(lens);
  assert_non_null(list);
  return list;
}

static bool best(const struct vg_fuzzy_list *list, const char *raw,
                 double threshold, size_t *entry, double *similarity) {
  char key[VG_NAME_MAX_BYTES];
  size_t n = vg_name_key(raw, strlen(raw), key, sizeof key);
  return vg_fuzzy_list_best(list, key, n, threshold, entry, similarity);
}

static void test_fuzzy_list(void **state) {
  (void)state;
  const char *names[] = {"Pérez-Gómez, Juan", "María Fernanda López", "Ana",
                         "Ivan Petrov", "Li Wei"};
  struct vg_fuzzy_list *list = make_list(names, 5);
  size_t entry = 99;
  double s = -1.0;

  assert_true(best(list, "Juan Perez Gomez", 0.9, &entry, &s));
  assert_int_equal(entry, 0);
  assert_true(s == 1.0);

  assert_true(best(list, "Maria Fernanda Lopes", 0.9, &entry, &s));
  assert_int_equal(entry, 1);
  assert_true(s > 0.9 && s < 1.0);
  double near = s;
  /* the threshold is inclusive */
  assert_true(best(list, "Maria Fernanda Lopes", near, &entry, &s));
  assert_true(s == near);

  entry = 99;
  s = -1.0;
  assert_false(best(list, "Maria Fernanda Lopes", near + 1e-9, &entry, &s));
  assert_false(best(list, "Roberto Carlos Silva", 0.9, &entry, &s));
  assert_false(best(list, "ano", 0.5, &entry, &s)); /* short guard */
  assert_int_equal(entry, 99);                      /* untouched */
  assert_true(s == -1.0);

  assert_true(best(list, "ANA", 0.9, &entry, &s));
  assert_int_equal(entry, 2);
  assert_true(best(list, "Petrov, Ivan", 0.99, &entry, &s));
  assert_int_equal(entry, 3);
  assert_false(vg_fuzzy_list_best(list, "", 0, 0.0, &entry, &s));
  vg_fuzzy_list_free(list);

  list = vg_fuzzy_list_new(NULL, NULL, 0);
  assert_non_null(list);
  assert_false(best(list, "juan", 0.0, &entry, &s));
  vg_fuzzy_list_free(list);
  vg_fuzzy_list_free(NULL);
}

static void random_name(char *out, size_t cap) {
  static const char *syl[] = {"ma", "ri",  "a",    "jo", "se",  "lu", "is",
                              "an", "to",  "ni",   "pe", "dro", "go", "mez",
                              "ro", "dri", "guez", "li", "ñ",   "é"};
  size_t n = 0;
  int words = 1 + (int)(rnd() % 3);
  for (int w = 0; w < words; w++) {
    if (w > 0)
      n += (size_t)snprintf(out + n, cap - n, " ");
    int parts = 1 + (int)(rnd() % 4);
    for (int p = 0; p < parts; p++)
      n += (size_t)snprintf(out + n, cap - n, "%s",
                            syl[rnd() % (sizeof syl / sizeof syl[0])]);
  }
}

/* Mutates a name a little: swaps, drops or changes a byte (ASCII only). */
static void mutate(char *s) {
  size_t n = strlen(s);
  if (n < 2)
    return;
  size_t i = rnd() % (n - 1);
  if ((unsigned char)s[i] >= 0x80 || (unsigned char)s[i + 1] >= 0x80)
    return;
  switch (rnd() % 3) {
  case 0: {
    char t = s[i];
    s[i] = s[i + 1];
    s[i + 1] = t;
    break;
  }
  case 1:
    memmove(s + i, s + i + 1, n - i);
    break;
  default:
    s[i] = (char)('a' + rnd() % 26);
  }
}

/* Length and bucket pruning must not change the answer of a full scan. */
static void test_fuzzy_list_matches_brute_force(void **state) {
  (void)state;
  enum { N = 1500, QUERIES = 400 };
  static char names[N][64];
  static char keys[N][VG_NAME_MAX_BYTES];
  static size_t keylens[N];
  const char *ptrs[N];
  for (size_t i = 0; i < N; i++) {
    random_name(names[i], sizeof names[i]);
    ptrs[i] = names[i];
    keylens[i] =
        vg_name_key(names[i], strlen(names[i]), keys[i], sizeof keys[i]);
  }
  struct vg_fuzzy_list *list = make_list(ptrs, N);
  const double thresholds[] = {0.0,  0.5,  0.8,  0.85, 0.9,
                               0.95, 0.97, 0.98, 0.99, 1.0};
  int hits = 0;
  for (int q = 0; q < QUERIES; q++) {
    char raw[64], key[VG_NAME_MAX_BYTES];
    if (q % 2) {
      memcpy(raw, names[rnd() % N], sizeof raw);
      mutate(raw);
      if (q % 3 == 0)
        mutate(raw);
    } else {
      random_name(raw, sizeof raw);
    }
    size_t klen = vg_name_key(raw, strlen(raw), key, sizeof key);
    for (size_t t = 0; t < sizeof thresholds / sizeof thresholds[0]; t++) {
      double th = thresholds[t];
      bool want = false;
      size_t want_i = 0;
      double want_s = 0.0;
      for (size_t i = 0; klen > 0 && i < N; i++) {
        double s = vg_name_similarity(key, klen, keys[i], keylens[i]);
        if (s >= th && (!want || s > want_s)) {
          want = true;
          want_i = i;
          want_s = s;
        }
      }
      size_t got_i = 0;
      double got_s = 0.0;
      bool got = vg_fuzzy_list_best(list, key, klen, th, &got_i, &got_s);
      if (got != want || (got && (got_i != want_i || got_s != want_s)))
        fail_msg("query \"%.*s\" threshold %.2f: got %d #%zu %.6f, want %d "
                 "#%zu %.6f",
                 (int)klen, key, th, got, got_i, got_s, want, want_i, want_s);
      hits += got && th >= 0.9;
    }
  }
  assert_true(hits > 50); /* the mutated queries do find their names */
  vg_fuzzy_list_free(list);
}

/* ---- string sets --------------------------------------------------------- */

static void test_strset(void **state) {
  (void)state;
  const char *items[] = {"senoritas", "modelo", "", "modelo", "a\0b"};
  const size_t lens[] = {9, 6, 0, 6, 3};
  struct vg_strset *set = vg_strset_new(items, lens, 5);
  assert_non_null(set);
  assert_true(vg_strset_contains(set, "senoritas", 9));
  assert_true(vg_strset_contains(set, "modelo", 6));
  assert_true(vg_strset_contains(set, "", 0));
  assert_true(vg_strset_contains(set, "a\0b", 3));
  assert_false(vg_strset_contains(set, "a", 1));
  assert_false(vg_strset_contains(set, "senorita", 8));
  assert_false(vg_strset_contains(set, "modelos", 7));
  assert_false(vg_strset_contains(set, "Modelo", 6));
  vg_strset_free(set);

  set = vg_strset_new(NULL, NULL, 0);
  assert_non_null(set);
  assert_false(vg_strset_contains(set, "", 0));
  assert_false(vg_strset_contains(set, "x", 1));
  vg_strset_free(set);
  vg_strset_free(NULL);
  assert_false(vg_strset_contains(NULL, "x", 1));
}

static void test_strset_large(void **state) {
  (void)state;
  enum { N = 20000 };
  static char buf[2 * N][24];
  static const char *items[N];
  static size_t lens[N];
  for (size_t i = 0; i < 2 * N; i++)
    snprintf(buf[i], sizeof buf[i], "item-%zu-%u", i, rnd() % 1000);
  for (size_t i = 0; i < N; i++) {
    items[i] = buf[i];
    lens[i] = strlen(buf[i]);
  }
  struct vg_strset *set = vg_strset_new(items, lens, N);
  assert_non_null(set);
  for (size_t i = 0; i < N; i++)
    assert_true(vg_strset_contains(set, buf[i], strlen(buf[i])));
  /* the second half differs in the index, so none is a member */
  for (size_t i = N; i < 2 * N; i++)
    assert_false(vg_strset_contains(set, buf[i], strlen(buf[i])));
  for (size_t i = 0; i < N; i++)
    assert_false(vg_strset_contains(set, buf[i], strlen(buf[i]) - 1));
  vg_strset_free(set);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fold_unicode),
      cmocka_unit_test(test_fold_whitespace),
      cmocka_unit_test(test_fold_empty),
      cmocka_unit_test(test_fold_retry),
      cmocka_unit_test(test_fold_invalid_utf8),
      cmocka_unit_test(test_fold_ascii_paths_agree),
      cmocka_unit_test(test_is_ascii),
      cmocka_unit_test(test_phone_key),
      cmocka_unit_test(test_email_key),
      cmocka_unit_test(test_name_key),
      cmocka_unit_test(test_name_key_ascii_punct),
      cmocka_unit_test(test_name_key_limit),
      cmocka_unit_test(test_similarity),
      cmocka_unit_test(test_similarity_short),
      cmocka_unit_test(test_similarity_symmetric),
      cmocka_unit_test(test_similarity_reference),
      cmocka_unit_test(test_similarity_long),
      cmocka_unit_test(test_fuzzy_list),
      cmocka_unit_test(test_fuzzy_list_matches_brute_force),
      cmocka_unit_test(test_strset),
      cmocka_unit_test(test_strset_large),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
