/* adapters.c - throughput of the CSV and PAXLST record adapters on
 * generated input: prints MB/s and records/s of each, on one core.
 * Usage: vg_bench_adapters [MEGABYTES [csv|paxlst]] (default 64 MB per
 * adapter, both adapters). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "source.h"
#include "vg_error.h"

struct text {
  char *buf;
  size_t len, cap;
};

static void put(struct text *t, const char *s, size_t n) {
  if (t->len + n > t->cap) {
    size_t cap = t->cap ? t->cap : 1 << 20;
    while (cap < t->len + n)
      cap *= 2;
    char *grown = realloc(t->buf, cap);
    if (!grown) {
      fprintf(stderr, "out of memory\n");
      exit(1);
    }
    t->buf = grown;
    t->cap = cap;
  }
  memcpy(t->buf + t->len, s, n);
  t->len += n;
}

static void putf(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void putf(struct text *t, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof line) {
    fprintf(stderr, "generated line too long\n");
    exit(1);
  }
  put(t, line, (size_t)n);
}

/* A small deterministic generator, so every run reads the same input. */
static unsigned long long rng = 88172645463325252ULL;
static unsigned next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (unsigned)(rng >> 11);
}

static const char *const surnames[] = {"GARCIA", "RODRIGUEZ", "MARTINEZ",
                                       "LOPEZ",  "GONZALEZ",  "PEREZ",
                                       "SMITH",  "NGUYEN",    "O?'NEILL"};
static const char *const given[] = {"MARIA", "JOSE",   "ANA", "LUIS",
                                    "SOFIA", "CARLOS", "MAI", "JOHN"};
static const char *const countries[] = {"COL", "MEX", "ESP", "USA",
                                        "VNM", "IRL", "PER", "ARG"};

static const char mapping_yaml[] =
    "constants: { kind: premises, source: bench }\n"
    "id: licence\n"
    "columns:\n"
    "  licence: licence.number\n"
    "  name: premises.name\n"
    "  address: premises.address\n"
    "  class: licence.class\n"
    "  inspected: { field: observed_at, type: datetime, formats: "
    "[\"%d/%m/%Y %H:%M\"], zone: \"-05:00\" }\n"
    "  valid_until: { field: licence.valid_until, type: date, format: "
    "\"%d/%m/%Y\" }\n"
    "  workers: { field: inspection.workers, type: int }\n"
    "  beds_found: { field: inspection.beds_found, type: bool, true: [si], "
    "false: [no] }\n"
    "  activities: { field: licence.activities, type: list, separator: "
    "\"|\" }\n"
    "  phone: { field: holder.phone, type: phone }\n"
    "  findings: { field: inspection.findings, type: text }\n";

static void make_csv(struct text *t, size_t bytes, size_t *rows) {
  putf(t, "licence,name,address,class,inspected,valid_until,workers,"
          "beds_found,activities,phone,findings\r\n");
  *rows = 0;
  while (t->len < bytes) {
    unsigned r = next_rand();
    putf(t,
         "LIC-%06u,\"Bar %s \"\"%s\"\"\",Calle %u # %u-%u,%s,%02u/%02u/2026 "
         "%02u:%02u,%02u/%02u/2027,%u,%s,bar|karaoke|%s,+57 300 %03u "
         "%04u,\"Workers counted: %u.\nNo register of wages.\"\r\n",
         (unsigned)*rows, given[r % 8], surnames[(r >> 3) % 8], r % 200,
         (r >> 5) % 90, (r >> 9) % 99, r % 3 ? "bar" : "nightclub", 1 + r % 28,
         1 + (r >> 4) % 12, r % 24, (r >> 6) % 60, 1 + r % 28,
         1 + (r >> 7) % 12, r % 40, r % 5 ? "no" : "si",
         r % 2 ? "massage" : "dance", r % 1000, (r >> 10) % 10000, r % 40);
    ++*rows;
  }
}

static void make_paxlst(struct text *t, size_t bytes, size_t *travellers) {
  *travellers = 0;
  putf(t, "UNA:+.? '\nUNB+UNOA:4+BENCHAIR:ZZ+AGENCY:ZZ+260314:0930+1++"
          "APIS'\n");
  unsigned msg = 0;
  while (t->len < bytes) {
    msg++;
    size_t segs = 0;
    putf(t,
         "UNH+%u+PAXLST:D:02B:UN:IATA'\nBGM+745'\n"
         "NAD+MS+++BENCH OPS'\nCOM+1 555 0100:TE+1 555 0199:FX'\n"
         "TDT+20+BA%u+++BA'\nLOC+125+BOG'\nDTM+189:2603141045:201'\n"
         "LOC+87+MAD'\nDTM+232:2603150420:201'\n",
         msg, 100 + msg % 900);
    segs += 9;
    unsigned pax = 200;
    for (unsigned i = 0; i < pax; i++) {
      unsigned r = next_rand();
      putf(t,
           "NAD+FL+++%s:%s:%s'\nATT+2++%c'\nDTM+329:%02u%02u%02u'\n"
           "LOC+178+BOG'\nLOC+179+MAD'\nNAT+2+%s'\nRFF+AVF:Q%05u'\n"
           "RFF+SEA:%u%c'\nDOC+P+X%08u'\nDTM+36:3%u%02u%02u'\nLOC+91+%s'\n",
           surnames[r % 9], given[(r >> 4) % 8], given[(r >> 8) % 8],
           r % 2 ? 'F' : 'M', (r >> 3) % 100, 1 + (r >> 5) % 12,
           1 + (r >> 9) % 28, countries[(r >> 12) % 8], r % 100000, 1 + r % 40,
           'A' + (int)(r % 6), r % 100000000, r % 10, 1 + (r >> 6) % 12,
           1 + (r >> 10) % 28, countries[(r >> 15) % 8]);
      segs += 11;
      ++*travellers;
    }
    putf(t, "CNT+42:%u'\nUNT+%zu+%u'\n", pax, segs + 2, msg);
  }
  putf(t, "UNZ+%u+1'\n", msg);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads every item of src; returns records seen, or -1. */
static long drain(struct vg_source *src, long *rejects) {
  struct vg_source_item item;
  long records = 0;
  int rc;
  *rejects = 0;
  while ((rc = vg_source_next(src, &item)) > 0) {
    if (item.type == VG_ITEM_RECORD)
      records++;
    else
      ++*rejects;
  }
  return rc < 0 ? -1 : records;
}

static int run(const char *label, struct text *t,
               const struct vg_csv_mapping *mapping) {
  double best = 0;
  long records = 0, rejects = 0;
  for (int round = 0; round < 3; round++) {
    FILE *in = fmemopen(t->buf, t->len, "r");
    if (!in)
      return -1;
    struct vg_source *src = mapping ? vg_source_csv_new(in, label, mapping)
                                    : vg_source_paxlst_new(in, label);
    if (!src) {
      fclose(in);
      return -1;
    }
    double t0 = now();
    records = drain(src, &rejects);
    double secs = now() - t0;
    vg_source_free(src);
    fclose(in);
    if (records < 0)
      return -1;
    double mbs = (double)t->len / 1e6 / secs;
    if (mbs > best)
      best = mbs;
  }
  printf("%-7s %8.1f MB/s  %10.0f records/s  (%.1f MB, %ld records, %ld "
         "other items; best of 3)\n",
         label, best, best * 1e6 / (double)t->len * (double)records,
         (double)t->len / 1e6, records, rejects);
  return 0;
}

int main(int argc, char **argv) {
  size_t mb = 64;
  const char *only = argc > 2 ? argv[2] : NULL;
  if (argc > 1) {
    char *end;
    long v = strtol(argv[1], &end, 10);
    if (*end || v <= 0 || v > 4096) {
      fprintf(stderr, "usage: %s [MEGABYTES [csv|paxlst]]\n", argv[0]);
      return 2;
    }
    mb = (size_t)v;
  }
  struct vg_diags diags;
  vg_diags_init(&diags);
  struct vg_csv_mapping *mapping = NULL;
  if (vg_csv_mapping_load_string("bench.mapping.yaml", mapping_yaml,
                                 strlen(mapping_yaml), &mapping,
                                 &diags) != VG_OK) {
    for (size_t i = 0; i < diags.count; i++)
      fprintf(stderr, "%d:%d: %s\n", diags.items[i].line, diags.items[i].col,
              diags.items[i].message);
    vg_diags_close(&diags);
    return 1;
  }
  vg_diags_close(&diags);

  struct text csv = {0}, pax = {0};
  size_t rows, travellers;
  int rc = 0;
  if (!only || strcmp(only, "csv") == 0) {
    make_csv(&csv, mb << 20, &rows);
    rc = run("csv", &csv, mapping);
  }
  if (rc == 0 && (!only || strcmp(only, "paxlst") == 0)) {
    make_paxlst(&pax, mb << 20, &travellers);
    rc = run("paxlst", &pax, NULL);
  }
  if (rc != 0)
    fprintf(stderr, "an adapter failed\n");
  vg_csv_mapping_free(mapping);
  free(csv.buf);
  free(pax.buf);
  return rc == 0 ? 0 : 1;
}
