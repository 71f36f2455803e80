#include "jixiao/workflow/service.h"

namespace jixiao::workflow {

WorkflowService::WorkflowService(std::vector<const WorkflowEngine*> engines) : engines_(std::move(engines)) {}

const WorkflowEngine* WorkflowService::engine_for(const SubmissionState& s) const {
  for (const WorkflowEngine* e : engines_) {
    if (e->definition().id == s.definition_id && e->definition().version == s.definition_version) return e;
  }
  return nullptr;
}

Status WorkflowService::create(SubmissionState draft) {
  std::lock_guard lock(mutex_);
  if (engine_for(draft) == nullptr) {
    return Status::invalid_argument("该表单的审批流程不存在",
                                    "no engine for " + draft.definition_id + "@" +
                                        std::to_string(draft.definition_version));
  }
  const std::string id = draft.submission_id;
  if (!states_.emplace(id, std::move(draft)).second) {
    return Status::invalid_argument("表单编号重复", "submission " + id + " exists");
  }
  return Status::ok();
}

Result<SubmissionState> WorkflowService::act(const std::string& id, const Command& command) {
  std::lock_guard lock(mutex_);
  const auto it = states_.find(id);
  if (it == states_.end()) return Status::not_found("找不到该表单", "submission " + id);
  const WorkflowEngine* engine = engine_for(it->second);
  if (engine == nullptr) {
    return Status::internal("该表单的审批流程不存在", "no engine for " + it->second.definition_id);
  }
  auto transition = engine->apply(it->second, command);
  if (!transition) {
    log_.append(engine->refusal_event(it->second, command, transition.status()));
    return transition.status();
  }
  it->second = transition->state;
  for (auto& e : transition->events) log_.append(std::move(e));
  return it->second;
}

void WorkflowService::record_login(const AuditEvent& login) {
  std::lock_guard lock(mutex_);
  log_.append(login);
}

std::optional<SubmissionState> WorkflowService::get(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto it = states_.find(id);
  if (it == states_.end()) return std::nullopt;
  return it->second;
}

std::vector<SubmissionState> WorkflowService::all() const {
  std::lock_guard lock(mutex_);
  std::vector<SubmissionState> out;
  for (const auto& [id, s] : states_) out.push_back(s);
  return out;
}

std::vector<AuditRecord> WorkflowService::audit_records() const {
  std::lock_guard lock(mutex_);
  return {log_.records().begin(), log_.records().end()};
}

Result<SignedTreeHead> WorkflowService::seal(const TreeHeadSigner& signer, const Clock& clock) {
  std::lock_guard lock(mutex_);
  return log_.seal(signer, clock);
}

}  // namespace jixiao::workflow
