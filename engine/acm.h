/* acm.h - multi-literal search (Aho-Corasick compiled to a DFA over byte
 * classes): one pass over a value tells which of many literals occur in
 * it. The regex prefilter uses it so a record's text is read once however
 * many patterns look at it. */
#ifndef VG_ACM_H
#define VG_ACM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vg_acm;

/* Builds a matcher for n literals (borrowed for the call; empty literals
 * are ignored). With ascii_caseless, ASCII letters match either case.
 * bounds (NULL for none) marks literals that must not touch an ASCII word
 * character on the left (bit 1) or right (bit 2): such occurrences are not
 * reported. Returns NULL when out of memory. */
struct vg_acm *vg_acm_new(const char *const *literals, const size_t *lens,
                          const uint8_t *bounds, size_t n, bool ascii_caseless);
void vg_acm_free(struct vg_acm *acm);

/* Words of the bitmap vg_acm_scan fills: one bit per literal. */
size_t vg_acm_words(const struct vg_acm *acm);

/* Sets bit i of found (vg_acm_words() words, cleared by the caller) for
 * every literal i that occurs in text. Allocates nothing. */
void vg_acm_scan(const struct vg_acm *acm, const char *text, size_t len,
                 uint64_t *found);

#endif
