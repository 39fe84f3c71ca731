// report.h -- medians over repeated runs, the text table and the JSON file.
#ifndef SNKV_BENCH_REPORT_H
#define SNKV_BENCH_REPORT_H

#include <map>
#include <string>
#include <vector>

#include "options.h"
#include "runner.h"

namespace bench {

// One workload row of one store over all repeats.
struct Cell {
  std::vector<double> ops_per_sec;  // one per run that reported it
  uint64_t ops = 0;
  bool ok = true;
  bool skipped = false;
  std::string note;  // of the last run (first failure if any failed)
  double median() const;
};

// One store over all repeats.
struct StoreSummary {
  std::string name;
  std::string settings;
  std::map<std::string, Cell> cells;
  std::vector<uint64_t> disk_bytes;
  std::vector<long> peak_rss_kb;
  bool ok = true;
  std::vector<std::string> errors;
};

// Everything snkv_bench reports.
struct Report {
  std::vector<std::string> rows;  // workload rows in first-seen order
  std::vector<StoreSummary> stores;
  std::string subject;  // the store the ratios are of ("snkv" if present)

  // Adds one run of store `name` (settings: one line on its settings).
  void add(const std::string& name, const std::string& settings,
           const StoreRun& run);
  // True if every store passed every check and none crashed.
  bool ok() const;
  // The table: ops/s per store and workload, subject/peer ratios, peak
  // RSS and disk size; then any failures.
  std::string table() const;
  // The JSON document (config, per-store medians and runs, ratios).
  std::string json(const Config& cfg) const;
};

}  // namespace bench

#endif  // SNKV_BENCH_REPORT_H
