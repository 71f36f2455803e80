// The permission matrix: every role × position × action × scope on a
// district form of 5万元 (so every stage of the default definition is on its
// way), with the one expected outcome of each cell.
//
// The table of what is allowed is written out in full below (13 cells of
// 1536). Every other cell is refused, and the refusal expected is the first
// rule that applies, in this order:
//   1. an admin role (三员分立)                    -> kAdminNoBusiness
//   2. the actor's unit does not reach the form     -> kOutOfScope
//   3. the action is not possible at this position  -> kActionNotAllowedInState
//   4. withdraw: not the submitter                  -> kNotSubmitter
//               the first stage already acted       -> kWithdrawTooLate
//   5. the stage (or 提交) wants another role       -> kRoleNotPermitted
//   6. right role, acting from the wrong unit       -> kNotActingUnit
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "test_support.h"

namespace jixiao::workflow {
namespace {

using testing::Flow;
using testing::People;

enum class Scope { kOwn, kParent, kFinance, kOther };
constexpr Scope kAllScopes[] = {Scope::kOwn, Scope::kParent, Scope::kFinance, Scope::kOther};
const char* scope_name(Scope s) {
  switch (s) {
    case Scope::kOwn: return "own";
    case Scope::kParent: return "parent";
    case Scope::kFinance: return "finance";
    case Scope::kOther: return "other";
  }
  return "?";
}
const char* scope_unit(Scope s) {
  switch (s) {
    case Scope::kOwn: return testing::kDistrict;
    case Scope::kParent: return testing::kCity;
    case Scope::kFinance: return testing::kFinance;
    case Scope::kOther: return testing::kSiblingDistrict;
  }
  return "";
}

const char* const kPositions[] = {"draft",         "unit_review",       "chair_meeting", "party_meeting",
                                  "supervisor_review", "finance_review", "returned",      "accepted"};

struct Allowed {
  const char* position;
  Action action;
  Role role;
  Scope scope;
};
// The whole list of allowed cells. (preparer, own) is the submitter.
constexpr Allowed kAllowed[] = {
    {"draft", Action::kSubmit, Role::kPreparer, Scope::kOwn},
    {"unit_review", Action::kApprove, Role::kUnitReviewer, Scope::kOwn},
    {"unit_review", Action::kReturn, Role::kUnitReviewer, Scope::kOwn},
    {"unit_review", Action::kWithdraw, Role::kPreparer, Scope::kOwn},
    {"chair_meeting", Action::kApprove, Role::kMeetingSecretary, Scope::kOwn},
    {"chair_meeting", Action::kReturn, Role::kMeetingSecretary, Scope::kOwn},
    {"party_meeting", Action::kApprove, Role::kMeetingSecretary, Scope::kOwn},
    {"party_meeting", Action::kReturn, Role::kMeetingSecretary, Scope::kOwn},
    {"supervisor_review", Action::kApprove, Role::kSupervisor, Scope::kParent},
    {"supervisor_review", Action::kReturn, Role::kSupervisor, Scope::kParent},
    {"finance_review", Action::kAccept, Role::kFinanceReviewer, Scope::kFinance},
    {"finance_review", Action::kReturn, Role::kFinanceReviewer, Scope::kFinance},
    {"returned", Action::kResubmit, Role::kPreparer, Scope::kOwn},
};

bool is_allowed(const std::string& position, Action a, Role r, Scope s) {
  for (const Allowed& x : kAllowed) {
    if (position == x.position && a == x.action && r == x.role && s == x.scope) return true;
  }
  return false;
}

// Which actions a position admits at all, and who acts at each stage.
bool possible(const std::string& position, Action a) {
  if (position == "draft") return a == Action::kSubmit;
  if (position == "returned") return a == Action::kResubmit;
  if (position == "accepted") return false;
  if (a == Action::kReturn || a == Action::kWithdraw) return true;
  if (position == "finance_review") return a == Action::kAccept;
  return a == Action::kApprove;
}
struct StageActor {
  Role role;
  Scope scope;
};
const std::map<std::string, StageActor> kStageActors = {
    {"unit_review", {Role::kUnitReviewer, Scope::kOwn}},
    {"chair_meeting", {Role::kMeetingSecretary, Scope::kOwn}},
    {"party_meeting", {Role::kMeetingSecretary, Scope::kOwn}},
    {"supervisor_review", {Role::kSupervisor, Scope::kParent}},
    {"finance_review", {Role::kFinanceReviewer, Scope::kFinance}},
};

Refusal expected_refusal(const std::string& position, Action a, Role r, Scope s) {
  if (is_admin_role(r)) return Refusal::kAdminNoBusiness;
  if (s == Scope::kOther) return Refusal::kOutOfScope;
  if (!possible(position, a)) return Refusal::kActionNotAllowedInState;
  if (a == Action::kWithdraw) {
    return r == Role::kPreparer && s == Scope::kOwn ? Refusal::kWithdrawTooLate : Refusal::kNotSubmitter;
  }
  const StageActor want = (a == Action::kSubmit || a == Action::kResubmit) ? StageActor{Role::kPreparer, Scope::kOwn}
                                                                            : kStageActors.at(position);
  if (r != want.role) return Refusal::kRoleNotPermitted;
  return Refusal::kNotActingUnit;
}

class PermissionMatrix : public ::testing::Test {
 protected:
  Organisation org = testing::make_organisation();
  ManualClock clock{utc_time(2021, 3, 1, 9, 0)};
  WorkflowEngine engine{testing::load_default("district-default"), org, clock};
  People p;

  static User actor(Role r, Scope s) {
    return testing::make_user(std::string(role_key(r)) + "@" + scope_name(s), scope_unit(s), {r});
  }

  // The form at `position`, submitted by (preparer, own) and moved there by
  // people outside the matrix.
  SubmissionState at(const std::string& position) {
    Flow f(engine, engine.new_submission("m", testing::kDistrict, "project"));
    if (position == "draft") return f.state();
    EXPECT_TRUE(f.submit(actor(Role::kPreparer, Scope::kOwn), testing::kLargeFen).is_ok());
    if (position == "returned") {
      EXPECT_TRUE(f.return_to_preparer(p.reviewer).is_ok());
      return f.state();
    }
    const std::map<std::string, const User*> movers = {
        {"unit_review", &p.reviewer},          {"chair_meeting", &p.chair_secretary},
        {"party_meeting", &p.party_secretary}, {"supervisor_review", &p.supervisor},
        {"finance_review", &p.finance}};
    while (f.state().phase == Phase::kInReview && f.position() != position) {
      if (f.position() == "finance_review") {
        EXPECT_TRUE(f.accept(p.finance).is_ok());
      } else {
        EXPECT_TRUE(f.approve(*movers.at(f.position())).is_ok());
      }
    }
    EXPECT_EQ(f.position(), position);
    return f.state();
  }

  // A well-formed request, so that only permissions decide.
  Command request(const SubmissionState& s, Action a, const User& u) {
    Command c;
    c.action = a;
    c.actor = u;
    c.device = "matrix";
    c.expected_version = s.version;
    c.content_hash = a == Action::kSubmit || a == Action::kResubmit ? "h-new" : s.content_hash;
    c.amount_fen = testing::kLargeFen;
    if (a == Action::kReturn) c.reason = "请核对";
    if (const StageDefinition* st = engine.definition().find_stage(s.stage_id);
        a == Action::kApprove && st != nullptr && st->evidence == StageEvidence::kMeeting) {
      c.evidence = testing::meeting_evidence(st->meeting_kind);
    }
    return c;
  }
};

TEST_F(PermissionMatrix, EveryRoleStageActionAndScopeHasItsExpectedOutcome) {
  std::size_t cells = 0;
  std::size_t allowed = 0;
  std::ostringstream mismatches;
  for (const char* position : kPositions) {
    const SubmissionState state = at(position);
    for (Role role : kAllRoles) {
      for (Action action : kAllActions) {
        for (Scope scope : kAllScopes) {
          ++cells;
          const User u = actor(role, scope);
          const auto result = engine.apply(state, request(state, action, u));
          const std::string cell = std::string(position) + " " + std::string(action_key(action)) + " by " + u.id;
          if (is_allowed(position, action, role, scope)) {
            ++allowed;
            if (!result.is_ok()) mismatches << cell << ": expected allow, got " << result.status().to_string() << "\n";
            continue;
          }
          const Refusal want = expected_refusal(position, action, role, scope);
          const auto got = result.is_ok() ? std::nullopt : refusal_of(result.status());
          if (got != want) {
            mismatches << cell << ": expected " << refusal_key(want) << ", got "
                       << (result.is_ok() ? "allow" : result.status().to_string()) << "\n";
          } else if (result.status().code() != refusal_status_code(want)) {
            mismatches << cell << ": wrong status code " << result.status().to_string() << "\n";
          }
        }
      }
    }
  }
  EXPECT_EQ(cells, 8U * 8U * 6U * 4U);
  EXPECT_EQ(allowed, std::size(kAllowed));
  EXPECT_EQ(mismatches.str(), "");
}

TEST_F(PermissionMatrix, AdminRolesAreRefusedEvenForReadingActionsLikeComment) {
  const SubmissionState s = at("unit_review");
  for (Role r : {Role::kSystemAdmin, Role::kSecurityAdmin, Role::kAuditAdmin}) {
    for (Scope scope : kAllScopes) {
      const User u = actor(r, scope);
      EXPECT_EQ(testing::refusal(engine.check_comment(s, u)), Refusal::kAdminNoBusiness) << u.id;
      EXPECT_EQ(testing::refusal(engine.check_edit(s, u)), Refusal::kAdminNoBusiness) << u.id;
    }
  }
}

TEST_F(PermissionMatrix, NoOneHoldsTwoAdminRolesOrAnAdminAndABusinessRole) {
  const SubmissionState s = at("unit_review");
  const User two_admins = testing::make_user("x", testing::kDistrict, {Role::kSystemAdmin, Role::kAuditAdmin});
  const User admin_and_reviewer =
      testing::make_user("y", testing::kDistrict, {Role::kUnitReviewer, Role::kSecurityAdmin});
  for (const User& u : {two_admins, admin_and_reviewer}) {
    const auto r = engine.apply(s, request(s, Action::kApprove, u));
    EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(testing::refusal(r.status()), Refusal::kConflictingRoles) << u.id;
  }
}

TEST_F(PermissionMatrix, DisabledAccountsAreRefused) {
  const SubmissionState s = at("unit_review");
  User u = p.reviewer;
  u.disabled = true;
  EXPECT_EQ(testing::refusal(engine.apply(s, request(s, Action::kApprove, u)).status()), Refusal::kUserDisabled);
}

TEST_F(PermissionMatrix, AnotherCitysFinanceBureauIsOutOfScope) {
  const SubmissionState s = at("finance_review");
  const User other = testing::make_user("f2", testing::kOtherFinance, {Role::kFinanceReviewer});
  EXPECT_EQ(testing::refusal(engine.apply(s, request(s, Action::kAccept, other)).status()), Refusal::kOutOfScope);
}

}  // namespace
}  // namespace jixiao::workflow
