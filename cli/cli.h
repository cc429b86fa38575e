/* cli.h - what every `vigia` subcommand shares: parsed arguments, the
 * configuration, output helpers and the exit codes of SPEC 3. */
#ifndef VG_CLI_H
#define VG_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "vigia.h"

enum vg_exit {
  VG_EXIT_OK = 0,
  VG_EXIT_FAILURE = 1, /* I/O, database, unknown case id */
  VG_EXIT_USAGE = 2,
  VG_EXIT_RULES = 3,   /* the rules did not load */
  VG_EXIT_REJECTS = 4, /* done, but some records were rejected */
  VG_EXIT_REFUSED = 5  /* a case transition not allowed */
};

#define VG_MAX_WORDS 32
#define VG_MAX_OPTS 64

struct vg_opt {
  const char *name;  /* without the leading dashes */
  const char *value; /* NULL for a flag */
};

struct vg_args {
  const char *words[VG_MAX_WORDS]; /* positional arguments, in order */
  size_t nwords;
  struct vg_opt opts[VG_MAX_OPTS]; /* options, in order */
  size_t nopts;
};

/* Every option any command knows, and whether it takes a value. Options
 * may stand anywhere on the line, so they are parsed once for all. */
struct vg_optspec {
  const char *name;
  bool has_value;
};
extern const struct vg_optspec vg_cli_options[];

/* Parses argv (after the program name). Returns 0, or VG_EXIT_USAGE with a
 * message in err (unknown option, missing value, too many arguments). */
int vg_args_parse(int argc, char **argv, struct vg_args *out, char *err,
                  size_t errlen);
/* The last value given for an option, or NULL. */
const char *vg_args_get(const struct vg_args *args, const char *name);
/* True when the option was given (flag or valued). */
bool vg_args_has(const struct vg_args *args, const char *name);
/* Collects every value of a repeatable option; returns how many. */
size_t vg_args_all(const struct vg_args *args, const char *name,
                   const char **values, size_t max);

struct vg_cli {
  struct vg_args args;
  struct vg_config cfg;
  const char *db_path;   /* --db, else config, else "vigia.db" */
  const char *rules_dir; /* --rules, else config, else "rules" */
  bool json;             /* --json */
  bool redact;           /* --redact */
  bool stdout_tty, stderr_tty;
  const char *command; /* e.g. "screen", "rules lint" (for messages) */
};

/* A subcommand: words are the positional arguments after its name(s). */
typedef int (*vg_cmd_fn)(struct vg_cli *cli, size_t nwords, const char **words);

/* Prints "vigia: " and the message on stderr. */
void vg_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints diagnostics as FILE:LINE:COL: error: MESSAGE [code] with the source
 * line and a caret (or as JSON objects on stdout with --json). */
void vg_cli_print_diags(const struct vg_cli *cli, const struct vg_diags *diags);
/* Loads the ruleset from cli->rules_dir, printing diagnostics (warnings
 * too when show_warnings). Returns 0 and sets *out, or VG_EXIT_RULES. */
int vg_cli_load_rules(struct vg_cli *cli, bool show_warnings, vg_ruleset **out);
/* The acting reviewer: --as, else the login name. */
const char *vg_cli_actor(const struct vg_cli *cli);

#endif
