// The checker on the real documents (docs/domain.md, docs/seed-findings.md), transcribed as
// fixtures with their mistakes kept. docs/seed-findings.md explains each.
#include <gtest/gtest.h>

#include <algorithm>

#include "test_support.h"

namespace jixiao {
namespace {

using testing::load_fixture;
using testing::messages;
using testing::shipped_template;

CheckReport check_fixture(const std::string& name) {
  const Form form = load_fixture(name);
  const FormTemplate& tmpl = shipped_template(form.template_ref.id);
  return check_form(form, tmpl);
}

// "RULE×n" counts, sorted, so a changed finding shows up in the diff.
std::string rule_counts(const CheckReport& r) {
  std::map<std::string, int> counts;
  for (const auto& f : r.findings) counts[std::string(severity_key(f.severity)) + ":" + f.rule]++;
  std::string out;
  for (const auto& [rule, n] : counts) out += rule + "x" + std::to_string(n) + " ";
  return out;
}

const Finding& only(const CheckReport& r, const std::string& rule) {
  const auto found = r.with_rule(rule);
  EXPECT_EQ(found.size(), 1u) << rule << "\n" << messages(r);
  static const Finding kNone;
  return found.empty() ? kNone : *found.front();
}

TEST(SeedPuyang2021, FindsTheRealInconsistencies) {
  const CheckReport r = check_fixture("000_puyang_2021.json");
  EXPECT_EQ(rule_counts(r),
            "error:FUNDS.MISSINGx1 error:FUNDS.POINTS_MISSINGx1 error:IND.DEVIATION_MISSINGx2 "
            "error:TOTAL.POINTSx1 error:TOTAL.SCOREx1 hint:GRADE.MISSINGx1 hint:IND.LEVEL_MISMATCHx1 "
            "hint:IND.SCORE_ABOVE_SUGGESTEDx2 hint:IND.UNDECIDABLEx9 warning:FORM.REQUIRED_EMPTYx2 "
            "warning:SUM.PARTS_MISSINGx2 ")
      << messages(r);
  // 16 indicator rows of 10 points each: the points add up to 160, not 100.
  EXPECT_NE(only(r, "TOTAL.POINTS").message.find("表中合计为 160 分"), std::string::npos);
  // 14 × 10 + 2 × 9 = 158, but the form says 98.
  const Finding& total = only(r, "TOTAL.SCORE");
  EXPECT_NE(total.message.find("158"), std::string::npos) << total.message;
  EXPECT_NE(total.message.find("表中为 98"), std::string::npos) << total.message;
  EXPECT_EQ(total.cells, std::vector<std::string>{"fields.total_score"});
  // 全年执行数 is blank: the execution rate cannot be computed.
  EXPECT_EQ(only(r, "FUNDS.MISSING").cells, std::vector<std::string>{"funds[total].executed"});
  // The two satisfaction rows were only 基本完成 and give no reason.
  for (const Finding* f : r.with_rule("IND.DEVIATION_MISSING")) {
    EXPECT_NE(f->message.find("基本完成"), std::string::npos) << f->message;
  }
  // 社会效益指标 is printed under 产出指标 (the 效益指标 一级 is missing).
  EXPECT_NE(only(r, "IND.LEVEL_MISMATCH").message.find("社会效益指标"), std::string::npos);
  EXPECT_TRUE(r.has_errors());
}

TEST(SeedShenzhen2020, FindsTheRealInconsistencies) {
  const CheckReport r = check_fixture("004_shenzhen_2020.json");
  EXPECT_EQ(rule_counts(r),
            "error:LEVEL1.POINTSx1 hint:FUNDS.RATE_PRECISIONx2 hint:GRADE.MISSINGx1 hint:IND.DUPLICATEx1 "
            "hint:IND.OVERACHIEVEDx4 warning:IND.FULL_POINTS_UNMETx1 ")
      << messages(r);
  // The issue's own example: the rate is printed with one decimal.
  const Finding& rate = *r.with_rule("FUNDS.RATE_PRECISION").front();
  EXPECT_NE(rate.message.find("执行率应为 99.73%（8,086,475.64 ÷ 8,108,600.00），表中为 99.7%"), std::string::npos)
      << rate.message;
  EXPECT_EQ(rate.cells, std::vector<std::string>{"funds[total].rate"});
  // 效益指标 is labelled 40 points but its rows carry 30.
  const Finding& level1 = only(r, "LEVEL1.POINTS");
  EXPECT_NE(level1.message.find("注明 40 分"), std::string::npos);
  EXPECT_NE(level1.message.find("合计为 30 分"), std::string::npos);
  // 年度课题数量: 7 of 10, yet the 数量指标 group got all 15 points.
  const Finding& full = only(r, "IND.FULL_POINTS_UNMET");
  EXPECT_NE(full.message.find("年度课题数量"), std::string::npos);
  EXPECT_NE(full.message.find("满分 15"), std::string::npos);
  // It does carry a deviation analysis, so no 偏差原因 error.
  EXPECT_TRUE(r.with_rule("IND.DEVIATION_MISSING").empty());
  // 总分 99.97 = 9.97 + 15 + 15 + 10 + 10 + 30 + 10 holds, as does Σ 分值 = 100.
  EXPECT_TRUE(r.with_rule("TOTAL.SCORE").empty());
  EXPECT_TRUE(r.with_rule("TOTAL.POINTS").empty());
  EXPECT_TRUE(r.with_rule("FUNDS.SCORE").empty());
}

TEST(SeedShenzhen2020, SuggestsTheFundsScoreAndAGroupScoreBelowFull) {
  const CheckReport r = check_fixture("004_shenzhen_2020.json");
  const auto funds = std::find_if(r.suggestions.begin(), r.suggestions.end(),
                                  [](const ScoreSuggestion& s) { return s.cell == "funds[total].score"; });
  ASSERT_NE(funds, r.suggestions.end());
  EXPECT_EQ(funds->low.to_string(2), "9.97");
  EXPECT_EQ(funds->entered->to_string(), "9.97");
  // 数量指标: 14 rows met, 年度课题数量 at 7/10 -> (14 + 0.7) / 15 × 15 = 14.70.
  const auto quantity = std::find_if(r.suggestions.begin(), r.suggestions.end(),
                                     [](const ScoreSuggestion& s) { return s.what.find("数量指标") != std::string::npos; });
  ASSERT_NE(quantity, r.suggestions.end());
  EXPECT_EQ(quantity->high.to_string(2), "14.70");
  EXPECT_EQ(quantity->entered->to_string(), "15");
}

TEST(SeedBaoding2020Targets, OnlyFormsThreeAndFiveHaveFindings) {
  for (int i : {1, 2, 4, 6, 7}) {
    const CheckReport r = check_fixture("001_target_" + std::to_string(i) + ".json");
    EXPECT_TRUE(r.findings.empty()) << "form " << i << "\n" << messages(r);
  }
}

TEST(SeedBaoding2020Targets, FormThreeHasATargetWithNoNumber) {
  const CheckReport r = check_fixture("001_target_3.json");
  EXPECT_EQ(rule_counts(r), "warning:IND.UNPARSEDx1 ") << messages(r);
  EXPECT_NE(only(r, "IND.UNPARSED").message.find("指标值“%”无法解析"), std::string::npos);
}

TEST(SeedBaoding2020Targets, FormFiveHasAnIncompleteSpendingPlanAndACountAsCost) {
  const CheckReport r = check_fixture("001_target_5.json");
  EXPECT_EQ(rule_counts(r), "error:PLAN.MISSINGx1 hint:IND.COST_UNITx1 ") << messages(r);
  const Finding& plan = only(r, "PLAN.MISSING");
  EXPECT_NE(plan.message.find("12月底"), std::string::npos);
  EXPECT_EQ(plan.cells, std::vector<std::string>{"spending_plan[cumulative].m12"});
  EXPECT_NE(only(r, "IND.COST_UNIT").message.find("≥2个"), std::string::npos);
}

TEST(SeedBaoding2020Report, ReadsAsAReportWithSevenAttachments) {
  const Form form = load_fixture("001_report.json");
  EXPECT_EQ(form.tables.at("attachments").rows.size(), 7u);
  EXPECT_GE(form.tables.at("sections").rows.size(), 4u);
  const CheckReport r = check_form(form, shipped_template("self_eval_report"));
  EXPECT_FALSE(r.has_errors()) << messages(r);
}

}  // namespace
}  // namespace jixiao
