// workloads_fresh.cc -- reads while the WAL is full of fresh frames: right
// after a load in the same handle, and while a second handle commits now
// and then.
//
// snkv_bench's random_read and exists run on a store that was closed and
// reopened after its load, so its write-ahead log (where a store keeps
// one) starts out checkpointed. A user who loads and then reads in one
// session reads through a log full of the load's frames instead, and one
// whose other handle writes sees a new commit every so often; these
// workloads measure both.
#include <filesystem>
#include <string>

#include "data.h"
#include "workload.h"

namespace bench {
namespace {

// Random gets (fresh_read) or exists checks, half for absent keys
// (fresh_exists), on the fresh store.
void fresh_lookups(Context& c, bool gets) {
  Backend& db = c.fresh_db();
  const uint64_t keys = c.counts.fresh_keys;
  const uint64_t ops = gets ? c.counts.reads : c.counts.exists;
  Result r{gets ? "fresh_read" : "fresh_exists"};
  Checker check;
  Rng rng(gets ? 11 : 12);
  std::string got;
  uint64_t expected = 0, found = 0;
  Timer t;
  Stopwatch lap;
  for (uint64_t op = 0; op < ops; ++op) {
    if (gets) {
      const uint64_t i = rng.below(keys);
      const std::string key = make_key(i);
      if (!db.get(key, &got))
        check.fail("key " + key + " not found");
      else if (!value_ok(i, key, c.cfg.value_size, got, op))
        check.fail("wrong value for " + key);
    } else {
      const uint64_t i = rng.below(2 * keys);
      expected += i < keys;
      found += db.exists(make_key(i));
    }
    r.latency.record(lap.lap());
  }
  t.stop(&r);
  r.ops = ops;
  if (!gets) {
    check.expect(found == expected, "found " + std::to_string(found) +
                                        " keys, expected " +
                                        std::to_string(expected));
  }
  check.apply(&r);
  c.report(r);
}

}  // namespace

// Random gets right after the fresh store's load.
void run_fresh_read(Context& c) { fresh_lookups(c, true); }

// Exists checks right after the fresh store's load (and its reads); the
// fresh store is closed and removed afterwards.
void run_fresh_exists(Context& c) {
  fresh_lookups(c, false);
  c.drop_fresh();
}

// Random gets of the main data set on its handle while a second handle on
// the same store commits an update after every writer_every reads: most
// reads find nothing new, one in writer_every finds another handle's
// commit. Latencies are of the reads; every read must find its key with a
// well-formed value, and the last update must be visible at the end.
void run_read_with_writer(Context& c) {
  c.ensure_loaded();
  Result r{"read_with_writer"};
  Checker check;
  const Counts& k = c.counts;
  std::unique_ptr<Backend> writer = c.db().open_reader();
  Rng rng(13), wrng(14);
  std::string got, value;
  uint64_t writes = 0, last_written = 0;
  Timer t;
  Stopwatch lap;
  for (uint64_t op = 0; op < k.read_with_writer; ++op) {
    if (op % k.writer_every == k.writer_every - 1) {
      last_written = wrng.below(k.keys);
      writer->put(make_key(last_written),
                  make_value(last_written, 6, c.cfg.value_size, &value));
      ++writes;
      lap.restart();  // the other handle's write is not a read's latency
    }
    const uint64_t i = rng.below(k.keys);
    const std::string key = make_key(i);
    if (!c.db().get(key, &got) || !value_ok(i, key, c.cfg.value_size, got, op))
      check.fail("read of " + key + " failed");
    r.latency.record(lap.lap());
  }
  t.stop(&r);
  r.ops = k.read_with_writer;
  r.note = std::to_string(writes) + " writes by the other handle";
  if (writes > 0) {
    check.expect(
        c.db().get(make_key(last_written), &got) && value_generation(got) == 6,
        "the other handle's last update is not visible");
  }
  check.apply(&r);
  c.report(r);
}

}  // namespace bench
