#include "jixiao/server/accounts.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "jixiao/common/digest.h"
#include "jixiao/common/text.h"
#include "jixiao/sync/audit_store.h"
#include "jixiao/sync/sqlite_db.h"

namespace jixiao::server {
namespace {

using sync::Database;
using sync::Statement;
using sync::Transaction;
using workflow::TimePoint;

Status refuse(AccountReason reason, StatusCode code, std::string message, std::string detail = {}) {
  return Status(code, static_cast<std::uint16_t>(reason), std::move(message), std::move(detail));
}

// How stale a session's stored last_seen may get before a message writes it.
constexpr std::chrono::milliseconds kTouchEvery{60'000};

std::int64_t ms(TimePoint t) { return t.time_since_epoch().count(); }
TimePoint at_ms(std::int64_t v) { return TimePoint(std::chrono::milliseconds(v)); }

std::string roles_text(const std::vector<Role>& roles) {
  std::string out;
  for (Role r : roles) {
    if (!out.empty()) out += ';';
    out += role_key(r);
  }
  return out;
}

Result<std::vector<Role>> parse_roles(std::string_view text) {
  std::vector<Role> roles;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(';', start), text.size());
    const std::string_view item = jixiao::text::trim(text.substr(start, end - start));
    if (!item.empty()) {
      auto r = parse_role(item);
      if (!r) return r.status();
      roles.push_back(*r);
    }
    start = end + 1;
  }
  return roles;
}

// One CSV line: fields separated by commas, optionally double-quoted ("" is a quote).
std::vector<std::string> csv_fields(std::string_view line) {
  std::vector<std::string> out;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(std::string(jixiao::text::trim(field)));
      field.clear();
    } else {
      field += c;
    }
  }
  out.push_back(std::string(jixiao::text::trim(field)));
  return out;
}

std::vector<std::string_view> csv_lines(std::string_view csv) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < csv.size()) {
    std::size_t end = csv.find('\n', start);
    if (end == std::string_view::npos) end = csv.size();
    std::string_view line = csv.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (start == 0 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);  // a BOM from Excel
    if (!jixiao::text::trim(line).empty()) lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

}  // namespace

struct AccountStore::Impl {
  Database db;
  const workflow::Clock& clock;
  AccountsConfig config;
  AuditSink audit;
  mutable std::mutex mu;
  std::string admin_actor = "系统管理员";  // who administration events name

  Impl(Database d, const workflow::Clock& c, AccountsConfig cfg, AuditSink sink)
      : db(std::move(d)), clock(c), config(cfg), audit(std::move(sink)) {}

  // Appends to the database's audit chain inside the caller's transaction,
  // then tells the observer (if any).
  Status record(workflow::AuditEvent e) {
    auto rec = sync::append_audit(db.handle(), e);
    if (!rec) return rec.status();
    return audit ? audit(std::move(e)) : Status::ok();
  }

  Status administration(std::string subject, std::string action, std::vector<workflow::AuditField> fields = {}) {
    return record(workflow::administration_event(clock.now(), admin_actor, std::move(subject), std::move(action),
                                                 std::move(fields)));
  }

  Result<std::string> hash_password(std::string_view password) const {
    std::string out(crypto_pwhash_STRBYTES, '\0');
    if (crypto_pwhash_str(out.data(), password.data(), password.size(), config.hashing.ops_limit,
                          config.hashing.mem_limit) != 0) {
      return Status::internal("无法计算密码摘要（内存不足）", "crypto_pwhash_str failed");
    }
    out.resize(std::strlen(out.c_str()));
    return out;
  }

  Status insert_user(const User& user, std::string_view password) {
    if (user.id.empty()) return refuse(AccountReason::kBadImport, StatusCode::kInvalidArgument, "登录名不能为空");
    if (auto s = validate_roles(user); !s) return s;
    if (user.roles.empty()) return refuse(AccountReason::kBadImport, StatusCode::kInvalidArgument, "用户“" + user.id + "”没有角色");
    Statement unit(db, "SELECT 1 FROM units WHERE code = ?");
    unit.bind(1, user.unit);
    if (unit.step() != SQLITE_ROW) {
      return refuse(AccountReason::kBadImport, StatusCode::kInvalidArgument, "用户“" + user.id + "”的单位“" + user.unit + "”不存在");
    }
    if (auto s = check_password_policy(user.id, password); !s) return s;
    auto hash = hash_password(password);
    if (!hash) return hash.status();
    Statement ins(db,
                  "INSERT INTO users(login, display_name, unit, roles, disabled, pw_hash, failures, locked_until) "
                  "VALUES (?,?,?,?,?,?,0,0)");
    ins.bind(1, user.id).bind(2, user.display_name).bind(3, user.unit).bind(4, roles_text(user.roles))
        .bind(5, std::int64_t{user.disabled ? 1 : 0}).bind(6, *hash);
    if (ins.step() != SQLITE_DONE) {
      return refuse(AccountReason::kUserExists, StatusCode::kInvalidArgument, "登录名“" + user.id + "”已存在");
    }
    return Status::ok();
  }

  Status insert_unit(const Unit& unit) {
    if (unit.code.empty()) return refuse(AccountReason::kBadImport, StatusCode::kInvalidArgument, "单位编码不能为空");
    for (const UnitCode& ref : {unit.parent, unit.finance_bureau}) {
      if (ref.empty()) continue;
      Statement q(db, "SELECT 1 FROM units WHERE code = ?");
      q.bind(1, ref);
      if (q.step() != SQLITE_ROW) {
        return refuse(AccountReason::kBadImport, StatusCode::kInvalidArgument,
                      "单位“" + unit.name + "”引用的单位“" + ref + "”不存在（上级单位须先导入）");
      }
    }
    Statement ins(db, "INSERT INTO units(code, name, level, parent, finance_bureau) VALUES (?,?,?,?,?)");
    ins.bind(1, unit.code).bind(2, unit.name).bind(3, static_cast<std::int64_t>(unit.level)).bind(4, unit.parent)
        .bind(5, unit.finance_bureau);
    if (ins.step() != SQLITE_DONE) {
      return refuse(AccountReason::kBadImport, StatusCode::kInvalidArgument, "单位编码“" + unit.code + "”已存在");
    }
    return Status::ok();
  }

  Status revoke_sessions(const UserId& user) {
    Statement up(db, "UPDATE sessions SET revoked = 1 WHERE login = ?");
    up.bind(1, user);
    return up.run("revoke sessions");
  }
};

AccountStore::AccountStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AccountStore::~AccountStore() = default;

Result<std::unique_ptr<AccountStore>> AccountStore::open(const std::string& db_path, const workflow::Clock& clock,
                                                         AccountsConfig config, AuditSink audit) {
  if (sodium_init() < 0) return Status::internal("无法初始化密码库", "sodium_init failed");
  auto db = Database::open(db_path);
  if (!db) return db.status();
  if (auto s = db->exec(R"sql(
      CREATE TABLE IF NOT EXISTS units(code TEXT PRIMARY KEY, name TEXT NOT NULL, level INTEGER NOT NULL,
                                       parent TEXT NOT NULL, finance_bureau TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS users(login TEXT PRIMARY KEY, display_name TEXT NOT NULL, unit TEXT NOT NULL,
                                       roles TEXT NOT NULL, disabled INTEGER NOT NULL, pw_hash TEXT NOT NULL,
                                       failures INTEGER NOT NULL, locked_until INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS sessions(token_hash BLOB PRIMARY KEY, login TEXT NOT NULL, device TEXT NOT NULL,
                                          created INTEGER NOT NULL, last_seen INTEGER NOT NULL,
                                          revoked INTEGER NOT NULL);)sql");
      !s) {
    return s;
  }
  if (auto s = sync::ensure_audit_table(db->handle()); !s) return s;
  return std::unique_ptr<AccountStore>(
      new AccountStore(std::make_unique<Impl>(std::move(*db), clock, config, std::move(audit))));
}

Status AccountStore::check_password_policy(const UserId& user, std::string_view password) {
  const bool letters = std::any_of(password.begin(), password.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
  const bool digits = std::any_of(password.begin(), password.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (password.size() < 8 || !letters || !digits) {
    return refuse(AccountReason::kWeakPassword, StatusCode::kInvalidArgument, "密码至少 8 位，且须同时包含字母和数字");
  }
  if (password == user) return refuse(AccountReason::kWeakPassword, StatusCode::kInvalidArgument, "密码不能与登录名相同");
  return Status::ok();
}

Status AccountStore::add_unit(const Unit& unit) {
  std::lock_guard lock(impl_->mu);
  Transaction tx(impl_->db);
  if (!tx.status()) return tx.status();
  if (auto s = impl_->insert_unit(unit); !s) return s;
  if (auto s = impl_->administration(unit.code, "unit_add", {{"name", unit.name}}); !s) return s;
  return tx.commit();
}

Status AccountStore::add_user(const User& user, std::string_view password) {
  std::lock_guard lock(impl_->mu);
  Transaction tx(impl_->db);
  if (!tx.status()) return tx.status();
  if (auto s = impl_->insert_user(user, password); !s) return s;
  if (auto s = impl_->administration(user.id, "user_add", {{"roles", roles_text(user.roles)}, {"unit", user.unit}}); !s) {
    return s;
  }
  return tx.commit();
}

Status AccountStore::set_disabled(const UserId& user, bool disabled) {
  std::lock_guard lock(impl_->mu);
  Transaction tx(impl_->db);
  if (!tx.status()) return tx.status();
  Statement up(impl_->db, "UPDATE users SET disabled = ?, failures = 0, locked_until = 0 WHERE login = ?");
  up.bind(1, std::int64_t{disabled ? 1 : 0}).bind(2, user);
  if (auto s = up.run("disable user"); !s) return s;
  if (sqlite3_changes(impl_->db.handle()) == 0) {
    return refuse(AccountReason::kUnknownUser, StatusCode::kNotFound, "用户“" + user + "”不存在");
  }
  if (disabled) {
    if (auto s = impl_->revoke_sessions(user); !s) return s;
  }
  if (auto s = impl_->administration(user, disabled ? "user_disable" : "user_enable"); !s) return s;
  return tx.commit();
}

Status AccountStore::reset_password(const UserId& user, std::string_view new_password) {
  if (auto s = check_password_policy(user, new_password); !s) return s;
  std::lock_guard lock(impl_->mu);
  auto hash = impl_->hash_password(new_password);
  if (!hash) return hash.status();
  Transaction tx(impl_->db);
  if (!tx.status()) return tx.status();
  Statement up(impl_->db, "UPDATE users SET pw_hash = ?, failures = 0, locked_until = 0 WHERE login = ?");
  up.bind(1, *hash).bind(2, user);
  if (auto s = up.run("reset password"); !s) return s;
  if (sqlite3_changes(impl_->db.handle()) == 0) {
    return refuse(AccountReason::kUnknownUser, StatusCode::kNotFound, "用户“" + user + "”不存在");
  }
  if (auto s = impl_->revoke_sessions(user); !s) return s;
  if (auto s = impl_->administration(user, "password_reset"); !s) return s;
  return tx.commit();
}

// The shape both imports share: one transaction, an optional header line,
// five columns a line, the bad line named in the error, nothing kept unless
// every line is, one audit record for the import.
struct CsvImport {
  const char* file;          // "单位文件"
  const char* header_key;    // the first column's name in an English header
  const char* header_zh;     // … in a Chinese header
  const char* header_zh2;    // … as the documentation writes it
  const char* columns;       // "编码,名称,级别,上级单位,财政局"
  const char* audit_subject;
  const char* audit_action;
};

template <typename InsertRow>
Result<std::size_t> import_csv(AccountStore::Impl& m, std::string_view csv, const CsvImport& spec, InsertRow insert) {
  std::lock_guard lock(m.mu);
  Transaction tx(m.db);
  if (!tx.status()) return tx.status();
  std::size_t added = 0;
  std::size_t line_no = 0;
  for (std::string_view line : csv_lines(csv)) {
    ++line_no;
    const auto f = csv_fields(line);
    if (line_no == 1 && !f.empty() &&
        (f[0] == spec.header_key || f[0] == spec.header_zh || f[0] == spec.header_zh2)) {
      continue;
    }
    const std::string where = std::string(spec.file) + "第 " + std::to_string(line_no) + " 行";
    if (f.size() != 5) {
      return refuse(AccountReason::kBadImport, StatusCode::kInvalidArgument,
                    where + "应有 5 列（" + spec.columns + "），实有 " + std::to_string(f.size()) + " 列");
    }
    if (Status s = insert(f); !s) return Status(s.code(), s.reason(), where + "：" + s.message(), s.detail());
    ++added;
  }
  if (auto s = m.administration(spec.audit_subject, spec.audit_action, {{"count", std::to_string(added)}}); !s) return s;
  if (auto s = tx.commit(); !s) return s;
  return added;
}

Result<std::size_t> AccountStore::import_units_csv(std::string_view csv) {
  static constexpr CsvImport kSpec{"单位文件", "code", "单位编码", "编码", "编码,名称,级别,上级单位,财政局", "units",
                                   "units_import"};
  return import_csv(*impl_, csv, kSpec, [this](const std::vector<std::string>& f) -> Status {
    auto level = parse_unit_level(f[2]);
    if (!level) return refuse(AccountReason::kBadImport, StatusCode::kInvalidArgument, level.status().message());
    return impl_->insert_unit({f[0], f[1], *level, f[3], f[4]});
  });
}

Result<std::size_t> AccountStore::import_users_csv(std::string_view csv) {
  static constexpr CsvImport kSpec{"用户文件", "login", "登录名", "登录名", "登录名,姓名,单位,角色,初始密码", "users",
                                   "users_import"};
  return import_csv(*impl_, csv, kSpec, [this](const std::vector<std::string>& f) -> Status {
    auto roles = parse_roles(f[3]);
    if (!roles) return refuse(AccountReason::kBadImport, StatusCode::kInvalidArgument, roles.status().message());
    return impl_->insert_user({f[0], f[1], f[2], *roles, false}, f[4]);
  });
}

void AccountStore::set_admin_actor(std::string actor) {
  std::lock_guard lock(impl_->mu);
  impl_->admin_actor = std::move(actor);
}

Result<std::string> AccountStore::login(const UserId& user, std::string_view password, const std::string& device) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  const TimePoint now = m.clock.now();
  Transaction tx(m.db);
  if (!tx.status()) return tx.status();
  Statement q(m.db, "SELECT disabled, pw_hash, failures, locked_until FROM users WHERE login = ?");
  q.bind(1, user);
  const int rc = q.step();
  auto outcome = [&](std::string what) -> Status {
    if (auto s = m.record(workflow::login_event(now, user, device, std::move(what))); !s) return s;
    return tx.commit();
  };
  const Status bad = refuse(AccountReason::kBadCredentials, StatusCode::kPermissionDenied, "用户名或密码错误");
  if (rc != SQLITE_ROW) {
    if (auto s = outcome("unknown_user"); !s) return s;
    return bad;
  }
  const bool disabled = q.column_int(0) != 0;
  const std::string hash = q.column_text(1);
  const std::int64_t failures = q.column_int(2);
  const std::int64_t locked_until = q.column_int(3);
  if (disabled) {
    if (auto s = outcome("disabled"); !s) return s;
    return refuse(AccountReason::kDisabled, StatusCode::kPermissionDenied, "账号已停用，请联系系统管理员");
  }
  if (locked_until > ms(now)) {
    if (auto s = outcome("locked"); !s) return s;
    const auto minutes = (locked_until - ms(now) + 59'999) / 60'000;
    return refuse(AccountReason::kLocked, StatusCode::kPermissionDenied,
                  "密码错误次数过多，账号已锁定，请 " + std::to_string(minutes) + " 分钟后再试");
  }
  if (crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) != 0) {
    const std::int64_t count = failures + 1;
    const bool lock_now = count >= m.config.lockout.max_failures;
    Statement up(m.db, "UPDATE users SET failures = ?, locked_until = ? WHERE login = ?");
    up.bind(1, lock_now ? std::int64_t{0} : count)
        .bind(2, lock_now ? ms(now) + std::chrono::duration_cast<std::chrono::milliseconds>(m.config.lockout.lock_for).count()
                          : std::int64_t{0})
        .bind(3, user);
    if (auto s = up.run("count failure"); !s) return s;
    if (auto s = outcome(lock_now ? "bad_password_locked" : "bad_password"); !s) return s;
    return bad;
  }
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  std::string token(64, '\0');
  sodium_bin2hex(token.data(), token.size() + 1, raw, sizeof raw);
  sodium_memzero(raw, sizeof raw);
  Statement reset(m.db, "UPDATE users SET failures = 0, locked_until = 0 WHERE login = ?");
  reset.bind(1, user);
  if (auto s = reset.run("reset failures"); !s) return s;
  Statement ins(m.db, "INSERT INTO sessions(token_hash, login, device, created, last_seen, revoked) VALUES (?,?,?,?,?,0)");
  ins.bind_blob(1, sha256_raw(token)).bind(2, user).bind(3, device).bind(4, ms(now)).bind(5, ms(now));
  if (auto s = ins.run("store session"); !s) return s;
  if (auto s = outcome("ok"); !s) return s;
  return token;
}

Result<SessionInfo> AccountStore::authenticate(std::string_view token, const std::string& device) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  const TimePoint now = m.clock.now();
  const Status invalid = refuse(AccountReason::kSessionInvalid, StatusCode::kPermissionDenied, "会话无效或已过期，请重新登录");
  const std::string token_hash = sha256_raw(token);
  // Every sync message comes through here, so the common case only reads
  // (WAL: a read never waits for the sync service's write lock). Writing
  // last_seen on every message cost an fsync'd transaction per request and
  // made the two connections to server.db queue on each other's lock; it is
  // written when it is more than kTouchEvery old, so an idle expiry can come
  // that much early, never late.
  Statement q(m.db,
              "SELECT s.login, s.device, s.created, s.last_seen, s.revoked, u.disabled FROM sessions s "
              "JOIN users u ON u.login = s.login WHERE s.token_hash = ?");
  q.bind_blob(1, token_hash);
  const int rc = q.step();
  if (rc != SQLITE_ROW) {
    if (rc != SQLITE_DONE) return m.db.error("read session");
    return invalid;
  }
  SessionInfo info{q.column_text(0), q.column_text(1), at_ms(q.column_int(2)), at_ms(q.column_int(3))};
  const bool revoked = q.column_int(4) != 0;
  const bool disabled = q.column_int(5) != 0;
  q.reset();
  if (revoked) return invalid;
  if (disabled) return refuse(AccountReason::kDisabled, StatusCode::kPermissionDenied, "账号已停用，请联系系统管理员");
  if (info.device != device) {
    return refuse(AccountReason::kWrongDevice, StatusCode::kPermissionDenied, "会话令牌不属于本设备，请在本设备上登录",
                  "token of device " + info.device + " presented by " + device);
  }
  const bool idle = now - info.last_seen > m.config.sessions.idle;
  const bool old = now - info.created > m.config.sessions.absolute;
  const auto touch_every = std::min<std::chrono::milliseconds>(kTouchEvery, m.config.sessions.idle / 10);
  if (!idle && !old && now - info.last_seen < touch_every) return info;
  // Expire, or touch; never un-revoke a session revoked since the read.
  Transaction tx(m.db);
  if (!tx.status()) return tx.status();
  Statement up(m.db, idle || old ? "UPDATE sessions SET revoked = 1 WHERE token_hash = ?"
                                 : "UPDATE sessions SET last_seen = ? WHERE token_hash = ? AND revoked = 0");
  if (idle || old) {
    up.bind_blob(1, token_hash);
  } else {
    up.bind(1, ms(now)).bind_blob(2, token_hash);
  }
  if (auto s = up.run("touch session"); !s) return s;
  if (auto s = tx.commit(); !s) return s;
  if (idle || old) return invalid;
  info.last_seen = now;
  return info;
}

Status AccountStore::logout(std::string_view token) {
  std::lock_guard lock(impl_->mu);
  Statement up(impl_->db, "UPDATE sessions SET revoked = 1 WHERE token_hash = ?");
  up.bind_blob(1, sha256_raw(token));
  return up.run("logout");
}

Status AccountStore::change_password(const UserId& user, std::string_view old_password, std::string_view new_password) {
  {
    std::lock_guard lock(impl_->mu);
    Statement q(impl_->db, "SELECT pw_hash FROM users WHERE login = ?");
    q.bind(1, user);
    if (q.step() != SQLITE_ROW ||
        crypto_pwhash_str_verify(q.column_text(0).c_str(), old_password.data(), old_password.size()) != 0) {
      return refuse(AccountReason::kBadCredentials, StatusCode::kPermissionDenied, "原密码错误");
    }
  }
  return reset_password(user, new_password);
}

sync::Directory AccountStore::directory() const {
  std::lock_guard lock(impl_->mu);
  sync::Directory d;
  Statement units(impl_->db, "SELECT code, name, level, parent, finance_bureau FROM units ORDER BY rowid");
  while (units.step() == SQLITE_ROW) {
    (void)d.organisation.add_unit({units.column_text(0), units.column_text(1), static_cast<UnitLevel>(units.column_int(2)),
                                   units.column_text(3), units.column_text(4)});
  }
  Statement users(impl_->db, "SELECT login, display_name, unit, roles, disabled FROM users");
  while (users.step() == SQLITE_ROW) {
    User u;
    u.id = users.column_text(0);
    u.display_name = users.column_text(1);
    u.unit = users.column_text(2);
    if (auto roles = parse_roles(users.column_text(3))) u.roles = std::move(*roles);
    u.disabled = users.column_int(4) != 0;
    d.users[u.id] = std::move(u);
  }
  return d;
}

std::size_t AccountStore::active_sessions() const {
  std::lock_guard lock(impl_->mu);
  Statement q(impl_->db, "SELECT COUNT(*) FROM sessions WHERE revoked = 0");
  return q.step() == SQLITE_ROW ? static_cast<std::size_t>(q.column_int(0)) : 0;
}

}  // namespace jixiao::server
