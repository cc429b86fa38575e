/* ydoc.h - YAML documents as a small tree with positions: every node knows
 * its 1-based line and column, so every diagnostic can point at the key or
 * value at fault. Used for schemas, rules, configs, tokens and CSV mappings;
 * libyaml stays inside the engine. */
#ifndef VG_YDOC_H
#define VG_YDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

enum vg_ynode_type { VG_YSCALAR, VG_YSEQ, VG_YMAP };

struct vg_ypair;

struct vg_ynode {
  enum vg_ynode_type type;
  int line, col; /* 1-based */
  /* VG_YSCALAR */
  const char *str; /* NUL-terminated; len excludes the NUL */
  size_t len;
  bool quoted; /* written with quotes or as a block: always a string */
  /* VG_YSEQ */
  struct vg_ynode **items;
  size_t nitems;
  /* VG_YMAP, in the order written */
  struct vg_ypair *pairs;
  size_t npairs;
};

struct vg_ypair {
  struct vg_ynode *key, *value;
};

struct vg_ydoc {
  char *file;            /* owned copy of the name given */
  struct vg_ynode *root; /* NULL for an empty document */
  void *arena;           /* every node and string lives here */
  char *text;            /* the source text, for carets; NUL-terminated */
  size_t text_len;
};

/* Reads and parses a YAML file. Syntax errors go to diags as
 * FILE:LINE:COL [yaml-syntax]. Returns 0, VG_EIO (unreadable; a diagnostic
 * [io] is added too), VG_EINVAL or VG_ENOMEM. On failure doc holds nothing
 * to close. Only the first document of a stream is read; a second one is an
 * error. Aliases are resolved to the anchored node. */
int vg_ydoc_load_file(struct vg_ydoc *doc, const char *path,
                      struct vg_diags *diags);
/* The same for text in memory; name is used in diagnostics. */
int vg_ydoc_load_string(struct vg_ydoc *doc, const char *name, const char *text,
                        size_t len, struct vg_diags *diags);
void vg_ydoc_close(struct vg_ydoc *doc);

/* The value under key in a mapping, or NULL (also when node is not a
 * mapping). */
const struct vg_ynode *vg_ynode_get(const struct vg_ynode *map,
                                    const char *key);
/* The pair whose key is `key`, or NULL. */
const struct vg_ypair *vg_ynode_get_pair(const struct vg_ynode *map,
                                         const char *key);

/* Scalar interpretation under the YAML core schema. A quoted scalar is
 * always a string. */
bool vg_yscalar_is_null(const struct vg_ynode *node); /* ~, null, empty */
/* true/false (also True, TRUE). Returns false when not a boolean. */
bool vg_yscalar_bool(const struct vg_ynode *node, bool *value);
/* A plain integer (decimal, optional sign). Returns false otherwise. */
bool vg_yscalar_int(const struct vg_ynode *node, int64_t *value);
/* A plain integer or float. Returns false otherwise. */
bool vg_yscalar_number(const struct vg_ynode *node, double *value);
/* Plain scalars that are neither null, bool nor number, and quoted ones. */
bool vg_yscalar_is_string(const struct vg_ynode *node);

/* The source line `line` (1-based) of the document's text, without its
 * newline; NULL when out of range. */
const char *vg_ydoc_source_line(const struct vg_ydoc *doc, int line,
                                size_t *len);

#endif
