// The checker, rule by rule: for every rule code checker.cpp can emit, a form
// that is right does not produce it and a form that is wrong does — with the
// rule's severity, the numbers in its Chinese message and the cells it names.
// Forms are built cell by cell from blank forms, the way a person fills them.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "jixiao/common/checker.h"
#include "jixiao/common/form_json.h"
#include "test_support.h"

namespace jixiao {
namespace {

using testing::add_row;
using testing::has_rule;
using testing::load_fixture;
using testing::messages;
using testing::set_cell;
using testing::set_field;
using testing::shipped_template;

// ---------------------------------------------------------------------------
// Helpers

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "“" << (needle) << "” not in: " << (haystack)

// The one finding with `rule`; fails the test if there is not exactly one.
const Finding& only(const CheckReport& r, const std::string& rule) {
  const auto found = r.with_rule(rule);
  EXPECT_EQ(found.size(), 1u) << rule << "\n" << messages(r);
  static const Finding kNone;
  return found.empty() ? kNone : *found.front();
}

// The finding with `rule` that names `cell`; fails the test if there is none.
const Finding& on_cell(const CheckReport& r, const std::string& rule, const std::string& cell) {
  for (const Finding* f : r.with_rule(rule)) {
    if (std::find(f->cells.begin(), f->cells.end(), cell) != f->cells.end()) return *f;
  }
  ADD_FAILURE() << "no " << rule << " on " << cell << "\n" << messages(r);
  static const Finding kNone;
  return kNone;
}

bool has_rule_on(const CheckReport& r, const std::string& rule, const std::string& cell) {
  for (const Finding* f : r.with_rule(rule)) {
    if (std::find(f->cells.begin(), f->cells.end(), cell) != f->cells.end()) return true;
  }
  return false;
}

const ScoreSuggestion* suggestion_for(const CheckReport& r, const std::string& cell) {
  for (const auto& s : r.suggestions) {
    if (s.cell == cell) return &s;
  }
  return nullptr;
}
// A suggestion points into its report: the report must outlive it.
const ScoreSuggestion* suggestion_for(CheckReport&&, const std::string&) = delete;

const FormTemplate& row_tmpl() { return shipped_template("project_self_eval_row_points"); }
const FormTemplate& group_tmpl() { return shipped_template("project_self_eval_group_points"); }
const FormTemplate& target_tmpl() { return shipped_template("project_target"); }
const FormTemplate& report_tmpl() { return shipped_template("self_eval_report"); }
const FormTemplate& dept_tmpl() { return shipped_template("department_self_eval"); }

std::string ind_row(const Form& f, std::size_t i) { return f.tables.at("indicators").rows.at(i).id; }
std::string ind_cell(const Form& f, std::size_t i, const std::string& col) {
  return table_cell_id("indicators", ind_row(f, i), col);
}

void set_funds_row(Form& f, const FormTemplate& t, const std::string& row, const std::string& budget,
                   const std::string& executed, const std::string& rate) {
  set_cell(f, t, "funds", row, "initial_budget", budget);
  set_cell(f, t, "funds", row, "full_year_budget", budget);
  set_cell(f, t, "funds", row, "executed", executed);
  set_cell(f, t, "funds", row, "rate", rate);
}

void set_header(Form& f, const FormTemplate& t) {
  set_field(f, t, "project_name", "科普大篷车巡展");
  set_field(f, t, "department", "濮阳市科学技术协会");
  set_field(f, t, "implementing_unit", "濮阳市科学技术协会");
  set_field(f, t, "goal_expected", "全年开展科普大篷车巡展不少于 20 场，展品完好率不低于 95%。");
  set_field(f, t, "goal_actual", "全年开展巡展 22 场，展品完好率 98%，群众满意度 95%。");
}

// A consistent project form, points per row (amounts in 万元):
// 项目资金 100 / 95 → 95.00% → 9.50 of 10; six indicators worth 90 points
// scored 88; 总分 97.5, 优.
Form row_form() {
  const FormTemplate& t = row_tmpl();
  Form f = new_blank_form(t, "156001", "濮阳市科学技术协会", 2021);
  set_header(f, t);
  set_funds_row(f, t, "total", "100", "95", "95.00%");
  set_cell(f, t, "funds", "total", "points", "10");
  set_cell(f, t, "funds", "total", "score", "9.50");
  set_funds_row(f, t, "fiscal", "100", "95", "95.00%");
  set_funds_row(f, t, "carryover", "0", "0", "—");
  set_funds_row(f, t, "other", "0", "0", "—");
  add_row(f, t, "indicators",
          {{"level1", "产出指标"}, {"level2", "数量指标"}, {"level3", "举办科普巡展场次"}, {"target", "≥20场"},
           {"actual", "22场"}, {"points", "20"}, {"score", "20"}});
  add_row(f, t, "indicators",
          {{"level2", "质量指标"}, {"level3", "展品完好率"}, {"target", "≥95%"}, {"actual", "98%"},
           {"points", "15"}, {"score", "15"}});
  add_row(f, t, "indicators",
          {{"level2", "时效指标"}, {"level3", "巡展完成及时性"}, {"target", "及时"}, {"actual", "及时"},
           {"points", "10"}, {"score", "10"}});
  add_row(f, t, "indicators",
          {{"level2", "成本指标"}, {"level3", "巡展成本"}, {"target", "≤100万元"}, {"actual", "95万元"},
           {"points", "10"}, {"score", "10"}});
  add_row(f, t, "indicators",
          {{"level1", "效益指标"}, {"level2", "社会效益指标"}, {"level3", "公众科学素质提升"},
           {"target", "有效提升"}, {"actual", "有效提升"}, {"points", "20"}, {"score", "18"}});
  add_row(f, t, "indicators",
          {{"level1", "满意度指标"}, {"level2", "服务对象满意度指标"}, {"level3", "参观群众满意度"},
           {"target", "≥90%"}, {"actual", "95%"}, {"points", "15"}, {"score", "15"}});
  set_field(f, t, "total_score", "97.5");
  set_field(f, t, "grade", "优");
  return f;
}

// A consistent project form, points per 二级 group (amounts in 元), with the
// 项目资金 of the Shenzhen 2020 form: 8,086,475.64 ÷ 8,108,600.00 = 99.73%
// → 9.97 of 10; 产出指标(50分) in three groups.
Form group_form() {
  const FormTemplate& t = group_tmpl();
  Form f = new_blank_form(t, "", "深圳市科学技术协会本级", 2020);
  set_header(f, t);
  set_funds_row(f, t, "total", "8108600.00", "8086475.64", "99.73%");
  set_cell(f, t, "funds", "total", "points", "10");
  set_cell(f, t, "funds", "total", "score", "9.97");
  set_funds_row(f, t, "fiscal", "8108600.00", "8086475.64", "99.73%");
  set_funds_row(f, t, "carryover", "0.00", "0.00", "—");
  set_funds_row(f, t, "other", "0.00", "0.00", "—");
  add_row(f, t, "indicators",
          {{"level1", "产出指标(50分)"}, {"level2", "数量指标"}, {"level3", "举办科技工作者座谈会"},
           {"target", "≥1场次"}, {"actual", "1场次"}, {"points", "20"}, {"score", "20"}});
  add_row(f, t, "indicators", {{"level3", "开展走访慰问活动"}, {"target", "≥2次"}, {"actual", "2次"}});
  add_row(f, t, "indicators",
          {{"level2", "质量指标"}, {"level3", "经费使用合规性"}, {"target", "合规"}, {"actual", "合规"},
           {"points", "15"}, {"score", "15"}});
  add_row(f, t, "indicators",
          {{"level2", "时效指标"}, {"level3", "活动完成及时性"}, {"target", "及时"}, {"actual", "及时"},
           {"points", "15"}, {"score", "15"}});
  add_row(f, t, "indicators",
          {{"level1", "效益指标(30分)"}, {"level2", "社会效益指标"}, {"level3", "科技工作者社会地位提升"},
           {"target", "有效提升"}, {"actual", "有效提升"}, {"points", "30"}, {"score", "28"}});
  add_row(f, t, "indicators",
          {{"level1", "满意度指标(10分)"}, {"level2", "服务对象满意度指标"}, {"level3", "科技工作者满意度"},
           {"target", "≥90%"}, {"actual", "96%"}, {"points", "10"}, {"score", "10"}});
  set_field(f, t, "total_score", "97.97");
  set_field(f, t, "grade", "优");
  return f;
}

// A consistent 项目绩效目标表 (amounts in 万元).
Form target_form() {
  const FormTemplate& t = target_tmpl();
  Form f = new_blank_form(t, "731002", "保定市科学技术协会（机关）", 2020);
  set_field(f, t, "project_code", "731-0702-JCN-GGS5");
  set_field(f, t, "project_name", "全民科学素质工作经费");
  set_field(f, t, "budget_total", "50");
  set_field(f, t, "budget_fiscal", "45");
  set_field(f, t, "budget_other", "5");
  set_field(f, t, "fund_use", "开展科普日、科技活动周等全民科学素质活动。");
  set_field(f, t, "goal", "举办科普讲座不少于 10 场，公众满意度不低于 90%。");
  set_cell(f, t, "spending_plan", "cumulative", "m03", "20%");
  set_cell(f, t, "spending_plan", "cumulative", "m06", "50%");
  set_cell(f, t, "spending_plan", "cumulative", "m10", "80%");
  set_cell(f, t, "spending_plan", "cumulative", "m12", "100%");
  add_row(f, t, "indicators",
          {{"level1", "产出指标"}, {"level2", "数量指标"}, {"level3", "举办科普讲座"}, {"target", "≥10场"},
           {"basis", "保科协字〔2020〕3号"}});
  add_row(f, t, "indicators",
          {{"level2", "成本指标"}, {"level3", "讲座成本"}, {"target", "≤5万元"}, {"basis", "上年度实际支出"}});
  add_row(f, t, "indicators",
          {{"level1", "效益指标"}, {"level2", "社会效益指标"}, {"level3", "公民科学素质提升"},
           {"target", "有效提升"}, {"basis", "上级文件精神"}});
  add_row(f, t, "indicators",
          {{"level1", "满意度指标"}, {"level2", "服务对象满意度指标"}, {"level3", "听众满意度"},
           {"target", "≥90%"}, {"basis", "调查问卷"}});
  return f;
}

// A consistent 绩效自评报告 for 2021 with two sections and one attachment.
Form report_form() {
  const FormTemplate& t = report_tmpl();
  Form f = new_blank_form(t, "156001", "濮阳市科学技术协会", 2021);
  set_field(f, t, "title", "濮阳市科学技术协会2021年度绩效自评工作报告");
  set_field(f, t, "signature_unit", "濮阳市科学技术协会");
  set_field(f, t, "date", "2022年2月24日");
  add_row(f, t, "sections", {{"heading", "一、绩效自评工作组织开展情况"}, {"body", "成立绩效自评工作领导小组……"}});
  add_row(f, t, "sections", {{"heading", "二、绩效目标实现情况"}, {"body", "全年开展科普活动 46 场……"}});
  add_row(f, t, "attachments", {{"label", "附件1"}, {"title", "科创中国专项经费项目支出绩效自评表"}});
  return f;
}

Form dept_form() { return load_fixture("department_ok.json"); }

CheckReport check_row(const Form& f) { return check_form(f, row_tmpl()); }
CheckReport check_group(const Form& f) { return check_form(f, group_tmpl()); }
CheckReport check_target(const Form& f) { return check_form(f, target_tmpl()); }
CheckReport check_report(const Form& f) { return check_form(f, report_tmpl()); }
CheckReport check_dept(const Form& f) { return check_form(f, dept_tmpl()); }

// ===========================================================================
// The consistent forms: nothing to report.

TEST(CheckerBaseline, ConsistentRowLayoutProjectFormHasNoFindings) {
  const CheckReport r = check_row(row_form());
  EXPECT_TRUE(r.findings.empty()) << messages(r);
}

TEST(CheckerBaseline, ConsistentGroupLayoutProjectFormHasNoFindings) {
  const CheckReport r = check_group(group_form());
  EXPECT_TRUE(r.findings.empty()) << messages(r);
}

TEST(CheckerBaseline, ConsistentTargetFormHasNoFindings) {
  const CheckReport r = check_target(target_form());
  EXPECT_TRUE(r.findings.empty()) << messages(r);
}

TEST(CheckerBaseline, ConsistentReportHasNoFindings) {
  const CheckReport r = check_report(report_form());
  EXPECT_TRUE(r.findings.empty()) << messages(r);
}

// ===========================================================================
// FORM.*

TEST(CheckerForm, EmptyRequiredFieldIsAWarningNamingTheField) {
  Form f = row_form();
  set_field(f, row_tmpl(), "project_name", "");
  const CheckReport r = check_row(f);
  const Finding& x = only(r, "FORM.REQUIRED_EMPTY");
  EXPECT_EQ(x.severity, Severity::kWarning);
  EXPECT_EQ(x.message, "“项目名称”未填写");
  EXPECT_EQ(x.cells, std::vector<std::string>{"fields.project_name"});
}

TEST(CheckerForm, UnknownTemplateKindIsAWarningAndOnlyRequiredFieldsAreChecked) {
  FormTemplate t = report_tmpl();
  t.kind = "mystery_kind";
  Form f = report_form();
  EXPECT_FALSE(has_rule(check_form(f, report_tmpl()), "FORM.UNKNOWN_KIND"));
  f.fields["title"] = CellValue::empty();
  const CheckReport r = check_form(f, t);
  const Finding& x = only(r, "FORM.UNKNOWN_KIND");
  EXPECT_EQ(x.severity, Severity::kWarning);
  EXPECT_CONTAINS(x.message, "“mystery_kind”");
  EXPECT_CONTAINS(x.message, "只检查了必填项");
  EXPECT_TRUE(has_rule(r, "FORM.REQUIRED_EMPTY"));
  EXPECT_FALSE(has_rule(r, "REPORT.NO_ATTACHMENTS"));
}

// ===========================================================================
// 项目资金: 执行率, 得分 (docs/domain.md §3.1)

TEST(CheckerFunds, ExecutionRateMismatchIsAnErrorWithBothNumbers) {
  Form f = group_form();
  set_cell(f, group_tmpl(), "funds", "total", "rate", "98.50%");
  const CheckReport r = check_group(f);
  const Finding& x = only(r, "FUNDS.RATE");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "执行率应为 99.73%（8,086,475.64 ÷ 8,108,600.00），表中为 98.50%");
  EXPECT_EQ(x.cells, std::vector<std::string>{"funds[total].rate"});
  EXPECT_FALSE(has_rule(r, "FUNDS.RATE_PRECISION"));
}

TEST(CheckerFunds, DisplayRoundedExecutionRateIsOnlyAHint) {
  Form f = group_form();
  set_cell(f, group_tmpl(), "funds", "total", "rate", "99.7%");
  const CheckReport r = check_group(f);
  EXPECT_FALSE(has_rule(r, "FUNDS.RATE")) << messages(r);
  const Finding& x = only(r, "FUNDS.RATE_PRECISION");
  EXPECT_EQ(x.severity, Severity::kHint);
  EXPECT_CONTAINS(x.message, "应为 99.73%");
  EXPECT_CONTAINS(x.message, "表中为 99.7%");
  EXPECT_EQ(x.cells, std::vector<std::string>{"funds[total].rate"});
}

TEST(CheckerFunds, ExactExecutionRateIsNotReported) {
  const CheckReport r = check_group(group_form());  // 99.73% as entered
  EXPECT_FALSE(has_rule(r, "FUNDS.RATE"));
  EXPECT_FALSE(has_rule(r, "FUNDS.RATE_PRECISION"));
}

TEST(CheckerFunds, WrongRateRoundedTheWrongWayIsAnErrorNotAHint) {
  Form f = group_form();
  set_cell(f, group_tmpl(), "funds", "total", "rate", "99.8%");  // 99.73 rounds to 99.7
  const CheckReport r = check_group(f);
  EXPECT_EQ(only(r, "FUNDS.RATE").severity, Severity::kError);
  EXPECT_FALSE(has_rule(r, "FUNDS.RATE_PRECISION"));
}

// "100%" for 100.00% and "10" for 10.00 are exact, not display roundings.
TEST(CheckerFunds, WholeNumberThatIsExactIsNotReportedAsRounded) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_funds_row(f, t, "total", "100", "100", "100%");
  set_funds_row(f, t, "fiscal", "100", "100", "100%");
  set_cell(f, t, "funds", "total", "score", "10");
  set_field(f, t, "total_score", "98");
  const CheckReport r = check_row(f);
  EXPECT_TRUE(r.findings.empty()) << messages(r);
}

TEST(CheckerFunds, RateOfAPartRowIsCheckedToo) {
  Form f = row_form();
  set_cell(f, row_tmpl(), "funds", "fiscal", "rate", "96%");
  const CheckReport r = check_row(f);
  const Finding& x = only(r, "FUNDS.RATE");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "“当年财政拨款”的执行率应为 95.00%（95.00 ÷ 100.00），表中为 96%");
  EXPECT_EQ(x.cells, std::vector<std::string>{"funds[fiscal].rate"});
}

TEST(CheckerFunds, MissingRateIsAWarningGivingTheRate) {
  Form f = group_form();
  set_cell(f, group_tmpl(), "funds", "total", "rate", "");
  const CheckReport r = check_group(f);
  const Finding& x = only(r, "FUNDS.RATE_MISSING");
  EXPECT_EQ(x.severity, Severity::kWarning);
  EXPECT_EQ(x.message, "执行率未填写，应为 99.73%（8,086,475.64 ÷ 8,108,600.00）");
  EXPECT_EQ(x.cells, std::vector<std::string>{"funds[total].rate"});
  EXPECT_FALSE(has_rule(check_group(group_form()), "FUNDS.RATE_MISSING"));
}

TEST(CheckerFunds, ScoreIsCappedRateTimesPointsAtTwoDecimals) {
  const CheckReport r = check_group(group_form());  // 9.97 entered
  EXPECT_FALSE(has_rule(r, "FUNDS.SCORE"));
  const ScoreSuggestion* s = suggestion_for(r, "funds[total].score");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->low.to_string(2), "9.97");
  EXPECT_EQ(s->high.to_string(2), "9.97");
  EXPECT_EQ(s->basis, "执行率 99.73% × 分值 10");
}

TEST(CheckerFunds, WrongScoreIsAnErrorNamingTheExpectedScore) {
  Form f = group_form();
  set_cell(f, group_tmpl(), "funds", "total", "score", "9.5");
  set_field(f, group_tmpl(), "total_score", "97.5");
  const CheckReport r = check_group(f);
  const Finding& x = only(r, "FUNDS.SCORE");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "项目资金得分应为 9.97（执行率 99.73% × 分值 10），表中为 9.5");
  EXPECT_EQ(x.cells, std::vector<std::string>{"funds[total].score"});
}

TEST(CheckerFunds, ScoreWrittenAsAWholeNumberIsAnErrorNotARounding) {
  Form f = group_form();
  set_cell(f, group_tmpl(), "funds", "total", "score", "10");  // 9.97 is due: full marks claimed
  set_field(f, group_tmpl(), "total_score", "100");
  const CheckReport r = check_group(f);
  const Finding& x = only(r, "FUNDS.SCORE");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "项目资金得分应为 9.97（执行率 99.73% × 分值 10），表中为 10");
  EXPECT_EQ(x.cells, std::vector<std::string>{"funds[total].score"});
}

TEST(CheckerFunds, OverspentFundsCapTheScoreAtFullPoints) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_funds_row(f, t, "total", "100", "120", "120.00%");
  set_funds_row(f, t, "fiscal", "100", "120", "120.00%");
  set_cell(f, t, "funds", "total", "score", "10.00");
  set_field(f, t, "total_score", "98");
  CheckReport r = check_row(f);
  EXPECT_FALSE(has_rule(r, "FUNDS.SCORE")) << messages(r);
  const ScoreSuggestion* s = suggestion_for(r, "funds[total].score");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->high.to_string(2), "10.00");
  EXPECT_EQ(s->basis, "执行率 120.00% × 分值 10，执行率按 100% 计");
  const Finding& over = only(r, "FUNDS.OVERSPENT");
  EXPECT_EQ(over.severity, Severity::kWarning);
  EXPECT_EQ(over.message, "全年执行数 120.00 超过全年预算数 100.00（万元）");
  EXPECT_EQ(over.cells, std::vector<std::string>{"funds[total].executed"});

  set_cell(f, t, "funds", "total", "score", "12");
  set_field(f, t, "total_score", "100");
  r = check_row(f);
  const Finding& x = only(r, "FUNDS.SCORE");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_CONTAINS(x.message, "应为 10.00");
  EXPECT_CONTAINS(x.message, "执行率按 100% 计");
  EXPECT_CONTAINS(x.message, "表中为 12");
}

TEST(CheckerFunds, ExecutionWithinBudgetIsNotOverspent) {
  EXPECT_FALSE(has_rule(check_row(row_form()), "FUNDS.OVERSPENT"));
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_funds_row(f, t, "total", "100", "100", "100.00%");
  set_funds_row(f, t, "fiscal", "100", "100", "100.00%");
  EXPECT_FALSE(has_rule(check_row(f), "FUNDS.OVERSPENT"));
}

TEST(CheckerFunds, MissingBudgetOrExecutionIsAnError) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_cell(f, t, "funds", "total", "executed", "");
  CheckReport r = check_row(f);
  const Finding& x = only(r, "FUNDS.MISSING");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_CONTAINS(x.message, "全年执行数未填写");
  EXPECT_EQ(x.cells, std::vector<std::string>{"funds[total].executed"});

  f = row_form();
  set_cell(f, t, "funds", "total", "full_year_budget", "");
  r = check_row(f);
  const Finding& y = only(r, "FUNDS.MISSING");
  EXPECT_EQ(y.severity, Severity::kError);
  EXPECT_CONTAINS(y.message, "全年预算数未填写");
  EXPECT_EQ(y.cells, std::vector<std::string>{"funds[total].full_year_budget"});
}

TEST(CheckerFunds, MissingPointsIsAnError) {
  Form f = row_form();
  set_cell(f, row_tmpl(), "funds", "total", "points", "");
  const CheckReport r = check_row(f);
  const Finding& x = only(r, "FUNDS.POINTS_MISSING");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_CONTAINS(x.message, "分值未填写");
  EXPECT_EQ(x.cells, std::vector<std::string>{"funds[total].points"});
  EXPECT_FALSE(has_rule(check_row(row_form()), "FUNDS.POINTS_MISSING"));
}

TEST(CheckerFunds, MissingScoreIsAnErrorGivingTheScore) {
  Form f = group_form();
  set_cell(f, group_tmpl(), "funds", "total", "score", "");
  const CheckReport r = check_group(f);
  const Finding& x = only(r, "FUNDS.SCORE_MISSING");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "项目资金得分未填写，应为 9.97（执行率 99.73% × 分值 10）");
  EXPECT_EQ(x.cells, std::vector<std::string>{"funds[total].score"});
  EXPECT_FALSE(has_rule(check_group(group_form()), "FUNDS.SCORE_MISSING"));
}

TEST(CheckerFunds, RateBelowNinetyPercentNeedsAnExplanation) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_funds_row(f, t, "total", "100", "89.99", "89.99%");
  set_funds_row(f, t, "fiscal", "100", "89.99", "89.99%");
  set_cell(f, t, "funds", "total", "score", "9.00");
  CheckReport r = check_row(f);
  const Finding& x = only(r, "FUNDS.LOW_RATE_UNEXPLAINED");
  EXPECT_EQ(x.severity, Severity::kWarning);
  EXPECT_EQ(x.message, "执行率 89.99% 低于 90%，需说明原因（填写“预算执行率偏低原因说明”）");
  EXPECT_EQ(x.cells, (std::vector<std::string>{"funds[total].rate", "fields.low_rate_explanation"}));

  set_field(f, t, "low_rate_explanation", "部分巡展因疫情推迟至次年，资金结转使用。");
  r = check_row(f);
  EXPECT_FALSE(has_rule(r, "FUNDS.LOW_RATE_UNEXPLAINED")) << messages(r);
}

TEST(CheckerFunds, RateOfExactlyNinetyPercentNeedsNoExplanation) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_funds_row(f, t, "total", "100", "90", "90.00%");
  set_funds_row(f, t, "fiscal", "100", "90", "90.00%");
  set_cell(f, t, "funds", "total", "score", "9.00");
  set_field(f, t, "total_score", "97");
  const CheckReport r = check_row(f);
  EXPECT_TRUE(r.findings.empty()) << messages(r);
}

// ===========================================================================
// Money columns: 年度资金总额 = 当年财政拨款 + 上年结转资金 + 其他资金

TEST(CheckerSums, TotalNotEqualToItsPartsIsAnErrorInEachColumn) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_cell(f, t, "funds", "fiscal", "initial_budget", "80");  // 年初预算数: 80 + 0 + 0 ≠ 100
  set_cell(f, t, "funds", "carryover", "executed", "5");      // 全年执行数: 95 + 5 + 0 ≠ 95
  const CheckReport r = check_row(f);
  ASSERT_EQ(r.with_rule("SUM.MISMATCH").size(), 2u) << messages(r);
  const Finding& initial = on_cell(r, "SUM.MISMATCH", "funds[total].initial_budget");
  EXPECT_EQ(initial.severity, Severity::kError);
  EXPECT_EQ(initial.message,
            "项目资金“年初预算数”列：年度资金总额应等于当年财政拨款、上年结转资金、其他资金之和 80.00 + 0.00 + 0.00 = "
            "80.00，表中为 100.00");
  EXPECT_EQ(initial.cells, (std::vector<std::string>{"funds[total].initial_budget", "funds[fiscal].initial_budget",
                                                     "funds[carryover].initial_budget", "funds[other].initial_budget"}));
  const Finding& executed = on_cell(r, "SUM.MISMATCH", "funds[total].executed");
  EXPECT_CONTAINS(executed.message, "“全年执行数”列");
  EXPECT_CONTAINS(executed.message, "95.00 + 5.00 + 0.00 = 100.00，表中为 95.00");
  EXPECT_FALSE(has_rule_on(r, "SUM.MISMATCH", "funds[total].full_year_budget"));
}

TEST(CheckerSums, TotalEqualToItsPartsIsNotReported) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_funds_row(f, t, "fiscal", "70", "66.5", "95.00%");
  set_funds_row(f, t, "carryover", "20", "19", "95.00%");
  set_funds_row(f, t, "other", "10", "9.5", "95.00%");
  const CheckReport r = check_row(f);
  EXPECT_TRUE(r.findings.empty()) << messages(r);
}

TEST(CheckerSums, TotalWithAllPartsBlankIsAWarning) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  for (const char* part : {"fiscal", "carryover", "other"}) set_cell(f, t, "funds", part, "initial_budget", "");
  const CheckReport r = check_row(f);
  const Finding& x = only(r, "SUM.PARTS_MISSING");
  EXPECT_EQ(x.severity, Severity::kWarning);
  EXPECT_EQ(x.message,
            "项目资金“年初预算数”列：年度资金总额为 100.00 万元，但其中当年财政拨款、上年结转资金、其他资金均未填写");
  EXPECT_EQ(x.cells.front(), "funds[total].initial_budget");
  EXPECT_FALSE(has_rule(r, "SUM.MISMATCH"));
}

TEST(CheckerSums, TargetFormBudgetMustEqualFiscalPlusOther) {
  const FormTemplate& t = target_tmpl();
  Form f = target_form();
  set_field(f, t, "budget_other", "3");
  CheckReport r = check_target(f);
  const Finding& x = only(r, "SUM.MISMATCH");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "预算数应等于财政资金与其他资金之和 45.00 + 3.00 = 48.00，表中为 50.00");
  EXPECT_EQ(x.cells, (std::vector<std::string>{"fields.budget_total", "fields.budget_fiscal", "fields.budget_other"}));

  set_field(f, t, "budget_fiscal", "");
  set_field(f, t, "budget_other", "");
  r = check_target(f);
  const Finding& y = only(r, "SUM.PARTS_MISSING");
  EXPECT_EQ(y.severity, Severity::kWarning);
  EXPECT_EQ(y.message, "预算数为 50.00 万元，但财政资金和其他资金均未填写");
  EXPECT_FALSE(has_rule(r, "SUM.MISMATCH"));
}

// ===========================================================================
// Indicator rows: met / not met, 偏差原因分析, full points on an unmet row

TEST(CheckerIndicators, UnmetNumericRowWithoutDeviationAnalysisIsAnError) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_cell(f, t, "indicators", ind_row(f, 0), "actual", "15场");
  set_cell(f, t, "indicators", ind_row(f, 0), "score", "15");
  set_field(f, t, "total_score", "92.5");
  CheckReport r = check_row(f);
  const Finding& x = only(r, "IND.DEVIATION_MISSING");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message,
            "绩效指标第 1 行“举办科普巡展场次”未完成年度指标（实际完成值 15场 未达到年度指标值 ≥20场），"
            "须填写偏差原因分析及改进措施");
  EXPECT_EQ(x.cells, std::vector<std::string>{ind_cell(f, 0, "deviation")});

  set_cell(f, t, "indicators", ind_row(f, 0), "deviation", "受疫情影响 5 场巡展取消，次年补办。");
  r = check_row(f);
  EXPECT_TRUE(r.findings.empty()) << messages(r);
}

TEST(CheckerIndicators, PartlyMetQualitativeRowNeedsDeviationAnalysis) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_cell(f, t, "indicators", ind_row(f, 2), "actual", "基本完成");
  set_cell(f, t, "indicators", ind_row(f, 2), "score", "8");
  set_field(f, t, "total_score", "95.5");
  const CheckReport r = check_row(f);
  const Finding& x = only(r, "IND.DEVIATION_MISSING");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_CONTAINS(x.message, "绩效指标第 3 行“巡展完成及时性”");
  EXPECT_CONTAINS(x.message, "实际完成值为“基本完成”，未全部完成");
}

// "基本及时" against "及时" and "未完成" against "完成" are not met, although
// the target's words occur in them.
TEST(CheckerIndicators, QualifiedOrNegatedTargetWordsAreNotMet) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_cell(f, t, "indicators", ind_row(f, 2), "actual", "基本及时");
  set_cell(f, t, "indicators", ind_row(f, 2), "score", "8");
  set_field(f, t, "total_score", "95.5");
  CheckReport r = check_row(f);
  EXPECT_EQ(on_cell(r, "IND.DEVIATION_MISSING", ind_cell(f, 2, "deviation")).severity, Severity::kError);

  set_cell(f, t, "indicators", ind_row(f, 2), "target", "完成");
  set_cell(f, t, "indicators", ind_row(f, 2), "actual", "未完成");
  set_cell(f, t, "indicators", ind_row(f, 2), "score", "10");
  set_field(f, t, "total_score", "97.5");
  r = check_row(f);
  EXPECT_CONTAINS(on_cell(r, "IND.DEVIATION_MISSING", ind_cell(f, 2, "deviation")).message, "“未完成”表明未完成");
  EXPECT_TRUE(has_rule(r, "IND.FULL_POINTS_UNMET")) << messages(r);

  // Words that only add to the target's are still met.
  set_cell(f, t, "indicators", ind_row(f, 2), "target", "及时");
  set_cell(f, t, "indicators", ind_row(f, 2), "actual", "全部及时");
  r = check_row(f);
  EXPECT_TRUE(r.findings.empty()) << messages(r);
}

TEST(CheckerIndicators, FullPointsOnAnUnmetRowIsAWarningInTheRowLayout) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_cell(f, t, "indicators", ind_row(f, 0), "actual", "15场");
  set_cell(f, t, "indicators", ind_row(f, 0), "deviation", "受疫情影响 5 场巡展取消。");
  CheckReport r = check_row(f);  // score still 20 of 20
  const Finding& x = only(r, "IND.FULL_POINTS_UNMET");
  EXPECT_EQ(x.severity, Severity::kWarning);
  EXPECT_EQ(x.message, "绩效指标第 1 行“举办科普巡展场次”得了满分 20，但其中“举办科普巡展场次”未完成年度指标");
  EXPECT_EQ(x.cells, std::vector<std::string>{ind_cell(f, 0, "score")});
  EXPECT_FALSE(has_rule(r, "IND.DEVIATION_MISSING"));

  set_cell(f, t, "indicators", ind_row(f, 0), "score", "15");
  set_field(f, t, "total_score", "92.5");
  r = check_row(f);
  EXPECT_FALSE(has_rule(r, "IND.FULL_POINTS_UNMET")) << messages(r);
}

TEST(CheckerIndicators, FullPointsOnAGroupWithAnUnmetRowIsAWarningInTheGroupLayout) {
  const FormTemplate& t = group_tmpl();
  Form f = group_form();
  set_cell(f, t, "indicators", ind_row(f, 1), "actual", "1次");  // 开展走访慰问活动: ≥2次
  set_cell(f, t, "indicators", ind_row(f, 1), "deviation", "一次走访因疫情取消。");
  CheckReport r = check_group(f);  // the group's score still 20 of 20
  const Finding& x = only(r, "IND.FULL_POINTS_UNMET");
  EXPECT_EQ(x.severity, Severity::kWarning);
  EXPECT_EQ(x.message, "“数量指标”组（2 项）得了满分 20，但其中“开展走访慰问活动”未完成年度指标");
  EXPECT_EQ(x.cells, std::vector<std::string>{ind_cell(f, 0, "score")});
  // The group's suggestion is the mean degree of completion × points.
  const ScoreSuggestion* s = suggestion_for(r, ind_cell(f, 0, "score"));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->low.to_string(2), "15.00");
  EXPECT_EQ(s->high.to_string(2), "15.00");
  EXPECT_EQ(s->basis, "2 项指标完成程度的平均值 × 分值 20");

  set_cell(f, t, "indicators", ind_row(f, 0), "score", "15");
  set_field(f, t, "total_score", "92.97");
  r = check_group(f);
  EXPECT_TRUE(r.findings.empty()) << messages(r);
}

TEST(CheckerIndicators, DeviationWrittenOnTheGroupHeadCoversTheGroup) {
  const FormTemplate& t = group_tmpl();
  Form f = group_form();
  set_cell(f, t, "indicators", ind_row(f, 1), "actual", "1次");
  set_cell(f, t, "indicators", ind_row(f, 1), "score", "");
  CheckReport r = check_group(f);
  EXPECT_EQ(on_cell(r, "IND.DEVIATION_MISSING", ind_cell(f, 1, "deviation")).severity, Severity::kError);
  set_cell(f, t, "indicators", ind_row(f, 0), "deviation", "走访慰问一次因疫情取消。");
  r = check_group(f);
  EXPECT_FALSE(has_rule(r, "IND.DEVIATION_MISSING")) << messages(r);
}

TEST(CheckerIndicators, ScoreAboveTheSuggestedScoreIsAHint) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_cell(f, t, "indicators", ind_row(f, 0), "actual", "15场");
  set_cell(f, t, "indicators", ind_row(f, 0), "deviation", "5 场巡展取消。");
  set_cell(f, t, "indicators", ind_row(f, 0), "score", "18");
  set_field(f, t, "total_score", "95.5");
  CheckReport r = check_row(f);
  const Finding& x = only(r, "IND.SCORE_ABOVE_SUGGESTED");
  EXPECT_EQ(x.severity, Severity::kHint);
  EXPECT_EQ(x.message,
            "绩效指标第 1 行“举办科普巡展场次”得分 18 高于按完成情况建议的 15.00 分（实际值 ÷ 指标值 = 75.00% × 分值 20）");
  EXPECT_EQ(x.cells, std::vector<std::string>{ind_cell(f, 0, "score")});

  set_cell(f, t, "indicators", ind_row(f, 0), "score", "15");
  set_field(f, t, "total_score", "92.5");
  r = check_row(f);
  EXPECT_TRUE(r.findings.empty()) << messages(r);
}

// A full-points warning on one row must not silence the hint on another.
TEST(CheckerIndicators, ScoreAboveSuggestedIsReportedAfterAFullPointsWarningOnAnotherRow) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_cell(f, t, "indicators", ind_row(f, 0), "actual", "15场");  // full 20 of 20, unmet
  set_cell(f, t, "indicators", ind_row(f, 0), "deviation", "5 场巡展取消。");
  set_cell(f, t, "indicators", ind_row(f, 1), "actual", "90%");  // ≥95%: 90 ÷ 95 × 15 = 14.21
  set_cell(f, t, "indicators", ind_row(f, 1), "deviation", "部分展品运输中受损。");
  set_cell(f, t, "indicators", ind_row(f, 1), "score", "14.5");
  set_field(f, t, "total_score", "97");
  const CheckReport r = check_row(f);
  EXPECT_EQ(on_cell(r, "IND.FULL_POINTS_UNMET", ind_cell(f, 0, "score")).severity, Severity::kWarning);
  const Finding& x = on_cell(r, "IND.SCORE_ABOVE_SUGGESTED", ind_cell(f, 1, "score"));
  EXPECT_EQ(x.severity, Severity::kHint);
  EXPECT_CONTAINS(x.message, "得分 14.5 高于按完成情况建议的 14.21 分");
  // Not both on the same cell.
  EXPECT_FALSE(has_rule_on(r, "IND.SCORE_ABOVE_SUGGESTED", ind_cell(f, 0, "score")));
}

TEST(CheckerIndicators, NegativeScoreAndScoreAbovePointsAreErrors) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_cell(f, t, "indicators", ind_row(f, 1), "score", "-1");
  set_cell(f, t, "indicators", ind_row(f, 2), "score", "12");
  set_field(f, t, "total_score", "83.5");
  const CheckReport r = check_row(f);
  ASSERT_EQ(r.with_rule("SCORE.RANGE").size(), 2u) << messages(r);
  const Finding& neg = on_cell(r, "SCORE.RANGE", ind_cell(f, 1, "score"));
  EXPECT_EQ(neg.severity, Severity::kError);
  EXPECT_EQ(neg.message, "绩效指标第 2 行“展品完好率”得分 -1 不能为负数");
  const Finding& above = on_cell(r, "SCORE.RANGE", ind_cell(f, 2, "score"));
  EXPECT_EQ(above.severity, Severity::kError);
  EXPECT_EQ(above.message, "绩效指标第 3 行“巡展完成及时性”得分 12 超过了分值 10");
}

TEST(CheckerIndicators, ScoreRangeAppliesToTheFundsScoreAndToGroups) {
  const FormTemplate& t = group_tmpl();
  Form f = group_form();
  set_cell(f, t, "indicators", ind_row(f, 2), "score", "16");  // 质量指标 group: 15 points
  set_field(f, t, "total_score", "98.97");
  const CheckReport r = check_group(f);
  const Finding& x = on_cell(r, "SCORE.RANGE", ind_cell(f, 2, "score"));
  EXPECT_EQ(x.message, "“质量指标”组（1 项）得分 16 超过了分值 15");
  EXPECT_FALSE(has_rule(check_group(group_form()), "SCORE.RANGE"));
}

TEST(CheckerIndicators, MissingPointsIsAWarning) {
  Form f = row_form();
  set_cell(f, row_tmpl(), "indicators", ind_row(f, 2), "points", "");
  const CheckReport r = check_row(f);
  const Finding& x = only(r, "IND.POINTS_MISSING");
  EXPECT_EQ(x.severity, Severity::kWarning);
  EXPECT_EQ(x.message, "绩效指标第 3 行“巡展完成及时性”未填写分值");
  EXPECT_EQ(x.cells, std::vector<std::string>{ind_cell(f, 2, "points")});
}

TEST(CheckerIndicators, NotApplicableRowNeedsNoPoints) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  add_row(f, t, "indicators", {{"level3", "生态效益"}, {"target", "不适用"}, {"actual", "不适用"}});
  const CheckReport r = check_row(f);
  EXPECT_TRUE(r.findings.empty()) << messages(r);
}

TEST(CheckerIndicators, UnparsedValuesAreKeptAndFlagged) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_cell(f, t, "indicators", ind_row(f, 1), "target", "%");
  set_cell(f, t, "indicators", ind_row(f, 5), "actual", "%");
  const CheckReport r = check_row(f);
  ASSERT_EQ(r.with_rule("IND.UNPARSED").size(), 2u) << messages(r);
  const Finding& target = on_cell(r, "IND.UNPARSED", ind_cell(f, 1, "target"));
  EXPECT_EQ(target.severity, Severity::kWarning);
  EXPECT_CONTAINS(target.message, "绩效指标第 2 行“展品完好率”的指标值“%”无法解析（原文已保留）");
  const Finding& actual = on_cell(r, "IND.UNPARSED", ind_cell(f, 5, "actual"));
  EXPECT_EQ(actual.severity, Severity::kWarning);
  EXPECT_EQ(actual.message, "绩效指标第 6 行“参观群众满意度”的实际完成值“%”无法解析（原文已保留）");
  EXPECT_FALSE(has_rule(r, "IND.UNDECIDABLE"));
  EXPECT_EQ(f.tables.at("indicators").rows.at(1).cell("target").text, "%");
}

TEST(CheckerIndicators, MissingTargetOrActualIsAWarning) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_cell(f, t, "indicators", ind_row(f, 1), "target", "");
  set_cell(f, t, "indicators", ind_row(f, 3), "actual", "");
  const CheckReport r = check_row(f);
  const Finding& target = only(r, "IND.TARGET_MISSING");
  EXPECT_EQ(target.severity, Severity::kWarning);
  EXPECT_EQ(target.message, "绩效指标第 2 行“展品完好率”的指标值未填写");
  EXPECT_EQ(target.cells, std::vector<std::string>{ind_cell(f, 1, "target")});
  const Finding& actual = only(r, "IND.ACTUAL_MISSING");
  EXPECT_EQ(actual.severity, Severity::kWarning);
  EXPECT_EQ(actual.message, "绩效指标第 4 行“巡展成本”的实际完成值未填写");
  EXPECT_EQ(actual.cells, std::vector<std::string>{ind_cell(f, 3, "actual")});
}

TEST(CheckerIndicators, BareTargetClearlyExceededIsAnOverachievementHint) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_cell(f, t, "indicators", ind_row(f, 0), "target", "20场");
  CheckReport r = check_row(f);  // actual 22场
  const Finding& x = only(r, "IND.OVERACHIEVED");
  EXPECT_EQ(x.severity, Severity::kHint);
  EXPECT_EQ(x.message, "绩效指标第 1 行“举办科普巡展场次”超额完成（年度指标值 20场，实际完成 22场），按要求应分析偏差原因");
  EXPECT_EQ(x.cells, std::vector<std::string>{ind_cell(f, 0, "deviation")});

  set_cell(f, t, "indicators", ind_row(f, 0), "deviation", "群众需求旺盛，加办 2 场。");
  EXPECT_FALSE(has_rule(check_row(f), "IND.OVERACHIEVED"));
  EXPECT_FALSE(has_rule(check_row(row_form()), "IND.OVERACHIEVED"));  // "≥20场" may be exceeded
}

TEST(CheckerIndicators, NumberTargetWithAWordActualIsUndecidable) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_cell(f, t, "indicators", ind_row(f, 0), "target", "20");
  set_cell(f, t, "indicators", ind_row(f, 0), "actual", "完成");
  const CheckReport r = check_row(f);
  const Finding& x = only(r, "IND.UNDECIDABLE");
  EXPECT_EQ(x.severity, Severity::kHint);
  EXPECT_EQ(x.message, "绩效指标第 1 行“举办科普巡展场次”：年度指标值为“20”，实际完成值应填写数值，表中为“完成”");
  EXPECT_EQ(x.cells, std::vector<std::string>{ind_cell(f, 0, "actual")});
  EXPECT_FALSE(has_rule(r, "IND.DEVIATION_MISSING"));
  EXPECT_FALSE(has_rule(check_row(row_form()), "IND.UNDECIDABLE"));
}

TEST(CheckerIndicators, SecondLevelUnderTheWrongFirstLevelIsAHint) {
  Form f = row_form();
  set_cell(f, row_tmpl(), "indicators", ind_row(f, 4), "level1", "");  // 社会效益指标 now under 产出指标
  const CheckReport r = check_row(f);
  const Finding& x = only(r, "IND.LEVEL_MISMATCH");
  EXPECT_EQ(x.severity, Severity::kHint);
  EXPECT_EQ(x.message,
            "二级指标“社会效益指标”通常属于“效益指标”（或效果指标），表中列在一级指标“产出指标”下"
            "（绩效指标第 5 行“公众科学素质提升”起）");
  EXPECT_EQ(x.cells, std::vector<std::string>{ind_cell(f, 4, "level2")});
}

TEST(CheckerIndicators, DuplicateThirdLevelIsAHintListingTheRows) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_cell(f, t, "indicators", ind_row(f, 1), "level2", "");  // under 数量指标, filled down
  set_cell(f, t, "indicators", ind_row(f, 1), "level3", "举办科普巡展场次");
  const CheckReport r = check_row(f);
  const Finding& x = only(r, "IND.DUPLICATE");
  EXPECT_EQ(x.severity, Severity::kHint);
  EXPECT_EQ(x.message, "“数量指标”下的三级指标“举办科普巡展场次”出现了 2 次（第 1 行、第 2 行），请确认是否重复");
  EXPECT_EQ(x.cells, (std::vector<std::string>{ind_cell(f, 0, "level3"), ind_cell(f, 1, "level3")}));
}

TEST(CheckerIndicators, DeclaredFirstLevelPointsMustEqualTheirGroups) {
  const FormTemplate& t = group_tmpl();
  Form f = group_form();
  set_cell(f, t, "indicators", ind_row(f, 0), "level1", "产出指标(60分)");
  CheckReport r = check_group(f);
  const Finding& x = only(r, "LEVEL1.POINTS");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "一级指标“产出指标(60分)”注明 60 分，其下各指标分值合计为 50 分");

  // Full-width parentheses, as typed on Chinese keyboards, read the same.
  set_cell(f, t, "indicators", ind_row(f, 0), "level1", "产出指标（50分）");
  r = check_group(f);
  EXPECT_TRUE(r.findings.empty()) << messages(r);
  set_cell(f, t, "indicators", ind_row(f, 0), "level1", "产出指标（40分）");
  EXPECT_CONTAINS(only(check_group(f), "LEVEL1.POINTS").message, "注明 40 分，其下各指标分值合计为 50 分");
}

// ===========================================================================
// Totals and grade

TEST(CheckerTotals, PointsNotAddingUpToHundredIsAnError) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_cell(f, t, "indicators", ind_row(f, 5), "points", "10");
  set_cell(f, t, "indicators", ind_row(f, 5), "score", "10");
  set_field(f, t, "total_score", "92.5");
  const CheckReport r = check_row(f);
  const Finding& x = only(r, "TOTAL.POINTS");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "各项分值合计应为 100 分，表中合计为 95 分（项目资金 10 + 绩效指标 85）");
  EXPECT_EQ(x.cells.front(), "funds[total].points");
  EXPECT_EQ(x.cells.size(), 7u);
}

TEST(CheckerTotals, TotalScoreMustBeTheSumOfScoresIncludingFunds) {
  Form f = row_form();
  set_field(f, row_tmpl(), "total_score", "98");
  const CheckReport r = check_row(f);
  const Finding& x = only(r, "TOTAL.SCORE");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "总分应为各项得分之和 97.5（项目资金 9.5 + 绩效指标 88），表中为 98");
  EXPECT_EQ(x.cells, std::vector<std::string>{"fields.total_score"});
  EXPECT_FALSE(has_rule(r, "TOTAL.RANGE"));
}

TEST(CheckerTotals, MissingTotalScoreIsAnErrorGivingTheSum) {
  Form f = row_form();
  set_field(f, row_tmpl(), "total_score", "");
  set_field(f, row_tmpl(), "grade", "");
  const CheckReport r = check_row(f);
  const Finding& x = only(r, "TOTAL.SCORE_MISSING");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "总分未填写，按各项得分合计应为 97.5");
  EXPECT_FALSE(has_rule(r, "FORM.REQUIRED_EMPTY"));  // not reported twice
  EXPECT_FALSE(has_rule(check_row(row_form()), "TOTAL.SCORE_MISSING"));
}

TEST(CheckerTotals, TotalOutsideZeroToHundredIsAnError) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_field(f, t, "total_score", "101");
  CheckReport r = check_row(f);
  const Finding& x = only(r, "TOTAL.RANGE");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "总分 101 不在 0 至 100 之间");
  set_field(f, t, "total_score", "-2");
  set_field(f, t, "grade", "差");
  r = check_row(f);
  EXPECT_EQ(only(r, "TOTAL.RANGE").message, "总分 -2 不在 0 至 100 之间");
  set_field(f, t, "total_score", "100");
  set_field(f, t, "grade", "优");
  EXPECT_FALSE(has_rule(check_row(f), "TOTAL.RANGE"));
}

struct GradeCase {
  const char* total;
  const char* grade;
  const char* wrong;
};

TEST(CheckerGrade, BandsHoldAtTheirBoundaries) {
  const FormTemplate& t = row_tmpl();
  const std::vector<GradeCase> cases = {
      {"100", "优", "良"},  {"90", "优", "良"},   {"89.99", "良", "优"}, {"80", "良", "中"},
      {"79.99", "中", "良"}, {"60", "中", "差"},  {"59.99", "差", "中"}, {"0", "差", "中"},
  };
  for (const auto& c : cases) {
    Form f = row_form();
    set_field(f, t, "total_score", c.total);
    set_field(f, t, "grade", c.grade);
    EXPECT_FALSE(has_rule(check_row(f), "GRADE.MISMATCH")) << c.total << " " << c.grade;
    set_field(f, t, "grade", c.wrong);
    const CheckReport r = check_row(f);
    const Finding& x = only(r, "GRADE.MISMATCH");
    EXPECT_EQ(x.severity, Severity::kError) << c.total;
    EXPECT_CONTAINS(x.message, std::string("自评等级应为“") + c.grade + "”（总分 " + c.total + "）");
    EXPECT_CONTAINS(x.message, std::string("表中为“") + c.wrong + "”");
  }
}

TEST(CheckerGrade, MismatchNamesTheRuleAndBothCells) {
  Form f = row_form();
  set_field(f, row_tmpl(), "total_score", "89.99");
  const CheckReport r = check_row(f);  // grade 优
  const Finding& x = only(r, "GRADE.MISMATCH");
  EXPECT_EQ(x.message, "自评等级应为“良”（总分 89.99）（优 ≥ 90，良 80–90，中 60–80，差 < 60），表中为“优”");
  EXPECT_EQ(x.cells, (std::vector<std::string>{"fields.grade", "fields.total_score"}));
}

TEST(CheckerGrade, MissingGradeIsAHintGivingTheGrade) {
  Form f = row_form();
  set_field(f, row_tmpl(), "grade", "");
  const CheckReport r = check_row(f);
  const Finding& x = only(r, "GRADE.MISSING");
  EXPECT_EQ(x.severity, Severity::kHint);
  EXPECT_CONTAINS(x.message, "未填写自评等级；按总分 97.5 应为“优”");
  EXPECT_EQ(x.cells, std::vector<std::string>{"fields.grade"});
  EXPECT_FALSE(has_rule(r, "GRADE.MISMATCH"));
  EXPECT_FALSE(has_rule(check_row(row_form()), "GRADE.MISSING"));
}

// ===========================================================================
// Suggested scores (CheckReport::suggestions)

TEST(CheckerSuggestions, AtLeastIndicatorScoresActualOverTargetTimesPoints) {
  Form f = row_form();
  set_cell(f, row_tmpl(), "indicators", ind_row(f, 0), "actual", "15场");  // ≥20场, 20 points
  const CheckReport r = check_row(f);
  const ScoreSuggestion* s = suggestion_for(r, ind_cell(f, 0, "score"));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->low.to_string(2), "15.00");
  EXPECT_EQ(s->high.to_string(2), "15.00");
  EXPECT_EQ(s->basis, "实际值 ÷ 指标值 = 75.00% × 分值 20");
  EXPECT_EQ(s->what, "绩效指标第 1 行“举办科普巡展场次”得分");
}

TEST(CheckerSuggestions, AtMostIndicatorScoresTargetOverActualTimesPoints) {
  Form f = row_form();
  set_cell(f, row_tmpl(), "indicators", ind_row(f, 3), "actual", "125万元");  // ≤100万元, 10 points
  const CheckReport r = check_row(f);
  const ScoreSuggestion* s = suggestion_for(r, ind_cell(f, 3, "score"));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->low.to_string(2), "8.00");
  EXPECT_EQ(s->high.to_string(2), "8.00");
  EXPECT_EQ(s->basis, "指标值 ÷ 实际值 = 80.00% × 分值 10");
}

TEST(CheckerSuggestions, NumericSuggestionIsCappedAtThePoints) {
  Form f = row_form();
  set_cell(f, row_tmpl(), "indicators", ind_row(f, 0), "actual", "30场");
  const CheckReport r = check_row(f);
  const ScoreSuggestion* s = suggestion_for(r, ind_cell(f, 0, "score"));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->high.to_string(2), "20.00");
  EXPECT_EQ(s->low.to_string(2), "20.00");
  EXPECT_CONTAINS(s->basis, "150.00%");
}

TEST(CheckerSuggestions, QualitativeRowsGetABandByAttainment) {
  struct Case {
    const char* actual;
    const char* low;
    const char* high;
    const char* basis;
  };
  const std::vector<Case> cases = {
      {"及时", "8.00", "10.00", "定性指标已完成：80%–100% × 分值 10"},
      {"基本完成", "6.00", "8.00", "定性指标部分完成：60%–80% × 分值 10"},
      {"未完成", "0.00", "6.00", "定性指标未完成：0–60% × 分值 10"},
  };
  for (const auto& c : cases) {
    Form f = row_form();
    set_cell(f, row_tmpl(), "indicators", ind_row(f, 2), "actual", c.actual);  // 及时, 10 points
    const CheckReport r = check_row(f);
    const ScoreSuggestion* s = suggestion_for(r, ind_cell(f, 2, "score"));
    ASSERT_NE(s, nullptr) << c.actual;
    EXPECT_EQ(s->low.to_string(2), c.low) << c.actual;
    EXPECT_EQ(s->high.to_string(2), c.high) << c.actual;
    EXPECT_EQ(s->basis, c.basis);
  }
}

TEST(CheckerSuggestions, UndecidableAndNotApplicableRowsGetNoSuggestion) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_cell(f, t, "indicators", ind_row(f, 0), "target", "20");
  set_cell(f, t, "indicators", ind_row(f, 0), "actual", "完成");
  add_row(f, t, "indicators", {{"level3", "生态效益"}, {"target", "不适用"}, {"actual", "不适用"}, {"points", "0"}});
  const CheckReport r = check_row(f);
  EXPECT_EQ(suggestion_for(r, ind_cell(f, 0, "score")), nullptr);
  EXPECT_EQ(suggestion_for(r, ind_cell(f, 6, "score")), nullptr);
  EXPECT_NE(suggestion_for(r, ind_cell(f, 1, "score")), nullptr);
}

TEST(CheckerSuggestions, SuggestionsNeverModifyTheForm) {
  const FormTemplate& t = row_tmpl();
  Form f = row_form();
  set_cell(f, t, "indicators", ind_row(f, 0), "actual", "15场");
  set_cell(f, t, "indicators", ind_row(f, 0), "score", "18");
  set_cell(f, t, "indicators", ind_row(f, 0), "deviation", "5 场巡展取消。");
  set_cell(f, t, "funds", "total", "score", "");
  const std::string before = form_to_json(f, t);
  const CheckReport r = check_row(f);
  EXPECT_EQ(form_to_json(f, t), before);

  const ScoreSuggestion* s = suggestion_for(r, ind_cell(f, 0, "score"));
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->entered.has_value());
  EXPECT_EQ(s->entered->to_string(), "18");
  EXPECT_EQ(s->high.to_string(2), "15.00");
  EXPECT_EQ(f.tables.at("indicators").rows.at(0).cell("score").number.to_string(), "18");

  const ScoreSuggestion* funds = suggestion_for(r, "funds[total].score");
  ASSERT_NE(funds, nullptr);
  EXPECT_FALSE(funds->entered.has_value());  // blank stays blank
  EXPECT_EQ(funds->high.to_string(2), "9.50");
  EXPECT_TRUE(f.tables.at("funds").find("total")->cell("score").is_blank());
}

// ===========================================================================
// 项目绩效目标表: 资金支出计划, cost indicators

TEST(CheckerTargetForm, SpendingPlanMustNotDecrease) {
  Form f = target_form();
  set_cell(f, target_tmpl(), "spending_plan", "cumulative", "m10", "40%");
  const CheckReport r = check_target(f);
  const Finding& x = only(r, "PLAN.DECREASING");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "资金支出计划是累计比例，不能减少：“10月底”为 40%，低于“6月底”的 50%");
  EXPECT_EQ(x.cells, std::vector<std::string>{"spending_plan[cumulative].m10"});
  EXPECT_FALSE(has_rule(r, "PLAN.END"));
}

TEST(CheckerTargetForm, SpendingPlanMustEndAtHundred) {
  Form f = target_form();
  set_cell(f, target_tmpl(), "spending_plan", "cumulative", "m12", "90%");
  const CheckReport r = check_target(f);
  const Finding& x = only(r, "PLAN.END");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "资金支出计划到“12月底”应累计为 100%，表中为 90%");
  EXPECT_EQ(x.cells, std::vector<std::string>{"spending_plan[cumulative].m12"});
  EXPECT_FALSE(has_rule(r, "PLAN.DECREASING"));
}

TEST(CheckerTargetForm, MissingSpendingPlanValueIsAnError) {
  const FormTemplate& t = target_tmpl();
  Form f = target_form();
  set_cell(f, t, "spending_plan", "cumulative", "m06", "");
  CheckReport r = check_target(f);
  const Finding& x = only(r, "PLAN.MISSING");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "资金支出计划“6月底”的累计比例未填写");
  EXPECT_EQ(x.cells, std::vector<std::string>{"spending_plan[cumulative].m06"});

  f = target_form();
  set_cell(f, t, "spending_plan", "cumulative", "m12", "");
  r = check_target(f);
  EXPECT_EQ(only(r, "PLAN.MISSING").message, "资金支出计划“12月底”的累计比例未填写（应为 100%）");
}

TEST(CheckerTargetForm, SpendingPlanOutsideZeroToHundredIsAnError) {
  const FormTemplate& t = target_tmpl();
  Form f = target_form();
  set_cell(f, t, "spending_plan", "cumulative", "m03", "-5%");
  CheckReport r = check_target(f);
  const Finding& x = only(r, "PLAN.RANGE");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "资金支出计划“3月底”为 -5%，应在 0–100% 之间");
  EXPECT_EQ(x.cells, std::vector<std::string>{"spending_plan[cumulative].m03"});

  f = target_form();
  set_cell(f, t, "spending_plan", "cumulative", "m10", "120%");
  r = check_target(f);
  EXPECT_EQ(on_cell(r, "PLAN.RANGE", "spending_plan[cumulative].m10").message,
            "资金支出计划“10月底”为 120%，应在 0–100% 之间");
  EXPECT_TRUE(has_rule_on(r, "PLAN.DECREASING", "spending_plan[cumulative].m12"));
}

TEST(CheckerTargetForm, CostIndicatorNotInMoneyIsAHint) {
  Form f = target_form();
  set_cell(f, target_tmpl(), "indicators", ind_row(f, 1), "target", "≤5场");
  const CheckReport r = check_target(f);
  const Finding& x = only(r, "IND.COST_UNIT");
  EXPECT_EQ(x.severity, Severity::kHint);
  EXPECT_EQ(x.message, "绩效指标第 2 行“讲座成本”是成本指标，指标值通常为金额，表中为“≤5场”");
  EXPECT_EQ(x.cells, std::vector<std::string>{ind_cell(f, 1, "target")});
  EXPECT_FALSE(has_rule(check_target(target_form()), "IND.COST_UNIT"));  // "≤5万元"
}

TEST(CheckerTargetForm, TargetFormWithoutIndicatorsIsAnError) {
  Form f = target_form();
  f.tables["indicators"].rows.clear();
  const CheckReport r = check_target(f);
  const Finding& x = only(r, "IND.NONE");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "绩效指标表没有任何指标");
}

TEST(CheckerTargetForm, IndicatorRulesApplyToTargetRows) {
  const FormTemplate& t = target_tmpl();
  Form f = target_form();
  set_cell(f, t, "indicators", ind_row(f, 0), "target", "%");
  set_cell(f, t, "indicators", ind_row(f, 3), "target", "");
  const CheckReport r = check_target(f);
  EXPECT_EQ(on_cell(r, "IND.UNPARSED", ind_cell(f, 0, "target")).severity, Severity::kWarning);
  EXPECT_EQ(on_cell(r, "IND.TARGET_MISSING", ind_cell(f, 3, "target")).message, "绩效指标第 4 行“听众满意度”的指标值未填写");
  EXPECT_FALSE(has_rule(r, "IND.ACTUAL_MISSING"));  // a target form has no actuals
}

// ===========================================================================
// 部门整体支出绩效自评表 (docs/domain.md §3.2), starting from department_ok.json

TEST(CheckerDepartment, ChangedPointsAreAWarningAndBreakTheFirstLevelAndTotal) {
  Form f = dept_form();
  set_cell(f, dept_tmpl(), "scores", "goal_reasonable", "points", "5");
  const CheckReport r = check_dept(f);
  const Finding& x = only(r, "DEPT.POINTS_CHANGED");
  EXPECT_EQ(x.severity, Severity::kWarning);
  EXPECT_EQ(x.message, "“绩效目标合理性”的分值按评分标准为 4，表中为 5");
  EXPECT_EQ(x.cells, std::vector<std::string>{"scores[goal_reasonable].points"});
  const Finding& l1 = only(r, "LEVEL1.POINTS");
  EXPECT_EQ(l1.severity, Severity::kError);
  EXPECT_EQ(l1.message, "一级指标“投入”应为 20 分，其下各指标分值合计为 21 分");
  EXPECT_CONTAINS(only(r, "TOTAL.POINTS").message, "表中合计为 101 分");
}

TEST(CheckerDepartment, MissingPointsOrScoreIsAnError) {
  const FormTemplate& t = dept_tmpl();
  Form f = dept_form();
  set_cell(f, t, "scores", "key_spending", "points", "");
  CheckReport r = check_dept(f);
  const Finding& p = only(r, "DEPT.POINTS_MISSING");
  EXPECT_EQ(p.severity, Severity::kError);
  EXPECT_EQ(p.message, "“重点支出安排率”的分值未填写");
  EXPECT_EQ(p.cells, std::vector<std::string>{"scores[key_spending].points"});

  f = dept_form();
  set_cell(f, t, "scores", "key_spending", "score", "");
  r = check_dept(f);
  const Finding& s = only(r, "DEPT.SCORE_MISSING");
  EXPECT_EQ(s.severity, Severity::kError);
  EXPECT_EQ(s.message, "“重点支出安排率”的得分未填写");
  EXPECT_EQ(s.cells, std::vector<std::string>{"scores[key_spending].score"});
  EXPECT_CONTAINS(only(r, "TOTAL.SCORE").message, "总分应为各项得分之和 90.86");
}

TEST(CheckerDepartment, StaffOverPostsShrinksThePointsInProportion) {
  const FormTemplate& t = dept_tmpl();
  Form f = dept_form();
  set_field(f, t, "staff_actual", "8");
  set_field(f, t, "staff_posts", "6");
  set_cell(f, t, "scores", "staff_control", "rate", "133.33");
  CheckReport r = check_dept(f);  // score still 5
  const Finding& x = only(r, "DEPT.SCORE");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "“在职人员控制率”得分应为 3.35（8 ÷ 6 = 133%，超出 33%：5 × (1 − 33%)），表中为 5");
  EXPECT_EQ(x.cells, std::vector<std::string>{"scores[staff_control].score"});
  const ScoreSuggestion* s = suggestion_for(r, "scores[staff_control].score");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->high.to_string(2), "3.35");

  set_cell(f, t, "scores", "staff_control", "score", "3.35");
  set_field(f, t, "total_score", "93.21");
  r = check_dept(f);
  EXPECT_TRUE(r.findings.empty()) << messages(r);
  // The unrounded reading, 5 × (1 − 33.33%) = 3.33, is accepted too.
  set_cell(f, t, "scores", "staff_control", "score", "3.33");
  set_field(f, t, "total_score", "93.19");
  r = check_dept(f);
  EXPECT_TRUE(r.findings.empty()) << messages(r);
}

TEST(CheckerDepartment, FundsArrivalLosesOnePointPerPercentagePointShort) {
  Form f = dept_form();
  set_field(f, dept_tmpl(), "funds_arrived", "1260672.00");  // 98% of 1,286,400.00
  const CheckReport r = check_dept(f);                         // score still 3
  const Finding& x = on_cell(r, "DEPT.SCORE", "scores[funds_arrival].score");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_CONTAINS(x.message, "“资金到位率”得分应为 1.00");
  EXPECT_CONTAINS(x.message, "98.00%，低 2 个百分点，每点扣 1 分");
  EXPECT_EQ(on_cell(r, "DEPT.RATE", "scores[funds_arrival].rate").message,
            "“资金到位率”应为 98.00%（1,260,672.00 ÷ 1,286,400.00），表中为 100.00%");
}

TEST(CheckerDepartment, CompletionScoreIsRateTimesPoints) {
  Form f = dept_form();
  set_field(f, dept_tmpl(), "procurement_actual", "120000.00");  // 80% of 150,000.00
  const CheckReport r = check_dept(f);                             // score still 2.94
  const Finding& x = on_cell(r, "DEPT.SCORE", "scores[procurement].score");
  EXPECT_EQ(x.message, "“政府采购执行率”得分应为 2.40（“政府采购执行率” 80.00% × 分值 3），表中为 2.94");
}

TEST(CheckerDepartment, CarryoverRateAtOrAboveFivePercentCostsPoints) {
  const FormTemplate& t = dept_tmpl();
  Form f = dept_form();
  set_cell(f, t, "execution", "total", "carryover", "643.20");  // 5.00% of 12,864.00
  CheckReport r = check_dept(f);                                 // score still 1
  const Finding& x = on_cell(r, "DEPT.SCORE", "scores[carryover_rate].score");
  EXPECT_CONTAINS(x.message, "“结转结余率”得分应为 0.00");
  EXPECT_CONTAINS(x.message, "5.00%，超过 5%，每 5 个百分点扣 1 分");

  set_cell(f, t, "execution", "total", "carryover", "643.19");  // 4.9999…%
  r = check_dept(f);
  EXPECT_FALSE(has_rule_on(r, "DEPT.SCORE", "scores[carryover_rate].score")) << messages(r);
}

TEST(CheckerDepartment, FormulaRateMismatchIsAnErrorAndRoundingAHint) {
  const FormTemplate& t = dept_tmpl();
  Form f = dept_form();
  set_cell(f, t, "scores", "staff_control", "rate", "80");
  CheckReport r = check_dept(f);
  const Finding& x = only(r, "DEPT.RATE");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "“在职人员控制率”应为 85.71%（6 ÷ 7），表中为 80%");
  EXPECT_EQ(x.cells, std::vector<std::string>{"scores[staff_control].rate"});

  set_cell(f, t, "scores", "staff_control", "rate", "85.7");
  r = check_dept(f);
  EXPECT_FALSE(has_rule(r, "DEPT.RATE"));
  const Finding& y = only(r, "DEPT.RATE_PRECISION");
  EXPECT_EQ(y.severity, Severity::kHint);
  EXPECT_CONTAINS(y.message, "应为 85.71%");
  EXPECT_CONTAINS(y.message, "表中为 85.7%");
}

TEST(CheckerDepartment, RateOnlyFormulasAreCheckedWithoutScoring) {
  const FormTemplate& t = dept_tmpl();
  Form f = dept_form();
  set_cell(f, t, "scores", "cost_saving", "rate", "5.86");  // exact: (320,000 − 301,250) ÷ 320,000
  EXPECT_FALSE(has_rule(check_dept(f), "DEPT.RATE"));
  set_cell(f, t, "scores", "cost_saving", "rate", "-5.86");
  const CheckReport r = check_dept(f);
  EXPECT_EQ(only(r, "DEPT.RATE").message,
            "“成本节约率”应为 5.86%（(320,000.00 − 301,250.00) ÷ 320,000.00），表中为 -5.86%");
  EXPECT_EQ(suggestion_for(r, "scores[cost_saving].score"), nullptr);
}

TEST(CheckerDepartment, MissingFormulaInputIsAWarning) {
  Form f = dept_form();
  set_field(f, dept_tmpl(), "staff_posts", "");
  const CheckReport r = check_dept(f);
  const Finding& x = only(r, "DEPT.INPUT_MISSING");
  EXPECT_EQ(x.severity, Severity::kWarning);
  EXPECT_EQ(x.message, "计算“在职人员控制率”需要“编制数”，未填写");
  EXPECT_EQ(x.cells, std::vector<std::string>{"scores[staff_control].rate"});
  EXPECT_FALSE(has_rule(r, "DEPT.SCORE"));
}

TEST(CheckerDepartment, ZeroDivisorIsAWarning) {
  Form f = dept_form();
  set_field(f, dept_tmpl(), "sangong_budget", "0");
  const CheckReport r = check_dept(f);
  const Finding& x = only(r, "DEPT.INPUT_ZERO");
  EXPECT_EQ(x.severity, Severity::kWarning);
  EXPECT_EQ(x.message, "计算““三公经费”控制率”时除数““三公经费”预算安排数”为 0");
  EXPECT_EQ(x.cells, std::vector<std::string>{"scores[sangong_control].rate"});
}

TEST(CheckerDepartment, CarryoverRateOfTheExecutionTableIsRecomputed) {
  const FormTemplate& t = dept_tmpl();
  Form f = dept_form();
  set_cell(f, t, "execution", "basic", "carryover_rate", "0.61");
  CheckReport r = check_dept(f);
  const Finding& x = only(r, "DEPT.CARRYOVER_RATE");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "完成情况表“基本支出”的结转结余率应为 0.16%（13.65 ÷ 8,726.00），表中为 0.61%");
  EXPECT_EQ(x.cells, std::vector<std::string>{"execution[basic].carryover_rate"});

  set_cell(f, t, "execution", "basic", "carryover_rate", "0.2");
  r = check_dept(f);
  EXPECT_FALSE(has_rule(r, "DEPT.CARRYOVER_RATE"));
  const Finding& y = only(r, "DEPT.CARRYOVER_RATE_PRECISION");
  EXPECT_EQ(y.severity, Severity::kHint);
  EXPECT_CONTAINS(y.message, "应为 0.16%");
  EXPECT_CONTAINS(y.message, "表中为 0.2%");
}

TEST(CheckerDepartment, CarryoverChangeRateIsRecomputedWithItsSign) {
  const FormTemplate& t = dept_tmpl();
  Form f = dept_form();
  set_cell(f, t, "execution", "basic", "carryover_change_rate", "36.21");  // the sign forgotten
  CheckReport r = check_dept(f);
  const Finding& x = only(r, "DEPT.CARRYOVER_CHANGE");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "完成情况表“基本支出”的结转结余变动率应为 -36.21%（(13.65 − 21.40) ÷ 21.40），表中为 36.21%");
  EXPECT_EQ(x.cells, std::vector<std::string>{"execution[basic].carryover_change_rate"});

  set_cell(f, t, "execution", "basic", "carryover_change_rate", "-36.2");
  r = check_dept(f);
  EXPECT_FALSE(has_rule(r, "DEPT.CARRYOVER_CHANGE"));
  EXPECT_EQ(only(r, "DEPT.CARRYOVER_CHANGE_PRECISION").severity, Severity::kHint);
}

TEST(CheckerDepartment, ExecutionTableTotalMustEqualBothBreakdowns) {
  const FormTemplate& t = dept_tmpl();
  Form f = dept_form();
  set_cell(f, t, "execution", "src_general", "budget", "12800.00");
  const CheckReport r = check_dept(f);
  const Finding& x = only(r, "SUM.MISMATCH");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message,
            "完成情况表“预算额”列：合计应等于一般公共预算、政府性基金预算、国有资本经营预算、社会保险基金预算之和 "
            "12,800.00 + 0.00 + 0.00 + 0.00 = 12,800.00，表中为 12,864.00");
}

TEST(CheckerDepartment, GradeAndTotalRulesApplyToTheDepartmentSheet) {
  const FormTemplate& t = dept_tmpl();
  Form f = dept_form();
  set_field(f, t, "grade", "良");
  CheckReport r = check_dept(f);
  EXPECT_CONTAINS(only(r, "GRADE.MISMATCH").message, "自评等级应为“优”（总分 94.86）");
  set_field(f, t, "grade", "");
  set_field(f, t, "total_score", "");
  r = check_dept(f);
  EXPECT_EQ(only(r, "TOTAL.SCORE_MISSING").message, "总分未填写，按各项得分合计应为 94.86");
  EXPECT_FALSE(has_rule(r, "GRADE.MISSING"));  // no total, no grade to suggest
}

// ===========================================================================
// 绩效自评报告

TEST(CheckerReport, ReportWithoutSectionsIsAnError) {
  Form f = report_form();
  f.tables["sections"].rows.clear();
  const CheckReport r = check_report(f);
  const Finding& x = only(r, "REPORT.NO_SECTIONS");
  EXPECT_EQ(x.severity, Severity::kError);
  EXPECT_EQ(x.message, "报告没有任何正文部分");
}

TEST(CheckerReport, SectionWithoutBodyOrHeadingIsAWarning) {
  const FormTemplate& t = report_tmpl();
  Form f = report_form();
  const std::string second = f.tables.at("sections").rows.at(1).id;
  const std::string first = f.tables.at("sections").rows.at(0).id;
  set_cell(f, t, "sections", second, "body", "");
  set_cell(f, t, "sections", first, "heading", "");
  const CheckReport r = check_report(f);
  const Finding& body = only(r, "REPORT.SECTION_EMPTY");
  EXPECT_EQ(body.severity, Severity::kWarning);
  EXPECT_EQ(body.message, "报告第 2 部分“二、绩效目标实现情况”没有正文");
  EXPECT_EQ(body.cells, std::vector<std::string>{table_cell_id("sections", second, "body")});
  const Finding& heading = only(r, "REPORT.SECTION_HEADING");
  EXPECT_EQ(heading.severity, Severity::kWarning);
  EXPECT_EQ(heading.message, "报告第 1 部分没有标题");
  EXPECT_EQ(heading.cells, std::vector<std::string>{table_cell_id("sections", first, "heading")});
}

TEST(CheckerReport, YearInTheTitleMustBeTheFiscalYear) {
  Form f = report_form();
  set_field(f, report_tmpl(), "title", "濮阳市科学技术协会2020年度绩效自评工作报告");
  const CheckReport r = check_report(f);
  const Finding& x = only(r, "REPORT.YEAR");
  EXPECT_EQ(x.severity, Severity::kWarning);
  EXPECT_EQ(x.message, "报告标题中的年度 2020 与表单年度 2021 不一致");
  EXPECT_EQ(x.cells, std::vector<std::string>{"fields.title"});
}

TEST(CheckerReport, ReportWithoutAttachmentsIsAHint) {
  Form f = report_form();
  f.tables["attachments"].rows.clear();
  const CheckReport r = check_report(f);
  const Finding& x = only(r, "REPORT.NO_ATTACHMENTS");
  EXPECT_EQ(x.severity, Severity::kHint);
  EXPECT_CONTAINS(x.message, "没有列出附件");
}

}  // namespace
}  // namespace jixiao

namespace jixiao {
namespace {

TEST(CheckerIndicatorsNone, SelfEvaluationWithoutIndicatorsIsAnError) {
  const FormTemplate& t = testing::shipped_template("project_self_eval_row_points");
  Form f = new_blank_form(t, "", "测试单位", 2021);
  const CheckReport r = check_form(f, t);
  const auto found = r.with_rule("IND.NONE");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found.front()->severity, Severity::kError);
  testing::add_row(f, t, "indicators", {{"level1", "产出指标"}, {"level2", "数量指标"}, {"level3", "指标1"},
                                        {"target", "1个"}, {"actual", "1个"}, {"points", "90"}, {"score", "90"}});
  EXPECT_TRUE(check_form(f, t).with_rule("IND.NONE").empty());
}

}  // namespace
}  // namespace jixiao
