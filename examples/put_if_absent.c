/*
** put_if_absent.c -- a simple lock (or lease) built on the atomic
** conditional insert: whoever inserts the key first holds the lock.
*/
#include <kvstore.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_FILE "put_if_absent.db"

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

/* Try to take the lock for owner; 1 if we got it, 0 if held, -1 on error. */
static int try_lock(KVStore *kv, const char *owner, int64_t expire_ms) {
  int inserted = -1;
  int rc = kvstore_put_if_absent(kv, "lock", 4, owner, (int)strlen(owner),
                                 expire_ms, &inserted);
  if (rc != KVSTORE_OK) {
    fprintf(stderr, "put_if_absent failed (%d): %s\n", rc, kvstore_errmsg(kv));
    return -1;
  }
  printf("%-8s %s\n", owner, inserted ? "acquired lock" : "lock already held");
  return inserted;
}

static int holder_is(KVStore *kv, const char *owner) {
  void *v = NULL;
  int n = 0, ok;
  if (kvstore_get(kv, "lock", 4, &v, &n) != KVSTORE_OK) return 0;
  ok = n == (int)strlen(owner) && memcmp(v, owner, (size_t)n) == 0;
  snkv_free(v);
  return ok;
}

int main(void) {
  KVStore *a = NULL, *b = NULL;
  KVColumnFamily *jobs = NULL;
  int64_t lease, rem = 0;
  int inserted = -1;
  void *v = NULL;
  int n = 0;

  remove_db_files();
  atexit(remove_db_files);
  /* Two independent handles on one file, like two worker processes. */
  REQUIRE_OK(kvstore_open(DB_FILE, &a, KVSTORE_JOURNAL_WAL));
  REQUIRE_OK(kvstore_open(DB_FILE, &b, KVSTORE_JOURNAL_WAL));

  /* ---- A permanent lock: first come, first served. */
  CHECK(try_lock(a, "worker-a", 0) == 1);
  CHECK(try_lock(b, "worker-b", 0) == 0);
  CHECK(try_lock(a, "worker-a", 0) == 0); /* not re-entrant either */
  CHECK(holder_is(b, "worker-a"));        /* the value was not replaced */
  CHECK_RC(kvstore_ttl_remaining(a, "lock", 4, &rem), KVSTORE_OK);
  CHECK(rem == KVSTORE_NO_TTL);
  /* Release = delete; now b can take it. */
  CHECK_RC(kvstore_delete(a, "lock", 4), KVSTORE_OK);
  CHECK(try_lock(b, "worker-b", 0) == 1);
  CHECK(holder_is(a, "worker-b"));
  CHECK_RC(kvstore_delete(b, "lock", 4), KVSTORE_OK);

  /* ---- A lease: the lock frees itself when it expires. */
  lease = kvstore_now_ms() + 150;
  CHECK(try_lock(a, "worker-a", lease) == 1);
  CHECK_RC(kvstore_ttl_remaining(b, "lock", 4, &rem), KVSTORE_OK);
  CHECK(rem > 0 && rem <= 150);
  CHECK(try_lock(b, "worker-b", 0) == 0);
  while (kvstore_now_ms() <= lease + 5) {
    /* wait for the lease to run out */
  }
  CHECK(try_lock(b, "worker-b", 0) == 1); /* expired counts as absent */
  CHECK(holder_is(a, "worker-b"));
  CHECK_RC(kvstore_ttl_remaining(a, "lock", 4, &rem), KVSTORE_OK);
  CHECK(rem == KVSTORE_NO_TTL); /* b took it without a TTL */

  /* pInserted may be NULL. */
  CHECK_RC(kvstore_put_if_absent(a, "sess:1", 6, "tok", 3,
                                 kvstore_now_ms() + 3600 * 1000, NULL),
           KVSTORE_OK);
  CHECK_RC(kvstore_get(b, "sess:1", 6, &v, &n), KVSTORE_OK);
  CHECK(n == 3 && v && memcmp(v, "tok", 3) == 0);
  snkv_free(v);
  CHECK_RC(kvstore_put_if_absent(a, "sess:1", 6, "other", 5, 0, NULL),
           KVSTORE_OK);
  CHECK_RC(kvstore_get(b, "sess:1", 6, &v, &n), KVSTORE_OK);
  CHECK(n == 3 && v && memcmp(v, "tok", 3) == 0);
  snkv_free(v);
  /* A negative expiry time is an error. */
  CHECK_RC(kvstore_put_if_absent(a, "neg", 3, "x", 1, -1, &inserted),
           KVSTORE_ERROR);

  /* ---- The same on a column family: claim each job once. */
  REQUIRE_OK(kvstore_cf_create(a, "jobs", &jobs));
  CHECK_RC(kvstore_cf_put_if_absent(jobs, "job:7", 5, "a", 1, 0, &inserted),
           KVSTORE_OK);
  CHECK(inserted == 1);
  CHECK_RC(kvstore_cf_put_if_absent(jobs, "job:7", 5, "b", 1, 0, &inserted),
           KVSTORE_OK);
  CHECK(inserted == 0);
  CHECK_RC(kvstore_cf_get(jobs, "job:7", 5, &v, &n), KVSTORE_OK);
  CHECK(n == 1 && v && memcmp(v, "a", 1) == 0);
  snkv_free(v);
  /* The default family has no job:7: column families are separate. */
  CHECK_RC(kvstore_put_if_absent(a, "job:7", 5, "d", 1, 0, &inserted),
           KVSTORE_OK);
  CHECK(inserted == 1);
  kvstore_cf_close(jobs);

  CHECK_RC(kvstore_close(b), KVSTORE_OK);
  CHECK_RC(kvstore_close(a), KVSTORE_OK);

  if (failures) {
    fprintf(stderr, "put_if_absent: %d check(s) failed\n", failures);
    return 1;
  }
  printf("put_if_absent: all checks passed\n");
  return 0;
}
