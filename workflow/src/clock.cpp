#include "jixiao/workflow/clock.h"

#include <cstdio>

namespace jixiao::workflow {

TimePoint SystemClock::now() const {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

TimePoint utc_time(int year, unsigned month, unsigned day, int hour, int minute) {
  const std::chrono::sys_days days{std::chrono::year{year} / std::chrono::month{month} /
                                   std::chrono::day{day}};
  return TimePoint(days) + std::chrono::hours(hour) + std::chrono::minutes(minute);
}

namespace {
struct Civil {
  int year;
  unsigned month;
  unsigned day;
  std::int64_t ms_of_day;
};

Civil to_civil(TimePoint t) {
  const auto days = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{days};
  return Civil{static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
               static_cast<unsigned>(ymd.day()), (t - days).count()};
}
}  // namespace

std::string format_iso8601(TimePoint t) {
  const Civil c = to_civil(t);
  const std::int64_t ms = c.ms_of_day;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", c.year, c.month, c.day,
                static_cast<long long>(ms / 3'600'000), static_cast<long long>(ms / 60'000 % 60),
                static_cast<long long>(ms / 1000 % 60), static_cast<long long>(ms % 1000));
  return buf;
}

std::string format_chinese_date(TimePoint t) {
  const Civil c = to_civil(t);
  return std::to_string(c.year) + "年" + std::to_string(c.month) + "月" + std::to_string(c.day) + "日";
}

bool is_iso_date(const std::string& date) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') return false;
  for (std::size_t i : {0U, 1U, 2U, 3U, 5U, 6U, 8U, 9U}) {
    if (date[i] < '0' || date[i] > '9') return false;
  }
  const int year = std::stoi(date.substr(0, 4));
  const auto month = static_cast<unsigned>(std::stoi(date.substr(5, 2)));
  const auto day = static_cast<unsigned>(std::stoi(date.substr(8, 2)));
  return std::chrono::year_month_day{std::chrono::year{year}, std::chrono::month{month},
                                     std::chrono::day{day}}
      .ok();
}

}  // namespace jixiao::workflow
