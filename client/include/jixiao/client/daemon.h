// Background sync: try to sync; on failure wait with exponential backoff and
// full jitter (capped), reset after a success; after a success wait the
// interval and sync again. Time and randomness are injected so tests bound
// the loop (max_cycles) and check the delays.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <random>
#include <vector>

#include "jixiao/client/office_client.h"

namespace jixiao::client {

// Exponential backoff with "full jitter": after the n-th consecutive failure
// (n = 0, 1, …) the ceiling is min(cap, initial · 2^n) and the delay is drawn
// uniformly from [floor, ceiling], floor = min(initial / 10, ceiling), so a
// fleet of offices that lost the link at the same moment does not come back
// at the same moment, and no delay is ever zero.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap, std::uint64_t seed);
  std::chrono::milliseconds next_delay();
  // The ceiling the next call to next_delay() will draw under.
  std::chrono::milliseconds current_ceiling() const;
  std::chrono::milliseconds floor() const;
  void reset();
  unsigned failures() const { return failures_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds cap_;
  unsigned failures_ = 0;
  std::mt19937_64 rng_;
};

struct DaemonOptions {
  std::chrono::milliseconds interval{std::chrono::seconds(300)};  // between successful syncs
  std::chrono::milliseconds backoff_initial{std::chrono::seconds(1)};
  std::chrono::milliseconds backoff_cap{std::chrono::minutes(5)};
  std::uint64_t max_cycles = 0;  // 0: forever
  std::uint64_t seed = 0;        // 0: from std::random_device
  // Waits; tests record instead of sleeping. nullptr: std::this_thread::sleep_for.
  std::function<void(std::chrono::milliseconds)> sleep;
  PasswordSource password;  // usually none: the daemon lives on the token
};

struct DaemonCycle {
  bool ok = false;
  Status status;                     // why it failed
  std::chrono::milliseconds waited{0};  // the wait after this cycle
};

struct DaemonReport {
  std::vector<DaemonCycle> cycles;
};

// Runs the loop. Every cycle reopens the data directory (another process,
// e.g. `jixiao login`, may have changed it) and syncs; one line per cycle
// goes to `log` in Chinese.
DaemonReport run_daemon(const ClientOptions& options, const DaemonOptions& daemon, std::ostream& log);

}  // namespace jixiao::client
