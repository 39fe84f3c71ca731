// Test helper for page_damage_test: opens a store of keys key00000..
// (values as the test writes them), reads until it holds its snapshot,
// has a child process truncate the file to about a quarter, then reads every
// key. Exit status: 0 when every read gave the right value or an error
// code and at least one read noticed the loss; 10-14 on a wrong outcome.
// A signal (SIGBUS from a mapped page past the file's end) shows as one.
//
// usage: truncating_reader PATH N NO_MMAP NEW_SNAPSHOT
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "kvstore.h"

namespace {

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "key%05d", i);
  return buf;
}
// As page_damage_test's Value(i) with 100 bytes.
std::string Value(int i) {
  std::string v(100, static_cast<char>('a' + i % 26));
  v.replace(0, Key(i).size(), Key(i));
  return v;
}
// The value of key, or "<rc N>".
std::string Get(KVStore* kv, const std::string& key) {
  void* p = nullptr;
  int n = 0;
  const int rc =
      kvstore_get(kv, key.data(), static_cast<int>(key.size()), &p, &n);
  if (rc != KVSTORE_OK) return "<rc " + std::to_string(rc) + ">";
  std::string out(static_cast<char*>(p), static_cast<size_t>(n));
  snkv_free(p);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  const char* path = argv[1];
  const int n = std::atoi(argv[2]);
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_NORMAL;
  cfg.noMmap = std::atoi(argv[3]);
  const bool new_snapshot = std::atoi(argv[4]) != 0;
  KVStore* kv = nullptr;
  if (kvstore_open_v2(path, &kv, &cfg) != KVSTORE_OK) return 10;
  for (int r = 0; r < 8; ++r) {
    if (Get(kv, Key(r)) != Value(r)) return 11;
  }
  struct stat st {};
  if (stat(path, &st) != 0) return 12;
  // Another process: this one has snkv's threads, so the child makes
  // nothing but the system call.
  const pid_t cutter = fork();
  // At a page boundary (4096-byte pages): a cut inside a page leaves a
  // page whose cell pointers lead into zeros, which SQLite itself reads
  // as cells that compare low, answering NOTFOUND rather than an error.
  const off_t cut = st.st_size / 4 / 4096 * 4096;
  if (cutter == 0) _exit(truncate(path, cut) == 0 ? 0 : 1);
  int status = 0;
  if (waitpid(cutter, &status, 0) != cutter || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    return 12;
  }
  // A write of its own ends the handle's held snapshot (it may fail: the
  // file is damaged now); the next read begins another.
  if (new_snapshot) (void)kvstore_put(kv, "zz", 2, "v", 1);
  int errors = 0;
  for (int i = 0; i < n; ++i) {
    const std::string got = Get(kv, Key(i));
    if (got == Value(i)) continue;
    // Wrong data, or NOTFOUND for a key that is there.
    if (got.rfind("<rc ", 0) != 0 || got == "<rc 12>") {
      std::fprintf(stderr, "%s: %s\n", Key(i).c_str(),
                   got.substr(0, 20).c_str());
      return 13;
    }
    ++errors;
  }
  (void)kvstore_close(kv);
  return errors > 0 ? 0 : 14;
}
