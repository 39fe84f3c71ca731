// runner.cc -- one store's run in a forked child, results over a pipe.
#include "runner.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace bench {
namespace {

// Writes one "S key value" line to fd.
void send_stat(int fd, const char* key, long long value) {
  std::string line =
      std::string("S\t") + key + "\t" + std::to_string(value) + "\n";
  (void)!write(fd, line.data(), line.size());
}

// With SNKV_BENCH_MARKS set, prints "mark start|end store workload
// <seconds>" to stderr around each workload, in CLOCK_MONOTONIC seconds:
// the clock of `perf record -k CLOCK_MONOTONIC`, so that a profile of a
// whole run can be cut to one workload (`perf report --time A,B`).
void mark(const char* what, const BackendInfo& info, const Workload& w) {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  std::fprintf(stderr, "mark %s %s %s %ld.%06ld\n", what, info.name.c_str(),
               w.name, static_cast<long>(ts.tv_sec), ts.tv_nsec / 1000);
}

// The child: runs the workloads, reports to fd, returns the exit status.
int child_main(const BackendInfo& info, const Config& cfg,
               const std::string& dir, int fd) {
  bool ok = true;
  const bool marks = std::getenv("SNKV_BENCH_MARKS") != nullptr;
  try {
    Context ctx(info, cfg, dir, fd);
    for (const Workload& w : all_workloads()) {
      if (!workload_selected(cfg, w.name)) continue;
      std::fprintf(stderr, "  %-8s %s\n", info.name.c_str(), w.name);
      if (marks) mark("start", info, w);
      try {
        w.run(ctx);
      } catch (const std::exception& e) {
        Result r{w.name};
        r.ok = false;
        r.note = std::string("exception: ") + e.what();
        ctx.report(r);
      }
      if (marks) mark("end", info, w);
    }
    ok = ctx.all_ok;
    send_stat(fd, "disk_bytes", static_cast<long long>(ctx.disk_bytes));
    ctx.close();
  } catch (const std::exception& e) {
    std::string msg = e.what();
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    std::replace(msg.begin(), msg.end(), '\t', ' ');
    std::string line = "E\t" + msg + "\n";
    (void)!write(fd, line.data(), line.size());
    ok = false;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  // The peak of this process or of any it started and waited for (the
  // rss_handles workloads run in a process of their own).
  rusage ru{}, children{};
  getrusage(RUSAGE_SELF, &ru);
  getrusage(RUSAGE_CHILDREN, &children);
  send_stat(fd, "peak_rss_kb", std::max(ru.ru_maxrss, children.ru_maxrss));
  return ok ? 0 : 1;
}

// Parses one protocol line from the child into *run.
void parse_line(const std::string& line, StoreRun* run) {
  std::vector<std::string> f;
  std::stringstream ss(line);
  for (std::string part; std::getline(ss, part, '\t');) f.push_back(part);
  if (f.empty()) return;
  if (f[0] == "R" && f.size() >= 6) {
    Result r;
    r.name = f[1];
    r.ops = std::strtoull(f[2].c_str(), nullptr, 10);
    r.seconds = std::strtod(f[3].c_str(), nullptr);
    r.ok = f[4] == "1";
    r.skipped = f[5] == "1";
    r.note = f.size() > 6 ? f[6] : "";
    if (f.size() > 7 && !LatencyHistogram::decode(f[7], &r.latency)) {
      r.ok = false;
      r.note = "malformed latency histogram from the child";
    }
    if (f.size() > 8) r.cpu_seconds = std::strtod(f[8].c_str(), nullptr);
    if (!r.ok) run->ok = false;
    run->results.push_back(r);
  } else if (f[0] == "S" && f.size() == 3) {
    long long v = std::strtoll(f[2].c_str(), nullptr, 10);
    if (f[1] == "disk_bytes") run->disk_bytes = static_cast<uint64_t>(v);
    if (f[1] == "peak_rss_kb") run->peak_rss_kb = static_cast<long>(v);
  } else if (f[0] == "E" && f.size() >= 2) {
    run->ok = false;
    run->error = f[1];
  }
}

}  // namespace

// True if name is among cfg.workloads, or none were named.
bool workload_selected(const Config& cfg, const std::string& name) {
  return cfg.workloads.empty() ||
         std::find(cfg.workloads.begin(), cfg.workloads.end(), name) !=
             cfg.workloads.end();
}

// Forks, runs child_main in the child, reads its lines until it exits.
StoreRun run_store(const BackendInfo& info, const Config& cfg,
                   const std::string& dir) {
  StoreRun run;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    run.ok = false;
    run.error = "pipe failed";
    return run;
  }
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    run.ok = false;
    run.error = "fork failed";
    return run;
  }
  if (pid == 0) {
    close(fds[0]);
    int status = child_main(info, cfg, dir, fds[1]);
    std::fflush(nullptr);
    _exit(status);
  }
  close(fds[1]);
  std::string pending;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    pending.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      parse_line(pending.substr(0, nl), &run);
      pending.erase(0, nl + 1);
    }
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);  // in case the child crashed
  if (WIFSIGNALED(status)) {
    run.ok = false;
    run.error = "killed by signal " + std::to_string(WTERMSIG(status));
  } else if (WEXITSTATUS(status) != 0) {
    run.ok = false;
  }
  if (!run.ok && run.error.empty()) run.error = "failed checks";
  return run;
}

}  // namespace bench
