// Search quality of the vector store against exact search: every space and
// dtype, filters against a brute-force filter, the distance kernels against
// the portable ones, the JSON field filter, and parallel searches.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "snkv/snkv.h"
#include "test_util.h"
#include "vector/distance.h"
#include "vector/json_match.h"

namespace {

using snkv::SearchHit;
using snkv::SearchOptions;
using snkv::Slice;
using snkv::VectorDType;
using snkv::VectorItem;
using snkv::VectorOptions;
using snkv::VectorSpace;
using snkv::VectorStore;

std::vector<float> RandomRows(size_t n, size_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0, 1);
  std::vector<float> v(n * dim);
  for (float& x : v) x = g(rng);
  return v;
}

float Exact(VectorSpace space, const float* a, const float* b, size_t dim) {
  double dot = 0, na = 0, nb = 0, l2 = 0;
  for (size_t i = 0; i < dim; ++i) {
    dot += double{a[i]} * b[i];
    na += double{a[i]} * a[i];
    nb += double{b[i]} * b[i];
    l2 += (double{a[i]} - b[i]) * (double{a[i]} - b[i]);
  }
  switch (space) {
    case VectorSpace::kL2:
      return static_cast<float>(l2);
    case VectorSpace::kIp:
      return static_cast<float>(-dot);
    case VectorSpace::kCosine:
      return static_cast<float>(1 - dot / std::sqrt(na * nb));
  }
  return 0;
}

std::string Key(size_t i) { return "k" + std::to_string(i); }

// Exact top-k keys of `q` among rows accepted by `keep`.
std::vector<std::string> ExactTop(
    VectorSpace space, const std::vector<float>& rows, size_t dim,
    const float* q, size_t k, const std::function<bool(size_t)>& keep = {}) {
  std::vector<std::pair<float, size_t>> d;
  for (size_t i = 0; i < rows.size() / dim; ++i) {
    if (keep && !keep(i)) continue;
    d.emplace_back(Exact(space, q, rows.data() + i * dim, dim), i);
  }
  std::sort(d.begin(), d.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < std::min(k, d.size()); ++i)
    out.push_back(Key(d[i].second));
  return out;
}

void Load(VectorStore* vs, const std::vector<float>& rows, size_t dim,
          const std::vector<std::string>* metas = nullptr) {
  std::vector<VectorItem> items;
  std::vector<std::string> keys(rows.size() / dim);
  for (size_t i = 0; i < keys.size(); ++i) {
    keys[i] = Key(i);
    VectorItem it{keys[i], "v", rows.data() + i * dim, {}};
    if (metas) it.metadata = Slice((*metas)[i]);
    items.push_back(it);
  }
  snkv::Status s = vs->PutBatch(items);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

struct Case {
  VectorSpace space;
  VectorDType dtype;
};

class Differential : public ::testing::TestWithParam<Case> {};

TEST_P(Differential, MatchesExactSearch) {
  const Case c = GetParam();
  constexpr size_t kDim = 32, kN = 2000, kQueries = 50, kK = 10;
  snkv::test::TempDir dir;
  VectorOptions o;
  o.dim = kDim;
  o.space = c.space;
  o.dtype = c.dtype;
  VectorStore vs;
  ASSERT_TRUE(VectorStore::Open(dir.file("d.db"), o, &vs).ok());
  const std::vector<float> rows = RandomRows(kN, kDim, 7);
  Load(&vs, rows, kDim);

  // The top-1 of a stored vector is itself.
  for (size_t i = 0; i < kN; i += 97) {
    std::vector<snkv::KeyHit> hits;
    SearchOptions so;
    so.top_k = 1;
    ASSERT_TRUE(vs.SearchKeys({rows.data() + i * kDim, kDim}, so, &hits).ok());
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].key, Key(i));
  }
  // Recall@10 on random queries, with and without rerank.
  const std::vector<float> queries = RandomRows(kQueries, kDim, 99);
  for (bool rerank : {false, true}) {
    size_t found = 0;
    for (size_t q = 0; q < kQueries; ++q) {
      const float* qv = queries.data() + q * kDim;
      auto truth = ExactTop(c.space, rows, kDim, qv, kK);
      std::vector<SearchHit> hits;
      SearchOptions so;
      so.top_k = kK;
      so.rerank = rerank;
      ASSERT_TRUE(vs.Search({qv, kDim}, so, &hits).ok());
      ASSERT_EQ(hits.size(), kK);
      std::set<std::string> got;
      for (const auto& h : hits) got.insert(h.key);
      for (const auto& t : truth) found += got.count(t);
      for (size_t i = 1; i < hits.size(); ++i) {
        EXPECT_LE(hits[i - 1].distance, hits[i].distance + 1e-6f);
      }
      if (rerank) {  // exact distances after rerank
        EXPECT_NEAR(
            hits[0].distance,
            Exact(c.space, qv,
                  rows.data() + std::stoul(hits[0].key.substr(1)) * kDim, kDim),
            1e-3f * (1 + std::fabs(hits[0].distance)));
      }
    }
    const double recall = static_cast<double>(found) / (kQueries * kK);
    EXPECT_GE(recall, 0.95) << "rerank=" << rerank;
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllSpacesAndDtypes, Differential,
    ::testing::Values(Case{VectorSpace::kL2, VectorDType::kF32},
                      Case{VectorSpace::kL2, VectorDType::kF16},
                      Case{VectorSpace::kL2, VectorDType::kI8},
                      Case{VectorSpace::kCosine, VectorDType::kF32},
                      Case{VectorSpace::kCosine, VectorDType::kF16},
                      Case{VectorSpace::kCosine, VectorDType::kI8},
                      Case{VectorSpace::kIp, VectorDType::kF32},
                      Case{VectorSpace::kIp, VectorDType::kF16},
                      Case{VectorSpace::kIp, VectorDType::kI8}));

// Filters at several selectivities return the exact filtered top-k (the
// small and selective cases are scanned exactly), and always top_k hits
// when at least top_k items match.
TEST(VectorFilter, AgreesWithBruteForce) {
  constexpr size_t kDim = 16, kN = 3000, kK = 10;
  snkv::test::TempDir dir;
  VectorOptions o;
  o.dim = kDim;
  VectorStore vs;
  ASSERT_TRUE(VectorStore::Open(dir.file("f.db"), o, &vs).ok());
  const std::vector<float> rows = RandomRows(kN, kDim, 3);
  std::vector<std::string> metas(kN);
  for (size_t i = 0; i < kN; ++i) {
    metas[i] = "{\"mod\":" + std::to_string(i % 100) +
               ",\"even\":" + (i % 2 ? "false" : "true") + "}";
  }
  Load(&vs, rows, kDim, &metas);
  const std::vector<float> queries = RandomRows(20, kDim, 5);
  struct Sel {
    std::string json;
    std::function<bool(size_t)> keep;
  };
  const std::vector<Sel> sels = {
      {R"({"even":true})", [](size_t i) { return i % 2 == 0; }},  // 50%
      {R"({"mod":7})", [](size_t i) { return i % 100 == 7; }},    // 1%
      {R"({"mod":7,"even":false})",
       [](size_t i) { return i % 100 == 7 && i % 2; }},
      {R"({"mod":3.0})", [](size_t i) { return i % 100 == 3; }},  // 3 == 3.0
      {R"({"missing":1})", [](size_t) { return false; }},
  };
  for (const Sel& sel : sels) {
    size_t found = 0, total = 0;
    for (size_t q = 0; q < 20; ++q) {
      const float* qv = queries.data() + q * kDim;
      auto truth = ExactTop(VectorSpace::kL2, rows, kDim, qv, kK, sel.keep);
      for (int form = 0; form < 2; ++form) {
        SearchOptions so;
        so.top_k = kK;
        if (form == 0) {
          so.json_filter = sel.json;
        } else {
          so.filter = [&](Slice key, const Slice* meta) {
            EXPECT_NE(meta, nullptr);
            return sel.keep(std::stoul(key.ToString().substr(1)));
          };
        }
        std::vector<SearchHit> hits;
        ASSERT_TRUE(vs.Search({qv, kDim}, so, &hits).ok());
        ASSERT_EQ(hits.size(), truth.size()) << sel.json;
        std::set<std::string> got;
        for (const auto& h : hits) {
          got.insert(h.key);
          EXPECT_TRUE(sel.keep(std::stoul(h.key.substr(1)))) << sel.json;
        }
        for (const auto& t : truth) found += got.count(t);
        total += truth.size();
      }
    }
    if (total > 0) {
      EXPECT_GE(static_cast<double>(found) / static_cast<double>(total), 0.95)
          << sel.json;
    }
  }
}

// A filter that accepts exactly top_k items scattered far from the query
// still yields all of them.
TEST(VectorFilter, SelectiveFilterReturnsTopK) {
  constexpr size_t kDim = 8, kN = 5000;
  VectorOptions o;
  o.dim = kDim;
  VectorStore vs;
  ASSERT_TRUE(VectorStore::Open(":memory:", o, &vs).ok());
  const std::vector<float> rows = RandomRows(kN, kDim, 11);
  Load(&vs, rows, kDim);
  for (size_t every : {500u, 50u, 20u}) {
    SearchOptions so;
    so.top_k = 10;
    so.filter = [&](Slice key, const Slice*) {
      return std::stoul(key.ToString().substr(1)) % every == 0;
    };
    std::vector<SearchHit> hits;
    ASSERT_TRUE(vs.Search({rows.data(), kDim}, so, &hits).ok());
    EXPECT_EQ(hits.size(), 10u) << every;
  }
}

TEST(VectorKernels, AgreeWithPortableLoops) {
  using snkv::vector::GenericKernels;
  using snkv::vector::Kernels;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-2, 2);
  for (size_t n : {1u, 7u, 8u, 15u, 16u, 17u, 100u, 784u}) {
    std::vector<float> a(n), b(n);
    std::vector<uint16_t> h(n);
    std::vector<int8_t> x(n), y(n);
    for (size_t i = 0; i < n; ++i) {
      a[i] = u(rng);
      b[i] = u(rng);
      h[i] = snkv::vector::FloatToHalf(b[i]);
      x[i] = static_cast<int8_t>(rng() % 255 - 127);
      y[i] = static_cast<int8_t>(rng() % 255 - 127);
    }
    const auto& k = Kernels();
    const auto& g = GenericKernels();
    const float tol = 1e-4f * static_cast<float>(n);
    EXPECT_NEAR(k.l2sq_f32(a.data(), b.data(), n),
                g.l2sq_f32(a.data(), b.data(), n), tol);
    EXPECT_NEAR(k.dot_f32(a.data(), b.data(), n),
                g.dot_f32(a.data(), b.data(), n), tol);
    EXPECT_NEAR(k.l2sq_f16(a.data(), h.data(), n),
                g.l2sq_f16(a.data(), h.data(), n), tol);
    EXPECT_NEAR(k.dot_f16(a.data(), h.data(), n),
                g.dot_f16(a.data(), h.data(), n), tol);
    EXPECT_EQ(k.dot_i8(x.data(), y.data(), n), g.dot_i8(x.data(), y.data(), n));
    std::vector<float> fa(n), fb(n);
    k.half_to_float(h.data(), fa.data(), n);
    g.half_to_float(h.data(), fb.data(), n);
    EXPECT_EQ(fa, fb);
  }
}

TEST(VectorKernels, HalfConversionRoundTrips) {
  using snkv::vector::FloatToHalf;
  using snkv::vector::HalfToFloat;
  for (float f :
       {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035e-05f, 5.96e-08f, 0.333333f}) {
    EXPECT_NEAR(HalfToFloat(FloatToHalf(f)), f, std::fabs(f) * 1e-3f + 6e-8f)
        << f;
  }
  EXPECT_TRUE(std::isinf(HalfToFloat(FloatToHalf(1e6f))));
  // Every half that is a number survives half -> float -> half.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;  // NaN payloads
    EXPECT_EQ(FloatToHalf(HalfToFloat(static_cast<uint16_t>(h))), h);
  }
}

TEST(VectorJson, FieldEquality) {
  snkv::vector::JsonMatch m;
  std::string err;
  ASSERT_TRUE(m.Parse(R"({"a": "x", "n": 1, "o": {"p": [1, 2]}})", &err));
  auto match = [&](std::string_view meta) { return m.Matches(&meta); };
  EXPECT_TRUE(
      match(R"({"n": 1.0, "o": {"p": [1, 2.0]}, "a": "x", "extra": null})"));
  EXPECT_TRUE(match(R"({"a":"\u0078","n":1e0,"o":{"p":[1,2]}})"));
  EXPECT_FALSE(match(R"({"a": "x", "n": 2, "o": {"p": [1, 2]}})"));
  EXPECT_FALSE(match(R"({"a": "x", "n": 1, "o": {"p": [2, 1]}})"));
  EXPECT_FALSE(match(R"({"a": "x", "n": 1})"));
  EXPECT_FALSE(match("[1, 2]"));
  EXPECT_FALSE(match("{broken"));
  EXPECT_FALSE(m.Matches(nullptr));
  EXPECT_FALSE(m.Parse("[1]", &err));
  EXPECT_FALSE(m.Parse("{\"a\": }", &err));
  EXPECT_FALSE(m.Parse(std::string(100, '['), &err));
  // Deep nesting is refused, not a stack overflow.
  std::string deep =
      "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_FALSE(m.Parse(deep, &err));
  EXPECT_FALSE(snkv::vector::IsValidJson(deep));
  EXPECT_TRUE(
      snkv::vector::IsValidJson(R"({"k": [true, false, null, -0.5e-3, "s"]})"));
  EXPECT_FALSE(snkv::vector::IsValidJson("01"));
  EXPECT_FALSE(snkv::vector::IsValidJson("\"unterminated"));
  snkv::vector::JsonMatch empty;
  ASSERT_TRUE(empty.Parse("{}", &err));
  EXPECT_TRUE(empty.Matches(nullptr));
}

// Several threads search one handle while another writes: every search
// succeeds and sees a consistent index; the writer's vectors become visible.
TEST(VectorThreads, ParallelSearchesBesideAWriter) {
  constexpr size_t kDim = 16;
  snkv::test::TempDir dir;
  VectorOptions o;
  o.dim = kDim;
  VectorStore vs;
  ASSERT_TRUE(VectorStore::Open(dir.file("t.db"), o, &vs).ok());
  const std::vector<float> rows = RandomRows(1500, kDim, 21);
  std::vector<float> first(rows.begin(), rows.begin() + 1000 * kDim);
  Load(&vs, first, kDim);
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, searches{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      size_t i = static_cast<size_t>(t);
      while (!stop) {
        std::vector<SearchHit> hits;
        SearchOptions so;
        so.top_k = 1;
        const size_t row = (i++ * 37) % 1000;
        if (!vs.Search({rows.data() + row * kDim, kDim}, so, &hits).ok() ||
            hits.size() != 1 || hits[0].key != Key(row)) {
          ++failures;
        }
        ++searches;
      }
    });
  }
  for (size_t i = 1000; i < 1500; ++i) {
    ASSERT_TRUE(vs.Put(Key(i), "v", {rows.data() + i * kDim, kDim}).ok());
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_GT(searches, 0);
  for (size_t i = 1000; i < 1500; i += 50) {
    std::vector<SearchHit> hits;
    SearchOptions so;
    so.top_k = 1;
    ASSERT_TRUE(vs.Search({rows.data() + i * kDim, kDim}, so, &hits).ok());
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].key, Key(i));
  }
}

// Deletes and re-inserts reuse slots: the graph does not grow, and search
// quality holds.
TEST(VectorSlots, ChurnReusesSlots) {
  constexpr size_t kDim = 8, kN = 1500;
  VectorOptions o;
  o.dim = kDim;
  VectorStore vs;
  ASSERT_TRUE(VectorStore::Open(":memory:", o, &vs).ok());
  std::vector<float> rows = RandomRows(kN, kDim, 31);
  Load(&vs, rows, kDim);
  snkv::VectorStats st;
  ASSERT_TRUE(vs.GetStats(&st).ok());
  const int64_t cap = st.capacity;
  std::vector<float> fresh = RandomRows(kN, kDim, 32);
  for (size_t round = 0; round < 3; ++round) {
    for (size_t i = round; i < kN; i += 3) {
      ASSERT_TRUE(vs.Delete(Key(i)).ok());
    }
    for (size_t i = round; i < kN; i += 3) {
      std::copy_n(fresh.begin() + i * kDim, kDim, rows.begin() + i * kDim);
      ASSERT_TRUE(vs.Put(Key(i), "v", {rows.data() + i * kDim, kDim}).ok());
    }
  }
  ASSERT_TRUE(vs.GetStats(&st).ok());
  EXPECT_EQ(st.count, static_cast<int64_t>(kN));
  EXPECT_LE(st.capacity, cap + 1);  // the entry point's slot is never reused
  size_t found = 0;
  for (size_t i = 0; i < kN; i += 15) {
    std::vector<snkv::KeyHit> hits;
    SearchOptions so;
    so.top_k = 1;
    ASSERT_TRUE(vs.SearchKeys({rows.data() + i * kDim, kDim}, so, &hits).ok());
    found += hits.size() == 1 && hits[0].key == Key(i);
  }
  EXPECT_GE(found, 95u);  // of 100
}

}  // namespace
