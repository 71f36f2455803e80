// Every path through the default definitions: straight through with and
// without the meeting stages, a return from every stage, the finance
// bureau's return to each earlier stage, and withdrawal.
#include <gtest/gtest.h>

#include <map>

#include "test_support.h"

namespace jixiao::workflow {
namespace {

using testing::Flow;
using testing::kLargeFen;
using testing::kSmallFen;
using testing::People;

class WorkflowPaths : public ::testing::Test {
 protected:
  Organisation org = testing::make_organisation();
  ManualClock clock{utc_time(2021, 3, 1, 9, 0)};
  WorkflowEngine district{testing::load_default("district-default"), org, clock};
  WorkflowEngine city{testing::load_default("city-default"), org, clock};
  People p;

  Flow district_flow() { return Flow(district, district.new_submission("s1", testing::kDistrict, "project")); }
  Flow city_flow() { return Flow(city, city.new_submission("s2", testing::kCity, "project")); }

  // Who acts at each stage.
  const User& district_actor(const std::string& stage) {
    static const std::map<std::string, User People::*> by_stage = {
        {"unit_review", &People::reviewer},        {"chair_meeting", &People::chair_secretary},
        {"party_meeting", &People::party_secretary}, {"supervisor_review", &People::supervisor},
        {"finance_review", &People::finance}};
    return p.*by_stage.at(stage);
  }
  const User& city_actor(const std::string& stage) {
    static const std::map<std::string, User People::*> by_stage = {
        {"unit_review", &People::city_reviewer},
        {"chair_meeting", &People::city_chair_secretary},
        {"party_meeting", &People::city_party_secretary},
        {"finance_review", &People::finance}};
    return p.*by_stage.at(stage);
  }

  // Passes stages until the flow reaches `stage` (or is accepted).
  void advance_to(Flow& f, bool is_city, const std::string& stage) {
    while (f.state().phase == Phase::kInReview && f.position() != stage) {
      const User& actor = is_city ? city_actor(f.position()) : district_actor(f.position());
      ASSERT_TRUE(f.approve(actor).is_ok()) << f.position();
    }
  }
  void finish(Flow& f, bool is_city) {
    advance_to(f, is_city, "finance_review");
    ASSERT_TRUE(f.accept(p.finance).is_ok());
  }
};

TEST_F(WorkflowPaths, DistrictFormOfTwoWanYuanOrMorePassesBothMeetingsThenParentThenFinance) {
  Flow f = district_flow();
  ASSERT_TRUE(f.submit(p.preparer, kLargeFen).is_ok());
  finish(f, false);
  EXPECT_EQ(f.trail(),
            "submit draft->unit_review; approve unit_review->chair_meeting; "
            "approve chair_meeting->party_meeting; approve party_meeting->supervisor_review; "
            "approve supervisor_review->finance_review; accept finance_review->accepted");
  EXPECT_EQ(f.state().phase, Phase::kAccepted);
  EXPECT_EQ(f.state().version, 6U);
  EXPECT_EQ(f.state().accepted_at, clock.now());
}

TEST_F(WorkflowPaths, DistrictFormBelowThresholdSkipsTheMeetings) {
  Flow f = district_flow();
  ASSERT_TRUE(f.submit(p.preparer, kSmallFen).is_ok());
  finish(f, false);
  EXPECT_EQ(f.trail(),
            "submit draft->unit_review; approve unit_review->supervisor_review; "
            "approve supervisor_review->finance_review; accept finance_review->accepted");
}

TEST_F(WorkflowPaths, ThresholdIsReachedAtExactlyTwoWanYuan) {
  Flow at = district_flow();
  ASSERT_TRUE(at.submit(p.preparer, 2'000'000).is_ok());
  ASSERT_TRUE(at.approve(p.reviewer).is_ok());
  EXPECT_EQ(at.position(), "chair_meeting");

  Flow below = district_flow();
  ASSERT_TRUE(below.submit(p.preparer, 1'999'999).is_ok());
  ASSERT_TRUE(below.approve(p.reviewer).is_ok());
  EXPECT_EQ(below.position(), "supervisor_review");
}

TEST_F(WorkflowPaths, ThresholdIsASettingOfTheDefinition) {
  WorkflowDefinition d = testing::load_default("district-default");
  d.meeting_threshold_fen = 10'000'000;  // 10万元
  WorkflowEngine engine(d, org, clock);
  Flow f(engine, engine.new_submission("s", testing::kDistrict, "project"));
  ASSERT_TRUE(f.submit(p.preparer, kLargeFen).is_ok());
  ASSERT_TRUE(f.approve(p.reviewer).is_ok());
  EXPECT_EQ(f.position(), "supervisor_review");
}

TEST_F(WorkflowPaths, CityFormHasNoParentStage) {
  Flow large = city_flow();
  ASSERT_TRUE(large.submit(p.city_preparer, kLargeFen).is_ok());
  finish(large, true);
  EXPECT_EQ(large.trail(),
            "submit draft->unit_review; approve unit_review->chair_meeting; "
            "approve chair_meeting->party_meeting; approve party_meeting->finance_review; "
            "accept finance_review->accepted");

  Flow small = city_flow();
  ASSERT_TRUE(small.submit(p.city_preparer, kSmallFen).is_ok());
  finish(small, true);
  EXPECT_EQ(small.trail(),
            "submit draft->unit_review; approve unit_review->finance_review; accept finance_review->accepted");
}

TEST_F(WorkflowPaths, ReturnFromEveryStageGoesBackToThePreparerWithItsReason) {
  for (const bool is_city : {false, true}) {
    const WorkflowEngine& engine = is_city ? city : district;
    for (const StageDefinition& stage : engine.definition().stages) {
      SCOPED_TRACE(engine.definition().id + " / " + stage.id);
      Flow f = is_city ? city_flow() : district_flow();
      const User& preparer = is_city ? p.city_preparer : p.preparer;
      ASSERT_TRUE(f.submit(preparer, kLargeFen, "h1").is_ok());
      advance_to(f, is_city, stage.id);
      ASSERT_EQ(f.position(), stage.id);

      const User& returner = is_city ? city_actor(stage.id) : district_actor(stage.id);
      ASSERT_TRUE(f.return_to_preparer(returner, "第3行执行率计算有误").is_ok());
      EXPECT_EQ(f.state().phase, Phase::kReturned);
      EXPECT_EQ(f.state().return_count, 1U);
      EXPECT_EQ(f.state().last_return_reason, "第3行执行率计算有误");
      EXPECT_EQ(f.state().last_returned_from, stage.id);
      EXPECT_TRUE(f.state().signoffs.empty());
      const AuditEvent& ret = f.events().back();
      EXPECT_EQ(ret.action, "return");
      EXPECT_EQ(*ret.field("reason"), "第3行执行率计算有误");
      EXPECT_EQ(*ret.field("return_to"), "preparer");
      EXPECT_EQ(*ret.field("from"), stage.id);
      // The preparer may edit again, fix and resubmit; it starts over.
      EXPECT_TRUE(engine.check_edit(f.state(), preparer).is_ok());
      ASSERT_TRUE(f.resubmit(preparer, "h2").is_ok());
      EXPECT_EQ(f.position(), "unit_review");
      EXPECT_EQ(f.state().content_hash, "h2");
      EXPECT_EQ(f.state().submit_count, 2U);
      finish(f, is_city);
      EXPECT_EQ(f.state().phase, Phase::kAccepted);
      EXPECT_EQ(f.state().return_count, 1U);
    }
  }
}

TEST_F(WorkflowPaths, FinanceBureauMayReturnToEachEarlierStage) {
  for (const std::string target : {"unit_review", "chair_meeting", "party_meeting", "supervisor_review"}) {
    SCOPED_TRACE(target);
    Flow f = district_flow();
    ASSERT_TRUE(f.submit(p.preparer).is_ok());
    advance_to(f, false, "finance_review");
    ASSERT_TRUE(f.return_to_stage(p.finance, target, "请补充会议纪要").is_ok());
    EXPECT_EQ(f.state().phase, Phase::kInReview);
    EXPECT_EQ(f.position(), target);
    EXPECT_EQ(f.state().return_count, 1U);
    EXPECT_EQ(*f.events().back().field("return_to"), target);
    // Stages before the target stay passed; the target and later are passed again.
    const auto target_index = *district.definition().stage_index(target);
    for (const StageSignoff& so : f.state().signoffs) {
      EXPECT_LT(*district.definition().stage_index(so.stage_id), target_index) << so.stage_id;
    }
    // Content did not change, so the preparer still may not edit.
    EXPECT_EQ(testing::refusal(district.check_edit(f.state(), p.preparer)), Refusal::kNotEditableInState);
    finish(f, false);
    EXPECT_EQ(f.state().phase, Phase::kAccepted);
  }
}

TEST_F(WorkflowPaths, SubmitterMayWithdrawUntilTheFirstStageActs) {
  Flow f = district_flow();
  ASSERT_TRUE(f.submit(p.preparer, kLargeFen, "h1").is_ok());
  ASSERT_TRUE(f.withdraw(p.preparer).is_ok());
  EXPECT_EQ(f.state().phase, Phase::kDraft);
  EXPECT_TRUE(district.check_edit(f.state(), p.preparer).is_ok());
  ASSERT_TRUE(f.submit(p.preparer, kLargeFen, "h2").is_ok());
  EXPECT_EQ(f.state().submit_count, 2U);
  finish(f, false);
  EXPECT_EQ(f.trail(),
            "submit draft->unit_review; withdraw unit_review->draft; submit draft->unit_review; "
            "approve unit_review->chair_meeting; approve chair_meeting->party_meeting; "
            "approve party_meeting->supervisor_review; approve supervisor_review->finance_review; "
            "accept finance_review->accepted");
}

TEST_F(WorkflowPaths, WithdrawAfterTheFirstStageActedIsRefused) {
  Flow f = district_flow();
  ASSERT_TRUE(f.submit(p.preparer).is_ok());
  ASSERT_TRUE(f.approve(p.reviewer).is_ok());
  const Status s = f.withdraw(p.preparer);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(testing::refusal(s), Refusal::kWithdrawTooLate);
  EXPECT_EQ(s.message(), "下一环节已经办理，不能撤回");
}

TEST_F(WorkflowPaths, WithdrawAfterAReturnToAnEarlierStageIsRefused) {
  Flow f = district_flow();
  ASSERT_TRUE(f.submit(p.preparer, kSmallFen).is_ok());
  advance_to(f, false, "finance_review");
  ASSERT_TRUE(f.return_to_stage(p.finance, "unit_review").is_ok());
  EXPECT_EQ(testing::refusal(f.withdraw(p.preparer)), Refusal::kWithdrawTooLate);
}

TEST_F(WorkflowPaths, OnlyTheSubmitterMayWithdraw) {
  Flow f = district_flow();
  ASSERT_TRUE(f.submit(p.preparer).is_ok());
  const Status s = f.withdraw(p.preparer2);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(testing::refusal(s), Refusal::kNotSubmitter);
}

TEST_F(WorkflowPaths, ReturnedTwiceCountsBoth) {
  Flow f = district_flow();
  ASSERT_TRUE(f.submit(p.preparer, kSmallFen, "h1").is_ok());
  ASSERT_TRUE(f.return_to_preparer(p.reviewer).is_ok());
  ASSERT_TRUE(f.resubmit(p.preparer, "h2", kSmallFen).is_ok());
  advance_to(f, false, "finance_review");
  ASSERT_TRUE(f.return_to_preparer(p.finance, "缺少附件").is_ok());
  EXPECT_EQ(f.state().return_count, 2U);
  EXPECT_EQ(f.state().last_return_reason, "缺少附件");
  EXPECT_EQ(f.state().last_returned_from, "finance_review");
}

TEST_F(WorkflowPaths, HolderNamesStageRoleAndUnit) {
  Flow f = district_flow();
  auto h = district.holder(f.state());
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->stage_name, "草稿");
  EXPECT_EQ(h->role, Role::kPreparer);
  ASSERT_TRUE(f.submit(p.preparer, kSmallFen).is_ok());
  advance_to(f, false, "supervisor_review");
  h = district.holder(f.state());
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->stage_name, "上级审核");
  EXPECT_EQ(h->role, Role::kSupervisor);
  EXPECT_EQ(h->unit, testing::kCity);
  advance_to(f, false, "finance_review");
  EXPECT_EQ(district.holder(f.state())->unit, testing::kFinance);
  EXPECT_TRUE(f.state().reached_finance_at.has_value());
  ASSERT_TRUE(f.accept(p.finance).is_ok());
  EXPECT_FALSE(district.holder(f.state()).has_value());
}

}  // namespace
}  // namespace jixiao::workflow
