// Shared fixtures for the workflow tests: a small organisation, its people,
// the default definitions, and a Flow that drives one submission and renders
// its history as a string.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "jixiao/common/org.h"
#include "jixiao/workflow/definition.h"
#include "jixiao/workflow/engine.h"
#include "jixiao/workflow/refusal.h"

namespace jixiao::workflow::testing {

// Units:
//   F001 市财政局 (finance bureau)
//   156001 市科协 (city)          ── reports to F001
//     156101 甲区科协 (district)  ── parent 156001, reports to F001
//     156102 乙区科协 (district)  ── parent 156001, reports to F001
//   F002 外市财政局, 731002 外市科协 (another city, out of everyone's reach here)
inline constexpr char kFinance[] = "F001";
inline constexpr char kCity[] = "156001";
inline constexpr char kDistrict[] = "156101";
inline constexpr char kSiblingDistrict[] = "156102";
inline constexpr char kOtherFinance[] = "F002";
inline constexpr char kOtherCity[] = "731002";

// Amounts: 5万元 (reaches the 2万元 meeting threshold) and 1万元 (does not).
inline constexpr std::int64_t kLargeFen = 5'000'000;
inline constexpr std::int64_t kSmallFen = 1'000'000;

inline Organisation make_organisation() {
  Organisation org;
  auto add = [&](Unit u) { EXPECT_TRUE(org.add_unit(std::move(u)).is_ok()); };
  add({kFinance, "市财政局", UnitLevel::kFinanceBureau, "", ""});
  add({kCity, "市科协", UnitLevel::kCity, "", kFinance});
  add({kDistrict, "甲区科协", UnitLevel::kDistrict, kCity, kFinance});
  add({kSiblingDistrict, "乙区科协", UnitLevel::kDistrict, kCity, kFinance});
  add({kOtherFinance, "外市财政局", UnitLevel::kFinanceBureau, "", ""});
  add({kOtherCity, "外市科协", UnitLevel::kCity, "", kOtherFinance});
  return org;
}

inline User make_user(std::string id, std::string unit, std::vector<Role> roles) {
  User u;
  u.id = id;
  u.display_name = id;
  u.unit = std::move(unit);
  u.roles = std::move(roles);
  return u;
}

inline WorkflowDefinition load_default(const std::string& name) {
  auto d = load_workflow_definition(std::string(JIXIAO_WORKFLOW_DEFINITION_DIR) + "/" + name + ".json");
  EXPECT_TRUE(d.is_ok()) << d.status().to_string();
  return d.is_ok() ? *d : WorkflowDefinition{};
}

inline MeetingEvidence meeting_evidence(const std::string& kind) {
  MeetingEvidence e;
  e.meeting_kind = kind;
  e.date = "2021-03-15";
  e.session = kind == "党组会" ? "第15次党组会" : "第8次主席会";
  e.minutes_number = kind == "党组会" ? "党纪〔2021〕15号" : "主纪〔2021〕8号";
  e.decision = "同意报送";
  e.attachment_hashes = {"sm3:9a1f", "sm3:77c0"};
  return e;
}

// The refusal a status carries, for EXPECT_EQ.
inline std::optional<Refusal> refusal(const Status& s) { return refusal_of(s); }

// People of the district 甲区科协 and above, one role each, so that no rule
// but the one under test can refuse them.
struct People {
  User preparer = make_user("d_prep", kDistrict, {Role::kPreparer});
  User preparer2 = make_user("d_prep2", kDistrict, {Role::kPreparer});
  User reviewer = make_user("d_rev", kDistrict, {Role::kUnitReviewer});
  User reviewer2 = make_user("d_rev2", kDistrict, {Role::kUnitReviewer});
  User chair_secretary = make_user("d_chair_sec", kDistrict, {Role::kMeetingSecretary});
  User party_secretary = make_user("d_party_sec", kDistrict, {Role::kMeetingSecretary});
  User supervisor = make_user("c_sup", kCity, {Role::kSupervisor});
  User finance = make_user("f_rev", kFinance, {Role::kFinanceReviewer});
  User finance2 = make_user("f_rev2", kFinance, {Role::kFinanceReviewer});
  // The city's own people, for city forms.
  User city_preparer = make_user("c_prep", kCity, {Role::kPreparer});
  User city_reviewer = make_user("c_rev", kCity, {Role::kUnitReviewer});
  User city_chair_secretary = make_user("c_chair_sec", kCity, {Role::kMeetingSecretary});
  User city_party_secretary = make_user("c_party_sec", kCity, {Role::kMeetingSecretary});
};

// Drives one submission through an engine, keeping its state and events.
class Flow {
 public:
  Flow(const WorkflowEngine& engine, SubmissionState initial) : engine_(engine), state_(std::move(initial)) {}

  const SubmissionState& state() const { return state_; }
  const std::vector<AuditEvent>& events() const { return events_; }

  // Applies `c` as is; on success adopts the new state.
  Status run(const Command& c) {
    auto t = engine_.apply(state_, c);
    if (!t.is_ok()) return t.status();
    state_ = t->state;
    for (const auto& e : t->events) events_.push_back(e);
    return Status::ok();
  }

  // A command as an up-to-date client would send it.
  Command command(Action a, const User& actor) const {
    Command c;
    c.action = a;
    c.actor = actor;
    c.device = "dev-" + actor.id;
    c.expected_version = state_.version;
    c.content_hash = state_.content_hash;
    return c;
  }

  Status submit(const User& u, std::int64_t amount_fen = kLargeFen, const std::string& hash = "h1") {
    Command c = command(Action::kSubmit, u);
    c.content_hash = hash;
    c.amount_fen = amount_fen;
    return run(c);
  }
  Status resubmit(const User& u, const std::string& hash, std::int64_t amount_fen = kLargeFen) {
    Command c = command(Action::kResubmit, u);
    c.content_hash = hash;
    c.amount_fen = amount_fen;
    return run(c);
  }
  // Brings the right meeting evidence at a meeting stage.
  Status approve(const User& u) {
    Command c = command(Action::kApprove, u);
    if (const StageDefinition* st = engine_.definition().find_stage(state_.stage_id);
        st != nullptr && st->evidence == StageEvidence::kMeeting) {
      c.evidence = meeting_evidence(st->meeting_kind);
    }
    return run(c);
  }
  Status accept(const User& u) { return run(command(Action::kAccept, u)); }
  Status return_to_preparer(const User& u, const std::string& reason = "执行率计算有误") {
    Command c = command(Action::kReturn, u);
    c.reason = reason;
    return run(c);
  }
  Status return_to_stage(const User& u, const std::string& stage, const std::string& reason = "请补充会议纪要") {
    Command c = command(Action::kReturn, u);
    c.reason = reason;
    c.return_to_stage = stage;
    return run(c);
  }
  Status withdraw(const User& u) { return run(command(Action::kWithdraw, u)); }

  // "draft" / a stage id / "returned" / "accepted".
  std::string position() const {
    switch (state_.phase) {
      case Phase::kDraft: return "draft";
      case Phase::kInReview: return state_.stage_id;
      case Phase::kReturned: return "returned";
      case Phase::kAccepted: return "accepted";
    }
    return "?";
  }

  // The workflow history as the audit events tell it:
  // "submit draft->unit_review; approve unit_review->chair_meeting; …"
  std::string trail() const {
    std::string out;
    for (const auto& e : events_) {
      if (!out.empty()) out += "; ";
      out += e.action + " " + *e.field("from") + "->" + *e.field("to");
    }
    return out;
  }

 private:
  const WorkflowEngine& engine_;
  SubmissionState state_;
  std::vector<AuditEvent> events_;
};

}  // namespace jixiao::workflow::testing
