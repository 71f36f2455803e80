// What happened, as the audit log records it: one AuditEvent per change of
// content, workflow action, login or refused request. Events are values; the
// engine returns them beside the state they describe so the server writes
// both in one transaction (audit_log.h turns an event into a chained record).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jixiao/common/org.h"
#include "jixiao/common/status.h"
#include "jixiao/workflow/clock.h"

namespace jixiao::workflow {

// Stored in every record; never renumbered, only appended.
enum class AuditKind : std::uint8_t {
  kContentChange = 1,   // a cell of a form changed: cell, old, new
  kWorkflowAction = 2,  // 提交/通过/退回/撤回/重新提交/受理, with reason or evidence
  kLogin = 3,           // a login attempt, successful or not
  kRefusal = 4,         // a request the server refused, with its refusal code
  kRoundOpened = 5,     // the finance bureau opened a self-evaluation round
  kAdministration = 6,  // accounts and units changed, a database restored
};
std::string_view audit_kind_key(AuditKind kind);  // "content_change" …

struct AuditField {
  std::string key;
  std::string value;
  friend bool operator==(const AuditField&, const AuditField&) = default;
};

struct AuditEvent {
  AuditKind kind = AuditKind::kWorkflowAction;
  TimePoint at{};
  UserId actor;        // login name; may be empty for a failed login of an unknown name
  std::string device;  // the device the request came from
  std::string subject;  // what it is about: a submission id, a form id, a round id
  std::string action;   // "approve", "cell_change", "login" …
  // Details. The canonical encoding sorts them (docs/audit.md), so their
  // order here carries no meaning; keys are unique.
  std::vector<AuditField> fields;

  // The value of `key`, or nullptr.
  const std::string* field(std::string_view key) const;
  void set(std::string key, std::string value);

  friend bool operator==(const AuditEvent&, const AuditEvent&) = default;
};

// One cell of a form changed from `old_value` to `new_value`.
AuditEvent content_change_event(TimePoint at, UserId actor, std::string device, std::string form_id,
                                std::string cell, std::string old_value, std::string new_value);

// An administrative change: `action` ("user_add", "user_disable" …) on
// `subject` (a login, a unit code, a file).
AuditEvent administration_event(TimePoint at, UserId actor, std::string subject, std::string action,
                                std::vector<AuditField> fields = {});

// A login attempt. `outcome` is "ok" or why it failed ("bad_password" …).
AuditEvent login_event(TimePoint at, UserId actor, std::string device, std::string outcome);

// A refused request: what was asked (`action`, about `subject`) and the
// refusal, with its StatusCode, workflow refusal code if any, and messages.
AuditEvent refusal_event(TimePoint at, UserId actor, std::string device, std::string subject,
                         std::string action, const Status& refusal);

}  // namespace jixiao::workflow
