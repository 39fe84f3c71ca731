// Long scans: past kScanRowsBeforeMap rows an iterator takes rows from
// SQLite a batch at a time (src/kv/row_batch.h). What a user relies on is
// that nothing about the results changes: every key once, in order, with
// its value, expired keys hidden, prefixes respected, and the snapshot
// semantics of docs/design.md ("Read path") kept to the last row.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kv/row_batch.h"
#include "scan_test_util.h"
#include "snkv/snkv.h"
#include "test_util.h"

namespace snkv {
namespace {

using test::Drain;
using test::Entries;
using test::Key;
using test::Reversed;

// Sizes that cross the batch limits: empty values, 20 KB ones (more than
// half a batch's bytes, and overflow pages in SQLite) and 100 KB ones (more
// than a whole batch).
std::string ValueFor(int i) {
  if (i % 11 == 0) return "";
  if (i % 101 == 0) return std::string(100000, static_cast<char>('A' + i % 26));
  if (i % 7 == 0) return std::string(20000, static_cast<char>('a' + i % 26));
  return "value-" + std::to_string(i) + std::string(40, 'x');
}

std::string SmallValue(int i) { return "v" + std::to_string(i); }

// Key(i) with ValueFor(i) for i in [from, to), ascending.
Entries Expected(int from, int to) {
  return test::Expected(from, to, ValueFor);
}

class LongScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("scan.db");
    ASSERT_TRUE(Store::Open(path_, {}, &db_).ok());
  }

  // Keys [0, n) with ValueFor values, in one transaction.
  void Fill(int n) {
    ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
    for (int i = 0; i < n; ++i) ASSERT_TRUE(db_.Put(Key(i), ValueFor(i)).ok());
    ASSERT_TRUE(db_.Commit().ok());
  }

  // Keys [0, n) with small values: batches of 64 rows.
  void FillSmall(int n) {
    ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
    for (int i = 0; i < n; ++i)
      ASSERT_TRUE(db_.Put(Key(i), SmallValue(i)).ok());
    ASSERT_TRUE(db_.Commit().ok());
  }

  test::TempDir dir_;
  std::string path_;
  Store db_;
};

TEST_F(LongScanTest, EveryEntryOnceInOrderBothWays) {
  Fill(3000);
  Iterator it = db_.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  EXPECT_EQ(Drain(it, true), Expected(0, 3000));

  ASSERT_TRUE(it.SeekToLast().ok());
  EXPECT_EQ(Drain(it, false), Reversed(Expected(0, 3000)));
}

TEST_F(LongScanTest, PrefixAndSeekBoundsHold) {
  Fill(3000);
  // k01000..k01999: a scan that must stop where the prefix ends.
  Iterator fwd = db_.NewIterator({"k01", false});
  ASSERT_TRUE(fwd.SeekToFirst().ok());
  EXPECT_EQ(Drain(fwd, true), Expected(1000, 2000));

  Iterator rev = db_.NewIterator({"k01", true});
  ASSERT_TRUE(rev.SeekToLast().ok());
  EXPECT_EQ(Drain(rev, false), Reversed(Expected(1000, 2000)));

  Iterator mid = db_.NewIterator();
  ASSERT_TRUE(mid.Seek(Key(2500)).ok());
  EXPECT_EQ(Drain(mid, true), Expected(2500, 3000));
}

TEST_F(LongScanTest, ExpiredEntriesStayHidden) {
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  const int64_t soon = NowMs() + 50;
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(db_.Put(Key(i), ValueFor(i), i % 3 == 0 ? soon : 0).ok());
  }
  ASSERT_TRUE(db_.Commit().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));

  Entries want;
  for (int i = 0; i < 2000; ++i) {
    if (i % 3 != 0) want.emplace_back(Key(i), ValueFor(i));
  }
  Iterator it = db_.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  EXPECT_EQ(Drain(it, true), want);
}

TEST_F(LongScanTest, TurningAroundAtTheEndStaysInTheSnapshot) {
  Fill(1000);
  Store other;
  ASSERT_TRUE(Store::Open(path_, {}, &other).ok());
  Iterator it = db_.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  // To the last key: its batch came from a statement that has finished.
  for (int i = 0; i < 999; ++i) ASSERT_TRUE(it.Next().ok());
  ASSERT_TRUE(it.Valid());
  ASSERT_EQ(it.key().view(), Key(999));
  // Long enough for the idle release to end any snapshot the handle holds
  // for its own reads (docs/design.md): only the iterator may keep one.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (int i = 990; i < 999; ++i) ASSERT_TRUE(other.Delete(Key(i)).ok());
  ASSERT_TRUE(other.Put(Key(995) + "x", "new").ok());

  std::vector<std::string> seen;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(it.Prev().ok());
    ASSERT_TRUE(it.Valid());
    seen.emplace_back(it.key().view());
  }
  std::vector<std::string> want;
  for (int i = 998; i >= 989; --i) want.push_back(Key(i));
  EXPECT_EQ(seen, want);  // the deleted keys, not the new one
}

TEST_F(LongScanTest, AFinishedScanLeavesNoSnapshotBehind) {
  Fill(1000);
  Store other;
  ASSERT_TRUE(Store::Open(path_, {}, &other).ok());
  Iterator it = db_.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  EXPECT_EQ(Drain(it, true).size(), 1000u);
  ASSERT_FALSE(it.Valid());  // at the end, but still open

  ASSERT_TRUE(other.Put("after", "1").ok());
  std::string v;
  ASSERT_TRUE(db_.Get("after", &v).ok());
  EXPECT_EQ(v, "1");
  // Nothing of db_ holds the WAL: a TRUNCATE checkpoint completes.
  CheckpointResult r;
  ASSERT_TRUE(other.Checkpoint(CheckpointMode::kTruncate, &r).ok());
  EXPECT_EQ(r.log_frames, 0);
}

TEST_F(LongScanTest, EncryptedValuesComeBackAsPlaintext) {
  Store enc;
  ASSERT_TRUE(
      Store::OpenEncrypted(dir_.file("enc.db"), "secret", {}, &enc).ok());
  ASSERT_TRUE(enc.Begin(TxnMode::kWrite).ok());
  for (int i = 0; i < 600; ++i) ASSERT_TRUE(enc.Put(Key(i), ValueFor(i)).ok());
  ASSERT_TRUE(enc.Commit().ok());
  Iterator it = enc.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  EXPECT_EQ(Drain(it, true), Expected(0, 600));
}

TEST_F(LongScanTest, ClosingTheStoreEndsALongScan) {
  Fill(1000);
  Iterator it = db_.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(it.Next().ok());
  ASSERT_TRUE(db_.Close().ok());
  EXPECT_FALSE(it.Next().ok());
  EXPECT_FALSE(it.Valid());
}

TEST_F(LongScanTest, TurningAroundMidBatchRetracesItsSteps) {
  Fill(1000);
  Iterator it = db_.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(it.Next().ok());
  ASSERT_EQ(it.key().view(), Key(300));
  for (int i = 299; i >= 280; --i) {
    ASSERT_TRUE(it.Prev().ok());
    ASSERT_EQ(it.key().view(), Key(i));
    ASSERT_EQ(it.value().view(), ValueFor(i));
  }
  for (int i = 281; i <= 700; ++i) {
    ASSERT_TRUE(it.Next().ok());
    ASSERT_EQ(it.key().view(), Key(i));
  }
}

TEST_F(LongScanTest, RepositioningReleasesTheSnapshot) {
  Fill(1000);
  Store other;
  ASSERT_TRUE(Store::Open(path_, {}, &other).ok());
  Iterator it = db_.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  for (int i = 0; i < 999; ++i) ASSERT_TRUE(it.Next().ok());  // pinned
  ASSERT_TRUE(it.Seek(Key(999)).ok());  // a fresh, one-row scan
  ASSERT_TRUE(it.Valid());
  ASSERT_TRUE(it.Next().ok());
  ASSERT_FALSE(it.Valid());
  ASSERT_TRUE(other.Put("after", "1").ok());
  CheckpointResult r;
  ASSERT_TRUE(other.Checkpoint(CheckpointMode::kTruncate, &r).ok());
  EXPECT_EQ(r.log_frames, 0);
}

// The handle's own writes during a scan: rows ahead that it deleted do not
// show, rows it added ahead do, as SQLite shows a running statement its own
// connection's changes.
// (Rows right after the current one: those the batch has already copied.)
TEST_F(LongScanTest, OwnWritesAheadOfTheScanShow) {
  FillSmall(1000);
  Iterator it = db_.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(it.Next().ok());
  for (int i = 301; i < 304; ++i) ASSERT_TRUE(db_.Delete(Key(i)).ok());
  ASSERT_TRUE(db_.Put(Key(305) + "a", "added").ok());
  ASSERT_TRUE(db_.Put(Key(306), "changed").ok());
  const Entries seen = Drain(it, true);
  Entries want;
  for (int i = 300; i < 1000; ++i) {
    if (i >= 301 && i < 304) continue;
    want.emplace_back(Key(i), i == 306 ? "changed" : SmallValue(i));
    if (i == 305) want.emplace_back(Key(305) + "a", "added");
  }
  EXPECT_EQ(seen, want);
}

TEST_F(LongScanTest, RolledBackRowsDoNotShow) {
  FillSmall(1000);
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  ASSERT_TRUE(db_.Put(Key(301) + "a", "doomed").ok());
  ASSERT_TRUE(db_.Put(Key(700) + "a", "doomed").ok());
  Iterator it = db_.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(it.Next().ok());
  ASSERT_TRUE(db_.Rollback().ok());
  std::vector<std::string> seen;
  for (; it.Valid(); (void)it.Next()) seen.emplace_back(it.key().view());
  std::vector<std::string> want;
  for (int i = 300; i < 1000; ++i) want.push_back(Key(i));
  if (it.status().ok()) EXPECT_EQ(seen, want);  // or the scan ended in error
}

TEST_F(LongScanTest, RemovingEncryptionMidScanNeverYieldsCiphertext) {
  Store enc;
  ASSERT_TRUE(
      Store::OpenEncrypted(dir_.file("enc.db"), "secret", {}, &enc).ok());
  ASSERT_TRUE(enc.Begin(TxnMode::kWrite).ok());
  for (int i = 0; i < 600; ++i)
    ASSERT_TRUE(enc.Put(Key(i), SmallValue(i)).ok());
  ASSERT_TRUE(enc.Commit().ok());
  Iterator it = enc.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(it.Next().ok());
  Status removed = enc.RemoveEncryption();
  if (!removed.ok())
    GTEST_SKIP() << "refused while scanning: " << removed.ToString();
  int checked = 0;
  for (int i = 301; i < 600; ++i) {
    if (!it.Next().ok() || !it.Valid()) break;  // an error: acceptable
    ASSERT_EQ(it.key().view(), Key(i));
    ASSERT_EQ(it.value().view(), SmallValue(i));  // wrong bytes: never
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

TEST_F(LongScanTest, TamperedValueFarIntoAScanIsCorrupt) {
  const std::string path = dir_.file("tamper.db");
  {
    Store enc;
    ASSERT_TRUE(Store::OpenEncrypted(path, "secret", {}, &enc).ok());
    ASSERT_TRUE(enc.Begin(TxnMode::kWrite).ok());
    for (int i = 0; i < 600; ++i) {
      ASSERT_TRUE(enc.Put(Key(i), ValueFor(i)).ok());
    }
    ASSERT_TRUE(enc.Commit().ok());
  }
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw,
                           "UPDATE kv_0 SET v = v || X'00' "
                           "WHERE k = CAST('k00400' AS BLOB)",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_changes(raw), 1);
    sqlite3_close(raw);
  }
  Store enc;
  ASSERT_TRUE(Store::OpenEncrypted(path, "secret", {}, &enc).ok());
  Iterator it = enc.NewIterator();
  ASSERT_TRUE(it.SeekToFirst().ok());
  int i = 0;
  Status s;
  for (; it.Valid(); ++i) {
    ASSERT_EQ(it.key().view(), Key(i));
    ASSERT_EQ(it.value().view(), ValueFor(i));
    s = it.Next();
    if (!s.ok()) break;
  }
  EXPECT_EQ(i, 399);  // k00399 was the last good row
  EXPECT_EQ(s.code(), Code::kCorrupt) << s.ToString();
  EXPECT_FALSE(it.Valid());
}

// ---- RowBatch on its own ---------------------------------------------------

TEST(RowBatch, KeepsRowsAcrossGrowthAndStopsWhenFull) {
  internal::RowBatch batch;
  batch.Start("", 1000);
  const std::string big(internal::RowBatch::kMaxBytes, 'b');
  EXPECT_FALSE(batch.Collect("a", "1", false, 0));
  EXPECT_TRUE(batch.Collect("b", big, false, 0));  // over the byte limit
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch.row(0).key.view(), "a");
  EXPECT_EQ(batch.row(0).value.view(), "1");
  EXPECT_EQ(batch.row(1).value.view(), big);

  batch.Clear();
  for (size_t i = 0; i + 1 < internal::RowBatch::kMaxRows; ++i) {
    EXPECT_FALSE(batch.Collect("k", "", false, 0));
  }
  EXPECT_TRUE(batch.Collect("k", "", false, 0));  // the row limit
  EXPECT_FALSE(batch.at_end());

  // A row far bigger than a batch: collected whole, then the memory goes.
  batch.Clear();
  const std::string huge(10 * internal::RowBatch::kMaxBytes, 'h');
  EXPECT_TRUE(batch.Collect("h", huge, false, 0));
  EXPECT_EQ(batch.row(0).value.view(), huge);
  batch.Clear();
  EXPECT_FALSE(batch.Collect("s", "small", false, 0));
  EXPECT_EQ(batch.row(0).value.view(), "small");
}

TEST(RowBatch, DropsExpiredRowsAndEndsAtThePrefix) {
  internal::RowBatch batch;
  batch.Start("p", 1000);
  EXPECT_FALSE(batch.Collect("p1", "x", true, 1000));  // expired at now
  EXPECT_FALSE(batch.Collect("p2", "y", true, 1001));
  EXPECT_TRUE(batch.Collect("q", "z", false, 0));  // past the prefix
  EXPECT_TRUE(batch.at_end());
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch.row(0).key.view(), "p2");
}

TEST(RowBatch, FindsTheFirstRowOutOfOrderEitherWay) {
  using Direction = internal::RowBatch::Direction;
  // Keys that differ in their first 8 bytes, after them, only in length,
  // and in bytes above 0x7f (compared unsigned).
  const std::vector<std::string> ascending = {
      std::string("a"),
      std::string("ab"),
      std::string("abcdefgh"),
      std::string("abcdefgh\x01"),
      std::string("abcdefgh\x7f"),
      std::string("abcdefgh\x80"),
      std::string("abcdefgi"),
      std::string("b"),
      std::string("\xff"),
      std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff")};
  for (const Direction dir : {Direction::kForward, Direction::kBackward}) {
    std::vector<std::string> keys = ascending;
    if (dir == Direction::kBackward) std::reverse(keys.begin(), keys.end());
    internal::RowBatch batch;
    batch.Start("", 1000, dir);
    for (const std::string& k : keys) (void)batch.Collect(k, "v", false, 0);
    EXPECT_GE(batch.first_disorder(), batch.size());
    // The same keys with one pair swapped, then a repeated key.
    for (size_t swap = 0; swap + 1 < keys.size(); ++swap) {
      std::vector<std::string> bad = keys;
      std::swap(bad[swap], bad[swap + 1]);
      batch.Start("", 1000, dir);
      for (const std::string& k : bad) (void)batch.Collect(k, "v", false, 0);
      EXPECT_EQ(batch.first_disorder(), swap + 1) << swap;
    }
    batch.Start("", 1000, dir);
    (void)batch.Collect(keys[3], "v", false, 0);
    (void)batch.Collect(keys[3], "v", false, 0);  // not strictly after
    EXPECT_EQ(batch.first_disorder(), 1u);
  }
}

TEST(RowBatch, PrefixCheckComparesWholeWordsAndTails) {
  internal::RowBatch batch;
  batch.Start("user:000", 1000);  // 8 bytes: one word
  EXPECT_FALSE(batch.Collect("user:000", "", false, 0));
  EXPECT_FALSE(batch.Collect("user:0001", "", false, 0));
  EXPECT_TRUE(batch.Collect("user:001", "", false, 0));  // past it
  EXPECT_TRUE(batch.at_end());
  EXPECT_EQ(batch.size(), 2u);
  batch.Start("user:0000/", 1000);  // a word and a tail
  EXPECT_FALSE(batch.Collect("user:0000/a", "", false, 0));
  EXPECT_TRUE(batch.Collect("user:0000\x80", "", false, 0));
  EXPECT_EQ(batch.size(), 1u);
  batch.Start("user:0000/", 1000);
  EXPECT_TRUE(batch.Collect("user:0000", "", false, 0));  // shorter
  EXPECT_EQ(batch.size(), 0u);
}

}  // namespace
}  // namespace snkv
