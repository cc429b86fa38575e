/* jsonw.h - a small JSON writer for the hot output path (one result line
 * per screened record): appends to a growable buffer, escaping strings as
 * JSON requires and nothing more. */
#ifndef VG_JSONW_H
#define VG_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigia.h"

struct vg_jsonw {
  char *data;
  size_t len, cap;
  bool failed; /* an allocation failed; the content is incomplete */
};

void vg_jsonw_init(struct vg_jsonw *w);
void vg_jsonw_close(struct vg_jsonw *w);
static inline void vg_jsonw_reset(struct vg_jsonw *w) {
  w->len = 0;
}
void vg_jsonw_raw(struct vg_jsonw *w, const char *s, size_t len);
static inline void vg_jsonw_lit(struct vg_jsonw *w, const char *s) {
  size_t n = 0;
  while (s[n])
    n++;
  vg_jsonw_raw(w, s, n);
}
/* A JSON string literal with quotes. s must be valid UTF-8. */
void vg_jsonw_str(struct vg_jsonw *w, const char *s, size_t len);
void vg_jsonw_int(struct vg_jsonw *w, int64_t v);
/* A finite double in its shortest round-trip form. */
void vg_jsonw_double(struct vg_jsonw *w, double v);

/* How a result line treats personal data. */
struct vg_result_style {
  const vg_ruleset *rs;
  bool redact; /* replace values of pii fields by "[redacted]" */
};

/* Appends the result line of SPEC 3 (no newline): record_id, source, kind,
 * score, hits with evidence, case_id (null when case_id is 0), and
 * "incomplete" when a matching limit cut a rule short. */
void vg_result_json(struct vg_jsonw *w, const struct vg_result *r,
                    int64_t case_id, const struct vg_result_style *style);
/* The same line for a case id known only later (the store writer): the
 * line's parts before and after the case id, apart at a NUL (JSON text
 * holds none); then, given the id, the whole line. */
void vg_result_json_parts(struct vg_jsonw *w, const struct vg_result *r,
                          const struct vg_result_style *style);
void vg_result_json_join(struct vg_jsonw *w, const char *parts, size_t len,
                         int64_t case_id);

#endif
