// data.h -- the keys and values the workloads write, and how reads are
// checked against them.
//
// Key i is "key%010d". The value of key i at size s and generation g is
// the key's bytes, then g as 4 bytes, then bytes from a fixed pseudo-random
// pool (incompressible, so stores that compress gain nothing unfair), cut
// or padded to exactly s bytes. A read is checked by regenerating it.
#ifndef SNKV_BENCH_DATA_H
#define SNKV_BENCH_DATA_H

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

// Key number i.
std::string make_key(uint64_t i);

// Key i of bulk_seq: "bulk_key_%08d".
std::string make_bulk_key(uint64_t i);

// The key prefix shared by keys group*100 .. group*100+99.
std::string make_group_prefix(uint64_t group);

// Writes value (i, gen, size) into *out and returns a view of it.
std::string_view make_value(uint64_t i, uint32_t gen, size_t size,
                            std::string* out);

// True if v is a value of key i of the given size, of any generation.
bool value_matches(uint64_t i, size_t size, std::string_view v);

// Cheap check for timed loops: size and key bytes; every 64th call (by
// op number) compares the whole value like value_matches.
bool value_ok(uint64_t i, size_t size, std::string_view v, uint64_t op);

// As value_ok, for callers that already hold make_key(i) in `key`.
bool value_ok(uint64_t i, std::string_view key, size_t size, std::string_view v,
              uint64_t op);

// make_key(i) for consecutive i, stepped in place: a scan checks each key
// it is given without formatting a new one, so the check costs little next
// to the store's own work (formatting every key took about as long as the
// fastest stores' scans).
class KeySequence {
 public:
  explicit KeySequence(uint64_t first) : index_(first), key_(make_key(first)) {}
  uint64_t index() const { return index_; }
  const std::string& key() const { return key_; }
  void advance();  // to index() + 1
  void retreat();  // to index() - 1; index() must be > 0

 private:
  uint64_t index_;
  std::string key_;
};

// The generation stored in a value written by make_value (0 if too short).
uint32_t value_generation(std::string_view v);

// Deterministic random numbers for one workload.
class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  // A number in [0, n); n must be > 0.
  uint64_t below(uint64_t n) { return gen_() % n; }

 private:
  std::mt19937_64 gen_;
};

// The numbers 0..n-1 in a random order fixed by seed.
std::vector<uint64_t> shuffled(uint64_t n, uint64_t seed);

}  // namespace bench

#endif  // SNKV_BENCH_DATA_H
