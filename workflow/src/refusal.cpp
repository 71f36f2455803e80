#include "jixiao/workflow/refusal.h"

#include <charconv>

namespace jixiao::workflow {

namespace {
struct RefusalInfo {
  Refusal refusal;
  std::string_view key;
  std::string_view message;
};

constexpr RefusalInfo kRefusals[] = {
    {Refusal::kUserDisabled, "user_disabled", "您的账号已停用，不能办理业务"},
    {Refusal::kConflictingRoles, "conflicting_roles", "账号角色不符合三员分立要求，不能办理业务"},
    {Refusal::kAdminNoBusiness, "admin_no_business",
     "系统管理员、安全管理员、审计管理员不能办理表单业务"},
    {Refusal::kOutOfScope, "out_of_scope", "该表单不在您的管辖范围内"},
    {Refusal::kRoleNotPermitted, "role_not_permitted", "您的角色不能办理此操作"},
    {Refusal::kNotActingUnit, "not_acting_unit", "当前环节不由您所在的单位办理"},
    {Refusal::kSelfReview, "self_review", "您不能审核自己提交的表单"},
    {Refusal::kConsecutiveStages, "consecutive_stages", "同一人不能连续审核同一次提交的两个环节"},
    {Refusal::kNotSubmitter, "not_submitter", "只有提交人可以撤回该表单"},
    {Refusal::kReturnTargetNotPermitted, "return_target_not_permitted",
     "只有财政局可以指定退回的环节"},
    {Refusal::kEditNotPermitted, "edit_not_permitted", "只有本单位的填报人可以修改表单内容"},
    {Refusal::kActionNotAllowedInState, "action_not_allowed_in_state", "表单当前状态下不能执行该操作"},
    {Refusal::kWithdrawTooLate, "withdraw_too_late", "下一环节已经办理，不能撤回"},
    {Refusal::kNotEditableInState, "not_editable_in_state",
     "表单已提交审核，只有草稿或被退回的表单可以修改"},
    {Refusal::kDefinitionMismatch, "definition_mismatch", "该表单的审批流程版本与当前流程不一致"},
    {Refusal::kNoActingUnit, "no_acting_unit", "找不到本环节的办理单位"},
    {Refusal::kReturnReasonRequired, "return_reason_required", "退回必须填写原因"},
    {Refusal::kEvidenceIncomplete, "evidence_incomplete", "会议环节必须填写完整的会议记录"},
    {Refusal::kEvidenceMismatch, "evidence_mismatch", "会议记录与本环节不符"},
    {Refusal::kReturnTargetInvalid, "return_target_invalid", "只能退回到本环节之前经过的环节"},
    {Refusal::kContentHashRequired, "content_hash_required", "缺少表单内容摘要"},
    {Refusal::kInvalidAmount, "invalid_amount", "表单金额无效"},
    {Refusal::kInvalidRound, "invalid_round", "评价批次设置有误"},
    {Refusal::kStaleContent, "stale_content", "该表单在您审阅后已被修改，请审核最新版本"},
    {Refusal::kStateChanged, "state_changed", "该表单已被他人处理，请刷新后重试"},
};

const RefusalInfo* info(Refusal r) {
  for (const auto& i : kRefusals) {
    if (i.refusal == r) return &i;
  }
  return nullptr;
}
}  // namespace

std::string_view refusal_key(Refusal r) {
  const RefusalInfo* i = info(r);
  return i == nullptr ? "unknown" : i->key;
}

std::string_view refusal_message(Refusal r) {
  const RefusalInfo* i = info(r);
  return i == nullptr ? "操作被拒绝" : i->message;
}

StatusCode refusal_status_code(Refusal r) {
  switch (static_cast<std::uint16_t>(r) / 100) {
    case 1: return StatusCode::kPermissionDenied;
    case 2: return StatusCode::kFailedPrecondition;
    case 3: return StatusCode::kInvalidArgument;
    case 4: return StatusCode::kConflict;
    default: return StatusCode::kInternal;
  }
}

Status refuse(Refusal r, std::string detail, std::string_view specific) {
  std::string message(refusal_message(r));
  if (!specific.empty()) {
    message += "：";
    message += specific;
  }
  std::string tagged = "WF" + std::to_string(static_cast<std::uint16_t>(r)) + " " +
                       std::string(refusal_key(r)) + ": " + detail;
  return Status(refusal_status_code(r), static_cast<std::uint16_t>(r), std::move(message), std::move(tagged));
}

std::optional<Refusal> refusal_of(const Status& status) {
  if (status.is_ok()) return std::nullopt;
  if (status.reason() != 0) {
    const auto r = static_cast<Refusal>(status.reason());
    if (info(r) != nullptr) return r;
  }
  // Older statuses carried the code only in the detail's tag; the tag opens the detail, or follows a location added by with_location()
  // ("/stages/2: WF105 role_not_permitted: ...").
  const std::string& d = status.detail();
  for (std::size_t at = d.find("WF"); at != std::string::npos; at = d.find("WF", at + 1)) {
    if (at != 0 && d[at - 1] != ' ') continue;
    std::uint16_t code = 0;
    const char* first = d.data() + at + 2;
    const auto [end, ec] = std::from_chars(first, d.data() + d.size(), code);
    if (ec != std::errc() || end == first || end == d.data() + d.size() || *end != ' ') continue;
    const auto r = static_cast<Refusal>(code);
    if (info(r) != nullptr) return r;
  }
  return std::nullopt;
}

}  // namespace jixiao::workflow
