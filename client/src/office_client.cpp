// The office client's operations (office_client.h).
//
// Decisions written down:
// - client.json, not a table in replica.db: the settings must be readable
//   before the replica can be opened (the replica needs the user's unit and
//   roles, which only a login tells), and people and support staff can read
//   it. It holds a token and a password verifier, so it is mode 0600 and is
//   replaced atomically (temp file, fsync'd by close, rename).
// - History comes from the replica (ClientReplica::history), which records
//   every entry and snapshot it applies and this device's accepted
//   operations in the transaction that applies them. A history.db left by an
//   earlier version is ignored (not read, not deleted). Entries older than a
//   snapshot were never received and are not shown; a marker line says so.
// - Login before any request on a connection: a workflow action queued
//   offline is sent only on a connection whose login the server accepted.
// - The login offers every capability this build knows, in a version-3
//   envelope; what the LoginResponse says (its envelope's version and the
//   negotiated capabilities) is how every later message on that connection
//   is encoded and decoded. An answer that cannot be decoded fails the
//   sync with a message that says to upgrade (sync::undecodable_answer).
#include "jixiao/client/office_client.h"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "jixiao/common/cell_ref.h"
#include "jixiao/common/form_json.h"
#include "jixiao/common/uuid.h"
#include "jixiao/sync/protocol.h"
#include "jixiao/sqlite/sqlite.h"
#include "jixiao/sync/sync_session.h"

namespace jixiao::client {
namespace fs = std::filesystem;
using sync::ClientReplica;
using sync::FormReplica;
using sync::ServerSeq;

namespace {

using Millis = std::chrono::milliseconds;

Millis steady_now() {
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now().time_since_epoch());
}

Status init_sodium() {
  static std::once_flag once;
  static int result = 0;
  std::call_once(once, [] { result = sodium_init(); });
  if (result < 0) return Status::internal("密码模块初始化失败", "sodium_init");
  return Status::ok();
}

// ---- client.json -------------------------------------------------------------------

nlohmann::json user_to_json(const User& u) {
  nlohmann::json roles = nlohmann::json::array();
  for (Role r : u.roles) roles.push_back(std::string(role_key(r)));
  return {{"id", u.id}, {"display_name", u.display_name}, {"unit", u.unit}, {"roles", roles}};
}

Result<User> user_from_json(const nlohmann::json& j) {
  User u;
  u.id = j.value("id", "");
  u.display_name = j.value("display_name", "");
  u.unit = j.value("unit", "");
  for (const auto& r : j.value("roles", nlohmann::json::array())) {
    auto role = parse_role(r.get<std::string>());
    if (!role) return role.status();
    u.roles.push_back(*role);
  }
  return u;
}

Result<ClientMeta> read_meta(const fs::path& file) {
  ClientMeta m;
  std::error_code ec;
  if (!fs::exists(file, ec)) return m;
  std::ifstream in(file, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  try {
    const auto j = nlohmann::json::parse(buf.str());
    const int version = j.value("format_version", 0);
    if (version != ClientMeta::kFormatVersion) {
      return Status::unsupported_version("本机设置文件由其他版本的程序写入，请升级程序",
                                         file.string() + ": format_version " + std::to_string(version));
    }
    m.server_url = j.value("server_url", "");
    m.ca_file = j.value("ca_file", "");
    m.login = j.value("login", "");
    m.device_id = j.value("device_id", "");
    m.token = j.value("token", "");
    m.unlock_verifier = j.value("unlock_verifier", "");
    m.unit_name = j.value("unit_name", "");
    m.last_login_ms = j.value("last_login_ms", std::int64_t{0});
    m.last_sync_ms = j.value("last_sync_ms", std::int64_t{0});
    if (j.contains("user") && j["user"].is_object()) {
      auto u = user_from_json(j["user"]);
      if (!u) return u.status();
      m.user = std::move(u).value();
    }
  } catch (const std::exception& e) {
    return Status::corruption("本机设置文件 " + file.string() + " 已损坏", e.what());
  }
  return m;
}

Status write_meta(const fs::path& file, const ClientMeta& m) {
  nlohmann::json j = {{"format", "jixiao-client"},
                      {"format_version", ClientMeta::kFormatVersion},
                      {"server_url", m.server_url},
                      {"ca_file", m.ca_file},
                      {"login", m.login},
                      {"device_id", m.device_id},
                      {"token", m.token},
                      {"unlock_verifier", m.unlock_verifier},
                      {"unit_name", m.unit_name},
                      {"last_login_ms", m.last_login_ms},
                      {"last_sync_ms", m.last_sync_ms}};
  if (m.user) j["user"] = user_to_json(*m.user);
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status(StatusCode::kUnavailable, "无法写入本机设置文件 " + tmp.string(), "open");
    std::error_code ec;
    fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace, ec);
    out << j.dump(2) << "\n";
    out.flush();
    if (!out) return Status(StatusCode::kUnavailable, "无法写入本机设置文件 " + tmp.string(), "write");
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) return Status(StatusCode::kUnavailable, "无法保存本机设置文件 " + file.string(), ec.message());
  return Status::ok();
}

std::string shorten(std::string_view text, std::size_t max_chars = 40) {
  // Counts UTF-8 code points, cuts at a boundary.
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (chars == max_chars) return std::string(text.substr(0, i)) + "…";
      ++chars;
    }
  }
  return std::string(text);
}

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return text;
}

std::string resolution_name(sync::Resolution r) {
  switch (r) {
    case sync::Resolution::kKeepWinner: return "保留现值";
    case sync::Resolution::kTakeLoser: return "采用被覆盖的值";
    case sync::Resolution::kNewValue: return "写入新值";
  }
  return "?";
}

}  // namespace

// ===========================================================================================

struct OfficeClient::Impl {
  ClientOptions options;
  workflow::SystemClock system_clock;
  ClientMeta meta;
  fs::path meta_file;
  std::unique_ptr<ClientReplica> replica;  // once a user is known
  // The server's wire options as the last LoginResponse said.
  sync::WireOptions peer;

  const workflow::Clock& clock() const { return options.clock != nullptr ? *options.clock : system_clock; }
  std::int64_t now_ms() const { return clock().now().time_since_epoch().count(); }

  Status save_meta() { return write_meta(meta_file, meta); }

  Status open_replica() {
    if (replica) return Status::ok();
    if (!meta.user) {
      return Status(StatusCode::kFailedPrecondition,
                    "本机尚未登录过：请先联网运行 jixiao register（或 jixiao login）", "no user in client.json");
    }
    sync::ClientIdentity who{*meta.user, meta.device_id, meta.unit_name};
    auto r = ClientReplica::open((options.data_dir / "replica.db").string(), std::move(who), *options.templates,
                                 clock());
    if (!r) return r.status();
    replica = std::move(r).value();
    return Status::ok();
  }

  Result<ClientReplica*> rep() {
    if (auto s = open_replica(); !s) return s;
    return replica.get();
  }
  Result<const ClientReplica*> rep() const {
    if (!replica) {
      return Status(StatusCode::kFailedPrecondition,
                    "本机尚未登录过：请先联网运行 jixiao register（或 jixiao login）", "no user in client.json");
    }
    return static_cast<const ClientReplica*>(replica.get());
  }

  // ---- the network ----
  Result<std::unique_ptr<Transport>> connect() const {
    if (meta.server_url.empty()) {
      return Status(StatusCode::kFailedPrecondition, "尚未设置服务器地址：请先运行 jixiao register --server 地址 --user 用户名",
                    "no server_url");
    }
    ConnectParams p{meta.server_url, meta.ca_file, options.connect_timeout};
    return options.connect ? options.connect(p) : connect_websocket(p);
  }

  // One login exchange on `t`. On success the meta holds the new token and
  // the user as the server knows them.
  Status login_exchange(Transport& t, const std::string& password, const std::string& token) {
    sync::LoginRequest req{meta.login, meta.device_id, password, token, options.client_version,
                           sync::Capabilities::all()};
    if (auto s = t.send(sync::encode_message(req)); !s) return s;
    auto msg = t.receive(options.request_timeout);
    if (!msg) {
      return Status(StatusCode::kUnavailable, "服务器没有回应登录请求", msg.status().to_string());
    }
    auto type = sync::peek_message_type(*msg);
    auto version = sync::peek_protocol_version(*msg);
    if (!type) return sync::undecodable_answer(type.status());
    if (!version) return sync::undecodable_answer(version.status());
    if (*type == sync::MessageType::kErrorResponse) {
      auto err = sync::decode_error_response(*msg);
      if (!err) return sync::undecodable_answer(err.status());
      const StatusCode code = err->code == StatusCode::kOk ? StatusCode::kPermissionDenied : err->code;
      return Status(code, err->reason, err->message.empty() ? "服务器拒绝登录" : err->message,
                    "login refused, next step " + std::to_string(static_cast<int>(err->next)));
    }
    if (*type != sync::MessageType::kLoginResponse) {
      return Status::corruption("服务器对登录请求的回应无法识别", "unexpected message type");
    }
    auto resp = sync::decode_login_response(*msg);
    if (!resp) return sync::undecodable_answer(resp.status());
    if (resp->user.id != meta.login) {
      return Status::corruption("服务器返回的用户与登录名不一致", resp->user.id);
    }
    // A version-2 answer carries no capabilities: the server is of release
    // 2 or older and is spoken to in version 2.
    peer = sync::WireOptions{*version, resp->capabilities & sync::Capabilities::all()};
    if (!resp->token.empty()) meta.token = resp->token;
    meta.user = resp->user;
    if (!resp->unit_name.empty()) meta.unit_name = resp->unit_name;
    meta.last_login_ms = now_ms();
    return Status::ok();
  }

  Status remember_password(const std::string& password) {
    if (auto s = init_sodium(); !s) return s;
    std::string out(crypto_pwhash_STRBYTES, '\0');
    if (crypto_pwhash_str(out.data(), password.data(), password.size(), options.hashing.ops_limit,
                          options.hashing.mem_limit) != 0) {
      return Status(StatusCode::kResourceExhausted, "内存不足，无法保存离线解锁信息", "crypto_pwhash_str");
    }
    out.resize(std::char_traits<char>::length(out.c_str()));
    meta.unlock_verifier = std::move(out);
    return Status::ok();
  }

  // Logs in on `t`: the token first, the password if the token is missing
  // or refused and a password is to be had. Saves the meta.
  Result<bool> login_on(Transport& t, const PasswordSource& password) {
    if (!meta.token.empty()) {
      Status s = login_exchange(t, "", meta.token);
      if (s) {
        if (auto saved = save_meta(); !saved) return saved;
        return false;
      }
      // Not a refusal of the token: the link, or an answer this client
      // cannot read (it needs an upgrade, the token is still good).
      if (s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kCorruption ||
          s.code() == StatusCode::kUnsupportedVersion) {
        return s;
      }
      meta.token.clear();  // refused: expired, revoked, another device
      if (auto saved = save_meta(); !saved) return saved;
      if (!password) {
        return Status(StatusCode::kPermissionDenied, s.message() + "；请运行 jixiao login 重新登录", s.detail());
      }
    }
    std::optional<std::string> pw = password ? password() : std::nullopt;
    if (!pw) {
      return Status(StatusCode::kPermissionDenied, "需要登录：请运行 jixiao login（或用 --password-file 提供密码）",
                    "no token, no password");
    }
    if (!t.connected()) return Status(StatusCode::kUnavailable, "与服务器的连接已断开", "closed after login refusal");
    if (auto s = login_exchange(t, *pw, ""); !s) return s;
    if (auto s = remember_password(*pw); !s) return s;
    if (auto s = save_meta(); !s) return s;
    return true;
  }

  Result<SyncSummary> run_sync(const SyncOptions& o);
};

OfficeClient::OfficeClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OfficeClient::~OfficeClient() = default;

Result<std::unique_ptr<OfficeClient>> OfficeClient::open(ClientOptions options) {
  if (options.templates == nullptr) return Status::internal("没有表单模板", "ClientOptions.templates is null");
  std::error_code ec;
  fs::create_directories(options.data_dir, ec);
  if (ec || !fs::is_directory(options.data_dir, ec)) {
    return Status::invalid_argument("无法创建数据目录 " + options.data_dir.string(), ec.message());
  }
  fs::permissions(options.data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->meta_file = impl->options.data_dir / "client.json";
  auto meta = read_meta(impl->meta_file);
  if (!meta) return meta.status();
  impl->meta = std::move(meta).value();
  if (impl->meta.user) {
    if (auto s = impl->open_replica(); !s) return s;
  }
  return std::unique_ptr<OfficeClient>(new OfficeClient(std::move(impl)));
}

const ClientMeta& OfficeClient::meta() const { return impl_->meta; }
const fs::path& OfficeClient::data_dir() const { return impl_->options.data_dir; }

// ---- accounts ----------------------------------------------------------------------------

Status OfficeClient::register_device(const std::string& server_url, const UserId& login_name, const std::string& ca_file,
                                     const std::string& password, const SyncOptions& first_sync) {
  ClientMeta& m = impl_->meta;
  if (!m.login.empty() && m.login != login_name && m.user) {
    return Status(StatusCode::kFailedPrecondition,
                  "数据目录 " + data_dir().string() + " 已属于用户 " + m.login + "；请用 --data 指定另一个目录",
                  "login mismatch");
  }
  if (server_url.empty() || login_name.empty()) return Status::invalid_argument("需要服务器地址和用户名");
  if (m.device_id.empty() || m.login != login_name) m.device_id = new_uuid_v4();
  if (m.server_url != server_url || m.login != login_name) m.token.clear();
  m.server_url = server_url;
  m.login = login_name;
  m.ca_file = ca_file.empty() ? std::string() : fs::absolute(ca_file).string();
  if (auto s = impl_->save_meta(); !s) return s;
  if (auto s = login(password); !s) return s;
  auto synced = sync(first_sync);
  return synced ? Status::ok() : synced.status();
}

Status OfficeClient::login(const std::string& password) {
  auto t = impl_->connect();
  if (!t) return t.status();
  Status s = impl_->login_exchange(**t, password, "");
  (*t)->close();
  if (!s) return s;
  if (auto r = impl_->remember_password(password); !r) return r;
  if (auto r = impl_->save_meta(); !r) return r;
  return impl_->open_replica();
}

Status OfficeClient::logout() {
  impl_->meta.token.clear();
  return impl_->save_meta();
}

Status OfficeClient::unlock(const std::string& password) const {
  if (impl_->meta.unlock_verifier.empty()) {
    return Status(StatusCode::kFailedPrecondition, "本机还没有可用于离线解锁的密码：请先联网登录一次（jixiao login）",
                  "no verifier");
  }
  if (auto s = init_sodium(); !s) return s;
  if (crypto_pwhash_str_verify(impl_->meta.unlock_verifier.c_str(), password.data(), password.size()) != 0) {
    return Status(StatusCode::kPermissionDenied, "密码错误", "verifier mismatch");
  }
  return Status::ok();
}

// ---- sync --------------------------------------------------------------------------------

Result<SyncSummary> OfficeClient::Impl::run_sync(const SyncOptions& o) {
  auto t = connect();
  if (!t) return t.status();
  Transport& transport = **t;
  struct Closer {
    Transport& t;
    ~Closer() { t.close(); }
  } closer{transport};

  SyncSummary summary;
  auto logged = login_on(transport, o.password);
  if (!logged) return logged.status();
  summary.logged_in_with_password = *logged;
  if (auto s = open_replica(); !s) return s;

  SyncProgress progress;
  progress.ops_to_send = replica->pending().size();
  auto report = [&] {
    if (o.progress) o.progress(progress);
  };

  Status send_status;
  sync::ClientSyncSession session(
      *replica, [&](std::string bytes) {
        if (send_status) send_status = transport.send(bytes);
      },
      options.request_timeout);
  session.set_wire_options(peer);
  // The replica records what it applied (its history); here only the counts.
  session.set_applied_observer([&](const sync::SyncRequest&, const sync::SyncResponse& response) {
    for (const sync::OpResult& r : response.results) {
      ++summary.ops_sent;
      if (r.seq > 0) {
        ++summary.accepted;
      } else {
        ++summary.rejected;
      }
    }
    summary.records_received += response.entries.size() + response.snapshots.size();
    progress.ops_sent = summary.ops_sent;
    progress.ops_to_send = std::max(progress.ops_to_send, progress.ops_sent);
    progress.records_received = summary.records_received;
    report();
  });
  // The slowest link an office has (64 kbit/s), halved: a request's own
  // upload time is added to its timeout.
  session.set_uplink_bytes_per_second(4000);
  std::size_t receiving = 0;  // of the answer on its way, at the last look
  const Millis started = steady_now();
  report();
  session.begin(steady_now());
  while (true) {
    if (!send_status) {
      return Status(StatusCode::kUnavailable, "与服务器的连接中断，已保存的内容不受影响，稍后再同步",
                    send_status.to_string());
    }
    if (session.idle()) break;
    const Millis now = steady_now();
    if (now - started > options.sync_deadline) {
      return Status(StatusCode::kUnavailable, "同步超时，已保存的内容不受影响，稍后再同步", "sync deadline");
    }
    auto msg = transport.receive(std::min<Millis>(Millis(500), options.request_timeout));
    if (!msg) {
      if (msg.status().code() == StatusCode::kUnavailable && msg.status().detail() == "timeout") {
        if (const std::size_t now_receiving = transport.receiving_bytes(); now_receiving != receiving) {
          receiving = now_receiving;
          session.on_progress(steady_now());
        }
        session.on_tick(steady_now());
        continue;
      }
      session.on_connection_lost(steady_now());
      return Status(StatusCode::kUnavailable, "与服务器的连接中断，已保存的内容不受影响，稍后再同步",
                    msg.status().to_string());
    }
    session.on_message(*msg, steady_now());
    if (session.last_server_next() == sync::NextStep::kReauthenticate) {
      meta.token.clear();
      if (auto s = save_meta(); !s) return s;
      const Status& why = session.last_error();
      return Status(StatusCode::kPermissionDenied,
                    (why.message().empty() ? std::string("会话已过期") : why.message()) + "；请运行 jixiao login 重新登录",
                    "reauthenticate");
    }
  }
  if (const Status& last = session.last_error(); !last) return last;
  meta.last_sync_ms = now_ms();
  if (auto s = save_meta(); !s) return s;
  progress.done = true;
  report();
  return summary;
}

Result<SyncSummary> OfficeClient::sync(const SyncOptions& options) { return impl_->run_sync(options); }

// ---- forms -------------------------------------------------------------------------------

Result<FormId> OfficeClient::resolve_form(std::string_view id_or_prefix) const {
  auto r = impl_->rep();
  if (!r) return r.status();
  const std::string wanted(id_or_prefix);
  std::vector<FormId> matches;
  for (const sync::FormSummary& f : (*r)->forms()) {
    if (f.id == wanted) return f.id;
    if (f.id.rfind(wanted, 0) == 0) matches.push_back(f.id);
  }
  if (wanted.size() < 8) {
    return Status::invalid_argument("表单编号“" + wanted + "”太短：至少写前 8 位", "prefix too short");
  }
  if (matches.empty()) return Status::not_found("本机没有编号为“" + wanted + "”的表单（用 jixiao forms 查看）", wanted);
  if (matches.size() > 1) {
    return Status::invalid_argument("编号“" + wanted + "”对应 " + std::to_string(matches.size()) + " 张表单，请多写几位",
                                    "ambiguous prefix");
  }
  return matches.front();
}

const FormTemplate* OfficeClient::template_of(const Form& form) const {
  auto t = impl_->options.templates->find(form.template_ref.id, form.template_ref.version);
  return t ? *t : nullptr;
}

std::string OfficeClient::stage_name(const workflow::SubmissionState& state) const {
  for (const auto& def : impl_->options.workflows) {
    if (def.id != state.definition_id) continue;
    if (const auto* st = def.find_stage(state.stage_id)) return st->name;
  }
  return state.stage_id;
}

namespace {

const workflow::StageDefinition* find_stage(const std::vector<workflow::WorkflowDefinition>& defs,
                                            const workflow::SubmissionState& s) {
  for (const auto& def : defs) {
    if (def.id == s.definition_id) return def.find_stage(s.stage_id);
  }
  // A definition this installation does not ship: match the stage by id.
  for (const auto& def : defs) {
    if (const auto* st = def.find_stage(s.stage_id)) return st;
  }
  return nullptr;
}

}  // namespace

Result<std::vector<FormListing>> OfficeClient::forms() const {
  auto r = impl_->rep();
  if (!r) return r.status();
  std::vector<FormListing> out;
  for (const sync::FormSummary& f : (*r)->forms()) {
    FormListing l;
    l.summary = f;
    auto v = (*r)->view(f.id);
    if (v) {
      const Form& form = v->form;
      for (const char* key : {"project_name", "title", "department_name"}) {
        if (!form.field(key).text.empty()) {
          l.project_name = form.field(key).text;
          break;
        }
      }
      if (const FormTemplate* t = template_of(form)) l.template_title = t->title;
      const workflow::SubmissionState& s = v->workflow;
      switch (s.phase) {
        case workflow::Phase::kDraft:
        case workflow::Phase::kReturned:
          l.state_text = std::string(workflow::phase_name(s.phase));
          l.holder = workflow::Holder{"", l.state_text, Role::kPreparer, form.unit_code};
          break;
        case workflow::Phase::kInReview: {
          l.state_text = "审核中·" + stage_name(s);
          const auto* st = find_stage(impl_->options.workflows, s);
          if (st != nullptr) {
            const UnitCode unit = st->acting_unit == workflow::ActingUnit::kOwnUnit ? form.unit_code : UnitCode{};
            l.holder = workflow::Holder{st->id, st->name, st->role, unit};
          }
          break;
        }
        case workflow::Phase::kAccepted:
          l.state_text = std::string(workflow::phase_name(s.phase));
          break;
      }
    } else {
      l.state_text = "（无法读取）";
    }
    if (l.template_title.empty()) l.template_title = f.template_ref.id;
    out.push_back(std::move(l));
  }
  return out;
}

Result<std::vector<TodoItem>> OfficeClient::todo() const {
  auto listing = forms();
  if (!listing) return listing.status();
  const User& me = *impl_->meta.user;
  std::vector<TodoItem> out;
  std::map<FormId, FormListing> by_id;
  for (const FormListing& l : *listing) {
    by_id[l.summary.id] = l;
    if (!l.holder || !me.has_role(l.holder->role)) continue;
    const bool own_unit = l.summary.unit_code == me.unit;
    bool mine = false;
    if (l.summary.phase == workflow::Phase::kDraft || l.summary.phase == workflow::Phase::kReturned) {
      mine = own_unit;
    } else if (l.summary.phase == workflow::Phase::kInReview) {
      // The acting unit is the form's own (holder carries it) or a unit above
      // it; a form of another unit is on this machine only once it reached a
      // stage of ours (sync_service.h: visibility).
      mine = l.holder->unit.empty() ? !own_unit : l.holder->unit == me.unit;
    }
    if (!mine) continue;
    TodoItem item;
    item.kind = TodoItem::Kind::kForm;
    item.form = l;
    switch (l.summary.phase) {
      case workflow::Phase::kDraft: item.what = "草稿，待填报并提交"; break;
      case workflow::Phase::kReturned: item.what = "已退回，待修改后重新提交"; break;
      default: item.what = "待您办理（" + l.holder->stage_name + "）"; break;
    }
    out.push_back(std::move(item));
  }
  auto r = impl_->rep();
  for (const sync::ConflictRecord& c : (*r)->open_conflicts()) {
    if (c.winner.author != me.id && c.loser.author != me.id && !me.has_role(Role::kPreparer)) continue;
    TodoItem item;
    item.kind = TodoItem::Kind::kConflict;
    if (auto it = by_id.find(c.form_id); it != by_id.end()) item.form = it->second;
    auto v = (*r)->view(c.form_id);
    item.what = "冲突：" + (v ? describe_cell(v->form, c.cell) : c.cell.to_string());
    item.ref = c.id;
    out.push_back(std::move(item));
  }
  for (const sync::RejectedChange& rc : (*r)->rejected()) {
    if (rc.state != sync::RejectedState::kWaiting) continue;
    TodoItem item;
    item.kind = TodoItem::Kind::kRejected;
    if (auto it = by_id.find(rc.op.form_id); it != by_id.end()) item.form = it->second;
    item.what = "被拒绝的修改：" + describe_op(rc.op) + "（" + rc.message + "）";
    item.ref = rc.op.id;
    out.push_back(std::move(item));
  }
  return out;
}

Result<FormId> OfficeClient::create_form(const std::string& template_id, std::optional<int> fiscal_year,
                                         const std::optional<FormId>& from_target) {
  auto r = impl_->rep();
  if (!r) return r.status();
  ClientReplica& rep = **r;
  std::optional<Form> target;
  if (from_target) {
    auto v = rep.view(*from_target);
    if (!v) return v.status();
    const FormTemplate* tt = template_of(v->form);
    if (tt == nullptr || tt->kind != "project_target") {
      return Status::invalid_argument("表单 " + *from_target + " 不是项目绩效目标表，不能作为来源", "not a target form");
    }
    target = v->form;
  }
  const FormTemplate* tmpl = impl_->options.templates->latest(template_id);
  if (tmpl == nullptr) {
    return Status::invalid_argument("未知的表单模板“" + template_id + "”（用 jixiao templates 查看）", template_id);
  }
  const int year = fiscal_year.value_or(target ? target->fiscal_year : 0);
  if (year < 2000 || year > 2100) return Status::invalid_argument("请用 --year 指定年度（如 2021）", "year");
  std::optional<MoneyUnit> unit;
  if (target && std::find(tmpl->money_units.begin(), tmpl->money_units.end(), target->money_unit) != tmpl->money_units.end()) {
    unit = target->money_unit;
  }
  auto id = rep.create_form(template_id, year, unit);
  if (!id) return id.status();
  if (!target) return id;
  // Copy what the target form fixed before the year. Each copy is its own
  // durable edit; a cell this template lacks is skipped.
  const MoneyUnit mu = target->money_unit;
  auto copy_field = [&](const char* from, const char* to) -> Status {
    const CellValue& v = target->field(from);
    if (v.is_blank() || tmpl->field(to) == nullptr) return Status::ok();
    return rep.set_cell(*id, CellRef::field(to), v.display(mu));
  };
  for (auto [from, to] : {std::pair{"project_name", "project_name"}, std::pair{"project_code", "project_code"},
                          std::pair{"goal", "goal_expected"}}) {
    if (auto s = copy_field(from, to); !s) return s;
  }
  const TableDef* ind = tmpl->table("indicators");
  const Table* rows = target->table("indicators");
  if (ind != nullptr && ind->dynamic_rows && rows != nullptr) {
    for (const Row& row : rows->rows) {
      std::vector<std::pair<std::string, std::string>> cells;
      for (const char* col : {"level1", "level2", "level3", "target"}) {
        const CellValue& v = row.cell(col);
        if (!v.is_blank() && ind->column(col) != nullptr) cells.emplace_back(col, v.display(mu));
      }
      auto added = rep.insert_row(*id, "indicators", "", cells);
      if (!added) return added.status();
    }
  }
  return id;
}

Result<FormReplica> OfficeClient::view(const FormId& form) const {
  auto r = impl_->rep();
  if (!r) return r.status();
  return (*r)->view(form);
}

Result<std::string> OfficeClient::form_json(const FormId& form) const {
  auto v = view(form);
  if (!v) return v.status();
  const FormTemplate* t = template_of(v->form);
  if (t == nullptr) return Status::not_found("本机没有该表单的模板 " + v->form.template_ref.id);
  return form_to_json(v->form, *t);
}

Status OfficeClient::set_cell(const FormId& form, std::string_view cell, std::string_view text) {
  auto ref = CellRef::parse(cell);
  if (!ref) return ref.status();
  auto r = impl_->rep();
  if (!r) return r.status();
  return (*r)->set_cell(form, *ref, text);
}

Result<RowId> OfficeClient::add_row(const FormId& form, const std::string& table,
                                    const std::vector<std::pair<std::string, std::string>>& cells) {
  auto r = impl_->rep();
  if (!r) return r.status();
  return (*r)->insert_row(form, table, "", cells);
}

Status OfficeClient::delete_row(const FormId& form, const std::string& table, const RowId& row) {
  auto r = impl_->rep();
  if (!r) return r.status();
  auto v = (*r)->view(form);
  if (!v) return v.status();
  // A unique prefix of a row id is enough, as for forms.
  RowId full = row;
  if (const Table* t = v->form.table(table)) {
    std::vector<RowId> matches;
    for (const Row& rw : t->rows) {
      if (rw.id == row) {
        matches = {rw.id};
        break;
      }
      if (row.size() >= 8 && rw.id.rfind(row, 0) == 0) matches.push_back(rw.id);
    }
    if (matches.size() == 1) full = matches.front();
  }
  return (*r)->delete_row(form, table, full);
}

Result<CheckOutcome> OfficeClient::check(const FormId& form) const {
  auto v = view(form);
  if (!v) return v.status();
  CheckOutcome out;
  out.form = v->form;
  out.tmpl = template_of(out.form);
  if (out.tmpl == nullptr) return Status::not_found("本机没有该表单的模板 " + out.form.template_ref.id);
  out.report = check_form(out.form, *out.tmpl);
  return out;
}

// ---- workflow ----------------------------------------------------------------------------

namespace {
// A workflow action names the content hash of what the actor saw: the
// replica's view, which for a form created here and never synced is built
// exactly as the server will build it (the unit's name comes from the
// login), so it can be submitted offline and sent with its edits.
Status queue(ClientReplica* rep, const FormId& form, workflow::Action a, sync::WorkflowAction p = {}) {
  return rep->workflow_action(form, a, std::move(p));
}
}  // namespace

Status OfficeClient::submit(const FormId& form) {
  auto r = impl_->rep();
  return r ? queue(*r, form, workflow::Action::kSubmit) : r.status();
}
Status OfficeClient::approve(const FormId& form, const ApproveParams& params) {
  auto r = impl_->rep();
  if (!r) return r.status();
  sync::WorkflowAction p;
  p.reason = params.comment;
  p.evidence = params.evidence;
  return queue(*r, form, workflow::Action::kApprove, std::move(p));
}
Status OfficeClient::return_form(const FormId& form, const std::string& reason, const std::string& to_stage) {
  if (reason.empty()) return Status::invalid_argument("退回必须写明原因（--reason）", "reason");
  auto r = impl_->rep();
  if (!r) return r.status();
  sync::WorkflowAction p;
  p.reason = reason;
  p.return_to_stage = to_stage;
  return queue(*r, form, workflow::Action::kReturn, std::move(p));
}
Status OfficeClient::withdraw(const FormId& form) {
  auto r = impl_->rep();
  return r ? queue(*r, form, workflow::Action::kWithdraw) : r.status();
}
Status OfficeClient::resubmit(const FormId& form) {
  auto r = impl_->rep();
  return r ? queue(*r, form, workflow::Action::kResubmit) : r.status();
}
Status OfficeClient::accept(const FormId& form, const std::string& comment) {
  auto r = impl_->rep();
  if (!r) return r.status();
  sync::WorkflowAction p;
  p.reason = comment;
  return queue(*r, form, workflow::Action::kAccept, std::move(p));
}

// ---- history, conflicts, rejected --------------------------------------------------------

Result<std::vector<HistoryItem>> OfficeClient::history(const FormId& form) const {
  auto v = view(form);
  if (!v) return v.status();
  auto r = impl_->rep();
  if (!r) return r.status();
  auto records = (*r)->history(form);
  if (!records) return records.status();
  std::vector<HistoryItem> out;
  std::set<ServerSeq> seen;  // an entry and this device's own record of one seq: the entry wins
  for (const sync::HistoryRecord& rec : *records) {
    if (seen.count(rec.seq) != 0) continue;
    HistoryItem item;
    item.seq = rec.seq;
    item.op_id = rec.op_id;
    item.author = rec.author;
    item.wall_ms = rec.wall_ms;
    if (rec.kind == sync::HistoryRecord::Kind::kSnapshot) {
      // Redundant when what it covers was recorded before.
      if (!seen.empty() && *seen.begin() <= item.seq) continue;
      seen.insert(item.seq);
      item.changes.push_back("收到该表单截至第 " + std::to_string(item.seq) + " 号记录的完整内容（此前的记录未下载到本机）");
      out.push_back(std::move(item));
      continue;
    }
    seen.insert(item.seq);
    if (rec.kind == sync::HistoryRecord::Kind::kOwn) {
      if (rec.op) item.changes.push_back(describe_op(*rec.op));
      out.push_back(std::move(item));
      continue;
    }
    if (rec.entry) {
      for (const sync::Effect& e : rec.entry->effects) {
        std::string line;
        if (const auto* c = std::get_if<sync::FormCreated>(&e)) {
          const FormTemplate* t = template_of(c->form);
          line = "创建表单（" + (t ? t->title : c->form.template_ref.id) + "，" + std::to_string(c->form.fiscal_year) + "年度）";
        } else if (const auto* w = std::get_if<sync::CellWritten>(&e)) {
          line = describe_cell(v->form, w->cell) + "：" +
                 (w->value.kind == CellValue::Kind::kEmpty ? std::string("清空")
                                                          : "“" + shorten(one_line(w->value.display(v->form.money_unit))) + "”");
        } else if (const auto* ri = std::get_if<sync::RowInserted>(&e)) {
          const FormTemplate* t = template_of(v->form);
          const TableDef* td = t ? t->table(ri->table) : nullptr;
          line = (td ? td->label : ri->table) + "：添加一行";
          auto l3 = ri->cells.find("level3");
          if (l3 != ri->cells.end() && !l3->second.text.empty()) line += "（" + shorten(l3->second.text) + "）";
        } else if (const auto* rd = std::get_if<sync::RowDeleted>(&e)) {
          const FormTemplate* t = template_of(v->form);
          const TableDef* td = t ? t->table(rd->table) : nullptr;
          line = (td ? td->label : rd->table) + "：删除一行";
        } else if (const auto* wc = std::get_if<sync::WorkflowChanged>(&e)) {
          const auto& st = wc->state;
          line = "流程：" + std::string(workflow::phase_name(st.phase));
          if (st.phase == workflow::Phase::kInReview) line += "·" + stage_name(st);
          if (st.phase == workflow::Phase::kReturned && !st.last_return_reason.empty()) {
            line += "，退回原因：" + st.last_return_reason;
          }
        } else if (const auto* co = std::get_if<sync::ConflictOpened>(&e)) {
          line = "出现冲突：" + describe_cell(v->form, co->conflict.cell);
        } else if (const auto* cc = std::get_if<sync::ConflictClosed>(&e)) {
          line = "冲突已处理（" + resolution_name(cc->resolution) + "，处理人 " + cc->resolved_by + "）";
        }
        item.changes.push_back(std::move(line));
      }
    }
    out.push_back(std::move(item));
  }
  return out;
}

Result<std::vector<sync::ConflictRecord>> OfficeClient::conflicts(const std::optional<FormId>& form) const {
  auto r = impl_->rep();
  if (!r) return r.status();
  std::vector<sync::ConflictRecord> out;
  for (auto& c : (*r)->open_conflicts()) {
    if (!form || c.form_id == *form) out.push_back(std::move(c));
  }
  return out;
}

Status OfficeClient::resolve(const FormId& form, const std::string& conflict_id, sync::Resolution resolution,
                             std::string_view new_value) {
  auto r = impl_->rep();
  if (!r) return r.status();
  std::string full = conflict_id;
  auto v = (*r)->view(form);
  if (!v) return v.status();
  if (v->conflicts.count(conflict_id) == 0 && conflict_id.size() >= 8) {
    std::vector<std::string> matches;
    for (const auto& [id, c] : v->conflicts) {
      if (id.rfind(conflict_id, 0) == 0) matches.push_back(id);
    }
    if (matches.size() == 1) full = matches.front();
  }
  return (*r)->resolve_conflict(form, full, resolution, new_value);
}

Result<std::vector<sync::RejectedChange>> OfficeClient::rejected(const std::optional<FormId>& form) const {
  auto r = impl_->rep();
  if (!r) return r.status();
  std::vector<sync::RejectedChange> out;
  for (auto& c : (*r)->rejected()) {
    if (c.state != sync::RejectedState::kWaiting) continue;
    if (!form || c.op.form_id == *form) out.push_back(std::move(c));
  }
  return out;
}

Result<std::size_t> OfficeClient::reapply(const FormId& form) {
  auto r = impl_->rep();
  if (!r) return r.status();
  return (*r)->reapply_rejected(form);
}

Status OfficeClient::discard(std::string_view op_id) {
  auto r = impl_->rep();
  if (!r) return r.status();
  std::vector<sync::OpId> matches;
  for (const auto& c : (*r)->rejected()) {
    if (c.state != sync::RejectedState::kWaiting) continue;
    if (c.op.id == op_id) {
      matches = {c.op.id};
      break;
    }
    if (op_id.size() >= 8 && c.op.id.rfind(op_id, 0) == 0) matches.push_back(c.op.id);
  }
  if (matches.empty()) return Status::not_found("没有编号为“" + std::string(op_id) + "”的待重新提交的修改", std::string(op_id));
  if (matches.size() > 1) return Status::invalid_argument("编号“" + std::string(op_id) + "”对应多项修改，请多写几位");
  return (*r)->discard_rejected(matches.front());
}

// ---- descriptions ------------------------------------------------------------------------

std::string OfficeClient::describe_cell(const Form& form, const CellRef& cell) const {
  const FormTemplate* t = template_of(form);
  if (t == nullptr) return cell.to_string();
  if (cell.is_field()) {
    const CellDef* d = t->field(cell.column);
    return d ? d->label : cell.to_string();
  }
  const TableDef* td = t->table(cell.table);
  if (td == nullptr) return cell.to_string();
  std::string row_text;
  if (const RowDef* rd = td->row(cell.row)) {
    row_text = rd->label;
  } else if (const Table* tab = form.table(cell.table)) {
    for (std::size_t i = 0; i < tab->rows.size(); ++i) {
      if (tab->rows[i].id == cell.row) {
        row_text = "第" + std::to_string(i + 1) + "行";
        const std::string& l3 = tab->rows[i].cell("level3").text;
        if (!l3.empty()) row_text += "（" + shorten(l3, 16) + "）";
      }
    }
    if (row_text.empty()) row_text = "已删除的行";
  }
  std::string out = td->label + "·" + row_text;
  if (!cell.column.empty()) {
    const CellDef* c = td->column(cell.column);
    out += "·" + (c ? c->label : cell.column);
  }
  return out;
}

std::string OfficeClient::describe_op(const sync::Operation& op) const {
  auto v = impl_->replica ? impl_->replica->view(op.form_id) : Result<FormReplica>(Status::not_found(""));
  return std::visit(
      [&](const auto& p) -> std::string {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, sync::CreateForm>) {
          auto t = impl_->options.templates->find(p.template_ref.id, p.template_ref.version);
          return "创建表单（" + (t ? (*t)->title : p.template_ref.id) + "，" + std::to_string(p.fiscal_year) + "年度）";
        } else if constexpr (std::is_same_v<T, sync::SetCell>) {
          const std::string where = v ? describe_cell(v->form, p.cell) : p.cell.to_string();
          const MoneyUnit mu = v ? v->form.money_unit : MoneyUnit::kYuan;
          return "修改 " + where + " 为“" + shorten(one_line(p.value.display(mu))) + "”";
        } else if constexpr (std::is_same_v<T, sync::InsertRow>) {
          const FormTemplate* t = v ? template_of(v->form) : nullptr;
          const TableDef* td = t ? t->table(p.table) : nullptr;
          std::string line = "在“" + (td ? td->label : p.table) + "”添加一行";
          auto l3 = p.cells.find("level3");
          if (l3 != p.cells.end() && !l3->second.text.empty()) line += "（" + shorten(l3->second.text) + "）";
          return line;
        } else if constexpr (std::is_same_v<T, sync::DeleteRow>) {
          const FormTemplate* t = v ? template_of(v->form) : nullptr;
          const TableDef* td = t ? t->table(p.table) : nullptr;
          return "删除“" + (td ? td->label : p.table) + "”的一行";
        } else if constexpr (std::is_same_v<T, sync::WorkflowAction>) {
          return std::string(workflow::action_name(p.action));
        } else if constexpr (std::is_same_v<T, sync::ResolveConflict>) {
          return "处理冲突（" + resolution_name(p.resolution) + "）";
        } else {
          return std::string(sync::op_kind_name(op.payload));
        }
      },
      op.payload);
}

// ---- free functions ----------------------------------------------------------------------

fs::path default_data_dir() {
  if (const char* env = std::getenv("JIXIAO_HOME"); env != nullptr && *env != '\0') return env;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return fs::path(home) / ".local" / "share" / "jixiao";
  }
  return fs::path(".jixiao");
}

std::string default_workflows_dir(const std::string& exe_path) {
  if (const char* env = std::getenv("JIXIAO_WORKFLOWS"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  if (!exe_path.empty()) {
    const fs::path exe = fs::weakly_canonical(fs::path(exe_path), ec);
    const fs::path beside = exe.parent_path().parent_path() / "share" / "jixiao" / "workflow";
    if (fs::is_directory(beside, ec)) return beside.string();
  }
  return JIXIAO_CLIENT_WORKFLOW_DIR;
}

Result<std::vector<workflow::WorkflowDefinition>> load_workflows(const std::string& dir) {
  std::vector<workflow::WorkflowDefinition> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;  // stage names fall back to ids
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    auto def = workflow::load_workflow_definition(f);
    if (!def) return def.status();
    out.push_back(std::move(def).value());
  }
  return out;
}

Result<std::string> sha256_file(const fs::path& file) {
  if (auto s = init_sodium(); !s) return s;
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::not_found("无法读取附件 " + file.string(), "open");
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(buf),
                              static_cast<unsigned long long>(in.gcount()));
  }
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, digest);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

}  // namespace jixiao::client
