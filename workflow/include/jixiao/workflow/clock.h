// Time, injected. The workflow engine, rounds and the audit log never read a
// global clock: they take a Clock, so tests pin time and the server decides
// where time comes from.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace jixiao::workflow {

// Milliseconds since the Unix epoch, UTC. The audit encoding stores exactly
// this count (docs/audit.md).
using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;

class Clock {
 public:
  virtual ~Clock() = default;
  // Thread-safe in every implementation.
  virtual TimePoint now() const = 0;
};

// The wall clock, for production. The only place workflow reads real time.
class SystemClock final : public Clock {
 public:
  TimePoint now() const override;
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start) : unix_ms_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint(std::chrono::milliseconds(unix_ms_.load())); }
  void set(TimePoint t) { unix_ms_.store(t.time_since_epoch().count()); }
  void advance(std::chrono::milliseconds by) { unix_ms_.fetch_add(by.count()); }

 private:
  std::atomic<std::int64_t> unix_ms_;
};

// A UTC time point from calendar fields, for tests and configuration:
// utc_time(2021, 3, 31, 17, 0) is 2021-03-31 17:00:00 UTC.
TimePoint utc_time(int year, unsigned month, unsigned day, int hour = 0, int minute = 0);

// "2021-03-31T17:00:00.000Z": for audit field values and logs.
std::string format_iso8601(TimePoint t);
// "2021年3月31日": for messages people read.
std::string format_chinese_date(TimePoint t);

// True when `date` is a real calendar date written "YYYY-MM-DD".
bool is_iso_date(const std::string& date);

}  // namespace jixiao::workflow
