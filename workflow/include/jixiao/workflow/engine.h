// The approval workflow engine: pure logic over values.
//
//   Result<Transition> t = engine.apply(state, command);
//
// takes a submission's current state and one request (提交 submit, 通过
// approve, 退回 return, 撤回 withdraw, 重新提交 resubmit, 受理 accept) and
// returns either the new state plus the audit events to append, or a
// refusal (refusal.h). It reads no clock but the injected one, touches no
// storage and keeps no state between calls. The server's sync service calls
// it through sync::decide() inside one write transaction of the store, which
// holds the state in the form's replica, and appends the events to the audit
// chain in that transaction. The state version is the compare-and-swap token: every successful
// transition increments it, and a command carrying another expected version
// is refused with Refusal::kStateChanged (kConflict). WorkflowService
// (service.h) does the same in memory for tests and tools.
//
// Rules enforced whatever a client sends (docs/domain.md §1 and §4.1, issue 3):
// - the three admin roles take no business action; no one holds two of them;
// - a user acts only on forms of units within reach (own unit and units
//   below it, or the finance bureau the unit reports to), and at a stage only
//   from the unit the stage names and with the role it names;
// - whoever submitted a version cannot review (approve, return, accept) it;
//   one person cannot pass two consecutive stages of one submission;
// - approve/return/accept name the content hash the reviewer saw; a
//   different hash is refused (Refusal::kStaleContent);
// - a return carries a reason; meeting stages carry their evidence;
// - the submitter may withdraw until the first review stage has acted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jixiao/common/org.h"
#include "jixiao/common/status.h"
#include "jixiao/workflow/audit_event.h"
#include "jixiao/workflow/clock.h"
#include "jixiao/workflow/definition.h"

namespace jixiao::workflow {

// Stored and sent; never renumbered.
enum class Action : std::uint8_t {
  kSubmit = 0,    // 提交
  kApprove = 1,   // 通过
  kReturn = 2,    // 退回
  kWithdraw = 3,  // 撤回
  kResubmit = 4,  // 重新提交
  kAccept = 5,    // 受理
};
inline constexpr Action kAllActions[] = {Action::kSubmit,   Action::kApprove,  Action::kReturn,
                                         Action::kWithdraw, Action::kResubmit, Action::kAccept};
std::string_view action_name(Action a);  // "提交" …
std::string_view action_key(Action a);   // "submit" …

// Where a submission is. Stored; never renumbered.
enum class Phase : std::uint8_t {
  kDraft = 0,     // 草稿: never submitted, or withdrawn
  kInReview = 1,  // at SubmissionState::stage_id
  kReturned = 2,  // 已退回 to the preparer
  kAccepted = 3,  // 已受理
};
std::string_view phase_name(Phase p);  // "草稿", "审核中", "已退回", "已受理"

// What a meeting stage records of the meeting that decided.
struct MeetingEvidence {
  std::string meeting_kind;    // "主席会" / "党组会": must match the stage
  std::string date;            // "2021-03-15"
  std::string session;         // "第15次党组会"
  std::string minutes_number;  // 会议纪要号
  std::string decision;        // the decision text
  std::vector<std::string> attachment_hashes;  // content hashes of attached files
  friend bool operator==(const MeetingEvidence&, const MeetingEvidence&) = default;
};

// One stage passed in the current pass of a submission.
struct StageSignoff {
  std::string stage_id;
  UserId by;
  friend bool operator==(const StageSignoff&, const StageSignoff&) = default;
};

// Everything the engine needs to know about one submission (one form's way
// through the workflow). The server persists it as is; `version` is its
// compare-and-swap token.
struct SubmissionState {
  std::string submission_id;
  UnitCode unit;           // the preparing unit
  std::string form_kind;   // template id of the form
  std::string round_id;    // the round it answers, may be empty
  std::string definition_id;
  std::uint32_t definition_version = 0;

  std::uint64_t version = 0;  // +1 on every transition
  Phase phase = Phase::kDraft;
  std::string stage_id;        // the stage holding it while kInReview
  std::int64_t amount_fen = 0;  // decides the meeting stages; set on (re)submit
  std::string content_hash;     // of the version last submitted
  UserId submitter;             // who submitted that version
  std::uint32_t submit_count = 0;
  std::uint32_t return_count = 0;
  // Review actions since the last submit; withdraw needs 0.
  std::uint32_t reviews_since_submit = 0;
  std::vector<StageSignoff> signoffs;  // stages passed in this pass, in order
  std::string last_return_reason;
  std::string last_returned_from;  // stage id
  TimePoint updated_at{};
  std::optional<TimePoint> first_submitted_at;
  std::optional<TimePoint> reached_finance_at;  // first arrival at a finance-bureau stage
  std::optional<TimePoint> accepted_at;

  friend bool operator==(const SubmissionState&, const SubmissionState&) = default;
};

struct Command {
  Action action = Action::kSubmit;
  User actor;
  std::string device;  // recorded in the audit event
  // The state version the actor saw; must equal the current one.
  std::uint64_t expected_version = 0;
  // submit/resubmit: the hash of the version being submitted;
  // approve/return/accept: the hash of the version the reviewer saw.
  std::string content_hash;
  std::int64_t amount_fen = 0;  // submit/resubmit: the form's amount
  std::string reason;           // return: required; approve/accept: optional comment
  // return by a stage that may_return_to_earlier_stage: the stage to send it
  // back to; empty means the preparer.
  std::string return_to_stage;
  std::optional<MeetingEvidence> evidence;  // approve at a meeting stage
};

struct Transition {
  SubmissionState state;            // the new state, version = old version + 1
  std::vector<AuditEvent> events;   // to append in the same transaction
};

// Who holds a submission: the stage, and the role and unit that act there.
struct Holder {
  std::string stage_id;
  std::string stage_name;
  Role role = Role::kPreparer;
  UnitCode unit;
  friend bool operator==(const Holder&, const Holder&) = default;
};

class WorkflowEngine {
 public:
  // `organisation` and `clock` are borrowed and must outlive the engine.
  // The definition must have passed validate_workflow_definition().
  WorkflowEngine(WorkflowDefinition definition, const Organisation& organisation, const Clock& clock);

  const WorkflowDefinition& definition() const { return definition_; }

  // A new draft (version 0) for a form of `unit`, bound to this definition.
  SubmissionState new_submission(std::string submission_id, UnitCode unit, std::string form_kind,
                                 std::string round_id = {}) const;

  // The transition `command` makes from `current`, or its refusal. Thread-safe.
  [[nodiscard]] Result<Transition> apply(const SubmissionState& current, const Command& command) const;

  // The audit event for a refused command (the server appends it, in its own
  // transaction, since the refused change writes nothing else).
  AuditEvent refusal_event(const SubmissionState& current, const Command& command, const Status& refusal) const;

  // May `user` change the form's content now? Only a preparer of the form's
  // unit, in 草稿 or after a return to the preparer.
  [[nodiscard]] Status check_edit(const SubmissionState& current, const User& user) const;
  // May `user` comment? Any business role within reach, until accepted.
  // Comments never change content.
  [[nodiscard]] Status check_comment(const SubmissionState& current, const User& user) const;

  // Whose turn it is: the stage holding it (kInReview), or the preparer at
  // the form's unit (草稿, 已退回); nullopt once accepted.
  std::optional<Holder> holder(const SubmissionState& current) const;

  // The unit that acts at `stage` for a form of `form_unit`, or empty.
  UnitCode acting_unit_for(const StageDefinition& stage, const UnitCode& form_unit) const;
  // True when `user_unit` reaches forms of `form_unit`: the same unit, an
  // ancestor, or the finance bureau of the unit or of an ancestor.
  bool within_reach(const UnitCode& form_unit, const UnitCode& user_unit) const;

 private:
  // Constant after construction.
  WorkflowDefinition definition_;
  const Organisation& organisation_;
  const Clock& clock_;
};

}  // namespace jixiao::workflow
