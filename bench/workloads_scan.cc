// workloads_scan.cc -- ordered reads: full scans both ways, prefix scans
// and seek + short range.
#include <string>

#include "data.h"
#include "workload.h"

namespace bench {

// Iterates every key ascending; it must see keys 0..N-1 exactly, in order.
void run_full_scan(Context& c) {
  c.ensure_loaded();
  Result r{"full_scan"};
  Checker check;
  KeySequence expect(0);
  const size_t size = c.cfg.value_size;
  Timer t;
  uint64_t n = c.db().scan([&](std::string_view k, std::string_view v) {
    const uint64_t i = expect.index();
    if (k != expect.key() || !value_ok(i, expect.key(), size, v, i))
      check.fail("entry " + std::to_string(i) + " is " + std::string(k));
    expect.advance();
    return true;
  });
  t.stop(&r);
  r.ops = n;
  check.expect(n == c.counts.keys, "scan saw " + std::to_string(n) + " keys");
  check.apply(&r);
  c.report(r);
}

// Iterates every key descending; it must see keys N-1..0 exactly.
void run_reverse_scan(Context& c) {
  c.ensure_loaded();
  Result r{"reverse_scan"};
  Checker check;
  const uint64_t keys = c.counts.keys;
  const size_t size = c.cfg.value_size;
  uint64_t seen = 0;
  KeySequence expect(keys - 1);
  Timer t;
  uint64_t n = c.db().reverse_scan([&](std::string_view k, std::string_view v) {
    const uint64_t i = expect.index();
    if (seen >= keys || k != expect.key() ||
        !value_ok(i, expect.key(), size, v, seen))
      check.fail("reverse entry " + std::to_string(seen) + " is " +
                 std::string(k));
    ++seen;
    if (i > 0) expect.retreat();
    return true;
  });
  t.stop(&r);
  r.ops = n;
  check.expect(n == keys, "reverse scan saw " + std::to_string(n) + " keys");
  check.apply(&r);
  c.report(r);
}

// Scans random groups "key%08d" of 100 keys; each must yield its 100 keys
// in order. ops = scans.
void run_prefix_scan(Context& c) {
  c.ensure_loaded();
  Result r{"prefix_scan"};
  Checker check;
  Rng rng(8);
  const uint64_t groups = c.counts.keys / 100;
  uint64_t entries = 0;
  Timer t;
  for (uint64_t op = 0; op < c.counts.prefix_scans; ++op) {
    uint64_t g = rng.below(groups);
    KeySequence expect(g * 100);
    uint64_t n = c.db().prefix_scan(
        make_group_prefix(g), [&](std::string_view k, std::string_view) {
          if (k != expect.key())
            check.fail("prefix scan found " + std::string(k));
          expect.advance();
          return true;
        });
    entries += n;
    if (n != 100)
      check.fail("prefix " + make_group_prefix(g) + " gave " +
                 std::to_string(n) + " keys");
  }
  t.stop(&r);
  r.ops = c.counts.prefix_scans;
  r.note = std::to_string(entries) + " entries";
  check.apply(&r);
  c.report(r);
}

// Seeks to a random key and reads up to range_len keys from it; they must
// be consecutive from the seek key. ops = seeks.
void run_seek_range(Context& c) {
  c.ensure_loaded();
  Result r{"seek_range"};
  Checker check;
  Rng rng(9);
  const uint64_t keys = c.counts.keys, len = c.counts.range_len;
  Timer t;
  for (uint64_t op = 0; op < c.counts.seeks; ++op) {
    uint64_t i = rng.below(keys);
    KeySequence expect(i);
    uint64_t n = c.db().range(make_key(i), len,
                              [&](std::string_view k, std::string_view) {
                                if (k != expect.key())
                                  check.fail("range from " + make_key(i) +
                                             " found " + std::string(k));
                                expect.advance();
                                return true;
                              });
    if (n != std::min(len, keys - i))
      check.fail("range from " + make_key(i) + " gave " + std::to_string(n));
  }
  t.stop(&r);
  r.ops = c.counts.seeks;
  check.apply(&r);
  c.report(r);
}

}  // namespace bench
