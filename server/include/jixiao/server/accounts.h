// Accounts, units and sessions of a jixiao server (网络安全等级保护 2.0 minded):
// - passwords hashed with Argon2id (libsodium's crypto_pwhash_str), never
//   stored or logged in clear; a password policy (length, letters and digits);
// - lockout after repeated failures (configurable);
// - session tokens of 256 bits from libsodium's CSPRNG, stored only as their
//   SHA-256, bound to the device that logged in, with idle and absolute
//   expiry, revoked by logout() (no protocol message calls it yet), password
//   change/reset and account disable;
// - no default accounts: the first accounts come from an import or `user add`;
// - the three admin roles kept apart (validate_roles).
// Every login, failed or not, and every administrative change is an audit
// record, appended to the database's audit chain in the same transaction as
// the change (store/store.h); the optional AuditSink is told too.
//
// Storage: the server's store (store/store.h), one transaction per call;
// password hashes are computed and checked outside every transaction.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jixiao/common/org.h"
#include "jixiao/common/status.h"
#include "jixiao/service/sync_service.h"
#include "jixiao/store/store.h"
#include "jixiao/workflow/audit_event.h"
#include "jixiao/workflow/clock.h"

namespace jixiao::server {

struct LockoutPolicy {
  int max_failures = 5;                     // consecutive failures before the lock
  std::chrono::minutes lock_for{15};
};

struct SessionPolicy {
  std::chrono::minutes idle{30};            // no request for this long: expired
  std::chrono::minutes absolute{12 * 60};   // however active, expired after this
};

struct PasswordHashing {
  // libsodium's INTERACTIVE limits by default (about 0.1 s, 64 MiB); a
  // deployment may raise them; tests lower nothing.
  unsigned long long ops_limit = 2;
  std::size_t mem_limit = 64u * 1024u * 1024u;
};

struct AccountsConfig {
  LockoutPolicy lockout;
  SessionPolicy sessions;
  PasswordHashing hashing;
};

struct SessionInfo {
  UserId user;
  std::string device;
  workflow::TimePoint created{};
  workflow::TimePoint last_seen{};
};

// Refusal reasons of this module (Status::reason), never renumbered.
enum class AccountReason : std::uint16_t {
  kBadCredentials = 2001,   // 用户名或密码错误
  kLocked = 2002,           // 账号已锁定
  kDisabled = 2003,         // 账号已停用
  kWeakPassword = 2004,     // 密码不符合要求
  kSessionInvalid = 2005,   // 会话无效或已过期，请重新登录
  kWrongDevice = 2006,      // 会话令牌不属于本设备
  kUserExists = 2007,
  kUnknownUser = 2008,
  kBadImport = 2009,
};

// Observes each audit event after it is written (tests, logs). It runs inside
// the store's write transaction: it must not write to the same database.
using AuditSink = std::function<Status(workflow::AuditEvent)>;

class AccountStore {
 public:
  // The accounts kept in `store`. `store` and `clock` are borrowed.
  static Result<std::unique_ptr<AccountStore>> open(store::Store& store, const workflow::Clock& clock,
                                                    AccountsConfig config, AuditSink audit);
  ~AccountStore();
  AccountStore(const AccountStore&) = delete;
  AccountStore& operator=(const AccountStore&) = delete;

  // ---- administration -----------------------------------------------------------
  // Who the administration events of this store name ("cli:alice").
  void set_admin_actor(std::string actor);
  Status add_unit(const Unit& unit);
  Status add_user(const User& user, std::string_view password);
  Status set_disabled(const UserId& user, bool disabled);  // disabling revokes sessions
  Status set_roles(const UserId& user, const std::vector<Role>& roles);
  Status reset_password(const UserId& user, std::string_view new_password);  // revokes sessions
  // Imports "code,name,level,parent,finance_bureau" lines (a header line is
  // allowed). Returns how many units were added; the whole file or nothing.
  Result<std::size_t> import_units_csv(std::string_view csv);
  // Imports "login,display_name,unit,roles(;-separated),initial_password".
  Result<std::size_t> import_users_csv(std::string_view csv);

  // ---- sessions -------------------------------------------------------------------
  // A fresh token for `device`, or why not (bad credentials, locked, disabled).
  Result<std::string> login(const UserId& user, std::string_view password, const std::string& device);
  // The session of a token presented by `device`; touches its last use.
  Result<SessionInfo> authenticate(std::string_view token, const std::string& device);
  Status logout(std::string_view token);
  Status change_password(const UserId& user, std::string_view old_password, std::string_view new_password);

  // ---- what the sync server needs ------------------------------------------------
  Directory directory() const;
  std::size_t active_sessions() const;

  // Checks a new password against the policy: at least 8 characters with
  // letters and digits, not the login name.
  static Status check_password_policy(const UserId& user, std::string_view password);

 public:
  struct Impl;  // defined in accounts.cpp

 private:
  explicit AccountStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace jixiao::server
