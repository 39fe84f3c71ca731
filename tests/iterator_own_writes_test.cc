// Iterators whose own handle writes between moves: next/prev still move to
// a strictly larger/smaller key every time (never a key twice, never out of
// order), for every kind of iterator, through the C and the C++ API,
// checked against a model of the family.
//
// Between two moves a scan may overwrite the key it stands on (SQLite then
// deletes and re-inserts the row, and a running statement can step onto it
// again), insert keys behind or ahead of it, or delete keys. What a scan
// must return, whatever was written:
//   - keys in strictly increasing (forward) or decreasing (reverse) order,
//     all within its prefix;
//   - each with the value the model holds for it when it is returned;
//   - every key that was in range ahead of the start, present at the start
//     and never deleted during the scan (keys inserted during the scan
//     may or may not show, as in SQLite).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kvstore.h"
#include "snkv/snkv.h"
#include "test_util.h"

namespace {

using Model = std::map<std::string, std::string>;

// What a scan starts with.
enum class Start { kFirst, kSeek, kPrefix };
// What is written between two moves.
enum class Op {
  kNothing,
  kOverwriteCurrent,
  kInsertBehind,
  kInsertAhead,
  kDeleteCurrent,
  kDeleteAhead,
  kDeleteBehind,
  kCount
};

// The operations a test needs from an API: one handle, one iterator on it.
class Api {
 public:
  virtual ~Api() = default;
  virtual void Put(const std::string& k, const std::string& v) = 0;
  virtual void Delete(const std::string& k) = 0;
  virtual void Begin() = 0;
  virtual void Commit() = 0;
  // A new iterator (the old one is closed).
  virtual void NewIterator(const std::string& prefix, bool reverse) = 0;
  virtual void First() = 0;  // SeekToStart: first, or last when reverse
  virtual void Seek(const std::string& k) = 0;
  virtual void Move(bool forward) = 0;
  virtual bool Valid() = 0;
  virtual std::string Key() = 0;
  virtual std::string Value() = 0;
};

class CApi : public Api {
 public:
  explicit CApi(const std::string& path) {
    EXPECT_EQ(kvstore_open_v2(path.c_str(), &kv_, nullptr), KVSTORE_OK);
  }
  ~CApi() override {
    kvstore_iterator_close(it_);
    EXPECT_EQ(kvstore_close(kv_), KVSTORE_OK);
  }
  void Put(const std::string& k, const std::string& v) override {
    ASSERT_EQ(kvstore_put(kv_, k.data(), Len(k), v.data(), Len(v)), KVSTORE_OK);
  }
  void Delete(const std::string& k) override {
    ASSERT_EQ(kvstore_delete(kv_, k.data(), Len(k)), KVSTORE_OK);
  }
  void Begin() override { ASSERT_EQ(kvstore_begin(kv_, 1), KVSTORE_OK); }
  void Commit() override { ASSERT_EQ(kvstore_commit(kv_), KVSTORE_OK); }
  void NewIterator(const std::string& prefix, bool reverse) override {
    kvstore_iterator_close(it_);
    it_ = nullptr;
    reverse_ = reverse;
    int rc = KVSTORE_ERROR;
    if (prefix.empty()) {
      rc = reverse ? kvstore_reverse_iterator_create(kv_, &it_)
                   : kvstore_iterator_create(kv_, &it_);
    } else {
      rc = reverse ? kvstore_reverse_prefix_iterator_create(kv_, prefix.data(),
                                                            Len(prefix), &it_)
                   : kvstore_prefix_iterator_create(kv_, prefix.data(),
                                                    Len(prefix), &it_);
    }
    ASSERT_EQ(rc, KVSTORE_OK);
  }
  void First() override {
    ASSERT_EQ(
        reverse_ ? kvstore_iterator_last(it_) : kvstore_iterator_first(it_),
        KVSTORE_OK);
  }
  void Seek(const std::string& k) override {
    ASSERT_EQ(kvstore_iterator_seek(it_, k.data(), Len(k)), KVSTORE_OK);
  }
  void Move(bool forward) override {
    ASSERT_EQ(forward ? kvstore_iterator_next(it_) : kvstore_iterator_prev(it_),
              KVSTORE_OK);
  }
  bool Valid() override { return kvstore_iterator_eof(it_) == 0; }
  std::string Key() override {
    void* p = nullptr;
    int n = 0;
    EXPECT_EQ(kvstore_iterator_key(it_, &p, &n), KVSTORE_OK);
    return std::string(static_cast<char*>(p), static_cast<size_t>(n));
  }
  std::string Value() override {
    void* p = nullptr;
    int n = 0;
    EXPECT_EQ(kvstore_iterator_value(it_, &p, &n), KVSTORE_OK);
    return std::string(static_cast<char*>(p), static_cast<size_t>(n));
  }

 private:
  static int Len(const std::string& s) { return static_cast<int>(s.size()); }
  KVStore* kv_ = nullptr;
  KVIterator* it_ = nullptr;
  bool reverse_ = false;
};

class CppApi : public Api {
 public:
  explicit CppApi(const std::string& path) {
    snkv::Status s = snkv::Store::Open(path, {}, &db_);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  ~CppApi() override { it_.Close(); }
  void Put(const std::string& k, const std::string& v) override {
    Check(db_.Put(k, v));
  }
  void Delete(const std::string& k) override { Check(db_.Delete(k)); }
  void Begin() override { Check(db_.Begin(snkv::TxnMode::kWrite)); }
  void Commit() override { Check(db_.Commit()); }
  void NewIterator(const std::string& prefix, bool reverse) override {
    it_ = db_.NewIterator({.prefix = prefix, .reverse = reverse});
    Check(it_.status());
  }
  void First() override { Check(it_.SeekToStart()); }
  void Seek(const std::string& k) override { Check(it_.Seek(k)); }
  void Move(bool forward) override { Check(forward ? it_.Next() : it_.Prev()); }
  bool Valid() override { return it_.Valid(); }
  std::string Key() override { return std::string(it_.key().view()); }
  std::string Value() override { return std::string(it_.value().view()); }

 private:
  static void Check(const snkv::Status& s) {
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  snkv::Store db_;
  snkv::Iterator it_;
};

std::string KeyOf(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "k%05d", i);
  return buf;
}

struct ScanCase {
  bool forward;
  Start start;
  int keys;     // present at the start: k00000, k00002, ... (even numbers)
  bool in_txn;  // the whole scan inside a write transaction
  uint32_t seed;
};

// When set, values are padded to sizes on both sides of the out-of-line
// rule (schema.h), so that overwrites of large values by large values
// rewrite their values rows in place while the scan goes on.
bool g_large_values = false;

// `v`, padded when g_large_values to a size picked by its text.
std::string Sized(std::string v) {
  if (!g_large_values) return v;
  static const size_t kSizes[] = {900, 1500, 6000, 30, 20000};
  v.resize(kSizes[std::hash<std::string>()(v) % 5], '.');
  return v;
}

// Runs one scan, writing between moves, and checks it against the model.
void RunScan(Api& api, const ScanCase& c) {
  SCOPED_TRACE(testing::Message()
               << (c.forward ? "forward" : "reverse")
               << " start=" << static_cast<int>(c.start) << " keys=" << c.keys
               << " txn=" << c.in_txn << " seed=" << c.seed);
  std::mt19937 rng(c.seed);
  Model model;
  // Even numbers only, so that odd keys can be inserted between any two.
  for (int i = 0; i < c.keys; ++i) {
    const std::string k = KeyOf(2 * i);
    model[k] = Sized("v0:" + k);
    api.Put(k, model[k]);
  }
  // A prefix covering k00100..k00199 (about the middle fifty keys).
  const std::string prefix = c.start == Start::kPrefix ? "k001" : "";
  const std::string seek_to = KeyOf(c.keys / 2 + 1);  // odd: between keys
  auto in_range = [&](const std::string& k) {
    if (!prefix.empty() && k.compare(0, prefix.size(), prefix) != 0)
      return false;
    if (c.start != Start::kSeek) return true;
    return c.forward ? k >= seek_to : k <= seek_to;
  };
  // Keys that must be returned: in range at the start and never deleted.
  std::set<std::string> required;
  for (const auto& [k, v] : model)
    if (in_range(k)) required.insert(k);

  if (c.in_txn) api.Begin();
  api.NewIterator(prefix, !c.forward);
  if (c.start == Start::kSeek) {
    api.Seek(seek_to);
  } else {
    api.First();
  }
  std::optional<std::string> last;
  std::set<std::string> returned;
  int writes = 0;
  int moves = 0;
  for (; api.Valid(); ++moves) {
    ASSERT_LT(moves, 4 * c.keys + 100) << "the scan does not end";
    const std::string k = api.Key();
    if (last) {
      if (c.forward) {
        ASSERT_GT(k, *last) << "after " << *last;
      } else {
        ASSERT_LT(k, *last) << "after " << *last;
      }
    }
    ASSERT_TRUE(in_range(k)) << k;
    ASSERT_TRUE(model.count(k)) << k << " is not in the model";
    ASSERT_EQ(api.Value(), model[k]) << k;
    returned.insert(k);
    last = k;

    // Write something (most steps), then move on.
    const int n = std::uniform_int_distribution<int>(0, c.keys * 2)(rng);
    const int step = c.forward ? 1 : -1;
    const int here = std::stoi(k.substr(1));
    // Keys d places behind or ahead ("" below k00000).
    auto behind = [&](int d) {
      return here - step * d < 0 ? std::string() : KeyOf(here - step * d);
    };
    auto ahead = [&](int d) {
      return here + step * d < 0 ? std::string() : KeyOf(here + step * d);
    };
    const int d = 1 + n % 7;
    std::string target;
    switch (static_cast<Op>(n % static_cast<int>(Op::kCount))) {
      case Op::kNothing:
        break;
      case Op::kOverwriteCurrent:
        target = k;
        model[target] = Sized("v" + std::to_string(++writes) + ":" + target);
        api.Put(target, model[target]);
        break;
      case Op::kInsertBehind:
      case Op::kInsertAhead: {
        const bool is_ahead =
            static_cast<Op>(n % static_cast<int>(Op::kCount)) ==
            Op::kInsertAhead;
        target = is_ahead ? ahead(d) : behind(d);
        if (target.empty()) break;
        model[target] = Sized("v" + std::to_string(++writes) + ":" + target);
        api.Put(target, model[target]);
        break;
      }
      case Op::kDeleteCurrent:
      case Op::kDeleteAhead:
      case Op::kDeleteBehind: {
        const Op op = static_cast<Op>(n % static_cast<int>(Op::kCount));
        target = op == Op::kDeleteCurrent ? k
                 : op == Op::kDeleteAhead ? ahead(2 * d)
                                          : behind(2 * d);
        if (target.empty() || !model.count(target)) break;
        model.erase(target);
        required.erase(target);
        api.Delete(target);
        ++writes;
        break;
      }
      case Op::kCount:
        break;
    }
    api.Move(c.forward);
  }
  if (c.in_txn) api.Commit();
  for (const std::string& k : required) {
    EXPECT_TRUE(returned.count(k)) << k << " was never returned";
  }
  EXPECT_GT(writes, 0);
}

void RunAll(
    const std::function<std::unique_ptr<Api>(const std::string&)>& make) {
  uint32_t seed = 1;
  for (bool forward : {true, false}) {
    for (Start start : {Start::kFirst, Start::kSeek, Start::kPrefix}) {
      // 60 keys: row-by-row scans; 400: past the point where a scan
      // switches to batches (and, outside transactions, to reading pages).
      for (int keys : {60, 400}) {
        for (bool in_txn : {false, true}) {
          for (int round = 0; round < 3; ++round) {
            snkv::test::TempDir dir;
            std::unique_ptr<Api> api = make(dir.file("own.db"));
            RunScan(*api, {forward, start, keys, in_txn, seed++});
            if (testing::Test::HasFatalFailure()) return;
          }
        }
      }
    }
  }
}

// The case issue 18 found: overwriting the current key, then next.
void OverwriteCurrentThenMove(Api& api, bool forward) {
  for (int i = 0; i < 5; ++i) api.Put(KeyOf(i), "old");
  api.NewIterator("", !forward);
  api.First();
  std::vector<std::string> seen;
  while (api.Valid()) {
    const std::string k = api.Key();
    seen.push_back(k);
    api.Put(k, "new");  // the row is deleted and inserted again
    api.Move(forward);
    ASSERT_LE(seen.size(), 5u) << "a key came back";
  }
  std::vector<std::string> expected(5);
  for (int i = 0; i < 5; ++i) expected[i] = KeyOf(forward ? i : 4 - i);
  EXPECT_EQ(seen, expected);
}

TEST(IteratorOwnWrites, OverwritingTheCurrentKeyNeverReturnsItTwiceC) {
  for (bool forward : {true, false}) {
    snkv::test::TempDir dir;
    CApi api(dir.file("c.db"));
    OverwriteCurrentThenMove(api, forward);
  }
}

TEST(IteratorOwnWrites, OverwritingTheCurrentKeyNeverReturnsItTwiceCpp) {
  for (bool forward : {true, false}) {
    snkv::test::TempDir dir;
    CppApi api(dir.file("cpp.db"));
    OverwriteCurrentThenMove(api, forward);
  }
}

TEST(IteratorOwnWrites, RandomWritesBetweenMovesMatchTheModelC) {
  RunAll([](const std::string& path) { return std::make_unique<CApi>(path); });
}

TEST(IteratorOwnWrites, RandomWritesBetweenMovesMatchTheModelCpp) {
  RunAll(
      [](const std::string& path) { return std::make_unique<CppApi>(path); });
}

// The same with large values (some inline), overwritten in place between
// moves: each value returned is the model's, never an older one.
TEST(IteratorOwnWrites, LargeValuesOverwrittenInPlaceBetweenMovesCpp) {
  g_large_values = true;
  RunAll(
      [](const std::string& path) { return std::make_unique<CppApi>(path); });
  g_large_values = false;
}

// Turning around after writes: prev after next (and back) still moves
// strictly, from the key the iterator stands on.
TEST(IteratorOwnWrites, TurningAroundAfterWritesMovesStrictly) {
  snkv::test::TempDir dir;
  CApi api(dir.file("turn.db"));
  for (int i = 0; i < 300; ++i) api.Put(KeyOf(2 * i), "v");
  api.NewIterator("", false);
  api.First();
  std::mt19937 rng(7);
  for (int step = 0; step < 500 && api.Valid(); ++step) {
    const std::string k = api.Key();
    api.Put(k, "w" + std::to_string(step));  // overwrite the current key
    const bool forward = rng() % 3 != 0;
    api.Move(forward);
    if (!api.Valid()) break;
    const std::string next = api.Key();
    if (forward) {
      ASSERT_GT(next, k);
    } else {
      ASSERT_LT(next, k);
    }
  }
}

}  // namespace
