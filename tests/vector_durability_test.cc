// Freshness, sidecar and crash safety of the vector store:
//   - a search on one handle sees what another handle or process committed
//     before it, without a rebuild (the change log);
//   - the sidecar makes reopening skip the rebuild, and a missing, stale,
//     truncated, bit-flipped or foreign sidecar is detected (rebuild);
//   - SIGKILL during batch puts and during sidecar writes: after reopen the
//     index answers exactly what the tables hold.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"
#include "snkv/snkv.h"
#include "test_util.h"
#include "tools/vec_worker_model.h"
#include "vector/sidecar.h"

namespace {

using snkv::KeyHit;
using snkv::SearchOptions;
using snkv::VectorOptions;
using snkv::VectorStats;
using snkv::VectorStore;

constexpr int kDim = 8;

VectorOptions Opts() {
  VectorOptions o;
  o.dim = kDim;
  o.store.busy_timeout_ms = 10000;
  return o;
}

std::string Top1(VectorStore& vs, const std::vector<float>& q) {
  std::vector<KeyHit> hits;
  SearchOptions o;
  o.top_k = 1;
  snkv::Status s = vs.SearchKeys(q, o, &hits);
  if (!s.ok()) return "error " + s.ToString();
  return hits.empty() ? "none" : hits[0].key;
}

int64_t CountOf(VectorStore& vs) {
  int64_t n = -1;
  EXPECT_TRUE(vs.Count(&n).ok());
  return n;
}

// A vec_worker process (tests/tools/vec_worker.cc), driven by its line
// protocol.
using Worker = snkv::test::ChildProcess;

TEST(VectorFreshness, TwoHandlesSeeEachOther) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("f.db");
  VectorStore a, b;
  ASSERT_TRUE(VectorStore::Open(path, Opts(), &a).ok());
  ASSERT_TRUE(VectorStore::Open(path, Opts(), &b).ok());
  for (uint64_t i = 0; i < 200; ++i) {
    VectorStore& w = i % 2 ? a : b;
    VectorStore& r = i % 2 ? b : a;
    const std::string key = "k" + std::to_string(i);
    ASSERT_TRUE(w.Put(key, "v", vecmodel::VecOf(i, kDim)).ok());
    ASSERT_EQ(Top1(r, vecmodel::VecOf(i, kDim)), key) << i;
  }
  EXPECT_EQ(CountOf(a), 200);
  EXPECT_EQ(CountOf(b), 200);
  // Overwrite, metadata and delete travel too.
  ASSERT_TRUE(a.Put("k5", "v", vecmodel::VecOf(9999, kDim), 0,
                    snkv::Slice(R"({"c":1})"))
                  .ok());
  ASSERT_EQ(Top1(b, vecmodel::VecOf(9999, kDim)), "k5");
  std::vector<snkv::SearchHit> hits;
  SearchOptions so;
  so.top_k = 5;
  so.json_filter = R"({"c":1})";
  ASSERT_TRUE(b.Search(vecmodel::VecOf(1, kDim), so, &hits).ok());
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].key, "k5");
  ASSERT_TRUE(b.Delete("k5").ok());
  EXPECT_NE(Top1(a, vecmodel::VecOf(9999, kDim)), "k5");
  EXPECT_EQ(CountOf(a), 199);
  // Neither handle rebuilt: the first open is the only rebuild.
  // A batch of 1,000 from one handle is caught up by the other.
  std::vector<std::vector<float>> vecs;
  std::vector<std::string> keys;
  std::vector<snkv::VectorItem> items;
  for (uint64_t i = 0; i < 1000; ++i) {
    keys.push_back("b" + std::to_string(i));
    vecs.push_back(vecmodel::VecOf(50000 + i, kDim));
  }
  for (size_t i = 0; i < keys.size(); ++i)
    items.push_back({keys[i], "v", vecs[i].data(), {}});
  ASSERT_TRUE(a.PutBatch(items).ok());
  EXPECT_EQ(CountOf(b), 1199);
  for (uint64_t i = 0; i < 1000; i += 97) {
    EXPECT_EQ(Top1(b, vecmodel::VecOf(50000 + i, kDim)),
              "b" + std::to_string(i));
  }
}

TEST(VectorFreshness, DropSeenByOtherHandle) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("d.db");
  VectorStore a, b;
  ASSERT_TRUE(VectorStore::Open(path, Opts(), &a).ok());
  ASSERT_TRUE(a.Put("x", "v", vecmodel::VecOf(1, kDim)).ok());
  ASSERT_TRUE(VectorStore::Open(path, Opts(), &b).ok());
  ASSERT_EQ(Top1(b, vecmodel::VecOf(1, kDim)), "x");
  ASSERT_TRUE(a.DropIndex().ok());
  std::vector<KeyHit> hits;
  EXPECT_EQ(b.SearchKeys(vecmodel::VecOf(1, kDim), {}, &hits).code(),
            snkv::Code::kIndexDropped);
}

TEST(VectorFreshness, TwoProcesses) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("p.db");
  VectorStore vs;
  ASSERT_TRUE(VectorStore::Open(path, Opts(), &vs).ok());
  ASSERT_TRUE(vs.Put("seed", "v", vecmodel::VecOf(0, kDim)).ok());
  Worker w({SNKV_TOOL_VEC_WORKER, path, std::to_string(kDim), "serve"});
  ASSERT_EQ(w.Ask("count"), "1");
  for (uint64_t i = 1; i <= 60; ++i) {
    const std::string key = "k" + std::to_string(i);
    if (i % 2) {
      ASSERT_EQ(w.Ask("put " + key + " " + std::to_string(i)), "ok");
      ASSERT_EQ(Top1(vs, vecmodel::VecOf(i, kDim)), key);
    } else {
      ASSERT_TRUE(vs.Put(key, "v", vecmodel::VecOf(i, kDim)).ok());
      ASSERT_EQ(w.Ask("top1 " + std::to_string(i)), key);
    }
  }
  ASSERT_EQ(w.Ask("del k3"), "ok");
  EXPECT_NE(Top1(vs, vecmodel::VecOf(3, kDim)), "k3");
  EXPECT_EQ(CountOf(vs), 60);
  EXPECT_EQ(w.Ask("count"), "60");
}

// --- sidecar -------------------------------------------------------------

class Sidecar : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("s.db");
    VectorStore vs;
    ASSERT_TRUE(VectorStore::Open(path_, Opts(), &vs).ok());
    for (uint64_t i = 0; i < 300; ++i) {
      ASSERT_TRUE(
          vs.Put("k" + std::to_string(i), "v", vecmodel::VecOf(i, kDim)).ok());
    }
    ASSERT_TRUE(vs.Close().ok());
    ASSERT_TRUE(snkv::test::FileExists(Side()));
  }
  std::string Side() const { return path_ + ".snkv-vec"; }
  // Reopens and checks the index against the data; returns whether the
  // sidecar was used.
  bool ReopenAndCheck(int64_t expect_count = 300) {
    VectorStore vs;
    EXPECT_TRUE(VectorStore::Open(path_, Opts(), &vs).ok());
    VectorStats st;
    EXPECT_TRUE(vs.GetStats(&st).ok());
    EXPECT_EQ(st.count, expect_count);
    for (uint64_t i = 0; i < 300; i += 7) {
      EXPECT_EQ(Top1(vs, vecmodel::VecOf(i, kDim)), "k" + std::to_string(i));
    }
    return st.loaded_from_sidecar;
  }
  snkv::test::TempDir dir_;
  std::string path_;
};

TEST_F(Sidecar, LoadedWhenCurrent) {
  EXPECT_TRUE(ReopenAndCheck());
  EXPECT_TRUE(ReopenAndCheck());
}

TEST_F(Sidecar, MissingMeansRebuild) {
  ASSERT_EQ(unlink(Side().c_str()), 0);
  EXPECT_FALSE(ReopenAndCheck());
  EXPECT_TRUE(ReopenAndCheck());  // written again at close
}

TEST_F(Sidecar, TruncatedOrFlippedMeansRebuild) {
  const std::string good = snkv::test::ReadFile(Side());
  for (size_t cut :
       {size_t{0}, size_t{10}, size_t{103}, good.size() / 2, good.size() - 1}) {
    snkv::test::WriteFile(Side(), good.substr(0, cut));
    EXPECT_FALSE(ReopenAndCheck()) << cut;
  }
  std::mt19937 rng(5);
  for (int round = 0; round < 20; ++round) {
    std::string bad = good;
    const size_t at = rng() % bad.size();
    bad[at] = static_cast<char>(bad[at] ^ (1 << (rng() % 8)));
    snkv::test::WriteFile(Side(), bad);
    EXPECT_FALSE(ReopenAndCheck()) << at;
  }
  snkv::test::WriteFile(Side(), good + "trailing");
  EXPECT_FALSE(ReopenAndCheck());
}

// A sidecar whose checksums are right but whose content lies (a hostile
// file): counts and links that do not fit are refused, never trusted.
TEST_F(Sidecar, HostileContentIsRefused) {
  const std::string good = snkv::test::ReadFile(Side());
  constexpr size_t kHeader = 104, kBody = kHeader;
  // Rewrites the checksums so that only the content checks can object.
  auto reseal = [&](std::string file) {
    const uint64_t len = file.size() - kHeader;
    std::memcpy(file.data() + 80, &len, 8);
    const uint64_t body_sum =
        snkv::vector::Checksum64(file.data() + kHeader, len);
    std::memcpy(file.data() + 88, &body_sum, 8);
    const uint64_t head_sum =
        snkv::vector::Checksum64(file.data(), kHeader - 8);
    std::memcpy(file.data() + 96, &head_sum, 8);
    return file;
  };
  // The untouched file resealed is still good (the offsets are right).
  snkv::test::WriteFile(Side(), reseal(good));
  EXPECT_TRUE(ReopenAndCheck());
  auto patch = [&](size_t at, auto value) {
    std::string bad = good;
    std::memcpy(bad.data() + at, &value, sizeof value);
    return reseal(bad);
  };
  const size_t slot0 = kBody + 32;  // after m, slots, entry, level, live
  const size_t links0 = slot0 + 2 + kDim * 4;  // level, deleted, code
  const std::vector<std::string> hostile = {
      patch(kBody + 8, uint64_t{1} << 40),      // absurd slot count
      patch(kBody + 8, uint64_t{301}),          // one slot more than present
      patch(kBody + 16, uint32_t{100000}),      // entry point beyond the slots
      patch(kBody + 20, int32_t{40}),           // max level out of range
      patch(kBody + 24, uint64_t{7}),           // live count that disagrees
      patch(slot0, uint8_t{200}),               // node level out of range
      patch(links0, uint32_t{1000}),            // more links than fit
      patch(links0 + 4, uint32_t{999999}),      // a link to no slot
      patch(kBody, uint64_t{3}),                // other connectivity
      reseal(good.substr(0, good.size() - 5)),  // cut mid-record
  };
  for (size_t i = 0; i < hostile.size(); ++i) {
    snkv::test::WriteFile(Side(), hostile[i]);
    EXPECT_FALSE(ReopenAndCheck()) << i;
  }
}

TEST_F(Sidecar, ForeignOrStaleMeansRebuildOrCatchUp) {
  // From another store with the same config: refused (other uuid).
  const std::string other = dir_.file("o.db");
  {
    VectorStore vs;
    ASSERT_TRUE(VectorStore::Open(other, Opts(), &vs).ok());
    ASSERT_TRUE(vs.Put("zzz", "v", vecmodel::VecOf(424242, kDim)).ok());
  }
  const std::string mine = snkv::test::ReadFile(Side());
  snkv::test::WriteFile(Side(), snkv::test::ReadFile(other + ".snkv-vec"));
  EXPECT_FALSE(ReopenAndCheck());

  // Behind the database (written before later commits, e.g. a crash
  // before close): loaded, then brought up to date from the change log.
  snkv::test::WriteFile(Side(), mine);
  {
    VectorStore vs;
    VectorOptions o = Opts();
    o.sidecar = false;  // writes without refreshing the sidecar
    ASSERT_TRUE(VectorStore::Open(path_, o, &vs).ok());
    ASSERT_TRUE(vs.Put("late", "v", vecmodel::VecOf(777, kDim)).ok());
    ASSERT_TRUE(vs.Delete("k0").ok());
    ASSERT_TRUE(vs.Put("k0", "v", vecmodel::VecOf(0, kDim)).ok());
  }
  ASSERT_EQ(snkv::test::ReadFile(Side()), mine);
  {
    VectorStore vs;
    ASSERT_TRUE(VectorStore::Open(path_, Opts(), &vs).ok());
    VectorStats st;
    ASSERT_TRUE(vs.GetStats(&st).ok());
    EXPECT_TRUE(st.loaded_from_sidecar);
    EXPECT_EQ(st.count, 301);
    EXPECT_EQ(Top1(vs, vecmodel::VecOf(777, kDim)), "late");
    EXPECT_EQ(Top1(vs, vecmodel::VecOf(0, kDim)), "k0");
  }
}

// The database went back in time (restored from an older copy) while the
// sidecar stayed: its stamp is ahead of the log head, so it is not trusted.
TEST_F(Sidecar, AheadOfTheDatabaseMeansRebuild) {
  // Copy the files of the 300-key state aside, add a key (the sidecar now
  // stamps one more change), then put the old database back.
  const std::string db = snkv::test::ReadFile(path_);
  const std::string wal = snkv::test::ReadFile(path_ + "-wal");
  {
    VectorStore vs;
    ASSERT_TRUE(VectorStore::Open(path_, Opts(), &vs).ok());
    ASSERT_TRUE(vs.Put("extra", "v", vecmodel::VecOf(31337, kDim)).ok());
  }
  snkv::test::WriteFile(path_, db);
  snkv::test::WriteFile(path_ + "-wal", wal);
  unlink((path_ + "-shm").c_str());
  EXPECT_FALSE(ReopenAndCheck());
  VectorStore vs;
  ASSERT_TRUE(VectorStore::Open(path_, Opts(), &vs).ok());
  EXPECT_NE(Top1(vs, vecmodel::VecOf(31337, kDim)), "extra");
}

// Same, but the restored database is written again up to the sidecar's
// sequence number with other data: the nonce tells the histories apart.
TEST_F(Sidecar, SameSequenceOtherHistoryMeansRebuild) {
  const std::string db = snkv::test::ReadFile(path_);
  const std::string wal = snkv::test::ReadFile(path_ + "-wal");
  {
    VectorStore vs;
    ASSERT_TRUE(VectorStore::Open(path_, Opts(), &vs).ok());
    ASSERT_TRUE(vs.Put("extra", "v", vecmodel::VecOf(31337, kDim)).ok());
  }
  const std::string side = snkv::test::ReadFile(Side());
  snkv::test::WriteFile(path_, db);
  snkv::test::WriteFile(path_ + "-wal", wal);
  unlink((path_ + "-shm").c_str());
  {
    VectorStore vs;
    VectorOptions o = Opts();
    o.sidecar = false;
    ASSERT_TRUE(VectorStore::Open(path_, o, &vs).ok());
    ASSERT_TRUE(vs.Put("other", "v", vecmodel::VecOf(4242, kDim)).ok());
  }
  snkv::test::WriteFile(Side(), side);  // stamped with the same seq
  VectorStore vs;
  ASSERT_TRUE(VectorStore::Open(path_, Opts(), &vs).ok());
  VectorStats st;
  ASSERT_TRUE(vs.GetStats(&st).ok());
  EXPECT_FALSE(st.loaded_from_sidecar);
  EXPECT_EQ(Top1(vs, vecmodel::VecOf(4242, kDim)), "other");
  EXPECT_NE(Top1(vs, vecmodel::VecOf(31337, kDim)), "extra");
}

// --- crash ---------------------------------------------------------------

// Every row of the vector table (read through a plain Store).
std::map<std::string, std::vector<float>> TableRows(const std::string& path) {
  std::map<std::string, std::vector<float>> rows;
  snkv::Store store;
  EXPECT_TRUE(snkv::Store::Open(path, {}, &store).ok());
  snkv::ColumnFamily cf;
  EXPECT_TRUE(store.OpenColumnFamily("_snkv_vec_", &cf).ok());
  snkv::Iterator it = cf.NewIterator();
  for (const auto& e : it) {
    EXPECT_EQ(e.value.size(), 1 + 8 + kDim * sizeof(float));
    std::vector<float> v(kDim);
    std::memcpy(v.data(), e.value.data() + 9, kDim * sizeof(float));
    rows[e.key.ToString()] = v;
  }
  EXPECT_TRUE(it.status().ok());
  return rows;
}

// The index of a reopened store answers exactly what the tables hold: the
// same count; each key's indexed vector is its stored one (an exact lookup
// restricted to the key finds it at distance 0); no hit names a key the
// tables do not have; and the graph walk finds each stored vector's own key
// first (allowing 1 miss in 200 for the approximate walk).
void CheckIndexMatchesTables(const std::string& path) {
  const auto rows = TableRows(path);
  VectorStore vs;
  ASSERT_TRUE(VectorStore::Open(path, Opts(), &vs).ok());
  EXPECT_EQ(CountOf(vs), static_cast<int64_t>(rows.size()));
  size_t walk_misses = 0;
  for (const auto& [key, v] : rows) {
    std::vector<KeyHit> hits;
    SearchOptions o;
    o.top_k = 3;
    ASSERT_TRUE(vs.SearchKeys(v, o, &hits).ok());
    ASSERT_FALSE(hits.empty());
    walk_misses += hits[0].key != key;
    for (const auto& h : hits) EXPECT_TRUE(rows.count(h.key)) << h.key;
    SearchOptions only;
    only.top_k = 1;
    only.filter = [&](snkv::Slice k, const snkv::Slice*) { return k == key; };
    ASSERT_TRUE(vs.SearchKeys(v, only, &hits).ok());
    ASSERT_EQ(hits.size(), 1u) << key;
    EXPECT_EQ(hits[0].key, key);
    EXPECT_EQ(hits[0].distance, 0.0f) << key;
  }
  EXPECT_LE(walk_misses * 200, rows.size())
      << walk_misses << " of " << rows.size();
}

class VectorCrash : public ::testing::TestWithParam<const char*> {};

TEST_P(VectorCrash, KillDuringWrites) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("c.db");
  std::mt19937 rng(std::random_device{}());
  for (int round = 0; round < 6; ++round) {
    {
      Worker w({SNKV_TOOL_VEC_WORKER, path, std::to_string(kDim), "crash",
                GetParam()});
      // Let it commit a few rounds, then kill it at a random moment.
      ASSERT_NE(w.ReadLine(60000), "<hang>");
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 150));
      w.Kill();
    }
    CheckIndexMatchesTables(path);
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, VectorCrash,
                         ::testing::Values("batch", "sidecar"));

}  // namespace
