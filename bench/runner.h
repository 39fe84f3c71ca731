// runner.h -- runs every selected workload of one store in a child process
// (so that peak memory is per store) and collects its results.
#ifndef SNKV_BENCH_RUNNER_H
#define SNKV_BENCH_RUNNER_H

#include <string>
#include <vector>

#include "backend.h"
#include "options.h"
#include "workload.h"

namespace bench {

// What one run of one store produced.
struct StoreRun {
  std::vector<Result> results;  // in the order reported
  uint64_t disk_bytes = 0;      // main data set after loading
  long peak_rss_kb = 0;         // largest of the child and its children
  bool ok = true;               // every check passed, no crash
  std::string error;            // why not ok, when not a failed check
};

// Runs the workloads selected by cfg on store info in a forked child, in
// directory dir (created and removed); progress goes to stderr.
StoreRun run_store(const BackendInfo& info, const Config& cfg,
                   const std::string& dir);

// True if workload name is selected by cfg (all are when none is named).
bool workload_selected(const Config& cfg, const std::string& name);

}  // namespace bench

#endif  // SNKV_BENCH_RUNNER_H
