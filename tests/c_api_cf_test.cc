// C API: column families (create/open/get_default/drop/list/close) and the
// cf_* data operations.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "c_api_test_util.h"
#include "kvstore.h"
#include "test_util.h"

namespace {

using snkv::test::CfCount;
using snkv::test::CfGet;
using snkv::test::CfPut;
using snkv::test::Get;
using snkv::test::TempDir;

std::vector<std::string> List(KVStore* kv) {
  char** names = reinterpret_cast<char**>(0x1);
  int count = -1;
  int rc = kvstore_cf_list(kv, &names, &count);
  EXPECT_EQ(rc, KVSTORE_OK);
  std::vector<std::string> out;
  if (rc != KVSTORE_OK) return out;
  for (int i = 0; i < count; ++i) {
    out.emplace_back(names[i]);
    snkv_free(names[i]);
  }
  snkv_free(names);
  return out;
}

class CApiCf : public snkv::test::CApiStoreTest {
 protected:
  CApiCf() : CApiStoreTest("cf.db") {}
  KVColumnFamily* Create(const std::string& name) {
    KVColumnFamily* cf = nullptr;
    EXPECT_EQ(kvstore_cf_create(kv_, name.c_str(), &cf), KVSTORE_OK)
        << kvstore_errmsg(kv_);
    return cf;
  }
};

TEST_F(CApiCf, CreatePutGetAndOpenAgain) {
  KVColumnFamily* users = Create("users");
  ASSERT_NE(users, nullptr);
  ASSERT_EQ(CfPut(users, "u1", "alice"), KVSTORE_OK);
  EXPECT_EQ(CfGet(users, "u1"), "alice");
  int e = -1;
  ASSERT_EQ(kvstore_cf_exists(users, "u1", 2, &e), KVSTORE_OK);
  EXPECT_EQ(e, 1);

  // A second handle on the same family sees the same data.
  KVColumnFamily* again = nullptr;
  ASSERT_EQ(kvstore_cf_open(kv_, "users", &again), KVSTORE_OK);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(CfGet(again, "u1"), "alice");
  ASSERT_EQ(CfPut(again, "u2", "bob"), KVSTORE_OK);
  EXPECT_EQ(CfGet(users, "u2"), "bob");
  ASSERT_EQ(kvstore_cf_delete(users, "u1", 2), KVSTORE_OK);
  EXPECT_EQ(kvstore_cf_delete(again, "u1", 2), KVSTORE_NOTFOUND);
  ASSERT_EQ(kvstore_cf_exists(again, "u1", 2, &e), KVSTORE_OK);
  EXPECT_EQ(e, 0);
  kvstore_cf_close(users);
  kvstore_cf_close(again);

  // Closing handles does not touch data; families persist.
  Reopen();
  KVColumnFamily* cf = nullptr;
  ASSERT_EQ(kvstore_cf_open(kv_, "users", &cf), KVSTORE_OK);
  EXPECT_EQ(CfGet(cf, "u2"), "bob");
  EXPECT_EQ(CfGet(cf, "u1"), "<rc 12>");
  kvstore_cf_close(cf);
}

TEST_F(CApiCf, FamiliesAreSeparateKeySpaces) {
  KVColumnFamily* a = Create("a");
  KVColumnFamily* b = Create("b");
  ASSERT_EQ(kvstore_put(kv_, "k", 1, "default", 7), KVSTORE_OK);
  ASSERT_EQ(CfPut(a, "k", "in a"), KVSTORE_OK);
  ASSERT_EQ(CfPut(b, "k", "in b"), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "k"), "default");
  EXPECT_EQ(CfGet(a, "k"), "in a");
  EXPECT_EQ(CfGet(b, "k"), "in b");
  ASSERT_EQ(kvstore_cf_delete(a, "k", 1), KVSTORE_OK);
  EXPECT_EQ(CfGet(a, "k"), "<rc 12>");
  EXPECT_EQ(CfGet(b, "k"), "in b");
  EXPECT_EQ(Get(kv_, "k"), "default");
  ASSERT_EQ(CfPut(a, "only-a", "x"), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "only-a"), "<rc 12>");
  kvstore_cf_close(a);
  kvstore_cf_close(b);
}

TEST_F(CApiCf, CfOperationsAreBinarySafe) {
  KVColumnFamily* cf = Create("bin");
  const std::string key("\0k\xff", 3), value("\xff\0v\0", 4);
  ASSERT_EQ(CfPut(cf, key, value), KVSTORE_OK);
  EXPECT_EQ(CfGet(cf, key), value);
  ASSERT_EQ(kvstore_cf_put(cf, nullptr, 0, nullptr, 0), KVSTORE_OK);
  void* p = nullptr;
  int n = -1;
  ASSERT_EQ(kvstore_cf_get(cf, nullptr, 0, &p, &n), KVSTORE_OK);
  EXPECT_NE(p, nullptr);
  EXPECT_EQ(n, 0);
  snkv_free(p);
  EXPECT_EQ(CfCount(cf), 2);
  kvstore_cf_close(cf);
}

TEST_F(CApiCf, CfOperationsRejectInvalidArguments) {
  KVColumnFamily* cf = Create("x");
  void* p = nullptr;
  int n = 0;
  int e = 0;
  EXPECT_EQ(kvstore_cf_put(cf, "k", -1, "v", 1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_put(cf, "k", 1, "v", -1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_put(cf, nullptr, 1, "v", 1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_put(cf, "k", 1, nullptr, 1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_get(cf, "k", -1, &p, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_get(cf, nullptr, 2, &p, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_delete(cf, "k", -1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_exists(cf, "k", -1, &e), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_exists(cf, "k", 1, nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_put(nullptr, "k", 1, "v", 1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_get(nullptr, "k", 1, &p, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_delete(nullptr, "k", 1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_exists(nullptr, "k", 1, &e), KVSTORE_ERROR);
  EXPECT_EQ(CfCount(cf), 0);
  kvstore_cf_close(cf);
}

TEST_F(CApiCf, DefaultFamilyHandleSharesTheDefaultKeySpace) {
  KVColumnFamily* def = nullptr;
  ASSERT_EQ(kvstore_cf_get_default(kv_, &def), KVSTORE_OK);
  ASSERT_NE(def, nullptr);
  ASSERT_EQ(CfPut(def, "via-cf", "1"), KVSTORE_OK);
  EXPECT_EQ(Get(kv_, "via-cf"), "1");
  ASSERT_EQ(kvstore_put(kv_, "via-kv", 6, "2", 1), KVSTORE_OK);
  EXPECT_EQ(CfGet(def, "via-kv"), "2");
  int64_t n = -1;
  ASSERT_EQ(kvstore_count(kv_, &n), KVSTORE_OK);
  EXPECT_EQ(CfCount(def), n);
  kvstore_cf_close(def);

  KVColumnFamily* named = nullptr;
  ASSERT_EQ(kvstore_cf_open(kv_, "default", &named), KVSTORE_OK);
  EXPECT_EQ(CfGet(named, "via-kv"), "2");
  kvstore_cf_close(named);
  // Closing a default handle leaves the store's default family working.
  EXPECT_EQ(Get(kv_, "via-cf"), "1");
}

TEST_F(CApiCf, CreateAndOpenArgumentErrors) {
  KVColumnFamily* cf = reinterpret_cast<KVColumnFamily*>(0x1);
  EXPECT_EQ(kvstore_cf_open(kv_, "missing", &cf), KVSTORE_NOTFOUND);
  EXPECT_EQ(cf, nullptr);
  cf = reinterpret_cast<KVColumnFamily*>(0x1);
  EXPECT_EQ(kvstore_cf_create(kv_, nullptr, &cf), KVSTORE_ERROR);
  EXPECT_EQ(cf, nullptr);
  EXPECT_EQ(kvstore_cf_create(kv_, "x", nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_create(nullptr, "x", &cf), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_open(kv_, nullptr, &cf), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_open(kv_, "default", nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_open(nullptr, "default", &cf), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_get_default(nullptr, &cf), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_get_default(kv_, nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_drop(kv_, nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_drop(nullptr, "x"), KVSTORE_ERROR);
  // None of that created a family.
  EXPECT_EQ(List(kv_), std::vector<std::string>{"default"});
  kvstore_cf_close(nullptr);
}

TEST_F(CApiCf, NameLengthLimits) {
  KVColumnFamily* cf = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv_, "x", &cf), KVSTORE_OK);  // 1 byte
  kvstore_cf_close(cf);
  std::string n255(255, 'n');
  ASSERT_EQ(kvstore_cf_create(kv_, n255.c_str(), &cf), KVSTORE_OK);
  ASSERT_EQ(CfPut(cf, "k", "v"), KVSTORE_OK);
  kvstore_cf_close(cf);
  ASSERT_EQ(kvstore_cf_open(kv_, n255.c_str(), &cf), KVSTORE_OK);
  EXPECT_EQ(CfGet(cf, "k"), "v");
  kvstore_cf_close(cf);

  std::string n256(256, 'n');
  cf = reinterpret_cast<KVColumnFamily*>(0x1);
  EXPECT_EQ(kvstore_cf_create(kv_, n256.c_str(), &cf), KVSTORE_ERROR);
  EXPECT_EQ(cf, nullptr);
  cf = reinterpret_cast<KVColumnFamily*>(0x1);
  EXPECT_EQ(kvstore_cf_create(kv_, "", &cf), KVSTORE_ERROR);
  EXPECT_EQ(cf, nullptr);
  EXPECT_EQ(List(kv_), (std::vector<std::string>{"default", n255, "x"}));
}

TEST_F(CApiCf, NamesWithSqlMeaningAreJustNames) {
  const std::vector<std::string> names = {"a b",
                                          "it's",
                                          "x\"; DROP TABLE snkv_cf; --",
                                          "sqlite_master",
                                          "kv_0",
                                          "snkv_meta",
                                          "\xc3\xbcnic\xc3\xb6"
                                          "de",
                                          "Default"};
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    KVColumnFamily* cf = Create(name);
    ASSERT_NE(cf, nullptr);
    ASSERT_EQ(CfPut(cf, "k", name), KVSTORE_OK);
    kvstore_cf_close(cf);
  }
  Reopen();
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    KVColumnFamily* cf = nullptr;
    ASSERT_EQ(kvstore_cf_open(kv_, name.c_str(), &cf), KVSTORE_OK);
    EXPECT_EQ(CfGet(cf, "k"), name);
    EXPECT_EQ(CfCount(cf), 1);
    kvstore_cf_close(cf);
  }
  EXPECT_EQ(List(kv_).size(), names.size() + 1);
  // The default family was not touched by "kv_0" or "Default".
  int64_t n = -1;
  ASSERT_EQ(kvstore_count(kv_, &n), KVSTORE_OK);
  EXPECT_EQ(n, 0);
}

TEST_F(CApiCf, DuplicateNamesFail) {
  KVColumnFamily* cf = Create("dup");
  ASSERT_EQ(CfPut(cf, "k", "v"), KVSTORE_OK);
  kvstore_cf_close(cf);
  cf = reinterpret_cast<KVColumnFamily*>(0x1);
  EXPECT_EQ(kvstore_cf_create(kv_, "dup", &cf), KVSTORE_ERROR);
  EXPECT_EQ(cf, nullptr);
  EXPECT_EQ(kvstore_cf_create(kv_, "default", &cf), KVSTORE_ERROR);
  EXPECT_EQ(cf, nullptr);
  // The existing family is untouched.
  ASSERT_EQ(kvstore_cf_open(kv_, "dup", &cf), KVSTORE_OK);
  EXPECT_EQ(CfGet(cf, "k"), "v");
  kvstore_cf_close(cf);
}

// The vector store's own family names are not the user's to create or
// drop (kvstore_vec_* reads such a family as its index); the error says so
// and nothing changes. Names merely alike stay ordinary names.
TEST_F(CApiCf, VectorStoreFamilyNamesAreReserved) {
  for (const char* name :
       {"_snkv_vec_", "_snkv_vec_meta_", "_snkv_vec_tags_", "_snkv_vec_log_"}) {
    KVColumnFamily* cf = reinterpret_cast<KVColumnFamily*>(0x1);
    EXPECT_EQ(kvstore_cf_create(kv_, name, &cf), KVSTORE_ERROR) << name;
    EXPECT_EQ(cf, nullptr);
    EXPECT_NE(std::string(kvstore_errmsg(kv_)).find("reserved"),
              std::string::npos)
        << kvstore_errmsg(kv_);
    EXPECT_EQ(kvstore_cf_drop(kv_, name), KVSTORE_ERROR) << name;
    EXPECT_EQ(kvstore_cf_open(kv_, name, &cf), KVSTORE_NOTFOUND) << name;
  }
  KVColumnFamily* cf = Create("_snkv_vec");
  kvstore_cf_close(cf);
  EXPECT_EQ(List(kv_), (std::vector<std::string>{"_snkv_vec", "default"}));
}

TEST_F(CApiCf, AtMost64FamiliesIncludingDefault) {
  for (int i = 1; i < KVSTORE_MAX_COLUMN_FAMILIES; ++i) {
    KVColumnFamily* cf = nullptr;
    std::string name = "cf" + std::to_string(i);
    ASSERT_EQ(kvstore_cf_create(kv_, name.c_str(), &cf), KVSTORE_OK) << i;
    kvstore_cf_close(cf);
  }
  EXPECT_EQ(List(kv_).size(), 64u);
  KVColumnFamily* cf = reinterpret_cast<KVColumnFamily*>(0x1);
  EXPECT_EQ(kvstore_cf_create(kv_, "one-too-many", &cf), KVSTORE_ERROR);
  EXPECT_EQ(cf, nullptr);
  EXPECT_STRNE(kvstore_errmsg(kv_), "not an error");
  EXPECT_EQ(List(kv_).size(), 64u);

  // The limit holds across a reopen, and a drop makes room again.
  Reopen();
  EXPECT_EQ(kvstore_cf_create(kv_, "one-too-many", &cf), KVSTORE_ERROR);
  ASSERT_EQ(kvstore_cf_drop(kv_, "cf7"), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_create(kv_, "one-too-many", &cf), KVSTORE_OK);
  ASSERT_EQ(CfPut(cf, "k", "v"), KVSTORE_OK);
  kvstore_cf_close(cf);
  EXPECT_EQ(List(kv_).size(), 64u);
}

TEST_F(CApiCf, ListIsSortedAndHidesInternals) {
  for (const char* name : {"zeta", "alpha", "mid"}) {
    KVColumnFamily* cf = Create(name);
    // TTL writes may create internal structures; they must stay hidden.
    ASSERT_EQ(kvstore_cf_put_ttl(cf, "t", 1, "v", 1, kvstore_now_ms() + 60000),
              KVSTORE_OK);
    ASSERT_EQ(CfPut(cf, "p", "v"), KVSTORE_OK);
    kvstore_cf_close(cf);
  }
  ASSERT_EQ(kvstore_put_ttl(kv_, "t", 1, "v", 1, kvstore_now_ms() + 60000),
            KVSTORE_OK);
  const std::vector<std::string> want = {"alpha", "default", "mid", "zeta"};
  EXPECT_EQ(List(kv_), want);
  Reopen();
  EXPECT_EQ(List(kv_), want);
  ASSERT_EQ(kvstore_cf_drop(kv_, "mid"), KVSTORE_OK);
  EXPECT_EQ(List(kv_), (std::vector<std::string>{"alpha", "default", "zeta"}));
}

TEST_F(CApiCf, ListOfFreshStoreIsJustDefault) {
  char** names = nullptr;
  int count = 0;
  ASSERT_EQ(kvstore_cf_list(kv_, &names, &count), KVSTORE_OK);
  ASSERT_EQ(count, 1);
  ASSERT_NE(names, nullptr);
  EXPECT_STREQ(names[0], "default");
  snkv_free(names[0]);
  snkv_free(names);
  EXPECT_EQ(kvstore_cf_list(kv_, nullptr, &count), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_list(kv_, &names, nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_list(nullptr, &names, &count), KVSTORE_ERROR);
}

TEST_F(CApiCf, DefaultCannotBeDroppedAndUnknownIsNotFound) {
  ASSERT_EQ(kvstore_put(kv_, "k", 1, "v", 1), KVSTORE_OK);
  EXPECT_EQ(kvstore_cf_drop(kv_, "default"), KVSTORE_ERROR);
  EXPECT_EQ(Get(kv_, "k"), "v");
  EXPECT_EQ(kvstore_cf_drop(kv_, "never-created"), KVSTORE_NOTFOUND);
  KVColumnFamily* cf = Create("once");
  kvstore_cf_close(cf);
  EXPECT_EQ(kvstore_cf_drop(kv_, "once"), KVSTORE_OK);
  EXPECT_EQ(kvstore_cf_drop(kv_, "once"), KVSTORE_NOTFOUND);
}

TEST_F(CApiCf, DropRemovesDataAndTtlState) {
  KVColumnFamily* cf = Create("sessions");
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(CfPut(cf, "k" + std::to_string(i), "v"), KVSTORE_OK);
  }
  int64_t later = kvstore_now_ms() + 3600 * 1000;
  ASSERT_EQ(kvstore_cf_put_ttl(cf, "ttl-live", 8, "v", 1, later), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_put_ttl(cf, "ttl-dead", 8, "v", 1, kvstore_now_ms() - 2),
            KVSTORE_OK);
  kvstore_cf_close(cf);
  ASSERT_EQ(kvstore_cf_drop(kv_, "sessions"), KVSTORE_OK);
  KVColumnFamily* gone = reinterpret_cast<KVColumnFamily*>(0x1);
  EXPECT_EQ(kvstore_cf_open(kv_, "sessions", &gone), KVSTORE_NOTFOUND);
  EXPECT_EQ(gone, nullptr);

  // Recreating the name gives an empty family without TTL leftovers.
  cf = Create("sessions");
  ASSERT_NE(cf, nullptr);
  EXPECT_EQ(CfCount(cf), 0);
  EXPECT_EQ(CfGet(cf, "k1"), "<rc 12>");
  int64_t rem = 0;
  EXPECT_EQ(kvstore_cf_ttl_remaining(cf, "ttl-live", 8, &rem),
            KVSTORE_NOTFOUND);
  int purged = -1;
  ASSERT_EQ(kvstore_cf_purge_expired(cf, &purged), KVSTORE_OK);
  EXPECT_EQ(purged, 0);
  ASSERT_EQ(CfPut(cf, "k1", "new"), KVSTORE_OK);
  EXPECT_EQ(CfCount(cf), 1);
  kvstore_cf_close(cf);

  // And it stays so after a reopen.
  Reopen();
  ASSERT_EQ(kvstore_cf_open(kv_, "sessions", &cf), KVSTORE_OK);
  EXPECT_EQ(CfCount(cf), 1);
  EXPECT_EQ(CfGet(cf, "k1"), "new");
  kvstore_cf_close(cf);
}

TEST_F(CApiCf, DropDoesNotTouchOtherFamilies) {
  KVColumnFamily* keep = Create("keep");
  KVColumnFamily* drop = Create("drop");
  ASSERT_EQ(CfPut(keep, "k", "keep"), KVSTORE_OK);
  ASSERT_EQ(CfPut(drop, "k", "drop"), KVSTORE_OK);
  ASSERT_EQ(kvstore_put(kv_, "k", 1, "def", 3), KVSTORE_OK);
  kvstore_cf_close(drop);
  ASSERT_EQ(kvstore_cf_drop(kv_, "drop"), KVSTORE_OK);
  EXPECT_EQ(CfGet(keep, "k"), "keep");
  EXPECT_EQ(Get(kv_, "k"), "def");
  kvstore_cf_close(keep);
}

// Every data operation on a handle of a dropped family.
void ExpectAllNotFound(KVColumnFamily* cf) {
  void* p = nullptr;
  int n = 0;
  int e = 0;
  int64_t rem = 0;
  int ins = 0;
  int purged = 0;
  int64_t count = 0;
  EXPECT_EQ(kvstore_cf_put(cf, "k", 1, "v", 1), KVSTORE_NOTFOUND);
  EXPECT_EQ(kvstore_cf_get(cf, "k", 1, &p, &n), KVSTORE_NOTFOUND);
  EXPECT_EQ(kvstore_cf_delete(cf, "k", 1), KVSTORE_NOTFOUND);
  EXPECT_EQ(kvstore_cf_exists(cf, "k", 1, &e), KVSTORE_NOTFOUND);
  EXPECT_EQ(kvstore_cf_count(cf, &count), KVSTORE_NOTFOUND);
  EXPECT_EQ(kvstore_cf_put_ttl(cf, "k", 1, "v", 1, kvstore_now_ms() + 9999),
            KVSTORE_NOTFOUND);
  EXPECT_EQ(kvstore_cf_get_ttl(cf, "k", 1, &p, &n, &rem), KVSTORE_NOTFOUND);
  EXPECT_EQ(kvstore_cf_ttl_remaining(cf, "k", 1, &rem), KVSTORE_NOTFOUND);
  EXPECT_EQ(kvstore_cf_purge_expired(cf, &purged), KVSTORE_NOTFOUND);
  EXPECT_EQ(kvstore_cf_put_if_absent(cf, "n", 1, "v", 1, 0, &ins),
            KVSTORE_NOTFOUND);
  EXPECT_EQ(kvstore_cf_clear(cf), KVSTORE_NOTFOUND);
  KVIterator* it = reinterpret_cast<KVIterator*>(0x1);
  EXPECT_EQ(kvstore_cf_iterator_create(cf, &it), KVSTORE_NOTFOUND);
  EXPECT_EQ(it, nullptr);
  kvstore_iterator_close(it == reinterpret_cast<KVIterator*>(0x1) ? nullptr
                                                                  : it);
}

TEST_F(CApiCf, HandleOfDroppedFamilyReturnsNotFound) {
  KVColumnFamily* cf = Create("victim");
  ASSERT_EQ(CfPut(cf, "k", "v"), KVSTORE_OK);
  EXPECT_EQ(CfGet(cf, "k"), "v");
  ASSERT_EQ(kvstore_cf_drop(kv_, "victim"), KVSTORE_OK);
  ExpectAllNotFound(cf);
  // Even after the name is reused, the old handle never reaches new data.
  KVColumnFamily* fresh = Create("victim");
  ASSERT_EQ(CfPut(fresh, "k", "new"), KVSTORE_OK);
  EXPECT_EQ(CfGet(cf, "k"), "<rc 12>");
  EXPECT_EQ(CfGet(fresh, "k"), "new");
  kvstore_cf_close(cf);
  kvstore_cf_close(fresh);
}

TEST_F(CApiCf, FamilyDroppedThroughAnotherHandleReturnsNotFound) {
  KVColumnFamily* cf = Create("shared");
  ASSERT_EQ(CfPut(cf, "k", "v"), KVSTORE_OK);
  EXPECT_EQ(CfGet(cf, "k"), "v");  // statements are prepared and used
  int64_t rem = 0;
  EXPECT_EQ(kvstore_cf_ttl_remaining(cf, "k", 1, &rem), KVSTORE_OK);

  KVStore* other = nullptr;
  ASSERT_EQ(kvstore_open_v2(path_.c_str(), &other, nullptr), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_drop(other, "shared"), KVSTORE_OK);
  ExpectAllNotFound(cf);

  KVColumnFamily* fresh = nullptr;
  ASSERT_EQ(kvstore_cf_create(other, "shared", &fresh), KVSTORE_OK);
  ASSERT_EQ(CfPut(fresh, "k", "other's"), KVSTORE_OK);
  EXPECT_EQ(CfGet(cf, "k"), "<rc 12>");
  kvstore_cf_close(fresh);
  EXPECT_EQ(kvstore_close(other), KVSTORE_OK);
  kvstore_cf_close(cf);

  ASSERT_EQ(kvstore_cf_open(kv_, "shared", &cf), KVSTORE_OK);
  EXPECT_EQ(CfGet(cf, "k"), "other's");
  kvstore_cf_close(cf);
}

TEST(CApiCfClose, HandlesOutliveTheStoreSafely) {
  TempDir dir;
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open_v2(dir.file("a.db").c_str(), &kv, nullptr),
            KVSTORE_OK);
  KVColumnFamily* cf = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv, "c", &cf), KVSTORE_OK);
  KVColumnFamily* def = nullptr;
  ASSERT_EQ(kvstore_cf_get_default(kv, &def), KVSTORE_OK);
  ASSERT_EQ(CfPut(cf, "k", "v"), KVSTORE_OK);
  ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);

  // The handles are invalid now: every call fails, none crashes.
  void* p = nullptr;
  int n = 0;
  int e = 0;
  int64_t count = 0;
  for (KVColumnFamily* h : {cf, def}) {
    EXPECT_NE(kvstore_cf_put(h, "k", 1, "v", 1), KVSTORE_OK);
    EXPECT_NE(kvstore_cf_get(h, "k", 1, &p, &n), KVSTORE_OK);
    EXPECT_NE(kvstore_cf_delete(h, "k", 1), KVSTORE_OK);
    EXPECT_NE(kvstore_cf_exists(h, "k", 1, &e), KVSTORE_OK);
    EXPECT_NE(kvstore_cf_count(h, &count), KVSTORE_OK);
    EXPECT_NE(kvstore_cf_clear(h), KVSTORE_OK);
    KVIterator* it = nullptr;
    EXPECT_NE(kvstore_cf_iterator_create(h, &it), KVSTORE_OK);
    EXPECT_EQ(it, nullptr);
    kvstore_iterator_close(it);
  }
  kvstore_cf_close(cf);
  kvstore_cf_close(def);

  // The data written before the close is intact.
  ASSERT_EQ(kvstore_open_v2(dir.file("a.db").c_str(), &kv, nullptr),
            KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_open(kv, "c", &cf), KVSTORE_OK);
  EXPECT_EQ(CfGet(cf, "k"), "v");
  kvstore_cf_close(cf);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

}  // namespace
