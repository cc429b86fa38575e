/* store_writer.c - screening into the store on two cores: the screening
 * thread prepares each record (digests of identity, copies, hits JSON; no
 * SQL) and a writer thread applies them to the database in the order given
 * (canonical JSON, lookups, inserts), in batches. The database work of a
 * record costs about as much as its screening, so doing both at once takes
 * about a third off a run; `vigia screen` and `vigia serve` both store this
 * way.
 *
 * Records travel in chunks of entries, so the threads meet once per chunk
 * rather than once per record; a fixed ring of chunks bounds the memory
 * and stops the screening thread when the writer falls behind.
 *
 * Both threads may use the database connection: the writer for the
 * records, the screening thread for the correlation state the engine reads
 * and writes while it evaluates (store_corr.c). SQLite's serialized mode
 * makes each call safe; the writer also holds the connection's mutex for
 * the whole of an entry, and the correlation state for the whole of an
 * operation, so neither sees the other's statements half done or reads
 * the other's error message. Correlation writes join the writer's open
 * batch (or commit alone between batches), never later than the records
 * that made them: a crash loses a record's state only with the record, and
 * state kept for a record lost is harmless, as a record is counted once. */
#include "store_impl.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_ENTRIES 128
/* At most: a server hands over a chunk per request, and the ring lets the
 * screening thread run that many requests ahead of the writer. */
#define NCHUNKS 32

enum entry_type { ENTRY_RECORD, ENTRY_REJECT, ENTRY_MARK, ENTRY_COMMIT };

struct entry {
  enum entry_type type;
  struct vg__item item;  /* ENTRY_RECORD */
  struct vg__sbuf bytes; /* the caller's tag, then ENTRY_REJECT's fields */
  size_t tag_len;
  /* ENTRY_REJECT: offsets of source, where, reason and raw in bytes. */
  size_t source, where, reason, raw, raw_len;
  long line;
  bool warning;
};

struct chunk {
  struct entry *entries; /* CHUNK_ENTRIES */
  size_t n;
};

struct vg_store_writer {
  vg_store *store;
  struct vg_store_writer_hooks hooks;
  bool threaded; /* false: entries are applied as they are handed over */
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t filled, emptied;
  struct chunk chunks[NCHUNKS];
  size_t nchunks;     /* in the ring (hooks.queue_chunks) */
  size_t head, count; /* the producer fills chunks[head]; count are full */
  bool finishing;
  struct vg__checkpointer *checkpointer; /* NULL: SQLite's checkpoints */
  long in_batch; /* writer thread: entries applied since the last commit */
  const struct chunk *applying; /* writer thread: the chunk being applied */
  atomic_int error; /* the writer's failure that stops it, 0 while none */
  char errmsg[512]; /* written once, before error is set */
  int prep_error;   /* the screening thread's failure, 0 while none */
  char prep_errmsg[512];
};

/* ------------------------------------------------------- writer side */

static int commit(vg_store_writer *w) {
  w->in_batch = 0;
  if (!w->store->in_batch)
    return 0;
  int rc = vg_store_batch_commit(w->store);
  if (rc == 0 && w->hooks.committed)
    w->hooks.committed(w->hooks.arg);
  return rc;
}

/* A failure: with keep_going, the batch is rolled back, the caller hears
 * of it and the next entry starts a new batch; otherwise the writer stops
 * (the rest is dropped) and the failure is the run's. */
static void fail(vg_store_writer *w, int rc, const struct entry *e) {
  if (w->hooks.keep_going) {
    vg__store_abort_batch(w->store);
    w->in_batch = 0;
    if (w->hooks.failed)
      w->hooks.failed(w->hooks.arg, rc, vg_store_errmsg(w->store),
                      e && e->tag_len ? e->bytes.p : NULL, e ? e->tag_len : 0);
    return;
  }
  if (atomic_load(&w->error) != 0)
    return;
  snprintf(w->errmsg, sizeof w->errmsg, "%s", vg_store_errmsg(w->store));
  atomic_store(&w->error, rc);
}

/* Whether entries after e are already handed over. */
static bool more_waiting(vg_store_writer *w, const struct entry *e) {
  const struct chunk *c = w->applying;
  if (c && e != &c->entries[c->n - 1])
    return true;
  if (!w->threaded)
    return false;
  pthread_mutex_lock(&w->lock);
  bool more = w->count > 1;
  pthread_mutex_unlock(&w->lock);
  return more;
}

static int apply_entry(vg_store_writer *w, struct entry *e) {
  struct vg_store_applied a = {.tag = e->tag_len ? e->bytes.p : NULL,
                               .tag_len = e->tag_len};
  int rc = 0;
  switch (e->type) {
  case ENTRY_COMMIT:
    /* Group commit: entries already waiting join this batch, and the
     * commit point after them commits it. */
    if (more_waiting(w, e))
      return 0;
    return commit(w);
  case ENTRY_MARK:
    a.type = VG_APPLIED_MARK;
    return w->hooks.applied ? w->hooks.applied(w->hooks.arg, &a) : 0;
  case ENTRY_REJECT: {
    const char *b = e->bytes.p;
    a.type = VG_APPLIED_REJECT;
    if (!w->store->in_batch)
      rc = vg_store_batch_begin(w->store);
    if (rc == 0)
      rc = vg_store_add_reject(w->store, b + e->source, e->line, b + e->where,
                               b + e->reason, b + e->raw, e->raw_len,
                               e->warning);
    break;
  }
  case ENTRY_RECORD:
    a.type = VG_APPLIED_RECORD;
    a.nhits = e->item.nhits;
    if (!w->store->in_batch)
      rc = vg_store_batch_begin(w->store);
    if (rc == 0)
      rc = vg__item_apply(w->store, &e->item, &a.outcome);
    break;
  }
  if (rc == 0 && w->hooks.applied)
    rc = w->hooks.applied(w->hooks.arg, &a);
  if (rc == 0 && ++w->in_batch >= w->hooks.batch_records)
    rc = commit(w);
  return rc;
}

static void apply_chunk(vg_store_writer *w, struct chunk *c) {
  sqlite3_mutex *m = sqlite3_db_mutex(w->store->db);
  w->applying = c;
  for (size_t i = 0; i < c->n; i++) {
    if (atomic_load(&w->error) != 0)
      return; /* the rest is dropped: the run has failed */
    sqlite3_mutex_enter(m);
    struct entry *e = &c->entries[i];
    int rc = apply_entry(w, e);
    if (rc != 0)
      fail(w, rc, e->type == ENTRY_COMMIT ? NULL : e);
    sqlite3_mutex_leave(m);
  }
}

static void *writer_main(void *arg) {
  vg_store_writer *w = arg;
  pthread_mutex_lock(&w->lock);
  for (;;) {
    while (w->count == 0 && !w->finishing)
      pthread_cond_wait(&w->filled, &w->lock);
    if (w->count == 0)
      break; /* finishing, and nothing left */
    struct chunk *c =
        &w->chunks[(w->head + w->nchunks - w->count) % w->nchunks];
    pthread_mutex_unlock(&w->lock);
    apply_chunk(w, c);
    pthread_mutex_lock(&w->lock);
    c->n = 0;
    w->count--;
    pthread_cond_broadcast(&w->emptied);
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

/* ----------------------------------------------------- producer side */

/* Hands the chunk being filled to the writer (waiting for a free one). */
static void hand_over(vg_store_writer *w) {
  struct chunk *c = &w->chunks[w->head];
  if (c->n == 0)
    return;
  if (!w->threaded) {
    apply_chunk(w, c);
    c->n = 0;
    return;
  }
  pthread_mutex_lock(&w->lock);
  w->count++;
  w->head = (w->head + 1) % w->nchunks;
  pthread_cond_signal(&w->filled);
  while (w->count == w->nchunks)
    pthread_cond_wait(&w->emptied, &w->lock);
  pthread_mutex_unlock(&w->lock);
}

/* The next free entry of the chunk being filled. */
static struct entry *next_entry(vg_store_writer *w) {
  struct chunk *c = &w->chunks[w->head];
  if (c->n == CHUNK_ENTRIES) {
    hand_over(w);
    c = &w->chunks[w->head];
  }
  return &c->entries[c->n];
}

/* Records why an entry could not be queued; returns rc. Without
 * keep_going the run cannot go on; with it, only that entry is lost (the
 * message is the store's). */
static int prep_failed(vg_store_writer *w, int rc, const char *why) {
  if (w->hooks.keep_going) {
    sqlite3_mutex *m = sqlite3_db_mutex(w->store->db);
    sqlite3_mutex_enter(m); /* the writer may be setting a message too */
    vg__store_error(w->store, rc, "%s", why);
    sqlite3_mutex_leave(m);
    return rc;
  }
  w->prep_error = rc;
  snprintf(w->prep_errmsg, sizeof w->prep_errmsg, "%s", why);
  return rc;
}

static int producer_error(const vg_store_writer *w) {
  return w->prep_error ? w->prep_error : atomic_load(&w->error);
}

/* Appends s[0..n) and a NUL to b; returns its offset. */
static size_t put(struct vg__sbuf *b, const char *s, size_t n, bool *failed) {
  size_t at = b->len;
  if (vg__sbuf_put(b, s ? s : "", s ? n : 0) != 0 ||
      vg__sbuf_put(b, "", 1) != 0)
    *failed = true;
  return at;
}

/* Starts an entry of type with its tag; NULL when out of memory. */
static struct entry *begin_entry(vg_store_writer *w, enum entry_type type,
                                 const char *tag, size_t tag_len) {
  struct entry *e = next_entry(w);
  bool failed = false;
  e->type = type;
  e->bytes.len = 0;
  e->tag_len = tag_len;
  if (tag_len)
    put(&e->bytes, tag, tag_len, &failed);
  if (failed) {
    prep_failed(w, VG_ENOMEM, "out of memory");
    return NULL;
  }
  return e;
}

/* The next entry, of type, with its tag; NULL (and *rc why) when the run
 * has failed or memory ran out. */
static struct entry *queue_entry(vg_store_writer *w, enum entry_type type,
                                 const char *tag, size_t tag_len, int *rc) {
  if ((*rc = producer_error(w)) != 0)
    return NULL;
  struct entry *e = begin_entry(w, type, tag, tag_len);
  if (!e)
    *rc = VG_ENOMEM;
  return e;
}

int vg_store_writer_record(vg_store_writer *w, vg_eval *ev,
                           const struct vg_result *res, const char *json,
                           size_t json_len, const char *tag, size_t tag_len) {
  int rc;
  struct entry *e = queue_entry(w, ENTRY_RECORD, tag, tag_len, &rc);
  if (!e)
    return rc;
  rc = vg__item_prepare(w->store, ev, res, json, json_len, &e->item);
  if (rc != 0)
    return prep_failed(w, rc, e->item.err);
  w->chunks[w->head].n++;
  return producer_error(w);
}

int vg_store_writer_reject(vg_store_writer *w, const char *source, long line,
                           const char *where, const char *reason,
                           const char *raw, size_t raw_len, bool is_warning,
                           const char *tag, size_t tag_len) {
  int rc;
  struct entry *e = queue_entry(w, ENTRY_REJECT, tag, tag_len, &rc);
  if (!e)
    return rc;
  bool failed = false;
  e->source = put(&e->bytes, source, source ? strlen(source) : 0, &failed);
  e->where = put(&e->bytes, where, where ? strlen(where) : 0, &failed);
  e->reason = put(&e->bytes, reason, reason ? strlen(reason) : 0, &failed);
  e->raw = put(&e->bytes, raw, raw_len, &failed);
  e->raw_len = raw ? raw_len : 0;
  e->line = line;
  e->warning = is_warning;
  if (failed)
    return prep_failed(w, VG_ENOMEM, "out of memory");
  w->chunks[w->head].n++;
  return 0;
}

int vg_store_writer_mark(vg_store_writer *w, const char *tag, size_t tag_len) {
  int rc;
  if (!queue_entry(w, ENTRY_MARK, tag, tag_len, &rc))
    return rc;
  w->chunks[w->head].n++;
  return 0;
}

void vg_store_writer_flush(vg_store_writer *w, bool commit_point) {
  if (commit_point && producer_error(w) == 0 &&
      begin_entry(w, ENTRY_COMMIT, NULL, 0))
    w->chunks[w->head].n++;
  hand_over(w);
}

int vg_store_writer_sync(vg_store_writer *w) {
  vg_store_writer_flush(w, true);
  if (w->threaded) {
    pthread_mutex_lock(&w->lock);
    while (w->count > 0)
      pthread_cond_wait(&w->emptied, &w->lock);
    pthread_mutex_unlock(&w->lock);
  }
  return producer_error(w);
}

static void free_chunks(vg_store_writer *w) {
  for (size_t i = 0; i < w->nchunks; i++) {
    struct chunk *c = &w->chunks[i];
    for (size_t j = 0; c->entries && j < CHUNK_ENTRIES; j++) {
      vg__item_free(&c->entries[j].item);
      free(c->entries[j].bytes.p);
    }
    free(c->entries);
  }
}

int vg_store_writer_start(vg_store *store, const vg_ruleset *rs,
                          const struct vg_store_writer_hooks *hooks,
                          vg_store_writer **out) {
  vg_store_writer *w = calloc(1, sizeof *w);
  if (!w)
    return vg__store_error(store, VG_ENOMEM, "out of memory");
  w->store = store;
  w->hooks = *hooks;
  if (w->hooks.batch_records <= 0)
    w->hooks.batch_records = 4096;
  w->nchunks = w->hooks.queue_chunks > 0 && w->hooks.queue_chunks <= NCHUNKS
                   ? (size_t)w->hooks.queue_chunks
                   : 4;
  for (size_t i = 0; i < w->nchunks; i++) {
    w->chunks[i].entries = calloc(CHUNK_ENTRIES, sizeof *w->chunks[i].entries);
    if (!w->chunks[i].entries) {
      free_chunks(w);
      free(w);
      return vg__store_error(store, VG_ENOMEM, "out of memory");
    }
  }
  /* What preparing reads is loaded here, before there are two threads. */
  int rc = vg__store_ready(store, rs);
  if (rc != 0) {
    free_chunks(w);
    free(w);
    return rc;
  }
  if (w->hooks.checkpoint_pages <= 0)
    w->hooks.checkpoint_pages = VG__CHECKPOINT_PAGES;
  sqlite3_wal_autocheckpoint(store->db, w->hooks.checkpoint_pages);
  if (w->hooks.checkpoint_thread)
    w->checkpointer = vg__checkpointer_start(store, w->hooks.checkpoint_pages);
  /* SQLite built without threads: the same order of work on one. */
  w->threaded = sqlite3_threadsafe() != 0;
  if (w->threaded) {
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->filled, NULL);
    pthread_cond_init(&w->emptied, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
      pthread_mutex_destroy(&w->lock);
      pthread_cond_destroy(&w->filled);
      pthread_cond_destroy(&w->emptied);
      w->threaded = false;
    }
  }
  *out = w;
  return 0;
}

int vg_store_writer_finish(vg_store_writer *w) {
  if (!w)
    return 0;
  if (producer_error(w) == 0)
    vg_store_writer_flush(w, true);
  if (w->threaded) {
    pthread_mutex_lock(&w->lock);
    w->finishing = true;
    pthread_cond_signal(&w->filled);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->filled);
    pthread_cond_destroy(&w->emptied);
  }
  vg__checkpointer_stop(w->checkpointer, w->hooks.checkpoint_pages);
  int rc = atomic_load(&w->error);
  /* Nothing of a failed run's open batch may be committed by a later
   * close: the records after the failure were not all stored. */
  if (rc != 0 || w->prep_error != 0)
    vg__store_abort_batch(w->store);
  /* The screening thread's failure came first: the writer only stopped. */
  if (w->prep_error != 0)
    rc = vg__store_error(w->store, w->prep_error, "%s", w->prep_errmsg);
  else if (rc != 0)
    vg__store_error(w->store, rc, "%s", w->errmsg);
  free_chunks(w);
  free(w);
  return rc;
}
