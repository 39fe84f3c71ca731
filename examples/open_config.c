/*
** open_config.c -- the ways to open a store: defaults, a fully filled-in
** KVStoreConfig, read-only, the short kvstore_open, and what a bad setting
** or a file that is not a store does.
*/
#include <kvstore.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_MAIN "open_config.db"
#define DB_PAGES "open_config_pages.db"
#define DB_DELETE "open_config_delete.db"
#define NOT_A_DB "open_config_text.db"
#define MISSING "open_config_missing.db"

static const char *const kFiles[] = {DB_MAIN, DB_PAGES, DB_DELETE, NOT_A_DB,
                                     MISSING};

static void remove_db_files(void) {
  static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
  char path[256];
  size_t i, j;
  for (i = 0; i < sizeof kFiles / sizeof kFiles[0]; i++)
    for (j = 0; j < 4; j++) {
      sprintf(path, "%s%s", kFiles[i], suffix[j]);
      remove(path);
    }
}

static int failures = 0;
#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,     \
              #cond);                                                      \
      failures++;                                                          \
    }                                                                      \
  } while (0)
#define CHECK_RC(expr, want)                                               \
  do {                                                                     \
    int rc_ = (expr);                                                      \
    if (rc_ != (want)) {                                                   \
      fprintf(stderr, "%s:%d: %s returned %d, expected %d\n", __FILE__,    \
              __LINE__, #expr, rc_, (want));                               \
      failures++;                                                          \
    }                                                                      \
  } while (0)
/* Stop here: later steps depend on this one. */
#define REQUIRE_OK(expr)                                                   \
  do {                                                                     \
    int rc_ = (expr);                                                      \
    if (rc_ != KVSTORE_OK) {                                               \
      fprintf(stderr, "%s:%d: %s returned %d: %s\n", __FILE__, __LINE__,   \
              #expr, rc_, kvstore_errmsg(NULL));                           \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

static int file_exists(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f) fclose(f);
  return f != NULL;
}

/*
** Read the 100-byte SQLite header: page size (offset 16, big-endian, 1
** meaning 65536) and the file format write version (offset 18: 1 legacy /
** rollback journal, 2 WAL). Returns 0 if the header cannot be read.
*/
static int read_header(const char *path, long *pageSize, int *walFormat) {
  unsigned char h[100];
  FILE *f = fopen(path, "rb");
  size_t n;
  if (!f) return 0;
  n = fread(h, 1, sizeof h, f);
  fclose(f);
  if (n != sizeof h || memcmp(h, "SQLite format 3", 16) != 0) return 0;
  *pageSize = (long)h[16] << 8 | h[17];
  if (*pageSize == 1) *pageSize = 65536;
  *walFormat = h[18] == 2;
  return 1;
}

static int value_is(KVStore *kv, const char *key, const char *want) {
  void *v = NULL;
  int n = 0, ok;
  if (kvstore_get(kv, key, (int)strlen(key), &v, &n) != KVSTORE_OK) return 0;
  ok = n == (int)strlen(want) && memcmp(v, want, (size_t)n) == 0;
  snkv_free(v);
  return ok;
}

int main(void) {
  KVStore *kv = NULL, *ro = NULL;
  KVColumnFamily *cf = NULL;
  KVStoreConfig cfg;
  long pageSize = 0;
  int wal = 0;

  remove_db_files();
  atexit(remove_db_files);

  /* ---- 1. Default open: NULL config = WAL, NORMAL sync, 4 KiB pages. */
  REQUIRE_OK(kvstore_open_v2(DB_MAIN, &kv, NULL));
  CHECK(kv != NULL);
  REQUIRE_OK(kvstore_put(kv, "greeting", 8, "hello", 5));
  CHECK(file_exists(DB_MAIN "-wal")); /* WAL mode keeps a -wal file */
  CHECK(value_is(kv, "greeting", "hello"));
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);
  CHECK(read_header(DB_MAIN, &pageSize, &wal));
  CHECK(pageSize == 4096);
  CHECK(wal);

  /* ---- 2. Fully configured. Start from {0} and set every field. */
  memset(&cfg, 0, sizeof cfg);
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_FULL;
  cfg.cacheSize = 4000;
  cfg.pageSize = 8192; /* only used when the file is created */
  cfg.readOnly = 0;
  cfg.busyTimeout = 5000;
  cfg.walSizeLimit = 100;
  REQUIRE_OK(kvstore_open_v2(DB_PAGES, &kv, &cfg));
  REQUIRE_OK(kvstore_put(kv, "k", 1, "v", 1));
  CHECK(value_is(kv, "k", "v"));
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);
  CHECK(read_header(DB_PAGES, &pageSize, &wal));
  CHECK(pageSize == 8192);
  CHECK(wal);
  /* pageSize is ignored for an existing file: it keeps its 8 KiB pages. */
  cfg.pageSize = 1024;
  REQUIRE_OK(kvstore_open_v2(DB_PAGES, &kv, &cfg));
  CHECK(value_is(kv, "k", "v"));
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);
  CHECK(read_header(DB_PAGES, &pageSize, &wal));
  CHECK(pageSize == 8192);

  /* A zeroed config means journalMode 0 = KVSTORE_JOURNAL_DELETE. */
  memset(&cfg, 0, sizeof cfg);
  REQUIRE_OK(kvstore_open_v2(DB_DELETE, &kv, &cfg));
  REQUIRE_OK(kvstore_put(kv, "k", 1, "v", 1));
  CHECK(!file_exists(DB_DELETE "-wal"));
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);
  CHECK(read_header(DB_DELETE, &pageSize, &wal));
  CHECK(!wal);

  /* ---- 3. The short form: kvstore_open with just a journal mode. */
  REQUIRE_OK(kvstore_open(DB_MAIN, &kv, KVSTORE_JOURNAL_WAL));
  CHECK(value_is(kv, "greeting", "hello"));

  /* ---- 4. Read-only, while a writer has the same file open. */
  memset(&cfg, 0, sizeof cfg);
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_NORMAL;
  cfg.readOnly = 1;
  REQUIRE_OK(kvstore_open_v2(DB_MAIN, &ro, &cfg));
  CHECK(value_is(ro, "greeting", "hello"));
  CHECK_RC(kvstore_put(ro, "greeting", 8, "bye", 3), KVSTORE_READONLY);
  CHECK_RC(kvstore_delete(ro, "greeting", 8), KVSTORE_READONLY);
  CHECK_RC(kvstore_put_if_absent(ro, "new", 3, "x", 1, 0, NULL),
           KVSTORE_READONLY);
  CHECK_RC(kvstore_clear(ro), KVSTORE_READONLY);
  CHECK(kvstore_cf_create(ro, "nope", &cf) != KVSTORE_OK);
  CHECK(cf == NULL);
  CHECK(value_is(ro, "greeting", "hello"));
  /* The writer's new commits are visible to the read-only handle. */
  REQUIRE_OK(kvstore_put(kv, "later", 5, "seen", 4));
  CHECK(value_is(ro, "later", "seen"));
  CHECK_RC(kvstore_close(ro), KVSTORE_OK);
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);

  /* Read-only on its own, after every writer has gone. */
  REQUIRE_OK(kvstore_open_v2(DB_MAIN, &ro, &cfg));
  CHECK(value_is(ro, "later", "seen"));
  CHECK_RC(kvstore_put(ro, "x", 1, "y", 1), KVSTORE_READONLY);
  CHECK_RC(kvstore_close(ro), KVSTORE_OK);

  /* Read-only never creates a file. */
  ro = (KVStore *)&cfg; /* not NULL, so we see the failure reset it */
  CHECK(kvstore_open_v2(MISSING, &ro, &cfg) != KVSTORE_OK);
  CHECK(ro == NULL);
  CHECK(!file_exists(MISSING));

  /* ---- 5. In-memory store: NULL file name. */
  REQUIRE_OK(kvstore_open_v2(NULL, &kv, NULL));
  REQUIRE_OK(kvstore_put(kv, "mem", 3, "ory", 3));
  CHECK(value_is(kv, "mem", "ory"));
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);

  /* ---- 6. Bad settings are KVSTORE_ERROR and leave *ppKV NULL. */
  memset(&cfg, 0, sizeof cfg);
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.cacheSize = -1;
  kv = (KVStore *)&cfg;
  CHECK_RC(kvstore_open_v2(DB_MAIN, &kv, &cfg), KVSTORE_ERROR);
  CHECK(kv == NULL);
  CHECK(strlen(kvstore_errmsg(NULL)) > 0);

  memset(&cfg, 0, sizeof cfg);
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.pageSize = 3000; /* not a power of two */
  CHECK_RC(kvstore_open_v2(DB_MAIN, &kv, &cfg), KVSTORE_ERROR);
  CHECK(kv == NULL);

  memset(&cfg, 0, sizeof cfg);
  cfg.journalMode = 7; /* no such journal mode */
  CHECK_RC(kvstore_open_v2(DB_MAIN, &kv, &cfg), KVSTORE_ERROR);
  CHECK(kv == NULL);

  memset(&cfg, 0, sizeof cfg);
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = 9; /* no such sync level */
  CHECK_RC(kvstore_open_v2(DB_MAIN, &kv, &cfg), KVSTORE_ERROR);
  CHECK(kv == NULL);

  /* ---- 7. A file that is not a database is refused and left untouched. */
  {
    static const char text[] = "just some text, certainly not a database\n";
    char back[sizeof text];
    FILE *f = fopen(NOT_A_DB, "wb");
    size_t n;
    CHECK(f != NULL);
    if (f) {
      fwrite(text, 1, sizeof text - 1, f);
      fclose(f);
    }
    kv = (KVStore *)&cfg;
    CHECK_RC(kvstore_open_v2(NOT_A_DB, &kv, NULL), KVSTORE_CORRUPT);
    CHECK(kv == NULL);
    CHECK(strlen(kvstore_errmsg(NULL)) > 0);
    f = fopen(NOT_A_DB, "rb");
    CHECK(f != NULL);
    if (f) {
      n = fread(back, 1, sizeof back, f);
      fclose(f);
      CHECK(n == sizeof text - 1 && memcmp(back, text, n) == 0);
    }
  }

  if (failures) {
    fprintf(stderr, "open_config: %d check(s) failed\n", failures);
    return 1;
  }
  printf("open_config: all checks passed\n");
  return 0;
}
