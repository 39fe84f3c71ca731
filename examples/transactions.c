/*
** transactions.c -- batching writes atomically with begin/commit, undoing
** them with rollback, read transactions that see one snapshot, and what
** a second handle on the same file sees meanwhile.
*/
#include <kvstore.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_FILE "transactions.db"

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

/* The value of key as a C string in buf, or "(absent)". */
static const char *value_of(KVStore *kv, const char *key, char *buf,
                            size_t cap) {
  void *v = NULL;
  int n = 0;
  int rc = kvstore_get(kv, key, (int)strlen(key), &v, &n);
  if (rc == KVSTORE_NOTFOUND) return "(absent)";
  if (rc != KVSTORE_OK) return "(error)";
  if ((size_t)n >= cap) n = (int)cap - 1;
  memcpy(buf, v, (size_t)n);
  buf[n] = '\0';
  snkv_free(v);
  return buf;
}
#define VALUE_IS(kv, key, want) \
  (strcmp(value_of((kv), (key), buf, sizeof buf), (want)) == 0)

int main(void) {
  KVStore *a = NULL, *b = NULL;
  KVStoreConfig cfg;
  char buf[64];
  int i;

  remove_db_files();
  atexit(remove_db_files);
  REQUIRE_OK(kvstore_open(DB_FILE, &a, KVSTORE_JOURNAL_WAL));
  /* A second, independent handle on the same file (busyTimeout 0). */
  memset(&cfg, 0, sizeof cfg);
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_NORMAL;
  REQUIRE_OK(kvstore_open_v2(DB_FILE, &b, &cfg));

  /* ---- Commit: both writes become visible together. */
  CHECK_RC(kvstore_begin(a, 1), KVSTORE_OK);
  CHECK_RC(kvstore_put(a, "key1", 4, "val1", 4), KVSTORE_OK);
  CHECK_RC(kvstore_put(a, "key2", 4, "val2", 4), KVSTORE_OK);
  CHECK(VALUE_IS(a, "key1", "val1")); /* the writer sees its own writes */
  CHECK(VALUE_IS(b, "key1", "(absent)")); /* nobody else does yet */
  CHECK_RC(kvstore_commit(a), KVSTORE_OK);
  CHECK(VALUE_IS(b, "key1", "val1"));
  CHECK(VALUE_IS(b, "key2", "val2"));
  printf("after commit:   key1=%s\n", value_of(b, "key1", buf, sizeof buf));

  /* ---- Rollback: the writes never happened. */
  CHECK_RC(kvstore_begin(a, 1), KVSTORE_OK);
  CHECK_RC(kvstore_put(a, "key1", 4, "changed", 7), KVSTORE_OK);
  CHECK_RC(kvstore_delete(a, "key2", 4), KVSTORE_OK);
  CHECK_RC(kvstore_put(a, "key3", 4, "val3", 4), KVSTORE_OK);
  CHECK(VALUE_IS(a, "key1", "changed"));
  CHECK_RC(kvstore_rollback(a), KVSTORE_OK);
  CHECK(VALUE_IS(a, "key1", "val1"));
  CHECK(VALUE_IS(a, "key2", "val2"));
  CHECK(VALUE_IS(a, "key3", "(absent)"));
  printf("after rollback: key1=%s\n", value_of(a, "key1", buf, sizeof buf));

  /* ---- A batch of many writes in one transaction. */
  CHECK_RC(kvstore_begin(a, 1), KVSTORE_OK);
  for (i = 0; i < 1000; i++) {
    char k[16];
    sprintf(k, "batch:%04d", i);
    CHECK_RC(kvstore_put(a, k, (int)strlen(k), k, (int)strlen(k)),
             KVSTORE_OK);
  }
  CHECK_RC(kvstore_commit(a), KVSTORE_OK);
  CHECK(VALUE_IS(b, "batch:0999", "batch:0999"));

  /* ---- Misuse is an error and changes nothing. */
  CHECK_RC(kvstore_commit(a), KVSTORE_ERROR);   /* no transaction */
  CHECK_RC(kvstore_rollback(a), KVSTORE_ERROR); /* no transaction */
  CHECK_RC(kvstore_begin(a, 1), KVSTORE_OK);
  CHECK_RC(kvstore_begin(a, 1), KVSTORE_ERROR); /* no nesting */
  CHECK_RC(kvstore_begin(a, 0), KVSTORE_ERROR);
  CHECK_RC(kvstore_rollback(a), KVSTORE_OK);

  /* ---- One writer at a time: b cannot write while a holds the lock. */
  CHECK_RC(kvstore_begin(a, 1), KVSTORE_OK);
  CHECK_RC(kvstore_put(a, "owner", 5, "a", 1), KVSTORE_OK);
  CHECK_RC(kvstore_begin(b, 1), KVSTORE_BUSY);
  CHECK_RC(kvstore_put(b, "owner", 5, "b", 1), KVSTORE_BUSY);
  CHECK(VALUE_IS(b, "owner", "(absent)")); /* readers are not blocked */
  CHECK_RC(kvstore_commit(a), KVSTORE_OK);
  CHECK_RC(kvstore_put(b, "owner", 5, "b", 1), KVSTORE_OK); /* now free */
  CHECK(VALUE_IS(a, "owner", "b"));

  /* ---- Read transaction: one snapshot, no writes. */
  CHECK_RC(kvstore_begin(a, 0), KVSTORE_OK);
  CHECK(VALUE_IS(a, "key1", "val1"));
  CHECK_RC(kvstore_put(b, "key1", 4, "newer", 5), KVSTORE_OK);
  CHECK(VALUE_IS(a, "key1", "val1")); /* still the snapshot */
  CHECK_RC(kvstore_put(a, "key1", 4, "x", 1), KVSTORE_READONLY);
  CHECK_RC(kvstore_delete(a, "key1", 4), KVSTORE_READONLY);
  CHECK_RC(kvstore_commit(a), KVSTORE_OK);
  CHECK(VALUE_IS(a, "key1", "newer")); /* fresh again */

  /* ---- Closing with an open transaction rolls it back. */
  CHECK_RC(kvstore_begin(a, 1), KVSTORE_OK);
  CHECK_RC(kvstore_put(a, "unsaved", 7, "lost", 4), KVSTORE_OK);
  CHECK_RC(kvstore_close(a), KVSTORE_OK);
  CHECK(VALUE_IS(b, "unsaved", "(absent)"));
  CHECK_RC(kvstore_put(b, "after-close", 11, "ok", 2), KVSTORE_OK);
  REQUIRE_OK(kvstore_open(DB_FILE, &a, KVSTORE_JOURNAL_WAL));
  CHECK(VALUE_IS(a, "unsaved", "(absent)"));
  CHECK(VALUE_IS(a, "after-close", "ok"));

  CHECK_RC(kvstore_close(b), KVSTORE_OK);
  CHECK_RC(kvstore_close(a), KVSTORE_OK);
  CHECK_RC(kvstore_close(NULL), KVSTORE_OK);

  if (failures) {
    fprintf(stderr, "transactions: %d check(s) failed\n", failures);
    return 1;
  }
  printf("transactions: all checks passed\n");
  return 0;
}
