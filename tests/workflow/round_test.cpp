// Rounds: the finance bureau opens one with its notice, and for every
// (unit, form kind) the engine says where things stand.
#include <gtest/gtest.h>

#include "jixiao/workflow/round.h"
#include "test_support.h"

namespace jixiao::workflow {
namespace {

using testing::Flow;
using testing::People;
using testing::refusal;

class Rounds : public ::testing::Test {
 protected:
  Organisation org = testing::make_organisation();
  ManualClock clock{utc_time(2021, 3, 1, 9, 0)};
  WorkflowEngine district{testing::load_default("district-default"), org, clock};
  WorkflowEngine city{testing::load_default("city-default"), org, clock};
  People p;

  RoundSpec spec() {
    RoundSpec s;
    s.round_id = "2020-self-eval";
    s.fiscal_year = 2020;
    s.notice_number = "保财预[2021]4号";
    s.deadline = utc_time(2021, 3, 31, 16, 0);
    s.requirements = {{testing::kDistrict, {"project", "department"}},
                      {testing::kSiblingDistrict, {"project"}},
                      {testing::kCity, {"project"}}};
    return s;
  }
};

TEST_F(Rounds, FinanceBureauOpensARoundWithItsNotice) {
  const auto opened = open_round(spec(), p.finance, "pc-1", org, clock);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->round.finance_bureau, testing::kFinance);
  EXPECT_EQ(opened->round.opened_by, "f_rev");
  const AuditEvent& e = opened->event;
  EXPECT_EQ(e.kind, AuditKind::kRoundOpened);
  EXPECT_EQ(*e.field("notice_number"), "保财预[2021]4号");
  EXPECT_EQ(*e.field("fiscal_year"), "2020");
  EXPECT_EQ(*e.field("deadline"), "2021-03-31T16:00:00.000Z");
  EXPECT_EQ(*e.field("requirements"), "156101:project;156101:department;156102:project;156001:project");
}

TEST_F(Rounds, NoticeNumbersInTheUsualShapesAreAccepted) {
  for (const std::string n : {"保财预[2021]4号", "深财绩〔2020〕12号", "濮财预【2021】103号"}) {
    RoundSpec s = spec();
    s.notice_number = n;
    EXPECT_TRUE(open_round(s, p.finance, "pc", org, clock).is_ok()) << n;
  }
}

TEST_F(Rounds, OpeningIsRefusedWithTheReason) {
  struct Case {
    std::string name;
    RoundSpec spec;
    User actor;
    Refusal refusal;
    std::string message;
  };
  std::vector<Case> cases;
  cases.push_back({"city reviewer", spec(), p.city_reviewer, Refusal::kRoleNotPermitted,
                   "您的角色不能办理此操作：评价批次应由财政局审核人发起"});
  cases.push_back({"finance role at a 科协", spec(), testing::make_user("x", testing::kCity, {Role::kFinanceReviewer}),
                   Refusal::kNotActingUnit, "当前环节不由您所在的单位办理：评价批次应由财政局发起"});
  cases.push_back({"system admin", spec(), testing::make_user("admin", testing::kFinance, {Role::kSystemAdmin}),
                   Refusal::kAdminNoBusiness, "系统管理员、安全管理员、审计管理员不能办理表单业务"});
  RoundSpec bad_notice = spec();
  bad_notice.notice_number = "2021年4号";
  cases.push_back({"notice", bad_notice, p.finance, Refusal::kInvalidRound,
                   "评价批次设置有误：通知文号“2021年4号”格式不正确，应如 保财预[2021]4号"});
  RoundSpec past = spec();
  past.deadline = utc_time(2021, 2, 28);
  cases.push_back({"deadline", past, p.finance, Refusal::kInvalidRound, "评价批次设置有误：截止时间2021年2月28日已过"});
  RoundSpec year = spec();
  year.fiscal_year = 20;
  cases.push_back({"year", year, p.finance, Refusal::kInvalidRound, "评价批次设置有误：预算年度“20”不正确"});
  RoundSpec foreign = spec();
  foreign.requirements.push_back({testing::kOtherCity, {"project"}});
  cases.push_back({"foreign unit", foreign, p.finance, Refusal::kOutOfScope,
                   "该表单不在您的管辖范围内：单位“外市科协”不向本财政局报送"});
  RoundSpec no_kinds = spec();
  no_kinds.requirements[1].form_kinds.clear();
  cases.push_back({"no kinds", no_kinds, p.finance, Refusal::kInvalidRound,
                   "评价批次设置有误：没有指定单位“乙区科协”需要报送的表单"});
  RoundSpec unknown = spec();
  unknown.requirements.push_back({"999999", {"project"}});
  cases.push_back({"unknown unit", unknown, p.finance, Refusal::kInvalidRound, "评价批次设置有误：单位“999999”不存在"});

  for (const Case& c : cases) {
    const auto r = open_round(c.spec, c.actor, "pc", org, clock);
    ASSERT_FALSE(r.is_ok()) << c.name;
    EXPECT_EQ(refusal(r.status()), c.refusal) << c.name;
    EXPECT_EQ(r.status().message(), c.message) << c.name;
  }
}

TEST_F(Rounds, ProgressAnswersForEveryUnitAndFormKind) {
  const Round round = open_round(spec(), p.finance, "pc", org, clock)->round;
  std::vector<SubmissionState> subs;

  // 甲区 project: at 主席会审核.
  Flow a(district, district.new_submission("a", testing::kDistrict, "project", round.spec.round_id));
  ASSERT_TRUE(a.submit(p.preparer, testing::kLargeFen).is_ok());
  ASSERT_TRUE(a.approve(p.reviewer).is_ok());
  subs.push_back(a.state());
  // 甲区 department: returned twice, now with the finance bureau.
  Flow b(district, district.new_submission("b", testing::kDistrict, "department", round.spec.round_id));
  ASSERT_TRUE(b.submit(p.preparer, testing::kSmallFen, "h1").is_ok());
  ASSERT_TRUE(b.return_to_preparer(p.reviewer).is_ok());
  ASSERT_TRUE(b.resubmit(p.preparer, "h2", testing::kSmallFen).is_ok());
  ASSERT_TRUE(b.return_to_preparer(p.reviewer).is_ok());
  ASSERT_TRUE(b.resubmit(p.preparer, "h3", testing::kSmallFen).is_ok());
  ASSERT_TRUE(b.approve(p.reviewer).is_ok());
  ASSERT_TRUE(b.approve(p.supervisor).is_ok());
  subs.push_back(b.state());
  // 市科协 project: accepted.
  Flow c(city, city.new_submission("c", testing::kCity, "project", round.spec.round_id));
  ASSERT_TRUE(c.submit(p.city_preparer, testing::kSmallFen).is_ok());
  ASSERT_TRUE(c.approve(p.city_reviewer).is_ok());
  ASSERT_TRUE(c.accept(p.finance).is_ok());
  subs.push_back(c.state());
  // A form of another round does not count.
  subs.push_back(district.new_submission("z", testing::kSiblingDistrict, "project", "2019-self-eval"));

  const WorkflowEngine* engines[] = {&district, &city};
  auto render = [&](TimePoint now) {
    std::string out;
    for (const FormProgress& fp : round_progress(round, subs, engines, now)) {
      out += fp.unit + "/" + fp.form_kind + ": " + fp.describe() + "\n";
    }
    return out;
  };
  EXPECT_EQ(render(utc_time(2021, 3, 20)),
            "156101/project: 主席会审核（156101 会议秘书）\n"
            "156101/department: 已报送财政局，财政局审核（F001 财政局审核人），退回2次\n"
            "156102/project: 未开始\n"
            "156001/project: 已受理\n");
  EXPECT_EQ(render(utc_time(2021, 4, 1)),
            "156101/project: 主席会审核（156101 会议秘书），已逾期\n"
            "156101/department: 已报送财政局，财政局审核（F001 财政局审核人），退回2次\n"
            "156102/project: 未开始，已逾期\n"
            "156001/project: 已受理\n");

  // A returned form and a draft say so; the least advanced form of a kind speaks for it.
  ASSERT_TRUE(a.return_to_preparer(p.chair_secretary, "会议未通过").is_ok());
  subs[0] = a.state();
  Flow a2(district, district.new_submission("a2", testing::kDistrict, "project", round.spec.round_id));
  subs.push_back(a2.state());
  const auto progress = round_progress(round, subs, engines, utc_time(2021, 3, 20));
  EXPECT_EQ(progress[0].kind, ProgressKind::kDraft);
  EXPECT_EQ(progress[0].submissions, 2U);
  EXPECT_EQ(progress[0].describe(), "草稿，退回1次");
  subs.pop_back();
  EXPECT_EQ(round_progress(round, subs, engines, utc_time(2021, 3, 20))[0].describe(), "已退回，退回1次");
}

// A stage with nobody to act at it says so right after who holds the form.
TEST(RoundProgress, AnUnassignedHolderIsDescribedAsWaitingForReassignment) {
  FormProgress fp;
  fp.unit = "156101";
  fp.form_kind = "project";
  fp.kind = ProgressKind::kInReview;
  fp.submissions = 1;
  fp.holder = Holder{"unit_review", "单位审核", Role::kUnitReviewer, "156101"};
  EXPECT_FALSE(fp.unassigned);  // the default: what an older server's report reads as
  EXPECT_EQ(fp.describe(), "单位审核（156101 单位审核人）");
  fp.unassigned = true;
  fp.return_count = 1;
  fp.overdue = true;
  EXPECT_EQ(fp.describe(), "单位审核（156101 单位审核人），待重新指派，退回1次，已逾期");
  fp.kind = ProgressKind::kSubmittedToFinance;
  fp.holder = Holder{"finance_review", "财政局审核", Role::kFinanceReviewer, "F001"};
  fp.return_count = 0;
  fp.overdue = false;
  EXPECT_EQ(fp.describe(), "已报送财政局，财政局审核（F001 财政局审核人），待重新指派");
}

}  // namespace
}  // namespace jixiao::workflow
