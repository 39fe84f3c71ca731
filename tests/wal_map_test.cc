// WAL frames read through the process's map of the -wal file
// (engine/page_source.h, docs/design.md "Mapping the WAL"). What a user
// relies on:
//   - rows whose newest copy is still in the WAL read exactly as SQL wrote
//     them, through the map, while the WAL grows under the reader, and
//     after the WAL was restarted or truncated while a handle still held
//     its map;
//   - a frame whose header does not belong to the snapshot (wrong page
//     number, another WAL's salts) is never returned as the page: the page
//     reader refuses it and the store answers through SQL;
//   - encrypted stores read their values right through the map;
//   - small WALs are not mapped at all (a map per small commit would
//     unmap at each one).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "c_api_test_util.h"
#include "engine/index_cursor.h"
#include "engine/page_source.h"
#include "engine/sqlite_format.h"
#include "engine/wal_page_table.h"
#include "engine/wal_snapshot.h"
#include "engine/wal_write_vfs.h"
#include "kvstore.h"
#include "page_reader_test_util.h"
#include "test_util.h"

namespace snkv::engine {
namespace {

using test::TableKey;

// 1 KiB (with the default 4 KiB pages, every row has an overflow page).
std::string Value(uint32_t i, int version) {
  std::string v = TableKey(i) + "/v" + std::to_string(version) + "/";
  v.resize(1024, static_cast<char>('a' + (i + version) % 26));
  return v;
}

// The page reader's fixture with the reading connection opened through
// snkv's VFS, as a store opens (only a WAL opened through it is known to
// be the file SQLite reads, and only that one is mapped), and another
// connection, writer_, writing t.
class WalMapTest : public test::PageReaderTest {
 protected:
  void SetUp() override {
    OpenTable(CoalescingVfsName());
    ASSERT_EQ(sqlite3_open(path().c_str(), &writer_), SQLITE_OK);
    Exec(writer_, "PRAGMA wal_autocheckpoint = 0;");
  }
  void TearDown() override {
    PageReaderTest::TearDown();
    sqlite3_close(writer_);
  }

  // Puts rows [from, to) at `version` in one transaction of the writer.
  void Load(uint32_t from, uint32_t to, int version) {
    Exec(writer_, "BEGIN");
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(writer_, "REPLACE INTO t VALUES(?1, ?2, NULL)",
                                 -1, &s, nullptr),
              SQLITE_OK);
    for (uint32_t i = from; i < to; ++i) {
      const std::string k = TableKey(i);
      const std::string v = Value(i, version);
      sqlite3_bind_blob(s, 1, k.data(), static_cast<int>(k.size()),
                        SQLITE_TRANSIENT);
      sqlite3_bind_blob(s, 2, v.data(), static_cast<int>(v.size()),
                        SQLITE_TRANSIENT);
      ASSERT_EQ(sqlite3_step(s), SQLITE_DONE);
      sqlite3_reset(s);
      model_[k] = v;
    }
    sqlite3_finalize(s);
    Exec(writer_, "COMMIT");
  }

  // The value of the entry the cursor is on.
  std::string CurrentValue() {
    std::string buf;
    Slice record;
    EXPECT_EQ(cursor_->Record(&buf, &record), CursorResult::kOk);
    RecordField f[3];
    EXPECT_TRUE(DecodeRecord(record, f, 3));
    return f[1].bytes.ToString();
  }

  // Reads every row (frames past the WAL's map with xRead), then moves
  // the snapshot on as StoreCore does before its next read: a snapshot
  // that has read many frames maps them there.
  void ReadThenAdvance(uint32_t seed) {
    CheckAllRows(seed);
    AdvanceSnapshot();
  }

  // Moves the snapshot on as StoreCore does before a read (between its
  // reads the cursor and the pages go).
  void AdvanceSnapshot() {
    cursor_.reset();
    source_.EndRead();
    source_.Advance(&snap_, watch_.Backfilled());
    cursor_.emplace(source_, snap_, root_);
  }

  // Every key of the model, in random order, reads its model value.
  void CheckAllRows(uint32_t seed) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : model_) keys.push_back(k);
    std::shuffle(keys.begin(), keys.end(), std::mt19937(seed));
    for (const std::string& k : keys) {
      ASSERT_EQ(cursor_->Find(k), CursorResult::kOk) << k;
      ASSERT_EQ(CurrentValue(), model_[k]) << k;
      source_.EndRead();
    }
  }

  sqlite3* writer_ = nullptr;  // another connection that writes
  std::map<std::string, std::string> model_;
};

TEST_F(WalMapTest, ALargeWalIsReadThroughTheMapWithoutFrameReads) {
  Load(0, 3000, 1);  // some 3,000 frames: leaves, overflow pages
  BeginRead();
  ASSERT_GT(snap_.max_frame, 2000u);
  EXPECT_EQ(source_.wal_map_bytes(), 0u);  // mapped once many are read
  ReadThenAdvance(1);
  EXPECT_GE(source_.wal_map_bytes(),
            format::kWalHeaderSize + uint64_t{snap_.max_frame} *
                                         (format::kWalFrameHeaderSize + 4096));
  const uint64_t reads_before = source_.frames_read();
  CheckAllRows(1);
  EXPECT_EQ(source_.frames_read(), reads_before);  // every frame was mapped
  EndRead();
}

TEST_F(WalMapTest, ASmallWalIsReadWithoutAMap) {
  Load(0, 40, 1);
  BeginRead();
  ASSERT_GT(snap_.max_frame, 0u);
  EXPECT_EQ(source_.wal_map_bytes(), 0u);
  ReadThenAdvance(2);
  CheckAllRows(2);
  EXPECT_EQ(source_.wal_map_bytes(), 0u);
  EXPECT_GT(source_.frames_read(), 0u);
  EndRead();
}

// A large WAL of which a snapshot reads only a few hot pages (small
// commits after a large one) is not mapped: the frame cache serves them,
// and a map would only make the WAL resident. (Overflow pages are not
// cached: reading values on them many times does map the WAL.)
TEST_F(WalMapTest, AFewPagesOfALargeWalAreReadWithoutAMap) {
  Load(0, 3000, 1);
  Load(0, 10, 2);
  BeginRead();
  ASSERT_GT(snap_.max_frame, 2000u);
  for (int read = 0; read < 1000; ++read) {
    const std::string k = TableKey(static_cast<uint32_t>(read % 10));
    ASSERT_EQ(cursor_->Find(k), CursorResult::kOk);  // the tree's pages
    AdvanceSnapshot();
  }
  EXPECT_EQ(source_.wal_map_bytes(), 0u);
  EXPECT_LT(source_.frames_read(), 100u);
  CheckAllRows(23);
  EndRead();
}

// What the fuzzer turns on: a small WAL read as a large one (mapped, its
// pages in the page table) reads the same rows.
TEST_F(WalMapTest, ASmallWalReadAsALargeOneReadsTheSameRows) {
  PageSource::TreatEveryWalAsLarge(true);
  Load(0, 40, 1);
  BeginRead();
  EXPECT_GT(source_.wal_map_bytes(), 0u);
  const uint64_t reads_before = source_.frames_read();
  CheckAllRows(21);
  EXPECT_EQ(source_.frames_read(), reads_before);
  EndRead();
  Load(20, 60, 2);  // the table is extended by the new frames
  BeginRead();
  CheckAllRows(22);
  EndRead();
  PageSource::TreatEveryWalAsLarge(false);
}

// Each new snapshot sees more frames than the map covers; the map grows
// (a larger generation), and rows of every snapshot read right, also the
// ones read through the older, smaller generation.
TEST_F(WalMapTest, TheMapGrowsWithTheWalUnderAReader) {
  Load(0, 1500, 1);
  BeginRead();
  ReadThenAdvance(3);
  const uint64_t first_map = source_.wal_map_bytes();
  ASSERT_GT(first_map, 0u);
  CheckAllRows(3);
  EndRead();
  uint64_t last_map = first_map;
  for (int round = 0; round < 4; ++round) {
    // Updates of old rows and new rows: pages with frames in both maps.
    Load(static_cast<uint32_t>(round * 300), 1500 + (round + 1) * 400,
         2 + round);
    BeginRead();
    ReadThenAdvance(30 + round);
    EXPECT_GT(source_.wal_map_bytes(), last_map) << round;
    last_map = source_.wal_map_bytes();
    const uint64_t reads_before = source_.frames_read();
    CheckAllRows(4 + round);
    EXPECT_EQ(source_.frames_read(), reads_before) << round;
    EndRead();
  }
}

// A snapshot held while the WAL grows keeps reading its own rows through
// the map it was described with (frames past it are not its).
TEST_F(WalMapTest, AHeldSnapshotReadsItsRowsWhileTheWalGrows) {
  Load(0, 2000, 1);
  BeginRead();
  const auto snapshot_rows = model_;
  Load(0, 2000, 2);  // the writer rewrites every row meanwhile
  Load(2000, 2600, 2);
  const auto newest = model_;
  model_ = snapshot_rows;
  CheckAllRows(5);
  EndRead();
  model_ = newest;
  BeginRead();
  CheckAllRows(6);
  EndRead();
}

// After a TRUNCATE checkpoint the WAL file is empty and then grows again
// with new salts, while this handle still holds the map of the large old
// WAL: rows read right (frames under the new salts; none past the file's
// end, so no SIGBUS) whether the new WAL is below or above the map's size.
TEST_F(WalMapTest, TruncateAndRestartWhileTheMapIsHeld) {
  Load(0, 3000, 1);
  BeginRead();
  ReadThenAdvance(70);
  const uint64_t old_salt = snap_.salt;
  const uint64_t old_map = source_.wal_map_bytes();
  ASSERT_GT(old_map, 0u);
  CheckAllRows(7);
  EndRead();  // the map stays with the handle

  Exec(writer_, "PRAGMA wal_checkpoint(TRUNCATE)");
  ASSERT_EQ(test::FileSize(path() + "-wal"), 0);
  Load(0, 1200, 2);  // a new WAL, smaller than the old one's map
  ASSERT_LT(test::FileSize(path() + "-wal"), static_cast<int64_t>(old_map));
  BeginRead();
  EXPECT_NE(snap_.salt, old_salt);
  CheckAllRows(8);
  EndRead();

  // A RESTART checkpoint: the next writer writes over the WAL from its
  // start (same file, new salts).
  Exec(writer_, "PRAGMA wal_checkpoint(RESTART)");
  Load(500, 4000, 3);  // past the old size: a larger map
  BeginRead();
  ReadThenAdvance(90);
  EXPECT_GT(source_.wal_map_bytes(), old_map);
  CheckAllRows(9);
  EndRead();

  // Everything checkpointed: the snapshot reads no frame and the WAL's map
  // is let go.
  Exec(writer_, "PRAGMA wal_checkpoint(TRUNCATE)");
  BeginRead();
  EXPECT_GT(snap_.min_frame, snap_.max_frame);
  EXPECT_EQ(source_.wal_map_bytes(), 0u);
  CheckAllRows(10);
  EndRead();
}

// A frame whose header names another page, or carries other salts, is
// not the snapshot's page: the map must not return it, and xRead (which
// checks the same) refuses it too, so the cursor says "ask SQL".
TEST_F(WalMapTest, DamagedFrameHeadersAreRefusedNotReturned) {
  Load(0, 3000, 1);
  const std::string wal = path() + "-wal";
  const int64_t frame_bytes = format::kWalFrameHeaderSize + 4096;
  const int64_t frames =
      (test::FileSize(wal) - static_cast<int64_t>(format::kWalHeaderSize)) /
      frame_bytes;
  ASSERT_GT(frames, 2000);
  // Damage the page number in every 7th frame header, the salts in every
  // 11th, and write every 13th frame whole (header and page) over the one
  // after it, so that the index finds another page there, as a WAL index
  // out of step with its WAL would.
  const int fd = ::open(wal.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  std::string frame(static_cast<size_t>(frame_bytes), '\0');
  for (int64_t f = 0; f + 1 < frames; ++f) {
    const off_t at =
        static_cast<off_t>(format::kWalHeaderSize + f * frame_bytes);
    if (f % 13 == 0) {
      ASSERT_EQ(::pread(fd, frame.data(), frame.size(), at), frame_bytes);
      ASSERT_EQ(::pwrite(fd, frame.data(), frame.size(), at + frame_bytes),
                frame_bytes);
      ++f;  // the copy is not damaged again
    } else if (f % 7 == 3) {
      const uint8_t pgno[4] = {0x7f, 0xff, 0xff, 0xf0};
      ASSERT_EQ(::pwrite(fd, pgno, 4, at), 4);
    } else if (f % 11 == 5) {
      const uint8_t salt = 0xa5;
      ASSERT_EQ(::pwrite(fd, &salt, 1, at + 9), 1);
    }
  }
  ::close(fd);

  BeginRead();
  PageSource::TreatEveryWalAsLarge(true);  // map at once, damage or not
  EndRead();
  BeginRead();
  PageSource::TreatEveryWalAsLarge(false);
  ASSERT_GT(source_.wal_map_bytes(), 0u);
  int fallbacks = 0;
  for (const auto& [k, v] : model_) {
    const CursorResult r = cursor_->Find(k);
    if (r == CursorResult::kFallback) {
      ++fallbacks;
    } else {
      // Only an answer from undamaged pages, and then the right one.
      ASSERT_EQ(r, CursorResult::kOk) << k;
      ASSERT_EQ(CurrentValue(), v) << k;
    }
    source_.EndRead();
  }
  EXPECT_GT(fallbacks, 0);
  // Each damaged page read (by the map, then by xRead) returns nothing.
  uint32_t refused = 0;
  for (uint32_t pgno = 2; pgno <= snap_.db_pages; ++pgno) {
    if (source_.Page(snap_, pgno) == nullptr) ++refused;
    if (source_.PageOnce(snap_, pgno) == nullptr) ++refused;
    source_.EndRead();
  }
  EXPECT_GT(refused, 0u);
  EndRead();
}

// A WAL of several WAL-index units (over 4062 frames), with pages
// rewritten in later units: each page reads from its newest frame, both
// when the snapshot's page table is built whole and when later snapshots
// extend it, and for a snapshot taken after part of the WAL was
// checkpointed.
TEST_F(WalMapTest, PagesOfAWalOfManyUnitsReadFromTheirNewestFrames) {
  Load(0, 5000, 1);
  BeginRead();
  ASSERT_GT(snap_.max_frame, 4062u);
  ReadThenAdvance(11);
  CheckAllRows(11);
  EndRead();
  for (int round = 0; round < 3; ++round) {
    Load(static_cast<uint32_t>(round * 1000), 5000 + round * 500, 2 + round);
    BeginRead();
    ReadThenAdvance(40 + round);
    const uint64_t reads_before = source_.frames_read();
    CheckAllRows(12 + round);
    EXPECT_EQ(source_.frames_read(), reads_before) << round;
    EndRead();
  }
  // A reader's mark in the middle stops a checkpoint there.
  sqlite3* mark = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &mark), SQLITE_OK);
  Exec(mark, "BEGIN; SELECT count(*) FROM t;");
  Load(2000, 7000, 9);
  Exec(writer_, "PRAGMA wal_checkpoint(PASSIVE)");
  BeginRead();
  EXPECT_GT(snap_.min_frame, 1u);
  CheckAllRows(20);
  EndRead();
  Exec(mark, "COMMIT");
  sqlite3_close(mark);
}

TEST(WalPageTableTest, KeepsTheLastFrameOfEachPageAcrossGrowth) {
  WalPageTable table;
  EXPECT_EQ(table.Find(7), 0u);
  std::map<uint32_t, uint32_t> model;
  std::mt19937 rng(3);
  for (uint32_t frame = 1; frame <= 50000; ++frame) {
    // Pages in a range, many written more than once, plus huge numbers.
    const uint32_t pgno =
        frame % 9 == 0 ? 0xfffffff0u - frame % 5 : 1 + rng() % 20000;
    ASSERT_TRUE(table.Put(pgno, frame));
    model[pgno] = frame;
  }
  ASSERT_TRUE(table.Put(0, 50001));  // page 0 is no page
  EXPECT_EQ(table.Find(0), 0u);
  EXPECT_EQ(table.size(), model.size());
  for (const auto& [pgno, frame] : model) ASSERT_EQ(table.Find(pgno), frame);
  for (uint32_t pgno = 20001; pgno < 30000; ++pgno) {
    ASSERT_EQ(table.Find(pgno), 0u);
  }
  table.Clear();
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.Find(5), 0u);
}

}  // namespace
}  // namespace snkv::engine

// Through the C API: an encrypted store and a plain one, loaded in one
// transaction while another connection's read mark keeps every frame of
// the load in the WAL (no checkpoint can copy them), read right after the
// load; then, with frame headers damaged, every get still returns the
// right value or an error (the page reader hands such reads to SQL).
namespace {

using snkv::engine::Value;
using snkv::test::Get;
using snkv::test::Put;
using snkv::test::TableKey;
using snkv::test::TempDir;
using Model = std::map<std::string, std::string>;

// A connection of its own in a read transaction on the store at `path`:
// while it lives no checkpoint copies the WAL's frames or starts the WAL
// over, so what is written meanwhile is read from the WAL.
class ReadMark {
 public:
  explicit ReadMark(const std::string& path) {
    held_ = sqlite3_open(path.c_str(), &db_) == SQLITE_OK &&
            sqlite3_exec(db_, "BEGIN; SELECT count(*) FROM sqlite_schema;",
                         nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~ReadMark() {
    sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
  }
  ReadMark(const ReadMark&) = delete;
  ReadMark& operator=(const ReadMark&) = delete;

  bool held() const { return held_; }

 private:
  sqlite3* db_ = nullptr;
  bool held_ = false;
};

// Puts rows [0, rows) in one transaction of `kv`; *model gets them too.
void LoadInOneTransaction(KVStore* kv, uint32_t rows, Model* model) {
  ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
  for (uint32_t i = 0; i < rows; ++i) {
    (*model)[TableKey(i)] = Value(i, 1);
    ASSERT_EQ(Put(kv, TableKey(i), Value(i, 1)), KVSTORE_OK);
  }
  ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
}

// Every key of `model` reads its value through `kv`, `passes` times over
// (the first reads go through SQL, later ones through the pages, and
// enough of them make the handle map the WAL).
void ExpectModelReads(KVStore* kv, const Model& model, int passes) {
  for (int pass = 0; pass < passes; ++pass) {
    for (const auto& [k, v] : model) ASSERT_EQ(Get(kv, k), v) << k;
  }
}

// Writes "page 1" into the header of every 5th frame of the WAL at `wal`.
void DamageEveryFifthFrameHeader(const std::string& wal) {
  const int fd = ::open(wal.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  const int64_t frame_bytes = 24 + 4096;
  const int64_t frames = (snkv::test::FileSize(wal) - 32) / frame_bytes;
  for (int64_t f = 0; f < frames; f += 5) {
    const uint8_t pgno[4] = {0, 0, 0, 1};
    ASSERT_EQ(::pwrite(fd, pgno, 4, static_cast<off_t>(32 + f * frame_bytes)),
              4);
  }
  ::close(fd);
}

void LoadAndReadBack(KVStore* kv, const std::string& path, bool damage) {
  const ReadMark pin(path);
  ASSERT_TRUE(pin.held());
  Model model;
  ASSERT_NO_FATAL_FAILURE(LoadInOneTransaction(kv, 4000, &model));
  if (damage)
    ASSERT_NO_FATAL_FAILURE(DamageEveryFifthFrameHeader(path + "-wal"));
  ExpectModelReads(kv, model, 3);
}

TEST(WalMapStore, EncryptedStoreReadsItsValuesRightAfterALoad) {
  TempDir dir;
  const std::string path = dir.file("enc.db");
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_NORMAL;
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open_encrypted(path.c_str(), "pw", 2, &kv, &cfg),
            KVSTORE_OK);
  LoadAndReadBack(kv, path, false);
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
  // And again from a new handle, after the WAL was checkpointed.
  ASSERT_EQ(kvstore_open_encrypted(path.c_str(), "pw", 2, &kv, &cfg),
            KVSTORE_OK);
  EXPECT_EQ(Get(kv, TableKey(17)), Value(17, 1));
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST(WalMapStore, DamagedFrameHeadersNeverGiveWrongValues) {
  TempDir dir;
  const std::string path = dir.file("plain.db");
  KVStore* kv = snkv::test::OpenWal(path);
  ASSERT_NE(kv, nullptr);
  LoadAndReadBack(kv, path, true);
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// A file renamed over the -wal path while the store's connection keeps its
// own WAL open is not what SQLite reads: the handle must not map it, or a
// later truncation of that file would fault (SIGBUS) under the map.
TEST(WalMapStore, AFileRenamedOverTheWalPathIsNeverMapped) {
  TempDir dir;
  const std::string path = dir.file("renamed.db");
  KVStore* kv = snkv::test::OpenWal(path);
  ASSERT_NE(kv, nullptr);
  {
    const ReadMark pin(path);  // no checkpoint may start the WAL over
    ASSERT_TRUE(pin.held());
    Model model;
    ASSERT_NO_FATAL_FAILURE(LoadInOneTransaction(kv, 3000, &model));
    // A byte-for-byte copy takes the WAL's name; SQLite still has the old
    // one.
    const std::string wal = path + "-wal";
    const std::string copy = path + "-copy";
    {
      const std::string bytes = snkv::test::ReadFile(wal);
      ASSERT_FALSE(bytes.empty());
      snkv::test::WriteFile(copy, bytes);
    }
    ASSERT_EQ(::rename(copy.c_str(), wal.c_str()), 0);
    ASSERT_NO_FATAL_FAILURE(ExpectModelReads(kv, model, 3));  // wants a map
    ASSERT_EQ(::truncate(wal.c_str(), 0), 0);
    ExpectModelReads(kv, model, 1);
  }
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
}

}  // namespace
