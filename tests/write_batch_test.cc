// Puts inside a write transaction are buffered, sorted by key and written
// out together. Nothing about that may be observable: these tests pin down that
// every read in the transaction sees every earlier put, in order, and that
// rollback, close and commit treat buffered puts like written ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>

#include "snkv/snkv.h"
#include "test_util.h"

namespace snkv {
namespace {

class WriteBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("batch.db");
    ASSERT_TRUE(Store::Open(path_, {}, &db_).ok());
    ASSERT_TRUE(db_.CreateColumnFamily("other", &other_).ok());
  }

  std::string Get(ColumnFamily cf, const std::string& key) {
    std::string v;
    Status s = cf.Get(key, &v);
    return s.ok() ? v : "<" + s.ToString() + ">";
  }

  test::TempDir dir_;
  std::string path_;
  Store db_;
  ColumnFamily other_;
};

std::string Key(int i) { return "key" + std::to_string(1000000 + i); }
std::string Value(int i, int round) {
  return "value-" + std::to_string(i) + "-" + std::to_string(round) +
         std::string(static_cast<size_t>(i % 50), 'x');
}

TEST_F(WriteBatchTest, ReadsInsideTheTransactionSeeEveryEarlierPut) {
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  // Counts around the batch size and the flush thresholds.
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(db_.Put(Key(i), Value(i, 0)).ok());
    if (i % 97 == 0) {
      ASSERT_EQ(Get(db_.DefaultColumnFamily(), Key(i)), Value(i, 0));
      bool exists = false;
      ASSERT_TRUE(db_.Exists(Key(i), &exists).ok());
      ASSERT_TRUE(exists);
      int64_t n = 0;
      ASSERT_TRUE(db_.DefaultColumnFamily().Count(&n).ok());
      ASSERT_EQ(n, i + 1);
    }
  }
  int count = 0;
  for (const auto& [k, v] : db_.NewIterator()) {
    ASSERT_EQ(k.ToString(), Key(count));
    ASSERT_EQ(v.ToString(), Value(count, 0));
    ++count;
  }
  EXPECT_EQ(count, 1000);
  ASSERT_TRUE(db_.Commit().ok());
  for (int i = 0; i < 1000; i += 37)
    EXPECT_EQ(Get(db_.DefaultColumnFamily(), Key(i)), Value(i, 0));
}

TEST_F(WriteBatchTest, TheLastPutOfAKeyWins) {
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  // Rewrite a few keys many times so duplicates land in one batch and
  // across batches.
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 7; ++i)
      ASSERT_TRUE(db_.Put(Key(i), Value(i, round)).ok());
  }
  ASSERT_TRUE(db_.Commit().ok());
  for (int i = 0; i < 7; ++i)
    EXPECT_EQ(Get(db_.DefaultColumnFamily(), Key(i)), Value(i, 39));
  int64_t n = 0;
  ASSERT_TRUE(db_.DefaultColumnFamily().Count(&n).ok());
  EXPECT_EQ(n, 7);
}

TEST_F(WriteBatchTest, InterleavedFamiliesKeepTheirOwnData) {
  ColumnFamily def = db_.DefaultColumnFamily();
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  for (int i = 0; i < 500; ++i) {
    ColumnFamily& cf = (i / 3) % 2 == 0 ? def : other_;
    ASSERT_TRUE(cf.Put(Key(i), Value(i, 1)).ok());
  }
  ASSERT_TRUE(db_.Commit().ok());
  for (int i = 0; i < 500; ++i) {
    bool in_default = (i / 3) % 2 == 0;
    std::string v;
    EXPECT_EQ((in_default ? def : other_).Get(Key(i), &v).ok(), true) << i;
    EXPECT_EQ(v, Value(i, 1));
    EXPECT_TRUE((in_default ? other_ : def).Get(Key(i), &v).IsNotFound()) << i;
  }
}

TEST_F(WriteBatchTest, RollbackAndCloseDiscardBufferedPuts) {
  ASSERT_TRUE(db_.Put("kept", "1").ok());
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(db_.Put(Key(i), "x").ok());
  ASSERT_TRUE(db_.Put("kept", "2").ok());
  ASSERT_TRUE(db_.Rollback().ok());
  EXPECT_EQ(Get(db_.DefaultColumnFamily(), "kept"), "1");
  std::string v;
  EXPECT_TRUE(db_.Get(Key(5), &v).IsNotFound());

  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(db_.Put(Key(i), "y").ok());
  ASSERT_TRUE(db_.Close().ok());
  ASSERT_TRUE(Store::Open(path_, {}, &db_).ok());
  EXPECT_TRUE(db_.Get(Key(5), &v).IsNotFound());
  EXPECT_EQ(Get(db_.DefaultColumnFamily(), "kept"), "1");
}

TEST_F(WriteBatchTest, OtherHandlesSeeNothingUntilCommitThenEverything) {
  Store reader;
  ASSERT_TRUE(Store::Open(path_, {}, &reader).ok());
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(db_.Put(Key(i), Value(i, 2)).ok());
  std::string v;
  EXPECT_TRUE(reader.Get(Key(0), &v).IsNotFound());
  ASSERT_TRUE(db_.Commit().ok());
  int seen = 0;
  for (const auto& entry : reader.NewIterator()) {
    (void)entry;
    ++seen;
  }
  EXPECT_EQ(seen, 300);
}

TEST_F(WriteBatchTest, DeletesAndTtlsApplyInCallOrder) {
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  ASSERT_TRUE(db_.Put("a", "1").ok());
  ASSERT_TRUE(db_.Delete("a").ok());  // sees the buffered put
  ASSERT_TRUE(db_.Put("a", "2").ok());
  ASSERT_TRUE(db_.Put("t", "ttl", NowMs() + 3'600'000).ok());
  ASSERT_TRUE(db_.Put("t2", "gone", NowMs() - 1).ok());
  ASSERT_TRUE(db_.Commit().ok());
  EXPECT_EQ(Get(db_.DefaultColumnFamily(), "a"), "2");
  int64_t remaining = 0;
  ASSERT_TRUE(db_.DefaultColumnFamily().TtlRemaining("t", &remaining).ok());
  EXPECT_GT(remaining, 3'000'000);
  std::string v;
  EXPECT_TRUE(db_.Get("t2", &v).IsNotFound());
}

TEST_F(WriteBatchTest, LargeValuesAreWrittenWhole) {
  std::map<std::string, std::string> expect;
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  for (int i = 0; i < 40; ++i) {
    std::string value(static_cast<size_t>(50'000 + i * 1'000),
                      static_cast<char>('a' + i % 26));
    expect[Key(i)] = value;
    ASSERT_TRUE(db_.Put(Key(i), value).ok());
  }
  ASSERT_TRUE(db_.Commit().ok());
  for (const auto& [k, v] : expect)
    EXPECT_EQ(Get(db_.DefaultColumnFamily(), k), v);
}

TEST_F(WriteBatchTest, PutsInRandomOrderEndAsTheirLastPut) {
  // Random keys with repeats, written out sorted: the end state must be
  // that of the puts in call order, in the transaction and after commit.
  std::mt19937 rng(7);
  std::map<std::string, std::string> expect;
  for (int i = 0; i < 2000; i += 3) {
    expect[Key(i)] = "old";
    ASSERT_TRUE(db_.Put(Key(i), "old").ok());
  }
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  for (int op = 0; op < 5000; ++op) {
    int i = static_cast<int>(rng() % 2000);
    std::string value = Value(i, op);
    expect[Key(i)] = value;
    ASSERT_TRUE(db_.Put(Key(i), value).ok());
  }
  auto check = [&] {
    auto want = expect.begin();
    for (const auto& [k, v] : db_.NewIterator()) {
      ASSERT_NE(want, expect.end());
      EXPECT_EQ(k.ToString(), want->first);
      EXPECT_EQ(v.ToString(), want->second);
      ++want;
    }
    EXPECT_EQ(want, expect.end());
  };
  check();
  ASSERT_TRUE(db_.Commit().ok());
  check();
}

TEST_F(WriteBatchTest, LargePutsKeepTheirPlaceAmongBufferedOnes) {
  // Puts of 256 KiB and more skip the buffer; the order must not change.
  const std::string big(300'000, 'B');
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  ASSERT_TRUE(db_.Put("a", "small").ok());
  ASSERT_TRUE(db_.Put("a", big).ok());
  ASSERT_TRUE(db_.Put("b", big).ok());
  ASSERT_TRUE(db_.Put("b", "small").ok());
  ASSERT_TRUE(db_.Put("c", big).ok());
  ASSERT_TRUE(db_.Put("c", "small").ok());
  ASSERT_TRUE(db_.Put("c", big + "!").ok());
  ASSERT_TRUE(db_.Commit().ok());
  EXPECT_EQ(Get(db_.DefaultColumnFamily(), "a"), big);
  EXPECT_EQ(Get(db_.DefaultColumnFamily(), "b"), "small");
  EXPECT_EQ(Get(db_.DefaultColumnFamily(), "c"), big + "!");
}

TEST_F(WriteBatchTest, AppendsAndPutsAmongExistingKeysMix) {
  // One flush with puts below, among and past the existing keys: the
  // appends take the multi-row path, the rest single rows.
  for (int i = 1000; i < 1100; ++i) ASSERT_TRUE(db_.Put(Key(i), "old").ok());
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  for (int i = 0; i < 2000; i += 2) ASSERT_TRUE(db_.Put(Key(i), "new").ok());
  ASSERT_TRUE(db_.Commit().ok());
  int64_t n = 0;
  ASSERT_TRUE(db_.DefaultColumnFamily().Count(&n).ok());
  EXPECT_EQ(n, 1050);  // 1000 new keys, 50 of the old ones not rewritten
  for (int i = 0; i < 2000; ++i) {
    bool rewritten = i % 2 == 0;
    bool old = i >= 1000 && i < 1100;
    std::string v;
    Status s = db_.Get(Key(i), &v);
    if (rewritten || old) {
      EXPECT_TRUE(s.ok()) << i;
      EXPECT_EQ(v, rewritten ? "new" : "old") << i;
    } else {
      EXPECT_TRUE(s.IsNotFound()) << i;
    }
  }
}

// Puts that come in key order are written out in runs of a few thousand
// as the transaction goes (a sequential load), not held to the end; that
// too must not show: other handles see nothing before the commit, reads
// and deletes in the transaction see every earlier put, later puts of
// keys already written win, and a rollback takes everything back.
TEST_F(WriteBatchTest, OrderedPutsWrittenAsTheyComeBehaveAsBuffered) {
  constexpr int kPuts = 20000;  // several runs
  Store reader;
  ASSERT_TRUE(Store::Open(path_, {}, &reader).ok());
  ASSERT_TRUE(db_.Put(Key(kPuts + 5), "before").ok());
  for (const bool commit : {false, true}) {
    SCOPED_TRACE(commit ? "commit" : "rollback");
    ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
    for (int i = 0; i < kPuts; ++i) {
      ASSERT_TRUE(db_.Put(Key(i), Value(i, 1)).ok()) << i;
    }
    std::string v;
    EXPECT_TRUE(reader.Get(Key(0), &v).IsNotFound());
    EXPECT_EQ(Get(db_.DefaultColumnFamily(), Key(17)), Value(17, 1));
    // Out of order now: keys already written and keys not yet there.
    ASSERT_TRUE(db_.Put(Key(3), Value(3, 2)).ok());
    EXPECT_TRUE(db_.Delete(Key(4)).ok());
    EXPECT_TRUE(db_.Delete(Key(4)).IsNotFound());
    EXPECT_TRUE(db_.Delete(Key(kPuts + 1)).IsNotFound());
    EXPECT_TRUE(db_.Delete(Key(kPuts + 5)).ok());
    for (int i = kPuts + 10; i < kPuts + 5000; ++i) {
      ASSERT_TRUE(db_.Put(Key(i), Value(i, 1)).ok()) << i;
    }
    EXPECT_TRUE(reader.Get(Key(kPuts - 1), &v).IsNotFound());
    ASSERT_TRUE(commit ? db_.Commit().ok() : db_.Rollback().ok());

    int64_t n = 0;
    ASSERT_TRUE(reader.DefaultColumnFamily().Count(&n).ok());
    if (!commit) {
      EXPECT_EQ(n, 1);
      EXPECT_EQ(Get(reader.DefaultColumnFamily(), Key(kPuts + 5)), "before");
      continue;
    }
    EXPECT_EQ(n, kPuts - 1 + 4990);
    for (int i = 0; i < kPuts + 5000; i += 7) {
      const bool absent = i == 4 || (i >= kPuts && i < kPuts + 10);
      Status s = reader.Get(Key(i), &v);
      if (absent) {
        EXPECT_TRUE(s.IsNotFound()) << i;
      } else {
        ASSERT_TRUE(s.ok()) << i;
        EXPECT_EQ(v, Value(i, i == 3 ? 2 : 1)) << i;
      }
    }
    EXPECT_EQ(Get(reader.DefaultColumnFamily(), Key(3)), Value(3, 2));
    EXPECT_TRUE(reader.Get(Key(4), &v).IsNotFound());
  }
  std::string problems;
  EXPECT_TRUE(db_.IntegrityCheck(&problems).ok()) << problems;
}

TEST_F(WriteBatchTest, StatsCountBufferedPuts) {
  ASSERT_TRUE(db_.ResetStats().ok());
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(db_.Put(Key(i), "v").ok());
  ASSERT_TRUE(db_.Commit().ok());
  Stats stats;
  ASSERT_TRUE(db_.GetStats(&stats).ok());
  EXPECT_EQ(stats.puts, 50u);
  EXPECT_EQ(stats.bytes_written, 50u * (Key(0).size() + 1));
}

TEST_F(WriteBatchTest, PutToAFamilyDroppedElsewhereFailsAtOnceAndKeepsTheTxn) {
  Store other_handle;
  ASSERT_TRUE(Store::Open(path_, {}, &other_handle).ok());
  ASSERT_TRUE(other_handle.DropColumnFamily("other").ok());
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  ASSERT_TRUE(db_.Put("a", "1").ok());
  EXPECT_TRUE(other_.Put("x", "y").IsNotFound());
  ASSERT_TRUE(db_.Put("b", "2").ok());
  ASSERT_TRUE(db_.Commit().ok());
  EXPECT_EQ(Get(db_.DefaultColumnFamily(), "a"), "1");
  EXPECT_EQ(Get(db_.DefaultColumnFamily(), "b"), "2");
}

}  // namespace
}  // namespace snkv
