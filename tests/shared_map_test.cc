// The memory map of a database file shared by the handles of a process
// (engine/shared_map.h). What a user relies on:
//   - many handles reading one file cost about one file's worth of resident
//     memory, not one per handle;
//   - reads stay right while a writer grows the file under readers in many
//     threads, and while handles open and close in any order;
//   - the last handle to let go of a map unmaps it;
//   - a forked child opens and reads the file with maps of its own;
//   - noMmap handles map nothing.
#include "engine/shared_map.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "c_api_test_util.h"
#include "kvstore.h"
#include "snkv/snkv.h"
#include "test_util.h"

namespace {

using snkv::engine::SharedMaps;
using snkv::test::Get;
using snkv::test::OpenWal;
using snkv::test::Put;
using snkv::test::TempDir;

std::string Key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key%08d", i);
  return buf;
}
// A value that names its key and version, 600 bytes long.
std::string Value(int i, int version) {
  std::string v = Key(i) + "/v" + std::to_string(version) + "/";
  v.resize(600, static_cast<char>('a' + (i + version) % 26));
  return v;
}
// Whether v is some version of key i's value.
bool IsValueOf(const std::string& v, int i) {
  const std::string prefix = Key(i) + "/v";
  return v.size() == 600 && v.compare(0, prefix.size(), prefix) == 0;
}

// One field of /proc/self/status, in KiB.
long StatusKib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return -1;
}

long FileKib(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  return static_cast<long>(in.tellg()) / 1024;
}

// Writes keys [from, to) at `version`, 500 per transaction.
void Load(KVStore* kv, int from, int to, int version) {
  for (int i = from; i < to;) {
    ASSERT_EQ(kvstore_begin(kv, 1), KVSTORE_OK);
    for (int end = std::min(to, i + 500); i < end; ++i) {
      ASSERT_EQ(Put(kv, Key(i), Value(i, version)), KVSTORE_OK);
    }
    ASSERT_EQ(kvstore_commit(kv), KVSTORE_OK);
  }
}

// Reads every key in [0, n) twice (the second time from a held snapshot,
// whose pages are read through the map). False on the first wrong value.
bool ReadAll(KVStore* kv, int n) {
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < n; ++i) {
      if (!IsValueOf(Get(kv, Key(i)), i)) return false;
    }
  }
  return true;
}

constexpr int kKeys = 30000;  // about 24 MiB of file

class SharedMap : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = SharedMaps::LiveGenerations();
    path_ = dir_.file("shared.db");
    writer_ = OpenWal(path_, 10000);
    ASSERT_NE(writer_, nullptr);
    Load(writer_, 0, kKeys, 1);
    // Everything into the file, so that reads go through the map.
    ASSERT_EQ(kvstore_checkpoint(writer_, KVSTORE_CHECKPOINT_TRUNCATE, nullptr,
                                 nullptr),
              KVSTORE_OK);
  }
  void TearDown() override {
    if (writer_ != nullptr) EXPECT_EQ(kvstore_close(writer_), KVSTORE_OK);
  }

  TempDir dir_;
  std::string path_;
  KVStore* writer_ = nullptr;
  size_t base_ = 0;  // generations alive before the test
};

TEST_F(SharedMap, FourHandlesCostAboutOneFileOfResidentMemory) {
  const long file_kib = FileKib(path_);
  ASSERT_GT(file_kib, 10 * 1024);
  const long before = StatusKib("RssFile");
  ASSERT_GE(before, 0) << "no RssFile in /proc/self/status";
  std::vector<KVStore*> readers;
  for (int h = 0; h < 4; ++h) {
    readers.push_back(OpenWal(path_, 10000));
    ASSERT_NE(readers.back(), nullptr);
  }
  std::vector<std::thread> pool;
  std::atomic<int> bad{0};
  for (KVStore* kv : readers) {
    pool.emplace_back([&, kv] {
      if (!ReadAll(kv, kKeys)) ++bad;
    });
  }
  for (auto& t : pool) t.join();
  EXPECT_EQ(bad, 0);
  const long grown = StatusKib("RssFile") - before;
  // Each handle mapping the file on its own grew it by 4 files' worth.
  EXPECT_LT(grown, file_kib * 3 / 2)
      << "RssFile grew " << grown << " KiB for a " << file_kib
      << " KiB file read by 4 handles";
  for (KVStore* kv : readers) EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

TEST_F(SharedMap, LastHandleToLetGoUnmaps) {
  EXPECT_EQ(kvstore_close(writer_), KVSTORE_OK);
  writer_ = nullptr;
  const size_t base = SharedMaps::LiveGenerations();
  EXPECT_EQ(base, base_);
  KVStore* a = OpenWal(path_);
  KVStore* b = OpenWal(path_);
  ASSERT_TRUE(ReadAll(a, 2000));
  ASSERT_TRUE(ReadAll(b, 2000));
  // The file did not change size: both read through one generation.
  EXPECT_EQ(SharedMaps::LiveGenerations(), base + 1);
  EXPECT_EQ(kvstore_close(a), KVSTORE_OK);
  EXPECT_EQ(SharedMaps::LiveGenerations(), base + 1);  // b still reads
  ASSERT_TRUE(ReadAll(b, kKeys));
  EXPECT_EQ(kvstore_close(b), KVSTORE_OK);
  EXPECT_EQ(SharedMaps::LiveGenerations(), base);
}

TEST_F(SharedMap, NoMmapHandlesMapNothing) {
  EXPECT_EQ(kvstore_close(writer_), KVSTORE_OK);
  writer_ = nullptr;
  const size_t base = SharedMaps::LiveGenerations();
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_NORMAL;
  cfg.noMmap = 1;
  KVStore* kv = nullptr;
  ASSERT_EQ(kvstore_open_v2(path_.c_str(), &kv, &cfg), KVSTORE_OK);
  EXPECT_TRUE(ReadAll(kv, kKeys));
  EXPECT_EQ(SharedMaps::LiveGenerations(), base);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

// Readers in six threads open a handle, read random keys, and close it
// again, in no fixed order, while the writer grows the file to three times
// its size with checkpoints between; every value read must be its key's.
TEST_F(SharedMap, ReadersOpenAndCloseWhileTheWriterGrowsTheFile) {
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::atomic<int> reads{0};
  std::atomic<int> grown_to{kKeys};
  std::vector<std::thread> pool;
  for (int t = 0; t < 6; ++t) {
    pool.emplace_back([&, t] {
      std::mt19937 rng(t);
      while (!stop) {
        KVStore* kv = OpenWal(path_, 10000);
        if (kv == nullptr) {
          ++bad;
          return;
        }
        const int rounds = 50 + static_cast<int>(rng() % 400);
        for (int r = 0; r < rounds; ++r) {
          const int n = grown_to.load();
          const int i = static_cast<int>(rng() % static_cast<unsigned>(n));
          if (!IsValueOf(Get(kv, Key(i)), i)) ++bad;
          ++reads;
        }
        if (kvstore_close(kv) != KVSTORE_OK) ++bad;
      }
    });
  }
  for (int step = 1; step <= 4; ++step) {
    const int from = kKeys + (step - 1) * kKeys / 2;
    const int to = from + kKeys / 2;
    Load(writer_, from, to, 2);
    Load(writer_, 0, 2000, step + 2);  // rewrites of old pages too
    grown_to = to;
    // BUSY when the background checkpoint is running: it copies anyway.
    const int rc = kvstore_checkpoint(writer_, KVSTORE_CHECKPOINT_PASSIVE,
                                      nullptr, nullptr);
    EXPECT_TRUE(rc == KVSTORE_OK || rc == KVSTORE_BUSY) << rc;
  }
  // Let the readers see the last size for a moment.
  const int seen = reads.load();
  while (reads.load() < seen + 2000) std::this_thread::yield();
  stop = true;
  for (auto& t : pool) t.join();
  EXPECT_EQ(bad, 0);
  EXPECT_GT(reads, 0);
  KVStore* last = OpenWal(path_);
  EXPECT_TRUE(ReadAll(last, grown_to));
  EXPECT_EQ(kvstore_close(last), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(writer_), KVSTORE_OK);
  writer_ = nullptr;
  EXPECT_EQ(SharedMaps::LiveGenerations(), base_)
      << "a map outlived every handle";
}

// Many handles read one file in many threads at once, while others close
// theirs: no handle's close may take a map another still reads through.
TEST_F(SharedMap, HandlesClosingInAnyOrderLeaveOthersReading) {
  constexpr int kHandles = 12;
  std::vector<KVStore*> handles;
  for (int h = 0; h < kHandles; ++h) handles.push_back(OpenWal(path_, 10000));
  std::atomic<int> bad{0};
  std::vector<std::thread> pool;
  for (int h = 0; h < kHandles; ++h) {
    pool.emplace_back([&, h] {
      // Handle h reads for h+1 rounds of 2000 keys, then closes: they
      // close one after another while the later ones still read.
      std::mt19937 rng(h);
      for (int r = 0; r < 2000 * (h + 1); ++r) {
        const int i = static_cast<int>(rng() % kKeys);
        if (!IsValueOf(Get(handles[h], Key(i)), i)) ++bad;
      }
      if (kvstore_close(handles[h]) != KVSTORE_OK) ++bad;
    });
  }
  for (auto& t : pool) t.join();
  EXPECT_EQ(bad, 0);
}

// A child forked while the parent's handles hold maps reads the file
// through maps of its own, and the parent goes on reading through its.
TEST_F(SharedMap, ForkedChildMapsTheFileAfresh) {
  KVStore* reader = OpenWal(path_);
  ASSERT_TRUE(ReadAll(reader, kKeys));
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(60);
    const size_t base = SharedMaps::LiveGenerations();
    KVStore* kv = nullptr;
    KVStoreConfig cfg = {};
    cfg.journalMode = KVSTORE_JOURNAL_WAL;
    cfg.syncLevel = KVSTORE_SYNC_NORMAL;
    cfg.busyTimeout = 10000;
    if (kvstore_open_v2(path_.c_str(), &kv, &cfg) != KVSTORE_OK) _exit(10);
    if (!ReadAll(kv, kKeys)) _exit(11);
    // Its own generation, not the parent's.
    if (SharedMaps::LiveGenerations() != base + 1) _exit(12);
    if (kvstore_close(kv) != KVSTORE_OK) _exit(13);
    if (SharedMaps::LiveGenerations() != base) _exit(14);
    _exit(0);
  }
  EXPECT_TRUE(ReadAll(reader, kKeys));
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "child failed at step";
  EXPECT_TRUE(ReadAll(reader, kKeys));
  EXPECT_EQ(kvstore_close(reader), KVSTORE_OK);
}

}  // namespace
