// sqlite_handles.h -- owning handles for SQLite connections and statements,
// shared by the plain-SQLite backend and snkv_ceiling.
#ifndef SNKV_BENCH_SQLITE_HANDLES_H
#define SNKV_BENCH_SQLITE_HANDLES_H

#include <sqlite3.h>

#include <memory>

namespace bench {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

}  // namespace bench

#endif  // SNKV_BENCH_SQLITE_HANDLES_H
