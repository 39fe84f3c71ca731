// data.cc -- key and value generation and checking (see data.h).
#include "data.h"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace bench {
namespace {

constexpr size_t kPoolSize = size_t{1} << 17;  // 128 KiB of random bytes
constexpr size_t kGenBytes = 4;

// The fixed pool values are cut from; twice kPoolSize long so that any
// offset below kPoolSize has kPoolSize bytes after it.
const std::string& pool() {
  static const std::string p = [] {
    std::string s(2 * kPoolSize, '\0');
    std::mt19937_64 g(20240601);
    for (auto& c : s) c = static_cast<char>(g() & 0xff);
    return s;
  }();
  return p;
}

// Where in the pool the filler of key i starts.
size_t pool_offset(uint64_t i) { return (i * 2654435761u) % kPoolSize; }

// "key" then i in decimal, zero-padded to at least `width` digits. Written
// by hand rather than with snprintf: it runs once or twice per timed
// operation, and formatting cost would dilute every ratio toward 1.
std::string key_with_digits(uint64_t i, int width,
                            std::string_view prefix = "key") {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + i % 10);
    i /= 10;
  } while (i != 0);
  while (n < width && n < 20) digits[n++] = '0';
  std::string key(prefix);
  key.reserve(prefix.size() + static_cast<size_t>(n));
  while (n > 0) key.push_back(digits[--n]);
  return key;
}

}  // namespace

// Key number i: "key%010d".
std::string make_key(uint64_t i) { return key_with_digits(i, 10); }

// "bulk_key_%08d": the keys of bulk_seq.
std::string make_bulk_key(uint64_t i) {
  return key_with_digits(i, 8, "bulk_key_");
}

// "key%08d" of group: the prefix of keys group*100 .. group*100+99.
std::string make_group_prefix(uint64_t group) {
  return key_with_digits(group, 8);
}

// Key bytes, generation, pool filler; exactly size bytes (see data.h).
std::string_view make_value(uint64_t i, uint32_t gen, size_t size,
                            std::string* out) {
  std::string key = make_key(i);
  out->resize(size);
  char* p = out->data();
  size_t n = std::min(size, key.size());
  std::memcpy(p, key.data(), n);
  if (size > n) {
    char g[kGenBytes];
    std::memcpy(g, &gen, kGenBytes);
    size_t m = std::min(size - n, kGenBytes);
    std::memcpy(p + n, g, m);
    n += m;
  }
  size_t rest = size - n;
  const std::string& src = pool();
  size_t off = pool_offset(i);
  for (size_t done = 0; done < rest;) {
    size_t chunk = std::min(rest - done, kPoolSize);
    std::memcpy(p + n + done, src.data() + off, chunk);
    done += chunk;
  }
  return *out;
}

// Compares v with make_value(i, *, size), ignoring the generation bytes.
bool value_matches(uint64_t i, size_t size, std::string_view v) {
  if (v.size() != size) return false;
  std::string expect;
  make_value(i, value_generation(v), size, &expect);
  return v == expect;
}

// Size and leading key bytes; the full comparison on every 64th op.
bool value_ok(uint64_t i, size_t size, std::string_view v, uint64_t op) {
  return value_ok(i, make_key(i), size, v, op);
}

bool value_ok(uint64_t i, std::string_view key, size_t size, std::string_view v,
              uint64_t op) {
  if (op % 64 == 0) return value_matches(i, size, v);
  if (v.size() != size) return false;
  const size_t n = std::min(size, key.size());
  return v.substr(0, n) == key.substr(0, n);
}

void KeySequence::advance() {
  ++index_;
  // Add one to the decimal digits after "key"; a carry out of the leading
  // digit means the key grows a digit, so format it afresh.
  for (size_t d = key_.size(); d-- > 3;) {
    if (key_[d] != '9') {
      ++key_[d];
      return;
    }
    key_[d] = '0';
  }
  key_ = make_key(index_);
}

void KeySequence::retreat() {
  --index_;
  for (size_t d = key_.size(); d-- > 3;) {
    if (key_[d] != '0') {
      --key_[d];
      // Past ten digits a leading zero means the key lost a digit.
      if (key_.size() > 13 && key_[3] == '0') key_ = make_key(index_);
      return;
    }
    key_[d] = '9';
  }
  key_ = make_key(index_);
}

// The 4 generation bytes after the 13 key bytes.
uint32_t value_generation(std::string_view v) {
  constexpr size_t kKeyBytes = 13;
  if (v.size() < kKeyBytes + kGenBytes) return 0;
  uint32_t g = 0;
  std::memcpy(&g, v.data() + kKeyBytes, kGenBytes);
  return g;
}

// 0..n-1 shuffled with a generator seeded by seed.
std::vector<uint64_t> shuffled(uint64_t n, uint64_t seed) {
  std::vector<uint64_t> v(n);
  std::iota(v.begin(), v.end(), uint64_t{0});
  std::shuffle(v.begin(), v.end(), std::mt19937_64(seed));
  return v;
}

}  // namespace bench
