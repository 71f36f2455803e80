// The office client's operations: everything a person at a 科协 office does
// with jixiao, as a library. The `jixiao` command line is a thin layer over
// it; the local web page will call the same functions.
//
// A data directory holds this installation's state:
//   client.json   server URL, CA file, login name and the user as the server
//                 last described them, device id (a UUID made at register),
//                 the session token, and the offline-unlock verifier
//                 (Argon2id, crypto_pwhash_str, of the password, stored at a
//                 successful online login). Written atomically (temp file +
//                 rename), mode 0600.
//   replica.db    the local replica (sync::ClientReplica): forms, outbox,
//                 conflicts, rejected changes, cursor.
//                 It also keeps the history of what it applied (log
//                 entries, snapshots, this device's accepted operations),
//                 which `history` reads. (A history.db of earlier versions
//                 is ignored.)
//
// Offline first: every form operation works without a server. Content edits
// and workflow actions are queued in the replica's outbox; nothing is sent
// before an online login succeeded on the connection that carries it (a
// token the server accepts, or the password), so a queued 提交 never leaves
// the machine on the strength of local state alone.
//
// Errors are Status values with Chinese messages: kInvalidArgument for input
// that is wrong (a cell name, a value, an ambiguous form id),
// kFailedPrecondition when this installation is not set up for the call,
// kUnavailable when the server cannot be reached, kPermissionDenied for a
// refused login, and the server's own code for its refusals. A failed call
// leaves everything already saved as it was.
//
// Not thread-safe: one owner. Several processes may use one data directory
// (SQLite WAL with a busy timeout); the daemon reopens it on every cycle.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jixiao/client/transport.h"
#include "jixiao/common/checker.h"
#include "jixiao/common/form_template.h"
#include "jixiao/common/org.h"
#include "jixiao/common/status.h"
#include "jixiao/sync/client_replica.h"
#include "jixiao/workflow/clock.h"
#include "jixiao/workflow/definition.h"

namespace jixiao::client {

// Argon2id cost of the offline-unlock verifier. libsodium's INTERACTIVE
// limits by default; tests use crypto_pwhash_OPSLIMIT_MIN / MEMLIMIT_MIN.
struct UnlockHashing {
  unsigned long long ops_limit = 2;
  std::size_t mem_limit = 64u * 1024u * 1024u;
};

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
};

// The installation's settings and credentials (client.json).
struct ClientMeta {
  static constexpr int kFormatVersion = 1;
  std::string server_url;
  std::string ca_file;
  UserId login;          // the login name given at register
  sync::DeviceId device_id;
  std::string token;     // empty: no session
  std::string unlock_verifier;  // crypto_pwhash_str output; empty until a login
  std::optional<User> user;     // as the server last described it
  std::string unit_name;
  std::int64_t last_login_ms = 0;
  std::int64_t last_sync_ms = 0;
};

// Asks the person for the password (a prompt, a file); nullopt: none given.
using PasswordSource = std::function<std::optional<std::string>()>;

struct SyncProgress {
  std::size_t ops_to_send = 0;    // in the outbox when the sync began (plus any made meanwhile)
  std::size_t ops_sent = 0;       // answered by the server
  std::size_t records_received = 0;  // log entries and snapshots
  bool done = false;
};

struct SyncOptions {
  PasswordSource password;  // used when the session token is missing or refused
  std::function<void(const SyncProgress&)> progress;
};

struct SyncSummary {
  std::size_t ops_sent = 0;
  std::size_t accepted = 0;
  std::size_t rejected = 0;        // new rejected changes
  std::size_t records_received = 0;
  bool logged_in_with_password = false;
};

// One line of `forms`.
struct FormListing {
  sync::FormSummary summary;
  std::string project_name;  // project_name / title field; may be empty
  std::string template_title;
  std::string state_text;    // "草稿", "审核中·单位审核", "已退回（退回原因…）", "已受理"
  std::optional<workflow::Holder> holder;  // nullopt once accepted or unknown
};

// One item of `todo`.
struct TodoItem {
  enum class Kind : std::uint8_t { kForm = 0, kConflict = 1, kRejected = 2 };
  Kind kind = Kind::kForm;
  FormListing form;
  std::string what;  // Chinese: "待您审核（单位审核）", "冲突：…", "被拒绝的修改：…"
  std::string ref;   // conflict id or op id
};

// One line of `history`.
struct HistoryItem {
  sync::ServerSeq seq = 0;
  std::int64_t wall_ms = 0;   // the author's time (hybrid clock, physical part)
  UserId author;
  std::string op_id;
  std::vector<std::string> changes;  // Chinese, one per effect
};

struct CheckOutcome {
  Form form;
  const FormTemplate* tmpl = nullptr;
  CheckReport report;
};

// 通过 at a meeting stage carries the meeting's evidence.
struct ApproveParams {
  std::string comment;
  std::optional<workflow::MeetingEvidence> evidence;
};

class OfficeClient {
 public:
  // Opens the data directory (creating it, mode 0700, if needed). The
  // replica is opened only once a user is known (after the first login).
  static Result<std::unique_ptr<OfficeClient>> open(ClientOptions options);
  ~OfficeClient();
  OfficeClient(const OfficeClient&) = delete;
  OfficeClient& operator=(const OfficeClient&) = delete;

  const ClientMeta& meta() const;
  const std::filesystem::path& data_dir() const;

  // ---- accounts (§4) -----------------------------------------------------------
  // Sets up this installation for `login` at `server_url` (a fresh device id
  // unless one exists for the same user and server), logs in with the
  // password and syncs for the first time. A failed login or sync leaves the
  // settings saved, so `login` / `sync` can finish the job later.
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
  // Connects, logs in (token, else the password from `options.password`),
  // then exchanges requests until the server has nothing more. Progress is
  // reported after every answer.
  Result<SyncSummary> sync(const SyncOptions& options = {});

  // ---- forms ------------------------------------------------------------------------
  // A full form id or a unique prefix of at least 8 characters.
  Result<FormId> resolve_form(std::string_view id_or_prefix) const;
  Result<std::vector<FormListing>> forms() const;
  // Forms whose holder is one of my roles at my unit (or a unit I act for),
  // my open conflicts and my rejected changes waiting.
  Result<std::vector<TodoItem>> todo() const;
  // A new form of the latest version of `template_id` for my unit. With
  // `from_target` (a 项目绩效目标表): project name and code, 预期目标 and the
  // indicator rows (一级/二级/三级, 年度指标值) are copied.
  Result<FormId> create_form(const std::string& template_id, std::optional<int> fiscal_year,
                             const std::optional<FormId>& from_target = std::nullopt);
  Result<sync::FormReplica> view(const FormId& form) const;
  Result<std::string> form_json(const FormId& form) const;
  const FormTemplate* template_of(const Form& form) const;
  // `cell` as in cell_ref.h; `text` as a person types it.
  Status set_cell(const FormId& form, std::string_view cell, std::string_view text);
  Result<RowId> add_row(const FormId& form, const std::string& table,
                        const std::vector<std::pair<std::string, std::string>>& cells);
  Status delete_row(const FormId& form, const std::string& table, const RowId& row);
  Result<CheckOutcome> check(const FormId& form) const;

  // ---- workflow (queued; sent by the next sync after an online login) ----------------
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
  // `op_id`: a full op id or a unique prefix (≥ 8 characters).
  Status discard(std::string_view op_id);

  // ---- descriptions for people (shared by the command line and the web page) -----------
  std::string describe_cell(const Form& form, const CellRef& cell) const;     // "项目资金·年度资金总额·全年执行数"
  std::string describe_op(const sync::Operation& op) const;                   // "修改 项目名称 为 …"
  std::string stage_name(const workflow::SubmissionState& state) const;

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
