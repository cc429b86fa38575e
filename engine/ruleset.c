/* ruleset.c - loading rules (SPEC 2): every YAML file under the rules
 * directory is read, lists and macros are collected, every rule is checked
 * completely (all problems reported, not only the first) and compiled:
 * field paths resolved to slots, constants folded, regexes compiled with
 * JIT, conditions parsed, the fairness rule applied, digests computed. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "regex.h"
#include "vtime.h"

#define VG_MATCH_LIMIT 200000
#define VG_LIST_FILE_MAX (INT64_C(64) << 20)
#define VG_DEPTH_LIMIT 5000

struct seen_id {
  const char *id, *file;
  int line, col;
};

struct loader {
  struct seen_id *ids; /* every rule id met, for duplicate-id */
  size_t nids, ids_cap;
  struct vg_ruleset *rs;
  struct vg_diags *diags;
  const struct vg_config *cfg;
  size_t rules_cap, lists_cap, macros_cap;
};

static void error_at(struct loader *L, const char *file,
                     const struct vg_ynode *n, const char *code,
                     const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void error_at(struct loader *L, const char *file,
                     const struct vg_ynode *n, const char *code,
                     const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vg_diags_addv(L->diags, VG_SEV_ERROR, file, n ? n->line : 0, n ? n->col : 0,
                code, fmt, ap);
  va_end(ap);
}

static void warn_at(struct loader *L, const char *file, int line, int col,
                    const char *code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void warn_at(struct loader *L, const char *file, int line, int col,
                    const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vg_diags_addv(L->diags, VG_SEV_WARNING, file, line, col, code, fmt, ap);
  va_end(ap);
}

static const char *scalar(const struct vg_ynode *n) {
  return n && n->type == VG_YSCALAR ? n->str : NULL;
}

/* ------------------------------------------------------------ files */

struct file_list {
  char **paths;
  size_t n, cap;
};

static int compare_paths(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int collect_files(const char *dir, bool top, struct file_list *out) {
  DIR *dh = opendir(dir);
  if (!dh)
    return VG_EIO;
  int rc = VG_OK;
  struct dirent *e;
  while ((e = readdir(dh)) != NULL && rc == VG_OK) {
    if (e->d_name[0] == '.')
      continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(path, &st) != 0)
      continue;
    if (S_ISDIR(st.st_mode)) {
      if (top && !strcmp(e->d_name, "schemas"))
        continue;
      rc = collect_files(path, false, out);
      if (rc == VG_EIO)
        rc = VG_OK;
      continue;
    }
    size_t len = strlen(e->d_name);
    bool yaml = (len > 5 && !strcmp(e->d_name + len - 5, ".yaml")) ||
                (len > 4 && !strcmp(e->d_name + len - 4, ".yml"));
    if (!yaml)
      continue;
    if (out->n == out->cap) {
      size_t cap = out->cap ? out->cap * 2 : 16;
      char **grown = realloc(out->paths, cap * sizeof *grown);
      if (!grown) {
        rc = VG_ENOMEM;
        break;
      }
      out->paths = grown;
      out->cap = cap;
    }
    if (!(out->paths[out->n] = strdup(path)))
      rc = VG_ENOMEM;
    else
      out->n++;
  }
  closedir(dh);
  return rc;
}

/* ------------------------------------------------------------ lists */

static const struct list_def *find_list(const struct vg_ruleset *rs,
                                        const char *name) {
  for (size_t i = 0; i < rs->nlists; i++)
    if (!strcmp(rs->lists[i].name, name))
      return &rs->lists[i];
  return NULL;
}

static int push_item(struct vg_ruleset *rs, struct list_def *l, size_t *cap,
                     const char *s, size_t len) {
  if (l->nitems == *cap) {
    size_t ncap = *cap ? *cap * 2 : 16;
    const char **items = realloc(l->items, ncap * sizeof *items);
    if (!items)
      return VG_ENOMEM;
    l->items = items;
    size_t *lens = realloc(l->item_lens, ncap * sizeof *lens);
    if (!lens)
      return VG_ENOMEM;
    l->item_lens = lens;
    *cap = ncap;
  }
  char *copy = vg_arena_strndup(&rs->arena, s, len);
  if (!copy)
    return VG_ENOMEM;
  l->items[l->nitems] = copy;
  l->item_lens[l->nitems] = len;
  l->nitems++;
  return VG_OK;
}

static int read_list_file(struct loader *L, struct list_def *l, size_t *cap,
                          const char *file, const struct vg_ynode *node) {
  char path[4096];
  const char *slash = strrchr(file, '/');
  if (node->str[0] == '/')
    snprintf(path, sizeof path, "%s", node->str);
  else
    snprintf(path, sizeof path, "%.*s%s", slash ? (int)(slash - file + 1) : 0,
             file, node->str);
  FILE *f = fopen(path, "rb");
  if (!f) {
    error_at(L, file, node, "list-file", "cannot read list file '%s': %s", path,
             strerror(errno));
    return VG_EINVAL;
  }
  /* A directory, a device or a pipe is no list; a huge file is a mistake. */
  struct stat st;
  bool regular = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
  if (!regular || st.st_size > VG_LIST_FILE_MAX) {
    error_at(L, file, node, "list-file", "list file '%s' is %s", path,
             regular ? "larger than 64 MiB" : "not a regular file");
    fclose(f);
    return VG_EINVAL;
  }
  char *line = NULL;
  size_t line_cap = 0;
  ssize_t n;
  int rc = VG_OK;
  while ((n = getline(&line, &line_cap, f)) >= 0 && rc == VG_OK) {
    size_t a = 0, b = (size_t)n;
    while (a < b && (line[a] == ' ' || line[a] == '\t'))
      a++;
    while (b > a && (line[b - 1] == '\n' || line[b - 1] == '\r' ||
                     line[b - 1] == ' ' || line[b - 1] == '\t'))
      b--;
    if (a == b || line[a] == '#')
      continue;
    rc = push_item(L->rs, l, cap, line + a, b - a);
  }
  free(line);
  fclose(f);
  return rc;
}

static int load_lists(struct loader *L, const struct vg_ydoc *doc,
                      const struct vg_ynode *lists) {
  const char *file = doc->file;
  struct vg_ruleset *rs = L->rs;
  if (lists->type != VG_YMAP) {
    error_at(L, file, lists, "bad-value", "'lists' must map names to lists");
    return VG_EINVAL;
  }
  for (size_t i = 0; i < lists->npairs; i++) {
    const struct vg_ynode *k = lists->pairs[i].key, *v = lists->pairs[i].value;
    if (!scalar(k) || !k->len) {
      error_at(L, file, k, "bad-value", "a list name must be text");
      continue;
    }
    const struct list_def *prev = find_list(rs, k->str);
    if (prev) {
      error_at(L, file, k, "duplicate-list",
               "list '%s' is already defined at %s:%d", k->str, prev->file,
               prev->line);
      continue;
    }
    if (rs->nlists == L->lists_cap) {
      size_t cap = L->lists_cap ? L->lists_cap * 2 : 16;
      struct list_def *grown = realloc(rs->lists, cap * sizeof *grown);
      if (!grown)
        return VG_ENOMEM;
      rs->lists = grown;
      L->lists_cap = cap;
    }
    struct list_def *l = &rs->lists[rs->nlists++];
    memset(l, 0, sizeof *l);
    l->name = k->str;
    l->file = file;
    l->line = k->line;
    l->col = k->col;
    l->threshold = 0.90;
    size_t cap = 0;
    const struct vg_ynode *items = v;
    if (v->type == VG_YMAP) {
      items = NULL;
      for (size_t j = 0; j < v->npairs; j++) {
        const struct vg_ynode *lk = v->pairs[j].key, *lv = v->pairs[j].value;
        const char *key = scalar(lk) ? lk->str : "?";
        if (!strcmp(key, "items")) {
          items = lv;
        } else if (!strcmp(key, "file")) {
          if (!vg_yscalar_is_string(lv)) {
            error_at(L, file, lv, "bad-value", "'file' must be a path");
            continue;
          }
          int r = read_list_file(L, l, &cap, file, lv);
          if (r == VG_ENOMEM)
            return r;
        } else if (!strcmp(key, "threshold")) {
          double t;
          if (!vg_yscalar_number(lv, &t) || t <= 0 || t > 1)
            error_at(L, file, lv, "bad-value",
                     "'threshold' must be a number above 0 and at most 1");
          else
            l->threshold = t;
        } else {
          error_at(L, file, lk, "unknown-key",
                   "unknown key '%s' in list '%s' (expected items, file or "
                   "threshold)",
                   key, l->name);
        }
      }
    }
    if (items) {
      if (items->type != VG_YSEQ) {
        error_at(L, file, items, "bad-value",
                 "list '%s' must be a sequence of values", l->name);
        continue;
      }
      for (size_t j = 0; j < items->nitems; j++) {
        const struct vg_ynode *it = items->items[j];
        if (it->type != VG_YSCALAR || vg_yscalar_is_null(it)) {
          error_at(L, file, it, "bad-value",
                   "list entries must be plain values");
          continue;
        }
        if (push_item(rs, l, &cap, it->str, it->len) != VG_OK)
          return VG_ENOMEM;
      }
    }
  }
  return VG_OK;
}

/* Prepared forms of a list, built once after every list is read. */
static int prepare_list(struct vg_ruleset *rs, struct list_def *l) {
  size_t n = l->nitems;
  const char **folded = calloc(n ? n : 1, sizeof *folded);
  const char **phones = calloc(n ? n : 1, sizeof *phones);
  size_t *flens = calloc(n ? n : 1, sizeof *flens);
  size_t *plens = calloc(n ? n : 1, sizeof *plens);
  int rc = VG_ENOMEM;
  if (!folded || !phones || !flens || !plens)
    goto done;
  for (size_t i = 0; i < n; i++) {
    char buf[1024];
    size_t len = vg_fold(l->items[i], l->item_lens[i], buf, sizeof buf);
    if (len > sizeof buf)
      len = sizeof buf;
    if (!(folded[i] = vg_arena_strndup(&rs->arena, buf, len)))
      goto done;
    flens[i] = len;
    len = vg_phone_key(l->items[i], l->item_lens[i], rs->phone_country_code,
                       buf, sizeof buf);
    if (len > sizeof buf)
      len = sizeof buf;
    if (!(phones[i] = vg_arena_strndup(&rs->arena, buf, len)))
      goto done;
    plens[i] = len;
  }
  l->folded = vg_strset_new(folded, flens, n);
  l->phones = vg_strset_new(phones, plens, n);
  l->fuzzy = vg_fuzzy_list_new(l->items, l->item_lens, n);
  if (l->folded && l->phones && l->fuzzy)
    rc = VG_OK;
done:
  free(folded);
  free(phones);
  free(flens);
  free(plens);
  return rc;
}

/* ----------------------------------------------------------- tests */

enum modifier_bit {
  MOD_CONTAINS = 1 << 0,
  MOD_STARTSWITH = 1 << 1,
  MOD_ENDSWITH = 1 << 2,
  MOD_RE = 1 << 3,
  MOD_GT = 1 << 4,
  MOD_GTE = 1 << 5,
  MOD_LT = 1 << 6,
  MOD_LTE = 1 << 7,
  MOD_EXISTS = 1 << 8,
  MOD_IN = 1 << 9,
  MOD_FUZZY = 1 << 10,
  MOD_FIELDREF = 1 << 11,
  MOD_ALL = 1 << 12,
  MOD_CASED = 1 << 13,
  MOD_FOLD = 1 << 14,
  MOD_I = 1 << 15,
  MOD_M = 1 << 16,
  MOD_S = 1 << 17
};

static const struct {
  const char *name;
  unsigned bit;
  enum test_op op;
} modifiers[] = {
    {"contains", MOD_CONTAINS, OP_CONTAINS},
    {"startswith", MOD_STARTSWITH, OP_STARTSWITH},
    {"endswith", MOD_ENDSWITH, OP_ENDSWITH},
    {"re", MOD_RE, OP_RE},
    {"gt", MOD_GT, OP_GT},
    {"gte", MOD_GTE, OP_GTE},
    {"lt", MOD_LT, OP_LT},
    {"lte", MOD_LTE, OP_LTE},
    {"exists", MOD_EXISTS, OP_EXISTS},
    {"in", MOD_IN, OP_IN},
    {"fuzzy", MOD_FUZZY, OP_FUZZY},
    {"fieldref", MOD_FIELDREF, OP_EQ},
    {"all", MOD_ALL, OP_EQ},
    {"cased", MOD_CASED, OP_EQ},
    {"fold", MOD_FOLD, OP_EQ},
    {"i", MOD_I, OP_EQ},
    {"m", MOD_M, OP_EQ},
    {"s", MOD_S, OP_EQ},
};

#define OP_MODS                                                                \
  (MOD_CONTAINS | MOD_STARTSWITH | MOD_ENDSWITH | MOD_RE | MOD_GT | MOD_GTE |  \
   MOD_LT | MOD_LTE | MOD_EXISTS | MOD_IN | MOD_FUZZY)

static bool is_stringish(enum vg_field_type t) {
  return t == VG_TYPE_STRING || t == VG_TYPE_TEXT || t == VG_TYPE_PHONE ||
         t == VG_TYPE_LIST;
}
static bool is_ordered(enum vg_field_type t) {
  return t == VG_TYPE_INT || t == VG_TYPE_NUMBER || t == VG_TYPE_DATE ||
         t == VG_TYPE_DATETIME;
}
static bool is_numeric(enum vg_field_type t) {
  return t == VG_TYPE_INT || t == VG_TYPE_NUMBER;
}
static bool is_time(enum vg_field_type t) {
  return t == VG_TYPE_DATE || t == VG_TYPE_DATETIME;
}

static const char *op_name(enum test_op op) {
  switch (op) {
  case OP_EQ:
    return "equals";
  case OP_CONTAINS:
    return "contains";
  case OP_STARTSWITH:
    return "startswith";
  case OP_ENDSWITH:
    return "endswith";
  case OP_RE:
    return "re";
  case OP_GT:
    return "gt";
  case OP_GTE:
    return "gte";
  case OP_LT:
    return "lt";
  case OP_LTE:
    return "lte";
  case OP_EXISTS:
    return "exists";
  case OP_IN:
    return "in";
  case OP_FUZZY:
    return "fuzzy";
  }
  return "?";
}

static bool op_fits(enum test_op op, enum vg_field_type t) {
  switch (op) {
  case OP_EQ:
  case OP_EXISTS:
    return true;
  case OP_CONTAINS:
  case OP_STARTSWITH:
  case OP_ENDSWITH:
  case OP_RE:
  case OP_IN:
    return is_stringish(t);
  case OP_FUZZY:
    return t == VG_TYPE_STRING || t == VG_TYPE_TEXT || t == VG_TYPE_LIST;
  case OP_GT:
  case OP_GTE:
  case OP_LT:
  case OP_LTE:
    return is_ordered(t);
  }
  return false;
}

static int unknown_field(struct loader *L, const char *file,
                         const struct vg_ynode *n, const struct vg__kind *k,
                         const char *path) {
  const char *near = vg__kind_suggest(k, path);
  if (near)
    error_at(L, file, n, "unknown-field",
             "unknown field '%s' for kind '%s' (did you mean '%s'?)", path,
             k->name, near);
  else
    error_at(L, file, n, "unknown-field", "unknown field '%s' for kind '%s'",
             path, k->name);
  return VG_EINVAL;
}

static int compile_regex(struct loader *L, const char *file,
                         const struct vg_ynode *v, struct test *t,
                         unsigned mods, struct konst *k) {
  uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK;
  if (mods & MOD_I)
    options |= PCRE2_CASELESS;
  if (mods & MOD_M)
    options |= PCRE2_MULTILINE;
  if (mods & MOD_S)
    options |= PCRE2_DOTALL;
  options &= ~(uint32_t)PCRE2_NO_UTF_CHECK; /* patterns are checked */
  int errcode;
  PCRE2_SIZE erroffset;
  k->re = pcre2_compile((PCRE2_SPTR)v->str, v->len, options, &errcode,
                        &erroffset, NULL);
  if (!k->re) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(errcode, msg, sizeof msg);
    struct vg_ynode at = *v;
    if (!memchr(v->str, '\n', v->len)) {
      /* PCRE2 counts bytes; columns count characters. */
      int chars = 0;
      for (size_t b = 0; b < erroffset && b < v->len; b++)
        chars += ((unsigned char)v->str[b] & 0xC0) != 0x80;
      at.col += chars + (v->quoted ? 1 : 0);
    }
    error_at(L, file, &at, "bad-regex",
             "regular expression does not compile: %s at offset %zu",
             (const char *)msg, (size_t)erroffset);
    return VG_EINVAL;
  }
  struct vg_ruleset *rs = L->rs;
  if (rs->ncodes == rs->codes_cap) {
    size_t cap = rs->codes_cap ? rs->codes_cap * 2 : 16;
    pcre2_code **grown = realloc(rs->codes, cap * sizeof *grown);
    if (!grown) {
      pcre2_code_free(k->re);
      k->re = NULL;
      return VG_ENOMEM;
    }
    rs->codes = grown;
    rs->codes_cap = cap;
  }
  rs->codes[rs->ncodes++] = k->re;
  /* JIT is an optimisation: a pattern JIT cannot take still runs. */
  k->jit = pcre2_jit_compile(k->re, PCRE2_JIT_COMPLETE) == 0;
  int rc =
      vg__regex_literals(&L->rs->arena, v->str, v->len, (mods & MOD_I) != 0,
                         (mods & MOD_FOLD) != 0, &k->lits);
  if (rc != VG_OK)
    return rc;
  k->literal_caseless = (mods & MOD_I) != 0;
  k->prefilter = -1;
  if (k->lits.nsets == 0)
    warn_at(L, file, v->line, v->col, "regex-no-literal",
            "regular expression for '%s' has no literal text: it runs on "
            "every record",
            t->key);
  return VG_OK;
}

/* Converts one constant to the field's type. */
static int compile_const(struct loader *L, const char *file,
                         const struct vg_ynode *v, struct test *t,
                         enum vg_field_type type, unsigned mods,
                         struct konst *k) {
  struct vg_ruleset *rs = L->rs;
  if (v->type != VG_YSCALAR || vg_yscalar_is_null(v)) {
    error_at(L, file, v, "type-mismatch",
             "'%s' needs a value of type %s here%s", t->key,
             vg_field_type_name(type),
             vg_yscalar_is_null(v) ? " (to test for a missing field use "
                                     "'|exists: false')"
                                   : "");
    return VG_EINVAL;
  }
  k->raw = v->str;
  k->raw_len = v->len;
  if (t->op == OP_RE)
    return compile_regex(L, file, v, t, mods, k);
  bool is_string_op = t->op == OP_CONTAINS || t->op == OP_STARTSWITH ||
                      t->op == OP_ENDSWITH || t->op == OP_EQ;
  if (is_stringish(type) && is_string_op) {
    if (!vg_yscalar_is_string(v) && type != VG_TYPE_PHONE) {
      bool b;
      if (vg_yscalar_bool(v, &b)) {
        error_at(L, file, v, "type-mismatch",
                 "'%s' is a field of type %s: quote '%s' to compare it as "
                 "text",
                 t->key, vg_field_type_name(type), v->str);
        return VG_EINVAL;
      }
    }
    char buf[2048];
    size_t len;
    if (type == VG_TYPE_PHONE && !(mods & MOD_CASED))
      /* A whole number gets the country code like the values it meets;
       * a part of one (contains, startswith, endswith) keeps its digits
       * as written. */
      len = vg_phone_key(v->str, v->len,
                         t->op == OP_EQ ? rs->phone_country_code : NULL, buf,
                         sizeof buf);
    else if (mods & MOD_CASED) {
      len = v->len < sizeof buf ? v->len : sizeof buf + 1;
      memcpy(buf, v->str, len <= sizeof buf ? len : 0);
    } else
      len = vg_fold(v->str, v->len, buf, sizeof buf);
    if (len > sizeof buf) {
      error_at(L, file, v, "bad-value", "value for '%s' is too long", t->key);
      return VG_EINVAL;
    }
    if (len == 0 && type == VG_TYPE_PHONE && !(mods & MOD_CASED)) {
      error_at(L, file, v, "type-mismatch",
               "'%s' is a field of type phone: '%s' has no digits", t->key,
               v->str);
      return VG_EINVAL;
    }
    if (!(k->folded = vg_arena_strndup(&rs->arena, buf, len)))
      return VG_ENOMEM;
    k->folded_len = len;
    return VG_OK;
  }
  if (is_numeric(type)) {
    if (!vg_yscalar_number(v, &k->number)) {
      error_at(L, file, v, "type-mismatch",
               "'%s' is a field of type %s: expected a number, not '%s'",
               t->key, vg_field_type_name(type), v->str);
      return VG_EINVAL;
    }
    return VG_OK;
  }
  if (is_time(type)) {
    if (!vg_parse_datetime(v->str, v->len, &k->time) &&
        !vg_parse_date(v->str, v->len, &k->time)) {
      error_at(L, file, v, "type-mismatch",
               "'%s' is a field of type %s: expected a date (YYYY-MM-DD) or "
               "an RFC "
               "3339 datetime, not '%s'",
               t->key, vg_field_type_name(type), v->str);
      return VG_EINVAL;
    }
    return VG_OK;
  }
  if (type == VG_TYPE_BOOL) {
    if (!vg_yscalar_bool(v, &k->boolean)) {
      error_at(L, file, v, "type-mismatch",
               "'%s' is a bool field: expected true or false, not '%s'", t->key,
               v->str);
      return VG_EINVAL;
    }
    return VG_OK;
  }
  error_at(L, file, v, "type-mismatch", "'%s' cannot be compared with '%s'",
           t->key, v->str);
  return VG_EINVAL;
}

/* Compiles `field|mod|mod: value` for kind k. */
static int compile_test(struct loader *L, const char *file, size_t kind,
                        const struct vg_ynode *key, const struct vg_ynode *v,
                        struct test *t) {
  struct vg_ruleset *rs = L->rs;
  const struct vg__kind *k = &rs->kinds[kind];
  memset(t, 0, sizeof *t);
  t->ref_field = -1;
  t->line = key->line;
  t->col = key->col;
  if (!scalar(key) || key->len == 0) {
    error_at(L, file, key, "bad-value", "a test key must be a field path");
    return VG_EINVAL;
  }
  t->key = key->str;
  const char *bar = strchr(key->str, '|');
  size_t path_len = bar ? (size_t)(bar - key->str) : key->len;
  char path[512];
  snprintf(path, sizeof path, "%.*s", (int)path_len, key->str);
  unsigned mods = 0;
  enum test_op op = OP_EQ;
  int rc = VG_OK;
  while (bar) {
    const char *name = bar + 1;
    bar = strchr(name, '|');
    size_t len = bar ? (size_t)(bar - name) : strlen(name);
    bool found = false;
    for (size_t i = 0; i < sizeof modifiers / sizeof *modifiers; i++) {
      if (strlen(modifiers[i].name) != len ||
          memcmp(modifiers[i].name, name, len))
        continue;
      found = true;
      if ((modifiers[i].bit & OP_MODS) && (mods & OP_MODS)) {
        error_at(L, file, key, "bad-modifier",
                 "'%s' combines '%.*s' with another comparison", key->str,
                 (int)len, name);
        rc = VG_EINVAL;
      }
      mods |= modifiers[i].bit;
      if (modifiers[i].bit & OP_MODS)
        op = modifiers[i].op;
    }
    if (!found) {
      error_at(L, file, key, "unknown-modifier",
               "unknown modifier '%.*s' in '%s'", (int)len, name, key->str);
      rc = VG_EINVAL;
    }
  }
  t->op = op;
  t->all = (mods & MOD_ALL) != 0;
  t->cased = (mods & MOD_CASED) != 0;
  t->fold_re = (mods & MOD_FOLD) != 0;
  int field = vg__kind_field(k, path, path_len);
  if (field < 0)
    return unknown_field(L, file, key, k, path);
  t->field = field;
  enum vg_field_type type = k->fields[field].type;
  if (k->fields[field].drop) {
    error_at(L, file, key, "dropped-field",
             "field '%s' is dropped at ingest (drop: true): no rule can test "
             "it",
             path);
    return VG_EINVAL;
  }
  if (rc != VG_OK)
    return rc;
  if (!op_fits(op, type)) {
    error_at(L, file, key, "type-mismatch",
             "'%s' cannot be used on '%s', a field of type %s", op_name(op),
             path, vg_field_type_name(type));
    return VG_EINVAL;
  }
  if ((mods & (MOD_FOLD | MOD_I | MOD_M | MOD_S)) && op != OP_RE) {
    error_at(L, file, key, "bad-modifier",
             "'%s': fold, i, m and s go with 're' only", key->str);
    return VG_EINVAL;
  }
  if ((mods & MOD_CASED) && !is_stringish(type)) {
    error_at(L, file, key, "bad-modifier",
             "'%s': cased applies to text fields only", key->str);
    return VG_EINVAL;
  }
  if ((mods & MOD_FIELDREF) && !(op == OP_EQ || op == OP_GT || op == OP_GTE ||
                                 op == OP_LT || op == OP_LTE)) {
    error_at(L, file, key, "bad-modifier",
             "'%s': fieldref goes with equals, gt, gte, lt or lte only",
             key->str);
    return VG_EINVAL;
  }
  if ((mods & MOD_ALL) && v->type != VG_YSEQ) {
    error_at(L, file, key, "bad-modifier", "'%s': all needs a list of values",
             key->str);
    return VG_EINVAL;
  }
  if (op == OP_EXISTS) {
    bool b;
    if (!vg_yscalar_bool(v, &b)) {
      error_at(L, file, v, "type-mismatch", "'%s' needs true or false",
               key->str);
      return VG_EINVAL;
    }
    t->negate_exists = !b;
    return VG_OK;
  }
  if (op == OP_IN || op == OP_FUZZY) {
    if (!vg_yscalar_is_string(v)) {
      error_at(L, file, v, "bad-value", "'%s' needs the name of a list",
               key->str);
      return VG_EINVAL;
    }
    const struct list_def *l = find_list(rs, v->str);
    if (!l) {
      error_at(L, file, v, "unknown-list", "unknown list '%s'", v->str);
      return VG_EINVAL;
    }
    ((struct list_def *)l)->used = true;
    t->list = l;
    return VG_OK;
  }
  if (mods & MOD_FIELDREF) {
    if (!vg_yscalar_is_string(v)) {
      error_at(L, file, v, "bad-value", "'%s' needs a field path", key->str);
      return VG_EINVAL;
    }
    int ref = vg__kind_field(k, v->str, v->len);
    if (ref < 0)
      return unknown_field(L, file, v, k, v->str);
    if (k->fields[ref].drop) {
      error_at(L, file, v, "dropped-field",
               "field '%s' is dropped at ingest (drop: true): no rule can "
               "test it",
               v->str);
      return VG_EINVAL;
    }
    enum vg_field_type rt = k->fields[ref].type;
    bool comparable = (is_stringish(type) && is_stringish(rt)) ||
                      (is_numeric(type) && is_numeric(rt)) ||
                      (is_time(type) && is_time(rt)) ||
                      (type == VG_TYPE_BOOL && rt == VG_TYPE_BOOL);
    if (!comparable) {
      error_at(L, file, v, "type-mismatch",
               "'%s' (%s) cannot be compared with '%s' (%s)", path,
               vg_field_type_name(type), v->str, vg_field_type_name(rt));
      return VG_EINVAL;
    }
    t->ref_field = ref;
    return VG_OK;
  }
  size_t n = v->type == VG_YSEQ ? v->nitems : 1;
  if (n == 0) {
    error_at(L, file, v, "bad-value", "'%s' has an empty list of values",
             key->str);
    return VG_EINVAL;
  }
  t->values = vg_arena_calloc(&rs->arena, n, sizeof *t->values);
  if (!t->values)
    return VG_ENOMEM;
  t->nvalues = n;
  for (size_t i = 0; i < n; i++) {
    const struct vg_ynode *item = v->type == VG_YSEQ ? v->items[i] : v;
    int r = compile_const(L, file, item, t, type, mods, &t->values[i]);
    if (r == VG_ENOMEM)
      return r;
    if (r != VG_OK)
      rc = r;
  }
  return rc;
}

/* A selection: a map (AND of tests) or a list of maps (OR of maps). */
static int compile_selection(struct loader *L, const char *file, size_t kind,
                             const char *name, const struct vg_ynode *node,
                             struct selection *s) {
  struct vg_ruleset *rs = L->rs;
  memset(s, 0, sizeof *s);
  s->name = name;
  s->line = node->line;
  s->col = node->col;
  size_t nmaps = node->type == VG_YSEQ ? node->nitems : 1;
  size_t ntests = 0;
  if (nmaps == 0) {
    error_at(L, file, node, "bad-value",
             "selection '%s' is an empty list: it could never hold", name);
    return VG_EINVAL;
  }
  for (size_t m = 0; m < nmaps; m++) {
    const struct vg_ynode *map = node->type == VG_YSEQ ? node->items[m] : node;
    if (map->type != VG_YMAP || map->npairs == 0) {
      error_at(L, file, map, "bad-value",
               "selection '%s' must be a map of tests or a list of such maps",
               name);
      return VG_EINVAL;
    }
    ntests += map->npairs;
  }
  s->tests = vg_arena_calloc(&rs->arena, ntests, sizeof *s->tests);
  s->groups = vg_arena_calloc(&rs->arena, nmaps, sizeof *s->groups);
  if (!s->tests || !s->groups)
    return VG_ENOMEM;
  int rc = VG_OK;
  for (size_t m = 0; m < nmaps; m++) {
    const struct vg_ynode *map = node->type == VG_YSEQ ? node->items[m] : node;
    s->groups[m].first = s->ntests;
    for (size_t i = 0; i < map->npairs; i++) {
      int r = compile_test(L, file, kind, map->pairs[i].key,
                           map->pairs[i].value, &s->tests[s->ntests]);
      if (r == VG_ENOMEM)
        return r;
      if (r != VG_OK)
        rc = r;
      s->ntests++;
    }
    s->groups[m].count = s->ntests - s->groups[m].first;
  }
  s->ngroups = nmaps;
  return rc;
}

static int find_kind(const struct vg_ruleset *rs, const char *name) {
  for (size_t i = 0; i < rs->nkinds; i++)
    if (!strcmp(rs->kinds[i].name, name))
      return (int)i;
  return -1;
}

static void unknown_kind(struct loader *L, const char *file,
                         const struct vg_ynode *n) {
  char known[256] = "";
  size_t len = 0;
  for (size_t i = 0; i < L->rs->nkinds && len < sizeof known; i++)
    len += (size_t)snprintf(known + len, sizeof known - len, "%s%s",
                            i ? ", " : "", L->rs->kinds[i].name);
  error_at(L, file, n, "unknown-kind",
           "unknown kind '%s' (the schemas declare %s)",
           scalar(n) ? n->str : "?", known);
}

/* ---------------------------------------------------------- macros */

static int load_macros(struct loader *L, const struct vg_ydoc *doc,
                       const struct vg_ynode *macros) {
  struct vg_ruleset *rs = L->rs;
  const char *file = doc->file;
  if (macros->type != VG_YMAP) {
    error_at(L, file, macros, "bad-value", "'macros' must map names to macros");
    return VG_EINVAL;
  }
  for (size_t i = 0; i < macros->npairs; i++) {
    const struct vg_ynode *k = macros->pairs[i].key,
                          *v = macros->pairs[i].value;
    if (!scalar(k) || !k->len) {
      error_at(L, file, k, "bad-value", "a macro name must be text");
      continue;
    }
    bool dup = false;
    for (size_t j = 0; j < rs->nmacros; j++)
      if (!strcmp(rs->macros[j].name, k->str)) {
        error_at(L, file, k, "duplicate-macro",
                 "macro '%s' is already defined at %s:%d", k->str,
                 rs->macros[j].file, rs->macros[j].line);
        dup = true;
      }
    if (dup)
      continue;
    if (v->type != VG_YMAP) {
      error_at(L, file, v, "bad-value", "macro '%s' needs 'kind' and 'match'",
               k->str);
      continue;
    }
    bool bad_key = false;
    for (size_t j = 0; j < v->npairs; j++) {
      const char *mk = scalar(v->pairs[j].key);
      if (!mk || (strcmp(mk, "kind") && strcmp(mk, "match") &&
                  strcmp(mk, "description"))) {
        error_at(L, file, v->pairs[j].key, "unknown-key",
                 "unknown key '%s' in macro '%s' (expected kind, match or "
                 "description)",
                 mk ? mk : "?", k->str);
        bad_key = true;
      }
    }
    const struct vg_ynode *kind = vg_ynode_get(v, "kind"),
                          *match = vg_ynode_get(v, "match");
    if (!kind || !match) {
      error_at(L, file, v, "missing-key", "macro '%s' needs '%s'", k->str,
               !kind ? "kind" : "match");
      continue;
    }
    int kd = scalar(kind) ? find_kind(rs, kind->str) : -1;
    if (kd < 0) {
      unknown_kind(L, file, kind);
      continue;
    }
    if (bad_key)
      continue;
    if (rs->nmacros == L->macros_cap) {
      size_t cap = L->macros_cap ? L->macros_cap * 2 : 8;
      struct macro_def *grown = realloc(rs->macros, cap * sizeof *grown);
      if (!grown)
        return VG_ENOMEM;
      rs->macros = grown;
      L->macros_cap = cap;
    }
    struct macro_def *m = &rs->macros[rs->nmacros];
    memset(m, 0, sizeof *m);
    m->name = k->str;
    m->file = file;
    m->line = k->line;
    m->col = k->col;
    m->kind = (size_t)kd;
    m->node = v;
    int r = compile_selection(L, file, m->kind, m->name, match, &m->sel);
    if (r == VG_ENOMEM)
      return r;
    if (r == VG_OK)
      rs->nmacros++;
  }
  return VG_OK;
}

/* ----------------------------------------------------------- rules */

static const char *const rule_keys[] = {
    "id",        "title",     "kind",        "score", "match",
    "condition", "correlate", "description", "tags",  "references",
    "route",     "enabled",   "tests"};

static bool valid_id(const char *s) {
  if (!*s)
    return false;
  for (; *s; s++)
    if (!(((*s | 32) >= 'a' && (*s | 32) <= 'z') || (*s >= '0' && *s <= '9') ||
          *s == '-' || *s == '_' || *s == '.'))
      return false;
  return true;
}

static int string_list(struct loader *L, const char *file,
                       const struct vg_ynode *n, const char *key,
                       const char ***out, size_t *count) {
  if (n->type != VG_YSEQ) {
    error_at(L, file, n, "bad-value", "'%s' must be a list of strings", key);
    return VG_EINVAL;
  }
  const char **items =
      vg_arena_calloc(&L->rs->arena, n->nitems ? n->nitems : 1, sizeof *items);
  if (!items)
    return VG_ENOMEM;
  for (size_t i = 0; i < n->nitems; i++) {
    if (n->items[i]->type != VG_YSCALAR) {
      error_at(L, file, n->items[i], "bad-value",
               "'%s' must be a list of strings", key);
      return VG_EINVAL;
    }
    items[i] = n->items[i]->str;
  }
  *out = items;
  *count = n->nitems;
  return VG_OK;
}

static bool route_known(const struct loader *L, const char *route) {
  static const char *const builtin[] = {"border", "labour", "protection",
                                        "child_protection"};
  for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++)
    if (!strcmp(route, builtin[i]))
      return true;
  for (size_t i = 0; i < L->cfg->nroutes; i++)
    if (!strcmp(route, L->cfg->routes[i].value))
      return true;
  return false;
}

static void note_list_uses(const struct selection *s, const char **names,
                           size_t *n, size_t cap) {
  for (size_t i = 0; i < s->ntests; i++) {
    const struct list_def *l = s->tests[i].list;
    if (!l)
      continue;
    bool seen = false;
    for (size_t j = 0; j < *n; j++)
      if (!strcmp(names[j], l->name))
        seen = true;
    if (!seen && *n < cap)
      names[(*n)++] = l->name;
  }
}

static void collect_macros(const struct cond *c, size_t *macros, size_t *n,
                           size_t cap) {
  if (c->type == COND_MACRO) {
    for (size_t j = 0; j < *n; j++)
      if (macros[j] == c->index)
        return;
    if (*n < cap)
      macros[(*n)++] = c->index;
  }
  for (size_t i = 0; i < c->nkids; i++)
    collect_macros(c->kids[i], macros, n, cap);
}

static int compare_cstr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The digest covers the rule as written (keys sorted, without its tests)
 * and everything it draws on: the entries of its lists and its macros. */
static int rule_digest(struct loader *L, struct rule *r,
                       const struct vg_ynode *node) {
  struct vg__buf buf = {0};
  int rc = vg__buf_append(&buf, "{\"rule\":{", 9);
  const struct vg_ypair **pairs =
      calloc(node->npairs ? node->npairs : 1, sizeof *pairs);
  if (!pairs)
    rc = VG_ENOMEM;
  size_t n = 0;
  for (size_t i = 0; pairs && i < node->npairs; i++)
    if (scalar(node->pairs[i].key) && strcmp(node->pairs[i].key->str, "tests"))
      pairs[n++] = &node->pairs[i];
  /* Sort the rule's own keys; vg__ynode_to_json sorts nested maps. */
  for (size_t i = 1; i < n; i++)
    for (size_t j = i;
         j > 0 && strcmp(pairs[j - 1]->key->str, pairs[j]->key->str) > 0; j--) {
      const struct vg_ypair *t = pairs[j];
      pairs[j] = pairs[j - 1];
      pairs[j - 1] = t;
    }
  for (size_t i = 0; i < n && rc == VG_OK; i++) {
    if (i)
      rc = vg__buf_append(&buf, ",", 1);
    struct vg_ynode keynode = *pairs[i]->key;
    keynode.quoted = true;
    if (rc == VG_OK)
      rc = vg__ynode_to_json(&keynode, &buf, true);
    if (rc == VG_OK)
      rc = vg__buf_append(&buf, ":", 1);
    if (rc == VG_OK)
      rc = vg__ynode_to_json(pairs[i]->value, &buf, true);
  }
  free(pairs);
  if (rc == VG_OK)
    rc = vg__buf_append(&buf, "},\"lists\":{", 11);
  const char *lists[64];
  size_t nlists = 0;
  for (size_t i = 0; i < r->nsels; i++)
    note_list_uses(&r->sels[i], lists, &nlists, 64);
  size_t macros[64], nmacros = 0;
  if (r->cond)
    collect_macros(r->cond, macros, &nmacros, 64);
  for (size_t i = 0; i < nmacros; i++)
    note_list_uses(&L->rs->macros[macros[i]].sel, lists, &nlists, 64);
  qsort(lists, nlists, sizeof *lists, compare_cstr);
  for (size_t i = 0; i < nlists && rc == VG_OK; i++) {
    const struct list_def *l = find_list(L->rs, lists[i]);
    char head[512];
    int hn =
        snprintf(head, sizeof head, "%s\"%s\":{\"threshold\":%.17g,\"items\":[",
                 i ? "," : "", l->name, l->threshold);
    rc = vg__buf_append(&buf, head, (size_t)hn);
    for (size_t j = 0; j < l->nitems && rc == VG_OK; j++) {
      struct vg_ynode item = {.type = VG_YSCALAR,
                              .str = l->items[j],
                              .len = l->item_lens[j],
                              .quoted = true};
      if (j)
        rc = vg__buf_append(&buf, ",", 1);
      if (rc == VG_OK)
        rc = vg__ynode_to_json(&item, &buf, true);
    }
    if (rc == VG_OK)
      rc = vg__buf_append(&buf, "]}", 2);
  }
  if (rc == VG_OK)
    rc = vg__buf_append(&buf, "},\"macros\":{", 12);
  for (size_t i = 0; i < nmacros && rc == VG_OK; i++) {
    const struct macro_def *m = &L->rs->macros[macros[i]];
    char head[300];
    int hn = snprintf(head, sizeof head, "%s\"%s\":", i ? "," : "", m->name);
    rc = vg__buf_append(&buf, head, (size_t)hn);
    if (rc == VG_OK)
      rc = vg__ynode_to_json(m->node, &buf, true);
  }
  if (rc == VG_OK)
    rc = vg__buf_append(&buf, "}", 1);
  /* The country code changes what a phone constant means. */
  if (rc == VG_OK && L->rs->phone_country_code) {
    rc = vg__buf_append(&buf, ",\"phone_country_code\":", 22);
    if (rc == VG_OK)
      rc = vg__buf_json_string(&buf, L->rs->phone_country_code,
                               strlen(L->rs->phone_country_code));
  }
  if (rc == VG_OK)
    rc = vg__buf_append(&buf, "}", 1);
  if (rc == VG_OK) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(buf.data, buf.len, md, &mdlen, EVP_sha256(), NULL)) {
      rc = VG_ENOMEM;
    } else {
      for (unsigned i = 0; i < mdlen && i < 32; i++)
        snprintf(r->digest + 2 * i, 3, "%02x", md[i]);
    }
  }
  free(buf.data);
  return rc;
}

bool vg__rule_screens_kind(const struct rule *r, size_t k) {
  if (!r->corr || !r->multi_kind)
    return r->kind == k;
  for (size_t i = 0; i < r->corr->nkeys; i++)
    if (r->corr->keys[i].kind == k)
      return true;
  return false;
}

int64_t vg_ruleset_max_window(const vg_ruleset *rs) {
  return rs->max_window;
}

static bool key_type_ok(enum vg_field_type t) {
  return t == VG_TYPE_STRING || t == VG_TYPE_TEXT || t == VG_TYPE_PHONE;
}

/* A correlation key field of kind k, checked. */
static int corr_field(struct loader *L, const char *file, size_t k,
                      const struct vg_ynode *n, const char *what, int *out) {
  const struct vg__kind *kd = &L->rs->kinds[k];
  if (!vg_yscalar_is_string(n)) {
    error_at(L, file, n, "bad-correlation", "%s must be a field path", what);
    return VG_EINVAL;
  }
  int f = vg__kind_field(kd, n->str, n->len);
  if (f < 0)
    return unknown_field(L, file, n, kd, n->str);
  *out = f;
  return VG_OK;
}

/* `correlate:` (SPEC 2.5): key (one field, or one per kind), window,
 * type and its bound. */
static int load_correlate(struct loader *L, const char *file,
                          const struct vg_ynode *c,
                          const struct vg_ynode *kind_node, int kd,
                          struct correlation **out) {
  struct vg_ruleset *rs = L->rs;
  if (c->type != VG_YMAP) {
    error_at(L, file, c, "bad-correlation",
             "'correlate' needs key, window and type");
    return VG_EINVAL;
  }
  int rc = VG_OK;
  for (size_t i = 0; i < c->npairs; i++) {
    const char *k = scalar(c->pairs[i].key);
    if (!k || (strcmp(k, "key") && strcmp(k, "window") && strcmp(k, "type") &&
               strcmp(k, "field") && strcmp(k, "gte"))) {
      error_at(L, file, c->pairs[i].key, "unknown-key",
               "unknown key '%s' in correlate (expected key, window, type, "
               "field or gte)",
               k ? k : "?");
      rc = VG_EINVAL;
    }
  }
  const struct vg_ynode *key = vg_ynode_get(c, "key"),
                        *window = vg_ynode_get(c, "window"),
                        *type = vg_ynode_get(c, "type"),
                        *field = vg_ynode_get(c, "field"),
                        *gte = vg_ynode_get(c, "gte");
  const char *missing = !key      ? "key"
                        : !window ? "window"
                        : !type   ? "type"
                                  : NULL;
  if (missing) {
    error_at(L, file, c, "missing-key", "'correlate' has no '%s'", missing);
    return VG_EINVAL;
  }
  struct correlation *corr = vg_arena_calloc(&rs->arena, 1, sizeof *corr);
  if (!corr)
    return VG_ENOMEM;
  if (!vg_yscalar_is_string(type) ||
      (strcmp(type->str, "count") && strcmp(type->str, "distinct") &&
       strcmp(type->str, "kinds"))) {
    error_at(L, file, type, "bad-correlation",
             "unknown correlation type '%s' (expected count, distinct or "
             "kinds)",
             scalar(type) ? type->str : "?");
    return VG_EINVAL;
  }
  corr->type = !strcmp(type->str, "count")      ? CORR_COUNT
               : !strcmp(type->str, "distinct") ? CORR_DISTINCT
                                                : CORR_KINDS;
  /* window: a whole number of hours or days */
  const char *w = scalar(window);
  char *end = NULL;
  long long amount = w ? strtoll(w, &end, 10) : 0;
  if (!w || end == w || amount < 1 || amount > 100000 ||
      (strcmp(end, "h") && strcmp(end, "d"))) {
    error_at(L, file, window, "bad-correlation",
             "window '%s' must be a whole number of hours or days, such as "
             "48h or 30d",
             w ? w : "?");
    rc = VG_EINVAL;
  } else {
    corr->window =
        (int64_t)amount * (*end == 'h' ? 3600 : 86400) * INT64_C(1000000);
  }
  /* keys */
  size_t nkeys = key->type == VG_YMAP ? key->npairs : 1;
  corr->keys =
      vg_arena_calloc(&rs->arena, nkeys ? nkeys : 1, sizeof *corr->keys);
  if (!corr->keys)
    return VG_ENOMEM;
  if (key->type == VG_YMAP) {
    for (size_t i = 0; i < key->npairs; i++) {
      const struct vg_ynode *kn = key->pairs[i].key, *fv = key->pairs[i].value;
      int k = scalar(kn) ? find_kind(rs, kn->str) : -1;
      if (k < 0) {
        unknown_kind(L, file, kn);
        rc = VG_EINVAL;
        continue;
      }
      if (kind_node && k != kd) {
        error_at(L, file, kn, "bad-correlation",
                 "the key names kind '%s' but the rule screens '%s'", kn->str,
                 rs->kinds[kd].name);
        rc = VG_EINVAL;
        continue;
      }
      struct corr_key *ck = &corr->keys[corr->nkeys];
      ck->kind = (size_t)k;
      ck->value_field = -1;
      if (corr_field(L, file, ck->kind, fv, "a key", &ck->field) != VG_OK) {
        rc = VG_EINVAL;
        continue;
      }
      corr->nkeys++;
    }
  } else {
    if (!kind_node) {
      error_at(L, file, key, "bad-correlation",
               "a key without kinds needs the rule's 'kind' (or name the "
               "field per kind: { job_advert: contact.phone, ... })");
      return VG_EINVAL;
    }
    struct corr_key *ck = &corr->keys[0];
    ck->kind = (size_t)kd;
    ck->value_field = -1;
    if (corr_field(L, file, ck->kind, key, "the key", &ck->field) != VG_OK)
      return VG_EINVAL;
    corr->nkeys = 1;
  }
  if (rc != VG_OK || corr->nkeys == 0)
    return VG_EINVAL;
  /* Keys must compare alike across kinds: phones on their digits, the
   * rest folded. */
  for (size_t i = 0; i < corr->nkeys; i++) {
    const struct vg__field *f =
        &rs->kinds[corr->keys[i].kind].fields[corr->keys[i].field];
    const struct vg__field *f0 =
        &rs->kinds[corr->keys[0].kind].fields[corr->keys[0].field];
    if (!key_type_ok(f->type)) {
      error_at(L, file, key, "bad-correlation",
               "key field '%s' of kind '%s' is %s; keys must be string, text "
               "or phone",
               f->path, rs->kinds[corr->keys[i].kind].name,
               vg_field_type_name(f->type));
      return VG_EINVAL;
    }
    if ((f->type == VG_TYPE_PHONE) != (f0->type == VG_TYPE_PHONE)) {
      error_at(L, file, key, "bad-correlation",
               "key fields '%s' (%s) and '%s' (%s) do not compare alike",
               f0->path, vg_field_type_name(f0->type), f->path,
               vg_field_type_name(f->type));
      return VG_EINVAL;
    }
  }
  if (corr->type == CORR_KINDS) {
    if (corr->nkeys < 2) {
      error_at(L, file, type, "bad-correlation",
               "type 'kinds' needs a key naming two kinds or more");
      return VG_EINVAL;
    }
    if (gte || field) {
      error_at(L, file, gte ? gte : field, "bad-correlation",
               "type 'kinds' takes neither 'gte' nor 'field'");
      return VG_EINVAL;
    }
  } else {
    int64_t bound;
    if (!gte || !vg_yscalar_int(gte, &bound) || bound < 1 || bound > 1000000) {
      error_at(L, file, gte ? gte : c, gte ? "bad-correlation" : "missing-key",
               "type '%s' needs 'gte', a whole number from 1", type->str);
      return VG_EINVAL;
    }
    corr->gte = (size_t)bound;
    if (corr->type == CORR_DISTINCT) {
      if (!field) {
        error_at(L, file, c, "missing-key",
                 "type 'distinct' needs 'field', the field whose values are "
                 "counted");
        return VG_EINVAL;
      }
      for (size_t i = 0; i < corr->nkeys; i++)
        if (corr_field(L, file, corr->keys[i].kind, field, "'field'",
                       &corr->keys[i].value_field) != VG_OK)
          return VG_EINVAL;
    } else if (field) {
      error_at(L, file, field, "bad-correlation",
               "'field' goes with type 'distinct' only");
      return VG_EINVAL;
    }
  }
  *out = corr;
  return VG_OK;
}

/* Embedded tests: a record (a mapping), `expect: match|no_match`, and
 * optionally `score`. */
static int check_tests(struct loader *L, const char *file,
                       const struct vg_ynode *tests) {
  int rc = VG_OK;
  for (size_t i = 0; i < tests->nitems; i++) {
    const struct vg_ynode *t = tests->items[i];
    if (t->type != VG_YMAP) {
      error_at(L, file, t, "bad-value", "a test needs 'record' and 'expect'");
      rc = VG_EINVAL;
      continue;
    }
    for (size_t j = 0; j < t->npairs; j++) {
      const char *key = scalar(t->pairs[j].key);
      if (!key || (strcmp(key, "record") && strcmp(key, "expect") &&
                   strcmp(key, "score") && strcmp(key, "given") &&
                   strcmp(key, "description"))) {
        error_at(L, file, t->pairs[j].key, "unknown-key",
                 "unknown test key '%s' (expected record, expect, score or "
                 "given)",
                 key ? key : "?");
        rc = VG_EINVAL;
      }
    }
    const struct vg_ynode *record = vg_ynode_get(t, "record"),
                          *expect = vg_ynode_get(t, "expect"),
                          *score = vg_ynode_get(t, "score");
    int64_t s;
    if (!record || record->type != VG_YMAP) {
      error_at(L, file, record ? record : t,
               record ? "bad-value" : "missing-key",
               "a test needs 'record', a mapping");
      rc = VG_EINVAL;
    }
    if (!expect || !scalar(expect) ||
        (strcmp(expect->str, "match") && strcmp(expect->str, "no_match"))) {
      error_at(L, file, expect ? expect : t,
               expect ? "bad-value" : "missing-key",
               "a test needs 'expect: match' or 'expect: no_match'");
      rc = VG_EINVAL;
    }
    const struct vg_ynode *given = vg_ynode_get(t, "given");
    bool given_ok = !given || given->type == VG_YSEQ;
    for (size_t j = 0; given_ok && given && j < given->nitems; j++)
      given_ok = given->items[j]->type == VG_YMAP;
    if (!given_ok) {
      error_at(L, file, given, "bad-value",
               "'given' must be a list of records screened before 'record'");
      rc = VG_EINVAL;
    }
    if (score && (!vg_yscalar_int(score, &s) || s < 0 || s > 100)) {
      error_at(L, file, score, "bad-value",
               "'score' must be a whole number from 0 to 100");
      rc = VG_EINVAL;
    }
  }
  return rc;
}

static int load_rule(struct loader *L, struct vg_ydoc *doc,
                     const struct vg_ynode *node) {
  struct vg_ruleset *rs = L->rs;
  const char *file = doc->file;
  if (node->type != VG_YMAP) {
    error_at(L, file, node, "bad-value", "a rule must be a mapping");
    return VG_EINVAL;
  }
  int rc = VG_OK;
  bool sels_ok = true;
  for (size_t i = 0; i < node->npairs; i++) {
    const char *key = scalar(node->pairs[i].key);
    bool known = false;
    for (size_t j = 0; key && j < sizeof rule_keys / sizeof *rule_keys; j++)
      if (!strcmp(key, rule_keys[j]))
        known = true;
    if (!known) {
      error_at(L, file, node->pairs[i].key, "unknown-key",
               "unknown rule key '%s'", key ? key : "?");
      rc = VG_EINVAL;
    }
  }
  const struct vg_ynode *id = vg_ynode_get(node, "id"),
                        *title = vg_ynode_get(node, "title"),
                        *kind = vg_ynode_get(node, "kind"),
                        *score = vg_ynode_get(node, "score"),
                        *match = vg_ynode_get(node, "match"),
                        *condition = vg_ynode_get(node, "condition"),
                        *correlate = vg_ynode_get(node, "correlate");
  static const char *const required[] = {"id", "title", "kind", "score",
                                         "match"};
  for (size_t i = 0; i < sizeof required / sizeof *required; i++)
    if (!vg_ynode_get(node, required[i]) &&
        !(correlate && !strcmp(required[i], "match")) &&
        !(correlate && correlate->type == VG_YMAP &&
          vg_ynode_get(correlate, "key") &&
          vg_ynode_get(correlate, "key")->type == VG_YMAP &&
          vg_ynode_get(correlate, "key")->npairs > 1 &&
          !strcmp(required[i], "kind"))) {
      error_at(L, file, node, "missing-key", "rule%s%s has no '%s'",
               id && scalar(id) ? " " : "", id && scalar(id) ? id->str : "",
               required[i]);
      rc = VG_EINVAL;
    }
  if (rs->nrules == L->rules_cap) {
    size_t cap = L->rules_cap ? L->rules_cap * 2 : 32;
    struct rule *grown = realloc(rs->rules, cap * sizeof *grown);
    if (!grown)
      return VG_ENOMEM;
    rs->rules = grown;
    L->rules_cap = cap;
  }
  struct rule *r = &rs->rules[rs->nrules];
  memset(r, 0, sizeof *r);
  r->file = file;
  r->line = node->line;
  r->col = node->col;
  r->enabled = true;
  r->doc = doc;
  r->id = "";
  if (id) {
    if (!vg_yscalar_is_string(id) && id->type != VG_YSCALAR) {
      error_at(L, file, id, "bad-value", "'id' must be text");
      rc = VG_EINVAL;
    } else if (!valid_id(id->str)) {
      error_at(L, file, id, "bad-value",
               "rule id '%s' may hold only letters, digits, '-', '_' and '.'",
               id->str);
      rc = VG_EINVAL;
    } else {
      r->id = id->str;
      /* Every id seen counts, also of rules with other errors, so both
       * places of a duplicate are reported in one run. */
      for (size_t i = 0; i < L->nids; i++)
        if (!strcmp(L->ids[i].id, id->str)) {
          error_at(L, file, id, "duplicate-id",
                   "rule id '%s' is already used at %s:%d", id->str,
                   L->ids[i].file, L->ids[i].line);
          vg_diags_add(L->diags, VG_SEV_ERROR, L->ids[i].file, L->ids[i].line,
                       L->ids[i].col, "duplicate-id",
                       "rule id '%s' is used again at %s:%d", id->str, file,
                       id->line);
          rc = VG_EINVAL;
        }
      if (L->nids == L->ids_cap) {
        size_t cap = L->ids_cap ? L->ids_cap * 2 : 64;
        struct seen_id *grown = realloc(L->ids, cap * sizeof *grown);
        if (!grown)
          return VG_ENOMEM;
        L->ids = grown;
        L->ids_cap = cap;
      }
      L->ids[L->nids++] =
          (struct seen_id){id->str, file, node->line, node->col};
    }
  }
  if (title) {
    if (title->type != VG_YSCALAR || vg_yscalar_is_null(title) ||
        memchr(title->str, '\n', title->len)) {
      error_at(L, file, title, "bad-value", "'title' must be one line of text");
      rc = VG_EINVAL;
    } else {
      r->title = title->str;
    }
  }
  if (score) {
    int64_t s;
    if (!vg_yscalar_int(score, &s) || s < 1 || s > 100) {
      error_at(L, file, score, "bad-value",
               "'score' must be a whole number from 1 to 100");
      rc = VG_EINVAL;
    } else {
      r->score = (int)s;
    }
  }
  const struct vg_ynode *n;
  if ((n = vg_ynode_get(node, "description"))) {
    if (n->type != VG_YSCALAR) {
      error_at(L, file, n, "bad-value", "'description' must be text");
      rc = VG_EINVAL;
    } else {
      r->description = n->str;
    }
  }
  if ((n = vg_ynode_get(node, "tags")) &&
      string_list(L, file, n, "tags", &r->tags, &r->ntags) != VG_OK)
    rc = VG_EINVAL;
  if ((n = vg_ynode_get(node, "references")) &&
      string_list(L, file, n, "references", &r->references, &r->nreferences) !=
          VG_OK)
    rc = VG_EINVAL;
  if ((n = vg_ynode_get(node, "enabled")) && !vg_yscalar_bool(n, &r->enabled)) {
    error_at(L, file, n, "bad-value", "'enabled' must be true or false");
    rc = VG_EINVAL;
  }
  if ((n = vg_ynode_get(node, "route"))) {
    if (!vg_yscalar_is_string(n) || !route_known(L, n->str)) {
      error_at(L, file, n, "bad-value",
               "unknown route '%s' (expected border, labour, protection, "
               "child_protection or a route named in the config)",
               scalar(n) ? n->str : "?");
      rc = VG_EINVAL;
    } else {
      r->route = n->str;
    }
  }
  if ((n = vg_ynode_get(node, "tests"))) {
    if (n->type != VG_YSEQ) {
      error_at(L, file, n, "bad-value", "'tests' must be a list");
      rc = VG_EINVAL;
    } else {
      r->tests_node = n;
      r->ntests = n->nitems;
      if (check_tests(L, file, n) != VG_OK)
        rc = VG_EINVAL;
    }
  }
  int kd = -1;
  if (kind) {
    kd = scalar(kind) ? find_kind(rs, kind->str) : -1;
    if (kd < 0) {
      unknown_kind(L, file, kind);
      return VG_EINVAL;
    }
  }
  if (correlate) {
    int cr = load_correlate(L, file, correlate, kind, kd, &r->corr);
    if (cr != VG_OK)
      return cr;
    if (!kind) {
      r->multi_kind = r->corr->nkeys > 1;
      kd = (int)r->corr->keys[0].kind;
      if (match) {
        error_at(L, file, match, "bad-correlation",
                 "'match' needs the rule's 'kind': selections test the "
                 "fields of one kind");
        return VG_EINVAL;
      }
    }
    if (r->corr->window > rs->max_window)
      rs->max_window = r->corr->window;
  }
  if (kd < 0 || (!match && !r->corr))
    return VG_EINVAL;
  r->kind = (size_t)kd;
  if (!r->route && !r->multi_kind)
    r->route = rs->kinds[kd].route;
  if (!match)
    goto checked;

  /* Selections. */
  if (match->type != VG_YMAP || match->npairs == 0) {
    error_at(L, file, match, "bad-value",
             "'match' must map selection names to selections");
    return VG_EINVAL;
  }
  r->sels = vg_arena_calloc(&rs->arena, match->npairs, sizeof *r->sels);
  if (!r->sels)
    return VG_ENOMEM;
  for (size_t i = 0; i < match->npairs; i++) {
    const struct vg_ynode *sk = match->pairs[i].key;
    if (!scalar(sk) || !sk->len || strchr(sk->str, ' ')) {
      error_at(L, file, sk, "bad-value", "a selection name must be one word");
      sels_ok = false;
      continue;
    }
    int rr = compile_selection(L, file, r->kind, sk->str, match->pairs[i].value,
                               &r->sels[r->nsels]);
    r->sels[r->nsels].line = sk->line;
    r->sels[r->nsels].col = sk->col;
    if (rr == VG_ENOMEM)
      return rr;
    if (rr != VG_OK)
      sels_ok = false;
    r->nsels++;
  }
  /* The condition. */
  if (condition) {
    if (!vg_yscalar_is_string(condition)) {
      error_at(L, file, condition, "bad-condition",
               "'condition' must be an expression such as 'a and not b'");
      return VG_EINVAL;
    }
    r->cond = vg__cond_parse(rs, r, condition, file, L->diags);
    if (!r->cond)
      return VG_EINVAL;
  } else if (r->nsels == 1) {
    r->cond = vg_arena_calloc(&rs->arena, 1, sizeof *r->cond);
    if (!r->cond)
      return VG_ENOMEM;
    r->cond->type = COND_SEL;
    r->cond->index = 0;
  } else {
    error_at(L, file, match, "missing-key",
             "rule %s has %zu selections but no 'condition'", r->id, r->nsels);
    return VG_EINVAL;
  }
  vg__cond_mark_used(rs, r, r->cond);
checked:
  if (!sels_ok || rc != VG_OK)
    return VG_EINVAL;
  char term[512];
  /* A correlation key counts as a positive test on its field, in every
   * term: a key on an unprotected field makes every term safe. */
  bool key_protected = false;
  for (size_t i = 0; r->corr && i < r->corr->nkeys; i++)
    key_protected |= rs->kinds[r->corr->keys[i].kind]
                         .fields[r->corr->keys[i].field]
                         .protected_;
  if (r->corr && key_protected && !r->cond) {
    error_at(L, file, correlate, "fairness",
             "rule %s could flag people on protected characteristics alone: "
             "its correlation key is a protected field and it has no other "
             "test",
             r->id);
    return VG_EINVAL;
  }
  if (r->cond && (!r->corr || key_protected) &&
      vg__cond_fairness(rs, r, term, sizeof term) != VG_OK) {
    error_at(L, file, condition ? condition : match, "fairness",
             "rule %s: the term '%s' has no positive test on a field that is "
             "not protected, so it could flag people on protected "
             "characteristics alone (negations and 'exists: false' do not "
             "count)",
             r->id, term);
    return VG_EINVAL;
  }
  for (size_t i = 0; i < r->nsels; i++)
    if (!r->sels[i].used)
      warn_at(L, file, r->sels[i].line, r->sels[i].col, "unused-selection",
              "selection '%s' of rule %s is not used by its condition",
              r->sels[i].name, r->id);
  int dr = rule_digest(L, r, node);
  if (dr != VG_OK)
    return dr;
  if (r->nsels > rs->max_sels)
    rs->max_sels = r->nsels;
  rs->nrules++;
  return VG_OK;
}

static int load_rules(struct loader *L, struct vg_ydoc *doc,
                      const struct vg_ynode *rules) {
  if (rules->type != VG_YSEQ) {
    error_at(L, doc->file, rules, "bad-value", "'rules' must be a list");
    return VG_EINVAL;
  }
  int rc = VG_OK;
  for (size_t i = 0; i < rules->nitems; i++) {
    int r = load_rule(L, doc, rules->items[i]);
    if (r == VG_ENOMEM)
      return r;
    if (r != VG_OK)
      rc = r;
  }
  return rc;
}

/* --------------------------------------------------------- the set */

void vg_ruleset_free(vg_ruleset *rs) {
  if (!rs)
    return;
  for (size_t i = 0; i < rs->nlists; i++) {
    vg_strset_free(rs->lists[i].folded);
    vg_strset_free(rs->lists[i].phones);
    vg_fuzzy_list_free(rs->lists[i].fuzzy);
    free(rs->lists[i].items);
    free(rs->lists[i].item_lens);
  }
  vg__prefilters_free(rs);
  for (size_t i = 0; i < rs->ncodes; i++)
    pcre2_code_free(rs->codes[i]);
  free(rs->codes);
  for (size_t i = 0; i < rs->nkinds; i++) {
    free(rs->kinds[i].rules);
    free(rs->kinds[i].macros);
  }
  free(rs->kinds);
  free(rs->lists);
  free(rs->macros);
  free(rs->rules);
  for (size_t i = 0; i < rs->ndocs; i++)
    vg_ydoc_close(&rs->docs[i]);
  free(rs->docs);
  vg_pathtrie_free(rs->trie);
  pcre2_match_context_free(rs->match_ctx);
  free(rs->phone_country_code);
  vg_arena_close(&rs->arena);
  free(rs);
}

static int index_kinds(struct vg_ruleset *rs) {
  for (size_t k = 0; k < rs->nkinds; k++) {
    struct vg__kind *kd = &rs->kinds[k];
    kd->rules = malloc((rs->nrules ? rs->nrules : 1) * sizeof *kd->rules);
    kd->macros = malloc((rs->nmacros ? rs->nmacros : 1) * sizeof *kd->macros);
    if (!kd->rules || !kd->macros)
      return VG_ENOMEM;
    for (size_t i = 0; i < rs->nrules; i++)
      if (vg__rule_screens_kind(&rs->rules[i], k))
        kd->rules[kd->nrules++] = i;
    for (size_t i = 0; i < rs->nmacros; i++)
      if (rs->macros[i].kind == k)
        kd->macros[kd->nmacros++] = i;
  }
  return VG_OK;
}

int vg_ruleset_load(const char *dir, const struct vg_config *cfg,
                    struct vg_diags *diags, vg_ruleset **out) {
  struct vg_ruleset *rs = calloc(1, sizeof *rs);
  if (!rs)
    return VG_ENOMEM;
  vg_arena_init(&rs->arena, 64 * 1024);
  struct loader L = {.rs = rs, .diags = diags, .cfg = cfg};
  struct file_list files = {0};
  size_t errors_before = diags->errors;
  int rc = VG_OK;
  rs->trie = vg_pathtrie_new();
  rs->match_ctx = pcre2_match_context_create(NULL);
  if (!rs->trie || !rs->match_ctx ||
      (cfg->phone_country_code &&
       !(rs->phone_country_code = strdup(cfg->phone_country_code)))) {
    rc = VG_ENOMEM;
    goto fail;
  }
  pcre2_set_match_limit(rs->match_ctx, VG_MATCH_LIMIT);
  pcre2_set_depth_limit(rs->match_ctx, VG_DEPTH_LIMIT);

  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    vg_diags_add(diags, VG_SEV_ERROR, dir, 0, 0, "io",
                 "the rules directory cannot be read");
    rc = VG_EIO;
    goto fail;
  }
  rc = vg__schemas_load(rs, dir, cfg, diags);
  if (rc != VG_OK)
    goto fail;
  rc = collect_files(dir, true, &files);
  if (rc != VG_OK)
    goto fail;
  if (files.n)
    qsort(files.paths, files.n, sizeof *files.paths, compare_paths);
  rs->docs = calloc(files.n ? files.n : 1, sizeof *rs->docs);
  if (!rs->docs) {
    rc = VG_ENOMEM;
    goto fail;
  }
  for (size_t i = 0; i < files.n; i++) {
    int r = vg_ydoc_load_file(&rs->docs[rs->ndocs], files.paths[i], diags);
    if (r == VG_ENOMEM) {
      rc = r;
      goto fail;
    }
    if (r != VG_OK)
      continue;
    struct vg_ydoc *doc = &rs->docs[rs->ndocs++];
    const struct vg_ynode *root = doc->root;
    if (!root)
      continue;
    if (root->type != VG_YMAP) {
      error_at(&L, doc->file, root, "bad-value",
               "a rules file must be a mapping with rules, lists or macros");
      continue;
    }
    for (size_t j = 0; j < root->npairs; j++) {
      const char *key = scalar(root->pairs[j].key);
      if (!key || (strcmp(key, "rules") && strcmp(key, "lists") &&
                   strcmp(key, "macros")))
        error_at(&L, doc->file, root->pairs[j].key, "unknown-key",
                 "unknown top-level key '%s' (expected rules, lists or "
                 "macros)",
                 key ? key : "?");
    }
  }
  /* Lists first, then macros (they use lists), then rules (they use
   * both), so definition order across files does not matter. */
  for (size_t i = 0; i < rs->ndocs; i++) {
    const struct vg_ynode *lists = vg_ynode_get(rs->docs[i].root, "lists");
    if (lists && (rc = load_lists(&L, &rs->docs[i], lists)) == VG_ENOMEM)
      goto fail;
  }
  for (size_t i = 0; i < rs->nlists; i++)
    if ((rc = prepare_list(rs, &rs->lists[i])) != VG_OK)
      goto fail;
  for (size_t i = 0; i < rs->ndocs; i++) {
    const struct vg_ynode *macros = vg_ynode_get(rs->docs[i].root, "macros");
    if (macros && (rc = load_macros(&L, &rs->docs[i], macros)) == VG_ENOMEM)
      goto fail;
  }
  for (size_t i = 0; i < rs->ndocs; i++) {
    const struct vg_ynode *rules = vg_ynode_get(rs->docs[i].root, "rules");
    if (rules && (rc = load_rules(&L, &rs->docs[i], rules)) == VG_ENOMEM)
      goto fail;
  }
  rc = VG_OK;
  for (size_t i = 0; i < rs->nlists; i++)
    if (!rs->lists[i].used)
      warn_at(&L, rs->lists[i].file, rs->lists[i].line, rs->lists[i].col,
              "unused-list", "list '%s' is not used by any rule",
              rs->lists[i].name);
  for (size_t i = 0; i < rs->nmacros; i++)
    if (!rs->macros[i].used)
      warn_at(&L, rs->macros[i].file, rs->macros[i].line, rs->macros[i].col,
              "unused-macro", "macro '%s' is not used by any rule",
              rs->macros[i].name);
  if (diags->errors > errors_before) {
    rc = VG_EINVAL;
    goto fail;
  }
  if ((rc = index_kinds(rs)) != VG_OK ||
      (rc = vg__prefilters_build(rs)) != VG_OK)
    goto fail;
  for (size_t i = 0; i < files.n; i++)
    free(files.paths[i]);
  free(files.paths);
  vg_diags_sort(diags);
  free(L.ids);
  *out = rs;
  return VG_OK;
fail:
  free(L.ids);
  for (size_t i = 0; i < files.n; i++)
    free(files.paths[i]);
  free(files.paths);
  vg_ruleset_free(rs);
  vg_diags_sort(diags);
  return rc == VG_OK ? VG_EINVAL : rc;
}

/* -------------------------------------------------------- queries */

size_t vg_ruleset_kind_count(const vg_ruleset *rs) {
  return rs->nkinds;
}

const char *vg_ruleset_kind_name(const vg_ruleset *rs, size_t kind) {
  return kind < rs->nkinds ? rs->kinds[kind].name : NULL;
}

int vg_ruleset_kind_find(const vg_ruleset *rs, const char *name) {
  return find_kind(rs, name);
}

const char *vg_ruleset_kind_subject(const vg_ruleset *rs, size_t kind) {
  return kind < rs->nkinds ? rs->kinds[kind].subject : NULL;
}

int vg_ruleset_kind_threshold(const vg_ruleset *rs, size_t kind) {
  return kind < rs->nkinds ? rs->kinds[kind].threshold : VG_DEFAULT_THRESHOLD;
}

size_t vg_ruleset_field_count(const vg_ruleset *rs, size_t kind) {
  return kind < rs->nkinds ? rs->kinds[kind].nfields : 0;
}

void vg_ruleset_field_info(const vg_ruleset *rs, size_t kind, size_t field,
                           struct vg_field_info *out) {
  const struct vg__field *f = &rs->kinds[kind].fields[field];
  out->path = f->path;
  out->type = f->type;
  out->required = f->required;
  out->protected_ = f->protected_;
  out->pii = f->pii;
  out->drop = f->drop;
  out->derived = f->fn != DERIVED_NONE;
}

size_t vg_ruleset_rule_count(const vg_ruleset *rs) {
  return rs->nrules;
}

void vg_ruleset_rule_info(const vg_ruleset *rs, size_t rule,
                          struct vg_rule_info *out) {
  const struct rule *r = &rs->rules[rule];
  memset(out, 0, sizeof *out);
  out->id = r->id;
  out->title = r->title;
  out->description = r->description;
  out->kind = r->multi_kind ? NULL : rs->kinds[r->kind].name;
  out->correlation = r->corr != NULL;
  out->score = r->score;
  out->enabled = r->enabled;
  out->digest = r->digest;
  out->route = r->route;
  out->tags = r->tags;
  out->ntags = r->ntags;
  out->references = r->references;
  out->nreferences = r->nreferences;
  out->file = r->file;
  out->line = r->line;
  out->ntests = r->ntests;
}
