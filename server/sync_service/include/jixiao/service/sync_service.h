// The server's sync service: assigns a global sequence number (ServerSeq)
// to every operation it accepts, has each decided (sync/decide.h), stores
// what was decided in the request's transaction (store/store.h), and answers
// each client with everything it may see since its cursor.
//
// Who may see what (a unit's users share it):
// - a form's own unit: always;
// - the parent unit (the city over a district): from the moment the form
//   first reaches a stage the parent acts at;
// - the finance bureau: from the moment the form first reaches it.
// Visibility never shrinks, so a cursor plus "snapshot of forms that became
// visible after the cursor" gives every client exactly its forms.
//
// The directory is live: units, users and roles are read from the store,
// and re-read whenever its directory_version changed (an administrator in
// this process or another added a user, changed roles or disabled one), so
// a change takes effect at the next message.
//
// One request is one write transaction of the store: its accepted
// operations, their log entries, their results (for idempotent replays),
// the replicas they changed with their index columns and the audit records
// of what happened commit together, so an answered request is durable.
// Thread-safe: requests are serialized by the store's writer.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "jixiao/common/form_template.h"
#include "jixiao/common/org.h"
#include "jixiao/common/status.h"
#include "jixiao/store/store.h"
#include "jixiao/sync/model.h"
#include "jixiao/sync/protocol.h"
#include "jixiao/workflow/audit_log.h"
#include "jixiao/workflow/clock.h"
#include "jixiao/workflow/definition.h"

namespace jixiao::server {

// Units and users as a value (tests, imports, seeding a store).
struct Directory {
  Organisation organisation;
  std::map<UserId, User> users;
};

// Who sent a request: established by the transport (login), not by the
// request's own fields, which must agree with it.
struct SessionIdentity {
  UserId user;
  sync::DeviceId device;
};

// The password hash given to users seeded without a password: no password
// verifies against it.
inline constexpr const char* kNoPassword = "!";

// Adds `directory`'s units (parents first, in its order) and users to the
// store, in one transaction. Users get kNoPassword.
Status seed_directory(store::Store& store, const Directory& directory);

// FormIndex of a replica: the store keeps it beside the replica, and the
// ladder's 1 → 2 step fills it for existing forms with this.
store::Indexer form_indexer(const TemplateRegistry& templates, std::vector<workflow::WorkflowDefinition> definitions,
                            const workflow::Clock& clock);

class SyncService {
 public:
  // `store`, `templates` and `clock` are borrowed; `definitions` are the
  // workflow definitions by unit level (district and city defaults).
  static Result<std::unique_ptr<SyncService>> open(store::Store& store, const TemplateRegistry& templates,
                                                   std::vector<workflow::WorkflowDefinition> definitions,
                                                   const workflow::Clock& clock);
  // For tests and tools: a store of its own at `db_path` (":memory:"
  // allowed), created if missing and seeded with `directory`.
  static Result<std::unique_ptr<SyncService>> open_seeded(const std::string& db_path, const Directory& directory,
                                                          const TemplateRegistry& templates,
                                                          std::vector<workflow::WorkflowDefinition> definitions,
                                                          const workflow::Clock& clock);
  ~SyncService();
  SyncService(const SyncService&) = delete;
  SyncService& operator=(const SyncService&) = delete;

  // One request from an authenticated session. A request whose user or
  // device differs from the session's, or from an unknown or disabled user,
  // is answered with an error; so is a storage failure (kUnavailable, retry).
  Result<sync::SyncResponse> handle(const sync::SyncRequest& request, const SessionIdentity& who);

  // Decodes a message, handles it, encodes the answer (a SyncResponse or an
  // ErrorResponse): what a transport calls with the bytes it received.
  // `peer`: the connection's negotiated wire options; the request is read
  // and the answer encoded for them.
  std::string handle_bytes(std::string_view request, const SessionIdentity& who,
                           const WireOptions& peer = WireOptions{});

  // Appends an event to the audit chain in its own transaction: for what
  // happens outside sync requests (logins, administration).
  Status record_audit(workflow::AuditEvent event);

  store::Store& store() { return store_; }

  // ---- inspection (tests, administration) ---------------------------------------
  sync::ServerSeq head() const;
  Result<sync::FormReplica> replica(const FormId& form) const;
  // replica_hash() of every form `user` may see now.
  std::map<FormId, std::string> visible_replica_hashes(const UserId& user) const;
  // Every op id the server accepted (with its seq) or rejected.
  std::map<sync::OpId, sync::OpResult> op_results() const;
  std::vector<workflow::AuditRecord> audit_records() const;

 private:
  struct Impl;
  SyncService(store::Store& store, std::unique_ptr<Impl> impl);
  std::unique_ptr<store::Store> owned_store_;
  store::Store& store_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jixiao::server
