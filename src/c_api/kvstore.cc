// The C API of kvstore.h: argument checks and conversions around the C++
// API, nothing more. No exception may leave these functions: every entry
// point runs its body through Guard(), which turns them into error codes
// (the forced unwind of a thread being ended passes through: see Guard).
#include "kvstore.h"

#include <cxxabi.h>

#include <climits>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "kv/api_access.h"
#include "snkv/snkv.h"

struct KVStore {
  snkv::Store store;
  snkv::ColumnFamily default_cf;
};

struct KVColumnFamily {
  snkv::ColumnFamily cf;
};

struct KVIterator {
  snkv::Iterator it;
};

namespace {

using snkv::Slice;
using snkv::Status;

// The message of the last failed open in this thread (kvstore_errmsg(NULL)).
thread_local std::string g_open_error = "not an error";

// Runs body() and converts what escapes it into a KVSTORE_* code, except
// the forced unwind of a thread being ended (pthread_exit, or
// pthread_cancel at a cancellation point: a search filter may do either).
// That one must go on to the thread's start: catching it for good aborts
// the process ("FATAL: exception not rethrown"), and so would a noexcept
// frame on its way (std::terminate); hence no noexcept here. The store's
// locks are RAII and are given back as it passes. (no_sanitize: that
// unwind carries no C++ object, so the catch below binds a null reference,
// which GCC's UBSan would stop the program for.)
template <class Body>
__attribute__((no_sanitize("null"))) int Guard(Body&& body) {
  try {
    return body();
  } catch (abi::__forced_unwind&) {
    throw;
  } catch (const std::bad_alloc&) {
    return KVSTORE_NOMEM;
  } catch (...) {
    return KVSTORE_ERROR;
  }
}

int Code(const Status& s) { return s.raw_code(); }

using snkv::internal::ApiAccess;

// Validates a (pointer, length) pair from C: a negative length, or a NULL
// pointer with a positive length, is invalid.
bool ToSlice(const void* data, int n, Slice* out) {
  if (n < 0 || (data == nullptr && n > 0)) return false;
  *out = n == 0 ? Slice() : Slice(data, static_cast<size_t>(n));
  return true;
}

// Fails a call on `handle` for an invalid argument, recording `what` as its
// error message.
template <class Handle>
int Invalid(const Handle& handle, const char* what) {
  return Code(ApiAccess::Record(handle, Status::Error(what)));
}

constexpr const char* kBadKey =
    "invalid key: negative length, or NULL with a positive length";
constexpr const char* kBadValue =
    "invalid value: negative length, or NULL with a positive length";
constexpr const char* kNullOutput = "an output pointer is NULL";
constexpr const char* kNullName = "column family name is NULL";

// Copies `value` into a buffer from SQLite's allocator for the caller.
bool CopyOut(Slice value, void** out, int* n) {
  auto* buf = static_cast<char*>(sqlite3_malloc64(value.size() + 1));
  if (buf == nullptr) return false;
  if (!value.empty()) std::memcpy(buf, value.data(), value.size());
  buf[value.size()] = '\0';  // convenient for text values; not counted
  *out = buf;
  *n = static_cast<int>(value.size());
  return true;
}

snkv::Options ToOptions(const KVStoreConfig* c) {
  snkv::Options o;
  if (c == nullptr) return o;
  o.journal_mode = static_cast<snkv::JournalMode>(c->journalMode);
  o.sync_level = static_cast<snkv::SyncLevel>(c->syncLevel);
  // 0 selects the default for the fields where 0 is not a valid value.
  o.cache_size_pages = c->cacheSize == 0 ? 2000 : c->cacheSize;
  o.page_size = c->pageSize == 0 ? 4096 : c->pageSize;
  o.read_only = c->readOnly != 0;
  o.busy_timeout_ms = c->busyTimeout;
  o.wal_size_limit = c->walSizeLimit;
  o.memory_map = c->noMmap == 0;
  return o;
}

// Runs a value-returning read through the C++ sink API.
int GetInto(snkv::ColumnFamily& cf, const void* pKey, int nKey, void** ppValue,
            int* pnValue, int64_t* pnRemaining) {
  Slice key;
  if (!ToSlice(pKey, nKey, &key)) return Invalid(cf, kBadKey);
  if (ppValue == nullptr || pnValue == nullptr) return Invalid(cf, kNullOutput);
  void* out = nullptr;
  int n = 0;
  Status s = cf.Get(
      key, [&](Slice v) { return CopyOut(v, &out, &n); }, pnRemaining);
  if (!s.ok()) return Code(s);
  *ppValue = out;
  *pnValue = n;
  return KVSTORE_OK;
}

int Put(snkv::ColumnFamily& cf, const void* pKey, int nKey, const void* pValue,
        int nValue, int64_t expire_ms) {
  Slice key;
  Slice value;
  if (!ToSlice(pKey, nKey, &key)) return Invalid(cf, kBadKey);
  if (!ToSlice(pValue, nValue, &value)) return Invalid(cf, kBadValue);
  return Code(cf.Put(key, value, expire_ms));
}

int Exists(snkv::ColumnFamily& cf, const void* pKey, int nKey, int* pExists) {
  Slice key;
  if (!ToSlice(pKey, nKey, &key)) return Invalid(cf, kBadKey);
  if (pExists == nullptr) return Invalid(cf, kNullOutput);
  bool exists = false;
  Status s = cf.Exists(key, &exists);
  if (s.ok()) *pExists = exists ? 1 : 0;
  return Code(s);
}

int Delete(snkv::ColumnFamily& cf, const void* pKey, int nKey) {
  Slice key;
  if (!ToSlice(pKey, nKey, &key)) return Invalid(cf, kBadKey);
  return Code(cf.Delete(key));
}

int TtlRemaining(snkv::ColumnFamily& cf, const void* pKey, int nKey,
                 int64_t* pnRemaining) {
  Slice key;
  if (!ToSlice(pKey, nKey, &key)) return Invalid(cf, kBadKey);
  if (pnRemaining == nullptr) return Invalid(cf, kNullOutput);
  return Code(cf.TtlRemaining(key, pnRemaining));
}

int PurgeExpired(snkv::ColumnFamily& cf, int* pnDeleted) {
  int64_t n = 0;
  Status s = cf.PurgeExpired(&n);
  if (s.ok() && pnDeleted)
    *pnDeleted = n > INT_MAX ? INT_MAX : static_cast<int>(n);
  return Code(s);
}

int PutIfAbsent(snkv::ColumnFamily& cf, const void* pKey, int nKey,
                const void* pValue, int nValue, int64_t expire_ms,
                int* pInserted) {
  Slice key;
  Slice value;
  if (!ToSlice(pKey, nKey, &key)) return Invalid(cf, kBadKey);
  if (!ToSlice(pValue, nValue, &value)) return Invalid(cf, kBadValue);
  bool inserted = false;
  Status s = cf.PutIfAbsent(key, value, expire_ms, &inserted);
  if (s.ok() && pInserted) *pInserted = inserted ? 1 : 0;
  return Code(s);
}

int Count(snkv::ColumnFamily& cf, int64_t* pnCount) {
  if (pnCount == nullptr) return Invalid(cf, kNullOutput);
  return Code(cf.Count(pnCount));
}

// Creates an iterator on *cf (NULL: the caller's handle was NULL).
int NewIterator(snkv::ColumnFamily* cf, const void* pPrefix, int nPrefix,
                bool is_prefix, bool reverse, KVIterator** ppIter) {
  if (ppIter == nullptr) return KVSTORE_ERROR;
  *ppIter = nullptr;
  if (cf == nullptr) return KVSTORE_ERROR;
  Slice prefix;
  if (is_prefix && !ToSlice(pPrefix, nPrefix, &prefix)) {
    return Invalid(*cf,
                   "invalid prefix: negative length, or NULL with a "
                   "positive length");
  }
  snkv::IteratorOptions options;
  options.prefix = prefix.ToString();
  options.reverse = reverse;
  auto handle = std::make_unique<KVIterator>();
  handle->it = cf->NewIterator(options);
  Status s = handle->it.status();
  // Prefix iterators start on their first match; plain ones unpositioned.
  if (s.ok() && is_prefix) s = handle->it.SeekToStart();
  if (!s.ok()) return Code(s);
  *ppIter = handle.release();
  return KVSTORE_OK;
}

int CreateCfHandle(snkv::ColumnFamily cf, KVColumnFamily** ppCF) {
  auto handle = std::make_unique<KVColumnFamily>();
  handle->cf = std::move(cf);
  *ppCF = handle.release();
  return KVSTORE_OK;
}

}  // namespace

extern "C" {

void* kvstore_malloc_zeroed(sqlite3_uint64 n) {
  void* p = sqlite3_malloc64(n == 0 ? 1 : n);
  if (p != nullptr) std::memset(p, 0, n == 0 ? 1 : n);
  return p;
}

int64_t kvstore_now_ms(void) { return snkv::NowMs(); }

// ---- lifecycle --------------------------------------------------------------

int kvstore_open_v2(const char* zFilename, KVStore** ppKV,
                    const KVStoreConfig* pConfig) {
  return Guard([&] {
    if (ppKV == nullptr) {
      g_open_error = "ppKV must not be NULL";
      return KVSTORE_ERROR;
    }
    *ppKV = nullptr;
    snkv::Options options = ToOptions(pConfig);
    auto handle = std::make_unique<KVStore>();
    Status s = zFilename != nullptr
                   ? snkv::Store::Open(zFilename, options, &handle->store)
                   : snkv::Store::OpenInMemory(options, &handle->store);
    if (!s.ok()) {
      g_open_error = s.message();
      return Code(s);
    }
    handle->default_cf = handle->store.DefaultColumnFamily();
    *ppKV = handle.release();
    return KVSTORE_OK;
  });
}

int kvstore_open_encrypted(const char* zFilename, const void* pPassword,
                           int nPassword, KVStore** ppKV,
                           const KVStoreConfig* pConfig) {
  return Guard([&] {
    if (ppKV == nullptr) {
      g_open_error = "ppKV must not be NULL";
      return KVSTORE_ERROR;
    }
    *ppKV = nullptr;
    Slice password;
    if (!ToSlice(pPassword, nPassword, &password)) {
      g_open_error = "invalid password length";
      return KVSTORE_ERROR;
    }
    auto handle = std::make_unique<KVStore>();
    Status s =
        snkv::Store::OpenEncrypted(zFilename ? zFilename : ":memory:", password,
                                   ToOptions(pConfig), &handle->store);
    if (!s.ok()) {
      g_open_error = s.message();
      return Code(s);
    }
    handle->default_cf = handle->store.DefaultColumnFamily();
    *ppKV = handle.release();
    return KVSTORE_OK;
  });
}

int kvstore_is_encrypted(KVStore* pKV) {
  return pKV != nullptr && pKV->store.is_encrypted() ? 1 : 0;
}

int kvstore_reencrypt(KVStore* pKV, const void* pNewPassword,
                      int nNewPassword) {
  Slice password;
  if (pKV == nullptr) return KVSTORE_ERROR;
  if (!ToSlice(pNewPassword, nNewPassword, &password)) {
    return Guard(
        [&] { return Invalid(pKV->store, "invalid password length"); });
  }
  return Guard([&] { return Code(pKV->store.Reencrypt(password)); });
}

int kvstore_remove_encryption(KVStore* pKV) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return Code(pKV->store.RemoveEncryption()); });
}

int kvstore_open(const char* zFilename, KVStore** ppKV, int journalMode) {
  KVStoreConfig config;
  std::memset(&config, 0, sizeof config);
  config.journalMode = journalMode;
  config.syncLevel = KVSTORE_SYNC_NORMAL;
  return kvstore_open_v2(zFilename, ppKV, &config);
}

int kvstore_close(KVStore* pKV) {
  if (pKV == nullptr) return KVSTORE_OK;
  int rc = Guard([&] { return Code(pKV->store.Close()); });
  delete pKV;  // NOLINT(cppcoreguidelines-owning-memory): C owns handles
  return rc;
}

// ---- default column family --------------------------------------------------

int kvstore_put(KVStore* pKV, const void* pKey, int nKey, const void* pValue,
                int nValue) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard(
      [&] { return Put(pKV->default_cf, pKey, nKey, pValue, nValue, 0); });
}

int kvstore_get(KVStore* pKV, const void* pKey, int nKey, void** ppValue,
                int* pnValue) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard([&] {
    return GetInto(pKV->default_cf, pKey, nKey, ppValue, pnValue, nullptr);
  });
}

int kvstore_delete(KVStore* pKV, const void* pKey, int nKey) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return Delete(pKV->default_cf, pKey, nKey); });
}

int kvstore_exists(KVStore* pKV, const void* pKey, int nKey, int* pExists) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return Exists(pKV->default_cf, pKey, nKey, pExists); });
}

// ---- column families --------------------------------------------------------

namespace {

// kvstore_cf_create and kvstore_cf_open: the same checks, then `find`
// (Store::CreateColumnFamily or Store::OpenColumnFamily).
int FamilyHandle(KVStore* pKV, const char* zName, KVColumnFamily** ppCF,
                 Status (snkv::Store::*find)(std::string_view,
                                             snkv::ColumnFamily*)) {
  if (ppCF != nullptr) *ppCF = nullptr;
  if (pKV == nullptr) return KVSTORE_ERROR;
  if (zName == nullptr) {
    return Guard([&] { return Invalid(pKV->store, kNullName); });
  }
  if (ppCF == nullptr) {
    return Guard([&] { return Invalid(pKV->store, kNullOutput); });
  }
  return Guard([&] {
    snkv::ColumnFamily cf;
    Status s = (pKV->store.*find)(zName, &cf);
    return s.ok() ? CreateCfHandle(std::move(cf), ppCF) : Code(s);
  });
}

}  // namespace

int kvstore_cf_create(KVStore* pKV, const char* zName, KVColumnFamily** ppCF) {
  return FamilyHandle(pKV, zName, ppCF, &snkv::Store::CreateColumnFamily);
}

int kvstore_cf_open(KVStore* pKV, const char* zName, KVColumnFamily** ppCF) {
  return FamilyHandle(pKV, zName, ppCF, &snkv::Store::OpenColumnFamily);
}

int kvstore_cf_get_default(KVStore* pKV, KVColumnFamily** ppCF) {
  if (ppCF != nullptr) *ppCF = nullptr;
  if (pKV == nullptr) return KVSTORE_ERROR;
  if (ppCF == nullptr) {
    return Guard([&] { return Invalid(pKV->store, kNullOutput); });
  }
  return Guard([&] { return CreateCfHandle(pKV->default_cf, ppCF); });
}

int kvstore_cf_drop(KVStore* pKV, const char* zName) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  if (zName == nullptr) {
    return Guard([&] { return Invalid(pKV->store, kNullName); });
  }
  return Guard([&] { return Code(pKV->store.DropColumnFamily(zName)); });
}

int kvstore_cf_list(KVStore* pKV, char*** pazNames, int* pnCount) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  if (pazNames == nullptr || pnCount == nullptr) {
    return Guard([&] { return Invalid(pKV->store, kNullOutput); });
  }
  return Guard([&] {
    std::vector<std::string> names;
    Status s = pKV->store.ListColumnFamilies(&names);
    if (!s.ok()) return Code(s);
    *pazNames = nullptr;
    *pnCount = 0;
    if (names.empty()) return KVSTORE_OK;
    auto** array = static_cast<char**>(
        kvstore_malloc_zeroed(names.size() * sizeof(char*)));
    if (array == nullptr) return KVSTORE_NOMEM;
    for (size_t i = 0; i < names.size(); ++i) {
      array[i] = sqlite3_mprintf("%s", names[i].c_str());
      if (array[i] == nullptr) {
        for (size_t j = 0; j < i; ++j) sqlite3_free(array[j]);
        sqlite3_free(array);
        return KVSTORE_NOMEM;
      }
    }
    *pazNames = array;
    *pnCount = static_cast<int>(names.size());
    return KVSTORE_OK;
  });
}

// C handles are released by their C owner; NULL is a no-op.
void kvstore_cf_close(KVColumnFamily* pCF) {
  delete pCF;  // NOLINT(cppcoreguidelines-owning-memory)
}

int kvstore_cf_put(KVColumnFamily* pCF, const void* pKey, int nKey,
                   const void* pValue, int nValue) {
  if (pCF == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return Put(pCF->cf, pKey, nKey, pValue, nValue, 0); });
}

int kvstore_cf_get(KVColumnFamily* pCF, const void* pKey, int nKey,
                   void** ppValue, int* pnValue) {
  if (pCF == nullptr) return KVSTORE_ERROR;
  return Guard(
      [&] { return GetInto(pCF->cf, pKey, nKey, ppValue, pnValue, nullptr); });
}

int kvstore_cf_delete(KVColumnFamily* pCF, const void* pKey, int nKey) {
  if (pCF == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return Delete(pCF->cf, pKey, nKey); });
}

int kvstore_cf_exists(KVColumnFamily* pCF, const void* pKey, int nKey,
                      int* pExists) {
  if (pCF == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return Exists(pCF->cf, pKey, nKey, pExists); });
}

// ---- iterators --------------------------------------------------------------

int kvstore_iterator_create(KVStore* pKV, KVIterator** ppIter) {
  return Guard([&] {
    return NewIterator(pKV ? &pKV->default_cf : nullptr, nullptr, 0, false,
                       false, ppIter);
  });
}

int kvstore_cf_iterator_create(KVColumnFamily* pCF, KVIterator** ppIter) {
  return Guard([&] {
    return NewIterator(pCF ? &pCF->cf : nullptr, nullptr, 0, false, false,
                       ppIter);
  });
}

int kvstore_reverse_iterator_create(KVStore* pKV, KVIterator** ppIter) {
  return Guard([&] {
    return NewIterator(pKV ? &pKV->default_cf : nullptr, nullptr, 0, false,
                       true, ppIter);
  });
}

int kvstore_cf_reverse_iterator_create(KVColumnFamily* pCF,
                                       KVIterator** ppIter) {
  return Guard([&] {
    return NewIterator(pCF ? &pCF->cf : nullptr, nullptr, 0, false, true,
                       ppIter);
  });
}

int kvstore_prefix_iterator_create(KVStore* pKV, const void* pPrefix,
                                   int nPrefix, KVIterator** ppIter) {
  return Guard([&] {
    return NewIterator(pKV ? &pKV->default_cf : nullptr, pPrefix, nPrefix, true,
                       false, ppIter);
  });
}

int kvstore_cf_prefix_iterator_create(KVColumnFamily* pCF, const void* pPrefix,
                                      int nPrefix, KVIterator** ppIter) {
  return Guard([&] {
    return NewIterator(pCF ? &pCF->cf : nullptr, pPrefix, nPrefix, true, false,
                       ppIter);
  });
}

int kvstore_reverse_prefix_iterator_create(KVStore* pKV, const void* pPrefix,
                                           int nPrefix, KVIterator** ppIter) {
  return Guard([&] {
    return NewIterator(pKV ? &pKV->default_cf : nullptr, pPrefix, nPrefix, true,
                       true, ppIter);
  });
}

int kvstore_cf_reverse_prefix_iterator_create(KVColumnFamily* pCF,
                                              const void* pPrefix, int nPrefix,
                                              KVIterator** ppIter) {
  return Guard([&] {
    return NewIterator(pCF ? &pCF->cf : nullptr, pPrefix, nPrefix, true, true,
                       ppIter);
  });
}

int kvstore_iterator_first(KVIterator* pIter) {
  if (pIter == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return Code(pIter->it.SeekToFirst()); });
}

int kvstore_iterator_last(KVIterator* pIter) {
  if (pIter == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return Code(pIter->it.SeekToLast()); });
}

int kvstore_iterator_next(KVIterator* pIter) {
  if (pIter == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return Code(pIter->it.Next()); });
}

int kvstore_iterator_prev(KVIterator* pIter) {
  if (pIter == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return Code(pIter->it.Prev()); });
}

int kvstore_iterator_seek(KVIterator* pIter, const void* pKey, int nKey) {
  Slice key;
  if (pIter == nullptr || !ToSlice(pKey, nKey, &key)) return KVSTORE_ERROR;
  return Guard([&] { return Code(pIter->it.Seek(key)); });
}

int kvstore_iterator_eof(KVIterator* pIter) {
  return pIter == nullptr || !pIter->it.Valid() ? 1 : 0;
}

int kvstore_iterator_key(KVIterator* pIter, void** ppKey, int* pnKey) {
  if (pIter == nullptr || ppKey == nullptr || pnKey == nullptr ||
      !pIter->it.Valid()) {
    return KVSTORE_ERROR;
  }
  Slice key = pIter->it.key();
  *ppKey = const_cast<char*>(key.data());
  *pnKey = static_cast<int>(key.size());
  return KVSTORE_OK;
}

int kvstore_iterator_value(KVIterator* pIter, void** ppValue, int* pnValue) {
  if (pIter == nullptr || ppValue == nullptr || pnValue == nullptr ||
      !pIter->it.Valid()) {
    return KVSTORE_ERROR;
  }
  Slice value = pIter->it.value();
  *ppValue = const_cast<char*>(value.data());
  *pnValue = static_cast<int>(value.size());
  return KVSTORE_OK;
}

void kvstore_iterator_close(KVIterator* pIter) {
  delete pIter;  // NOLINT(cppcoreguidelines-owning-memory)
}

// ---- transactions -----------------------------------------------------------

int kvstore_begin(KVStore* pKV, int wrflag) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard([&] {
    return Code(pKV->store.Begin(wrflag ? snkv::TxnMode::kWrite
                                        : snkv::TxnMode::kRead));
  });
}

int kvstore_commit(KVStore* pKV) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return Code(pKV->store.Commit()); });
}

int kvstore_rollback(KVStore* pKV) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return Code(pKV->store.Rollback()); });
}

// ---- TTL --------------------------------------------------------------------

int kvstore_put_ttl(KVStore* pKV, const void* pKey, int nKey,
                    const void* pValue, int nValue, int64_t expire_ms) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard([&] {
    return Put(pKV->default_cf, pKey, nKey, pValue, nValue, expire_ms);
  });
}

int kvstore_get_ttl(KVStore* pKV, const void* pKey, int nKey, void** ppValue,
                    int* pnValue, int64_t* pnRemaining) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard([&] {
    return GetInto(pKV->default_cf, pKey, nKey, ppValue, pnValue, pnRemaining);
  });
}

int kvstore_ttl_remaining(KVStore* pKV, const void* pKey, int nKey,
                          int64_t* pnRemaining) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard(
      [&] { return TtlRemaining(pKV->default_cf, pKey, nKey, pnRemaining); });
}

int kvstore_purge_expired(KVStore* pKV, int* pnDeleted) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return PurgeExpired(pKV->default_cf, pnDeleted); });
}

int kvstore_cf_put_ttl(KVColumnFamily* pCF, const void* pKey, int nKey,
                       const void* pValue, int nValue, int64_t expire_ms) {
  if (pCF == nullptr) return KVSTORE_ERROR;
  return Guard(
      [&] { return Put(pCF->cf, pKey, nKey, pValue, nValue, expire_ms); });
}

int kvstore_cf_get_ttl(KVColumnFamily* pCF, const void* pKey, int nKey,
                       void** ppValue, int* pnValue, int64_t* pnRemaining) {
  if (pCF == nullptr) return KVSTORE_ERROR;
  return Guard([&] {
    return GetInto(pCF->cf, pKey, nKey, ppValue, pnValue, pnRemaining);
  });
}

int kvstore_cf_ttl_remaining(KVColumnFamily* pCF, const void* pKey, int nKey,
                             int64_t* pnRemaining) {
  if (pCF == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return TtlRemaining(pCF->cf, pKey, nKey, pnRemaining); });
}

int kvstore_cf_purge_expired(KVColumnFamily* pCF, int* pnDeleted) {
  if (pCF == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return PurgeExpired(pCF->cf, pnDeleted); });
}

// ---- conditional insert, clear, count ---------------------------------------

int kvstore_put_if_absent(KVStore* pKV, const void* pKey, int nKey,
                          const void* pValue, int nValue, int64_t expire_ms,
                          int* pInserted) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard([&] {
    return PutIfAbsent(pKV->default_cf, pKey, nKey, pValue, nValue, expire_ms,
                       pInserted);
  });
}

int kvstore_cf_put_if_absent(KVColumnFamily* pCF, const void* pKey, int nKey,
                             const void* pValue, int nValue, int64_t expire_ms,
                             int* pInserted) {
  if (pCF == nullptr) return KVSTORE_ERROR;
  return Guard([&] {
    return PutIfAbsent(pCF->cf, pKey, nKey, pValue, nValue, expire_ms,
                       pInserted);
  });
}

int kvstore_clear(KVStore* pKV) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return Code(pKV->default_cf.Clear()); });
}

int kvstore_cf_clear(KVColumnFamily* pCF) {
  if (pCF == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return Code(pCF->cf.Clear()); });
}

int kvstore_count(KVStore* pKV, int64_t* pnCount) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return Count(pKV->default_cf, pnCount); });
}

int kvstore_cf_count(KVColumnFamily* pCF, int64_t* pnCount) {
  if (pCF == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return Count(pCF->cf, pnCount); });
}

// ---- diagnostics and maintenance --------------------------------------------

const char* kvstore_errmsg(KVStore* pKV) {
  if (pKV == nullptr) return g_open_error.c_str();
  return pKV->store.last_error();
}

int kvstore_stats(KVStore* pKV, KVStoreStats* pStats) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  if (pStats == nullptr) {
    return Guard([&] { return Invalid(pKV->store, kNullOutput); });
  }
  return Guard([&] {
    snkv::Stats s;
    Status st = pKV->store.GetStats(&s);
    if (!st.ok()) return Code(st);
    pStats->nPuts = s.puts;
    pStats->nGets = s.gets;
    pStats->nDeletes = s.deletes;
    pStats->nIterations = s.iterations;
    pStats->nErrors = s.errors;
    pStats->nBytesRead = s.bytes_read;
    pStats->nBytesWritten = s.bytes_written;
    pStats->nWalCommits = s.wal_commits;
    pStats->nCheckpoints = s.checkpoints;
    pStats->nTtlExpired = s.ttl_expired;
    pStats->nTtlPurged = s.ttl_purged;
    pStats->nDbPages = s.db_pages;
    return KVSTORE_OK;
  });
}

int kvstore_stats_reset(KVStore* pKV) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return Code(pKV->store.ResetStats()); });
}

int kvstore_integrity_check(KVStore* pKV, char** pzErrMsg) {
  if (pzErrMsg != nullptr) *pzErrMsg = nullptr;
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard([&] {
    std::string problems;
    Status s = pKV->store.IntegrityCheck(&problems);
    if (!s.ok() && pzErrMsg != nullptr) {
      *pzErrMsg = sqlite3_mprintf("%s", s.message().c_str());
    }
    return Code(s);
  });
}

int kvstore_sync(KVStore* pKV) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return Code(pKV->store.Sync()); });
}

int kvstore_incremental_vacuum(KVStore* pKV, int nPage) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard([&] { return Code(pKV->store.IncrementalVacuum(nPage)); });
}

int kvstore_checkpoint(KVStore* pKV, int mode, int* pnLog, int* pnCkpt) {
  if (pKV == nullptr) return KVSTORE_ERROR;
  return Guard([&] {
    snkv::CheckpointResult r;
    Status s =
        pKV->store.Checkpoint(static_cast<snkv::CheckpointMode>(mode), &r);
    if (pnLog) *pnLog = r.log_frames;
    if (pnCkpt) *pnCkpt = r.checkpointed_frames;
    return Code(s);
  });
}

}  // extern "C"
