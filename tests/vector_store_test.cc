// The C++ vector store (snkv/vector.h): storage semantics. Put/overwrite/
// delete, metadata rules, TTL, batches (atomic, last wins), bad vectors,
// config fixed at creation, drop_index, encrypted stores.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <future>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "snkv/snkv.h"
#include "test_util.h"
#include "vector_test_util.h"

namespace {

using snkv::Code;
using snkv::SearchHit;
using snkv::SearchOptions;
using snkv::Status;
using snkv::VectorDType;
using snkv::VectorItem;
using snkv::VectorOptions;
using snkv::VectorSpace;
using snkv::VectorStats;
using snkv::VectorStore;

using snkv::test::Opts;
using snkv::test::Vec;

class VectorStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("v.db");
    ASSERT_TRUE(VectorStore::Open(path_, Opts(3), &vs_).ok());
  }
  int64_t Count() {
    int64_t n = -1;
    EXPECT_TRUE(vs_.Count(&n).ok());
    return n;
  }
  std::vector<SearchHit> Search(std::vector<float> q, int k = 10) {
    std::vector<SearchHit> hits;
    SearchOptions o;
    o.top_k = k;
    Status s = vs_.Search(q, o, &hits);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return hits;
  }

  snkv::test::TempDir dir_;
  std::string path_;
  VectorStore vs_;
};

TEST_F(VectorStoreTest, PutGetOverwriteDelete) {
  ASSERT_TRUE(vs_.Put("a", "va", Vec({1, 0, 0})).ok());
  ASSERT_TRUE(vs_.Put("b", "vb", Vec({0, 1, 0})).ok());
  EXPECT_EQ(Count(), 2);
  std::string v;
  ASSERT_TRUE(vs_.Get("a", &v).ok());
  EXPECT_EQ(v, "va");
  std::vector<float> vec;
  ASSERT_TRUE(vs_.GetVector("b", &vec).ok());
  EXPECT_EQ(vec, Vec({0, 1, 0}));

  // Overwrite: count unchanged, new vector and value found.
  ASSERT_TRUE(vs_.Put("a", "va2", Vec({0, 0, 5})).ok());
  EXPECT_EQ(Count(), 2);
  auto hits = Search({0, 0, 5}, 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].key, "a");
  EXPECT_EQ(hits[0].value, "va2");
  EXPECT_FLOAT_EQ(hits[0].distance, 0.0f);

  ASSERT_TRUE(vs_.Delete("a").ok());
  EXPECT_EQ(Count(), 1);
  EXPECT_TRUE(vs_.Get("a", &v).IsNotFound());
  EXPECT_TRUE(vs_.GetVector("a", &vec).IsNotFound());
  EXPECT_TRUE(vs_.Delete("a").IsNotFound());
  hits = Search({0, 0, 5});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].key, "b");
  bool has = true;
  ASSERT_TRUE(vs_.Contains("a", &has).ok());
  EXPECT_FALSE(has);
  ASSERT_TRUE(vs_.Contains("b", &has).ok());
  EXPECT_TRUE(has);
}

TEST_F(VectorStoreTest, EmptyIndexAndBadQueries) {
  std::vector<SearchHit> hits;
  SearchOptions o;
  EXPECT_EQ(vs_.Search(Vec({1, 2, 3}), o, &hits).code(), Code::kIndexEmpty);
  ASSERT_TRUE(vs_.Put("a", "va", Vec({1, 0, 0})).ok());
  EXPECT_EQ(vs_.Search(Vec({1, 2}), o, &hits).code(), Code::kBadVector);
  EXPECT_EQ(vs_.Search(Vec({1, NAN, 2}), o, &hits).code(), Code::kBadVector);
  o.top_k = 0;
  EXPECT_EQ(vs_.Search(Vec({1, 2, 3}), o, &hits).code(), Code::kError);
  o.top_k = -3;
  EXPECT_EQ(vs_.Search(Vec({1, 2, 3}), o, &hits).code(), Code::kError);
  o.top_k = 1;
  o.json_filter = "not json";
  EXPECT_EQ(vs_.Search(Vec({1, 2, 3}), o, &hits).code(), Code::kError);
  // Deleting the last vector makes the index empty again.
  ASSERT_TRUE(vs_.Delete("a").ok());
  o.json_filter.reset();
  EXPECT_EQ(vs_.Search(Vec({1, 2, 3}), o, &hits).code(), Code::kIndexEmpty);
}

TEST_F(VectorStoreTest, BadVectorsChangeNothing) {
  ASSERT_TRUE(vs_.Put("a", "va", Vec({1, 0, 0})).ok());
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(vs_.Put("b", "vb", Vec({1, 2})).code(), Code::kBadVector);
  EXPECT_EQ(vs_.Put("b", "vb", Vec({1, 2, 3, 4})).code(), Code::kBadVector);
  EXPECT_EQ(vs_.Put("b", "vb", Vec({1, NAN, 3})).code(), Code::kBadVector);
  EXPECT_EQ(vs_.Put("a", "vx", Vec({inf, 0, 3})).code(), Code::kBadVector);
  std::vector<float> good = {1, 1, 1}, bad = {1, -inf, 1};
  std::vector<VectorItem> items = {{"c", "vc", good.data(), {}},
                                   {"d", "vd", bad.data(), {}}};
  EXPECT_EQ(vs_.PutBatch(items).code(), Code::kBadVector);
  items[1].vector = nullptr;
  EXPECT_EQ(vs_.PutBatch(items).code(), Code::kBadVector);
  EXPECT_EQ(Count(), 1);
  std::string v;
  EXPECT_TRUE(vs_.Get("b", &v).IsNotFound());
  EXPECT_TRUE(vs_.Get("c", &v).IsNotFound());
  ASSERT_TRUE(vs_.Get("a", &v).ok());
  EXPECT_EQ(v, "va");
  // Metadata that is not JSON is refused the same way: nothing written.
  EXPECT_EQ(vs_.Put("e", "ve", good, 0, snkv::Slice("{oops")).code(),
            Code::kError);
  EXPECT_TRUE(vs_.Get("e", &v).IsNotFound());
}

TEST_F(VectorStoreTest, BatchIsAtomicAndLastWins) {
  std::vector<float> rows = {1, 0, 0, 0, 1, 0, 0, 0, 1, 9, 9, 9};
  std::vector<VectorItem> items = {
      {"x", "x1", rows.data() + 0, {}},
      {"y", "y1", rows.data() + 3, snkv::Slice(R"({"t":1})")},
      {"x", "x2", rows.data() + 6, {}},
      {"z", "z1", rows.data() + 9, {}},
  };
  ASSERT_TRUE(vs_.PutBatch(items).ok());
  EXPECT_EQ(Count(), 3);
  std::string v;
  ASSERT_TRUE(vs_.Get("x", &v).ok());
  EXPECT_EQ(v, "x2");
  std::vector<float> vec;
  ASSERT_TRUE(vs_.GetVector("x", &vec).ok());
  EXPECT_EQ(vec, Vec({0, 0, 1}));
  auto hits = Search({0, 0, 1}, 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].key, "x");
  std::optional<std::string> meta;
  ASSERT_TRUE(vs_.GetMetadata("y", &meta).ok());
  EXPECT_EQ(meta, R"({"t":1})");
  EXPECT_TRUE(vs_.PutBatch({}).ok());
}

TEST_F(VectorStoreTest, MetadataRules) {
  std::optional<std::string> meta = "sentinel";
  // No metadata ever written: OK and nothing.
  ASSERT_TRUE(vs_.Put("a", "va", Vec({1, 0, 0})).ok());
  ASSERT_TRUE(vs_.GetMetadata("a", &meta).ok());
  EXPECT_FALSE(meta.has_value());
  VectorStats st;
  ASSERT_TRUE(vs_.GetStats(&st).ok());
  EXPECT_FALSE(st.has_metadata);

  ASSERT_TRUE(
      vs_.Put("b", "vb", Vec({0, 1, 0}), 0, snkv::Slice(R"({"tag":"x"})"))
          .ok());
  ASSERT_TRUE(vs_.GetStats(&st).ok());
  EXPECT_TRUE(st.has_metadata);
  // Now the table exists: a key without metadata is NotFound.
  EXPECT_TRUE(vs_.GetMetadata("a", &meta).IsNotFound());
  ASSERT_TRUE(vs_.GetMetadata("b", &meta).ok());
  EXPECT_EQ(meta, R"({"tag":"x"})");
  // nullopt keeps it.
  ASSERT_TRUE(vs_.Put("b", "vb2", Vec({0, 1, 1})).ok());
  ASSERT_TRUE(vs_.GetMetadata("b", &meta).ok());
  EXPECT_EQ(meta, R"({"tag":"x"})");
  auto hits = Search({0, 1, 1}, 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].metadata, R"({"tag":"x"})");
  // A new dict replaces it; an empty slice clears it.
  ASSERT_TRUE(
      vs_.Put("b", "vb3", Vec({0, 1, 1}), 0, snkv::Slice(R"({"tag":"y"})"))
          .ok());
  ASSERT_TRUE(vs_.GetMetadata("b", &meta).ok());
  EXPECT_EQ(meta, R"({"tag":"y"})");
  ASSERT_TRUE(vs_.Put("b", "vb4", Vec({0, 1, 1}), 0, snkv::Slice()).ok());
  EXPECT_TRUE(vs_.GetMetadata("b", &meta).IsNotFound());
  hits = Search({0, 1, 1}, 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_FALSE(hits[0].metadata.has_value());
  // Deleting a key deletes its metadata.
  ASSERT_TRUE(
      vs_.Put("c", "vc", Vec({0, 0, 1}), 0, snkv::Slice(R"({"k":2})")).ok());
  ASSERT_TRUE(vs_.Delete("c").ok());
  ASSERT_TRUE(vs_.Put("c", "vc", Vec({0, 0, 1})).ok());
  EXPECT_TRUE(vs_.GetMetadata("c", &meta).IsNotFound());
}

// JSON filter results are cached per index version: every change is seen.
TEST_F(VectorStoreTest, JsonFilterFollowsChanges) {
  auto tagged = [&](const char* tag) {
    std::vector<SearchHit> hits;
    SearchOptions o;
    o.top_k = 5;
    o.json_filter = std::string("{\"t\":\"") + tag + "\"}";
    EXPECT_TRUE(vs_.Search(Vec({0, 0, 0}), o, &hits).ok());
    std::vector<std::string> keys;
    for (const auto& h : hits) keys.push_back(h.key);
    return keys;
  };
  ASSERT_TRUE(
      vs_.Put("a", "v", Vec({1, 0, 0}), 0, snkv::Slice(R"({"t":"x"})")).ok());
  ASSERT_TRUE(
      vs_.Put("b", "v", Vec({2, 0, 0}), 0, snkv::Slice(R"({"t":"y"})")).ok());
  EXPECT_EQ(tagged("x"), std::vector<std::string>{"a"});
  EXPECT_EQ(tagged("x"), std::vector<std::string>{"a"});  // from the cache
  ASSERT_TRUE(
      vs_.Put("b", "v", Vec({2, 0, 0}), 0, snkv::Slice(R"({"t":"x"})")).ok());
  EXPECT_EQ(tagged("x"), (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(vs_.Delete("a").ok());
  EXPECT_EQ(tagged("x"), std::vector<std::string>{"b"});
  ASSERT_TRUE(
      vs_.Put("c", "v", Vec({3, 0, 0}), 0, snkv::Slice(R"({"t":"x"})")).ok());
  EXPECT_EQ(tagged("x"), (std::vector<std::string>{"b", "c"}));
  EXPECT_TRUE(tagged("y").empty());
}

TEST_F(VectorStoreTest, TtlExpiredNeverReturnedAndPurged) {
  const int64_t past = snkv::NowMs() - 1;  // already expired
  ASSERT_TRUE(vs_.Put("old", "v", Vec({0, 0, 0}), past).ok());
  ASSERT_TRUE(
      vs_.Put("live", "v", Vec({5, 5, 5}), snkv::NowMs() + 3600000).ok());
  ASSERT_TRUE(vs_.Put("forever", "v", Vec({9, 9, 9})).ok());
  auto hits = Search({0, 0, 0});
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].key, "live");
  EXPECT_EQ(hits[1].key, "forever");
  std::string v;
  EXPECT_TRUE(vs_.Get("old", &v).IsNotFound());
  std::vector<float> vec;
  EXPECT_TRUE(vs_.GetVector("old", &vec).IsNotFound());
  std::vector<snkv::KeyHit> keys;
  SearchOptions o;
  o.top_k = 3;
  ASSERT_TRUE(vs_.SearchKeys(Vec({0, 0, 0}), o, &keys).ok());
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(Count(), 3);  // expired but not yet purged
  int64_t purged = -1;
  ASSERT_TRUE(vs_.PurgeExpired(&purged).ok());
  EXPECT_EQ(purged, 1);
  EXPECT_EQ(Count(), 2);
  ASSERT_TRUE(vs_.PurgeExpired(&purged).ok());
  EXPECT_EQ(purged, 0);
  EXPECT_EQ(vs_.Put("neg", "v", Vec({1, 1, 1}), -5).code(), Code::kError);
}

// An expired item is absent to delete too (NotFound, as in the key-value
// store), and its leftover vector is gone afterwards.
TEST_F(VectorStoreTest, DeleteOfExpiredItemIsNotFoundAndRemovesIt) {
  ASSERT_TRUE(vs_.Put("old", "v", Vec({0, 0, 0}), snkv::NowMs() - 1).ok());
  ASSERT_TRUE(vs_.Put("live", "v", Vec({1, 1, 1})).ok());
  EXPECT_EQ(Count(), 2);
  EXPECT_TRUE(vs_.Delete("old").IsNotFound());
  EXPECT_EQ(Count(), 1);
  EXPECT_TRUE(vs_.Delete("old").IsNotFound());
  EXPECT_TRUE(vs_.Delete("live").ok());
  EXPECT_EQ(Count(), 0);
}

TEST_F(VectorStoreTest, RerankOversampleMaxDistance) {
  for (int i = 0; i < 50; ++i) {
    const float x = static_cast<float>(i);
    ASSERT_TRUE(vs_.Put("k" + std::to_string(i), "v", Vec({x, 0, 0})).ok());
  }
  std::vector<SearchHit> hits;
  SearchOptions o;
  o.top_k = 5;
  o.rerank = true;
  o.oversample = 4;
  ASSERT_TRUE(vs_.Search(Vec({10.2f, 0, 0}), o, &hits).ok());
  ASSERT_EQ(hits.size(), 5u);
  EXPECT_EQ(hits[0].key, "k10");
  EXPECT_NEAR(hits[0].distance, 0.04f, 1e-4);
  for (size_t i = 1; i < hits.size(); ++i)
    EXPECT_LE(hits[i - 1].distance, hits[i].distance);
  o.rerank = false;
  o.max_distance = 1.0f;  // squared: k10 (0.04) and k11 (0.64)
  ASSERT_TRUE(vs_.Search(Vec({10.2f, 0, 0}), o, &hits).ok());
  ASSERT_EQ(hits.size(), 2u);
  o.max_distance = 1.5f;  // and k9 (1.44)
  ASSERT_TRUE(vs_.Search(Vec({10.2f, 0, 0}), o, &hits).ok());
  EXPECT_EQ(hits.size(), 3u);
}

// An exception thrown by a filter leaves Search with everything given
// back: the index lock (a write, which needs it exclusively, goes through
// on another thread), the thread's mark of being inside a filter (its
// next calls are not refused), and the walk's per-thread buffers.
TEST_F(VectorStoreTest, FilterExceptionLeavesNothingHeld) {
  std::vector<VectorItem> items;
  std::vector<std::string> keys;
  std::vector<std::vector<float>> vecs;
  for (int i = 0; i < 3000; ++i) {
    keys.push_back("k" + std::to_string(i));
    vecs.push_back({static_cast<float>(i % 97), static_cast<float>(i % 13),
                    static_cast<float>(i)});
  }
  for (int i = 0; i < 3000; ++i) {
    items.push_back({keys[i], "v", vecs[i].data(), std::nullopt});
  }
  ASSERT_TRUE(vs_.PutBatch(items).ok());
  // The first 256 calls judge a sample (which picks walk or scan), so the
  // exception comes after them: inside the walk, then inside the scan.
  constexpr int kThrowAt = 270;
  for (const bool walk : {true, false}) {
    SCOPED_TRACE(walk ? "walk" : "exact scan");
    int calls = 0;
    bool fail = false;
    SearchOptions o;
    o.top_k = 5;
    o.filter = [&](snkv::Slice, const snkv::Slice*) {
      if (++calls == kThrowAt && fail) throw std::runtime_error("filter");
      return walk || calls % 100 == 0;  // rare: the index scans
    };
    std::vector<SearchHit> hits;
    ASSERT_TRUE(vs_.Search(Vec({5, 5, 5}), o, &hits).ok());
    ASSERT_GT(calls, kThrowAt + 20);  // the walk or scan does call it
    calls = 0;
    fail = true;
    EXPECT_THROW((void)vs_.Search(Vec({5, 5, 5}), o, &hits),
                 std::runtime_error);
    EXPECT_EQ(calls, kThrowAt);
    auto put = std::async(std::launch::async, [&] {
      return vs_.Put("new", "v", Vec({1, 2, 3})).ok();
    });
    if (put.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      ADD_FAILURE() << "the index lock is still held";
      std::_Exit(1);
    }
    EXPECT_TRUE(put.get());
    EXPECT_EQ(Count(), 3001);  // not refused as "inside a search filter"
    EXPECT_EQ(Search({5, 5, 5}, 3).size(), 3u);
  }
}

TEST(VectorStoreConfig, FixedAtCreation) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("c.db");
  {
    VectorStore vs;
    VectorOptions o = Opts(4, VectorSpace::kCosine, VectorDType::kF16);
    o.connectivity = 8;
    o.expansion_add = 40;
    o.expansion_search = 30;
    ASSERT_TRUE(VectorStore::Open(path, o, &vs).ok());
    ASSERT_TRUE(vs.Put("a", "v", Vec({1, 2, 3, 4})).ok());
  }
  VectorStore vs;
  EXPECT_EQ(VectorStore::Open(
                path, Opts(5, VectorSpace::kCosine, VectorDType::kF16), &vs)
                .code(),
            Code::kDimMismatch);
  EXPECT_FALSE(vs.is_open());
  EXPECT_EQ(VectorStore::Open(
                path, Opts(4, VectorSpace::kCosine, VectorDType::kI8), &vs)
                .code(),
            Code::kDtypeMismatch);
  EXPECT_EQ(
      VectorStore::Open(path, Opts(4, VectorSpace::kL2, VectorDType::kF16), &vs)
          .code(),
      Code::kSpaceMismatch);
  ASSERT_TRUE(VectorStore::Open(
                  path, Opts(4, VectorSpace::kCosine, VectorDType::kF16), &vs)
                  .ok());
  VectorStats st;
  ASSERT_TRUE(vs.GetStats(&st).ok());
  EXPECT_EQ(st.dim, 4);
  EXPECT_EQ(st.connectivity, 8);  // stored values win
  EXPECT_EQ(st.expansion_add, 40);
  EXPECT_EQ(st.expansion_search, 30);
  EXPECT_EQ(st.count, 1);
  EXPECT_EQ(st.vec_cf_count, 1);
  EXPECT_TRUE(st.sidecar_enabled);

  // Invalid options.
  VectorStore bad;
  EXPECT_EQ(VectorStore::Open(dir.file("d.db"), Opts(0), &bad).code(),
            Code::kError);
  EXPECT_EQ(VectorStore::Open(dir.file("d.db"), Opts(-1), &bad).code(),
            Code::kError);
  VectorOptions o = Opts(4);
  o.space = static_cast<VectorSpace>(7);
  EXPECT_EQ(VectorStore::Open(dir.file("d.db"), o, &bad).code(), Code::kError);
  o = Opts(4);
  o.connectivity = -1;
  EXPECT_EQ(VectorStore::Open(dir.file("d.db"), o, &bad).code(), Code::kError);
}

// HNSW needs at least two links per node: connectivity 1 is raised to 2,
// stored so, and the same options open the store again (Python takes 1 as
// well, for the same stores).
TEST(VectorStoreConfig, ConnectivityOneIsStoredAsTwoAndReopens) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("m1.db");
  VectorOptions o = Opts(3);
  o.connectivity = 1;
  for (int round = 0; round < 2; ++round) {
    VectorStore vs;
    ASSERT_TRUE(VectorStore::Open(path, o, &vs).ok()) << round;
    if (round == 0) ASSERT_TRUE(vs.Put("a", "v", Vec({1, 2, 3})).ok());
    VectorStats st;
    ASSERT_TRUE(vs.GetStats(&st).ok());
    EXPECT_EQ(st.connectivity, 2);
    EXPECT_EQ(st.count, 1);
    std::vector<SearchHit> hits;
    SearchOptions so;
    so.top_k = 1;
    ASSERT_TRUE(vs.Search(Vec({1, 2, 3}), so, &hits).ok());
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].key, "a");
  }
}

TEST_F(VectorStoreTest, DropIndexKeepsValues) {
  ASSERT_TRUE(vs_.Put("a", "va", Vec({1, 0, 0})).ok());
  ASSERT_TRUE(vs_.KvPut("plain", "pv").ok());
  ASSERT_TRUE(vs_.SaveSidecar().ok());
  EXPECT_TRUE(snkv::test::FileExists(path_ + ".snkv-vec"));
  ASSERT_TRUE(vs_.DropIndex().ok());
  EXPECT_FALSE(snkv::test::FileExists(path_ + ".snkv-vec"));
  std::vector<SearchHit> hits;
  EXPECT_EQ(vs_.Search(Vec({1, 0, 0}), {}, &hits).code(), Code::kIndexDropped);
  EXPECT_EQ(vs_.Put("b", "vb", Vec({1, 0, 0})).code(), Code::kIndexDropped);
  std::vector<float> vec;
  EXPECT_EQ(vs_.GetVector("a", &vec).code(), Code::kIndexDropped);
  std::string v;
  ASSERT_TRUE(vs_.Get("a", &v).ok());
  EXPECT_EQ(v, "va");
  ASSERT_TRUE(vs_.Get("plain", &v).ok());
  ASSERT_TRUE(vs_.Delete("plain").ok());  // a plain delete now
  EXPECT_TRUE(vs_.DropIndex().ok());      // twice is fine
  ASSERT_TRUE(vs_.Close().ok());
  // The drop is permanent: reopening finds the store dropped (see
  // vector_edge_test for the rest), values intact.
  ASSERT_TRUE(VectorStore::Open(path_, Opts(3), &vs_).ok());
  EXPECT_EQ(Count(), 0);
  EXPECT_EQ(vs_.Put("b", "vb", Vec({1, 0, 0})).code(), Code::kIndexDropped);
  ASSERT_TRUE(vs_.Get("a", &v).ok());
}

TEST_F(VectorStoreTest, ClosedStoreFailsCleanly) {
  ASSERT_TRUE(vs_.Close().ok());
  EXPECT_TRUE(vs_.Close().ok());
  std::string v;
  EXPECT_EQ(vs_.Get("a", &v).code(), Code::kError);
  EXPECT_EQ(vs_.Put("a", "v", Vec({1, 2, 3})).code(), Code::kError);
  std::vector<SearchHit> hits;
  EXPECT_EQ(vs_.Search(Vec({1, 2, 3}), {}, &hits).code(), Code::kError);
  int64_t n;
  EXPECT_EQ(vs_.Count(&n).code(), Code::kError);
}

TEST(VectorStoreEncrypted, SealedAndRebuilt) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("e.db");
  VectorOptions o = Opts(4);
  o.password = "secret";
  o.store.page_size = 4096;
  // A distinctive vector whose float bytes we can look for in the file.
  const std::vector<float> marker = {1234.5678f, -8765.4321f, 3.14159e7f,
                                     2.71828e-5f};
  {
    VectorStore vs;
    ASSERT_TRUE(VectorStore::Open(path, o, &vs).ok());
    ASSERT_TRUE(vs.Put("doc", "plainvalue-XYZZY", marker, 0,
                       snkv::Slice(R"({"secret_meta":"QWERTY"})"))
                    .ok());
    VectorStats st;
    ASSERT_TRUE(vs.GetStats(&st).ok());
    EXPECT_FALSE(st.sidecar_enabled);
  }
  EXPECT_FALSE(snkv::test::FileExists(path + ".snkv-vec"));
  std::string file =
      snkv::test::ReadFile(path) + snkv::test::ReadFile(path + "-wal");
  const std::string raw(reinterpret_cast<const char*>(marker.data()), 16);
  EXPECT_EQ(file.find(raw), std::string::npos);
  EXPECT_EQ(file.find("QWERTY"), std::string::npos);
  EXPECT_EQ(file.find("XYZZY"), std::string::npos);

  VectorStore vs;
  VectorOptions wrong = o;
  wrong.password = "nope";
  EXPECT_EQ(VectorStore::Open(path, wrong, &vs).code(), Code::kAuthFailed);
  ASSERT_TRUE(VectorStore::Open(path, o, &vs).ok());
  std::vector<SearchHit> hits;
  ASSERT_TRUE(vs.Search(marker, {}, &hits).ok());
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].key, "doc");
  EXPECT_EQ(hits[0].value, "plainvalue-XYZZY");
  EXPECT_EQ(hits[0].metadata, R"({"secret_meta":"QWERTY"})");
}

TEST(VectorStoreMemory, InMemoryStore) {
  VectorStore vs;
  ASSERT_TRUE(VectorStore::Open(":memory:", Opts(2), &vs).ok());
  ASSERT_TRUE(vs.Put("a", "b", Vec({1, 2})).ok());
  VectorStats st;
  ASSERT_TRUE(vs.GetStats(&st).ok());
  EXPECT_FALSE(st.sidecar_enabled);
  std::vector<SearchHit> hits;
  ASSERT_TRUE(vs.Search(Vec({1, 2}), {}, &hits).ok());
  ASSERT_EQ(hits.size(), 1u);
}

}  // namespace
