// Translation of SQLite result codes into snkv Status values.
#ifndef SNKV_ENGINE_SQLITE_STATUS_H
#define SNKV_ENGINE_SQLITE_STATUS_H

#include <sqlite3.h>

#include <string_view>

#include "snkv/status.h"

namespace snkv::engine {

// The snkv Code for an SQLite (possibly extended) result code. Codes with no
// snkv counterpart become Code::kError; SQLITE_NOTADB becomes kCorrupt.
Code CodeFromSqlite(int rc) noexcept;

// A Status for a failed SQLite call on `db`: the mapped code and
// "<context>: <sqlite3_errmsg(db)>". rc must not be SQLITE_OK/ROW/DONE.
Status StatusFromSqlite(int rc, sqlite3* db, std::string_view context);

}  // namespace snkv::engine

#endif  // SNKV_ENGINE_SQLITE_STATUS_H
