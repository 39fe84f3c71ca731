// Reads that bypass SQL (docs/design.md, "Reading the snapshot's pages
// directly"): while a handle holds its validated cached snapshot, gets,
// exists, TTL lookups and the batches of long scans read the B-tree pages
// from the database file and the WAL. These tests check, at store level
// through the C API, that such reads return exactly what SQL returns:
// expiring keys, encrypted values, other handles' and other processes'
// commits, a dropped family, overflow pages, a scan inside a write
// transaction, a WAL spanning more than one WAL-index unit, and
// checkpoints between reads.
//
// A handle holds its snapshot only after a few reads in a row found no new
// commit (StoreCore::PrepareRead: kQuietReadsBeforeSnapshot = 3). A scan
// positioned while the handle holds it reads from the pages from its first
// row; one positioned without it switches to the pages after
// kScanRowsBeforeMap = 128 rows. So every check reads kReads times in a row
// (the later reads go through the pages, the first ones after a change
// through SQL), and the rows that matter in a scan come after several
// hundred filler rows.
// Reads inside a read transaction always use SQL: where a test compares
// with "what SQL says", it reads that way.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "c_api_test_util.h"
#include "child_process.h"
#include "kvstore.h"
#include "test_util.h"

namespace {

using snkv::test::CfGet;
using snkv::test::CfPut;
using snkv::test::Count;
using snkv::test::FileSize;
using snkv::test::Get;
using snkv::test::kNotFound;
using snkv::test::OpenWal;
using snkv::test::Put;
using snkv::test::TempDir;

using Model = std::map<std::string, std::string>;  // byte-wise key order
using Rows = std::vector<std::pair<std::string, std::string>>;

// Reads in a row that a check makes: more than a handle needs before it
// holds its snapshot again (three quiet reads, then the one that takes it).
constexpr int kReads = 8;

int Len(const std::string& s) { return static_cast<int>(s.size()); }

// prefix followed by i in five digits: keys that sort as numbers do.
std::string Key(const char* prefix, int i) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%05d", prefix, i);
  return buf;
}

// n pseudo-random bytes, every byte value (NUL included) likely.
std::string Bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// got == want, described by sizes and the first differing byte rather than
// by printing values that may be megabytes long.
testing::AssertionResult SameBytes(const std::string& got,
                                   const std::string& want) {
  if (got == want) return testing::AssertionSuccess();
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  auto shown = [](const std::string& s) {
    return s.size() <= 40 ? "\"" + s + "\"" : s.substr(0, 40) + "...";
  };
  return testing::AssertionFailure()
         << "got " << got.size() << " bytes " << shown(got) << ", want "
         << want.size() << " bytes " << shown(want)
         << "; first difference at byte " << i;
}

testing::AssertionResult SameRows(const Rows& got, const Rows& want) {
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    if (got[i].first != want[i].first) {
      return testing::AssertionFailure()
             << "row " << i << ": key \"" << got[i].first.substr(0, 60)
             << "\", want \"" << want[i].first.substr(0, 60) << "\"";
    }
    testing::AssertionResult same = SameBytes(got[i].second, want[i].second);
    if (!same) {
      return testing::AssertionFailure()
             << "row " << i << " (key \"" << got[i].first.substr(0, 60)
             << "\"): " << same.message();
    }
  }
  if (got.size() != want.size()) {
    return testing::AssertionFailure()
           << "got " << got.size() << " rows, want " << want.size();
  }
  return testing::AssertionSuccess();
}

// The rows of m in key order (backwards: descending).
Rows RowsOf(const Model& m, bool backwards = false) {
  Rows rows(m.begin(), m.end());
  if (backwards) std::reverse(rows.begin(), rows.end());
  return rows;
}

// rows[from..].
Rows RowsFrom(const Rows& rows, size_t from) {
  return Rows(rows.begin() + static_cast<ptrdiff_t>(from), rows.end());
}

std::string IterKey(KVIterator* it) {
  void* p = nullptr;
  int n = -1;
  if (kvstore_iterator_key(it, &p, &n) != KVSTORE_OK) return "<no key>";
  return std::string(static_cast<const char*>(p), static_cast<size_t>(n));
}

std::string IterValue(KVIterator* it) {
  void* p = nullptr;
  int n = -1;
  if (kvstore_iterator_value(it, &p, &n) != KVSTORE_OK) return "<no value>";
  return std::string(static_cast<const char*>(p), static_cast<size_t>(n));
}

// Up to `limit` entries from the iterator's position on, moving with next
// (backwards: prev). *rc: the first move that failed, else KVSTORE_OK.
Rows Take(KVIterator* it, bool backwards, size_t limit, int* rc) {
  Rows rows;
  *rc = KVSTORE_OK;
  while (rows.size() < limit && !kvstore_iterator_eof(it)) {
    rows.emplace_back(IterKey(it), IterValue(it));
    *rc = backwards ? kvstore_iterator_prev(it) : kvstore_iterator_next(it);
    if (*rc != KVSTORE_OK) break;
  }
  return rows;
}

struct Scan {
  Rows rows;
  int rc = -1;  // of creating, positioning or the move that failed
};

// A full scan by a new iterator: first to last (backwards: last to first).
Scan ScanWith(int create_rc, KVIterator* it, bool backwards) {
  Scan scan;
  scan.rc = create_rc;
  if (create_rc != KVSTORE_OK) return scan;
  scan.rc = backwards ? kvstore_iterator_last(it) : kvstore_iterator_first(it);
  if (scan.rc == KVSTORE_OK) {
    scan.rows =
        Take(it, backwards, std::numeric_limits<size_t>::max(), &scan.rc);
  }
  kvstore_iterator_close(it);
  return scan;
}

Scan ScanStore(KVStore* kv, bool backwards = false) {
  KVIterator* it = nullptr;
  int rc = kvstore_iterator_create(kv, &it);
  return ScanWith(rc, it, backwards);
}

Scan ScanFamily(KVColumnFamily* cf, bool backwards = false) {
  KVIterator* it = nullptr;
  int rc = kvstore_cf_iterator_create(cf, &it);
  return ScanWith(rc, it, backwards);
}

// kReads gets of key in a row, each of which must give want (kNotFound for
// an absent key).
testing::AssertionResult ReadsRepeatedly(KVStore* kv, const std::string& key,
                                         const std::string& want) {
  for (int i = 0; i < kReads; ++i) {
    testing::AssertionResult same = SameBytes(Get(kv, key), want);
    if (!same) {
      return testing::AssertionFailure()
             << "read " << i << " of \"" << key.substr(0, 60)
             << "\": " << same.message();
    }
  }
  return testing::AssertionSuccess();
}

testing::AssertionResult CfReadsRepeatedly(KVColumnFamily* cf,
                                           const std::string& key,
                                           const std::string& want) {
  for (int i = 0; i < kReads; ++i) {
    testing::AssertionResult same = SameBytes(CfGet(cf, key), want);
    if (!same) {
      return testing::AssertionFailure()
             << "read " << i << " of \"" << key.substr(0, 60)
             << "\": " << same.message();
    }
  }
  return testing::AssertionSuccess();
}

// The value of key in m, or kNotFound.
std::string Want(const Model& m, const std::string& key) {
  auto found = m.find(key);
  return found == m.end() ? kNotFound : found->second;
}

// Puts every entry of m in one write transaction.
void PutAll(KVStore* kv, const Model& m) {
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  for (const auto& [k, v] : m) ASSERT_EQ(Put(kv, k, v), KVSTORE_OK);
  ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
}

KVStoreConfig WalConfig(int sync_level = KVSTORE_SYNC_NORMAL) {
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = sync_level;
  return cfg;
}

// Frames in the WAL file at path + "-wal" (4 KiB pages).
int64_t WalFrames(const std::string& path) {
  const int64_t bytes = FileSize(path + "-wal");
  return bytes <= 32 ? 0 : (bytes - 32) / (4096 + 24);
}

// ---- 1. TTL -----------------------------------------------------------------

// One TTL-aware lookup of a key, with the clock read before and after it.
struct Lookup {
  int rc = -1;
  bool found = false;
  std::string value;
  int64_t remaining = -12345;  // get_ttl and ttl_remaining only
  int64_t before = 0;
  int64_t after = 0;
};

enum class Api { kGet, kGetTtl, kExists, kTtlRemaining };

Lookup Look(KVStore* kv, Api api, const std::string& key) {
  Lookup l;
  void* p = nullptr;
  int n = 0;
  int exists = -1;
  l.before = kvstore_now_ms();
  switch (api) {
    case Api::kGet:
      l.rc = kvstore_get(kv, key.data(), Len(key), &p, &n);
      break;
    case Api::kGetTtl:
      l.rc = kvstore_get_ttl(kv, key.data(), Len(key), &p, &n, &l.remaining);
      break;
    case Api::kExists:
      l.rc = kvstore_exists(kv, key.data(), Len(key), &exists);
      break;
    case Api::kTtlRemaining:
      l.rc = kvstore_ttl_remaining(kv, key.data(), Len(key), &l.remaining);
      break;
  }
  l.after = kvstore_now_ms();
  if (p != nullptr) {
    l.value.assign(static_cast<const char*>(p), static_cast<size_t>(n));
    snkv_free(p);
  }
  switch (api) {
    case Api::kGet:
    case Api::kGetTtl:
      l.found = l.rc == KVSTORE_OK;
      break;
    case Api::kExists:
      l.found = l.rc == KVSTORE_OK && exists == 1;
      break;
    case Api::kTtlRemaining:
      l.found = l.rc == KVSTORE_OK && l.remaining != 0;
      break;
  }
  return l;
}

// A lookup that found a key expiring at `expire`: its remaining time (if
// the call reports one) is what the store's clock gave at some moment
// between l.before and l.after, and positive.
testing::AssertionResult FoundLive(const Lookup& l, Api api,
                                   const std::string& value, int64_t expire) {
  if (!l.found) return testing::AssertionFailure() << "not found, rc " << l.rc;
  if ((api == Api::kGet || api == Api::kGetTtl) && l.value != value) {
    return testing::AssertionFailure() << "value \"" << l.value << "\"";
  }
  if (api == Api::kGetTtl || api == Api::kTtlRemaining) {
    if (l.remaining <= 0 || l.remaining < expire - l.after ||
        l.remaining > expire - l.before) {
      return testing::AssertionFailure()
             << "remaining " << l.remaining << " outside [" << expire - l.after
             << ", " << expire - l.before << "]";
    }
  }
  return testing::AssertionSuccess();
}

// What each call reports for a key that is there but expired, while it is
// still in the table (the first such call deletes it lazily).
testing::AssertionResult ReportsExpired(const Lookup& l, Api api) {
  switch (api) {
    case Api::kGet:
    case Api::kGetTtl:
      if (l.rc == KVSTORE_NOTFOUND) return testing::AssertionSuccess();
      break;
    case Api::kExists:
      if (l.rc == KVSTORE_OK && !l.found) return testing::AssertionSuccess();
      break;
    case Api::kTtlRemaining:
      // Documented: 0 when the key has just expired.
      if (l.rc == KVSTORE_OK && l.remaining == 0) {
        return testing::AssertionSuccess();
      }
      break;
  }
  return testing::AssertionFailure() << "rc " << l.rc << ", found " << l.found
                                     << ", remaining " << l.remaining;
}

const Api kApis[] = {Api::kGet, Api::kGetTtl, Api::kExists, Api::kTtlRemaining};

TEST(PageReadTtl, KeysStopBeingReturnedWhenTheyExpireUnderAHeldSnapshot) {
  TempDir dir;
  const std::string path = dir.file("ttl.db");
  KVStore* kv = OpenWal(path);
  KVStore* sql = OpenWal(path);  // reads in a read transaction: SQL only
  ASSERT_NE(kv, nullptr);
  ASSERT_NE(sql, nullptr);

  Model live;  // what a scan must show
  for (int i = 0; i < 300; ++i) live[Key("a", i)] = "filler-" + Key("", i);
  PutAll(kv, live);
  auto put_ttl = [&](const std::string& k, const std::string& v, int64_t at) {
    ASSERT_EQ(kvstore_put_ttl(kv, k.data(), Len(k), v.data(), Len(v), at),
              KVSTORE_OK)
        << k;
  };
  // Expiry times in every integer encoding of SQLite's records (serial
  // types 9 and 1 to 6; the page path decodes them itself): past ones, in
  // 1970 or a second ago, and future ones.
  const std::map<std::string, int64_t> past = {
      {"t-past-1", 1},  // serial type 9: no bytes
      {"t-past-2", 2},
      {"t-past-200", 200},
      {"t-past-40000", 40000},
      {"t-past-1e7", 10000000},
      {"t-past-2e33", int64_t{1} << 33},
      {"t-past-recent", kvstore_now_ms() - 1000}};
  const std::map<std::string, int64_t> future = {
      {"t-future-2100", 4102444800000LL},   // 6 bytes
      {"t-future-2e47", int64_t{1} << 47},  // 8 bytes
      {"t-future-max", std::numeric_limits<int64_t>::max()},
      {"t-future-hour", kvstore_now_ms() + 3600 * 1000}};
  for (const auto& [k, at] : past) put_ttl(k, "value of " + k, at);
  for (const auto& [k, at] : future) {
    put_ttl(k, "value of " + k, at);
    live[k] = "value of " + k;
  }
  // Keys that expire during the test, one per kind of lookup (the first
  // lookup that finds a key expired deletes it).
  const int64_t soon = kvstore_now_ms() + 300;
  const std::map<Api, std::string> soon_key = {
      {Api::kGet, "t-soon-get"},
      {Api::kGetTtl, "t-soon-get-ttl"},
      {Api::kExists, "t-soon-exists"},
      {Api::kTtlRemaining, "t-soon-ttl-remaining"}};
  for (const auto& [api, k] : soon_key) put_ttl(k, "value of " + k, soon);
  put_ttl("t-soon-scan", "value of t-soon-scan", soon);

  // A scan before any expired key was read (so none was deleted): the page
  // path's own expiry check hides them. The soon keys all show or none.
  ASSERT_TRUE(ReadsRepeatedly(kv, Key("a", 0), live[Key("a", 0)]));
  {
    const int64_t before = kvstore_now_ms();
    Scan scan = ScanStore(kv);
    const int64_t after = kvstore_now_ms();
    ASSERT_EQ(scan.rc, KVSTORE_OK);
    Model with_soon = live;
    for (const auto& [api, k] : soon_key) with_soon[k] = "value of " + k;
    with_soon["t-soon-scan"] = "value of t-soon-scan";
    // Live when the scan started (all of them: they expire together) if it
    // ended before `soon`, expired if it started after; either in between.
    const bool shown =
        after < soon || (before < soon && scan.rows.size() == with_soon.size());
    EXPECT_TRUE(SameRows(scan.rows, RowsOf(shown ? with_soon : live)));
  }

  // SQL's answers for the past keys, without deleting them.
  ASSERT_EQ(kvstore_begin(sql, 0), KVSTORE_OK);
  for (const auto& [k, at] : past) {
    SCOPED_TRACE(k);
    for (Api api : kApis) EXPECT_TRUE(ReportsExpired(Look(sql, api, k), api));
  }
  for (const auto& [k, at] : future) {
    SCOPED_TRACE(k);
    for (Api api : kApis) {
      EXPECT_TRUE(FoundLive(Look(sql, api, k), api, "value of " + k, at));
    }
  }
  ASSERT_EQ(kvstore_commit(sql), KVSTORE_OK);

  // The same through the pages: the first lookup of a past key reports it
  // as SQL did, and deletes it; every later one finds nothing.
  ASSERT_TRUE(ReadsRepeatedly(kv, Key("a", 1), live[Key("a", 1)]));
  for (const auto& [k, at] : past) {
    SCOPED_TRACE(k);
    EXPECT_TRUE(
        ReportsExpired(Look(kv, Api::kTtlRemaining, k), Api::kTtlRemaining));
    for (int i = 0; i < kReads; ++i) {
      EXPECT_EQ(Look(kv, Api::kGet, k).rc, KVSTORE_NOTFOUND);
      EXPECT_EQ(Look(kv, Api::kTtlRemaining, k).rc, KVSTORE_NOTFOUND);
      Lookup e = Look(kv, Api::kExists, k);
      EXPECT_EQ(e.rc, KVSTORE_OK);
      EXPECT_FALSE(e.found);
    }
  }
  for (const auto& [k, at] : future) {
    SCOPED_TRACE(k);
    for (int i = 0; i < kReads; ++i) {
      for (Api api : kApis) {
        EXPECT_TRUE(FoundLive(Look(kv, api, k), api, "value of " + k, at));
      }
    }
  }

  // The soon keys, read repeatedly while they live. On a slow machine one
  // may expire already here: then it must read as expired, as below.
  std::set<Api> expired_early;
  for (const auto& [api, k] : soon_key) {
    SCOPED_TRACE(k);
    for (int i = 0; i < kReads; ++i) {
      Lookup l = Look(kv, api, k);
      if (!l.found) {
        EXPECT_GE(l.after, soon) << "reported expired before its time";
        EXPECT_TRUE(ReportsExpired(l, api));
        expired_early.insert(api);
        break;
      }
      EXPECT_TRUE(FoundLive(l, api, "value of " + k, soon));
    }
  }

  while (kvstore_now_ms() <= soon) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // The sleep let the handle's snapshot go idle; these reads, finding no
  // new commit, take it again.
  ASSERT_TRUE(ReadsRepeatedly(kv, Key("a", 2), live[Key("a", 2)]));
  Scan scan = ScanStore(kv);
  ASSERT_EQ(scan.rc, KVSTORE_OK);
  EXPECT_TRUE(SameRows(scan.rows, RowsOf(live)));
  scan = ScanStore(kv, /*backwards=*/true);
  ASSERT_EQ(scan.rc, KVSTORE_OK);
  EXPECT_TRUE(SameRows(scan.rows, RowsOf(live, true)));

  // SQL, then the pages: expired now, every time.
  ASSERT_EQ(kvstore_begin(sql, 0), KVSTORE_OK);
  for (const auto& [api, k] : soon_key) {
    if (expired_early.count(api) != 0) continue;  // deleted already
    EXPECT_TRUE(ReportsExpired(Look(sql, api, k), api)) << k;
  }
  ASSERT_EQ(kvstore_commit(sql), KVSTORE_OK);
  ASSERT_TRUE(ReadsRepeatedly(kv, Key("a", 3), live[Key("a", 3)]));
  for (const auto& [api, k] : soon_key) {
    SCOPED_TRACE(k);
    if (expired_early.count(api) == 0) {
      EXPECT_TRUE(ReportsExpired(Look(kv, api, k), api));
    }
    for (int i = 0; i < kReads; ++i) {
      Lookup l = Look(kv, api, k);
      EXPECT_FALSE(l.found);
      EXPECT_EQ(l.rc, api == Api::kExists ? KVSTORE_OK : KVSTORE_NOTFOUND);
    }
  }
  // Every expired key read above was deleted; t-soon-scan was only ever
  // scanned, so it is still counted (count includes unpurged keys).
  EXPECT_EQ(Count(kv), static_cast<int64_t>(live.size()) + 1);

  EXPECT_EQ(kvstore_close(sql), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// ---- 2. Encryption ----------------------------------------------------------

// Runs sql on the file with plain SQLite, binding key to ?1 and key2 to ?2
// as blobs; returns the number of rows changed (-1 on error).
int RawUpdate(const std::string& path, const char* sql, const std::string& key,
              const std::string& key2 = "") {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return -1;
  }
  sqlite3_stmt* stmt = nullptr;
  int changed = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK) {
    sqlite3_bind_blob(stmt, 1, key.data(), Len(key), SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, key2.data(), Len(key2), SQLITE_STATIC);
    if (sqlite3_step(stmt) == SQLITE_DONE) changed = sqlite3_changes(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return changed;
}

// The value bytes of key in the default family's table, as stored.
std::string RawValue(const std::string& path, const std::string& key) {
  sqlite3* db = nullptr;
  std::string out = "<none>";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
      SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    const std::string sql = "SELECT " + snkv::test::StoredValueSql(db, 0) +
                            " FROM kv_0 WHERE k = ?1";
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
      sqlite3_bind_blob(stmt, 1, key.data(), Len(key), SQLITE_STATIC);
      if (sqlite3_step(stmt) == SQLITE_ROW) {
        out.assign(static_cast<const char*>(sqlite3_column_blob(stmt, 0)),
                   static_cast<size_t>(sqlite3_column_bytes(stmt, 0)));
      }
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

TEST(PageReadEncryption, ValuesComeBackAsPlaintextAndTamperingIsCorrupt) {
  TempDir dir;
  const std::string path = dir.file("enc.db");
  KVStoreConfig cfg = WalConfig();
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open_encrypted(path.c_str(), "pw", 2, &kv, &cfg),
            KVSTORE_OK);
  ASSERT_EQ(kvstore_is_encrypted(kv), 1);
  KVColumnFamily* cf = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv, "secret", &cf), KVSTORE_OK);

  // The same keys in two families, with different values: each value is
  // sealed for its family and key.
  Model def;
  Model fam;
  for (int i = 0; i < 300; ++i) {
    def[Key("a", i)] = "filler-" + std::to_string(i);
    fam[Key("a", i)] = "cf-filler-" + std::to_string(i);
  }
  uint32_t seed = 1;
  for (size_t size : {0, 1, 39, 40, 41, 1000, 5000, 20000, 100000}) {
    const std::string k = Key("v", static_cast<int>(size));
    def[k] = Bytes(size, seed++);
    fam[k] = Bytes(size, seed++);
  }
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  for (const auto& [k, v] : def) ASSERT_EQ(Put(kv, k, v), KVSTORE_OK);
  for (const auto& [k, v] : fam) ASSERT_EQ(CfPut(cf, k, v), KVSTORE_OK);
  ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);

  // Stored sealed: 40 bytes more than the plaintext, and not it.
  const std::string sealed = RawValue(path, Key("v", 1000));
  EXPECT_EQ(sealed.size(), 1040u);
  EXPECT_EQ(sealed.find(def[Key("v", 1000)]), std::string::npos);

  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& [k, v] : def) {
      if (k[0] == 'v' || k == Key("a", 7)) {
        ASSERT_TRUE(ReadsRepeatedly(kv, k, v));
      }
    }
    for (const auto& [k, v] : fam) {
      if (k[0] == 'v' || k == Key("a", 7)) {
        ASSERT_TRUE(CfReadsRepeatedly(cf, k, v));
      }
    }
  }
  for (bool backwards : {false, true}) {
    ASSERT_TRUE(ReadsRepeatedly(kv, Key("a", 0), def[Key("a", 0)]));
    Scan scan = ScanStore(kv, backwards);
    EXPECT_EQ(scan.rc, KVSTORE_OK);
    EXPECT_TRUE(SameRows(scan.rows, RowsOf(def, backwards)));
    scan = ScanFamily(cf, backwards);
    EXPECT_EQ(scan.rc, KVSTORE_OK);
    EXPECT_TRUE(SameRows(scan.rows, RowsOf(fam, backwards)));
  }

  // Another connection changes a value's bytes and moves another key's
  // value onto a third key: both now fail authentication, on every read,
  // through SQL and through the pages alike; nothing else changes.
  const std::string flipped = Key("v", 5000);
  const std::string moved_to = Key("v", 20000);
  ASSERT_EQ(
      RawUpdate(path, "UPDATE kv_0 SET v = v || X'00' WHERE k = ?1", flipped),
      1);
  ASSERT_EQ(RawUpdate(path,
                      "UPDATE kv_0 SET v = (SELECT v FROM kv_0 WHERE k = ?2)"
                      " WHERE k = ?1",
                      moved_to, Key("v", 1000)),
            1);
  for (const std::string& k : {flipped, moved_to}) {
    SCOPED_TRACE(k);
    for (int i = 0; i < kReads; ++i) {
      void* p = nullptr;
      int n = 0;
      EXPECT_EQ(kvstore_get(kv, k.data(), Len(k), &p, &n), KVSTORE_CORRUPT);
      EXPECT_EQ(p, nullptr);
    }
  }
  for (const auto& [k, v] : def) {
    if (k != flipped && k != moved_to) {
      EXPECT_TRUE(ReadsRepeatedly(kv, k, v));
    }
  }
  for (const auto& [k, v] : fam) EXPECT_TRUE(CfReadsRepeatedly(cf, k, v));
  // A scan yields every row before the first damaged one, then stops with
  // the error.
  Scan scan = ScanStore(kv);
  EXPECT_EQ(scan.rc, KVSTORE_CORRUPT);
  Rows want;
  for (const auto& [k, v] : def) {
    if (k == flipped) break;
    want.emplace_back(k, v);
  }
  EXPECT_TRUE(SameRows(scan.rows, want));

  kvstore_cf_close(cf);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// ---- 3. Another handle's changes between repeated reads ---------------------

TEST(PageReadFreshness, EveryChangeOfAnotherHandleIsSeenByGetsAndScans) {
  TempDir dir;
  const std::string path = dir.file("fresh.db");
  KVStore* a = OpenWal(path);  // reads
  KVStore* b = OpenWal(path);  // writes
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  Model model;
  for (int i = 0; i < 1000; ++i) model[Key("k", i)] = "v0-" + Key("k", i);
  PutAll(b, model);

  std::mt19937 rng(3);
  auto any_key = [&] { return Key("k", static_cast<int>(rng() % 1100)); };
  auto value = [&](int round) {
    return "v" + std::to_string(round) + "-" + std::string(rng() % 300, 'x');
  };
  for (int round = 1; round <= 12; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::vector<std::string> touched;
    auto put = [&](const std::string& k, const std::string& v) {
      ASSERT_EQ(Put(b, k, v), KVSTORE_OK);
      model[k] = v;
      touched.push_back(k);
    };
    auto del = [&](const std::string& k) {
      ASSERT_EQ(kvstore_delete(b, k.data(), Len(k)),
                model.count(k) != 0 ? KVSTORE_OK : KVSTORE_NOTFOUND);
      model.erase(k);
      touched.push_back(k);
    };
    switch (round % 4) {
      case 0:  // a few autocommit changes
        for (int i = 0; i < 5; ++i) put(any_key(), value(round));
        for (int i = 0; i < 3; ++i) del(any_key());
        for (int i = 0; i < 3; ++i) put(any_key() + "+new", value(round));
        break;
      case 1:  // one transaction that rewrites much of the tree
        ASSERT_EQ(kvstore_begin(b, 1), KVSTORE_OK);
        for (int i = 0; i < 300; ++i) put(any_key(), value(round));
        for (int i = 0; i < 50; ++i) del(any_key());
        for (int i = 0; i < 50; ++i) put(any_key() + "+txn", value(round));
        ASSERT_EQ(kvstore_commit(b), KVSTORE_OK);
        break;
      case 2:  // values on overflow pages, replaced and removed
        for (int i = 0; i < 3; ++i) {
          put(any_key(),
              Bytes(20000 + rng() % 180000, static_cast<uint32_t>(round + i)));
        }
        del(any_key());
        break;
      case 3: {  // a checkpoint moves pages into the file, then changes
        const int mode = round == 3   ? KVSTORE_CHECKPOINT_PASSIVE
                         : round == 7 ? KVSTORE_CHECKPOINT_TRUNCATE
                                      : KVSTORE_CHECKPOINT_RESTART;
        ASSERT_EQ(kvstore_checkpoint(b, mode, nullptr, nullptr), KVSTORE_OK);
        for (int i = 0; i < 10; ++i) put(any_key(), value(round));
        del(any_key());
        break;
      }
    }
    if (HasFatalFailure()) return;  // in put() or del()
    // The next read sees the changes (a new iterator's full scan first,
    // then gets), and so do the reads after it, which use the pages.
    Scan scan = ScanStore(a);
    ASSERT_EQ(scan.rc, KVSTORE_OK);
    ASSERT_TRUE(SameRows(scan.rows, RowsOf(model)));
    for (int pass = 0; pass < 2; ++pass) {
      for (const std::string& k : touched) {
        ASSERT_TRUE(SameBytes(Get(a, k), Want(model, k))) << k;
        int e = -1;
        ASSERT_EQ(kvstore_exists(a, k.data(), Len(k), &e), KVSTORE_OK);
        ASSERT_EQ(e, model.count(k) != 0 ? 1 : 0) << k;
      }
    }
    for (size_t i = 0; i < 3 && i < touched.size(); ++i) {
      ASSERT_TRUE(ReadsRepeatedly(a, touched[i], Want(model, touched[i])));
    }
    for (int i = 0; i < 20; ++i) {
      const std::string k = any_key();
      ASSERT_TRUE(SameBytes(Get(a, k), Want(model, k))) << k;
    }
    const bool backwards = round % 2 == 1;
    scan = ScanStore(a, backwards);
    ASSERT_EQ(scan.rc, KVSTORE_OK);
    ASSERT_TRUE(SameRows(scan.rows, RowsOf(model, backwards)));
  }
  EXPECT_EQ(kvstore_close(b), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(a), KVSTORE_OK);
}

// ---- 4. A family dropped by another handle ----------------------------------

// The integer that sql (text parameter ?1 = param) gives on the file,
// read with plain SQLite; -1 on error.
int64_t RawInt(const std::string& path, const char* sql,
               const std::string& param = "") {
  sqlite3* db = nullptr;
  int64_t out = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
      SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK) {
      sqlite3_bind_text(stmt, 1, param.c_str(), -1, SQLITE_STATIC);
      if (sqlite3_step(stmt) == SQLITE_ROW) {
        out = sqlite3_column_int64(stmt, 0);
      }
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

// The root page of family `name`'s table (0 if there is none).
int64_t RootPageOf(const std::string& path, const std::string& name) {
  return RawInt(path,
                "SELECT coalesce((SELECT s.rootpage FROM sqlite_schema s,"
                " snkv_cf c WHERE c.name = ?1 AND s.type = 'table'"
                " AND s.name = 'kv_' || c.id), 0)",
                name);
}

class PageReadDrop : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("drop.db");
    a_ = OpenWal(path_);
    b_ = OpenWal(path_);
    ASSERT_NE(a_, nullptr);
    ASSERT_NE(b_, nullptr);
    // victim first: survivor's table then has the higher root page, which
    // dropping victim moves into the freed one (auto-vacuum).
    ASSERT_EQ(kvstore_cf_create(a_, "victim", &victim_), KVSTORE_OK);
    ASSERT_EQ(kvstore_cf_create(a_, "survivor", &survivor_), KVSTORE_OK);
    for (int i = 0; i < 400; ++i) {
      victim_model_[Key("k", i)] = "victim-" + std::to_string(i);
      survivor_model_[Key("k", i)] = "survivor-" + std::to_string(i);
    }
    ASSERT_EQ(kvstore_begin(a_, 1), KVSTORE_OK);
    for (const auto& [k, v] : victim_model_) {
      ASSERT_EQ(CfPut(victim_, k, v), KVSTORE_OK);
    }
    for (const auto& [k, v] : survivor_model_) {
      ASSERT_EQ(CfPut(survivor_, k, v), KVSTORE_OK);
    }
    ASSERT_EQ(Put(a_, "d", "default"), KVSTORE_OK);
    ASSERT_EQ(kvstore_commit(a_), KVSTORE_OK);
  }
  void TearDown() override {
    kvstore_cf_close(victim_);
    kvstore_cf_close(survivor_);
    EXPECT_EQ(kvstore_close(b_), KVSTORE_OK);
    EXPECT_EQ(kvstore_close(a_), KVSTORE_OK);
  }

  // a_ reads both families repeatedly and scans them (through the pages).
  void ReadBoth() {
    for (const std::string& k : {Key("k", 0), Key("k", 200), Key("k", 399)}) {
      ASSERT_TRUE(CfReadsRepeatedly(victim_, k, victim_model_[k]));
      ASSERT_TRUE(CfReadsRepeatedly(survivor_, k, survivor_model_[k]));
      int64_t rem = 0;
      ASSERT_EQ(kvstore_cf_ttl_remaining(victim_, k.data(), Len(k), &rem),
                KVSTORE_OK);
      EXPECT_EQ(rem, KVSTORE_NO_TTL);
    }
    Scan scan = ScanFamily(victim_);
    ASSERT_EQ(scan.rc, KVSTORE_OK);
    ASSERT_TRUE(SameRows(scan.rows, RowsOf(victim_model_)));
    scan = ScanFamily(survivor_);
    ASSERT_EQ(scan.rc, KVSTORE_OK);
    ASSERT_TRUE(SameRows(scan.rows, RowsOf(survivor_model_)));
  }

  TempDir dir_;
  std::string path_;
  KVStore* a_ = nullptr;
  KVStore* b_ = nullptr;
  KVColumnFamily* victim_ = nullptr;
  KVColumnFamily* survivor_ = nullptr;
  Model victim_model_;
  Model survivor_model_;
};

// kvstore.h: after kvstore_cf_drop, "open handles on it (from any KVStore)
// fail with KVSTORE_NOTFOUND from then on".
TEST_F(PageReadDrop, ReadsOfTheDroppedFamilyFailWithNotFoundEveryTime) {
  ReadBoth();
  const int64_t survivor_root = RootPageOf(path_, "survivor");
  ASSERT_EQ(kvstore_cf_drop(b_, "victim"), KVSTORE_OK);
  // What makes this a test of cached root pages: survivor's table moved.
  ASSERT_NE(RootPageOf(path_, "survivor"), survivor_root);

  for (int round = 0; round < 2; ++round) {
    for (const std::string& k : {Key("k", 0), Key("k", 200), Key("nope", 0)}) {
      SCOPED_TRACE(k);
      for (int i = 0; i < kReads; ++i) {
        void* p = nullptr;
        int n = 0;
        int e = -1;
        int64_t rem = -5;
        ASSERT_EQ(kvstore_cf_get(victim_, k.data(), Len(k), &p, &n),
                  KVSTORE_NOTFOUND);
        EXPECT_NE(std::strstr(kvstore_errmsg(a_), "victim"), nullptr)
            << kvstore_errmsg(a_);
        ASSERT_EQ(kvstore_cf_exists(victim_, k.data(), Len(k), &e),
                  KVSTORE_NOTFOUND);
        ASSERT_EQ(kvstore_cf_get_ttl(victim_, k.data(), Len(k), &p, &n, &rem),
                  KVSTORE_NOTFOUND);
        ASSERT_EQ(kvstore_cf_ttl_remaining(victim_, k.data(), Len(k), &rem),
                  KVSTORE_NOTFOUND);
        EXPECT_EQ(p, nullptr);
        EXPECT_EQ(e, -1);
        EXPECT_EQ(rem, -5);
      }
    }
    int64_t count = -5;
    EXPECT_EQ(kvstore_cf_count(victim_, &count), KVSTORE_NOTFOUND);
    EXPECT_EQ(count, -5);

    // The other families read exactly, although survivor's table moved.
    for (const auto& [k, v] : survivor_model_) {
      ASSERT_TRUE(SameBytes(CfGet(survivor_, k), v)) << k;
    }
    ASSERT_TRUE(CfReadsRepeatedly(survivor_, Key("k", 1), "survivor-1"));
    Scan scan = ScanFamily(survivor_);
    ASSERT_EQ(scan.rc, KVSTORE_OK);
    ASSERT_TRUE(SameRows(scan.rows, RowsOf(survivor_model_)));
    ASSERT_TRUE(ReadsRepeatedly(a_, "d", "default"));

    if (round == 0) {
      // A new family of the same name, with the same keys: the old handle
      // must never reach its data.
      KVColumnFamily* again = nullptr;
      ASSERT_EQ(kvstore_cf_create(b_, "victim", &again), KVSTORE_OK);
      Model fresh;
      for (int i = 0; i < 300; ++i) fresh[Key("k", i)] = "new-" + Key("", i);
      ASSERT_EQ(kvstore_begin(b_, 1), KVSTORE_OK);
      for (const auto& [k, v] : fresh) {
        ASSERT_EQ(CfPut(again, k, v), KVSTORE_OK);
      }
      ASSERT_EQ(kvstore_commit(b_), KVSTORE_OK);
      kvstore_cf_close(again);
      KVColumnFamily* reopened = nullptr;
      ASSERT_EQ(kvstore_cf_open(a_, "victim", &reopened), KVSTORE_OK);
      ASSERT_TRUE(CfReadsRepeatedly(reopened, Key("k", 5), fresh[Key("k", 5)]));
      scan = ScanFamily(reopened);
      EXPECT_EQ(scan.rc, KVSTORE_OK);
      EXPECT_TRUE(SameRows(scan.rows, RowsOf(fresh)));
      kvstore_cf_close(reopened);
    }
  }
}

// The same promise for iterators: creating one on the dropped family's
// handle is documented to fail with KVSTORE_NOTFOUND (tests/c_api_cf_test's
// FamilyDroppedThroughAnotherHandleReturnsNotFound checks it for a handle
// that never iterated).
TEST_F(PageReadDrop, IteratorOnTheDroppedFamilyFailsWithNotFound) {
  ReadBoth();  // scans: the handle now keeps iterator statements for reuse
  ASSERT_EQ(kvstore_cf_drop(b_, "victim"), KVSTORE_OK);
  ASSERT_TRUE(ReadsRepeatedly(a_, "d", "default"));
  KVIterator* it = reinterpret_cast<KVIterator*>(0x1);
  const int create_rc = kvstore_cf_iterator_create(victim_, &it);
  EXPECT_EQ(create_rc, KVSTORE_NOTFOUND);
  EXPECT_EQ(it, nullptr);
}

// Without a read in between: the handle's cached snapshot predates the drop,
// and creating the iterator must still look at the current schema.
TEST_F(PageReadDrop, IteratorCreateRightAfterTheDropFailsWithNotFound) {
  ReadBoth();
  ASSERT_EQ(kvstore_cf_drop(b_, "victim"), KVSTORE_OK);
  KVIterator* it = reinterpret_cast<KVIterator*>(0x1);
  EXPECT_EQ(kvstore_cf_iterator_create(victim_, &it), KVSTORE_NOTFOUND);
  EXPECT_EQ(it, nullptr);
}

// A rolled-back transaction takes the schema version back with it, so the
// same version can come round again with another schema: here the rollback
// undoes an expiry index (seen while the family existed), and the drop by
// the other handle then commits that same version number without it.
TEST_F(PageReadDrop, IteratorCreateAfterARolledBackSchemaChangeSeesTheDrop) {
  ASSERT_EQ(kvstore_begin(a_, 1), KVSTORE_OK);
  const std::string k = "ttl-key";
  ASSERT_EQ(kvstore_cf_put_ttl(victim_, k.data(), Len(k), "v", 1,
                               kvstore_now_ms() + 60000),
            KVSTORE_OK);
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_cf_iterator_create(victim_, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  kvstore_iterator_close(it);  // its statements go back to the pool
  ASSERT_EQ(kvstore_rollback(a_), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_drop(b_, "victim"), KVSTORE_OK);
  it = reinterpret_cast<KVIterator*>(0x1);
  EXPECT_EQ(kvstore_cf_iterator_create(victim_, &it), KVSTORE_NOTFOUND);
  EXPECT_EQ(it, nullptr);
}

// ---- 5. Overflow pages: large values and long keys --------------------------

class PageReadOverflow : public ::testing::TestWithParam<int> {};

TEST_P(PageReadOverflow, LargeValuesAndLongKeysReadWhole) {
  const int page_size = GetParam();
  TempDir dir;
  const std::string path = dir.file("big.db");
  KVStoreConfig cfg = WalConfig();
  cfg.pageSize = page_size;
  KVStore* a = nullptr;
  ASSERT_EQ(kvstore_open_v2(path.c_str(), &a, &cfg), KVSTORE_OK);
  KVStore* b = OpenWal(path);
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(RawInt(path, "PRAGMA page_size"), page_size);

  Model model;
  for (int i = 0; i < 300; ++i) model[Key("a", i)] = "small-" + Key("", i);
  uint32_t seed = 10;
  model["b-empty"] = "";
  model["b-10k"] = Bytes(10 << 10, seed++);
  model["b-100k"] = Bytes(100 << 10, seed++);
  model["b-1m"] = Bytes(1 << 20, seed++);
  // Records of every size around each point where the rule for how much of
  // an index cell's payload stays on its page changes (fileformat2.html,
  // "B-tree Cell Format": U usable bytes, X and M the maximum and minimum
  // local payload; the whole record is the payload): all of it up to X,
  // then M, or M plus the remainder modulo U - 4 where that is <= X.
  const int u = page_size;
  const int x = (u - 12) * 64 / 255 - 23;
  const int m = (u - 12) * 32 / 255 - 23;
  int sweep = 0;
  for (int edge : {x, m + (u - 4), x + (u - 4), m + 2 * (u - 4)}) {
    for (int size = edge - 32; size <= edge + 8; ++size) {
      model[Key("c", sweep++)] = Bytes(static_cast<size_t>(size), seed++);
    }
  }
  // Keys of several KiB that differ only at their end, one that is a prefix
  // of others, and one of random bytes: comparing them reads overflow pages.
  const std::string lx(3000, 'x');
  std::vector<std::string> long_keys = {"L" + lx,
                                        "L" + lx + "1",
                                        "L" + lx + "2",
                                        "L" + std::string(8000, 'x') + "1",
                                        "L" + std::string(20000, 'y'),
                                        "M" + Bytes(5000, 99)};
  for (size_t i = 0; i < long_keys.size(); ++i) {
    model[long_keys[i]] =
        i == 2 ? Bytes(100 << 10, seed++) : "long-key-" + std::to_string(i);
  }
  const std::vector<std::string> missing = {"L" + lx + "0",
                                            "L" + lx + "3",
                                            "L" + lx.substr(1),
                                            "L" + std::string(8000, 'x'),
                                            "L" + std::string(20000, 'y') + "z",
                                            "M" + Bytes(4999, 99),
                                            std::string("b-1m\0", 5),
                                            "b-10"};
  PutAll(a, model);

  auto check = [&] {
    for (int pass = 0; pass < 2; ++pass) {
      for (const auto& [k, v] : model) {
        ASSERT_TRUE(SameBytes(Get(a, k), v)) << k.substr(0, 40);
      }
    }
    for (const std::string& k : long_keys) {
      ASSERT_TRUE(ReadsRepeatedly(a, k, Want(model, k)));
      int e = -1;
      ASSERT_EQ(kvstore_exists(a, k.data(), Len(k), &e), KVSTORE_OK);
      EXPECT_EQ(e, model.count(k) != 0 ? 1 : 0);
    }
    for (const char* k : {"b-empty", "b-10k", "b-100k", "b-1m"}) {
      ASSERT_TRUE(ReadsRepeatedly(a, k, Want(model, k)));
    }
    for (const std::string& k : missing) {
      ASSERT_TRUE(ReadsRepeatedly(a, k, kNotFound));
      int e = -1;
      ASSERT_EQ(kvstore_exists(a, k.data(), Len(k), &e), KVSTORE_OK);
      EXPECT_EQ(e, 0);
    }
    for (bool backwards : {false, true}) {
      Scan scan = ScanStore(a, backwards);
      EXPECT_EQ(scan.rc, KVSTORE_OK);
      EXPECT_TRUE(SameRows(scan.rows, RowsOf(model, backwards)));
    }
  };
  check();
  if (HasFatalFailure()) return;

  // Another handle replaces, removes and adds large rows: their new pages
  // are in the WAL now.
  model["b-1m"] = Bytes(1 << 20, seed++);
  ASSERT_EQ(Put(b, "b-1m", model["b-1m"]), KVSTORE_OK);
  ASSERT_EQ(kvstore_delete(b, "b-100k", 6), KVSTORE_OK);
  model.erase("b-100k");
  model[long_keys[1]] = Bytes(50 << 10, seed++);
  ASSERT_EQ(Put(b, long_keys[1], model[long_keys[1]]), KVSTORE_OK);
  const std::string new_key = "L" + lx + "15";
  model[new_key] = Bytes(70 << 10, seed++);
  ASSERT_EQ(Put(b, new_key, model[new_key]), KVSTORE_OK);
  long_keys.push_back(new_key);
  check();

  EXPECT_EQ(kvstore_close(b), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(a), KVSTORE_OK);
}

INSTANTIATE_TEST_SUITE_P(PageSize, PageReadOverflow,
                         ::testing::Values(512, 4096, 65536),
                         [](const auto& info) {
                           return "page" + std::to_string(info.param);
                         });

// ---- 6. An iterator inside a write transaction ------------------------------

TEST(PageReadTransaction, IteratorSeesItsOwnUncommittedWrites) {
  TempDir dir;
  KVStore* kv = OpenWal(dir.file("txn.db"));
  ASSERT_NE(kv, nullptr);
  Model committed;
  for (int i = 0; i < 1000; ++i) committed[Key("k", i)] = "v0-" + Key("", i);
  PutAll(kv, committed);
  ASSERT_TRUE(ReadsRepeatedly(kv, Key("k", 1), committed[Key("k", 1)]));

  // In the transaction: deletes, then overwrites (some onto overflow
  // pages) and new keys, all still buffered when the iterator starts.
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  Model txn = committed;
  for (int i = 0; i < 1000; ++i) {
    const std::string k = Key("k", i);
    if (i % 3 != 0 && i % 7 == 0) {
      ASSERT_EQ(kvstore_delete(kv, k.data(), Len(k)), KVSTORE_OK);
      txn.erase(k);
    }
  }
  for (int i = 0; i < 1000; ++i) {
    const std::string k = Key("k", i);
    if (i % 3 == 0) {
      txn[k] = i % 97 == 0 ? Bytes(30000, static_cast<uint32_t>(i))
                           : "txn-" + Key("", i);
      ASSERT_EQ(Put(kv, k, txn[k]), KVSTORE_OK);
    }
    if (i % 11 == 0) {
      txn[k + "+new"] = "new-" + Key("", i);
      ASSERT_EQ(Put(kv, k + "+new", txn[k + "+new"]), KVSTORE_OK);
    }
  }
  for (bool backwards : {false, true}) {
    Scan scan = ScanStore(kv, backwards);
    EXPECT_EQ(scan.rc, KVSTORE_OK);
    EXPECT_TRUE(SameRows(scan.rows, RowsOf(txn, backwards)));
  }
  for (int i : {0, 3, 7, 11, 97, 500, 999}) {
    EXPECT_TRUE(ReadsRepeatedly(kv, Key("k", i), Want(txn, Key("k", i))));
  }

  // Writes ahead of a running scan in the transaction show in it.
  {
    KVIterator* it = nullptr;
    ASSERT_EQ(kvstore_iterator_create(kv, &it), KVSTORE_OK);
    ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
    const Rows all = RowsOf(txn);
    int rc = -1;
    Rows head = Take(it, false, 300, &rc);
    ASSERT_EQ(rc, KVSTORE_OK);
    EXPECT_TRUE(SameRows(head, Rows(all.begin(), all.begin() + 300)));
    const std::string at = IterKey(it);
    EXPECT_EQ(at, all[300].first);
    // Ahead of the scan: an overwrite, a delete and a new key.
    txn[all[500].first] = "mid-scan";
    ASSERT_EQ(Put(kv, all[500].first, "mid-scan"), KVSTORE_OK);
    ASSERT_EQ(kvstore_delete(kv, all[600].first.data(), Len(all[600].first)),
              KVSTORE_OK);
    txn.erase(all[600].first);
    txn[all[700].first + "~mid"] = "added mid-scan";
    ASSERT_EQ(Put(kv, all[700].first + "~mid", "added mid-scan"), KVSTORE_OK);
    Rows tail = Take(it, false, std::numeric_limits<size_t>::max(), &rc);
    EXPECT_EQ(rc, KVSTORE_OK);
    const Rows now = RowsOf(txn);
    auto from = std::find_if(now.begin(), now.end(),
                             [&](const auto& r) { return r.first == at; });
    EXPECT_TRUE(SameRows(tail, Rows(from, now.end())));
    kvstore_iterator_close(it);
  }
  ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
  committed = txn;

  // After the commit: fresh reads through the pages.
  for (int i : {0, 3, 7, 11, 97, 500, 600, 999}) {
    EXPECT_TRUE(ReadsRepeatedly(kv, Key("k", i), Want(committed, Key("k", i))));
  }
  for (bool backwards : {false, true}) {
    Scan scan = ScanStore(kv, backwards);
    EXPECT_EQ(scan.rc, KVSTORE_OK);
    EXPECT_TRUE(SameRows(scan.rows, RowsOf(committed, backwards)));
  }

  // A rolled-back transaction: its scan shows its writes, later scans do
  // not.
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  Model doomed = committed;
  for (int i = 0; i < 1000; i += 2) {
    const std::string k = Key("k", i);
    if (i % 10 == 0) {
      ASSERT_EQ(kvstore_delete(kv, k.data(), Len(k)),
                doomed.erase(k) != 0 ? KVSTORE_OK : KVSTORE_NOTFOUND);
    } else {
      doomed[k] = "doomed";
      ASSERT_EQ(Put(kv, k, "doomed"), KVSTORE_OK);
    }
  }
  Scan scan = ScanStore(kv);
  EXPECT_EQ(scan.rc, KVSTORE_OK);
  EXPECT_TRUE(SameRows(scan.rows, RowsOf(doomed)));
  ASSERT_EQ(kvstore_rollback(kv), KVSTORE_OK);
  for (int i : {0, 2, 10, 998}) {
    EXPECT_TRUE(ReadsRepeatedly(kv, Key("k", i), Want(committed, Key("k", i))));
  }
  scan = ScanStore(kv);
  EXPECT_EQ(scan.rc, KVSTORE_OK);
  EXPECT_TRUE(SameRows(scan.rows, RowsOf(committed)));

  // A scan that was reading the pages when the transaction began: from then
  // on it shows the transaction's writes ahead of it (it steps SQL, which
  // shows the handle its own changes).
  {
    ASSERT_TRUE(ReadsRepeatedly(kv, Key("k", 1), Want(committed, Key("k", 1))));
    KVIterator* it = nullptr;
    ASSERT_EQ(kvstore_iterator_create(kv, &it), KVSTORE_OK);
    ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
    const Rows all = RowsOf(committed);
    int rc = -1;
    Rows head = Take(it, false, 400, &rc);
    ASSERT_EQ(rc, KVSTORE_OK);
    EXPECT_TRUE(SameRows(head, Rows(all.begin(), all.begin() + 400)));
    const std::string at = IterKey(it);
    ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
    Model txn2 = committed;
    for (size_t i : {size_t{450}, size_t{650}}) {
      txn2[all[i].first] = "txn2";
      ASSERT_EQ(Put(kv, all[i].first, "txn2"), KVSTORE_OK);
    }
    ASSERT_EQ(kvstore_delete(kv, all[550].first.data(), Len(all[550].first)),
              KVSTORE_OK);
    txn2.erase(all[550].first);
    Rows tail = Take(it, false, std::numeric_limits<size_t>::max(), &rc);
    EXPECT_EQ(rc, KVSTORE_OK);
    const Rows now = RowsOf(txn2);
    auto from = std::find_if(now.begin(), now.end(),
                             [&](const auto& r) { return r.first == at; });
    EXPECT_TRUE(SameRows(tail, Rows(from, now.end())));
    kvstore_iterator_close(it);
    ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
    committed = txn2;
    EXPECT_TRUE(ReadsRepeatedly(kv, all[450].first, "txn2"));
    EXPECT_TRUE(ReadsRepeatedly(kv, all[550].first, kNotFound));
    scan = ScanStore(kv, /*backwards=*/true);
    EXPECT_EQ(scan.rc, KVSTORE_OK);
    EXPECT_TRUE(SameRows(scan.rows, RowsOf(committed, true)));
  }
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// ---- 7. Another process writes during a scan --------------------------------

// A tests/tools/mp_worker process on the store, driven by lines on its
// stdin and stdout (the protocol is described in mp_worker.cc).
using Worker = snkv::test::ChildProcess;

std::string BaseValue(const std::string& key) { return "v1-" + key; }

TEST(PageReadMultiProcess, ScanKeepsItsSnapshotWhileAnotherProcessCommits) {
  TempDir dir;
  const std::string path = dir.file("mp.db");
  KVStore* kv = OpenWal(path, 10000);
  ASSERT_NE(kv, nullptr);
  Model model;
  for (int i = 0; i < 2000; ++i) model[Key("k", i)] = BaseValue(Key("k", i));
  PutAll(kv, model);
  // No busy timeout: its checkpoint below must not wait for our snapshot.
  Worker child({SNKV_TOOL_MP_WORKER, "serve", path, "wal", "0"});
  ASSERT_EQ(child.ReadLine(), "ready");

  ASSERT_TRUE(ReadsRepeatedly(kv, Key("k", 0), model[Key("k", 0)]));
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_iterator_create(kv, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  const Rows before = RowsOf(model);
  int rc = -1;
  Rows head = Take(it, false, 600, &rc);
  ASSERT_EQ(rc, KVSTORE_OK);
  ASSERT_TRUE(SameRows(head, Rows(before.begin(), before.begin() + 600)));

  // The other process overwrites rows behind and ahead of the scan, deletes
  // and adds some ahead of it, and checkpoints as far as our snapshot lets
  // it (into the database file we read pages from).
  for (int i : {10, 1000, 1001, 1002, 1500, 1999}) {
    ASSERT_EQ(child.Ask("put " + Key("k", i) + " v2-" + Key("k", i)), "ok");
    model[Key("k", i)] = "v2-" + Key("k", i);
  }
  for (int i : {700, 1200, 1201}) {
    ASSERT_EQ(child.Ask("del " + Key("k", i)), "ok");
    model.erase(Key("k", i));
  }
  ASSERT_EQ(child.Ask("put " + Key("k", 1234) + "x added"), "ok");
  model[Key("k", 1234) + "x"] = "added";
  const std::string ckpt = child.Ask("checkpoint");
  EXPECT_EQ(ckpt.rfind("error 5 ", 0), 0u)
      << "a TRUNCATE checkpoint cannot finish under our snapshot: " << ckpt;

  // Our reads mid-scan share the scan's snapshot (kvstore.h); the scan
  // goes on in it to the end.
  EXPECT_EQ(Get(kv, Key("k", 1000)), BaseValue(Key("k", 1000)));
  EXPECT_EQ(Get(kv, Key("k", 1200)), BaseValue(Key("k", 1200)));
  Rows tail = Take(it, false, std::numeric_limits<size_t>::max(), &rc);
  EXPECT_EQ(rc, KVSTORE_OK);
  EXPECT_TRUE(SameRows(tail, RowsFrom(before, 600)));
  kvstore_iterator_close(it);

  // Finished: every read sees the other process's commits.
  for (int i : {10, 700, 1000, 1200, 1500, 1999}) {
    ASSERT_TRUE(ReadsRepeatedly(kv, Key("k", i), Want(model, Key("k", i))));
  }
  ASSERT_TRUE(ReadsRepeatedly(kv, Key("k", 1234) + "x", "added"));
  for (bool backwards : {false, true}) {
    Scan scan = ScanStore(kv, backwards);
    EXPECT_EQ(scan.rc, KVSTORE_OK);
    EXPECT_TRUE(SameRows(scan.rows, RowsOf(model, backwards)));
  }
  EXPECT_EQ(child.Ask("quit"), "<eof>");
  EXPECT_TRUE(child.ExitedOk());
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// While another process writes as fast as it can, every scan sees one
// consistent state: mp_worker "write p n" commits p0 (with p0b), p1, ...,
// p9, p10 (with p10b), ... in that order, so a snapshot holds p0..p(m-1)
// for some m, and pjb exactly with pj.
TEST(PageReadMultiProcess, ScansDuringAnotherProcessesWritesAreConsistent) {
  TempDir dir;
  const std::string path = dir.file("mp.db");
  KVStore* kv = OpenWal(path, 10000);
  ASSERT_NE(kv, nullptr);
  Model base;
  for (int i = 0; i < 2000; ++i) base[Key("k", i)] = BaseValue(Key("k", i));
  PutAll(kv, base);
  constexpr int kWrites = 1500;
  Worker child({SNKV_TOOL_MP_WORKER, "write", path, "wal", "30000", "p",
                std::to_string(kWrites)});
  ASSERT_EQ(child.ReadLine(), "ready");
  ASSERT_TRUE(child.Send("go"));

  // Checks one scan; returns m, or -1 after adding a failure.
  auto check = [&](const Scan& scan, bool backwards) -> int {
    EXPECT_EQ(scan.rc, KVSTORE_OK);
    Rows base_rows;
    std::set<int> plain;
    std::set<int> with_b;
    for (const auto& [k, v] : scan.rows) {
      if (k[0] == 'k') {
        base_rows.emplace_back(k, v);
        continue;
      }
      const bool b = k.back() == 'b';
      EXPECT_EQ(v, "v" + k);
      const int j = std::stoi(k.substr(1, k.size() - 1 - (b ? 1 : 0)));
      (b ? with_b : plain).insert(j);
    }
    EXPECT_TRUE(SameRows(base_rows, RowsOf(base, backwards)));
    const int m = static_cast<int>(plain.size());
    if (!plain.empty() && *plain.rbegin() != m - 1) {
      ADD_FAILURE() << "saw " << m << " keys p<j> but the largest j is "
                    << *plain.rbegin() << ": not a prefix of the commits";
      return -1;
    }
    for (int j = 0; j < m; j += 10) {
      if (with_b.count(j) == 0) {
        ADD_FAILURE() << "p" << j << " without p" << j << "b";
        return -1;
      }
    }
    if (static_cast<int>(with_b.size()) != (m + 9) / 10) {
      ADD_FAILURE() << with_b.size() << " keys p<j>b for " << m << " keys";
      return -1;
    }
    return m;
  };
  int scans = 0;
  int last_m = 0;
  std::optional<std::string> done;
  while (!(done = child.NextLine(0)) && scans < 100000) {
    for (int i = 0; i < 4; ++i) {
      ASSERT_EQ(Get(kv, Key("k", i * 500)), base[Key("k", i * 500)]);
    }
    const bool backwards = scans % 2 == 1;
    const int m = check(ScanStore(kv, backwards), backwards);
    ASSERT_GE(m, last_m) << "a later scan saw fewer commits";
    last_m = m;
    ++scans;
  }
  ASSERT_EQ(done ? *done : child.ReadLine(), "done");
  EXPECT_TRUE(child.ExitedOk());
  ASSERT_TRUE(ReadsRepeatedly(kv, Key("k", 0), base[Key("k", 0)]));
  EXPECT_EQ(check(ScanStore(kv), false), kWrites);
  std::printf("[ info     ] %d scans while the other process wrote\n", scans);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// ---- 8. A large data set, a WAL of several index units, checkpoints ---------

std::string BigValue(int version, int i) {
  std::string v = "v" + std::to_string(version) + ":" + Key("k", i) + ":";
  v.resize(100 + static_cast<size_t>(i * 37 + version * 11) % 120,
           static_cast<char>('a' + (i + version) % 26));
  return v;
}

// n random gets of keys in (and just outside) m's range, each checked.
testing::AssertionResult RandomGets(KVStore* kv, const Model& m, int keys,
                                    int n, uint32_t seed) {
  std::mt19937 rng(seed);
  for (int j = 0; j < n; ++j) {
    const std::string k = Key("k", static_cast<int>(rng() % (keys + 100)));
    testing::AssertionResult same = SameBytes(Get(kv, k), Want(m, k));
    if (!same) {
      return testing::AssertionFailure()
             << "get " << j << " of " << k << ": " << same.message();
    }
  }
  return testing::AssertionSuccess();
}

TEST(PageReadLarge, FiftyThousandKeysAcrossWalUnitsAndCheckpoints) {
  constexpr int kKeys = 50000;
  TempDir dir;
  const std::string path = dir.file("large.db");
  // The writer checkpoints only when asked: the WAL keeps every frame.
  KVStoreConfig cfg = WalConfig(KVSTORE_SYNC_OFF);
  cfg.walSizeLimit = 1 << 30;
  KVStore* w = nullptr;
  ASSERT_EQ(kvstore_open_v2(path.c_str(), &w, &cfg), KVSTORE_OK);
  KVStore* r = OpenWal(path);
  ASSERT_NE(r, nullptr);

  Model model;
  auto write = [&](int version, int from, int to, int every) {
    ASSERT_EQ(kvstore_begin(w, 1), KVSTORE_OK);
    for (int i = from; i < to; i += every) {
      model[Key("k", i)] = BigValue(version, i);
      ASSERT_EQ(Put(w, Key("k", i), model[Key("k", i)]), KVSTORE_OK);
    }
    ASSERT_EQ(kvstore_commit(w), KVSTORE_OK);
  };
  write(1, 0, kKeys, 1);
  // Version 1 goes into the database file, so that a page whose newest
  // copy in the WAL is missed reads as an old but valid page, not as none.
  ASSERT_EQ(
      kvstore_checkpoint(w, KVSTORE_CHECKPOINT_TRUNCATE, nullptr, nullptr),
      KVSTORE_OK);
  write(2, 0, kKeys, 5);
  // A plain SQLite reader that keeps this state's snapshot: until it ends,
  // a checkpoint copies only the frames up to here.
  sqlite3* old_reader = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &old_reader), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(old_reader, "BEGIN; SELECT count(*) FROM kv_0;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  ASSERT_EQ(kvstore_begin(w, 1), KVSTORE_OK);
  for (int i = 3; i < kKeys; i += 7) {
    ASSERT_EQ(kvstore_delete(w, Key("k", i).data(), 6), KVSTORE_OK);
    model.erase(Key("k", i));
  }
  ASSERT_EQ(kvstore_commit(w), KVSTORE_OK);
  // Both transactions rewrote nearly every leaf: the newest copies of the
  // pages lie in both of the first two WAL-index units (4062 frames, then
  // 4096), and are more than the 2048 WAL pages the reader caches.
  ASSERT_GT(WalFrames(path), 4062);

  ASSERT_TRUE(RandomGets(r, model, kKeys, 10000, 1));
  Scan scan = ScanStore(r);
  ASSERT_EQ(scan.rc, KVSTORE_OK);
  ASSERT_TRUE(SameRows(scan.rows, RowsOf(model)));

  // A checkpoint while r keeps reading on its held snapshot, by a plain
  // SQLite connection (so no handle of ours lets its snapshot go first).
  // The old reader stops it halfway: the frames it copied, r then reads
  // from the database file (PageSource::Advance), the later ones still
  // from the WAL.
  {
    std::atomic<bool> done{false};
    int ckpt_rc = -1;
    int log = -1;
    int copied = -1;
    std::thread checkpointer([&] {
      sqlite3* c = nullptr;
      // A first read makes the new connection find the WAL.
      if (sqlite3_open(path.c_str(), &c) == SQLITE_OK &&
          sqlite3_exec(c, "PRAGMA schema_version", nullptr, nullptr, nullptr) ==
              SQLITE_OK) {
        ckpt_rc = sqlite3_wal_checkpoint_v2(
            c, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
      }
      sqlite3_close(c);
      done = true;
    });
    testing::AssertionResult reads = testing::AssertionSuccess();
    uint32_t seed = 100;
    while (!done && reads) reads = RandomGets(r, model, kKeys, 100, seed++);
    checkpointer.join();
    ASSERT_TRUE(reads);
    ASSERT_EQ(ckpt_rc, SQLITE_OK);
    EXPECT_GT(copied, 0);
    EXPECT_LT(copied, log) << "the old reader should have stopped it";
    ASSERT_TRUE(RandomGets(r, model, kKeys, 5000, seed));
    scan = ScanStore(r, /*backwards=*/true);
    ASSERT_EQ(scan.rc, KVSTORE_OK);
    ASSERT_TRUE(SameRows(scan.rows, RowsOf(model, true)));
  }
  ASSERT_EQ(sqlite3_exec(old_reader, "COMMIT", nullptr, nullptr, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_close(old_reader), SQLITE_OK);

  // A scan in progress while the writer commits and checkpoints: the
  // checkpoint copies only what our snapshot allows, TRUNCATE cannot
  // finish, and the scan reads its snapshot to the end.
  {
    ASSERT_TRUE(RandomGets(r, model, kKeys, 10, 2));
    const Rows before = RowsOf(model);
    KVIterator* it = nullptr;
    ASSERT_EQ(kvstore_iterator_create(r, &it), KVSTORE_OK);
    ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
    int rc = -1;
    Rows head = Take(it, false, 10000, &rc);
    ASSERT_EQ(rc, KVSTORE_OK);
    ASSERT_TRUE(SameRows(head, Rows(before.begin(), before.begin() + 10000)));
    write(3, 20000, 30000, 1);
    int log = -1;
    int copied = -1;
    ASSERT_EQ(kvstore_checkpoint(w, KVSTORE_CHECKPOINT_PASSIVE, &log, &copied),
              KVSTORE_OK);
    EXPECT_LT(copied, log) << "copied frames our scan's snapshot lacks";
    EXPECT_EQ(
        kvstore_checkpoint(w, KVSTORE_CHECKPOINT_TRUNCATE, nullptr, nullptr),
        KVSTORE_BUSY);
    Rows tail = Take(it, false, std::numeric_limits<size_t>::max(), &rc);
    EXPECT_EQ(rc, KVSTORE_OK);
    EXPECT_TRUE(SameRows(tail, RowsFrom(before, 10000)));
    kvstore_iterator_close(it);
  }

  // Between reads (the reader holds its snapshot, idle): a TRUNCATE
  // checkpoint from the writer's handle succeeds, and the reads after it
  // come from the database file.
  ASSERT_TRUE(RandomGets(r, model, kKeys, 3000, 3));
  int log = -1;
  ASSERT_EQ(kvstore_checkpoint(w, KVSTORE_CHECKPOINT_TRUNCATE, &log, nullptr),
            KVSTORE_OK)
      << kvstore_errmsg(w);
  EXPECT_EQ(log, 0);
  EXPECT_EQ(FileSize(path + "-wal"), 0);
  ASSERT_TRUE(RandomGets(r, model, kKeys, 10000, 4));

  // New WALs: frame numbers start at 1 again, under new salts, so frames
  // the reader cached from the old WAL must not be taken for them.
  for (int version = 4; version <= 5; ++version) {
    SCOPED_TRACE("version " + std::to_string(version));
    write(version, version, 15000, 3);
    ASSERT_TRUE(
        RandomGets(r, model, kKeys, 5000, static_cast<uint32_t>(10 + version)));
    scan = ScanStore(r, version == 5);
    ASSERT_EQ(scan.rc, KVSTORE_OK);
    ASSERT_TRUE(SameRows(scan.rows, RowsOf(model, version == 5)));
    ASSERT_EQ(
        kvstore_checkpoint(w, KVSTORE_CHECKPOINT_RESTART, nullptr, nullptr),
        KVSTORE_OK)
        << kvstore_errmsg(w);
  }
  EXPECT_EQ(kvstore_close(r), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(w), KVSTORE_OK);
}

// Reads on the loading handle itself right after a load, with the
// background checkpoint still copying the load's frames (the WAL full of
// them, the file growing under the reader's map), while a second handle
// commits updates and, now and then, a TRUNCATE checkpoint restarts the
// WAL. Every get and exists answers as the model says.
TEST(PageReadLarge, ReadsRightAfterALoadOnTheLoadingHandle) {
  constexpr int kKeys = 30000;
  TempDir dir;
  const std::string path = dir.file("fresh.db");
  KVStore* kv = OpenWal(path);
  ASSERT_NE(kv, nullptr);
  Model model;
  for (int i = 0; i < kKeys;) {
    ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
    for (const int end = i + 1000; i < end; ++i) {
      model[Key("k", i)] = BigValue(1, i);
      ASSERT_EQ(Put(kv, Key("k", i), model[Key("k", i)]), KVSTORE_OK);
    }
    ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
  }
  ASSERT_GT(WalFrames(path), 0);
  KVStore* other = OpenWal(path, 5000);
  ASSERT_NE(other, nullptr);
  for (int round = 0; round < 6; ++round) {
    ASSERT_TRUE(RandomGets(kv, model, kKeys, 4000, 100 + round)) << round;
    std::mt19937 rng(200 + round);
    for (int j = 0; j < 500; ++j) {
      const std::string k = Key("k", static_cast<int>(rng() % (kKeys + 100)));
      int found = -1;
      ASSERT_EQ(
          kvstore_exists(kv, k.data(), static_cast<int>(k.size()), &found),
          KVSTORE_OK);
      ASSERT_EQ(found, model.count(k) ? 1 : 0) << k;
    }
    // Another handle's commit: the next reads take a new snapshot.
    ASSERT_EQ(kvstore_begin(other, 1), KVSTORE_OK);
    for (int i = round; i < kKeys; i += 97) {
      model[Key("k", i)] = BigValue(2 + round, i);
      ASSERT_EQ(Put(other, Key("k", i), model[Key("k", i)]), KVSTORE_OK);
    }
    ASSERT_EQ(kvstore_commit(other), KVSTORE_OK);
    if (round % 2 == 1) {
      // Restarts the WAL: frame numbers are reused with new salts. BUSY
      // (the background checkpoint of kv still running) leaves it as is.
      const int rc = kvstore_checkpoint(other, KVSTORE_CHECKPOINT_TRUNCATE,
                                        nullptr, nullptr);
      ASSERT_TRUE(rc == KVSTORE_OK || rc == KVSTORE_BUSY) << rc;
    }
  }
  ASSERT_TRUE(RandomGets(kv, model, kKeys, 4000, 300));
  EXPECT_EQ(kvstore_close(other), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// ---- 10. Short scans: positioned on the pages from the first row -----------

// Creates an iterator on kv's default family: over keys starting with
// `prefix` (all keys if empty), descending if backwards. Returns the rc.
int NewIterator(KVStore* kv, const std::string& prefix, bool backwards,
                KVIterator** it) {
  if (prefix.empty()) {
    return backwards ? kvstore_reverse_iterator_create(kv, it)
                     : kvstore_iterator_create(kv, it);
  }
  return backwards ? kvstore_reverse_prefix_iterator_create(kv, prefix.data(),
                                                            Len(prefix), it)
                   : kvstore_prefix_iterator_create(kv, prefix.data(),
                                                    Len(prefix), it);
}

// What a scan from a fresh positioning should give, per the model: the rows
// of m (only those starting with `prefix`) from `seek` on (nullptr: from
// the start), forward or backward, at most `limit` of them.
Rows Expected(const Model& m, const std::string& prefix, bool backwards,
              const std::string* seek, size_t limit) {
  Rows all;
  for (const auto& [k, v] : m) {
    if (k.compare(0, prefix.size(), prefix) == 0) all.emplace_back(k, v);
  }
  if (backwards) std::reverse(all.begin(), all.end());
  Rows out;
  for (const auto& row : all) {
    if (out.size() == limit) break;
    if (seek != nullptr && (backwards ? row.first > *seek : row.first < *seek))
      continue;
    out.push_back(row);
  }
  return out;
}

// Random short and long scans, each made several times in a row so that
// the later ones start on the pages of the held snapshot, against a model
// with keys of every byte (0x00 and 0xFF included, so prefixes have no
// simple end), values from empty to overflowing, expired rows, and another
// handle's commits between rounds.
TEST(PageReadShortScans, EveryPositioningMatchesTheModel) {
  TempDir dir;
  const std::string path = dir.file("short.db");
  KVStoreConfig cfg = WalConfig();
  KVStore* a = nullptr;
  KVStore* b = nullptr;
  ASSERT_EQ(kvstore_open_v2(path.c_str(), &a, &cfg), KVSTORE_OK);
  ASSERT_EQ(kvstore_open_v2(path.c_str(), &b, &cfg), KVSTORE_OK);
  std::mt19937 rng(1234);
  auto pick = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };
  // Keys from a small alphabet so that prefixes of one to three bytes
  // match many keys; values mostly short, a few past a page.
  const std::string alphabet(
      "\x00\x01"
      "ab\x7f\xfe\xff",
      7);
  auto random_key = [&] {
    std::string k;
    const uint32_t n = 1 + pick(12);
    for (uint32_t i = 0; i < n; ++i) k += alphabet[pick(alphabet.size())];
    return k;
  };
  auto random_value = [&](uint32_t seed) {
    const uint32_t kind = pick(20);
    const size_t n = kind == 0 ? 0 : kind == 1 ? 6000 + pick(3000) : pick(300);
    return Bytes(n, seed);
  };
  Model model;
  ASSERT_EQ(kvstore_begin(a, 1), KVSTORE_OK);
  for (uint32_t i = 0; i < 3000; ++i) {
    std::string k = random_key();
    std::string v = random_value(i);
    ASSERT_EQ(Put(a, k, v), KVSTORE_OK);
    model[k] = v;
  }
  // Rows that expired already: stored, never shown.
  for (uint32_t i = 0; i < 300; ++i) {
    std::string k = random_key() + "~";
    if (model.count(k) != 0) continue;
    ASSERT_EQ(kvstore_put_ttl(a, k.data(), Len(k), "gone", 4, 1), KVSTORE_OK);
  }
  ASSERT_EQ(kvstore_commit(a), KVSTORE_OK);

  for (int round = 0; round < 60; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    if (round % 6 == 5) {
      // Another handle changes a few rows: the next scans must show them.
      for (int j = 0; j < 20; ++j) {
        std::string k = random_key();
        if (pick(3) == 0) {
          ASSERT_EQ(kvstore_delete(b, k.data(), Len(k)),
                    model.erase(k) != 0 ? KVSTORE_OK : KVSTORE_NOTFOUND);
        } else {
          std::string v = random_value(1000 + round * 20 + j);
          ASSERT_EQ(Put(b, k, v), KVSTORE_OK);
          model[k] = v;
        }
      }
    }
    const std::string prefix =
        pick(3) == 0 ? std::string() : random_key().substr(0, 1 + pick(3));
    const bool backwards = pick(2) == 0;
    const bool seek = pick(3) != 0;
    const std::string target = random_key();
    const size_t limit = pick(4) == 0 ? 1000000 : pick(80);
    const Rows want =
        Expected(model, prefix, backwards, seek ? &target : nullptr, limit);
    for (int repeat = 0; repeat < 4; ++repeat) {
      SCOPED_TRACE("prefix \"" + prefix + "\" backwards " +
                   std::to_string(backwards) + " seek " + std::to_string(seek) +
                   " limit " + std::to_string(limit) + " repeat " +
                   std::to_string(repeat));
      KVIterator* it = nullptr;
      int rc = NewIterator(a, prefix, backwards, &it);
      ASSERT_EQ(rc, KVSTORE_OK);
      if (seek) {
        rc = kvstore_iterator_seek(it, target.data(), Len(target));
      } else {
        rc = backwards ? kvstore_iterator_last(it) : kvstore_iterator_first(it);
      }
      ASSERT_EQ(rc, KVSTORE_OK);
      Rows got = Take(it, backwards, limit, &rc);
      EXPECT_EQ(rc, KVSTORE_OK);
      EXPECT_TRUE(SameRows(got, want));
      if (!got.empty() && repeat == 3) {
        // Turning around mid-scan walks back over what was delivered.
        const size_t total =
            Expected(model, prefix, backwards, seek ? &target : nullptr,
                     std::numeric_limits<size_t>::max())
                .size();
        ASSERT_EQ(kvstore_iterator_eof(it) != 0, total == got.size());
        if (!kvstore_iterator_eof(it)) {
          rc =
              backwards ? kvstore_iterator_next(it) : kvstore_iterator_prev(it);
          ASSERT_EQ(rc, KVSTORE_OK);
          ASSERT_FALSE(kvstore_iterator_eof(it));
          EXPECT_EQ(IterKey(it), got.back().first);
        }
      }
      kvstore_iterator_close(it);
    }
  }
  EXPECT_EQ(kvstore_close(b), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(a), KVSTORE_OK);
}

// A short scan started on the pages, then the handle writes: the rows it
// goes on to deliver are SQLite's view (its own writes included), never a
// stale batch; and an iterator opened in a write transaction with buffered
// puts sees them.
TEST(PageReadShortScans, OwnWritesDuringAndBeforeAScan) {
  TempDir dir;
  const std::string path = dir.file("own.db");
  KVStoreConfig cfg = WalConfig();
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open_v2(path.c_str(), &kv, &cfg), KVSTORE_OK);
  Model model;
  for (int i = 0; i < 400; i += 2) model[Key("k", i)] = Bytes(40, i);
  PutAll(kv, model);
  for (int repeat = 0; repeat < kReads; ++repeat) {
    SCOPED_TRACE("repeat " + std::to_string(repeat));
    KVIterator* it = nullptr;
    ASSERT_EQ(kvstore_iterator_create(kv, &it), KVSTORE_OK);
    const std::string from = Key("k", 100 + repeat * 10);
    ASSERT_EQ(kvstore_iterator_seek(it, from.data(), Len(from)), KVSTORE_OK);
    int rc = KVSTORE_OK;
    Rows got = Take(it, false, 3, &rc);
    ASSERT_EQ(rc, KVSTORE_OK);
    // A key just ahead of the iterator, written by its own handle.
    const std::string odd = Key("k", 100 + repeat * 10 + 7);
    ASSERT_EQ(Put(kv, odd, "mine"), KVSTORE_OK);
    model[odd] = "mine";
    Rows more = Take(it, false, 5, &rc);
    ASSERT_EQ(rc, KVSTORE_OK);
    got.insert(got.end(), more.begin(), more.end());
    const Rows want = Expected(model, "", false, &from, 8);
    EXPECT_TRUE(SameRows(got, want));
    kvstore_iterator_close(it);
  }
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  ASSERT_EQ(Put(kv, Key("k", 301), "buffered"), KVSTORE_OK);
  model[Key("k", 301)] = "buffered";
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_prefix_iterator_create(kv, "k003", 4, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  int rc = KVSTORE_OK;
  EXPECT_TRUE(SameRows(Take(it, false, 1000, &rc),
                       Expected(model, "k003", false, nullptr, 1000)));
  EXPECT_EQ(rc, KVSTORE_OK);
  kvstore_iterator_close(it);
  ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// A writer thread rewrites groups of 40 keys, each group in one
// transaction and all its values carrying the transaction's number, while
// another handle scans groups with short prefix scans (forward and back),
// sometimes pausing past the idle release (5 ms) mid-scan. Every scan
// must see one whole transaction: 40 rows, one number, never a mix, and
// never a number older than one it saw before for that group.
TEST(PageReadShortScans, ScansSeeWholeCommitsWhileAWriterRuns) {
  TempDir dir;
  const std::string path = dir.file("race.db");
  KVStoreConfig cfg = WalConfig();
  cfg.busyTimeout = 10000;
  KVStore* w = nullptr;
  KVStore* r = nullptr;
  ASSERT_EQ(kvstore_open_v2(path.c_str(), &w, &cfg), KVSTORE_OK);
  ASSERT_EQ(kvstore_open_v2(path.c_str(), &r, &cfg), KVSTORE_OK);
  constexpr int kGroups = 8;
  constexpr int kPerGroup = 40;
  auto write_group = [](KVStore* kv, int group, int serial) {
    if (kvstore_begin(kv, 1) != KVSTORE_OK) return false;
    for (int i = 0; i < kPerGroup; ++i) {
      const std::string k = Key(("g" + std::to_string(group) + "/").c_str(), i);
      const std::string v = std::to_string(serial) + ":" + Bytes(20 + i, i);
      if (Put(kv, k, v) != KVSTORE_OK) {
        (void)kvstore_rollback(kv);
        return false;
      }
    }
    return kvstore_commit(kv) == KVSTORE_OK;
  };
  for (int g = 0; g < kGroups; ++g) ASSERT_TRUE(write_group(w, g, 0));
  std::atomic<bool> stop{false};
  std::atomic<int> writer_failures{0};
  std::thread writer([&] {
    for (int serial = 1; !stop.load(); ++serial) {
      if (!write_group(w, serial % kGroups, serial)) ++writer_failures;
    }
  });
  std::mt19937 rng(99);
  std::vector<int> seen(kGroups, 0);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  int scans = 0;
  while (std::chrono::steady_clock::now() < until) {
    const int group = static_cast<int>(rng() % kGroups);
    const bool backwards = rng() % 2 == 0;
    const std::string prefix = "g" + std::to_string(group) + "/";
    KVIterator* it = nullptr;
    ASSERT_EQ(NewIterator(r, prefix, backwards, &it), KVSTORE_OK);
    ASSERT_EQ(
        backwards ? kvstore_iterator_last(it) : kvstore_iterator_first(it),
        KVSTORE_OK);
    int rows = 0;
    std::set<std::string> serials;
    const bool pause = rng() % 8 == 0;
    while (!kvstore_iterator_eof(it)) {
      const std::string v = IterValue(it);
      serials.insert(v.substr(0, v.find(':')));
      ++rows;
      if (pause && rows == 3) {
        std::this_thread::sleep_for(std::chrono::milliseconds(12));
      }
      ASSERT_EQ(
          backwards ? kvstore_iterator_prev(it) : kvstore_iterator_next(it),
          KVSTORE_OK);
    }
    kvstore_iterator_close(it);
    ASSERT_EQ(rows, kPerGroup) << "group " << group;
    ASSERT_EQ(serials.size(), 1u)
        << "group " << group << " mixed " << *serials.begin() << " and "
        << *serials.rbegin();
    const int serial = std::stoi(*serials.begin());
    ASSERT_GE(serial, seen[group]) << "group " << group << " went back";
    seen[group] = serial;
    ++scans;
  }
  stop = true;
  writer.join();
  EXPECT_EQ(writer_failures.load(), 0);
  EXPECT_GT(scans, 100);
  EXPECT_EQ(kvstore_close(r), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(w), KVSTORE_OK);
}

}  // namespace
