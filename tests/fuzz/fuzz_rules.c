/* fuzz_rules.c - fuzz target for the rule loader: arbitrary bytes become
 * the one rule file of a rules directory with a fixed schema, and go
 * through vg_ruleset_load. What loads is also screened and its embedded
 * tests run. Nothing may crash, hang or leak, and every diagnostic must be
 * well formed. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigia.h"

static const char schema[] = "kind: t\n"
                             "subject: doc\n"
                             "fields:\n"
                             "  doc:   { type: string }\n"
                             "  name:  { type: string }\n"
                             "  text:  { type: text }\n"
                             "  phone: { type: phone }\n"
                             "  n:     { type: int }\n"
                             "  x:     { type: number }\n"
                             "  flag:  { type: bool }\n"
                             "  d:     { type: date }\n"
                             "  dt:    { type: datetime }\n"
                             "  tags:  { type: list }\n"
                             "  sex:   { type: string, protected: true }\n"
                             "  a.b:   { type: string }\n"
                             "derived:\n"
                             "  age:   { years_between: [d, dt] }\n"
                             "  ntags: { count: tags }\n";

static const char record[] =
    "{\"kind\":\"t\",\"id\":\"r1\",\"observed_at\":\"2026-01-01T00:00:00Z\","
    "\"doc\":\"X1\",\"name\":\"Juan Pérez\",\"text\":\"Las Señoritas, sin "
    "experiencia, viaje pagado\",\"phone\":\"+57 300 123 4567\",\"n\":17,"
    "\"x\":2.5,\"flag\":true,\"d\":\"2008-05-10\",\"dt\":"
    "\"2026-05-10T00:00:00Z\",\"tags\":[\"a\",\"b\"],\"sex\":\"f\","
    "\"a\":{\"b\":\"c\"}}";

static char dir[64];
static char rule_path[128];

static void check(bool ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_rules: %s\n", what);
    abort();
  }
}

static void cleanup(void) {
  char path[160];
  snprintf(path, sizeof path, "%s/schemas/t.yaml", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/schemas", dir);
  rmdir(path);
  snprintf(path, sizeof path, "%s/list.txt", dir);
  unlink(path);
  unlink(rule_path);
  rmdir(dir);
}

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/vgfuzz.XXXXXX");
  check(mkdtemp(dir) != NULL, "mkdtemp");
  char path[160];
  snprintf(path, sizeof path, "%s/schemas", dir);
  check(mkdir(path, 0700) == 0, "mkdir schemas");
  snprintf(path, sizeof path, "%s/schemas/t.yaml", dir);
  FILE *f = fopen(path, "wb");
  check(f && fwrite(schema, 1, sizeof schema - 1, f) == sizeof schema - 1,
        "write schema");
  fclose(f);
  /* A list file rules may name (file: list.txt). */
  snprintf(path, sizeof path, "%s/list.txt", dir);
  f = fopen(path, "wb");
  check(f && fputs("# names\nJuan Perez\n\nLa Tia\n", f) >= 0, "write list");
  fclose(f);
  snprintf(rule_path, sizeof rule_path, "%s/rules.yaml", dir);
  atexit(cleanup);
}

static void no_outcome(const struct vg_rule_test_outcome *o, void *user) {
  (void)user;
  check(o->passed || o->message[0], "a failed test without a message");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir[0])
    setup();
  FILE *f = fopen(rule_path, "wb");
  check(f != NULL, "open the rule file");
  check(fwrite(data, 1, size, f) == size, "write the rule file");
  fclose(f);

  struct vg_config cfg;
  vg_config_init(&cfg);
  struct vg_diags diags;
  vg_diags_init(&diags);
  vg_ruleset *rs = NULL;
  int rc = vg_ruleset_load(dir, &cfg, &diags, &rs);
  check(rc == VG_OK ? rs != NULL : rs == NULL, "out set on failure only");
  check(rc != VG_OK || diags.errors == 0, "loaded with errors");
  check(rc == VG_OK || diags.errors > 0 || rc == VG_ENOMEM,
        "refused without an error");
  check(diags.count == diags.errors + diags.warnings, "diagnostic counts");
  for (size_t i = 0; i < diags.count; i++) {
    const struct vg_diag *d = &diags.items[i];
    check(d->code[0] != '\0' && d->message != NULL, "diagnostic without code");
    check(d->line >= 0 && d->col >= 0, "negative place");
    check(d->line == 0 || d->col >= 1, "line without column");
    if (i)
      check(strcmp(diags.items[i - 1].file ? diags.items[i - 1].file : "",
                   d->file ? d->file : "") <= 0,
            "diagnostics not sorted");
  }
  if (rs) {
    for (size_t i = 0; i < vg_ruleset_rule_count(rs); i++) {
      struct vg_rule_info info;
      vg_ruleset_rule_info(rs, i, &info);
      check(info.id && info.title && strlen(info.digest) == 64,
            "rule info incomplete");
      check(info.score >= 1 && info.score <= 100, "score out of range");
    }
    vg_eval *ev = vg_eval_new(rs);
    check(ev != NULL, "vg_eval_new");
    struct vg_result res;
    struct vg_reject rej;
    if (vg_eval_record(ev, record, sizeof record - 1, &res, &rej) == VG_OK) {
      check(res.score >= 0 && res.score <= 100, "score not capped");
      for (size_t h = 0; h < res.nhits; h++)
        for (size_t e = 0; e < res.hits[h].nevidence; e++) {
          const struct vg_evidence *ev_item = &res.hits[h].evidence[e];
          check(ev_item->value_len <= VG_EVIDENCE_MAX, "evidence too long");
          check((ev_item->span_start < 0) == (ev_item->span_end < 0) &&
                    ev_item->span_start <= ev_item->span_end,
                "bad span");
        }
    }
    vg_eval_free(ev);
    size_t passed, failed;
    check(vg_ruleset_run_tests(rs, no_outcome, NULL, &passed, &failed) == VG_OK,
          "vg_ruleset_run_tests");
    vg_ruleset_free(rs);
  }
  vg_diags_close(&diags);
  vg_config_close(&cfg);
  return 0;
}
