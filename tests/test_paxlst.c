/* test_paxlst.c - the UN/EDIFACT PAXLST reader on hand-written messages:
 * every segment it reads, separators and escapes, several messages, crew
 * lists, the carrier quirks of INDICATORS.md, and broken input (truncated,
 * bad dates, segments out of order) rejecting only what cannot be read.
 * Also the --format guess. Records are parsed back with jansson. */
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
  struct note rej[MAX_ITEMS], warn[MAX_ITEMS];
  size_t nrej, nwarn;
};

static void drain_stream(FILE *in, struct items *out) {
  memset(out, 0, sizeof *out);
  struct vg_source *src = vg_source_paxlst_new(in, "test.edi");
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
    struct note *n;
    if (item.type == VG_ITEM_REJECT) {
      assert_true(out->nrej < MAX_ITEMS);
      n = &out->rej[out->nrej++];
    } else {
      assert_int_equal(item.type, VG_ITEM_WARNING);
      assert_true(out->nwarn < MAX_ITEMS);
      n = &out->warn[out->nwarn++];
    }
    n->line = item.line;
    memcpy(n->where, item.where, sizeof n->where);
    memcpy(n->reason, item.reason, sizeof n->reason);
    assert_true(item.reason[0] != '\0');
    assert_true(item.raw_len <= VG_RAW_EXCERPT);
    snprintf(n->raw, sizeof n->raw, "%.*s", (int)item.raw_len,
             item.raw ? item.raw : "");
  }
  assert_int_equal(rc, 0);
  /* The end stays the end. */
  assert_int_equal(vg_source_next(src, &item), 0);
  vg_source_free(src);
}

static void drain_text(const char *text, struct items *out) {
  size_t len = strlen(text);
  FILE *in = fmemopen((void *)text, len ? len : 1, "r");
  assert_non_null(in);
  if (len == 0)
    fgetc(in); /* fmemopen cannot open an empty buffer: read it away */
  drain_stream(in, out);
  fclose(in);
}

static void drain_file(const char *name, struct items *out) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", VG_TEST_DATA "/paxlst", name);
  FILE *in = fopen(path, "rb");
  assert_non_null(in);
  drain_stream(in, out);
  fclose(in);
}

static void items_free(struct items *it) {
  for (size_t i = 0; i < it->nrec; i++)
    json_decref(it->rec[i]);
}

#define at vgt_json_at
#define str vgt_json_str

static bool contains(const char *hay, const char *needle) {
  return strstr(hay, needle) != NULL;
}

#define assert_contains(hay, needle)                                           \
  do {                                                                         \
    if (!contains((hay), (needle)))                                            \
      fail_msg("'%s' does not contain '%s'", (hay), (needle));                 \
  } while (0)

static void assert_record_basics(json_t *rec) {
  assert_string_equal(str(rec, "kind"), "travel");
  assert_true(strlen(str(rec, "id")) > 20);
  assert_true(strncmp(str(rec, "source"), "paxlst", 6) == 0);
  assert_string_equal(str(rec, "observed_at"), str(rec, "flight.departure_at"));
}

/* ------------------------------------------------------------ segments */

static void test_every_segment(void **state) {
  (void)state;
  struct items it;
  drain_file("segments.edi", &it);
  assert_int_equal(it.nrec, 2);
  assert_int_equal(it.nrej, 0);
  assert_int_equal(it.nwarn, 0);
  json_t *r = it.rec[0];
  assert_record_basics(r);
  assert_int_equal(it.rec_line[0], 1);
  assert_string_equal(str(r, "source"), "paxlst:TESTAIR");
  assert_string_equal(str(r, "observed_at"), "2026-03-14T08:30:00Z");
  assert_string_equal(str(r, "traveller.role"), "passenger");
  assert_string_equal(str(r, "traveller.surname"), "SMITH");
  assert_string_equal(str(r, "traveller.given_names"), "JOHN PAUL JR");
  assert_string_equal(str(r, "traveller.sex"), "M");
  /* 29 February of a leap year, two-digit year: 1980, not 2080. */
  assert_string_equal(str(r, "traveller.birth_date"), "1980-02-29");
  assert_string_equal(str(r, "traveller.nationality"), "GBR");
  assert_string_equal(str(r, "traveller.birth_place"), "GBR");
  assert_string_equal(str(r, "traveller.residence_country"), "GBR");
  assert_string_equal(str(r, "traveller.address"),
                      "1 HIGH ST, LONDON, SW1A 1AA, GBR");
  assert_string_equal(str(r, "traveller.port_embark"), "LHR");
  assert_string_equal(str(r, "traveller.port_debark"), "JFK");
  assert_string_equal(str(r, "traveller.seat"), "12A");
  assert_string_equal(str(r, "booking.reference"), "ABC123");
  assert_string_equal(str(r, "booking.passenger_ref"), "PAX0001");
  assert_string_equal(str(r, "traveller.document.type"), "P");
  assert_string_equal(str(r, "traveller.document.number"), "123456789");
  assert_string_equal(str(r, "traveller.document.issuing_country"), "GBR");
  assert_string_equal(str(r, "traveller.document.expiry"), "2031-01-01");
  assert_int_equal(json_array_size(at(r, "traveller.documents")), 1);
  assert_string_equal(str(r, "flight.carrier"), "BA");
  assert_string_equal(str(r, "flight.number"), "BA123");
  assert_string_equal(str(r, "flight.departure_port"), "LHR");
  assert_string_equal(str(r, "flight.arrival_port"), "JFK");
  assert_string_equal(str(r, "flight.departure_at"), "2026-03-14T08:30:00Z");
  assert_string_equal(str(r, "flight.arrival_at"), "2026-03-14T11:30:00Z");
  assert_null(at(r, "flight.legs")); /* one leg: no list */
  assert_string_equal(str(r, "report.list"), "passengers");
  assert_string_equal(str(r, "report.party"), "JANE CLERK");
  assert_string_equal(str(r, "report.phone"), "44 20 7946 0000");
  /* RFF+CR and FTX are not PAXLST fields a record carries. */
  char *dump = json_dumps(r, 0);
  assert_non_null(dump);
  assert_null(strstr(dump, "IGNORED"));
  assert_null(strstr(dump, "BAGS"));
  free(dump);

  /* Missing optional segments: a name alone still makes a record. */
  json_t *d = it.rec[1];
  assert_record_basics(d);
  assert_string_equal(str(d, "traveller.surname"), "DOE");
  assert_string_equal(str(d, "traveller.given_names"), "JANE");
  assert_null(at(d, "traveller.sex"));
  assert_null(at(d, "traveller.birth_date"));
  assert_null(at(d, "traveller.document"));
  assert_null(at(d, "traveller.documents"));
  assert_null(at(d, "booking"));
  assert_string_equal(str(d, "flight.number"), "BA123");
  assert_string_not_equal(str(d, "id"), str(r, "id"));
  items_free(&it);
}

static void test_example_flight(void **state) {
  (void)state;
  struct items it;
  FILE *in = fopen(VG_SOURCE_DIR "/examples/flight.paxlst", "rb");
  assert_non_null(in);
  drain_stream(in, &it);
  fclose(in);
  assert_int_equal(it.nrec, 4);
  assert_int_equal(it.nrej, 0);
  assert_int_equal(it.nwarn, 0);
  for (size_t i = 0; i < it.nrec; i++)
    assert_record_basics(it.rec[i]);
  /* A release character keeps an apostrophe in a name. */
  assert_string_equal(str(it.rec[1], "traveller.surname"), "O'NEILL");
  assert_string_equal(str(it.rec[1], "traveller.birth_place"), "Cork Ireland");
  /* Two documents: the passport is the one the record is about. */
  assert_int_equal(json_array_size(at(it.rec[1], "traveller.documents")), 2);
  assert_string_equal(str(it.rec[1], "traveller.document.type"), "P");
  assert_string_equal(str(it.rec[1], "traveller.document.number"), "PA9876543");
  json_t *visa = json_array_get(at(it.rec[1], "traveller.documents"), 0);
  assert_string_equal(str(visa, "type"), "V");
  assert_string_equal(str(visa, "issuing_country"), "ESP");
  assert_string_equal(str(visa, "expiry"), "2026-09-30");
  assert_string_equal(str(it.rec[2], "traveller.role"), "transit_passenger");
  assert_string_equal(str(it.rec[2], "traveller.document.number"),
                      "C0123456+7");
  assert_string_equal(str(it.rec[2], "traveller.birth_date"), "1999-12-31");
  /* The crew list is the second message. */
  assert_string_equal(str(it.rec[3], "traveller.role"), "crew");
  assert_int_equal(it.rec_line[3], 2);
  assert_string_equal(str(it.rec[3], "report.list"), "crew");
  /* COM with a repetition separator gives both numbers too. */
  assert_string_equal(str(it.rec[3], "report.phone"), "57 601 555 0100");
  assert_string_equal(str(it.rec[3], "report.fax"), "57 601 555 0199");
  assert_string_equal(str(it.rec[3], "flight.departure_port"), "BOG");
  assert_string_equal(str(it.rec[3], "flight.arrival_port"), "MAD");
  items_free(&it);
}

/* ------------------------------------------------- separators, escapes */

static void test_default_separators_one_line(void **state) {
  (void)state;
  /* No UNA, every segment on one line, and an empty segment ('') that
   * counts for nothing. */
  struct items it;
  drain_text("UNB+UNOA:4+AIR1+AG+260101:0000+1'UNH+1+PAXLST:D:02B:UN:IATA'"
             "BGM+745'TDT+20+AB1+++AB'LOC+125+AAA'DTM+189:2601011200:201'"
             "LOC+87+BBB'NAD+FL+++ONE:A''NAD+FL+++TWO:B'CNT+42:2'UNT+10+1'"
             "UNZ+1+1'",
             &it);
  assert_int_equal(it.nrec, 2);
  assert_int_equal(it.nwarn, 0);
  assert_int_equal(it.nrej, 0);
  assert_string_equal(str(it.rec[1], "traveller.surname"), "TWO");
  assert_string_equal(str(it.rec[1], "flight.arrival_port"), "BBB");
  assert_null(at(it.rec[1], "flight.arrival_at"));
  items_free(&it);
}

static void test_una_custom_separators(void **state) {
  (void)state;
  /* Every service character changed; ! releases. */
  struct items it;
  drain_text("UNA#|,!*~\n"
             "UNB|UNOA#4|AIR2|AG|260101#0000|1~\n"
             "UNH|1|PAXLST#D#02B#UN#IATA~\n"
             "BGM|745~\n"
             "COM|111#TE*222#FX*333#TE~\n"
             "TDT|20|CD2|||CD~\n"
             "LOC|125|AAA~\n"
             "DTM|189#2601011200#201~\n"
             "NAD|FL|||O!~BRIEN!|!#X#ANN~\n"
             "DOC|P|N!*1!!~\n"
             "UNT|9|1~\n"
             "UNZ|1|1~\n",
             &it);
  assert_int_equal(it.nrec, 1);
  assert_int_equal(it.nwarn, 0);
  assert_string_equal(str(it.rec[0], "traveller.surname"), "O~BRIEN|#X");
  assert_string_equal(str(it.rec[0], "traveller.given_names"), "ANN");
  assert_string_equal(str(it.rec[0], "traveller.document.number"), "N*1!");
  assert_string_equal(str(it.rec[0], "report.phone"), "111");
  assert_string_equal(str(it.rec[0], "report.fax"), "222");
  json_t *nums = at(it.rec[0], "report.numbers");
  assert_int_equal(json_array_size(nums), 3);
  assert_string_equal(str(json_array_get(nums, 2), "number"), "333");
  assert_string_equal(str(json_array_get(nums, 2), "type"), "TE");
  items_free(&it);
}

static void test_release_escapes(void **state) {
  (void)state;
  struct items it;
  drain_text("UNA:+.? '"
             "UNB+UNOA:4+AIR3+AG+260101:0000+1'"
             "UNH+1+PAXLST:D:02B:UN:IATA'TDT+20+EF3+++EF'LOC+125+AAA'"
             "DTM+189:2601011200:201'"
             "NAD+FL+++D?'ANGELO?:?+??:MARIA'RFF+AVF:A?'B'UNT+7+1'UNZ+1+1'",
             &it);
  assert_int_equal(it.nrec, 1);
  assert_int_equal(it.nwarn, 0);
  assert_string_equal(str(it.rec[0], "traveller.surname"), "D'ANGELO:+?");
  assert_string_equal(str(it.rec[0], "traveller.given_names"), "MARIA");
  assert_string_equal(str(it.rec[0], "booking.reference"), "A'B");
  items_free(&it);

  /* Characters JSON escapes, a tab and a NUL in values. */
  static const char text[] =
      "UNB+UNOA:4+AIR\"3+AG+260101:0000+1'"
      "UNH+1+PAXLST:D:02B:UN:IATA'TDT+20+EF3+++EF'LOC+125+AAA'"
      "DTM+189:2601011200:201'"
      "NAD+FL+++SAY \"HI\"\\:BACK\\SLASH\tX\0Y'UNT+6+1'UNZ+1+1'";
  FILE *in = fmemopen((void *)text, sizeof text - 1, "r");
  assert_non_null(in);
  drain_stream(in, &it);
  fclose(in);
  assert_int_equal(it.nrec, 1);
  assert_int_equal(it.nwarn, 0);
  assert_string_equal(str(it.rec[0], "source"), "paxlst:AIR\"3");
  assert_string_equal(str(it.rec[0], "traveller.surname"), "SAY \"HI\"\\");
  assert_string_equal(str(it.rec[0], "traveller.given_names"),
                      "BACK\\SLASH X Y");
  items_free(&it);
}

static void test_lines_and_spaces_between_segments(void **state) {
  (void)state;
  /* CRLF and leading spaces between segments, and a segment wrapped over
   * two lines, as fixed-width transmissions do. */
  struct items it;
  drain_text("UNB+UNOA:4+AIR4+AG+260101:0000+1'\r\n"
             "    UNH+1+PAXLST:D:02B:UN:IATA'\r\n"
             "\tTDT+20+GH4+++GH'\r\n  LOC+125+AAA'\r\n"
             "  DTM+189:2601011200:201'\r\n"
             "  NAD+FL+++LONGSURNAME\r\n:GIVEN'\r\n"
             "  UNT+6+1'\r\n UNZ+1+1'\r\n\r\n",
             &it);
  assert_int_equal(it.nrec, 1);
  assert_int_equal(it.nwarn, 0);
  assert_string_equal(str(it.rec[0], "traveller.surname"), "LONGSURNAME");
  assert_string_equal(str(it.rec[0], "traveller.given_names"), "GIVEN");
  items_free(&it);
}

static void test_latin1_interchange(void **state) {
  (void)state;
  /* UNOC is ISO 8859-1; bytes that are not UTF-8 elsewhere are read as
   * Latin-1 too, never rejected. */
  struct items it;
  drain_text("UNB+UNOC:3+AIR5+AG+260101:0000+1'UNH+1+PAXLST:D:02B:UN:IATA'"
             "TDT+20+IJ5+++IJ'LOC+125+AAA'DTM+189:2601011200:201'"
             "NAD+FL+++MU\xD1OZ:JOS\xC9'UNT+6+1'UNZ+1+1'"
             "UNB+UNOA:4+AIR5+AG+260101:0000+2'UNH+1+PAXLST:D:02B:UN:IATA'"
             "TDT+20+IJ5+++IJ'LOC+125+AAA'DTM+189:2601011200:201'"
             "NAD+FL+++P\xC3\x89REZ:ANDR\xC9S'UNT+6+1'UNZ+1+2'",
             &it);
  assert_int_equal(it.nrec, 2);
  assert_int_equal(it.nwarn, 0);
  assert_string_equal(str(it.rec[0], "traveller.surname"), "MU\xC3\x91OZ");
  assert_string_equal(str(it.rec[0], "traveller.given_names"), "JOS\xC3\x89");
  assert_string_equal(str(it.rec[1], "traveller.surname"), "P\xC3\x89REZ");
  assert_string_equal(str(it.rec[1], "traveller.given_names"), "ANDR\xC3\x89S");
  items_free(&it);
}

/* ------------------------------------------- messages, crew and legs */

static void test_several_messages(void **state) {
  (void)state;
  struct items it;
  drain_text("UNB+UNOA:4+AIR6+AG+260101:0000+1'"
             "UNH+1+PAXLST:D:02B:UN:IATA'TDT+20+KL6+++KL'LOC+125+AAA'"
             "DTM+189:2601011200:201'NAD+FL+++ONE:A'UNT+6+1'"
             "UNH+2+PAXLST:D:02B:UN:IATA'TDT+20+KL7+++KL'LOC+125+BBB'"
             "DTM+189:2601021200:201'NAD+FL+++TWO:B'NAD+FL+++THREE:C'"
             "DTM+329:99XX01'UNT+8+2'"
             "UNZ+2+1'",
             &it);
  assert_int_equal(it.nrec, 2);
  assert_int_equal(it.nrej, 1);
  assert_int_equal(it.nwarn, 0);
  assert_int_equal(it.rec_line[0], 1);
  assert_int_equal(it.rec_line[1], 2);
  assert_string_equal(str(it.rec[0], "flight.number"), "KL6");
  assert_string_equal(str(it.rec[1], "flight.number"), "KL7");
  assert_string_equal(str(it.rec[1], "flight.departure_port"), "BBB");
  /* Each message has its own flight, and a fault stays in its message. */
  assert_int_equal(it.rej[0].line, 2);
  assert_string_equal(it.rej[0].where, "message 2, segment 7, line 1");
  assert_contains(it.rej[0].reason, "traveller.birth_date");
  assert_contains(it.rej[0].raw, "NAD+FL+++THREE:C'DTM+329:99XX01");
  assert_null(strstr(it.rej[0].raw, "TWO"));
  items_free(&it);
}

static void test_crew_list_and_legs(void **state) {
  (void)state;
  struct items it;
  drain_file("crew.edi", &it);
  assert_int_equal(it.nrec, 2);
  assert_int_equal(it.nrej, 0);
  assert_int_equal(it.nwarn, 0);
  json_t *c = it.rec[0];
  assert_record_basics(c);
  assert_string_equal(str(c, "traveller.role"), "crew");
  assert_string_equal(str(c, "report.list"), "crew");
  assert_string_equal(str(it.rec[1], "traveller.role"), "transit_crew");
  /* Two TDT legs, each with two LOC+92. */
  assert_string_equal(str(c, "flight.departure_port"), "PEK");
  assert_string_equal(str(c, "flight.departure_at"), "2026-04-02T01:00:00Z");
  assert_string_equal(str(c, "flight.arrival_port"), "MAD");
  assert_string_equal(str(c, "flight.arrival_at"), "2026-04-02T14:00:00Z");
  json_t *legs = at(c, "flight.legs");
  assert_int_equal(json_array_size(legs), 2);
  assert_string_equal(str(json_array_get(legs, 0), "arrival_port"), "DXB");
  assert_string_equal(str(json_array_get(legs, 0), "arrival_at"),
                      "2026-04-02T07:00:00Z");
  assert_string_equal(str(json_array_get(legs, 1), "departure_port"), "DXB");
  assert_string_equal(str(json_array_get(legs, 1), "departure_at"),
                      "2026-04-02T09:00:00Z");
  assert_string_equal(str(c, "source"), "paxlst:CREWAIR");
  items_free(&it);
}

static void test_routing_stop_in_one_leg(void **state) {
  (void)state;
  /* One TDT: departure, a stop (LOC+92) and arrival, written out of route
   * order: 87 before 125. */
  struct items it;
  drain_text("UNB+UNOA:4+AIR7+AG+260101:0000+1'UNH+1+PAXLST:D:02B:UN:IATA'"
             "TDT+20+MN7+++MN'LOC+87+CCC'DTM+232:2601012300:201'"
             "LOC+125+AAA'DTM+189:2601011000:201'"
             "LOC+92+BBB'DTM+232:2601011500:201'DTM+189:2601011600:201'"
             "NAD+FL+++ONE:A'UNT+11+1'UNZ+1+1'",
             &it);
  assert_int_equal(it.nrec, 1);
  assert_int_equal(it.nwarn, 0);
  json_t *legs = at(it.rec[0], "flight.legs");
  assert_int_equal(json_array_size(legs), 2);
  assert_string_equal(str(json_array_get(legs, 0), "departure_port"), "AAA");
  assert_string_equal(str(json_array_get(legs, 0), "arrival_port"), "BBB");
  assert_string_equal(str(json_array_get(legs, 0), "arrival_at"),
                      "2026-01-01T15:00:00Z");
  assert_string_equal(str(json_array_get(legs, 1), "departure_at"),
                      "2026-01-01T16:00:00Z");
  assert_string_equal(str(json_array_get(legs, 1), "arrival_port"), "CCC");
  assert_string_equal(str(it.rec[0], "flight.arrival_at"),
                      "2026-01-01T23:00:00Z");
  assert_string_equal(str(it.rec[0], "observed_at"), "2026-01-01T10:00:00Z");
  items_free(&it);
}

/* ------------------------------------------------------------- quirks */

static void test_quirks(void **state) {
  (void)state;
  /* UNA with a repetition separator, leading spaces, CRLF, UNG/UNE,
   * D:05B, a zero-padded UNT count, COM with :TE and :FX, RFF+TN after
   * BGM, free-text birth place, CCYYMMDD dates, several documents, and
   * text after UNZ. */
  struct items it;
  drain_file("quirks.edi", &it);
  assert_int_equal(it.nrec, 2);
  assert_int_equal(it.nrej, 0);
  assert_int_equal(it.nwarn, 1);
  assert_contains(it.warn[0].reason, "text after UNZ");
  assert_contains(it.warn[0].where, "line 32");
  assert_contains(it.warn[0].raw, "END OF TRANSMISSION");
  json_t *a = it.rec[0];
  assert_record_basics(a);
  assert_string_equal(str(a, "traveller.birth_place"), "Hartford USA");
  assert_string_equal(str(a, "traveller.birth_date"), "1995-12-24");
  assert_string_equal(str(a, "traveller.document.type"), "P");
  assert_string_equal(str(a, "traveller.document.expiry"), "2030-01-01");
  assert_string_equal(str(a, "report.phone"), "1 860 555 0100");
  assert_string_equal(str(a, "report.fax"), "1 860 555 0199");
  assert_null(at(a, "report.numbers")); /* phone and fax say it all */
  json_t *b = it.rec[1];
  assert_int_equal(json_array_size(at(b, "traveller.documents")), 2);
  assert_string_equal(str(b, "traveller.document.number"), "PP5544332");
  json_t *card = json_array_get(at(b, "traveller.documents"), 0);
  assert_string_equal(str(card, "type"), "I");
  assert_string_equal(str(card, "number"), "CC10203040");
  assert_string_equal(str(card, "issuing_country"), "COL");
  items_free(&it);
}

static void test_unt_counts(void **state) {
  (void)state;
  static const char head[] =
      "UNB+UNOA:4+AIR8+AG+260101:0000+1'UNH+1+PAXLST:D:02B:UN:IATA'"
      "TDT+20+OP8+++OP'LOC+125+AAA'DTM+189:2601011200:201'"
      "NAD+FL+++ONE:A'NAD+FL+++TWO:B'";
  char text[512];
  struct items it;

  /* Right, and right with leading zeros. */
  snprintf(text, sizeof text, "%sUNT+0000007+1'UNZ+1+1'", head);
  drain_text(text, &it);
  assert_int_equal(it.nrec, 2);
  assert_int_equal(it.nwarn, 0);
  items_free(&it);

  /* Zero-padded and wrong. */
  snprintf(text, sizeof text, "%sUNT+000009+1'UNZ+1+1'", head);
  drain_text(text, &it);
  assert_int_equal(it.nrec, 2);
  assert_int_equal(it.nrej, 0);
  assert_int_equal(it.nwarn, 1);
  assert_int_equal(it.warn[0].line, 1);
  assert_string_equal(it.warn[0].where, "message 1, segment 7, line 1");
  assert_string_equal(it.warn[0].reason,
                      "UNT says 9, but message 1 has 7 segments from UNH to "
                      "UNT");
  assert_string_equal(it.warn[0].raw, "UNT+000009+1");
  items_free(&it);

  /* Not a number, and a message reference that differs from UNH's. */
  snprintf(text, sizeof text, "%sUNT+X+1'UNZ+1+1'", head);
  drain_text(text, &it);
  assert_int_equal(it.nrec, 2);
  assert_int_equal(it.nwarn, 1);
  assert_contains(it.warn[0].reason, "UNT count 'X' is not a number");
  items_free(&it);
  snprintf(text, sizeof text, "%sUNT+7+2'UNZ+1+1'", head);
  drain_text(text, &it);
  assert_int_equal(it.nrec, 2);
  assert_int_equal(it.nwarn, 1);
  assert_contains(it.warn[0].reason, "reference '2' differs from UNH's '1'");
  items_free(&it);
}

static void test_cnt_and_unz_counts(void **state) {
  (void)state;
  struct items it;
  drain_text("UNB+UNOA:4+AIR9+AG+260101:0000+1'UNH+1+PAXLST:D:02B:UN:IATA'"
             "TDT+20+QR9+++QR'LOC+125+AAA'DTM+189:2601011200:201'"
             "NAD+FL+++ONE:A'NAD+DDU+++TWO:B'NAD+FM+++THREE:C'"
             "CNT+42:3'CNT+41:1'UNT+10+1'UNZ+4+1'",
             &it);
  /* CNT+42 counts passengers in transit too; crew are not passengers. */
  assert_int_equal(it.nrec, 3);
  assert_int_equal(it.nwarn, 2);
  assert_string_equal(it.warn[0].reason,
                      "CNT+42 says 3 passengers but message 1 has 2 "
                      "passenger groups (NAD+FL, NAD+DDU)");
  assert_string_equal(it.warn[0].where, "message 1, segment 8, line 1");
  assert_string_equal(it.warn[1].reason,
                      "UNZ says 4, but interchange 1 has 1 messages");
  assert_int_equal(it.warn[1].line, 0);
  items_free(&it);

  drain_text("UNB+UNOA:4+AIR9+AG+260101:0000+1'UNH+1+PAXLST:D:02B:UN:IATA'"
             "BGM+250'TDT+20+QR9+++QR'LOC+125+AAA'"
             "DTM+189:2601011200:201'NAD+FM+++ONE:A'CNT+41:2'UNT+8+1'"
             "UNZ+1+1'",
             &it);
  assert_int_equal(it.nrec, 1);
  assert_int_equal(it.nwarn, 1);
  assert_contains(it.warn[0].reason, "CNT+41 says 2 crew but message 1 has "
                                     "1 crew groups");
  items_free(&it);
}

static void test_group_counts(void **state) {
  (void)state;
  struct items it;
  drain_text("UNB+UNOA:4+AIR10+AG+260101:0000+1'UNG+PAXLST+AIR10+AG+260101:"
             "0000+5+UN+D:02B'UNH+1+PAXLST:D:02B:UN:IATA'"
             "TDT+20+ST1+++ST'LOC+125+AAA'DTM+189:2601011200:201'"
             "NAD+FL+++ONE:A'UNT+6+1'UNE+3+5'UNZ+1+1'",
             &it);
  assert_int_equal(it.nrec, 1);
  assert_int_equal(it.nwarn, 1);
  assert_string_equal(it.warn[0].reason,
                      "UNE says 3, but the group has 1 messages");
  items_free(&it);
}

static void test_missing_unz_and_outside_segments(void **state) {
  (void)state;
  struct items it;
  drain_text("UNB+UNOA:4+AIR11+AG+260101:0000+1'UNH+1+PAXLST:D:02B:UN:IATA'"
             "TDT+20+UV1+++UV'LOC+125+AAA'DTM+189:2601011200:201'"
             "NAD+FL+++ONE:A'UNT+6+1'BGM+745'",
             &it);
  assert_int_equal(it.nrec, 1);
  assert_int_equal(it.nwarn, 2);
  assert_contains(it.warn[0].reason, "BGM outside any message");
  assert_contains(it.warn[1].reason, "interchange 1 has no UNZ");
  items_free(&it);

  /* A message without UNB still gives its travellers, with a warning. */
  drain_text("UNH+1+PAXLST:D:02B:UN:IATA'TDT+20+UV1+++UV'LOC+125+AAA'"
             "DTM+189:2601011200:201'NAD+FL+++ONE:A'UNT+6+1'",
             &it);
  assert_int_equal(it.nrec, 1);
  assert_string_equal(str(it.rec[0], "source"), "paxlst");
  assert_int_equal(it.nwarn, 1);
  assert_contains(it.warn[0].reason, "outside an interchange");
  items_free(&it);
}

static void test_directories_and_types(void **state) {
  (void)state;
  struct items it;
  drain_text("UNB+UNOA:4+AIR12+AG+260101:0000+1'"
             "UNH+1+CUSRES:D:02B:UN'NAD+FL+++NOT:READ'UNT+3+1'"
             "UNH+2+PAXLST:D:12B:UN:IATA'TDT+20+WX1+++WX'LOC+125+AAA'"
             "DTM+189:2601011200:201'NAD+FL+++ONE:A'DOC+P:110:111+Z1'"
             "UNT+7+2'UNZ+2+1'",
             &it);
  assert_int_equal(it.nrec, 1);
  assert_int_equal(it.nrej, 0);
  assert_int_equal(it.nwarn, 2);
  assert_contains(it.warn[0].reason, "'CUSRES' message, not PAXLST");
  assert_contains(it.warn[1].reason, "directory D:12B, read as D:02B");
  assert_string_equal(str(it.rec[0], "traveller.document.type"), "P");
  assert_int_equal(it.rec_line[0], 2);
  items_free(&it);
}

static void test_bad_una(void **state) {
  (void)state;
  struct items it;
  drain_text("UNA::.? 'UNB+UNOA:4+AIR13+AG+260101:0000+1'"
             "UNH+1+PAXLST:D:02B:UN:IATA'TDT+20+YZ1+++YZ'LOC+125+AAA'"
             "DTM+189:2601011200:201'NAD+FL+++ONE:A'UNT+6+1'UNZ+1+1'",
             &it);
  assert_int_equal(it.nrec, 1);
  assert_int_equal(it.nwarn, 1);
  assert_contains(it.warn[0].reason, "repeats a separator");
  items_free(&it);
}

/* --------------------------------------------------------------- dates */

static void test_birth_date_pivot(void **state) {
  (void)state;
  struct items it;
  drain_text("UNB+UNOA:4+AIR14+AG+260101:0000+1'UNH+1+PAXLST:D:02B:UN:IATA'"
             "TDT+20+AB14+++AB'LOC+125+AAA'DTM+189:2603141200:201'"
             "NAD+FL+++A:A'DTM+329:250101'"        /* before the flight: 2025 */
             "NAD+FL+++B:B'DTM+329:260314'"        /* the flight's day: 2026 */
             "NAD+FL+++C:C'DTM+329:260401'"        /* after it: 1926 */
             "NAD+FL+++D:D'DTM+329:991231'"        /* 1999 */
             "NAD+FL+++E:E'DTM+329:19250101:102'"  /* four-digit year */
             "NAD+FL+++F:F'DOC+P+1'DTM+36:750101'" /* expiry: 2075 */
             "NAD+FL+++G:G'DOC+P+2'DTM+36:770101'" /* expiry: 1977 */
             "UNT+21+1'UNZ+1+1'",
             &it);
  assert_int_equal(it.nrec, 7);
  assert_int_equal(it.nwarn, 0);
  assert_string_equal(str(it.rec[0], "traveller.birth_date"), "2025-01-01");
  assert_string_equal(str(it.rec[1], "traveller.birth_date"), "2026-03-14");
  assert_string_equal(str(it.rec[2], "traveller.birth_date"), "1926-04-01");
  assert_string_equal(str(it.rec[3], "traveller.birth_date"), "1999-12-31");
  assert_string_equal(str(it.rec[4], "traveller.birth_date"), "1925-01-01");
  assert_string_equal(str(it.rec[5], "traveller.document.expiry"),
                      "2075-01-01");
  assert_string_equal(str(it.rec[6], "traveller.document.expiry"),
                      "1977-01-01");
  items_free(&it);
}

static void test_bad_dates(void **state) {
  (void)state;
  struct items it;
  drain_file("bad_dates.edi", &it);
  assert_int_equal(it.nrec, 2);
  assert_int_equal(it.nrej, 2);
  assert_int_equal(it.nwarn, 0); /* CNT counts every group, read or not */
  assert_string_equal(str(it.rec[0], "traveller.surname"), "GOOD");
  assert_string_equal(str(it.rec[0], "traveller.given_names"), "BEFORE");
  assert_string_equal(str(it.rec[1], "traveller.given_names"), "AFTER");
  assert_string_equal(str(it.rec[1], "traveller.birth_date"), "2001-01-01");
  assert_string_equal(it.rej[0].where, "message 1, segment 11, line 12");
  assert_string_equal(it.rej[0].reason,
                      "traveller.birth_date: DTM+329 '910231' is not a date "
                      "(YYMMDD or CCYYMMDD)");
  assert_string_equal(it.rej[0].raw,
                      "NAD+FL+++BAD:BIRTH'DTM+329:910231'DOC+P+B1'");
  assert_int_equal(it.rej[0].line, 1);
  assert_string_equal(it.rej[1].where, "message 1, segment 15, line 16");
  assert_contains(it.rej[1].reason, "traveller.document.expiry");
  assert_contains(it.rej[1].reason, "'29X101'");
  items_free(&it);
}

static void test_bad_departure_time(void **state) {
  (void)state;
  struct items it;
  drain_text("UNB+UNOA:4+AIR15+AG+260101:0000+1'UNH+1+PAXLST:D:02B:UN:IATA'"
             "TDT+20+CD15+++CD'LOC+125+AAA'DTM+189:2602301200:201'"
             "LOC+87+BBB'DTM+232:2603011200:201'"
             "NAD+FL+++ONE:A'NAD+FL+++TWO:B'UNT+9+1'UNZ+1+1'",
             &it);
  /* No departure time: no traveller can be screened, each is rejected
   * with the reason, and the unreadable time is a warning. */
  assert_int_equal(it.nrec, 0);
  assert_int_equal(it.nrej, 2);
  assert_int_equal(it.nwarn, 1);
  assert_contains(it.warn[0].reason, "DTM+189 '2602301200' is not a date");
  assert_string_equal(it.warn[0].where, "message 1, segment 4, line 1");
  assert_contains(it.rej[0].reason, "flight.departure_at");
  assert_string_equal(it.rej[0].where, "message 1, segment 7, line 1");
  assert_string_equal(it.rej[1].where, "message 1, segment 8, line 1");
  items_free(&it);

  /* No flight at all. */
  drain_text("UNB+UNOA:4+AIR15+AG+260101:0000+1'UNH+1+PAXLST:D:02B:UN:IATA'"
             "NAD+FL+++ONE:A'UNT+3+1'UNZ+1+1'",
             &it);
  assert_int_equal(it.nrec, 0);
  assert_int_equal(it.nrej, 1);
  assert_contains(it.rej[0].reason, "no flight (TDT+20)");
  items_free(&it);
}

/* --------------------------------------------------------- bad input */

static void test_truncated_interchange(void **state) {
  (void)state;
  struct items it;
  drain_file("truncated.edi", &it);
  assert_int_equal(it.nrec, 2);
  assert_int_equal(it.nrej, 1);
  assert_string_equal(str(it.rec[0], "traveller.document.number"), "A0000001");
  assert_string_equal(str(it.rec[1], "traveller.document.number"), "A0000002");
  assert_string_equal(it.rej[0].where, "message 1, segment 12, line 13");
  assert_contains(it.rej[0].reason, "input ends inside segment DOC");
  assert_string_equal(it.rej[0].raw, "NAD+FL+++THREE:THIRD'DOC+P+A00");
  assert_int_equal(it.nwarn, 2);
  assert_contains(it.warn[0].reason, "message 1 has no UNT");
  assert_contains(it.warn[1].reason, "interchange 1 has no UNZ");
  items_free(&it);

  /* Cut between segments: the open group is not trusted either. */
  drain_text("UNB+UNOA:4+AIR16+AG+260101:0000+1'UNH+1+PAXLST:D:02B:UN:IATA'"
             "TDT+20+EF16+++EF'LOC+125+AAA'DTM+189:2601011200:201'"
             "NAD+FL+++ONE:A'DOC+P+1'NAD+FL+++TWO:B'",
             &it);
  assert_int_equal(it.nrec, 1);
  assert_int_equal(it.nrej, 1);
  assert_contains(it.rej[0].reason, "input ends (no UNT) inside this "
                                    "traveller group");
  assert_string_equal(it.rej[0].raw, "NAD+FL+++TWO:B'");
  items_free(&it);

  /* Cut in the flight part: nothing to reject, only warnings. */
  drain_text("UNB+UNOA:4+AIR16+AG+260101:0000+1'UNH+1+PAXLST:D:02B:UN:IATA'"
             "TDT+20+EF",
             &it);
  assert_int_equal(it.nrec, 0);
  assert_int_equal(it.nrej, 0);
  assert_int_equal(it.nwarn, 2);
  items_free(&it);

  /* A message cut off by the next UNH. */
  drain_text("UNB+UNOA:4+AIR16+AG+260101:0000+1'UNH+1+PAXLST:D:02B:UN:IATA'"
             "TDT+20+EF16+++EF'LOC+125+AAA'DTM+189:2601011200:201'"
             "NAD+FL+++ONE:A'"
             "UNH+2+PAXLST:D:02B:UN:IATA'TDT+20+EF17+++EF'LOC+125+AAA'"
             "DTM+189:2601011200:201'NAD+FL+++TWO:B'UNT+6+2'UNZ+2+1'",
             &it);
  assert_int_equal(it.nrec, 1);
  assert_string_equal(str(it.rec[0], "traveller.surname"), "TWO");
  assert_int_equal(it.nrej, 1);
  assert_int_equal(it.rej[0].line, 1);
  assert_int_equal(it.nwarn, 1);
  assert_contains(it.warn[0].reason, "message 1 has no UNT (a new UNH "
                                     "follows)");
  items_free(&it);
}

static void test_segment_order(void **state) {
  (void)state;
  struct items it;
  drain_file("order.edi", &it);
  /* Segments out of place are warned about and skipped; no traveller is
   * lost, and the flight stays the one given before the travellers. */
  assert_int_equal(it.nrec, 2);
  assert_int_equal(it.nrej, 0);
  assert_int_equal(it.nwarn, 4);
  assert_contains(it.warn[0].reason, "ATT belongs in a traveller group");
  assert_string_equal(it.warn[0].where, "message 1, segment 3, line 4");
  assert_contains(it.warn[1].reason, "DTM+189 comes before any LOC");
  assert_contains(it.warn[2].reason, "DTM+36 (document expiry) comes before "
                                     "any DOC");
  assert_contains(it.warn[3].reason, "TDT after the traveller groups");
  assert_string_equal(str(it.rec[0], "traveller.document.number"), "C1");
  assert_null(at(it.rec[0], "traveller.document.expiry"));
  assert_string_equal(str(it.rec[1], "traveller.document.number"), "C2");
  assert_string_equal(str(it.rec[1], "flight.number"), "OR300");
  assert_string_equal(str(it.rec[1], "flight.departure_port"), "GRU");
  items_free(&it);
}

static void test_warnings_capped(void **state) {
  (void)state;
  /* Thirty segments out of place: twenty warnings and one saying the
   * rest are not reported; the counts are still checked. */
  char text[2048];
  size_t len = (size_t)snprintf(text, sizeof text, "%s",
                                "UNB+UNOA:4+AIR21+AG+260101:0000+1'"
                                "UNH+1+PAXLST:D:02B:UN:IATA'");
  for (int i = 0; i < 30; i++)
    len += (size_t)snprintf(text + len, sizeof text - len, "ATT+2++M'");
  snprintf(text + len, sizeof text - len,
           "TDT+20+KL21+++KL'LOC+125+AAA'DTM+189:2601011200:201'"
           "NAD+FL+++ONE:A'UNT+99+1'UNZ+1+1'");
  struct items it;
  drain_text(text, &it);
  assert_int_equal(it.nrec, 1);
  assert_int_equal(it.nwarn, 22);
  assert_contains(it.warn[19].reason, "ATT belongs in a traveller group");
  assert_contains(it.warn[20].reason, "more than 20 segments out of place");
  assert_contains(it.warn[21].reason, "UNT says 99, but message 1 has 36");
  items_free(&it);
}

static void test_damaged_group(void **state) {
  (void)state;
  struct items it;
  drain_text("UNB+UNOA:4+AIR17+AG+260101:0000+1'UNH+1+PAXLST:D:02B:UN:IATA'"
             "TDT+20+GH17+++GH'LOC+125+AAA'DTM+189:2601011200:201'"
             "NAD+FL+++ONE:A'NAD+FL+++TWO:B'#~@garbage'DOC+P+2'"
             "NAD+FL+++THREE:C'NAD+ZZ+++NOBODY'ATT+2++M'NAD+FL+++FOUR:D'"
             "UNT+13+1'UNZ+1+1'",
             &it);
  assert_int_equal(it.nrec, 3);
  assert_string_equal(str(it.rec[0], "traveller.surname"), "ONE");
  assert_string_equal(str(it.rec[1], "traveller.surname"), "THREE");
  assert_null(at(it.rec[1], "traveller.sex"));
  assert_string_equal(str(it.rec[2], "traveller.surname"), "FOUR");
  assert_int_equal(it.nrej, 1);
  assert_contains(it.rej[0].reason, "'#~@garbage' is not a segment");
  assert_string_equal(it.rej[0].raw, "NAD+FL+++TWO:B'#~@garbage'DOC+P+2'");
  assert_int_equal(it.nwarn, 1);
  assert_contains(it.warn[0].reason, "NAD+ZZ is not a traveller group");
  items_free(&it);
}

static void test_junk_and_empty(void **state) {
  (void)state;
  struct items it;
  drain_text("", &it);
  assert_int_equal(it.nrec + it.nrej + it.nwarn, 0);
  items_free(&it);
  drain_text("   \r\n\n", &it);
  assert_int_equal(it.nrec + it.nrej + it.nwarn, 0);
  items_free(&it);
  drain_text("hello, world\n", &it);
  assert_int_equal(it.nrec + it.nrej, 0);
  assert_int_equal(it.nwarn, 1);
  assert_contains(it.warn[0].reason, "outside any message");
  items_free(&it);
  /* A UTF-8 byte order mark before UNB. */
  drain_text("\xEF\xBB\xBFUNB+UNOA:4+AIR18+AG+260101:0000+1'"
             "UNH+1+PAXLST:D:02B:UN:IATA'TDT+20+IJ18+++IJ'LOC+125+AAA'"
             "DTM+189:2601011200:201'NAD+FL+++ONE:A'UNT+6+1'UNZ+1+1'",
             &it);
  assert_int_equal(it.nrec, 1);
  assert_int_equal(it.nwarn, 0);
  items_free(&it);
}

static void test_overlong_segment(void **state) {
  (void)state;
  size_t junk = 200 * 1024;
  const char *pre = "UNB+UNOA:4+AIR19+AG+260101:0000+1'"
                    "UNH+1+PAXLST:D:02B:UN:IATA'TDT+20+KL19+++KL'"
                    "LOC+125+AAA'DTM+189:2601011200:201'NAD+FL+++ONE:A'"
                    "NAD+FL+++TWO:B'FTX+AAI+++";
  const char *post = "'NAD+FL+++THREE:C'UNT+9+1'UNZ+1+1'";
  size_t len = strlen(pre) + junk + strlen(post);
  char *text = malloc(len + 1);
  assert_non_null(text);
  memcpy(text, pre, strlen(pre));
  memset(text + strlen(pre), 'x', junk);
  memcpy(text + strlen(pre) + junk, post, strlen(post) + 1);
  struct items it;
  drain_text(text, &it);
  free(text);
  assert_int_equal(it.nrec, 2);
  assert_string_equal(str(it.rec[1], "traveller.surname"), "THREE");
  assert_int_equal(it.nrej, 1);
  assert_contains(it.rej[0].reason, "is not a segment");
  items_free(&it);
}

/* ----------------------------------------------------------------- ids */

static void test_ids_stable_across_resends(void **state) {
  (void)state;
  /* The same message re-sent: new interchange reference, send time and
   * message reference, segments laid out differently. Same ids. */
  struct items a, b, c;
  drain_text("UNB+UNOA:4+AIR20+AG+260314:0900+100'UNH+M100+PAXLST:D:02B:UN:"
             "IATA'TDT+20+MN20+++MN'LOC+125+AAA'DTM+189:2603141200:201'"
             "NAD+FL+++ONE:A'DOC+P+P111'LOC+91+COL'NAD+FL+++TWO:B'"
             "DTM+329:800101'NAD+FL+++THREE:C'RFF+ABO:R3'NAD+FL'UNT+13+M100'"
             "UNZ+1+100'",
             &a);
  drain_text("UNA:+.? '\nUNB+UNOA:4+AIR20+AG+260314:1130+207'\n"
             "UNH+X7+PAXLST:D:02B:UN:IATA'\n TDT+20+MN20+++MN'\n"
             " LOC+125+AAA'\n DTM+189:2603141200:201'\n"
             " NAD+FL+++ONE:A'\n DOC+P+P111'\n LOC+91+COL'\n"
             " NAD+FL+++TWO:B'\n DTM+329:800101'\n"
             " NAD+FL+++THREE:C'\n RFF+ABO:R3'\n NAD+FL'\n UNT+13+X7'\n"
             "UNZ+1+207'\n",
             &b);
  /* The next day's flight: other ids. */
  drain_text("UNB+UNOA:4+AIR20+AG+260315:0900+101'UNH+M101+PAXLST:D:02B:UN:"
             "IATA'TDT+20+MN20+++MN'LOC+125+AAA'DTM+189:2603151200:201'"
             "NAD+FL+++ONE:A'DOC+P+P111'LOC+91+COL'UNT+8+M101'UNZ+1+101'",
             &c);
  assert_int_equal(a.nrec, 4);
  assert_int_equal(b.nrec, 4);
  assert_int_equal(a.nwarn + b.nwarn + c.nwarn, 0);
  for (size_t i = 0; i < 4; i++)
    assert_string_equal(str(a.rec[i], "id"), str(b.rec[i], "id"));
  for (size_t i = 0; i < 4; i++)
    for (size_t j = i + 1; j < 4; j++)
      assert_string_not_equal(str(a.rec[i], "id"), str(a.rec[j], "id"));
  assert_true(strncmp(str(a.rec[0], "id"), "MN20/2026-03-14/", 16) == 0);
  assert_string_not_equal(str(a.rec[0], "id"), str(c.rec[0], "id"));
  assert_true(strncmp(str(c.rec[0], "id"), "MN20/2026-03-15/", 16) == 0);
  /* The id never shows the document number or the name. */
  assert_null(strstr(str(a.rec[0], "id"), "P111"));
  assert_null(strstr(str(a.rec[1], "id"), "TWO"));
  items_free(&a);
  items_free(&b);
  items_free(&c);
}

/* -------------------------------------------------------------- format */

static void test_format_names(void **state) {
  (void)state;
  enum vg_format f = VG_FORMAT_NDJSON;
  assert_int_equal(vg_format_parse("csv", &f), 0);
  assert_int_equal(f, VG_FORMAT_CSV);
  assert_int_equal(vg_format_parse("paxlst", &f), 0);
  assert_int_equal(f, VG_FORMAT_PAXLST);
  assert_int_equal(vg_format_parse("ndjson", &f), 0);
  assert_int_equal(f, VG_FORMAT_NDJSON);
  f = VG_FORMAT_CSV;
  assert_int_equal(vg_format_parse("json", &f), VG_EINVAL);
  assert_int_equal(vg_format_parse("CSV", &f), VG_EINVAL);
  assert_int_equal(vg_format_parse(NULL, &f), VG_EINVAL);
  assert_int_equal(f, VG_FORMAT_CSV);
  assert_string_equal(vg_format_name(VG_FORMAT_PAXLST), "paxlst");
  assert_string_equal(vg_format_name(VG_FORMAT_CSV), "csv");
  assert_string_equal(vg_format_name(VG_FORMAT_NDJSON), "ndjson");
}

static void test_format_detect(void **state) {
  (void)state;
  assert_int_equal(vg_format_detect("a/b/x.csv", "{", 1), VG_FORMAT_CSV);
  assert_int_equal(vg_format_detect("X.CSV", NULL, 0), VG_FORMAT_CSV);
  assert_int_equal(vg_format_detect("f.paxlst", "{", 1), VG_FORMAT_PAXLST);
  assert_int_equal(vg_format_detect("f.EDI", NULL, 0), VG_FORMAT_PAXLST);
  assert_int_equal(vg_format_detect("f.edifact", NULL, 0), VG_FORMAT_PAXLST);
  assert_int_equal(vg_format_detect("f.ndjson", "UNB+", 4), VG_FORMAT_PAXLST);
  assert_int_equal(vg_format_detect("-", "UNA:+.? '", 9), VG_FORMAT_PAXLST);
  assert_int_equal(vg_format_detect(NULL, "\xEF\xBB\xBF \r\n UNB", 10),
                   VG_FORMAT_PAXLST);
  assert_int_equal(vg_format_detect(NULL, "{\"kind\":1}", 10),
                   VG_FORMAT_NDJSON);
  assert_int_equal(vg_format_detect("dir.csv/file", "UN", 2), VG_FORMAT_NDJSON);
  assert_int_equal(vg_format_detect(".csv", NULL, 0), VG_FORMAT_NDJSON);
  assert_int_equal(vg_format_detect(NULL, NULL, 0), VG_FORMAT_NDJSON);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_segment),
      cmocka_unit_test(test_example_flight),
      cmocka_unit_test(test_default_separators_one_line),
      cmocka_unit_test(test_una_custom_separators),
      cmocka_unit_test(test_release_escapes),
      cmocka_unit_test(test_lines_and_spaces_between_segments),
      cmocka_unit_test(test_latin1_interchange),
      cmocka_unit_test(test_several_messages),
      cmocka_unit_test(test_crew_list_and_legs),
      cmocka_unit_test(test_routing_stop_in_one_leg),
      cmocka_unit_test(test_quirks),
      cmocka_unit_test(test_unt_counts),
      cmocka_unit_test(test_cnt_and_unz_counts),
      cmocka_unit_test(test_group_counts),
      cmocka_unit_test(test_missing_unz_and_outside_segments),
      cmocka_unit_test(test_directories_and_types),
      cmocka_unit_test(test_bad_una),
      cmocka_unit_test(test_birth_date_pivot),
      cmocka_unit_test(test_bad_dates),
      cmocka_unit_test(test_bad_departure_time),
      cmocka_unit_test(test_truncated_interchange),
      cmocka_unit_test(test_segment_order),
      cmocka_unit_test(test_warnings_capped),
      cmocka_unit_test(test_damaged_group),
      cmocka_unit_test(test_junk_and_empty),
      cmocka_unit_test(test_overlong_segment),
      cmocka_unit_test(test_ids_stable_across_resends),
      cmocka_unit_test(test_format_names),
      cmocka_unit_test(test_format_detect),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
