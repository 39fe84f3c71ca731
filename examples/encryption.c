/*
** encryption.c -- an encrypted store: create it with a password, read and
** write as usual, see a wrong password refused, change the password with
** kvstore_reencrypt, and finally turn it back into a plain store with
** kvstore_remove_encryption.
**
** Values are sealed (XChaCha20-Poly1305, key from Argon2id); keys, value
** sizes and TTLs stay visible in the file. Deriving the key takes a few
** tenths of a second on every open and on every reencrypt.
*/
#include <kvstore.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_FILE "encryption.db"

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
      fprintf(stderr, "%s:%d: %s returned %d: %s\n", __FILE__, __LINE__,   \
              #expr, rc_, kvstore_errmsg(NULL));                           \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

/* 1 if key holds exactly the NUL-terminated string want. */
static int has_value(KVStore *kv, const char *key, const char *want) {
  void *v = NULL;
  int n = 0, same;
  if (kvstore_get(kv, key, (int)strlen(key), &v, &n) != KVSTORE_OK) return 0;
  same = n == (int)strlen(want) && memcmp(v, want, (size_t)n) == 0;
  snkv_free(v);
  return same;
}

int main(void) {
  static const char pw1[] = "correct horse battery staple";
  static const char pw2[] = "a brand new passphrase";
  KVStore *kv = NULL;
  KVColumnFamily *cards = NULL;
  void *v = NULL;
  int n = 0;

  remove_db_files();
  atexit(remove_db_files);

  /* ---- Create an encrypted store; the password is any bytes. */
  REQUIRE_OK(kvstore_open_encrypted(DB_FILE, pw1, (int)strlen(pw1), &kv,
                                    NULL));
  CHECK(kvstore_is_encrypted(kv) == 1);
  CHECK_RC(kvstore_put(kv, "user:1", 6, "alice", 5), KVSTORE_OK);
  REQUIRE_OK(kvstore_cf_create(kv, "cards", &cards));
  CHECK_RC(kvstore_cf_put(cards, "alice", 5, "4111-1111-1111-1111", 19),
           KVSTORE_OK);
  kvstore_cf_close(cards);
  CHECK(has_value(kv, "user:1", "alice"));
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);

  /* ---- Reopen with the same password: the data reads back as usual. */
  REQUIRE_OK(kvstore_open_encrypted(DB_FILE, pw1, (int)strlen(pw1), &kv,
                                    NULL));
  CHECK(has_value(kv, "user:1", "alice"));
  REQUIRE_OK(kvstore_cf_open(kv, "cards", &cards));
  CHECK_RC(kvstore_cf_get(cards, "alice", 5, &v, &n), KVSTORE_OK);
  CHECK(n == 19 && v && memcmp(v, "4111-1111-1111-1111", 19) == 0);
  snkv_free(v);
  kvstore_cf_close(cards);
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);

  /* ---- A wrong password, or no password at all, is refused. */
  kv = NULL;
  CHECK_RC(kvstore_open_encrypted(DB_FILE, "guess", 5, &kv, NULL),
           KVSTORE_AUTH_FAILED);
  CHECK(kv == NULL);
  printf("wrong password: %s\n", kvstore_errmsg(NULL));
  CHECK_RC(kvstore_open(DB_FILE, &kv, KVSTORE_JOURNAL_WAL),
           KVSTORE_AUTH_FAILED);
  CHECK(kv == NULL);

  /* ---- Change the password; the handle stays usable. */
  REQUIRE_OK(kvstore_open_encrypted(DB_FILE, pw1, (int)strlen(pw1), &kv,
                                    NULL));
  CHECK_RC(kvstore_reencrypt(kv, pw2, (int)strlen(pw2)), KVSTORE_OK);
  CHECK_RC(kvstore_put(kv, "user:2", 6, "bob", 3), KVSTORE_OK);
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);
  kv = NULL;
  CHECK_RC(kvstore_open_encrypted(DB_FILE, pw1, (int)strlen(pw1), &kv, NULL),
           KVSTORE_AUTH_FAILED); /* the old password no longer works */
  CHECK(kv == NULL);
  REQUIRE_OK(kvstore_open_encrypted(DB_FILE, pw2, (int)strlen(pw2), &kv,
                                    NULL));
  CHECK(has_value(kv, "user:1", "alice"));
  CHECK(has_value(kv, "user:2", "bob"));

  /* ---- Not inside a transaction. */
  CHECK_RC(kvstore_begin(kv, 1), KVSTORE_OK);
  CHECK_RC(kvstore_reencrypt(kv, pw1, (int)strlen(pw1)), KVSTORE_ERROR);
  CHECK_RC(kvstore_remove_encryption(kv), KVSTORE_ERROR);
  CHECK_RC(kvstore_rollback(kv), KVSTORE_OK);

  /* ---- Decrypt everything: the file becomes a plain store again. */
  CHECK_RC(kvstore_remove_encryption(kv), KVSTORE_OK);
  CHECK(kvstore_is_encrypted(kv) == 0);
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);
  REQUIRE_OK(kvstore_open(DB_FILE, &kv, KVSTORE_JOURNAL_WAL));
  CHECK(kvstore_is_encrypted(kv) == 0);
  CHECK(has_value(kv, "user:1", "alice"));
  CHECK(has_value(kv, "user:2", "bob"));
  REQUIRE_OK(kvstore_cf_open(kv, "cards", &cards));
  CHECK_RC(kvstore_cf_get(cards, "alice", 5, &v, &n), KVSTORE_OK);
  CHECK(n == 19 && v && memcmp(v, "4111-1111-1111-1111", 19) == 0);
  snkv_free(v);
  kvstore_cf_close(cards);
  CHECK_RC(kvstore_close(kv), KVSTORE_OK);

  if (failures) {
    fprintf(stderr, "encryption: %d check(s) failed\n", failures);
    return 1;
  }
  printf("encryption: all checks passed\n");
  return 0;
}
