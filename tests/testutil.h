/* testutil.h - small helpers shared by the unit tests. */
#ifndef VG_TESTUTIL_H
#define VG_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>

/* Reads a whole file into a NUL-terminated heap buffer (caller frees);
 * NULL when it cannot be read. */
char *vgt_read_file(const char *path, size_t *len);
/* Writes text to path, creating parent directories. Returns 0 or -1. */
int vgt_write_file(const char *path, const char *text);
/* Creates a fresh empty temporary directory and returns its path (static
 * storage per call site is not kept: caller frees). */
char *vgt_tempdir(void);
/* Removes a directory tree (rm -rf). */
void vgt_rmtree(const char *path);
/* Runs a shell command, capturing stdout into *out (caller frees) when out
 * is non-NULL; returns the exit status, or -1. */
int vgt_run(const char *command, char **out);

/* The integer in the first column of the first row sql gives on the
 * database at path, read through a connection of its own (as someone with
 * file access could); fails the test when there is no row. */
int64_t vgt_sql_int(const char *path, const char *sql);

/* The value at a dotted path ("flight.legs") of a JSON object, or NULL. */
json_t *vgt_json_at(json_t *obj, const char *path);
/* The string at a dotted path, or "(absent)"; fails the test when the
 * value is there but not a string. */
const char *vgt_json_str(json_t *obj, const char *path);

#endif
