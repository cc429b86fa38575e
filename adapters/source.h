/* source.h - record sources: NDJSON, CSV (with a mapping) and UN/EDIFACT
 * PAXLST readers all yield records as JSON object text, so one screening
 * path checks every record the same way. */
#ifndef VG_SOURCE_H
#define VG_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "diag.h"

enum vg_item_type {
  VG_ITEM_RECORD, /* json holds one record (a JSON object) */
  VG_ITEM_REJECT, /* the input at `line` could not be turned into a record */
  VG_ITEM_WARNING /* a message-level fault; no record is lost */
};

#define VG_RAW_EXCERPT 4096

struct vg_source_item {
  enum vg_item_type type;
  const char *json; /* RECORD: not NUL-terminated */
  size_t json_len;
  long line;        /* 1-based line (NDJSON, CSV) or message index (PAXLST) */
  char where[96];   /* human place: "line 12", "message 2, segment 17" */
  char reason[320]; /* REJECT, WARNING: names the field when there is one */
  const char *raw;  /* REJECT, WARNING: the first VG_RAW_EXCERPT bytes */
  size_t raw_len;
};

struct vg_source;

struct vg_source_ops {
  /* Fills *item (valid until the next call) and returns 1; returns 0 at
   * the end; a negative VG_E* code on an I/O failure. */
  int (*next)(struct vg_source *src, struct vg_source_item *item);
  void (*free)(struct vg_source *src);
};

struct vg_source {
  const struct vg_source_ops *ops;
  const char *name; /* the file name, or "-" for stdin */
};

static inline int vg_source_next(struct vg_source *src,
                                 struct vg_source_item *item) {
  return src->ops->next(src, item);
}
static inline void vg_source_free(struct vg_source *src) {
  if (src)
    src->ops->free(src);
}

/* NDJSON: one record a line. Lines longer than max_record_bytes are
 * rejected ("line N: record larger than the limit of M bytes") without
 * being held in memory whole; blank lines are skipped. The stream is
 * borrowed. Returns NULL when out of memory. */
struct vg_source *vg_source_ndjson_new(FILE *in, const char *name,
                                       size_t max_record_bytes);

/* ------------------------------------------------------------- formats */

enum vg_format { VG_FORMAT_NDJSON, VG_FORMAT_CSV, VG_FORMAT_PAXLST };

/* Sets *out from a --format name: "ndjson", "csv" or "paxlst". Returns 0,
 * or VG_EINVAL for any other name (*out untouched). */
int vg_format_parse(const char *name, enum vg_format *out);
/* The name of a format ("ndjson", "csv", "paxlst"); never NULL. */
const char *vg_format_name(enum vg_format format);
/* Guesses the format of an input: by the extension of path (.csv -> CSV;
 * .paxlst, .edi, .edifact -> PAXLST; case-insensitive), else by the first
 * head_len bytes of its content (after an optional UTF-8 byte order mark and
 * white space, "UNA" or "UNB" -> PAXLST), else NDJSON. path may be NULL or
 * "-" (stdin) and head may be NULL. Cannot fail. */
enum vg_format vg_format_detect(const char *path, const char *head,
                                size_t head_len);

/* Makes a message valid UTF-8 text in place: bytes of invalid sequences
 * and control characters quoted from the input become '?', so a reason can
 * go into JSON or a terminal as it is. */
void vg_text_sanitize(char *text);

/* ----------------------------------------------------------------- CSV */

/* A CSV mapping file, loaded and checked (docs/adapters.md): which column
 * becomes which field, how each cell is converted, constants, the record
 * id, the columns ignored. Immutable once loaded; one mapping may serve
 * several sources at once. */
struct vg_csv_mapping;

/* Loads a mapping from a YAML file. Every problem goes to diags as
 * FILE:LINE:COL with a stable code ([mapping-unknown-key],
 * [mapping-bad-type], [mapping-bad-value], [mapping-bad-field],
 * [mapping-missing-key], [mapping-conflict], and [yaml-syntax] or [io] from
 * the YAML reader). Returns 0 and sets *out (caller frees with
 * vg_csv_mapping_free), or VG_EIO, VG_EINVAL or VG_ENOMEM with *out
 * untouched. */
int vg_csv_mapping_load(const char *path, struct vg_csv_mapping **out,
                        struct vg_diags *diags);
/* The same for YAML text in memory; name is used in diagnostics. */
int vg_csv_mapping_load_string(const char *name, const char *text, size_t len,
                               struct vg_csv_mapping **out,
                               struct vg_diags *diags);
/* NULL is a no-op. */
void vg_csv_mapping_free(struct vg_csv_mapping *mapping);

/* Rows larger than this (quoted line breaks included) are rejected, and an
 * unterminated quote is given up on after this many bytes. */
#define VG_CSV_MAX_ROW_BYTES (1024u * 1024u)

/* CSV (RFC 4180: quoted cells, "" inside quotes, line breaks inside quotes,
 * CRLF or LF, an optional UTF-8 byte order mark) with a header row, turned
 * into records by mapping. The stream, name and mapping are borrowed and
 * must outlive the source. Items: a RECORD per data row; a REJECT for a row
 * that cannot be converted (wrong number of cells, an unterminated quote, a
 * cell that does not convert, an empty id), with `line` the row's first
 * line, `where` "line N" and a reason naming the column and field
 * ("column 'fecha' (inspection.date): '31/02/2026' is not a date in the
 * format %d/%m/%Y"); the next rows are still read. Blank lines are skipped.
 * A header that does not fit the mapping (a column neither mapped nor
 * ignored, a mapped column missing, a duplicate name) makes next() return
 * VG_EINVAL with item->where and item->reason saying why: nothing in the
 * file can be read. Returns NULL when out of memory. */
struct vg_source *vg_source_csv_new(FILE *in, const char *name,
                                    const struct vg_csv_mapping *mapping);

/* -------------------------------------------------------------- PAXLST */

/* UN/EDIFACT PAXLST passenger and crew lists (D:02B, D:05B): every
 * traveller group (NAD+FL, FM, DDU, DDT) becomes one `travel` record whose
 * fields are those of rules/schemas/travel.yaml (docs/adapters.md lists
 * them). `line` is the 1-based index of the message in the input; `where`
 * reads "message N, segment M, line L" (M counted from UNH = 1, as UNT
 * counts). A traveller group that cannot be read (a bad date, cut off by
 * the end of the input) is a REJECT naming the field; message-level faults
 * (a wrong UNT, CNT, UNE or UNZ count, a missing UNT or UNZ, text after UNZ,
 * segments out of place) are WARNINGs and never drop a traveller. The
 * stream and name are borrowed. Returns NULL when out of memory. */
struct vg_source *vg_source_paxlst_new(FILE *in, const char *name);

#endif
