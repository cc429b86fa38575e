/* cmd_screen.c - `vigia screen`: reads records from files or stdin in any
 * supported format, screens each against the rules, stores hits and opens
 * cases (or, with --dry-run, only prints the result lines), and accounts
 * for every record read in exactly one of screened, duplicates, rejected. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "jsonw.h"
#include "source.h"
#include "store.h"

/* Records per store transaction: large enough that commits are rare,
 * small enough that a crash loses little work (it is redone on rerun). */
#define BATCH_RECORDS 16384
/* Eviction reads the whole correlation state: once per this many records,
 * and at the end of the run. */
#define EVICT_EVERY_RECORDS (64L * BATCH_RECORDS)

struct counts {
  long read, screened, flagged, cases, duplicates, rejected;
};

struct screen {
  struct vg_cli *cli;
  vg_ruleset *rs;
  vg_eval *ev;
  vg_store *store;               /* NULL with --dry-run */
  vg_store_writer *writer;       /* stores records while screening goes on */
  vg_store *state_store;         /* --dry-run: the database, read only */
  struct vg_corr_state *state;   /* correlation state, when rules need it */
  struct vg_corr_state *overlay; /* --dry-run: reads state, writes memory */
  int64_t newest;                /* latest observed_at seen, for eviction */
  long evict_due;                /* records until the next eviction */
  bool dry_run, emit;
  struct vg_jsonw out;
  struct vg_jsonw emit_line; /* the writer's thread's, for --emit */
  struct vg_result_style style;
  /* read and rejected are counted by the screening thread; with a store,
   * the others by the writer's thread (on_applied) until it finishes. */
  struct counts n;
  /* progress */
  bool progress;
  struct timespec started, last_progress;
  off_t total_bytes, done_bytes;
  const char *current_file;
  FILE *current;
};

/* ------------------------------------------------- reading the head */

/* Input whose first bytes were read to guess its format but cannot be
 * rewound (a pipe): the head is served again before the rest. */
struct replay {
  FILE *in;
  char head[512];
  size_t len, pos;
};

static ssize_t replay_read(void *cookie, char *buf, size_t size) {
  struct replay *r = cookie;
  if (r->pos < r->len) {
    size_t n = r->len - r->pos < size ? r->len - r->pos : size;
    memcpy(buf, r->head + r->pos, n);
    r->pos += n;
    return (ssize_t)n;
  }
  size_t n = fread(buf, 1, size, r->in);
  if (n == 0 && ferror(r->in))
    return -1;
  return (ssize_t)n;
}

static int replay_close(void *cookie) {
  free(cookie);
  return 0;
}

/* Opens path ("-" for stdin), reading its first bytes into head. Returns a
 * stream positioned at the start, or NULL with errno set. */
static FILE *open_input(const char *path, char *head, size_t cap,
                        size_t *head_len, off_t *size) {
  bool is_stdin = !strcmp(path, "-");
  FILE *f = is_stdin ? stdin : fopen(path, "rb");
  if (!f)
    return NULL;
  struct stat st;
  *size = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;
  *head_len = fread(head, 1, cap, f);
  if (ferror(f)) {
    if (!is_stdin)
      fclose(f);
    errno = EIO;
    return NULL;
  }
  if (fseeko(f, 0, SEEK_SET) == 0)
    return f;
  struct replay *r = calloc(1, sizeof *r);
  if (!r)
    return NULL;
  r->in = f;
  r->len = *head_len < sizeof r->head ? *head_len : sizeof r->head;
  memcpy(r->head, head, r->len);
  cookie_io_functions_t io = {.read = replay_read, .close = replay_close};
  FILE *wrapped = fopencookie(r, "r", io);
  if (!wrapped)
    free(r);
  return wrapped;
}

/* ------------------------------------------------------- progress */

static double seconds_since(const struct timespec *t) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - t->tv_sec) +
         (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void show_progress(struct screen *s, bool final) {
  if (!s->progress)
    return;
  if (!final && seconds_since(&s->last_progress) < 0.5)
    return;
  clock_gettime(CLOCK_MONOTONIC, &s->last_progress);
  double elapsed = seconds_since(&s->started);
  double rate = elapsed > 0 ? (double)s->n.read / elapsed : 0;
  off_t done = s->done_bytes;
  if (s->current)
    done += ftello(s->current) > 0 ? ftello(s->current) : 0;
  if (s->total_bytes > 0 && done > 0) {
    double frac = (double)done / (double)s->total_bytes;
    if (frac > 1)
      frac = 1;
    double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
    fprintf(stderr, "\r%ld records, %.0f/s, %.0f%%, ETA %.0fs   ", s->n.read,
            rate, frac * 100, eta);
  } else {
    fprintf(stderr, "\r%ld records, %.0f/s   ", s->n.read, rate);
  }
  if (final)
    fputc('\n', stderr);
}

/* --------------------------------------------------------- screening */

/* Correlation state older than the longest window before the newest
 * observation can never count again. */
static int evict_state(struct screen *s) {
  int64_t window = vg_ruleset_max_window(s->rs);
  struct vg_corr_state *st = s->overlay ? s->overlay : s->state;
  if (!st || !window || !s->newest)
    return VG_OK;
  return st->evict(st, s->newest - window);
}

/* Called on the writer's thread for each record stored: the counts that
 * depend on the store, and the result line with --emit, which waits for
 * the record's case (the tag holds the rest of the line). */
static int on_applied(void *arg, const struct vg_store_applied *a) {
  struct screen *s = arg;
  if (a->type != VG_APPLIED_RECORD)
    return VG_OK;
  if (a->outcome.status == VG_INGEST_DUPLICATE) {
    s->n.duplicates++;
  } else {
    s->n.screened++;
    s->n.flagged += a->nhits > 0;
    s->n.cases += a->outcome.case_opened;
  }
  if (!a->tag)
    return VG_OK;
  vg_jsonw_reset(&s->emit_line);
  vg_result_json_join(&s->emit_line, a->tag, a->tag_len, a->outcome.case_id);
  vg_jsonw_raw(&s->emit_line, "\n", 1);
  if (s->emit_line.failed)
    return VG_ENOMEM;
  if (fwrite(s->emit_line.data, 1, s->emit_line.len, stdout) !=
      s->emit_line.len)
    return VG_EIO;
  return VG_OK;
}

static int store_reject(struct screen *s, const char *source, long line,
                        const char *where, const char *reason, const char *raw,
                        size_t raw_len, bool warning) {
  if (!s->writer)
    return VG_OK;
  return vg_store_writer_reject(
      s->writer, source, line, where, reason, raw,
      raw_len > VG_RAW_EXCERPT ? VG_RAW_EXCERPT : raw_len, warning, NULL, 0);
}

/* Hands the record to the store's writer; with --emit, its result line
 * goes along, to be completed with its case. */
static int store_record(struct screen *s, const struct vg_source_item *item,
                        const struct vg_result *res) {
  if (s->emit) {
    vg_jsonw_reset(&s->out);
    vg_result_json_parts(&s->out, res, &s->style);
    if (s->out.failed)
      return VG_ENOMEM;
  }
  int rc = vg_store_writer_record(s->writer, s->ev, res, item->json,
                                  item->json_len, s->emit ? s->out.data : NULL,
                                  s->emit ? s->out.len : 0);
  if (rc == VG_OK && s->state && --s->evict_due <= 0) {
    rc = evict_state(s);
    s->evict_due = EVICT_EVERY_RECORDS;
  }
  return rc;
}

static int screen_record(struct screen *s, const char *file,
                         const struct vg_source_item *item) {
  s->n.read++;
  struct vg_result res;
  struct vg_reject rej;
  int rc = vg_eval_record(s->ev, item->json, item->json_len, &res, &rej);
  if (rc == VG_ENOMEM)
    return rc;
  if (rc != VG_OK) {
    s->n.rejected++;
    fprintf(stderr, "%s:%s: rejected: %s\n", file, item->where, rej.reason);
    return store_reject(s, file, item->line, item->where, rej.reason,
                        item->json, item->json_len, false);
  }
  if (res.observed_at > s->newest)
    s->newest = res.observed_at;
  if (s->writer)
    return store_record(s, item, &res);
  s->n.screened++;
  s->n.flagged += res.nhits > 0;
  /* Without a store there is no grouping by subject: every record that
   * reaches its threshold counts as a case it would open or join. */
  s->n.cases += res.opens_case;
  if (s->dry_run || s->emit) {
    vg_jsonw_reset(&s->out);
    vg_result_json(&s->out, &res, 0, &s->style);
    vg_jsonw_raw(&s->out, "\n", 1);
    if (s->out.failed)
      return VG_ENOMEM;
    if (fwrite(s->out.data, 1, s->out.len, stdout) != s->out.len)
      return VG_EIO;
  }
  return VG_OK;
}

static int screen_source(struct screen *s, struct vg_source *src,
                         const char *file) {
  struct vg_source_item item;
  int rc;
  while ((rc = vg_source_next(src, &item)) > 0) {
    switch (item.type) {
    case VG_ITEM_RECORD:
      rc = screen_record(s, file, &item);
      break;
    case VG_ITEM_REJECT:
      s->n.read++;
      s->n.rejected++;
      fprintf(stderr, "%s:%s: rejected: %s\n", file, item.where, item.reason);
      rc = store_reject(s, file, item.line, item.where, item.reason, item.raw,
                        item.raw_len, false);
      break;
    case VG_ITEM_WARNING:
      fprintf(stderr, "%s:%s: warning: %s\n", file, item.where, item.reason);
      rc = store_reject(s, file, item.line, item.where, item.reason, item.raw,
                        item.raw_len, true);
      break;
    }
    if (rc != VG_OK)
      return rc;
    if ((s->n.read & 1023) == 0)
      show_progress(s, false);
  }
  if (rc < 0 && item.reason[0])
    fprintf(stderr, "%s:%s: error: %s\n", file, item.where, item.reason);
  return rc;
}

static int screen_file(struct screen *s, const char *path,
                       const struct vg_csv_mapping *mapping,
                       const enum vg_format *forced) {
  char head[512];
  size_t head_len = 0;
  off_t size = 0;
  FILE *in = open_input(path, head, sizeof head, &head_len, &size);
  if (!in) {
    vg_cli_error("cannot read '%s': %s", path, strerror(errno));
    return VG_EIO;
  }
  enum vg_format format =
      forced ? *forced : vg_format_detect(path, head, head_len);
  const char *name = strcmp(path, "-") ? path : "stdin";
  struct vg_source *src = NULL;
  switch (format) {
  case VG_FORMAT_NDJSON:
    src = vg_source_ndjson_new(in, name, s->cli->cfg.max_record_bytes);
    break;
  case VG_FORMAT_CSV:
    src = vg_source_csv_new(in, name, mapping);
    break;
  case VG_FORMAT_PAXLST:
    src = vg_source_paxlst_new(in, name);
    break;
  }
  int rc = VG_ENOMEM;
  if (src) {
    s->current = in;
    rc = screen_source(s, src, name);
    s->current = NULL;
    s->done_bytes += size;
    vg_source_free(src);
  }
  if (in != stdin)
    fclose(in);
  if (rc == VG_EIO)
    vg_cli_error("error while reading '%s'", name);
  return rc;
}

/* Correlation rules need state: the store's, or with --dry-run the
 * store's read only (none when the database does not exist, which is then
 * not created) under a layer in memory. */
static int open_state(struct screen *s) {
  int rc;
  if (s->store) {
    rc = vg_store_corr_state(s->store, true, &s->state);
    if (rc != VG_OK) {
      vg_cli_error("cannot use the correlation state in '%s': %s",
                   s->cli->db_path, vg_store_errmsg(s->store));
      return rc;
    }
    vg_eval_set_state(s->ev, s->state);
    return VG_OK;
  }
  char err[256] = "";
  rc = vg_store_open(s->cli->db_path, false, &s->state_store, err, sizeof err);
  if (rc == VG_OK) {
    rc = vg_store_corr_state(s->state_store, false, &s->state);
    if (rc != VG_OK) {
      vg_cli_error("cannot read the correlation state in '%s': %s",
                   s->cli->db_path, vg_store_errmsg(s->state_store));
      return rc;
    }
  } else if (rc != VG_ENOTFOUND) {
    vg_cli_error("cannot open the database '%s': %s", s->cli->db_path, err);
    return rc;
  }
  s->overlay = vg_corr_overlay_new(s->state);
  if (!s->overlay) {
    vg_cli_error("out of memory");
    return VG_ENOMEM;
  }
  vg_eval_set_state(s->ev, s->overlay);
  return VG_OK;
}

static void print_summary(const struct screen *s) {
  if (s->cli->json) {
    fprintf(stderr,
            "{\"read\":%ld,\"screened\":%ld,\"flagged\":%ld,\"cases\":%ld,"
            "\"duplicates\":%ld,\"rejected\":%ld}\n",
            s->n.read, s->n.screened, s->n.flagged, s->n.cases, s->n.duplicates,
            s->n.rejected);
  } else {
    fprintf(stderr,
            "read %ld, screened %ld, flagged %ld, cases %ld, duplicates %ld, "
            "rejected %ld\n",
            s->n.read, s->n.screened, s->n.flagged, s->n.cases, s->n.duplicates,
            s->n.rejected);
  }
}

int vg_cmd_screen(struct vg_cli *cli, size_t nwords, const char **words) {
  struct screen s;
  memset(&s, 0, sizeof s);
  s.cli = cli;
  s.dry_run = vg_args_has(&cli->args, "dry-run");
  s.emit = vg_args_has(&cli->args, "emit");
  const char *format_name = vg_args_get(&cli->args, "format");
  enum vg_format forced;
  if (format_name && vg_format_parse(format_name, &forced) != VG_OK) {
    vg_cli_error("unknown format '%s' (expected ndjson, csv or paxlst)",
                 format_name);
    return VG_EXIT_USAGE;
  }
  static const char *stdin_only[] = {"-"};
  const char **files = nwords ? words : stdin_only;
  size_t nfiles = nwords ? nwords : 1;
  const char *mapping_path = vg_args_get(&cli->args, "mapping");
  bool needs_mapping = false;
  for (size_t i = 0; i < nfiles; i++) {
    enum vg_format f =
        format_name ? forced : vg_format_detect(files[i], NULL, 0);
    needs_mapping |= f == VG_FORMAT_CSV;
  }
  if (needs_mapping && !mapping_path) {
    vg_cli_error("CSV input needs --mapping FILE");
    return VG_EXIT_USAGE;
  }
  struct vg_csv_mapping *mapping = NULL;
  if (mapping_path) {
    struct vg_diags diags;
    vg_diags_init(&diags);
    int mrc = vg_csv_mapping_load(mapping_path, &mapping, &diags);
    vg_cli_print_diags(cli, &diags);
    vg_diags_close(&diags);
    if (mrc != VG_OK) {
      vg_cli_error("the mapping '%s' did not load", mapping_path);
      return VG_EXIT_USAGE;
    }
  }
  int status = vg_cli_load_rules(cli, false, &s.rs);
  if (status != VG_EXIT_OK) {
    vg_csv_mapping_free(mapping);
    return status;
  }
  status = VG_EXIT_FAILURE;
  s.ev = vg_eval_new(s.rs);
  vg_jsonw_init(&s.out);
  s.style.rs = s.rs;
  s.style.redact = cli->redact;
  if (!s.ev) {
    vg_cli_error("out of memory");
    goto done;
  }
  if (!s.dry_run) {
    char err[256] = "";
    if (vg_store_open(cli->db_path, true, &s.store, err, sizeof err) != VG_OK) {
      vg_cli_error("cannot open the database '%s': %s", cli->db_path, err);
      goto done;
    }
  }
  if (vg_ruleset_max_window(s.rs) > 0 && open_state(&s) != VG_OK)
    goto done;
  s.evict_due = EVICT_EVERY_RECORDS;
  if (s.store) {
    /* Checkpoints run on the writer's thread, where they overlap with
     * screening, and the close waits for what is left: every 4096 pages
     * (64 MiB) leaves little for it, without a sync of the database every
     * few megabytes; 16 chunks (2048 records) absorb the writer's pauses
     * at commits and checkpoints (measured: docs/performance.md). */
    struct vg_store_writer_hooks hooks = {.applied = on_applied,
                                          .arg = &s,
                                          .batch_records = BATCH_RECORDS,
                                          .checkpoint_pages = 4096,
                                          .queue_chunks = 16};
    if (vg_store_writer_start(s.store, s.rs, &hooks, &s.writer) != VG_OK) {
      vg_cli_error("cannot write to the database '%s': %s", cli->db_path,
                   vg_store_errmsg(s.store));
      goto done;
    }
  }
  /* Result lines go out in large writes; libc owns the buffer. */
  setvbuf(stdout, NULL, _IOFBF, 1 << 20);
  s.progress = cli->stderr_tty;
  clock_gettime(CLOCK_MONOTONIC, &s.started);
  for (size_t i = 0; i < nfiles; i++) {
    struct stat st;
    if (strcmp(files[i], "-") && stat(files[i], &st) == 0)
      s.total_bytes += st.st_size;
  }
  int rc = VG_OK;
  for (size_t i = 0; i < nfiles && rc != VG_ENOMEM; i++) {
    int frc = screen_file(&s, files[i], mapping, format_name ? &forced : NULL);
    if (frc != VG_OK)
      rc = frc;
  }
  if (s.writer) {
    int crc = rc == VG_OK ? evict_state(&s) : VG_OK;
    int frc = vg_store_writer_finish(s.writer);
    s.writer = NULL;
    if (crc == VG_OK)
      crc = frc;
    if (crc != VG_OK) {
      vg_cli_error("cannot store into the database '%s': %s", cli->db_path,
                   vg_store_errmsg(s.store));
      if (rc == VG_OK)
        rc = crc;
    }
  }
  show_progress(&s, true);
  if (fflush(stdout) != 0 && rc == VG_OK)
    rc = VG_EIO;
  print_summary(&s);
  if (rc == VG_ENOMEM)
    vg_cli_error("out of memory");
  status = rc != VG_OK    ? VG_EXIT_FAILURE
           : s.n.rejected ? VG_EXIT_REJECTS
                          : VG_EXIT_OK;
done:
  vg_store_writer_finish(s.writer);
  vg_corr_state_free(s.overlay);
  vg_corr_state_free(s.state);
  vg_store_close(s.state_store);
  vg_store_close(s.store);
  vg_jsonw_close(&s.out);
  vg_jsonw_close(&s.emit_line);
  vg_eval_free(s.ev);
  vg_ruleset_free(s.rs);
  vg_csv_mapping_free(mapping);
  return status;
}
