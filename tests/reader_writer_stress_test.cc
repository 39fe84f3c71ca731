// Readers in one process against a writer in another that commits, grows
// and shrinks the file and restarts the WAL all the time.
//
// The page reader keeps per-handle state that outlives one read (the map,
// the frame cache, the per-snapshot slot table, a checkpoint it waits to
// settle); the checkpoint code decides when a commit copies the WAL and
// asks for catch-up passes. Each of those is meant to hold across every
// way the WAL and the file change under it. Here a forked writer rewrites
// whole groups of keys in one transaction each (values large enough to
// need overflow pages; filler rows inserted and deleted so pages split,
// merge and move), runs TRUNCATE and RESTART checkpoints and incremental
// vacuums, while reader threads, each with its own handle, check every
// read against what a group must look like: in one read transaction all
// its keys carry one version, never older than one seen before, each value
// exactly the bytes the writer derived from (version, group, key).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "c_api_test_util.h"
#include "kvstore.h"
#include "test_util.h"

namespace {

using snkv::test::Get;
using snkv::test::kNotFound;
using snkv::test::OpenWal;
using snkv::test::Put;
using snkv::test::TempDir;

constexpr int kGroups = 24;
constexpr int kKeysPerGroup = 24;

std::string GroupKey(int g, int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "g%03d:%03d", g, i);
  return buf;
}

// The value the writer stores for key i of group g at version v: a header
// naming all three, then bytes derived from them; 30 bytes to ~6 KiB, so
// some rows spill to overflow pages and some do not.
std::string GroupValue(uint32_t v, int g, int i) {
  char head[48];
  std::snprintf(head, sizeof(head), "v=%08u g=%03d i=%03d|", v, g, i);
  uint32_t x = v * 2654435761u ^ static_cast<uint32_t>(g * 40503 + i * 977);
  const size_t len = 30 + (x % 7) * (x % 901);
  std::string out(head);
  out.reserve(out.size() + len);
  for (size_t n = 0; n < len; ++n) {
    x = x * 1103515245u + 12345u;
    out.push_back(static_cast<char>(x >> 24));
  }
  return out;
}

// The version in a value's header, or 0 if it has none.
uint32_t VersionOf(const std::string& value) {
  unsigned v = 0;
  return std::sscanf(value.c_str(), "v=%08u ", &v) == 1 ? v : 0;
}

// The writer, run in a forked child: commits until `millis` have passed,
// then exits 0, or 1 after printing the first failure. Only snkv calls,
// no gtest (the child must not report into the parent's results).
[[noreturn]] void RunWriter(const std::string& path, int millis) {
  auto fail = [](const char* what, int rc) {
    std::fprintf(stderr, "writer: %s failed: rc %d\n", what, rc);
    std::_Exit(1);
  };
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_NORMAL;
  // Long enough for any lock a write waits on; a TRUNCATE or RESTART
  // checkpoint held back by readers gives up after it (BUSY).
  cfg.busyTimeout = 1000;
  KVStore* kv = nullptr;
  int rc = kvstore_open_v2(path.c_str(), &kv, &cfg);
  if (rc != KVSTORE_OK) fail("open", rc);
  std::mt19937 rng(7);
  std::vector<std::string> fillers;
  const auto end =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(millis);
  for (uint32_t version = 1; std::chrono::steady_clock::now() < end;
       ++version) {
    if ((rc = kvstore_begin(kv, 1)) != KVSTORE_OK) fail("begin", rc);
    const int g = static_cast<int>(rng() % kGroups);
    for (int i = 0; i < kKeysPerGroup; ++i) {
      const std::string v = GroupValue(version, g, i);
      if ((rc = Put(kv, GroupKey(g, i), v)) != KVSTORE_OK) fail("put", rc);
    }
    // Filler rows between and around the groups, up to a few hundred KiB:
    // pages split as they come and merge (and free pages) as they go.
    if (fillers.size() < 60 || rng() % 3 != 0) {
      for (int n = 0; n < 8; ++n) {
        char k[32];
        std::snprintf(k, sizeof(k), "g%03u:f%08x", rng() % (kGroups + 1),
                      static_cast<unsigned>(rng()));
        fillers.emplace_back(k);
        const std::string v(100 + rng() % 9000, static_cast<char>('a' + n));
        if ((rc = Put(kv, k, v)) != KVSTORE_OK) fail("filler put", rc);
      }
    } else {
      for (int n = 0; n < 40 && !fillers.empty(); ++n) {
        const size_t at = rng() % fillers.size();
        const std::string& k = fillers[at];
        rc = kvstore_delete(kv, k.data(), static_cast<int>(k.size()));
        if (rc != KVSTORE_OK && rc != KVSTORE_NOTFOUND) fail("delete", rc);
        fillers[at] = fillers.back();
        fillers.pop_back();
      }
    }
    if ((rc = kvstore_commit(kv)) != KVSTORE_OK) fail("commit", rc);
    // The WAL restarted under the readers, the file shrunk behind them.
    // BUSY is a checkpoint that could not finish (a reader held it back).
    if (version % 11 == 0 || version % 17 == 0) {
      rc = kvstore_checkpoint(kv,
                              version % 11 == 0 ? KVSTORE_CHECKPOINT_TRUNCATE
                                                : KVSTORE_CHECKPOINT_RESTART,
                              nullptr, nullptr);
      if (rc != KVSTORE_OK && rc != KVSTORE_BUSY) fail("checkpoint", rc);
    }
    if (version % 23 == 0 &&
        (rc = kvstore_incremental_vacuum(kv, 0)) != KVSTORE_OK) {
      fail("incremental_vacuum", rc);
    }
  }
  if ((rc = kvstore_close(kv)) != KVSTORE_OK) fail("close", rc);
  std::_Exit(0);
}

// What one reader thread found wrong (empty: nothing) and how many group
// reads it checked.
struct ReaderResult {
  std::string error;
  int groups_checked = 0;
};

// Reads until `stop`, each check against the rules in the file comment;
// `seen[g]` is the newest version of group g this thread saw.
void RunReader(const std::string& path, int seed, const std::atomic<bool>* stop,
               ReaderResult* out) {
  KVStore* kv = OpenWal(path, 10000);
  if (kv == nullptr) {
    out->error = "open failed";
    return;
  }
  std::mt19937 rng(seed);
  std::vector<uint32_t> seen(kGroups, 0);
  auto check_group = [&](int g, bool in_txn) -> std::string {
    // A read transaction sees one snapshot: the whole group at one version.
    // Outside one, each get may see a newer commit: each value must still
    // be whole and no older than what this thread saw before the reads.
    const uint32_t floor = seen[g];
    uint32_t first = 0;
    for (int i = 0; i < kKeysPerGroup; ++i) {
      const std::string k = GroupKey(g, i);
      const std::string got = Get(kv, k);
      if (got == kNotFound) {
        if (floor != 0 || first != 0) return "missing " + k;
        continue;
      }
      const uint32_t v = VersionOf(got);
      if (v == 0 || got != GroupValue(v, g, i)) {
        return "damaged value of " + k + ": " + got.substr(0, 40);
      }
      if (v < floor) {
        return k + " went back from version " + std::to_string(floor) + " to " +
               std::to_string(v);
      }
      if (i == 0) first = v;
      if (in_txn && v != first) {
        return k + " at version " + std::to_string(v) +
               " in a snapshot where key 0 is at " + std::to_string(first);
      }
      if (i > 0 && first == 0 && in_txn) return "group half there: " + k;
      int found = -1;
      const int rc =
          kvstore_exists(kv, k.data(), static_cast<int>(k.size()), &found);
      if (rc != KVSTORE_OK || found != 1) {
        return "exists(" + k + ") rc " + std::to_string(rc) + " found " +
               std::to_string(found);
      }
      seen[g] = std::max(seen[g], v);
    }
    return "";
  };
  while (!stop->load(std::memory_order_relaxed) && out->error.empty()) {
    const int g = static_cast<int>(rng() % kGroups);
    const int mode = static_cast<int>(rng() % 3);
    if (mode == 0) {
      const int rc = kvstore_begin(kv, 0);
      if (rc != KVSTORE_OK) {
        out->error = "begin read rc " + std::to_string(rc);
        break;
      }
      out->error = check_group(g, true);
      if (out->error.empty()) {
        // The same snapshot through an iterator: the group's rows in key
        // order, fillers skipped, every group row at the same version.
        KVIterator* it = nullptr;
        char prefix[8];
        std::snprintf(prefix, sizeof(prefix), "g%03d:", g);
        if (kvstore_prefix_iterator_create(kv, prefix, 5, &it) != KVSTORE_OK) {
          out->error = "iterator create failed";
        } else {
          int rows = 0;
          for (kvstore_iterator_first(it); !kvstore_iterator_eof(it);
               kvstore_iterator_next(it)) {
            void* key = nullptr;
            int nkey = 0;
            void* val = nullptr;
            int nval = 0;
            if (kvstore_iterator_key(it, &key, &nkey) != KVSTORE_OK ||
                kvstore_iterator_value(it, &val, &nval) != KVSTORE_OK) {
              out->error = "iterator read failed";
              break;
            }
            const std::string k(static_cast<char*>(key), nkey);
            if (k[5] == 'f') continue;  // a filler row
            const std::string v(static_cast<char*>(val), nval);
            const int i = std::atoi(k.c_str() + 5);
            if (k != GroupKey(g, rows) || VersionOf(v) != seen[g] ||
                v != GroupValue(seen[g], g, i)) {
              out->error = "iterator row " + k + " differs in one snapshot";
              break;
            }
            ++rows;
          }
          kvstore_iterator_close(it);
          if (out->error.empty() && rows != (seen[g] ? kKeysPerGroup : 0)) {
            out->error = "iterator saw " + std::to_string(rows) + " rows";
          }
        }
      }
      if (out->error.empty() && rng() % 4 == 0) {
        // Held past the page reader's wait for a checkpoint to settle
        // (20 ms) while the writer commits and checkpoints on: the same
        // snapshot reads the same group again, and one more.
        const uint32_t before = seen[g];
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
        out->error = check_group(g, true);
        if (out->error.empty() && seen[g] != before) {
          out->error =
              "a snapshot changed while held: group " + std::to_string(g);
        }
        if (out->error.empty()) {
          out->error = check_group(static_cast<int>(rng() % kGroups), true);
        }
      }
      const int end = kvstore_commit(kv);
      if (out->error.empty() && end != KVSTORE_OK) {
        out->error = "end read rc " + std::to_string(end);
      }
    } else {
      out->error = check_group(g, false);
    }
    ++out->groups_checked;
  }
  if (kvstore_close(kv) != KVSTORE_OK && out->error.empty()) {
    out->error = "close failed";
  }
}

TEST(ReaderWriterStress, ThreadsWithOwnHandlesAgainstAWriterProcess) {
  TempDir dir;
  const std::string path = dir.file("stress.db");
  {
    // The store exists before the readers open it.
    KVStore* kv = OpenWal(path);
    ASSERT_NE(kv, nullptr);
    ASSERT_EQ(kvstore_close(kv), KVSTORE_OK);
  }
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) RunWriter(path, 3000);
  std::atomic<bool> stop{false};
  std::vector<ReaderResult> results(3);
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back(RunReader, path, 100 + t, &stop, &results[t]);
  }
  int status = 0;
  const pid_t waited = waitpid(pid, &status, 0);
  stop = true;
  for (auto& t : readers) t.join();
  ASSERT_EQ(waited, pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  for (const ReaderResult& r : results) {
    EXPECT_EQ(r.error, "");
    EXPECT_GT(r.groups_checked, 50);
  }
  KVStore* kv = OpenWal(path);
  ASSERT_NE(kv, nullptr);
  char* msg = nullptr;
  EXPECT_EQ(kvstore_integrity_check(kv, &msg), KVSTORE_OK) << (msg ? msg : "");
  snkv_free(msg);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

}  // namespace
