/* testutil.c - small helpers shared by the unit tests. */
#include "testutil.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char *vgt_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (got == 0)
      break;
    if (n + 1 == cap) {
      char *bigger = realloc(buf, cap * 2);
      if (!bigger) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf) {
    buf[n] = '\0';
    if (len)
      *len = n;
  }
  return buf;
}

static int make_parents(const char *path) {
  char copy[4096];
  snprintf(copy, sizeof copy, "%s", path);
  for (char *p = copy + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(copy, 0700) != 0 && errno != EEXIST)
      return -1;
    *p = '/';
  }
  return 0;
}

int vgt_write_file(const char *path, const char *text) {
  if (make_parents(path) != 0)
    return -1;
  FILE *f = fopen(path, "wb");
  if (!f)
    return -1;
  size_t len = strlen(text);
  int rc = fwrite(text, 1, len, f) == len ? 0 : -1;
  if (fclose(f) != 0)
    rc = -1;
  return rc;
}

char *vgt_tempdir(void) {
  char tmpl[] = "/tmp/vgtest.XXXXXX";
  char *dir = mkdtemp(tmpl);
  return dir ? strdup(dir) : NULL;
}

void vgt_rmtree(const char *path) {
  char cmd[4200];
  if (!path || strncmp(path, "/tmp/", 5) != 0)
    return;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", path);
}

int vgt_run(const char *command, char **out) {
  FILE *p = popen(command, "r");
  if (!p)
    return -1;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
    n += got;
    if (n + 1 == cap) {
      char *bigger = realloc(buf, cap * 2);
      if (!bigger) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
  }
  int status = pclose(p);
  if (buf)
    buf[n] = '\0';
  if (out)
    *out = buf;
  else
    free(buf);
  if (status == -1 || !WIFEXITED(status))
    return -1;
  return WEXITSTATUS(status);
}

json_t *vgt_json_at(json_t *obj, const char *path) {
  char key[128];
  const char *p = path;
  while (obj && *p) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    snprintf(key, sizeof key, "%.*s", (int)n, p);
    obj = json_object_get(obj, key);
    p = dot ? dot + 1 : p + n;
  }
  return obj;
}

const char *vgt_json_str(json_t *obj, const char *path) {
  json_t *v = vgt_json_at(obj, path);
  if (!v)
    return "(absent)";
  assert_true(json_is_string(v));
  return json_string_value(v);
}

int64_t vgt_sql_int(const char *path, const char *sql) {
  sqlite3 *db;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}
