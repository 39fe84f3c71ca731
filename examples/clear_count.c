/*
** clear_count.c -- counting the keys of a column family and wiping one
** in a single step.
*/
#include <kvstore.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_FILE "clear_count.db"

static void remove_db_files(void) {
  remove(DB_FILE);
  remove(DB_FILE "-wal");
  remove(DB_FILE "-shm");
  remove(DB_FILE "-journal");
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
#define REQUIRE_OK(expr)                                                   \
  do {                                                                     \
    int rc_ = (expr);                                                      \
    if (rc_ != KVSTORE_OK) {                                               \
      fprintf(stderr, "%s:%d: %s returned %d\n", __FILE__, __LINE__,       \
              #expr, rc_);                                                 \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

int main(void) {
  KVStore *kv = NULL;
  KVColumnFamily *rate = NULL;
  int64_t n = -1;
  int i, deleted = -1, exists = -1;
  void *v = NULL;
  int nv = 0;

  remove_db_files();
  atexit(remove_db_files);
  REQUIRE_OK(kvstore_open(DB_FILE, &kv, KVSTORE_JOURNAL_WAL));
  REQUIRE_OK(kvstore_cf_create(kv, "rate_limit", &rate));

  CHECK_RC(kvstore_count(kv, &n), KVSTORE_OK);
  CHECK(n == 0);

  /* 5000 keys in the default family, 300 in rate_limit. */
  REQUIRE_OK(kvstore_begin(kv, 1));
  for (i = 0; i < 5000; i++) {
    char k[32];
    int nk = sprintf(k, "item:%05d", i);
    REQUIRE_OK(kvstore_put(kv, k, nk, "some value", 10));
  }
  for (i = 0; i < 300; i++) {
    char k[32];
    int nk = sprintf(k, "client:%d", i);
    REQUIRE_OK(kvstore_cf_put(rate, k, nk, "1", 1));
  }
  REQUIRE_OK(kvstore_commit(kv));

  CHECK_RC(kvstore_count(kv, &n), KVSTORE_OK);
  printf("default CF has %lld entries\n", (long long)n);
  CHECK(n == 5000);
  CHECK_RC(kvstore_cf_count(rate, &n), KVSTORE_OK);
  printf("rate_limit CF has %lld entries\n", (long long)n);
  CHECK(n == 300);

  /* Overwrites do not change the count; deletes do. */
  CHECK_RC(kvstore_put(kv, "item:00000", 10, "new", 3), KVSTORE_OK);
  CHECK_RC(kvstore_delete(kv, "item:00001", 10), KVSTORE_OK);
  CHECK_RC(kvstore_count(kv, &n), KVSTORE_OK);
  CHECK(n == 4999);

  /* Expired keys count until they are purged. */
  CHECK_RC(kvstore_put_ttl(kv, "stale:1", 7, "x", 1, kvstore_now_ms() - 1),
           KVSTORE_OK);
  CHECK_RC(kvstore_put_ttl(kv, "stale:2", 7, "x", 1, kvstore_now_ms() - 1),
           KVSTORE_OK);
  CHECK_RC(kvstore_count(kv, &n), KVSTORE_OK);
  CHECK(n == 5001);
  CHECK_RC(kvstore_purge_expired(kv, NULL), KVSTORE_OK);
  CHECK_RC(kvstore_count(kv, &n), KVSTORE_OK);
  printf("live entries after purge: %lld\n", (long long)n);
  CHECK(n == 4999);

  /* Flush the rate-limit namespace: the default family keeps its keys. */
  CHECK_RC(kvstore_cf_clear(rate), KVSTORE_OK);
  CHECK_RC(kvstore_cf_count(rate, &n), KVSTORE_OK);
  CHECK(n == 0);
  CHECK_RC(kvstore_cf_exists(rate, "client:7", 8, &exists), KVSTORE_OK);
  CHECK(exists == 0);
  CHECK_RC(kvstore_count(kv, &n), KVSTORE_OK);
  CHECK(n == 4999);
  /* A cleared family is immediately usable again. */
  CHECK_RC(kvstore_cf_put(rate, "client:7", 8, "2", 1), KVSTORE_OK);
  CHECK_RC(kvstore_cf_count(rate, &n), KVSTORE_OK);
  CHECK(n == 1);

  /* Wipe the default family, TTL entries included. */
  CHECK_RC(kvstore_put_ttl(kv, "ttl:1", 5, "x", 1, kvstore_now_ms() - 1),
           KVSTORE_OK);
  CHECK_RC(kvstore_clear(kv), KVSTORE_OK);
  CHECK_RC(kvstore_count(kv, &n), KVSTORE_OK);
  CHECK(n == 0);
  CHECK_RC(kvstore_get(kv, "item:04999", 10, &v, &nv), KVSTORE_NOTFOUND);
  CHECK_RC(kvstore_purge_expired(kv, &deleted), KVSTORE_OK);
  CHECK(deleted == 0);
  CHECK_RC(kvstore_put(kv, "fresh", 5, "start", 5), KVSTORE_OK);
  CHECK_RC(kvstore_count(kv, &n), KVSTORE_OK);
  CHECK(n == 1);
  CHECK_RC(kvstore_cf_count(rate, &n), KVSTORE_OK);
  CHECK(n == 1);

  /* clear inside a transaction is undone by rollback. */
  REQUIRE_OK(kvstore_begin(kv, 1));
  CHECK_RC(kvstore_clear(kv), KVSTORE_OK);
  REQUIRE_OK(kvstore_rollback(kv));
  CHECK_RC(kvstore_count(kv, &n), KVSTORE_OK);
  CHECK(n == 1);

  /* Clearing an empty family is fine. */
  CHECK_RC(kvstore_cf_clear(rate), KVSTORE_OK);
  CHECK_RC(kvstore_cf_clear(rate), KVSTORE_OK);

  /* The counts hold after reopening. */
  kvstore_cf_close(rate);
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);
  REQUIRE_OK(kvstore_open(DB_FILE, &kv, KVSTORE_JOURNAL_WAL));
  CHECK_RC(kvstore_count(kv, &n), KVSTORE_OK);
  CHECK(n == 1);
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);

  if (failures) {
    fprintf(stderr, "clear_count: %d check(s) failed\n", failures);
    return 1;
  }
  printf("clear_count: all checks passed\n");
  return 0;
}
