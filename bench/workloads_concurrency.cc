// workloads_concurrency.cc -- readers while a writer commits: reader
// threads with their own handles, and a reader in a second process.
//
// Besides checking every read, both workloads end with a freshness check:
// after the writer stops, it commits a marker key, and every reader handle
// (thread or process) must see the marker on its next read -- or, for a
// store documented to lag (RocksDB's secondary instance), within its lag.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "data.h"
#include "workload.h"

namespace bench {
namespace {

// A key outside the key%010d space that sorts after all of it.
constexpr std::string_view kMarkerKey = "zz-freshness-marker";

// Collects the first exception message of several threads.
class Errors {
 public:
  void add(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    if (first_.empty()) first_ = what;
  }
  std::string first() {
    std::lock_guard<std::mutex> lock(mu_);
    return first_;
  }

 private:
  std::mutex mu_;
  std::string first_;
};

// Random autocommit updates of keys 0..keys-1 on db until stop is set;
// returns the number of commits.
uint64_t write_until(Backend& db, uint64_t keys, size_t size,
                     const std::atomic<bool>& stop, uint64_t seed) {
  Rng rng(seed);
  std::string value;
  uint64_t commits = 0;
  for (uint32_t gen = 100; !stop.load(std::memory_order_relaxed); ++gen) {
    uint64_t i = rng.below(keys);
    db.put(make_key(i), make_value(i, gen, size, &value));
    ++commits;
  }
  return commits;
}

// Random reads of keys 0..keys-1 on db until stop is set; every read must
// find its key with a well-formed value. Adds to *ops and *bad.
void read_until(Backend& db, uint64_t keys, size_t size,
                const std::atomic<bool>& stop, uint64_t seed,
                std::atomic<uint64_t>* ops, std::atomic<uint64_t>* bad) {
  Rng rng(seed);
  std::string got;
  uint64_t n = 0, wrong = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    uint64_t i = rng.below(keys);
    if (!db.get(make_key(i), &got) || !value_ok(i, size, got, n)) ++wrong;
    ++n;
  }
  *ops += n;
  *bad += wrong;
}

// Reads the marker on db until it equals expect, trying once when
// staleness_ms is 0 and otherwise for up to staleness_ms + 100 ms; returns
// the number of reads it took (0: never seen).
int wait_for_marker(Backend& db, const std::string& expect, int staleness_ms) {
  Timer t;
  std::string got;
  for (int attempt = 1;; ++attempt) {
    if (db.get(kMarkerKey, &got) && got == expect) return attempt;
    if (t.seconds() * 1000 > staleness_ms + (staleness_ms ? 100 : 0)) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// A marker value no earlier run can have written.
std::string fresh_marker() {
  return "marker-" + std::to_string(getpid()) + "-" +
         std::to_string(
             std::chrono::steady_clock::now().time_since_epoch().count());
}

// `threads` reader threads, each with its own handle, read for the
// configured duration while one writer thread commits updates; ops =
// reads by all readers together. Then every reader must see the marker.
void readers_workload(Context& c, int threads) {
  c.ensure_loaded();
  Result r{"readers" + std::to_string(threads)};
  const uint64_t keys = c.counts.keys;
  const size_t size = c.cfg.value_size;
  std::vector<std::unique_ptr<Backend>> handles;
  for (int t = 0; t < threads; ++t) handles.push_back(c.db().open_reader());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> ops{0}, bad{0}, commits{0};
  Errors errors;
  std::vector<std::thread> pool;
  Timer t;
  pool.emplace_back([&] {
    try {
      commits = write_until(c.db(), keys, size, stop, 10);
    } catch (const std::exception& e) {
      errors.add(std::string("writer: ") + e.what());
    }
  });
  for (int k = 0; k < threads; ++k) {
    pool.emplace_back([&, k] {
      try {
        read_until(*handles[k], keys, size, stop, 11 + k, &ops, &bad);
      } catch (const std::exception& e) {
        errors.add(std::string("reader: ") + e.what());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(c.cfg.duration_s));
  stop = true;
  for (auto& th : pool) th.join();
  t.stop(&r);
  r.ops = ops;
  char note[96];
  std::snprintf(note, sizeof note, "writer %.0f commits/s",
                static_cast<double>(commits.load()) / r.seconds);
  r.note = note;
  Checker check;
  check.expect(errors.first().empty(), errors.first());
  check.expect(bad == 0, std::to_string(bad.load()) + " reads missed or wrong");
  check.expect(ops > 0, "no reads completed");
  std::string marker = fresh_marker();
  c.db().put(kMarkerKey, marker);
  for (int k = 0; k < threads; ++k)
    check.expect(wait_for_marker(*handles[k], marker, 0) == 1,
                 "reader handle " + std::to_string(k) +
                     " did not see the writer's last commit");
  handles.clear();
  check.expect(c.db().del(kMarkerKey), "marker vanished");
  check.apply(&r);
  c.report(r);
}

// Reads one line from fd into *line (without the newline), waiting at most
// until deadline_s on timer; false on EOF, error or timeout.
bool read_line(int fd, std::string* pending, std::string* line,
               const Timer& timer, double deadline_s) {
  for (;;) {
    size_t nl = pending->find('\n');
    if (nl != std::string::npos) {
      *line = pending->substr(0, nl);
      pending->erase(0, nl + 1);
      return true;
    }
    int wait_ms = static_cast<int>((deadline_s - timer.seconds()) * 1000);
    if (wait_ms <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int rc = poll(&p, 1, wait_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return false;
    char buf[512];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    pending->append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

// 1, 2 or 4 reader threads while a writer commits.
void run_readers1(Context& c) { readers_workload(c, 1); }
void run_readers2(Context& c) { readers_workload(c, 2); }
void run_readers4(Context& c) { readers_workload(c, 4); }

// Starts this program again as a reader process (fork + exec of
// /proc/self/exe --internal-reader ...) and commits updates while it reads;
// ops = the child's reads, all of which must succeed. The protocol on the
// child's stdout/stdin: child "reading-done", parent "check <marker>",
// child "ok <reads> <bad> <seconds> <attempts to see the marker>".
void run_process_reader(Context& c) {
  c.ensure_loaded();
  Result r{"process_reader"};
  if (!c.info.open_other_process) {
    r.skipped = true;
    r.note = "no reads from a second process while the writer is open";
    c.report(r);
    return;
  }
  std::vector<std::string> args = {"snkv_bench",
                                   "--internal-reader",
                                   c.info.name,
                                   c.main_dir,
                                   std::to_string(c.counts.keys),
                                   std::to_string(c.cfg.duration_s),
                                   std::to_string(c.cfg.value_size)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2], in[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(in, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(in[0], STDIN_FILENO);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  close(out[1]);
  close(in[0]);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> commits{0};
  Errors errors;
  std::thread writer([&] {
    try {
      commits = write_until(c.db(), c.counts.keys, c.cfg.value_size, stop, 20);
    } catch (const std::exception& e) {
      errors.add(std::string("writer: ") + e.what());
    }
  });
  Timer t;
  const double deadline = c.cfg.duration_s + 60;
  std::string pending, line, final_line;
  bool reading_done =
      read_line(out[0], &pending, &line, t, deadline) && line == "reading-done";
  stop = true;
  writer.join();
  double writer_seconds = t.seconds();
  Checker check;
  std::string marker = fresh_marker();
  if (reading_done) {
    c.db().put(kMarkerKey, marker);
    std::string cmd = "check " + marker + "\n";
    (void)!write(in[1], cmd.data(), cmd.size());
    if (!read_line(out[0], &pending, &final_line, t, deadline))
      final_line = pending;
  } else {
    final_line = line + pending;
  }
  close(in[1]);
  if (t.seconds() > deadline) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(out[0]);
  unsigned long long ops = 0, bad = 0;
  double seconds = 0;
  int attempts = 0;
  if (std::sscanf(final_line.c_str(), "ok %llu %llu %lf %d", &ops, &bad,
                  &seconds, &attempts) != 4) {
    check.fail(
        "reader process: " + (final_line.empty() ? "no output" : final_line) +
        " (status " + std::to_string(status) + ")");
  } else {
    check.expect(bad == 0, std::to_string(bad) + " reads missed or wrong");
    check.expect(ops > 0, "no reads completed");
    check.expect(attempts > 0 &&
                     (c.info.other_process_staleness_ms > 0 || attempts == 1),
                 "reader process did not see the writer's last commit");
  }
  check.expect(errors.first().empty(), errors.first());
  if (reading_done) check.expect(c.db().del(kMarkerKey), "marker vanished");
  r.ops = ops;
  r.seconds = seconds;
  char note[96];
  std::snprintf(note, sizeof note, "writer %.0f commits/s",
                static_cast<double>(commits.load()) / writer_seconds);
  r.note = note;
  check.apply(&r);
  c.report(r);
}

// The reader process: opens the store as a second process, reads random
// keys for the given duration, prints "reading-done", waits for "check
// <marker>" on stdin, looks for the marker and prints "ok <reads> <bad>
// <seconds> <attempts>" (or "error <message>"); returns 0 (1 on error).
int process_reader_main(int argc, char** argv) {
  if (argc != 5) {
    std::printf("error usage\n");
    return 1;
  }
  try {
    const BackendInfo* info = find_backend(argv[0]);
    if (!info || !info->open_other_process)
      throw std::runtime_error("no such store");
    uint64_t keys = std::strtoull(argv[2], nullptr, 10);
    double duration = std::strtod(argv[3], nullptr);
    size_t size = std::strtoul(argv[4], nullptr, 10);
    auto db = info->open_other_process(argv[1], StoreSettings{});
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> ops{0}, bad{0};
    Errors errors;
    Timer t;
    std::thread reader([&] {
      try {
        read_until(*db, keys, size, stop, 30, &ops, &bad);
      } catch (const std::exception& e) {
        errors.add(e.what());
      }
    });
    std::this_thread::sleep_for(std::chrono::duration<double>(duration));
    stop = true;
    reader.join();
    double seconds = t.seconds();
    if (!errors.first().empty()) throw std::runtime_error(errors.first());
    std::printf("reading-done\n");
    std::fflush(stdout);
    char cmd[256];
    if (!std::fgets(cmd, sizeof cmd, stdin) || std::strncmp(cmd, "check ", 6))
      throw std::runtime_error("no check command");
    std::string marker(cmd + 6);
    while (!marker.empty() && marker.back() == '\n') marker.pop_back();
    int attempts =
        wait_for_marker(*db, marker, info->other_process_staleness_ms);
    std::printf("ok %llu %llu %f %d\n", static_cast<unsigned long long>(ops),
                static_cast<unsigned long long>(bad), seconds, attempts);
    return 0;
  } catch (const std::exception& e) {
    std::printf("error %s\n", e.what());
    return 1;
  }
}

}  // namespace bench
