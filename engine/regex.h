/* regex.h - required literals of a regular expression, for the prefilter
 * that runs a PCRE2 pattern only when one of them occurs. */
#ifndef VG_REGEX_H
#define VG_REGEX_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

/* Finds, for each top-level alternative of pattern, a literal that every
 * match of that alternative contains. On success with *count > 0, a value
 * the pattern matches contains at least one of the literals: as written
 * when case-sensitive; ASCII-lower-cased and ASCII-only when caseless (to
 * be searched in the ASCII-lower-cased value); folded with vg_fold when
 * folded (to be searched in the folded value). *count == 0 means no prefilter
 * is possible. Returns 0 or VG_ENOMEM; strings live in arena. */
int vg__regex_literals(struct vg_arena *arena, const char *pattern,
                       size_t len, bool caseless, bool folded,
                       const char ***out, size_t **out_lens, size_t *count);

#endif
