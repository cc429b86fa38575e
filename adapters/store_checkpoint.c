/* store_checkpoint.c - copies the write-ahead log into the database on a
 * thread of its own, so that the commits a server acknowledges do not wait
 * for it.
 *
 * SQLite checkpoints inside the commit that fills the log past its limit:
 * that commit then syncs the whole log, copies its pages into the database
 * and syncs that too, and with a server every client waits for it (tens of
 * milliseconds for a log of a few thousand 16 KiB pages). Here a second
 * connection does that work in passive checkpoints, which run beside the
 * writer's commits. A passive checkpoint copies only the frames committed
 * when it began, so under a steady stream of commits it never catches up
 * alone; and SQLite starts writing the log from its beginning again only
 * once every frame is copied. So the thread copies in rounds until no more
 * than a few frames are left, and the next commit on the writer's
 * connection copies those few itself (from its log hook, where SQLite's
 * own checkpoints run): a short pause instead of a long one, after which
 * the log is reused from its start. */
#include "store_impl.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

/* Few enough frames for the writer's commit to copy at once: a few
 * hundred take a millisecond or two, syncs included. */
#define FINISH_FRAMES 256
/* Rounds of copying at most before the writer takes the rest. */
#define MAX_ROUNDS 4

struct vg__checkpointer {
  sqlite3 *writer_db; /* the store's connection, whose log hook this is */
  sqlite3 *db;        /* the thread's own connection */
  int pages;          /* log size that starts a round of copying */
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  bool wanted, busy, stop; /* under lock */
  atomic_int frames;       /* in the log after the last commit */
  atomic_bool finish;      /* the writer's next commit copies the rest */
};

/* Copies in passive rounds while each leaves clearly less behind than the
 * one before (the frames committed during it), then leaves the rest to
 * the writer's next commit. A round that copies nothing new (a reader
 * holds an old snapshot) ends it: the next commit past the limit starts
 * again. */
static void copy_log(struct vg__checkpointer *c) {
  int copied_before = -1, left_before = -1;
  for (int round = 0; round < MAX_ROUNDS; round++) {
    int log = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                       &log, &copied);
    if (rc != SQLITE_OK || copied == copied_before)
      return;
    int left = atomic_load(&c->frames) - copied;
    if (left <= FINISH_FRAMES || (left_before >= 0 && left > left_before / 2))
      break;
    copied_before = copied;
    left_before = left;
    pthread_mutex_lock(&c->lock);
    bool stop = c->stop;
    pthread_mutex_unlock(&c->lock);
    if (stop)
      return;
  }
  atomic_store(&c->finish, true);
}

static void *checkpointer_main(void *arg) {
  struct vg__checkpointer *c = arg;
  pthread_mutex_lock(&c->lock);
  for (;;) {
    while (!c->wanted && !c->stop)
      pthread_cond_wait(&c->wake, &c->lock);
    if (c->stop)
      break;
    c->wanted = false;
    c->busy = true;
    pthread_mutex_unlock(&c->lock);
    copy_log(c);
    pthread_mutex_lock(&c->lock);
    c->busy = false;
  }
  pthread_mutex_unlock(&c->lock);
  return NULL;
}

/* SQLite's log hook on the writer's connection: after each commit, with
 * the write lock released. */
static int on_log_commit(void *arg, sqlite3 *db, const char *schema,
                         int frames) {
  struct vg__checkpointer *c = arg;
  atomic_store(&c->frames, frames);
  if (atomic_exchange(&c->finish, false)) {
    /* The thread has copied all but the last few frames: copying those
     * here lets the next transaction write the log from its start. */
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, NULL,
                              NULL);
    return SQLITE_OK;
  }
  if (frames >= c->pages) {
    pthread_mutex_lock(&c->lock);
    if (!c->busy && !c->wanted) {
      c->wanted = true;
      pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->lock);
  }
  return SQLITE_OK;
}

struct vg__checkpointer *vg__checkpointer_start(vg_store *store, int pages) {
  const char *path = sqlite3_db_filename(store->db, "main");
  if (!path || !*path || sqlite3_threadsafe() == 0)
    return NULL; /* an in-memory store, or no threads */
  struct vg__checkpointer *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->writer_db = store->db;
  c->pages = pages;
  /* A connection finds the log when it first reads: until then its
   * checkpoints find nothing to copy. */
  if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
      sqlite3_exec(c->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL,
                   NULL) != SQLITE_OK) {
    sqlite3_close(c->db);
    free(c);
    return NULL;
  }
  pthread_mutex_init(&c->lock, NULL);
  pthread_cond_init(&c->wake, NULL);
  if (pthread_create(&c->thread, NULL, checkpointer_main, c) != 0) {
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake);
    sqlite3_close(c->db);
    free(c);
    return NULL;
  }
  /* Replaces SQLite's own checkpoints in commits (its hook too). */
  sqlite3_wal_hook(store->db, on_log_commit, c);
  return c;
}

void vg__checkpointer_stop(struct vg__checkpointer *c, int pages) {
  if (!c)
    return;
  /* Back to SQLite's checkpoints inside commits, for whatever the store
   * still writes (and its close). */
  sqlite3_wal_autocheckpoint(c->writer_db, pages);
  pthread_mutex_lock(&c->lock);
  c->stop = true;
  pthread_cond_signal(&c->wake);
  pthread_mutex_unlock(&c->lock);
  pthread_join(c->thread, NULL);
  pthread_mutex_destroy(&c->lock);
  pthread_cond_destroy(&c->wake);
  sqlite3_close(c->db);
  free(c);
}
