// report.h -- medians over repeated runs, the text table and the JSON file.
#ifndef SNKV_BENCH_REPORT_H
#define SNKV_BENCH_REPORT_H

#include <map>
#include <string>
#include <vector>

#include "latency_histogram.h"
#include "options.h"
#include "runner.h"

namespace bench {

// One workload row of one store over all repeats.
struct Cell {
  std::vector<double> ops_per_sec;  // one per run that reported it
  // ops per CPU-second of the whole process, one per run that measured it
  std::vector<double> ops_per_cpu_sec;
  uint64_t ops = 0;
  bool ok = true;
  bool skipped = false;
  std::string note;  // of the last run (first failure if any failed)
  // Latency percentiles of each run that recorded latencies (ns), and
  // the histogram of all those runs together.
  struct Latency {
    uint64_t p50, p99, p999, max;
  };
  std::vector<Latency> latency_runs;
  LatencyHistogram latency;
  double median() const;
  // The median over runs of one latency figure (ns; 0 when none).
  double latency_median(uint64_t Latency::*figure) const;
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
  // Subject/peer ratios per workload, each "median (lowest-highest)" over
  // the runs paired by repetition: by wall time, then by ops per CPU-second
  // of the whole process (which a loaded machine disturbs much less).
  std::string ratio_ranges() const;
  // The latency table: p50, p99, p99.9 and max per workload that
  // recorded latencies, in microseconds, medians over runs, with the
  // subject/peer ratio (< 1: the subject's is lower). "" when none did.
  std::string latency_table() const;
  // The JSON document (config, per-store medians and runs, latency
  // figures and histograms, ratios).
  std::string json(const Config& cfg) const;
};

}  // namespace bench

#endif  // SNKV_BENCH_REPORT_H
