// LatencyHistogram: bucket bounds, percentiles against exact ones, merging
// and the text form the benchmark's child sends its parent.
#include "latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace bench {
namespace {

TEST(LatencyHistogram, BucketsCoverEveryValueWithinThreePercent) {
  size_t previous = 0;
  for (uint64_t v :
       {uint64_t{0}, uint64_t{1}, uint64_t{31}, uint64_t{32}, uint64_t{33},
        uint64_t{63}, uint64_t{64}, uint64_t{1000}, uint64_t{123456789},
        uint64_t{1} << 40, UINT64_MAX - 1, UINT64_MAX}) {
    const size_t b = LatencyHistogram::bucket_of(v);
    ASSERT_LT(b, LatencyHistogram::kBuckets) << v;
    EXPECT_GE(b, previous) << v;  // monotonic in the value
    previous = b;
    EXPECT_LE(LatencyHistogram::bucket_lower(b), v);
    EXPECT_GE(LatencyHistogram::bucket_upper(b), v);
    const uint64_t width =
        LatencyHistogram::bucket_upper(b) - LatencyHistogram::bucket_lower(b);
    EXPECT_LE(static_cast<double>(width), 0.0313 * static_cast<double>(v) + 1)
        << v;
  }
  // Consecutive buckets tile the values without gaps or overlaps.
  for (size_t b = 0; b + 1 < LatencyHistogram::kBuckets; ++b) {
    ASSERT_EQ(LatencyHistogram::bucket_upper(b) + 1,
              LatencyHistogram::bucket_lower(b + 1))
        << b;
  }
  EXPECT_EQ(LatencyHistogram::bucket_upper(LatencyHistogram::kBuckets - 1),
            UINT64_MAX);
}

TEST(LatencyHistogram, PercentilesMatchExactOnesWithinABucket) {
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> latency(8.0, 1.5);  // ~3 us median
  std::vector<uint64_t> values;
  LatencyHistogram h;
  for (int i = 0; i < 100000; ++i) {
    const auto v = static_cast<uint64_t>(latency(rng));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  EXPECT_EQ(h.count(), values.size());
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.max(), values.back());
  for (double q : {0.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
    // The rank by the usual definition, computed in integers.
    const size_t n = values.size();
    const auto tenths = static_cast<size_t>(std::llround(q * 10));
    const size_t rank = std::max<size_t>(1, (tenths * n + 999) / 1000);
    const uint64_t exact = values[rank - 1];
    const uint64_t got = h.percentile(q);
    EXPECT_GE(got, exact) << q;  // never understates
    EXPECT_LE(static_cast<double>(got), exact * 1.0313 + 1) << q;
  }
  EXPECT_EQ(h.percentile(100), h.max());
  EXPECT_EQ(LatencyHistogram().percentile(50), 0u);
}

TEST(LatencyHistogram, OneHugeStallIsItsMaxAndNotItsMedian) {
  LatencyHistogram h;
  for (int i = 0; i < 999; ++i) h.record(1000);
  h.record(50'000'000);  // one 50 ms stall in 1000 operations
  EXPECT_LE(h.percentile(50), 1031u);
  EXPECT_LE(h.percentile(99.9), 1031u);
  EXPECT_EQ(h.max(), 50'000'000u);
  h.record(50'000'000);  // two in 1001: now past the 99.9th percentile
  EXPECT_GE(h.percentile(99.9), 50'000'000u);
}

TEST(LatencyHistogram, MergeAddsCountsAndKeepsTheExtremes) {
  LatencyHistogram a, b;
  a.record(10);
  a.record(2000);
  b.record(5);
  b.record(900000);
  b.merge(LatencyHistogram());  // merging nothing changes nothing
  a.merge(b);
  EXPECT_EQ(a.count(), 4u);
  EXPECT_EQ(a.min(), 5u);
  EXPECT_EQ(a.max(), 900000u);
  EXPECT_EQ(a.percentile(50), 10u);
}

TEST(LatencyHistogram, TextFormRoundTripsAndRejectsGarbage) {
  LatencyHistogram h;
  for (uint64_t v : {3u, 3u, 700u, 65000u, 4000000u}) h.record(v);
  LatencyHistogram back;
  ASSERT_TRUE(LatencyHistogram::decode(h.encode(), &back));
  EXPECT_EQ(back.count(), h.count());
  EXPECT_EQ(back.min(), 3u);
  EXPECT_EQ(back.max(), 4000000u);
  for (double q : {10.0, 50.0, 90.0, 100.0})
    EXPECT_EQ(back.percentile(q), h.percentile(q));
  EXPECT_EQ(h.encode().find('\t'), std::string::npos);
  EXPECT_EQ(h.encode().find('\n'), std::string::npos);

  ASSERT_TRUE(LatencyHistogram::decode("", &back));  // nothing recorded
  EXPECT_TRUE(back.empty());
  for (const char* bad :
       {"x", "5", "5 4 3:1",                     // min above max
        "1 9", "1 9 ",                           // no buckets
        "1 9 3", "1 9 3:", "1 9 :1", "1 9 3:0",  // malformed or empty bucket
        "1 9 99999:1",                           // no such bucket
        "1 9 500:1",                             // bucket outside [min, max]
        "1 9 3:1 x", "1 9 3:-1", "-1 9 3:1"}) {
    back.record(1);
    EXPECT_FALSE(LatencyHistogram::decode(bad, &back)) << bad;
    EXPECT_TRUE(back.empty()) << bad;
  }
}

TEST(LatencyHistogram, StopwatchLapsAddUpToTheElapsedTime) {
  const uint64_t start = Stopwatch::now_ns();
  Stopwatch watch;
  uint64_t sum = 0;
  for (int i = 0; i < 1000; ++i) sum += watch.lap();
  const uint64_t elapsed = Stopwatch::now_ns() - start;
  EXPECT_LE(sum, elapsed);
  EXPECT_GT(sum, 0u);
}

}  // namespace
}  // namespace bench
