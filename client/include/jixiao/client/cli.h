// The office client's command line. Each subcommand is a function of its
// arguments and two streams, so tests drive it without a process; the
// commands that work on the local replica and the server are thin layers
// over OfficeClient (office_client.h).
//
// Exit codes: 0 success (for `check`: no 错误); 1 the form has 错误, or the
// operation was refused or failed (the reason in Chinese, e.g. the server's);
// 2 the input cannot be read or the command line is wrong (an unknown
// option, a bad cell name or value, an unknown or ambiguous form id).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "jixiao/client/office_client.h"
#include "jixiao/client/transport.h"
#include "jixiao/workflow/clock.h"

namespace jixiao::client {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUnreadable = 2;

// What the process would take from the world, injectable for tests.
struct CliEnvironment {
  TransportFactory connect;                   // nullptr: WebSocket
  const workflow::Clock* clock = nullptr;     // nullptr: the system clock
  std::optional<UnlockHashing> hashing;       // nullptr: INTERACTIVE limits
  std::function<void(std::chrono::milliseconds)> sleep;  // daemon waits; nullptr: really sleep
  std::uint64_t seed = 0;                     // daemon jitter; 0: random
  bool interactive = true;  // may prompt for a password on a terminal, show progress on a TTY
};

// `args` excludes the program name; `exe_path` is argv[0] (to find templates).
int run_cli(const std::vector<std::string>& args, const std::string& exe_path, std::ostream& out, std::ostream& err);
int run_cli(const std::vector<std::string>& args, const std::string& exe_path, std::ostream& out, std::ostream& err,
            const CliEnvironment& env);

}  // namespace jixiao::client
