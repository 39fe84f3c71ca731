/*
** kvstore_vec.h -- the snkv vector store, C API.
**
** A KVVecStore is a key-value store whose keys may carry a float32 vector
** (and JSON metadata), with an HNSW index for nearest-neighbour search, all
** in one database file. The conventions of kvstore.h hold here too: calls
** return KVSTORE_* / KVVEC_* codes, (pointer, length) pairs with negative
** lengths are invalid, returned buffers are freed with snkv_free() unless
** a function says otherwise, and a handle may be shared between threads
** (searches run in parallel).
**
** Searches are fresh: each one first applies what other handles and
** processes committed since (a change log in the file), never a rebuild.
** An unencrypted file-backed store keeps its index in a sidecar file,
** "<path>.snkv-vec", checked against the database on open.
*/
#ifndef SNKV_KVSTORE_VEC_H
#define SNKV_KVSTORE_VEC_H

#include "kvstore.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct KVVecStore KVVecStore;

/* Distance spaces. L2 is the squared Euclidean distance. */
#define KVVEC_SPACE_L2 0
#define KVVEC_SPACE_COSINE 1 /* 1 - cosine similarity */
#define KVVEC_SPACE_IP 2     /* negative dot product */

/* Precision of the in-memory index; the file always keeps float32. */
#define KVVEC_DTYPE_F32 0
#define KVVEC_DTYPE_F16 1
#define KVVEC_DTYPE_I8 2

/* Error codes beyond kvstore.h's. */
#define KVVEC_DIM_MISMATCH 20   /* existing store has another dim */
#define KVVEC_DTYPE_MISMATCH 21 /* existing store has another dtype */
#define KVVEC_SPACE_MISMATCH 22 /* existing store has another space */
#define KVVEC_INDEX_DROPPED 23  /* kvstore_vec_drop_index was called */
#define KVVEC_INDEX_EMPTY 24    /* no vector to search */
#define KVVEC_BAD_VECTOR 25     /* NULL, NaN, inf, or unrepresentable */

/* One hit of kvstore_vec_search. pMetadata is NULL when the item has none.
** Free the whole array with kvstore_vec_free_results. */
typedef struct KVVecSearchResult {
  void *pKey;
  int nKey;
  void *pValue;
  int nValue;
  float distance;
  void *pMetadata;
  int nMetadata;
} KVVecSearchResult;

/* One hit of kvstore_vec_search_keys; free with kvstore_vec_free_key_results. */
typedef struct KVVecKeyResult {
  void *pKey;
  int nKey;
  float distance;
} KVVecKeyResult;

/* Filled by kvstore_vec_stats. After kvstore_vec_drop_index (by any handle)
 * every field but sidecar_enabled is 0: there is no index to describe. */
typedef struct KVVecStats {
  int dim;
  int space;
  int dtype;
  int connectivity;
  int expansion_add;
  int expansion_search;
  int64_t count;        /* vectors in the index (expired included) */
  int64_t capacity;     /* slots allocated in the graph */
  double fill_ratio;    /* count / capacity */
  int64_t vec_cf_count; /* rows of the vector table (expired included) */
  int has_metadata;     /* the metadata table exists */
  int sidecar_enabled;  /* unencrypted and file-backed */
} KVVecStats;

/* One item of kvstore_vec_put_batch. Metadata as in kvstore_vec_put. */
typedef struct KVVecItem {
  const void *pKey;
  int nKey;
  const void *pVal;
  int nVal;
  const float *pVec; /* dim floats */
  const void *pMeta;
  int nMeta;
} KVVecItem;

/* Filter of kvstore_vec_search_filtered: non-zero keeps the item. pMeta is
** NULL when the item has no metadata. Called during the search, from the
** searching thread, with the index locked: it must not call pVS. If it
** does, the call fails with KVSTORE_ERROR ("store used from inside a
** search filter") and changes nothing (kvstore_vec_close is ignored);
** other stores may be used freely. Nor may it wait for another thread
** that writes to pVS: that write waits for the search to end, so the two
** would wait for each other (reads from other threads are fine). A filter
** may end its thread (pthread_exit, or a cancellation at a cancellation
** point inside it): the search never returns, gives back its locks on the
** way out, and the store stays usable from other threads. */
typedef int (*KVVecFilter)(void *pCtx, const void *pKey, int nKey,
                           const void *pMeta, int nMeta);

/* Opens or creates a vector store (zPath NULL or ":memory:" = in memory).
** 0 for connectivity / expansion_add / expansion_search picks 16 / 128 /
** the stored value (64 for a new store); connectivity 1 is raised to 2
** (HNSW's least). dim, space and dtype of an
** existing store must match (KVVEC_*_MISMATCH). pPassword != NULL opens an
** encrypted store (no sidecar then). *ppVS is NULL on error. */
int kvstore_vec_open(const char *zPath, int dim, int space, int connectivity,
                     int expansion_add, int expansion_search, int dtype,
                     const uint8_t *pPassword, int nPassword,
                     KVVecStore **ppVS);
/* Saves the sidecar (when enabled) and closes. NULL is a no-op. A sidecar
** that cannot be written is skipped (the next open rebuilds the index from
** the tables): closing never fails or loses data because of it. */
void kvstore_vec_close(KVVecStore *pVS);

/* Inserts or replaces key's value and vector (dim floats) in one
** transaction. expire_ms: absolute ms since the epoch, 0 = never.
** Metadata: pMeta NULL keeps the stored one (none when the key had no
** live item: an expired item's metadata is not inherited); pMeta non-NULL
** with nMeta 0 clears it; otherwise it must be JSON and replaces it.
** KVVEC_BAD_VECTOR, changing nothing, for a vector the index cannot hold:
** NaN or infinite values; a squared length above 2^124 (its distances
** would overflow float32); in the cosine space a length below 2^-30 (zero
** has no direction); in an f16 index (l2, ip) a value beyond +-65504, the
** largest half (cosine normalises first, so any length fits). Queries are
** checked the same way, except for the f16 range: they stay float32. */
int kvstore_vec_put(KVVecStore *pVS, const void *pKey, int nKey,
                    const void *pVal, int nVal, const float *pVec,
                    int64_t expire_ms, const void *pMeta, int nMeta);
/* nItems items in one transaction; the last item of a duplicated key wins;
** one bad vector fails the batch and writes nothing. */
int kvstore_vec_put_batch(KVVecStore *pVS, const KVVecItem *pItems,
                          int nItems, int64_t expire_ms);
/* A plain key-value write that leaves the index alone. */
int kvstore_vec_kv_put(KVVecStore *pVS, const void *pKey, int nKey,
                       const void *pVal, int nVal);

int kvstore_vec_get(KVVecStore *pVS, const void *pKey, int nKey, void **ppVal,
                    int *pnVal);
/* *ppVec: dim floats (snkv_free it); *pnFloats = dim. */
int kvstore_vec_get_vector(KVVecStore *pVS, const void *pKey, int nKey,
                           float **ppVec, int *pnFloats);
/* KVSTORE_OK with *ppMeta NULL when no metadata was ever written to this
** store; KVSTORE_NOTFOUND with *ppMeta NULL when the key has none. */
int kvstore_vec_get_metadata(KVVecStore *pVS, const void *pKey, int nKey,
                             void **ppMeta, int *pnMeta);
/* 1 if the key exists and has not expired, else 0 (also on errors). */
int kvstore_vec_contains(KVVecStore *pVS, const void *pKey, int nKey);
/* Vectors in the index (expired but unpurged included); 0 on errors. */
int64_t kvstore_vec_count(KVVecStore *pVS);
/* Removes key's value, vector and metadata. KVSTORE_NOTFOUND if absent. */
int kvstore_vec_delete(KVVecStore *pVS, const void *pKey, int nKey);

/* The top_k nearest items to pQuery (dim floats). rerank 1 re-scores
** top_k * oversample candidates (oversample 0 = 3) with the float32
** vectors; max_distance 0 = no limit. Fewer hits than top_k is normal.
** KVVEC_INDEX_EMPTY / KVVEC_INDEX_DROPPED when there is nothing to search.
** *ppResults is NULL when *pnResults is 0. */
int kvstore_vec_search(KVVecStore *pVS, const float *pQuery, int top_k,
                       int rerank, int oversample, float max_distance,
                       KVVecSearchResult **ppResults, int *pnResults);
/* As kvstore_vec_search, keeping only items accepted by xFilter (may be
** NULL) and matching zJsonFilter (may be NULL), a JSON object whose every
** field must equal the item's metadata field, e.g. {"tag":"ai"}. Returns
** top_k hits whenever at least top_k stored items match. */
int kvstore_vec_search_filtered(KVVecStore *pVS, const float *pQuery,
                                int top_k, int rerank, int oversample,
                                float max_distance, KVVecFilter xFilter,
                                void *pCtx, const char *zJsonFilter,
                                KVVecSearchResult **ppResults,
                                int *pnResults);
int kvstore_vec_search_keys(KVVecStore *pVS, const float *pQuery, int top_k,
                            KVVecKeyResult **ppResults, int *pnResults);
void kvstore_vec_free_results(KVVecSearchResult *pResults, int nResults);
void kvstore_vec_free_key_results(KVVecKeyResult *pResults, int nResults);

/* Always KVSTORE_OK for a valid handle and pStats. */
int kvstore_vec_stats(KVVecStore *pVS, KVVecStats *pStats);
/* Deletes every expired vector with its value and metadata, in one
** transaction; *pnDeleted (may be NULL) = how many. */
int kvstore_vec_purge_expired(KVVecStore *pVS, int *pnDeleted);
/* Drops the vector tables, the index and the sidecar; values stay. The
** drop is permanent: every handle, and the store reopened later, reports
** KVVEC_INDEX_DROPPED for vector calls (the file keeps a marker). */
int kvstore_vec_drop_index(KVVecStore *pVS);
/* The last error on pVS, or of the last failed kvstore_vec_open in this
** thread when pVS is NULL. Valid until the next call in this thread. */
const char *kvstore_vec_errmsg(KVVecStore *pVS);

#ifdef __cplusplus
}
#endif

#endif /* SNKV_KVSTORE_VEC_H */
