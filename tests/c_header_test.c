/*
** c_header_test.c -- kvstore.h is a plain C99 header and the library
** exports its whole C API.
**
** Built with -std=c99 -Wall -Wextra -Wpedantic -Werror. It uses every type,
** constant and macro of the header, takes a correctly typed pointer to every
** function (a wrong signature is a compile error, a missing symbol a link
** error) and calls each function at least once, checking basic behaviour.
** Exit status 0 = pass.
*/
#include "kvstore.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Compile-time checks: values are the reference's numbers. ---------- */

#define STATIC_CHECK(name, cond) typedef char static_check_##name[(cond) ? 1 : -1]

STATIC_CHECK(ok, KVSTORE_OK == 0);
STATIC_CHECK(error, KVSTORE_ERROR == 1);
STATIC_CHECK(busy, KVSTORE_BUSY == 5);
STATIC_CHECK(locked, KVSTORE_LOCKED == 6);
STATIC_CHECK(nomem, KVSTORE_NOMEM == 7);
STATIC_CHECK(readonly, KVSTORE_READONLY == 8);
STATIC_CHECK(corrupt, KVSTORE_CORRUPT == 11);
STATIC_CHECK(notfound, KVSTORE_NOTFOUND == 12);
STATIC_CHECK(auth_failed, KVSTORE_AUTH_FAILED == 13);
STATIC_CHECK(protocol, KVSTORE_PROTOCOL == 15);

/* "All codes are aliases for the corresponding SQLITE_* values." */
STATIC_CHECK(sq_ok, KVSTORE_OK == SQLITE_OK);
STATIC_CHECK(sq_error, KVSTORE_ERROR == SQLITE_ERROR);
STATIC_CHECK(sq_busy, KVSTORE_BUSY == SQLITE_BUSY);
STATIC_CHECK(sq_locked, KVSTORE_LOCKED == SQLITE_LOCKED);
STATIC_CHECK(sq_nomem, KVSTORE_NOMEM == SQLITE_NOMEM);
STATIC_CHECK(sq_readonly, KVSTORE_READONLY == SQLITE_READONLY);
STATIC_CHECK(sq_corrupt, KVSTORE_CORRUPT == SQLITE_CORRUPT);
STATIC_CHECK(sq_notfound, KVSTORE_NOTFOUND == SQLITE_NOTFOUND);
/* The reference gives AUTH_FAILED the value 13, which is SQLite's
** SQLITE_FULL slot (SQLITE_AUTH is 23); we check the number it specifies. */
STATIC_CHECK(sq_auth_failed, KVSTORE_AUTH_FAILED == SQLITE_FULL);
STATIC_CHECK(sq_protocol, KVSTORE_PROTOCOL == SQLITE_PROTOCOL);

STATIC_CHECK(journal_delete, KVSTORE_JOURNAL_DELETE == 0);
STATIC_CHECK(journal_wal, KVSTORE_JOURNAL_WAL == 1);
STATIC_CHECK(sync_off, KVSTORE_SYNC_OFF == 0);
STATIC_CHECK(sync_normal, KVSTORE_SYNC_NORMAL == 1);
STATIC_CHECK(sync_full, KVSTORE_SYNC_FULL == 2);
STATIC_CHECK(ckpt_passive, KVSTORE_CHECKPOINT_PASSIVE == 0);
STATIC_CHECK(ckpt_full, KVSTORE_CHECKPOINT_FULL == 1);
STATIC_CHECK(ckpt_restart, KVSTORE_CHECKPOINT_RESTART == 2);
STATIC_CHECK(ckpt_truncate, KVSTORE_CHECKPOINT_TRUNCATE == 3);
STATIC_CHECK(sq_ckpt_passive,
             KVSTORE_CHECKPOINT_PASSIVE == SQLITE_CHECKPOINT_PASSIVE);
STATIC_CHECK(sq_ckpt_full, KVSTORE_CHECKPOINT_FULL == SQLITE_CHECKPOINT_FULL);
STATIC_CHECK(sq_ckpt_restart,
             KVSTORE_CHECKPOINT_RESTART == SQLITE_CHECKPOINT_RESTART);
STATIC_CHECK(sq_ckpt_truncate,
             KVSTORE_CHECKPOINT_TRUNCATE == SQLITE_CHECKPOINT_TRUNCATE);
STATIC_CHECK(max_cf, KVSTORE_MAX_COLUMN_FAMILIES == 64);
STATIC_CHECK(no_ttl, KVSTORE_NO_TTL == -1);

/* The structs have the reference's layout: seven ints, twelve uint64s. */
STATIC_CHECK(cfg_size, sizeof(KVStoreConfig) == 8 * sizeof(int));
STATIC_CHECK(cfg_0, offsetof(KVStoreConfig, journalMode) == 0 * sizeof(int));
STATIC_CHECK(cfg_1, offsetof(KVStoreConfig, syncLevel) == 1 * sizeof(int));
STATIC_CHECK(cfg_2, offsetof(KVStoreConfig, cacheSize) == 2 * sizeof(int));
STATIC_CHECK(cfg_3, offsetof(KVStoreConfig, pageSize) == 3 * sizeof(int));
STATIC_CHECK(cfg_4, offsetof(KVStoreConfig, readOnly) == 4 * sizeof(int));
STATIC_CHECK(cfg_5, offsetof(KVStoreConfig, busyTimeout) == 5 * sizeof(int));
STATIC_CHECK(cfg_6, offsetof(KVStoreConfig, walSizeLimit) == 6 * sizeof(int));
STATIC_CHECK(cfg_7, offsetof(KVStoreConfig, noMmap) == 7 * sizeof(int));
STATIC_CHECK(stats_size, sizeof(KVStoreStats) == 12 * sizeof(uint64_t));
STATIC_CHECK(st_0, offsetof(KVStoreStats, nPuts) == 0 * 8);
STATIC_CHECK(st_1, offsetof(KVStoreStats, nGets) == 1 * 8);
STATIC_CHECK(st_2, offsetof(KVStoreStats, nDeletes) == 2 * 8);
STATIC_CHECK(st_3, offsetof(KVStoreStats, nIterations) == 3 * 8);
STATIC_CHECK(st_4, offsetof(KVStoreStats, nErrors) == 4 * 8);
STATIC_CHECK(st_5, offsetof(KVStoreStats, nBytesRead) == 5 * 8);
STATIC_CHECK(st_6, offsetof(KVStoreStats, nBytesWritten) == 6 * 8);
STATIC_CHECK(st_7, offsetof(KVStoreStats, nWalCommits) == 7 * 8);
STATIC_CHECK(st_8, offsetof(KVStoreStats, nCheckpoints) == 8 * 8);
STATIC_CHECK(st_9, offsetof(KVStoreStats, nTtlExpired) == 9 * 8);
STATIC_CHECK(st_10, offsetof(KVStoreStats, nTtlPurged) == 10 * 8);
STATIC_CHECK(st_11, offsetof(KVStoreStats, nDbPages) == 11 * 8);

/* ---- Every function, through a pointer of exactly its documented type. */

static struct {
  int (*open_v2)(const char *, KVStore **, const KVStoreConfig *);
  int (*open)(const char *, KVStore **, int);
  int (*close)(KVStore *);
  int (*put)(KVStore *, const void *, int, const void *, int);
  int (*get)(KVStore *, const void *, int, void **, int *);
  int (*del)(KVStore *, const void *, int);
  int (*exists)(KVStore *, const void *, int, int *);
  int (*cf_create)(KVStore *, const char *, KVColumnFamily **);
  int (*cf_open)(KVStore *, const char *, KVColumnFamily **);
  int (*cf_get_default)(KVStore *, KVColumnFamily **);
  int (*cf_drop)(KVStore *, const char *);
  int (*cf_list)(KVStore *, char ***, int *);
  void (*cf_close)(KVColumnFamily *);
  int (*cf_put)(KVColumnFamily *, const void *, int, const void *, int);
  int (*cf_get)(KVColumnFamily *, const void *, int, void **, int *);
  int (*cf_delete)(KVColumnFamily *, const void *, int);
  int (*cf_exists)(KVColumnFamily *, const void *, int, int *);
  int (*iterator_create)(KVStore *, KVIterator **);
  int (*cf_iterator_create)(KVColumnFamily *, KVIterator **);
  int (*reverse_iterator_create)(KVStore *, KVIterator **);
  int (*cf_reverse_iterator_create)(KVColumnFamily *, KVIterator **);
  int (*prefix_iterator_create)(KVStore *, const void *, int, KVIterator **);
  int (*cf_prefix_iterator_create)(KVColumnFamily *, const void *, int,
                                   KVIterator **);
  int (*reverse_prefix_iterator_create)(KVStore *, const void *, int,
                                        KVIterator **);
  int (*cf_reverse_prefix_iterator_create)(KVColumnFamily *, const void *,
                                           int, KVIterator **);
  int (*iterator_first)(KVIterator *);
  int (*iterator_last)(KVIterator *);
  int (*iterator_next)(KVIterator *);
  int (*iterator_prev)(KVIterator *);
  int (*iterator_seek)(KVIterator *, const void *, int);
  int (*iterator_eof)(KVIterator *);
  int (*iterator_key)(KVIterator *, void **, int *);
  int (*iterator_value)(KVIterator *, void **, int *);
  void (*iterator_close)(KVIterator *);
  int (*begin)(KVStore *, int);
  int (*commit)(KVStore *);
  int (*rollback)(KVStore *);
  int64_t (*now_ms)(void);
  int (*put_ttl)(KVStore *, const void *, int, const void *, int, int64_t);
  int (*get_ttl)(KVStore *, const void *, int, void **, int *, int64_t *);
  int (*ttl_remaining)(KVStore *, const void *, int, int64_t *);
  int (*purge_expired)(KVStore *, int *);
  int (*cf_put_ttl)(KVColumnFamily *, const void *, int, const void *, int,
                    int64_t);
  int (*cf_get_ttl)(KVColumnFamily *, const void *, int, void **, int *,
                    int64_t *);
  int (*cf_ttl_remaining)(KVColumnFamily *, const void *, int, int64_t *);
  int (*cf_purge_expired)(KVColumnFamily *, int *);
  int (*put_if_absent)(KVStore *, const void *, int, const void *, int,
                       int64_t, int *);
  int (*cf_put_if_absent)(KVColumnFamily *, const void *, int, const void *,
                          int, int64_t, int *);
  int (*clear)(KVStore *);
  int (*cf_clear)(KVColumnFamily *);
  int (*count)(KVStore *, int64_t *);
  int (*cf_count)(KVColumnFamily *, int64_t *);
  const char *(*errmsg)(KVStore *);
  int (*stats)(KVStore *, KVStoreStats *);
  int (*stats_reset)(KVStore *);
  int (*integrity_check)(KVStore *, char **);
  int (*sync)(KVStore *);
  int (*incremental_vacuum)(KVStore *, int);
  int (*checkpoint)(KVStore *, int, int *, int *);
  void *(*malloc_zeroed)(sqlite3_uint64);
} api = {
    kvstore_open_v2,
    kvstore_open,
    kvstore_close,
    kvstore_put,
    kvstore_get,
    kvstore_delete,
    kvstore_exists,
    kvstore_cf_create,
    kvstore_cf_open,
    kvstore_cf_get_default,
    kvstore_cf_drop,
    kvstore_cf_list,
    kvstore_cf_close,
    kvstore_cf_put,
    kvstore_cf_get,
    kvstore_cf_delete,
    kvstore_cf_exists,
    kvstore_iterator_create,
    kvstore_cf_iterator_create,
    kvstore_reverse_iterator_create,
    kvstore_cf_reverse_iterator_create,
    kvstore_prefix_iterator_create,
    kvstore_cf_prefix_iterator_create,
    kvstore_reverse_prefix_iterator_create,
    kvstore_cf_reverse_prefix_iterator_create,
    kvstore_iterator_first,
    kvstore_iterator_last,
    kvstore_iterator_next,
    kvstore_iterator_prev,
    kvstore_iterator_seek,
    kvstore_iterator_eof,
    kvstore_iterator_key,
    kvstore_iterator_value,
    kvstore_iterator_close,
    kvstore_begin,
    kvstore_commit,
    kvstore_rollback,
    kvstore_now_ms,
    kvstore_put_ttl,
    kvstore_get_ttl,
    kvstore_ttl_remaining,
    kvstore_purge_expired,
    kvstore_cf_put_ttl,
    kvstore_cf_get_ttl,
    kvstore_cf_ttl_remaining,
    kvstore_cf_purge_expired,
    kvstore_put_if_absent,
    kvstore_cf_put_if_absent,
    kvstore_clear,
    kvstore_cf_clear,
    kvstore_count,
    kvstore_cf_count,
    kvstore_errmsg,
    kvstore_stats,
    kvstore_stats_reset,
    kvstore_integrity_check,
    kvstore_sync,
    kvstore_incremental_vacuum,
    kvstore_checkpoint,
    kvstore_malloc_zeroed,
};

/* ---- Checking helpers ---------------------------------------------------- */

#define DB_FILE "c_header_test.db"

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
#define REQUIRE(cond)                                                      \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: fatal: %s\n", __FILE__, __LINE__, #cond);    \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

static int bytes_eq(const void *p, int n, const char *want) {
  return n == (int)strlen(want) &&
         (n == 0 || (p && memcmp(p, want, (size_t)n) == 0));
}

/* ---- Runtime checks ---------------------------------------------------- */

static void test_constants_at_runtime(void) {
  /* The same numbers again at run time, so a failure names the constant. */
  CHECK(KVSTORE_OK == 0 && KVSTORE_ERROR == 1 && KVSTORE_BUSY == 5);
  CHECK(KVSTORE_LOCKED == 6 && KVSTORE_NOMEM == 7 && KVSTORE_READONLY == 8);
  CHECK(KVSTORE_CORRUPT == 11 && KVSTORE_NOTFOUND == 12);
  CHECK(KVSTORE_AUTH_FAILED == 13 && KVSTORE_PROTOCOL == 15);
  CHECK(KVSTORE_JOURNAL_DELETE == 0 && KVSTORE_JOURNAL_WAL == 1);
  CHECK(KVSTORE_SYNC_OFF == 0 && KVSTORE_SYNC_NORMAL == 1 &&
        KVSTORE_SYNC_FULL == 2);
  CHECK(KVSTORE_CHECKPOINT_PASSIVE == 0 && KVSTORE_CHECKPOINT_FULL == 1 &&
        KVSTORE_CHECKPOINT_RESTART == 2 && KVSTORE_CHECKPOINT_TRUNCATE == 3);
  CHECK(KVSTORE_MAX_COLUMN_FAMILIES == 64);
  CHECK(KVSTORE_NO_TTL == -1);
  {
    /* KVSTORE_NO_TTL compares correctly with an int64_t. */
    int64_t r = KVSTORE_NO_TTL;
    CHECK(r == -1 && r < 0);
  }
}

static void test_memory_macros(void) {
  unsigned char *p;
  char *s, *q;
  size_t i;
  int allZero = 1;

  p = (unsigned char *)sqliteMalloc(64);
  REQUIRE(p != NULL);
  for (i = 0; i < 64; i++)
    if (p[i] != 0) allZero = 0;
  CHECK(allZero); /* sqliteMalloc zero-initialises */
  memset(p, 0xab, 64);
  p = (unsigned char *)sqliteRealloc(p, 4096);
  REQUIRE(p != NULL);
  CHECK(p[0] == 0xab && p[63] == 0xab); /* contents kept */
  sqliteFree(p);

  s = sqliteStrDup("duplicate me");
  REQUIRE(s != NULL);
  CHECK(strcmp(s, "duplicate me") == 0);
  sqliteFree(s);

  q = (char *)snkv_malloc(10);
  REQUIRE(q != NULL);
  allZero = 1;
  for (i = 0; i < 10; i++)
    if (q[i] != 0) allZero = 0;
  CHECK(allZero);
  snkv_free(q);

  p = (unsigned char *)api.malloc_zeroed(16);
  REQUIRE(p != NULL);
  CHECK(p[0] == 0 && p[15] == 0);
  snkv_free(p);
  p = (unsigned char *)kvstore_malloc_zeroed((sqlite3_uint64)1);
  REQUIRE(p != NULL);
  sqlite3_free(p); /* the allocator is SQLite's */

  sqliteFree(NULL); /* harmless */
  snkv_free(NULL);
}

static void test_store(void) {
  KVStore *kv = NULL, *kv2 = NULL;
  KVColumnFamily *cf = NULL, *def = NULL, *cf2 = NULL;
  KVIterator *it = NULL;
  KVStoreConfig cfg = {0};
  KVStoreStats st;
  char **names = NULL;
  char *report = NULL;
  void *v = NULL, *k = NULL;
  int n = 0, nk = 0, exists = -1, inserted = -1, deleted = -1, i;
  int nLog = -1, nCkpt = -1, count = 0;
  int64_t rem = 0, cnt = -1, now;
  const char *msg;

  /* ---- open / open_v2 / errmsg */
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_NORMAL;
  cfg.cacheSize = 2000;
  cfg.pageSize = 4096;
  cfg.readOnly = 0;
  cfg.busyTimeout = 1000;
  cfg.walSizeLimit = 0;
  CHECK_RC(api.open_v2(DB_FILE, &kv, &cfg), KVSTORE_OK);
  REQUIRE(kv != NULL);
  msg = api.errmsg(kv);
  CHECK(msg != NULL && strcmp(msg, "not an error") == 0);
  CHECK_RC(api.open(DB_FILE, &kv2, KVSTORE_JOURNAL_WAL), KVSTORE_OK);
  REQUIRE(kv2 != NULL);

  /* ---- put / get / exists / delete, and the argument conventions */
  CHECK_RC(api.put(kv, "a", 1, "1", 1), KVSTORE_OK);
  v = NULL;
  n = -1;
  CHECK_RC(api.get(kv, "a", 1, &v, &n), KVSTORE_OK);
  CHECK(bytes_eq(v, n, "1"));
  sqliteFree(v);
  CHECK_RC(api.get(kv2, "a", 1, &v, &n), KVSTORE_OK); /* other handle */
  CHECK(bytes_eq(v, n, "1"));
  snkv_free(v);
  CHECK_RC(api.put(kv, "a", 1, "22", 2), KVSTORE_OK); /* replace */
  CHECK_RC(api.get(kv, "a", 1, &v, &n), KVSTORE_OK);
  CHECK(bytes_eq(v, n, "22"));
  snkv_free(v);
  /* Outputs are not written on failure. */
  v = (void *)&n;
  n = 777;
  CHECK_RC(api.get(kv, "zz", 2, &v, &n), KVSTORE_NOTFOUND);
  CHECK(v == (void *)&n && n == 777);
  CHECK_RC(api.exists(kv, "a", 1, &exists), KVSTORE_OK);
  CHECK(exists == 1);
  CHECK_RC(api.exists(kv, "zz", 2, &exists), KVSTORE_OK);
  CHECK(exists == 0);
  CHECK_RC(api.del(kv, "a", 1), KVSTORE_OK);
  CHECK_RC(api.del(kv, "a", 1), KVSTORE_NOTFOUND);
  /* Negative lengths are errors. */
  CHECK_RC(api.put(kv, "a", -1, "1", 1), KVSTORE_ERROR);
  CHECK_RC(api.put(kv, "a", 1, "1", -1), KVSTORE_ERROR);
  CHECK_RC(api.get(kv, "a", -1, &v, &n), KVSTORE_ERROR);
  CHECK_RC(api.del(kv, "a", -1), KVSTORE_ERROR);
  msg = api.errmsg(kv);
  CHECK(msg != NULL && *msg != '\0');
  /* The empty key is a key; the empty value is a value (non-NULL, 0 long). */
  CHECK_RC(api.put(kv, NULL, 0, "empty-key", 9), KVSTORE_OK);
  CHECK_RC(api.get(kv, "", 0, &v, &n), KVSTORE_OK);
  CHECK(bytes_eq(v, n, "empty-key"));
  snkv_free(v);
  CHECK_RC(api.put(kv, "ev", 2, NULL, 0), KVSTORE_OK);
  v = NULL;
  n = -1;
  CHECK_RC(api.get(kv, "ev", 2, &v, &n), KVSTORE_OK);
  CHECK(v != NULL && n == 0);
  snkv_free(v);
  /* Binary-safe keys and values. */
  CHECK_RC(api.put(kv, "b\0c", 3, "x\0y", 3), KVSTORE_OK);
  CHECK_RC(api.get(kv, "b\0c", 3, &v, &n), KVSTORE_OK);
  CHECK(n == 3 && v && memcmp(v, "x\0y", 3) == 0);
  snkv_free(v);
  CHECK_RC(api.exists(kv, "b", 1, &exists), KVSTORE_OK);
  CHECK(exists == 0);
  CHECK_RC(api.del(kv, "b\0c", 3), KVSTORE_OK);
  CHECK_RC(api.del(kv, "", 0), KVSTORE_OK);
  CHECK_RC(api.del(kv, "ev", 2), KVSTORE_OK);

  /* ---- column families */
  CHECK_RC(api.cf_create(kv, "cf1", &cf), KVSTORE_OK);
  REQUIRE(cf != NULL);
  CHECK_RC(api.cf_create(kv, "cf1", &cf2), KVSTORE_ERROR);
  CHECK(cf2 == NULL);
  CHECK_RC(api.cf_open(kv2, "cf1", &cf2), KVSTORE_OK); /* other handle */
  REQUIRE(cf2 != NULL);
  CHECK_RC(api.cf_get_default(kv, &def), KVSTORE_OK);
  REQUIRE(def != NULL);
  CHECK_RC(api.cf_list(kv, &names, &count), KVSTORE_OK);
  CHECK(count == 2);
  if (count == 2 && names) {
    CHECK(strcmp(names[0], "cf1") == 0);
    CHECK(strcmp(names[1], "default") == 0);
  }
  for (i = 0; i < count; i++) sqliteFree(names[i]);
  sqliteFree(names);
  CHECK_RC(api.cf_put(cf, "k", 1, "cfv", 3), KVSTORE_OK);
  CHECK_RC(api.cf_get(cf2, "k", 1, &v, &n), KVSTORE_OK);
  CHECK(bytes_eq(v, n, "cfv"));
  snkv_free(v);
  CHECK_RC(api.cf_exists(cf, "k", 1, &exists), KVSTORE_OK);
  CHECK(exists == 1);
  CHECK_RC(api.cf_exists(def, "k", 1, &exists), KVSTORE_OK);
  CHECK(exists == 0);
  CHECK_RC(api.cf_delete(cf, "k", 1), KVSTORE_OK);
  CHECK_RC(api.cf_delete(cf, "k", 1), KVSTORE_NOTFOUND);
  CHECK_RC(api.cf_put(cf, "k", -1, "v", 1), KVSTORE_ERROR);
  CHECK_RC(api.cf_put(def, "d", 1, "dv", 2), KVSTORE_OK);
  CHECK_RC(api.get(kv, "d", 1, &v, &n), KVSTORE_OK);
  CHECK(bytes_eq(v, n, "dv"));
  snkv_free(v);

  /* ---- iterators, all eight constructors */
  for (i = 0; i < 5; i++) {
    char key[8];
    key[0] = 'p';
    key[1] = (char)('0' + i);
    CHECK_RC(api.put(kv, key, 2, key, 2), KVSTORE_OK);
    CHECK_RC(api.cf_put(cf, key, 2, key, 2), KVSTORE_OK);
  }
  CHECK_RC(api.put(kv, "q", 1, "q", 1), KVSTORE_OK);
  CHECK_RC(api.cf_put(cf, "q", 1, "q", 1), KVSTORE_OK);
  /* default CF now: d, p0..p4, q */
  CHECK_RC(api.iterator_create(kv, &it), KVSTORE_OK);
  CHECK(api.iterator_eof(it) == 1);
  CHECK_RC(api.iterator_first(it), KVSTORE_OK);
  CHECK(api.iterator_eof(it) == 0);
  CHECK_RC(api.iterator_key(it, &k, &nk), KVSTORE_OK);
  CHECK(bytes_eq(k, nk, "d"));
  CHECK_RC(api.iterator_value(it, &v, &n), KVSTORE_OK);
  CHECK(bytes_eq(v, n, "dv"));
  CHECK_RC(api.iterator_next(it), KVSTORE_OK);
  CHECK_RC(api.iterator_key(it, &k, &nk), KVSTORE_OK);
  CHECK(bytes_eq(k, nk, "p0"));
  CHECK_RC(api.iterator_prev(it), KVSTORE_OK);
  CHECK_RC(api.iterator_key(it, &k, &nk), KVSTORE_OK);
  CHECK(bytes_eq(k, nk, "d"));
  CHECK_RC(api.iterator_last(it), KVSTORE_OK);
  CHECK_RC(api.iterator_key(it, &k, &nk), KVSTORE_OK);
  CHECK(bytes_eq(k, nk, "q"));
  CHECK_RC(api.iterator_seek(it, "p2", 2), KVSTORE_OK);
  CHECK_RC(api.iterator_key(it, &k, &nk), KVSTORE_OK);
  CHECK(bytes_eq(k, nk, "p2"));
  CHECK_RC(api.iterator_seek(it, "p25", 3), KVSTORE_OK);
  CHECK_RC(api.iterator_key(it, &k, &nk), KVSTORE_OK);
  CHECK(bytes_eq(k, nk, "p3"));
  CHECK_RC(api.iterator_seek(it, "a", -1), KVSTORE_ERROR);
  api.iterator_close(it);

  CHECK_RC(api.cf_iterator_create(cf, &it), KVSTORE_OK);
  CHECK_RC(api.iterator_first(it), KVSTORE_OK);
  for (count = 0; !api.iterator_eof(it) && count < 100; count++)
    CHECK_RC(api.iterator_next(it), KVSTORE_OK);
  CHECK(count == 6);
  api.iterator_close(it);

  CHECK_RC(api.reverse_iterator_create(kv, &it), KVSTORE_OK);
  CHECK_RC(api.iterator_last(it), KVSTORE_OK);
  CHECK_RC(api.iterator_key(it, &k, &nk), KVSTORE_OK);
  CHECK(bytes_eq(k, nk, "q"));
  CHECK_RC(api.iterator_seek(it, "p25", 3), KVSTORE_OK);
  CHECK_RC(api.iterator_key(it, &k, &nk), KVSTORE_OK);
  CHECK(bytes_eq(k, nk, "p2"));
  api.iterator_close(it);

  CHECK_RC(api.cf_reverse_iterator_create(cf, &it), KVSTORE_OK);
  CHECK_RC(api.iterator_last(it), KVSTORE_OK);
  for (count = 0; !api.iterator_eof(it) && count < 100; count++)
    CHECK_RC(api.iterator_prev(it), KVSTORE_OK);
  CHECK(count == 6);
  api.iterator_close(it);

  CHECK_RC(api.prefix_iterator_create(kv, "p", 1, &it), KVSTORE_OK);
  CHECK_RC(api.iterator_key(it, &k, &nk), KVSTORE_OK);
  CHECK(bytes_eq(k, nk, "p0"));
  for (count = 0; !api.iterator_eof(it) && count < 100; count++)
    CHECK_RC(api.iterator_next(it), KVSTORE_OK);
  CHECK(count == 5);
  api.iterator_close(it);

  CHECK_RC(api.cf_prefix_iterator_create(cf, "p", 1, &it), KVSTORE_OK);
  for (count = 0; !api.iterator_eof(it) && count < 100; count++)
    CHECK_RC(api.iterator_next(it), KVSTORE_OK);
  CHECK(count == 5);
  api.iterator_close(it);

  CHECK_RC(api.reverse_prefix_iterator_create(kv, "p", 1, &it), KVSTORE_OK);
  CHECK_RC(api.iterator_key(it, &k, &nk), KVSTORE_OK);
  CHECK(bytes_eq(k, nk, "p4"));
  for (count = 0; !api.iterator_eof(it) && count < 100; count++)
    CHECK_RC(api.iterator_prev(it), KVSTORE_OK);
  CHECK(count == 5);
  api.iterator_close(it);

  CHECK_RC(api.cf_reverse_prefix_iterator_create(cf, "p", 1, &it),
           KVSTORE_OK);
  for (count = 0; !api.iterator_eof(it) && count < 100; count++)
    CHECK_RC(api.iterator_prev(it), KVSTORE_OK);
  CHECK(count == 5);
  api.iterator_close(it);
  api.iterator_close(NULL);
  CHECK(api.iterator_eof(NULL) == 1);
  it = (KVIterator *)&count;
  CHECK_RC(api.prefix_iterator_create(kv, "p", -1, &it), KVSTORE_ERROR);
  CHECK(it == NULL); /* handle-creating outputs are NULLed on error */

  /* ---- transactions */
  CHECK_RC(api.begin(kv, 1), KVSTORE_OK);
  CHECK_RC(api.put(kv, "t", 1, "1", 1), KVSTORE_OK);
  CHECK_RC(api.begin(kv, 1), KVSTORE_ERROR);
  CHECK_RC(api.commit(kv), KVSTORE_OK);
  CHECK_RC(api.commit(kv), KVSTORE_ERROR);
  CHECK_RC(api.begin(kv, 1), KVSTORE_OK);
  CHECK_RC(api.del(kv, "t", 1), KVSTORE_OK);
  CHECK_RC(api.rollback(kv), KVSTORE_OK);
  CHECK_RC(api.rollback(kv), KVSTORE_ERROR);
  CHECK_RC(api.exists(kv, "t", 1, &exists), KVSTORE_OK);
  CHECK(exists == 1);
  CHECK_RC(api.begin(kv, 0), KVSTORE_OK);
  CHECK_RC(api.put(kv, "t", 1, "2", 1), KVSTORE_READONLY);
  CHECK_RC(api.commit(kv), KVSTORE_OK);

  /* ---- TTL */
  now = api.now_ms();
  CHECK(now > (int64_t)1577836800000LL); /* after 2020-01-01 */
  CHECK_RC(api.put_ttl(kv, "ttl", 3, "x", 1, now + 60000), KVSTORE_OK);
  rem = 0;
  CHECK_RC(api.get_ttl(kv, "ttl", 3, &v, &n, &rem), KVSTORE_OK);
  CHECK(bytes_eq(v, n, "x"));
  CHECK(rem > 0 && rem <= 60000);
  snkv_free(v);
  CHECK_RC(api.ttl_remaining(kv, "ttl", 3, &rem), KVSTORE_OK);
  CHECK(rem > 0 && rem <= 60000);
  CHECK_RC(api.ttl_remaining(kv, "t", 1, &rem), KVSTORE_OK);
  CHECK(rem == KVSTORE_NO_TTL);
  CHECK_RC(api.ttl_remaining(kv, "none", 4, &rem), KVSTORE_NOTFOUND);
  CHECK_RC(api.put_ttl(kv, "gone", 4, "x", 1, now - 1), KVSTORE_OK);
  CHECK_RC(api.put_ttl(kv, "neg", 3, "x", 1, -1), KVSTORE_ERROR);
  CHECK_RC(api.purge_expired(kv, &deleted), KVSTORE_OK);
  CHECK(deleted == 1);
  CHECK_RC(api.cf_put_ttl(cf, "ttl", 3, "y", 1, now + 60000), KVSTORE_OK);
  CHECK_RC(api.cf_get_ttl(cf, "ttl", 3, &v, &n, &rem), KVSTORE_OK);
  CHECK(bytes_eq(v, n, "y"));
  CHECK(rem > 0 && rem <= 60000);
  snkv_free(v);
  CHECK_RC(api.cf_ttl_remaining(cf, "ttl", 3, &rem), KVSTORE_OK);
  CHECK(rem > 0 && rem <= 60000);
  CHECK_RC(api.cf_put_ttl(cf, "gone", 4, "x", 1, 1), KVSTORE_OK);
  CHECK_RC(api.cf_put_ttl(cf, "gone2", 5, "x", 1, 2), KVSTORE_OK);
  CHECK_RC(api.cf_purge_expired(cf, &deleted), KVSTORE_OK);
  CHECK(deleted == 2);

  /* ---- put_if_absent */
  CHECK_RC(api.put_if_absent(kv, "lock", 4, "me", 2, 0, &inserted),
           KVSTORE_OK);
  CHECK(inserted == 1);
  CHECK_RC(api.put_if_absent(kv2, "lock", 4, "you", 3, 0, &inserted),
           KVSTORE_OK);
  CHECK(inserted == 0);
  CHECK_RC(api.cf_put_if_absent(cf, "lock", 4, "me", 2, now + 60000,
                                &inserted),
           KVSTORE_OK);
  CHECK(inserted == 1);
  CHECK_RC(api.cf_put_if_absent(cf, "lock", 4, "me", 2, 0, NULL),
           KVSTORE_OK);

  /* ---- count and clear */
  CHECK_RC(api.count(kv, &cnt), KVSTORE_OK);
  CHECK(cnt == 10); /* d, p0..p4, q, t, ttl, lock */
  CHECK_RC(api.cf_count(cf, &cnt), KVSTORE_OK);
  CHECK(cnt == 8); /* p0..p4, q, ttl, lock */
  CHECK_RC(api.cf_clear(cf), KVSTORE_OK);
  CHECK_RC(api.cf_count(cf, &cnt), KVSTORE_OK);
  CHECK(cnt == 0);
  CHECK_RC(api.clear(kv), KVSTORE_OK);
  CHECK_RC(api.count(kv, &cnt), KVSTORE_OK);
  CHECK(cnt == 0);

  /* ---- diagnostics */
  CHECK_RC(api.stats_reset(kv), KVSTORE_OK);
  CHECK_RC(api.put(kv, "s", 1, "abc", 3), KVSTORE_OK);
  CHECK_RC(api.get(kv, "s", 1, &v, &n), KVSTORE_OK);
  snkv_free(v);
  memset(&st, 0, sizeof st);
  CHECK_RC(api.stats(kv, &st), KVSTORE_OK);
  CHECK(st.nPuts == 1 && st.nGets == 1 && st.nDeletes == 0);
  CHECK(st.nBytesWritten == 4 && st.nBytesRead == 3);
  CHECK(st.nIterations == 0 && st.nErrors == 0);
  CHECK(st.nWalCommits >= 1 && st.nDbPages > 0);
  CHECK(st.nTtlExpired == 0 && st.nTtlPurged == 0);
  (void)st.nCheckpoints;
  report = (char *)"sentinel";
  CHECK_RC(api.integrity_check(kv, &report), KVSTORE_OK);
  CHECK(report == NULL);
  CHECK_RC(api.sync(kv), KVSTORE_OK);
  CHECK_RC(api.incremental_vacuum(kv, 0), KVSTORE_OK);
  CHECK_RC(api.checkpoint(kv, KVSTORE_CHECKPOINT_PASSIVE, &nLog, &nCkpt),
           KVSTORE_OK);
  CHECK(nLog >= 0 && nCkpt >= 0);
  CHECK_RC(api.checkpoint(kv, KVSTORE_CHECKPOINT_FULL, NULL, NULL),
           KVSTORE_OK);
  CHECK_RC(api.checkpoint(kv, KVSTORE_CHECKPOINT_RESTART, NULL, NULL),
           KVSTORE_OK);
  CHECK_RC(api.checkpoint(kv, KVSTORE_CHECKPOINT_TRUNCATE, NULL, NULL),
           KVSTORE_OK);
  CHECK_RC(api.stats(kv, &st), KVSTORE_OK);
  CHECK(st.nCheckpoints >= 4);

  /* ---- drop, close */
  api.cf_close(cf2);
  CHECK_RC(api.cf_drop(kv, "cf1"), KVSTORE_OK);
  CHECK_RC(api.cf_drop(kv, "cf1"), KVSTORE_NOTFOUND);
  CHECK_RC(api.cf_drop(kv, "default"), KVSTORE_ERROR);
  CHECK_RC(api.cf_put(cf, "x", 1, "y", 1), KVSTORE_NOTFOUND);
  cf2 = def;
  CHECK_RC(api.cf_open(kv, "cf1", &cf2), KVSTORE_NOTFOUND);
  CHECK(cf2 == NULL);
  api.cf_close(cf);
  api.cf_close(def);
  api.cf_close(NULL);
  CHECK_RC(api.close(kv2), KVSTORE_OK);
  CHECK_RC(api.close(kv), KVSTORE_OK);
  CHECK_RC(api.close(NULL), KVSTORE_OK);

  /* A failed open NULLs the handle and explains itself via errmsg(NULL). */
  memset(&cfg, 0, sizeof cfg);
  cfg.cacheSize = -5;
  kv = (KVStore *)&cfg;
  CHECK_RC(api.open_v2(DB_FILE, &kv, &cfg), KVSTORE_ERROR);
  CHECK(kv == NULL);
  msg = api.errmsg(NULL);
  CHECK(msg != NULL && *msg != '\0');
}

int main(void) {
  remove_db_files();
  atexit(remove_db_files);
  test_constants_at_runtime();
  test_memory_macros();
  test_store();
  if (failures) {
    fprintf(stderr, "c_header_test: %d check(s) failed\n", failures);
    return 1;
  }
  printf("c_header_test: all checks passed\n");
  return 0;
}
