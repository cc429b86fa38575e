/* cmd_token.c - `vigia token new`: a fresh random token for the socket
 * interface, shown once, and the tokens-file entry that grants its role
 * (only the token's SHA-256 is ever stored). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "commands.h"
#include "output.h"
#include "tokens.h"

int vg_cmd_token_new(struct vg_cli *cli, size_t nwords, const char **words) {
  if (nwords > 0) {
    vg_cli_error("token new takes no arguments (unexpected '%s')", words[0]);
    return VG_EXIT_USAGE;
  }
  const char *name = vg_args_get(&cli->args, "name");
  const char *role_name = vg_args_get(&cli->args, "role");
  enum vg_role role;
  if (!name || !role_name) {
    vg_cli_error("token new needs --name NAME and --role "
                 "ingest|reviewer|admin");
    return VG_EXIT_USAGE;
  }
  if (!vg_token_name_valid(name)) {
    vg_cli_error("a token name is 1 to 64 letters, digits, '.', '_', '-' or "
                 "'@', not '%s'",
                 name);
    return VG_EXIT_USAGE;
  }
  if (vg_role_parse(role_name, &role) != 0) {
    vg_cli_error("unknown role '%s' (ingest, reviewer, admin)", role_name);
    return VG_EXIT_USAGE;
  }
  char token[44], hex[65];
  if (vg_token_generate(token, hex) != 0) {
    vg_cli_error("no random bytes available for a token");
    return VG_EXIT_FAILURE;
  }
  int status = VG_EXIT_OK;
  if (cli->json) {
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s}", "name", name, "role",
                            vg_role_name(role), "token", token, "sha256", hex);
    status = doc ? vg_out_json(cli, doc) : VG_EXIT_FAILURE;
    json_decref(doc);
  } else {
    printf("%s\n- {name: %s, role: %s, sha256: %s}\n", token, name,
           vg_role_name(role), hex);
    fprintf(stderr,
            "vigia: the first line is the token for %s, shown only once: "
            "hand it over privately.\nvigia: the second line is its entry: "
            "add it to the tokens file (mode 600) and restart `vigia "
            "serve`.\n",
            name);
  }
  OPENSSL_cleanse(token, sizeof token);
  return status;
}
