// Options: how a store is opened, and the small value types of the API.
#ifndef SNKV_OPTIONS_H
#define SNKV_OPTIONS_H

#include <cstdint>
#include <functional>

namespace snkv {

enum class JournalMode : int { kDelete = 0, kWal = 1 };
enum class SyncLevel : int { kOff = 0, kNormal = 1, kFull = 2 };
enum class CheckpointMode : int {
  kPassive = 0,
  kFull = 1,
  kRestart = 2,
  kTruncate = 3
};
enum class TxnMode : int { kRead = 0, kWrite = 1 };

inline constexpr int kMaxColumnFamilies = 64;  // the default one included
inline constexpr int kMaxColumnFamilyName = 255;
inline constexpr int64_t kNoTtl = -1;  // "no expiry" remaining time

struct Options {
  JournalMode journal_mode = JournalMode::kWal;
  SyncLevel sync_level = SyncLevel::kNormal;
  int cache_size_pages = 2000;  // > 0
  int page_size = 4096;         // new files only; power of two 512..65536
  bool read_only = false;
  int busy_timeout_ms = 0;  // >= 0
  int wal_size_limit = 0;   // > 0: PASSIVE checkpoint every N commits
  // false: never memory-map the database file (KVStoreConfig.noMmap).
  bool memory_map = true;
  // Optional. While a call waits out busy_timeout_ms for a lock another
  // connection holds, it asks this about every 100 ms whether to keep
  // waiting; false ends the wait at once and the call fails with kBusy.
  // For hosts that must stay interruptible (the Python binding checks for
  // Ctrl-C here). Runs on the waiting thread, inside the store call: it
  // must not call into the store.
  std::function<bool()> keep_waiting;
};

// Cumulative counters; see kvstore.h for each one's meaning.
struct Stats {
  uint64_t puts = 0;
  uint64_t gets = 0;
  uint64_t deletes = 0;
  uint64_t iterations = 0;
  uint64_t errors = 0;
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  uint64_t wal_commits = 0;
  uint64_t checkpoints = 0;
  uint64_t ttl_expired = 0;
  uint64_t ttl_purged = 0;
  uint64_t db_pages = 0;  // gauge
};

struct CheckpointResult {
  int log_frames = 0;           // frames in the WAL
  int checkpointed_frames = 0;  // frames copied into the database
};

// Milliseconds since the Unix epoch (the clock TTLs are measured against).
int64_t NowMs() noexcept;

}  // namespace snkv

#endif  // SNKV_OPTIONS_H
