/* json.c (bench) - throughput of the record reader's fast path: MB/s of
 * vg_json_scan over generated ~850-byte nested records, and of the NDJSON
 * source reading a large temporary file. Prints figures; asserts nothing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "source.h"

#define NRECORDS 20000
#define FILE_BYTES ((size_t)256 << 20)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift: reproducible records without global state. */
static uint64_t next_rand(uint64_t *state) {
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *state = x;
  return x;
}

static const char *pick(uint64_t *rng, const char *const *words, size_t n) {
  return words[next_rand(rng) % n];
}

/* Appends one travel-like record of about 850 bytes with ~25 leaf fields
 * (three levels of nesting, an array of objects, some non-ASCII text and an
 * escape) plus a '\n'. Returns the bytes written. */
static size_t make_record(char *out, size_t cap, uint64_t *rng, long id) {
  static const char *const names[] = {"María José",      "Nguyễn Văn An",
                                      "Olena Kovalenko", "Ana Lucía",
                                      "Precious Okafor", "Siti Rahma"};
  static const char *const countries[] = {"COL", "VEN", "UKR", "NGA",
                                          "VNM", "IDN", "PHL", "ESP"};
  static const char *const notes[] = {
      "Passenger travelling alone, ticket paid in cash at the agency "
      "counter two days before departure; return segment not booked.",
      "Group booking made by a third party; contact phone shared with "
      "several other bookings this month \\u2014 see agent notes.",
      "Traveller states the trip is for a job offer abroad (hospitality); "
      "employer name not given, accommodation \\\"provided\\\"."};
  unsigned r = (unsigned)next_rand(rng);
  int n = snprintf(
      out, cap,
      "{\"kind\":\"travel\",\"id\":\"T%08ld\",\"source\":\"airline-%u\","
      "\"observed_at\":\"2024-%02u-%02uT%02u:%02u:00Z\","
      "\"traveller\":{\"name\":\"%s\",\"surname\":\"Pérez Gómez\","
      "\"birth_date\":\"%u-%02u-%02u\",\"sex\":\"%s\",\"nationality\":\"%s\","
      "\"document\":{\"type\":\"P\",\"number\":\"AB%07u\","
      "\"issuing_country\":\"%s\",\"expiry\":\"2031-04-30\"}},"
      "\"booking\":{\"ref\":\"X%05u\",\"booked_at\":\"2024-04-2%uT08:00:00Z\","
      "\"paid_by\":\"%s\",\"payment\":\"%s\",\"one_way\":%s,"
      "\"price\":{\"amount\":%u.%02u,\"currency\":\"USD\"},\"seats\":%u},"
      "\"flight\":{\"number\":\"AV%03u\",\"from\":\"BOG\",\"to\":\"MAD\","
      "\"departure_at\":\"2024-05-0%uT22:15:00-05:00\",\"cabin\":\"Y\"},"
      "\"companions\":[{\"name\":\"%s\",\"age\":%u},{\"name\":\"%s\","
      "\"age\":%u}],\"agent\":{\"id\":%u,\"phone\":\"+57 300 %03u %04u\","
      "\"office\":null},\"notes\":\"%s\",\"tags\":[\"a\",\"b\",%u]}\n",
      id, r % 7, 1 + r % 12, 1 + r % 28, r % 24, r % 60, pick(rng, names, 6),
      1960 + r % 45, 1 + r % 12, 1 + r % 28, r & 1 ? "F" : "M",
      pick(rng, countries, 8), r % 10000000u, pick(rng, countries, 8),
      r % 100000u, r % 9, pick(rng, names, 6), r & 2 ? "cash" : "card",
      r & 4 ? "true" : "false", 100 + r % 2000, r % 100, 1 + r % 3, r % 1000,
      1 + r % 9, pick(rng, names, 6), r % 60, pick(rng, names, 6), r % 60,
      r % 5000, r % 1000, r % 10000, pick(rng, notes, 3), r % 10);
  return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static const char *const paths[] = {"kind",
                                    "id",
                                    "source",
                                    "observed_at",
                                    "traveller.name",
                                    "traveller.birth_date",
                                    "traveller.sex",
                                    "traveller.nationality",
                                    "traveller.document.number",
                                    "booking.paid_by",
                                    "booking.one_way",
                                    "booking.price.amount",
                                    "booking.booked_at",
                                    "flight.departure_at",
                                    "companions",
                                    "agent.phone",
                                    "notes"};
#define NPATHS (sizeof paths / sizeof paths[0])

int main(void) {
  int status = 1;
  char *buf = NULL;
  size_t *offs = NULL;
  FILE *tmp = NULL;
  struct vg_source *src = NULL;
  struct vg_pathtrie *trie = vg_pathtrie_new();
  struct vg_json_token tokens[NPATHS];
  struct vg_json_error err;
  if (!trie)
    goto out;
  for (size_t i = 0; i < NPATHS; i++)
    if (vg_pathtrie_add(trie, paths[i], strlen(paths[i])) < 0)
      goto out;

  size_t cap = (size_t)NRECORDS * 1200, len = 0;
  buf = malloc(cap);
  offs = malloc((NRECORDS + 1) * sizeof *offs);
  if (!buf || !offs)
    goto out;
  uint64_t rng = 0x9E3779B97F4A7C15u;
  for (long i = 0; i < NRECORDS; i++) {
    offs[i] = len;
    size_t n = make_record(buf + len, cap - len, &rng, i);
    if (n == 0)
      goto out;
    len += n;
  }
  offs[NRECORDS] = len;
  if (vg_json_scan(trie, buf, offs[1], tokens, &err) != 0) {
    fprintf(stderr, "generated record invalid at %zu: %s\n", err.offset,
            err.message);
    goto out;
  }
  printf("records: %d, average %.0f bytes, %zu paths\n", NRECORDS,
         (double)len / NRECORDS, NPATHS);

  /* Scan: repeat over the buffer for about two seconds. */
  double t0 = now(), elapsed;
  size_t bytes = 0, records = 0, found = 0;
  do {
    for (size_t i = 0; i < NRECORDS; i++) {
      size_t n = offs[i + 1] - offs[i];
      if (vg_json_scan(trie, buf + offs[i], n, tokens, &err) != 0) {
        fprintf(stderr, "record %zu: %s at %zu: %.40s\n", i, err.message,
                err.offset, buf + offs[i] + err.offset);
        goto out;
      }
      found += tokens[8].kind != VG_JSON_ABSENT;
      bytes += n;
    }
    records += NRECORDS;
    elapsed = now() - t0;
  } while (elapsed < 2.0);
  printf("vg_json_scan: %.0f MB/s, %.0f records/s (%zu found)\n",
         (double)bytes / elapsed / 1e6, (double)records / elapsed, found);

  /* NDJSON source over a large temporary file (in the page cache). */
  tmp = tmpfile();
  if (!tmp)
    goto out;
  size_t written = 0;
  while (written < FILE_BYTES) {
    if (fwrite(buf, 1, len, tmp) != len)
      goto out;
    written += len;
  }
  if (fflush(tmp) != 0)
    goto out;
  for (int pass = 0; pass < 2; pass++) {
    rewind(tmp);
    src = vg_source_ndjson_new(tmp, "bench", 1 << 20);
    if (!src)
      goto out;
    struct vg_source_item item;
    size_t seen = 0, nrec = 0;
    int rc;
    t0 = now();
    while ((rc = vg_source_next(src, &item)) == 1) {
      if (item.type != VG_ITEM_RECORD)
        goto out;
      if (pass == 1 &&
          vg_json_scan(trie, item.json, item.json_len, tokens, &err) != 0)
        goto out;
      seen += item.json_len + 1;
      nrec++;
    }
    elapsed = now() - t0;
    if (rc != 0)
      goto out;
    printf("%s: %.0f MB/s, %.0f records/s (%zu MB)\n",
           pass ? "ndjson source + vg_json_scan" : "ndjson source",
           (double)seen / elapsed / 1e6, (double)nrec / elapsed, seen >> 20);
    vg_source_free(src);
    src = NULL;
  }
  status = 0;
out:
  if (status)
    fprintf(stderr, "bench failed\n");
  vg_source_free(src);
  if (tmp)
    fclose(tmp);
  free(offs);
  free(buf);
  vg_pathtrie_free(trie);
  return status;
}
