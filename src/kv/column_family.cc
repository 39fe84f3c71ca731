// Data operations on one column family: StoreCore's half (SQL, TTL, stats)
// and the public ColumnFamily handle that enters it through Call().
#include <algorithm>
#include <chrono>
#include <new>
#include <string>

#include "engine/table_cursor.h"
#include "kv/schema.h"
#include "kv/store_core.h"
#include "kv/write_scope.h"
#include "snkv/store.h"

namespace snkv {

int64_t NowMs() noexcept {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  using std::chrono::system_clock;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

namespace internal {

namespace {

// What buffered writes may hold in memory: beyond this the buffer is
// written out. Larger buffers sort more writes together (see
// write_buffer.h); 32 MiB takes the benchmark's 200K updates of 100-byte
// values in one sorted pass.
constexpr size_t kMaxPendingBytes = size_t{32} << 20;
// Puts that arrive in key order (a sequential load) are written out once
// this many are buffered, or kOrderedPendingBytes, whichever comes first,
// instead of at kMaxPendingBytes: their order is already the one the sort
// would give, and a buffer that stays small stays in the CPU's cache and
// needs no fresh memory. A multiple of kPutBatchRows, so that appends all
// go through the multi-row statement. (Measured on a 1M-key sequential
// load in one transaction: docs/design.md, "Writes".)
constexpr size_t kOrderedPendingPuts = 4096;
constexpr size_t kOrderedPendingBytes = size_t{1} << 20;
static_assert(kOrderedPendingPuts % kPutBatchRows == 0);

// kPutBatchRows new rows in one statement, for appends only: keys past
// the family's greatest, each once (WriteSorted), so no row can conflict.
// OR FAIL rather than OR REPLACE: a multi-row statement that may abort
// (REPLACE still aborts on NOT NULL) gets a statement journal, which
// copies every page the statement changes that existed before it (the
// right-hand leaf, its parents, page 1, the pointer-map page) and, once it
// has outgrown 64 KiB in one statement, does so into a temporary file for
// the rest of the transaction: 150K of the 162K pwrite calls of a 1M-key
// sequential bulk insert. A statement that may only FAIL keeps the rows it
// wrote when it fails, so it needs none; a failure rolls the whole
// transaction back anyway (FlushPending).
const std::string& PutBatchSql() {
  static const std::string sql = [] {
    std::string out = "INSERT OR FAIL INTO %T(k, v, expires) VALUES";
    for (int i = 0; i < kPutBatchRows; ++i) {
      out += i == 0 ? "(?,?,?)" : ",(?,?,?)";
    }
    return out;
  }();
  return sql;
}

// The SQL of each CfStatement; "%T" stands for the family's table name.
const char* StatementSql(CfStatement which) {
  switch (which) {
    case CfStatement::kPutBatch:
      return PutBatchSql().c_str();
    case CfStatement::kGet:
      return "SELECT v, expires FROM %T WHERE k = ?1";
    case CfStatement::kExists:
      return "SELECT expires FROM %T WHERE k = ?1";
    case CfStatement::kPut:
      // The guard (here and in kPutIfAbsent, kDelete, kDeleteIfExpired):
      // a row holding a reference (an INTEGER v) is never replaced or
      // deleted here, where its values row would be left behind; the NULL
      // fails the NOT NULL constraint (or the row does not match) and the
      // write goes to the scoped path (out_of_line.cc), which frees it.
      // It costs the type of the old v, read from the record's header.
      return "INSERT INTO %T(k, v, expires) VALUES(?1, ?2, ?3)"
             " ON CONFLICT(k) DO UPDATE SET"
             " v = iif(typeof(v) = 'integer', NULL, excluded.v),"
             " expires = excluded.expires";
    case CfStatement::kReplace:
      // Same effect as kPut (the table has no triggers or foreign keys).
      // Inside a transaction SQLite gives an upsert a statement journal,
      // which REPLACE does without: random updates in one transaction ran
      // at 0.9x of plain SQLite with kPut and 1.23x with this. In autocommit
      // the upsert is faster (1.55x against 1.07x), hence both.
      return "INSERT OR REPLACE INTO %T(k, v, expires) VALUES(?1, ?2, ?3)";
    case CfStatement::kPutIfAbsent:
      // Replaces a row only if it has expired: one statement, so the check
      // and the write are atomic.
      return "INSERT INTO %T(k, v, expires) VALUES(?1, ?2, ?3)"
             " ON CONFLICT(k) DO UPDATE SET"
             " v = iif(typeof(v) = 'integer', NULL, excluded.v),"
             " expires = excluded.expires"
             " WHERE %T.expires IS NOT NULL AND %T.expires <= ?4";
    case CfStatement::kDelete:
      // Deletes only a live row; an expired one is left to ExpireKey.
      return "DELETE FROM %T WHERE k = ?1 AND (expires IS NULL OR"
             " expires > ?2) AND typeof(v) <> 'integer'";
    case CfStatement::kErase:
      return "DELETE FROM %T WHERE k = ?1";
    case CfStatement::kDeleteIfExpired:
      return "DELETE FROM %T WHERE k = ?1 AND expires <= ?2"
             " AND typeof(v) <> 'integer'";
    case CfStatement::kPurge:
      return "DELETE FROM %T WHERE expires <= ?1";  // uses the expiry index
    case CfStatement::kCount:
      return "SELECT count(*) FROM %T";
    case CfStatement::kLastKey:
      return "SELECT k FROM %T ORDER BY k DESC LIMIT 1";
    case CfStatement::kClear:
      return "DELETE FROM %T";  // no WHERE: SQLite truncates the B-tree
    case CfStatement::kGetValue:
      return "SELECT v FROM %V WHERE rowid = ?1";
    case CfStatement::kInsertValue:
      return "INSERT INTO %V(v) VALUES(?1)";
    case CfStatement::kFreeValue:
      // A blob v matches no rowid.
      return "DELETE FROM %V WHERE rowid = (SELECT v FROM %T WHERE k = ?1)";
    case CfStatement::kRowReference:
      return "SELECT v, expires FROM %T WHERE k = ?1"
             " AND typeof(v) = 'integer'";
    case CfStatement::kUpdateValue:
      return "UPDATE %V SET v = ?2 WHERE rowid = ?1";
    case CfStatement::kDropValue:
      return "DELETE FROM %V WHERE rowid = ?1";
    case CfStatement::kSetExpiry:
      return "UPDATE %T SET expires = ?2 WHERE k = ?1";
    case CfStatement::kFreeExpiredValues:
      return "DELETE FROM %V WHERE rowid IN"
             " (SELECT v FROM %T WHERE expires <= ?1)";
    case CfStatement::kClearValues:
      return "DELETE FROM %V";  // truncates, as kClear
    case CfStatement::kNumStatements:
      break;
  }
  return "";
}

// "%T" becomes the family's table name, "%V" its values table's.
std::string Expand(const char* sql, const ColumnFamilyState& cf) {
  std::string out;
  for (const char* p = sql; *p; ++p) {
    if (p[0] == '%' && p[1] == 'T') {
      out += cf.table;
      ++p;
    } else if (p[0] == '%' && p[1] == 'V') {
      out += schema::ValuesTableName(cf.id);
      ++p;
    } else {
      out += *p;
    }
  }
  return out;
}

// The TTL of a row that expires at `expires`, as of *now (read from the
// clock here): ms left, or 0 when it has expired.
int64_t RemainingTtl(int64_t expires, int64_t* now) {
  *now = NowMs();
  return expires > *now ? expires - *now : 0;
}
// The same for a row whose `expires` column is `col` of `stmt` (the clock is
// read only when the row has an expiry): kNoTtl when it has none.
int64_t RemainingTtl(const engine::Statement& stmt, int col, int64_t* now) {
  if (stmt.ColumnIsNull(col)) return kNoTtl;
  return RemainingTtl(stmt.ColumnInt(col), now);
}

// Binds a row's key, value and expiry (0: NULL) to parameters first,
// first + 1 and first + 2 of stmt.
void BindRow(engine::Statement& stmt, int first, Slice key, Slice value,
             int64_t expires) {
  stmt.BindBlob(first, key);
  stmt.BindBlob(first + 1, value);
  BindExpiry(stmt, first + 2, expires);
}

}  // namespace

void BindExpiry(engine::Statement& stmt, int index, int64_t expires) noexcept {
  if (expires != 0) {
    stmt.BindInt(index, expires);
  } else {
    stmt.BindNull(index);
  }
}

Status StoreCore::Statement(ColumnFamilyState& cf, CfStatement which,
                            engine::Statement** out) {
  Status s = CheckUsable(cf);
  if (!s.ok()) return s;
  engine::Statement& stmt = cf.statements[static_cast<size_t>(which)];
  if (!stmt.is_prepared()) {
    s = stmt.Prepare(conn_, Expand(StatementSql(which), cf));
    if (!s.ok()) {
      int rc = sqlite3_errcode(conn_.get());
      return CfError(cf, stmt, rc, "prepare");
    }
  }
  *out = &stmt;
  return Status::OK();
}

Status StoreCore::CfError(const ColumnFamilyState& cf,
                          const engine::Statement& stmt, int rc,
                          std::string_view context) const {
  std::string_view msg = sqlite3_errmsg(conn_.get());
  if ((rc & 0xff) == SQLITE_ERROR && msg.starts_with("no such table")) {
    return Status::NotFound("column family '" + cf.name + "' no longer exists");
  }
  return stmt.is_prepared() ? stmt.Error(rc, context)
                            : conn_.Error(rc, context);
}

Status StoreCore::CheckSize(Slice key, Slice value) const {
  auto limit =
      static_cast<size_t>(sqlite3_limit(conn_.get(), SQLITE_LIMIT_LENGTH, -1));
  // The row holds key, value (sealed: 40 bytes more) and a short header.
  const size_t reserve = 64 + crypto::kOverhead;
  if (key.size() >= limit - reserve ||
      value.size() >= limit - reserve - key.size()) {
    return Status::Error("key and value together exceed the size limit of " +
                         std::to_string(limit) + " bytes");
  }
  return Status::OK();
}

Status StoreCore::EnsureExpiryIndex(ColumnFamilyState& cf) {
  if (cf.has_expiry_index) return Status::OK();
  std::string sql = "CREATE INDEX IF NOT EXISTS " +
                    schema::ExpiryIndexName(cf.id) + " ON " + cf.table +
                    "(expires) WHERE expires IS NOT NULL";
  int rc = sqlite3_exec(conn_.get(), sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return CfError(cf, engine::Statement(), rc, "ttl index");
  cf.has_expiry_index = true;
  ++expiry_indexes_created_;
  return Status::OK();
}

void StoreCore::ExpireKey(ColumnFamilyState& cf, Slice key, int64_t now_ms) {
  if (!PrepareWrite().ok()) return;  // read-only store or read transaction
  engine::Statement* stmt = nullptr;
  if (!Statement(cf, CfStatement::kDeleteIfExpired, &stmt).ok()) return;
  int rc = 0;
  {
    engine::ResetGuard reset(*stmt);
    stmt->BindBlob(1, key);
    stmt->BindInt(2, now_ms);
    // Best effort: if the write lock is busy the key is removed later.
    rc = stmt->Step();
    if (rc == SQLITE_DONE && sqlite3_changes(conn_.get()) > 0) {
      ++stats_.ttl_expired;
      return;
    }
  }
  // The guard left an out-of-line row (when the family is known to have
  // any; otherwise a purge or a later write removes it).
  if (rc == SQLITE_DONE && cf.has_values_table) {
    bool live = false;
    (void)DeleteInScope(cf, key, now_ms, /*only_expired=*/true, &live);
  }
}

Status StoreCore::PrepareValueWrite(ColumnFamilyState& cf, Slice key,
                                    Slice value, int64_t expire_at_ms,
                                    Slice* stored) {
  if (expire_at_ms < 0) {
    return Status::Error("expiry time must not be negative");
  }
  Status s = CheckSize(key, value);
  if (!s.ok()) return s;
  // Creating the expiry index is a schema change, which needs the pin gone.
  s = PrepareWrite(/*keep_write_pin=*/expire_at_ms == 0 || cf.has_expiry_index);
  if (!s.ok()) return s;
  s = CheckUsable(cf);
  if (!s.ok()) return s;
  if (expire_at_ms != 0) {
    s = EnsureExpiryIndex(cf);
    if (!s.ok()) return s;
  }
  return SealValue(cf.id, key, value, &value_buf_, stored);
}

Status StoreCore::Put(ColumnFamilyState& cf, Slice key, Slice value,
                      int64_t expire_at_ms) {
  Slice stored;
  Status s = PrepareValueWrite(cf, key, value, expire_at_ms, &stored);
  if (!s.ok()) return s;
  if (txn_ == Txn::kWrite) {
    s = BufferPut(cf, key, stored, expire_at_ms);
  } else if (GoesOutOfLine(key, stored, expire_at_ms)) {
    s = PutInScope(cf, key, stored, expire_at_ms, false, nullptr);
  } else {
    engine::Statement* stmt = nullptr;
    s = Statement(cf, CfStatement::kPut, &stmt);
    if (!s.ok()) return s;
    engine::ResetGuard reset(*stmt);
    BindRow(*stmt, 1, key, stored, expire_at_ms);
    int rc = StepAutocommitWrite(*stmt);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {  // the old row is out of line
      stmt->Reset();
      s = PutInScope(cf, key, stored, expire_at_ms, false, nullptr);
    } else if (rc != SQLITE_DONE) {
      return CfError(cf, *stmt, rc, "put");
    }
  }
  if (!s.ok()) return s;
  ++stats_.puts;
  stats_.bytes_written += key.size() + value.size();
  return Status::OK();
}

Status StoreCore::BufferPut(ColumnFamilyState& cf, Slice key, Slice stored,
                            int64_t expire_at_ms) {
  // A put this large gains nothing from waiting and would only be copied.
  constexpr size_t kDirectPutBytes = size_t{256} << 10;
  Status s = CheckFamilyForBuffering(cf);
  if (!s.ok()) return s;
  if (GoesOutOfLine(key, stored, expire_at_ms)) {
    // In this transaction, before the row is buffered (a rollback undoes
    // both), so that writing it out changes no schema.
    s = EnsureValuesTable(cf, nullptr);
    if (!s.ok()) return s;
  }
  if (key.size() + stored.size() >= kDirectPutBytes) {
    s = FlushPending();  // keeps the puts in the order made
    if (!s.ok()) return s;
    return WriteOne(cf, WriteBuffer::Put{&cf, key, stored, expire_at_ms});
  }
  pending_.Add(cf, key, stored, expire_at_ms);
  const bool ordered_enough =
      pending_.ordered_puts() && (pending_.size() >= kOrderedPendingPuts ||
                                  pending_.memory() >= kOrderedPendingBytes);
  if (ordered_enough || pending_.memory() >= kMaxPendingBytes) {
    return FlushPending();
  }
  return Status::OK();
}

Status StoreCore::CheckFamilyForBuffering(ColumnFamilyState& cf) {
  if (cf.checked_in_txn == write_txn_serial_) return Status::OK();
  // Holding the write lock, nobody can drop the family later in this
  // transaction.
  Status s = CheckExists(cf);
  if (!s.ok()) return s;
  cf.checked_in_txn = write_txn_serial_;
  return Status::OK();
}

Status StoreCore::BufferDelete(ColumnFamilyState& cf, Slice key) {
  Status s = PrepareWrite();
  if (!s.ok()) return s;
  s = CheckUsable(cf);
  if (!s.ok()) return s;
  s = CheckFamilyForBuffering(cf);
  if (!s.ok()) return s;
  bool live = false;
  bool expired_row = false;  // an expired row in the table, not the buffer
  int64_t expires = 0;
  WriteBuffer::Last last = WriteBuffer::Last::kNothing;
  try {
    last = pending_.Find(cf, key, &expires);
  } catch (const std::bad_alloc&) {
    return Status(Code::kNoMem, "out of memory indexing buffered writes");
  }
  switch (last) {
    case WriteBuffer::Last::kErase:
      return Status::NotFound("key not found");
    case WriteBuffer::Last::kPut:
      live = expires == 0 || expires > NowMs();
      break;
    case WriteBuffer::Last::kNothing: {
      // The table as this transaction left it so far: the buffer holds
      // nothing for the key, so what is written is all there is. Read
      // from the pages while nothing is written (TxnPages): cheaper than
      // SQL, and it leaves SQLite's page cache alone.
      bool found = false;
      int64_t remaining = kNoTtl;
      int64_t now = 0;
      const engine::PageSnapshot* txn_pages = TxnPages();
      if (txn_pages) page_snapshot_ = *txn_pages;  // for LookUpTtl only
      s = LookUpTtl(cf, key, &found, &remaining, &now, "delete");
      page_snapshot_ = engine::PageSnapshot{};
      if (!s.ok()) return s;
      if (!found) return Status::NotFound("key not found");
      live = remaining != 0;
      expired_row = !live;
      break;
    }
  }
  // An expired key is absent too, but its row goes (as ExpireKey does).
  try {
    pending_.AddErase(cf, key);
  } catch (const std::bad_alloc&) {
    return Status(Code::kNoMem, "out of memory buffering a delete");
  }
  if (expired_row) ++stats_.ttl_expired;
  if (live) ++stats_.deletes;
  if (pending_.memory() >= kMaxPendingBytes) {
    s = FlushPending();
    if (!s.ok()) return s;
  }
  return live ? Status::OK() : Status::NotFound("key not found");
}

Status StoreCore::FlushPending() {
  if (txn_ != Txn::kWrite) {  // the transaction is gone: so are its puts
    pending_.Clear();
    return Status::OK();
  }
  Status s;
  std::span<const WriteBuffer::Put> puts;
  try {
    puts = pending_.Sorted();
  } catch (const std::bad_alloc&) {
    s = Status(Code::kNoMem, "out of memory sorting buffered puts");
  }
  for (size_t begin = 0; s.ok() && begin < puts.size();) {
    size_t end = begin + 1;
    while (end < puts.size() && puts[end].family == puts[begin].family) ++end;
    s = WriteSorted(*puts[begin].family, puts.subspan(begin, end - begin));
    begin = end;
  }
  pending_.Clear();
  if (!s.ok() && txn_ == Txn::kWrite) {
    (void)conn_.Exec("ROLLBACK");
    txn_ = Txn::kNone;
    ForgetTransaction();
    return Status(s.code(),
                  "a write buffered in this transaction failed, so the "
                  "transaction was rolled back: " +
                      s.message());
  }
  return s;
}

// Puts past the family's greatest key go through the multi-row statement,
// kPutBatchRows at a time; the rest row by row. Why only appends: SQLite
// gives a multi-row statement a statement journal, which copies each
// existing page the statement changes. Appends change a few pages at the
// right edge of the B-tree (the batch is ~1.7x faster than single rows);
// puts among existing keys can change a page per row (measured up to 2.4x
// slower). docs/design.md, "Writes".
Status StoreCore::WriteSorted(ColumnFamilyState& cf,
                              std::span<const WriteBuffer::Put> puts) {
  constexpr auto kRows = static_cast<size_t>(kPutBatchRows);
  // Exact here: the transaction holds the write lock.
  Status known = KnowValuesTable(cf);
  if (!known.ok()) return known;
  size_t appends_from = puts.size();
  if (puts.size() >= kRows) {
    engine::Statement* last = nullptr;
    Status s = Statement(cf, CfStatement::kLastKey, &last);
    if (!s.ok()) return s;
    engine::ResetGuard reset(*last);
    int rc = last->Step();
    if (rc == SQLITE_ROW) {
      Slice greatest = last->ColumnBlob(0);
      appends_from = static_cast<size_t>(
          std::partition_point(puts.begin(), puts.end(),
                               [&](const WriteBuffer::Put& put) {
                                 return put.key.compare(greatest) <= 0;
                               }) -
          puts.begin());
    } else if (rc == SQLITE_DONE) {
      appends_from = 0;  // empty table
    } else {
      return CfError(cf, *last, rc, "put");
    }
  }
  size_t i = 0;
  for (; i < appends_from; ++i) {
    Status s = WriteOne(cf, puts[i]);
    if (!s.ok()) return s;
  }
  // Appends: a run of kRows puts goes as one statement; an erase among
  // them (of a key put and deleted in this transaction) goes on its own.
  while (puts.size() - i >= kRows) {
    const auto run = puts.subspan(i, kRows);
    // Out-of-line rows too: they need their values row first.
    const auto erase = std::find_if(
        run.begin(), run.end(), [this](const WriteBuffer::Put& put) {
          return put.erase || GoesOutOfLine(put.key, put.value, put.expires);
        });
    if (erase != run.end()) {
      const size_t through = i + static_cast<size_t>(erase - run.begin());
      for (; i <= through; ++i) {
        Status s = WriteOne(cf, puts[i]);
        if (!s.ok()) return s;
      }
      continue;
    }
    engine::Statement* batch = nullptr;
    Status s = Statement(cf, CfStatement::kPutBatch, &batch);
    if (!s.ok()) return s;
    engine::ResetGuard reset(*batch);
    for (size_t row = 0; row < kRows; ++row) {
      const WriteBuffer::Put& put = puts[i + row];
      BindRow(*batch, 3 * static_cast<int>(row) + 1, put.key, put.value,
              put.expires);
    }
    int rc = batch->Step();
    if (rc != SQLITE_DONE) return CfError(cf, *batch, rc, "put");
    i += kRows;
  }
  for (; i < puts.size(); ++i) {
    Status s = WriteOne(cf, puts[i]);
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status StoreCore::WriteOne(ColumnFamilyState& cf, const WriteBuffer::Put& put) {
  // Exact in a write transaction, and asked once per transaction.
  Status known = KnowValuesTable(cf);
  if (!known.ok()) return known;
  if (cf.has_values_table) {
    return put.erase ? EraseRow(cf, put.key)
                     : WriteRow(cf, put.key, put.value, put.expires);
  }
  if (put.erase) {
    engine::Statement* erase = nullptr;
    Status s = Statement(cf, CfStatement::kErase, &erase);
    if (!s.ok()) return s;
    engine::ResetGuard reset(*erase);
    erase->BindBlob(1, put.key);
    int rc = erase->Step();
    if (rc != SQLITE_DONE) return CfError(cf, *erase, rc, "delete");
    return Status::OK();
  }
  engine::Statement* single = nullptr;
  Status s = Statement(cf, CfStatement::kReplace, &single);
  if (!s.ok()) return s;
  engine::ResetGuard reset(*single);
  BindRow(*single, 1, put.key, put.value, put.expires);
  int rc = single->Step();
  if (rc != SQLITE_DONE) return CfError(cf, *single, rc, "put");
  return Status::OK();
}

uint32_t StoreCore::RootPage(ColumnFamilyState& cf, uint32_t cookie) {
  if (!cf.root_known || cf.root_cookie != cookie) {
    return SchemaRootPage(cf.table, cookie, &cf.root_known, &cf.root_cookie,
                          &cf.root_page, schema::FamilyTableSql(cf.id));
  }
  return cf.root_page;
}

uint32_t StoreCore::ValuesRootPage(ColumnFamilyState& cf, uint32_t cookie) {
  if (!cf.values_root_known || cf.values_root_cookie != cookie) {
    // Named once per schema change, not per read. Only the table snkv
    // creates: another one of that name is left to SQL (schema.h,
    // ValuesTableSql).
    return SchemaRootPage(schema::ValuesTableName(cf.id), cookie,
                          &cf.values_root_known, &cf.values_root_cookie,
                          &cf.values_root_page, schema::ValuesTableSql(cf.id));
  }
  return cf.values_root_page;
}

uint32_t StoreCore::SchemaRootPage(const std::string& table, uint32_t cookie,
                                   bool* known, uint32_t* known_cookie,
                                   uint32_t* page,
                                   std::string_view required_sql) {
  if (*known && *known_cookie == cookie) return *page;
  if (!root_stmt_.is_prepared() &&
      !root_stmt_
           .Prepare(conn_,
                    "SELECT rootpage, sql FROM sqlite_schema"
                    " WHERE type = 'table' AND name = ?1")
           .ok()) {
    return 0;
  }
  engine::ResetGuard reset(root_stmt_);
  root_stmt_.BindText(1, table);
  const int rc = root_stmt_.Step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return 0;
  int64_t root = rc == SQLITE_ROW ? root_stmt_.ColumnInt(0) : 0;
  if (root != 0 && !required_sql.empty()) {
    const auto* sql =
        reinterpret_cast<const char*>(sqlite3_column_text(root_stmt_.get(), 1));
    if (sql == nullptr || required_sql != sql) root = 0;
  }
  *known = true;
  *known_cookie = cookie;
  *page = root > 0 && root <= UINT32_MAX ? static_cast<uint32_t>(root) : 0;
  return *page;
}

bool StoreCore::ValueFromPages(ColumnFamilyState& cf,
                               const engine::PageSnapshot& snap, int64_t ref,
                               std::optional<engine::TableCursor>* cursor,
                               std::string* buf, Slice* stored) {
  if (ref <= 0 || !snap.usable()) return false;
  const uint32_t root = ValuesRootPage(cf, snap.schema_cookie);
  if (root == 0) return false;  // SQL reports the missing table
  if (!cursor->has_value() || !(*cursor)->Reads(snap, root)) {
    cursor->emplace(pages_, snap, root);
  }
  engine::TableCursor& values = **cursor;
  Slice record;
  // A missing row (kEnd) is damage too: SQL reports it.
  if (values.Find(ref) != engine::CursorResult::kOk ||
      values.Record(buf, &record) != engine::CursorResult::kOk ||
      !DecodeValuesRow(record, stored)) {
    return false;
  }
  ++values_from_pages_;
  return true;
}

StoreCore::PageLookup StoreCore::FindInPages(ColumnFamilyState& cf, Slice key,
                                             StoredRow* row, bool need_value) {
  if (!page_snapshot_.usable()) return PageLookup::kUseSql;
  const uint32_t root = RootPage(cf, page_snapshot_.schema_cookie);
  if (root == 0) return PageLookup::kUseSql;  // SQL reports a missing table
  engine::IndexCursor cursor(pages_, page_snapshot_, root);
  switch (cursor.Find(key)) {
    case engine::CursorResult::kEnd:
      return PageLookup::kNotFound;
    case engine::CursorResult::kFallback:
      return PageLookup::kUseSql;
    case engine::CursorResult::kOk:
      break;
  }
  Slice record;
  if (cursor.Record(&page_buf_, &record) != engine::CursorResult::kOk ||
      !DecodeStoredRow(record, row)) {
    return PageLookup::kUseSql;
  }
  // row->key may point into page_buf_: the value goes to a buffer of its
  // own. A cursor of its own, searched from the root: a kept one would
  // first fetch its whole path again for the new read (every get is one),
  // a frame lookup per level while the pages are still in the WAL.
  std::optional<engine::TableCursor> single_values;
  if (need_value && row->value_ref != 0 &&
      !ValueFromPages(cf, page_snapshot_, row->value_ref, &single_values,
                      &values_buf_, &row->value)) {
    return PageLookup::kUseSql;
  }
  return PageLookup::kFound;
}

Status StoreCore::DeliverValue(const ColumnFamilyState& cf, Slice key,
                               Slice stored, const ValueSink& sink) {
  Slice value;
  Status s = OpenValue(cf.id, key, stored, &value_buf_, &value);
  if (!s.ok()) return s;
  if (!sink(value)) return Status(Code::kNoMem, "out of memory");
  stats_.bytes_read += value.size();
  return Status::OK();
}

Status StoreCore::Get(ColumnFamilyState& cf, Slice key, const ValueSink& sink,
                      int64_t* remaining_ms) {
  ++stats_.gets;
  Status s = PrepareRead();
  if (!s.ok()) return s;
  engine::Statement* stmt = nullptr;
  s = Statement(cf, CfStatement::kGet, &stmt);
  if (!s.ok()) return s;
  int64_t now = 0;
  int64_t remaining = kNoTtl;
  {
    engine::PageSource::ReadScope scope(pages_);
    StoredRow row;
    switch (FindInPages(cf, key, &row, /*need_value=*/true)) {
      case PageLookup::kNotFound:
        return Status::NotFound("key not found");
      case PageLookup::kFound:
        remaining = row.has_expiry ? RemainingTtl(row.expires, &now) : kNoTtl;
        if (remaining != 0) {
          s = DeliverValue(cf, key, row.value, sink);
          if (s.ok() && remaining_ms) *remaining_ms = remaining;
          return s;
        }
        break;
      case PageLookup::kUseSql: {
        engine::ResetGuard reset(*stmt);
        stmt->BindBlob(1, key);
        int rc = stmt->Step();
        if (rc == SQLITE_DONE) return Status::NotFound("key not found");
        if (rc != SQLITE_ROW) return CfError(cf, *stmt, rc, "get");
        remaining = RemainingTtl(*stmt, 1, &now);
        if (remaining != 0) {
          Slice stored;
          s = StoredValue(cf, *stmt, 0, &ref_buf_, &stored);
          if (!s.ok()) return s;
          s = DeliverValue(cf, key, stored, sink);
          if (s.ok() && remaining_ms) *remaining_ms = remaining;
          return s;
        }
        break;
      }
    }
  }
  // The key was there but has expired: NotFound, with 0 ms remaining (the
  // TTL table's "just expired"), as ttl_remaining reports it.
  if (remaining_ms) *remaining_ms = 0;
  ExpireKey(cf, key, now);
  return Status::NotFound("key not found (expired)");
}

Status StoreCore::LookUpTtl(ColumnFamilyState& cf, Slice key, bool* found,
                            int64_t* remaining, int64_t* now,
                            std::string_view context) {
  Status s = PrepareRead();
  if (!s.ok()) return s;
  engine::Statement* stmt = nullptr;
  s = Statement(cf, CfStatement::kExists, &stmt);
  if (!s.ok()) return s;
  *remaining = kNoTtl;
  {
    engine::PageSource::ReadScope scope(pages_);
    StoredRow row;
    // Exists and TTL lookups need only the row, as their SQL does.
    switch (FindInPages(cf, key, &row, /*need_value=*/false)) {
      case PageLookup::kNotFound:
        *found = false;
        return Status::OK();
      case PageLookup::kFound:
        *found = true;
        if (row.has_expiry) *remaining = RemainingTtl(row.expires, now);
        return Status::OK();
      case PageLookup::kUseSql:
        break;
    }
  }
  engine::ResetGuard reset(*stmt);
  stmt->BindBlob(1, key);
  int rc = stmt->Step();
  *found = rc == SQLITE_ROW;
  if (rc == SQLITE_DONE) return Status::OK();
  if (rc != SQLITE_ROW) return CfError(cf, *stmt, rc, context);
  *remaining = RemainingTtl(*stmt, 0, now);
  return Status::OK();
}

Status StoreCore::Exists(ColumnFamilyState& cf, Slice key, bool* exists) {
  bool found = false;
  int64_t remaining = kNoTtl;
  int64_t now = 0;
  Status s = LookUpTtl(cf, key, &found, &remaining, &now, "exists");
  if (!s.ok()) return s;
  if (found && remaining == 0) {
    ExpireKey(cf, key, now);
    found = false;
  }
  *exists = found;
  return Status::OK();
}

Status StoreCore::TtlRemaining(ColumnFamilyState& cf, Slice key,
                               int64_t* remaining_ms) {
  bool found = false;
  int64_t remaining = kNoTtl;
  int64_t now = 0;
  Status s = LookUpTtl(cf, key, &found, &remaining, &now, "ttl_remaining");
  if (!s.ok()) return s;
  if (!found) return Status::NotFound("key not found");
  if (remaining == 0) ExpireKey(cf, key, now);
  *remaining_ms = remaining;
  return Status::OK();
}

Status StoreCore::Delete(ColumnFamilyState& cf, Slice key) {
  if (txn_ == Txn::kWrite) return BufferDelete(cf, key);
  if (!pending_.empty()) {  // left by a transaction that is gone: drop it
    Status flushed = FlushPending();
    if (!flushed.ok()) return flushed;
  }
  Status s = PrepareWrite(/*keep_write_pin=*/true);
  if (!s.ok()) return s;
  engine::Statement* stmt = nullptr;
  s = Statement(cf, CfStatement::kDelete, &stmt);
  if (!s.ok()) return s;
  const int64_t now = NowMs();
  {
    engine::ResetGuard reset(*stmt);
    stmt->BindBlob(1, key);
    stmt->BindInt(2, now);
    int rc = StepAutocommitWrite(*stmt);
    if (rc != SQLITE_DONE) return CfError(cf, *stmt, rc, "delete");
  }
  if (sqlite3_changes(conn_.get()) > 0) {
    ++stats_.deletes;
    return Status::OK();
  }
  // Absent, expired (an expired key is absent too, but its row goes), or
  // out of line (the guard left it): find out holding the write lock.
  bool live = false;
  s = DeleteInScope(cf, key, now, /*only_expired=*/false, &live);
  if (!s.ok()) return s;
  if (live) {
    ++stats_.deletes;
    return Status::OK();
  }
  return Status::NotFound("key not found");
}

Status StoreCore::PurgeExpired(ColumnFamilyState& cf, int64_t* deleted) {
  // One scope: the expired rows and the values rows they point to go
  // together.
  WriteScope scope(*this);
  Status s = scope.Begin();
  if (!s.ok()) return s;
  s = CheckUsable(cf);
  if (!s.ok()) return s;
  if (!cf.has_expiry_index) {
    // Another handle may have written the first TTL (or dropped the family)
    // since we last looked.
    bool table = false;
    bool index = false;
    s = SchemaObjectExists(cf.table, &table);
    if (s.ok()) s = SchemaObjectExists(schema::ExpiryIndexName(cf.id), &index);
    if (!s.ok()) return s;
    if (!table) {
      return Status::NotFound("column family '" + cf.name +
                              "' no longer exists");
    }
    if (!index) {  // no key of this family ever had a TTL
      if (deleted) *deleted = 0;
      return Status::OK();
    }
    cf.has_expiry_index = true;
  }
  s = KnowValuesTable(cf);
  if (!s.ok()) return s;
  const int64_t now = NowMs();
  engine::Statement* stmt = nullptr;
  if (cf.has_values_table) {
    s = Statement(cf, CfStatement::kFreeExpiredValues, &stmt);
    if (!s.ok()) return s;
    engine::ResetGuard reset(*stmt);
    stmt->BindInt(1, now);
    int rc = stmt->Step();
    if (rc != SQLITE_DONE) return CfError(cf, *stmt, rc, "purge");
  }
  s = Statement(cf, CfStatement::kPurge, &stmt);
  if (!s.ok()) return s;
  int64_t n = 0;
  {
    engine::ResetGuard reset(*stmt);
    stmt->BindInt(1, now);
    int rc = stmt->Step();
    if (rc != SQLITE_DONE) return CfError(cf, *stmt, rc, "purge");
    n = sqlite3_changes64(conn_.get());
  }
  s = scope.Commit();
  if (!s.ok()) return s;
  stats_.ttl_purged += static_cast<uint64_t>(n);
  if (deleted) *deleted = n;
  return Status::OK();
}

Status StoreCore::PutIfAbsent(ColumnFamilyState& cf, Slice key, Slice value,
                              int64_t expire_at_ms, bool* inserted) {
  Slice stored;
  Status s = PrepareValueWrite(cf, key, value, expire_at_ms, &stored);
  if (!s.ok()) return s;
  bool wrote = false;
  if (GoesOutOfLine(key, stored, expire_at_ms)) {
    // Looks first, so that a put that does not insert stores nothing.
    s = PutInScope(cf, key, stored, expire_at_ms, true, &wrote);
    if (!s.ok()) return s;
  } else {
    engine::Statement* stmt = nullptr;
    s = Statement(cf, CfStatement::kPutIfAbsent, &stmt);
    if (!s.ok()) return s;
    engine::ResetGuard reset(*stmt);
    BindRow(*stmt, 1, key, stored, expire_at_ms);
    stmt->BindInt(4, NowMs());
    int rc = StepAutocommitWrite(*stmt);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {  // an expired out-of-line row
      stmt->Reset();
      s = PutInScope(cf, key, stored, expire_at_ms, true, &wrote);
      if (!s.ok()) return s;
    } else if (rc != SQLITE_DONE) {
      return CfError(cf, *stmt, rc, "put_if_absent");
    } else {
      wrote = sqlite3_changes(conn_.get()) > 0;
    }
  }
  if (wrote) {
    ++stats_.puts;
    stats_.bytes_written += key.size() + value.size();
  }
  if (inserted) *inserted = wrote;
  return Status::OK();
}

Status StoreCore::Clear(ColumnFamilyState& cf) {
  WriteScope scope(*this);
  Status s = scope.Begin();
  if (!s.ok()) return s;
  s = KnowValuesTable(cf);
  if (!s.ok()) return s;
  engine::Statement* stmt = nullptr;
  if (cf.has_values_table) {
    s = Statement(cf, CfStatement::kClearValues, &stmt);
    if (!s.ok()) return s;
    engine::ResetGuard reset(*stmt);
    int rc = stmt->Step();
    if (rc != SQLITE_DONE) return CfError(cf, *stmt, rc, "clear");
  }
  s = Statement(cf, CfStatement::kClear, &stmt);
  if (!s.ok()) return s;
  {
    engine::ResetGuard reset(*stmt);
    int rc = stmt->Step();
    if (rc != SQLITE_DONE) return CfError(cf, *stmt, rc, "clear");
  }
  return scope.Commit();
}

Status StoreCore::Count(ColumnFamilyState& cf, int64_t* count) {
  Status s = PrepareRead();
  if (!s.ok()) return s;
  engine::Statement* stmt = nullptr;
  s = Statement(cf, CfStatement::kCount, &stmt);
  if (!s.ok()) return s;
  engine::ResetGuard reset(*stmt);
  int rc = stmt->Step();
  if (rc != SQLITE_ROW) return CfError(cf, *stmt, rc, "count");
  *count = stmt->ColumnInt(0);
  return Status::OK();
}

}  // namespace internal

// ---- the public handle ---------------------------------------------------

namespace {
const std::string kNoName;
Status Detached() { return Status::Error("column family handle is not open"); }
}  // namespace

ColumnFamily::ColumnFamily() noexcept = default;
// The family's state owns prepared statements of the store's connection;
// dropping what may be the last reference must happen under the store's
// mutex, or finalizing them could race a call on another thread.
void ColumnFamily::Release() noexcept {
  if (store_ && state_) store_->WithLock([this] { state_.reset(); });
  state_.reset();
  store_.reset();
}

ColumnFamily::~ColumnFamily() { Release(); }
ColumnFamily::ColumnFamily(const ColumnFamily&) = default;
ColumnFamily& ColumnFamily::operator=(const ColumnFamily& other) {
  if (this != &other) {
    ColumnFamily copy(other);
    *this = std::move(copy);
  }
  return *this;
}
ColumnFamily::ColumnFamily(ColumnFamily&&) noexcept = default;
ColumnFamily& ColumnFamily::operator=(ColumnFamily&& other) noexcept {
  if (this != &other) {
    Release();
    store_ = std::move(other.store_);
    state_ = std::move(other.state_);
  }
  return *this;
}

ColumnFamily::ColumnFamily(std::shared_ptr<internal::StoreCore> store,
                           std::shared_ptr<internal::ColumnFamilyState> state)
    : store_(std::move(store)), state_(std::move(state)) {}

const std::string& ColumnFamily::name() const noexcept {
  return state_ ? state_->name : kNoName;
}

Status ColumnFamily::Put(Slice key, Slice value, int64_t expire_at_ms) {
  if (!store_) return Detached();
  return store_->CallKeepingPending(
      [&] { return store_->Put(*state_, key, value, expire_at_ms); });
}

Status ColumnFamily::Get(Slice key, std::string* value, int64_t* remaining_ms) {
  return Get(
      key,
      [value](Slice v) {
        value->assign(v.data(), v.size());
        return true;
      },
      remaining_ms);
}

Status ColumnFamily::Get(Slice key, const ValueSink& sink,
                         int64_t* remaining_ms) {
  if (!store_) return Detached();
  return store_->Call(
      [&] { return store_->Get(*state_, key, sink, remaining_ms); });
}

Status ColumnFamily::Exists(Slice key, bool* exists) {
  if (!store_) return Detached();
  return store_->Call([&] { return store_->Exists(*state_, key, exists); });
}

Status ColumnFamily::Delete(Slice key) {
  if (!store_) return Detached();
  // Inside a write transaction deletes join the buffered puts instead of
  // writing them out (StoreCore::BufferDelete).
  return store_->CallKeepingPending(
      [&] { return store_->Delete(*state_, key); });
}

Status ColumnFamily::TtlRemaining(Slice key, int64_t* remaining_ms) {
  if (!store_) return Detached();
  return store_->Call(
      [&] { return store_->TtlRemaining(*state_, key, remaining_ms); });
}

Status ColumnFamily::PurgeExpired(int64_t* deleted) {
  if (!store_) return Detached();
  return store_->Call([&] { return store_->PurgeExpired(*state_, deleted); });
}

Status ColumnFamily::PutIfAbsent(Slice key, Slice value, int64_t expire_at_ms,
                                 bool* inserted) {
  if (!store_) return Detached();
  return store_->Call([&] {
    return store_->PutIfAbsent(*state_, key, value, expire_at_ms, inserted);
  });
}

Status ColumnFamily::Clear() {
  if (!store_) return Detached();
  return store_->Call([&] { return store_->Clear(*state_); });
}

Status ColumnFamily::Count(int64_t* count) {
  if (!store_) return Detached();
  return store_->Call([&] { return store_->Count(*state_, count); });
}

}  // namespace snkv
