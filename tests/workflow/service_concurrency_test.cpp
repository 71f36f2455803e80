// Two reviewers act on the same stage at the same moment: exactly one
// succeeds, the other is told the form was handled, and both outcomes are
// in the audit log.
#include <gtest/gtest.h>

#include <latch>
#include <thread>

#include "jixiao/workflow/audit_log.h"
#include "jixiao/workflow/service.h"
#include "test_support.h"

namespace jixiao::workflow {
namespace {

using testing::People;
using testing::refusal;

class WorkflowConcurrency : public ::testing::Test {
 protected:
  Organisation org = testing::make_organisation();
  ManualClock clock{utc_time(2021, 3, 1, 9, 0)};
  WorkflowEngine engine{testing::load_default("district-default"), org, clock};
  WorkflowService service{{&engine}};
  People p;

  Command command(const std::string& id, Action a, const User& u) {
    const SubmissionState s = *service.get(id);
    Command c;
    c.action = a;
    c.actor = u;
    c.device = "dev-" + u.id;
    c.expected_version = s.version;
    c.content_hash = s.content_hash;
    return c;
  }

  void submitted(const std::string& id) {
    ASSERT_TRUE(service.create(engine.new_submission(id, testing::kDistrict, "project")).is_ok());
    Command c = command(id, Action::kSubmit, p.preparer);
    c.content_hash = "h1";
    c.amount_fen = testing::kLargeFen;
    ASSERT_TRUE(service.act(id, c).is_ok());
  }

  // Runs `a` and `b` on two threads released together.
  std::pair<Result<SubmissionState>, Result<SubmissionState>> race(const std::string& id, const Command& a,
                                                                   const Command& b) {
    std::latch start(2);
    std::optional<Result<SubmissionState>> ra, rb;
    std::thread ta([&] {
      start.arrive_and_wait();
      ra.emplace(service.act(id, a));
    });
    std::thread tb([&] {
      start.arrive_and_wait();
      rb.emplace(service.act(id, b));
    });
    ta.join();
    tb.join();
    return {std::move(*ra), std::move(*rb)};
  }
};

TEST_F(WorkflowConcurrency, TwoReviewersApprovingTheSameStageAtOnceExactlyOneSucceeds) {
  for (int round = 0; round < 50; ++round) {
    const std::string id = "race-" + std::to_string(round);
    submitted(id);
    const Command a = command(id, Action::kApprove, p.reviewer);
    const Command b = command(id, Action::kApprove, p.reviewer2);
    auto [ra, rb] = race(id, a, b);
    ASSERT_NE(ra.is_ok(), rb.is_ok()) << "round " << round;
    const Status lost = ra.is_ok() ? rb.status() : ra.status();
    EXPECT_EQ(lost.code(), StatusCode::kConflict);
    EXPECT_EQ(refusal(lost), Refusal::kStateChanged);
    EXPECT_EQ(lost.message(), "该表单已被他人处理，请刷新后重试");
    const SubmissionState s = *service.get(id);
    EXPECT_EQ(s.stage_id, "chair_meeting");
    EXPECT_EQ(s.version, 2U);
    ASSERT_EQ(s.signoffs.size(), 1U);
    EXPECT_EQ(s.signoffs[0].by, ra.is_ok() ? "d_rev" : "d_rev2");
  }
  const auto records = service.audit_records();
  std::size_t approvals = 0, refusals = 0;
  for (const auto& r : records) {
    approvals += r.event.action == "approve" && r.event.kind == AuditKind::kWorkflowAction ? 1U : 0U;
    refusals += r.event.kind == AuditKind::kRefusal ? 1U : 0U;
  }
  EXPECT_EQ(approvals, 50U);
  EXPECT_EQ(refusals, 50U);
  EXPECT_TRUE(verify_audit_chain(records).ok());
}

TEST_F(WorkflowConcurrency, ApproveRacingAReturnLeavesOneOutcome) {
  for (int round = 0; round < 20; ++round) {
    const std::string id = "mixed-" + std::to_string(round);
    submitted(id);
    const Command a = command(id, Action::kApprove, p.reviewer);
    Command b = command(id, Action::kReturn, p.reviewer2);
    b.reason = "数据有误";
    auto [ra, rb] = race(id, a, b);
    ASSERT_NE(ra.is_ok(), rb.is_ok());
    EXPECT_EQ(refusal(ra.is_ok() ? rb.status() : ra.status()), Refusal::kStateChanged);
    const SubmissionState s = *service.get(id);
    EXPECT_EQ(s.phase, ra.is_ok() ? Phase::kInReview : Phase::kReturned);
  }
}

TEST_F(WorkflowConcurrency, RefusedRequestsAndLoginsAreAudited) {
  submitted("s");
  Command c = command("s", Action::kReturn, p.reviewer);  // no reason
  EXPECT_EQ(refusal(service.act("s", c).status()), Refusal::kReturnReasonRequired);
  service.record_login(login_event(clock.now(), "d_rev", "dev-d_rev", "ok"));
  const auto records = service.audit_records();
  ASSERT_EQ(records.size(), 3U);
  EXPECT_EQ(records[0].event.action, "submit");
  EXPECT_EQ(records[1].event.kind, AuditKind::kRefusal);
  EXPECT_EQ(*records[1].event.field("refusal_key"), "return_reason_required");
  EXPECT_EQ(records[2].event.kind, AuditKind::kLogin);
  EXPECT_TRUE(verify_audit_chain(records).ok());
}

TEST_F(WorkflowConcurrency, UnknownSubmissionIsNotFoundAndIdsAreUnique) {
  EXPECT_EQ(service.act("nope", Command{}).status().code(), StatusCode::kNotFound);
  submitted("s");
  EXPECT_EQ(service.create(engine.new_submission("s", testing::kDistrict, "project")).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace jixiao::workflow
