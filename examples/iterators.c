/*
** iterators.c -- ordered scans: forward, prefix, reverse, reverse prefix,
** and seek on forward and reverse iterators.
*/
#include <kvstore.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_FILE "iterators.db"

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

/*
** Drain an iterator from where it stands, moving with next() (forward=1)
** or prev() (forward=0), and compare the keys seen with want[] (a NULL
** terminated list). Every value must be "v:" followed by its key.
** Prints the keys under the given label. Closes the iterator.
*/
static int drain(const char *label, KVIterator *it, int forward,
                 const char *const *want) {
  int n = 0, ok = 1;
  printf("%-22s:", label);
  while (!kvstore_iterator_eof(it)) {
    void *k = NULL, *v = NULL;
    int nk = -1, nv = -1;
    if (kvstore_iterator_key(it, &k, &nk) != KVSTORE_OK ||
        kvstore_iterator_value(it, &v, &nv) != KVSTORE_OK) {
      ok = 0;
      break;
    }
    printf(" %.*s", nk, (const char *)k);
    if (!want[n] || nk != (int)strlen(want[n]) ||
        memcmp(k, want[n], (size_t)nk) != 0)
      ok = 0;
    if (nv != nk + 2 || memcmp(v, "v:", 2) != 0 ||
        memcmp((char *)v + 2, k, (size_t)nk) != 0)
      ok = 0;
    if (want[n]) n++;
    if ((forward ? kvstore_iterator_next(it) : kvstore_iterator_prev(it)) !=
        KVSTORE_OK) {
      ok = 0;
      break;
    }
    if (n > 100) break; /* runaway iterator */
  }
  printf("\n");
  if (want[n]) ok = 0; /* stopped early */
  kvstore_iterator_close(it);
  if (!ok) fprintf(stderr, "  ^ %s: unexpected sequence\n", label);
  return ok;
}

static void put_key(KVStore *kv, KVColumnFamily *cf, const char *k, int nk) {
  char v[64];
  v[0] = 'v';
  v[1] = ':';
  memcpy(v + 2, k, (size_t)nk);
  if (cf)
    REQUIRE_OK(kvstore_cf_put(cf, k, nk, v, nk + 2));
  else
    REQUIRE_OK(kvstore_put(kv, k, nk, v, nk + 2));
}

int main(void) {
  static const char *const keys[] = {"user:2", "apple", "m",     "user:1",
                                     "zebra",  "users", "user:3", "banana",
                                     "n"};
  static const char *const fwd[] = {"apple",  "banana", "m",     "n", "user:1",
                                    "user:2", "user:3", "users", "zebra", NULL};
  static const char *const rev[] = {"zebra",  "users", "user:3", "user:2",
                                    "user:1", "n",     "m",      "banana",
                                    "apple",  NULL};
  static const char *const users[] = {"user:1", "user:2", "user:3", NULL};
  static const char *const users_rev[] = {"user:3", "user:2", "user:1", NULL};
  static const char *const from_m[] = {"m",      "n",      "user:1", "user:2",
                                       "user:3", "users",  "zebra",  NULL};
  static const char *const down_from_m[] = {"m", "banana", "apple", NULL};
  static const char *const down_from_c[] = {"banana", "apple", NULL};
  static const char *const none[] = {NULL};
  KVStore *kv = NULL;
  KVColumnFamily *bin = NULL;
  KVIterator *it = NULL;
  size_t i;

  remove_db_files();
  atexit(remove_db_files);
  REQUIRE_OK(kvstore_open(DB_FILE, &kv, KVSTORE_JOURNAL_WAL));
  for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
    put_key(kv, NULL, keys[i], (int)strlen(keys[i]));

  /* Forward: first(), then next() until eof. */
  REQUIRE_OK(kvstore_iterator_create(kv, &it));
  CHECK(kvstore_iterator_eof(it)); /* not positioned yet */
  CHECK_RC(kvstore_iterator_first(it), KVSTORE_OK);
  CHECK(drain("forward", it, 1, fwd));

  /* Prefix: already on the first match; stops when the prefix ends. */
  REQUIRE_OK(kvstore_prefix_iterator_create(kv, "user:", 5, &it));
  CHECK(drain("prefix user:", it, 1, users));
  REQUIRE_OK(kvstore_prefix_iterator_create(kv, "nothing", 7, &it));
  CHECK(drain("prefix nothing", it, 1, none));
  /* The empty prefix matches every key. */
  REQUIRE_OK(kvstore_prefix_iterator_create(kv, NULL, 0, &it));
  CHECK(drain("prefix (empty)", it, 1, fwd));

  /* Reverse: last(), then prev() until eof. */
  REQUIRE_OK(kvstore_reverse_iterator_create(kv, &it));
  CHECK_RC(kvstore_iterator_last(it), KVSTORE_OK);
  CHECK(drain("reverse", it, 0, rev));

  /* Reverse prefix: already on the last match. */
  REQUIRE_OK(kvstore_reverse_prefix_iterator_create(kv, "user:", 5, &it));
  CHECK(drain("reverse prefix user:", it, 0, users_rev));

  /* Forward seek lands on the first key >= the target... */
  REQUIRE_OK(kvstore_iterator_create(kv, &it));
  CHECK_RC(kvstore_iterator_seek(it, "m", 1), KVSTORE_OK);
  CHECK(drain("seek m", it, 1, from_m));
  REQUIRE_OK(kvstore_iterator_create(kv, &it));
  CHECK_RC(kvstore_iterator_seek(it, "l", 1), KVSTORE_OK);
  CHECK(drain("seek l", it, 1, from_m));
  REQUIRE_OK(kvstore_iterator_create(kv, &it));
  CHECK_RC(kvstore_iterator_seek(it, "zz", 2), KVSTORE_OK);
  CHECK(kvstore_iterator_eof(it)); /* nothing at or after "zz" */
  kvstore_iterator_close(it);

  /* ...reverse seek on the last key <= the target. */
  REQUIRE_OK(kvstore_reverse_iterator_create(kv, &it));
  CHECK_RC(kvstore_iterator_seek(it, "m", 1), KVSTORE_OK);
  CHECK(drain("reverse seek m", it, 0, down_from_m));
  REQUIRE_OK(kvstore_reverse_iterator_create(kv, &it));
  CHECK_RC(kvstore_iterator_seek(it, "c", 1), KVSTORE_OK);
  CHECK(drain("reverse seek c", it, 0, down_from_c));
  REQUIRE_OK(kvstore_reverse_iterator_create(kv, &it));
  CHECK_RC(kvstore_iterator_seek(it, "a", 1), KVSTORE_OK);
  CHECK(kvstore_iterator_eof(it)); /* nothing at or before "a" */
  kvstore_iterator_close(it);

  /* Seek inside a prefix iterator stays in the prefix... */
  REQUIRE_OK(kvstore_prefix_iterator_create(kv, "user:", 5, &it));
  CHECK_RC(kvstore_iterator_seek(it, "user:2", 6), KVSTORE_OK);
  CHECK(drain("prefix seek user:2", it, 1, users + 1));
  REQUIRE_OK(kvstore_reverse_prefix_iterator_create(kv, "user:", 5, &it));
  CHECK_RC(kvstore_iterator_seek(it, "user:2", 6), KVSTORE_OK);
  CHECK(drain("rev prefix seek user:2", it, 0, users_rev + 1));
  /* ...and a seek that lands outside it means eof. */
  REQUIRE_OK(kvstore_prefix_iterator_create(kv, "user:", 5, &it));
  CHECK_RC(kvstore_iterator_seek(it, "user;", 5), KVSTORE_OK);
  CHECK(kvstore_iterator_eof(it));
  kvstore_iterator_close(it);

  /* next() and prev() work on any iterator: walk forward, then back. */
  {
    void *k = NULL;
    int nk = 0;
    REQUIRE_OK(kvstore_iterator_create(kv, &it));
    CHECK_RC(kvstore_iterator_seek(it, "n", 1), KVSTORE_OK);
    CHECK_RC(kvstore_iterator_next(it), KVSTORE_OK); /* user:1 */
    CHECK_RC(kvstore_iterator_prev(it), KVSTORE_OK); /* n */
    CHECK_RC(kvstore_iterator_prev(it), KVSTORE_OK); /* m */
    CHECK(!kvstore_iterator_eof(it));
    CHECK_RC(kvstore_iterator_key(it, &k, &nk), KVSTORE_OK);
    CHECK(nk == 1 && k && memcmp(k, "m", 1) == 0);
    /* first() and last() reposition any time. */
    CHECK_RC(kvstore_iterator_last(it), KVSTORE_OK);
    CHECK_RC(kvstore_iterator_key(it, &k, &nk), KVSTORE_OK);
    CHECK(nk == 5 && k && memcmp(k, "zebra", 5) == 0);
    CHECK_RC(kvstore_iterator_first(it), KVSTORE_OK);
    CHECK_RC(kvstore_iterator_key(it, &k, &nk), KVSTORE_OK);
    CHECK(nk == 5 && k && memcmp(k, "apple", 5) == 0);
    kvstore_iterator_close(it);
  }

  /* A column family with binary keys, including 0x00 and 0xff bytes. */
  REQUIRE_OK(kvstore_cf_create(kv, "binary", &bin));
  put_key(kv, bin, "\xff\xff", 2);
  put_key(kv, bin, "\xff\xff\x00", 3);
  put_key(kv, bin, "\xff\xff\xff", 3);
  put_key(kv, bin, "\xff\xfe", 2);
  put_key(kv, bin, "\x00", 1);
  {
    /* Byte-wise order: 00 < fffe < ffff < ffff00 < ffffff. */
    int count = 0;
    KVIterator *p = NULL;
    /* Prefix ff ff: ffff, ffff00 and ffffff. */
    REQUIRE_OK(kvstore_cf_prefix_iterator_create(bin, "\xff\xff", 2, &p));
    while (!kvstore_iterator_eof(p)) {
      void *k = NULL;
      int nk = 0;
      CHECK_RC(kvstore_iterator_key(p, &k, &nk), KVSTORE_OK);
      CHECK(nk >= 2 && memcmp(k, "\xff\xff", 2) == 0);
      count++;
      CHECK_RC(kvstore_iterator_next(p), KVSTORE_OK);
      if (count > 10) break;
    }
    kvstore_iterator_close(p);
    CHECK(count == 3);

    REQUIRE_OK(kvstore_cf_reverse_prefix_iterator_create(bin, "\xff\xff", 2,
                                                         &p));
    count = 0;
    while (!kvstore_iterator_eof(p)) {
      void *k = NULL;
      int nk = 0;
      CHECK_RC(kvstore_iterator_key(p, &k, &nk), KVSTORE_OK);
      if (count == 0) CHECK(nk == 3 && memcmp(k, "\xff\xff\xff", 3) == 0);
      count++;
      CHECK_RC(kvstore_iterator_prev(p), KVSTORE_OK);
      if (count > 10) break;
    }
    kvstore_iterator_close(p);
    CHECK(count == 3);

    /* Whole family, forward and backward. */
    REQUIRE_OK(kvstore_cf_iterator_create(bin, &p));
    CHECK_RC(kvstore_iterator_first(p), KVSTORE_OK);
    {
      void *k = NULL;
      int nk = 0;
      CHECK_RC(kvstore_iterator_key(p, &k, &nk), KVSTORE_OK);
      CHECK(nk == 1 && ((unsigned char *)k)[0] == 0);
    }
    count = 0;
    while (!kvstore_iterator_eof(p)) {
      count++;
      CHECK_RC(kvstore_iterator_next(p), KVSTORE_OK);
      if (count > 10) break;
    }
    kvstore_iterator_close(p);
    CHECK(count == 5);
    REQUIRE_OK(kvstore_cf_reverse_iterator_create(bin, &p));
    CHECK_RC(kvstore_iterator_last(p), KVSTORE_OK);
    count = 0;
    while (!kvstore_iterator_eof(p)) {
      count++;
      CHECK_RC(kvstore_iterator_prev(p), KVSTORE_OK);
      if (count > 10) break;
    }
    kvstore_iterator_close(p);
    CHECK(count == 5);
  }
  kvstore_cf_close(bin);

  /* An empty column family iterates nothing. */
  REQUIRE_OK(kvstore_cf_create(kv, "empty", &bin));
  REQUIRE_OK(kvstore_cf_iterator_create(bin, &it));
  CHECK_RC(kvstore_iterator_first(it), KVSTORE_OK);
  CHECK(kvstore_iterator_eof(it));
  CHECK_RC(kvstore_iterator_last(it), KVSTORE_OK);
  CHECK(kvstore_iterator_eof(it));
  kvstore_iterator_close(it);
  kvstore_cf_close(bin);

  kvstore_iterator_close(NULL); /* harmless */
  CHECK(kvstore_iterator_eof(NULL) == 1);
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);

  if (failures) {
    fprintf(stderr, "iterators: %d check(s) failed\n", failures);
    return 1;
  }
  printf("iterators: all checks passed\n");
  return 0;
}
