/* regex.c - the literals a pattern cannot match without, so the evaluator
 * can skip a PCRE2 call when none of them occurs in the value (the
 * prefilter intrusion-detection engines use). For a sequence the best
 * required candidate is kept: a run of plain characters, or a required
 * group whose every alternative has a required literal of its own. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"
#include "regex.h"
#include "vg_error.h"

#define MAX_LITS 64
#define MAX_LIT 64

struct litset {
  size_t n;
  size_t lens[MAX_LITS];
  char lits[MAX_LITS][MAX_LIT];
};

/* How good a set is as a filter: its shortest literal, then fewer. */
static bool better(const struct litset *a, const struct litset *b) {
  if (b->n == 0)
    return a->n > 0;
  if (a->n == 0)
    return false;
  size_t amin = SIZE_MAX, bmin = SIZE_MAX;
  for (size_t i = 0; i < a->n; i++)
    amin = a->lens[i] < amin ? a->lens[i] : amin;
  for (size_t i = 0; i < b->n; i++)
    bmin = b->lens[i] < bmin ? b->lens[i] : bmin;
  /* Beyond four bytes a literal is selective enough; then fewer wins. */
  size_t ca = amin > 4 ? 4 : amin, cb = bmin > 4 ? 4 : bmin;
  if (ca != cb)
    return ca > cb;
  if (a->n != b->n)
    return a->n < b->n;
  return amin > bmin;
}

/* End of the group opened at p[i] == '(' (index of its ')'), or len. */
static size_t group_end(const char *p, size_t len, size_t i) {
  int depth = 0;
  bool in_class = false;
  for (; i < len; i++) {
    if (p[i] == '\\') {
      i++;
      continue;
    }
    if (in_class) {
      if (p[i] == ']')
        in_class = false;
      continue;
    }
    if (p[i] == '[') {
      in_class = true;
      if (i + 1 < len && p[i + 1] == '^')
        i++;
      if (i + 1 < len && p[i + 1] == ']')
        i++;
      continue;
    }
    if (p[i] == '(')
      depth++;
    else if (p[i] == ')' && --depth == 0)
      return i;
  }
  return len;
}

/* Skips a quantifier at p[*i]; returns true when it allows zero times. */
static bool skip_quantifier(const char *p, size_t len, size_t *i,
                            bool *present) {
  *present = false;
  if (*i >= len)
    return false;
  char q = p[*i];
  bool optional = false;
  if (q == '*' || q == '?') {
    optional = true;
    (*i)++;
  } else if (q == '+') {
    (*i)++;
  } else if (q == '{' && *i + 1 < len && isdigit((unsigned char)p[*i + 1])) {
    optional = p[*i + 1] == '0';
    while (*i < len && p[*i] != '}')
      (*i)++;
    (*i)++;
  } else {
    return false;
  }
  *present = true;
  if (*i < len && (p[*i] == '?' || p[*i] == '+'))
    (*i)++; /* lazy or possessive */
  return optional;
}

static bool alternatives(const char *p, size_t len, struct litset *out);

/* The best required literal set of a sequence without top-level '|'. */
static bool sequence(const char *p, size_t len, struct litset *best) {
  struct litset run_set;
  char run[MAX_LIT];
  size_t run_len = 0;
  best->n = 0;
#define FLUSH()                                                                \
  do {                                                                         \
    if (run_len) {                                                             \
      run_set.n = 1;                                                           \
      run_set.lens[0] = run_len;                                               \
      memcpy(run_set.lits[0], run, run_len);                                   \
      if (better(&run_set, best))                                              \
        *best = run_set;                                                       \
      run_len = 0;                                                             \
    }                                                                          \
  } while (0)
  size_t i = 0;
  while (i < len) {
    unsigned char c = (unsigned char)p[i];
    char lit[4];
    size_t width = 0;
    bool present;
    if (c == '\\') {
      if (i + 1 >= len)
        return false;
      unsigned char n = (unsigned char)p[i + 1];
      i += 2;
      if (isalnum(n)) {
        FLUSH();
        if ((n == 'p' || n == 'P' || n == 'x' || n == 'g' || n == 'k') &&
            i < len && p[i] == '{') {
          while (i < len && p[i] != '}')
            i++;
          i++;
        } else if (n == 'x') {
          /* \xhh */
          while (i < len && isxdigit((unsigned char)p[i]))
            i++;
        }
        if (n == 'Q' || n == 'E')
          return false;
        skip_quantifier(p, len, &i, &present);
        continue;
      }
      lit[0] = (char)n;
      width = 1;
    } else if (c == '[') {
      FLUSH();
      i++;
      if (i < len && p[i] == '^')
        i++;
      if (i < len && p[i] == ']')
        i++;
      while (i < len && p[i] != ']') {
        if (p[i] == '\\')
          i++;
        i++;
      }
      i++;
      skip_quantifier(p, len, &i, &present);
      continue;
    } else if (c == '(') {
      FLUSH();
      size_t end = group_end(p, len, i);
      size_t inner = i + 1;
      bool capturing_or_plain = true;
      if (inner < end && p[inner] == '?') {
        if (inner + 1 < end && p[inner + 1] == ':')
          inner += 2;
        else
          capturing_or_plain = false; /* lookaround, named group, ... */
      }
      i = end + 1;
      bool optional = skip_quantifier(p, len, &i, &present);
      struct litset group;
      if (capturing_or_plain && !optional &&
          alternatives(p + inner, end - inner, &group) && better(&group, best))
        *best = group;
      continue;
    } else if (c == '.' || c == '^' || c == '$' || c == ')' || c == '|') {
      FLUSH();
      i++;
      skip_quantifier(p, len, &i, &present);
      continue;
    } else if (c == '*' || c == '+' || c == '?' || c == '{') {
      FLUSH();
      i++;
      continue;
    } else {
      width = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      if (i + width > len)
        return false;
      memcpy(lit, p + i, width);
    }
    if (c != '\\')
      i += width;
    bool optional = skip_quantifier(p, len, &i, &present);
    if (optional) {
      FLUSH();
      continue;
    }
    if (run_len + width > MAX_LIT)
      FLUSH();
    memcpy(run + run_len, lit, width);
    run_len += width;
    if (present) /* repeated: what follows is not adjacent */
      FLUSH();
  }
  FLUSH();
#undef FLUSH
  return best->n > 0;
}

/* The union over top-level alternatives; false when one has none. */
static bool alternatives(const char *p, size_t len, struct litset *out) {
  out->n = 0;
  size_t start = 0;
  int depth = 0;
  bool in_class = false;
  for (size_t i = 0; i <= len; i++) {
    if (i < len) {
      if (p[i] == '\\') {
        i++;
        continue;
      }
      if (in_class) {
        if (p[i] == ']')
          in_class = false;
        continue;
      }
      if (p[i] == '[') {
        in_class = true;
        if (i + 1 < len && p[i + 1] == '^')
          i++;
        if (i + 1 < len && p[i + 1] == ']')
          i++;
        continue;
      }
      if (p[i] == '(')
        depth++;
      if (p[i] == ')')
        depth--;
      if (p[i] != '|' || depth != 0)
        continue;
    }
    struct litset alt;
    if (!sequence(p + start, i - start, &alt) || out->n + alt.n > MAX_LITS)
      return false;
    for (size_t j = 0; j < alt.n; j++) {
      out->lens[out->n] = alt.lens[j];
      memcpy(out->lits[out->n], alt.lits[j], alt.lens[j]);
      out->n++;
    }
    start = i + 1;
  }
  return out->n > 0;
}

int vg__regex_literals(struct vg_arena *arena, const char *pattern,
                       size_t len, bool caseless, bool folded,
                       const char ***out, size_t **out_lens, size_t *count) {
  *out = NULL;
  *out_lens = NULL;
  *count = 0;
  /* Inline options and backreferences change what a literal means: such
   * patterns always run. */
  for (size_t i = 0; i + 1 < len; i++) {
    if (pattern[i] == '\\') {
      if (isdigit((unsigned char)pattern[i + 1]))
        return VG_OK;
      i++;
      continue;
    }
    if (pattern[i] == '(' && pattern[i + 1] == '?' && i + 2 < len &&
        (isalpha((unsigned char)pattern[i + 2]) || pattern[i + 2] == '-' ||
         pattern[i + 2] == '^'))
      return VG_OK;
  }
  struct litset *s = malloc(sizeof *s);
  if (!s)
    return VG_ENOMEM;
  int rc = VG_OK;
  if (!alternatives(pattern, len, s))
    goto done;
  const char **lits = vg_arena_alloc(arena, s->n * sizeof *lits);
  size_t *lens = vg_arena_alloc(arena, s->n * sizeof *lens);
  if (!lits || !lens) {
    rc = VG_ENOMEM;
    goto done;
  }
  for (size_t a = 0; a < s->n; a++) {
    const char *run = s->lits[a];
    size_t n = s->lens[a];
    char *lit;
    size_t lit_len;
    if (folded) {
      /* The pattern runs on the folded value: fold the literal alike. */
      char tmp[1024];
      lit_len = vg_fold(run, n, tmp, sizeof tmp);
      if (lit_len == 0 || lit_len > sizeof tmp)
        goto done;
      lit = vg_arena_strndup(arena, tmp, lit_len);
    } else if (caseless) {
      /* Caseless: the value is searched ASCII-lower-cased, so only the
       * longest ASCII stretch of the literal can be relied on. */
      size_t best_at = 0, best_n = 0, at = 0;
      for (size_t j = 0; j <= n; j++) {
        if (j == n || (unsigned char)run[j] >= 0x80) {
          if (j - at > best_n) {
            best_n = j - at;
            best_at = at;
          }
          at = j + 1;
        }
      }
      if (best_n == 0)
        goto done;
      lit = vg_arena_strndup(arena, run + best_at, best_n);
      if (lit)
        for (size_t j = 0; j < best_n; j++)
          lit[j] = (char)tolower((unsigned char)lit[j]);
      lit_len = best_n;
    } else {
      lit_len = n;
      lit = vg_arena_strndup(arena, run, n);
    }
    if (!lit) {
      rc = VG_ENOMEM;
      goto done;
    }
    lits[a] = lit;
    lens[a] = lit_len;
  }
  *out = lits;
  *out_lens = lens;
  *count = s->n;
done:
  free(s);
  return rc;
}
