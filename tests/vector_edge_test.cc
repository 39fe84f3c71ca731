// The C++ vector store at its edges (issue 20's list of defects): a search
// filter calling back into its store, a put over an expired item, values
// an f16 index cannot hold, zero-length cosine vectors, drop_index across
// reopen, a sidecar path that cannot be written, the internal column
// families' visibility, a handle more than the change log's reach behind,
// and the filter-share sample against periodic filters.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "snkv/snkv.h"
#include "test_util.h"
#include "vector/vector_index.h"
#include "vector_test_util.h"

namespace {

using snkv::Code;
using snkv::KeyHit;
using snkv::SearchHit;
using snkv::SearchOptions;
using snkv::Slice;
using snkv::Status;
using snkv::VectorDType;
using snkv::VectorItem;
using snkv::VectorOptions;
using snkv::VectorSpace;
using snkv::VectorStats;
using snkv::VectorStore;

using snkv::test::Opts;
using snkv::test::Vec;

// A deterministic, well spread vector for item i.
std::vector<float> VecOf(uint64_t i, int dim) {
  std::vector<float> v(static_cast<size_t>(dim));
  uint64_t x = i * 0x9e3779b97f4a7c15ull + 1;
  for (float& f : v) {
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 29;
    f = static_cast<float>(static_cast<double>(x >> 11) / 9007199254740992.0) -
        0.5f;
  }
  return v;
}

std::vector<std::string> TopKeys(VectorStore& vs, const std::vector<float>& q,
                                 int k) {
  std::vector<KeyHit> hits;
  SearchOptions o;
  o.top_k = k;
  Status s = vs.SearchKeys(q, o, &hits);
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::vector<std::string> keys;
  for (const KeyHit& h : hits) keys.push_back(h.key);
  return keys;
}

// Runs f on another thread and fails the test (ending the process: a
// deadlocked thread cannot be joined) if it takes longer than 60 s.
template <class F>
void WithinAMinute(F f) {
  std::packaged_task<void()> task(f);
  std::future<void> done = task.get_future();
  std::thread t(std::move(task));
  if (done.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    ADD_FAILURE() << "deadlock: the call did not return within 60 s";
    std::fflush(nullptr);
    std::_Exit(1);
  }
  t.join();
  done.get();
}

// --- 1: a filter that calls back into its own store --------------------------

TEST(VectorEdge, FilterCallingItsStoreGetsAnErrorNotADeadlock) {
  snkv::test::TempDir dir;
  VectorStore vs;
  ASSERT_TRUE(VectorStore::Open(dir.file("f.db"), Opts(3), &vs).ok());
  ASSERT_TRUE(vs.Put("a", "va", Vec({1, 0, 0})).ok());
  ASSERT_TRUE(vs.Put("b", "vb", Vec({0, 1, 0})).ok());
  std::vector<Status> inner;
  SearchOptions o;
  o.top_k = 2;
  o.filter = [&](Slice key, const Slice*) {
    std::string v;
    std::vector<SearchHit> nested;
    int64_t n = 0;
    VectorStats st;
    inner.push_back(vs.Put("c", "vc", std::vector<float>{0, 0, 1}));
    inner.push_back(vs.KvPut("plain", "p"));
    inner.push_back(vs.Delete(key));
    inner.push_back(vs.Get(key, &v));
    inner.push_back(vs.Count(&n));
    inner.push_back(vs.GetStats(&st));
    inner.push_back(
        vs.Search(std::vector<float>{1, 0, 0}, SearchOptions(), &nested));
    inner.push_back(vs.DropIndex());
    inner.push_back(vs.SaveSidecar());
    inner.push_back(vs.Close());
    return true;
  };
  std::vector<SearchHit> hits;
  WithinAMinute([&] {
    Status s = vs.Search(std::vector<float>{1, 0, 0}, o, &hits);
    EXPECT_TRUE(s.ok()) << s.ToString();
  });
  ASSERT_FALSE(inner.empty());
  for (const Status& s : inner) {
    EXPECT_EQ(s.code(), Code::kError);
    EXPECT_NE(s.message().find("inside a search filter"), std::string::npos)
        << s.message();
  }
  // Nothing the filter tried happened, and the store is still usable.
  ASSERT_TRUE(vs.is_open());
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].key, "a");
  std::string v;
  EXPECT_TRUE(vs.Get("c", &v).IsNotFound());
  EXPECT_TRUE(vs.Get("plain", &v).IsNotFound());
  ASSERT_TRUE(vs.Get("a", &v).ok());
  ASSERT_TRUE(vs.Put("c", "vc", Vec({0, 0, 1})).ok());
  EXPECT_EQ(TopKeys(vs, {0, 0, 1}, 1), std::vector<std::string>{"c"});
}

TEST(VectorEdge, FilterMayUseAnotherStore) {
  snkv::test::TempDir dir;
  VectorStore a, b;
  ASSERT_TRUE(VectorStore::Open(dir.file("a.db"), Opts(3), &a).ok());
  ASSERT_TRUE(VectorStore::Open(dir.file("b.db"), Opts(3), &b).ok());
  ASSERT_TRUE(a.Put("x", "vx", Vec({1, 0, 0})).ok());
  ASSERT_TRUE(b.KvPut("allowed", "x").ok());
  SearchOptions o;
  o.filter = [&](Slice key, const Slice*) {
    std::string v;
    EXPECT_TRUE(b.Put(key, "seen", std::vector<float>{0, 1, 0}).ok());
    return b.Get("allowed", &v).ok();
  };
  std::vector<SearchHit> hits;
  WithinAMinute([&] {
    ASSERT_TRUE(a.Search(std::vector<float>{1, 0, 0}, o, &hits).ok());
  });
  ASSERT_EQ(hits.size(), 1u);
  std::string v;
  ASSERT_TRUE(b.Get("x", &v).ok());
  EXPECT_EQ(v, "seen");
}

// --- 2: a put over an expired item -------------------------------------------

TEST(VectorEdge, PutOverExpiredItemDoesNotInheritItsMetadata) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("e.db");
  VectorStore vs;
  ASSERT_TRUE(VectorStore::Open(path, Opts(3), &vs).ok());
  const int64_t soon = snkv::NowMs() + 50;
  ASSERT_TRUE(
      vs.Put("k", "old", Vec({1, 0, 0}), soon, Slice("{\"tag\":1}")).ok());
  ASSERT_TRUE(
      vs.Put("b", "old", Vec({0, 1, 0}), soon, Slice("{\"tag\":2}")).ok());
  ASSERT_TRUE(
      vs.Put("live", "v", Vec({0, 0, 1}), 0, Slice("{\"tag\":3}")).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  // Expired: its metadata is gone with it.
  std::optional<std::string> m;
  EXPECT_TRUE(vs.GetMetadata("k", &m).IsNotFound());
  EXPECT_FALSE(m.has_value());

  // metadata = nullopt ("keep") over an expired item is a new item's put.
  ASSERT_TRUE(vs.Put("k", "new", Vec({1, 0, 0})).ok());
  std::vector<float> bv{0, 1, 0};
  const VectorItem batch[] = {{"b", "new", bv.data(), std::nullopt}};
  ASSERT_TRUE(vs.PutBatch(batch).ok());
  for (const char* key : {"k", "b"}) {
    EXPECT_TRUE(vs.GetMetadata(key, &m).IsNotFound()) << key;
    EXPECT_FALSE(m.has_value()) << key;
  }
  // A live item still keeps its metadata when the put gives none.
  ASSERT_TRUE(vs.Put("live", "v2", Vec({0, 0, 1})).ok());
  ASSERT_TRUE(vs.GetMetadata("live", &m).ok());
  EXPECT_EQ(m, "{\"tag\":3}");

  std::vector<SearchHit> hits;
  SearchOptions o;
  o.top_k = 3;
  ASSERT_TRUE(vs.Search(std::vector<float>{1, 0, 0}, o, &hits).ok());
  ASSERT_EQ(hits.size(), 3u);
  for (const SearchHit& h : hits) {
    if (h.key == "live") {
      EXPECT_EQ(h.metadata, "{\"tag\":3}");
    } else {
      EXPECT_FALSE(h.metadata.has_value()) << h.key;
    }
  }
  // The JSON filter sees the same: the old tag matches nothing.
  o.json_filter = "{\"tag\":1}";
  ASSERT_TRUE(vs.Search(std::vector<float>{1, 0, 0}, o, &hits).ok());
  EXPECT_TRUE(hits.empty());
  // And so does a rebuilt index.
  ASSERT_TRUE(vs.Close().ok());
  VectorOptions no_sidecar = Opts(3);
  no_sidecar.sidecar = false;
  ASSERT_TRUE(VectorStore::Open(path, no_sidecar, &vs).ok());
  EXPECT_TRUE(vs.GetMetadata("k", &m).IsNotFound());
  o.json_filter.reset();
  ASSERT_TRUE(vs.Search(std::vector<float>{1, 0, 0}, o, &hits).ok());
  for (const SearchHit& h : hits)
    EXPECT_EQ(h.metadata.has_value(), h.key == "live") << h.key;
}

// --- 3 and 4: values the index cannot represent ------------------------------

TEST(VectorEdge, F16IndexRejectsValuesBeyondHalfRange) {
  snkv::test::TempDir dir;
  for (VectorSpace space : {VectorSpace::kL2, VectorSpace::kIp}) {
    VectorStore vs;
    ASSERT_TRUE(VectorStore::Open(dir.file("h" + std::to_string(int(space))),
                                  Opts(3, space, VectorDType::kF16), &vs)
                    .ok());
    ASSERT_TRUE(vs.Put("max", "v", Vec({65504.0f, -65504.0f, 1})).ok());
    for (float bad : {65505.0f, -70000.0f, 1e6f, 3e38f}) {
      Status s = vs.Put("bad", "v", Vec({1, bad, 0}));
      EXPECT_EQ(s.code(), Code::kBadVector) << bad;
      EXPECT_NE(s.message().find("f16"), std::string::npos) << s.message();
    }
    std::vector<float> good{1, 1, 1}, bad{1, 1e5f, 1};
    const VectorItem batch[] = {{"ok", "v", good.data()},
                                {"bad", "v", bad.data()}};
    EXPECT_EQ(vs.PutBatch(batch).code(), Code::kBadVector);
    int64_t n = 0;
    ASSERT_TRUE(vs.Count(&n).ok());
    EXPECT_EQ(n, 1);  // the batch wrote nothing
    // The distances stay finite: nothing in the index became infinite.
    std::vector<SearchHit> hits;
    ASSERT_TRUE(
        vs.Search(std::vector<float>{65504, -65504, 1}, {}, &hits).ok());
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_TRUE(std::isfinite(hits[0].distance));
  }
  // Cosine normalises before the index stores it: any finite length fits.
  VectorStore cos;
  ASSERT_TRUE(
      VectorStore::Open(dir.file("c"),
                        Opts(3, VectorSpace::kCosine, VectorDType::kF16), &cos)
          .ok());
  ASSERT_TRUE(cos.Put("big", "v", Vec({1e6f, 2e6f, 0})).ok());
  std::vector<SearchHit> hits;
  ASSERT_TRUE(cos.Search(std::vector<float>{1, 2, 0}, {}, &hits).ok());
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_NEAR(hits[0].distance, 0.0f, 1e-3f);
}

TEST(VectorEdge, VectorsWhoseDistancesWouldOverflowAreRejected) {
  snkv::test::TempDir dir;
  VectorStore vs;
  ASSERT_TRUE(VectorStore::Open(dir.file("o.db"), Opts(2), &vs).ok());
  // Squared lengths near float's limit overflow l2 / ip distances.
  EXPECT_EQ(vs.Put("huge", "v", Vec({1e19f, 1e19f})).code(), Code::kBadVector);
  EXPECT_EQ(vs.Put("huge", "v", Vec({3e38f, 0})).code(), Code::kBadVector);
  ASSERT_TRUE(vs.Put("large", "v", Vec({1e18f, -1e18f})).ok());
  ASSERT_TRUE(vs.Put("small", "v", Vec({1, 1})).ok());
  std::vector<SearchHit> hits;
  EXPECT_EQ(vs.Search(std::vector<float>{2e19f, 0}, {}, &hits).code(),
            Code::kBadVector);
  SearchOptions o;
  o.rerank = true;
  ASSERT_TRUE(vs.Search(std::vector<float>{-1e18f, 1e18f}, o, &hits).ok());
  ASSERT_EQ(hits.size(), 2u);
  for (const SearchHit& h : hits) EXPECT_TRUE(std::isfinite(h.distance));
}

TEST(VectorEdge, CosineRejectsZeroAndSubnormalLengthVectors) {
  snkv::test::TempDir dir;
  for (VectorDType dtype :
       {VectorDType::kF32, VectorDType::kF16, VectorDType::kI8}) {
    VectorStore vs;
    ASSERT_TRUE(VectorStore::Open(dir.file("z" + std::to_string(int(dtype))),
                                  Opts(4, VectorSpace::kCosine, dtype), &vs)
                    .ok());
    const float sub = std::numeric_limits<float>::denorm_min() * 1000;
    const std::vector<std::vector<float>> bad = {{0, 0, 0, 0},
                                                 {sub, sub, sub, sub},
                                                 {1e-30f, 0, -1e-30f, 0},
                                                 {1e-10f, 0, 0, 0}};
    for (const auto& v : bad) {
      Status s = vs.Put("z", "v", v);
      EXPECT_EQ(s.code(), Code::kBadVector) << v[0];
      EXPECT_NE(s.message().find("cosine"), std::string::npos) << s.message();
    }
    ASSERT_TRUE(vs.Put("a", "v", Vec({1, 2, 3, 4})).ok());
    ASSERT_TRUE(vs.Put("tiny", "v", Vec({1e-6f, 0, 0, 1e-6f})).ok());
    std::vector<SearchHit> hits;
    for (const auto& q : bad) {
      EXPECT_EQ(vs.Search(q, {}, &hits).code(), Code::kBadVector) << q[0];
    }
    // Small but normal lengths give finite distances, with or without
    // rerank.
    for (bool rerank : {false, true}) {
      SearchOptions o;
      o.rerank = rerank;
      ASSERT_TRUE(
          vs.Search(std::vector<float>{1e-7f, 0, 0, 1e-7f}, o, &hits).ok());
      ASSERT_EQ(hits.size(), 2u);
      EXPECT_EQ(hits[0].key, "tiny");
      for (const SearchHit& h : hits) {
        EXPECT_TRUE(std::isfinite(h.distance)) << h.key;
        EXPECT_GE(h.distance, -0.05f);
        EXPECT_LE(h.distance, 2.05f);
      }
    }
  }
  // In l2 a zero vector is an ordinary point.
  VectorStore l2;
  ASSERT_TRUE(VectorStore::Open(dir.file("l2"), Opts(2), &l2).ok());
  ASSERT_TRUE(l2.Put("zero", "v", Vec({0, 0})).ok());
  EXPECT_EQ(TopKeys(l2, {0, 0}, 1), std::vector<std::string>{"zero"});
}

// --- 5: drop_index is permanent ----------------------------------------------

TEST(VectorEdge, DropIndexStaysDroppedAfterReopen) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("d.db");
  VectorStore vs, other;
  ASSERT_TRUE(VectorStore::Open(path, Opts(3), &vs).ok());
  ASSERT_TRUE(vs.Put("a", "va", Vec({1, 0, 0}), 0, Slice("{\"x\":1}")).ok());
  ASSERT_TRUE(VectorStore::Open(path, Opts(3), &other).ok());
  ASSERT_EQ(TopKeys(other, {1, 0, 0}, 1), std::vector<std::string>{"a"});
  ASSERT_TRUE(vs.DropIndex().ok());
  // A handle opened before the drop finds out at its next write, too.
  EXPECT_EQ(other.Put("b", "vb", Vec({0, 1, 0})).code(), Code::kIndexDropped);
  ASSERT_TRUE(other.Delete("a").ok());  // a plain delete once dropped
  ASSERT_TRUE(other.KvPut("a", "va2").ok());
  ASSERT_TRUE(other.Close().ok());
  ASSERT_TRUE(vs.Close().ok());
  EXPECT_FALSE(snkv::test::FileExists(path + ".snkv-vec"));

  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(VectorStore::Open(path, Opts(3), &vs).ok());
    VectorStats st;
    ASSERT_TRUE(vs.GetStats(&st).ok());
    EXPECT_TRUE(st.dropped);
    EXPECT_EQ(st.count, 0);
    std::vector<SearchHit> hits;
    EXPECT_EQ(vs.Search(std::vector<float>{1, 0, 0}, {}, &hits).code(),
              Code::kIndexDropped);
    EXPECT_EQ(vs.Put("b", "vb", Vec({0, 1, 0})).code(), Code::kIndexDropped);
    std::vector<float> v;
    EXPECT_EQ(vs.GetVector("a", &v).code(), Code::kIndexDropped);
    std::string value;
    ASSERT_TRUE(vs.Get("a", &value).ok());
    EXPECT_EQ(value, "va2");
    EXPECT_TRUE(vs.DropIndex().ok());
    ASSERT_TRUE(vs.Close().ok());
  }
  // The vectors, metadata and log are gone from the file; only the marker
  // that says so stays.
  snkv::Store store;
  ASSERT_TRUE(snkv::Store::Open(path, {}, &store).ok());
  snkv::ColumnFamily cf;
  for (const char* name : {"_snkv_vec_", "_snkv_vec_tags_", "_snkv_vec_log_"})
    EXPECT_TRUE(store.OpenColumnFamily(name, &cf).IsNotFound()) << name;
  ASSERT_TRUE(store.Close().ok());
}

// --- 6: a sidecar that cannot be written
// --------------------------------------

TEST(VectorEdge, UnwritableSidecarNeverFailsClose) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("s.db");
  ASSERT_EQ(::mkdir((path + ".snkv-vec").c_str(), 0755), 0);
  VectorStore vs;
  ASSERT_TRUE(VectorStore::Open(path, Opts(3), &vs).ok());
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(vs.Put("k" + std::to_string(i), "v", VecOf(i, 3)).ok());
  EXPECT_FALSE(vs.SaveSidecar().ok());  // asked for explicitly: reported
  Status s = vs.Close();
  EXPECT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(VectorStore::Open(path, Opts(3), &vs).ok());
  VectorStats st;
  ASSERT_TRUE(vs.GetStats(&st).ok());
  EXPECT_FALSE(st.loaded_from_sidecar);
  EXPECT_EQ(st.count, 50);
  for (int i = 0; i < 50; i += 7) {
    EXPECT_EQ(TopKeys(vs, VecOf(i, 3), 1),
              std::vector<std::string>{"k" + std::to_string(i)});
  }
  ASSERT_TRUE(vs.Close().ok());
  struct stat sb;
  ASSERT_EQ(::stat((path + ".snkv-vec").c_str(), &sb), 0);
  EXPECT_TRUE(S_ISDIR(sb.st_mode));  // left alone
}

// Stats of a dropped store describe no index: dim, space, dtype, the
// graph parameters, ef and the counts are zero, on the dropping handle,
// on another handle that learns of the drop, and on a reopen whose
// options (dim, ef) would otherwise show through.
TEST(VectorEdge, DroppedStoreStatsAreZero) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("ds.db");
  VectorOptions o = Opts(3, VectorSpace::kCosine, VectorDType::kF16);
  o.expansion_search = 77;
  VectorStore vs, other;
  ASSERT_TRUE(VectorStore::Open(path, o, &vs).ok());
  ASSERT_TRUE(vs.Put("a", "va", Vec({1, 0, 0}), 0, Slice("{}")).ok());
  ASSERT_TRUE(VectorStore::Open(path, o, &other).ok());
  VectorStats st;
  ASSERT_TRUE(vs.GetStats(&st).ok());
  ASSERT_EQ(st.expansion_search, 77);  // before the drop: the real figures
  ASSERT_EQ(st.count, 1);
  ASSERT_TRUE(vs.DropIndex().ok());
  auto expect_empty = [](const VectorStats& s, const char* who) {
    EXPECT_TRUE(s.dropped) << who;
    EXPECT_EQ(s.dim, 0) << who;
    EXPECT_EQ(s.space, VectorSpace::kL2) << who;
    EXPECT_EQ(s.dtype, VectorDType::kF32) << who;
    EXPECT_EQ(s.connectivity, 0) << who;
    EXPECT_EQ(s.expansion_add, 0) << who;
    EXPECT_EQ(s.expansion_search, 0) << who;
    EXPECT_EQ(s.count, 0) << who;
    EXPECT_EQ(s.capacity, 0) << who;
    EXPECT_EQ(s.fill_ratio, 0) << who;
    EXPECT_EQ(s.vec_cf_count, 0) << who;
    EXPECT_FALSE(s.has_metadata) << who;
    EXPECT_EQ(s.index_memory_bytes, 0) << who;
    EXPECT_FALSE(s.loaded_from_sidecar) << who;
  };
  ASSERT_TRUE(vs.GetStats(&st).ok());
  expect_empty(st, "dropping handle");
  EXPECT_TRUE(st.sidecar_enabled);
  ASSERT_TRUE(other.GetStats(&st).ok());
  expect_empty(st, "other handle");
  ASSERT_TRUE(other.Close().ok());
  ASSERT_TRUE(vs.Close().ok());
  VectorOptions again = Opts(5);
  again.expansion_search = 200;
  ASSERT_TRUE(VectorStore::Open(path, again, &vs).ok());
  ASSERT_TRUE(vs.GetStats(&st).ok());
  expect_empty(st, "reopened");
  std::string value;
  ASSERT_TRUE(vs.Get("a", &value).ok());  // the values stay
  EXPECT_EQ(value, "va");
}

// --- 7: internal column families
// ----------------------------------------------

TEST(VectorEdge, InternalFamiliesAreHiddenAndNotCounted) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("cf.db");
  VectorStore vs;
  ASSERT_TRUE(VectorStore::Open(path, Opts(3), &vs).ok());
  ASSERT_TRUE(vs.Put("a", "v", Vec({1, 0, 0}), 0, Slice("{}")).ok());
  ASSERT_TRUE(vs.Put("b", "v", Vec({0, 1, 0}), 0, Slice("{\"m\":1}")).ok());
  snkv::Store store;
  ASSERT_TRUE(snkv::Store::Open(path, {}, &store).ok());
  std::vector<std::string> names;
  ASSERT_TRUE(store.ListColumnFamilies(&names).ok());
  EXPECT_EQ(names, std::vector<std::string>{"default"});
  // All 63 user families fit beside the vector store's.
  for (int i = 1; i < snkv::kMaxColumnFamilies; ++i) {
    snkv::ColumnFamily cf;
    Status s = store.CreateColumnFamily("cf" + std::to_string(i), &cf);
    ASSERT_TRUE(s.ok()) << i << ": " << s.ToString();
  }
  snkv::ColumnFamily extra;
  EXPECT_FALSE(store.CreateColumnFamily("one_too_many", &extra).ok());
  ASSERT_TRUE(store.ListColumnFamilies(&names).ok());
  EXPECT_EQ(names.size(), static_cast<size_t>(snkv::kMaxColumnFamilies));
  for (const std::string& n : names)
    EXPECT_EQ(n.rfind("_snkv_vec", 0), std::string::npos) << n;
  ASSERT_TRUE(store.Close().ok());
  // The vector store still works in the full file.
  ASSERT_TRUE(vs.Put("c", "v", Vec({0, 0, 1}), 0, Slice("{\"m\":2}")).ok());
  EXPECT_EQ(TopKeys(vs, {0, 0, 1}, 1), std::vector<std::string>{"c"});
}

// A plain store may not create or drop a family under one of the vector
// store's names: filled by the user, it would be read as the index's
// config, rows or log; dropped, it would cut a vector store's table out
// from under it. Opening one to read it stays allowed (tools, tests).
TEST(VectorEdge, PlainStoreCannotCreateOrDropInternalFamilies) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("cf.db");
  snkv::Store store;
  ASSERT_TRUE(snkv::Store::Open(path, {}, &store).ok());
  for (const char* name :
       {"_snkv_vec_", "_snkv_vec_meta_", "_snkv_vec_tags_", "_snkv_vec_log_"}) {
    snkv::ColumnFamily cf;
    Status s = store.CreateColumnFamily(name, &cf);
    EXPECT_EQ(s.code(), Code::kError) << name;
    EXPECT_NE(s.ToString().find("reserved for the vector store"),
              std::string::npos)
        << s.ToString();
    EXPECT_TRUE(store.OpenColumnFamily(name, &cf).IsNotFound()) << name;
  }
  // Names that only look alike are ordinary families.
  for (const char* name : {"_snkv_vec", "_snkv_vec_x_", "snkv_vec_"}) {
    snkv::ColumnFamily cf;
    EXPECT_TRUE(store.CreateColumnFamily(name, &cf).ok()) << name;
  }
  // With a vector store in the file, its families stay out of reach of
  // the plain handle's drop, and the store keeps working.
  VectorStore vs;
  ASSERT_TRUE(VectorStore::Open(path, Opts(3), &vs).ok());
  ASSERT_TRUE(vs.Put("a", "v", Vec({1, 0, 0}), 0, Slice("{\"m\":1}")).ok());
  for (const char* name :
       {"_snkv_vec_", "_snkv_vec_meta_", "_snkv_vec_tags_", "_snkv_vec_log_"}) {
    Status s = store.DropColumnFamily(name);
    EXPECT_EQ(s.code(), Code::kError) << name;
    EXPECT_NE(s.ToString().find("reserved for the vector store"),
              std::string::npos)
        << s.ToString();
    snkv::ColumnFamily cf;
    EXPECT_TRUE(store.OpenColumnFamily(name, &cf).ok()) << name;
  }
  ASSERT_TRUE(vs.Put("b", "v", Vec({0, 1, 0})).ok());
  EXPECT_EQ(TopKeys(vs, {0, 1, 0}, 1), std::vector<std::string>{"b"});
  std::optional<std::string> meta;
  ASSERT_TRUE(vs.GetMetadata("a", &meta).ok());
  EXPECT_EQ(meta, std::optional<std::string>("{\"m\":1}"));
  // The vector store's own drop still removes them.
  ASSERT_TRUE(vs.DropIndex().ok());
  snkv::ColumnFamily gone;
  EXPECT_TRUE(store.OpenColumnFamily("_snkv_vec_", &gone).IsNotFound());
  ASSERT_TRUE(vs.Close().ok());
  ASSERT_TRUE(store.Close().ok());
}

// --- 8: a handle further behind than the change log reaches
// --------------------

TEST(VectorEdge, HandleTenThousandCommitsBehindRebuilds) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("far.db");
  constexpr int kDim = 4, kCalls = 11000;
  VectorOptions o = Opts(kDim);
  o.store.sync_level = snkv::SyncLevel::kOff;
  VectorStore writer, reader;
  ASSERT_TRUE(VectorStore::Open(path, o, &writer).ok());
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(writer.Put("k" + std::to_string(i), "v", VecOf(i, kDim)).ok());
  ASSERT_TRUE(writer.SaveSidecar().ok());  // a sidecar at seq 100
  ASSERT_TRUE(VectorStore::Open(path, o, &reader).ok());
  ASSERT_EQ(TopKeys(reader, VecOf(5, kDim), 1), std::vector<std::string>{"k5"});
  // Over 10,500 commits, one per put or delete: entries the reader has not
  // seen are trimmed from the log (it keeps the newest ~10,000). Keys
  // cycle over 300 names so that overwrites and new keys both happen;
  // every 7th call deletes.
  VectorOptions no_sidecar = o;
  no_sidecar.sidecar = false;
  VectorStore bulk;
  ASSERT_TRUE(VectorStore::Open(path, no_sidecar, &bulk).ok());
  int commits = 0;
  for (int c = 0; c < kCalls; ++c) {
    const std::string key = "k" + std::to_string(c % 300);
    if (c % 7 == 6) {
      Status s = bulk.Delete(key);
      ASSERT_TRUE(s.ok() || s.IsNotFound()) << s.ToString();
      commits += s.ok();
    } else {
      ++commits;
      ASSERT_TRUE(bulk.Put(key, "v", VecOf(100000 + c, kDim)).ok());
    }
  }
  ASSERT_TRUE(bulk.Close().ok());
  ASSERT_GT(commits, 10000 + 256 + 100);
  // The final state: which keys exist, with which vector.
  std::vector<std::pair<std::string, int>> last(300, {"", -1});
  for (int c = 0; c < kCalls; ++c) {
    last[c % 300] = {"k" + std::to_string(c % 300), c % 7 == 6 ? -1 : c};
  }
  auto check = [&](VectorStore& vs, const char* who) {
    int64_t n = 0;
    Status s = vs.Count(&n);
    ASSERT_TRUE(s.ok()) << who << ": " << s.ToString();
    int64_t live = 0;
    for (int i = 0; i < 300; ++i) live += last[i].second >= 0;
    // k0..k99 are among the 300 cycled keys: the cycle decides every key.
    EXPECT_EQ(n, live) << who;
    for (int i = 0; i < 300; i += 13) {
      if (last[i].second < 0) continue;
      EXPECT_EQ(TopKeys(vs, VecOf(100000 + last[i].second, kDim), 1),
                std::vector<std::string>{last[i].first})
          << who << " key " << i;
    }
    std::vector<float> v;
    for (int i = 0; i < 300; ++i) {
      Status s = vs.GetVector("k" + std::to_string(i), &v);
      EXPECT_EQ(s.ok(), last[i].second >= 0) << who << " k" << i;
    }
  };
  check(reader, "live handle");
  // A sidecar as far behind (the writer's, at seq 100) is rebuilt too.
  ASSERT_TRUE(VectorStore::Open(path, o, &bulk).ok());
  VectorStats st;
  ASSERT_TRUE(bulk.GetStats(&st).ok());
  EXPECT_FALSE(st.loaded_from_sidecar);
  check(bulk, "reopened from an old sidecar");
}

// --- the filter-share sample
// --------------------------------------------------

TEST(VectorEdge, FilterShareSampleIsNotFooledByPeriodicFilters) {
  // A stride of slots / 256 sees only multiples of the stride: a filter
  // accepting exactly those looked like it accepted everything.
  for (uint32_t slots : {65536u, 65536u * 2, 25600u, 300000u}) {
    for (uint32_t period : {256u, 512u, slots / 256, 100u}) {
      const double share = snkv::vector::SampleShare(
          slots, [](uint32_t) { return true; },
          [&](uint32_t s) { return s % period == 0; });
      EXPECT_LT(share, 0.03) << slots << " / " << period;
      const double most = snkv::vector::SampleShare(
          slots, [](uint32_t) { return true; },
          [&](uint32_t s) { return s % period != 0; });
      EXPECT_GT(most, 0.9) << slots << " / " << period;
    }
  }
  // Dead slots are skipped, not counted as rejections.
  const double half = snkv::vector::SampleShare(
      100000, [](uint32_t s) { return s % 2 == 0; },
      [](uint32_t s) { return s % 4 == 0; });
  EXPECT_GT(half, 0.35);
  EXPECT_LT(half, 0.65);
  // No live slot at all: nothing to estimate from.
  EXPECT_EQ(
      snkv::vector::SampleShare(
          5000, [](uint32_t) { return false; }, [](uint32_t) { return false; }),
      1.0);
}

TEST(VectorEdge, FilterMatchingEvery256thItemReturnsTopK) {
  snkv::test::TempDir dir;
  constexpr int kDim = 4, kN = 3 * 1024;  // above the exact-scan size
  VectorOptions o = Opts(kDim);
  o.store.sync_level = snkv::SyncLevel::kOff;
  VectorStore vs;
  ASSERT_TRUE(VectorStore::Open(dir.file("p.db"), o, &vs).ok());
  std::vector<std::vector<float>> vecs;
  std::vector<std::string> keys;
  for (int i = 0; i < kN; ++i) {
    vecs.push_back(VecOf(i, kDim));
    keys.push_back(std::to_string(i));
  }
  std::vector<VectorItem> items;
  for (int i = 0; i < kN; ++i) items.push_back({keys[i], "v", vecs[i].data()});
  ASSERT_TRUE(vs.PutBatch(items).ok());
  SearchOptions so;
  so.top_k = 10;
  so.filter = [](Slice key, const Slice*) {
    return std::stoi(key.ToString()) % 256 == 0;
  };
  std::vector<KeyHit> hits;
  ASSERT_TRUE(vs.SearchKeys(VecOf(7, kDim), so, &hits).ok());
  ASSERT_EQ(hits.size(), 10u);
  // Exactly the ten nearest of the 12 matching items.
  std::vector<std::pair<float, std::string>> truth;
  const auto q = VecOf(7, kDim);
  for (int i = 0; i < kN; i += 256) {
    float d = 0;
    for (int j = 0; j < kDim; ++j)
      d += (vecs[i][j] - q[j]) * (vecs[i][j] - q[j]);
    truth.emplace_back(d, keys[i]);
  }
  std::sort(truth.begin(), truth.end());
  for (size_t i = 0; i < hits.size(); ++i)
    EXPECT_EQ(hits[i].key, truth[i].second);
}

}  // namespace
