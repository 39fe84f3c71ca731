// workloads_memory.cc -- resident memory with 1, 4 or 16 reader handles
// (rss_handles1/4/16), each measured in a process of its own.
//
// A process's resident set counts whatever it touched before, so measured
// inside the store's run (after the load, the reads and the scans) it is
// mostly that history, not the handles. So each of these workloads closes
// the run's main handle and starts this program again (fork + exec of
// /proc/self/exe --internal-rss ...): the new process opens the store,
// opens N reader handles from it, and N threads, one per handle, each scan
// every key and then read a share of the keys at random, so that every
// handle touches the whole file. It reports its peak resident set (VmHWM,
// /proc/self/status) and its resident set while the handles are still
// open (VmRSS), and the parent sets them against the data set's size on
// disk: a store whose handles each map the file counts its pages once per
// handle. Every store is measured the same way; the main handle is opened
// again afterwards for the workloads that follow.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "data.h"
#include "workload.h"

namespace bench {
namespace {

// One field of /proc/self/status, in KiB (0 if not found).
long status_kib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return 0;
}

// Runs `/proc/self/exe --internal-rss args...` and returns the last line
// it printed on stdout (empty if none), with its exit status in *status.
std::string run_rss_process(const std::vector<std::string>& args, int* status) {
  std::vector<std::string> all = {"snkv_bench", "--internal-rss"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    close(out[0]);
    close(out[1]);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[512];
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    text.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  waitpid(pid, status, 0);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const size_t nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

void rss_workload(Context& c, int handles) {
  c.ensure_loaded();
  Result r{"rss_handles" + std::to_string(handles)};
  Checker check;
  c.close_main();
  int status = 0;
  std::string line;
  try {
    line = run_rss_process(
        {c.info.name, c.main_dir, std::to_string(handles),
         std::to_string(c.counts.keys), std::to_string(c.cfg.value_size)},
        &status);
  } catch (...) {
    c.reopen_main();
    throw;
  }
  c.reopen_main();
  unsigned long long ops = 0, bad = 0;
  long rss_kib = 0, hwm_kib = 0;
  double seconds = 0, cpu = 0;
  if (std::sscanf(line.c_str(), "ok %llu %llu %lf %lf %ld %ld", &ops, &bad,
                  &seconds, &cpu, &rss_kib, &hwm_kib) != 6) {
    check.fail("rss process: " + (line.empty() ? "no output" : line) +
               " (status " + std::to_string(status) + ")");
  } else {
    check.expect(bad == 0,
                 std::to_string(bad) + " scans or reads wrong or missing");
    r.ops = ops;
    r.seconds = seconds;
    r.cpu_seconds = cpu;
    const double file_mib = static_cast<double>(c.disk_bytes) / (1 << 20);
    char note[200];
    std::snprintf(note, sizeof note,
                  "own process: peak RSS %.0f MiB = %.2fx the %.0f MiB data "
                  "set (VmRSS %.0f MiB with %d handle(s) open)",
                  hwm_kib / 1024.0,
                  file_mib > 0 ? hwm_kib / 1024.0 / file_mib : 0.0, file_mib,
                  rss_kib / 1024.0, handles);
    r.note = note;
  }
  check.apply(&r);
  c.report(r);
}

}  // namespace

void run_rss_handles1(Context& c) { rss_workload(c, 1); }
void run_rss_handles4(Context& c) { rss_workload(c, 4); }
void run_rss_handles16(Context& c) { rss_workload(c, 16); }

// The process rss_workload starts (see the top of this file): argv is
// store dir handles keys value_size. Prints "ok <ops> <bad> <seconds>
// <cpu_seconds> <VmRSS KiB> <VmHWM KiB>" or "error <message>"; returns 0
// (1 on error).
int rss_process_main(int argc, char** argv) {
  if (argc != 5) {
    std::printf("error usage\n");
    return 1;
  }
  try {
    const BackendInfo* info = find_backend(argv[0]);
    if (!info) throw std::runtime_error("no such store");
    const int handles = std::atoi(argv[2]);
    const uint64_t keys = std::strtoull(argv[3], nullptr, 10);
    const size_t size = std::strtoul(argv[4], nullptr, 10);
    if (handles < 1 || keys == 0) throw std::runtime_error("bad arguments");
    // The store itself, idle, as the run's main handle was: the readers
    // are opened from it, as in the other reader workloads.
    auto db = info->open(argv[1], StoreSettings{});
    std::vector<std::unique_ptr<Backend>> open;
    for (int h = 0; h < handles; ++h) open.push_back(db->open_reader());
    std::atomic<uint64_t> ops{0};
    std::atomic<uint64_t> bad{0};
    std::mutex error_mu;
    std::string error;
    std::vector<std::thread> pool;
    Timer t;
    for (int h = 0; h < handles; ++h) {
      pool.emplace_back([&, h] {
        try {
          Backend& reader = *open[h];
          const uint64_t n = reader.scan(
              [&](std::string_view, std::string_view) { return true; });
          if (n != keys) bad.fetch_add(1);
          Rng rng(100 + h);
          std::string got;
          const uint64_t gets = keys / 16 + 1;
          for (uint64_t i = 0; i < gets; ++i) {
            const uint64_t k = rng.below(keys);
            if (!reader.get(make_key(k), &got) || !value_matches(k, size, got))
              bad.fetch_add(1);
          }
          ops.fetch_add(n + gets);
        } catch (const std::exception& e) {
          std::lock_guard<std::mutex> lock(error_mu);
          if (error.empty()) error = e.what();
        }
      });
    }
    for (auto& th : pool) th.join();
    const double seconds = t.seconds(), cpu = t.cpu_seconds();
    if (!error.empty()) throw std::runtime_error(error);
    const long rss = status_kib("VmRSS");
    open.clear();
    db.reset();
    const long hwm = status_kib("VmHWM");
    std::printf("ok %llu %llu %f %f %ld %ld\n",
                static_cast<unsigned long long>(ops.load()),
                static_cast<unsigned long long>(bad.load()), seconds, cpu, rss,
                hwm);
    return 0;
  } catch (const std::exception& e) {
    std::string msg = e.what();
    for (char& ch : msg)
      if (ch == '\n') ch = ' ';
    std::printf("error %s\n", msg.c_str());
    return 1;
  }
}

}  // namespace bench
