/* eval.c - screening one record: the scanner locates the declared fields,
 * each is typed into a slot (a wrong type rejects the record), derived
 * fields are computed, then every enabled rule of the record's kind runs
 * with selections memoised per record. Memory comes from a per-record
 * arena that is reset, not freed, so a steady stream allocates nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "internal.h"
#include "vtime.h"

struct val {
  bool present;
  uint8_t type;
  bool folded_ready, lower_ready, lower_unsafe;
  const char *s; /* string contents (unescaped) or the value's JSON text */
  uint32_t len;
  double num;
  int64_t time;
  bool boolean;
  const char *folded; /* vg_fold(s), or the phone key for phone fields */
  uint32_t folded_len;
  const char *lower; /* ASCII-lower-cased s, for caseless prefilters */
  struct val *elems; /* list elements */
  uint32_t nelems;
};

struct vg_eval {
  const struct vg_ruleset *rs;
  struct vg_arena arena;
  struct vg_json_token *tokens;
  struct val *vals;
  int8_t *sel_memo;    /* per rule: -1 unknown, 0 false, 1 true */
  int8_t *macro_memo;  /* per record */
  uint8_t *macro_done; /* per explained hit: macro evidence given */
  pcre2_match_data *md;
  const struct vg__kind *kind;
  size_t kind_index;
  const char *json;
  bool incomplete;       /* a regex limit cut the current rule short */
  uint64_t *found;       /* prefilter bitmaps, all matchers end to end */
  uint32_t *scanned_gen; /* per matcher: the record it last scanned */
  uint32_t gen;          /* the current record */
  struct vg_corr_state *state;
  struct vg_hit *hits;
  const char **incomplete_ids;
  char number_buf[64];
};

/* Explanation of one test that held, for evidence. */
struct explain {
  const struct val *value; /* the value (or list element) that held */
  int64_t span_start, span_end;
  const char *entry;
  double similarity;
};

vg_eval *vg_eval_new(const vg_ruleset *rs) {
  struct vg_eval *ev = calloc(1, sizeof *ev);
  if (!ev)
    return NULL;
  ev->rs = rs;
  vg_arena_init(&ev->arena, 256 * 1024);
  ev->tokens = calloc(rs->ntrie ? rs->ntrie : 1, sizeof *ev->tokens);
  ev->vals = calloc(rs->max_fields ? rs->max_fields : 1, sizeof *ev->vals);
  ev->sel_memo = calloc(rs->max_sels ? rs->max_sels : 1, 1);
  ev->macro_memo = calloc(rs->nmacros ? rs->nmacros : 1, 1);
  ev->macro_done = calloc(rs->nmacros ? rs->nmacros : 1, 1);
  ev->hits = calloc(rs->nrules ? rs->nrules : 1, sizeof *ev->hits);
  ev->incomplete_ids =
      calloc(rs->nrules ? rs->nrules : 1, sizeof *ev->incomplete_ids);
  ev->md = pcre2_match_data_create(1, NULL);
  ev->found =
      calloc(rs->prefilter_words ? rs->prefilter_words : 1, sizeof *ev->found);
  ev->scanned_gen =
      calloc(rs->nprefilters ? rs->nprefilters : 1, sizeof *ev->scanned_gen);
  if (!ev->found || !ev->scanned_gen || !ev->macro_done || !ev->tokens ||
      !ev->vals || !ev->sel_memo || !ev->macro_memo || !ev->hits ||
      !ev->incomplete_ids || !ev->md) {
    vg_eval_free(ev);
    return NULL;
  }
  return ev;
}

void vg_eval_free(vg_eval *ev) {
  if (!ev)
    return;
  vg_arena_close(&ev->arena);
  free(ev->tokens);
  free(ev->vals);
  free(ev->sel_memo);
  free(ev->macro_memo);
  free(ev->macro_done);
  free(ev->hits);
  free(ev->incomplete_ids);
  pcre2_match_data_free(ev->md);
  free(ev->found);
  free(ev->scanned_gen);
  free(ev);
}

/* --------------------------------------------------------- folding */

static const char *fold_into_arena(struct vg_eval *ev, const char *s,
                                   size_t len, uint32_t *out_len) {
  char stack[512];
  size_t n = vg_fold(s, len, stack, sizeof stack);
  char *p = vg_arena_alloc(&ev->arena, n + 1);
  if (!p)
    return NULL;
  if (n <= sizeof stack)
    memcpy(p, stack, n);
  else
    vg_fold(s, len, p, n);
  *out_len = (uint32_t)n;
  return p;
}

/* The value as string comparisons see it: folded, or as the phone key. */
static bool ensure_folded(struct vg_eval *ev, struct val *v) {
  if (v->folded_ready)
    return v->folded != NULL;
  v->folded_ready = true;
  if (v->type == VG_TYPE_PHONE) {
    char stack[128];
    size_t n = vg_phone_key(v->s, v->len, ev->rs->phone_country_code, stack,
                            sizeof stack);
    if (n > sizeof stack)
      n = sizeof stack;
    char *p = vg_arena_strndup(&ev->arena, stack, n);
    v->folded = p;
    v->folded_len = (uint32_t)n;
  } else {
    v->folded = fold_into_arena(ev, v->s, v->len, &v->folded_len);
  }
  return v->folded != NULL;
}

static bool ensure_lower(struct vg_eval *ev, struct val *v) {
  if (v->lower_ready)
    return v->lower != NULL;
  v->lower_ready = true;
  char *p = vg_arena_alloc(&ev->arena, v->len + 1);
  if (!p)
    return false;
  const unsigned char *s = (const unsigned char *)v->s;
  for (uint32_t i = 0; i < v->len; i++) {
    unsigned char c = s[i];
    p[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    /* KELVIN SIGN and LONG S match 'k' and 's' caselessly: with them
     * present an ASCII search could miss a match, so none is made. */
    if ((c == 0xC5 && i + 1 < v->len && s[i + 1] == 0xBF) ||
        (c == 0xE2 && i + 2 < v->len && s[i + 1] == 0x84 && s[i + 2] == 0xAA))
      v->lower_unsafe = true;
  }
  v->lower = p;
  return true;
}

/* --------------------------------------------------------- tests */

static bool str_op(enum test_op op, const char *h, size_t hl, const char *n,
                   size_t nl, int64_t *start) {
  switch (op) {
  case OP_EQ:
    *start = 0;
    return hl == nl && memcmp(h, n, nl) == 0;
  case OP_CONTAINS: {
    if (nl == 0) {
      *start = 0;
      return true;
    }
    const char *p = memmem(h, hl, n, nl);
    if (!p)
      return false;
    *start = p - h;
    return true;
  }
  case OP_STARTSWITH:
    *start = 0;
    return hl >= nl && memcmp(h, n, nl) == 0;
  case OP_ENDSWITH:
    *start = (int64_t)(hl - nl);
    return hl >= nl && memcmp(h + hl - nl, n, nl) == 0;
  default:
    return false;
  }
}

static bool is_space_cp(utf8proc_int32_t cp) {
  if (cp == ' ' || (cp >= 9 && cp <= 13) || cp == 0x85)
    return true;
  utf8proc_category_t cat = utf8proc_category(cp);
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
         cat == UTF8PROC_CATEGORY_ZP;
}

/* Maps a span of the folded value back to the raw value by folding it one
 * code point at a time. Leaves the span at -1 when it cannot. */
static void map_span(const char *raw, size_t len, int64_t fstart, int64_t fend,
                     struct explain *x) {
  x->span_start = x->span_end = -1;
  int64_t fpos = 0;
  bool started = false, pending = false;
  size_t space_at = 0;
  size_t i = 0;
  while (i < len) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t w = utf8proc_iterate((const utf8proc_uint8_t *)raw + i,
                                          (utf8proc_ssize_t)(len - i), &cp);
    if (w <= 0)
      return;
    if (is_space_cp(cp)) {
      if (started && !pending) {
        pending = true;
        space_at = i;
      }
      i += (size_t)w;
      continue;
    }
    char piece[64];
    size_t plen = vg_fold(raw + i, (size_t)w, piece, sizeof piece);
    if (plen == 0) {
      i += (size_t)w;
      continue;
    }
    if (pending) {
      if (x->span_start < 0 && fstart == fpos)
        x->span_start = (int64_t)space_at;
      if (x->span_end < 0 && fend == fpos + 1)
        x->span_end = (int64_t)i;
      fpos++;
      pending = false;
    }
    started = true;
    if (x->span_start < 0 && fstart >= fpos && fstart < fpos + (int64_t)plen)
      x->span_start = (int64_t)i;
    if (x->span_end < 0 && fend > fpos && fend <= fpos + (int64_t)plen)
      x->span_end = (int64_t)(i + (size_t)w);
    fpos += (int64_t)plen;
    i += (size_t)w;
  }
  if (x->span_start < 0 || x->span_end < 0)
    x->span_start = x->span_end = -1;
}

static bool run_regex(struct vg_eval *ev, const struct test *t,
                      const struct konst *k, struct val *v, struct explain *x) {
  const char *subject = v->s;
  size_t subject_len = v->len;
  if (t->fold_re) {
    if (!ensure_folded(ev, v))
      return false;
    subject = v->folded;
    subject_len = v->folded_len;
  }
  if (k->prefilter >= 0) {
    /* One pass of the field's matcher serves every pattern on it. */
    const struct prefilter *p = &ev->rs->prefilters[k->prefilter];
    uint64_t *found = ev->found + p->offset;
    if (ev->scanned_gen[k->prefilter] != ev->gen) {
      ev->scanned_gen[k->prefilter] = ev->gen;
      memset(found, 0, p->words * sizeof *found);
      vg_acm_scan(p->acm, subject, subject_len, found);
    }
    if (!(p->mode == PREFILTER_LOWER && (found[0] & 3) != 0)) {
      /* Every set needs one of its literals. */
      size_t i = 0;
      for (size_t set = 0; set < k->lits.nsets; set++) {
        bool any = false;
        for (; i < k->lits.set_ends[set]; i++)
          if ((found[k->literal_ids[i] >> 6] >> (k->literal_ids[i] & 63)) & 1) {
            any = true;
            i = k->lits.set_ends[set];
            break;
          }
        if (!any)
          return false;
      }
    }
  } else if (k->lits.nsets) {
    const char *hay = subject;
    size_t hay_len = subject_len;
    bool usable = true;
    if (k->literal_caseless && !t->fold_re) {
      if (!ensure_lower(ev, v))
        return false;
      hay = v->lower;
      usable = !v->lower_unsafe;
    }
    size_t i = 0;
    for (size_t set = 0; usable && set < k->lits.nsets; set++) {
      bool any = false;
      for (; i < k->lits.set_ends[set]; i++)
        if (!any &&
            memmem(hay, hay_len, k->lits.literals[i], k->lits.lens[i]) != NULL)
          any = true;
      if (!any)
        return false;
    }
  }
  /* The JIT entry point skips pcre2_match's argument checks; the subject
   * is valid UTF-8 already (the scanner checked it). */
  int rc = k->jit ? pcre2_jit_match(k->re, (PCRE2_SPTR)subject, subject_len, 0,
                                    0, ev->md, ev->rs->match_ctx)
                  : pcre2_match(k->re, (PCRE2_SPTR)subject, subject_len, 0,
                                PCRE2_NO_UTF_CHECK, ev->md, ev->rs->match_ctx);
  if (rc >= 0 || rc == PCRE2_ERROR_NOMATCH) {
    if (rc < 0)
      return false;
    if (x) {
      PCRE2_SIZE *ov = pcre2_get_ovector_pointer(ev->md);
      if (t->fold_re) {
        map_span(v->s, v->len, (int64_t)ov[0], (int64_t)ov[1], x);
      } else {
        x->span_start = (int64_t)ov[0];
        x->span_end = (int64_t)ov[1];
      }
    }
    return true;
  }
  /* Match or depth limit, or another matching error: the test does not
   * hold and the rule is marked incomplete. */
  ev->incomplete = true;
  return false;
}

static bool cased_in_list(const struct list_def *l, const char *s, size_t n) {
  for (size_t i = 0; i < l->nitems; i++)
    if (l->item_lens[i] == n && !memcmp(l->items[i], s, n))
      return true;
  return false;
}

/* One constant against one scalar value. */
static bool holds_const(struct vg_eval *ev, const struct test *t,
                        const struct konst *k, struct val *v,
                        struct explain *x) {
  switch (v->type) {
  case VG_TYPE_STRING:
  case VG_TYPE_TEXT:
  case VG_TYPE_PHONE: {
    if (t->op == OP_RE)
      return run_regex(ev, t, k, v, x);
    int64_t start;
    if (t->cased) {
      if (!str_op(t->op, v->s, v->len, k->folded, k->folded_len, &start))
        return false;
      if (x && t->op != OP_EQ) {
        x->span_start = start;
        x->span_end = start + (int64_t)k->folded_len;
      }
      return true;
    }
    if (!ensure_folded(ev, v) || !str_op(t->op, v->folded, v->folded_len,
                                         k->folded, k->folded_len, &start))
      return false;
    if (x && t->op != OP_EQ) {
      if (v->type == VG_TYPE_PHONE)
        x->span_start = x->span_end = -1;
      else
        map_span(v->s, v->len, start, start + (int64_t)k->folded_len, x);
    }
    return true;
  }
  case VG_TYPE_INT:
  case VG_TYPE_NUMBER:
    switch (t->op) {
    case OP_EQ:
      return v->num == k->number;
    case OP_GT:
      return v->num > k->number;
    case OP_GTE:
      return v->num >= k->number;
    case OP_LT:
      return v->num < k->number;
    case OP_LTE:
      return v->num <= k->number;
    default:
      return false;
    }
  case VG_TYPE_DATE:
  case VG_TYPE_DATETIME:
    switch (t->op) {
    case OP_EQ:
      return v->time == k->time;
    case OP_GT:
      return v->time > k->time;
    case OP_GTE:
      return v->time >= k->time;
    case OP_LT:
      return v->time < k->time;
    case OP_LTE:
      return v->time <= k->time;
    default:
      return false;
    }
  case VG_TYPE_BOOL:
    return v->boolean == k->boolean;
  }
  return false;
}

static bool compare_fields(struct vg_eval *ev, enum test_op op, bool cased,
                           struct val *a, struct val *b) {
  switch (a->type) {
  case VG_TYPE_INT:
  case VG_TYPE_NUMBER:
    return op == OP_EQ    ? a->num == b->num
           : op == OP_GT  ? a->num > b->num
           : op == OP_GTE ? a->num >= b->num
           : op == OP_LT  ? a->num < b->num
                          : a->num <= b->num;
  case VG_TYPE_DATE:
  case VG_TYPE_DATETIME:
    return op == OP_EQ    ? a->time == b->time
           : op == OP_GT  ? a->time > b->time
           : op == OP_GTE ? a->time >= b->time
           : op == OP_LT  ? a->time < b->time
                          : a->time <= b->time;
  case VG_TYPE_BOOL:
    return a->boolean == b->boolean;
  default:
    if (cased)
      return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
    if (!ensure_folded(ev, a) || !ensure_folded(ev, b))
      return false;
    return a->folded_len == b->folded_len &&
           memcmp(a->folded, b->folded, a->folded_len) == 0;
  }
}

/* A test against one scalar value (a list field calls this per element). */
static bool holds_scalar(struct vg_eval *ev, const struct test *t,
                         struct val *v, struct explain *x) {
  if (t->ref_field >= 0) {
    struct val *other = &ev->vals[t->ref_field];
    if (!other->present)
      return false;
    if (other->type == VG_TYPE_LIST) {
      for (uint32_t i = 0; i < other->nelems; i++)
        if (compare_fields(ev, t->op, t->cased, v, &other->elems[i]))
          return true;
      return false;
    }
    return compare_fields(ev, t->op, t->cased, v, other);
  }
  if (t->op == OP_IN) {
    if (t->cased)
      return cased_in_list(t->list, v->s, v->len);
    if (!ensure_folded(ev, v))
      return false;
    return vg_strset_contains(v->type == VG_TYPE_PHONE ? t->list->phones
                                                       : t->list->folded,
                              v->folded, v->folded_len);
  }
  if (t->op == OP_FUZZY) {
    char key[512];
    size_t n = vg_name_key(v->s, v->len, key, sizeof key);
    if (n > sizeof key)
      n = sizeof key;
    size_t entry;
    double sim;
    if (!vg_fuzzy_list_best(t->list->fuzzy, key, n, t->list->threshold, &entry,
                            &sim))
      return false;
    if (x) {
      x->entry = t->list->items[entry];
      x->similarity = sim;
    }
    return true;
  }
  if (t->all) {
    for (size_t i = 0; i < t->nvalues; i++)
      if (!holds_const(ev, t, &t->values[i], v, x))
        return false;
    return true;
  }
  for (size_t i = 0; i < t->nvalues; i++)
    if (holds_const(ev, t, &t->values[i], v, x))
      return true;
  return false;
}

static bool test_holds(struct vg_eval *ev, const struct test *t,
                       struct explain *x) {
  struct val *v = &ev->vals[t->field];
  if (t->op == OP_EXISTS) {
    if (x)
      x->value = v;
    return v->present != t->negate_exists;
  }
  if (!v->present)
    return false;
  if (v->type == VG_TYPE_LIST && t->all) {
    /* Every value must be found, each in some element of the list. */
    for (size_t c = 0; c < t->nvalues; c++) {
      bool found = false;
      for (uint32_t i = 0; i < v->nelems && !found; i++)
        found = holds_const(ev, t, &t->values[c], &v->elems[i], x);
      if (!found)
        return false;
    }
    if (x) {
      x->value = v;
      x->span_start = x->span_end = -1;
    }
    return true;
  }
  if (v->type == VG_TYPE_LIST) {
    for (uint32_t i = 0; i < v->nelems; i++)
      if (holds_scalar(ev, t, &v->elems[i], x)) {
        if (x)
          x->value = &v->elems[i];
        return true;
      }
    return false;
  }
  if (x)
    x->value = v;
  return holds_scalar(ev, t, v, x);
}

/* Index of the first group that holds, or -1. */
static int selection_group(struct vg_eval *ev, const struct selection *s) {
  for (size_t g = 0; g < s->ngroups; g++) {
    bool all = true;
    for (size_t i = 0; i < s->groups[g].count && all; i++)
      all = test_holds(ev, &s->tests[s->groups[g].first + i], NULL);
    if (all)
      return (int)g;
  }
  return -1;
}

static bool cond_holds(struct vg_eval *ev, const struct rule *r,
                       const struct cond *c) {
  switch (c->type) {
  case COND_SEL: {
    int8_t *m = &ev->sel_memo[c->index];
    if (*m < 0)
      *m = selection_group(ev, &r->sels[c->index]) >= 0;
    return *m;
  }
  case COND_MACRO: {
    int8_t *m = &ev->macro_memo[c->index];
    if (*m < 0)
      *m = selection_group(ev, &ev->rs->macros[c->index].sel) >= 0;
    return *m;
  }
  case COND_NOT:
    return !cond_holds(ev, r, c->kids[0]);
  case COND_AND:
    for (size_t i = 0; i < c->nkids; i++)
      if (!cond_holds(ev, r, c->kids[i]))
        return false;
    return true;
  case COND_OR:
    for (size_t i = 0; i < c->nkids; i++)
      if (cond_holds(ev, r, c->kids[i]))
        return true;
    return false;
  case COND_AT_LEAST: {
    size_t n = 0;
    for (size_t i = 0; i < c->nkids && n < c->k; i++)
      n += cond_holds(ev, r, c->kids[i]);
    return n >= c->k;
  }
  }
  return false;
}

/* ---------------------------------------------------------- evidence */

static void value_text(struct vg_eval *ev, const struct val *v,
                       struct vg_evidence *e) {
  e->value_is_string = true;
  if (!v || !v->present) {
    e->value = NULL;
    e->value_len = 0;
    return;
  }
  if (v->type == VG_TYPE_INT || v->type == VG_TYPE_NUMBER ||
      v->type == VG_TYPE_BOOL)
    e->value_is_string = false;
  e->value = v->s;
  e->value_len = v->len;
  if (e->value_len > VG_EVIDENCE_MAX) {
    size_t n = VG_EVIDENCE_MAX;
    /* Cut on a character boundary. */
    while (n > 0 && ((unsigned char)v->s[n] & 0xC0) == 0x80)
      n--;
    e->value_len = n;
  }
  (void)ev;
}

struct evidence_list {
  struct vg_evidence *items;
  size_t n, cap;
};

static int add_evidence(struct vg_eval *ev, struct evidence_list *list,
                        const char *selection, const struct vg__field *field,
                        const struct explain *x) {
  if (list->n == list->cap) {
    size_t cap = list->cap ? list->cap * 2 : 8;
    struct vg_evidence *items = vg_arena_alloc(&ev->arena, cap * sizeof *items);
    if (!items)
      return VG_ENOMEM;
    if (list->n)
      memcpy(items, list->items, list->n * sizeof *items);
    list->items = items;
    list->cap = cap;
  }
  struct vg_evidence *e = &list->items[list->n++];
  memset(e, 0, sizeof *e);
  e->selection = selection;
  e->field = field->path;
  value_text(ev, x->value, e);
  e->span_start = x->span_start;
  e->span_end = x->span_end;
  if (e->span_end > (int64_t)e->value_len && e->value_len < x->value->len) {
    /* The span runs past the cut: keep it, it names raw-value bytes. */
  }
  e->entry = x->entry;
  e->similarity = x->similarity;
  return VG_OK;
}

static int explain_selection(struct vg_eval *ev, const struct selection *s,
                             const char *name, struct evidence_list *list) {
  int g = selection_group(ev, s);
  if (g < 0)
    return VG_OK;
  for (size_t i = 0; i < s->groups[g].count; i++) {
    const struct test *t = &s->tests[s->groups[g].first + i];
    struct explain x = {.span_start = -1, .span_end = -1};
    if (!test_holds(ev, t, &x))
      continue;
    if (t->op == OP_EXISTS && t->negate_exists)
      x.value = NULL;
    int rc = add_evidence(ev, list, name, &ev->kind->fields[t->field], &x);
    if (rc != VG_OK)
      return rc;
  }
  return VG_OK;
}

/* Evidence for every selection and macro that held where the condition
 * uses it positively (one under an odd number of `not`s argues against
 * the hit, not for it). */
static int explain_cond(struct vg_eval *ev, const struct rule *r,
                        const struct cond *c, bool negated,
                        struct evidence_list *list, uint8_t *done) {
  switch (c->type) {
  case COND_SEL:
    if (negated || done[c->index])
      return VG_OK;
    done[c->index] = 1;
    return explain_selection(ev, &r->sels[c->index], r->sels[c->index].name,
                             list);
  case COND_MACRO:
    if (negated || ev->macro_done[c->index])
      return VG_OK;
    ev->macro_done[c->index] = 1;
    return explain_selection(ev, &ev->rs->macros[c->index].sel,
                             ev->rs->macros[c->index].name, list);
  case COND_NOT:
    return explain_cond(ev, r, c->kids[0], !negated, list, done);
  default:
    for (size_t i = 0; i < c->nkids; i++) {
      int rc = explain_cond(ev, r, c->kids[i], negated, list, done);
      if (rc != VG_OK)
        return rc;
    }
    return VG_OK;
  }
}

/* ----------------------------------------------------------- typing */

static void reject(struct vg_reject *rej, const char *field, const char *fmt,
                   ...) __attribute__((format(printf, 3, 4)));
static void reject(struct vg_reject *rej, const char *field, const char *fmt,
                   ...) {
  snprintf(rej->field, sizeof rej->field, "%s", field ? field : "");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rej->reason, sizeof rej->reason, fmt, ap);
  va_end(ap);
}

static const char *json_kind_name(uint8_t kind) {
  switch (kind) {
  case VG_JSON_NULL:
    return "null";
  case VG_JSON_FALSE:
  case VG_JSON_TRUE:
    return "a boolean";
  case VG_JSON_NUMBER:
    return "a number";
  case VG_JSON_STRING:
    return "a string";
  case VG_JSON_ARRAY:
    return "a list";
  case VG_JSON_OBJECT:
    return "an object";
  }
  return "nothing";
}

static bool string_of(struct vg_eval *ev, const struct vg_json_token *tok,
                      const char **s, uint32_t *len) {
  if (!tok->escaped) {
    *s = ev->json + tok->start;
    *len = tok->len;
    return true;
  }
  char *p = vg_arena_alloc(&ev->arena, tok->len + 1);
  if (!p)
    return false;
  *len = (uint32_t)vg_json_unescape(ev->json + tok->start, tok->len, p);
  p[*len] = '\0';
  *s = p;
  return true;
}

/* Shows a bad value in a reject reason, shortened. */
static void quote_value(const char *s, size_t len, char *out, size_t cap) {
  size_t n = len > 40 ? 40 : len;
  while (n > 0 && n < len && ((unsigned char)s[n] & 0xC0) == 0x80)
    n--;
  snprintf(out, cap, "\"%.*s%s\"", (int)n, s, n < len ? "..." : "");
}

/* How a bad value appears in a reject reason: quoted, except for personal
 * data and protected characteristics, which reasons (printed, stored with
 * the rejects) never repeat. */
static void shown_value(const struct vg__field *f, const char *s, size_t len,
                        bool quote, char *out, size_t cap) {
  if (f->pii || f->protected_)
    snprintf(out, cap, "a value not shown here (%s)",
             f->pii ? "personal data" : "protected");
  else if (quote)
    quote_value(s, len, out, cap);
  else
    snprintf(out, cap, "%.*s", (int)(len > 40 ? 40 : len), s);
}

static int type_value(struct vg_eval *ev, const struct vg__field *f,
                      const struct vg_json_token *tok, struct val *v,
                      struct vg_reject *rej) {
  v->type = (uint8_t)f->type;
  switch (f->type) {
  case VG_TYPE_STRING:
  case VG_TYPE_TEXT:
  case VG_TYPE_PHONE:
    if (tok->kind != VG_JSON_STRING)
      goto wrong;
    if (!string_of(ev, tok, &v->s, &v->len))
      return VG_ENOMEM;
    break;
  case VG_TYPE_INT:
  case VG_TYPE_NUMBER: {
    if (tok->kind != VG_JSON_NUMBER)
      goto wrong;
    bool integral;
    int64_t iv;
    v->s = ev->json + tok->start;
    v->len = tok->len;
    char shown[64];
    if (vg_json_number(v->s, v->len, &v->num, &integral, &iv) != VG_OK) {
      shown_value(f, v->s, v->len, false, shown, sizeof shown);
      reject(rej, f->path, "field '%s': number %s is out of range", f->path,
             shown);
      return VG_EINVAL;
    }
    if (f->type == VG_TYPE_INT && !integral) {
      shown_value(f, v->s, v->len, false, shown, sizeof shown);
      reject(rej, f->path, "field '%s': expected a whole number, got %s",
             f->path, shown);
      return VG_EINVAL;
    }
    break;
  }
  case VG_TYPE_BOOL:
    if (tok->kind != VG_JSON_TRUE && tok->kind != VG_JSON_FALSE)
      goto wrong;
    v->boolean = tok->kind == VG_JSON_TRUE;
    v->s = v->boolean ? "true" : "false";
    v->len = v->boolean ? 4 : 5;
    break;
  case VG_TYPE_DATE:
  case VG_TYPE_DATETIME: {
    if (tok->kind != VG_JSON_STRING)
      goto wrong;
    if (!string_of(ev, tok, &v->s, &v->len))
      return VG_ENOMEM;
    bool ok = f->type == VG_TYPE_DATE
                  ? vg_parse_date(v->s, v->len, &v->time)
                  : vg_parse_datetime(v->s, v->len, &v->time);
    if (!ok) {
      char shown[64];
      shown_value(f, v->s, v->len, true, shown, sizeof shown);
      reject(rej, f->path, "field '%s': expected %s, got %s", f->path,
             f->type == VG_TYPE_DATE ? "a date (YYYY-MM-DD)"
                                     : "an RFC 3339 datetime",
             shown);
      return VG_EINVAL;
    }
    break;
  }
  case VG_TYPE_LIST: {
    if (tok->kind != VG_JSON_ARRAY)
      goto wrong;
    v->s = ev->json + tok->start;
    v->len = tok->len;
    v->nelems = tok->count;
    v->elems = vg_arena_calloc(&ev->arena, tok->count ? tok->count : 1,
                               sizeof *v->elems);
    if (!v->elems)
      return VG_ENOMEM;
    struct vg_json_iter it;
    struct vg_json_token el;
    vg_json_iter_init(&it, ev->json, tok);
    uint32_t i = 0;
    while (i < tok->count && vg_json_iter_next(&it, &el)) {
      if (el.kind != VG_JSON_STRING) {
        reject(rej, f->path,
               "field '%s': expected a list of strings, element %u is %s",
               f->path, i + 1, json_kind_name(el.kind));
        return VG_EINVAL;
      }
      struct val *e = &v->elems[i++];
      e->present = true;
      e->type = VG_TYPE_STRING;
      if (!string_of(ev, &el, &e->s, &e->len))
        return VG_ENOMEM;
    }
    v->nelems = i;
    break;
  }
  }
  v->present = true;
  return VG_OK;
wrong:
  reject(rej, f->path, "field '%s': expected %s, got %s", f->path,
         f->type == VG_TYPE_LIST       ? "a list of strings"
         : f->type == VG_TYPE_INT      ? "a whole number"
         : f->type == VG_TYPE_NUMBER   ? "a number"
         : f->type == VG_TYPE_BOOL     ? "true or false"
         : f->type == VG_TYPE_DATE     ? "a date string (YYYY-MM-DD)"
         : f->type == VG_TYPE_DATETIME ? "an RFC 3339 datetime string"
                                       : "a string",
         json_kind_name(tok->kind));
  return VG_EINVAL;
}

static void derive(struct vg_eval *ev, const struct vg__field *f,
                   struct val *v) {
  const struct val *a = &ev->vals[f->arg_a];
  const struct val *b = f->arg_b >= 0 ? &ev->vals[f->arg_b] : NULL;
  v->type = VG_TYPE_INT;
  if (!a->present || (b && !b->present))
    return;
  int64_t n;
  switch (f->fn) {
  case DERIVED_YEARS:
    n = vg_years_between(a->time, b->time);
    break;
  case DERIVED_DAYS:
    n = vg_days_between(a->time, b->time);
    break;
  case DERIVED_HOURS:
    n = vg_hours_between(a->time, b->time);
    break;
  case DERIVED_COUNT:
    n = a->nelems;
    break;
  default:
    return;
  }
  /* Digits written by hand: snprintf costs more than the rest of the
   * derivation on this per-record path. */
  char buf[24];
  size_t len = 0;
  uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
  do {
    buf[sizeof buf - 1 - len++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (n < 0)
    buf[sizeof buf - 1 - len++] = '-';
  char *text = vg_arena_strndup(&ev->arena, buf + sizeof buf - len, len);
  if (!text)
    return;
  v->s = text;
  v->len = (uint32_t)len;
  v->num = (double)n;
  v->present = true;
}

static int prepare(struct vg_eval *ev, const char *json, size_t len,
                   struct vg_reject *rej) {
  const struct vg_ruleset *rs = ev->rs;
  vg_arena_reset(&ev->arena);
  ev->json = json;
  if (++ev->gen == 0) {
    /* Wrapped: forget every scan so none is mistaken for this record's. */
    memset(ev->scanned_gen, 0,
           (rs->nprefilters ? rs->nprefilters : 1) * sizeof *ev->scanned_gen);
    ev->gen = 1;
  }
  struct vg_json_error jerr;
  if (vg_json_scan(rs->trie, json, len, ev->tokens, &jerr) != VG_OK) {
    if (strstr(jerr.message, "UTF-8"))
      reject(rej, NULL, "not valid UTF-8 (byte %zu)", jerr.offset + 1);
    else if (strstr(jerr.message, "not a JSON object"))
      reject(rej, NULL, "not a JSON object");
    else
      reject(rej, NULL, "not valid JSON: %s (byte %zu)", jerr.message,
             jerr.offset + 1);
    return VG_EINVAL;
  }
  /* Every kind places kind, id, source and observed_at at the same trie
   * slots, so the first kind's implicit fields serve to find the kind. */
  const struct vg__kind *k0 = &rs->kinds[0];
  const struct vg_json_token *kt =
      &ev->tokens[k0->fields[FIELD_KIND].json_index];
  if (kt->kind == VG_JSON_ABSENT || kt->kind == VG_JSON_NULL) {
    reject(rej, "kind", "missing 'kind'");
    return VG_EINVAL;
  }
  if (kt->kind != VG_JSON_STRING) {
    reject(rej, "kind", "field 'kind': expected a string, got %s",
           json_kind_name(kt->kind));
    return VG_EINVAL;
  }
  const char *kname;
  uint32_t klen;
  if (!string_of(ev, kt, &kname, &klen))
    return VG_ENOMEM;
  ev->kind = NULL;
  for (size_t i = 0; i < rs->nkinds; i++)
    if (strlen(rs->kinds[i].name) == klen &&
        !memcmp(rs->kinds[i].name, kname, klen)) {
      ev->kind = &rs->kinds[i];
      ev->kind_index = i;
    }
  if (!ev->kind) {
    char shown[64];
    quote_value(kname, klen, shown, sizeof shown);
    reject(rej, "kind", "unknown kind %s", shown);
    return VG_EINVAL;
  }
  const struct vg__kind *k = ev->kind;
  for (size_t i = 0; i < k->nfields; i++) {
    const struct vg__field *f = &k->fields[i];
    struct val *v = &ev->vals[i];
    /* Only what every reader checks first is reset: the rest is written
     * before it is read. */
    v->present = v->folded_ready = v->lower_ready = v->lower_unsafe = false;
    v->nelems = 0;
    if (f->fn != DERIVED_NONE) {
      derive(ev, f, v);
      continue;
    }
    const struct vg_json_token *tok = &ev->tokens[f->json_index];
    if (f->drop) {
      /* Removed at ingest: never typed, tested or shown. */
      v->type = (uint8_t)f->type;
      continue;
    }
    if (tok->kind == VG_JSON_ABSENT || tok->kind == VG_JSON_NULL) {
      v->type = (uint8_t)f->type;
      if (f->required) {
        reject(rej, f->path, "missing required field '%s'", f->path);
        return VG_EINVAL;
      }
      continue;
    }
    int rc = type_value(ev, f, tok, v, rej);
    if (rc != VG_OK)
      return rc;
  }
  if (ev->vals[FIELD_ID].len == 0) {
    reject(rej, "id", "field 'id' is empty");
    return VG_EINVAL;
  }
  if (!ev->vals[FIELD_SOURCE].present) {
    ev->vals[FIELD_SOURCE].s = "default";
    ev->vals[FIELD_SOURCE].len = 7;
  }
  return VG_OK;
}

void vg_eval_set_state(vg_eval *ev, struct vg_corr_state *state) {
  ev->state = state;
}

/* A key or counted value as correlation compares it: phones on their
 * digits, everything else folded (so e-mail addresses lower-cased). */
static bool corr_text(struct vg_eval *ev, struct val *v, const char **s,
                      size_t *len) {
  if (!v->present || v->type == VG_TYPE_LIST)
    return false;
  if (v->type == VG_TYPE_STRING || v->type == VG_TYPE_TEXT ||
      v->type == VG_TYPE_PHONE) {
    if (!ensure_folded(ev, v))
      return false;
    *s = v->folded;
    *len = v->folded_len;
  } else {
    *s = v->s;
    *len = v->len;
  }
  return *len > 0;
}

#define MAX_RELATED 50

/* What one scan of the state found. */
struct corr_tally {
  struct vg_eval *ev;
  const struct rule *rule;
  const char *self_source, *self_id;
  size_t self_source_len, self_id_len;
  size_t records; /* distinct identities */
  /* The other records counted, kept until the rule is known to fire:
   * only then is their JSON written. */
  struct related_ref {
    const char *source, *id, *kind;
    size_t source_len, id_len;
    int64_t time;
  } related[MAX_RELATED];
  size_t nrelated;
  /* distinct values and kinds seen, as short lists */
  const char **values;
  size_t *value_lens;
  size_t nvalues, values_cap;
  bool kinds_seen[64];
  bool failed;
};

static int tally(const struct vg_corr_entry *e, void *arg) {
  struct corr_tally *t = arg;
  t->records++;
  bool self = e->source_len == t->self_source_len &&
              e->id_len == t->self_id_len &&
              !memcmp(e->source, t->self_source, e->source_len) &&
              !memcmp(e->id, t->self_id, e->id_len);
  for (size_t k = 0; k < t->ev->rs->nkinds && k < 64; k++)
    if (!strcmp(t->ev->rs->kinds[k].name, e->kind))
      t->kinds_seen[k] = true;
  if (t->rule->corr->type == CORR_DISTINCT && e->value_len) {
    bool seen = false;
    for (size_t i = 0; i < t->nvalues && !seen; i++)
      seen = t->value_lens[i] == e->value_len &&
             !memcmp(t->values[i], e->value, e->value_len);
    if (!seen) {
      if (t->nvalues == t->values_cap) {
        size_t cap = t->values_cap ? t->values_cap * 2 : 16;
        const char **v = vg_arena_alloc(&t->ev->arena, cap * sizeof *v);
        size_t *l = vg_arena_alloc(&t->ev->arena, cap * sizeof *l);
        if (!v || !l) {
          t->failed = true;
          return VG_ENOMEM;
        }
        if (t->nvalues) {
          memcpy(v, t->values, t->nvalues * sizeof *v);
          memcpy(l, t->value_lens, t->nvalues * sizeof *l);
        }
        t->values = v;
        t->value_lens = l;
        t->values_cap = cap;
      }
      char *copy = vg_arena_strndup(&t->ev->arena, e->value, e->value_len);
      if (!copy) {
        t->failed = true;
        return VG_ENOMEM;
      }
      t->values[t->nvalues] = copy;
      t->value_lens[t->nvalues++] = e->value_len;
    }
  }
  if (!self && t->nrelated < MAX_RELATED) {
    struct related_ref *r = &t->related[t->nrelated];
    r->source = vg_arena_strndup(&t->ev->arena, e->source, e->source_len);
    r->id = vg_arena_strndup(&t->ev->arena, e->id, e->id_len);
    r->kind = vg_arena_strdup(&t->ev->arena, e->kind);
    if (!r->source || !r->id || !r->kind) {
      t->failed = true;
      return VG_ENOMEM;
    }
    r->source_len = e->source_len;
    r->id_len = e->id_len;
    r->time = e->time;
    t->nrelated++;
  }
  return VG_OK;
}

/* The related records as JSON: [{"source","id","kind","observed_at"}]. */
static const char *related_json(struct vg_eval *ev,
                                const struct corr_tally *t) {
  struct vg__buf b = {0};
  int rc = vg__buf_append(&b, "[", 1);
  for (size_t i = 0; i < t->nrelated && rc == VG_OK; i++) {
    const struct related_ref *r = &t->related[i];
    char when[40];
    vg_format_datetime(r->time, when, sizeof when);
    rc = vg__buf_append(&b, i ? ",{\"source\":" : "{\"source\":", i ? 11 : 10);
    if (rc == VG_OK)
      rc = vg__buf_json_string(&b, r->source, r->source_len);
    if (rc == VG_OK)
      rc = vg__buf_append(&b, ",\"id\":", 6);
    if (rc == VG_OK)
      rc = vg__buf_json_string(&b, r->id, r->id_len);
    if (rc == VG_OK)
      rc = vg__buf_append(&b, ",\"kind\":", 8);
    if (rc == VG_OK)
      rc = vg__buf_json_string(&b, r->kind, strlen(r->kind));
    if (rc == VG_OK)
      rc = vg__buf_append(&b, ",\"observed_at\":", 15);
    if (rc == VG_OK)
      rc = vg__buf_json_string(&b, when, strlen(when));
    if (rc == VG_OK)
      rc = vg__buf_append(&b, "}", 1);
  }
  if (rc == VG_OK)
    rc = vg__buf_append(&b, "]", 1);
  const char *out =
      rc == VG_OK ? vg_arena_strndup(&ev->arena, b.data, b.len) : NULL;
  free(b.data);
  return out;
}

static int add_hit(struct vg_eval *ev, size_t ri, struct vg_result *res,
                   struct vg_evidence *evidence, size_t nevidence);

/* A correlation rule on the current record: counted when its condition (if
 * any) holds and it has a key; fires when the records sharing the key in
 * the window, this one included, cross the bound. */
static int run_correlation(struct vg_eval *ev, size_t ri,
                           struct vg_result *res) {
  const struct rule *r = &ev->rs->rules[ri];
  const struct correlation *corr = r->corr;
  const struct corr_key *key = NULL;
  for (size_t i = 0; i < corr->nkeys; i++)
    if (corr->keys[i].kind == ev->kind_index)
      key = &corr->keys[i];
  if (!key)
    return VG_OK;
  if (r->cond) {
    memset(ev->sel_memo, -1, r->nsels);
    ev->incomplete = false;
    bool holds = cond_holds(ev, r, r->cond);
    if (ev->incomplete)
      ev->incomplete_ids[res->nincomplete++] = r->id;
    if (!holds)
      return VG_OK;
  }
  const char *kv, *value = "";
  size_t kv_len, value_len = 0;
  struct val *keyval = &ev->vals[key->field];
  if (!corr_text(ev, keyval, &kv, &kv_len))
    return VG_OK;
  if (key->value_field >= 0 &&
      !corr_text(ev, &ev->vals[key->value_field], &value, &value_len)) {
    value = "";
    value_len = 0;
  }
  struct val *src = &ev->vals[FIELD_SOURCE], *id = &ev->vals[FIELD_ID];
  struct vg_corr_entry self = {.kind = ev->kind->name,
                               .source = src->s,
                               .source_len = src->len,
                               .id = id->s,
                               .id_len = id->len,
                               .time = ev->vals[FIELD_OBSERVED_AT].time,
                               .value = value,
                               .value_len = value_len};
  struct corr_tally t = {.ev = ev,
                         .rule = r,
                         .self_source = src->s,
                         .self_source_len = src->len,
                         .self_id = id->s,
                         .self_id_len = id->len};
  int rc;
  if (ev->state) {
    rc = ev->state->put(ev->state, r->id, kv, kv_len, &self);
    if (rc == VG_OK)
      rc = ev->state->scan(ev->state, r->id, kv, kv_len,
                           self.time - corr->window, self.time, tally, &t);
  } else {
    rc = tally(&self, &t);
  }
  if (rc != VG_OK || t.failed)
    return rc != VG_OK ? rc : VG_ENOMEM;
  bool fires = false;
  switch (corr->type) {
  case CORR_COUNT:
    fires = t.records >= corr->gte;
    break;
  case CORR_DISTINCT:
    fires = t.nvalues >= corr->gte;
    break;
  case CORR_KINDS:
    fires = true;
    for (size_t i = 0; i < corr->nkeys; i++)
      fires &= corr->keys[i].kind < 64 && t.kinds_seen[corr->keys[i].kind];
    break;
  }
  if (!fires)
    return VG_OK;
  struct evidence_list list = {0};
  if (r->cond) {
    uint8_t done[256] = {0};
    uint8_t *marks = r->nsels <= sizeof done
                         ? done
                         : vg_arena_calloc(&ev->arena, r->nsels, 1);
    memset(ev->macro_done, 0, ev->rs->nmacros ? ev->rs->nmacros : 1);
    if (!marks || explain_cond(ev, r, r->cond, false, &list, marks) != VG_OK)
      return VG_ENOMEM;
  }
  struct explain x = {.value = keyval, .span_start = -1, .span_end = -1};
  rc = add_evidence(ev, &list, "correlate", &ev->kind->fields[key->field], &x);
  if (rc == VG_OK) {
    struct vg_evidence *e = &list.items[list.n - 1];
    e->related = related_json(ev, &t);
    if (!e->related)
      rc = VG_ENOMEM;
  }
  if (rc != VG_OK)
    return rc;
  return add_hit(ev, ri, res, list.items, list.n);
}

static int add_hit(struct vg_eval *ev, size_t ri, struct vg_result *res,
                   struct vg_evidence *evidence, size_t nevidence) {
  const struct rule *r = &ev->rs->rules[ri];
  struct vg_hit *h = &ev->hits[res->nhits++];
  h->rule = ri;
  h->rule_id = r->id;
  h->title = r->title;
  h->digest = r->digest;
  h->route = r->route ? r->route : ev->kind->route;
  h->score = r->score;
  h->evidence = evidence;
  h->nevidence = nevidence;
  res->score += r->score;
  return VG_OK;
}

static int run_rule(struct vg_eval *ev, size_t ri, struct vg_result *res) {
  const struct rule *r = &ev->rs->rules[ri];
  if (r->corr)
    return run_correlation(ev, ri, res);
  memset(ev->sel_memo, -1, r->nsels);
  ev->incomplete = false;
  bool fired = cond_holds(ev, r, r->cond);
  if (ev->incomplete)
    ev->incomplete_ids[res->nincomplete++] = r->id;
  if (!fired)
    return VG_OK;
  struct evidence_list list = {0};
  uint8_t done[256];
  memset(done, 0, sizeof done);
  uint8_t *marks =
      r->nsels <= sizeof done ? done : vg_arena_calloc(&ev->arena, r->nsels, 1);
  if (!marks)
    return VG_ENOMEM;
  memset(ev->macro_done, 0, ev->rs->nmacros ? ev->rs->nmacros : 1);
  int rc = explain_cond(ev, r, r->cond, false, &list, marks);
  if (rc != VG_OK)
    return rc;
  return add_hit(ev, ri, res, list.items, list.n);
}

static int evaluate(struct vg_eval *ev, const char *json, size_t len,
                    long only_rule, struct vg_result *res,
                    struct vg_reject *rej) {
  memset(rej, 0, sizeof *rej);
  int rc = prepare(ev, json, len, rej);
  if (rc != VG_OK) {
    ev->kind = NULL;
    return rc;
  }
  const struct vg__kind *k = ev->kind;
  memset(res, 0, sizeof *res);
  memset(ev->macro_memo, -1, ev->rs->nmacros ? ev->rs->nmacros : 1);
  res->hits = ev->hits;
  res->incomplete = ev->incomplete_ids;
  if (only_rule >= 0) {
    if (vg__rule_screens_kind(&ev->rs->rules[only_rule], ev->kind_index))
      rc = run_rule(ev, (size_t)only_rule, res);
  } else {
    for (size_t i = 0; i < k->nrules && rc == VG_OK; i++)
      if (ev->rs->rules[k->rules[i]].enabled)
        rc = run_rule(ev, k->rules[i], res);
  }
  if (rc != VG_OK)
    return rc;
  if (res->score > 100)
    res->score = 100;
  res->kind = ev->kind_index;
  res->kind_name = k->name;
  res->id = ev->vals[FIELD_ID].s;
  res->id_len = ev->vals[FIELD_ID].len;
  res->source = ev->vals[FIELD_SOURCE].s;
  res->source_len = ev->vals[FIELD_SOURCE].len;
  res->observed_at = ev->vals[FIELD_OBSERVED_AT].time;
  res->threshold = k->threshold;
  res->opens_case = res->nhits > 0 && res->score >= k->threshold;
  if (k->subject_field >= 0) {
    struct val *sv = &ev->vals[k->subject_field];
    if (sv->present && sv->type != VG_TYPE_LIST) {
      /* Phones group on their digits, so one number written two ways is
       * one subject. */
      if (sv->type == VG_TYPE_PHONE && ensure_folded(ev, sv) &&
          sv->folded_len > 0) {
        res->subject = sv->folded;
        res->subject_len = sv->folded_len;
      } else if (sv->len > 0) {
        res->subject = sv->s;
        res->subject_len = sv->len;
      }
    }
  }
  return VG_OK;
}

int vg_eval_record(vg_eval *ev, const char *json, size_t len,
                   struct vg_result *result, struct vg_reject *reject_out) {
  return evaluate(ev, json, len, -1, result, reject_out);
}

int vg_eval_record_rule(vg_eval *ev, const char *json, size_t len, size_t rule,
                        struct vg_result *result,
                        struct vg_reject *reject_out) {
  if (rule >= ev->rs->nrules)
    return VG_EINVAL;
  return evaluate(ev, json, len, (long)rule, result, reject_out);
}

bool vg_eval_field_text(vg_eval *ev, const char *path, const char **text,
                        size_t *len) {
  if (!ev->kind)
    return false;
  int f = vg__kind_field(ev->kind, path, strlen(path));
  if (f < 0 || !ev->vals[f].present)
    return false;
  *text = ev->vals[f].s;
  *len = ev->vals[f].len;
  return true;
}
