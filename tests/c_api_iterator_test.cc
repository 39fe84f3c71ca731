// C API: iterators (plain, reverse, prefix, reverse prefix; default and
// named column families), positioning, seek, expiry and pointer lifetime.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "c_api_test_util.h"
#include "kvstore.h"
#include "test_util.h"

namespace {

using snkv::test::CfPut;
using snkv::test::Put;
using snkv::test::TempDir;
using Keys = std::vector<std::string>;

std::string Key(KVIterator* it) {
  void* p = nullptr;
  int n = -1;
  if (kvstore_iterator_key(it, &p, &n) != KVSTORE_OK) return "<no key>";
  return std::string(static_cast<char*>(p), static_cast<size_t>(n));
}

std::string Value(KVIterator* it) {
  void* p = nullptr;
  int n = -1;
  if (kvstore_iterator_value(it, &p, &n) != KVSTORE_OK) return "<no value>";
  return std::string(static_cast<char*>(p), static_cast<size_t>(n));
}

// The keys from the current position on, moving with next (or prev).
Keys Drain(KVIterator* it, bool backwards = false) {
  Keys out;
  while (!kvstore_iterator_eof(it)) {
    out.push_back(Key(it));
    int rc = backwards ? kvstore_iterator_prev(it) : kvstore_iterator_next(it);
    EXPECT_EQ(rc, KVSTORE_OK);
    if (out.size() > 100000) break;
  }
  return out;
}

Keys Reversed(Keys k) {
  std::reverse(k.begin(), k.end());
  return k;
}

std::string S(const char* p, size_t n) { return std::string(p, n); }

class CApiIterator : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(kvstore_open_v2(dir_.file("it.db").c_str(), &kv_, nullptr),
              KVSTORE_OK);
  }
  void TearDown() override { EXPECT_EQ(kvstore_close(kv_), KVSTORE_OK); }
  void PutAll(const Keys& keys) {
    for (const std::string& k : keys)
      ASSERT_EQ(Put(kv_, k, "v:" + k), KVSTORE_OK);
  }

  TempDir dir_;
  KVStore* kv_ = nullptr;
};

const Keys kPrefixKeys = {"admin:1", "use",    "user",  "user:1",
                          "user:2",  "user:3", "usera", "zzz"};

TEST_F(CApiIterator, ForwardScanInKeyOrder) {
  PutAll({"c", "a", "e", "b", "d"});
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_iterator_create(kv_, &it), KVSTORE_OK);
  ASSERT_NE(it, nullptr);
  EXPECT_EQ(kvstore_iterator_eof(it), 1) << "starts unpositioned";
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "a");
  EXPECT_EQ(Value(it), "v:a");
  EXPECT_EQ(Drain(it), (Keys{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  // At the end it stays at the end.
  kvstore_iterator_next(it);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  // first() starts over.
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "a");
  kvstore_iterator_close(it);
}

TEST_F(CApiIterator, ReverseScanInDescendingOrder) {
  PutAll({"c", "a", "e", "b", "d"});
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_reverse_iterator_create(kv_, &it), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1) << "starts unpositioned";
  ASSERT_EQ(kvstore_iterator_last(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "e");
  EXPECT_EQ(Value(it), "v:e");
  EXPECT_EQ(Drain(it, true), (Keys{"e", "d", "c", "b", "a"}));
  kvstore_iterator_close(it);
}

TEST_F(CApiIterator, FirstAndLastWorkOnEveryKind) {
  PutAll({"a", "b", "c"});
  KVIterator* fwd = nullptr;
  KVIterator* rev = nullptr;
  ASSERT_EQ(kvstore_iterator_create(kv_, &fwd), KVSTORE_OK);
  ASSERT_EQ(kvstore_reverse_iterator_create(kv_, &rev), KVSTORE_OK);
  for (KVIterator* it : {fwd, rev}) {
    ASSERT_EQ(kvstore_iterator_last(it), KVSTORE_OK);
    EXPECT_EQ(Key(it), "c");
    ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
    EXPECT_EQ(Key(it), "a");
  }
  kvstore_iterator_close(fwd);
  kvstore_iterator_close(rev);
}

TEST_F(CApiIterator, OrderIsBytewiseUnsigned) {
  const Keys sorted = {"",     S("\0", 1), S("\0\0", 2), "\x01", "A",
                       "a",    "ab",       "b",          "\x7f", "\x80",
                       "\xfe", "\xff",     "\xff\xff"};
  Keys shuffled = sorted;
  std::reverse(shuffled.begin(), shuffled.end());
  std::swap(shuffled[2], shuffled[7]);
  PutAll(shuffled);
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_iterator_create(kv_, &it), KVSTORE_OK);
  kvstore_iterator_first(it);
  EXPECT_EQ(Drain(it), sorted);
  kvstore_iterator_close(it);
  ASSERT_EQ(kvstore_reverse_iterator_create(kv_, &it), KVSTORE_OK);
  kvstore_iterator_last(it);
  EXPECT_EQ(Drain(it, true), Reversed(sorted));
  kvstore_iterator_close(it);
}

TEST_F(CApiIterator, EmptyStore) {
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_iterator_create(kv_, &it), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  EXPECT_EQ(kvstore_iterator_last(it), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  EXPECT_EQ(kvstore_iterator_seek(it, "a", 1), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  kvstore_iterator_close(it);
  ASSERT_EQ(kvstore_prefix_iterator_create(kv_, "p", 1, &it), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  kvstore_iterator_close(it);
}

TEST_F(CApiIterator, PrefixIteratorStartsOnFirstMatch) {
  PutAll(kPrefixKeys);
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_prefix_iterator_create(kv_, "user:", 5, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_eof(it), 0) << "positioned without first()";
  EXPECT_EQ(Key(it), "user:1");
  EXPECT_EQ(Value(it), "v:user:1");
  EXPECT_EQ(Drain(it), (Keys{"user:1", "user:2", "user:3"}));
  // first()/last() stay inside the prefix.
  ASSERT_EQ(kvstore_iterator_last(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "user:3");
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "user:1");
  kvstore_iterator_close(it);

  ASSERT_EQ(kvstore_prefix_iterator_create(kv_, "user", 4, &it), KVSTORE_OK);
  EXPECT_EQ(Drain(it), (Keys{"user", "user:1", "user:2", "user:3", "usera"}));
  kvstore_iterator_close(it);
}

TEST_F(CApiIterator, ReversePrefixIteratorStartsOnLastMatch) {
  PutAll(kPrefixKeys);
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_reverse_prefix_iterator_create(kv_, "user:", 5, &it),
            KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_eof(it), 0) << "positioned without last()";
  EXPECT_EQ(Key(it), "user:3");
  EXPECT_EQ(Drain(it, true), (Keys{"user:3", "user:2", "user:1"}));
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "user:1");
  ASSERT_EQ(kvstore_iterator_last(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "user:3");
  kvstore_iterator_close(it);
}

TEST_F(CApiIterator, PrefixWithoutMatchesIsEof) {
  PutAll(kPrefixKeys);
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_prefix_iterator_create(kv_, "user:9", 6, &it), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  kvstore_iterator_close(it);
  ASSERT_EQ(kvstore_reverse_prefix_iterator_create(kv_, "b", 1, &it),
            KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  kvstore_iterator_close(it);
  ASSERT_EQ(kvstore_reverse_prefix_iterator_create(kv_, "zzzz", 4, &it),
            KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  kvstore_iterator_close(it);
}

TEST_F(CApiIterator, EmptyPrefixMatchesEverything) {
  PutAll(kPrefixKeys);
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_prefix_iterator_create(kv_, nullptr, 0, &it), KVSTORE_OK);
  EXPECT_EQ(Drain(it), kPrefixKeys);
  kvstore_iterator_close(it);
  ASSERT_EQ(kvstore_reverse_prefix_iterator_create(kv_, "", 0, &it),
            KVSTORE_OK);
  EXPECT_EQ(Drain(it, true), Reversed(kPrefixKeys));
  kvstore_iterator_close(it);
}

TEST_F(CApiIterator, PrefixesWithFFBytes) {
  const Keys keys = {"a",        "a\xff",    S("a\xff\0", 3), "a\xff\xff",
                     "b",        "\xfe\xff", "\xff",          "\xff\x01",
                     "\xff\xfe", "\xff\xff", "\xff\xff\x01",  "\xff\xff\xff"};
  PutAll(keys);
  struct Case {
    std::string prefix;
    Keys want;
  };
  const std::vector<Case> cases = {
      {"\xff",
       {"\xff", "\xff\x01", "\xff\xfe", "\xff\xff", "\xff\xff\x01",
        "\xff\xff\xff"}},
      {"\xff\xff", {"\xff\xff", "\xff\xff\x01", "\xff\xff\xff"}},
      {"\xff\xff\xff", {"\xff\xff\xff"}},
      {"\xff\xff\xff\xff", {}},
      {"a\xff", {"a\xff", S("a\xff\0", 3), "a\xff\xff"}},
      {"\xfe", {"\xfe\xff"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::PrintToString(c.prefix));
    KVIterator* it = nullptr;
    ASSERT_EQ(kvstore_prefix_iterator_create(
                  kv_, c.prefix.data(), static_cast<int>(c.prefix.size()), &it),
              KVSTORE_OK);
    EXPECT_EQ(Drain(it), c.want);
    if (!c.want.empty()) {
      ASSERT_EQ(kvstore_iterator_last(it), KVSTORE_OK);
      EXPECT_EQ(Key(it), c.want.back());
    }
    kvstore_iterator_close(it);
    ASSERT_EQ(kvstore_reverse_prefix_iterator_create(
                  kv_, c.prefix.data(), static_cast<int>(c.prefix.size()), &it),
              KVSTORE_OK);
    EXPECT_EQ(Drain(it, true), Reversed(c.want));
    kvstore_iterator_close(it);
  }
}

TEST_F(CApiIterator, NextMovesToLargerKeysOnEveryKind) {
  PutAll({"a", "b", "c", "d", "e"});
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_reverse_iterator_create(kv_, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_last(it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_prev(it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_prev(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "c");
  ASSERT_EQ(kvstore_iterator_next(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "d")
      << "next() on a reverse iterator goes to a larger key";
  ASSERT_EQ(kvstore_iterator_next(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "e");
  ASSERT_EQ(kvstore_iterator_next(it), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  kvstore_iterator_close(it);

  // prev() on a forward iterator goes to a smaller key.
  ASSERT_EQ(kvstore_iterator_create(kv_, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_next(it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_next(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "c");
  ASSERT_EQ(kvstore_iterator_prev(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "b");
  ASSERT_EQ(kvstore_iterator_next(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "c");
  ASSERT_EQ(kvstore_iterator_prev(it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_prev(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "a");
  ASSERT_EQ(kvstore_iterator_prev(it), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  kvstore_iterator_close(it);
}

TEST_F(CApiIterator, PrefixIteratorsLeaveThePrefixInBothDirections) {
  PutAll(kPrefixKeys);
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_reverse_prefix_iterator_create(kv_, "user:", 5, &it),
            KVSTORE_OK);
  EXPECT_EQ(Key(it), "user:3");
  ASSERT_EQ(kvstore_iterator_prev(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "user:2");
  ASSERT_EQ(kvstore_iterator_next(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "user:3");
  ASSERT_EQ(kvstore_iterator_next(it), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1) << "\"usera\" is outside the prefix";
  kvstore_iterator_close(it);

  ASSERT_EQ(kvstore_prefix_iterator_create(kv_, "user:", 5, &it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "user:1");
  ASSERT_EQ(kvstore_iterator_prev(it), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1) << "\"user\" is outside the prefix";
  kvstore_iterator_close(it);
}

TEST_F(CApiIterator, ForwardSeekFindsFirstKeyAtOrAfter) {
  PutAll({"a", "c", "e", "g"});
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_iterator_create(kv_, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_seek(it, "c", 1), KVSTORE_OK);
  EXPECT_EQ(Key(it), "c");
  ASSERT_EQ(kvstore_iterator_seek(it, "d", 1), KVSTORE_OK);
  EXPECT_EQ(Key(it), "e");
  EXPECT_EQ(Drain(it), (Keys{"e", "g"}));
  ASSERT_EQ(kvstore_iterator_seek(it, "", 0), KVSTORE_OK);
  EXPECT_EQ(Key(it), "a");
  ASSERT_EQ(kvstore_iterator_seek(it, "cc", 2), KVSTORE_OK);
  EXPECT_EQ(Key(it), "e");
  ASSERT_EQ(kvstore_iterator_seek(it, "h", 1), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  ASSERT_EQ(kvstore_iterator_seek(it, "b", 1), KVSTORE_OK);  // after eof
  EXPECT_EQ(Key(it), "c");
  ASSERT_EQ(kvstore_iterator_prev(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "a");
  kvstore_iterator_close(it);
}

TEST_F(CApiIterator, ReverseSeekFindsLastKeyAtOrBefore) {
  PutAll({"a", "c", "e", "g"});
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_reverse_iterator_create(kv_, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_seek(it, "e", 1), KVSTORE_OK);
  EXPECT_EQ(Key(it), "e");
  ASSERT_EQ(kvstore_iterator_seek(it, "d", 1), KVSTORE_OK);
  EXPECT_EQ(Key(it), "c");
  EXPECT_EQ(Drain(it, true), (Keys{"c", "a"}));
  ASSERT_EQ(kvstore_iterator_seek(it, "zzz", 3), KVSTORE_OK);
  EXPECT_EQ(Key(it), "g");
  ASSERT_EQ(kvstore_iterator_seek(it, "cc", 2), KVSTORE_OK);
  EXPECT_EQ(Key(it), "c");
  ASSERT_EQ(kvstore_iterator_seek(it, "0", 1), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  ASSERT_EQ(kvstore_iterator_seek(it, "", 0), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  ASSERT_EQ(kvstore_iterator_seek(it, "f", 1), KVSTORE_OK);
  EXPECT_EQ(Key(it), "e");
  ASSERT_EQ(kvstore_iterator_next(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "g");
  kvstore_iterator_close(it);
}

TEST_F(CApiIterator, SeekOutsideThePrefixIsEof) {
  PutAll(kPrefixKeys);
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_prefix_iterator_create(kv_, "user:", 5, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_seek(it, "user:2", 6), KVSTORE_OK);
  EXPECT_EQ(Key(it), "user:2");
  ASSERT_EQ(kvstore_iterator_seek(it, "user:25", 7), KVSTORE_OK);
  EXPECT_EQ(Key(it), "user:3");
  ASSERT_EQ(kvstore_iterator_seek(it, "user:4", 6), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1) << "next key \"usera\" is outside";
  ASSERT_EQ(kvstore_iterator_seek(it, "v", 1), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  kvstore_iterator_close(it);

  ASSERT_EQ(kvstore_reverse_prefix_iterator_create(kv_, "user:", 5, &it),
            KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_seek(it, "user:2", 6), KVSTORE_OK);
  EXPECT_EQ(Key(it), "user:2");
  ASSERT_EQ(kvstore_iterator_seek(it, "user:25", 7), KVSTORE_OK);
  EXPECT_EQ(Key(it), "user:2");
  ASSERT_EQ(kvstore_iterator_seek(it, "user:0", 6), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1) << "previous key \"user\" is outside";
  ASSERT_EQ(kvstore_iterator_seek(it, "admin", 5), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  kvstore_iterator_close(it);
}

TEST_F(CApiIterator, ExpiredKeysAreSkipped) {
  PutAll({"a", "c", "e"});
  int64_t past = kvstore_now_ms() - 2;
  int64_t future = kvstore_now_ms() + 3600 * 1000;
  ASSERT_EQ(kvstore_put_ttl(kv_, "b", 1, "v:b", 3, past), KVSTORE_OK);
  ASSERT_EQ(kvstore_put_ttl(kv_, "d", 1, "v:d", 3, future), KVSTORE_OK);
  ASSERT_EQ(kvstore_put_ttl(kv_, "f", 1, "v:f", 3, past), KVSTORE_OK);
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_iterator_create(kv_, &it), KVSTORE_OK);
  kvstore_iterator_first(it);
  EXPECT_EQ(Drain(it), (Keys{"a", "c", "d", "e"}));
  ASSERT_EQ(kvstore_iterator_seek(it, "b", 1), KVSTORE_OK);
  EXPECT_EQ(Key(it), "c");
  ASSERT_EQ(kvstore_iterator_last(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "e");
  kvstore_iterator_close(it);

  ASSERT_EQ(kvstore_reverse_iterator_create(kv_, &it), KVSTORE_OK);
  kvstore_iterator_last(it);
  EXPECT_EQ(Drain(it, true), (Keys{"e", "d", "c", "a"}));
  ASSERT_EQ(kvstore_iterator_seek(it, "b", 1), KVSTORE_OK);
  EXPECT_EQ(Key(it), "a");
  kvstore_iterator_close(it);

  ASSERT_EQ(kvstore_prefix_iterator_create(kv_, "b", 1, &it), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  kvstore_iterator_close(it);
  ASSERT_EQ(kvstore_reverse_prefix_iterator_create(kv_, "f", 1, &it),
            KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  kvstore_iterator_close(it);
}

TEST_F(CApiIterator, ColumnFamilyIteratorsOfEveryKind) {
  PutAll({"default-only", "p:0"});
  KVColumnFamily* cf = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv_, "fam", &cf), KVSTORE_OK);
  for (const char* k : {"p:2", "p:1", "q", "o", "p:3"}) {
    ASSERT_EQ(CfPut(cf, k, std::string("cf:") + k), KVSTORE_OK);
  }
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_cf_iterator_create(cf, &it), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  EXPECT_EQ(Value(it), "cf:o");
  EXPECT_EQ(Drain(it), (Keys{"o", "p:1", "p:2", "p:3", "q"}));
  kvstore_iterator_close(it);

  ASSERT_EQ(kvstore_cf_reverse_iterator_create(cf, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_last(it), KVSTORE_OK);
  EXPECT_EQ(Drain(it, true), (Keys{"q", "p:3", "p:2", "p:1", "o"}));
  ASSERT_EQ(kvstore_iterator_seek(it, "p:25", 4), KVSTORE_OK);
  EXPECT_EQ(Key(it), "p:2");
  kvstore_iterator_close(it);

  ASSERT_EQ(kvstore_cf_prefix_iterator_create(cf, "p:", 2, &it), KVSTORE_OK);
  EXPECT_EQ(Value(it), "cf:p:1");
  EXPECT_EQ(Drain(it), (Keys{"p:1", "p:2", "p:3"}));
  kvstore_iterator_close(it);

  ASSERT_EQ(kvstore_cf_reverse_prefix_iterator_create(cf, "p:", 2, &it),
            KVSTORE_OK);
  EXPECT_EQ(Drain(it, true), (Keys{"p:3", "p:2", "p:1"}));
  kvstore_iterator_close(it);

  // The default family's iterators do not see the named family.
  ASSERT_EQ(kvstore_prefix_iterator_create(kv_, "p:", 2, &it), KVSTORE_OK);
  EXPECT_EQ(Drain(it), (Keys{"p:0"}));
  kvstore_iterator_close(it);

  // The default family through a cf handle.
  KVColumnFamily* def = nullptr;
  ASSERT_EQ(kvstore_cf_get_default(kv_, &def), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_iterator_create(def, &it), KVSTORE_OK);
  kvstore_iterator_first(it);
  EXPECT_EQ(Drain(it), (Keys{"default-only", "p:0"}));
  kvstore_iterator_close(it);
  kvstore_cf_close(def);
  kvstore_cf_close(cf);
}

TEST_F(CApiIterator, PointersStayValidUntilTheNextMove) {
  const std::string big_value(20000, 'B');  // spills onto overflow pages
  PutAll({"a", "c"});
  ASSERT_EQ(Put(kv_, "b", big_value), KVSTORE_OK);
  ASSERT_EQ(Put(kv_, "b2", "small-b2"), KVSTORE_OK);
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_iterator_create(kv_, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_seek(it, "b", 1), KVSTORE_OK);
  void* kp = nullptr;
  void* vp = nullptr;
  int kn = 0;
  int vn = 0;
  ASSERT_EQ(kvstore_iterator_key(it, &kp, &kn), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_value(it, &vp, &vn), KVSTORE_OK);
  ASSERT_EQ(std::string(static_cast<char*>(kp), static_cast<size_t>(kn)), "b");
  ASSERT_EQ(vn, static_cast<int>(big_value.size()));

  // Other calls on the store and on another iterator are not moves of this
  // iterator.
  EXPECT_EQ(kvstore_iterator_eof(it), 0);
  void* again = nullptr;
  int again_n = 0;
  ASSERT_EQ(kvstore_iterator_value(it, &again, &again_n), KVSTORE_OK);
  void* got = nullptr;
  int got_n = 0;
  ASSERT_EQ(kvstore_get(kv_, "c", 1, &got, &got_n), KVSTORE_OK);
  snkv_free(got);
  KVIterator* other = nullptr;
  ASSERT_EQ(kvstore_iterator_create(kv_, &other), KVSTORE_OK);
  kvstore_iterator_first(other);
  Drain(other);
  kvstore_iterator_close(other);
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(Put(kv_, "x" + std::to_string(i), std::string(300, 'x')),
              KVSTORE_OK);
  }
  EXPECT_EQ(std::string(static_cast<char*>(kp), static_cast<size_t>(kn)), "b");
  EXPECT_TRUE(std::string(static_cast<char*>(vp), static_cast<size_t>(vn)) ==
              big_value);

  ASSERT_EQ(kvstore_iterator_next(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "b2");
  EXPECT_EQ(Value(it), "small-b2");
  kvstore_iterator_close(it);
}

TEST_F(CApiIterator, EmptyValuesAndEmptyKey) {
  ASSERT_EQ(kvstore_put(kv_, nullptr, 0, "root", 4), KVSTORE_OK);
  ASSERT_EQ(kvstore_put(kv_, "e", 1, nullptr, 0), KVSTORE_OK);
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_iterator_create(kv_, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "");
  EXPECT_EQ(Value(it), "root");
  ASSERT_EQ(kvstore_iterator_next(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "e");
  void* vp = nullptr;
  int vn = -1;
  ASSERT_EQ(kvstore_iterator_value(it, &vp, &vn), KVSTORE_OK);
  EXPECT_EQ(vn, 0);
  ASSERT_EQ(kvstore_iterator_next(it), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  kvstore_iterator_close(it);
}

TEST_F(CApiIterator, ManyKeysBothWays) {
  ASSERT_EQ(kvstore_begin(kv_, 1), KVSTORE_OK);
  Keys want;
  for (int i = 0; i < 5000; ++i) {
    char k[16];
    std::snprintf(k, sizeof k, "k%05d", (i * 7919) % 5000);
    ASSERT_EQ(Put(kv_, k, std::string(50, 'v')), KVSTORE_OK);
  }
  ASSERT_EQ(kvstore_commit(kv_), KVSTORE_OK);
  for (int i = 0; i < 5000; ++i) {
    char k[16];
    std::snprintf(k, sizeof k, "k%05d", i);
    want.emplace_back(k);
  }
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_iterator_create(kv_, &it), KVSTORE_OK);
  kvstore_iterator_first(it);
  EXPECT_EQ(Drain(it), want);
  kvstore_iterator_close(it);
  ASSERT_EQ(kvstore_reverse_iterator_create(kv_, &it), KVSTORE_OK);
  kvstore_iterator_last(it);
  EXPECT_EQ(Drain(it, true), Reversed(want));
  kvstore_iterator_close(it);
}

TEST_F(CApiIterator, IteratorReadsASnapshotFromItsPositioningCall) {
  PutAll({"a", "b", "c", "d"});
  KVStore* other = nullptr;
  ASSERT_EQ(kvstore_open_v2(dir_.file("it.db").c_str(), &other, nullptr),
            KVSTORE_OK);
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_iterator_create(kv_, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "a");
  // Another handle changes the store meanwhile.
  ASSERT_EQ(Put(other, "bb", "new"), KVSTORE_OK);
  ASSERT_EQ(kvstore_delete(other, "c", 1), KVSTORE_OK);
  ASSERT_EQ(Put(other, "e", "new"), KVSTORE_OK);
  EXPECT_EQ(Drain(it), (Keys{"a", "b", "c", "d"}));
  // A new positioning call sees the new state.
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  EXPECT_EQ(Drain(it), (Keys{"a", "b", "bb", "d", "e"}));
  kvstore_iterator_close(it);
  EXPECT_EQ(kvstore_close(other), KVSTORE_OK);
}

TEST_F(CApiIterator, SnapshotHoldsWhenChangingDirection) {
  PutAll({"a", "b", "c", "d"});
  KVStore* other = nullptr;
  ASSERT_EQ(kvstore_open_v2(dir_.file("it.db").c_str(), &other, nullptr),
            KVSTORE_OK);
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_iterator_create(kv_, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_next(it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_next(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "c");
  ASSERT_EQ(kvstore_delete(other, "b", 1), KVSTORE_OK);
  ASSERT_EQ(Put(other, "bb", "new"), KVSTORE_OK);
  // prev() is a move, not a positioning call: same snapshot.
  ASSERT_EQ(kvstore_iterator_prev(it), KVSTORE_OK);
  EXPECT_EQ(Key(it), "b");
  kvstore_iterator_close(it);
  EXPECT_EQ(kvstore_close(other), KVSTORE_OK);
}

TEST_F(CApiIterator, InvalidCallsFailWithoutCrashing) {
  PutAll({"a"});
  KVIterator* it = reinterpret_cast<KVIterator*>(0x1);
  EXPECT_EQ(kvstore_iterator_create(nullptr, &it), KVSTORE_ERROR);
  EXPECT_EQ(it, nullptr);
  EXPECT_EQ(kvstore_iterator_create(kv_, nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_reverse_iterator_create(nullptr, &it), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_iterator_create(nullptr, &it), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_reverse_iterator_create(nullptr, &it), KVSTORE_ERROR);
  it = reinterpret_cast<KVIterator*>(0x1);
  EXPECT_EQ(kvstore_prefix_iterator_create(kv_, "a", -1, &it), KVSTORE_ERROR);
  EXPECT_EQ(it, nullptr);
  EXPECT_EQ(kvstore_prefix_iterator_create(kv_, nullptr, 2, &it),
            KVSTORE_ERROR);
  EXPECT_EQ(kvstore_reverse_prefix_iterator_create(kv_, "a", -1, &it),
            KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_prefix_iterator_create(nullptr, "a", 1, &it),
            KVSTORE_ERROR);
  EXPECT_EQ(kvstore_cf_reverse_prefix_iterator_create(nullptr, "a", 1, &it),
            KVSTORE_ERROR);

  void* p = nullptr;
  int n = 0;
  EXPECT_EQ(kvstore_iterator_eof(nullptr), 1);
  EXPECT_EQ(kvstore_iterator_first(nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_iterator_last(nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_iterator_next(nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_iterator_prev(nullptr), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_iterator_seek(nullptr, "a", 1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_iterator_key(nullptr, &p, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_iterator_value(nullptr, &p, &n), KVSTORE_ERROR);
  kvstore_iterator_close(nullptr);

  ASSERT_EQ(kvstore_iterator_create(kv_, &it), KVSTORE_OK);
  // Unpositioned: no key or value.
  EXPECT_EQ(kvstore_iterator_key(it, &p, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_iterator_value(it, &p, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_iterator_seek(it, "a", -1), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_iterator_seek(it, nullptr, 1), KVSTORE_ERROR);
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_key(it, nullptr, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_iterator_key(it, &p, nullptr), KVSTORE_ERROR);
  ASSERT_EQ(kvstore_iterator_next(it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_eof(it), 1);
  EXPECT_EQ(kvstore_iterator_key(it, &p, &n), KVSTORE_ERROR);
  EXPECT_EQ(kvstore_iterator_value(it, &p, &n), KVSTORE_ERROR);
  kvstore_iterator_close(it);
}

TEST(CApiIteratorClose, IteratorsAreInvalidatedByStoreClose) {
  TempDir dir;
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open_v2(dir.file("a.db").c_str(), &kv, nullptr),
            KVSTORE_OK);
  ASSERT_EQ(Put(kv, "a", "1"), KVSTORE_OK);
  ASSERT_EQ(Put(kv, "b", "2"), KVSTORE_OK);
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_iterator_create(kv, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  EXPECT_NE(kvstore_iterator_next(it), KVSTORE_OK);
  EXPECT_NE(kvstore_iterator_first(it), KVSTORE_OK);
  EXPECT_EQ(kvstore_iterator_eof(it), 1);
  void* p = nullptr;
  int n = 0;
  EXPECT_NE(kvstore_iterator_key(it, &p, &n), KVSTORE_OK);
  kvstore_iterator_close(it);
}

}  // namespace
