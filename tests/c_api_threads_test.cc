// C API: thread safety and multiple handles on one file.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "c_api_test_util.h"
#include "kvstore.h"
#include "test_util.h"

namespace {

using snkv::test::Count;
using snkv::test::FileSize;
using snkv::test::Get;
using snkv::test::OpenWal;
using snkv::test::Put;
using snkv::test::TempDir;

std::string KeyOf(int thread, int i) {
  char k[32];
  std::snprintf(k, sizeof k, "t%d:%05d", thread, i);
  return k;
}

// Failures seen by several threads, each with what failed (and SQLite's
// code where there is one), so that a failed run says what went wrong.
class Failures {
 public:
  void Add(const std::string& what, int rc = KVSTORE_OK) {
    std::lock_guard<std::mutex> lock(mu_);
    text_ += what;
    if (rc != KVSTORE_OK) text_ += " (rc " + std::to_string(rc) + ")";
    text_ += "\n";
  }
  std::string Text() {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }

 private:
  std::mutex mu_;
  std::string text_;
};

TEST(CApiThreads, OneHandleSharedByFourThreads) {
  TempDir dir;
  KVStore* kv = OpenWal(dir.file("a.db"), 0);
  KVColumnFamily* cf = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv, "shared", &cf), KVSTORE_OK);
  constexpr int kThreads = 4;
  constexpr int kKeys = 400;
  Failures errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kKeys; ++i) {
        std::string k = KeyOf(t, i);
        std::string v = "value-" + k;
        if (int rc = Put(kv, k, v); rc != KVSTORE_OK)
          errors.Add("put " + k, rc);
        if (kvstore_cf_put(cf, k.data(), static_cast<int>(k.size()), v.data(),
                           static_cast<int>(v.size())) != KVSTORE_OK) {
          errors.Add("cf put " + k);
        }
        if (std::string got = Get(kv, k); got != v) {
          errors.Add("get " + k + ": " + got);
        }
        if (i % 50 == 49) {
          // Scan this thread's own keys so far with a private iterator.
          std::string prefix = "t" + std::to_string(t) + ":";
          KVIterator* it = nullptr;
          if (kvstore_prefix_iterator_create(kv, prefix.data(),
                                             static_cast<int>(prefix.size()),
                                             &it) != KVSTORE_OK) {
            errors.Add("prefix iterator create");
            continue;
          }
          int seen = 0;
          std::string last;
          while (!kvstore_iterator_eof(it)) {
            void* kp = nullptr;
            int kn = 0;
            if (kvstore_iterator_key(it, &kp, &kn) != KVSTORE_OK) {
              errors.Add("iterator key");
              break;
            }
            std::string key(static_cast<char*>(kp), static_cast<size_t>(kn));
            if (!last.empty() && key <= last) {
              errors.Add("iterator order: " + key + " after " + last);
            }
            last = key;
            ++seen;
            if (int rc = kvstore_iterator_next(it); rc != KVSTORE_OK) {
              errors.Add("iterator next", rc);
            }
          }
          kvstore_iterator_close(it);
          if (seen != i + 1) {
            errors.Add("prefix scan saw " + std::to_string(seen) + " of " +
                       std::to_string(i + 1));
          }
          KVIterator* rit = nullptr;
          if (kvstore_cf_reverse_iterator_create(cf, &rit) == KVSTORE_OK) {
            kvstore_iterator_last(rit);
            while (!kvstore_iterator_eof(rit)) kvstore_iterator_prev(rit);
            kvstore_iterator_close(rit);
          } else {
            errors.Add("reverse iterator create");
          }
        }
        if (i % 3 == 0) {
          if (int rc = kvstore_delete(kv, k.data(), static_cast<int>(k.size()));
              rc != KVSTORE_OK) {
            errors.Add("delete " + k, rc);
          }
          if (int rc = Put(kv, k, v); rc != KVSTORE_OK) {
            errors.Add("put again " + k, rc);
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.Text(), "");
  EXPECT_EQ(Count(kv), kThreads * kKeys);
  int64_t n = -1;
  ASSERT_EQ(kvstore_cf_count(cf, &n), KVSTORE_OK);
  EXPECT_EQ(n, kThreads * kKeys);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(Get(kv, KeyOf(t, kKeys - 1)), "value-" + KeyOf(t, kKeys - 1));
  }
  kvstore_cf_close(cf);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiThreads, SharedHandleWithTransactionsFromManyThreads) {
  // Transactions belong to the handle; threads taking turns with explicit
  // transactions under their own lock must not lose or tear anything.
  TempDir dir;
  KVStore* kv = OpenWal(dir.file("a.db"), 0);
  std::mutex txn_mu;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int batch = 0; batch < 20; ++batch) {
        std::lock_guard<std::mutex> lock(txn_mu);
        if (kvstore_begin(kv, 1) != KVSTORE_OK) ++errors;
        for (int i = 0; i < 10; ++i) {
          if (Put(kv, KeyOf(t, batch * 10 + i), "v") != KVSTORE_OK) ++errors;
        }
        if (kvstore_commit(kv) != KVSTORE_OK) ++errors;
      }
    });
  }
  // A reader on its own handle runs alongside and only ever sees whole
  // batches.
  std::atomic<bool> stop{false};
  KVStore* other = OpenWal(dir.file("a.db"), 60000);
  std::thread reader([&] {
    while (!stop) {
      int64_t n = -1;
      if (kvstore_count(other, &n) != KVSTORE_OK) ++errors;
      if (n % 10 != 0) ++errors;  // only whole batches are ever visible
      std::this_thread::yield();
    }
  });
  for (auto& th : threads) th.join();
  stop = true;
  reader.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(Count(kv), 800);
  EXPECT_EQ(Count(other), 800);
  EXPECT_EQ(kvstore_close(other), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiThreads, OneHandlePerThreadOnTheSameFile) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStore* setup = OpenWal(path, 0);
  ASSERT_EQ(kvstore_close(setup), KVSTORE_OK);
  constexpr int kThreads = 4;
  constexpr int kKeys = 200;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      KVStore* kv = OpenWal(path, 60000);
      if (kv == nullptr) {
        ++errors;
        return;
      }
      for (int i = 0; i < kKeys; ++i) {
        std::string k = KeyOf(t, i);
        if (i % 20 == 0) {
          if (kvstore_begin(kv, 1) != KVSTORE_OK) ++errors;
          for (int j = 0; j < 5; ++j) {
            if (Put(kv, k + "-batch" + std::to_string(j), "b") != KVSTORE_OK) {
              ++errors;
            }
          }
          if (kvstore_commit(kv) != KVSTORE_OK) ++errors;
        }
        if (Put(kv, k, "v" + std::to_string(i)) != KVSTORE_OK) ++errors;
        if (Get(kv, k) != "v" + std::to_string(i)) ++errors;
        int ins = -1;
        std::string shared = "shared" + std::to_string(i);
        if (kvstore_put_if_absent(kv, shared.data(),
                                  static_cast<int>(shared.size()), "x", 1, 0,
                                  &ins) != KVSTORE_OK) {
          ++errors;
        }
      }
      if (kvstore_close(kv) != KVSTORE_OK) ++errors;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  KVStore* kv = OpenWal(path, 0);
  EXPECT_EQ(Count(kv), kThreads * kKeys + kThreads * (kKeys / 20) * 5 + kKeys);
  char* msg = nullptr;
  EXPECT_EQ(kvstore_integrity_check(kv, &msg), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiThreads, AnotherHandleSeesCommitsImmediately) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStore* a = OpenWal(path, 5000);
  KVStore* b = OpenWal(path, 5000);
  KVColumnFamily* bcf = nullptr;
  ASSERT_EQ(Put(a, "k", "1"), KVSTORE_OK);
  EXPECT_EQ(Get(b, "k"), "1");
  ASSERT_EQ(Put(a, "k", "2"), KVSTORE_OK);
  EXPECT_EQ(Get(b, "k"), "2");
  int e = -1;
  ASSERT_EQ(Put(a, "n", "x"), KVSTORE_OK);
  ASSERT_EQ(kvstore_exists(b, "n", 1, &e), KVSTORE_OK);
  EXPECT_EQ(e, 1);
  EXPECT_EQ(Count(b), 2);

  // Families created by A are visible to B at once, and their data too.
  KVColumnFamily* acf = nullptr;
  ASSERT_EQ(kvstore_cf_create(a, "fam", &acf), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_open(b, "fam", &bcf), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_put(acf, "c", 1, "1", 1), KVSTORE_OK);
  void* p = nullptr;
  int n = 0;
  ASSERT_EQ(kvstore_cf_get(bcf, "c", 1, &p, &n), KVSTORE_OK);
  EXPECT_EQ(std::string(static_cast<char*>(p), static_cast<size_t>(n)), "1");
  snkv_free(p);

  // Also across a TRUNCATE checkpoint by A, which resets the log.
  ASSERT_EQ(
      kvstore_checkpoint(a, KVSTORE_CHECKPOINT_TRUNCATE, nullptr, nullptr),
      KVSTORE_OK);
  EXPECT_EQ(Get(b, "k"), "2");
  ASSERT_EQ(Put(a, "k", "3"), KVSTORE_OK);
  EXPECT_EQ(Get(b, "k"), "3");
  ASSERT_EQ(
      kvstore_checkpoint(a, KVSTORE_CHECKPOINT_TRUNCATE, nullptr, nullptr),
      KVSTORE_OK);
  ASSERT_EQ(Put(a, "k", "4"), KVSTORE_OK);
  ASSERT_EQ(kvstore_delete(a, "n", 1), KVSTORE_OK);
  EXPECT_EQ(Get(b, "k"), "4");
  ASSERT_EQ(kvstore_exists(b, "n", 1, &e), KVSTORE_OK);
  EXPECT_EQ(e, 0);
  ASSERT_EQ(kvstore_cf_put(acf, "c", 1, "2", 1), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_get(bcf, "c", 1, &p, &n), KVSTORE_OK);
  EXPECT_EQ(std::string(static_cast<char*>(p), static_cast<size_t>(n)), "2");
  snkv_free(p);
  // B's iterators see it too.
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_iterator_create(b, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_eof(it), 0);
  void* vp = nullptr;
  int vn = 0;
  ASSERT_EQ(kvstore_iterator_value(it, &vp, &vn), KVSTORE_OK);
  EXPECT_EQ(std::string(static_cast<char*>(vp), static_cast<size_t>(vn)), "4");
  kvstore_iterator_close(it);

  // And B's writes reach A the same way.
  ASSERT_EQ(Put(b, "from-b", "y"), KVSTORE_OK);
  EXPECT_EQ(Get(a, "from-b"), "y");

  kvstore_cf_close(acf);
  kvstore_cf_close(bcf);
  EXPECT_EQ(kvstore_close(b), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(a), KVSTORE_OK);
}

TEST(CApiThreads, TruncateCheckpointSucceedsWhileAnotherHandleIsIdle) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStore* a = OpenWal(path, 0);
  KVStore* b = OpenWal(path, 0);
  // B uses every kind of read and write, then goes idle.
  KVColumnFamily* cf = nullptr;
  ASSERT_EQ(kvstore_cf_create(b, "c", &cf), KVSTORE_OK);
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(Put(b, "k" + std::to_string(i), std::string(200, 'b')),
              KVSTORE_OK);
  }
  ASSERT_EQ(kvstore_cf_put(cf, "x", 1, "y", 1), KVSTORE_OK);
  ASSERT_EQ(kvstore_put_ttl(b, "t", 1, "v", 1, kvstore_now_ms() + 60000),
            KVSTORE_OK);
  EXPECT_EQ(Get(b, "k1"), std::string(200, 'b'));
  int e = 0;
  int64_t rem = 0;
  int64_t n = 0;
  ASSERT_EQ(kvstore_exists(b, "k2", 2, &e), KVSTORE_OK);
  ASSERT_EQ(kvstore_ttl_remaining(b, "t", 1, &rem), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_count(cf, &n), KVSTORE_OK);
  void* p = nullptr;
  int pn = 0;
  ASSERT_EQ(kvstore_cf_get(cf, "x", 1, &p, &pn), KVSTORE_OK);
  snkv_free(p);
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_iterator_create(b, &it), KVSTORE_OK);
  kvstore_iterator_first(it);
  while (!kvstore_iterator_eof(it)) kvstore_iterator_next(it);
  kvstore_iterator_close(it);
  ASSERT_EQ(kvstore_prefix_iterator_create(b, "k1", 2, &it), KVSTORE_OK);
  kvstore_iterator_close(it);  // closed while positioned
  ASSERT_EQ(kvstore_begin(b, 0), KVSTORE_OK);
  EXPECT_EQ(Get(b, "k3"), std::string(200, 'b'));
  ASSERT_EQ(kvstore_commit(b), KVSTORE_OK);
  ASSERT_EQ(Put(a, "from-a", "1"), KVSTORE_OK);

  int log = -7;
  int ckpt = -7;
  EXPECT_EQ(kvstore_checkpoint(a, KVSTORE_CHECKPOINT_TRUNCATE, &log, &ckpt),
            KVSTORE_OK)
      << kvstore_errmsg(a);
  EXPECT_EQ(FileSize(path + "-wal"), 0);
  // And the other way round.
  ASSERT_EQ(Put(a, "from-a", "2"), KVSTORE_OK);
  EXPECT_EQ(
      kvstore_checkpoint(b, KVSTORE_CHECKPOINT_TRUNCATE, nullptr, nullptr),
      KVSTORE_OK)
      << kvstore_errmsg(b);
  EXPECT_EQ(FileSize(path + "-wal"), 0);
  EXPECT_EQ(Get(b, "from-a"), "2");
  kvstore_cf_close(cf);
  EXPECT_EQ(kvstore_close(b), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(a), KVSTORE_OK);
}

TEST(CApiThreads, ReadersRunWhileAWriterCommits) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStore* writer = OpenWal(path, 60000);
  ASSERT_EQ(Put(writer, "counter", "0"), KVSTORE_OK);
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      KVStore* kv = OpenWal(path, 60000);
      if (kv == nullptr) {
        ++errors;
        return;
      }
      int last = 0;
      while (!stop) {
        std::string v = Get(kv, "counter");
        if (v.empty() || v[0] == '<') {
          ++errors;
          break;
        }
        int now = std::stoi(v);
        if (now < last) ++errors;  // never goes back in time
        last = now;
      }
      kvstore_close(kv);
    });
  }
  for (int i = 1; i <= 300; ++i) {
    ASSERT_EQ(Put(writer, "counter", std::to_string(i)), KVSTORE_OK);
  }
  stop = true;
  for (auto& th : readers) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(kvstore_close(writer), KVSTORE_OK);
}

}  // namespace

// The same, many times over with busy timeout 0, so that the checkpoint
// often runs while the idle releaser's thread is in the middle of a round:
// the releaser used to take the list of handles away for its round, and a
// checkpoint then could not release the other handle's write pin (BUSY).
TEST(CApiThreads, TruncateCheckpointNeverMissesAnIdleWriterDuringARound) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStore* a = OpenWal(path, 0);
  KVStore* b = OpenWal(path, 0);
  for (int i = 0; i < 600; ++i) {
    ASSERT_EQ(Put(a, "k", std::to_string(i)), KVSTORE_OK);
    ASSERT_EQ(
        kvstore_checkpoint(b, KVSTORE_CHECKPOINT_TRUNCATE, nullptr, nullptr),
        KVSTORE_OK)
        << "round " << i << ": " << kvstore_errmsg(b);
    if (i % 7 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(kvstore_close(b), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(a), KVSTORE_OK);
}
