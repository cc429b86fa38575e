/* commands.h - the subcommands of `vigia`, one file each (cmd_*.c). */
#ifndef VG_COMMANDS_H
#define VG_COMMANDS_H

#include "cli.h"

int vg_cmd_screen(struct vg_cli *cli, size_t nwords, const char **words);
int vg_cmd_rules_lint(struct vg_cli *cli, size_t nwords, const char **words);
int vg_cmd_rules_test(struct vg_cli *cli, size_t nwords, const char **words);
int vg_cmd_rules_list(struct vg_cli *cli, size_t nwords, const char **words);

#endif
