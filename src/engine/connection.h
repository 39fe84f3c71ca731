// RAII ownership of SQLite connections and prepared statements.
//
// Connection owns a sqlite3*; Statement owns a sqlite3_stmt*. Neither is
// thread-safe: the store serialises access with its own mutex, so SQLite's
// connection mutex is disabled (SQLITE_OPEN_NOMUTEX).
#ifndef SNKV_ENGINE_CONNECTION_H
#define SNKV_ENGINE_CONNECTION_H

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/fork_generation.h"
#include "snkv/slice.h"
#include "snkv/status.h"

namespace snkv::engine {

class Statement;

class Connection {
 public:
  Connection() noexcept = default;
  ~Connection() { Close(); }
  Connection(Connection&& other) noexcept
      : db_(other.db_), generation_(other.generation_) {
    other.db_ = nullptr;
  }
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Opens `path` (SQLite URI syntax is off; ":memory:" is in-memory) with
  // sqlite3_open_v2 `flags`, extended result codes on.
  Status Open(const std::string& path, int flags);
  // Closes the connection. Statements still alive keep it as a zombie until
  // they are finalized (sqlite3_close_v2), so ownership errors cannot crash.
  // In a forked child a connection opened before the fork is let go
  // without closing it (see fork_generation.h).
  void Close() noexcept;
  // Whether the connection was opened in this process (not before a fork).
  bool opened_here() const noexcept { return generation_ == ForkGeneration(); }

  sqlite3* get() const noexcept { return db_; }
  bool is_open() const noexcept { return db_ != nullptr; }

  // Runs one or more SQL statements that return no rows of interest.
  Status Exec(const char* sql);
  // Runs `sql` (one statement) and reads the first column of its first row
  // as an integer / text. Missing rows read as 0 / "".
  Status QueryInt(const char* sql, int64_t* out);
  Status QueryText(const char* sql, std::string* out);

  // True while a transaction (explicit or statement-implied) is open.
  bool in_transaction() const noexcept {
    return sqlite3_get_autocommit(db_) == 0;
  }

  // True while any statement of this connection is mid-run (for example
  // an iterator), which pins the connection's read transaction.
  bool HasActiveStatements() const noexcept;

  Status Error(int rc, std::string_view context) const;

 private:
  sqlite3* db_ = nullptr;
  uint64_t generation_ = 0;  // ForkGeneration() at Open
};

class Statement {
 public:
  Statement() noexcept = default;
  ~Statement() { Finalize(); }
  Statement(Statement&& other) noexcept
      : stmt_(other.stmt_), generation_(other.generation_) {
    other.stmt_ = nullptr;
  }
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Compiles `sql`. `persistent` hints SQLite that it will be reused often.
  Status Prepare(const Connection& conn, std::string_view sql,
                 bool persistent = true);
  // Finalizes the statement; in a forked child one prepared before the
  // fork is let go instead (see Connection::Close).
  void Finalize() noexcept;
  bool is_prepared() const noexcept { return stmt_ != nullptr; }
  sqlite3_stmt* get() const noexcept { return stmt_; }
  sqlite3* db() const noexcept { return sqlite3_db_handle(stmt_); }

  // Bindings; index is 1-based. Blobs and text are bound SQLITE_STATIC: the
  // bytes must stay alive until Reset(). An empty blob binds as a
  // zero-length blob, never as NULL.
  void BindBlob(int index, Slice bytes) noexcept;
  void BindText(int index, std::string_view text) noexcept;
  void BindInt(int index, int64_t value) noexcept;
  void BindNull(int index) noexcept;

  // One step: SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() noexcept { return sqlite3_step(stmt_); }
  // Step() until done; OK or the error.
  Status Run(std::string_view context);
  // Ends the current run so the statement can be reused; also releases any
  // read lock the run held. Bindings are kept: bind every parameter before
  // each run (blobs bound earlier may point at memory that is gone).
  void Reset() noexcept;

  Slice ColumnBlob(int col) const noexcept;
  int64_t ColumnInt(int col) const noexcept {
    return sqlite3_column_int64(stmt_, col);
  }
  bool ColumnIsNull(int col) const noexcept {
    return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
  }

  Status Error(int rc, std::string_view context) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
  uint64_t generation_ = 0;  // ForkGeneration() at Prepare
};

// Resets a statement when leaving scope, so no early return leaves it
// running and holding locks.
class ResetGuard {
 public:
  explicit ResetGuard(Statement& stmt) noexcept : stmt_(stmt) {}
  ~ResetGuard() { stmt_.Reset(); }
  ResetGuard(const ResetGuard&) = delete;
  ResetGuard& operator=(const ResetGuard&) = delete;

 private:
  Statement& stmt_;
};

}  // namespace snkv::engine

#endif  // SNKV_ENGINE_CONNECTION_H
