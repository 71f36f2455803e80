// The administration of a jixiao server as a library: what the
// `jixiao-server` subcommands do (init, imports, users, backup and restore,
// verify-audit, status), callable by tests without a process.
//
// A data directory holds:
//   jixiao-server.conf                       the configuration (config.h)
//   server.db, server.db-wal, server.db-shm  the SQLite store (WAL)
//   server.lock                              "<pid> <port>\n" while `serve` runs
//   server.db.before-restore-<UTC time>      what a restore replaced
//
// Errors are Status values with Chinese messages; nothing here prints.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jixiao/common/form_template.h"
#include "jixiao/common/status.h"
#include "jixiao/server/accounts.h"
#include "jixiao/server/config.h"
#include "jixiao/service/sync_service.h"
#include "jixiao/store/store.h"
#include "jixiao/workflow/audit_log.h"
#include "jixiao/workflow/clock.h"
#include "jixiao/workflow/definition.h"

namespace jixiao::server {

// ---- resources ----------------------------------------------------------------------

// The templates to serve: config.templates_dir, else
// TemplateRegistry::default_directory(exe_path).
std::filesystem::path templates_directory(const ServerConfig& config, const std::string& exe_path);
// The workflow definitions: config.workflows_dir, else $JIXIAO_WORKFLOWS,
// else <exe>/../share/jixiao/workflow, else the source tree's definitions.
std::filesystem::path workflows_directory(const ServerConfig& config, const std::string& exe_path);
// Every *.json in `dir`, in file name order; an empty directory is an error.
Result<std::vector<workflow::WorkflowDefinition>> load_workflow_directory(const std::filesystem::path& dir);

// ---- the open store -----------------------------------------------------------------

// The server's components, wired together (the composition root): the
// store (store/store.h, SQLite at config.database(), migrated to the
// current schema when opened), the accounts and the sync service over it,
// and the templates. Logins and administrative changes made through
// accounts() are audit records in the same chain as sync, each in the
// transaction of the change it records. The directory is live: the sync
// service reads units and users from the store, so a user added or
// disabled here or by another process counts at its next message.
class ServerComponents {
 public:
  enum class Mode { kExisting, kCreate };
  // kExisting refuses (kNotFound) when config.database() does not exist.
  // `clock` is borrowed.
  static Result<std::unique_ptr<ServerComponents>> open(const ServerConfig& config, const std::string& exe_path,
                                                        const workflow::Clock& clock, Mode mode = Mode::kExisting);
  ~ServerComponents();
  ServerComponents(const ServerComponents&) = delete;
  ServerComponents& operator=(const ServerComponents&) = delete;

  store::Store& store() { return *store_; }
  SyncService& sync() { return *sync_; }
  AccountStore& accounts() { return *accounts_; }
  // The units and users now (read from the store).
  Directory directory() const { return accounts_->directory(); }
  const TemplateRegistry& templates() const { return templates_; }

 private:
  ServerComponents() = default;
  TemplateRegistry templates_;
  // Declared after what they borrow, so destroyed before it.
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<AccountStore> accounts_;
  std::unique_ptr<SyncService> sync_;
};

// ---- init ---------------------------------------------------------------------------

struct InitOptions {
  std::filesystem::path data_dir;
  std::optional<std::uint16_t> port;
  std::optional<std::string> listen_address;
  bool plain = false;  // tls = false, allow_plain = true (loopback only)
};

struct InitResult {
  std::filesystem::path config_file;
  std::filesystem::path database;
  ServerConfig config;
};

// Creates the data directory (mode 0700), writes its configuration file
// from config_text() and creates the empty database (schema only: no
// accounts). Refuses (kFailedPrecondition) when the configuration file or a
// database already exists there; kInvalidArgument for options the
// configuration would refuse (plain on a non-loopback address). The file
// holds data_dir = . (the directory can move) and production defaults.
Result<InitResult> init_data_dir(const InitOptions& options, const std::string& exe_path, const workflow::Clock& clock);

// ---- lock file ----------------------------------------------------------------------

std::filesystem::path lock_file_path(const std::filesystem::path& data_dir);

struct LockInfo {
  pid_t pid = 0;
  std::uint16_t port = 0;  // 0 until the listener is bound
  bool alive = false;      // kill(pid, 0) says the process exists
};
// The lock file's contents, or nullopt when there is none (or it is unreadable).
std::optional<LockInfo> read_lock(const std::filesystem::path& data_dir);
// Writes "<this pid> <port>". Refuses (kFailedPrecondition) when the file
// names another live process; a stale file (dead PID) is replaced.
Status acquire_lock(const std::filesystem::path& data_dir, std::uint16_t port);
// Rewrites the port of this process's lock (after the listener is bound).
Status update_lock_port(const std::filesystem::path& data_dir, std::uint16_t port);
// Removes the lock file if it names this process.
void release_lock(const std::filesystem::path& data_dir);

// ---- backup, restore, verification ---------------------------------------------------

struct DatabaseCheck {
  std::uintmax_t bytes = 0;            // the file's size
  std::size_t audit_records = 0;
  workflow::ChainVerdict audit;        // ok() when the chain verifies
};

// Checks a database file that no server has open, without writing it:
// PRAGMA integrity_check, that it is a jixiao server database (schema
// version 1 to store::kSchemaVersion), and its audit chain. kCorruption when the file is damaged; an unverified chain is
// reported in `audit` (the caller decides) — see verify_backup_file().
Result<DatabaseCheck> check_database_file(const std::filesystem::path& file);
// check_database_file() that also fails (kCorruption) on a broken chain.
Result<DatabaseCheck> verify_backup_file(const std::filesystem::path& file);

// Copies the live database `database` to `to` through the store's online
// backup (a few pages per step, so a running server keeps writing), then
// verifies the copy (verify_backup_file) before naming it `to` (mode 0600).
// Refuses (kFailedPrecondition) when `to` exists.
Result<DatabaseCheck> backup_database(const std::filesystem::path& database, const std::filesystem::path& to);

struct RestoreResult {
  DatabaseCheck restored;
  std::optional<std::filesystem::path> kept_as;  // the replaced database, when there was one
};
// Replaces config.database() with the backup `from`: refuses
// (kFailedPrecondition) while a live process holds the data directory's
// lock; verifies a copy of the backup (integrity and audit chain) before
// touching the current database; keeps the current database (and its WAL)
// as server.db.before-restore-<UTC time from clock>.
Result<RestoreResult> restore_database(const ServerConfig& config, const std::filesystem::path& from,
                                       const workflow::Clock& clock);

// ---- audit and status ---------------------------------------------------------------

struct AuditVerification {
  std::size_t records = 0;
  workflow::ChainVerdict verdict;
};
AuditVerification verify_audit(const SyncService& server);

struct StoreStatus {
  std::uintmax_t store_bytes = 0;  // server.db + WAL + shared-memory files
  sync::ServerSeq head = 0;
  std::size_t forms = 0;
  std::size_t units = 0;
  std::size_t users = 0;
  std::size_t disabled_users = 0;
  std::size_t active_sessions = 0;
  std::size_t audit_records = 0;
  std::size_t rounds = 0;       // self-evaluation rounds opened
  std::size_t open_rounds = 0;  // of which the deadline is still ahead
};
Result<StoreStatus> store_status(ServerComponents& store, const ServerConfig& config);

// GET /status from the server on 127.0.0.1:`port` (https when `tls`; the
// certificate is not checked: loopback only, nothing secret is sent).
// Returns the response body; kUnavailable when no answer within `timeout`.
Result<std::string> fetch_local_status(std::uint16_t port, bool tls, std::chrono::milliseconds timeout);

// "20220301T080000Z".
std::string compact_utc_time(workflow::TimePoint t);

}  // namespace jixiao::server
