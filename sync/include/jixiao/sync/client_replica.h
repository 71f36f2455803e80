// The office client's local replica: SQLite in WAL mode holding the forms the
// user may see (their confirmed replicas, as of the server's log), the pending
// local operations (outbox), conflict records (inside the replicas),
// rejected changes waiting to be re-applied (待重新提交), and the sync cursor.
//
// Every local edit writes the operation to the outbox in one transaction: an
// edit is durable when the call returns. Applying a server response (acks,
// rejections, snapshots, log entries, the new cursor) is one transaction too,
// so a crash leaves either the old state or the new one.
//
// What the user sees of a form ("view") is its confirmed replica with the
// pending operations of this device applied on top (merge.h: apply_local).
//
// Not thread-safe: one owner (the client process's sync loop and its local
// API run on one thread or under the caller's lock; ClientService's lock).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jixiao/common/form_template.h"
#include "jixiao/common/org.h"
#include "jixiao/common/status.h"
#include "jixiao/sync/hlc.h"
#include "jixiao/sync/model.h"
#include "jixiao/sync/protocol.h"
#include "jixiao/workflow/clock.h"

namespace jixiao::sync {

struct ClientIdentity {
  User user;        // who works on this machine (unit, roles)
  DeviceId device;  // this installation
  // The unit's name as the server's directory has it (from the login): a
  // form created here starts exactly as the server will create it, so its
  // content hash matches and it can be submitted before it was ever synced.
  std::string unit_name;
};

// A change the server refused, kept on the author's machine.
enum class RejectedState : std::uint8_t {
  kWaiting = 0,    // 待重新提交: may be re-applied (e.g. after the form is returned)
  kReapplied = 1,  // re-applied as a new operation
  kDiscarded = 2,  // the user let it go
};

struct RejectedChange {
  Operation op;
  StatusCode code = StatusCode::kOk;
  std::uint16_t reason = 0;  // workflow refusal or SyncReason
  std::string message;       // Chinese, as the server said it
  RejectedState state = RejectedState::kWaiting;
};

// One line of a form's local history, recorded by apply_response in its
// transaction that applies it (table `history`): every received log entry
// applied, this device's own accepted operations (the server leaves their
// plain entries out, or answers with a snapshot), and every snapshot
// applied.
struct HistoryRecord {
  enum class Kind : std::uint8_t { kEntry = 0, kOwn = 1, kSnapshot = 2 };
  Kind kind = Kind::kEntry;
  FormId form;
  ServerSeq seq = 0;
  OpId op_id;               // empty for a snapshot
  UserId author;            // empty for a snapshot
  std::int64_t wall_ms = 0; // the author's hybrid time; a snapshot: when it was applied
  std::optional<LogEntry> entry;   // kEntry
  std::optional<Operation> op;     // kOwn
};

struct FormSummary {
  FormId id;
  TemplateRef template_ref;
  UnitCode unit_code;
  std::string unit_name;
  int fiscal_year = 0;
  workflow::Phase phase = workflow::Phase::kDraft;
  std::string stage_id;
  std::size_t pending_ops = 0;     // this device's, not yet confirmed
  std::size_t open_conflicts = 0;
  std::size_t waiting_rejected = 0;
};

class ClientReplica {
 public:
  // Opens (creating if needed) the replica at `path`; ":memory:" for tests.
  // The identity's device id is stored on first open and must match later.
  // `templates` and `clock` are borrowed and must outlive the replica.
  static Result<std::unique_ptr<ClientReplica>> open(const std::string& path, ClientIdentity who,
                                                     const TemplateRegistry& templates, const workflow::Clock& clock);
  ~ClientReplica();
  ClientReplica(const ClientReplica&) = delete;
  ClientReplica& operator=(const ClientReplica&) = delete;

  const ClientIdentity& identity() const;

  // ---- local edits (each durable when it returns) -----------------------------
  // A new form of the latest version of `template_id` for the user's unit.
  Result<FormId> create_form(const std::string& template_id, int fiscal_year,
                             std::optional<MoneyUnit> money_unit = std::nullopt);
  // Sets a cell from text as a person types it (parsed per the template;
  // a parse error is returned and nothing is written). Coalesces: if the
  // cell's latest SetCell in the outbox was never sent, is not acknowledged
  // and only content edits of this form follow it, it is replaced by one
  // SetCell with the new value and the first one's base_value and base_seq.
  Status set_cell(const FormId& form, const CellRef& cell, std::string_view text);
  Status set_cell_value(const FormId& form, const CellRef& cell, const CellValue& value);
  // Adds a row (a fresh UUID) after `after` (empty: at the end).
  Result<RowId> insert_row(const FormId& form, const std::string& table, const RowId& after,
                           const std::vector<std::pair<std::string, std::string>>& cells);
  Status delete_row(const FormId& form, const std::string& table, const RowId& row);
  // 提交/通过/退回/撤回/重新提交/受理. `params` gives reason, evidence,
  // return_to_stage; expected_version and content_hash are filled from what
  // this replica shows the user.
  Status workflow_action(const FormId& form, workflow::Action action, WorkflowAction params = {});
  Status resolve_conflict(const FormId& form, const std::string& conflict_id, Resolution resolution,
                          std::string_view new_text = {});
  // Re-applies the form's waiting rejected changes as new operations on top of
  // the current state (after a return). Returns how many.
  Result<std::size_t> reapply_rejected(const FormId& form);
  Status discard_rejected(const OpId& op);
  // 财政局审核人: opens a self-evaluation round (a fresh id when spec has none).
  Result<std::string> open_round(workflow::RoundSpec spec);

  // ---- what the user sees -----------------------------------------------------
  Result<FormReplica> view(const FormId& form) const;       // confirmed + pending
  Result<FormReplica> confirmed(const FormId& form) const;  // as the server last said
  std::vector<FormSummary> forms() const;
  std::vector<ConflictRecord> open_conflicts() const;
  std::vector<RejectedChange> rejected() const;
  std::vector<Operation> pending() const;  // the outbox, oldest first
  std::size_t outbox_size() const;         // pending().size(), without decoding
  ServerSeq cursor() const;
  // The round reports of the last sync (finance bureau and city users).
  std::vector<RoundReport> rounds() const;

  // ---- sync -------------------------------------------------------------------
  // The next request: every outbox operation not yet acknowledged (oldest
  // first, up to `max_ops_bytes` of encoded operations) and the cursor.
  // The operations it carries are marked sent (durably) and never coalesce
  // with a later edit again; if that mark cannot be written, the request
  // carries no operations (a pull only).
  SyncRequest next_request(std::uint64_t request_id, std::uint32_t max_ops_bytes = kMaxRequestOpsBytes);
  // The same request without marking anything: what next_request would send.
  SyncRequest peek_request(std::uint64_t request_id, std::uint32_t max_ops_bytes = kMaxRequestOpsBytes) const;
  // Applies the answer to `sent` in one transaction: acknowledged operations
  // leave the outbox once the cursor covers their seq, rejected ones become
  // RejectedChange records, snapshots and entries update the confirmed
  // replicas (entries at or below a replica's last_seq are skipped), and the
  // cursor moves, and the history records what was applied (history()).
  // Idempotent: applying the same response twice changes nothing.
  Status apply_response(const SyncRequest& sent, const SyncResponse& response);
  // A large answer in bounded transactions: at most `items_per_transaction`
  // snapshots and entries per transaction (0, the default: one transaction),
  // the results with the first and the cursor with the last; `between` runs
  // after each batch but the last (the owner lets other threads in there).
  // A failure between batches leaves the old cursor: the next sync brings
  // the rest again.
  void set_apply_batching(std::size_t items_per_transaction, std::function<void()> between = nullptr);

  // The form's history, by seq; at one seq an entry comes before this
  // device's own record, which comes before a snapshot.
  Result<std::vector<HistoryRecord>> history(const FormId& form) const;

  // replica_hash() of every confirmed replica, for convergence checks.
  std::map<FormId, std::string> replica_hashes() const;

 private:
  struct Impl;
  explicit ClientReplica(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace jixiao::sync
