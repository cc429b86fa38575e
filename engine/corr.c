/* corr.c - correlation state in memory: a hash map from (rule, key) to the
 * entries seen under it, and an overlay that reads a base state but writes
 * only to its own memory layer (for --dry-run). */
#include <stdlib.h>
#include <string.h>

#include "vigia.h"

struct mem_entry {
  char *kind, *source, *id, *value;
  size_t source_len, id_len, value_len;
  int64_t time;
};

struct bucket {
  char *name; /* rule, '\0', key */
  size_t name_len;
  uint64_t hash;
  struct mem_entry *entries;
  size_t n, cap;
};

struct mem_state {
  struct vg_corr_state base;
  struct bucket *table;
  size_t cap, used;
};

static uint64_t hash_bytes(const char *s, size_t n, uint64_t h) {
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= UINT64_C(0x100000001b3);
  }
  return h;
}

static uint64_t name_hash(const char *rule, const char *key, size_t key_len) {
  uint64_t h = hash_bytes(rule, strlen(rule) + 1, UINT64_C(0xcbf29ce484222325));
  return hash_bytes(key, key_len, h);
}

static bool name_equal(const struct bucket *b, const char *rule,
                       const char *key, size_t key_len) {
  size_t rl = strlen(rule);
  return b->name_len == rl + 1 + key_len && !memcmp(b->name, rule, rl + 1) &&
         !memcmp(b->name + rl + 1, key, key_len);
}

static struct bucket *find(struct mem_state *m, const char *rule,
                           const char *key, size_t key_len, uint64_t h) {
  if (!m->cap)
    return NULL;
  for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    struct bucket *b = &m->table[i];
    if (!b->name)
      return NULL;
    if (b->hash == h && name_equal(b, rule, key, key_len))
      return b;
  }
}

static int grow(struct mem_state *m) {
  size_t cap = m->cap ? m->cap * 2 : 64;
  struct bucket *t = calloc(cap, sizeof *t);
  if (!t)
    return VG_ENOMEM;
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->table[i].name)
      continue;
    size_t j = m->table[i].hash & (cap - 1);
    while (t[j].name)
      j = (j + 1) & (cap - 1);
    t[j] = m->table[i];
  }
  free(m->table);
  m->table = t;
  m->cap = cap;
  return VG_OK;
}

/* An entry's strings share one allocation, owned through kind. */
static void entry_free(struct mem_entry *e) {
  free(e->kind);
}

static int entry_init(struct mem_entry *e, const struct vg_corr_entry *in) {
  size_t kind_len = strlen(in->kind);
  size_t value_len = in->value ? in->value_len : 0;
  char *block = malloc(kind_len + in->source_len + in->id_len + value_len + 4);
  if (!block)
    return VG_ENOMEM;
  char *p = block;
  e->kind = p;
  memcpy(p, in->kind, kind_len + 1);
  p += kind_len + 1;
  e->source = p;
  memcpy(p, in->source, in->source_len);
  p[in->source_len] = '\0';
  p += in->source_len + 1;
  e->id = p;
  memcpy(p, in->id, in->id_len);
  p[in->id_len] = '\0';
  p += in->id_len + 1;
  e->value = p;
  if (value_len)
    memcpy(p, in->value, value_len);
  p[value_len] = '\0';
  e->source_len = in->source_len;
  e->id_len = in->id_len;
  e->value_len = value_len;
  e->time = in->time;
  return VG_OK;
}

static int mem_put(struct vg_corr_state *self, const char *rule,
                   const char *key, size_t key_len,
                   const struct vg_corr_entry *entry) {
  struct mem_state *m = (struct mem_state *)self;
  uint64_t h = name_hash(rule, key, key_len);
  struct bucket *b = find(m, rule, key, key_len, h);
  if (!b) {
    if ((m->used + 1) * 2 > m->cap && grow(m) != VG_OK)
      return VG_ENOMEM;
    size_t i = h & (m->cap - 1);
    while (m->table[i].name)
      i = (i + 1) & (m->cap - 1);
    b = &m->table[i];
    size_t rl = strlen(rule);
    b->name = malloc(rl + 1 + key_len);
    if (!b->name)
      return VG_ENOMEM;
    memcpy(b->name, rule, rl + 1);
    memcpy(b->name + rl + 1, key, key_len);
    b->name_len = rl + 1 + key_len;
    b->hash = h;
    m->used++;
  }
  struct mem_entry fresh;
  if (entry_init(&fresh, entry) != VG_OK)
    return VG_ENOMEM;
  /* One entry per record identity: a new version replaces the old. */
  for (size_t i = 0; i < b->n; i++) {
    struct mem_entry *e = &b->entries[i];
    if (e->source_len == entry->source_len && e->id_len == entry->id_len &&
        !memcmp(e->source, entry->source, e->source_len) &&
        !memcmp(e->id, entry->id, e->id_len)) {
      entry_free(e);
      *e = fresh;
      return VG_OK;
    }
  }
  if (b->n == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4;
    struct mem_entry *grown = realloc(b->entries, cap * sizeof *grown);
    if (!grown) {
      entry_free(&fresh);
      return VG_ENOMEM;
    }
    b->entries = grown;
    b->cap = cap;
  }
  b->entries[b->n++] = fresh;
  return VG_OK;
}

static int mem_scan(struct vg_corr_state *self, const char *rule,
                    const char *key, size_t key_len, int64_t from, int64_t to,
                    vg_corr_visit visit, void *arg) {
  struct mem_state *m = (struct mem_state *)self;
  struct bucket *b = find(m, rule, key, key_len, name_hash(rule, key, key_len));
  for (size_t i = 0; b && i < b->n; i++) {
    const struct mem_entry *e = &b->entries[i];
    if (e->time < from || e->time > to)
      continue;
    struct vg_corr_entry out = {.kind = e->kind,
                                .source = e->source,
                                .source_len = e->source_len,
                                .id = e->id,
                                .id_len = e->id_len,
                                .time = e->time,
                                .value = e->value,
                                .value_len = e->value_len};
    int rc = visit(&out, arg);
    if (rc)
      return rc;
  }
  return VG_OK;
}

static int mem_evict(struct vg_corr_state *self, int64_t before) {
  struct mem_state *m = (struct mem_state *)self;
  for (size_t i = 0; i < m->cap; i++) {
    struct bucket *b = &m->table[i];
    size_t kept = 0;
    for (size_t j = 0; b->name && j < b->n; j++) {
      if (b->entries[j].time < before)
        entry_free(&b->entries[j]);
      else
        b->entries[kept++] = b->entries[j];
    }
    if (b->name)
      b->n = kept;
  }
  return VG_OK;
}

static void mem_free(struct vg_corr_state *self) {
  struct mem_state *m = (struct mem_state *)self;
  for (size_t i = 0; i < m->cap; i++) {
    for (size_t j = 0; j < m->table[i].n; j++)
      entry_free(&m->table[i].entries[j]);
    free(m->table[i].entries);
    free(m->table[i].name);
  }
  free(m->table);
  free(m);
}

struct vg_corr_state *vg_corr_mem_new(void) {
  struct mem_state *m = calloc(1, sizeof *m);
  if (!m)
    return NULL;
  m->base.put = mem_put;
  m->base.scan = mem_scan;
  m->base.evict = mem_evict;
  m->base.free = mem_free;
  return &m->base;
}

/* ------------------------------------------------------------ overlay */

struct overlay {
  struct vg_corr_state base;
  struct vg_corr_state *under; /* borrowed, read only */
  struct vg_corr_state *layer; /* owned */
};

static int overlay_put(struct vg_corr_state *self, const char *rule,
                       const char *key, size_t key_len,
                       const struct vg_corr_entry *entry) {
  struct overlay *o = (struct overlay *)self;
  return o->layer->put(o->layer, rule, key, key_len, entry);
}

/* Entries of the layer replace those of the same identity underneath. */
struct shadow {
  struct overlay *o;
  const char *rule, *key;
  size_t key_len;
  int64_t from, to;
  vg_corr_visit visit;
  void *arg;
};

static int find_identity(const struct vg_corr_entry *e, void *arg) {
  const struct vg_corr_entry *wanted = arg;
  return e->source_len == wanted->source_len && e->id_len == wanted->id_len &&
         !memcmp(e->source, wanted->source, e->source_len) &&
         !memcmp(e->id, wanted->id, e->id_len);
}

static int visit_unshadowed(const struct vg_corr_entry *e, void *arg) {
  struct shadow *s = arg;
  /* Any time: a newer version in the layer may lie outside the window. */
  int hidden =
      s->o->layer->scan(s->o->layer, s->rule, s->key, s->key_len, INT64_MIN,
                        INT64_MAX, find_identity, (void *)e);
  if (hidden < 0)
    return hidden;
  return hidden ? 0 : s->visit(e, s->arg);
}

static int overlay_scan(struct vg_corr_state *self, const char *rule,
                        const char *key, size_t key_len, int64_t from,
                        int64_t to, vg_corr_visit visit, void *arg) {
  struct overlay *o = (struct overlay *)self;
  if (o->under) {
    struct shadow s = {o, rule, key, key_len, from, to, visit, arg};
    int rc = o->under->scan(o->under, rule, key, key_len, from, to,
                            visit_unshadowed, &s);
    if (rc)
      return rc;
  }
  return o->layer->scan(o->layer, rule, key, key_len, from, to, visit, arg);
}

static int overlay_evict(struct vg_corr_state *self, int64_t before) {
  struct overlay *o = (struct overlay *)self;
  return o->layer->evict(o->layer, before);
}

static void overlay_free(struct vg_corr_state *self) {
  struct overlay *o = (struct overlay *)self;
  vg_corr_state_free(o->layer);
  free(o);
}

struct vg_corr_state *vg_corr_overlay_new(struct vg_corr_state *base) {
  struct overlay *o = calloc(1, sizeof *o);
  if (!o)
    return NULL;
  o->layer = vg_corr_mem_new();
  if (!o->layer) {
    free(o);
    return NULL;
  }
  o->under = base;
  o->base.put = overlay_put;
  o->base.scan = overlay_scan;
  o->base.evict = overlay_evict;
  o->base.free = overlay_free;
  return &o->base;
}
