#include "child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace snkv::test {

ChildProcess::ChildProcess(std::vector<std::string> argv) {
  int in[2];
  int out[2];
  if (argv.empty() || pipe2(in, O_CLOEXEC) != 0) return;
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return;
  }
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    // The child: only async-signal-safe calls until exec.
    dup2(in[0], 0);
    dup2(out[1], 1);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  if (pid_ < 0) {
    close(in[1]);
    close(out[0]);
    return;
  }
  in_ = in[1];
  out_ = out[0];
}

ChildProcess::~ChildProcess() {
  Kill();
  CloseInput();
  if (out_ >= 0) close(out_);
}

bool ChildProcess::Send(std::string_view line) {
  if (in_ < 0) return false;
  std::string l(line);
  l += '\n';
  size_t done = 0;
  while (done < l.size()) {
    const ssize_t n = write(in_, l.data() + done, l.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

ChildProcess::Read ChildProcess::ReadSome(int timeout_ms) {
  if (out_ < 0) return Read::kEnd;
  for (;;) {
    pollfd p{out_, POLLIN, 0};
    const int r = poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return Read::kTimeout;
    char buf[4096];
    const ssize_t n = read(out_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Read::kEnd;
    text_.append(buf, static_cast<size_t>(n));
    return Read::kData;
  }
}

namespace {
// Milliseconds from now to `deadline`, at least 0.
int MillisUntil(ChildProcess::Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - ChildProcess::Clock::now())
                        .count();
  return left <= 0 ? 0 : static_cast<int>(left);
}
}  // namespace

std::optional<std::string> ChildProcess::NextLine(int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const size_t nl = text_.find('\n', line_start_);
    if (nl != std::string::npos) {
      std::string line = text_.substr(line_start_, nl - line_start_);
      line_start_ = nl + 1;
      return line;
    }
    switch (ReadSome(MillisUntil(deadline))) {
      case Read::kData:
        break;
      case Read::kTimeout:
        return std::nullopt;
      case Read::kEnd:
        return std::string("<eof>");
    }
  }
}

std::string ChildProcess::ReadLine(int timeout_ms) {
  return NextLine(timeout_ms).value_or("<hang>");
}

std::string ChildProcess::Ask(std::string_view command) {
  return Send(command) ? ReadLine() : "<send failed>";
}

void ChildProcess::CloseInput() {
  if (in_ >= 0) close(in_);
  in_ = -1;
}

bool ChildProcess::Pump(Clock::time_point deadline) {
  for (;;) {
    const int left = MillisUntil(deadline);
    if (left == 0) return true;
    switch (ReadSome(left)) {
      case Read::kData:
        break;
      case Read::kTimeout:
        return true;
      case Read::kEnd:
        return false;
    }
  }
}

void ChildProcess::Drain() {
  while (ReadSome(-1) == Read::kData) {
  }
}

bool ChildProcess::HasLine(std::string_view line) const {
  const std::string whole = std::string(line) + "\n";
  for (size_t at = text_.find(whole); at != std::string::npos;
       at = text_.find(whole, at + 1)) {
    if (at == 0 || text_[at - 1] == '\n') return true;
  }
  return false;
}

bool ChildProcess::WaitFor(std::string_view line, Clock::time_point deadline) {
  while (!HasLine(line)) {
    if (ReadSome(MillisUntil(deadline)) != Read::kData) return HasLine(line);
  }
  return true;
}

bool ChildProcess::Said(std::string_view line) {
  return WaitFor(line, Clock::now());
}

void ChildProcess::Kill() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    Wait();
  }
}

int ChildProcess::Wait() {
  CloseInput();
  if (pid_ > 0 && !reaped_) {
    while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  return status_;
}

bool ChildProcess::ExitedOk() {
  const int st = Wait();
  return reaped_ && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

bool ChildProcess::Exited() {
  if (reaped_) return true;
  if (pid_ <= 0) return false;
  int st = 0;
  if (waitpid(pid_, &st, WNOHANG) == pid_) {
    status_ = st;
    reaped_ = true;
  }
  return reaped_;
}

}  // namespace snkv::test
