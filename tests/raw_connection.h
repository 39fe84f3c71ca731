// RawConnection: a second, plain SQLite connection to a store file, for
// tests that look under the hood of the out-of-line value format (counting
// values rows, stored types) or damage it on purpose.
#ifndef SNKV_TESTS_RAW_CONNECTION_H
#define SNKV_TESTS_RAW_CONNECTION_H

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kv/schema.h"

namespace snkv::test {

class RawConnection {
 public:
  explicit RawConnection(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawConnection() { sqlite3_close(db_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // The first column of the first row of `sql` as an integer; -1 on error
  // (e.g. no such table), -2 for no row.
  int64_t Int(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      return -1;
    }
    const int rc = sqlite3_step(stmt);
    const int64_t out = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0)
                                         : (rc == SQLITE_DONE ? -2 : -1);
    sqlite3_finalize(stmt);
    return out;
  }
  // The first column of the first row of `sql` as text ("" if none).
  std::string Text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* t = sqlite3_column_text(stmt, 0);
      if (t) out = reinterpret_cast<const char*>(t);
    }
    sqlite3_finalize(stmt);
    return out;
  }
  void Exec(const std::string& sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
        << (err ? err : "") << " in " << sql;
    sqlite3_free(err);
  }

  bool HasValuesTable(int64_t id = 0) {
    return Int("SELECT count(*) FROM sqlite_schema WHERE name = '" +
               schema::ValuesTableName(id) + "'") == 1;
  }
  // Rows of the values table of family `id` (0 when there is none).
  int64_t ValuesRows(int64_t id = 0) {
    if (!HasValuesTable(id)) return 0;
    return Int("SELECT count(*) FROM " + schema::ValuesTableName(id));
  }
  // Values rows of family `id` no row refers to.
  int64_t Orphans(int64_t id) {
    if (!HasValuesTable(id)) return 0;
    return Int("SELECT count(*) FROM " + schema::ValuesTableName(id) +
               " WHERE id NOT IN (SELECT v FROM " + schema::TableName(id) +
               " WHERE typeof(v) = 'integer')");
  }
  // References of family `id` to no values row.
  int64_t Dangling(int64_t id) {
    const std::string t = schema::TableName(id);
    if (!HasValuesTable(id)) {
      return Int("SELECT count(*) FROM " + t + " WHERE typeof(v) = 'integer'");
    }
    return Int("SELECT count(*) FROM " + t +
               " WHERE typeof(v) = 'integer' AND v NOT IN (SELECT id FROM " +
               schema::ValuesTableName(id) + ")");
  }
  // Orphaned plus dangling, over every family of the store.
  int64_t OutOfStepAll() {
    std::vector<int64_t> ids;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT id FROM snkv_cf", -1, &stmt, nullptr) !=
        SQLITE_OK) {
      return -1;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      ids.push_back(sqlite3_column_int64(stmt, 0));
    }
    sqlite3_finalize(stmt);
    int64_t n = 0;
    for (int64_t id : ids) n += Orphans(id) + Dangling(id);
    return n;
  }
  // How many values tables the store has.
  int64_t ValuesTables() {
    return Int(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name "
        "LIKE 'kv\\_%\\_values' ESCAPE '\\'");
  }
  int64_t UserVersion() { return Int("PRAGMA user_version"); }
  // The stored type of key's v in family `id` ("" if no row).
  std::string TypeOf(const std::string& key, int64_t id = 0) {
    return Text("SELECT typeof(v) FROM " + schema::TableName(id) +
                " WHERE k = CAST('" + key + "' AS BLOB)");
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace snkv::test

#endif  // SNKV_TESTS_RAW_CONNECTION_H
