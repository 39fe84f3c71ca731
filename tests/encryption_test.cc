// Encrypted stores, through the C API (kvstore.h) and the C++ API
// (snkv/store.h): opening and password checks, in-place conversion of a
// plain store, every API on an encrypted store, the 40-byte overhead,
// tampering with the file (done with plain SQLite on the closed file),
// plaintext never reaching the .db / -wal / -journal files, reencrypt and
// remove_encryption, and atomicity of reencrypt / conversion under SIGKILL
// (tests/tools/enc_worker.cc).
//
// Argon2id with the default costs takes a few tenths of a second per open,
// so tests keep their opens few; the tamper tests copy one prepared file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "c_api_test_util.h"
#include "child_process.h"
#include "kvstore.h"
#include "snkv/snkv.h"
#include "test_util.h"

namespace {

using snkv::test::CfPut;
using snkv::test::FileExists;
using snkv::test::Put;
using snkv::test::ReadFile;
using snkv::test::TempDir;
using snkv::test::WriteFile;
using Clock = std::chrono::steady_clock;

constexpr size_t kOverhead = 40;  // 24-byte nonce + 16-byte tag
constexpr int64_t kFarFutureMs = 4102444800000LL;  // 2100-01-01

// ---- small helpers ---------------------------------------------------------

std::string B(const char* s, size_t n) { return std::string(s, n); }

// Every byte value, NULs included.
std::string AllBytes() {
  std::string s;
  for (int b = 0; b < 256; ++b) s.push_back(static_cast<char>(b));
  return s;
}

std::string Pattern(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// `n` bytes of filler that contain `marker` at the start, the middle and
// the end (for values that spill into overflow pages).
std::string WithMarker(const std::string& marker, size_t n) {
  std::string s = marker;
  while (s.size() < n) s += "-filler-text-";
  s.resize(std::max(n, marker.size() * 3));
  s.replace(0, marker.size(), marker);
  s.replace(s.size() / 2, marker.size(), marker);
  s.replace(s.size() - marker.size(), marker.size(), marker);
  return s;
}

KVStoreConfig Cfg(int journal) {
  KVStoreConfig cfg;
  std::memset(&cfg, 0, sizeof cfg);
  cfg.journalMode = journal;
  cfg.syncLevel = KVSTORE_SYNC_NORMAL;
  return cfg;
}

int OpenEnc(const std::string& path, const std::string& pw, KVStore** kv,
            int journal = KVSTORE_JOURNAL_WAL) {
  KVStoreConfig cfg = Cfg(journal);
  return kvstore_open_encrypted(path.c_str(), pw.data(),
                                static_cast<int>(pw.size()), kv, &cfg);
}

int OpenPlain(const std::string& path, KVStore** kv,
              int journal = KVSTORE_JOURNAL_WAL) {
  KVStoreConfig cfg = Cfg(journal);
  return kvstore_open_v2(path.c_str(), kv, &cfg);
}

int Len(const std::string& s) { return static_cast<int>(s.size()); }

int CfPutTtl(KVColumnFamily* cf, const std::string& k, const std::string& v,
             int64_t exp) {
  return kvstore_cf_put_ttl(cf, k.data(), Len(k), v.data(), Len(v), exp);
}

// kvstore_get into a string; *out untouched unless OK.
int Get(KVStore* kv, const std::string& k, std::string* out) {
  void* v = nullptr;
  int n = -1;
  int rc = kvstore_get(kv, k.data(), Len(k), &v, &n);
  if (rc == KVSTORE_OK) {
    out->assign(static_cast<const char*>(v), static_cast<size_t>(n));
    snkv_free(v);
  }
  return rc;
}
int CfGet(KVColumnFamily* cf, const std::string& k, std::string* out) {
  void* v = nullptr;
  int n = -1;
  int rc = kvstore_cf_get(cf, k.data(), Len(k), &v, &n);
  if (rc == KVSTORE_OK) {
    out->assign(static_cast<const char*>(v), static_cast<size_t>(n));
    snkv_free(v);
  }
  return rc;
}

std::string IterKey(KVIterator* it) {
  void* k = nullptr;
  int n = 0;
  if (kvstore_iterator_key(it, &k, &n) != KVSTORE_OK) return "<no key>";
  return std::string(static_cast<const char*>(k), static_cast<size_t>(n));
}
std::string IterValue(KVIterator* it) {
  void* v = nullptr;
  int n = 0;
  if (kvstore_iterator_value(it, &v, &n) != KVSTORE_OK) return "<no value>";
  return std::string(static_cast<const char*>(v), static_cast<size_t>(n));
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

// Walks a positioned C iterator with next() (or prev()) to eof.
int DrainC(KVIterator* it, bool backwards, Pairs* out) {
  int guard = 0;
  while (!kvstore_iterator_eof(it)) {
    out->emplace_back(IterKey(it), IterValue(it));
    int rc = backwards ? kvstore_iterator_prev(it) : kvstore_iterator_next(it);
    if (rc != KVSTORE_OK) return rc;
    if (++guard > 1000000) return -1;
  }
  return KVSTORE_OK;
}

void CopyFile(const std::string& from, const std::string& to) {
  WriteFile(to, ReadFile(from));
}

// Copies a closed store (and any WAL it left) to `to`.
void CopyStore(const std::string& from, const std::string& to) {
  for (const char* sfx : {"-wal", "-shm", "-journal"}) {
    std::remove((to + sfx).c_str());
  }
  CopyFile(from, to);
  if (FileExists(from + "-wal")) CopyFile(from + "-wal", to + "-wal");
}

// "<file suffix>:<marker>" for every marker found in the store's files.
std::vector<std::string> FindMarkers(const std::string& db,
                                     const std::vector<std::string>& markers) {
  std::vector<std::string> found;
  for (const char* sfx : {"", "-wal", "-journal"}) {
    std::string content = ReadFile(db + sfx);
    for (const std::string& m : markers) {
      if (content.find(m) != std::string::npos) {
        found.push_back(std::string(*sfx ? sfx : ".db") + ":" + m);
      }
    }
  }
  return found;
}

// ---- plain SQLite access to a store file ----------------------------------

struct RawRow {
  std::string v;
  std::optional<int64_t> expires;
};
using RawTable = std::map<std::string, RawRow>;

class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    rc_ = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr);
    if (rc_ == SQLITE_OK) sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() {
    if (db_ != nullptr) sqlite3_close(db_);
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3* get() { return db_; }

  void Exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (err ? err : "");
    sqlite3_free(err);
  }

  int64_t CfId(const std::string& name) {
    sqlite3_stmt* st = Prepare("SELECT id FROM snkv_cf WHERE name = ?1");
    sqlite3_bind_text(st, 1, name.data(), Len(name), SQLITE_TRANSIENT);
    int64_t id = -1;
    if (sqlite3_step(st) == SQLITE_ROW) id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return id;
  }

  // The SQL for the stored bytes of a row of kv_<cf_id>.
  std::string StoredV(int64_t cf_id) {
    return snkv::test::StoredValueSql(db_, cf_id);
  }

  RawTable Rows(int64_t cf_id) {
    RawTable out;
    sqlite3_stmt* st =
        Prepare("SELECT k, " + StoredV(cf_id) + ", expires FROM kv_" +
                std::to_string(cf_id) + " ORDER BY k");
    while (sqlite3_step(st) == SQLITE_ROW) {
      RawRow row;
      row.v = Blob(st, 1);
      if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
        row.expires = sqlite3_column_int64(st, 2);
      }
      out[Blob(st, 0)] = row;
    }
    sqlite3_finalize(st);
    return out;
  }

  std::string Value(int64_t cf_id, const std::string& key) {
    sqlite3_stmt* st = Prepare("SELECT " + StoredV(cf_id) + " FROM kv_" +
                               std::to_string(cf_id) + " WHERE k = ?1");
    sqlite3_bind_blob(st, 1, key.data(), Len(key), SQLITE_TRANSIENT);
    std::string v = "<missing>";
    if (sqlite3_step(st) == SQLITE_ROW) v = Blob(st, 0);
    sqlite3_finalize(st);
    return v;
  }

  // Replaces the stored bytes (out of line: in the values row).
  void SetValue(int64_t cf_id, const std::string& key, const std::string& v) {
    const std::string t = "kv_" + std::to_string(cf_id);
    sqlite3_stmt* st = StoredV(cf_id) == "v"
                           ? Prepare("UPDATE " + t + " SET v = ?2 WHERE k = ?1")
                           : Prepare("UPDATE " + t +
                                     " SET v = ?2 WHERE k = ?1 AND"
                                     " typeof(v) = 'blob'");
    sqlite3_bind_blob(st, 1, key.data(), Len(key), SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, v.data(), Len(v), SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE) << sqlite3_errmsg(db_);
    sqlite3_finalize(st);
    if (sqlite3_changes(db_) == 1) return;
    st = Prepare("UPDATE " + t +
                 "_values SET v = ?2 WHERE id ="
                 " (SELECT v FROM " +
                 t + " WHERE k = ?1)");
    sqlite3_bind_blob(st, 1, key.data(), Len(key), SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, v.data(), Len(v), SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE) << sqlite3_errmsg(db_);
    EXPECT_EQ(sqlite3_changes(db_), 1) << "no row for key " << key;
    sqlite3_finalize(st);
  }

  // Rows of snkv_meta naming encryption parameters.
  int64_t CipherMetaRows() {
    sqlite3_stmt* st = Prepare(
        "SELECT count(*) FROM snkv_meta WHERE key IN "
        "('cipher','kdf_salt','kdf_ops','kdf_mem','verifier')");
    int64_t n = -1;
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
  }

 private:
  sqlite3_stmt* Prepare(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr);
    EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << sqlite3_errmsg(db_);
    return st;
  }
  static std::string Blob(sqlite3_stmt* st, int col) {
    const void* p = sqlite3_column_blob(st, col);
    int n = sqlite3_column_bytes(st, col);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n))
             : std::string();
  }

  sqlite3* db_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

// ---- a data set spread over several column families ------------------------

struct Item {
  std::string value;
  int64_t expire = 0;  // 0: no TTL; may be in the past (expired)
};
using FamilyData = std::map<std::string, Item>;
using StoreData = std::map<std::string, FamilyData>;  // by family name

StoreData MixedData(int64_t now) {
  StoreData d;
  FamilyData& def = d["default"];
  def[""] = {"value of the empty key"};
  def["empty"] = {""};
  def["binary"] = {AllBytes() + AllBytes()};
  def[B("nul\0key", 7)] = {B("v\0a\0l", 5)};
  def["big"] = {Pattern(9000, 1)};
  def["huge"] = {Pattern(70000, 2)};
  def["ttl:soon"] = {"expires in ten minutes", now + 10 * 60 * 1000};
  def["ttl:far"] = {"expires in 2100", kFarFutureMs};
  for (int i = 0; i < 40; ++i) {
    char k[16];
    std::snprintf(k, sizeof k, "user:%03d", i);
    def[k] = {"name-" + std::to_string(i) + Pattern(static_cast<size_t>(i), i)};
  }
  FamilyData& a = d["alpha"];
  a[""] = {""};
  a["empty"] = {""};
  a["user:001"] = {"alpha's own user:001"};
  a["ttl:a"] = {Pattern(300, 3), now + 20 * 60 * 1000};
  a["ttl:expired"] = {"already expired", now - 60 * 1000};
  a["big"] = {Pattern(5000, 4)};
  FamilyData& b = d["beta"];
  for (int i = 0; i < 30; ++i) {
    std::string k = "b" + std::string(1, static_cast<char>(i)) + "k";
    b[k] = {Pattern(static_cast<size_t>(i * 7), 100 + i),
            i % 4 == 0 ? now + (i + 1) * 60 * 1000 : 0};
  }
  return d;
}

// Live (unexpired) entries of a family, as of `now`.
std::map<std::string, std::string> Live(const FamilyData& f, int64_t now) {
  std::map<std::string, std::string> out;
  for (const auto& [k, item] : f) {
    if (item.expire == 0 || item.expire > now) out[k] = item.value;
  }
  return out;
}

void WriteData(KVStore* kv, const StoreData& data) {
  for (const auto& [name, fam] : data) {
    KVColumnFamily* cf = nullptr;
    if (name == "default") {
      ASSERT_EQ(kvstore_cf_get_default(kv, &cf), KVSTORE_OK);
    } else {
      ASSERT_EQ(kvstore_cf_create(kv, name.c_str(), &cf), KVSTORE_OK);
    }
    for (const auto& [k, item] : fam) {
      if (item.expire != 0) {
        ASSERT_EQ(CfPutTtl(cf, k, item.value, item.expire), KVSTORE_OK);
      } else {
        ASSERT_EQ(CfPut(cf, k, item.value), KVSTORE_OK);
      }
    }
    kvstore_cf_close(cf);
  }
}

snkv::ColumnFamily Family(snkv::Store& db, const std::string& name) {
  snkv::ColumnFamily cf;
  if (name == "default") return db.DefaultColumnFamily();
  snkv::Status s = db.OpenColumnFamily(name, &cf);
  EXPECT_TRUE(s.ok()) << name << ": " << s.ToString();
  return cf;
}

Pairs Collect(snkv::Iterator& it, snkv::Status* status) {
  Pairs out;
  for (const auto& e : it)
    out.emplace_back(e.key.ToString(), e.value.ToString());
  *status = it.status();
  return out;
}

// Gets, iterators of every kind (plain, reverse, prefix, reverse prefix) and
// seeks all agree with `want` (the live entries of the family).
void ExpectFamilyReads(snkv::ColumnFamily cf,
                       const std::map<std::string, std::string>& want) {
  SCOPED_TRACE("family " + cf.name());
  for (const auto& [k, v] : want) {
    std::string got;
    snkv::Status s = cf.Get(k, &got);
    ASSERT_TRUE(s.ok()) << "get " << k << ": " << s.ToString();
    EXPECT_EQ(got, v) << "key " << k;
  }
  Pairs fwd_want(want.begin(), want.end());
  Pairs rev_want(want.rbegin(), want.rend());
  snkv::Status s;
  {
    snkv::Iterator it = cf.NewIterator();
    EXPECT_EQ(Collect(it, &s), fwd_want);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  {
    snkv::Iterator it = cf.NewIterator({.reverse = true});
    EXPECT_EQ(Collect(it, &s), rev_want);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  // Prefix iterators: the first two bytes of each key (and "user:").
  std::vector<std::string> prefixes = {"user:", "user:01", "b", "zzz"};
  for (const auto& [k, v] : want) {
    if (!k.empty()) prefixes.push_back(k.substr(0, 2));
  }
  std::sort(prefixes.begin(), prefixes.end());
  prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
  for (const std::string& p : prefixes) {
    Pairs pw;
    for (const auto& kv : fwd_want) {
      if (kv.first.compare(0, p.size(), p) == 0) pw.push_back(kv);
    }
    snkv::Iterator it = cf.NewIterator({.prefix = p});
    EXPECT_EQ(Collect(it, &s), pw) << "prefix " << p;
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::reverse(pw.begin(), pw.end());
    snkv::Iterator rit = cf.NewIterator({.prefix = p, .reverse = true});
    EXPECT_EQ(Collect(rit, &s), pw) << "reverse prefix " << p;
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  // Seeks: onto every key, and just past it; forward and reverse.
  snkv::Iterator f = cf.NewIterator();
  snkv::Iterator r = cf.NewIterator({.reverse = true});
  for (auto it = want.begin(); it != want.end(); ++it) {
    ASSERT_TRUE(f.Seek(it->first).ok());
    ASSERT_TRUE(f.Valid()) << "seek " << it->first;
    EXPECT_EQ(f.key().ToString(), it->first);
    EXPECT_EQ(f.value().ToString(), it->second);
    ASSERT_TRUE(r.Seek(it->first).ok());
    ASSERT_TRUE(r.Valid());
    EXPECT_EQ(r.key().ToString(), it->first);
    EXPECT_EQ(r.value().ToString(), it->second);
    // Forward seek just past the key lands on the next key.
    std::string past = it->first + std::string(1, '\0');
    ASSERT_TRUE(f.Seek(past).ok());
    auto next = std::next(it);
    if (next == want.end()) {
      EXPECT_FALSE(f.Valid());
    } else {
      ASSERT_TRUE(f.Valid());
      EXPECT_EQ(f.key().ToString(), next->first);
      EXPECT_EQ(f.value().ToString(), next->second);
      // and Prev() from there comes back to the key.
      ASSERT_TRUE(f.Prev().ok());
      ASSERT_TRUE(f.Valid());
      EXPECT_EQ(f.key().ToString(), it->first);
      EXPECT_EQ(f.value().ToString(), it->second);
    }
  }
  int64_t count = -1;
  ASSERT_TRUE(cf.Count(&count).ok());
  // Count includes expired-but-unpurged keys, so it is at least this.
  EXPECT_GE(count, static_cast<int64_t>(want.size()));
}

// ---- 1. opening and passwords ---------------------------------------------

TEST(EncryptionOpen, CreateThenReopenWithTheRightPassword) {
  TempDir dir;
  const std::string path = dir.file("e.db");
  KVStore* kv = nullptr;
  ASSERT_EQ(OpenEnc(path, "hunter2", &kv), KVSTORE_OK)
      << kvstore_errmsg(nullptr);
  ASSERT_NE(kv, nullptr);
  EXPECT_EQ(kvstore_is_encrypted(kv), 1);
  ASSERT_EQ(Put(kv, "k", "secret value"), KVSTORE_OK);
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);

  kv = nullptr;
  ASSERT_EQ(OpenEnc(path, "hunter2", &kv), KVSTORE_OK)
      << kvstore_errmsg(nullptr);
  EXPECT_EQ(kvstore_is_encrypted(kv), 1);
  std::string v;
  ASSERT_EQ(Get(kv, "k", &v), KVSTORE_OK);
  EXPECT_EQ(v, "secret value");
  char* err = nullptr;
  EXPECT_EQ(kvstore_integrity_check(kv, &err), KVSTORE_OK) << (err ? err : "");
  snkv_free(err);
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);

  // The file holds the encryption metadata (and no password).
  RawDb raw(path);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw.CipherMetaRows(), 5);
  EXPECT_EQ(ReadFile(path).find("hunter2"), std::string::npos);
}

TEST(EncryptionOpen, WrongPasswordsAreAuthFailedWithNullHandle) {
  TempDir dir;
  const std::string path = dir.file("e.db");
  // A binary password with NUL bytes in it.
  const std::string right = B("pw\0with\0nuls\xff", 14);
  KVStore* kv = nullptr;
  ASSERT_EQ(OpenEnc(path, right, &kv), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "k", "v"), KVSTORE_OK);
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
  const std::string before = ReadFile(path);

  std::string long_pw(10 * 1024, 'x');
  const std::vector<std::pair<std::string, std::string>> wrong = {
      {"empty", ""},
      {"long 10 KB", long_pw},
      {"binary with NULs", B("\0\0\x01\x02\0", 5)},
      {"differs only after a NUL", B("pw\0with\0nuls\xfe", 14)},
      {"prefix up to the first NUL", "pw"},
      {"right password plus a byte", right + "x"},
  };
  for (const auto& [what, pw] : wrong) {
    SCOPED_TRACE(what);
    KVStore* sentinel = reinterpret_cast<KVStore*>(0x1);
    kv = sentinel;
    EXPECT_EQ(OpenEnc(path, pw, &kv), KVSTORE_AUTH_FAILED);
    EXPECT_EQ(kv, nullptr);
    if (kv != nullptr && kv != sentinel) kvstore_close(kv);
    EXPECT_STRNE(kvstore_errmsg(nullptr), "not an error");
  }
  // A NULL pointer with length 0 is the empty password: also wrong here.
  kv = reinterpret_cast<KVStore*>(0x1);
  EXPECT_EQ(kvstore_open_encrypted(path.c_str(), nullptr, 0, &kv, nullptr),
            KVSTORE_AUTH_FAILED);
  EXPECT_EQ(kv, nullptr);

  // C++: kAuthFailed and the Store stays closed.
  snkv::Store db;
  snkv::Status s =
      snkv::Store::OpenEncrypted(path, snkv::Slice("nope"), {}, &db);
  EXPECT_EQ(s.code(), snkv::Code::kAuthFailed) << s.ToString();
  EXPECT_FALSE(db.is_open());

  // Failed opens left the file alone; the right password still works.
  EXPECT_EQ(ReadFile(path), before);
  ASSERT_EQ(OpenEnc(path, right, &kv), KVSTORE_OK);
  std::string v;
  EXPECT_EQ(Get(kv, "k", &v), KVSTORE_OK);
  EXPECT_EQ(v, "v");
  kvstore_close(kv);
}

TEST(EncryptionOpen, PlainOpenOfEncryptedStoreIsAuthFailed) {
  TempDir dir;
  const std::string path = dir.file("e.db");
  KVStore* kv = nullptr;
  ASSERT_EQ(OpenEnc(path, "pw", &kv), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "k", "v"), KVSTORE_OK);
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
  const std::string before = ReadFile(path);

  kv = reinterpret_cast<KVStore*>(0x1);
  EXPECT_EQ(kvstore_open(path.c_str(), &kv, KVSTORE_JOURNAL_WAL),
            KVSTORE_AUTH_FAILED);
  EXPECT_EQ(kv, nullptr);
  kv = reinterpret_cast<KVStore*>(0x1);
  EXPECT_EQ(kvstore_open(path.c_str(), &kv, KVSTORE_JOURNAL_DELETE),
            KVSTORE_AUTH_FAILED);
  EXPECT_EQ(kv, nullptr);
  kv = reinterpret_cast<KVStore*>(0x1);
  EXPECT_EQ(kvstore_open_v2(path.c_str(), &kv, nullptr), KVSTORE_AUTH_FAILED);
  EXPECT_EQ(kv, nullptr);
  snkv::Store db;
  snkv::Status s = snkv::Store::Open(path, {}, &db);
  EXPECT_EQ(s.code(), snkv::Code::kAuthFailed) << s.ToString();
  EXPECT_FALSE(db.is_open());
  EXPECT_EQ(ReadFile(path), before);
}

TEST(EncryptionOpen, IsEncryptedIsOneOnlyForEncryptedStores) {
  TempDir dir;
  EXPECT_EQ(kvstore_is_encrypted(nullptr), 0);
  KVStore* kv = nullptr;
  ASSERT_EQ(OpenPlain(dir.file("p.db"), &kv), KVSTORE_OK);
  EXPECT_EQ(kvstore_is_encrypted(kv), 0);
  kvstore_close(kv);
  // An in-memory encrypted store (NULL file name).
  ASSERT_EQ(kvstore_open_encrypted(nullptr, "pw", 2, &kv, nullptr), KVSTORE_OK);
  EXPECT_EQ(kvstore_is_encrypted(kv), 1);
  ASSERT_EQ(Put(kv, "k", "v"), KVSTORE_OK);
  std::string v;
  EXPECT_EQ(Get(kv, "k", &v), KVSTORE_OK);
  EXPECT_EQ(v, "v");
  kvstore_close(kv);
  // C++.
  snkv::Store db;
  EXPECT_FALSE(db.is_encrypted());
  ASSERT_TRUE(snkv::Store::Open(dir.file("p.db"), {}, &db).ok());
  EXPECT_FALSE(db.is_encrypted());
  ASSERT_TRUE(db.Close().ok());
  EXPECT_FALSE(db.is_encrypted());
}

// ---- 2. in-place conversion of a plain store
// ----------------------------------

TEST(EncryptionConvert, OpenEncryptedEncryptsEveryValueOfAPlainStore) {
  TempDir dir;
  const std::string path = dir.file("c.db");
  const int64_t now = kvstore_now_ms();
  const StoreData data = MixedData(now);
  KVStore* kv = nullptr;
  ASSERT_EQ(OpenPlain(path, &kv), KVSTORE_OK);
  ASSERT_NO_FATAL_FAILURE(WriteData(kv, data));
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);

  // The raw rows before: expiry times are recorded to compare afterwards.
  std::map<std::string, RawTable> before;
  std::map<std::string, int64_t> ids;
  {
    RawDb raw(path);
    ASSERT_TRUE(raw.ok());
    for (const auto& [name, fam] : data) {
      ids[name] = raw.CfId(name);
      ASSERT_GE(ids[name], 0) << name;
      before[name] = raw.Rows(ids[name]);
      ASSERT_EQ(before[name].size(), fam.size()) << name;
      for (const auto& [k, item] : fam)
        EXPECT_EQ(before[name][k].v, item.value);
    }
    EXPECT_EQ(raw.CipherMetaRows(), 0);
  }

  ASSERT_EQ(OpenEnc(path, "convert-me", &kv), KVSTORE_OK)
      << kvstore_errmsg(nullptr);
  EXPECT_EQ(kvstore_is_encrypted(kv), 1);
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);

  {
    RawDb raw(path);
    ASSERT_TRUE(raw.ok());
    EXPECT_EQ(raw.CipherMetaRows(), 5);
    for (const auto& [name, fam] : data) {
      RawTable rows = raw.Rows(ids[name]);
      ASSERT_EQ(rows.size(), fam.size()) << name;
      for (const auto& [k, item] : fam) {
        SCOPED_TRACE(name + "/" + k);
        ASSERT_EQ(rows.count(k), 1u);
        const RawRow& row = rows[k];
        EXPECT_EQ(row.v.size(), item.value.size() + kOverhead);
        EXPECT_NE(row.v, item.value);
        if (item.value.size() >= 8) {
          EXPECT_EQ(row.v.find(item.value), std::string::npos);
        }
        // Expiry times are kept exactly (they are not encrypted).
        EXPECT_EQ(row.expires, before[name][k].expires);
      }
    }
  }

  snkv::Store db;
  snkv::Status s =
      snkv::Store::OpenEncrypted(path, snkv::Slice("convert-me"), {}, &db);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(db.is_encrypted());
  const int64_t now2 = snkv::NowMs();
  for (const auto& [name, fam] : data) {
    snkv::ColumnFamily cf = Family(db, name);
    // Count includes the expired-but-unpurged key of "alpha".
    int64_t count = -1;
    ASSERT_TRUE(cf.Count(&count).ok());
    EXPECT_EQ(count, static_cast<int64_t>(fam.size())) << name;
    // TTLs: the remaining time is what is left of the original expiry.
    for (const auto& [k, item] : fam) {
      if (item.expire == 0 || item.expire <= now2) continue;
      int64_t rem = 0;
      ASSERT_TRUE(cf.TtlRemaining(k, &rem).ok()) << k;
      EXPECT_GT(rem, 0) << k;
      EXPECT_LE(rem, item.expire - now2 + 5) << k;
      EXPECT_GE(rem, item.expire - snkv::NowMs() - 5) << k;
      std::string v;
      int64_t rem2 = 0;
      ASSERT_TRUE(cf.Get(k, &v, &rem2).ok());
      EXPECT_EQ(v, item.value);
      EXPECT_GT(rem2, 0);
    }
    for (const auto& [k, item] : fam) {
      if (item.expire != 0) continue;
      int64_t rem = 0;
      ASSERT_TRUE(cf.TtlRemaining(k, &rem).ok()) << k;
      EXPECT_EQ(rem, snkv::kNoTtl) << k;
    }
    ExpectFamilyReads(cf, Live(fam, now2));
  }
  // The expired key stays absent.
  std::string v;
  EXPECT_TRUE(Family(db, "alpha").Get("ttl:expired", &v).IsNotFound());
  std::string problems;
  EXPECT_TRUE(db.IntegrityCheck(&problems).ok()) << problems;
  std::vector<std::string> names;
  ASSERT_TRUE(db.ListColumnFamilies(&names).ok());
  EXPECT_EQ(names, (std::vector<std::string>{"alpha", "beta", "default"}));
}

// ---- 3. every API on an encrypted store
// ---------------------------------------

TEST(EncryptionApi, CApiWorksOnAnEncryptedStore) {
  TempDir dir;
  const std::string path = dir.file("api.db");
  KVStore* kv = nullptr;
  ASSERT_EQ(OpenEnc(path, "api-pw", &kv), KVSTORE_OK);
  std::string v;
  int exists = -1;
  int64_t count = -1, rem = 0;

  // Default family: put/get/exists/delete, empty and binary values.
  ASSERT_EQ(Put(kv, "a", "1"), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "b", ""), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "c", AllBytes()), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "", "empty key"), KVSTORE_OK);
  EXPECT_EQ(Get(kv, "a", &v), KVSTORE_OK);
  EXPECT_EQ(v, "1");
  {
    void* p = nullptr;
    int n = -1;
    ASSERT_EQ(kvstore_get(kv, "b", 1, &p, &n), KVSTORE_OK);
    EXPECT_NE(p, nullptr);  // an empty value is a valid buffer of length 0
    EXPECT_EQ(n, 0);
    snkv_free(p);
  }
  EXPECT_EQ(Get(kv, "c", &v), KVSTORE_OK);
  EXPECT_EQ(v, AllBytes());
  EXPECT_EQ(Get(kv, "", &v), KVSTORE_OK);
  EXPECT_EQ(v, "empty key");
  EXPECT_EQ(kvstore_exists(kv, "a", 1, &exists), KVSTORE_OK);
  EXPECT_EQ(exists, 1);
  EXPECT_EQ(kvstore_delete(kv, "a", 1), KVSTORE_OK);
  EXPECT_EQ(kvstore_exists(kv, "a", 1, &exists), KVSTORE_OK);
  EXPECT_EQ(exists, 0);
  EXPECT_EQ(Get(kv, "a", &v), KVSTORE_NOTFOUND);
  EXPECT_EQ(kvstore_delete(kv, "a", 1), KVSTORE_NOTFOUND);
  ASSERT_EQ(Put(kv, "c", "overwritten"), KVSTORE_OK);
  EXPECT_EQ(Get(kv, "c", &v), KVSTORE_OK);
  EXPECT_EQ(v, "overwritten");

  // Column families: create, open, list, independent key spaces, drop.
  KVColumnFamily *cf1 = nullptr, *cf2 = nullptr, *def = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv, "one", &cf1), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_create(kv, "two", &cf2), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_get_default(kv, &def), KVSTORE_OK);
  ASSERT_EQ(CfPut(cf1, "k", "one-k"), KVSTORE_OK);
  ASSERT_EQ(CfPut(cf2, "k", "two-k"), KVSTORE_OK);
  EXPECT_EQ(CfGet(cf1, "k", &v), KVSTORE_OK);
  EXPECT_EQ(v, "one-k");
  EXPECT_EQ(CfGet(cf2, "k", &v), KVSTORE_OK);
  EXPECT_EQ(v, "two-k");
  EXPECT_EQ(CfGet(def, "k", &v), KVSTORE_NOTFOUND);
  EXPECT_EQ(kvstore_cf_exists(cf1, "k", 1, &exists), KVSTORE_OK);
  EXPECT_EQ(exists, 1);
  {
    char** names = nullptr;
    int n = 0;
    ASSERT_EQ(kvstore_cf_list(kv, &names, &n), KVSTORE_OK);
    ASSERT_EQ(n, 3);
    EXPECT_STREQ(names[0], "default");
    EXPECT_STREQ(names[1], "one");
    EXPECT_STREQ(names[2], "two");
    for (int i = 0; i < n; ++i) snkv_free(names[i]);
    snkv_free(names);
  }
  KVColumnFamily* reopened = nullptr;
  ASSERT_EQ(kvstore_cf_open(kv, "one", &reopened), KVSTORE_OK);
  EXPECT_EQ(CfGet(reopened, "k", &v), KVSTORE_OK);
  EXPECT_EQ(v, "one-k");
  kvstore_cf_close(reopened);
  EXPECT_EQ(kvstore_cf_delete(cf2, "k", 1), KVSTORE_OK);
  EXPECT_EQ(kvstore_cf_drop(kv, "two"), KVSTORE_OK);
  EXPECT_EQ(CfGet(cf2, "k", &v), KVSTORE_NOTFOUND);
  kvstore_cf_close(cf2);

  // Iterators of every kind, with seek, in a family with known content.
  std::map<std::string, std::string> want;
  for (int i = 0; i < 20; ++i) {
    char k[16];
    std::snprintf(k, sizeof k, "%s:%02d", i % 2 ? "odd" : "even", i);
    want[k] = "val" + std::to_string(i) + Pattern(static_cast<size_t>(i), i);
    ASSERT_EQ(CfPut(cf1, k, want[k]), KVSTORE_OK);
  }
  want["k"] = "one-k";
  Pairs fwd(want.begin(), want.end()), rev(want.rbegin(), want.rend());
  KVIterator* it = nullptr;
  Pairs got;
  ASSERT_EQ(kvstore_cf_iterator_create(cf1, &it), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);  // unpositioned
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  EXPECT_EQ(DrainC(it, false, &got), KVSTORE_OK);
  EXPECT_EQ(got, fwd);
  got.clear();
  ASSERT_EQ(kvstore_iterator_last(it), KVSTORE_OK);
  EXPECT_EQ(DrainC(it, true, &got), KVSTORE_OK);
  EXPECT_EQ(got, rev);
  ASSERT_EQ(kvstore_iterator_seek(it, "odd:", 4), KVSTORE_OK);
  EXPECT_EQ(IterKey(it), "odd:01");
  EXPECT_EQ(IterValue(it), want["odd:01"]);
  kvstore_iterator_close(it);

  ASSERT_EQ(kvstore_cf_reverse_iterator_create(cf1, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_seek(it, "odd:", 4), KVSTORE_OK);
  EXPECT_EQ(IterKey(it), "k");  // last key <= "odd:"
  EXPECT_EQ(IterValue(it), "one-k");
  got.clear();
  ASSERT_EQ(kvstore_iterator_last(it), KVSTORE_OK);
  EXPECT_EQ(DrainC(it, true, &got), KVSTORE_OK);
  EXPECT_EQ(got, rev);
  kvstore_iterator_close(it);

  Pairs odd;
  for (const auto& p : fwd) {
    if (p.first.rfind("odd:", 0) == 0) odd.push_back(p);
  }
  got.clear();
  ASSERT_EQ(kvstore_cf_prefix_iterator_create(cf1, "odd:", 4, &it), KVSTORE_OK);
  EXPECT_EQ(DrainC(it, false, &got), KVSTORE_OK);
  EXPECT_EQ(got, odd);
  ASSERT_EQ(kvstore_iterator_seek(it, "odd:10", 6), KVSTORE_OK);
  EXPECT_EQ(IterKey(it), "odd:11");
  EXPECT_EQ(IterValue(it), want["odd:11"]);
  kvstore_iterator_close(it);
  got.clear();
  ASSERT_EQ(kvstore_cf_reverse_prefix_iterator_create(cf1, "odd:", 4, &it),
            KVSTORE_OK);
  EXPECT_EQ(DrainC(it, true, &got), KVSTORE_OK);
  EXPECT_EQ(got, Pairs(odd.rbegin(), odd.rend()));
  ASSERT_EQ(kvstore_iterator_seek(it, "odd:10", 6), KVSTORE_OK);
  EXPECT_EQ(IterKey(it), "odd:09");
  EXPECT_EQ(IterValue(it), want["odd:09"]);
  kvstore_iterator_close(it);

  // Default-family iterator constructors.
  Pairs def_want = {{"", "empty key"}, {"b", ""}, {"c", "overwritten"}};
  got.clear();
  ASSERT_EQ(kvstore_iterator_create(kv, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  EXPECT_EQ(DrainC(it, false, &got), KVSTORE_OK);
  EXPECT_EQ(got, def_want);
  kvstore_iterator_close(it);
  got.clear();
  ASSERT_EQ(kvstore_reverse_iterator_create(kv, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_last(it), KVSTORE_OK);
  EXPECT_EQ(DrainC(it, true, &got), KVSTORE_OK);
  EXPECT_EQ(got, Pairs(def_want.rbegin(), def_want.rend()));
  kvstore_iterator_close(it);
  got.clear();
  ASSERT_EQ(kvstore_prefix_iterator_create(kv, "c", 1, &it), KVSTORE_OK);
  EXPECT_EQ(DrainC(it, false, &got), KVSTORE_OK);
  EXPECT_EQ(got, (Pairs{{"c", "overwritten"}}));
  kvstore_iterator_close(it);
  got.clear();
  ASSERT_EQ(kvstore_reverse_prefix_iterator_create(kv, "b", 1, &it),
            KVSTORE_OK);
  EXPECT_EQ(DrainC(it, true, &got), KVSTORE_OK);
  EXPECT_EQ(got, (Pairs{{"b", ""}}));
  kvstore_iterator_close(it);

  // Transactions: commit keeps, rollback discards, read txn refuses writes.
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "txn:1", "committed"), KVSTORE_OK);
  ASSERT_EQ(CfPut(cf1, "txn:1", "committed in one"), KVSTORE_OK);
  EXPECT_EQ(Get(kv, "txn:1", &v), KVSTORE_OK);  // own writes visible
  EXPECT_EQ(v, "committed");
  ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "txn:2", "rolled back"), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "txn:1", "changed then rolled back"), KVSTORE_OK);
  ASSERT_EQ(kvstore_rollback(kv), KVSTORE_OK);
  EXPECT_EQ(Get(kv, "txn:1", &v), KVSTORE_OK);
  EXPECT_EQ(v, "committed");
  EXPECT_EQ(CfGet(cf1, "txn:1", &v), KVSTORE_OK);
  EXPECT_EQ(v, "committed in one");
  EXPECT_EQ(Get(kv, "txn:2", &v), KVSTORE_NOTFOUND);
  ASSERT_EQ(kvstore_begin(kv, 0), KVSTORE_OK);
  EXPECT_EQ(Get(kv, "txn:1", &v), KVSTORE_OK);
  EXPECT_EQ(Put(kv, "x", "y"), KVSTORE_READONLY);
  ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);

  // TTL.
  const int64_t now = kvstore_now_ms();
  ASSERT_EQ(kvstore_put_ttl(kv, "ttl", 3, "lives", 5, now + 60000), KVSTORE_OK);
  ASSERT_EQ(kvstore_put_ttl(kv, "dead", 4, "gone", 4, now - 1000), KVSTORE_OK);
  {
    void* p = nullptr;
    int n = 0;
    ASSERT_EQ(kvstore_get_ttl(kv, "ttl", 3, &p, &n, &rem), KVSTORE_OK);
    EXPECT_EQ(std::string(static_cast<char*>(p), n), "lives");
    EXPECT_GT(rem, 0);
    EXPECT_LE(rem, 60000);
    snkv_free(p);
  }
  EXPECT_EQ(kvstore_ttl_remaining(kv, "c", 1, &rem), KVSTORE_OK);
  EXPECT_EQ(rem, KVSTORE_NO_TTL);
  EXPECT_EQ(Get(kv, "dead", &v), KVSTORE_NOTFOUND);
  ASSERT_EQ(kvstore_put_ttl(kv, "dead2", 5, "gone", 4, now - 1000), KVSTORE_OK);
  ASSERT_EQ(CfPutTtl(cf1, "dead3", "gone", now - 1000), KVSTORE_OK);
  int purged = -1;
  EXPECT_EQ(kvstore_purge_expired(kv, &purged), KVSTORE_OK);
  EXPECT_EQ(purged, 1);
  EXPECT_EQ(kvstore_cf_purge_expired(cf1, &purged), KVSTORE_OK);
  EXPECT_EQ(purged, 1);
  ASSERT_EQ(CfPutTtl(cf1, "ttl1", "cf ttl", now + 60000), KVSTORE_OK);
  {
    void* p = nullptr;
    int n = 0;
    ASSERT_EQ(kvstore_cf_get_ttl(cf1, "ttl1", 4, &p, &n, &rem), KVSTORE_OK);
    EXPECT_EQ(std::string(static_cast<char*>(p), n), "cf ttl");
    EXPECT_GT(rem, 0);
    snkv_free(p);
  }
  EXPECT_EQ(kvstore_cf_ttl_remaining(cf1, "ttl1", 4, &rem), KVSTORE_OK);
  EXPECT_GT(rem, 0);

  // put_if_absent.
  int inserted = -1;
  EXPECT_EQ(kvstore_put_if_absent(kv, "pia", 3, "first", 5, 0, &inserted),
            KVSTORE_OK);
  EXPECT_EQ(inserted, 1);
  EXPECT_EQ(kvstore_put_if_absent(kv, "pia", 3, "second", 6, 0, &inserted),
            KVSTORE_OK);
  EXPECT_EQ(inserted, 0);
  EXPECT_EQ(Get(kv, "pia", &v), KVSTORE_OK);
  EXPECT_EQ(v, "first");
  ASSERT_EQ(kvstore_put_ttl(kv, "pia2", 4, "old", 3, now - 1), KVSTORE_OK);
  EXPECT_EQ(kvstore_put_if_absent(kv, "pia2", 4, "replaces expired", 16,
                                  now + 60000, &inserted),
            KVSTORE_OK);
  EXPECT_EQ(inserted, 1);
  EXPECT_EQ(Get(kv, "pia2", &v), KVSTORE_OK);
  EXPECT_EQ(v, "replaces expired");
  EXPECT_EQ(
      kvstore_cf_put_if_absent(cf1, "pia", 3, "cf first", 8, 0, &inserted),
      KVSTORE_OK);
  EXPECT_EQ(inserted, 1);
  EXPECT_EQ(CfGet(cf1, "pia", &v), KVSTORE_OK);
  EXPECT_EQ(v, "cf first");

  // count and clear.
  EXPECT_EQ(kvstore_count(kv, &count), KVSTORE_OK);
  // "", b, c, txn:1, ttl, pia, pia2 ("dead" was removed by the get that
  // found it expired, "dead2" by purge).
  EXPECT_EQ(count, 7);
  EXPECT_EQ(kvstore_cf_count(cf1, &count), KVSTORE_OK);
  EXPECT_EQ(count, static_cast<int64_t>(want.size()) + 3);  // txn:1 ttl1 pia
  EXPECT_EQ(kvstore_cf_clear(cf1), KVSTORE_OK);
  EXPECT_EQ(kvstore_cf_count(cf1, &count), KVSTORE_OK);
  EXPECT_EQ(count, 0);
  EXPECT_EQ(CfGet(cf1, "k", &v), KVSTORE_NOTFOUND);
  EXPECT_EQ(kvstore_clear(kv), KVSTORE_OK);
  EXPECT_EQ(kvstore_count(kv, &count), KVSTORE_OK);
  EXPECT_EQ(count, 0);
  ASSERT_EQ(Put(kv, "after-clear", "still encrypted"), KVSTORE_OK);

  // Stats, maintenance.
  KVStoreStats st;
  std::memset(&st, 0, sizeof st);
  EXPECT_EQ(kvstore_stats(kv, &st), KVSTORE_OK);
  EXPECT_GT(st.nPuts, 0u);
  EXPECT_GT(st.nGets, 0u);
  EXPECT_GT(st.nDeletes, 0u);
  EXPECT_GT(st.nIterations, 0u);
  EXPECT_GT(st.nBytesRead, 0u);
  EXPECT_GT(st.nBytesWritten, 0u);
  EXPECT_GT(st.nDbPages, 0u);
  EXPECT_EQ(kvstore_stats_reset(kv), KVSTORE_OK);
  EXPECT_EQ(kvstore_stats(kv, &st), KVSTORE_OK);
  EXPECT_EQ(st.nPuts, 0u);
  EXPECT_EQ(Get(kv, "after-clear", &v), KVSTORE_OK);
  EXPECT_EQ(kvstore_stats(kv, &st), KVSTORE_OK);
  EXPECT_EQ(st.nGets, 1u);
  EXPECT_EQ(st.nBytesRead, 15u);  // plaintext bytes, not sealed ones
  char* err = nullptr;
  EXPECT_EQ(kvstore_integrity_check(kv, &err), KVSTORE_OK) << (err ? err : "");
  snkv_free(err);
  EXPECT_EQ(kvstore_sync(kv), KVSTORE_OK);
  EXPECT_EQ(
      kvstore_checkpoint(kv, KVSTORE_CHECKPOINT_TRUNCATE, nullptr, nullptr),
      KVSTORE_OK);
  EXPECT_EQ(kvstore_incremental_vacuum(kv, 0), KVSTORE_OK);
  EXPECT_EQ(kvstore_is_encrypted(kv), 1);

  kvstore_cf_close(cf1);
  kvstore_cf_close(def);
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
  ASSERT_EQ(OpenEnc(path, "api-pw", &kv), KVSTORE_OK);
  EXPECT_EQ(Get(kv, "after-clear", &v), KVSTORE_OK);
  EXPECT_EQ(v, "still encrypted");
  kvstore_close(kv);
}

TEST(EncryptionApi, CppApiWorksOnAnEncryptedStore) {
  TempDir dir;
  const std::string path = dir.file("cpp.db");
  snkv::Store db;
  snkv::Status s =
      snkv::Store::OpenEncrypted(path, snkv::Slice("c++ pw"), {}, &db);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(db.is_encrypted());
  const int64_t now = snkv::NowMs();

  snkv::ColumnFamily def = db.DefaultColumnFamily();
  snkv::ColumnFamily cf;
  ASSERT_TRUE(db.CreateColumnFamily("things", &cf).ok());
  std::map<std::string, std::string> want_def, want_cf;
  for (int i = 0; i < 25; ++i) {
    std::string k = "item:" + std::to_string(100 + i);
    want_def[k] = Pattern(static_cast<size_t>(i * 13), i);
    want_cf[k] = "things-" + std::to_string(i);
    ASSERT_TRUE(db.Put(k, want_def[k]).ok());
    ASSERT_TRUE(cf.Put(k, want_cf[k], i % 5 == 0 ? now + 600000 : 0).ok());
  }
  want_cf[""] = "";
  ASSERT_TRUE(cf.Put("", "").ok());
  ExpectFamilyReads(def, want_def);
  ExpectFamilyReads(cf, want_cf);

  // RAII transaction: rolled back unless committed.
  {
    snkv::Transaction txn;
    ASSERT_TRUE(db.BeginTransaction(snkv::TxnMode::kWrite, &txn).ok());
    ASSERT_TRUE(cf.Put("txn", "discarded").ok());
  }
  std::string v;
  EXPECT_TRUE(cf.Get("txn", &v).IsNotFound());
  {
    snkv::Transaction txn;
    ASSERT_TRUE(db.BeginTransaction(snkv::TxnMode::kWrite, &txn).ok());
    ASSERT_TRUE(cf.Put("txn", "kept").ok());
    ASSERT_TRUE(db.Delete("item:100").ok());
    ASSERT_TRUE(txn.Commit().ok());
  }
  EXPECT_TRUE(cf.Get("txn", &v).ok());
  EXPECT_EQ(v, "kept");
  EXPECT_TRUE(db.Get("item:100", &v).IsNotFound());
  ASSERT_TRUE(db.Begin(snkv::TxnMode::kWrite).ok());
  ASSERT_TRUE(db.Put("item:100", "back").ok());
  ASSERT_TRUE(db.Rollback().ok());
  EXPECT_TRUE(db.Get("item:100", &v).IsNotFound());

  // TTL, PutIfAbsent, Exists, Count, Clear, value sink.
  int64_t rem = 0;
  ASSERT_TRUE(cf.Get("item:100", &v, &rem).ok());
  EXPECT_EQ(v, "things-0");
  EXPECT_GT(rem, 0);
  ASSERT_TRUE(cf.TtlRemaining("item:101", &rem).ok());
  EXPECT_EQ(rem, snkv::kNoTtl);
  ASSERT_TRUE(cf.Put("expired", "x", now - 5).ok());
  int64_t purged = -1;
  ASSERT_TRUE(cf.PurgeExpired(&purged).ok());
  EXPECT_EQ(purged, 1);
  bool inserted = false;
  ASSERT_TRUE(cf.PutIfAbsent("pia", "one", 0, &inserted).ok());
  EXPECT_TRUE(inserted);
  ASSERT_TRUE(cf.PutIfAbsent("pia", "two", 0, &inserted).ok());
  EXPECT_FALSE(inserted);
  ASSERT_TRUE(cf.Get("pia", &v).ok());
  EXPECT_EQ(v, "one");
  std::string sunk;
  ASSERT_TRUE(cf.Get(
                    "pia",
                    [&](snkv::Slice s2) {
                      sunk = s2.ToString();
                      return true;
                    },
                    nullptr)
                  .ok());
  EXPECT_EQ(sunk, "one");
  bool exists = false;
  ASSERT_TRUE(cf.Exists("pia", &exists).ok());
  EXPECT_TRUE(exists);
  int64_t count = 0;
  ASSERT_TRUE(cf.Count(&count).ok());
  EXPECT_EQ(count, 28);  // 25 items, "", txn, pia
  ASSERT_TRUE(cf.Clear().ok());
  ASSERT_TRUE(cf.Count(&count).ok());
  EXPECT_EQ(count, 0);

  snkv::Stats stats;
  ASSERT_TRUE(db.GetStats(&stats).ok());
  EXPECT_GT(stats.puts, 0u);
  EXPECT_GT(stats.gets, 0u);
  EXPECT_GT(stats.iterations, 0u);
  std::string problems;
  EXPECT_TRUE(db.IntegrityCheck(&problems).ok()) << problems;
  snkv::CheckpointResult cr;
  EXPECT_TRUE(db.Checkpoint(snkv::CheckpointMode::kPassive, &cr).ok());
  ASSERT_TRUE(db.DropColumnFamily("things").ok());
  ASSERT_TRUE(db.Close().ok());

  ASSERT_TRUE(
      snkv::Store::OpenEncrypted(path, snkv::Slice("c++ pw"), {}, &db).ok());
  want_def.erase("item:100");
  ExpectFamilyReads(db.DefaultColumnFamily(), want_def);
}

// ---- 4. overhead
// ------------------------------------------------------------------

TEST(EncryptionFormat, EveryValueCostsExactly40Bytes) {
  TempDir dir;
  const std::string path = dir.file("o.db");
  const std::vector<size_t> sizes = {0,    1,    15,   16,   17,    100,
                                     1000, 4000, 4096, 5000, 65536, 300000};
  KVStore* kv = nullptr;
  ASSERT_EQ(OpenEnc(path, "overhead", &kv), KVSTORE_OK);
  KVColumnFamily* cf = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv, "fam", &cf), KVSTORE_OK);
  for (size_t n : sizes) {
    std::string k = "size:" + std::to_string(n);
    ASSERT_EQ(Put(kv, k, Pattern(n, static_cast<uint32_t>(n))), KVSTORE_OK);
    ASSERT_EQ(CfPutTtl(cf, k, Pattern(n, 7), kFarFutureMs), KVSTORE_OK);
  }
  int inserted = 0;
  ASSERT_EQ(kvstore_put_if_absent(kv, "pia", 3, "12345", 5, 0, &inserted),
            KVSTORE_OK);
  ASSERT_EQ(Put(kv, "replaced", std::string(10, 'a')), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "replaced", std::string(3, 'b')), KVSTORE_OK);
  kvstore_cf_close(cf);
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);

  RawDb raw(path);
  ASSERT_TRUE(raw.ok());
  const int64_t fam = raw.CfId("fam");
  RawTable def_rows = raw.Rows(0), fam_rows = raw.Rows(fam);
  for (size_t n : sizes) {
    std::string k = "size:" + std::to_string(n);
    EXPECT_EQ(def_rows[k].v.size(), n + kOverhead) << k;
    EXPECT_EQ(fam_rows[k].v.size(), n + kOverhead) << k;
  }
  EXPECT_EQ(def_rows["pia"].v.size(), 5 + kOverhead);
  EXPECT_EQ(def_rows["replaced"].v.size(), 3 + kOverhead);
  // Also through SQL's own length().
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(
                raw.get(),
                ("SELECT count(*) FROM kv_0"
                 " WHERE substr(k, 1, 5) = CAST('size:' AS BLOB)"
                 " AND length(" +
                 raw.StoredV(0) + ") = CAST(substr(k, 6) AS INTEGER) + 40")
                    .c_str(),
                -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(st, 0), static_cast<int64_t>(sizes.size()));
  sqlite3_finalize(st);
  // Two seals of the same plaintext differ (fresh nonce per value).
  EXPECT_NE(def_rows["size:100"].v.substr(0, 24),
            fam_rows["size:100"].v.substr(0, 24));
}

// ---- 5. tampering
// -----------------------------------------------------------------
//
// One encrypted store is prepared per suite; each test copies it, changes
// the closed copy with plain SQLite, and reads it back. Documented result
// (kvstore.h, "Encryption"): a changed, truncated, moved or swapped value
// reads as KVSTORE_CORRUPT, and an iterator stops there with that error.

constexpr char kTamperPw[] = "tamper-proof";

class EncryptionTamper : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_dir_ = new TempDir();
    const std::string path = suite_dir_->file("template.db");
    KVStore* kv = nullptr;
    ASSERT_EQ(OpenEnc(path, kTamperPw, &kv), KVSTORE_OK);
    KVColumnFamily* other = nullptr;
    ASSERT_EQ(kvstore_cf_create(kv, "other", &other), KVSTORE_OK);
    for (int i = 1; i <= 9; ++i) {
      std::string k = "k" + std::to_string(i);
      ASSERT_EQ(Put(kv, k, DefValue(i)), KVSTORE_OK);
      ASSERT_EQ(CfPut(other, k, OtherValue(i)), KVSTORE_OK);
    }
    kvstore_cf_close(other);
    ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
  }
  static void TearDownTestSuite() {
    delete suite_dir_;
    suite_dir_ = nullptr;
  }

  static std::string DefValue(int i) {
    return "default value number " + std::to_string(i) + " " +
           Pattern(static_cast<size_t>(50 + i), i);
  }
  static std::string OtherValue(int i) {
    return "other family value " + std::to_string(i);
  }

  void SetUp() override {
    ASSERT_NE(suite_dir_, nullptr);
    path_ = dir_.file("t.db");
    CopyStore(suite_dir_->file("template.db"), path_);
  }
  void TearDown() override {
    if (other_) kvstore_cf_close(other_);
    if (kv_) kvstore_close(kv_);
  }

  // Opens the (tampered) copy; the password still checks out.
  void OpenCopy() {
    ASSERT_EQ(OpenEnc(path_, kTamperPw, &kv_), KVSTORE_OK)
        << kvstore_errmsg(nullptr);
    ASSERT_EQ(kvstore_cf_open(kv_, "other", &other_), KVSTORE_OK);
  }

  // get must be CORRUPT and must not write the output pointers.
  void ExpectCorrupt(KVColumnFamily* cf, const std::string& k) {
    SCOPED_TRACE("key " + k);
    int sentinel = 0;
    void* p = &sentinel;
    int n = -7;
    EXPECT_EQ(kvstore_cf_get(cf, k.data(), Len(k), &p, &n), KVSTORE_CORRUPT);
    EXPECT_EQ(p, &sentinel);
    EXPECT_EQ(n, -7);
    int64_t rem = 0;
    EXPECT_EQ(kvstore_cf_get_ttl(cf, k.data(), Len(k), &p, &n, &rem),
              KVSTORE_CORRUPT);
    EXPECT_EQ(p, &sentinel);
  }
  void ExpectDefCorrupt(const std::string& k) {
    int sentinel = 0;
    void* p = &sentinel;
    int n = -7;
    EXPECT_EQ(kvstore_get(kv_, k.data(), Len(k), &p, &n), KVSTORE_CORRUPT)
        << "key " << k;
    EXPECT_EQ(p, &sentinel);
    KVColumnFamily* def = nullptr;
    ASSERT_EQ(kvstore_cf_get_default(kv_, &def), KVSTORE_OK);
    ExpectCorrupt(def, k);
    kvstore_cf_close(def);
  }
  void ExpectDefIntact(int i) {
    std::string v;
    std::string k = "k" + std::to_string(i);
    EXPECT_EQ(Get(kv_, k, &v), KVSTORE_OK) << k;
    EXPECT_EQ(v, DefValue(i)) << k;
  }
  void ExpectOtherIntact(int i) {
    std::string v;
    std::string k = "k" + std::to_string(i);
    EXPECT_EQ(CfGet(other_, k, &v), KVSTORE_OK) << k;
    EXPECT_EQ(v, OtherValue(i)) << k;
  }

  static TempDir* suite_dir_;
  TempDir dir_;
  std::string path_;
  KVStore* kv_ = nullptr;
  KVColumnFamily* other_ = nullptr;
};

TempDir* EncryptionTamper::suite_dir_ = nullptr;

TEST_F(EncryptionTamper, FlippedBitReadsAsCorrupt) {
  {
    RawDb raw(path_);
    ASSERT_TRUE(raw.ok());
    // k1: in the nonce; k2: in the ciphertext; k3: in the tag; k4: low bit
    // of the last byte; other/k5: in a second family.
    std::string v1 = raw.Value(0, "k1");
    v1[0] ^= 0x01;
    raw.SetValue(0, "k1", v1);
    std::string v2 = raw.Value(0, "k2");
    v2[30] ^= 0x80;
    raw.SetValue(0, "k2", v2);
    std::string v3 = raw.Value(0, "k3");
    v3[v3.size() - 8] ^= 0x10;
    raw.SetValue(0, "k3", v3);
    std::string v4 = raw.Value(0, "k4");
    v4.back() ^= 0x01;
    raw.SetValue(0, "k4", v4);
    const int64_t other = raw.CfId("other");
    std::string v5 = raw.Value(other, "k5");
    v5[24] ^= 0x04;
    raw.SetValue(other, "k5", v5);
  }
  ASSERT_NO_FATAL_FAILURE(OpenCopy());
  for (int i = 1; i <= 4; ++i) ExpectDefCorrupt("k" + std::to_string(i));
  ExpectCorrupt(other_, "k5");
  for (int i = 5; i <= 9; ++i) ExpectDefIntact(i);
  for (int i = 1; i <= 9; ++i) {
    if (i != 5) ExpectOtherIntact(i);
  }
  // C++ API: kCorrupt, and the output string is not filled with bytes.
  snkv::Store db;
  ASSERT_EQ(kvstore_close(kv_), KVSTORE_OK);
  kvstore_cf_close(other_);
  other_ = nullptr;
  kv_ = nullptr;
  ASSERT_TRUE(
      snkv::Store::OpenEncrypted(path_, snkv::Slice(kTamperPw), {}, &db).ok());
  std::string v = "untouched";
  snkv::Status s = db.Get("k2", &v);
  EXPECT_EQ(s.code(), snkv::Code::kCorrupt) << s.ToString();
  EXPECT_NE(v, DefValue(2));
  // The store keeps working after the error.
  ASSERT_TRUE(db.Put("k2", "repaired").ok());
  ASSERT_TRUE(db.Get("k2", &v).ok());
  EXPECT_EQ(v, "repaired");
}

TEST_F(EncryptionTamper, TruncatedValueReadsAsCorrupt) {
  {
    RawDb raw(path_);
    ASSERT_TRUE(raw.ok());
    raw.Exec(
        "UPDATE kv_0 SET v = substr(v, 1, length(v) - 1) WHERE k = CAST('k1' "
        "AS BLOB)");
    raw.Exec("UPDATE kv_0 SET v = substr(v, 2) WHERE k = CAST('k2' AS BLOB)");
    raw.Exec(
        "UPDATE kv_0 SET v = substr(v, 1, 40) WHERE k = CAST('k3' AS BLOB)");
    raw.Exec(
        "UPDATE kv_0 SET v = substr(v, 1, 39) WHERE k = CAST('k4' AS BLOB)");
    raw.Exec("UPDATE kv_0 SET v = X'' WHERE k = CAST('k5' AS BLOB)");
    raw.Exec("UPDATE kv_0 SET v = v || X'00' WHERE k = CAST('k6' AS BLOB)");
    // Sanity: the updates hit (keys are stored as blobs).
    EXPECT_EQ(raw.Value(0, "k5"), "");
    EXPECT_EQ(raw.Value(0, "k3").size(), 40u);
  }
  ASSERT_NO_FATAL_FAILURE(OpenCopy());
  for (int i = 1; i <= 6; ++i) ExpectDefCorrupt("k" + std::to_string(i));
  for (int i = 7; i <= 9; ++i) ExpectDefIntact(i);
  for (int i = 1; i <= 9; ++i) ExpectOtherIntact(i);
}

TEST_F(EncryptionTamper, SwappedValuesBothReadAsCorrupt) {
  {
    RawDb raw(path_);
    ASSERT_TRUE(raw.ok());
    std::string v1 = raw.Value(0, "k1"), v2 = raw.Value(0, "k2");
    raw.SetValue(0, "k1", v2);
    raw.SetValue(0, "k2", v1);
    // Also: a ciphertext copied over another key of the same family.
    raw.SetValue(0, "k7", raw.Value(0, "k6"));
  }
  ASSERT_NO_FATAL_FAILURE(OpenCopy());
  ExpectDefCorrupt("k1");
  ExpectDefCorrupt("k2");
  ExpectDefCorrupt("k7");
  ExpectDefIntact(6);  // the source of the copy is fine
  for (int i : {3, 4, 5, 8, 9}) ExpectDefIntact(i);
}

TEST_F(EncryptionTamper, ValueCopiedToSameKeyInAnotherFamilyReadsAsCorrupt) {
  {
    RawDb raw(path_);
    ASSERT_TRUE(raw.ok());
    const int64_t other = raw.CfId("other");
    ASSERT_GT(other, 0);
    // default/k3 -> other/k3, other/k4 -> default/k4.
    raw.SetValue(other, "k3", raw.Value(0, "k3"));
    raw.SetValue(0, "k4", raw.Value(other, "k4"));
    // And a row renamed to another key within its family.
    raw.Exec(
        "UPDATE kv_0 SET k = CAST('k8-renamed' AS BLOB) WHERE k = CAST('k8' AS "
        "BLOB)");
  }
  ASSERT_NO_FATAL_FAILURE(OpenCopy());
  ExpectCorrupt(other_, "k3");
  ExpectDefCorrupt("k4");
  ExpectDefCorrupt("k8-renamed");
  ExpectDefIntact(3);
  ExpectOtherIntact(4);
  std::string v;
  EXPECT_EQ(Get(kv_, "k8", &v), KVSTORE_NOTFOUND);
}

TEST_F(EncryptionTamper, IteratorStopsWithAnErrorAtATamperedRow) {
  {
    RawDb raw(path_);
    ASSERT_TRUE(raw.ok());
    std::string v = raw.Value(0, "k5");
    v[45] ^= 0x20;
    raw.SetValue(0, "k5", v);
  }
  ASSERT_NO_FATAL_FAILURE(OpenCopy());
  // C API, forward: k1..k4, then next() fails with CORRUPT and eof.
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_iterator_create(kv_, &it), KVSTORE_OK);
  int rc = kvstore_iterator_first(it);
  Pairs got;
  while (rc == KVSTORE_OK && !kvstore_iterator_eof(it)) {
    got.emplace_back(IterKey(it), IterValue(it));
    rc = kvstore_iterator_next(it);
  }
  EXPECT_EQ(rc, KVSTORE_CORRUPT);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  Pairs want;
  for (int i = 1; i <= 4; ++i)
    want.emplace_back("k" + std::to_string(i), DefValue(i));
  EXPECT_EQ(got, want);
  // seek() straight onto the tampered key.
  EXPECT_EQ(kvstore_iterator_seek(it, "k5", 2), KVSTORE_CORRUPT);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  {
    void* p = nullptr;
    int n = 0;
    EXPECT_NE(kvstore_iterator_value(it, &p, &n), KVSTORE_OK);
  }
  // It can be repositioned past the damage.
  ASSERT_EQ(kvstore_iterator_seek(it, "k6", 2), KVSTORE_OK);
  EXPECT_EQ(IterKey(it), "k6");
  EXPECT_EQ(IterValue(it), DefValue(6));
  kvstore_iterator_close(it);

  // C API, reverse: k9..k6, then prev() fails.
  ASSERT_EQ(kvstore_reverse_iterator_create(kv_, &it), KVSTORE_OK);
  rc = kvstore_iterator_last(it);
  got.clear();
  while (rc == KVSTORE_OK && !kvstore_iterator_eof(it)) {
    got.emplace_back(IterKey(it), IterValue(it));
    rc = kvstore_iterator_prev(it);
  }
  EXPECT_EQ(rc, KVSTORE_CORRUPT);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  want.clear();
  for (int i = 9; i >= 6; --i)
    want.emplace_back("k" + std::to_string(i), DefValue(i));
  EXPECT_EQ(got, want);
  kvstore_iterator_close(it);

  // A prefix iterator whose first match is the tampered row fails at once.
  it = reinterpret_cast<KVIterator*>(0x1);
  EXPECT_EQ(kvstore_prefix_iterator_create(kv_, "k5", 2, &it), KVSTORE_CORRUPT);
  EXPECT_EQ(it, nullptr);
  if (it != nullptr && it != reinterpret_cast<KVIterator*>(0x1))
    kvstore_iterator_close(it);
  it = reinterpret_cast<KVIterator*>(0x1);
  EXPECT_EQ(kvstore_reverse_prefix_iterator_create(kv_, "k", 1, &it),
            KVSTORE_OK);
  if (it != nullptr && it != reinterpret_cast<KVIterator*>(0x1)) {
    got.clear();
    EXPECT_EQ(DrainC(it, true, &got), KVSTORE_CORRUPT);
    EXPECT_EQ(got.size(), 4u);
    kvstore_iterator_close(it);
  }

  // The other family iterates fine.
  ASSERT_EQ(kvstore_cf_iterator_create(other_, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  got.clear();
  EXPECT_EQ(DrainC(it, false, &got), KVSTORE_OK);
  EXPECT_EQ(got.size(), 9u);
  kvstore_iterator_close(it);
  kvstore_cf_close(other_);
  other_ = nullptr;
  ASSERT_EQ(kvstore_close(kv_), KVSTORE_OK);
  kv_ = nullptr;

  // C++: range-for stops early and status() is Corrupt.
  snkv::Store db;
  ASSERT_TRUE(
      snkv::Store::OpenEncrypted(path_, snkv::Slice(kTamperPw), {}, &db).ok());
  snkv::Status s;
  {
    snkv::Iterator cit = db.NewIterator();
    Pairs seen = Collect(cit, &s);
    EXPECT_EQ(s.code(), snkv::Code::kCorrupt) << s.ToString();
    EXPECT_EQ(seen.size(), 4u);
    EXPECT_FALSE(cit.Valid());
    for (const auto& kv : seen) EXPECT_NE(kv.first, "k5");
  }
  {
    snkv::Iterator cit = db.NewIterator({.reverse = true});
    Pairs seen = Collect(cit, &s);
    EXPECT_EQ(s.code(), snkv::Code::kCorrupt) << s.ToString();
    EXPECT_EQ(seen.size(), 4u);
  }
  {
    snkv::Iterator cit = db.NewIterator({.prefix = "k5"});
    Pairs seen = Collect(cit, &s);
    EXPECT_EQ(s.code(), snkv::Code::kCorrupt) << s.ToString();
    EXPECT_TRUE(seen.empty());
    snkv::Status s2 = cit.Seek("k5");
    EXPECT_EQ(s2.code(), snkv::Code::kCorrupt);
    EXPECT_FALSE(cit.Valid());
  }
}

// Key-derivation costs stored in the file are trusted only up to what snkv
// itself writes (3 passes, 64 MiB). A forged file asking for more is
// refused as CORRUPT before any key is derived, so opening it is quick
// whatever it asks for, with either password.
TEST_F(EncryptionTamper, KdfCostsAboveWhatSnkvWritesAreRefusedBeforeDeriving) {
  struct Forgery {
    const char* what;
    int64_t ops;
    int64_t mem;
  };
  const Forgery forgeries[] = {
      {"16 passes over 1 GiB", 16, int64_t{1} << 30},
      {"64 passes over 4 GiB", 64, int64_t{4} << 30},
      {"one pass too many", 4, int64_t{64} << 20},
      {"one KiB too much", 3, (int64_t{64} << 20) + 1024},
      {"absurd", INT64_MAX, INT64_MAX},
  };
  for (const Forgery& f : forgeries) {
    SCOPED_TRACE(f.what);
    CopyStore(suite_dir_->file("template.db"), path_);
    {
      RawDb raw(path_);
      ASSERT_TRUE(raw.ok());
      raw.Exec("UPDATE snkv_meta SET value = " + std::to_string(f.ops) +
               " WHERE key = 'kdf_ops'");
      raw.Exec("UPDATE snkv_meta SET value = " + std::to_string(f.mem) +
               " WHERE key = 'kdf_mem'");
    }
    for (const std::string pw : {std::string(kTamperPw), std::string("nope")}) {
      KVStore* kv = nullptr;
      const auto start = std::chrono::steady_clock::now();
      EXPECT_EQ(OpenEnc(path_, pw, &kv), KVSTORE_CORRUPT);
      const auto took = std::chrono::steady_clock::now() - start;
      EXPECT_EQ(kv, nullptr);
      EXPECT_NE(std::strstr(kvstore_errmsg(nullptr), "Argon2id costs"), nullptr)
          << kvstore_errmsg(nullptr);
      // Deriving with the first forgery's costs took 16.5 s and 1 GB;
      // refusing them takes milliseconds.
      if (f.mem >= int64_t{1} << 30) {
        EXPECT_LT(took, std::chrono::seconds(2));
      }
    }
  }
  // The untouched costs still open, and the store still reads.
  CopyStore(suite_dir_->file("template.db"), path_);
  OpenCopy();
  ExpectDefIntact(1);
  ExpectOtherIntact(9);
}

// ---- 6. no plaintext in the files
// -------------------------------------------------

TEST(EncryptionLeak, MarkersNeverReachTheFilesInWalMode) {
  TempDir dir;
  const std::string path = dir.file("m.db");
  const std::vector<std::string> markers = {
      "SECRET-MARKER-1234-A", "SECRET-MARKER-1234-B", "SECRET-MARKER-1234-C",
      "SECRET-MARKER-1234-D", "SECRET-MARKER-1234-E", "SECRET-MARKER-1234-F",
      "SECRET-MARKER-1234-G"};
  KVStore* kv = nullptr;
  ASSERT_EQ(OpenEnc(path, "leak-pw", &kv, KVSTORE_JOURNAL_WAL), KVSTORE_OK);
  KVColumnFamily* cf = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv, "secrets", &cf), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "PLAIN-KEY-VISIBLE", "x " + markers[0] + " y"), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "big", WithMarker(markers[1], 20000)), KVSTORE_OK);
  ASSERT_EQ(CfPut(cf, "s", markers[2]), KVSTORE_OK);
  ASSERT_EQ(CfPutTtl(cf, "t", WithMarker(markers[3], 6000), kFarFutureMs),
            KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_put_if_absent(cf, "p", 1, markers[4].data(),
                                     Len(markers[4]), 0, nullptr),
            KVSTORE_OK);
  // Sanity: the scanner sees the files while the store is open (keys are
  // plaintext by design).
  EXPECT_GE(FindMarkers(path, {"PLAIN-KEY-VISIBLE"}).size(), 1u);
  EXPECT_EQ(FindMarkers(path, markers), std::vector<std::string>{})
      << "after puts";

  // Updates, deletes, a rolled-back transaction.
  ASSERT_EQ(Put(kv, "PLAIN-KEY-VISIBLE", WithMarker(markers[5], 9000)),
            KVSTORE_OK);
  ASSERT_EQ(kvstore_delete(kv, "big", 3), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_delete(cf, "s", 1), KVSTORE_OK);
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "rb", WithMarker(markers[6], 5000)), KVSTORE_OK);
  EXPECT_EQ(FindMarkers(path, markers), std::vector<std::string>{}) << "in txn";
  ASSERT_EQ(kvstore_rollback(kv), KVSTORE_OK);
  EXPECT_EQ(FindMarkers(path, markers), std::vector<std::string>{})
      << "after updates and deletes";
  ASSERT_EQ(
      kvstore_checkpoint(kv, KVSTORE_CHECKPOINT_PASSIVE, nullptr, nullptr),
      KVSTORE_OK);
  EXPECT_EQ(FindMarkers(path, markers), std::vector<std::string>{})
      << "after checkpoint";
  std::string v;
  ASSERT_EQ(Get(kv, "PLAIN-KEY-VISIBLE", &v), KVSTORE_OK);
  EXPECT_EQ(v, WithMarker(markers[5], 9000));
  kvstore_cf_close(cf);
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
  EXPECT_EQ(FindMarkers(path, markers), std::vector<std::string>{}) << "closed";
}

TEST(EncryptionLeak, MarkersNeverReachTheFilesInDeleteJournalMode) {
  TempDir dir;
  const std::string path = dir.file("m.db");
  const std::vector<std::string> markers = {
      "SECRET-MARKER-1234-A", "SECRET-MARKER-1234-B", "SECRET-MARKER-1234-C",
      "SECRET-MARKER-1234-D"};
  KVStore* kv = nullptr;
  ASSERT_EQ(OpenEnc(path, "leak-pw", &kv, KVSTORE_JOURNAL_DELETE), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "a", markers[0]), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "big", WithMarker(markers[1], 12000)), KVSTORE_OK);
  EXPECT_FALSE(FileExists(path + "-wal"));
  EXPECT_EQ(FindMarkers(path, markers), std::vector<std::string>{})
      << "after puts";
  // With a write transaction open the rollback journal exists.
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "a", WithMarker(markers[2], 7000)), KVSTORE_OK);
  ASSERT_EQ(kvstore_delete(kv, "big", 3), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "c", WithMarker(markers[3], 30000)), KVSTORE_OK);
  ASSERT_EQ(kvstore_sync(kv), KVSTORE_OK);  // commits and begins anew
  ASSERT_EQ(Put(kv, "d", markers[3]), KVSTORE_OK);
  // Puts in a transaction may wait in memory; a read writes them out.
  int exists = 0;
  ASSERT_EQ(kvstore_exists(kv, "d", 1, &exists), KVSTORE_OK);
  ASSERT_EQ(exists, 1);
  EXPECT_TRUE(FileExists(path + "-journal"));
  EXPECT_EQ(FindMarkers(path, markers), std::vector<std::string>{}) << "in txn";
  ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
  ASSERT_EQ(kvstore_delete(kv, "c", 1), KVSTORE_OK);
  EXPECT_EQ(FindMarkers(path, markers), std::vector<std::string>{})
      << "after updates and deletes";
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
  EXPECT_EQ(FindMarkers(path, markers), std::vector<std::string>{}) << "closed";
}

// A plain store full of plaintext (live values, deleted ones in free pages,
// old versions of updated ones, values in overflow pages, and in WAL mode
// frames still in the WAL), then converted with open_encrypted.
struct PlainWithMarkers {
  std::vector<std::string> markers;
  std::map<std::string, std::map<std::string, std::string>> live;
};

PlainWithMarkers MakePlainStoreWithMarkers(const std::string& path,
                                           int journal) {
  PlainWithMarkers p;
  for (char c = 'A'; c <= 'I'; ++c) {
    p.markers.push_back(std::string("SECRET-MARKER-1234-") + c);
  }
  const auto& m = p.markers;
  KVStore* kv = nullptr;
  EXPECT_EQ(OpenPlain(path, &kv, journal), KVSTORE_OK);
  KVColumnFamily* cf = nullptr;
  EXPECT_EQ(kvstore_cf_create(kv, "cfx", &cf), KVSTORE_OK);
  auto& def = p.live["default"];
  auto& cfx = p.live["cfx"];
  def["live1"] = "live: " + m[0];
  def["live-big"] = WithMarker(m[1], 10000);  // overflow pages
  cfx["live3"] = m[2];
  cfx["ttl"] = WithMarker(m[3], 4500);
  EXPECT_EQ(Put(kv, "live1", def["live1"]), KVSTORE_OK);
  EXPECT_EQ(Put(kv, "live-big", def["live-big"]), KVSTORE_OK);
  EXPECT_EQ(CfPut(cf, "live3", cfx["live3"]), KVSTORE_OK);
  EXPECT_EQ(CfPutTtl(cf, "ttl", cfx["ttl"], kFarFutureMs), KVSTORE_OK);
  for (int i = 0; i < 200; ++i) {
    std::string k = "filler" + std::to_string(i);
    def[k] = Pattern(200, static_cast<uint32_t>(i));
    EXPECT_EQ(Put(kv, k, def[k]), KVSTORE_OK);
  }
  // Deleted: small and big (their pages go to the free list).
  EXPECT_EQ(Put(kv, "gone", "gone: " + m[4]), KVSTORE_OK);
  EXPECT_EQ(Put(kv, "gone-big", WithMarker(m[5], 12000)), KVSTORE_OK);
  EXPECT_EQ(kvstore_delete(kv, "gone", 4), KVSTORE_OK);
  EXPECT_EQ(kvstore_delete(kv, "gone-big", 8), KVSTORE_OK);
  // Updated: the old version is garbage.
  EXPECT_EQ(Put(kv, "upd", WithMarker(m[6], 6000)), KVSTORE_OK);
  def["upd"] = "new version: " + m[7];
  EXPECT_EQ(Put(kv, "upd", def["upd"]), KVSTORE_OK);
  kvstore_cf_close(cf);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
  if (journal == KVSTORE_JOURNAL_WAL) {
    // Leave plaintext in the WAL: a raw connection that does not
    // checkpoint on close.
    RawDb raw(path);
    EXPECT_TRUE(raw.ok());
    EXPECT_EQ(sqlite3_db_config(raw.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
                                nullptr),
              SQLITE_OK);
    raw.Exec("PRAGMA wal_autocheckpoint = 0");
    def["walrow"] = "in the wal: " + m[8];
    raw.Exec("INSERT INTO kv_0(k, v) VALUES (CAST('walrow' AS BLOB), CAST('" +
             def["walrow"] + "' AS BLOB))");
  }
  return p;
}

void ExpectLiveData(KVStore* kv, const PlainWithMarkers& p) {
  for (const auto& [name, fam] : p.live) {
    KVColumnFamily* cf = nullptr;
    if (name == "default") {
      ASSERT_EQ(kvstore_cf_get_default(kv, &cf), KVSTORE_OK);
    } else {
      ASSERT_EQ(kvstore_cf_open(kv, name.c_str(), &cf), KVSTORE_OK);
    }
    for (const auto& [k, v] : fam) {
      std::string got;
      EXPECT_EQ(CfGet(cf, k, &got), KVSTORE_OK) << name << "/" << k;
      EXPECT_EQ(got, v) << name << "/" << k;
    }
    int64_t count = -1;
    EXPECT_EQ(kvstore_cf_count(cf, &count), KVSTORE_OK);
    EXPECT_EQ(count, static_cast<int64_t>(fam.size())) << name;
    kvstore_cf_close(cf);
  }
  std::string got;
  EXPECT_EQ(Get(kv, "gone", &got), KVSTORE_NOTFOUND);
}

void ConvertAndScan(int journal) {
  TempDir dir;
  const std::string path = dir.file("conv.db");
  PlainWithMarkers p = MakePlainStoreWithMarkers(path, journal);
  // Sanity: the plaintext is really in the files before the conversion,
  // including the deleted and the overwritten values.
  // (Live values A-D and H must be there; of the garbage, E/F deleted and
  // G overwritten, SQLite may already have reused or cleared some.)
  std::vector<std::string> before = FindMarkers(path, p.markers);
  auto present = [&](size_t i) {
    for (const std::string& f : before) {
      if (f.find(p.markers[i]) != std::string::npos) return true;
    }
    return false;
  };
  for (size_t i : {0, 1, 2, 3, 7}) {
    EXPECT_TRUE(present(i)) << "setup: " << p.markers[i] << " not in the files";
  }
  EXPECT_TRUE(present(4) || present(5) || present(6))
      << "setup: no deleted or overwritten plaintext left in the files";
  if (journal == KVSTORE_JOURNAL_WAL) {
    EXPECT_NE(ReadFile(path + "-wal").find(p.markers[8]), std::string::npos)
        << "setup: the WAL should hold a plaintext frame";
  }

  KVStore* kv = nullptr;
  ASSERT_EQ(OpenEnc(path, "scrub-pw", &kv, journal), KVSTORE_OK)
      << kvstore_errmsg(nullptr);
  EXPECT_EQ(kvstore_is_encrypted(kv), 1);
  EXPECT_EQ(FindMarkers(path, p.markers), std::vector<std::string>{})
      << "open, right after the conversion";
  ASSERT_NO_FATAL_FAILURE(ExpectLiveData(kv, p));
  char* err = nullptr;
  EXPECT_EQ(kvstore_integrity_check(kv, &err), KVSTORE_OK) << (err ? err : "");
  snkv_free(err);
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
  EXPECT_EQ(FindMarkers(path, p.markers), std::vector<std::string>{})
      << "closed";

  ASSERT_EQ(OpenEnc(path, "scrub-pw", &kv, journal), KVSTORE_OK);
  ASSERT_NO_FATAL_FAILURE(ExpectLiveData(kv, p));
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(EncryptionLeak, ConversionLeavesNoPlaintextInWalMode) {
  ConvertAndScan(KVSTORE_JOURNAL_WAL);
}

TEST(EncryptionLeak, ConversionLeavesNoPlaintextInDeleteJournalMode) {
  ConvertAndScan(KVSTORE_JOURNAL_DELETE);
}

TEST(EncryptionLeak, ReencryptLeavesNoPlaintext) {
  for (int journal : {KVSTORE_JOURNAL_WAL, KVSTORE_JOURNAL_DELETE}) {
    SCOPED_TRACE(journal == KVSTORE_JOURNAL_WAL ? "wal" : "delete");
    TempDir dir;
    const std::string path = dir.file("re.db");
    PlainWithMarkers p = MakePlainStoreWithMarkers(path, journal);
    KVStore* kv = nullptr;
    ASSERT_EQ(OpenEnc(path, "first", &kv, journal), KVSTORE_OK);
    ASSERT_EQ(Put(kv, "more", WithMarker("SECRET-MARKER-1234-Z", 8000)),
              KVSTORE_OK);
    p.live["default"]["more"] = WithMarker("SECRET-MARKER-1234-Z", 8000);
    p.markers.push_back("SECRET-MARKER-1234-Z");
    ASSERT_EQ(kvstore_reencrypt(kv, "second", 6), KVSTORE_OK);
    EXPECT_EQ(FindMarkers(path, p.markers), std::vector<std::string>{})
        << "open, after reencrypt";
    ASSERT_NO_FATAL_FAILURE(ExpectLiveData(kv, p));
    ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
    EXPECT_EQ(FindMarkers(path, p.markers), std::vector<std::string>{})
        << "closed, after reencrypt";
  }
}

// ---- 7. reencrypt and remove_encryption
// ------------------------------------------

TEST(EncryptionRekey, ReencryptReplacesThePasswordAndKeepsTheData) {
  TempDir dir;
  const std::string path = dir.file("r.db");
  const int64_t now = kvstore_now_ms();
  const StoreData data = MixedData(now);
  KVStore* kv = nullptr;
  ASSERT_EQ(OpenEnc(path, "old password", &kv), KVSTORE_OK);
  ASSERT_NO_FATAL_FAILURE(WriteData(kv, data));
  std::string old_cipher;
  {
    RawDb raw(path);
    old_cipher = raw.Value(0, "big");
  }
  ASSERT_EQ(kvstore_reencrypt(kv, "new password", 12), KVSTORE_OK)
      << kvstore_errmsg(kv);
  EXPECT_EQ(kvstore_is_encrypted(kv), 1);
  // The handle stays usable: reads and writes.
  std::string v;
  EXPECT_EQ(Get(kv, "big", &v), KVSTORE_OK);
  EXPECT_EQ(v, data.at("default").at("big").value);
  ASSERT_EQ(Put(kv, "written after", "reencrypt"), KVSTORE_OK);
  EXPECT_EQ(Get(kv, "written after", &v), KVSTORE_OK);
  EXPECT_EQ(v, "reencrypt");
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
  {
    RawDb raw(path);
    std::string now_cipher = raw.Value(0, "big");
    EXPECT_EQ(now_cipher.size(), old_cipher.size());
    EXPECT_NE(now_cipher, old_cipher);  // every value re-sealed
  }

  kv = reinterpret_cast<KVStore*>(0x1);
  EXPECT_EQ(OpenEnc(path, "old password", &kv), KVSTORE_AUTH_FAILED);
  EXPECT_EQ(kv, nullptr);

  snkv::Store db;
  snkv::Status s =
      snkv::Store::OpenEncrypted(path, snkv::Slice("new password"), {}, &db);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const int64_t now2 = snkv::NowMs();
  for (const auto& [name, fam] : data) {
    auto live = Live(fam, now2);
    if (name == "default") live["written after"] = "reencrypt";
    ExpectFamilyReads(Family(db, name), live);
  }
  int64_t rem = 0;
  ASSERT_TRUE(db.DefaultColumnFamily().TtlRemaining("ttl:soon", &rem).ok());
  EXPECT_GT(rem, 0);
  EXPECT_LE(rem, 10 * 60 * 1000);
  std::string problems;
  EXPECT_TRUE(db.IntegrityCheck(&problems).ok()) << problems;

  // C++ Reencrypt, to the empty password.
  ASSERT_TRUE(db.Reencrypt(snkv::Slice("")).ok());
  ASSERT_TRUE(db.Put("k", "v").ok());
  ASSERT_TRUE(db.Close().ok());
  s = snkv::Store::OpenEncrypted(path, snkv::Slice("new password"), {}, &db);
  EXPECT_EQ(s.code(), snkv::Code::kAuthFailed);
  ASSERT_EQ(kvstore_open_encrypted(path.c_str(), nullptr, 0, &kv, nullptr),
            KVSTORE_OK);
  EXPECT_EQ(Get(kv, "k", &v), KVSTORE_OK);
  EXPECT_EQ(v, "v");
  EXPECT_EQ(Get(kv, "huge", &v), KVSTORE_OK);
  EXPECT_EQ(v, data.at("default").at("huge").value);
  kvstore_close(kv);
}

TEST(EncryptionRekey, RemoveEncryptionLeavesAPlainStoreWithTheSameData) {
  TempDir dir;
  const std::string path = dir.file("r.db");
  const int64_t now = kvstore_now_ms();
  const StoreData data = MixedData(now);
  KVStore* kv = nullptr;
  ASSERT_EQ(OpenEnc(path, "to be removed", &kv), KVSTORE_OK);
  ASSERT_NO_FATAL_FAILURE(WriteData(kv, data));
  ASSERT_EQ(kvstore_remove_encryption(kv), KVSTORE_OK) << kvstore_errmsg(kv);
  EXPECT_EQ(kvstore_is_encrypted(kv), 0);
  std::string v;
  EXPECT_EQ(Get(kv, "binary", &v), KVSTORE_OK);
  EXPECT_EQ(v, data.at("default").at("binary").value);
  ASSERT_EQ(Put(kv, "after removal", "plain now"), KVSTORE_OK);
  // Removing twice, or reencrypting a plain store, is an error.
  EXPECT_NE(kvstore_remove_encryption(kv), KVSTORE_OK);
  EXPECT_NE(kvstore_reencrypt(kv, "x", 1), KVSTORE_OK);
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);

  {
    RawDb raw(path);
    ASSERT_TRUE(raw.ok());
    EXPECT_EQ(raw.CipherMetaRows(), 0);
    for (const auto& [name, fam] : data) {
      RawTable rows = raw.Rows(raw.CfId(name));
      for (const auto& [k, item] : fam) {
        EXPECT_EQ(rows[k].v, item.value) << name << "/" << k;
      }
    }
  }

  ASSERT_EQ(kvstore_open(path.c_str(), &kv, KVSTORE_JOURNAL_WAL), KVSTORE_OK)
      << kvstore_errmsg(nullptr);
  EXPECT_EQ(kvstore_is_encrypted(kv), 0);
  EXPECT_EQ(Get(kv, "after removal", &v), KVSTORE_OK);
  EXPECT_EQ(v, "plain now");
  kvstore_close(kv);
  snkv::Store db;
  ASSERT_TRUE(snkv::Store::Open(path, {}, &db).ok());
  const int64_t now2 = snkv::NowMs();
  for (const auto& [name, fam] : data) {
    auto live = Live(fam, now2);
    if (name == "default") live["after removal"] = "plain now";
    ExpectFamilyReads(Family(db, name), live);
  }
  int64_t rem = 0;
  ASSERT_TRUE(Family(db, "alpha").TtlRemaining("ttl:a", &rem).ok());
  EXPECT_GT(rem, 0);
  ASSERT_TRUE(db.Close().ok());

  // C++ RemoveEncryption.
  ASSERT_TRUE(
      snkv::Store::OpenEncrypted(path, snkv::Slice("again"), {}, &db).ok());
  EXPECT_TRUE(db.is_encrypted());
  ASSERT_TRUE(db.RemoveEncryption().ok());
  EXPECT_FALSE(db.is_encrypted());
  ASSERT_TRUE(db.Close().ok());
  ASSERT_TRUE(snkv::Store::Open(path, {}, &db).ok());
  std::string got;
  ASSERT_TRUE(db.Get("after removal", &got).ok());
  EXPECT_EQ(got, "plain now");
}

TEST(EncryptionRekey, ReencryptAndRemoveAreRefusedInsideATransaction) {
  TempDir dir;
  const std::string path = dir.file("t.db");
  KVStore* kv = nullptr;
  ASSERT_EQ(OpenEnc(path, "pw", &kv), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "a", "1"), KVSTORE_OK);
  for (int wr : {1, 0}) {
    SCOPED_TRACE(wr ? "write transaction" : "read transaction");
    ASSERT_EQ(kvstore_begin(kv, wr), KVSTORE_OK);
    EXPECT_EQ(kvstore_reencrypt(kv, "other", 5), KVSTORE_ERROR);
    EXPECT_EQ(kvstore_remove_encryption(kv), KVSTORE_ERROR);
    EXPECT_EQ(kvstore_is_encrypted(kv), 1);
    // The transaction is still open and usable.
    std::string v;
    EXPECT_EQ(Get(kv, "a", &v), KVSTORE_OK);
    if (wr) EXPECT_EQ(Put(kv, "b", "2"), KVSTORE_OK);
    EXPECT_EQ(kvstore_commit(kv), KVSTORE_OK);
  }
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);

  snkv::Store db;
  // The password did not change.
  ASSERT_TRUE(
      snkv::Store::OpenEncrypted(path, snkv::Slice("pw"), {}, &db).ok());
  {
    snkv::Transaction txn;
    ASSERT_TRUE(db.BeginTransaction(snkv::TxnMode::kWrite, &txn).ok());
    EXPECT_EQ(db.Reencrypt(snkv::Slice("other")).code(), snkv::Code::kError);
    EXPECT_EQ(db.RemoveEncryption().code(), snkv::Code::kError);
    ASSERT_TRUE(db.Put("c", "3").ok());
    ASSERT_TRUE(txn.Commit().ok());
  }
  EXPECT_TRUE(db.is_encrypted());
  std::string v;
  ASSERT_TRUE(db.Get("b", &v).ok());
  EXPECT_EQ(v, "2");
  ASSERT_TRUE(db.Get("c", &v).ok());
  EXPECT_EQ(v, "3");
  // On a plain store both are errors too.
  snkv::Store plain;
  ASSERT_TRUE(snkv::Store::Open(dir.file("plain.db"), {}, &plain).ok());
  EXPECT_FALSE(plain.Reencrypt(snkv::Slice("x")).ok());
  EXPECT_FALSE(plain.RemoveEncryption().ok());
  EXPECT_FALSE(plain.is_encrypted());
}

// ---- 8. SIGKILL during reencrypt / conversion
// --------------------------------------

using Child = snkv::test::ChildProcess;

constexpr int kKillEntries = 10000;  // per family, two families

// The deterministic content of the stores the worker operates on.
std::map<std::string, std::string> KillFamily(int cf) {
  std::map<std::string, std::string> f;
  for (int i = 0; i < kKillEntries; ++i) {
    char k[32];
    std::snprintf(k, sizeof k, "key%06d", i);
    size_t n = (i % 13 == 0) ? 0 : static_cast<size_t>(20 + (i * 37) % 380);
    if (i % 997 == 5) n = 6000;  // a few overflow values
    f[k] = Pattern(n, static_cast<uint32_t>(i * 2 + cf));
  }
  return f;
}

bool KillTtl(const std::string& key) { return key.back() == '7'; }

void MakeKillStore(const std::string& path, const std::string* password,
                   int journal) {
  KVStore* kv = nullptr;
  if (password != nullptr) {
    ASSERT_EQ(OpenEnc(path, *password, &kv, journal), KVSTORE_OK);
  } else {
    ASSERT_EQ(OpenPlain(path, &kv, journal), KVSTORE_OK);
  }
  KVColumnFamily* cfs[2] = {nullptr, nullptr};
  ASSERT_EQ(kvstore_cf_get_default(kv, &cfs[0]), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_create(kv, "second", &cfs[1]), KVSTORE_OK);
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  for (int c = 0; c < 2; ++c) {
    for (const auto& [k, v] : KillFamily(c)) {
      int rc = KillTtl(k) ? CfPutTtl(cfs[c], k, v, kFarFutureMs)
                          : CfPut(cfs[c], k, v);
      ASSERT_EQ(rc, KVSTORE_OK);
    }
  }
  ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
  kvstore_cf_close(cfs[0]);
  kvstore_cf_close(cfs[1]);
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// The open store holds exactly the kill-test data, every value readable.
::testing::AssertionResult KillStoreIntact(snkv::Store& db) {
  const char* names[2] = {"default", "second"};
  for (int c = 0; c < 2; ++c) {
    snkv::ColumnFamily cf = Family(db, names[c]);
    auto want = KillFamily(c);
    snkv::Iterator it = cf.NewIterator();
    auto w = want.begin();
    size_t n = 0;
    for (const auto& e : it) {
      if (w == want.end() || e.key != snkv::Slice(w->first)) {
        return ::testing::AssertionFailure()
               << names[c] << ": unexpected key " << e.key.ToString();
      }
      if (e.value != snkv::Slice(w->second)) {
        return ::testing::AssertionFailure()
               << names[c] << ": wrong value for " << w->first;
      }
      ++w;
      ++n;
    }
    if (!it.status().ok()) {
      return ::testing::AssertionFailure()
             << names[c] << ": iteration failed after " << n
             << " entries: " << it.status().ToString();
    }
    if (n != want.size()) {
      return ::testing::AssertionFailure()
             << names[c] << ": " << n << " entries, want " << want.size();
    }
    int64_t count = 0;
    snkv::Status s = cf.Count(&count);
    if (!s.ok() || count != static_cast<int64_t>(want.size())) {
      return ::testing::AssertionFailure() << names[c] << ": count " << count;
    }
    for (int i = 7; i < kKillEntries; i += 250) {
      char k[32];
      std::snprintf(k, sizeof k, "key%06d", i);
      int64_t rem = 0;
      s = cf.TtlRemaining(k, &rem);
      if (!s.ok() || rem <= 0) {
        return ::testing::AssertionFailure() << names[c] << ": ttl of " << k;
      }
    }
  }
  std::string problems;
  snkv::Status s = db.IntegrityCheck(&problems);
  if (!s.ok()) {
    return ::testing::AssertionFailure() << "integrity_check: " << problems;
  }
  return ::testing::AssertionSuccess();
}

// Raw view after close: all values plaintext, or all sealed (never a mix).
::testing::AssertionResult RawAllSealed(const std::string& path, bool sealed) {
  RawDb raw(path);
  if (!raw.ok()) return ::testing::AssertionFailure() << "raw open";
  const char* names[2] = {"default", "second"};
  for (int c = 0; c < 2; ++c) {
    RawTable rows = raw.Rows(raw.CfId(names[c]));
    for (const auto& [k, v] : KillFamily(c)) {
      const RawRow& r = rows[k];
      bool ok = sealed ? r.v.size() == v.size() + kOverhead : r.v == v;
      if (!ok) {
        return ::testing::AssertionFailure()
               << names[c] << "/" << k << " is not "
               << (sealed ? "sealed" : "plaintext");
      }
    }
  }
  if (raw.CipherMetaRows() != (sealed ? 5 : 0)) {
    return ::testing::AssertionFailure() << "cipher metadata rows";
  }
  return ::testing::AssertionSuccess();
}

uint32_t KillSeed() {
  const char* env = std::getenv("SNKV_ENC_KILL_SEED");
  uint32_t seed = env ? static_cast<uint32_t>(std::strtoul(env, nullptr, 10))
                      : std::random_device{}();
  std::printf("kill seed: %u (set SNKV_ENC_KILL_SEED to replay)\n", seed);
  return seed;
}

// How each round picks its moment: a delay after start, or right after a
// line from the worker, or after the worker finished.
struct KillPlan {
  std::string after_line;  // "" = after start
  int delay_ms = 0;
  bool run_to_end = false;
};

std::vector<KillPlan> Plans(std::mt19937& rng, int total_ms, int opened_ms,
                            bool has_opened_line) {
  std::vector<KillPlan> plans;
  plans.push_back({"", 0, false});  // before anything happened
  std::uniform_int_distribution<int> whole(1, std::max(2, total_ms));
  for (int i = 0; i < 3; ++i) plans.push_back({"", whole(rng), false});
  if (has_opened_line) {
    // Aim at the rewrite itself: after the open, before the end.
    std::uniform_int_distribution<int> rest(0,
                                            std::max(1, total_ms - opened_ms));
    for (int i = 0; i < 3; ++i) plans.push_back({"opened", rest(rng), false});
  }
  plans.push_back({"done", 0, false});  // after completion, before close
  return plans;
}

struct KillOutcome {
  int old_state = 0;
  int new_state = 0;
};

// One round: fresh copy of the template, run the worker per `plan`, kill,
// then check the store holds the old state or the new one.
void KillRound(const std::string& tool_mode, const std::string& tmpl,
               const std::string& path, const std::string& old_pw,
               const std::string& new_pw, const std::string& journal,
               const KillPlan& plan, KillOutcome* outcome) {
  CopyStore(tmpl, path);
  std::vector<std::string> argv = {SNKV_TOOL_ENC_WORKER, tool_mode, path};
  if (tool_mode == "reencrypt") argv.push_back(old_pw);
  argv.push_back(new_pw);
  argv.push_back(journal);
  Child child(argv);
  ASSERT_TRUE(child.started());
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  if (plan.run_to_end) {
    EXPECT_TRUE(child.WaitFor("closed", deadline)) << child.text();
    int st = child.Wait();
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "status " << st;
  } else {
    if (!plan.after_line.empty()) {
      ASSERT_TRUE(child.WaitFor(plan.after_line, deadline))
          << "worker output: " << child.text();
    }
    if (plan.delay_ms > 0) {
      child.WaitFor("closed",
                    Clock::now() + std::chrono::milliseconds(plan.delay_ms));
    }
    child.Kill();
  }
  const bool said_done = child.Said("done");

  snkv::Options opts;
  opts.journal_mode = journal == "delete" ? snkv::JournalMode::kDelete
                                          : snkv::JournalMode::kWal;
  snkv::Store db;
  bool is_new = false;
  snkv::Status s;
  if (tool_mode == "encrypt") {
    // Check first without a password: a plain (old) store must not be
    // converted by our check.
    snkv::Store plain;
    snkv::Status ps = snkv::Store::Open(path, opts, &plain);
    if (ps.ok()) {
      EXPECT_FALSE(said_done) << "worker reported done, store is still plain";
      EXPECT_FALSE(plain.is_encrypted());
      EXPECT_TRUE(KillStoreIntact(plain)) << "old (plain) state";
      ++outcome->old_state;
      ASSERT_TRUE(plain.Close().ok());
      EXPECT_TRUE(RawAllSealed(path, false));
      return;
    }
    ASSERT_EQ(ps.code(), snkv::Code::kAuthFailed) << ps.ToString();
    s = snkv::Store::OpenEncrypted(path, snkv::Slice(new_pw), opts, &db);
    ASSERT_TRUE(s.ok()) << "neither plain nor encrypted: " << s.ToString();
    is_new = true;
  } else if ((s = snkv::Store::OpenEncrypted(path, snkv::Slice(new_pw), opts,
                                             &db))
                 .ok()) {
    is_new = true;
  } else {
    ASSERT_EQ(s.code(), snkv::Code::kAuthFailed) << s.ToString();
    EXPECT_FALSE(said_done) << "worker reported done, new password fails";
    s = snkv::Store::OpenEncrypted(path, snkv::Slice(old_pw), opts, &db);
    ASSERT_TRUE(s.ok()) << "neither password opens: " << s.ToString();
  }
  EXPECT_TRUE(db.is_encrypted());
  EXPECT_TRUE(KillStoreIntact(db)) << (is_new ? "new state" : "old state");
  ASSERT_TRUE(db.Close().ok());
  EXPECT_TRUE(RawAllSealed(path, true));
  if (is_new) {
    ++outcome->new_state;
  } else {
    ++outcome->old_state;
  }
}

void KillTest(const std::string& tool_mode, const std::string& journal) {
  TempDir dir;
  const std::string tmpl = dir.file("template.db");
  const std::string path = dir.file("victim.db");
  const std::string old_pw = "the old password";
  const std::string new_pw = "the NEW password";
  const int jm =
      journal == "delete" ? KVSTORE_JOURNAL_DELETE : KVSTORE_JOURNAL_WAL;
  if (tool_mode == "reencrypt") {
    ASSERT_NO_FATAL_FAILURE(MakeKillStore(tmpl, &old_pw, jm));
  } else {
    ASSERT_NO_FATAL_FAILURE(MakeKillStore(tmpl, nullptr, jm));
  }
  std::mt19937 rng(KillSeed());
  KillOutcome outcome;

  // Round 0 runs to the end and times the worker.
  const auto t0 = Clock::now();
  int opened_ms = 0;
  {
    CopyStore(tmpl, path);
    std::vector<std::string> argv = {SNKV_TOOL_ENC_WORKER, tool_mode, path};
    if (tool_mode == "reencrypt") argv.push_back(old_pw);
    argv.push_back(new_pw);
    argv.push_back(journal);
    Child child(argv);
    ASSERT_TRUE(child.started());
    if (tool_mode == "reencrypt") {
      ASSERT_TRUE(child.WaitFor("opened", t0 + std::chrono::seconds(60)))
          << child.text();
      opened_ms = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() -
                                                                t0)
              .count());
    }
    ASSERT_TRUE(child.WaitFor("done", t0 + std::chrono::seconds(60)))
        << child.text();
  }
  const int total_ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0)
          .count());
  std::printf("%s/%s: worker needs ~%d ms (open ~%d ms)\n", tool_mode.c_str(),
              journal.c_str(), total_ms, opened_ms);
  KillRound(tool_mode, tmpl, path, old_pw, new_pw, journal, {"", 0, true},
            &outcome);
  EXPECT_EQ(outcome.new_state, 1) << "a completed run must leave the new state";

  for (const KillPlan& plan :
       Plans(rng, total_ms, opened_ms, tool_mode == "reencrypt")) {
    SCOPED_TRACE("kill after " +
                 (plan.after_line.empty() ? std::string("start")
                                          : "'" + plan.after_line + "'") +
                 " + " + std::to_string(plan.delay_ms) + " ms");
    const int before_new = outcome.new_state;
    ASSERT_NO_FATAL_FAILURE(KillRound(tool_mode, tmpl, path, old_pw, new_pw,
                                      journal, plan, &outcome));
    if (plan.after_line == "done") {
      EXPECT_EQ(outcome.new_state, before_new + 1)
          << "killed after 'done': must be the new state";
    }
    if (plan.after_line.empty() && plan.delay_ms == 0) {
      EXPECT_EQ(outcome.new_state, before_new)
          << "killed at once: must be the old state";
    }
  }
  std::printf("%s/%s: %d rounds ended in the old state, %d in the new\n",
              tool_mode.c_str(), journal.c_str(), outcome.old_state,
              outcome.new_state);
}

TEST(EncryptionKill, ReencryptKilledLeavesOldOrNewStateWal) {
  KillTest("reencrypt", "wal");
}

TEST(EncryptionKill, ConversionKilledLeavesPlainOrEncryptedStateWal) {
  KillTest("encrypt", "wal");
}

TEST(EncryptionKill, ConversionKilledLeavesPlainOrEncryptedStateDelete) {
  KillTest("encrypt", "delete");
}

}  // namespace
