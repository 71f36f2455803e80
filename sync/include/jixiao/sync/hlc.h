// Hybrid logical clocks (Kulkarni et al., 2014): a timestamp that follows
// wall time but never goes backwards and orders causally related events even
// when machines' clocks disagree. Every operation carries one; concurrent
// edits of one cell are ordered by (timestamp, device id).
#pragma once

#include <compare>
#include <cstdint>
#include <mutex>
#include <string>

#include "jixiao/workflow/clock.h"

namespace jixiao::sync {

struct HybridTimestamp {
  std::int64_t wall_ms = 0;    // physical part: ms since the Unix epoch
  std::uint32_t counter = 0;   // logical part: orders events within one ms

  friend bool operator==(const HybridTimestamp&, const HybridTimestamp&) = default;
  friend auto operator<=>(const HybridTimestamp&, const HybridTimestamp&) = default;
  std::string to_string() const;  // "1637560000000.3"
};

// Thread-safe. The physical time comes from an injected clock.
class HybridClock {
 public:
  explicit HybridClock(const workflow::Clock& clock, HybridTimestamp last = {}) : clock_(clock), last_(last) {}

  // A timestamp greater than every one issued or observed before.
  HybridTimestamp now();
  // Takes a timestamp from another machine into account (on receipt), so that
  // what this machine does next is ordered after it.
  void observe(const HybridTimestamp& remote);
  HybridTimestamp last() const;

 private:
  const workflow::Clock& clock_;
  mutable std::mutex mu_;
  HybridTimestamp last_;  // GUARDED_BY(mu_)
};

}  // namespace jixiao::sync
