// A fixture for the tests of the page reader (engine/page_source.h,
// engine/index_cursor.h) against SQLite: a table laid out as a store's
// family table, written with SQL and read through the pages.
#ifndef SNKV_TESTS_PAGE_READER_TEST_UTIL_H
#define SNKV_TESTS_PAGE_READER_TEST_UTIL_H

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "engine/index_cursor.h"
#include "engine/page_source.h"
#include "engine/wal_snapshot.h"
#include "test_util.h"

namespace snkv::test {

// "key" and i in eight digits, so that keys sort as their numbers do.
inline std::string TableKey(uint32_t i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "key%08u", i);
  return buf;
}

// A connection db_ on table t (k BLOB PRIMARY KEY, v, expires, WITHOUT
// ROWID, as a family's table; 4 KiB pages, WAL, no automatic checkpoint),
// and a PageSource + IndexCursor reading t as StoreCore does: inside a
// read transaction of db_, described by the WAL-index header it began
// with. A test's SetUp calls OpenTable.
class PageReaderTest : public ::testing::Test {
 protected:
  // Opens path() through the VFS named `vfs` (nullptr: SQLite's default)
  // and creates t.
  void OpenTable(const char* vfs) {
    ASSERT_EQ(sqlite3_open_v2(path().c_str(), &db_,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
              SQLITE_OK);
    Exec(
        "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL;"
        "PRAGMA wal_autocheckpoint = 0;"
        "CREATE TABLE t(k BLOB PRIMARY KEY, v BLOB NOT NULL, expires INTEGER)"
        " WITHOUT ROWID;");
  }
  // The cursor and the source go before the connection they read.
  void TearDown() override {
    cursor_.reset();
    source_.Detach();
    sqlite3_close(db_);
  }
  std::string path() const { return dir_.file("t.db"); }

  static void Exec(sqlite3* db, const char* sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK)
        << (err ? err : "");
  }
  void Exec(const char* sql) { Exec(db_, sql); }

  // Opens a read transaction of db_ and a cursor on t in it.
  void BeginRead() {
    Exec("BEGIN");
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(
                  db_, "SELECT rootpage FROM sqlite_schema WHERE name = 't'",
                  -1, &s, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);  // takes the read snapshot
    root_ = static_cast<uint32_t>(sqlite3_column_int64(s, 0));
    sqlite3_finalize(s);
    ASSERT_TRUE(watch_.Attach(db_));
    if (!source_.attached()) ASSERT_TRUE(source_.Attach(db_, 4096));
    snap_ = source_.Describe(watch_.Read(), watch_.Backfilled());
    ASSERT_TRUE(snap_.usable());
    cursor_.emplace(source_, snap_, root_);
  }
  void EndRead() {
    cursor_.reset();
    source_.EndRead();
    Exec("COMMIT");
  }

  TempDir dir_;
  sqlite3* db_ = nullptr;  // the reading connection
  engine::WalWatch watch_;
  engine::PageSource source_;
  engine::PageSnapshot snap_;
  uint32_t root_ = 0;
  std::optional<engine::IndexCursor> cursor_;
};

}  // namespace snkv::test

#endif  // SNKV_TESTS_PAGE_READER_TEST_UTIL_H
