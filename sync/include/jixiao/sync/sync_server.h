// The server side of sync: assigns a global sequence number (ServerSeq) to
// every operation it accepts, checks each against the workflow and the
// sender's scope, applies or rejects it with a reason, and answers each
// client with everything it may see since its cursor.
//
// Who may see what (a unit's users share it):
// - a form's own unit: always;
// - the parent unit (the city over a district): from the moment the form
//   first reaches a stage the parent acts at;
// - the finance bureau: from the moment the form first reaches it.
// Visibility never shrinks, so a cursor plus "snapshot of forms that became
// visible after the cursor" gives every client exactly its forms.
//
// Storage: SQLite in WAL mode with synchronous=FULL; one BEGIN IMMEDIATE
// transaction per request holds the accepted operations, their log entries,
// their results (for idempotent replays), the replicas they changed and the
// audit records of what happened, so an answered request is durable.
//
// Thread-safe: requests are serialized (SQLite's single writer).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "jixiao/common/form_template.h"
#include "jixiao/common/org.h"
#include "jixiao/common/status.h"
#include "jixiao/sync/model.h"
#include "jixiao/sync/protocol.h"
#include "jixiao/workflow/audit_log.h"
#include "jixiao/workflow/clock.h"
#include "jixiao/workflow/definition.h"

namespace jixiao::sync {

// The accounts and units the server knows (issue 5 adds passwords, sessions).
struct Directory {
  Organisation organisation;
  std::map<UserId, User> users;
};

// Who sent a request: established by the transport (login), not by the
// request's own fields, which must agree with it.
struct SessionIdentity {
  UserId user;
  DeviceId device;
};

class SyncServer {
 public:
  // `definitions` are the workflow definitions by unit level (district and
  // city defaults); `templates`, `directory` and `clock` are borrowed.
  static Result<std::unique_ptr<SyncServer>> open(const std::string& db_path, const Directory& directory,
                                                  const TemplateRegistry& templates,
                                                  std::vector<workflow::WorkflowDefinition> definitions,
                                                  const workflow::Clock& clock);
  ~SyncServer();
  SyncServer(const SyncServer&) = delete;
  SyncServer& operator=(const SyncServer&) = delete;

  // One request from an authenticated session. A request whose user or
  // device differs from the session's, or from an unknown or disabled user,
  // is answered with an error; so is a storage failure (kUnavailable, retry).
  Result<SyncResponse> handle(const SyncRequest& request, const SessionIdentity& who);

  // Decodes a message, handles it, encodes the answer (a SyncResponse or an
  // ErrorResponse): what a transport calls with the bytes it received.
  // `peer`: the connection's negotiated wire options; the answer is encoded
  // for them.
  std::string handle_bytes(std::string_view request, const SessionIdentity& who,
                           const WireOptions& peer = WireOptions{});

  // Appends an event to the audit chain in its own transaction: for what
  // happens outside sync requests (logins, administration).
  Status record_audit(workflow::AuditEvent event);

  // ---- inspection (tests, administration) ---------------------------------------
  ServerSeq head() const;
  Result<FormReplica> replica(const FormId& form) const;
  // replica_hash() of every form `user` may see now.
  std::map<FormId, std::string> visible_replica_hashes(const UserId& user) const;
  // Every op id the server accepted (with its seq) or rejected.
  std::map<OpId, OpResult> op_results() const;
  std::vector<workflow::AuditRecord> audit_records() const;

 private:
  struct Impl;
  explicit SyncServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace jixiao::sync
