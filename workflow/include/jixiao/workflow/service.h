// A thread-safe, in-memory home for submissions and their audit log: what
// the server does with SQLite, done with a mutex, so the workflow can be
// exercised end to end (and concurrently) without a database.
//
// act() loads the state, asks the engine, and on success stores the new
// state and appends its audit events as one step; on refusal it appends the
// refusal's audit event. Two requests for one submission are serialized and
// the state version makes the loser's request fail with
// Refusal::kStateChanged.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "jixiao/common/status.h"
#include "jixiao/workflow/audit_log.h"
#include "jixiao/workflow/engine.h"

namespace jixiao::workflow {

class WorkflowService {
 public:
  // `engines` are borrowed (one per definition version in use) and must
  // outlive the service; a submission is routed to the engine whose
  // definition id and version it records.
  explicit WorkflowService(std::vector<const WorkflowEngine*> engines);

  // Adds a new draft. kInvalidArgument if the id is taken.
  Status create(SubmissionState draft);

  // Applies `command` to submission `id`. kNotFound for an unknown id; the
  // engine's refusals otherwise.
  Result<SubmissionState> act(const std::string& id, const Command& command);

  // Audits a login attempt (the server's login path calls this).
  void record_login(const AuditEvent& login);

  std::optional<SubmissionState> get(const std::string& id) const;
  std::vector<SubmissionState> all() const;
  // A copy of the log's records.
  std::vector<AuditRecord> audit_records() const;
  Result<SignedTreeHead> seal(const TreeHeadSigner& signer, const Clock& clock);

 private:
  const WorkflowEngine* engine_for(const SubmissionState& s) const;

  // Constant after construction.
  std::vector<const WorkflowEngine*> engines_;

  mutable std::mutex mutex_;
  std::map<std::string, SubmissionState> states_;  // GUARDED_BY(mutex_)
  AuditLog log_;                                   // GUARDED_BY(mutex_)
};

}  // namespace jixiao::workflow
