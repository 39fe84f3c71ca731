// C API: opening and closing stores, every KVStoreConfig field, invalid
// configurations, and files that are not snkv stores.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "c_api_test_util.h"
#include "kvstore.h"
#include "test_util.h"
#include "test_vfs.h"

namespace {

using snkv::test::FileExists;
using snkv::test::Get;
using snkv::test::Put;
using snkv::test::ReadFile;
using snkv::test::TempDir;
using snkv::test::WriteFile;

// ---- helpers ----------------------------------------------------------------

KVStore* MustOpen(const char* path, const KVStoreConfig* cfg) {
  KVStore* kv = nullptr;
  int rc = kvstore_open_v2(path, &kv, cfg);
  EXPECT_EQ(rc, KVSTORE_OK) << kvstore_errmsg(nullptr);
  EXPECT_NE(kv, nullptr);
  return kv;
}

// A separate plain SQLite connection, for looking at a store from outside.
class RawDb {
 public:
  explicit RawDb(const std::string& path,
                 int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db_, flags, nullptr), SQLITE_OK);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  int Exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
  int64_t Int(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    int64_t v = -12345;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
  }
  std::string Text(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    std::string v = "<none>";
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      v = t ? reinterpret_cast<const char*>(t) : "";
    }
    sqlite3_finalize(st);
    return v;
  }

 private:
  sqlite3* db_ = nullptr;
};

// A store file with one key, closed again.
void MakeStore(const std::string& path, int journal = KVSTORE_JOURNAL_WAL) {
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open(path.c_str(), &kv, journal), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "k", "v"), KVSTORE_OK);
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// ---- lifecycle
// -----------------------------------------------------------------

TEST(CApiLifecycle, OpenCreatesStoreAndDataSurvivesReopen) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open(path.c_str(), &kv, KVSTORE_JOURNAL_WAL), KVSTORE_OK);
  ASSERT_NE(kv, nullptr);
  EXPECT_TRUE(FileExists(path));
  ASSERT_EQ(Put(kv, "hello", "world"), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);

  kv = MustOpen(path.c_str(), nullptr);
  EXPECT_EQ(Get(kv, "hello"), "world");
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiLifecycle, OpenV2WithConfigWorksLikeOpen) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_FULL;
  cfg.cacheSize = 4000;
  cfg.busyTimeout = 5000;
  KVStore* kv = MustOpen(path.c_str(), &cfg);
  ASSERT_EQ(Put(kv, "a", "1"), KVSTORE_OK);
  EXPECT_EQ(Get(kv, "a"), "1");
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiLifecycle, NullPathIsAPrivateInMemoryStore) {
  TempDir dir;
  KVStore* a = MustOpen(nullptr, nullptr);
  KVStore* b = MustOpen(nullptr, nullptr);
  ASSERT_EQ(Put(a, "k", "in-a"), KVSTORE_OK);
  EXPECT_EQ(Get(a, "k"), "in-a");
  // Two in-memory stores do not share data.
  EXPECT_EQ(Get(b, "k"), "<rc 12>");
  EXPECT_EQ(kvstore_close(a), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(b), KVSTORE_OK);
  // Nothing survives the close.
  KVStore* c = MustOpen(nullptr, nullptr);
  EXPECT_EQ(Get(c, "k"), "<rc 12>");
  EXPECT_EQ(kvstore_close(c), KVSTORE_OK);
}

TEST(CApiLifecycle, InMemoryStoreSupportsColumnFamiliesAndTransactions) {
  KVStore* kv = MustOpen(nullptr, nullptr);
  KVColumnFamily* cf = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv, "users", &cf), KVSTORE_OK);
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_put(cf, "u", 1, "x", 1), KVSTORE_OK);
  ASSERT_EQ(kvstore_rollback(kv), KVSTORE_OK);
  int exists = -1;
  ASSERT_EQ(kvstore_cf_exists(cf, "u", 1, &exists), KVSTORE_OK);
  EXPECT_EQ(exists, 0);
  kvstore_cf_close(cf);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiLifecycle, CloseNullIsOk) {
  EXPECT_EQ(kvstore_close(nullptr), KVSTORE_OK);
}

TEST(CApiLifecycle, OpenWithNullHandlePointerFails) {
  TempDir dir;
  std::string path = dir.file("a.db");
  EXPECT_EQ(kvstore_open_v2(path.c_str(), nullptr, nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_open(path.c_str(), nullptr, KVSTORE_JOURNAL_WAL),
            KVSTORE_ERROR);
}

TEST(CApiLifecycle, FailedOpenSetsHandleToNullAndExplainsWhy) {
  TempDir dir;
  std::string path = dir.file("no-such-dir/a.db");
  KVStore* kv = reinterpret_cast<KVStore*>(0x1);  // garbage to be overwritten
  EXPECT_NE(kvstore_open_v2(path.c_str(), &kv, nullptr), KVSTORE_OK);
  EXPECT_EQ(kv, nullptr);
  const char* msg = kvstore_errmsg(nullptr);
  ASSERT_NE(msg, nullptr);
  EXPECT_GT(std::strlen(msg), 0u);
  EXPECT_STRNE(msg, "not an error");
}

TEST(CApiLifecycle, OpenErrorMessageIsPerThread) {
  TempDir dir;
  KVStoreConfig bad = {};
  bad.pageSize = 3000;
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open_v2(dir.file("a.db").c_str(), &kv, &bad),
            KVSTORE_ERROR);
  std::string mine = kvstore_errmsg(nullptr);
  ASSERT_STRNE(mine.c_str(), "not an error");

  std::string theirs;
  std::thread t([&] {
    KVStoreConfig bad2 = {};
    bad2.busyTimeout = -1;
    KVStore* kv2 = nullptr;
    EXPECT_EQ(kvstore_open_v2(dir.file("b.db").c_str(), &kv2, &bad2),
              KVSTORE_ERROR);
    theirs = kvstore_errmsg(nullptr);
  });
  t.join();
  EXPECT_STRNE(theirs.c_str(), "not an error");
  EXPECT_NE(theirs, mine);
  EXPECT_EQ(std::string(kvstore_errmsg(nullptr)), mine);
}

TEST(CApiLifecycle, CloseRollsBackAnOpenTransaction) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStore* kv = MustOpen(path.c_str(), nullptr);
  ASSERT_EQ(Put(kv, "kept", "1"), KVSTORE_OK);
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "lost", "2"), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);

  kv = MustOpen(path.c_str(), nullptr);
  EXPECT_EQ(Get(kv, "kept"), "1");
  EXPECT_EQ(Get(kv, "lost"), "<rc 12>");
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// ---- journal mode
// ----------------------------------------------------------------

TEST(CApiConfig, NullConfigSelectsWalAnd4KPages) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStore* kv = MustOpen(path.c_str(), nullptr);
  ASSERT_EQ(Put(kv, "k", "v"), KVSTORE_OK);
  EXPECT_TRUE(FileExists(path + "-wal"));
  {
    RawDb raw(path, SQLITE_OPEN_READWRITE);
    EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "wal");
    EXPECT_EQ(raw.Int("PRAGMA page_size"), 4096);
  }
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiConfig, OpenWithWalJournalUsesWal) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open(path.c_str(), &kv, KVSTORE_JOURNAL_WAL), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "k", "v"), KVSTORE_OK);
  EXPECT_TRUE(FileExists(path + "-wal"));
  {
    RawDb raw(path, SQLITE_OPEN_READWRITE);
    EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "wal");
  }
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiConfig, OpenWithDeleteJournalUsesRollbackJournal) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open(path.c_str(), &kv, KVSTORE_JOURNAL_DELETE),
            KVSTORE_OK);
  ASSERT_EQ(Put(kv, "k", "v"), KVSTORE_OK);
  EXPECT_FALSE(FileExists(path + "-wal"));
  EXPECT_FALSE(FileExists(path + "-journal"));  // deleted after the commit
  {
    RawDb raw(path, SQLITE_OPEN_READWRITE);
    EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "delete");
    EXPECT_EQ(raw.Text("SELECT 1"), "1");
  }
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiConfig, ZeroedConfigSelectsDeleteModeAsDocumented) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStoreConfig cfg = {};
  KVStore* kv = MustOpen(path.c_str(), &cfg);
  ASSERT_EQ(Put(kv, "k", "v"), KVSTORE_OK);
  EXPECT_FALSE(FileExists(path + "-wal"));
  {
    RawDb raw(path, SQLITE_OPEN_READWRITE);
    EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "delete");
    EXPECT_EQ(raw.Int("PRAGMA page_size"), 4096);
  }
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiConfig, JournalModeCanBeSwitchedOnReopen) {
  TempDir dir;
  std::string path = dir.file("a.db");
  MakeStore(path, KVSTORE_JOURNAL_DELETE);
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open(path.c_str(), &kv, KVSTORE_JOURNAL_WAL), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "k2", "v2"), KVSTORE_OK);
  EXPECT_TRUE(FileExists(path + "-wal"));
  EXPECT_EQ(Get(kv, "k"), "v");
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// ---- page size
// -----------------------------------------------------------------

TEST(CApiConfig, PageSizeIsAppliedToNewFiles) {
  TempDir dir;
  for (int size : {512, 1024, 8192, 16384, 65536}) {
    SCOPED_TRACE(size);
    std::string path = dir.file("p" + std::to_string(size) + ".db");
    KVStoreConfig cfg = {};
    cfg.journalMode = KVSTORE_JOURNAL_WAL;
    cfg.pageSize = size;
    KVStore* kv = MustOpen(path.c_str(), &cfg);
    ASSERT_NE(kv, nullptr);
    ASSERT_EQ(Put(kv, "k", std::string(3000, 'x')), KVSTORE_OK);
    EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
    RawDb raw(path, SQLITE_OPEN_READWRITE);
    EXPECT_EQ(raw.Int("PRAGMA page_size"), size);
  }
}

TEST(CApiConfig, PageSizeIsIgnoredForExistingFiles) {
  TempDir dir;
  std::string path = dir.file("a.db");
  MakeStore(path);
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.pageSize = 16384;
  KVStore* kv = MustOpen(path.c_str(), &cfg);
  ASSERT_NE(kv, nullptr);
  EXPECT_EQ(Get(kv, "k"), "v");
  ASSERT_EQ(Put(kv, "k2", "v2"), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
  RawDb raw(path, SQLITE_OPEN_READWRITE);
  EXPECT_EQ(raw.Int("PRAGMA page_size"), 4096);
}

// ---- invalid configurations
// ---------------------------------------------------

struct BadConfig {
  const char* what;
  KVStoreConfig cfg;
};

std::vector<BadConfig> BadConfigs() {
  std::vector<BadConfig> out;
  auto add = [&](const char* what, auto set) {
    KVStoreConfig c = {};
    c.journalMode = KVSTORE_JOURNAL_WAL;
    c.syncLevel = KVSTORE_SYNC_NORMAL;
    set(c);
    out.push_back({what, c});
  };
  add("pageSize 3000 (not a power of two)",
      [](KVStoreConfig& c) { c.pageSize = 3000; });
  add("pageSize 1000", [](KVStoreConfig& c) { c.pageSize = 1000; });
  add("pageSize 256 (too small)", [](KVStoreConfig& c) { c.pageSize = 256; });
  add("pageSize 1 (too small)", [](KVStoreConfig& c) { c.pageSize = 1; });
  add("pageSize 131072 (too large)",
      [](KVStoreConfig& c) { c.pageSize = 131072; });
  add("pageSize -4096", [](KVStoreConfig& c) { c.pageSize = -4096; });
  add("journalMode 2", [](KVStoreConfig& c) { c.journalMode = 2; });
  add("journalMode -1", [](KVStoreConfig& c) { c.journalMode = -1; });
  add("journalMode 99", [](KVStoreConfig& c) { c.journalMode = 99; });
  add("syncLevel 3", [](KVStoreConfig& c) { c.syncLevel = 3; });
  add("syncLevel -1", [](KVStoreConfig& c) { c.syncLevel = -1; });
  add("cacheSize -1", [](KVStoreConfig& c) { c.cacheSize = -1; });
  add("cacheSize -2000", [](KVStoreConfig& c) { c.cacheSize = -2000; });
  add("busyTimeout -1", [](KVStoreConfig& c) { c.busyTimeout = -1; });
  return out;
}

TEST(CApiConfig, InvalidValuesAreErrorsAndCreateNoFile) {
  TempDir dir;
  for (const BadConfig& b : BadConfigs()) {
    SCOPED_TRACE(b.what);
    std::string path = dir.file("new.db");
    KVStore* kv = reinterpret_cast<KVStore*>(0x1);
    EXPECT_EQ(kvstore_open_v2(path.c_str(), &kv, &b.cfg), KVSTORE_ERROR);
    EXPECT_EQ(kv, nullptr);
    EXPECT_STRNE(kvstore_errmsg(nullptr), "not an error");
    EXPECT_FALSE(FileExists(path));
    if (kv != nullptr && kv != reinterpret_cast<KVStore*>(0x1))
      kvstore_close(kv);
  }
}

TEST(CApiConfig, InvalidValuesLeaveAnExistingStoreUntouched) {
  TempDir dir;
  std::string path = dir.file("a.db");
  MakeStore(path, KVSTORE_JOURNAL_DELETE);
  const std::string before = ReadFile(path);
  ASSERT_FALSE(before.empty());
  for (const BadConfig& b : BadConfigs()) {
    SCOPED_TRACE(b.what);
    KVStore* kv = nullptr;
    EXPECT_EQ(kvstore_open_v2(path.c_str(), &kv, &b.cfg), KVSTORE_ERROR);
    EXPECT_EQ(kv, nullptr);
    EXPECT_EQ(ReadFile(path), before);
    EXPECT_FALSE(FileExists(path + "-wal"));
  }
  KVStore* kv = MustOpen(path.c_str(), nullptr);
  EXPECT_EQ(Get(kv, "k"), "v");
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiConfig, SimpleOpenRejectsUnknownJournalMode) {
  TempDir dir;
  std::string path = dir.file("a.db");
  KVStore* kv = nullptr;
  EXPECT_EQ(kvstore_open(path.c_str(), &kv, 7), KVSTORE_ERROR);
  EXPECT_EQ(kv, nullptr);
  EXPECT_FALSE(FileExists(path));
}

// ---- readOnly
// --------------------------------------------------------------------

TEST(CApiConfig, ReadOnlyAllowsReadsAndRejectsEveryWrite) {
  TempDir dir;
  std::string path = dir.file("a.db");
  {
    KVStore* kv = MustOpen(path.c_str(), nullptr);
    ASSERT_EQ(Put(kv, "k", "v"), KVSTORE_OK);
    KVColumnFamily* cf = nullptr;
    ASSERT_EQ(kvstore_cf_create(kv, "cf", &cf), KVSTORE_OK);
    ASSERT_EQ(kvstore_cf_put(cf, "a", 1, "b", 1), KVSTORE_OK);
    kvstore_cf_close(cf);
    ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
  }
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.readOnly = 1;
  KVStore* kv = MustOpen(path.c_str(), &cfg);
  ASSERT_NE(kv, nullptr);
  EXPECT_EQ(Get(kv, "k"), "v");

  EXPECT_EQ(Put(kv, "k", "new"), KVSTORE_READONLY);
  EXPECT_EQ(Put(kv, "other", "x"), KVSTORE_READONLY);
  EXPECT_EQ(kvstore_delete(kv, "k", 1), KVSTORE_READONLY);
  EXPECT_EQ(kvstore_put_ttl(kv, "t", 1, "v", 1, kvstore_now_ms() + 60000),
            KVSTORE_READONLY);
  int inserted = -1;
  EXPECT_EQ(kvstore_put_if_absent(kv, "n", 1, "v", 1, 0, &inserted),
            KVSTORE_READONLY);
  EXPECT_EQ(kvstore_clear(kv), KVSTORE_READONLY);
  EXPECT_EQ(kvstore_begin(kv, 1), KVSTORE_READONLY);
  KVColumnFamily* cf = nullptr;
  EXPECT_EQ(kvstore_cf_create(kv, "new", &cf), KVSTORE_READONLY);
  EXPECT_EQ(cf, nullptr);
  EXPECT_EQ(kvstore_cf_drop(kv, "cf"), KVSTORE_READONLY);
  ASSERT_EQ(kvstore_cf_open(kv, "cf", &cf), KVSTORE_OK);
  void* p = nullptr;
  int n = 0;
  ASSERT_EQ(kvstore_cf_get(cf, "a", 1, &p, &n), KVSTORE_OK);
  EXPECT_EQ(std::string(static_cast<char*>(p), static_cast<size_t>(n)), "b");
  snkv_free(p);
  EXPECT_EQ(kvstore_cf_put(cf, "a", 1, "c", 1), KVSTORE_READONLY);
  kvstore_cf_close(cf);

  // A read transaction is fine.
  EXPECT_EQ(kvstore_begin(kv, 0), KVSTORE_OK);
  EXPECT_EQ(Get(kv, "k"), "v");
  EXPECT_EQ(kvstore_commit(kv), KVSTORE_OK);

  EXPECT_EQ(Get(kv, "k"), "v");
  EXPECT_EQ(Get(kv, "other"), "<rc 12>");
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiConfig, ReadOnlyOpenOfMissingFileFailsAndCreatesNothing) {
  TempDir dir;
  std::string path = dir.file("missing.db");
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.readOnly = 1;
  KVStore* kv = nullptr;
  EXPECT_NE(kvstore_open_v2(path.c_str(), &kv, &cfg), KVSTORE_OK);
  EXPECT_EQ(kv, nullptr);
  EXPECT_FALSE(FileExists(path));
}

// ---- busyTimeout
// ------------------------------------------------------------------

TEST(CApiConfig, ZeroBusyTimeoutFailsImmediatelyWithBusy) {
  TempDir dir;
  std::string path = dir.file("a.db");
  MakeStore(path);
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.busyTimeout = 0;
  KVStore* kv = MustOpen(path.c_str(), &cfg);
  RawDb other(path, SQLITE_OPEN_READWRITE);
  ASSERT_EQ(other.Exec("BEGIN IMMEDIATE"), SQLITE_OK);
  EXPECT_EQ(Put(kv, "x", "1"), KVSTORE_BUSY);
  EXPECT_EQ(kvstore_begin(kv, 1), KVSTORE_BUSY);
  // Reads still work in WAL mode.
  EXPECT_EQ(Get(kv, "k"), "v");
  ASSERT_EQ(other.Exec("COMMIT"), SQLITE_OK);
  EXPECT_EQ(Put(kv, "x", "1"), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(CApiConfig, BusyTimeoutWaitsForTheOtherWriter) {
  TempDir dir;
  std::string path = dir.file("a.db");
  MakeStore(path);
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.busyTimeout = 30000;
  KVStore* kv = MustOpen(path.c_str(), &cfg);
  RawDb other(path, SQLITE_OPEN_READWRITE);
  ASSERT_EQ(other.Exec("BEGIN IMMEDIATE"), SQLITE_OK);
  std::atomic<bool> released{false};
  std::thread holder([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    released = true;
    EXPECT_EQ(other.Exec("COMMIT"), SQLITE_OK);
  });
  // Blocks until the other connection commits, then succeeds.
  EXPECT_EQ(Put(kv, "x", "1"), KVSTORE_OK);
  EXPECT_TRUE(released.load());
  holder.join();
  EXPECT_EQ(Get(kv, "x"), "1");
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// ---- walSizeLimit
// -----------------------------------------------------------------

TEST(CApiConfig, WalSizeLimitCheckpointsEveryNCommits) {
  TempDir dir;
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_NORMAL;
  cfg.walSizeLimit = 4;
  KVStore* kv = MustOpen(dir.file("limit.db").c_str(), &cfg);
  ASSERT_EQ(kvstore_stats_reset(kv), KVSTORE_OK);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(Put(kv, "k" + std::to_string(i), "v"), KVSTORE_OK);
  }
  KVStoreStats st = {};
  ASSERT_EQ(kvstore_stats(kv, &st), KVSTORE_OK);
  EXPECT_GE(st.nCheckpoints, 4u);
  EXPECT_LE(st.nCheckpoints, 5u);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);

  // Without a limit, 20 small commits stay below SQLite's automatic
  // threshold and nothing is checkpointed.
  cfg.walSizeLimit = 0;
  kv = MustOpen(dir.file("auto.db").c_str(), &cfg);
  ASSERT_EQ(kvstore_stats_reset(kv), KVSTORE_OK);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(Put(kv, "k" + std::to_string(i), "v"), KVSTORE_OK);
  }
  ASSERT_EQ(kvstore_stats(kv, &st), KVSTORE_OK);
  EXPECT_EQ(st.nCheckpoints, 0u);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// ---- syncLevel and cacheSize (observed through the counting VFS)
// ---------------

int SyncsFor20Commits(const TempDir& dir, const std::string& name, int level) {
  std::string path = dir.file(name);
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = level;
  KVStore* kv = MustOpen(path.c_str(), &cfg);
  if (kv == nullptr) return -1;
  snkv::test::vfs::ResetCounts();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Put(kv, "k" + std::to_string(i), "v"), KVSTORE_OK);
  }
  int syncs = snkv::test::vfs::Syncs();
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
  return syncs;
}

TEST(CApiConfig, SyncLevelDecidesHowOftenCommitsAreSynced) {
  snkv::test::vfs::Install();
  TempDir dir;
  snkv::test::vfs::Watch(dir.path());
  int off = SyncsFor20Commits(dir, "off.db", KVSTORE_SYNC_OFF);
  int normal = SyncsFor20Commits(dir, "normal.db", KVSTORE_SYNC_NORMAL);
  int full = SyncsFor20Commits(dir, "full.db", KVSTORE_SYNC_FULL);
  snkv::test::vfs::Watch("");
  EXPECT_EQ(off, 0) << "SYNC_OFF must never fsync";
  EXPECT_LT(normal, 20) << "SYNC_NORMAL in WAL mode does not fsync per commit";
  EXPECT_GE(full, 20) << "SYNC_FULL fsyncs every commit";
}

TEST(CApiConfig, NullConfigSyncsLikeNormal) {
  snkv::test::vfs::Install();
  TempDir dir;
  snkv::test::vfs::Watch(dir.path());
  KVStore* kv = MustOpen(dir.file("a.db").c_str(), nullptr);
  snkv::test::vfs::ResetCounts();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Put(kv, "k" + std::to_string(i), "v"), KVSTORE_OK);
  }
  int syncs = snkv::test::vfs::Syncs();
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
  snkv::test::vfs::Watch("");
  EXPECT_LT(syncs, 20);
}

TEST(CApiConfig, SimpleOpenUsesDefaultSyncLevelNotOff) {
  // kvstore_open sets only the journal mode; the sync level stays NORMAL,
  // which in DELETE mode syncs every commit.
  snkv::test::vfs::Install();
  TempDir dir;
  snkv::test::vfs::Watch(dir.path());
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open(dir.file("a.db").c_str(), &kv, KVSTORE_JOURNAL_DELETE),
            KVSTORE_OK);
  snkv::test::vfs::ResetCounts();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Put(kv, "k" + std::to_string(i), "v"), KVSTORE_OK);
  }
  int syncs = snkv::test::vfs::Syncs();
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
  snkv::test::vfs::Watch("");
  EXPECT_GE(syncs, 5);
}

TEST(CApiConfig, KvstoreSyncFsyncsEvenWithSyncOff) {
  snkv::test::vfs::Install();
  TempDir dir;
  snkv::test::vfs::Watch(dir.path());
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_OFF;
  KVStore* kv = MustOpen(dir.file("a.db").c_str(), &cfg);
  snkv::test::vfs::ResetCounts();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Put(kv, "k" + std::to_string(i), "v"), KVSTORE_OK);
  }
  int before = snkv::test::vfs::Syncs();
  EXPECT_EQ(kvstore_sync(kv), KVSTORE_OK);
  int after = snkv::test::vfs::Syncs();
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
  snkv::test::vfs::Watch("");
  EXPECT_EQ(before, 0);
  EXPECT_GT(after, 0) << "kvstore_sync must fsync whatever the sync level";
}

// Writes to the store's files while a write transaction inserts about
// 450 pages, before it commits: a page cache too small for the dirty pages
// must spill them early.
int WritesBeforeCommit(const std::string& path, int cache_size) {
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_NORMAL;
  cfg.cacheSize = cache_size;
  KVStore* kv = MustOpen(path.c_str(), &cfg);
  if (kv == nullptr) return -1;
  EXPECT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  snkv::test::vfs::ResetCounts();
  for (int i = 0; i < 3000; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "key%06d", i);
    EXPECT_EQ(Put(kv, key, std::string(400, 'v')), KVSTORE_OK);
  }
  // A read in the transaction hands the buffered puts to SQLite's cache.
  int found = 0;
  EXPECT_EQ(kvstore_exists(kv, "key000000", 9, &found), KVSTORE_OK);
  EXPECT_EQ(found, 1);
  int writes = snkv::test::vfs::Writes();
  EXPECT_EQ(kvstore_commit(kv), KVSTORE_OK);
  int64_t n = 0;
  EXPECT_EQ(kvstore_count(kv, &n), KVSTORE_OK);
  EXPECT_EQ(n, 3000);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
  return writes;
}

TEST(CApiConfig, CacheSizeDecidesHowManyPagesStayCached) {
  snkv::test::vfs::Install();
  TempDir dir;
  snkv::test::vfs::Watch(dir.path());
  int big = WritesBeforeCommit(dir.file("big.db"), 4000);
  int dflt = WritesBeforeCommit(dir.file("default.db"), 0);  // 0 = 2000 pages
  int tiny = WritesBeforeCommit(dir.file("tiny.db"), 10);
  snkv::test::vfs::Watch("");
  EXPECT_EQ(big, 0) << "a 4000-page cache holds the whole transaction";
  EXPECT_EQ(dflt, 0) << "the default 2000-page cache holds the transaction";
  EXPECT_GT(tiny, 100) << "a 10-page cache must spill dirty pages early";
}

// ---- files that are not ours
// ---------------------------------------------------

TEST(CApiForeignFiles, RandomBytesAreCorruptAndLeftUnchanged) {
  TempDir dir;
  std::string path = dir.file("random.bin");
  std::mt19937 rng(12345);
  std::string bytes(3 * 4096, '\0');
  for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
  WriteFile(path, bytes);
  for (int journal : {KVSTORE_JOURNAL_WAL, KVSTORE_JOURNAL_DELETE}) {
    SCOPED_TRACE(journal);
    KVStore* kv = reinterpret_cast<KVStore*>(0x1);
    EXPECT_EQ(kvstore_open(path.c_str(), &kv, journal), KVSTORE_CORRUPT);
    EXPECT_EQ(kv, nullptr);
    EXPECT_STRNE(kvstore_errmsg(nullptr), "not an error");
    EXPECT_EQ(ReadFile(path), bytes);
  }
  KVStoreConfig ro = {};
  ro.readOnly = 1;
  KVStore* kv = nullptr;
  EXPECT_EQ(kvstore_open_v2(path.c_str(), &kv, &ro), KVSTORE_CORRUPT);
  EXPECT_EQ(kv, nullptr);
  EXPECT_EQ(ReadFile(path), bytes);
}

TEST(CApiForeignFiles, ShortTextFileIsCorruptAndLeftUnchanged) {
  TempDir dir;
  std::string path = dir.file("notes.txt");
  const std::string text =
      "These are my notes. They are definitely not a database, but they are "
      "longer than a hundred bytes so that SQLite reads a full header.\n";
  WriteFile(path, text);
  KVStore* kv = nullptr;
  EXPECT_EQ(kvstore_open_v2(path.c_str(), &kv, nullptr), KVSTORE_CORRUPT);
  EXPECT_EQ(kv, nullptr);
  EXPECT_EQ(ReadFile(path), text);
}

TEST(CApiForeignFiles, OtherApplicationsDatabaseIsRefusedAndUnchanged) {
  TempDir dir;
  std::string path = dir.file("other.db");
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);"
                       "INSERT INTO users(name) VALUES('ann'),('bob');"),
              SQLITE_OK);
  }
  const std::string before = ReadFile(path);
  for (int journal : {KVSTORE_JOURNAL_WAL, KVSTORE_JOURNAL_DELETE}) {
    SCOPED_TRACE(journal);
    KVStore* kv = reinterpret_cast<KVStore*>(0x1);
    EXPECT_EQ(kvstore_open(path.c_str(), &kv, journal), KVSTORE_ERROR);
    EXPECT_EQ(kv, nullptr);
    EXPECT_STRNE(kvstore_errmsg(nullptr), "not an error");
    EXPECT_EQ(ReadFile(path), before);
    EXPECT_FALSE(FileExists(path + "-wal"));
  }
  RawDb raw(path);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM users"), 2);
  EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "delete");
}

TEST(CApiForeignFiles, StoreOfANewerFormatIsRefusedAndUnchanged) {
  TempDir dir;
  std::string path = dir.file("future.db");
  MakeStore(path);
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("PRAGMA user_version = 99"), SQLITE_OK);
  }
  ASSERT_FALSE(FileExists(path + "-wal"));  // the last close checkpointed
  const std::string before = ReadFile(path);
  KVStore* kv = reinterpret_cast<KVStore*>(0x1);
  EXPECT_EQ(kvstore_open_v2(path.c_str(), &kv, nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kv, nullptr);
  EXPECT_STRNE(kvstore_errmsg(nullptr), "not an error");
  EXPECT_EQ(ReadFile(path), before);
  RawDb raw(path);
  EXPECT_EQ(raw.Int("PRAGMA user_version"), 99);
}

TEST(CApiForeignFiles, EmptyFileBecomesAStore) {
  TempDir dir;
  std::string path = dir.file("empty.db");
  WriteFile(path, "");
  ASSERT_TRUE(FileExists(path));
  KVStore* kv = MustOpen(path.c_str(), nullptr);
  ASSERT_NE(kv, nullptr);
  ASSERT_EQ(Put(kv, "k", "v"), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
  EXPECT_GT(ReadFile(path).size(), 0u);
  kv = MustOpen(path.c_str(), nullptr);
  EXPECT_EQ(Get(kv, "k"), "v");
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

}  // namespace
