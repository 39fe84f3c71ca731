// workloads.cc -- the workload table and the per-store Context.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "data.h"
#include "workload.h"

namespace bench {

// The order matters: workloads that need every key present run before
// delete_autocommit and the delete_txn workloads remove some.
const std::vector<Workload>& all_workloads() {
  static const std::vector<Workload> w = {
      {"seq_write", "write keys 0..N-1 in order, 1000 puts per transaction",
       run_seq_write},
      {"random_read", "random gets of present keys, values checked",
       run_random_read},
      {"exists", "exists checks, half of them for absent keys", run_exists},
      {"fresh_read",
       "random gets right after a load in the same handle (new store)",
       run_fresh_read},
      {"fresh_exists", "exists checks (half absent) after fresh_read",
       run_fresh_exists},
      {"full_scan", "iterate every key in ascending order", run_full_scan},
      {"reverse_scan", "iterate every key in descending order",
       run_reverse_scan},
      {"prefix_scan", "prefix scans of 100 keys each (ops = scans)",
       run_prefix_scan},
      {"seek_range", "seek to a random key, read the next 10 (ops = seeks)",
       run_seek_range},
      {"update_autocommit", "random updates, each its own transaction",
       run_update_autocommit},
      {"update_batch", "random updates, all in one transaction",
       run_update_batch},
      {"mixed", "80% random gets, 20% autocommit updates", run_mixed},
      {"readers1", "1 reader thread (own handle) while a writer commits",
       run_readers1},
      {"readers2", "2 reader threads while a writer commits", run_readers2},
      {"readers4", "4 reader threads while a writer commits", run_readers4},
      {"rss_handles1",
       "1 reader handle scans and reads every key; VmRSS in the note",
       run_rss_handles1},
      {"rss_handles4", "as rss_handles1 with 4 handles, one thread each",
       run_rss_handles4},
      {"rss_handles16", "as rss_handles1 with 16 handles, one thread each",
       run_rss_handles16},
      {"process_reader", "a reader in a second process while a writer commits",
       run_process_reader},
      {"read_with_writer",
       "random gets while a second handle commits an update every 500 reads",
       run_read_with_writer},
      {"delete_autocommit",
       "random deletes of present keys, each its own "
       "transaction",
       run_delete_autocommit},
      {"delete_txn5k", "5K random deletes in one transaction",
       run_delete_txn5k},
      {"delete_txn50k", "50K random deletes in one transaction",
       run_delete_txn50k},
      {"mixed_txn", "random updates and deletes, half each, one transaction",
       run_mixed_txn},
      {"bulk_insert", "N keys in random order in one transaction, new store",
       run_bulk_insert},
      {"bulk_seq",
       "N keys bulk_key_%08d in order, 20 B values, one transaction, new "
       "store",
       run_bulk_seq},
      {"value64", "64 B values: sequential writes, then random reads",
       run_value64},
      {"value1k", "1 KiB values: sequential writes, then random reads",
       run_value1k},
      {"value16k", "16 KiB values: sequential writes, then random reads",
       run_value16k},
  };
  return w;
}

// Creates root (empty) and opens the main data set in root/main.
Context::Context(const BackendInfo& i, const Config& c, std::string r,
                 int results_fd)
    : info(i),
      cfg(c),
      counts(c.counts),
      root(std::move(r)),
      main_dir(root + "/main"),
      results_fd_(results_fd) {
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(main_dir);
  db_ = info.open(main_dir, settings);
}

// Writes keys 0..keys-1 with value_size values, txn_size per transaction,
// then reopens the store to measure its size on disk.
Result Context::load() {
  Result r{"seq_write"};
  std::string value;
  const uint64_t n = counts.keys;
  Timer t;
  for (uint64_t i = 0; i < n;) {
    db_->begin();
    uint64_t end = std::min(n, i + counts.txn_size);
    for (; i < end; ++i)
      db_->put(make_key(i), make_value(i, 0, cfg.value_size, &value));
    db_->commit();
  }
  t.stop(&r);
  r.ops = n;
  db_.reset();
  disk_bytes = disk_usage(main_dir);
  db_ = info.open(main_dir, settings);
  Checker check;
  std::string got;
  for (uint64_t i : {uint64_t{0}, n / 2, n - 1}) {
    check.expect(
        db_->get(make_key(i), &got) && value_matches(i, cfg.value_size, got),
        "key " + make_key(i) + " missing or wrong after reopen");
  }
  check.apply(&r);
  loaded_ = true;
  return r;
}

// Loads the main data set without reporting it, if not loaded yet.
void Context::ensure_loaded() {
  if (loaded_) return;
  Result r = load();
  if (!r.ok) {
    r.name = "load";
    report(r);
  }
}

// Creates and loads root/fresh on first use (see workload.h).
Backend& Context::fresh_db() {
  if (fresh_) return *fresh_;
  fresh_ = open_scratch("fresh");
  std::string value;
  const uint64_t n = counts.fresh_keys;
  for (uint64_t i = 0; i < n;) {
    fresh_->begin();
    const uint64_t end = std::min(n, i + counts.txn_size);
    for (; i < end; ++i)
      fresh_->put(make_key(i), make_value(i, 0, cfg.value_size, &value));
    fresh_->commit();
  }
  return *fresh_;
}

void Context::drop_fresh() {
  if (!fresh_) return;
  fresh_.reset();
  std::error_code ec;
  std::filesystem::remove_all(root + "/fresh", ec);
}

// Opens a new, empty store in root/name.
std::unique_ptr<Backend> Context::open_scratch(const std::string& name) {
  std::string dir = root + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return info.open(dir, settings);
}

// Replaces tabs and newlines so a note fits one protocol field.
static std::string one_field(std::string s) {
  for (char& ch : s)
    if (ch == '\t' || ch == '\n' || ch == '\r') ch = ' ';
  return s;
}

// Sends r to the parent as one line: R name ops seconds ok skipped note
// latency (LatencyHistogram::encode, empty when not recorded) cpu_seconds.
void Context::report(const Result& r) {
  if (!r.ok) all_ok = false;
  std::string line = "R\t" + r.name + "\t" + std::to_string(r.ops) + "\t" +
                     std::to_string(r.seconds) + "\t" + (r.ok ? "1" : "0") +
                     "\t" + (r.skipped ? "1" : "0") + "\t" + one_field(r.note) +
                     "\t" + r.latency.encode() + "\t" +
                     std::to_string(r.cpu_seconds) + "\n";
  (void)!write(results_fd_, line.data(), line.size());
}

// Sums st_blocks * 512 over the regular files under dir.
uint64_t disk_usage(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    struct stat st {};
    if (it->is_regular_file(ec) && ::stat(it->path().c_str(), &st) == 0)
      total += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

}  // namespace bench
