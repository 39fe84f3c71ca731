// The C API of kvstore_vec.h: argument checks and conversions around
// snkv::VectorStore. No exception leaves these functions (Guard; the
// forced unwind of a thread being ended passes through).
#include "kvstore_vec.h"

#include <cxxabi.h>

#include <cstring>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "snkv/vector.h"

struct KVVecStore {
  snkv::VectorStore vs;
  int dim = 0;
  // The message of an argument error found by this layer, newer than the
  // store's own last error; cleared when the store reports a failure.
  std::mutex mu;
  std::string arg_error;
};

namespace {

using snkv::Slice;
using snkv::Status;

thread_local std::string g_open_error = "not an error";
thread_local std::string g_message;  // what kvstore_vec_errmsg returns

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

bool ToSlice(const void* data, int n, Slice* out) {
  if (n < 0 || (data == nullptr && n > 0)) return false;
  *out = n == 0 ? Slice() : Slice(data, static_cast<size_t>(n));
  return true;
}

// Metadata convention: NULL keeps, (non-NULL, 0) clears, else replaces.
bool ToMeta(const void* data, int n, std::optional<Slice>* out) {
  if (n < 0) return false;
  if (data == nullptr) {
    if (n > 0) return false;
    out->reset();
    return true;
  }
  *out = Slice(data, static_cast<size_t>(n));
  return true;
}

// Copies bytes into a NUL-terminated buffer from SQLite's allocator.
void* CopyBytes(const void* p, size_t n) {
  auto* buf = static_cast<char*>(sqlite3_malloc64(n + 1));
  if (buf == nullptr) return nullptr;
  if (n) std::memcpy(buf, p, n);
  buf[n] = '\0';
  return buf;
}

int Fail(KVVecStore* vs, int code, const char* what) {
  std::lock_guard<std::mutex> lock(vs->mu);
  vs->arg_error = what;
  return code;
}

// The C code of a store call's status; a failure's message becomes the
// handle's last error.
int Rc(KVVecStore* vs, const Status& s) {
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(vs->mu);
    vs->arg_error.clear();
  }
  return s.raw_code();
}

// The checks every single-key read shares: a handle, a valid key and two
// non-NULL output pointers. KVSTORE_OK with *key set, else the error code
// (recorded as the handle's last error when there is a handle).
int CheckRead(KVVecStore* pVS, const void* pKey, int nKey, const void* pOut,
              const int* pnOut, Slice* key) {
  if (pVS == nullptr) return KVSTORE_ERROR;
  if (!ToSlice(pKey, nKey, key)) return Fail(pVS, KVSTORE_ERROR, "invalid key");
  if (pOut == nullptr || pnOut == nullptr) {
    return Fail(pVS, KVSTORE_ERROR, "an output pointer is NULL");
  }
  return KVSTORE_OK;
}

// Hands `bytes` bytes at `data`, `count` items of them, to the caller in a
// buffer it frees with snkv_free: *ppOut and *pnOut are set only on
// success.
int HandOut(const void* data, size_t bytes, size_t count, void** ppOut,
            int* pnOut) {
  void* buf = CopyBytes(data, bytes);
  if (buf == nullptr) return KVSTORE_NOMEM;
  *ppOut = buf;
  *pnOut = static_cast<int>(count);
  return KVSTORE_OK;
}

int SearchImpl(KVVecStore* pVS, const float* pQuery, int top_k, int rerank,
               int oversample, float max_distance, KVVecFilter xFilter,
               void* pCtx, const char* zJson, KVVecSearchResult** ppResults,
               int* pnResults) {
  if (pVS == nullptr) return KVSTORE_ERROR;
  if (ppResults == nullptr || pnResults == nullptr) {
    return Fail(pVS, KVSTORE_ERROR, "an output pointer is NULL");
  }
  if (pQuery == nullptr) return Fail(pVS, KVVEC_BAD_VECTOR, "query is NULL");
  snkv::SearchOptions o;
  o.top_k = top_k;
  o.rerank = rerank != 0;
  o.oversample = oversample;
  o.max_distance = max_distance;
  if (zJson) o.json_filter = std::string(zJson);
  if (xFilter) {
    o.filter = [xFilter, pCtx](Slice key, const Slice* meta) {
      return xFilter(pCtx, key.data(), static_cast<int>(key.size()),
                     meta ? meta->data() : nullptr,
                     meta ? static_cast<int>(meta->size()) : 0) != 0;
    };
  }
  std::vector<snkv::SearchHit> hits;
  Status s = pVS->vs.Search({pQuery, static_cast<size_t>(pVS->dim)}, o, &hits);
  if (!s.ok()) return Rc(pVS, s);
  *ppResults = nullptr;
  *pnResults = 0;
  if (hits.empty()) return KVSTORE_OK;
  auto* out = static_cast<KVVecSearchResult*>(
      sqlite3_malloc64(sizeof(KVVecSearchResult) * hits.size()));
  if (out == nullptr) return KVSTORE_NOMEM;
  std::memset(out, 0, sizeof(KVVecSearchResult) * hits.size());
  for (size_t i = 0; i < hits.size(); ++i) {
    const snkv::SearchHit& h = hits[i];
    out[i].pKey = CopyBytes(h.key.data(), h.key.size());
    out[i].nKey = static_cast<int>(h.key.size());
    out[i].pValue = CopyBytes(h.value.data(), h.value.size());
    out[i].nValue = static_cast<int>(h.value.size());
    out[i].distance = h.distance;
    bool ok = out[i].pKey && out[i].pValue;
    if (h.metadata) {
      out[i].pMetadata = CopyBytes(h.metadata->data(), h.metadata->size());
      out[i].nMetadata = static_cast<int>(h.metadata->size());
      ok = ok && out[i].pMetadata;
    }
    if (!ok) {
      kvstore_vec_free_results(out, static_cast<int>(hits.size()));
      return KVSTORE_NOMEM;
    }
  }
  *ppResults = out;
  *pnResults = static_cast<int>(hits.size());
  return KVSTORE_OK;
}

}  // namespace

extern "C" {

int kvstore_vec_open(const char* zPath, int dim, int space, int connectivity,
                     int expansion_add, int expansion_search, int dtype,
                     const uint8_t* pPassword, int nPassword,
                     KVVecStore** ppVS) {
  return Guard([&] {
    if (ppVS == nullptr) {
      g_open_error = "ppVS is NULL";
      return KVSTORE_ERROR;
    }
    *ppVS = nullptr;
    if (nPassword < 0 || (pPassword == nullptr && nPassword > 0)) {
      g_open_error =
          "invalid password: negative length, or NULL with a positive length";
      return KVSTORE_ERROR;
    }
    snkv::VectorOptions o;
    o.dim = dim;
    o.space = static_cast<snkv::VectorSpace>(space);
    o.dtype = static_cast<snkv::VectorDType>(dtype);
    o.connectivity = connectivity;
    o.expansion_add = expansion_add;
    o.expansion_search = expansion_search;
    if (pPassword) {
      o.password = std::string(reinterpret_cast<const char*>(pPassword),
                               static_cast<size_t>(nPassword));
    }
    auto handle = std::make_unique<KVVecStore>();
    Status s =
        snkv::VectorStore::Open(zPath ? zPath : ":memory:", o, &handle->vs);
    if (!s.ok()) {
      g_open_error = s.message();
      return s.raw_code();
    }
    handle->dim = dim;
    *ppVS = handle.release();
    return KVSTORE_OK;
  });
}

void kvstore_vec_close(KVVecStore* pVS) {
  if (pVS == nullptr) return;
  (void)Guard([&] {
    (void)pVS->vs.Close();
    return 0;
  });
  // Still open: called from inside one of its own search filters, where
  // the search is still using the handle. Ignored (kvstore_vec_errmsg
  // says why); the handle stays valid.
  if (pVS->vs.is_open()) return;
  delete pVS;
}

int kvstore_vec_put(KVVecStore* pVS, const void* pKey, int nKey,
                    const void* pVal, int nVal, const float* pVec,
                    int64_t expire_ms, const void* pMeta, int nMeta) {
  return Guard([&] {
    if (pVS == nullptr) return KVSTORE_ERROR;
    Slice key, val;
    std::optional<Slice> meta;
    if (!ToSlice(pKey, nKey, &key))
      return Fail(pVS, KVSTORE_ERROR, "invalid key");
    if (!ToSlice(pVal, nVal, &val))
      return Fail(pVS, KVSTORE_ERROR, "invalid value");
    if (!ToMeta(pMeta, nMeta, &meta))
      return Fail(pVS, KVSTORE_ERROR, "invalid metadata");
    if (pVec == nullptr) return Fail(pVS, KVVEC_BAD_VECTOR, "vector is NULL");
    return Rc(pVS, pVS->vs.Put(key, val, {pVec, static_cast<size_t>(pVS->dim)},
                               expire_ms, meta));
  });
}

int kvstore_vec_put_batch(KVVecStore* pVS, const KVVecItem* pItems, int nItems,
                          int64_t expire_ms) {
  return Guard([&] {
    if (pVS == nullptr) return KVSTORE_ERROR;
    if (nItems < 0 || (pItems == nullptr && nItems > 0)) {
      return Fail(pVS, KVSTORE_ERROR, "invalid item array");
    }
    std::vector<snkv::VectorItem> items(static_cast<size_t>(nItems));
    for (int i = 0; i < nItems; ++i) {
      const KVVecItem& in = pItems[i];
      snkv::VectorItem& out = items[static_cast<size_t>(i)];
      if (!ToSlice(in.pKey, in.nKey, &out.key))
        return Fail(pVS, KVSTORE_ERROR, "invalid key");
      if (!ToSlice(in.pVal, in.nVal, &out.value)) {
        return Fail(pVS, KVSTORE_ERROR, "invalid value");
      }
      if (!ToMeta(in.pMeta, in.nMeta, &out.metadata)) {
        return Fail(pVS, KVSTORE_ERROR, "invalid metadata");
      }
      out.vector = in.pVec;  // NULL is reported as KVVEC_BAD_VECTOR
    }
    return Rc(pVS, pVS->vs.PutBatch(items, expire_ms));
  });
}

int kvstore_vec_kv_put(KVVecStore* pVS, const void* pKey, int nKey,
                       const void* pVal, int nVal) {
  return Guard([&] {
    if (pVS == nullptr) return KVSTORE_ERROR;
    Slice key, val;
    if (!ToSlice(pKey, nKey, &key))
      return Fail(pVS, KVSTORE_ERROR, "invalid key");
    if (!ToSlice(pVal, nVal, &val))
      return Fail(pVS, KVSTORE_ERROR, "invalid value");
    return Rc(pVS, pVS->vs.KvPut(key, val));
  });
}

int kvstore_vec_get(KVVecStore* pVS, const void* pKey, int nKey, void** ppVal,
                    int* pnVal) {
  return Guard([&] {
    Slice key;
    const int rc = CheckRead(pVS, pKey, nKey, ppVal, pnVal, &key);
    if (rc != KVSTORE_OK) return rc;
    std::string v;
    Status s = pVS->vs.Get(key, &v);
    if (!s.ok()) return Rc(pVS, s);
    return HandOut(v.data(), v.size(), v.size(), ppVal, pnVal);
  });
}

int kvstore_vec_get_vector(KVVecStore* pVS, const void* pKey, int nKey,
                           float** ppVec, int* pnFloats) {
  return Guard([&] {
    Slice key;
    const int rc = CheckRead(pVS, pKey, nKey, ppVec, pnFloats, &key);
    if (rc != KVSTORE_OK) return rc;
    std::vector<float> v;
    Status s = pVS->vs.GetVector(key, &v);
    if (!s.ok()) return Rc(pVS, s);
    void* buf = nullptr;
    const int out =
        HandOut(v.data(), v.size() * sizeof(float), v.size(), &buf, pnFloats);
    if (out == KVSTORE_OK) *ppVec = static_cast<float*>(buf);
    return out;
  });
}

int kvstore_vec_get_metadata(KVVecStore* pVS, const void* pKey, int nKey,
                             void** ppMeta, int* pnMeta) {
  return Guard([&] {
    Slice key;
    const int rc = CheckRead(pVS, pKey, nKey, ppMeta, pnMeta, &key);
    if (rc != KVSTORE_OK) return rc;
    *ppMeta = nullptr;
    *pnMeta = 0;
    std::optional<std::string> m;
    Status s = pVS->vs.GetMetadata(key, &m);
    if (!s.ok()) return Rc(pVS, s);
    if (!m) return KVSTORE_OK;
    return HandOut(m->data(), m->size(), m->size(), ppMeta, pnMeta);
  });
}

int kvstore_vec_contains(KVVecStore* pVS, const void* pKey, int nKey) {
  return Guard([&] {
    Slice key;
    if (pVS == nullptr || !ToSlice(pKey, nKey, &key)) return 0;
    bool yes = false;
    return pVS->vs.Contains(key, &yes).ok() && yes ? 1 : 0;
  });
}

int64_t kvstore_vec_count(KVVecStore* pVS) {
  int64_t n = 0;
  (void)Guard([&] {
    if (pVS == nullptr || !pVS->vs.Count(&n).ok()) n = 0;
    return 0;
  });
  return n;
}

int kvstore_vec_delete(KVVecStore* pVS, const void* pKey, int nKey) {
  return Guard([&] {
    if (pVS == nullptr) return KVSTORE_ERROR;
    Slice key;
    if (!ToSlice(pKey, nKey, &key))
      return Fail(pVS, KVSTORE_ERROR, "invalid key");
    return Rc(pVS, pVS->vs.Delete(key));
  });
}

int kvstore_vec_search(KVVecStore* pVS, const float* pQuery, int top_k,
                       int rerank, int oversample, float max_distance,
                       KVVecSearchResult** ppResults, int* pnResults) {
  return Guard([&] {
    return SearchImpl(pVS, pQuery, top_k, rerank, oversample, max_distance,
                      nullptr, nullptr, nullptr, ppResults, pnResults);
  });
}

int kvstore_vec_search_filtered(KVVecStore* pVS, const float* pQuery, int top_k,
                                int rerank, int oversample, float max_distance,
                                KVVecFilter xFilter, void* pCtx,
                                const char* zJsonFilter,
                                KVVecSearchResult** ppResults, int* pnResults) {
  return Guard([&] {
    return SearchImpl(pVS, pQuery, top_k, rerank, oversample, max_distance,
                      xFilter, pCtx, zJsonFilter, ppResults, pnResults);
  });
}

int kvstore_vec_search_keys(KVVecStore* pVS, const float* pQuery, int top_k,
                            KVVecKeyResult** ppResults, int* pnResults) {
  return Guard([&] {
    if (pVS == nullptr) return KVSTORE_ERROR;
    if (ppResults == nullptr || pnResults == nullptr) {
      return Fail(pVS, KVSTORE_ERROR, "an output pointer is NULL");
    }
    if (pQuery == nullptr) return Fail(pVS, KVVEC_BAD_VECTOR, "query is NULL");
    snkv::SearchOptions o;
    o.top_k = top_k;
    std::vector<snkv::KeyHit> hits;
    Status s =
        pVS->vs.SearchKeys({pQuery, static_cast<size_t>(pVS->dim)}, o, &hits);
    if (!s.ok()) return Rc(pVS, s);
    *ppResults = nullptr;
    *pnResults = 0;
    if (hits.empty()) return KVSTORE_OK;
    auto* out = static_cast<KVVecKeyResult*>(
        sqlite3_malloc64(sizeof(KVVecKeyResult) * hits.size()));
    if (out == nullptr) return KVSTORE_NOMEM;
    std::memset(out, 0, sizeof(KVVecKeyResult) * hits.size());
    for (size_t i = 0; i < hits.size(); ++i) {
      out[i].pKey = CopyBytes(hits[i].key.data(), hits[i].key.size());
      out[i].nKey = static_cast<int>(hits[i].key.size());
      out[i].distance = hits[i].distance;
      if (out[i].pKey == nullptr) {
        kvstore_vec_free_key_results(out, static_cast<int>(hits.size()));
        return KVSTORE_NOMEM;
      }
    }
    *ppResults = out;
    *pnResults = static_cast<int>(hits.size());
    return KVSTORE_OK;
  });
}

void kvstore_vec_free_results(KVVecSearchResult* pResults, int nResults) {
  if (pResults == nullptr) return;
  for (int i = 0; i < nResults; ++i) {
    sqlite3_free(pResults[i].pKey);
    sqlite3_free(pResults[i].pValue);
    sqlite3_free(pResults[i].pMetadata);
  }
  sqlite3_free(pResults);
}

void kvstore_vec_free_key_results(KVVecKeyResult* pResults, int nResults) {
  if (pResults == nullptr) return;
  for (int i = 0; i < nResults; ++i) sqlite3_free(pResults[i].pKey);
  sqlite3_free(pResults);
}

int kvstore_vec_stats(KVVecStore* pVS, KVVecStats* pStats) {
  return Guard([&] {
    if (pVS == nullptr || pStats == nullptr) return KVSTORE_ERROR;
    snkv::VectorStats st;
    Status s = pVS->vs.GetStats(&st);
    if (!s.ok()) return Rc(pVS, s);
    pStats->dim = st.dim;
    pStats->space = static_cast<int>(st.space);
    pStats->dtype = static_cast<int>(st.dtype);
    pStats->connectivity = st.connectivity;
    pStats->expansion_add = st.expansion_add;
    pStats->expansion_search = st.expansion_search;
    pStats->count = st.count;
    pStats->capacity = st.capacity;
    pStats->fill_ratio = st.fill_ratio;
    pStats->vec_cf_count = st.vec_cf_count;
    pStats->has_metadata = st.has_metadata ? 1 : 0;
    pStats->sidecar_enabled = st.sidecar_enabled ? 1 : 0;
    return KVSTORE_OK;
  });
}

int kvstore_vec_purge_expired(KVVecStore* pVS, int* pnDeleted) {
  return Guard([&] {
    if (pVS == nullptr) return KVSTORE_ERROR;
    int64_t n = 0;
    Status s = pVS->vs.PurgeExpired(&n);
    if (!s.ok()) return Rc(pVS, s);
    if (pnDeleted) *pnDeleted = static_cast<int>(n);
    return KVSTORE_OK;
  });
}

int kvstore_vec_drop_index(KVVecStore* pVS) {
  return Guard([&] {
    if (pVS == nullptr) return KVSTORE_ERROR;
    return Rc(pVS, pVS->vs.DropIndex());
  });
}

const char* kvstore_vec_errmsg(KVVecStore* pVS) {
  try {
    if (pVS == nullptr) return g_open_error.c_str();
    {
      std::lock_guard<std::mutex> lock(pVS->mu);
      g_message = pVS->arg_error;
    }
    if (g_message.empty()) g_message = pVS->vs.last_error();
    return g_message.c_str();
  } catch (...) {
    return "out of memory";
  }
}

}  // extern "C"
