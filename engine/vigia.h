/* vigia.h - libvigia's public interface: configuration, the compiled
 * ruleset (schemas, lists, macros, rules) and the evaluator that screens one
 * record at a time. The library is pure: it reads rule files, never writes,
 * prints or opens a socket. */
#ifndef VIGIA_H
#define VIGIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "vg_error.h"

/* ---------------------------------------------------------------- config */

struct vg_kind_setting {
  char *kind;
  char *value; /* route name, or threshold as text */
  int number;  /* threshold */
};

struct vg_config {
  char *db;    /* NULL: "vigia.db" */
  char *rules; /* NULL: "rules" */
  char *phone_country_code;
  struct vg_kind_setting *thresholds;
  size_t nthresholds;
  struct vg_kind_setting *routes;
  size_t nroutes;
  size_t max_record_bytes; /* default 1 MiB */
  int retention_days;      /* default 180 */
};

#define VG_DEFAULT_THRESHOLD 50
#define VG_DEFAULT_MAX_RECORD_BYTES (1024u * 1024u)

/* Sets every key to its default. */
void vg_config_init(struct vg_config *cfg);
void vg_config_close(struct vg_config *cfg);
/* Reads a config file over the defaults in cfg. Returns 0, VG_EIO when the
 * file cannot be read, or VG_EINVAL with the problems in diags. */
int vg_config_load(struct vg_config *cfg, const char *path,
                   struct vg_diags *diags);
int vg_config_threshold(const struct vg_config *cfg, const char *kind);
/* The kind's default route, or NULL. */
const char *vg_config_route(const struct vg_config *cfg, const char *kind);

/* --------------------------------------------------------------- ruleset */

typedef struct vg_ruleset vg_ruleset;

/* Loads schemas from DIR/schemas/ and every *.yaml / *.yml below DIR
 * (except schemas/), checks all of it and compiles it. Every problem goes
 * to diags (all of them, not only the first). Returns 0 and sets *out when
 * there is no error (warnings allowed); otherwise returns VG_EINVAL (or
 * VG_EIO, VG_ENOMEM) and leaves *out untouched. cfg is copied from. */
int vg_ruleset_load(const char *dir, const struct vg_config *cfg,
                    struct vg_diags *diags, vg_ruleset **out);
void vg_ruleset_free(vg_ruleset *rs);

enum vg_field_type {
  VG_TYPE_STRING,
  VG_TYPE_TEXT,
  VG_TYPE_PHONE,
  VG_TYPE_INT,
  VG_TYPE_NUMBER,
  VG_TYPE_BOOL,
  VG_TYPE_DATE,
  VG_TYPE_DATETIME,
  VG_TYPE_LIST
};
const char *vg_field_type_name(enum vg_field_type type);

struct vg_field_info {
  const char *path;
  enum vg_field_type type;
  bool required, protected_, pii, drop, derived;
};

size_t vg_ruleset_kind_count(const vg_ruleset *rs);
const char *vg_ruleset_kind_name(const vg_ruleset *rs, size_t kind);
/* Index of a kind by name, or -1. */
int vg_ruleset_kind_find(const vg_ruleset *rs, const char *name);
/* The kind's subject field path, or NULL when its schema names none. */
const char *vg_ruleset_kind_subject(const vg_ruleset *rs, size_t kind);
int vg_ruleset_kind_threshold(const vg_ruleset *rs, size_t kind);
size_t vg_ruleset_field_count(const vg_ruleset *rs, size_t kind);
void vg_ruleset_field_info(const vg_ruleset *rs, size_t kind, size_t field,
                           struct vg_field_info *out);

struct vg_rule_info {
  const char *id, *title, *description;
  const char *kind; /* NULL for a correlation rule over several kinds */
  int score;
  bool enabled, correlation;
  const char *digest; /* lowercase hex SHA-256, 64 characters */
  const char *route;  /* explicit route or the kind's default; may be NULL */
  const char *const *tags;
  size_t ntags;
  const char *const *references;
  size_t nreferences;
  const char *file;
  int line;
  size_t ntests;
};

size_t vg_ruleset_rule_count(const vg_ruleset *rs);
void vg_ruleset_rule_info(const vg_ruleset *rs, size_t rule,
                          struct vg_rule_info *out);

/* ------------------------------------------------------------- evaluator */

typedef struct vg_eval vg_eval;

/* Per-thread scratch for screening against rs (borrowed; must outlive the
 * evaluator). Returns NULL when out of memory. */
vg_eval *vg_eval_new(const vg_ruleset *rs);
void vg_eval_free(vg_eval *ev);

struct vg_evidence {
  const char *selection;
  const char *field;
  /* The field's whole value as text (for a list, the element that held),
   * cut at VG_EVIDENCE_MAX bytes on a character boundary. */
  const char *value;
  size_t value_len;
  bool value_is_string;         /* false: number or bool text, emitted bare */
  int64_t span_start, span_end; /* byte span in the value, or -1 */
  const char *entry;            /* fuzzy: the list entry matched, or NULL */
  double similarity;            /* fuzzy: in [0, 1] */
  const char *related;          /* correlation: related record ids, JSON */
};
#define VG_EVIDENCE_MAX 256

struct vg_hit {
  size_t rule; /* index for vg_ruleset_rule_info */
  const char *rule_id, *title, *digest, *route;
  int score;
  const struct vg_evidence *evidence;
  size_t nevidence;
};

struct vg_result {
  size_t kind; /* index for vg_ruleset_kind_name */
  const char *kind_name;
  const char *id, *source;
  size_t id_len, source_len;
  int64_t observed_at; /* microseconds since 1970-01-01T00:00:00Z */
  int score;           /* sum of hit scores, capped at 100 */
  int threshold;
  bool opens_case;     /* score >= threshold */
  const char *subject; /* the subject field's value, or NULL */
  size_t subject_len;
  const struct vg_hit *hits;
  size_t nhits;
  const char *const *incomplete; /* rule ids a PCRE2 limit cut short */
  size_t nincomplete;
};

struct vg_reject {
  char field[128];  /* the field at fault, or "" */
  char reason[320]; /* one sentence naming the field, without the line */
};

/* Screens one record (a JSON object, not NUL-terminated). Returns 0 and
 * fills *result, valid until the next call on ev; or VG_EINVAL with *reject
 * filled when the record cannot be screened (not JSON, not UTF-8, not an
 * object, missing kind/id/observed_at or a required field, unknown kind,
 * wrong type); or VG_ENOMEM. Disabled rules never fire. The size limit is
 * the reader's to enforce (records over 4 GiB are refused here). */
int vg_eval_record(vg_eval *ev, const char *json, size_t len,
                   struct vg_result *result, struct vg_reject *reject);

/* As vg_eval_record, but evaluates only rule `rule`, even when disabled
 * (for embedded tests). */
int vg_eval_record_rule(vg_eval *ev, const char *json, size_t len, size_t rule,
                        struct vg_result *result, struct vg_reject *reject);

/* The last screened record's value of a declared field as display text
 * (dates and datetimes as written, numbers as in the JSON). Returns false
 * when the field is not declared for the record's kind or is missing. */
bool vg_eval_field_text(vg_eval *ev, const char *path, const char **text,
                        size_t *len);

/* ------------------------------------------------------ correlation */

/* One record as correlation state remembers it: no more than this. */
struct vg_corr_entry {
  const char *kind;
  const char *source, *id; /* the record's identity */
  size_t source_len, id_len;
  int64_t time;      /* observed_at, microseconds */
  const char *value; /* the counted value (distinct), folded; may be "" */
  size_t value_len;
};

typedef int (*vg_corr_visit)(const struct vg_corr_entry *entry, void *arg);

/* Durable state behind correlation rules, implemented outside the engine
 * (the SQLite store; vg_corr_mem_new for memory). Keys are normalised by
 * the engine. Both calls return 0 or a negative VG_E* code. */
struct vg_corr_state {
  /* Remembers entry under (rule, key), replacing an entry of the same
   * record identity. */
  int (*put)(struct vg_corr_state *self, const char *rule, const char *key,
             size_t key_len, const struct vg_corr_entry *entry);
  /* Calls visit for each entry of (rule, key) observed in [from, to]; a
   * non-zero return from visit stops the scan and is returned. */
  int (*scan)(struct vg_corr_state *self, const char *rule, const char *key,
              size_t key_len, int64_t from, int64_t to, vg_corr_visit visit,
              void *arg);
  /* Forgets entries observed before `before` (may be NULL). */
  int (*evict)(struct vg_corr_state *self, int64_t before);
  void (*free)(struct vg_corr_state *self);
};

/* The evaluator's correlation state (borrowed). Without one, a
 * correlation rule sees only the record being screened. */
void vg_eval_set_state(vg_eval *ev, struct vg_corr_state *state);

/* The longest correlation window of the set in microseconds (0 when it has
 * no correlation rule): state older than the newest observation minus this
 * may be evicted. */
int64_t vg_ruleset_max_window(const vg_ruleset *rs);

/* A state in memory. Returns NULL when out of memory. */
struct vg_corr_state *vg_corr_mem_new(void);
/* Reads from base and from a memory layer of its own, writes only to the
 * layer: --dry-run sees the stored state and its own records and changes
 * nothing. base is borrowed (may be NULL). Returns NULL when out of
 * memory. */
struct vg_corr_state *vg_corr_overlay_new(struct vg_corr_state *base);
static inline void vg_corr_state_free(struct vg_corr_state *state) {
  if (state)
    state->free(state);
}

/* --------------------------------------------------------- rule tests */

struct vg_rule_test_outcome {
  size_t rule;
  size_t test; /* 0-based within the rule */
  const char *file;
  int line;
  bool passed;
  char message[384]; /* why it failed */
};

typedef void (*vg_rule_test_cb)(const struct vg_rule_test_outcome *outcome,
                                void *user);

/* Runs every embedded test of every rule (disabled ones too), calling cb
 * once per test. Returns 0 or VG_ENOMEM; sets *passed and *failed. */
int vg_ruleset_run_tests(const vg_ruleset *rs, vg_rule_test_cb cb, void *user,
                         size_t *passed, size_t *failed);

#endif
