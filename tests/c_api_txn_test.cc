// C API: explicit read and write transactions.
#include <gtest/gtest.h>

#include <string>

#include "c_api_test_util.h"
#include "kvstore.h"
#include "test_util.h"

namespace {

using snkv::test::CfGet;
using snkv::test::Count;
using snkv::test::Get;
using snkv::test::kNotFound;
using snkv::test::OpenWal;
using snkv::test::Put;
using snkv::test::TempDir;

class CApiTxn : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("txn.db");
    kv_ = Open();
    ASSERT_NE(kv_, nullptr);
  }
  void TearDown() override { EXPECT_EQ(kvstore_close(kv_), KVSTORE_OK); }
  KVStore* Open(int busy_timeout = 0) { return OpenWal(path_, busy_timeout); }

  TempDir dir_;
  std::string path_;
  KVStore* kv_ = nullptr;
};

TEST_F(CApiTxn, CommitMakesAllWritesVisibleAtOnce) {
  KVStore* other = Open();
  ASSERT_EQ(Put(kv_, "old", "1"), KVSTORE_OK);
  ASSERT_EQ(kvstore_begin(kv_, 1), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "a", "1"), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "b", "2"), KVSTORE_OK);
  ASSERT_EQ(kvstore_delete(kv_, "old", 3), KVSTORE_OK);
  // The writer sees its own writes; nobody else does yet.
  EXPECT_EQ(Get(kv_, "a"), "1");
  EXPECT_EQ(Get(kv_, "old"), kNotFound);
  EXPECT_EQ(Get(other, "a"), kNotFound);
  EXPECT_EQ(Get(other, "old"), "1");
  ASSERT_EQ(kvstore_commit(kv_), KVSTORE_OK);
  EXPECT_EQ(Get(other, "a"), "1");
  EXPECT_EQ(Get(other, "b"), "2");
  EXPECT_EQ(Get(other, "old"), kNotFound);
  EXPECT_EQ(kvstore_close(other), KVSTORE_OK);

  ASSERT_EQ(kvstore_close(kv_), KVSTORE_OK);
  kv_ = Open();
  EXPECT_EQ(Get(kv_, "b"), "2");
}

TEST_F(CApiTxn, RollbackDiscardsEverything) {
  ASSERT_EQ(Put(kv_, "keep", "orig"), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "del", "orig"), KVSTORE_OK);
  ASSERT_EQ(kvstore_begin(kv_, 1), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "keep", "changed"), KVSTORE_OK);
  ASSERT_EQ(kvstore_delete(kv_, "del", 3), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "new", "x"), KVSTORE_OK);
  ASSERT_EQ(kvstore_put_ttl(kv_, "ttl", 3, "x", 1, kvstore_now_ms() + 60000),
            KVSTORE_OK);
  ASSERT_EQ(kvstore_rollback(kv_), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "keep"), "orig");
  EXPECT_EQ(Get(kv_, "del"), "orig");
  EXPECT_EQ(Get(kv_, "new"), kNotFound);
  EXPECT_EQ(Get(kv_, "ttl"), kNotFound);
  EXPECT_EQ(Count(kv_), 2);
  // TTL writes still work after a rolled-back first TTL write.
  ASSERT_EQ(kvstore_put_ttl(kv_, "ttl", 3, "y", 1, kvstore_now_ms() + 60000),
            KVSTORE_OK);
  int64_t rem = 0;
  ASSERT_EQ(kvstore_ttl_remaining(kv_, "ttl", 3, &rem), KVSTORE_OK);
  EXPECT_GT(rem, 0);
  int purged = -1;
  ASSERT_EQ(kvstore_purge_expired(kv_, &purged), KVSTORE_OK);
  EXPECT_EQ(purged, 0);
}

TEST_F(CApiTxn, BeginInsideATransactionIsAnError) {
  ASSERT_EQ(kvstore_begin(kv_, 1), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "a", "1"), KVSTORE_OK);
  EXPECT_EQ(kvstore_begin(kv_, 1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_begin(kv_, 0), KVSTORE_ERROR);
  // The outer transaction is still open and intact.
  ASSERT_EQ(Put(kv_, "b", "2"), KVSTORE_OK);
  ASSERT_EQ(kvstore_rollback(kv_), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "a"), kNotFound);
  EXPECT_EQ(Get(kv_, "b"), kNotFound);

  ASSERT_EQ(kvstore_begin(kv_, 0), KVSTORE_OK);
  EXPECT_EQ(kvstore_begin(kv_, 1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_begin(kv_, 0), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_commit(kv_), KVSTORE_OK);
}

TEST_F(CApiTxn, CommitOrRollbackWithoutTransactionIsAnError) {
  EXPECT_EQ(kvstore_commit(kv_), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_rollback(kv_), KVSTORE_ERROR);
  ASSERT_EQ(kvstore_begin(kv_, 1), KVSTORE_OK);
  ASSERT_EQ(kvstore_commit(kv_), KVSTORE_OK);
  EXPECT_EQ(kvstore_commit(kv_), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_rollback(kv_), KVSTORE_ERROR);
  ASSERT_EQ(kvstore_begin(kv_, 0), KVSTORE_OK);
  ASSERT_EQ(kvstore_rollback(kv_), KVSTORE_OK);
  EXPECT_EQ(kvstore_rollback(kv_), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_begin(nullptr, 1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_commit(nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_rollback(nullptr), KVSTORE_ERROR);
  // Autocommit writes still work.
  ASSERT_EQ(Put(kv_, "a", "1"), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "a"), "1");
}

TEST_F(CApiTxn, WritesInsideAReadTransactionAreReadOnly) {
  ASSERT_EQ(Put(kv_, "k", "v"), KVSTORE_OK);
  KVColumnFamily* cf = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv_, "c", &cf), KVSTORE_OK);
  ASSERT_EQ(kvstore_begin(kv_, 0), KVSTORE_OK);
  int ins = -1;
  int purged = -1;
  EXPECT_EQ(Put(kv_, "k", "w"), KVSTORE_READONLY);
  EXPECT_EQ(Put(kv_, "n", "w"), KVSTORE_READONLY);
  EXPECT_EQ(kvstore_delete(kv_, "k", 1), KVSTORE_READONLY);
  EXPECT_EQ(kvstore_put_ttl(kv_, "t", 1, "v", 1, kvstore_now_ms() + 9999),
            KVSTORE_READONLY);
  EXPECT_EQ(kvstore_put_if_absent(kv_, "n", 1, "v", 1, 0, &ins),
            KVSTORE_READONLY);
  EXPECT_EQ(kvstore_purge_expired(kv_, &purged), KVSTORE_READONLY);
  EXPECT_EQ(kvstore_clear(kv_), KVSTORE_READONLY);
  EXPECT_EQ(kvstore_cf_put(cf, "a", 1, "b", 1), KVSTORE_READONLY);
  EXPECT_EQ(kvstore_cf_delete(cf, "a", 1), KVSTORE_READONLY);
  EXPECT_EQ(kvstore_cf_clear(cf), KVSTORE_READONLY);
  KVColumnFamily* cf2 = nullptr;
  EXPECT_EQ(kvstore_cf_create(kv_, "d", &cf2), KVSTORE_READONLY);
  EXPECT_EQ(cf2, nullptr);
  EXPECT_EQ(kvstore_cf_drop(kv_, "c"), KVSTORE_READONLY);
  // Reads work, and the read transaction is still open.
  EXPECT_EQ(Get(kv_, "k"), "v");
  EXPECT_EQ(kvstore_begin(kv_, 0), KVSTORE_ERROR);
  ASSERT_EQ(kvstore_commit(kv_), KVSTORE_OK);
  // Nothing was written; writes work again.
  EXPECT_EQ(Get(kv_, "k"), "v");
  EXPECT_EQ(Get(kv_, "n"), kNotFound);
  ASSERT_EQ(Put(kv_, "n", "now"), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_put(cf, "a", 1, "b", 1), KVSTORE_OK);
  kvstore_cf_close(cf);
}

TEST_F(CApiTxn, ReadTransactionSeesOneSnapshot) {
  ASSERT_EQ(Put(kv_, "k", "v1"), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "gone", "x"), KVSTORE_OK);
  KVStore* writer = Open();
  ASSERT_EQ(kvstore_begin(kv_, 0), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "k"), "v1");

  // Another handle commits changes while the read transaction is open.
  ASSERT_EQ(Put(writer, "k", "v2"), KVSTORE_OK);
  ASSERT_EQ(Put(writer, "added", "x"), KVSTORE_OK);
  ASSERT_EQ(kvstore_delete(writer, "gone", 4), KVSTORE_OK);
  EXPECT_EQ(Get(writer, "k"), "v2");

  EXPECT_EQ(Get(kv_, "k"), "v1");
  EXPECT_EQ(Get(kv_, "added"), kNotFound);
  EXPECT_EQ(Get(kv_, "gone"), "x");
  int e = -1;
  ASSERT_EQ(kvstore_exists(kv_, "added", 5, &e), KVSTORE_OK);
  EXPECT_EQ(e, 0);
  EXPECT_EQ(Count(kv_), 2);
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_iterator_create(kv_, &it), KVSTORE_OK);
  int n = 0;
  for (kvstore_iterator_first(it); !kvstore_iterator_eof(it);
       kvstore_iterator_next(it)) {
    ++n;
  }
  kvstore_iterator_close(it);
  EXPECT_EQ(n, 2);

  ASSERT_EQ(kvstore_commit(kv_), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "k"), "v2");
  EXPECT_EQ(Get(kv_, "added"), "x");
  EXPECT_EQ(Get(kv_, "gone"), kNotFound);
  EXPECT_EQ(kvstore_close(writer), KVSTORE_OK);
}

TEST_F(CApiTxn, WriteTransactionIsAtomicAcrossColumnFamilies) {
  KVColumnFamily* a = nullptr;
  KVColumnFamily* b = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv_, "a", &a), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_create(kv_, "b", &b), KVSTORE_OK);
  KVStore* other = Open();
  KVColumnFamily* other_a = nullptr;
  ASSERT_EQ(kvstore_cf_open(other, "a", &other_a), KVSTORE_OK);

  ASSERT_EQ(kvstore_begin(kv_, 1), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "k", "default"), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_put(a, "k", 1, "a", 1), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_put(b, "k", 1, "b", 1), KVSTORE_OK);
  ASSERT_EQ(kvstore_rollback(kv_), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "k"), kNotFound);
  EXPECT_EQ(CfGet(a, "k"), kNotFound);
  EXPECT_EQ(CfGet(b, "k"), kNotFound);

  ASSERT_EQ(kvstore_begin(kv_, 1), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "k", "default"), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_put(a, "k", 1, "a", 1), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_put(b, "k", 1, "b", 1), KVSTORE_OK);
  EXPECT_EQ(CfGet(other_a, "k"), kNotFound);
  EXPECT_EQ(Get(other, "k"), kNotFound);
  ASSERT_EQ(kvstore_commit(kv_), KVSTORE_OK);
  EXPECT_EQ(CfGet(other_a, "k"), "a");
  EXPECT_EQ(Get(other, "k"), "default");
  EXPECT_EQ(CfGet(b, "k"), "b");

  kvstore_cf_close(other_a);
  EXPECT_EQ(kvstore_close(other), KVSTORE_OK);
  kvstore_cf_close(a);
  kvstore_cf_close(b);
}

TEST_F(CApiTxn, FailedCallsDoNotEndTheTransaction) {
  ASSERT_EQ(kvstore_begin(kv_, 1), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "a", "1"), KVSTORE_OK);
  EXPECT_EQ(kvstore_delete(kv_, "missing", 7), KVSTORE_NOTFOUND);
  EXPECT_EQ(kvstore_put(kv_, "x", -1, "v", 1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_put_ttl(kv_, "x", 1, "v", 1, -5), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_drop(kv_, "default"), KVSTORE_ERROR);
  KVColumnFamily* cf = nullptr;
  EXPECT_EQ(kvstore_cf_open(kv_, "missing", &cf), KVSTORE_NOTFOUND);
  ASSERT_EQ(Put(kv_, "b", "2"), KVSTORE_OK);
  ASSERT_EQ(kvstore_commit(kv_), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "a"), "1");
  EXPECT_EQ(Get(kv_, "b"), "2");

  // A failed call inside a transaction does not commit it either.
  ASSERT_EQ(kvstore_begin(kv_, 1), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "c", "3"), KVSTORE_OK);
  EXPECT_EQ(kvstore_delete(kv_, "missing", 7), KVSTORE_NOTFOUND);
  ASSERT_EQ(kvstore_rollback(kv_), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "c"), kNotFound);
}

TEST_F(CApiTxn, WriteTransactionExcludesOtherWriters) {
  KVStore* other = Open(/*busy_timeout=*/0);
  ASSERT_EQ(kvstore_begin(kv_, 1), KVSTORE_OK);
  EXPECT_EQ(Put(other, "x", "1"), KVSTORE_BUSY);
  EXPECT_EQ(kvstore_begin(other, 1), KVSTORE_BUSY);
  // But readers are fine in WAL mode.
  EXPECT_EQ(kvstore_begin(other, 0), KVSTORE_OK);
  EXPECT_EQ(Get(other, "x"), kNotFound);
  EXPECT_EQ(kvstore_commit(other), KVSTORE_OK);
  ASSERT_EQ(kvstore_commit(kv_), KVSTORE_OK);
  EXPECT_EQ(Put(other, "x", "1"), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "x"), "1");
  EXPECT_EQ(kvstore_close(other), KVSTORE_OK);
}

TEST_F(CApiTxn, LargeTransaction) {
  ASSERT_EQ(kvstore_begin(kv_, 1), KVSTORE_OK);
  for (int i = 0; i < 20000; ++i) {
    ASSERT_EQ(Put(kv_, "key" + std::to_string(i), std::string(100, 'v')),
              KVSTORE_OK);
  }
  ASSERT_EQ(kvstore_commit(kv_), KVSTORE_OK);
  EXPECT_EQ(Count(kv_), 20000);
  ASSERT_EQ(kvstore_begin(kv_, 1), KVSTORE_OK);
  ASSERT_EQ(kvstore_clear(kv_), KVSTORE_OK);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(Put(kv_, "n" + std::to_string(i), "v"), KVSTORE_OK);
  }
  ASSERT_EQ(kvstore_rollback(kv_), KVSTORE_OK);
  EXPECT_EQ(Count(kv_), 20000);
  EXPECT_EQ(Get(kv_, "n1"), kNotFound);
}

}  // namespace
