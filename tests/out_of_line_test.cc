// Out-of-line values (src/kv/schema.h, "Out-of-line values"): which values
// leave the leaf, that every write frees the values row it replaces (no
// orphans, counted with raw SQL through a second connection), that every
// read path resolves references, the format version, two handles that
// disagree about whether the values table exists, and damage.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kv/schema.h"
#include "raw_connection.h"
#include "snkv/snkv.h"
#include "test_util.h"

namespace {

using snkv::Code;
using snkv::ColumnFamily;
using snkv::Iterator;
using snkv::IteratorBatch;
using snkv::IteratorOptions;
using snkv::Options;
using snkv::Status;
using snkv::Store;
using snkv::TxnMode;
using snkv::test::TempDir;

#define ASSERT_OK(expr)                    \
  do {                                     \
    const Status s_ = (expr);              \
    ASSERT_TRUE(s_.ok()) << s_.ToString(); \
  } while (0)
#define EXPECT_OK(expr)                    \
  do {                                     \
    const Status s_ = (expr);              \
    EXPECT_TRUE(s_.ok()) << s_.ToString(); \
  } while (0)

int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

// The largest value of key "k" (no expiry) that stays inline with 4 KiB
// pages: the record is header (5 bytes) + key (1) + value, and a leaf
// keeps up to MaxLocalPayload(4096) = 1002 bytes of it.
constexpr size_t kInlineMax = 996;
static_assert(snkv::schema::MaxLocalPayload(4096) == 1002);
static_assert(snkv::schema::RecordPayload(1, kInlineMax, 0) == 1002);

// A value of n bytes that differs with `seed`.
std::string Value(size_t n, int seed = 0) {
  std::string v(n, '\0');
  uint32_t x = 2654435761u * static_cast<uint32_t>(seed + 1);
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    v[i] = static_cast<char>(x >> 24);
  }
  return v;
}

using Raw = snkv::test::RawConnection;

class OutOfLine : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("s.db");
    ASSERT_OK(Store::Open(path_, {}, &db_));
  }
  TempDir dir_;
  std::string path_;
  Store db_;
};

TEST_F(OutOfLine, ValuesLeaveTheLeafExactlyWhenTheRowWouldSpill) {
  Raw raw(path_);
  const std::vector<size_t> sizes = {
      0,    1,    100,   kInlineMax - 1, kInlineMax, kInlineMax + 1,
      1024, 4096, 16384, size_t{1} << 20};
  for (size_t n : sizes) {
    ASSERT_OK(db_.Put("k", Value(n, static_cast<int>(n))));
    std::string got;
    ASSERT_OK(db_.Get("k", &got));
    EXPECT_EQ(got, Value(n, static_cast<int>(n))) << n;
    EXPECT_EQ(raw.TypeOf("k"), n > kInlineMax ? "integer" : "blob") << n;
    // At most one values row: each overwrite freed the one before.
    EXPECT_EQ(raw.ValuesRows(), n > kInlineMax ? 1 : 0) << n;
  }
  // The inline maximum really fits on the leaf: the record of the last
  // inline size spills nothing (where SQLite has the dbstat table).
  ASSERT_OK(db_.Put("k", Value(kInlineMax)));
  const int64_t spilled =
      raw.Int("SELECT sum(ovfl_payload) FROM dbstat WHERE name = 'kv_0'");
  if (spilled >= 0) EXPECT_EQ(spilled, 0);
  ASSERT_OK(db_.Put("k", Value(kInlineMax + 1)));
  ASSERT_OK(db_.Delete("k"));
  EXPECT_EQ(raw.ValuesRows(), 0);
}

TEST_F(OutOfLine, ThresholdCountsTheKeyAndTheExpiry) {
  Raw raw(path_);
  const int64_t far = NowMs() + 3600 * 1000;
  const std::string key(100, 'x');
  // With a 100-byte key and a 6-byte expiry the value's room shrinks.
  const auto payload = [&](size_t n) {
    return snkv::schema::RecordPayload(key.size(), n, far);
  };
  size_t fits = 0;
  while (payload(fits + 1) <= 1002) ++fits;
  ASSERT_OK(db_.Put(key, Value(fits), far));
  EXPECT_EQ(raw.TypeOf(key), "blob");
  ASSERT_OK(db_.Put(key, Value(fits + 1), far));
  EXPECT_EQ(raw.TypeOf(key), "integer");
  // The same value without an expiry fits again.
  ASSERT_OK(db_.Put(key, Value(fits + 1)));
  EXPECT_EQ(raw.TypeOf(key), "blob");
  EXPECT_EQ(raw.ValuesRows(), 0);
}

TEST_F(OutOfLine, AKeyTooLongForTheLeafKeepsItsValueInline) {
  Raw raw(path_);
  const std::string key(1500, 'K');
  for (size_t n : {size_t{0}, size_t{10}, size_t{5000}}) {
    ASSERT_OK(db_.Put(key, Value(n, 3)));
    EXPECT_EQ(raw.TypeOf(key), "blob") << n;
    std::string got;
    ASSERT_OK(db_.Get(key, &got));
    EXPECT_EQ(got, Value(n, 3));
  }
  // A key that leaves room for a reference but not for the value.
  const std::string long_key(900, 'L');
  ASSERT_OK(db_.Put(long_key, Value(200, 4)));
  EXPECT_EQ(raw.TypeOf(long_key), "integer");
  ASSERT_OK(db_.Delete(long_key));
  EXPECT_EQ(raw.ValuesRows(), 0);
}

TEST_F(OutOfLine, OverwritesAndDeletesLeaveNoOrphans) {
  Raw raw(path_);
  EXPECT_EQ(raw.UserVersion(), 1);
  EXPECT_FALSE(raw.HasValuesTable());
  ASSERT_OK(db_.Put("a", "small"));
  EXPECT_FALSE(raw.HasValuesTable());  // small values create nothing
  ASSERT_OK(db_.Put("a", Value(5000, 1)));
  EXPECT_TRUE(raw.HasValuesTable());
  EXPECT_EQ(raw.UserVersion(), 2);
  ASSERT_OK(db_.Put("a", "small again"));
  EXPECT_EQ(raw.ValuesRows(), 0);
  ASSERT_OK(db_.Put("a", Value(3000, 2)));
  ASSERT_OK(db_.Put("a", Value(4000, 3)));  // out of line over out of line
  EXPECT_EQ(raw.ValuesRows(), 1);
  std::string got;
  ASSERT_OK(db_.Get("a", &got));
  EXPECT_EQ(got, Value(4000, 3));
  ASSERT_OK(db_.Delete("a"));
  EXPECT_EQ(raw.ValuesRows(), 0);
  EXPECT_EQ(db_.Get("a", &got).code(), Code::kNotFound);
  EXPECT_EQ(db_.Delete("a").code(), Code::kNotFound);
  // Small values in a family that has a values table still work.
  ASSERT_OK(db_.Put("b", "x"));
  ASSERT_OK(db_.Put("b", "y"));
  ASSERT_OK(db_.Delete("b"));
  EXPECT_EQ(raw.ValuesRows(), 0);
}

// A large value over a large value is written into the same values row:
// its id stays, the values table takes no new id, and a change of expiry
// (set, changed, removed) goes to the row as well, in autocommit, in a
// transaction and for put-if-absent over an expired row. A reference to no
// values row (damage) gets a new row instead.
TEST_F(OutOfLine, OverwritesReuseTheValuesRow) {
  Raw raw(path_);
  ColumnFamily cf = db_.DefaultColumnFamily();
  ASSERT_OK(db_.Put("a", Value(3000, 1)));
  ASSERT_OK(db_.Put("b", Value(3000, 2)));
  const int64_t id_a =
      raw.Int("SELECT v FROM kv_0 WHERE k = CAST('a' AS BLOB)");
  ASSERT_GT(id_a, 0);
  auto expect = [&](const std::string& key, const std::string& value,
                    bool has_ttl) {
    std::string got;
    ASSERT_OK(db_.Get(key, &got));
    EXPECT_TRUE(got == value) << key;
    int64_t remaining = 0;
    ASSERT_OK(cf.TtlRemaining(key, &remaining));
    EXPECT_EQ(remaining != snkv::kNoTtl, has_ttl) << key;
  };
  ASSERT_OK(db_.Put("a", Value(5000, 3)));  // larger, no expiry
  expect("a", Value(5000, 3), false);
  ASSERT_OK(cf.Put("a", Value(2000, 4), NowMs() + 3600000));  // expiry set
  expect("a", Value(2000, 4), true);
  ASSERT_OK(cf.Put("a", Value(2500, 5), NowMs() + 7200000));  // changed
  expect("a", Value(2500, 5), true);
  ASSERT_OK(db_.Put("a", Value(2600, 6)));  // removed
  expect("a", Value(2600, 6), false);
  {
    snkv::Transaction txn;
    ASSERT_OK(db_.BeginTransaction(TxnMode::kWrite, &txn));
    ASSERT_OK(db_.Put("a", Value(3100, 7)));
    ASSERT_OK(db_.Put("b", Value(3200, 8)));
    ASSERT_OK(txn.Commit());
  }
  expect("a", Value(3100, 7), false);
  expect("b", Value(3200, 8), false);
  // put-if-absent over an expired large row.
  ASSERT_OK(cf.Put("a", Value(3000, 9), NowMs() - 1000));
  bool inserted = false;
  ASSERT_OK(cf.PutIfAbsent("a", Value(4000, 10), 0, &inserted));
  EXPECT_TRUE(inserted);
  expect("a", Value(4000, 10), false);
  EXPECT_EQ(raw.Int("SELECT v FROM kv_0 WHERE k = CAST('a' AS BLOB)"), id_a);
  EXPECT_EQ(raw.ValuesRows(), 2);
  EXPECT_EQ(raw.Int("SELECT max(id) FROM kv_0_values"), 2);
  // Damage: a's values row is gone; the overwrite gives it a new one.
  raw.Exec("DELETE FROM kv_0_values WHERE id = " + std::to_string(id_a));
  ASSERT_OK(db_.Put("a", Value(3300, 11)));
  expect("a", Value(3300, 11), false);
  EXPECT_EQ(raw.Orphans(0) + raw.Dangling(0), 0);
  std::string problems;
  EXPECT_OK(db_.IntegrityCheck(&problems));
}

TEST_F(OutOfLine, PutIfAbsentBothWays) {
  Raw raw(path_);
  bool inserted = false;
  ASSERT_OK(
      db_.DefaultColumnFamily().PutIfAbsent("k", Value(2000, 1), 0, &inserted));
  EXPECT_TRUE(inserted);
  EXPECT_EQ(raw.ValuesRows(), 1);
  // Present: neither a small nor a large value goes in, and the large one
  // leaves no values row behind.
  ASSERT_OK(
      db_.DefaultColumnFamily().PutIfAbsent("k", Value(3000, 2), 0, &inserted));
  EXPECT_FALSE(inserted);
  ASSERT_OK(db_.DefaultColumnFamily().PutIfAbsent("k", "small", 0, &inserted));
  EXPECT_FALSE(inserted);
  EXPECT_EQ(raw.ValuesRows(), 1);
  std::string got;
  ASSERT_OK(db_.Get("k", &got));
  EXPECT_EQ(got, Value(2000, 1));
  // An expired out-of-line row is replaced, by a small value and by a
  // large one, and its values row goes.
  ASSERT_OK(db_.Put("e", Value(2000, 3), NowMs() + 30));
  ASSERT_OK(db_.Put("f", Value(2000, 4), NowMs() + 30));
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  ASSERT_OK(db_.DefaultColumnFamily().PutIfAbsent("e", "new", 0, &inserted));
  EXPECT_TRUE(inserted);
  ASSERT_OK(
      db_.DefaultColumnFamily().PutIfAbsent("f", Value(2500, 5), 0, &inserted));
  EXPECT_TRUE(inserted);
  ASSERT_OK(db_.Get("e", &got));
  EXPECT_EQ(got, "new");
  ASSERT_OK(db_.Get("f", &got));
  EXPECT_EQ(got, Value(2500, 5));
  EXPECT_EQ(raw.ValuesRows(), 2);  // k and f
}

TEST_F(OutOfLine, ExpiryAndPurgeFreeValues) {
  Raw raw(path_);
  const int64_t soon = NowMs() + 40;
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK(db_.Put("t" + std::to_string(i), Value(1500, i), soon));
  }
  ASSERT_OK(db_.Put("keep", Value(1500, 99), NowMs() + 3600000));
  EXPECT_EQ(raw.ValuesRows(), 21);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  // A read of an expired key removes it, with its value.
  std::string got;
  EXPECT_EQ(db_.Get("t0", &got).code(), Code::kNotFound);
  EXPECT_EQ(raw.ValuesRows(), 20);
  // So does a delete of one (NotFound, but the row goes).
  EXPECT_EQ(db_.Delete("t1").code(), Code::kNotFound);
  EXPECT_EQ(raw.ValuesRows(), 19);
  int64_t purged = 0;
  ASSERT_OK(db_.DefaultColumnFamily().PurgeExpired(&purged));
  EXPECT_EQ(purged, 18);
  EXPECT_EQ(raw.ValuesRows(), 1);
  ASSERT_OK(db_.Get("keep", &got));
  EXPECT_EQ(got, Value(1500, 99));
}

TEST_F(OutOfLine, ClearEmptiesTheValuesTable) {
  Raw raw(path_);
  for (int i = 0; i < 50; ++i) {
    ASSERT_OK(db_.Put("k" + std::to_string(i), Value(i % 2 ? 2000 : 10, i)));
  }
  EXPECT_EQ(raw.ValuesRows(), 25);
  ASSERT_OK(db_.DefaultColumnFamily().Clear());
  EXPECT_EQ(raw.ValuesRows(), 0);
  int64_t count = -1;
  ASSERT_OK(db_.DefaultColumnFamily().Count(&count));
  EXPECT_EQ(count, 0);
  ASSERT_OK(db_.Put("k", Value(2000, 7)));
  std::string got;
  ASSERT_OK(db_.Get("k", &got));
  EXPECT_EQ(got, Value(2000, 7));
}

TEST_F(OutOfLine, DroppingAFamilyDropsItsValuesTable) {
  Raw raw(path_);
  ColumnFamily cf;
  ASSERT_OK(db_.CreateColumnFamily("big", &cf));
  ASSERT_OK(cf.Put("k", Value(2000)));
  EXPECT_TRUE(raw.HasValuesTable(1));
  cf = ColumnFamily();
  ASSERT_OK(db_.DropColumnFamily("big"));
  EXPECT_FALSE(raw.HasValuesTable(1));
  EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_schema WHERE name LIKE "
                    "'kv_1%'"),
            0);
}

TEST_F(OutOfLine, TransactionsWriteAndRollBackValues) {
  Raw raw(path_);
  // Rolled back: the values table that transaction created goes too.
  ASSERT_OK(db_.Begin(TxnMode::kWrite));
  for (int i = 0; i < 100; ++i) {
    ASSERT_OK(db_.Put("r" + std::to_string(i), Value(3000, i)));
  }
  std::string got;
  ASSERT_OK(db_.Get("r5", &got));  // read back inside the transaction
  EXPECT_EQ(got, Value(3000, 5));
  ASSERT_OK(db_.Rollback());
  EXPECT_FALSE(raw.HasValuesTable());
  EXPECT_EQ(raw.UserVersion(), 1);
  // The handle knows the table is gone: a large put creates it again.
  ASSERT_OK(db_.Put("x", Value(2000, 1)));
  EXPECT_EQ(raw.ValuesRows(), 1);

  // Committed: an ordered load mixing sizes (appends go through the
  // multi-row statement), then overwrites and deletes among them.
  std::map<std::string, std::string> model;
  model["x"] = Value(2000, 1);
  ASSERT_OK(db_.Begin(TxnMode::kWrite));
  for (int i = 0; i < 300; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "y%05d", i);
    const std::string v = Value(i % 7 == 0 ? 1800 : 50, i);
    ASSERT_OK(db_.Put(key, v));
    model[key] = v;
  }
  ASSERT_OK(db_.Commit());
  ASSERT_OK(db_.Begin(TxnMode::kWrite));
  for (int i = 0; i < 300; i += 3) {
    char key[16];
    std::snprintf(key, sizeof key, "y%05d", i);
    if (i % 2 == 0) {
      ASSERT_OK(db_.Delete(key));
      model.erase(key);
    } else {
      const std::string v = Value(i % 5 == 0 ? 1200 : 20, i + 1000);
      ASSERT_OK(db_.Put(key, v));
      model[key] = v;
    }
  }
  // A rolled-back savepoint inside (a failing put_if_absent is not needed:
  // a plain rollback of the whole transaction is covered above).
  ASSERT_OK(db_.Commit());
  int64_t large = 0;
  for (const auto& [k, v] : model) {
    ASSERT_OK(db_.Get(k, &got));
    EXPECT_EQ(got, v) << k;
    if (v.size() > kInlineMax) ++large;
  }
  EXPECT_EQ(raw.ValuesRows(), large);
}

// Reads every row of `cf` through an iterator with `options`, moving
// forward (or backward when reverse), optionally through ReadBatch.
std::vector<std::pair<std::string, std::string>> Scan(
    ColumnFamily& cf, const IteratorOptions& options, bool batched,
    Status* status) {
  std::vector<std::pair<std::string, std::string>> rows;
  Iterator it = cf.NewIterator(options);
  *status = it.SeekToStart();
  if (!status->ok()) return rows;
  if (batched) {
    IteratorBatch batch;
    while (it.Valid()) {
      batch.Clear();
      *status = it.ReadBatch(&batch, 37);
      for (size_t i = 0; i < batch.size(); ++i) {
        rows.emplace_back(batch.key(i).ToString(), batch.value(i).ToString());
      }
      if (!status->ok()) return rows;
    }
  } else {
    while (it.Valid()) {
      rows.emplace_back(it.key().ToString(), it.value().ToString());
      *status = it.Advance();
      if (!status->ok()) return rows;
    }
  }
  *status = it.status();
  return rows;
}

TEST_F(OutOfLine, IteratorsResolveReferences) {
  ColumnFamily cf = db_.DefaultColumnFamily();
  std::map<std::string, std::string> model;
  std::mt19937 rng(7);
  for (int i = 0; i < 700; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "%c%05d", i % 3 == 0 ? 'a' : 'b', i);
    const size_t n = (rng() % 4 == 0) ? 900 + rng() % 3000 : rng() % 200;
    model[key] = Value(n, i);
    ASSERT_OK(cf.Put(key, model[key]));
  }
  for (bool reverse : {false, true}) {
    for (const std::string& prefix : {std::string(), std::string("b")}) {
      for (bool batched : {false, true}) {
        std::vector<std::pair<std::string, std::string>> want;
        for (const auto& kv : model) {
          if (kv.first.starts_with(prefix)) want.push_back(kv);
        }
        if (reverse) std::reverse(want.begin(), want.end());
        Status s;
        IteratorOptions options;
        options.prefix = prefix;
        options.reverse = reverse;
        auto got = Scan(cf, options, batched, &s);
        ASSERT_OK(s);
        EXPECT_TRUE(got == want)
            << "reverse " << reverse << " prefix '" << prefix << "' batched "
            << batched << ": " << got.size() << " rows of " << want.size();
      }
    }
  }
  // Seeks land on out-of-line rows too.
  Iterator it = cf.NewIterator();
  for (const auto& [k, v] : model) {
    if (v.size() <= kInlineMax) continue;
    ASSERT_OK(it.Seek(k));
    ASSERT_TRUE(it.Valid());
    EXPECT_EQ(it.key().ToString(), k);
    EXPECT_EQ(it.value().ToString(), v);
  }
}

TEST_F(OutOfLine, EncryptionMovesValuesInAndOutOfLine) {
  ASSERT_TRUE(db_.Close().ok());
  const std::string path = dir_.file("enc.db");
  std::map<std::string, std::string> model;
  {
    // Plain first; the sizes straddle the threshold by less than the
    // 40 bytes sealing adds.
    Store plain;
    ASSERT_OK(Store::Open(path, {}, &plain));
    for (int i = 0; i < 80; ++i) {
      const size_t n = kInlineMax - 45 + static_cast<size_t>(i);
      const std::string key = "k" + std::to_string(i);
      model[key] = Value(n, i);
      ASSERT_OK(plain.Put(key, model[key]));
    }
    model["big"] = Value(50000, 1);
    ASSERT_OK(plain.Put("big", model["big"]));
  }
  Raw raw(path);
  const auto check = [&](Store& s) {
    std::string got;
    for (const auto& [k, v] : model) {
      ASSERT_OK(s.Get(k, &got));
      EXPECT_EQ(got, v) << k;
    }
    Status st;
    ColumnFamily cf = s.DefaultColumnFamily();
    auto rows = Scan(cf, {}, true, &st);
    ASSERT_OK(st);
    EXPECT_EQ(rows.size(), model.size());
  };
  const auto outline_rows = [&] {
    return raw.Int("SELECT count(*) FROM kv_0 WHERE typeof(v) = 'integer'");
  };
  // How many rows must be out of line with `overhead` bytes per value.
  const auto expected = [&](size_t overhead) {
    int64_t n = 0;
    for (const auto& [k, v] : model) {
      n += snkv::schema::RecordPayload(k.size(), v.size() + overhead, 0) > 1002;
    }
    return n;
  };
  const int64_t plain_out = expected(0);
  const int64_t sealed_out = expected(40);
  EXPECT_GT(sealed_out, plain_out + 10);  // the test moves rows
  EXPECT_EQ(outline_rows(), plain_out);
  {
    Store enc;  // encrypts in place: 40 more bytes each
    ASSERT_OK(Store::OpenEncrypted(path, "pw", {}, &enc));
    check(enc);
    EXPECT_EQ(outline_rows(), sealed_out);
    EXPECT_EQ(raw.ValuesRows(), outline_rows());
    ASSERT_OK(enc.Put("k3", Value(3000, 3)));
    model["k3"] = Value(3000, 3);
    ASSERT_OK(enc.Reencrypt("pw2"));
    check(enc);
    EXPECT_EQ(raw.ValuesRows(), outline_rows());
    ASSERT_OK(enc.RemoveEncryption());
    check(enc);
  }
  EXPECT_EQ(outline_rows(), expected(0));
  EXPECT_EQ(raw.ValuesRows(), outline_rows());
}

TEST_F(OutOfLine, VersionOneStoresOpenAndUpgradeOnTheFirstLargeValue) {
  ASSERT_OK(db_.Put("small", "v"));
  ASSERT_TRUE(db_.Close().ok());
  {
    Raw raw(path_);
    EXPECT_EQ(raw.UserVersion(), 1);
  }
  ASSERT_OK(Store::Open(path_, {}, &db_));
  std::string got;
  ASSERT_OK(db_.Get("small", &got));
  ASSERT_OK(db_.Put("large", Value(10000)));
  ASSERT_TRUE(db_.Close().ok());
  {
    Raw raw(path_);
    EXPECT_EQ(raw.UserVersion(), 2);
  }
  ASSERT_OK(Store::Open(path_, {}, &db_));
  ASSERT_OK(db_.Get("large", &got));
  EXPECT_EQ(got, Value(10000));
  ASSERT_TRUE(db_.Close().ok());
  {
    Raw raw(path_);
    raw.Exec("PRAGMA user_version = 3");
  }
  const Status s = Store::Open(path_, {}, &db_);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("newer"), std::string::npos) << s.ToString();
}

TEST_F(OutOfLine, AHandleThatMissedTheValuesTableNeverOrphansARow) {
  Raw raw(path_);
  Store other;
  ASSERT_OK(Store::Open(path_, {}, &other));
  // Both handles prepare their statements while no values table exists.
  for (const char* k : {"a", "b", "c", "d", "e"}) {
    ASSERT_OK(db_.Put(k, "1"));
    ASSERT_OK(other.Put(k, "2"));
  }
  std::string got;
  ASSERT_OK(db_.Get("a", &got));
  // The other handle creates the table and puts large values.
  for (const char* k : {"a", "b", "c", "d", "e"}) {
    ASSERT_OK(other.Put(k, Value(2000, k[0])));
  }
  EXPECT_EQ(raw.ValuesRows(), 5);
  // This handle overwrites, deletes, put_if_absents and reads them.
  ASSERT_OK(db_.Get("a", &got));
  EXPECT_EQ(got, Value(2000, 'a'));
  ASSERT_OK(db_.Put("a", "small"));
  ASSERT_OK(db_.Delete("b"));
  bool inserted = true;
  ASSERT_OK(db_.DefaultColumnFamily().PutIfAbsent("c", "x", 0, &inserted));
  EXPECT_FALSE(inserted);
  ASSERT_OK(db_.Begin(TxnMode::kWrite));
  ASSERT_OK(db_.Put("c", "in a transaction"));
  ASSERT_OK(db_.Delete("d"));
  ASSERT_OK(db_.Commit());
  EXPECT_EQ(raw.ValuesRows(), 1);  // only e's
  ASSERT_OK(db_.Get("e", &got));
  EXPECT_EQ(got, Value(2000, 'e'));
  // And the other way: this handle's iterator, prepared before, reads the
  // other's new large values.
  Iterator it = db_.NewIterator();
  ASSERT_OK(it.SeekToFirst());
  ASSERT_OK(other.Put("a", Value(2100, 1)));
  ASSERT_OK(it.Seek("a"));
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.value().ToString(), Value(2100, 1));
}

TEST_F(OutOfLine, IntegrityCheckFindsOrphans) {
  ASSERT_OK(db_.Put("a", Value(2000, 1)));
  ASSERT_OK(db_.Put("b", Value(2000, 2)));
  std::string problems;
  ASSERT_OK(db_.IntegrityCheck(&problems));
  {
    Raw raw(path_);
    raw.Exec("DELETE FROM kv_0 WHERE k = CAST('a' AS BLOB)");
  }
  EXPECT_EQ(db_.IntegrityCheck(&problems).code(), Code::kCorrupt);
  EXPECT_NE(problems.find("no row refers to"), std::string::npos) << problems;
}

TEST_F(OutOfLine, WritesBesideAnOpenIteratorOfTheSameHandle) {
  ColumnFamily cf = db_.DefaultColumnFamily();
  for (int i = 0; i < 400; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "k%05d", i);
    ASSERT_OK(cf.Put(key, Value(40, i)));
  }
  Iterator it = cf.NewIterator();
  ASSERT_OK(it.SeekToFirst());
  int seen = 0;
  // The first large put creates the values table while the scan runs.
  for (; it.Valid() && seen < 400; ++seen) {
    char key[16];
    std::snprintf(key, sizeof key, "k%05d", (seen * 7) % 400);
    ASSERT_OK(cf.Put(key, Value(1500, seen)));
    if (seen % 3 == 0) ASSERT_OK(cf.Delete(key));
    ASSERT_OK(it.Next());
  }
  EXPECT_GT(seen, 300);
  std::string problems;
  ASSERT_OK(db_.IntegrityCheck(&problems));
  Status s;
  auto rows = Scan(cf, {}, true, &s);
  ASSERT_OK(s);
  for (const auto& [k, v] : rows) {
    std::string got;
    ASSERT_OK(cf.Get(k, &got));
    EXPECT_EQ(got, v);
  }
}

TEST_F(OutOfLine, ADanglingReferenceIsCorruptNotACrash) {
  ColumnFamily cf = db_.DefaultColumnFamily();
  for (int i = 0; i < 300; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "k%05d", i);
    ASSERT_OK(cf.Put(key, Value(i == 150 ? 3000 : 30, i)));
  }
  {
    Raw raw(path_);
    raw.Exec("DELETE FROM kv_0_values");
  }
  std::string got;
  Status s = db_.Get("k00150", &got);
  EXPECT_EQ(s.code(), Code::kCorrupt) << s.ToString();
  ASSERT_OK(db_.Get("k00149", &got));
  std::string problems;
  EXPECT_EQ(db_.IntegrityCheck(&problems).code(), Code::kCorrupt);
  EXPECT_NE(problems.find("references to missing out-of-line values"),
            std::string::npos)
      << problems;
  for (bool batched : {false, true}) {
    auto rows = Scan(cf, {}, batched, &s);
    EXPECT_EQ(s.code(), Code::kCorrupt) << s.ToString();
    EXPECT_EQ(rows.size(), 150u);  // every row before the damaged one
  }
  // A value of a type snkv never writes, and a missing values table.
  {
    Raw raw(path_);
    raw.Exec("UPDATE kv_0 SET v = 1.5 WHERE k = CAST('k00010' AS BLOB)");
  }
  s = db_.Get("k00010", &got);
  EXPECT_EQ(s.code(), Code::kCorrupt) << s.ToString();
  ASSERT_TRUE(db_.Close().ok());
  {
    Raw raw(path_);
    raw.Exec("DROP TABLE kv_0_values");
  }
  ASSERT_OK(Store::Open(path_, {}, &db_));
  s = db_.Get("k00150", &got);
  EXPECT_EQ(s.code(), Code::kCorrupt) << s.ToString();
}

TEST(OutOfLineInMemory, SmallPagesMoveTheThreshold) {
  Options options;
  options.page_size = 512;
  TempDir dir;
  Store db;
  ASSERT_OK(Store::Open(dir.file("p.db"), options, &db));
  // 512-byte pages keep at most 102 bytes of a record on the leaf.
  ASSERT_OK(db.Put("k", Value(96)));
  ASSERT_OK(db.Put("l", Value(97)));
  Raw raw(dir.file("p.db"));
  EXPECT_EQ(raw.TypeOf("k"), "blob");
  EXPECT_EQ(raw.TypeOf("l"), "integer");
  std::string got;
  ASSERT_OK(db.Get("l", &got));
  EXPECT_EQ(got, Value(97));
  Store mem;
  ASSERT_OK(Store::OpenInMemory({}, &mem));
  ASSERT_OK(mem.Put("k", Value(100000)));
  ASSERT_OK(mem.Get("k", &got));
  EXPECT_EQ(got, Value(100000));
}

}  // namespace
