/* config.c - the vigia.yaml configuration file (SPEC 3): every key
 * optional, unknown keys reported with their place. */
#include <stdlib.h>
#include <string.h>

#include "vigia.h"
#include "ydoc.h"

void vg_config_init(struct vg_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->max_record_bytes = VG_DEFAULT_MAX_RECORD_BYTES;
  cfg->retention_days = 180;
}

static void free_settings(struct vg_kind_setting *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(s[i].kind);
    free(s[i].value);
  }
  free(s);
}

void vg_config_close(struct vg_config *cfg) {
  free(cfg->db);
  free(cfg->rules);
  free(cfg->phone_country_code);
  free_settings(cfg->thresholds, cfg->nthresholds);
  free_settings(cfg->routes, cfg->nroutes);
  memset(cfg, 0, sizeof *cfg);
}

static int bad(struct vg_diags *d, const char *file, const struct vg_ynode *n,
               const char *code, const char *message, const char *key) {
  vg_diags_add(d, VG_SEV_ERROR, file, n->line, n->col, code, message, key);
  return VG_EINVAL;
}

static int set_string(char **slot, const struct vg_ynode *v, const char *key,
                      const char *file, struct vg_diags *d) {
  if (v->type != VG_YSCALAR || vg_yscalar_is_null(v))
    return bad(d, file, v, "bad-value", "'%s' must be a string", key);
  char *copy = strdup(v->str);
  if (!copy)
    return VG_ENOMEM;
  free(*slot);
  *slot = copy;
  return VG_OK;
}

static int set_per_kind(struct vg_kind_setting **items, size_t *count,
                        const struct vg_ynode *v, const char *key, bool numeric,
                        const char *file, struct vg_diags *d) {
  if (v->type != VG_YMAP)
    return bad(d, file, v, "bad-value", "'%s' must map kinds to values", key);
  int rc = VG_OK;
  for (size_t i = 0; i < v->npairs; i++) {
    const struct vg_ynode *k = v->pairs[i].key, *val = v->pairs[i].value;
    int64_t number = 0;
    if (k->type != VG_YSCALAR) {
      rc = bad(d, file, k, "bad-value", "'%s' keys must be kind names", key);
      continue;
    }
    if (numeric &&
        (!vg_yscalar_int(val, &number) || number < 1 || number > 100)) {
      rc = bad(d, file, val, "bad-value",
               "'%s' values must be whole numbers from 1 to 100", key);
      continue;
    }
    if (!numeric && !vg_yscalar_is_string(val)) {
      rc = bad(d, file, val, "bad-value", "'%s' values must be names", key);
      continue;
    }
    struct vg_kind_setting *grown =
        realloc(*items, (*count + 1) * sizeof **items);
    if (!grown)
      return VG_ENOMEM;
    *items = grown;
    struct vg_kind_setting *s = &grown[*count];
    s->kind = strdup(k->str);
    s->value = strdup(val->str);
    s->number = (int)number;
    if (!s->kind || !s->value) {
      free(s->kind);
      free(s->value);
      return VG_ENOMEM;
    }
    ++*count;
  }
  return rc;
}

int vg_config_load(struct vg_config *cfg, const char *path,
                   struct vg_diags *diags) {
  struct vg_ydoc doc;
  int rc = vg_ydoc_load_file(&doc, path, diags);
  if (rc != VG_OK)
    return rc;
  const struct vg_ynode *root = doc.root;
  if (!root)
    goto done;
  if (root->type != VG_YMAP) {
    rc = bad(diags, path, root, "bad-value", "%s",
             "the config must be a mapping");
    goto done;
  }
  for (size_t i = 0; i < root->npairs; i++) {
    const struct vg_ynode *k = root->pairs[i].key, *v = root->pairs[i].value;
    const char *key = k->type == VG_YSCALAR ? k->str : "";
    int r = VG_OK;
    if (!strcmp(key, "db"))
      r = set_string(&cfg->db, v, key, path, diags);
    else if (!strcmp(key, "rules"))
      r = set_string(&cfg->rules, v, key, path, diags);
    else if (!strcmp(key, "phone_country_code")) {
      r = set_string(&cfg->phone_country_code, v, key, path, diags);
      if (r == VG_OK && (cfg->phone_country_code[0] == '\0' ||
                         strspn(cfg->phone_country_code, "0123456789") !=
                             strlen(cfg->phone_country_code)))
        r = bad(diags, path, v, "bad-value", "'%s' must be digits", key);
    } else if (!strcmp(key, "thresholds"))
      r = set_per_kind(&cfg->thresholds, &cfg->nthresholds, v, key, true, path,
                       diags);
    else if (!strcmp(key, "routes"))
      r = set_per_kind(&cfg->routes, &cfg->nroutes, v, key, false, path, diags);
    else if (!strcmp(key, "retention_days")) {
      int64_t days;
      if (!vg_yscalar_int(v, &days) || days < 1 || days > 100000)
        r = bad(diags, path, v, "bad-value",
                "'%s' must be a whole number of days", key);
      else
        cfg->retention_days = (int)days;
    } else if (!strcmp(key, "limits")) {
      if (v->type != VG_YMAP) {
        r = bad(diags, path, v, "bad-value", "'%s' must be a mapping", key);
      } else {
        for (size_t j = 0; j < v->npairs; j++) {
          const struct vg_ynode *lk = v->pairs[j].key, *lv = v->pairs[j].value;
          int64_t bytes;
          if (lk->type != VG_YSCALAR || strcmp(lk->str, "max_record_bytes"))
            r = bad(diags, path, lk, "unknown-key",
                    "unknown key '%s' in limits",
                    lk->type == VG_YSCALAR ? lk->str : "?");
          else if (!vg_yscalar_int(lv, &bytes) || bytes < 64 ||
                   bytes > INT64_C(1) << 30)
            r = bad(diags, path, lv, "bad-value",
                    "'%s' must be a number of "
                    "bytes from 64 to 1073741824",
                    "max_record_bytes");
          else
            cfg->max_record_bytes = (size_t)bytes;
        }
      }
    } else
      r = bad(diags, path, k, "unknown-key", "unknown config key '%s'", key);
    if (r == VG_ENOMEM) {
      rc = r;
      goto done;
    }
    if (r != VG_OK)
      rc = VG_EINVAL;
  }
done:
  vg_ydoc_close(&doc);
  return rc;
}

int vg_config_threshold(const struct vg_config *cfg, const char *kind) {
  for (size_t i = cfg->nthresholds; i-- > 0;)
    if (!strcmp(cfg->thresholds[i].kind, kind))
      return cfg->thresholds[i].number;
  return VG_DEFAULT_THRESHOLD;
}

const char *vg_config_route(const struct vg_config *cfg, const char *kind) {
  for (size_t i = cfg->nroutes; i-- > 0;)
    if (!strcmp(cfg->routes[i].kind, kind))
      return cfg->routes[i].value;
  return NULL;
}
