/* test_eval_rules.c - rule semantics at the corners the spec names:
 * dropped fields, `cased` with fieldref and equals, `|all` over a list
 * field, partial phone numbers with a country code, evidence of a macro
 * used twice, empty selections, duplicate ids next to other errors, and
 * what the digest covers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vigia.h"

static const char schema[] = "kind: advert\n"
                             "fields:\n"
                             "  name: { type: string }\n"
                             "  alias: { type: string }\n"
                             "  phone: { type: phone }\n"
                             "  channels: { type: list }\n"
                             "  notes: { type: text, drop: true }\n"
                             "  pay: { type: number }\n"
                             "  born: { type: date, protected: true }\n"
                             "  posted: { type: date }\n";

struct fx {
  char *dir;
  vg_ruleset *rs;
  vg_eval *ev;
  struct vg_diags diags;
  struct vg_result res;
  struct vg_reject rej;
};

static int load_with(struct fx *f, const char *rules, const char *code) {
  memset(f, 0, sizeof *f);
  f->dir = vgt_tempdir();
  assert_non_null(f->dir);
  char path[512];
  snprintf(path, sizeof path, "%s/schemas/advert.yaml", f->dir);
  assert_int_equal(vgt_write_file(path, schema), 0);
  snprintf(path, sizeof path, "%s/r.yaml", f->dir);
  assert_int_equal(vgt_write_file(path, rules), 0);
  struct vg_config cfg;
  vg_config_init(&cfg);
  if (code)
    cfg.phone_country_code = strdup(code);
  vg_diags_init(&f->diags);
  int rc = vg_ruleset_load(f->dir, &cfg, &f->diags, &f->rs);
  vg_config_close(&cfg);
  if (rc == VG_OK)
    assert_non_null(f->ev = vg_eval_new(f->rs));
  return rc;
}

static void done(struct fx *f) {
  vg_eval_free(f->ev);
  vg_ruleset_free(f->rs);
  vg_diags_close(&f->diags);
  vgt_rmtree(f->dir);
  free(f->dir);
}

static int screen(struct fx *f, const char *body) {
  char json[1024];
  snprintf(json, sizeof json,
           "{\"kind\":\"advert\",\"id\":\"1\",\"observed_at\":"
           "\"2026-01-01T00:00:00Z\"%s%s}",
           *body ? "," : "", body);
  return vg_eval_record(f->ev, json, strlen(json), &f->res, &f->rej);
}

static size_t count_code(const struct fx *f, const char *code) {
  size_t n = 0;
  for (size_t i = 0; i < f->diags.count; i++)
    n += !strcmp(f->diags.items[i].code, code);
  return n;
}

#define RULE(match)                                                            \
  "rules:\n  - id: R\n    title: t\n    kind: advert\n    score: 10\n"         \
  "    match: " match "\n"

static void dropped_field_cannot_be_tested(void **state) {
  (void)state;
  struct fx f;
  assert_int_not_equal(
      load_with(&f, RULE("{ s: { notes|contains: x } }"), NULL), VG_OK);
  assert_int_equal(count_code(&f, "dropped-field"), 1);
  done(&f);
  assert_int_not_equal(
      load_with(&f, RULE("{ s: { name|fieldref: notes } }"), NULL), VG_OK);
  assert_int_equal(count_code(&f, "dropped-field"), 1);
  done(&f);
}

static void dropped_field_is_not_typed(void **state) {
  (void)state;
  struct fx f;
  assert_int_equal(load_with(&f, RULE("{ s: { name: ana } }"), NULL), VG_OK);
  /* A number where text is declared would reject a kept field. */
  assert_int_equal(screen(&f, "\"notes\":42,\"name\":\"Ana\""), VG_OK);
  assert_int_equal(f.res.nhits, 1);
  const char *text;
  size_t len;
  assert_false(vg_eval_field_text(f.ev, "notes", &text, &len));
  done(&f);
}

static void fieldref_cased(void **state) {
  (void)state;
  struct fx f;
  assert_int_equal(
      load_with(&f, RULE("{ s: { name|fieldref|cased: alias } }"), NULL),
      VG_OK);
  assert_int_equal(screen(&f, "\"name\":\"Ana\",\"alias\":\"ana\""), VG_OK);
  assert_int_equal(f.res.nhits, 0);
  assert_int_equal(screen(&f, "\"name\":\"Ana\",\"alias\":\"Ana\""), VG_OK);
  assert_int_equal(f.res.nhits, 1);
  done(&f);
  assert_int_equal(load_with(&f, RULE("{ s: { name|fieldref: alias } }"), NULL),
                   VG_OK);
  assert_int_equal(screen(&f, "\"name\":\"Ána\",\"alias\":\" ana\""), VG_OK);
  assert_int_equal(f.res.nhits, 1);
  done(&f);
}

static void cased_equals_has_no_span(void **state) {
  (void)state;
  struct fx f;
  assert_int_equal(load_with(&f, RULE("{ s: { name|cased: Ana } }"), NULL),
                   VG_OK);
  assert_int_equal(screen(&f, "\"name\":\"Ana\""), VG_OK);
  assert_int_equal(f.res.nhits, 1);
  assert_int_equal(f.res.hits[0].evidence[0].span_start, -1);
  done(&f);
  assert_int_equal(
      load_with(&f, RULE("{ s: { name|cased|contains: na } }"), NULL), VG_OK);
  assert_int_equal(screen(&f, "\"name\":\"Ana\""), VG_OK);
  assert_int_equal(f.res.hits[0].evidence[0].span_start, 1);
  assert_int_equal(f.res.hits[0].evidence[0].span_end, 3);
  done(&f);
}

static void all_over_list_field(void **state) {
  (void)state;
  struct fx f;
  assert_int_equal(
      load_with(&f, RULE("{ s: { channels|all: [whatsapp, telegram] } }"),
                NULL),
      VG_OK);
  assert_int_equal(screen(&f, "\"channels\":[\"WhatsApp\",\"telegram\"]"),
                   VG_OK);
  assert_int_equal(f.res.nhits, 1);
  assert_int_equal(screen(&f, "\"channels\":[\"whatsapp\",\"sms\"]"), VG_OK);
  assert_int_equal(f.res.nhits, 0);
  done(&f);
}

static void phone_parts_keep_their_digits(void **state) {
  (void)state;
  struct fx f;
  assert_int_equal(load_with(&f,
                             "rules:\n"
                             "  - { id: E, title: t, kind: advert, score: 10,"
                             " match: { s: { phone|endswith: '4567' } } }\n"
                             "  - { id: Q, title: t, kind: advert, score: 10,"
                             " match: { s: { phone: '300 123 4567' } } }\n",
                             "57"),
                   VG_OK);
  assert_int_equal(screen(&f, "\"phone\":\"+57 300 123 4567\""), VG_OK);
  assert_int_equal(f.res.nhits, 2);
  done(&f);
}

static void macro_twice_one_evidence(void **state) {
  (void)state;
  struct fx f;
  assert_int_equal(
      load_with(&f,
                "macros:\n  paid: { kind: advert, match: { pay|gt: 10 } }\n"
                "rules:\n  - id: R\n    title: t\n    kind: advert\n"
                "    score: 10\n    match: { a: { name: ana }, b: { name: "
                "eva } }\n    condition: (a and paid) or (b and paid)\n",
                NULL),
      VG_OK);
  assert_int_equal(screen(&f, "\"name\":\"ana\",\"pay\":20"), VG_OK);
  assert_int_equal(f.res.nhits, 1);
  size_t paid = 0;
  for (size_t i = 0; i < f.res.hits[0].nevidence; i++)
    paid += !strcmp(f.res.hits[0].evidence[i].selection, "paid");
  assert_int_equal(paid, 1);
  done(&f);
}

static void empty_selection_refused(void **state) {
  (void)state;
  struct fx f;
  assert_int_not_equal(load_with(&f, RULE("{ s: [] }"), NULL), VG_OK);
  assert_int_equal(count_code(&f, "bad-value"), 1);
  done(&f);
}

static void duplicate_id_next_to_other_errors(void **state) {
  (void)state;
  struct fx f;
  assert_int_not_equal(
      load_with(&f,
                "rules:\n"
                "  - { id: D, title: t, kind: advert, score: 10,"
                " match: { s: { nmae: x } } }\n"
                "  - { id: D, title: t, kind: advert, score: 10,"
                " match: { s: { name: x } } }\n",
                NULL),
      VG_OK);
  assert_int_equal(count_code(&f, "duplicate-id"), 2);
  assert_int_equal(count_code(&f, "unknown-field"), 1);
  done(&f);
}

static void digest_covers_country_code(void **state) {
  (void)state;
  struct fx a, b, c;
  const char *rules = RULE("{ s: { phone: '300 1' } }");
  assert_int_equal(load_with(&a, rules, NULL), VG_OK);
  assert_int_equal(load_with(&b, rules, "57"), VG_OK);
  assert_int_equal(load_with(&c, rules, "57"), VG_OK);
  struct vg_rule_info ia, ib, ic;
  vg_ruleset_rule_info(a.rs, 0, &ia);
  vg_ruleset_rule_info(b.rs, 0, &ib);
  vg_ruleset_rule_info(c.rs, 0, &ic);
  assert_string_not_equal(ia.digest, ib.digest);
  assert_string_equal(ib.digest, ic.digest);
  done(&a);
  done(&b);
  done(&c);
}

static void reject_reasons_withhold_sensitive_values(void **state) {
  (void)state;
  struct fx f;
  assert_int_equal(load_with(&f, RULE("{ s: { name: ana } }"), NULL), VG_OK);
  assert_int_equal(screen(&f, "\"born\":\"1990-13-40\""), VG_EINVAL);
  assert_null(strstr(f.rej.reason, "1990"));
  assert_non_null(strstr(f.rej.reason, "born"));
  assert_non_null(strstr(f.rej.reason, "protected"));
  assert_int_equal(screen(&f, "\"posted\":\"2020-13-01\""), VG_EINVAL);
  assert_non_null(strstr(f.rej.reason, "\"2020-13-01\""));
  done(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(dropped_field_cannot_be_tested),
      cmocka_unit_test(dropped_field_is_not_typed),
      cmocka_unit_test(fieldref_cased),
      cmocka_unit_test(cased_equals_has_no_span),
      cmocka_unit_test(all_over_list_field),
      cmocka_unit_test(phone_parts_keep_their_digits),
      cmocka_unit_test(macro_twice_one_evidence),
      cmocka_unit_test(empty_selection_refused),
      cmocka_unit_test(duplicate_id_next_to_other_errors),
      cmocka_unit_test(digest_covers_country_code),
      cmocka_unit_test(reject_reasons_withhold_sensitive_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
