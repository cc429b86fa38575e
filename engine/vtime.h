/* vtime.h - calendar arithmetic for dates and RFC 3339 datetimes, all in
 * UTC microseconds since 1970-01-01T00:00:00Z. */
#ifndef VG_VTIME_H
#define VG_VTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VG_US_PER_SEC INT64_C(1000000)
#define VG_US_PER_DAY (INT64_C(86400) * VG_US_PER_SEC)

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
int64_t vg_days_from_civil(int64_t year, unsigned month, unsigned day);
void vg_civil_from_days(int64_t days, int64_t *year, unsigned *month,
                        unsigned *day);

/* "YYYY-MM-DD", strictly (a real calendar day). Sets *us to its midnight
 * UTC. Returns false when s is not such a date. */
bool vg_parse_date(const char *s, size_t len, int64_t *us);
/* RFC 3339: "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" ('T' or 't' or a
 * space; 'Z' or 'z'). Returns false otherwise. */
bool vg_parse_datetime(const char *s, size_t len, int64_t *us);

/* Completed calendar years from a to b (an age), completed days, completed
 * hours; negative when b is before a (truncated toward zero). */
int64_t vg_years_between(int64_t a_us, int64_t b_us);
int64_t vg_days_between(int64_t a_us, int64_t b_us);
int64_t vg_hours_between(int64_t a_us, int64_t b_us);

/* Writes t as "YYYY-MM-DDTHH:MM:SSZ" (".ffffffZ" when it has a fraction).
 * Returns the length written (at most 31; cap must be >= 32). */
size_t vg_format_datetime(int64_t us, char *out, size_t cap);

#endif
