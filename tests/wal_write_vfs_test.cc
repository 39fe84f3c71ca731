// The coalescing VFS (engine/wal_write_vfs.h) holds WAL frames back and
// writes them out together. What must never show: a commit that was
// reported while any of its bytes were still held. These tests check,
// after every commit, that another connection reading the files as they
// are and a recovery from a copy of the files (what a kill -9 leaves) both
// see exactly the committed data, and that a failed write fails the commit
// and nothing else.
#include "engine/wal_write_vfs.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <map>
#include <string>

#include "snkv/snkv.h"
#include "test_util.h"
#include "test_vfs.h"

namespace snkv {
namespace {

using Rows = std::map<std::string, std::string>;

// Reads the default family's rows through a plain SQLite connection.
// Returns "" if all went well, else what failed: the open, the integrity
// check or the scan.
std::string ReadPlain(const std::string& path, Rows* rows) {
  rows->clear();
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) !=
      SQLITE_OK) {
    sqlite3_close_v2(db);
    return "open failed";
  }
  std::string problem;
  sqlite3_stmt* check = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &check, nullptr);
  if (check == nullptr || sqlite3_step(check) != SQLITE_ROW ||
      std::string(reinterpret_cast<const char*>(
          sqlite3_column_text(check, 0))) != "ok") {
    problem = std::string("integrity check: ") + sqlite3_errmsg(db);
  }
  sqlite3_finalize(check);
  sqlite3_stmt* scan = nullptr;
  const std::string sql =
      "SELECT k, " + snkv::test::StoredValueSql(db, 0) + " FROM kv_0";
  sqlite3_prepare_v2(db, sql.c_str(), -1, &scan, nullptr);
  int rc = SQLITE_ERROR;
  while (scan != nullptr && (rc = sqlite3_step(scan)) == SQLITE_ROW) {
    auto blob = [&](int i) {
      return std::string(static_cast<const char*>(sqlite3_column_blob(scan, i)),
                         static_cast<size_t>(sqlite3_column_bytes(scan, i)));
    };
    (*rows)[blob(0)] = blob(1);
  }
  if (rc != SQLITE_DONE && problem.empty()) {
    problem = std::string("scan: ") + sqlite3_errmsg(db);
  }
  sqlite3_finalize(scan);
  sqlite3_close_v2(db);
  return problem;
}

std::string Key(int i) { return "k" + std::to_string(100000 + i); }
std::string Value(int i, int round, size_t size) {
  std::string v = std::to_string(i) + "/" + std::to_string(round) + ":";
  v.resize(size, static_cast<char>('a' + (i + round) % 26));
  return v;
}

class WalWriteVfsTest : public ::testing::Test {
 protected:
  // Both views of the files agree with `model_`: the live files through
  // another connection, and a copy of the database and WAL files alone
  // (no shared memory: SQLite recovers the WAL from its checksums, as it
  // does after a crash). The copy is consistent although a background
  // checkpoint may run: it only copies committed pages into the database
  // file, and only a writer (this test, idle now) can restart the WAL.
  void ExpectOnDisk(const std::string& when) {
    Rows live;
    EXPECT_EQ(ReadPlain(path_, &live), "") << when;
    EXPECT_TRUE(live == model_) << when << ": live files differ from the model";
    const std::string copy = dir_.file("copy.db");
    std::remove((copy + "-shm").c_str());
    test::WriteFile(copy, test::ReadFile(path_));
    test::WriteFile(copy + "-wal", test::ReadFile(path_ + "-wal"));
    Rows recovered;
    EXPECT_EQ(ReadPlain(copy, &recovered), "") << when;
    EXPECT_TRUE(recovered == model_)
        << when << ": recovered copy differs from the model ("
        << recovered.size() << " rows, " << model_.size() << " expected)";
  }

  Status Put(int i, int round, size_t size) {
    model_[Key(i)] = Value(i, round, size);
    return db_.Put(Key(i), model_[Key(i)]);
  }

  test::TempDir dir_;
  std::string path_ = dir_.file("wal.db");
  Store db_;
  Rows model_;
};

TEST_F(WalWriteVfsTest, StoresUseTheCoalescingVfs) {
  ASSERT_NE(engine::CoalescingVfsName(), nullptr);
  EXPECT_NE(sqlite3_vfs_find(engine::CoalescingVfsName()), nullptr);
}

TEST_F(WalWriteVfsTest, EveryReportedCommitIsOnDisk) {
  const uint64_t net_before = engine::CoalescingVfsBarrierFlushes();
  Options options;
  options.cache_size_pages = 10;  // so large transactions spill mid-way
  ASSERT_TRUE(Store::Open(path_, options, &db_).ok());
  for (int round = 0; round < 16; ++round) {
    const std::string when = "round " + std::to_string(round);
    switch (round % 4) {
      case 0:  // one frame, its own transaction
        ASSERT_TRUE(Put(round, round, 100).ok());
        break;
      case 1:  // a few hundred frames' worth in one transaction
        ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
        for (int i = 0; i < 400; ++i) ASSERT_TRUE(Put(i, round, 300).ok());
        ASSERT_TRUE(db_.Commit().ok());
        break;
      case 2:
        // A transaction that spills pages to the WAL and then changes them
        // again: SQLite rewrites those frames in place and, at commit,
        // rereads them to redo the checksums. Puts this large go straight
        // to SQLite, writing out the buffered ones before them.
        ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
        for (int i = 0; i < 300; ++i) ASSERT_TRUE(Put(i, round, 1000).ok());
        ASSERT_TRUE(Put(1000, round, 300 * size_t{1024}).ok());
        for (int i = 0; i < 300; ++i)
          ASSERT_TRUE(Put(i, round + 100, 900).ok());
        ASSERT_TRUE(Put(1001, round, 300 * size_t{1024}).ok());
        ASSERT_TRUE(db_.Commit().ok());
        break;
      case 3:  // deletes on their own, then overflow pages
        for (int i = 0; i < 20; ++i) {
          model_.erase(Key(i * 7));
          ASSERT_TRUE(db_.Delete(Key(i * 7)).ok());
        }
        ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
        for (int i = 0; i < 10; ++i) {
          ASSERT_TRUE(Put(2000 + i, round, 20 * size_t{1024}).ok());
        }
        ASSERT_TRUE(db_.Commit().ok());
        break;
    }
    ExpectOnDisk(when);
    if (HasFailure()) return;
  }
  // A rolled-back transaction leaves nothing behind, spilled or not.
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(db_.Put(Key(i), Value(i, 999, 1000)).ok());
  }
  ASSERT_TRUE(db_.Put(Key(1002), Value(1002, 999, 300 * size_t{1024})).ok());
  ASSERT_TRUE(db_.Rollback().ok());
  ExpectOnDisk("after rollback");
  ASSERT_TRUE(db_.Close().ok());
  ExpectOnDisk("after close");
  EXPECT_EQ(engine::CoalescingVfsBarrierFlushes(), net_before)
      << "frames were still held when SQLite published a commit";
}

class WatchedWalTest : public WalWriteVfsTest {
 protected:
  void SetUp() override {
    test::vfs::Install();  // the coalescing VFS wraps it from now on
    test::vfs::Watch(dir_.path());
    test::vfs::ResetCounts();
  }
  void TearDown() override {
    test::vfs::FailWalWrites(false);
    test::vfs::Watch("");
  }
};

TEST_F(WatchedWalTest, FramesReachTheFileInFewWrites) {
  // A plain connection through the coalescing VFS, without checkpoints:
  // the only writes are the WAL's.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                            engine::CoalescingVfsName()),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "PRAGMA journal_mode = WAL;"
                         "PRAGMA wal_autocheckpoint = 0;"
                         "CREATE TABLE t(x);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  test::vfs::ResetCounts();
  // 100 rows of 3000 bytes: 100 pages, 200 writes of SQLite's own.
  ASSERT_EQ(sqlite3_exec(db,
                         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT "
                         "i + 1 FROM n WHERE i < 100)"
                         " INSERT INTO t SELECT randomblob(3000) FROM n",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_GT(test::vfs::Writes(), 0);
  EXPECT_LT(test::vfs::Writes(), 20);
  sqlite3_close_v2(db);
  sqlite3* check = nullptr;
  ASSERT_EQ(
      sqlite3_open_v2(path_.c_str(), &check, SQLITE_OPEN_READONLY, nullptr),
      SQLITE_OK);
  sqlite3_stmt* count = nullptr;
  sqlite3_prepare_v2(check, "SELECT count(*) FROM t", -1, &count, nullptr);
  ASSERT_EQ(sqlite3_step(count), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(count, 0), 100);
  sqlite3_finalize(count);
  sqlite3_close_v2(check);
}

TEST_F(WatchedWalTest, HandlesTakingTurnsKeepCoalescing) {
  // Each handle's WAL file only sees its own writes; after the other one
  // restarted the WAL, its appends start below where its own ended.
  Store other;
  ASSERT_TRUE(Store::Open(path_, {}, &db_).ok());
  ASSERT_TRUE(Store::Open(path_, {}, &other).ok());
  for (int round = 0; round < 4; ++round) {
    Store& writer = round % 2 == 0 ? db_ : other;
    CheckpointResult result;
    ASSERT_TRUE(writer.Checkpoint(CheckpointMode::kTruncate, &result).ok());
    test::vfs::ResetCounts();
    ASSERT_TRUE(writer.Begin(TxnMode::kWrite).ok());
    for (int i = 0; i < 100; ++i) {
      model_[Key(i)] = Value(i, round, 3000);  // a page each
      ASSERT_TRUE(writer.Put(Key(i), model_[Key(i)]).ok());
    }
    ASSERT_TRUE(writer.Commit().ok());
    // 100 frames: 200 writes of SQLite's, a few after coalescing.
    EXPECT_GT(test::vfs::Writes(), 0);
    EXPECT_LT(test::vfs::Writes(), 40) << "round " << round;
    ExpectOnDisk("round " + std::to_string(round));
  }
  ASSERT_TRUE(other.Close().ok());
}

TEST_F(WatchedWalTest, AFailedWriteFailsOnlyItsCommit) {
  ASSERT_TRUE(Store::Open(path_, {}, &db_).ok());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(Put(i, 0, 100).ok());

  test::vfs::FailWalWrites(true);
  EXPECT_FALSE(db_.Put(Key(1), "lost").ok());
  ASSERT_TRUE(db_.Begin(TxnMode::kWrite).ok());
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(db_.Put(Key(i), Value(i, 1, 500)).ok());
  }
  EXPECT_FALSE(db_.Commit().ok());
  (void)db_.Rollback();  // in case the failed commit left it open
  test::vfs::FailWalWrites(false);

  // Only the committed data is there, and the store works on.
  std::string v;
  for (int i = 0; i < 200; ++i) {
    Status s = db_.Get(Key(i), &v);
    if (i < 50) {
      ASSERT_TRUE(s.ok()) << s.ToString();
      EXPECT_EQ(v, model_[Key(i)]);
    } else {
      EXPECT_TRUE(s.IsNotFound()) << Key(i) << ": " << s.ToString();
    }
  }
  ASSERT_TRUE(Put(500, 2, 100).ok());
  ExpectOnDisk("after the failures");
  ASSERT_TRUE(db_.Close().ok());
  ExpectOnDisk("after close");
  ASSERT_TRUE(Store::Open(path_, {}, &db_).ok());
  std::string problems;
  ASSERT_TRUE(db_.IntegrityCheck(&problems).ok());
  EXPECT_EQ(problems, "");
  ASSERT_TRUE(db_.Get(Key(500), &v).ok());
  EXPECT_EQ(v, model_[Key(500)]);
}

}  // namespace
}  // namespace snkv
