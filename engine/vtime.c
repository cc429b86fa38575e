/* vtime.c - calendar arithmetic: civil dates to day numbers and back,
 * strict parsers for dates and RFC 3339 datetimes, completed-unit spans. */
#include "vtime.h"

#include <stdio.h>

int64_t vg_days_from_civil(int64_t y, unsigned m, unsigned d) {
  /* Shift the year to start in March so the leap day ends it. */
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void vg_civil_from_days(int64_t z, int64_t *year, unsigned *month,
                        unsigned *day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const unsigned d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
  const unsigned m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
  *year = yoe + era * 400 + (m <= 2);
  *month = m;
  *day = d;
}

static bool digits(const char *s, size_t n, int *value) {
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (s[i] - '0');
  }
  *value = v;
  return true;
}

static unsigned days_in_month(int year, unsigned month) {
  static const unsigned days[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  if (month == 2 && (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
    return 29;
  return days[month - 1];
}

static bool parse_ymd(const char *s, int64_t *days) {
  int y, m, d;
  if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) ||
      s[7] != '-' || !digits(s + 8, 2, &d))
    return false;
  if (m < 1 || m > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)m))
    return false;
  *days = vg_days_from_civil(y, (unsigned)m, (unsigned)d);
  return true;
}

bool vg_parse_date(const char *s, size_t len, int64_t *us) {
  int64_t days;
  if (len != 10 || !parse_ymd(s, &days))
    return false;
  *us = days * VG_US_PER_DAY;
  return true;
}

bool vg_parse_datetime(const char *s, size_t len, int64_t *us) {
  int64_t days;
  int hh, mm, ss;
  if (len < 20 || !parse_ymd(s, &days))
    return false;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
    return false;
  if (!digits(s + 11, 2, &hh) || s[13] != ':' || !digits(s + 14, 2, &mm) ||
      s[16] != ':' || !digits(s + 17, 2, &ss))
    return false;
  /* A leap second (:60) is accepted and counted as the next second. */
  if (hh > 23 || mm > 59 || ss > 60)
    return false;
  size_t i = 19;
  int64_t frac_us = 0;
  if (i < len && s[i] == '.') {
    i++;
    size_t start = i;
    int64_t scale = 100000;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
      frac_us += (s[i] - '0') * scale;
      scale /= 10;
      i++;
    }
    if (i == start)
      return false;
  }
  if (i >= len)
    return false;
  int64_t offset_s = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    i++;
  } else if (s[i] == '+' || s[i] == '-') {
    int oh, om;
    if (len - i != 6 || !digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
        !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
      return false;
    offset_s = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return false;
  }
  if (i != len)
    return false;
  int64_t secs = days * 86400 + hh * 3600 + mm * 60 + ss - offset_s;
  *us = secs * VG_US_PER_SEC + frac_us;
  return true;
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

/* Completed years from a to b with a <= b. */
static int64_t years_forward(int64_t a_us, int64_t b_us) {
  int64_t ad = floor_div(a_us, VG_US_PER_DAY),
          bd = floor_div(b_us, VG_US_PER_DAY);
  int64_t at = a_us - ad * VG_US_PER_DAY, bt = b_us - bd * VG_US_PER_DAY;
  int64_t ay, by;
  unsigned am, aday, bm, bday;
  vg_civil_from_days(ad, &ay, &am, &aday);
  vg_civil_from_days(bd, &by, &bm, &bday);
  int64_t years = by - ay;
  /* Not yet the anniversary: earlier month, day or time of day. A 29
   * February start reaches its anniversary on 1 March in common years,
   * which this ordering gives without a special case. */
  if (bm < am || (bm == am && (bday < aday || (bday == aday && bt < at))))
    years--;
  return years;
}

int64_t vg_years_between(int64_t a_us, int64_t b_us) {
  return b_us >= a_us ? years_forward(a_us, b_us) : -years_forward(b_us, a_us);
}

int64_t vg_days_between(int64_t a_us, int64_t b_us) {
  return (b_us - a_us) / VG_US_PER_DAY;
}

int64_t vg_hours_between(int64_t a_us, int64_t b_us) {
  return (b_us - a_us) / (3600 * VG_US_PER_SEC);
}

size_t vg_format_datetime(int64_t us, char *out, size_t cap) {
  int64_t days = floor_div(us, VG_US_PER_DAY);
  int64_t rest = us - days * VG_US_PER_DAY;
  int64_t y;
  unsigned m, d;
  vg_civil_from_days(days, &y, &m, &d);
  int64_t secs = rest / VG_US_PER_SEC, frac = rest % VG_US_PER_SEC;
  int n;
  if (frac)
    n = snprintf(out, cap, "%04lld-%02u-%02uT%02d:%02d:%02d.%06lldZ",
                 (long long)y, m, d, (int)(secs / 3600), (int)(secs / 60 % 60),
                 (int)(secs % 60), (long long)frac);
  else
    n = snprintf(out, cap, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m,
                 d, (int)(secs / 3600), (int)(secs / 60 % 60),
                 (int)(secs % 60));
  return n < 0 ? 0 : (size_t)n;
}
