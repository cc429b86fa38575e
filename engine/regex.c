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
  uint8_t bounds[MAX_LITS]; /* VG_LIT_WORD_START, VG_LIT_WORD_END */
  char lits[MAX_LITS][MAX_LIT];
};

static bool ascii_word(unsigned char c) {
  return isalnum(c) || c == '_';
}

/* How selective a literal is: spaces and punctuation occur everywhere,
 * letters and digits less so. */
static size_t weight(const char *s, size_t n) {
  size_t w = 0;
  for (size_t i = 0; i < n; i++)
    w += isalnum((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80;
  return w;
}

static size_t min_weight(const struct litset *a) {
  size_t m = SIZE_MAX;
  for (size_t i = 0; i < a->n; i++) {
    size_t w = weight(a->lits[i], a->lens[i]);
    m = w < m ? w : m;
  }
  return m;
}

/* How good a set is as a filter: its least selective literal, then fewer
 * literals. */
static bool better(const struct litset *a, const struct litset *b) {
  if (b->n == 0)
    return a->n > 0;
  if (a->n == 0)
    return false;
  size_t wa = min_weight(a), wb = min_weight(b);
  /* Beyond six letters a literal is selective enough; then fewer wins. */
  size_t ca = wa > 6 ? 6 : wa, cb = wb > 6 ? 6 : wb;
  if (ca != cb)
    return ca > cb;
  if (a->n != b->n)
    return a->n < b->n;
  return wa > wb;
}

/* Index of the ']' closing the class opened at p[i] == '[', or len. A ']'
 * right after '[' or '[^' is a member, and a POSIX name such as [:alpha:]
 * holds brackets of its own. */
static size_t class_end(const char *p, size_t len, size_t i) {
  i++;
  if (i < len && p[i] == '^')
    i++;
  if (i < len && p[i] == ']')
    i++;
  while (i < len && p[i] != ']') {
    if (p[i] == '\\') {
      i += 2;
      continue;
    }
    if (p[i] == '[' && i + 1 < len &&
        (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '=')) {
      /* As PCRE2 reads it: a ']' before the terminator means no name. */
      char term = p[i + 1];
      size_t j = i + 2;
      while (j + 1 < len && p[j] != ']' && !(p[j] == term && p[j + 1] == ']'))
        j++;
      if (j + 1 < len && p[j] == term) {
        i = j + 2;
        continue;
      }
    }
    i++;
  }
  return i < len ? i : len;
}

/* End of the group opened at p[i] == '(' (index of its ')'), or len. */
static size_t group_end(const char *p, size_t len, size_t i) {
  int depth = 0;
  for (; i < len; i++) {
    if (p[i] == '\\') {
      i++;
      continue;
    }
    if (p[i] == '[') {
      i = class_end(p, len, i);
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

static bool alternatives(const char *p, size_t len, struct litset *out,
                         bool left_b, bool right_b);

/* Every required set of a sequence, when the caller wants them all. */
#define MAX_SETS 8
struct setlist {
  size_t n;
  struct litset sets[MAX_SETS];
};

static void offer(struct litset *best, struct setlist *all,
                  const struct litset *candidate) {
  if (better(candidate, best))
    *best = *candidate;
  if (all && all->n < MAX_SETS)
    all->sets[all->n++] = *candidate;
}

/* The best required literal set of a sequence without top-level '|' (and,
 * when all is not NULL, every required set it found). */
static bool sequence(const char *p, size_t len, struct litset *best,
                     struct setlist *all, bool left_b, bool right_b) {
  struct litset run_set;
  char run[MAX_LIT];
  size_t run_len = 0;
  /* Word boundaries (\b) right before or after a run: the prefilter can
   * then refuse occurrences inside a word. Only kept where the run's edge
   * is an ASCII word character, so the boundary means "no ASCII word
   * character next to it". */
  bool run_left = false, run_right = false, after_b = left_b;
  best->n = 0;
#define FLUSH()                                                                \
  do {                                                                         \
    if (run_len) {                                                             \
      run_set.n = 1;                                                           \
      run_set.lens[0] = run_len;                                               \
      run_set.bounds[0] =                                                      \
          (uint8_t)((run_left && ascii_word((unsigned char)run[0])             \
                         ? VG_LIT_WORD_START                                   \
                         : 0) |                                                \
                    (run_right && ascii_word((unsigned char)run[run_len - 1])  \
                         ? VG_LIT_WORD_END                                     \
                         : 0));                                                \
      memcpy(run_set.lits[0], run, run_len);                                   \
      offer(best, all, &run_set);                                              \
      run_len = 0;                                                             \
    }                                                                          \
    run_left = run_right = false;                                              \
  } while (0)
  size_t i = 0;
  while (i < len) {
    bool was_b = after_b;
    after_b = false;
    unsigned char c = (unsigned char)p[i];
    char lit[4];
    size_t width = 0;
    bool present;
    if (c == '\\') {
      if (i + 1 >= len)
        return false;
      unsigned char n = (unsigned char)p[i + 1];
      i += 2;
      if (n == 'b' && !(i < len && strchr("*+?{", p[i]))) {
        run_right = run_len > 0;
        FLUSH();
        after_b = true;
        continue;
      }
      if (isalnum(n)) {
        FLUSH();
        if (n == 'Q' || n == 'E')
          return false;
        if (strchr("pPxgkoN", n) && i < len && p[i] == '{') {
          while (i < len && p[i] != '}')
            i++;
          i++;
        } else if (n == 'x') {
          /* \xhh */
          while (i < len && isxdigit((unsigned char)p[i]))
            i++;
        } else if ((n == 'c' || n == 'p' || n == 'P') && i < len) {
          /* \cX, a control character; \pL, a one-letter property */
          i++;
        } else if ((n == 'g' || n == 'k') && i < len &&
                   (p[i] == '<' || p[i] == '\'')) {
          /* \k<name>, \g'name': a reference, not text */
          char close = p[i] == '<' ? '>' : '\'';
          while (++i < len && p[i] != close)
            ;
          i++;
        } else if (n == 'g') {
          /* \g1, \g-1, \g+1 */
          if (i < len && (p[i] == '-' || p[i] == '+'))
            i++;
          while (i < len && isdigit((unsigned char)p[i]))
            i++;
        }
        skip_quantifier(p, len, &i, &present);
        continue;
      }
      /* An escaped character stands for itself, all of its bytes. */
      width = n < 0x80 ? 1 : n >= 0xF0 ? 4 : n >= 0xE0 ? 3 : 2;
      if (i - 1 + width > len)
        return false;
      memcpy(lit, p + i - 1, width);
      i += width - 1;
    } else if (c == '[') {
      FLUSH();
      i = class_end(p, len, i) + 1;
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
      } else if (inner < end && p[inner] == '*') {
        capturing_or_plain = false; /* a verb: (*UTF), (*SKIP), ... */
      }
      i = end + 1;
      bool optional = skip_quantifier(p, len, &i, &present);
      /* A boundary after the group binds only when it is not repeated. */
      bool group_right = !present && i + 1 < len && p[i] == '\\' &&
                         p[i + 1] == 'b' &&
                         !(i + 2 < len && strchr("*+?{", p[i + 2]));
      struct litset group;
      if (capturing_or_plain && !optional &&
          alternatives(p + inner, end - inner, &group, was_b, group_right))
        offer(best, all, &group);
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
    if (run_len == 0)
      run_left = was_b;
    memcpy(run + run_len, lit, width);
    run_len += width;
    if (present) /* repeated: what follows is not adjacent */
      FLUSH();
  }
  run_right = right_b && run_len > 0;
  FLUSH();
#undef FLUSH
  return best->n > 0;
}

/* The union over top-level alternatives; false when one has none. */
static bool alternatives(const char *p, size_t len, struct litset *out,
                         bool left_b, bool right_b) {
  out->n = 0;
  size_t start = 0;
  int depth = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i < len) {
      if (p[i] == '\\') {
        i++;
        continue;
      }
      if (p[i] == '[') {
        i = class_end(p, len, i);
        if (i == len)
          i--; /* unclosed: the last alternative ends here */
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
    if (!sequence(p + start, i - start, &alt, NULL, left_b, right_b) ||
        out->n + alt.n > MAX_LITS)
      return false;
    for (size_t j = 0; j < alt.n; j++) {
      out->lens[out->n] = alt.lens[j];
      out->bounds[out->n] = alt.bounds[j];
      memcpy(out->lits[out->n], alt.lits[j], alt.lens[j]);
      out->n++;
    }
    start = i + 1;
  }
  return out->n > 0;
}

/* Converts a literal to the form the value is searched in. Returns its
 * length, 0 when nothing of it can be relied on; *bounds keeps the
 * boundary marks that still sit at the edges of what is searched. */
static size_t search_form(const char *run, size_t n, bool caseless, bool folded,
                          char *out, size_t cap, uint8_t *bounds) {
  if (folded) {
    /* The pattern runs on the folded value: fold the literal alike. */
    *bounds = 0;
    size_t len = vg_fold(run, n, out, cap);
    return len <= cap ? len : 0;
  }
  if (caseless) {
    /* Caseless: the value is searched ASCII-case-insensitively, so only
     * the longest ASCII stretch of the literal can be relied on. */
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
    if (best_n > cap)
      return 0;
    for (size_t j = 0; j < best_n; j++)
      out[j] = (char)tolower((unsigned char)run[best_at + j]);
    if (best_at != 0)
      *bounds &= (uint8_t)~VG_LIT_WORD_START;
    if (best_at + best_n != n)
      *bounds &= (uint8_t)~VG_LIT_WORD_END;
    return best_n;
  }
  if (n > cap)
    return 0;
  memcpy(out, run, n);
  return n;
}

static size_t top_alternatives(const char *p, size_t len) {
  size_t n = 1;
  int depth = 0;
  for (size_t i = 0; i < len; i++) {
    if (p[i] == '\\') {
      i++;
      continue;
    }
    if (p[i] == '[') {
      i = class_end(p, len, i);
    } else if (p[i] == '(') {
      depth++;
    } else if (p[i] == ')') {
      depth--;
    } else if (p[i] == '|' && depth == 0) {
      n++;
    }
  }
  return n;
}

int vg__regex_literals(struct vg_arena *arena, const char *pattern, size_t len,
                       bool caseless, bool folded,
                       struct vg_regex_literals *out) {
  memset(out, 0, sizeof *out);
  /* Inline options and backreferences change what a literal means, and
   * (*ACCEPT) ends a match early: such patterns always run. */
  for (size_t i = 0; i + 1 < len; i++) {
    if (len - i >= 8 && !memcmp(pattern + i, "(*ACCEPT", 8))
      return VG_OK;
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
  struct setlist *all = malloc(sizeof *all);
  if (!all)
    return VG_ENOMEM;
  all->n = 0;
  int rc = VG_OK;
  if (top_alternatives(pattern, len) == 1) {
    /* One alternative: every required set must be there, so all of them
     * filter together. */
    struct litset best;
    sequence(pattern, len, &best, all, false, false);
  } else if (alternatives(pattern, len, &all->sets[0], false, false)) {
    all->n = 1;
  }
  size_t total = 0;
  for (size_t i = 0; i < all->n; i++)
    total += all->sets[i].n;
  if (total == 0)
    goto done;
  const char **lits = vg_arena_alloc(arena, total * sizeof *lits);
  size_t *lens = vg_arena_alloc(arena, total * sizeof *lens);
  size_t *ends = vg_arena_alloc(arena, all->n * sizeof *ends);
  uint8_t *bounds = vg_arena_alloc(arena, total * sizeof *bounds);
  if (!lits || !lens || !ends || !bounds) {
    rc = VG_ENOMEM;
    goto done;
  }
  size_t n = 0, nsets = 0;
  for (size_t si = 0; si < all->n; si++) {
    const struct litset *set = &all->sets[si];
    size_t first = n;
    bool usable = true;
    for (size_t a = 0; a < set->n && usable; a++) {
      char form[1024];
      uint8_t b = set->bounds[a];
      size_t flen = search_form(set->lits[a], set->lens[a], caseless, folded,
                                form, sizeof form, &b);
      if (flen == 0) {
        usable = false; /* a set with an unusable literal filters nothing */
        break;
      }
      char *lit = vg_arena_strndup(arena, form, flen);
      if (!lit) {
        rc = VG_ENOMEM;
        goto done;
      }
      lits[n] = lit;
      lens[n] = flen;
      bounds[n] = b;
      n++;
    }
    if (!usable) {
      n = first;
      continue;
    }
    ends[nsets++] = n;
  }
  if (nsets == 0)
    goto done;
  out->literals = lits;
  out->lens = lens;
  out->bounds = bounds;
  out->count = n;
  out->set_ends = ends;
  out->nsets = nsets;
done:
  free(all);
  return rc;
}
