// backend_snkv.cc -- snkv through its C API (kvstore.h), with the same
// settings as the SQLite baseline: WAL, synchronous NORMAL, 2000 pages of
// cache, 4 KiB pages.
#include <kvstore.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "backend.h"

namespace bench {
namespace {

struct StoreCloser {
  void operator()(KVStore* kv) const { kvstore_close(kv); }
};
struct IterCloser {
  void operator()(KVIterator* it) const { kvstore_iterator_close(it); }
};
struct BufferFree {
  void operator()(void* p) const { snkv_free(p); }
};
using StorePtr = std::unique_ptr<KVStore, StoreCloser>;
using IterPtr = std::unique_ptr<KVIterator, IterCloser>;
using Buffer = std::unique_ptr<void, BufferFree>;

// The length of s as the C API's int.
int len(std::string_view s) { return static_cast<int>(s.size()); }

class SnkvBackend final : public Backend {
 public:
  // Open (create) dir/kv.db with the benchmark's common settings.
  SnkvBackend(std::string dir, const StoreSettings& settings)
      : dir_(std::move(dir)), settings_(settings) {
    KVStoreConfig cfg{};
    cfg.journalMode = KVSTORE_JOURNAL_WAL;
    cfg.syncLevel = KVSTORE_SYNC_NORMAL;
    cfg.cacheSize = settings.cache_pages;
    cfg.pageSize = settings.page_size;
    cfg.busyTimeout = settings.busy_timeout_ms;
    KVStore* raw = nullptr;
    int rc = kvstore_open_v2((dir_ + "/kv.db").c_str(), &raw, &cfg);
    kv_.reset(raw);
    if (rc != KVSTORE_OK)
      throw std::runtime_error(std::string("snkv open: ") +
                               kvstore_errmsg(nullptr));
  }

  void put(std::string_view key, std::string_view value) override {
    check(
        kvstore_put(kv_.get(), key.data(), len(key), value.data(), len(value)),
        "put");
  }

  bool get(std::string_view key, std::string* value) override {
    void* p = nullptr;
    int n = 0;
    int rc = kvstore_get(kv_.get(), key.data(), len(key), &p, &n);
    if (rc == KVSTORE_NOTFOUND) return false;
    check(rc, "get");
    Buffer owned(p);
    value->assign(static_cast<const char*>(p), static_cast<size_t>(n));
    return true;
  }

  bool exists(std::string_view key) override {
    int found = 0;
    check(kvstore_exists(kv_.get(), key.data(), len(key), &found), "exists");
    return found != 0;
  }

  bool del(std::string_view key) override {
    int rc = kvstore_delete(kv_.get(), key.data(), len(key));
    if (rc == KVSTORE_NOTFOUND) return false;
    check(rc, "delete");
    return true;
  }

  void begin() override { check(kvstore_begin(kv_.get(), 1), "begin"); }

  void commit() override { check(kvstore_commit(kv_.get()), "commit"); }

  uint64_t scan(const Visit& visit) override {
    IterPtr it = make(kvstore_iterator_create, "iterator");
    check(kvstore_iterator_first(it.get()), "first");
    return walk(it.get(), kvstore_iterator_next, UINT64_MAX, visit);
  }

  uint64_t reverse_scan(const Visit& visit) override {
    IterPtr it = make(kvstore_reverse_iterator_create, "reverse iterator");
    check(kvstore_iterator_last(it.get()), "last");
    return walk(it.get(), kvstore_iterator_prev, UINT64_MAX, visit);
  }

  uint64_t prefix_scan(std::string_view prefix, const Visit& visit) override {
    KVIterator* raw = nullptr;
    int rc = kvstore_prefix_iterator_create(kv_.get(), prefix.data(),
                                            len(prefix), &raw);
    IterPtr it(raw);
    check(rc, "prefix iterator");
    return walk(it.get(), kvstore_iterator_next, UINT64_MAX, visit);
  }

  uint64_t range(std::string_view start, uint64_t n,
                 const Visit& visit) override {
    IterPtr it = make(kvstore_iterator_create, "iterator");
    check(kvstore_iterator_seek(it.get(), start.data(), len(start)), "seek");
    return walk(it.get(), kvstore_iterator_next, n, visit);
  }

  std::unique_ptr<Backend> open_reader() override {
    return std::make_unique<SnkvBackend>(dir_, settings_);
  }

 private:
  // Throws with the handle's error message unless rc is KVSTORE_OK.
  void check(int rc, const char* what) {
    if (rc == KVSTORE_OK) return;
    throw std::runtime_error(std::string("snkv ") + what + ": rc " +
                             std::to_string(rc) + ": " +
                             kvstore_errmsg(kv_.get()));
  }

  // Creates an iterator with create(kv, &it); throws on failure.
  IterPtr make(int (*create)(KVStore*, KVIterator**), const char* what) {
    KVIterator* raw = nullptr;
    int rc = create(kv_.get(), &raw);
    IterPtr it(raw);
    check(rc, what);
    return it;
  }

  // Visits entries from the iterator's position, moving with step, until
  // eof, limit entries or visit says stop; returns entries visited.
  uint64_t walk(KVIterator* it, int (*step)(KVIterator*), uint64_t limit,
                const Visit& visit) {
    uint64_t n = 0;
    while (n < limit && !kvstore_iterator_eof(it)) {
      void* k = nullptr;
      void* v = nullptr;
      int nk = 0, nv = 0;
      check(kvstore_iterator_key(it, &k, &nk), "iterator key");
      check(kvstore_iterator_value(it, &v, &nv), "iterator value");
      ++n;
      if (!visit({static_cast<const char*>(k), static_cast<size_t>(nk)},
                 {static_cast<const char*>(v), static_cast<size_t>(nv)}))
        break;
      check(step(it), "iterator step");
    }
    return n;
  }

  std::string dir_;
  StoreSettings settings_;
  StorePtr kv_;
};

// Opens the snkv store in dir.
std::unique_ptr<Backend> open_snkv(const std::string& dir,
                                   const StoreSettings& settings) {
  return std::make_unique<SnkvBackend>(dir, settings);
}

}  // namespace

// snkv; another process opens the same file like the first one does.
BackendInfo snkv_backend() {
  return {"snkv", open_snkv, open_snkv, 0,
          "C API, WAL, SYNC_NORMAL, cacheSize=2000, pageSize=4096, "
          "busyTimeout=10000"};
}

}  // namespace bench
