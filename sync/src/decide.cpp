#include "jixiao/sync/decide.h"

#include <algorithm>

#include "jixiao/common/cell_ref.h"
#include "jixiao/common/form_codec.h"
#include "jixiao/common/form_json.h"
#include "jixiao/common/uuid.h"
#include "jixiao/sync/merge.h"
#include "jixiao/sync/protocol.h"
#include "jixiao/workflow/refusal.h"

namespace jixiao::sync {
namespace {

using workflow::AuditEvent;

Status rejection(SyncReason reason, StatusCode code, std::string message, std::string detail = {}) {
  return Status(code, static_cast<std::uint16_t>(reason), std::move(message), std::move(detail));
}

// The round a new form of `unit` for `year` and `kind` answers, if any.
std::string round_for(const DecideContext& c, const UnitCode& unit_code, int year, const std::string& kind) {
  const Unit* unit = c.organisation.find(unit_code);
  if (unit == nullptr || unit->finance_bureau.empty()) return {};
  std::vector<const workflow::Round*> rounds;
  for (const auto& r : c.rounds) {
    if (r.finance_bureau == unit->finance_bureau) rounds.push_back(&r);
  }
  std::sort(rounds.begin(), rounds.end(),
            [](const workflow::Round* a, const workflow::Round* b) { return a->spec.round_id < b->spec.round_id; });
  for (const workflow::Round* r : rounds) {
    if (r->spec.fiscal_year != year) continue;
    for (const auto& req : r->spec.requirements) {
      if (req.unit == unit_code && std::find(req.form_kinds.begin(), req.form_kinds.end(), kind) != req.form_kinds.end()) {
        return r->spec.round_id;
      }
    }
  }
  return {};
}

Result<Decision> decide_round(const Operation& op, const OpenRound& open, const User& actor, const DecideContext& c) {
  Decision d;
  d.about_a_form = false;
  if (op.form_id != open.spec.round_id || open.spec.round_id.empty()) {
    return rejection(SyncReason::kBadCell, StatusCode::kInvalidArgument, "评价批次编号不一致", op.form_id);
  }
  for (const auto& r : c.rounds) {
    if (r.spec.round_id == open.spec.round_id) {
      return rejection(SyncReason::kFormExists, StatusCode::kInvalidArgument, "评价批次编号已存在", op.form_id);
    }
  }
  auto opening = workflow::open_round(open.spec, actor, op.device, c.organisation, c.clock);
  if (!opening) return opening.status();
  d.audit.push_back(std::move(opening->event));
  d.new_round = std::move(opening->round);
  return d;
}

Result<Decision> decide_create(const Operation& op, const CreateForm& create, const User& actor,
                               const std::optional<FormReplica>& replica, const DecideContext& c) {
  Decision d;
  if (!is_uuid(op.form_id)) return rejection(SyncReason::kBadCell, StatusCode::kInvalidArgument, "表单编号格式不正确");
  if (replica) return rejection(SyncReason::kFormExists, StatusCode::kInvalidArgument, "表单编号已存在", op.form_id);
  auto tmpl = c.templates.find(create.template_ref.id, create.template_ref.version);
  if (!tmpl) return rejection(SyncReason::kUnknownTemplate, StatusCode::kNotFound, tmpl.status().message());
  if (create.unit_code != actor.unit) {
    return rejection(SyncReason::kOutOfScope, StatusCode::kPermissionDenied, "只能为本单位创建表单", create.unit_code);
  }
  const workflow::WorkflowEngine* engine = c.engine_for_unit(create.unit_code);
  if (engine == nullptr) {
    return rejection(SyncReason::kOutOfScope, StatusCode::kFailedPrecondition, "该单位没有适用的审批流程",
                     create.unit_code);
  }
  const auto& units = (*tmpl)->money_units;
  if (std::find(units.begin(), units.end(), create.money_unit) == units.end()) {
    return rejection(SyncReason::kBadCell, StatusCode::kInvalidArgument, "该表单模板不使用此金额单位");
  }
  const std::string round_id = round_for(c, create.unit_code, create.fiscal_year, create.template_ref.id);
  workflow::SubmissionState state =
      engine->new_submission(op.form_id, create.unit_code, create.template_ref.id, round_id);
  if (auto s = engine->check_edit(state, actor); !s) return s;
  // The unit's name is the directory's, whatever the client wrote.
  const Unit* unit = c.organisation.find(create.unit_code);
  Form form = new_blank_form(**tmpl, create.unit_code, unit != nullptr ? unit->name : create.unit_name,
                             create.fiscal_year);
  form.id = op.form_id;
  form.money_unit = create.money_unit;
  d.effects.emplace_back(FormCreated{std::move(form), std::move(state)});
  d.audit.push_back(workflow::content_change_event(c.clock.now(), actor.id, op.device, op.form_id, "form", "",
                                                   "创建表单 " + create.template_ref.id));
  d.newly_visible_to.push_back(create.unit_code);
  return d;
}

Result<Decision> decide_workflow(const Operation& op, const WorkflowAction& wa, const User& actor,
                                 const FormReplica& replica, const workflow::WorkflowEngine& engine,
                                 const FormTemplate& tmpl) {
  Decision d;
  const std::string current_hash = form_content_hash(replica.form);
  const bool submitting = wa.action == workflow::Action::kSubmit || wa.action == workflow::Action::kResubmit;
  workflow::Command cmd;
  cmd.action = wa.action;
  cmd.actor = actor;
  cmd.device = op.device;
  cmd.expected_version = wa.expected_version;
  cmd.content_hash = wa.content_hash;
  cmd.reason = wa.reason;
  cmd.return_to_stage = wa.return_to_stage;
  cmd.evidence = wa.evidence;
  cmd.amount_fen = form_amount(replica.form, tmpl).value_or(Money()).fen();
  // A submitter submits what it saw; a colleague's edit since then makes
  // it a different version (reviewers are checked by the engine).
  if (submitting && wa.content_hash != current_hash) {
    return workflow::refuse(workflow::Refusal::kStaleContent, "submitted hash differs from the server's form");
  }
  auto t = engine.apply(replica.workflow, cmd);
  if (!t) return t.status();
  for (auto& e : t->events) d.audit.push_back(std::move(e));
  // Visibility grows as the form reaches the units that act on it.
  if (t->state.phase == workflow::Phase::kInReview) {
    if (const auto* stage = engine.definition().find_stage(t->state.stage_id)) {
      const UnitCode acting = engine.acting_unit_for(*stage, replica.workflow.unit);
      if (!acting.empty() && acting != replica.workflow.unit) d.newly_visible_to.push_back(acting);
    }
  }
  d.effects.emplace_back(WorkflowChanged{std::move(t->state)});
  return d;
}

Result<Decision> decide_content(const Operation& op, const User& actor, const FormReplica& replica,
                                const workflow::WorkflowEngine& engine, const FormTemplate& tmpl, ServerSeq seq,
                                workflow::TimePoint now) {
  Decision d;
  // Content: only the form's preparers, only in 草稿 or after a return.
  if (auto s = engine.check_edit(replica.workflow, actor); !s) return s;
  auto effects = decide_content_effects(replica, op, tmpl, seq);
  if (!effects) return effects.status();
  d.effects = std::move(*effects);
  const auto unit = replica.form.money_unit;
  for (const Effect& e : d.effects) {
    if (const auto* w = std::get_if<CellWritten>(&e)) {
      const CellValue* old = find_cell(replica.form, w->cell);
      d.audit.push_back(workflow::content_change_event(now, actor.id, op.device, op.form_id, w->cell.to_string(),
                                                       old != nullptr ? old->display(unit) : "",
                                                       w->value.display(unit)));
    } else if (const auto* ins = std::get_if<RowInserted>(&e)) {
      d.audit.push_back(workflow::content_change_event(now, actor.id, op.device, op.form_id,
                                                       row_key(ins->table, ins->row_id), "", "插入行"));
    } else if (const auto* del = std::get_if<RowDeleted>(&e)) {
      d.audit.push_back(workflow::content_change_event(now, actor.id, op.device, op.form_id,
                                                       row_key(del->table, del->row_id), "", "删除行"));
    } else if (const auto* cf = std::get_if<ConflictOpened>(&e)) {
      AuditEvent ev = workflow::content_change_event(now, actor.id, op.device, op.form_id, cf->conflict.cell.to_string(),
                                                     cf->conflict.winner.value.display(unit),
                                                     cf->conflict.loser.value.display(unit));
      ev.action = "conflict";
      d.audit.push_back(std::move(ev));
    }
  }
  return d;
}

}  // namespace

Result<Decision> decide(const Operation& op, const User& actor, const std::optional<FormReplica>& replica, ServerSeq seq,
                        const DecideContext& c) {
  if (const auto* open = std::get_if<OpenRound>(&op.payload)) return decide_round(op, *open, actor, c);
  if (const auto* create = std::get_if<CreateForm>(&op.payload)) return decide_create(op, *create, actor, replica, c);
  if (!replica) return rejection(SyncReason::kUnknownForm, StatusCode::kNotFound, "表单不存在", op.form_id);
  const workflow::WorkflowEngine* engine = c.engine_for_state(replica->workflow);
  if (engine == nullptr) {
    return rejection(SyncReason::kOutOfScope, StatusCode::kFailedPrecondition, "找不到该表单的审批流程");
  }
  auto tmpl = c.templates.find(replica->form.template_ref.id, replica->form.template_ref.version);
  if (!tmpl) return rejection(SyncReason::kUnknownTemplate, StatusCode::kNotFound, tmpl.status().message());
  if (const auto* wa = std::get_if<WorkflowAction>(&op.payload)) {
    return decide_workflow(op, *wa, actor, *replica, *engine, **tmpl);
  }
  return decide_content(op, actor, *replica, *engine, **tmpl, seq, c.clock.now());
}

}  // namespace jixiao::sync
