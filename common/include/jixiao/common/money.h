// Money is an exact integer count of 分 (0.01 元). It is entered and rendered
// in a form's money unit — 元, 百元 or 万元 — without ever passing through
// floating point.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "jixiao/common/status.h"

namespace jixiao {

enum class MoneyUnit : std::uint8_t { kYuan = 0, kBaiYuan = 1, kWanYuan = 2 };

std::string_view money_unit_name(MoneyUnit unit);  // "元", "百元", "万元"
Result<MoneyUnit> parse_money_unit(std::string_view name);
std::int64_t fen_per_unit(MoneyUnit unit);          // 100, 10'000, 1'000'000
int max_decimals(MoneyUnit unit);                   // 2, 4, 6: one 分 exactly

class Money {
 public:
  // Largest amount accepted from input: 1 万亿元 (10^12 元). A 科协 unit's
  // yearly budget is below 10^10 元; anything near this is a typing error.
  static constexpr std::int64_t kMaxFen = 100'000'000'000'000LL;

  constexpr Money() = default;
  static constexpr Money from_fen(std::int64_t fen) {
    Money m;
    m.fen_ = fen;
    return m;
  }

  // Parses an amount written in `unit`: "8086475.64" (元), "100" (万元),
  // "1,234.5". Errors, each naming the text: negative amounts, finer than one
  // 分 (more than 2 decimals of 元), above kMaxFen, not a number.
  static Result<Money> parse(std::string_view text, MoneyUnit unit);

  constexpr std::int64_t fen() const { return fen_; }

  // Exact rendering in `unit` with thousands separators and at least
  // `min_decimals` decimals: 808647564 分 in 元 -> "8,086,475.64";
  // in 万元 -> "808.647564"; 10'000'000 分 in 万元 -> "10.00".
  std::string format(MoneyUnit unit, int min_decimals = 2, bool group = true) const;
  // format() followed by the unit's name: "8,086,475.64 元".
  std::string format_with_unit(MoneyUnit unit) const;

  Money operator+(Money o) const { return from_fen(fen_ + o.fen_); }
  Money operator-(Money o) const { return from_fen(fen_ - o.fen_); }
  friend constexpr bool operator==(Money, Money) = default;
  friend constexpr std::strong_ordering operator<=>(Money, Money) = default;

 private:
  std::int64_t fen_ = 0;
};

}  // namespace jixiao
