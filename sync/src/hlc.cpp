#include "jixiao/sync/hlc.h"

#include <algorithm>

namespace jixiao::sync {

std::string HybridTimestamp::to_string() const { return std::to_string(wall_ms) + "." + std::to_string(counter); }

HybridTimestamp HybridClock::now() {
  const std::int64_t physical = clock_.now().time_since_epoch().count();
  std::lock_guard lock(mu_);
  if (physical > last_.wall_ms) {
    last_ = {physical, 0};
  } else {
    ++last_.counter;
  }
  return last_;
}

void HybridClock::observe(const HybridTimestamp& remote) {
  const std::int64_t physical = clock_.now().time_since_epoch().count();
  std::lock_guard lock(mu_);
  const std::int64_t wall = std::max({physical, last_.wall_ms, remote.wall_ms});
  if (wall == last_.wall_ms && wall == remote.wall_ms) {
    last_.counter = std::max(last_.counter, remote.counter) + 1;
  } else if (wall == last_.wall_ms) {
    ++last_.counter;
  } else if (wall == remote.wall_ms) {
    last_ = {wall, remote.counter + 1};
  } else {
    last_ = {wall, 0};
  }
}

HybridTimestamp HybridClock::last() const {
  std::lock_guard lock(mu_);
  return last_;
}

}  // namespace jixiao::sync
