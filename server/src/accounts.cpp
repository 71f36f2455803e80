#include "jixiao/server/accounts.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "jixiao/common/digest.h"
#include "jixiao/common/text.h"
#include "jixiao/sqlite/sqlite.h"

namespace jixiao::server {
namespace {

using workflow::TimePoint;

Status refuse(AccountReason reason, StatusCode code, std::string message, std::string detail = {}) {
  return Status(code, static_cast<std::uint16_t>(reason), std::move(message), std::move(detail));
}

// How stale a session's stored last_seen may get before a message writes it.
constexpr std::chrono::milliseconds kTouchEvery{60'000};

std::int64_t ms(TimePoint t) { return t.time_since_epoch().count(); }
TimePoint at_ms(std::int64_t v) { return TimePoint(std::chrono::milliseconds(v)); }

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
  store::Store& store;
  const workflow::Clock& clock;
  AccountsConfig config;
  AuditSink audit;
  mutable std::mutex mu;  // guards admin_actor
  std::string admin_actor = "系统管理员";  // who administration events name

  Impl(store::Store& s, const workflow::Clock& c, AccountsConfig cfg, AuditSink sink)
      : store(s), clock(c), config(cfg), audit(std::move(sink)) {}

  // Appends to the store's audit chain inside the caller's transaction,
  // then tells the observer (if any).
  Status record(store::Transaction& tx, workflow::AuditEvent e) {
    auto rec = tx.append_audit(e);
    if (!rec) return rec.status();
    return audit ? audit(std::move(e)) : Status::ok();
  }

  Status administration(store::Transaction& tx, std::string subject, std::string action,
                        std::vector<workflow::AuditField> fields = {}) {
    std::string actor;
    {
      std::lock_guard lock(mu);
      actor = admin_actor;
    }
    return record(tx, workflow::administration_event(clock.now(), actor, std::move(subject), std::move(action),
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

  // Checks and hashes outside any transaction (the hash takes ~0.1 s).
  Result<std::string> prepare_user(const User& user, std::string_view password) const {
    if (user.id.empty()) return refuse(AccountReason::kBadImport, StatusCode::kInvalidArgument, "登录名不能为空");
    if (auto s = validate_roles(user); !s) return s;
    if (user.roles.empty()) return refuse(AccountReason::kBadImport, StatusCode::kInvalidArgument, "用户“" + user.id + "”没有角色");
    if (auto s = check_password_policy(user.id, password); !s) return s;
    return hash_password(password);
  }

  Status insert_user(store::Transaction& tx, const User& user, const std::string& hash) {
    auto unit = tx.unit_exists(user.unit);
    if (!unit) return unit.status();
    if (!*unit) {
      return refuse(AccountReason::kBadImport, StatusCode::kInvalidArgument, "用户“" + user.id + "”的单位“" + user.unit + "”不存在");
    }
    if (auto s = tx.add_user(user, hash); !s) {
      if (!sqlite::is_unique_violation(s)) return s;
      return refuse(AccountReason::kUserExists, StatusCode::kInvalidArgument, "登录名“" + user.id + "”已存在", s.detail());
    }
    return Status::ok();
  }

  Status insert_unit(store::Transaction& tx, const Unit& unit) {
    if (unit.code.empty()) return refuse(AccountReason::kBadImport, StatusCode::kInvalidArgument, "单位编码不能为空");
    for (const UnitCode& ref : {unit.parent, unit.finance_bureau}) {
      if (ref.empty()) continue;
      auto exists = tx.unit_exists(ref);
      if (!exists) return exists.status();
      if (!*exists) {
        return refuse(AccountReason::kBadImport, StatusCode::kInvalidArgument,
                      "单位“" + unit.name + "”引用的单位“" + ref + "”不存在（上级单位须先导入）");
      }
    }
    if (auto s = tx.add_unit(unit); !s) {
      if (!sqlite::is_unique_violation(s)) return s;
      return refuse(AccountReason::kBadImport, StatusCode::kInvalidArgument, "单位编码“" + unit.code + "”已存在", s.detail());
    }
    return Status::ok();
  }
};

AccountStore::AccountStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AccountStore::~AccountStore() = default;

Result<std::unique_ptr<AccountStore>> AccountStore::open(store::Store& store, const workflow::Clock& clock,
                                                         AccountsConfig config, AuditSink audit) {
  if (sodium_init() < 0) return Status::internal("无法初始化密码库", "sodium_init failed");
  return std::unique_ptr<AccountStore>(new AccountStore(std::make_unique<Impl>(store, clock, config, std::move(audit))));
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
  auto tx = impl_->store.begin_write();
  if (!tx) return tx.status();
  if (auto s = impl_->insert_unit(**tx, unit); !s) return s;
  if (auto s = impl_->administration(**tx, unit.code, "unit_add", {{"name", unit.name}}); !s) return s;
  return (*tx)->commit();
}

Status AccountStore::add_user(const User& user, std::string_view password) {
  auto hash = impl_->prepare_user(user, password);
  if (!hash) return hash.status();
  auto tx = impl_->store.begin_write();
  if (!tx) return tx.status();
  if (auto s = impl_->insert_user(**tx, user, *hash); !s) return s;
  if (auto s = impl_->administration(**tx, user.id, "user_add", {{"roles", roles_text(user.roles)}, {"unit", user.unit}});
      !s) {
    return s;
  }
  return (*tx)->commit();
}

Status AccountStore::set_disabled(const UserId& user, bool disabled) {
  auto tx = impl_->store.begin_write();
  if (!tx) return tx.status();
  auto found = (*tx)->set_user_disabled(user, disabled);
  if (!found) return found.status();
  if (!*found) return refuse(AccountReason::kUnknownUser, StatusCode::kNotFound, "用户“" + user + "”不存在");
  if (disabled) {
    if (auto s = (*tx)->revoke_sessions_of(user); !s) return s;
  }
  if (auto s = impl_->administration(**tx, user, disabled ? "user_disable" : "user_enable"); !s) return s;
  return (*tx)->commit();
}

Status AccountStore::set_roles(const UserId& user, const std::vector<Role>& roles) {
  auto current = [&]() -> Result<std::optional<User>> {
    auto tx = impl_->store.begin_read();
    if (!tx) return tx.status();
    return (*tx)->user(user);
  }();
  if (!current) return current.status();
  if (!*current) return refuse(AccountReason::kUnknownUser, StatusCode::kNotFound, "用户“" + user + "”不存在");
  User next = **current;
  next.roles = roles;
  if (roles.empty()) return refuse(AccountReason::kBadImport, StatusCode::kInvalidArgument, "用户“" + user + "”没有角色");
  if (auto s = validate_roles(next); !s) return s;
  auto tx = impl_->store.begin_write();
  if (!tx) return tx.status();
  auto found = (*tx)->set_user_roles(user, roles);
  if (!found) return found.status();
  if (!*found) return refuse(AccountReason::kUnknownUser, StatusCode::kNotFound, "用户“" + user + "”不存在");
  if (auto s = impl_->administration(**tx, user, "user_roles", {{"roles", roles_text(roles)}}); !s) return s;
  return (*tx)->commit();
}

Status AccountStore::reset_password(const UserId& user, std::string_view new_password) {
  if (auto s = check_password_policy(user, new_password); !s) return s;
  auto hash = impl_->hash_password(new_password);
  if (!hash) return hash.status();
  auto tx = impl_->store.begin_write();
  if (!tx) return tx.status();
  auto found = (*tx)->set_password_hash(user, *hash);
  if (!found) return found.status();
  if (!*found) return refuse(AccountReason::kUnknownUser, StatusCode::kNotFound, "用户“" + user + "”不存在");
  if (auto s = (*tx)->revoke_sessions_of(user); !s) return s;
  if (auto s = impl_->administration(**tx, user, "password_reset"); !s) return s;
  return (*tx)->commit();
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

// `prepare` turns a line's fields into what `insert` writes (outside the
// transaction: password hashes take time); `insert` writes it.
template <typename Row, typename Prepare, typename Insert>
Result<std::size_t> import_csv(AccountStore::Impl& m, std::string_view csv, const CsvImport& spec, Prepare prepare,
                               Insert insert) {
  std::vector<std::pair<std::string, Row>> rows;  // (where, row)
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
    auto row = prepare(f);
    if (!row) return Status(row.status().code(), row.status().reason(), where + "：" + row.status().message(), row.status().detail());
    rows.emplace_back(where, std::move(*row));
  }
  auto tx = m.store.begin_write();
  if (!tx) return tx.status();
  for (const auto& [where, row] : rows) {
    if (Status s = insert(**tx, row); !s) return Status(s.code(), s.reason(), where + "：" + s.message(), s.detail());
  }
  if (auto s = m.administration(**tx, spec.audit_subject, spec.audit_action, {{"count", std::to_string(rows.size())}}); !s) {
    return s;
  }
  if (auto s = (*tx)->commit(); !s) return s;
  return rows.size();
}

Result<std::size_t> AccountStore::import_units_csv(std::string_view csv) {
  static constexpr CsvImport kSpec{"单位文件", "code", "单位编码", "编码", "编码,名称,级别,上级单位,财政局", "units",
                                   "units_import"};
  return import_csv<Unit>(
      *impl_, csv, kSpec,
      [](const std::vector<std::string>& f) -> Result<Unit> {
        auto level = parse_unit_level(f[2]);
        if (!level) return refuse(AccountReason::kBadImport, StatusCode::kInvalidArgument, level.status().message());
        return Unit{f[0], f[1], *level, f[3], f[4]};
      },
      [this](store::Transaction& tx, const Unit& u) { return impl_->insert_unit(tx, u); });
}

Result<std::size_t> AccountStore::import_users_csv(std::string_view csv) {
  static constexpr CsvImport kSpec{"用户文件", "login", "登录名", "登录名", "登录名,姓名,单位,角色,初始密码", "users",
                                   "users_import"};
  using Row = std::pair<User, std::string>;  // the user and its password hash
  return import_csv<Row>(
      *impl_, csv, kSpec,
      [this](const std::vector<std::string>& f) -> Result<Row> {
        auto roles = parse_roles(f[3]);
        if (!roles) return refuse(AccountReason::kBadImport, StatusCode::kInvalidArgument, roles.status().message());
        User u{f[0], f[1], f[2], *roles, false};
        auto hash = impl_->prepare_user(u, f[4]);
        if (!hash) return hash.status();
        return Row{std::move(u), std::move(*hash)};
      },
      [this](store::Transaction& tx, const Row& r) { return impl_->insert_user(tx, r.first, r.second); });
}

void AccountStore::set_admin_actor(std::string actor) {
  std::lock_guard lock(impl_->mu);
  impl_->admin_actor = std::move(actor);
}

Result<std::string> AccountStore::login(const UserId& user, std::string_view password, const std::string& device) {
  Impl& m = *impl_;
  const TimePoint now = m.clock.now();
  // Read, and check the password, outside every lock and transaction: the
  // hash takes ~0.1 s and must not hold up anyone's sync.
  std::optional<store::Credentials> creds;
  {
    auto tx = m.store.begin_read();
    if (!tx) return tx.status();
    auto c = (*tx)->credentials(user);
    if (!c) return c.status();
    creds = std::move(*c);
  }
  const bool verified = creds && !creds->disabled && creds->locked_until_ms <= ms(now) &&
                        crypto_pwhash_str_verify(creds->password_hash.c_str(), password.data(), password.size()) == 0;

  auto tx = m.store.begin_write();
  if (!tx) return tx.status();
  // What the account is now (a failure or an administrator may have changed it).
  auto fresh = (*tx)->credentials(user);
  if (!fresh) return fresh.status();
  auto outcome = [&](std::string what) -> Status {
    if (auto s = m.record(**tx, workflow::login_event(now, user, device, std::move(what))); !s) return s;
    return (*tx)->commit();
  };
  const Status bad = refuse(AccountReason::kBadCredentials, StatusCode::kPermissionDenied, "用户名或密码错误");
  if (!*fresh) {
    if (auto s = outcome("unknown_user"); !s) return s;
    return bad;
  }
  const store::Credentials& c = **fresh;
  if (c.disabled) {
    if (auto s = outcome("disabled"); !s) return s;
    return refuse(AccountReason::kDisabled, StatusCode::kPermissionDenied, "账号已停用，请联系系统管理员");
  }
  if (c.locked_until_ms > ms(now)) {
    if (auto s = outcome("locked"); !s) return s;
    const auto minutes = (c.locked_until_ms - ms(now) + 59'999) / 60'000;
    return refuse(AccountReason::kLocked, StatusCode::kPermissionDenied,
                  "密码错误次数过多，账号已锁定，请 " + std::to_string(minutes) + " 分钟后再试");
  }
  if (!verified || c.password_hash != creds->password_hash) {
    const std::int64_t count = c.failures + 1;
    const bool lock_now = count >= m.config.lockout.max_failures;
    const std::int64_t until =
        lock_now ? ms(now) + std::chrono::duration_cast<std::chrono::milliseconds>(m.config.lockout.lock_for).count() : 0;
    if (auto s = (*tx)->set_failures(user, lock_now ? 0 : count, until); !s) return s;
    if (auto s = outcome(lock_now ? "bad_password_locked" : "bad_password"); !s) return s;
    return bad;
  }
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  std::string token(64, '\0');
  sodium_bin2hex(token.data(), token.size() + 1, raw, sizeof raw);
  sodium_memzero(raw, sizeof raw);
  if (c.failures != 0 || c.locked_until_ms != 0) {
    if (auto s = (*tx)->set_failures(user, 0, 0); !s) return s;
  }
  store::SessionRecord session;
  session.token_hash = sha256_raw(token);
  session.user = user;
  session.device = device;
  session.created_ms = session.last_seen_ms = ms(now);
  if (auto s = (*tx)->add_session(session); !s) return s;
  if (auto s = outcome("ok"); !s) return s;
  return token;
}

Result<SessionInfo> AccountStore::authenticate(std::string_view token, const std::string& device) {
  Impl& m = *impl_;
  const TimePoint now = m.clock.now();
  const Status invalid = refuse(AccountReason::kSessionInvalid, StatusCode::kPermissionDenied, "会话无效或已过期，请重新登录");
  const std::string token_hash = sha256_raw(token);
  // Every sync message comes through here, so the common case only reads
  // (WAL: a read never waits for the sync service's write lock). Writing
  // last_seen on every message cost an fsync'd transaction per request; it
  // is written when it is more than kTouchEvery old, so an idle expiry can
  // come that much early, never late.
  std::optional<store::SessionRecord> found;
  {
    auto tx = m.store.begin_read();
    if (!tx) return tx.status();
    auto r = (*tx)->session(token_hash);
    if (!r) return r.status();
    found = std::move(*r);
  }
  if (!found) return invalid;
  SessionInfo info{found->user, found->device, at_ms(found->created_ms), at_ms(found->last_seen_ms)};
  if (found->revoked) return invalid;
  if (found->user_disabled) {
    return refuse(AccountReason::kDisabled, StatusCode::kPermissionDenied, "账号已停用，请联系系统管理员");
  }
  if (info.device != device) {
    return refuse(AccountReason::kWrongDevice, StatusCode::kPermissionDenied, "会话令牌不属于本设备，请在本设备上登录",
                  "token of device " + info.device + " presented by " + device);
  }
  const bool idle = now - info.last_seen > m.config.sessions.idle;
  const bool old = now - info.created > m.config.sessions.absolute;
  const auto touch_every = std::min<std::chrono::milliseconds>(kTouchEvery, m.config.sessions.idle / 10);
  if (!idle && !old && now - info.last_seen < touch_every) return info;
  // Expire, or touch; never un-revoke a session revoked since the read.
  auto tx = m.store.begin_write();
  if (!tx) return tx.status();
  if (auto s = idle || old ? (*tx)->revoke_session(token_hash) : (*tx)->touch_session(token_hash, ms(now)); !s) return s;
  if (auto s = (*tx)->commit(); !s) return s;
  if (idle || old) return invalid;
  info.last_seen = now;
  return info;
}

Status AccountStore::logout(std::string_view token) {
  auto tx = impl_->store.begin_write();
  if (!tx) return tx.status();
  if (auto s = (*tx)->revoke_session(sha256_raw(token)); !s) return s;
  return (*tx)->commit();
}

Status AccountStore::change_password(const UserId& user, std::string_view old_password, std::string_view new_password) {
  std::optional<store::Credentials> creds;
  {
    auto tx = impl_->store.begin_read();
    if (!tx) return tx.status();
    auto c = (*tx)->credentials(user);
    if (!c) return c.status();
    creds = std::move(*c);
  }
  if (!creds ||
      crypto_pwhash_str_verify(creds->password_hash.c_str(), old_password.data(), old_password.size()) != 0) {
    return refuse(AccountReason::kBadCredentials, StatusCode::kPermissionDenied, "原密码错误");
  }
  return reset_password(user, new_password);
}

Directory AccountStore::directory() const {
  Directory d;
  auto tx = impl_->store.begin_read();
  if (!tx) return d;
  if (auto org = (*tx)->organisation()) d.organisation = std::move(*org);
  if (auto users = (*tx)->users()) {
    for (auto& u : *users) d.users[u.id] = std::move(u);
  }
  return d;
}

std::size_t AccountStore::active_sessions() const {
  auto tx = impl_->store.begin_read();
  if (!tx) return 0;
  auto c = (*tx)->counts(0);
  return c ? c->active_sessions : 0;
}

}  // namespace jixiao::server
