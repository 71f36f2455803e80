#include "jixiao/workflow/engine.h"

#include <algorithm>

#include "jixiao/common/money.h"
#include "jixiao/common/text.h"
#include "jixiao/workflow/refusal.h"

namespace jixiao::workflow {

std::string_view action_name(Action a) {
  switch (a) {
    case Action::kSubmit: return "提交";
    case Action::kApprove: return "通过";
    case Action::kReturn: return "退回";
    case Action::kWithdraw: return "撤回";
    case Action::kResubmit: return "重新提交";
    case Action::kAccept: return "受理";
  }
  return "?";
}

std::string_view action_key(Action a) {
  switch (a) {
    case Action::kSubmit: return "submit";
    case Action::kApprove: return "approve";
    case Action::kReturn: return "return";
    case Action::kWithdraw: return "withdraw";
    case Action::kResubmit: return "resubmit";
    case Action::kAccept: return "accept";
  }
  return "?";
}

std::string_view phase_name(Phase p) {
  switch (p) {
    case Phase::kDraft: return "草稿";
    case Phase::kInReview: return "审核中";
    case Phase::kReturned: return "已退回";
    case Phase::kAccepted: return "已受理";
  }
  return "?";
}

namespace {

bool is_review(Action a) { return a == Action::kApprove || a == Action::kReturn || a == Action::kAccept; }

// The place a state is at, as the audit log names it: a stage id or a phase.
std::string position_key(const SubmissionState& s) {
  switch (s.phase) {
    case Phase::kDraft: return "draft";
    case Phase::kInReview: return s.stage_id;
    case Phase::kReturned: return "returned";
    case Phase::kAccepted: return "accepted";
  }
  return "?";
}

std::string position_name(const WorkflowDefinition& d, const SubmissionState& s) {
  if (s.phase == Phase::kInReview) {
    const StageDefinition* st = d.find_stage(s.stage_id);
    return st != nullptr ? st->name : s.stage_id;
  }
  return std::string(phase_name(s.phase));
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

bool blank(std::string_view s) { return text::trim(s).empty(); }

// The checks every request by `user` on a form of `form_unit` starts with.
Status check_identity(const User& user, const std::string& what) {
  if (user.disabled) return refuse(Refusal::kUserDisabled, "user " + user.id + " is disabled; " + what);
  if (Status s = validate_roles(user); !s) {
    return refuse(Refusal::kConflictingRoles, "user " + user.id + ": " + s.detail() + "; " + what);
  }
  for (Role r : user.roles) {
    if (is_admin_role(r)) {
      return refuse(Refusal::kAdminNoBusiness,
                    "user " + user.id + " holds " + std::string(role_key(r)) + "; " + what);
    }
  }
  return Status::ok();
}

Status check_evidence(const StageDefinition& stage, const std::optional<MeetingEvidence>& evidence) {
  if (stage.evidence != StageEvidence::kMeeting) return Status::ok();
  if (!evidence) {
    return refuse(Refusal::kEvidenceIncomplete, "stage " + stage.id + " needs meeting evidence", "缺少会议记录");
  }
  const MeetingEvidence& e = *evidence;
  struct Required {
    const std::string* value;
    const char* name;
    const char* key;
  };
  for (const Required& r : {Required{&e.meeting_kind, "会议类型", "meeting_kind"},
                            Required{&e.date, "会议日期", "date"},
                            Required{&e.session, "会议届次", "session"},
                            Required{&e.minutes_number, "会议纪要号", "minutes_number"},
                            Required{&e.decision, "会议决定", "decision"}}) {
    if (blank(*r.value)) {
      return refuse(Refusal::kEvidenceIncomplete, "stage " + stage.id + ": evidence." + r.key + " missing",
                    std::string("缺少") + r.name);
    }
  }
  if (!is_iso_date(e.date)) {
    return refuse(Refusal::kEvidenceIncomplete, "stage " + stage.id + ": evidence.date " + e.date,
                  "会议日期“" + e.date + "”应写作 YYYY-MM-DD");
  }
  for (const auto& h : e.attachment_hashes) {
    if (blank(h)) {
      return refuse(Refusal::kEvidenceIncomplete, "stage " + stage.id + ": empty attachment hash",
                    "附件摘要不能为空");
    }
  }
  if (text::trim(e.meeting_kind) != stage.meeting_kind) {
    return refuse(Refusal::kEvidenceMismatch,
                  "stage " + stage.id + " wants " + stage.meeting_kind + ", got " + e.meeting_kind,
                  "本环节需要" + stage.meeting_kind + "的记录，收到的是" + e.meeting_kind + "的记录");
  }
  return Status::ok();
}

}  // namespace

WorkflowEngine::WorkflowEngine(WorkflowDefinition definition, const Organisation& organisation,
                               const Clock& clock)
    : definition_(std::move(definition)), organisation_(organisation), clock_(clock) {}

SubmissionState WorkflowEngine::new_submission(std::string submission_id, UnitCode unit,
                                               std::string form_kind, std::string round_id) const {
  SubmissionState s;
  s.submission_id = std::move(submission_id);
  s.unit = std::move(unit);
  s.form_kind = std::move(form_kind);
  s.round_id = std::move(round_id);
  s.definition_id = definition_.id;
  s.definition_version = definition_.version;
  s.updated_at = clock_.now();
  return s;
}

bool WorkflowEngine::within_reach(const UnitCode& form_unit, const UnitCode& user_unit) const {
  if (user_unit.empty()) return false;
  const Unit* u = organisation_.find(form_unit);
  // Bounded by the number of units: a cycle cannot loop forever.
  for (std::size_t hops = 0; u != nullptr && hops <= organisation_.units().size(); ++hops) {
    if (u->code == user_unit || u->finance_bureau == user_unit) return true;
    if (u->parent.empty()) return false;
    u = organisation_.find(u->parent);
  }
  return false;
}

UnitCode WorkflowEngine::acting_unit_for(const StageDefinition& stage, const UnitCode& form_unit) const {
  const Unit* u = organisation_.find(form_unit);
  if (u == nullptr) return {};
  switch (stage.acting_unit) {
    case ActingUnit::kOwnUnit: return u->code;
    case ActingUnit::kParentUnit: return u->parent;
    case ActingUnit::kFinanceBureau:
      for (std::size_t hops = 0; u != nullptr && hops <= organisation_.units().size(); ++hops) {
        if (!u->finance_bureau.empty()) return u->finance_bureau;
        u = u->parent.empty() ? nullptr : organisation_.find(u->parent);
      }
      return {};
  }
  return {};
}

std::optional<Holder> WorkflowEngine::holder(const SubmissionState& s) const {
  switch (s.phase) {
    case Phase::kDraft:
    case Phase::kReturned:
      return Holder{position_key(s), std::string(phase_name(s.phase)), Role::kPreparer, s.unit};
    case Phase::kInReview: {
      const StageDefinition* st = definition_.find_stage(s.stage_id);
      if (st == nullptr) return std::nullopt;
      return Holder{st->id, st->name, st->role, acting_unit_for(*st, s.unit)};
    }
    case Phase::kAccepted: return std::nullopt;
  }
  return std::nullopt;
}

Status WorkflowEngine::check_edit(const SubmissionState& s, const User& user) const {
  const std::string what = "edit " + s.submission_id;
  if (Status st = check_identity(user, what); !st) return st;
  if (!within_reach(s.unit, user.unit)) {
    return refuse(Refusal::kOutOfScope, "unit " + user.unit + " does not reach " + s.unit + "; " + what);
  }
  if (!user.has_role(Role::kPreparer) || user.unit != s.unit) {
    return refuse(Refusal::kEditNotPermitted, "user " + user.id + " is not a preparer of " + s.unit + "; " + what);
  }
  if (s.phase != Phase::kDraft && s.phase != Phase::kReturned) {
    return refuse(Refusal::kNotEditableInState, "phase " + position_key(s) + "; " + what,
                  "当前为“" + position_name(definition_, s) + "”");
  }
  return Status::ok();
}

Status WorkflowEngine::check_comment(const SubmissionState& s, const User& user) const {
  const std::string what = "comment on " + s.submission_id;
  if (Status st = check_identity(user, what); !st) return st;
  if (!within_reach(s.unit, user.unit)) {
    return refuse(Refusal::kOutOfScope, "unit " + user.unit + " does not reach " + s.unit + "; " + what);
  }
  if (s.phase == Phase::kAccepted) {
    return refuse(Refusal::kActionNotAllowedInState, "accepted; " + what, "表单已受理");
  }
  return Status::ok();
}

AuditEvent WorkflowEngine::refusal_event(const SubmissionState& current, const Command& command,
                                         const Status& refusal) const {
  AuditEvent e = workflow::refusal_event(clock_.now(), command.actor.id, command.device, current.submission_id,
                                         std::string(action_key(command.action)), refusal);
  e.set("at_position", position_key(current));
  e.set("state_version", std::to_string(current.version));
  e.set("expected_version", std::to_string(command.expected_version));
  return e;
}

Result<Transition> WorkflowEngine::apply(const SubmissionState& current, const Command& cmd) const {
  const User& actor = cmd.actor;
  const std::string what = std::string(action_key(cmd.action)) + " " + current.submission_id + " at " +
                           position_key(current) + " by " + actor.id;

  if (current.definition_id != definition_.id || current.definition_version != definition_.version) {
    return refuse(Refusal::kDefinitionMismatch,
                  "state uses " + current.definition_id + "@" + std::to_string(current.definition_version) +
                      ", engine has " + definition_.id + "@" + std::to_string(definition_.version));
  }
  if (Status s = check_identity(actor, what); !s) return s;
  if (!within_reach(current.unit, actor.unit)) {
    return refuse(Refusal::kOutOfScope, "unit " + actor.unit + " does not reach " + current.unit + "; " + what);
  }

  // Staleness first: a reviewer who saw another version, or any state other
  // than the current one, is told so before anything that state implies.
  if (is_review(cmd.action) && current.submit_count > 0 && !cmd.content_hash.empty() &&
      cmd.content_hash != current.content_hash) {
    return refuse(Refusal::kStaleContent,
                  "reviewed " + cmd.content_hash + ", current " + current.content_hash + "; " + what);
  }
  if (cmd.expected_version != current.version) {
    return refuse(Refusal::kStateChanged, "expected version " + std::to_string(cmd.expected_version) +
                                              ", current " + std::to_string(current.version) + "; " + what);
  }

  // Is the action possible here at all?
  const StageDefinition* stage =
      current.phase == Phase::kInReview ? definition_.find_stage(current.stage_id) : nullptr;
  if (current.phase == Phase::kInReview && stage == nullptr) {
    return Status::internal("表单所在的审核环节不存在", "unknown stage " + current.stage_id + "; " + what);
  }
  bool possible = false;
  switch (cmd.action) {
    case Action::kSubmit: possible = current.phase == Phase::kDraft; break;
    case Action::kResubmit: possible = current.phase == Phase::kReturned; break;
    case Action::kApprove:
      possible = stage != nullptr && stage->completes_with == CompletingAction::kApprove;
      break;
    case Action::kAccept: possible = stage != nullptr && stage->completes_with == CompletingAction::kAccept; break;
    case Action::kReturn:
    case Action::kWithdraw: possible = stage != nullptr; break;
  }
  if (!possible) {
    return refuse(Refusal::kActionNotAllowedInState, what,
                  "当前为“" + position_name(definition_, current) + "”，不能" + std::string(action_name(cmd.action)));
  }

  // Who may do it.
  switch (cmd.action) {
    case Action::kSubmit:
    case Action::kResubmit:
      if (!actor.has_role(Role::kPreparer)) return refuse(Refusal::kRoleNotPermitted, "needs preparer; " + what);
      if (actor.unit != current.unit) {
        return refuse(Refusal::kNotActingUnit, "form of " + current.unit + "; " + what, "应由填报单位提交");
      }
      break;
    case Action::kWithdraw:
      if (actor.id != current.submitter) {
        return refuse(Refusal::kNotSubmitter, "submitter is " + current.submitter + "; " + what);
      }
      if (current.reviews_since_submit > 0) {
        return refuse(Refusal::kWithdrawTooLate,
                      std::to_string(current.reviews_since_submit) + " review actions since submit; " + what);
      }
      break;
    case Action::kApprove:
    case Action::kReturn:
    case Action::kAccept: {
      if (!actor.has_role(stage->role)) {
        return refuse(Refusal::kRoleNotPermitted, "stage " + stage->id + " needs " +
                                                      std::string(role_key(stage->role)) + "; " + what,
                      "“" + stage->name + "”应由" + std::string(role_name(stage->role)) + "办理");
      }
      const UnitCode acting = acting_unit_for(*stage, current.unit);
      if (acting.empty()) {
        return refuse(Refusal::kNoActingUnit, "stage " + stage->id + " for unit " + current.unit + "; " + what);
      }
      if (actor.unit != acting) {
        const Unit* u = organisation_.find(acting);
        return refuse(Refusal::kNotActingUnit, "stage " + stage->id + " acts from " + acting + "; " + what,
                      "“" + stage->name + "”应由" + (u != nullptr ? u->name : acting) + "办理");
      }
      if (actor.id == current.submitter) {
        return refuse(Refusal::kSelfReview, "user " + actor.id + " submitted this version; " + what);
      }
      if (cmd.action != Action::kReturn && !current.signoffs.empty() && current.signoffs.back().by == actor.id) {
        return refuse(Refusal::kConsecutiveStages,
                      "user " + actor.id + " passed " + current.signoffs.back().stage_id + "; " + what);
      }
      break;
    }
  }

  // What the request must carry.
  std::optional<std::size_t> return_target;
  switch (cmd.action) {
    case Action::kSubmit:
    case Action::kResubmit:
      if (blank(cmd.content_hash)) return refuse(Refusal::kContentHashRequired, what);
      if (cmd.amount_fen < 0 || cmd.amount_fen > Money::kMaxFen) {
        return refuse(Refusal::kInvalidAmount, "amount_fen " + std::to_string(cmd.amount_fen) + "; " + what);
      }
      break;
    case Action::kApprove:
    case Action::kAccept:
    case Action::kReturn:
      if (blank(cmd.content_hash)) return refuse(Refusal::kContentHashRequired, what);
      if (cmd.action == Action::kApprove) {
        if (Status s = check_evidence(*stage, cmd.evidence); !s) return s;
      }
      if (cmd.action == Action::kReturn) {
        if (blank(cmd.reason)) return refuse(Refusal::kReturnReasonRequired, what);
        if (!cmd.return_to_stage.empty()) {
          if (!stage->may_return_to_earlier_stage) {
            return refuse(Refusal::kReturnTargetNotPermitted,
                          "stage " + stage->id + " returns to the preparer only; " + what);
          }
          const auto target = definition_.stage_index(cmd.return_to_stage);
          const auto here = definition_.stage_index(stage->id);
          if (!target || *target >= *here || !definition_.stage_applies(*target, current.amount_fen)) {
            return refuse(Refusal::kReturnTargetInvalid, "target " + cmd.return_to_stage + "; " + what);
          }
          return_target = target;
        }
      }
      break;
    case Action::kWithdraw: break;
  }

  // The transition.
  const TimePoint now = clock_.now();
  Transition t;
  SubmissionState& next = t.state;
  next = current;
  next.version = current.version + 1;
  next.updated_at = now;
  auto arrive_at = [&](std::size_t index) {
    next.phase = Phase::kInReview;
    next.stage_id = definition_.stages[index].id;
    if (definition_.stages[index].acting_unit == ActingUnit::kFinanceBureau && !next.reached_finance_at) {
      next.reached_finance_at = now;
    }
  };

  switch (cmd.action) {
    case Action::kSubmit:
    case Action::kResubmit: {
      const auto first = definition_.next_applicable(std::nullopt, cmd.amount_fen);
      next.amount_fen = cmd.amount_fen;
      next.content_hash = cmd.content_hash;
      next.submitter = actor.id;
      next.submit_count = current.submit_count + 1;
      next.reviews_since_submit = 0;
      next.signoffs.clear();
      if (!next.first_submitted_at) next.first_submitted_at = now;
      arrive_at(*first);  // the last stage always applies (validated)
      break;
    }
    case Action::kApprove: {
      next.signoffs.push_back({stage->id, actor.id});
      next.reviews_since_submit = current.reviews_since_submit + 1;
      const auto following = definition_.next_applicable(definition_.stage_index(stage->id), current.amount_fen);
      arrive_at(*following);  // an approve stage is never the last
      break;
    }
    case Action::kAccept:
      next.signoffs.push_back({stage->id, actor.id});
      next.reviews_since_submit = current.reviews_since_submit + 1;
      next.phase = Phase::kAccepted;
      next.stage_id.clear();
      next.accepted_at = now;
      break;
    case Action::kReturn:
      next.reviews_since_submit = current.reviews_since_submit + 1;
      next.return_count = current.return_count + 1;
      next.last_return_reason = std::string(text::trim(cmd.reason));
      next.last_returned_from = stage->id;
      if (return_target) {
        // Stages from the target on are passed again.
        std::erase_if(next.signoffs, [&](const StageSignoff& so) {
          const auto i = definition_.stage_index(so.stage_id);
          return !i || *i >= *return_target;
        });
        arrive_at(*return_target);
      } else {
        next.phase = Phase::kReturned;
        next.stage_id.clear();
        next.signoffs.clear();
      }
      break;
    case Action::kWithdraw:
      next.phase = Phase::kDraft;
      next.stage_id.clear();
      next.signoffs.clear();
      next.reviews_since_submit = 0;
      break;
  }

  AuditEvent e;
  e.kind = AuditKind::kWorkflowAction;
  e.at = now;
  e.actor = actor.id;
  e.device = cmd.device;
  e.subject = current.submission_id;
  e.action = std::string(action_key(cmd.action));
  e.set("definition", definition_.id + "@" + std::to_string(definition_.version));
  e.set("unit", current.unit);
  e.set("form_kind", current.form_kind);
  e.set("from", position_key(current));
  e.set("to", position_key(next));
  e.set("state_version", std::to_string(next.version));
  e.set("content_hash", next.content_hash);
  if (cmd.action == Action::kSubmit || cmd.action == Action::kResubmit) {
    e.set("amount_fen", std::to_string(next.amount_fen));
  }
  if (!blank(cmd.reason)) e.set("reason", std::string(text::trim(cmd.reason)));
  if (cmd.action == Action::kReturn) e.set("return_to", return_target ? cmd.return_to_stage : "preparer");
  if (cmd.action == Action::kApprove && cmd.evidence && stage->evidence == StageEvidence::kMeeting) {
    const MeetingEvidence& ev = *cmd.evidence;
    e.set("meeting_kind", ev.meeting_kind);
    e.set("meeting_date", ev.date);
    e.set("meeting_session", ev.session);
    e.set("minutes_number", ev.minutes_number);
    e.set("decision", ev.decision);
    e.set("attachment_hashes", join(ev.attachment_hashes, ","));
  }
  t.events.push_back(std::move(e));
  return t;
}

}  // namespace jixiao::workflow
