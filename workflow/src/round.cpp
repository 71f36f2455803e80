#include "jixiao/workflow/round.h"

#include <algorithm>
#include <set>

#include "jixiao/common/text.h"
#include "jixiao/workflow/refusal.h"

namespace jixiao::workflow {

namespace {

// A notice number reads like 保财预[2021]4号 / 深财绩〔2020〕12号: an issuer,
// a bracketed four-digit year, a number, 号.
bool looks_like_notice_number(std::string_view s) {
  const auto cps = text::code_points(s);
  std::size_t i = 0;
  while (i < cps.size() && cps[i] != U'[' && cps[i] != U'〔' && cps[i] != U'【') ++i;
  if (i == 0 || i == cps.size()) return false;
  const char32_t close = cps[i] == U'[' ? U']' : cps[i] == U'〔' ? U'〕' : U'】';
  ++i;
  for (int d = 0; d < 4; ++d, ++i) {
    if (i >= cps.size() || cps[i] < U'0' || cps[i] > U'9') return false;
  }
  if (i >= cps.size() || cps[i] != close) return false;
  ++i;
  const std::size_t digits_from = i;
  while (i < cps.size() && cps[i] >= U'0' && cps[i] <= U'9') ++i;
  return i > digits_from && i + 1 == cps.size() && cps[i] == U'号';
}

bool reports_to(const Organisation& org, const UnitCode& unit, const UnitCode& bureau) {
  const Unit* u = org.find(unit);
  for (std::size_t hops = 0; u != nullptr && hops <= org.units().size(); ++hops) {
    if (u->finance_bureau == bureau) return true;
    u = u->parent.empty() ? nullptr : org.find(u->parent);
  }
  return false;
}

}  // namespace

Result<RoundOpening> open_round(const RoundSpec& spec, const User& actor, const std::string& device,
                                const Organisation& organisation, const Clock& clock) {
  const std::string what = "open round " + spec.round_id + " by " + actor.id;
  if (actor.disabled) return refuse(Refusal::kUserDisabled, what);
  if (Status s = validate_roles(actor); !s) return refuse(Refusal::kConflictingRoles, s.detail() + "; " + what);
  for (Role r : actor.roles) {
    if (is_admin_role(r)) return refuse(Refusal::kAdminNoBusiness, std::string(role_key(r)) + "; " + what);
  }
  if (!actor.has_role(Role::kFinanceReviewer)) {
    return refuse(Refusal::kRoleNotPermitted, "needs finance_reviewer; " + what, "评价批次应由财政局审核人发起");
  }
  const Unit* bureau = organisation.find(actor.unit);
  if (bureau == nullptr || bureau->level != UnitLevel::kFinanceBureau) {
    return refuse(Refusal::kNotActingUnit, "unit " + actor.unit + " is not a finance bureau; " + what,
                  "评价批次应由财政局发起");
  }
  if (text::trim(spec.round_id).empty()) return refuse(Refusal::kInvalidRound, "empty id; " + what, "缺少批次编号");
  if (spec.fiscal_year < 2000 || spec.fiscal_year > 2100) {
    return refuse(Refusal::kInvalidRound, "fiscal_year " + std::to_string(spec.fiscal_year) + "; " + what,
                  "预算年度“" + std::to_string(spec.fiscal_year) + "”不正确");
  }
  if (!looks_like_notice_number(text::trim(spec.notice_number))) {
    return refuse(Refusal::kInvalidRound, "notice_number " + spec.notice_number + "; " + what,
                  "通知文号“" + spec.notice_number + "”格式不正确，应如 保财预[2021]4号");
  }
  const TimePoint now = clock.now();
  if (spec.deadline <= now) {
    return refuse(Refusal::kInvalidRound, "deadline " + format_iso8601(spec.deadline) + "; " + what,
                  "截止时间" + format_chinese_date(spec.deadline) + "已过");
  }
  if (spec.requirements.empty()) {
    return refuse(Refusal::kInvalidRound, "no requirements; " + what, "没有指定需要报送的单位和表单");
  }
  std::set<UnitCode> units;
  for (const RoundRequirement& req : spec.requirements) {
    const Unit* u = organisation.find(req.unit);
    if (u == nullptr) {
      return refuse(Refusal::kInvalidRound, "unknown unit " + req.unit + "; " + what, "单位“" + req.unit + "”不存在");
    }
    if (!units.insert(req.unit).second) {
      return refuse(Refusal::kInvalidRound, "unit twice " + req.unit + "; " + what, "单位“" + u->name + "”重复");
    }
    if (u->level == UnitLevel::kFinanceBureau || !reports_to(organisation, req.unit, actor.unit)) {
      return refuse(Refusal::kOutOfScope, "unit " + req.unit + " does not report to " + actor.unit + "; " + what,
                    "单位“" + u->name + "”不向本财政局报送");
    }
    if (req.form_kinds.empty()) {
      return refuse(Refusal::kInvalidRound, "no kinds for " + req.unit + "; " + what,
                    "没有指定单位“" + u->name + "”需要报送的表单");
    }
    std::set<std::string> kinds;
    for (const auto& k : req.form_kinds) {
      if (text::trim(k).empty() || !kinds.insert(k).second) {
        return refuse(Refusal::kInvalidRound, "bad kind '" + k + "' for " + req.unit + "; " + what,
                      "单位“" + u->name + "”的表单种类为空或重复");
      }
    }
  }

  RoundOpening out;
  out.round.spec = spec;
  out.round.finance_bureau = actor.unit;
  out.round.opened_by = actor.id;
  out.round.opened_at = now;
  AuditEvent& e = out.event;
  e.kind = AuditKind::kRoundOpened;
  e.at = now;
  e.actor = actor.id;
  e.device = device;
  e.subject = spec.round_id;
  e.action = "open_round";
  e.set("fiscal_year", std::to_string(spec.fiscal_year));
  e.set("notice_number", spec.notice_number);
  e.set("deadline", format_iso8601(spec.deadline));
  e.set("finance_bureau", actor.unit);
  std::string reqs;
  for (const RoundRequirement& req : spec.requirements) {
    for (const auto& k : req.form_kinds) reqs += (reqs.empty() ? "" : ";") + req.unit + ":" + k;
  }
  e.set("requirements", reqs);
  return out;
}

std::string_view progress_name(ProgressKind k) {
  switch (k) {
    case ProgressKind::kNotStarted: return "未开始";
    case ProgressKind::kDraft: return "草稿";
    case ProgressKind::kReturned: return "已退回";
    case ProgressKind::kInReview: return "审核中";
    case ProgressKind::kSubmittedToFinance: return "已报送财政局";
    case ProgressKind::kAccepted: return "已受理";
  }
  return "?";
}

std::string FormProgress::describe() const {
  std::string out;
  if (kind == ProgressKind::kInReview || kind == ProgressKind::kSubmittedToFinance) {
    out = holder ? holder->stage_name + "（" + holder->unit + " " + std::string(role_name(holder->role)) + "）"
                 : std::string(progress_name(kind));
    if (kind == ProgressKind::kSubmittedToFinance) out = std::string(progress_name(kind)) + "，" + out;
  } else {
    out = std::string(progress_name(kind));
  }
  if (unassigned) out += "，待重新指派";
  if (return_count > 0) out += "，退回" + std::to_string(return_count) + "次";
  if (overdue) out += "，已逾期";
  return out;
}

std::vector<FormProgress> round_progress(const Round& round, std::span<const SubmissionState> submissions,
                                         std::span<const WorkflowEngine* const> engines, TimePoint now) {
  auto engine_for = [&](const SubmissionState& s) -> const WorkflowEngine* {
    for (const WorkflowEngine* e : engines) {
      if (e->definition().id == s.definition_id && e->definition().version == s.definition_version) return e;
    }
    return nullptr;
  };
  auto kind_of = [&](const SubmissionState& s, const WorkflowEngine* e) {
    switch (s.phase) {
      case Phase::kDraft: return ProgressKind::kDraft;
      case Phase::kReturned: return ProgressKind::kReturned;
      case Phase::kAccepted: return ProgressKind::kAccepted;
      case Phase::kInReview: {
        const StageDefinition* st = e != nullptr ? e->definition().find_stage(s.stage_id) : nullptr;
        return st != nullptr && st->acting_unit == ActingUnit::kFinanceBureau ? ProgressKind::kSubmittedToFinance
                                                                             : ProgressKind::kInReview;
      }
    }
    return ProgressKind::kNotStarted;
  };

  std::vector<FormProgress> out;
  for (const RoundRequirement& req : round.spec.requirements) {
    for (const std::string& form_kind : req.form_kinds) {
      FormProgress p;
      p.unit = req.unit;
      p.form_kind = form_kind;
      bool first = true;
      for (const SubmissionState& s : submissions) {
        if (s.round_id != round.spec.round_id || s.unit != req.unit || s.form_kind != form_kind) continue;
        const WorkflowEngine* e = engine_for(s);
        const ProgressKind k = kind_of(s, e);
        ++p.submissions;
        p.return_count += s.return_count;
        if (first || k < p.kind) {
          p.kind = k;
          p.holder = e != nullptr ? e->holder(s) : std::nullopt;
          first = false;
        }
      }
      p.overdue = now > round.spec.deadline && p.kind < ProgressKind::kSubmittedToFinance;
      out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace jixiao::workflow
