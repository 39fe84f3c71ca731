// workload.h -- what a workload sees while it runs on one store, and the
// table of workloads.
//
// Each workload times its operations, checks what the store returned and
// reports one or more Results. A check that fails marks the Result not ok;
// snkv_bench then exits non-zero. Timings are never asserted.
#ifndef SNKV_BENCH_WORKLOAD_H
#define SNKV_BENCH_WORKLOAD_H

#include <time.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend.h"
#include "latency_histogram.h"
#include "options.h"

namespace bench {

struct Result {
  Result() = default;
  // An empty result for the report row named n.
  explicit Result(std::string n) : name(std::move(n)) {}

  std::string name;    // row of the report, e.g. "random_read"
  uint64_t ops = 0;    // operations timed
  double seconds = 0;  // wall time of those operations
  // CPU time (user + system) of the whole process meanwhile, every thread
  // included (snkv's background checkpoints, reader threads); 0 if not
  // measured. On a machine shared with other work it varies much less
  // than wall time.
  double cpu_seconds = 0;
  bool ok = true;        // every check passed
  bool skipped = false;  // the store cannot run this workload
  std::string note;      // why not ok, or extra figures
  // Per-operation latencies, for workloads of single operations (empty
  // for the others).
  LatencyHistogram latency;
};

// Counts failed checks and keeps the first failure's description.
class Checker {
 public:
  // Records a failure described by what (only the first one is kept).
  void fail(const std::string& what) {
    if (failures_++ == 0) first_ = what;
  }
  // Records a failure when cond is false.
  void expect(bool cond, const std::string& what) {
    if (!cond) fail(what);
  }
  bool ok() const { return failures_ == 0; }
  // Fills r.ok and r.note from the checks so far.
  void apply(Result* r) const {
    if (ok()) return;
    r->ok = false;
    r->note = std::to_string(failures_) + " failed checks; first: " + first_;
  }

 private:
  uint64_t failures_ = 0;
  std::string first_;
};

// Wall-clock and process CPU seconds since construction.
class Timer {
 public:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start_)
        .count();
  }
  double cpu_seconds() const { return process_cpu_seconds() - cpu_start_; }
  // Records both in r.
  void stop(Result* r) const {
    r->seconds = seconds();
    r->cpu_seconds = cpu_seconds();
  }
  // User + system CPU time of this process so far, all threads.
  static double process_cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) +
           1e-9 * static_cast<double>(ts.tv_nsec);
  }

 private:
  std::chrono::steady_clock::time_point start_ =
      std::chrono::steady_clock::now();
  double cpu_start_ = process_cpu_seconds();
};

// The state of one store's run: its directory, its open main data set and
// the results so far.
class Context {
 public:
  // Prepares a run of store info under the directory root (created empty).
  Context(const BackendInfo& info, const Config& cfg, std::string root,
          int results_fd);

  const BackendInfo& info;
  const Config& cfg;
  const Counts& counts;
  StoreSettings settings;
  std::string root;      // this store's scratch directory
  std::string main_dir;  // the main data set, root/main

  // The open main data set (open while workloads run).
  Backend& db() { return *db_; }
  // True once the main data set holds keys 0..counts.keys-1.
  bool loaded() const { return loaded_; }
  // Loads the main data set (timed or not); records its size on disk.
  Result load();
  // Loads the main data set untimed unless it is loaded already.
  void ensure_loaded();
  // The fresh store of fresh_read and fresh_exists: a new store in
  // root/fresh loaded like the main data set (counts.fresh_keys keys) and
  // left open, so its reads follow the load without a reopen. Created and
  // loaded on first use.
  Backend& fresh_db();
  // Closes and removes the fresh store, if open.
  void drop_fresh();
  // Opens a fresh store in root/name (removed by the caller when done).
  std::unique_ptr<Backend> open_scratch(const std::string& name);
  // Reports a result to the parent process.
  void report(const Result& r);
  // Closes the main data set's handle (for a workload that opens the store
  // in another process); reopen_main() opens it again.
  void close_main() { db_.reset(); }
  void reopen_main() {
    if (!db_) db_ = info.open(main_dir, settings);
  }
  // Closes the main data set.
  void close() {
    drop_fresh();
    db_.reset();
  }

  bool all_ok = true;
  uint64_t disk_bytes = 0;  // main data set after loading

 private:
  std::unique_ptr<Backend> db_;
  std::unique_ptr<Backend> fresh_;
  bool loaded_ = false;
  int results_fd_;
};

struct Workload {
  const char* name;
  const char* what;  // one line for --list and the docs
  void (*run)(Context&);
};

// Every workload, in the order they run on a store.
const std::vector<Workload>& all_workloads();

// Workload bodies, grouped by file.
void run_seq_write(Context& c);
void run_random_read(Context& c);
void run_exists(Context& c);
void run_update_autocommit(Context& c);
void run_update_batch(Context& c);
void run_delete_autocommit(Context& c);
void run_mixed(Context& c);
void run_bulk_insert(Context& c);
void run_delete_txn5k(Context& c);
void run_delete_txn50k(Context& c);
void run_mixed_txn(Context& c);
void run_bulk_seq(Context& c);
void run_fresh_read(Context& c);
void run_fresh_exists(Context& c);
void run_read_with_writer(Context& c);
void run_value64(Context& c);
void run_value1k(Context& c);
void run_value16k(Context& c);
void run_full_scan(Context& c);
void run_reverse_scan(Context& c);
void run_prefix_scan(Context& c);
void run_seek_range(Context& c);
void run_readers1(Context& c);
void run_readers2(Context& c);
void run_readers4(Context& c);
void run_rss_handles1(Context& c);
void run_rss_handles4(Context& c);
void run_rss_handles16(Context& c);
void run_process_reader(Context& c);

// Entry point of the reader child process that run_process_reader starts
// (argv after "--internal-reader": store dir keys duration_s value_size).
int process_reader_main(int argc, char** argv);

// Entry point of the process the rss_handles workloads start (argv after
// "--internal-rss": store dir handles keys value_size).
int rss_process_main(int argc, char** argv);

// Total bytes allocated on disk by the files under dir.
uint64_t disk_usage(const std::string& dir);

}  // namespace bench

#endif  // SNKV_BENCH_WORKLOAD_H
