// Indicator values (年度指标值 / 实际完成值) parsed the way a reviewer reads them.
//
//   "≥90%"        -> one numeric term: ≥ 90 %
//   "≤20万元"      -> ≤ 20 万元
//   "不少于1场次"   -> ≥ 1 场次
//   "≥30份 ≥2亿元" -> two terms
//   "10-20家"      -> range 10..20 家
//   "及时", "合规"  -> qualitative
//   "不适用", "—"  -> not applicable
//   "%"           -> unparsed: kept verbatim and flagged, never refused
//
// Parenthesised remarks ("≥90%(优秀等级项目数量的优良率)") are kept as a note.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jixiao/common/decimal.h"

namespace jixiao {

enum class Comparator : std::uint8_t {
  kNone = 0,  // a bare value: "8次", "90%"
  kGe = 1,
  kGt = 2,
  kLe = 3,
  kLt = 4,
  kEq = 5,
  kRange = 6,
};
std::string_view comparator_symbol(Comparator c);  // "≥", "" for kNone, "～" for a range

struct IndicatorTerm {
  Comparator comparator = Comparator::kNone;
  Decimal value;
  Decimal upper;     // only for kRange
  std::string unit;  // "%", "万元", "场次", "" when none was written
  std::string note;  // trailing words after the unit: "个地方科协改革试点" -> unit 个, note "地方科协改革试点"
};

struct IndicatorValue {
  enum class Kind : std::uint8_t { kEmpty = 0, kNumeric = 1, kQualitative = 2, kNotApplicable = 3, kUnparsed = 4 };

  Kind kind = Kind::kEmpty;
  std::string text;                 // verbatim, as entered
  std::vector<IndicatorTerm> terms;  // kNumeric
  std::string words;                // kQualitative: the normalised words ("及时")
  std::string note;                 // a parenthesised remark, if any

  static IndicatorValue parse(std::string_view text);
  // "≥ 90%", "及时", "不适用"; the verbatim text for kUnparsed.
  std::string describe() const;
};

enum class Attainment : std::uint8_t {
  kMet = 0,
  kPartial = 1,       // "基本完成": short of the target
  kNotMet = 2,
  kUnknown = 3,       // cannot be decided from what is written
  kNotApplicable = 4,
};

struct Assessment {
  Attainment attainment = Attainment::kUnknown;
  // Degree of completion for scoring: actual ÷ target (≥ kinds) or target ÷
  // actual (≤ kinds), uncapped. Set only for numeric comparisons.
  std::optional<Decimal> ratio;
  bool overachieved = false;  // a bare or "=" target clearly exceeded
  std::string reason;         // Chinese, why kUnknown / kNotMet
};

// `cost_like` is true for 成本指标 rows: there a bare target is a ceiling.
Assessment assess(const IndicatorValue& target, const IndicatorValue& actual, bool cost_like);

// Money units convert (元, 千元, 万元, 亿元 …); returns the factor of `unit`
// in 元 as a Decimal, or nullopt if `unit` is not a money unit.
std::optional<Decimal> money_unit_in_yuan(std::string_view unit);

}  // namespace jixiao
