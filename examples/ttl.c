/*
** ttl.c -- keys that expire: put_ttl, get_ttl, ttl_remaining and
** purge_expired, on the default column family and on a named one.
*/
#include <kvstore.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_FILE "ttl.db"

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

/* Wait (portably, by polling the store's clock) until time t has passed. */
static void wait_until(int64_t t) {
  while (kvstore_now_ms() <= t) {
  }
}

int main(void) {
  const int64_t minute = 60 * 1000;
  KVStore *kv = NULL;
  KVColumnFamily *cfA = NULL, *cfB = NULL;
  KVIterator *it = NULL;
  void *v = NULL;
  int n = 0, exists = -1, deleted = -1;
  int64_t now, exp, rem = 0, count = -1;

  remove_db_files();
  atexit(remove_db_files);
  REQUIRE_OK(kvstore_open(DB_FILE, &kv, KVSTORE_JOURNAL_WAL));

  /* The clock is milliseconds since the Unix epoch (after 2020-01-01). */
  now = kvstore_now_ms();
  CHECK(now > (int64_t)1577836800000LL);

  /* ---- A session token that lives for 30 minutes. */
  exp = kvstore_now_ms() + 30 * minute;
  CHECK_RC(kvstore_put_ttl(kv, "sess:abc", 8, "token-123", 9, exp),
           KVSTORE_OK);
  rem = 0;
  CHECK_RC(kvstore_get_ttl(kv, "sess:abc", 8, &v, &n, &rem), KVSTORE_OK);
  CHECK(n == 9 && v && memcmp(v, "token-123", 9) == 0);
  CHECK(rem > 29 * minute && rem <= 30 * minute);
  printf("sess:abc expires in %lld ms\n", (long long)rem);
  snkv_free(v);
  /* pnRemaining may be NULL; plain get works on TTL keys too. */
  CHECK_RC(kvstore_get_ttl(kv, "sess:abc", 8, &v, &n, NULL), KVSTORE_OK);
  snkv_free(v);
  CHECK_RC(kvstore_get(kv, "sess:abc", 8, &v, &n), KVSTORE_OK);
  snkv_free(v);
  rem = 0;
  CHECK_RC(kvstore_ttl_remaining(kv, "sess:abc", 8, &rem), KVSTORE_OK);
  CHECK(rem > 29 * minute && rem <= 30 * minute);

  /* ---- Keys without expiry report KVSTORE_NO_TTL. */
  CHECK_RC(kvstore_put(kv, "forever", 7, "x", 1), KVSTORE_OK);
  CHECK_RC(kvstore_ttl_remaining(kv, "forever", 7, &rem), KVSTORE_OK);
  CHECK(rem == KVSTORE_NO_TTL);
  CHECK_RC(kvstore_get_ttl(kv, "forever", 7, &v, &n, &rem), KVSTORE_OK);
  CHECK(rem == KVSTORE_NO_TTL);
  snkv_free(v);
  /* expire_ms 0 also means "never". */
  CHECK_RC(kvstore_put_ttl(kv, "zero", 4, "x", 1, 0), KVSTORE_OK);
  CHECK_RC(kvstore_ttl_remaining(kv, "zero", 4, &rem), KVSTORE_OK);
  CHECK(rem == KVSTORE_NO_TTL);
  /* A plain put over a TTL key removes the expiry. */
  CHECK_RC(kvstore_put_ttl(kv, "renew", 5, "x", 1, now + minute), KVSTORE_OK);
  CHECK_RC(kvstore_put(kv, "renew", 5, "y", 1), KVSTORE_OK);
  CHECK_RC(kvstore_ttl_remaining(kv, "renew", 5, &rem), KVSTORE_OK);
  CHECK(rem == KVSTORE_NO_TTL);
  /* Missing keys. */
  CHECK_RC(kvstore_ttl_remaining(kv, "missing", 7, &rem), KVSTORE_NOTFOUND);
  CHECK_RC(kvstore_get_ttl(kv, "missing", 7, &v, &n, &rem), KVSTORE_NOTFOUND);
  /* A negative expiry time is an error. */
  CHECK_RC(kvstore_put_ttl(kv, "neg", 3, "x", 1, -5), KVSTORE_ERROR);

  /* ---- Expiry in real time: a key with a 100 ms lifetime. */
  exp = kvstore_now_ms() + 100;
  CHECK_RC(kvstore_put_ttl(kv, "short", 5, "lived", 5, exp), KVSTORE_OK);
  CHECK_RC(kvstore_exists(kv, "short", 5, &exists), KVSTORE_OK);
  CHECK(exists == 1);
  wait_until(exp + 5);
  CHECK_RC(kvstore_exists(kv, "short", 5, &exists), KVSTORE_OK);
  CHECK(exists == 0);
  CHECK_RC(kvstore_get(kv, "short", 5, &v, &n), KVSTORE_NOTFOUND);
  CHECK_RC(kvstore_delete(kv, "short", 5), KVSTORE_NOTFOUND);

  /* ---- ttl_remaining on a key that has just expired: 0, then gone. */
  CHECK_RC(kvstore_put_ttl(kv, "past", 4, "x", 1, now - 1000), KVSTORE_OK);
  rem = 12345;
  CHECK_RC(kvstore_ttl_remaining(kv, "past", 4, &rem), KVSTORE_OK);
  CHECK(rem == 0);
  CHECK_RC(kvstore_ttl_remaining(kv, "past", 4, &rem), KVSTORE_NOTFOUND);

  /* ---- purge_expired removes expired keys in one go. */
  CHECK_RC(kvstore_clear(kv), KVSTORE_OK);
  CHECK_RC(kvstore_put_ttl(kv, "old:1", 5, "x", 1, now - 3), KVSTORE_OK);
  CHECK_RC(kvstore_put_ttl(kv, "old:2", 5, "x", 1, now - 2), KVSTORE_OK);
  CHECK_RC(kvstore_put_ttl(kv, "old:3", 5, "x", 1, 1), KVSTORE_OK);
  CHECK_RC(kvstore_put_ttl(kv, "new:1", 5, "x", 1, now + minute),
           KVSTORE_OK);
  CHECK_RC(kvstore_put(kv, "plain", 5, "x", 1), KVSTORE_OK);
  /* count includes expired keys not yet purged... */
  CHECK_RC(kvstore_count(kv, &count), KVSTORE_OK);
  CHECK(count == 5);
  /* ...iterators already skip them. */
  {
    int seen = 0;
    REQUIRE_OK(kvstore_iterator_create(kv, &it));
    CHECK_RC(kvstore_iterator_first(it), KVSTORE_OK);
    while (!kvstore_iterator_eof(it)) {
      void *k = NULL;
      int nk = 0;
      CHECK_RC(kvstore_iterator_key(it, &k, &nk), KVSTORE_OK);
      CHECK(!(nk == 5 && memcmp(k, "old:", 4) == 0));
      seen++;
      CHECK_RC(kvstore_iterator_next(it), KVSTORE_OK);
      if (seen > 10) break;
    }
    kvstore_iterator_close(it);
    CHECK(seen == 2);
  }
  CHECK_RC(kvstore_purge_expired(kv, &deleted), KVSTORE_OK);
  CHECK(deleted == 3);
  printf("purged %d expired keys\n", deleted);
  CHECK_RC(kvstore_count(kv, &count), KVSTORE_OK);
  CHECK(count == 2);
  CHECK_RC(kvstore_purge_expired(kv, &deleted), KVSTORE_OK);
  CHECK(deleted == 0);
  CHECK_RC(kvstore_purge_expired(kv, NULL), KVSTORE_OK);

  /* ---- Column families keep independent TTL state. */
  REQUIRE_OK(kvstore_cf_create(kv, "cache_a", &cfA));
  REQUIRE_OK(kvstore_cf_create(kv, "cache_b", &cfB));
  CHECK_RC(kvstore_cf_put_ttl(cfA, "k1", 2, "a1", 2, now - 10), KVSTORE_OK);
  CHECK_RC(kvstore_cf_put_ttl(cfA, "k2", 2, "a2", 2, now + minute),
           KVSTORE_OK);
  CHECK_RC(kvstore_cf_put_ttl(cfB, "k1", 2, "b1", 2, now - 10), KVSTORE_OK);
  CHECK_RC(kvstore_cf_put_ttl(cfB, "k3", 2, "b3", 2, now - 10), KVSTORE_OK);
  CHECK_RC(kvstore_cf_get_ttl(cfA, "k2", 2, &v, &n, &rem), KVSTORE_OK);
  CHECK(n == 2 && v && memcmp(v, "a2", 2) == 0);
  CHECK(rem > 0 && rem <= minute);
  snkv_free(v);
  CHECK_RC(kvstore_cf_ttl_remaining(cfA, "k2", 2, &rem), KVSTORE_OK);
  CHECK(rem > 0 && rem <= minute);
  CHECK_RC(kvstore_cf_purge_expired(cfA, &deleted), KVSTORE_OK);
  CHECK(deleted == 1);
  CHECK_RC(kvstore_cf_count(cfA, &count), KVSTORE_OK);
  CHECK(count == 1);
  CHECK_RC(kvstore_cf_count(cfB, &count), KVSTORE_OK);
  CHECK(count == 2); /* purging A left B alone */
  CHECK_RC(kvstore_cf_get_ttl(cfB, "k1", 2, &v, &n, NULL), KVSTORE_NOTFOUND);
  CHECK_RC(kvstore_cf_ttl_remaining(cfB, "k3", 2, &rem), KVSTORE_OK);
  CHECK(rem == 0); /* just expired: deleted now */
  CHECK_RC(kvstore_cf_count(cfB, &count), KVSTORE_OK);
  CHECK(count == 0); /* k1 by get_ttl, k3 by ttl_remaining */
  CHECK_RC(kvstore_count(kv, &count), KVSTORE_OK);
  CHECK(count == 2); /* the default family is untouched */

  /* The hidden TTL bookkeeping never shows up as a column family. */
  {
    char **names = NULL;
    int nNames = 0, i;
    CHECK_RC(kvstore_cf_list(kv, &names, &nNames), KVSTORE_OK);
    CHECK(nNames == 3); /* cache_a, cache_b, default */
    for (i = 0; i < nNames; i++) snkv_free(names[i]);
    snkv_free(names);
  }

  /* ---- TTLs survive a reopen. */
  kvstore_cf_close(cfA);
  kvstore_cf_close(cfB);
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);
  REQUIRE_OK(kvstore_open(DB_FILE, &kv, KVSTORE_JOURNAL_WAL));
  CHECK_RC(kvstore_ttl_remaining(kv, "new:1", 5, &rem), KVSTORE_OK);
  CHECK(rem > 0 && rem <= minute);
  CHECK_RC(kvstore_ttl_remaining(kv, "plain", 5, &rem), KVSTORE_OK);
  CHECK(rem == KVSTORE_NO_TTL);
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);

  if (failures) {
    fprintf(stderr, "ttl: %d check(s) failed\n", failures);
    return 1;
  }
  printf("ttl: all checks passed\n");
  return 0;
}
