/* regex.h - required literals of a regular expression, for the prefilter
 * that runs a PCRE2 pattern only when one of them occurs. */
#ifndef VG_REGEX_H
#define VG_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

/* What a value must contain for a pattern to match: every set (a
 * conjunction), at least one literal of each set (a disjunction). Literals
 * are as written when case-sensitive; ASCII-lower-cased and ASCII-only
 * when caseless (searched ASCII-case-insensitively); folded with vg_fold
 * when folded (searched in the folded value). */
struct vg_regex_literals {
  const char **literals;
  size_t *lens;
  uint8_t *bounds; /* per literal: VG_LIT_WORD_START, VG_LIT_WORD_END */
  size_t count;
  size_t *set_ends; /* set i is literals [set_ends[i-1], set_ends[i]) */
  size_t nsets;     /* 0: no prefilter is possible; always run */
};

/* A literal marked so follows (or is followed by) a word boundary in the
 * pattern, and starts (ends) with an ASCII word character: an occurrence
 * with an ASCII letter, digit or '_' right before (after) it cannot be
 * part of a match. */
#define VG_LIT_WORD_START 1
#define VG_LIT_WORD_END 2

/* Analyses pattern. Returns 0 or VG_ENOMEM; arrays live in arena. */
int vg__regex_literals(struct vg_arena *arena, const char *pattern, size_t len,
                       bool caseless, bool folded,
                       struct vg_regex_literals *out);

#endif
