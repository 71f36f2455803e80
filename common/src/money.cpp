#include "jixiao/common/money.h"

#include "jixiao/common/decimal.h"
#include "jixiao/common/text.h"

namespace jixiao {

std::string_view money_unit_name(MoneyUnit unit) {
  switch (unit) {
    case MoneyUnit::kYuan: return "元";
    case MoneyUnit::kBaiYuan: return "百元";
    case MoneyUnit::kWanYuan: return "万元";
  }
  return "元";
}

Result<MoneyUnit> parse_money_unit(std::string_view name) {
  const std::string n(text::trim(name));
  if (n == "元") return MoneyUnit::kYuan;
  if (n == "百元") return MoneyUnit::kBaiYuan;
  if (n == "万元") return MoneyUnit::kWanYuan;
  return Status::invalid_argument("不支持的金额单位“" + n + "”，应为 元、百元 或 万元",
                                  "unknown money unit");
}

std::int64_t fen_per_unit(MoneyUnit unit) {
  switch (unit) {
    case MoneyUnit::kYuan: return 100;
    case MoneyUnit::kBaiYuan: return 10'000;
    case MoneyUnit::kWanYuan: return 1'000'000;
  }
  return 100;
}

int max_decimals(MoneyUnit unit) {
  switch (unit) {
    case MoneyUnit::kYuan: return 2;
    case MoneyUnit::kBaiYuan: return 4;
    case MoneyUnit::kWanYuan: return 6;
  }
  return 2;
}

Result<Money> Money::parse(std::string_view raw, MoneyUnit unit) {
  const std::string shown(text::trim(raw));
  const std::string unit_name(money_unit_name(unit));
  auto number = Decimal::parse(raw);
  if (!number && number.status().detail() == "|value| > 1e12") {
    return Status::invalid_argument("金额“" + shown + "”" + unit_name + "超出合理范围（上限为 1 万亿元）",
                                    "amount above 1e12 yuan");
  }
  if (!number) {
    return Status::invalid_argument("金额“" + shown + "”不是有效的数字（单位：" + unit_name + "）",
                                    number.status().detail());
  }
  if (number->micros() < 0) {
    return Status::invalid_argument("金额不能为负数：“" + shown + "”" + unit_name, "negative amount");
  }
  if (number->decimals() > max_decimals(unit)) {
    return Status::invalid_argument("金额“" + shown + "”" + unit_name + "精确到了分以下：以" +
                                        unit_name + "为单位最多 " +
                                        std::to_string(max_decimals(unit)) + " 位小数",
                                    "finer than one fen");
  }
  // micros are millionths of the unit; fen = micros * fen_per_unit / 10^6, exact here.
  const Int128 fen = static_cast<Int128>(number->micros()) * fen_per_unit(unit) / Decimal::kScale;
  if (fen > kMaxFen) {
    return Status::invalid_argument("金额“" + shown + "”" + unit_name + "超出合理范围（上限为 1 万亿元）",
                                    "amount above 1e12 yuan");
  }
  return Money::from_fen(static_cast<std::int64_t>(fen));
}

std::string Money::format(MoneyUnit unit, int min_decimals, bool group) const {
  const std::int64_t per = fen_per_unit(unit);
  // fen -> millionths of the unit, exact because per divides 10^6.
  const Decimal d = Decimal::from_micros(fen_ * (Decimal::kScale / per), max_decimals(unit));
  const std::string plain = d.to_plain(min_decimals);
  return group ? text::group_thousands(plain) : plain;
}

std::string Money::format_with_unit(MoneyUnit unit) const {
  return format(unit) + " " + std::string(money_unit_name(unit));
}

}  // namespace jixiao
