#include "jixiao/common/indicator.h"

#include <algorithm>
#include <array>

#include "jixiao/common/text.h"

namespace jixiao {
namespace {

struct Prefix {
  std::string_view text;
  Comparator cmp;
};
// Longest first where one is a prefix of another.
constexpr std::array<Prefix, 24> kComparatorPrefixes{{
    {">=", Comparator::kGe},     {"<=", Comparator::kLe},     {"≥", Comparator::kGe},
    {"≤", Comparator::kLe},      {"不少于", Comparator::kGe}, {"不低于", Comparator::kGe},
    {"不小于", Comparator::kGe}, {"大于等于", Comparator::kGe}, {"至少", Comparator::kGe},
    {"达到", Comparator::kGe},   {"不超过", Comparator::kLe}, {"不高于", Comparator::kLe},
    {"不多于", Comparator::kLe}, {"不大于", Comparator::kLe}, {"小于等于", Comparator::kLe},
    {"至多", Comparator::kLe},   {"控制在", Comparator::kLe}, {"大于", Comparator::kGt},
    {"高于", Comparator::kGt},   {"超过", Comparator::kGt},   {"小于", Comparator::kLt},
    {"低于", Comparator::kLt},   {">", Comparator::kGt},      {"<", Comparator::kLt},
}};

// Units as they occur on 科协 forms; matched longest first after a number.
constexpr std::array<std::string_view, 52> kUnits{{
    "万人次", "万元", "亿元", "百元", "千元", "人次", "场次", "万册", "万份", "万人", "小时",
    "平方米", "公里", "课题", "批次", "元", "%", "‰", "个", "人", "场", "次", "份", "种", "家",
    "所", "站", "项", "篇", "册", "期", "天", "日", "月", "年", "户", "台", "套", "部", "件",
    "本", "条", "门", "类", "批", "分", "万", "名", "座", "处", "支", "位",
}};

constexpr std::array<std::string_view, 8> kNotApplicableWords{{"不适用", "—", "——", "-", "--", "/", "无", "–"}};

// Words that report an indicator as achieved without a number.
constexpr std::array<std::string_view, 14> kAchievedWords{{
    "完成", "已完成", "全部完成", "顺利完成", "圆满完成", "达到", "已达到", "达标", "实现",
    "已实现", "符合", "满足", "是", "按时完成",
}};
constexpr std::array<std::string_view, 5> kPartialPrefixes{{"基本", "部分", "大部分", "初步", "大致"}};
constexpr std::array<std::string_view, 5> kNegativePrefixes{{"未", "没有", "不", "无", "尚未"}};

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

template <std::size_t N>
bool is_one_of(std::string_view s, const std::array<std::string_view, N>& words) {
  return std::find(words.begin(), words.end(), s) != words.end();
}

// Strips decorations that do not change the meaning: "已", "均", trailing "。".
std::string canonical_words(std::string_view s) {
  std::string out(s);
  auto erase_all = [&](std::string_view w) {
    for (std::size_t p = out.find(w); p != std::string::npos; p = out.find(w)) out.erase(p, w.size());
  };
  erase_all(" ");
  erase_all("。");
  erase_all(".");
  if (starts_with(out, "已")) out.erase(0, std::string_view("已").size());
  if (starts_with(out, "均")) out.erase(0, std::string_view("均").size());
  // "未超过" and "不超过" say the same thing of a result.
  if (starts_with(out, "未")) out.replace(0, std::string_view("未").size(), "不");
  return out;
}

// Parses a number at the start of `s` (digits, ',', one '.'); advances.
std::optional<Decimal> take_number(std::string_view& s) {
  std::size_t i = 0;
  bool point = false;
  while (i < s.size()) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      ++i;
    } else if (c == '.' && !point && i > 0) {
      point = true;
      ++i;
    } else if (c == ',' && i > 0 && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '9') {
      ++i;
    } else {
      break;
    }
  }
  if (i == 0) return std::nullopt;
  auto d = Decimal::parse(s.substr(0, i));
  if (!d) return std::nullopt;
  s.remove_prefix(i);
  return *d;
}

bool take_range_separator(std::string_view& s) {
  for (std::string_view sep : {"-", "~", "～", "至", "—", "–"}) {
    if (starts_with(s, sep) && s.size() > sep.size() && s[sep.size()] >= '0' && s[sep.size()] <= '9') {
      s.remove_prefix(sep.size());
      return true;
    }
  }
  return false;
}

std::string take_unit(std::string_view& s) {
  std::string_view best;
  for (std::string_view u : kUnits) {
    if (starts_with(s, u) && u.size() > best.size()) best = u;
  }
  s.remove_prefix(best.size());
  return std::string(best);
}

enum class TermParse { kNumeric, kQualitative, kUnparsed };

TermParse parse_term(std::string_view term, IndicatorTerm& out) {
  std::string_view s = term;
  Comparator cmp = Comparator::kNone;
  for (const auto& p : kComparatorPrefixes) {
    if (starts_with(s, p.text)) {
      cmp = p.cmp;
      s.remove_prefix(p.text.size());
      break;
    }
  }
  if (cmp == Comparator::kNone && starts_with(s, "=")) {
    cmp = Comparator::kEq;
    s.remove_prefix(1);
  } else if (cmp == Comparator::kNone && starts_with(s, "等于")) {
    cmp = Comparator::kEq;
    s.remove_prefix(std::string_view("等于").size());
  }
  s = text::trim(s);
  auto number = take_number(s);
  if (!number) {
    // "不超过全年预算数", "及时": words. "%", "≥": nothing a person can read.
    return text::contains_cjk(term) ? TermParse::kQualitative : TermParse::kUnparsed;
  }
  out.comparator = cmp;
  out.value = *number;
  s = text::trim(s);
  if (cmp == Comparator::kNone && take_range_separator(s)) {
    auto upper = take_number(s);
    if (!upper) return TermParse::kUnparsed;
    out.comparator = Comparator::kRange;
    out.upper = *upper;
  }
  s = text::trim(s);
  out.unit = take_unit(s);
  // A range written "10家-20家" carries its unit twice.
  out.note = std::string(text::trim(s));
  return TermParse::kNumeric;
}

std::vector<std::string_view> split_terms(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  auto flush = [&](std::size_t end) {
    const std::string_view t = text::trim(s.substr(start, end - start));
    if (!t.empty()) out.push_back(t);
  };
  for (std::size_t i = 0; i < s.size();) {
    std::size_t sep = 0;
    if (s[i] == ' ' || s[i] == ';' || s[i] == '\t' || s[i] == '\n') sep = 1;
    else if (starts_with(s.substr(i), "、")) sep = std::string_view("、").size();
    else if (starts_with(s.substr(i), "且")) sep = std::string_view("且").size();
    if (sep > 0) {
      flush(i);
      i += sep;
      start = i;
    } else {
      ++i;
    }
  }
  flush(s.size());
  return out;
}

}  // namespace

std::string_view comparator_symbol(Comparator c) {
  switch (c) {
    case Comparator::kNone: return "";
    case Comparator::kGe: return "≥";
    case Comparator::kGt: return ">";
    case Comparator::kLe: return "≤";
    case Comparator::kLt: return "<";
    case Comparator::kEq: return "=";
    case Comparator::kRange: return "～";
  }
  return "";
}

IndicatorValue IndicatorValue::parse(std::string_view raw) {
  IndicatorValue v;
  v.text = std::string(raw);
  const std::string norm = text::normalize_width(raw);
  std::string_view s = text::trim(norm);
  if (s.empty()) return v;
  if (is_one_of(s, kNotApplicableWords)) {
    v.kind = Kind::kNotApplicable;
    v.words = std::string(s);
    return v;
  }
  // A remark in parentheses: everything from the first '(' on.
  const std::size_t paren = s.find('(');
  if (paren != std::string_view::npos) {
    std::string_view remark = s.substr(paren + 1);
    while (!remark.empty() && remark.back() == ')') remark.remove_suffix(1);
    v.note = std::string(text::trim(remark));
    s = text::trim(s.substr(0, paren));
    if (s.empty()) {
      v.kind = Kind::kUnparsed;
      return v;
    }
  }
  bool any_numeric = false;
  bool any_unparsed = false;
  std::string words;
  for (std::string_view term : split_terms(s)) {
    IndicatorTerm t;
    switch (parse_term(term, t)) {
      case TermParse::kNumeric:
        v.terms.push_back(std::move(t));
        any_numeric = true;
        break;
      case TermParse::kQualitative:
        if (!words.empty()) words += ' ';
        words += term;
        break;
      case TermParse::kUnparsed:
        any_unparsed = true;
        break;
    }
  }
  if (any_unparsed) {
    v.terms.clear();
    v.kind = Kind::kUnparsed;
  } else if (any_numeric) {
    v.kind = Kind::kNumeric;
    if (!words.empty()) v.note = v.note.empty() ? words : words + "；" + v.note;
  } else {
    v.kind = Kind::kQualitative;
    v.words = words;
  }
  return v;
}

std::string IndicatorValue::describe() const {
  switch (kind) {
    case Kind::kEmpty: return "（空）";
    case Kind::kNotApplicable: return "不适用";
    case Kind::kQualitative: return words;
    case Kind::kUnparsed: return text;
    case Kind::kNumeric: {
      std::string out;
      for (const auto& t : terms) {
        if (!out.empty()) out += ' ';
        if (t.comparator == Comparator::kRange) {
          out += t.value.to_plain() + "～" + t.upper.to_plain() + t.unit;
        } else {
          out += std::string(comparator_symbol(t.comparator)) + t.value.to_plain() + t.unit;
        }
      }
      return out;
    }
  }
  return text;
}

std::optional<Decimal> money_unit_in_yuan(std::string_view unit) {
  if (unit == "元") return Decimal::from_int(1);
  if (unit == "百元") return Decimal::from_int(100);
  if (unit == "千元") return Decimal::from_int(1000);
  if (unit == "万元") return Decimal::from_int(10'000);
  if (unit == "亿元") return Decimal::from_int(100'000'000);
  return std::nullopt;
}

namespace {

bool same_unit_family(std::string_view a, std::string_view b) {
  if (a == b) return true;
  auto family = [](std::string_view u) -> std::string_view {
    if (u == "场" || u == "场次") return "场";
    if (u == "次" || u == "批次") return "次";
    if (u == "人" || u == "名" || u == "位") return "人";
    if (u == "个" || u == "家" || u == "所") return "个";
    return u;
  };
  return family(a) == family(b);
}

// Converts `value` in `from` into `to` when both are money units.
std::optional<Decimal> convert(Decimal value, std::string_view from, std::string_view to) {
  if (same_unit_family(from, to)) return value;
  const auto f = money_unit_in_yuan(from);
  const auto t = money_unit_in_yuan(to);
  if (!f || !t) return std::nullopt;
  const Int128 num = static_cast<Int128>(value.micros()) * f->micros();
  return Decimal::from_ratio(num, static_cast<Int128>(t->micros()) * Decimal::kScale, Decimal::kMaxDecimals);
}

Attainment qualitative_actual(std::string_view words, std::string& reason) {
  const std::string w = canonical_words(words);
  for (auto p : kPartialPrefixes) {
    if (starts_with(w, p)) return Attainment::kPartial;
  }
  for (auto p : kNegativePrefixes) {
    if (starts_with(w, p)) {
      reason = "实际完成值“" + std::string(words) + "”表明未完成";
      return Attainment::kNotMet;
    }
  }
  if (is_one_of(std::string_view(w), kAchievedWords) || is_one_of(words, kAchievedWords)) {
    return Attainment::kMet;
  }
  return Attainment::kUnknown;
}

}  // namespace

Assessment assess(const IndicatorValue& target, const IndicatorValue& actual, bool cost_like) {
  using K = IndicatorValue::Kind;
  Assessment a;
  if (target.kind == K::kNotApplicable) {
    a.attainment = Attainment::kNotApplicable;
    return a;
  }
  if (target.kind == K::kEmpty || target.kind == K::kUnparsed) {
    a.reason = target.kind == K::kEmpty ? "年度指标值未填写" : "年度指标值“" + target.text + "”无法解析";
    return a;
  }
  if (actual.kind == K::kEmpty) {
    a.reason = "实际完成值未填写";
    return a;
  }
  if (actual.kind == K::kUnparsed) {
    a.reason = "实际完成值“" + actual.text + "”无法解析";
    return a;
  }
  if (actual.kind == K::kNotApplicable) {
    a.reason = "年度指标值为“" + target.describe() + "”，实际完成值却为“不适用”";
    return a;
  }

  if (target.kind == K::kQualitative) {
    if (actual.kind == K::kNumeric) {
      a.reason = "年度指标值为文字“" + target.words + "”，实际完成值为数值“" + actual.text + "”，无法比较";
      return a;
    }
    const std::string t = canonical_words(target.words);
    const std::string w = canonical_words(actual.words);
    // The target's words within the actual's count as met, unless what comes
    // before them qualifies or negates them: "基本及时", "未完成" (canonical "不完成").
    const std::size_t at = t.empty() ? std::string::npos : w.find(t);
    std::string ignored;
    const Attainment before =
        at == std::string::npos || at == 0 ? Attainment::kMet : qualitative_actual(w.substr(0, at), ignored);
    if (t == w || (at != std::string::npos && before != Attainment::kPartial && before != Attainment::kNotMet)) {
      a.attainment = Attainment::kMet;
      return a;
    }
    a.attainment = qualitative_actual(actual.words, a.reason);
    if (a.attainment == Attainment::kUnknown) {
      a.reason = "实际完成值“" + actual.words + "”与年度指标值“" + target.words + "”不一致，无法判断是否完成";
    }
    return a;
  }

  // Numeric target.
  if (actual.kind == K::kQualitative) {
    a.attainment = qualitative_actual(actual.words, a.reason);
    if (a.attainment == Attainment::kMet) a.attainment = Attainment::kUnknown;
    if (a.attainment == Attainment::kUnknown) {
      a.reason = "年度指标值为“" + target.describe() + "”，实际完成值应填写数值，表中为“" + actual.words + "”";
    }
    return a;
  }
  // Both numeric: compare the first target term with the actual term of a
  // compatible unit (an actual without a unit takes the target's).
  const IndicatorTerm& t = target.terms.front();
  const IndicatorTerm* match = nullptr;
  for (const auto& term : actual.terms) {
    if (term.unit.empty() || same_unit_family(term.unit, t.unit) ||
        (money_unit_in_yuan(term.unit) && money_unit_in_yuan(t.unit))) {
      match = &term;
      break;
    }
  }
  if (match == nullptr) {
    a.reason = "年度指标值“" + target.describe() + "”与实际完成值“" + actual.describe() + "”单位不一致，无法比较";
    return a;
  }
  const auto converted = match->unit.empty() ? std::optional<Decimal>(match->value)
                                              : convert(match->value, match->unit, t.unit);
  if (!converted) {
    a.reason = "年度指标值“" + target.describe() + "”与实际完成值“" + actual.describe() + "”单位不一致，无法比较";
    return a;
  }
  const Decimal av = *converted;
  Comparator cmp = t.comparator;
  if (cmp == Comparator::kNone) cmp = cost_like ? Comparator::kLe : Comparator::kGe;
  const Decimal zero;
  bool met = false;
  switch (cmp) {
    case Comparator::kGe: met = av >= t.value; break;
    case Comparator::kGt: met = av > t.value; break;
    case Comparator::kLe: met = av <= t.value; break;
    case Comparator::kLt: met = av < t.value; break;
    case Comparator::kEq: met = av == t.value; break;
    case Comparator::kRange: met = av >= t.value && av <= t.upper; break;
    case Comparator::kNone: break;
  }
  const bool ceiling = cmp == Comparator::kLe || cmp == Comparator::kLt;
  if (ceiling) {
    a.ratio = av == zero ? Decimal::from_int(1) : Decimal::from_ratio(t.value.micros(), av.micros(), 6);
  } else if (t.value != zero) {
    a.ratio = Decimal::from_ratio(av.micros(), t.value.micros(), 6);
  } else {
    a.ratio = Decimal::from_int(1);
  }
  if (cmp == Comparator::kEq && av > t.value) met = true;  // more than an exact target: exceeded
  a.attainment = met ? Attainment::kMet : Attainment::kNotMet;
  if ((t.comparator == Comparator::kNone && !cost_like) || t.comparator == Comparator::kEq) {
    a.overachieved = av > t.value;
  } else if (t.comparator == Comparator::kRange) {
    a.overachieved = av > t.upper;
  }
  if (!met) {
    a.reason = "实际完成值 " + actual.describe() + " 未达到年度指标值 " + target.describe();
  }
  return a;
}

}  // namespace jixiao
