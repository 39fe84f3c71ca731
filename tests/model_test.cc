// Differential test: long random sequences of operations on a store and on
// a std::map model must agree at every step. It covers the interplay that
// hand-written tests miss: buffered puts inside transactions seen by gets,
// iterators and counts; rollbacks; seeks and direction changes; clears;
// put_if_absent; two families. Seeds are fixed, so a failure reproduces.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>

#include "snkv/snkv.h"
#include "test_util.h"

namespace snkv {
namespace {

using Model = std::map<std::string, std::string>;

class ModelTest : public ::testing::TestWithParam<int> {
 protected:
  std::string RandomKey() {
    // A small key space so that operations collide; bytes include 0x00 and
    // 0xff to exercise ordering and prefix ends.
    static const char kAlphabet[] = {'a', 'b', 'c', '\0', '\xff'};
    std::string key;
    int len = static_cast<int>(rng_() % 4);  // the empty key too
    for (int i = 0; i < len; ++i) key += kAlphabet[rng_() % sizeof kAlphabet];
    return key;
  }
  std::string RandomValue() {
    return std::string(rng_() % 40, static_cast<char>('A' + rng_() % 26));
  }

  // Compares a full iteration (forward or reverse) with the model.
  void CheckIteration(ColumnFamily& cf, const Model& model, bool reverse) {
    Iterator it = cf.NewIterator({.prefix = "", .reverse = reverse});
    std::string got;
    std::string want;
    for (const auto& [k, v] : it)
      got += k.ToString() + "=" + v.ToString() + ";";
    ASSERT_TRUE(it.status().ok()) << it.status().ToString();
    if (reverse) {
      for (auto p = model.rbegin(); p != model.rend(); ++p) {
        want += p->first + "=" + p->second + ";";
      }
    } else {
      for (const auto& [k, v] : model) want += k + "=" + v + ";";
    }
    ASSERT_EQ(got, want);
  }

  // Seeks, then walks a few steps in random directions, against the model.
  void CheckSeekWalk(ColumnFamily& cf, const Model& model) {
    bool reverse = rng_() % 2 == 0;
    Iterator it = cf.NewIterator({.prefix = "", .reverse = reverse});
    std::string target = RandomKey();
    ASSERT_TRUE(it.Seek(target).ok());
    std::optional<std::string> at;
    if (!reverse) {
      auto p = model.lower_bound(target);
      if (p != model.end()) at = p->first;
    } else {
      auto p = model.upper_bound(target);
      if (p != model.begin()) at = std::prev(p)->first;
    }
    for (int step = 0; step < 6; ++step) {
      ASSERT_EQ(it.Valid(), at.has_value()) << "step " << step;
      if (!at) return;
      ASSERT_EQ(it.key().ToString(), *at);
      ASSERT_EQ(it.value().ToString(), model.at(*at));
      auto p = model.find(*at);
      if (rng_() % 2 == 0) {
        ASSERT_TRUE(it.Next().ok());
        ++p;
        at = p == model.end() ? std::nullopt : std::optional(p->first);
      } else {
        ASSERT_TRUE(it.Prev().ok());
        at = p == model.begin() ? std::nullopt
                                : std::optional(std::prev(p)->first);
      }
    }
  }

  std::mt19937_64 rng_{static_cast<uint64_t>(GetParam())};
};

TEST_P(ModelTest, RandomOperationsAgreeWithAMap) {
  // The seed also picks the store's kind: WAL, rollback journal, or
  // encrypted (WAL).
  test::TempDir dir;
  const int kind = GetParam() % 3;
  Options options;
  if (kind == 1) options.journal_mode = JournalMode::kDelete;
  auto open = [&](Store* store) {
    return kind == 2 ? Store::OpenEncrypted(dir.file("model.db"), "pw", options,
                                            store)
                     : Store::Open(dir.file("model.db"), options, store);
  };
  Store db;
  ASSERT_TRUE(open(&db).ok());
  ColumnFamily cfs[2] = {db.DefaultColumnFamily(), {}};
  ASSERT_TRUE(db.CreateColumnFamily("second", &cfs[1]).ok());
  Model committed[2];
  Model current[2];
  bool in_txn = false;

  for (int op = 0; op < 4000; ++op) {
    SCOPED_TRACE("op " + std::to_string(op));
    int f = static_cast<int>(rng_() % 2);
    ColumnFamily& cf = cfs[f];
    Model& model = current[f];
    std::string key = RandomKey();
    switch (rng_() % 16) {
      case 0:
      case 1:
      case 2:
      case 3: {  // put
        std::string value = RandomValue();
        ASSERT_TRUE(cf.Put(key, value).ok());
        model[key] = value;
        break;
      }
      case 4:
      case 5: {  // get
        std::string v;
        Status s = cf.Get(key, &v);
        auto p = model.find(key);
        if (p == model.end()) {
          ASSERT_TRUE(s.IsNotFound()) << s.ToString();
        } else {
          ASSERT_TRUE(s.ok()) << s.ToString();
          ASSERT_EQ(v, p->second);
        }
        break;
      }
      case 6: {  // delete
        Status s = cf.Delete(key);
        ASSERT_EQ(s.IsNotFound(), model.erase(key) == 0) << s.ToString();
        break;
      }
      case 7: {  // exists
        bool exists = false;
        ASSERT_TRUE(cf.Exists(key, &exists).ok());
        ASSERT_EQ(exists, model.count(key) == 1);
        break;
      }
      case 8: {  // put_if_absent
        bool inserted = false;
        std::string value = RandomValue();
        ASSERT_TRUE(cf.PutIfAbsent(key, value, 0, &inserted).ok());
        ASSERT_EQ(inserted, model.count(key) == 0);
        if (inserted) model[key] = value;
        break;
      }
      case 9: {  // count
        int64_t n = -1;
        ASSERT_TRUE(cf.Count(&n).ok());
        ASSERT_EQ(n, static_cast<int64_t>(model.size()));
        break;
      }
      case 10:
        CheckIteration(cf, model, rng_() % 2 == 0);
        break;
      case 11:
        CheckSeekWalk(cf, model);
        break;
      case 12:  // begin
        if (!in_txn) {
          ASSERT_TRUE(db.Begin(TxnMode::kWrite).ok());
          in_txn = true;
        }
        break;
      case 13:  // commit
        if (in_txn) {
          ASSERT_TRUE(db.Commit().ok());
          committed[0] = current[0];
          committed[1] = current[1];
          in_txn = false;
        }
        break;
      case 14:  // rollback
        if (in_txn) {
          ASSERT_TRUE(db.Rollback().ok());
          current[0] = committed[0];
          current[1] = committed[1];
          in_txn = false;
        }
        break;
      case 15:  // rarely, clear a family
        if (rng_() % 8 == 0) {
          ASSERT_TRUE(cf.Clear().ok());
          model.clear();
        }
        break;
    }
    if (!in_txn) {
      committed[0] = current[0];
      committed[1] = current[1];
    }
    if (HasFatalFailure()) return;
  }
  if (in_txn) ASSERT_TRUE(db.Commit().ok());
  // Everything committed survives a reopen.
  ASSERT_TRUE(db.Close().ok());
  ASSERT_TRUE(open(&db).ok());
  ColumnFamily second;
  ASSERT_TRUE(db.OpenColumnFamily("second", &second).ok());
  ColumnFamily first = db.DefaultColumnFamily();
  CheckIteration(first, current[0], false);
  CheckIteration(second, current[1], true);
}

INSTANTIATE_TEST_SUITE_P(Seeds, ModelTest, ::testing::Values(1, 2, 3, 4, 5, 6));

}  // namespace
}  // namespace snkv
