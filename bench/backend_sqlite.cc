// backend_sqlite.cc -- plain SQLite, the baseline: one WITHOUT ROWID table,
// prepared statements, autocommit reads through a prepared SELECT.
#include <sqlite3.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "backend.h"
#include "sqlite_handles.h"

namespace bench {
namespace {

// Throws with SQLite's message when rc is not one of the accepted codes.
void check(sqlite3* db, int rc, const char* what) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return;
  throw std::runtime_error(std::string("sqlite ") + what + ": " +
                           sqlite3_errmsg(db));
}

// The smallest byte string greater than every string starting with prefix,
// or "" when there is none (prefix is all 0xff bytes).
std::string prefix_successor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    auto c = static_cast<unsigned char>(s.back());
    if (c != 0xff) {
      s.back() = static_cast<char>(c + 1);
      return s;
    }
    s.pop_back();
  }
  return s;
}

class SqliteBackend final : public Backend {
 public:
  // Open (create) dir/kv.db with the benchmark's common settings.
  SqliteBackend(std::string dir, const StoreSettings& settings)
      : dir_(std::move(dir)), settings_(settings) {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(
        (dir_ + "/kv.db").c_str(), &raw,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
        nullptr);
    db_.reset(raw);
    check(db_.get(), rc, "open");
    sqlite3_busy_timeout(db_.get(), settings.busy_timeout_ms);
    exec("PRAGMA page_size=" + std::to_string(settings.page_size));
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    exec("PRAGMA cache_size=" + std::to_string(settings.cache_pages));
    exec(
        "CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB) "
        "WITHOUT ROWID");
    put_ = prepare("INSERT OR REPLACE INTO kv(k, v) VALUES(?1, ?2)");
    get_ = prepare("SELECT v FROM kv WHERE k = ?1");
    exists_ = prepare("SELECT 1 FROM kv WHERE k = ?1");
    del_ = prepare("DELETE FROM kv WHERE k = ?1");
    begin_ = prepare("BEGIN IMMEDIATE");
    commit_ = prepare("COMMIT");
    scan_ = prepare("SELECT k, v FROM kv ORDER BY k");
    rscan_ = prepare("SELECT k, v FROM kv ORDER BY k DESC");
    prefix_ =
        prepare("SELECT k, v FROM kv WHERE k >= ?1 AND k < ?2 ORDER BY k");
    from_ = prepare("SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k");
    range_ = prepare("SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k LIMIT ?2");
  }

  void put(std::string_view key, std::string_view value) override {
    Reset r(put_.get());
    bind(put_.get(), 1, key);
    bind(put_.get(), 2, value);
    check(db_.get(), sqlite3_step(put_.get()), "put");
  }

  bool get(std::string_view key, std::string* value) override {
    Reset r(get_.get());
    bind(get_.get(), 1, key);
    int rc = sqlite3_step(get_.get());
    check(db_.get(), rc, "get");
    if (rc != SQLITE_ROW) return false;
    const void* p = sqlite3_column_blob(get_.get(), 0);
    int n = sqlite3_column_bytes(get_.get(), 0);
    value->assign(static_cast<const char*>(p), static_cast<size_t>(n));
    return true;
  }

  bool exists(std::string_view key) override {
    Reset r(exists_.get());
    bind(exists_.get(), 1, key);
    int rc = sqlite3_step(exists_.get());
    check(db_.get(), rc, "exists");
    return rc == SQLITE_ROW;
  }

  bool del(std::string_view key) override {
    Reset r(del_.get());
    bind(del_.get(), 1, key);
    check(db_.get(), sqlite3_step(del_.get()), "del");
    return sqlite3_changes(db_.get()) > 0;
  }

  void begin() override {
    Reset r(begin_.get());
    check(db_.get(), sqlite3_step(begin_.get()), "begin");
  }

  void commit() override {
    Reset r(commit_.get());
    check(db_.get(), sqlite3_step(commit_.get()), "commit");
  }

  uint64_t scan(const Visit& visit) override {
    return run_scan(scan_.get(), visit);
  }

  uint64_t reverse_scan(const Visit& visit) override {
    return run_scan(rscan_.get(), visit);
  }

  uint64_t prefix_scan(std::string_view prefix, const Visit& visit) override {
    std::string upper = prefix_successor(prefix);
    sqlite3_stmt* s = upper.empty() ? from_.get() : prefix_.get();
    bind(s, 1, prefix);
    if (!upper.empty()) bind(s, 2, upper);
    return run_scan(s, visit);
  }

  uint64_t range(std::string_view start, uint64_t n,
                 const Visit& visit) override {
    bind(range_.get(), 1, start);
    sqlite3_bind_int64(range_.get(), 2, static_cast<sqlite3_int64>(n));
    return run_scan(range_.get(), visit);
  }

  std::unique_ptr<Backend> open_reader() override {
    return std::make_unique<SqliteBackend>(dir_, settings_);
  }

 private:
  // Resets a statement (and clears its bindings) when leaving a scope.
  struct Reset {
    sqlite3_stmt* s;
    explicit Reset(sqlite3_stmt* st) : s(st) {}
    ~Reset() {
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
    }
    Reset(const Reset&) = delete;
    Reset& operator=(const Reset&) = delete;
  };

  // Runs sql that returns no rows; throws on error.
  void exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    if (rc != SQLITE_OK)
      throw std::runtime_error("sqlite: " + sql + ": " + msg);
  }

  // Compiles sql once for reuse for the life of the connection.
  StmtPtr prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    check(db_.get(),
          sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s,
                             nullptr),
          sql);
    return StmtPtr(s);
  }

  // Binds bytes (not copied: they must outlive the step) to parameter i.
  void bind(sqlite3_stmt* s, int i, std::string_view bytes) {
    check(db_.get(),
          sqlite3_bind_blob(s, i, bytes.empty() ? "" : bytes.data(),
                            static_cast<int>(bytes.size()), SQLITE_STATIC),
          "bind");
  }

  // Steps a query of (k, v) rows, handing each to visit; returns rows seen.
  uint64_t run_scan(sqlite3_stmt* s, const Visit& visit) {
    Reset r(s);
    uint64_t n = 0;
    for (;;) {
      int rc = sqlite3_step(s);
      check(db_.get(), rc, "scan");
      if (rc != SQLITE_ROW) break;
      std::string_view k(static_cast<const char*>(sqlite3_column_blob(s, 0)),
                         static_cast<size_t>(sqlite3_column_bytes(s, 0)));
      std::string_view v(static_cast<const char*>(sqlite3_column_blob(s, 1)),
                         static_cast<size_t>(sqlite3_column_bytes(s, 1)));
      ++n;
      if (!visit(k, v)) break;
    }
    return n;
  }

  std::string dir_;
  StoreSettings settings_;
  DbPtr db_;
  StmtPtr put_, get_, exists_, del_, begin_, commit_;
  StmtPtr scan_, rscan_, prefix_, from_, range_;
};

// Opens the SQLite baseline store in dir.
std::unique_ptr<Backend> open_sqlite(const std::string& dir,
                                     const StoreSettings& settings) {
  return std::make_unique<SqliteBackend>(dir, settings);
}

}  // namespace

// The SQLite baseline; another process opens it like the first one does.
BackendInfo sqlite_backend() {
  return {"sqlite", open_sqlite, open_sqlite, 0,
          "WAL, synchronous=NORMAL, cache_size=2000, page_size=4096, "
          "WITHOUT ROWID table, prepared statements, autocommit reads"};
}

}  // namespace bench
