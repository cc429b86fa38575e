/* cmd_stats.c - `vigia stats`: per rule its hits, cases, confirmed,
 * dismissed and precision; per kind the records screened and flagged. */
#include "commands.h"
#include "output.h"

static int print_table(size_t ncols, const char *const *headers,
                       const char *const *keys, const json_t *rows) {
  struct vg_table *t = vg_table_new(ncols, headers);
  if (!t)
    return VG_EXIT_FAILURE;
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    char bufs[8][256];
    const char *cells[8];
    for (size_t k = 0; k < ncols && k < 8; k++)
      cells[k] =
          vg_out_text(json_object_get(row, keys[k]), bufs[k], sizeof bufs[k]);
    if (vg_table_add(t, cells) != 0) {
      vg_table_free(t);
      return VG_EXIT_FAILURE;
    }
  }
  vg_table_print(t, stdout);
  vg_table_free(t);
  return VG_EXIT_OK;
}

int vg_cmd_stats(struct vg_cli *cli, size_t nwords, const char **words) {
  (void)words;
  if (nwords > 0) {
    vg_cli_error("stats takes no arguments");
    return VG_EXIT_USAGE;
  }
  vg_store *store = NULL;
  int status = vg_out_open_store(cli, false, &store);
  if (status != VG_EXIT_OK)
    return status;
  json_t *stats = NULL;
  int rc = vg_store_stats(store, &stats);
  if (rc != 0) {
    status = vg_out_store_error(store, rc);
  } else if (cli->json) {
    status = vg_out_json(cli, stats);
  } else {
    static const char *const rule_headers[] = {
        "RULE", "HITS", "CASES", "CONFIRMED", "DISMISSED", "PRECISION"};
    static const char *const rule_keys[] = {
        "rule", "hits", "cases", "confirmed", "dismissed", "precision"};
    static const char *const kind_headers[] = {"KIND", "SCREENED", "FLAGGED"};
    static const char *const kind_keys[] = {"kind", "screened", "flagged"};
    if (json_array_size(json_object_get(stats, "rules")) == 0)
      puts("no rule has fired yet");
    else
      status = print_table(6, rule_headers, rule_keys,
                           json_object_get(stats, "rules"));
    putchar('\n');
    if (status == VG_EXIT_OK)
      status = print_table(3, kind_headers, kind_keys,
                           json_object_get(stats, "kinds"));
  }
  json_decref(stats);
  vg_store_close(store);
  return status;
}
