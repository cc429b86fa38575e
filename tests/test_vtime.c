/* test_vtime.c - unit tests for engine/vtime.c: civil dates and day
 * numbers, the strict date and RFC 3339 parsers, completed years (ages,
 * 29 February included), days and hours, and formatting. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "vtime.h"

#define US VG_US_PER_SEC
#define DAY VG_US_PER_DAY
#define HOUR (INT64_C(3600) * US)

static uint64_t rng_state = 0xB7E151628AED2A6Bu;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
}

static bool leap(int64_t y) {
  return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int64_t date(const char *s) {
  int64_t us;
  if (!vg_parse_date(s, strlen(s), &us))
    fail_msg("'%s' should parse as a date", s);
  return us;
}

static int64_t datetime(const char *s) {
  int64_t us;
  if (!vg_parse_datetime(s, strlen(s), &us))
    fail_msg("'%s' should parse as a datetime", s);
  return us;
}

static void test_civil_known(void **state) {
  (void)state;
  assert_int_equal(vg_days_from_civil(1970, 1, 1), 0);
  assert_int_equal(vg_days_from_civil(1969, 12, 31), -1);
  assert_int_equal(vg_days_from_civil(1970, 1, 2), 1);
  assert_int_equal(vg_days_from_civil(2000, 3, 1), 11017);
  assert_int_equal(vg_days_from_civil(2026, 1, 1), 20454);
  assert_int_equal(vg_days_from_civil(1600, 1, 1), -135140);
  int64_t y;
  unsigned m, d;
  vg_civil_from_days(-1, &y, &m, &d);
  assert_int_equal(y, 1969);
  assert_int_equal(m, 12);
  assert_int_equal(d, 31);
  vg_civil_from_days(11016, &y, &m, &d);
  assert_int_equal(y, 2000);
  assert_int_equal(m, 2);
  assert_int_equal(d, 29);
}

/* Day numbers and civil dates are inverse over a wide range, and
 * consecutive days are consecutive dates. */
static void test_civil_round_trip(void **state) {
  (void)state;
  int64_t py = 0;
  unsigned pm = 0, pd = 0;
  for (int64_t z = -800000; z <= 800000; z++) {
    int64_t y;
    unsigned m, d;
    vg_civil_from_days(z, &y, &m, &d);
    assert_true(m >= 1 && m <= 12 && d >= 1 && d <= 31);
    if (vg_days_from_civil(y, m, d) != z)
      fail_msg("day %lld -> %lld-%u-%u -> %lld", (long long)z, (long long)y, m,
               d, (long long)vg_days_from_civil(y, m, d));
    if (z > -800000) {
      bool next_day = y == py && m == pm && d == pd + 1;
      bool next_month = y == py && m == pm + 1 && d == 1;
      bool next_year = y == py + 1 && m == 1 && d == 1 && pm == 12 && pd == 31;
      assert_true(next_day || next_month || next_year);
      if (next_month)
        assert_int_equal(pd, pm == 2 ? (leap(py) ? 29 : 28)
                             : (pm == 4 || pm == 6 || pm == 9 || pm == 11)
                                 ? 30
                                 : 31);
    }
    py = y;
    pm = m;
    pd = d;
  }
}

static void test_parse_date(void **state) {
  (void)state;
  assert_int_equal(date("1970-01-01"), 0);
  assert_int_equal(date("2026-01-01"), INT64_C(20454) * DAY);
  assert_int_equal(date("1969-12-31"), -DAY);
  date("2024-02-29");
  date("2000-02-29");
  date("0001-01-01");
  date("9999-12-31");
  static const char *const bad[] = {
      "2026-02-29",  "1900-02-29",  "2026-13-01",  "2026-00-10",
      "2026-01-00",  "2026-04-31",  "2026-1-01",   "2026-01-1",
      "26-01-01",    "2026/01/01",  "20260101",    "",
      "2026-01-01 ", " 2026-01-01", "2026-01-01T", "2026-01-01T00:00:00Z",
      "2026-O1-01",  "+026-01-01",  "-026-01-01",  "2026-01-32",
      "2026-06-31",  "abcd-ef-gh"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int64_t us = 12345;
    if (vg_parse_date(bad[i], strlen(bad[i]), &us))
      fail_msg("'%s' should not parse as a date", bad[i]);
  }
  /* Length is honoured: a valid prefix is not enough, no NUL needed. */
  int64_t us;
  assert_false(vg_parse_date("2026-01-01", 9, &us));
  assert_true(vg_parse_date("2026-01-01xyz", 10, &us));
}

static void test_parse_datetime(void **state) {
  (void)state;
  int64_t base = INT64_C(20454) * DAY; /* 2026-01-01T00:00:00Z */
  assert_int_equal(datetime("2026-01-01T00:00:00Z"), base);
  assert_int_equal(datetime("2026-01-01t00:00:00z"), base);
  assert_int_equal(datetime("2026-01-01 00:00:00Z"), base);
  assert_int_equal(datetime("2026-01-01T01:00:00+01:00"), base);
  assert_int_equal(datetime("2025-12-31T20:30:00-03:30"), base);
  assert_int_equal(datetime("2026-01-01T00:00:00-00:00"), base);
  assert_int_equal(datetime("2026-01-01T12:34:56Z"),
                   base + (12 * 3600 + 34 * 60 + 56) * US);
  assert_int_equal(datetime("2026-01-01T00:00:00.5Z"), base + 500000);
  assert_int_equal(datetime("2026-01-01T00:00:00.000001Z"), base + 1);
  assert_int_equal(datetime("2026-01-01T00:00:00.123456789Z"), base + 123456);
  assert_int_equal(datetime("2026-01-01T05:45:00.25+05:45"), base + 250000);
  /* A leap second counts as the next second. */
  assert_int_equal(datetime("2025-12-31T23:59:60Z"), base);
  assert_int_equal(datetime("1969-12-31T23:59:59Z"), -US);
  assert_int_equal(datetime("1969-12-31T23:59:59.75Z"), -US + 750000);
  static const char *const bad[] = {
      "2026-01-01T00:00:00",        "2026-01-01",
      "2026-01-01T00:00Z",          "2026-01-01T24:00:00Z",
      "2026-01-01T23:60:00Z",       "2026-01-01T23:59:61Z",
      "2026-01-01T00:00:00+24:00",  "2026-01-01T00:00:00+05:60",
      "2026-01-01T00:00:00+0100",   "2026-01-01T00:00:00+01",
      "2026-01-01T00:00:00.Z",      "2026-01-01T00:00:00Zx",
      "2026-01-01X00:00:00Z",       "2026-02-30T00:00:00Z",
      "2026-01-01T0:00:00Z",        "2026-01-01T00:00:00 Z",
      "2026-01-01T00:00:00,5Z",     "",
      "2026-01-01T00:00:00+01:00x", "2026-01-01T00:00:00UTC"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int64_t us;
    if (vg_parse_datetime(bad[i], strlen(bad[i]), &us))
      fail_msg("'%s' should not parse as a datetime", bad[i]);
  }
  int64_t us;
  assert_false(vg_parse_datetime("2026-01-01T00:00:00Z", 19, &us));
}

struct span {
  const char *a, *b;
  int64_t want;
};

static int64_t when(const char *s) {
  return strlen(s) == 10 ? date(s) : datetime(s);
}

static void test_years_between(void **state) {
  (void)state;
  static const struct span cases[] = {
      /* An 18th birthday on the day of departure. */
      {"2008-05-10", "2026-05-10T00:00:00Z", 18},
      {"2008-05-10", "2026-05-10T23:59:59Z", 18},
      {"2008-05-10", "2026-05-09T23:59:59Z", 17},
      {"2008-05-10", "2026-05-10", 18},
      {"2008-05-10", "2026-05-09", 17},
      /* Both ends in UTC. */
      {"2008-05-10", "2026-05-10T01:00:00+03:00", 17},
      {"2008-05-10", "2026-05-09T21:00:00-03:00", 18},
      /* 29 February: older on 1 March in common years, on 29 February in
       * leap years. */
      {"2008-02-29", "2026-02-28", 17},
      {"2008-02-29", "2026-02-28T23:59:59Z", 17},
      {"2008-02-29", "2026-03-01", 18},
      {"2008-02-29", "2028-02-28", 19},
      {"2008-02-29", "2028-02-29", 20},
      {"2008-02-29", "2009-02-28", 0},
      {"2008-02-29", "2009-03-01", 1},
      /* Born on 28 February or 1 March around a leap day. */
      {"2008-02-28", "2026-02-28", 18},
      {"2008-03-01", "2028-02-29", 19},
      {"2008-03-01", "2028-03-01", 20},
      /* Times of day on both ends. */
      {"2000-01-01T12:00:00Z", "2001-01-01T11:59:59Z", 0},
      {"2000-01-01T12:00:00Z", "2001-01-01T12:00:00Z", 1},
      {"2026-01-01", "2026-01-01", 0},
      {"2026-12-31", "2027-01-01", 0},
      {"1900-01-01", "2026-01-01", 126},
      {"1969-07-20", "2026-07-19", 56},
      {"1969-07-20", "2026-07-20", 57},
      /* Backwards: negative, toward zero. */
      {"2026-05-10", "2008-05-10", -18},
      {"2026-05-10", "2008-05-11", -17},
      {"2026-01-01", "2025-06-01", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int64_t got = vg_years_between(when(cases[i].a), when(cases[i].b));
    if (got != cases[i].want)
      fail_msg("years from %s to %s: got %lld, want %lld", cases[i].a,
               cases[i].b, (long long)got, (long long)cases[i].want);
  }
}

/* Completed years against the rule stated plainly, on random dates. */
static void test_years_random(void **state) {
  (void)state;
  for (int i = 0; i < 200000; i++) {
    int64_t da = (int64_t)(rnd() % 60000) - 20000;
    int64_t db = da + (int64_t)(rnd() % 40000);
    int64_t ay, by;
    unsigned am, ad, bm, bd;
    vg_civil_from_days(da, &ay, &am, &ad);
    vg_civil_from_days(db, &by, &bm, &bd);
    int64_t want = by - ay - ((bm < am || (bm == am && bd < ad)) ? 1 : 0);
    int64_t got = vg_years_between(da * DAY, db * DAY);
    if (got != want)
      fail_msg("years from day %lld to %lld: got %lld, want %lld",
               (long long)da, (long long)db, (long long)got, (long long)want);
    assert_int_equal(vg_years_between(db * DAY, da * DAY), -want);
  }
}

static void test_days_and_hours(void **state) {
  (void)state;
  static const struct span days[] = {
      {"2026-01-01T10:00:00Z", "2026-01-03T09:59:59Z", 1},
      {"2026-01-01T10:00:00Z", "2026-01-03T10:00:00Z", 2},
      {"2026-01-01", "2026-01-01", 0},
      {"2026-01-01", "2026-01-02", 1},
      {"2026-02-28", "2026-03-01", 1},
      {"2028-02-28", "2028-03-01", 2},
      {"2026-01-01", "2027-01-01", 365},
      {"2028-01-01", "2029-01-01", 366},
      {"2026-01-01T00:00:00+05:00", "2026-01-01", 0},
      {"2026-01-02", "2026-01-01T00:00:01Z", 0},
      {"2026-01-03", "2026-01-01", -2},
      {"2026-01-03T00:00:00Z", "2026-01-01T00:00:01Z", -1},
  };
  for (size_t i = 0; i < sizeof days / sizeof *days; i++) {
    int64_t got = vg_days_between(when(days[i].a), when(days[i].b));
    if (got != days[i].want)
      fail_msg("days from %s to %s: got %lld, want %lld", days[i].a, days[i].b,
               (long long)got, (long long)days[i].want);
  }
  static const struct span hours[] = {
      {"2026-01-01T10:00:00Z", "2026-01-01T12:59:59Z", 2},
      {"2026-01-01T10:00:00Z", "2026-01-01T13:00:00Z", 3},
      {"2026-01-01T10:00:00Z", "2026-01-01T10:59:59.999999Z", 0},
      {"2026-03-28T12:00:00+01:00", "2026-03-29T12:00:00+02:00", 23},
      {"2026-01-01", "2026-01-02", 24},
      {"2026-01-01T13:00:00Z", "2026-01-01T10:00:01Z", -2},
  };
  for (size_t i = 0; i < sizeof hours / sizeof *hours; i++) {
    int64_t got = vg_hours_between(when(hours[i].a), when(hours[i].b));
    if (got != hours[i].want)
      fail_msg("hours from %s to %s: got %lld, want %lld", hours[i].a,
               hours[i].b, (long long)got, (long long)hours[i].want);
  }
}

static void test_format(void **state) {
  (void)state;
  char out[32];
  assert_int_equal(vg_format_datetime(0, out, sizeof out), 20);
  assert_string_equal(out, "1970-01-01T00:00:00Z");
  vg_format_datetime(datetime("2026-05-10T01:02:03+03:00"), out, sizeof out);
  assert_string_equal(out, "2026-05-09T22:02:03Z");
  assert_int_equal(
      vg_format_datetime(datetime("2026-01-01T00:00:00.5Z"), out, sizeof out),
      27);
  assert_string_equal(out, "2026-01-01T00:00:00.500000Z");
  vg_format_datetime(-1, out, sizeof out);
  assert_string_equal(out, "1969-12-31T23:59:59.999999Z");
  vg_format_datetime(-DAY, out, sizeof out);
  assert_string_equal(out, "1969-12-31T00:00:00Z");
  vg_format_datetime(date("2000-02-29"), out, sizeof out);
  assert_string_equal(out, "2000-02-29T00:00:00Z");
  /* Formatting and parsing are inverse. */
  for (int i = 0; i < 20000; i++) {
    int64_t t = ((int64_t)(rnd() % 4000000) - 2000000) * 1000 * US +
                (i % 2 ? (int64_t)(rnd() % 1000000) : 0);
    size_t n = vg_format_datetime(t, out, sizeof out);
    assert_int_equal(n, strlen(out));
    int64_t back;
    if (!vg_parse_datetime(out, n, &back) || back != t)
      fail_msg("%lld formats as %s, which parses back differently",
               (long long)t, out);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_civil_known),
      cmocka_unit_test(test_civil_round_trip),
      cmocka_unit_test(test_parse_date),
      cmocka_unit_test(test_parse_datetime),
      cmocka_unit_test(test_years_between),
      cmocka_unit_test(test_years_random),
      cmocka_unit_test(test_days_and_hours),
      cmocka_unit_test(test_format),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
