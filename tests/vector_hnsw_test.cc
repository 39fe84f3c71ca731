// The HNSW graph on its own (src/vector/hnsw.h): recall against exact
// search for every dtype, searches nested inside another search's filter
// (the per-thread walk buffers must not be shared between the two), the
// sidecar serialisation round trip, and slot reuse after removal.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "vector/bytes.h"
#include "vector/codec.h"
#include "vector/hnsw.h"

namespace {

using snkv::vector::ByteReader;
using snkv::vector::ByteWriter;
using snkv::vector::Codec;
using snkv::vector::DType;
using snkv::vector::Hnsw;
using snkv::vector::Neighbor;
using snkv::vector::PreparedQuery;
using snkv::vector::Space;

constexpr size_t kDim = 24;

std::vector<float> RandomRows(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0, 1);
  std::vector<float> v(n * kDim);
  for (float& x : v) x = g(rng);
  return v;
}

// Exact top k slots of q among rows (squared L2), nearest first.
std::vector<uint32_t> ExactTopK(const std::vector<float>& rows, const float* q,
                                size_t k) {
  std::vector<std::pair<float, uint32_t>> all;
  for (uint32_t i = 0; i < rows.size() / kDim; ++i) {
    float d = 0;
    for (size_t j = 0; j < kDim; ++j) {
      const float x = rows[i * kDim + j] - q[j];
      d += x * x;
    }
    all.emplace_back(d, i);
  }
  std::partial_sort(all.begin(), all.begin() + static_cast<long>(k), all.end());
  std::vector<uint32_t> out;
  for (size_t i = 0; i < k; ++i) out.push_back(all[i].second);
  return out;
}

std::vector<Neighbor> Search(const Hnsw& g, const Codec& c, const float* q,
                             size_t k, size_t ef,
                             const std::function<bool(uint32_t)>& accept = {}) {
  PreparedQuery pq;
  c.Prepare(q, &pq);
  std::vector<Neighbor> out;
  EXPECT_TRUE(g.Search(pq, k, ef, accept, &out));
  return out;
}

class HnswRecall : public ::testing::TestWithParam<DType> {};

// Recall@10 against exact search on 2,000 random points, and results
// sorted nearest first without duplicates.
TEST_P(HnswRecall, MatchesExactSearch) {
  Codec codec(kDim, Space::kL2, GetParam());
  Hnsw g(&codec, 16, 100);
  const std::vector<float> rows = RandomRows(2000, 7);
  for (size_t i = 0; i < 2000; ++i) {
    EXPECT_EQ(g.Insert(rows.data() + i * kDim), i);
  }
  const std::vector<float> queries = RandomRows(100, 8);
  size_t hit = 0;
  for (size_t q = 0; q < 100; ++q) {
    const float* qv = queries.data() + q * kDim;
    const auto got = Search(g, codec, qv, 10, 64);
    ASSERT_EQ(got.size(), 10u);
    std::set<uint32_t> seen;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(seen.insert(got[i].second).second);
      if (i > 0) {
        EXPECT_LE(got[i - 1].first, got[i].first);
      }
    }
    for (uint32_t s : ExactTopK(rows, qv, 10)) hit += seen.count(s);
  }
  EXPECT_GE(static_cast<double>(hit) / 1000.0,
            GetParam() == DType::kI8 ? 0.90 : 0.95);
  // An indexed vector finds itself first.
  for (size_t i = 0; i < 2000; i += 97) {
    EXPECT_EQ(Search(g, codec, rows.data() + i * kDim, 1, 32)[0].second, i);
  }
}

INSTANTIATE_TEST_SUITE_P(AllDtypes, HnswRecall,
                         ::testing::Values(DType::kF32, DType::kF16,
                                           DType::kI8));

// A filter that itself searches another graph (a callback using a second
// store) must leave the outer walk's results intact.
TEST(Hnsw, SearchNestedInFilterKeepsOuterResults) {
  Codec small(kDim, Space::kL2, DType::kF32);
  Codec wide(kDim, Space::kL2, DType::kF16);
  Hnsw outer(&small, 8, 64);
  Hnsw inner(&wide, 24, 64);  // larger lists: larger walk buffers
  const std::vector<float> rows = RandomRows(1500, 11);
  for (size_t i = 0; i < 1500; ++i) {
    outer.Insert(rows.data() + i * kDim);
    inner.Insert(rows.data() + i * kDim);
  }
  const std::vector<float> queries = RandomRows(20, 12);
  for (size_t q = 0; q < 20; ++q) {
    const float* qv = queries.data() + q * kDim;
    auto even = [](uint32_t s) { return s % 2 == 0; };
    const auto plain = Search(outer, small, qv, 10, 64, even);
    size_t nested_calls = 0;
    const auto nested = Search(outer, small, qv, 10, 64, [&](uint32_t s) {
      ++nested_calls;
      EXPECT_EQ(Search(inner, wide, rows.data() + s * kDim, 3, 32).size(), 3u);
      return s % 2 == 0;
    });
    EXPECT_GT(nested_calls, 0u);
    EXPECT_EQ(nested, plain) << "query " << q;
    for (const Neighbor& n : nested) EXPECT_EQ(n.second % 2, 0u);
  }
}

// Serialize then Deserialize gives a graph answering exactly the same,
// and inserting into the loaded graph (which grows it) keeps it working.
TEST(Hnsw, SerializeRoundTripAnswersTheSame) {
  for (DType dt : {DType::kF32, DType::kF16, DType::kI8}) {
    Codec codec(kDim, Space::kCosine, dt);
    Hnsw g(&codec, 12, 80);
    const std::vector<float> rows = RandomRows(800, 21);
    for (size_t i = 0; i < 800; ++i) g.Insert(rows.data() + i * kDim);
    for (uint32_t s = 0; s < 800; s += 7) g.Remove(s);
    std::string bytes;
    ByteWriter w(&bytes);
    g.Serialize(&w);
    Hnsw copy(&codec, 12, 80);
    ByteReader r(bytes.data(), bytes.size());
    ASSERT_TRUE(copy.Deserialize(&r));
    EXPECT_EQ(copy.live(), g.live());
    EXPECT_EQ(copy.slots(), g.slots());
    const std::vector<float> queries = RandomRows(30, 22);
    for (size_t q = 0; q < 30; ++q) {
      const float* qv = queries.data() + q * kDim;
      EXPECT_EQ(Search(copy, codec, qv, 10, 40), Search(g, codec, qv, 10, 40));
    }
    // Same bytes again: nothing lost or reordered.
    std::string again;
    ByteWriter w2(&again);
    copy.Serialize(&w2);
    EXPECT_EQ(again, bytes);
    // A truncated image is rejected.
    Hnsw bad(&codec, 12, 80);
    ByteReader cut(bytes.data(), bytes.size() / 2);
    EXPECT_FALSE(bad.Deserialize(&cut));
    const std::vector<float> more = RandomRows(300, 23);
    for (size_t i = 0; i < 300; ++i) copy.Insert(more.data() + i * kDim);
    for (size_t i = 0; i < 300; i += 37) {
      const auto hit = Search(copy, codec, more.data() + i * kDim, 1, 32);
      ASSERT_EQ(hit.size(), 1u);
      EXPECT_NEAR(hit[0].first, 0.0f, 0.02f);
    }
  }
}

// Removed slots are never returned, are reused by later inserts, and the
// graph still finds every live vector.
TEST(Hnsw, RemovedSlotsAreHiddenAndReused) {
  Codec codec(kDim, Space::kL2, DType::kF32);
  Hnsw g(&codec, 8, 64);
  const std::vector<float> rows = RandomRows(600, 31);
  for (size_t i = 0; i < 600; ++i) g.Insert(rows.data() + i * kDim);
  for (uint32_t s = 1; s < 600; s += 2) g.Remove(s);
  EXPECT_EQ(g.live(), 300u);
  for (size_t i = 0; i < 600; i += 5) {
    for (const Neighbor& n : Search(g, codec, rows.data() + i * kDim, 10, 64)) {
      EXPECT_TRUE(g.is_live(n.second));
      EXPECT_EQ(n.second % 2, 0u);
    }
  }
  const std::vector<float> more = RandomRows(200, 32);
  for (size_t i = 0; i < 200; ++i) {
    EXPECT_LT(g.Insert(more.data() + i * kDim), 600u);  // a freed slot
  }
  EXPECT_EQ(g.slots(), 600u);
  for (size_t i = 0; i < 200; ++i) {
    const auto hit = Search(g, codec, more.data() + i * kDim, 1, 64);
    ASSERT_EQ(hit.size(), 1u);
    EXPECT_EQ(hit[0].first, 0.0f) << i;
  }
}

}  // namespace
