// workloads_concurrency.cc -- readers while a writer commits: reader
// threads with their own handles, and a reader in a second process.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "data.h"
#include "workload.h"

namespace bench {
namespace {

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

// `threads` reader threads, each with its own handle, read for the
// configured duration while one writer thread commits updates; ops =
// reads by all readers together.
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
  r.seconds = t.seconds();
  r.ops = ops;
  char note[96];
  std::snprintf(note, sizeof note, "writer %.0f commits/s",
                static_cast<double>(commits.load()) / r.seconds);
  r.note = note;
  Checker check;
  check.expect(errors.first().empty(), errors.first());
  check.expect(bad == 0, std::to_string(bad.load()) + " reads missed or wrong");
  check.expect(ops > 0, "no reads completed");
  check.apply(&r);
  c.report(r);
}

}  // namespace

void run_readers1(Context& c) { readers_workload(c, 1); }
void run_readers2(Context& c) { readers_workload(c, 2); }
void run_readers4(Context& c) { readers_workload(c, 4); }

// Starts this program again as a reader process (fork + exec of
// /proc/self/exe --internal-reader ...) and commits updates until it
// exits; ops = the child's reads, all of which must succeed.
void run_process_reader(Context& c) {
  c.ensure_loaded();
  Result r{"process_reader"};
  if (!c.info.open_other_process) {
    r.skipped = true;
    r.note = "no reads from a second process while the writer is open";
    c.report(r);
    return;
  }
  std::vector<std::string> args = {
      "snkv_bench",
      "--internal-reader",
      c.info.name,
      c.main_dir,
      std::to_string(c.counts.keys),
      std::to_string(c.cfg.duration_s),
      std::to_string(c.cfg.value_size)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  close(fds[1]);
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
  int status = 0;
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (t.seconds() > c.cfg.duration_s + 60) kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  writer.join();
  double writer_seconds = t.seconds();
  std::string out;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  Checker check;
  unsigned long long ops = 0, bad = 0;
  double seconds = 0;
  if (std::sscanf(out.c_str(), "ok %llu %llu %lf", &ops, &bad, &seconds) != 3) {
    check.fail("reader process: " + (out.empty() ? "no output" : out) +
               " (status " + std::to_string(status) + ")");
  } else {
    check.expect(bad == 0, std::to_string(bad) + " reads missed or wrong");
    check.expect(ops > 0, "no reads completed");
  }
  check.expect(errors.first().empty(), errors.first());
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
// keys for the given duration, prints "ok <reads> <bad> <seconds>" (or
// "error <message>") and returns 0 (1 on error).
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
    Timer t;
    Errors errors;
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
    if (!errors.first().empty()) throw std::runtime_error(errors.first());
    std::printf("ok %llu %llu %f\n", static_cast<unsigned long long>(ops),
                static_cast<unsigned long long>(bad), t.seconds());
    return 0;
  } catch (const std::exception& e) {
    std::printf("error %s\n", e.what());
    return 1;
  }
}

}  // namespace bench
