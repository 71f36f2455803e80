// client.json (client_settings.h).
#include "jixiao/client/client_settings.h"

#include <sodium.h>

#include <fstream>
#include <mutex>
#include <sstream>

#include <nlohmann/json.hpp>

namespace jixiao::client {
namespace fs = std::filesystem;

Status init_sodium() {
  static std::once_flag once;
  static int result = 0;
  std::call_once(once, [] { result = sodium_init(); });
  if (result < 0) return Status::internal("密码模块初始化失败", "sodium_init");
  return Status::ok();
}

namespace {

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

}  // namespace

Result<ClientSettings> ClientSettings::load(const fs::path& data_dir, UnlockHashing hashing) {
  ClientSettings out;
  out.file_ = data_dir / "client.json";
  out.hashing_ = hashing;
  ClientMeta& m = out.meta_;
  std::error_code ec;
  if (!fs::exists(out.file_, ec)) return out;
  std::ifstream in(out.file_, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  try {
    const auto j = nlohmann::json::parse(buf.str());
    const int version = j.value("format_version", 0);
    if (version != ClientMeta::kFormatVersion) {
      return Status::unsupported_version("本机设置文件由其他版本的程序写入，请升级程序",
                                         out.file_.string() + ": format_version " + std::to_string(version));
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
    return Status::corruption("本机设置文件 " + out.file_.string() + " 已损坏", e.what());
  }
  return out;
}

Status ClientSettings::save() const {
  const ClientMeta& m = meta_;
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
  const fs::path tmp = file_.string() + ".tmp";
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
  fs::rename(tmp, file_, ec);
  if (ec) return Status(StatusCode::kUnavailable, "无法保存本机设置文件 " + file_.string(), ec.message());
  return Status::ok();
}

Status ClientSettings::remember_password(const std::string& password) {
  if (auto s = init_sodium(); !s) return s;
  std::string out(crypto_pwhash_STRBYTES, '\0');
  if (crypto_pwhash_str(out.data(), password.data(), password.size(), hashing_.ops_limit, hashing_.mem_limit) != 0) {
    return Status(StatusCode::kResourceExhausted, "内存不足，无法保存离线解锁信息", "crypto_pwhash_str");
  }
  out.resize(std::char_traits<char>::length(out.c_str()));
  meta_.unlock_verifier = std::move(out);
  return Status::ok();
}

Status ClientSettings::verify_password(const std::string& password) const {
  if (meta_.unlock_verifier.empty()) {
    return Status(StatusCode::kFailedPrecondition, "本机还没有可用于离线解锁的密码，请先联网登录一次", "no verifier");
  }
  if (auto s = init_sodium(); !s) return s;
  if (crypto_pwhash_str_verify(meta_.unlock_verifier.c_str(), password.data(), password.size()) != 0) {
    return Status(StatusCode::kPermissionDenied, "密码错误", "verifier mismatch");
  }
  return Status::ok();
}

Status ClientSettings::require_user() const {
  if (meta_.user) return Status::ok();
  return Status(StatusCode::kFailedPrecondition, "本机尚未登录过，请先联网注册或登录", "no user in client.json");
}

}  // namespace jixiao::client
