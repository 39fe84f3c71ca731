// value_scan.cc -- CPU time of full scans over out-of-line values
// (docs/design.md, "Out-of-line values"): how the values table's cursor
// fares when references ascend row by row (values loaded in key order) or
// jump (loaded in a random order). Compare two builds by running each on
// the same stores, alternating.
//
//   snkv_value_scan DIR VALUE_BYTES key|random [KEYS]
//
// Loads DIR/scan-<bytes>-<order>-<keys>.db first if it does not exist
// (1,000 puts per transaction), then scans it three times row by row and
// prints the CPU and wall time of the last two. Exits non-zero if a scan
// does not return every row with its full size.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "snkv/snkv.h"

namespace {

double Seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) +
         static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string KeyOf(int i) {
  char key[32];
  std::snprintf(key, sizeof key, "key%010d", i);
  return key;
}

// Puts keys 0..keys-1 with `bytes`-byte values, in key order or shuffled.
bool Load(snkv::Store& db, int keys, size_t bytes, bool random) {
  std::vector<int> ids(static_cast<size_t>(keys));
  for (int i = 0; i < keys; ++i) ids[static_cast<size_t>(i)] = i;
  std::mt19937_64 rng(42);
  if (random) std::shuffle(ids.begin(), ids.end(), rng);
  std::string value(bytes, 'x');
  for (size_t at = 0; at < ids.size(); at += 1000) {
    if (!db.Begin(snkv::TxnMode::kWrite).ok()) return false;
    for (size_t i = at; i < std::min(ids.size(), at + 1000); ++i) {
      for (size_t j = 0; j < bytes; j += 8) value[j] = static_cast<char>(rng());
      if (!db.Put(KeyOf(ids[i]), value).ok()) return false;
    }
    if (!db.Commit().ok()) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: snkv_value_scan DIR VALUE_BYTES key|random [KEYS]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const size_t bytes = std::strtoul(argv[2], nullptr, 10);
  const std::string order = argv[3];
  const int keys = argc > 4 ? std::atoi(argv[4]) : 100000;
  if (bytes == 0 || keys <= 0 || (order != "key" && order != "random")) {
    std::fprintf(stderr, "snkv_value_scan: bad arguments\n");
    return 2;
  }
  const std::string path = dir + "/scan-" + std::to_string(bytes) + "-" +
                           order + "-" + std::to_string(keys) + ".db";
  struct stat st {};
  const bool exists = stat(path.c_str(), &st) == 0;
  snkv::Store db;
  snkv::Status s = snkv::Store::Open(path, {}, &db);
  if (s.ok() && !exists && !Load(db, keys, bytes, order == "random")) {
    s = snkv::Status::Error("load failed");
  }
  if (!s.ok()) {
    std::fprintf(stderr, "snkv_value_scan: %s\n", s.ToString().c_str());
    return 1;
  }
  for (int pass = 0; pass < 3; ++pass) {
    const double cpu0 = Seconds(CLOCK_PROCESS_CPUTIME_ID);
    const double wall0 = Seconds(CLOCK_MONOTONIC);
    snkv::Iterator it = db.NewIterator();
    uint64_t rows = 0;
    uint64_t total = 0;
    for (s = it.SeekToStart(); s.ok() && it.Valid(); s = it.Advance()) {
      ++rows;
      total += it.value().size();
    }
    const double cpu = Seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    const double wall = Seconds(CLOCK_MONOTONIC) - wall0;
    if (!s.ok() || !it.status().ok() || rows != static_cast<uint64_t>(keys) ||
        total != rows * bytes) {
      std::fprintf(stderr, "snkv_value_scan: scan saw %llu rows\n",
                   static_cast<unsigned long long>(rows));
      return 1;
    }
    if (pass > 0) {  // the first pass warms the page cache and the map
      std::printf("%zu B, %s order: cpu %.4f s, wall %.4f s, %.0f rows/s cpu\n",
                  bytes, order.c_str(), cpu, wall,
                  static_cast<double>(rows) / cpu);
    }
  }
  return 0;
}
