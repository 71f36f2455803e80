// The department sheet fixtures: department_ok.json, a consistent 部门整体支出
// 绩效自评表 of a district 科协, and department_wrong.json, the same sheet with
// four planted mistakes (docs/domain.md §3.2). The checker must pass the first and
// find exactly the planted mistakes in the second, with their numbers.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "jixiao/common/checker.h"
#include "test_support.h"

namespace jixiao {
namespace {

using testing::load_fixture;
using testing::messages;
using testing::shipped_template;

CheckReport check_fixture(const std::string& name) {
  const Form form = load_fixture(name);
  EXPECT_EQ(form.template_ref.id, "department_self_eval");
  return check_form(form, shipped_template("department_self_eval"));
}

// "severity:RULE" for every finding, sorted.
std::vector<std::string> rule_list(const CheckReport& r) {
  std::vector<std::string> out;
  for (const auto& f : r.findings) out.push_back(std::string(severity_key(f.severity)) + ":" + f.rule);
  std::sort(out.begin(), out.end());
  return out;
}

const Finding& only(const CheckReport& r, const std::string& rule) {
  const auto found = r.with_rule(rule);
  EXPECT_EQ(found.size(), 1u) << rule << "\n" << messages(r);
  static const Finding kNone;
  return found.empty() ? kNone : *found.front();
}

TEST(DepartmentFixture, OkSheetIsADistrictSheetOfTheRightShape) {
  const Form form = load_fixture("department_ok.json");
  EXPECT_EQ(form.unit_name, "濮阳市华龙区科学技术协会");
  EXPECT_EQ(form.fiscal_year, 2021);
  EXPECT_EQ(form.field("department_name").text, "濮阳市华龙区科学技术协会");
  EXPECT_EQ(form.field("grade").text, "优");
  // The 完成情况表 is in 百元: 12,864.00 百元 is 1,286,400.00 元.
  const Row* total = form.table("execution")->find("total");
  ASSERT_NE(total, nullptr);
  EXPECT_EQ(total->cell("budget").money.fen(), 128'640'000);
  // Every scoring row of the template is filled.
  const FormTemplate& t = shipped_template("department_self_eval");
  for (const auto& rd : t.table("scores")->rows) {
    const Row* row = form.table("scores")->find(rd.key);
    ASSERT_NE(row, nullptr) << rd.key;
    EXPECT_EQ(row->cell("score").kind, CellValue::Kind::kNumber) << rd.key;
  }
}

TEST(DepartmentFixture, OkSheetHasNoErrorsAndNoWarnings) {
  const CheckReport r = check_fixture("department_ok.json");
  EXPECT_EQ(r.count(Severity::kError), 0u) << messages(r);
  EXPECT_EQ(r.count(Severity::kWarning), 0u) << messages(r);
  EXPECT_EQ(r.count(Severity::kHint), 0u) << messages(r);
}

TEST(DepartmentFixture, OkSheetFormulaScoresAgreeWithTheSuggestions) {
  const CheckReport r = check_fixture("department_ok.json");
  std::map<std::string, std::string> suggested;
  for (const auto& s : r.suggestions) {
    ASSERT_TRUE(s.entered.has_value()) << s.cell;
    EXPECT_EQ(s.entered->rounded(2), s.low) << s.cell << " " << s.basis;
    suggested[s.cell] = s.high.to_string(2);
  }
  EXPECT_EQ(suggested["scores[staff_control].score"], "5.00");      // 6 ÷ 7 ≤ 100%
  EXPECT_EQ(suggested["scores[funds_arrival].score"], "3.00");      // 100% arrived
  EXPECT_EQ(suggested["scores[budget_completion].score"], "3.95");  // 12,696.55 ÷ 12,864.00 × 4
  EXPECT_EQ(suggested["scores[carryover_rate].score"], "1.00");     // 1.30% < 5%
  EXPECT_EQ(suggested["scores[procurement].score"], "2.94");        // 146,800 ÷ 150,000 × 3
  EXPECT_EQ(suggested["scores[output_completion].score"], "10.00");
  EXPECT_EQ(suggested["scores[quality].score"], "7.67");            // 23 ÷ 24 × 8
  EXPECT_EQ(suggested.size(), 9u);
}

TEST(DepartmentFixture, WrongSheetHasExactlyThePlantedMistakes) {
  const CheckReport r = check_fixture("department_wrong.json");
  EXPECT_EQ(rule_list(r), (std::vector<std::string>{"error:DEPT.CARRYOVER_RATE", "error:DEPT.SCORE",
                                                    "error:SUM.MISMATCH", "error:TOTAL.SCORE"}))
      << messages(r);
}

// 8 staff on 6 posts: 5 × (1 − 33%) = 3.35, not the full 5.
TEST(DepartmentFixture, WrongSheetStaffOverPostsShouldScoreThreePointThirtyFive) {
  const CheckReport r = check_fixture("department_wrong.json");
  const Finding& x = only(r, "DEPT.SCORE");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "“在职人员控制率”得分应为 3.35（8 ÷ 6 = 133%，超出 33%：5 × (1 − 33%)），表中为 5");
  EXPECT_EQ(x.cells, std::vector<std::string>{"scores[staff_control].score"});
}

TEST(DepartmentFixture, WrongSheetExecutionTotalIsNotBasicPlusProjects) {
  const CheckReport r = check_fixture("department_wrong.json");
  const Finding& x = only(r, "SUM.MISMATCH");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message,
            "完成情况表“执行额”列：合计应等于基本支出、政策和项目支出之和 8,721.35 + 3,984.20 = 12,705.55，"
            "表中为 12,696.55");
  EXPECT_EQ(x.cells, (std::vector<std::string>{"execution[total].executed", "execution[basic].executed",
                                               "execution[project].executed"}));
}

TEST(DepartmentFixture, WrongSheetCarryoverRateIsRecomputed) {
  const CheckReport r = check_fixture("department_wrong.json");
  const Finding& x = only(r, "DEPT.CARRYOVER_RATE");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "完成情况表“合计”的结转结余率应为 1.30%（167.45 ÷ 12,864.00），表中为 1.13%");
  EXPECT_EQ(x.cells, std::vector<std::string>{"execution[total].carryover_rate"});
}

TEST(DepartmentFixture, WrongSheetTotalScoreIsNotTheSumOfScores) {
  const CheckReport r = check_fixture("department_wrong.json");
  const Finding& x = only(r, "TOTAL.SCORE");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "总分应为各项得分之和 94.86（评分表各项得分合计），表中为 95.86");
  EXPECT_EQ(x.cells, std::vector<std::string>{"fields.total_score"});
}

TEST(DepartmentFixture, WrongSheetSuggestsTheCorrectStaffScore) {
  const CheckReport r = check_fixture("department_wrong.json");
  const auto it = std::find_if(r.suggestions.begin(), r.suggestions.end(),
                               [](const ScoreSuggestion& s) { return s.cell == "scores[staff_control].score"; });
  ASSERT_NE(it, r.suggestions.end());
  ASSERT_TRUE(it->entered.has_value());
  EXPECT_EQ(it->entered->to_string(), "5");
  EXPECT_EQ(it->low.to_string(2), "3.35");
  EXPECT_EQ(it->high.to_string(2), "3.35");
}

}  // namespace
}  // namespace jixiao
