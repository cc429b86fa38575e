/* tokens.h - who may use the socket interface: roles, the tokens file
 * (names, roles and SHA-256 digests of secret tokens; never the tokens
 * themselves) and fresh tokens for `vigia token new`. */
#ifndef VG_TOKENS_H
#define VG_TOKENS_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

/* Roles of SPEC 5. An admin may do everything; VG_ROLE_NONE is a peer that
 * has not authenticated. */
enum vg_role {
  VG_ROLE_NONE = 0,
  VG_ROLE_INGEST,
  VG_ROLE_REVIEWER,
  VG_ROLE_ADMIN
};

/* "ingest", "reviewer", "admin" ("none" for VG_ROLE_NONE); never NULL. */
const char *vg_role_name(enum vg_role role);
/* Sets *out from a role name. Returns 0, or VG_EINVAL for any other name
 * (*out untouched). */
int vg_role_parse(const char *name, enum vg_role *out);

/* True when name may name a token's holder: 1 to 64 letters, digits, '.',
 * '_', '-' or '@'. Such a name needs no quoting in YAML, a log line or an
 * audit event. */
bool vg_token_name_valid(const char *name);

/* The entries of a tokens file. Immutable once loaded, so the server's loop
 * may check tokens while other threads run. */
struct vg_tokens;

/* Loads a tokens file: a YAML list of {name: NAME, role: ROLE, sha256: HEX}.
 * The file must be readable and writable by its owner only (no permission
 * for group or others): otherwise it is refused with an
 * [insecure-permissions] diagnostic naming it, since anyone who can read
 * the digests can try to guess weak tokens, and anyone who can write it can
 * grant themselves a role. Every problem goes to diags (FILE:LINE:COL with
 * [unknown-key], [missing-key], [bad-value], [duplicate-token], or
 * [yaml-syntax] / [io] from the YAML reader). Returns 0 and sets *out
 * (free with vg_tokens_free), or VG_EIO, VG_EINVAL or VG_ENOMEM with *out
 * untouched. An empty list is valid: no token is accepted. */
int vg_tokens_load(const char *path, struct vg_tokens **out,
                   struct vg_diags *diags);
/* NULL is a no-op. */
void vg_tokens_free(struct vg_tokens *tokens);
/* The number of entries. */
size_t vg_tokens_count(const struct vg_tokens *tokens);

/* Checks a presented token: its SHA-256 is compared with every entry's
 * digest in constant time (all entries are compared, whichever matches), so
 * the time taken tells nothing about the digests. Returns true and sets
 * *name (owned by tokens) and *role when it matches an entry; false
 * otherwise (outputs untouched). */
bool vg_tokens_check(const struct vg_tokens *tokens, const char *token,
                     size_t len, const char **name, enum vg_role *role);

/* A fresh token: 32 random bytes from the system's generator, written as
 * 43 characters of unpadded base64url into token (at least 44 bytes with
 * the NUL), and the lowercase hex SHA-256 of those 43 characters into hex
 * (65 bytes). Returns 0, or VG_EIO when no random bytes could be had. */
int vg_token_generate(char token[44], char hex[65]);

#endif
