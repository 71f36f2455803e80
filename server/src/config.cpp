// The configuration file of jixiao-server.
//
// Grammar (one entry per line, UTF-8):
//   line    = blank | comment | entry
//   comment = *space "#" *any
//   entry   = *space key *space "=" *space value [ space "#" *any ]
// A value ends at the first '#' preceded by white space, so paths may hold
// '#' only when not preceded by a space. Keys are unique; an unknown key, a
// repeated key or a bad value is an error naming its line, because a typo in
// a security setting (allow_plain, lockout_*) must not pass silently.
#include "jixiao/server/config.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include "jixiao/common/text.h"

namespace jixiao::server {
namespace {

namespace fs = std::filesystem;

// Where an error is: "配置文件 /etc/jixiao/jixiao-server.conf 第 3 行".
struct Source {
  std::string name;  // "配置文件 X " or "配置"
  std::string at(std::size_t line) const { return name + "第 " + std::to_string(line) + " 行"; }
};

Status line_error(const Source& src, std::size_t line, const std::string& problem) {
  return Status::invalid_argument(src.at(line) + "：" + problem, "config line " + std::to_string(line));
}

std::optional<std::uint64_t> parse_uint(std::string_view s, std::uint64_t min, std::uint64_t max) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < min || v > max) return std::nullopt;
  return v;
}

std::optional<bool> parse_bool(std::string_view s) {
  if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
  if (s == "false" || s == "no" || s == "off" || s == "0") return false;
  return std::nullopt;
}

// Normal form without a trailing separator ("/srv/j/." is "/srv/j").
fs::path normal(const fs::path& p) {
  fs::path n = p.lexically_normal();
  if (!n.has_filename() && n.has_relative_path()) n = n.parent_path();
  return n;
}

fs::path resolve(const fs::path& base, std::string_view value) {
  if (value.empty()) return {};
  const fs::path p(value);
  return p.is_absolute() ? normal(p) : normal(base / p);
}

// One key of the file: how to read it into a ServerConfig. `set` returns an
// empty string on success or the problem in Chinese.
struct Key {
  std::string_view name;
  std::function<std::string(ServerConfig&, std::string_view value, const fs::path& base)> set;
};

std::function<std::string(ServerConfig&, std::string_view, const fs::path&)> number_setter(
    std::uint64_t min, std::uint64_t max, std::function<void(ServerConfig&, std::uint64_t)> assign) {
  return [min, max, assign = std::move(assign)](ServerConfig& c, std::string_view v, const fs::path&) -> std::string {
    auto n = parse_uint(v, min, max);
    if (!n) return "值“" + std::string(v) + "”应为 " + std::to_string(min) + " 到 " + std::to_string(max) + " 之间的整数";
    assign(c, *n);
    return {};
  };
}

std::function<std::string(ServerConfig&, std::string_view, const fs::path&)> bool_setter(
    std::function<void(ServerConfig&, bool)> assign) {
  return [assign = std::move(assign)](ServerConfig& c, std::string_view v, const fs::path&) -> std::string {
    auto b = parse_bool(v);
    if (!b) return "值“" + std::string(v) + "”应为 true 或 false";
    assign(c, *b);
    return {};
  };
}

constexpr std::uint64_t kMaxSeconds = 24 * 3600;
constexpr std::uint64_t kMaxMinutes = 366 * 24 * 60;

const std::vector<Key>& keys() {
  static const std::vector<Key> table = {
      {"data_dir", [](ServerConfig& c, std::string_view v, const fs::path& base) -> std::string {
         if (v.empty()) return "数据目录不能为空（省略此项即为配置文件所在目录）";
         c.data_dir = resolve(base, v);
         return {};
       }},
      {"listen_address", [](ServerConfig& c, std::string_view v, const fs::path&) -> std::string {
         if (v.empty()) return "监听地址不能为空";
         c.net.listen_address = std::string(v);
         return {};
       }},
      {"port", number_setter(0, 65535, [](ServerConfig& c, std::uint64_t n) { c.net.port = static_cast<std::uint16_t>(n); })},
      {"tls", bool_setter([](ServerConfig& c, bool b) { c.net.tls = b; })},
      {"cert_file", [](ServerConfig& c, std::string_view v, const fs::path& base) -> std::string {
         c.net.cert_file = resolve(base, v).string();
         return {};
       }},
      {"key_file", [](ServerConfig& c, std::string_view v, const fs::path& base) -> std::string {
         c.net.key_file = resolve(base, v).string();
         return {};
       }},
      {"allow_plain", bool_setter([](ServerConfig& c, bool b) { c.net.allow_plain = b; })},
      {"max_message_bytes", number_setter(1024, 256u << 20, [](ServerConfig& c, std::uint64_t n) {
         c.net.max_message_bytes = static_cast<std::size_t>(n);
       })},
      {"max_queue", number_setter(1, 1u << 16, [](ServerConfig& c, std::uint64_t n) {
         c.net.max_queue = static_cast<std::size_t>(n);
       })},
      {"max_connections", number_setter(1, 1u << 20, [](ServerConfig& c, std::uint64_t n) {
         c.net.max_connections = static_cast<std::size_t>(n);
       })},
      {"handshake_timeout_s", number_setter(1, kMaxSeconds, [](ServerConfig& c, std::uint64_t n) {
         c.net.handshake_timeout = std::chrono::seconds(static_cast<std::int64_t>(n));
       })},
      {"idle_timeout_s", number_setter(1, kMaxSeconds, [](ServerConfig& c, std::uint64_t n) {
         c.net.idle_timeout = std::chrono::seconds(static_cast<std::int64_t>(n));
       })},
      {"ping_interval_s", number_setter(1, kMaxSeconds, [](ServerConfig& c, std::uint64_t n) {
         c.net.ping_interval = std::chrono::seconds(static_cast<std::int64_t>(n));
       })},
      {"threads", number_setter(1, 256, [](ServerConfig& c, std::uint64_t n) { c.net.threads = static_cast<int>(n); })},
      {"http_max_body_bytes", number_setter(1024, 256u << 20, [](ServerConfig& c, std::uint64_t n) {
         c.net.http.max_body_bytes = static_cast<std::size_t>(n);
       })},
      {"http_max_header_bytes", number_setter(1024, 1u << 20, [](ServerConfig& c, std::uint64_t n) {
         c.net.http.max_header_bytes = static_cast<std::size_t>(n);
       })},
      {"http_keepalive_idle_s", number_setter(1, kMaxSeconds, [](ServerConfig& c, std::uint64_t n) {
         c.net.http.keepalive_idle = std::chrono::seconds(static_cast<std::int64_t>(n));
       })},
      {"http_deadline_s", number_setter(1, kMaxSeconds, [](ServerConfig& c, std::uint64_t n) {
         c.net.http.default_deadline = std::chrono::seconds(static_cast<std::int64_t>(n));
       })},
      {"http_handler_threads", number_setter(1, 256, [](ServerConfig& c, std::uint64_t n) {
         c.net.http.handler_threads = static_cast<std::size_t>(n);
       })},
      {"http_handler_queue", number_setter(1, 1u << 16, [](ServerConfig& c, std::uint64_t n) {
         c.net.http.handler_queue = static_cast<std::size_t>(n);
       })},
      {"trusted_proxies", [](ServerConfig& c, std::string_view v, const fs::path&) -> std::string {
         // Comma-separated IP addresses; empty: no proxy is trusted.
         std::vector<std::string> proxies;
         std::size_t start = 0;
         while (start < v.size()) {
           std::size_t comma = v.find(',', start);
           if (comma == std::string_view::npos) comma = v.size();
           const std::string_view item = jixiao::text::trim(v.substr(start, comma - start));
           start = comma + 1;
           if (item.empty()) continue;
           if (!http::is_ip_address(item)) return "“" + std::string(item) + "”不是 IP 地址（只接受逗号分隔的 IP 地址，不接受主机名或网段）";
           proxies.emplace_back(item);
         }
         c.net.http.trusted_proxies = std::move(proxies);
         return {};
       }},
      {"lockout_max_failures", number_setter(1, 1000, [](ServerConfig& c, std::uint64_t n) {
         c.accounts.lockout.max_failures = static_cast<int>(n);
       })},
      {"lockout_minutes", number_setter(1, kMaxMinutes, [](ServerConfig& c, std::uint64_t n) {
         c.accounts.lockout.lock_for = std::chrono::minutes(static_cast<std::int64_t>(n));
       })},
      {"session_idle_minutes", number_setter(1, kMaxMinutes, [](ServerConfig& c, std::uint64_t n) {
         c.accounts.sessions.idle = std::chrono::minutes(static_cast<std::int64_t>(n));
       })},
      {"session_absolute_minutes", number_setter(1, kMaxMinutes, [](ServerConfig& c, std::uint64_t n) {
         c.accounts.sessions.absolute = std::chrono::minutes(static_cast<std::int64_t>(n));
       })},
      // libsodium's Argon2id bounds: ops 1..2^32-1; memory from 1 MiB (its
      // minimum is 8 KiB, never sensible in production) to 4 TiB.
      {"argon2_ops_limit", number_setter(1, std::numeric_limits<std::uint32_t>::max(), [](ServerConfig& c, std::uint64_t n) {
         c.accounts.hashing.ops_limit = n;
       })},
      {"argon2_mem_limit_mb", number_setter(1, 4u << 20, [](ServerConfig& c, std::uint64_t n) {
         c.accounts.hashing.mem_limit = static_cast<std::size_t>(n) * 1024u * 1024u;
       })},
      {"templates_dir", [](ServerConfig& c, std::string_view v, const fs::path& base) -> std::string {
         c.templates_dir = resolve(base, v);
         return {};
       }},
      {"workflows_dir", [](ServerConfig& c, std::string_view v, const fs::path& base) -> std::string {
         c.workflows_dir = resolve(base, v);
         return {};
       }},
      {"log_level", [](ServerConfig& c, std::string_view v, const fs::path&) -> std::string {
         if (v != "error" && v != "warn" && v != "info" && v != "debug") {
           return "日志级别“" + std::string(v) + "”应为 error、warn、info 或 debug";
         }
         c.log_level = std::string(v);
         return {};
       }},
  };
  return table;
}

// Strips an inline comment: '#' at the start or after white space.
std::string_view strip_comment(std::string_view line) {
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) return line.substr(0, i);
  }
  return line;
}

Result<ServerConfig> parse(std::string_view text, const fs::path& base_dir, const Source& src) {
  ServerConfig config;
  config.data_dir = normal(base_dir);
  std::map<std::string, std::size_t, std::less<>> seen;  // key -> line
  std::size_t line_no = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (line_no == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    line = jixiao::text::trim(strip_comment(line));
    if (line.empty()) {
      if (end == text.size()) break;
      continue;
    }
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) return line_error(src, line_no, "应为“名称 = 值”的形式");
    const std::string key(jixiao::text::trim(line.substr(0, eq)));
    const std::string_view value = jixiao::text::trim(line.substr(eq + 1));
    const auto it = std::find_if(keys().begin(), keys().end(), [&](const Key& k) { return k.name == key; });
    if (it == keys().end()) return line_error(src, line_no, "未知的配置项“" + key + "”");
    if (auto prev = seen.find(key); prev != seen.end()) {
      return line_error(src, line_no, "配置项“" + key + "”重复（第 " + std::to_string(prev->second) + " 行已设置）");
    }
    seen.emplace(key, line_no);
    if (std::string problem = it->set(config, value, base_dir); !problem.empty()) {
      return line_error(src, line_no, "配置项“" + key + "”的" + problem);
    }
    if (end == text.size()) break;
  }

  // Checks across keys, each naming the line that decides it (or the key
  // when it was left at its default).
  auto where = [&](std::string_view key) -> std::string {
    auto it = seen.find(key);
    return it == seen.end() ? src.name + "（" + std::string(key) + " 未设置，取默认值）"
                            : src.at(it->second);
  };
  auto line_of = [&](std::string_view key) -> std::string {
    auto it = seen.find(key);
    return "config key " + std::string(key) + (it == seen.end() ? " (default)" : " line " + std::to_string(it->second));
  };
  const NetConfig& net = config.net;
  if (net.tls) {
    if (net.cert_file.empty() || net.key_file.empty()) {
      return Status::invalid_argument(where("tls") + "：启用 TLS（tls = true）时必须设置 cert_file 和 key_file",
                                      line_of("tls"));
    }
  } else {
    if (!net.allow_plain) {
      return Status::invalid_argument(
          where("tls") + "：未加密连接（tls = false）只在 allow_plain = true 时允许，且只能监听本机回环地址",
          line_of("tls"));
    }
    if (!is_loopback_address(net.listen_address)) {
      return Status::invalid_argument(where("listen_address") + "：未加密连接（tls = false）只能监听本机回环地址（127.0.0.1 或 ::1），不能监听“" +
                                          net.listen_address + "”",
                                      line_of("listen_address"));
    }
  }
  if (config.accounts.sessions.absolute < config.accounts.sessions.idle) {
    return Status::invalid_argument(where("session_absolute_minutes") +
                                        "：会话绝对时限（session_absolute_minutes）不能短于空闲时限（session_idle_minutes）",
                                    line_of("session_absolute_minutes"));
  }
  if (net.ping_interval >= net.idle_timeout) {
    return Status::invalid_argument(where("ping_interval_s") +
                                        "：心跳间隔（ping_interval_s）必须短于空闲超时（idle_timeout_s）",
                                    line_of("ping_interval_s"));
  }
  return config;
}

std::string path_text(const fs::path& p) { return p.string(); }

std::string proxies_text(const std::vector<std::string>& proxies) {
  std::string out;
  for (const std::string& p : proxies) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace

bool is_loopback_address(std::string_view address) {
  if (address == "localhost" || address == "::1" || address == "[::1]") return true;
  if (address.substr(0, 4) != "127.") return false;
  // A dotted quad whose first part is 127.
  int parts = 0;
  std::size_t start = 0;
  while (start <= address.size()) {
    std::size_t end = address.find('.', start);
    if (end == std::string_view::npos) end = address.size();
    if (!parse_uint(address.substr(start, end - start), 0, 255)) return false;
    ++parts;
    start = end + 1;
    if (end == address.size()) break;
  }
  return parts == 4;
}

Result<ServerConfig> parse_config(std::string_view text, const fs::path& base_dir) {
  return parse(text, base_dir, Source{"配置"});
}

Result<ServerConfig> load_config(const fs::path& file) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(file, ec).lexically_normal();
  std::ifstream in(absolute, std::ios::binary);
  if (!in) {
    return Status::not_found("无法读取配置文件 " + absolute.string() + "（不存在或无权限）", "open " + absolute.string());
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), absolute.parent_path(), Source{"配置文件 " + absolute.string() + " "});
}

std::string config_text(const ServerConfig& c) {
  const NetConfig& n = c.net;
  std::ostringstream o;
  auto b = [](bool v) { return v ? "true" : "false"; };
  o << "# jixiao-server 配置文件 (configuration file)\n"
       "# 格式：每行“名称 = 值”，# 之后为注释；相对路径相对于本文件所在目录。\n"
       "# Format: \"key = value\" per line, '#' starts a comment; relative paths are\n"
       "# relative to this file's folder. Unknown keys are errors.\n"
       "\n"
       "# ---- 数据 data ----\n"
       "# 数据目录：存放 server.db、备份与锁文件（默认：本文件所在目录）。\n"
       "data_dir = " << path_text(c.data_dir) << "\n"
       "\n"
       "# ---- 网络 network ----\n"
       "# 监听地址（默认 127.0.0.1；对外服务可设为 0.0.0.0 或网卡地址）。\n"
       "listen_address = " << n.listen_address << "\n"
       "# 端口（默认 8443；0 表示任选空闲端口，仅供测试）。\n"
       "port = " << n.port << "\n"
       "# 是否启用 TLS（wss/https，默认 true）。为 true 时必须提供证书与私钥。\n"
       "tls = " << b(n.tls) << "\n"
       "# PEM 证书链与私钥文件（tls = true 时必填；私钥文件应仅属主可读）。\n"
       "cert_file = " << n.cert_file << "\n"
       "key_file = " << n.key_file << "\n"
       "# 允许未加密的 ws://（默认 false）。仅在 tls = false 时生效，且只能监听回环地址\n"
       "# （测试，或本机前置的反向代理）。\n"
       "allow_plain = " << b(n.allow_plain) << "\n"
       "# 单条协议消息的最大字节数（默认 1048576）。\n"
       "max_message_bytes = " << n.max_message_bytes << "\n"
       "# 每个连接待发送消息队列的上限（默认 64），超出即断开该连接。\n"
       "max_queue = " << n.max_queue << "\n"
       "# 同时连接数上限（默认 4096）。\n"
       "max_connections = " << n.max_connections << "\n"
       "# TLS 与 WebSocket 握手时限，秒（默认 10）。\n"
       "handshake_timeout_s = " << n.handshake_timeout.count() << "\n"
       "# 空闲超时，秒：既无消息也无心跳应答即关闭连接（默认 300）。\n"
       "idle_timeout_s = " << n.idle_timeout.count() << "\n"
       "# 心跳（ping）间隔，秒，须短于空闲超时（默认 30）。\n"
       "ping_interval_s = " << n.ping_interval.count() << "\n"
       "# 网络 I/O 线程数（默认 2）。\n"
       "threads = " << n.threads << "\n"
       "\n"
       "# ---- HTTP（与 WebSocket 同一端口）HTTP on the same port ----\n"
       "# 请求内容（body）的默认上限，字节（默认 1048576）；单个地址可另设更小或更大的上限。\n"
       "http_max_body_bytes = " << n.http.max_body_bytes << "\n"
       "# 请求行与请求头的上限，字节（默认 8192），超出回答 431。\n"
       "http_max_header_bytes = " << n.http.max_header_bytes << "\n"
       "# 保持连接（keep-alive）时等待下一个请求的时限，秒（默认 15）。\n"
       "http_keepalive_idle_s = " << n.http.keepalive_idle.count() << "\n"
       "# 一个请求的处理时限，秒（默认 30），超时回答 503；单个地址可另设。\n"
       "http_deadline_s = " << n.http.default_deadline.count() << "\n"
       "# HTTP 处理线程数（默认 2），与同步处理的线程分开，慢页面不会拖慢同步。\n"
       "http_handler_threads = " << n.http.handler_threads << "\n"
       "# 等待处理的 HTTP 请求上限（默认 64），排满时回答 503 并附 Retry-After。\n"
       "http_handler_queue = " << n.http.handler_queue << "\n"
       "# 受信任的反向代理 IP 地址，逗号分隔（默认空：不信任任何代理）。只有来自这些地址的连接，\n"
       "# 其 X-Forwarded-For 才被采信；经代理到达的请求不算本机访问（/status 拒绝）。\n"
       "trusted_proxies = " << proxies_text(n.http.trusted_proxies) << "\n"
       "\n"
       "# ---- 账户与会话 accounts and sessions ----\n"
       "# 连续登录失败多少次后锁定账号（默认 5）。\n"
       "lockout_max_failures = " << c.accounts.lockout.max_failures << "\n"
       "# 锁定时长，分钟（默认 15）。\n"
       "lockout_minutes = " << c.accounts.lockout.lock_for.count() << "\n"
       "# 会话空闲多少分钟后失效（默认 30）。\n"
       "session_idle_minutes = " << c.accounts.sessions.idle.count() << "\n"
       "# 会话自登录起最长有效分钟数，不论是否活跃（默认 720）。\n"
       "session_absolute_minutes = " << c.accounts.sessions.absolute.count() << "\n"
       "# Argon2id 口令摘要的计算轮数与内存（MiB）（默认 2 与 64，即 libsodium INTERACTIVE）。\n"
       "# 调高更安全但登录更慢；已存的口令摘要不受影响。\n"
       "argon2_ops_limit = " << c.accounts.hashing.ops_limit << "\n"
       "argon2_mem_limit_mb = " << c.accounts.hashing.mem_limit / (1024u * 1024u) << "\n"
       "\n"
       "# ---- 资源与日志 resources and logging ----\n"
       "# 表单模板目录（留空：安装目录 share/jixiao/templates，或环境变量 JIXIAO_TEMPLATES）。\n"
       "templates_dir = " << path_text(c.templates_dir) << "\n"
       "# 审批流程定义目录（留空：安装目录 share/jixiao/workflow，或环境变量 JIXIAO_WORKFLOWS）。\n"
       "workflows_dir = " << path_text(c.workflows_dir) << "\n"
       "# 日志级别：error、warn、info、debug（默认 info）。\n"
       "log_level = " << c.log_level << "\n";
  return o.str();
}

std::string default_config_text(const fs::path& data_dir) {
  ServerConfig c;
  c.data_dir = data_dir.empty() ? fs::path(".") : data_dir;
  // TLS is the default, so the default file names where the certificate
  // and key are expected (relative to the file) rather than fail to load.
  c.net.cert_file = "tls/server.crt";
  c.net.key_file = "tls/server.key";
  return config_text(c);
}

}  // namespace jixiao::server
