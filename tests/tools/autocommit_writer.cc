// autocommit_writer: makes deterministic autocommit writes until killed.
//
//   autocommit_writer <path>
//
// Creates the store at <path> (WAL, synchronous NORMAL) and then, for
// step = 1, 2, ... forever, makes step's single autocommit write of the
// model below through the C API (put, delete or put-if-absent, each its own
// transaction) and only after it returned writes "step\n" to stdout and
// flushes. crash_test SIGKILLs it at a random moment and checks that the
// store holds exactly the model's state after the last acknowledged step,
// or after the one following it (committed, not yet acknowledged).
//
// Consecutive autocommit writes share a read transaction (the write pin,
// docs/design.md), which is what this writer exercises; the transactional
// writer (crash_writer.cc) never makes one.
//
// The model is shared with tests/crash_test.cc, which includes this file
// with SNKV_AUTOCOMMIT_WRITER_NO_MAIN defined.
#include <kvstore.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

namespace autocommit_model {

enum class Kind { kPut, kDelete, kPutIfAbsent };

struct Step {
  Kind kind;
  std::string key;
  std::string value;  // for puts
};

// Step `i` (from 1): one of 97 keys, visited out of order; values of
// a few bytes to 2 KB that name their step.
inline Step StepAt(uint64_t i) {
  Step s;
  s.key = "k" + std::to_string(i * 7919 % 97);
  // A key comes back every 97 steps, so a put-if-absent (i % 5 == 1)
  // follows a put of its key (i % 5 == 4) and must change nothing, and a
  // put follows a delete.
  switch (i % 5) {
    case 0:
      s.kind = Kind::kDelete;
      break;
    case 1:
      s.kind = Kind::kPutIfAbsent;
      break;
    default:
      s.kind = Kind::kPut;
  }
  s.value = "v" + std::to_string(i) + ":";
  if (i % 3 == 0) s.value.append(2000, static_cast<char>('a' + i % 26));
  return s;
}

using State = std::map<std::string, std::string>;

// Applies steps 1..n to an empty store.
inline State Replay(uint64_t n) {
  State state;
  for (uint64_t i = 1; i <= n; ++i) {
    Step s = StepAt(i);
    switch (s.kind) {
      case Kind::kPut:
        state[s.key] = s.value;
        break;
      case Kind::kDelete:
        state.erase(s.key);
        break;
      case Kind::kPutIfAbsent:
        state.emplace(s.key, s.value);
        break;
    }
  }
  return state;
}

}  // namespace autocommit_model

#ifndef SNKV_AUTOCOMMIT_WRITER_NO_MAIN

namespace {

[[noreturn]] void Die(const char* what, int rc) {
  std::fprintf(stderr, "autocommit_writer: %s failed (%d)\n", what, rc);
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace autocommit_model;
  if (argc != 2) {
    std::fprintf(stderr, "usage: autocommit_writer <path>\n");
    return 2;
  }
  KVStoreConfig cfg{};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_NORMAL;
  cfg.busyTimeout = 5000;
  KVStore* kv = nullptr;
  int rc = kvstore_open_v2(argv[1], &kv, &cfg);
  if (rc != KVSTORE_OK) Die("open", rc);
  std::printf("start 0\n");
  std::fflush(stdout);
  for (uint64_t i = 1;; ++i) {
    Step s = StepAt(i);
    const int nkey = static_cast<int>(s.key.size());
    const int nval = static_cast<int>(s.value.size());
    switch (s.kind) {
      case Kind::kPut:
        rc = kvstore_put(kv, s.key.data(), nkey, s.value.data(), nval);
        break;
      case Kind::kDelete:
        rc = kvstore_delete(kv, s.key.data(), nkey);
        if (rc == KVSTORE_NOTFOUND) rc = KVSTORE_OK;
        break;
      case Kind::kPutIfAbsent: {
        int inserted = 0;
        rc = kvstore_put_if_absent(kv, s.key.data(), nkey, s.value.data(), nval,
                                   0, &inserted);
        break;
      }
    }
    if (rc != KVSTORE_OK) Die("write", rc);
    std::printf("%llu\n", static_cast<unsigned long long>(i));
    std::fflush(stdout);
  }
}

#endif  // SNKV_AUTOCOMMIT_WRITER_NO_MAIN
