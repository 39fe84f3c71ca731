/*
** column_families.c -- several independent key spaces in one file:
** create, open, list, drop, and the per-family put/get/exists/delete.
*/
#include <kvstore.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_FILE "column_families.db"

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

/* 1 if cf holds key with exactly the value want. */
static int cf_value_is(KVColumnFamily *cf, const char *key, const char *want) {
  void *v = NULL;
  int n = 0, ok;
  if (kvstore_cf_get(cf, key, (int)strlen(key), &v, &n) != KVSTORE_OK)
    return 0;
  ok = n == (int)strlen(want) && memcmp(v, want, (size_t)n) == 0;
  snkv_free(v);
  return ok;
}

/*
** Compare the store's column family list with the expected names (which
** must be in name order). Prints the list it got.
*/
static int list_is(KVStore *kv, const char *const *want, int nWant) {
  char **names = NULL;
  int count = -1, i, ok;
  if (kvstore_cf_list(kv, &names, &count) != KVSTORE_OK) return 0;
  ok = count == nWant;
  printf("column families:");
  for (i = 0; i < count; i++) {
    printf(" %s", names[i]);
    if (ok && strcmp(names[i], want[i]) != 0) ok = 0;
    snkv_free(names[i]);
  }
  printf("\n");
  snkv_free(names);
  return ok;
}

int main(void) {
  static const char *const all3[] = {"default", "sessions", "users"};
  static const char *const all2[] = {"default", "users"};
  KVStore *kv = NULL;
  KVColumnFamily *users = NULL, *sessions = NULL, *def = NULL;
  KVColumnFamily *again = NULL, *cf = NULL;
  char name[300];
  int exists = -1, i;

  remove_db_files();
  atexit(remove_db_files);
  REQUIRE_OK(kvstore_open(DB_FILE, &kv, KVSTORE_JOURNAL_WAL));

  /* A new store has only the default column family. */
  {
    static const char *const only[] = {"default"};
    CHECK(list_is(kv, only, 1));
  }

  /* Create two families (created out of name order on purpose). */
  REQUIRE_OK(kvstore_cf_create(kv, "users", &users));
  REQUIRE_OK(kvstore_cf_create(kv, "sessions", &sessions));
  CHECK(users != NULL && sessions != NULL);
  CHECK(list_is(kv, all3, 3));

  /* Names are unique; "default" is always taken. */
  cf = users; /* not NULL: a failed create must reset it */
  CHECK_RC(kvstore_cf_create(kv, "users", &cf), KVSTORE_ERROR);
  CHECK(cf == NULL);
  CHECK_RC(kvstore_cf_create(kv, "default", &cf), KVSTORE_ERROR);
  CHECK(cf == NULL);
  /* Names are 1..255 bytes. */
  CHECK_RC(kvstore_cf_create(kv, "", &cf), KVSTORE_ERROR);
  memset(name, 'n', 256);
  name[256] = '\0';
  CHECK_RC(kvstore_cf_create(kv, name, &cf), KVSTORE_ERROR);
  name[255] = '\0';
  CHECK_RC(kvstore_cf_create(kv, name, &cf), KVSTORE_OK);
  kvstore_cf_close(cf);
  CHECK_RC(kvstore_cf_drop(kv, name), KVSTORE_OK);

  /* The same key in different families holds different values. */
  REQUIRE_OK(kvstore_put(kv, "id:1", 4, "in default", 10));
  REQUIRE_OK(kvstore_cf_put(users, "id:1", 4, "alice", 5));
  REQUIRE_OK(kvstore_cf_put(sessions, "id:1", 4, "token-abc", 9));
  CHECK(cf_value_is(users, "id:1", "alice"));
  CHECK(cf_value_is(sessions, "id:1", "token-abc"));

  /* The default family is reachable through a handle as well. */
  REQUIRE_OK(kvstore_cf_get_default(kv, &def));
  CHECK(cf_value_is(def, "id:1", "in default"));
  REQUIRE_OK(kvstore_cf_put(def, "via-cf", 6, "handle", 6));
  {
    void *v = NULL;
    int n = 0;
    CHECK_RC(kvstore_get(kv, "via-cf", 6, &v, &n), KVSTORE_OK);
    CHECK(n == 6 && v && memcmp(v, "handle", 6) == 0);
    snkv_free(v);
  }

  /* exists / delete on a family. */
  CHECK_RC(kvstore_cf_exists(users, "id:1", 4, &exists), KVSTORE_OK);
  CHECK(exists == 1);
  CHECK_RC(kvstore_cf_exists(users, "id:2", 4, &exists), KVSTORE_OK);
  CHECK(exists == 0);
  CHECK_RC(kvstore_cf_delete(users, "id:1", 4), KVSTORE_OK);
  CHECK_RC(kvstore_cf_delete(users, "id:1", 4), KVSTORE_NOTFOUND);
  CHECK_RC(kvstore_cf_exists(users, "id:1", 4, &exists), KVSTORE_OK);
  CHECK(exists == 0);
  {
    void *v = NULL;
    int n = 0;
    CHECK_RC(kvstore_cf_get(users, "id:1", 4, &v, &n), KVSTORE_NOTFOUND);
  }
  /* ...and the other families still have their id:1. */
  CHECK(cf_value_is(sessions, "id:1", "token-abc"));
  CHECK(cf_value_is(def, "id:1", "in default"));
  REQUIRE_OK(kvstore_cf_put(users, "id:1", 4, "alice", 5));

  /* Open by name: a second handle on the same family. */
  REQUIRE_OK(kvstore_cf_open(kv, "users", &again));
  CHECK(cf_value_is(again, "id:1", "alice"));
  kvstore_cf_close(again);
  cf = users;
  CHECK_RC(kvstore_cf_open(kv, "no-such-family", &cf), KVSTORE_NOTFOUND);
  CHECK(cf == NULL);

  /* Drop a family: its data goes, the handle stays closable. */
  CHECK_RC(kvstore_cf_drop(kv, "sessions"), KVSTORE_OK);
  CHECK(list_is(kv, all2, 2));
  {
    void *v = NULL;
    int n = 0;
    CHECK_RC(kvstore_cf_get(sessions, "id:1", 4, &v, &n), KVSTORE_NOTFOUND);
    CHECK_RC(kvstore_cf_put(sessions, "x", 1, "y", 1), KVSTORE_NOTFOUND);
  }
  kvstore_cf_close(sessions);
  CHECK_RC(kvstore_cf_open(kv, "sessions", &cf), KVSTORE_NOTFOUND);
  CHECK_RC(kvstore_cf_drop(kv, "sessions"), KVSTORE_NOTFOUND);
  CHECK_RC(kvstore_cf_drop(kv, "default"), KVSTORE_ERROR);
  /* Re-creating a dropped name starts empty. */
  REQUIRE_OK(kvstore_cf_create(kv, "sessions", &sessions));
  CHECK_RC(kvstore_cf_exists(sessions, "id:1", 4, &exists), KVSTORE_OK);
  CHECK(exists == 0);
  kvstore_cf_close(sessions);
  CHECK_RC(kvstore_cf_drop(kv, "sessions"), KVSTORE_OK);

  /* At most KVSTORE_MAX_COLUMN_FAMILIES, the default one included. */
  for (i = 2; i < KVSTORE_MAX_COLUMN_FAMILIES; i++) { /* default, users */
    sprintf(name, "extra-%02d", i);
    CHECK_RC(kvstore_cf_create(kv, name, &cf), KVSTORE_OK);
    kvstore_cf_close(cf);
  }
  {
    char **names = NULL;
    int count = 0, j;
    CHECK_RC(kvstore_cf_list(kv, &names, &count), KVSTORE_OK);
    CHECK(count == KVSTORE_MAX_COLUMN_FAMILIES);
    for (j = 0; j < count; j++) snkv_free(names[j]);
    snkv_free(names);
  }
  cf = users;
  CHECK_RC(kvstore_cf_create(kv, "one-too-many", &cf), KVSTORE_ERROR);
  CHECK(cf == NULL);
  for (i = 2; i < KVSTORE_MAX_COLUMN_FAMILIES; i++) {
    sprintf(name, "extra-%02d", i);
    CHECK_RC(kvstore_cf_drop(kv, name), KVSTORE_OK);
  }

  kvstore_cf_close(def);
  kvstore_cf_close(users);
  kvstore_cf_close(NULL); /* harmless */
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);

  /* Families and their data are persistent. */
  REQUIRE_OK(kvstore_open(DB_FILE, &kv, KVSTORE_JOURNAL_WAL));
  CHECK(list_is(kv, all2, 2));
  REQUIRE_OK(kvstore_cf_open(kv, "users", &users));
  CHECK(cf_value_is(users, "id:1", "alice"));
  kvstore_cf_close(users);
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);

  if (failures) {
    fprintf(stderr, "column_families: %d check(s) failed\n", failures);
    return 1;
  }
  printf("column_families: all checks passed\n");
  return 0;
}
