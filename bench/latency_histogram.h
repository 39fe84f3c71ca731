// latency_histogram.h -- per-operation latencies in log-spaced buckets, in
// the manner of HdrHistogram: every power of two is split into 32 equal
// buckets, so any recorded value is known to within about 3 % whatever its
// size, from nanoseconds to minutes, in a fixed 15 KiB table.
//
// Workloads record one latency per operation (Stopwatch below: one
// clock_gettime per operation), report percentiles, and send the table to
// the parent process as text (encode/decode) so that it can merge the
// runs of a store and plot the distribution.
#ifndef SNKV_BENCH_LATENCY_HISTOGRAM_H
#define SNKV_BENCH_LATENCY_HISTOGRAM_H

#include <time.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

class LatencyHistogram {
 public:
  // Buckets per power of two is 2^kSubBits.
  static constexpr int kSubBits = 5;
  static constexpr size_t kSub = size_t{1} << kSubBits;
  // Values below kSub have a bucket each; each power of two from kSub up
  // to 2^63 has kSub buckets.
  static constexpr size_t kBuckets = kSub * (64 - kSubBits + 1);

  LatencyHistogram() : counts_(kBuckets, 0) {}

  // Adds one value (nanoseconds).
  void record(uint64_t ns) {
    ++counts_[bucket_of(ns)];
    ++count_;
    if (ns > max_) max_ = ns;
    if (ns < min_) min_ = ns;
  }
  // Adds every value recorded in other.
  void merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  // Exact largest and smallest values recorded (0 when empty).
  uint64_t max() const { return max_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  // The value below or at which q percent of the values lie (q in
  // [0, 100]): the upper end of the bucket holding that rank, clamped to
  // [min(), max()], so it overstates by at most one bucket width (~3 %).
  // 0 when empty.
  uint64_t percentile(double q) const;

  // The bucket a value falls in, and the range of values of a bucket.
  static size_t bucket_of(uint64_t ns);
  static uint64_t bucket_lower(size_t bucket);
  static uint64_t bucket_upper(size_t bucket);
  // Values in bucket b.
  uint64_t bucket_count(size_t b) const { return counts_[b]; }

  // A compact text form without tabs or newlines: "min max b:n b:n ...",
  // nonempty buckets only; "" when empty.
  std::string encode() const;
  // Parses encode()'s output into *out (replacing it); false, leaving
  // *out empty, on malformed text.
  static bool decode(std::string_view text, LatencyHistogram* out);

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
};

// Times consecutive operations with one clock read each: lap() returns the
// nanoseconds since the previous lap() (or construction). The latency of
// an operation thus includes the loop's own per-operation work (forming
// the key, checking the result: tens of nanoseconds, the same for every
// store).
class Stopwatch {
 public:
  Stopwatch() : last_(now_ns()) {}
  uint64_t lap() {
    const uint64_t t = now_ns();
    const uint64_t d = t - last_;
    last_ = t;
    return d;
  }
  // Starts the next lap now (to leave untimed work out).
  void restart() { last_ = now_ns(); }

  static uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000u +
           static_cast<uint64_t>(ts.tv_nsec);
  }

 private:
  uint64_t last_;
};

}  // namespace bench

#endif  // SNKV_BENCH_LATENCY_HISTOGRAM_H
