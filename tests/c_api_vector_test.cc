// The vector store's C API (kvstore_vec.h): every function's results and
// error paths (NULL handles and outputs, negative lengths, bad vectors,
// mismatched reopen, dropped and empty indexes, encrypted stores), and the
// result structs' layout as the reference declares it.
#include <gtest/gtest.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kvstore_vec.h"
#include "test_util.h"

namespace {

constexpr int kDim = 4;

// Field order of the reference's structs (the addendum).
static_assert(offsetof(KVVecSearchResult, pKey) <
              offsetof(KVVecSearchResult, nKey));
static_assert(offsetof(KVVecSearchResult, nKey) <
              offsetof(KVVecSearchResult, pValue));
static_assert(offsetof(KVVecSearchResult, nValue) <
              offsetof(KVVecSearchResult, distance));
static_assert(offsetof(KVVecSearchResult, distance) <
              offsetof(KVVecSearchResult, pMetadata));
static_assert(offsetof(KVVecSearchResult, pMetadata) <
              offsetof(KVVecSearchResult, nMetadata));
static_assert(offsetof(KVVecKeyResult, nKey) <
              offsetof(KVVecKeyResult, distance));
static_assert(offsetof(KVVecStats, expansion_search) <
              offsetof(KVVecStats, count));
static_assert(offsetof(KVVecStats, fill_ratio) <
              offsetof(KVVecStats, vec_cf_count));
static_assert(offsetof(KVVecStats, has_metadata) <
              offsetof(KVVecStats, sidecar_enabled));
static_assert(offsetof(KVVecItem, pVec) < offsetof(KVVecItem, pMeta));
static_assert(KVVEC_DIM_MISMATCH == 20 && KVVEC_BAD_VECTOR == 25);

class CApiVector : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("c.db");
    ASSERT_EQ(kvstore_vec_open(path_.c_str(), kDim, KVVEC_SPACE_L2, 0, 0, 0,
                               KVVEC_DTYPE_F32, nullptr, 0, &vs_),
              KVSTORE_OK);
  }
  void TearDown() override { kvstore_vec_close(vs_); }

  snkv::test::TempDir dir_;
  std::string path_;
  KVVecStore* vs_ = nullptr;
  float v1_[kDim] = {1, 0, 0, 0};
  float v2_[kDim] = {0, 1, 0, 0};
};

TEST_F(CApiVector, NullHandleEverywhere) {
  void* p = nullptr;
  int n = 0;
  float* f = nullptr;
  KVVecSearchResult* r = nullptr;
  KVVecKeyResult* k = nullptr;
  KVVecStats st;
  EXPECT_EQ(kvstore_vec_put(nullptr, "a", 1, "b", 1, v1_, 0, nullptr, 0),
            KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_put_batch(nullptr, nullptr, 0, 0), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_kv_put(nullptr, "a", 1, "b", 1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_get(nullptr, "a", 1, &p, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_get_vector(nullptr, "a", 1, &f, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_get_metadata(nullptr, "a", 1, &p, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_contains(nullptr, "a", 1), 0);
  EXPECT_EQ(kvstore_vec_count(nullptr), 0);
  EXPECT_EQ(kvstore_vec_delete(nullptr, "a", 1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_search(nullptr, v1_, 1, 0, 0, 0, &r, &n),
            KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_search_filtered(nullptr, v1_, 1, 0, 0, 0, nullptr,
                                        nullptr, nullptr, &r, &n),
            KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_search_keys(nullptr, v1_, 1, &k, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_stats(nullptr, &st), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_purge_expired(nullptr, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_drop_index(nullptr), KVSTORE_ERROR);
  kvstore_vec_close(nullptr);
  kvstore_vec_free_results(nullptr, 5);
  kvstore_vec_free_key_results(nullptr, 5);
  EXPECT_NE(kvstore_vec_errmsg(nullptr), nullptr);
}

TEST_F(CApiVector, BadArguments) {
  void* p = nullptr;
  int n = 0;
  EXPECT_EQ(kvstore_vec_put(vs_, "a", -1, "b", 1, v1_, 0, nullptr, 0),
            KVSTORE_ERROR);
  EXPECT_STRNE(kvstore_vec_errmsg(vs_), "not an error");
  EXPECT_EQ(kvstore_vec_put(vs_, nullptr, 3, "b", 1, v1_, 0, nullptr, 0),
            KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_put(vs_, "a", 1, "b", -2, v1_, 0, nullptr, 0),
            KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_put(vs_, "a", 1, "b", 1, v1_, 0, "{}", -1),
            KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_put(vs_, "a", 1, "b", 1, nullptr, 0, nullptr, 0),
            KVVEC_BAD_VECTOR);
  float nan_vec[kDim] = {1, NAN, 0, 0};
  EXPECT_EQ(kvstore_vec_put(vs_, "a", 1, "b", 1, nan_vec, 0, nullptr, 0),
            KVVEC_BAD_VECTOR);
  EXPECT_NE(std::string(kvstore_vec_errmsg(vs_)).find("NaN"),
            std::string::npos);
  EXPECT_EQ(kvstore_vec_put(vs_, "a", 1, "b", 1, v1_, 0, "{bad", 4),
            KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_put(vs_, "a", 1, "b", 1, v1_, -7, nullptr, 0),
            KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_put_batch(vs_, nullptr, 2, 0), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_put_batch(vs_, nullptr, -1, 0), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_put_batch(vs_, nullptr, 0, 0), KVSTORE_OK);
  EXPECT_EQ(kvstore_vec_get(vs_, "a", 1, nullptr, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_get(vs_, "a", -1, &p, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_get_metadata(vs_, "a", 1, &p, nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_get_vector(vs_, "a", 1, nullptr, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_delete(vs_, "a", -1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_contains(vs_, "a", -1), 0);
  EXPECT_EQ(kvstore_vec_count(vs_), 0);
  KVVecStats st;
  EXPECT_EQ(kvstore_vec_stats(vs_, nullptr), KVSTORE_ERROR);
  ASSERT_EQ(kvstore_vec_stats(vs_, &st), KVSTORE_OK);
  EXPECT_EQ(st.count, 0);
}

TEST_F(CApiVector, SearchErrorsAndResults) {
  KVVecSearchResult* r = nullptr;
  KVVecKeyResult* k = nullptr;
  int n = -1;
  EXPECT_EQ(kvstore_vec_search(vs_, v1_, 3, 0, 0, 0, &r, &n),
            KVVEC_INDEX_EMPTY);
  EXPECT_EQ(kvstore_vec_search_keys(vs_, v1_, 3, &k, &n), KVVEC_INDEX_EMPTY);
  ASSERT_EQ(kvstore_vec_put(vs_, "a", 1, "va", 2, v1_, 0, "{\"x\":1}", 7),
            KVSTORE_OK);
  ASSERT_EQ(kvstore_vec_put(vs_, "b", 1, "", 0, v2_, 0, nullptr, 0),
            KVSTORE_OK);
  EXPECT_EQ(kvstore_vec_search(vs_, nullptr, 3, 0, 0, 0, &r, &n),
            KVVEC_BAD_VECTOR);
  EXPECT_EQ(kvstore_vec_search(vs_, v1_, 0, 0, 0, 0, &r, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_search(vs_, v1_, -1, 0, 0, 0, &r, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_search(vs_, v1_, 3, 0, -2, 0, &r, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_search(vs_, v1_, 3, 0, 0, NAN, &r, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_search(vs_, v1_, 3, 0, 0, 0, nullptr, &n),
            KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_search(vs_, v1_, 3, 0, 0, 0, &r, nullptr),
            KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_search_keys(vs_, v1_, 0, &k, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_search_keys(vs_, nullptr, 1, &k, &n), KVVEC_BAD_VECTOR);
  EXPECT_EQ(kvstore_vec_search_filtered(vs_, v1_, 3, 0, 0, 0, nullptr, nullptr,
                                        "[1]", &r, &n),
            KVSTORE_ERROR);

  ASSERT_EQ(kvstore_vec_search(vs_, v1_, 3, 0, 0, 0, &r, &n), KVSTORE_OK);
  ASSERT_EQ(n, 2);
  EXPECT_EQ(std::string(static_cast<char*>(r[0].pKey), r[0].nKey), "a");
  EXPECT_EQ(std::string(static_cast<char*>(r[0].pValue), r[0].nValue), "va");
  EXPECT_EQ(r[0].distance, 0.0f);
  EXPECT_EQ(std::string(static_cast<char*>(r[0].pMetadata), r[0].nMetadata),
            "{\"x\":1}");
  EXPECT_EQ(r[1].nValue, 0);
  EXPECT_EQ(r[1].pMetadata, nullptr);
  EXPECT_FLOAT_EQ(r[1].distance, 2.0f);
  kvstore_vec_free_results(r, n);

  ASSERT_EQ(kvstore_vec_search(vs_, v1_, 3, 0, 0, 1.0f, &r, &n), KVSTORE_OK);
  EXPECT_EQ(n, 1);
  kvstore_vec_free_results(r, n);
  // Nothing passes the filter: OK with no results and a NULL array.
  ASSERT_EQ(kvstore_vec_search_filtered(vs_, v1_, 3, 0, 0, 0, nullptr, nullptr,
                                        "{\"x\":2}", &r, &n),
            KVSTORE_OK);
  EXPECT_EQ(n, 0);
  EXPECT_EQ(r, nullptr);
  // The callback sees keys and metadata (NULL when none).
  struct Seen {
    int with_meta = 0, without = 0;
  } seen;
  auto cb = [](void* ctx, const void*, int, const void* meta,
               int nmeta) -> int {
    auto* s = static_cast<Seen*>(ctx);
    if (meta) {
      ++s->with_meta;
      EXPECT_EQ(nmeta, 7);
    } else {
      ++s->without;
    }
    return meta == nullptr;
  };
  ASSERT_EQ(kvstore_vec_search_filtered(vs_, v1_, 3, 0, 0, 0, cb, &seen,
                                        nullptr, &r, &n),
            KVSTORE_OK);
  ASSERT_EQ(n, 1);
  EXPECT_EQ(std::string(static_cast<char*>(r[0].pKey), r[0].nKey), "b");
  EXPECT_GE(seen.with_meta, 1);
  EXPECT_GE(seen.without, 1);
  kvstore_vec_free_results(r, n);

  ASSERT_EQ(kvstore_vec_search_keys(vs_, v2_, 1, &k, &n), KVSTORE_OK);
  ASSERT_EQ(n, 1);
  EXPECT_EQ(std::string(static_cast<char*>(k[0].pKey), k[0].nKey), "b");
  kvstore_vec_free_key_results(k, n);
}

TEST_F(CApiVector, MetadataDeleteAndDrop) {
  void* p = reinterpret_cast<void*>(1);
  int n = -1;
  ASSERT_EQ(kvstore_vec_put(vs_, "a", 1, "va", 2, v1_, 0, nullptr, 0),
            KVSTORE_OK);
  // No metadata table yet: OK with NULL.
  EXPECT_EQ(kvstore_vec_get_metadata(vs_, "a", 1, &p, &n), KVSTORE_OK);
  EXPECT_EQ(p, nullptr);
  ASSERT_EQ(kvstore_vec_put(vs_, "b", 1, "vb", 2, v2_, 0, "{\"k\":[1]}", 9),
            KVSTORE_OK);
  EXPECT_EQ(kvstore_vec_get_metadata(vs_, "a", 1, &p, &n), KVSTORE_NOTFOUND);
  EXPECT_EQ(p, nullptr);
  ASSERT_EQ(kvstore_vec_get_metadata(vs_, "b", 1, &p, &n), KVSTORE_OK);
  EXPECT_EQ(std::string(static_cast<char*>(p), n), "{\"k\":[1]}");
  snkv_free(p);
  // "" with length 0 clears.
  ASSERT_EQ(kvstore_vec_put(vs_, "b", 1, "vb", 2, v2_, 0, "", 0), KVSTORE_OK);
  EXPECT_EQ(kvstore_vec_get_metadata(vs_, "b", 1, &p, &n), KVSTORE_NOTFOUND);

  EXPECT_EQ(kvstore_vec_delete(vs_, "zz", 2), KVSTORE_NOTFOUND);
  ASSERT_EQ(kvstore_vec_delete(vs_, "a", 1), KVSTORE_OK);
  EXPECT_EQ(kvstore_vec_contains(vs_, "a", 1), 0);
  EXPECT_EQ(kvstore_vec_count(vs_), 1);
  float* f = nullptr;
  EXPECT_EQ(kvstore_vec_get_vector(vs_, "a", 1, &f, &n), KVSTORE_NOTFOUND);

  ASSERT_EQ(kvstore_vec_drop_index(vs_), KVSTORE_OK);
  KVVecSearchResult* r = nullptr;
  EXPECT_EQ(kvstore_vec_search(vs_, v1_, 1, 0, 0, 0, &r, &n),
            KVVEC_INDEX_DROPPED);
  EXPECT_EQ(kvstore_vec_put(vs_, "c", 1, "v", 1, v1_, 0, nullptr, 0),
            KVVEC_INDEX_DROPPED);
  EXPECT_EQ(kvstore_vec_get_vector(vs_, "b", 1, &f, &n), KVVEC_INDEX_DROPPED);
  ASSERT_EQ(kvstore_vec_get(vs_, "b", 1, &p, &n), KVSTORE_OK);
  EXPECT_EQ(std::string(static_cast<char*>(p), n), "vb");
  snkv_free(p);
  EXPECT_EQ(kvstore_vec_kv_put(vs_, "c", 1, "v", 1), KVSTORE_OK);
  int purged = -1;
  EXPECT_EQ(kvstore_vec_purge_expired(vs_, &purged), KVVEC_INDEX_DROPPED);
}

TEST(CApiVectorOpen, InvalidAndMismatched) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("o.db");
  KVVecStore* vs = reinterpret_cast<KVVecStore*>(1);
  EXPECT_EQ(kvstore_vec_open(path.c_str(), 0, 0, 0, 0, 0, 0, nullptr, 0, &vs),
            KVSTORE_ERROR);
  EXPECT_EQ(vs, nullptr);
  EXPECT_STRNE(kvstore_vec_errmsg(nullptr), "not an error");
  EXPECT_EQ(kvstore_vec_open(path.c_str(), 4, 9, 0, 0, 0, 0, nullptr, 0, &vs),
            KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_open(path.c_str(), 4, 0, 0, 0, 0, 5, nullptr, 0, &vs),
            KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_open(path.c_str(), 4, 0, -1, 0, 0, 0, nullptr, 0, &vs),
            KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_open(path.c_str(), 4, 0, 0, 0, 0, 0, nullptr, -1, &vs),
            KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_open(path.c_str(), 4, 0, 0, 0, 0, 0, nullptr, 3, &vs),
            KVSTORE_ERROR);
  EXPECT_EQ(
      kvstore_vec_open(path.c_str(), 4, 0, 0, 0, 0, 0, nullptr, 0, nullptr),
      KVSTORE_ERROR);
  ASSERT_EQ(kvstore_vec_open(path.c_str(), 4, KVVEC_SPACE_IP, 8, 50, 20,
                             KVVEC_DTYPE_F16, nullptr, 0, &vs),
            KVSTORE_OK);
  kvstore_vec_close(vs);
  EXPECT_EQ(kvstore_vec_open(path.c_str(), 5, KVVEC_SPACE_IP, 0, 0, 0,
                             KVVEC_DTYPE_F16, nullptr, 0, &vs),
            KVVEC_DIM_MISMATCH);
  EXPECT_EQ(kvstore_vec_open(path.c_str(), 4, KVVEC_SPACE_COSINE, 0, 0, 0,
                             KVVEC_DTYPE_F16, nullptr, 0, &vs),
            KVVEC_SPACE_MISMATCH);
  EXPECT_EQ(kvstore_vec_open(path.c_str(), 4, KVVEC_SPACE_IP, 0, 0, 0,
                             KVVEC_DTYPE_F32, nullptr, 0, &vs),
            KVVEC_DTYPE_MISMATCH);
  // An explicit expansion_search overrides the stored one; 0 keeps it.
  ASSERT_EQ(kvstore_vec_open(path.c_str(), 4, KVVEC_SPACE_IP, 0, 0, 0,
                             KVVEC_DTYPE_F16, nullptr, 0, &vs),
            KVSTORE_OK);
  KVVecStats st;
  ASSERT_EQ(kvstore_vec_stats(vs, &st), KVSTORE_OK);
  EXPECT_EQ(st.connectivity, 8);
  EXPECT_EQ(st.expansion_add, 50);
  EXPECT_EQ(st.expansion_search, 20);
  EXPECT_EQ(st.dtype, KVVEC_DTYPE_F16);
  EXPECT_EQ(st.space, KVVEC_SPACE_IP);
  kvstore_vec_close(vs);
  ASSERT_EQ(kvstore_vec_open(path.c_str(), 4, KVVEC_SPACE_IP, 0, 0, 99,
                             KVVEC_DTYPE_F16, nullptr, 0, &vs),
            KVSTORE_OK);
  ASSERT_EQ(kvstore_vec_stats(vs, &st), KVSTORE_OK);
  EXPECT_EQ(st.expansion_search, 99);
  kvstore_vec_close(vs);
  // In memory (NULL path): no sidecar.
  ASSERT_EQ(kvstore_vec_open(nullptr, 4, 0, 0, 0, 0, 0, nullptr, 0, &vs),
            KVSTORE_OK);
  ASSERT_EQ(kvstore_vec_stats(vs, &st), KVSTORE_OK);
  EXPECT_EQ(st.sidecar_enabled, 0);
  kvstore_vec_close(vs);
}

TEST(CApiVectorOpen, EncryptedStore) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("e.db");
  const uint8_t pw[] = {'p', 'w'};
  KVVecStore* vs = nullptr;
  float v[4] = {1, 2, 3, 4};
  ASSERT_EQ(kvstore_vec_open(path.c_str(), 4, 0, 0, 0, 0, 0, pw, 2, &vs),
            KVSTORE_OK);
  ASSERT_EQ(kvstore_vec_put(vs, "a", 1, "b", 1, v, 0, nullptr, 0), KVSTORE_OK);
  KVVecStats st;
  ASSERT_EQ(kvstore_vec_stats(vs, &st), KVSTORE_OK);
  EXPECT_EQ(st.sidecar_enabled, 0);
  kvstore_vec_close(vs);
  EXPECT_FALSE(snkv::test::FileExists(path + ".snkv-vec"));
  const uint8_t wrong[] = {'x'};
  EXPECT_EQ(kvstore_vec_open(path.c_str(), 4, 0, 0, 0, 0, 0, wrong, 1, &vs),
            KVSTORE_AUTH_FAILED);
  EXPECT_EQ(kvstore_vec_open(path.c_str(), 4, 0, 0, 0, 0, 0, nullptr, 0, &vs),
            KVSTORE_AUTH_FAILED);
  ASSERT_EQ(kvstore_vec_open(path.c_str(), 4, 0, 0, 0, 0, 0, pw, 2, &vs),
            KVSTORE_OK);
  EXPECT_EQ(kvstore_vec_count(vs), 1);
  kvstore_vec_close(vs);
}

// The batch with a NULL vector in the middle writes nothing.
TEST_F(CApiVector, BatchAllOrNothing) {
  KVVecItem items[3] = {
      {"x", 1, "1", 1, v1_, nullptr, 0},
      {"y", 1, "2", 1, nullptr, nullptr, 0},
      {"z", 1, "3", 1, v2_, nullptr, 0},
  };
  EXPECT_EQ(kvstore_vec_put_batch(vs_, items, 3, 0), KVVEC_BAD_VECTOR);
  EXPECT_EQ(kvstore_vec_count(vs_), 0);
  EXPECT_EQ(kvstore_vec_contains(vs_, "x", 1), 0);
  items[1].pVec = v2_;
  items[1].nKey = -1;
  EXPECT_EQ(kvstore_vec_put_batch(vs_, items, 3, 0), KVSTORE_ERROR);
  items[1].nKey = 1;
  items[2].pKey = "x";  // duplicate: the last one wins
  ASSERT_EQ(kvstore_vec_put_batch(vs_, items, 3, kvstore_now_ms() + 100000),
            KVSTORE_OK);
  EXPECT_EQ(kvstore_vec_count(vs_), 2);
  void* p = nullptr;
  int n = 0;
  ASSERT_EQ(kvstore_vec_get(vs_, "x", 1, &p, &n), KVSTORE_OK);
  EXPECT_EQ(std::string(static_cast<char*>(p), n), "3");
  snkv_free(p);
}

// A filter that writes to (or closes) the store it filters gets an error
// instead of deadlocking; the search finishes and the handle stays usable.
struct Reentry {
  KVVecStore* vs;
  float* vec;
  int put_rc = -1, get_rc = -1, search_rc = -1;
  std::string put_msg;
  int calls = 0;
};

int ReenteringFilter(void* ctx, const void* key, int nKey, const void*, int) {
  auto* r = static_cast<Reentry*>(ctx);
  ++r->calls;
  r->put_rc = kvstore_vec_put(r->vs, "new", 3, "v", 1, r->vec, 0, nullptr, 0);
  r->put_msg = kvstore_vec_errmsg(r->vs);
  void* p = nullptr;
  int n = 0;
  r->get_rc = kvstore_vec_get(r->vs, key, nKey, &p, &n);
  KVVecSearchResult* res = nullptr;
  r->search_rc = kvstore_vec_search(r->vs, r->vec, 1, 0, 0, 0, &res, &n);
  kvstore_vec_close(r->vs);  // ignored here
  return 1;
}

TEST_F(CApiVector, FilterCallingItsStoreFailsInsteadOfDeadlocking) {
  ASSERT_EQ(kvstore_vec_put(vs_, "a", 1, "va", 2, v1_, 0, nullptr, 0),
            KVSTORE_OK);
  Reentry r{vs_, v2_};
  KVVecSearchResult* res = nullptr;
  int n = 0;
  ASSERT_EQ(kvstore_vec_search_filtered(vs_, v1_, 1, 0, 0, 0, ReenteringFilter,
                                        &r, nullptr, &res, &n),
            KVSTORE_OK);
  ASSERT_GT(r.calls, 0);
  EXPECT_EQ(r.put_rc, KVSTORE_ERROR);
  EXPECT_NE(r.put_msg.find("inside a search filter"), std::string::npos)
      << r.put_msg;
  EXPECT_EQ(r.get_rc, KVSTORE_ERROR);
  EXPECT_EQ(r.search_rc, KVSTORE_ERROR);
  ASSERT_EQ(n, 1);
  EXPECT_EQ(std::string(static_cast<char*>(res[0].pKey), res[0].nKey), "a");
  kvstore_vec_free_results(res, n);
  // The handle survived the close attempt; the put did not happen.
  EXPECT_EQ(kvstore_vec_contains(vs_, "new", 3), 0);
  ASSERT_EQ(kvstore_vec_put(vs_, "new", 3, "v", 1, v2_, 0, nullptr, 0),
            KVSTORE_OK);
  EXPECT_EQ(kvstore_vec_count(vs_), 2);
}

// A separate KVStore handle on the same file is another connection: a
// filter may write through it (the search holds no transaction while it
// walks), and the vector handle sees the write afterwards.
int WritingThroughOtherHandle(void* ctx, const void* key, int nKey, const void*,
                              int) {
  auto* kv = static_cast<KVStore*>(ctx);
  return kvstore_put(kv, key, nKey, "seen", 4) == KVSTORE_OK ? 1 : 0;
}

TEST_F(CApiVector, FilterMayWriteThroughAnotherHandle) {
  ASSERT_EQ(kvstore_vec_put(vs_, "a", 1, "va", 2, v1_, 0, nullptr, 0),
            KVSTORE_OK);
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open(path_.c_str(), &kv, KVSTORE_JOURNAL_WAL), KVSTORE_OK);
  KVVecSearchResult* res = nullptr;
  int n = 0;
  ASSERT_EQ(kvstore_vec_search_filtered(vs_, v1_, 1, 0, 0, 0,
                                        WritingThroughOtherHandle, kv, nullptr,
                                        &res, &n),
            KVSTORE_OK);
  ASSERT_EQ(n, 1);
  EXPECT_EQ(std::string(static_cast<char*>(res[0].pValue), res[0].nValue),
            "seen");
  kvstore_vec_free_results(res, n);
  kvstore_close(kv);
}

// A filter may end its thread: pthread_exit inside it, or a cancellation
// at a cancellation point inside it. The search then never returns; the
// unwind passes the C API's guards (catching it for good aborts the
// process: "FATAL: exception not rethrown") and the search's locks are
// given back on the way, so other threads go on using the store.
struct EndingFilter {
  KVVecStore* vs = nullptr;
  const float* query = nullptr;
  bool cancel = false;  // else pthread_exit
  std::atomic<int> calls{0};
  std::atomic<bool> waiting{false};   // in the cancellable wait
  std::atomic<bool> returned{false};  // the search returned (it must not)
};

int EndThreadInFilter(void* ctx, const void*, int, const void*, int) {
  auto* f = static_cast<EndingFilter*>(ctx);
  if (++f->calls < 3) return 1;
  if (!f->cancel) pthread_exit(nullptr);
  f->waiting = true;
  for (;;) pause();  // a cancellation point: pthread_cancel ends us here
}

void* SearchEndedInFilter(void* arg) {
  auto* f = static_cast<EndingFilter*>(arg);
  KVVecSearchResult* res = nullptr;
  int n = 0;
  kvstore_vec_search_filtered(f->vs, f->query, 5, 0, 0, 0, EndThreadInFilter, f,
                              nullptr, &res, &n);
  f->returned = true;
  kvstore_vec_free_results(res, n);
  return nullptr;
}

// Runs fn on another thread and waits up to 30 s for it. A lock left held
// would make it wait for ever: the test then fails at once instead of at
// the ctest timeout (exiting, since fn's captures would dangle).
void MustFinishSoon(std::function<void()> fn, const char* what) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  std::thread([fn = std::move(fn), done] {
    fn();
    done->set_value();
  }).detach();
  if (finished.wait_for(std::chrono::seconds(30)) !=
      std::future_status::ready) {
    ADD_FAILURE() << what << " still waits after 30 s: a lock is held";
    std::_Exit(1);
  }
}

// GCC 12's ASan runtime cannot follow the unwind of a cancelled thread
// through instrumented frames: it stops the program with "CHECK failed:
// asan_thread.cpp:371" inside its own sigaltstack check, whether the
// thread is cancelled in pause() or in pthread_testcancel() (pthread_exit
// is fine). The cancelled case therefore runs only without ASan.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCancelUnderAsan = false;
#else
constexpr bool kCancelUnderAsan = true;
#endif

TEST_F(CApiVector, FilterMayEndItsThread) {
  for (int i = 0; i < 20; ++i) {
    const std::string key = "k" + std::to_string(i);
    const float v[kDim] = {static_cast<float>(i), 1, 0, 0};
    ASSERT_EQ(kvstore_vec_put(vs_, key.data(), static_cast<int>(key.size()),
                              "v", 1, v, 0, nullptr, 0),
              KVSTORE_OK);
  }
  for (const bool cancel : {false, true}) {
    if (cancel && !kCancelUnderAsan) continue;
    SCOPED_TRACE(cancel ? "pthread_cancel" : "pthread_exit");
    EndingFilter f;
    f.vs = vs_;
    f.query = v1_;
    f.cancel = cancel;
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, nullptr, SearchEndedInFilter, &f), 0);
    if (cancel) {
      while (!f.waiting)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ASSERT_EQ(pthread_cancel(t), 0);
    }
    void* ret = nullptr;
    ASSERT_EQ(pthread_join(t, &ret), 0);
    EXPECT_EQ(ret, cancel ? PTHREAD_CANCELED : nullptr);
    EXPECT_FALSE(f.returned);
    EXPECT_EQ(f.calls, 3);
    // A write needs the index exclusively, a search shares it: both run.
    MustFinishSoon(
        [&] {
          EXPECT_EQ(kvstore_vec_put(vs_, "w", 1, "v", 1, v2_, 0, nullptr, 0),
                    KVSTORE_OK);
          KVVecSearchResult* res = nullptr;
          int n = 0;
          EXPECT_EQ(kvstore_vec_search_filtered(vs_, v1_, 3, 0, 0, 0, nullptr,
                                                nullptr, nullptr, &res, &n),
                    KVSTORE_OK);
          EXPECT_EQ(n, 3);
          kvstore_vec_free_results(res, n);
        },
        "a write and a search after the ended search");
  }
  EXPECT_EQ(kvstore_vec_count(vs_), 21);
  // Closing (exclusive on everything) and reopening work too.
  MustFinishSoon([&] { kvstore_vec_close(vs_); }, "close");
  vs_ = nullptr;
  ASSERT_EQ(kvstore_vec_open(path_.c_str(), kDim, KVVEC_SPACE_L2, 0, 0, 0,
                             KVVEC_DTYPE_F32, nullptr, 0, &vs_),
            KVSTORE_OK);
  EXPECT_EQ(kvstore_vec_count(vs_), 21);
}

// The shared argument checks of the three single-key reads.
TEST_F(CApiVector, ReadsCheckArgumentsAlike) {
  ASSERT_EQ(kvstore_vec_put(vs_, "a", 1, "va", 2, v1_, 0, "{}", 2), KVSTORE_OK);
  void* p = nullptr;
  int n = 0;
  float* f = nullptr;
  EXPECT_EQ(kvstore_vec_get(vs_, "a", -1, &p, &n), KVSTORE_ERROR);
  EXPECT_STREQ(kvstore_vec_errmsg(vs_), "invalid key");
  EXPECT_EQ(kvstore_vec_get_vector(vs_, nullptr, 1, &f, &n), KVSTORE_ERROR);
  EXPECT_STREQ(kvstore_vec_errmsg(vs_), "invalid key");
  EXPECT_EQ(kvstore_vec_get_metadata(vs_, "a", 1, &p, nullptr), KVSTORE_ERROR);
  EXPECT_STREQ(kvstore_vec_errmsg(vs_), "an output pointer is NULL");
  EXPECT_EQ(kvstore_vec_get_vector(vs_, "a", 1, nullptr, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_vec_get(vs_, "a", 1, &p, nullptr), KVSTORE_ERROR);
  ASSERT_EQ(kvstore_vec_get_vector(vs_, "a", 1, &f, &n), KVSTORE_OK);
  ASSERT_EQ(n, kDim);
  EXPECT_EQ(f[0], 1.0f);
  snkv_free(f);
  ASSERT_EQ(kvstore_vec_get_metadata(vs_, "a", 1, &p, &n), KVSTORE_OK);
  EXPECT_EQ(std::string(static_cast<char*>(p), n), "{}");
  snkv_free(p);
  ASSERT_EQ(kvstore_vec_get(vs_, "a", 1, &p, &n), KVSTORE_OK);
  EXPECT_EQ(std::string(static_cast<char*>(p), n), "va");
  snkv_free(p);
}

// kvstore_cf_list on a vector store's file shows only the user's families.
TEST_F(CApiVector, CfListHidesVectorFamilies) {
  ASSERT_EQ(kvstore_vec_put(vs_, "a", 1, "va", 2, v1_, 0, "{\"t\":1}", 7),
            KVSTORE_OK);
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open(path_.c_str(), &kv, KVSTORE_JOURNAL_WAL), KVSTORE_OK);
  char** names = nullptr;
  int count = 0;
  ASSERT_EQ(kvstore_cf_list(kv, &names, &count), KVSTORE_OK);
  ASSERT_EQ(count, 1);
  EXPECT_STREQ(names[0], "default");
  for (int i = 0; i < count; ++i) snkv_free(names[i]);
  snkv_free(names);
  kvstore_close(kv);
}

// An f16 store rejects what a half cannot hold; a cosine store rejects a
// zero vector and a zero query (KVVEC_BAD_VECTOR, nothing written).
TEST(CApiVectorChecks, UnrepresentableVectors) {
  snkv::test::TempDir dir;
  KVVecStore* vs = nullptr;
  ASSERT_EQ(kvstore_vec_open(dir.file("h.db").c_str(), 2, KVVEC_SPACE_L2, 0, 0,
                             0, KVVEC_DTYPE_F16, nullptr, 0, &vs),
            KVSTORE_OK);
  const float big[2] = {1, 70000.0f}, ok[2] = {1, 65504.0f};
  EXPECT_EQ(kvstore_vec_put(vs, "a", 1, "v", 1, big, 0, nullptr, 0),
            KVVEC_BAD_VECTOR);
  EXPECT_NE(std::string(kvstore_vec_errmsg(vs)).find("65504"),
            std::string::npos);
  EXPECT_EQ(kvstore_vec_put(vs, "a", 1, "v", 1, ok, 0, nullptr, 0), KVSTORE_OK);
  kvstore_vec_close(vs);
  ASSERT_EQ(kvstore_vec_open(dir.file("c.db").c_str(), 2, KVVEC_SPACE_COSINE, 0,
                             0, 0, KVVEC_DTYPE_F32, nullptr, 0, &vs),
            KVSTORE_OK);
  const float zero[2] = {0, 0};
  EXPECT_EQ(kvstore_vec_put(vs, "z", 1, "v", 1, zero, 0, nullptr, 0),
            KVVEC_BAD_VECTOR);
  EXPECT_EQ(kvstore_vec_put(vs, "a", 1, "v", 1, ok, 0, nullptr, 0), KVSTORE_OK);
  KVVecSearchResult* res = nullptr;
  int n = 0;
  EXPECT_EQ(kvstore_vec_search(vs, zero, 1, 0, 0, 0, &res, &n),
            KVVEC_BAD_VECTOR);
  EXPECT_EQ(kvstore_vec_count(vs), 1);
  kvstore_vec_close(vs);
}

}  // namespace
