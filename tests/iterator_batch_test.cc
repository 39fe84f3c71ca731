// Iterator::ReadBatch: many rows per call into an IteratorBatch. What a
// caller relies on is that a scan read in batches gives exactly the rows a
// scan stepped with Next()/Prev() gives (prefix bounds, direction, expired
// keys hidden, the handle's own writes and rollbacks between calls), that
// the iterator is left on the first row not handed out, and that a closed
// store, a dropped family or bad arguments give errors, never rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "scan_test_util.h"
#include "snkv/snkv.h"
#include "test_util.h"

namespace snkv {
namespace {

using test::Drain;
using test::Entries;
using test::Key;
using test::Reversed;

// Sizes across the internal batch's limits: empty values, values of more
// than half a batch's bytes (overflow pages too), and small ones.
std::string ValueFor(int i) {
  if (i % 11 == 0) return "";
  if (i % 97 == 0) return std::string(40000, static_cast<char>('A' + i % 26));
  return "value-" + std::to_string(i) + std::string(60, 'x');
}

// Key(i) with ValueFor(i) for i in [from, to), ascending.
Entries Expected(int from, int to) {
  return test::Expected(from, to, ValueFor);
}

void AppendAll(const IteratorBatch& batch, Entries* out) {
  for (size_t i = 0; i < batch.size(); ++i) {
    out->emplace_back(std::string(batch.key(i).view()),
                      std::string(batch.value(i).view()));
  }
}

// Reads the iterator to its end in batches of up to `rows`; checks that
// every call leaves the iterator on the row after the batch's last.
Entries ReadInBatches(Iterator& it, size_t rows) {
  Entries out;
  IteratorBatch batch;
  while (it.Valid()) {
    batch.Clear();
    Status s = it.ReadBatch(&batch, rows);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) break;
    EXPECT_GE(batch.size(), 1u);
    EXPECT_LE(batch.size(), rows);
    if (it.Valid()) {
      EXPECT_EQ(batch.size(), rows);  // short only at the end
      const Slice last = batch.key(batch.size() - 1);
      EXPECT_TRUE(it.reverse() ? it.key().compare(last) < 0
                               : it.key().compare(last) > 0);
    }
    AppendAll(batch, &out);
  }
  EXPECT_TRUE(it.status().ok()) << it.status().ToString();
  return out;
}

class IteratorBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Store::Open(dir_.file("batch.db"), {}, &db_).ok());
  }

  void Fill(Store& db, int n) {
    ASSERT_TRUE(db.Begin(TxnMode::kWrite).ok());
    for (int i = 0; i < n; ++i) ASSERT_TRUE(db.Put(Key(i), ValueFor(i)).ok());
    ASSERT_TRUE(db.Commit().ok());
  }

  test::TempDir dir_;
  Store db_;
};

TEST_F(IteratorBatchTest, EmptyStoreAndUnpositionedIteratorGiveNothing) {
  Iterator it = db_.NewIterator();
  IteratorBatch batch;
  // Not positioned yet: nothing, and no error.
  EXPECT_TRUE(it.ReadBatch(&batch, 10).ok());
  EXPECT_TRUE(batch.empty());
  ASSERT_TRUE(it.SeekToFirst().ok());
  EXPECT_FALSE(it.Valid());
  EXPECT_TRUE(it.ReadBatch(&batch, 10).ok());
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(batch.size(), 0u);
}

TEST_F(IteratorBatchTest, BadArgumentsAndClosedIterators) {
  Fill(db_, 20);
  Iterator it = db_.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  Status s = it.ReadBatch(nullptr, 5);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("null"), std::string::npos) << s.ToString();
  EXPECT_EQ(it.key().view(), Key(0));  // the position did not move

  IteratorBatch batch;
  EXPECT_TRUE(it.ReadBatch(&batch, 0).ok());  // nothing asked, nothing done
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(it.key().view(), Key(0));

  it.Close();
  s = it.ReadBatch(&batch, 5);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(batch.empty());
  Iterator none;
  EXPECT_FALSE(none.ReadBatch(&batch, 5).ok());
  EXPECT_TRUE(batch.empty());
}

TEST_F(IteratorBatchTest, BatchesGiveTheRowsOfAStepwiseScanBothWays) {
  Fill(db_, 1500);
  for (size_t rows : {size_t{1}, size_t{7}, size_t{64}, size_t{65}, size_t{256},
                      size_t{5000}}) {
    Iterator fwd = db_.NewIterator();
    ASSERT_TRUE(fwd.SeekToFirst().ok());
    EXPECT_EQ(ReadInBatches(fwd, rows), Expected(0, 1500)) << rows;

    Iterator rev = db_.NewIterator({.reverse = true});
    ASSERT_TRUE(rev.SeekToLast().ok());
    EXPECT_EQ(ReadInBatches(rev, rows), Reversed(Expected(0, 1500))) << rows;
  }
}

TEST_F(IteratorBatchTest, AppendsToWhatTheBatchHolds) {
  Fill(db_, 10);
  Iterator it = db_.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  IteratorBatch batch;
  ASSERT_TRUE(it.ReadBatch(&batch, 3).ok());
  ASSERT_TRUE(it.ReadBatch(&batch, 4).ok());
  Entries got;
  AppendAll(batch, &got);
  EXPECT_EQ(got, Expected(0, 7));
  EXPECT_EQ(it.key().view(), Key(7));
  batch.Clear();
  EXPECT_TRUE(batch.empty());
  ASSERT_TRUE(it.ReadBatch(&batch, 100).ok());
  got.clear();
  AppendAll(batch, &got);
  EXPECT_EQ(got, Expected(7, 10));
  EXPECT_FALSE(it.Valid());
}

TEST_F(IteratorBatchTest, PrefixEndsTheBatch) {
  Fill(db_, 3000);
  // k01000..k01999 only, whatever the batch size.
  for (size_t rows : {size_t{10}, size_t{999}, size_t{1000}, size_t{4096}}) {
    Iterator fwd = db_.NewIterator({.prefix = "k01"});
    ASSERT_TRUE(fwd.SeekToFirst().ok());
    EXPECT_EQ(ReadInBatches(fwd, rows), Expected(1000, 2000)) << rows;

    Iterator rev = db_.NewIterator({.prefix = "k01", .reverse = true});
    ASSERT_TRUE(rev.SeekToLast().ok());
    EXPECT_EQ(ReadInBatches(rev, rows), Reversed(Expected(1000, 2000))) << rows;
  }
  // A seek inside the prefix, then batches to its end.
  Iterator it = db_.NewIterator({.prefix = "k02"});
  ASSERT_TRUE(it.Seek(Key(2990)).ok());
  EXPECT_EQ(ReadInBatches(it, 4), Expected(2990, 3000));
  // A prefix nothing has.
  Iterator none = db_.NewIterator({.prefix = "z"});
  ASSERT_TRUE(none.SeekToFirst().ok());
  IteratorBatch batch;
  EXPECT_TRUE(none.ReadBatch(&batch, 10).ok());
  EXPECT_TRUE(batch.empty());
}

TEST_F(IteratorBatchTest, MovesAfterABatchStartFromTheRowAfterIt) {
  Fill(db_, 500);
  Iterator it = db_.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  IteratorBatch batch;
  ASSERT_TRUE(it.ReadBatch(&batch, 200).ok());
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key().view(), Key(200));
  EXPECT_EQ(it.value().view(), ValueFor(200));
  // Turning around lands on the batch's last row.
  ASSERT_TRUE(it.Prev().ok());
  EXPECT_EQ(it.key().view(), Key(199));
  ASSERT_TRUE(it.Next().ok());
  ASSERT_TRUE(it.Next().ok());
  EXPECT_EQ(it.key().view(), Key(201));
  batch.Clear();
  ASSERT_TRUE(it.ReadBatch(&batch, 2).ok());
  EXPECT_EQ(batch.key(0).view(), Key(201));
  EXPECT_EQ(batch.key(1).view(), Key(202));
}

TEST_F(IteratorBatchTest, ExpiredKeysAreSkipped) {
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  for (int i = 0; i < 600; ++i) {
    // Every third key expired long ago (1 ms after the epoch).
    ASSERT_TRUE(db_.Put(Key(i), ValueFor(i), i % 3 == 0 ? 1 : 0).ok());
  }
  ASSERT_TRUE(db_.Commit().ok());
  Entries want;
  for (int i = 0; i < 600; ++i) {
    if (i % 3 != 0) want.emplace_back(Key(i), ValueFor(i));
  }
  Iterator it = db_.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  EXPECT_EQ(ReadInBatches(it, 50), want);
}

TEST_F(IteratorBatchTest, EncryptedValuesArePlaintext) {
  Store enc;
  ASSERT_TRUE(
      Store::OpenEncrypted(dir_.file("enc.db"), "secret", {}, &enc).ok());
  Fill(enc, 700);
  Iterator it = enc.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  EXPECT_EQ(ReadInBatches(it, 100), Expected(0, 700));
}

// One call may ask for every row there is. Rows that go over one at a
// time (an encrypted store's, decrypted each) must still grow the batch's
// offsets geometrically: growing them by one row per row copied the whole
// array at each row, so this call (250K rows) ran for hours.
TEST_F(IteratorBatchTest, OneCallForAllRowsOfALargeScan) {
  Store enc;
  ASSERT_TRUE(
      Store::OpenEncrypted(dir_.file("big.db"), "secret", {}, &enc).ok());
  constexpr int kRows = 250000;
  ASSERT_TRUE(enc.Begin(TxnMode::kWrite).ok());
  for (int i = 0; i < kRows; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "b%07d", i);
    ASSERT_TRUE(enc.Put(key, "v").ok());
  }
  ASSERT_TRUE(enc.Commit().ok());
  Iterator it = enc.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  IteratorBatch batch;
  ASSERT_TRUE(it.ReadBatch(&batch, SIZE_MAX).ok());
  EXPECT_FALSE(it.Valid());
  ASSERT_EQ(batch.size(), size_t{kRows});
  EXPECT_EQ(batch.key(0).view(), "b0000000");
  EXPECT_EQ(batch.key(kRows - 1).view(), "b0249999");
  EXPECT_EQ(batch.value(kRows - 1).view(), "v");
}

TEST_F(IteratorBatchTest, ClosedStoreEndsTheScanWithAnError) {
  Fill(db_, 400);
  Iterator it = db_.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  IteratorBatch batch;
  ASSERT_TRUE(it.ReadBatch(&batch, 100).ok());
  ASSERT_EQ(batch.size(), 100u);
  ASSERT_TRUE(db_.Close().ok());
  Status s = it.ReadBatch(&batch, 100);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(it.Valid());
  // What was handed out before stays the caller's.
  ASSERT_EQ(batch.size(), 100u);
  EXPECT_EQ(batch.key(99).view(), Key(99));
  EXPECT_EQ(batch.value(99).view(), ValueFor(99));
}

TEST_F(IteratorBatchTest, DroppedFamilyEndsTheScanWithAnError) {
  ColumnFamily cf;
  ASSERT_TRUE(db_.CreateColumnFamily("users", &cf).ok());
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(cf.Put(Key(i), ValueFor(i)).ok());
  Iterator it = cf.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  IteratorBatch batch;
  ASSERT_TRUE(it.ReadBatch(&batch, 10).ok());
  ASSERT_TRUE(db_.DropColumnFamily("users").ok());
  batch.Clear();
  EXPECT_FALSE(it.ReadBatch(&batch, 10).ok());
  EXPECT_TRUE(batch.empty());
  EXPECT_FALSE(it.Valid());
}

// The handle's writes between batches show as they show to Next(): two
// stores get the same writes at the same points of a scan, one scanned in
// batches and one row by row, and must give the same rows.
TEST_F(IteratorBatchTest, WritesBetweenBatchesShowAsBetweenSteps) {
  Store stepped;
  ASSERT_TRUE(Store::Open(dir_.file("stepped.db"), {}, &stepped).ok());
  Fill(db_, 2000);
  Fill(stepped, 2000);
  for (bool in_txn : {false, true}) {
    for (bool reverse : {false, true}) {
      std::mt19937 rng(in_txn * 2 + reverse);
      Iterator a = db_.NewIterator({.reverse = reverse});
      Iterator b = stepped.NewIterator({.reverse = reverse});
      ASSERT_TRUE(a.SeekToStart().ok());
      ASSERT_TRUE(b.SeekToStart().ok());
      if (in_txn) {
        ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
        ASSERT_TRUE(stepped.Begin(TxnMode::kWrite).ok());
      }
      Entries got;
      Entries want;
      IteratorBatch batch;
      int round = 0;
      while (a.Valid()) {
        const size_t rows = 1 + rng() % 90;
        batch.Clear();
        ASSERT_TRUE(a.ReadBatch(&batch, rows).ok());
        AppendAll(batch, &got);
        for (size_t i = 0; i < rows && b.Valid(); ++i) {
          want.emplace_back(std::string(b.key().view()),
                            std::string(b.value().view()));
          ASSERT_TRUE(b.Advance().ok());
        }
        // Writes around the position: new keys, deletes, overwrites
        // (of the current key too), behind and ahead.
        for (int w = 0; w < 3; ++w) {
          const int k = static_cast<int>(rng() % 2100);
          const std::string key =
              w == 0 && a.Valid() ? std::string(a.key().view()) : Key(k);
          const std::string value = "w" + std::to_string(round);
          if (rng() % 3 == 0) {
            Status da = db_.Delete(key);
            Status db = stepped.Delete(key);
            ASSERT_EQ(da.code(), db.code());
          } else {
            ASSERT_TRUE(db_.Put(key, value).ok());
            ASSERT_TRUE(stepped.Put(key, value).ok());
          }
        }
        ++round;
      }
      ASSERT_TRUE(a.status().ok()) << a.status().ToString();
      const Entries rest = Drain(b, !reverse);  // nothing, if a and b agree
      want.insert(want.end(), rest.begin(), rest.end());
      EXPECT_EQ(got, want) << "txn " << in_txn << " reverse " << reverse;
      for (size_t i = 1; i < got.size(); ++i) {
        ASSERT_TRUE(reverse ? got[i].first < got[i - 1].first
                            : got[i - 1].first < got[i].first);
      }
      if (in_txn) {
        ASSERT_TRUE(db_.Commit().ok());
        ASSERT_TRUE(stepped.Commit().ok());
      }
    }
  }
}

TEST_F(IteratorBatchTest, RollbackBetweenBatchesShowsTheOldRows) {
  Fill(db_, 1000);
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  for (int i = 500; i < 1000; ++i) ASSERT_TRUE(db_.Delete(Key(i)).ok());
  ASSERT_TRUE(db_.Put("k00250x", "new").ok());
  Iterator it = db_.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  IteratorBatch batch;
  ASSERT_TRUE(it.ReadBatch(&batch, 200).ok());
  ASSERT_TRUE(db_.Rollback().ok());
  // Rolled back: the deleted rows are back and the new key is gone (or,
  // as with Next(), the scan ends in an error; wrong rows, never).
  Status s;
  while (s.ok() && it.Valid()) s = it.ReadBatch(&batch, 64);
  Entries got;
  AppendAll(batch, &got);
  const Entries want = Expected(0, 1000);
  if (s.ok()) {
    EXPECT_EQ(got, want);
  } else {
    ASSERT_LE(got.size(), want.size());
    EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin()));
  }
}

}  // namespace
}  // namespace snkv
