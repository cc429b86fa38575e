/* diagprint.c - diagnostics for people (FILE:LINE:COL: error: MESSAGE
 * [code], the source line, a caret under the column) and for programs
 * (--json). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Prints line `line` of file with a caret under column col. */
static void print_source(const char *file, int line, int col) {
  FILE *f = fopen(file, "rb");
  if (!f)
    return;
  char *text = NULL;
  size_t cap = 0;
  ssize_t n = 0;
  for (int l = 1; l <= line; l++)
    if ((n = getline(&text, &cap, f)) < 0)
      break;
  fclose(f);
  if (n > 0) {
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
      n--;
    fprintf(stderr, "  %.*s\n  ", (int)n, text);
    for (int i = 0; i < col - 1 && i < n; i++)
      fputc(text[i] == '\t' ? '\t' : ' ', stderr);
    fputs("^\n", stderr);
  }
  free(text);
}

void vg_cli_print_diags(const struct vg_cli *cli,
                        const struct vg_diags *diags) {
  if (cli->json) {
    json_t *list = json_array();
    for (size_t i = 0; i < diags->count; i++) {
      const struct vg_diag *d = &diags->items[i];
      json_array_append_new(
          list, json_pack("{s:s?, s:i, s:i, s:s, s:s, s:s}", "file", d->file,
                          "line", d->line, "col", d->col, "code", d->code,
                          "message", d->message, "severity",
                          d->severity == VG_SEV_ERROR ? "error" : "warning"));
    }
    json_t *doc = json_pack("{s:o, s:I, s:I}", "diagnostics", list, "errors",
                            (json_int_t)diags->errors, "warnings",
                            (json_int_t)diags->warnings);
    json_dumpf(doc, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(doc);
    return;
  }
  for (size_t i = 0; i < diags->count; i++) {
    const struct vg_diag *d = &diags->items[i];
    const char *sev = d->severity == VG_SEV_ERROR ? "error" : "warning";
    if (d->file && d->line > 0)
      fprintf(stderr, "%s:%d:%d: %s: %s [%s]\n", d->file, d->line, d->col, sev,
              d->message, d->code);
    else
      fprintf(stderr, "%s: %s: %s [%s]\n", d->file ? d->file : "vigia", sev,
              d->message, d->code);
    if (d->file && d->line > 0)
      print_source(d->file, d->line, d->col);
  }
}

int vg_cli_load_rules(struct vg_cli *cli, bool show_warnings,
                      vg_ruleset **out) {
  struct vg_diags diags;
  vg_diags_init(&diags);
  int rc = vg_ruleset_load(cli->rules_dir, &cli->cfg, &diags, out);
  if (rc != VG_OK || show_warnings) {
    /* Without --json, screening shows only what stops it. */
    if (!show_warnings) {
      struct vg_diags errors;
      vg_diags_init(&errors);
      for (size_t i = 0; i < diags.count; i++)
        if (diags.items[i].severity == VG_SEV_ERROR)
          vg_diags_add(&errors, VG_SEV_ERROR, diags.items[i].file,
                       diags.items[i].line, diags.items[i].col,
                       diags.items[i].code, "%s", diags.items[i].message);
      struct vg_cli plain = *cli;
      plain.json = false;
      vg_cli_print_diags(&plain, &errors);
      vg_diags_close(&errors);
    } else {
      vg_cli_print_diags(cli, &diags);
    }
  }
  if (rc != VG_OK) {
    if (rc == VG_ENOMEM)
      vg_cli_error("out of memory while loading the rules");
    vg_cli_error("the rules in '%s' did not load (%zu error%s)", cli->rules_dir,
                 diags.errors, diags.errors == 1 ? "" : "s");
    vg_diags_close(&diags);
    return VG_EXIT_RULES;
  }
  vg_diags_close(&diags);
  return VG_EXIT_OK;
}
