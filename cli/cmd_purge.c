/* cmd_purge.c - `vigia purge --before DATE [--status S]`: retention. Deletes
 * decided cases with their records and hits; the audit keeps a `purged`
 * event for each. */
#include <string.h>
#include <time.h>

#include "commands.h"
#include "output.h"

int vg_cmd_purge(struct vg_cli *cli, size_t nwords, const char **words) {
  (void)words;
  if (nwords > 0) {
    vg_cli_error("purge takes no arguments (--before DATE, --status S)");
    return VG_EXIT_USAGE;
  }
  const char *before_text = vg_args_get(&cli->args, "before");
  const char *st = vg_args_get(&cli->args, "status");
  int64_t before;
  char date[40];
  if (before_text) {
    if (vg_store_time_parse(before_text, &before) != 0) {
      vg_cli_error("--before takes a date (YYYY-MM-DD) or an RFC 3339 "
                   "datetime, not '%s'",
                   before_text);
      return VG_EXIT_USAGE;
    }
  } else {
    /* Without --before, the config's retention period decides. */
    before = ((int64_t)time(NULL) - (int64_t)cli->cfg.retention_days * 86400) *
             1000000;
  }
  if (st && strcmp(st, "confirmed") != 0 && strcmp(st, "dismissed") != 0) {
    vg_cli_error("--status for purge is confirmed or dismissed (only "
                 "decided cases are purged), not '%s'",
                 st);
    return VG_EXIT_USAGE;
  }
  vg_store_time_format(before, date, sizeof date);
  vg_store *store = NULL;
  int status = vg_out_open_store(cli, false, &store);
  if (status != VG_EXIT_OK)
    return status;
  int64_t cases = 0, records = 0;
  int rc =
      vg_store_purge(store, before, st, vg_cli_actor(cli), &cases, &records);
  if (rc != 0) {
    status = vg_out_store_error(store, rc);
  } else if (cli->json) {
    json_t *doc = json_pack("{s:I,s:I,s:s}", "cases", (json_int_t)cases,
                            "records", (json_int_t)records, "before", date);
    status = doc ? vg_out_json(cli, doc) : VG_EXIT_FAILURE;
    json_decref(doc);
  } else {
    printf("purged %lld cases and %lld records decided or stored before %s\n",
           (long long)cases, (long long)records, date);
  }
  vg_store_close(store);
  return status;
}
