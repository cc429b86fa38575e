/* acm.c - Aho-Corasick: a trie of the literals, failure links by breadth-
 * first search, then a full transition table over byte classes so the scan
 * is one table lookup per byte. */
#include "acm.h"

#include <stdlib.h>
#include <string.h>

struct vg_acm {
  /* byte -> class; 0 for bytes in no literal. Wider than a byte: when the
   * literals use all 256 byte values there are 257 classes. */
  uint16_t classes[256];
  size_t nclasses;
  size_t nstates;
  uint32_t *next; /* nstates * nclasses transitions, while building */
  /* The scan's table: per transition, the target state's row offset
   * (state * nclasses) shifted left once, the low bit set when the target
   * reports literals, so a byte costs two loads and no multiply. */
  uint32_t *table;
  uint32_t *out_at;  /* per state: first index into outs, and ... */
  uint32_t *out_end; /* ... one past its last */
  uint32_t *outs;    /* literal ids ending at each state (failure chain) */
  size_t nliterals;
  uint32_t *lit_len;   /* per literal, for boundary checks */
  uint8_t *lit_bounds; /* per literal: 1 no word char before, 2 after */
};

struct build_state {
  uint32_t *child; /* nclasses entries; 0 = none (the root is never one) */
  uint32_t fail;
  uint32_t *ids; /* literals ending exactly here */
  size_t nids;
};

static uint8_t fold_byte(uint8_t c, bool caseless) {
  return caseless && c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

void vg_acm_free(struct vg_acm *acm) {
  if (!acm)
    return;
  free(acm->next);
  free(acm->table);
  free(acm->out_at);
  free(acm->out_end);
  free(acm->outs);
  free(acm->lit_len);
  free(acm->lit_bounds);
  free(acm);
}

size_t vg_acm_words(const struct vg_acm *acm) {
  return (acm->nliterals + 63) / 64;
}

struct vg_acm *vg_acm_new(const char *const *literals, const size_t *lens,
                          const uint8_t *bounds, size_t n,
                          bool ascii_caseless) {
  struct vg_acm *acm = calloc(1, sizeof *acm);
  if (!acm)
    return NULL;
  acm->nliterals = n;
  acm->lit_len = calloc(n ? n : 1, sizeof *acm->lit_len);
  acm->lit_bounds = calloc(n ? n : 1, sizeof *acm->lit_bounds);
  if (!acm->lit_len || !acm->lit_bounds)
    goto fail;
  for (size_t i = 0; i < n; i++) {
    acm->lit_len[i] = (uint32_t)lens[i];
    acm->lit_bounds[i] = bounds ? bounds[i] : 0;
  }
  /* Byte classes: every byte used by a literal gets its own class. */
  size_t nclasses = 1;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < lens[i]; j++) {
      uint8_t c = fold_byte((uint8_t)literals[i][j], ascii_caseless);
      if (!acm->classes[c])
        acm->classes[c] = (uint16_t)nclasses++;
    }
  if (ascii_caseless)
    for (int c = 'A'; c <= 'Z'; c++)
      acm->classes[c] = acm->classes[c + 32];
  acm->nclasses = nclasses;

  size_t total = 1;
  for (size_t i = 0; i < n; i++)
    total += lens[i];
  struct build_state *st = calloc(total, sizeof *st);
  uint32_t *pool = calloc(total * nclasses, sizeof *pool);
  uint32_t *queue = malloc(total * sizeof *queue);
  if (!st || !pool || !queue) {
    free(st);
    free(pool);
    free(queue);
    goto fail;
  }
  for (size_t s = 0; s < total; s++)
    st[s].child = pool + s * nclasses;
  size_t nstates = 1;
  bool ok = true;
  for (size_t i = 0; i < n && ok; i++) {
    if (lens[i] == 0)
      continue;
    uint32_t s = 0;
    for (size_t j = 0; j < lens[i]; j++) {
      uint16_t cls =
          acm->classes[fold_byte((uint8_t)literals[i][j], ascii_caseless)];
      if (!st[s].child[cls])
        st[s].child[cls] = (uint32_t)nstates++;
      s = st[s].child[cls];
    }
    uint32_t *ids = realloc(st[s].ids, (st[s].nids + 1) * sizeof *ids);
    if (!ids) {
      ok = false;
      break;
    }
    ids[st[s].nids++] = (uint32_t)i;
    st[s].ids = ids;
  }
  /* Breadth-first: failure links, and missing transitions filled from the
   * failure state, turning the trie into a DFA. */
  acm->nstates = nstates;
  acm->next = ok ? malloc(nstates * nclasses * sizeof *acm->next) : NULL;
  acm->out_at = ok ? calloc(nstates, sizeof *acm->out_at) : NULL;
  acm->out_end = ok ? calloc(nstates, sizeof *acm->out_end) : NULL;
  if (!acm->next || !acm->out_at || !acm->out_end)
    ok = false;
  size_t head = 0, tail = 0;
  if (ok) {
    for (size_t c = 0; c < nclasses; c++) {
      uint32_t child = st[0].child[c];
      acm->next[c] = child;
      if (child) {
        st[child].fail = 0;
        queue[tail++] = child;
      }
    }
    while (head < tail) {
      uint32_t s = queue[head++];
      for (size_t c = 0; c < nclasses; c++) {
        uint32_t child = st[s].child[c];
        if (child) {
          st[child].fail = acm->next[st[s].fail * nclasses + c];
          queue[tail++] = child;
          acm->next[s * nclasses + c] = child;
        } else {
          acm->next[s * nclasses + c] = acm->next[st[s].fail * nclasses + c];
        }
      }
    }
  }
  /* Outputs: a state reports its own literals and those of its failure
   * chain. States are in breadth-first order, so chains resolve in order. */
  size_t nouts = 0;
  if (ok) {
    for (size_t q = 0; q < tail; q++) {
      uint32_t s = queue[q];
      size_t count = 0;
      for (uint32_t f = s; f; f = st[f].fail)
        count += st[f].nids;
      nouts += count;
    }
    acm->outs = malloc((nouts ? nouts : 1) * sizeof *acm->outs);
    if (!acm->outs)
      ok = false;
  }
  if (ok) {
    size_t at = 0;
    for (size_t q = 0; q < tail; q++) {
      uint32_t s = queue[q];
      acm->out_at[s] = (uint32_t)at;
      for (uint32_t f = s; f; f = st[f].fail)
        for (size_t k = 0; k < st[f].nids; k++)
          acm->outs[at++] = st[f].ids[k];
      acm->out_end[s] = (uint32_t)at;
    }
  }
  for (size_t s = 0; s < total; s++)
    free(st[s].ids);
  free(st);
  free(pool);
  free(queue);
  if (!ok || nstates * nclasses >= (UINT32_C(1) << 31))
    goto fail;
  acm->table = malloc(nstates * nclasses * sizeof *acm->table);
  if (!acm->table)
    goto fail;
  for (size_t i = 0; i < nstates * nclasses; i++) {
    uint32_t target = acm->next[i];
    acm->table[i] = (uint32_t)(target * nclasses) << 1 |
                    (acm->out_at[target] != acm->out_end[target]);
  }
  free(acm->next);
  acm->next = NULL;
  return acm;
fail:
  vg_acm_free(acm);
  return NULL;
}

static bool ascii_word(uint8_t c) {
  return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z') ||
         c == '_';
}

/* Reports the literals ending at text[end - 1]. */
static void report(const struct vg_acm *acm, uint32_t s, const uint8_t *text,
                   size_t end, size_t len, uint64_t *found) {
  for (uint32_t k = acm->out_at[s]; k < acm->out_end[s]; k++) {
    uint32_t id = acm->outs[k];
    uint8_t b = acm->lit_bounds[id];
    if (b) {
      size_t start = end - acm->lit_len[id];
      if ((b & 1) && start > 0 && ascii_word(text[start - 1]))
        continue;
      if ((b & 2) && end < len && ascii_word(text[end]))
        continue;
    }
    found[id >> 6] |= UINT64_C(1) << (id & 63);
  }
}

void vg_acm_scan(const struct vg_acm *acm, const char *text, size_t len,
                 uint64_t *found) {
  const uint32_t *table = acm->table;
  const uint16_t *classes = acm->classes;
  const uint8_t *base = (const uint8_t *)text;
  const uint8_t *p = base, *end = p + len;
  uint32_t row = 0;
  while (p < end) {
    uint32_t t = table[row + classes[*p++]];
    row = t >> 1;
    if (t & 1)
      report(acm, row / (uint32_t)acm->nclasses, base, (size_t)(p - base), len,
             found);
  }
}
