// StoreCore: the engine behind one open store handle.
//
// One StoreCore owns one SQLite connection and everything prepared on it.
// Public objects (Store, ColumnFamily, Iterator, the C handles) hold a
// shared_ptr to it and enter through Call(), which takes the store mutex,
// refuses a closed store and records errors for errmsg and the stats. Every
// other member function expects the mutex to be held by its caller.
#ifndef SNKV_KV_STORE_CORE_H
#define SNKV_KV_STORE_CORE_H

#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crypto/cipher.h"
#include "engine/connection.h"
#include "engine/fork_generation.h"
#include "engine/page_source.h"
#include "engine/table_cursor.h"
#include "engine/wal_snapshot.h"
#include "kv/fork_guard.h"
#include "kv/row_batch.h"
#include "kv/schema.h"
#include "kv/stored_row.h"
#include "kv/write_buffer.h"
#include "snkv/options.h"
#include "snkv/slice.h"
#include "snkv/status.h"
#include "snkv/store.h"

namespace snkv::internal {

class IteratorCore;

// The statements a column family prepares once and reuses.
enum class CfStatement : int {
  kGet,
  kExists,
  kPut,
  kPutIfAbsent,
  kDelete,
  kDeleteIfExpired,
  kPurge,
  kCount,
  kClear,
  kReplace,   // kPut for use inside a transaction (see WriteSorted)
  kPutBatch,  // kPutBatchRows new rows in one statement (appends only)
  kLastKey,   // the family's greatest key
  kErase,     // an unconditional delete, for buffered erases (WriteSorted)
  // On the family's values table (out_of_line.cc); prepared only once the
  // table is known to exist.
  kGetValue,           // the stored value of a reference
  kInsertValue,        // a new values row
  kFreeValue,          // the values row a key's row points to, if any
  kRowReference,       // a key's reference and expiry, if it holds one
  kUpdateValue,        // a values row's new value, in place
  kDropValue,          // a values row, by id
  kSetExpiry,          // a row's expiry alone
  kFreeExpiredValues,  // the values rows of expired rows (purge)
  kClearValues,        // every values row (clear)
  kNumStatements
};

// Binds a row's expiry (ms since the epoch; 0, none, is stored as NULL) to
// parameter `index` of `stmt`.
void BindExpiry(engine::Statement& stmt, int index, int64_t expires) noexcept;

// Rows per multi-row insert when flushing buffered puts.
inline constexpr int kPutBatchRows = 32;

// Number of statement shapes an iterator uses (see IteratorCore).
inline constexpr size_t kIteratorShapes = 11;
// Rows an iterator reads before it asks for memory-mapped reads.
inline constexpr int kScanRowsBeforeMap = 128;
// Prepared iterator statements kept per family and shape for reuse.
inline constexpr size_t kIteratorPoolSize = 4;

// In-process state of one column family, shared by all handles on it.
struct ColumnFamilyState : std::enable_shared_from_this<ColumnFamilyState> {
  int64_t id = 0;
  std::string name;
  std::string table;            // schema::TableName(id)
  bool dropped = false;         // dropped through this store handle
  uint64_t checked_in_txn = 0;  // write transaction that saw the table exist
  bool has_expiry_index = false;
  // Whether the family's values table exists (schema.h). Once true it
  // stays true (the table goes only with the family) unless the
  // transaction that created it is rolled back (ForgetTransaction,
  // StoreCore::ForgetValuesTable). A false answer is trusted only in the
  // write transaction that found it (values_checked_in_txn) or at the
  // schema version it was found at (no_values_schema_version): another
  // connection may create the table at any time.
  bool has_values_table = false;
  uint64_t values_checked_in_txn = 0;
  int64_t no_values_schema_version = -1;
  // The table's root page in snapshots whose schema cookie is root_cookie
  // (see StoreCore::RootPage); 0: the table does not exist there.
  bool root_known = false;
  uint32_t root_cookie = 0;
  uint32_t root_page = 0;
  // The same for the family's values table (StoreCore::ValuesRootPage).
  bool values_root_known = false;
  uint32_t values_root_cookie = 0;
  uint32_t values_root_page = 0;
  // The schema version at which the file was last seen without this
  // family's expiry index (-1: not known). See StoreCore::MayHaveTtl.
  int64_t no_ttl_schema_version = -1;
  // The schema version at which the table was last seen to exist (-1: not
  // known). See StoreCore::CheckExists.
  int64_t exists_schema_version = -1;
  std::array<engine::Statement,
             static_cast<size_t>(CfStatement::kNumStatements)>
      statements;
  // Statements of closed iterators, reset and ready for the next ones:
  // preparing costs more than a short seek.
  std::array<std::vector<engine::Statement>, kIteratorShapes> iterator_pool;
};

class StoreCore : public std::enable_shared_from_this<StoreCore> {
 public:
  // Opens the store at *path (nullptr: in memory). On success *out holds the
  // core; on failure it is untouched and the file was not modified.
  // With a password (not nullptr) the store is opened or created
  // encrypted; a plain store is encrypted in place (encryption.cc).
  static Status Open(const std::string* path, const Options& options,
                     const Slice* password, std::shared_ptr<StoreCore>* out);
  struct PrivateTag {};  // only Open() constructs a StoreCore
  explicit StoreCore(PrivateTag) {}
  ~StoreCore();
  StoreCore(const StoreCore&) = delete;
  StoreCore& operator=(const StoreCore&) = delete;

  // Runs body() under the store mutex. A closed store fails with kError,
  // and so does a store used in a forked child (see ForkGuard).
  // A failure's message is kept for last_error(); failures other than
  // NotFound count in stats().errors.
  //
  // Puts buffered in a write transaction (see Put) are written out first,
  // so every call sees them.
  template <class Body>
  Status Call(Body&& body) {
    std::lock_guard<std::mutex> lock(mu_);
    ForkGuard::HoldingStore held;
    if (forked_away()) return ForkedAway();
    if (!conn_.is_open()) return Record(Status::Error("store is closed"));
    if (!pending_.empty()) {
      Status s = FlushPending();
      if (!s.ok()) return Record(std::move(s));
    }
    return Record(body());
  }

  // As Call(), but leaves buffered puts buffered: for Put, which adds to
  // them, and Rollback, which discards them.
  template <class Body>
  Status CallKeepingPending(Body&& body) {
    std::lock_guard<std::mutex> lock(mu_);
    ForkGuard::HoldingStore held;
    if (forked_away()) return ForkedAway();
    if (!conn_.is_open()) return Record(Status::Error("store is closed"));
    return Record(body());
  }

  // Records an error found outside the store (see ApiAccess::Record).
  Status Fail(Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    ForkGuard::HoldingStore held;
    if (forked_away()) return ForkedAway();
    return Record(std::move(s));
  }

  // Runs body() under the store mutex whether or not the store is open
  // (for releasing resources). In a forked child it does nothing: the
  // parent's SQLite objects must not be touched there, only let go.
  template <class Body>
  void WithLock(Body&& body) {
    std::lock_guard<std::mutex> lock(mu_);
    ForkGuard::HoldingStore held;
    if (forked_away()) return;
    body();
  }

  // True in a process forked after this store was opened: the store
  // belongs to the parent, and every call fails (SQLite connections must
  // not cross a fork).
  bool forked_away() const noexcept {
    return fork_generation_ != engine::ForkGeneration();
  }

  // For ForkGuard, in the thread preparing a fork: takes the store mutex
  // (waiting for a call in progress) and ends the cached read snapshot and
  // the write pin, so that the child inherits no read lock that SQLite's
  // in-process lock bookkeeping would think it holds.
  void QuiesceForFork() noexcept;
  // For ForkGuard, after the fork (parent and child): releases the mutex.
  void ResumeAfterFork() noexcept { mu_.unlock(); }

  // The message of the last failed call ("not an error" before any).
  const char* last_error() const noexcept { return last_error_.c_str(); }

  // ---- lifecycle (mutex held) ----
  Status Close();

  // ---- column families ----
  const std::shared_ptr<ColumnFamilyState>& default_cf() const noexcept {
    return default_cf_;
  }
  // internal: the caller is the vector store making one of its own
  // families (schema::IsInternalCf). Users may not create or drop those
  // names: a family they filled would be read as a vector index.
  Status CreateColumnFamily(std::string_view name,
                            std::shared_ptr<ColumnFamilyState>* out,
                            bool internal = false);
  Status OpenColumnFamily(std::string_view name,
                          std::shared_ptr<ColumnFamilyState>* out);
  Status DropColumnFamily(std::string_view name, bool internal = false);
  Status ListColumnFamilies(std::vector<std::string>* names);

  // ---- data operations on one family (column_family.cc) ----
  Status Put(ColumnFamilyState& cf, Slice key, Slice value,
             int64_t expire_at_ms);
  Status Get(ColumnFamilyState& cf, Slice key, const ValueSink& sink,
             int64_t* remaining_ms);
  Status Exists(ColumnFamilyState& cf, Slice key, bool* exists);
  Status Delete(ColumnFamilyState& cf, Slice key);
  Status TtlRemaining(ColumnFamilyState& cf, Slice key, int64_t* remaining_ms);
  Status PurgeExpired(ColumnFamilyState& cf, int64_t* deleted);
  Status PutIfAbsent(ColumnFamilyState& cf, Slice key, Slice value,
                     int64_t expire_at_ms, bool* inserted);
  Status Clear(ColumnFamilyState& cf);
  Status Count(ColumnFamilyState& cf, int64_t* count);

  // ---- transactions ----
  Status Begin(TxnMode mode);
  Status Commit();
  Status Rollback();

  // ---- encryption (encryption.cc) ----
  bool encrypted() const noexcept { return cipher_.has_key(); }
  Status Reencrypt(Slice new_password);
  Status RemoveEncryption();
  // The bytes to store for `value` at (cf, key): sealed on an encrypted
  // store (into *buf), else `value` itself.
  Status SealValue(int64_t cf_id, Slice key, Slice value, std::string* buf,
                   Slice* stored) const {
    if (!cipher_.has_key()) {
      *stored = value;
      return Status::OK();
    }
    return SealWithKey(cf_id, key, value, buf, stored);
  }
  // The plaintext of stored bytes (into *buf on an encrypted store).
  Status OpenValue(int64_t cf_id, Slice key, Slice stored, std::string* buf,
                   Slice* plain) const {
    if (!cipher_.has_key()) {
      *plain = stored;
      return Status::OK();
    }
    return OpenWithKey(cf_id, key, stored, buf, plain);
  }

  // ---- maintenance ----
  Status GetStats(Stats* stats);
  void ResetStats();
  Status IntegrityCheck(std::string* problems);
  Status Sync();
  Status IncrementalVacuum(int pages);
  Status Checkpoint(CheckpointMode mode, CheckpointResult* result);

  // ---- for iterators (iterator.cc) ----
  // The stored value in column `col` of `stmt` (a row of cf's table):
  // the blob itself, or the one its reference points to (into *buf).
  // kCorrupt for any other type.
  Status StoredValue(ColumnFamilyState& cf, const engine::Statement& stmt,
                     int col, std::string* buf, Slice* stored);
  // The stored value a reference points to, into *buf. kCorrupt if the
  // values row (or table) is missing or holds no blob.
  Status ResolveValue(ColumnFamilyState& cf, int64_t ref, std::string* buf);
  engine::Connection& connection() noexcept { return conn_; }
  void RegisterIterator(IteratorCore* it);
  void UnregisterIterator(IteratorCore* it);
  // Counts an iterator creation in the stats.
  void CountIteration() noexcept { ++stats_.iterations; }
  // Ensures the next read sees every commit that finished before it, from
  // any connection, while keeping the read transaction open across calls
  // when nothing changed (see docs/design.md, "Read path").
  Status PrepareRead();
  // The pages of the cached snapshot, when its reads can bypass SQL: a
  // usable snapshot only while it is open and known to match its WAL-index
  // header (see StartSnapshot).
  const engine::PageSnapshot& page_snapshot() const noexcept {
    return page_snapshot_;
  }
  engine::PageSource& pages() noexcept { return pages_; }
  // The root page of `cf`'s table in snapshots with schema cookie
  // `cookie`, looked up (through SQL, in the cached snapshot) when the
  // cookie changed; 0 if the table is not there, is not the table snkv
  // creates (schema::FamilyTableSql), or on any error.
  uint32_t RootPage(ColumnFamilyState& cf, uint32_t cookie);
  // The same for cf's values table (schema.h, "Out-of-line values").
  uint32_t ValuesRootPage(ColumnFamilyState& cf, uint32_t cookie);
  // The stored value that reference `ref` of a row of `cf` read from the
  // pages of `snap` points to, read from the pages too (engine::
  // TableCursor), into *stored: on a page or in *buf, valid until
  // pages().EndRead() or the next change of *buf. False when the pages
  // cannot tell (no values table, no such row, anything odd): the caller
  // then reads the row through SQL, which resolves the reference or
  // reports the damage.
  // The lookup uses *cursor, first making it anew unless it already reads
  // cf's values table in `snap` (snapshot ids are never reused, so a kept
  // cursor can never read another snapshot's pages). An iterator keeps
  // one, so that consecutive references (values loaded in key order)
  // start below the root; a get passes an empty one of its own.
  bool ValueFromPages(ColumnFamilyState& cf, const engine::PageSnapshot& snap,
                      int64_t ref, std::optional<engine::TableCursor>* cursor,
                      std::string* buf, Slice* stored);
  // How many references ValueFromPages resolved. Only for tests, through
  // ApiAccess; call under mu_.
  uint64_t values_from_pages() const noexcept { return values_from_pages_; }
  // Tells the idle releaser that the cached snapshot is in use (an
  // iterator reading on without new positioning).
  void NoteSnapshotUse() noexcept {
    last_read_ = std::chrono::steady_clock::now();
  }
  // Called by an iterator that has read kScanRowsBeforeMap rows since it
  // was positioned: a long scan pays for mapping the file (see PrepareRead).
  void NoteLongScan();
  // Steps `stmt`, a statement calling snkv_collect, adding its rows to
  // *batch (see row_batch.h).
  int StepCollecting(engine::Statement& stmt, RowBatch* batch) {
    filling_batch_ = batch;
    const int rc = stmt.Step();
    filling_batch_ = nullptr;
    return rc;
  }
  // Sets *may to whether rows of `cf` can carry an expiry in the read
  // transaction in progress: true once the family's expiry index exists,
  // which it does before the first row with a TTL is written. Cheap when
  // the schema did not change since the last call (one PRAGMA).
  Status MayHaveTtl(ColumnFamilyState& cf, bool* may);
  // Counts the expiry indexes this handle created. A scan that stopped
  // reading expiries must start again when this changes: the handle's own
  // new TTL rows show in statements already running.
  uint64_t expiry_indexes_created() const noexcept {
    return expiry_indexes_created_;
  }
  // Changes whenever this handle changes rows or rolls a transaction back
  // (its own writes show in its running statements, but not in rows an
  // iterator has already copied; see RowBatch).
  uint64_t change_epoch() const noexcept {
    return static_cast<uint64_t>(sqlite3_total_changes64(conn_.get())) +
           rollbacks_;
  }
  // Puts buffered in the write transaction, not yet in SQLite.
  bool has_pending_writes() const noexcept { return !pending_.empty(); }

  // For BackgroundCheckpointer, on its thread: a PASSIVE checkpoint through
  // the store's checkpoint connection. Takes only ckpt_mu_, never the store
  // mutex, so the store's callers go on meanwhile.
  void RunBackgroundCheckpoint();

  // For IdleReleaser (takes the mutex itself, without waiting): ends the
  // cached snapshot if it has been unused for `idle`. Returns true when the
  // store needs no more watching.
  bool ReleaseSnapshotIfIdle(std::chrono::steady_clock::time_point now,
                             std::chrono::milliseconds idle);
  // How many cached read snapshots this handle has taken (StartSnapshot
  // validated them). Only for tests, through ApiAccess; call under mu_.
  uint64_t snapshots_taken() const noexcept { return snapshots_taken_; }
  // Fails for a family dropped through this handle.
  Status CheckUsable(const ColumnFamilyState& cf) const;
  // NotFound if another connection dropped `cf`'s table. Looks in the
  // schema only when its version moved since the table was last seen, so
  // repeated calls cost one PRAGMA step. Reads the cached snapshot if one
  // is open: call PrepareRead (or hold the write lock) first for news.
  Status CheckExists(ColumnFamilyState& cf);
  // A Status for a failed statement of family `cf`: a vanished table
  // (dropped by another handle) is NotFound.
  Status CfError(const ColumnFamilyState& cf, const engine::Statement& stmt,
                 int rc, std::string_view context) const;

 private:
  enum class Txn { kNone, kRead, kWrite };
  class WriteScope;

  Status OpenFile(const std::string& path, const Options& options,
                  const Slice* password);
  Status CheckFormat(bool* is_new, bool* encrypted);
  Status CreateSchema();
  Status ApplySettings(const Options& options);
  Status LoadColumnFamily(int64_t id, std::string name,
                          std::shared_ptr<ColumnFamilyState>* out);
  void ForgetColumnFamily(ColumnFamilyState& cf);

  // The error of every call in a forked child (mutex held).
  Status ForkedAway();
  // Returns s; a failure is first noted for last_error() and the stats.
  Status Record(Status s) {
    if (!s.ok()) RecordFailure(s);
    return s;
  }
  void RecordFailure(const Status& s);
  // Prepares (once) and returns the family's statement `which`.
  Status Statement(ColumnFamilyState& cf, CfStatement which,
                   engine::Statement** out);
  // Refuses writes on a read-only store or in a read transaction, and gets
  // the connection ready to write: ends the cached read snapshot and, unless
  // `keep_write_pin` (only for a statement then run by StepAutocommitWrite),
  // the write pin.
  Status PrepareWrite(bool keep_write_pin = false);
  // Steps `stmt`, a single autocommit write statement (put, delete,
  // put-if-absent), inside the write pin when it can (outside transactions,
  // in WAL mode, with no iterator open on the handle): a read transaction
  // held open by a pending statement, so that the write upgrades it and it
  // outlives the commit, and the next write needs only the write lock
  // instead of also a new read transaction (two locking system calls
  // instead of six; docs/design.md, "The write pin"). SQLite refuses the
  // upgrade with SQLITE_BUSY_SNAPSHOT if another connection has committed
  // since, and with SQLITE_BUSY, without waiting, if the write lock is taken:
  // then the pin is released and the statement runs again as a plain autocommit
  // statement, which waits up to the busy timeout. Returns the step's code.
  int StepAutocommitWrite(engine::Statement& stmt);
  // Takes the write pin if this handle may hold it now (outside
  // transactions, in WAL mode, with no iterator or other statement
  // running); returns whether it is held.
  bool HoldWritePin();
  // Call after a write committed under the pin: counts it, and when the
  // pin must be renewed (every kWritesPerPin writes, or a checkpoint asked
  // for it) releases it and runs the checkpoint that was due meanwhile.
  void AfterPinnedWrite();
  // Ends the write pin, if held.
  void ReleaseWritePin() noexcept;
  Status EnsureExpiryIndex(ColumnFamilyState& cf);

  // ---- out-of-line values (out_of_line.cc; schema.h has the format) ----
  // Whether a row (key, stored, expires) goes out of line: its record
  // would not fit on a leaf, and with a reference (at most 8 bytes) it
  // would. A key too long for the leaf keeps its value inline: the row
  // spills either way, and a reference would only add a lookup.
  bool GoesOutOfLine(Slice key, Slice stored, int64_t expires) const noexcept {
    return schema::RecordPayload(key.size(), stored.size(), expires) >
               max_local_payload_ &&
           schema::RecordPayload(key.size(), 0, expires) + 8 <=
               max_local_payload_;
  }
  // For IntegrityCheck: appends to *report (a line each) the families whose
  // values are of a type snkv never writes (references of 0 and below
  // included), whose references point to no values row, whose values table
  // is not the one snkv creates (schema::ValuesTableSql) or holds values
  // that are not blobs, whose rows share a values row, or whose values
  // table has rows no reference points to.
  Status CheckValueReferences(std::string* report);
  // Sets max_local_payload_ from the store's page size and reserved bytes.
  Status ComputeMaxLocalPayload();
  // Sets cf.has_values_table to whether the values table exists. Exact
  // only when called holding the write lock (a write transaction or scope).
  // kCorrupt if something else has the values table's name (a view, an
  // index, a table of other columns: IsOurValuesTable).
  Status KnowValuesTable(ColumnFamilyState& cf);
  // *ours: family cf_id's values table exists and is the table snkv
  // creates (schema::ValuesTableSql).
  Status IsOurValuesTable(int64_t cf_id, bool* ours);
  // Creates the family's values table (and marks the store format version
  // 2) unless it exists. Holding the write lock; *created (may be null)
  // tells whether this call created it, for ForgetValuesTable.
  Status EnsureValuesTable(ColumnFamilyState& cf, bool* created);
  // After a rollback of the scope that created the values table: it is
  // gone again.
  static void ForgetValuesTable(ColumnFamilyState& cf) noexcept {
    cf.has_values_table = false;
    cf.values_checked_in_txn = 0;
    cf.no_values_schema_version = -1;
  }
  // Writes a row, replacing any row of the key and freeing the values row
  // that one pointed to; out of line if GoesOutOfLine, in the old values
  // row when there is one. Holding the write lock, with KnowValuesTable
  // (or EnsureValuesTable for an out-of-line row) done.
  Status WriteRow(ColumnFamilyState& cf, Slice key, Slice stored,
                  int64_t expires);
  // Deletes `key`'s row and the values row it points to. As WriteRow.
  Status EraseRow(ColumnFamilyState& cf, Slice key);
  // A put, put-if-absent or delete as one write scope, for what the single
  // guarded statements leave (an out-of-line row, old or new):
  // PutInScope writes the row (if `only_if_absent`, only when the key has
  // no live row; *inserted tells). DeleteInScope deletes the row if live,
  // or if expired (only_expired: only then); *found: it was live.
  Status PutInScope(ColumnFamilyState& cf, Slice key, Slice stored,
                    int64_t expires, bool only_if_absent, bool* inserted);
  Status DeleteInScope(ColumnFamilyState& cf, Slice key, int64_t now_ms,
                       bool only_expired, bool* found);
  // The checks and preparation every put shares: a valid expiry and size, a
  // writable store and family, the expiry index if needed; *stored receives
  // the bytes to write (sealed on an encrypted store).
  Status PrepareValueWrite(ColumnFamilyState& cf, Slice key, Slice value,
                           int64_t expire_at_ms, Slice* stored);
  // Looks `key` up for Exists and TtlRemaining: *found, and *remaining as
  // kNoTtl, ms left, or 0 if expired (*now then holds the time compared).
  Status LookUpTtl(ColumnFamilyState& cf, Slice key, bool* found,
                   int64_t* remaining, int64_t* now, std::string_view context);
  // The file's schema version (PRAGMA schema_version) as this connection
  // reads it now.
  Status SchemaVersion(int64_t* version);
  // Whether the file's schema, as this connection reads it now, has a
  // table or index called `name`.
  Status SchemaObjectExists(std::string_view name, bool* exists);
  // The id of the family named `name` in the catalog (NotFound if none).
  Status FindColumnFamilyId(std::string_view name, int64_t* id);
  // Fails for keys or values longer than SQLite can store.
  Status CheckSize(Slice key, Slice value) const;

  // How a read through the pages went.
  enum class PageLookup { kFound, kNotFound, kUseSql };
  // Looks `key` up in the pages of the cached snapshot. *row points into
  // the pages (or page_buf_) until pages_.EndRead().
  // RootPage and ValuesRootPage: the root page of `table` for `cookie`,
  // from the cache (*known, *known_cookie, *page) or looked up and cached;
  // 0 unless the table's sql is `required_sql` (when that is not empty).
  uint32_t SchemaRootPage(const std::string& table, uint32_t cookie,
                          bool* known, uint32_t* known_cookie, uint32_t* page,
                          std::string_view required_sql = {});
  // With `need_value`, an out-of-line value is resolved from the pages too
  // (into row->value, which may then point into values_buf_); without it,
  // a row holding a reference is found as it is (row->value_ref).
  PageLookup FindInPages(ColumnFamilyState& cf, Slice key, StoredRow* row,
                         bool need_value);
  // Hands the stored value of a found row to `sink` (opening it on an
  // encrypted store) and accounts for it.
  Status DeliverValue(const ColumnFamilyState& cf, Slice key, Slice stored,
                      const ValueSink& sink);
  // Lazily deletes `key` if it is expired as of now_ms (best effort).
  void ExpireKey(ColumnFamilyState& cf, Slice key, int64_t now_ms);
  // Inside a write transaction puts are collected in pending_ and written
  // out together, in key order (write_buffer.h), when the transaction
  // commits, any other call needs them, or the buffer is full. Nothing
  // outside this handle can see the difference: the rows only become
  // visible at commit.
  Status BufferPut(ColumnFamilyState& cf, Slice key, Slice stored,
                   int64_t expire_at_ms);
  // A delete inside a write transaction: finds out whether `key` is live
  // (in the buffer, else through a read, which needs no write and so does
  // not dirty a page) and buffers an erase of its row, written out with
  // the puts in key order. NotFound, with the row still erased, for an
  // expired key.
  Status BufferDelete(ColumnFamilyState& cf, Slice key);
  // The pages of the write transaction's snapshot, for BufferDelete's
  // lookups, while they are still what the transaction sees: until it
  // writes anything to SQLite (rows, schema, page moves). nullptr once it
  // has, or when pages cannot be read directly.
  const engine::PageSnapshot* TxnPages();
  // Notes that a write transaction has just begun (BEGIN IMMEDIATE ran).
  void NoteWriteTxnBegun();
  // Before BEGIN IMMEDIATE: when this handle's last commit added
  // kAutoCheckpointFrames / 2 frames or more and that many are still
  // uncopied (its catch-up pass queued or running), copies them first, so
  // that the transaction reads the database file rather than the WAL and
  // its first write starts the WAL over.
  void CatchUpBeforeWriteTxn();
  // Before the first buffered write of `cf` in a write transaction: fails
  // if another connection dropped its table (a buffered write fails only
  // when written out, when its error could no longer be told apart).
  Status CheckFamilyForBuffering(ColumnFamilyState& cf);
  // Writes the buffered puts. On failure the transaction is rolled back
  // (the buffered puts cannot be told apart any more) and the error says so.
  Status FlushPending();
  // Writes puts and erases to one family, in ascending key order (as
  // WriteBuffer::Sorted hands them out).
  Status WriteSorted(ColumnFamilyState& cf,
                     std::span<const WriteBuffer::Put> puts);
  // Writes one put through the single-row statement, or one erase.
  Status WriteOne(ColumnFamilyState& cf, const WriteBuffer::Put& put);

  // Opens a read transaction whose snapshot is known to match the current
  // WAL-index header, or leaves none (the next statement then runs in its
  // own fresh transaction).
  Status StartSnapshot();
  // Prepares begin_stmt_, touch_stmt_ and commit_stmt_ if not yet done.
  Status PrepareSnapshotStatements();
  // Sets page_snapshot_ for the snapshot just validated (a usable one when
  // its pages can be read directly).
  void DescribePages(const engine::WalWatch::Header& header,
                     uint32_t backfilled);
  // Ends the cached read transaction and the write pin, if any.
  void EndSnapshot() noexcept;
  // Ends the cached read transaction only.
  void EndHeldSnapshot() noexcept;
  // The inline checkpoint of OnWalCommit. With `may_skip` (the WAL is
  // still within its hard bound) a background pass in progress is not
  // waited for: the pass is asked to stop at its next step and the next
  // commit tries again.
  void CheckpointInline(sqlite3* db, const char* schema, int frames,
                        bool may_skip);
  // Accounts a read that found another connection's commit.
  void NoteChangedRead();
  // Turns memory-mapped reads on or off.
  void UseMemoryMap(bool on);
  // Undoes in-process bookkeeping of a rolled-back write transaction:
  // families it created are gone again, families it dropped are back, and
  // expiry indexes it may have created are not known to exist.
  void ForgetTransaction();
  // Notices a transaction SQLite rolled back on its own after an error.
  void SyncTxnState() noexcept;

  Status SealWithKey(int64_t cf_id, Slice key, Slice value, std::string* buf,
                     Slice* stored) const;
  Status OpenWithKey(int64_t cf_id, Slice key, Slice stored, std::string* buf,
                     Slice* plain) const;
  // Derives the key, then either checks it against the stored verifier
  // (*already encrypted) or encrypts the store in place.
  Status SetUpEncryption(Slice password, bool already_encrypted);
  // Rewrites every value of every family, opened with `from` (nullptr:
  // plaintext) and sealed with `to` (nullptr: plaintext). Caller holds a
  // write transaction.
  Status RewriteAllValues(const crypto::Cipher* from, const crypto::Cipher* to);
  // Stores the key-derivation parameters and verifier of `cipher`.
  Status WriteCipherMeta(const crypto::KdfParams& params,
                         const crypto::Cipher& cipher);
  // Overwrites freed pages and truncates the WAL, so no bytes of values
  // from before a conversion survive in the files.
  Status ScrubFreeSpace();

  static int OnWalCommit(void* self, sqlite3* db, const char* schema,
                         int frames);
  static int OnCommit(void* self);
  static void OnRollback(void* self);
  static int OnBusy(void* self, int attempts);

  std::mutex mu_;
  // The fork generation and process that opened the store (see
  // forked_away).
  const uint64_t fork_generation_ = engine::ForkGeneration();
  const pid_t opener_pid_ = getpid();
  engine::Connection conn_;
  RowBatch* filling_batch_ = nullptr;  // see StepCollecting
  uint64_t rollbacks_ = 0;             // see change_epoch
  std::string path_;                   // the database file ("" in memory)

  // Background checkpoints (background_checkpoint.h). ckpt_mu_ guards the
  // connection; lock order: mu_ before ckpt_mu_.
  std::mutex ckpt_mu_;
  engine::Connection ckpt_conn_;
  bool ckpt_closed_ = false;
  std::atomic<bool> ckpt_requested_{false};
  std::atomic<bool> ckpt_running_{false};  // see OnBusy
  // Set by OnWalCommit when the pass it requests is a catch-up pass, and by
  // that pass when it has finished (see OnWalCommit).
  std::atomic<bool> ckpt_catch_up_{false};
  std::atomic<bool> catch_up_done_{false};
  // Set by a commit whose inline checkpoint wants ckpt_mu_: a background
  // pass gives way at its next step (between sub-passes and syncs) instead
  // of finishing while the writer waits. Cleared by the commit that gets
  // the mutex.
  std::atomic<bool> writer_waiting_{false};
  bool catch_up_asked_ = false;        // in this cycle; guarded by mu_
  int catch_up_asked_frames_ = 0;      // the WAL's size when it was asked
  bool catch_up_asked_again_ = false;  // see OnWalCommit; guarded by mu_
  int synced_backfill_ = 0;            // WAL frames backfilled at our last sync
  // Frames this handle's last commit added to the WAL (OnWalCommit), for
  // CatchUpBeforeWriteTxn; 0 once that has looked at them.
  int last_commit_frames_ = 0;
  // Cleared for good when a background sync failed (RunBackgroundCheckpoint).
  std::atomic<bool> background_checkpoints_enabled_{true};
  int busy_timeout_ms_ = 0;
  std::chrono::steady_clock::time_point busy_since_;  // of the current wait
  std::function<bool()> keep_waiting_;                // Options::keep_waiting
  std::chrono::steady_clock::time_point last_wait_check_;  // keep_waiting_
  std::atomic<uint64_t> background_checkpoints_{0};
  bool read_only_ = false;
  bool wal_mode_ = false;
  int wal_size_limit_ = 0;
  SyncLevel sync_level_ = SyncLevel::kNormal;
  int commits_since_checkpoint_ = 0;
  int wal_frames_seen_ = 0;      // WAL size at the last commit
  uint64_t wal_salts_seen_ = 0;  // the WAL's salts then
  // The WAL's size and salts just before the commit in progress (OnCommit).
  std::optional<int> frames_before_commit_;
  uint64_t salts_before_commit_ = 0;
  int next_checkpoint_frames_ = 16000;   // auto-checkpoint when reached
  int next_background_frames_ = 1000;    // ask for a background pass
  uint64_t expiry_indexes_created_ = 0;  // by this handle (see MayHaveTtl)
  Txn txn_ = Txn::kNone;
  uint64_t write_txn_serial_ = 0;  // counts explicit write transactions
  // Family changes made inside the current write transaction.
  std::vector<int64_t> created_in_txn_;
  std::vector<std::shared_ptr<ColumnFamilyState>> dropped_in_txn_;

  // The cached read snapshot (WAL mode, outside explicit transactions).
  bool snapshot_open_ = false;
  bool watched_ = false;  // registered with IdleReleaser
  engine::WalWatch wal_watch_;
  engine::WalWatch::Header snapshot_header_{};
  engine::WalWatch::Header last_seen_header_{};  // at the previous read
  int quiet_reads_ = 0;            // reads in a row that found no new commit
  uint64_t snapshots_taken_ = 0;   // see snapshots_taken()
  bool wrote_since_read_ = false;  // this handle wrote since its last read
  bool mmap_on_ = false;           // memory-mapped reads (see PrepareRead)
  int snapshot_hits_ = 0;  // reads served by the held snapshot, in a row
  int changed_reads_ = 0;  // reads that found a new commit, since map on
  std::chrono::steady_clock::time_point last_read_;
  engine::Statement begin_stmt_;
  engine::Statement touch_stmt_;  // any read: makes BEGIN take its snapshot
  engine::Statement commit_stmt_;
  // BEGIN IMMEDIATE of an autocommit WriteScope (prepared once).
  engine::Statement begin_immediate_stmt_;
  // The write pin (see StepAutocommitWrite): a pending one-row read.
  engine::Statement write_pin_stmt_;
  bool write_pin_held_ = false;
  int writes_under_pin_ = 0;
  // Set by OnWalCommit under the pin: the pin must go so that a checkpoint
  // can copy past it, and maybe an inline checkpoint is due, at this WAL
  // size (it cannot run while the pin holds a read transaction).
  bool renew_write_pin_ = false;
  std::optional<int> checkpoint_due_frames_;
  bool checkpoint_due_may_skip_ = false;  // CheckpointInline's may_skip
  // Reads that bypass SQL (docs/design.md, "Read path"): the pages of the
  // validated cached snapshot. Declared after conn_, so destroyed first.
  engine::PageSource pages_;
  engine::PageSnapshot page_snapshot_;
  bool pages_unavailable_ = false;  // attaching failed: SQL only
  bool memory_map_ = true;          // Options::memory_map
  engine::Statement root_stmt_;     // see RootPage
  std::string page_buf_;            // records that spill onto overflow pages
  std::string values_buf_;          // out-of-line values read from the pages
  uint64_t values_from_pages_ = 0;  // see values_from_pages()
  // The write transaction's snapshot (see TxnPages): taken in transaction
  // txn_pages_serial_; valid while the counters of SQL writes are as they
  // were at its BEGIN and txn_pages_stale_ is clear.
  engine::PageSnapshot txn_pages_;
  uint64_t txn_pages_serial_ = 0;
  int64_t txn_changes_at_begin_ = 0;
  uint64_t txn_expiry_indexes_at_begin_ = 0;
  bool txn_pages_stale_ = false;  // a write the counters miss (page moves)
  std::shared_ptr<ColumnFamilyState> default_cf_;
  std::map<int64_t, std::weak_ptr<ColumnFamilyState>> families_;
  std::set<IteratorCore*> iterators_;
  Stats stats_;
  std::string last_error_ = "not an error";
  crypto::Cipher cipher_;  // has a key on encrypted stores

  WriteBuffer pending_;    // puts of the current write transaction
  std::string value_buf_;  // scratch for sealing/opening values
  std::string ref_buf_;    // an out-of-line stored value being read
  // Out of line goes a row whose record is longer than this (schema.h);
  // set when the store is opened, from its page size.
  int64_t max_local_payload_ = schema::MaxLocalPayload(4096);
};

}  // namespace snkv::internal

#endif  // SNKV_KV_STORE_CORE_H
