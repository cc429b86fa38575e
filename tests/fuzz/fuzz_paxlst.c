/* fuzz_paxlst.c - arbitrary bytes through the PAXLST reader: it must end,
 * every record must be a JSON object, every reject and warning well formed
 * (a reason, a bounded excerpt). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "source.h"
#include "vg_error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  FILE *in = fmemopen((void *)data, size, "r");
  if (!in)
    return 0;
  struct vg_source *src = vg_source_paxlst_new(in, "fuzz.edi");
  if (!src) {
    fclose(in);
    return 0;
  }
  struct vg_source_item item;
  int rc;
  while ((rc = vg_source_next(src, &item)) > 0) {
    if (item.type == VG_ITEM_RECORD) {
      json_t *rec = json_loadb(item.json, item.json_len, 0, NULL);
      if (!rec || !json_is_object(rec) ||
          !json_is_string(json_object_get(rec, "id")))
        abort();
      json_decref(rec);
    } else if (item.raw_len > VG_RAW_EXCERPT || !item.reason[0] ||
               !memchr(item.where, 0, sizeof item.where) ||
               !memchr(item.reason, 0, sizeof item.reason)) {
      abort();
    }
  }
  if (rc < 0 && rc != VG_ENOMEM)
    abort();
  vg_source_free(src);
  fclose(in);
  return 0;
}
