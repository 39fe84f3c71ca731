// fork() while stores are open (kv/fork_guard.h).
//
// A forked child has only the forking thread. Before the fork handlers, a
// child that opened a new handle hung in 4-14 of every 20-60 runs, on a
// SQLite mutex one of snkv's background threads held at the fork. What a
// user relies on:
//   - under write load in the parent (a writer thread, the background
//     checkpointer and the idle releaser all busy) a child can at once open
//     a new handle on the same file, read and write: no child ever hangs;
//   - a handle inherited from the parent fails in the child with a clear
//     error instead of touching the parent's connection, releasing it in
//     the child is harmless, and the parent goes on as if nothing happened.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "c_api_test_util.h"
#include "kvstore.h"
#include "snkv/snkv.h"
#include "test_util.h"

namespace {

using snkv::test::Get;
using snkv::test::OpenWal;
using snkv::test::Put;
using snkv::test::TempDir;

// Exit codes of a child; a hang shows as SIGALRM.
constexpr int kChildOk = 0;
constexpr int kChildTimeoutSeconds = 20;

// Forks; the child runs body() under an alarm and exits with what it
// returns (never returning into the test framework). The parent waits at
// most `kChildTimeoutSeconds` + 10 s. Returns a description of how the
// child ended: "" if it exited with kChildOk.
std::string RunChild(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid < 0) return std::string("fork failed: ") + std::strerror(errno);
  if (pid == 0) {
    alarm(kChildTimeoutSeconds);  // a hang kills the child with SIGALRM
    int code = body();
    _exit(code);  // no atexit handlers, no gtest teardown in the child
  }
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::seconds(kChildTimeoutSeconds + 10);
  int status = 0;
  for (;;) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0) return std::string("waitpid failed: ") + std::strerror(errno);
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      (void)waitpid(pid, &status, 0);
      return "child hung (killed)";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (WIFSIGNALED(status)) {
    return WTERMSIG(status) == SIGALRM
               ? "child hung (no exit within " +
                     std::to_string(kChildTimeoutSeconds) + " s)"
               : "child died of signal " + std::to_string(WTERMSIG(status));
  }
  if (WEXITSTATUS(status) != kChildOk) {
    return "child failed at step " + std::to_string(WEXITSTATUS(status));
  }
  return "";
}

int Len(const std::string& s) { return static_cast<int>(s.size()); }

// In a child: opens a new handle on `path`, reads `parent_key` (committed
// before the fork), writes and reads back `child_key`, closes. 0 on
// success, else the number of the step that failed.
int UseNewHandle(const std::string& path, const std::string& parent_key,
                 const std::string& child_key) {
  KVStoreConfig cfg = {};
  cfg.journalMode = KVSTORE_JOURNAL_WAL;
  cfg.syncLevel = KVSTORE_SYNC_NORMAL;
  cfg.busyTimeout = 10000;  // the parent's writer holds the lock often
  KVStore* kv = nullptr;
  if (kvstore_open_v2(path.c_str(), &kv, &cfg) != KVSTORE_OK) return 10;
  void* p = nullptr;
  int n = 0;
  if (kvstore_get(kv, parent_key.data(), Len(parent_key), &p, &n) !=
      KVSTORE_OK) {
    return 11;
  }
  snkv_free(p);
  const std::string v = "from " + std::to_string(getpid());
  if (kvstore_put(kv, child_key.data(), Len(child_key), v.data(), Len(v)) !=
      KVSTORE_OK) {
    return 12;
  }
  if (kvstore_get(kv, child_key.data(), Len(child_key), &p, &n) != KVSTORE_OK) {
    return 13;
  }
  const bool same =
      std::string(static_cast<char*>(p), static_cast<size_t>(n)) == v;
  snkv_free(p);
  if (!same) return 14;
  if (kvstore_close(kv) != KVSTORE_OK) return 15;
  return 0;
}

TEST(Fork, HundredForksUnderWriteLoadNeverHang) {
  TempDir dir;
  const std::string path = dir.file("fork.db");
  KVStore* writer_kv = OpenWal(path, 10000);
  KVStore* reader_kv = OpenWal(path, 10000);
  ASSERT_NE(writer_kv, nullptr);
  ASSERT_NE(reader_kv, nullptr);
  ASSERT_EQ(Put(writer_kv, "before", "fork"), KVSTORE_OK);

  // The writer commits one put at a time (a WAL frame each, so background
  // checkpoints keep being requested) and reads now and then; the reader's
  // snapshots go idle between its reads, for the idle releaser to end.
  std::atomic<bool> stop{false};
  std::atomic<int> puts{0};
  std::atomic<int> errors{0};
  std::thread writer([&] {
    const std::string value(600, 'w');
    for (int i = 0; !stop.load(); ++i) {
      const std::string k = "w" + std::to_string(i % 20000);
      if (Put(writer_kv, k, value) != KVSTORE_OK) ++errors;
      ++puts;
      if (i % 64 == 0 && Get(writer_kv, k) != value) ++errors;
    }
  });
  std::thread reader([&] {
    for (int i = 0; !stop.load(); ++i) {
      if (Get(reader_kv, "before") != "fork") ++errors;
      std::this_thread::sleep_for(std::chrono::milliseconds(i % 7));
    }
  });

  constexpr int kForks = 100;
  int hung_or_failed = 0;
  for (int i = 0; i < kForks; ++i) {
    const std::string child_key = "child" + std::to_string(i);
    std::string outcome =
        RunChild([&] { return UseNewHandle(path, "before", child_key); });
    if (!outcome.empty()) {
      ++hung_or_failed;
      ADD_FAILURE() << "fork " << i << ": " << outcome;
      if (hung_or_failed >= 3) break;
    }
    // Vary the moment of the fork against the writer's cycle.
    std::this_thread::sleep_for(std::chrono::microseconds(200 * (i % 10)));
  }
  stop = true;
  writer.join();
  reader.join();
  EXPECT_EQ(errors.load(), 0);
  // (Some thousands of puts normally, far fewer under ThreadSanitizer.)
  EXPECT_GT(puts.load(), 300) << "too little write load to mean anything";

  // Every child's write is there, and the parent's handles still work.
  for (int i = 0; i < kForks && hung_or_failed == 0; ++i) {
    const std::string v = Get(reader_kv, "child" + std::to_string(i));
    EXPECT_EQ(v.rfind("from ", 0), 0u) << "child" << i << ": " << v;
  }
  KVStoreStats stats{};
  ASSERT_EQ(kvstore_stats(writer_kv, &stats), KVSTORE_OK);
  EXPECT_GT(stats.nCheckpoints, 0u) << "the checkpointer never ran";
  char* problems = nullptr;
  EXPECT_EQ(kvstore_integrity_check(writer_kv, &problems), KVSTORE_OK)
      << (problems ? problems : "");
  snkv_free(problems);
  EXPECT_EQ(kvstore_close(reader_kv), KVSTORE_OK);
  EXPECT_EQ(kvstore_close(writer_kv), KVSTORE_OK);
}

// Steps of the inherited-handle child, as exit codes.
enum InheritedStep {
  kGetFails = 20,
  kMessage,
  kPutFails,
  kCfFails,
  kIteratorFails,
  kCppFails,
  kClosesQuietly,
  kNewHandleWorks,
};

TEST(Fork, InheritedHandleFailsClearlyAndTheParentGoesOn) {
  TempDir dir;
  const std::string path = dir.file("inherit.db");
  KVStore* kv = OpenWal(path);
  ASSERT_NE(kv, nullptr);
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(Put(kv, "k" + std::to_string(i), "v" + std::to_string(i)),
              KVSTORE_OK);
  }
  KVColumnFamily* cf = nullptr;
  ASSERT_EQ(kvstore_cf_create(kv, "fam", &cf), KVSTORE_OK);
  ASSERT_EQ(kvstore_cf_put(cf, "a", 1, "b", 1), KVSTORE_OK);
  // An iterator positioned mid-scan holds a read transaction at the fork.
  KVIterator* it = nullptr;
  ASSERT_EQ(kvstore_iterator_create(kv, &it), KVSTORE_OK);
  ASSERT_EQ(kvstore_iterator_first(it), KVSTORE_OK);
  snkv::Store cpp;
  ASSERT_TRUE(snkv::Store::Open(path, {}, &cpp).ok());
  ASSERT_TRUE(cpp.Put("cpp", "1").ok());

  const std::string outcome = RunChild([&]() -> int {
    void* p = nullptr;
    int n = 0;
    if (kvstore_get(kv, "k1", 2, &p, &n) != KVSTORE_ERROR) return kGetFails;
    if (std::strstr(kvstore_errmsg(kv), "after fork()") == nullptr) {
      return kMessage;
    }
    if (kvstore_put(kv, "x", 1, "y", 1) != KVSTORE_ERROR) return kPutFails;
    if (kvstore_cf_get(cf, "a", 1, &p, &n) != KVSTORE_ERROR) return kCfFails;
    if (kvstore_iterator_next(it) != KVSTORE_ERROR) return kIteratorFails;
    std::string v;
    snkv::Status s = cpp.Get("cpp", &v);
    if (s.code() != snkv::Code::kError ||
        s.message().find("after fork()") == std::string::npos) {
      return kCppFails;
    }
    // Releasing inherited handles frees this process's memory and leaves
    // the parent's connection (its locks, its WAL) alone.
    kvstore_iterator_close(it);
    kvstore_cf_close(cf);
    if (kvstore_close(kv) != KVSTORE_OK) return kClosesQuietly;
    if (!cpp.Close().ok()) return kClosesQuietly;
    // A new handle works at once.
    if (UseNewHandle(path, "k7", "from-child") != 0) return kNewHandleWorks;
    return kChildOk;
  });
  EXPECT_EQ(outcome, "");

  // The parent: its iterator goes on where it was, its handles read and
  // write, and the child's write is there.
  ASSERT_EQ(kvstore_iterator_eof(it), 0);
  int seen = 1;
  while (kvstore_iterator_next(it) == KVSTORE_OK && !kvstore_iterator_eof(it)) {
    ++seen;
  }
  EXPECT_EQ(seen, 50);
  kvstore_iterator_close(it);
  EXPECT_EQ(Get(kv, "k7"), "v7");
  EXPECT_EQ(Put(kv, "after", "fork"), KVSTORE_OK);
  EXPECT_EQ(Get(kv, "after"), "fork");
  EXPECT_EQ(Get(kv, "from-child").rfind("from ", 0), 0u);
  std::string v;
  EXPECT_TRUE(cpp.Get("cpp", &v).ok());
  EXPECT_EQ(v, "1");
  void* p = nullptr;
  int n = 0;
  ASSERT_EQ(kvstore_cf_get(cf, "a", 1, &p, &n), KVSTORE_OK);
  snkv_free(p);
  kvstore_cf_close(cf);
  char* problems = nullptr;
  EXPECT_EQ(kvstore_integrity_check(kv, &problems), KVSTORE_OK)
      << (problems ? problems : "");
  snkv_free(problems);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
  EXPECT_TRUE(cpp.Close().ok());
  // And the file reopens with everything in it.
  KVStore* again = OpenWal(path);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(Get(again, "after"), "fork");
  EXPECT_EQ(Get(again, "k49"), "v49");
  EXPECT_EQ(kvstore_close(again), KVSTORE_OK);
}

// A child of a child: the first child's own handles are its own (they work
// there) and are the parent's in the grandchild.
TEST(Fork, GenerationsAreTrackedAcrossNestedForks) {
  TempDir dir;
  const std::string path = dir.file("nested.db");
  KVStore* kv = OpenWal(path);
  ASSERT_NE(kv, nullptr);
  ASSERT_EQ(Put(kv, "root", "1"), KVSTORE_OK);
  const std::string outcome = RunChild([&]() -> int {
    KVStore* mine = OpenWal(path, 10000);
    if (mine == nullptr) return 30;
    if (Get(mine, "root") != "1") return 31;
    if (Put(mine, "child", "1") != KVSTORE_OK) return 32;
    const std::string inner = RunChild([&]() -> int {
      if (Get(mine, "root") != "<rc 1>") return 40;  // the child's: foreign
      if (UseNewHandle(path, "child", "grandchild") != 0) return 41;
      return kChildOk;
    });
    if (!inner.empty()) return 33;
    if (Get(mine, "grandchild").rfind("from ", 0) != 0) return 34;
    if (kvstore_close(mine) != KVSTORE_OK) return 35;
    return kChildOk;
  });
  EXPECT_EQ(outcome, "");
  EXPECT_EQ(Get(kv, "child"), "1");
  EXPECT_EQ(Get(kv, "grandchild").rfind("from ", 0), 0u);
  EXPECT_EQ(kvstore_close(kv), KVSTORE_OK);
}

}  // namespace
