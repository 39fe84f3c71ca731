#include "engine/sqlite_status.h"

#include <string>

namespace snkv::engine {

Code CodeFromSqlite(int rc) noexcept {
  switch (rc & 0xff) {
    case SQLITE_OK:
      return Code::kOk;
    case SQLITE_BUSY:
      return Code::kBusy;
    case SQLITE_LOCKED:
      return Code::kLocked;
    case SQLITE_NOMEM:
      return Code::kNoMem;
    case SQLITE_READONLY:
      return Code::kReadOnly;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Code::kCorrupt;
    case SQLITE_NOTFOUND:
      return Code::kNotFound;
    case SQLITE_PROTOCOL:
      return Code::kProtocol;
    default:
      return Code::kError;
  }
}

Status StatusFromSqlite(int rc, sqlite3* db, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  // sqlite3_errmsg describes the connection's most recent error, which is rc
  // for every caller here; fall back to the generic text without a db.
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return {CodeFromSqlite(rc), msg};
}

}  // namespace snkv::engine
