/* ydoc.c - YAML text to a positioned node tree through libyaml's event
 * parser. Nodes and strings live in one arena freed with the document. */
#include "ydoc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "arena.h"
#include "vg_error.h"

struct anchor {
  char *name;
  struct vg_ynode *node;
  size_t size; /* nodes it stands for, aliases expanded */
};

struct builder {
  struct vg_arena *arena;
  yaml_parser_t parser;
  struct anchor *anchors;
  size_t nanchors, anchors_cap;
  const char *file;
  struct vg_diags *diags;
  int depth;
  size_t len; /* of the input, to tell an error at its end */
};

/* Deep documents are refused rather than recursed into without bound. */
#define MAX_DEPTH 64
/* Aliases share nodes, so a small file can stand for a huge tree (nested
 * aliases multiply); whoever walks it would walk every copy. */
#define MAX_EXPANDED_NODES (1u << 20)

static int syntax_error(struct builder *b) {
  const yaml_parser_t *p = &b->parser;
  const yaml_mark_t *mark = p->problem_mark.line || p->problem_mark.column
                                ? &p->problem_mark
                                : &p->context_mark;
  /* A problem found at the end of the input (an unclosed quote or
   * bracket) has no source line there: point at what was left open. */
  if (p->context && p->problem_mark.index >= b->len)
    mark = &p->context_mark;
  if (p->context)
    vg_diags_add(b->diags, VG_SEV_ERROR, b->file, (int)mark->line + 1,
                 (int)mark->column + 1, "yaml-syntax", "%s %s",
                 p->problem ? p->problem : "syntax error", p->context);
  else
    vg_diags_add(b->diags, VG_SEV_ERROR, b->file, (int)mark->line + 1,
                 (int)mark->column + 1, "yaml-syntax", "%s",
                 p->problem ? p->problem : "syntax error");
  return VG_EINVAL;
}

static int remember_anchor(struct builder *b, const yaml_char_t *name,
                           struct vg_ynode *node, size_t size) {
  if (!name)
    return VG_OK;
  if (b->nanchors == b->anchors_cap) {
    size_t cap = b->anchors_cap ? b->anchors_cap * 2 : 8;
    struct anchor *a = realloc(b->anchors, cap * sizeof *a);
    if (!a)
      return VG_ENOMEM;
    b->anchors = a;
    b->anchors_cap = cap;
  }
  char *copy = vg_arena_strdup(b->arena, (const char *)name);
  if (!copy)
    return VG_ENOMEM;
  b->anchors[b->nanchors].name = copy;
  b->anchors[b->nanchors].node = node;
  b->anchors[b->nanchors].size = size;
  b->nanchors++;
  return VG_OK;
}

static struct vg_ynode *new_node(struct builder *b, enum vg_ynode_type type,
                                 const yaml_mark_t *mark) {
  struct vg_ynode *n = vg_arena_calloc(b->arena, 1, sizeof *n);
  if (n) {
    n->type = type;
    n->line = (int)mark->line + 1;
    n->col = (int)mark->column + 1;
  }
  return n;
}

static int parse_node(struct builder *b, yaml_event_t *event,
                      struct vg_ynode **out, size_t *size);

static int compare_keys(const void *a, const void *b) {
  const struct vg_ynode *ka = *(const struct vg_ynode *const *)a;
  const struct vg_ynode *kb = *(const struct vg_ynode *const *)b;
  int c = strcmp(ka->str, kb->str);
  if (c)
    return c;
  return ka->line != kb->line ? (ka->line < kb->line ? -1 : 1)
                              : (ka->col > kb->col) - (ka->col < kb->col);
}

/* YAML keys are unique within a mapping; a repeated one would silently
 * override the first (a rule with two conditions, say), so it is an error
 * at the second. */
static int unique_keys(struct builder *b, const struct vg_ynode *map) {
  if (map->npairs < 2)
    return VG_OK;
  const struct vg_ynode **keys = malloc(map->npairs * sizeof *keys);
  if (!keys)
    return VG_ENOMEM;
  size_t n = 0;
  for (size_t i = 0; i < map->npairs; i++)
    if (map->pairs[i].key->type == VG_YSCALAR)
      keys[n++] = map->pairs[i].key;
  qsort(keys, n, sizeof *keys, compare_keys);
  int rc = VG_OK;
  for (size_t i = 1; i < n; i++)
    if (!strcmp(keys[i - 1]->str, keys[i]->str)) {
      vg_diags_add(b->diags, VG_SEV_ERROR, b->file, keys[i]->line, keys[i]->col,
                   "yaml-syntax", "duplicate key '%s' (first at line %d)",
                   keys[i]->str, keys[i - 1]->line);
      rc = VG_EINVAL;
      break;
    }
  free(keys);
  return rc;
}

/* Collects children until the closing event into a growable array, then
 * copies it into the arena. *size counts the nodes they stand for. */
static int parse_children(struct builder *b, yaml_event_type_t end,
                          struct vg_ynode ***items, size_t *count,
                          size_t *size) {
  struct vg_ynode **tmp = NULL;
  size_t n = 0, cap = 0;
  int rc = VG_OK;
  for (;;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&b->parser, &ev)) {
      rc = syntax_error(b);
      goto done;
    }
    if (ev.type == end) {
      yaml_event_delete(&ev);
      break;
    }
    struct vg_ynode *child = NULL;
    size_t child_size = 0;
    rc = parse_node(b, &ev, &child, &child_size);
    if (rc == VG_OK && (*size += child_size) > MAX_EXPANDED_NODES) {
      vg_diags_add(b->diags, VG_SEV_ERROR, b->file, (int)ev.start_mark.line + 1,
                   (int)ev.start_mark.column + 1, "yaml-syntax",
                   "aliases expand the document beyond %u nodes",
                   MAX_EXPANDED_NODES);
      rc = VG_EINVAL;
    }
    yaml_event_delete(&ev);
    if (rc != VG_OK)
      goto done;
    if (n == cap) {
      cap = cap ? cap * 2 : 8;
      struct vg_ynode **grown = realloc(tmp, cap * sizeof *grown);
      if (!grown) {
        rc = VG_ENOMEM;
        goto done;
      }
      tmp = grown;
    }
    tmp[n++] = child;
  }
  *count = n;
  *items = NULL;
  if (n) {
    *items = vg_arena_alloc(b->arena, n * sizeof **items);
    if (!*items) {
      rc = VG_ENOMEM;
      goto done;
    }
    memcpy(*items, tmp, n * sizeof *tmp);
  }
done:
  free(tmp);
  return rc;
}

static int parse_node(struct builder *b, yaml_event_t *event,
                      struct vg_ynode **out, size_t *size) {
  struct vg_ynode *n = NULL;
  int rc = VG_OK;
  *size = 1;
  switch (event->type) {
  case YAML_ALIAS_EVENT:
    /* A collection's anchor is known once the collection is complete, so
     * an alias inside it is unknown here: trees never hold cycles. */
    for (size_t i = b->nanchors; i-- > 0;)
      if (strcmp(b->anchors[i].name, (const char *)event->data.alias.anchor) ==
          0) {
        *out = b->anchors[i].node;
        *size = b->anchors[i].size;
        return VG_OK;
      }
    vg_diags_add(b->diags, VG_SEV_ERROR, b->file,
                 (int)event->start_mark.line + 1,
                 (int)event->start_mark.column + 1, "yaml-syntax",
                 "unknown alias '%s'", event->data.alias.anchor);
    return VG_EINVAL;
  case YAML_SCALAR_EVENT:
    n = new_node(b, VG_YSCALAR, &event->start_mark);
    if (!n)
      return VG_ENOMEM;
    n->str = vg_arena_strndup(b->arena, (const char *)event->data.scalar.value,
                              event->data.scalar.length);
    if (!n->str)
      return VG_ENOMEM;
    n->len = event->data.scalar.length;
    n->quoted = event->data.scalar.style != YAML_PLAIN_SCALAR_STYLE &&
                event->data.scalar.style != YAML_ANY_SCALAR_STYLE;
    rc = remember_anchor(b, event->data.scalar.anchor, n, 1);
    break;
  case YAML_SEQUENCE_START_EVENT:
  case YAML_MAPPING_START_EVENT: {
    bool is_seq = event->type == YAML_SEQUENCE_START_EVENT;
    if (++b->depth > MAX_DEPTH) {
      vg_diags_add(b->diags, VG_SEV_ERROR, b->file,
                   (int)event->start_mark.line + 1,
                   (int)event->start_mark.column + 1, "yaml-syntax",
                   "nesting deeper than %d levels", MAX_DEPTH);
      return VG_EINVAL;
    }
    n = new_node(b, is_seq ? VG_YSEQ : VG_YMAP, &event->start_mark);
    if (!n)
      return VG_ENOMEM;
    struct vg_ynode **items = NULL;
    size_t count = 0;
    rc = parse_children(
        b, is_seq ? YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT, &items,
        &count, size);
    b->depth--;
    if (rc != VG_OK)
      return rc;
    rc = remember_anchor(b,
                         is_seq ? event->data.sequence_start.anchor
                                : event->data.mapping_start.anchor,
                         n, *size);
    if (rc != VG_OK)
      return rc;
    if (is_seq) {
      n->items = items;
      n->nitems = count;
    } else {
      n->npairs = count / 2;
      n->pairs = vg_arena_alloc(b->arena,
                                (n->npairs ? n->npairs : 1) * sizeof *n->pairs);
      if (!n->pairs)
        return VG_ENOMEM;
      for (size_t i = 0; i < n->npairs; i++) {
        n->pairs[i].key = items[2 * i];
        n->pairs[i].value = items[2 * i + 1];
      }
      rc = unique_keys(b, n);
    }
    break;
  }
  default:
    vg_diags_add(b->diags, VG_SEV_ERROR, b->file,
                 (int)event->start_mark.line + 1,
                 (int)event->start_mark.column + 1, "yaml-syntax",
                 "unexpected YAML event");
    return VG_EINVAL;
  }
  *out = n;
  return rc;
}

static int build(struct vg_ydoc *doc, struct builder *b) {
  struct vg_ynode *root = NULL;
  int rc = VG_OK;
  bool in_document = false, seen_document = false;
  for (;;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&b->parser, &ev))
      return syntax_error(b);
    yaml_event_type_t type = ev.type;
    if (type == YAML_STREAM_END_EVENT) {
      yaml_event_delete(&ev);
      break;
    }
    if (type == YAML_DOCUMENT_START_EVENT) {
      if (seen_document) {
        vg_diags_add(b->diags, VG_SEV_ERROR, b->file,
                     (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
                     "yaml-syntax", "a file holds one YAML document only");
        yaml_event_delete(&ev);
        return VG_EINVAL;
      }
      in_document = seen_document = true;
    } else if (type == YAML_DOCUMENT_END_EVENT) {
      in_document = false;
    } else if (in_document && type != YAML_STREAM_START_EVENT) {
      size_t size;
      rc = parse_node(b, &ev, &root, &size);
    }
    yaml_event_delete(&ev);
    if (rc != VG_OK)
      return rc;
  }
  doc->root = root;
  return VG_OK;
}

int vg_ydoc_load_string(struct vg_ydoc *doc, const char *name, const char *text,
                        size_t len, struct vg_diags *diags) {
  memset(doc, 0, sizeof *doc);
  struct vg_arena *arena = malloc(sizeof *arena);
  char *file = strdup(name ? name : "-");
  char *copy = malloc(len + 1);
  if (!arena || !file || !copy) {
    free(arena);
    free(file);
    free(copy);
    return VG_ENOMEM;
  }
  memcpy(copy, text, len);
  copy[len] = '\0';
  vg_arena_init(arena, 32 * 1024);

  struct builder b = {.arena = arena, .file = file, .diags = diags, .len = len};
  int rc = VG_OK;
  if (!yaml_parser_initialize(&b.parser)) {
    rc = VG_ENOMEM;
    goto fail;
  }
  yaml_parser_set_input_string(&b.parser, (const unsigned char *)copy, len);
  rc = build(doc, &b);
  yaml_parser_delete(&b.parser);
  free(b.anchors);
  if (rc != VG_OK)
    goto fail;
  doc->file = file;
  doc->arena = arena;
  doc->text = copy;
  doc->text_len = len;
  return VG_OK;
fail:
  vg_arena_close(arena);
  free(arena);
  free(file);
  free(copy);
  memset(doc, 0, sizeof *doc);
  return rc;
}

int vg_ydoc_load_file(struct vg_ydoc *doc, const char *path,
                      struct vg_diags *diags) {
  memset(doc, 0, sizeof *doc);
  FILE *f = fopen(path, "rb");
  if (!f) {
    vg_diags_add(diags, VG_SEV_ERROR, path, 0, 0, "io", "cannot read: %s",
                 strerror(errno));
    return VG_EIO;
  }
  size_t cap = 8192, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (len < cap)
      break;
    char *bigger = realloc(buf, cap * 2);
    if (!bigger) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = bigger;
    cap *= 2;
  }
  bool failed = ferror(f);
  fclose(f);
  if (!buf)
    return VG_ENOMEM;
  if (failed) {
    free(buf);
    vg_diags_add(diags, VG_SEV_ERROR, path, 0, 0, "io", "cannot read");
    return VG_EIO;
  }
  int rc = vg_ydoc_load_string(doc, path, buf, len, diags);
  free(buf);
  return rc;
}

void vg_ydoc_close(struct vg_ydoc *doc) {
  if (doc->arena) {
    vg_arena_close(doc->arena);
    free(doc->arena);
  }
  free(doc->file);
  free(doc->text);
  memset(doc, 0, sizeof *doc);
}

const struct vg_ypair *vg_ynode_get_pair(const struct vg_ynode *map,
                                         const char *key) {
  if (!map || map->type != VG_YMAP)
    return NULL;
  for (size_t i = map->npairs; i-- > 0;) {
    const struct vg_ynode *k = map->pairs[i].key;
    if (k->type == VG_YSCALAR && strcmp(k->str, key) == 0)
      return &map->pairs[i];
  }
  return NULL;
}

const struct vg_ynode *vg_ynode_get(const struct vg_ynode *map,
                                    const char *key) {
  const struct vg_ypair *pair = vg_ynode_get_pair(map, key);
  return pair ? pair->value : NULL;
}

bool vg_yscalar_is_null(const struct vg_ynode *node) {
  if (!node)
    return true;
  if (node->type != VG_YSCALAR || node->quoted)
    return false;
  return node->len == 0 || strcmp(node->str, "~") == 0 ||
         strcmp(node->str, "null") == 0 || strcmp(node->str, "Null") == 0 ||
         strcmp(node->str, "NULL") == 0;
}

bool vg_yscalar_bool(const struct vg_ynode *node, bool *value) {
  if (!node || node->type != VG_YSCALAR || node->quoted)
    return false;
  const char *s = node->str;
  if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
    *value = true;
    return true;
  }
  if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
    *value = false;
    return true;
  }
  return false;
}

bool vg_yscalar_int(const struct vg_ynode *node, int64_t *value) {
  if (!node || node->type != VG_YSCALAR || node->quoted || node->len == 0)
    return false;
  const char *s = node->str;
  const char *digits = (*s == '-' || *s == '+') ? s + 1 : s;
  if (*digits < '0' || *digits > '9')
    return false;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end)
    return false;
  *value = v;
  return true;
}

bool vg_yscalar_number(const struct vg_ynode *node, double *value) {
  if (!node || node->type != VG_YSCALAR || node->quoted || node->len == 0)
    return false;
  const char *s = node->str;
  const char *p = (*s == '-' || *s == '+') ? s + 1 : s;
  /* Only decimal notation: strtod would also take "inf", "nan", hex. */
  if (!((*p >= '0' && *p <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9')))
    return false;
  for (const char *q = p; *q; q++)
    if (!strchr("0123456789.eE+-_", *q))
      return false;
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || *end || !isfinite(v))
    return false;
  *value = v;
  return true;
}

bool vg_yscalar_is_string(const struct vg_ynode *node) {
  if (!node || node->type != VG_YSCALAR)
    return false;
  if (node->quoted)
    return true;
  bool b;
  double d;
  return !vg_yscalar_is_null(node) && !vg_yscalar_bool(node, &b) &&
         !vg_yscalar_number(node, &d);
}

const char *vg_ydoc_source_line(const struct vg_ydoc *doc, int line,
                                size_t *len) {
  if (!doc->text || line < 1)
    return NULL;
  const char *p = doc->text, *end = doc->text + doc->text_len;
  for (int l = 1; l < line; l++) {
    p = memchr(p, '\n', (size_t)(end - p));
    if (!p)
      return NULL;
    p++;
  }
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
  if (n && p[n - 1] == '\r')
    n--;
  *len = n;
  return p;
}
