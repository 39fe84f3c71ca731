// Out-of-line values (src/kv/schema.h) under attack: hostile files whose
// values table is not what snkv creates, a newer format, a scan of one
// handle while another handle frees and reuses values rows, and a random
// mix of every write path over two handles, checked for orphaned and
// dangling values rows after each step.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kv/schema.h"
#include "raw_connection.h"
#include "snkv/snkv.h"
#include "test_util.h"
#include "test_vfs.h"

namespace {

using snkv::Code;
using snkv::ColumnFamily;
using snkv::Iterator;
using snkv::IteratorBatch;
using snkv::IteratorOptions;
using snkv::Status;
using snkv::Store;
using snkv::TxnMode;
using snkv::test::TempDir;

#define ASSERT_OK(expr)                    \
  do {                                     \
    const Status s_ = (expr);              \
    ASSERT_TRUE(s_.ok()) << s_.ToString(); \
  } while (0)

// Gets in a row after which a handle reads from its held snapshot's pages
// (as out_of_line_pages_test.cc counts them).
constexpr int kWarmReads = 8;

// A value of n bytes that names its key and seed at the start and repeats
// them, so that a value delivered for the wrong key, or a stale one, shows.
std::string Tagged(const std::string& key, size_t n, int seed) {
  const std::string tag = key + "#" + std::to_string(seed) + ";";
  std::string v;
  v.reserve(n);
  while (v.size() < n) v += tag;
  v.resize(n);
  return v;
}

using Raw = snkv::test::RawConnection;

// Every way a handle reads `key`: gets (the first through SQL, later ones
// from the held snapshot's pages), and scans both ways, row by row and
// batched. Each must give `expected` or an error; never other bytes.
void ExpectValueOrError(Store& db, const std::string& key,
                        const std::string& expected, bool* any_ok) {
  for (int i = 0; i < kWarmReads + 2; ++i) {
    std::string got;
    Status s = db.Get(key, &got);
    if (s.ok()) {
      *any_ok = true;
      EXPECT_EQ(got.size(), expected.size()) << "get " << i;
      EXPECT_TRUE(got == expected)
          << "get " << i << " gave other bytes: " << got.substr(0, 12);
    } else {
      EXPECT_NE(s.code(), Code::kNotFound) << s.ToString();
    }
  }
  ColumnFamily cf = db.DefaultColumnFamily();
  for (bool reverse : {false, true}) {
    for (bool batched : {false, true}) {
      IteratorOptions options;
      options.reverse = reverse;
      Iterator it = cf.NewIterator(options);
      Status s = it.SeekToStart();
      IteratorBatch batch;
      while (s.ok() && it.Valid()) {
        if (batched) {
          batch.Clear();
          s = it.ReadBatch(&batch, 7);
          for (size_t i = 0; i < batch.size(); ++i) {
            if (batch.key(i).ToString() == key) {
              *any_ok = true;
              EXPECT_TRUE(batch.value(i).ToString() == expected)
                  << "batched scan gave other bytes";
            }
          }
        } else {
          if (it.key().ToString() == key) {
            *any_ok = true;
            EXPECT_TRUE(it.value().ToString() == expected)
                << "scan gave other bytes";
          }
          s = it.Advance();
        }
      }
    }
  }
}

// Kills the writer child `pid` (SIGKILL; it must not have exited by
// itself), reaps it, and reads what it wrote to `fd`, one acknowledged
// number per line, which it closes: *last becomes the last complete line's
// number (left alone when there is none).
void KillWriterAndReadLastAck(pid_t pid, int fd, int* last) {
  kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status))
      << "the writer exited by itself: " << WEXITSTATUS(status);
  std::string acks;
  char buf[256];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) acks.append(buf, n);
  close(fd);
  for (size_t at = 0; at < acks.size();) {
    const size_t end = acks.find('\n', at);
    if (end == std::string::npos) break;
    *last = std::stoi(acks.substr(at, end - at));
    at = end + 1;
  }
}

// The size of key i's value in round `round` of the in-place overwrite
// tests: across the page boundary and back, and an inline one.
size_t InPlaceSize(int i, int round) {
  static const size_t kSizes[] = {1100, 6000, 20000, 1500, 40};
  return kSizes[(i + round) % 5];
}

class OutOfLineAttack : public ::testing::Test {
 protected:
  void SetUp() override { path_ = dir_.file("s.db"); }

  // A store whose key "a" holds a large value (out of line) among small
  // keys, closed again.
  void MakeStore() {
    Store db;
    ASSERT_OK(Store::Open(path_, {}, &db));
    for (int i = 0; i < 50; ++i) {
      ASSERT_OK(db.Put("s" + std::to_string(i), "small"));
    }
    ASSERT_OK(db.Put("a", Tagged("a", 3000, 1)));
    ASSERT_OK(db.Close());
  }

  TempDir dir_;
  std::string path_;
};

// A hostile values table with a column between the rowid and v: SQL
// resolves a reference to column v, so the pages must not hand out the
// first blob of the record instead.
TEST_F(OutOfLineAttack, AValuesTableWithAnotherColumnBeforeVIsNotMisread) {
  MakeStore();
  const std::string v = Tagged("a", 3000, 1);
  const std::string wrong = Tagged("WRONG", 3000, 9);
  {
    Raw raw(path_);
    raw.Exec("DROP TABLE kv_0_values");
    raw.Exec(
        "CREATE TABLE kv_0_values(id INTEGER PRIMARY KEY, w BLOB, v BLOB NOT "
        "NULL)");
    raw.Exec("INSERT INTO kv_0_values VALUES(1, CAST('" + wrong +
             "' AS BLOB), CAST('" + v + "' AS BLOB))");
    raw.Exec("UPDATE kv_0 SET v = 1 WHERE k = CAST('a' AS BLOB)");
  }
  Store db;
  ASSERT_OK(Store::Open(path_, {}, &db));
  bool any_ok = false;
  ExpectValueOrError(db, "a", v, &any_ok);
}

// The page readers take only tables whose sql is exactly what snkv
// writes: the default family's (kCreateSql) and every created family's
// must match schema::FamilyTableSql, or every read would go through SQL.
TEST_F(OutOfLineAttack, FamilyTablesAreCreatedAsThePageReadersExpect) {
  {
    Store db;
    ASSERT_OK(Store::Open(path_, {}, &db));
    ColumnFamily cf;
    ASSERT_OK(db.CreateColumnFamily("second", &cf));
  }
  Raw raw(path_);
  EXPECT_EQ(raw.Text("SELECT sql FROM sqlite_schema WHERE name = 'kv_0'"),
            snkv::schema::FamilyTableSql(0));
  EXPECT_EQ(raw.Text("SELECT sql FROM sqlite_schema WHERE name = 'kv_1'"),
            snkv::schema::FamilyTableSql(1));
}

// The same for a family's own table: the pages read its columns by
// position and SQL by name, so a hostile kv_0 with a blob before v must be
// read through SQL (schema::FamilyTableSql), never give the other blob.
TEST_F(OutOfLineAttack, AFamilyTableWithAnotherColumnBeforeVIsNotMisread) {
  MakeStore();
  {
    Raw raw(path_);
    raw.Exec("DROP TABLE kv_0");
    raw.Exec(
        "CREATE TABLE kv_0(k BLOB PRIMARY KEY, w BLOB NOT NULL, v BLOB NOT "
        "NULL, expires INTEGER) WITHOUT ROWID");
    for (int i = 0; i < 50; ++i) {
      raw.Exec("INSERT INTO kv_0 VALUES(CAST('s" + std::to_string(i) +
               "' AS BLOB), CAST('WRONG' AS BLOB), CAST('small' AS BLOB), "
               "NULL)");
    }
  }
  Store db;
  ASSERT_OK(Store::Open(path_, {}, &db));
  for (const char* key : {"s0", "s7", "s49"}) {
    bool any_ok = false;
    ExpectValueOrError(db, key, "small", &any_ok);
    EXPECT_TRUE(any_ok) << key << ": SQL reads this table by name";
  }
}

// A values table of the wrong kind (a view, a WITHOUT ROWID table, an
// index of that name on another table), or one whose v is not a blob:
// every read of the reference is the value SQL resolves or an error, and
// writes and the integrity check return.
TEST_F(OutOfLineAttack, ValuesTablesOfTheWrongKindGiveErrorsNotBytes) {
  const std::string v = Tagged("a", 3000, 1);
  const std::vector<std::string> hostile = {
      "CREATE VIEW kv_0_values AS SELECT 1 AS id, CAST('x' AS BLOB) AS v",
      "CREATE TABLE kv_0_values(id INTEGER PRIMARY KEY, v BLOB NOT NULL)"
      " WITHOUT ROWID",
      "CREATE TABLE other(id INTEGER PRIMARY KEY, v BLOB);"
      "CREATE INDEX kv_0_values ON other(v)",
      "CREATE TABLE kv_0_values(id INTEGER PRIMARY KEY, v);"
      "INSERT INTO kv_0_values VALUES(1, 'text, not a blob')",
      "CREATE TABLE kv_0_values(id INTEGER PRIMARY KEY, v);"
      "INSERT INTO kv_0_values VALUES(1, 12345)",
      "CREATE TABLE kv_0_values(v BLOB, id INTEGER PRIMARY KEY);"
      "INSERT INTO kv_0_values(id, v) VALUES(1, NULL)",
  };
  for (const std::string& ddl : hostile) {
    SCOPED_TRACE(ddl);
    ASSERT_TRUE(snkv::test::FileExists(path_) ? std::remove(path_.c_str()) == 0
                                              : true);
    std::remove((path_ + "-wal").c_str());
    std::remove((path_ + "-shm").c_str());
    MakeStore();
    {
      Raw raw(path_);
      raw.Exec("DROP TABLE kv_0_values");
      raw.Exec(ddl);
      raw.Exec("UPDATE kv_0 SET v = 1 WHERE k = CAST('a' AS BLOB)");
    }
    Store db;
    ASSERT_OK(Store::Open(path_, {}, &db));
    bool any_ok = false;
    // None of these is a values table snkv would read: no bytes are right.
    ExpectValueOrError(db, "a", "(no bytes are right)", &any_ok);
    EXPECT_FALSE(any_ok);
    std::string got;
    Status s = db.Get("a", &got);
    EXPECT_EQ(s.code(), Code::kCorrupt) << s.ToString();
    ASSERT_OK(db.Get("s1", &got));
    EXPECT_EQ(got, "small");
    // Writes that would go through that table say what is wrong (not,
    // as SQLite's "no such table" for an index would read, that the
    // family is gone); the store answers afterwards.
    s = db.Put("a", "over it");
    EXPECT_EQ(s.code(), Code::kCorrupt) << s.ToString();
    s = db.Put("b", Tagged("b", 3000, 2));
    EXPECT_EQ(s.code(), Code::kCorrupt) << s.ToString();
    s = db.Delete("a");
    EXPECT_EQ(s.code(), Code::kCorrupt) << s.ToString();
    ASSERT_OK(db.Begin(TxnMode::kWrite));
    s = db.Put("c", Tagged("c", 3000, 3));
    EXPECT_EQ(s.code(), Code::kCorrupt) << s.ToString();
    (void)db.Rollback();
    std::string problems;
    EXPECT_EQ(db.IntegrityCheck(&problems).code(), Code::kCorrupt);
    EXPECT_NE(problems.find("not the values table snkv creates"),
              std::string::npos)
        << problems;
    ASSERT_OK(db.Get("s3", &got));
  }
}

// A reference of zero or below is damage (schema.h: "an INTEGER r > 0"),
// even where the values table has such a row.
TEST_F(OutOfLineAttack, ReferencesOfZeroAndBelowAreCorrupt) {
  MakeStore();
  {
    Raw raw(path_);
    raw.Exec("INSERT INTO kv_0_values VALUES(0, CAST('zero' AS BLOB))");
    raw.Exec("INSERT INTO kv_0_values VALUES(-7, CAST('minus' AS BLOB))");
    raw.Exec("UPDATE kv_0 SET v = 0 WHERE k = CAST('s1' AS BLOB)");
    raw.Exec("UPDATE kv_0 SET v = -7 WHERE k = CAST('s2' AS BLOB)");
    // The far end of the rowids: one row there, one reference past it.
    raw.Exec(
        "INSERT INTO kv_0_values VALUES(9223372036854775807,"
        " CAST('the last row' AS BLOB))");
    raw.Exec(
        "UPDATE kv_0 SET v = 9223372036854775807"
        " WHERE k = CAST('s3' AS BLOB)");
    raw.Exec(
        "UPDATE kv_0 SET v = 9223372036854775806"
        " WHERE k = CAST('s4' AS BLOB)");
  }
  Store db;
  ASSERT_OK(Store::Open(path_, {}, &db));
  for (const char* key : {"s1", "s2"}) {
    for (int i = 0; i < kWarmReads + 2; ++i) {
      std::string got;
      Status s = db.Get(key, &got);
      EXPECT_EQ(s.code(), Code::kCorrupt) << key << ": " << s.ToString();
    }
  }
  for (int i = 0; i < kWarmReads + 2; ++i) {
    std::string got;
    ASSERT_OK(db.Get("s3", &got));
    EXPECT_EQ(got, "the last row");
    EXPECT_EQ(db.Get("s4", &got).code(), Code::kCorrupt);
  }
  std::string problems;
  EXPECT_EQ(db.IntegrityCheck(&problems).code(), Code::kCorrupt) << problems;
}

// A store of a format newer than this build is refused, and so is one
// whose catalog holds references while its version says format 1 only if
// the references cannot be resolved (they are damage either way).
TEST_F(OutOfLineAttack, NewerFormatsAreRefused) {
  MakeStore();
  {
    Raw raw(path_);
    raw.Exec("PRAGMA user_version = 3");
  }
  Store db;
  Status s = Store::Open(path_, {}, &db);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("format version 3"), std::string::npos)
      << s.ToString();
  {
    Raw raw(path_);
    raw.Exec("PRAGMA user_version = -1");
  }
  s = Store::Open(path_, {}, &db);
  EXPECT_FALSE(s.ok()) << "user_version -1 opened";
}

// One handle scans large values while another deletes rows and puts new
// large values, which reuse the freed values rows' ids (rowid = max + 1):
// every value the scan delivers must be its own key's, as of one snapshot.
TEST_F(OutOfLineAttack, AScanNeverDeliversAnotherKeysReusedValuesRow) {
  Store a;
  Store b;
  ASSERT_OK(Store::Open(path_, {}, &a));
  ASSERT_OK(Store::Open(path_, {}, &b));
  constexpr int kKeys = 300;
  auto key = [](int i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "k%05d", i);
    return std::string(buf);
  };
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_OK(a.Put(key(i), Tagged(key(i), i % 3 == 0 ? 40 : 2000, 0)));
  }
  for (bool batched : {false, true}) {
    for (bool reverse : {false, true}) {
      SCOPED_TRACE(std::string(batched ? "batched" : "row by row") +
                   (reverse ? " reverse" : " forward"));
      IteratorOptions options;
      options.reverse = reverse;
      Iterator it = a.DefaultColumnFamily().NewIterator(options);
      ASSERT_OK(it.SeekToStart());
      int round = 0;
      IteratorBatch batch;
      std::vector<std::pair<std::string, std::string>> rows;
      while (it.Valid()) {
        if (batched) {
          batch.Clear();
          ASSERT_OK(it.ReadBatch(&batch, 5));
          for (size_t i = 0; i < batch.size(); ++i) {
            rows.emplace_back(batch.key(i).ToString(),
                              batch.value(i).ToString());
          }
        } else {
          rows.emplace_back(it.key().ToString(), it.value().ToString());
          ASSERT_OK(it.Advance());
        }
        // The other handle: the greatest values row is freed and taken by
        // another key, a row the scan has yet to read is rewritten.
        ++round;
        const int victim = (round * 37) % kKeys;
        const int taker = (round * 53 + 11) % kKeys;
        (void)b.Delete(key(victim));
        ASSERT_OK(b.Put(key(taker), Tagged(key(taker), 2500, round)));
        ASSERT_OK(b.Put(key(victim), Tagged(key(victim), 1800, round)));
      }
      ASSERT_OK(it.status());
      EXPECT_GT(rows.size(), 0u);
      for (const auto& [k, v] : rows) {
        EXPECT_EQ(v.substr(0, k.size() + 1), k + "#")
            << "the scan gave " << k << " the value of "
            << v.substr(0, v.find(';'));
      }
    }
  }
  Raw raw(path_);
  EXPECT_EQ(raw.Orphans(0), 0);
  EXPECT_EQ(raw.Dangling(0), 0);
}

// Random writes of every kind, through two handles of one file (each with
// its own idea of whether the values table exists), in and out of
// transactions, with rollbacks, TTLs, purges, clears and drops: after every
// step no values row is orphaned and no reference dangles, and at the end
// every handle reads what a model says.
TEST_F(OutOfLineAttack, EveryWritePathOfTwoHandlesLeavesNoOrphans) {
  Store h[2];
  ASSERT_OK(Store::Open(path_, {}, &h[0]));
  ASSERT_OK(Store::Open(path_, {}, &h[1]));
  Raw raw(path_);
  std::mt19937 rng(20261207);
  std::map<std::string, std::string> model;  // keys without a TTL only
  auto key = [&] { return "k" + std::to_string(rng() % 40); };
  auto size = [&]() -> size_t {
    static const size_t kSizes[] = {0,    10,   900,  996, 997,
                                    1002, 1100, 3000, 9000};
    return kSizes[rng() % 9];
  };
  const int64_t past = 1000;  // an expiry long gone
  std::string got;
  for (int step = 0; step < 1500; ++step) {
    Store& db = h[rng() % 2];
    ColumnFamily cf = db.DefaultColumnFamily();
    const int op = static_cast<int>(rng() % 14);
    const std::string k = key();
    const std::string v = Tagged(k, size(), step);
    switch (op) {
      case 0:
      case 1:
      case 2:
        ASSERT_OK(cf.Put(k, v));
        model[k] = v;
        break;
      case 3: {
        bool inserted = false;
        ASSERT_OK(cf.PutIfAbsent(k, v, 0, &inserted));
        EXPECT_EQ(inserted, model.count(k) == 0) << k;
        if (inserted) model[k] = v;
        break;
      }
      case 4: {
        Status s = cf.Delete(k);
        EXPECT_EQ(s.ok(), model.count(k) == 1) << s.ToString();
        model.erase(k);
        break;
      }
      case 5:  // already expired: invisible, freed by a read or a purge
        ASSERT_OK(cf.Put(k, v, past));
        model.erase(k);
        break;
      case 6:
        EXPECT_EQ(cf.Get(k, &got).code(),
                  model.count(k) ? Code::kOk : Code::kNotFound);
        break;
      case 7: {
        int64_t n = 0;
        ASSERT_OK(cf.PurgeExpired(&n));
        break;
      }
      case 8:
      case 9: {  // a transaction of mixed writes, committed or rolled back
        const bool commit = rng() % 2 == 0;
        auto next = model;
        ASSERT_OK(db.Begin(TxnMode::kWrite));
        const int n = 1 + static_cast<int>(rng() % 40);
        for (int i = 0; i < n; ++i) {
          const std::string tk = key();
          const std::string tv = Tagged(tk, size(), step * 100 + i);
          switch (rng() % 5) {
            case 0:
              (void)cf.Delete(tk);
              next.erase(tk);
              break;
            case 1:
              ASSERT_OK(cf.Put(tk, tv, past));
              next.erase(tk);
              break;
            case 2: {
              bool inserted = false;
              ASSERT_OK(cf.PutIfAbsent(tk, tv, 0, &inserted));
              if (inserted) next[tk] = tv;
              break;
            }
            default:
              ASSERT_OK(cf.Put(tk, tv));
              next[tk] = tv;
          }
          if (rng() % 8 == 0) {  // reads inside see the transaction
            Status s = cf.Get(tk, &got);
            EXPECT_EQ(s.ok(), next.count(tk) == 1) << s.ToString();
            if (s.ok()) EXPECT_TRUE(got == next[tk]);
          }
        }
        if (commit) {
          ASSERT_OK(db.Commit());
          model = next;
        } else {
          ASSERT_OK(db.Rollback());
        }
        break;
      }
      case 10:
        if (rng() % 10 == 0) {
          ASSERT_OK(cf.Clear());
          model.clear();
        }
        break;
      case 11: {  // a family of its own, made, filled and dropped
        if (rng() % 10 != 0) break;
        ColumnFamily other;
        Status s = db.CreateColumnFamily("extra", &other);
        if (s.ok()) {
          ASSERT_OK(other.Put("x", Tagged("x", 5000, step)));
          ASSERT_OK(other.Put("y", "small"));
          ASSERT_OK(other.Put("x", Tagged("x", 6000, step)));
        }
        ASSERT_OK(db.DropColumnFamily("extra"));
        break;
      }
      case 12: {  // a scan of this handle with writes of the other between
        Iterator it = cf.NewIterator();
        ASSERT_OK(it.SeekToFirst());
        Store& other = &db == &h[0] ? h[1] : h[0];
        for (int i = 0; i < 5 && it.Valid(); ++i) {
          const std::string sk = it.key().ToString();
          const std::string sv = it.value().ToString();
          EXPECT_TRUE(sv.empty() || sv.starts_with(sk + "#")) << sk;
          const std::string ok = key();
          const std::string ov = Tagged(ok, size(), step * 10 + i);
          ASSERT_OK(other.Put(ok, ov));
          model[ok] = ov;
          ASSERT_OK(it.Next());
        }
        break;
      }
      default: {  // a write of this handle beside its own open iterator
        Iterator it = cf.NewIterator();
        ASSERT_OK(it.SeekToFirst());
        ASSERT_OK(cf.Put(k, v));
        model[k] = v;
        if (it.Valid()) ASSERT_OK(it.Next());
        break;
      }
    }
    ASSERT_EQ(raw.Orphans(0), 0)
        << "after step " << step << " (op " << op << ")";
    ASSERT_EQ(raw.Dangling(0), 0)
        << "after step " << step << " (op " << op << ")";
  }
  for (Store& db : h) {
    int64_t n = 0;
    ASSERT_OK(db.DefaultColumnFamily().PurgeExpired(&n));
    for (const auto& [k, v] : model) {
      ASSERT_OK(db.Get(k, &got));
      EXPECT_TRUE(got == v) << k;
    }
    int64_t count = 0;
    ASSERT_OK(db.DefaultColumnFamily().Count(&count));
    EXPECT_EQ(count, static_cast<int64_t>(model.size()));
    std::string problems;
    EXPECT_TRUE(db.IntegrityCheck(&problems).ok()) << problems;
  }
  EXPECT_EQ(raw.Orphans(0), 0);
}

// The writes of transaction `t` (1, 2, ...) of the crash test below, applied
// to *model: puts of sizes on both sides of the threshold over 60 keys,
// deletes, and overwrites that move values in and out of line.
void CrashTxn(
    int t, std::map<std::string, std::string>* model,
    const std::function<void(const std::string&, const std::string*)>& write) {
  std::mt19937 rng(static_cast<uint32_t>(t));
  for (int i = 0; i < 120; ++i) {
    const std::string k = "k" + std::to_string(rng() % 60);
    if (rng() % 6 == 0) {
      model->erase(k);
      write(k, nullptr);
    } else {
      static const size_t kSizes[] = {30, 990, 1100, 4000, 20000};
      const std::string v = Tagged(k, kSizes[rng() % 5], t * 1000 + i);
      (*model)[k] = v;
      write(k, &v);
    }
  }
}

// A writer of transactions full of out-of-line values, SIGKILLed at a
// random moment (inside a transaction or its commit, mostly): after it the
// store holds exactly the last acknowledged transaction or the one after,
// every value whole, and no values row orphaned or dangling.
TEST_F(OutOfLineAttack, AKilledWriterLeavesCommittedValuesAndNoOrphans) {
  std::mt19937 rng(7);
  int acked = 0;  // transactions committed and acknowledged so far
  for (int round = 0; round < 6; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      Store db;
      if (!Store::Open(path_, {}, &db).ok()) _exit(3);
      std::map<std::string, std::string> ignored;
      for (int t = acked + 1;; ++t) {
        if (!db.Begin(TxnMode::kWrite).ok()) _exit(4);
        CrashTxn(t, &ignored, [&](const std::string& k, const std::string* v) {
          Status s = v ? db.Put(k, *v) : db.Delete(k);
          if (!s.ok() && !s.IsNotFound()) _exit(5);
        });
        if (!db.Commit().ok()) _exit(6);
        const std::string line = std::to_string(t) + "\n";
        if (write(fds[1], line.data(), line.size()) < 0) _exit(7);
      }
    }
    close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 300));
    int last = acked;
    ASSERT_NO_FATAL_FAILURE(KillWriterAndReadLastAck(pid, fds[0], &last));
    // What the store may hold: transaction `last` or `last + 1`.
    std::map<std::string, std::string> want[2];
    for (int t = 1; t <= last + 1; ++t) {
      if (t <= last) CrashTxn(t, &want[0], [](auto&, auto*) {});
      CrashTxn(t, &want[1], [](auto&, auto*) {});
    }
    Store db;
    ASSERT_OK(Store::Open(path_, {}, &db));
    std::map<std::string, std::string> got;
    Iterator it = db.DefaultColumnFamily().NewIterator();
    ASSERT_OK(it.SeekToFirst());
    while (it.Valid()) {
      got[it.key().ToString()] = it.value().ToString();
      ASSERT_OK(it.Next());
    }
    ASSERT_OK(it.status());
    it.Close();
    const bool committed = got == want[1];
    EXPECT_TRUE(got == want[0] || committed)
        << "round " << round << ": the store is neither transaction " << last
        << " nor " << last + 1;
    acked = committed ? last + 1 : last;
    std::string problems;
    EXPECT_TRUE(db.IntegrityCheck(&problems).ok()) << problems;
    ASSERT_OK(db.Close());
    Raw raw(path_);
    EXPECT_EQ(raw.Orphans(0), 0);
    EXPECT_EQ(raw.Dangling(0), 0);
  }
  EXPECT_GT(acked, 0);
  std::printf("[ summary  ] 6 kills, %d transactions committed\n", acked);
}

// A vector store of 768-dim float32 vectors (3 KiB each, out of line) with
// values of both sizes: puts, overwrites, batches, deletes, expiries and a
// purge leave no values row out of step, and every vector and value reads
// back, after a reopen that rebuilds the index from the rows too.
TEST_F(OutOfLineAttack, LargeVectorsKeepTheirValuesRowsInStep) {
  constexpr int kDim = 768;
  snkv::VectorOptions options;
  options.dim = kDim;
  options.sidecar = false;
  auto vec = [](int i, int round) {
    std::vector<float> v(kDim);
    for (int d = 0; d < kDim; ++d) {
      v[d] = static_cast<float>((i * 31 + d * 7 + round) % 101) / 100.0f;
    }
    return v;
  };
  std::map<std::string, std::pair<std::string, int>> model;  // value, round
  auto key = [](int i) { return "v" + std::to_string(i); };
  {
    snkv::VectorStore vs;
    ASSERT_OK(snkv::VectorStore::Open(path_, options, &vs));
    Raw raw(path_);
    for (int i = 0; i < 60; ++i) {
      const std::string v = Tagged(key(i), i % 2 ? 20 : 2500, 0);
      ASSERT_OK(vs.Put(key(i), v, vec(i, 0)));
      model[key(i)] = {v, 0};
    }
    EXPECT_GE(raw.ValuesTables(), 1);  // the vectors went out of line
    EXPECT_EQ(raw.OutOfStepAll(), 0);
    for (int i = 0; i < 60; i += 3) {  // overwrites, sizes swapped
      const std::string v = Tagged(key(i), i % 2 ? 2500 : 20, 1);
      ASSERT_OK(vs.Put(key(i), v, vec(i, 1)));
      model[key(i)] = {v, 1};
    }
    EXPECT_EQ(raw.OutOfStepAll(), 0);
    std::vector<std::vector<float>> vectors;
    std::vector<std::string> keys;
    std::vector<std::string> values;
    for (int i = 60; i < 90; ++i) {
      vectors.push_back(vec(i, 2));
      keys.push_back(key(i));
      values.push_back(Tagged(key(i), 1500, 2));
    }
    std::vector<snkv::VectorItem> items;
    for (size_t j = 0; j < keys.size(); ++j) {
      items.push_back({keys[j], values[j], vectors[j].data(), std::nullopt});
      model[keys[j]] = {values[j], 2};
    }
    ASSERT_OK(vs.PutBatch(items));
    EXPECT_EQ(raw.OutOfStepAll(), 0);
    for (int i = 0; i < 90; i += 5) {
      ASSERT_OK(vs.Delete(key(i)));
      model.erase(key(i));
    }
    EXPECT_EQ(raw.OutOfStepAll(), 0);
    // Expiring items: they go with the purge, values rows included.
    for (int i = 90; i < 100; ++i) {
      ASSERT_OK(vs.Put(key(i), Tagged(key(i), 3000, 3), vec(i, 3),
                       snkv::NowMs() + 1));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    int64_t purged = 0;
    ASSERT_OK(vs.PurgeExpired(&purged));
    EXPECT_EQ(purged, 10);
    EXPECT_EQ(raw.OutOfStepAll(), 0);
  }
  snkv::VectorStore vs;
  ASSERT_OK(snkv::VectorStore::Open(path_, options, &vs));
  int64_t count = 0;
  ASSERT_OK(vs.Count(&count));
  EXPECT_EQ(count, static_cast<int64_t>(model.size()));
  for (const auto& [k, vr] : model) {
    std::string got;
    ASSERT_OK(vs.Get(k, &got));
    EXPECT_TRUE(got == vr.first) << k;
    std::vector<float> v;
    ASSERT_OK(vs.GetVector(k, &v));
    const int i = std::stoi(k.substr(1));
    EXPECT_TRUE(v == vec(i, vr.second)) << k;
    std::vector<snkv::KeyHit> hits;
    snkv::SearchOptions search;
    search.top_k = 1;
    ASSERT_OK(vs.SearchKeys(vec(i, vr.second), search, &hits));
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_NEAR(hits[0].distance, 0.0f, 1e-4) << k;
  }
  ASSERT_OK(vs.Close());
  Raw raw(path_);
  EXPECT_EQ(raw.OutOfStepAll(), 0);
}

// References that only a hostile file holds: two rows sharing one values
// row (a write of one would leave the other dangling), a row of family 0
// pointing at a row that exists only in family 1's values table, and a
// format-1 file whose rows hold integers. Reads are kCorrupt, never the
// other family's bytes, and the integrity check says so first.
TEST_F(OutOfLineAttack, SharedAndForeignReferencesAreDamage) {
  {
    Store db;
    ASSERT_OK(Store::Open(path_, {}, &db));
    ColumnFamily one;
    ASSERT_OK(db.CreateColumnFamily("one", &one));
    ASSERT_OK(one.Put("x", Tagged("x", 3000, 1)));  // kv_1_values row 1
    ASSERT_OK(db.Put("a", Tagged("a", 3000, 2)));   // kv_0_values row 1
    ASSERT_OK(db.Put("b", Tagged("b", 3000, 3)));   // kv_0_values row 2
    ASSERT_OK(db.Close());
  }
  {
    Raw raw(path_);
    // b shares a's values row; b's own becomes an orphan, so drop it.
    raw.Exec("DELETE FROM kv_0_values WHERE id = 2");
    raw.Exec("UPDATE kv_0 SET v = 1 WHERE k = CAST('b' AS BLOB)");
  }
  Store db;
  ASSERT_OK(Store::Open(path_, {}, &db));
  std::string problems;
  EXPECT_EQ(db.IntegrityCheck(&problems).code(), Code::kCorrupt);
  EXPECT_NE(problems.find("share"), std::string::npos) << problems;
  ASSERT_OK(db.Close());
  {
    Raw raw(path_);
    // Family 0 loses its values table; its references now name rows that
    // only family 1's table has.
    raw.Exec(
        "UPDATE kv_0 SET v = CAST('b' AS BLOB) WHERE k = CAST('b' AS "
        "BLOB)");
    raw.Exec("DROP TABLE kv_0_values");
  }
  ASSERT_OK(Store::Open(path_, {}, &db));
  for (int i = 0; i < kWarmReads + 2; ++i) {
    std::string got;
    Status s = db.Get("a", &got);
    EXPECT_EQ(s.code(), Code::kCorrupt) << s.ToString();
  }
  ColumnFamily one;
  ASSERT_OK(db.OpenColumnFamily("one", &one));
  std::string got;
  ASSERT_OK(one.Get("x", &got));
  EXPECT_EQ(got, Tagged("x", 3000, 1));
  EXPECT_EQ(db.IntegrityCheck(&problems).code(), Code::kCorrupt);
  ASSERT_OK(db.Close());
  {
    Raw raw(path_);  // as a format-1 store would be, integers and all
    raw.Exec("PRAGMA user_version = 1");
  }
  ASSERT_OK(Store::Open(path_, {}, &db));
  EXPECT_EQ(db.Get("a", &got).code(), Code::kCorrupt);
  ASSERT_OK(db.Get("b", &got));
  EXPECT_EQ(got, "b");
}

// Buffered writes of two families in one transaction: sequential loads
// (appends through the multi-row statement) with every 13th value out of
// line, then out-of-order re-puts that move values in and out of line,
// deletes of keys put in this transaction and before, and the same again
// rolled back: every row as the model says and no values row out of step.
TEST_F(OutOfLineAttack, BufferedBatchesOfMixedSizesInTwoFamilies) {
  Store db;
  ASSERT_OK(Store::Open(path_, {}, &db));
  ColumnFamily cfs[2] = {db.DefaultColumnFamily(), {}};
  ASSERT_OK(db.CreateColumnFamily("second", &cfs[1]));
  std::map<std::string, std::string> model[2];
  auto key = [](int i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "k%06d", i);
    return std::string(buf);
  };
  std::mt19937 rng(5);
  for (int round = 0; round < 4; ++round) {
    const bool commit = round != 2;
    auto next0 = model[0];
    auto next1 = model[1];
    std::map<std::string, std::string>* next[2] = {&next0, &next1};
    ASSERT_OK(db.Begin(TxnMode::kWrite));
    for (int i = round * 3000; i < (round + 1) * 3000; ++i) {  // appends
      for (int c = 0; c < 2; ++c) {
        const std::string v = Tagged(key(i), i % 13 == c ? 2500 : 60, round);
        ASSERT_OK(cfs[c].Put(key(i), v));
        (*next[c])[key(i)] = v;
      }
    }
    for (int j = 0; j < 1500; ++j) {  // anywhere, in no order
      const int c = static_cast<int>(rng() % 2);
      const std::string k = key(static_cast<int>(rng() % ((round + 1) * 3000)));
      if (rng() % 4 == 0) {
        Status s = cfs[c].Delete(k);
        EXPECT_EQ(s.ok(), next[c]->erase(k) == 1) << s.ToString();
      } else {
        const std::string v = Tagged(k, rng() % 2 ? 1200 : 30, 100 + j);
        ASSERT_OK(cfs[c].Put(k, v));
        (*next[c])[k] = v;
      }
    }
    if (commit) {
      ASSERT_OK(db.Commit());
      model[0] = next0;
      model[1] = next1;
    } else {
      ASSERT_OK(db.Rollback());
    }
    Raw raw(path_);
    ASSERT_EQ(raw.OutOfStepAll(), 0) << "round " << round;
    for (int c = 0; c < 2; ++c) {
      int64_t count = 0;
      ASSERT_OK(cfs[c].Count(&count));
      EXPECT_EQ(count, static_cast<int64_t>(model[c].size()));
      std::string got;
      for (const auto& [k, v] : model[c]) {
        ASSERT_OK(cfs[c].Get(k, &got));
        ASSERT_TRUE(got == v) << k;
      }
    }
  }
}

// Keys near the leaf's limit, where whether a value may go out of line
// turns on the key's length and on the expiry's size: overwrites that
// change the key's expiry move values between the two forms, and none
// leaves a values row behind or reads back other bytes.
TEST_F(OutOfLineAttack, LongKeysAtTheLimitWithAndWithoutExpiries) {
  Store db;
  ASSERT_OK(Store::Open(path_, {}, &db));
  ColumnFamily cf = db.DefaultColumnFamily();
  const int64_t far = snkv::NowMs() + 3600 * 1000;
  const int64_t past = 1000;
  std::map<std::string, std::string> model;
  int seed = 0;
  for (size_t klen = 970; klen <= 1010; klen += 2) {
    const std::string k(klen, static_cast<char>('a' + klen % 26));
    for (int64_t expires : {int64_t{0}, far, past, int64_t{0}, far}) {
      for (size_t vlen : {size_t{0}, size_t{3}, size_t{40}, size_t{5000}}) {
        const std::string v = Tagged("v", vlen, ++seed);
        ASSERT_OK(cf.Put(k, v, expires));
        if (expires == past) {
          model.erase(k);
        } else {
          model[k] = v;
        }
        std::string got;
        Status s = cf.Get(k, &got);
        if (expires == past) {
          EXPECT_TRUE(s.IsNotFound()) << s.ToString();
        } else {
          ASSERT_OK(s);
          EXPECT_TRUE(got == v) << klen << " " << vlen;
        }
      }
    }
  }
  Raw raw(path_);
  EXPECT_EQ(raw.OutOfStepAll(), 0);
  for (const auto& [k, v] : model) {
    std::string got;
    ASSERT_OK(cf.Get(k, &got));
    EXPECT_TRUE(got == v);
  }
  int64_t purged = 0;
  ASSERT_OK(cf.PurgeExpired(&purged));
  ASSERT_OK(cf.Clear());
  EXPECT_EQ(raw.Int("SELECT count(*) FROM kv_0_values"), 0);
}

}  // namespace

// ---- Overwrites in place (StoreCore::WriteRow) ------------------------------

// The expiry column of `key` in family 0: -2 for no row, 0 for NULL.
int64_t RawExpiry(Raw& raw, const std::string& key) {
  return raw.Int("SELECT coalesce(expires, 0) FROM kv_0 WHERE k = CAST('" +
                 key + "' AS BLOB)");
}

// An out-of-line value overwritten by another out-of-line value keeps its
// values row; the expiry must still follow every write: set, changed,
// kept, removed, by autocommit puts, transactions (committed and rolled
// back) and put_if_absent over an expired row.
TEST_F(OutOfLineAttack, InPlaceOverwritesKeepTheExpiryOfEveryPath) {
  Store db;
  ASSERT_OK(Store::Open(path_, {}, &db));
  Raw raw(path_);
  const int64_t hour = 3600 * 1000;
  const int64_t t1 = snkv::NowMs() + hour;
  const int64_t t2 = t1 + hour;
  int seed = 0;
  std::string want;
  auto put = [&](int64_t expires) {
    want = Tagged("k", 1500 + 700 * (seed % 3), seed);
    ++seed;
    return db.Put("k", want, expires);
  };
  auto check = [&](int64_t expires, const char* step) {
    SCOPED_TRACE(step);
    EXPECT_EQ(RawExpiry(raw, "k"), expires);
    EXPECT_EQ(raw.TypeOf("k"), "integer");
    EXPECT_EQ(raw.ValuesRows(0), 1) << "the values row was not reused";
    EXPECT_EQ(raw.OutOfStepAll(), 0);
    bool any_ok = false;
    ExpectValueOrError(db, "k", want, &any_ok);
    EXPECT_TRUE(any_ok);
    int64_t remaining = -5;
    ASSERT_OK(db.DefaultColumnFamily().TtlRemaining("k", &remaining));
    if (expires == 0) {
      EXPECT_EQ(remaining, snkv::kNoTtl);
    } else {
      EXPECT_GT(remaining, 0);
    }
  };
  ASSERT_OK(put(t1));
  check(t1, "autocommit, set");
  ASSERT_OK(put(t1));
  check(t1, "autocommit, same");
  ASSERT_OK(put(t2));
  check(t2, "autocommit, changed");
  ASSERT_OK(put(0));
  check(0, "autocommit, removed");
  ASSERT_OK(put(t1));
  check(t1, "autocommit, set again");

  ASSERT_OK(db.Begin(TxnMode::kWrite));
  ASSERT_OK(put(0));
  ASSERT_OK(db.Commit());
  check(0, "transaction, removed");
  ASSERT_OK(db.Begin(TxnMode::kWrite));
  ASSERT_OK(put(t2));
  ASSERT_OK(db.Commit());
  check(t2, "transaction, set");
  const std::string kept = want;
  ASSERT_OK(db.Begin(TxnMode::kWrite));
  ASSERT_OK(put(0));
  ASSERT_OK(put(t1));
  ASSERT_OK(db.Rollback());
  want = kept;
  check(t2, "transaction rolled back");

  // put_if_absent: over a live row nothing changes; over an expired one
  // the value and its expiry (none) replace it in the same values row.
  bool inserted = true;
  ASSERT_OK(db.DefaultColumnFamily().PutIfAbsent("k", Tagged("k", 3000, 99), 0,
                                                 &inserted));
  EXPECT_FALSE(inserted);
  check(t2, "put_if_absent over a live row");
  ASSERT_OK(put(snkv::NowMs() + 30));
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  want = Tagged("k", 2500, 100);
  ASSERT_OK(db.DefaultColumnFamily().PutIfAbsent("k", want, 0, &inserted));
  EXPECT_TRUE(inserted);
  check(0, "put_if_absent over an expired row, no expiry");
  ASSERT_OK(put(snkv::NowMs() + 30));
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  want = Tagged("k", 2600, 101);
  ASSERT_OK(db.DefaultColumnFamily().PutIfAbsent("k", want, t1, &inserted));
  EXPECT_TRUE(inserted);
  check(t1, "put_if_absent over an expired row, new expiry");
  // The same in a transaction (buffered, then flushed by the commit).
  ASSERT_OK(put(snkv::NowMs() + 30));
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  ASSERT_OK(db.Begin(TxnMode::kWrite));
  want = Tagged("k", 2700, 102);
  ASSERT_OK(db.DefaultColumnFamily().PutIfAbsent("k", want, t2, &inserted));
  EXPECT_TRUE(inserted);
  ASSERT_OK(db.Commit());
  check(t2, "put_if_absent in a transaction over an expired row");
  std::string problems;
  ASSERT_OK(db.IntegrityCheck(&problems));
}

// Values that grow past the page (1.1 KiB -> 20 KiB, onto overflow pages),
// shrink back, become inline and go out of line again, through autocommit
// puts and transactions, with and without expiries, on three keys in turn:
// every read gives the last value and no values row is left out of step.
TEST_F(OutOfLineAttack, InPlaceOverwritesAcrossSizesAndInlineAndBack) {
  Store db;
  ASSERT_OK(Store::Open(path_, {}, &db));
  Raw raw(path_);
  const std::vector<size_t> sizes = {1100, 20000, 1100, 10,    20000,
                                     5000, 1100,  0,    60000, 1100};
  const std::vector<std::string> keys = {"p", "q", "r"};
  std::map<std::string, std::string> model;
  int seed = 0;
  for (size_t round = 0; round < sizes.size(); ++round) {
    for (size_t i = 0; i < keys.size(); ++i) {
      const std::string& key = keys[i];
      const size_t n = sizes[(round + i) % sizes.size()];
      const std::string v = Tagged(key, n, ++seed);
      const int64_t expires =
          seed % 3 == 0 ? snkv::NowMs() + 3600 * 1000 + seed : 0;
      const bool in_txn = seed % 4 == 1;
      if (in_txn) ASSERT_OK(db.Begin(TxnMode::kWrite));
      ASSERT_OK(db.Put(key, v, expires));
      if (in_txn) ASSERT_OK(db.Commit());
      model[key] = v;
      ASSERT_EQ(raw.OutOfStepAll(), 0) << key << " round " << round;
    }
    for (const auto& [key, v] : model) {
      SCOPED_TRACE(key + " round " + std::to_string(round));
      bool any_ok = false;
      ExpectValueOrError(db, key, v, &any_ok);
      EXPECT_TRUE(any_ok);
    }
  }
  std::string problems;
  ASSERT_OK(db.IntegrityCheck(&problems));
  ASSERT_OK(db.Close());
  Raw after(path_);
  EXPECT_EQ(after.Text("PRAGMA integrity_check"), "ok");
}

// The same on an encrypted store, then through reencryption and its
// removal (both rewrite every row through WriteRow).
TEST_F(OutOfLineAttack, InPlaceOverwritesOfAnEncryptedStore) {
  Store db;
  ASSERT_OK(Store::OpenEncrypted(path_, "pw", {}, &db));
  std::map<std::string, std::string> model;
  int seed = 0;
  for (size_t n : {1100, 20000, 30, 1500, 9000}) {
    for (const char* key : {"e1", "e2"}) {
      model[key] = Tagged(key, n + seed, ++seed);
      ASSERT_OK(
          db.Put(key, model[key], seed % 2 ? snkv::NowMs() + 3600 * 1000 : 0));
    }
  }
  auto check = [&](Store& s) {
    for (const auto& [key, v] : model) {
      bool any_ok = false;
      ExpectValueOrError(s, key, v, &any_ok);
      EXPECT_TRUE(any_ok) << key;
    }
    Raw raw(path_);
    EXPECT_EQ(raw.OutOfStepAll(), 0);
  };
  check(db);
  ASSERT_OK(db.Reencrypt("pw2"));
  check(db);
  model["e1"] = Tagged("e1", 4000, 500);
  ASSERT_OK(db.Put("e1", model["e1"]));
  ASSERT_OK(db.RemoveEncryption());
  check(db);
  model["e2"] = Tagged("e2", 4100, 501);
  ASSERT_OK(db.Put("e2", model["e2"]));
  check(db);
  ASSERT_OK(db.Close());
  ASSERT_OK(Store::Open(path_, {}, &db));
  check(db);
  std::string problems;
  ASSERT_OK(db.IntegrityCheck(&problems));
}

// A hostile file in which b's row points at a's values row (which the
// integrity check reports as shared). Reads of b gave a's bytes already:
// unencrypted values do not name their key. An overwrite of b rewrites the
// shared row in place, so a then reads b's new bytes; before overwrites in
// place it freed the row and a read as kCorrupt. Finding out that no other
// row points at a values row would cost a scan of the family (v has no
// index), so the write does not; what this test holds is that the write
// neither crashes nor hides the damage, and that an encrypted store, whose
// values name their family and key, gives kCorrupt, never b's bytes.
TEST_F(OutOfLineAttack, OverwritingAKeyThatSharesAValuesRow) {
  for (bool encrypted : {false, true}) {
    SCOPED_TRACE(encrypted ? "encrypted" : "plain");
    const std::string path = dir_.file(encrypted ? "e.db" : "p.db");
    auto open = [&](Store* db) {
      return encrypted ? Store::OpenEncrypted(path, "pw", {}, db)
                       : Store::Open(path, {}, db);
    };
    {
      Store db;
      ASSERT_OK(open(&db));
      ASSERT_OK(db.Put("a", Tagged("a", 3000, 1)));  // row 1
      ASSERT_OK(db.Put("b", Tagged("b", 3000, 2)));  // row 2
      ASSERT_OK(db.Close());
      Raw raw(path);
      raw.Exec("DELETE FROM kv_0_values WHERE id = 2");
      raw.Exec("UPDATE kv_0 SET v = 1 WHERE k = CAST('b' AS BLOB)");
    }
    Store db;
    ASSERT_OK(open(&db));
    const std::string b_new = Tagged("b", 4000, 3);
    ASSERT_OK(db.Put("b", b_new));
    std::string got;
    ASSERT_OK(db.Get("b", &got));
    EXPECT_TRUE(got == b_new);
    Status s = db.Get("a", &got);
    if (encrypted) {
      EXPECT_EQ(s.code(), Code::kCorrupt) << s.ToString();
    } else {
      ASSERT_OK(s);
      EXPECT_TRUE(got == b_new) << "see above: a shares b's row";
    }
    std::string problems;
    EXPECT_EQ(db.IntegrityCheck(&problems).code(), Code::kCorrupt);
    EXPECT_NE(problems.find("share"), std::string::npos) << problems;
    // A small value for a frees the shared row: b's reference dangles
    // (kCorrupt) until b is written; a dangling reference is written anew.
    ASSERT_OK(db.Put("a", "small"));
    EXPECT_EQ(db.Get("b", &got).code(), Code::kCorrupt);
    ASSERT_OK(db.Put("b", Tagged("b", 5000, 4)));
    ASSERT_OK(db.Put("a", Tagged("a", 5000, 5)));
    ASSERT_OK(db.Get("b", &got));
    EXPECT_TRUE(got == Tagged("b", 5000, 4));
    ASSERT_OK(db.Get("a", &got));
    EXPECT_TRUE(got == Tagged("a", 5000, 5));
    EXPECT_EQ(Raw(path).OutOfStepAll(), 0);
    ASSERT_OK(db.IntegrityCheck(&problems));
  }
}

// Two handles overwrite the same large keys in place, each in whole-set
// transactions (every key gets the same round), while a third handle
// reads them by gets and scans: every value is its own key's, and one scan
// (one snapshot) sees one round throughout.
TEST_F(OutOfLineAttack, TwoHandlesOverwritingInPlaceWhileAThirdScans) {
  constexpr int kKeys = 40;
  auto key = [](int i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "k%03d", i);
    return std::string(buf);
  };
  snkv::Options options;
  options.busy_timeout_ms = 5000;
  {
    Store init;
    ASSERT_OK(Store::Open(path_, options, &init));
    for (int i = 0; i < kKeys; ++i) {
      ASSERT_OK(init.Put(key(i), Tagged(key(i), InPlaceSize(i, 0), 0)));
    }
  }
  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};
  auto writer = [&](int first_round) {
    Store db;
    ASSERT_OK(Store::Open(path_, options, &db));
    for (int round = first_round; !stop; round += 2) {
      const bool txn = round % 3 != 0;
      if (txn) ASSERT_OK(db.Begin(TxnMode::kWrite));
      for (int i = 0; i < kKeys && (txn || !stop); ++i) {
        ASSERT_OK(db.Put(key(i), Tagged(key(i), InPlaceSize(i, round), round)));
      }
      if (txn) ASSERT_OK(db.Commit());
      ++rounds;
    }
  };
  std::thread w1(writer, 1);
  std::thread w2(writer, 2);
  Store reader;
  ASSERT_OK(Store::Open(path_, options, &reader));
  const auto end =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  int scans = 0;
  while (std::chrono::steady_clock::now() < end || scans < 3) {
    for (int i = 0; i < kKeys; i += 7) {
      std::string got;
      ASSERT_OK(reader.Get(key(i), &got));
      ASSERT_EQ(got.substr(0, key(i).size() + 1), key(i) + "#")
          << "get of " << key(i) << " gave " << got.substr(0, 12);
    }
    Iterator it = reader.DefaultColumnFamily().NewIterator({});
    ASSERT_OK(it.SeekToStart());
    std::set<std::string> seeds;
    int n = 0;
    for (; it.Valid(); ++n) {
      const std::string k = it.key().ToString();
      const std::string v = it.value().ToString();
      ASSERT_EQ(v.substr(0, k.size() + 1), k + "#")
          << "scan gave " << k << " the value " << v.substr(0, 12);
      const size_t semi = v.find(';');
      ASSERT_NE(semi, std::string::npos);
      seeds.insert(v.substr(k.size() + 1, semi - k.size() - 1));
      ASSERT_OK(it.Advance());
    }
    ASSERT_OK(it.status());
    EXPECT_EQ(n, kKeys);
    // Autocommit rounds (every third) may be seen half done; a scan that
    // saw only transaction rounds saw one.
    ++scans;
    if (seeds.size() > 1) {
      bool autocommit_round = false;
      for (const auto& s : seeds) autocommit_round |= std::stoi(s) % 3 == 0;
      EXPECT_TRUE(autocommit_round) << "one scan saw rounds " << *seeds.begin()
                                    << " and " << *seeds.rbegin();
    }
  }
  stop = true;
  w1.join();
  w2.join();
  EXPECT_GT(rounds.load(), 4);
  Raw raw(path_);
  EXPECT_EQ(raw.OutOfStepAll(), 0);
  EXPECT_EQ(raw.Text("PRAGMA integrity_check"), "ok");
}

// A handle doing out-of-line autocommit puts (each in a write scope on its
// write pin) must not keep another handle's TRUNCATE checkpoints from
// resetting the WAL, nor let the WAL grow without bound meanwhile.
TEST_F(OutOfLineAttack, TruncatingCheckpointsBesideInPlaceAutocommitPuts) {
  snkv::Options options;
  options.busy_timeout_ms = 2000;
  {
    // Created first: opening a new file while another handle runs
    // TRUNCATE checkpoints on it once gave BUSY from the switch to WAL
    // (busy timeout or not), which is not what this test is about.
    Store init;
    ASSERT_OK(Store::Open(path_, options, &init));
  }
  std::atomic<bool> stop{false};
  std::atomic<int> puts{0};
  std::thread writer([&] {
    Store db;
    ASSERT_OK(Store::Open(path_, options, &db));
    for (int i = 0; !stop; ++i) {
      const std::string k = "w" + std::to_string(i % 64);
      ASSERT_OK(db.Put(k, Tagged(k, i % 2 ? 1200 : 5000, i)));
      ++puts;
    }
  });
  Store other;
  ASSERT_OK(Store::Open(path_, options, &other));
  std::uintmax_t max_wal = 0;
  int ok = 0;
  int busy = 0;
  const auto end =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  while (std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::error_code ec;
    max_wal = std::max(max_wal, std::filesystem::file_size(path_ + "-wal", ec));
    snkv::CheckpointResult result;
    Status s = other.Checkpoint(snkv::CheckpointMode::kTruncate, &result);
    if (s.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(s.code(), Code::kBusy) << s.ToString();
      ++busy;
    }
  }
  stop = true;
  writer.join();
  std::printf(
      "%d puts; %d truncating checkpoints ok, %d busy; WAL at most "
      "%ju bytes\n",
      puts.load(), ok, busy, max_wal);
  EXPECT_GT(ok, 0) << "no TRUNCATE checkpoint got through the writer's pin";
  EXPECT_LT(max_wal, 64u << 20);
  snkv::CheckpointResult result;
  ASSERT_OK(other.Checkpoint(snkv::CheckpointMode::kTruncate, &result));
  std::error_code ec;
  EXPECT_EQ(std::filesystem::file_size(path_ + "-wal", ec), 0u);
}

// A writer with busy_timeout 0 doing out-of-line puts (write scopes on
// the pin) among two handles that only read: it never gets BUSY.
TEST_F(OutOfLineAttack, APinnedOutOfLineWriterAmongReadersIsNeverBusy) {
  for (int timeout : {0, 200}) {
    SCOPED_TRACE("busy_timeout_ms " + std::to_string(timeout));
    const std::string path = dir_.file("r" + std::to_string(timeout) + ".db");
    snkv::Options options;
    options.busy_timeout_ms = timeout;
    Store db;
    ASSERT_OK(Store::Open(path, options, &db));
    for (int i = 0; i < 32; ++i) {
      const std::string k = "k" + std::to_string(i);
      ASSERT_OK(db.Put(k, Tagged(k, 2000, 0)));
    }
    std::atomic<bool> stop{false};
    auto read = [&] {
      Store r;
      ASSERT_OK(Store::Open(path, options, &r));
      while (!stop) {
        std::string got;
        for (int i = 0; i < 32; i += 5) {
          const std::string k = "k" + std::to_string(i);
          Status s = r.Get(k, &got);
          if (s.code() == Code::kNotFound) continue;  // deleted meanwhile
          ASSERT_OK(s);
          ASSERT_EQ(got.substr(0, k.size() + 1), k + "#");
        }
        Iterator it = r.DefaultColumnFamily().NewIterator({});
        ASSERT_OK(it.SeekToStart());
        for (int n = 0; n < 5 && it.Valid(); ++n) ASSERT_OK(it.Advance());
      }
    };
    std::thread r1(read);
    std::thread r2(read);
    int busy = 0;
    const auto end =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(700);
    for (int i = 0; std::chrono::steady_clock::now() < end; ++i) {
      const std::string k = "k" + std::to_string(i % 32);
      Status s = i % 5 == 4 ? db.Delete(k) : db.Put(k, Tagged(k, 2000, i));
      if (s.code() == Code::kBusy)
        ++busy;
      else if (s.code() != Code::kNotFound)
        ASSERT_OK(s);
    }
    stop = true;
    r1.join();
    r2.join();
    EXPECT_EQ(busy, 0);
    Raw raw(path);
    EXPECT_EQ(raw.OutOfStepAll(), 0);
  }
}

// Family tables a hostile file may hold instead of the one snkv creates:
// a rowid table of the same columns, other column orders, an extra column
// at the end, a view. Reads give what SQL gives (the value, by name) or an
// error, never other bytes of the record.
TEST_F(OutOfLineAttack, HostileFamilyTablesAreReadThroughSqlOrRefused) {
  const std::vector<std::pair<const char*, const char*>> variants = {
      {"rowid",
       "CREATE TABLE kv_0(k BLOB PRIMARY KEY, v BLOB NOT NULL, "
       "expires INTEGER)"},
      {"k expires v",
       "CREATE TABLE kv_0(k BLOB PRIMARY KEY, expires INTEGER, "
       "v BLOB NOT NULL) WITHOUT ROWID"},
      {"v first",
       "CREATE TABLE kv_0(v BLOB NOT NULL, k BLOB PRIMARY KEY, "
       "expires INTEGER) WITHOUT ROWID"},
      {"extra at the end",
       "CREATE TABLE kv_0(k BLOB PRIMARY KEY, v BLOB NOT NULL, expires "
       "INTEGER, w BLOB) WITHOUT ROWID"},
      {"view",
       "CREATE TABLE hidden(k BLOB PRIMARY KEY, w BLOB, v BLOB NOT "
       "NULL, expires INTEGER) WITHOUT ROWID; CREATE VIEW kv_0 AS "
       "SELECT k, v, expires FROM hidden"},
  };
  for (const auto& [name, ddl] : variants) {
    SCOPED_TRACE(name);
    path_ = dir_.file(std::string("h-") + name + ".db");
    MakeStore();
    {
      Raw raw(path_);
      raw.Exec("DROP TABLE kv_0");
      raw.Exec(ddl);
      const bool view = std::string(name) == "view";
      const std::string target = view ? "hidden" : "kv_0";
      for (int i = 0; i < 30; ++i) {
        const std::string k = "s" + std::to_string(i);
        std::string cols = "k, v, expires";
        std::string vals = "CAST('" + k + "' AS BLOB), CAST('" +
                           Tagged(k, i % 2 ? 2000 : 10, 7) + "' AS BLOB), NULL";
        if (view || std::string(name) == "extra at the end") {
          cols += ", w";
          vals += ", CAST('WRONG' AS BLOB)";
        }
        raw.Exec("INSERT INTO " + target + "(" + cols + ") VALUES(" + vals +
                 ")");
      }
    }
    Store db;
    Status s = Store::Open(path_, {}, &db);
    if (!s.ok()) {
      std::printf("%s: open refused: %s\n", name, s.ToString().c_str());
      continue;
    }
    int ok = 0;
    for (int i = 0; i < 30; i += 3) {
      const std::string k = "s" + std::to_string(i);
      bool any_ok = false;
      ExpectValueOrError(db, k, Tagged(k, i % 2 ? 2000 : 10, 7), &any_ok);
      ok += any_ok;
    }
    // Writes: an error or a value that then reads back.
    const std::string big = Tagged("s3", 3000, 8);
    s = db.Put("s3", big);
    if (s.ok()) {
      bool any_ok = false;
      ExpectValueOrError(db, "s3", big, &any_ok);
    }
    EXPECT_EQ(ok, 10) << "SQL reads each of these by column name";
    if (std::string(name) == "view") {
      EXPECT_FALSE(s.ok());
    } else {
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
  }
}

// Op i of the killed autocommit writer below: key, value and expiry.
struct AutocommitOp {
  std::string key;
  std::string value;
  int64_t expires;
};
AutocommitOp KilledWriterOp(int i, int64_t base_ms) {
  static const size_t kSizes[] = {1100, 20000, 1500, 30, 6000};
  const std::string k = "k" + std::to_string(i % 23);
  return {k, Tagged(k, kSizes[(i / 23) % 5], i),
          i % 3 == 0 ? base_ms + 3600 * 1000 + i : 0};
}

// A writer of autocommit puts that overwrite large values in place (write
// scopes on the write pin, expiries set, changed and removed), SIGKILLed at
// random moments: every acknowledged put is there (the one in flight may
// or may not be), with its expiry, and no values row is out of step.
TEST_F(OutOfLineAttack, AKilledInPlaceAutocommitWriterLosesNothingAcked) {
  std::mt19937 rng(11);
  const int64_t base_ms = snkv::NowMs();
  int done = 0;  // ops known to be in the store
  for (int round = 0; round < 5; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      Store db;
      if (!Store::Open(path_, {}, &db).ok()) _exit(3);
      for (int i = done + 1;; ++i) {
        const AutocommitOp op = KilledWriterOp(i, base_ms);
        if (!db.Put(op.key, op.value, op.expires).ok()) _exit(5);
        const std::string line = std::to_string(i) + "\n";
        if (write(fds[1], line.data(), line.size()) < 0) _exit(7);
      }
    }
    close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 200));
    int last = done;
    ASSERT_NO_FATAL_FAILURE(KillWriterAndReadLastAck(pid, fds[0], &last));
    std::map<std::string, AutocommitOp> want;
    for (int i = 1; i <= last; ++i) {
      AutocommitOp op = KilledWriterOp(i, base_ms);
      want[op.key] = op;
    }
    const AutocommitOp in_flight = KilledWriterOp(last + 1, base_ms);
    Store db;
    ASSERT_OK(Store::Open(path_, {}, &db));
    bool flight_landed = false;
    for (const auto& [k, op] : want) {
      std::string got;
      int64_t remaining = 0;
      ASSERT_OK(db.DefaultColumnFamily().Get(k, &got, &remaining));
      const bool is_flight = k == in_flight.key && got == in_flight.value;
      flight_landed |= is_flight;
      const AutocommitOp& expected = is_flight ? in_flight : op;
      EXPECT_TRUE(got == expected.value)
          << "round " << round << " key " << k << " got " << got.substr(0, 12)
          << " after " << last << " acked puts";
      EXPECT_EQ(remaining > 0, expected.expires != 0) << k;
    }
    done = flight_landed ? last + 1 : last;
    std::string problems;
    EXPECT_TRUE(db.IntegrityCheck(&problems).ok()) << problems;
    ASSERT_OK(db.Close());
    Raw raw(path_);
    EXPECT_EQ(raw.OutOfStepAll(), 0);
    EXPECT_EQ(raw.Text("PRAGMA integrity_check"), "ok");
  }
  EXPECT_GT(done, 5);
  std::printf("[ summary  ] 5 kills, %d puts acknowledged\n", done);
}

// Inside one write transaction a large key is overwritten again and again
// (sizes across the page boundary, inline and back) and read after each
// put, by gets and by an iterator: each read gives the latest value of
// the transaction, and the commit leaves one values row in step.
TEST_F(OutOfLineAttack, InPlaceOverwritesInsideOneTransactionReadTheirOwn) {
  Store db;
  ASSERT_OK(Store::Open(path_, {}, &db));
  ASSERT_OK(db.Put("k", Tagged("k", 3000, 0)));
  ASSERT_OK(db.Put("z", Tagged("z", 3000, 0)));
  ASSERT_OK(db.Begin(TxnMode::kWrite));
  std::string want;
  int seed = 0;
  for (size_t n :
       {1100, 20000, 2000, 20, 9000, 300000, 1100, 1100, 40000, 400000, 1200}) {
    want = Tagged("k", n, ++seed);
    ASSERT_OK(db.Put("k", want, seed % 2 ? snkv::NowMs() + 600000 : 0));
    for (int i = 0; i < 3; ++i) {
      std::string got;
      ASSERT_OK(db.Get("k", &got));
      ASSERT_TRUE(got == want) << "size " << n << " got " << got.substr(0, 8);
    }
    Iterator it = db.DefaultColumnFamily().NewIterator({});
    ASSERT_OK(it.SeekToStart());
    ASSERT_TRUE(it.Valid());
    EXPECT_EQ(it.key().ToString(), "k");
    EXPECT_TRUE(it.value().ToString() == want) << "iterator, size " << n;
  }
  ASSERT_OK(db.Commit());
  std::string got;
  ASSERT_OK(db.Get("k", &got));
  EXPECT_TRUE(got == want);
  ASSERT_OK(db.Get("z", &got));
  EXPECT_TRUE(got == Tagged("z", 3000, 0));
  Raw raw(path_);
  EXPECT_EQ(raw.OutOfStepAll(), 0);
  EXPECT_EQ(raw.ValuesRows(0), 2);
}

// WAL writes fail while a handle overwrites large values in place on its
// write pin: each failed put reports an error and changes nothing, and once
// the disk works again the handle writes on with every value intact.
TEST_F(OutOfLineAttack, FailedWalWritesUnderThePinnedScopeChangeNothing) {
  snkv::test::vfs::Install();
  snkv::test::vfs::Watch(dir_.path());
  {
    Store db;
    ASSERT_OK(Store::Open(path_, {}, &db));
    std::map<std::string, std::string> model;
    for (int i = 0; i < 20; ++i) {
      const std::string k = "k" + std::to_string(i);
      model[k] = Tagged(k, 2000 + 500 * (i % 3), 0);
      ASSERT_OK(db.Put(k, model[k], i % 2 ? snkv::NowMs() + 600000 : 0));
    }
    for (int round = 1; round <= 3; ++round) {
      snkv::test::vfs::FailWalWrites(true);
      for (int i = 0; i < 20; i += 3) {
        const std::string k = "k" + std::to_string(i);
        Status s = db.Put(k, Tagged(k, 20000, round), 0);
        EXPECT_FALSE(s.ok()) << k;
        s = db.Delete(k);
        EXPECT_FALSE(s.ok()) << k;
      }
      snkv::test::vfs::FailWalWrites(false);
      for (const auto& [k, v] : model) {
        std::string got;
        ASSERT_OK(db.Get(k, &got));
        EXPECT_TRUE(got == v) << k << " round " << round;
      }
      for (int i = 1; i < 20; i += 4) {
        const std::string k = "k" + std::to_string(i);
        model[k] = Tagged(k, 1100 * round, round);
        ASSERT_OK(db.Put(k, model[k], round % 2 ? snkv::NowMs() + 600000 : 0));
      }
    }
    std::string problems;
    ASSERT_OK(db.IntegrityCheck(&problems));
    ASSERT_OK(db.Close());
    ASSERT_OK(Store::Open(path_, {}, &db));
    for (const auto& [k, v] : model) {
      std::string got;
      ASSERT_OK(db.Get(k, &got));
      EXPECT_TRUE(got == v) << k << " after reopening";
    }
  }
  snkv::test::vfs::Watch("");
  Raw raw(path_);
  EXPECT_EQ(raw.OutOfStepAll(), 0);
  EXPECT_EQ(raw.Text("PRAGMA integrity_check"), "ok");
}

// The same with the writer in another process, whose pin no releaser of
// this process can end: TRUNCATE checkpoints here must still get through
// now and then, and the WAL must not grow without bound.
TEST_F(OutOfLineAttack, TruncatingCheckpointsBesideAnotherProcessesPinnedPuts) {
  {
    Store init;
    ASSERT_OK(Store::Open(path_, {}, &init));
  }
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    snkv::Options options;
    options.busy_timeout_ms = 2000;
    Store db;
    if (!Store::Open(path_, options, &db).ok()) _exit(3);
    const auto end =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    for (int i = 0; std::chrono::steady_clock::now() < end; ++i) {
      const std::string k = "w" + std::to_string(i % 64);
      if (!db.Put(k, Tagged(k, i % 2 ? 1200 : 5000, i)).ok()) _exit(5);
    }
    _exit(db.Close().ok() ? 0 : 6);
  }
  snkv::Options options;
  options.busy_timeout_ms = 200;
  Store other;
  ASSERT_OK(Store::Open(path_, options, &other));
  std::uintmax_t max_wal = 0;
  int ok = 0;
  int busy = 0;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::error_code ec;
    max_wal = std::max(max_wal, std::filesystem::file_size(path_ + "-wal", ec));
    snkv::CheckpointResult result;
    Status s = other.Checkpoint(snkv::CheckpointMode::kTruncate, &result);
    if (s.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(s.code(), Code::kBusy) << s.ToString();
      ++busy;
    }
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::printf("%d truncating checkpoints ok, %d busy; WAL at most %ju bytes\n",
              ok, busy, max_wal);
  EXPECT_GT(ok, 0);
  // Not a bound of snkv's: the writer's speed times the 200 ms a
  // TRUNCATE may wait (tens of MB seen); only growth without end fails.
  EXPECT_LT(max_wal, 512u << 20);
  snkv::CheckpointResult result;
  ASSERT_OK(other.Checkpoint(snkv::CheckpointMode::kTruncate, &result));
}

// A hostile file whose family lost its values table while rows still
// refer to it. Reads of such a row are kCorrupt until a large put creates
// a new values table: its first rows take the ids the old references name,
// so the old key reads the new key's bytes, and an overwrite of the old
// key (in place) then rewrites the new key's value. Telling those apart
// would take a scan of the family when the table is created. What is held
// here: no crash, and the integrity check reports the damage at each step.
TEST_F(OutOfLineAttack, ReferencesLeftWithoutAValuesTableAndANewOne) {
  {
    Store db;
    ASSERT_OK(Store::Open(path_, {}, &db));
    ASSERT_OK(db.Put("a", Tagged("a", 3000, 1)));
    ASSERT_OK(db.Close());
    Raw raw(path_);
    raw.Exec("DROP TABLE kv_0_values");
  }
  Store db;
  ASSERT_OK(Store::Open(path_, {}, &db));
  std::string got;
  std::string problems;
  EXPECT_EQ(db.Get("a", &got).code(), Code::kCorrupt);
  EXPECT_EQ(db.IntegrityCheck(&problems).code(), Code::kCorrupt);
  ASSERT_OK(db.Put("c", Tagged("c", 3000, 2)));
  ASSERT_OK(db.Get("c", &got));
  EXPECT_TRUE(got == Tagged("c", 3000, 2));
  Status s = db.Get("a", &got);
  std::printf("a after c's put: %s %s\n", s.ToString().c_str(),
              s.ok() ? got.substr(0, 4).c_str() : "");
  EXPECT_EQ(db.IntegrityCheck(&problems).code(), Code::kCorrupt);
  EXPECT_NE(problems.find("share"), std::string::npos) << problems;
  ASSERT_OK(db.Put("a", Tagged("a", 3000, 3)));
  ASSERT_OK(db.Get("a", &got));
  EXPECT_TRUE(got == Tagged("a", 3000, 3));
  s = db.Get("c", &got);
  std::printf("c after a's overwrite: %s %s\n", s.ToString().c_str(),
              s.ok() ? got.substr(0, 4).c_str() : "");
  EXPECT_EQ(db.IntegrityCheck(&problems).code(), Code::kCorrupt);
  // Deleting one of them ends the sharing; the other is then dangling.
  ASSERT_OK(db.Delete("a"));
  EXPECT_EQ(db.Get("c", &got).code(), Code::kCorrupt);
  ASSERT_OK(db.Delete("c"));
  ASSERT_OK(db.IntegrityCheck(&problems));
}

// Two processes overwrite the same large keys in place (whole-set
// transactions and autocommit rounds) while this one scans and gets:
// every value is its own key's, a scan that saw only transaction rounds
// saw one, and nothing is left out of step.
TEST_F(OutOfLineAttack, TwoProcessesOverwritingInPlaceWhileAThirdScans) {
  constexpr int kKeys = 30;
  auto key = [](int i) { return "k" + std::to_string(100 + i); };
  snkv::Options options;
  options.busy_timeout_ms = 5000;
  {
    Store init;
    ASSERT_OK(Store::Open(path_, options, &init));
    for (int i = 0; i < kKeys; ++i) {
      ASSERT_OK(init.Put(key(i), Tagged(key(i), InPlaceSize(i, 0), 0)));
    }
  }
  std::vector<pid_t> writers;
  for (int first : {1, 2}) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      Store db;
      if (!Store::Open(path_, options, &db).ok()) _exit(3);
      const auto end =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(1200);
      for (int round = first; std::chrono::steady_clock::now() < end;
           round += 2) {
        const bool txn = round % 3 != 0;
        if (txn && !db.Begin(TxnMode::kWrite).ok()) _exit(4);
        for (int i = 0; i < kKeys; ++i) {
          if (!db.Put(key(i), Tagged(key(i), InPlaceSize(i, round), round))
                   .ok()) {
            _exit(5);
          }
        }
        if (txn && !db.Commit().ok()) _exit(6);
      }
      _exit(db.Close().ok() ? 0 : 7);
    }
    writers.push_back(pid);
  }
  Store reader;
  ASSERT_OK(Store::Open(path_, options, &reader));
  int scans = 0;
  int running = 2;
  while (running > 0) {
    for (int i = 0; i < kKeys; i += 7) {
      std::string got;
      ASSERT_OK(reader.Get(key(i), &got));
      ASSERT_EQ(got.substr(0, key(i).size() + 1), key(i) + "#");
    }
    Iterator it = reader.DefaultColumnFamily().NewIterator({});
    ASSERT_OK(it.SeekToStart());
    std::set<int> rounds;
    int n = 0;
    for (; it.Valid(); ++n) {
      const std::string k = it.key().ToString();
      const std::string v = it.value().ToString();
      ASSERT_EQ(v.substr(0, k.size() + 1), k + "#") << v.substr(0, 12);
      rounds.insert(std::stoi(v.substr(k.size() + 1)));
      ASSERT_OK(it.Advance());
    }
    ASSERT_OK(it.status());
    EXPECT_EQ(n, kKeys);
    ++scans;
    if (rounds.size() > 1) {
      bool autocommit_round = false;
      for (int r : rounds) autocommit_round |= r % 3 == 0;
      EXPECT_TRUE(autocommit_round) << "one scan saw rounds " << *rounds.begin()
                                    << " and " << *rounds.rbegin();
    }
    running = 0;
    for (pid_t& pid : writers) {
      if (pid == 0) continue;
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
        pid = 0;
      } else {
        ++running;
      }
    }
  }
  EXPECT_GT(scans, 2);
  Raw raw(path_);
  EXPECT_EQ(raw.OutOfStepAll(), 0);
  EXPECT_EQ(raw.Text("PRAGMA integrity_check"), "ok");
}

// A hostile file with triggers on a family's tables: code its author chose
// to run behind every write (here: deleting or rewriting every other key
// on an in-place overwrite, a put, a delete). snkv creates no triggers, so
// none may fire on its connections: every other key stays as written.
TEST_F(OutOfLineAttack, TriggersInTheFileNeverRunOnWrites) {
  MakeStore();  // s0..s49 small, a large
  {
    Raw raw(path_);
    for (const char* when : {"INSERT", "UPDATE", "DELETE"}) {
      const std::string w = when;
      raw.Exec("CREATE TRIGGER t_v_" + w + " AFTER " + w +
               " ON kv_0_values BEGIN DELETE FROM kv_0 WHERE k != "
               "CAST('a' AS BLOB); END");
      raw.Exec("CREATE TRIGGER t_k_" + w + " AFTER " + w +
               " ON kv_0 BEGIN UPDATE kv_0 SET v = CAST('HACKED' AS BLOB) "
               "WHERE typeof(v) = 'blob'; END");
    }
  }
  Store db;
  ASSERT_OK(Store::Open(path_, {}, &db));
  const std::string a2 = Tagged("a", 4000, 2);
  ASSERT_OK(db.Put("a", a2));                    // in place
  ASSERT_OK(db.Put("b", Tagged("b", 3000, 3)));  // a new values row
  ASSERT_OK(db.Put("c", "small"));
  ASSERT_OK(db.Delete("c"));
  ASSERT_OK(db.Begin(TxnMode::kWrite));
  ASSERT_OK(db.Put("a", Tagged("a", 5000, 4), snkv::NowMs() + 600000));
  ASSERT_OK(db.Put("d", "small"));
  ASSERT_OK(db.Commit());
  for (int i = 0; i < 50; ++i) {
    const std::string k = "s" + std::to_string(i);
    std::string got;
    ASSERT_OK(db.Get(k, &got));
    EXPECT_EQ(got, "small") << k;
  }
  std::string got;
  ASSERT_OK(db.Get("a", &got));
  EXPECT_TRUE(got == Tagged("a", 5000, 4));
  ASSERT_OK(db.Get("b", &got));
  EXPECT_TRUE(got == Tagged("b", 3000, 3));
  ASSERT_OK(db.Get("d", &got));
  EXPECT_EQ(got, "small");
}
