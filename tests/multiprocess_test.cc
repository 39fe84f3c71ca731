// Several processes on one store file. The other processes are
// tests/tools/mp_worker.cc; this process is "A".
//
// What is checked (kvstore.h, store.h, ARCHITECTURE "Read path",
// "Concurrency"):
//   - reads outside a transaction see every commit that finished before
//     they started, from any process, also after a TRUNCATE checkpoint;
//   - a TRUNCATE checkpoint succeeds while another process has the store
//     open and is idle;
//   - writers in two processes with a busy timeout both complete;
//   - put_if_absent is atomic across processes.
// No timing is asserted; the only clock is a generous guard against hangs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "snkv/snkv.h"
#include "test_util.h"
#include "child_process.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kHangGuard = std::chrono::seconds(60);

using Child = snkv::test::ChildProcess;

const char* JournalName(snkv::JournalMode m) {
  return m == snkv::JournalMode::kWal ? "wal" : "delete";
}

snkv::Options Opts(snkv::JournalMode m, int busy_ms = 10000) {
  snkv::Options o;
  o.journal_mode = m;
  o.busy_timeout_ms = busy_ms;
  o.sync_level = snkv::SyncLevel::kOff;  // as mp_worker: no fsync needed
  return o;
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_size);
}

class MultiProcessTest : public ::testing::TestWithParam<snkv::JournalMode> {
 protected:
  snkv::test::TempDir dir_;
  std::string path_ = dir_.file("mp.db");
  std::unique_ptr<Child> Serve(int busy_ms = 10000) {
    return std::make_unique<Child>(std::vector<std::string>{
        SNKV_TOOL_MP_WORKER, "serve", path_, JournalName(GetParam()),
        std::to_string(busy_ms)});
  }
};

// B (another process, handle open all along) sees each of A's commits at
// once, and A sees B's.
TEST_P(MultiProcessTest, ReadsSeeOtherProcessCommits) {
  snkv::Store a;
  ASSERT_TRUE(snkv::Store::Open(path_, Opts(GetParam()), &a).ok());
  auto b = Serve();
  ASSERT_EQ(b->ReadLine(), "ready");
  EXPECT_EQ(b->Ask("get k"), "notfound");
  EXPECT_EQ(b->Ask("count"), "count 0");

  for (int i = 0; i < 100; ++i) {
    SCOPED_TRACE("i=" + std::to_string(i));
    std::string v = "v" + std::to_string(i);
    ASSERT_TRUE(a.Put("k", v).ok());
    ASSERT_EQ(b->Ask("get k"), "value " + v);  // an overwrite
    std::string nk = "n" + std::to_string(i);
    ASSERT_TRUE(a.Put(nk, "x").ok());
    ASSERT_EQ(b->Ask("get " + nk), "value x");  // a new key
    // k, n0..ni and b0..b(i-1) (written by B itself)
    ASSERT_EQ(b->Ask("count"), "count " + std::to_string(2 * i + 2));
    if (i % 10 == 9) {
      ASSERT_TRUE(a.Delete(nk).ok());
      ASSERT_EQ(b->Ask("get " + nk), "notfound");  // a delete
      ASSERT_TRUE(a.Put(nk, "y").ok());
    }
    // And the other way round.
    std::string bk = "b" + std::to_string(i);
    ASSERT_EQ(b->Ask("put " + bk + " w" + std::to_string(i)), "ok");
    std::string got;
    snkv::Status s = a.Get(bk, &got);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(got, "w" + std::to_string(i));
    bool exists = false;
    ASSERT_TRUE(a.Exists(bk, &exists).ok());
    EXPECT_TRUE(exists);
  }
  // A transaction commit of several keys is seen whole, and by iterators.
  {
    snkv::Transaction t;
    ASSERT_TRUE(a.BeginTransaction(snkv::TxnMode::kWrite, &t).ok());
    ASSERT_TRUE(a.Put("t1", "1").ok());
    ASSERT_TRUE(a.Put("t2", "2").ok());
    ASSERT_TRUE(a.Put("t3", "3").ok());
    // Uncommitted writes are not visible to B.
    EXPECT_EQ(b->Ask("get t1"), "notfound");
    ASSERT_TRUE(t.Commit().ok());
  }
  EXPECT_EQ(b->Ask("scan t"), "keys t1,t2,t3");
  EXPECT_EQ(b->Ask("quit"), "<eof>");
  EXPECT_TRUE(b->ExitedOk());
}

// A's TRUNCATE checkpoint succeeds while B has the store open and is idle,
// and B's reads stay fresh after the WAL was truncated.
TEST_P(MultiProcessTest, TruncateCheckpointWhileOtherProcessIdle) {
  if (GetParam() != snkv::JournalMode::kWal) {
    // Not WAL: documented as a no-op returning 0/0, also with B open.
    snkv::Store a;
    ASSERT_TRUE(snkv::Store::Open(path_, Opts(GetParam()), &a).ok());
    auto b = Serve();
    ASSERT_EQ(b->ReadLine(), "ready");
    ASSERT_TRUE(a.Put("k", "v").ok());
    EXPECT_EQ(b->Ask("get k"), "value v");
    snkv::CheckpointResult r{7, 7};
    snkv::Status s = a.Checkpoint(snkv::CheckpointMode::kTruncate, &r);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(r.log_frames, 0);
    EXPECT_EQ(r.checkpointed_frames, 0);
    return;
  }
  snkv::Store a;
  ASSERT_TRUE(snkv::Store::Open(path_, Opts(GetParam()), &a).ok());
  auto b = Serve();
  ASSERT_EQ(b->ReadLine(), "ready");
  const std::string wal = path_ + "-wal";
  int first_try_busy = 0;

  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::string v = "v" + std::to_string(round);
    for (int j = 0; j < 20; ++j) {
      ASSERT_TRUE(a.Put("k" + std::to_string(j), v).ok());
    }
    // B reads (so its handle has been used) and then sits idle.
    ASSERT_EQ(b->Ask("get k0"), "value " + v);
    ASSERT_EQ(b->Ask("get k19"), "value " + v);
    ASSERT_GT(FileSize(wal), 0);

    snkv::CheckpointResult r;
    snkv::Status s = a.Checkpoint(snkv::CheckpointMode::kTruncate, &r);
    if (s.IsBusy()) {
      // ARCHITECTURE: an idle handle drops its snapshot after a few ms.
      // Retry for a while instead of asserting on timing.
      ++first_try_busy;
      auto deadline = Clock::now() + std::chrono::seconds(10);
      while (s.IsBusy() && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        s = a.Checkpoint(snkv::CheckpointMode::kTruncate, &r);
      }
    }
    ASSERT_TRUE(s.ok()) << "TRUNCATE checkpoint with B idle: " << s.ToString()
                        << " (last_error: " << a.last_error() << ")";
    EXPECT_EQ(r.log_frames, r.checkpointed_frames);
    EXPECT_EQ(FileSize(wal), 0) << "TRUNCATE must leave an empty WAL";

    // After the truncation B must still see every new commit of A ...
    std::string w = "w" + std::to_string(round);
    ASSERT_TRUE(a.Put("k0", w).ok());
    ASSERT_EQ(b->Ask("get k0"), "value " + w);
    ASSERT_EQ(b->Ask("get k19"), "value " + v);
    ASSERT_TRUE(a.Put("new" + std::to_string(round), w).ok());
    ASSERT_EQ(b->Ask("get new" + std::to_string(round)), "value " + w);
    ASSERT_EQ(b->Ask("count"), "count " + std::to_string(20 + round + 1));
    // ... and its own writes must reach A.
    ASSERT_EQ(b->Ask("put fromb " + w), "ok");
    std::string got;
    ASSERT_TRUE(a.Get("fromb", &got).ok());
    EXPECT_EQ(got, w);
    ASSERT_TRUE(a.Delete("fromb").ok());
  }
  // The other way round: B truncates while A is idle, A reads fresh.
  ASSERT_TRUE(a.Put("z", "1").ok());
  std::string got;
  ASSERT_TRUE(a.Get("z", &got).ok());
  std::string reply = b->Ask("checkpoint");
  for (int tries = 0; reply.rfind("error 5 ", 0) == 0 && tries < 500; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    reply = b->Ask("checkpoint");
  }
  EXPECT_EQ(reply, "ok");
  EXPECT_EQ(FileSize(wal), 0);
  ASSERT_EQ(b->Ask("put z 2"), "ok");
  ASSERT_TRUE(a.Get("z", &got).ok());
  EXPECT_EQ(got, "2");

  EXPECT_EQ(b->Ask("quit"), "<eof>");
  EXPECT_TRUE(b->ExitedOk());
  std::printf(
      "[ info     ] TRUNCATE checkpoint was BUSY on first try in %d of "
      "20 rounds\n",
      first_try_busy);
}

// Two processes writing at once, each with a busy timeout: every write of
// both completes.
TEST_P(MultiProcessTest, TwoWritersWithBusyTimeoutBothComplete) {
  {
    snkv::Store init;  // create the store first so both writers open it
    ASSERT_TRUE(snkv::Store::Open(path_, Opts(GetParam()), &init).ok());
  }
  constexpr int kN = 300;
  std::vector<std::unique_ptr<Child>> writers;
  for (const char* prefix : {"p", "q"}) {
    writers.push_back(std::make_unique<Child>(std::vector<std::string>{
        SNKV_TOOL_MP_WORKER, "write", path_, JournalName(GetParam()), "30000",
        prefix, std::to_string(kN)}));
  }
  for (auto& w : writers) ASSERT_EQ(w->ReadLine(), "ready");
  for (auto& w : writers) ASSERT_TRUE(w->Send("go"));
  for (auto& w : writers) {
    EXPECT_EQ(w->ReadLine(), "done");
    EXPECT_TRUE(w->ExitedOk());
  }

  snkv::Store a;
  ASSERT_TRUE(snkv::Store::Open(path_, Opts(GetParam()), &a).ok());
  int64_t count = 0;
  ASSERT_TRUE(a.DefaultColumnFamily().Count(&count).ok());
  EXPECT_EQ(count, 2 * (kN + kN / 10));
  for (const char* prefix : {"p", "q"}) {
    for (int j = 0; j < kN; ++j) {
      std::string key = prefix + std::to_string(j);
      std::string v;
      ASSERT_TRUE(a.Get(key, &v).ok()) << key;
      EXPECT_EQ(v, "v" + key);
      if (j % 10 == 0) {
        ASSERT_TRUE(a.Get(key + "b", &v).ok()) << key << "b";
        EXPECT_EQ(v, "v" + key + "b");
      }
    }
  }
  std::string problems;
  EXPECT_TRUE(a.IntegrityCheck(&problems).ok()) << problems;
}

// put_if_absent on one key from four processes at once: exactly one of them
// inserts, and its value is the one stored.
TEST_P(MultiProcessTest, PutIfAbsentFromFourProcessesInsertsOnce) {
  {
    snkv::Store init;
    ASSERT_TRUE(snkv::Store::Open(path_, Opts(GetParam()), &init).ok());
  }
  for (int round = 0; round < 8; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::string key = "lock" + std::to_string(round);
    std::vector<std::unique_ptr<Child>> procs;
    for (int p = 0; p < 4; ++p) {
      procs.push_back(std::make_unique<Child>(std::vector<std::string>{
          SNKV_TOOL_MP_WORKER, "pia", path_, JournalName(GetParam()), "30000",
          key, "owner" + std::to_string(p)}));
    }
    for (auto& c : procs) ASSERT_EQ(c->ReadLine(), "ready");
    for (auto& c : procs) ASSERT_TRUE(c->Send("go"));
    int inserted = 0, present = 0, winner = -1;
    for (int p = 0; p < 4; ++p) {
      std::string r = procs[p]->ReadLine();
      if (r == "inserted") {
        ++inserted;
        winner = p;
      } else if (r == "present") {
        ++present;
      } else {
        ADD_FAILURE() << "process " << p << ": " << r;
      }
      EXPECT_TRUE(procs[p]->ExitedOk());
    }
    EXPECT_EQ(inserted, 1);
    EXPECT_EQ(present, 3);
    snkv::Store a;
    ASSERT_TRUE(snkv::Store::Open(path_, Opts(GetParam()), &a).ok());
    std::string v;
    ASSERT_TRUE(a.Get(key, &v).ok());
    if (winner >= 0) {
      EXPECT_EQ(v, "owner" + std::to_string(winner));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Journal, MultiProcessTest,
                         ::testing::Values(snkv::JournalMode::kWal,
                                           snkv::JournalMode::kDelete),
                         [](const auto& info) {
                           return std::string(JournalName(info.param));
                         });

}  // namespace
