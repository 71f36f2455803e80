// A small process toolkit for end-to-end tests: start the real executables
// with posix_spawn, their stdout and stderr captured in files, wait for a
// "LISTENING <port>" line with a deadline, signal them by PID, reap them with
// a deadline (SIGKILL after it), and throwaway directories and TLS
// certificates. Nothing here sleeps without a deadline; nothing signals a
// process it did not start (a Process only signals its own PID, and only
// until it has been reaped, so a reused PID is never hit).
#pragma once

#include "test_certificate.h"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace jixiao::e2e {

namespace fs = std::filesystem;
using Millis = std::chrono::milliseconds;

// How a process ended.
struct ExitStatus {
  bool exited = false;     // exited normally: `code` is its exit status
  int code = -1;
  int signal = 0;          // killed by this signal (when !exited)
  bool deadline_kill = false;  // reap() had to SIGKILL it
  bool ok() const { return exited && code == 0; }
  std::string describe() const;  // "exit 0", "signal 9", "signal 9 (deadline)"
};

// Extra environment: name -> value; a value of std::nullopt removes the name.
using EnvChanges = std::vector<std::pair<std::string, std::optional<std::string>>>;

class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  // A process still running is killed (SIGKILL) and reaped: a test never
  // leaves a child behind, even when an assertion ends it early.
  ~Process();

  // Starts argv[0] (a path) with stdin from /dev/null and stdout / stderr
  // appended to the given files (created 0600). Throws std::runtime_error
  // when posix_spawn fails.
  static Process spawn(const std::vector<std::string>& argv, const fs::path& stdout_file, const fs::path& stderr_file,
                       const EnvChanges& env = {});

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }
  bool reaped() const { return reaped_; }
  // Not yet reaped and not exited (a non-blocking waitpid reaps it if it has).
  bool running();

  // kill(pid, sig) while the process has not been reaped. False otherwise.
  bool signal(int sig) const;

  // Waits until the process ends, at most `deadline`; then SIGKILLs it and
  // waits for that (bounded too: a SIGKILLed process always goes).
  ExitStatus reap(Millis deadline);
  // The status if the process has ended (reaping it), else nullopt.
  std::optional<ExitStatus> try_reap();

  // Polls stdout for a line "LISTENING <port>" until `deadline`. nullopt if
  // the process ended first or the deadline passed.
  std::optional<std::uint16_t> wait_listening(Millis deadline);
  // Polls stdout for a line starting with `prefix`; returns the whole line.
  std::optional<std::string> wait_line(const std::string& prefix, Millis deadline);

  std::string stdout_text() const;
  std::string stderr_text() const;
  const fs::path& stdout_file() const { return out_; }
  const fs::path& stderr_file() const { return err_; }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  ExitStatus status_;
  fs::path out_, err_;
};

// The result of running a command to its end.
struct RunResult {
  ExitStatus status;
  std::string out;
  std::string err;
  double seconds = 0;
  bool ok() const { return status.ok(); }
  int code() const { return status.exited ? status.code : -1; }
  std::string both() const { return out + err; }
};

// Runs a command to its end (at most `deadline`, then SIGKILL) with its
// output in files under `log_dir` (kept for inspection; named by a counter).
RunResult run(const std::vector<std::string>& argv, const fs::path& log_dir, Millis deadline = Millis(60000),
              const EnvChanges& env = {});

// A fresh directory under the system temp dir, removed (recursively) when
// destroyed unless keep() was called or JIXIAO_E2E_KEEP is set.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "jixiao-e2e");
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }
  void keep() { keep_ = true; }

 private:
  fs::path path_;
  bool keep_ = false;
};

// write_self_signed_certificate(cert_file, key_file): tests/support.
using jixiao::testing::write_self_signed_certificate;

// Replaces the value of `key = value` in a jixiao-server.conf style file
// (the key must be present). False when it is not.
bool set_config_value(const fs::path& file, const std::string& key, const std::string& value);

std::string read_file(const fs::path& file);
void write_file(const fs::path& file, const std::string& text);

// The seed of a test: $JIXIAO_E2E_SEED if set, else a random one. Printed
// by the caller so a failing run can be repeated.
std::uint64_t e2e_seed();

// Sleeps `d` (bounded; the only sleep the tests use for pacing and polling).
void sleep_for(Millis d);

}  // namespace jixiao::e2e
