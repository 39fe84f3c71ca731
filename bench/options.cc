// options.cc -- command line parsing for snkv_bench.
#include "options.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace bench {
namespace {

const char* const kUsage =
    "usage: snkv_bench [options]\n"
    "  --scale X        multiply every operation count by X (default 1)\n"
    "  --repeat N       run everything N times, report medians (default 1)\n"
    "  --stores a,b     stores to run (default: all; see --list)\n"
    "  --workloads a,b  workloads to run (default: all; see --list)\n"
    "  --duration S     seconds of each concurrency workload (default 3)\n"
    "  --value-size N   value bytes of the main data set (default 100)\n"
    "  --json FILE      also write the results as JSON to FILE\n"
    "  --dir DIR        where to create the stores (default /tmp)\n"
    "  --smoke          tiny counts, all stores and workloads, a few seconds;\n"
    "                   exits non-zero if any store returned wrong data\n"
    "  --list           list stores and workloads and exit\n";

// Splits "a,b,c" into its non-empty parts.
std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view part = s.substr(0, comma);
    if (!part.empty()) out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

// base * s rounded, but at least floor.
uint64_t scaled(double base, double s, uint64_t floor) {
  return std::max<uint64_t>(floor,
                            static_cast<uint64_t>(std::llround(base * s)));
}

}  // namespace

// The counts at scale s; minimums keep every workload meaningful.
Counts scaled_counts(double s) {
  Counts c{};
  c.keys = scaled(1e6, s, 1000);
  c.keys = (c.keys + 99) / 100 * 100;  // whole prefix groups of 100
  c.reads = scaled(2e5, s, 100);
  c.exists = scaled(2e5, s, 100);
  c.update_single = scaled(5e4, s, 50);
  c.update_batch = scaled(2e5, s, 100);
  c.deletes = std::min(c.keys / 2, scaled(5e4, s, 50));
  c.mixed = scaled(2e5, s, 100);
  c.bulk = scaled(1e6, s, 1000);
  c.prefix_scans = scaled(1e4, s, 20);
  c.seeks = scaled(1e5, s, 50);
  c.range_len = 10;
  c.value64 = scaled(2e5, s, 100);
  c.value1k = scaled(1e5, s, 50);
  c.value16k = scaled(2e4, s, 20);
  c.txn_size = 1000;
  c.delete_txn_small = scaled(5e3, s, 10);
  c.delete_txn_large = scaled(5e4, s, 50);
  c.mixed_txn = scaled(5e4, s, 50);
  // The deletes of all four delete workloads take distinct keys (see
  // workloads_txn.cc); never more than half the keys between them.
  const uint64_t deleted =
      c.deletes + c.delete_txn_small + c.delete_txn_large + c.mixed_txn / 2 + 1;
  if (deleted > c.keys / 2) {
    const double f =
        static_cast<double>(c.keys / 2) / static_cast<double>(deleted);
    c.deletes = std::max<uint64_t>(1, static_cast<uint64_t>(c.deletes * f));
    c.delete_txn_small =
        std::max<uint64_t>(1, static_cast<uint64_t>(c.delete_txn_small * f));
    c.delete_txn_large =
        std::max<uint64_t>(1, static_cast<uint64_t>(c.delete_txn_large * f));
    c.mixed_txn = std::max<uint64_t>(2, static_cast<uint64_t>(c.mixed_txn * f));
  }
  c.bulk_seq = scaled(1e6, s, 1000);
  c.fresh_keys = c.keys;
  c.read_with_writer = scaled(2e5, s, 100);
  c.writer_every = 500;
  return c;
}

// Parses the options listed in kUsage.
bool parse_options(int argc, char** argv, Config* cfg) {
  auto fail = [](const std::string& why) {
    std::fprintf(stderr, "snkv_bench: %s\n%s", why.c_str(), kUsage);
    return false;
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    // The argument after option a (consumed), or nullptr if there is none.
    auto value = [&]() -> const char* {
      return i + 1 < argc ? argv[++i] : nullptr;
    };
    if (a == "--smoke") {
      cfg->smoke = true;
    } else if (a == "--list") {
      cfg->list = true;
    } else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--scale" || a == "--repeat" || a == "--stores" ||
               a == "--workloads" || a == "--duration" || a == "--json" ||
               a == "--dir" || a == "--value-size") {
      const char* v = value();
      if (!v) return fail(std::string(a) + " needs a value");
      char* end = nullptr;
      if (a == "--scale") {
        cfg->scale = std::strtod(v, &end);
        if (*end || !(cfg->scale > 0)) return fail("bad --scale");
      } else if (a == "--repeat") {
        cfg->repeat = static_cast<int>(std::strtol(v, &end, 10));
        if (*end || cfg->repeat < 1) return fail("bad --repeat");
      } else if (a == "--duration") {
        cfg->duration_s = std::strtod(v, &end);
        if (*end || !(cfg->duration_s > 0)) return fail("bad --duration");
      } else if (a == "--value-size") {
        long n = std::strtol(v, &end, 10);
        if (*end || n < 17 || n > (1 << 20)) return fail("bad --value-size");
        cfg->value_size = static_cast<size_t>(n);
      } else if (a == "--stores") {
        cfg->stores = split(v);
      } else if (a == "--workloads") {
        cfg->workloads = split(v);
      } else if (a == "--json") {
        cfg->json_path = v;
      } else {
        cfg->dir = v;
      }
    } else {
      return fail("unknown option " + std::string(a));
    }
  }
  if (cfg->smoke) {
    cfg->scale = 0.002;
    cfg->duration_s = 0.15;
    cfg->repeat = 1;
  }
  if (cfg->dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    cfg->dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/snkv-bench-" +
               std::to_string(getpid());
  }
  cfg->counts = scaled_counts(cfg->scale);
  return true;
}

}  // namespace bench
