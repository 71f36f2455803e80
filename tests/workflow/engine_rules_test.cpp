// The rules the server enforces whatever a client sends: separation of
// duties, approvals bound to content, reasons and evidence, who edits when,
// and the audit events each action produces.
#include <gtest/gtest.h>

#include "test_support.h"

namespace jixiao::workflow {
namespace {

using testing::Flow;
using testing::kLargeFen;
using testing::kSmallFen;
using testing::People;
using testing::refusal;

class Workflow : public ::testing::Test {
 protected:
  Organisation org = testing::make_organisation();
  ManualClock clock{utc_time(2021, 3, 1, 9, 0)};
  WorkflowEngine engine{testing::load_default("district-default"), org, clock};
  People p;

  Flow flow() { return Flow(engine, engine.new_submission("s1", testing::kDistrict, "project")); }
};

TEST_F(Workflow, ReviewerCannotApproveOwnSubmission) {
  const User both = testing::make_user("d_both", testing::kDistrict, {Role::kPreparer, Role::kUnitReviewer});
  Flow f = flow();
  ASSERT_TRUE(f.submit(both).is_ok());
  const Status s = f.approve(both);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(refusal(s), Refusal::kSelfReview);
  EXPECT_EQ(s.message(), "您不能审核自己提交的表单");
  // Nor return it (that is withdrawing, which has its own rule).
  EXPECT_EQ(refusal(f.return_to_preparer(both)), Refusal::kSelfReview);
  // Another reviewer may.
  EXPECT_TRUE(f.approve(p.reviewer).is_ok());
}

TEST_F(Workflow, SubmitterOfAnEarlierVersionMayReviewAVersionSomeoneElseSubmitted) {
  const User both = testing::make_user("d_both", testing::kDistrict, {Role::kPreparer, Role::kUnitReviewer});
  Flow f = flow();
  ASSERT_TRUE(f.submit(both, kSmallFen, "h1").is_ok());
  ASSERT_TRUE(f.return_to_preparer(p.reviewer).is_ok());
  ASSERT_TRUE(f.resubmit(p.preparer, "h2", kSmallFen).is_ok());
  EXPECT_TRUE(f.approve(both).is_ok());
}

TEST_F(Workflow, OnePersonCannotPassTwoConsecutiveStages) {
  const User versatile =
      testing::make_user("d_multi", testing::kDistrict, {Role::kUnitReviewer, Role::kMeetingSecretary});
  Flow f = flow();
  ASSERT_TRUE(f.submit(p.preparer, kLargeFen).is_ok());
  ASSERT_TRUE(f.approve(versatile).is_ok());
  ASSERT_EQ(f.position(), "chair_meeting");
  const Status s = f.approve(versatile);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(refusal(s), Refusal::kConsecutiveStages);
  EXPECT_EQ(s.message(), "同一人不能连续审核同一次提交的两个环节");
  // The same secretary recording both meetings is two consecutive stages too.
  ASSERT_TRUE(f.approve(p.chair_secretary).is_ok());
  EXPECT_EQ(refusal(f.approve(p.chair_secretary)), Refusal::kConsecutiveStages);
}

TEST_F(Workflow, OnePersonMayPassTwoStagesThatAreNotConsecutive) {
  const User versatile =
      testing::make_user("d_multi", testing::kDistrict, {Role::kUnitReviewer, Role::kMeetingSecretary});
  Flow f = flow();
  ASSERT_TRUE(f.submit(p.preparer, kLargeFen).is_ok());
  ASSERT_TRUE(f.approve(versatile).is_ok());
  ASSERT_TRUE(f.approve(p.chair_secretary).is_ok());
  EXPECT_TRUE(f.approve(versatile).is_ok());
  EXPECT_EQ(f.position(), "supervisor_review");
}

TEST_F(Workflow, ReturningAfterPassingThePreviousStageIsAllowed) {
  const User versatile =
      testing::make_user("d_multi", testing::kDistrict, {Role::kUnitReviewer, Role::kMeetingSecretary});
  Flow f = flow();
  ASSERT_TRUE(f.submit(p.preparer, kLargeFen).is_ok());
  ASSERT_TRUE(f.approve(versatile).is_ok());
  EXPECT_TRUE(f.return_to_preparer(versatile, "会议未通过").is_ok());
}

TEST_F(Workflow, ReturnMustCarryAReason) {
  Flow f = flow();
  ASSERT_TRUE(f.submit(p.preparer).is_ok());
  for (const std::string reason : {"", "   ", "\u3000"}) {
    const Status s = f.return_to_preparer(p.reviewer, reason);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(refusal(s), Refusal::kReturnReasonRequired);
    EXPECT_EQ(s.message(), "退回必须填写原因");
  }
  EXPECT_EQ(f.state().phase, Phase::kInReview);
}

TEST_F(Workflow, ApprovalOfAVersionChangedSinceTheReviewerSawItIsRefused) {
  Flow f = flow();
  ASSERT_TRUE(f.submit(p.preparer, kLargeFen, "h1").is_ok());
  // The reviewer opens version h1 …
  const Command seen = f.command(Action::kApprove, p.reviewer);
  // … meanwhile the preparer withdraws, edits and submits h2.
  ASSERT_TRUE(f.withdraw(p.preparer).is_ok());
  ASSERT_TRUE(f.submit(p.preparer, kLargeFen, "h2").is_ok());
  ASSERT_EQ(f.position(), "unit_review");

  const Status s = f.run(seen);
  EXPECT_EQ(s.code(), StatusCode::kConflict);
  EXPECT_EQ(refusal(s), Refusal::kStaleContent);
  EXPECT_EQ(s.message(), "该表单在您审阅后已被修改，请审核最新版本");
  EXPECT_EQ(f.position(), "unit_review");
  // Approving what is there now works.
  EXPECT_TRUE(f.approve(p.reviewer).is_ok());
}

TEST_F(Workflow, ReturnAndAcceptAreBoundToTheContentHashToo) {
  Flow f = flow();
  ASSERT_TRUE(f.submit(p.preparer, kSmallFen, "h1").is_ok());
  Command ret = f.command(Action::kReturn, p.reviewer);
  ret.reason = "有误";
  ret.content_hash = "h0";
  EXPECT_EQ(refusal(f.run(ret)), Refusal::kStaleContent);
  ASSERT_TRUE(f.approve(p.reviewer).is_ok());
  ASSERT_TRUE(f.approve(p.supervisor).is_ok());
  Command accept = f.command(Action::kAccept, p.finance);
  accept.content_hash = "h0";
  EXPECT_EQ(refusal(f.run(accept)), Refusal::kStaleContent);
}

TEST_F(Workflow, ReviewWithoutAContentHashIsRefused) {
  Flow f = flow();
  ASSERT_TRUE(f.submit(p.preparer).is_ok());
  Command c = f.command(Action::kApprove, p.reviewer);
  c.content_hash.clear();
  EXPECT_EQ(refusal(f.run(c)), Refusal::kContentHashRequired);
}

TEST_F(Workflow, RequestOnAnOutdatedStateIsRefusedWithConflict) {
  Flow f = flow();
  ASSERT_TRUE(f.submit(p.preparer, kLargeFen).is_ok());
  Command late = f.command(Action::kApprove, p.reviewer2);
  ASSERT_TRUE(f.approve(p.reviewer).is_ok());
  const Status s = f.run(late);
  EXPECT_EQ(s.code(), StatusCode::kConflict);
  EXPECT_EQ(refusal(s), Refusal::kStateChanged);
  EXPECT_EQ(s.message(), "该表单已被他人处理，请刷新后重试");
}

TEST_F(Workflow, SubmitNeedsAContentHashAndAValidAmount) {
  Flow f = flow();
  EXPECT_EQ(refusal(f.submit(p.preparer, kLargeFen, "")), Refusal::kContentHashRequired);
  EXPECT_EQ(refusal(f.submit(p.preparer, -1, "h1")), Refusal::kInvalidAmount);
  EXPECT_EQ(f.state().phase, Phase::kDraft);
}

TEST_F(Workflow, MeetingStageNeedsEveryPieceOfEvidence) {
  Flow f = flow();
  ASSERT_TRUE(f.submit(p.preparer, kLargeFen).is_ok());
  ASSERT_TRUE(f.approve(p.reviewer).is_ok());
  ASSERT_EQ(f.position(), "chair_meeting");

  Command none = f.command(Action::kApprove, p.chair_secretary);
  const Status missing = f.run(none);
  EXPECT_EQ(missing.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refusal(missing), Refusal::kEvidenceIncomplete);
  EXPECT_EQ(missing.message(), "会议环节必须填写完整的会议记录：缺少会议记录");

  struct Case {
    std::string MeetingEvidence::*field;
    std::string message;
  };
  for (const Case& c : {Case{&MeetingEvidence::meeting_kind, "会议环节必须填写完整的会议记录：缺少会议类型"},
                        Case{&MeetingEvidence::date, "会议环节必须填写完整的会议记录：缺少会议日期"},
                        Case{&MeetingEvidence::session, "会议环节必须填写完整的会议记录：缺少会议届次"},
                        Case{&MeetingEvidence::minutes_number, "会议环节必须填写完整的会议记录：缺少会议纪要号"},
                        Case{&MeetingEvidence::decision, "会议环节必须填写完整的会议记录：缺少会议决定"}}) {
    Command cmd = f.command(Action::kApprove, p.chair_secretary);
    cmd.evidence = testing::meeting_evidence("主席会");
    (*cmd.evidence).*c.field = " ";
    const Status s = f.run(cmd);
    EXPECT_EQ(refusal(s), Refusal::kEvidenceIncomplete);
    EXPECT_EQ(s.message(), c.message);
  }

  Command bad_date = f.command(Action::kApprove, p.chair_secretary);
  bad_date.evidence = testing::meeting_evidence("主席会");
  bad_date.evidence->date = "2021-02-30";
  EXPECT_EQ(refusal(f.run(bad_date)), Refusal::kEvidenceIncomplete);

  Command wrong_meeting = f.command(Action::kApprove, p.chair_secretary);
  wrong_meeting.evidence = testing::meeting_evidence("党组会");
  const Status mismatch = f.run(wrong_meeting);
  EXPECT_EQ(refusal(mismatch), Refusal::kEvidenceMismatch);
  EXPECT_EQ(mismatch.message(), "会议记录与本环节不符：本环节需要主席会的记录，收到的是党组会的记录");

  EXPECT_EQ(f.position(), "chair_meeting");
}

TEST_F(Workflow, MeetingEvidenceIsRecordedInTheAuditEvent) {
  Flow f = flow();
  ASSERT_TRUE(f.submit(p.preparer, kLargeFen).is_ok());
  ASSERT_TRUE(f.approve(p.reviewer).is_ok());
  ASSERT_TRUE(f.approve(p.chair_secretary).is_ok());
  ASSERT_TRUE(f.approve(p.party_secretary).is_ok());
  const AuditEvent& party = f.events().back();
  EXPECT_EQ(party.kind, AuditKind::kWorkflowAction);
  EXPECT_EQ(party.actor, "d_party_sec");
  EXPECT_EQ(party.device, "dev-d_party_sec");
  EXPECT_EQ(party.subject, "s1");
  EXPECT_EQ(*party.field("meeting_kind"), "党组会");
  EXPECT_EQ(*party.field("meeting_date"), "2021-03-15");
  EXPECT_EQ(*party.field("meeting_session"), "第15次党组会");
  EXPECT_EQ(*party.field("minutes_number"), "党纪〔2021〕15号");
  EXPECT_EQ(*party.field("decision"), "同意报送");
  EXPECT_EQ(*party.field("attachment_hashes"), "sm3:9a1f,sm3:77c0");
  EXPECT_EQ(*party.field("content_hash"), "h1");
  EXPECT_EQ(*party.field("state_version"), "4");
  EXPECT_EQ(party.at, clock.now());
}

TEST_F(Workflow, EveryTransitionIsStampedWithTheInjectedClock) {
  Flow f = flow();
  ASSERT_TRUE(f.submit(p.preparer, kSmallFen).is_ok());
  clock.advance(std::chrono::hours(26));
  ASSERT_TRUE(f.approve(p.reviewer).is_ok());
  EXPECT_EQ(f.state().first_submitted_at, utc_time(2021, 3, 1, 9, 0));
  EXPECT_EQ(f.state().updated_at, utc_time(2021, 3, 2, 11, 0));
  EXPECT_EQ(f.events().back().at, utc_time(2021, 3, 2, 11, 0));
}

TEST_F(Workflow, OnlyTheFinanceBureauMayChooseTheStageToReturnTo) {
  Flow f = flow();
  ASSERT_TRUE(f.submit(p.preparer, kLargeFen).is_ok());
  ASSERT_TRUE(f.approve(p.reviewer).is_ok());
  ASSERT_TRUE(f.approve(p.chair_secretary).is_ok());
  const Status s = f.return_to_stage(p.party_secretary, "unit_review");
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(refusal(s), Refusal::kReturnTargetNotPermitted);
}

TEST_F(Workflow, FinanceBureauReturnsOnlyToAnEarlierStageTheFormPassed) {
  Flow f = flow();
  ASSERT_TRUE(f.submit(p.preparer, kSmallFen).is_ok());
  ASSERT_TRUE(f.approve(p.reviewer).is_ok());
  ASSERT_TRUE(f.approve(p.supervisor).is_ok());
  // Meetings were skipped for 1万元, the stage itself is not earlier, and an
  // unknown id is no stage at all.
  for (const std::string target : {"chair_meeting", "party_meeting", "finance_review", "no_such_stage"}) {
    const Status s = f.return_to_stage(p.finance, target);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << target;
    EXPECT_EQ(refusal(s), Refusal::kReturnTargetInvalid) << target;
  }
  EXPECT_TRUE(f.return_to_stage(p.finance, "supervisor_review").is_ok());
}

TEST_F(Workflow, PreparerEditsOnlyInDraftOrAfterAReturn) {
  Flow f = flow();
  EXPECT_TRUE(engine.check_edit(f.state(), p.preparer).is_ok());
  EXPECT_TRUE(engine.check_edit(f.state(), p.preparer2).is_ok());  // any preparer of the unit
  ASSERT_TRUE(f.submit(p.preparer, kSmallFen).is_ok());
  const Status in_review = engine.check_edit(f.state(), p.preparer);
  EXPECT_EQ(in_review.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refusal(in_review), Refusal::kNotEditableInState);
  EXPECT_EQ(in_review.message(), "表单已提交审核，只有草稿或被退回的表单可以修改：当前为“单位审核”");
  ASSERT_TRUE(f.return_to_preparer(p.reviewer).is_ok());
  EXPECT_TRUE(engine.check_edit(f.state(), p.preparer).is_ok());
  ASSERT_TRUE(f.resubmit(p.preparer, "h2", kSmallFen).is_ok());
  ASSERT_TRUE(f.approve(p.reviewer).is_ok());
  ASSERT_TRUE(f.approve(p.supervisor).is_ok());
  ASSERT_TRUE(f.accept(p.finance).is_ok());
  EXPECT_EQ(refusal(engine.check_edit(f.state(), p.preparer)), Refusal::kNotEditableInState);
}

TEST_F(Workflow, ReviewersCommentButDoNotChangeContent) {
  Flow f = flow();
  ASSERT_TRUE(f.submit(p.preparer, kSmallFen).is_ok());
  for (const User* u : {&p.reviewer, &p.supervisor, &p.finance}) {
    EXPECT_TRUE(engine.check_comment(f.state(), *u).is_ok()) << u->id;
    const Status edit = engine.check_edit(f.state(), *u);
    EXPECT_EQ(edit.code(), StatusCode::kPermissionDenied) << u->id;
    EXPECT_EQ(refusal(edit), Refusal::kEditNotPermitted) << u->id;
  }
  // Even in draft, a reviewer does not edit, and a preparer of another unit
  // in reach (the city) does not either.
  Flow draft = flow();
  EXPECT_EQ(refusal(engine.check_edit(draft.state(), p.reviewer)), Refusal::kEditNotPermitted);
  EXPECT_EQ(refusal(engine.check_edit(draft.state(), p.city_preparer)), Refusal::kEditNotPermitted);
  const User sibling = testing::make_user("d2_prep", testing::kSiblingDistrict, {Role::kPreparer});
  EXPECT_EQ(refusal(engine.check_edit(draft.state(), sibling)), Refusal::kOutOfScope);
  EXPECT_EQ(refusal(engine.check_comment(draft.state(), sibling)), Refusal::kOutOfScope);
}

TEST_F(Workflow, StateFromAnotherDefinitionVersionIsRefused) {
  Flow f = flow();
  SubmissionState s = f.state();
  s.definition_version = 2;
  Command c = f.command(Action::kSubmit, p.preparer);
  c.content_hash = "h1";
  const auto r = engine.apply(s, c);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refusal(r.status()), Refusal::kDefinitionMismatch);
}

TEST_F(Workflow, RefusalEventRecordsWhoAskedWhatAndWhy) {
  Flow f = flow();
  ASSERT_TRUE(f.submit(p.preparer).is_ok());
  Command c = f.command(Action::kReturn, p.reviewer);
  const auto r = engine.apply(f.state(), c);
  ASSERT_FALSE(r.is_ok());
  const AuditEvent e = engine.refusal_event(f.state(), c, r.status());
  EXPECT_EQ(e.kind, AuditKind::kRefusal);
  EXPECT_EQ(e.actor, "d_rev");
  EXPECT_EQ(e.action, "return");
  EXPECT_EQ(e.subject, "s1");
  EXPECT_EQ(*e.field("refusal_code"), "301");
  EXPECT_EQ(*e.field("refusal_key"), "return_reason_required");
  EXPECT_EQ(*e.field("status"), "invalid_argument");
  EXPECT_EQ(*e.field("message"), "退回必须填写原因");
  EXPECT_EQ(*e.field("at_position"), "unit_review");
}

TEST(WorkflowAuditEvents, ContentChangeAndLoginCarryTheirDetails) {
  const TimePoint t = utc_time(2021, 3, 1, 9, 30);
  const AuditEvent change = content_change_event(t, "d_prep", "laptop-7", "form-1", "/tables/funds/rows/0/executed",
                                                 "8086475.64", "8086476.64");
  EXPECT_EQ(change.kind, AuditKind::kContentChange);
  EXPECT_EQ(change.device, "laptop-7");
  EXPECT_EQ(*change.field("cell"), "/tables/funds/rows/0/executed");
  EXPECT_EQ(*change.field("old"), "8086475.64");
  EXPECT_EQ(*change.field("new"), "8086476.64");
  const AuditEvent login = login_event(t, "d_prep", "laptop-7", "bad_password");
  EXPECT_EQ(login.kind, AuditKind::kLogin);
  EXPECT_EQ(*login.field("outcome"), "bad_password");
}

TEST(WorkflowRefusals, CodesAndKeysNeverChange) {
  // Appending is fine; changing any line here breaks clients and old logs.
  const std::pair<Refusal, std::pair<int, const char*>> table[] = {
      {Refusal::kUserDisabled, {101, "user_disabled"}},
      {Refusal::kConflictingRoles, {102, "conflicting_roles"}},
      {Refusal::kAdminNoBusiness, {103, "admin_no_business"}},
      {Refusal::kOutOfScope, {104, "out_of_scope"}},
      {Refusal::kRoleNotPermitted, {105, "role_not_permitted"}},
      {Refusal::kNotActingUnit, {106, "not_acting_unit"}},
      {Refusal::kSelfReview, {107, "self_review"}},
      {Refusal::kConsecutiveStages, {108, "consecutive_stages"}},
      {Refusal::kNotSubmitter, {109, "not_submitter"}},
      {Refusal::kReturnTargetNotPermitted, {110, "return_target_not_permitted"}},
      {Refusal::kEditNotPermitted, {111, "edit_not_permitted"}},
      {Refusal::kActionNotAllowedInState, {201, "action_not_allowed_in_state"}},
      {Refusal::kWithdrawTooLate, {202, "withdraw_too_late"}},
      {Refusal::kNotEditableInState, {203, "not_editable_in_state"}},
      {Refusal::kDefinitionMismatch, {204, "definition_mismatch"}},
      {Refusal::kNoActingUnit, {205, "no_acting_unit"}},
      {Refusal::kReturnReasonRequired, {301, "return_reason_required"}},
      {Refusal::kEvidenceIncomplete, {302, "evidence_incomplete"}},
      {Refusal::kEvidenceMismatch, {303, "evidence_mismatch"}},
      {Refusal::kReturnTargetInvalid, {304, "return_target_invalid"}},
      {Refusal::kContentHashRequired, {305, "content_hash_required"}},
      {Refusal::kInvalidAmount, {306, "invalid_amount"}},
      {Refusal::kInvalidRound, {307, "invalid_round"}},
      {Refusal::kStaleContent, {401, "stale_content"}},
      {Refusal::kStateChanged, {402, "state_changed"}},
  };
  for (const auto& [r, expected] : table) {
    EXPECT_EQ(static_cast<int>(r), expected.first);
    EXPECT_EQ(refusal_key(r), expected.second);
    const Status s = refuse(r, "detail");
    EXPECT_EQ(refusal_of(s), r);
    EXPECT_EQ(s.detail(), "WF" + std::to_string(expected.first) + " " + expected.second + ": detail");
    // A location added on the way out does not hide the code.
    EXPECT_EQ(refusal_of(s.with_location("/forms/7")), r);
  }
  EXPECT_EQ(refusal_status_code(Refusal::kSelfReview), StatusCode::kPermissionDenied);
  EXPECT_EQ(refusal_status_code(Refusal::kWithdrawTooLate), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refusal_status_code(Refusal::kReturnReasonRequired), StatusCode::kInvalidArgument);
  EXPECT_EQ(refusal_status_code(Refusal::kStateChanged), StatusCode::kConflict);
  EXPECT_FALSE(refusal_of(Status::invalid_argument("x", "WFx")).has_value());
  EXPECT_FALSE(refusal_of(Status::ok()).has_value());
}

}  // namespace
}  // namespace jixiao::workflow
