// options.h -- the command line of snkv_bench and the workload sizes it
// implies.
#ifndef SNKV_BENCH_OPTIONS_H
#define SNKV_BENCH_OPTIONS_H

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

// Operation counts of the workloads, already scaled.
struct Counts {
  uint64_t keys;              // main data set, written by seq_write
  uint64_t reads;             // random_read
  uint64_t exists;            // exists
  uint64_t update_single;     // update_autocommit
  uint64_t update_batch;      // update_batch (one transaction)
  uint64_t deletes;           // delete_autocommit
  uint64_t mixed;             // mixed
  uint64_t bulk;              // bulk_insert
  uint64_t prefix_scans;      // prefix_scan (100 keys each)
  uint64_t seeks;             // seek_range
  uint64_t range_len;         // keys read after each seek
  uint64_t value64;           // value64 writes and reads
  uint64_t value1k;           // value1k writes and reads
  uint64_t value16k;          // value16k writes and reads
  uint64_t txn_size;          // ops per transaction of sequential writes
  uint64_t delete_txn_small;  // delete_txn5k (one transaction)
  uint64_t delete_txn_large;  // delete_txn50k (one transaction)
  uint64_t mixed_txn;         // mixed_txn (one transaction)
  uint64_t bulk_seq;          // bulk_seq (one transaction)
  uint64_t fresh_keys;        // the store fresh_read and fresh_exists load
  uint64_t read_with_writer;  // reads of read_with_writer
  uint64_t writer_every;      // read_with_writer: reads per other-handle write
};

struct Config {
  double scale = 1.0;
  int repeat = 1;
  double duration_s = 3.0;  // of each concurrency workload
  size_t value_size = 100;  // bytes, for the main data set
  bool smoke = false;
  bool list = false;
  std::vector<std::string> stores;     // empty: all compiled in
  std::vector<std::string> workloads;  // empty: all
  std::string json_path;
  std::string dir;  // where stores are created; removed afterwards
  Counts counts{};
};

// Parses argv into *cfg; returns false (after printing why and the usage
// to stderr) on a bad command line.
bool parse_options(int argc, char** argv, Config* cfg);

// The counts at scale s (never below the minimum each workload needs).
Counts scaled_counts(double s);

}  // namespace bench

#endif  // SNKV_BENCH_OPTIONS_H
