/* internal.h - the compiled ruleset shared by the loader (ruleset.c,
 * schema.c, cond.c) and the evaluator (eval.c). Built once by
 * vg_ruleset_load, then read-only: any number of evaluators may share it. */
#ifndef VG_INTERNAL_H
#define VG_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acm.h"
#include "arena.h"
#include "fold.h"
#include "json.h"
#include "vigia.h"
#include "regex.h"
#include "ydoc.h"

/* ------------------------------------------------------------- schemas */

enum derived_fn {
  DERIVED_NONE,
  DERIVED_YEARS,
  DERIVED_DAYS,
  DERIVED_HOURS,
  DERIVED_COUNT
};

/* Implicit fields come first in every kind, in this order. */
enum {
  FIELD_KIND,
  FIELD_ID,
  FIELD_SOURCE,
  FIELD_OBSERVED_AT,
  FIELD_IMPLICIT_COUNT
};

struct vg__field {
  char *path;
  size_t path_len; /* looked up by path per record (vg_eval_field_text) */
  enum vg_field_type type;
  bool required, protected_, pii, drop;
  int json_index;     /* slot in the record scanner's tokens; -1 derived */
  enum derived_fn fn; /* derived: how, from which fields of the kind */
  int arg_a, arg_b;
  int line, col;
};

struct vg__kind {
  char *name;
  char *schema_file;
  char *subject;
  int subject_field; /* -1 when none */
  struct vg__field *fields;
  size_t nfields;
  int threshold;
  char *route;
  size_t *rules; /* indices of the rules screening this kind */
  size_t nrules;
  size_t *macros; /* macros of this kind */
  size_t nmacros;
};

/* --------------------------------------------------------------- tests */

enum test_op {
  OP_EQ,
  OP_CONTAINS,
  OP_STARTSWITH,
  OP_ENDSWITH,
  OP_RE,
  OP_GT,
  OP_GTE,
  OP_LT,
  OP_LTE,
  OP_EXISTS,
  OP_IN,
  OP_FUZZY
};

/* A constant a field is compared with, in every form a comparison needs. */
struct konst {
  const char *raw; /* as written */
  size_t raw_len;
  const char *folded; /* vg_fold of raw, or phone key for phone fields */
  size_t folded_len;
  double number;
  int64_t time; /* date or datetime, microseconds */
  bool boolean;
  pcre2_code *re;
  bool jit; /* re compiled to machine code */
  /* Prefilter: the regex can only match when the value holds, for every
   * set, one of its literals (see regex.h). No sets: always run it. */
  struct vg_regex_literals lits;
  bool literal_caseless;
  /* The same literals as ids in a shared matcher over the field (-1 when
   * the field is a list: elements are searched one by one). */
  int prefilter;
  uint32_t *literal_ids;
};

/* One multi-literal matcher per (kind, field, how the value is read). */
enum prefilter_mode { PREFILTER_RAW, PREFILTER_LOWER, PREFILTER_FOLDED };

/* In PREFILTER_LOWER matchers these literal ids are KELVIN SIGN and LONG
 * S: both match ASCII letters caselessly, so when they occur an ASCII
 * search proves nothing and the pattern runs. */
#define PREFILTER_UNSAFE_IDS 2

struct prefilter {
  size_t kind;
  int field;
  enum prefilter_mode mode;
  struct vg_acm *acm;
  size_t words;  /* bitmap words */
  size_t offset; /* where its bitmap starts in the evaluator's */
  const char **lits;
  size_t *lens;
  uint8_t *bounds;
  size_t nlits, cap;
};

struct list_def;

struct test {
  const char *key; /* "field|mod|mod", for messages */
  int field;       /* index into the kind's fields */
  enum test_op op;
  bool all, cased, fold_re, negate_exists;
  int ref_field; /* fieldref: the other field, else -1 */
  struct konst *values;
  size_t nvalues;
  const struct list_def *list; /* in, fuzzy */
  int line, col;
};

/* A selection: an OR of groups, each group an AND of tests. A map is one
 * group; a list of maps is one group per map. */
struct group {
  size_t first, count; /* range in the owner's tests */
};

struct selection {
  const char *name;
  struct test *tests;
  size_t ntests;
  struct group *groups;
  size_t ngroups;
  int line, col;
  bool used;
};

/* --------------------------------------------------------- conditions */

enum cond_type {
  COND_SEL,
  COND_MACRO,
  COND_NOT,
  COND_AND,
  COND_OR,
  COND_AT_LEAST
};

struct cond {
  enum cond_type type;
  size_t index; /* SEL: rule selection; MACRO: ruleset macro */
  size_t k;     /* AT_LEAST: how many children must hold */
  struct cond **kids;
  size_t nkids;
  int offset; /* byte offset in the condition text, for messages */
};

struct list_def {
  const char *name;
  const char *file;
  int line, col;
  const char **items; /* raw entries */
  size_t *item_lens;
  size_t nitems;
  double threshold;
  struct vg_strset *folded; /* `in` on text fields */
  struct vg_strset *phones; /* `in` on phone fields */
  struct vg_fuzzy_list *fuzzy;
  char digest_json_dummy;
  bool used;
};

struct macro_def {
  const char *name;
  const char *file;
  int line, col;
  size_t kind;
  struct selection sel;
  const struct vg_ynode *node;
  bool used;
};

enum corr_type { CORR_COUNT, CORR_DISTINCT, CORR_KINDS };

/* A correlation rule's key in one kind. */
struct corr_key {
  size_t kind;
  int field;       /* the key field */
  int value_field; /* distinct: the counted field, else -1 */
};

struct correlation {
  enum corr_type type;
  int64_t window; /* microseconds */
  size_t gte;
  struct corr_key *keys;
  size_t nkeys;
};

struct rule {
  const char *id, *title, *description, *route, *file;
  int line, col;
  size_t kind;
  int score;
  bool enabled;
  const char **tags, **references;
  size_t ntags, nreferences;
  struct selection *sels;
  size_t nsels;
  struct cond *cond;        /* NULL for a correlation without match */
  struct correlation *corr; /* NULL for an ordinary rule */
  bool multi_kind;          /* a correlation over several kinds */
  char digest[65];
  const struct vg_ynode *tests_node; /* embedded tests, or NULL */
  size_t ntests;
  struct vg_ydoc *doc; /* the file it came from */
};

struct vg_ruleset {
  struct vg_arena arena;
  struct vg_config cfg_copy_unused;
  char *phone_country_code;
  struct vg__kind *kinds;
  size_t nkinds;
  struct vg_pathtrie *trie;
  size_t ntrie;
  struct rule *rules;
  size_t nrules;
  struct list_def *lists;
  size_t nlists;
  struct macro_def *macros;
  size_t nmacros;
  struct vg_ydoc *docs; /* every YAML file read, kept for tests/messages */
  size_t ndocs;
  pcre2_match_context *match_ctx;
  struct prefilter *prefilters;
  size_t nprefilters;
  size_t prefilter_words;
  pcre2_code **codes; /* every compiled pattern, freed with the set */
  size_t ncodes, codes_cap;
  size_t max_fields;
  size_t max_sels;
  int64_t max_window;
};

/* True when rule r screens records of kind k. */
bool vg__rule_screens_kind(const struct rule *r, size_t k);

/* schema.c: reads the YAML files of DIR/schemas into rs->kinds and the
 * trie. */
int vg__schemas_load(struct vg_ruleset *rs, const char *dir,
                     const struct vg_config *cfg, struct vg_diags *diags);
/* Index of a field of kind k by path, or -1. */
int vg__kind_field(const struct vg__kind *k, const char *path, size_t len);
/* The declared field closest to path (for "did you mean"), or NULL. */
const char *vg__kind_suggest(const struct vg__kind *k, const char *path);

/* cond.c: parses a condition. names/nnames are the rule's selections;
 * macros are looked up in rs for kind. Problems go to diags at the
 * condition node. Returns NULL on error. */
struct cond *vg__cond_parse(struct vg_ruleset *rs, struct rule *rule,
                            const struct vg_ynode *node, const char *file,
                            struct vg_diags *diags);
/* The fairness rule: 0 when every OR-term of the condition (macros
 * expanded) holds a positive test on a non-protected field; otherwise
 * VG_EINVAL with the offending term written to term (NUL-terminated). */
int vg__cond_fairness(const struct vg_ruleset *rs, const struct rule *rule,
                      char *term, size_t cap);
/* Marks the selections a condition uses as used. */
void vg__cond_mark_used(struct vg_ruleset *rs, struct rule *rule,
                        const struct cond *c);

/* ycanon.c: canonical JSON of a YAML node (keys sorted, plain scalars typed
 * by the core schema). Appends to *buf (realloc'd). Returns 0 or
 * VG_ENOMEM. */
struct vg__buf {
  char *data;
  size_t len, cap;
};
int vg__buf_append(struct vg__buf *b, const char *s, size_t len);
/* Appends s as a JSON string literal. */
int vg__buf_json_string(struct vg__buf *b, const char *s, size_t len);
int vg__ynode_to_json(const struct vg_ynode *node, struct vg__buf *buf,
                      bool sort_keys);

/* Builds the prefilter matchers from the compiled regexes. */
int vg__prefilters_build(struct vg_ruleset *rs);
void vg__prefilters_free(struct vg_ruleset *rs);

/* Levenshtein distance, capped (for suggestions). */
size_t vg__edit_distance(const char *a, const char *b, size_t cap);

#endif
