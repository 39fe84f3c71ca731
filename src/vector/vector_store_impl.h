// VectorStoreImpl: the engine behind snkv::VectorStore (include/snkv/
// vector.h): opens the Store and the vector tables, keeps the in-memory
// index in step with the tables, and runs writes and searches.
//
// Locking: store_mu_ guards every use of the Store (one transaction at a
// time per handle, and no read may see another thread's open transaction)
// and the change-log position; index_mu_ guards the index: shared for the
// graph walk of a search, exclusive to change it. Order: store_mu_, then
// index_mu_. A search holds store_mu_ only to check the log head (and catch
// up) and to read values, so walks of several threads run in parallel.
#ifndef SNKV_VECTOR_VECTOR_STORE_IMPL_H
#define SNKV_VECTOR_VECTOR_STORE_IMPL_H

#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "snkv/store.h"
#include "snkv/vector.h"
#include "vector/json_match.h"
#include "vector/tables.h"
#include "vector/vector_index.h"

namespace snkv::internal {

class VectorStoreImpl {
 public:
  VectorStoreImpl() = default;

  Status Open(const std::string& path, const VectorOptions& options);
  Status Close();

  Status Put(std::span<const VectorItem> items, int64_t expire_at_ms);
  Status KvPut(Slice key, Slice value);
  Status Delete(Slice key);
  Status PurgeExpired(int64_t* deleted);
  Status DropIndex();

  Status Get(Slice key, std::string* value);
  Status GetVector(Slice key, std::vector<float>* vector);
  Status GetMetadata(Slice key, std::optional<std::string>* metadata);
  Status Contains(Slice key, bool* contains);
  Status Count(int64_t* count);

  // Hits with keys and distances, and values too when with_values.
  Status Search(std::span<const float> query, const SearchOptions& options,
                bool with_values, std::vector<SearchHit>* hits);

  Status GetStats(VectorStats* stats);
  Status SaveSidecar();
  int dim() const noexcept { return config_.dim; }
  std::string last_error() const;
  // True while this thread runs a search filter of this store: calls on
  // the store then fail (they would deadlock).
  bool InsideOwnFilter() const;

 private:
  // One attempt of Search. The index walk and the table reads take
  // different locks, so a hit can be deleted by another thread in between;
  // *vanished then tells the caller to try again (the next attempt catches
  // up first and fills the place).
  Status SearchOnce(std::span<const float> query, const SearchOptions& options,
                    bool with_values, std::vector<SearchHit>* hits,
                    bool* vanished);

  // One key's resulting state in a write: a vector, or removal.
  struct Change {
    std::string key;
    bool remove = false;
    std::vector<float> vec;
    int64_t expires = 0;
    std::optional<std::string> metadata;  // state after the write
  };

  Status Record(Status s) const;
  // The error of a call made from inside this store's search filter.
  Status Reentered() const;
  // Checks a vector to store (query false) or search for: length, finite
  // values, a squared length whose distances fit float32, a length cosine
  // can normalise, and values an f16 index can hold (not for queries,
  // which stay float32). kBadVector with the reason otherwise.
  Status CheckVector(const float* v, size_t n, bool query) const;
  // Whether some handle dropped the index (its marker in the file); if so
  // marks this handle dropped and empties its index. Caller holds
  // store_mu_.
  bool NoticeDrop();
  // *live: key has a vector that has not expired at `now`.
  Status IsLive(const std::string& key, int64_t now, bool* live);
  // Applies the change-log entries this handle has not seen. Caller holds
  // store_mu_. Rebuilds when the log no longer reaches back.
  Status CatchUp();
  // Rebuilds the index from the tables. Caller holds store_mu_.
  Status Rebuild();
  // Reads key's current row into *c (remove = true if it has none).
  Status ReadRow(const std::string& key, Change* c);
  // Runs `body` in a write transaction that also appends the change-log
  // entry for `keys`, then applies `changes` to the index.
  template <class Body>
  Status WriteChanges(std::vector<Change>* changes, Body&& body);
  // Reads the key's metadata (nullopt if none) inside a transaction.
  Status ReadMetadata(const std::string& key, std::optional<std::string>* m);
  Status Dropped() const;
  // Which slots match a JSON filter: evaluated over the whole index once
  // and kept while the index is unchanged (filters tend to repeat; this
  // makes a selective filter's exact scan a bitmap walk). Caller holds
  // index_mu_ (shared is enough).
  std::shared_ptr<const std::vector<uint8_t>> JsonBitmap(
      const std::string& filter, const vector::JsonMatch& match);

  Store store_;
  ColumnFamily values_;
  vector::VectorTables tables_;
  vector::StoredConfig config_;
  std::unique_ptr<vector::VectorIndex> index_;
  std::string path_;
  bool sidecar_ = false;
  bool loaded_from_sidecar_ = false;
  bool dropped_ = false;
  int ef_search_ = 64;
  vector::LogPosition seen_;                  // what the index reflects
  std::optional<vector::LogPosition> saved_;  // stamp of the sidecar on disk
  std::mt19937_64 nonce_rng_{std::random_device{}()};

  struct CachedBitmap {
    uint64_t version;
    std::shared_ptr<const std::vector<uint8_t>> bits;
  };
  std::mutex filter_mu_;  // guards filter_cache_
  std::unordered_map<std::string, CachedBitmap> filter_cache_;

  mutable std::mutex store_mu_;
  mutable std::shared_mutex index_mu_;
  mutable std::mutex error_mu_;
  mutable std::string last_error_ = "not an error";
};

}  // namespace snkv::internal

#endif  // SNKV_VECTOR_VECTOR_STORE_IMPL_H
