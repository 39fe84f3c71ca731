// crash_writer: commits deterministic transactions until it is killed.
//
//   crash_writer <path> <wal|delete> <off|normal|full> <small|big>
//
// Opens (or creates) the store at <path> through the C API, resumes after
// the last transaction recorded in it (key "meta:last" of the default
// column family) and then, for i = last+1, last+2, ... forever: begins a
// write transaction, applies transaction i of the model below, commits, and
// only after kvstore_commit returned KVSTORE_OK writes "i\n" to stdout and
// flushes. crash_test SIGKILLs it at a random moment and checks that the
// store holds exactly the model's state after the last acknowledged
// transaction (or after the next one, committed but not yet acknowledged).
//
// The model is shared with tests/crash_test.cc, which includes this file
// with SNKV_CRASH_WRITER_NO_MAIN defined.
#include <kvstore.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace crash_model {

// Far-future expiry (2100-01-01T00:00:00Z) for the TTL writes.
inline constexpr int64_t kFarFutureMs = 4102444800000LL;
inline constexpr const char* kSecondCf = "second";
inline constexpr const char* kLastKey = "meta:last";

enum class Mode { kSmall, kBig };

// Where an entry's value came from: value bytes are a pure function of
// (txn, op, key), so the model keeps only these numbers.
struct Entry {
  uint64_t txn = 0;
  uint32_t op = 0;
  uint32_t size = 0;
  bool ttl = false;
  friend bool operator==(const Entry&, const Entry&) = default;
};

// The expected content of both column families ("meta:last" excluded; it
// is implied by `last`).
struct State {
  uint64_t last = 0;                   // index of the last applied transaction
  std::map<std::string, Entry> cf[2];  // [0] default, [1] "second"
};

inline uint64_t SplitMix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline std::string MakeValue(const std::string& key, const Entry& e) {
  uint64_t seed = e.txn * 1000003ULL + e.op;
  for (char c : key) seed = seed * 131 + static_cast<unsigned char>(c);
  std::string v = "t" + std::to_string(e.txn) + "o" + std::to_string(e.op) +
                  (e.ttl ? "T" : "P") + ":";
  v.reserve(e.size);
  while (v.size() < e.size) {
    uint64_t r = SplitMix(seed);
    for (int b = 0; b < 8 && v.size() < e.size; ++b) {
      v.push_back(static_cast<char>(r >> (8 * b)));
    }
  }
  v.resize(e.size);
  return v;
}

inline std::string LastValue(uint64_t i) { return std::to_string(i); }

// One write of a transaction.
struct Op {
  int cf = 0;  // 0 default, 1 second
  std::string key;
  bool erase = false;
  Entry entry;  // for puts
};

// The writes of transaction `i`, given the state before it (deletes pick
// keys that exist). Applying them in order to `state` gives state(i).
inline std::vector<Op> TxnOps(Mode mode, uint64_t i, const State& state) {
  std::vector<Op> ops;
  uint64_t rng = i * 0x2545F4914F6CDD1DULL + (mode == Mode::kBig ? 7 : 3);
  if (mode == Mode::kBig) {
    // Thousands of writes over one key range: every one of them carries the
    // transaction number, so a partially visible transaction shows.
    const int n = 3000;
    for (int j = 0; j < n; ++j) {
      Op op;
      op.cf = (j % 5 == 4) ? 1 : 0;
      char key[32];
      std::snprintf(key, sizeof key, "big%05d", j);
      op.key = key;
      bool present = state.cf[op.cf].count(op.key) != 0;
      op.erase = present && ((i + static_cast<uint64_t>(j)) % 7 == 0);
      op.entry = {i, static_cast<uint32_t>(j),
                  static_cast<uint32_t>(16 + SplitMix(rng) % 200),
                  (j % 11) == 3};
      ops.push_back(std::move(op));
    }
    return ops;
  }
  const int n = 2 + static_cast<int>(SplitMix(rng) % 8);
  for (int j = 0; j < n; ++j) {
    Op op;
    op.cf = static_cast<int>(SplitMix(rng) % 2);
    char key[32];
    std::snprintf(key, sizeof key, "k%04d",
                  static_cast<int>(SplitMix(rng) % 150));
    op.key = key;
    uint64_t kind = SplitMix(rng) % 100;
    bool present = state.cf[op.cf].count(op.key) != 0;
    // Earlier ops of this transaction may have changed presence.
    for (const Op& prev : ops) {
      if (prev.cf == op.cf && prev.key == op.key) present = !prev.erase;
    }
    if (kind < 20 && present) {
      op.erase = true;
    } else {
      uint64_t size_kind = SplitMix(rng) % 100;
      uint32_t size;
      if (size_kind < 10) {
        size = static_cast<uint32_t>(2000 + SplitMix(rng) % 6000);  // KBs
      } else if (size_kind < 15) {
        size = 0;  // empty value
      } else {
        size = static_cast<uint32_t>(1 + SplitMix(rng) % 300);
      }
      op.entry = {i, static_cast<uint32_t>(j), size, kind >= 80};
    }
    ops.push_back(std::move(op));
  }
  return ops;
}

inline void Apply(const std::vector<Op>& ops, uint64_t i, State* state) {
  for (const Op& op : ops) {
    if (op.erase) {
      state->cf[op.cf].erase(op.key);
    } else {
      state->cf[op.cf][op.key] = op.entry;
    }
  }
  state->last = i;
}

// Advances `state` to transaction `target` (>= state->last).
inline void Replay(Mode mode, uint64_t target, State* state) {
  while (state->last < target) {
    uint64_t i = state->last + 1;
    Apply(TxnOps(mode, i, *state), i, state);
  }
}

}  // namespace crash_model

#ifndef SNKV_CRASH_WRITER_NO_MAIN

namespace {

[[noreturn]] void Die(const char* what, KVStore* kv, int rc) {
  std::fprintf(stderr, "crash_writer: %s failed (rc=%d): %s\n", what, rc,
               kvstore_errmsg(kv));
  std::exit(3);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace crash_model;
  if (argc != 5) {
    std::fprintf(stderr,
                 "usage: crash_writer <path> <wal|delete> <off|normal|full> "
                 "<small|big>\n");
    return 2;
  }
  KVStoreConfig cfg;
  std::memset(&cfg, 0, sizeof cfg);
  cfg.journalMode = std::strcmp(argv[2], "wal") == 0 ? KVSTORE_JOURNAL_WAL
                                                     : KVSTORE_JOURNAL_DELETE;
  cfg.syncLevel = std::strcmp(argv[3], "full") == 0     ? KVSTORE_SYNC_FULL
                  : std::strcmp(argv[3], "normal") == 0 ? KVSTORE_SYNC_NORMAL
                                                        : KVSTORE_SYNC_OFF;
  cfg.busyTimeout = 5000;
  Mode mode = std::strcmp(argv[4], "big") == 0 ? Mode::kBig : Mode::kSmall;

  KVStore* kv = nullptr;
  int rc = kvstore_open_v2(argv[1], &kv, &cfg);
  if (rc != KVSTORE_OK) Die("open", nullptr, rc);
  KVColumnFamily* cfs[2] = {nullptr, nullptr};
  rc = kvstore_cf_get_default(kv, &cfs[0]);
  if (rc != KVSTORE_OK) Die("cf_get_default", kv, rc);
  rc = kvstore_cf_open(kv, kSecondCf, &cfs[1]);
  if (rc == KVSTORE_NOTFOUND) rc = kvstore_cf_create(kv, kSecondCf, &cfs[1]);
  if (rc != KVSTORE_OK) Die("cf_open/create", kv, rc);

  // Resume after the last committed transaction.
  State state;
  void* val = nullptr;
  int nval = 0;
  rc = kvstore_get(kv, kLastKey, static_cast<int>(std::strlen(kLastKey)), &val,
                   &nval);
  if (rc == KVSTORE_OK) {
    uint64_t last = std::strtoull(
        std::string(static_cast<const char*>(val), static_cast<size_t>(nval))
            .c_str(),
        nullptr, 10);
    snkv_free(val);
    Replay(mode, last, &state);
  } else if (rc != KVSTORE_NOTFOUND) {
    Die("get last", kv, rc);
  }
  std::printf("start %llu\n", static_cast<unsigned long long>(state.last));
  std::fflush(stdout);

  for (;;) {
    uint64_t i = state.last + 1;
    std::vector<Op> ops = TxnOps(mode, i, state);
    rc = kvstore_begin(kv, 1);
    if (rc != KVSTORE_OK) Die("begin", kv, rc);
    for (const Op& op : ops) {
      KVColumnFamily* cf = cfs[op.cf];
      int nkey = static_cast<int>(op.key.size());
      if (op.erase) {
        rc = kvstore_cf_delete(cf, op.key.data(), nkey);
        if (rc != KVSTORE_OK) Die("delete", kv, rc);
        continue;
      }
      std::string v = MakeValue(op.key, op.entry);
      if (op.entry.ttl) {
        rc = kvstore_cf_put_ttl(cf, op.key.data(), nkey, v.data(),
                                static_cast<int>(v.size()), kFarFutureMs);
      } else {
        rc = kvstore_cf_put(cf, op.key.data(), nkey, v.data(),
                            static_cast<int>(v.size()));
      }
      if (rc != KVSTORE_OK) Die("put", kv, rc);
    }
    std::string last = LastValue(i);
    rc = kvstore_put(kv, kLastKey, static_cast<int>(std::strlen(kLastKey)),
                     last.data(), static_cast<int>(last.size()));
    if (rc != KVSTORE_OK) Die("put last", kv, rc);
    rc = kvstore_commit(kv);
    if (rc != KVSTORE_OK) Die("commit", kv, rc);
    Apply(ops, i, &state);
    std::printf("%llu\n", static_cast<unsigned long long>(i));
    std::fflush(stdout);
  }
}

#endif  // SNKV_CRASH_WRITER_NO_MAIN
