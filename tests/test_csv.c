/* test_csv.c - CSV records through YAML mapping files: RFC 4180 reading,
 * every cell type, constants and ids, the example mappings, mapping errors
 * with their places and codes, and broken rows (ragged, unterminated or
 * stray quotes, cells that do not convert) rejected alone while the next
 * rows are still read. Records are parsed back with jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "source.h"
#include "testutil.h"
#include "vg_error.h"

#define MAX_ITEMS 64

struct note {
  long line;
  char where[96];
  char reason[320];
  char raw[512];
};

struct items {
  json_t *rec[MAX_ITEMS];
  long rec_line[MAX_ITEMS];
  size_t nrec;
  struct note rej[MAX_ITEMS];
  size_t nrej;
  int rc; /* what next() returned last: 0 at the end, or an error */
  struct note fatal;
};

static void print_diags(const struct vg_diags *d) {
  for (size_t i = 0; i < d->count; i++)
    print_message("%s:%d:%d: %s [%s]\n", d->items[i].file, d->items[i].line,
                  d->items[i].col, d->items[i].message, d->items[i].code);
}

static struct vg_csv_mapping *load_map(const char *yaml) {
  struct vg_diags d;
  vg_diags_init(&d);
  struct vg_csv_mapping *m = NULL;
  int rc = vg_csv_mapping_load_string("test.mapping.yaml", yaml, strlen(yaml),
                                      &m, &d);
  if (rc != VG_OK)
    print_diags(&d);
  assert_int_equal(rc, VG_OK);
  assert_int_equal(d.count, 0);
  vg_diags_close(&d);
  assert_non_null(m);
  return m;
}

static void drain_stream(const struct vg_csv_mapping *m, FILE *in,
                         struct items *out) {
  memset(out, 0, sizeof *out);
  struct vg_source *src = vg_source_csv_new(in, "test.csv", m);
  assert_non_null(src);
  struct vg_source_item item;
  int rc;
  while ((rc = vg_source_next(src, &item)) > 0) {
    if (item.type == VG_ITEM_RECORD) {
      assert_true(out->nrec < MAX_ITEMS);
      json_error_t err;
      json_t *rec = json_loadb(item.json, item.json_len, 0, &err);
      if (!rec)
        fail_msg("record is not JSON: %s: %.*s", err.text, (int)item.json_len,
                 item.json);
      assert_true(json_is_object(rec));
      out->rec_line[out->nrec] = item.line;
      out->rec[out->nrec++] = rec;
      continue;
    }
    assert_int_equal(item.type, VG_ITEM_REJECT);
    assert_true(out->nrej < MAX_ITEMS);
    struct note *n = &out->rej[out->nrej++];
    n->line = item.line;
    memcpy(n->where, item.where, sizeof n->where);
    memcpy(n->reason, item.reason, sizeof n->reason);
    snprintf(n->raw, sizeof n->raw, "%.*s", (int)item.raw_len,
             item.raw ? item.raw : "");
  }
  out->rc = rc;
  if (rc < 0) {
    memcpy(out->fatal.where, item.where, sizeof item.where);
    memcpy(out->fatal.reason, item.reason, sizeof item.reason);
    /* A refused file stays refused. */
    assert_int_equal(vg_source_next(src, &item), rc);
  } else {
    assert_int_equal(vg_source_next(src, &item), 0);
  }
  vg_source_free(src);
}

static void drain_text(const struct vg_csv_mapping *m, const char *text,
                       size_t len, struct items *out) {
  FILE *in = fmemopen((void *)text, len ? len : 1, "r");
  assert_non_null(in);
  if (len == 0)
    fgetc(in);
  drain_stream(m, in, out);
  fclose(in);
}

#define DRAIN(m, text, out) drain_text((m), (text), sizeof(text) - 1, (out))

static void drain_file(const struct vg_csv_mapping *m, const char *path,
                       struct items *out) {
  FILE *in = fopen(path, "rb");
  assert_non_null(in);
  drain_stream(m, in, out);
  fclose(in);
}

static void items_free(struct items *it) {
  for (size_t i = 0; i < it->nrec; i++)
    json_decref(it->rec[i]);
}

#define at vgt_json_at
#define str vgt_json_str

static json_int_t integer(json_t *obj, const char *path) {
  json_t *v = at(obj, path);
  assert_non_null(v);
  assert_true(json_is_integer(v));
  return json_integer_value(v);
}

static double number(json_t *obj, const char *path) {
  json_t *v = at(obj, path);
  assert_non_null(v);
  assert_true(json_is_number(v));
  return json_number_value(v);
}

static bool boolean(json_t *obj, const char *path) {
  json_t *v = at(obj, path);
  assert_non_null(v);
  assert_true(json_is_boolean(v));
  return json_is_true(v);
}

#define assert_contains(hay, needle)                                           \
  do {                                                                         \
    if (!strstr((hay), (needle)))                                              \
      fail_msg("'%s' does not contain '%s'", (hay), (needle));                 \
  } while (0)

/* A small mapping most tests share: kind and source constant, id from a
 * column, observed_at from a date. */
static const char base_map[] =
    "constants: { kind: premises, source: t }\n"
    "id: id\n"
    "columns:\n"
    "  id: licence.number\n"
    "  when: { field: observed_at, type: datetime, formats: [\"%Y-%m-%d\"] }\n"
    "  name: premises.name\n";

/* ------------------------------------------------------------ examples */

static void test_example_premises(void **state) {
  (void)state;
  struct vg_diags d;
  vg_diags_init(&d);
  struct vg_csv_mapping *m = NULL;
  assert_int_equal(
      vg_csv_mapping_load(
          VG_SOURCE_DIR "/examples/premises_register.mapping.yaml", &m, &d),
      VG_OK);
  vg_diags_close(&d);
  struct items it;
  drain_file(m, VG_SOURCE_DIR "/examples/premises_register.csv", &it);
  assert_int_equal(it.rc, 0);
  assert_int_equal(it.nrej, 0);
  assert_int_equal(it.nrec, 5);
  json_t *r = it.rec[1];
  assert_string_equal(str(r, "kind"), "premises");
  assert_string_equal(str(r, "source"), "registro-establecimientos");
  assert_string_equal(str(r, "id"), "LIC-2023-00451");
  assert_string_equal(str(r, "licence.number"), "LIC-2023-00451");
  assert_string_equal(str(r, "venue.name"), "Karaoke Estrella");
  assert_string_equal(str(r, "venue.country"), "COL");
  assert_string_equal(str(r, "inspection.agency"), "Secretaría de Gobierno");
  assert_string_equal(str(r, "licence.holder"), "Luz Dary Peña");
  assert_string_equal(str(r, "licence.holder_phone"), "310 555 0199");
  assert_string_equal(str(r, "licence.valid_until"), "2026-06-30");
  assert_true(number(r, "licence.hours_close") == 26.0);
  assert_true(number(r, "inspection.observed_close") == 28.5);
  /* 01:15 in Bogotá (UTC-5) is 06:15 UTC. */
  assert_string_equal(str(r, "observed_at"), "2026-02-21T06:15:00Z");
  assert_true(boolean(r, "inspection.beds_on_site"));
  assert_false(boolean(r, "inspection.worker_register"));
  assert_int_equal(integer(r, "inspection.workers_counted"), 11);
  assert_true(number(r, "inspection.fine_cop") == 1750000.0);
  assert_contains(str(r, "inspection.findings"), "\"viven ahí\".\nNo hay");
  assert_int_equal(json_array_size(at(r, "licence.activities")), 2);
  assert_null(at(r, "funcionario"));
  assert_null(at(r, "id_interno"));
  /* The row after a quoted line break has its own line number. */
  assert_int_equal(it.rec_line[1], 3);
  assert_int_equal(it.rec_line[2], 5);
  /* A date without a time, and an empty cell: absent. */
  assert_string_equal(str(it.rec[2], "observed_at"), "2026-02-22T05:00:00Z");
  assert_null(at(it.rec[2], "inspection.observed_close"));
  assert_null(at(it.rec[2], "inspection.fine_cop"));
  json_t *spa = it.rec[3];
  assert_true(boolean(spa, "inspection.beds_on_site")); /* "x" */
  assert_true(boolean(spa, "inspection.documents_held"));
  assert_true(boolean(spa, "inspection.exits_blocked"));
  items_free(&it);
  vg_csv_mapping_free(m);
}

static void test_example_job_board(void **state) {
  (void)state;
  struct vg_diags d;
  vg_diags_init(&d);
  struct vg_csv_mapping *m = NULL;
  assert_int_equal(vg_csv_mapping_load(VG_SOURCE_DIR
                                       "/examples/job_board.mapping.yaml",
                                       &m, &d),
                   VG_OK);
  vg_diags_close(&d);
  struct items it;
  drain_file(m, VG_SOURCE_DIR "/examples/job_board.csv", &it);
  assert_int_equal(it.rc, 0);
  assert_int_equal(it.nrej, 0);
  assert_int_equal(it.nrec, 5);
  json_t *a = it.rec[0];
  assert_string_equal(str(a, "kind"), "job_advert");
  assert_string_equal(str(a, "id"), "empleos-mx:88123");
  /* 09:15 at UTC-6. */
  assert_string_equal(str(a, "observed_at"), "2026-02-10T15:15:00Z");
  assert_contains(str(a, "text"), "SIN EXPERIENCIA.\nViaje pagado");
  assert_contains(str(a, "text"), "\"sin entrevista\"");
  assert_true(number(a, "salary.amount") == 15000.0);
  assert_string_equal(str(a, "work_location.country"), "MEX");
  assert_string_equal(str(a, "contact.phone"), "+52 222 555 0147");
  assert_null(at(a, "contact.email"));
  assert_string_equal(str(a, "site"), "empleos-mx");
  assert_string_equal(str(a, "language"), "es");
  assert_false(boolean(a, "requirements.experience_required"));
  assert_true(boolean(a, "benefits.travel_paid"));
  /* A time with its own offset ignores the assumed zone. */
  assert_string_equal(str(it.rec[2], "observed_at"), "2026-02-11T20:05:00Z");
  assert_false(boolean(it.rec[2], "requirements.experience_required"));
  assert_null(at(it.rec[2], "employer"));
  assert_int_equal(json_array_size(at(it.rec[2], "contact.channels")), 2);
  assert_true(number(it.rec[1], "salary.amount") == 14500.5);
  assert_true(boolean(it.rec[4], "requirements.experience_required"));
  assert_null(at(it.rec[4], "employer.tax_id")); /* optional, not there */
  items_free(&it);
  vg_csv_mapping_free(m);
}

/* ----------------------------------------------------------- RFC 4180 */

static void test_data_file(void **state) {
  (void)state;
  struct vg_diags d;
  vg_diags_init(&d);
  struct vg_csv_mapping *m = NULL;
  assert_int_equal(
      vg_csv_mapping_load(VG_TEST_DATA "/csv/inspections.mapping.yaml", &m, &d),
      VG_OK);
  vg_diags_close(&d);
  struct items it;
  drain_file(m, VG_TEST_DATA "/csv/inspections.csv", &it);
  assert_int_equal(it.rc, 0);
  assert_int_equal(it.nrec, 3);
  assert_int_equal(it.nrej, 5);

  json_t *r = it.rec[0];
  assert_int_equal(it.rec_line[0], 2);
  assert_string_equal(str(r, "id"), "reg-L-1@14/02/2026");
  assert_string_equal(str(r, "premises.name"), "Bar \"El Sol\"");
  assert_true(boolean(r, "premises.open")); /* "SÍ" against [sí, x] */
  assert_int_equal(integer(r, "inspection.workers"), 7);
  assert_true(number(r, "inspection.fine") == 1500.5);
  assert_string_equal(str(r, "inspection.date"), "2026-02-14");
  assert_string_equal(str(r, "observed_at"), "2026-02-15T04:30:00Z");
  assert_string_equal(str(r, "holder.phone"), "+57 300 555 0100");
  assert_string_equal(str(r, "inspection.notes"), "Line one,\r\nline two");
  assert_string_equal(str(json_array_get(at(r, "licence.activities"), 1), ""),
                      "karaoke");
  assert_true(boolean(r, "flags.checked"));
  assert_int_equal(integer(r, "flags.version"), 2);

  /* A conversion failure names the line, the column and the format. */
  assert_string_equal(it.rej[0].where, "line 4");
  assert_int_equal(it.rej[0].line, 4);
  assert_string_equal(it.rej[0].reason,
                      "column 'fecha_inspeccion' (inspection.date): "
                      "'31/02/2026' is not a date in the format %d/%m/%Y");
  assert_string_equal(it.rej[0].raw, "L-2,Karaoke,31/02/2026,14/02/2026 "
                                     "23:30,no,3,,,,,ana");
  assert_string_equal(it.rej[1].where, "line 5");
  assert_string_equal(it.rej[1].reason,
                      "the row has 3 cells, the header has 11 columns");
  /* Line 6 is blank; line 7 converts with an explicit offset. */
  assert_int_equal(it.rec_line[1], 7);
  assert_string_equal(str(it.rec[1], "observed_at"), "2026-03-01T21:15:00Z");
  assert_string_equal(str(it.rec[1], "premises.name"), "Club \"Luna, Sol\"");
  assert_null(at(it.rec[1], "inspection.fine"));
  /* A quote opened on line 8 and never properly closed costs line 8
   * alone; the rows after it are read. */
  assert_string_equal(it.rej[2].where, "line 8");
  assert_contains(it.rej[2].reason, "column 'nombre'");
  assert_contains(it.rej[2].raw, "L-5,\"Open quote");
  assert_null(strstr(it.rej[2].raw, "L-6"));
  assert_string_equal(it.rej[3].where, "line 9");
  assert_string_equal(it.rej[3].reason,
                      "column 'abierto' (premises.open): 'maybe' is not a "
                      "bool (true: sí x; false: no)");
  assert_string_equal(it.rej[4].where, "line 10");
  assert_contains(it.rej[4].reason, "column 'licencia' (id) is empty");
  /* The last row has no line break; a cell of spaces is empty. */
  assert_int_equal(it.rec_line[2], 11);
  assert_string_equal(str(it.rec[2], "premises.name"), "Last \"row\"");
  assert_false(boolean(it.rec[2], "premises.open"));
  assert_null(at(it.rec[2], "licence.activities"));
  items_free(&it);
  vg_csv_mapping_free(m);
}

static void test_quoting(void **state) {
  (void)state;
  struct vg_csv_mapping *m = load_map(base_map);
  struct items it;
  DRAIN(m,
        "id,when,name\n"
        "\"a\",2026-01-01,\"x, \"\"y\"\"\"\n"
        "b,2026-01-02,\"two\nlines\"\r\n"
        "c,2026-01-03,\"\"\r"
        "d,2026-01-04,  padded  \n"
        "\"e\",\"2026-01-05\",\"ends with quote\"\"\"",
        &it);
  assert_int_equal(it.rc, 0);
  assert_int_equal(it.nrej, 0);
  assert_int_equal(it.nrec, 5);
  assert_string_equal(str(it.rec[0], "premises.name"), "x, \"y\"");
  assert_string_equal(str(it.rec[1], "premises.name"), "two\nlines");
  assert_int_equal(it.rec_line[1], 3);
  /* An empty quoted cell is absent; a lone CR ends a line. */
  assert_null(at(it.rec[2], "premises"));
  assert_int_equal(it.rec_line[2], 5);
  assert_int_equal(it.rec_line[3], 6);
  assert_string_equal(str(it.rec[3], "premises.name"), "padded");
  assert_string_equal(str(it.rec[4], "premises.name"), "ends with quote\"");
  assert_string_equal(str(it.rec[4], "observed_at"), "2026-01-05T00:00:00Z");
  items_free(&it);
  vg_csv_mapping_free(m);
}

static void test_broken_quotes(void **state) {
  (void)state;
  struct vg_csv_mapping *m = load_map(base_map);
  struct items it;
  /* Text after a closing quote on one line: that line alone. */
  DRAIN(m,
        "id,when,name\n"
        "a,2026-01-01,\"He said \"hi\" there\"\n"
        "b,2026-01-02,fine\n",
        &it);
  assert_int_equal(it.nrec, 1);
  assert_int_equal(it.nrej, 1);
  assert_string_equal(it.rej[0].where, "line 2");
  assert_string_equal(it.rej[0].reason,
                      "column 'name': text follows the closing quote (a "
                      "quote inside a quoted cell must be doubled)");
  assert_string_equal(str(it.rec[0], "id"), "b");
  assert_int_equal(it.rec_line[0], 3);
  items_free(&it);

  /* A quote that swallows the next lines and closes at the end of one:
   * the row comes out ragged over two lines; only its first goes. */
  DRAIN(m,
        "id,when,name\n"
        "a,\"2026-01-01,stray\n"
        "b,2026-01-02,fine\"\n"
        "c,2026-01-03,ok\n",
        &it);
  assert_int_equal(it.nrej, 1);
  assert_string_equal(it.rej[0].where, "line 2");
  assert_string_equal(it.rej[0].reason,
                      "the row has 2 cells, the header has 3 columns");
  assert_string_equal(it.rej[0].raw, "a,\"2026-01-01,stray");
  assert_int_equal(it.nrec, 2);
  assert_string_equal(str(it.rec[0], "id"), "b");
  assert_string_equal(str(it.rec[0], "premises.name"), "fine\"");
  assert_string_equal(str(it.rec[1], "id"), "c");
  items_free(&it);

  /* Never closed: reported with the line it opened on. */
  DRAIN(m,
        "id,when,name\n"
        "a,2026-01-01,ok\n"
        "b,2026-01-02,\"never closed\n"
        "c,2026-01-03,ok\n"
        "d,2026-01-04,ok\n",
        &it);
  assert_int_equal(it.nrec, 3);
  assert_int_equal(it.nrej, 1);
  assert_string_equal(it.rej[0].where, "line 3");
  assert_string_equal(it.rej[0].reason,
                      "column 'name': the quote opened on line 3 is never "
                      "closed");
  assert_string_equal(str(it.rec[1], "id"), "c");
  assert_int_equal(it.rec_line[2], 5);
  items_free(&it);

  /* The same at the very end of the input. */
  DRAIN(m, "id,when,name\na,2026-01-01,\"open", &it);
  assert_int_equal(it.nrec, 0);
  assert_int_equal(it.nrej, 1);
  assert_contains(it.rej[0].reason, "never closed");
  items_free(&it);

  /* A quote in the middle of an unquoted cell is kept as text. */
  DRAIN(m, "id,when,name\na,2026-01-01,5\" screen\n", &it);
  assert_int_equal(it.nrec, 1);
  assert_string_equal(str(it.rec[0], "premises.name"), "5\" screen");
  items_free(&it);
  vg_csv_mapping_free(m);
}

static void test_ragged_rows(void **state) {
  (void)state;
  struct vg_csv_mapping *m = load_map(base_map);
  struct items it;
  DRAIN(m,
        "id,when,name\n"
        "a,2026-01-01,one,extra\n"
        "b,2026-01-02\n"
        "c,2026-01-03,three\n"
        "d,2026-01-04,four,\n",
        &it);
  assert_int_equal(it.nrec, 1);
  assert_int_equal(it.nrej, 3);
  assert_string_equal(it.rej[0].reason,
                      "the row has 4 cells, the header has 3 columns");
  assert_string_equal(it.rej[0].raw, "a,2026-01-01,one,extra");
  assert_string_equal(it.rej[1].where, "line 3");
  assert_string_equal(it.rej[1].reason,
                      "the row has 2 cells, the header has 3 columns");
  assert_string_equal(it.rej[2].where, "line 5");
  assert_int_equal(it.rec_line[0], 4);
  items_free(&it);
  vg_csv_mapping_free(m);
}

static void test_long_row(void **state) {
  (void)state;
  struct vg_csv_mapping *m = load_map(base_map);
  size_t big = VG_CSV_MAX_ROW_BYTES + 4096;
  const char *head = "id,when,name\na,2026-01-01,";
  const char *mid = "\nb,2026-01-02,short\nc,2026-01-03,\"";
  const char *tail = "\"\nd,2026-01-04,end\n";
  size_t len = strlen(head) + big + strlen(mid) + big + strlen(tail);
  char *text = malloc(len);
  assert_non_null(text);
  char *o = text;
  memcpy(o, head, strlen(head));
  o += strlen(head);
  memset(o, 'x', big);
  o += big;
  memcpy(o, mid, strlen(mid));
  o += strlen(mid);
  memset(o, 'y', big); /* a quoted cell over the limit */
  o += big;
  memcpy(o, tail, strlen(tail));
  struct items it;
  drain_text(m, text, len, &it);
  free(text);
  assert_int_equal(it.rc, 0);
  assert_int_equal(it.nrej, 2);
  assert_string_equal(it.rej[0].where, "line 2");
  assert_string_equal(it.rej[0].reason,
                      "the row is longer than the limit of 1048576 bytes");
  assert_int_equal(strlen(it.rej[0].raw), sizeof it.rej[0].raw - 1);
  assert_string_equal(it.rej[1].where, "line 4");
  assert_contains(it.rej[1].reason, "column 'name'");
  assert_int_equal(it.nrec, 2);
  assert_string_equal(str(it.rec[0], "id"), "b");
  assert_int_equal(it.rec_line[0], 3);
  assert_string_equal(str(it.rec[1], "id"), "d");
  assert_int_equal(it.rec_line[1], 5);
  items_free(&it);
  vg_csv_mapping_free(m);
}

/* --------------------------------------------------------------- types */

static void test_types(void **state) {
  (void)state;
  struct vg_csv_mapping *m = load_map(
      "constants: { kind: k, source: s, tags: [a, b], score: 1.5 }\n"
      "id: id\n"
      "columns:\n"
      "  id: x.id\n"
      "  n: { field: v.int, type: int, thousands: \".\" }\n"
      "  f: { field: v.num, type: number }\n"
      "  b: { field: v.bool, type: bool }\n"
      "  d: { field: v.date, type: date, formats: [\"%d/%m/%y\", "
      "\"%Y%m%d\"] }\n"
      "  t: { field: observed_at, type: datetime, formats: [\"%d.%m.%Y "
      "%H:%M:%S\"], zone: \"+05:30\" }\n"
      "  l: { field: v.list, type: list }\n"
      "  p: { field: v.phone, type: phone }\n");
  struct items it;
  DRAIN(m,
        "id,n,f,b,d,t,l,p\n"
        "1,-1.234.567,-2.5e3,YES,29/02/24,01.01.2026 02:00:00.250,a; b ;;c,"
        "0057 300 123\n"
        "2,+007,0.125,False,20260301,31.12.2025 23:59:59,;,300-1\n"
        "3,-0,1,0,01/01/69,01.03.2024 03:00:00,x,1\n",
        &it);
  assert_int_equal(it.nrej, 0);
  assert_int_equal(it.nrec, 3);
  json_t *a = it.rec[0], *b = it.rec[1], *c = it.rec[2];
  assert_int_equal(integer(a, "v.int"), -1234567);
  assert_true(number(a, "v.num") == -2500.0);
  assert_true(boolean(a, "v.bool"));
  assert_string_equal(str(a, "v.date"), "2024-02-29");
  /* 02:00 at +05:30 is the previous evening in UTC; fractions dropped. */
  assert_string_equal(str(a, "observed_at"), "2025-12-31T20:30:00Z");
  json_t *list = at(a, "v.list");
  assert_int_equal(json_array_size(list), 3);
  assert_string_equal(json_string_value(json_array_get(list, 1)), "b");
  assert_string_equal(str(a, "v.phone"), "0057 300 123");
  assert_int_equal(json_array_size(at(a, "tags")), 2);
  assert_true(number(a, "score") == 1.5);
  assert_int_equal(integer(b, "v.int"), 7);
  assert_false(boolean(b, "v.bool"));
  assert_string_equal(str(b, "v.date"), "2026-03-01");
  assert_string_equal(str(b, "observed_at"), "2025-12-31T18:29:59Z");
  assert_null(at(b, "v.list")); /* separators only: nothing in it */
  assert_int_equal(integer(c, "v.int"), 0);
  assert_false(boolean(c, "v.bool"));
  assert_string_equal(str(c, "v.date"), "1969-01-01");
  assert_string_equal(str(c, "observed_at"), "2024-02-29T21:30:00Z");
  items_free(&it);
  vg_csv_mapping_free(m);
}

static void test_conversion_failures(void **state) {
  (void)state;
  struct vg_csv_mapping *m = load_map(
      "constants: { kind: k }\n"
      "id: id\n"
      "columns:\n"
      "  id: x.id\n"
      "  n: { field: v.int, type: int }\n"
      "  f: { field: v.num, type: number, decimal: \",\" }\n"
      "  d: { field: observed_at, type: datetime, formats: [\"%Y-%m-%d "
      "%H:%M\", \"%d/%m/%Y\"] }\n"
      "  s: v.s\n");
  struct items it;
  DRAIN(m,
        "id,n,f,d,s\n"
        "1,12a,1,2026-01-01 10:00,ok\n"
        "2,99999999999999999999,1,2026-01-01 10:00,ok\n"
        "3,1,1.5,2026-01-01 10:00,ok\n"
        "4,1,1,29/02/2025,ok\n"
        "5,1,1,2026-01-01 24:00,ok\n"
        "6,1,1,2026-01-01 10:00,bad \xC3\x28 utf8\n"
        "7,1,nan,2026-01-01 10:00,ok\n"
        "8,1,\"-3,25\",29/02/2024,ok\n",
        &it);
  assert_int_equal(it.nrec, 1);
  assert_int_equal(it.nrej, 7);
  assert_string_equal(it.rej[0].reason,
                      "column 'n' (v.int): '12a' is not an integer");
  assert_string_equal(it.rej[1].reason,
                      "column 'n' (v.int): '99999999999999999999' is out of "
                      "range for an integer");
  assert_string_equal(it.rej[2].reason,
                      "column 'f' (v.num): '1.5' is not a number (decimal "
                      "mark ',')");
  assert_string_equal(it.rej[3].reason,
                      "column 'd' (observed_at): '29/02/2025' is not a date "
                      "and time in the formats %Y-%m-%d %H:%M, %d/%m/%Y");
  assert_contains(it.rej[4].reason, "'2026-01-01 24:00' is not a date");
  assert_contains(it.rej[5].reason, "column 's' (v.s)");
  assert_contains(it.rej[5].reason, "is not valid UTF-8");
  assert_contains(it.rej[6].reason, "'nan' is not a number");
  assert_string_equal(it.rej[6].where, "line 8");
  assert_true(number(it.rec[0], "v.num") == -3.25);
  assert_string_equal(str(it.rec[0], "observed_at"), "2024-02-29T00:00:00Z");
  items_free(&it);
  vg_csv_mapping_free(m);
}

static void test_bool_words(void **state) {
  (void)state;
  struct vg_csv_mapping *m =
      load_map("constants: { kind: k, observed_at: \"2026-01-01T00:00:00Z\" }\n"
               "id: id\ncolumns:\n  id: x.id\n"
               "  b: { field: v.b, type: bool, true: [Sí, \"S\"], false: "
               "[No, \"N\"] }\n");
  struct items it;
  DRAIN(m, "id,b\n1,sí\n2,SÍ\n3,s\n4,NO\n5,n\n6,yes\n7,true\n", &it);
  assert_int_equal(it.nrec, 5);
  assert_true(boolean(it.rec[0], "v.b"));
  assert_true(boolean(it.rec[1], "v.b"));
  assert_true(boolean(it.rec[2], "v.b"));
  assert_false(boolean(it.rec[3], "v.b"));
  assert_false(boolean(it.rec[4], "v.b"));
  /* Custom words replace the defaults. */
  assert_int_equal(it.nrej, 2);
  assert_string_equal(it.rej[0].reason, "column 'b' (v.b): 'yes' is not a "
                                        "bool (true: sí s; false: no n)");
  items_free(&it);
  vg_csv_mapping_free(m);
}

static void test_ids(void **state) {
  (void)state;
  struct vg_csv_mapping *m = load_map(
      "constants: { kind: k, observed_at: \"2026-01-01T00:00:00Z\" }\n"
      "id: { columns: [site, num], separator: \"-\", prefix: \"job:\" }\n"
      "columns:\n  num: n.n\n"
      "ignore: [site]\n");
  struct items it;
  DRAIN(m, "site,num\nbog,17\n,18\nmed,\n", &it);
  assert_int_equal(it.nrec, 1);
  assert_string_equal(str(it.rec[0], "id"), "job:bog-17");
  assert_null(at(it.rec[0], "site"));
  assert_int_equal(it.nrej, 2);
  assert_string_equal(it.rej[0].reason,
                      "column 'site' (id) is empty: every record needs an "
                      "id");
  assert_string_equal(it.rej[1].reason,
                      "column 'num' (id) is empty: every record needs an id");
  items_free(&it);
  vg_csv_mapping_free(m);

  /* An id mapped like any other field. */
  m = load_map("constants: { kind: k, observed_at: \"2026-01-01T00:00:00Z\" "
               "}\ncolumns:\n  ref: id\n");
  DRAIN(m, "ref\nr1\n", &it);
  assert_int_equal(it.nrec, 1);
  assert_string_equal(str(it.rec[0], "id"), "r1");
  items_free(&it);
  vg_csv_mapping_free(m);
}

static void test_encoding_and_delimiters(void **state) {
  (void)state;
  struct vg_csv_mapping *m =
      load_map("encoding: latin-1\ndelimiter: \";\"\n"
               "constants: { kind: k, observed_at: \"2026-01-01T00:00:00Z\" "
               "}\nid: id\ncolumns: { id: x.id, name: x.name }\n");
  struct items it;
  DRAIN(m,
        "id;name\n\xD1"
        "1;Mu\xF1oz, Jos\xE9\n",
        &it);
  assert_int_equal(it.nrec, 1);
  assert_string_equal(str(it.rec[0], "id"), "\xC3\x91"
                                            "1");
  assert_string_equal(str(it.rec[0], "x.name"), "Mu\xC3\xB1oz, Jos\xC3\xA9");
  items_free(&it);
  vg_csv_mapping_free(m);

  m = load_map("delimiter: tab\nconstants: { kind: k, observed_at: "
               "\"2026-01-01T00:00:00Z\" }\nid: id\n"
               "columns: { id: x.id, name: x.name }\n");
  DRAIN(m, "id\tname\n1\ta, b\n", &it);
  assert_int_equal(it.nrec, 1);
  assert_string_equal(str(it.rec[0], "x.name"), "a, b");
  items_free(&it);
  vg_csv_mapping_free(m);
}

/* -------------------------------------------------------------- header */

static void test_header_refused(void **state) {
  (void)state;
  struct vg_csv_mapping *m = load_map(
      "constants: { kind: k }\nid: id\n"
      "columns:\n  id: x.id\n  when: { field: observed_at, type: date }\n"
      "  extra: { field: x.extra, optional: true }\n"
      "ignore: [skip]\n");
  struct items it;
  /* A renamed column is noticed. */
  DRAIN(m, "id,fecha,skip\n1,2026-01-01,z\n", &it);
  assert_int_equal(it.rc, VG_EINVAL);
  assert_int_equal(it.nrec + it.nrej, 0);
  assert_string_equal(it.fatal.where, "line 1");
  assert_string_equal(it.fatal.reason,
                      "column 'fecha' (column 2 of the header) is not in the "
                      "mapping: map it under 'columns' or list it under "
                      "'ignore'");
  DRAIN(m, "id,skip\n1,z\n", &it);
  assert_int_equal(it.rc, VG_EINVAL);
  assert_contains(it.fatal.reason, "the header has no column 'when'");
  DRAIN(m, "id,when,id\n", &it);
  assert_int_equal(it.rc, VG_EINVAL);
  assert_contains(it.fatal.reason, "names column 'id' twice");
  DRAIN(m, "", &it);
  assert_int_equal(it.rc, VG_EINVAL);
  assert_contains(it.fatal.reason, "the file is empty");
  DRAIN(m, "\n\n", &it);
  assert_int_equal(it.rc, VG_EINVAL);
  DRAIN(m, "\"id,when\n", &it);
  assert_int_equal(it.rc, VG_EINVAL);
  assert_contains(it.fatal.reason, "the header row");
  /* An optional column may be missing, ignored ones too; the header is
   * trimmed and may follow blank lines and a byte order mark. */
  DRAIN(m, "\xEF\xBB\xBF\n id , when \n1,2026-01-01\n", &it);
  assert_int_equal(it.rc, 0);
  assert_int_equal(it.nrec, 1);
  assert_int_equal(it.rec_line[0], 3);
  assert_null(at(it.rec[0], "x.extra"));
  items_free(&it);
  DRAIN(m, "when,extra,id\n2026-01-01,e,1\n", &it);
  assert_int_equal(it.nrec, 1);
  assert_string_equal(str(it.rec[0], "x.extra"), "e");
  items_free(&it);
  vg_csv_mapping_free(m);
}

/* ------------------------------------------------------------- mapping */

struct bad_mapping {
  const char *yaml;
  const char *code;
  int line, col;
  const char *text; /* a part of the message */
};

static void test_mapping_errors(void **state) {
  (void)state;
  static const struct bad_mapping cases[] = {
      {"constants: { kind: k }\nid: a\ncolumns:\n  a: x.a\ncolumn: {}\n",
       "mapping-unknown-key", 5, 1, "unknown key 'column'"},
      {"constants: { kind: k }\nid: a\ncolumns:\n  a: { field: x.a, "
       "typ: int }\n",
       "mapping-unknown-key", 4, 20, "unknown key 'typ' in column 'a'"},
      {"constants: { kind: k }\nid: a\ncolumns:\n  a: { field: x.a, type: "
       "integer }\n",
       "mapping-bad-type", 4, 26, "unknown type 'integer'"},
      {"constants: { kind: k }\nid: a\ncolumns:\n  a: { field: x.a, type: "
       "string, format: \"%d\" }\n",
       "mapping-unknown-key", 4, 34, "'format' does not apply"},
      {"constants: { kind: k }\nid: a\ncolumns:\n  a: { field: x.a, type: "
       "date, format: \"%d/%m\" }\n",
       "mapping-bad-value", 4, 40, "needs %Y"},
      {"constants: { kind: k }\nid: a\ncolumns:\n  a: { field: x.a, type: "
       "date, format: \"%Y-%j\" }\n",
       "mapping-bad-value", 4, 40, "has a directive other than"},
      {"constants: { kind: k }\nid: a\ncolumns:\n  a: { field: x.a, type: "
       "datetime, zone: Europe/Madrid }\n",
       "mapping-bad-value", 4, 42, "zone must be UTC or a fixed offset"},
      {"constants: { kind: k }\nid: a\ncolumns:\n  a: x..a\n",
       "mapping-bad-field", 4, 6, "'x..a' is not a field path"},
      {"constants: { kind: k }\nid: a\ncolumns:\n  a: x.a\n  b: x.a\n",
       "mapping-conflict", 5, 6,
       "field 'x.a' is already given a value at "
       "line 4"},
      {"constants: { kind: k }\nid: a\ncolumns:\n  a: x\n  b: x.b\n",
       "mapping-conflict", 5, 6, "cannot be placed inside 'x'"},
      {"constants: { kind: k }\nid: a\ncolumns:\n  a: x.a\nignore: [a]\n",
       "mapping-conflict", 5, 10, "column 'a' is both mapped and ignored"},
      {"constants: { kind: k }\nid: a\ncolumns:\n  a: x.a\n  a: x.b\n", "", 5,
       3, "'a'"}, /* the YAML reader or the loader may say it */
      {"id: a\ncolumns:\n  a: x.a\n  t: { field: observed_at, type: date }\n",
       "mapping-missing-key", 1, 1, "nothing gives 'kind'"},
      {"constants: { kind: k }\ncolumns:\n  a: x.a\n  t: { field: "
       "observed_at, type: date }\n",
       "mapping-missing-key", 1, 1, "nothing gives 'id'"},
      {"constants: { kind: k }\nid: a\ncolumns:\n  a: x.a\n",
       "mapping-missing-key", 1, 1, "nothing gives 'observed_at'"},
      {"constants: { kind: k, x: \"a\\0b\" }\nid: a\ncolumns:\n  a: x.a\n",
       "mapping-bad-type", 1, 26, "no NUL character"},
      {"constants: { kind: k, x: null }\nid: a\ncolumns:\n  a: x.a\n",
       "mapping-bad-type", 1, 26, "the constant for 'x'"},
      {"constants: { kind: k }\nid: a\ncolumns:\n  a: { field: x.a, type: "
       "bool, true: [si], false: [Si] }\n",
       "mapping-conflict", 4, 51, "'si' is both a true and a false word"},
      {"constants: { kind: k }\nid: a\ndelimiter: \"ab\"\ncolumns:\n  a: x\n",
       "mapping-bad-value", 3, 12, "delimiter must be one character"},
      {"constants: { kind: k }\nid: a\nencoding: utf-16\ncolumns:\n  a: x\n",
       "mapping-bad-value", 3, 11, "encoding must be"},
      {"constants: { kind: k }\nid: { cols: [a] }\ncolumns:\n  a: x\n",
       "mapping-unknown-key", 2, 7, "unknown key 'cols' in id"},
      {"constants: { kind: k }\nid: a\ncolumns: [a, b]\n", "mapping-bad-type",
       3, 10, "'columns' must map"},
      {"- a\n- b\n", "mapping-bad-type", 1, 1, "must be a YAML mapping"},
      {"columns: {a: [x]\n", "yaml-syntax", 0, 0, ""},
      {"constants: { kind: k }\nid: a\ncolumns:\n  a: { field: x.a, type: "
       "number, thousands: \",\", decimal: \",\" }\n",
       "mapping-bad-value", 4, 45, "thousands must be one character"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const struct bad_mapping *c = &cases[i];
    struct vg_diags d;
    vg_diags_init(&d);
    struct vg_csv_mapping *m = NULL;
    int rc = vg_csv_mapping_load_string("bad.yaml", c->yaml, strlen(c->yaml),
                                        &m, &d);
    if (rc != VG_EINVAL || d.count == 0) {
      print_diags(&d);
      fail_msg("case %zu: rc %d, %zu diagnostics", i, rc, d.count);
    }
    assert_null(m);
    bool found = false;
    for (size_t k = 0; k < d.count && !found; k++) {
      const struct vg_diag *g = &d.items[k];
      found = (!c->code[0] || strcmp(g->code, c->code) == 0) &&
              (c->line == 0 || (g->line == c->line && g->col == c->col)) &&
              strstr(g->message, c->text) && strcmp(g->file, "bad.yaml") == 0;
    }
    if (!found) {
      print_diags(&d);
      fail_msg("case %zu: no [%s] at %d:%d with '%s'", i, c->code, c->line,
               c->col, c->text);
    }
    vg_diags_close(&d);
  }
}

static void test_mapping_file(void **state) {
  (void)state;
  struct vg_diags d;
  vg_diags_init(&d);
  struct vg_csv_mapping *m = NULL;
  assert_int_equal(vg_csv_mapping_load("/nonexistent/x.yaml", &m, &d), VG_EIO);
  assert_null(m);
  assert_int_equal(d.count, 1);
  assert_string_equal(d.items[0].code, "io");
  vg_diags_close(&d);
  vg_csv_mapping_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_example_premises),
      cmocka_unit_test(test_example_job_board),
      cmocka_unit_test(test_data_file),
      cmocka_unit_test(test_quoting),
      cmocka_unit_test(test_broken_quotes),
      cmocka_unit_test(test_ragged_rows),
      cmocka_unit_test(test_long_row),
      cmocka_unit_test(test_types),
      cmocka_unit_test(test_conversion_failures),
      cmocka_unit_test(test_bool_words),
      cmocka_unit_test(test_ids),
      cmocka_unit_test(test_encoding_and_delimiters),
      cmocka_unit_test(test_header_refused),
      cmocka_unit_test(test_mapping_errors),
      cmocka_unit_test(test_mapping_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
