// backend_rocksdb.cc -- RocksDB peer: WAL on, no sync per write (like
// SQLite's synchronous=NORMAL), an 8 MiB block cache (= 2000 4-KiB pages),
// 4 KiB blocks, otherwise the library's defaults. One DB object per
// process (RocksDB locks the directory); reader threads share it.
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "backend.h"
#include "lsm_scan.h"

namespace bench {
namespace {

// Throws with RocksDB's message unless s is OK (or NotFound when allowed).
void check(const rocksdb::Status& s, const char* what) {
  if (s.ok() || s.IsNotFound()) return;
  throw std::runtime_error(std::string("rocksdb ") + what + ": " +
                           s.ToString());
}

// A view of the same bytes as a rocksdb::Slice; nothing is copied.
rocksdb::Slice to_slice(std::string_view s) { return {s.data(), s.size()}; }

// The options every RocksDB handle of the benchmark uses.
rocksdb::Options make_options(const StoreSettings& settings) {
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = rocksdb::NewLRUCache(
      static_cast<size_t>(settings.cache_pages) * settings.page_size);
  t.block_size = static_cast<size_t>(settings.page_size);
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

class RocksBackend final : public Backend {
 public:
  // How often a secondary instance replays the primary's writes.
  static constexpr std::chrono::milliseconds kCatchUp{100};

  // A handle on db. A secondary instance (secondary = true) catches up
  // with the primary before a read when kCatchUp has passed since it last
  // did, so its reads are at most that stale.
  RocksBackend(std::shared_ptr<rocksdb::DB> db, bool secondary)
      : db_(std::move(db)), secondary_(secondary) {}

  void put(std::string_view key, std::string_view value) override {
    if (batch_) {
      check(batch_->Put(to_slice(key), to_slice(value)), "batch put");
      return;
    }
    check(db_->Put(wopts_, to_slice(key), to_slice(value)), "put");
  }

  bool get(std::string_view key, std::string* value) override {
    maybe_catch_up();
    auto s = db_->Get(ropts_, to_slice(key), value);
    check(s, "get");
    return s.ok();
  }

  bool exists(std::string_view key) override {
    maybe_catch_up();
    rocksdb::PinnableSlice v;
    auto s = db_->Get(ropts_, db_->DefaultColumnFamily(), to_slice(key), &v);
    check(s, "exists");
    return s.ok();
  }

  // Deleting reports whether the key existed, like the other stores, so it
  // reads the key first (an LSM delete alone cannot tell).
  bool del(std::string_view key) override {
    if (!exists(key)) return false;
    if (batch_) {
      check(batch_->Delete(to_slice(key)), "batch delete");
    } else {
      check(db_->Delete(wopts_, to_slice(key)), "delete");
    }
    return true;
  }

  void begin() override {
    if (batch_) throw std::runtime_error("rocksdb: begin inside a batch");
    batch_ = std::make_unique<rocksdb::WriteBatch>();
  }

  void commit() override {
    auto b = std::move(batch_);
    check(db_->Write(wopts_, b.get()), "write batch");
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
    return std::make_unique<RocksBackend>(db_, secondary_);
  }

 private:
  // A new iterator over the latest state.
  std::unique_ptr<rocksdb::Iterator> iter() {
    maybe_catch_up();
    return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(ropts_));
  }

  // On a secondary instance, replays the primary's new writes when the
  // last catch-up is more than kCatchUp old.
  void maybe_catch_up() {
    if (!secondary_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_catch_up_ < kCatchUp) return;
    check(db_->TryCatchUpWithPrimary(), "catch up");
    last_catch_up_ = now;
  }

  std::shared_ptr<rocksdb::DB> db_;
  bool secondary_;
  std::chrono::steady_clock::time_point last_catch_up_{};
  rocksdb::ReadOptions ropts_;
  rocksdb::WriteOptions wopts_;  // sync = false, WAL on
  std::unique_ptr<rocksdb::WriteBatch> batch_;
};

// Opens (creates) the RocksDB store in dir as the primary.
std::unique_ptr<Backend> open_rocksdb(const std::string& dir,
                                      const StoreSettings& settings) {
  rocksdb::DB* raw = nullptr;
  check(rocksdb::DB::Open(make_options(settings), dir, &raw), "open");
  return std::make_unique<RocksBackend>(std::shared_ptr<rocksdb::DB>(raw),
                                        false);
}

// Opens the store in dir as a secondary instance, the way RocksDB lets a
// second process read a database that a primary keeps open.
std::unique_ptr<Backend> open_rocksdb_secondary(const std::string& dir,
                                                const StoreSettings& settings) {
  rocksdb::Options o = make_options(settings);
  o.create_if_missing = false;
  o.max_open_files = -1;
  rocksdb::DB* raw = nullptr;
  std::string secondary = dir + "/secondary-" + std::to_string(getpid());
  check(rocksdb::DB::OpenAsSecondary(o, dir, secondary, &raw),
        "open secondary");
  return std::make_unique<RocksBackend>(std::shared_ptr<rocksdb::DB>(raw),
                                        true);
}

}  // namespace

// RocksDB; another process reads through a secondary instance.
BackendInfo rocksdb_backend() {
  return {"rocksdb", open_rocksdb, open_rocksdb_secondary,
          static_cast<int>(RocksBackend::kCatchUp.count()),
          "WAL on, sync=false, 8 MiB LRU block cache, 4 KiB blocks, defaults "
          "otherwise; threads share one DB; another process reads as a "
          "secondary instance catching up every 100 ms"};
}

}  // namespace bench
