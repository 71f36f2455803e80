// jixiao-server's configuration file: "key = value" lines, '#' comments,
// every key optional with its default written down (write_default_config()
// produces the commented file `jixiao-server init` installs). Unknown keys
// and bad values are errors naming the line.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "jixiao/common/status.h"
#include "jixiao/http/http.h"
#include "jixiao/server/accounts.h"

namespace jixiao::server {

struct NetConfig {
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 8443;
  bool tls = true;
  std::string cert_file;  // PEM certificate chain (required when tls)
  std::string key_file;   // PEM private key (required when tls)
  // Plain ws:// is accepted only when explicitly allowed AND the listen
  // address is a loopback address (tests, a local proxy in front).
  bool allow_plain = false;
  std::size_t max_message_bytes = 1u << 20;   // one protocol message
  std::size_t max_queue = 64;                 // outbound messages per connection
  std::size_t max_connections = 4096;
  std::chrono::seconds handshake_timeout{10};
  std::chrono::seconds idle_timeout{300};     // no message and no pong for this long: closed
  std::chrono::seconds ping_interval{30};
  int threads = 2;
  // HTTP on the same port: body/header limits, keep-alive, the handler
  // pool, trusted proxies (keys http_* and trusted_proxies).
  http::HttpConfig http;
};

struct ServerConfig {
  std::filesystem::path data_dir;  // holds server.db and backups
  NetConfig net;
  AccountsConfig accounts;
  std::filesystem::path templates_dir;    // empty: the installed templates
  std::filesystem::path workflows_dir;    // empty: the installed workflow definitions
  std::string log_level = "info";         // error, warn, info, debug

  std::filesystem::path database() const { return data_dir / "server.db"; }
};

// The configuration file's name inside a data directory ("--data DIR").
inline constexpr std::string_view kConfigFileName = "jixiao-server.conf";

// Reads a configuration file; relative paths in it are relative to its folder,
// and data_dir defaults to that folder. Errors (kInvalidArgument, kNotFound
// for a missing file) name the file and the line in Chinese.
Result<ServerConfig> load_config(const std::filesystem::path& file);
// The same for text; `base_dir` resolves relative paths and is the default
// data_dir. After the keys are read, the whole is checked: tls needs
// cert_file and key_file; plain (tls = false) needs allow_plain = true and a
// loopback listen_address; session_absolute_minutes >= session_idle_minutes;
// ping_interval_s < idle_timeout_s.
Result<ServerConfig> parse_config(std::string_view text, const std::filesystem::path& base_dir);
// The commented default configuration (every key, its default, what it means).
std::string default_config_text(const std::filesystem::path& data_dir);
// The same commented file with the values of `config` (paths written as
// they are held, so relative ones stay relative); parse_config reads back
// what it wrote.
std::string config_text(const ServerConfig& config);

// 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_address(std::string_view address);

}  // namespace jixiao::server
