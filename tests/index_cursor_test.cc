// PageSource + IndexCursor against SQLite itself: every way of reading a
// table through the pages must give exactly what SQL gives, whether rows
// sit in the database file, in the WAL, or on overflow pages.
#include "engine/index_cursor.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/page_source.h"
#include "engine/sqlite_format.h"
#include "engine/wal_snapshot.h"
#include "page_reader_test_util.h"
#include "test_util.h"

namespace snkv::engine {
namespace {

struct Row {
  std::string value;
  std::optional<int64_t> expires;
  bool operator==(const Row&) const = default;
};
using Rows = std::map<std::string, Row>;

using test::TableKey;

// Rows written through db_ are also kept in model_, to check reads against.
class IndexCursorTest : public test::PageReaderTest {
 protected:
  void SetUp() override { OpenTable(nullptr); }

  void Put(const std::string& k, const std::string& v,
           std::optional<int64_t> expires = std::nullopt) {
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, "REPLACE INTO t VALUES(?1, ?2, ?3)", -1,
                                 &s, nullptr),
              SQLITE_OK);
    sqlite3_bind_blob(s, 1, k.data(), static_cast<int>(k.size()),
                      SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, v.data(), static_cast<int>(v.size()),
                      SQLITE_STATIC);
    if (expires) sqlite3_bind_int64(s, 3, *expires);
    ASSERT_EQ(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    model_[k] = Row{v, expires};
  }
  void Delete(const std::string& k) {
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(
        sqlite3_prepare_v2(db_, "DELETE FROM t WHERE k = ?1", -1, &s, nullptr),
        SQLITE_OK);
    sqlite3_bind_blob(s, 1, k.data(), static_cast<int>(k.size()),
                      SQLITE_STATIC);
    ASSERT_EQ(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    model_.erase(k);
  }

  // The current entry of the cursor, decoded.
  std::pair<std::string, Row> Current() {
    std::string buf;
    Slice record;
    EXPECT_EQ(cursor_->Record(&buf, &record), CursorResult::kOk);
    RecordField f[3];
    EXPECT_TRUE(DecodeRecord(record, f, 3));
    EXPECT_TRUE(format::IsBlob(f[0].serial));
    EXPECT_TRUE(format::IsBlob(f[1].serial));
    Row row{f[1].bytes.ToString(), std::nullopt};
    if (f[2].serial != format::kSerialNull) {
      EXPECT_TRUE(format::IsInteger(f[2].serial));
      row.expires = format::GetInteger(
          f[2].serial, reinterpret_cast<const uint8_t*>(f[2].bytes.data()));
    }
    return {f[0].bytes.ToString(), row};
  }

  // Forward and backward scans and a lookup of every key (and of keys next
  // to them) agree with the model.
  void CheckAgainstModel() {
    BeginRead();
    Rows seen;
    for (CursorResult r = cursor_->SeekFirst(); r != CursorResult::kEnd;
         r = cursor_->Next()) {
      ASSERT_EQ(r, CursorResult::kOk);
      auto [k, row] = Current();
      ASSERT_TRUE(seen.empty() || seen.rbegin()->first < k);
      seen.emplace(k, row);
      source_.EndRead();  // as between iterator calls: pages are fetched again
    }
    EXPECT_EQ(seen, model_);
    size_t n = 0;
    auto expected = model_.rbegin();
    for (CursorResult r = cursor_->SeekLast(); r != CursorResult::kEnd;
         r = cursor_->Prev(), ++expected, ++n) {
      ASSERT_EQ(r, CursorResult::kOk);
      ASSERT_NE(expected, model_.rend());
      EXPECT_EQ(Current().first, expected->first);
    }
    EXPECT_EQ(n, model_.size());
    for (const auto& [k, row] : model_) {
      ASSERT_EQ(cursor_->Find(k), CursorResult::kOk) << k;
      EXPECT_EQ(Current().second, row);
      EXPECT_EQ(cursor_->Find(k + '\0'), model_.count(k + '\0')
                                             ? CursorResult::kOk
                                             : CursorResult::kEnd);
      // Seeks from just beside the key.
      CursorResult after = cursor_->SeekForward(k, false);
      ASSERT_EQ(after, Expect(model_.upper_bound(k)));
      CursorResult before = cursor_->SeekBackward(k, false);
      ASSERT_EQ(before, ExpectBefore(model_.lower_bound(k)));
      ASSERT_EQ(cursor_->SeekForward(k, true), CursorResult::kOk);
      EXPECT_EQ(Current().first, k);
      ASSERT_EQ(cursor_->SeekBackward(k, true), CursorResult::kOk);
      EXPECT_EQ(Current().first, k);
    }
    EXPECT_EQ(cursor_->Find(""),
              model_.count("") ? CursorResult::kOk : CursorResult::kEnd);
    EndRead();
  }

  CursorResult Expect(Rows::iterator it) {
    if (it == model_.end()) return CursorResult::kEnd;
    EXPECT_EQ(Current().first, it->first);
    return CursorResult::kOk;
  }
  CursorResult ExpectBefore(Rows::iterator it) {
    if (it == model_.begin()) return CursorResult::kEnd;
    --it;
    EXPECT_EQ(Current().first, it->first);
    return CursorResult::kOk;
  }

  Rows model_;
};

TEST_F(IndexCursorTest, EmptyTableHasNoEntries) {
  BeginRead();
  EXPECT_EQ(cursor_->SeekFirst(), CursorResult::kEnd);
  EXPECT_EQ(cursor_->SeekLast(), CursorResult::kEnd);
  EXPECT_EQ(cursor_->Find("x"), CursorResult::kEnd);
  EXPECT_EQ(cursor_->SeekForward("", true), CursorResult::kEnd);
  EndRead();
}

TEST_F(IndexCursorTest, RowsInTheWalAndInTheFileReadAsSqlWroteThem) {
  std::mt19937 rng(7);
  Exec("BEGIN");
  for (uint32_t i = 0; i < 20000; ++i) {
    Put(TableKey(rng() % 1000000), std::string(rng() % 200, 'a' + i % 26),
        i % 7 == 0 ? std::optional<int64_t>(int64_t{i} * 1000003 - 50000)
                   : std::nullopt);
  }
  Exec("COMMIT");
  CheckAgainstModel();  // all in the WAL
  Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  CheckAgainstModel();  // all in the file
  for (uint32_t i = 0; i < 3000; ++i) {
    if (i % 3 == 0) {
      Delete(model_.begin()->first);
    } else {
      Put(TableKey(rng() % 1000000), std::string(rng() % 300, 'z'));
    }
  }
  CheckAgainstModel();  // some in each, over many WAL-index units
}

TEST_F(IndexCursorTest, ValuesOnOverflowPagesAndLongKeysReadWhole) {
  std::mt19937 rng(11);
  for (uint32_t i = 0; i < 300; ++i) {
    std::string value(rng() % 40000, '\0');
    for (char& c : value) c = static_cast<char>(rng());
    std::string key = TableKey(i);
    if (i % 10 == 0) key += std::string(3000 + i * 7, 'k');  // spills too
    Put(key, value);
  }
  CheckAgainstModel();
  Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  CheckAgainstModel();
}

TEST_F(IndexCursorTest, EmptyKeysAndValuesAndBinaryBytes) {
  Put("", "");
  Put(std::string("\0", 1), "x");
  Put(std::string("\xff\xff", 2), std::string("\0\0", 2));
  Put("a", "", int64_t{-1});
  Put("b", "", int64_t{1} << 40);
  CheckAgainstModel();
}

TEST_F(IndexCursorTest, ASnapshotKeepsItsPagesWhileOthersCommit) {
  for (uint32_t i = 0; i < 5000; ++i) Put(TableKey(i), "old");
  Rows before = model_;
  BeginRead();
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &other), SQLITE_OK);
  // Another connection rewrites everything and checkpoints as far as the
  // reader allows.
  ASSERT_EQ(sqlite3_exec(other,
                         "UPDATE t SET v = CAST('new' AS BLOB);"
                         "DELETE FROM t WHERE k > CAST('key00002500' AS BLOB);"
                         "PRAGMA wal_checkpoint(PASSIVE);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  size_t n = 0;
  for (CursorResult r = cursor_->SeekFirst(); r == CursorResult::kOk;
       r = cursor_->Next(), ++n) {
    EXPECT_EQ(Current().second.value, "old");
  }
  EXPECT_EQ(n, before.size());
  EndRead();
  sqlite3_close(other);
  model_.clear();
  for (uint32_t i = 0; i <= 2500; ++i) model_[TableKey(i)] = Row{"new", {}};
  CheckAgainstModel();
}

TEST_F(IndexCursorTest, AdvancingPastACheckpointKeepsTheSnapshotsRows) {
  for (uint32_t i = 0; i < 5000; ++i) Put(TableKey(i), "old");
  BeginRead();
  ASSERT_EQ(snap_.min_frame, 1u);  // nothing backfilled yet
  const uint32_t max_frame = snap_.max_frame;
  ASSERT_GT(max_frame, 100u);
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &other), SQLITE_OK);
  // Backfills every frame up to our read mark, then commits past it.
  ASSERT_EQ(sqlite3_exec(other,
                         "PRAGMA wal_checkpoint(PASSIVE);"
                         "UPDATE t SET v = CAST('new' AS BLOB);"
                         "PRAGMA wal_checkpoint(PASSIVE);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(other);

  cursor_.reset();
  source_.EndRead();
  const uint32_t backfilled = watch_.Backfilled();
  EXPECT_EQ(backfilled, max_frame);  // the reader's mark held it there
  source_.Advance(&snap_, backfilled);
  EXPECT_EQ(snap_.min_frame, max_frame + 1);  // all pages from the file now
  EXPECT_EQ(snap_.max_frame, max_frame);
  cursor_.emplace(source_, snap_, root_);
  size_t n = 0;
  for (CursorResult r = cursor_->SeekFirst(); r == CursorResult::kOk;
       r = cursor_->Next(), ++n) {
    EXPECT_EQ(Current().second.value, "old");
  }
  EXPECT_EQ(n, 5000u);
  ASSERT_EQ(cursor_->Find(TableKey(4321)), CursorResult::kOk);
  EXPECT_EQ(Current().second.value, "old");

  // Values past the snapshot's frames never move it.
  PageSnapshot copy = snap_;
  source_.Advance(&copy, max_frame + 50);
  EXPECT_EQ(copy.min_frame, snap_.min_frame);
  source_.Advance(&copy, 0);
  EXPECT_EQ(copy.min_frame, snap_.min_frame);
  EndRead();
}

// PageSource remembers where each page of a snapshot with WAL frames was
// found (its slot table). These tests read the same pages over and over
// while what the remembered pointers point into goes away: a new snapshot
// of rewritten rows, a frame cache dropped for overflowing, a WAL started
// again by a TRUNCATE checkpoint, a map replaced when a checkpoint grew
// the file. Under ASan a pointer kept too long is a use after free; in
// any build it reads other bytes than SQL wrote.

// Each get of a snapshot reads its own rows, never those the pages held
// for the snapshot before it.
TEST_F(IndexCursorTest, EachSnapshotReadsItsOwnRowsAfterRewrites) {
  Exec("BEGIN");
  for (uint32_t i = 0; i < 3000; ++i) Put(TableKey(i), "v0");
  Exec("COMMIT");
  for (int round = 1; round <= 4; ++round) {
    BeginRead();
    ASSERT_LE(snap_.min_frame, snap_.max_frame);  // the rows are in the WAL
    for (int pass = 0; pass < 2; ++pass) {
      for (uint32_t i = 0; i < 3000; i += 7) {
        ASSERT_EQ(cursor_->Find(TableKey(i)), CursorResult::kOk) << i;
        ASSERT_EQ(Current().second.value, model_[TableKey(i)].value) << i;
        source_.EndRead();
      }
    }
    EndRead();
    Exec("BEGIN");
    const std::string v = "v" + std::to_string(round) + std::string(round, 'x');
    for (uint32_t i = 0; i < 3000; ++i) {
      if (i % 3 == static_cast<uint32_t>(round % 3)) Put(TableKey(i), v);
    }
    Exec("COMMIT");
  }
  CheckAgainstModel();
}

// One snapshot reads more distinct WAL frames than the frame cache keeps,
// so the cache is dropped (at EndRead) while the slot table still points
// into it, again and again.
TEST_F(IndexCursorTest, PagesStayRightWhenTheFrameCacheIsDropped) {
  std::mt19937 rng(5);
  Exec("BEGIN");
  for (uint32_t i = 0; i < 60000; ++i) {
    Put(TableKey(i),
        std::string(150 + rng() % 100, static_cast<char>('a' + i % 26)));
  }
  Exec("COMMIT");
  BeginRead();
  ASSERT_GT(snap_.max_frame, 3000u);  // more leaves than the cache holds
  ASSERT_EQ(snap_.min_frame, 1u);
  std::vector<uint32_t> order(60000);
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  for (int pass = 0; pass < 2; ++pass) {
    std::shuffle(order.begin(), order.end(), rng);
    for (uint32_t i : order) {
      ASSERT_EQ(cursor_->Find(TableKey(i)), CursorResult::kOk) << i;
      ASSERT_EQ(Current().second.value, model_[TableKey(i)].value) << i;
      source_.EndRead();
    }
  }
  EndRead();
}

// A TRUNCATE checkpoint empties the WAL; the next commits reuse its frame
// numbers with other pages and new salts.
TEST_F(IndexCursorTest, PagesStayRightAcrossAWalRestart) {
  Exec("BEGIN");
  for (uint32_t i = 0; i < 4000; ++i) Put(TableKey(i), "before");
  Exec("COMMIT");
  CheckAgainstModel();
  BeginRead();
  const uint64_t old_salt = snap_.salt;
  for (uint32_t i = 0; i < 4000; i += 3) {
    ASSERT_EQ(cursor_->Find(TableKey(i)), CursorResult::kOk);
    source_.EndRead();
  }
  EndRead();
  Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  Exec("BEGIN");
  for (uint32_t i = 0; i < 4000; i += 2) Put(TableKey(i), "after");
  Exec("COMMIT");
  BeginRead();
  EXPECT_NE(snap_.salt, old_salt);
  EXPECT_LT(snap_.max_frame, 2000u);  // frame numbers begin again
  for (uint32_t i = 0; i < 4000; ++i) {
    ASSERT_EQ(cursor_->Find(TableKey(i)), CursorResult::kOk) << i;
    ASSERT_EQ(Current().second.value, i % 2 == 0 ? "after" : "before") << i;
    source_.EndRead();
  }
  EndRead();
  CheckAgainstModel();
}

// A checkpoint by another connection grows the file while a snapshot holds
// pages of the old map in its slot table. A second reader's older mark
// stops that checkpoint partway, so the snapshot still reads WAL frames
// after Advance maps the larger file and lets the old map go: every row
// must read the same as before.
TEST_F(IndexCursorTest, PagesStayRightWhenAdvanceReplacesTheMap) {
  Exec("BEGIN");
  for (uint32_t i = 0; i < 3000; ++i)
    Put(TableKey(i), "base" + std::to_string(i));
  Exec("COMMIT");
  Exec("PRAGMA wal_checkpoint(TRUNCATE)");  // the tree is in the file
  Exec("BEGIN");
  for (uint32_t i = 3000; i < 6000; ++i)
    Put(TableKey(i), "a" + std::to_string(i));
  Exec("COMMIT");  // new pages past the file's end, in the WAL
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &reader), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM t;", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);  // its read mark: the end of those frames
  Exec("BEGIN");
  for (uint32_t i = 0; i < 300; ++i) Put(TableKey(i), "b");  // a few leaves
  Exec("COMMIT");

  BeginRead();
  ASSERT_EQ(snap_.min_frame, 1u);
  const uint32_t file_pages = snap_.file_pages;
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& [k, row] : model_) {
      ASSERT_EQ(cursor_->Find(k), CursorResult::kOk) << k;
      ASSERT_EQ(Current().second, row) << k;
      source_.EndRead();
    }
  }
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "PRAGMA wal_checkpoint(PASSIVE);", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(other);
  ASSERT_EQ(sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(reader);

  cursor_.reset();
  source_.EndRead();
  const uint32_t backfilled = watch_.Backfilled();
  ASSERT_GT(backfilled, 0u);
  ASSERT_LT(backfilled, snap_.max_frame);
  // A checkpoint that has grown the file but not reached the snapshot's
  // last frame may be under way: Advance first waits for it to stop
  // moving, and the rows read the same meanwhile.
  source_.Advance(&snap_, backfilled);
  EXPECT_EQ(snap_.min_frame, 1u);
  EXPECT_EQ(snap_.file_pages, file_pages);
  cursor_.emplace(source_, snap_, root_);
  for (const auto& [k, row] : model_) {
    ASSERT_EQ(cursor_->Find(k), CursorResult::kOk) << k;
    ASSERT_EQ(Current().second, row) << k;
    source_.EndRead();
  }
  cursor_.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  source_.Advance(&snap_, backfilled);
  ASSERT_EQ(snap_.min_frame, backfilled + 1);   // some frames backfilled
  ASSERT_LE(snap_.min_frame, snap_.max_frame);  // but not all
  ASSERT_GT(snap_.file_pages, file_pages);      // the file grew: a new map
  cursor_.emplace(source_, snap_, root_);
  for (const auto& [k, row] : model_) {
    ASSERT_EQ(cursor_->Find(k), CursorResult::kOk) << k;
    ASSERT_EQ(Current().second, row) << k;
    source_.EndRead();
  }
  EndRead();
  CheckAgainstModel();
}

TEST_F(IndexCursorTest, DecodeRecordRejectsMalformedRecords) {
  RecordField f[3];
  // Header size past the end.
  const char bad1[] = {0x09, 0x0e};
  EXPECT_FALSE(DecodeRecord(Slice(bad1, sizeof(bad1)), f, 3));
  // A blob longer than the body.
  const char bad2[] = {0x02, 0x20, 'a'};
  EXPECT_FALSE(DecodeRecord(Slice(bad2, sizeof(bad2)), f, 3));
  // Reserved serial type.
  const char bad3[] = {0x02, 0x0a};
  EXPECT_FALSE(DecodeRecord(Slice(bad3, sizeof(bad3)), f, 3));
  // Bytes after the last field of a header read to its end: SQLite calls
  // the row corrupt when it reads it, so the reader must not accept it.
  const char bad4[] = {0x03, 0x0e, 0x0e, 'a', 'b', 'c'};
  EXPECT_FALSE(DecodeRecord(Slice(bad4, sizeof(bad4)), f, 3));
  // Fields past those asked for: the record only has to hold those read.
  const char more[] = {0x05, 0x0e, 0x0e, 0x00, 0x0e, 'a', 'b', 'c', 'd'};
  EXPECT_TRUE(DecodeRecord(Slice(more, sizeof(more)), f, 3));
  // A record of one blob: the other fields read as NULL.
  const char good[] = {0x02, 0x0e, 'a'};
  ASSERT_TRUE(DecodeRecord(Slice(good, sizeof(good)), f, 3));
  EXPECT_EQ(f[0].bytes.ToString(), "a");
  EXPECT_EQ(f[1].serial, format::kSerialNull);
  EXPECT_EQ(f[2].serial, format::kSerialNull);
}

}  // namespace
}  // namespace snkv::engine
