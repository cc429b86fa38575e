/* commands.h - the subcommands of `vigia`, one file each (cmd_*.c). */
#ifndef VG_COMMANDS_H
#define VG_COMMANDS_H

#include "cli.h"

int vg_cmd_screen(struct vg_cli *cli, size_t nwords, const char **words);
int vg_cmd_rules_lint(struct vg_cli *cli, size_t nwords, const char **words);
int vg_cmd_rules_test(struct vg_cli *cli, size_t nwords, const char **words);
int vg_cmd_rules_list(struct vg_cli *cli, size_t nwords, const char **words);
/* The review queue (cmd_queue.c, cmd_case.c, cmd_stats.c, cmd_report.c,
 * cmd_rejects.c, cmd_audit.c, cmd_purge.c). */
int vg_cmd_queue(struct vg_cli *cli, size_t nwords, const char **words);
int vg_cmd_case_show(struct vg_cli *cli, size_t nwords, const char **words);
int vg_cmd_case_claim(struct vg_cli *cli, size_t nwords, const char **words);
int vg_cmd_case_release(struct vg_cli *cli, size_t nwords, const char **words);
int vg_cmd_case_decide(struct vg_cli *cli, size_t nwords, const char **words);
int vg_cmd_case_note(struct vg_cli *cli, size_t nwords, const char **words);
int vg_cmd_case_reopen(struct vg_cli *cli, size_t nwords, const char **words);
int vg_cmd_stats(struct vg_cli *cli, size_t nwords, const char **words);
int vg_cmd_report_fairness(struct vg_cli *cli, size_t nwords,
                           const char **words);
int vg_cmd_rejects(struct vg_cli *cli, size_t nwords, const char **words);
int vg_cmd_audit_verify(struct vg_cli *cli, size_t nwords, const char **words);
int vg_cmd_purge(struct vg_cli *cli, size_t nwords, const char **words);
/* The socket interface (cmd_serve.c) and its tokens (cmd_token.c). */
int vg_cmd_serve(struct vg_cli *cli, size_t nwords, const char **words);
int vg_cmd_token_new(struct vg_cli *cli, size_t nwords, const char **words);

#endif
