// Small std::string wrappers around the kvstore.h C API, shared by the
// tests/c_api_*_test.cc programs. Header-only: every function is inline.
#ifndef SNKV_TESTS_C_API_TEST_UTIL_H
#define SNKV_TESTS_C_API_TEST_UTIL_H

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>

#include "kvstore.h"
#include "test_util.h"

namespace snkv::test {

// What Get / CfGet return for a key that is not there (KVSTORE_NOTFOUND).
inline const std::string kNotFound = "<rc 12>";

// kvstore_put of k -> v; returns the kvstore rc.
inline int Put(KVStore* kv, const std::string& k, const std::string& v) {
  return kvstore_put(kv, k.data(), static_cast<int>(k.size()), v.data(),
                     static_cast<int>(v.size()));
}

// kvstore_cf_put of k -> v in cf; returns the kvstore rc.
inline int CfPut(KVColumnFamily* cf, const std::string& k,
                 const std::string& v) {
  return kvstore_cf_put(cf, k.data(), static_cast<int>(k.size()), v.data(),
                        static_cast<int>(v.size()));
}

// The value of k, or "<rc N>" when kvstore_get fails with rc N.
inline std::string Get(KVStore* kv, const std::string& k) {
  void* p = nullptr;
  int n = 0;
  int rc = kvstore_get(kv, k.data(), static_cast<int>(k.size()), &p, &n);
  if (rc != KVSTORE_OK) return "<rc " + std::to_string(rc) + ">";
  std::string out(static_cast<char*>(p), static_cast<size_t>(n));
  snkv_free(p);
  return out;
}

// The value of k in cf, or "<rc N>" when kvstore_cf_get fails with rc N.
inline std::string CfGet(KVColumnFamily* cf, const std::string& k) {
  void* p = nullptr;
  int n = 0;
  int rc = kvstore_cf_get(cf, k.data(), static_cast<int>(k.size()), &p, &n);
  if (rc != KVSTORE_OK) return "<rc " + std::to_string(rc) + ">";
  std::string out(static_cast<char*>(p), static_cast<size_t>(n));
  snkv_free(p);
  return out;
}

// kvstore_count of the default column family; adds a gtest failure if the
// call does not return KVSTORE_OK (the result is then -1 or whatever the
// call left).
inline int64_t Count(KVStore* kv) {
  int64_t n = -1;
  EXPECT_EQ(kvstore_count(kv, &n), KVSTORE_OK);
  return n;
}

// kvstore_cf_count of cf; adds a gtest failure if the call does not return
// KVSTORE_OK.
inline int64_t CfCount(KVColumnFamily* cf) {
  int64_t n = -1;
  EXPECT_EQ(kvstore_cf_count(cf, &n), KVSTORE_OK);
  return n;
}

// kvstore_stats of kv (zeroed first); adds a gtest failure if the call does
// not return KVSTORE_OK.
inline KVStoreStats Stats(KVStore* kv) {
  KVStoreStats st = {};
  EXPECT_EQ(kvstore_stats(kv, &st), KVSTORE_OK);
  return st;
}

// The size of the file at path in bytes, or -1 if it cannot be read (e.g.
// it does not exist).
inline int64_t FileSize(const std::string& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path, ec);
  return ec ? -1 : static_cast<int64_t>(n);
}

// Opens path in WAL mode with SYNC_NORMAL and the given busy timeout (ms).
// Adds a gtest failure if the open fails; the handle may then be null.
inline KVStore* OpenWal(const std::string& path, int busy_timeout = 0) {
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_NORMAL;
  cfg.busyTimeout = busy_timeout;
  KVStore* kv = nullptr;
  EXPECT_EQ(kvstore_open_v2(path.c_str(), &kv, &cfg), KVSTORE_OK);
  return kv;
}

// A fixture with a store at dir_/<name>, opened with the defaults before
// each test and closed (which must succeed) after it.
class CApiStoreTest : public ::testing::Test {
 protected:
  explicit CApiStoreTest(const std::string& name) : path_(dir_.file(name)) {}
  void SetUp() override {
    ASSERT_EQ(kvstore_open_v2(path_.c_str(), &kv_, nullptr), KVSTORE_OK);
  }
  void TearDown() override { EXPECT_EQ(kvstore_close(kv_), KVSTORE_OK); }
  // Closes the store and opens it again, with `cfg` or the defaults.
  void Reopen(const KVStoreConfig* cfg = nullptr) {
    ASSERT_EQ(kvstore_close(kv_), KVSTORE_OK);
    kv_ = nullptr;
    ASSERT_EQ(kvstore_open_v2(path_.c_str(), &kv_, cfg), KVSTORE_OK);
  }

  TempDir dir_;
  std::string path_;
  KVStore* kv_ = nullptr;
};

}  // namespace snkv::test

#endif  // SNKV_TESTS_C_API_TEST_UTIL_H
