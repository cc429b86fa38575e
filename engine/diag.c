/* diag.c - the diagnostics list and the library's error strings. */
#include "diag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vg_error.h"

const char *vg_strerror(int code) {
  switch (code) {
  case VG_OK:
    return "success";
  case VG_ENOMEM:
    return "out of memory";
  case VG_EIO:
    return "input/output error";
  case VG_EINVAL:
    return "invalid input";
  case VG_ELIMIT:
    return "limit reached";
  case VG_ENOTFOUND:
    return "not found";
  default:
    return "unknown error";
  }
}

void vg_diags_init(struct vg_diags *diags) {
  memset(diags, 0, sizeof *diags);
}

void vg_diags_close(struct vg_diags *diags) {
  for (size_t i = 0; i < diags->count; i++) {
    free(diags->items[i].file);
    free(diags->items[i].message);
  }
  free(diags->items);
  memset(diags, 0, sizeof *diags);
}

int vg_diags_addv(struct vg_diags *diags, enum vg_severity severity,
                  const char *file, int line, int col, const char *code,
                  const char *fmt, va_list ap) {
  if (severity == VG_SEV_ERROR)
    diags->errors++;
  else
    diags->warnings++;
  if (diags->count == diags->cap) {
    size_t cap = diags->cap ? diags->cap * 2 : 16;
    struct vg_diag *items = realloc(diags->items, cap * sizeof *items);
    if (!items)
      return VG_ENOMEM;
    diags->items = items;
    diags->cap = cap;
  }
  char *message = NULL;
  if (vasprintf(&message, fmt, ap) < 0)
    return VG_ENOMEM;
  char *file_copy = file ? strdup(file) : NULL;
  if (file && !file_copy) {
    free(message);
    return VG_ENOMEM;
  }
  struct vg_diag *d = &diags->items[diags->count++];
  d->file = file_copy;
  d->line = line;
  d->col = col;
  d->severity = severity;
  snprintf(d->code, sizeof d->code, "%s", code);
  d->message = message;
  return VG_OK;
}

int vg_diags_add(struct vg_diags *diags, enum vg_severity severity,
                 const char *file, int line, int col, const char *code,
                 const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = vg_diags_addv(diags, severity, file, line, col, code, fmt, ap);
  va_end(ap);
  return rc;
}

static int compare_place(const struct vg_diag *a, const struct vg_diag *b) {
  int c = strcmp(a->file ? a->file : "", b->file ? b->file : "");
  if (c)
    return c;
  if (a->line != b->line)
    return a->line < b->line ? -1 : 1;
  if (a->col != b->col)
    return a->col < b->col ? -1 : 1;
  return 0;
}

void vg_diags_sort(struct vg_diags *diags) {
  /* Insertion sort: stable, and lists are short. */
  for (size_t i = 1; i < diags->count; i++) {
    struct vg_diag item = diags->items[i];
    size_t j = i;
    while (j > 0 && compare_place(&diags->items[j - 1], &item) > 0) {
      diags->items[j] = diags->items[j - 1];
      j--;
    }
    diags->items[j] = item;
  }
}
