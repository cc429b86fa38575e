/* store.h - the review queue's durable store (SQLite): records with hits,
 * hits, cases and their lifecycle, the audit chain, rejects, and per-kind
 * running totals. The engine never sees SQLite; the CLI and the socket
 * server use this interface. */
#ifndef VG_STORE_H
#define VG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "vigia.h"

/* A case transition not allowed in the case's status or for that actor
 * (the CLI's exit 5, the socket's `conflict`). */
#define VG_EREFUSED (-32)

typedef struct vg_store vg_store;

/* Opens (create: creating and migrating when missing) the database at path.
 * Without create, a missing database is VG_ENOTFOUND. Returns 0 and sets
 * *out, or a negative VG_E* code with a message in err. */
int vg_store_open(const char *path, bool create, vg_store **out, char *err,
                  size_t errlen);
/* Commits any open batch and closes. NULL is a no-op. */
void vg_store_close(vg_store *store);

/* Screening writes are grouped into batches (one transaction each). */
int vg_store_batch_begin(vg_store *store);
int vg_store_batch_commit(vg_store *store);

enum vg_ingest_status {
  VG_INGEST_SCREENED, /* screened; stored when it has hits */
  VG_INGEST_DUPLICATE /* same (source, id, content) already stored */
};

struct vg_ingest_outcome {
  enum vg_ingest_status status;
  int64_t case_id;  /* case the record joined or opened, 0 for none */
  bool case_opened; /* this record opened a new case */
};

/* Records the screening of one record: result and ev come from the
 * vg_eval_record call that produced them (ev gives field values, e.g. for
 * removing `drop` fields and for fairness totals); json is the record as
 * read. Stores the record (canonical JSON, dropped fields removed) and its
 * hits when it has any, opens or joins a case when result->opens_case,
 * recognises duplicates and new versions, and updates running totals.
 * Must be inside a batch. Returns 0 and fills *out, or a negative code. */
int vg_store_ingest(vg_store *store, const vg_ruleset *rs, vg_eval *ev,
                    const struct vg_result *result, const char *json,
                    size_t json_len, struct vg_ingest_outcome *out);

/* Stores a rejected input (or a message-level warning, is_warning). */
int vg_store_add_reject(vg_store *store, const char *source, long line,
                        const char *where, const char *reason, const char *raw,
                        size_t raw_len, bool is_warning);

/* Screening into the store on two threads: the caller screens and hands
 * each result over; a writer thread stores them in the order given, in
 * batches (one transaction each). While a writer runs, the store is used
 * only through it, except for the correlation state (which the screening
 * thread may use) and after vg_store_writer_sync, until more is handed
 * over. */
typedef struct vg_store_writer vg_store_writer;

enum vg_applied_type {
  VG_APPLIED_RECORD, /* a record, stored (or found a duplicate) */
  VG_APPLIED_REJECT, /* a reject, stored */
  VG_APPLIED_MARK    /* a mark the caller placed between entries */
};

/* What the writer reports of each entry it applied. */
struct vg_store_applied {
  enum vg_applied_type type;
  struct vg_ingest_outcome outcome; /* VG_APPLIED_RECORD */
  size_t nhits;                     /* the record's hits */
  const char *tag; /* the bytes given with the entry (NULL when none) */
  size_t tag_len;
};

/* Every hook runs on the writer's thread, in the order of the entries. */
struct vg_store_writer_hooks {
  /* Each entry once applied, inside the open batch; a non-zero return
   * fails the batch as a store failure would. */
  int (*applied)(void *arg, const struct vg_store_applied *a);
  /* After each commit: everything applied before is durable. */
  void (*committed)(void *arg);
  /* With keep_going, after a failure rolled back the open batch (message
   * says why): nothing applied since the last commit is stored, and the
   * next entry opens a new batch. tag is the failed entry's (NULL when a
   * commit failed). */
  void (*failed)(void *arg, int rc, const char *message, const char *tag,
                 size_t tag_len);
  void *arg;
  long batch_records; /* entries per transaction at most; 0: 4096 */
  /* false: the first failure stops the writer and is returned by every
   * later call (a file run); true: the writer goes on (a server). */
  bool keep_going;
  /* Checkpoint the write-ahead log every so many pages (0: the store's
   * default). They run in the writer's commits, unless checkpoint_thread. */
  int checkpoint_pages;
  /* Checkpoints on a thread and connection of their own, beside the
   * commits (a server, whose clients wait for each commit); a commit then
   * pauses only to copy the last few pages of the log. */
  bool checkpoint_thread;
  /* Chunks of up to 128 entries handed over and not yet stored, at most
   * (1-32; 0: 4); each keeps its entries' buffers. Full chunks (a file)
   * need few; a server handing over each request needs more. */
  int queue_chunks;
};

/* Starts the writer for records screened with rs. Returns 0 and sets
 * *out, or a negative code (vg_store_errmsg). */
int vg_store_writer_start(vg_store *store, const vg_ruleset *rs,
                          const struct vg_store_writer_hooks *hooks,
                          vg_store_writer **out);
/* vg_store_ingest through the writer: prepares the record from result and
 * ev (valid only until the next evaluation) and queues it; waits when the
 * writer is far behind. tag (copied) comes back with the outcome. Returns
 * 0 or a failure: without keep_going, one that stops the run (this call's
 * or the writer's; the run should then finish); with it, this call's only
 * (the record was not queued; vg_store_errmsg says why). */
int vg_store_writer_record(vg_store_writer *w, vg_eval *ev,
                           const struct vg_result *result, const char *json,
                           size_t json_len, const char *tag, size_t tag_len);
/* vg_store_add_reject through the writer. */
int vg_store_writer_reject(vg_store_writer *w, const char *source, long line,
                           const char *where, const char *reason,
                           const char *raw, size_t raw_len, bool is_warning,
                           const char *tag, size_t tag_len);
/* Queues a mark: the applied hook sees it after the entries before it. */
int vg_store_writer_mark(vg_store_writer *w, const char *tag, size_t tag_len);
/* Hands what is queued to the writer now rather than when a chunk fills;
 * with commit_point, the writer commits once it has applied it. */
void vg_store_writer_flush(vg_store_writer *w, bool commit_point);
/* Commits everything queued and waits until the writer is idle: the
 * caller may then use the store directly until it hands over more.
 * Returns what vg_store_writer_record would. */
int vg_store_writer_sync(vg_store_writer *w);
/* Stores everything queued, commits, stops the writer and frees it.
 * Returns 0, or the failure that stopped the run (then nothing after the
 * last good commit is kept; vg_store_errmsg says why). */
int vg_store_writer_finish(vg_store_writer *w);

/* ------------------------------------------------------------------ */
/* Added for the review-queue commands, the socket server, the tests and
 * the benchmark. Every function that can fail leaves a message for
 * vg_store_errmsg. */

/* The last error's message ("" when none). Owned by the store. */
const char *vg_store_errmsg(const vg_store *store);
/* Fixes the clock (microseconds since the epoch) for tests and the
 * benchmark; 0 returns to the real clock. */
void vg_store_set_clock(vg_store *store, int64_t now_us);
/* The actor of the events screening writes (`opened`, `updated`);
 * default "vigia". Copied. Returns 0 or VG_ENOMEM. */
int vg_store_set_actor(vg_store *store, const char *actor);

/* Canonical JSON of a record (SPEC 4): keys sorted by their UTF-8 bytes,
 * no insignificant white space, strings with only the escapes JSON
 * requires, integers as written, other numbers in their shortest
 * round-trip form (an integral value below 2^53 without fraction or
 * exponent). Fields at the ndrop dotted paths are removed first. Returns 0
 * and sets *out (caller frees) and *outlen, VG_EINVAL when json is not a
 * JSON object, or VG_ENOMEM. */
int vg_store_canonical_json(const char *json, size_t len,
                            const char *const *drop, size_t ndrop, char **out,
                            size_t *outlen);
/* Lowercase hex SHA-256 of data into hex (65 bytes with the NUL). */
void vg_store_sha256_hex(const void *data, size_t len, char hex[65]);

/* A protected field's value for the fairness totals; value NULL when the
 * record has none. */
struct vg_store_value {
  const char *field;
  const char *value;
  size_t value_len;
};

/* vg_store_ingest without the engine: the record comes as its canonical
 * JSON (dropped fields already removed) and its protected values. Used by
 * vg_store_ingest, the tests and the benchmark. Same contract and returns
 * as vg_store_ingest. canonical may be NULL only when result has no hits
 * (the record is then only counted). */
int vg_store_ingest_canonical(vg_store *store, const struct vg_result *result,
                              const char *canonical, size_t canonical_len,
                              const struct vg_store_value *values,
                              size_t nvalues, struct vg_ingest_outcome *out);
/* Records the field flags of every kind of rs (for --redact and the
 * fairness report, which then need no rules) and caches its drop and
 * protected fields. vg_store_ingest calls it when it sees a ruleset other
 * than the last (by address): after replacing a ruleset (a reload), call
 * it with the new one, as a new set may sit at the old one's address.
 * Returns 0 or a negative code. */
int vg_store_sync_fields(vg_store *store, const vg_ruleset *rs);
/* Records one field's flags directly (tests, benchmark). */
int vg_store_set_field(vg_store *store, const char *kind, const char *path,
                       bool pii, bool protected_, bool subject);

/* ------------------------------------------------------------- queue */

/* Parses a case status name (new, in_review, escalated, confirmed,
 * dismissed). Returns true when it is one. */
bool vg_case_status_valid(const char *status);

struct vg_queue_filter {
  const char *status;   /* NULL: the open statuses */
  const char *kind;     /* NULL: any */
  const char *route;    /* NULL: any */
  const char *rule;     /* NULL: any */
  const char *assignee; /* NULL: any */
  int min_score;
  int64_t since; /* created at or after (microseconds); 0: any */
  long limit;    /* <= 0: no limit */
};

/* The cases matching filter, highest score first, then oldest. Returns 0
 * and sets *out to a JSON array of CASE objects (caller decrefs):
 * case_id, status, score, kind, subject, routes, assignee, created_at,
 * updated_at, record_ids, rules. redact hides the subject when the kind's
 * subject field is pii. VG_EINVAL for an unknown status. */
int vg_store_queue(vg_store *store, const struct vg_queue_filter *filter,
                   bool redact, json_t **out);

/* The CASE object of case_id; with detail also records (with content),
 * hits (with evidence), linked (case ids) and events. redact replaces pii
 * values with "[redacted]". Reads only. Returns 0 and sets *out (caller
 * decrefs), VG_ENOTFOUND, or a negative code. */
int vg_store_case_get(vg_store *store, int64_t case_id, bool detail,
                      bool redact, json_t **out);
/* vg_store_case_get with detail, after writing a `viewed` event for actor:
 * showing a case discloses personal data. Same returns. */
int vg_store_case_show(vg_store *store, int64_t case_id, const char *actor,
                       bool redact, json_t **out);

enum vg_case_action {
  VG_ACT_CLAIM,
  VG_ACT_RELEASE,
  VG_ACT_ESCALATE,
  VG_ACT_CONFIRM,
  VG_ACT_DISMISS,
  VG_ACT_NOTE,
  VG_ACT_REOPEN
};

/* True when reason is a dismiss reason: false_positive,
 * insufficient_information, duplicate, other. */
bool vg_dismiss_reason_valid(const char *reason);

/* Applies action to case_id for actor (the SPEC 4 lifecycle) in one
 * transaction with its audit event. A note is required for escalate,
 * confirm, dismiss, note and reopen, and a dismiss reason for dismiss:
 * VG_EINVAL otherwise (and for a note that is not UTF-8). Returns 0;
 * VG_ENOTFOUND for an unknown case; VG_EREFUSED when the transition is not
 * allowed (the message names the case's status); or a negative code. */
int vg_store_case_act(vg_store *store, int64_t case_id,
                      enum vg_case_action action, const char *actor,
                      const char *note, const char *reason);

/* ------------------------------------------------------------- audit */

struct vg_audit_report {
  int64_t events;       /* events checked */
  bool ok;              /* the whole chain holds */
  int64_t broken_event; /* the first broken event's id, when !ok */
  char problem[320];    /* what is wrong with it */
  char head[65];        /* hash of the last event checked ("" for none) */
};

/* Walks the audit chain in order: each event's stored previous hash must
 * be the hash of the event before it, and its own hash must match its
 * content; then each remaining case's status must be the one its last
 * event left. Returns 0 and fills *report (ok, or the first broken event),
 * or a negative code when the database cannot be read. */
int vg_store_audit_verify(vg_store *store, struct vg_audit_report *report);

/* ----------------------------------------------------------- reports */

/* {"rules": [{"rule", "hits", "cases", "confirmed", "dismissed",
 * "precision"}], "kinds": [{"kind", "screened", "flagged"}]}. Returns 0 and
 * sets *out (caller decrefs) or a negative code. */
int vg_store_stats(vg_store *store, json_t **out);
/* The fairness report for a protected field: per kind, per value and for
 * all values together, the records screened, flagged, flag rate,
 * confirmed, dismissed and confirmation rate, and each value's rates
 * against the whole. Only counts, never a record. Returns 0 and sets *out;
 * VG_EINVAL when field is not a protected field of a screened kind (the
 * message lists the protected fields). */
int vg_store_fairness(vg_store *store, const char *field, json_t **out);
/* Rejected inputs and warnings, oldest first: {"rejects": [{"source",
 * "line", "where", "reason", "warning", "created_at", "raw"}]} (raw is
 * null unless UTF-8); source NULL: all; limit <= 0: all. */
int vg_store_rejects(vg_store *store, const char *source, long limit,
                     json_t **out);

/* Deletes decided cases (of status, or both decided statuses when NULL)
 * decided before `before` (microseconds), with their records and hits,
 * writing a `purged` event for each; without status, also stored records
 * that joined no case and rejects older than `before`. Events are never
 * deleted, so the chain still verifies. VG_EINVAL for a status that is not
 * a decided one. Sets *cases and *records to the numbers deleted. */
int vg_store_purge(vg_store *store, int64_t before, const char *status,
                   const char *actor, int64_t *cases, int64_t *records);

/* ------------------------------------------------------------- times */

/* Formats microseconds since the epoch as RFC 3339 UTC
 * ("2026-01-02T03:04:05Z") into buf (at least 32 bytes). */
void vg_store_time_format(int64_t us, char *buf, size_t len);
/* Parses a date (YYYY-MM-DD, its midnight UTC) or an RFC 3339 datetime.
 * Returns 0 and sets *us, or VG_EINVAL. */
int vg_store_time_parse(const char *text, int64_t *us);

/* The store's correlation state for the engine (vg_eval_set_state).
 * writable: creates its table when missing and writes within the open
 * batch; otherwise reads only (a database without state reads as empty).
 * Free with vg_corr_state_free before closing the store. Returns 0 and
 * sets *out, or a negative code with the message in vg_store_errmsg. */
int vg_store_corr_state(vg_store *store, bool writable,
                        struct vg_corr_state **out);

#endif
