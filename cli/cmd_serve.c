/* cmd_serve.c - `vigia serve`: checks the listen addresses and the tokens
 * file, loads the rules, opens the store and runs the socket server until
 * SIGINT or SIGTERM (SPEC 5). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "output.h"
#include "server.h"
#include "tokens.h"

#define MAX_LISTEN 16

int vg_cmd_serve(struct vg_cli *cli, size_t nwords, const char **words) {
  if (nwords > 0) {
    vg_cli_error("serve takes no arguments (unexpected '%s')", words[0]);
    return VG_EXIT_USAGE;
  }
  const char *texts[MAX_LISTEN + 1];
  size_t n = vg_args_all(&cli->args, "listen", texts, MAX_LISTEN + 1);
  if (n == 0) {
    vg_cli_error("serve needs --listen unix:PATH or --listen tcp:HOST:PORT");
    return VG_EXIT_USAGE;
  }
  if (n > MAX_LISTEN) {
    vg_cli_error("serve takes at most %d --listen addresses", MAX_LISTEN);
    return VG_EXIT_USAGE;
  }
  struct vg_listen_addr addrs[MAX_LISTEN];
  for (size_t i = 0; i < n; i++) {
    char err[256];
    if (vg_listen_addr_parse(texts[i], &addrs[i], err, sizeof err) != 0) {
      vg_cli_error("%s", err);
      return VG_EXIT_USAGE;
    }
  }
  struct vg_tokens *tokens = NULL;
  const char *tokens_path = vg_args_get(&cli->args, "tokens");
  if (tokens_path) {
    struct vg_diags diags;
    vg_diags_init(&diags);
    int rc = vg_tokens_load(tokens_path, &tokens, &diags);
    struct vg_cli plain = *cli;
    plain.json = false; /* diagnostics go to stderr, stdout stays quiet */
    vg_cli_print_diags(&plain, &diags);
    vg_diags_close(&diags);
    if (rc != 0) {
      vg_cli_error("the tokens file '%s' was refused", tokens_path);
      return VG_EXIT_USAGE;
    }
  }
  vg_ruleset *rs = NULL;
  vg_store *store = NULL;
  struct vg_server *srv = NULL;
  int status = vg_cli_load_rules(cli, false, &rs);
  if (status != VG_EXIT_OK)
    goto out;
  if ((status = vg_out_open_store(cli, true, &store)) != VG_EXIT_OK) {
    vg_ruleset_free(rs);
    goto out;
  }
  struct vg_server_options opts = {
      .listen = addrs,
      .nlisten = n,
      .allow_remote = vg_args_has(&cli->args, "allow-remote"),
      .tokens = tokens,
      .rules_dir = cli->rules_dir,
      .cfg = &cli->cfg,
      .redact = cli->redact,
      .max_line = cli->cfg.max_record_bytes,
  };
  char err[512];
  int rc = vg_server_new(&opts, rs, store, &srv, err, sizeof err);
  if (rc != 0) {
    vg_cli_error("%s", err);
    status = rc == VG_EINVAL ? VG_EXIT_USAGE : VG_EXIT_FAILURE;
    goto out;
  }
  rc = vg_server_run(srv);
  status = rc == 0 ? VG_EXIT_OK : VG_EXIT_FAILURE;
out:
  vg_server_free(srv);
  vg_store_close(store);
  vg_tokens_free(tokens);
  return status;
}
