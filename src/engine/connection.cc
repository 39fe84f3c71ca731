#include "engine/connection.h"

#include "engine/sqlite_status.h"
#include "engine/wal_write_vfs.h"

namespace snkv::engine {

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    Close();
    db_ = other.db_;
    generation_ = other.generation_;
    other.db_ = nullptr;
  }
  return *this;
}

Status Connection::Open(const std::string& path, int flags) {
  Close();
  sqlite3* db = nullptr;
  // The coalescing VFS only changes how WAL frames reach the file
  // (engine/wal_write_vfs.h); without it SQLite's default does the same.
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_EXRESCODE,
                           CoalescingVfsName());
  if (rc != SQLITE_OK) {
    Status s = StatusFromSqlite(rc, db, "cannot open '" + path + "'");
    sqlite3_close_v2(db);  // a handle is returned even on most failures
    return s;
  }
  // Triggers in a file are code its author chose to run behind our
  // writes: a hostile one could delete or rewrite other keys on every put,
  // unseen by the integrity check. snkv creates none, so on its connections
  // none fires.
  rc = sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
  if (rc != SQLITE_OK) {
    Status s = StatusFromSqlite(rc, db, "cannot turn triggers off");
    sqlite3_close_v2(db);
    return s;
  }
  db_ = db;
  generation_ = ForkGeneration();
  return Status::OK();
}

void Connection::Close() noexcept {
  if (db_ != nullptr) {
    // Closing the parent's connection in a child could release or delete
    // what the parent still uses (its WAL, its locks): leak it instead.
    if (opened_here()) sqlite3_close_v2(db_);
    db_ = nullptr;
  }
}

Status Connection::Exec(const char* sql) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::OK() : Error(rc, sql);
}

Status Connection::QueryInt(const char* sql, int64_t* out) {
  Statement stmt;
  Status s = stmt.Prepare(*this, sql, /*persistent=*/false);
  if (!s.ok()) return s;
  int rc = stmt.Step();
  if (rc == SQLITE_ROW) {
    *out = stmt.ColumnInt(0);
    return Status::OK();
  }
  if (rc == SQLITE_DONE) {
    *out = 0;
    return Status::OK();
  }
  return stmt.Error(rc, sql);
}

Status Connection::QueryText(const char* sql, std::string* out) {
  Statement stmt;
  Status s = stmt.Prepare(*this, sql, /*persistent=*/false);
  if (!s.ok()) return s;
  int rc = stmt.Step();
  if (rc == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt.get(), 0);
    out->assign(text ? reinterpret_cast<const char*>(text) : "",
                static_cast<size_t>(sqlite3_column_bytes(stmt.get(), 0)));
    return Status::OK();
  }
  if (rc == SQLITE_DONE) {
    out->clear();
    return Status::OK();
  }
  return stmt.Error(rc, sql);
}

bool Connection::HasActiveStatements() const noexcept {
  for (sqlite3_stmt* stmt = sqlite3_next_stmt(db_, nullptr); stmt != nullptr;
       stmt = sqlite3_next_stmt(db_, stmt)) {
    if (sqlite3_stmt_busy(stmt)) return true;
  }
  return false;
}

Status Connection::Error(int rc, std::string_view context) const {
  return StatusFromSqlite(rc, db_, context);
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    Finalize();
    stmt_ = other.stmt_;
    generation_ = other.generation_;
    other.stmt_ = nullptr;
  }
  return *this;
}

Status Statement::Prepare(const Connection& conn, std::string_view sql,
                          bool persistent) {
  Finalize();
  int rc = sqlite3_prepare_v3(
      conn.get(), sql.data(), static_cast<int>(sql.size()),
      persistent ? SQLITE_PREPARE_PERSISTENT : 0, &stmt_, nullptr);
  generation_ = ForkGeneration();
  if (rc != SQLITE_OK) {
    Status s = conn.Error(rc, "prepare");
    Finalize();
    return s;
  }
  return Status::OK();
}

void Statement::Finalize() noexcept {
  if (stmt_ != nullptr) {
    if (generation_ == ForkGeneration()) sqlite3_finalize(stmt_);
    stmt_ = nullptr;
  }
}

void Statement::BindBlob(int index, Slice bytes) noexcept {
  // sqlite3_bind_blob binds NULL for a null pointer; Slice never has one,
  // but an empty view may point anywhere, so pin it to a literal.
  const char* data = bytes.empty() ? "" : bytes.data();
  sqlite3_bind_blob64(stmt_, index, data, bytes.size(), SQLITE_STATIC);
}

void Statement::BindText(int index, std::string_view text) noexcept {
  const char* data = text.empty() ? "" : text.data();
  sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_STATIC,
                      SQLITE_UTF8);
}

void Statement::BindInt(int index, int64_t value) noexcept {
  sqlite3_bind_int64(stmt_, index, value);
}

void Statement::BindNull(int index) noexcept {
  sqlite3_bind_null(stmt_, index);
}

Status Statement::Run(std::string_view context) {
  int rc;
  while ((rc = Step()) == SQLITE_ROW) {
  }
  return rc == SQLITE_DONE ? Status::OK() : Error(rc, context);
}

void Statement::Reset() noexcept {
  // Bindings stay: every caller binds all parameters before each run, and
  // clearing them costs a call per operation on the hot path.
  if (stmt_ != nullptr) sqlite3_reset(stmt_);
}

Slice Statement::ColumnBlob(int col) const noexcept {
  const void* data = sqlite3_column_blob(stmt_, col);
  auto size = static_cast<size_t>(sqlite3_column_bytes(stmt_, col));
  return data ? Slice(data, size) : Slice();
}

Status Statement::Error(int rc, std::string_view context) const {
  return StatusFromSqlite(rc, stmt_ ? sqlite3_db_handle(stmt_) : nullptr,
                          context);
}

}  // namespace snkv::engine
