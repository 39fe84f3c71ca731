// backend.h -- the one small interface every benchmarked store implements.
//
// A Backend is an open handle on one store kept in a directory. Calls throw
// std::runtime_error when the store reports an error; "not found" is not an
// error and is returned as false. Writes between begin() and commit() form
// one transaction; outside of them every put/del is its own transaction and
// every read sees the latest commit. Destroying a Backend closes it.
#ifndef SNKV_BENCH_BACKEND_H
#define SNKV_BENCH_BACKEND_H

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

// Settings shared by every store so that they run on equal terms.
struct StoreSettings {
  int cache_pages = 2000;  // page cache, in pages of page_size bytes
  int page_size = 4096;    // SQLite page size; block size of the LSM stores
  int busy_timeout_ms = 10000;
};

// Called for each entry of a scan; return false to stop the scan early.
using Visit = std::function<bool(std::string_view key, std::string_view value)>;

class Backend {
 public:
  virtual ~Backend() = default;

  // Insert or replace key -> value.
  virtual void put(std::string_view key, std::string_view value) = 0;
  // Copy the value of key into *value; false if the key is absent.
  virtual bool get(std::string_view key, std::string* value) = 0;
  // True if the key is present.
  virtual bool exists(std::string_view key) = 0;
  // Remove key; false if it was absent.
  virtual bool del(std::string_view key) = 0;
  // Start a write transaction; puts and dels until commit() are atomic.
  virtual void begin() = 0;
  // Commit the transaction begin() started.
  virtual void commit() = 0;
  // Visit every entry in ascending key order; returns entries visited.
  virtual uint64_t scan(const Visit& visit) = 0;
  // Visit every entry in descending key order; returns entries visited.
  virtual uint64_t reverse_scan(const Visit& visit) = 0;
  // Visit the entries whose key starts with prefix, ascending.
  virtual uint64_t prefix_scan(std::string_view prefix, const Visit& visit) = 0;
  // Seek to the first key >= start and visit at most n entries from there.
  virtual uint64_t range(std::string_view start, uint64_t n,
                         const Visit& visit) = 0;
  // A second handle on the same store for reads from another thread. Where
  // the store allows it this is a fully separate handle (connection);
  // where it does not (one open per process), it shares the environment.
  virtual std::unique_ptr<Backend> open_reader() = 0;
};

// How to open a store kind.
struct BackendInfo {
  std::string name;
  // Open (creating if needed) the store in directory dir.
  std::function<std::unique_ptr<Backend>(const std::string& dir,
                                         const StoreSettings&)>
      open;
  // Open the store in dir for reads from another process while its writer
  // keeps it open; empty when the store does not support that.
  std::function<std::unique_ptr<Backend>(const std::string& dir,
                                         const StoreSettings&)>
      open_other_process;
  // How stale (ms) reads through open_other_process may be: 0 means every
  // read sees every commit that finished before it started.
  int other_process_staleness_ms = 0;
  // One line on the settings used, for the report.
  std::string settings;
};

// Every store compiled into this program, snkv first.
const std::vector<BackendInfo>& all_backends();
// The store named name, or nullptr.
const BackendInfo* find_backend(std::string_view name);

// Factories, one per backend_*.cc file.
BackendInfo sqlite_backend();
BackendInfo lmdb_backend();
BackendInfo rocksdb_backend();
BackendInfo leveldb_backend();
#ifdef SNKV_BENCH_HAVE_SNKV
BackendInfo snkv_backend();
#endif

}  // namespace bench

#endif  // SNKV_BENCH_BACKEND_H
