// backend_leveldb.cc -- LevelDB peer: log on, no sync per write (like
// SQLite's synchronous=NORMAL), an 8 MiB block cache (= 2000 4-KiB pages),
// 4 KiB blocks, otherwise the library's defaults. One DB object per
// process (LevelDB locks the directory); reader threads share it. LevelDB
// has no way for a second process to read while the writer has it open.
#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "backend.h"
#include "lsm_scan.h"

namespace bench {
namespace {

// Throws with LevelDB's message unless s is OK or NotFound.
void check(const leveldb::Status& s, const char* what) {
  if (s.ok() || s.IsNotFound()) return;
  throw std::runtime_error(std::string("leveldb ") + what + ": " +
                           s.ToString());
}

// A view of the same bytes as a leveldb::Slice; nothing is copied.
leveldb::Slice to_slice(std::string_view s) { return {s.data(), s.size()}; }

// The database and the cache it uses; the cache must outlive the database.
struct Db {
  std::unique_ptr<leveldb::Cache> cache;
  std::unique_ptr<leveldb::DB> db;

  // Opens (creates) the store in dir.
  Db(const std::string& dir, const StoreSettings& settings)
      : cache(leveldb::NewLRUCache(static_cast<size_t>(settings.cache_pages) *
                                   settings.page_size)) {
    leveldb::Options o;
    o.create_if_missing = true;
    o.block_cache = cache.get();
    o.block_size = static_cast<size_t>(settings.page_size);
    leveldb::DB* raw = nullptr;
    check(leveldb::DB::Open(o, dir, &raw), "open");
    db.reset(raw);
  }
  ~Db() { db.reset(); }  // the database first, then its cache
};

class LevelBackend final : public Backend {
 public:
  // A handle on db (shared with the other handles of this process).
  explicit LevelBackend(std::shared_ptr<Db> db) : db_(std::move(db)) {}

  void put(std::string_view key, std::string_view value) override {
    if (batch_) {
      batch_->Put(to_slice(key), to_slice(value));
      return;
    }
    check(db_->db->Put(wopts_, to_slice(key), to_slice(value)), "put");
  }

  bool get(std::string_view key, std::string* value) override {
    auto s = db_->db->Get(ropts_, to_slice(key), value);
    check(s, "get");
    return s.ok();
  }

  bool exists(std::string_view key) override {
    std::string v;
    return get(key, &v);
  }

  // Deleting reports whether the key existed, like the other stores, so it
  // reads the key first (an LSM delete alone cannot tell).
  bool del(std::string_view key) override {
    if (!exists(key)) return false;
    if (batch_) {
      batch_->Delete(to_slice(key));
    } else {
      check(db_->db->Delete(wopts_, to_slice(key)), "delete");
    }
    return true;
  }

  void begin() override {
    if (batch_) throw std::runtime_error("leveldb: begin inside a batch");
    batch_ = std::make_unique<leveldb::WriteBatch>();
  }

  void commit() override {
    auto b = std::move(batch_);
    check(db_->db->Write(wopts_, b.get()), "write batch");
  }

  uint64_t scan(const Visit& visit) override {
    auto it = iter();
    uint64_t n = LsmScan(it, visit);
    check(it->status(), "scan");
    return n;
  }

  uint64_t reverse_scan(const Visit& visit) override {
    auto it = iter();
    uint64_t n = LsmReverseScan(it, visit);
    check(it->status(), "reverse scan");
    return n;
  }

  uint64_t prefix_scan(std::string_view prefix, const Visit& visit) override {
    auto it = iter();
    uint64_t n = LsmPrefixScan(it, prefix, visit);
    check(it->status(), "prefix scan");
    return n;
  }

  uint64_t range(std::string_view start, uint64_t limit,
                 const Visit& visit) override {
    auto it = iter();
    uint64_t n = LsmRange(it, start, limit, visit);
    check(it->status(), "range");
    return n;
  }

  std::unique_ptr<Backend> open_reader() override {
    return std::make_unique<LevelBackend>(db_);
  }

 private:
  // A new iterator over the latest state.
  std::unique_ptr<leveldb::Iterator> iter() {
    return std::unique_ptr<leveldb::Iterator>(db_->db->NewIterator(ropts_));
  }

  std::shared_ptr<Db> db_;
  leveldb::ReadOptions ropts_;
  leveldb::WriteOptions wopts_;  // sync = false
  std::unique_ptr<leveldb::WriteBatch> batch_;
};

// Opens (creates) the LevelDB store in dir.
std::unique_ptr<Backend> open_leveldb(const std::string& dir,
                                      const StoreSettings& settings) {
  return std::make_unique<LevelBackend>(std::make_shared<Db>(dir, settings));
}

}  // namespace

// LevelDB; no second-process reader (the directory lock forbids it).
BackendInfo leveldb_backend() {
  return {"leveldb", open_leveldb, nullptr, 0,
          "log on, sync=false, 8 MiB LRU block cache, 4 KiB blocks, defaults "
          "otherwise; threads share one DB; no second-process reads"};
}

}  // namespace bench
