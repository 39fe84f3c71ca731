// Out-of-line values read straight from the pages (engine::TableCursor on
// the family's values table, docs/design.md, "Out-of-line values from the
// pages"): gets and scans resolve references without SQL once the handle
// holds its snapshot (counted by ApiAccess::ValuesReadFromPages), give the
// bytes that were put, and on a damaged values table give what SQLite
// reads or an error, never other bytes.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "file_surgery.h"
#include "kv/api_access.h"
#include "kv/schema.h"
#include "snkv/snkv.h"
#include "test_util.h"

namespace {

namespace sg = snkv::test::surgery;
using snkv::Code;
using snkv::ColumnFamily;
using snkv::Iterator;
using snkv::IteratorBatch;
using snkv::IteratorOptions;
using snkv::Status;
using snkv::Store;
using snkv::internal::ApiAccess;
using snkv::test::TempDir;

#define ASSERT_OK(expr)                    \
  do {                                     \
    const Status s_ = (expr);              \
    ASSERT_TRUE(s_.ok()) << s_.ToString(); \
  } while (0)

constexpr uint32_t kPageSize = 4096;  // the default
// Gets in a row before the handle reads from its held snapshot's pages.
constexpr int kWarmReads = 8;

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "k%05d", i);
  return buf;
}
// n bytes that differ with `seed`.
std::string Value(size_t n, int seed) {
  std::string v(n, '\0');
  uint32_t x = 2654435761u * static_cast<uint32_t>(seed + 1);
  for (char& c : v) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return v;
}
// Sizes around and well past the out-of-line threshold (~1 KiB on 4 KiB
// pages): one page, a page and a chain, long chains.
size_t SizeOf(int i) {
  static const size_t kSizes[] = {20,   1000, 1024,  2000,  4096,
                                  4100, 9000, 20000, 100000};
  return kSizes[i % 9];
}

// What SQLite reads for `key`'s value, resolving a reference as snkv's SQL
// does: SQLITE_ROW with the value, SQLITE_DONE for no row, or an error.
std::pair<int, std::string> SqliteValue(const std::string& path,
                                        const std::string& key) {
  sqlite3* db = sg::OpenOracle(path);
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(
      db,
      "SELECT CASE typeof(v) WHEN 'integer' THEN"
      " (SELECT v FROM kv_0_values WHERE id = kv_0.v) ELSE v END,"
      " typeof(v) = 'integer' AND NOT EXISTS"
      " (SELECT 1 FROM kv_0_values WHERE id = kv_0.v)"
      " FROM kv_0 WHERE k = ?1",
      -1, &st, nullptr);
  std::string value;
  if (rc == SQLITE_OK) {
    sqlite3_bind_blob(st, 1, key.data(), static_cast<int>(key.size()),
                      SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      const auto* v = static_cast<const char*>(sqlite3_column_blob(st, 0));
      value.assign(v ? v : "",
                   static_cast<size_t>(sqlite3_column_bytes(st, 0)));
      if (sqlite3_column_int(st, 1) != 0) rc = SQLITE_CORRUPT;  // dangling
    }
  }
  sqlite3_finalize(st);
  sqlite3_close_v2(db);
  return {rc & 0xff, value};
}

class OutOfLinePages : public ::testing::Test {
 protected:
  void SetUp() override { path_ = dir_.file("s.db"); }

  // A store of n keys of SizeOf(i) bytes.
  void Fill(int n) {
    ASSERT_OK(Store::Open(path_, {}, &db_));
    ColumnFamily cf = db_.DefaultColumnFamily();
    for (int i = 0; i < n; ++i) {
      model_[Key(i)] = Value(SizeOf(i), i);
      ASSERT_OK(cf.Put(Key(i), model_[Key(i)]));
    }
  }
  uint64_t FromPages() { return ApiAccess::ValuesReadFromPages(db_); }
  // How many rows hold a reference, as SQLite counts them.
  uint64_t OutOfLineKeys() {
    sqlite3* raw = sg::OpenOracle(path_);
    const sg::SqliteAnswer a = sg::AskSqlite(
        raw, "SELECT count(*), '', NULL FROM kv_0 WHERE typeof(v) = 'integer'");
    sqlite3_close_v2(raw);
    EXPECT_EQ(a.rows.size(), 1u);
    return a.rows.empty() ? 0 : std::stoull(a.rows[0].k);
  }

  // Every key's get, `rounds` times; returns how many values of the last
  // round came from the pages.
  uint64_t GetAll(int rounds) {
    uint64_t before = 0;
    for (int r = 0; r < rounds; ++r) {
      before = FromPages();
      for (const auto& [k, v] : model_) {
        std::string got;
        const Status s = db_.Get(k, &got);
        EXPECT_TRUE(s.ok()) << k << ": " << s.ToString();
        EXPECT_TRUE(got == v)
            << k << ": " << got.size() << " bytes of " << v.size();
      }
    }
    return FromPages() - before;
  }

  TempDir dir_;
  std::string path_;
  Store db_;
  std::map<std::string, std::string> model_;
};

TEST_F(OutOfLinePages, GetsResolveReferencesFromThePages) {
  Fill(180);
  // The first gets may go through SQL while the handle takes its
  // snapshot; afterwards every out-of-line value comes from the pages.
  GetAll(kWarmReads / 4);
  EXPECT_EQ(GetAll(2), OutOfLineKeys());
  // Exists and TTL lookups need no value, on the pages or in SQL.
  for (const auto& [k, v] : model_) {
    bool exists = false;
    ASSERT_OK(db_.DefaultColumnFamily().Exists(k, &exists));
    EXPECT_TRUE(exists) << k;
  }
}

// Gets in key order, in reverse and jumping about, while another handle
// overwrites values in place, appends new ones and deletes some, so that
// the reading handle's snapshot changes between gets: every get gives the
// model's bytes, from the pages. (With a values cursor kept from get to
// get and its snapshot check removed, this failed.)
TEST_F(OutOfLinePages, GetsInAnyOrderWhileAnotherHandleWritesKeepNoStalePath) {
  constexpr int kKeys = 400;
  ASSERT_OK(Store::Open(path_, {}, &db_));
  for (int i = 0; i < kKeys; ++i) {
    model_[Key(i)] = Value(1100 + (i % 7) * 400, i);
    ASSERT_OK(db_.Put(Key(i), model_[Key(i)]));
  }
  Store writer;
  ASSERT_OK(Store::Open(path_, {}, &writer));
  uint32_t x = 11;
  auto rnd = [&x] {
    x = x * 1103515245u + 12345u;
    return x >> 8;
  };
  const uint64_t before = FromPages();
  for (int pass = 0; pass < 6; ++pass) {
    for (int n = 0; n < kKeys; ++n) {
      const int i = pass % 3 == 0   ? n
                    : pass % 3 == 1 ? kKeys - 1 - n
                                    : static_cast<int>(rnd() % kKeys);
      if (n % 29 == 0) {  // the other handle writes: a new snapshot here
        const int j = static_cast<int>(rnd() % kKeys);
        if (j % 5 == 0) {
          const Status d = writer.Delete(Key(j));
          ASSERT_TRUE(d.ok() || d.IsNotFound()) << d.ToString();
          model_.erase(Key(j));
        } else {
          model_[Key(j)] = Value(1000 + rnd() % 9000, pass * 1000 + n);
          ASSERT_OK(writer.Put(Key(j), model_[Key(j)]));
        }
      }
      std::string got;
      const Status s = db_.Get(Key(i), &got);
      const auto want = model_.find(Key(i));
      if (want == model_.end()) {
        EXPECT_TRUE(s.IsNotFound()) << Key(i) << ": " << s.ToString();
      } else {
        ASSERT_TRUE(s.ok()) << Key(i) << ": " << s.ToString();
        EXPECT_TRUE(got == want->second)
            << Key(i) << " in pass " << pass << ": " << got.size()
            << " bytes of " << want->second.size();
      }
    }
  }
  EXPECT_GT(FromPages() - before, uint64_t{kKeys});  // mostly from the pages
}

TEST_F(OutOfLinePages, ScansResolveReferencesFromThePages) {
  Fill(900);
  ColumnFamily cf = db_.DefaultColumnFamily();
  GetAll(1);
  for (bool reverse : {false, true}) {
    for (bool batched : {false, true}) {
      const uint64_t before = FromPages();
      IteratorOptions options;
      options.reverse = reverse;
      Iterator it = cf.NewIterator(options);
      ASSERT_OK(it.SeekToStart());
      std::vector<std::pair<std::string, std::string>> rows;
      IteratorBatch batch;
      while (it.Valid()) {
        if (batched) {
          batch.Clear();
          ASSERT_OK(it.ReadBatch(&batch, 50));
          for (size_t i = 0; i < batch.size(); ++i) {
            rows.emplace_back(batch.key(i).ToString(),
                              batch.value(i).ToString());
          }
        } else {
          rows.emplace_back(it.key().ToString(), it.value().ToString());
          ASSERT_OK(it.Advance());
        }
      }
      ASSERT_OK(it.status());
      std::vector<std::pair<std::string, std::string>> want(model_.begin(),
                                                            model_.end());
      if (reverse) std::reverse(want.begin(), want.end());
      EXPECT_TRUE(rows == want) << rows.size() << " rows of " << want.size();
      // Every out-of-line value of the scan came from the pages.
      EXPECT_EQ(FromPages() - before, OutOfLineKeys())
          << "reverse " << reverse << " batched " << batched;
    }
  }
}

// A scan keeps one values cursor while its snapshot lasts (consecutive
// references start beside the last). Values loaded in key order, in
// reverse and at random (so references ascend, descend or jump from row
// to row), scanned both ways, row by row and in batches, while another
// handle overwrites values between chunks (a large value over a large one
// keeps its values row, so a cursor kept across snapshots would hand out
// the old bytes): every row is the model's as of the scan's last
// positioning, and every third chunk the scan seeks on, which takes a
// new snapshot and must see the overwrites.
TEST_F(OutOfLinePages, ScansInEveryLoadOrderWhileAnotherHandleWrites) {
  constexpr int kKeys = 420;
  constexpr size_t kChunk = 37;
  const size_t kSizes[] = {1024, 2000, 4096, 9000, 1500};
  for (const char* order : {"key", "reverse", "random"}) {
    SCOPED_TRACE(order);
    path_ = dir_.file(std::string("scan-") + order + ".db");
    model_.clear();
    std::vector<int> ids(kKeys);
    for (int i = 0; i < kKeys; ++i) ids[i] = i;
    if (std::string(order) == "reverse") std::reverse(ids.begin(), ids.end());
    uint32_t x = 7;
    auto rnd = [&x] {
      x = x * 1103515245u + 12345u;
      return x >> 8;
    };
    if (std::string(order) == "random") {
      for (int i = kKeys - 1; i > 0; --i)
        std::swap(ids[i], ids[rnd() % (i + 1)]);
    }
    ASSERT_OK(Store::Open(path_, {}, &db_));
    for (int i : ids) {
      model_[Key(i)] = Value(kSizes[i % 5], i);
      ASSERT_OK(db_.Put(Key(i), model_[Key(i)]));
    }
    Store writer;
    ASSERT_OK(Store::Open(path_, {}, &writer));
    std::vector<std::string> keys;
    for (const auto& [k, v] : model_) keys.push_back(k);
    int generation = 0;
    for (bool reverse : {false, true}) {
      for (bool batched : {false, true}) {
        SCOPED_TRACE(testing::Message()
                     << "reverse " << reverse << " batched " << batched);
        const uint64_t before = FromPages();
        IteratorOptions options;
        options.reverse = reverse;
        Iterator it = db_.NewIterator(options);
        ASSERT_OK(it.SeekToStart());
        auto seen = model_;  // what the scan's snapshot holds
        size_t next = 0;     // rows handed out so far, in scan order
        auto want_key = [&](size_t n) {
          return reverse ? keys[keys.size() - 1 - n] : keys[n];
        };
        IteratorBatch batch;
        for (int chunk = 0; it.Valid(); ++chunk) {
          std::vector<std::pair<std::string, std::string>> rows;
          if (batched) {
            batch.Clear();
            ASSERT_OK(it.ReadBatch(&batch, kChunk));
            for (size_t i = 0; i < batch.size(); ++i) {
              rows.emplace_back(batch.key(i).ToString(),
                                batch.value(i).ToString());
            }
          } else {
            for (size_t i = 0; i < kChunk && it.Valid(); ++i) {
              rows.emplace_back(it.key().ToString(), it.value().ToString());
              ASSERT_OK(it.Advance());
            }
          }
          for (const auto& [k, v] : rows) {
            ASSERT_LT(next, keys.size());
            ASSERT_EQ(k, want_key(next)) << "row " << next;
            ASSERT_TRUE(v == seen[k])
                << k << ": " << v.size() << " bytes, not the snapshot's";
            ++next;
          }
          // The other handle overwrites values ahead of the scan and
          // behind it, in place (large over large).
          ++generation;
          for (int w = 0; w < 6; ++w) {
            const std::string& k = keys[rnd() % keys.size()];
            model_[k] = Value(model_[k].size(), 100000 * generation + w);
            ASSERT_OK(writer.Put(k, model_[k]));
          }
          if (chunk % 3 == 2 && it.Valid() && next < keys.size()) {
            // Seek on to the next row: a new snapshot, with the writes.
            // A handle that saw another's commit reads through SQL until
            // a few reads found nothing new; then it holds a snapshot and
            // reads its pages again. (Gets share the open scan's
            // snapshot.)
            for (int r = 0; r < kWarmReads; ++r) {
              std::string got;
              ASSERT_OK(db_.Get(keys[r], &got));
              ASSERT_TRUE(got == seen[keys[r]]) << keys[r];
            }
            ASSERT_OK(it.Seek(want_key(next)));
            seen = model_;
          }
        }
        ASSERT_OK(it.status());
        EXPECT_EQ(next, keys.size());
        // The scan's values came from the pages (the first rows of a
        // positioning may come through SQL while the handle settles).
        EXPECT_GE(FromPages() - before, keys.size() / 2);
      }
    }
    ASSERT_OK(writer.Close());
    ASSERT_OK(db_.Close());
  }
}

TEST_F(OutOfLinePages, EncryptedValuesResolveFromThePages) {
  ASSERT_OK(Store::OpenEncrypted(path_, "secret", {}, &db_));
  for (int i = 0; i < 120; ++i) {
    model_[Key(i)] = Value(SizeOf(i), i);
    ASSERT_OK(db_.Put(Key(i), model_[Key(i)]));
  }
  GetAll(kWarmReads / 4);
  EXPECT_EQ(GetAll(1), OutOfLineKeys());
}

TEST_F(OutOfLinePages, ADanglingReferenceIsCorruptThroughThePagesToo) {
  Fill(90);
  GetAll(kWarmReads / 4);
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
    // Key 4 (4096 bytes) loses its values row; key 13 points at key 22's.
    ASSERT_EQ(
        sqlite3_exec(raw,
                     "DELETE FROM kv_0_values WHERE id ="
                     " (SELECT v FROM kv_0 WHERE k = CAST('k00004' AS BLOB));"
                     "UPDATE kv_0 SET v = (SELECT v FROM kv_0 WHERE"
                     " k = CAST('k00022' AS BLOB))"
                     " WHERE k = CAST('k00013' AS BLOB);",
                     nullptr, nullptr, nullptr),
        SQLITE_OK);
    sqlite3_close(raw);
  }
  for (int r = 0; r < kWarmReads; ++r) {
    std::string got;
    const uint64_t before = FromPages();
    const Status s = db_.Get(Key(4), &got);
    EXPECT_EQ(s.code(), Code::kCorrupt) << s.ToString();
    EXPECT_EQ(FromPages(), before);  // the pages found no row: SQL said why
    ASSERT_OK(db_.Get(Key(13), &got));
    EXPECT_TRUE(got == model_[Key(22)]);  // as SQLite reads it
    ASSERT_OK(db_.Get(Key(5), &got));
    EXPECT_TRUE(got == model_[Key(5)]);
  }
}

// Damage to the values table's pages, many kinds: every get returns what
// SQLite reads (resolving the reference), or an error where SQLite has
// one; never NOTFOUND for a key SQLite reads, never other bytes.
TEST_F(OutOfLinePages, DamagedValuesPagesGiveSqlitesAnswerOrAnError) {
  Fill(270);
  ASSERT_TRUE(db_.Close().ok());
  std::string clean = sg::ReadFileBytes(path_);
  ASSERT_FALSE(clean.empty());
  uint32_t root = 0;
  {
    sqlite3* raw = sg::OpenOracle(path_);
    const sg::SqliteAnswer a =
        sg::AskSqlite(raw,
                      "SELECT rootpage, '', NULL FROM sqlite_schema"
                      " WHERE name = 'kv_0_values'");
    sqlite3_close_v2(raw);
    ASSERT_EQ(a.rows.size(), 1u);
    root = static_cast<uint32_t>(std::stoul(a.rows[0].k));
  }
  const std::vector<sg::TreePage> pages =
      sg::TreePages(clean, kPageSize, root, /*table=*/true);
  ASSERT_GE(pages.size(), 3u);  // an interior root and leaves
  uint64_t seed = 1;
  auto rnd = [&seed] {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(seed >> 33);
  };
  for (int round = 0; round < 24; ++round) {
    SCOPED_TRACE(round);
    std::string image = clean;
    const sg::TreePage t = pages[rnd() % pages.size()];
    const sg::Page p =
        sg::ReadPage(image, size_t{t.pgno - 1} * kPageSize, t.pgno);
    const uint32_t cell = p.cells > 0 ? rnd() % p.cells : 0;
    switch (round % 6) {
      case 0:  // the page's kind
        image[p.base + p.header] =
            static_cast<char>(round % 12 == 0 ? 0x0a : 0x05);
        break;
      case 1:  // a cell pointer
        sg::Put16(&image, p.pointer_at(cell), rnd() % kPageSize);
        break;
      case 2:  // the first varint of a cell (payload size, or a child)
        sg::PutBytes(&image, p.cell_at(image, cell),
                     sg::Varint(round % 4 == 2 ? ~uint64_t{0} : rnd()));
        break;
      case 3:  // the first overflow page's link: elsewhere, or itself
        for (uint32_t i = 0; i < p.cells && t.leaf; ++i) {
          size_t at = p.cell_at(image, i);
          uint64_t payload = 0;
          uint64_t rowid = 0;
          at += sg::ReadVarint(image, at, &payload);
          at += sg::ReadVarint(image, at, &rowid);
          if (payload <= kPageSize - 35) continue;
          const uint64_t min_local = (kPageSize - 12) * 32 / 255 - 23;
          uint64_t local = min_local + (payload - min_local) % (kPageSize - 4);
          if (local > kPageSize - 35) local = min_local;
          const uint32_t first = sg::Get32(image, at + local);
          const size_t link = size_t{first - 1} * kPageSize;
          sg::Put32(&image, link, round % 12 == 3 ? first : rnd() % 400);
          break;
        }
        break;
      case 4:  // the rowids of two cells swapped (out of order)
        if (p.cells >= 2) {
          const uint32_t a = sg::Get16(image, p.pointer_at(0));
          sg::Put16(&image, p.pointer_at(0),
                    sg::Get16(image, p.pointer_at(p.cells - 1)));
          sg::Put16(&image, p.pointer_at(p.cells - 1), a);
        }
        break;
      default:  // random bytes
        for (int k = 0; k < 6; ++k) {
          image[p.base + rnd() % kPageSize] = static_cast<char>(rnd());
        }
        break;
    }
    for (const char* suffix : {"-wal", "-shm"}) {
      std::remove((path_ + suffix).c_str());
    }
    ASSERT_TRUE(sg::WriteFileBytes(path_, image));
    ASSERT_OK(Store::Open(path_, {}, &db_));
    for (int r = 0; r < 3; ++r) {
      for (const auto& [k, v] : model_) {
        if (v.size() < 1000) continue;  // only references read the damage
        const auto [rc, want] = SqliteValue(path_, k);
        std::string got;
        const Status s = db_.Get(k, &got);
        if (s.ok()) {
          ASSERT_EQ(rc, SQLITE_ROW) << k;
          ASSERT_TRUE(got == want) << k << ": other bytes than SQLite's";
        } else if (s.code() == Code::kNotFound) {
          ASSERT_EQ(rc, SQLITE_DONE) << k;
        } else {
          ASSERT_NE(rc, SQLITE_ROW) << k << ": " << s.ToString();
        }
      }
    }
    ASSERT_TRUE(db_.Close().ok());
  }
}

}  // namespace
