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
  Store db;
  ASSERT_TRUE(Store::Open(path, {}, &db).ok());
  for (int i = 0; i < 3000; i += 7) {
    std::string v;
    ASSERT_TRUE(db.Get("k" + std::to_string(i), &v).ok()) << i;
    EXPECT_EQ(v, Value(i));
  }
}

// Beside a writer that never pauses, the background pass is almost always
// running and never catches up completely, and the WAL is only reset after
// a complete one. The WAL must still stay bounded (16000 frames, 64 MiB,
// plus at most half that again while the background finishes a pass), not
// grow with the length of the burst.
TEST(BackgroundCheckpoint, WalStaysBoundedBesideAWriterThatNeverPauses) {
  test::TempDir dir;
  const std::string path = dir.file("steady.db");
  Store db;
  ASSERT_TRUE(Store::Open(path, {}, &db).ok());
  constexpr int kCommits = 40000;  // a frame each: ~165 MB of WAL unbounded
  std::uintmax_t largest = 0;
  for (int i = 0; i < kCommits; ++i) {
    ASSERT_TRUE(db.Put("k" + std::to_string(i), Value(i)).ok());
    if (i % 1000 == 999) {
      largest = std::max(largest, std::filesystem::file_size(path + "-wal"));
    }
  }
  constexpr std::uintmax_t kFrameBytes = 4096 + 24;
  EXPECT_LT(largest, 28000 * kFrameBytes) << "WAL grew to " << largest;
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
  char key[16];
  for (int i = 0; i < kCommits; ++i) {
    std::snprintf(key, sizeof key, "k%08d", i);
    ASSERT_TRUE(db.Put(key, std::string(100, 'v')).ok());
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
    constexpr int kCommits = 20000;  // a frame each, past a catch-up
    std::uintmax_t largest = 0;
    for (int i = 0; i < kCommits; ++i) {
      ASSERT_TRUE(db.Put("k" + std::to_string(i), Value(i)).ok()) << i;
      if (i % 1000 == 999) {
        largest = std::max(largest, std::filesystem::file_size(path + "-wal"));
      }
    }
    test::vfs::FailSyncsOf("");
    EXPECT_GT(test::vfs::FailedSyncs(), failed_before);
    EXPECT_EQ(test::vfs::SyncsAfterAFailure(), retried_before);
    // The store's own connection still checkpoints and resets the WAL.
    constexpr std::uintmax_t kFrameBytes = 4096 + 24;
    EXPECT_LT(largest, 28000 * kFrameBytes) << "WAL grew to " << largest;
  }
  Store db;
  ASSERT_TRUE(Store::Open(path, {}, &db).ok());
  for (int i = 0; i < 20000; i += 37) {
    std::string v;
    ASSERT_TRUE(db.Get("k" + std::to_string(i), &v).ok()) << i;
    EXPECT_EQ(v, Value(i));
  }
  std::string problems;
  EXPECT_TRUE(db.IntegrityCheck(&problems).ok()) << problems;
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
