/* schema.c - record schemas (SPEC 1): one YAML file per kind under
 * rules/schemas/, declaring the fields rules may use, their types and
 * flags, and derived fields computed per record. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const type_names[] = {
    [VG_TYPE_STRING] = "string", [VG_TYPE_TEXT] = "text",
    [VG_TYPE_PHONE] = "phone",   [VG_TYPE_INT] = "int",
    [VG_TYPE_NUMBER] = "number", [VG_TYPE_BOOL] = "bool",
    [VG_TYPE_DATE] = "date",     [VG_TYPE_DATETIME] = "datetime",
    [VG_TYPE_LIST] = "list"};

const char *vg_field_type_name(enum vg_field_type type) {
  return (unsigned)type < sizeof type_names / sizeof *type_names
             ? type_names[type]
             : "?";
}

static bool parse_type(const char *s, enum vg_field_type *out) {
  for (size_t i = 0; i < sizeof type_names / sizeof *type_names; i++)
    if (!strcmp(s, type_names[i])) {
      *out = (enum vg_field_type)i;
      return true;
    }
  return false;
}

int vg__kind_field(const struct vg__kind *k, const char *path, size_t len) {
  for (size_t i = 0; i < k->nfields; i++)
    if (k->fields[i].path_len == len &&
        memcmp(k->fields[i].path, path, len) == 0)
      return (int)i;
  return -1;
}

size_t vg__edit_distance(const char *a, const char *b, size_t cap) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 128 || lb > 128)
    return cap;
  size_t row[129];
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    size_t best = row[0];
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      size_t v = diag + cost;
      if (up + 1 < v)
        v = up + 1;
      if (row[j - 1] + 1 < v)
        v = row[j - 1] + 1;
      row[j] = v;
      diag = up;
      if (v < best)
        best = v;
    }
    if (best >= cap)
      return cap;
  }
  return row[lb] < cap ? row[lb] : cap;
}

const char *vg__kind_suggest(const struct vg__kind *k, const char *path) {
  const char *best = NULL;
  size_t len = strlen(path);
  /* Close means a few edits, relative to the length. */
  size_t best_d = len / 4 + 2;
  for (size_t i = 0; i < k->nfields; i++) {
    size_t d = vg__edit_distance(path, k->fields[i].path, best_d);
    if (d < best_d) {
      best_d = d;
      best = k->fields[i].path;
    }
  }
  return best;
}

static int err_at(struct vg_diags *d, const char *file,
                  const struct vg_ynode *n, const char *code, const char *fmt,
                  const char *arg) {
  vg_diags_add(d, VG_SEV_ERROR, file, n ? n->line : 0, n ? n->col : 0, code,
               fmt, arg);
  return VG_EINVAL;
}

static int add_field(struct vg_ruleset *rs, struct vg__kind *k, size_t *cap,
                     const char *path, enum vg_field_type type, int line,
                     int col, struct vg__field **out) {
  if (k->nfields == *cap) {
    size_t ncap = *cap ? *cap * 2 : 32;
    struct vg__field *f = vg_arena_alloc(&rs->arena, ncap * sizeof *f);
    if (!f)
      return VG_ENOMEM;
    if (k->nfields)
      memcpy(f, k->fields, k->nfields * sizeof *f);
    k->fields = f;
    *cap = ncap;
  }
  struct vg__field *f = &k->fields[k->nfields++];
  memset(f, 0, sizeof *f);
  f->path = vg_arena_strdup(&rs->arena, path);
  if (!f->path)
    return VG_ENOMEM;
  f->path_len = strlen(path);
  f->type = type;
  f->json_index = -1;
  f->arg_a = f->arg_b = -1;
  f->line = line;
  f->col = col;
  *out = f;
  return VG_OK;
}

static int field_flags(const struct vg_ynode *spec, struct vg__field *f,
                       const char *file, struct vg_diags *d) {
  int rc = VG_OK;
  for (size_t i = 0; i < spec->npairs; i++) {
    const struct vg_ynode *k = spec->pairs[i].key, *v = spec->pairs[i].value;
    const char *key = k->type == VG_YSCALAR ? k->str : "?";
    bool flag = false;
    if (!strcmp(key, "type"))
      continue;
    bool *slot = !strcmp(key, "required")    ? &f->required
                 : !strcmp(key, "protected") ? &f->protected_
                 : !strcmp(key, "pii")       ? &f->pii
                 : !strcmp(key, "drop")      ? &f->drop
                                             : NULL;
    if (!slot) {
      rc = err_at(d, file, k, "unknown-key",
                  "unknown key '%s' in a field declaration (expected type, "
                  "required, protected, pii or drop)",
                  key);
      continue;
    }
    if (!vg_yscalar_bool(v, &flag)) {
      rc = err_at(d, file, v, "bad-value", "'%s' must be true or false", key);
      continue;
    }
    *slot = flag;
  }
  return rc;
}

/* A field path about to be declared: text, and not declared already. */
static int check_new_path(const struct vg__kind *k, const struct vg_ynode *key,
                          const char *file, struct vg_diags *d) {
  if (key->type != VG_YSCALAR || key->len == 0)
    return err_at(d, file, key, "bad-value", "%s", "a field path must be text");
  if (vg__kind_field(k, key->str, key->len) >= 0)
    return err_at(d, file, key, "duplicate-field",
                  "field '%s' is declared twice", key->str);
  return VG_OK;
}

static int load_fields(struct vg_ruleset *rs, struct vg__kind *k, size_t *cap,
                       const struct vg_ynode *fields, const char *file,
                       struct vg_diags *d) {
  int rc = VG_OK;
  if (fields->type != VG_YMAP)
    return err_at(d, file, fields, "bad-value", "%s",
                  "'fields' must map field paths to declarations");
  for (size_t i = 0; i < fields->npairs; i++) {
    const struct vg_ynode *key = fields->pairs[i].key,
                          *spec = fields->pairs[i].value;
    if (check_new_path(k, key, file, d) != VG_OK) {
      rc = VG_EINVAL;
      continue;
    }
    if (spec->type != VG_YMAP) {
      rc = err_at(d, file, spec, "bad-value",
                  "field '%s' needs a mapping such as { type: string }",
                  key->str);
      continue;
    }
    const struct vg_ynode *type_node = vg_ynode_get(spec, "type");
    enum vg_field_type type;
    if (!type_node) {
      rc = err_at(d, file, spec, "missing-key", "field '%s' has no 'type'",
                  key->str);
      continue;
    }
    if (type_node->type != VG_YSCALAR || !parse_type(type_node->str, &type)) {
      rc = err_at(d, file, type_node, "bad-value",
                  "unknown type '%s' (expected string, text, phone, int, "
                  "number, bool, date, datetime or list)",
                  type_node->type == VG_YSCALAR ? type_node->str : "?");
      continue;
    }
    struct vg__field *f;
    int r = add_field(rs, k, cap, key->str, type, key->line, key->col, &f);
    if (r != VG_OK)
      return r;
    r = field_flags(spec, f, file, d);
    if (r != VG_OK)
      rc = r;
    int idx = vg_pathtrie_add(rs->trie, key->str, key->len);
    if (idx < 0) {
      if (idx == VG_ENOMEM)
        return idx;
      rc = err_at(d, file, key, "bad-value", "'%s' is not a valid field path",
                  key->str);
      continue;
    }
    f->json_index = idx;
  }
  return rc;
}

static const struct {
  const char *name;
  enum derived_fn fn;
} derived_fns[] = {{"years_between", DERIVED_YEARS},
                   {"days_between", DERIVED_DAYS},
                   {"hours_between", DERIVED_HOURS},
                   {"count", DERIVED_COUNT}};

static int derived_input(struct vg__kind *k, const struct vg_ynode *n,
                         bool want_list, const char *file, struct vg_diags *d,
                         int *out) {
  if (n->type != VG_YSCALAR)
    return err_at(d, file, n, "bad-value", "%s", "expected a field path");
  int idx = vg__kind_field(k, n->str, n->len);
  if (idx < 0) {
    const char *near = vg__kind_suggest(k, n->str);
    if (near)
      vg_diags_add(d, VG_SEV_ERROR, file, n->line, n->col, "unknown-field",
                   "unknown field '%s' (did you mean '%s'?)", n->str, near);
    else
      vg_diags_add(d, VG_SEV_ERROR, file, n->line, n->col, "unknown-field",
                   "unknown field '%s'", n->str);
    return VG_EINVAL;
  }
  enum vg_field_type t = k->fields[idx].type;
  if (want_list ? t != VG_TYPE_LIST
                : (t != VG_TYPE_DATE && t != VG_TYPE_DATETIME)) {
    vg_diags_add(d, VG_SEV_ERROR, file, n->line, n->col, "type-mismatch",
                 "field '%s' is %s; %s", n->str, vg_field_type_name(t),
                 want_list ? "count needs a list"
                           : "this function needs a date or datetime");
    return VG_EINVAL;
  }
  *out = idx;
  return VG_OK;
}

static int load_derived(struct vg_ruleset *rs, struct vg__kind *k, size_t *cap,
                        const struct vg_ynode *derived, const char *file,
                        struct vg_diags *d) {
  if (derived->type != VG_YMAP)
    return err_at(d, file, derived, "bad-value", "%s",
                  "'derived' must map field paths to functions");
  int rc = VG_OK;
  for (size_t i = 0; i < derived->npairs; i++) {
    const struct vg_ynode *key = derived->pairs[i].key,
                          *spec = derived->pairs[i].value;
    if (check_new_path(k, key, file, d) != VG_OK) {
      rc = VG_EINVAL;
      continue;
    }
    if (spec->type != VG_YMAP || spec->npairs != 1 ||
        spec->pairs[0].key->type != VG_YSCALAR) {
      rc = err_at(d, file, spec, "bad-value",
                  "derived field '%s' needs one function: years_between, "
                  "days_between, hours_between or count",
                  key->str);
      continue;
    }
    const struct vg_ynode *fname = spec->pairs[0].key,
                          *args = spec->pairs[0].value;
    enum derived_fn fn = DERIVED_NONE;
    for (size_t j = 0; j < sizeof derived_fns / sizeof *derived_fns; j++)
      if (!strcmp(fname->str, derived_fns[j].name))
        fn = derived_fns[j].fn;
    if (fn == DERIVED_NONE) {
      rc = err_at(d, file, fname, "unknown-key",
                  "unknown function '%s' (expected years_between, "
                  "days_between, hours_between or count)",
                  fname->str);
      continue;
    }
    int a = -1, b = -1;
    if (fn == DERIVED_COUNT) {
      if (derived_input(k, args, true, file, d, &a) != VG_OK) {
        rc = VG_EINVAL;
        continue;
      }
    } else {
      if (args->type != VG_YSEQ || args->nitems != 2) {
        rc = err_at(d, file, args, "bad-value", "%s",
                    "expected two field paths: [from, to]");
        continue;
      }
      if (derived_input(k, args->items[0], false, file, d, &a) != VG_OK ||
          derived_input(k, args->items[1], false, file, d, &b) != VG_OK) {
        rc = VG_EINVAL;
        continue;
      }
    }
    struct vg__field *f;
    int r =
        add_field(rs, k, cap, key->str, VG_TYPE_INT, key->line, key->col, &f);
    if (r != VG_OK)
      return r;
    f->fn = fn;
    f->arg_a = a;
    f->arg_b = b;
    /* A derived field reveals what its inputs reveal. */
    f->protected_ =
        k->fields[a].protected_ || (b >= 0 && k->fields[b].protected_);
    f->pii = k->fields[a].pii || (b >= 0 && k->fields[b].pii);
  }
  return rc;
}

static int load_schema(struct vg_ruleset *rs, const struct vg_ydoc *doc,
                       const struct vg_config *cfg, struct vg_diags *d,
                       size_t *kinds_cap) {
  const char *file = doc->file;
  const struct vg_ynode *root = doc->root;
  if (!root || root->type != VG_YMAP)
    return err_at(d, file, root, "bad-value", "%s",
                  "a schema must be a mapping with kind and fields");
  int rc = VG_OK;
  for (size_t i = 0; i < root->npairs; i++) {
    const struct vg_ynode *k = root->pairs[i].key;
    const char *key = k->type == VG_YSCALAR ? k->str : "?";
    if (strcmp(key, "kind") && strcmp(key, "subject") &&
        strcmp(key, "fields") && strcmp(key, "derived"))
      rc = err_at(d, file, k, "unknown-key",
                  "unknown key '%s' in a schema (expected kind, subject, "
                  "fields or derived)",
                  key);
  }
  const struct vg_ynode *kind = vg_ynode_get(root, "kind");
  if (!kind)
    return err_at(d, file, root, "missing-key", "%s", "a schema needs 'kind'");
  if (!vg_yscalar_is_string(kind) || kind->len == 0)
    return err_at(d, file, kind, "bad-value", "%s", "'kind' must be a name");
  for (size_t i = 0; i < rs->nkinds; i++)
    if (!strcmp(rs->kinds[i].name, kind->str)) {
      vg_diags_add(d, VG_SEV_ERROR, file, kind->line, kind->col,
                   "duplicate-kind", "kind '%s' is already declared in %s",
                   kind->str, rs->kinds[i].schema_file);
      return VG_EINVAL;
    }
  if (rs->nkinds == *kinds_cap) {
    size_t ncap = *kinds_cap ? *kinds_cap * 2 : 4;
    struct vg__kind *grown = realloc(rs->kinds, ncap * sizeof *grown);
    if (!grown)
      return VG_ENOMEM;
    rs->kinds = grown;
    *kinds_cap = ncap;
  }
  struct vg__kind *kd = &rs->kinds[rs->nkinds];
  memset(kd, 0, sizeof *kd);
  kd->subject_field = -1;
  kd->name = vg_arena_strdup(&rs->arena, kind->str);
  kd->schema_file = vg_arena_strdup(&rs->arena, file);
  if (!kd->name || !kd->schema_file)
    return VG_ENOMEM;
  size_t cap = 0;
  static const struct {
    const char *path;
    enum vg_field_type type;
  } implicit[FIELD_IMPLICIT_COUNT] = {{"kind", VG_TYPE_STRING},
                                      {"id", VG_TYPE_STRING},
                                      {"source", VG_TYPE_STRING},
                                      {"observed_at", VG_TYPE_DATETIME}};
  for (size_t i = 0; i < FIELD_IMPLICIT_COUNT; i++) {
    struct vg__field *f;
    int r =
        add_field(rs, kd, &cap, implicit[i].path, implicit[i].type, 0, 0, &f);
    if (r != VG_OK)
      return r;
    f->required = i != FIELD_SOURCE;
    f->json_index =
        vg_pathtrie_add(rs->trie, implicit[i].path, strlen(implicit[i].path));
    if (f->json_index < 0)
      return VG_ENOMEM;
  }
  const struct vg_ynode *fields = vg_ynode_get(root, "fields");
  if (fields) {
    int r = load_fields(rs, kd, &cap, fields, file, d);
    if (r == VG_ENOMEM)
      return r;
    if (r != VG_OK)
      rc = r;
  }
  const struct vg_ynode *derived = vg_ynode_get(root, "derived");
  if (derived) {
    int r = load_derived(rs, kd, &cap, derived, file, d);
    if (r == VG_ENOMEM)
      return r;
    if (r != VG_OK)
      rc = r;
  }
  const struct vg_ynode *subject = vg_ynode_get(root, "subject");
  if (subject) {
    int idx = subject->type == VG_YSCALAR
                  ? vg__kind_field(kd, subject->str, subject->len)
                  : -1;
    if (idx < 0) {
      rc = err_at(d, file, subject, "unknown-field",
                  "subject '%s' is not a declared field",
                  subject->type == VG_YSCALAR ? subject->str : "?");
    } else {
      kd->subject_field = idx;
      kd->subject = kd->fields[idx].path;
    }
  }
  kd->threshold = vg_config_threshold(cfg, kd->name);
  const char *route = vg_config_route(cfg, kd->name);
  if (route && !(kd->route = vg_arena_strdup(&rs->arena, route)))
    return VG_ENOMEM;
  if (kd->nfields > rs->max_fields)
    rs->max_fields = kd->nfields;
  rs->nkinds++;
  return rc;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int vg__schemas_load(struct vg_ruleset *rs, const char *dir,
                     const struct vg_config *cfg, struct vg_diags *diags) {
  char path[4096];
  snprintf(path, sizeof path, "%s/schemas", dir);
  DIR *dh = opendir(path);
  if (!dh) {
    vg_diags_add(diags, VG_SEV_ERROR, path, 0, 0, "io",
                 "cannot read the schemas folder");
    return VG_EIO;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  int rc = VG_OK;
  struct dirent *e;
  while ((e = readdir(dh)) != NULL) {
    size_t len = strlen(e->d_name);
    bool yaml = (len > 5 && !strcmp(e->d_name + len - 5, ".yaml")) ||
                (len > 4 && !strcmp(e->d_name + len - 4, ".yml"));
    if (!yaml || e->d_name[0] == '.')
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 8;
      char **grown = realloc(names, cap * sizeof *grown);
      if (!grown) {
        rc = VG_ENOMEM;
        break;
      }
      names = grown;
    }
    if (!(names[n] = strdup(e->d_name))) {
      rc = VG_ENOMEM;
      break;
    }
    n++;
  }
  closedir(dh);
  if (n)
    qsort(names, n, sizeof *names, compare_names);
  size_t kinds_cap = 0;
  for (size_t i = 0; i < n && rc != VG_ENOMEM; i++) {
    char file[4096 + 256];
    snprintf(file, sizeof file, "%s/%s", path, names[i]);
    struct vg_ydoc doc;
    int r = vg_ydoc_load_file(&doc, file, diags);
    if (r == VG_OK) {
      r = load_schema(rs, &doc, cfg, diags, &kinds_cap);
      vg_ydoc_close(&doc);
    }
    if (r != VG_OK && rc != VG_ENOMEM)
      rc = r == VG_ENOMEM ? r : VG_EINVAL;
  }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  if (rc == VG_OK && rs->nkinds == 0) {
    vg_diags_add(diags, VG_SEV_ERROR, path, 0, 0, "io",
                 "no schema files (*.yaml) in the schemas folder");
    rc = VG_EINVAL;
  }
  rs->ntrie = vg_pathtrie_count(rs->trie);
  return rc;
}
