// Hostile and damaged store files against the page reader (issue 18):
// every value read from a page is checked before use, and anything
// unexpected is handed to SQL, so snkv answers exactly what plain SQLite
// answers on the same file: CORRUPT where SQLite says "malformed", the row
// where SQLite reads it, never a crash, an allocation sized by a damaged
// field, NOTFOUND for a row SQLite returns, or a signal when another
// process truncates the file.
//
// Each test writes a small store through the C API, closes it (so every
// page is in the database file), patches bytes of the family's B-tree,
// asks SQLite what it reads, then reads the same keys through snkv
// several times in a row: the first reads go through SQL, the later ones
// (once the handle holds its snapshot) through the page reader.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "c_api_test_util.h"
#include "file_surgery.h"
#include "kvstore.h"
#include "snkv/snkv.h"
#include "test_util.h"

namespace {

namespace sg = snkv::test::surgery;
using snkv::test::Get;
using snkv::test::Put;
using snkv::test::ReadFile;
using snkv::test::TempDir;
using snkv::test::WriteFile;

constexpr uint32_t kPageSize = 4096;
constexpr int kReads = 8;  // enough for the handle to hold its snapshot

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "key%05d", i);
  return buf;
}
std::string Value(int i, size_t size = 100) {
  std::string v(size, 'a' + static_cast<char>(i % 26));
  v.replace(0, std::min(v.size(), Key(i).size()), Key(i));
  return v;
}

// What snkv or SQLite answered for one get: a KVSTORE_* code and the value.
struct Answer {
  int rc = -1;
  std::string value;
  bool operator==(const Answer&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Answer& a) {
  return os << "rc " << a.rc << " value '" << a.value.substr(0, 40) << "'";
}

class PageDamage : public ::testing::Test {
 protected:
  // A store of `n` keys with `value_size`-byte values (every page in the
  // file), and its family table's root page.
  // n rows of value_size bytes; then, if `spill`, values of that size
  // rewritten inline with SQL.
  void MakeStore(int n, size_t value_size = 100, size_t spill = 0) {
    KVStoreConfig cfg = {};
    cfg.journalMode = KVSTORE_JOURNAL_WAL;
    cfg.syncLevel = KVSTORE_SYNC_NORMAL;
    cfg.pageSize = static_cast<int>(kPageSize);
    KVStore* kv = nullptr;
    ASSERT_EQ(kvstore_open_v2(path_.c_str(), &kv, &cfg), KVSTORE_OK);
    ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(Put(kv, Key(i), Value(i, value_size)), KVSTORE_OK);
    }
    ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
    ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
    if (spill) {
      // Values too large for the leaf, inline as a format-1 build wrote
      // them (this build keeps them out of line): written with SQL.
      sqlite3* raw = nullptr;
      ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
      sqlite3_stmt* st = nullptr;
      ASSERT_EQ(sqlite3_prepare_v2(raw, "UPDATE kv_0 SET v = ?2 WHERE k = ?1",
                                   -1, &st, nullptr),
                SQLITE_OK);
      for (int i = 0; i < n; ++i) {
        const std::string k = Key(i);
        const std::string v = Value(i, spill);
        sqlite3_bind_blob(st, 1, k.data(), static_cast<int>(k.size()),
                          SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 2, v.data(), static_cast<int>(v.size()),
                          SQLITE_TRANSIENT);
        ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
      }
      sqlite3_finalize(st);
      ASSERT_EQ(sqlite3_close(raw), SQLITE_OK);
    }
    n_ = n;
    const sg::SqliteAnswer root = sg::AskSqlite(
        path_,
        "SELECT rootpage, '', NULL FROM sqlite_schema WHERE name='kv_0'");
    ASSERT_EQ(root.rows.size(), 1u);
    root_ = static_cast<uint32_t>(std::stoul(root.rows[0].k));
    db_ = ReadFile(path_);
    ASSERT_TRUE(ReadFile(path_ + "-wal").empty());
  }

  sg::Page PageOf(uint32_t pgno) const {
    return sg::ReadPage(db_, size_t{pgno - 1} * kPageSize, pgno);
  }
  // The first leaf that is not the root, and its parent (the root).
  uint32_t SomeLeaf() const {
    for (const sg::TreePage& p : sg::TreePages(db_, kPageSize, root_)) {
      if (p.leaf && p.pgno != root_) return p.pgno;
    }
    return 0;
  }
  // Keys whose cells are on page `pgno` (leaf cells start with the payload
  // size varint, then the record: header size, key serial type, ...).
  std::vector<std::string> KeysOn(uint32_t pgno) const {
    std::vector<std::string> keys;
    const sg::Page p = PageOf(pgno);
    for (uint32_t i = 0; i < p.cells; ++i) {
      size_t at = p.cell_at(db_, i) + (p.leaf() ? 0 : 4);
      uint64_t payload = 0, hdr = 0, serial = 0;
      at += sg::ReadVarint(db_, at, &payload);
      const size_t a = sg::ReadVarint(db_, at, &hdr);
      sg::ReadVarint(db_, at + a, &serial);
      keys.push_back(db_.substr(at + hdr, (serial - 12) / 2));
    }
    return keys;
  }

  void Save() { WriteFile(path_, db_); }

  // Swaps the cell pointers i and i + 1 of page p: its cells out of order,
  // damage SQLite does not detect.
  void SwapCellPointers(const sg::Page& p, uint32_t i) {
    const uint32_t a = sg::Get16(db_, p.pointer_at(i));
    sg::Put16(&db_, p.pointer_at(i), sg::Get16(db_, p.pointer_at(i + 1)));
    sg::Put16(&db_, p.pointer_at(i + 1), a);
  }
  // A store of 400 keys whose third and fourth keys on a leaf swapped
  // places.
  void MakeStoreWithTwoKeysOutOfOrder() {
    MakeStore(400);
    const sg::Page p = PageOf(SomeLeaf());
    ASSERT_GE(p.cells, 8u);
    SwapCellPointers(p, 2);
    Save();
  }
  // Reads key 0 until the handle holds its snapshot (and reads pages).
  static void WarmUp(KVStore* kv) {
    for (int r = 0; r < kReads; ++r) (void)Get(kv, Key(0));
  }

  // SQLite's answer for a get of `key`. On a page whose cells are out of
  // order SQLite can land on, and return, another key's row: kMisread.
  static constexpr int kMisread = -2;
  Answer SqliteGet(const std::string& key) const {
    const sg::SqliteAnswer a = sg::AskSqlite(
        path_, "SELECT k, v, expires FROM kv_0 WHERE k = ?1", &key);
    if (a.rc == SQLITE_DONE && a.rows.size() == 1) {
      return {a.rows[0].k == key ? 0 : kMisread, a.rows[0].v};
    }
    if (a.rc == SQLITE_DONE) return {KVSTORE_NOTFOUND, ""};
    return {a.rc, ""};
  }

  // Every key of the store and `extra`, read kReads times each through
  // snkv, gives SQLite's answer every time; returns how many keys SQLite
  // reported as corrupt (so a test can check its damage was seen).
  int ExpectGetsAgree(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> keys = extra;
    for (int i = 0; i < n_; ++i) keys.push_back(Key(i));
    std::vector<Answer> want;
    int corrupt = 0;
    for (const std::string& k : keys) {
      want.push_back(SqliteGet(k));
      if (want.back().rc == KVSTORE_CORRUPT) ++corrupt;
    }
    KVStore* kv = nullptr;
    EXPECT_EQ(kvstore_open(path_.c_str(), &kv, KVSTORE_JOURNAL_WAL),
              KVSTORE_OK);
    if (kv == nullptr) return corrupt;
    for (size_t i = 0; i < keys.size(); ++i) {
      for (int r = 0; r < kReads; ++r) {
        const std::string got = Get(kv, keys[i]);
        Answer a = got.rfind("<rc ", 0) == 0
                       ? Answer{std::stoi(got.substr(4)), ""}
                       : Answer{0, got};
        int exists = -1;
        const int rc = kvstore_exists(
            kv, keys[i].data(), static_cast<int>(keys[i].size()), &exists);
        if (want[i].rc == kMisread) {
          // SQLite's row is not this key's: it is not the reader's to
          // copy, but never may the reader return anything else.
          EXPECT_TRUE(a.rc != 0 || a.value == want[i].value) << keys[i];
          continue;
        }
        EXPECT_EQ(a, want[i]) << "key " << keys[i] << " read " << r;
        if (want[i].rc == 0 || want[i].rc == KVSTORE_NOTFOUND) {
          EXPECT_EQ(rc, KVSTORE_OK) << keys[i];
          EXPECT_EQ(exists, want[i].rc == 0) << keys[i];
        } else {
          EXPECT_EQ(rc, want[i].rc) << keys[i];
        }
      }
    }
    EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
    return corrupt;
  }

  // A full scan through snkv (after warming the handle up) must end in an
  // error exactly when SQLite's does, and return SQLite's rows before it.
  void ExpectScanAgrees() {
    const sg::SqliteAnswer want =
        sg::AskSqlite(path_, "SELECT k, v, expires FROM kv_0 ORDER BY k");
    KVStore* kv = nullptr;
    ASSERT_EQ(kvstore_open(path_.c_str(), &kv, KVSTORE_JOURNAL_WAL),
              KVSTORE_OK);
    WarmUp(kv);
    KVIterator* it = nullptr;
    ASSERT_EQ(kvstore_iterator_create(kv, &it), KVSTORE_OK);
    int rc = kvstore_iterator_first(it);
    size_t seen = 0;
    while (rc == KVSTORE_OK && !kvstore_iterator_eof(it)) {
      void* k = nullptr;
      int nk = 0;
      ASSERT_EQ(kvstore_iterator_key(it, &k, &nk), KVSTORE_OK);
      ASSERT_LT(seen, want.rows.size());
      EXPECT_EQ(std::string(static_cast<char*>(k), static_cast<size_t>(nk)),
                want.rows[seen].k);
      ++seen;
      rc = kvstore_iterator_next(it);
    }
    kvstore_iterator_close(it);
    EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
    if (want.rc == SQLITE_DONE) {
      EXPECT_EQ(rc, KVSTORE_OK);
      EXPECT_EQ(seen, want.rows.size());
    } else {
      EXPECT_EQ(rc, want.rc) << "after " << seen << " rows";
    }
  }

  TempDir dir_;
  std::string path_ = dir_.file("s.db");
  std::string db_;
  uint32_t root_ = 0;
  int n_ = 0;
};

// Finding 5: an emptied non-root leaf. SQLite reports corruption for the
// keys it held (and for the scan); the reader used to answer NOTFOUND.
TEST_F(PageDamage, EmptiedLeafIsCorruptNotNotFound) {
  MakeStore(400);
  const uint32_t leaf = SomeLeaf();
  ASSERT_NE(leaf, 0u);
  const std::vector<std::string> lost = KeysOn(leaf);
  ASSERT_FALSE(lost.empty());
  sg::Put16(&db_, PageOf(leaf).base + 3, 0);
  Save();
  EXPECT_EQ(SqliteGet(lost[0]).rc, KVSTORE_CORRUPT);  // what SQLite says
  EXPECT_GT(ExpectGetsAgree(), 0);
  ExpectScanAgrees();
}

// Finding 5, the interior variant: an interior page with no cells (only
// its right child) is damage too.
TEST_F(PageDamage, EmptiedInteriorPageIsCorrupt) {
  MakeStore(400);
  ASSERT_FALSE(PageOf(root_).leaf());
  sg::Put16(&db_, PageOf(root_).base + 3, 0);
  Save();
  EXPECT_GT(ExpectGetsAgree(), 0);
  ExpectScanAgrees();
}

// Child pointers past the end of the file, to page 0 and to the page
// itself: SQLite reports corruption, and so does snkv (no loop, no read
// past the file).
TEST_F(PageDamage, BadChildPointersAreCorrupt) {
  for (int kind = 0; kind < 5; ++kind) {
    MakeStore(400);
    const sg::Page root = PageOf(root_);
    ASSERT_FALSE(root.leaf());
    const uint32_t targets[] = {0u, 1u, 0x7fffffffu, 0xffffffffu, root_};
    const uint32_t target = targets[kind];
    sg::Put32(&db_, root.cell_at(db_, 0), target);
    sg::Put32(&db_, root.right_child_at(), target);
    Save();
    EXPECT_GT(ExpectGetsAgree(), 0) << "child " << target;
    ExpectScanAgrees();
    std::remove(path_.c_str());
  }
}

// Cells out of order (swapped cell pointers): damage SQLite does not
// detect. The reader probes the cells in SQLite's order, so both find and
// miss the same keys.
TEST_F(PageDamage, KeysOutOfOrderAnswerAsSqliteDoes) {
  MakeStore(400);
  const uint32_t leaf = SomeLeaf();
  const sg::Page p = PageOf(leaf);
  ASSERT_GE(p.cells, 8u);
  for (uint32_t i = 0; i + 1 < p.cells; i += 3) SwapCellPointers(p, i);
  Save();
  ExpectGetsAgree();
}

// The same damage seen by scans, both ways and from a seek: SQLite returns
// the swapped rows as they lie, out of order; snkv's moves promise
// strictly larger (or smaller) keys, so its scans return the rows before
// the damage, in order, and then report corruption. Found by the fuzzer
// (tests/fuzz/regressions/keys-out-of-order-*).
TEST_F(PageDamage, ScansReportKeysOutOfOrderAsCorrupt) {
  ASSERT_NO_FATAL_FAILURE(MakeStoreWithTwoKeysOutOfOrder());
  // SQLite's own scan is out of order here (and does not notice).
  const sg::SqliteAnswer sqlite =
      sg::AskSqlite(path_, "SELECT k, v, expires FROM kv_0 ORDER BY k");
  ASSERT_EQ(sqlite.rc, SQLITE_DONE);
  ASSERT_EQ(sqlite.rows.size(), 400u);

  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open(path_.c_str(), &kv, KVSTORE_JOURNAL_WAL), KVSTORE_OK);
  WarmUp(kv);
  for (int way = 0; way < 3; ++way) {
    const bool backwards = way == 1;
    KVIterator* it = nullptr;
    ASSERT_EQ(backwards ? kvstore_reverse_iterator_create(kv, &it)
                        : kvstore_iterator_create(kv, &it),
              KVSTORE_OK);
    int rc = backwards  ? kvstore_iterator_last(it)
             : way == 0 ? kvstore_iterator_first(it)
                        : kvstore_iterator_seek(it, "key", 3);
    std::string last;
    size_t seen = 0;
    while (rc == KVSTORE_OK && !kvstore_iterator_eof(it)) {
      void* k = nullptr;
      int nk = 0;
      ASSERT_EQ(kvstore_iterator_key(it, &k, &nk), KVSTORE_OK);
      const std::string key(static_cast<char*>(k), static_cast<size_t>(nk));
      if (seen > 0) EXPECT_TRUE(backwards ? key < last : last < key) << key;
      last = key;
      ++seen;
      rc = backwards ? kvstore_iterator_prev(it) : kvstore_iterator_next(it);
    }
    EXPECT_EQ(rc, KVSTORE_CORRUPT) << "way " << way << " after " << seen;
    EXPECT_LT(seen, 400u) << "way " << way;
    kvstore_iterator_close(it);
  }
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// The same damage read with Iterator::ReadBatch, which hands out the rows
// of the scan's internal batch as a block: the key order is checked as
// that batch is filled, so the batches stop before the damage too.
TEST_F(PageDamage, BatchedScansReportKeysOutOfOrderAsCorrupt) {
  ASSERT_NO_FATAL_FAILURE(MakeStoreWithTwoKeysOutOfOrder());

  snkv::Store store;
  ASSERT_TRUE(snkv::Store::Open(path_, {}, &store).ok());
  for (int r = 0; r < kReads; ++r) {
    std::string v;
    (void)store.Get(Key(0), &v);  // until the handle reads pages
  }
  for (bool backwards : {false, true}) {
    for (size_t rows : {size_t{1}, size_t{5}, size_t{64}, size_t{500}}) {
      snkv::Iterator it = store.NewIterator({.reverse = backwards});
      ASSERT_TRUE(it.SeekToStart().ok() || !it.Valid());
      snkv::IteratorBatch batch;
      snkv::Status s;
      while (s.ok() && it.Valid()) s = it.ReadBatch(&batch, rows);
      EXPECT_EQ(s.code(), snkv::Code::kCorrupt)
          << "rows " << rows << " backwards " << backwards << " after "
          << batch.size();
      EXPECT_LT(batch.size(), 400u);
      for (size_t i = 1; i < batch.size(); ++i) {
        const int c = batch.key(i).compare(batch.key(i - 1));
        ASSERT_TRUE(backwards ? c < 0 : c > 0) << batch.key(i).ToString();
      }
    }
  }
}

// Finding 1: a record header size near 2^64 plus a key serial type of
// about 2^41 wrapped `header_size + key_size` in the key comparison, which
// then read far outside the page. SQLite says "malformed".
TEST_F(PageDamage, RecordHeaderSizeNearTwoToTheSixtyFourIsCorrupt) {
  MakeStore(5);  // one leaf: the root
  const sg::Page p = PageOf(root_);
  ASSERT_TRUE(p.leaf());
  const size_t cell = p.cell_at(db_, 2);
  uint64_t payload = 0;
  const size_t n = sg::ReadVarint(db_, cell, &payload);
  // 9 + 6 bytes of header: header size (2^64 - 2^40 + 16) and key type
  // (key size 2^40): their sum wraps to 16.
  const std::string forged =
      sg::Varint(0ULL - (1ULL << 40) + 16) + sg::Varint((1ULL << 41) + 12);
  ASSERT_EQ(forged.size(), 15u);
  sg::PutBytes(&db_, cell + n, forged);
  Save();
  EXPECT_EQ(SqliteGet(Key(2)).rc, KVSTORE_CORRUPT);
  EXPECT_GT(ExpectGetsAgree({Key(2) + "x", "zzz", ""}), 0);
}

// Finding 2: a payload size of 2^63 or 4 GiB in a cell whose key still
// matches. The reader resized a buffer to the claimed size before looking
// at the chain (std::length_error, terminate; or 4 GiB per read). Now the
// chain the size needs is checked against the pages that exist first.
TEST_F(PageDamage, HugePayloadSizeIsCorruptWithoutAllocating) {
  for (uint64_t claimed : {uint64_t{1} << 63, uint64_t{1} << 32}) {
    MakeStore(5);
    const sg::Page p = PageOf(root_);
    const size_t cell = p.cell_at(db_, 2);
    uint64_t payload = 0;
    const size_t n = sg::ReadVarint(db_, cell, &payload);
    const std::string record = db_.substr(cell + n, payload);
    // The forged cell: claimed size, the old record (its key still
    // matches), room for what stays on the page, an overflow page number.
    const uint64_t local = sg::LocalPayload(kPageSize, claimed);
    std::string forged = sg::Varint(claimed) + record;
    forged.resize(sg::Varint(claimed).size() + local, 'x');
    forged += std::string("\0\0\0\2", 4);
    // Into the free space below the cell content area, which then starts
    // at the forged cell.
    const size_t content = sg::Get16(db_, p.base + 5);
    const size_t at = content - forged.size();
    ASSERT_GT(p.base + at, p.pointer_at(p.cells));
    sg::PutBytes(&db_, p.base + at, forged);
    sg::Put16(&db_, p.pointer_at(2), static_cast<uint32_t>(at));
    sg::Put16(&db_, p.base + 5, static_cast<uint32_t>(at));
    Save();
    EXPECT_EQ(SqliteGet(Key(2)).rc, KVSTORE_CORRUPT);

    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_GT(ExpectGetsAgree(), 0) << "claimed " << claimed;
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    // 4 GiB zero-filled per read took seconds and gigabytes before.
    EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 256 * 1024) << "KiB";
    EXPECT_LT(std::chrono::steady_clock::now() - start,
              std::chrono::seconds(20));
    std::remove(path_.c_str());
  }
}

// A broken overflow chain in the value of a row the search only passes
// by: SQLite reads whole records to compare keys and says "malformed", so
// the reader, which compares only key bytes, checks the chain too.
TEST_F(PageDamage, BrokenOverflowChainOfAComparedCellIsCorrupt) {
  MakeStore(60, 100, 3000);  // every value spills onto an overflow page
  for (const sg::TreePage& t : sg::TreePages(db_, kPageSize, root_)) {
    const sg::Page p = PageOf(t.pgno);
    for (uint32_t i = 0; i < p.cells; ++i) {
      // The overflow page number is the last 4 bytes of the cell's local
      // part; point it past the end of the file.
      size_t at = p.cell_at(db_, i) + (p.leaf() ? 0 : 4);
      uint64_t payload = 0;
      at += sg::ReadVarint(db_, at, &payload);
      ASSERT_GT(payload, sg::MaxLocalPayload(kPageSize));
      sg::Put32(&db_, at + sg::LocalPayload(kPageSize, payload), 0x7fff0000u);
    }
  }
  Save();
  EXPECT_GT(ExpectGetsAgree({"key", "key00030x", "zzz"}), 0);
  ExpectScanAgrees();
}

// A page count in the database header below the pages the tree uses:
// SQLite reads no page past it (they are damage), nor does the reader.
TEST_F(PageDamage, HeaderPageCountBoundsTheReader) {
  MakeStore(400);
  const uint32_t pages = static_cast<uint32_t>(db_.size() / kPageSize);
  sg::Put32(&db_, 28, pages / 2);
  Save();
  EXPECT_GT(ExpectGetsAgree(), 0);
  ExpectScanAgrees();
}

// Finding 4: another process truncates the database file while a handle
// holds its snapshot. With noMmap nothing is mapped (reads go through
// SQL), so reads return an error or the right data, never SIGBUS; by default
// (the map) a snapshot begun after the truncation never reads past the
// file's new end. The reader is a program of its own (tools/
// truncating_reader.cc), so a signal is seen as its exit status.
void TruncateAndRead(const std::string& path, int n, bool no_mmap,
                     bool new_snapshot) {
  const std::string count = std::to_string(n);
  const char* args[] = {SNKV_TOOL_TRUNCATING_READER,
                        path.c_str(),
                        count.c_str(),
                        no_mmap ? "1" : "0",
                        new_snapshot ? "1" : "0",
                        nullptr};
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    execv(args[0], const_cast<char**>(args));
    _exit(127);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_FALSE(WIFSIGNALED(status)) << "signal " << WTERMSIG(status);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(PageDamage, TruncationUnderAHeldSnapshotWithoutTheMapGivesErrors) {
  MakeStore(2000);
  TruncateAndRead(path_, n_, /*no_mmap=*/true, /*new_snapshot=*/false);
}

TEST_F(PageDamage, TruncationBeforeANewSnapshotGivesErrorsNotSigbus) {
  MakeStore(2000);
  TruncateAndRead(path_, n_, /*no_mmap=*/false, /*new_snapshot=*/true);
}

// noMmap changes how rows are read, not what is read.
TEST_F(PageDamage, NoMmapReadsTheSameRows) {
  MakeStore(2000, 700);
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_NORMAL;
  cfg.noMmap = 1;
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open_v2(path_.c_str(), &kv, &cfg), KVSTORE_OK);
  for (int r = 0; r < 2; ++r) {
    for (int i = 0; i < n_; ++i) ASSERT_EQ(Get(kv, Key(i)), Value(i, 700));
  }
  EXPECT_EQ(snkv::test::Count(kv), n_);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

}  // namespace
