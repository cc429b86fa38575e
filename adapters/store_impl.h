/* store_impl.h - what the store's source files (store.c, store_case.c,
 * store_audit.c, store_report.c) share: the handle, its prepared
 * statements and small helpers. Not part of the store's interface. */
#ifndef VG_STORE_IMPL_H
#define VG_STORE_IMPL_H

#include <openssl/evp.h>
#include <sqlite3.h>

#include "store.h"

/* Every statement the store runs, prepared once on first use. The SQL
 * texts are constants in store.c: no statement is ever built from input. */
enum stmt_id {
  ST_BEGIN,
  ST_COMMIT,
  ST_ROLLBACK,
  ST_IDENTITY_EXISTS,
  ST_LOOKUP,
  ST_INSERT_RECORD,
  ST_LOG_TOTALS,
  ST_READ_TOTALS_LOG,
  ST_CLEAR_TOTALS_LOG,
  ST_RULE_TOTAL,
  ST_OPEN_CASE_FOR,
  ST_INSERT_CASE,
  ST_JOIN_CASE,
  ST_TOUCH_CASE,
  ST_CASE_SCORE,
  ST_INSERT_CASE_RULE,
  ST_INSERT_CASE_ROUTE,
  ST_CASE_QUEUE_VALUES,
  ST_CASES_OF_RECORD,
  ST_INSERT_LINK,
  ST_KIND_TOTAL,
  ST_FAIR_TOTAL,
  ST_FAIR_DECIDED,
  ST_CASE_VALUES,
  ST_UPSERT_FIELD,
  ST_INSERT_REJECT,
  ST_LAST_EVENT,
  ST_INSERT_EVENT,
  ST_CASE_ROW,
  ST_CASE_SET,
  ST_OTHER_OPEN_CASE,
  ST_QUEUE_OPEN,
  ST_QUEUE_STATUS,
  ST_QUEUE_NEW,
  ST_QUEUE_KIND,
  ST_QUEUE_ASSIGNEE,
  ST_QUEUE_RULE,
  ST_QUEUE_ROUTE,
  ST_CASE_RECORDS,
  ST_CASE_LINKS,
  ST_CASE_EVENTS,
  ST_PII_FIELDS,
  ST_EVENTS_ALL,
  ST_CASE_LAST_EVENTS,
  ST_STATS_RULES,
  ST_STATS_KINDS,
  ST_FAIR_FIELD,
  ST_PROTECTED_FIELDS,
  ST_REJECTS,
  ST_PURGE_SELECT,
  ST_PURGE_CASE,
  ST_PURGE_COUNT_RECORDS,
  ST_PURGE_LOOSE_RECORDS,
  ST_PURGE_REJECTS,
  ST_COUNT
};

/* A growing text buffer, always NUL-terminated once written to. */
struct vg__sbuf {
  char *p;
  size_t len, cap;
};

/* Scratch buffers of the canonical JSON writer, kept between records so
 * that a record costs no allocation once they have grown. */
struct vg__canon_scratch {
  struct vg__sbuf key, tmp;
};

/* Running totals gathered in memory during a batch and written once at
 * its commit, so records without hits cost no SQL statement each. */
struct agg_entry {
  char *key; /* kind, or kind \0 field \0 value */
  size_t keylen;
  uint8_t type; /* AGG_KIND, AGG_FAIR or AGG_RULE (records: hits) */
  bool present; /* AGG_FAIR: the field had a value */
  int64_t records, flagged;
};
enum { AGG_KIND = 1, AGG_FAIR = 2, AGG_RULE = 3 };

struct agg_table {
  struct agg_entry *slots; /* open addressing; key NULL is empty */
  size_t cap, count;
};

/* Per kind of the ruleset last seen by vg_store_ingest. */
struct kind_cache {
  const char **drop; /* paths of fields marked drop */
  size_t ndrop;
  const char **protected_; /* paths of protected fields */
  size_t nprotected;
};

struct vg_store {
  sqlite3 *db;
  sqlite3_stmt *st[ST_COUNT];
  bool in_batch;
  bool batch_failed; /* rolled back after an error: its commit fails */
  int64_t clock_us;  /* fixed clock for tests; 0: the real clock */
  char *actor;       /* actor of the events screening writes */
  char errmsg[512];
  const vg_ruleset *rs; /* whose field flags are cached below */
  struct kind_cache *kinds;
  size_t nkinds;
  struct agg_table agg;
  int log_rows; /* rows this handle added to totals_log since its fold */
  /* A Bloom filter of the stored identities (source, id), loaded at the
   * first lookup: most records have no hits and were never stored, and
   * the filter answers that without a query. */
  uint64_t *seen;
  uint64_t seen_mask; /* blocks - 1: a power of two, 512 bits a block */
  EVP_MD *sha256;     /* fetched once: a fetch per digest costs more than the
                         digest of a record */
  EVP_MD_CTX *mdctx;
  struct vg__item *item; /* vg_store_ingest's, kept between records */
  /* The canonical JSON writer's, used where items are applied (one thread
   * at a time). */
  struct vg__canon_scratch canon_scratch;
  struct vg__sbuf canon_input; /* a record's text while it is made canonical */
};

#define OPEN_STATUSES "('new','in_review','escalated')"
/* The statuses only a reviewer gives a case: screening opens cases as
 * `new`, without an assignee. */
#define REVIEWED_STATUSES "('in_review','escalated','confirmed','dismissed')"

/* Returns the prepared statement id, reset and with its bindings cleared,
 * or NULL with the error in store->errmsg. */
sqlite3_stmt *vg__store_stmt(vg_store *store, enum stmt_id id);
/* Records SQLite's message for the failed step rc in store->errmsg and
 * returns VG_EIO (or VG_ENOMEM). */
int vg__store_fail(vg_store *store, const char *what);
/* Sets store->errmsg from a format; returns code. */
int vg__store_error(vg_store *store, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Current time in microseconds since the epoch (or the fixed clock). */
int64_t vg__store_now(const vg_store *store);
/* Runs a statement without result rows to completion. */
int vg__store_exec(vg_store *store, sqlite3_stmt *st, const char *what);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK for one change outside a batch. */
int vg__store_begin(vg_store *store);
int vg__store_commit(vg_store *store);
void vg__store_rollback(vg_store *store);

/* Each returns 0 or VG_ENOMEM (vg__sbuf_real and vg__sbuf_json also
 * VG_EINVAL for a value JSON cannot hold). */
int vg__sbuf_reserve(struct vg__sbuf *b, size_t n);
int vg__sbuf_put(struct vg__sbuf *b, const char *s, size_t n);
/* A JSON string of the UTF-8 bytes s[0..n) with only the escapes JSON
 * requires: quote, backslash and control characters. */
int vg__sbuf_string(struct vg__sbuf *b, const char *s, size_t n);
/* The shortest decimal that reads back as the same double. */
int vg__sbuf_real(struct vg__sbuf *b, double v);
/* A jansson value as canonical JSON. */
int vg__sbuf_json(struct vg__sbuf *b, json_t *v, int depth);

void vg__canon_scratch_free(struct vg__canon_scratch *scratch);
/* vg_store_canonical_json appending to out (left as it was on error). */
int vg__canonical_append(struct vg__sbuf *out,
                         struct vg__canon_scratch *scratch, const char *json,
                         size_t len, const char *const *drop, size_t ndrop);

/* vg_store_sha256_hex with the store's digest context. */
void vg__store_sha256(vg_store *store, const void *data, size_t len,
                      char hex[65]);

/* Binds text that may be NULL (then SQL NULL). */
int vg__bind_text(sqlite3_stmt *st, int col, const char *text, size_t len);
/* A column as a jansson string (NULL column: JSON null). */
json_t *vg__col_json_string(sqlite3_stmt *st, int col);
/* A time column (microseconds) as an RFC 3339 JSON string, or null. */
json_t *vg__col_json_time(sqlite3_stmt *st, int col);

/* Offset of no text in an ingest item. */
#define VG__NO_TEXT SIZE_MAX

struct vg__item_hit {
  size_t rule, route; /* offsets in the item's text; route may be none */
};
struct vg__item_value {
  size_t field, value, value_len; /* value VG__NO_TEXT: the record has none */
};

/* One screened record as the store keeps it, copied out of the engine's
 * per-record memory. Filling one runs no SQL (vg__item_prepare), applying
 * it is all the SQL (vg__item_apply): vg_store_ingest does both at once,
 * the writer (store_writer.c) fills items on the screening thread and
 * applies them on its own. Strings live in text, NUL-terminated and
 * addressed by offset, so the buffer may grow while the item is filled;
 * the buffers are kept from record to record. */
struct vg__item {
  struct vg__sbuf text;
  size_t source, source_len, id, id_len, kind, subject, subject_len;
  int score;
  int64_t observed_at;
  bool opens_case;
  bool has_content; /* content and sha256 are set */
  size_t content, content_len;
  /* The record as read, when its content is needed but not yet made
   * canonical: the JSON work is left to whoever applies the item (the
   * writer's thread, which has less to do than the screening one). */
  bool has_raw;
  size_t raw, raw_len, kind_index;
  char sha256[65];
  size_t hits_json, hits_json_len;
  size_t fair, fair_len; /* protected values as JSON; none without any */
  struct vg__item_hit *hits;
  size_t nhits, cap_hits;
  struct vg__item_value *values;
  size_t nvalues, cap_values;
  size_t *related; /* the `related` JSON of correlation evidence */
  size_t nrelated, cap_related;
  char err[160]; /* why vg__item_prepare failed */
};

void vg__item_free(struct vg__item *it);
/* Fills it from one record's screening; no SQL runs (the rule set's field
 * flags and the identity filter must be loaded: vg__store_ready). Only
 * one thread at a time may prepare items for a store. */
int vg__item_prepare(vg_store *store, vg_eval *ev, const struct vg_result *res,
                     const char *json, size_t json_len, struct vg__item *it);
/* Stores what it says inside the open batch (or a batch of its own). */
int vg__item_apply(vg_store *store, struct vg__item *it,
                   struct vg_ingest_outcome *out);
/* Folds the running totals logged by batches into their tables (inside
 * the open batch, or a transaction of its own): readers of the totals call
 * it first. */
int vg__store_fold_totals(vg_store *store);
/* Rolls the open batch back (nothing of it is kept). */
void vg__store_abort_batch(vg_store *store);
/* Loads what vg__item_prepare reads: rs's field flags, the identities
 * already stored. */
int vg__store_ready(vg_store *store, const vg_ruleset *rs);

/* The store's checkpoint interval in pages, unless its user sets one. */
#define VG__CHECKPOINT_PAGES 8192

/* The store's checkpoints on a thread and connection of their own
 * (store_checkpoint.c): started, they replace SQLite's checkpoints inside
 * commits, and begin once the log holds `pages` pages. Returns NULL where
 * that cannot be (an in-memory store, no threads, no second connection):
 * SQLite's checkpoints then stay. */
struct vg__checkpointer;
struct vg__checkpointer *vg__checkpointer_start(vg_store *store, int pages);
/* Stops the thread and gives the checkpoints back to SQLite's commits,
 * every `pages` pages. */
void vg__checkpointer_stop(struct vg__checkpointer *c, int pages);

/* Appends an audit event for case_id inside the caller's transaction and
 * links it into the chain. from/to/note/reason may be NULL. */
int vg__store_event(vg_store *store, int64_t case_id, const char *actor,
                    const char *action, const char *from, const char *to,
                    const char *note, const char *reason);

/* Adds delta to the confirmed or dismissed fairness counters of every
 * protected value of the records of case_id. */
int vg__store_fair_decided(vg_store *store, int64_t case_id, const char *status,
                           int delta);

#endif
