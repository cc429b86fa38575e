/* output.c - aligned text tables, JSON documents and store error
 * reporting for the review-queue commands. */
#include "output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

struct vg_table {
  size_t ncols, nrows, cap;
  char **cells; /* (nrows + 1) * ncols; row 0 is the header */
  size_t *widths;
};

/* Display columns of a UTF-8 string; bytes that do not decode count as
 * one column each. */
static size_t display_width(const char *s) {
  size_t w = 0;
  const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
  while (*p) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate(p, -1, &cp);
    if (n <= 0) {
      w++;
      p++;
      continue;
    }
    int cw = utf8proc_charwidth(cp);
    w += cw > 0 ? (size_t)cw : 0;
    p += n;
  }
  return w;
}

static int add_row(struct vg_table *t, const char *const *cells) {
  if (t->nrows + 1 >= t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    char **more = realloc(t->cells, cap * t->ncols * sizeof *more);
    if (!more)
      return VG_ENOMEM;
    t->cells = more;
    t->cap = cap;
  }
  char **row = t->cells + t->nrows * t->ncols;
  for (size_t i = 0; i < t->ncols; i++) {
    const char *text = cells[i] ? cells[i] : "-";
    /* Control characters would break the layout (and a terminal). */
    char *copy = strdup(text);
    if (!copy) {
      for (size_t j = 0; j < i; j++)
        free(row[j]);
      return VG_ENOMEM;
    }
    for (char *c = copy; *c; c++)
      if ((unsigned char)*c < 0x20 || *c == 0x7f)
        *c = ' ';
    row[i] = copy;
    size_t w = display_width(copy);
    if (w > t->widths[i])
      t->widths[i] = w;
  }
  t->nrows++;
  return 0;
}

struct vg_table *vg_table_new(size_t ncols, const char *const *headers) {
  struct vg_table *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  t->ncols = ncols;
  t->widths = calloc(ncols, sizeof *t->widths);
  if (!t->widths || add_row(t, headers) != 0) {
    vg_table_free(t);
    return NULL;
  }
  return t;
}

void vg_table_free(struct vg_table *t) {
  if (!t)
    return;
  for (size_t i = 0; i < t->nrows * t->ncols; i++)
    free(t->cells[i]);
  free(t->cells);
  free(t->widths);
  free(t);
}

int vg_table_add(struct vg_table *t, const char *const *cells) {
  return add_row(t, cells);
}

void vg_table_print(const struct vg_table *t, FILE *out) {
  for (size_t r = 0; r < t->nrows; r++) {
    char **row = t->cells + r * t->ncols;
    for (size_t c = 0; c < t->ncols; c++) {
      fputs(row[c], out);
      if (c + 1 == t->ncols)
        break;
      size_t pad = t->widths[c] - display_width(row[c]) + 2;
      for (size_t i = 0; i < pad; i++)
        fputc(' ', out);
    }
    fputc('\n', out);
  }
}

int vg_out_json(const struct vg_cli *cli, const json_t *doc) {
  size_t flags =
      JSON_PRESERVE_ORDER | (cli->stdout_tty ? JSON_INDENT(2) : JSON_COMPACT);
  if (json_dumpf(doc, stdout, flags) != 0 || fputc('\n', stdout) == EOF) {
    vg_cli_error("cannot write the output");
    return VG_EXIT_FAILURE;
  }
  return VG_EXIT_OK;
}

int vg_out_open_store(const struct vg_cli *cli, bool create, vg_store **out) {
  char err[512];
  if (vg_store_open(cli->db_path, create, out, err, sizeof err) != 0) {
    vg_cli_error("%s", err);
    return VG_EXIT_FAILURE;
  }
  return VG_EXIT_OK;
}

int vg_out_store_error(const vg_store *store, int rc) {
  vg_cli_error("%s", vg_store_errmsg(store));
  switch (rc) {
  case VG_EREFUSED:
    return VG_EXIT_REFUSED;
  case VG_EINVAL:
    return VG_EXIT_USAGE;
  default:
    return VG_EXIT_FAILURE;
  }
}

bool vg_out_parse_case_id(const char *text, int64_t *id) {
  if (!text || *text < '0' || *text > '9')
    return false;
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno || *end || v <= 0)
    return false;
  *id = v;
  return true;
}

bool vg_out_parse_long(const char *text, long min, long max, long *out) {
  if (!text || !*text)
    return false;
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno || *end || v < min || v > max)
    return false;
  *out = v;
  return true;
}

const char *vg_out_text(const json_t *v, char *buf, size_t len) {
  buf[0] = '\0';
  if (json_is_string(v)) {
    snprintf(buf, len, "%s", json_string_value(v));
  } else if (json_is_integer(v)) {
    snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  } else if (json_is_real(v)) {
    snprintf(buf, len, "%.2f", json_real_value(v));
  } else if (json_is_array(v)) {
    size_t used = 0, i;
    json_t *e;
    json_array_foreach(v, i, e) {
      char one[256];
      vg_out_text(e, one, sizeof one);
      int n = snprintf(buf + used, len - used, "%s%s", i ? "," : "", one);
      if (n < 0 || (size_t)n >= len - used)
        break;
      used += (size_t)n;
    }
    if (i == 0)
      snprintf(buf, len, "-");
  } else if (json_is_true(v) || json_is_false(v)) {
    snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
  } else {
    snprintf(buf, len, "-");
  }
  return buf;
}
