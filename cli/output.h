/* output.h - output helpers for the review-queue commands: aligned text
 * tables, JSON documents, times, and the mapping of store errors to exit
 * codes. */
#ifndef VG_OUTPUT_H
#define VG_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "cli.h"
#include "store.h"

/* A text table: columns padded to their widest cell (in display columns,
 * so accented and wide characters line up). */
struct vg_table;

/* A table with ncols columns and their headers (copied). Returns NULL when
 * out of memory. */
struct vg_table *vg_table_new(size_t ncols, const char *const *headers);
void vg_table_free(struct vg_table *t);
/* Appends a row of ncols cells (copied; NULL prints as "-"). Returns 0 or
 * VG_ENOMEM. */
int vg_table_add(struct vg_table *t, const char *const *cells);
/* Prints the header and the rows to out, two spaces between columns, no
 * trailing spaces. */
void vg_table_print(const struct vg_table *t, FILE *out);

/* Prints doc on stdout as one JSON document (indented on a terminal,
 * compact otherwise) and a newline. Does not take doc. Returns
 * VG_EXIT_OK, or VG_EXIT_FAILURE when it cannot be written. */
int vg_out_json(const struct vg_cli *cli, const json_t *doc);

/* Opens the store at cli->db_path (creating it only when create). Prints
 * the problem and returns VG_EXIT_FAILURE when it cannot be opened. */
int vg_out_open_store(const struct vg_cli *cli, bool create, vg_store **out);
/* Prints the store's last error and returns the exit code for rc: 1 for
 * an unknown case or a failure, 2 for bad input, 5 for a refusal. */
int vg_out_store_error(const vg_store *store, int rc);

/* Parses a case id (a positive decimal number). Returns true and sets
 * *id. */
bool vg_out_parse_case_id(const char *text, int64_t *id);
/* Parses a non-negative integer option; false when malformed. */
bool vg_out_parse_long(const char *text, long min, long max, long *out);

/* A JSON value as display text into buf: strings as they are, null as
 * "-", arrays joined with ", ". */
const char *vg_out_text(const json_t *v, char *buf, size_t len);

#endif
