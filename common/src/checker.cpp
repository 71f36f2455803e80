#include "jixiao/common/checker.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "jixiao/common/indicator.h"
#include "jixiao/common/text.h"

namespace jixiao {

std::string_view severity_name(Severity s) {
  switch (s) {
    case Severity::kError: return "错误";
    case Severity::kWarning: return "警告";
    case Severity::kHint: return "提示";
  }
  return "提示";
}

std::string_view severity_key(Severity s) {
  switch (s) {
    case Severity::kError: return "error";
    case Severity::kWarning: return "warning";
    case Severity::kHint: return "hint";
  }
  return "hint";
}

std::size_t CheckReport::count(Severity s) const {
  return static_cast<std::size_t>(
      std::count_if(findings.begin(), findings.end(), [s](const Finding& f) { return f.severity == s; }));
}

std::vector<const Finding*> CheckReport::with_rule(std::string_view rule) const {
  std::vector<const Finding*> out;
  for (const auto& f : findings) {
    if (f.rule == rule) out.push_back(&f);
  }
  return out;
}

namespace {

constexpr Decimal kHundred = Decimal::from_int(100);

// ---------------------------------------------------------------------------
// Formatting numbers for messages.

std::string pct(Decimal percent) { return percent.to_string(2) + "%"; }
std::string pct_as_written(Decimal percent) { return percent.to_string() + "%"; }
std::string pts(Decimal d) { return d.to_plain(0); }

// Exact percentage num/den × 100 at `decimals` places.
Decimal ratio_pct(Int128 num, Int128 den, int decimals) { return Decimal::from_ratio(num * 100, den, decimals); }

// min(num/den, 1) × points, at two decimals (docs/domain.md §3.1).
Decimal capped_ratio_times(Int128 num, Int128 den, Decimal points) {
  if (num >= den) return points.rounded(2);
  return Decimal::from_ratio(num * points.micros(), den * Decimal::kScale, 2);
}

enum class Match { kExact, kRoundedDisplay, kWrong };

// Whether an entered value agrees with the exact one: equal at the entered
// precision. Fewer decimals than `wanted` is a display rounding, not an error.
Match match_value(Decimal entered, const std::function<Decimal(int)>& exact_at, int wanted) {
  const int d = std::min(entered.decimals(), Decimal::kMaxDecimals);
  if (exact_at(std::max(d, 0)) != entered) return Match::kWrong;
  // "100%" for 100.00% and "10" for 10.00 lose nothing: exact, not rounded.
  return d < wanted && exact_at(wanted) != entered ? Match::kRoundedDisplay : Match::kExact;
}

// ---------------------------------------------------------------------------

class Checker {
 public:
  Checker(const Form& form, const FormTemplate& tmpl) : form_(form), tmpl_(tmpl) {}

  CheckReport run() {
    check_required_fields();
    if (tmpl_.kind == "project_self_eval") {
      check_project_self_eval();
    } else if (tmpl_.kind == "project_target") {
      check_project_target();
    } else if (tmpl_.kind == "department_self_eval") {
      check_department();
    } else if (tmpl_.kind == "self_eval_report") {
      check_report();
    } else {
      add(Severity::kWarning, "FORM.UNKNOWN_KIND",
          "模板“" + tmpl_.title + "”的类别“" + tmpl_.kind + "”没有对应的校验规则，只检查了必填项", {});
    }
    return std::move(report_);
  }

 private:
  // ---- plumbing ------------------------------------------------------------

  void add(Severity s, std::string rule, std::string message, std::vector<std::string> cells) {
    report_.findings.push_back({s, std::move(rule), std::move(message), std::move(cells)});
  }

  MoneyUnit unit_of(const TableDef& td) const { return td.money_unit.value_or(form_.money_unit); }

  std::string money(Money m, MoneyUnit unit) const { return m.format(unit); }

  const Row* fixed_row(std::string_view table, std::string_view row) const {
    const Table* t = form_.table(table);
    return t == nullptr ? nullptr : t->find(row);
  }

  static bool has_number(const CellValue& v) { return v.kind == CellValue::Kind::kNumber; }
  static bool has_money(const CellValue& v) { return v.kind == CellValue::Kind::kMoney; }

  std::string field_label(std::string_view key) const {
    const CellDef* def = tmpl_.field(key);
    return def != nullptr ? def->label : std::string(key);
  }

  void check_required_fields() {
    for (const auto& def : tmpl_.fields) {
      if (!def.required || def.key == "total_score") continue;
      if (form_.field(def.key).kind == CellValue::Kind::kEmpty) {
        add(Severity::kWarning, "FORM.REQUIRED_EMPTY", "“" + def.label + "”未填写", {field_cell_id(def.key)});
      }
    }
  }

  // ---- grade and totals (every scored kind) ---------------------------------

  Decimal param_decimal(std::string_view key, std::int64_t fallback) const {
    auto d = Decimal::parse(tmpl_.param(key));
    return d ? *d : Decimal::from_int(fallback);
  }

  std::string grade_for(Decimal total) const {
    if (total >= param_decimal("grade_excellent", 90)) return "优";
    if (total >= param_decimal("grade_good", 80)) return "良";
    if (total >= param_decimal("grade_pass", 60)) return "中";
    return "差";
  }

  // Σ 分值 = 100, 总分 = Σ 得分, 0 ≤ 总分 ≤ 100, grade matches 总分.
  void check_totals(Decimal points_sum, const std::string& points_detail, std::optional<Decimal> score_sum,
                    const std::string& score_detail, std::vector<std::string> point_cells) {
    const Decimal expected_points = param_decimal("points_total", 100);
    if (points_sum != expected_points) {
      add(Severity::kError, "TOTAL.POINTS",
          "各项分值合计应为 " + pts(expected_points) + " 分，表中合计为 " + pts(points_sum) + " 分（" + points_detail + "）",
          std::move(point_cells));
    }
    const CellValue& total = form_.field("total_score");
    const std::string total_id = field_cell_id("total_score");
    if (!has_number(total)) {
      std::string msg = "总分未填写";
      if (score_sum) msg += "，按各项得分合计应为 " + pts(*score_sum);
      add(Severity::kError, "TOTAL.SCORE_MISSING", msg, {total_id});
    } else {
      if (score_sum && total.number.rounded(2) != score_sum->rounded(2)) {
        add(Severity::kError, "TOTAL.SCORE",
            "总分应为各项得分之和 " + pts(*score_sum) + "（" + score_detail + "），表中为 " + total.number.to_string(),
            {total_id});
      }
      if (total.number < Decimal() || total.number > expected_points) {
        add(Severity::kError, "TOTAL.RANGE",
            "总分 " + total.number.to_string() + " 不在 0 至 " + pts(expected_points) + " 之间", {total_id});
      }
    }
    const CellValue& grade = form_.field("grade");
    if (tmpl_.field("grade") == nullptr) return;
    const std::string grade_id = field_cell_id("grade");
    if (has_number(total)) {
      const std::string expected = grade_for(total.number);
      const std::string rule_text = "（优 ≥ " + pts(param_decimal("grade_excellent", 90)) + "，良 " +
                                    pts(param_decimal("grade_good", 80)) + "–" + pts(param_decimal("grade_excellent", 90)) +
                                    "，中 " + pts(param_decimal("grade_pass", 60)) + "–" + pts(param_decimal("grade_good", 80)) +
                                    "，差 < " + pts(param_decimal("grade_pass", 60)) + "）";
      if (grade.kind != CellValue::Kind::kText) {
        add(Severity::kHint, "GRADE.MISSING",
            "未填写自评等级；按总分 " + total.number.to_string() + " 应为“" + expected + "”" + rule_text, {grade_id});
      } else if (grade.text != expected) {
        add(Severity::kError, "GRADE.MISMATCH",
            "自评等级应为“" + expected + "”（总分 " + total.number.to_string() + "）" + rule_text + "，表中为“" +
                grade.text + "”",
            {grade_id, total_id});
      }
    }
  }

  void check_score_range(const CellValue& score, std::optional<Decimal> points, const std::string& what,
                         const std::string& cell) {
    if (!has_number(score)) return;
    if (score.number < Decimal()) {
      add(Severity::kError, "SCORE.RANGE", what + "得分 " + score.number.to_string() + " 不能为负数", {cell});
    } else if (points && score.number > *points) {
      add(Severity::kError, "SCORE.RANGE",
          what + "得分 " + score.number.to_string() + " 超过了分值 " + pts(*points), {cell});
    }
  }

  // ---- money tables: Σ parts = total -----------------------------------------

  void check_money_sums(const TableDef& td) {
    const Table* table = form_.table(td.key);
    if (table == nullptr) return;
    const MoneyUnit unit = unit_of(td);
    for (const auto& rd : td.rows) {
      const Row* total = table->find(rd.key);
      if (total == nullptr) continue;
      for (const auto& parts : rd.sum_of) {
        for (const auto& col : td.columns) {
          if (col.type != CellType::kMoney || !td.row_has_column(rd.key, col)) continue;
          const CellValue& tv = total->cell(col.key);
          Money sum;
          std::string expr;
          std::string labels;
          bool any_part = false;
          std::vector<std::string> cells{table_cell_id(td.key, rd.key, col.key)};
          for (const auto& pk : parts) {
            const Row* part = table->find(pk);
            const RowDef* pd = td.row(pk);
            const CellValue& pv = part != nullptr ? part->cell(col.key) : CellValue{};
            const Money m = has_money(pv) ? pv.money : Money();
            any_part = any_part || has_money(pv);
            sum = sum + m;
            expr += (expr.empty() ? "" : " + ") + money(m, unit);
            labels += (labels.empty() ? "" : "、") + (pd != nullptr ? strip_prefix(pd->label) : pk);
            cells.push_back(table_cell_id(td.key, pk, col.key));
          }
          if (!has_money(tv) && !any_part) continue;
          const std::string where = td.label + "“" + col.label + "”列：";
          if (!any_part) {
            add(Severity::kWarning, "SUM.PARTS_MISSING",
                where + rd.label + "为 " + money(tv.money, unit) + " " + std::string(money_unit_name(unit)) + "，但其中" +
                    labels + "均未填写",
                cells);
            continue;
          }
          const Money total_value = has_money(tv) ? tv.money : Money();
          if (sum != total_value) {
            add(Severity::kError, "SUM.MISMATCH",
                where + rd.label + "应等于" + labels + "之和 " + expr + " = " + money(sum, unit) + "，表中为 " +
                    (has_money(tv) ? money(tv.money, unit) : std::string("空")),
                cells);
          }
        }
      }
    }
  }

  static std::string strip_prefix(const std::string& label) {
    static const std::string kPrefix = "其中：";
    return label.rfind(kPrefix, 0) == 0 ? label.substr(kPrefix.size()) : label;
  }

  // Compares an entered percentage cell with num/den; reports with `rule`.
  // `formula` shows the operands, e.g. "8,086,475.64 ÷ 8,108,600.00".
  void check_rate_cell(const CellValue& entered, Int128 num, Int128 den, const std::string& what,
                       const std::string& formula, const std::string& rule, const std::string& cell) {
    if (!has_number(entered)) return;
    const Decimal exact2 = ratio_pct(num, den, 2);
    const Match m = match_value(entered.number, [&](int d) { return ratio_pct(num, den, d); }, 2);
    if (m == Match::kRoundedDisplay) {
      add(Severity::kHint, rule + "_PRECISION",
          what + "应为 " + pct(exact2) + "（" + formula + "），表中为 " + pct_as_written(entered.number) +
              "（按两位小数填写）",
          {cell});
    } else if (m == Match::kWrong) {
      add(Severity::kError, rule,
          what + "应为 " + pct(exact2) + "（" + formula + "），表中为 " + pct_as_written(entered.number), {cell});
    }
  }

  void suggest(std::string cell, std::string what, const CellValue& entered, Decimal low, Decimal high,
               std::string basis) {
    ScoreSuggestion s;
    s.cell = std::move(cell);
    s.what = std::move(what);
    if (has_number(entered)) s.entered = entered.number;
    s.low = low.rounded(2);
    s.high = high.rounded(2);
    s.basis = std::move(basis);
    report_.suggestions.push_back(std::move(s));
  }

  // ---- 项目支出绩效自评表 ------------------------------------------------------

  struct FundsResult {
    std::optional<Decimal> points;
    std::optional<Decimal> score;
  };

  FundsResult check_funds() {
    FundsResult out;
    const TableDef* td = tmpl_.table("funds");
    if (td == nullptr) return out;
    check_money_sums(*td);
    const MoneyUnit unit = unit_of(*td);
    const Decimal threshold = param_decimal("low_rate_threshold_pct", 90);
    for (const auto& rd : td->rows) {
      const Row* row = fixed_row("funds", rd.key);
      if (row == nullptr) continue;
      const bool is_total = rd.key == "total";
      const CellValue& budget = row->cell("full_year_budget");
      const CellValue& executed = row->cell("executed");
      const std::string rate_id = table_cell_id("funds", rd.key, "rate");
      if (is_total) {
        if (!has_money(budget)) {
          add(Severity::kError, "FUNDS.MISSING", "项目资金“" + rd.label + "”的全年预算数未填写，无法计算执行率",
              {table_cell_id("funds", rd.key, "full_year_budget")});
        }
        if (!has_money(executed)) {
          add(Severity::kError, "FUNDS.MISSING", "项目资金“" + rd.label + "”的全年执行数未填写，无法计算执行率和得分",
              {table_cell_id("funds", rd.key, "executed")});
        }
        const CellValue& points = row->cell("points");
        if (has_number(points)) {
          out.points = points.number;
        } else {
          add(Severity::kError, "FUNDS.POINTS_MISSING", "项目资金的分值未填写（通常为 10 分）",
              {table_cell_id("funds", rd.key, "points")});
        }
        const CellValue& score = row->cell("score");
        if (has_number(score)) out.score = score.number;
        check_score_range(score, out.points, "项目资金", table_cell_id("funds", rd.key, "score"));
      }
      if (!has_money(budget) || !has_money(executed) || budget.money.fen() == 0) continue;
      const Int128 num = executed.money.fen();
      const Int128 den = budget.money.fen();
      const std::string formula = money(executed.money, unit) + " ÷ " + money(budget.money, unit);
      const std::string what = rd.key == "total" ? "执行率" : "“" + strip_prefix(rd.label) + "”的执行率";
      check_rate_cell(row->cell("rate"), num, den, what, formula, "FUNDS.RATE", rate_id);
      if (!is_total) continue;
      const Decimal rate2 = ratio_pct(num, den, 2);
      if (!has_number(row->cell("rate"))) {
        add(Severity::kWarning, "FUNDS.RATE_MISSING", "执行率未填写，应为 " + pct(rate2) + "（" + formula + "）",
            {rate_id});
      }
      if (num > den) {
        add(Severity::kWarning, "FUNDS.OVERSPENT",
            "全年执行数 " + money(executed.money, unit) + " 超过全年预算数 " + money(budget.money, unit) + "（" +
                std::string(money_unit_name(unit)) + "）",
            {table_cell_id("funds", rd.key, "executed")});
      }
      if (rate2 < threshold && form_.field("low_rate_explanation").is_blank()) {
        add(Severity::kWarning, "FUNDS.LOW_RATE_UNEXPLAINED",
            "执行率 " + pct(rate2) + " 低于 " + pts(threshold) + "%，需说明原因（填写“" +
                field_label("low_rate_explanation") + "”）",
            {rate_id, field_cell_id("low_rate_explanation")});
      }
      if (out.points) {
        const Decimal expected = capped_ratio_times(num, den, *out.points);
        // The bureau's own worked example multiplies the rate rounded to
        // 0.01%; both readings are accepted.
        const Decimal via_rounded = capped_ratio_times(rate2.micros(), kHundred.micros(), *out.points);
        const std::string basis = "执行率 " + pct(rate2) + " × 分值 " + pts(*out.points) + (num > den ? "，执行率按 100% 计" : "");
        const std::string score_id = table_cell_id("funds", rd.key, "score");
        suggest(score_id, "项目资金得分", row->cell("score"), expected, expected, basis);
        const CellValue& score = row->cell("score");
        if (!has_number(score)) {
          add(Severity::kError, "FUNDS.SCORE_MISSING", "项目资金得分未填写，应为 " + expected.to_string(2) + "（" + basis + "）",
              {score_id});
        } else {
          // Scores are stated to two decimals: "10" for 9.97 is a wrong score,
          // not a rounding (unlike a percentage written with fewer decimals).
          const Decimal entered = score.number.rounded(2);
          if (entered != expected && entered != via_rounded) {
            add(Severity::kError, "FUNDS.SCORE",
                "项目资金得分应为 " + expected.to_string(2) + "（" + basis + "），表中为 " + score.number.to_string(),
                {score_id});
          }
        }
      }
    }
    return out;
  }

  struct IndicatorRow {
    const Row* row = nullptr;
    std::size_t index = 0;  // 1-based, as people count
    std::string level1, level2, level3;
    IndicatorValue target, actual;
    Assessment assessment;
    std::string label;  // 绩效指标第 3 行“…”
  };

  std::vector<IndicatorRow> read_indicator_rows(bool with_actual) {
    std::vector<IndicatorRow> out;
    const Table* table = form_.table("indicators");
    if (table == nullptr) return out;
    std::string level1, level2;
    for (std::size_t i = 0; i < table->rows.size(); ++i) {
      const Row& row = table->rows[i];
      IndicatorRow r;
      r.row = &row;
      r.index = i + 1;
      const std::string l1(text::trim(row.cell("level1").text));
      const std::string l2(text::trim(row.cell("level2").text));
      if (!l1.empty()) {
        level1 = l1;
        level2.clear();
      }
      if (!l2.empty()) level2 = l2;
      r.level1 = level1;
      r.level2 = level2;
      r.level3 = std::string(text::trim(row.cell("level3").text));
      r.label = "绩效指标第 " + std::to_string(r.index) + " 行“" + (r.level3.empty() ? r.level2 : r.level3) + "”";
      r.target = IndicatorValue::parse(row.cell("target").text);
      if (with_actual) {
        r.actual = IndicatorValue::parse(row.cell("actual").text);
        r.assessment = assess(r.target, r.actual, is_cost(r));
      }
      out.push_back(std::move(r));
    }
    return out;
  }

  static bool is_cost(const IndicatorRow& r) { return r.level2.find("成本") != std::string::npos; }

  std::string cell_of(const IndicatorRow& r, std::string_view column) const {
    return table_cell_id("indicators", r.row->id, column);
  }

  void check_indicator_values(const IndicatorRow& r, bool with_actual) {
    using K = IndicatorValue::Kind;
    if (r.target.kind == K::kUnparsed) {
      add(Severity::kWarning, "IND.UNPARSED",
          r.label + "的指标值“" + r.target.text + "”无法解析（原文已保留），请写成如“≥90%”“≤20万元”“及时”",
          {cell_of(r, "target")});
    } else if (r.target.kind == K::kEmpty) {
      add(Severity::kWarning, "IND.TARGET_MISSING", r.label + "的指标值未填写", {cell_of(r, "target")});
    }
    if (!with_actual || r.target.kind == K::kNotApplicable) return;
    if (r.actual.kind == K::kUnparsed) {
      add(Severity::kWarning, "IND.UNPARSED",
          r.label + "的实际完成值“" + r.actual.text + "”无法解析（原文已保留）", {cell_of(r, "actual")});
    } else if (r.actual.kind == K::kEmpty) {
      add(Severity::kWarning, "IND.ACTUAL_MISSING", r.label + "的实际完成值未填写", {cell_of(r, "actual")});
    }
  }

  // Which 一级 a 二级 belongs to (docs/domain.md §2.1): 产出 / 效益(效果) / 满意度.
  static std::string level1_family(std::string_view label) {
    if (label.find("产出") != std::string_view::npos) return "产出指标";
    if (label.find("效益") != std::string_view::npos || label.find("效果") != std::string_view::npos) return "效益指标";
    if (label.find("满意") != std::string_view::npos) return "满意度指标";
    return {};
  }
  static std::string level2_family(std::string_view label) {
    for (std::string_view k : {"数量", "质量", "时效", "成本"}) {
      if (label.find(k) != std::string_view::npos) return "产出指标";
    }
    for (std::string_view k : {"经济效益", "社会效益", "生态效益", "可持续"}) {
      if (label.find(k) != std::string_view::npos) return "效益指标";
    }
    if (label.find("满意") != std::string_view::npos) return "满意度指标";
    return {};
  }

  void check_levels(const std::vector<IndicatorRow>& rows) {
    std::set<std::pair<std::string, std::string>> reported;
    for (const auto& r : rows) {
      const std::string f1 = level1_family(r.level1);
      const std::string f2 = level2_family(r.level2);
      if (f1.empty() || f2.empty() || f1 == f2 || !reported.insert({r.level1, r.level2}).second) continue;
      add(Severity::kHint, "IND.LEVEL_MISMATCH",
          "二级指标“" + r.level2 + "”通常属于“" + f2 + "”（或效果指标），表中列在一级指标“" + bare_level1(r.level1) +
              "”下（" + r.label + "起）",
          {cell_of(r, "level2")});
    }
  }

  void check_duplicates(const std::vector<IndicatorRow>& rows) {
    std::map<std::pair<std::string, std::string>, std::vector<const IndicatorRow*>> seen;
    for (const auto& r : rows) {
      if (!r.level3.empty()) seen[{r.level2, r.level3}].push_back(&r);
    }
    for (const auto& [key, list] : seen) {
      if (list.size() < 2) continue;
      std::string where;
      std::vector<std::string> cells;
      for (const auto* r : list) {
        where += (where.empty() ? "" : "、") + std::string("第 ") + std::to_string(r->index) + " 行";
        cells.push_back(cell_of(*r, "level3"));
      }
      add(Severity::kHint, "IND.DUPLICATE",
          "“" + key.first + "”下的三级指标“" + key.second + "”出现了 " + std::to_string(list.size()) + " 次（" + where +
              "），请确认是否重复",
          cells);
    }
  }

  // Fraction of the points a row deserves, as a band [low, high].
  struct Band {
    Decimal low, high;
    std::string basis;
  };

  std::optional<Band> band_for(const IndicatorRow& r) const {
    const Assessment& a = r.assessment;
    const Decimal one = Decimal::from_int(1);
    if (a.ratio) {
      const Decimal f = std::min(*a.ratio, one);
      const bool ceiling = r.target.kind == IndicatorValue::Kind::kNumeric &&
                           (r.target.terms.front().comparator == Comparator::kLe ||
                            r.target.terms.front().comparator == Comparator::kLt ||
                            (r.target.terms.front().comparator == Comparator::kNone && is_cost(r)));
      const std::string how = ceiling ? "指标值 ÷ 实际值" : "实际值 ÷ 指标值";
      return Band{f, f, how + " = " + pct(a.ratio->times(kHundred))};
    }
    if (r.target.kind == IndicatorValue::Kind::kNotApplicable) return std::nullopt;
    switch (a.attainment) {
      case Attainment::kMet:
        return Band{Decimal::parse("0.8").value(), one, "定性指标已完成：80%–100%"};
      case Attainment::kPartial:
        return Band{Decimal::parse("0.6").value(), Decimal::parse("0.8").value(), "定性指标部分完成：60%–80%"};
      case Attainment::kNotMet:
        return Band{Decimal(), Decimal::parse("0.6").value(), "定性指标未完成：0–60%"};
      default:
        return std::nullopt;
    }
  }

  bool unmet(const IndicatorRow& r) const {
    return r.assessment.attainment == Attainment::kNotMet || r.assessment.attainment == Attainment::kPartial;
  }

  // Declared points in a 一级 label: "产出指标(50分)" -> 50.
  static std::optional<Decimal> declared_points(std::string_view label) {
    const std::string norm = text::normalize_width(label);
    const std::size_t open = norm.rfind('(');
    if (open == std::string::npos) return std::nullopt;
    std::string inner = norm.substr(open + 1);
    const std::size_t fen = inner.find("分");
    if (fen == std::string::npos) return std::nullopt;
    auto d = Decimal::parse(inner.substr(0, fen));
    if (!d) return std::nullopt;
    return *d;
  }

  static std::string bare_level1(std::string_view label) {
    const std::string norm = text::normalize_width(label);
    return std::string(text::trim(std::string_view(norm).substr(0, norm.find('('))));
  }

  struct IndicatorTotals {
    Decimal points;
    Decimal scores;
    std::vector<std::string> point_cells;
  };

  IndicatorTotals check_indicators_scored() {
    IndicatorTotals totals;
    std::vector<IndicatorRow> rows = read_indicator_rows(true);
    const bool by_group = tmpl_.param("points_scope", "row") == "level2";
    if (rows.empty()) add(Severity::kError, "IND.NONE", "绩效指标表没有任何指标", {});
    check_levels(rows);
    check_duplicates(rows);
    // Groups: consecutive rows of one (一级, 二级) when points are per group,
    // else one row each.
    std::vector<std::vector<IndicatorRow*>> groups;
    for (auto& r : rows) {
      check_indicator_values(r, true);
      if (!by_group || groups.empty() || groups.back().front()->level1 != r.level1 ||
          groups.back().front()->level2 != r.level2) {
        groups.push_back({});
      }
      groups.back().push_back(&r);
    }
    std::map<std::string, Decimal> level1_points;
    std::map<std::string, std::string> level1_declared_label;
    for (const auto& group : groups) {
      const IndicatorRow& head = *group.front();
      const CellValue& points = head.row->cell("points");
      const CellValue& score = head.row->cell("score");
      const std::string group_name = head.level2.empty() ? bare_level1(head.level1) : head.level2;
      const std::string what = by_group ? "“" + group_name + "”组（" + std::to_string(group.size()) + " 项）" : head.label;
      const bool not_applicable =
          std::all_of(group.begin(), group.end(), [](const IndicatorRow* r) {
            return r->target.kind == IndicatorValue::Kind::kNotApplicable;
          });
      std::optional<Decimal> p;
      if (has_number(points)) {
        p = points.number;
        totals.points = totals.points + points.number;
        totals.point_cells.push_back(cell_of(head, "points"));
        level1_points[bare_level1(head.level1)] = level1_points[bare_level1(head.level1)] + points.number;
      } else if (!not_applicable) {
        add(Severity::kWarning, "IND.POINTS_MISSING", what + "未填写分值", {cell_of(head, "points")});
      }
      if (auto declared = declared_points(head.level1)) {
        level1_declared_label[bare_level1(head.level1)] = head.level1;
      }
      if (has_number(score)) totals.scores = totals.scores + score.number;
      check_score_range(score, p, what, cell_of(head, "score"));

      // Attainment, 偏差原因分析, full points on an unmet row.
      std::vector<const IndicatorRow*> unmet_rows;
      for (const IndicatorRow* r : group) {
        const Assessment& a = r->assessment;
        const bool has_reason = !r->row->cell("deviation").is_blank() || !head.row->cell("deviation").is_blank();
        if (unmet(*r)) {
          unmet_rows.push_back(r);
          if (!has_reason) {
            const std::string why = a.attainment == Attainment::kPartial
                                        ? "实际完成值为“" + r->actual.text + "”，未全部完成"
                                        : a.reason;
            add(Severity::kError, "IND.DEVIATION_MISSING",
                r->label + "未完成年度指标（" + why + "），须填写偏差原因分析及改进措施", {cell_of(*r, "deviation")});
          }
        } else if (a.overachieved && !has_reason) {
          add(Severity::kHint, "IND.OVERACHIEVED",
              r->label + "超额完成（年度指标值 " + r->target.describe() + "，实际完成 " + r->actual.describe() +
                  "），按要求应分析偏差原因",
              {cell_of(*r, "deviation")});
        } else if (a.attainment == Attainment::kUnknown && r->target.kind != IndicatorValue::Kind::kUnparsed &&
                   r->actual.kind != IndicatorValue::Kind::kUnparsed && r->actual.kind != IndicatorValue::Kind::kEmpty &&
                   r->target.kind != IndicatorValue::Kind::kEmpty) {
          add(Severity::kHint, "IND.UNDECIDABLE", r->label + "：" + a.reason, {cell_of(*r, "actual")});
        }
      }
      bool full_points_unmet = false;  // this group's score already reported
      if (p && has_number(score) && !unmet_rows.empty() && score.number >= *p && *p > Decimal()) {
        full_points_unmet = true;
        std::string names;
        for (const auto* r : unmet_rows) names += (names.empty() ? "" : "、") + std::string("“") + r->level3 + "”";
        add(Severity::kWarning, "IND.FULL_POINTS_UNMET",
            what + "得了满分 " + pts(*p) + "，但其中" + names + "未完成年度指标", {cell_of(head, "score")});
      }

      // Suggested score: mean of the rows' bands × points.
      if (!p || not_applicable) continue;
      Decimal low_sum, high_sum;
      int counted = 0;
      std::string basis;
      for (const IndicatorRow* r : group) {
        auto band = band_for(*r);
        if (!band) continue;
        low_sum = low_sum + band->low;
        high_sum = high_sum + band->high;
        ++counted;
        if (group.size() == 1) basis = band->basis;
      }
      if (counted == 0) continue;
      const Decimal low = Decimal::from_ratio(Int128{low_sum.micros()} * p->micros(),
                                              Int128{counted} * Decimal::kScale * Decimal::kScale, 6);
      const Decimal high = Decimal::from_ratio(Int128{high_sum.micros()} * p->micros(),
                                               Int128{counted} * Decimal::kScale * Decimal::kScale, 6);
      if (group.size() > 1) basis = std::to_string(counted) + " 项指标完成程度的平均值 × 分值 " + pts(*p);
      else basis += " × 分值 " + pts(*p);
      suggest(cell_of(head, "score"), what + "得分", score, low, high, basis);
      if (has_number(score) && score.number > high.rounded(2) && !full_points_unmet) {
        add(Severity::kHint, "IND.SCORE_ABOVE_SUGGESTED",
            what + "得分 " + score.number.to_string() + " 高于按完成情况建议的 " +
                (low.rounded(2) == high.rounded(2) ? high.to_string(2) : low.to_string(2) + "–" + high.to_string(2)) +
                " 分（" + basis + "）",
            {cell_of(head, "score")});
      }
    }
    for (const auto& [name, label] : level1_declared_label) {
      const Decimal declared = *declared_points(label);
      const Decimal actual = level1_points[name];
      if (declared != actual) {
        add(Severity::kError, "LEVEL1.POINTS",
            "一级指标“" + label + "”注明 " + pts(declared) + " 分，其下各指标分值合计为 " + pts(actual) + " 分", {});
      }
    }
    return totals;
  }

  void check_project_self_eval() {
    const FundsResult funds = check_funds();
    const IndicatorTotals ind = check_indicators_scored();
    const Decimal points_sum = funds.points.value_or(Decimal()) + ind.points;
    const std::string points_detail = "项目资金 " + (funds.points ? pts(*funds.points) : std::string("未填")) +
                                      " + 绩效指标 " + pts(ind.points);
    const Decimal score_sum = funds.score.value_or(Decimal()) + ind.scores;
    const std::string score_detail = "项目资金 " + (funds.score ? funds.score->to_plain() : std::string("未填")) +
                                     " + 绩效指标 " + ind.scores.to_plain();
    std::vector<std::string> cells{table_cell_id("funds", "total", "points")};
    cells.insert(cells.end(), ind.point_cells.begin(), ind.point_cells.end());
    check_totals(points_sum, points_detail, score_sum, score_detail, std::move(cells));
  }

  // ---- 项目绩效目标表 ------------------------------------------------------------

  void check_project_target() {
    const MoneyUnit unit = form_.money_unit;
    const CellValue& total = form_.field("budget_total");
    const CellValue& fiscal = form_.field("budget_fiscal");
    const CellValue& other = form_.field("budget_other");
    if (has_money(total)) {
      if (!has_money(fiscal) && !has_money(other)) {
        add(Severity::kWarning, "SUM.PARTS_MISSING",
            "预算数为 " + money(total.money, unit) + " " + std::string(money_unit_name(unit)) + "，但财政资金和其他资金均未填写",
            {field_cell_id("budget_fiscal"), field_cell_id("budget_other")});
      } else {
        const Money f = has_money(fiscal) ? fiscal.money : Money();
        const Money o = has_money(other) ? other.money : Money();
        if (f + o != total.money) {
          add(Severity::kError, "SUM.MISMATCH",
              "预算数应等于财政资金与其他资金之和 " + money(f, unit) + " + " + money(o, unit) + " = " + money(f + o, unit) +
                  "，表中为 " + money(total.money, unit),
              {field_cell_id("budget_total"), field_cell_id("budget_fiscal"), field_cell_id("budget_other")});
        }
      }
    }
    check_spending_plan();
    std::vector<IndicatorRow> rows = read_indicator_rows(false);
    check_levels(rows);
    check_duplicates(rows);
    for (const auto& r : rows) {
      check_indicator_values(r, false);
      if (is_cost(r) && r.target.kind == IndicatorValue::Kind::kNumeric) {
        const std::string& u = r.target.terms.front().unit;
        if (!money_unit_in_yuan(u)) {
          add(Severity::kHint, "IND.COST_UNIT",
              r.label + "是成本指标，指标值通常为金额，表中为“" + r.target.text + "”", {cell_of(r, "target")});
        }
      }
    }
    if (rows.empty()) add(Severity::kError, "IND.NONE", "绩效指标表没有任何指标", {});
  }

  void check_spending_plan() {
    const TableDef* td = tmpl_.table("spending_plan");
    const Row* row = fixed_row("spending_plan", "cumulative");
    if (td == nullptr || row == nullptr) return;
    std::optional<Decimal> previous;
    std::string previous_label;
    const CellDef* last_col = &td->columns.back();
    bool all_present = true;
    for (const auto& col : td->columns) {
      const CellValue& v = row->cell(col.key);
      const std::string id = table_cell_id("spending_plan", "cumulative", col.key);
      if (!has_number(v)) {
        all_present = false;
        add(Severity::kError, "PLAN.MISSING",
            "资金支出计划“" + col.label + "”的累计比例未填写" + (&col == last_col ? "（应为 100%）" : ""), {id});
        continue;
      }
      if (v.number < Decimal() || v.number > kHundred) {
        add(Severity::kError, "PLAN.RANGE", "资金支出计划“" + col.label + "”为 " + pct_as_written(v.number) + "，应在 0–100% 之间",
            {id});
      }
      if (previous && v.number < *previous) {
        add(Severity::kError, "PLAN.DECREASING",
            "资金支出计划是累计比例，不能减少：“" + col.label + "”为 " + pct_as_written(v.number) + "，低于“" +
                previous_label + "”的 " + pct_as_written(*previous),
            {id});
      }
      previous = v.number;
      previous_label = col.label;
    }
    const CellValue& last = row->cell(last_col->key);
    if (has_number(last) && last.number != kHundred) {
      add(Severity::kError, "PLAN.END",
          "资金支出计划到“" + last_col->label + "”应累计为 100%，表中为 " + pct_as_written(last.number),
          {table_cell_id("spending_plan", "cumulative", last_col->key)});
    }
    (void)all_present;
  }

  // ---- 部门整体支出绩效自评表 ------------------------------------------------------

  // Reads a formula input: "fields.staff_actual" or "execution[total].budget".
  // Returns the value in 分 for money and in millionths for numbers, plus a
  // label and the text shown in messages.
  struct Input {
    Int128 value = 0;
    std::string label;
    std::string shown;
    std::string cell;
    bool present = false;
  };

  Input read_input(const std::string& ref) const {
    Input in;
    const CellValue* v = nullptr;
    const CellDef* def = nullptr;
    MoneyUnit unit = form_.money_unit;
    if (ref.rfind("fields.", 0) == 0) {
      const std::string key = ref.substr(7);
      v = &form_.field(key);
      def = tmpl_.field(key);
      in.label = def != nullptr ? def->label : key;
      in.cell = field_cell_id(key);
    } else {
      const std::size_t open = ref.find('[');
      const std::size_t close = ref.find("].");
      if (open != std::string::npos && close != std::string::npos) {
        const std::string table = ref.substr(0, open);
        const std::string row = ref.substr(open + 1, close - open - 1);
        const std::string col = ref.substr(close + 2);
        const TableDef* td = tmpl_.table(table);
        if (td != nullptr) {
          unit = unit_of(*td);
          def = td->column(col);
          const RowDef* rd = td->row(row);
          in.label = td->label + "“" + (rd != nullptr ? rd->label : row) + "”" + (def != nullptr ? def->label : col);
        }
        const Row* r = fixed_row(table, row);
        static const CellValue kNone;
        v = r != nullptr ? &r->cell(col) : &kNone;
        in.cell = table_cell_id(table, row, col);
      }
    }
    if (v == nullptr) return in;
    if (has_money(*v)) {
      in.value = v->money.fen();
      in.shown = v->money.format(unit);
      in.present = true;
    } else if (has_number(*v)) {
      in.value = v->number.micros();
      in.shown = v->number.to_plain();
      in.present = true;
    }
    return in;
  }

  void check_department() {
    const TableDef* exec = tmpl_.table("execution");
    if (exec != nullptr) {
      check_money_sums(*exec);
      check_execution_rates(*exec);
    }
    const TableDef* td = tmpl_.table("scores");
    if (td == nullptr) return;
    Decimal points_sum, score_sum;
    std::vector<std::string> point_cells;
    std::map<std::string, Decimal> level1_points;
    for (const auto& rd : td->rows) {
      const Row* row = fixed_row("scores", rd.key);
      if (row == nullptr) continue;
      const CellValue& points = row->cell("points");
      const CellValue& score = row->cell("score");
      const std::string what = "“" + rd.level3 + "”";
      std::optional<Decimal> p;
      if (has_number(points)) {
        p = points.number;
        points_sum = points_sum + points.number;
        level1_points[rd.level1] = level1_points[rd.level1] + points.number;
        point_cells.push_back(table_cell_id("scores", rd.key, "points"));
        if (rd.points && *rd.points != points.number) {
          add(Severity::kWarning, "DEPT.POINTS_CHANGED",
              what + "的分值按评分标准为 " + pts(*rd.points) + "，表中为 " + points.number.to_string(),
              {table_cell_id("scores", rd.key, "points")});
        }
      } else {
        add(Severity::kError, "DEPT.POINTS_MISSING", what + "的分值未填写", {table_cell_id("scores", rd.key, "points")});
      }
      if (has_number(score)) {
        score_sum = score_sum + score.number;
      } else {
        add(Severity::kError, "DEPT.SCORE_MISSING", what + "的得分未填写", {table_cell_id("scores", rd.key, "score")});
      }
      check_score_range(score, p, what, table_cell_id("scores", rd.key, "score"));
      if (rd.formula && p) check_formula_row(rd, *row, *p);
    }
    // 一级 points as the scoring standard fixes them ("投入=20;过程=30;…").
    const std::string spec = tmpl_.param("level1_points");
    std::size_t pos = 0;
    while (pos < spec.size()) {
      const std::size_t end = std::min(spec.find(';', pos), spec.size());
      const std::string item = spec.substr(pos, end - pos);
      const std::size_t eq = item.find('=');
      if (eq != std::string::npos) {
        const std::string name = item.substr(0, eq);
        auto want = Decimal::parse(item.substr(eq + 1));
        if (want && level1_points[name] != *want) {
          add(Severity::kError, "LEVEL1.POINTS",
              "一级指标“" + name + "”应为 " + pts(*want) + " 分，其下各指标分值合计为 " + pts(level1_points[name]) + " 分",
              {});
        }
      }
      pos = end + 1;
    }
    check_totals(points_sum, "评分表各项合计", score_sum, "评分表各项得分合计", std::move(point_cells));
  }

  void check_execution_rates(const TableDef& td) {
    const MoneyUnit unit = unit_of(td);
    for (const auto& rd : td.rows) {
      const Row* row = fixed_row(td.key, rd.key);
      if (row == nullptr) continue;
      const CellValue& budget = row->cell("budget");
      const CellValue& carry = row->cell("carryover");
      const CellValue& last = row->cell("last_carryover");
      if (has_money(budget) && has_money(carry) && budget.money.fen() != 0) {
        check_rate_cell(row->cell("carryover_rate"), carry.money.fen(), budget.money.fen(),
                        "完成情况表“" + rd.label + "”的结转结余率",
                        money(carry.money, unit) + " ÷ " + money(budget.money, unit), "DEPT.CARRYOVER_RATE",
                        table_cell_id(td.key, rd.key, "carryover_rate"));
      }
      if (has_money(carry) && has_money(last) && last.money.fen() != 0) {
        check_rate_cell(row->cell("carryover_change_rate"), carry.money.fen() - last.money.fen(), last.money.fen(),
                        "完成情况表“" + rd.label + "”的结转结余变动率",
                        "(" + money(carry.money, unit) + " − " + money(last.money, unit) + ") ÷ " + money(last.money, unit),
                        "DEPT.CARRYOVER_CHANGE", table_cell_id(td.key, rd.key, "carryover_change_rate"));
      }
    }
  }

  void check_formula_row(const RowDef& rd, const Row& row, Decimal points) {
    const FormulaDef& f = *rd.formula;
    const std::string what = "“" + rd.level3 + "”";
    const std::string rate_id = table_cell_id("scores", rd.key, "rate");
    const std::string score_id = table_cell_id("scores", rd.key, "score");
    std::vector<Input> in;
    std::string missing;
    for (const auto& ref : f.inputs) {
      in.push_back(read_input(ref));
      if (!in.back().present) missing += (missing.empty() ? "" : "、") + std::string("“") + in.back().label + "”";
    }
    if (in.size() != 2) return;
    if (!missing.empty()) {
      add(Severity::kWarning, "DEPT.INPUT_MISSING", "计算" + what + "需要" + missing + "，未填写", {rate_id});
      return;
    }
    auto param = [&](const char* key, std::int64_t fallback) {
      auto it = f.params.find(key);
      return it == f.params.end() ? Decimal::from_int(fallback) : it->second;
    };
    Int128 num = in[0].value;
    Int128 den = in[1].value;
    std::string formula = in[0].shown + " ÷ " + in[1].shown;
    if (f.kind == "change_rate") {
      num = in[0].value - in[1].value;
      den = in[1].value;
      formula = "(" + in[0].shown + " − " + in[1].shown + ") ÷ " + in[1].shown;
    } else if (f.kind == "saving_rate") {
      num = in[0].value - in[1].value;
      den = in[0].value;
      formula = "(" + in[0].shown + " − " + in[1].shown + ") ÷ " + in[0].shown;
    }
    if (den == 0) {
      add(Severity::kWarning, "DEPT.INPUT_ZERO", "计算" + what + "时除数“" + in[1].label + "”为 0", {rate_id});
      return;
    }
    const Decimal rate2 = ratio_pct(num, den, 2);
    check_rate_cell(row.cell("rate"), num, den, what, formula, "DEPT.RATE", rate_id);

    // The score, where the scoring standard states it as a formula.
    std::optional<Decimal> expected;
    std::vector<Decimal> accepted;
    std::string basis;
    if (f.kind == "completion") {
      expected = capped_ratio_times(num, den, points);
      basis = what + " " + pct(rate2) + " × 分值 " + pts(points) + (num > den ? "，按 100% 计" : "");
    } else if (f.kind == "over_100_proportional") {
      const int decimals = static_cast<int>(param("rate_decimals", 2).micros() / Decimal::kScale);
      const Decimal rate = ratio_pct(num, den, decimals);
      if (rate <= kHundred) {
        expected = points;
        basis = what + " " + pct(rate2) + " ≤ 100%，得满分";
      } else {
        const Decimal over = rate - kHundred;
        Decimal s = points - points.times(over).times(Decimal::parse("0.01").value());
        if (s < Decimal()) s = Decimal();
        expected = s.rounded(2);
        basis = in[0].shown + " ÷ " + in[1].shown + " = " + rate.to_string(decimals) + "%，超出 " +
                over.to_string(decimals) + "%：" + pts(points) + " × (1 − " + over.to_string(decimals) + "%)";
        // The exact reading (no rounding of the rate) is accepted too.
        const Decimal exact_over = ratio_pct(num - den, den, 6);
        Decimal s2 = points - points.times(exact_over).times(Decimal::parse("0.01").value());
        if (s2 < Decimal()) s2 = Decimal();
        accepted.push_back(s2.rounded(2));
      }
    } else if (f.kind == "arrival") {
      const Decimal per = param("deduct_per_point", 1);
      if (rate2 >= kHundred) {
        expected = points;
        basis = what + " " + pct(rate2) + "，得满分";
      } else {
        const Decimal short_by = kHundred - ratio_pct(num, den, 6);
        Decimal s = points - short_by.times(per);
        if (s < Decimal()) s = Decimal();
        expected = s.rounded(2);
        basis = what + " " + pct(rate2) + "，低 " + short_by.to_plain(0) + " 个百分点，每点扣 " + pts(per) + " 分";
      }
    } else if (f.kind == "stepped_deduction") {
      const Decimal threshold = param("threshold_pct", 5);
      const Decimal step = param("step_pct", 5);
      const Decimal deduct = param("deduct", 1);
      const Decimal rate = ratio_pct(num, den, 6);
      if (rate < threshold) {
        expected = points;
        basis = what + " " + pct(rate2) + " 低于 " + pts(threshold) + "%，得满分";
      } else {
        // Each started step above the threshold costs `deduct`; reaching
        // the threshold exactly already costs one.
        const Int128 steps = (Int128{rate.micros()} - threshold.micros()) / step.micros() + 1;
        Decimal s = points - Decimal::from_micros(static_cast<std::int64_t>(steps * deduct.micros()));
        if (s < Decimal()) s = Decimal();
        expected = s.rounded(2);
        basis = what + " " + pct(rate2) + "，超过 " + pts(threshold) + "%，每 " + pts(step) + " 个百分点扣 " + pts(deduct) + " 分";
      }
    }
    if (!expected) return;  // rate-only formulas: the score is a judgement
    accepted.push_back(*expected);
    suggest(score_id, what + "得分", row.cell("score"), *expected, *expected, basis);
    const CellValue& score = row.cell("score");
    if (!has_number(score)) return;
    const bool ok = std::any_of(accepted.begin(), accepted.end(),
                                [&](Decimal a) { return a.rounded(2) == score.number.rounded(2); });
    if (!ok) {
      add(Severity::kError, "DEPT.SCORE",
          what + "得分应为 " + expected->to_string(2) + "（" + basis + "），表中为 " + score.number.to_string(), {score_id});
    }
  }

  // ---- 绩效自评报告 -----------------------------------------------------------------

  void check_report() {
    const Table* sections = form_.table("sections");
    if (sections == nullptr || sections->rows.empty()) {
      add(Severity::kError, "REPORT.NO_SECTIONS", "报告没有任何正文部分", {});
    } else {
      for (std::size_t i = 0; i < sections->rows.size(); ++i) {
        const Row& r = sections->rows[i];
        const std::string n = "第 " + std::to_string(i + 1) + " 部分";
        if (r.cell("heading").is_blank()) {
          add(Severity::kWarning, "REPORT.SECTION_HEADING", "报告" + n + "没有标题", {table_cell_id("sections", r.id, "heading")});
        }
        if (r.cell("body").is_blank()) {
          add(Severity::kWarning, "REPORT.SECTION_EMPTY",
              "报告" + n + "“" + r.cell("heading").text + "”没有正文", {table_cell_id("sections", r.id, "body")});
        }
      }
    }
    const Table* attachments = form_.table("attachments");
    if (attachments == nullptr || attachments->rows.empty()) {
      add(Severity::kHint, "REPORT.NO_ATTACHMENTS", "报告没有列出附件（各项目支出绩效自评表等）", {});
    }
    // A year in the title that is not the form's fiscal year.
    const std::string& title = form_.field("title").text;
    for (std::size_t i = 0; i + 4 <= title.size(); ++i) {
      if (!std::all_of(title.begin() + static_cast<std::ptrdiff_t>(i), title.begin() + static_cast<std::ptrdiff_t>(i + 4),
                       [](char c) { return c >= '0' && c <= '9'; })) {
        continue;
      }
      const int year = std::stoi(title.substr(i, 4));
      if (year >= 2000 && year <= 2100 && year != form_.fiscal_year) {
        add(Severity::kWarning, "REPORT.YEAR",
            "报告标题中的年度 " + std::to_string(year) + " 与表单年度 " + std::to_string(form_.fiscal_year) + " 不一致",
            {field_cell_id("title")});
      }
      break;
    }
  }

  const Form& form_;
  const FormTemplate& tmpl_;
  CheckReport report_;
};

}  // namespace

CheckReport check_form(const Form& form, const FormTemplate& tmpl) { return Checker(form, tmpl).run(); }

}  // namespace jixiao
