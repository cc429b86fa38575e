/* ruletest.c - embedded rule tests (SPEC 2.7): each test record is turned
 * into JSON and screened against its rule alone, disabled rules included. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void run_one(const struct vg_ruleset *rs, vg_eval *ev, size_t ri,
                    size_t ti, const struct vg_ynode *test,
                    struct vg_rule_test_outcome *out) {
  const struct rule *r = &rs->rules[ri];
  memset(out, 0, sizeof *out);
  out->rule = ri;
  out->test = ti;
  out->file = r->file;
  out->line = test->line;
  const struct vg_ynode *record = vg_ynode_get(test, "record"),
                        *expect = vg_ynode_get(test, "expect"),
                        *score = vg_ynode_get(test, "score");
  bool want_match =
      expect && expect->type == VG_YSCALAR && !strcmp(expect->str, "match");
  struct vg__buf buf = {0};
  struct vg_result res;
  struct vg_reject rej;
  /* Correlation tests: the records in `given` are screened first, in
   * order, into a fresh state of the test's own. */
  const struct vg_ynode *given = vg_ynode_get(test, "given");
  struct vg_corr_state *state = NULL;
  if (given) {
    state = vg_corr_mem_new();
    if (!state) {
      snprintf(out->message, sizeof out->message, "out of memory");
      return;
    }
    vg_eval_set_state(ev, state);
    for (size_t i = 0; i < given->nitems; i++) {
      buf.len = 0;
      if (vg__ynode_to_json(given->items[i], &buf, false) != VG_OK ||
          vg_eval_record_rule(ev, buf.data, buf.len, ri, &res, &rej) != VG_OK) {
        snprintf(out->message, sizeof out->message,
                 "given record %zu is rejected: %s", i + 1, rej.reason);
        free(buf.data);
        vg_eval_set_state(ev, NULL);
        vg_corr_state_free(state);
        return;
      }
    }
  }
  buf.len = 0;
  if (vg__ynode_to_json(record, &buf, false) != VG_OK) {
    snprintf(out->message, sizeof out->message, "out of memory");
    free(buf.data);
    vg_eval_set_state(ev, NULL);
    vg_corr_state_free(state);
    return;
  }
  int rc = vg_eval_record_rule(ev, buf.data, buf.len, ri, &res, &rej);
  free(buf.data);
  vg_eval_set_state(ev, NULL);
  vg_corr_state_free(state);
  if (rc != VG_OK) {
    snprintf(out->message, sizeof out->message, "test record is rejected: %s",
             rej.reason);
    return;
  }
  bool matched = res.nhits > 0;
  if (matched != want_match) {
    snprintf(out->message, sizeof out->message, "expected %s, got %s",
             want_match ? "match" : "no_match", matched ? "match" : "no_match");
    return;
  }
  int64_t want_score;
  if (score && vg_yscalar_int(score, &want_score) && want_score != res.score) {
    snprintf(out->message, sizeof out->message, "expected score %lld, got %d",
             (long long)want_score, res.score);
    return;
  }
  if (res.nincomplete) {
    snprintf(out->message, sizeof out->message,
             "a regular expression hit a matching limit");
    return;
  }
  out->passed = true;
}

int vg_ruleset_run_tests(const vg_ruleset *rs, vg_rule_test_cb cb, void *user,
                         size_t *passed, size_t *failed) {
  vg_eval *ev = vg_eval_new(rs);
  if (!ev)
    return VG_ENOMEM;
  *passed = *failed = 0;
  for (size_t ri = 0; ri < rs->nrules; ri++) {
    const struct vg_ynode *tests = rs->rules[ri].tests_node;
    for (size_t ti = 0; tests && ti < tests->nitems; ti++) {
      struct vg_rule_test_outcome out;
      run_one(rs, ev, ri, ti, tests->items[ti], &out);
      if (out.passed)
        ++*passed;
      else
        ++*failed;
      cb(&out, user);
    }
  }
  vg_eval_free(ev);
  return VG_OK;
}
