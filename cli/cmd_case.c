/* cmd_case.c - `vigia case show|claim|release|decide|note|reopen`: one
 * case, and the reviewer's changes to it (SPEC 4 lifecycle). */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"

static const char *str(const json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : "-";
}

/* Parses the case id argument; prints and returns the exit code when it
 * is missing (2) or names no case (1). */
static int case_id_arg(const char *cmd, size_t nwords, const char **words,
                       size_t expected, int64_t *id) {
  if (nwords == 0) {
    vg_cli_error("%s needs a case id", cmd);
    return VG_EXIT_USAGE;
  }
  if (nwords > expected) {
    vg_cli_error("%s: unexpected argument '%s'", cmd, words[expected]);
    return VG_EXIT_USAGE;
  }
  if (!vg_out_parse_case_id(words[0], id)) {
    vg_cli_error("no case %s", words[0]);
    return VG_EXIT_FAILURE;
  }
  return VG_EXIT_OK;
}

static bool same_record(const json_t *hit, const json_t *rec) {
  return json_equal(json_object_get(hit, "record_id"),
                    json_object_get(rec, "record_id")) &&
         json_equal(json_object_get(hit, "source"),
                    json_object_get(rec, "source")) &&
         json_equal(json_object_get(hit, "version"),
                    json_object_get(rec, "version"));
}

static void print_evidence(const json_t *e) {
  char value[600];
  const json_t *v = json_object_get(e, "value");
  char *text = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
  snprintf(value, sizeof value, "%s", text ? text : "null");
  free(text);
  printf("      %s: %s = %s", str(e, "selection"), str(e, "field"), value);
  const json_t *span = json_object_get(e, "span");
  if (json_is_array(span))
    printf("  [%" JSON_INTEGER_FORMAT ", %" JSON_INTEGER_FORMAT ")",
           json_integer_value(json_array_get(span, 0)),
           json_integer_value(json_array_get(span, 1)));
  const json_t *entry = json_object_get(e, "entry");
  if (json_is_string(entry))
    printf("  ~ \"%s\" (%.2f)", json_string_value(entry),
           json_number_value(json_object_get(e, "similarity")));
  const json_t *related = json_object_get(e, "related");
  if (related) {
    char *rel = json_dumps(related, JSON_COMPACT);
    printf("  related %s", rel ? rel : "?");
    free(rel);
  }
  putchar('\n');
}

static void print_case(const json_t *c) {
  char routes[512], rules[1024], buf[64];
  printf("case %" JSON_INTEGER_FORMAT "  %s  score %" JSON_INTEGER_FORMAT
         "  %s\n",
         json_integer_value(json_object_get(c, "case_id")), str(c, "status"),
         json_integer_value(json_object_get(c, "score")), str(c, "kind"));
  printf("subject   %s\n", str(c, "subject"));
  printf("routes    %s\n",
         vg_out_text(json_object_get(c, "routes"), routes, sizeof routes));
  printf("rules     %s\n",
         vg_out_text(json_object_get(c, "rules"), rules, sizeof rules));
  printf("assignee  %s\n", str(c, "assignee"));
  if (json_is_string(json_object_get(c, "escalated_by")))
    printf("escalated by %s\n", str(c, "escalated_by"));
  if (json_is_string(json_object_get(c, "reason")))
    printf("reason    %s\n", str(c, "reason"));
  printf("created   %s  updated %s", str(c, "created_at"),
         str(c, "updated_at"));
  if (json_is_string(json_object_get(c, "decided_at")))
    printf("  decided %s", str(c, "decided_at"));
  putchar('\n');

  size_t i, j;
  json_t *r, *h, *e;
  json_array_foreach(json_object_get(c, "records"), i, r) {
    printf("\nrecord %s/%s (version %" JSON_INTEGER_FORMAT
           ", observed %s, score %" JSON_INTEGER_FORMAT ")\n",
           str(r, "source"), str(r, "record_id"),
           json_integer_value(json_object_get(r, "version")),
           str(r, "observed_at"),
           json_integer_value(json_object_get(r, "score")));
    char *content = json_dumps(json_object_get(r, "content"),
                               JSON_INDENT(2) | JSON_SORT_KEYS);
    if (content) {
      /* Indent the record under its heading. */
      fputs("  ", stdout);
      for (const char *p = content; *p; p++) {
        putchar(*p);
        if (*p == '\n')
          fputs("  ", stdout);
      }
      putchar('\n');
      free(content);
    }
    json_array_foreach(json_object_get(c, "hits"), j, h) {
      if (!same_record(h, r))
        continue;
      printf("  hit %s (+%" JSON_INTEGER_FORMAT ") %s\n", str(h, "rule"),
             json_integer_value(json_object_get(h, "score")), str(h, "title"));
      printf("      rule digest %s\n", str(h, "rule_digest"));
      size_t k;
      json_array_foreach(json_object_get(h, "evidence"), k, e)
          print_evidence(e);
    }
  }
  const json_t *linked = json_object_get(c, "linked");
  printf("\nlinked cases: %s\n", json_array_size(linked)
                                     ? vg_out_text(linked, buf, sizeof buf)
                                     : "none");
  printf("\nhistory\n");
  static const char *const headers[] = {"  TIME", "ACTOR", "ACTION",
                                        "FROM",   "TO",    "NOTE"};
  struct vg_table *t = vg_table_new(6, headers);
  if (!t)
    return;
  json_array_foreach(json_object_get(c, "events"), i, e) {
    char at[64], note[1024];
    snprintf(at, sizeof at, "  %s", str(e, "at"));
    if (json_is_string(json_object_get(e, "reason")))
      snprintf(note, sizeof note, "[%s] %s", str(e, "reason"), str(e, "note"));
    else
      snprintf(note, sizeof note, "%s", str(e, "note"));
    const char *cells[] = {
        at,  str(e, "actor"), str(e, "action"), str(e, "from"), str(e, "to"),
        note};
    if (vg_table_add(t, cells) != 0)
      break;
  }
  vg_table_print(t, stdout);
  vg_table_free(t);
}

int vg_cmd_case_show(struct vg_cli *cli, size_t nwords, const char **words) {
  int64_t id;
  int status = case_id_arg("case show", nwords, words, 1, &id);
  if (status != VG_EXIT_OK)
    return status;
  vg_store *store = NULL;
  if ((status = vg_out_open_store(cli, false, &store)) != VG_EXIT_OK)
    return status;
  json_t *c = NULL;
  int rc = vg_store_case_show(store, id, vg_cli_actor(cli), cli->redact, &c);
  if (rc != 0) {
    status = vg_out_store_error(store, rc);
  } else if (cli->json) {
    status = vg_out_json(cli, c);
  } else {
    print_case(c);
  }
  json_decref(c);
  vg_store_close(store);
  return status;
}

/* Applies one lifecycle action and prints the case as it now stands. */
static int run_action(struct vg_cli *cli, int64_t id,
                      enum vg_case_action action, const char *note,
                      const char *reason) {
  vg_store *store = NULL;
  int status = vg_out_open_store(cli, false, &store);
  if (status != VG_EXIT_OK)
    return status;
  const char *actor = vg_cli_actor(cli);
  json_t *before = NULL, *after = NULL;
  int rc = vg_store_case_get(store, id, false, cli->redact, &before);
  if (rc == 0)
    rc = vg_store_case_act(store, id, action, actor, note, reason);
  if (rc == 0)
    rc = vg_store_case_get(store, id, false, cli->redact, &after);
  if (rc != 0) {
    status = vg_out_store_error(store, rc);
  } else if (cli->json) {
    status = vg_out_json(cli, after);
  } else {
    printf("case %lld: %s -> %s (%s)\n", (long long)id, str(before, "status"),
           str(after, "status"), actor);
  }
  json_decref(before);
  json_decref(after);
  vg_store_close(store);
  return status;
}

static int simple_action(struct vg_cli *cli, size_t nwords, const char **words,
                         enum vg_case_action action, bool needs_note) {
  int64_t id;
  int status = case_id_arg(cli->command, nwords, words, 1, &id);
  if (status != VG_EXIT_OK)
    return status;
  const char *note = vg_args_get(&cli->args, "note");
  if (needs_note && (!note || !*note)) {
    vg_cli_error("%s needs --note TEXT", cli->command);
    return VG_EXIT_USAGE;
  }
  return run_action(cli, id, action, note, NULL);
}

int vg_cmd_case_claim(struct vg_cli *cli, size_t nwords, const char **words) {
  return simple_action(cli, nwords, words, VG_ACT_CLAIM, false);
}

int vg_cmd_case_release(struct vg_cli *cli, size_t nwords, const char **words) {
  return simple_action(cli, nwords, words, VG_ACT_RELEASE, false);
}

int vg_cmd_case_note(struct vg_cli *cli, size_t nwords, const char **words) {
  return simple_action(cli, nwords, words, VG_ACT_NOTE, true);
}

int vg_cmd_case_reopen(struct vg_cli *cli, size_t nwords, const char **words) {
  return simple_action(cli, nwords, words, VG_ACT_REOPEN, true);
}

int vg_cmd_case_decide(struct vg_cli *cli, size_t nwords, const char **words) {
  int64_t id;
  if (nwords < 2) {
    vg_cli_error("case decide needs a case id and escalate, confirm or "
                 "dismiss");
    return VG_EXIT_USAGE;
  }
  enum vg_case_action action;
  if (strcmp(words[1], "escalate") == 0)
    action = VG_ACT_ESCALATE;
  else if (strcmp(words[1], "confirm") == 0)
    action = VG_ACT_CONFIRM;
  else if (strcmp(words[1], "dismiss") == 0)
    action = VG_ACT_DISMISS;
  else {
    vg_cli_error("unknown decision '%s' (escalate, confirm or dismiss)",
                 words[1]);
    return VG_EXIT_USAGE;
  }
  const char *note = vg_args_get(&cli->args, "note");
  const char *reason = vg_args_get(&cli->args, "reason");
  if (!note || !*note) {
    vg_cli_error("case decide needs --note TEXT");
    return VG_EXIT_USAGE;
  }
  if (action == VG_ACT_DISMISS && !reason) {
    vg_cli_error("dismiss needs --reason (false_positive, "
                 "insufficient_information, duplicate, other)");
    return VG_EXIT_USAGE;
  }
  if (reason && !vg_dismiss_reason_valid(reason)) {
    vg_cli_error("unknown reason '%s' (false_positive, "
                 "insufficient_information, duplicate, other)",
                 reason);
    return VG_EXIT_USAGE;
  }
  if (reason && action != VG_ACT_DISMISS) {
    vg_cli_error("--reason goes with dismiss only");
    return VG_EXIT_USAGE;
  }
  int status = case_id_arg("case decide", nwords, words, 2, &id);
  if (status != VG_EXIT_OK)
    return status;
  return run_action(cli, id, action, note, reason);
}
