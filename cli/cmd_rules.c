/* cmd_rules.c - `vigia rules lint|test|list`. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

static int no_arguments(struct vg_cli *cli, size_t nwords) {
  if (nwords) {
    vg_cli_error("'%s' takes no arguments", cli->command);
    return VG_EXIT_USAGE;
  }
  return VG_EXIT_OK;
}

int vg_cmd_rules_lint(struct vg_cli *cli, size_t nwords, const char **words) {
  (void)words;
  int rc = no_arguments(cli, nwords);
  if (rc)
    return rc;
  struct vg_diags diags;
  vg_diags_init(&diags);
  vg_ruleset *rs = NULL;
  int lrc = vg_ruleset_load(cli->rules_dir, &cli->cfg, &diags, &rs);
  vg_cli_print_diags(cli, &diags);
  if (!cli->json) {
    if (lrc == VG_OK)
      fprintf(stderr, "%zu rules loaded from %s: %zu error%s, %zu warning%s\n",
              vg_ruleset_rule_count(rs), cli->rules_dir, diags.errors,
              diags.errors == 1 ? "" : "s", diags.warnings,
              diags.warnings == 1 ? "" : "s");
    else
      fprintf(stderr,
              "the rules in %s did not load: %zu error%s, %zu "
              "warning%s\n",
              cli->rules_dir, diags.errors, diags.errors == 1 ? "" : "s",
              diags.warnings, diags.warnings == 1 ? "" : "s");
  }
  vg_diags_close(&diags);
  vg_ruleset_free(rs);
  return lrc == VG_OK ? VG_EXIT_OK : VG_EXIT_RULES;
}

struct test_report {
  const vg_ruleset *rs;
  json_t *failures; /* --json: collected; otherwise printed at once */
};

static void report_test(const struct vg_rule_test_outcome *o, void *user) {
  struct test_report *r = user;
  if (o->passed)
    return;
  struct vg_rule_info info;
  vg_ruleset_rule_info(r->rs, o->rule, &info);
  if (r->failures)
    json_array_append_new(r->failures,
                          json_pack("{s:s, s:i, s:s, s:I, s:s}", "file",
                                    o->file, "line", o->line, "rule", info.id,
                                    "test", (json_int_t)(o->test + 1),
                                    "message", o->message));
  else
    printf("%s:%d: FAIL %s test %zu: %s\n", o->file, o->line, info.id,
           o->test + 1, o->message);
}

int vg_cmd_rules_test(struct vg_cli *cli, size_t nwords, const char **words) {
  (void)words;
  int rc = no_arguments(cli, nwords);
  if (rc)
    return rc;
  vg_ruleset *rs;
  if ((rc = vg_cli_load_rules(cli, false, &rs)) != VG_EXIT_OK)
    return rc;
  struct test_report report = {.rs = rs,
                               .failures = cli->json ? json_array() : NULL};
  size_t passed = 0, failed = 0;
  if (vg_ruleset_run_tests(rs, report_test, &report, &passed, &failed) !=
      VG_OK) {
    vg_cli_error("out of memory while running the rule tests");
    json_decref(report.failures);
    vg_ruleset_free(rs);
    return VG_EXIT_FAILURE;
  }
  if (report.failures) {
    json_t *doc =
        json_pack("{s:I, s:I, s:o}", "passed", (json_int_t)passed, "failed",
                  (json_int_t)failed, "failures", report.failures);
    json_dumpf(doc, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(doc);
  } else {
    printf("%zu passed, %zu failed\n", passed, failed);
  }
  vg_ruleset_free(rs);
  return failed ? VG_EXIT_FAILURE : VG_EXIT_OK;
}

int vg_cmd_rules_list(struct vg_cli *cli, size_t nwords, const char **words) {
  (void)words;
  int rc = no_arguments(cli, nwords);
  if (rc)
    return rc;
  vg_ruleset *rs;
  if ((rc = vg_cli_load_rules(cli, false, &rs)) != VG_EXIT_OK)
    return rc;
  size_t n = vg_ruleset_rule_count(rs);
  if (cli->json) {
    json_t *rules = json_array();
    for (size_t i = 0; i < n; i++) {
      struct vg_rule_info r;
      vg_ruleset_rule_info(rs, i, &r);
      json_t *tags = json_array();
      for (size_t t = 0; t < r.ntags; t++)
        json_array_append_new(tags, json_string(r.tags[t]));
      json_array_append_new(
          rules, json_pack("{s:s, s:s?, s:i, s:s, s:b, s:s?, s:s, s:o}", "id",
                           r.id, "kind", r.kind, "score", r.score, "title",
                           r.title, "enabled", r.enabled, "route", r.route,
                           "digest", r.digest, "tags", tags));
    }
    json_t *doc = json_pack("{s:o}", "rules", rules);
    json_dumpf(doc, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(doc);
  } else {
    int idw = 2, kindw = 4;
    for (size_t i = 0; i < n; i++) {
      struct vg_rule_info r;
      vg_ruleset_rule_info(rs, i, &r);
      if ((int)strlen(r.id) > idw)
        idw = (int)strlen(r.id);
      if (r.kind && (int)strlen(r.kind) > kindw)
        kindw = (int)strlen(r.kind);
    }
    printf("%-*s  %-*s  %5s  %-7s  %s\n", idw, "ID", kindw, "KIND", "SCORE",
           "ENABLED", "TITLE");
    for (size_t i = 0; i < n; i++) {
      struct vg_rule_info r;
      vg_ruleset_rule_info(rs, i, &r);
      printf("%-*s  %-*s  %5d  %-7s  %s\n", idw, r.id, kindw,
             r.kind ? r.kind : "-", r.score, r.enabled ? "yes" : "no", r.title);
    }
  }
  vg_ruleset_free(rs);
  return VG_EXIT_OK;
}
