// C API: put/get/delete/exists on the default column family, count, clear,
// error messages, the memory macros and kvstore_now_ms.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>

#include "c_api_test_util.h"
#include "kvstore.h"
#include "test_util.h"

namespace {

using snkv::test::Count;
using snkv::test::Get;
using snkv::test::Put;

int Exists(KVStore* kv, const std::string& k) {
  int e = -1;
  int rc = kvstore_exists(kv, k.data(), static_cast<int>(k.size()), &e);
  return rc == KVSTORE_OK ? e : -100 - rc;
}

class CApiKv : public snkv::test::CApiStoreTest {
 protected:
  CApiKv() : CApiStoreTest("kv.db") {}
};

// ---- put / get / delete / exists
// ----------------------------------------------

TEST_F(CApiKv, PutThenGetReturnsTheValue) {
  ASSERT_EQ(Put(kv_, "user:1", "alice"), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "user:1"), "alice");
  EXPECT_EQ(Exists(kv_, "user:1"), 1);
}

TEST_F(CApiKv, PutReplacesTheValue) {
  ASSERT_EQ(Put(kv_, "k", "first value"), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "k", "2nd"), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "k"), "2nd");
  EXPECT_EQ(Count(kv_), 1);
}

TEST_F(CApiKv, DataSurvivesReopen) {
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(Put(kv_, "k" + std::to_string(i), "v" + std::to_string(i)),
              KVSTORE_OK);
  }
  Reopen();
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(Get(kv_, "k" + std::to_string(i)), "v" + std::to_string(i));
  }
}

TEST_F(CApiKv, KeysAndValuesAreBinarySafe) {
  const std::string k1("a\0b", 3), k2("a\0c", 3), k3("a", 1), k4("a\0", 2);
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  ASSERT_EQ(Put(kv_, k1, std::string("v\0one", 5)), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, k2, all_bytes), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, k3, std::string("\0\0\0", 3)), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, k4, "four"), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, all_bytes, "key of all bytes"), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, k1), std::string("v\0one", 5));
  EXPECT_EQ(Get(kv_, k2), all_bytes);
  EXPECT_EQ(Get(kv_, k3), std::string("\0\0\0", 3));
  EXPECT_EQ(Get(kv_, k4), "four");
  EXPECT_EQ(Get(kv_, all_bytes), "key of all bytes");
  EXPECT_EQ(Count(kv_), 5);
  EXPECT_EQ(Get(kv_, std::string("a\0d", 3)), "<rc 12>");
  Reopen();
  EXPECT_EQ(Get(kv_, k2), all_bytes);
  EXPECT_EQ(Get(kv_, k1), std::string("v\0one", 5));
}

TEST_F(CApiKv, EmptyKeyIsAValidKey) {
  ASSERT_EQ(kvstore_put(kv_, nullptr, 0, "empty-key", 9), KVSTORE_OK);
  void* p = nullptr;
  int n = -1;
  ASSERT_EQ(kvstore_get(kv_, nullptr, 0, &p, &n), KVSTORE_OK);
  EXPECT_EQ(std::string(static_cast<char*>(p), static_cast<size_t>(n)),
            "empty-key");
  snkv_free(p);
  // A non-NULL pointer with length 0 names the same key.
  EXPECT_EQ(Get(kv_, ""), "empty-key");
  int e = -1;
  ASSERT_EQ(kvstore_exists(kv_, "xyz", 0, &e), KVSTORE_OK);
  EXPECT_EQ(e, 1);
  ASSERT_EQ(Put(kv_, "a", "other"), KVSTORE_OK);
  EXPECT_EQ(Count(kv_), 2);
  EXPECT_EQ(kvstore_delete(kv_, nullptr, 0), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, ""), "<rc 12>");
  EXPECT_EQ(Get(kv_, "a"), "other");
}

TEST_F(CApiKv, EmptyValueIsReturnedAsNonNullZeroLengthBuffer) {
  ASSERT_EQ(kvstore_put(kv_, "k", 1, nullptr, 0), KVSTORE_OK);
  void* p = nullptr;
  int n = -1;
  ASSERT_EQ(kvstore_get(kv_, "k", 1, &p, &n), KVSTORE_OK);
  EXPECT_NE(p, nullptr);
  EXPECT_EQ(n, 0);
  snkv_free(p);
  EXPECT_EQ(Exists(kv_, "k"), 1);
  ASSERT_EQ(kvstore_put(kv_, "k2", 2, "ignored", 0), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "k2"), "");
}

TEST_F(CApiKv, LargeValueRoundTrips) {
  std::string big(10 * 1024 * 1024, '\0');
  uint32_t x = 2463534242u;
  for (char& c : big) {  // xorshift: no two pages alike
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  ASSERT_EQ(Put(kv_, "big", big), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "small", "s"), KVSTORE_OK);
  EXPECT_TRUE(Get(kv_, "big") == big);
  Reopen();
  EXPECT_TRUE(Get(kv_, "big") == big);
  EXPECT_EQ(Get(kv_, "small"), "s");
  EXPECT_EQ(kvstore_delete(kv_, "big", 3), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "big"), "<rc 12>");
}

TEST_F(CApiKv, LongKeyRoundTrips) {
  std::string key(100000, 'k');
  key[50000] = '\0';
  ASSERT_EQ(Put(kv_, key, "long"), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, key), "long");
  std::string other = key;
  other.back() = 'j';
  EXPECT_EQ(Get(kv_, other), "<rc 12>");
}

TEST_F(CApiKv, MissingKeys) {
  EXPECT_EQ(Get(kv_, "nope"), "<rc 12>");
  EXPECT_EQ(kvstore_delete(kv_, "nope", 4), KVSTORE_NOTFOUND);
  EXPECT_EQ(Exists(kv_, "nope"), 0);
  ASSERT_EQ(Put(kv_, "k", "v"), KVSTORE_OK);
  EXPECT_EQ(kvstore_delete(kv_, "k", 1), KVSTORE_OK);
  EXPECT_EQ(kvstore_delete(kv_, "k", 1), KVSTORE_NOTFOUND);
  EXPECT_EQ(Get(kv_, "k"), "<rc 12>");
  EXPECT_EQ(Exists(kv_, "k"), 0);
  // A prefix or extension of an existing key is a different key.
  ASSERT_EQ(Put(kv_, "abc", "v"), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "ab"), "<rc 12>");
  EXPECT_EQ(Get(kv_, "abcd"), "<rc 12>");
}

TEST_F(CApiKv, OutputsAreNotWrittenOnFailure) {
  void* p = reinterpret_cast<void*>(0x1234);
  int n = 777;
  EXPECT_EQ(kvstore_get(kv_, "nope", 4, &p, &n), KVSTORE_NOTFOUND);
  EXPECT_EQ(p, reinterpret_cast<void*>(0x1234));
  EXPECT_EQ(n, 777);
  int e = 5;
  EXPECT_EQ(kvstore_exists(kv_, "k", -1, &e), KVSTORE_ERROR);
  EXPECT_EQ(e, 5);
  int64_t c = 99;
  EXPECT_EQ(kvstore_count(nullptr, &c), KVSTORE_ERROR);
  EXPECT_EQ(c, 99);
}

TEST_F(CApiKv, InvalidArgumentsAreErrors) {
  ASSERT_EQ(Put(kv_, "k", "v"), KVSTORE_OK);
  void* p = nullptr;
  int n = 0;
  int e = 0;
  int64_t rem = 0;
  int ins = 0;
  // Negative lengths.
  EXPECT_EQ(kvstore_put(kv_, "k", -1, "v", 1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_put(kv_, "k", 1, "v", -1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_put(kv_, "k", INT32_MIN, "v", 1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_get(kv_, "k", -1, &p, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_delete(kv_, "k", -1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_exists(kv_, "k", -1, &e), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_put_ttl(kv_, "k", -1, "v", 1, 0), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_put_ttl(kv_, "k", 1, "v", -5, 0), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_get_ttl(kv_, "k", -1, &p, &n, &rem), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_ttl_remaining(kv_, "k", -1, &rem), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_put_if_absent(kv_, "k", -1, "v", 1, 0, &ins),
            KVSTORE_ERROR);
  EXPECT_EQ(kvstore_put_if_absent(kv_, "z", 1, "v", -1, 0, &ins),
            KVSTORE_ERROR);
  // NULL pointers with a positive length.
  EXPECT_EQ(kvstore_put(kv_, nullptr, 1, "v", 1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_put(kv_, "k", 1, nullptr, 1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_get(kv_, nullptr, 1, &p, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_delete(kv_, nullptr, 3), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_exists(kv_, nullptr, 3, &e), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_put_ttl(kv_, nullptr, 1, "v", 1, 0), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_put_if_absent(kv_, "z", 1, nullptr, 4, 0, &ins),
            KVSTORE_ERROR);
  // NULL handles and required outputs.
  EXPECT_EQ(kvstore_put(nullptr, "k", 1, "v", 1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_get(nullptr, "k", 1, &p, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_delete(nullptr, "k", 1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_exists(nullptr, "k", 1, &e), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_get(kv_, "k", 1, nullptr, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_get(kv_, "k", 1, &p, nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_exists(kv_, "k", 1, nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_count(kv_, nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_count(nullptr, nullptr), KVSTORE_ERROR);
  // Nothing was changed, and the store still works.
  EXPECT_EQ(Count(kv_), 1);
  EXPECT_EQ(Get(kv_, "k"), "v");
  EXPECT_EQ(Exists(kv_, "z"), 0);
  EXPECT_EQ(Put(kv_, "k2", "v2"), KVSTORE_OK);
}

// ---- count
// -------------------------------------------------------------------------

TEST_F(CApiKv, CountFollowsInsertsAndDeletes) {
  EXPECT_EQ(Count(kv_), 0);
  for (int i = 0; i < 250; ++i) {
    ASSERT_EQ(Put(kv_, "k" + std::to_string(i), "v"), KVSTORE_OK);
  }
  EXPECT_EQ(Count(kv_), 250);
  ASSERT_EQ(Put(kv_, "k7", "replaced"), KVSTORE_OK);
  EXPECT_EQ(Count(kv_), 250);
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(
        kvstore_delete(kv_, ("k" + std::to_string(i)).c_str(),
                       static_cast<int>(("k" + std::to_string(i)).size())),
        KVSTORE_OK);
  }
  EXPECT_EQ(Count(kv_), 200);
  Reopen();
  EXPECT_EQ(Count(kv_), 200);
}

TEST_F(CApiKv, CountIsPerColumnFamily) {
  KVColumnFamily* cf = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv_, "other", &cf), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "a", "1"), KVSTORE_OK);
  for (int i = 0; i < 5; ++i) {
    std::string k = "c" + std::to_string(i);
    ASSERT_EQ(kvstore_cf_put(cf, k.data(), static_cast<int>(k.size()), "v", 1),
              KVSTORE_OK);
  }
  int64_t n = -1;
  ASSERT_EQ(kvstore_cf_count(cf, &n), KVSTORE_OK);
  EXPECT_EQ(n, 5);
  EXPECT_EQ(Count(kv_), 1);
  EXPECT_EQ(kvstore_cf_count(cf, nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_count(nullptr, &n), KVSTORE_ERROR);
  kvstore_cf_close(cf);
}

// ---- clear
// ---------------------------------------------------------------------------

TEST_F(CApiKv, ClearEmptiesOnlyItsColumnFamily) {
  KVColumnFamily* a = nullptr;
  KVColumnFamily* b = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv_, "a", &a), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_create(kv_, "b", &b), KVSTORE_OK);
  for (int i = 0; i < 500; ++i) {
    std::string k = "key" + std::to_string(i);
    int nk = static_cast<int>(k.size());
    ASSERT_EQ(kvstore_put(kv_, k.data(), nk, "d", 1), KVSTORE_OK);
    ASSERT_EQ(kvstore_cf_put(a, k.data(), nk, "a", 1), KVSTORE_OK);
    ASSERT_EQ(kvstore_cf_put(b, k.data(), nk, "b", 1), KVSTORE_OK);
  }
  ASSERT_EQ(kvstore_cf_clear(a), KVSTORE_OK);
  int64_t n = -1;
  ASSERT_EQ(kvstore_cf_count(a, &n), KVSTORE_OK);
  EXPECT_EQ(n, 0);
  ASSERT_EQ(kvstore_cf_count(b, &n), KVSTORE_OK);
  EXPECT_EQ(n, 500);
  EXPECT_EQ(Count(kv_), 500);
  int e = -1;
  ASSERT_EQ(kvstore_cf_exists(a, "key1", 4, &e), KVSTORE_OK);
  EXPECT_EQ(e, 0);

  ASSERT_EQ(kvstore_clear(kv_), KVSTORE_OK);
  EXPECT_EQ(Count(kv_), 0);
  EXPECT_EQ(Get(kv_, "key1"), "<rc 12>");
  ASSERT_EQ(kvstore_cf_count(b, &n), KVSTORE_OK);
  EXPECT_EQ(n, 500);

  // Inserts work right after a clear.
  ASSERT_EQ(Put(kv_, "fresh", "1"), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_put(a, "fresh", 5, "2", 1), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "fresh"), "1");
  EXPECT_EQ(Count(kv_), 1);
  ASSERT_EQ(kvstore_cf_count(a, &n), KVSTORE_OK);
  EXPECT_EQ(n, 1);
  kvstore_cf_close(a);
  kvstore_cf_close(b);
  Reopen();
  EXPECT_EQ(Count(kv_), 1);
}

TEST_F(CApiKv, ClearRemovesKeysWithTtl) {
  int64_t later = kvstore_now_ms() + 3600 * 1000;
  ASSERT_EQ(kvstore_put_ttl(kv_, "t1", 2, "v", 1, later), KVSTORE_OK);
  ASSERT_EQ(kvstore_put_ttl(kv_, "t2", 2, "v", 1, kvstore_now_ms() - 2),
            KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "p", "v"), KVSTORE_OK);
  ASSERT_EQ(kvstore_clear(kv_), KVSTORE_OK);
  int64_t rem = 0;
  EXPECT_EQ(kvstore_ttl_remaining(kv_, "t1", 2, &rem), KVSTORE_NOTFOUND);
  int purged = -1;
  ASSERT_EQ(kvstore_purge_expired(kv_, &purged), KVSTORE_OK);
  EXPECT_EQ(purged, 0);
  EXPECT_EQ(Count(kv_), 0);
  // TTL writes work again after the clear.
  ASSERT_EQ(kvstore_put_ttl(kv_, "t1", 2, "w", 1, later), KVSTORE_OK);
  ASSERT_EQ(kvstore_ttl_remaining(kv_, "t1", 2, &rem), KVSTORE_OK);
  EXPECT_GT(rem, 0);
}

TEST_F(CApiKv, ClearIsUndoneByRollback) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(Put(kv_, "k" + std::to_string(i), "v"), KVSTORE_OK);
  }
  ASSERT_EQ(kvstore_begin(kv_, 1), KVSTORE_OK);
  ASSERT_EQ(kvstore_clear(kv_), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "k3"), "<rc 12>");
  ASSERT_EQ(kvstore_rollback(kv_), KVSTORE_OK);
  EXPECT_EQ(Count(kv_), 10);
  EXPECT_EQ(Get(kv_, "k3"), "v");
}

TEST_F(CApiKv, ClearOfEmptyStoreIsOk) {
  EXPECT_EQ(kvstore_clear(kv_), KVSTORE_OK);
  EXPECT_EQ(Count(kv_), 0);
  EXPECT_EQ(kvstore_clear(nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_clear(nullptr), KVSTORE_ERROR);
}

// ---- errmsg
// ----------------------------------------------------------------------------

TEST_F(CApiKv, ErrmsgIsNotAnErrorOnAFreshHandle) {
  ASSERT_NE(kvstore_errmsg(kv_), nullptr);
  EXPECT_STREQ(kvstore_errmsg(kv_), "not an error");
}

TEST_F(CApiKv, ErrmsgDescribesTheLastError) {
  KVColumnFamily* cf = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv_, "dup", &cf), KVSTORE_OK);
  kvstore_cf_close(cf);
  ASSERT_EQ(kvstore_cf_create(kv_, "dup", &cf), KVSTORE_ERROR);
  std::string m1 = kvstore_errmsg(kv_);
  EXPECT_FALSE(m1.empty());
  EXPECT_NE(m1, "not an error");

  ASSERT_EQ(kvstore_cf_drop(kv_, "default"), KVSTORE_ERROR);
  std::string m2 = kvstore_errmsg(kv_);
  EXPECT_FALSE(m2.empty());
  EXPECT_NE(m2, "not an error");
  EXPECT_NE(m2, m1);
}

TEST_F(CApiKv, ErrmsgDescribesInvalidArguments) {
  // Leave a first, different message behind.
  ASSERT_EQ(kvstore_cf_drop(kv_, "default"), KVSTORE_ERROR);
  std::string before = kvstore_errmsg(kv_);
  ASSERT_EQ(kvstore_put(kv_, "k", -1, "v", 1), KVSTORE_ERROR);
  std::string after = kvstore_errmsg(kv_);
  EXPECT_FALSE(after.empty());
  EXPECT_NE(after, "not an error");
  EXPECT_NE(after, before) << "errmsg must describe the failed put";
}

TEST_F(CApiKv, ErrmsgOfReadOnlyWrite) {
  ASSERT_EQ(kvstore_begin(kv_, 0), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "k", "v"), KVSTORE_READONLY);
  EXPECT_STRNE(kvstore_errmsg(kv_), "not an error");
  EXPECT_GT(std::strlen(kvstore_errmsg(kv_)), 0u);
  ASSERT_EQ(kvstore_commit(kv_), KVSTORE_OK);
}

// ---- memory
// ---------------------------------------------------------------------------

TEST(CApiMemory, MallocReturnsZeroedMemory) {
  auto* p = static_cast<unsigned char*>(sqliteMalloc(1000));
  ASSERT_NE(p, nullptr);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(p[i], 0) << i;
  std::memset(p, 0xAB, 1000);
  sqliteFree(p);
  auto* q = static_cast<unsigned char*>(snkv_malloc(64));
  ASSERT_NE(q, nullptr);
  for (int i = 0; i < 64; ++i) ASSERT_EQ(q[i], 0) << i;
  snkv_free(q);
  auto* r = static_cast<unsigned char*>(kvstore_malloc_zeroed(333));
  ASSERT_NE(r, nullptr);
  for (int i = 0; i < 333; ++i) ASSERT_EQ(r[i], 0) << i;
  sqliteFree(r);
}

TEST(CApiMemory, ReallocKeepsContents) {
  auto* p = static_cast<char*>(sqliteMalloc(4));
  ASSERT_NE(p, nullptr);
  std::memcpy(p, "abcd", 4);
  p = static_cast<char*>(sqliteRealloc(p, 100000));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(std::string(p, 4), "abcd");
  p[99999] = 'z';
  sqliteFree(p);
}

TEST(CApiMemory, StrDupCopies) {
  char src[] = "column-family";
  char* d = sqliteStrDup(src);
  ASSERT_NE(d, nullptr);
  EXPECT_NE(d, src);
  EXPECT_STREQ(d, "column-family");
  src[0] = 'X';
  EXPECT_STREQ(d, "column-family");
  sqliteFree(d);
}

TEST(CApiMemory, FreeOfNullIsHarmless) {
  sqliteFree(nullptr);
  snkv_free(nullptr);
  SUCCEED();
}

TEST(CApiMemory, ReturnedBuffersComeFromSqlitesAllocator) {
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open_v2(nullptr, &kv, nullptr), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "k", "hello"), KVSTORE_OK);
  void* p = nullptr;
  int n = 0;
  ASSERT_EQ(kvstore_get(kv, "k", 1, &p, &n), KVSTORE_OK);
  ASSERT_EQ(n, 5);
  EXPECT_GE(sqlite3_msize(p), 5u);
  // Growing it with sqliteRealloc keeps the bytes.
  p = sqliteRealloc(p, 4096);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(std::string(static_cast<char*>(p), 5), "hello");
  sqliteFree(p);

  char** names = nullptr;
  int count = 0;
  ASSERT_EQ(kvstore_cf_list(kv, &names, &count), KVSTORE_OK);
  ASSERT_EQ(count, 1);
  EXPECT_GE(sqlite3_msize(names), sizeof(char*));
  EXPECT_GE(sqlite3_msize(names[0]), 8u);  // "default\0"
  sqliteFree(names[0]);
  sqliteFree(names);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// ---- clock
// ------------------------------------------------------------------------------

TEST(CApiClock, NowMsIsTheUnixTimeInMilliseconds) {
  using namespace std::chrono;
  int64_t before =
      duration_cast<milliseconds>(system_clock::now().time_since_epoch())
          .count();
  int64_t now = kvstore_now_ms();
  int64_t after =
      duration_cast<milliseconds>(system_clock::now().time_since_epoch())
          .count();
  // Generous margins: only the unit and the epoch are checked.
  EXPECT_GE(now, before - 60000);
  EXPECT_LE(now, after + 60000);
  EXPECT_GT(now, int64_t{1600000000000});  // after September 2020, in ms
}

}  // namespace
