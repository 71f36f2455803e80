// Form operations (form_operations.h): moved out of OfficeClient, one job.
#include "jixiao/client/form_operations.h"

#include <algorithm>
#include <map>

#include "jixiao/common/cell_ref.h"
#include "jixiao/common/form_json.h"

namespace jixiao::client {
using sync::ClientReplica;
using sync::FormReplica;

Result<FormId> FormOperations::resolve_form(std::string_view id_or_prefix) const {
  auto r = rep();
  if (!r) return r.status();
  const std::string wanted(id_or_prefix);
  std::vector<FormId> matches;
  for (const sync::FormSummary& f : (*r)->forms()) {
    if (f.id == wanted) return f.id;
    if (f.id.rfind(wanted, 0) == 0) matches.push_back(f.id);
  }
  if (wanted.size() < 8) {
    return Status::invalid_argument("表单编号“" + wanted + "”太短：至少写前 8 位", "prefix too short");
  }
  if (matches.empty()) return Status::not_found("本机没有编号为“" + wanted + "”的表单", wanted);
  if (matches.size() > 1) {
    return Status::invalid_argument("编号“" + wanted + "”对应 " + std::to_string(matches.size()) + " 张表单，请多写几位",
                                    "ambiguous prefix");
  }
  return matches.front();
}

Result<std::vector<FormListing>> FormOperations::forms() const {
  auto r = rep();
  if (!r) return r.status();
  std::vector<FormListing> out;
  for (const sync::FormSummary& f : (*r)->forms()) {
    FormListing l;
    l.summary = f;
    auto v = (*r)->view(f.id);
    if (v) {
      const Form& form = v->form;
      for (const char* key : {"project_name", "title", "department_name"}) {
        if (!form.field(key).text.empty()) {
          l.project_name = form.field(key).text;
          break;
        }
      }
      if (const FormTemplate* t = text_.template_of(form)) l.template_title = t->title;
      const workflow::SubmissionState& s = v->workflow;
      switch (s.phase) {
        case workflow::Phase::kDraft:
        case workflow::Phase::kReturned:
          l.state_text = std::string(workflow::phase_name(s.phase));
          l.holder = workflow::Holder{"", l.state_text, Role::kPreparer, form.unit_code};
          break;
        case workflow::Phase::kInReview: {
          l.state_text = "审核中·" + text_.stage_name(s);
          const auto* st = text_.find_stage(s);
          if (st != nullptr) {
            const UnitCode unit = st->acting_unit == workflow::ActingUnit::kOwnUnit ? form.unit_code : UnitCode{};
            l.holder = workflow::Holder{st->id, st->name, st->role, unit};
          }
          break;
        }
        case workflow::Phase::kAccepted:
          l.state_text = std::string(workflow::phase_name(s.phase));
          break;
      }
    } else {
      l.state_text = "（无法读取）";
    }
    if (l.template_title.empty()) l.template_title = f.template_ref.id;
    out.push_back(std::move(l));
  }
  return out;
}

Result<std::vector<TodoItem>> FormOperations::todo() const {
  auto listing = forms();
  if (!listing) return listing.status();
  const User& me = *settings_.meta().user;
  std::vector<TodoItem> out;
  std::map<FormId, FormListing> by_id;
  for (const FormListing& l : *listing) {
    by_id[l.summary.id] = l;
    if (!l.holder || !me.has_role(l.holder->role)) continue;
    const bool own_unit = l.summary.unit_code == me.unit;
    bool mine = false;
    if (l.summary.phase == workflow::Phase::kDraft || l.summary.phase == workflow::Phase::kReturned) {
      mine = own_unit;
    } else if (l.summary.phase == workflow::Phase::kInReview) {
      // The acting unit is the form's own (holder carries it) or a unit above
      // it; a form of another unit is on this machine only once it reached a
      // stage of ours (sync_service.h: visibility).
      mine = l.holder->unit.empty() ? !own_unit : l.holder->unit == me.unit;
    }
    if (!mine) continue;
    TodoItem item;
    item.kind = TodoItem::Kind::kForm;
    item.form = l;
    switch (l.summary.phase) {
      case workflow::Phase::kDraft: item.what = "草稿，待填报并提交"; break;
      case workflow::Phase::kReturned: item.what = "已退回，待修改后重新提交"; break;
      default: item.what = "待您办理（" + l.holder->stage_name + "）"; break;
    }
    out.push_back(std::move(item));
  }
  auto r = rep();
  for (const sync::ConflictRecord& c : (*r)->open_conflicts()) {
    if (c.winner.author != me.id && c.loser.author != me.id && !me.has_role(Role::kPreparer)) continue;
    TodoItem item;
    item.kind = TodoItem::Kind::kConflict;
    if (auto it = by_id.find(c.form_id); it != by_id.end()) item.form = it->second;
    auto v = (*r)->view(c.form_id);
    item.what = "冲突：" + (v ? text_.describe_cell(v->form, c.cell) : c.cell.to_string());
    item.ref = c.id;
    out.push_back(std::move(item));
  }
  for (const sync::RejectedChange& rc : (*r)->rejected()) {
    if (rc.state != sync::RejectedState::kWaiting) continue;
    TodoItem item;
    item.kind = TodoItem::Kind::kRejected;
    if (auto it = by_id.find(rc.op.form_id); it != by_id.end()) item.form = it->second;
    item.what = "被拒绝的修改：" + describe_op(rc.op) + "（" + rc.message + "）";
    item.ref = rc.op.id;
    out.push_back(std::move(item));
  }
  return out;
}

Result<FormId> FormOperations::create_form(const std::string& template_id, std::optional<int> fiscal_year,
                                         const std::optional<FormId>& from_target) {
  auto r = rep();
  if (!r) return r.status();
  ClientReplica& rep = **r;
  std::optional<Form> target;
  if (from_target) {
    auto v = rep.view(*from_target);
    if (!v) return v.status();
    const FormTemplate* tt = text_.template_of(v->form);
    if (tt == nullptr || tt->kind != "project_target") {
      return Status::invalid_argument("表单 " + *from_target + " 不是项目绩效目标表，不能作为来源", "not a target form");
    }
    target = v->form;
  }
  const FormTemplate* tmpl = text_.templates().latest(template_id);
  if (tmpl == nullptr) {
    return Status::invalid_argument("未知的表单模板“" + template_id + "”", "unknown template " + template_id);
  }
  const int year = fiscal_year.value_or(target ? target->fiscal_year : 0);
  if (year < 2000 || year > 2100) return Status::invalid_argument("需要指定年度（如 2021）", "year");
  std::optional<MoneyUnit> unit;
  if (target && std::find(tmpl->money_units.begin(), tmpl->money_units.end(), target->money_unit) != tmpl->money_units.end()) {
    unit = target->money_unit;
  }
  auto id = rep.create_form(template_id, year, unit);
  if (!id) return id.status();
  if (!target) return id;
  // Copy what the target form fixed before the year. Each copy is its own
  // durable edit; a cell this template lacks is skipped.
  const MoneyUnit mu = target->money_unit;
  auto copy_field = [&](const char* from, const char* to) -> Status {
    const CellValue& v = target->field(from);
    if (v.is_blank() || tmpl->field(to) == nullptr) return Status::ok();
    return rep.set_cell(*id, CellRef::field(to), v.display(mu));
  };
  for (auto [from, to] : {std::pair{"project_name", "project_name"}, std::pair{"project_code", "project_code"},
                          std::pair{"goal", "goal_expected"}}) {
    if (auto s = copy_field(from, to); !s) return s;
  }
  const TableDef* ind = tmpl->table("indicators");
  const Table* rows = target->table("indicators");
  if (ind != nullptr && ind->dynamic_rows && rows != nullptr) {
    for (const Row& row : rows->rows) {
      std::vector<std::pair<std::string, std::string>> cells;
      for (const char* col : {"level1", "level2", "level3", "target"}) {
        const CellValue& v = row.cell(col);
        if (!v.is_blank() && ind->column(col) != nullptr) cells.emplace_back(col, v.display(mu));
      }
      auto added = rep.insert_row(*id, "indicators", "", cells);
      if (!added) return added.status();
    }
  }
  return id;
}

Result<FormReplica> FormOperations::view(const FormId& form) const {
  auto r = rep();
  if (!r) return r.status();
  return (*r)->view(form);
}

Result<std::string> FormOperations::form_json(const FormId& form) const {
  auto v = view(form);
  if (!v) return v.status();
  const FormTemplate* t = text_.template_of(v->form);
  if (t == nullptr) return Status::not_found("本机没有该表单的模板 " + v->form.template_ref.id);
  return form_to_json(v->form, *t);
}

Status FormOperations::set_cell(const FormId& form, std::string_view cell, std::string_view text) {
  auto ref = CellRef::parse(cell);
  if (!ref) return ref.status();
  auto r = rep();
  if (!r) return r.status();
  return (*r)->set_cell(form, *ref, text);
}

Result<RowId> FormOperations::add_row(const FormId& form, const std::string& table,
                                    const std::vector<std::pair<std::string, std::string>>& cells) {
  auto r = rep();
  if (!r) return r.status();
  return (*r)->insert_row(form, table, "", cells);
}

Status FormOperations::delete_row(const FormId& form, const std::string& table, const RowId& row) {
  auto r = rep();
  if (!r) return r.status();
  auto v = (*r)->view(form);
  if (!v) return v.status();
  // A unique prefix of a row id is enough, as for forms.
  RowId full = row;
  if (const Table* t = v->form.table(table)) {
    std::vector<RowId> matches;
    for (const Row& rw : t->rows) {
      if (rw.id == row) {
        matches = {rw.id};
        break;
      }
      if (row.size() >= 8 && rw.id.rfind(row, 0) == 0) matches.push_back(rw.id);
    }
    if (matches.size() == 1) full = matches.front();
  }
  return (*r)->delete_row(form, table, full);
}

Result<CheckOutcome> FormOperations::check(const FormId& form) const {
  auto v = view(form);
  if (!v) return v.status();
  CheckOutcome out;
  out.form = v->form;
  out.tmpl = text_.template_of(out.form);
  if (out.tmpl == nullptr) return Status::not_found("本机没有该表单的模板 " + out.form.template_ref.id);
  out.report = check_form(out.form, *out.tmpl);
  return out;
}

// ---- workflow ----------------------------------------------------------------------------

namespace {
// A workflow action names the content hash of what the actor saw: the
// replica's view, which for a form created here and never synced is built
// exactly as the server will build it (the unit's name comes from the
// login), so it can be submitted offline and sent with its edits.
Status queue(ClientReplica* rep, const FormId& form, workflow::Action a, sync::WorkflowAction p = {}) {
  return rep->workflow_action(form, a, std::move(p));
}
}  // namespace

Status FormOperations::submit(const FormId& form) {
  auto r = rep();
  return r ? queue(*r, form, workflow::Action::kSubmit) : r.status();
}
Status FormOperations::approve(const FormId& form, const ApproveParams& params) {
  auto r = rep();
  if (!r) return r.status();
  sync::WorkflowAction p;
  p.reason = params.comment;
  p.evidence = params.evidence;
  return queue(*r, form, workflow::Action::kApprove, std::move(p));
}
Status FormOperations::return_form(const FormId& form, const std::string& reason, const std::string& to_stage) {
  if (reason.empty()) return Status::invalid_argument("退回必须写明原因", "reason");
  auto r = rep();
  if (!r) return r.status();
  sync::WorkflowAction p;
  p.reason = reason;
  p.return_to_stage = to_stage;
  return queue(*r, form, workflow::Action::kReturn, std::move(p));
}
Status FormOperations::withdraw(const FormId& form) {
  auto r = rep();
  return r ? queue(*r, form, workflow::Action::kWithdraw) : r.status();
}
Status FormOperations::resubmit(const FormId& form) {
  auto r = rep();
  return r ? queue(*r, form, workflow::Action::kResubmit) : r.status();
}
Status FormOperations::accept(const FormId& form, const std::string& comment) {
  auto r = rep();
  if (!r) return r.status();
  sync::WorkflowAction p;
  p.reason = comment;
  return queue(*r, form, workflow::Action::kAccept, std::move(p));
}

// ---- history, conflicts, rejected --------------------------------------------------------

Result<std::vector<sync::ConflictRecord>> FormOperations::conflicts(const std::optional<FormId>& form) const {
  auto r = rep();
  if (!r) return r.status();
  std::vector<sync::ConflictRecord> out;
  for (auto& c : (*r)->open_conflicts()) {
    if (!form || c.form_id == *form) out.push_back(std::move(c));
  }
  return out;
}

Status FormOperations::resolve(const FormId& form, const std::string& conflict_id, sync::Resolution resolution,
                             std::string_view new_value) {
  auto r = rep();
  if (!r) return r.status();
  std::string full = conflict_id;
  auto v = (*r)->view(form);
  if (!v) return v.status();
  if (v->conflicts.count(conflict_id) == 0 && conflict_id.size() >= 8) {
    std::vector<std::string> matches;
    for (const auto& [id, c] : v->conflicts) {
      if (id.rfind(conflict_id, 0) == 0) matches.push_back(id);
    }
    if (matches.size() == 1) full = matches.front();
  }
  return (*r)->resolve_conflict(form, full, resolution, new_value);
}

Result<std::vector<sync::RejectedChange>> FormOperations::rejected(const std::optional<FormId>& form) const {
  auto r = rep();
  if (!r) return r.status();
  std::vector<sync::RejectedChange> out;
  for (auto& c : (*r)->rejected()) {
    if (c.state != sync::RejectedState::kWaiting) continue;
    if (!form || c.op.form_id == *form) out.push_back(std::move(c));
  }
  return out;
}

Result<std::size_t> FormOperations::reapply(const FormId& form) {
  auto r = rep();
  if (!r) return r.status();
  return (*r)->reapply_rejected(form);
}

Status FormOperations::discard(std::string_view op_id) {
  auto r = rep();
  if (!r) return r.status();
  std::vector<sync::OpId> matches;
  for (const auto& c : (*r)->rejected()) {
    if (c.state != sync::RejectedState::kWaiting) continue;
    if (c.op.id == op_id) {
      matches = {c.op.id};
      break;
    }
    if (op_id.size() >= 8 && c.op.id.rfind(op_id, 0) == 0) matches.push_back(c.op.id);
  }
  if (matches.empty()) return Status::not_found("没有编号为“" + std::string(op_id) + "”的待重新提交的修改", std::string(op_id));
  if (matches.size() > 1) return Status::invalid_argument("编号“" + std::string(op_id) + "”对应多项修改，请多写几位");
  return (*r)->discard_rejected(matches.front());
}

std::string FormOperations::describe_op(const sync::Operation& op) const {
  auto r = rep();
  if (!r) return text_.describe_op(op, nullptr);
  auto v = (*r)->view(op.form_id);
  return text_.describe_op(op, v ? &v->form : nullptr);
}

}  // namespace jixiao::client
