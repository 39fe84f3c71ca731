// TableCursor against SQLite itself: every row of a rowid table read
// through the pages must be the row SQL reads, whether it sits in the
// database file or the WAL, on one page or across an overflow chain; and
// a damaged table must make the cursor fall back (or answer as SQLite
// does), never hand back other bytes.
#include "engine/table_cursor.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/page_source.h"
#include "engine/sqlite_format.h"
#include "engine/wal_snapshot.h"
#include "file_surgery.h"
#include "test_util.h"

namespace snkv::engine {
namespace {

namespace sg = test::surgery;
using Rows = std::map<int64_t, std::string>;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// What the cursor answers for one rowid: kOk with the value, or not.
struct Lookup {
  CursorResult result = CursorResult::kFallback;
  std::string value;
};

class TableCursorTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(4096); }
  void TearDown() override { Close(); }

  void Open(uint32_t page_size) {
    Close();
    path_ = dir_.file("t.db");
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db_), SQLITE_OK);
    page_size_ = page_size;
    const std::string setup =
        "PRAGMA page_size = " + std::to_string(page_size) +
        "; PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;"
        "CREATE TABLE IF NOT EXISTS t(v BLOB NOT NULL);";
    Exec(setup.c_str());
  }
  // Starts over with an empty table on pages of `page_size` bytes.
  void Reset(uint32_t page_size) {
    Close();
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::remove((path_ + suffix).c_str());
    }
    model_.clear();
    Open(page_size);
  }
  void Close() {
    cursor_.reset();
    source_.Detach();
    watch_.Detach();
    if (db_ != nullptr) sqlite3_close(db_);
    db_ = nullptr;
  }

  void Exec(const char* sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql, nullptr, nullptr, &err), SQLITE_OK)
        << (err ? err : "");
  }

  void Put(int64_t rowid, const std::string& v) {
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, "REPLACE INTO t(rowid, v) VALUES(?1, ?2)",
                                 -1, &s, nullptr),
              SQLITE_OK);
    sqlite3_bind_int64(s, 1, rowid);
    sqlite3_bind_blob(s, 2, v.data(), static_cast<int>(v.size()),
                      SQLITE_STATIC);
    ASSERT_EQ(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    model_[rowid] = v;
  }
  void Delete(int64_t rowid) {
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, "DELETE FROM t WHERE rowid = ?1", -1, &s,
                                 nullptr),
              SQLITE_OK);
    sqlite3_bind_int64(s, 1, rowid);
    ASSERT_EQ(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    model_.erase(rowid);
  }

  // Every row as SQL reads it.
  Rows SqlRows() {
    Rows rows;
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(
        sqlite3_prepare_v2(db_, "SELECT rowid, v FROM t", -1, &s, nullptr),
        SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
      const auto* v = static_cast<const char*>(sqlite3_column_blob(s, 1));
      rows[sqlite3_column_int64(s, 0)] = std::string(
          v ? v : "", static_cast<size_t>(sqlite3_column_bytes(s, 1)));
    }
    sqlite3_finalize(s);
    return rows;
  }

  uint32_t Root() {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(
                  db_, "SELECT rootpage FROM sqlite_schema WHERE name = 't'",
                  -1, &s, nullptr),
              SQLITE_OK);
    uint32_t root = 0;
    if (sqlite3_step(s) == SQLITE_ROW) {
      root = static_cast<uint32_t>(sqlite3_column_int64(s, 0));
    }
    sqlite3_finalize(s);
    return root;
  }

  // Opens a read transaction and a cursor on t in it.
  void BeginRead() {
    Exec("BEGIN");
    root_ = Root();  // takes the read snapshot
    ASSERT_NE(root_, 0u);
    ASSERT_TRUE(watch_.Attach(db_));
    if (!source_.attached()) ASSERT_TRUE(source_.Attach(db_, page_size_));
    snap_ = source_.Describe(watch_.Read(), watch_.Backfilled());
    ASSERT_TRUE(snap_.usable());
    cursor_.emplace(source_, snap_, root_);
  }
  void EndRead() {
    cursor_.reset();
    source_.EndRead();
    Exec("COMMIT");
  }

  // The cursor's answer for `rowid`, its record decoded as t's.
  Lookup Find(int64_t rowid) { return FindOn(&*cursor_, rowid); }
  // The same with `cursor`.
  static Lookup FindOn(TableCursor* cursor, int64_t rowid) {
    Lookup out;
    out.result = cursor->Find(rowid);
    if (out.result != CursorResult::kOk) return out;
    std::string buf;
    Slice record;
    out.result = cursor->Record(&buf, &record);
    if (out.result != CursorResult::kOk) return out;
    RecordField f;
    if (!DecodeRecord(record, &f, 1) || !format::IsBlob(f.serial)) {
      out.result = CursorResult::kFallback;  // as a caller would
      return out;
    }
    out.value = f.bytes.ToString();
    return out;
  }

  // Every row SQL reads is found with SQL's bytes (EndRead between
  // lookups, as between a store's operations); rowids beside them and at
  // the ends of the range are not found.
  void CheckAgainstSql() {
    const Rows sql = SqlRows();
    EXPECT_EQ(sql, model_);
    BeginRead();
    for (const auto& [rowid, value] : sql) {
      const Lookup got = Find(rowid);
      ASSERT_EQ(got.result, CursorResult::kOk) << rowid;
      ASSERT_EQ(got.value, value) << rowid;
      source_.EndRead();
      // The rowids beside it, where they exist (no wrap at the ends).
      std::vector<int64_t> beside;
      if (rowid != kMin) beside.push_back(rowid - 1);
      if (rowid != kMax) beside.push_back(rowid + 1);
      for (int64_t near : beside) {
        ASSERT_EQ(cursor_->Find(near),
                  sql.count(near) ? CursorResult::kOk : CursorResult::kEnd)
            << near;
      }
    }
    for (int64_t edge : {kMin, kMin + 1, int64_t{-1}, int64_t{0}, kMax}) {
      EXPECT_EQ(cursor_->Find(edge),
                sql.count(edge) ? CursorResult::kOk : CursorResult::kEnd)
          << edge;
    }
    EndRead();
  }

  // The depth of t's tree: levels from the root to its leftmost leaf.
  int Depth() {
    Exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const std::string image = sg::ReadFileBytes(path_);
    uint32_t pgno = Root();
    int depth = 1;
    for (;;) {
      const sg::Page p =
          sg::ReadPage(image, size_t{pgno - 1} * page_size_, pgno);
      if (p.type != 0x05 || depth > 30) return depth;
      pgno = sg::Get32(image, p.cell_at(image, 0));
      ++depth;
    }
  }

  test::TempDir dir_;
  std::string path_;
  uint32_t page_size_ = 4096;
  sqlite3* db_ = nullptr;
  WalWatch watch_;
  PageSource source_;
  PageSnapshot snap_;
  uint32_t root_ = 0;
  std::optional<TableCursor> cursor_;
  Rows model_;
};

std::string Bytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST_F(TableCursorTest, EmptyTableHasNoRows) {
  BeginRead();
  for (int64_t r : {kMin, int64_t{0}, int64_t{1}, kMax}) {
    EXPECT_EQ(cursor_->Find(r), CursorResult::kEnd) << r;
  }
  std::string buf;
  Slice record;
  EXPECT_EQ(cursor_->Record(&buf, &record), CursorResult::kEnd);
  EndRead();
}

TEST_F(TableCursorTest, SmallRowsInTheWalAndInTheFile) {
  std::mt19937_64 rng(3);
  Exec("BEGIN");
  for (int64_t i = 1; i <= 20000; ++i) Put(i, Bytes(rng, rng() % 120));
  Exec("COMMIT");
  CheckAgainstSql();  // all in the WAL
  Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  CheckAgainstSql();  // all in the file
  Exec("BEGIN");
  for (int64_t i = 1; i <= 20000; i += 7) Put(i, Bytes(rng, 10));
  Exec("COMMIT");
  CheckAgainstSql();  // some in each
}

TEST_F(TableCursorTest, DeepTreeOfSmallPages) {
  Reset(512);
  std::mt19937_64 rng(5);
  Exec("BEGIN");
  for (int64_t i = 0; i < 60000; ++i) Put(i * 3 - 90000, Bytes(rng, 20));
  Exec("COMMIT");
  EXPECT_GE(Depth(), 4);
  CheckAgainstSql();
}

TEST_F(TableCursorTest, NegativeHugeAndSparseRowids) {
  std::mt19937_64 rng(9);
  Exec("BEGIN");
  for (int64_t r :
       {kMin, kMin + 1, int64_t{-1}, int64_t{0}, int64_t{1}, int64_t{127},
        int64_t{128}, int64_t{1} << 40, kMax - 1, kMax}) {
    Put(r, Bytes(rng, 30));
  }
  for (int i = 0; i < 5000; ++i) {
    Put(static_cast<int64_t>(rng()), Bytes(rng, rng() % 200));
  }
  Exec("COMMIT");
  CheckAgainstSql();
}

TEST_F(TableCursorTest, DeletedRowsAreNotFound) {
  std::mt19937_64 rng(13);
  Exec("BEGIN");
  for (int64_t i = 1; i <= 8000; ++i) Put(i, Bytes(rng, 50));
  Exec("COMMIT");
  Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  Exec("BEGIN");
  for (int64_t i = 1; i <= 8000; i += 3) Delete(i);
  for (int64_t i = 2000; i <= 6000; ++i) {
    if (model_.count(i)) Delete(i);  // whole leaves go: the tree shrinks
  }
  Exec("COMMIT");
  CheckAgainstSql();
  Exec("DELETE FROM t");
  model_.clear();
  CheckAgainstSql();
}

TEST_F(TableCursorTest, LargeRecordsOnOverflowChains) {
  std::mt19937_64 rng(17);
  int64_t rowid = 1;
  // Around the table leaf's local limit (usable - 35, the record header
  // included), then chains of one page to past the inline cycle check's
  // 32 pages.
  for (size_t n = 4040; n < 4075; ++n) Put(rowid++, Bytes(rng, n));
  for (size_t n : {1024u, 1025u, 2048u, 4096u, 8192u, 8200u, 20000u, 65536u,
                   140000u, 300000u}) {
    Put(rowid++, Bytes(rng, n));
  }
  for (int i = 0; i < 200; ++i) Put(rowid++, Bytes(rng, 1000 + rng() % 9000));
  CheckAgainstSql();
  Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  CheckAgainstSql();
}

TEST_F(TableCursorTest, OtherPageSizes) {
  for (uint32_t ps : {1024u, 65536u}) {
    Reset(ps);
    std::mt19937_64 rng(ps);
    Exec("BEGIN");
    for (int64_t i = 0; i < 3000; ++i) {
      Put(i * 11, Bytes(rng, i % 50 == 0 ? ps * 3 : rng() % 300));
    }
    Exec("COMMIT");
    CheckAgainstSql();
  }
}

// ---- Consecutive finds (the path kept between them) -----------------------

TEST_F(TableCursorTest, ConsecutiveFindsStartBelowTheRoot) {
  Reset(512);
  std::mt19937_64 rng(31);
  Exec("BEGIN");
  constexpr int64_t kRows = 30000;
  for (int64_t i = 1; i <= kRows; ++i) Put(i, Bytes(rng, 20 + rng() % 100));
  Exec("COMMIT");
  ASSERT_GE(Depth(), 4);
  BeginRead();
  // Up, then down, with and without an EndRead between finds: every row
  // is found with its bytes, and nearly every search starts below the
  // root, across leaf ends too (a leaf holds a handful of these rows, so
  // a cursor that restarted from the root at each leaf end would make a
  // short search for at most ~3 finds in 4).
  for (const bool up : {true, false}) {
    for (const bool end_reads : {false, true}) {
      const uint64_t before = cursor_->short_searches();
      for (int64_t i = 0; i < kRows; ++i) {
        const int64_t rowid = up ? i + 1 : kRows - i;
        const Lookup got = Find(rowid);
        ASSERT_EQ(got.result, CursorResult::kOk) << rowid;
        ASSERT_EQ(got.value, model_[rowid]) << rowid;
        if (end_reads) source_.EndRead();
      }
      EXPECT_GE(cursor_->short_searches() - before, uint64_t{kRows} * 97 / 100)
          << "up " << up << " end_reads " << end_reads;
    }
  }
  // Past either end and in between, from a kept path: not found.
  for (int64_t rowid : {kRows + 1, int64_t{0}, kRows + 2, kMax, int64_t{-1},
                        kMin, int64_t{1}, kRows + 1}) {
    EXPECT_EQ(cursor_->Find(rowid),
              rowid == 1 ? CursorResult::kOk : CursorResult::kEnd)
        << rowid;
  }
  // A rowid asked twice stays found.
  ASSERT_EQ(Find(777).value, model_[777]);
  ASSERT_EQ(Find(777).value, model_[777]);
  EndRead();
}

TEST_F(TableCursorTest, RandomAndSparseFindsFromAKeptPath) {
  Reset(1024);
  std::mt19937_64 rng(37);
  Exec("BEGIN");
  // Runs of consecutive rowids with gaps between them, some rows long
  // enough for overflow chains.
  int64_t rowid = -5000;
  for (int i = 0; i < 12000; ++i) {
    rowid += rng() % 8 == 0 ? 1 + static_cast<int64_t>(rng() % 50) : 1;
    Put(rowid, Bytes(rng, i % 97 == 0 ? 3000 : 10 + rng() % 200));
  }
  Exec("COMMIT");
  BeginRead();
  std::vector<int64_t> asks;
  for (const auto& [r, v] : model_) asks.push_back(r);
  std::shuffle(asks.begin(), asks.end(), rng);
  for (size_t i = 0; i < asks.size(); ++i) {
    // A rowid, one beside it and the next one of a random walk.
    for (int64_t r : {asks[i], asks[i] + 1, asks[i] - 1}) {
      const Lookup got = Find(r);
      const auto it = model_.find(r);
      if (it == model_.end()) {
        ASSERT_EQ(got.result, CursorResult::kEnd) << r;
      } else {
        ASSERT_EQ(got.result, CursorResult::kOk) << r;
        ASSERT_EQ(got.value, it->second) << r;
      }
    }
    if (i % 5 == 0) source_.EndRead();
  }
  EndRead();
}

// Two cursors take turns, with an EndRead after every step, on a snapshot
// whose pages are all WAL frames read into the frame cache (more of them
// than it keeps, so buffers are dropped and reused between operations):
// a cursor that kept a page pointer across an EndRead would read another
// page's bytes.
TEST_F(TableCursorTest, KeptPathsSurviveReadEpochs) {
  Reset(512);
  std::mt19937_64 rng(41);
  Exec("BEGIN");
  constexpr int64_t kRows = 40000;
  for (int64_t i = 1; i <= kRows; ++i) Put(i, Bytes(rng, 20 + rng() % 40));
  Exec("COMMIT");
  BeginRead();
  TableCursor down(source_, snap_, root_);
  for (int64_t i = 1; i <= kRows; ++i) {
    const int64_t up_rowid = i;
    const int64_t down_rowid = kRows + 1 - i;
    ASSERT_EQ(cursor_->Find(up_rowid), CursorResult::kOk) << up_rowid;
    source_.EndRead();
    const Lookup other = FindOn(&down, down_rowid);
    ASSERT_EQ(other.result, CursorResult::kOk) << down_rowid;
    ASSERT_EQ(other.value, model_[down_rowid]) << down_rowid;
    source_.EndRead();
    // The record of the row found two read epochs ago.
    std::string buf;
    Slice record;
    ASSERT_EQ(cursor_->Record(&buf, &record), CursorResult::kOk) << up_rowid;
    RecordField f;
    ASSERT_TRUE(DecodeRecord(record, &f, 1));
    ASSERT_EQ(f.bytes.ToString(), model_[up_rowid]) << up_rowid;
    source_.EndRead();
  }
  EXPECT_GT(cursor_->short_searches(), uint64_t{kRows} * 9 / 10);
  EXPECT_GT(down.short_searches(), uint64_t{kRows} * 9 / 10);
  EndRead();
}

// ---- Damage ---------------------------------------------------------------

class TableDamage : public TableCursorTest {
 protected:
  // A table of `n` rows of `size`-byte values at rowids step, 2 * step,
  // ..., every page in the database file; returns its image.
  void MakeTable(int n, size_t size, int64_t step = 10) {
    std::mt19937_64 rng(21);
    Exec("BEGIN");
    for (int i = 1; i <= n; ++i) Put(i * step, Bytes(rng, size));
    Exec("COMMIT");
    Exec("PRAGMA wal_checkpoint(TRUNCATE)");
    root_ = Root();
    Close();
    image_ = sg::ReadFileBytes(path_);
    ASSERT_FALSE(image_.empty());
  }
  std::vector<sg::TreePage> Pages() {
    return sg::TreePages(image_, page_size_, root_, /*table=*/true);
  }
  sg::Page PageAt(uint32_t pgno) {
    return sg::ReadPage(image_, size_t{pgno - 1} * page_size_, pgno);
  }
  // The first overflow page of cell i of leaf `p` (0 if none).
  size_t OverflowLinkAt(const sg::Page& p, uint32_t i) {
    size_t at = p.cell_at(image_, i);
    uint64_t payload = 0;
    uint64_t rowid = 0;
    at += sg::ReadVarint(image_, at, &payload);
    at += sg::ReadVarint(image_, at, &rowid);
    const uint32_t usable = page_size_;
    if (payload <= usable - 35) return 0;
    const uint64_t min_local = (uint64_t{usable} - 12) * 32 / 255 - 23;
    uint64_t local = min_local + (payload - min_local) % (usable - 4);
    if (local > usable - 35) local = min_local;
    return at + local;
  }
  // Writes image_ to the file, opens it, begins a read, describes its
  // snapshot into snap_ and makes cursor_ on the table: *usable. Damage to
  // the schema or the header can stop SQLite before any row, and the pages
  // may describe no usable snapshot: then there is nothing to compare
  // with, and *usable stays false.
  void OpenImage(bool* usable) {
    *usable = false;
    ASSERT_TRUE(sg::WriteFileBytes(path_, image_));
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db_), SQLITE_OK);
    if (sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return;
    }
    if (Root() != root_ || !watch_.Attach(db_) ||
        !source_.Attach(db_, page_size_)) {
      Exec("ROLLBACK");
      return;
    }
    snap_ = source_.Describe(watch_.Read(), watch_.Backfilled());
    if (!snap_.usable()) {
      Exec("ROLLBACK");
      return;
    }
    cursor_.emplace(source_, snap_, root_);
    *usable = true;
  }

  // Writes the image back and checks every rowid (and some that are not
  // there): where the cursor answers, SQLite reads the same.
  void CheckDamaged(int n, int* fallbacks = nullptr) {
    bool usable = false;
    ASSERT_NO_FATAL_FAILURE(OpenImage(&usable));
    if (!usable) return;
    int fell_back = 0;
    for (int64_t rowid = 0; rowid <= int64_t{n} * 10 + 10; rowid += 5) {
      const Lookup got = Find(rowid);
      source_.EndRead();
      if (got.result == CursorResult::kFallback) {
        ++fell_back;
        continue;
      }
      sqlite3_stmt* s = nullptr;
      ASSERT_EQ(sqlite3_prepare_v2(db_, "SELECT v FROM t WHERE rowid = ?1", -1,
                                   &s, nullptr),
                SQLITE_OK);
      sqlite3_bind_int64(s, 1, rowid);
      const int rc = sqlite3_step(s);
      std::string want;
      if (rc == SQLITE_ROW) {
        const auto* v = static_cast<const char*>(sqlite3_column_blob(s, 0));
        want.assign(v ? v : "",
                    static_cast<size_t>(sqlite3_column_bytes(s, 0)));
      }
      sqlite3_finalize(s);
      if (got.result == CursorResult::kOk) {
        ASSERT_EQ(rc, SQLITE_ROW) << rowid;
        ASSERT_EQ(got.value, want) << rowid;
      } else {
        ASSERT_EQ(rc, SQLITE_DONE) << rowid << ": not found where SQLite"
                                   << " reads a row or an error";
      }
    }
    EndRead();
    if (fallbacks != nullptr) *fallbacks = fell_back;
  }

  // What SQLite reads for `rowid`: SQLITE_ROW and the value, SQLITE_DONE,
  // or an error.
  std::pair<int, std::string> SqlValue(int64_t rowid) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, "SELECT v FROM t WHERE rowid = ?1", -1,
                                 &s, nullptr),
              SQLITE_OK);
    sqlite3_bind_int64(s, 1, rowid);
    const int rc = sqlite3_step(s);
    std::string value;
    if (rc == SQLITE_ROW) {
      const auto* v = static_cast<const char*>(sqlite3_column_blob(s, 0));
      value.assign(v ? v : "", static_cast<size_t>(sqlite3_column_bytes(s, 0)));
    }
    sqlite3_finalize(s);
    return {rc, value};
  }

  // Writes the image back and looks up rowids 0..last + 1 up, then down,
  // then in a random order with one cursor that keeps its path (an
  // EndRead every few finds): every answer is the answer of a fresh
  // cursor (a search from the root), and where it finds a row, SQLite
  // reads the same bytes; where it finds none, SQLite finds none either.
  void CheckConsecutive(int64_t last) {
    bool usable = false;
    ASSERT_NO_FATAL_FAILURE(OpenImage(&usable));
    if (!usable) return;
    std::vector<int64_t> asks;
    for (int64_t r = 0; r <= last + 1; ++r) asks.push_back(r);
    for (int64_t r = last + 1; r >= 0; --r) asks.push_back(r);
    std::mt19937_64 rng(last);
    for (int i = 0; i < 400; ++i) {
      asks.push_back(static_cast<int64_t>(rng() % (last + 2)));
    }
    for (size_t i = 0; i < asks.size(); ++i) {
      const int64_t rowid = asks[i];
      const Lookup got = Find(rowid);
      TableCursor fresh(source_, snap_, root_);
      const Lookup want = FindOn(&fresh, rowid);
      ASSERT_EQ(got.result, want.result) << rowid << " (ask " << i << ")";
      ASSERT_EQ(got.value, want.value) << rowid;
      if (i % 7 == 0) source_.EndRead();
      if (got.result == CursorResult::kFallback) continue;
      const auto [rc, value] = SqlValue(rowid);
      if (got.result == CursorResult::kOk) {
        ASSERT_EQ(rc, SQLITE_ROW) << rowid;
        ASSERT_EQ(got.value, value) << rowid;
      } else {
        ASSERT_EQ(rc, SQLITE_DONE) << rowid << ": not found where SQLite"
                                   << " reads a row or an error";
      }
    }
    EndRead();
  }

  std::string image_;
};

// The shortcut's neighbour has another rowid: in every leaf, the cells
// after the first two swap places, so the cell after rowid r holds r + 2
// (and a search from the root may miss rows SQLite's search misses too).
TEST_F(TableDamage, ConsecutiveFindsWhereTheNextCellHasAnotherRowid) {
  MakeTable(3000, 40, /*step=*/1);
  int swapped = 0;
  for (const sg::TreePage& t : Pages()) {
    const sg::Page p = PageAt(t.pgno);
    if (!t.leaf || p.cells < 3) continue;
    const uint32_t x = sg::Get16(image_, p.pointer_at(1));
    sg::Put16(&image_, p.pointer_at(1), sg::Get16(image_, p.pointer_at(2)));
    sg::Put16(&image_, p.pointer_at(2), x);
    ++swapped;
  }
  ASSERT_GE(swapped, 10);
  CheckConsecutive(3000);
}

// An interior page's rowids moved: the kept path's ranges must not send
// a rowid down a child a search from the root would not take.
TEST_F(TableDamage, ConsecutiveFindsOverWrongSeparators) {
  Reset(512);
  MakeTable(6000, 30, /*step=*/1);
  int changed = 0;
  for (const sg::TreePage& t : Pages()) {
    if (t.leaf) continue;
    const sg::Page p = PageAt(t.pgno);
    for (uint32_t i = 0; i < p.cells; i += 3) {
      // The rowid after the 4-byte child: a two-byte varint for every
      // separator of this table; moved by 1 to 6 both ways, same length.
      const size_t at = p.cell_at(image_, i) + 4;
      uint64_t rowid = 0;
      if (sg::ReadVarint(image_, at, &rowid) != 2 || rowid < 200) continue;
      const uint64_t moved = i % 2 == 0 ? rowid + 1 + i % 6 : rowid - 1 - i % 6;
      sg::PutBytes(&image_, at, sg::Varint(moved));
      ++changed;
    }
  }
  ASSERT_GE(changed, 10);
  CheckConsecutive(6000);
}

// Random bytes over the table's pages: the kept path answers as a search
// from the root, and as SQLite.
TEST_F(TableDamage, ConsecutiveFindsOverRandomBytes) {
  Reset(1024);
  MakeTable(2500, 60, /*step=*/1);
  const std::string clean = image_;
  std::mt19937_64 rng(123);
  const std::vector<sg::TreePage> pages = Pages();
  for (int round = 0; round < 12; ++round) {
    image_ = clean;
    for (int k = 0; k < 8; ++k) {
      const uint32_t pgno = pages[rng() % pages.size()].pgno;
      image_[size_t{pgno - 1} * page_size_ + rng() % page_size_] =
          static_cast<char>(rng());
    }
    SCOPED_TRACE(round);
    CheckConsecutive(2500);
    Close();
  }
}

TEST_F(TableDamage, OverflowChainCycleFallsBack) {
  MakeTable(20, 20000);  // five overflow pages a row
  const sg::TreePage leaf = Pages().back();
  ASSERT_TRUE(leaf.leaf);
  const sg::Page p = PageAt(leaf.pgno);
  const size_t link = OverflowLinkAt(p, 0);
  ASSERT_NE(link, 0u);
  const uint32_t first = sg::Get32(image_, link);
  const uint32_t second = sg::Get32(image_, size_t{first - 1} * page_size_);
  // The second page leads back to the first: a chain SQLite reads as
  // data, again and again.
  sg::Put32(&image_, size_t{second - 1} * page_size_, first);
  int fallbacks = 0;
  CheckDamaged(20, &fallbacks);
  EXPECT_GE(fallbacks, 1);
  BeginRead();
  int64_t rowid = 0;
  for (int64_t r = 10; r <= 200; r += 10) {
    if (cursor_->Find(r) != CursorResult::kOk) continue;
    std::string buf;
    Slice record;
    if (cursor_->Record(&buf, &record) == CursorResult::kFallback) rowid = r;
  }
  EXPECT_NE(rowid, 0);  // the damaged row is the one that falls back
  EndRead();
}

TEST_F(TableDamage, LongChainCycleFallsBack) {
  MakeTable(3, 300000);  // ~74 overflow pages a row: the sorted check
  const sg::Page p = PageAt(Pages().back().pgno);
  const size_t link = OverflowLinkAt(p, 0);
  ASSERT_NE(link, 0u);
  // Walk 50 pages down the chain and send the 50th back to the 40th.
  std::vector<uint32_t> chain{sg::Get32(image_, link)};
  while (chain.size() < 50) {
    chain.push_back(sg::Get32(image_, size_t{chain.back() - 1} * page_size_));
  }
  sg::Put32(&image_, size_t{chain[49] - 1} * page_size_, chain[39]);
  int fallbacks = 0;
  CheckDamaged(3, &fallbacks);
  EXPECT_GE(fallbacks, 1);
}

TEST_F(TableDamage, BrokenOverflowLinksFallBack) {
  MakeTable(20, 9000);
  const sg::Page p = PageAt(Pages().back().pgno);
  ASSERT_GE(p.cells, 3u);
  sg::Put32(&image_, OverflowLinkAt(p, 0), 0);           // no chain
  sg::Put32(&image_, OverflowLinkAt(p, 1), 0x7fffffff);  // past the end
  const uint32_t first = sg::Get32(image_, OverflowLinkAt(p, 2));
  sg::Put32(&image_, size_t{first - 1} * page_size_, 0);  // chain cut short
  int fallbacks = 0;
  CheckDamaged(20, &fallbacks);
  EXPECT_GE(fallbacks, 3);
}

TEST_F(TableDamage, HugePayloadSizeFallsBackWithoutAllocating) {
  MakeTable(200, 100);
  const sg::Page p = PageAt(Pages().back().pgno);
  for (uint64_t size : {~uint64_t{0}, uint64_t{1} << 62, uint64_t{1} << 40}) {
    // A 9-byte varint over the payload size and into the rowid: the cell
    // is damaged whatever the cursor reads next.
    sg::PutBytes(&image_, p.cell_at(image_, 0), sg::Varint(size));
  }
  int fallbacks = 0;
  CheckDamaged(200, &fallbacks);
  EXPECT_GE(fallbacks, 1);
}

TEST_F(TableDamage, ChildPointerCyclesAndWrongPageKindsFallBack) {
  MakeTable(3000, 40);
  const std::vector<sg::TreePage> pages = Pages();
  ASSERT_FALSE(pages.front().leaf);
  const sg::Page root = PageAt(pages.front().pgno);
  // The root's right child is the root: a cycle only the depth limit ends.
  sg::Put32(&image_, root.right_child_at(), pages.front().pgno);
  // A leaf retyped as an index leaf.
  image_[size_t{pages.back().pgno - 1} * page_size_] = 0x0a;
  int fallbacks = 0;
  CheckDamaged(3000, &fallbacks);
  EXPECT_GE(fallbacks, 2);
}

TEST_F(TableDamage, BadCountsAndCellPointersFallBack) {
  MakeTable(3000, 40);
  const std::vector<sg::TreePage> pages = Pages();
  std::vector<uint32_t> leaves;
  for (const sg::TreePage& t : pages) {
    if (t.leaf) leaves.push_back(t.pgno);
  }
  ASSERT_GE(leaves.size(), 4u);
  const sg::Page a = PageAt(leaves[0]);
  sg::Put16(&image_, a.base + a.header + 3, 0);  // an empty non-root leaf
  const sg::Page b = PageAt(leaves[1]);
  sg::Put16(&image_, b.base + b.header + 3, 0xffff);  // above MX_CELL
  const sg::Page c = PageAt(leaves[2]);
  sg::Put16(&image_, c.pointer_at(c.cells / 2), page_size_ - 1);  // at the end
  const sg::Page d = PageAt(leaves[3]);
  sg::Put16(&image_, d.pointer_at(0), 2);  // into the header
  int fallbacks = 0;
  CheckDamaged(3000, &fallbacks);
  EXPECT_GE(fallbacks, 4);
}

TEST_F(TableDamage, RowidsOutOfOrderAnswerAsSqliteDoes) {
  MakeTable(3000, 40);
  for (const sg::TreePage& t : Pages()) {
    const sg::Page p = PageAt(t.pgno);
    if (p.cells < 3) continue;
    // Swap two cell pointers of every page: rowids out of order.
    const uint32_t x = sg::Get16(image_, p.pointer_at(0));
    sg::Put16(&image_, p.pointer_at(0), sg::Get16(image_, p.pointer_at(2)));
    sg::Put16(&image_, p.pointer_at(2), x);
  }
  CheckDamaged(3000);
}

// Random bytes over random pages of the table, many times: whatever the
// cursor answers, SQLite reads the same.
TEST_F(TableDamage, RandomBytesNeverGiveOtherData) {
  MakeTable(400, 700);
  const std::string clean = image_;
  std::mt19937_64 rng(99);
  const std::vector<sg::TreePage> pages = Pages();
  for (int round = 0; round < 40; ++round) {
    image_ = clean;
    const size_t total = image_.size() / page_size_;
    for (int k = 0; k < 6; ++k) {
      // Mostly the tree's own pages (cell areas are where damage bites),
      // sometimes any page (overflow pages, the header page).
      const uint32_t pgno = rng() % 4 != 0
                                ? pages[rng() % pages.size()].pgno
                                : static_cast<uint32_t>(rng() % total) + 1;
      const size_t at = size_t{pgno - 1} * page_size_ + rng() % page_size_;
      image_[at] = static_cast<char>(rng());
    }
    SCOPED_TRACE(round);
    CheckDamaged(400);
    Close();
  }
}

}  // namespace
}  // namespace snkv::engine
