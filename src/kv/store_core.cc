// StoreCore: opening and closing, the column family catalog, transactions
// and maintenance. Data operations live in column_family.cc.
#include "kv/store_core.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <new>
#include <string>
#include <thread>
#include <utility>

#include "kv/background_checkpoint.h"
#include "kv/idle_release.h"
#include "kv/iterator_core.h"
#include "kv/schema.h"
#include "kv/write_scope.h"

namespace snkv::internal {

namespace {

constexpr int kAutoCheckpointFrames = 16000;
// WAL size (frames) at which a background checkpoint is requested: SQLite's
// own threshold. 4000 was tried and measured no faster (docs/design.md,
// "Writes").
constexpr int kBackgroundCheckpointFrames = 1000;
// The catch-up pass (see RunBackgroundCheckpoint) syncs the database file
// and passes again at most this many times, and stops early once a pass
// finds fewer new frames than kConvergedFrames.
constexpr int kCatchUpRounds = 3;
constexpr int kConvergedFrames = 256;
// Between catch-ups the background syncs the database file after copying
// this many frames (4000 made loads faster and updates slower; docs/design.md).
constexpr int kSyncEveryFrames = 8000;

// Writes the database file's dirty pages to disk through `conn`'s own file
// handle (closing a second descriptor of the file would drop SQLite's POSIX
// locks on it). False if the sync failed.
bool SyncDatabaseFile(const engine::Connection& conn) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(conn.get(), "main", SQLITE_FCNTL_FILE_POINTER,
                           &file) != SQLITE_OK ||
      file == nullptr || file->pMethods == nullptr) {
    return false;
  }
  return file->pMethods->xSync(file, SQLITE_SYNC_NORMAL) == SQLITE_OK;
}

constexpr int kQuietReadsBeforeSnapshot = 3;
// Hysteresis of memory-mapped reads (see PrepareRead).
constexpr int kSnapshotHitsBeforeMap = 256;
constexpr int kChangedReadsBeforeUnmap = 8;

// The PRAGMA that applies `level` to a connection.
const char* SynchronousPragma(SyncLevel level) {
  static const char* const kPragma[] = {"PRAGMA synchronous = OFF",
                                        "PRAGMA synchronous = NORMAL",
                                        "PRAGMA synchronous = FULL"};
  return kPragma[static_cast<int>(level)];
}

bool IsPowerOfTwo(int v) { return v > 0 && (v & (v - 1)) == 0; }

Status ValidateOptions(const Options& o) {
  if (o.journal_mode != JournalMode::kDelete &&
      o.journal_mode != JournalMode::kWal) {
    return Status::Error("invalid journal mode (use WAL or DELETE)");
  }
  if (o.sync_level != SyncLevel::kOff && o.sync_level != SyncLevel::kNormal &&
      o.sync_level != SyncLevel::kFull) {
    return Status::Error("invalid sync level (use OFF, NORMAL or FULL)");
  }
  if (o.cache_size_pages <= 0) {
    return Status::Error("cache size must be a positive number of pages");
  }
  if (!IsPowerOfTwo(o.page_size) || o.page_size < 512 || o.page_size > 65536) {
    return Status::Error("page size must be a power of two in 512..65536");
  }
  if (o.busy_timeout_ms < 0) {
    return Status::Error("busy timeout must not be negative");
  }
  if (o.wal_size_limit < 0) {
    return Status::Error("WAL size limit must not be negative");
  }
  return Status::OK();
}

Status ValidateCfName(std::string_view name) {
  if (name.empty() || name.size() > static_cast<size_t>(kMaxColumnFamilyName)) {
    return Status::Error("column family name must be 1..255 bytes");
  }
  if (name.find('\0') != std::string_view::npos) {
    return Status::Error("column family name must not contain NUL bytes");
  }
  return Status::OK();
}

// The error for a user's create or drop of a vector store's own family.
Status ReservedCfName(std::string_view name) {
  return Status::Error("column family name '" + std::string(name) +
                       "' is reserved for the vector store");
}

// Background checkpoint passes of every handle of this process: how many
// are running, and a count bumped as each starts and ends. SQLite answers
// BUSY at once, without the busy handler, to a checkpoint that finds
// another connection's checkpoint running, so an explicit checkpoint
// waits out passes of other handles (ones the user never started) through
// these, as OnBusy waits out the handle's own.
std::atomic<int> g_passes_running{0};
std::atomic<uint64_t> g_pass_events{0};
// Commits of this process waiting out another handle's pass (see
// CheckpointBesidePasses): while nonzero every pass gives way at its next
// step, as to its own handle's writer_waiting_.
std::atomic<int> g_writers_waiting{0};

// Runs sqlite3_wal_checkpoint_v2 on `db` and, while it fails with BUSY
// because a background pass of another handle of this process holds
// SQLite's checkpoint lock, tries again for up to 2 seconds (as OnBusy
// waits for a handle's own pass); another process's checkpoint is not
// waited for. With `ask_to_give_way` every pass of the process is asked
// to stop at its next step meanwhile.
int CheckpointBesidePasses(sqlite3* db, const char* schema, int mode,
                           int* log_frames, int* checkpointed_frames,
                           bool ask_to_give_way) {
  constexpr auto kPassWait = std::chrono::seconds(2);
  const auto start = std::chrono::steady_clock::now();
  struct GiveWayRequest {  // counted in g_writers_waiting while it lives
    GiveWayRequest() { ++g_writers_waiting; }
    ~GiveWayRequest() { --g_writers_waiting; }
    GiveWayRequest(const GiveWayRequest&) = delete;
    GiveWayRequest& operator=(const GiveWayRequest&) = delete;
  };
  std::optional<GiveWayRequest> give_way;
  for (;;) {
    const uint64_t events = g_pass_events.load();
    const int rc = sqlite3_wal_checkpoint_v2(db, schema, mode, log_frames,
                                             checkpointed_frames);
    const bool pass_seen =
        g_passes_running.load() > 0 || g_pass_events.load() != events;
    if (rc != SQLITE_BUSY || !pass_seen ||
        std::chrono::steady_clock::now() - start >= kPassWait) {
      return rc;
    }
    if (ask_to_give_way && !give_way) give_way.emplace();
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

}  // namespace

// ---- lifecycle -------------------------------------------------------------

Status StoreCore::Open(const std::string* path, const Options& options,
                       const Slice* password, std::shared_ptr<StoreCore>* out) {
  Status s = ValidateOptions(options);
  if (!s.ok()) return s;
  if (path != nullptr && path->empty()) {
    return Status::Error("empty path (use an in-memory store instead)");
  }
  // Opening runs SQLite on the caller's thread: a fork waits for it.
  ForkGuard::Install();
  ForkGuard::Work work;
  auto core = std::make_shared<StoreCore>(PrivateTag{});
  {
    std::lock_guard<std::mutex> lock(core->mu_);
    ForkGuard::HoldingStore held;
    s = core->OpenFile(path ? *path : std::string(":memory:"), options,
                       password);
    if (!s.ok()) {
      core->conn_.Close();
      return s;
    }
  }
  ForkGuard::Register(core);
  *out = std::move(core);
  return Status::OK();
}

Status StoreCore::OpenFile(const std::string& path, const Options& options,
                           const Slice* password) {
  read_only_ = options.read_only;
  memory_map_ = options.memory_map;
  path_ = path;
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
  flags |= read_only_ ? SQLITE_OPEN_READONLY
                      : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  Status s = conn_.Open(path, flags);
  if (!s.ok()) return s;
  busy_timeout_ms_ = options.busy_timeout_ms;
  keep_waiting_ = options.keep_waiting;
  sqlite3_busy_handler(conn_.get(), &StoreCore::OnBusy, this);

  bool is_new = false;
  bool encrypted = false;
  s = CheckFormat(&is_new, &encrypted);
  if (!s.ok()) return s;
  if (encrypted && password == nullptr) {
    return Status::AuthFailed(
        "the store is encrypted: open it with a password");
  }
  if (is_new && read_only_) {
    return Status::Error("not an snkv store: the file is empty and read-only");
  }
  if (is_new) {
    // Page size and auto-vacuum can only be chosen before the first table
    // and before the switch to WAL.
    std::string pre =
        "PRAGMA page_size = " + std::to_string(options.page_size) +
        "; PRAGMA auto_vacuum = INCREMENTAL;";
    s = conn_.Exec(pre.c_str());
    if (!s.ok()) return s;
  }
  s = ApplySettings(options);
  if (!s.ok()) return s;
  if (is_new) {
    s = CreateSchema();
    if (!s.ok()) return s;
  }
  s = ComputeMaxLocalPayload();
  if (!s.ok()) return s;
  s = LoadColumnFamily(schema::kDefaultCfId, schema::kDefaultCfName,
                       &default_cf_);
  if (!s.ok()) return s;
  if (password != nullptr) {
    s = SetUpEncryption(*password, encrypted);
    if (!s.ok()) return s;
  }
  wal_size_limit_ = options.wal_size_limit;
  sync_level_ = options.sync_level;
  s = RegisterCollectFunction(conn_.get(), &filling_batch_);
  if (!s.ok()) return s;
  if (wal_mode_) sqlite3_wal_hook(conn_.get(), &StoreCore::OnWalCommit, this);
  sqlite3_commit_hook(conn_.get(), &StoreCore::OnCommit, this);
  sqlite3_rollback_hook(conn_.get(), &StoreCore::OnRollback, this);
  return Status::OK();
}

// Reads the file's identity without writing anything. *is_new: an empty
// database that we may turn into a store; *encrypted: an encrypted store.
Status StoreCore::CheckFormat(bool* is_new, bool* encrypted) {
  int64_t app_id = 0;
  int64_t version = 0;
  int64_t objects = 0;
  // The three in one snapshot: read one by one, a store another
  // connection created between them (application id read as 0, version
  // and tables already there) was called another application's file.
  Status s = conn_.Exec("BEGIN");
  if (!s.ok()) return s;
  s = conn_.QueryInt("PRAGMA application_id", &app_id);
  if (s.ok()) s = conn_.QueryInt("PRAGMA user_version", &version);
  if (s.ok()) {
    s = conn_.QueryInt("SELECT count(*) FROM sqlite_schema", &objects);
  }
  if (!s.ok()) {
    (void)conn_.Exec("ROLLBACK");
    if (s.code() == Code::kCorrupt) {
      return Status::Corrupt("not an snkv store: the file is not a database");
    }
    return s;
  }
  s = conn_.Exec("COMMIT");
  if (!s.ok()) return s;

  if (app_id == 0 && objects == 0) {
    *is_new = true;
    return Status::OK();
  }
  if (app_id != schema::kApplicationId) {
    return Status::Error(
        "not an snkv store: the file is an SQLite database of another "
        "application");
  }
  if (version > schema::kFormatVersion) {
    return Status::Error("the store uses format version " +
                         std::to_string(version) +
                         ", newer than this library supports (" +
                         std::to_string(schema::kFormatVersion) + ")");
  }
  if (version < 1) return Status::Corrupt("store has no format version");
  std::string cipher;
  s = conn_.QueryText("SELECT value FROM snkv_meta WHERE key = 'cipher'",
                      &cipher);
  if (!s.ok()) return s;
  *encrypted = !cipher.empty();
  *is_new = false;
  return Status::OK();
}

Status StoreCore::ApplySettings(const Options& options) {
  std::string sql =
      "PRAGMA cache_size = " + std::to_string(options.cache_size_pages) + ";";
  sql += SynchronousPragma(options.sync_level);
  sql += ";";
  // Only encrypted stores need freed pages overwritten (see docs/design.md).
  sql += "PRAGMA secure_delete = OFF;";
  // Memory-mapped reads start off; PrepareRead turns them on while reads
  // run from a held snapshot (see UseMemoryMap).
  sql += "PRAGMA mmap_size = 0;";
  Status s = conn_.Exec(sql.c_str());
  if (!s.ok()) return s;

  std::string mode;
  if (!read_only_) {
    const char* want = options.journal_mode == JournalMode::kWal
                           ? "PRAGMA journal_mode = WAL"
                           : "PRAGMA journal_mode = DELETE";
    // While another connection switches a new file to WAL, SQLite can say
    // BUSY here at once, without the busy handler (two handles opening a
    // new store together: 1 to 2 opens in 100). Asked again once that
    // switch is done, the pragma finds WAL in force; so it is, for as long
    // as a lock may be waited for (OnBusy's 10 ms at least).
    const auto start = std::chrono::steady_clock::now();
    const auto patience =
        std::chrono::milliseconds(std::max(busy_timeout_ms_, 10));
    for (;;) {
      s = conn_.QueryText(want, &mode);
      if (s.code() != Code::kBusy ||
          std::chrono::steady_clock::now() - start >= patience) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  } else {
    s = conn_.QueryText("PRAGMA journal_mode", &mode);
  }
  if (!s.ok()) return s;
  // Another connection can keep the file in WAL mode; what counts is the
  // mode in force, which decides how reads are made fresh.
  wal_mode_ = mode == "wal";
  return Status::OK();
}

Status StoreCore::CreateSchema() {
  Status s = conn_.Exec("BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  // Another process may have created the store since CheckFormat.
  int64_t objects = 0;
  s = conn_.QueryInt("SELECT count(*) FROM sqlite_schema", &objects);
  if (s.ok() && objects == 0) s = conn_.Exec(schema::kCreateSql);
  if (s.ok()) s = conn_.Exec("COMMIT");
  if (!s.ok()) {
    (void)conn_.Exec("ROLLBACK");
    return s;
  }
  if (objects != 0) {  // re-check what the other process made
    bool is_new = false;
    bool encrypted = false;
    s = CheckFormat(&is_new, &encrypted);
    if (s.ok() && encrypted) {
      return Status::AuthFailed(
          "the store was just created encrypted by "
          "another connection");
    }
    return s;
  }
  return Status::OK();
}

StoreCore::~StoreCore() {
  if (forked_away()) {
    // The parent's store, released in a forked child: nothing of it may
    // touch SQLite here. Connections and statements leak their SQLite
    // handles by themselves (engine::Connection::Close); the page source's
    // file is let go by constructing a fresh one over it, so that its
    // destructor does not close the inherited file through the VFS.
    new (&pages_) engine::PageSource();
    return;
  }
  // Closing runs SQLite on this thread: a fork waits for it.
  ForkGuard::Work work;
  ForkGuard::Unregister(this);
  std::lock_guard<std::mutex> lock(mu_);
  ForkGuard::HoldingStore held;
  (void)Close();
}

Status StoreCore::ForkedAway() {
  Status s = Status::Error(
      "store handle used after fork(): it belongs to process " +
      std::to_string(opener_pid_) + "; open a new handle in this process");
  last_error_ = s.message();
  ++stats_.errors;
  return s;
}

void StoreCore::QuiesceForFork() noexcept {
  mu_.lock();
  // Inside an explicit transaction the user holds it on purpose.
  if (conn_.is_open() && !forked_away() && txn_ == Txn::kNone) EndSnapshot();
}

Status StoreCore::Close() {
  if (!conn_.is_open()) return Status::OK();
  for (IteratorCore* it : iterators_) it->Invalidate("store is closed");
  iterators_.clear();
  for (auto& [id, weak] : families_) {
    if (auto cf = weak.lock()) ForgetColumnFamily(*cf);
  }
  families_.clear();
  pending_.Clear();  // the transaction they belong to is rolled back
  pending_.Trim();
  EndSnapshot();
  if (txn_ != Txn::kNone) (void)conn_.Exec("ROLLBACK");
  txn_ = Txn::kNone;
  {
    // Waits for a background checkpoint in progress, and stops new ones.
    std::lock_guard<std::mutex> ckpt_lock(ckpt_mu_);
    ckpt_closed_ = true;
    ckpt_conn_.Close();
  }
  if (wal_mode_ && !read_only_) {
    if (sqlite3_wal_checkpoint_v2(conn_.get(), "main",
                                  SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                  nullptr) == SQLITE_OK) {
      ++stats_.checkpoints;
    }
  }
  cipher_ = crypto::Cipher();  // wipes the key now, not when handles go
  value_buf_.clear();
  value_buf_.shrink_to_fit();
  wal_watch_.Detach();
  pages_.Detach();
  root_stmt_.Finalize();
  begin_stmt_.Finalize();
  touch_stmt_.Finalize();
  commit_stmt_.Finalize();
  write_pin_stmt_.Finalize();
  begin_immediate_stmt_.Finalize();
  conn_.Close();
  return Status::OK();
}

void StoreCore::RecordFailure(const Status& s) {
  last_error_ = s.message();
  if (!s.IsNotFound()) ++stats_.errors;
  SyncTxnState();
}

void StoreCore::SyncTxnState() noexcept {
  if (conn_.is_open() && !conn_.in_transaction()) {
    // SQLite ended the transaction itself (some errors roll it back): puts
    // still buffered for it must die with it, not be written on their own.
    if (txn_ == Txn::kWrite) ForgetTransaction();
    txn_ = Txn::kNone;
    snapshot_open_ = false;
  }
}

// ---- hooks -----------------------------------------------------------------

// The busy handler of the store's connection: the user's busyTimeout, plus
// waiting out this store's own background checkpoint. That one can hold a
// lock for a moment (e.g. the WAL write lock, while it re-reads a WAL-index
// header that a commit was changing), and without the wait a lone handle
// with busyTimeout 0 could get BUSY from its own helper thread (seen under
// load in tests/read_freshness_test.cc). Every lock is also waited out for
// its first 10 ms, the brief holds of readers among them (below): busyTimeout
// 0 means "do not wait for another writer", and BUSY then comes 10 ms late.
int StoreCore::OnBusy(void* self, int attempts) {
  auto* core = static_cast<StoreCore*>(self);
  using Clock = std::chrono::steady_clock;
  const Clock::time_point now = Clock::now();
  if (attempts == 0) core->busy_since_ = core->last_wait_check_ = now;
  // The host may end a long wait early (e.g. on Ctrl-C in Python).
  constexpr auto kAskEvery = std::chrono::milliseconds(100);
  if (core->keep_waiting_ && now - core->last_wait_check_ >= kAskEvery) {
    core->last_wait_check_ = now;
    if (!core->keep_waiting_()) return 0;
  }
  constexpr auto kPause = std::chrono::microseconds(100);
  constexpr auto kOwnCheckpointWait = std::chrono::seconds(2);
  const auto waited = now - core->busy_since_;
  if (core->ckpt_running_ && waited < kOwnCheckpointWait) {
    std::this_thread::sleep_for(kPause);
    return 1;
  }
  // A reader that finds the WAL-index header in the middle of a commit's
  // update takes the WAL write lock for a moment to read it again (SQLite's
  // walIndexReadHdr). A writer that asks just then is not competing with
  // another writer, so even busyTimeout 0 waits that moment out: without
  // this, one writer among four reader handles got BUSY from BEGIN
  // IMMEDIATE in about one 5-second run of three (out-of-line puts); with
  // a 2 ms allowance, still in one run of 20 (on 2 cores a reader may be
  // preempted while it holds the lock).
  constexpr auto kTransientHold = std::chrono::milliseconds(10);
  if (waited < kTransientHold) {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
    return 1;
  }
  if (waited >= std::chrono::milliseconds(core->busy_timeout_ms_)) return 0;
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return 1;
}

// Called by SQLite before it commits. In WAL mode it also notes the WAL's
// size and salts as published before this commit (the write lock is held,
// so nobody else can change them): OnWalCommit learns only the size after
// the commit, and the size at this handle's previous commit leaves out the
// transactions other handles and processes committed since.
int StoreCore::OnCommit(void* self) {
  auto* core = static_cast<StoreCore*>(self);
  ++core->stats_.wal_commits;
  core->frames_before_commit_.reset();
  if (core->wal_mode_ && core->wal_size_limit_ == 0) {
    engine::WalWatch watch;
    if (watch.Attach(core->conn_.get())) {
      core->frames_before_commit_ = static_cast<int>(watch.Frames());
      core->salts_before_commit_ = watch.Salts();
    }
  }
  return 0;  // let the commit proceed
}

void StoreCore::OnRollback(void* self) {
  ++static_cast<StoreCore*>(self)->rollbacks_;
}

// Called by SQLite after each commit in WAL mode; replaces SQLite's own
// auto-checkpoint. With a WAL size limit N it checkpoints inline every N
// commits, as asked. Otherwise, once the WAL holds kBackgroundCheckpointFrames
// it asks the background thread for a checkpoint (SQLite would run one
// inside this commit), and again after every kBackgroundCheckpointFrames
// new frames. (Asking at every commit while the WAL is that long kept
// passes running back to back, each copying a few frames and syncing the
// WAL: 1400-1800 fsyncs per 50K autocommit updates instead of about 60,
// and 10% fewer updates/s.)
//
// A pass beside a steady writer always ends a little behind it, and only a
// complete pass lets the next writer reset the WAL, so a writer that never
// pauses would never see it reset (40K autocommit puts grew it to 1 GB).
// So after every kAutoCheckpointFrames new frames the commit asks for a
// catch-up pass instead, which also writes the database file to disk, and
// the first commit after it has finished checkpoints inline: that copies
// and syncs only what was committed since, catches up completely unless
// readers hold the WAL, and lets the next commit reset it. (Before the
// catch-up pass synced, the inline checkpoint's sync wrote every page the
// background had copied in the whole cycle, 30-100 ms during which the
// writer waited; docs/design.md, "Writes".) Past half as much again since
// the catch-up was asked (counting what the WAL held before the commit)
// the commit waits for the background and catches up itself, so the WAL
// stays below about 1.5 times the bound plus two transactions. (Counting
// from the bound instead made a single transaction of 24000 frames or more
// checkpoint its whole WAL inside its commit: 0.42 s of a 1.04 s
// transaction of 50K random deletes.) A commit that finds the catch-up
// done but leaves half the bound or more to copy (a large transaction)
// asks for another catch-up pass rather than copying it inline. Inline
// checkpoints count from the last attempt: SQLite's rule (WAL >= threshold)
// would checkpoint, and fsync, on every commit while a reader holds the WAL.
int StoreCore::OnWalCommit(void* self, sqlite3* db, const char* schema,
                           int frames) {
  auto* core = static_cast<StoreCore*>(self);
  bool run = false;
  bool overdue = false;  // the WAL is well past its bound
  if (core->wal_size_limit_ > 0) {
    run = ++core->commits_since_checkpoint_ >= core->wal_size_limit_;
  } else {
    // The WAL-index header, to tell a reset (new salts) and how much a
    // checkpoint would copy now. The commit holds the WAL open.
    engine::WalWatch watch;
    const bool watched = watch.Attach(db);
    const uint64_t salts = watched ? watch.Salts() : 0;
    const int backfilled = watched ? static_cast<int>(watch.Backfilled()) : 0;
    // A WAL that is shorter than at our last commit was reset; so was one
    // with new salts (a reset followed by a transaction at least as large
    // as the WAL was: then the size alone does not show it).
    const bool reset = frames < core->wal_frames_seen_ ||
                       (watched && salts != core->wal_salts_seen_);
    if (reset) {
      core->next_checkpoint_frames_ = kAutoCheckpointFrames;
      core->next_background_frames_ = kBackgroundCheckpointFrames;
      // By another connection or after a pass that caught up, maybe
      // mid-cycle: a catch-up asked for in the old WAL belongs to it.
      core->catch_up_asked_ = false;
      core->catch_up_asked_again_ = false;
      core->catch_up_done_ = false;
    }
    // The WAL's size before this commit (0 after a reset): as OnCommit saw
    // it, so that other handles' transactions count; else as at our last
    // commit. A reset by this very commit shows as new salts since then.
    int frames_before = reset ? 0 : core->wal_frames_seen_;
    if (watched && core->frames_before_commit_) {
      frames_before = salts == core->salts_before_commit_
                          ? std::min(*core->frames_before_commit_, frames)
                          : 0;
    }
    core->frames_before_commit_.reset();
    core->last_commit_frames_ = frames - frames_before;
    core->wal_frames_seen_ = frames;
    core->wal_salts_seen_ = salts;
    if (frames >= core->next_checkpoint_frames_) {
      // Counted from the commit that asked for the catch-up, and only by
      // what the WAL held before this commit: a single large transaction
      // may carry the WAL far past the bound at once, and then it is the
      // background that should copy it, not this commit (a 25K-frame
      // transaction right after another one's catch-up was asked copied
      // its whole WAL inside its commit).
      overdue = core->catch_up_asked_ &&
                frames_before >=
                    core->catch_up_asked_frames_ + kAutoCheckpointFrames / 2;
      // After a catch-up pass the commit checkpoints what is left inline,
      // which is meant to be little; when this commit left much more (a
      // large transaction), the background catches up once more instead.
      // Asked again, the catch-up keeps the first request's bound, so the
      // WAL stays as bounded as before; and only once per cycle: what a
      // reader holds back stays uncopied however often the pass runs, and
      // each catch-up pass syncs.
      const bool enabled = core->background_checkpoints_enabled_;
      bool done = core->catch_up_done_;
      const bool ask_again = done && !overdue && enabled && watched &&
                             !core->catch_up_asked_again_ &&
                             frames - backfilled >= kAutoCheckpointFrames / 2;
      if (ask_again) {
        core->catch_up_done_ = done = false;
        core->catch_up_asked_again_ = true;
      }
      if (done || overdue || !enabled) {
        run = true;
      } else if (!core->catch_up_asked_ || ask_again) {
        if (!core->catch_up_asked_) {
          core->catch_up_asked_ = true;
          core->catch_up_asked_frames_ = frames;
        }
        core->ckpt_catch_up_ = true;  // turns a queued pass into one
        if (!core->ckpt_requested_.exchange(true)) {
          BackgroundCheckpointer::Request(core->shared_from_this());
        }
        core->renew_write_pin_ = true;  // let the pass copy past the pin
      }
    } else if (frames >= core->next_background_frames_ &&
               core->background_checkpoints_enabled_ &&
               !core->ckpt_requested_.exchange(true)) {
      core->next_background_frames_ = frames + kBackgroundCheckpointFrames;
      BackgroundCheckpointer::Request(core->shared_from_this());
      core->renew_write_pin_ = true;  // let the pass copy past the pin
    }
  }
  if (run) {
    // Only the catch-up cycle's own inline checkpoint may wait for a later
    // commit; an explicit WAL limit, a WAL past its hard bound, or a store
    // without background passes checkpoints now.
    const bool may_skip = core->wal_size_limit_ == 0 && !overdue &&
                          core->background_checkpoints_enabled_;
    if (core->write_pin_held_) {
      // Not while the write pin holds a read transaction: the write's
      // StepAutocommitWrite runs it as soon as it has released the pin.
      core->checkpoint_due_frames_ = frames;
      core->checkpoint_due_may_skip_ = may_skip;
      core->renew_write_pin_ = true;
    } else {
      core->CheckpointInline(db, schema, frames, may_skip);
    }
  }
  return SQLITE_OK;
}

void StoreCore::CheckpointInline(sqlite3* db, const char* schema, int frames,
                                 bool may_skip) {
  // A pass in progress would make this checkpoint fail with BUSY at once,
  // so it is waited for; a catch-up pass has just ended, so normally there
  // is none. When there is (a periodic pass requested meanwhile, or a
  // catch-up that another commit found overdue), the commit would wait for
  // its copies and fsyncs, hundreds of milliseconds on a busy disk: that
  // was the autocommit writes' worst latency. So the pass is told to give
  // way at its next step, and a commit that may skip leaves the checkpoint
  // to the next commit instead of waiting at all.
  std::unique_lock<std::mutex> ckpt_lock(ckpt_mu_, std::try_to_lock);
  if (!ckpt_lock.owns_lock()) {
    // Only a commit that really waits asks the pass to give way: a flag
    // left set by one that skipped would stop every later pass until the
    // next commit, and an idle writer's WAL would never be copied back.
    if (may_skip) return;  // catch_up_done_ stays set: the next one runs
    writer_waiting_ = true;
    ckpt_lock.lock();
  }
  writer_waiting_ = false;
  // Idle handles of this process would hold the checkpoint back and keep
  // the WAL from being reset.
  IdleReleaser::ReleaseOthers(this);
  // Another handle's pass holds SQLite's checkpoint lock: a commit that
  // may skip leaves the checkpoint to the next one, as above; one that may
  // not (the WAL is past its hard bound) waits that pass out. Giving up
  // there let the WAL grow by a transaction per handle in turn when two
  // handles took turns at large transactions (checkpoint_stress_test).
  const int rc =
      may_skip ? sqlite3_wal_checkpoint_v2(
                     db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr)
               : CheckpointBesidePasses(db, schema, SQLITE_CHECKPOINT_PASSIVE,
                                        nullptr, nullptr,
                                        /*ask_to_give_way=*/true);
  // BUSY (another connection's checkpoint was running) leaves the cycle as
  // it was, so the next commit tries again: starting a new one here moved
  // the "overdue" bound on by a transaction each time.
  if (rc == SQLITE_BUSY) return;
  if (rc == SQLITE_OK) ++stats_.checkpoints;
  commits_since_checkpoint_ = 0;
  catch_up_asked_ = false;
  catch_up_asked_again_ = false;
  catch_up_done_ = false;
  // Count the next kAutoCheckpointFrames from this attempt.
  if (wal_size_limit_ == 0)
    next_checkpoint_frames_ = frames + kAutoCheckpointFrames;
}

void StoreCore::RunBackgroundCheckpoint() {
  std::lock_guard<std::mutex> lock(ckpt_mu_);
  ckpt_requested_ = false;
  // However this pass ends, a catch-up pass reports that it has, so that
  // the writer's next commit checkpoints inline.
  struct CatchUp {
    std::atomic<bool>& done;
    const bool requested;
    ~CatchUp() {
      if (requested) done = true;
    }
  } catch_up{catch_up_done_, ckpt_catch_up_.exchange(false)};
  if (ckpt_closed_ || !background_checkpoints_enabled_) return;
  // A commit wants to checkpoint itself: it will copy what this pass would.
  // (A commit of another handle waits for any pass of the process, not
  // knowing which one holds SQLite's checkpoint lock.)
  auto give_way = [this] {
    return writer_waiting_ || g_writers_waiting.load() > 0;
  };
  if (give_way()) return;
  struct Running {  // tells OnBusy (and other handles) that a lock may be ours
    std::atomic<bool>& flag;
    explicit Running(std::atomic<bool>& f) : flag(f) {
      flag = true;
      ++g_passes_running;
      ++g_pass_events;
    }
    ~Running() {
      flag = false;
      --g_passes_running;
      ++g_pass_events;
    }
    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;
  } running(ckpt_running_);
  if (!ckpt_conn_.is_open()) {
    if (!ckpt_conn_
             .Open(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                              SQLITE_OPEN_PRIVATECACHE)
             .ok()) {
      return;
    }
    // A fresh connection knows nothing of the WAL until it reads: without
    // this the checkpoint below would silently do nothing.
    int64_t ignored = 0;
    if (!ckpt_conn_.Exec(SynchronousPragma(sync_level_)).ok() ||
        !ckpt_conn_.QueryInt("PRAGMA schema_version", &ignored).ok()) {
      ckpt_conn_.Close();
      return;
    }
  }
  // Snapshots held by this process's handles are left alone: they only
  // limit how far this pass gets, and idle ones are released soon anyway.
  int backfilled = 0;
  auto pass = [&] {
    int rc = sqlite3_wal_checkpoint_v2(ckpt_conn_.get(), "main",
                                       SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                       &backfilled);
    if (rc == SQLITE_OK) ++background_checkpoints_;
    return rc;
  };
  // The kernel reports a failed write-back to each file descriptor once: a
  // later sync through this connection could succeed and let SQLite reset
  // the WAL over pages that never reached the disk. So after an I/O error
  // this connection is closed and the store's own, whose next sync reports
  // the failure, does all checkpoints from then on.
  auto give_up = [&] {
    background_checkpoints_enabled_ = false;
    ckpt_conn_.Close();
  };
  int rc = pass();
  if ((rc & 0xff) == SQLITE_IOERR) return give_up();
  if (rc != SQLITE_OK || sync_level_ == SyncLevel::kOff) return;
  // SQLite syncs the database file only after a pass that reaches the end
  // of the WAL, which beside a steady writer is rare, so the pages that
  // passes copy stay unwritten until the writer's inline checkpoint, whose
  // sync then writes them all while the writer waits. So sync here once
  // kSyncEveryFrames frames were copied since the last sync, and in a
  // catch-up pass, pass and sync again over what the writer committed
  // meanwhile, until little is left for its inline checkpoint. (With
  // synchronous=OFF SQLite never syncs, and neither do we.)
  if (backfilled < synced_backfill_) synced_backfill_ = 0;  // WAL reset
  if (!catch_up.requested && backfilled - synced_backfill_ < kSyncEveryFrames) {
    return;
  }
  for (int round = 0;; ++round) {
    // A commit waits for this pass (writer_waiting_): give way before each
    // step, and leave the sync to its checkpoint (which syncs the file).
    if (give_way()) return;
    if (!SyncDatabaseFile(ckpt_conn_)) return give_up();
    synced_backfill_ = backfilled;
    // A fork waits for this pass: leave the rest to the writer.
    if (!catch_up.requested || round == kCatchUpRounds ||
        ForkGuard::ForkPending() || give_way()) {
      return;
    }
    const int before = backfilled;
    rc = pass();
    if ((rc & 0xff) == SQLITE_IOERR) return give_up();
    if (rc != SQLITE_OK || backfilled - before < kConvergedFrames) return;
  }
}

// ---- reads and writes -------------------------------------------------------

// Holding a snapshot pays when reads outpace commits: then most reads find
// the header unchanged and skip all locking. When other connections commit
// between most reads, restarting the snapshot costs more than a plain read,
// so a read that finds a change runs in a transaction of its own, and a
// snapshot is held again only after kQuietReadsBeforeSnapshot reads in a
// row found nothing new since the read before.
//
// The same signal steers memory-mapped I/O. Reading pages through the map
// instead of copying them makes held-snapshot reads about 1.6x faster, but
// SQLite drops the whole map whenever a read transaction starts on a
// changed database, and each munmap costs every thread of the process a
// TLB shootdown: under a steady stream of commits, reads with the map on
// ran at 0.4-0.6x of those with it off. So the map is on only while reads
// keep hitting a held snapshot.
Status StoreCore::PrepareRead() {
  // The pin's snapshot may be older than another connection's commit.
  ReleaseWritePin();
  if (txn_ != Txn::kNone || !wal_mode_) return Status::OK();
  last_read_ = std::chrono::steady_clock::now();
  if (snapshot_open_) {
    // Inside our read transaction the WAL stays open, so the mapping holds.
    engine::WalWatch::Header live = wal_watch_.Read();
    if (live == snapshot_header_) {
      if (!mmap_on_ && ++snapshot_hits_ >= kSnapshotHitsBeforeMap) {
        UseMemoryMap(true);
      }
      pages_.Advance(&page_snapshot_, wal_watch_.Backfilled());
      return Status::OK();
    }
    EndSnapshot();
    last_seen_header_ = live;
    quiet_reads_ = 0;
    NoteChangedRead();
    return Status::OK();
  }
  if (wrote_since_read_) {
    // The change since the last read is our own write, not a sign of
    // other writers: a snapshot taken now is as likely to pay as before.
    wrote_since_read_ = false;
  } else if (wal_watch_.attached() &&
             engine::WalWatch::WalIsOpen(conn_.get())) {
    engine::WalWatch::Header live = wal_watch_.Read();
    if (live == last_seen_header_) {
      ++quiet_reads_;
    } else {
      quiet_reads_ = 0;
      NoteChangedRead();
    }
    last_seen_header_ = live;
    if (quiet_reads_ < kQuietReadsBeforeSnapshot) return Status::OK();
  }
  return StartSnapshot();
}

void StoreCore::NoteChangedRead() {
  snapshot_hits_ = 0;
  if (mmap_on_ && ++changed_reads_ >= kChangedReadsBeforeUnmap) {
    UseMemoryMap(false);
  }
}

// Reading pages through the map rather than copying each into the cache
// made full scans about 7% faster (reverse ones 20%). Only while reads are
// quiet, though: under a steady stream of other connections' commits each
// long scan would map the file only for the next reads to unmap it.
void StoreCore::NoteLongScan() {
  if (wal_mode_ && !mmap_on_ && (snapshot_open_ || quiet_reads_ > 0)) {
    UseMemoryMap(true);
  }
}

Status StoreCore::SchemaVersion(int64_t* version) {
  Status s = PrepareSnapshotStatements();
  if (!s.ok()) return s;
  engine::ResetGuard reset(touch_stmt_);
  int rc = touch_stmt_.Step();
  if (rc != SQLITE_ROW) return touch_stmt_.Error(rc, "schema");
  *version = touch_stmt_.ColumnInt(0);
  return Status::OK();
}

Status StoreCore::MayHaveTtl(ColumnFamilyState& cf, bool* may) {
  *may = true;
  if (cf.has_expiry_index) return Status::OK();
  int64_t version = 0;
  Status s = SchemaVersion(&version);
  if (!s.ok()) return s;
  if (version == cf.no_ttl_schema_version) {
    *may = false;
    return Status::OK();
  }
  bool index = false;
  s = SchemaObjectExists(schema::ExpiryIndexName(cf.id), &index);
  if (!s.ok()) return s;
  if (index) {
    cf.has_expiry_index = true;
  } else {
    cf.no_ttl_schema_version = version;
    *may = false;
  }
  return Status::OK();
}

Status StoreCore::CheckExists(ColumnFamilyState& cf) {
  int64_t version = 0;
  Status s = SchemaVersion(&version);
  if (!s.ok()) return s;
  if (version == cf.exists_schema_version) return Status::OK();
  bool exists = false;
  s = SchemaObjectExists(cf.table, &exists);
  if (!s.ok()) return s;
  if (!exists) {
    return Status::NotFound("column family '" + cf.name + "' no longer exists");
  }
  cf.exists_schema_version = version;
  return Status::OK();
}

Status StoreCore::SchemaObjectExists(std::string_view name, bool* exists) {
  engine::Statement probe;
  Status s = probe.Prepare(conn_, "SELECT 1 FROM sqlite_schema WHERE name = ?1",
                           false);
  if (!s.ok()) return s;
  probe.BindText(1, name);
  int rc = probe.Step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return probe.Error(rc, "schema");
  *exists = rc == SQLITE_ROW;
  return Status::OK();
}

void StoreCore::UseMemoryMap(bool on) {
  changed_reads_ = 0;
  snapshot_hits_ = 0;
  // A handle that reads its held snapshot's pages itself (PageSource maps
  // the file on its own) gains nothing from SQLite's map and pays for it:
  // SQLite drops the map when a read finds a changed database, and each
  // munmap stalls every thread of the process (readers beside a writer ran
  // 2-3x faster without it). Only handles whose snapshot is read through
  // SQL (read-only ones, or where page reads are unavailable) map.
  if (on && !read_only_ && !pages_unavailable_) return;
  if (on && !memory_map_) return;  // the user asked for no map at all
  // 256 MiB: SQLite maps no more than the file, and mapped pages count as
  // resident memory once read.
  if (conn_.Exec(on ? "PRAGMA mmap_size = 268435456" : "PRAGMA mmap_size = 0")
          .ok()) {
    mmap_on_ = on;
  }
}

Status StoreCore::PrepareSnapshotStatements() {
  if (begin_stmt_.is_prepared()) return Status::OK();
  Status s = begin_stmt_.Prepare(conn_, "BEGIN");
  if (s.ok()) s = touch_stmt_.Prepare(conn_, "PRAGMA schema_version");
  if (s.ok()) s = commit_stmt_.Prepare(conn_, "COMMIT");
  if (!s.ok()) {
    begin_stmt_.Finalize();  // so that the next call tries again
    touch_stmt_.Finalize();
    commit_stmt_.Finalize();
  }
  return s;
}

Status StoreCore::StartSnapshot() {
  sqlite3* db = conn_.get();
  Status prepared = PrepareSnapshotStatements();
  if (!prepared.ok()) return prepared;
  // A running statement (an iterator) pins the connection's transaction:
  // BEGIN would not take a new snapshot, so the check below would vouch for
  // a snapshot we do not have. Reads then share the iterator's snapshot.
  if (conn_.HasActiveStatements()) return Status::OK();
  for (int attempt = 0; attempt < 3; ++attempt) {
    // The header before and after SQLite takes its snapshot: if they agree,
    // no commit happened in between, so the snapshot is exactly `before`.
    bool have_before = wal_watch_.attached() && engine::WalWatch::WalIsOpen(db);
    engine::WalWatch::Header before{};
    if (have_before) before = wal_watch_.Read();

    int rc = begin_stmt_.Step();
    begin_stmt_.Reset();
    if (rc != SQLITE_DONE) return conn_.Error(rc, "begin read");
    rc = touch_stmt_.Step();
    touch_stmt_.Reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      (void)conn_.Exec("ROLLBACK");
      return conn_.Error(rc, "begin read");
    }
    snapshot_open_ = true;
    if (!engine::WalWatch::WalIsOpen(db)) {
      // Another connection switched the file out of WAL mode.
      wal_mode_ = false;
      wal_watch_.Detach();
      EndSnapshot();
      return Status::OK();
    }
    if (!wal_watch_.attached() && !wal_watch_.Attach(db)) {
      EndSnapshot();
      return Status::OK();  // cannot watch: every read runs on its own
    }
    // nBackfill is read while the header is still `before`: a WAL reset
    // (which zeroes nBackfill and lets the WAL be overwritten) changes the
    // header, so a value read here belongs to this snapshot's WAL.
    const uint32_t backfilled = wal_watch_.Backfilled();
    if (have_before && wal_watch_.Read() == before) {
      snapshot_header_ = before;
      ++snapshots_taken_;
      DescribePages(before, backfilled);
      if (!watched_) {
        IdleReleaser::Watch(shared_from_this());
        watched_ = true;
      }
      return Status::OK();
    }
    EndSnapshot();  // a commit raced with us: try again
  }
  return Status::OK();  // still racing: this read runs in its own transaction
}

// Why: a transaction whose snapshot ends in frames no checkpoint has
// copied reads each page it touches from the WAL (a pread of the frame for
// SQLite's pager and for the page reader's lookups, instead of the
// database file's page cache and memory map), and SQLite starts the WAL
// over only at the first write of a transaction that began with every
// frame copied, so its frames go past the old ones, into new file blocks.
// In snkv_bench a transaction of 50K updates and deletes right after one
// of 50K deletes spent about half again as much CPU on its own thread as
// the same transaction after a reopen, besides the background pass copying
// the earlier frames beside it (docs/design.md, "Writes"). Copying them
// first costs the begin the rest of that pass, which plain SQLite pays in
// the earlier commit. Autocommit writes never wait here, and a WAL kept
// short by the background passes (a few thousand frames at most between
// them) does not reach the threshold.
void StoreCore::CatchUpBeforeWriteTxn() {
  // An open iterator's statements hold a read transaction on this
  // connection, which a checkpoint through it cannot pass.
  if (!wal_mode_ || read_only_ || wal_size_limit_ > 0 ||
      !background_checkpoints_enabled_ || !iterators_.empty()) {
    return;
  }
  sqlite3* db = conn_.get();
  if (!engine::WalWatch::WalIsOpen(db) ||
      (!wal_watch_.attached() && !wal_watch_.Attach(db))) {
    return;
  }
  // Only right after a large transaction of this handle: a writer of
  // small transactions whose background passes lag (a slow disk) is left
  // to the catch-up cycle of OnWalCommit, which was made so that such a
  // writer rarely waits. Once per large transaction, so that a reader
  // holding the frames back does not make every begin try again.
  constexpr int kLarge = kAutoCheckpointFrames / 2;
  if (last_commit_frames_ < kLarge) return;
  last_commit_frames_ = 0;
  const uint32_t frames = wal_watch_.Frames();
  const uint32_t backfilled = wal_watch_.Backfilled();
  if (frames < backfilled + static_cast<uint32_t>(kLarge)) return;
  CheckpointInline(db, "main", static_cast<int>(frames), /*may_skip=*/false);
}

void StoreCore::NoteWriteTxnBegun() {
  ++write_txn_serial_;
  txn_pages_ = engine::PageSnapshot{};
  txn_pages_stale_ = false;
  txn_changes_at_begin_ = sqlite3_total_changes64(conn_.get());
  txn_expiry_indexes_at_begin_ = expiry_indexes_created_;
}

// Why the pages can be trusted: BEGIN IMMEDIATE took the newest snapshot
// and the write lock, so no other connection can commit, restart the WAL
// or checkpoint past our read mark until we end; and while the
// transaction has written nothing to SQLite (every change waits in
// pending_, which BufferDelete consults first), what it sees is exactly
// that snapshot. Row changes show in total_changes, schema changes in the
// families created or dropped and the expiry indexes created; the only
// other write, an incremental vacuum, sets txn_pages_stale_.
const engine::PageSnapshot* StoreCore::TxnPages() {
  if (txn_ != Txn::kWrite || !wal_mode_ || read_only_ || pages_unavailable_ ||
      txn_pages_stale_) {
    return nullptr;
  }
  if (sqlite3_total_changes64(conn_.get()) != txn_changes_at_begin_ ||
      expiry_indexes_created_ != txn_expiry_indexes_at_begin_ ||
      !created_in_txn_.empty() || !dropped_in_txn_.empty()) {
    txn_pages_stale_ = true;
    return nullptr;
  }
  if (txn_pages_serial_ != write_txn_serial_) {
    txn_pages_serial_ = write_txn_serial_;
    txn_pages_ = engine::PageSnapshot{};
    sqlite3* db = conn_.get();
    if (!engine::WalWatch::WalIsOpen(db) ||
        (!wal_watch_.attached() && !wal_watch_.Attach(db))) {
      return nullptr;
    }
    const engine::WalWatch::Header header = wal_watch_.Read();
    const uint32_t backfilled = wal_watch_.Backfilled();
    DescribePages(header, backfilled);  // into page_snapshot_, unused here
    txn_pages_ = page_snapshot_;
    page_snapshot_ = engine::PageSnapshot{};
  }
  return txn_pages_.usable() ? &txn_pages_ : nullptr;
}

void StoreCore::DescribePages(const engine::WalWatch::Header& header,
                              uint32_t backfilled) {
  page_snapshot_ = engine::PageSnapshot{};
  // A read-only handle may be reading a WAL index of its own in heap
  // memory, which the shared one we map need not match.
  // Without a map of its own the page reader would read every page with a
  // system call; SQL with SQLite's page cache does better (noMmap gets:
  // 38-49K/s through SQL, 31-40K/s through pread, 500K keys).
  if (pages_unavailable_ || read_only_ || !memory_map_) return;
  if (!pages_.attached()) {
    int64_t page_size = 0;
    if (!conn_.QueryInt("PRAGMA page_size", &page_size).ok() ||
        !pages_.Attach(conn_.get(), static_cast<uint32_t>(page_size))) {
      pages_unavailable_ = true;
      return;
    }
  }
  page_snapshot_ = pages_.Describe(header, backfilled);
}

void StoreCore::EndSnapshot() noexcept {
  ReleaseWritePin();
  EndHeldSnapshot();
}

void StoreCore::EndHeldSnapshot() noexcept {
  page_snapshot_ = engine::PageSnapshot{};
  if (!snapshot_open_) return;
  snapshot_open_ = false;
  int rc = commit_stmt_.Step();
  commit_stmt_.Reset();
  if (rc != SQLITE_DONE && conn_.in_transaction()) (void)conn_.Exec("ROLLBACK");
}

bool StoreCore::ReleaseSnapshotIfIdle(std::chrono::steady_clock::time_point now,
                                      std::chrono::milliseconds idle) {
  std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
  if (!lock.owns_lock()) return false;  // inside a call: look again later
  if ((!snapshot_open_ && !write_pin_held_) || !conn_.is_open()) {
    watched_ = false;
    return true;
  }
  if (now - last_read_ < idle) return false;
  if (snapshot_open_) {
    // Idleness is no sign of other writers: if nothing is committed
    // meanwhile, the next read holds a snapshot again at once, instead of
    // after kQuietReadsBeforeSnapshot reads (an iterator opened then ran
    // its whole scan through SQL: a full scan after a pause ran at plain
    // SQLite's speed, half that of one over a held snapshot).
    last_seen_header_ = snapshot_header_;
    quiet_reads_ = kQuietReadsBeforeSnapshot - 1;
  }
  EndSnapshot();
  watched_ = false;
  return true;
}

Status StoreCore::PrepareWrite(bool keep_write_pin) {
  if (read_only_) return Status::ReadOnly("the store is open read-only");
  if (txn_ == Txn::kRead) {
    return Status::ReadOnly("cannot write inside a read transaction");
  }
  if (keep_write_pin) {
    EndHeldSnapshot();
  } else {
    EndSnapshot();
  }
  wrote_since_read_ = true;
  return Status::OK();
}

bool StoreCore::HoldWritePin() {
  if (write_pin_held_) return true;
  // Only where nothing could be stale (outside transactions, in WAL mode)
  // and no other read transaction is or may soon be open: with an iterator
  // on the handle, writes run as they did before the pin.
  if (txn_ != Txn::kNone || !wal_mode_ || !iterators_.empty() ||
      sqlite3_txn_state(conn_.get(), nullptr) != SQLITE_TXN_NONE) {
    return false;
  }
  if (!write_pin_stmt_.is_prepared() &&
      !write_pin_stmt_.Prepare(conn_, "SELECT 1 FROM sqlite_schema LIMIT 1")
           .ok()) {
    return false;
  }
  if (write_pin_stmt_.Step() != SQLITE_ROW) {
    write_pin_stmt_.Reset();
    return false;
  }
  write_pin_held_ = true;
  writes_under_pin_ = 0;
  if (!watched_) {  // so that an idle handle lets the pin go
    IdleReleaser::Watch(shared_from_this());
    watched_ = true;
  }
  return true;
}

void StoreCore::AfterPinnedWrite() {
  // Renewed this often even without a checkpoint request, so that the
  // pin's read mark never falls far behind the WAL.
  constexpr int kWritesPerPin = 1000;
  if (++writes_under_pin_ >= kWritesPerPin) renew_write_pin_ = true;
  if (!renew_write_pin_) return;
  ReleaseWritePin();
  if (checkpoint_due_frames_) {
    const int frames = *checkpoint_due_frames_;
    checkpoint_due_frames_.reset();
    CheckpointInline(conn_.get(), "main", frames, checkpoint_due_may_skip_);
  }
}

int StoreCore::StepAutocommitWrite(engine::Statement& stmt) {
  if (!HoldWritePin()) return stmt.Step();
  last_read_ = std::chrono::steady_clock::now();
  int rc = stmt.Step();
  if ((rc & 0xff) == SQLITE_BUSY) {
    // Busy or stale (see above): without the pin, the write waits.
    ReleaseWritePin();
    stmt.Reset();
    return stmt.Step();
  }
  // Any other failure is the caller's to report; releasing the pin now
  // would replace SQLite's error message. The next read releases it.
  if (rc == SQLITE_DONE) AfterPinnedWrite();
  return rc;
}

void StoreCore::ReleaseWritePin() noexcept {
  renew_write_pin_ = false;
  if (!write_pin_held_) return;
  write_pin_held_ = false;
  write_pin_stmt_.Reset();
}

Status StoreCore::CheckUsable(const ColumnFamilyState& cf) const {
  if (cf.dropped) {
    return Status::NotFound("column family '" + cf.name + "' was dropped");
  }
  return Status::OK();
}

// ---- column families --------------------------------------------------------

Status StoreCore::LoadColumnFamily(int64_t id, std::string name,
                                   std::shared_ptr<ColumnFamilyState>* out) {
  auto found = families_.find(id);
  if (found != families_.end()) {
    if (auto existing = found->second.lock()) {
      *out = std::move(existing);
      return Status::OK();
    }
  }
  auto cf = std::make_shared<ColumnFamilyState>();
  cf->id = id;
  cf->name = std::move(name);
  cf->table = schema::TableName(id);
  families_[id] = cf;
  *out = std::move(cf);
  return Status::OK();
}

void StoreCore::ForgetColumnFamily(ColumnFamilyState& cf) {
  for (auto& stmt : cf.statements) stmt.Finalize();
  for (auto& pool : cf.iterator_pool) pool.clear();
}

Status StoreCore::CreateColumnFamily(std::string_view name,
                                     std::shared_ptr<ColumnFamilyState>* out,
                                     bool internal) {
  Status s = ValidateCfName(name);
  if (!s.ok()) return s;
  if (!internal && schema::IsInternalCf(name)) return ReservedCfName(name);
  WriteScope scope(*this);
  s = scope.Begin();
  if (!s.ok()) return s;

  engine::Statement find;
  const std::string sql =
      std::string("SELECT (SELECT count(*) FROM snkv_cf WHERE name NOT IN ") +
      schema::kInternalCfList +
      "), (SELECT count(*) FROM snkv_cf WHERE name = ?1),"
      " (SELECT value FROM snkv_meta WHERE key = 'next_cf_id')";
  s = find.Prepare(conn_, sql.c_str(), false);
  if (!s.ok()) return s;
  find.BindText(1, name);
  int rc = find.Step();
  if (rc != SQLITE_ROW) return find.Error(rc, "reading the catalog");
  int64_t count = find.ColumnInt(0);
  bool exists = find.ColumnInt(1) != 0;
  int64_t id = find.ColumnInt(2);
  find.Finalize();
  if (exists) {
    return Status::Error("column family '" + std::string(name) +
                         "' already exists");
  }
  if (count >= kMaxColumnFamilies && !schema::IsInternalCf(name)) {
    return Status::Error("too many column families (the limit is 64)");
  }

  std::string table = schema::TableName(id);
  std::string ddl = schema::FamilyTableSql(id) +
                    ";"
                    "UPDATE snkv_meta SET value = value + 1"
                    " WHERE key = 'next_cf_id';";
  s = conn_.Exec(ddl.c_str());
  if (!s.ok()) return s;
  engine::Statement insert;
  s = insert.Prepare(conn_, "INSERT INTO snkv_cf(id, name) VALUES(?1, ?2)",
                     false);
  if (!s.ok()) return s;
  insert.BindInt(1, id);
  insert.BindText(2, name);
  s = insert.Run("adding the column family");
  if (!s.ok()) return s;
  s = scope.Commit();
  if (!s.ok()) return s;
  if (txn_ == Txn::kWrite) created_in_txn_.push_back(id);
  return LoadColumnFamily(id, std::string(name), out);
}

Status StoreCore::OpenColumnFamily(std::string_view name,
                                   std::shared_ptr<ColumnFamilyState>* out) {
  Status s = ValidateCfName(name);
  if (!s.ok()) return s;
  s = PrepareRead();
  if (!s.ok()) return s;
  int64_t id = 0;
  s = FindColumnFamilyId(name, &id);
  if (!s.ok()) return s;
  return LoadColumnFamily(id, std::string(name), out);
}

Status StoreCore::FindColumnFamilyId(std::string_view name, int64_t* id) {
  engine::Statement find;
  Status s =
      find.Prepare(conn_, "SELECT id FROM snkv_cf WHERE name = ?1", false);
  if (!s.ok()) return s;
  find.BindText(1, name);
  int rc = find.Step();
  if (rc == SQLITE_DONE) {
    return Status::NotFound("no column family named '" + std::string(name) +
                            "'");
  }
  if (rc != SQLITE_ROW) return find.Error(rc, "reading the catalog");
  *id = find.ColumnInt(0);
  return Status::OK();
}

Status StoreCore::DropColumnFamily(std::string_view name, bool internal) {
  Status s = ValidateCfName(name);
  if (!s.ok()) return s;
  if (!internal && schema::IsInternalCf(name)) return ReservedCfName(name);
  if (name == schema::kDefaultCfName) {
    return Status::Error("the default column family cannot be dropped");
  }
  WriteScope scope(*this);
  s = scope.Begin();
  if (!s.ok()) return s;
  int64_t id = 0;
  s = FindColumnFamilyId(name, &id);
  if (!s.ok()) return s;

  // Our own statements on the table must go before SQLite lets it drop.
  std::shared_ptr<ColumnFamilyState> cf;
  if (auto it = families_.find(id); it != families_.end())
    cf = it->second.lock();
  if (cf) ForgetColumnFamily(*cf);
  for (IteratorCore* it : iterators_) {
    if (it->family_id() == id) it->Invalidate("column family was dropped");
  }

  std::string sql = "DROP TABLE IF EXISTS " + schema::ValuesTableName(id) +
                    "; DROP TABLE " + schema::TableName(id) +
                    "; DELETE FROM snkv_cf WHERE id = " + std::to_string(id);
  s = conn_.Exec(sql.c_str());
  if (s.code() == Code::kLocked) {
    return Status(Code::kLocked,
                  "cannot drop a column family while iterators are open on "
                  "this store: close them first");
  }
  if (!s.ok()) return s;
  s = scope.Commit();
  if (!s.ok()) return s;
  if (cf) {
    cf->dropped = true;
    if (txn_ == Txn::kWrite) dropped_in_txn_.push_back(cf);
  }
  families_.erase(id);
  return Status::OK();
}

Status StoreCore::ListColumnFamilies(std::vector<std::string>* names) {
  Status s = PrepareRead();
  if (!s.ok()) return s;
  engine::Statement list;
  const std::string sql =
      std::string("SELECT name FROM snkv_cf WHERE name NOT IN ") +
      schema::kInternalCfList + " ORDER BY name";
  s = list.Prepare(conn_, sql.c_str(), false);
  if (!s.ok()) return s;
  std::vector<std::string> result;
  int rc;
  while ((rc = list.Step()) == SQLITE_ROW) {
    result.push_back(list.ColumnBlob(0).ToString());
  }
  if (rc != SQLITE_DONE) return list.Error(rc, "listing column families");
  *names = std::move(result);
  return Status::OK();
}

// ---- transactions -----------------------------------------------------------

Status StoreCore::Begin(TxnMode mode) {
  if (txn_ != Txn::kNone) {
    return Status::Error("a transaction is already open on this store");
  }
  EndSnapshot();
  if (mode == TxnMode::kWrite) {
    Status s = PrepareWrite();
    if (!s.ok()) return s;
    CatchUpBeforeWriteTxn();
    s = conn_.Exec("BEGIN IMMEDIATE");
    if (!s.ok()) return s;
    txn_ = Txn::kWrite;
    NoteWriteTxnBegun();
    return Status::OK();
  }
  Status s = conn_.Exec("BEGIN DEFERRED");
  if (!s.ok()) return s;
  // Take the snapshot now, so that the transaction reads the state as of
  // kvstore_begin and not as of its first read.
  int64_t ignored = 0;
  s = conn_.QueryInt("PRAGMA schema_version", &ignored);
  if (!s.ok()) {
    (void)conn_.Exec("ROLLBACK");
    return s;
  }
  txn_ = Txn::kRead;
  return Status::OK();
}

Status StoreCore::Commit() {
  if (txn_ == Txn::kNone) return Status::Error("no transaction is open");
  Status s = conn_.Exec("COMMIT");
  if (s.ok()) {
    pending_.Trim();
    txn_ = Txn::kNone;
    created_in_txn_.clear();
    dropped_in_txn_.clear();
  }
  return s;
}

Status StoreCore::Rollback() {
  if (txn_ == Txn::kNone) return Status::Error("no transaction is open");
  Status s = conn_.Exec("ROLLBACK");
  txn_ = Txn::kNone;  // even on error: SQLite ends the transaction
  ForgetTransaction();
  return s;
}

void StoreCore::ForgetTransaction() {
  pending_.Clear();
  pending_.Trim();
  for (int64_t id : created_in_txn_) {
    auto found = families_.find(id);
    if (found == families_.end()) continue;
    if (auto cf = found->second.lock()) {
      cf->dropped = true;
      ForgetColumnFamily(*cf);
    }
    families_.erase(found);
  }
  for (auto& cf : dropped_in_txn_) {
    cf->dropped = false;
    families_[cf->id] = cf;
  }
  created_in_txn_.clear();
  dropped_in_txn_.clear();
  for (auto& [id, weak] : families_) {
    if (auto cf = weak.lock()) {
      cf->has_expiry_index = false;
      ForgetValuesTable(*cf);  // it may have been created in the transaction
      // The schema version goes back too, and may come round again with
      // a different schema: what was seen under it is no longer known.
      cf->no_ttl_schema_version = -1;
      cf->exists_schema_version = -1;
    }
  }
}

// ---- maintenance ------------------------------------------------------------

Status StoreCore::GetStats(Stats* stats) {
  int64_t pages = 0;
  Status s = PrepareRead();
  if (!s.ok()) return s;
  s = conn_.QueryInt("PRAGMA page_count", &pages);
  if (!s.ok()) return s;
  stats_.db_pages = static_cast<uint64_t>(pages);
  *stats = stats_;
  stats->checkpoints += background_checkpoints_.load();
  return Status::OK();
}

void StoreCore::ResetStats() {
  uint64_t pages = stats_.db_pages;
  stats_ = Stats();
  stats_.db_pages = pages;
  background_checkpoints_ = 0;
}

Status StoreCore::IntegrityCheck(std::string* problems) {
  Status s = PrepareRead();
  if (!s.ok()) return s;
  engine::Statement check;
  s = check.Prepare(conn_, "PRAGMA integrity_check", false);
  if (!s.ok()) return s;
  std::string report;
  int rc;
  while ((rc = check.Step()) == SQLITE_ROW) {
    std::string line = check.ColumnBlob(0).ToString();
    if (line == "ok") continue;
    if (!report.empty()) report += "\n";
    report += line;
  }
  if (rc != SQLITE_DONE) {
    Status err = check.Error(rc, "integrity check");
    if (problems) *problems = err.message();
    return err.code() == Code::kError ? Status::Corrupt(err.message()) : err;
  }
  if (report.empty()) {
    s = CheckValueReferences(&report);
    if (!s.ok()) return s;
  }
  if (!report.empty()) {
    if (problems) *problems = report;
    return Status::Corrupt("integrity check failed: " + report);
  }
  if (problems) problems->clear();
  return Status::OK();
}

Status StoreCore::Sync() {
  if (read_only_) return Status::OK();
  bool reopen = txn_ == Txn::kWrite;
  if (reopen) {
    Status s = conn_.Exec("COMMIT");
    if (!s.ok()) return s;
    txn_ = Txn::kNone;
  }
  // fsync the log (WAL) and the database file through their VFS handles:
  // with synchronous=NORMAL the WAL is not synced at commit.
  sqlite3_file* files[2] = {nullptr, nullptr};
  sqlite3_file_control(conn_.get(), "main", SQLITE_FCNTL_JOURNAL_POINTER,
                       &files[0]);
  sqlite3_file_control(conn_.get(), "main", SQLITE_FCNTL_FILE_POINTER,
                       &files[1]);
  for (sqlite3_file* f : files) {
    if (f == nullptr || f->pMethods == nullptr) continue;
    int rc = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
    if (rc != SQLITE_OK) return conn_.Error(rc, "sync");
  }
  if (reopen) {
    Status s = conn_.Exec("BEGIN IMMEDIATE");
    if (!s.ok()) {
      return Status(s.code(),
                    "the transaction was committed and synced, but a new one "
                    "could not begin (no transaction is open now): " +
                        s.message());
    }
    txn_ = Txn::kWrite;
    NoteWriteTxnBegun();
  }
  return Status::OK();
}

Status StoreCore::IncrementalVacuum(int pages) {
  if (pages < 0) return Status::Error("page count must not be negative");
  Status s = PrepareWrite();
  if (!s.ok()) return s;
  txn_pages_stale_ = true;  // moves pages without changing rows or schema
  std::string sql =
      pages == 0 ? "PRAGMA incremental_vacuum"
                 : "PRAGMA incremental_vacuum(" + std::to_string(pages) + ")";
  engine::Statement vacuum;
  s = vacuum.Prepare(conn_, sql, false);
  if (!s.ok()) return s;
  return vacuum.Run("incremental vacuum");
}

Status StoreCore::Checkpoint(CheckpointMode mode, CheckpointResult* result) {
  int raw = static_cast<int>(mode);
  if (raw < 0 || raw > 3) return Status::Error("invalid checkpoint mode");
  if (txn_ != Txn::kNone) {
    return Status::Error("cannot checkpoint inside a transaction");
  }
  CheckpointResult r;
  if (!wal_mode_) {
    if (result) *result = r;
    return Status::OK();
  }
  if (read_only_) return Status::ReadOnly("the store is open read-only");
  // Our own idle snapshots, in this handle and in others of this process,
  // must not hold the checkpoint back.
  EndSnapshot();
  IdleReleaser::ReleaseOthers(this);
  // Our background checkpoint holds SQLite's checkpoint lock while it runs,
  // and SQLite answers BUSY at once, without waiting, to a second
  // checkpointer: wait for it to finish instead (lock order: mu_, then
  // ckpt_mu_).
  std::lock_guard<std::mutex> no_background(ckpt_mu_);
  // Another handle's pass is waited out the same way, for as long as
  // OnBusy waits for this handle's own.
  const int rc = CheckpointBesidePasses(conn_.get(), "main", raw, &r.log_frames,
                                        &r.checkpointed_frames,
                                        /*ask_to_give_way=*/false);
  if (result) *result = r;
  if (rc != SQLITE_OK) return conn_.Error(rc, "checkpoint");
  ++stats_.checkpoints;
  return Status::OK();
}

// ---- iterator registry ------------------------------------------------------

void StoreCore::RegisterIterator(IteratorCore* it) { iterators_.insert(it); }
void StoreCore::UnregisterIterator(IteratorCore* it) { iterators_.erase(it); }

}  // namespace snkv::internal
