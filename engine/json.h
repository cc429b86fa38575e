/* json.h - the record reader's JSON scanner. It validates a whole line as
 * strict JSON (RFC 8259, UTF-8) but only notes where the values of the
 * declared field paths are: no DOM is built for fields no rule reads. */
#ifndef VG_JSON_H
#define VG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vg_json_kind {
  VG_JSON_ABSENT = 0, /* the path is not in the record */
  VG_JSON_NULL,
  VG_JSON_FALSE,
  VG_JSON_TRUE,
  VG_JSON_NUMBER,
  VG_JSON_STRING,
  VG_JSON_ARRAY,
  VG_JSON_OBJECT
};

/* Where one value sits in the scanned buffer. */
struct vg_json_token {
  uint8_t kind;    /* enum vg_json_kind */
  uint8_t escaped; /* STRING: the contents hold backslash escapes */
  uint32_t start;  /* STRING: first byte after the opening quote;
                      others: first byte of the value */
  uint32_t len;    /* STRING: bytes between the quotes (still escaped);
                      others: the whole value's text */
  uint32_t count;  /* ARRAY: number of elements; OBJECT: number of members */
};

/* A set of dotted field paths ("traveller.document.number"), each with a
 * dense index, matched against nested objects while scanning. */
struct vg_pathtrie;

struct vg_pathtrie *vg_pathtrie_new(void);
void vg_pathtrie_free(struct vg_pathtrie *trie);
/* Adds a path (segments separated by '.'); adding a path already present
 * returns its index. Returns the index (>= 0) or VG_ENOMEM / VG_EINVAL (an
 * empty segment). */
int vg_pathtrie_add(struct vg_pathtrie *trie, const char *path, size_t len);
size_t vg_pathtrie_count(const struct vg_pathtrie *trie);

struct vg_json_error {
  size_t offset;     /* byte offset in the buffer, 0-based */
  char message[112]; /* "invalid UTF-8", "expected ',' or '}'", ... */
};

#define VG_JSON_MAX_DEPTH 128

/* Scans buf[0..len) (one record; trailing white space allowed, no NUL
 * needed). The top level must be an object. On success returns 0 and fills
 * tokens[i] for every path index i of the trie (VG_JSON_ABSENT when the path
 * is not there; when a key repeats, the last occurrence wins). On failure
 * returns VG_EINVAL and fills *err; tokens are then unspecified. Buffers
 * over 4 GiB are refused. Allocates nothing. */
int vg_json_scan(const struct vg_pathtrie *trie, const char *buf, size_t len,
                 struct vg_json_token *tokens, struct vg_json_error *err);

/* Decodes the escaped contents of a STRING token into out, which must have
 * room for tok->len bytes (decoding never grows). Returns the decoded
 * length. Only valid on buffers vg_json_scan accepted. */
size_t vg_json_unescape(const char *contents, size_t len, char *out);

/* Iterates over the elements of an ARRAY token of a scanned buffer. */
struct vg_json_iter {
  const char *buf;
  uint32_t pos, end;
};
void vg_json_iter_init(struct vg_json_iter *it, const char *buf,
                       const struct vg_json_token *array);
/* Sets *elem to the next element and returns true, or returns false at the
 * end. Nested arrays and objects come back as one token each. */
bool vg_json_iter_next(struct vg_json_iter *it, struct vg_json_token *elem);

/* Parses a NUMBER token's text. Returns 0 and sets *value; *integral is set
 * when the number has no fractional part and fits an int64 (then *ivalue
 * holds it). Returns VG_EINVAL when out of double range. */
int vg_json_number(const char *text, size_t len, double *value, bool *integral,
                   int64_t *ivalue);

#endif
