/* test_lifecycle.c - the case lifecycle of SPEC 4: every allowed and every
 * refused transition from every status, four eyes, notes and reasons, and
 * the audit events each change writes. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

struct fixture {
  char *dir;
  char path[512];
  vg_store *store;
  int next_record;
};

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->dir = vgt_tempdir();
  assert_non_null(f->dir);
  snprintf(f->path, sizeof f->path, "%s/vigia.db", f->dir);
  char err[256];
  assert_int_equal(vg_store_open(f->path, true, &f->store, err, sizeof err), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  vg_store_close(f->store);
  vgt_rmtree(f->dir);
  free(f->dir);
  free(f);
  return 0;
}

/* Opens a fresh case (one record, its own subject) and returns its id. */
static int64_t new_case(struct fixture *f) {
  char id[32], subject[32];
  snprintf(id, sizeof id, "r%d", ++f->next_record);
  snprintf(subject, sizeof subject, "S%d", f->next_record);
  struct vg_evidence ev = {.selection = "sel",
                           .field = "traveller.age",
                           .value = "15",
                           .value_len = 2,
                           .span_start = -1,
                           .span_end = -1};
  struct vg_hit hit = {.rule_id = "R-1",
                       .title = "A rule",
                       .digest = "00",
                       .route = "border",
                       .score = 60,
                       .evidence = &ev,
                       .nevidence = 1};
  struct vg_result r = {.kind_name = "travel",
                        .id = id,
                        .id_len = strlen(id),
                        .source = "test",
                        .source_len = 4,
                        .score = 60,
                        .threshold = 50,
                        .opens_case = true,
                        .subject = subject,
                        .subject_len = strlen(subject),
                        .hits = &hit,
                        .nhits = 1};
  char content[128];
  snprintf(content, sizeof content, "{\"id\":\"%s\",\"kind\":\"travel\"}", id);
  struct vg_ingest_outcome out;
  assert_int_equal(vg_store_ingest_canonical(f->store, &r, content,
                                             strlen(content), NULL, 0, &out),
                   0);
  assert_true(out.case_opened);
  return out.case_id;
}

static const char *status_of(struct fixture *f, int64_t id) {
  static char status[32];
  json_t *c = NULL;
  assert_int_equal(vg_store_case_get(f->store, id, false, false, &c), 0);
  snprintf(status, sizeof status, "%s",
           json_string_value(json_object_get(c, "status")));
  json_decref(c);
  return status;
}

static int act(struct fixture *f, int64_t id, enum vg_case_action a,
               const char *actor) {
  const char *reason = a == VG_ACT_DISMISS ? "false_positive" : NULL;
  return vg_store_case_act(f->store, id, a, actor, "a note", reason);
}

/* A case in the given status; alice did everything (claimed, escalated,
 * decided). */
static int64_t case_in(struct fixture *f, const char *status) {
  int64_t id = new_case(f);
  if (strcmp(status, "new") == 0)
    return id;
  assert_int_equal(act(f, id, VG_ACT_CLAIM, "alice"), 0);
  if (strcmp(status, "escalated") == 0)
    assert_int_equal(act(f, id, VG_ACT_ESCALATE, "alice"), 0);
  if (strcmp(status, "confirmed") == 0)
    assert_int_equal(act(f, id, VG_ACT_CONFIRM, "alice"), 0);
  if (strcmp(status, "dismissed") == 0)
    assert_int_equal(act(f, id, VG_ACT_DISMISS, "alice"), 0);
  assert_string_equal(status_of(f, id), status);
  return id;
}

/* The whole table: every status, every action, by alice (the assignee or
 * the one who escalated) and by bob. NULL: refused. */
struct row {
  const char *from;
  enum vg_case_action action;
  const char *actor;
  const char *to;
};

static const struct row table[] = {
    {"new", VG_ACT_CLAIM, "bob", "in_review"},
    {"new", VG_ACT_RELEASE, "alice", NULL},
    {"new", VG_ACT_ESCALATE, "alice", NULL},
    {"new", VG_ACT_CONFIRM, "alice", NULL},
    {"new", VG_ACT_DISMISS, "alice", NULL},
    {"new", VG_ACT_REOPEN, "alice", NULL},
    {"new", VG_ACT_NOTE, "bob", "new"},
    {"in_review", VG_ACT_CLAIM, "bob", NULL},
    {"in_review", VG_ACT_CLAIM, "alice", NULL},
    {"in_review", VG_ACT_RELEASE, "alice", "new"},
    {"in_review", VG_ACT_RELEASE, "bob", NULL},
    {"in_review", VG_ACT_ESCALATE, "alice", "escalated"},
    {"in_review", VG_ACT_ESCALATE, "bob", NULL},
    {"in_review", VG_ACT_CONFIRM, "alice", "confirmed"},
    {"in_review", VG_ACT_CONFIRM, "bob", NULL},
    {"in_review", VG_ACT_DISMISS, "alice", "dismissed"},
    {"in_review", VG_ACT_DISMISS, "bob", NULL},
    {"in_review", VG_ACT_REOPEN, "alice", NULL},
    {"in_review", VG_ACT_NOTE, "bob", "in_review"},
    {"escalated", VG_ACT_CLAIM, "bob", NULL},
    {"escalated", VG_ACT_RELEASE, "alice", NULL},
    {"escalated", VG_ACT_ESCALATE, "bob", NULL},
    {"escalated", VG_ACT_CONFIRM, "alice", NULL}, /* four eyes */
    {"escalated", VG_ACT_DISMISS, "alice", NULL}, /* four eyes */
    {"escalated", VG_ACT_CONFIRM, "bob", "confirmed"},
    {"escalated", VG_ACT_DISMISS, "bob", "dismissed"},
    {"escalated", VG_ACT_REOPEN, "bob", NULL},
    {"escalated", VG_ACT_NOTE, "bob", "escalated"},
    {"confirmed", VG_ACT_CLAIM, "bob", NULL},
    {"confirmed", VG_ACT_RELEASE, "alice", NULL},
    {"confirmed", VG_ACT_ESCALATE, "alice", NULL},
    {"confirmed", VG_ACT_CONFIRM, "bob", NULL},
    {"confirmed", VG_ACT_DISMISS, "bob", NULL},
    {"confirmed", VG_ACT_REOPEN, "bob", "in_review"},
    {"confirmed", VG_ACT_NOTE, "bob", "confirmed"},
    {"dismissed", VG_ACT_CLAIM, "bob", NULL},
    {"dismissed", VG_ACT_RELEASE, "alice", NULL},
    {"dismissed", VG_ACT_ESCALATE, "alice", NULL},
    {"dismissed", VG_ACT_CONFIRM, "bob", NULL},
    {"dismissed", VG_ACT_DISMISS, "bob", NULL},
    {"dismissed", VG_ACT_REOPEN, "alice", "in_review"},
    {"dismissed", VG_ACT_NOTE, "bob", "dismissed"},
};

static void test_every_transition(void **state) {
  struct fixture *f = *state;
  for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
    const struct row *t = &table[i];
    int64_t id = case_in(f, t->from);
    int rc = act(f, id, t->action, t->actor);
    const char *msg = vg_store_errmsg(f->store);
    if (t->to) {
      if (rc != 0)
        print_error("row %zu: %s\n", i, msg);
      assert_int_equal(rc, 0);
      assert_string_equal(status_of(f, id), t->to);
    } else {
      if (rc != VG_EREFUSED)
        print_error("row %zu: expected a refusal, got %d\n", i, rc);
      assert_int_equal(rc, VG_EREFUSED);
      /* The refusal names the case's status, and the case is unchanged. */
      assert_non_null(strstr(msg, t->from));
      assert_string_equal(status_of(f, id), t->from);
    }
  }
}

static void test_assignee_and_escalator(void **state) {
  struct fixture *f = *state;
  int64_t id = new_case(f);
  assert_int_equal(act(f, id, VG_ACT_CLAIM, "alice"), 0);
  json_t *c = NULL;
  assert_int_equal(vg_store_case_get(f->store, id, false, false, &c), 0);
  assert_string_equal(json_string_value(json_object_get(c, "assignee")),
                      "alice");
  json_decref(c);
  assert_int_equal(act(f, id, VG_ACT_RELEASE, "alice"), 0);
  assert_int_equal(vg_store_case_get(f->store, id, false, false, &c), 0);
  assert_true(json_is_null(json_object_get(c, "assignee")));
  json_decref(c);
  /* Escalated by alice, confirmed by bob, reopened by carol: after the
   * reopen the four-eyes rule starts over. */
  assert_int_equal(act(f, id, VG_ACT_CLAIM, "alice"), 0);
  assert_int_equal(act(f, id, VG_ACT_ESCALATE, "alice"), 0);
  assert_int_equal(act(f, id, VG_ACT_CONFIRM, "alice"), VG_EREFUSED);
  assert_non_null(strstr(vg_store_errmsg(f->store), "four eyes"));
  assert_int_equal(act(f, id, VG_ACT_CONFIRM, "bob"), 0);
  assert_int_equal(act(f, id, VG_ACT_REOPEN, "carol"), 0);
  assert_int_equal(vg_store_case_get(f->store, id, false, false, &c), 0);
  assert_string_equal(json_string_value(json_object_get(c, "assignee")),
                      "carol");
  assert_true(json_is_null(json_object_get(c, "decided_at")));
  json_decref(c);
  assert_int_equal(act(f, id, VG_ACT_ESCALATE, "carol"), 0);
  assert_int_equal(act(f, id, VG_ACT_DISMISS, "alice"), 0);
  assert_string_equal(status_of(f, id), "dismissed");
}

static void test_notes_and_reasons(void **state) {
  struct fixture *f = *state;
  int64_t id = case_in(f, "in_review");
  static const enum vg_case_action need_note[] = {
      VG_ACT_ESCALATE, VG_ACT_CONFIRM, VG_ACT_DISMISS, VG_ACT_NOTE};
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(
        vg_store_case_act(f->store, id, need_note[i], "alice", NULL, "other"),
        VG_EINVAL);
    assert_non_null(strstr(vg_store_errmsg(f->store), "note"));
    assert_int_equal(
        vg_store_case_act(f->store, id, need_note[i], "alice", "", "other"),
        VG_EINVAL);
  }
  assert_int_equal(
      vg_store_case_act(f->store, id, VG_ACT_DISMISS, "alice", "n", NULL),
      VG_EINVAL);
  assert_non_null(strstr(vg_store_errmsg(f->store), "--reason"));
  assert_int_equal(
      vg_store_case_act(f->store, id, VG_ACT_DISMISS, "alice", "n", "bored"),
      VG_EINVAL);
  assert_non_null(strstr(vg_store_errmsg(f->store), "bored"));
  assert_string_equal(status_of(f, id), "in_review");
  /* Each listed reason is accepted. */
  static const char *const reasons[] = {
      "false_positive", "insufficient_information", "duplicate", "other"};
  for (size_t i = 0; i < 4; i++) {
    int64_t c = case_in(f, "in_review");
    assert_int_equal(vg_store_case_act(f->store, c, VG_ACT_DISMISS, "alice",
                                       "checked", reasons[i]),
                     0);
    json_t *o = NULL;
    assert_int_equal(vg_store_case_get(f->store, c, false, false, &o), 0);
    assert_string_equal(json_string_value(json_object_get(o, "reason")),
                        reasons[i]);
    json_decref(o);
  }
  /* Reopen needs a note; claim and release do not. */
  int64_t d = case_in(f, "confirmed");
  assert_int_equal(
      vg_store_case_act(f->store, d, VG_ACT_REOPEN, "bob", NULL, NULL),
      VG_EINVAL);
  int64_t n = new_case(f);
  assert_int_equal(
      vg_store_case_act(f->store, n, VG_ACT_CLAIM, "bob", NULL, NULL), 0);
  assert_int_equal(
      vg_store_case_act(f->store, n, VG_ACT_RELEASE, "bob", NULL, NULL), 0);
}

static void test_unknown_case(void **state) {
  struct fixture *f = *state;
  assert_int_equal(act(f, 424242, VG_ACT_CLAIM, "alice"), VG_ENOTFOUND);
  assert_non_null(strstr(vg_store_errmsg(f->store), "424242"));
  json_t *c = NULL;
  assert_int_equal(vg_store_case_show(f->store, 424242, "alice", false, &c),
                   VG_ENOTFOUND);
  assert_null(c);
}

static void test_events_written(void **state) {
  struct fixture *f = *state;
  int64_t id = new_case(f);
  assert_int_equal(act(f, id, VG_ACT_CLAIM, "alice"), 0);
  assert_int_equal(act(f, id, VG_ACT_NOTE, "bob"), 0);
  assert_int_equal(act(f, id, VG_ACT_ESCALATE, "alice"), 0);
  assert_int_equal(act(f, id, VG_ACT_DISMISS, "bob"), 0);
  assert_int_equal(act(f, id, VG_ACT_CLAIM, "bob"), VG_EREFUSED);
  json_t *c = NULL;
  assert_int_equal(vg_store_case_show(f->store, id, "carol", false, &c), 0);
  json_t *events = json_object_get(c, "events");
  static const char *const want[][4] = {
      {"vigia", "opened", NULL, "new"},
      {"alice", "claimed", "new", "in_review"},
      {"bob", "noted", "in_review", "in_review"},
      {"alice", "escalated", "in_review", "escalated"},
      {"bob", "dismissed", "escalated", "dismissed"},
      {"carol", "viewed", "dismissed", "dismissed"},
  };
  /* The refused claim wrote nothing. */
  assert_int_equal(json_array_size(events), 6);
  for (size_t i = 0; i < 6; i++) {
    json_t *e = json_array_get(events, i);
    assert_string_equal(json_string_value(json_object_get(e, "actor")),
                        want[i][0]);
    assert_string_equal(json_string_value(json_object_get(e, "action")),
                        want[i][1]);
    if (want[i][2])
      assert_string_equal(json_string_value(json_object_get(e, "from")),
                          want[i][2]);
    else
      assert_true(json_is_null(json_object_get(e, "from")));
    assert_string_equal(json_string_value(json_object_get(e, "to")),
                        want[i][3]);
    const char *at = json_string_value(json_object_get(e, "at"));
    assert_non_null(at);
    assert_int_equal(strlen(at), 20); /* 2026-01-02T03:04:05Z */
    assert_int_equal(at[19], 'Z');
  }
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(events, 4), "reason")),
      "false_positive");
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(events, 2), "note")),
      "a note");
  json_decref(c);
  struct vg_audit_report rep;
  assert_int_equal(vg_store_audit_verify(f->store, &rep), 0);
  assert_true(rep.ok);
  assert_int_equal(rep.events, 6);
}

static void test_reopen_with_other_open_case(void **state) {
  struct fixture *f = *state;
  /* Two records of one subject: the first case is dismissed, the second
   * record then opens a new case; reopening the first would give the
   * subject two open cases. */
  struct vg_hit hit = {
      .rule_id = "R-1", .title = "t", .digest = "00", .score = 60};
  struct vg_result r = {.kind_name = "travel",
                        .source = "s",
                        .source_len = 1,
                        .score = 60,
                        .opens_case = true,
                        .subject = "P1",
                        .subject_len = 2,
                        .hits = &hit,
                        .nhits = 1};
  struct vg_ingest_outcome o1, o2;
  r.id = "a";
  r.id_len = 1;
  assert_int_equal(vg_store_ingest_canonical(f->store, &r, "{\"id\":\"a\"}", 10,
                                             NULL, 0, &o1),
                   0);
  assert_int_equal(act(f, o1.case_id, VG_ACT_CLAIM, "alice"), 0);
  assert_int_equal(act(f, o1.case_id, VG_ACT_DISMISS, "alice"), 0);
  r.id = "b";
  assert_int_equal(vg_store_ingest_canonical(f->store, &r, "{\"id\":\"b\"}", 10,
                                             NULL, 0, &o2),
                   0);
  assert_true(o2.case_opened);
  assert_true(o2.case_id != o1.case_id);
  assert_int_equal(act(f, o1.case_id, VG_ACT_REOPEN, "bob"), VG_EREFUSED);
  assert_non_null(strstr(vg_store_errmsg(f->store), "dismissed"));
  assert_string_equal(status_of(f, o1.case_id), "dismissed");
  /* Once the other case is decided, the reopen goes through. */
  assert_int_equal(act(f, o2.case_id, VG_ACT_CLAIM, "bob"), 0);
  assert_int_equal(act(f, o2.case_id, VG_ACT_CONFIRM, "bob"), 0);
  assert_int_equal(act(f, o1.case_id, VG_ACT_REOPEN, "bob"), 0);
}

static void test_actor_required(void **state) {
  struct fixture *f = *state;
  int64_t id = new_case(f);
  assert_int_equal(
      vg_store_case_act(f->store, id, VG_ACT_CLAIM, "", NULL, NULL), VG_EINVAL);
  assert_string_equal(status_of(f, id), "new");
  /* A note that is not UTF-8 cannot enter the audit chain. */
  assert_int_equal(act(f, id, VG_ACT_CLAIM, "alice"), 0);
  assert_int_equal(vg_store_case_act(f->store, id, VG_ACT_NOTE, "alice",
                                     "bad \xff byte", NULL),
                   VG_EINVAL);
  struct vg_audit_report rep;
  assert_int_equal(vg_store_audit_verify(f->store, &rep), 0);
  assert_true(rep.ok);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_every_transition, setup, teardown),
      cmocka_unit_test_setup_teardown(test_assignee_and_escalator, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_notes_and_reasons, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unknown_case, setup, teardown),
      cmocka_unit_test_setup_teardown(test_events_written, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reopen_with_other_open_case, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_actor_required, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
