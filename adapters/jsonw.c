/* jsonw.c - JSON output for result lines. */
#include "jsonw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vg_jsonw_init(struct vg_jsonw *w) {
  memset(w, 0, sizeof *w);
}

void vg_jsonw_close(struct vg_jsonw *w) {
  free(w->data);
  memset(w, 0, sizeof *w);
}

static bool reserve(struct vg_jsonw *w, size_t more) {
  if (w->len + more <= w->cap)
    return true;
  size_t cap = w->cap ? w->cap : 1024;
  while (cap < w->len + more)
    cap *= 2;
  char *grown = realloc(w->data, cap);
  if (!grown) {
    w->failed = true;
    return false;
  }
  w->data = grown;
  w->cap = cap;
  return true;
}

void vg_jsonw_raw(struct vg_jsonw *w, const char *s, size_t len) {
  if (!reserve(w, len))
    return;
  memcpy(w->data + w->len, s, len);
  w->len += len;
}

void vg_jsonw_str(struct vg_jsonw *w, const char *s, size_t len) {
  /* Worst case every byte becomes \u00XX. */
  if (!reserve(w, len * 6 + 2))
    return;
  char *o = w->data + w->len;
  *o++ = '"';
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') {
      *o++ = (char)c;
      continue;
    }
    *o++ = '\\';
    switch (c) {
    case '"':
      *o++ = '"';
      break;
    case '\\':
      *o++ = '\\';
      break;
    case '\n':
      *o++ = 'n';
      break;
    case '\r':
      *o++ = 'r';
      break;
    case '\t':
      *o++ = 't';
      break;
    case '\b':
      *o++ = 'b';
      break;
    case '\f':
      *o++ = 'f';
      break;
    default: {
      static const char hex[] = "0123456789abcdef";
      *o++ = 'u';
      *o++ = '0';
      *o++ = '0';
      *o++ = hex[c >> 4];
      *o++ = hex[c & 15];
    }
    }
  }
  *o++ = '"';
  w->len = (size_t)(o - w->data);
}

void vg_jsonw_int(struct vg_jsonw *w, int64_t v) {
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
  vg_jsonw_raw(w, buf, (size_t)n);
}

void vg_jsonw_double(struct vg_jsonw *w, double v) {
  char buf[40];
  /* The shortest of %.15g..%.17g that reads back as the same double. */
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strtod(buf, NULL) == v)
      break;
  }
  vg_jsonw_raw(w, buf, strlen(buf));
}

static bool field_is_pii(const vg_ruleset *rs, size_t kind, const char *path) {
  size_t n = vg_ruleset_field_count(rs, kind);
  for (size_t i = 0; i < n; i++) {
    struct vg_field_info info;
    vg_ruleset_field_info(rs, kind, i, &info);
    if (!strcmp(info.path, path))
      return info.pii;
  }
  return false;
}

static void evidence_json(struct vg_jsonw *w, const struct vg_evidence *e,
                          bool redact) {
  vg_jsonw_lit(w, "{\"selection\":");
  vg_jsonw_str(w, e->selection, strlen(e->selection));
  vg_jsonw_lit(w, ",\"field\":");
  vg_jsonw_str(w, e->field, strlen(e->field));
  vg_jsonw_lit(w, ",\"value\":");
  if (redact)
    vg_jsonw_lit(w, "\"[redacted]\"");
  else if (!e->value)
    vg_jsonw_lit(w, "null");
  else if (e->value_is_string)
    vg_jsonw_str(w, e->value, e->value_len);
  else
    vg_jsonw_raw(w, e->value, e->value_len);
  vg_jsonw_lit(w, ",\"span\":");
  if (e->span_start >= 0 && !redact) {
    vg_jsonw_lit(w, "[");
    vg_jsonw_int(w, e->span_start);
    vg_jsonw_lit(w, ",");
    vg_jsonw_int(w, e->span_end);
    vg_jsonw_lit(w, "]");
  } else {
    vg_jsonw_lit(w, "null");
  }
  if (e->entry) {
    vg_jsonw_lit(w, ",\"entry\":");
    if (redact)
      vg_jsonw_lit(w, "\"[redacted]\"");
    else
      vg_jsonw_str(w, e->entry, strlen(e->entry));
    vg_jsonw_lit(w, ",\"similarity\":");
    char buf[16];
    snprintf(buf, sizeof buf, "%.4f", e->similarity);
    vg_jsonw_lit(w, buf);
  }
  if (e->related) {
    vg_jsonw_lit(w, ",\"related\":");
    vg_jsonw_lit(w, e->related);
  }
  vg_jsonw_lit(w, "}");
}

static void result_json_head(struct vg_jsonw *w, const struct vg_result *r,
                             const struct vg_result_style *style) {
  vg_jsonw_lit(w, "{\"record_id\":");
  vg_jsonw_str(w, r->id, r->id_len);
  vg_jsonw_lit(w, ",\"source\":");
  vg_jsonw_str(w, r->source, r->source_len);
  vg_jsonw_lit(w, ",\"kind\":");
  vg_jsonw_str(w, r->kind_name, strlen(r->kind_name));
  vg_jsonw_lit(w, ",\"score\":");
  vg_jsonw_int(w, r->score);
  vg_jsonw_lit(w, ",\"hits\":[");
  for (size_t i = 0; i < r->nhits; i++) {
    const struct vg_hit *h = &r->hits[i];
    if (i)
      vg_jsonw_lit(w, ",");
    vg_jsonw_lit(w, "{\"rule\":");
    vg_jsonw_str(w, h->rule_id, strlen(h->rule_id));
    vg_jsonw_lit(w, ",\"title\":");
    vg_jsonw_str(w, h->title, strlen(h->title));
    vg_jsonw_lit(w, ",\"score\":");
    vg_jsonw_int(w, h->score);
    vg_jsonw_lit(w, ",\"rule_digest\":");
    vg_jsonw_str(w, h->digest, strlen(h->digest));
    vg_jsonw_lit(w, ",\"evidence\":[");
    for (size_t j = 0; j < h->nevidence; j++) {
      if (j)
        vg_jsonw_lit(w, ",");
      bool redact = style && style->redact &&
                    field_is_pii(style->rs, r->kind, h->evidence[j].field);
      evidence_json(w, &h->evidence[j], redact);
    }
    vg_jsonw_lit(w, "]}");
  }
  vg_jsonw_lit(w, "],\"case_id\":");
}

static void result_json_tail(struct vg_jsonw *w, const struct vg_result *r) {
  if (r->nincomplete) {
    vg_jsonw_lit(w, ",\"incomplete\":[");
    for (size_t i = 0; i < r->nincomplete; i++) {
      if (i)
        vg_jsonw_lit(w, ",");
      vg_jsonw_str(w, r->incomplete[i], strlen(r->incomplete[i]));
    }
    vg_jsonw_lit(w, "]");
  }
  vg_jsonw_lit(w, "}");
}

static void case_id_json(struct vg_jsonw *w, int64_t case_id) {
  if (case_id > 0)
    vg_jsonw_int(w, case_id);
  else
    vg_jsonw_lit(w, "null");
}

void vg_result_json(struct vg_jsonw *w, const struct vg_result *r,
                    int64_t case_id, const struct vg_result_style *style) {
  result_json_head(w, r, style);
  case_id_json(w, case_id);
  result_json_tail(w, r);
}

void vg_result_json_parts(struct vg_jsonw *w, const struct vg_result *r,
                          const struct vg_result_style *style) {
  result_json_head(w, r, style);
  vg_jsonw_raw(w, "", 1);
  result_json_tail(w, r);
}

void vg_result_json_join(struct vg_jsonw *w, const char *parts, size_t len,
                         int64_t case_id) {
  const char *split = memchr(parts, '\0', len);
  size_t head = split ? (size_t)(split - parts) : len;
  vg_jsonw_raw(w, parts, head);
  case_id_json(w, case_id);
  if (split)
    vg_jsonw_raw(w, split + 1, len - head - 1);
}
