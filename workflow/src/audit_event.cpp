#include "jixiao/workflow/audit_event.h"

#include <algorithm>

#include "jixiao/workflow/refusal.h"

namespace jixiao::workflow {

std::string_view audit_kind_key(AuditKind kind) {
  switch (kind) {
    case AuditKind::kContentChange: return "content_change";
    case AuditKind::kWorkflowAction: return "workflow_action";
    case AuditKind::kLogin: return "login";
    case AuditKind::kRefusal: return "refusal";
    case AuditKind::kRoundOpened: return "round_opened";
    case AuditKind::kAdministration: return "administration";
  }
  return "unknown";
}

const std::string* AuditEvent::field(std::string_view key) const {
  const auto it = std::find_if(fields.begin(), fields.end(), [&](const AuditField& f) { return f.key == key; });
  return it == fields.end() ? nullptr : &it->value;
}

void AuditEvent::set(std::string key, std::string value) {
  const auto it = std::find_if(fields.begin(), fields.end(), [&](const AuditField& f) { return f.key == key; });
  if (it != fields.end()) {
    it->value = std::move(value);
  } else {
    fields.push_back({std::move(key), std::move(value)});
  }
}

AuditEvent administration_event(TimePoint at, UserId actor, std::string subject, std::string action,
                                std::vector<AuditField> fields) {
  AuditEvent e;
  e.kind = AuditKind::kAdministration;
  e.at = at;
  e.actor = std::move(actor);
  e.subject = std::move(subject);
  e.action = std::move(action);
  e.fields = std::move(fields);
  std::sort(e.fields.begin(), e.fields.end(), [](const AuditField& a, const AuditField& b) { return a.key < b.key; });
  return e;
}

AuditEvent content_change_event(TimePoint at, UserId actor, std::string device, std::string form_id,
                                std::string cell, std::string old_value, std::string new_value) {
  AuditEvent e;
  e.kind = AuditKind::kContentChange;
  e.at = at;
  e.actor = std::move(actor);
  e.device = std::move(device);
  e.subject = std::move(form_id);
  e.action = "cell_change";
  e.set("cell", std::move(cell));
  e.set("old", std::move(old_value));
  e.set("new", std::move(new_value));
  return e;
}

AuditEvent login_event(TimePoint at, UserId actor, std::string device, std::string outcome) {
  AuditEvent e;
  e.kind = AuditKind::kLogin;
  e.at = at;
  e.actor = std::move(actor);
  e.device = std::move(device);
  e.action = "login";
  e.set("outcome", std::move(outcome));
  return e;
}

AuditEvent refusal_event(TimePoint at, UserId actor, std::string device, std::string subject,
                         std::string action, const Status& refusal) {
  AuditEvent e;
  e.kind = AuditKind::kRefusal;
  e.at = at;
  e.actor = std::move(actor);
  e.device = std::move(device);
  e.subject = std::move(subject);
  e.action = std::move(action);
  e.set("status", std::string(status_code_name(refusal.code())));
  if (const auto r = refusal_of(refusal)) {
    e.set("refusal_code", std::to_string(static_cast<std::uint16_t>(*r)));
    e.set("refusal_key", std::string(refusal_key(*r)));
  }
  e.set("message", refusal.message());
  e.set("detail", refusal.detail());
  return e;
}

}  // namespace jixiao::workflow
