// Exact decimal numbers for what is not money: percentages, scores, counts,
// indicator values. Stored as integer millionths; arithmetic rounds half away
// from zero at an explicit number of decimals. Never floating point.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "jixiao/common/status.h"

namespace jixiao {

// 128-bit intermediate for exact products of 64-bit amounts (a GCC/Clang
// extension; __extension__ keeps -Wpedantic quiet about it).
__extension__ typedef __int128 Int128;

class Decimal {
 public:
  static constexpr std::int64_t kScale = 1'000'000;
  static constexpr int kMaxDecimals = 6;
  // Integer part at most 10^12: far beyond any score, percentage or count.
  static constexpr std::int64_t kMaxMicros = 1'000'000'000'000LL * kScale;

  constexpr Decimal() = default;
  static constexpr Decimal from_micros(std::int64_t micros, int decimals = kMaxDecimals) {
    Decimal d;
    d.micros_ = micros;
    d.decimals_ = static_cast<std::uint8_t>(decimals);
    return d;
  }
  static constexpr Decimal from_int(std::int64_t v) { return from_micros(v * kScale, 0); }

  // Parses "99.7", "-3", "1,234.5", " ９９．７ ". The count of decimals as
  // written is kept (display precision). More than six decimals, anything
  // but digits, one point and a sign, or an integer part above 10^12 is an error.
  static Result<Decimal> parse(std::string_view text);

  // round(num / den) at `decimals` places, half away from zero. den != 0.
  static Decimal from_ratio(Int128 num, Int128 den, int decimals);

  constexpr std::int64_t micros() const { return micros_; }
  // Decimals as written when parsed, or as rounded to.
  constexpr int decimals() const { return decimals_; }

  Decimal rounded(int decimals) const;
  // Exact value with `decimals_` places ("99.70" stays "99.70"), no grouping.
  std::string to_string() const;
  // Rounded to `decimals` places.
  std::string to_string(int decimals) const;
  // Shortest exact form with at least `min_decimals` places: 3.35 -> "3.35", 10 -> "10".
  std::string to_plain(int min_decimals = 0) const;

  Decimal operator+(Decimal o) const { return from_micros(micros_ + o.micros_, max_dec(o)); }
  Decimal operator-(Decimal o) const { return from_micros(micros_ - o.micros_, max_dec(o)); }
  // Product rounded at six decimals.
  Decimal times(Decimal o) const;

  // Compares values only; decimals (display precision) do not take part.
  friend constexpr bool operator==(Decimal a, Decimal b) { return a.micros_ == b.micros_; }
  friend constexpr std::strong_ordering operator<=>(Decimal a, Decimal b) { return a.micros_ <=> b.micros_; }

 private:
  int max_dec(Decimal o) const { return decimals_ > o.decimals_ ? decimals_ : o.decimals_; }
  std::int64_t micros_ = 0;
  std::uint8_t decimals_ = 0;
};

// Rounds n / d half away from zero. d must not be 0.
Int128 div_round_half_away(Int128 n, Int128 d);

}  // namespace jixiao
