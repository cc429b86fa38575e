/* main.c - the `vigia` command: parses the line once (options may stand
 * anywhere), loads the config, and dispatches to a subcommand. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"

const struct vg_optspec vg_cli_options[] = {{"db", true},
                                            {"rules", true},
                                            {"config", true},
                                            {"json", false},
                                            {"help", false},
                                            {"redact", false},
                                            {"format", true},
                                            {"mapping", true},
                                            {"dry-run", false},
                                            {"emit", false},
                                            {"status", true},
                                            {"kind", true},
                                            {"route", true},
                                            {"rule", true},
                                            {"assignee", true},
                                            {"min-score", true},
                                            {"since", true},
                                            {"limit", true},
                                            {"as", true},
                                            {"note", true},
                                            {"reason", true},
                                            {"by", true},
                                            {"before", true},
                                            {"listen", true},
                                            {"allow-remote", false},
                                            {"tokens", true},
                                            {"name", true},
                                            {"role", true},
                                            {"source", true},
                                            {NULL, false}};

struct command {
  const char *name, *sub; /* "rules", "lint"; sub NULL for one word */
  vg_cmd_fn fn;
  const char *usage;
};

static const struct command commands[] = {
    {"screen", NULL, vg_cmd_screen,
     "vigia screen [FILE...] [--format ndjson|csv|paxlst] [--mapping FILE]\n"
     "             [--dry-run] [--emit] [--json]\n"
     "Reads records (stdin when no file or '-'), screens them against the\n"
     "rules, stores hits and opens cases (not with --dry-run, which prints\n"
     "one result line per record instead). --emit prints result lines too.\n"
     "A summary goes to stderr. Exit 0 done, 1 failure, 3 rules did not\n"
     "load, 4 some records were rejected.\n"},
    {"rules", "lint", vg_cmd_rules_lint,
     "vigia rules lint [--rules DIR] [--json]\n"
     "Loads and checks the rules; prints every error and warning.\n"
     "Exit 0 when the rules load, 3 otherwise.\n"},
    {"rules", "test", vg_cmd_rules_test,
     "vigia rules test [--rules DIR]\n"
     "Runs every embedded rule test; prints one line per failure and\n"
     "'N passed, N failed'. Exit 1 on any failure.\n"},
    {"rules", "list", vg_cmd_rules_list,
     "vigia rules list [--rules DIR] [--json]\n"
     "Lists id, kind, score, title and whether each rule is enabled.\n"},
    {"queue", NULL, vg_cmd_queue,
     "vigia queue [--status S] [--kind K] [--route R] [--rule ID]\n"
     "            [--assignee NAME] [--min-score N] [--since DATE|7d|12h]\n"
     "            [--limit N] [--redact] [--json]\n"
     "Lists open cases (new, in_review, escalated; --status picks one\n"
     "status, decided ones too), highest score first, then oldest. At most\n"
     "50 unless --limit (0: all). --json prints {\"cases\": [...]}.\n"},
    {"case", "show", vg_cmd_case_show,
     "vigia case show ID [--as NAME] [--redact] [--json]\n"
     "Shows the case, its records, each hit with evidence, linked cases and\n"
     "its history. Showing is recorded in the audit as 'viewed'.\n"
     "Exit 1 when no case has that id.\n"},
    {"case", "claim", vg_cmd_case_claim,
     "vigia case claim ID [--as NAME]\n"
     "Takes a new case into review, assigned to NAME (default: the login\n"
     "name). Exit 5 when the case is not new.\n"},
    {"case", "release", vg_cmd_case_release,
     "vigia case release ID [--as NAME]\n"
     "Gives a case in review back to the queue (its assignee only).\n"
     "Exit 5 when refused.\n"},
    {"case", "decide", vg_cmd_case_decide,
     "vigia case decide ID escalate|confirm|dismiss --note TEXT\n"
     "                  [--reason CODE] [--as NAME]\n"
     "Decides a case in review (its assignee), or confirms or dismisses an\n"
     "escalated case (anyone but who escalated it). dismiss needs --reason:\n"
     "false_positive, insufficient_information, duplicate, other.\n"
     "Exit 2 without --note or --reason, 5 when refused.\n"},
    {"case", "note", vg_cmd_case_note,
     "vigia case note ID --note TEXT [--as NAME]\n"
     "Adds a note to the case's history.\n"},
    {"case", "reopen", vg_cmd_case_reopen,
     "vigia case reopen ID --note TEXT [--as NAME]\n"
     "Reopens a confirmed or dismissed case into review, assigned to NAME.\n"
     "Exit 5 when refused.\n"},
    {"stats", NULL, vg_cmd_stats,
     "vigia stats [--json]\n"
     "Per rule: hits, cases, confirmed, dismissed and precision\n"
     "(confirmed / decided). Per kind: records screened and flagged, over\n"
     "every run against the database.\n"},
    {"report", "fairness", vg_cmd_report_fairness,
     "vigia report fairness --by FIELD [--json]\n"
     "Per value of a protected field: records screened, flag rate and\n"
     "confirmation rate, against all values. Counts only. Exit 2 when\n"
     "FIELD is not protected.\n"},
    {"rejects", NULL, vg_cmd_rejects,
     "vigia rejects [--source FILE] [--limit N] [--json]\n"
     "Lists rejected records and input warnings: source, line, reason.\n"},
    {"audit", "verify", vg_cmd_audit_verify,
     "vigia audit verify [--json]\n"
     "Checks the audit chain. Exit 1 naming the first broken event.\n"},
    {"purge", NULL, vg_cmd_purge,
     "vigia purge [--before DATE] [--status confirmed|dismissed] [--json]\n"
     "Deletes cases decided before DATE (default: retention_days ago) with\n"
     "their records and hits; without --status also stored records that\n"
     "joined no case and rejects older than DATE. The audit keeps a\n"
     "'purged' event for each case.\n"},
    {"serve", NULL, vg_cmd_serve,
     "vigia serve --listen unix:PATH|tcp:HOST:PORT [--listen ADDR...]\n"
     "            [--tokens FILE] [--allow-remote] [--redact]\n"
     "Serves the socket interface (NDJSON requests: auth, screen, queue,\n"
     "case.*, subscribe, stats; see docs/socket.md). A Unix socket is made\n"
     "with mode 0600; TCP binds loopback unless --allow-remote and needs\n"
     "--tokens. Without --tokens, Unix peers of the same user act as admin.\n"
     "SIGHUP reloads the rules; SIGINT or SIGTERM stops after answering\n"
     "what was read. Exit 0 stopped, 1 failure, 2 usage or tokens file\n"
     "refused, 3 rules did not load.\n"},
    {"token", "new", vg_cmd_token_new,
     "vigia token new --name NAME --role ingest|reviewer|admin [--json]\n"
     "Prints a fresh random token (once) and the tokens-file entry with its\n"
     "SHA-256 to add for `vigia serve --tokens FILE`.\n"},
};

static const char global_usage[] =
    "usage: vigia [--db FILE] [--rules DIR] [--config FILE] COMMAND ...\n"
    "\n"
    "commands:\n"
    "  screen [FILE...]      screen records into the review queue\n"
    "  rules lint|test|list  check, test or list the rules\n"
    "  queue                 list open cases\n"
    "  case show|claim|release|decide|note|reopen ID\n"
    "                        review a case\n"
    "  stats                 per rule and per kind counts\n"
    "  report fairness --by FIELD\n"
    "                        rates per value of a protected field\n"
    "  rejects               records that could not be screened\n"
    "  audit verify          check the audit chain\n"
    "  purge --before DATE   delete decided cases (retention)\n"
    "  serve --listen ADDR   the socket interface\n"
    "  token new             a token for the socket interface\n"
    "\n"
    "Options may stand anywhere. 'vigia COMMAND --help' for details.\n";

void vg_cli_error(const char *fmt, ...) {
  va_list ap;
  fputs("vigia: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static const struct vg_optspec *find_spec(const char *name, size_t len) {
  for (const struct vg_optspec *s = vg_cli_options; s->name; s++)
    if (strlen(s->name) == len && memcmp(s->name, name, len) == 0)
      return s;
  return NULL;
}

int vg_args_parse(int argc, char **argv, struct vg_args *out, char *err,
                  size_t errlen) {
  memset(out, 0, sizeof *out);
  bool only_words = false;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (only_words || a[0] != '-' || a[1] == '\0' ||
        (a[1] != '-' && !(a[1] == 'h' && a[2] == '\0'))) {
      if (out->nwords == VG_MAX_WORDS) {
        snprintf(err, errlen, "too many arguments");
        return VG_EXIT_USAGE;
      }
      out->words[out->nwords++] = a;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_words = true;
      continue;
    }
    if (strcmp(a, "-h") == 0)
      a = "--help";
    const char *name = a + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const struct vg_optspec *spec = find_spec(name, len);
    if (!spec) {
      snprintf(err, errlen, "unknown option '--%.*s'", (int)len, name);
      return VG_EXIT_USAGE;
    }
    const char *value = NULL;
    if (spec->has_value) {
      if (eq)
        value = eq + 1;
      else if (i + 1 < argc)
        value = argv[++i];
      else {
        snprintf(err, errlen, "option '--%s' needs a value", spec->name);
        return VG_EXIT_USAGE;
      }
    } else if (eq) {
      snprintf(err, errlen, "option '--%s' takes no value", spec->name);
      return VG_EXIT_USAGE;
    }
    if (out->nopts == VG_MAX_OPTS) {
      snprintf(err, errlen, "too many options");
      return VG_EXIT_USAGE;
    }
    out->opts[out->nopts].name = spec->name;
    out->opts[out->nopts].value = value;
    out->nopts++;
  }
  return 0;
}

const char *vg_args_get(const struct vg_args *args, const char *name) {
  for (size_t i = args->nopts; i-- > 0;)
    if (strcmp(args->opts[i].name, name) == 0)
      return args->opts[i].value;
  return NULL;
}

bool vg_args_has(const struct vg_args *args, const char *name) {
  for (size_t i = 0; i < args->nopts; i++)
    if (strcmp(args->opts[i].name, name) == 0)
      return true;
  return false;
}

size_t vg_args_all(const struct vg_args *args, const char *name,
                   const char **values, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < args->nopts && n < max; i++)
    if (strcmp(args->opts[i].name, name) == 0)
      values[n++] = args->opts[i].value;
  return n;
}

const char *vg_cli_actor(const struct vg_cli *cli) {
  const char *as = vg_args_get(&cli->args, "as");
  if (as && *as)
    return as;
  const char *login = getlogin();
  if (!login)
    login = getenv("USER");
  if (!login)
    login = getenv("LOGNAME");
  return login && *login ? login : "unknown";
}

static const struct command *find_command(size_t nwords, const char **words,
                                          size_t *consumed) {
  const struct command *partial = NULL;
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
    const struct command *c = &commands[i];
    if (strcmp(c->name, words[0]) != 0)
      continue;
    if (!c->sub) {
      *consumed = 1;
      return c;
    }
    partial = c;
    if (nwords > 1 && strcmp(c->sub, words[1]) == 0) {
      *consumed = 2;
      return c;
    }
  }
  *consumed = 0;
  return partial ? partial : NULL;
}

static void print_group_usage(const char *name, FILE *out) {
  fputs("usage:\n", out);
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (strcmp(commands[i].name, name) == 0) {
      const char *nl = strchr(commands[i].usage, '\n');
      fprintf(out, "  %.*s\n", (int)(nl - commands[i].usage),
              commands[i].usage);
    }
}

int main(int argc, char **argv) {
  struct vg_cli cli;
  memset(&cli, 0, sizeof cli);
  char err[256];
  if (vg_args_parse(argc - 1, argv + 1, &cli.args, err, sizeof err) != 0) {
    vg_cli_error("%s", err);
    fputs(global_usage, stderr);
    return VG_EXIT_USAGE;
  }
  bool help = vg_args_has(&cli.args, "help");
  if (cli.args.nwords == 0) {
    fputs(global_usage, help ? stdout : stderr);
    return help ? VG_EXIT_OK : VG_EXIT_USAGE;
  }
  size_t consumed = 0;
  const struct command *cmd =
      find_command(cli.args.nwords, cli.args.words, &consumed);
  if (!cmd) {
    vg_cli_error("unknown command '%s'", cli.args.words[0]);
    fputs(global_usage, stderr);
    return VG_EXIT_USAGE;
  }
  if (consumed == 0) {
    if (help) {
      print_group_usage(cmd->name, stdout);
      return VG_EXIT_OK;
    }
    if (cli.args.nwords > 1)
      vg_cli_error("unknown command '%s %s'", cmd->name, cli.args.words[1]);
    else
      vg_cli_error("'%s' needs a subcommand", cmd->name);
    print_group_usage(cmd->name, stderr);
    return VG_EXIT_USAGE;
  }
  if (help) {
    fputs(cmd->usage, stdout);
    return VG_EXIT_OK;
  }

  vg_config_init(&cli.cfg);
  const char *config_path = vg_args_get(&cli.args, "config");
  bool config_given = config_path != NULL;
  if (!config_given && access("vigia.yaml", F_OK) == 0)
    config_path = "vigia.yaml";
  if (config_path) {
    struct vg_diags diags;
    vg_diags_init(&diags);
    int rc = vg_config_load(&cli.cfg, config_path, &diags);
    if (rc != 0) {
      vg_cli_print_diags(&cli, &diags);
      vg_diags_close(&diags);
      vg_config_close(&cli.cfg);
      return rc == VG_EIO && config_given ? VG_EXIT_USAGE : VG_EXIT_FAILURE;
    }
    vg_diags_close(&diags);
  }
  cli.db_path = vg_args_get(&cli.args, "db");
  if (!cli.db_path)
    cli.db_path = cli.cfg.db ? cli.cfg.db : "vigia.db";
  cli.rules_dir = vg_args_get(&cli.args, "rules");
  if (!cli.rules_dir)
    cli.rules_dir = cli.cfg.rules ? cli.cfg.rules : "rules";
  cli.json = vg_args_has(&cli.args, "json");
  cli.redact = vg_args_has(&cli.args, "redact");
  cli.stdout_tty = isatty(STDOUT_FILENO);
  cli.stderr_tty = isatty(STDERR_FILENO);
  char command_name[64];
  snprintf(command_name, sizeof command_name, "%s%s%s", cmd->name,
           cmd->sub ? " " : "", cmd->sub ? cmd->sub : "");
  cli.command = command_name;

  int status =
      cmd->fn(&cli, cli.args.nwords - consumed, cli.args.words + consumed);
  if (fflush(stdout) != 0 && status == VG_EXIT_OK) {
    vg_cli_error("cannot write the output");
    status = VG_EXIT_FAILURE;
  }
  vg_config_close(&cli.cfg);
  return status;
}
