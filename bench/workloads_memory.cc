// workloads_memory.cc -- resident memory with many reader handles in one
// process (rss_handles1/4/16).
//
// Each workload opens N reader handles on the main data set, and N threads,
// one per handle, each scan every key and then read a share of the keys at
// random, so that every handle touches the whole file. While the handles
// are still open the process's resident set (VmRSS, /proc/self/status) is
// read and reported in the note, against the data set's size on disk: a
// store whose handles each map the file counts its pages once per handle.
#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "data.h"
#include "workload.h"

namespace bench {
namespace {

// One field of /proc/self/status, in KiB (0 if not found).
long status_kib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return 0;
}

void rss_workload(Context& c, int handles) {
  c.ensure_loaded();
  Result r{"rss_handles" + std::to_string(handles)};
  const uint64_t keys = c.counts.keys;
  const size_t size = c.cfg.value_size;
  const long rss_before = status_kib("VmRSS");
  std::vector<std::unique_ptr<Backend>> open;
  for (int h = 0; h < handles; ++h) open.push_back(c.db().open_reader());
  std::atomic<uint64_t> ops{0};
  std::atomic<uint64_t> bad{0};
  std::mutex error_mu;
  std::string error;
  std::vector<std::thread> pool;
  Timer t;
  for (int h = 0; h < handles; ++h) {
    pool.emplace_back([&, h] {
      try {
        Backend& db = *open[h];
        uint64_t n =
            db.scan([&](std::string_view, std::string_view) { return true; });
        if (n != keys) bad.fetch_add(1);
        Rng rng(100 + h);
        std::string got;
        const uint64_t gets = keys / 16 + 1;
        for (uint64_t i = 0; i < gets; ++i) {
          const uint64_t k = rng.below(keys);
          if (!db.get(make_key(k), &got) || !value_matches(k, size, got))
            bad.fetch_add(1);
        }
        ops.fetch_add(n + gets);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (error.empty()) error = e.what();
      }
    });
  }
  for (auto& th : pool) th.join();
  t.stop(&r);
  const long rss_after = status_kib("VmRSS");
  open.clear();
  r.ops = ops;
  const double file_mib = static_cast<double>(c.disk_bytes) / (1 << 20);
  char note[160];
  std::snprintf(note, sizeof note,
                "VmRSS %.0f MiB = %.2fx the %.0f MiB data set (+%.0f MiB "
                "for the %d handles)",
                rss_after / 1024.0,
                file_mib > 0 ? rss_after / 1024.0 / file_mib : 0.0, file_mib,
                (rss_after - rss_before) / 1024.0, handles);
  r.note = note;
  Checker check;
  check.expect(error.empty(), error);
  check.expect(bad == 0, std::to_string(bad.load()) + " scans or reads wrong");
  check.apply(&r);
  c.report(r);
}

}  // namespace

void run_rss_handles1(Context& c) { rss_workload(c, 1); }
void run_rss_handles4(Context& c) { rss_workload(c, 4); }
void run_rss_handles16(Context& c) { rss_workload(c, 16); }

}  // namespace bench
