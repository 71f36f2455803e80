// Why the workflow said no. Every refusal has a stable numeric code and key
// (listed in docs/workflow.md; never renumbered, only appended: they travel to
// clients and into the audit log), a fixed Chinese message for the user, and
// the StatusCode that tells the caller what to do next.
//
// The refusal rides inside a common Status: reason() is the numeric code,
// message() the Chinese text (possibly followed by "：" and a specific), and
// detail() starts with "WF<code> <key>:" (for logs) followed by the precise
// English detail. refusal_of() reads the code back, so callers and tests
// compare codes, never strings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "jixiao/common/status.h"

namespace jixiao::workflow {

// Hundreds group the refusals by the StatusCode they carry:
// 1xx kPermissionDenied, 2xx kFailedPrecondition, 3xx kInvalidArgument,
// 4xx kConflict.
enum class Refusal : std::uint16_t {
  // --- the caller may not do this (kPermissionDenied)
  kUserDisabled = 101,            // 您的账号已停用，不能办理业务
  kConflictingRoles = 102,        // 账号角色不符合三员分立要求，不能办理业务
  kAdminNoBusiness = 103,         // 系统管理员、安全管理员、审计管理员不能办理表单业务
  kOutOfScope = 104,              // 该表单不在您的管辖范围内
  kRoleNotPermitted = 105,        // 您的角色不能办理此操作
  kNotActingUnit = 106,           // 当前环节不由您所在的单位办理
  kSelfReview = 107,              // 您不能审核自己提交的表单
  kConsecutiveStages = 108,       // 同一人不能连续审核同一次提交的两个环节
  kNotSubmitter = 109,            // 只有提交人可以撤回该表单
  kReturnTargetNotPermitted = 110,  // 只有财政局可以指定退回的环节
  kEditNotPermitted = 111,        // 只有本单位的填报人可以修改表单内容
  // --- not in this state (kFailedPrecondition)
  kActionNotAllowedInState = 201,  // 表单当前状态下不能执行该操作
  kWithdrawTooLate = 202,          // 下一环节已经办理，不能撤回
  kNotEditableInState = 203,       // 表单已提交审核，只有草稿或被退回的表单可以修改
  kDefinitionMismatch = 204,       // 该表单的审批流程版本与当前流程不一致
  kNoActingUnit = 205,             // 找不到本环节的办理单位
  // --- the request itself is wrong (kInvalidArgument)
  kReturnReasonRequired = 301,    // 退回必须填写原因
  kEvidenceIncomplete = 302,      // 会议环节必须填写完整的会议记录
  kEvidenceMismatch = 303,        // 会议记录与本环节不符
  kReturnTargetInvalid = 304,     // 只能退回到本环节之前经过的环节
  kContentHashRequired = 305,     // 缺少表单内容摘要
  kInvalidAmount = 306,           // 表单金额无效
  kInvalidRound = 307,            // 评价批次设置有误
  // --- the state moved under the caller (kConflict)
  kStaleContent = 401,            // 该表单在您审阅后已被修改，请审核最新版本
  kStateChanged = 402,            // 该表单已被他人处理，请刷新后重试
};

// "self_review": stable, for files, logs and the wire.
std::string_view refusal_key(Refusal r);
// The fixed Chinese message.
std::string_view refusal_message(Refusal r);
StatusCode refusal_status_code(Refusal r);

// A non-OK Status for `r`. `specific` (Chinese, optional) is appended to the
// message after "："; `detail` (English) follows the "WF<code> <key>: " tag.
Status refuse(Refusal r, std::string detail, std::string_view specific = {});

// The refusal carried by `status`, if it was made by refuse().
std::optional<Refusal> refusal_of(const Status& status);

}  // namespace jixiao::workflow
