/* ndjson.c - the NDJSON record source: reads the stream in large blocks and
 * yields one line at a time, pointing into its buffer without copying. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"
#include "vg_error.h"

/* Large reads keep stdio and the kernel out of the per-line cost. */
#define NDJSON_BLOCK ((size_t)1 << 20)

struct ndjson {
  struct vg_source base;
  FILE *in; /* borrowed */
  char *name;
  char *buf;
  size_t cap;   /* bytes allocated */
  size_t limit; /* the most the buffer may grow to */
  size_t start; /* first byte not yet handed out */
  size_t len;   /* bytes read into buf */
  size_t max;   /* max_record_bytes */
  long line;    /* lines fully consumed so far */
  bool eof;
  bool skipping; /* discarding the rest of an oversize line */
  int error;     /* sticky VG_EIO */
};

static void fill_place(struct vg_source_item *item, long line) {
  item->line = line;
  snprintf(item->where, sizeof item->where, "line %ld", line);
  item->reason[0] = '\0';
  item->raw = NULL;
  item->raw_len = 0;
  item->json = NULL;
  item->json_len = 0;
}

static void set_reject(struct ndjson *r, struct vg_source_item *item,
                       const char *raw, size_t raw_len, long line) {
  fill_place(item, line);
  item->type = VG_ITEM_REJECT;
  snprintf(item->reason, sizeof item->reason,
           "record larger than the limit of %zu bytes", r->max);
  item->raw = raw;
  item->raw_len = raw_len < VG_RAW_EXCERPT ? raw_len : VG_RAW_EXCERPT;
}

/* Turns the complete line p[0..n) (without its '\n'), numbered r->line,
 * into an item. Returns false for a blank line, which is no record. */
static bool emit_line(struct ndjson *r, const char *p, size_t n,
                      struct vg_source_item *item) {
  if (n && p[n - 1] == '\r')
    n--;
  if (r->line == 1 && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
    p += 3;
    n -= 3;
  }
  size_t i = 0;
  while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
    i++;
  if (i == n)
    return false;
  if (n > r->max) {
    set_reject(r, item, p, n, r->line);
    return true;
  }
  fill_place(item, r->line);
  item->type = VG_ITEM_RECORD;
  item->json = p;
  item->json_len = n;
  return true;
}

/* Reads more bytes after buf[len). Returns 0 (setting eof at the end of the
 * stream) or VG_EIO. */
static int fill(struct ndjson *r) {
  size_t want = r->cap - r->len;
  size_t got = fread(r->buf + r->len, 1, want, r->in);
  r->len += got;
  if (got < want) {
    if (ferror(r->in)) {
      r->error = VG_EIO;
      return VG_EIO;
    }
    r->eof = true;
  }
  return 0;
}

/* Called when buf holds no complete line: moves the partial line to the
 * front and makes room after it, growing the buffer up to the limit.
 * Returns 1 when the partial line is already too long (the caller rejects
 * it), 0 when there is room, VG_ENOMEM when the buffer cannot grow. */
static int make_room(struct ndjson *r) {
  size_t pending = r->len - r->start;
  if (r->start > 0) {
    memmove(r->buf, r->buf + r->start, pending);
    r->start = 0;
    r->len = pending;
  }
  if (r->len < r->cap)
    return 0;
  if (r->cap >= r->limit)
    return 1;
  size_t cap = r->cap > r->limit / 2 ? r->limit : r->cap * 2;
  char *bigger = realloc(r->buf, cap);
  if (!bigger)
    return VG_ENOMEM;
  r->buf = bigger;
  r->cap = cap;
  return 0;
}

static int ndjson_next(struct vg_source *src, struct vg_source_item *item) {
  struct ndjson *r = (struct ndjson *)src;
  if (r->error)
    return r->error;
  for (;;) {
    char *from = r->buf + r->start;
    size_t avail = r->len - r->start;
    char *nl = avail ? memchr(from, '\n', avail) : NULL;
    if (r->skipping) {
      if (nl) {
        r->start += (size_t)(nl - from) + 1;
        r->skipping = false;
        r->line++;
        continue;
      }
      /* Drop what was read of the oversize line: it is never held whole. */
      r->start = r->len = 0;
      if (r->eof) {
        r->skipping = false;
        r->line++;
        return 0;
      }
    } else if (nl) {
      size_t n = (size_t)(nl - from);
      r->start += n + 1;
      r->line++;
      if (emit_line(r, from, n, item))
        return 1;
      continue;
    } else if (r->eof) {
      if (avail == 0)
        return 0;
      r->start = r->len;
      r->line++;
      if (emit_line(r, from, avail, item))
        return 1;
      continue;
    } else {
      int rc = make_room(r);
      if (rc < 0)
        return rc;
      if (rc == 1) {
        /* The buffer is full at its limit (at least max + 2 bytes) and
         * holds no newline, so the line's content exceeds the limit. */
        set_reject(r, item, r->buf, r->len, r->line + 1);
        r->skipping = true;
        r->start = r->len;
        return 1;
      }
    }
    int rc = fill(r);
    if (rc < 0)
      return rc;
  }
}

static void ndjson_free(struct vg_source *src) {
  struct ndjson *r = (struct ndjson *)src;
  free(r->buf);
  free(r->name);
  free(r);
}

static const struct vg_source_ops ndjson_ops = {ndjson_next, ndjson_free};

struct vg_source *vg_source_ndjson_new(FILE *in, const char *name,
                                       size_t max_record_bytes) {
  struct ndjson *r = calloc(1, sizeof *r);
  if (!r)
    return NULL;
  if (!name)
    name = "-";
  size_t name_len = strlen(name);
  r->name = malloc(name_len + 1);
  if (!r->name)
    goto fail;
  memcpy(r->name, name, name_len + 1);
  /* Room for a longest allowed line with its "\r\n", and for a full raw
   * excerpt of a line found too long before its end was seen. */
  size_t max = max_record_bytes;
  if (max > SIZE_MAX / 4)
    max = SIZE_MAX / 4;
  r->max = max_record_bytes;
  r->limit = max + 2 > VG_RAW_EXCERPT ? max + 2 : VG_RAW_EXCERPT;
  r->cap = r->limit < NDJSON_BLOCK ? r->limit : NDJSON_BLOCK;
  r->buf = malloc(r->cap);
  if (!r->buf)
    goto fail;
  r->in = in;
  r->base.ops = &ndjson_ops;
  r->base.name = r->name;
  return &r->base;
fail:
  free(r->name);
  free(r);
  return NULL;
}
