// workloads_point.cc -- point operations: writes, reads, exists, updates,
// deletes, the mixed load, bulk insert and the value-size workloads.
#include <filesystem>
#include <string>

#include "data.h"
#include "workload.h"

namespace bench {
namespace {

// Reads `reads` random keys of 0..keys-1 from db (all present, values of
// `size` bytes) and returns the timed, checked result.
Result random_reads(Backend& db, const std::string& name, uint64_t keys,
                    uint64_t reads, size_t size, uint64_t seed) {
  Result r{name};
  Checker check;
  Rng rng(seed);
  std::string got;
  Timer t;
  Stopwatch lap;
  for (uint64_t op = 0; op < reads; ++op) {
    uint64_t i = rng.below(keys);
    const std::string key = make_key(i);
    if (!db.get(key, &got))
      check.fail("key " + key + " not found");
    else if (!value_ok(i, key, size, got, op))
      check.fail("wrong value for " + key);
    r.latency.record(lap.lap());
  }
  t.stop(&r);
  r.ops = reads;
  check.apply(&r);
  return r;
}

// Checks that sample keys from `keys` hold generation gen afterwards.
void expect_generation(Backend& db, const std::vector<uint64_t>& keys,
                       uint32_t gen, size_t size, Checker* check) {
  std::string got;
  for (size_t j = 0; j < keys.size(); j += 1 + keys.size() / 200) {
    uint64_t i = keys[j];
    check->expect(db.get(make_key(i), &got) && value_matches(i, size, got) &&
                      value_generation(got) >= gen,
                  "update of " + make_key(i) + " not visible");
  }
}

// Writes n values of `size` bytes to a new store, then reads n at random;
// reports "<name>_write" and "<name>_read".
void value_size_workload(Context& c, const std::string& name, uint64_t n,
                         size_t size) {
  std::string dir = c.root + "/" + name;
  {
    auto db = c.open_scratch(name);
    Result w{name + "_write"};
    std::string value;
    Timer t;
    for (uint64_t i = 0; i < n;) {
      db->begin();
      uint64_t end = std::min(n, i + c.counts.txn_size);
      for (; i < end; ++i) db->put(make_key(i), make_value(i, 0, size, &value));
      db->commit();
    }
    t.stop(&w);
    w.ops = n;
    c.report(w);
    c.report(random_reads(*db, name + "_read", n, n, size, 77));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace

// Timed load of the main data set (see Context::load).
void run_seq_write(Context& c) {
  if (c.loaded()) return;
  c.report(c.load());
}

// Random gets of present keys of the main data set.
void run_random_read(Context& c) {
  c.ensure_loaded();
  c.report(random_reads(c.db(), "random_read", c.counts.keys, c.counts.reads,
                        c.cfg.value_size, 1));
}

// Half the checked keys exist (0..keys-1), half do not (keys..2*keys-1);
// the number found must equal the number of present keys asked for.
void run_exists(Context& c) {
  c.ensure_loaded();
  Result r{"exists"};
  Checker check;
  Rng rng(2);
  const uint64_t keys = c.counts.keys;
  uint64_t expected = 0, found = 0;
  Timer t;
  Stopwatch lap;
  for (uint64_t op = 0; op < c.counts.exists; ++op) {
    uint64_t i = rng.below(2 * keys);
    expected += i < keys;
    found += c.db().exists(make_key(i));
    r.latency.record(lap.lap());
  }
  t.stop(&r);
  r.ops = c.counts.exists;
  check.expect(found == expected, "found " + std::to_string(found) +
                                      " keys, expected " +
                                      std::to_string(expected));
  check.apply(&r);
  c.report(r);
}

// Each update is its own transaction; the new values must be visible.
void run_update_autocommit(Context& c) {
  c.ensure_loaded();
  Result r{"update_autocommit"};
  Checker check;
  Rng rng(3);
  std::vector<uint64_t> done;
  std::string value;
  done.reserve(c.counts.update_single);
  Timer t;
  Stopwatch lap;
  for (uint64_t op = 0; op < c.counts.update_single; ++op) {
    uint64_t i = rng.below(c.counts.keys);
    c.db().put(make_key(i), make_value(i, 1, c.cfg.value_size, &value));
    done.push_back(i);
    r.latency.record(lap.lap());
  }
  t.stop(&r);
  r.ops = c.counts.update_single;
  expect_generation(c.db(), done, 1, c.cfg.value_size, &check);
  check.apply(&r);
  c.report(r);
}

// All updates in one transaction; the new values must be visible.
void run_update_batch(Context& c) {
  c.ensure_loaded();
  Result r{"update_batch"};
  Checker check;
  Rng rng(4);
  std::vector<uint64_t> done;
  std::string value;
  done.reserve(c.counts.update_batch);
  Timer t;
  c.db().begin();
  Stopwatch lap;
  for (uint64_t op = 0; op < c.counts.update_batch; ++op) {
    uint64_t i = rng.below(c.counts.keys);
    c.db().put(make_key(i), make_value(i, 2, c.cfg.value_size, &value));
    done.push_back(i);
    r.latency.record(lap.lap());
  }
  c.db().commit();
  t.stop(&r);
  r.ops = c.counts.update_batch;
  expect_generation(c.db(), done, 2, c.cfg.value_size, &check);
  check.apply(&r);
  c.report(r);
}

// Deletes distinct present keys one transaction each; each delete must
// report the key existed, and the keys must be gone afterwards.
void run_delete_autocommit(Context& c) {
  c.ensure_loaded();
  Result r{"delete_autocommit"};
  Checker check;
  std::vector<uint64_t> order = shuffled(c.counts.keys, 5);
  order.resize(c.counts.deletes);
  uint64_t existed = 0;
  Timer t;
  Stopwatch lap;
  for (uint64_t i : order) {
    existed += c.db().del(make_key(i));
    r.latency.record(lap.lap());
  }
  t.stop(&r);
  r.ops = order.size();
  check.expect(existed == order.size(), std::to_string(existed) + " of " +
                                            std::to_string(order.size()) +
                                            " deletes found their key");
  for (size_t j = 0; j < order.size(); j += 1 + order.size() / 500)
    check.expect(!c.db().exists(make_key(order[j])),
                 "deleted key " + make_key(order[j]) + " still exists");
  check.apply(&r);
  c.report(r);
}

// 80% random gets (all must be found), 20% autocommit updates.
void run_mixed(Context& c) {
  c.ensure_loaded();
  Result r{"mixed"};
  Checker check;
  Rng rng(6);
  std::string value, got;
  Timer t;
  Stopwatch lap;
  for (uint64_t op = 0; op < c.counts.mixed; ++op) {
    uint64_t i = rng.below(c.counts.keys);
    if (rng.below(100) < 80) {
      if (!c.db().get(make_key(i), &got) ||
          !value_ok(i, c.cfg.value_size, got, op))
        check.fail("read of " + make_key(i) + " failed");
    } else {
      c.db().put(make_key(i), make_value(i, 3, c.cfg.value_size, &value));
    }
    r.latency.record(lap.lap());
  }
  t.stop(&r);
  r.ops = c.counts.mixed;
  check.apply(&r);
  c.report(r);
}

// A new store gets N keys in random order in one transaction; a scan
// afterwards must count exactly N.
void run_bulk_insert(Context& c) {
  Result r{"bulk_insert"};
  Checker check;
  std::string dir = c.root + "/bulk";
  {
    auto db = c.open_scratch("bulk");
    std::vector<uint64_t> order = shuffled(c.counts.bulk, 7);
    std::string value;
    Timer t;
    db->begin();
    for (uint64_t i : order)
      db->put(make_key(i), make_value(i, 0, c.cfg.value_size, &value));
    db->commit();
    t.stop(&r);
    r.ops = order.size();
    uint64_t n =
        db->scan([](std::string_view, std::string_view) { return true; });
    check.expect(n == order.size(),
                 "scan after bulk insert saw " + std::to_string(n) + " keys");
  }
  std::filesystem::remove_all(dir);
  check.apply(&r);
  c.report(r);
}

// The value-size workloads: 64 B, 1 KiB and 16 KiB values.
void run_value64(Context& c) {
  value_size_workload(c, "value64", c.counts.value64, 64);
}
void run_value1k(Context& c) {
  value_size_workload(c, "value1k", c.counts.value1k, 1024);
}
void run_value16k(Context& c) {
  value_size_workload(c, "value16k", c.counts.value16k, 16384);
}

}  // namespace bench
