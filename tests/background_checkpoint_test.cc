// Automatic checkpoints run on a background thread through a connection of
// their own. What a user relies on: they happen without being asked, they
// lose nothing, and closing a store never races one.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "snkv/snkv.h"
#include "test_util.h"
#include "test_vfs.h"

namespace snkv {
namespace {

std::string Value(int i) {
  return std::string(1000, static_cast<char>('a' + i % 26));
}

// What the WAL may reach beside a steady writer: 16000 frames, plus at most
// half that again while the background finishes, plus slack for a loaded
// machine (CI once saw 102 MB).
constexpr std::uintmax_t kFrameBytes = 4096 + 24;
constexpr std::uintmax_t kWalBoundBytes = 28000 * kFrameBytes;

// Commits keys k0..k<commits-1> one autocommit put each (a WAL frame each)
// and returns the largest size the store's WAL file reached meanwhile.
std::uintmax_t PutSteadily(Store& db, const std::string& path, int commits) {
  std::uintmax_t largest = 0;
  for (int i = 0; i < commits; ++i) {
    Status s = db.Put("k" + std::to_string(i), Value(i));
    EXPECT_TRUE(s.ok()) << i << ": " << s.ToString();
    if (!s.ok()) break;
    if (i % 1000 == 999) {
      largest = std::max(largest, std::filesystem::file_size(path + "-wal"));
    }
  }
  return largest;
}

// "k" and i in eight digits: keys in the order of their numbers, so that
// a run of puts fills leaf pages in turn.
std::string OrderedKey(int i) {
  char key[16];
  std::snprintf(key, sizeof key, "k%08d", i);
  return key;
}

// Installs the test VFS and counts the writes to the database file at
// `path` (test_vfs.h) while it lives; declare it before the store, so
// that watching stops after the store is closed, however the test ends.
class WatchDatabaseWrites {
 public:
  explicit WatchDatabaseWrites(const std::string& path) {
    test::vfs::Install();
    test::vfs::Watch(path);
  }
  ~WatchDatabaseWrites() { test::vfs::Watch(""); }
  WatchDatabaseWrites(const WatchDatabaseWrites&) = delete;
  WatchDatabaseWrites& operator=(const WatchDatabaseWrites&) = delete;
};

// Reopens path and checks every `step`-th of keys k0..k<keys-1>.
void ExpectValuesAfterReopen(const std::string& path, int keys, int step) {
  Store db;
  ASSERT_TRUE(Store::Open(path, {}, &db).ok());
  for (int i = 0; i < keys; i += step) {
    std::string v;
    ASSERT_TRUE(db.Get("k" + std::to_string(i), &v).ok()) << i;
    EXPECT_EQ(v, Value(i));
  }
  std::string problems;
  EXPECT_TRUE(db.IntegrityCheck(&problems).ok()) << problems;
}

TEST(BackgroundCheckpoint, HappensWithoutBeingAskedAndLosesNothing) {
  test::TempDir dir;
  const std::string path = dir.file("bg.db");
  {
    Store db;
    ASSERT_TRUE(Store::Open(path, {}, &db).ok());
    // ~3000 frames of 4 KiB pages: past the background threshold.
    for (int i = 0; i < 3000; ++i) {
      ASSERT_TRUE(db.Put("k" + std::to_string(i), Value(i)).ok());
    }
    // The checkpoint is asynchronous: wait for it (generously), never time it.
    Stats stats;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    do {
      ASSERT_TRUE(db.GetStats(&stats).ok());
      if (stats.checkpoints > 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } while (std::chrono::steady_clock::now() < deadline);
    EXPECT_GT(stats.checkpoints, 0u);
    std::string problems;
    EXPECT_TRUE(db.IntegrityCheck(&problems).ok()) << problems;
  }
  ExpectValuesAfterReopen(path, 3000, 7);
}

// Beside a writer that never pauses, the background pass is almost always
// running and never catches up completely, and the WAL is only reset after
// a complete one. The WAL must still stay bounded (kWalBoundBytes), not
// grow with the length of the burst.
TEST(BackgroundCheckpoint, WalStaysBoundedBesideAWriterThatNeverPauses) {
  test::TempDir dir;
  const std::string path = dir.file("steady.db");
  Store db;
  ASSERT_TRUE(Store::Open(path, {}, &db).ok());
  // 40000 commits, a frame each: ~165 MB of WAL unbounded.
  const std::uintmax_t largest = PutSteadily(db, path, 40000);
  ASSERT_FALSE(testing::Test::HasFailure());
  EXPECT_LT(largest, kWalBoundBytes) << "WAL grew to " << largest;
  std::string v;
  ASSERT_TRUE(db.Get("k12345", &v).ok());
  EXPECT_EQ(v, Value(12345));
}

// A pass is asked for once per 1000 new WAL frames, as SQLite's own
// auto-checkpoint would run one, not at every commit while the WAL is long:
// back-to-back passes each copied a few frames and synced the WAL, which
// cost the writer 10% of its commits.
TEST(BackgroundCheckpoint, RunsOncePerThousandNewFramesNotAtEveryCommit) {
  test::TempDir dir;
  Store db;
  ASSERT_TRUE(Store::Open(dir.file("paced.db"), {}, &db).ok());
  // Keys in order and small values: a commit rewrites the last leaf page,
  // and now and then splits it, so about one frame each.
  constexpr int kCommits = 20000;
  for (int i = 0; i < kCommits; ++i) {
    ASSERT_TRUE(db.Put(OrderedKey(i), std::string(100, 'v')).ok());
  }
  Stats stats;
  ASSERT_TRUE(db.GetStats(&stats).ok());
  EXPECT_GT(stats.checkpoints, 0u);
  // Even at 3 frames a commit: 60 passes, plus an inline catch-up or two.
  // Passes asked for at every commit ran about 2000 times here.
  EXPECT_LE(stats.checkpoints, 3u * kCommits / 1000 + 5);
}

// The background writes the database file to disk itself (so that the
// writer's inline checkpoint has little left to sync). Linux reports a
// failed write-back once per file descriptor, so after a failed sync that
// descriptor must never be asked to sync again: its next sync could
// succeed and let SQLite reset the WAL over pages that never reached the
// disk. The store's own connection, which does report the failure, takes
// over, and nothing committed is lost.
TEST(BackgroundCheckpoint, AFailedSyncIsNeverTrustedToTheSameFileAgain) {
  test::vfs::Install();
  test::TempDir dir;
  const std::string path = dir.file("failing.db");
  {
    Store db;
    ASSERT_TRUE(Store::Open(path, {}, &db).ok());
    // The background connection opens with its first pass, after this, so
    // only its syncs of the database file fail.
    test::vfs::FailSyncsOf(path);
    const int failed_before = test::vfs::FailedSyncs();
    const int retried_before = test::vfs::SyncsAfterAFailure();
    // 20000 commits, a frame each: past a catch-up.
    const std::uintmax_t largest = PutSteadily(db, path, 20000);
    ASSERT_FALSE(testing::Test::HasFailure());
    test::vfs::FailSyncsOf("");
    EXPECT_GT(test::vfs::FailedSyncs(), failed_before);
    EXPECT_EQ(test::vfs::SyncsAfterAFailure(), retried_before);
    // The store's own connection still checkpoints and resets the WAL.
    EXPECT_LT(largest, kWalBoundBytes) << "WAL grew to " << largest;
  }
  ExpectValuesAfterReopen(path, 20000, 37);
}

// A transaction large enough to carry the WAL past the catch-up bound by
// itself, committed right after another such transaction, is copied into
// the database by the background, not inside its own commit: the second
// one used to find the first one's catch-up pass done (or still running
// and "overdue") and checkpoint its whole WAL inline, which cost a
// 50K-operation transaction most of its time.
TEST(BackgroundCheckpoint, ALargeTransactionAfterAnotherIsNotCopiedInline) {
  test::TempDir dir;
  const std::string path = dir.file("large.db");
  const WatchDatabaseWrites watch(path);
  Store db;
  ASSERT_TRUE(Store::Open(path, {}, &db).ok());
  // One row of 3000 bytes per WAL frame or more (the value overflows).
  const std::string value(3000, 'v');
  int next = 0;
  // Two rounds: a third commit in a row that large may have to copy (the
  // WAL's bound counts what it held before the commit).
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(db.Begin(TxnMode::kWrite).ok());
    // Each transaction larger than the last, so that a WAL reset cannot
    // hide behind a WAL that did not get shorter.
    for (int end = next + 17000 + 1000 * round; next < end; ++next) {
      ASSERT_TRUE(db.Put(OrderedKey(next), value).ok());
    }
    const int before = test::vfs::DatabaseWritesOnThisThread();
    ASSERT_TRUE(db.Commit().ok());
    EXPECT_EQ(test::vfs::DatabaseWritesOnThisThread(), before)
        << "round " << round << ": the commit checkpointed inline";
    // Past the catch-up bound (16000 frames) in this transaction alone.
    EXPECT_GT(std::filesystem::file_size(path + "-wal"), 16000u * kFrameBytes);
  }
  std::string v;
  ASSERT_TRUE(db.Get("k00000007", &v).ok());
  EXPECT_EQ(v, value);
  std::string problems;
  EXPECT_TRUE(db.IntegrityCheck(&problems).ok()) << problems;
}

// A write transaction begun right after a large one (whose frames the
// background has not copied yet) copies them first, so that it reads the
// database file rather than the WAL and starts the WAL over; one begun
// after small transactions does not wait for any copying.
TEST(BackgroundCheckpoint, AWriteTransactionAfterALargeOneStartsTheWalOver) {
  test::TempDir dir;
  const std::string path = dir.file("after_large.db");
  const WatchDatabaseWrites watch(path);
  Store db;
  ASSERT_TRUE(Store::Open(path, {}, &db).ok());
  const std::string value(3000, 'v');  // one WAL frame or more per row
  char key[16];

  // Small transactions leave little uncopied: beginning the next one
  // writes nothing to the database file on this thread.
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(db.Begin(TxnMode::kWrite).ok());
    for (int i = 0; i < 200; ++i) {
      std::snprintf(key, sizeof key, "s%03d%04d", round, i);
      ASSERT_TRUE(db.Put(key, value).ok());
    }
    ASSERT_TRUE(db.Commit().ok());
    const int before = test::vfs::DatabaseWritesOnThisThread();
    ASSERT_TRUE(db.Begin(TxnMode::kWrite).ok());
    EXPECT_EQ(test::vfs::DatabaseWritesOnThisThread(), before)
        << "round " << round << ": a small WAL was copied at begin";
    ASSERT_TRUE(db.Rollback().ok());
  }

  // A transaction of some 17K frames, then at once a small one.
  ASSERT_TRUE(db.Begin(TxnMode::kWrite).ok());
  for (int i = 0; i < 17000; ++i) {
    ASSERT_TRUE(db.Put(OrderedKey(i), value).ok());
  }
  ASSERT_TRUE(db.Commit().ok());
  ASSERT_TRUE(db.Begin(TxnMode::kWrite).ok());
  ASSERT_TRUE(db.Put("after", "small").ok());
  ASSERT_TRUE(db.Delete("k00000005").ok());
  EXPECT_TRUE(db.Delete("absent").IsNotFound());
  ASSERT_TRUE(db.Commit().ok());
  // Started over: only the small transaction's frames are in the WAL.
  CheckpointResult result;
  ASSERT_TRUE(db.Checkpoint(CheckpointMode::kPassive, &result).ok());
  EXPECT_LT(result.log_frames, 100)
      << "the WAL was not started over after the large transaction";

  std::string v;
  ASSERT_TRUE(db.Get("after", &v).ok());
  EXPECT_EQ(v, "small");
  EXPECT_TRUE(db.Get("k00000005", &v).IsNotFound());
  ASSERT_TRUE(db.Get("k00016999", &v).ok());
  EXPECT_EQ(v, value);
  ASSERT_TRUE(db.Close().ok());
  Store again;
  ASSERT_TRUE(Store::Open(path, {}, &again).ok());
  int64_t count = 0;
  ASSERT_TRUE(again.DefaultColumnFamily().Count(&count).ok());
  EXPECT_EQ(count, 3 * 200 + 17000 - 1 + 1);
  std::string problems;
  EXPECT_TRUE(again.IntegrityCheck(&problems).ok()) << problems;
}

TEST(BackgroundCheckpoint, ClosingWhileOneMayRunIsSafe) {
  test::TempDir dir;
  const std::string path = dir.file("close.db");
  for (int round = 0; round < 20; ++round) {
    Store db;
    ASSERT_TRUE(Store::Open(path, {}, &db).ok());
    for (int i = 0; i < 400; ++i) {
      ASSERT_TRUE(db.Put("k" + std::to_string(i), Value(i + round)).ok());
    }
    ASSERT_TRUE(db.Close().ok());  // a requested checkpoint may be running
  }
  Store db;
  ASSERT_TRUE(Store::Open(path, {}, &db).ok());
  std::string v;
  ASSERT_TRUE(db.Get("k5", &v).ok());
  EXPECT_EQ(v, Value(5 + 19));
  std::string problems;
  EXPECT_TRUE(db.IntegrityCheck(&problems).ok()) << problems;
}

TEST(BackgroundCheckpoint, ExplicitCheckpointsWaitForItInsteadOfFailing) {
  // Each commit below passes the background threshold, so a background
  // pass is likely running when the explicit one starts; SQLite would
  // answer the second checkpointer BUSY at once.
  test::TempDir dir;
  Store db;
  ASSERT_TRUE(Store::Open(dir.file("explicit.db"), {}, &db).ok());
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(db.Begin(TxnMode::kWrite).ok());
    for (int i = 0; i < 1200; ++i) {
      ASSERT_TRUE(
          db.Put("k" + std::to_string(round * 10000 + i), Value(i)).ok());
    }
    ASSERT_TRUE(db.Commit().ok());
    CheckpointResult result;
    Status s = db.Checkpoint(CheckpointMode::kTruncate, &result);
    ASSERT_TRUE(s.ok()) << "round " << round << ": " << s.ToString();
    EXPECT_EQ(result.log_frames, 0) << "a TRUNCATE leaves an empty WAL";
  }
}

TEST(BackgroundCheckpoint, WalSizeLimitStillCheckpointsEveryNCommits) {
  test::TempDir dir;
  Options options;
  options.wal_size_limit = 10;
  Store db;
  ASSERT_TRUE(Store::Open(dir.file("limit.db"), options, &db).ok());
  ASSERT_TRUE(db.ResetStats().ok());
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(db.Put("k" + std::to_string(i), "v").ok());
  Stats stats;
  ASSERT_TRUE(db.GetStats(&stats).ok());
  EXPECT_EQ(stats.checkpoints, 5u);  // inline and deterministic
}

}  // namespace
}  // namespace snkv
