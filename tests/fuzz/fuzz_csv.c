/* fuzz_csv.c - arbitrary bytes through the CSV reader. When the input holds
 * a line "---", the part before it is loaded as a mapping file first (so the
 * mapping loader is fuzzed too) and the part after is the CSV; otherwise a
 * fixed mapping with every cell type reads the whole input. Every record
 * must be a JSON object, every item well formed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "source.h"
#include "vg_error.h"

static const char default_mapping[] =
    "constants: { kind: k, source: fuzz, list: [a, 1, true] }\n"
    "id: { columns: [a, b], separator: \"/\" }\n"
    "columns:\n"
    "  a: x.a\n"
    "  c: { field: observed_at, type: datetime, formats: [\"%d/%m/%Y "
    "%H:%M\", \"%Y-%m-%dT%H:%M:%S%z\"], zone: \"-05:00\" }\n"
    "  d: { field: x.d, type: date, formats: [\"%d/%m/%y\", \"%Y%m%d\"] }\n"
    "  e: { field: x.e, type: int, thousands: \".\" }\n"
    "  f: { field: x.f, type: number, decimal: \",\" }\n"
    "  g: { field: x.g, type: bool, true: [sí, x], false: [no] }\n"
    "  h: { field: x.h, type: list, separator: \"|\" }\n"
    "  i: { field: x.y.i, type: phone, optional: true }\n"
    "ignore: [j]\n";

static void check_item(const struct vg_source_item *item) {
  if (item->type == VG_ITEM_RECORD) {
    json_t *rec = json_loadb(item->json, item->json_len, 0, NULL);
    if (!rec || !json_is_object(rec))
      abort();
    json_decref(rec);
    return;
  }
  if (item->raw_len > VG_RAW_EXCERPT || !memchr(item->where, 0, 96) ||
      !memchr(item->reason, 0, 320) || !item->reason[0])
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  const char *csv = text;
  size_t csv_len = size;
  struct vg_diags diags;
  vg_diags_init(&diags);
  struct vg_csv_mapping *mapping = NULL;
  const char *sep = size >= 4 ? memmem(text, size, "\n---\n", 5) : NULL;
  if (sep) {
    vg_csv_mapping_load_string("fuzz.yaml", text, (size_t)(sep - text),
                               &mapping, &diags);
    csv = sep + 5;
    csv_len = size - (size_t)(csv - text);
  }
  if (!mapping && vg_csv_mapping_load_string("default.yaml", default_mapping,
                                             sizeof default_mapping - 1,
                                             &mapping, &diags) != VG_OK)
    abort();
  vg_diags_close(&diags);
  if (csv_len == 0) {
    vg_csv_mapping_free(mapping);
    return 0;
  }
  FILE *in = fmemopen((void *)csv, csv_len, "r");
  if (!in) {
    vg_csv_mapping_free(mapping);
    return 0;
  }
  struct vg_source *src = vg_source_csv_new(in, "fuzz.csv", mapping);
  if (src) {
    struct vg_source_item item;
    int rc;
    while ((rc = vg_source_next(src, &item)) > 0)
      check_item(&item);
    if (rc < 0 && rc != VG_EINVAL && rc != VG_ENOMEM)
      abort();
    vg_source_free(src);
  }
  fclose(in);
  vg_csv_mapping_free(mapping);
  return 0;
}
