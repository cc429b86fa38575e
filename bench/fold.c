/* bench/fold.c - prints nanoseconds per call of vg_fold (ASCII and
 * non-ASCII input), vg_name_key and vg_fuzzy_list_best on a 1,000-entry list.
 * Each figure is the best of REPEATS runs, so other load on the machine
 * inflates it less. Usage: vg_bench_fold [iterations-scale] (default 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fold.h"

#define LIST_SIZE 1000
#define REPEATS 5

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Deterministic, so runs compare. */
static uint64_t rng_state = 0x2545F4914F6CDD1Du;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
}

static const char *const first_names[] = {
    "María",  "José",   "Juan",  "Ana",     "Luis",   "Carmen",  "Jorge",
    "Lucía",  "Andrés", "Sofía", "Ivan",    "Olga",   "Mohamed", "Fatima",
    "Wei",    "Nguyen", "Rosa",  "Pedro",   "Camila", "Diego",   "Valentina",
    "Mateo",  "Elena",  "Omar",  "Aisha",   "Tomás",  "Gabriel", "Daniela",
    "Samuel", "Paula",  "Hugo",  "Natalia", "Raúl",   "Julia",   "Sergei"};
static const char *const last_names[] = {
    "Pérez",    "Gómez",   "Rodríguez", "López",   "Martínez", "García",
    "Sánchez",  "Ramírez", "Torres",    "Flores",  "Rivera",   "Díaz",
    "Morales",  "Ortiz",   "Castillo",  "Jiménez", "Vargas",   "Romero",
    "Herrera",  "Medina",  "Aguilar",   "Petrov",  "Ivanova",  "Hassan",
    "Al-Sayed", "Chen",    "Tran",      "Okafor",  "Mensah",   "Silva",
    "Santos",   "Oliveira"};
#define COUNT(a) (sizeof(a) / sizeof(a)[0])

static void make_name(char *out, size_t cap) {
  int n =
      snprintf(out, cap, "%s %s %s", first_names[rnd() % COUNT(first_names)],
               last_names[rnd() % COUNT(last_names)],
               last_names[rnd() % COUNT(last_names)]);
  (void)n;
}

typedef size_t (*keyfn)(const char *, size_t, char *, size_t);

/* Returns the best ns per call of f (vg_fold or vg_name_key) over s. */
static double bench_key(keyfn f, const char *s, long iters, size_t *sink) {
  char out[256];
  size_t len = strlen(s);
  double best = 0.0;
  for (int r = 0; r < REPEATS; r++) {
    double t0 = now_ns();
    for (long i = 0; i < iters; i++)
      *sink += f(s, len, out, sizeof out) + (unsigned char)out[0];
    double t = (now_ns() - t0) / (double)iters;
    if (r == 0 || t < best)
      best = t;
  }
  return best;
}

struct query {
  char key[VG_NAME_MAX_BYTES];
  size_t len;
};

/* Returns the best ns per call of vg_fuzzy_list_best over the queries,
 * cycling; *hits counts matches of one run. */
static double bench_best(const struct vg_fuzzy_list *list,
                         const struct query *q, size_t nq, double threshold,
                         long iters, size_t *hits) {
  size_t entry;
  double sim, best = 0.0;
  for (int r = 0; r < REPEATS; r++) {
    *hits = 0;
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) {
      const struct query *x = &q[(size_t)i % nq];
      *hits +=
          vg_fuzzy_list_best(list, x->key, x->len, threshold, &entry, &sim);
    }
    double t = (now_ns() - t0) / (double)iters;
    if (r == 0 || t < best)
      best = t;
  }
  return best;
}

int main(int argc, char **argv) {
  long scale = 1;
  if (argc > 1) {
    char *end;
    scale = strtol(argv[1], &end, 10);
    if (*end != '\0' || scale < 1) {
      fprintf(stderr, "usage: %s [iterations-scale]\n", argv[0]);
      return 2;
    }
  }
  size_t sink = 0;
  long iters = 1000000 * scale;

  const char *ascii = "  Maria Fernanda   GOMEZ Rodriguez ";
  const char *ascii_short = "Bogota";
  const char *nonascii = "  María Fernanda   GÓMEZ Rodríguez ";
  const char *cyrillic = "Иван Сергеевич Петров";
  printf("vg_fold ascii (%zu B)        %8.1f ns/call\n", strlen(ascii),
         bench_key(vg_fold, ascii, iters, &sink));
  printf("vg_fold ascii short (%zu B)   %8.1f ns/call\n", strlen(ascii_short),
         bench_key(vg_fold, ascii_short, iters, &sink));
  printf("vg_fold latin accents (%zu B) %8.1f ns/call\n", strlen(nonascii),
         bench_key(vg_fold, nonascii, iters, &sink));
  printf("vg_fold cyrillic (%zu B)      %8.1f ns/call\n", strlen(cyrillic),
         bench_key(vg_fold, cyrillic, iters, &sink));
  printf("vg_name_key ascii            %8.1f ns/call\n",
         bench_key(vg_name_key, ascii, iters, &sink));
  printf("vg_name_key latin accents    %8.1f ns/call\n",
         bench_key(vg_name_key, nonascii, iters, &sink));

  static char names[LIST_SIZE][128];
  const char *ptrs[LIST_SIZE];
  size_t lens[LIST_SIZE];
  for (size_t i = 0; i < LIST_SIZE; i++) {
    make_name(names[i], sizeof names[i]);
    ptrs[i] = names[i];
    lens[i] = strlen(names[i]);
  }
  double t0 = now_ns();
  struct vg_fuzzy_list *list = vg_fuzzy_list_new(ptrs, lens, LIST_SIZE);
  double build = now_ns() - t0;
  if (!list) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  printf("vg_fuzzy_list_new (%d)     %8.1f us\n", LIST_SIZE, build / 1e3);

  /* Three query sets: "random" names from the list's pools (many share two
   * of three tokens with some entry), "other" names from unrelated syllables
   * (nothing close in the list) and "typo", an entry with one letter
   * changed. */
  enum { NQ = 512 };
  static struct query sets[3][NQ];
  const char *set_names[3] = {"random", "other", "typo"};
  static const char *const syllables[] = {"ka",  "zu", "bo", "ti", "ren",
                                          "sha", "vy", "ko", "mi", "dak"};
  for (size_t i = 0; i < NQ; i++) {
    char raw[128];
    make_name(raw, sizeof raw);
    sets[0][i].len =
        vg_name_key(raw, strlen(raw), sets[0][i].key, sizeof sets[0][i].key);

    size_t n = 0;
    for (int w = 0; w < 3; w++)
      for (int k = 0; k < 3; k++)
        n += (size_t)snprintf(raw + n, sizeof raw - n, "%s%s",
                              k == 0 && w > 0 ? " " : "",
                              syllables[rnd() % COUNT(syllables)]);
    sets[1][i].len = vg_name_key(raw, n, sets[1][i].key, sizeof sets[1][i].key);

    memcpy(raw, names[rnd() % LIST_SIZE], sizeof raw);
    n = strlen(raw);
    size_t at = rnd() % n;
    if ((unsigned char)raw[at] < 0x80 && raw[at] != ' ')
      raw[at] = raw[at] == 'x' ? 'y' : 'x';
    sets[2][i].len = vg_name_key(raw, n, sets[2][i].key, sizeof sets[2][i].key);
  }
  long fiters = 20000 * scale;
  const double thresholds[] = {0.90, 0.85};
  for (size_t t = 0; t < COUNT(thresholds); t++) {
    for (int k = 0; k < 3; k++) {
      size_t hits = 0;
      double ns = bench_best(list, sets[k], NQ, thresholds[t], fiters, &hits);
      printf("vg_fuzzy_list_best %-6s @%.2f %8.1f ns/call (%3.0f%% matched)\n",
             set_names[k], thresholds[t], ns,
             100.0 * (double)hits / (double)fiters);
    }
  }

  /* The cost of scoring every entry, for comparison with the pruned scan. */
  static char fullkey[LIST_SIZE][VG_NAME_MAX_BYTES];
  static size_t fulllen[LIST_SIZE];
  for (size_t i = 0; i < LIST_SIZE; i++)
    fulllen[i] = vg_name_key(names[i], lens[i], fullkey[i], sizeof fullkey[i]);
  long biters = 200 * scale;
  double acc = 0.0, full = 0.0;
  for (int r = 0; r < REPEATS; r++) {
    t0 = now_ns();
    for (long i = 0; i < biters; i++) {
      const struct query *x = &sets[0][(size_t)i % NQ];
      for (size_t e = 0; e < LIST_SIZE; e++)
        acc += vg_name_similarity(x->key, x->len, fullkey[e], fulllen[e]);
    }
    double t = (now_ns() - t0) / (double)biters;
    if (r == 0 || t < full)
      full = t;
  }
  printf("similarity of every entry, no pruning %8.1f ns/query\n", full);

  vg_fuzzy_list_free(list);
  /* Keeps the compiler from discarding the loops. */
  if (sink == 42 && acc < 0)
    puts("");
  return 0;
}
