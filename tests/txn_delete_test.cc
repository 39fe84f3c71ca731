// Deletes inside a write transaction wait in the write buffer with the
// puts (as erases) and are written in key order at commit or when a read
// needs them. Whether a delete found its key is decided at once, from the
// buffer, from the transaction's snapshot pages or through SQL; these
// tests pin down that every one of those answers matches what the store
// holds, and that reads, rollback, other handles and expiry treat
// buffered deletes like written ones.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "snkv/snkv.h"
#include "test_util.h"

namespace snkv {
namespace {

class TxnDeleteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("delete.db");
    ASSERT_TRUE(Store::Open(path_, {}, &db_).ok());
  }

  // The value of key, "<absent>" when not found, or "<status>" when the
  // get fails otherwise.
  std::string Get(Store& db, const std::string& key) {
    std::string v;
    Status s = db.Get(key, &v);
    if (s.IsNotFound()) return "<absent>";
    return s.ok() ? v : "<" + s.ToString() + ">";
  }
  int64_t Count(Store& db) {
    int64_t n = -1;
    EXPECT_TRUE(db.DefaultColumnFamily().Count(&n).ok());
    return n;
  }
  // Commits keys k0..k<n-1> with values v<i>.
  void Load(int n) {
    ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
    for (int i = 0; i < n; ++i)
      ASSERT_TRUE(
          db_.Put("k" + std::to_string(i), "v" + std::to_string(i)).ok());
    ASSERT_TRUE(db_.Commit().ok());
  }

  test::TempDir dir_;
  std::string path_;
  Store db_;
};

TEST_F(TxnDeleteTest, EachDeleteSaysWhetherItsKeyLived) {
  Load(10);
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  EXPECT_TRUE(db_.Delete("k1").ok());               // committed key
  EXPECT_TRUE(db_.Delete("k1").IsNotFound());       // already deleted here
  EXPECT_TRUE(db_.Delete("missing").IsNotFound());  // never there
  ASSERT_TRUE(db_.Put("new", "x").ok());
  EXPECT_TRUE(db_.Delete("new").ok());  // put in this transaction
  EXPECT_TRUE(db_.Delete("new").IsNotFound());
  EXPECT_TRUE(db_.Delete("k2").ok());
  ASSERT_TRUE(db_.Put("k2", "again").ok());  // deleted, then put back
  EXPECT_TRUE(db_.Delete("").IsNotFound());  // an empty key is just absent
  ASSERT_TRUE(db_.Commit().ok());
  EXPECT_EQ(Get(db_, "k1"), "<absent>");
  EXPECT_EQ(Get(db_, "new"), "<absent>");
  EXPECT_EQ(Get(db_, "k2"), "again");
  EXPECT_EQ(Get(db_, "k3"), "v3");
  EXPECT_EQ(Count(db_), 9);
  Stats stats;
  ASSERT_TRUE(db_.GetStats(&stats).ok());
  EXPECT_EQ(stats.deletes, 3u);  // k1, new, k2
}

TEST_F(TxnDeleteTest, ReadsInTheTransactionSeeBufferedDeletes) {
  Load(100);
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  for (int i = 0; i < 100; i += 2)
    ASSERT_TRUE(db_.Delete("k" + std::to_string(i)).ok());
  bool exists = true;
  ASSERT_TRUE(db_.Exists("k0", &exists).ok());  // writes the buffer out
  EXPECT_FALSE(exists);
  EXPECT_EQ(Count(db_), 50);
  // After the buffer was written out, deletes are answered through SQL.
  EXPECT_TRUE(db_.Delete("k1").ok());
  EXPECT_TRUE(db_.Delete("k0").IsNotFound());
  int seen = 0;
  for (const auto& [k, v] : db_.NewIterator()) {
    const int i = std::stoi(k.ToString().substr(1));
    EXPECT_TRUE(i % 2 == 1 && i != 1) << k.ToString();
    ++seen;
  }
  EXPECT_EQ(seen, 49);
  ASSERT_TRUE(db_.Commit().ok());
  EXPECT_EQ(Count(db_), 49);
}

TEST_F(TxnDeleteTest, RollbackBringsDeletedKeysBack) {
  Load(20);
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(db_.Delete("k" + std::to_string(i)).ok());
  ASSERT_TRUE(db_.Rollback().ok());
  EXPECT_EQ(Count(db_), 20);
  EXPECT_EQ(Get(db_, "k7"), "v7");
  // A later transaction starts from a clean buffer.
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  EXPECT_TRUE(db_.Delete("k7").ok());
  ASSERT_TRUE(db_.Commit().ok());
  EXPECT_EQ(Count(db_), 19);
}

TEST_F(TxnDeleteTest, OtherHandlesSeeTheDeletesOnlyAfterCommit) {
  Load(10);
  Store other;
  ASSERT_TRUE(Store::Open(path_, {}, &other).ok());
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(db_.Delete("k" + std::to_string(i)).ok());
  EXPECT_EQ(Get(other, "k3"), "v3");
  EXPECT_EQ(Count(other), 10);
  ASSERT_TRUE(db_.Commit().ok());
  EXPECT_EQ(Get(other, "k3"), "<absent>");
  EXPECT_EQ(Count(other), 0);
}

TEST_F(TxnDeleteTest, ExpiredKeysAreNotFoundAndTheirRowsGo) {
  ASSERT_TRUE(db_.Put("expired", "x", NowMs() - 1).ok());
  ASSERT_TRUE(db_.Put("live", "y", NowMs() + 3'600'000).ok());
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  EXPECT_TRUE(db_.Delete("expired").IsNotFound());
  EXPECT_TRUE(db_.Delete("live").ok());
  ASSERT_TRUE(db_.Put("buffered", "z", NowMs() - 1).ok());  // expired at once
  EXPECT_TRUE(db_.Delete("buffered").IsNotFound());
  ASSERT_TRUE(db_.Commit().ok());
  EXPECT_EQ(Count(db_), 0);  // the expired rows are gone, not only hidden
  Stats stats;
  ASSERT_TRUE(db_.GetStats(&stats).ok());
  EXPECT_EQ(stats.deletes, 1u);
  EXPECT_EQ(stats.ttl_expired, 1u);
}

// Schema changes and page moves inside the transaction make its snapshot
// pages stale: deletes must then be answered from what the transaction
// sees, not from the snapshot.
TEST_F(TxnDeleteTest, SchemaChangesAndVacuumInTheTransactionAreSeen) {
  Load(50);
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  EXPECT_TRUE(db_.Delete("k0").ok());  // the snapshot pages are in use
  ColumnFamily fresh;
  ASSERT_TRUE(db_.CreateColumnFamily("fresh", &fresh).ok());
  ASSERT_TRUE(fresh.Put("a", "1").ok());
  EXPECT_TRUE(fresh.Delete("a").ok());
  EXPECT_TRUE(fresh.Delete("a").IsNotFound());
  EXPECT_TRUE(db_.Delete("k1").ok());
  EXPECT_TRUE(db_.Delete("k0").IsNotFound());
  ASSERT_TRUE(db_.Put("ttl", "t", NowMs() + 3'600'000).ok());  // expiry index
  EXPECT_TRUE(db_.Delete("ttl").ok());
  ASSERT_TRUE(db_.Commit().ok());

  // Free pages, then vacuum them away inside a transaction that deletes.
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  for (int i = 2; i < 40; ++i)
    ASSERT_TRUE(db_.Put("k" + std::to_string(i), std::string(3000, 'p')).ok());
  ASSERT_TRUE(db_.Commit().ok());
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  for (int i = 2; i < 30; ++i)
    ASSERT_TRUE(db_.Delete("k" + std::to_string(i)).ok());
  ASSERT_TRUE(db_.IncrementalVacuum(0).ok());
  for (int i = 30; i < 50; ++i)
    ASSERT_TRUE(db_.Delete("k" + std::to_string(i)).ok());
  EXPECT_TRUE(db_.Delete("k29").IsNotFound());
  ASSERT_TRUE(db_.Commit().ok());
  EXPECT_EQ(Count(db_), 0);
}

// Random puts, expiring puts, deletes and reads in transactions that
// commit or roll back, against a model; every delete's answer and the
// final contents (through this handle and a new one) must match it.
TEST_F(TxnDeleteTest, RandomTransactionsMatchAModel) {
  std::mt19937 rng(21);
  std::map<std::string, std::string> model;
  Load(0);
  for (int txn = 0; txn < 30; ++txn) {
    std::map<std::string, std::string> working = model;
    ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
    const int ops = 50 + static_cast<int>(rng() % 400);
    for (int op = 0; op < ops; ++op) {
      const std::string key = "k" + std::to_string(rng() % 300);
      const unsigned what = rng() % 100;
      if (what < 45) {
        const std::string value =
            "v" + std::to_string(txn) + "." + std::to_string(op);
        ASSERT_TRUE(db_.Put(key, value).ok());
        working[key] = value;
      } else if (what < 50) {
        ASSERT_TRUE(db_.Put(key, "dead", NowMs() - 1).ok());
        working.erase(key);  // expired as soon as written
      } else if (what < 95) {
        const bool lived = working.erase(key) > 0;
        Status s = db_.Delete(key);
        ASSERT_TRUE(lived ? s.ok() : s.IsNotFound())
            << "txn " << txn << " op " << op << " " << key << ": "
            << s.ToString();
      } else {
        auto it = working.find(key);
        ASSERT_EQ(Get(db_, key), it == working.end() ? "<absent>" : it->second);
      }
    }
    if (rng() % 4 == 0) {
      ASSERT_TRUE(db_.Rollback().ok());
    } else {
      ASSERT_TRUE(db_.Commit().ok());
      model = working;
    }
  }
  Store reopened;
  ASSERT_TRUE(Store::Open(path_, {}, &reopened).ok());
  for (Store* db : {&db_, &reopened}) {
    std::map<std::string, std::string> seen;
    for (const auto& [k, v] : db->NewIterator())
      seen[k.ToString()] = v.ToString();
    EXPECT_EQ(seen, model);
  }
}

}  // namespace
}  // namespace snkv
