/* fold.h - text normalisation shared by every comparison: Unicode folding
 * (utf8proc), phone keys, name keys and name similarity for `fuzzy`, and a
 * read-only string set for `in` lists. */
#ifndef VG_FOLD_H
#define VG_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Folds s[0..len) as string comparisons see it: Unicode case folding,
 * compatibility decomposition with combining marks stripped ("Señoritas" ->
 * "senoritas", fullwidth letters to ASCII), leading and trailing white space
 * trimmed, inner runs of white space collapsed to one ASCII space. ASCII
 * input takes a fast path without utf8proc.
 * Writes at most cap bytes to out (no NUL) and returns the folded length;
 * when that is larger than cap the output is incomplete and the caller
 * retries with a buffer of the returned size. Invalid UTF-8 sequences are
 * copied through byte for byte (inputs are validated before folding). */
size_t vg_fold(const char *s, size_t len, char *out, size_t cap);

/* True when s[0..len) is pure ASCII. */
bool vg_is_ascii(const char *s, size_t len);

/* The digits of a phone number, as compared: every non-digit dropped, a
 * leading "00" dropped, and when country_code is non-NULL and the number was
 * written without a leading '+' or "00", country_code put in front. So
 * "+57 300-123 4567", "0057 3001234567" and "300 123 4567" (code "57") give
 * "573001234567". Same output contract as vg_fold; returns 0 when s has no
 * digit. */
size_t vg_phone_key(const char *s, size_t len, const char *country_code,
                    char *out, size_t cap);

/* An e-mail address as compared: trimmed and lower-cased (ASCII and Unicode
 * alike, through vg_fold). Same output contract as vg_fold. */
size_t vg_email_key(const char *s, size_t len, char *out, size_t cap);

/* A name as `fuzzy` compares it: folded, every punctuation or symbol
 * character turned into a space, tokens sorted bytewise and joined by single
 * spaces ("Pérez-Gómez, Juan" -> "gomez juan perez"). Same output contract as
 * vg_fold. Names are keyed on their first VG_NAME_MAX_BYTES folded bytes
 * (cut at a character boundary), so the function never allocates and the
 * key is never longer than that. */
#define VG_NAME_MAX_BYTES 1024
size_t vg_name_key(const char *s, size_t len, char *out, size_t cap);

/* Similarity in [0, 1] of two name keys (outputs of vg_name_key): the
 * Jaro-Winkler similarity over code points. Keys shorter than
 * VG_FUZZY_MIN_CHARS code points are only similar when equal (1.0), else 0.
 * Byte-equal keys give 1.0. Only the first VG_FUZZY_MAX_CHARS code points of
 * a key are compared, so scoring allocates nothing. */
#define VG_FUZZY_MIN_CHARS 4
#define VG_FUZZY_MAX_CHARS 256
double vg_name_similarity(const char *a, size_t alen, const char *b,
                          size_t blen);

/* A fuzzy list: name keys prepared once, searched many times. */
struct vg_fuzzy_list;

/* Builds a list from n entries (raw names, borrowed for the call). Returns
 * NULL when out of memory. */
struct vg_fuzzy_list *vg_fuzzy_list_new(const char *const *entries,
                                        const size_t *lens, size_t n);
void vg_fuzzy_list_free(struct vg_fuzzy_list *list);

/* Finds the entry most similar to the name key `key` (an output of
 * vg_name_key). Returns true when its similarity is >= threshold, setting
 * *entry to its index in the order given to vg_fuzzy_list_new and
 * *similarity; false otherwise (out-parameters untouched). Entries that
 * cannot reach the threshold by length alone are skipped without being
 * scored. An empty key matches nothing. Allocates nothing. */
bool vg_fuzzy_list_best(const struct vg_fuzzy_list *list, const char *key,
                        size_t keylen, double threshold, size_t *entry,
                        double *similarity);

/* A read-only set of byte strings (the folded entries of an `in` list). */
struct vg_strset;

/* Builds a set from n strings (copied). Returns NULL when out of memory. */
struct vg_strset *vg_strset_new(const char *const *items, const size_t *lens,
                                size_t n);
void vg_strset_free(struct vg_strset *set);
/* True when s[0..len) is in the set. Allocates nothing. */
bool vg_strset_contains(const struct vg_strset *set, const char *s, size_t len);

#endif
