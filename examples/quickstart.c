/*
** quickstart.c -- the five-minute tour of the snkv C API.
**
** Opens (creating) a store file, writes a few keys, reads one back, walks
** all of them in key order and closes the store. Build it against an
** installed snkv with
**
**     cc quickstart.c $(pkg-config --cflags --libs snkv) -o quickstart
**
** It exits 0 when every step behaved as documented.
*/
#include <kvstore.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_FILE "quickstart.db"

static void remove_db_files(void) {
  remove(DB_FILE);
  remove(DB_FILE "-wal");
  remove(DB_FILE "-shm");
  remove(DB_FILE "-journal");
}

/* Report a failed step with the store's own explanation and give up. */
static void die(KVStore *kv, const char *what, int rc) {
  fprintf(stderr, "quickstart: %s failed (rc=%d): %s\n", what, rc,
          kvstore_errmsg(kv));
  exit(1);
}

int main(void) {
  /* Three fruits and their colours, deliberately not in key order. */
  static const char *const keys[] = {"cherry", "apple", "banana"};
  static const char *const vals[] = {"red", "green", "yellow"};
  /* ...which the iterator hands back sorted by key. */
  static const char *const sorted[] = {"apple", "banana", "cherry"};
  KVStore *kv = NULL;
  KVIterator *it = NULL;
  void *value = NULL;
  int nValue = 0;
  int i, rc, n;

  remove_db_files();
  atexit(remove_db_files);

  /* 1. Open the store; the file is created if it does not exist yet. */
  rc = kvstore_open(DB_FILE, &kv, KVSTORE_JOURNAL_WAL);
  if (rc != KVSTORE_OK) die(NULL, "kvstore_open", rc);
  printf("Opened %s\n", DB_FILE);

  /* 2. Store some key/value pairs. Keys and values are plain bytes. */
  for (i = 0; i < 3; i++) {
    rc = kvstore_put(kv, keys[i], (int)strlen(keys[i]), vals[i],
                     (int)strlen(vals[i]));
    if (rc != KVSTORE_OK) die(kv, "kvstore_put", rc);
    printf("  put %-7s = %s\n", keys[i], vals[i]);
  }

  /* 3. Read one back. The buffer is ours to free with snkv_free(). */
  rc = kvstore_get(kv, "banana", 6, &value, &nValue);
  if (rc != KVSTORE_OK) die(kv, "kvstore_get", rc);
  printf("Got banana -> %.*s\n", nValue, (const char *)value);
  if (nValue != 6 || memcmp(value, "yellow", 6) != 0) {
    fprintf(stderr, "quickstart: banana should be yellow\n");
    return 1;
  }
  snkv_free(value);

  /* A key that was never written is reported as not found. */
  rc = kvstore_get(kv, "durian", 6, &value, &nValue);
  if (rc != KVSTORE_NOTFOUND) die(kv, "kvstore_get of a missing key", rc);

  /* 4. Walk every key in ascending byte order. */
  rc = kvstore_iterator_create(kv, &it);
  if (rc != KVSTORE_OK) die(kv, "kvstore_iterator_create", rc);
  rc = kvstore_iterator_first(it);
  if (rc != KVSTORE_OK) die(kv, "kvstore_iterator_first", rc);
  printf("All entries in key order:\n");
  n = 0;
  while (!kvstore_iterator_eof(it)) {
    void *k, *v; /* owned by the iterator: do not free */
    int nk, nv;
    if (kvstore_iterator_key(it, &k, &nk) != KVSTORE_OK ||
        kvstore_iterator_value(it, &v, &nv) != KVSTORE_OK) {
      fprintf(stderr, "quickstart: reading the iterator failed\n");
      return 1;
    }
    printf("  %.*s = %.*s\n", nk, (const char *)k, nv, (const char *)v);
    if (n >= 3 || nk != (int)strlen(sorted[n]) ||
        memcmp(k, sorted[n], (size_t)nk) != 0) {
      fprintf(stderr, "quickstart: unexpected key at position %d\n", n);
      return 1;
    }
    n++;
    rc = kvstore_iterator_next(it);
    if (rc != KVSTORE_OK) die(kv, "kvstore_iterator_next", rc);
  }
  kvstore_iterator_close(it);
  if (n != 3) {
    fprintf(stderr, "quickstart: iterated %d entries, expected 3\n", n);
    return 1;
  }

  /* 5. Close. Everything written is safely in the file. */
  rc = kvstore_close(kv);
  if (rc != KVSTORE_OK) die(NULL, "kvstore_close", rc);
  printf("Closed. Done.\n");
  return 0;
}
