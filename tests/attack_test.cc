// Adversarial tests against the shared memory map, the iterators' order
// check and the vector store's internal families: each one a misuse or a
// race that a user can reach through the public API.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kvstore.h"
#include "kvstore_vec.h"
#include "test_util.h"

namespace {

int Len(const std::string& s) { return static_cast<int>(s.size()); }

std::string Key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key%06d", i);
  return buf;
}

// A value that names its key (reads can check themselves).
std::string ValueFor(const std::string& k, int round) {
  std::string v = k + "#" + std::to_string(round) + "#";
  v.resize(v.size() + static_cast<size_t>((round * 131) % 3000), 'p');
  return v;
}
bool ValueNamesKey(const std::string& k, const std::string& v) {
  return v.compare(0, k.size() + 1, k + "#") == 0;
}

// The value of `k` through `kv`, or nullopt when absent / on error.
std::optional<std::string> Get(KVStore* kv, const std::string& k) {
  void* v = nullptr;
  int n = 0;
  if (kvstore_get(kv, k.data(), Len(k), &v, &n) != KVSTORE_OK) {
    return std::nullopt;
  }
  std::string out(static_cast<char*>(v), static_cast<size_t>(n));
  snkv_free(v);
  return out;
}

void Fill(KVStore* kv, const std::string& tag, int n) {
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  for (int i = 0; i < n; ++i) {
    const std::string k = Key(i);
    const std::string v = tag + std::string(100, 'x') + k;
    ASSERT_EQ(kvstore_put(kv, k.data(), Len(k), v.data(), Len(v)), KVSTORE_OK);
  }
  ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
}

// A directory on tmpfs when there is one: tmpfs hands a freed inode number
// to the next file made, which is what a registry keyed by inode must
// survive.
std::string ShmDir() {
  struct stat st {};
  if (::stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
      ::access("/dev/shm", W_OK) == 0) {
    char tmpl[] = "/dev/shm/snkv-attack-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) return tmpl;
  }
  return "";
}

void RemoveStoreFiles(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    (void)::unlink((path + suffix).c_str());
  }
}

// A handle whose file is deleted and re-created under it by another
// handle must keep reading its own (unlinked) file, as SQLite does: never
// the new file's pages. `read_first`: the handle reads once before the
// swap (so its page reader is attached to the old file by then).
void DeletedAndRecreatedUnderAnOpenHandle(bool read_first) {
  std::string dir = ShmDir();
  std::optional<snkv::test::TempDir> fallback;
  if (dir.empty()) {
    fallback.emplace();
    dir = fallback->path();
  }
  const std::string path = dir + "/store.db";
  constexpr int kKeys = 3000;
  KVStore* a = nullptr;
  ASSERT_EQ(kvstore_open_v2(path.c_str(), &a, nullptr), KVSTORE_OK);
  Fill(a, "old", kKeys);
  // Everything into the database file, so that A's snapshot reads every
  // page from the file and none from its WAL.
  ASSERT_EQ(
      kvstore_checkpoint(a, KVSTORE_CHECKPOINT_TRUNCATE, nullptr, nullptr),
      KVSTORE_OK);
  if (read_first) {
    ASSERT_EQ(Get(a, Key(7)).value_or(""),
              "old" + std::string(100, 'x') + Key(7));
  }
  RemoveStoreFiles(path);
  {
    KVStore* b = nullptr;
    ASSERT_EQ(kvstore_open_v2(path.c_str(), &b, nullptr), KVSTORE_OK);
    Fill(b, "new", kKeys);
    ASSERT_EQ(kvstore_close(b), KVSTORE_OK);
  }
  int wrong = 0;
  int missing = 0;
  for (int i = 0; i < kKeys; i += 37) {
    const std::optional<std::string> v = Get(a, Key(i));
    if (!v) {
      ++missing;
    } else if (*v != "old" + std::string(100, 'x') + Key(i)) {
      ++wrong;
    }
  }
  EXPECT_EQ(wrong, 0) << "handle A read the new file's values";
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(kvstore_close(a), KVSTORE_OK);
  RemoveStoreFiles(path);
  if (fallback == std::nullopt) (void)::rmdir(dir.c_str());
}

TEST(AttackSharedMap, FileRecreatedAtSamePathAfterFirstRead) {
  DeletedAndRecreatedUnderAnOpenHandle(/*read_first=*/true);
}

TEST(AttackSharedMap, FileRecreatedAtSamePathBeforeFirstRead) {
  DeletedAndRecreatedUnderAnOpenHandle(/*read_first=*/false);
}

// ---------------------------------------------------------------------------
// Iterators: random moves and own writes (in and out of transactions, with
// rollbacks) against a model. A healthy store must never report
// KVSTORE_CORRUPT, and every move must go strictly on in its direction.

using Model = std::map<std::string, std::string>;

class IterModel {
 public:
  IterModel(KVStore* kv, KVColumnFamily* cf, uint32_t seed)
      : kv_(kv), cf_(cf), rng_(seed) {}
  ~IterModel() { kvstore_iterator_close(it_); }

  std::string RandomKey() {
    // Short keys over a tiny alphabet: many are prefixes of others, the
    // empty key and runs of 0xFF included; plus a numbered family so that
    // scans cross many row batches.
    static const char kAlpha[] = {'\0', 'a', '\xfe', '\xff'};
    if (rng_() % 3 == 0) {
      char buf[16];
      std::snprintf(buf, sizeof(buf), "n%04u",
                    static_cast<unsigned>(rng_() % 400));
      return buf;
    }
    std::string k;
    const size_t n = rng_() % 5;
    for (size_t i = 0; i < n; ++i) k.push_back(kAlpha[rng_() % 4]);
    return k;
  }
  std::string RandomValue() {
    const uint32_t r = rng_() % 20;
    const size_t n = r == 0 ? 9000 + rng_() % 5000 : rng_() % 40;
    std::string v(n, static_cast<char>('A' + rng_() % 26));
    if (!v.empty()) v[0] = static_cast<char>(rng_());
    return v;
  }

  void Put(const std::string& k, const std::string& v) {
    const int rc = cf_ ? kvstore_cf_put(cf_, k.data(), Len(k), v.data(), Len(v))
                       : kvstore_put(kv_, k.data(), Len(k), v.data(), Len(v));
    ASSERT_EQ(rc, KVSTORE_OK) << kvstore_errmsg(kv_);
    model_[k] = v;
  }
  void Delete(const std::string& k) {
    const int rc = cf_ ? kvstore_cf_delete(cf_, k.data(), Len(k))
                       : kvstore_delete(kv_, k.data(), Len(k));
    ASSERT_EQ(rc, model_.count(k) ? KVSTORE_OK : KVSTORE_NOTFOUND)
        << kvstore_errmsg(kv_);
    model_.erase(k);
  }

  void NewIterator() {
    kvstore_iterator_close(it_);
    it_ = nullptr;
    reverse_ = rng_() % 2 == 0;
    static const std::vector<std::string> kPrefixes = {
        "", "", "a", "\xff", "\xff\xff", "\xfe\xff", "n0", "n01", "\0"};
    prefix_ = kPrefixes[rng_() % kPrefixes.size()];
    if (prefix_ == std::string("\0")) prefix_ = std::string(1, '\0');
    int rc = KVSTORE_ERROR;
    if (prefix_.empty()) {
      rc = cf_ ? (reverse_ ? kvstore_cf_reverse_iterator_create(cf_, &it_)
                           : kvstore_cf_iterator_create(cf_, &it_))
               : (reverse_ ? kvstore_reverse_iterator_create(kv_, &it_)
                           : kvstore_iterator_create(kv_, &it_));
    } else {
      rc = cf_ ? (reverse_ ? kvstore_cf_reverse_prefix_iterator_create(
                                 cf_, prefix_.data(), Len(prefix_), &it_)
                           : kvstore_cf_prefix_iterator_create(
                                 cf_, prefix_.data(), Len(prefix_), &it_))
               : (reverse_ ? kvstore_reverse_prefix_iterator_create(
                                 kv_, prefix_.data(), Len(prefix_), &it_)
                           : kvstore_prefix_iterator_create(
                                 kv_, prefix_.data(), Len(prefix_), &it_));
    }
    ASSERT_EQ(rc, KVSTORE_OK) << kvstore_errmsg(kv_);
    last_.reset();
  }

  // One random step; records a failure through gtest.
  void Step(std::string* trace) {
    const uint32_t r = rng_() % 100;
    char line[96];
    if (it_ == nullptr || r < 3) {
      NewIterator();
      std::snprintf(line, sizeof(line), "new rev=%d prefix=%zu\n", reverse_,
                    prefix_.size());
      *trace += line;
      Position(rng_() % 2 == 0 ? "first" : "seek");
      return;
    }
    if (r < 45) {
      const bool forward = rng_() % 5 != 0;
      Move(forward);
      return;
    }
    if (r < 50) {
      Position(rng_() % 2 == 0 ? "first" : "seek");
      return;
    }
    if (r < 62) {
      const std::string k = RandomKey();
      *trace += "put\n";
      Put(k, RandomValue());
    } else if (r < 68) {
      if (current_) {
        *trace += "overwrite current\n";
        Put(*current_, RandomValue());
      }
    } else if (r < 76) {
      const std::string k =
          current_ && rng_() % 2 == 0 ? *current_ : RandomKey();
      *trace += "delete\n";
      Delete(k);
    } else if (r < 82) {
      if (!in_txn_) {
        if (kvstore_begin(kv_, 1) == KVSTORE_OK) {
          in_txn_ = true;
          saved_ = model_;
          *trace += "begin\n";
        }
      }
    } else if (r < 88) {
      if (in_txn_) {
        ASSERT_EQ(kvstore_commit(kv_), KVSTORE_OK) << kvstore_errmsg(kv_);
        in_txn_ = false;
        *trace += "commit\n";
      }
    } else if (r < 93) {
      if (in_txn_) {
        ASSERT_EQ(kvstore_rollback(kv_), KVSTORE_OK) << kvstore_errmsg(kv_);
        in_txn_ = false;
        model_ = saved_;
        *trace += "rollback\n";
      }
    } else {
      // Delete a run of keys at once (a transaction of its own when none
      // is open), ahead of the cursor or behind it.
      *trace += "delete run\n";
      std::vector<std::string> victims;
      for (const auto& [k, v] : model_) {
        if (rng_() % 16 == 0) victims.push_back(k);
      }
      for (const std::string& k : victims) Delete(k);
    }
  }

  void Position(const char* how) {
    int rc = KVSTORE_OK;
    std::string target;
    if (std::strcmp(how, "first") == 0) {
      rc = reverse_ ? kvstore_iterator_last(it_) : kvstore_iterator_first(it_);
    } else {
      target = rng_() % 2 ? prefix_ + RandomKey() : RandomKey();
      rc = kvstore_iterator_seek(it_, target.data(), Len(target));
    }
    ASSERT_EQ(rc, KVSTORE_OK) << how << ": " << kvstore_errmsg(kv_);
    last_.reset();
    Check(reverse_ ? false : true, /*ordered=*/false);
  }

  void Move(bool forward_in_scan) {
    if (kvstore_iterator_eof(it_)) {
      Position(rng_() % 2 == 0 ? "first" : "seek");
      return;
    }
    const bool forward = reverse_ ? !forward_in_scan : forward_in_scan;
    const int rc =
        forward ? kvstore_iterator_next(it_) : kvstore_iterator_prev(it_);
    ASSERT_NE(rc, KVSTORE_CORRUPT)
        << "false corruption on a healthy store: " << kvstore_errmsg(kv_);
    ASSERT_EQ(rc, KVSTORE_OK) << kvstore_errmsg(kv_);
    Check(forward, /*ordered=*/true);
  }

  void Check(bool forward, bool ordered) {
    current_.reset();
    if (kvstore_iterator_eof(it_)) {
      last_.reset();
      return;
    }
    void* p = nullptr;
    int n = 0;
    ASSERT_EQ(kvstore_iterator_key(it_, &p, &n), KVSTORE_OK);
    std::string k(static_cast<char*>(p), static_cast<size_t>(n));
    ASSERT_EQ(kvstore_iterator_value(it_, &p, &n), KVSTORE_OK);
    std::string v(static_cast<char*>(p), static_cast<size_t>(n));
    ASSERT_EQ(k.compare(0, prefix_.size(), prefix_), 0) << "out of prefix";
    if (ordered && last_) {
      if (forward) {
        ASSERT_GT(k, *last_) << "forward move did not go on";
      } else {
        ASSERT_LT(k, *last_) << "backward move did not go back";
      }
    }
    auto found = model_.find(k);
    ASSERT_TRUE(found != model_.end()) << "returned a key the model lacks";
    ASSERT_EQ(v.size(), found->second.size());
    ASSERT_TRUE(v == found->second) << "stale value";
    last_ = k;
    current_ = k;
    ++positions_;
  }
  long positions() const { return positions_; }

  void Finish() {
    kvstore_iterator_close(it_);
    it_ = nullptr;
    if (in_txn_) {
      ASSERT_EQ(kvstore_commit(kv_), KVSTORE_OK);
      in_txn_ = false;
    }
  }

 private:
  KVStore* kv_;
  KVColumnFamily* cf_;
  std::mt19937 rng_;
  Model model_;
  Model saved_;
  bool in_txn_ = false;
  KVIterator* it_ = nullptr;
  bool reverse_ = false;
  std::string prefix_;
  std::optional<std::string> last_;
  std::optional<std::string> current_;
  long positions_ = 0;  // entries checked
};

// Seeds per model test: 20, or $SNKV_ATTACK_SEEDS for a longer hunt.
uint32_t Seeds() {
  const char* env = std::getenv("SNKV_ATTACK_SEEDS");
  const long n = env != nullptr ? std::strtol(env, nullptr, 10) : 0;
  return n > 0 ? static_cast<uint32_t>(n) : 20;
}

void RunIterModel(bool use_cf, uint32_t seed, int steps) {
  snkv::test::TempDir dir;
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open_v2(dir.file("it.db").c_str(), &kv, nullptr),
            KVSTORE_OK);
  KVColumnFamily* cf = nullptr;
  if (use_cf) ASSERT_EQ(kvstore_cf_create(kv, "fam", &cf), KVSTORE_OK);
  {
    IterModel m(kv, cf, seed);
    // A base large enough for many row batches.
    for (int i = 0; i < 300; ++i) {
      m.Put(m.RandomKey(), m.RandomValue());
      if (::testing::Test::HasFatalFailure()) break;
    }
    std::string trace;
    for (int i = 0; i < steps && !::testing::Test::HasFatalFailure(); ++i) {
      m.Step(&trace);
      if (trace.size() > 4000) trace.erase(0, trace.size() - 2000);
    }
    if (::testing::Test::HasFatalFailure()) {
      ADD_FAILURE() << "seed " << seed << ", last steps:\n" << trace;
    }
    // The walk must really have visited entries, not sat at the end.
    EXPECT_GT(m.positions(), steps / 8) << "seed " << seed;
    m.Finish();
  }
  if (cf != nullptr) kvstore_cf_close(cf);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(AttackIterator, RandomMovesAndOwnWritesDefaultFamily) {
  for (uint32_t seed = 1; seed <= Seeds() && !::testing::Test::HasFailure();
       ++seed) {
    RunIterModel(false, seed, 3000);
  }
}

TEST(AttackIterator, RandomMovesAndOwnWritesColumnFamily) {
  for (uint32_t seed = 101;
       seed <= 100 + Seeds() && !::testing::Test::HasFailure(); ++seed) {
    RunIterModel(true, seed, 3000);
  }
}

// Keys expiring while a scan walks over them, and reads of the scan's own
// handle that delete expired keys ahead of it (get removes an expired key
// lazily): the scan goes strictly on, never reports KVSTORE_CORRUPT, and
// returns every key that never expires.
TEST(AttackIterator, KeysExpiringDuringAScanWithLazyDeletesAhead) {
  snkv::test::TempDir dir;
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open_v2(dir.file("ttl.db").c_str(), &kv, nullptr),
            KVSTORE_OK);
  constexpr int kKeys = 1500;
  const int64_t soon = kvstore_now_ms() + 150;
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  for (int i = 0; i < kKeys; ++i) {
    const std::string k = Key(i);
    const std::string v = ValueFor(k, i % 7 == 0 ? 40 : 1);
    if (i % 3 == 0) {
      ASSERT_EQ(kvstore_put_ttl(kv, k.data(), Len(k), v.data(), Len(v), soon),
                KVSTORE_OK);
    } else {
      ASSERT_EQ(kvstore_put(kv, k.data(), Len(k), v.data(), Len(v)),
                KVSTORE_OK);
    }
  }
  ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
  for (const bool reverse : {false, true}) {
    KVIterator* it = nullptr;
    ASSERT_EQ(reverse ? kvstore_reverse_iterator_create(kv, &it)
                      : kvstore_iterator_create(kv, &it),
              KVSTORE_OK);
    int rc = reverse ? kvstore_iterator_last(it) : kvstore_iterator_first(it);
    std::string last;
    int permanent = 0;
    int steps = 0;
    while (rc == KVSTORE_OK && !kvstore_iterator_eof(it)) {
      void* p = nullptr;
      int n = 0;
      ASSERT_EQ(kvstore_iterator_key(it, &p, &n), KVSTORE_OK);
      const std::string k(static_cast<char*>(p), static_cast<size_t>(n));
      if (!last.empty()) {
        if (reverse) {
          ASSERT_LT(k, last);
        } else {
          ASSERT_GT(k, last);
        }
      }
      last = k;
      const int i = std::stoi(k.substr(3));
      if (i % 3 != 0) ++permanent;
      if (++steps == 200) {
        // Let the TTL keys expire mid-scan.
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      if (steps > 200 && steps % 5 == 0) {
        // Lazily delete expired keys just ahead of the cursor.
        for (int d = 1; d <= 12; ++d) {
          const int j = reverse ? i - d : i + d;
          if (j >= 0 && j < kKeys) (void)Get(kv, Key(j));
        }
      }
      rc = reverse ? kvstore_iterator_prev(it) : kvstore_iterator_next(it);
    }
    EXPECT_EQ(rc, KVSTORE_OK) << kvstore_errmsg(kv);
    EXPECT_EQ(permanent, kKeys - (kKeys + 2) / 3) << "reverse " << reverse;
    kvstore_iterator_close(it);
  }
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// A scan mid-way on handle A while handle B commits, then A writes (its
// held snapshot is older than B's commit) and goes on scanning, in both
// directions and with turns: every write either lands or fails cleanly
// (BUSY), the scan never reports KVSTORE_CORRUPT and moves strictly, and
// afterwards both handles see every write that returned OK.
TEST(AttackIterator, OwnWritesAfterAnotherHandleCommittedMidScan) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("two.db");
  KVStore* a = nullptr;
  KVStore* b = nullptr;
  ASSERT_EQ(kvstore_open_v2(path.c_str(), &a, nullptr), KVSTORE_OK);
  ASSERT_EQ(kvstore_open_v2(path.c_str(), &b, nullptr), KVSTORE_OK);
  ASSERT_EQ(kvstore_begin(a, 1), KVSTORE_OK);
  for (int i = 0; i < 3000; i += 2) {
    const std::string k = Key(i);
    const std::string v = ValueFor(k, 1);
    ASSERT_EQ(kvstore_put(a, k.data(), Len(k), v.data(), Len(v)), KVSTORE_OK);
  }
  ASSERT_EQ(kvstore_commit(a), KVSTORE_OK);
  std::mt19937 rng(5);
  std::map<std::string, std::string> written;  // writes that returned OK
  for (int round = 0; round < 6; ++round) {
    const bool reverse = round % 2 == 1;
    KVIterator* it = nullptr;
    ASSERT_EQ(reverse ? kvstore_reverse_iterator_create(a, &it)
                      : kvstore_iterator_create(a, &it),
              KVSTORE_OK);
    int rc = reverse ? kvstore_iterator_last(it) : kvstore_iterator_first(it);
    std::string last;
    bool forward_last = true;
    int steps = 0;
    while (rc == KVSTORE_OK && !kvstore_iterator_eof(it) && steps < 2500) {
      void* p = nullptr;
      int n = 0;
      ASSERT_EQ(kvstore_iterator_key(it, &p, &n), KVSTORE_OK);
      const std::string k(static_cast<char*>(p), static_cast<size_t>(n));
      ASSERT_EQ(kvstore_iterator_value(it, &p, &n), KVSTORE_OK);
      const std::string v(static_cast<char*>(p), static_cast<size_t>(n));
      ASSERT_TRUE(ValueNamesKey(k, v)) << k;
      if (!last.empty()) {
        if (forward_last) {
          ASSERT_GT(k, last) << "round " << round << " step " << steps;
        } else {
          ASSERT_LT(k, last) << "round " << round << " step " << steps;
        }
      }
      last = k;
      ++steps;
      const uint32_t r = rng() % 10;
      if (r < 2) {
        const std::string bk = Key(static_cast<int>(rng() % 3000));
        const std::string bv = ValueFor(bk, 2 + round);
        const int brc = kvstore_put(b, bk.data(), Len(bk), bv.data(), Len(bv));
        ASSERT_TRUE(brc == KVSTORE_OK || brc == KVSTORE_BUSY) << brc;
        if (brc == KVSTORE_OK) written[bk] = bv;
      } else if (r < 4) {
        const std::string ak = Key(static_cast<int>(rng() % 3000));
        const std::string av = ValueFor(ak, 20 + round);
        const int arc = kvstore_put(a, ak.data(), Len(ak), av.data(), Len(av));
        ASSERT_TRUE(arc == KVSTORE_OK || arc == KVSTORE_BUSY)
            << arc << " " << kvstore_errmsg(a);
        if (arc == KVSTORE_OK) written[ak] = av;
      }
      const bool scan_forward = rng() % 6 != 0;
      forward_last = reverse ? !scan_forward : scan_forward;
      rc = forward_last ? kvstore_iterator_next(it) : kvstore_iterator_prev(it);
      ASSERT_NE(rc, KVSTORE_CORRUPT) << kvstore_errmsg(a);
    }
    EXPECT_EQ(rc, KVSTORE_OK) << kvstore_errmsg(a);
    kvstore_iterator_close(it);
  }
  for (const auto& [k, v] : written) {
    EXPECT_EQ(Get(a, k).value_or("<none>"), v) << k;
    EXPECT_EQ(Get(b, k).value_or("<none>"), v) << k;
  }
  EXPECT_EQ(kvstore_close(a), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(b), KVSTORE_OK);
}

// A column family cleared, or dropped and created again under its name,
// while a scan of it is mid-way (keys then written before and after the
// cursor): the scan ends or goes on in order, or fails cleanly; it never
// reports KVSTORE_CORRUPT and never crashes; the store stays healthy.
TEST(AttackIterator, FamilyClearedOrDroppedUnderAScan) {
  for (int mode = 0; mode < 4; ++mode) {
    snkv::test::TempDir dir;
    KVStore* kv = nullptr;
    ASSERT_EQ(kvstore_open_v2(dir.file("cf.db").c_str(), &kv, nullptr),
              KVSTORE_OK);
    KVColumnFamily* cf = nullptr;
    ASSERT_EQ(kvstore_cf_create(kv, "fam", &cf), KVSTORE_OK);
    for (int i = 0; i < 1000; i += 2) {
      const std::string k = Key(i);
      const std::string v = ValueFor(k, 1);
      ASSERT_EQ(kvstore_cf_put(cf, k.data(), Len(k), v.data(), Len(v)),
                KVSTORE_OK);
    }
    KVIterator* it = nullptr;
    const bool reverse = mode % 2 == 1;
    ASSERT_EQ(reverse ? kvstore_cf_reverse_iterator_create(cf, &it)
                      : kvstore_cf_iterator_create(cf, &it),
              KVSTORE_OK);
    int rc = reverse ? kvstore_iterator_last(it) : kvstore_iterator_first(it);
    std::string last;
    int steps = 0;
    while (rc == KVSTORE_OK && !kvstore_iterator_eof(it)) {
      void* p = nullptr;
      int n = 0;
      if (kvstore_iterator_key(it, &p, &n) != KVSTORE_OK) break;
      const std::string k(static_cast<char*>(p), static_cast<size_t>(n));
      if (!last.empty()) {
        if (reverse) {
          ASSERT_LT(k, last) << "mode " << mode;
        } else {
          ASSERT_GT(k, last) << "mode " << mode;
        }
      }
      last = k;
      if (++steps == 100) {
        if (mode < 2) {
          EXPECT_EQ(kvstore_cf_clear(cf), KVSTORE_OK) << kvstore_errmsg(kv);
        } else {
          kvstore_cf_close(cf);
          cf = nullptr;
          const int drc = kvstore_cf_drop(kv, "fam");
          EXPECT_TRUE(drc == KVSTORE_OK || drc == KVSTORE_BUSY ||
                      drc == KVSTORE_ERROR)
              << drc;
          if (kvstore_cf_open(kv, "fam", &cf) != KVSTORE_OK) {
            ASSERT_EQ(kvstore_cf_create(kv, "fam", &cf), KVSTORE_OK)
                << kvstore_errmsg(kv);
          }
        }
        for (int i = 1; i < 1000; i += 50) {
          const std::string nk = Key(i);
          const std::string nv = ValueFor(nk, 2);
          ASSERT_EQ(kvstore_cf_put(cf, nk.data(), Len(nk), nv.data(), Len(nv)),
                    KVSTORE_OK)
              << kvstore_errmsg(kv);
        }
      }
      rc = reverse ? kvstore_iterator_prev(it) : kvstore_iterator_next(it);
      ASSERT_NE(rc, KVSTORE_CORRUPT)
          << "mode " << mode << ": " << kvstore_errmsg(kv);
    }
    kvstore_iterator_close(it);
    if (cf != nullptr) kvstore_cf_close(cf);
    // The store is healthy: a fresh scan of the family is in order.
    ASSERT_EQ(kvstore_cf_open(kv, "fam", &cf), KVSTORE_OK);
    ASSERT_EQ(kvstore_cf_iterator_create(cf, &it), KVSTORE_OK);
    last.clear();
    int count = 0;
    for (rc = kvstore_iterator_first(it);
         rc == KVSTORE_OK && !kvstore_iterator_eof(it);
         rc = kvstore_iterator_next(it)) {
      void* p = nullptr;
      int n = 0;
      ASSERT_EQ(kvstore_iterator_key(it, &p, &n), KVSTORE_OK);
      const std::string k(static_cast<char*>(p), static_cast<size_t>(n));
      ASSERT_GT(k, last);
      last = k;
      ++count;
    }
    EXPECT_EQ(rc, KVSTORE_OK);
    EXPECT_GE(count, 20) << "mode " << mode;
    kvstore_iterator_close(it);
    kvstore_cf_close(cf);
    EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
  }
}

// ---------------------------------------------------------------------------
// Vector store.

KVVecStore* OpenVec(const std::string& path, int dim, int* rc) {
  KVVecStore* vs = nullptr;
  *rc = kvstore_vec_open(path.c_str(), dim, KVVEC_SPACE_L2, 0, 0, 0,
                         KVVEC_DTYPE_F32, nullptr, 0, &vs);
  return vs;
}

// A plain store whose user made families with the vector store's internal
// names and filled them with junk: opening it as a vector store must fail
// with an error or treat the families sanely, never crash or hang; the
// user's data must stay readable as plain data.
TEST(AttackVector, UserFamiliesWithInternalNamesAreHandledCleanly) {
  for (const char* name :
       {"_snkv_vec_", "_snkv_vec_meta_", "_snkv_vec_tags_", "_snkv_vec_log_"}) {
    snkv::test::TempDir dir;
    const std::string path = dir.file("v.db");
    KVStore* kv = nullptr;
    ASSERT_EQ(kvstore_open_v2(path.c_str(), &kv, nullptr), KVSTORE_OK);
    KVColumnFamily* cf = nullptr;
    const int rc = kvstore_cf_create(kv, name, &cf);
    if (rc == KVSTORE_OK) {
      for (const char* k : {"dim", "space", "dtype", "seq", "dropped", "a",
                            "\x01\x02", "12345678"}) {
        const std::string junk = "\xff\xff\xff\xff junk";
        ASSERT_EQ(kvstore_cf_put(cf, k, static_cast<int>(std::strlen(k)),
                                 junk.data(), Len(junk)),
                  KVSTORE_OK);
      }
      kvstore_cf_close(cf);
    }
    ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
    int vrc = 0;
    KVVecStore* vs = OpenVec(path, 4, &vrc);
    if (vs != nullptr) {
      const float q[4] = {1, 0, 0, 0};
      KVVecSearchResult* res = nullptr;
      int n = 0;
      (void)kvstore_vec_put(vs, "k", 1, "v", 1, q, 0, nullptr, 0);
      (void)kvstore_vec_search(vs, q, 3, 0, 0, 0, &res, &n);
      kvstore_vec_free_results(res, n);
      kvstore_vec_close(vs);
    } else {
      EXPECT_NE(vrc, KVSTORE_OK) << name;
    }
  }
}

// A dropped store reopened with another dimension: an error code (the
// drop marker or a mismatch), never a crash; and its values stay.
TEST(AttackVector, DroppedStoreReopenedWithAnotherDim) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("d.db");
  int rc = 0;
  KVVecStore* vs = OpenVec(path, 3, &rc);
  ASSERT_NE(vs, nullptr) << rc;
  const float v[3] = {1, 2, 3};
  ASSERT_EQ(kvstore_vec_put(vs, "a", 1, "va", 2, v, 0, nullptr, 0), KVSTORE_OK);
  ASSERT_EQ(kvstore_vec_drop_index(vs), KVSTORE_OK);
  kvstore_vec_close(vs);
  for (int dim : {3, 5, 1}) {
    vs = OpenVec(path, dim, &rc);
    if (vs == nullptr) {
      EXPECT_NE(rc, KVSTORE_OK);
      continue;
    }
    std::vector<float> q(static_cast<size_t>(dim), 1.0f);
    EXPECT_EQ(kvstore_vec_put(vs, "b", 1, "vb", 2, q.data(), 0, nullptr, 0),
              KVVEC_INDEX_DROPPED)
        << dim;
    KVVecSearchResult* res = nullptr;
    int n = 0;
    EXPECT_EQ(kvstore_vec_search(vs, q.data(), 1, 0, 0, 0, &res, &n),
              KVVEC_INDEX_DROPPED)
        << dim;
    void* val = nullptr;
    int nval = 0;
    ASSERT_EQ(kvstore_vec_get(vs, "a", 1, &val, &nval), KVSTORE_OK) << dim;
    EXPECT_EQ(std::string(static_cast<char*>(val), static_cast<size_t>(nval)),
              "va");
    snkv_free(val);
    kvstore_vec_close(vs);
  }
}

struct Chain {
  KVVecStore* a = nullptr;
  KVVecStore* b = nullptr;
  int inner_rc = -1;   // what A's search returned from inside B's filter
  int middle_rc = -1;  // what B's search returned from inside A's filter
  int close_rc = 0;
};

int FilterOfB(void* ctx, const void*, int, const void*, int) {
  auto* c = static_cast<Chain*>(ctx);
  const float q[2] = {0, 0};
  KVVecSearchResult* res = nullptr;
  int n = 0;
  c->inner_rc = kvstore_vec_search(c->a, q, 1, 0, 0, 0, &res, &n);
  kvstore_vec_free_results(res, n);
  // Closing A from here: A's search is still running up the stack.
  kvstore_vec_close(c->a);
  return 1;
}

int FilterOfA(void* ctx, const void*, int, const void*, int) {
  auto* c = static_cast<Chain*>(ctx);
  const float q[2] = {0, 0};
  KVVecSearchResult* res = nullptr;
  int n = 0;
  c->middle_rc = kvstore_vec_search_filtered(c->b, q, 1, 0, 0, 0, FilterOfB, c,
                                             nullptr, &res, &n);
  kvstore_vec_free_results(res, n);
  return 1;
}

// A's filter searches B, whose filter searches (and closes) A: the inner
// call into A must be refused, A's close ignored, and A still usable.
TEST(AttackVector, FilterChainBackIntoTheFirstStoreIsRefused) {
  snkv::test::TempDir dir;
  int rc = 0;
  Chain c;
  c.a = OpenVec(dir.file("a.db"), 2, &rc);
  c.b = OpenVec(dir.file("b.db"), 2, &rc);
  ASSERT_NE(c.a, nullptr);
  ASSERT_NE(c.b, nullptr);
  const float v[2] = {1, 1};
  ASSERT_EQ(kvstore_vec_put(c.a, "x", 1, "1", 1, v, 0, nullptr, 0), KVSTORE_OK);
  ASSERT_EQ(kvstore_vec_put(c.b, "y", 1, "1", 1, v, 0, nullptr, 0), KVSTORE_OK);
  KVVecSearchResult* res = nullptr;
  int n = 0;
  ASSERT_EQ(kvstore_vec_search_filtered(c.a, v, 1, 0, 0, 0, FilterOfA, &c,
                                        nullptr, &res, &n),
            KVSTORE_OK);
  EXPECT_EQ(n, 1);
  kvstore_vec_free_results(res, n);
  EXPECT_EQ(c.middle_rc, KVSTORE_OK);
  EXPECT_NE(c.inner_rc, KVSTORE_OK);
  EXPECT_NE(c.inner_rc, -1);
  // A survived the close attempt.
  EXPECT_EQ(kvstore_vec_contains(c.a, "x", 1), 1);
  kvstore_vec_close(c.a);
  kvstore_vec_close(c.b);
}

// ---------------------------------------------------------------------------
// Many handles on one file: readers (mapped and noMmap) scan and get while
// a writer grows the file, deletes most of it, vacuums it back to the file
// system and truncates the WAL. Every value read names its key (it is
// self-checking), scans go strictly forward, and nothing reports
// KVSTORE_CORRUPT or dies of SIGBUS.

TEST(AttackSharedMap, ReadersSurviveGrowShrinkVacuumAndTruncate) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("s.db");
  {
    KVStore* kv = nullptr;
    ASSERT_EQ(kvstore_open_v2(path.c_str(), &kv, nullptr), KVSTORE_OK);
    ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
  }
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<long> reads{0};
  std::string first_failure;
  std::mutex failure_mu;
  auto fail = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(failure_mu);
    if (failures.fetch_add(1) == 0) first_failure = what;
  };
  auto reader = [&](bool no_mmap, unsigned seed) {
    KVStoreConfig cfg{};
    cfg.journalMode = KVSTORE_JOURNAL_WAL;
    cfg.syncLevel = KVSTORE_SYNC_NORMAL;
    cfg.busyTimeout = 5000;
    cfg.noMmap = no_mmap ? 1 : 0;
    KVStore* kv = nullptr;
    if (kvstore_open_v2(path.c_str(), &kv, &cfg) != KVSTORE_OK) {
      fail("open");
      return;
    }
    std::mt19937 rng(seed);
    while (!stop.load()) {
      if (rng() % 2 == 0) {
        KVIterator* it = nullptr;
        const bool rev = rng() % 2 == 0;
        int rc = rev ? kvstore_reverse_iterator_create(kv, &it)
                     : kvstore_iterator_create(kv, &it);
        if (rc != KVSTORE_OK) {
          fail("iterator create " + std::to_string(rc));
          continue;
        }
        // Reverse scans start at the largest key and go down.
        rc = rev ? kvstore_iterator_last(it) : kvstore_iterator_first(it);
        std::string last;
        bool have_last = false;
        int steps = 0;
        while (rc == KVSTORE_OK && !kvstore_iterator_eof(it) && steps < 400) {
          void* p = nullptr;
          int n = 0;
          kvstore_iterator_key(it, &p, &n);
          std::string k(static_cast<char*>(p), static_cast<size_t>(n));
          kvstore_iterator_value(it, &p, &n);
          std::string v(static_cast<char*>(p), static_cast<size_t>(n));
          if (!ValueNamesKey(k, v)) fail("scan value of " + k);
          if (have_last && (rev ? k >= last : k <= last)) {
            fail("scan order at " + k);
          }
          last = k;
          have_last = true;
          rc = kvstore_iterator_next(it);
          ++steps;
          reads.fetch_add(1, std::memory_order_relaxed);
        }
        if (rc != KVSTORE_OK) fail("scan rc " + std::to_string(rc));
        kvstore_iterator_close(it);
      } else {
        const std::string k = Key(static_cast<int>(rng() % 2500));
        void* v = nullptr;
        int n = 0;
        const int rc = kvstore_get(kv, k.data(), Len(k), &v, &n);
        if (rc == KVSTORE_OK) {
          if (!ValueNamesKey(k, std::string(static_cast<char*>(v),
                                            static_cast<size_t>(n)))) {
            fail("get value of " + k);
          }
          snkv_free(v);
        } else if (rc != KVSTORE_NOTFOUND && rc != KVSTORE_BUSY) {
          fail("get rc " + std::to_string(rc));
        }
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (kvstore_close(kv) != KVSTORE_OK) fail("close");
  };
  std::vector<std::thread> threads;
  threads.emplace_back(reader, false, 1u);
  threads.emplace_back(reader, false, 2u);
  threads.emplace_back(reader, true, 3u);
  {
    KVStoreConfig cfg{};
    cfg.journalMode = KVSTORE_JOURNAL_WAL;
    cfg.syncLevel = KVSTORE_SYNC_NORMAL;
    cfg.busyTimeout = 5000;
    KVStore* w = nullptr;
    ASSERT_EQ(kvstore_open_v2(path.c_str(), &w, &cfg), KVSTORE_OK);
    for (int round = 1; round <= 6; ++round) {
      ASSERT_EQ(kvstore_begin(w, 1), KVSTORE_OK);
      const int n = round % 3 == 0 ? 400 : 2500;
      for (int i = 0; i < n; ++i) {
        const std::string k = Key(i);
        const std::string v = ValueFor(k, round);
        ASSERT_EQ(kvstore_put(w, k.data(), Len(k), v.data(), Len(v)),
                  KVSTORE_OK);
      }
      if (round % 3 == 0) {
        for (int i = 400; i < 2500; ++i) {
          const std::string k = Key(i);
          (void)kvstore_delete(w, k.data(), Len(k));
        }
      }
      ASSERT_EQ(kvstore_commit(w), KVSTORE_OK) << kvstore_errmsg(w);
      if (round % 3 == 0) {
        EXPECT_EQ(kvstore_incremental_vacuum(w, 0), KVSTORE_OK)
            << kvstore_errmsg(w);
      }
      const int rc =
          kvstore_checkpoint(w, KVSTORE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
      EXPECT_TRUE(rc == KVSTORE_OK || rc == KVSTORE_BUSY) << rc;
    }
    ASSERT_EQ(kvstore_close(w), KVSTORE_OK);
  }
  stop.store(true);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_GT(reads.load(), 0);
}

// Encrypted stores through the shared map: two encrypted handles and one
// noMmap handle on one file, writes through each, truncating checkpoints
// between, reads and scans through the others see every value.
TEST(AttackSharedMap, EncryptedAndNoMmapHandlesOnOneFile) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("enc.db");
  const std::string pw = "pw";
  KVStoreConfig plain{};
  plain.journalMode = KVSTORE_JOURNAL_WAL;
  plain.syncLevel = KVSTORE_SYNC_NORMAL;
  plain.busyTimeout = 5000;
  KVStoreConfig nomap = plain;
  nomap.noMmap = 1;
  KVStore* h[3] = {nullptr, nullptr, nullptr};
  ASSERT_EQ(
      kvstore_open_encrypted(path.c_str(), pw.data(), Len(pw), &h[0], &plain),
      KVSTORE_OK);
  ASSERT_EQ(
      kvstore_open_encrypted(path.c_str(), pw.data(), Len(pw), &h[1], &plain),
      KVSTORE_OK);
  ASSERT_EQ(
      kvstore_open_encrypted(path.c_str(), pw.data(), Len(pw), &h[2], &nomap),
      KVSTORE_OK);
  std::map<std::string, std::string> model;
  for (int round = 0; round < 6; ++round) {
    KVStore* w = h[round % 3];
    ASSERT_EQ(kvstore_begin(w, 1), KVSTORE_OK);
    for (int i = round * 150; i < round * 150 + 600; ++i) {
      const std::string k = Key(i);
      const std::string v = ValueFor(k, round + 1);
      ASSERT_EQ(kvstore_put(w, k.data(), Len(k), v.data(), Len(v)), KVSTORE_OK);
      model[k] = v;
    }
    ASSERT_EQ(kvstore_commit(w), KVSTORE_OK);
    const int rc = kvstore_checkpoint(
        h[(round + 1) % 3], KVSTORE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    EXPECT_TRUE(rc == KVSTORE_OK || rc == KVSTORE_BUSY) << rc;
    for (KVStore* r : h) {
      KVIterator* it = nullptr;
      ASSERT_EQ(kvstore_iterator_create(r, &it), KVSTORE_OK);
      int got = 0;
      for (int irc = kvstore_iterator_first(it);
           irc == KVSTORE_OK && !kvstore_iterator_eof(it);
           irc = kvstore_iterator_next(it)) {
        void* p = nullptr;
        int n = 0;
        ASSERT_EQ(kvstore_iterator_key(it, &p, &n), KVSTORE_OK);
        const std::string k(static_cast<char*>(p), static_cast<size_t>(n));
        ASSERT_EQ(kvstore_iterator_value(it, &p, &n), KVSTORE_OK)
            << kvstore_errmsg(r);
        ASSERT_EQ(std::string(static_cast<char*>(p), static_cast<size_t>(n)),
                  model[k]);
        ++got;
      }
      kvstore_iterator_close(it);
      EXPECT_EQ(got, static_cast<int>(model.size())) << "round " << round;
    }
  }
  for (KVStore* r : h) EXPECT_EQ(kvstore_close(r), KVSTORE_OK);
}

// The store's file replaced by rename() before a handle's first read: the
// handle keeps reading its own file.
TEST(AttackSharedMap, FileReplacedByRenameBeforeFirstRead) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("r.db");
  const std::string other = dir.file("other.db");
  KVStore* a = nullptr;
  ASSERT_EQ(kvstore_open_v2(path.c_str(), &a, nullptr), KVSTORE_OK);
  Fill(a, "old", 2000);
  ASSERT_EQ(
      kvstore_checkpoint(a, KVSTORE_CHECKPOINT_TRUNCATE, nullptr, nullptr),
      KVSTORE_OK);
  {
    KVStore* b = nullptr;
    ASSERT_EQ(kvstore_open_v2(other.c_str(), &b, nullptr), KVSTORE_OK);
    Fill(b, "new", 2000);
    ASSERT_EQ(kvstore_close(b), KVSTORE_OK);
  }
  ASSERT_EQ(::rename(other.c_str(), path.c_str()), 0);
  for (int i = 0; i < 2000; i += 101) {
    EXPECT_EQ(Get(a, Key(i)).value_or("<none>"),
              "old" + std::string(100, 'x') + Key(i));
  }
  EXPECT_EQ(kvstore_close(a), KVSTORE_OK);
}

// ---------------------------------------------------------------------------
// Background checkpoints that give way to writers: several writer handles
// (autocommit and batches), a handle shared by two threads, readers,
// explicit checkpoints of every mode, and handles opened and closed while
// passes may be running. No write may be lost, nothing may deadlock
// (a watchdog fails the test instead of hanging), and every call returns
// OK or BUSY.
TEST(AttackCheckpoint, WritersReadersCheckpointsAndClosesLoseNothing) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("c.db");
  KVStoreConfig cfg{};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_NORMAL;
  cfg.busyTimeout = 10000;
  constexpr int kWriters = 3;
  constexpr int kPerWriter = 600;
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::mutex msg_mu;
  std::string msg;
  auto fail = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(msg_mu);
    if (bad.fetch_add(1) == 0) msg = what;
  };
  auto key_of = [](int w, int i) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "w%d-%06d", w, i);
    return std::string(buf);
  };
  KVStore* shared = nullptr;
  ASSERT_EQ(kvstore_open_v2(path.c_str(), &shared, &cfg), KVSTORE_OK);

  auto writer = [&](int w) {
    // Writer 0 and 1 share one handle from two threads; the others own one.
    KVStore* kv = shared;
    if (w >= 2 && kvstore_open_v2(path.c_str(), &kv, &cfg) != KVSTORE_OK) {
      fail("open writer");
      return;
    }
    std::mt19937 rng(static_cast<unsigned>(w + 7));
    for (int i = 0; i < kPerWriter;) {
      if (w == 2 && rng() % 4 == 0) {
        int rc = kvstore_begin(kv, 1);
        if (rc == KVSTORE_BUSY) continue;
        if (rc != KVSTORE_OK) {
          fail("begin " + std::to_string(rc));
          return;
        }
        const int end = std::min(kPerWriter, i + 50);
        for (int j = i; j < end; ++j) {
          const std::string k = key_of(w, j);
          const std::string v = ValueFor(k, 1);
          if (kvstore_put(kv, k.data(), Len(k), v.data(), Len(v)) !=
              KVSTORE_OK) {
            fail("put in txn");
          }
        }
        rc = kvstore_commit(kv);
        if (rc != KVSTORE_OK) {
          fail("commit " + std::to_string(rc) + " " + kvstore_errmsg(kv));
          (void)kvstore_rollback(kv);
          continue;
        }
        i = end;
        continue;
      }
      const std::string k = key_of(w, i);
      const std::string v = ValueFor(k, 1);
      const int rc = kvstore_put(kv, k.data(), Len(k), v.data(), Len(v));
      if (rc == KVSTORE_BUSY) continue;
      if (rc != KVSTORE_OK) {
        fail("put " + std::to_string(rc) + " " + kvstore_errmsg(kv));
        return;
      }
      ++i;
    }
    if (kv != shared && kvstore_close(kv) != KVSTORE_OK) fail("close writer");
  };
  auto checkpointer = [&] {
    KVStore* kv = nullptr;
    if (kvstore_open_v2(path.c_str(), &kv, &cfg) != KVSTORE_OK) {
      fail("open checkpointer");
      return;
    }
    int mode = 0;
    while (!done.load()) {
      const int rc = kvstore_checkpoint(kv, mode++ % 4, nullptr, nullptr);
      if (rc != KVSTORE_OK && rc != KVSTORE_BUSY) {
        fail("checkpoint " + std::to_string(rc) + " " + kvstore_errmsg(kv));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (kvstore_close(kv) != KVSTORE_OK) fail("close checkpointer");
  };
  auto churner = [&] {
    // Handles that write a little and close, often while a background
    // pass of theirs may be running.
    int n = 0;
    while (!done.load()) {
      KVStore* kv = nullptr;
      if (kvstore_open_v2(path.c_str(), &kv, &cfg) != KVSTORE_OK) {
        fail("open churner");
        return;
      }
      for (int i = 0; i < 30; ++i, ++n) {
        const std::string k = "churn" + std::to_string(n);
        const int rc = kvstore_put(kv, k.data(), Len(k), "v", 1);
        if (rc != KVSTORE_OK && rc != KVSTORE_BUSY) fail("churn put");
      }
      if (kvstore_close(kv) != KVSTORE_OK) fail("close churner");
    }
  };
  auto reader = [&] {
    KVStore* kv = nullptr;
    if (kvstore_open_v2(path.c_str(), &kv, &cfg) != KVSTORE_OK) {
      fail("open reader");
      return;
    }
    std::mt19937 rng(99);
    while (!done.load()) {
      const std::string k = key_of(static_cast<int>(rng() % kWriters),
                                   static_cast<int>(rng() % kPerWriter));
      void* v = nullptr;
      int n = 0;
      const int rc = kvstore_get(kv, k.data(), Len(k), &v, &n);
      if (rc == KVSTORE_OK) {
        if (std::string(static_cast<char*>(v), static_cast<size_t>(n)) !=
            ValueFor(k, 1)) {
          fail("reader value of " + k);
        }
        snkv_free(v);
      } else if (rc != KVSTORE_NOTFOUND && rc != KVSTORE_BUSY) {
        fail("reader rc " + std::to_string(rc));
      }
    }
    if (kvstore_close(kv) != KVSTORE_OK) fail("close reader");
  };

  std::atomic<bool> finished{false};
  std::thread watchdog([&] {
    for (int i = 0; i < 2400 && !finished.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!finished.load()) {
      std::fprintf(stderr, "deadlock: writers did not finish in 240 s\n");
      std::abort();
    }
  });
  std::vector<std::thread> aux;
  aux.emplace_back(checkpointer);
  aux.emplace_back(churner);
  aux.emplace_back(reader);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) writers.emplace_back(writer, w);
  for (std::thread& t : writers) t.join();
  done.store(true);
  for (std::thread& t : aux) t.join();
  EXPECT_EQ(kvstore_close(shared), KVSTORE_OK);
  finished.store(true);
  watchdog.join();
  EXPECT_EQ(bad.load(), 0) << msg;

  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open_v2(path.c_str(), &kv, &cfg), KVSTORE_OK);
  int lost = 0;
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 0; i < kPerWriter; ++i) {
      const std::string k = key_of(w, i);
      if (Get(kv, k) != ValueFor(k, 1)) ++lost;
    }
  }
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

}  // namespace
