/*
** vector_store.c -- the vector store's C API as the reference documents it:
** open, put with metadata, put_batch, TTL and purge, search (plain,
** reranked, filtered), search_keys, stats, mismatch codes on reopen, and
** drop_index keeping the key-value data.
*/
#include <kvstore_vec.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_FILE "vector_store.db"
#define DIM 128

static void remove_db_files(void) {
  remove(DB_FILE);
  remove(DB_FILE "-wal");
  remove(DB_FILE "-shm");
  remove(DB_FILE ".snkv-vec");
}

static int failures = 0;
#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,     \
              #cond);                                                      \
      failures++;                                                          \
    }                                                                      \
  } while (0)
#define REQUIRE_OK(expr)                                                   \
  do {                                                                     \
    int rc_ = (expr);                                                      \
    if (rc_ != KVSTORE_OK) {                                               \
      fprintf(stderr, "%s:%d: %s returned %d\n", __FILE__, __LINE__,       \
              #expr, rc_);                                                 \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

/* A deterministic vector: a bump centred on `centre`. */
static void make_vec(float *v, int centre) {
  int i;
  for (i = 0; i < DIM; i++) {
    int d = i - centre;
    v[i] = 1.0f / (1.0f + (float)(d * d) / 4.0f) + 0.01f;
  }
}

/* Our JSON-free callback filter: keep keys that start with "doc:". */
static int only_docs(void *ctx, const void *pKey, int nKey, const void *pMeta,
                     int nMeta) {
  (void)ctx;
  (void)pMeta;
  (void)nMeta;
  return nKey >= 4 && memcmp(pKey, "doc:", 4) == 0;
}

int main(void) {
  KVVecStore *vs = NULL;
  float vec[DIM], vec1[DIM], vec2[DIM], vec3[DIM], q[DIM];
  int rc, n = 0, i;
  KVVecSearchResult *res = NULL;
  KVVecKeyResult *keys = NULL;
  KVVecStats st;
  void *v = NULL, *meta = NULL;
  int nv = 0, nmeta = 0;
  static const char meta3[] = "{\"tag\":\"ml\"}";

  remove_db_files();

  /* Open (the reference's snippet). */
  rc = kvstore_vec_open(DB_FILE, DIM, KVVEC_SPACE_COSINE, 0, 0, 0, /* defaults */
                        KVVEC_DTYPE_F32, NULL, 0, /* plain (unencrypted) */
                        &vs);
  if (rc == KVVEC_DIM_MISMATCH) puts("wrong dim for existing store");
  REQUIRE_OK(rc);

  /* Put with metadata. */
  make_vec(vec, 10);
  REQUIRE_OK(kvstore_vec_put(vs, "doc:1", 5, "hello", 5, vec, 0, /* no TTL */
                             "{\"tag\":\"ai\"}", 12));              /* metadata */

  /* A batch of three, the third with metadata. */
  make_vec(vec1, 40);
  make_vec(vec2, 70);
  make_vec(vec3, 100);
  {
    KVVecItem items[3] = {
        {"k1", 2, "val1", 4, vec1, NULL, 0},
        {"k2", 2, "val2", 4, vec2, NULL, 0},
        {"k3", 2, "val3", 4, vec3, meta3, (int)strlen(meta3)},
    };
    REQUIRE_OK(kvstore_vec_put_batch(vs, items, 3, 0));
  }
  CHECK(kvstore_vec_count(vs) == 4);

  /* A session that expires in 60 s, and one that has already expired. */
  {
    int64_t exp = kvstore_now_ms() + 60000;
    int nPurged = -1;
    make_vec(vec, 120);
    REQUIRE_OK(kvstore_vec_put(vs, "sess:abc", 8, "tok", 3, vec, exp, NULL, 0));
    REQUIRE_OK(kvstore_vec_put(vs, "sess:old", 8, "tok", 3, vec, kvstore_now_ms() - 1,
                               NULL, 0));
    REQUIRE_OK(kvstore_vec_purge_expired(vs, &nPurged));
    CHECK(nPurged == 1);
    CHECK(kvstore_vec_contains(vs, "sess:abc", 8) == 1);
    CHECK(kvstore_vec_contains(vs, "sess:old", 8) == 0);
  }

  /* Nearest to a bump at 41: k1 first. */
  make_vec(q, 41);
  REQUIRE_OK(kvstore_vec_search(vs, q, 3, 0, 0, 0.0f, &res, &n));
  CHECK(n == 3);
  CHECK(n > 0 && res[0].nKey == 2 && memcmp(res[0].pKey, "k1", 2) == 0);
  CHECK(n > 0 && res[0].nValue == 4 && memcmp(res[0].pValue, "val1", 4) == 0);
  CHECK(n > 0 && res[0].pMetadata == NULL);
  for (i = 1; i < n; i++) CHECK(res[i - 1].distance <= res[i].distance);
  kvstore_vec_free_results(res, n);

  /* Reranked with exact float32 distances, at most 0.5 away. */
  REQUIRE_OK(kvstore_vec_search(vs, q, 5, 1, 4, 0.5f, &res, &n));
  CHECK(n == 1);
  kvstore_vec_free_results(res, n);

  /* Filters: metadata field equality, and a callback. */
  REQUIRE_OK(kvstore_vec_search_filtered(vs, q, 5, 0, 0, 0.0f, NULL, NULL,
                                         "{\"tag\":\"ml\"}", &res, &n));
  CHECK(n == 1 && memcmp(res[0].pKey, "k3", 2) == 0);
  CHECK(n == 1 && res[0].nMetadata == (int)strlen(meta3) &&
        memcmp(res[0].pMetadata, meta3, strlen(meta3)) == 0);
  kvstore_vec_free_results(res, n);
  REQUIRE_OK(kvstore_vec_search_filtered(vs, q, 5, 0, 0, 0.0f, only_docs, NULL, NULL,
                                         &res, &n));
  CHECK(n == 1 && memcmp(res[0].pKey, "doc:1", 5) == 0);
  kvstore_vec_free_results(res, n);

  REQUIRE_OK(kvstore_vec_search_keys(vs, q, 2, &keys, &n));
  CHECK(n == 2 && keys[0].nKey == 2 && memcmp(keys[0].pKey, "k1", 2) == 0);
  kvstore_vec_free_key_results(keys, n);

  /* Metadata and the stored vector. */
  REQUIRE_OK(kvstore_vec_get_metadata(vs, "doc:1", 5, &meta, &nmeta));
  CHECK(nmeta == 12 && memcmp(meta, "{\"tag\":\"ai\"}", 12) == 0);
  snkv_free(meta);
  CHECK(kvstore_vec_get_metadata(vs, "k1", 2, &meta, &nmeta) == KVSTORE_NOTFOUND);
  {
    float *got = NULL;
    int nf = 0;
    REQUIRE_OK(kvstore_vec_get_vector(vs, "k2", 2, &got, &nf));
    CHECK(nf == DIM && memcmp(got, vec2, sizeof vec2) == 0);
    snkv_free(got);
  }

  REQUIRE_OK(kvstore_vec_stats(vs, &st));
  CHECK(st.dim == DIM && st.space == KVVEC_SPACE_COSINE && st.dtype == KVVEC_DTYPE_F32);
  CHECK(st.connectivity == 16 && st.expansion_add == 128 && st.expansion_search == 64);
  CHECK(st.count == 5 && st.vec_cf_count == 5 && st.has_metadata == 1);
  CHECK(st.sidecar_enabled == 1 && st.fill_ratio > 0.0 && st.fill_ratio <= 1.0);
  printf("vectors: %lld, capacity %lld\n", (long long)st.count, (long long)st.capacity);

  REQUIRE_OK(kvstore_vec_kv_put(vs, "config", 6, "x", 1));
  kvstore_vec_close(vs);

  /* Reopen: wrong dim / space / dtype are refused. */
  CHECK(kvstore_vec_open(DB_FILE, 64, KVVEC_SPACE_COSINE, 0, 0, 0, KVVEC_DTYPE_F32,
                         NULL, 0, &vs) == KVVEC_DIM_MISMATCH);
  CHECK(vs == NULL);
  CHECK(kvstore_vec_open(DB_FILE, DIM, KVVEC_SPACE_L2, 0, 0, 0, KVVEC_DTYPE_F32,
                         NULL, 0, &vs) == KVVEC_SPACE_MISMATCH);
  CHECK(kvstore_vec_open(DB_FILE, DIM, KVVEC_SPACE_COSINE, 0, 0, 0, KVVEC_DTYPE_I8,
                         NULL, 0, &vs) == KVVEC_DTYPE_MISMATCH);
  REQUIRE_OK(kvstore_vec_open(DB_FILE, DIM, KVVEC_SPACE_COSINE, 0, 0, 0,
                              KVVEC_DTYPE_F32, NULL, 0, &vs));
  CHECK(kvstore_vec_count(vs) == 5);

  /* Drop the index: values stay. */
  REQUIRE_OK(kvstore_vec_drop_index(vs)); /* index gone, KV intact */
  REQUIRE_OK(kvstore_vec_get(vs, "doc:1", 5, &v, &nv)); /* still works */
  CHECK(nv == 5 && memcmp(v, "hello", 5) == 0);
  snkv_free(v);
  CHECK(kvstore_vec_search(vs, q, 3, 0, 0, 0.0f, &res, &n) == KVVEC_INDEX_DROPPED);
  kvstore_vec_close(vs);

  remove_db_files();
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  puts("vector_store: all checks passed");
  return 0;
}
