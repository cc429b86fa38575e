/* format.c - input format names for --format and the guess made when it is
 * not given: the file extension first, then the first bytes of the content. */
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

#include "source.h"
#include "vg_error.h"

static const char *const names[] = {
    [VG_FORMAT_NDJSON] = "ndjson",
    [VG_FORMAT_CSV] = "csv",
    [VG_FORMAT_PAXLST] = "paxlst",
};

int vg_format_parse(const char *name, enum vg_format *out) {
  if (!name)
    return VG_EINVAL;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (strcmp(name, names[i]) == 0) {
      *out = (enum vg_format)i;
      return VG_OK;
    }
  }
  return VG_EINVAL;
}

const char *vg_format_name(enum vg_format format) {
  if ((size_t)format < sizeof names / sizeof names[0])
    return names[format];
  return "ndjson";
}

/* The extension of the last path component, without the dot, or NULL. */
static const char *extension(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const char *dot = strrchr(base, '.');
  return dot && dot != base ? dot + 1 : NULL;
}

enum vg_format vg_format_detect(const char *path, const char *head,
                                size_t head_len) {
  if (path && strcmp(path, "-") != 0) {
    const char *ext = extension(path);
    if (ext && strcasecmp(ext, "csv") == 0)
      return VG_FORMAT_CSV;
    if (ext && (strcasecmp(ext, "paxlst") == 0 || strcasecmp(ext, "edi") == 0 ||
                strcasecmp(ext, "edifact") == 0))
      return VG_FORMAT_PAXLST;
  }
  if (!head)
    return VG_FORMAT_NDJSON;
  size_t i = 0;
  if (head_len >= 3 && memcmp(head, "\xEF\xBB\xBF", 3) == 0)
    i = 3;
  while (i < head_len && (head[i] == ' ' || head[i] == '\t' ||
                          head[i] == '\r' || head[i] == '\n'))
    i++;
  if (head_len - i >= 3 &&
      (memcmp(head + i, "UNA", 3) == 0 || memcmp(head + i, "UNB", 3) == 0))
    return VG_FORMAT_PAXLST;
  return VG_FORMAT_NDJSON;
}

void vg_text_sanitize(char *text) {
  size_t n = strlen(text);
  size_t i = 0;
  while (i < n) {
    unsigned char c = (unsigned char)text[i];
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7F)
        text[i] = '?';
      i++;
      continue;
    }
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)text + i,
                                          (utf8proc_ssize_t)(n - i), &cp);
    if (k < 0) {
      text[i++] = '?';
      continue;
    }
    i += (size_t)k;
  }
}
