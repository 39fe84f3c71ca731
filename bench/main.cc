// main.cc -- snkv_bench: runs the same workloads on snkv and its peers,
// one store at a time in a child process, and prints a comparison.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "backend.h"
#include "options.h"
#include "report.h"
#include "runner.h"
#include "workload.h"

namespace {

// Prints the stores and workloads this program knows.
void list() {
  std::printf("stores:\n");
  for (const auto& b : bench::all_backends())
    std::printf("  %-10s %s\n", b.name.c_str(), b.settings.c_str());
  std::printf("workloads:\n");
  for (const auto& w : bench::all_workloads())
    std::printf("  %-18s %s\n", w.name, w.what);
}

// Returns false (after saying why) if a named store or workload is unknown.
bool check_names(const bench::Config& cfg) {
  for (const auto& s : cfg.stores)
    if (!bench::find_backend(s)) {
      std::fprintf(stderr, "snkv_bench: unknown store %s (see --list)\n",
                   s.c_str());
      return false;
    }
  for (const auto& w : cfg.workloads) {
    bool known = false;
    for (const auto& x : bench::all_workloads()) known |= w == x.name;
    if (!known) {
      std::fprintf(stderr, "snkv_bench: unknown workload %s (see --list)\n",
                   w.c_str());
      return false;
    }
  }
  return true;
}

}  // namespace

// Exit status: 0 when every store passed every check, 1 when any returned
// wrong data or crashed, 2 on a bad command line.
int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "--internal-reader") == 0)
    return bench::process_reader_main(argc - 2, argv + 2);
  if (argc >= 2 && std::strcmp(argv[1], "--internal-rss") == 0)
    return bench::rss_process_main(argc - 2, argv + 2);
  bench::Config cfg;
  if (!bench::parse_options(argc, argv, &cfg)) return 2;
  if (cfg.list) {
    list();
    return 0;
  }
  if (!check_names(cfg)) return 2;
  std::vector<const bench::BackendInfo*> stores;
  if (cfg.stores.empty()) {
    for (const auto& b : bench::all_backends()) stores.push_back(&b);
  } else {
    for (const auto& s : cfg.stores) stores.push_back(bench::find_backend(s));
  }
  std::fprintf(stderr, "snkv_bench: scale %g, %d run(s), %llu keys, dir %s\n",
               cfg.scale, cfg.repeat,
               static_cast<unsigned long long>(cfg.counts.keys),
               cfg.dir.c_str());
  bench::Report report;
  for (int rep = 0; rep < cfg.repeat; ++rep) {
    for (const auto* info : stores) {
      std::fprintf(stderr, "run %d/%d: %s\n", rep + 1, cfg.repeat,
                   info->name.c_str());
      std::string dir = cfg.dir + "/" + info->name;
      report.add(info->name, info->settings, bench::run_store(*info, cfg, dir));
    }
  }
  std::error_code ec;
  std::filesystem::remove(cfg.dir, ec);
  std::fputs(report.table().c_str(), stdout);
  const std::string ranges = report.ratio_ranges();
  if (!ranges.empty()) std::printf("\n%s", ranges.c_str());
  const std::string latency = report.latency_table();
  if (!latency.empty()) std::printf("\n%s", latency.c_str());
  if (!cfg.json_path.empty()) {
    std::ofstream out(cfg.json_path);
    out << report.json(cfg);
    if (!out) {
      std::fprintf(stderr, "snkv_bench: cannot write %s\n",
                   cfg.json_path.c_str());
      return 1;
    }
  }
  if (!report.ok()) {
    std::fprintf(stderr,
                 "snkv_bench: some store returned wrong data or failed\n");
    return 1;
  }
  return 0;
}
