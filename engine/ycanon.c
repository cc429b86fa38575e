/* ycanon.c - YAML nodes as JSON text: embedded rule tests become records,
 * and a rule's canonical form (keys sorted) is what its digest covers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int vg__buf_append(struct vg__buf *b, const char *s, size_t len) {
  if (b->len + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + len + 1)
      cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown)
      return VG_ENOMEM;
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, len);
  b->len += len;
  b->data[b->len] = '\0';
  return VG_OK;
}

int vg__buf_json_string(struct vg__buf *b, const char *s, size_t len) {
  int rc = vg__buf_append(b, "\"", 1);
  size_t run = 0;
  for (size_t i = 0; i < len && rc == VG_OK; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    rc = vg__buf_append(b, s + run, i - run);
    char esc[8];
    switch (c) {
    case '"':
      memcpy(esc, "\\\"", 3);
      break;
    case '\\':
      memcpy(esc, "\\\\", 3);
      break;
    case '\n':
      memcpy(esc, "\\n", 3);
      break;
    case '\r':
      memcpy(esc, "\\r", 3);
      break;
    case '\t':
      memcpy(esc, "\\t", 3);
      break;
    default:
      snprintf(esc, sizeof esc, "\\u%04x", c);
    }
    if (rc == VG_OK)
      rc = vg__buf_append(b, esc, strlen(esc));
    run = i + 1;
  }
  if (rc == VG_OK)
    rc = vg__buf_append(b, s + run, len - run);
  if (rc == VG_OK)
    rc = vg__buf_append(b, "\"", 1);
  return rc;
}

/* True when s is a number as JSON writes it: YAML also takes "1.", ".5",
 * "+1" and "1_000", which JSON does not. */
static bool json_number_syntax(const char *s) {
  if (*s == '-')
    s++;
  if (*s == '0')
    s++;
  else if (*s >= '1' && *s <= '9')
    while (*s >= '0' && *s <= '9')
      s++;
  else
    return false;
  if (*s == '.') {
    s++;
    if (*s < '0' || *s > '9')
      return false;
    while (*s >= '0' && *s <= '9')
      s++;
  }
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '+' || *s == '-')
      s++;
    if (*s < '0' || *s > '9')
      return false;
    while (*s >= '0' && *s <= '9')
      s++;
  }
  return *s == '\0';
}

static int compare_pairs(const void *a, const void *b) {
  const struct vg_ypair *pa = *(const struct vg_ypair *const *)a;
  const struct vg_ypair *pb = *(const struct vg_ypair *const *)b;
  return strcmp(pa->key->str ? pa->key->str : "",
                pb->key->str ? pb->key->str : "");
}

int vg__ynode_to_json(const struct vg_ynode *node, struct vg__buf *buf,
                      bool sort_keys) {
  int rc = VG_OK;
  if (!node)
    return vg__buf_append(buf, "null", 4);
  switch (node->type) {
  case VG_YSCALAR: {
    bool flag;
    double number;
    if (vg_yscalar_is_null(node))
      return vg__buf_append(buf, "null", 4);
    if (vg_yscalar_bool(node, &flag))
      return vg__buf_append(buf, flag ? "true" : "false", flag ? 4 : 5);
    if (vg_yscalar_number(node, &number) && json_number_syntax(node->str))
      return vg__buf_append(buf, node->str, node->len);
    return vg__buf_json_string(buf, node->str, node->len);
  }
  case VG_YSEQ:
    rc = vg__buf_append(buf, "[", 1);
    for (size_t i = 0; i < node->nitems && rc == VG_OK; i++) {
      if (i)
        rc = vg__buf_append(buf, ",", 1);
      if (rc == VG_OK)
        rc = vg__ynode_to_json(node->items[i], buf, sort_keys);
    }
    return rc == VG_OK ? vg__buf_append(buf, "]", 1) : rc;
  case VG_YMAP: {
    const struct vg_ypair **order =
        malloc((node->npairs ? node->npairs : 1) * sizeof *order);
    if (!order)
      return VG_ENOMEM;
    for (size_t i = 0; i < node->npairs; i++)
      order[i] = &node->pairs[i];
    if (sort_keys)
      qsort(order, node->npairs, sizeof *order, compare_pairs);
    rc = vg__buf_append(buf, "{", 1);
    for (size_t i = 0; i < node->npairs && rc == VG_OK; i++) {
      if (i)
        rc = vg__buf_append(buf, ",", 1);
      const struct vg_ynode *k = order[i]->key;
      if (rc == VG_OK)
        rc = k->type == VG_YSCALAR ? vg__buf_json_string(buf, k->str, k->len)
                                   : vg__buf_json_string(buf, "?", 1);
      if (rc == VG_OK)
        rc = vg__buf_append(buf, ":", 1);
      if (rc == VG_OK)
        rc = vg__ynode_to_json(order[i]->value, buf, sort_keys);
    }
    free(order);
    return rc == VG_OK ? vg__buf_append(buf, "}", 1) : rc;
  }
  }
  return VG_EINVAL;
}
