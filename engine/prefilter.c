/* prefilter.c - gathers the required literals of every regex test on a
 * field into one matcher per (kind, field, mode), so that screening reads
 * a text once to learn which patterns could match it at all. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static struct prefilter *group_for(struct vg_ruleset *rs, size_t kind,
                                   int field, enum prefilter_mode mode) {
  for (size_t i = 0; i < rs->nprefilters; i++) {
    struct prefilter *p = &rs->prefilters[i];
    if (p->kind == kind && p->field == field && p->mode == mode)
      return p;
  }
  struct prefilter *grown =
      realloc(rs->prefilters, (rs->nprefilters + 1) * sizeof *rs->prefilters);
  if (!grown)
    return NULL;
  rs->prefilters = grown;
  struct prefilter *p = &rs->prefilters[rs->nprefilters++];
  memset(p, 0, sizeof *p);
  p->kind = kind;
  p->field = field;
  p->mode = mode;
  return p;
}

/* The id of a literal (with its boundary marks) in a group, adding it
 * when new; -1 when out of memory. */
static long literal_id(struct prefilter *p, const char *lit, size_t len,
                       uint8_t bounds) {
  for (size_t i = 0; i < p->nlits; i++)
    if (p->lens[i] == len && p->bounds[i] == bounds &&
        !memcmp(p->lits[i], lit, len))
      return (long)i;
  if (p->nlits == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 32;
    const char **lits = realloc(p->lits, cap * sizeof *lits);
    if (!lits)
      return -1;
    p->lits = lits;
    size_t *lens = realloc(p->lens, cap * sizeof *lens);
    if (!lens)
      return -1;
    p->lens = lens;
    uint8_t *b = realloc(p->bounds, cap * sizeof *b);
    if (!b)
      return -1;
    p->bounds = b;
    p->cap = cap;
  }
  p->lits[p->nlits] = lit;
  p->lens[p->nlits] = len;
  p->bounds[p->nlits] = bounds;
  return (long)p->nlits++;
}

static int add_selection(struct vg_ruleset *rs, size_t kind,
                         struct selection *sel) {
  const struct vg__kind *k = &rs->kinds[kind];
  for (size_t t = 0; t < sel->ntests; t++) {
    struct test *test = &sel->tests[t];
    if (test->op != OP_RE || k->fields[test->field].type == VG_TYPE_LIST)
      continue;
    for (size_t v = 0; v < test->nvalues; v++) {
      struct konst *c = &test->values[v];
      if (!c->lits.nsets)
        continue;
      enum prefilter_mode mode = test->fold_re         ? PREFILTER_FOLDED
                                 : c->literal_caseless ? PREFILTER_LOWER
                                                       : PREFILTER_RAW;
      struct prefilter *p = group_for(rs, kind, test->field, mode);
      if (!p)
        return VG_ENOMEM;
      if (mode == PREFILTER_LOWER && p->nlits == 0 &&
          (literal_id(p, "\xE2\x84\xAA", 3, 0) < 0 ||
           literal_id(p, "\xC5\xBF", 2, 0) < 0))
        return VG_ENOMEM;
      c->literal_ids =
          vg_arena_alloc(&rs->arena, c->lits.count * sizeof *c->literal_ids);
      if (!c->literal_ids)
        return VG_ENOMEM;
      for (size_t i = 0; i < c->lits.count; i++) {
        long id = literal_id(p, c->lits.literals[i], c->lits.lens[i],
                             c->lits.bounds[i]);
        if (id < 0)
          return VG_ENOMEM;
        c->literal_ids[i] = (uint32_t)id;
      }
      c->prefilter = (int)(p - rs->prefilters);
    }
  }
  return VG_OK;
}

int vg__prefilters_build(struct vg_ruleset *rs) {
  for (size_t r = 0; r < rs->nrules; r++)
    for (size_t s = 0; s < rs->rules[r].nsels; s++) {
      int rc = add_selection(rs, rs->rules[r].kind, &rs->rules[r].sels[s]);
      if (rc != VG_OK)
        return rc;
    }
  for (size_t m = 0; m < rs->nmacros; m++) {
    int rc = add_selection(rs, rs->macros[m].kind, &rs->macros[m].sel);
    if (rc != VG_OK)
      return rc;
  }
  size_t offset = 0;
  for (size_t i = 0; i < rs->nprefilters; i++) {
    struct prefilter *p = &rs->prefilters[i];
    p->acm = vg_acm_new(p->lits, p->lens, p->bounds, p->nlits,
                        p->mode == PREFILTER_LOWER);
    if (!p->acm)
      return VG_ENOMEM;
    p->words = vg_acm_words(p->acm);
    p->offset = offset;
    offset += p->words;
  }
  rs->prefilter_words = offset;
  return VG_OK;
}

void vg__prefilters_free(struct vg_ruleset *rs) {
  for (size_t i = 0; i < rs->nprefilters; i++) {
    vg_acm_free(rs->prefilters[i].acm);
    free(rs->prefilters[i].lits);
    free(rs->prefilters[i].lens);
    free(rs->prefilters[i].bounds);
  }
  free(rs->prefilters);
  rs->prefilters = NULL;
  rs->nprefilters = 0;
}
