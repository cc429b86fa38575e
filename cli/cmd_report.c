/* cmd_report.c - `vigia report fairness --by FIELD`: per value of a
 * protected field, the records screened, flag rate and confirmation rate,
 * against the whole. Counts only: no record and no personal data. */
#include <stdio.h>

#include "commands.h"
#include "output.h"

static void rate(const json_t *v, const char *key, const char *vs, char *buf,
                 size_t len) {
  const json_t *r = json_object_get(v, key);
  if (!json_is_number(r)) {
    snprintf(buf, len, "-");
    return;
  }
  const json_t *ratio = vs ? json_object_get(v, vs) : NULL;
  if (json_is_number(ratio))
    snprintf(buf, len, "%.1f%% (x%.2f)", 100 * json_number_value(r),
             json_number_value(ratio));
  else
    snprintf(buf, len, "%.1f%%", 100 * json_number_value(r));
}

static int add_row(struct vg_table *t, const char *label, const json_t *v,
                   bool is_all) {
  char records[32], flagged[32], fr[64], conf[32], dis[32], cr[64];
  vg_out_text(json_object_get(v, "records"), records, sizeof records);
  vg_out_text(json_object_get(v, "flagged"), flagged, sizeof flagged);
  vg_out_text(json_object_get(v, "confirmed"), conf, sizeof conf);
  vg_out_text(json_object_get(v, "dismissed"), dis, sizeof dis);
  rate(v, "flag_rate", is_all ? NULL : "flag_rate_vs_all", fr, sizeof fr);
  rate(v, "confirmation_rate", is_all ? NULL : "confirmation_rate_vs_all", cr,
       sizeof cr);
  const char *cells[] = {label, records, flagged, fr, conf, dis, cr};
  return vg_table_add(t, cells);
}

int vg_cmd_report_fairness(struct vg_cli *cli, size_t nwords,
                           const char **words) {
  (void)words;
  const char *field = vg_args_get(&cli->args, "by");
  if (nwords > 0 || !field || !*field) {
    vg_cli_error("report fairness needs --by FIELD (a protected field)");
    return VG_EXIT_USAGE;
  }
  vg_store *store = NULL;
  int status = vg_out_open_store(cli, false, &store);
  if (status != VG_EXIT_OK)
    return status;
  json_t *rep = NULL;
  int rc = vg_store_fairness(store, field, &rep);
  if (rc != 0) {
    status = vg_out_store_error(store, rc);
  } else if (cli->json) {
    status = vg_out_json(cli, rep);
  } else {
    size_t i, j;
    json_t *kind, *v;
    if (json_array_size(json_object_get(rep, "kinds")) == 0)
      printf("no records screened with %s yet\n", field);
    json_array_foreach(json_object_get(rep, "kinds"), i, kind) {
      printf("%s%s by %s (rates against all values: x1.00 is parity)\n",
             i ? "\n" : "", json_string_value(json_object_get(kind, "kind")),
             field);
      static const char *const headers[] = {
          "VALUE",     "RECORDS",   "FLAGGED",          "FLAG RATE",
          "CONFIRMED", "DISMISSED", "CONFIRMATION RATE"};
      struct vg_table *t = vg_table_new(7, headers);
      if (!t) {
        status = VG_EXIT_FAILURE;
        break;
      }
      json_array_foreach(json_object_get(kind, "values"), j, v) {
        const json_t *val = json_object_get(v, "value");
        add_row(t, json_is_string(val) ? json_string_value(val) : "(missing)",
                v, false);
      }
      add_row(t, "(all)", json_object_get(kind, "all"), true);
      vg_table_print(t, stdout);
      vg_table_free(t);
    }
  }
  json_decref(rep);
  vg_store_close(store);
  return status;
}
