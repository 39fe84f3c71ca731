// backend_lmdb.cc -- LMDB peer: one environment per process (LMDB forbids
// opening the same environment twice in one process), one renewable read
// transaction per handle, MDB_NOSYNC (no fsync per commit, like SQLite's
// synchronous=NORMAL in WAL mode; see docs/benchmarks.md).
#include <lmdb.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "backend.h"

namespace bench {
namespace {

// Throws with LMDB's message when rc is an error other than MDB_NOTFOUND.
void check(int rc, const char* what) {
  if (rc == MDB_SUCCESS || rc == MDB_NOTFOUND) return;
  throw std::runtime_error(std::string("lmdb ") + what + ": " +
                           mdb_strerror(rc));
}

// The environment and its one database; shared by the handles of a process.
struct Env {
  MDB_env* env = nullptr;
  MDB_dbi dbi = 0;

  // Opens (creates) the environment in dir.
  explicit Env(const std::string& dir) {
    check(mdb_env_create(&env), "env_create");
    check(mdb_env_set_mapsize(env, size_t{64} << 30), "set_mapsize");
    check(mdb_env_set_maxreaders(env, 256), "set_maxreaders");
    check(mdb_env_open(env, dir.c_str(), MDB_NOSYNC | MDB_NOTLS, 0644),
          "env_open");
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env, nullptr, 0, &txn), "txn_begin");
    int rc = mdb_dbi_open(txn, nullptr, 0, &dbi);
    if (rc != MDB_SUCCESS) {
      mdb_txn_abort(txn);
      check(rc, "dbi_open");
    }
    check(mdb_txn_commit(txn), "txn_commit");
  }
  ~Env() {
    mdb_env_sync(env, 1);
    mdb_env_close(env);
  }
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
};

// An MDB_val pointing at s's bytes (not copied).
MDB_val to_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
// A view of v's bytes, valid while its transaction lives.
std::string_view to_view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

class LmdbBackend final : public Backend {
 public:
  // A handle on env with its own (reset) read transaction.
  explicit LmdbBackend(std::shared_ptr<Env> env) : env_(std::move(env)) {
    check(mdb_txn_begin(env_->env, nullptr, MDB_RDONLY, &rtxn_), "rtxn");
    mdb_txn_reset(rtxn_);
  }
  ~LmdbBackend() override {
    if (wtxn_) mdb_txn_abort(wtxn_);
    mdb_txn_abort(rtxn_);
  }
  LmdbBackend(const LmdbBackend&) = delete;
  LmdbBackend& operator=(const LmdbBackend&) = delete;

  void put(std::string_view key, std::string_view value) override {
    WriteScope w(this);
    MDB_val k = to_val(key), v = to_val(value);
    check(mdb_put(w.txn, env_->dbi, &k, &v, 0), "put");
    w.done();
  }

  bool get(std::string_view key, std::string* value) override {
    ReadScope r(this);
    MDB_val k = to_val(key), v;
    int rc = mdb_get(r.txn, env_->dbi, &k, &v);
    check(rc, "get");
    if (rc == MDB_NOTFOUND) return false;
    value->assign(static_cast<const char*>(v.mv_data), v.mv_size);
    return true;
  }

  bool exists(std::string_view key) override {
    ReadScope r(this);
    MDB_val k = to_val(key), v;
    int rc = mdb_get(r.txn, env_->dbi, &k, &v);
    check(rc, "exists");
    return rc == MDB_SUCCESS;
  }

  bool del(std::string_view key) override {
    WriteScope w(this);
    MDB_val k = to_val(key);
    int rc = mdb_del(w.txn, env_->dbi, &k, nullptr);
    check(rc, "del");
    w.done();
    return rc == MDB_SUCCESS;
  }

  void begin() override {
    if (wtxn_) throw std::runtime_error("lmdb: begin inside a transaction");
    check(mdb_txn_begin(env_->env, nullptr, 0, &wtxn_), "begin");
  }

  void commit() override {
    MDB_txn* t = wtxn_;
    wtxn_ = nullptr;
    check(mdb_txn_commit(t), "commit");
  }

  uint64_t scan(const Visit& visit) override {
    return walk(MDB_FIRST, MDB_NEXT, {}, UINT64_MAX, {}, visit);
  }

  uint64_t reverse_scan(const Visit& visit) override {
    return walk(MDB_LAST, MDB_PREV, {}, UINT64_MAX, {}, visit);
  }

  uint64_t prefix_scan(std::string_view prefix, const Visit& visit) override {
    return walk(MDB_SET_RANGE, MDB_NEXT, prefix, UINT64_MAX, prefix, visit);
  }

  uint64_t range(std::string_view start, uint64_t n,
                 const Visit& visit) override {
    return walk(MDB_SET_RANGE, MDB_NEXT, start, n, {}, visit);
  }

  std::unique_ptr<Backend> open_reader() override {
    return std::make_unique<LmdbBackend>(env_);
  }

 private:
  // The transaction reads use: the open write transaction, or the handle's
  // read transaction renewed for this operation (reset again on exit).
  struct ReadScope {
    LmdbBackend* self;
    MDB_txn* txn;
    explicit ReadScope(LmdbBackend* b) : self(b), txn(b->wtxn_) {
      if (!txn) {
        check(mdb_txn_renew(self->rtxn_), "txn_renew");
        txn = self->rtxn_;
      }
    }
    ~ReadScope() {
      if (txn == self->rtxn_) mdb_txn_reset(txn);
    }
    ReadScope(const ReadScope&) = delete;
    ReadScope& operator=(const ReadScope&) = delete;
  };

  // The transaction writes use: the open write transaction, or a new one
  // committed by done() (aborted if done() is never reached).
  struct WriteScope {
    MDB_txn* txn = nullptr;
    bool own = false;
    explicit WriteScope(LmdbBackend* b) : txn(b->wtxn_) {
      if (!txn) {
        check(mdb_txn_begin(b->env_->env, nullptr, 0, &txn), "txn_begin");
        own = true;
      }
    }
    void done() {
      if (own) {
        own = false;
        check(mdb_txn_commit(txn), "txn_commit");
      }
    }
    ~WriteScope() {
      if (own) mdb_txn_abort(txn);
    }
    WriteScope(const WriteScope&) = delete;
    WriteScope& operator=(const WriteScope&) = delete;
  };

  // Positions a cursor with first_op (at key for MDB_SET_RANGE), then moves
  // with next_op visiting at most limit entries while keys start with
  // prefix; returns entries visited.
  uint64_t walk(MDB_cursor_op first_op, MDB_cursor_op next_op,
                std::string_view key, uint64_t limit, std::string_view prefix,
                const Visit& visit) {
    ReadScope r(this);
    MDB_cursor* c = nullptr;
    check(mdb_cursor_open(r.txn, env_->dbi, &c), "cursor_open");
    std::unique_ptr<MDB_cursor, decltype(&mdb_cursor_close)> guard(
        c, &mdb_cursor_close);
    MDB_val k = to_val(key), v;
    uint64_t n = 0;
    int rc = mdb_cursor_get(c, &k, &v, first_op);
    while (rc == MDB_SUCCESS && n < limit) {
      std::string_view ks = to_view(k);
      if (!prefix.empty() && !ks.starts_with(prefix)) break;
      ++n;
      if (!visit(ks, to_view(v))) break;
      rc = mdb_cursor_get(c, &k, &v, next_op);
    }
    check(rc, "cursor_get");
    return n;
  }

  std::shared_ptr<Env> env_;
  MDB_txn* rtxn_ = nullptr;
  MDB_txn* wtxn_ = nullptr;
};

// Opens the LMDB store in dir (a new environment for this process).
std::unique_ptr<Backend> open_lmdb(const std::string& dir,
                                   const StoreSettings&) {
  return std::make_unique<LmdbBackend>(std::make_shared<Env>(dir));
}

}  // namespace

// LMDB; another process opens the same environment directly.
BackendInfo lmdb_backend() {
  return {
      "lmdb", open_lmdb, open_lmdb, 0,
      "MDB_NOSYNC|MDB_NOTLS, 64 GiB map, one renewable read txn per handle, "
      "threads share one environment"};
}

}  // namespace bench
