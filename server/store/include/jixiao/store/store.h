// The server's store: everything jixiao-server keeps, behind one interface,
// so that the sync service, the accounts and administration never see SQL
// and a second implementation (PostgreSQL with several server processes, a
// later issue) can stand in for the SQLite one.
//
// What every implementation guarantees to its callers:
//
// 1. Atomic requests. Everything done through one write Transaction becomes
//    visible together at commit(), or not at all (destruction without
//    commit, or a failed commit, rolls back). A commit that returns ok is
//    durable: it survives a crash or power cut of the machine.
// 2. One writer at a time. begin_write() waits (bounded by the busy
//    timeout, then kUnavailable/kBusy: retry) while another write
//    transaction — in this process or another — is open. Readers never wait
//    for writers and see the last committed state as of their begin_read().
// 3. The log. ServerSeq values are assigned by the caller as head() + 1
//    inside its write transaction, so they are gap-free and strictly
//    increasing in commit order; append_log() refuses any other seq.
// 4. The audit chain. append_audit() reads the chain's last record inside
//    the caller's write transaction and links the next one to it, so audit
//    records are serialized in the same order as the log and commit or roll
//    back with the change they describe.
// 5. The directory. Every change of units or users (add, disable, roles,
//    password) increments directory_version() in the same transaction, so a
//    reader that cached the directory knows at its next message that it
//    must read it again — whichever process made the change.
// 6. Form index columns (FormIndex) are written in the same transaction as
//    the form's replica; queries by round, unit or state read them and
//    never decode replicas.
//
// A second implementation must keep all six with several processes on one
// database: the seq and the audit chain's tail come from the database under
// its own locks (e.g. SELECT … FOR UPDATE on a one-row counter), not from
// process memory, and directory_version from a row every process reads.
//
// Errors: Status values. Storage failures map as jixiao/sqlite/sqlite.h
// says (busy and I/O: kUnavailable, retry; damage: kCorruption; a unique
// key: kConflict with is_unique_violation()).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jixiao/common/org.h"
#include "jixiao/common/status.h"
#include "jixiao/sync/model.h"
#include "jixiao/sync/protocol.h"
#include "jixiao/workflow/audit_event.h"
#include "jixiao/workflow/audit_log.h"
#include "jixiao/workflow/round.h"

namespace jixiao::store {

using jixiao::FormId;
using sync::OpId;
using sync::ServerSeq;

// The schema version this build writes (see sqlite_store.cpp's ladder).
inline constexpr int kSchemaVersion = 2;

// Per-form columns kept beside the replica (schema 2), for queries that must
// not decode forms: round progress, the console's matrix, visibility.
struct FormIndex {
  UnitCode unit;
  std::string template_id;   // also the form kind
  std::uint32_t template_version = 0;
  int fiscal_year = 0;
  std::string round_id;      // empty: not in a round
  std::string definition_id;
  std::uint32_t definition_version = 0;
  int phase = 0;             // workflow::Phase
  std::string stage_id;      // while in review
  std::string holder_role;   // role_code() of who must act now; empty when accepted
  UnitCode holder_unit;
  std::uint32_t return_count = 0;
  std::int64_t amount_fen = 0;  // the amount that routes the form (0 when unknown)
  std::string score;         // 总分 as written ("" when none)
  std::string grade;         // 自评等级 as written
  std::int64_t updated_ms = 0;
  ServerSeq last_seq = 0;
  friend bool operator==(const FormIndex&, const FormIndex&) = default;
};

struct IndexedForm {
  FormId id;
  FormIndex index;
};

// The stored answer to an operation (for idempotent replays).
struct StoredResult {
  std::string payload_hash;  // SHA-256 of the encoded operation
  sync::OpResult result;     // op_id filled in
};

// One thing a unit may see after a cursor, in log order: a whole form (it
// became visible at `position`) or a log entry.
struct Change {
  ServerSeq position = 0;
  bool snapshot = false;
  FormId form;
  std::string entry_bytes;  // encode_entry(), when !snapshot
};

struct Credentials {
  bool disabled = false;
  std::string password_hash;
  std::int64_t failures = 0;
  std::int64_t locked_until_ms = 0;
};

struct SessionRecord {
  std::string token_hash;  // SHA-256 of the token; the token itself is never stored
  UserId user;
  std::string device;
  std::int64_t created_ms = 0;
  std::int64_t last_seen_ms = 0;
  bool revoked = false;
  bool user_disabled = false;  // filled by session()
};

struct Counts {
  std::size_t forms = 0;
  std::size_t audit_records = 0;
  std::size_t rounds = 0;
  std::size_t open_rounds = 0;  // deadline after `now_ms`
  std::size_t active_sessions = 0;
};

class Transaction {
 public:
  virtual ~Transaction() = default;
  // Makes everything durable at once. Only for write transactions.
  virtual Status commit() = 0;

  // ---- the sync log and form replicas ---------------------------------------------
  virtual Result<ServerSeq> head() = 0;
  virtual Result<std::optional<sync::FormReplica>> form(const FormId& id) = 0;
  virtual Status put_form(const FormId& id, const sync::FormReplica& replica, const FormIndex& index) = 0;
  // `entry.seq` must be head() + 1.
  virtual Status append_log(const sync::LogEntry& entry) = 0;
  virtual Result<std::optional<std::string>> log_entry_bytes(ServerSeq seq) = 0;
  virtual Status add_visibility(const FormId& form, const UnitCode& unit, ServerSeq since) = 0;
  // What `unit` may see after `cursor`, in log order (a snapshot before an
  // entry of the same position), at most `limit` log entries.
  virtual Status changes_for(const UnitCode& unit, ServerSeq cursor, std::size_t limit, std::vector<Change>& out) = 0;
  // The forms `unit` may see, with their index columns.
  virtual Result<std::vector<IndexedForm>> visible_forms(const UnitCode& unit) = 0;
  // The forms of these rounds, from the index columns.
  virtual Result<std::vector<IndexedForm>> forms_in_rounds(const std::vector<std::string>& round_ids) = 0;

  // ---- operation results ---------------------------------------------------------
  virtual Result<std::optional<StoredResult>> op_result(const OpId& id) = 0;
  virtual Status put_op_result(const StoredResult& result) = 0;
  virtual Result<std::vector<sync::OpResult>> op_results() = 0;

  // ---- rounds ----------------------------------------------------------------------
  // The rounds a finance bureau opened; every round when `finance_bureau` is empty.
  virtual Result<std::vector<workflow::Round>> rounds(const UnitCode& finance_bureau) = 0;
  virtual Status put_round(const workflow::Round& round) = 0;  // kConflict when the id exists

  // ---- units, users, sessions ------------------------------------------------------
  virtual Result<std::int64_t> directory_version() = 0;
  virtual Result<Organisation> organisation() = 0;
  virtual Result<std::vector<User>> users() = 0;
  virtual Result<std::optional<User>> user(const UserId& id) = 0;
  virtual Result<bool> unit_exists(const UnitCode& code) = 0;
  virtual Status add_unit(const Unit& unit) = 0;                          // kConflict when it exists
  virtual Status add_user(const User& user, const std::string& password_hash) = 0;  // kConflict when it exists
  // false when there is no such user.
  virtual Result<bool> set_user_disabled(const UserId& id, bool disabled) = 0;
  virtual Result<bool> set_user_roles(const UserId& id, const std::vector<Role>& roles) = 0;
  virtual Result<bool> set_password_hash(const UserId& id, const std::string& password_hash) = 0;
  virtual Result<std::optional<Credentials>> credentials(const UserId& id) = 0;
  virtual Status set_failures(const UserId& id, std::int64_t failures, std::int64_t locked_until_ms) = 0;
  virtual Status add_session(const SessionRecord& session) = 0;
  virtual Result<std::optional<SessionRecord>> session(const std::string& token_hash) = 0;
  virtual Status touch_session(const std::string& token_hash, std::int64_t last_seen_ms) = 0;  // not if revoked
  virtual Status revoke_session(const std::string& token_hash) = 0;
  virtual Status revoke_sessions_of(const UserId& user) = 0;

  // ---- the audit chain ---------------------------------------------------------------
  virtual Result<workflow::AuditRecord> append_audit(workflow::AuditEvent event) = 0;
  virtual Result<std::vector<workflow::AuditRecord>> audit_records() = 0;

  virtual Result<Counts> counts(std::int64_t now_ms) = 0;
};

// How a store computes FormIndex for forms it migrates to schema 2 (the
// composition root knows the templates and workflow definitions).
using Indexer = std::function<Result<FormIndex>(const sync::FormReplica&, const Organisation&)>;

struct StoreFiles {
  std::vector<std::filesystem::path> files;  // what a copy of the store must hold
  std::uintmax_t bytes = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  virtual Result<std::unique_ptr<Transaction>> begin_write() = 0;
  virtual Result<std::unique_ptr<Transaction>> begin_read() = 0;
  // Integrity of the stored bytes (not of the audit chain: verify that
  // with audit_records() and workflow::verify_audit_chain()).
  virtual Status check_integrity() = 0;
  // A consistent copy of the whole store in the new file `to`, taken while
  // writers keep going.
  virtual Status backup_to(const std::filesystem::path& to) = 0;
  virtual StoreFiles files() const = 0;
  // "sqlite:/srv/jixiao/server.db"
  virtual std::string describe() const = 0;
};

}  // namespace jixiao::store
