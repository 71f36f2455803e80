// The office client's operations: everything a person at a 科协 office does
// with jixiao, as a library. The `jixiao` command line is a thin layer over
// it; the local web page will call the same functions.
//
// OfficeClient is a facade over parts with one job each:
//   ClientSettings  (client_settings.h)  client.json and the unlock verifier
//   SyncLoop        (sync_loop.h)        connect, log in, sync
//   FormOperations  (form_operations.h)  forms, edits, workflow, conflicts
//   FormHistory     (form_history.h)     a form's history for people
//   DisplayText     (display_text.h)     Chinese text for cells, ops, effects
// JSON encodings of the results are in results_json.h.
//
// A data directory holds this installation's state:
//   client.json   server URL, CA file, login name and the user as the server
//                 last described them, device id (a UUID made at register),
//                 the session token, and the offline-unlock verifier
//                 (Argon2id, crypto_pwhash_str, of the password, stored at a
//                 successful online login). Written atomically (temp file +
//                 rename), mode 0600.
//   replica.db    the local replica (sync::ClientReplica): forms, outbox,
//                 conflicts, rejected changes, cursor, and the history of
//                 what it applied (log entries, snapshots, this device's
//                 accepted operations), which `history` reads. (A
//                 history.db of earlier versions is ignored.)
//
// Offline first: every form operation works without a server. Content edits
// and workflow actions are queued in the replica's outbox; nothing is sent
// before an online login succeeded on the connection that carries it (a
// token the server accepts, or the password), so a queued 提交 never leaves
// the machine on the strength of local state alone.
//
// Errors are Status values whose messages say what is wrong in Chinese and
// name no command (the command line adds its own hints from the detail):
// kInvalidArgument for input that is wrong (a cell name, a value, an
// ambiguous form id), kFailedPrecondition when this installation is not set
// up for the call, kUnavailable when the server cannot be reached,
// kPermissionDenied for a refused login, and the server's own code for its
// refusals. A failed call leaves everything already saved as it was.
//
// Not thread-safe: one owner (ClientService, client_service.h, is the
// thread-safe one).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jixiao/client/client_settings.h"
#include "jixiao/client/display_text.h"
#include "jixiao/client/form_history.h"
#include "jixiao/client/form_operations.h"
#include "jixiao/client/sync_loop.h"
#include "jixiao/client/transport.h"
#include "jixiao/common/form_template.h"
#include "jixiao/common/status.h"
#include "jixiao/sync/client_replica.h"
#include "jixiao/workflow/clock.h"
#include "jixiao/workflow/definition.h"

namespace jixiao::client {

struct ClientOptions {
  std::filesystem::path data_dir;
  // Borrowed; must outlive the client.
  const TemplateRegistry* templates = nullptr;
  // Workflow definitions, for stage names and whose turn it is (`todo`).
  std::vector<workflow::WorkflowDefinition> workflows;
  // Borrowed; nullptr: the system clock.
  const workflow::Clock* clock = nullptr;
  // nullptr: connect_websocket.
  TransportFactory connect;
  UnlockHashing hashing;
  std::chrono::milliseconds connect_timeout{15000};
  std::chrono::milliseconds request_timeout{30000};  // one answer
  std::chrono::milliseconds sync_deadline{600000};   // a whole sync
  std::string client_version = "jixiao 0.1.0";
  std::size_t apply_batch_items = 0;  // SyncLoopOptions::apply_batch_items
  std::function<void()> let_others_in;  // SyncLoopOptions::let_others_in
};

class OfficeClient {
 public:
  // Opens the data directory (creating it, mode 0700, if needed). The
  // replica is opened only once a user is known (after the first login).
  // `lock`: guards settings and replica against other threads while a sync
  // runs (ClientService passes its own; nullptr: one owner, no locking).
  static Result<std::unique_ptr<OfficeClient>> open(ClientOptions options, SyncLoop::Lock lock = nullptr);
  ~OfficeClient();
  OfficeClient(const OfficeClient&) = delete;
  OfficeClient& operator=(const OfficeClient&) = delete;

  const ClientMeta& meta() const;
  const std::filesystem::path& data_dir() const;

  // ---- accounts -------------------------------------------------------------------
  // Sets up this installation for `login` at `server_url` (a fresh device id
  // unless one exists for the same user and server), logs in with the
  // password and syncs for the first time. A failed login or sync leaves the
  // settings saved, so a later login / sync can finish the job.
  Status register_device(const std::string& server_url, const UserId& login_name, const std::string& ca_file,
                         const std::string& password, const SyncOptions& first_sync = {});
  // Online password login: a new session token, the user as the server knows
  // them, and a new offline-unlock verifier.
  Status login(const std::string& password);
  // Forgets the session token (the protocol has no logout message yet, so
  // the server's session simply expires). The unlock verifier stays.
  Status logout();
  // Checks the password against the verifier of the last online login,
  // offline. kPermissionDenied when it does not match.
  Status unlock(const std::string& password) const;

  // ---- sync ---------------------------------------------------------------------
  Result<SyncSummary> sync(const SyncOptions& options = {});

  // ---- forms (FormOperations) ---------------------------------------------------------
  Result<FormId> resolve_form(std::string_view id_or_prefix) const;
  Result<std::vector<FormListing>> forms() const;
  Result<std::vector<TodoItem>> todo() const;
  Result<FormId> create_form(const std::string& template_id, std::optional<int> fiscal_year,
                             const std::optional<FormId>& from_target = std::nullopt);
  Result<sync::FormReplica> view(const FormId& form) const;
  Result<std::string> form_json(const FormId& form) const;
  const FormTemplate* template_of(const Form& form) const;
  Status set_cell(const FormId& form, std::string_view cell, std::string_view text);
  Result<RowId> add_row(const FormId& form, const std::string& table,
                        const std::vector<std::pair<std::string, std::string>>& cells);
  Status delete_row(const FormId& form, const std::string& table, const RowId& row);
  Result<CheckOutcome> check(const FormId& form) const;

  Status submit(const FormId& form);
  Status approve(const FormId& form, const ApproveParams& params);
  Status return_form(const FormId& form, const std::string& reason, const std::string& to_stage = {});
  Status withdraw(const FormId& form);
  Status resubmit(const FormId& form);
  Status accept(const FormId& form, const std::string& comment = {});

  // ---- history, conflicts, rejected changes --------------------------------------------
  Result<std::vector<HistoryItem>> history(const FormId& form) const;
  Result<std::vector<sync::ConflictRecord>> conflicts(const std::optional<FormId>& form = std::nullopt) const;
  Status resolve(const FormId& form, const std::string& conflict_id, sync::Resolution resolution,
                 std::string_view new_value = {});
  Result<std::vector<sync::RejectedChange>> rejected(const std::optional<FormId>& form = std::nullopt) const;
  Result<std::size_t> reapply(const FormId& form);
  Status discard(std::string_view op_id);

  // ---- descriptions for people (DisplayText) ------------------------------------------
  std::string describe_cell(const Form& form, const CellRef& cell) const;
  std::string describe_op(const sync::Operation& op) const;
  std::string stage_name(const workflow::SubmissionState& state) const;

  // Outbox operations not yet confirmed (0 before the first login).
  std::size_t changes_waiting() const;

 private:
  struct Impl;
  explicit OfficeClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The default data directory: $JIXIAO_HOME, else ~/.local/share/jixiao.
std::filesystem::path default_data_dir();

// The workflow definitions shipped with the program: $JIXIAO_WORKFLOWS, else
// <exe dir>/../share/jixiao/workflow, else the source tree's.
std::string default_workflows_dir(const std::string& exe_path);
Result<std::vector<workflow::WorkflowDefinition>> load_workflows(const std::string& dir);

// SHA-256 (lower-case hex) of a file's bytes: meeting attachment hashes.
Result<std::string> sha256_file(const std::filesystem::path& file);

}  // namespace jixiao::client
