// enc_worker: runs one encryption operation on a store so that
// encryption_test can SIGKILL it part-way and check what is left.
//
//   enc_worker reencrypt <path> <old-password> <new-password> [wal|delete]
//       opens the encrypted store with the old password (prints "opened"),
//       calls kvstore_reencrypt (prints "done"), closes (prints "closed").
//   enc_worker encrypt <path> <password> [wal|delete]
//       opens a plain store with kvstore_open_encrypted, which converts it
//       in place (prints "done"), closes (prints "closed").
//
// Each line is flushed as soon as the step it names has returned OK. Any
// failure exits with status 3 and a message on stderr.
#include <kvstore.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

[[noreturn]] void Die(const char* what, KVStore* kv, int rc) {
  std::fprintf(stderr, "enc_worker: %s failed (rc=%d): %s\n", what, rc,
               kvstore_errmsg(kv));
  std::exit(3);
}

void Say(const char* line) {
  std::printf("%s\n", line);
  std::fflush(stdout);
}

KVStoreConfig Config(const char* mode) {
  KVStoreConfig cfg;
  std::memset(&cfg, 0, sizeof cfg);
  cfg.journalMode = (mode != nullptr && std::strcmp(mode, "delete") == 0)
                        ? KVSTORE_JOURNAL_DELETE
                        : KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_NORMAL;
  cfg.busyTimeout = 5000;
  return cfg;
}

int Len(const char* s) { return static_cast<int>(std::strlen(s)); }

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 5 && std::strcmp(argv[1], "reencrypt") == 0) {
    KVStoreConfig cfg = Config(argc >= 6 ? argv[5] : nullptr);
    KVStore* kv = nullptr;
    int rc = kvstore_open_encrypted(argv[2], argv[3], Len(argv[3]), &kv, &cfg);
    if (rc != KVSTORE_OK) Die("open_encrypted", nullptr, rc);
    Say("opened");
    rc = kvstore_reencrypt(kv, argv[4], Len(argv[4]));
    if (rc != KVSTORE_OK) Die("reencrypt", kv, rc);
    Say("done");
    rc = kvstore_close(kv);
    if (rc != KVSTORE_OK) Die("close", nullptr, rc);
    Say("closed");
    return 0;
  }
  if (argc >= 4 && std::strcmp(argv[1], "encrypt") == 0) {
    KVStoreConfig cfg = Config(argc >= 5 ? argv[4] : nullptr);
    KVStore* kv = nullptr;
    int rc = kvstore_open_encrypted(argv[2], argv[3], Len(argv[3]), &kv, &cfg);
    if (rc != KVSTORE_OK) Die("open_encrypted", nullptr, rc);
    Say("done");
    rc = kvstore_close(kv);
    if (rc != KVSTORE_OK) Die("close", nullptr, rc);
    Say("closed");
    return 0;
  }
  std::fprintf(stderr,
               "usage: enc_worker reencrypt <path> <old> <new> [wal|delete]\n"
               "       enc_worker encrypt <path> <password> [wal|delete]\n");
  return 2;
}
