/* cmd_rejects.c - `vigia rejects`: the inputs that could not be screened
 * (and message-level warnings), with source, line and reason. */
#include "commands.h"
#include "output.h"

int vg_cmd_rejects(struct vg_cli *cli, size_t nwords, const char **words) {
  (void)words;
  if (nwords > 0) {
    vg_cli_error("rejects takes no arguments (--source FILE, --limit N)");
    return VG_EXIT_USAGE;
  }
  long limit = 0;
  const char *text = vg_args_get(&cli->args, "limit");
  if (text && !vg_out_parse_long(text, 0, 100000000, &limit)) {
    vg_cli_error("--limit takes a number (0 for all), not '%s'", text);
    return VG_EXIT_USAGE;
  }
  vg_store *store = NULL;
  int status = vg_out_open_store(cli, false, &store);
  if (status != VG_EXIT_OK)
    return status;
  json_t *rej = NULL;
  int rc =
      vg_store_rejects(store, vg_args_get(&cli->args, "source"), limit, &rej);
  if (rc != 0) {
    status = vg_out_store_error(store, rc);
  } else if (cli->json) {
    status = vg_out_json(cli, rej);
  } else if (json_array_size(json_object_get(rej, "rejects")) == 0) {
    puts("no rejects");
  } else {
    static const char *const headers[] = {"SOURCE", "LINE", "WHERE", "KIND",
                                          "REASON"};
    struct vg_table *t = vg_table_new(5, headers);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(rej, "rejects"), i, r) {
      char src[512], line[32], where[128], reason[512];
      const char *cells[] = {
          vg_out_text(json_object_get(r, "source"), src, sizeof src),
          vg_out_text(json_object_get(r, "line"), line, sizeof line),
          vg_out_text(json_object_get(r, "where"), where, sizeof where),
          json_is_true(json_object_get(r, "warning")) ? "warning" : "reject",
          vg_out_text(json_object_get(r, "reason"), reason, sizeof reason)};
      if (!t || vg_table_add(t, cells) != 0) {
        status = VG_EXIT_FAILURE;
        break;
      }
    }
    if (t && status == VG_EXIT_OK)
      vg_table_print(t, stdout);
    vg_table_free(t);
  }
  json_decref(rej);
  vg_store_close(store);
  return status;
}
