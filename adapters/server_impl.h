/* server_impl.h - what the server's loop (server.c) and its worker thread
 * (server_worker.c) share: the request in flight, the queues between the two
 * threads, and the log. Not part of the public interface. */
#ifndef VG_SERVER_IMPL_H
#define VG_SERVER_IMPL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "jsonw.h"
#include "server.h"

struct vg__conn;

/* One answer line in a connection's order. A request that needs the
 * worker travels there and back in its own answer slot; the loop fills
 * the others (errors, auth, subscribe, events) at once. */
struct vg__reply {
  struct vg__reply *next;  /* the connection's order (loop thread only) */
  struct vg__reply *qnext; /* the worker queue, then the done list */
  struct vg__conn *conn;
  bool ready; /* data holds the whole answer (loop thread) */
  bool event; /* a subscription event: counts against the backlog */
  char *data; /* the answer with its newline; owned */
  size_t len;
  /* Set by the loop, used and released by the worker. */
  struct vg_request req;
  char *line; /* the request line the request points into; owned */
  size_t line_len;
  char actor[72]; /* who asked, for the audit */
  /* A screen request's answer while its records are stored: written by
   * the store writer's thread (server_worker.c). */
  struct vg_jsonw answer;
  bool store_failed; /* a record of it was in a batch rolled back */
};

/* A case the worker saw opened, for the subscribers. */
struct vg__event {
  struct vg__event *next;
  char *data; /* {"event":"case.opened","case":{...}} and a newline */
  size_t len;
  char kind[64];
  int score;
};

/* The two threads meet here; every field is under lock. */
struct vg__shared {
  uv_mutex_t lock;
  uv_cond_t wake;                       /* the worker waits on it */
  struct vg__reply *queue, *queue_tail; /* loop -> worker */
  struct vg__reply *done, *done_tail;   /* worker -> loop */
  struct vg__event *events, *events_tail;
  bool idle;          /* the worker waits for a request: wake it */
  bool reload;        /* SIGHUP: reload the rules after the queued requests */
  bool stop;          /* answer the queue, commit and exit */
  uv_async_t *notify; /* wakes the loop for done and events */
  /* Read without the lock by the worker: is anyone listening? */
  atomic_int subscribers;
};

/* The worker thread and everything it owns. */
struct vg__worker {
  struct vg__shared *shared;
  vg_ruleset *rs;
  vg_eval *ev;
  vg_store *store;             /* borrowed */
  struct vg_corr_state *state; /* correlation state, when rules need it */
  const char *rules_dir;
  const struct vg_config *cfg;
  bool redact;
  uv_thread_t thread;
  bool started;
  /* Stores the records while the next are screened; its hooks run on its
   * own thread and own the fields below up to `batches`. */
  vg_store_writer *writer;
  struct vg__reply *batch, *batch_tail; /* answers waiting for the commit */
  struct vg__reply *current;            /* the request being stored */
  int64_t *opened;                      /* cases opened in the batch */
  size_t nopened, capopened;
  uint64_t batches;
  struct vg_jsonw failure; /* scratch for the answers of a failed batch */
  /* The group of requests gathered for one commit (the worker's). */
  size_t batch_records;
  size_t batch_requests;
  int64_t newest;     /* latest observed_at, for correlation eviction */
  uint64_t evict_due; /* records until the next eviction */
  struct vg_jsonw out;
  /* Totals for the last log line. */
  uint64_t records, rejected, requests;
};

/* Prepares the worker: an evaluator for rs (taken over) and the
 * correlation state. Returns 0 or a negative code with err set. */
int vg__worker_init(struct vg__worker *w, struct vg__shared *shared,
                    vg_ruleset *rs, vg_store *store,
                    const struct vg_server_options *opts, char *err,
                    size_t errlen);
/* Starts the thread. Returns 0 or VG_ENOMEM. */
int vg__worker_start(struct vg__worker *w);
/* Asks the thread to finish the queue, commit and exit, and waits. */
void vg__worker_stop(struct vg__worker *w);
/* Frees what the worker owns (after stop). */
void vg__worker_close(struct vg__worker *w);

/* Appends an error answer for a request to buf: {"id":..., "ok":false,
 * "error":{"code","message"}} and a newline. */
void vg__answer_error(struct vg_jsonw *w, const char *id, size_t id_len,
                      const char *code, const char *message);

/* One log line on stderr: a UTC time, then the message. Safe from both
 * threads; the line is written whole. Never give it a record's content. */
void vg__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
