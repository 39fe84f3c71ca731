// Store, ColumnFamily and Transaction: the snkv C++ API.
//
//   snkv::Store db;
//   snkv::Status s = snkv::Store::Open("app.db", {}, &db);
//   s = db.Put("user:1", "alice");
//   std::string v;
//   s = db.Get("user:1", &v);             // s.IsNotFound() when absent
//
// Every call returns a Status (see status.h). All objects are RAII: a Store
// closes on destruction, a Transaction rolls back unless committed. A Store
// may be shared between threads (calls are serialised per Store); so may its
// ColumnFamily handles. Reads outside a transaction see every commit that
// finished before they started, from any handle or process, except while an
// iterator of the same Store is positioned mid-scan: SQLite keeps one read
// transaction per connection, so until it finishes or closes, the Store's
// reads share the iterator's snapshot, and its writes start from it: one
// that finds another handle writing, or committed since, fails with kBusy
// at once, without waiting out busyTimeout.
//
// fork(): a child may open Stores of its own at once (the fork waits until
// snkv's background threads and calls on other threads are out of SQLite).
// A Store, ColumnFamily or Iterator inherited from the parent fails every
// call in the child with kError ("store handle used after fork()"); closing
// or destroying it there frees only the child's memory.
#ifndef SNKV_STORE_H
#define SNKV_STORE_H

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "snkv/iterator.h"
#include "snkv/options.h"
#include "snkv/slice.h"
#include "snkv/status.h"

namespace snkv {

namespace internal {
class StoreCore;
struct ColumnFamilyState;
class ApiAccess;
}  // namespace internal

// Receives a value found by a read; the bytes are valid only during the
// call. Returning false (it could not keep them, e.g. out of memory) makes
// the read fail with Code::kNoMem.
using ValueSink = std::function<bool(Slice value)>;

// A named key space. Cheap to copy; all copies refer to the same family.
// expire_at_ms arguments are absolute times in ms since the Unix epoch
// (see NowMs()); 0 means "never expires".
class ColumnFamily {
 public:
  ColumnFamily() noexcept;  // not attached to a store: every call fails
  ~ColumnFamily();
  ColumnFamily(const ColumnFamily&);
  ColumnFamily& operator=(const ColumnFamily&);
  ColumnFamily(ColumnFamily&&) noexcept;
  ColumnFamily& operator=(ColumnFamily&&) noexcept;

  const std::string& name() const noexcept;

  // Insert or replace; the new entry's expiry is expire_at_ms.
  Status Put(Slice key, Slice value, int64_t expire_at_ms = 0);
  // NotFound if absent or expired. *remaining_ms (optional): ms until expiry,
  // or kNoTtl; 0 with NotFound when the key had just expired (untouched when
  // it was absent).
  Status Get(Slice key, std::string* value, int64_t* remaining_ms = nullptr);
  // As Get, handing the bytes to `sink` instead of copying them to a string.
  Status Get(Slice key, const ValueSink& sink, int64_t* remaining_ms);
  Status Exists(Slice key, bool* exists);
  // NotFound if the key was absent or already expired.
  Status Delete(Slice key);
  // kNoTtl, N > 0 ms left, or 0 if it has just expired (and was deleted).
  Status TtlRemaining(Slice key, int64_t* remaining_ms);
  Status PurgeExpired(int64_t* deleted = nullptr);
  // Write only if absent or expired; *inserted (optional) tells which.
  Status PutIfAbsent(Slice key, Slice value, int64_t expire_at_ms,
                     bool* inserted);
  Status Clear();
  // Expired-but-unpurged keys are counted.
  Status Count(int64_t* count);

  // Unpositioned: call a Seek*, or iterate with range-for.
  Iterator NewIterator(const IteratorOptions& options = {});

 private:
  friend class Store;
  friend class internal::ApiAccess;
  ColumnFamily(std::shared_ptr<internal::StoreCore> store,
               std::shared_ptr<internal::ColumnFamilyState> state);
  void Release() noexcept;
  std::shared_ptr<internal::StoreCore> store_;
  std::shared_ptr<internal::ColumnFamilyState> state_;
};

class Transaction;

class Store {
 public:
  Store() noexcept;  // closed
  ~Store();          // Close()
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Open or create the store file at `path`. On error *store stays closed.
  static Status Open(const std::string& path, const Options& options,
                     Store* store);
  // A private store that lives in memory until closed.
  static Status OpenInMemory(const Options& options, Store* store);

  // Opens or creates an encrypted store (":memory:" for an in-memory one).
  // A plain store is encrypted in place, in one transaction. kAuthFailed
  // for a wrong password. Values are sealed with XChaCha20-Poly1305 under a
  // key derived by Argon2id, each bound to its column family and key; keys,
  // sizes and access patterns stay visible. A value found tampered with or
  // moved reads as kCorrupt, and so does a file whose stored Argon2id costs
  // exceed what snkv writes (3 passes, 64 MiB), refused before deriving.
  static Status OpenEncrypted(const std::string& path, Slice password,
                              const Options& options, Store* store);

  // Roll back any open transaction, invalidate iterators, checkpoint and
  // close. Closing a closed store is OK.
  Status Close();
  bool is_open() const noexcept;

  // --- column families ---
  // Names are 1..255 bytes. The vector store's four family names
  // ("_snkv_vec_", "_snkv_vec_meta_", "_snkv_vec_tags_", "_snkv_vec_log_")
  // are reserved: Create and Drop refuse them (kError); Open may read them.
  ColumnFamily DefaultColumnFamily() const;
  Status CreateColumnFamily(std::string_view name, ColumnFamily* cf);
  Status OpenColumnFamily(std::string_view name, ColumnFamily* cf);
  Status DropColumnFamily(std::string_view name);
  Status ListColumnFamilies(std::vector<std::string>* names);

  // --- the default column family ---
  Status Put(Slice key, Slice value, int64_t expire_at_ms = 0) {
    return default_cf_.Put(key, value, expire_at_ms);
  }
  Status Get(Slice key, std::string* value) {
    return default_cf_.Get(key, value);
  }
  Status Exists(Slice key, bool* exists) {
    return default_cf_.Exists(key, exists);
  }
  Status Delete(Slice key) { return default_cf_.Delete(key); }
  Iterator NewIterator(const IteratorOptions& options = {}) {
    return default_cf_.NewIterator(options);
  }

  // --- transactions (one per Store at a time) ---
  // In a write transaction puts may wait in memory (up to 32 MiB) and be
  // written in key order; every later call sees them, and a failure to
  // write them rolls the transaction back (see kvstore_begin).
  Status Begin(TxnMode mode);
  Status Commit();
  Status Rollback();
  // RAII form: rolls back on destruction unless committed.
  Status BeginTransaction(TxnMode mode, Transaction* txn);

  // --- encryption ---
  bool is_encrypted() const noexcept;
  // Changes the password: every value is re-sealed under a new key, in one
  // transaction. Not inside a transaction.
  Status Reencrypt(Slice new_password);
  // Decrypts every value in one transaction; the file then opens without a
  // password. Not inside a transaction.
  Status RemoveEncryption();

  // --- diagnostics and maintenance ---
  Status GetStats(Stats* stats);
  Status ResetStats();
  // *problems receives SQLite's report when the check fails (Corrupt).
  Status IntegrityCheck(std::string* problems);
  Status Sync();
  Status IncrementalVacuum(int pages);  // 0 = all free pages
  Status Checkpoint(CheckpointMode mode, CheckpointResult* result);

  // The message of the last failed call on this handle or any of its
  // column families and iterators ("not an error" if none). Meant for
  // C-style reporting; prefer the Status each call returns.
  const char* last_error() const noexcept;
  // The same message, copied under the store's lock: unlike last_error(),
  // safe to call while other threads use the store (the Python errmsg).
  std::string last_error_message() const;

 private:
  friend class internal::ApiAccess;
  static Status OpenInto(const std::string* path, const Options& options,
                         const Slice* password, Store* store);

  std::shared_ptr<internal::StoreCore> core_;
  ColumnFamily default_cf_;
};

// An explicit transaction on a Store. Rolled back by the destructor unless
// Commit() succeeded. Must not outlive its Store.
class Transaction {
 public:
  Transaction() noexcept = default;
  ~Transaction();
  Transaction(Transaction&&) noexcept;
  Transaction& operator=(Transaction&&) noexcept;

  Status Commit();
  Status Rollback();
  bool active() const noexcept { return store_ != nullptr; }

 private:
  friend class Store;
  Store* store_ = nullptr;
};

}  // namespace snkv

#endif  // SNKV_STORE_H
