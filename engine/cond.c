/* cond.c - rule conditions (SPEC 2.3): a recursive-descent parser over
 * selection and macro names with `not` binding tightest, then `and`, then
 * `or`; `1 of PATTERN`, `all of PATTERN`, `N of them`; and the fairness
 * check (SPEC 2.6) over the condition's OR-of-AND terms. */
#include <ctype.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

enum tok_type { TOK_END, TOK_NAME, TOK_LPAREN, TOK_RPAREN, TOK_ERROR };

struct parser {
  struct vg_ruleset *rs;
  struct rule *rule;
  const struct vg_ynode *node;
  const char *file;
  struct vg_diags *diags;
  const char *text;
  size_t pos, len;
  /* current token */
  enum tok_type tok;
  size_t tok_start, tok_len;
  bool failed;
};

static bool name_char(char c) {
  return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' ||
         c == '*' || c == '?' || (unsigned char)c >= 0x80;
}

static void next_token(struct parser *p) {
  while (p->pos < p->len && isspace((unsigned char)p->text[p->pos]))
    p->pos++;
  p->tok_start = p->pos;
  if (p->pos >= p->len) {
    p->tok = TOK_END;
    p->tok_len = 0;
    return;
  }
  char c = p->text[p->pos];
  if (c == '(' || c == ')') {
    p->tok = c == '(' ? TOK_LPAREN : TOK_RPAREN;
    p->tok_len = 1;
    p->pos++;
    return;
  }
  if (name_char(c)) {
    while (p->pos < p->len && name_char(p->text[p->pos]))
      p->pos++;
    p->tok = TOK_NAME;
    p->tok_len = p->pos - p->tok_start;
    return;
  }
  p->tok = TOK_ERROR;
  p->tok_len = 1;
  p->pos++;
}

static bool tok_is(const struct parser *p, const char *word) {
  return p->tok == TOK_NAME && strlen(word) == p->tok_len &&
         memcmp(p->text + p->tok_start, word, p->tok_len) == 0;
}

/* Column of a byte offset in the condition: the scalar's column, past the
 * opening quote when quoted. Multi-line scalars point at their start.
 * Columns count characters, as the YAML reader's do. */
static void place(const struct parser *p, size_t offset, int *line, int *col) {
  *line = p->node->line;
  *col = p->node->col;
  if (memchr(p->text, '\n', p->len))
    return;
  size_t chars = 0;
  for (size_t i = 0; i < offset && i < p->len; i++)
    chars += ((unsigned char)p->text[i] & 0xC0) != 0x80;
  *col += (int)chars + (p->node->quoted ? 1 : 0);
}

static void fail(struct parser *p, size_t offset, const char *code,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void fail(struct parser *p, size_t offset, const char *code,
                 const char *fmt, ...) {
  if (p->failed)
    return;
  p->failed = true;
  int line, col;
  place(p, offset, &line, &col);
  va_list ap;
  va_start(ap, fmt);
  vg_diags_addv(p->diags, VG_SEV_ERROR, p->file, line, col, code, fmt, ap);
  va_end(ap);
}

static struct cond *new_cond(struct parser *p, enum cond_type type,
                             size_t offset) {
  struct cond *c = vg_arena_calloc(&p->rs->arena, 1, sizeof *c);
  if (!c) {
    fail(p, offset, "internal", "out of memory");
    return NULL;
  }
  c->type = type;
  c->offset = (int)offset;
  return c;
}

static int add_kid(struct parser *p, struct cond *c, struct cond *kid,
                   size_t *cap) {
  if (c->nkids == *cap) {
    size_t ncap = *cap ? *cap * 2 : 4;
    struct cond **k = vg_arena_alloc(&p->rs->arena, ncap * sizeof *k);
    if (!k)
      return VG_ENOMEM;
    if (c->nkids)
      memcpy(k, c->kids, c->nkids * sizeof *k);
    c->kids = k;
    *cap = ncap;
  }
  c->kids[c->nkids++] = kid;
  return VG_OK;
}

static struct cond *parse_or(struct parser *p);

static bool is_keyword(const struct parser *p) {
  return tok_is(p, "and") || tok_is(p, "or") || tok_is(p, "not") ||
         tok_is(p, "of") || tok_is(p, "them");
}

static struct cond *resolve_name(struct parser *p) {
  const char *name = p->text + p->tok_start;
  size_t len = p->tok_len, offset = p->tok_start;
  for (size_t i = 0; i < p->rule->nsels; i++)
    if (strlen(p->rule->sels[i].name) == len &&
        !memcmp(p->rule->sels[i].name, name, len)) {
      struct cond *c = new_cond(p, COND_SEL, offset);
      if (c)
        c->index = i;
      return c;
    }
  const struct macro_def *other = NULL;
  for (size_t i = 0; i < p->rs->nmacros; i++) {
    const struct macro_def *m = &p->rs->macros[i];
    if (strlen(m->name) != len || memcmp(m->name, name, len))
      continue;
    if (m->kind == p->rule->kind) {
      struct cond *c = new_cond(p, COND_MACRO, offset);
      if (c)
        c->index = i;
      return c;
    }
    other = m;
  }
  if (other)
    fail(p, offset, "unknown-macro", "macro '%.*s' is for kind '%s', not '%s'",
         (int)len, name, p->rs->kinds[other->kind].name,
         p->rs->kinds[p->rule->kind].name);
  else
    fail(p, offset, "unknown-selection",
         "'%.*s' is neither a selection of this rule nor a macro of kind "
         "'%s'",
         (int)len, name, p->rs->kinds[p->rule->kind].name);
  return NULL;
}

/* `1 of PATTERN`, `all of PATTERN`, `N of them`. */
static struct cond *parse_quantified(struct parser *p) {
  size_t offset = p->tok_start;
  bool all = tok_is(p, "all");
  size_t k = 0;
  if (!all) {
    /* Saturates: a count too large to hold is too large for any rule. */
    for (size_t i = 0; i < p->tok_len; i++)
      k = k > (SIZE_MAX - 9) / 10
              ? SIZE_MAX
              : k * 10 + (size_t)(p->text[p->tok_start + i] - '0');
  }
  next_token(p); /* "of" */
  next_token(p);
  if (p->tok != TOK_NAME || (is_keyword(p) && !tok_is(p, "them"))) {
    fail(p, p->tok_start, "bad-condition",
         "expected a selection pattern or 'them' after 'of'");
    return NULL;
  }
  bool them = tok_is(p, "them");
  char pattern[256];
  snprintf(pattern, sizeof pattern, "%.*s", (int)p->tok_len,
           p->text + p->tok_start);
  size_t pattern_offset = p->tok_start;
  next_token(p);
  struct cond *c = new_cond(p, all ? COND_AND : COND_AT_LEAST, offset);
  if (!c)
    return NULL;
  size_t cap = 0;
  for (size_t i = 0; i < p->rule->nsels; i++) {
    if (!them && fnmatch(pattern, p->rule->sels[i].name, 0) != 0)
      continue;
    struct cond *s = new_cond(p, COND_SEL, pattern_offset);
    if (!s || add_kid(p, c, s, &cap) != VG_OK)
      return NULL;
    s->index = i;
  }
  if (c->nkids == 0) {
    fail(p, pattern_offset, "unknown-selection",
         them ? "'them' names no selection: the rule has none"
              : "no selection of this rule matches '%s'",
         pattern);
    return NULL;
  }
  if (!all) {
    if (k == 0 || k > c->nkids) {
      fail(p, offset, "bad-condition",
           "'%zu of %s' can never hold: it names %zu selection%s", k, pattern,
           c->nkids, c->nkids == 1 ? "" : "s");
      return NULL;
    }
    c->k = k;
  }
  return c;
}

static struct cond *parse_primary(struct parser *p) {
  if (p->tok == TOK_LPAREN) {
    size_t open = p->tok_start;
    next_token(p);
    struct cond *c = parse_or(p);
    if (!c)
      return NULL;
    if (p->tok != TOK_RPAREN) {
      fail(p, open, "bad-condition", "'(' is not closed");
      return NULL;
    }
    next_token(p);
    return c;
  }
  if (p->tok == TOK_NAME && !is_keyword(p)) {
    bool number = true;
    for (size_t i = 0; i < p->tok_len; i++)
      if (!isdigit((unsigned char)p->text[p->tok_start + i]))
        number = false;
    if (number || tok_is(p, "all")) {
      /* Look ahead for "of". */
      size_t save_pos = p->pos, save_start = p->tok_start,
             save_len = p->tok_len;
      next_token(p);
      bool of = tok_is(p, "of");
      p->pos = save_pos;
      p->tok_start = save_start;
      p->tok_len = save_len;
      p->tok = TOK_NAME;
      if (of)
        return parse_quantified(p);
    }
    struct cond *c = resolve_name(p);
    next_token(p);
    return c;
  }
  if (p->tok == TOK_END)
    fail(p, p->tok_start, "bad-condition",
         "the condition ends where a selection name was expected");
  else if (p->tok == TOK_ERROR)
    fail(p, p->tok_start, "bad-condition", "unexpected character '%c'",
         p->text[p->tok_start]);
  else
    fail(p, p->tok_start, "bad-condition",
         "expected a selection name, 'not' or '(' but found '%.*s'",
         (int)p->tok_len, p->text + p->tok_start);
  return NULL;
}

static struct cond *parse_not(struct parser *p) {
  if (tok_is(p, "not")) {
    size_t offset = p->tok_start;
    next_token(p);
    struct cond *kid = parse_not(p);
    if (!kid)
      return NULL;
    struct cond *c = new_cond(p, COND_NOT, offset);
    size_t cap = 0;
    if (!c || add_kid(p, c, kid, &cap) != VG_OK)
      return NULL;
    return c;
  }
  return parse_primary(p);
}

static struct cond *parse_binary(struct parser *p, const char *op,
                                 enum cond_type type,
                                 struct cond *(*operand)(struct parser *)) {
  size_t offset = p->tok_start;
  struct cond *first = operand(p);
  if (!first || !tok_is(p, op))
    return first;
  struct cond *c = new_cond(p, type, offset);
  size_t cap = 0;
  if (!c || add_kid(p, c, first, &cap) != VG_OK)
    return NULL;
  while (tok_is(p, op)) {
    next_token(p);
    struct cond *kid = operand(p);
    if (!kid || add_kid(p, c, kid, &cap) != VG_OK)
      return NULL;
  }
  return c;
}

static struct cond *parse_and(struct parser *p) {
  return parse_binary(p, "and", COND_AND, parse_not);
}

static struct cond *parse_or(struct parser *p) {
  return parse_binary(p, "or", COND_OR, parse_and);
}

struct cond *vg__cond_parse(struct vg_ruleset *rs, struct rule *rule,
                            const struct vg_ynode *node, const char *file,
                            struct vg_diags *diags) {
  struct parser p = {.rs = rs,
                     .rule = rule,
                     .node = node,
                     .file = file,
                     .diags = diags,
                     .text = node->str,
                     .len = node->len};
  next_token(&p);
  if (p.tok == TOK_END) {
    fail(&p, 0, "bad-condition", "the condition is empty");
    return NULL;
  }
  struct cond *c = parse_or(&p);
  if (c && p.tok != TOK_END) {
    if (p.tok == TOK_RPAREN)
      fail(&p, p.tok_start, "bad-condition", "')' without a matching '('");
    else
      fail(&p, p.tok_start, "bad-condition",
           "expected 'and', 'or' or the end of the condition but found '%.*s'",
           (int)p.tok_len, p.text + p.tok_start);
    return NULL;
  }
  return p.failed ? NULL : c;
}

void vg__cond_mark_used(struct vg_ruleset *rs, struct rule *rule,
                        const struct cond *c) {
  if (c->type == COND_SEL)
    rule->sels[c->index].used = true;
  else if (c->type == COND_MACRO)
    rs->macros[c->index].used = true;
  for (size_t i = 0; i < c->nkids; i++)
    vg__cond_mark_used(rs, rule, c->kids[i]);
}

/* ------------------------------------------------------------ fairness */

struct term_buf {
  char *s;
  size_t cap, len;
};

static void term_add(struct term_buf *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void term_add(struct term_buf *t, const char *fmt, ...) {
  if (t->len >= t->cap)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
  va_end(ap);
  if (n > 0)
    t->len = t->len + (size_t)n < t->cap ? t->len + (size_t)n : t->cap - 1;
}

static bool test_is_safe(const struct vg__kind *k, const struct test *t) {
  if (t->op == OP_EXISTS && t->negate_exists)
    return false;
  if (k->fields[t->field].protected_)
    return false;
  if (t->ref_field >= 0 && k->fields[t->ref_field].protected_)
    return false;
  return true;
}

/* Writes a description of the selection's unsafe group to t and returns
 * true when the selection has a group without a safe test. */
static bool selection_unsafe(const struct vg__kind *k,
                             const struct selection *s, const char *name,
                             bool negated, struct term_buf *t) {
  if (negated) {
    term_add(t, "not %s", name);
    return true;
  }
  for (size_t g = 0; g < s->ngroups; g++) {
    bool safe = false;
    for (size_t i = 0; i < s->groups[g].count; i++)
      if (test_is_safe(k, &s->tests[s->groups[g].first + i]))
        safe = true;
    if (safe)
      continue;
    term_add(t, "%s (", name);
    for (size_t i = 0; i < s->groups[g].count; i++)
      term_add(t, "%s%s", i ? ", " : "", s->tests[s->groups[g].first + i].key);
    term_add(t, ")");
    return true;
  }
  return false;
}

/* True when the condition, negated or not, has an OR-term without a
 * positive test on a non-protected field; the term goes to t. Works on the
 * tree without expanding it, so large conditions cost no more than their
 * size. */
static bool unsafe(const struct vg_ruleset *rs, const struct rule *rule,
                   const struct cond *c, bool negated, struct term_buf *t) {
  const struct vg__kind *k = &rs->kinds[rule->kind];
  switch (c->type) {
  case COND_SEL:
    return selection_unsafe(k, &rule->sels[c->index], rule->sels[c->index].name,
                            negated, t);
  case COND_MACRO:
    return selection_unsafe(k, &rs->macros[c->index].sel,
                            rs->macros[c->index].name, negated, t);
  case COND_NOT:
    return unsafe(rs, rule, c->kids[0], !negated, t);
  case COND_AND:
  case COND_OR: {
    /* A negated AND is an OR of negations, and the other way round. */
    bool is_or = (c->type == COND_OR) != negated;
    if (is_or) {
      for (size_t i = 0; i < c->nkids; i++) {
        size_t mark = t->len;
        if (unsafe(rs, rule, c->kids[i], negated, t))
          return true;
        t->len = mark;
        t->s[mark] = '\0';
      }
      return false;
    }
    size_t mark = t->len;
    for (size_t i = 0; i < c->nkids; i++) {
      if (i)
        term_add(t, " and ");
      if (!unsafe(rs, rule, c->kids[i], negated, t)) {
        t->len = mark;
        t->s[mark] = '\0';
        return false;
      }
    }
    return true;
  }
  case COND_AT_LEAST: {
    /* At least k of n hold: some term takes k children together. Negated:
     * at least n-k+1 of the negated children hold. */
    size_t need = negated ? c->nkids - c->k + 1 : c->k, found = 0;
    size_t mark = t->len;
    for (size_t i = 0; i < c->nkids && found < need; i++) {
      size_t before = t->len;
      if (found)
        term_add(t, " and ");
      if (unsafe(rs, rule, c->kids[i], negated, t)) {
        found++;
      } else {
        t->len = before;
        t->s[before] = '\0';
      }
    }
    if (found >= need)
      return true;
    t->len = mark;
    t->s[mark] = '\0';
    return false;
  }
  }
  return false;
}

int vg__cond_fairness(const struct vg_ruleset *rs, const struct rule *rule,
                      char *term, size_t cap) {
  struct term_buf t = {.s = term, .cap = cap, .len = 0};
  term[0] = '\0';
  return unsafe(rs, rule, rule->cond, false, &t) ? VG_EINVAL : VG_OK;
}
