/* diag.h - the diagnostics list: every problem found in rules, schemas,
 * configs or mapping files, with its place, a stable code and a message.
 * The library never prints; the CLI formats these. */
#ifndef VG_DIAG_H
#define VG_DIAG_H

#include <stdarg.h>
#include <stddef.h>

enum vg_severity { VG_SEV_ERROR = 0, VG_SEV_WARNING = 1 };

struct vg_diag {
  char *file;    /* path as given to the loader; owned */
  int line, col; /* 1-based; 0 when the problem has no place in the file */
  enum vg_severity severity;
  char code[32]; /* stable, e.g. "unknown-field" */
  char *message; /* owned */
};

struct vg_diags {
  struct vg_diag *items;
  size_t count, cap;
  size_t errors, warnings;
};

void vg_diags_init(struct vg_diags *diags);
void vg_diags_close(struct vg_diags *diags);

/* Appends a diagnostic. file may be NULL. Returns 0, or VG_ENOMEM when the
 * list could not grow (the diagnostic is then counted but not kept). */
int vg_diags_add(struct vg_diags *diags, enum vg_severity severity,
                 const char *file, int line, int col, const char *code,
                 const char *fmt, ...) __attribute__((format(printf, 7, 8)));
int vg_diags_addv(struct vg_diags *diags, enum vg_severity severity,
                  const char *file, int line, int col, const char *code,
                  const char *fmt, va_list ap);

/* Sorts by file, line, column (stable), so output reads top to bottom. */
void vg_diags_sort(struct vg_diags *diags);

#endif
