// latency_histogram.cc -- bucket arithmetic, percentiles and the text
// form of LatencyHistogram (see latency_histogram.h).
#include "latency_histogram.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace bench {

// Values below kSub map to themselves. A larger value with its highest bit
// at position e keeps its top kSubBits + 1 bits m (kSub <= m < 2 kSub);
// the powers of two above kSub each take the next kSub buckets.
size_t LatencyHistogram::bucket_of(uint64_t ns) {
  if (ns < kSub) return static_cast<size_t>(ns);
  const int e = 63 - __builtin_clzll(ns);  // >= kSubBits
  const uint64_t m = ns >> (e - kSubBits);
  return static_cast<size_t>(e - kSubBits + 1) * kSub +
         static_cast<size_t>(m - kSub);
}

uint64_t LatencyHistogram::bucket_lower(size_t bucket) {
  if (bucket < kSub) return bucket;
  const size_t group = bucket / kSub;  // >= 1
  const uint64_t m = bucket % kSub + kSub;
  return m << (group - 1);
}

uint64_t LatencyHistogram::bucket_upper(size_t bucket) {
  if (bucket < kSub) return bucket;
  const size_t group = bucket / kSub;
  return bucket_lower(bucket) + ((uint64_t{1} << (group - 1)) - 1);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  if (other.empty()) return;
  for (size_t b = 0; b < kBuckets; ++b) counts_[b] += other.counts_[b];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
  min_ = std::min(min_, other.min_);
}

uint64_t LatencyHistogram::percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 100.0);
  // The rank of the value asked for, 1-based: at least the first value.
  // The small allowance keeps 99.9 % of 1000 at rank 999, where rounding
  // (99.9 / 100 * 1000 = 999.0000000000001) would give 1000.
  const double exact = q * static_cast<double>(count_) / 100.0;
  const auto rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(exact - 1e-9 * exact)));
  uint64_t seen = 0;
  for (size_t b = 0; b < kBuckets; ++b) {
    seen += counts_[b];
    if (seen >= rank) return std::clamp(bucket_upper(b), min(), max_);
  }
  return max_;
}

std::string LatencyHistogram::encode() const {
  if (count_ == 0) return "";
  std::string out = std::to_string(min_) + " " + std::to_string(max_);
  for (size_t b = 0; b < kBuckets; ++b) {
    if (counts_[b] == 0) continue;
    out += " " + std::to_string(b) + ":" + std::to_string(counts_[b]);
  }
  return out;
}

bool LatencyHistogram::decode(std::string_view text, LatencyHistogram* out) {
  LatencyHistogram h;
  *out = LatencyHistogram();
  if (text.empty()) return true;
  const char* p = text.data();
  const char* end = p + text.size();
  // Reads one unsigned number at p, then skips the separator sep if any.
  auto number = [&](uint64_t* v, char sep) {
    auto [next, ec] = std::from_chars(p, end, *v);
    if (ec != std::errc() || next == p) return false;
    p = next;
    if (p < end) {
      if (*p != sep) return false;
      ++p;
    }
    return true;
  };
  uint64_t lo = 0, hi = 0;
  if (!number(&lo, ' ') || !number(&hi, ' ') || lo > hi) return false;
  uint64_t total = 0;
  while (p < end) {
    uint64_t b = 0, n = 0;
    if (!number(&b, ':') || p >= end || !number(&n, ' ')) return false;
    if (b >= kBuckets || n == 0) return false;
    // Every bucket must lie within [min, max], or the text is not ours.
    if (bucket_upper(b) < lo || bucket_lower(b) > hi) return false;
    h.counts_[b] += n;
    total += n;
  }
  if (total == 0) return false;
  h.count_ = total;
  h.min_ = lo;
  h.max_ = hi;
  *out = std::move(h);
  return true;
}

}  // namespace bench
