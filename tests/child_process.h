// A child process for tests that run a helper program (tests/tools/) and
// talk to it, or kill it mid-work.
#ifndef SNKV_TESTS_CHILD_PROCESS_H
#define SNKV_TESTS_CHILD_PROCESS_H

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace snkv::test {

// Runs argv[0] (a path; no PATH search) with `argv`, its stdin and stdout
// connected to pipes and its stderr shared with the test. Two ways to read
// what it prints, which may be mixed:
//   - line by line (NextLine/ReadLine/Ask), for helpers that answer
//     commands sent on stdin;
//   - as a whole (Pump/WaitFor/text), for helpers that report progress
//     until they are killed.
// The destructor kills (SIGKILL) and reaps a child still running, so a
// failed assertion never leaves one behind.
class ChildProcess {
 public:
  using Clock = std::chrono::steady_clock;
  // How long ReadLine and Ask wait before they call the child hung.
  static constexpr int kHangGuardMs = 60000;

  explicit ChildProcess(std::vector<std::string> argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // False if the pipes or fork() failed; nothing else works then.
  bool started() const { return pid_ > 0; }

  // Writes `line` and a newline to the child's stdin; false if that failed
  // (stdin closed, child gone).
  bool Send(std::string_view line);
  // The next line of output without its newline: "<eof>" once the output
  // has ended, std::nullopt if no whole line came within timeout_ms.
  std::optional<std::string> NextLine(int timeout_ms);
  // NextLine, with "<hang>" for a timeout.
  std::string ReadLine(int timeout_ms = kHangGuardMs);
  // Send, then ReadLine: the child's answer, or "<send failed>".
  std::string Ask(std::string_view command);
  // Closes the child's stdin (it sees end of input).
  void CloseInput();

  // Everything the child has printed that has been read so far.
  const std::string& text() const { return text_; }
  // Reads what comes until `deadline`; false once the output has ended.
  bool Pump(Clock::time_point deadline);
  // Reads until the output ends.
  void Drain();
  // Reads until `line` has appeared as a whole line anywhere in the output
  // (true), or the deadline passed or the output ended without it (false).
  bool WaitFor(std::string_view line, Clock::time_point deadline);
  // WaitFor without waiting: has `line` been printed by now?
  bool Said(std::string_view line);

  // SIGKILLs the child unless it has been reaped, and reaps it.
  void Kill();
  // Closes stdin and waits for the child to exit; its waitpid status.
  int Wait();
  // Wait(), then true if the child exited normally with status 0.
  bool ExitedOk();
  // True if the child has exited (it is reaped then); never blocks.
  bool Exited();
  // The waitpid status once reaped (Kill, Wait, ExitedOk or Exited).
  int status() const { return status_; }

 private:
  enum class Read { kData, kTimeout, kEnd };
  // One read() of what is available, waiting at most timeout_ms for it.
  Read ReadSome(int timeout_ms);
  bool HasLine(std::string_view line) const;

  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  bool reaped_ = false;
  int status_ = -1;
  std::string text_;
  size_t line_start_ =
      0;  // where the first line NextLine has not returned starts
};

}  // namespace snkv::test

#endif  // SNKV_TESTS_CHILD_PROCESS_H
