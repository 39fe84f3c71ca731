// libFuzzer target for snkv's page reader (issue 18; docs/design.md,
// "Fuzzing"). At start-up it writes small stores (page sizes 512, 4096 and
// 65536; each once fully checkpointed and once with a live WAL of later
// commits). Each input picks a store and a list of structure-aware
// mutations (cell counts, cell pointers, varints in cells, child
// pointers, overflow links, page types, database header fields, random
// bytes, whole pages, truncation, WAL frames forged with valid checksums),
// applies them (inputs of even length read WAL frames as large WALs are
// read, through the map of the -wal file; odd ones with xRead; a live
// WAL's salts are a hash of the input, so that any input replays alone),
// and then reads the damaged files twice: with plain SQLite (the oracle) and
// through snkv's public C API (gets, exists, full scans both ways, prefix
// scans, seeks, TTL lookups), and, with engine::TableCursor, a rowid table
// the stores also hold (`r`: small rows, rows on overflow chains, negative
// and huge rowids, and a run of consecutive rowids, looked up one after
// another both ways as a scan of values loaded in key order asks for
// them, so that the cursor's kept path is fuzzed). It aborts, so that
// libFuzzer keeps the input, whenever snkv answers differently from what
// SQLite allows:
//
//   - where SQLite reads a key's row, snkv returns the same value or an
//     error (never NOTFOUND, never other bytes);
//   - where SQLite finds no row, snkv says NOTFOUND or an error;
//   - where SQLite reports an error, snkv reports one;
//   - a scan returns SQLite's rows in SQLite's order, then either ends where
//     SQLite's ends or fails; it ends cleanly only if SQLite's did;
//   - a TableCursor lookup that answers (rather than falling back) gives
//     the bytes SQLite reads for that rowid, or "no row" where SQLite
//     finds none without error; and the cursor, which keeps its path from
//     lookup to lookup, answers exactly as a new cursor does.
//
// Rows with an expiry (a mutation can give a row one) may be missing from
// snkv's answers, which hide expired keys. Where SQLite's own scan is out
// of order (damage SQLite does not detect), only "every row snkv returns is
// one SQLite returns" is checked: SQLite's seeks then disagree with its
// scans, so no single answer is SQLite's.
#include <fuzzer/FuzzedDataProvider.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/index_cursor.h"
#include "engine/page_source.h"
#include "engine/table_cursor.h"
#include "engine/wal_snapshot.h"
#include "file_surgery.h"
#include "kvstore.h"

namespace {

namespace sg = snkv::test::surgery;
namespace fs = std::filesystem;

struct Base {
  uint32_t page_size = 0;
  std::string db;
  std::string wal;                // empty: no live WAL
  std::vector<std::string> keys;  // every key the store ever had
  // Every (key, value) ever written to the store, older versions too.
  std::multimap<std::string, std::string> versions;
  std::vector<int64_t> rowids;  // every rowid table r ever had
  int run = 0;  // r also has rowids kRunFirst .. kRunFirst + run - 1
};
constexpr int64_t kRunFirst = 5000000;
std::vector<Base> g_bases;
std::string g_dir;  // where the damaged copies are written
// SNKV_FUZZ_VERBOSE=1: print each mutation and keep the files (to see
// what an input does: run the target on it alone).
const bool g_verbose = std::getenv("SNKV_FUZZ_VERBOSE") != nullptr;

std::string Key(int i) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "key%06d", i);
  return buf;
}
std::string Value(int i, size_t n) {
  std::string v(n, static_cast<char>('a' + i % 26));
  for (size_t j = 0; j < n; j += 7) v[j] = static_cast<char>(i * 31 + j);
  return v;
}

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "page_reader_fuzzer: %s\n", what);
  std::abort();
}

// Adds rowid table r to the store at `path` (closed; its rows end up in
// the database file): n / 2 rows at rowids spread over the whole 64-bit
// range, most small, every seventh a few pages long.
void AddRowidTable(const std::string& path, uint32_t page_size, int n,
                   Base* b) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) Fail("open r");
  sqlite3_exec(db, "BEGIN; CREATE TABLE r(v BLOB NOT NULL)", nullptr, nullptr,
               nullptr);
  sqlite3_stmt* put = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO r(rowid, v) VALUES(?1, ?2)", -1, &put,
                     nullptr);
  for (int i = 0; i < n / 2; ++i) {
    // Negative, small and near-INT64_MAX rowids, out of insertion order.
    const int64_t rowid = i % 3 == 0   ? -int64_t{i} * 1000003
                          : i % 3 == 1 ? int64_t{i}
                                       : INT64_MAX - int64_t{i} * 977;
    // A few rows over overflow chains of several pages (kept few: the
    // stores are copied for every input).
    const std::string v =
        Value(i, i % 7 == 3 && i < 28 ? page_size * 3 + 11 : 10 + i % 90);
    sqlite3_bind_int64(put, 1, rowid);
    sqlite3_bind_blob(put, 2, v.data(), static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
    sqlite3_step(put);
    sqlite3_reset(put);
    b->rowids.push_back(rowid);
  }
  // The run of consecutive rowids, inserted in order (values loaded in
  // key order), an overflow chain now and then; on 512-byte pages long
  // enough for three levels, where a kept path's interior ranges matter.
  const int run = page_size == 512 ? 1200 : n;
  for (int i = 0; i < run; ++i) {
    const std::string v = Value(i, i % 61 == 17 ? page_size + 40 : 8 + i % 50);
    sqlite3_bind_int64(put, 1, kRunFirst + i);
    sqlite3_bind_blob(put, 2, v.data(), static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
    sqlite3_step(put);
    sqlite3_reset(put);
  }
  b->run = run;
  sqlite3_finalize(put);
  if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    Fail("commit r");
  }
  sqlite3_close(db);
}

// Writes a store through snkv, then (with_wal) more commits through plain
// SQLite with checkpoints off, and copies the files while they are open.
Base MakeBase(uint32_t page_size, bool with_wal) {
  Base b;
  b.page_size = page_size;
  const std::string path = g_dir + "/base.db";
  for (const char* s : {"", "-wal", "-shm"}) fs::remove(path + s);
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_OFF;
  cfg.pageSize = static_cast<int>(page_size);
  KVStore* kv = nullptr;
  if (kvstore_open_v2(path.c_str(), &kv, &cfg) != KVSTORE_OK) Fail("open");
  // Enough rows for two or three levels, and a few values on overflow
  // chains of several pages.
  const int n = page_size == 512 ? 120 : page_size == 4096 ? 300 : 900;
  kvstore_begin(kv, 1);
  for (int i = 0; i < n; ++i) {
    size_t size = 20 + static_cast<size_t>(i * 37 % 120);
    if (i % 40 == 7) size = page_size * 3 + 100;
    const std::string k = Key(i);
    const std::string v = Value(i, size);
    kvstore_put(kv, k.data(), static_cast<int>(k.size()), v.data(),
                static_cast<int>(v.size()));
    b.keys.push_back(k);
    b.versions.emplace(k, v);
  }
  if (kvstore_commit(kv) != KVSTORE_OK) Fail("commit");
  kvstore_close(kv);
  AddRowidTable(path, page_size, n, &b);
  if (with_wal) {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db, "PRAGMA wal_autocheckpoint = 0", nullptr, nullptr,
                 nullptr);
    sqlite3_stmt* put = nullptr;
    sqlite3_prepare_v2(db, "REPLACE INTO kv_0(k, v) VALUES(?1, ?2)", -1, &put,
                       nullptr);
    for (int round = 0; round < 3; ++round) {
      sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
      for (int i = round; i < n + 40; i += 5) {
        const std::string k = Key(i);
        const std::string v =
            Value(i + round, i % 50 == 3 ? page_size * 2 : 30 + i % 60);
        sqlite3_bind_blob(put, 1, k.data(), static_cast<int>(k.size()),
                          SQLITE_TRANSIENT);
        sqlite3_bind_blob(put, 2, v.data(), static_cast<int>(v.size()),
                          SQLITE_TRANSIENT);
        sqlite3_step(put);
        sqlite3_reset(put);
        b.versions.emplace(k, v);
        if (i >= n && round == 0) b.keys.push_back(k);
      }
      sqlite3_exec(db, "DELETE FROM kv_0 WHERE k LIKE 'key%3'", nullptr,
                   nullptr, nullptr);
      // The rowid table changes in the WAL too: rows rewritten (some
      // onto overflow chains), deleted, added.
      // Deterministic bytes, so that every process makes the same stores.
      const std::string r =
          "UPDATE r SET v = CAST(printf('%0*d', CASE WHEN rowid BETWEEN 0 AND "
          "30 THEN " +
          std::to_string(page_size * 2) + " ELSE 40 END, rowid + " +
          std::to_string(round) +
          ") AS BLOB) WHERE rowid % 3 = " + std::to_string(round) +
          "; DELETE FROM r WHERE rowid % 11 = " + std::to_string(round) +
          "; INSERT INTO r(rowid, v) VALUES(" +
          std::to_string(1000000 + round) + ", CAST(printf('%0*d', " +
          std::to_string(page_size + 50) + ", 7) AS BLOB));";
      sqlite3_exec(db, r.c_str(), nullptr, nullptr, nullptr);
      b.rowids.push_back(1000000 + round);
      sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    }
    sqlite3_finalize(put);
    b.db = sg::ReadFileBytes(path);
    b.wal = sg::ReadFileBytes(path + "-wal");
    sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    sqlite3_close(db);
    if (b.wal.empty()) Fail("no WAL");
  } else {
    b.db = sg::ReadFileBytes(path);
  }
  return b;
}

// ---- Mutations --------------------------------------------------------

// A value of the kind that breaks readers: boundaries, powers of two,
// near-wrap numbers, or anything.
uint64_t Nasty(FuzzedDataProvider& in, uint32_t page_size) {
  static const uint64_t kValues[] = {0,
                                     1,
                                     2,
                                     12,
                                     13,
                                     127,
                                     128,
                                     255,
                                     480,
                                     0x7fff,
                                     0xffff,
                                     0x10000,
                                     0x7fffffff,
                                     0xffffffff,
                                     uint64_t{1} << 32,
                                     uint64_t{1} << 40,
                                     (uint64_t{1} << 41) + 12,
                                     uint64_t{1} << 63,
                                     ~uint64_t{0},
                                     ~uint64_t{0} - (uint64_t{1} << 40) + 16};
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      return kValues[in.ConsumeIntegralInRange<size_t>(
          0, sizeof kValues / sizeof kValues[0] - 1)];
    case 1:
      return page_size + in.ConsumeIntegralInRange<int64_t>(-40, 40);
    case 2:
      return in.ConsumeIntegralInRange<uint64_t>(0, 300);
    default:
      return in.ConsumeIntegral<uint64_t>();
  }
}

// One page image to damage: in the database file or in a WAL frame.
struct Target {
  std::string* image = nullptr;
  size_t base = 0;
  uint32_t pgno = 0;
};

Target PickTarget(FuzzedDataProvider& in, const Base& b, std::string* db,
                  std::string* wal) {
  const uint32_t ps = b.page_size;
  Target t;
  const size_t frames = sg::WalFrames(*wal);
  if (frames > 0 && in.ConsumeBool()) {
    const size_t f = in.ConsumeIntegralInRange<size_t>(0, frames - 1);
    t.image = wal;
    t.base = sg::FrameOffset(ps, f) + sg::kFrameHeader;
    t.pgno = sg::Get32(*wal, sg::FrameOffset(ps, f));
    return t;
  }
  const size_t pages = db->size() / ps;
  if (pages == 0) return t;
  t.image = db;
  t.pgno = in.ConsumeIntegralInRange<uint32_t>(1, static_cast<uint32_t>(pages));
  t.base = size_t{t.pgno - 1} * ps;
  return t;
}

void Mutate(FuzzedDataProvider& in, const Base& b, std::string* db,
            std::string* wal) {
  const uint32_t ps = b.page_size;
  const int op = in.ConsumeIntegralInRange<int>(0, 12);
  if (g_verbose) std::fprintf(stderr, "mutation %d\n", op);
  if (op == 10) {  // truncate the database file or the WAL
    std::string* f = in.ConsumeBool() || wal->empty() ? db : wal;
    const size_t n = in.ConsumeBool()
                         ? in.ConsumeIntegralInRange<size_t>(0, f->size())
                         : f->size() / ps * ps / 2;
    f->resize(n);
    return;
  }
  if (op == 11) {  // forge a WAL frame: a page image as a new commit
    if (wal->empty()) {
      wal->assign(sg::kWalHeader, '\0');
      sg::Put32(wal, 0, 0x377f0682);
      sg::Put32(wal, 4, 3007000);
      sg::Put32(wal, 8, ps == 65536 ? 1 : ps);
      sg::Put32(wal, 16, in.ConsumeIntegral<uint32_t>());
      sg::Put32(wal, 20, in.ConsumeIntegral<uint32_t>());
    }
    const uint32_t pages = static_cast<uint32_t>(db->size() / ps);
    const uint32_t pgno = in.ConsumeIntegralInRange<uint32_t>(1, pages + 2);
    std::string page = pgno <= pages ? db->substr(size_t{pgno - 1} * ps, ps)
                                     : std::string(ps, '\0');
    for (int k = in.ConsumeIntegralInRange<int>(0, 4); k > 0; --k) {
      page[in.ConsumeIntegralInRange<size_t>(0, ps - 1)] =
          static_cast<char>(in.ConsumeIntegral<uint8_t>());
    }
    const uint32_t commit = in.ConsumeBool()
                                ? std::max(pages, pgno)
                                : static_cast<uint32_t>(Nasty(in, ps));
    sg::AppendFrame(wal, pgno, page, commit);
    return;
  }
  Target t = PickTarget(in, b, db, wal);
  if (t.image == nullptr) return;
  if (g_verbose) {
    std::fprintf(stderr, "  page %u in the %s\n", t.pgno,
                 t.image == db ? "database" : "WAL");
  }
  std::string& img = *t.image;
  const sg::Page p = sg::ReadPage(img, t.base, t.pgno);
  const uint32_t cell = p.cells == 0 ? 0
                                     : in.ConsumeIntegralInRange<uint32_t>(
                                           0, std::min(p.cells, 4000u) - 1);
  switch (op) {
    case 0:  // cell count
      sg::Put16(&img, t.base + p.header + 3,
                in.ConsumeBool()
                    ? static_cast<uint32_t>(Nasty(in, ps))
                    : p.cells + in.ConsumeIntegralInRange<int>(-2, 2));
      break;
    case 1:  // a cell pointer
      sg::Put16(&img, p.pointer_at(cell),
                in.ConsumeBool() ? static_cast<uint32_t>(Nasty(in, ps))
                                 : sg::Get16(img, p.pointer_at(cell)) +
                                       in.ConsumeIntegralInRange<int>(-8, 8));
      break;
    case 2: {  // a varint in a cell: payload size, header size, serial type
      size_t at = p.cell_at(img, cell) + (p.leaf() ? 0 : 4);
      for (int skip = in.ConsumeIntegralInRange<int>(0, 3); skip > 0; --skip) {
        uint64_t v = 0;
        const size_t n = sg::ReadVarint(img, at, &v);
        if (n == 0) break;
        at += n;
      }
      sg::PutBytes(&img, at, sg::Varint(Nasty(in, ps)));
      break;
    }
    case 3:  // a child pointer
      if (!p.leaf()) {
        const size_t at =
            in.ConsumeBool() ? p.right_child_at() : p.cell_at(img, cell);
        const uint32_t pages = static_cast<uint32_t>(db->size() / ps);
        sg::Put32(&img, at,
                  in.ConsumeBool()
                      ? in.ConsumeIntegralInRange<uint32_t>(0, pages + 2)
                      : static_cast<uint32_t>(Nasty(in, ps)));
      }
      break;
    case 4:  // an overflow link: a page's first 4 bytes, or a cell's end
      if (in.ConsumeBool()) {
        sg::Put32(&img, t.base, static_cast<uint32_t>(Nasty(in, ps)));
      } else {
        size_t at = p.cell_at(img, cell) + (p.leaf() ? 0 : 4);
        uint64_t payload = 0;
        at += sg::ReadVarint(img, at, &payload);
        if (payload > sg::MaxLocalPayload(ps)) {
          sg::Put32(&img, at + sg::LocalPayload(ps, payload),
                    static_cast<uint32_t>(Nasty(in, ps)));
        }
      }
      break;
    case 5: {  // page type
      static const uint8_t kTypes[] = {0x02, 0x05, 0x0a, 0x0d, 0x00, 0xff};
      if (t.base + p.header < img.size()) {
        img[t.base + p.header] = static_cast<char>(
            in.ConsumeBool() ? kTypes[in.ConsumeIntegralInRange<int>(0, 5)]
                             : in.ConsumeIntegral<uint8_t>());
      }
      break;
    }
    case 6: {  // a database header field
      static const size_t kFields[] = {16, 18, 19, 20, 21, 24, 28, 32,
                                       36, 40, 44, 52, 56, 92, 96};
      const size_t at = kFields[in.ConsumeIntegralInRange<size_t>(0, 14)];
      const uint32_t v = static_cast<uint32_t>(Nasty(in, ps));
      if (in.ConsumeBool()) {
        sg::Put32(db, at, v);
      } else if (at < db->size()) {
        (*db)[at] = static_cast<char>(v);
      }
      break;
    }
    case 7:  // random bytes of the page
      for (int k = in.ConsumeIntegralInRange<int>(1, 8); k > 0; --k) {
        const size_t at = t.base + in.ConsumeIntegralInRange<size_t>(0, ps - 1);
        if (at < img.size()) {
          img[at] = static_cast<char>(in.ConsumeIntegral<uint8_t>());
        }
      }
      break;
    case 8:  // swap two cell pointers
      if (p.cells >= 2) {
        const uint32_t other = in.ConsumeIntegralInRange<uint32_t>(
            0, std::min(p.cells, 4000u) - 1);
        const uint32_t a = sg::Get16(img, p.pointer_at(cell));
        sg::Put16(&img, p.pointer_at(cell),
                  sg::Get16(img, p.pointer_at(other)));
        sg::Put16(&img, p.pointer_at(other), a);
      }
      break;
    case 9: {  // another page's image over this one
      const size_t pages = db->size() / ps;
      if (pages > 0 && t.base + ps <= img.size()) {
        const size_t from = in.ConsumeIntegralInRange<size_t>(0, pages - 1);
        const std::string copy = db->substr(from * ps, ps);
        img.replace(t.base, ps, copy);
      }
      break;
    }
    default: {  // the record body: a key byte (keys out of order)
      size_t at = p.cell_at(img, cell) + (p.leaf() ? 0 : 4);
      uint64_t v = 0;
      at += sg::ReadVarint(img, at, &v);
      const size_t hdr = sg::ReadVarint(img, at, &v);
      if (hdr != 0 && v < 64) {
        const size_t k = at + v + in.ConsumeIntegralInRange<size_t>(0, 10);
        if (k < img.size())
          img[k] = static_cast<char>(in.ConsumeIntegral<uint8_t>());
      }
      break;
    }
  }
}

// ---- The comparison -----------------------------------------------------

bool IsError(int rc) { return rc != KVSTORE_OK && rc != KVSTORE_NOTFOUND; }

struct Row {
  std::string k;
  std::string v;
};
struct ScanResult {
  std::vector<Row> rows;
  int rc = KVSTORE_OK;  // the failure that ended it, or OK at its end
};

// Reads up to `limit` rows from a positioned iterator (positioning rc in
// `rc`), moving with next or prev.
ScanResult Drain(KVIterator* it, int rc, bool backwards, size_t limit) {
  ScanResult r;
  r.rc = rc;
  while (r.rc == KVSTORE_OK && !kvstore_iterator_eof(it) &&
         r.rows.size() < limit) {
    void* k = nullptr;
    void* v = nullptr;
    int nk = 0;
    int nv = 0;
    r.rc = kvstore_iterator_key(it, &k, &nk);
    if (r.rc == KVSTORE_OK) r.rc = kvstore_iterator_value(it, &v, &nv);
    if (r.rc != KVSTORE_OK) break;
    r.rows.push_back(
        {std::string(static_cast<char*>(k), static_cast<size_t>(nk)),
         std::string(static_cast<char*>(v), static_cast<size_t>(nv))});
    r.rc = backwards ? kvstore_iterator_prev(it) : kvstore_iterator_next(it);
  }
  return r;
}

void Report(const char* what, const std::string& key) {
  std::string shown;
  for (unsigned char c : key.substr(0, 40)) {
    char buf[8];
    std::snprintf(buf, sizeof buf, c >= 32 && c < 127 ? "%c" : "\\x%02x", c);
    shown += buf;
  }
  std::fprintf(stderr, "disagreement: %s (key '%s')\n", what, shown.c_str());
  Fail("snkv and SQLite disagree");
}

// The columns SQLite is asked for: all three (as snkv's gets and most of
// its scans read them), or only k and v (as its scans of a family without
// expiries do once they run in batches). The answers differ on a record
// whose header does not account for the whole payload: SQLite calls it
// malformed only when it reads the header to its end. Either is SQLite's.
//
// On a store with a values table (src/kv/schema.h, "Out-of-line values")
// v may be a reference; SQLite is then asked for the value it points to,
// as snkv's own SQL resolves it (a dangling one reads as NULL, where snkv
// reports an error: allowed wherever SQLite reads a row).
#define SNKV_FUZZ_RESOLVED_V                                      \
  "CASE typeof(v) WHEN 'integer' THEN (SELECT v FROM kv_0_values" \
  " WHERE id = kv_0.v) ELSE v END"
constexpr const char* kPlainColumns[] = {"k, v, expires", "k, v, NULL"};
constexpr const char* kResolvedColumns[] = {
    "k, " SNKV_FUZZ_RESOLVED_V ", expires",
    "k, " SNKV_FUZZ_RESOLVED_V ", NULL"};
// The pair for the store of the current input (RunOne sets it).
const char* const* g_columns = kPlainColumns;

// A range query as snkv's scans ask it: rows in order (backwards: in
// reverse), after `after` if given, carrying `prefix`, at most `limit`.
struct Range {
  bool backwards = false;
  const std::string* from = nullptr;  // the positioning bound, if any
  std::string prefix;
  size_t limit = SIZE_MAX;
};

sg::SqliteAnswer AskRange(sqlite3* oracle, const char* columns,
                          const Range& range, const std::string* after) {
  std::string sql = std::string("SELECT ") + columns + " FROM kv_0";
  const std::string* key = after != nullptr ? after : range.from;
  if (after != nullptr) {
    sql += range.backwards ? " WHERE k < ?1" : " WHERE k > ?1";
  } else if (range.from != nullptr) {
    sql += range.backwards ? " WHERE k <= ?1" : " WHERE k >= ?1";
  }
  sql += range.backwards ? " ORDER BY k DESC" : " ORDER BY k";
  sg::SqliteAnswer a = sg::AskSqlite(oracle, sql, key, range.limit);
  // A prefix scan: the rows that carry the prefix, up to the first that
  // does not.
  if (!range.prefix.empty()) {
    for (size_t i = 0; i < a.rows.size(); ++i) {
      if (a.rows[i].k.compare(0, range.prefix.size(), range.prefix) != 0) {
        a.rows.resize(i);
        a.rc = SQLITE_DONE;
        break;
      }
    }
  }
  return a;
}

// Why `got` is not an answer SQLite allows for `range` (reading
// `columns`); nullptr if it is. `ordered`: SQLite's scans returned their
// rows in strict order (else no single answer per range exists, and only
// membership is checked).
//
// snkv's scans read in batches, each a new statement that goes on after
// the last row collected (k > last). Where a damaged cell compares below
// its neighbours, SQLite's own answer to that statement skips it, while
// one statement scanning past it fails. So where SQLite's scan fails and
// snkv's goes on, snkv's rows must be SQLite's answer to "after the last
// row before the failure", and so on.
// Whether SQLite has the row r: among the rows its answers listed, or
// what it reads for r's key (a scan that failed part-way did not list
// every row).
bool SqliteHasRow(sqlite3* oracle, std::multimap<std::string, std::string>& all,
                  const Row& r) {
  auto [lo, hi] = all.equal_range(r.k);
  for (auto i = lo; i != hi; ++i) {
    if (i->second == r.v) return true;
  }
  for (const char* columns : {g_columns[0], g_columns[1]}) {
    const sg::SqliteAnswer a = sg::AskSqlite(
        oracle, std::string("SELECT ") + columns + " FROM kv_0 WHERE k = ?1",
        &r.k);
    for (const sg::SqliteRow& row : a.rows) {
      all.emplace(row.k, row.v);
      if (row.k == r.k && row.v == r.v) return true;
    }
  }
  return false;
}

// Why not every row of `got` is one SQLite reads (nullptr if each is).
const char* Members(const ScanResult& got, sqlite3* oracle,
                    std::multimap<std::string, std::string>& all) {
  for (const Row& r : got.rows) {
    if (!SqliteHasRow(oracle, all, r)) {
      if (g_verbose) {
        std::fprintf(stderr, "no such row in SQLite: '%s'\n", r.k.c_str());
      }
      return "a row SQLite does not have";
    }
  }
  return nullptr;
}

// Whether a version of r's key with r's value was written to the store
// (`versions`).
bool Written(const Row& r,
             const std::multimap<std::string, std::string>& versions) {
  auto [lo, hi] = versions.equal_range(r.k);
  for (auto i = lo; i != hi; ++i) {
    if (i->second == r.v) return true;
  }
  return false;
}

// On a damaged store, whether each row of `got` is one SQLite reads for
// its key (on the oracle's connection or on a fresh one, whose cache holds
// nothing a failed scan left behind) or a version of the key that was
// written: what holds whichever path SQLite takes. Never bytes that were
// neither.
bool PlausibleOnDamage(const ScanResult& got, sqlite3* oracle,
                       const std::string& oracle_path,
                       const std::multimap<std::string, std::string>& versions,
                       std::multimap<std::string, std::string>& all) {
  sqlite3* fresh = nullptr;
  bool ok = true;
  for (const Row& r : got.rows) {
    if (SqliteHasRow(oracle, all, r) || Written(r, versions)) continue;
    if (fresh == nullptr) fresh = sg::OpenOracle(oracle_path);
    if (SqliteHasRow(fresh, all, r)) continue;
    std::fprintf(stderr, "neither SQLite's nor written: '%s' (%zu bytes)\n",
                 r.k.c_str(), r.v.size());
    ok = false;
    break;
  }
  sqlite3_close_v2(fresh);
  return ok;
}

// Whether the scan's keys move strictly in its direction.
bool StrictlyOrdered(const ScanResult& got, bool backwards) {
  for (size_t i = 1; i < got.rows.size(); ++i) {
    const std::string& prev = got.rows[i - 1].k;
    const std::string& cur = got.rows[i].k;
    if (backwards ? !(cur < prev) : !(prev < cur)) return false;
  }
  return true;
}

// Whether SQLite's integrity_check finds the store damaged. Where it does,
// SQLite has no single answer to a range query: a scan walks the pages
// sideways while a seek descends from the root, and the two meet different
// trees (a child pointer to another table's page, a cell that one check
// catches and the other never reads). Its answer can even change with what
// its own cache already holds: a scan that stopped at a bad cell makes a
// later seek past it fail, where the same seek on a fresh connection
// succeeds. snkv's scans re-seek after every batch, so they follow the
// seeks. The fuzzer found all three (tests/fuzz/regressions/).
bool StoreDamaged(const std::string& path) {
  const sg::SqliteAnswer a = sg::AskSqlite(
      path, "SELECT integrity_check, '', NULL FROM pragma_integrity_check");
  return !(a.rc == SQLITE_DONE && a.rows.size() == 1 && a.rows[0].k == "ok");
}

const char* ScanMismatch(const ScanResult& got, sqlite3* oracle,
                         const char* columns, const Range& range, bool ordered,
                         std::multimap<std::string, std::string>& all) {
  // Without a single answer (SQLite's scans out of order, or rows with an
  // expiry snkv may hide): every row snkv returns is one SQLite has.
  auto members = [&]() -> const char* { return Members(got, oracle, all); };
  if (!ordered) return members();
  sg::SqliteAnswer want = AskRange(oracle, columns, range, nullptr);
  size_t at = 0;  // got.rows[at] is want.rows[0]
  for (int reseeks = 0;; ++reseeks) {
    for (const sg::SqliteRow& r : want.rows) {
      if (r.has_expiry) return members();
    }
    const size_t n = std::min(got.rows.size() - at, want.rows.size());
    for (size_t i = 0; i < n; ++i) {
      if (got.rows[at + i].k != want.rows[i].k ||
          got.rows[at + i].v != want.rows[i].v) {
        return "another row than SQLite's";
      }
    }
    if (got.rows.size() - at < want.rows.size() ||
        (got.rows.size() - at == want.rows.size() &&
         (IsError(got.rc) || want.rc == SQLITE_DONE))) {
      if (IsError(got.rc)) return nullptr;  // an error: always allowed
      // Ended cleanly: only where SQLite's did, with all its rows.
      if (want.rc != SQLITE_DONE) return "no error where SQLite has one";
      if (got.rows.size() - at != want.rows.size()) return "rows missing";
      return nullptr;
    }
    // snkv has rows past SQLite's answer, or ended cleanly where SQLite
    // failed: its next batch's statement must have said so.
    if (want.rc == SQLITE_DONE) return "rows past SQLite's";
    if (want.rows.empty() || reseeks == 16) {
      return "no error where SQLite has one";
    }
    at += want.rows.size();
    const std::string last = got.rows[at - 1].k;
    Range rest = range;
    if (rest.limit != SIZE_MAX) rest.limit -= at;
    want = AskRange(oracle, columns, rest, &last);
  }
}

// `damaged`: SQLite's integrity_check verdict on the store, asked the
// first time a scan does not give one of SQLite's answers (then cached).
void CheckScan(const ScanResult& got, sqlite3* oracle,
               const std::string& oracle_path,
               const std::multimap<std::string, std::string>& versions,
               const Range& range, bool ordered,
               std::multimap<std::string, std::string>& all, int* damaged,
               const char* what) {
  // Moves promise strictly larger (or smaller) keys, damaged store or
  // not: where SQLite's own scans are out of order, snkv's end in an error.
  if (!StrictlyOrdered(got, range.backwards)) {
    Report(what, "keys out of order");
  }
  const char* first =
      ScanMismatch(got, oracle, g_columns[0], range, ordered, all);
  const char* second =
      first == nullptr
          ? nullptr
          : ScanMismatch(got, oracle, g_columns[1], range, ordered, all);
  // On a damaged store, only what holds whatever path SQLite takes: every
  // row is SQLite's, in order (checked above).
  if (second != nullptr) {
    if (*damaged < 0) *damaged = StoreDamaged(oracle_path) ? 1 : 0;
    if (*damaged == 1 &&
        PlausibleOnDamage(got, oracle, oracle_path, versions, all)) {
      second = nullptr;
    }
  }
  if (g_verbose || second != nullptr) {
    std::fprintf(stderr, "%s: snkv %zu rows rc %d%s%s\n", what, got.rows.size(),
                 got.rc, ordered ? "" : " (out of order)",
                 *damaged == 1   ? " (damaged)"
                 : *damaged == 0 ? " (integrity_check ok)"
                                 : "");
  }
  if (second != nullptr) {
    Report(what, std::string(first) + " / " + second);
  }
}

// Looks up rowids of table r with engine::TableCursor, on a connection of
// its own to the oracle's copy, and compares each answer with what SQLite
// reads in the same read transaction.
void CheckRowidTable(const std::string& path, const std::vector<int64_t>& ids) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close_v2(db);
    return;
  }
  sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  // A damaged schema, header or WAL may stop SQLite before any row: then
  // there is nothing to compare with.
  const sg::SqliteAnswer root =
      sg::AskSqlite(db,
                    "SELECT rootpage, '', NULL FROM sqlite_schema"
                    " WHERE name = 'r'");
  sqlite3_stmt* get = nullptr;
  int64_t page_size = 0;
  if (root.rc == SQLITE_DONE && root.rows.size() == 1 &&
      sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) == SQLITE_OK &&
      sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &get, nullptr) ==
          SQLITE_OK &&
      sqlite3_step(get) == SQLITE_ROW) {
    page_size = sqlite3_column_int64(get, 0);  // also takes the snapshot
  }
  sqlite3_finalize(get);
  get = nullptr;
  const int64_t root_page =
      page_size > 0 ? std::atoll(root.rows[0].k.c_str()) : 0;
  snkv::engine::WalWatch watch;
  snkv::engine::PageSource source;
  if (root_page > 0 && root_page <= UINT32_MAX && watch.Attach(db) &&
      source.Attach(db, static_cast<uint32_t>(page_size)) &&
      sqlite3_prepare_v2(db, "SELECT v FROM r WHERE rowid = ?1", -1, &get,
                         nullptr) == SQLITE_OK) {
    const snkv::engine::PageSnapshot snap =
        source.Describe(watch.Read(), watch.Backfilled());
    const auto root32 = static_cast<uint32_t>(root_page);
    snkv::engine::TableCursor cursor(source, snap, root32);
    std::string buf;
    // A lookup's answer and, when it is kOk, the value.
    auto find = [&buf](snkv::engine::TableCursor* c, int64_t rowid,
                       std::string* got) {
      snkv::engine::CursorResult r = c->Find(rowid);
      if (r == snkv::engine::CursorResult::kOk) {
        snkv::Slice record;
        snkv::engine::RecordField f;
        r = c->Record(&buf, &record);
        if (r == snkv::engine::CursorResult::kOk &&
            (!snkv::engine::DecodeRecord(record, &f, 1) ||
             !snkv::engine::format::IsBlob(f.serial))) {
          r = snkv::engine::CursorResult::kFallback;  // as callers do
        }
        if (r == snkv::engine::CursorResult::kOk)
          got->assign(f.bytes.ToString());
      }
      return r;
    };
    for (size_t i = 0; snap.usable() && i < ids.size(); ++i) {
      const int64_t rowid = ids[i];
      std::string got;
      snkv::engine::CursorResult r = find(&cursor, rowid, &got);
      // The kept path answers as a search from the root.
      snkv::engine::TableCursor fresh(source, snap, root32);
      std::string fresh_got;
      if (find(&fresh, rowid, &fresh_got) != r || fresh_got != got) {
        Report("TableCursor's kept path disagrees with a new cursor",
               std::to_string(rowid));
      }
      // Most lookups end the read (the path's page pointers go stale and
      // are fetched again), some run on in the same one.
      if (i % 4 != 3) source.EndRead();
      if (r == snkv::engine::CursorResult::kFallback) {
        if (g_verbose) {
          std::fprintf(stderr, "rowid %lld: cursor falls back\n",
                       static_cast<long long>(rowid));
        }
        continue;
      }
      sqlite3_bind_int64(get, 1, rowid);
      const int rc = sqlite3_step(get);
      std::string want;
      if (rc == SQLITE_ROW) {
        const auto* v = static_cast<const char*>(sqlite3_column_blob(get, 0));
        want.assign(v ? v : "",
                    static_cast<size_t>(sqlite3_column_bytes(get, 0)));
      }
      sqlite3_reset(get);
      if (g_verbose) {
        std::fprintf(stderr, "rowid %lld: cursor %s, SQLite rc %d\n",
                     static_cast<long long>(rowid),
                     r == snkv::engine::CursorResult::kOk ? "row" : "no row",
                     rc);
      }
      if (r == snkv::engine::CursorResult::kOk ? rc != SQLITE_ROW || got != want
                                               : rc != SQLITE_DONE) {
        Report("TableCursor disagrees with SQLite", std::to_string(rowid));
      }
    }
  }
  sqlite3_finalize(get);
  source.Detach();
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close_v2(db);
}

// FNV-1a of the whole input: a value fixed per input that consumes none
// of its bytes (so no byte of an existing input changes meaning).
uint64_t HashOfInput(const uint8_t* data, size_t size) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < size; ++i) {
    h = (h ^ data[i]) * 0x100000001b3ULL;
  }
  return h;
}

// Gives a live WAL the salts `salts` (header and every frame) and checksums
// valid under them. SQLite chose the base WAL's salts at random when the
// fuzzer started, so without this an input whose damage depends on them
// (bytes written over a frame header, a frame forged from the header)
// found a disagreement only in the process that found it: now it replays
// from the input file alone.
void SetWalSalts(std::string* wal, uint64_t salts) {
  if (wal->empty()) return;
  sg::Put32(wal, 16, static_cast<uint32_t>(salts));
  sg::Put32(wal, 20, static_cast<uint32_t>(salts >> 32));
  sg::FixWalChecksums(wal);
}

void RunOne(FuzzedDataProvider& in, uint64_t input_hash) {
  const Base& b =
      g_bases[in.ConsumeIntegralInRange<size_t>(0, g_bases.size() - 1)];
  std::string db = b.db;
  std::string wal = b.wal;
  SetWalSalts(&wal, input_hash);
  if (g_verbose && !wal.empty()) {
    std::fprintf(stderr, "WAL salts %08x %08x\n", sg::Get32(wal, 16),
                 sg::Get32(wal, 20));
  }
  const int mutations = in.ConsumeIntegralInRange<int>(1, 6);
  for (int i = 0; i < mutations && in.remaining_bytes() > 0; ++i) {
    Mutate(in, b, &db, &wal);
  }
  // Usually a WAL SQLite accepts whole; sometimes one whose checksums
  // stop somewhere (recovery then drops the rest).
  if (!wal.empty() && in.ConsumeIntegralInRange<int>(0, 9) != 0) {
    sg::FixWalChecksums(&wal);
  }
  // Keys to look up: a spread of the store's, plus ones that are not.
  std::vector<std::string> keys;
  const size_t step = std::max<size_t>(1, b.keys.size() / 24);
  for (size_t i = in.ConsumeIntegralInRange<size_t>(0, step - 1);
       i < b.keys.size(); i += step) {
    keys.push_back(b.keys[i]);
  }
  keys.push_back("");
  keys.push_back("key");
  keys.push_back(b.keys[b.keys.size() / 2] + "x");
  keys.push_back("\xff\xff");
  const std::string prefix = b.keys[b.keys.size() / 3].substr(0, 7);
  const std::string seek = in.ConsumeRandomLengthString(12);
  // Rowids of r to look up: a spread of those it had, and some it never
  // had (beside them and at the ends of the range).
  std::vector<int64_t> rowids;
  const size_t rstep = std::max<size_t>(1, b.rowids.size() / 16);
  for (size_t i = in.ConsumeIntegralInRange<size_t>(0, rstep - 1);
       i < b.rowids.size(); i += rstep) {
    rowids.push_back(b.rowids[i]);
    rowids.push_back(b.rowids[i] + 1);
  }
  rowids.push_back(INT64_MIN);
  rowids.push_back(0);
  rowids.push_back(INT64_MAX);
  // A stretch of the run, up and then back down, starting a little before
  // it or inside it (from the input's hash: no input byte changes meaning).
  const int64_t from =
      kRunFirst - 3 + static_cast<int64_t>(input_hash % (b.run + 3));
  for (int64_t i = 0; i < 48; ++i) rowids.push_back(from + i);
  for (int64_t i = 47; i >= 0; --i) rowids.push_back(from + i);

  // Two copies: SQLite must not see snkv's changes (an expiry it deletes)
  // and snkv must not see SQLite's -shm.
  const std::string oracle_path = g_dir + "/oracle.db";
  const std::string snkv_path = g_dir + "/snkv.db";
  for (const std::string& p : {oracle_path, snkv_path}) {
    for (const char* s : {"", "-wal", "-shm"}) fs::remove(p + s);
    sg::WriteFileBytes(p, db);
    if (!wal.empty()) sg::WriteFileBytes(p + "-wal", wal);
  }

  CheckRowidTable(oracle_path, rowids);

  // What SQLite reads.
  sqlite3* oracle = sg::OpenOracle(oracle_path);
  // Damage that drops the table from the schema leaves snkv nothing to
  // read from pages: its SQL then says the family has no such key
  // (NOTFOUND), where SQLite says "no such table".
  const sg::SqliteAnswer table = sg::AskSqlite(
      oracle, "SELECT name, '', NULL FROM sqlite_schema WHERE name = 'kv_0'");
  if (table.rc == SQLITE_DONE && table.rows.empty()) {
    sqlite3_close_v2(oracle);
    return;
  }
  const sg::SqliteAnswer values_table = sg::AskSqlite(
      oracle,
      "SELECT name, '', NULL FROM sqlite_schema WHERE name = 'kv_0_values'");
  g_columns = values_table.rc == SQLITE_DONE && !values_table.rows.empty()
                  ? kResolvedColumns
                  : kPlainColumns;
  // Exists and TTL lookups read the row but never its value: their answers
  // are SQLite's without resolving references.
  std::vector<sg::SqliteAnswer> lookups;
  for (const std::string& k : keys) {
    lookups.push_back(sg::AskSqlite(
        oracle,
        std::string("SELECT ") + kPlainColumns[0] + " FROM kv_0 WHERE k = ?1",
        &k));
  }
  std::vector<sg::SqliteAnswer> gets;
  for (const std::string& k : keys) {
    gets.push_back(sg::AskSqlite(
        oracle,
        std::string("SELECT ") + g_columns[0] + " FROM kv_0 WHERE k = ?1", &k));
  }
  Range forward_range;
  Range backward_range;
  backward_range.backwards = true;
  Range seek_range{false, &seek, "", 10};
  Range seek_back_range{true, &seek, "", 10};
  Range prefix_range{false, &prefix, prefix, SIZE_MAX};
  // Whether SQLite's scans, as far as they went, were in strict order, and
  // every row SQLite returned to any of them.
  bool ordered = true;
  std::multimap<std::string, std::string> all;
  for (const Range* r : {&forward_range, &backward_range, &seek_range,
                         &seek_back_range, &prefix_range}) {
    for (const char* columns : {g_columns[0], g_columns[1]}) {
      const sg::SqliteAnswer a = AskRange(oracle, columns, *r, nullptr);
      for (size_t i = 0; i < a.rows.size(); ++i) {
        all.emplace(a.rows[i].k, a.rows[i].v);
        if (i > 0 && r->from == nullptr) {
          const std::string& prev = a.rows[i - 1].k;
          const std::string& cur = a.rows[i].k;
          if (r->backwards ? !(cur < prev) : !(prev < cur)) ordered = false;
        }
      }
    }
  }
  // Rows SQLite returned to the gets are rows too.
  for (const sg::SqliteAnswer& a : gets) {
    for (const sg::SqliteRow& r : a.rows) all.emplace(r.k, r.v);
  }

  // What snkv reads.
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_OFF;
  KVStore* kv = nullptr;
  if (kvstore_open_v2(snkv_path.c_str(), &kv, &cfg) != KVSTORE_OK) {
    sqlite3_close_v2(oracle);
    return;  // an error: allowed whatever SQLite says
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string& k = keys[i];
    const sg::SqliteAnswer& want = gets[i];
    // SQLite's row for this key, if it read one (on out-of-order cells it
    // can land on another key's row; snkv need not copy that).
    const sg::SqliteRow* row =
        want.rc == SQLITE_DONE && want.rows.size() == 1 && want.rows[0].k == k
            ? &want.rows[0]
            : nullptr;
    const bool misread =
        want.rc == SQLITE_DONE && want.rows.size() == 1 && row == nullptr;
    const sg::SqliteAnswer& lw = lookups[i];
    const sg::SqliteRow* lrow =
        lw.rc == SQLITE_DONE && lw.rows.size() == 1 && lw.rows[0].k == k
            ? &lw.rows[0]
            : nullptr;
    // Three reads: the later ones come from the pages once the handle
    // holds its snapshot.
    for (int r = 0; r < 3; ++r) {
      void* v = nullptr;
      int nv = 0;
      const int rc =
          kvstore_get(kv, k.data(), static_cast<int>(k.size()), &v, &nv);
      std::string got;
      if (rc == KVSTORE_OK) {
        got.assign(static_cast<char*>(v), static_cast<size_t>(nv));
        snkv_free(v);
      }
      if (rc == KVSTORE_OK) {
        if (row != nullptr ? got != row->v
                           : !(misread && got == want.rows[0].v)) {
          Report("get returned other data", k);
        }
      } else if (rc == KVSTORE_NOTFOUND) {
        if (g_verbose) std::fprintf(stderr, "SQLite rc %d\n", want.rc);
        if (row != nullptr && !row->has_expiry) {
          Report("get: NOTFOUND for a row SQLite reads", k);
        }
        if (want.rc != SQLITE_DONE) {
          Report("get: NOTFOUND where SQLite reports an error", k);
        }
      }
      int exists = 0;
      const int erc =
          kvstore_exists(kv, k.data(), static_cast<int>(k.size()), &exists);
      if (erc == KVSTORE_OK) {
        if (lw.rc != SQLITE_DONE) {
          Report("exists: an answer where SQLite reports an error", k);
        }
        if (lrow != nullptr && !lrow->has_expiry && !exists) {
          Report("exists: 0 for a row SQLite reads", k);
        }
        if (lw.rows.empty() && exists) Report("exists: 1 for no row", k);
      }
      // A TTL lookup reads the row through the same page search.
      int64_t remaining = 0;
      const int trc = kvstore_ttl_remaining(
          kv, k.data(), static_cast<int>(k.size()), &remaining);
      if (trc == KVSTORE_OK) {
        if (lw.rc != SQLITE_DONE) {
          Report("ttl: an answer where SQLite reports an error", k);
        }
        if (lw.rows.empty()) Report("ttl: a key SQLite does not have", k);
      } else if (trc == KVSTORE_NOTFOUND) {
        if (lw.rc != SQLITE_DONE) {
          Report("ttl: NOTFOUND where SQLite reports an error", k);
        }
        if (lrow != nullptr && !lrow->has_expiry) {
          Report("ttl: NOTFOUND for a row SQLite reads", k);
        }
      }
    }
  }
  // Scans, each after a few gets so that the handle holds its snapshot
  // (and so positions on the pages).
  auto warm = [&] {
    for (int r = 0; r < 4; ++r) {
      void* v = nullptr;
      int nv = 0;
      if (kvstore_get(kv, keys[0].data(), static_cast<int>(keys[0].size()), &v,
                      &nv) == KVSTORE_OK) {
        snkv_free(v);
      }
    }
  };
  KVIterator* it = nullptr;
  int damaged = -1;
  warm();
  if (kvstore_iterator_create(kv, &it) == KVSTORE_OK) {
    CheckScan(Drain(it, kvstore_iterator_first(it), false, SIZE_MAX), oracle,
              oracle_path, b.versions, forward_range, ordered, all, &damaged,
              "full scan");
    kvstore_iterator_close(it);
  }
  warm();
  if (kvstore_reverse_iterator_create(kv, &it) == KVSTORE_OK) {
    CheckScan(Drain(it, kvstore_iterator_last(it), true, SIZE_MAX), oracle,
              oracle_path, b.versions, backward_range, ordered, all, &damaged,
              "reverse scan");
    kvstore_iterator_close(it);
  }
  warm();
  if (kvstore_prefix_iterator_create(kv, prefix.data(),
                                     static_cast<int>(prefix.size()),
                                     &it) == KVSTORE_OK) {
    CheckScan(Drain(it, kvstore_iterator_first(it), false, SIZE_MAX), oracle,
              oracle_path, b.versions, prefix_range, ordered, all, &damaged,
              "prefix scan");
    kvstore_iterator_close(it);
  }
  warm();
  if (kvstore_iterator_create(kv, &it) == KVSTORE_OK) {
    const int rc =
        kvstore_iterator_seek(it, seek.data(), static_cast<int>(seek.size()));
    ScanResult got = Drain(it, rc, false, 10);
    if (got.rows.size() == 10) got.rc = KVSTORE_OK;
    CheckScan(got, oracle, oracle_path, b.versions, seek_range, ordered, all,
              &damaged, "seek");
    kvstore_iterator_close(it);
  }
  warm();
  if (kvstore_reverse_iterator_create(kv, &it) == KVSTORE_OK) {
    const int rc =
        kvstore_iterator_seek(it, seek.data(), static_cast<int>(seek.size()));
    ScanResult got = Drain(it, rc, true, 10);
    if (got.rows.size() == 10) got.rc = KVSTORE_OK;
    CheckScan(got, oracle, oracle_path, b.versions, seek_back_range, ordered,
              all, &damaged, "reverse seek");
    kvstore_iterator_close(it);
  }
  kvstore_close(kv);
  sqlite3_close_v2(oracle);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char tmpl[] = "/dev/shm/snkv-fuzz-XXXXXX";
  const char* dir = mkdtemp(tmpl);
  if (dir == nullptr) {
    char tmpl2[] = "/tmp/snkv-fuzz-XXXXXX";
    dir = mkdtemp(tmpl2);
    if (dir == nullptr) Fail("mkdtemp");
    g_dir = dir;
  } else {
    g_dir = dir;
  }
  for (uint32_t ps : {512u, 4096u, 65536u}) {
    g_bases.push_back(MakeBase(ps, false));
    g_bases.push_back(MakeBase(ps, true));
  }
  if (!g_verbose) std::atexit([] { fs::remove_all(g_dir); });
  if (g_verbose) std::fprintf(stderr, "files in %s\n", g_dir.c_str());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Half the inputs (by their length, so that no input byte changes
  // meaning and every input replays the same) read WAL frames through the
  // map of the -wal file and find them through the page reader's own page
  // table, as only large WALs do otherwise; the other half read them with
  // xRead, found through the WAL index's hash tables.
  snkv::engine::PageSource::TreatEveryWalAsLarge(size % 2 == 0);
  FuzzedDataProvider in(data, size);
  RunOne(in, HashOfInput(data, size));
  return 0;
}
