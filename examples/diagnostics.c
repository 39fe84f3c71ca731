/*
** diagnostics.c -- looking inside and looking after a store: error
** messages, statistics, integrity check, sync, incremental vacuum and WAL
** checkpoints.
*/
#include <kvstore.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_FILE "diagnostics.db"
#define DB_ROLLBACK "diagnostics_rollback.db"
#define NOT_A_DB "diagnostics_text.db"

static void remove_db_files(void) {
  static const char *const files[] = {DB_FILE, DB_ROLLBACK, NOT_A_DB};
  static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
  char path[128];
  int i, j;
  for (i = 0; i < 3; i++)
    for (j = 0; j < 4; j++) {
      sprintf(path, "%s%s", files[i], suffix[j]);
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
#define REQUIRE_OK(expr)                                                   \
  do {                                                                     \
    int rc_ = (expr);                                                      \
    if (rc_ != KVSTORE_OK) {                                               \
      fprintf(stderr, "%s:%d: %s returned %d\n", __FILE__, __LINE__,       \
              #expr, rc_);                                                 \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

/* Size of a file in bytes, -1 if it does not exist. */
static long file_size(const char *path) {
  long n;
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fclose(f);
  return n;
}

static uint64_t db_pages(KVStore *kv) {
  KVStoreStats st;
  memset(&st, 0, sizeof st);
  if (kvstore_stats(kv, &st) != KVSTORE_OK) return 0;
  return st.nDbPages;
}

int main(void) {
  KVStore *kv = NULL, *other = NULL;
  KVIterator *it = NULL;
  KVStoreStats st;
  char *report = NULL;
  void *v = NULL;
  int n = 0, nLog = -1, nCkpt = -1, i;
  const char *msg;

  remove_db_files();
  atexit(remove_db_files);
  REQUIRE_OK(kvstore_open(DB_FILE, &kv, KVSTORE_JOURNAL_WAL));

  /* ---- Error messages. */
  msg = kvstore_errmsg(kv);
  CHECK(msg != NULL && strcmp(msg, "not an error") == 0);
  CHECK_RC(kvstore_commit(kv), KVSTORE_ERROR); /* nothing to commit */
  msg = kvstore_errmsg(kv);
  printf("errmsg after a bad commit: %s\n", msg ? msg : "(null)");
  CHECK(msg != NULL && *msg && strcmp(msg, "not an error") != 0);
  CHECK_RC(kvstore_put(kv, "k", -1, "v", 1), KVSTORE_ERROR); /* bad length */
  msg = kvstore_errmsg(kv);
  CHECK(msg != NULL && *msg && strcmp(msg, "not an error") != 0);
  /* A failed open has no handle: its message is kvstore_errmsg(NULL). */
  {
    FILE *f = fopen(NOT_A_DB, "wb");
    if (f) {
      fputs("this is plain text, not a database file. ", f);
      fputs("it is long enough to fill a header and then some.\n", f);
      fclose(f);
    }
    other = kv; /* not NULL: the failed open must reset it */
    CHECK_RC(kvstore_open(NOT_A_DB, &other, KVSTORE_JOURNAL_WAL),
             KVSTORE_CORRUPT);
    CHECK(other == NULL);
    msg = kvstore_errmsg(NULL);
    printf("errmsg after a failed open: %s\n", msg ? msg : "(null)");
    CHECK(msg != NULL && *msg && strcmp(msg, "not an error") != 0);
  }

  /* ---- Statistics: counters since open or the last reset. */
  CHECK_RC(kvstore_stats_reset(kv), KVSTORE_OK);
  memset(&st, 0xff, sizeof st);
  CHECK_RC(kvstore_stats(kv, &st), KVSTORE_OK);
  CHECK(st.nPuts == 0 && st.nGets == 0 && st.nDeletes == 0);
  CHECK(st.nIterations == 0 && st.nErrors == 0);
  CHECK(st.nBytesRead == 0 && st.nBytesWritten == 0);
  CHECK(st.nWalCommits == 0 && st.nCheckpoints == 0);
  CHECK(st.nTtlExpired == 0 && st.nTtlPurged == 0);
  CHECK(st.nDbPages > 0); /* a gauge, not reset */

  CHECK_RC(kvstore_put(kv, "alpha", 5, "12345", 5), KVSTORE_OK);   /* 10 B */
  CHECK_RC(kvstore_put(kv, "beta", 4, "123", 3), KVSTORE_OK);      /* 7 B */
  CHECK_RC(kvstore_put_ttl(kv, "gamma", 5, "1", 1, kvstore_now_ms() + 60000),
           KVSTORE_OK);                                            /* 6 B */
  CHECK_RC(kvstore_get(kv, "alpha", 5, &v, &n), KVSTORE_OK);       /* 5 B */
  snkv_free(v);
  CHECK_RC(kvstore_get(kv, "nope", 4, &v, &n), KVSTORE_NOTFOUND);  /* 0 B */
  CHECK_RC(kvstore_delete(kv, "beta", 4), KVSTORE_OK);
  CHECK_RC(kvstore_iterator_create(kv, &it), KVSTORE_OK);
  kvstore_iterator_close(it);
  CHECK_RC(kvstore_rollback(kv), KVSTORE_ERROR); /* the one error */
  CHECK_RC(kvstore_put_ttl(kv, "dead", 4, "x", 1, 1), KVSTORE_OK); /* 5 B */
  CHECK_RC(kvstore_get(kv, "dead", 4, &v, &n), KVSTORE_NOTFOUND);
  CHECK_RC(kvstore_put_ttl(kv, "dead2", 5, "x", 1, 1), KVSTORE_OK); /* 6 B */
  CHECK_RC(kvstore_purge_expired(kv, NULL), KVSTORE_OK);

  CHECK_RC(kvstore_stats(kv, &st), KVSTORE_OK);
  printf("stats: puts=%llu gets=%llu deletes=%llu iterators=%llu "
         "errors=%llu read=%lluB written=%lluB commits=%llu pages=%llu\n",
         (unsigned long long)st.nPuts, (unsigned long long)st.nGets,
         (unsigned long long)st.nDeletes, (unsigned long long)st.nIterations,
         (unsigned long long)st.nErrors, (unsigned long long)st.nBytesRead,
         (unsigned long long)st.nBytesWritten,
         (unsigned long long)st.nWalCommits, (unsigned long long)st.nDbPages);
  CHECK(st.nPuts == 5);
  CHECK(st.nGets == 3);
  CHECK(st.nDeletes == 1);
  CHECK(st.nIterations == 1);
  CHECK(st.nErrors == 1); /* NOTFOUND is not an error */
  CHECK(st.nBytesRead == 5);
  CHECK(st.nBytesWritten == 10 + 7 + 6 + 5 + 6);
  CHECK(st.nWalCommits >= 6); /* 5 puts and a delete, each autocommitted */
  CHECK(st.nTtlExpired == 1);
  CHECK(st.nTtlPurged == 1);
  CHECK(st.nDbPages > 0);

  /* ---- Integrity check. */
  report = (char *)"untouched";
  CHECK_RC(kvstore_integrity_check(kv, &report), KVSTORE_OK);
  CHECK(report == NULL);
  CHECK_RC(kvstore_integrity_check(kv, NULL), KVSTORE_OK);

  /* ---- Sync: everything committed is on disk. */
  CHECK_RC(kvstore_sync(kv), KVSTORE_OK);
  /* Inside a write transaction sync commits what is there so far and
  ** carries on in a new transaction. */
  REQUIRE_OK(kvstore_open(DB_FILE, &other, KVSTORE_JOURNAL_WAL));
  REQUIRE_OK(kvstore_begin(kv, 1));
  CHECK_RC(kvstore_put(kv, "synced", 6, "yes", 3), KVSTORE_OK);
  CHECK_RC(kvstore_sync(kv), KVSTORE_OK);
  CHECK_RC(kvstore_put(kv, "unsynced", 8, "no", 2), KVSTORE_OK);
  CHECK_RC(kvstore_get(other, "synced", 6, &v, &n), KVSTORE_OK);
  snkv_free(v);
  CHECK_RC(kvstore_rollback(kv), KVSTORE_OK); /* still in a transaction */
  CHECK_RC(kvstore_get(kv, "synced", 6, &v, &n), KVSTORE_OK);
  snkv_free(v);
  CHECK_RC(kvstore_get(kv, "unsynced", 8, &v, &n), KVSTORE_NOTFOUND);
  CHECK_RC(kvstore_close(other), KVSTORE_OK);

  /* ---- Incremental vacuum: give free pages back to the file system. */
  {
    static char big[3000];
    uint64_t full, freed, partial, empty;
    memset(big, 'x', sizeof big);
    REQUIRE_OK(kvstore_begin(kv, 1));
    for (i = 0; i < 400; i++) {
      char k[16];
      int nk = sprintf(k, "big:%03d", i);
      REQUIRE_OK(kvstore_put(kv, k, nk, big, (int)sizeof big));
    }
    REQUIRE_OK(kvstore_commit(kv));
    full = db_pages(kv);
    REQUIRE_OK(kvstore_begin(kv, 1));
    for (i = 0; i < 400; i++) {
      char k[16];
      int nk = sprintf(k, "big:%03d", i);
      REQUIRE_OK(kvstore_delete(kv, k, nk));
    }
    REQUIRE_OK(kvstore_commit(kv));
    freed = db_pages(kv); /* deleted pages go to the free list */
    CHECK_RC(kvstore_incremental_vacuum(kv, 50), KVSTORE_OK);
    partial = db_pages(kv);
    CHECK_RC(kvstore_incremental_vacuum(kv, 0), KVSTORE_OK);
    empty = db_pages(kv);
    printf("pages: %llu full, %llu after delete, %llu after vacuum(50), "
           "%llu after vacuum(0)\n",
           (unsigned long long)full, (unsigned long long)freed,
           (unsigned long long)partial, (unsigned long long)empty);
    CHECK(full >= 300);
    CHECK(freed == full);
    CHECK(partial == freed - 50);
    CHECK(empty < 50);
  }
  CHECK_RC(kvstore_integrity_check(kv, &report), KVSTORE_OK);
  if (report) {
    fprintf(stderr, "integrity: %s\n", report);
    snkv_free(report);
  }

  /* ---- Checkpoints (WAL mode). */
  for (i = 0; i < 20; i++) {
    char k[16];
    int nk = sprintf(k, "ck:%02d", i);
    REQUIRE_OK(kvstore_put(kv, k, nk, "value", 5));
  }
  CHECK_RC(kvstore_stats_reset(kv), KVSTORE_OK);
  nLog = nCkpt = -1;
  CHECK_RC(kvstore_checkpoint(kv, KVSTORE_CHECKPOINT_PASSIVE, &nLog, &nCkpt),
           KVSTORE_OK);
  printf("%d frames total, %d checkpointed\n", nLog, nCkpt);
  CHECK(nLog >= 0 && nCkpt >= 0 && nCkpt <= nLog);
  CHECK_RC(kvstore_checkpoint(kv, KVSTORE_CHECKPOINT_FULL, NULL, NULL),
           KVSTORE_OK);
  CHECK_RC(kvstore_checkpoint(kv, KVSTORE_CHECKPOINT_RESTART, &nLog, NULL),
           KVSTORE_OK);
  CHECK_RC(kvstore_checkpoint(kv, KVSTORE_CHECKPOINT_TRUNCATE, NULL, &nCkpt),
           KVSTORE_OK);
  CHECK(file_size(DB_FILE "-wal") == 0); /* WAL disk space reclaimed */
  CHECK_RC(kvstore_stats(kv, &st), KVSTORE_OK);
  CHECK(st.nCheckpoints >= 4);
  /* Not inside a transaction; not with an unknown mode. */
  REQUIRE_OK(kvstore_begin(kv, 1));
  CHECK_RC(kvstore_checkpoint(kv, KVSTORE_CHECKPOINT_PASSIVE, NULL, NULL),
           KVSTORE_ERROR);
  REQUIRE_OK(kvstore_rollback(kv));
  CHECK_RC(kvstore_checkpoint(kv, 42, NULL, NULL), KVSTORE_ERROR);
  CHECK_RC(kvstore_integrity_check(kv, NULL), KVSTORE_OK);
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);

  /* In rollback-journal mode a checkpoint is a harmless no-op. */
  REQUIRE_OK(kvstore_open(DB_ROLLBACK, &kv, KVSTORE_JOURNAL_DELETE));
  REQUIRE_OK(kvstore_put(kv, "k", 1, "v", 1));
  nLog = nCkpt = -1;
  CHECK_RC(kvstore_checkpoint(kv, KVSTORE_CHECKPOINT_TRUNCATE, &nLog, &nCkpt),
           KVSTORE_OK);
  CHECK(nLog == 0 && nCkpt == 0);
  CHECK_RC(kvstore_sync(kv), KVSTORE_OK);
  CHECK_RC(kvstore_integrity_check(kv, NULL), KVSTORE_OK);
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);

  if (failures) {
    fprintf(stderr, "diagnostics: %d check(s) failed\n", failures);
    return 1;
  }
  printf("diagnostics: all checks passed\n");
  return 0;
}
