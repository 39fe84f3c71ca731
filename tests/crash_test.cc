// Crash safety: a child process (tests/tools/crash_writer.cc) commits
// deterministic transactions and acknowledges each one on a pipe only after
// its commit returned OK; we SIGKILL it at a random moment, then open the
// store and check that it holds exactly the model's state after the last
// acknowledged transaction, or after the one following it (committed, not yet
// acknowledged), never a mix, and that the file passes integrity_check.
//
// Rounds continue on the same file: each writer resumes where the store
// ends, so recovery runs over an ever larger store. The seed of the random
// delays is printed; set SNKV_CRASH_SEED to replay a run. A second writer
// (tests/tools/autocommit_writer.cc) does the same with single autocommit
// writes, on a new store each round.
#define SNKV_CRASH_WRITER_NO_MAIN
#define SNKV_AUTOCOMMIT_WRITER_NO_MAIN
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>

#include "snkv/snkv.h"
#include "test_util.h"
#include "tools/autocommit_writer.cc"
#include "tools/crash_writer.cc"
#include "child_process.h"

namespace {

using crash_model::Entry;
using crash_model::Mode;
using crash_model::State;
using Clock = std::chrono::steady_clock;

using Child = snkv::test::ChildProcess;

// What the store holds: per column family, key -> (value, has TTL).
struct Observed {
  std::map<std::string, std::pair<std::string, bool>> cf[2];
};

Observed Expected(const State& s) {
  Observed o;
  for (int c = 0; c < 2; ++c) {
    for (const auto& [key, e] : s.cf[c]) {
      o.cf[c][key] = {crash_model::MakeValue(key, e), e.ttl};
    }
  }
  if (s.last > 0) {
    o.cf[0][crash_model::kLastKey] = {crash_model::LastValue(s.last), false};
  }
  return o;
}

// Reads every key of `cf` with its value and whether it has a TTL.
::testing::AssertionResult ReadFamily(
    snkv::ColumnFamily cf,
    std::map<std::string, std::pair<std::string, bool>>* out) {
  snkv::Iterator it = cf.NewIterator();
  for (const auto& [key, value] : it) {
    (*out)[key.ToString()] = {value.ToString(), false};
  }
  if (!it.status().ok()) {
    return ::testing::AssertionFailure()
           << "iterating " << cf.name() << ": " << it.status().ToString();
  }
  it.Close();
  int64_t now = snkv::NowMs();
  for (auto& [key, vt] : *out) {
    int64_t remaining = 0;
    snkv::Status s = cf.TtlRemaining(key, &remaining);
    if (!s.ok()) {
      return ::testing::AssertionFailure()
             << "ttl_remaining(" << key << "): " << s.ToString();
    }
    if (remaining != snkv::kNoTtl) {
      if (remaining <= 0 ||
          remaining > crash_model::kFarFutureMs - now + 1000) {
        return ::testing::AssertionFailure()
               << "key " << key << " has an unexpected TTL " << remaining;
      }
      vt.second = true;
    }
  }
  return ::testing::AssertionSuccess();
}

std::string Describe(const Observed& want, const Observed& got) {
  std::ostringstream d;
  int shown = 0;
  for (int c = 0; c < 2; ++c) {
    for (const auto& [key, vt] : want.cf[c]) {
      auto f = got.cf[c].find(key);
      if (f == got.cf[c].end()) {
        if (shown++ < 8) d << "  cf" << c << " missing " << key << "\n";
      } else if (f->second != vt) {
        if (shown++ < 8) {
          d << "  cf" << c << " differs " << key << " (want "
            << vt.first.substr(0, 16) << " ttl=" << vt.second << ", got "
            << f->second.first.substr(0, 16) << " ttl=" << f->second.second
            << ")\n";
        }
      }
    }
    for (const auto& [key, vt] : got.cf[c]) {
      if (!want.cf[c].count(key) && shown++ < 8) {
        d << "  cf" << c << " unexpected " << key << " = "
          << vt.first.substr(0, 16) << "\n";
      }
    }
  }
  return d.str();
}

struct Config {
  const char* journal;  // "wal" | "delete"
  const char* sync;     // "off" | "normal" | "full"
  Mode mode;
  int kills;
};

snkv::Options StoreOptions(const Config& c) {
  snkv::Options o;
  o.journal_mode = std::string(c.journal) == "wal" ? snkv::JournalMode::kWal
                                                   : snkv::JournalMode::kDelete;
  o.sync_level = std::string(c.sync) == "full" ? snkv::SyncLevel::kFull
                                               : snkv::SyncLevel::kNormal;
  o.busy_timeout_ms = 5000;
  return o;
}

uint64_t Seed() {
  if (const char* s = std::getenv("SNKV_CRASH_SEED")) {
    return std::strtoull(s, nullptr, 10);
  }
  return std::random_device{}();
}

// Parses the child's output: "start N" then one index per committed txn.
// Returns the last acknowledged index (or the start index if none).
::testing::AssertionResult ParseAcks(const std::string& text,
                                     uint64_t expect_start, bool* started,
                                     uint64_t* last_ack) {
  std::istringstream in(text);
  std::string line;
  *started = false;
  uint64_t prev = expect_start;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // a torn final line (no '\n') is not an ack
    if (line.rfind("start ", 0) == 0) {
      uint64_t start = std::strtoull(line.c_str() + 6, nullptr, 10);
      if (start != expect_start) {
        return ::testing::AssertionFailure()
               << "writer resumed at " << start << ", store was verified at "
               << expect_start;
      }
      *started = true;
      continue;
    }
    uint64_t i = std::strtoull(line.c_str(), nullptr, 10);
    if (i != prev + 1) {
      return ::testing::AssertionFailure()
             << "ack " << i << " does not follow " << prev;
    }
    prev = i;
  }
  *last_ack = prev;
  return ::testing::AssertionSuccess();
}

// Lets `child` run until it has printed `lines` lines (0: not at all;
// the wait is bounded so that a hung child cannot hang us, and is no
// assertion), then for `delay_ms` more, and SIGKILLs it. Fails if it exited
// by itself.
::testing::AssertionResult KillAfter(Child& child, size_t lines, int delay_ms) {
  bool alive = true;
  const auto limit = Clock::now() + std::chrono::seconds(20);
  while (alive &&
         static_cast<size_t>(std::count(child.text().begin(),
                                        child.text().end(), '\n')) < lines &&
         Clock::now() < limit) {
    alive = child.Pump(Clock::now() + std::chrono::milliseconds(10));
  }
  if (alive) child.Pump(Clock::now() + std::chrono::milliseconds(delay_ms));
  if (child.Exited()) {
    return ::testing::AssertionFailure() << "writer exited by itself (status "
                                         << child.status() << "), output:\n"
                                         << child.text();
  }
  child.Kill();
  child.Drain();
  if (!WIFSIGNALED(child.status())) {
    return ::testing::AssertionFailure() << "writer was not killed";
  }
  return ::testing::AssertionSuccess();
}

void RunCrashRounds(const Config& cfg) {
  snkv::test::TempDir dir;
  const std::string path = dir.file("crash.db");
  const uint64_t seed = Seed();
  std::mt19937_64 rng(seed);
  std::printf("[ seed     ] SNKV_CRASH_SEED=%llu\n",
              static_cast<unsigned long long>(seed));
  SCOPED_TRACE("SNKV_CRASH_SEED=" + std::to_string(seed));

  State verified;  // the state the store was last verified to hold
  int ahead = 0;   // rounds where an unacknowledged commit was found
  int mid_open = 0;
  uint64_t total_acks = 0;
  for (int round = 0; round < cfg.kills; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Child child({SNKV_TOOL_CRASH_WRITER, path, cfg.journal, cfg.sync,
                 cfg.mode == Mode::kBig ? "big" : "small"});
    ASSERT_TRUE(child.started());

    // Mostly wait from the moment the writer is ready; sometimes kill it
    // while it is still opening (recovering) the store.
    bool early = rng() % 8 == 0;
    int delay_ms;
    if (early) {
      delay_ms = static_cast<int>(rng() % 6);
    } else if (rng() % 3 == 0) {
      delay_ms = 2 + static_cast<int>(rng() % 20);
    } else {
      delay_ms = 20 + static_cast<int>(rng() % 280);
    }
    // Start the clock once the writer is ready ("start"), or, in half of
    // the rounds, once it has committed its first transaction, so that
    // every run makes progress however slow the machine is.
    size_t lines = 0;
    if (!early) lines = rng() % 2 == 0 ? 1 : 2;
    ASSERT_TRUE(KillAfter(child, lines, delay_ms));

    bool started = false;
    uint64_t acked = 0;
    ASSERT_TRUE(ParseAcks(child.text(), verified.last, &started, &acked));
    if (!started) ++mid_open;
    total_acks += acked - verified.last;

    State s0 = verified;
    crash_model::Replay(cfg.mode, acked, &s0);
    State s1 = s0;
    crash_model::Replay(cfg.mode, acked + 1, &s1);

    snkv::Store store;
    snkv::Status st = snkv::Store::Open(path, StoreOptions(cfg), &store);
    if (!st.ok() && !snkv::test::FileExists(path)) {
      // Killed before the file was created at all.
      ASSERT_EQ(acked, 0u);
      continue;
    }
    ASSERT_TRUE(st.ok()) << st.ToString();
    std::string problems;
    st = store.IntegrityCheck(&problems);
    ASSERT_TRUE(st.ok()) << st.ToString() << "\n" << problems;

    Observed got;
    ASSERT_TRUE(ReadFamily(store.DefaultColumnFamily(), &got.cf[0]));
    snkv::ColumnFamily second;
    st = store.OpenColumnFamily(crash_model::kSecondCf, &second);
    if (st.ok()) {
      ASSERT_TRUE(ReadFamily(second, &got.cf[1]));
    } else {
      // Only possible if the writer died before creating it.
      ASSERT_TRUE(st.IsNotFound()) << st.ToString();
      ASSERT_EQ(acked, 0u);
    }
    ASSERT_TRUE(store.Close().ok());

    Observed want0 = Expected(s0);
    Observed want1 = Expected(s1);
    bool is0 = got.cf[0] == want0.cf[0] && got.cf[1] == want0.cf[1];
    bool is1 = got.cf[0] == want1.cf[0] && got.cf[1] == want1.cf[1];
    ASSERT_TRUE(is0 || is1)
        << "store after kill matches neither state(" << acked << ") nor state("
        << acked + 1 << ")\nversus state(" << acked << "):\n"
        << Describe(want0, got) << "versus state(" << acked + 1 << "):\n"
        << Describe(want1, got);
    if (is0) {
      verified = std::move(s0);
    } else {
      verified = std::move(s1);
      ++ahead;
    }
  }
  std::printf(
      "[ summary  ] %d kills, %llu acknowledged commits, final txn %llu, "
      "%d rounds with one unacknowledged commit, %d killed while opening\n",
      cfg.kills, static_cast<unsigned long long>(total_acks),
      static_cast<unsigned long long>(verified.last), ahead, mid_open);
  EXPECT_GT(verified.last, 0u) << "no transaction ever committed";
}

TEST(CrashTest, ModelIsDeterministic) {
  State a, b;
  crash_model::Replay(Mode::kSmall, 300, &a);
  crash_model::Replay(Mode::kSmall, 300, &b);
  EXPECT_EQ(a.cf[0], b.cf[0]);
  EXPECT_EQ(a.cf[1], b.cf[1]);
  // The model exercises what it should: both families, TTLs, KB values,
  // deletes (fewer keys than puts) and overwrites.
  size_t ttl = 0, big = 0, empty = 0;
  for (int c = 0; c < 2; ++c) {
    EXPECT_FALSE(a.cf[c].empty());
    for (const auto& [k, e] : a.cf[c]) {
      ttl += e.ttl;
      big += e.size >= 2000;
      empty += e.size == 0;
    }
  }
  EXPECT_GT(ttl, 0u);
  EXPECT_GT(big, 0u);
  EXPECT_GT(empty, 0u);
  EXPECT_EQ(crash_model::MakeValue("k", {5, 1, 3000, false}).size(), 3000u);
  EXPECT_NE(crash_model::MakeValue("k", {5, 1, 100, false}),
            crash_model::MakeValue("k", {6, 1, 100, false}));
}

TEST(CrashTest, WalNormalSurvivesSigkill) {
  RunCrashRounds({"wal", "normal", Mode::kSmall, 40});
}

TEST(CrashTest, DeleteFullSurvivesSigkill) {
  RunCrashRounds({"delete", "full", Mode::kSmall, 40});
}

// Transactions of 3000 writes each: a kill almost always lands inside one,
// and none of it may be visible.
TEST(CrashTest, WalNormalLargeTransactionIsAtomic) {
  RunCrashRounds({"wal", "normal", Mode::kBig, 20});
}

TEST(CrashTest, DeleteFullLargeTransactionIsAtomic) {
  RunCrashRounds({"delete", "full", Mode::kBig, 12});
}

// Autocommit writes (tests/tools/autocommit_writer.cc), which share a read
// transaction between them: after a kill the store holds exactly the
// acknowledged writes, or one more. Each round starts a new store.
TEST(CrashTest, WalNormalAutocommitWritesSurviveSigkill) {
  const uint64_t seed = Seed();
  std::mt19937_64 rng(seed);
  std::printf("[ seed     ] SNKV_CRASH_SEED=%llu\n",
              static_cast<unsigned long long>(seed));
  SCOPED_TRACE("SNKV_CRASH_SEED=" + std::to_string(seed));
  uint64_t total_acks = 0;
  for (int round = 0; round < 16; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    snkv::test::TempDir dir;
    const std::string path = dir.file("auto.db");
    Child child({SNKV_TOOL_AUTOCOMMIT_WRITER, path});
    ASSERT_TRUE(child.started());
    // From the first acknowledged write, then a random delay.
    ASSERT_TRUE(KillAfter(child, 2, 1 + static_cast<int>(rng() % 300)));

    bool started = false;
    uint64_t acked = 0;
    ASSERT_TRUE(ParseAcks(child.text(), 0, &started, &acked));
    total_acks += acked;

    snkv::Store store;
    snkv::Options options;
    options.busy_timeout_ms = 5000;
    ASSERT_TRUE(snkv::Store::Open(path, options, &store).ok());
    std::string problems;
    snkv::Status st = store.IntegrityCheck(&problems);
    ASSERT_TRUE(st.ok()) << st.ToString() << "\n" << problems;
    std::map<std::string, std::pair<std::string, bool>> got;
    ASSERT_TRUE(ReadFamily(store.DefaultColumnFamily(), &got));
    ASSERT_TRUE(store.Close().ok());
    std::map<std::string, std::string> seen;
    for (const auto& [key, value] : got) seen.emplace(key, value.first);
    const bool is0 = seen == autocommit_model::Replay(acked);
    const bool is1 = seen == autocommit_model::Replay(acked + 1);
    ASSERT_TRUE(is0 || is1)
        << "store after kill holds neither step " << acked << " nor step "
        << acked + 1 << " (" << seen.size() << " keys)";
  }
  std::printf("[ summary  ] 16 kills, %llu acknowledged autocommit writes\n",
              static_cast<unsigned long long>(total_acks));
  EXPECT_GT(total_acks, 0u);
}

}  // namespace
