#include "jixiao/common/decimal.h"

#include "jixiao/common/text.h"

namespace jixiao {
namespace {

constexpr std::int64_t pow10(int n) {
  std::int64_t v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

}  // namespace

Int128 div_round_half_away(Int128 n, Int128 d) {
  if (d < 0) {
    n = -n;
    d = -d;
  }
  const bool negative = n < 0;
  const Int128 a = negative ? -n : n;
  const Int128 q = (a * 2 + d) / (d * 2);
  return negative ? -q : q;
}

Result<Decimal> Decimal::parse(std::string_view raw) {
  const std::string norm = text::normalize_width(raw);
  std::string_view s = text::trim(norm);
  const std::string shown(s);
  if (s.empty()) return Status::invalid_argument("数值为空", "empty number");
  bool negative = false;
  if (s[0] == '-' || s[0] == '+') {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  Int128 int_part = 0;
  std::int64_t frac = 0;
  int decimals = 0;
  bool seen_digit = false;
  bool seen_point = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      seen_digit = true;
      if (seen_point) {
        if (decimals == kMaxDecimals) {
          return Status::invalid_argument("数值“" + shown + "”的小数位过多（最多 6 位）",
                                          "more than 6 decimals");
        }
        frac = frac * 10 + (c - '0');
        ++decimals;
      } else {
        int_part = int_part * 10 + (c - '0');
        if (int_part > kMaxMicros / kScale) {
          return Status::invalid_argument("数值“" + shown + "”过大", "|value| > 1e12");
        }
      }
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else if (c == ',' && !seen_point && seen_digit) {
      continue;  // thousands separator
    } else {
      return Status::invalid_argument("“" + shown + "”不是有效的数值",
                                      "unexpected character at byte " + std::to_string(i));
    }
  }
  if (!seen_digit) {
    return Status::invalid_argument("“" + shown + "”不是有效的数值", "no digits");
  }
  Int128 micros = int_part * kScale + static_cast<Int128>(frac) * pow10(kMaxDecimals - decimals);
  if (negative) micros = -micros;
  return from_micros(static_cast<std::int64_t>(micros), decimals);
}

Decimal Decimal::from_ratio(Int128 num, Int128 den, int decimals) {
  const std::int64_t unit = pow10(kMaxDecimals - decimals);
  const Int128 q = div_round_half_away(num * kScale, den * unit);
  return from_micros(static_cast<std::int64_t>(q * unit), decimals);
}

Decimal Decimal::rounded(int decimals) const {
  const std::int64_t unit = pow10(kMaxDecimals - decimals);
  return from_micros(static_cast<std::int64_t>(div_round_half_away(micros_, unit) * unit), decimals);
}

std::string Decimal::to_string(int decimals) const {
  const Decimal r = rounded(decimals);
  const bool negative = r.micros_ < 0;
  const std::int64_t a = negative ? -r.micros_ : r.micros_;
  std::string out = negative ? "-" : "";
  out += std::to_string(a / kScale);
  if (decimals > 0) {
    std::string frac = std::to_string(a % kScale);
    frac.insert(0, static_cast<std::size_t>(kMaxDecimals) - frac.size(), '0');
    out += '.';
    out += frac.substr(0, static_cast<std::size_t>(decimals));
  }
  return out;
}

std::string Decimal::to_string() const { return to_string(decimals_); }

std::string Decimal::to_plain(int min_decimals) const {
  int d = kMaxDecimals;
  while (d > min_decimals && rounded(d - 1) == *this) --d;
  return to_string(d);
}

Decimal Decimal::times(Decimal o) const {
  const Int128 p = static_cast<Int128>(micros_) * o.micros_;
  return from_micros(static_cast<std::int64_t>(div_round_half_away(p, kScale)), kMaxDecimals);
}

}  // namespace jixiao
