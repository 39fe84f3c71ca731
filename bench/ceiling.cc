// ceiling.cc -- snkv_ceiling: how far past plain SQLite a store built on
// SQLite's public API can get. Each workload runs a baseline (the table,
// statements and settings of snkv_bench's `sqlite` store) and variants that
// use public SQLite features a store could adopt (multi-row inserts, no
// auto-checkpoint, a WAL that already has room, mmap, a held read
// transaction, exclusive locking), and reports each variant's multiple of
// the baseline. These are the best variants tried, not proofs of a limit.
// Each timed run starts from a fresh connection and an empty WAL and
// checks less per row than snkv_bench, so compare multiples, not absolute
// figures, across the two tools. snkv itself is not used; keys and values
// are snkv_bench's (data.h).
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "data.h"
#include "options.h"
#include "sqlite_handles.h"
#include "workload.h"

namespace {

using bench::make_key;
using bench::make_value;

constexpr size_t kValueSize = 100;
constexpr uint64_t kTxnSize = 1000;  // puts per seq_write transaction
constexpr int64_t kMmapBytes = int64_t{1} << 30;

// The settings variants ask for, and start_variant() checks.
const std::string kNoCheckpoints = "PRAGMA wal_autocheckpoint=0";
const std::string kExclusive = "PRAGMA locking_mode=EXCLUSIVE";
const std::string kMmap = "PRAGMA mmap_size=" + std::to_string(kMmapBytes);

using bench::DbPtr;
using bench::StmtPtr;

// Throws "check failed: what"; main turns it into exit status 1.
[[noreturn]] void failed(const std::string& what) {
  throw std::runtime_error("check failed: " + what);
}

// failed(what) unless ok. Not for timed loops: it builds `what` every time.
void expect(bool ok, const std::string& what) {
  if (!ok) failed(what);
}

// Operation counts, already scaled.
struct Counts {
  uint64_t keys, reads, updates, deletes, mixed;
};

// One named way of running a workload. Pragmas run first on every
// connection, before the common settings, because auto_vacuum and
// locking_mode only take full effect before the file is first touched.
struct Variant {
  std::string name;
  std::vector<std::string> pragmas{};
  int rows = 1;              // seq_write: rows per INSERT statement
  bool snkv_schema = false;  // seq_write: snkv's table with `expires`
  bool held_txn = false;     // random_read: all reads in one transaction
  // update/delete: the WAL file already has room for every frame the run
  // writes, as a WAL that checkpoints keep resetting would (see allocate_wal).
  bool wal_allocated = false;
  // update/delete: a read statement is kept stepped (not reset) across the
  // autocommit writes, so each write upgrades a read transaction that
  // outlives its commit instead of starting a new one; it is re-stepped
  // every kPinnedWrites writes so checkpoints can move past it.
  bool pinned_read = false;
  // delete_txn: the deletes are made in key order (the keys are sorted
  // first, untimed), and with lookup_first each key is first looked up by a
  // SELECT in the original order, as a store that must answer every delete
  // at once but writes them later in key order would.
  bool sorted = false;
  bool lookup_first = false;
  // seq_write as snkv_bench's bulk_seq: keys bulk_key_%08d with 20-byte
  // values, all in one transaction, into a store of its own; the multi-row
  // statement is INSERT OR FAIL, as snkv writes appends (no statement
  // journal), and single rows INSERT OR REPLACE.
  bool one_txn = false;
};

constexpr uint64_t kPinnedWrites = 1000;

// A connection with the common settings; owns its prepared statements,
// which are finalized before it is closed (members die in reverse order).
class Db {
 public:
  // Opens (creates) path, runs `pragmas`, then snkv_bench's settings.
  Db(const std::string& path, const std::vector<std::string>& pragmas) {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(
        path.c_str(), &raw,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
        nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) fail("open " + path);
    sqlite3_busy_timeout(db_.get(), 10000);
    for (const auto& p : pragmas) exec(p);
    for (const char* p :
         {"PRAGMA page_size=4096", "PRAGMA journal_mode=WAL",
          "PRAGMA synchronous=NORMAL", "PRAGMA cache_size=2000"})
      exec(p);
  }

  // Throws with SQLite's latest error message.
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("sqlite " + what + ": " +
                             sqlite3_errmsg(db_.get()));
  }

  // Runs sql, discarding any rows.
  void exec(const std::string& sql) {
    if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, nullptr))
      fail(sql);
  }

  // Compiles sql once; the statement lives as long as the connection.
  sqlite3_stmt* prepare(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_.get(), sql.c_str(), -1,
                           SQLITE_PREPARE_PERSISTENT, &s, nullptr))
      fail(sql);
    stmts_.emplace_back(s);
    return s;
  }

  // Binds bytes (not copied: they must outlive the step) to parameter i.
  void bind(sqlite3_stmt* s, int i, std::string_view b) {
    if (sqlite3_bind_blob(s, i, b.empty() ? "" : b.data(),
                          static_cast<int>(b.size()), SQLITE_STATIC))
      fail("bind");
  }

  // Steps s once (a write, or a statement whose rows we ignore), resets it.
  void run(sqlite3_stmt* s) {
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) fail(sqlite3_sql(s));
    sqlite3_reset(s);
  }

  // Steps query s: true on a row; false at the end, with s reset.
  bool row(sqlite3_stmt* s) {
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail(sqlite3_sql(s));
    sqlite3_reset(s);
    return false;
  }

  // The integer in the first column of the first row of sql (untimed).
  int64_t value(const std::string& sql) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &raw, nullptr))
      fail(sql);
    StmtPtr s(raw);
    if (sqlite3_step(raw) != SQLITE_ROW) fail(sql);
    return sqlite3_column_int64(raw, 0);
  }

  // The text in the first column of the first row of sql (untimed).
  std::string text(const std::string& sql) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &raw, nullptr))
      fail(sql);
    StmtPtr s(raw);
    if (sqlite3_step(raw) != SQLITE_ROW) fail(sql);
    const unsigned char* t = sqlite3_column_text(raw, 0);
    return t ? reinterpret_cast<const char*>(t) : "";
  }

  // Moves the whole WAL into the database and empties it.
  void checkpoint() {
    expect(value("PRAGMA wal_checkpoint(TRUNCATE)") == 0, "checkpoint busy");
  }

  sqlite3* get() const { return db_.get(); }

 private:
  DbPtr db_;
  std::vector<StmtPtr> stmts_;
};

// Gives the (empty) WAL of `db_path` room for `frames` frames of 4 KiB
// pages by writing zeros and syncing them. Growing a file costs block
// allocation and size updates that writing over a WAL reset by a checkpoint
// does not; without this, a variant that never checkpoints would pay them
// for every frame and understate the bound. SQLite ignores bytes past the
// last valid frame, so the zeros are harmless.
void allocate_wal(const std::string& db_path, uint64_t frames) {
  const std::string path = db_path + "-wal";
  FILE* f = std::fopen(path.c_str(), "r+b");
  expect(f != nullptr, "open " + path);
  const std::vector<char> zeros(size_t{1} << 20, 0);
  const uint64_t bytes = 32 + (frames + 64) * (4096 + 24);
  bool ok = true;
  for (uint64_t done = 0; ok && done < bytes; done += zeros.size()) {
    ok = std::fwrite(zeros.data(), 1, zeros.size(), f) == zeros.size();
  }
  ok = ok && std::fflush(f) == 0 && fdatasync(fileno(f)) == 0;
  ok = std::fclose(f) == 0 && ok;
  expect(ok, "write " + path);
}

// Where a repetition keeps its files, and what it runs.
struct Run {
  Counts n;
  std::string dir, main_db;  // main_db: written by seq_write's baseline
  int rep;
};

// "INSERT OR REPLACE INTO kv(k, v) VALUES(?1, ?2)" with `rows` tuples,
// and an expires column when cols is 3.
std::string insert_sql(int rows, int cols, bool or_fail = false) {
  std::string s = or_fail ? "INSERT OR FAIL" : "INSERT OR REPLACE";
  s += cols == 3 ? " INTO kv(k, v, expires) VALUES" : " INTO kv(k, v) VALUES";
  for (int r = 0; r < rows; ++r) {
    s += r ? ", (" : "(";
    for (int c = 1; c <= cols; ++c)
      s += (c > 1 ? ", ?" : "?") + std::to_string(r * cols + c);
    s += ")";
  }
  return s;
}

// Removes a database file with its WAL and shared-memory files.
void remove_db(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(path + suffix);
}

// N puts in key order, kTxnSize per transaction (all in one for bulk_seq's
// variants), into a new file (seq_write's baseline's becomes the shared
// database of the later workloads).
double seq_write(const Run& r, const Variant& v, size_t index) {
  // Only seq_write's baseline writes the database later workloads read.
  const bool main = index == 0 && !v.one_txn;
  std::string path = main ? r.main_db : r.dir + "/seq_" + v.name + ".db";
  remove_db(path);
  double rate;
  {
    Db db(path, v.pragmas);
    const int cols = v.snkv_schema ? 3 : 2;
    db.exec(v.snkv_schema ? "CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB NOT "
                            "NULL, expires INTEGER) WITHOUT ROWID"
                          : "CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB) "
                            "WITHOUT ROWID");
    sqlite3_stmt* one = db.prepare(insert_sql(1, cols));
    sqlite3_stmt* many =
        db.prepare(insert_sql(v.rows, cols, v.one_txn && v.rows > 1));
    sqlite3_stmt* begin = db.prepare("BEGIN IMMEDIATE");
    sqlite3_stmt* commit = db.prepare("COMMIT");
    std::vector<std::string> keys(v.rows), values(v.rows);
    const uint64_t n = r.n.keys, rows = static_cast<uint64_t>(v.rows);
    const uint64_t txn = v.one_txn ? n : kTxnSize;
    const size_t value_size = v.one_txn ? 20 : kValueSize;
    bench::Timer timer;
    for (uint64_t i = 0; i < n;) {
      db.run(begin);
      for (uint64_t end = std::min(n, i + txn); i < end;) {
        // Whole multi-row statements while they fit, then row by row.
        int k = end - i >= rows ? v.rows : 1;
        sqlite3_stmt* s = k == 1 ? one : many;
        for (int j = 0; j < k; ++j, ++i) {
          keys[j] = v.one_txn ? bench::make_bulk_key(i) : make_key(i);
          db.bind(s, j * cols + 1, keys[j]);
          db.bind(s, j * cols + 2, make_value(i, 0, value_size, &values[j]));
          if (cols == 3) sqlite3_bind_null(s, j * cols + 3);
        }
        db.run(s);
      }
      db.run(commit);
    }
    rate = static_cast<double>(n) / timer.seconds();
    expect(db.value("SELECT count(*) FROM kv") == static_cast<int64_t>(n),
           v.name + ": row count after seq_write");
    expect(db.value("PRAGMA page_size") == 4096, v.name + ": page size");
    expect(!v.snkv_schema || db.value("PRAGMA auto_vacuum") == 2,
           v.name + ": auto_vacuum is not incremental");
  }
  if (!main) remove_db(path);
  return rate;
}

// Checks that variant v's memory-map, checkpoint and locking settings took
// effect on db (the shared database), then empties the WAL, so that every
// variant starts alike.
void start_variant(Db& db, const Variant& v) {
  auto asks = [&v](const std::string& pragma) {
    return std::find(v.pragmas.begin(), v.pragmas.end(), pragma) !=
           v.pragmas.end();
  };
  expect((db.value("PRAGMA mmap_size") == kMmapBytes) == asks(kMmap),
         v.name + ": mmap_size");
  expect((db.value("PRAGMA wal_autocheckpoint") == 0) == asks(kNoCheckpoints),
         v.name + ": wal_autocheckpoint");
  expect((db.text("PRAGMA locking_mode") == "exclusive") == asks(kExclusive),
         v.name + ": locking_mode");
  db.checkpoint();
}

// Iterates the shared database in key order; keys must be 0..N-1.
double full_scan(const Run& r, const Variant& v, size_t) {
  Db db(r.main_db, v.pragmas);
  start_variant(db, v);
  sqlite3_stmt* s = db.prepare("SELECT k, v FROM kv ORDER BY k");
  uint64_t next = 0;
  bench::Timer timer;
  while (db.row(s)) {
    std::string_view k(static_cast<const char*>(sqlite3_column_blob(s, 0)),
                       static_cast<size_t>(sqlite3_column_bytes(s, 0)));
    std::string_view val(static_cast<const char*>(sqlite3_column_blob(s, 1)),
                         static_cast<size_t>(sqlite3_column_bytes(s, 1)));
    if (k != make_key(next) || val.size() != kValueSize)
      failed(v.name + ": scan entry " + std::to_string(next));
    ++next;
  }
  double rate = static_cast<double>(next) / timer.seconds();
  expect(next == r.n.keys, v.name + ": scan saw " + std::to_string(next));
  return rate;
}

// Holds a read transaction open on db while active (see
// Variant::pinned_read).
class ReadPin {
 public:
  ReadPin(Db& db, bool on) : db_(db), on_(on) {
    if (!on_) return;
    stmt_ = db_.prepare("SELECT 1 FROM kv LIMIT 1");
    Renew();
  }
  ~ReadPin() {
    if (stmt_ != nullptr) sqlite3_reset(stmt_);
  }
  ReadPin(const ReadPin&) = delete;
  ReadPin& operator=(const ReadPin&) = delete;
  // Called after each write: every kPinnedWrites, ends the read
  // transaction and starts a new one.
  void Wrote() {
    if (on_ && ++writes_ % kPinnedWrites == 0) Renew();
  }

 private:
  void Renew() {
    sqlite3_reset(stmt_);
    if (!db_.row(stmt_)) db_.fail("pin: no row");
  }
  Db& db_;
  bool on_;
  sqlite3_stmt* stmt_ = nullptr;  // owned by db_
  uint64_t writes_ = 0;
};

// Random gets of present keys, autocommit or in one held read transaction.
double random_read(const Run& r, const Variant& v, size_t) {
  Db db(r.main_db, v.pragmas);
  start_variant(db, v);
  sqlite3_stmt* get = db.prepare("SELECT v FROM kv WHERE k = ?1");
  bench::Rng rng(1);  // the same keys for every variant
  bench::Timer timer;
  if (v.held_txn) db.exec("BEGIN");
  for (uint64_t op = 0; op < r.n.reads; ++op) {
    std::string key = make_key(rng.below(r.n.keys));
    db.bind(get, 1, key);
    if (!db.row(get) ||
        static_cast<size_t>(sqlite3_column_bytes(get, 0)) != kValueSize)
      failed(v.name + ": read of " + key);
    sqlite3_reset(get);
  }
  if (v.held_txn) db.exec("COMMIT");
  return static_cast<double>(r.n.reads) / timer.seconds();
}

// Random autocommit updates to a generation unique to this variant; a
// sample must read it back.
double update_autocommit(const Run& r, const Variant& v, size_t index) {
  Db db(r.main_db, v.pragmas);
  start_variant(db, v);
  if (v.wal_allocated) allocate_wal(r.main_db, r.n.updates);
  sqlite3_stmt* put = db.prepare(insert_sql(1, 2));
  sqlite3_stmt* get = db.prepare("SELECT v FROM kv WHERE k = ?1");
  // Each repetition loads a fresh database: unique among its variants is
  // enough.
  const auto gen = static_cast<uint32_t>(1 + index);
  bench::Rng rng(3);  // the same keys for every variant
  std::vector<uint64_t> done;
  std::string value;
  bench::Timer timer;
  {
    ReadPin pin(db, v.pinned_read);
    for (uint64_t op = 0; op < r.n.updates; ++op) {
      uint64_t i = rng.below(r.n.keys);
      std::string key = make_key(i);
      db.bind(put, 1, key);
      db.bind(put, 2, make_value(i, gen, kValueSize, &value));
      db.run(put);
      pin.Wrote();
      done.push_back(i);
    }
  }
  double rate = static_cast<double>(r.n.updates) / timer.seconds();
  for (size_t j = 0; j < done.size(); j += 1 + done.size() / 200) {
    std::string key = make_key(done[j]);
    db.bind(get, 1, key);
    bool found = db.row(get);
    std::string_view got;
    if (found)
      got = {static_cast<const char*>(sqlite3_column_blob(get, 0)),
             static_cast<size_t>(sqlite3_column_bytes(get, 0))};
    expect(found && bench::value_matches(done[j], kValueSize, got) &&
               bench::value_generation(got) == gen,
           v.name + ": update of " + key + " not visible");
    sqlite3_reset(get);
  }
  return rate;
}

// Autocommit deletes of this variant's own slice of a shuffled key list,
// so every key it deletes is still present.
double delete_autocommit(const Run& r, const Variant& v, size_t index) {
  Db db(r.main_db, v.pragmas);
  start_variant(db, v);
  if (v.wal_allocated) allocate_wal(r.main_db, r.n.deletes);
  sqlite3_stmt* del = db.prepare("DELETE FROM kv WHERE k = ?1");
  std::vector<uint64_t> order = bench::shuffled(r.n.keys, 5);
  auto first = order.begin() + static_cast<ptrdiff_t>(index * r.n.deletes);
  std::vector<uint64_t> mine(first,
                             first + static_cast<ptrdiff_t>(r.n.deletes));
  bench::Timer timer;
  {
    ReadPin pin(db, v.pinned_read);
    for (uint64_t i : mine) {
      std::string key = make_key(i);
      db.bind(del, 1, key);
      db.run(del);
      if (sqlite3_changes(db.get()) != 1) failed(v.name + ": delete of " + key);
      pin.Wrote();
    }
  }
  return static_cast<double>(mine.size()) / timer.seconds();
}

// Slices of the shuffled key list delete_autocommit's variants use; the
// variants of delete_txn take the slices after them.
constexpr size_t kDeleteAutocommitSlices = 6;

// Slices of the shuffled key list delete_txn's variants use (after
// delete_autocommit's); mixed_txn's variants take the slices after them,
// and its updates the keys after those, which no variant deletes.
constexpr size_t kDeleteTxnSlices = 4;
constexpr size_t kMixedTxnSlices = 4;

// Deletes of this variant's own slice of the shuffled key list, all in one
// transaction (begin to commit timed), in random or key order.
double delete_txn(const Run& r, const Variant& v, size_t index) {
  Db db(r.main_db, v.pragmas);
  start_variant(db, v);
  sqlite3_stmt* del = db.prepare("DELETE FROM kv WHERE k = ?1");
  sqlite3_stmt* look = db.prepare("SELECT 1 FROM kv WHERE k = ?1");
  sqlite3_stmt* begin = db.prepare("BEGIN IMMEDIATE");
  sqlite3_stmt* commit = db.prepare("COMMIT");
  std::vector<uint64_t> order = bench::shuffled(r.n.keys, 5);
  const size_t slice = kDeleteAutocommitSlices + index;
  expect(index < kDeleteTxnSlices, "delete_txn: too many variants");
  expect((slice + 1) * r.n.deletes <= order.size(), "delete_txn: too few keys");
  auto first = order.begin() + static_cast<ptrdiff_t>(slice * r.n.deletes);
  std::vector<uint64_t> mine(first,
                             first + static_cast<ptrdiff_t>(r.n.deletes));
  std::vector<std::string> keys;
  for (uint64_t i : mine) keys.push_back(make_key(i));
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  bench::Timer timer;
  db.run(begin);
  if (v.lookup_first) {
    for (const std::string& key : keys) {
      db.bind(look, 1, key);
      if (!db.row(look)) failed(v.name + ": lookup of " + key);
      sqlite3_reset(look);
    }
  }
  for (const std::string& key : v.sorted ? sorted : keys) {
    db.bind(del, 1, key);
    db.run(del);
    if (sqlite3_changes(db.get()) != 1) failed(v.name + ": delete of " + key);
  }
  db.run(commit);
  return static_cast<double>(keys.size()) / timer.seconds();
}

// snkv_bench's mixed_txn: r.n.mixed operations in one transaction (begin
// to commit timed), at random half autocommit-style updates (INSERT OR
// REPLACE, to a generation unique to the variant) of keys no variant
// deletes and half deletes of this variant's own slice of the shuffled
// key list, in the order snkv_bench makes them; `sorted` makes them in key
// order instead (sorted untimed, the later of two updates of one key
// last), and `lookup_first` first looks each delete's key up by a SELECT
// in the original order, as a store that must answer every delete at once
// but writes in key order would. Afterwards every delete must have found
// its key and a sample of the updates must read back.
double mixed_txn(const Run& r, const Variant& v, size_t index) {
  Db db(r.main_db, v.pragmas);
  start_variant(db, v);
  sqlite3_stmt* put = db.prepare(insert_sql(1, 2));
  sqlite3_stmt* del = db.prepare("DELETE FROM kv WHERE k = ?1");
  sqlite3_stmt* look = db.prepare("SELECT 1 FROM kv WHERE k = ?1");
  sqlite3_stmt* get = db.prepare("SELECT v FROM kv WHERE k = ?1");
  sqlite3_stmt* begin = db.prepare("BEGIN IMMEDIATE");
  sqlite3_stmt* commit = db.prepare("COMMIT");
  const std::vector<uint64_t> order = bench::shuffled(r.n.keys, 5);
  const uint64_t dels = r.n.mixed / 2;
  const size_t first_slice = kDeleteAutocommitSlices + kDeleteTxnSlices + index;
  const uint64_t keep_first =
      (kDeleteAutocommitSlices + kDeleteTxnSlices + kMixedTxnSlices) *
      r.n.deletes;
  expect(dels <= r.n.deletes && keep_first < order.size(),
         "mixed_txn: too few keys");
  const auto gen = static_cast<uint32_t>(1 + index);
  // The operations, as snkv_bench makes them: (key, is a delete).
  struct Op {
    std::string key;
    bool del;
    uint64_t i;
  };
  std::vector<Op> ops;
  bench::Rng rng(8);
  uint64_t deleted = 0, updated = 0;
  for (uint64_t op = 0; op < r.n.mixed; ++op) {
    const uint64_t puts_left = (r.n.mixed - dels) - updated;
    if (deleted < dels && (puts_left == 0 || rng.below(2) == 0)) {
      const uint64_t i = order[first_slice * r.n.deletes + deleted++];
      ops.push_back({make_key(i), true, i});
    } else {
      const uint64_t i = order[keep_first + rng.below(r.n.keys - keep_first)];
      ops.push_back({make_key(i), false, i});
      ++updated;
    }
  }
  std::vector<Op> sorted = ops;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Op& a, const Op& b) { return a.key < b.key; });
  std::string value;
  bench::Timer timer;
  db.run(begin);
  if (v.lookup_first) {
    for (const Op& op : ops) {
      if (!op.del) continue;
      db.bind(look, 1, op.key);
      if (!db.row(look)) failed(v.name + ": lookup of " + op.key);
      sqlite3_reset(look);
    }
  }
  for (const Op& op : v.sorted ? sorted : ops) {
    if (op.del) {
      db.bind(del, 1, op.key);
      db.run(del);
      if (sqlite3_changes(db.get()) != 1)
        failed(v.name + ": delete of " + op.key);
    } else {
      db.bind(put, 1, op.key);
      db.bind(put, 2, make_value(op.i, gen, kValueSize, &value));
      db.run(put);
    }
  }
  db.run(commit);
  const double rate = static_cast<double>(ops.size()) / timer.seconds();
  for (size_t j = 0; j < ops.size(); j += 1 + ops.size() / 200) {
    const Op& op = ops[j];
    db.bind(get, 1, op.key);
    const bool found = db.row(get);
    std::string_view got;
    if (found)
      got = {static_cast<const char*>(sqlite3_column_blob(get, 0)),
             static_cast<size_t>(sqlite3_column_bytes(get, 0))};
    expect(op.del ? !found
                  : found && bench::value_matches(op.i, kValueSize, got) &&
                        bench::value_generation(got) == gen,
           v.name + ": " + (op.del ? "deleted " : "updated ") + op.key +
               " reads back wrong");
    sqlite3_reset(get);
  }
  return rate;
}

// A workload, its variants (baseline first), ops per run, and each
// variant's ops/s by repetition.
struct Workload {
  const char* name;
  double (*run)(const Run&, const Variant&, size_t);
  std::vector<Variant> variants;
  uint64_t ops;
  std::vector<std::vector<double>> rates{};
};

// The workloads and variants at counts n.
std::vector<Workload> workloads(const Counts& n) {
  const std::vector<Variant> point = {
      {.name = "baseline"},
      {.name = "nockpt", .pragmas = {kNoCheckpoints}},
      {.name = "nockpt_wal_allocated",
       .pragmas = {kNoCheckpoints},
       .wal_allocated = true},
      {.name = "nockpt_exclusive", .pragmas = {kNoCheckpoints, kExclusive}},
      {.name = "pinned_read", .pinned_read = true},
      {.name = "nockpt_pinned_read",
       .pragmas = {kNoCheckpoints},
       .pinned_read = true}};
  return {
      {"seq_write",
       seq_write,
       {{.name = "baseline"},
        {.name = "multirow32", .rows = 32},
        {.name = "multirow32_nockpt", .pragmas = {kNoCheckpoints}, .rows = 32},
        {.name = "snkv_schema_nockpt",
         .pragmas = {"PRAGMA auto_vacuum=INCREMENTAL", kNoCheckpoints},
         .rows = 32,
         .snkv_schema = true}},
       n.keys},
      {"bulk_seq",
       seq_write,
       {{.name = "baseline", .one_txn = true},
        {.name = "snkv_fail32",
         .pragmas = {"PRAGMA auto_vacuum=INCREMENTAL"},
         .rows = 32,
         .snkv_schema = true,
         .one_txn = true},
        {.name = "snkv_fail32_nockpt",
         .pragmas = {"PRAGMA auto_vacuum=INCREMENTAL", kNoCheckpoints},
         .rows = 32,
         .snkv_schema = true,
         .one_txn = true},
        {.name = "fail32_nockpt",
         .pragmas = {kNoCheckpoints},
         .rows = 32,
         .one_txn = true}},
       n.keys},
      {"full_scan",
       full_scan,
       {{.name = "baseline"}, {.name = "mmap", .pragmas = {kMmap}}},
       n.keys},
      {"random_read",
       random_read,
       {{.name = "baseline"},
        {.name = "held_txn_mmap", .pragmas = {kMmap}, .held_txn = true}},
       n.reads},
      {"update_autocommit", update_autocommit, point, n.updates},
      {"delete_autocommit", delete_autocommit, point, n.deletes},
      {"delete_txn",
       delete_txn,
       {{.name = "baseline"},
        {.name = "sorted", .sorted = true},
        {.name = "sorted_nockpt", .pragmas = {kNoCheckpoints}, .sorted = true},
        {.name = "lookup_sorted_nockpt",
         .pragmas = {kNoCheckpoints},
         .sorted = true,
         .lookup_first = true}},
       n.deletes},
      {"mixed_txn",
       mixed_txn,
       {{.name = "baseline"},
        {.name = "lookup_sorted", .sorted = true, .lookup_first = true},
        {.name = "sorted_nockpt", .pragmas = {kNoCheckpoints}, .sorted = true},
        {.name = "lookup_sorted_nockpt",
         .pragmas = {kNoCheckpoints},
         .sorted = true,
         .lookup_first = true}},
       n.mixed},
  };
}

// The median of v (not empty).
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

struct Options {
  double scale = 1;
  int repeat = 3;
  bool smoke = false;
  std::string json, dir;
  // Workloads to run (all when empty); seq_write always runs, since it
  // writes the database the others share.
  std::vector<std::string> workloads;
};

// Parses argv into *o; false (after printing the usage) on a bad one.
bool parse(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    char* end = nullptr;
    bool ok = true;
    if (a == "--smoke") {
      o->smoke = true;
      continue;
    } else if (!v) {
      ok = false;
    } else if (a == "--scale") {
      o->scale = std::strtod(v, &end);
      ok = !*end && o->scale > 0;
    } else if (a == "--repeat") {
      o->repeat = static_cast<int>(std::strtol(v, &end, 10));
      ok = !*end && o->repeat > 0;
    } else if (a == "--json" || a == "--dir") {
      (a == "--json" ? o->json : o->dir) = v;
    } else if (a == "--workloads") {
      std::string_view list = v;
      while (!list.empty()) {
        const size_t comma = list.find(',');
        o->workloads.emplace_back(list.substr(0, comma));
        list = comma == std::string_view::npos ? "" : list.substr(comma + 1);
      }
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr,
                   "usage: snkv_ceiling [--scale X] [--repeat N] [--json FILE]"
                   " [--dir DIR] [--workloads a,b] [--smoke]\n");
      return false;
    }
    ++i;
  }
  if (o->smoke) {
    o->scale = 0.002;
    o->repeat = 1;
  }
  if (o->dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    o->dir = tmp && *tmp ? tmp : "/tmp";
  }
  return true;
}

// Prints the table to stdout and, if o.json is set, writes the JSON file;
// false if the file could not be written.
bool report(const Options& o, const std::vector<Workload>& work) {
  char buf[512];
  std::printf("snkv_ceiling --scale %g --repeat %d (SQLite %s)\n", o.scale,
              o.repeat, sqlite3_libversion());
  std::printf("%-18s %-20s %10s %16s %10s\n%s\n", "workload", "variant", "ops",
              "ops/s (median)", "x baseline", std::string(78, '-').c_str());
  std::snprintf(buf, sizeof buf,
                "{\"program\": \"snkv_ceiling\", \"sqlite\": \"%s\", "
                "\"scale\": %g, \"repeat\": %d, \"results\": [",
                sqlite3_libversion(), o.scale, o.repeat);
  std::string js = buf;
  for (const auto& w : work) {
    double base = median(w.rates[0]);
    for (size_t v = 0; v < w.variants.size(); ++v) {
      double m = median(w.rates[v]);
      const char* name = w.variants[v].name.c_str();
      std::printf("%-18s %-20s %10llu %16.0f %10.2f\n", w.name, name,
                  static_cast<unsigned long long>(w.ops), m, m / base);
      std::snprintf(buf, sizeof buf,
                    "%s\n  {\"workload\": \"%s\", \"variant\": \"%s\", "
                    "\"ops\": %llu, \"median_ops_per_s\": %.1f, "
                    "\"ratio\": %.4f, \"ops_per_s\": [",
                    js.back() == '[' ? "" : ",", w.name, name,
                    static_cast<unsigned long long>(w.ops), m, m / base);
      js += buf;
      for (size_t k = 0; k < w.rates[v].size(); ++k) {
        std::snprintf(buf, sizeof buf, "%s%.1f", k ? ", " : "", w.rates[v][k]);
        js += buf;
      }
      js += "]}";
    }
  }
  if (o.json.empty()) return true;
  std::ofstream out(o.json);
  out << js << "\n]}\n";
  if (!out)
    std::fprintf(stderr, "snkv_ceiling: cannot write %s\n", o.json.c_str());
  return static_cast<bool>(out);
}

}  // namespace

// Exit status: 0 on success, 1 on a failed check or SQLite error (or an
// unwritable --json file), 2 on a bad command line.
int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, &o)) return 2;
  // snkv_bench's counts, so that both tools use the same keys at any scale.
  const bench::Counts c = bench::scaled_counts(o.scale);
  // delete_autocommit's and delete_txn's variants each delete their own
  // slice of the keys.
  const uint64_t slices =
      kDeleteAutocommitSlices + kDeleteTxnSlices + kMixedTxnSlices + 1;
  Counts n{c.keys, c.reads, c.update_single,
           std::min(c.keys / slices, c.deletes), c.mixed_txn};
  n.mixed = std::min(n.mixed, 2 * n.deletes);
  std::vector<Workload> work;
  for (Workload& w : workloads(n)) {
    const bool named = std::find(o.workloads.begin(), o.workloads.end(),
                                 w.name) != o.workloads.end();
    if (o.workloads.empty() || named || std::string_view(w.name) == "seq_write")
      work.push_back(std::move(w));
  }
  for (const std::string& name : o.workloads) {
    bool known = false;
    for (const Workload& w : work) known |= name == w.name;
    if (!known) {
      std::fprintf(stderr, "snkv_ceiling: unknown workload %s\n", name.c_str());
      return 2;
    }
  }
  Run run{n, o.dir + "/snkv-ceiling-" + std::to_string(getpid()), "", 0};
  run.main_db = run.dir + "/main.db";
  std::fprintf(stderr, "snkv_ceiling: %llu keys, %d run(s), dir %s\n",
               static_cast<unsigned long long>(n.keys), o.repeat,
               run.dir.c_str());
  try {
    std::filesystem::create_directories(run.dir);
    for (run.rep = 0; run.rep < o.repeat; ++run.rep) {
      for (auto& w : work) {
        w.rates.resize(w.variants.size());
        // Variants take turns, each repetition starting one later, so that
        // neither drift nor going first favours one of them.
        for (size_t j = 0; j < w.variants.size(); ++j) {
          size_t v = (j + static_cast<size_t>(run.rep)) % w.variants.size();
          std::fprintf(stderr, "run %d/%d: %s %s\n", run.rep + 1, o.repeat,
                       w.name, w.variants[v].name.c_str());
          w.rates[v].push_back(w.run(run, w.variants[v], v));
        }
      }
      remove_db(run.main_db);  // the next repetition loads its own
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "snkv_ceiling: %s\n", e.what());
    std::error_code ec;
    std::filesystem::remove_all(run.dir, ec);
    return 1;
  }
  std::filesystem::remove_all(run.dir);
  return report(o, work) ? 0 : 1;
}
