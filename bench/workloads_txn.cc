// workloads_txn.cc -- writes inside one large transaction: random deletes,
// updates mixed with deletes, and a sequential bulk insert.
//
// The delete workloads share the main data set with delete_autocommit, so
// each takes its own slice of one fixed random order of the keys: every
// delete is of a key that is present, whichever of them run.
#include <filesystem>
#include <string>
#include <vector>

#include "data.h"
#include "workload.h"

namespace bench {
namespace {

// The seed of the random order the delete workloads slice (the same one
// delete_autocommit takes its first keys from).
constexpr uint64_t kDeleteOrderSeed = 5;

// Where each delete workload's keys start in the shuffled order.
uint64_t txn5k_start(const Counts& k) { return k.deletes; }
uint64_t txn50k_start(const Counts& k) {
  return txn5k_start(k) + k.delete_txn_small;
}
uint64_t mixed_txn_start(const Counts& k) {
  return txn50k_start(k) + k.delete_txn_large;
}
// The first key of the order that no delete workload removes.
uint64_t never_deleted_start(const Counts& k) {
  return mixed_txn_start(k) + k.mixed_txn / 2;
}

// Checks that a sample of keys order[first, first + n) is gone.
void expect_gone(Backend& db, const std::vector<uint64_t>& order,
                 uint64_t first, uint64_t n, Checker* check) {
  for (uint64_t j = 0; j < n; j += 1 + n / 500) {
    const std::string key = make_key(order[first + j]);
    check->expect(!db.exists(key), "deleted key " + key + " still exists");
  }
}

// Deletes keys order[first, first + n) of the main data set in one
// transaction, each reporting that its key existed.
void delete_in_txn(Context& c, const char* name, uint64_t first, uint64_t n) {
  c.ensure_loaded();
  Result r{name};
  Checker check;
  const std::vector<uint64_t> order = shuffled(c.counts.keys, kDeleteOrderSeed);
  uint64_t existed = 0;
  Timer t;
  c.db().begin();
  Stopwatch lap;
  for (uint64_t j = first; j < first + n; ++j) {
    existed += c.db().del(make_key(order[j]));
    r.latency.record(lap.lap());
  }
  c.db().commit();
  t.stop(&r);
  r.ops = n;
  check.expect(existed == n, std::to_string(existed) + " of " +
                                 std::to_string(n) +
                                 " deletes found their key");
  expect_gone(c.db(), order, first, n, &check);
  check.apply(&r);
  c.report(r);
}

}  // namespace

// 5K (at scale 1) random deletes in one transaction.
void run_delete_txn5k(Context& c) {
  delete_in_txn(c, "delete_txn5k", txn5k_start(c.counts),
                c.counts.delete_txn_small);
}

// 50K (at scale 1) random deletes in one transaction.
void run_delete_txn50k(Context& c) {
  delete_in_txn(c, "delete_txn50k", txn50k_start(c.counts),
                c.counts.delete_txn_large);
}

// One transaction of random updates and deletes, half each in random
// order: the deletes take their own slice of keys (each must exist), the
// updates random keys that no workload deletes. Afterwards the deleted
// keys are gone and the updates visible.
void run_mixed_txn(Context& c) {
  c.ensure_loaded();
  Result r{"mixed_txn"};
  Checker check;
  const Counts& k = c.counts;
  const std::vector<uint64_t> order = shuffled(k.keys, kDeleteOrderSeed);
  const uint64_t del_first = mixed_txn_start(k);
  const uint64_t dels = k.mixed_txn / 2;
  const uint64_t keep_first = never_deleted_start(k);
  Rng rng(8);
  std::vector<uint64_t> updated;
  std::string value;
  uint64_t deleted = 0, existed = 0;
  Timer t;
  c.db().begin();
  Stopwatch lap;
  for (uint64_t op = 0; op < k.mixed_txn; ++op) {
    // A delete when the coin says so and deletes remain, or when only
    // deletes remain.
    const uint64_t puts_left = (k.mixed_txn - dels) - updated.size();
    if (deleted < dels && (puts_left == 0 || rng.below(2) == 0)) {
      existed += c.db().del(make_key(order[del_first + deleted++]));
    } else {
      const uint64_t i = order[keep_first + rng.below(k.keys - keep_first)];
      c.db().put(make_key(i), make_value(i, 5, c.cfg.value_size, &value));
      updated.push_back(i);
    }
    r.latency.record(lap.lap());
  }
  c.db().commit();
  t.stop(&r);
  r.ops = k.mixed_txn;
  check.expect(existed == dels, std::to_string(existed) + " of " +
                                    std::to_string(dels) +
                                    " deletes found their key");
  expect_gone(c.db(), order, del_first, dels, &check);
  std::string got;
  for (size_t j = 0; j < updated.size(); j += 1 + updated.size() / 200) {
    const uint64_t i = updated[j];
    check.expect(c.db().get(make_key(i), &got) &&
                     value_matches(i, c.cfg.value_size, got) &&
                     value_generation(got) == 5,
                 "update of " + make_key(i) + " not visible");
  }
  check.apply(&r);
  c.report(r);
}

// A new store gets keys bulk_key_00000000... in ascending order with 20 B
// values, all in one transaction; a scan afterwards must count them all,
// and sample gets must return their values.
void run_bulk_seq(Context& c) {
  constexpr size_t kValueSize = 20;
  Result r{"bulk_seq"};
  Checker check;
  const uint64_t n = c.counts.bulk_seq;
  {
    auto db = c.open_scratch("bulk_seq");
    std::string value;
    Timer t;
    db->begin();
    for (uint64_t i = 0; i < n; ++i)
      db->put(make_bulk_key(i), make_value(i, 0, kValueSize, &value));
    db->commit();
    t.stop(&r);
    r.ops = n;
    const uint64_t seen =
        db->scan([](std::string_view, std::string_view) { return true; });
    check.expect(seen == n,
                 "scan after bulk_seq saw " + std::to_string(seen) + " keys");
    std::string got;
    for (uint64_t i = 0; i < n; i += 1 + n / 100) {
      check.expect(
          db->get(make_bulk_key(i), &got) && value_matches(i, kValueSize, got),
          "key " + make_bulk_key(i) + " missing or wrong");
    }
  }
  std::filesystem::remove_all(c.root + "/bulk_seq");
  check.apply(&r);
  c.report(r);
}

}  // namespace bench
