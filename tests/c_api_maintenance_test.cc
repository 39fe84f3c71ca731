// C API: stats, integrity_check, sync, incremental_vacuum and checkpoint.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "c_api_test_util.h"
#include "kvstore.h"
#include "test_util.h"

namespace {

using snkv::test::FileExists;
using snkv::test::FileSize;
using snkv::test::Get;
using snkv::test::OpenWal;
using snkv::test::Put;
using snkv::test::Stats;
using snkv::test::TempDir;

int64_t RawInt(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  int64_t v = -12345;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) ==
      SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close_v2(db);
  return v;
}

// ---- stats
// ----------------------------------------------------------------------

TEST(CApiStats, CountersStartAtZeroOnOpen) {
  TempDir dir;
  std::string path = dir.file("s.db");
  KVStore* kv = OpenWal(path);
  ASSERT_EQ(Put(kv, "k", "v"), KVSTORE_OK);
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
  kv = OpenWal(path);
  KVStoreStats st = Stats(kv);
  EXPECT_EQ(st.nPuts, 0u);
  EXPECT_EQ(st.nGets, 0u);
  EXPECT_EQ(st.nDeletes, 0u);
  EXPECT_EQ(st.nIterations, 0u);
  EXPECT_EQ(st.nErrors, 0u);
  EXPECT_EQ(st.nBytesRead, 0u);
  EXPECT_EQ(st.nBytesWritten, 0u);
  EXPECT_EQ(st.nWalCommits, 0u);
  EXPECT_EQ(st.nCheckpoints, 0u);
  EXPECT_EQ(st.nTtlExpired, 0u);
  EXPECT_EQ(st.nTtlPurged, 0u);
  EXPECT_GT(st.nDbPages, 0u);
  EXPECT_EQ(kvstore_stats(kv, nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_stats(nullptr, &st), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_stats_reset(nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiStats, EveryCounterMovesAsDocumented) {
  TempDir dir;
  std::string path = dir.file("s.db");
  KVStore* kv = OpenWal(path);
  KVColumnFamily* cf = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv, "c", &cf), KVSTORE_OK);
  // Create the TTL machinery up front so that later counts are exact.
  ASSERT_EQ(kvstore_put_ttl(kv, "warm", 4, "v", 1, kvstore_now_ms() + 99999),
            KVSTORE_OK);
  ASSERT_EQ(kvstore_stats_reset(kv), KVSTORE_OK);

  // Puts of every kind, in every family; key + value bytes.
  ASSERT_EQ(kvstore_put(kv, "abc", 3, "12345", 5), KVSTORE_OK);  // 8
  ASSERT_EQ(kvstore_put_ttl(kv, "t", 1, "xy", 2, kvstore_now_ms() + 99999),
            KVSTORE_OK);  // 3
  int ins = -1;
  ASSERT_EQ(kvstore_put_if_absent(kv, "pia", 3, "v", 1, 0, &ins), KVSTORE_OK);
  ASSERT_EQ(ins, 1);                                            // 4
  ASSERT_EQ(kvstore_cf_put(cf, "ck", 2, "cv", 2), KVSTORE_OK);  // 4
  KVStoreStats st = Stats(kv);
  EXPECT_EQ(st.nPuts, 4u);
  EXPECT_EQ(st.nBytesWritten, 19u);
  EXPECT_EQ(st.nWalCommits, 4u) << "each autocommit write is one commit";

  // Gets of every kind; value bytes returned.
  void* p = nullptr;
  int n = 0;
  ASSERT_EQ(kvstore_get(kv, "abc", 3, &p, &n), KVSTORE_OK);  // 5
  snkv_free(p);
  int64_t rem = 0;
  ASSERT_EQ(kvstore_get_ttl(kv, "t", 1, &p, &n, &rem), KVSTORE_OK);  // 2
  snkv_free(p);
  ASSERT_EQ(kvstore_cf_get(cf, "ck", 2, &p, &n), KVSTORE_OK);  // 2
  snkv_free(p);
  st = Stats(kv);
  EXPECT_EQ(st.nGets, 3u);
  EXPECT_EQ(st.nBytesRead, 9u);

  // Deletes.
  ASSERT_EQ(kvstore_delete(kv, "abc", 3), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_delete(cf, "ck", 2), KVSTORE_OK);
  st = Stats(kv);
  EXPECT_EQ(st.nDeletes, 2u);
  EXPECT_EQ(st.nWalCommits, 6u);

  // Iterators created, of every kind.
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_iterator_create(kv, &it), KVSTORE_OK);
  kvstore_iterator_close(it);
  ASSERT_EQ(kvstore_reverse_iterator_create(kv, &it), KVSTORE_OK);
  kvstore_iterator_close(it);
  ASSERT_EQ(kvstore_prefix_iterator_create(kv, "p", 1, &it), KVSTORE_OK);
  kvstore_iterator_close(it);
  ASSERT_EQ(kvstore_cf_reverse_prefix_iterator_create(cf, "c", 1, &it),
            KVSTORE_OK);
  kvstore_iterator_close(it);
  EXPECT_EQ(Stats(kv).nIterations, 4u);

  // Errors: NOTFOUND is not one.
  EXPECT_EQ(kvstore_get(kv, "nope", 4, &p, &n), KVSTORE_NOTFOUND);
  EXPECT_EQ(kvstore_delete(kv, "nope", 4), KVSTORE_NOTFOUND);
  EXPECT_EQ(Stats(kv).nErrors, 0u);
  KVColumnFamily* dup = nullptr;
  EXPECT_EQ(kvstore_cf_create(kv, "c", &dup), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_drop(kv, "default"), KVSTORE_ERROR);
  EXPECT_EQ(Stats(kv).nErrors, 2u);

  // Commits: one per write transaction, none for a rollback.
  uint64_t commits = Stats(kv).nWalCommits;
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(Put(kv, "b" + std::to_string(i), "v"), KVSTORE_OK);
  ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
  EXPECT_EQ(Stats(kv).nWalCommits, commits + 1);
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "r", "v"), KVSTORE_OK);
  ASSERT_EQ(kvstore_rollback(kv), KVSTORE_OK);
  EXPECT_EQ(Stats(kv).nWalCommits, commits + 1);

  // Checkpoints.
  ASSERT_EQ(
      kvstore_checkpoint(kv, KVSTORE_CHECKPOINT_PASSIVE, nullptr, nullptr),
      KVSTORE_OK);
  ASSERT_EQ(
      kvstore_checkpoint(kv, KVSTORE_CHECKPOINT_TRUNCATE, nullptr, nullptr),
      KVSTORE_OK);
  EXPECT_EQ(Stats(kv).nCheckpoints, 2u);

  // TTL expiry, lazy and purged.
  int64_t past = kvstore_now_ms() - 2;
  for (const char* k : {"e1", "e2", "e3"}) {
    ASSERT_EQ(kvstore_put_ttl(kv, k, 2, "v", 1, past), KVSTORE_OK);
  }
  EXPECT_EQ(kvstore_get(kv, "e1", 2, &p, &n), KVSTORE_NOTFOUND);
  int purged = -1;
  ASSERT_EQ(kvstore_purge_expired(kv, &purged), KVSTORE_OK);
  EXPECT_EQ(purged, 2);
  st = Stats(kv);
  EXPECT_EQ(st.nTtlExpired, 1u);
  EXPECT_EQ(st.nTtlPurged, 2u);

  // nDbPages is the file's page count.
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(Put(kv, "big" + std::to_string(i), std::string(3000, 'x')),
              KVSTORE_OK);
  }
  ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
  st = Stats(kv);
  EXPECT_GT(st.nDbPages, 200u);
  EXPECT_EQ(static_cast<int64_t>(st.nDbPages),
            RawInt(path, "PRAGMA page_count"));

  // Reset zeroes all counters but keeps the gauge.
  ASSERT_EQ(kvstore_stats_reset(kv), KVSTORE_OK);
  KVStoreStats z = Stats(kv);
  EXPECT_EQ(z.nPuts, 0u);
  EXPECT_EQ(z.nGets, 0u);
  EXPECT_EQ(z.nDeletes, 0u);
  EXPECT_EQ(z.nIterations, 0u);
  EXPECT_EQ(z.nErrors, 0u);
  EXPECT_EQ(z.nBytesRead, 0u);
  EXPECT_EQ(z.nBytesWritten, 0u);
  EXPECT_EQ(z.nWalCommits, 0u);
  EXPECT_EQ(z.nCheckpoints, 0u);
  EXPECT_EQ(z.nTtlExpired, 0u);
  EXPECT_EQ(z.nTtlPurged, 0u);
  EXPECT_EQ(z.nDbPages, st.nDbPages);

  kvstore_cf_close(cf);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiStats, InvalidArgumentErrorsAreCounted) {
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open_v2(nullptr, &kv, nullptr), KVSTORE_OK);
  ASSERT_EQ(kvstore_stats_reset(kv), KVSTORE_OK);
  EXPECT_EQ(kvstore_put(kv, "k", -1, "v", 1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_put_ttl(kv, "k", 1, "v", 1, -1), KVSTORE_ERROR);
  EXPECT_EQ(Stats(kv).nErrors, 2u)
      << "nErrors counts calls that returned an error other than NOTFOUND";
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiStats, ReadOnlyRejectionsAreErrors) {
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open_v2(nullptr, &kv, nullptr), KVSTORE_OK);
  ASSERT_EQ(kvstore_begin(kv, 0), KVSTORE_OK);
  ASSERT_EQ(kvstore_stats_reset(kv), KVSTORE_OK);
  EXPECT_EQ(Put(kv, "k", "v"), KVSTORE_READONLY);
  KVStoreStats st = Stats(kv);
  EXPECT_EQ(st.nErrors, 1u);
  EXPECT_EQ(st.nPuts, 0u);
  EXPECT_EQ(st.nBytesWritten, 0u);
  ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// ---- integrity_check
// ------------------------------------------------------------

TEST(CApiIntegrity, GoodStoreIsOk) {
  TempDir dir;
  KVStore* kv = OpenWal(dir.file("a.db"));
  KVColumnFamily* cf = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv, "c", &cf), KVSTORE_OK);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(Put(kv, "k" + std::to_string(i), std::string(i % 700, 'v')),
              KVSTORE_OK);
  }
  ASSERT_EQ(kvstore_cf_put_ttl(cf, "t", 1, "v", 1, kvstore_now_ms() + 9999),
            KVSTORE_OK);
  char* msg = reinterpret_cast<char*>(0x1);
  EXPECT_EQ(kvstore_integrity_check(kv, &msg), KVSTORE_OK);
  EXPECT_EQ(msg, nullptr) << "set to NULL on success";
  EXPECT_EQ(kvstore_integrity_check(kv, nullptr), KVSTORE_OK);
  EXPECT_EQ(kvstore_integrity_check(nullptr, &msg), KVSTORE_ERROR);
  kvstore_cf_close(cf);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

void OverwritePage(const std::string& path, int64_t page, int page_size,
                   unsigned char fill) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.is_open());
  f.seekp((page - 1) * page_size);
  std::string junk(static_cast<size_t>(page_size), static_cast<char>(fill));
  for (size_t i = 0; i < junk.size(); i += 7) junk[i] = static_cast<char>(i);
  f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
}

// A closed DELETE-mode store with ~2000 keys; returns its page count.
int64_t MakeBigStore(const std::string& path) {
  KVStore* kv = nullptr;
  EXPECT_EQ(kvstore_open(path.c_str(), &kv, KVSTORE_JOURNAL_DELETE),
            KVSTORE_OK);
  EXPECT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  for (int i = 0; i < 2000; ++i) {
    char k[16];
    std::snprintf(k, sizeof k, "key%05d", i);
    EXPECT_EQ(Put(kv, k, std::string(200, 'v')), KVSTORE_OK);
  }
  EXPECT_EQ(kvstore_commit(kv), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
  return RawInt(path, "PRAGMA page_count");
}

// Opens the damaged store; it must either refuse to open or report the
// damage from integrity_check, and nothing may crash.
void ExpectDamageNoticed(const std::string& path) {
  KVStore* kv = nullptr;
  int rc = kvstore_open_v2(path.c_str(), &kv, nullptr);
  if (rc != KVSTORE_OK) {
    EXPECT_EQ(kv, nullptr);
    return;
  }
  char* msg = nullptr;
  EXPECT_EQ(kvstore_integrity_check(kv, &msg), KVSTORE_CORRUPT);
  ASSERT_NE(msg, nullptr);
  EXPECT_GT(std::string(msg).size(), 0u);
  snkv_free(msg);
  // Reads over the damage fail or succeed, but do not crash.
  void* p = nullptr;
  int n = 0;
  for (int i = 0; i < 2000; i += 37) {
    char k[16];
    std::snprintf(k, sizeof k, "key%05d", i);
    if (kvstore_get(kv, k, 8, &p, &n) == KVSTORE_OK) snkv_free(p);
  }
  KVIterator* it = nullptr;
  if (kvstore_iterator_create(kv, &it) == KVSTORE_OK) {
    int steps = 0;
    for (kvstore_iterator_first(it); !kvstore_iterator_eof(it) && steps < 5000;
         kvstore_iterator_next(it)) {
      ++steps;
    }
    kvstore_iterator_close(it);
  }
  kvstore_close(kv);
}

TEST(CApiIntegrity, DamagedDataRootPageIsReported) {
  TempDir dir;
  std::string path = dir.file("a.db");
  MakeBigStore(path);
  int64_t root = RawInt(path,
                        "SELECT rootpage FROM sqlite_schema WHERE "
                        "name = 'kv_0'");
  ASSERT_GT(root, 1);
  OverwritePage(path, root, 4096, 0xA5);
  ExpectDamageNoticed(path);
}

TEST(CApiIntegrity, DamagedPageInTheMiddleIsReported) {
  TempDir dir;
  std::string path = dir.file("a.db");
  int64_t pages = MakeBigStore(path);
  ASSERT_GT(pages, 50);
  OverwritePage(path, pages / 2, 4096, 0x00);
  ExpectDamageNoticed(path);
}

// ---- sync
// -----------------------------------------------------------------------------

TEST(CApiSync, SyncOutsideATransaction) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStore* kv = OpenWal(path);
  ASSERT_EQ(Put(kv, "k", "v"), KVSTORE_OK);
  EXPECT_EQ(kvstore_sync(kv), KVSTORE_OK);
  EXPECT_EQ(kvstore_commit(kv), KVSTORE_ERROR) << "sync opened no transaction";
  EXPECT_EQ(kvstore_sync(nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
  kv = OpenWal(path);
  EXPECT_EQ(Get(kv, "k"), "v");
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiSync, SyncInsideAWriteTransactionCommitsAndContinues) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStore* kv = OpenWal(path);
  KVStore* other = OpenWal(path);
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "before", "1"), KVSTORE_OK);
  EXPECT_EQ(Get(other, "before"), "<rc 12>");
  ASSERT_EQ(kvstore_sync(kv), KVSTORE_OK);
  // Committed: visible to others.
  EXPECT_EQ(Get(other, "before"), "1");
  // Still inside a (new) write transaction.
  EXPECT_EQ(kvstore_begin(kv, 1), KVSTORE_ERROR);
  ASSERT_EQ(Put(kv, "after", "2"), KVSTORE_OK);
  EXPECT_EQ(Get(other, "after"), "<rc 12>");
  ASSERT_EQ(kvstore_rollback(kv), KVSTORE_OK);
  EXPECT_EQ(Get(kv, "before"), "1");
  EXPECT_EQ(Get(kv, "after"), "<rc 12>");
  EXPECT_EQ(kvstore_close(other), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiSync, SyncInDeleteModeAndReadOnly) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open(path.c_str(), &kv, KVSTORE_JOURNAL_DELETE),
            KVSTORE_OK);
  ASSERT_EQ(Put(kv, "k", "v"), KVSTORE_OK);
  EXPECT_EQ(kvstore_sync(kv), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
  KVStoreConfig ro = {};
  ro.readOnly = 1;
  ASSERT_EQ(kvstore_open_v2(path.c_str(), &kv, &ro), KVSTORE_OK);
  EXPECT_EQ(kvstore_sync(kv), KVSTORE_OK);
  EXPECT_EQ(Get(kv, "k"), "v");
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// ---- incremental_vacuum
// -----------------------------------------------------------------

TEST(CApiVacuum, FileShrinksAfterDeletingAndVacuuming) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStore* kv = OpenWal(path);
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(Put(kv, "k" + std::to_string(i), std::string(4000, 'x')),
              KVSTORE_OK);
  }
  ASSERT_EQ(Put(kv, "survivor", "s"), KVSTORE_OK);
  ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
  ASSERT_EQ(
      kvstore_checkpoint(kv, KVSTORE_CHECKPOINT_TRUNCATE, nullptr, nullptr),
      KVSTORE_OK);
  const int64_t full_size = FileSize(path);
  const uint64_t full_pages = Stats(kv).nDbPages;
  ASSERT_GT(full_size, 4000000);

  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  for (int i = 0; i < 1000; ++i) {
    std::string k = "k" + std::to_string(i);
    ASSERT_EQ(kvstore_delete(kv, k.data(), static_cast<int>(k.size())),
              KVSTORE_OK);
  }
  ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
  ASSERT_EQ(
      kvstore_checkpoint(kv, KVSTORE_CHECKPOINT_TRUNCATE, nullptr, nullptr),
      KVSTORE_OK);
  // Deleting alone keeps the pages in the file.
  EXPECT_GE(Stats(kv).nDbPages, full_pages - 5);

  // A bounded vacuum returns at most about that many pages.
  ASSERT_EQ(kvstore_incremental_vacuum(kv, 10), KVSTORE_OK);
  uint64_t after10 = Stats(kv).nDbPages;
  EXPECT_LT(after10, full_pages);
  EXPECT_GE(after10 + 12, full_pages);

  // 0 returns all free pages.
  ASSERT_EQ(kvstore_incremental_vacuum(kv, 0), KVSTORE_OK);
  ASSERT_EQ(
      kvstore_checkpoint(kv, KVSTORE_CHECKPOINT_TRUNCATE, nullptr, nullptr),
      KVSTORE_OK);
  EXPECT_LT(Stats(kv).nDbPages, full_pages / 10);
  EXPECT_LT(FileSize(path), full_size / 10);
  EXPECT_EQ(RawInt(path, "PRAGMA freelist_count"), 0);
  EXPECT_EQ(Get(kv, "survivor"), "s");
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);

  char* msg = nullptr;
  kv = OpenWal(path);
  EXPECT_EQ(kvstore_integrity_check(kv, &msg), KVSTORE_OK);
  EXPECT_EQ(Get(kv, "survivor"), "s");
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiVacuum, ShrinksInDeleteModeAfterClear) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open(path.c_str(), &kv, KVSTORE_JOURNAL_DELETE),
            KVSTORE_OK);
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  for (int i = 0; i < 500; ++i) {
    ASSERT_EQ(Put(kv, "k" + std::to_string(i), std::string(4000, 'x')),
              KVSTORE_OK);
  }
  ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
  const int64_t full_size = FileSize(path);
  ASSERT_EQ(kvstore_clear(kv), KVSTORE_OK);
  ASSERT_EQ(kvstore_incremental_vacuum(kv, 0), KVSTORE_OK);
  EXPECT_LT(FileSize(path), full_size / 10);
  // Vacuuming with nothing to free is fine.
  EXPECT_EQ(kvstore_incremental_vacuum(kv, 0), KVSTORE_OK);
  EXPECT_EQ(kvstore_incremental_vacuum(kv, 5), KVSTORE_OK);
  EXPECT_EQ(kvstore_incremental_vacuum(nullptr, 0), KVSTORE_ERROR);
  ASSERT_EQ(Put(kv, "k", "v"), KVSTORE_OK);
  EXPECT_EQ(Get(kv, "k"), "v");
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// ---- checkpoint
// ------------------------------------------------------------------------

TEST(CApiCheckpoint, AllFourModesCopyTheLog) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStore* kv = OpenWal(path);
  const int modes[] = {KVSTORE_CHECKPOINT_PASSIVE, KVSTORE_CHECKPOINT_FULL,
                       KVSTORE_CHECKPOINT_RESTART, KVSTORE_CHECKPOINT_TRUNCATE};
  for (int mode : modes) {
    SCOPED_TRACE(mode);
    for (int i = 0; i < 20; ++i) {
      ASSERT_EQ(Put(kv, "m" + std::to_string(mode) + "-" + std::to_string(i),
                    std::string(500, 'x')),
                KVSTORE_OK);
    }
    int log = -7;
    int ckpt = -7;
    ASSERT_EQ(kvstore_checkpoint(kv, mode, &log, &ckpt), KVSTORE_OK);
    if (mode != KVSTORE_CHECKPOINT_TRUNCATE) {
      EXPECT_GT(log, 0);
    } else {
      EXPECT_GE(log, 0);
    }
    EXPECT_EQ(ckpt, log) << "with no readers every frame is copied";
  }
  // TRUNCATE leaves an empty log file.
  ASSERT_TRUE(FileExists(path + "-wal"));
  EXPECT_EQ(FileSize(path + "-wal"), 0);
  // Outputs are optional.
  ASSERT_EQ(Put(kv, "x", "y"), KVSTORE_OK);
  EXPECT_EQ(
      kvstore_checkpoint(kv, KVSTORE_CHECKPOINT_PASSIVE, nullptr, nullptr),
      KVSTORE_OK);
  EXPECT_EQ(Get(kv, "m0-3"), std::string(500, 'x'));
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiCheckpoint, TruncatedLogIsReusedAndDataIsInTheMainFile) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStore* kv = OpenWal(path);
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(Put(kv, "k" + std::to_string(i), std::string(1000, 'x')),
              KVSTORE_OK);
  }
  ASSERT_EQ(
      kvstore_checkpoint(kv, KVSTORE_CHECKPOINT_TRUNCATE, nullptr, nullptr),
      KVSTORE_OK);
  EXPECT_EQ(FileSize(path + "-wal"), 0);
  // The main file alone now holds the data: a copy of it opens with it.
  std::filesystem::copy_file(path, dir.file("copy.db"));
  KVStore* copy = nullptr;
  ASSERT_EQ(kvstore_open_v2(dir.file("copy.db").c_str(), &copy, nullptr),
            KVSTORE_OK);
  EXPECT_EQ(Get(copy, "k49"), std::string(1000, 'x'));
  EXPECT_EQ(kvstore_close(copy), KVSTORE_OK);
  // Writing after the truncation works.
  ASSERT_EQ(Put(kv, "after", "1"), KVSTORE_OK);
  EXPECT_GT(FileSize(path + "-wal"), 0);
  EXPECT_EQ(Get(kv, "after"), "1");
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiCheckpoint, InsideATransactionIsAnError) {
  TempDir dir;
  KVStore* kv = OpenWal(dir.file("a.db"));
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "k", "v"), KVSTORE_OK);
  for (int mode = 0; mode < 4; ++mode) {
    EXPECT_EQ(kvstore_checkpoint(kv, mode, nullptr, nullptr), KVSTORE_ERROR)
        << mode;
  }
  ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
  EXPECT_EQ(Get(kv, "k"), "v");
  ASSERT_EQ(kvstore_begin(kv, 0), KVSTORE_OK);
  EXPECT_EQ(
      kvstore_checkpoint(kv, KVSTORE_CHECKPOINT_PASSIVE, nullptr, nullptr),
      KVSTORE_ERROR);
  ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
  EXPECT_EQ(
      kvstore_checkpoint(kv, KVSTORE_CHECKPOINT_PASSIVE, nullptr, nullptr),
      KVSTORE_OK);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiCheckpoint, InvalidModeIsAnError) {
  TempDir dir;
  KVStore* kv = OpenWal(dir.file("a.db"));
  EXPECT_EQ(kvstore_checkpoint(kv, 4, nullptr, nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_checkpoint(kv, -1, nullptr, nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_checkpoint(nullptr, 0, nullptr, nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiCheckpoint, DeleteModeIsANoOpReturningZero) {
  TempDir dir;
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open(dir.file("a.db").c_str(), &kv, KVSTORE_JOURNAL_DELETE),
            KVSTORE_OK);
  ASSERT_EQ(Put(kv, "k", "v"), KVSTORE_OK);
  for (int mode = 0; mode < 4; ++mode) {
    SCOPED_TRACE(mode);
    int log = -7;
    int ckpt = -7;
    EXPECT_EQ(kvstore_checkpoint(kv, mode, &log, &ckpt), KVSTORE_OK);
    EXPECT_EQ(log, 0);
    EXPECT_EQ(ckpt, 0);
  }
  EXPECT_FALSE(FileExists(dir.file("a.db-wal")));
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiCheckpoint, BusyWhenAReaderHoldsAnOldSnapshot) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStore* kv = OpenWal(path, /*busy_timeout=*/0);
  KVStore* reader = OpenWal(path);
  ASSERT_EQ(Put(kv, "k", "v1"), KVSTORE_OK);
  ASSERT_EQ(kvstore_begin(reader, 0), KVSTORE_OK);
  EXPECT_EQ(Get(reader, "k"), "v1");
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(Put(kv, "n" + std::to_string(i), "v"), KVSTORE_OK);
  }
  int log = -7;
  int ckpt = -7;
  // PASSIVE copies what it can and succeeds.
  EXPECT_EQ(kvstore_checkpoint(kv, KVSTORE_CHECKPOINT_PASSIVE, &log, &ckpt),
            KVSTORE_OK);
  EXPECT_GT(log, 0);
  EXPECT_LT(ckpt, log);
  for (int mode : {KVSTORE_CHECKPOINT_FULL, KVSTORE_CHECKPOINT_RESTART,
                   KVSTORE_CHECKPOINT_TRUNCATE}) {
    EXPECT_EQ(kvstore_checkpoint(kv, mode, nullptr, nullptr), KVSTORE_BUSY)
        << mode;
  }
  EXPECT_EQ(Get(reader, "k"), "v1");
  ASSERT_EQ(kvstore_commit(reader), KVSTORE_OK);
  EXPECT_EQ(kvstore_checkpoint(kv, KVSTORE_CHECKPOINT_TRUNCATE, &log, &ckpt),
            KVSTORE_OK);
  EXPECT_EQ(FileSize(path + "-wal"), 0);
  EXPECT_EQ(Get(reader, "n9"), "v");
  EXPECT_EQ(kvstore_close(reader), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

}  // namespace
