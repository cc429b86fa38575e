/* test_ndjson.c - the NDJSON record source: line splitting across block
 * boundaries, CRLF, blank lines, BOM, oversize lines and I/O errors. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"
#include "vg_error.h"

/* One item as read, with its text copied out of the source's buffer. */
struct got {
  enum vg_item_type type;
  long line;
  char where[96];
  char reason[320];
  char *text; /* json for a record, raw for a reject */
  size_t len;
};

struct got_list {
  struct got *items;
  size_t count;
  int rc; /* the final vg_source_next return */
};

static void got_free(struct got_list *list) {
  for (size_t i = 0; i < list->count; i++)
    free(list->items[i].text);
  free(list->items);
}

/* Reads every item of the stream and the final return code. */
static struct got_list read_all(FILE *in, size_t max) {
  struct got_list list = {0};
  struct vg_source *src = vg_source_ndjson_new(in, "input.ndjson", max);
  assert_non_null(src);
  assert_string_equal(src->name, "input.ndjson");
  size_t cap = 0;
  struct vg_source_item item;
  int rc;
  while ((rc = vg_source_next(src, &item)) == 1) {
    if (list.count == cap) {
      cap = cap ? cap * 2 : 16;
      list.items = realloc(list.items, cap * sizeof *list.items);
      assert_non_null(list.items);
    }
    struct got *g = &list.items[list.count++];
    g->type = item.type;
    g->line = item.line;
    snprintf(g->where, sizeof g->where, "%s", item.where);
    snprintf(g->reason, sizeof g->reason, "%s", item.reason);
    const char *text = item.type == VG_ITEM_RECORD ? item.json : item.raw;
    g->len = item.type == VG_ITEM_RECORD ? item.json_len : item.raw_len;
    g->text = malloc(g->len + 1);
    assert_non_null(g->text);
    memcpy(g->text, text, g->len);
    g->text[g->len] = '\0';
    if (item.type == VG_ITEM_RECORD)
      assert_null(item.raw);
  }
  list.rc = rc;
  /* The end is sticky. */
  assert_int_equal(vg_source_next(src, &item), rc);
  vg_source_free(src);
  return list;
}

static struct got_list read_text(const char *text, size_t len, size_t max) {
  FILE *in = tmpfile();
  assert_non_null(in);
  if (len)
    assert_int_equal(fwrite(text, 1, len, in), len);
  rewind(in);
  struct got_list list = read_all(in, max);
  fclose(in);
  return list;
}

static void assert_record(const struct got *g, long line, const char *json) {
  if (g->type != VG_ITEM_RECORD || g->line != line || strcmp(g->text, json))
    print_error("got type %d line %ld \"%s\", expected line %ld \"%s\"\n",
                g->type, g->line, g->text, line, json);
  assert_int_equal(g->type, VG_ITEM_RECORD);
  assert_int_equal(g->line, line);
  assert_int_equal(g->len, strlen(json));
  assert_string_equal(g->text, json);
  char where[32];
  snprintf(where, sizeof where, "line %ld", line);
  assert_string_equal(g->where, where);
}

static void test_lines(void **state) {
  (void)state;
  const char *text = "{\"a\":1}\n\n   \n{\"b\":2}\r\n\t\r\n \t \n"
                     "  {\"c\":3}  \n{\"d\":4}";
  struct got_list l = read_text(text, strlen(text), 1000);
  assert_int_equal(l.rc, 0);
  assert_int_equal(l.count, 4);
  assert_record(&l.items[0], 1, "{\"a\":1}");
  assert_record(&l.items[1], 4, "{\"b\":2}");
  assert_record(&l.items[2], 7, "  {\"c\":3}  ");
  assert_record(&l.items[3], 8, "{\"d\":4}"); /* no final newline */
  got_free(&l);

  /* Only one '\r' is stripped; a bare '\r' mid-line stays. */
  text = "{}\r\r\n{\"a\r\":1}\n\r\n\r";
  l = read_text(text, strlen(text), 1000);
  assert_int_equal(l.count, 2);
  assert_record(&l.items[0], 1, "{}\r");
  assert_record(&l.items[1], 2, "{\"a\r\":1}");
  got_free(&l);

  /* A record that is not JSON is still a line: the scanner judges it. */
  text = "not json\n";
  l = read_text(text, strlen(text), 1000);
  assert_int_equal(l.count, 1);
  assert_record(&l.items[0], 1, "not json");
  got_free(&l);

  /* NUL bytes are passed through with the line. */
  l = read_text("{\"a\0\"}\n", 7, 1000);
  assert_int_equal(l.count, 1);
  assert_int_equal(l.items[0].len, 6);
  assert_memory_equal(l.items[0].text, "{\"a\0\"}", 6);
  got_free(&l);
}

static void test_empty(void **state) {
  (void)state;
  struct got_list l = read_text("", 0, 1000);
  assert_int_equal(l.rc, 0);
  assert_int_equal(l.count, 0);
  got_free(&l);
  l = read_text("\n\n\r\n  \n", 7, 1000);
  assert_int_equal(l.count, 0);
  got_free(&l);
  l = read_text("\xEF\xBB\xBF", 3, 1000);
  assert_int_equal(l.count, 0);
  got_free(&l);
  /* From memory, too. */
  char one = '\n';
  FILE *in = fmemopen(&one, 1, "r");
  assert_non_null(in);
  l = read_all(in, 1000);
  fclose(in);
  assert_int_equal(l.rc, 0);
  assert_int_equal(l.count, 0);
  got_free(&l);
}

static void test_bom(void **state) {
  (void)state;
  const char *text = "\xEF\xBB\xBF{\"a\":1}\n\xEF\xBB\xBF{}\n";
  struct got_list l = read_text(text, strlen(text), 1000);
  assert_int_equal(l.count, 2);
  assert_record(&l.items[0], 1, "{\"a\":1}");
  /* Only the start of the stream may carry a BOM. */
  assert_record(&l.items[1], 2, "\xEF\xBB\xBF{}");
  got_free(&l);

  text = "\xEF\xBB\xBF\r\n{}";
  l = read_text(text, strlen(text), 1000);
  assert_int_equal(l.count, 1);
  assert_record(&l.items[0], 2, "{}");
  got_free(&l);

  /* A BOM does not count against the limit. */
  text = "\xEF\xBB\xBF{\"a\":1}";
  l = read_text(text, strlen(text), 7);
  assert_int_equal(l.count, 1);
  assert_record(&l.items[0], 1, "{\"a\":1}");
  got_free(&l);
}

static void assert_reject(const struct got *g, long line, size_t max,
                          const char *raw_start, size_t raw_len) {
  assert_int_equal(g->type, VG_ITEM_REJECT);
  assert_int_equal(g->line, line);
  char where[32], reason[96];
  snprintf(where, sizeof where, "line %ld", line);
  assert_string_equal(g->where, where);
  snprintf(reason, sizeof reason, "record larger than the limit of %zu bytes",
           max);
  assert_string_equal(g->reason, reason);
  assert_int_equal(g->len, raw_len);
  assert_memory_equal(g->text, raw_start, raw_len);
}

static void test_oversize(void **state) {
  (void)state;
  /* Exactly the limit passes (with or without '\r'); one more fails. */
  const char *text = "{\"a\":\"1\"}\n{\"a\":\"12\"}\n{\"a\":\"1\"}\r\n"
                     "{\"a\":\"12\"}\r\n{\"b\":1}";
  struct got_list l = read_text(text, strlen(text), 9);
  assert_int_equal(l.count, 5);
  assert_record(&l.items[0], 1, "{\"a\":\"1\"}");
  assert_reject(&l.items[1], 2, 9, "{\"a\":\"12\"}", 10);
  assert_record(&l.items[2], 3, "{\"a\":\"1\"}");
  assert_reject(&l.items[3], 4, 9, "{\"a\":\"12\"}", 10);
  assert_record(&l.items[4], 5, "{\"b\":1}");
  got_free(&l);

  /* Lines far longer than the buffer: rejected with their first 4096
   * bytes, the rest skipped, and the next line numbered right. */
  size_t big = 3u << 20;
  char *buf = malloc(big + 20000);
  assert_non_null(buf);
  size_t n = 0;
  n += (size_t)snprintf(buf + n, 200, "{\"first\":1}\n{\"s\":\"");
  size_t long_start = strlen("{\"first\":1}\n");
  for (size_t i = 0; i < big; i++)
    buf[n++] = (char)('a' + i % 26);
  n += (size_t)snprintf(buf + n, 200, "\"}\r\n\n{\"next\":2}\n");
  size_t tail_start = n;
  for (size_t i = 0; i < 10000; i++)
    buf[n++] = 'z';
  l = read_text(buf, n, 100);
  assert_int_equal(l.rc, 0);
  assert_int_equal(l.count, 4);
  assert_record(&l.items[0], 1, "{\"first\":1}");
  assert_reject(&l.items[1], 2, 100, buf + long_start, VG_RAW_EXCERPT);
  assert_record(&l.items[2], 4, "{\"next\":2}");
  /* An oversize last line without a newline. */
  assert_reject(&l.items[3], 5, 100, buf + tail_start, VG_RAW_EXCERPT);
  got_free(&l);

  /* Too long but shorter than the excerpt: raw is the whole line. */
  memset(buf, 'x', 3000);
  memcpy(buf + 3000, "\n{}\n", 4);
  l = read_text(buf, 3004, 100);
  assert_int_equal(l.count, 2);
  assert_reject(&l.items[0], 1, 100, buf, 3000);
  assert_record(&l.items[1], 2, "{}");
  got_free(&l);

  /* A long line within a large limit makes the buffer grow past one
   * block and comes back whole. */
  n = (size_t)snprintf(buf, 100, "{}\n{\"s\":\"");
  size_t rec_start = 3;
  for (size_t i = 0; i < (3u << 20) - 20; i++)
    buf[n++] = (char)('a' + i % 26);
  n += (size_t)snprintf(buf + n, 100, "\"}\n{}");
  size_t rec_len = n - 3 - rec_start;
  l = read_text(buf, n, 3u << 20);
  assert_int_equal(l.count, 3);
  assert_record(&l.items[0], 1, "{}");
  assert_int_equal(l.items[1].type, VG_ITEM_RECORD);
  assert_int_equal(l.items[1].line, 2);
  assert_int_equal(l.items[1].len, rec_len);
  assert_memory_equal(l.items[1].text, buf + rec_start, rec_len);
  assert_record(&l.items[2], 3, "{}");
  got_free(&l);
  free(buf);
}

/* Many lines of every length up to max_line, blank ones and CRLF ones
 * among them, come back exactly, whatever block boundary they straddle.
 * A small limit keeps the buffer small (4 KiB), so boundaries are many. */
static void check_many_lines(size_t max_line, size_t limit, size_t total) {
  size_t max = max_line;
  char *buf = malloc(total + max + 16);
  assert_non_null(buf);
  size_t n = 0, nlines = 0;
  size_t *starts = malloc((total + 1) * sizeof *starts);
  size_t *lens = malloc((total + 1) * sizeof *lens);
  long *lines = malloc((total + 1) * sizeof *lines);
  assert_true(starts && lens && lines);
  size_t expected = 0;
  uint32_t rng = 12345;
  while (n < total) {
    rng = rng * 1103515245u + 12345u;
    nlines++;
    unsigned kind = (rng >> 16) % 10;
    if (kind == 0) { /* blank */
      buf[n++] = '\n';
      continue;
    }
    size_t len = 1 + (rng >> 8) % max;
    if (kind == 1 || kind == 3)
      len = max; /* exactly at the limit */
    starts[expected] = n;
    lens[expected] = len;
    lines[expected] = (long)nlines;
    expected++;
    buf[n++] = '{';
    for (size_t i = 1; i < len; i++, n++)
      buf[n] = (char)('0' + (n + i) % 10);
    if (kind == 2 || kind == 3)
      buf[n++] = '\r';
    buf[n++] = '\n';
  }
  struct got_list l = read_text(buf, n, limit);
  assert_int_equal(l.rc, 0);
  assert_int_equal(l.count, expected);
  for (size_t i = 0; i < expected; i++) {
    assert_int_equal(l.items[i].type, VG_ITEM_RECORD);
    assert_int_equal(l.items[i].line, lines[i]);
    assert_int_equal(l.items[i].len, lens[i]);
    assert_memory_equal(l.items[i].text, buf + starts[i], lens[i]);
  }
  got_free(&l);
  free(lines);
  free(lens);
  free(starts);
  free(buf);
}

static void test_block_boundaries(void **state) {
  (void)state;
  check_many_lines(100, 100, 200000);
  check_many_lines(4000, 4000, 300000);
  /* Here the buffer is exactly limit + 2 bytes: a line at the limit with
   * "\r\n" fills it. */
  check_many_lines(5000, 5000, 300000);
  /* The default limit: 1 MiB blocks, crossed three times. */
  check_many_lines(1000, 1u << 20, 3500000);
}

static void test_io_error(void **state) {
  (void)state;
  /* A stream opened for writing cannot be read: fread fails. */
  FILE *out = fopen("/dev/null", "w");
  assert_non_null(out);
  struct vg_source *src = vg_source_ndjson_new(out, NULL, 1000);
  assert_non_null(src);
  assert_string_equal(src->name, "-");
  struct vg_source_item item;
  assert_int_equal(vg_source_next(src, &item), VG_EIO);
  assert_int_equal(vg_source_next(src, &item), VG_EIO);
  vg_source_free(src);
  fclose(out);
  vg_source_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lines),
      cmocka_unit_test(test_empty),
      cmocka_unit_test(test_bom),
      cmocka_unit_test(test_oversize),
      cmocka_unit_test(test_block_boundaries),
      cmocka_unit_test(test_io_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
