// C API: per-key expiry (put_ttl, get_ttl, ttl_remaining, purge_expired,
// their cf_* versions) and put_if_absent.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "c_api_test_util.h"
#include "kvstore.h"
#include "test_util.h"

namespace {

using snkv::test::CfCount;
using snkv::test::CfGet;
using snkv::test::Count;
using snkv::test::Get;
using snkv::test::kNotFound;
using snkv::test::Put;
using snkv::test::Stats;

constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kMargin = 10 * 60 * 1000;  // slack for slow machines

int PutTtl(KVStore* kv, const std::string& k, const std::string& v,
           int64_t expire) {
  return kvstore_put_ttl(kv, k.data(), static_cast<int>(k.size()), v.data(),
                         static_cast<int>(v.size()), expire);
}

int CfPutTtl(KVColumnFamily* cf, const std::string& k, const std::string& v,
             int64_t expire) {
  return kvstore_cf_put_ttl(cf, k.data(), static_cast<int>(k.size()), v.data(),
                            static_cast<int>(v.size()), expire);
}

// ttl_remaining as (rc, remaining).
std::pair<int, int64_t> Remaining(KVStore* kv, const std::string& k) {
  int64_t rem = -12345;
  int rc =
      kvstore_ttl_remaining(kv, k.data(), static_cast<int>(k.size()), &rem);
  return {rc, rem};
}

std::pair<int, int64_t> CfRemaining(KVColumnFamily* cf, const std::string& k) {
  int64_t rem = -12345;
  int rc =
      kvstore_cf_ttl_remaining(cf, k.data(), static_cast<int>(k.size()), &rem);
  return {rc, rem};
}

class CApiTtl : public snkv::test::CApiStoreTest {
 protected:
  CApiTtl() : CApiStoreTest("ttl.db") {}
  int64_t Past() const { return kvstore_now_ms() - 2; }
  int64_t Later(int64_t ms = kHour) const { return kvstore_now_ms() + ms; }
};

// ---- put_ttl / get_ttl / ttl_remaining
// ---------------------------------------

TEST_F(CApiTtl, LiveKeyReportsRemainingTime) {
  ASSERT_EQ(PutTtl(kv_, "s", "token", Later()), KVSTORE_OK);
  void* p = nullptr;
  int n = 0;
  int64_t rem = -5;
  ASSERT_EQ(kvstore_get_ttl(kv_, "s", 1, &p, &n, &rem), KVSTORE_OK);
  EXPECT_EQ(std::string(static_cast<char*>(p), static_cast<size_t>(n)),
            "token");
  snkv_free(p);
  EXPECT_GT(rem, kHour - kMargin);
  EXPECT_LE(rem, kHour);

  auto [rc, r2] = Remaining(kv_, "s");
  ASSERT_EQ(rc, KVSTORE_OK);
  EXPECT_GT(r2, kHour - kMargin);
  EXPECT_LE(r2, kHour);
  EXPECT_EQ(Get(kv_, "s"), "token");

  // pnRemaining may be NULL.
  ASSERT_EQ(kvstore_get_ttl(kv_, "s", 1, &p, &n, nullptr), KVSTORE_OK);
  snkv_free(p);
}

TEST_F(CApiTtl, KeysWithoutExpiryReportNoTtl) {
  ASSERT_EQ(Put(kv_, "plain", "v"), KVSTORE_OK);
  ASSERT_EQ(PutTtl(kv_, "zero", "v", 0), KVSTORE_OK);  // 0 = never expires
  for (const char* k : {"plain", "zero"}) {
    SCOPED_TRACE(k);
    auto [rc, rem] = Remaining(kv_, k);
    EXPECT_EQ(rc, KVSTORE_OK);
    EXPECT_EQ(rem, KVSTORE_NO_TTL);
    void* p = nullptr;
    int n = 0;
    int64_t r2 = 0;
    ASSERT_EQ(
        kvstore_get_ttl(kv_, k, static_cast<int>(std::strlen(k)), &p, &n, &r2),
        KVSTORE_OK);
    snkv_free(p);
    EXPECT_EQ(r2, KVSTORE_NO_TTL);
  }
}

TEST_F(CApiTtl, MissingKeyIsNotFound) {
  auto [rc, rem] = Remaining(kv_, "nope");
  EXPECT_EQ(rc, KVSTORE_NOTFOUND);
  EXPECT_EQ(rem, -12345) << "output written only on success";
  void* p = nullptr;
  int n = 0;
  int64_t r = 0;
  EXPECT_EQ(kvstore_get_ttl(kv_, "nope", 4, &p, &n, &r), KVSTORE_NOTFOUND);
  EXPECT_EQ(kvstore_ttl_remaining(kv_, "k", 1, nullptr), KVSTORE_ERROR);
}

TEST_F(CApiTtl, ExpiredKeyReadsAsAbsent) {
  ASSERT_EQ(PutTtl(kv_, "a", "v", Past()), KVSTORE_OK);
  ASSERT_EQ(PutTtl(kv_, "b", "v", Past()), KVSTORE_OK);
  ASSERT_EQ(PutTtl(kv_, "c", "v", Past()), KVSTORE_OK);
  ASSERT_EQ(PutTtl(kv_, "d", "v", 1), KVSTORE_OK);  // 1970
  EXPECT_EQ(Get(kv_, "a"), kNotFound);
  int e = -1;
  ASSERT_EQ(kvstore_exists(kv_, "b", 1, &e), KVSTORE_OK);
  EXPECT_EQ(e, 0);
  void* p = nullptr;
  int n = 0;
  int64_t r = 0;
  EXPECT_EQ(kvstore_get_ttl(kv_, "c", 1, &p, &n, &r), KVSTORE_NOTFOUND);
  EXPECT_EQ(kvstore_delete(kv_, "d", 1), KVSTORE_NOTFOUND);
}

// get_ttl of an expired key: NOTFOUND with 0 ms remaining (the TTL table's
// "just expired"), value outputs untouched; an absent key leaves
// *pnRemaining alone. Default family and a named one, outside and inside a
// read transaction (the lookup then goes through SQL, not the pages).
TEST_F(CApiTtl, GetTtlOfExpiredKeyIsNotFoundWithZeroRemaining) {
  KVColumnFamily* cf = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv_, "fam", &cf), KVSTORE_OK);
  auto get_ttl = [&](bool in_cf, const std::string& k, int64_t* rem) {
    int sentinel = 0;
    void* p = &sentinel;
    int n = -7;
    const int len = static_cast<int>(k.size());
    int rc = in_cf ? kvstore_cf_get_ttl(cf, k.data(), len, &p, &n, rem)
                   : kvstore_get_ttl(kv_, k.data(), len, &p, &n, rem);
    if (rc == KVSTORE_OK) {
      snkv_free(p);
    } else {
      EXPECT_EQ(p, &sentinel);
      EXPECT_EQ(n, -7);
    }
    return rc;
  };
  for (bool in_txn : {false, true}) {
    for (bool in_cf : {false, true}) {
      SCOPED_TRACE(std::string(in_cf ? "cf" : "default") +
                   (in_txn ? ", in a read transaction" : ""));
      const std::string k = std::string("exp") + (in_txn ? "T" : "A");
      if (in_cf) {
        ASSERT_EQ(CfPutTtl(cf, k, "v", Past()), KVSTORE_OK);
      } else {
        ASSERT_EQ(PutTtl(kv_, k, "v", Past()), KVSTORE_OK);
      }
      if (in_txn) ASSERT_EQ(kvstore_begin(kv_, 0), KVSTORE_OK);
      int64_t rem = 777;
      EXPECT_EQ(get_ttl(in_cf, k, &rem), KVSTORE_NOTFOUND);
      EXPECT_EQ(rem, 0);
      // NULL is still allowed for an expired key.
      EXPECT_EQ(get_ttl(in_cf, k, nullptr), KVSTORE_NOTFOUND);
      rem = 777;
      EXPECT_EQ(get_ttl(in_cf, "absent", &rem), KVSTORE_NOTFOUND);
      EXPECT_EQ(rem, 777) << "absent: *pnRemaining is left alone";
      if (in_txn) ASSERT_EQ(kvstore_commit(kv_), KVSTORE_OK);
    }
  }
  // Outside the transaction the first read deleted the key: now absent.
  int64_t rem = 777;
  EXPECT_EQ(get_ttl(false, "expA", &rem), KVSTORE_NOTFOUND);
  EXPECT_EQ(rem, 777);
  EXPECT_EQ(get_ttl(true, "expA", &rem), KVSTORE_NOTFOUND);
  EXPECT_EQ(rem, 777);
  kvstore_cf_close(cf);
}

TEST_F(CApiTtl, TtlRemainingOfJustExpiredKeyIsZeroThenGone) {
  ASSERT_EQ(PutTtl(kv_, "k", "v", Past()), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "other", "v"), KVSTORE_OK);
  EXPECT_EQ(Count(kv_), 2);
  auto [rc, rem] = Remaining(kv_, "k");
  EXPECT_EQ(rc, KVSTORE_OK);
  EXPECT_EQ(rem, 0);
  // It was deleted.
  EXPECT_EQ(Count(kv_), 1);
  EXPECT_EQ(Remaining(kv_, "k").first, KVSTORE_NOTFOUND);
}

TEST_F(CApiTtl, KeyExpiresAfterItsTime) {
  ASSERT_EQ(PutTtl(kv_, "short", "v", Later(150)), KVSTORE_OK);
  ASSERT_EQ(PutTtl(kv_, "long", "v", Later(kHour)), KVSTORE_OK);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_EQ(Get(kv_, "short"), kNotFound);
  EXPECT_EQ(Get(kv_, "long"), "v");
}

TEST_F(CApiTtl, LazyExpiryIsCountedAndDeletes) {
  ASSERT_EQ(PutTtl(kv_, "a", "v", Past()), KVSTORE_OK);
  ASSERT_EQ(PutTtl(kv_, "b", "v", Past()), KVSTORE_OK);
  ASSERT_EQ(PutTtl(kv_, "c", "v", Past()), KVSTORE_OK);
  ASSERT_EQ(kvstore_stats_reset(kv_), KVSTORE_OK);
  EXPECT_EQ(Count(kv_), 3) << "expired but unpurged keys are counted";
  EXPECT_EQ(Get(kv_, "a"), kNotFound);
  int e = -1;
  ASSERT_EQ(kvstore_exists(kv_, "b", 1, &e), KVSTORE_OK);
  EXPECT_EQ(e, 0);
  KVStoreStats st = Stats(kv_);
  EXPECT_EQ(st.nTtlExpired, 2u);
  EXPECT_EQ(st.nTtlPurged, 0u);
  EXPECT_EQ(Count(kv_), 1);
  // Reading again finds nothing more to expire.
  EXPECT_EQ(Get(kv_, "a"), kNotFound);
  EXPECT_EQ(Stats(kv_).nTtlExpired, 2u);
}

TEST_F(CApiTtl, NoLazyDeleteInsideAReadTransaction) {
  ASSERT_EQ(PutTtl(kv_, "k", "v", Past()), KVSTORE_OK);
  ASSERT_EQ(kvstore_begin(kv_, 0), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "k"), kNotFound);
  int e = -1;
  ASSERT_EQ(kvstore_exists(kv_, "k", 1, &e), KVSTORE_OK);
  EXPECT_EQ(e, 0);
  EXPECT_EQ(Count(kv_), 1);
  ASSERT_EQ(kvstore_commit(kv_), KVSTORE_OK);
  EXPECT_EQ(Count(kv_), 1);
  EXPECT_EQ(Get(kv_, "k"), kNotFound);
  EXPECT_EQ(Count(kv_), 0);
}

TEST_F(CApiTtl, NoLazyDeleteInAReadOnlyStore) {
  ASSERT_EQ(PutTtl(kv_, "k", "v", Past()), KVSTORE_OK);
  KVStoreConfig ro = {};
  ro.journalMode = KVSTORE_JOURNAL_WAL;
  ro.readOnly = 1;
  Reopen(&ro);
  EXPECT_EQ(Get(kv_, "k"), kNotFound);
  int e = -1;
  ASSERT_EQ(kvstore_exists(kv_, "k", 1, &e), KVSTORE_OK);
  EXPECT_EQ(e, 0);
  EXPECT_EQ(Count(kv_), 1);
  Reopen();
  EXPECT_EQ(Count(kv_), 1);
}

TEST_F(CApiTtl, PutWithoutTtlClearsTheExpiry) {
  ASSERT_EQ(PutTtl(kv_, "k", "v1", Later()), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "k", "v2"), KVSTORE_OK);
  auto [rc, rem] = Remaining(kv_, "k");
  ASSERT_EQ(rc, KVSTORE_OK);
  EXPECT_EQ(rem, KVSTORE_NO_TTL);
  EXPECT_EQ(Get(kv_, "k"), "v2");

  // Also for an already expired key: it comes back to life.
  ASSERT_EQ(PutTtl(kv_, "e", "old", Past()), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "e", "new"), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "e"), "new");
  EXPECT_EQ(Remaining(kv_, "e").second, KVSTORE_NO_TTL);
  int purged = -1;
  ASSERT_EQ(kvstore_purge_expired(kv_, &purged), KVSTORE_OK);
  EXPECT_EQ(purged, 0);
  EXPECT_EQ(Get(kv_, "e"), "new");

  // put_ttl with 0 clears it as well.
  ASSERT_EQ(PutTtl(kv_, "z", "v", Later()), KVSTORE_OK);
  ASSERT_EQ(PutTtl(kv_, "z", "v", 0), KVSTORE_OK);
  EXPECT_EQ(Remaining(kv_, "z").second, KVSTORE_NO_TTL);
}

TEST_F(CApiTtl, PutTtlReplacesTheExpiry) {
  ASSERT_EQ(Put(kv_, "k", "plain"), KVSTORE_OK);
  ASSERT_EQ(PutTtl(kv_, "k", "v1", Later(kHour)), KVSTORE_OK);
  auto r1 = Remaining(kv_, "k");
  EXPECT_GT(r1.second, 0);
  EXPECT_LE(r1.second, kHour);
  ASSERT_EQ(PutTtl(kv_, "k", "v2", Later(3 * kHour)), KVSTORE_OK);
  auto r2 = Remaining(kv_, "k");
  EXPECT_GT(r2.second, 3 * kHour - kMargin);
  EXPECT_EQ(Get(kv_, "k"), "v2");
  ASSERT_EQ(PutTtl(kv_, "k", "v3", Past()), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "k"), kNotFound);
}

TEST_F(CApiTtl, NegativeExpiryIsAnError) {
  KVColumnFamily* cf = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv_, "c", &cf), KVSTORE_OK);
  int ins = -1;
  EXPECT_EQ(PutTtl(kv_, "k", "v", -1), KVSTORE_ERROR);
  EXPECT_EQ(PutTtl(kv_, "k", "v", INT64_MIN), KVSTORE_ERROR);
  EXPECT_EQ(CfPutTtl(cf, "k", "v", -1000), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_put_if_absent(kv_, "k", 1, "v", 1, -1, &ins),
            KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_put_if_absent(cf, "k", 1, "v", 1, -1, &ins),
            KVSTORE_ERROR);
  EXPECT_EQ(ins, -1);
  EXPECT_EQ(Get(kv_, "k"), kNotFound);
  EXPECT_EQ(CfGet(cf, "k"), kNotFound);
  kvstore_cf_close(cf);
}

TEST_F(CApiTtl, ExpirySurvivesReopen) {
  ASSERT_EQ(PutTtl(kv_, "live", "v", Later()), KVSTORE_OK);
  ASSERT_EQ(PutTtl(kv_, "dead", "v", Past()), KVSTORE_OK);
  Reopen();
  auto [rc, rem] = Remaining(kv_, "live");
  ASSERT_EQ(rc, KVSTORE_OK);
  EXPECT_GT(rem, kHour - kMargin);
  EXPECT_LE(rem, kHour);
  EXPECT_EQ(Get(kv_, "dead"), kNotFound);
}

// ---- purge_expired
// --------------------------------------------------------------

TEST_F(CApiTtl, PurgeDeletesExactlyTheExpiredKeys) {
  for (const char* k : {"e1", "e2", "e3"})
    ASSERT_EQ(PutTtl(kv_, k, "v", Past()), KVSTORE_OK);
  for (const char* k : {"l1", "l2"})
    ASSERT_EQ(PutTtl(kv_, k, "v", Later()), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "p", "v"), KVSTORE_OK);
  ASSERT_EQ(kvstore_stats_reset(kv_), KVSTORE_OK);
  int deleted = -1;
  ASSERT_EQ(kvstore_purge_expired(kv_, &deleted), KVSTORE_OK);
  EXPECT_EQ(deleted, 3);
  KVStoreStats st = Stats(kv_);
  EXPECT_EQ(st.nTtlPurged, 3u);
  EXPECT_EQ(st.nTtlExpired, 0u);
  EXPECT_EQ(Count(kv_), 3);
  EXPECT_EQ(Get(kv_, "l1"), "v");
  EXPECT_EQ(Get(kv_, "p"), "v");
  EXPECT_EQ(Remaining(kv_, "e1").first, KVSTORE_NOTFOUND);
  ASSERT_EQ(kvstore_purge_expired(kv_, &deleted), KVSTORE_OK);
  EXPECT_EQ(deleted, 0);
  EXPECT_EQ(kvstore_purge_expired(kv_, nullptr), KVSTORE_OK);
  EXPECT_EQ(Stats(kv_).nTtlPurged, 3u);
}

TEST_F(CApiTtl, PurgeWithoutAnyTtlIsANoOp) {
  ASSERT_EQ(Put(kv_, "p", "v"), KVSTORE_OK);
  int deleted = -1;
  ASSERT_EQ(kvstore_purge_expired(kv_, &deleted), KVSTORE_OK);
  EXPECT_EQ(deleted, 0);
  EXPECT_EQ(Count(kv_), 1);
  EXPECT_EQ(kvstore_purge_expired(nullptr, &deleted), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_purge_expired(nullptr, &deleted), KVSTORE_ERROR);
}

TEST_F(CApiTtl, ManyExpiredKeysArePurgedInOneCall) {
  ASSERT_EQ(kvstore_begin(kv_, 1), KVSTORE_OK);
  int64_t past = Past();
  int64_t later = Later();
  for (int i = 0; i < 5000; ++i) {
    ASSERT_EQ(
        PutTtl(kv_, "k" + std::to_string(i), "v", i % 5 == 0 ? later : past),
        KVSTORE_OK);
  }
  ASSERT_EQ(kvstore_commit(kv_), KVSTORE_OK);
  int deleted = -1;
  ASSERT_EQ(kvstore_purge_expired(kv_, &deleted), KVSTORE_OK);
  EXPECT_EQ(deleted, 4000);
  EXPECT_EQ(Count(kv_), 1000);
}

// ---- column families
// -----------------------------------------------------------

TEST_F(CApiTtl, ColumnFamilyTtlsAreIndependent) {
  KVColumnFamily* a = nullptr;
  KVColumnFamily* b = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv_, "a", &a), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_create(kv_, "b", &b), KVSTORE_OK);

  // The same key with different expiries in three families.
  ASSERT_EQ(PutTtl(kv_, "k", "d", Later(kHour)), KVSTORE_OK);
  ASSERT_EQ(CfPutTtl(a, "k", "a", Later(5 * kHour)), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_put(b, "k", 1, "b", 1), KVSTORE_OK);
  EXPECT_LE(Remaining(kv_, "k").second, kHour);
  EXPECT_GT(CfRemaining(a, "k").second, 5 * kHour - kMargin);
  EXPECT_EQ(CfRemaining(b, "k").second, KVSTORE_NO_TTL);
  void* p = nullptr;
  int n = 0;
  int64_t rem = 0;
  ASSERT_EQ(kvstore_cf_get_ttl(a, "k", 1, &p, &n, &rem), KVSTORE_OK);
  EXPECT_EQ(std::string(static_cast<char*>(p), static_cast<size_t>(n)), "a");
  EXPECT_GT(rem, 5 * kHour - kMargin);
  snkv_free(p);

  // Expired keys in each; purging one family leaves the others alone.
  for (int i = 0; i < 3; ++i) {
    std::string k = "x" + std::to_string(i);
    ASSERT_EQ(PutTtl(kv_, k, "v", Past()), KVSTORE_OK);
    ASSERT_EQ(CfPutTtl(a, k, "v", Past()), KVSTORE_OK);
    ASSERT_EQ(CfPutTtl(b, k, "v", Past()), KVSTORE_OK);
  }
  ASSERT_EQ(CfPutTtl(a, "x9", "v", Past()), KVSTORE_OK);
  ASSERT_EQ(kvstore_stats_reset(kv_), KVSTORE_OK);
  int deleted = -1;
  ASSERT_EQ(kvstore_cf_purge_expired(a, &deleted), KVSTORE_OK);
  EXPECT_EQ(deleted, 4);
  EXPECT_EQ(CfCount(a), 1);
  EXPECT_EQ(CfCount(b), 4);
  EXPECT_EQ(Count(kv_), 4);
  ASSERT_EQ(kvstore_purge_expired(kv_, &deleted), KVSTORE_OK);
  EXPECT_EQ(deleted, 3);
  EXPECT_EQ(CfCount(b), 4);
  ASSERT_EQ(kvstore_cf_purge_expired(b, &deleted), KVSTORE_OK);
  EXPECT_EQ(deleted, 3);
  EXPECT_EQ(Stats(kv_).nTtlPurged, 10u);
  EXPECT_EQ(CfGet(b, "k"), "b");
  EXPECT_EQ(CfGet(a, "k"), "a");
  EXPECT_EQ(Get(kv_, "k"), "d");

  // Lazy expiry through a family handle.
  ASSERT_EQ(CfPutTtl(b, "gone", "v", Past()), KVSTORE_OK);
  auto r = CfRemaining(b, "gone");
  EXPECT_EQ(r.first, KVSTORE_OK);
  EXPECT_EQ(r.second, 0);
  EXPECT_EQ(CfRemaining(b, "gone").first, KVSTORE_NOTFOUND);
  EXPECT_EQ(CfRemaining(b, "never").first, KVSTORE_NOTFOUND);
  kvstore_cf_close(a);
  kvstore_cf_close(b);
}

// ---- put_if_absent
// ---------------------------------------------------------------

TEST_F(CApiTtl, PutIfAbsentInsertsOnlyNewKeys) {
  int ins = -1;
  ASSERT_EQ(kvstore_put_if_absent(kv_, "lock", 4, "owner1", 6, 0, &ins),
            KVSTORE_OK);
  EXPECT_EQ(ins, 1);
  EXPECT_EQ(Get(kv_, "lock"), "owner1");
  ins = -1;
  ASSERT_EQ(kvstore_put_if_absent(kv_, "lock", 4, "owner2", 6, 0, &ins),
            KVSTORE_OK);
  EXPECT_EQ(ins, 0);
  EXPECT_EQ(Get(kv_, "lock"), "owner1");
  EXPECT_EQ(Remaining(kv_, "lock").second, KVSTORE_NO_TTL);
  // pInserted may be NULL.
  ASSERT_EQ(kvstore_put_if_absent(kv_, "n", 1, "v", 1, 0, nullptr), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "n"), "v");
  ASSERT_EQ(kvstore_put_if_absent(kv_, "n", 1, "w", 1, 0, nullptr), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "n"), "v");
  // The empty key and the empty value work too.
  ASSERT_EQ(kvstore_put_if_absent(kv_, nullptr, 0, nullptr, 0, 0, &ins),
            KVSTORE_OK);
  EXPECT_EQ(ins, 1);
  EXPECT_EQ(Get(kv_, ""), "");
}

TEST_F(CApiTtl, PutIfAbsentLeavesAnExistingKeysExpiryAlone) {
  ASSERT_EQ(PutTtl(kv_, "k", "orig", Later()), KVSTORE_OK);
  int ins = -1;
  ASSERT_EQ(kvstore_put_if_absent(kv_, "k", 1, "new", 3, 0, &ins), KVSTORE_OK);
  EXPECT_EQ(ins, 0);
  auto [rc, rem] = Remaining(kv_, "k");
  ASSERT_EQ(rc, KVSTORE_OK);
  EXPECT_GT(rem, kHour - kMargin);
  EXPECT_LE(rem, kHour);
  ASSERT_EQ(Put(kv_, "p", "plain"), KVSTORE_OK);
  ASSERT_EQ(kvstore_put_if_absent(kv_, "p", 1, "new", 3, Later(), &ins),
            KVSTORE_OK);
  EXPECT_EQ(ins, 0);
  EXPECT_EQ(Remaining(kv_, "p").second, KVSTORE_NO_TTL);
  EXPECT_EQ(Get(kv_, "p"), "plain");
}

TEST_F(CApiTtl, PutIfAbsentTreatsExpiredKeysAsAbsent) {
  ASSERT_EQ(PutTtl(kv_, "k", "stale", Past()), KVSTORE_OK);
  int ins = -1;
  ASSERT_EQ(kvstore_put_if_absent(kv_, "k", 1, "fresh", 5, 0, &ins),
            KVSTORE_OK);
  EXPECT_EQ(ins, 1);
  EXPECT_EQ(Get(kv_, "k"), "fresh");
  EXPECT_EQ(Remaining(kv_, "k").second, KVSTORE_NO_TTL);
  int deleted = -1;
  ASSERT_EQ(kvstore_purge_expired(kv_, &deleted), KVSTORE_OK);
  EXPECT_EQ(deleted, 0);
  EXPECT_EQ(Get(kv_, "k"), "fresh");
}

TEST_F(CApiTtl, PutIfAbsentWithTtl) {
  int ins = -1;
  ASSERT_EQ(kvstore_put_if_absent(kv_, "s", 1, "tok", 3, Later(), &ins),
            KVSTORE_OK);
  EXPECT_EQ(ins, 1);
  auto [rc, rem] = Remaining(kv_, "s");
  ASSERT_EQ(rc, KVSTORE_OK);
  EXPECT_GT(rem, kHour - kMargin);
  EXPECT_LE(rem, kHour);
  // Inserted already expired: absent again at once.
  ASSERT_EQ(kvstore_put_if_absent(kv_, "x", 1, "v", 1, Past(), &ins),
            KVSTORE_OK);
  EXPECT_EQ(ins, 1);
  EXPECT_EQ(Get(kv_, "x"), kNotFound);
  ASSERT_EQ(kvstore_put_if_absent(kv_, "x", 1, "w", 1, 0, &ins), KVSTORE_OK);
  EXPECT_EQ(ins, 1);
  EXPECT_EQ(Get(kv_, "x"), "w");
}

TEST_F(CApiTtl, CfPutIfAbsent) {
  KVColumnFamily* cf = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv_, "locks", &cf), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "k", "default"), KVSTORE_OK);
  int ins = -1;
  ASSERT_EQ(kvstore_cf_put_if_absent(cf, "k", 1, "cf", 2, 0, &ins), KVSTORE_OK);
  EXPECT_EQ(ins, 1) << "a key of another family does not count";
  ASSERT_EQ(kvstore_cf_put_if_absent(cf, "k", 1, "again", 5, 0, &ins),
            KVSTORE_OK);
  EXPECT_EQ(ins, 0);
  EXPECT_EQ(CfGet(cf, "k"), "cf");
  ASSERT_EQ(CfPutTtl(cf, "e", "stale", Past()), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_put_if_absent(cf, "e", 1, "fresh", 5, Later(), &ins),
            KVSTORE_OK);
  EXPECT_EQ(ins, 1);
  EXPECT_EQ(CfGet(cf, "e"), "fresh");
  EXPECT_GT(CfRemaining(cf, "e").second, kHour - kMargin);
  EXPECT_EQ(Get(kv_, "k"), "default");
  kvstore_cf_close(cf);
}

TEST_F(CApiTtl, PutIfAbsentFromManyThreadsHasExactlyOneWinner) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 5;
  std::vector<KVStore*> handles(kThreads, nullptr);
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_NORMAL;
  cfg.busyTimeout = 60000;
  for (auto& h : handles) {
    ASSERT_EQ(kvstore_open_v2(path_.c_str(), &h, &cfg), KVSTORE_OK);
  }
  for (int round = 0; round < kRounds; ++round) {
    std::string key = "lock" + std::to_string(round);
    std::atomic<int> ready{0};
    std::atomic<int> winners{0};
    std::atomic<int> failures{0};
    std::vector<int> won(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        ++ready;
        while (ready.load() < kThreads) std::this_thread::yield();
        std::string value = "owner" + std::to_string(t);
        int ins = -1;
        int rc = kvstore_put_if_absent(
            handles[t], key.data(), static_cast<int>(key.size()), value.data(),
            static_cast<int>(value.size()), 0, &ins);
        if (rc != KVSTORE_OK) ++failures;
        if (rc == KVSTORE_OK && ins == 1) {
          ++winners;
          won[t] = 1;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0) << "round " << round;
    ASSERT_EQ(winners.load(), 1) << "round " << round;
    int winner = -1;
    for (int t = 0; t < kThreads; ++t) {
      if (won[t]) winner = t;
    }
    EXPECT_EQ(Get(kv_, key), "owner" + std::to_string(winner));
  }
  for (KVStore* h : handles) EXPECT_EQ(kvstore_close(h), KVSTORE_OK);
}

TEST_F(CApiTtl, PutIfAbsentOnASharedHandleHasExactlyOneWinner) {
  constexpr int kThreads = 8;
  std::atomic<int> ready{0};
  std::atomic<int> winners{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ++ready;
      while (ready.load() < kThreads) std::this_thread::yield();
      std::string value = "owner" + std::to_string(t);
      int ins = -1;
      int rc = kvstore_put_if_absent(kv_, "lock", 4, value.data(),
                                     static_cast<int>(value.size()), 0, &ins);
      if (rc != KVSTORE_OK) ++failures;
      if (rc == KVSTORE_OK && ins == 1) ++winners;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(Count(kv_), 1);
}

}  // namespace
