/* csv.c - CSV records (RFC 4180) turned into JSON records by a YAML mapping
 * file: the mapping is loaded and checked once, then every row is split,
 * converted cell by cell and written as one JSON object. */
#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <utf8proc.h>

#include "arena.h"
#include "jsonw.h"
#include "source.h"
#include "vg_error.h"
#include "ydoc.h"

/* ------------------------------------------------------------- mapping */

enum ctype {
  CT_STRING,
  CT_TEXT,
  CT_PHONE,
  CT_INT,
  CT_NUMBER,
  CT_BOOL,
  CT_DATE,
  CT_DATETIME,
  CT_LIST
};

static const char *const type_names[] = {"string", "text",     "phone",
                                         "int",    "number",   "bool",
                                         "date",   "datetime", "list"};

struct colspec {
  const char *name; /* header name */
  const char *field;
  enum ctype type;
  const char **formats;
  size_t nformats;
  int zone; /* datetime: minutes east of UTC assumed without %z */
  const char **true_words, **false_words; /* case-folded */
  size_t ntrue, nfalse;
  const char *separator; /* list */
  size_t seplen;
  char decimal;   /* number */
  char thousands; /* number, int: a separator to skip, or 0 */
  bool optional;
};

enum onode_kind { NODE_OBJECT, NODE_COLUMN, NODE_CONST, NODE_ID };

/* The output object as a tree: built once, walked per row, so a row costs
 * no path parsing. */
struct onode {
  const char *key;
  enum onode_kind kind;
  size_t column;        /* NODE_COLUMN */
  const char *key_json; /* "key": ready to copy */
  size_t key_json_len;
  const char *constant_json; /* NODE_CONST: the value as JSON text */
  size_t constant_json_len;
  struct onode **children;
  size_t nchildren, cap;
  int line, col; /* where the field was named, for conflicts */
};

struct vg_csv_mapping {
  struct vg_arena arena;
  struct colspec *columns;
  size_t ncolumns;
  const char **ignore;
  size_t nignore;
  const char **id_columns; /* empty when the id comes from a field */
  size_t nid;
  const char *id_separator, *id_prefix;
  struct onode *root;
  char delimiter;
  bool latin1;
  locale_t c_locale; /* numbers are read the same whatever the locale */
};

struct loader {
  struct vg_csv_mapping *m;
  const char *file;
  struct vg_diags *diags;
  int errors;
  bool oom;
};

static void diag(struct loader *ld, const struct vg_ynode *at, const char *code,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void diag(struct loader *ld, const struct vg_ynode *at, const char *code,
                 const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vg_diags_addv(ld->diags, VG_SEV_ERROR, ld->file, at ? at->line : 1,
                at ? at->col : 1, code, fmt, ap);
  va_end(ap);
  ld->errors++;
}

static char *adup(struct loader *ld, const char *s, size_t len) {
  char *copy = vg_arena_strndup(&ld->m->arena, s, len);
  if (!copy)
    ld->oom = true;
  return copy;
}

static bool is_text(const struct vg_ynode *n) {
  return n && n->type == VG_YSCALAR && !vg_yscalar_is_null(n);
}

/* Case-folds a word so "SÍ", "Sí" and "sí" compare equal. */
static char *fold_word(struct loader *ld, const char *s, size_t len) {
  utf8proc_uint8_t *folded = NULL;
  utf8proc_ssize_t n =
      utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &folded,
                   UTF8PROC_CASEFOLD | UTF8PROC_COMPOSE | UTF8PROC_STABLE);
  if (n < 0)
    return NULL;
  char *copy = adup(ld, (const char *)folded, (size_t)n);
  free(folded);
  return copy;
}

static const char *const column_keys[] = {
    "field", "type",      "format",  "formats",   "zone",     "true",
    "false", "separator", "decimal", "thousands", "optional", NULL};

static bool known_key(const char *const *keys, const char *key) {
  for (size_t i = 0; keys[i]; i++)
    if (strcmp(keys[i], key) == 0)
      return true;
  return false;
}

static bool valid_path(const char *s, size_t len) {
  if (len == 0 || s[0] == '.' || s[len - 1] == '.')
    return false;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == ' ' || (c == '.' && s[i + 1] == '.'))
      return false;
  }
  return true;
}

static struct onode *onode_new(struct loader *ld, const char *key,
                               size_t keylen, const struct vg_ynode *at) {
  struct onode *n = vg_arena_calloc(&ld->m->arena, 1, sizeof *n);
  if (!n) {
    ld->oom = true;
    return NULL;
  }
  n->key = adup(ld, key, keylen);
  n->kind = NODE_OBJECT;
  struct vg_jsonw w;
  vg_jsonw_init(&w);
  vg_jsonw_str(&w, key, keylen);
  vg_jsonw_raw(&w, ":", 1);
  n->key_json = w.failed ? NULL : adup(ld, w.data, w.len);
  n->key_json_len = w.len;
  vg_jsonw_close(&w);
  if (!n->key_json)
    ld->oom = true;
  n->line = at ? at->line : 1;
  n->col = at ? at->col : 1;
  return n;
}

static bool onode_add_child(struct loader *ld, struct onode *parent,
                            struct onode *child) {
  if (parent->nchildren == parent->cap) {
    size_t cap = parent->cap ? parent->cap * 2 : 4;
    struct onode **grown = vg_arena_alloc(&ld->m->arena, cap * sizeof *grown);
    if (!grown) {
      ld->oom = true;
      return false;
    }
    if (parent->nchildren)
      memcpy(grown, parent->children,
             parent->nchildren * sizeof *parent->children);
    parent->children = grown;
    parent->cap = cap;
  }
  parent->children[parent->nchildren++] = child;
  return true;
}

/* Adds a leaf at a dotted path; returns it, or NULL after a diagnostic when
 * the path is taken or crosses another field. */
static struct onode *place_field(struct loader *ld, const char *path,
                                 const struct vg_ynode *at) {
  struct onode *node = ld->m->root;
  const char *seg = path;
  for (;;) {
    const char *dot = strchr(seg, '.');
    size_t seglen = dot ? (size_t)(dot - seg) : strlen(seg);
    if (node->kind != NODE_OBJECT) {
      diag(ld, at, "mapping-conflict",
           "field '%s' cannot be placed inside '%.*s', which already holds "
           "a value (line %d)",
           path, (int)(seg - path - 1), path, node->line);
      return NULL;
    }
    struct onode *child = NULL;
    for (size_t i = 0; i < node->nchildren; i++) {
      if (strlen(node->children[i]->key) == seglen &&
          memcmp(node->children[i]->key, seg, seglen) == 0) {
        child = node->children[i];
        break;
      }
    }
    if (!dot) {
      if (child) {
        diag(ld, at, "mapping-conflict",
             "field '%s' is already given a value at line %d", path,
             child->line);
        return NULL;
      }
      child = onode_new(ld, seg, seglen, at);
      if (!child || !onode_add_child(ld, node, child))
        return NULL;
      return child;
    }
    if (!child) {
      child = onode_new(ld, seg, seglen, at);
      if (!child || !onode_add_child(ld, node, child))
        return NULL;
    }
    node = child;
    seg = dot + 1;
  }
}

/* Checks a date or datetime format: only known directives, and a whole
 * date in it. */
static bool check_format(const char *fmt, const char **why) {
  bool year = false, month = false, day = false;
  for (const char *f = fmt; *f; f++) {
    if (*f != '%')
      continue;
    f++;
    switch (*f) {
    case 'Y':
    case 'y':
      year = true;
      break;
    case 'm':
      month = true;
      break;
    case 'd':
      day = true;
      break;
    case 'H':
    case 'M':
    case 'S':
    case 'z':
    case '%':
      break;
    case '\0':
      *why = "ends with a lone '%'";
      return false;
    default:
      *why = "has a directive other than %Y %y %m %d %H %M %S %z %%";
      return false;
    }
  }
  if (!year || !month || !day) {
    *why = "needs %Y (or %y), %m and %d";
    return false;
  }
  return true;
}

/* "UTC", "Z" or a fixed offset "+HH:MM" / "-HHMM": minutes east of UTC. */
static bool parse_zone(const char *s, int *minutes) {
  if (strcmp(s, "UTC") == 0 || strcmp(s, "Z") == 0 || strcmp(s, "utc") == 0) {
    *minutes = 0;
    return true;
  }
  if ((s[0] != '+' && s[0] != '-') || !isdigit((unsigned char)s[1]) ||
      !isdigit((unsigned char)s[2]))
    return false;
  int h = (s[1] - '0') * 10 + (s[2] - '0');
  const char *p = s + 3;
  if (*p == ':')
    p++;
  int m = 0;
  if (*p) {
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) || p[2])
      return false;
    m = (p[0] - '0') * 10 + (p[1] - '0');
  }
  if (h > 23 || m > 59)
    return false;
  *minutes = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
  return true;
}

/* Reads a scalar or a list of scalars into an arena array of strings. */
static bool string_list(struct loader *ld, const struct vg_ynode *n,
                        const char *what, bool fold, const char ***out,
                        size_t *count) {
  size_t nitems = n->type == VG_YSEQ ? n->nitems : 1;
  if (n->type == VG_YMAP || nitems == 0) {
    diag(ld, n, "mapping-bad-type",
         "'%s' must be a string or a list of "
         "strings",
         what);
    return false;
  }
  const char **items = vg_arena_calloc(&ld->m->arena, nitems, sizeof *items);
  if (!items) {
    ld->oom = true;
    return false;
  }
  for (size_t i = 0; i < nitems; i++) {
    const struct vg_ynode *item = n->type == VG_YSEQ ? n->items[i] : n;
    if (item->type != VG_YSCALAR) {
      diag(ld, item, "mapping-bad-type", "each entry of '%s' must be a string",
           what);
      return false;
    }
    items[i] = fold ? fold_word(ld, item->str, item->len)
                    : adup(ld, item->str, item->len);
    if (!items[i]) {
      if (!ld->oom)
        diag(ld, item, "mapping-bad-value", "'%s' is not valid UTF-8", what);
      return false;
    }
  }
  *out = items;
  *count = nitems;
  return true;
}

static const char *const default_true[] = {"true", "yes", "1"};
static const char *const default_false[] = {"false", "no", "0"};
static const char *const default_date_formats[] = {"%Y-%m-%d"};
static const char *const default_datetime_formats[] = {
    "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M", "%Y-%m-%d"};

static void load_column(struct loader *ld, const struct vg_ypair *pair,
                        struct colspec *c) {
  const struct vg_ynode *spec = pair->value;
  c->name = adup(ld, pair->key->str, pair->key->len);
  c->type = CT_STRING;
  c->decimal = '.';
  const struct vg_ynode *field_node = spec;
  if (spec->type == VG_YMAP) {
    for (size_t i = 0; i < spec->npairs; i++) {
      const struct vg_ynode *k = spec->pairs[i].key;
      if (k->type != VG_YSCALAR || !known_key(column_keys, k->str))
        diag(ld, k, "mapping-unknown-key",
             "unknown key '%s' in column '%s' (known: field, type, formats, "
             "zone, true, false, separator, decimal, thousands, optional)",
             k->type == VG_YSCALAR ? k->str : "?", c->name);
    }
    field_node = vg_ynode_get(spec, "field");
    if (!field_node) {
      diag(ld, spec, "mapping-missing-key", "column '%s' needs a 'field'",
           c->name);
      return;
    }
  } else if (spec->type != VG_YSCALAR) {
    diag(ld, spec, "mapping-bad-type",
         "column '%s' must map to a field path or to a mapping with 'field'",
         c->name);
    return;
  }
  if (!is_text(field_node) || !valid_path(field_node->str, field_node->len)) {
    diag(ld, field_node, "mapping-bad-field",
         "'%s' is not a field path (names joined by dots)",
         field_node->type == VG_YSCALAR ? field_node->str : "?");
    return;
  }
  c->field = adup(ld, field_node->str, field_node->len);
  if (spec->type != VG_YMAP)
    return;

  const struct vg_ynode *t = vg_ynode_get(spec, "type");
  if (t) {
    size_t i = 0;
    while (i < sizeof type_names / sizeof type_names[0] &&
           !(t->type == VG_YSCALAR && strcmp(type_names[i], t->str) == 0))
      i++;
    if (i == sizeof type_names / sizeof type_names[0]) {
      diag(ld, t, "mapping-bad-type",
           "unknown type '%s' (string, text, phone, int, number, bool, date, "
           "datetime or list)",
           t->type == VG_YSCALAR ? t->str : "?");
      return;
    }
    c->type = (enum ctype)i;
  }

  /* Keys that only make sense for one type are refused elsewhere, so a
   * typo in `type` is not hidden by a silently unused option. */
  static const struct {
    const char *key;
    unsigned types;
  } only[] = {
      {"format", 1u << CT_DATE | 1u << CT_DATETIME},
      {"formats", 1u << CT_DATE | 1u << CT_DATETIME},
      {"zone", 1u << CT_DATETIME},
      {"true", 1u << CT_BOOL},
      {"false", 1u << CT_BOOL},
      {"separator", 1u << CT_LIST},
      {"decimal", 1u << CT_NUMBER},
      {"thousands", 1u << CT_NUMBER | 1u << CT_INT},
  };
  for (size_t i = 0; i < sizeof only / sizeof only[0]; i++) {
    const struct vg_ypair *p = vg_ynode_get_pair(spec, only[i].key);
    if (p && !(only[i].types & (1u << c->type)))
      diag(ld, p->key, "mapping-unknown-key",
           "'%s' does not apply to a column of type %s", only[i].key,
           type_names[c->type]);
  }

  const struct vg_ynode *opt = vg_ynode_get(spec, "optional");
  if (opt) {
    bool b;
    if (!vg_yscalar_bool(opt, &b))
      diag(ld, opt, "mapping-bad-type", "'optional' must be true or false");
    else
      c->optional = b;
  }

  if (c->type == CT_DATE || c->type == CT_DATETIME) {
    const struct vg_ynode *f = vg_ynode_get(spec, "formats");
    const struct vg_ynode *f1 = vg_ynode_get(spec, "format");
    if (f && f1) {
      diag(ld, f1, "mapping-conflict", "give 'format' or 'formats', not both");
      return;
    }
    if (!f)
      f = f1;
    if (f) {
      if (!string_list(ld, f, "formats", false, &c->formats, &c->nformats))
        return;
      for (size_t i = 0; i < c->nformats; i++) {
        const char *why = NULL;
        if (!check_format(c->formats[i], &why))
          diag(ld, f->type == VG_YSEQ ? f->items[i] : f, "mapping-bad-value",
               "format '%s' %s", c->formats[i], why);
      }
    } else if (c->type == CT_DATE) {
      c->formats = (const char **)default_date_formats;
      c->nformats = 1;
    } else {
      c->formats = (const char **)default_datetime_formats;
      c->nformats =
          sizeof default_datetime_formats / sizeof default_datetime_formats[0];
    }
    const struct vg_ynode *z = vg_ynode_get(spec, "zone");
    if (z && (!is_text(z) || !parse_zone(z->str, &c->zone)))
      diag(ld, z, "mapping-bad-value",
           "zone must be UTC or a fixed offset such as +01:00 or -05:00");
  }

  if (c->type == CT_BOOL) {
    const struct vg_ynode *tw = vg_ynode_get(spec, "true");
    const struct vg_ynode *fw = vg_ynode_get(spec, "false");
    if (tw) {
      if (!string_list(ld, tw, "true", true, &c->true_words, &c->ntrue))
        return;
    } else {
      c->true_words = (const char **)default_true;
      c->ntrue = 3;
    }
    if (fw) {
      if (!string_list(ld, fw, "false", true, &c->false_words, &c->nfalse))
        return;
    } else {
      c->false_words = (const char **)default_false;
      c->nfalse = 3;
    }
    for (size_t i = 0; i < c->ntrue; i++)
      for (size_t j = 0; j < c->nfalse; j++)
        if (strcmp(c->true_words[i], c->false_words[j]) == 0)
          diag(ld, fw ? fw : tw, "mapping-conflict",
               "'%s' is both a true and a false word", c->true_words[i]);
  }

  if (c->type == CT_LIST) {
    const struct vg_ynode *s = vg_ynode_get(spec, "separator");
    if (s) {
      if (s->type != VG_YSCALAR || s->len == 0) {
        diag(ld, s, "mapping-bad-value",
             "separator must be a non-empty "
             "string");
        return;
      }
      c->separator = adup(ld, s->str, s->len);
      c->seplen = s->len;
    } else {
      c->separator = ";";
      c->seplen = 1;
    }
  }

  if (c->type == CT_NUMBER) {
    const struct vg_ynode *d = vg_ynode_get(spec, "decimal");
    if (d) {
      if (d->type != VG_YSCALAR || d->len != 1 ||
          (d->str[0] != '.' && d->str[0] != ',')) {
        diag(ld, d, "mapping-bad-value", "decimal must be \".\" or \",\"");
        return;
      }
      c->decimal = d->str[0];
    }
  }

  if (c->type == CT_NUMBER || c->type == CT_INT) {
    const struct vg_ynode *th = vg_ynode_get(spec, "thousands");
    if (th) {
      if (th->type != VG_YSCALAR || th->len != 1 ||
          (c->type == CT_NUMBER && th->str[0] == c->decimal) ||
          isdigit((unsigned char)th->str[0]) || th->str[0] == '-' ||
          th->str[0] == '+') {
        diag(ld, th, "mapping-bad-value",
             "thousands must be one character other than a digit, a sign "
             "or the decimal mark");
        return;
      }
      c->thousands = th->str[0];
    }
  }
}

static void load_columns(struct loader *ld, const struct vg_ynode *cols) {
  struct vg_csv_mapping *m = ld->m;
  if (cols->type != VG_YMAP || cols->npairs == 0) {
    diag(ld, cols, "mapping-bad-type",
         "'columns' must map column names to fields");
    return;
  }
  m->columns = vg_arena_calloc(&m->arena, cols->npairs, sizeof *m->columns);
  if (!m->columns) {
    ld->oom = true;
    return;
  }
  for (size_t i = 0; i < cols->npairs; i++) {
    const struct vg_ypair *pair = &cols->pairs[i];
    if (pair->key->type != VG_YSCALAR) {
      diag(ld, pair->key, "mapping-bad-type", "a column name must be text");
      continue;
    }
    bool dup = false;
    for (size_t j = 0; j < i && !dup; j++)
      dup = cols->pairs[j].key->type == VG_YSCALAR &&
            strcmp(cols->pairs[j].key->str, pair->key->str) == 0;
    if (dup) {
      diag(ld, pair->key, "mapping-conflict", "column '%s' is mapped twice",
           pair->key->str);
      continue;
    }
    struct colspec *c = &m->columns[m->ncolumns];
    int before = ld->errors;
    load_column(ld, pair, c);
    if (ld->errors != before || ld->oom || !c->field)
      continue;
    struct onode *leaf = place_field(ld, c->field,
                                     pair->value->type == VG_YMAP
                                         ? vg_ynode_get(pair->value, "field")
                                         : pair->value);
    if (!leaf)
      continue;
    leaf->kind = NODE_COLUMN;
    leaf->column = m->ncolumns++;
  }
}

static json_t *constant_value(struct loader *ld, const struct vg_ynode *n) {
  if (n->type == VG_YSEQ) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n->nitems; i++) {
      json_t *v = n->items[i]->type == VG_YSCALAR
                      ? constant_value(ld, n->items[i])
                      : NULL;
      if (!v || json_array_append_new(arr, v) != 0) {
        json_decref(arr);
        return NULL;
      }
    }
    return arr;
  }
  if (n->type != VG_YSCALAR || vg_yscalar_is_null(n))
    return NULL;
  bool b;
  int64_t i;
  double d;
  if (vg_yscalar_bool(n, &b))
    return json_boolean(b);
  if (vg_yscalar_int(n, &i))
    return json_integer(i);
  if (vg_yscalar_number(n, &d))
    return isfinite(d) ? json_real(d) : NULL;
  /* Cells holding a NUL are refused; so is a constant. */
  if (memchr(n->str, '\0', n->len))
    return NULL;
  return json_stringn(n->str, n->len);
}

static void load_constants(struct loader *ld, const struct vg_ynode *consts) {
  if (consts->type != VG_YMAP) {
    diag(ld, consts, "mapping-bad-type",
         "'constants' must map field paths to values");
    return;
  }
  for (size_t i = 0; i < consts->npairs; i++) {
    const struct vg_ynode *k = consts->pairs[i].key;
    const struct vg_ynode *v = consts->pairs[i].value;
    if (k->type != VG_YSCALAR || !valid_path(k->str, k->len)) {
      diag(ld, k, "mapping-bad-field",
           "'%s' is not a field path (names joined by dots)",
           k->type == VG_YSCALAR ? k->str : "?");
      continue;
    }
    json_t *value = constant_value(ld, v);
    if (!value) {
      diag(ld, v, "mapping-bad-type",
           "the constant for '%s' must be a string, number, bool or a list "
           "of them (not null, not a mapping, no NUL character)",
           k->str);
      continue;
    }
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(value);
    char *copy = text ? adup(ld, text, strlen(text)) : NULL;
    free(text);
    if (!copy) {
      ld->oom = true;
      return;
    }
    struct onode *leaf = place_field(ld, k->str, k);
    if (!leaf)
      continue;
    leaf->kind = NODE_CONST;
    leaf->constant_json = copy;
    leaf->constant_json_len = strlen(copy);
  }
}

static void load_id(struct loader *ld, const struct vg_ynode *id) {
  struct vg_csv_mapping *m = ld->m;
  m->id_separator = "/";
  m->id_prefix = "";
  const struct vg_ynode *cols = id;
  if (id->type == VG_YMAP) {
    static const char *const keys[] = {"column", "columns", "separator",
                                       "prefix", NULL};
    for (size_t i = 0; i < id->npairs; i++) {
      const struct vg_ynode *k = id->pairs[i].key;
      if (k->type != VG_YSCALAR || !known_key(keys, k->str))
        diag(ld, k, "mapping-unknown-key",
             "unknown key '%s' in id (known: column, columns, separator, "
             "prefix)",
             k->type == VG_YSCALAR ? k->str : "?");
    }
    cols = vg_ynode_get(id, "columns");
    const struct vg_ynode *one = vg_ynode_get(id, "column");
    if (cols && one) {
      diag(ld, one, "mapping-conflict", "give 'column' or 'columns', not both");
      return;
    }
    if (!cols)
      cols = one;
    if (!cols) {
      diag(ld, id, "mapping-missing-key", "id needs 'column' or 'columns'");
      return;
    }
    const struct vg_ynode *sep = vg_ynode_get(id, "separator");
    if (sep) {
      if (sep->type != VG_YSCALAR) {
        diag(ld, sep, "mapping-bad-type", "the id separator must be text");
        return;
      }
      m->id_separator = adup(ld, sep->str, sep->len);
    }
    const struct vg_ynode *prefix = vg_ynode_get(id, "prefix");
    if (prefix) {
      if (prefix->type != VG_YSCALAR) {
        diag(ld, prefix, "mapping-bad-type", "the id prefix must be text");
        return;
      }
      m->id_prefix = adup(ld, prefix->str, prefix->len);
    }
  }
  if (!string_list(ld, cols, "id columns", false, &m->id_columns, &m->nid))
    return;
  struct onode *leaf = place_field(ld, "id", id);
  if (leaf)
    leaf->kind = NODE_ID;
}

static bool has_field(const struct onode *root, const char *key) {
  for (size_t i = 0; i < root->nchildren; i++)
    if (strcmp(root->children[i]->key, key) == 0)
      return true;
  return false;
}

static void load_mapping(struct loader *ld, const struct vg_ydoc *doc) {
  struct vg_csv_mapping *m = ld->m;
  const struct vg_ynode *root = doc->root;
  if (!root || root->type != VG_YMAP) {
    diag(ld, root, "mapping-bad-type",
         "a mapping file must be a YAML mapping with at least 'columns'");
    return;
  }
  static const char *const keys[] = {"columns",   "constants", "id", "ignore",
                                     "delimiter", "encoding",  NULL};
  for (size_t i = 0; i < root->npairs; i++) {
    const struct vg_ynode *k = root->pairs[i].key;
    if (k->type != VG_YSCALAR || !known_key(keys, k->str))
      diag(ld, k, "mapping-unknown-key",
           "unknown key '%s' (known: columns, constants, id, ignore, "
           "delimiter, encoding)",
           k->type == VG_YSCALAR ? k->str : "?");
  }
  m->delimiter = ',';
  const struct vg_ynode *delim = vg_ynode_get(root, "delimiter");
  if (delim) {
    if (delim->type == VG_YSCALAR && strcmp(delim->str, "tab") == 0)
      m->delimiter = '\t';
    else if (delim->type == VG_YSCALAR && delim->len == 1 &&
             delim->str[0] != '"' && delim->str[0] != '\n' &&
             delim->str[0] != '\r')
      m->delimiter = delim->str[0];
    else
      diag(ld, delim, "mapping-bad-value",
           "delimiter must be one character (not a quote or line break) or "
           "\"tab\"");
  }
  const struct vg_ynode *enc = vg_ynode_get(root, "encoding");
  if (enc) {
    if (enc->type == VG_YSCALAR && (strcasecmp(enc->str, "latin-1") == 0 ||
                                    strcasecmp(enc->str, "latin1") == 0 ||
                                    strcasecmp(enc->str, "iso-8859-1") == 0))
      m->latin1 = true;
    else if (!(enc->type == VG_YSCALAR && (strcasecmp(enc->str, "utf-8") == 0 ||
                                           strcasecmp(enc->str, "utf8") == 0)))
      diag(ld, enc, "mapping-bad-value", "encoding must be utf-8 or latin-1");
  }

  /* Constants and the id first, so records start with kind, source and
   * id. */
  const struct vg_ynode *consts = vg_ynode_get(root, "constants");
  if (consts)
    load_constants(ld, consts);
  const struct vg_ynode *id = vg_ynode_get(root, "id");
  if (id)
    load_id(ld, id);
  const struct vg_ynode *cols = vg_ynode_get(root, "columns");
  if (!cols)
    diag(ld, root, "mapping-missing-key", "the mapping has no 'columns'");
  else
    load_columns(ld, cols);
  const struct vg_ynode *ignore = vg_ynode_get(root, "ignore");
  if (ignore) {
    if (ignore->type == VG_YSEQ && ignore->nitems == 0) {
      /* `ignore: []` is allowed: nothing is ignored. */
    } else if (string_list(ld, ignore, "ignore", false, &m->ignore,
                           &m->nignore)) {
      for (size_t i = 0; i < m->nignore; i++)
        for (size_t j = 0; j < m->ncolumns; j++)
          if (strcmp(m->ignore[i], m->columns[j].name) == 0)
            diag(ld, ignore->type == VG_YSEQ ? ignore->items[i] : ignore,
                 "mapping-conflict", "column '%s' is both mapped and ignored",
                 m->ignore[i]);
    }
  }
  if (ld->oom || ld->errors)
    return;
  /* Every record needs these (SPEC 1); better said once here than on
   * every row. */
  static const char *const needed[] = {"kind", "id", "observed_at"};
  for (size_t i = 0; i < 3; i++)
    if (!has_field(m->root, needed[i]))
      diag(ld, root, "mapping-missing-key",
           "nothing gives '%s': map a column to it%s", needed[i],
           strcmp(needed[i], "id") == 0     ? " or add an 'id' key"
           : strcmp(needed[i], "kind") == 0 ? " or set it under 'constants'"
                                            : "");
}

void vg_csv_mapping_free(struct vg_csv_mapping *mapping) {
  if (!mapping)
    return;
  if (mapping->c_locale)
    freelocale(mapping->c_locale);
  vg_arena_close(&mapping->arena);
  free(mapping);
}

static int mapping_from_doc(const struct vg_ydoc *doc,
                            struct vg_csv_mapping **out,
                            struct vg_diags *diags) {
  struct vg_csv_mapping *m = calloc(1, sizeof *m);
  if (!m)
    return VG_ENOMEM;
  vg_arena_init(&m->arena, 8192);
  struct loader ld = {.m = m, .file = doc->file, .diags = diags};
  m->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
  m->root = onode_new(&ld, "", 0, NULL);
  if (!m->c_locale || !m->root) {
    vg_csv_mapping_free(m);
    return VG_ENOMEM;
  }
  load_mapping(&ld, doc);
  if (ld.oom) {
    vg_csv_mapping_free(m);
    return VG_ENOMEM;
  }
  if (ld.errors) {
    vg_csv_mapping_free(m);
    return VG_EINVAL;
  }
  *out = m;
  return VG_OK;
}

int vg_csv_mapping_load(const char *path, struct vg_csv_mapping **out,
                        struct vg_diags *diags) {
  struct vg_ydoc doc;
  int rc = vg_ydoc_load_file(&doc, path, diags);
  if (rc != VG_OK)
    return rc;
  rc = mapping_from_doc(&doc, out, diags);
  vg_ydoc_close(&doc);
  return rc;
}

int vg_csv_mapping_load_string(const char *name, const char *text, size_t len,
                               struct vg_csv_mapping **out,
                               struct vg_diags *diags) {
  struct vg_ydoc doc;
  int rc = vg_ydoc_load_string(&doc, name, text, len, diags);
  if (rc != VG_OK)
    return rc;
  rc = mapping_from_doc(&doc, out, diags);
  vg_ydoc_close(&doc);
  return rc;
}

/* ---------------------------------------------------------- conversion */

static bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)(yoe + era * 400 + (*m <= 2));
}

struct when {
  int year, month, day, hour, minute, second;
  int offset; /* minutes east of UTC */
  bool has_offset;
};

static bool digits(const char *s, size_t n, size_t *i, size_t min, size_t max,
                   int *out) {
  int v = 0;
  size_t k = 0;
  while (k < max && *i < n && s[*i] >= '0' && s[*i] <= '9') {
    v = v * 10 + (s[*i] - '0');
    ++*i;
    k++;
  }
  *out = v;
  return k >= min;
}

/* Reads s[0..n) under a format of the directives check_format allows.
 * Fields the format lacks stay at midnight UTC. */
static bool parse_when(const char *s, size_t n, const char *fmt,
                       struct when *w) {
  memset(w, 0, sizeof *w);
  size_t i = 0;
  for (const char *f = fmt; *f; f++) {
    if (*f == ' ') {
      if (i >= n || (s[i] != ' ' && s[i] != '\t'))
        return false;
      while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
      continue;
    }
    if (*f != '%') {
      if (i >= n || s[i] != *f)
        return false;
      i++;
      continue;
    }
    f++;
    bool ok = true;
    switch (*f) {
    case 'Y':
      ok = digits(s, n, &i, 4, 4, &w->year);
      break;
    case 'y':
      ok = digits(s, n, &i, 2, 2, &w->year);
      /* The POSIX window: 69-99 are 1969-1999, 00-68 are 2000-2068. */
      w->year += w->year >= 69 ? 1900 : 2000;
      break;
    case 'm':
      ok = digits(s, n, &i, 1, 2, &w->month);
      break;
    case 'd':
      ok = digits(s, n, &i, 1, 2, &w->day);
      break;
    case 'H':
      ok = digits(s, n, &i, 1, 2, &w->hour);
      break;
    case 'M':
      ok = digits(s, n, &i, 1, 2, &w->minute);
      break;
    case 'S':
      ok = digits(s, n, &i, 1, 2, &w->second);
      /* Fractions of a second are read and dropped. */
      if (ok && i + 1 < n && (s[i] == '.' || s[i] == ',') && s[i + 1] >= '0' &&
          s[i + 1] <= '9') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
          i++;
      }
      break;
    case 'z':
      if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
        w->has_offset = true;
        break;
      }
      if (i < n && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i] == '-' ? -1 : 1, h = 0, m = 0;
        i++;
        ok = digits(s, n, &i, 2, 2, &h);
        if (ok && i < n && s[i] == ':')
          i++;
        if (ok && i < n && s[i] >= '0' && s[i] <= '9')
          ok = digits(s, n, &i, 2, 2, &m);
        ok = ok && h <= 23 && m <= 59;
        w->offset = sign * (h * 60 + m);
        w->has_offset = true;
        break;
      }
      ok = false;
      break;
    case '%':
      ok = i < n && s[i] == '%';
      i++;
      break;
    default:
      ok = false;
    }
    if (!ok)
      return false;
  }
  return i == n && w->year >= 1 && w->year <= 9999 && w->month >= 1 &&
         w->month <= 12 && w->day >= 1 &&
         w->day <= days_in_month(w->year, w->month) && w->hour <= 23 &&
         w->minute <= 59 && w->second <= 59;
}

/* ------------------------------------------------------------- reading */

struct cell {
  size_t off; /* in the input buffer, or in the unquoted-cell buffer */
  size_t len;
  bool copied; /* quoted: the text lives in the cell buffer */
};

#define NO_QUOTE SIZE_MAX

enum row_status {
  ROW_OK,
  ROW_MORE,         /* the buffer ends inside the row */
  ROW_UNTERMINATED, /* end of input (or the row limit) inside quotes */
  ROW_BAD_QUOTE     /* text after a closing quote */
};

struct csv_source {
  struct vg_source base;
  FILE *in;
  const struct vg_csv_mapping *map;

  char *buf;
  size_t cap, start, end; /* unread input is buf[start..end) */
  bool eof, bom_checked;
  long line; /* line number of buf[start] */

  struct cell *cells;
  size_t ncells, cells_cap;
  char *cellbuf; /* quoted cells, unescaped */
  size_t cellbuf_len, cellbuf_cap;

  /* Filled by parse_row for the caller. */
  size_t row_end;          /* offset just past the row's line break */
  long row_lines;          /* line breaks inside the row, its own included */
  size_t first_line_end;   /* offset just past the row's first line break */
  size_t problem_line_end; /* after the line holding a quoting fault */
  size_t problem_cell;
  size_t quote_open; /* the open quote at ROW_MORE/UNTERMINATED, or NO_QUOTE */

  /* Header. */
  bool header_done;
  int fatal; /* VG_EINVAL once the header has been refused */
  char fatal_where[96], fatal_reason[320];
  size_t nheader;
  long *col_pos; /* per mapping column: header position, or -1 */
  long *id_pos;  /* per id column: header position */
  char **header_names;

  struct vg_jsonw out; /* the record being written */
  char *scratch;       /* a Latin-1 cell decoded */
  size_t scratch_cap;
  char *idbuf; /* the id, composed */
  size_t idbuf_cap;
  char *raw; /* reject excerpt, kept apart from buf across refills */
  size_t raw_cap;
  char reason[320];
};

static int grow(char **buf, size_t *cap, size_t need) {
  if (need <= *cap)
    return VG_OK;
  size_t cap2 = *cap ? *cap : 256;
  while (cap2 < need)
    cap2 *= 2;
  char *grown = realloc(*buf, cap2);
  if (!grown)
    return VG_ENOMEM;
  *buf = grown;
  *cap = cap2;
  return VG_OK;
}

/* Moves unread input to the front and reads more. Returns 0, or VG_EIO,
 * VG_ENOMEM. */
static int fill(struct csv_source *s) {
  if (s->start > 0) {
    memmove(s->buf, s->buf + s->start, s->end - s->start);
    s->end -= s->start;
    s->start = 0;
  }
  if (s->cap - s->end < 65536 && grow(&s->buf, &s->cap, s->cap * 2) != VG_OK)
    return VG_ENOMEM;
  /* The unread window never holds more than one row over the limit, so a
   * row that long is always found too long, however the reads fall. */
  size_t room = s->cap - s->end;
  if (s->end > VG_CSV_MAX_ROW_BYTES)
    return VG_OK; /* full: the caller decides */
  if (room > VG_CSV_MAX_ROW_BYTES + 1 - s->end)
    room = VG_CSV_MAX_ROW_BYTES + 1 - s->end;
  size_t got = fread(s->buf + s->end, 1, room, s->in);
  s->end += got;
  if (got == 0) {
    if (ferror(s->in))
      return VG_EIO;
    s->eof = true;
  }
  return VG_OK;
}

static int add_cell(struct csv_source *s, size_t off, size_t len, bool copied) {
  if (s->ncells == s->cells_cap) {
    size_t cap = s->cells_cap ? s->cells_cap * 2 : 32;
    struct cell *grown = realloc(s->cells, cap * sizeof *grown);
    if (!grown)
      return VG_ENOMEM;
    s->cells = grown;
    s->cells_cap = cap;
  }
  s->cells[s->ncells++] = (struct cell){off, len, copied};
  return VG_OK;
}

static int cell_append(struct csv_source *s, const char *p, size_t n) {
  if (grow(&s->cellbuf, &s->cellbuf_cap, s->cellbuf_len + n + 1) != VG_OK)
    return VG_ENOMEM;
  memcpy(s->cellbuf + s->cellbuf_len, p, n);
  s->cellbuf_len += n;
  return VG_OK;
}

static size_t count_newlines(const char *p, size_t n) {
  size_t count = 0;
  const char *end = p + n;
  while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
    count++;
    p++;
  }
  return count;
}

static size_t line_end_after(const struct csv_source *s, size_t pos) {
  const char *nl = memchr(s->buf + pos, '\n', s->end - pos);
  return nl ? (size_t)(nl - s->buf) + 1 : s->end;
}

/* Splits one row starting at buf[start]. Unquoted cells point into buf;
 * quoted ones are unescaped into cellbuf. Returns a row_status, or
 * VG_ENOMEM. */
static int parse_row(struct csv_source *s) {
  const char delim = s->map->delimiter;
  const char *buf = s->buf;
  size_t p = s->start, e = s->end;
  s->ncells = 0;
  s->cellbuf_len = 0;
  s->row_lines = 0;
  s->first_line_end = 0;
  s->quote_open = NO_QUOTE;
  for (;;) {
    if (p < e && buf[p] == '"') {
      size_t open = p;
      size_t off = s->cellbuf_len;
      p++;
      for (;;) {
        const char *q = memchr(buf + p, '"', e - p);
        if (!q) {
          s->problem_cell = s->ncells;
          s->quote_open = open;
          return s->eof ? ROW_UNTERMINATED : ROW_MORE;
        }
        size_t qi = (size_t)(q - buf);
        size_t nl = count_newlines(buf + p, qi - p);
        if (nl && !s->first_line_end)
          s->first_line_end = line_end_after(s, p);
        s->row_lines += (long)nl;
        if (cell_append(s, buf + p, qi - p) != VG_OK)
          return VG_ENOMEM;
        if (qi + 1 == e && !s->eof) {
          s->quote_open = open; /* "" or the closing quote: not known yet */
          return ROW_MORE;
        }
        if (qi + 1 < e && buf[qi + 1] == '"') {
          if (cell_append(s, "\"", 1) != VG_OK)
            return VG_ENOMEM;
          p = qi + 2;
          continue;
        }
        p = qi + 1;
        break;
      }
      if (add_cell(s, off, s->cellbuf_len - off, true) != VG_OK)
        return VG_ENOMEM;
      if (p < e && buf[p] != delim && buf[p] != '\n' && buf[p] != '\r') {
        s->problem_cell = s->ncells - 1;
        s->problem_line_end = line_end_after(s, p);
        if (s->problem_line_end == e && !s->eof)
          return ROW_MORE;
        return ROW_BAD_QUOTE;
      }
    } else {
      size_t from = p;
      while (p < e) {
        char c = buf[p];
        if (c == delim || c == '\n' || c == '\r')
          break;
        p++;
      }
      if (add_cell(s, from, p - from, false) != VG_OK)
        return VG_ENOMEM;
    }
    if (p == e) {
      if (!s->eof)
        return ROW_MORE;
      s->row_end = p;
      break;
    }
    if (buf[p] == delim) {
      p++;
      continue;
    }
    /* A line break: CRLF, LF, or a lone CR. */
    if (buf[p] == '\r') {
      if (p + 1 == e && !s->eof)
        return ROW_MORE;
      if (p + 1 < e && buf[p + 1] == '\n')
        p++;
    }
    p++;
    s->row_lines++;
    s->row_end = p;
    break;
  }
  if (!s->first_line_end)
    s->first_line_end = s->row_end;
  return ROW_OK;
}

static const char *cell_text(const struct csv_source *s, const struct cell *c,
                             size_t *len) {
  const char *p = c->copied ? s->cellbuf + c->off : s->buf + c->off;
  size_t n = c->len;
  while (n && (*p == ' ' || *p == '\t')) {
    p++;
    n--;
  }
  while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
    n--;
  *len = n;
  return p;
}

/* Quotes a cell for a reason: at most 60 bytes, cut on a character
 * boundary. */
static int excerpt_len(const char *p, size_t n) {
  if (n <= 60)
    return (int)n;
  size_t k = 60;
  while (k > 0 && ((unsigned char)p[k] & 0xC0) == 0x80)
    k--;
  return (int)k;
}

/* "line N", without printf: it is written for every row. */
static void where_line(char *out, long line) {
  char digits[24];
  size_t k = sizeof digits;
  unsigned long v = line < 0 ? 0 : (unsigned long)line;
  do {
    digits[--k] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  memcpy(out, "line ", 5);
  memcpy(out + 5, digits + k, sizeof digits - k);
  out[5 + sizeof digits - k] = '\0';
}

static void fill_item_reject(struct csv_source *s, struct vg_source_item *item,
                             long line, size_t raw_from, size_t raw_to) {
  memset(item, 0, sizeof *item);
  item->type = VG_ITEM_REJECT;
  item->line = line;
  where_line(item->where, line);
  vg_text_sanitize(s->reason);
  snprintf(item->reason, sizeof item->reason, "%s", s->reason);
  size_t n = raw_to - raw_from;
  if (n > VG_RAW_EXCERPT)
    n = VG_RAW_EXCERPT;
  /* Trailing line breaks are not part of the row. */
  while (n &&
         (s->buf[raw_from + n - 1] == '\n' || s->buf[raw_from + n - 1] == '\r'))
    n--;
  if (grow(&s->raw, &s->raw_cap, n + 1) == VG_OK) {
    memcpy(s->raw, s->buf + raw_from, n);
    item->raw = s->raw;
    item->raw_len = n;
  }
}

static int header_fail(struct csv_source *s, struct vg_source_item *item,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int header_fail(struct csv_source *s, struct vg_source_item *item,
                       const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->fatal_reason, sizeof s->fatal_reason, fmt, ap);
  va_end(ap);
  vg_text_sanitize(s->fatal_reason);
  snprintf(s->fatal_where, sizeof s->fatal_where, "line %ld", s->line);
  s->fatal = VG_EINVAL;
  memset(item, 0, sizeof *item);
  item->type = VG_ITEM_REJECT;
  item->line = s->line;
  memcpy(item->where, s->fatal_where, sizeof item->where);
  memcpy(item->reason, s->fatal_reason, sizeof item->reason);
  return VG_EINVAL;
}

static long header_find(const struct csv_source *s, const char *name) {
  for (size_t i = 0; i < s->nheader; i++)
    if (strcmp(s->header_names[i], name) == 0)
      return (long)i;
  return -1;
}

/* Matches the header row against the mapping. */
static int read_header(struct csv_source *s, struct vg_source_item *item) {
  const struct vg_csv_mapping *m = s->map;
  s->nheader = s->ncells;
  s->header_names = calloc(s->nheader, sizeof *s->header_names);
  s->col_pos = malloc((m->ncolumns + 1) * sizeof *s->col_pos);
  s->id_pos = malloc((m->nid + 1) * sizeof *s->id_pos);
  if (!s->header_names || !s->col_pos || !s->id_pos)
    return VG_ENOMEM;
  for (size_t i = 0; i < s->nheader; i++) {
    size_t len;
    const char *name = cell_text(s, &s->cells[i], &len);
    s->header_names[i] = strndup(name, len);
    if (!s->header_names[i])
      return VG_ENOMEM;
  }
  for (size_t i = 0; i < s->nheader; i++) {
    const char *name = s->header_names[i];
    if (header_find(s, name) != (long)i)
      return header_fail(s, item, "the header names column '%s' twice", name);
    bool used = false;
    for (size_t j = 0; j < m->ncolumns && !used; j++)
      used = strcmp(m->columns[j].name, name) == 0;
    for (size_t j = 0; j < m->nignore && !used; j++)
      used = strcmp(m->ignore[j], name) == 0;
    for (size_t j = 0; j < m->nid && !used; j++)
      used = strcmp(m->id_columns[j], name) == 0;
    if (!used)
      return header_fail(s, item,
                         "column '%s' (column %zu of the header) is not in "
                         "the mapping: map it under 'columns' or list it "
                         "under 'ignore'",
                         name, i + 1);
  }
  for (size_t j = 0; j < m->ncolumns; j++) {
    s->col_pos[j] = header_find(s, m->columns[j].name);
    if (s->col_pos[j] < 0 && !m->columns[j].optional)
      return header_fail(s, item,
                         "the header has no column '%s', which the mapping "
                         "maps to '%s' (mark it optional: true if it may be "
                         "missing)",
                         m->columns[j].name, m->columns[j].field);
  }
  for (size_t j = 0; j < m->nid; j++) {
    s->id_pos[j] = header_find(s, m->id_columns[j]);
    if (s->id_pos[j] < 0)
      return header_fail(s, item,
                         "the header has no column '%s', which the id is "
                         "made of",
                         m->id_columns[j]);
  }
  s->header_done = true;
  return VG_OK;
}

enum { CONV_OK = 0, CONV_FAIL = 1, CONV_EMPTY = 2 };

/* Latin-1 cells become UTF-8; UTF-8 cells are used as they are. */
static int decode(struct csv_source *s, const char **p, size_t *n) {
  if (!s->map->latin1)
    return VG_OK;
  size_t high = 0;
  for (size_t i = 0; i < *n; i++)
    high += (unsigned char)(*p)[i] >= 0x80;
  if (!high)
    return VG_OK;
  if (grow(&s->scratch, &s->scratch_cap, *n + high + 1) != VG_OK)
    return VG_ENOMEM;
  char *o = s->scratch;
  for (size_t i = 0; i < *n; i++) {
    unsigned char c = (unsigned char)(*p)[i];
    if (c < 0x80) {
      *o++ = (char)c;
    } else {
      *o++ = (char)(0xC0 | (c >> 6));
      *o++ = (char)(0x80 | (c & 0x3F));
    }
  }
  *p = s->scratch;
  *n = (size_t)(o - s->scratch);
  return VG_OK;
}

static bool valid_utf8(const char *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    /* ASCII runs are the common case and need no decoding. */
    while (i < n && (unsigned char)p[i] < 0x80)
      i++;
    if (i == n)
      return true;
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)p + i,
                                          (utf8proc_ssize_t)(n - i), &cp);
    if (k < 0)
      return false;
    i += (size_t)k;
  }
  return true;
}

static int conv_fail(struct csv_source *s, const struct colspec *c,
                     const char *p, size_t n, const char *what) {
  int k = excerpt_len(p, n);
  snprintf(s->reason, sizeof s->reason, "column '%s' (%s): '%.*s%s' %s",
           c->name, c->field, k, p, (size_t)k < n ? "..." : "", what);
  return CONV_FAIL;
}

static bool word_in(const char *folded, size_t n, const char **words,
                    size_t count) {
  for (size_t i = 0; i < count; i++)
    if (strlen(words[i]) == n && memcmp(words[i], folded, n) == 0)
      return true;
  return false;
}

static int convert_bool(struct csv_source *s, const struct colspec *c,
                        const char *p, size_t n) {
  char small[64];
  const char *folded = small;
  utf8proc_uint8_t *heap = NULL;
  size_t flen = n;
  bool ascii = n < sizeof small;
  for (size_t i = 0; ascii && i < n; i++)
    ascii = (unsigned char)p[i] < 0x80;
  if (ascii) {
    for (size_t i = 0; i < n; i++)
      small[i] = (char)tolower((unsigned char)p[i]);
  } else {
    utf8proc_ssize_t r =
        utf8proc_map((const utf8proc_uint8_t *)p, (utf8proc_ssize_t)n, &heap,
                     UTF8PROC_CASEFOLD | UTF8PROC_COMPOSE | UTF8PROC_STABLE);
    if (r < 0)
      return conv_fail(s, c, p, n, "is not valid UTF-8");
    folded = (const char *)heap;
    flen = (size_t)r;
  }
  int rc = CONV_OK;
  if (word_in(folded, flen, c->true_words, c->ntrue)) {
    vg_jsonw_raw(&s->out, "true", 4);
  } else if (word_in(folded, flen, c->false_words, c->nfalse)) {
    vg_jsonw_raw(&s->out, "false", 5);
  } else {
    char what[200];
    size_t used = (size_t)snprintf(what, sizeof what, "is not a bool (true:");
    for (size_t i = 0; i < c->ntrue && used < sizeof what; i++)
      used += (size_t)snprintf(what + used, sizeof what - used, " %s",
                               c->true_words[i]);
    for (size_t i = 0; i < c->nfalse && used < sizeof what; i++)
      used += (size_t)snprintf(what + used, sizeof what - used, "%s %s",
                               i ? "" : "; false:", c->false_words[i]);
    if (used < sizeof what)
      snprintf(what + used, sizeof what - used, ")");
    rc = conv_fail(s, c, p, n, what);
  }
  free(heap);
  return rc;
}

static int convert_number(struct csv_source *s, const struct colspec *c,
                          const char *p, size_t n) {
  /* Checked by hand so strtod sees only plain decimal notation (no hex,
   * no inf or nan); thousands separators are dropped when declared. */
  char text[128];
  size_t i = 0, k = 0;
  bool digit = false;
  if (i < n && (p[i] == '+' || p[i] == '-'))
    text[k++] = p[i++];
  while (i < n && k < 100 &&
         (isdigit((unsigned char)p[i]) ||
          (c->thousands && p[i] == c->thousands && digit))) {
    if (p[i] != c->thousands) {
      text[k++] = p[i];
      digit = true;
    }
    i++;
  }
  if (i < n && p[i] == c->decimal) {
    text[k++] = '.';
    i++;
    while (i < n && k < 110 && isdigit((unsigned char)p[i])) {
      text[k++] = p[i++];
      digit = true;
    }
  }
  if (digit && i < n && (p[i] == 'e' || p[i] == 'E')) {
    text[k++] = p[i++];
    if (i < n && (p[i] == '+' || p[i] == '-'))
      text[k++] = p[i++];
    if (i == n || !isdigit((unsigned char)p[i]))
      digit = false;
    while (i < n && k < 126 && isdigit((unsigned char)p[i]))
      text[k++] = p[i++];
  }
  text[k] = '\0';
  if (!digit || i != n) {
    char what[64];
    snprintf(what, sizeof what, "is not a number (decimal mark '%c'%s)",
             c->decimal, c->thousands ? ", thousands separator allowed" : "");
    return conv_fail(s, c, p, n, what);
  }
  errno = 0;
  double d = strtod_l(text, NULL, s->map->c_locale);
  if (!isfinite(d) || errno == ERANGE)
    return conv_fail(s, c, p, n, "is out of range for a number");
  vg_jsonw_double(&s->out, d);
  return CONV_OK;
}

static int convert_int(struct csv_source *s, const struct colspec *c,
                       const char *p, size_t n) {
  size_t i = 0;
  bool neg = false;
  if (p[0] == '+' || p[0] == '-') {
    neg = p[0] == '-';
    i = 1;
  }
  if (i == n)
    return conv_fail(s, c, p, n, "is not an integer");
  uint64_t v = 0;
  bool digit = false;
  for (; i < n; i++) {
    if (c->thousands && p[i] == c->thousands && digit)
      continue;
    if (!isdigit((unsigned char)p[i]))
      return conv_fail(s, c, p, n, "is not an integer");
    digit = true;
    if (v > (UINT64_MAX - 9) / 10)
      return conv_fail(s, c, p, n, "is out of range for an integer");
    v = v * 10 + (uint64_t)(p[i] - '0');
  }
  if (!digit || v > (uint64_t)INT64_MAX + neg)
    return conv_fail(s, c, p, n, "is out of range for an integer");
  /* Written back from the value: "+007" becomes 7, as JSON wants. */
  char text[24];
  size_t k = sizeof text;
  do {
    text[--k] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  if (neg && !(k == sizeof text - 1 && text[k] == '0'))
    text[--k] = '-';
  vg_jsonw_raw(&s->out, text + k, sizeof text - k);
  return CONV_OK;
}

static void put_digits(char *o, int v, int width) {
  for (int i = width - 1; i >= 0; i--) {
    o[i] = (char)('0' + v % 10);
    v /= 10;
  }
}

static int convert_when(struct csv_source *s, const struct colspec *c,
                        const char *p, size_t n) {
  struct when w;
  size_t i = 0;
  while (i < c->nformats && !parse_when(p, n, c->formats[i], &w))
    i++;
  if (i == c->nformats) {
    char what[220];
    size_t used =
        (size_t)snprintf(what, sizeof what, "is not a %s in the format%s",
                         c->type == CT_DATE ? "date" : "date and time",
                         c->nformats > 1 ? "s" : "");
    for (size_t k = 0; k < c->nformats && used < sizeof what; k++)
      used += (size_t)snprintf(what + used, sizeof what - used, "%s %s",
                               k ? "," : "", c->formats[k]);
    return conv_fail(s, c, p, n, what);
  }
  /* "YYYY-MM-DD" or "YYYY-MM-DDThh:mm:ssZ", with quotes. */
  char text[24] = "\"0000-00-00T00:00:00Z\"";
  if (c->type == CT_DATE) {
    put_digits(text + 1, w.year, 4);
    put_digits(text + 6, w.month, 2);
    put_digits(text + 9, w.day, 2);
    text[11] = '"';
    vg_jsonw_raw(&s->out, text, 12);
    return CONV_OK;
  }
  int offset = w.has_offset ? w.offset : c->zone;
  int64_t minutes = days_from_civil(w.year, w.month, w.day) * 1440 +
                    w.hour * 60 + w.minute - offset;
  int64_t days = minutes >= 0 ? minutes / 1440 : -((-minutes + 1439) / 1440);
  int64_t rem = minutes - days * 1440;
  int y, mo, d;
  civil_from_days(days, &y, &mo, &d);
  if (y < 1 || y > 9999)
    return conv_fail(s, c, p, n, "is out of range in UTC");
  put_digits(text + 1, y, 4);
  put_digits(text + 6, mo, 2);
  put_digits(text + 9, d, 2);
  put_digits(text + 12, (int)(rem / 60), 2);
  put_digits(text + 15, (int)(rem % 60), 2);
  put_digits(text + 18, w.second, 2);
  vg_jsonw_raw(&s->out, text, 22);
  return CONV_OK;
}

static int convert_list(struct csv_source *s, const struct colspec *c,
                        const char *p, size_t n) {
  const char *end = p + n;
  size_t count = 0;
  vg_jsonw_raw(&s->out, "[", 1);
  for (;;) {
    const char *sep =
        c->seplen == 1 ? memchr(p, c->separator[0], (size_t)(end - p))
                       : memmem(p, (size_t)(end - p), c->separator, c->seplen);
    const char *stop = sep ? sep : end;
    const char *a = p, *b = stop;
    while (a < b && (*a == ' ' || *a == '\t'))
      a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
      b--;
    if (b > a) {
      if (memchr(a, '\0', (size_t)(b - a)))
        return conv_fail(s, c, a, (size_t)(b - a), "holds a NUL byte");
      if (!valid_utf8(a, (size_t)(b - a)))
        return conv_fail(s, c, a, (size_t)(b - a), "is not valid UTF-8");
      if (count++)
        vg_jsonw_raw(&s->out, ",", 1);
      vg_jsonw_str(&s->out, a, (size_t)(b - a));
    }
    if (!sep)
      break;
    p = sep + c->seplen;
  }
  vg_jsonw_raw(&s->out, "]", 1);
  return count ? CONV_OK : CONV_EMPTY;
}

/* Writes one non-empty cell's value. Returns CONV_OK, CONV_EMPTY (nothing
 * worth writing: the field is absent), CONV_FAIL with s->reason set, or
 * VG_ENOMEM. */
static int convert(struct csv_source *s, const struct colspec *c, const char *p,
                   size_t n) {
  if (decode(s, &p, &n) != VG_OK)
    return VG_ENOMEM;
  switch (c->type) {
  case CT_STRING:
  case CT_TEXT:
  case CT_PHONE:
    if (memchr(p, '\0', n))
      return conv_fail(s, c, p, n, "holds a NUL byte");
    if (!valid_utf8(p, n))
      return conv_fail(s, c, p, n, "is not valid UTF-8");
    vg_jsonw_str(&s->out, p, n);
    return CONV_OK;
  case CT_INT:
    return convert_int(s, c, p, n);
  case CT_NUMBER:
    return convert_number(s, c, p, n);
  case CT_BOOL:
    return convert_bool(s, c, p, n);
  case CT_DATE:
  case CT_DATETIME:
    return convert_when(s, c, p, n);
  case CT_LIST:
    return convert_list(s, c, p, n);
  }
  return CONV_FAIL;
}

static int write_id(struct csv_source *s) {
  const struct vg_csv_mapping *m = s->map;
  size_t plen = strlen(m->id_prefix), slen = strlen(m->id_separator);
  size_t need = plen + 1;
  for (size_t k = 0; k < m->nid; k++)
    need += s->cells[s->id_pos[k]].len + slen;
  if (grow(&s->idbuf, &s->idbuf_cap, need) != VG_OK)
    return VG_ENOMEM;
  char *o = s->idbuf;
  memcpy(o, m->id_prefix, plen);
  o += plen;
  for (size_t k = 0; k < m->nid; k++) {
    size_t n;
    const char *p = cell_text(s, &s->cells[s->id_pos[k]], &n);
    if (n == 0) {
      snprintf(s->reason, sizeof s->reason,
               "column '%s' (id) is empty: every record needs an id",
               m->id_columns[k]);
      return CONV_FAIL;
    }
    if (k) {
      memcpy(o, m->id_separator, slen);
      o += slen;
    }
    memcpy(o, p, n);
    o += n;
  }
  const char *text = s->idbuf;
  size_t len = (size_t)(o - s->idbuf);
  if (decode(s, &text, &len) != VG_OK)
    return VG_ENOMEM;
  if (memchr(text, '\0', len) || !valid_utf8(text, len)) {
    snprintf(s->reason, sizeof s->reason,
             "the id is not valid UTF-8 text (or holds a NUL byte)");
    return CONV_FAIL;
  }
  vg_jsonw_str(&s->out, text, len);
  return CONV_OK;
}

/* Writes node's member ("key":value) into the object being written, when
 * it has a value; *any tells whether the object has a member already.
 * An object whose fields are all absent is left out. */
static int write_member(struct csv_source *s, const struct onode *node,
                        bool *any) {
  struct vg_jsonw *w = &s->out;
  size_t mark = w->len;
  const char *cell = NULL;
  size_t n = 0;
  if (node->kind == NODE_COLUMN) {
    long pos = s->col_pos[node->column];
    if (pos < 0)
      return CONV_OK;
    cell = cell_text(s, &s->cells[pos], &n);
    if (n == 0)
      return CONV_OK; /* an empty cell is an absent field */
  }
  if (*any)
    vg_jsonw_raw(w, ",", 1);
  vg_jsonw_raw(w, node->key_json, node->key_json_len);
  int rc = CONV_OK;
  switch (node->kind) {
  case NODE_CONST:
    vg_jsonw_raw(w, node->constant_json, node->constant_json_len);
    break;
  case NODE_ID:
    rc = write_id(s);
    break;
  case NODE_COLUMN:
    rc = convert(s, &s->map->columns[node->column], cell, n);
    break;
  case NODE_OBJECT: {
    bool inner = false;
    vg_jsonw_raw(w, "{", 1);
    for (size_t i = 0; i < node->nchildren && rc == CONV_OK; i++)
      rc = write_member(s, node->children[i], &inner);
    vg_jsonw_raw(w, "}", 1);
    if (rc == CONV_OK && !inner)
      rc = CONV_EMPTY;
    break;
  }
  }
  if (rc == CONV_EMPTY) {
    w->len = mark;
    return CONV_OK;
  }
  if (rc == CONV_OK)
    *any = true;
  return rc;
}

static int emit_record(struct csv_source *s, struct vg_source_item *item,
                       long line, bool *rejected) {
  const struct onode *root = s->map->root;
  struct vg_jsonw *w = &s->out;
  vg_jsonw_reset(w);
  *rejected = false;
  vg_jsonw_raw(w, "{", 1);
  bool any = false;
  int rc = CONV_OK;
  for (size_t i = 0; i < root->nchildren && rc == CONV_OK; i++)
    rc = write_member(s, root->children[i], &any);
  vg_jsonw_raw(w, "}", 1);
  if (rc == CONV_FAIL) {
    *rejected = true;
    return VG_OK;
  }
  if (rc != CONV_OK || w->failed)
    return VG_ENOMEM;
  memset(item, 0, sizeof *item);
  item->type = VG_ITEM_RECORD;
  item->json = w->data;
  item->json_len = w->len;
  item->line = line;
  where_line(item->where, line);
  return VG_OK;
}

static bool row_is_blank(const struct csv_source *s) {
  return s->ncells == 1 && !s->cells[0].copied && s->cells[0].len == 0;
}

/* Skips a row that outgrew the limit: keeps its start for the excerpt,
 * then discards input up to the next line break. */
static int skip_long_line(struct csv_source *s) {
  for (;;) {
    const char *nl = memchr(s->buf + s->start, '\n', s->end - s->start);
    if (nl) {
      s->start = (size_t)(nl - s->buf) + 1;
      return VG_OK;
    }
    s->start = s->end;
    if (s->eof)
      return VG_OK;
    int rc = fill(s);
    if (rc != VG_OK)
      return rc;
  }
}

/* Rejects the lines a quoting fault spoils and moves past them. An open
 * quote spoils the rows up to the end of its own line; text after a closing
 * quote, in a row that a quoted line break made span several lines, spoils
 * only the first line (the quote was probably stray); otherwise the line of
 * the fault. The lines after are read afresh, so one stray quote costs one
 * row. */
static int quote_fault(struct csv_source *s, struct vg_source_item *item,
                       int st, long line) {
  char col[160];
  if (s->header_done && s->problem_cell < s->nheader)
    snprintf(col, sizeof col, "column '%s'", s->header_names[s->problem_cell]);
  else
    snprintf(col, sizeof col, "cell %zu", s->problem_cell + 1);
  size_t stop;
  if (st == ROW_UNTERMINATED) {
    stop = line_end_after(s, s->quote_open);
    long at = line +
              (long)count_newlines(s->buf + s->start, s->quote_open - s->start);
    snprintf(s->reason, sizeof s->reason,
             "%s: the quote opened on line %ld is never closed", col, at);
  } else {
    stop = s->row_lines > 0 ? s->first_line_end : s->problem_line_end;
    snprintf(s->reason, sizeof s->reason,
             "%s: text follows the closing quote (a quote inside a quoted "
             "cell must be doubled)",
             col);
  }
  if (!s->header_done) {
    char why[320];
    memcpy(why, s->reason, sizeof why);
    s->line = line;
    return header_fail(s, item, "the header row: %s", why);
  }
  fill_item_reject(s, item, line, s->start, stop);
  s->line += (long)count_newlines(s->buf + s->start, stop - s->start);
  if (stop == s->end && !s->eof && s->buf[stop - 1] != '\n') {
    /* The spoilt line goes on past the buffer. */
    s->start = stop;
    int rc = skip_long_line(s);
    if (rc != VG_OK)
      return rc;
    s->line++;
  } else {
    s->start = stop;
  }
  return 1;
}

static int csv_next(struct vg_source *base, struct vg_source_item *item) {
  struct csv_source *s = (struct csv_source *)base;
  if (s->fatal) {
    memset(item, 0, sizeof *item);
    item->type = VG_ITEM_REJECT;
    memcpy(item->where, s->fatal_where, sizeof item->where);
    memcpy(item->reason, s->fatal_reason, sizeof item->reason);
    return s->fatal;
  }
  for (;;) {
    if (!s->bom_checked) {
      if (s->end - s->start < 3 && !s->eof) {
        int rc = fill(s);
        if (rc != VG_OK)
          return rc;
        continue;
      }
      if (s->end - s->start >= 3 &&
          memcmp(s->buf + s->start, "\xEF\xBB\xBF", 3) == 0)
        s->start += 3;
      s->bom_checked = true;
    }
    if (s->start == s->end) {
      if (s->eof) {
        if (!s->header_done)
          return header_fail(s, item,
                             "the file is empty: a header row "
                             "naming the columns is needed");
        return 0;
      }
      int rc = fill(s);
      if (rc != VG_OK)
        return rc;
      continue;
    }
    int st = parse_row(s);
    if (st < 0)
      return st;
    long line = s->line;
    if (st == ROW_MORE) {
      if (s->end - s->start <= VG_CSV_MAX_ROW_BYTES) {
        int rc = fill(s);
        if (rc != VG_OK)
          return rc;
        continue;
      }
      if (!s->header_done)
        return header_fail(s, item,
                           "the header row is longer than the limit of %u "
                           "bytes",
                           VG_CSV_MAX_ROW_BYTES);
      if (s->quote_open == NO_QUOTE) {
        snprintf(s->reason, sizeof s->reason,
                 "the row is longer than the limit of %u bytes",
                 VG_CSV_MAX_ROW_BYTES);
        fill_item_reject(s, item, line, s->start, s->end);
        int rc = skip_long_line(s);
        if (rc != VG_OK)
          return rc;
        s->line++;
        return 1;
      }
      /* A quote open for that long is taken as never closed. */
      st = ROW_UNTERMINATED;
    }
    if (st == ROW_UNTERMINATED || st == ROW_BAD_QUOTE)
      return quote_fault(s, item, st, line);
    /* A whole row. */
    if (s->row_end - s->start > VG_CSV_MAX_ROW_BYTES && !s->header_done)
      return header_fail(s, item,
                         "the header row is longer than the limit of %u "
                         "bytes",
                         VG_CSV_MAX_ROW_BYTES);
    if (s->row_end - s->start > VG_CSV_MAX_ROW_BYTES) {
      snprintf(s->reason, sizeof s->reason,
               "the row is longer than the limit of %u bytes",
               VG_CSV_MAX_ROW_BYTES);
      fill_item_reject(s, item, line, s->start, s->row_end);
      s->start = s->row_end;
      s->line += s->row_lines;
      return 1;
    }
    if (row_is_blank(s)) {
      s->start = s->row_end;
      s->line += s->row_lines;
      continue;
    }
    if (!s->header_done) {
      int rc = read_header(s, item);
      s->start = s->row_end;
      s->line += s->row_lines;
      if (rc != VG_OK)
        return rc;
      continue;
    }
    if (s->ncells != s->nheader) {
      snprintf(s->reason, sizeof s->reason,
               "the row has %zu cells, the header has %zu columns", s->ncells,
               s->nheader);
      if (s->first_line_end < s->row_end) {
        /* Probably a stray quote that swallowed line breaks: give up on
         * the first line only. */
        fill_item_reject(s, item, line, s->start, s->first_line_end);
        s->line += (long)count_newlines(s->buf + s->start,
                                        s->first_line_end - s->start);
        s->start = s->first_line_end;
        return 1;
      }
      fill_item_reject(s, item, line, s->start, s->row_end);
      s->start = s->row_end;
      s->line += s->row_lines;
      return 1;
    }
    bool rejected;
    int rc = emit_record(s, item, line, &rejected);
    if (rc != VG_OK)
      return rc;
    if (rejected)
      fill_item_reject(s, item, line, s->start, s->row_end);
    s->start = s->row_end;
    s->line += s->row_lines;
    return 1;
  }
}

static void csv_free(struct vg_source *base) {
  struct csv_source *s = (struct csv_source *)base;
  if (s->header_names)
    for (size_t i = 0; i < s->nheader; i++)
      free(s->header_names[i]);
  free(s->header_names);
  free(s->col_pos);
  free(s->id_pos);
  free(s->buf);
  free(s->cells);
  free(s->cellbuf);
  vg_jsonw_close(&s->out);
  free(s->scratch);
  free(s->idbuf);
  free(s->raw);
  free(s);
}

static const struct vg_source_ops csv_ops = {csv_next, csv_free};

struct vg_source *vg_source_csv_new(FILE *in, const char *name,
                                    const struct vg_csv_mapping *mapping) {
  struct csv_source *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->base.ops = &csv_ops;
  s->base.name = name;
  s->in = in;
  s->map = mapping;
  s->line = 1;
  s->cap = 256 * 1024;
  s->buf = malloc(s->cap);
  if (!s->buf) {
    free(s);
    return NULL;
  }
  return &s->base;
}
