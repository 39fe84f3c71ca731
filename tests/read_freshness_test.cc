// Fresh reads with a cached snapshot: a read outside a transaction sees
// every commit that finished before it (any handle, thread or process), and
// an idle handle never holds back another connection's checkpoint.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "kv/api_access.h"
#include "snkv/snkv.h"
#include "test_util.h"

namespace snkv {
namespace {

using std::chrono::milliseconds;

class FreshReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("fresh.db");
    ASSERT_TRUE(Store::Open(path_, {}, &a_).ok());
    ASSERT_TRUE(Store::Open(path_, {}, &b_).ok());
  }

  std::string GetOrDie(Store& s, const std::string& key) {
    std::string v;
    Status st = s.Get(key, &v);
    return st.ok() ? v : "<" + st.ToString() + ">";
  }

  test::TempDir dir_;
  std::string path_;
  Store a_;
  Store b_;
};

TEST_F(FreshReadTest, EveryCommitOfAnotherHandleIsSeenAtOnce) {
  for (int i = 0; i < 2000; ++i) {
    std::string key = "k" + std::to_string(i % 37);
    std::string value = "v" + std::to_string(i);
    Status put = a_.Put(key, value);
    ASSERT_TRUE(put.ok()) << put.ToString();
    ASSERT_EQ(GetOrDie(b_, key), value) << "iteration " << i;
    bool exists = false;
    ASSERT_TRUE(b_.Exists("new" + std::to_string(i), &exists).ok());
    ASSERT_FALSE(exists);
    put = a_.Put("new" + std::to_string(i), "x");
    ASSERT_TRUE(put.ok()) << put.ToString();
    ASSERT_TRUE(b_.Exists("new" + std::to_string(i), &exists).ok());
    ASSERT_TRUE(exists) << "iteration " << i;
  }
}

TEST_F(FreshReadTest, DeletesAndCheckpointsAreSeen) {
  ASSERT_TRUE(a_.Put("key", "one").ok());
  ASSERT_EQ(GetOrDie(b_, "key"), "one");
  CheckpointResult r;
  ASSERT_TRUE(a_.Checkpoint(CheckpointMode::kTruncate, &r).ok());
  ASSERT_TRUE(a_.Put("key", "two").ok());
  ASSERT_EQ(GetOrDie(b_, "key"), "two");
  ASSERT_TRUE(a_.Checkpoint(CheckpointMode::kTruncate, &r).ok());
  ASSERT_EQ(GetOrDie(b_, "key"), "two");
  ASSERT_TRUE(a_.Delete("key").ok());
  std::string v;
  EXPECT_TRUE(b_.Get("key", &v).IsNotFound());
}

TEST_F(FreshReadTest, TruncateCheckpointSucceedsWhileOtherHandleIsOpen) {
  ASSERT_TRUE(a_.Put("key", "value").ok());
  ASSERT_EQ(GetOrDie(b_, "key"), "value");  // b_ now caches a snapshot
  CheckpointResult r;
  ASSERT_TRUE(a_.Checkpoint(CheckpointMode::kTruncate, &r).ok());
  EXPECT_EQ(test::ReadFile(path_ + "-wal").size(), 0u);
}

TEST_F(FreshReadTest, ReadTransactionKeepsItsSnapshot) {
  ASSERT_TRUE(a_.Put("key", "old").ok());
  ASSERT_TRUE(b_.Begin(TxnMode::kRead).ok());
  ASSERT_EQ(GetOrDie(b_, "key"), "old");
  ASSERT_TRUE(a_.Put("key", "new").ok());
  EXPECT_EQ(GetOrDie(b_, "key"), "old");
  ASSERT_TRUE(b_.Commit().ok());
  EXPECT_EQ(GetOrDie(b_, "key"), "new");
}

TEST_F(FreshReadTest, ReadsAreFreshAgainAfterAnIteratorFinishes) {
  ASSERT_TRUE(a_.Put("a", "1").ok());
  ASSERT_TRUE(a_.Put("b", "1").ok());
  {
    Iterator it = b_.NewIterator();
    ASSERT_TRUE(it.SeekToFirst().ok());
    ASSERT_TRUE(it.Valid());
    ASSERT_TRUE(a_.Put("a", "2").ok());  // commit while b_'s cursor is open
    // While the cursor is open, b_'s reads share its snapshot (one SQLite
    // connection has one read transaction); what matters is what follows.
    (void)GetOrDie(b_, "b");
    ASSERT_TRUE(it.Next().ok());
    ASSERT_TRUE(it.Valid());
  }
  // The iterator is gone: b_ must not keep reading the old snapshot.
  EXPECT_EQ(GetOrDie(b_, "a"), "2");
  ASSERT_TRUE(a_.Put("a", "3").ok());
  EXPECT_EQ(GetOrDie(b_, "a"), "3");
}

// Keys and values a full scan of `s` sees, forward or backward.
std::vector<std::string> ScanKeys(Store& s, bool reverse) {
  std::vector<std::string> keys;
  IteratorOptions options;
  options.reverse = reverse;
  for (const auto& [k, v] : s.NewIterator(options))
    keys.push_back(k.ToString());
  return keys;
}

std::string ScanKey(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "s%05d", i);
  return buf;
}

TEST_F(FreshReadTest, LongScansSkipKeysThatExpiredUnderAnotherHandle) {
  // A long scan of a family without TTLs drops the expires column from its
  // statement; once another handle writes the first TTL, scans must filter
  // again.
  for (int i = 0; i < 1000; i += 2) ASSERT_TRUE(a_.Put(ScanKey(i), "v").ok());
  for (bool reverse : {false, true}) {
    EXPECT_EQ(ScanKeys(a_, reverse).size(), 500u);
  }
  // b_ writes keys between a_'s, already expired, beyond the first 128 rows.
  for (int i = 601; i < 1000; i += 2) {
    ASSERT_TRUE(b_.Put(ScanKey(i), "gone", NowMs() - 1000).ok());
  }
  ASSERT_TRUE(b_.Put(ScanKey(999), "live").ok());
  std::vector<std::string> want;
  for (int i = 0; i < 1000; i += 2) want.push_back(ScanKey(i));
  want.push_back(ScanKey(999));
  EXPECT_EQ(ScanKeys(a_, false), want);
  std::reverse(want.begin(), want.end());
  EXPECT_EQ(ScanKeys(a_, true), want);
}

TEST_F(FreshReadTest, LongScansSkipKeysThatExpireUnderTheirOwnHandle) {
  // The scan has stopped reading expiries when its own handle writes the
  // family's first TTLs ahead of it: rows the running statement would
  // show must still be filtered.
  for (int i = 0; i < 1000; i += 2) ASSERT_TRUE(a_.Put(ScanKey(i), "v").ok());
  for (bool in_transaction : {true, false}) {
    SCOPED_TRACE(in_transaction);
    if (in_transaction) ASSERT_TRUE(a_.Begin(TxnMode::kWrite).ok());
    Iterator it = a_.NewIterator();
    ASSERT_TRUE(it.SeekToFirst().ok());
    for (int i = 0; i < 300; ++i) ASSERT_TRUE(it.Next().ok());
    ASSERT_TRUE(it.Valid());
    EXPECT_EQ(it.key().ToString(), ScanKey(600));
    // Expired keys ahead of the scan, and one live key. Whether the
    // running scan shows the autocommit round's live key is up to SQLite;
    // it must never show an expired one.
    const int first = in_transaction ? 701 : 901;
    for (int i = first; i < first + 98; i += 2) {
      ASSERT_TRUE(a_.Put(ScanKey(i), "gone", 1).ok());
    }
    ASSERT_TRUE(a_.Put(ScanKey(first + 98), "live").ok());
    std::vector<std::string> seen;
    for (; it.Valid(); (void)it.Next()) {
      if (it.key() != ScanKey(999)) seen.push_back(it.key().ToString());
    }
    ASSERT_TRUE(it.status().ok()) << it.status().ToString();
    std::vector<std::string> want;
    for (int i = 600; i < 1000; i += 2) want.push_back(ScanKey(i));
    want.push_back(ScanKey(799));  // live, from the transaction round
    std::sort(want.begin(), want.end());
    EXPECT_EQ(seen, want);
    it.Close();
    if (in_transaction) ASSERT_TRUE(a_.Commit().ok());
  }
}

TEST_F(FreshReadTest, LongScansFilterAgainAfterARolledBackSchemaChange) {
  for (int i = 0; i < 1000; i += 2) ASSERT_TRUE(a_.Put(ScanKey(i), "v").ok());
  // a_ scans inside a transaction that changed the schema, then rolls it
  // back; the schema version it scanned at comes round again when b_
  // creates the expiry index. a_ must not trust what it saw under it.
  ASSERT_TRUE(a_.Begin(TxnMode::kWrite).ok());
  ColumnFamily extra;
  ASSERT_TRUE(a_.CreateColumnFamily("extra", &extra).ok());
  EXPECT_EQ(ScanKeys(a_, false).size(), 500u);
  ASSERT_TRUE(a_.Rollback().ok());
  for (int i = 701; i < 1000; i += 2) {
    ASSERT_TRUE(b_.Put(ScanKey(i), "gone", NowMs() - 1000).ok());
  }
  std::vector<std::string> want;
  for (int i = 0; i < 1000; i += 2) want.push_back(ScanKey(i));
  EXPECT_EQ(ScanKeys(a_, false), want);
  std::reverse(want.begin(), want.end());
  EXPECT_EQ(ScanKeys(a_, true), want);
}

TEST_F(FreshReadTest, ThreadsSeeEachOthersCommits) {
  // Two connections at work at once: as in SQLite, a reader can hold a
  // lock for a moment that a writer with no busy timeout would fail on.
  Options patient;
  patient.busy_timeout_ms = 10000;
  Store writer_handle;
  ASSERT_TRUE(Store::Open(path_, patient, &writer_handle).ok());
  std::atomic<int> committed{-1};
  std::atomic<bool> stale{false};
  std::atomic<bool> failed{false};
  std::thread writer([&] {
    for (int i = 0; i < 500; ++i) {
      if (!writer_handle.Put("counter", std::to_string(i)).ok()) {
        failed = true;
        committed.store(499);  // lets the reader stop
        return;
      }
      committed.store(i);
    }
  });
  std::thread reader([&] {
    while (committed.load() < 499) {
      int floor = committed.load();
      std::string v;
      Status s = b_.Get("counter", &v);
      if (floor >= 0 && (!s.ok() || std::stoi(v) < floor)) stale = true;
    }
  });
  writer.join();
  reader.join();
  EXPECT_FALSE(failed.load());
  EXPECT_FALSE(stale.load());
}

// Runs the store_peer tool (tests/tools/store_peer.cc) and returns its exit
// status; *out receives what it printed.
int Peer(const std::string& args, std::string* out = nullptr) {
  std::string cmd = std::string(SNKV_TOOL_STORE_PEER) + " " + args;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  std::string text;
  char buf[256];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  int status = pclose(p);
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(FreshReadTest, AnotherProcessSeesCommitsAndCanTruncate) {
  ASSERT_TRUE(a_.Put("key", "parent").ok());
  ASSERT_EQ(GetOrDie(b_, "key"), "parent");  // b_ caches a snapshot now

  // Another process reads our commit, then writes; we must see it at once.
  std::string seen;
  ASSERT_EQ(Peer(path_ + " get key", &seen), 0);
  EXPECT_EQ(seen, "parent");
  ASSERT_EQ(Peer(path_ + " put key child"), 0);
  EXPECT_EQ(GetOrDie(b_, "key"), "child");
  EXPECT_EQ(GetOrDie(a_, "key"), "child");

  // Both handles now sit idle; once idle they must release their snapshots
  // so that another process can truncate the WAL. The sleep covers the idle
  // period; the checkpoint itself neither waits nor retries.
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(Peer(path_ + " truncate"), 0);
  EXPECT_EQ(test::ReadFile(path_ + "-wal").size(), 0u);
  EXPECT_EQ(GetOrDie(b_, "key"), "child");
  ASSERT_EQ(Peer(path_ + " put key again"), 0);
  EXPECT_EQ(GetOrDie(b_, "key"), "again");
}

// Autocommit writes keep a read transaction open between them (the write
// pin, docs/design.md "Writes"). Another handle's commit makes it stale:
// the next write must notice, start over on the latest data and lose
// nothing, whichever handle wrote last. Every fourth value is large, so
// that the writes of out-of-line values (several statements in one write
// scope, under the pin too) take turns with the single-statement ones.
TEST_F(FreshReadTest, AutocommitWritesFromTwoHandlesInTurnAreAllKept) {
  std::map<std::string, std::string> model;
  Store* handles[2] = {&a_, &b_};
  for (int i = 0; i < 3000; ++i) {
    Store& w = *handles[(i / 3) % 2];  // three writes each, then the other
    const std::string key = "k" + std::to_string(i % 41);
    const std::string value =
        (i % 4 == 3 ? std::string(3000, static_cast<char>('a' + i % 26)) : "") +
        "v" + std::to_string(i);
    switch (i % 5) {
      case 0: {
        Status st = w.Delete(key);
        ASSERT_TRUE(st.ok() || st.IsNotFound()) << st.ToString();
        ASSERT_EQ(st.ok(), model.erase(key) == 1) << "iteration " << i;
        break;
      }
      case 1: {
        bool inserted = false;
        ASSERT_TRUE(
            w.DefaultColumnFamily().PutIfAbsent(key, value, 0, &inserted).ok());
        ASSERT_EQ(inserted, model.count(key) == 0) << "iteration " << i;
        model.emplace(key, value);
        break;
      }
      default:
        ASSERT_TRUE(w.Put(key, value).ok()) << "iteration " << i;
        model[key] = value;
    }
  }
  for (Store* s : handles) {
    std::map<std::string, std::string> seen;
    for (const auto& [k, v] : s->NewIterator({})) {
      seen.emplace(std::string(k.view()), std::string(v.view()));
    }
    EXPECT_EQ(seen, model);
  }
}

// A write upgrading the pinned read transaction cannot wait for the write
// lock; it must fall back to an ordinary write that waits the busy timeout.
// The same for a large value, whose write scope begins on the pin.
TEST_F(FreshReadTest, AutocommitWriteWaitsOutAnotherHandlesTransaction) {
  Options waiting;
  waiting.busy_timeout_ms = 10000;
  Store a;
  Store b;
  ASSERT_TRUE(Store::Open(path_, waiting, &a).ok());
  ASSERT_TRUE(Store::Open(path_, waiting, &b).ok());
  for (const std::string& mine :
       {std::string("from a"), std::string(5000, 'A') + "from a"}) {
    SCOPED_TRACE(mine.size());
    for (int i = 0; i < 10; ++i) {  // a's pin is held from here on
      ASSERT_TRUE(a.Put("a" + std::to_string(i), mine).ok());
    }
    std::atomic<bool> holding{false};
    std::thread other([&] {
      Transaction txn;
      ASSERT_TRUE(b.BeginTransaction(TxnMode::kWrite, &txn).ok());
      ASSERT_TRUE(b.Put("shared", "from b").ok());
      holding = true;
      std::this_thread::sleep_for(milliseconds(300));
      ASSERT_TRUE(txn.Commit().ok());
    });
    while (!holding) std::this_thread::yield();
    Status put = a.Put("shared+", mine);  // waits for b's commit
    other.join();
    ASSERT_TRUE(put.ok()) << put.ToString();
    EXPECT_EQ(GetOrDie(a, "shared"), "from b");
    EXPECT_EQ(GetOrDie(b, "shared+"), mine);
    ASSERT_TRUE(a.Put("a0", "y").ok());  // and the pin works again
    EXPECT_EQ(GetOrDie(b, "a0"), "y");
    ASSERT_TRUE(b.Delete("shared").ok());
  }
}

// A handle that wrote and then went idle holds nothing another process's
// TRUNCATE checkpoint would wait for.
TEST_F(FreshReadTest, IdleWriterLetsAnotherProcessTruncate) {
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(a_.Put("k" + std::to_string(i), "v").ok());
  }
  std::this_thread::sleep_for(milliseconds(100));  // past the idle period
  ASSERT_EQ(Peer(path_ + " truncate"), 0);
  EXPECT_EQ(test::ReadFile(path_ + "-wal").size(), 0u);
  ASSERT_TRUE(a_.Put("after", "truncate").ok());
  EXPECT_EQ(GetOrDie(b_, "after"), "truncate");
  EXPECT_EQ(GetOrDie(a_, "k49"), "v");
}

// The same after out-of-line puts, overwrites in place and deletes, whose
// write scopes run on the write pin: the idle releaser ends that pin too.
TEST_F(FreshReadTest, IdleOutOfLineWriterLetsAnotherProcessTruncate) {
  const std::string big(3000, 'b');
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(
          a_.Put("k" + std::to_string(i), big + std::to_string(round)).ok());
    }
    ASSERT_TRUE(a_.Delete("k" + std::to_string(round)).ok());
  }
  std::this_thread::sleep_for(milliseconds(100));  // past the idle period
  ASSERT_EQ(Peer(path_ + " truncate"), 0);
  EXPECT_EQ(test::ReadFile(path_ + "-wal").size(), 0u);
  ASSERT_TRUE(a_.Put("after", big).ok());
  EXPECT_EQ(GetOrDie(b_, "after"), big);
  EXPECT_EQ(GetOrDie(a_, "k19"), big + "2");
}

// Reads after the handle's own writes see them, and see another handle's
// commit made in between.
TEST_F(FreshReadTest, ReadsBetweenAutocommitWritesAreFresh) {
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(a_.Put("mine", std::to_string(i)).ok());
    ASSERT_TRUE(a_.Put("mine2", std::to_string(i)).ok());
    if (i % 3 == 0) ASSERT_TRUE(b_.Put("theirs", std::to_string(i)).ok());
    ASSERT_EQ(GetOrDie(a_, "mine2"), std::to_string(i));
    ASSERT_EQ(GetOrDie(a_, "theirs"), std::to_string(i - i % 3));
  }
}

// A handle's snapshot, once the idle releaser ended it, is taken again by
// the very next read when nothing was committed meanwhile: idleness says
// nothing about other writers. (Before, kQuietReadsBeforeSnapshot reads had
// to pass first, so an iterator opened after a pause ran its whole scan
// through SQL at half the speed.) The snapshot here was first taken right
// after the handle's own writes, the case that fix was about: the last
// header the handle had seen was from before them.
TEST_F(FreshReadTest, AReadAfterAnIdleReleaseHoldsASnapshotAgainAtOnce) {
  using internal::ApiAccess;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(a_.Put("k" + std::to_string(i), "v" + std::to_string(i)).ok());
  }
  uint64_t taken = ApiAccess::SnapshotsTaken(a_);
  ASSERT_EQ(GetOrDie(a_, "k7"), "v7");
  ASSERT_EQ(ApiAccess::SnapshotsTaken(a_), taken + 1)
      << "a read right after the handle's own writes holds a snapshot";

  ApiAccess::ReleaseIdleSnapshot(a_);
  taken = ApiAccess::SnapshotsTaken(a_);
  EXPECT_EQ(GetOrDie(a_, "k8"), "v8");
  EXPECT_EQ(ApiAccess::SnapshotsTaken(a_), taken + 1)
      << "the first read after the idle release ran without a snapshot";

  // An iterator opened after a pause holds a snapshot from its first read.
  ASSERT_TRUE(a_.Put("k49", "v49").ok());
  ASSERT_EQ(GetOrDie(a_, "k49"), "v49");
  ApiAccess::ReleaseIdleSnapshot(a_);
  taken = ApiAccess::SnapshotsTaken(a_);
  {
    Iterator it = a_.NewIterator();
    EXPECT_EQ(ApiAccess::SnapshotsTaken(a_), taken + 1)
        << "the iterator's first read (opening it) ran without a snapshot";
    int rows = 0;
    ASSERT_TRUE(it.SeekToFirst().ok());
    for (; it.Valid(); (void)it.Next()) ++rows;
    ASSERT_TRUE(it.status().ok()) << it.status().ToString();
    EXPECT_EQ(rows, 50);
  }

  // Another handle committed during the pause: that is a sign of writers,
  // so the read runs on its own (and sees the commit), as before.
  ApiAccess::ReleaseIdleSnapshot(a_);
  ASSERT_TRUE(b_.Put("k8", "new").ok());
  taken = ApiAccess::SnapshotsTaken(a_);
  EXPECT_EQ(GetOrDie(a_, "k8"), "new");
  EXPECT_EQ(ApiAccess::SnapshotsTaken(a_), taken);
}

}  // namespace
}  // namespace snkv
