/* cmd_queue.c - `vigia queue`: the open cases, highest score first, then
 * oldest, with filters; an aligned table or {"cases": [...]}. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "output.h"

#define DEFAULT_LIMIT 50

/* --since takes a date, an RFC 3339 datetime, or an age: "7d", "12h". */
static bool parse_since(const char *text, int64_t *us) {
  if (vg_store_time_parse(text, us) == 0)
    return true;
  size_t len = strlen(text);
  if (len < 2 || (text[len - 1] != 'd' && text[len - 1] != 'h'))
    return false;
  char num[24];
  if (len - 1 >= sizeof num)
    return false;
  memcpy(num, text, len - 1);
  num[len - 1] = '\0';
  long n;
  if (!vg_out_parse_long(num, 0, 100000, &n))
    return false;
  int64_t unit = text[len - 1] == 'd' ? INT64_C(86400) : INT64_C(3600);
  *us = ((int64_t)time(NULL) - n * unit) * 1000000;
  return true;
}

int vg_cmd_queue(struct vg_cli *cli, size_t nwords, const char **words) {
  (void)words;
  if (nwords > 0) {
    vg_cli_error("queue takes no arguments (filters are options: --status, "
                 "--kind, --route, --rule, --assignee, --min-score, --since, "
                 "--limit)");
    return VG_EXIT_USAGE;
  }
  struct vg_queue_filter f = {.limit = DEFAULT_LIMIT};
  const struct vg_args *a = &cli->args;
  f.status = vg_args_get(a, "status");
  f.kind = vg_args_get(a, "kind");
  f.route = vg_args_get(a, "route");
  f.rule = vg_args_get(a, "rule");
  f.assignee = vg_args_get(a, "assignee");
  if (f.status && !vg_case_status_valid(f.status)) {
    vg_cli_error("unknown status '%s' (new, in_review, escalated, confirmed, "
                 "dismissed)",
                 f.status);
    return VG_EXIT_USAGE;
  }
  const char *text;
  long n;
  if ((text = vg_args_get(a, "min-score"))) {
    if (!vg_out_parse_long(text, 0, 100, &n)) {
      vg_cli_error("--min-score takes a number from 0 to 100, not '%s'", text);
      return VG_EXIT_USAGE;
    }
    f.min_score = (int)n;
  }
  if ((text = vg_args_get(a, "limit"))) {
    if (!vg_out_parse_long(text, 0, 100000000, &n)) {
      vg_cli_error("--limit takes a number (0 for all), not '%s'", text);
      return VG_EXIT_USAGE;
    }
    f.limit = n;
  }
  if ((text = vg_args_get(a, "since")) && !parse_since(text, &f.since)) {
    vg_cli_error("--since takes a date, an RFC 3339 datetime or an age like "
                 "7d or 12h, not '%s'",
                 text);
    return VG_EXIT_USAGE;
  }

  vg_store *store = NULL;
  int status = vg_out_open_store(cli, false, &store);
  if (status != VG_EXIT_OK)
    return status;
  json_t *cases = NULL;
  int rc = vg_store_queue(store, &f, cli->redact, &cases);
  if (rc != 0) {
    status = vg_out_store_error(store, rc);
    goto out;
  }
  if (cli->json) {
    json_t *doc = json_pack("{s:O}", "cases", cases);
    status = doc ? vg_out_json(cli, doc) : VG_EXIT_FAILURE;
    json_decref(doc);
    goto out;
  }
  static const char *const headers[] = {"CASE",     "SCORE",   "STATUS",
                                        "KIND",     "SUBJECT", "ROUTES",
                                        "ASSIGNEE", "CREATED", "RULES"};
  static const char *const keys[] = {"case_id",  "score",      "status",
                                     "kind",     "subject",    "routes",
                                     "assignee", "created_at", "rules"};
  struct vg_table *t = vg_table_new(9, headers);
  if (!t) {
    vg_cli_error("out of memory");
    status = VG_EXIT_FAILURE;
    goto out;
  }
  size_t i;
  json_t *c;
  json_array_foreach(cases, i, c) {
    char bufs[9][512];
    const char *cells[9];
    for (size_t k = 0; k < 9; k++)
      cells[k] =
          vg_out_text(json_object_get(c, keys[k]), bufs[k], sizeof bufs[k]);
    if (vg_table_add(t, cells) != 0) {
      vg_cli_error("out of memory");
      status = VG_EXIT_FAILURE;
      break;
    }
  }
  if (json_array_size(cases) == 0)
    printf("no cases%s\n", f.status || f.kind || f.route || f.rule ||
                                   f.assignee || f.min_score || f.since
                               ? " match"
                               : " open");
  else
    vg_table_print(t, stdout);
  vg_table_free(t);
out:
  json_decref(cases);
  vg_store_close(store);
  return status;
}
