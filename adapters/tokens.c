/* tokens.c - the tokens file of `vigia serve` (names, roles, SHA-256 digests)
 * and the generation and constant-time checking of tokens. */
#include "tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "vg_error.h"
#include "ydoc.h"

/* A tokens file is a few lines per person; anything far larger is a
 * mistake (a wrong path), not a list of tokens. */
#define MAX_FILE_BYTES (4u << 20)

struct entry {
  char *name;
  enum vg_role role;
  unsigned char digest[32];
};

struct vg_tokens {
  struct entry *entries;
  size_t count;
};

static const char *const role_names[] = {"none", "ingest", "reviewer", "admin"};

const char *vg_role_name(enum vg_role role) {
  if ((size_t)role >= sizeof role_names / sizeof *role_names)
    return "none";
  return role_names[role];
}

int vg_role_parse(const char *name, enum vg_role *out) {
  for (size_t i = VG_ROLE_INGEST; i < sizeof role_names / sizeof *role_names;
       i++)
    if (strcmp(name, role_names[i]) == 0) {
      *out = (enum vg_role)i;
      return 0;
    }
  return VG_EINVAL;
}

bool vg_token_name_valid(const char *name) {
  size_t n = 0;
  for (; name[n]; n++) {
    char c = name[n];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
              c == '@';
    if (!ok || n >= 64)
      return false;
  }
  return n > 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static bool parse_digest(const char *hex, size_t len, unsigned char out[32]) {
  if (len != 64)
    return false;
  for (size_t i = 0; i < 32; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return false;
    out[i] = (unsigned char)(hi << 4 | lo);
  }
  return true;
}

static bool sha256(const void *data, size_t len, unsigned char out[32]) {
  unsigned int outlen = 0;
  return EVP_Digest(data, len, out, &outlen, EVP_sha256(), NULL) == 1 &&
         outlen == 32;
}

void vg_tokens_free(struct vg_tokens *tokens) {
  if (!tokens)
    return;
  for (size_t i = 0; i < tokens->count; i++)
    free(tokens->entries[i].name);
  /* The digests are not secret, but wiping them costs nothing. */
  if (tokens->entries)
    OPENSSL_cleanse(tokens->entries, tokens->count * sizeof *tokens->entries);
  free(tokens->entries);
  free(tokens);
}

size_t vg_tokens_count(const struct vg_tokens *tokens) {
  return tokens ? tokens->count : 0;
}

/* Reads the file whole after checking, on the open descriptor (so the file
 * checked is the file read), that only its owner may touch it. Returns 0
 * with *text (caller frees) or a negative code with a diagnostic. */
static int read_private(const char *path, char **text, size_t *len,
                        struct vg_diags *diags) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    vg_diags_add(diags, VG_SEV_ERROR, path, 0, 0, "io",
                 "cannot read the tokens file: %s", strerror(errno));
    return VG_EIO;
  }
  int rc = VG_EIO;
  char *buf = NULL;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    vg_diags_add(diags, VG_SEV_ERROR, path, 0, 0, "io",
                 "cannot read the tokens file: %s", strerror(errno));
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    vg_diags_add(diags, VG_SEV_ERROR, path, 0, 0, "io",
                 "the tokens file is not a regular file");
    rc = VG_EINVAL;
    goto out;
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    vg_diags_add(diags, VG_SEV_ERROR, path, 0, 0, "insecure-permissions",
                 "the tokens file must be private to its owner (mode %04o; "
                 "chmod 600 %s)",
                 (unsigned)(st.st_mode & 07777), path);
    rc = VG_EINVAL;
    goto out;
  }
  if (st.st_size > (off_t)MAX_FILE_BYTES) {
    vg_diags_add(diags, VG_SEV_ERROR, path, 0, 0, "io",
                 "the tokens file is larger than %u bytes", MAX_FILE_BYTES);
    rc = VG_EINVAL;
    goto out;
  }
  size_t cap = (size_t)st.st_size + 1, n = 0;
  buf = malloc(cap);
  if (!buf) {
    rc = VG_ENOMEM;
    goto out;
  }
  for (;;) {
    ssize_t got = read(fd, buf + n, cap - 1 - n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      vg_diags_add(diags, VG_SEV_ERROR, path, 0, 0, "io",
                   "cannot read the tokens file: %s", strerror(errno));
      goto out;
    }
    if (got == 0 || (n += (size_t)got) == cap - 1)
      break;
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  buf = NULL;
  rc = 0;
out:
  free(buf);
  close(fd);
  return rc;
}

/* Checks one entry and fills *e. Returns 0, VG_EINVAL (diagnosed) or
 * VG_ENOMEM. */
static int load_entry(const struct vg_ydoc *doc, const struct vg_ynode *node,
                      struct entry *e, struct vg_diags *diags) {
  const char *file = doc->file;
  if (node->type != VG_YMAP) {
    vg_diags_add(diags, VG_SEV_ERROR, file, node->line, node->col, "bad-value",
                 "a token entry is a mapping {name, role, sha256}");
    return VG_EINVAL;
  }
  int rc = 0;
  for (size_t i = 0; i < node->npairs; i++) {
    const struct vg_ynode *k = node->pairs[i].key;
    if (k->type == VG_YSCALAR &&
        (!strcmp(k->str, "name") || !strcmp(k->str, "role") ||
         !strcmp(k->str, "sha256")))
      continue;
    vg_diags_add(diags, VG_SEV_ERROR, file, k->line, k->col, "unknown-key",
                 "unknown key%s%s in a token entry (name, role, sha256)",
                 k->type == VG_YSCALAR ? " " : "",
                 k->type == VG_YSCALAR ? k->str : "");
    rc = VG_EINVAL;
  }
  static const char *const keys[] = {"name", "role", "sha256"};
  const struct vg_ynode *v[3];
  for (size_t i = 0; i < 3; i++) {
    v[i] = vg_ynode_get(node, keys[i]);
    if (!v[i]) {
      vg_diags_add(diags, VG_SEV_ERROR, file, node->line, node->col,
                   "missing-key", "a token entry needs '%s'", keys[i]);
      rc = VG_EINVAL;
    } else if (v[i]->type != VG_YSCALAR || vg_yscalar_is_null(v[i])) {
      /* Any scalar's text will do: a digest of digits alone reads as a
       * number in YAML and is still a digest. */
      vg_diags_add(diags, VG_SEV_ERROR, file, v[i]->line, v[i]->col,
                   "bad-value", "'%s' must be a string", keys[i]);
      rc = VG_EINVAL;
      v[i] = NULL;
    }
  }
  if (v[0] && !vg_token_name_valid(v[0]->str)) {
    vg_diags_add(diags, VG_SEV_ERROR, file, v[0]->line, v[0]->col, "bad-value",
                 "a name is 1 to 64 letters, digits, '.', '_', '-' or '@'");
    rc = VG_EINVAL;
  }
  if (v[1] && vg_role_parse(v[1]->str, &e->role) != 0) {
    vg_diags_add(diags, VG_SEV_ERROR, file, v[1]->line, v[1]->col, "bad-value",
                 "unknown role '%s' (ingest, reviewer, admin)", v[1]->str);
    rc = VG_EINVAL;
  }
  if (v[2] && !parse_digest(v[2]->str, v[2]->len, e->digest)) {
    vg_diags_add(diags, VG_SEV_ERROR, file, v[2]->line, v[2]->col, "bad-value",
                 "sha256 must be 64 hex digits (the SHA-256 of the token)");
    rc = VG_EINVAL;
  }
  if (rc != 0)
    return rc;
  e->name = strdup(v[0]->str);
  return e->name ? 0 : VG_ENOMEM;
}

int vg_tokens_load(const char *path, struct vg_tokens **out,
                   struct vg_diags *diags) {
  char *text = NULL;
  size_t len = 0;
  int rc = read_private(path, &text, &len, diags);
  if (rc != 0)
    return rc;
  struct vg_ydoc doc;
  rc = vg_ydoc_load_string(&doc, path, text, len, diags);
  free(text);
  if (rc != 0)
    return rc;
  struct vg_tokens *t = calloc(1, sizeof *t);
  if (!t) {
    rc = VG_ENOMEM;
    goto out;
  }
  const struct vg_ynode *root = doc.root;
  if (root && !(root->type == VG_YSCALAR && vg_yscalar_is_null(root))) {
    if (root->type != VG_YSEQ) {
      vg_diags_add(diags, VG_SEV_ERROR, path, root->line, root->col,
                   "bad-value",
                   "the tokens file is a list of {name, role, sha256}");
      rc = VG_EINVAL;
      goto out;
    }
    t->entries = calloc(root->nitems ? root->nitems : 1, sizeof *t->entries);
    if (!t->entries) {
      rc = VG_ENOMEM;
      goto out;
    }
    for (size_t i = 0; i < root->nitems; i++) {
      struct entry e = {0};
      int erc = load_entry(&doc, root->items[i], &e, diags);
      if (erc == VG_ENOMEM) {
        rc = erc;
        goto out;
      }
      if (erc != 0) {
        rc = erc;
        continue;
      }
      /* One token for two names would make the actor ambiguous. */
      for (size_t j = 0; j < t->count; j++)
        if (memcmp(t->entries[j].digest, e.digest, 32) == 0) {
          const struct vg_ynode *at = vg_ynode_get(root->items[i], "sha256");
          vg_diags_add(
              diags, VG_SEV_ERROR, path, at->line, at->col, "duplicate-token",
              "this digest is already given to '%s'", t->entries[j].name);
          rc = VG_EINVAL;
        }
      t->entries[t->count++] = e;
    }
  }
out:
  vg_ydoc_close(&doc);
  if (rc != 0) {
    vg_tokens_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

bool vg_tokens_check(const struct vg_tokens *tokens, const char *token,
                     size_t len, const char **name, enum vg_role *role) {
  unsigned char digest[32];
  if (!tokens || !sha256(token, len, digest))
    return false;
  size_t found = SIZE_MAX;
  /* Every entry is compared and the match is recorded without a branch on
   * the comparison, so neither the position nor the existence of a match
   * shows in the time. */
  for (size_t i = 0; i < tokens->count; i++) {
    size_t same = (size_t)(CRYPTO_memcmp(digest, tokens->entries[i].digest,
                                         sizeof digest) == 0);
    size_t mask = (size_t)0 - same;
    found = (found & ~mask) | (i & mask);
  }
  OPENSSL_cleanse(digest, sizeof digest);
  if (found == SIZE_MAX)
    return false;
  *name = tokens->entries[found].name;
  *role = tokens->entries[found].role;
  return true;
}

int vg_token_generate(char token[44], char hex[65]) {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1)
    return VG_EIO;
  unsigned char b64[48];
  int n = EVP_EncodeBlock(b64, raw, sizeof raw);
  OPENSSL_cleanse(raw, sizeof raw);
  /* base64url without padding: safe in a URL, a header or a shell. */
  size_t out = 0;
  for (int i = 0; i < n && out < 43; i++) {
    unsigned char c = b64[i];
    if (c == '=')
      break;
    token[out++] = c == '+' ? '-' : c == '/' ? '_' : (char)c;
  }
  token[out] = '\0';
  OPENSSL_cleanse(b64, sizeof b64);
  unsigned char digest[32];
  if (out != 43 || !sha256(token, out, digest))
    return VG_EIO;
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < 32; i++) {
    hex[2 * i] = digits[digest[i] >> 4];
    hex[2 * i + 1] = digits[digest[i] & 15];
  }
  hex[64] = '\0';
  return 0;
}
