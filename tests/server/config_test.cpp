// jixiao-server's configuration file: defaults, every key, each error named
// by its line, cross-key checks, and the commented default file reading
// back as what it says.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <unistd.h>

#include "jixiao/server/config.h"

namespace jixiao::server {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kBase = "/srv/jixiao";
const std::string kTlsFiles = "cert_file = tls/a.crt\nkey_file = tls/a.key\n";

std::string error_of(std::string_view text) {
  auto c = parse_config(text, kBase);
  EXPECT_FALSE(c.is_ok()) << text;
  return c.is_ok() ? std::string() : c.status().message();
}

TEST(Config, KeysLeftOutKeepTheirDefaults) {
  auto c = parse_config(kTlsFiles, kBase);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  const ServerConfig defaults;
  EXPECT_EQ(c->data_dir, kBase);
  EXPECT_EQ(c->database(), kBase / "server.db");
  EXPECT_EQ(c->net.listen_address, "127.0.0.1");
  EXPECT_EQ(c->net.port, 8443);
  EXPECT_TRUE(c->net.tls);
  EXPECT_EQ(c->net.cert_file, "/srv/jixiao/tls/a.crt");
  EXPECT_EQ(c->net.key_file, "/srv/jixiao/tls/a.key");
  EXPECT_FALSE(c->net.allow_plain);
  EXPECT_EQ(c->net.max_message_bytes, defaults.net.max_message_bytes);
  EXPECT_EQ(c->net.max_queue, 64u);
  EXPECT_EQ(c->net.max_connections, 4096u);
  EXPECT_EQ(c->net.handshake_timeout, 10s);
  EXPECT_EQ(c->net.idle_timeout, 300s);
  EXPECT_EQ(c->net.ping_interval, 30s);
  EXPECT_EQ(c->net.threads, 2);
  EXPECT_EQ(c->accounts.lockout.max_failures, 5);
  EXPECT_EQ(c->accounts.lockout.lock_for, 15min);
  EXPECT_EQ(c->accounts.sessions.idle, 30min);
  EXPECT_EQ(c->accounts.sessions.absolute, 720min);
  EXPECT_EQ(c->accounts.hashing.ops_limit, defaults.accounts.hashing.ops_limit);
  EXPECT_EQ(c->accounts.hashing.mem_limit, defaults.accounts.hashing.mem_limit);
  EXPECT_TRUE(c->templates_dir.empty());
  EXPECT_TRUE(c->workflows_dir.empty());
  EXPECT_EQ(c->log_level, "info");
  EXPECT_EQ(c->net.http.max_body_bytes, 1048576u);
  EXPECT_EQ(c->net.http.max_header_bytes, 8192u);
  EXPECT_EQ(c->net.http.keepalive_idle, 15s);
  EXPECT_EQ(c->net.http.default_deadline, 30s);
  EXPECT_EQ(c->net.http.handler_threads, 2u);
  EXPECT_EQ(c->net.http.handler_queue, 64u);
  EXPECT_TRUE(c->net.http.trusted_proxies.empty());
}

TEST(Config, HttpKeysAreReadAndTrustedProxiesMustBeAddresses) {
  auto c = parse_config(kTlsFiles +
                            "http_max_body_bytes = 4096\n"
                            "http_max_header_bytes = 2048\n"
                            "http_keepalive_idle_s = 5\n"
                            "http_deadline_s = 7\n"
                            "http_handler_threads = 3\n"
                            "http_handler_queue = 9\n"
                            "trusted_proxies = 127.0.0.1, ::1,10.0.0.2\n",
                        kBase);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->net.http.max_body_bytes, 4096u);
  EXPECT_EQ(c->net.http.max_header_bytes, 2048u);
  EXPECT_EQ(c->net.http.keepalive_idle, 5s);
  EXPECT_EQ(c->net.http.default_deadline, 7s);
  EXPECT_EQ(c->net.http.handler_threads, 3u);
  EXPECT_EQ(c->net.http.handler_queue, 9u);
  EXPECT_EQ(c->net.http.trusted_proxies, (std::vector<std::string>{"127.0.0.1", "::1", "10.0.0.2"}));
  EXPECT_EQ(error_of(kTlsFiles + "trusted_proxies = proxy.example.com\n"),
            "配置第 3 行：配置项“trusted_proxies”的“proxy.example.com”不是 IP 地址（只接受逗号分隔的 IP 地址，不接受主机名或网段）");
  EXPECT_NE(error_of(kTlsFiles + "http_handler_threads = 0\n").find("http_handler_threads"), std::string::npos);

  ServerConfig written = *c;
  auto back = parse_config(config_text(written), kBase);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->net.http.trusted_proxies, written.net.http.trusted_proxies);
  EXPECT_EQ(back->net.http.handler_queue, 9u);
}

TEST(Config, EveryKeyIsRead) {
  const std::string text =
      "# a comment\n"
      "   # an indented comment\n"
      "data_dir = data          # inline comment\n"
      "listen_address = 127.0.0.2\n"
      "port = 9000\n"
      "tls = false\n"
      "cert_file = /etc/ssl/x#1.crt\n"
      "key_file = keys/x.key\n"
      "allow_plain = yes\n"
      "max_message_bytes = 2048\n"
      "max_queue = 8\n"
      "max_connections = 100\n"
      "handshake_timeout_s = 5\n"
      "idle_timeout_s = 60\n"
      "ping_interval_s = 20\n"
      "threads = 4\n"
      "lockout_max_failures = 3\n"
      "lockout_minutes = 30\n"
      "session_idle_minutes = 10\n"
      "session_absolute_minutes = 480\n"
      "argon2_ops_limit = 3\n"
      "argon2_mem_limit_mb = 128\n"
      "templates_dir = /opt/t\n"
      "workflows_dir = wf\n"
      "log_level = debug\r\n";
  auto c = parse_config(text, kBase);
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->data_dir, "/srv/jixiao/data");
  EXPECT_EQ(c->net.listen_address, "127.0.0.2");
  EXPECT_EQ(c->net.port, 9000);
  EXPECT_FALSE(c->net.tls);
  EXPECT_EQ(c->net.cert_file, "/etc/ssl/x#1.crt");  // '#' not after a space is part of the value
  EXPECT_EQ(c->net.key_file, "/srv/jixiao/keys/x.key");
  EXPECT_TRUE(c->net.allow_plain);
  EXPECT_EQ(c->net.max_message_bytes, 2048u);
  EXPECT_EQ(c->net.max_queue, 8u);
  EXPECT_EQ(c->net.max_connections, 100u);
  EXPECT_EQ(c->net.handshake_timeout, 5s);
  EXPECT_EQ(c->net.idle_timeout, 60s);
  EXPECT_EQ(c->net.ping_interval, 20s);
  EXPECT_EQ(c->net.threads, 4);
  EXPECT_EQ(c->accounts.lockout.max_failures, 3);
  EXPECT_EQ(c->accounts.lockout.lock_for, 30min);
  EXPECT_EQ(c->accounts.sessions.idle, 10min);
  EXPECT_EQ(c->accounts.sessions.absolute, 480min);
  EXPECT_EQ(c->accounts.hashing.ops_limit, 3u);
  EXPECT_EQ(c->accounts.hashing.mem_limit, 128u * 1024u * 1024u);
  EXPECT_EQ(c->templates_dir, "/opt/t");
  EXPECT_EQ(c->workflows_dir, "/srv/jixiao/wf");
  EXPECT_EQ(c->log_level, "debug");
}

TEST(Config, AnUnknownKeyIsAnErrorNamingItsLine) {
  EXPECT_EQ(error_of(kTlsFiles + "\nprot = 80\n"), "配置第 4 行：未知的配置项“prot”");
}

TEST(Config, BadValuesAreErrorsNamingTheirLine) {
  EXPECT_EQ(error_of(kTlsFiles + "port = 80a\n"), "配置第 3 行：配置项“port”的值“80a”应为 0 到 65535 之间的整数");
  EXPECT_EQ(error_of(kTlsFiles + "port = 65536\n"), "配置第 3 行：配置项“port”的值“65536”应为 0 到 65535 之间的整数");
  EXPECT_EQ(error_of(kTlsFiles + "threads = -1\n"), "配置第 3 行：配置项“threads”的值“-1”应为 1 到 256 之间的整数");
  EXPECT_EQ(error_of(kTlsFiles + "max_queue =\n"), "配置第 3 行：配置项“max_queue”的值“”应为 1 到 65536 之间的整数");
  EXPECT_EQ(error_of("tls = maybe\n"), "配置第 1 行：配置项“tls”的值“maybe”应为 true 或 false");
  EXPECT_EQ(error_of(kTlsFiles + "log_level = loud\n"),
            "配置第 3 行：配置项“log_level”的日志级别“loud”应为 error、warn、info 或 debug");
  EXPECT_EQ(error_of(kTlsFiles + "just words\n"), "配置第 3 行：应为“名称 = 值”的形式");
  EXPECT_EQ(error_of(kTlsFiles + "port = 1\nport = 2\n"), "配置第 4 行：配置项“port”重复（第 3 行已设置）");
  EXPECT_EQ(error_of(kTlsFiles + "data_dir =\n"), "配置第 3 行：配置项“data_dir”的数据目录不能为空（省略此项即为配置文件所在目录）");
}

TEST(Config, TlsWithoutCertificateAndKeyIsRefusedAtTheTlsLine) {
  EXPECT_EQ(error_of("port = 1\ntls = true\ncert_file = a.crt\n"),
            "配置第 2 行：启用 TLS（tls = true）时必须设置 cert_file 和 key_file");
  // tls left at its default: the message names the key instead of a line.
  EXPECT_EQ(error_of("port = 1\n"), "配置（tls 未设置，取默认值）：启用 TLS（tls = true）时必须设置 cert_file 和 key_file");
}

TEST(Config, PlainNeedsAllowPlainAndALoopbackAddress) {
  EXPECT_EQ(error_of("listen_address = 127.0.0.1\ntls = false\n"),
            "配置第 2 行：未加密连接（tls = false）只在 allow_plain = true 时允许，且只能监听本机回环地址");
  EXPECT_EQ(error_of("listen_address = 0.0.0.0\ntls = false\nallow_plain = true\n"),
            "配置第 1 行：未加密连接（tls = false）只能监听本机回环地址（127.0.0.1 或 ::1），不能监听“0.0.0.0”");
  EXPECT_TRUE(parse_config("listen_address = ::1\ntls = off\nallow_plain = on\n", kBase).is_ok());
  // allow_plain alone does not turn TLS off.
  auto c = parse_config(kTlsFiles + "allow_plain = true\nlisten_address = 0.0.0.0\n", kBase);
  ASSERT_TRUE(c.is_ok());
  EXPECT_TRUE(c->net.tls);
}

TEST(Config, CrossKeyLimitsNameTheDecidingLine) {
  EXPECT_EQ(error_of(kTlsFiles + "session_idle_minutes = 60\nsession_absolute_minutes = 30\n"),
            "配置第 4 行：会话绝对时限（session_absolute_minutes）不能短于空闲时限（session_idle_minutes）");
  EXPECT_EQ(error_of(kTlsFiles + "ping_interval_s = 300\n"),
            "配置第 3 行：心跳间隔（ping_interval_s）必须短于空闲超时（idle_timeout_s）");
}

TEST(Config, TheDefaultFileReadsBackAsTheDefaults) {
  const std::string text = default_config_text("/var/lib/jixiao");
  // Every key is in the file with a comment.
  for (const char* key : {"data_dir", "listen_address", "port", "tls", "cert_file", "key_file", "allow_plain",
                          "max_message_bytes", "max_queue", "max_connections", "handshake_timeout_s", "idle_timeout_s",
                          "ping_interval_s", "threads", "lockout_max_failures", "lockout_minutes",
                          "session_idle_minutes", "session_absolute_minutes", "argon2_ops_limit",
                          "argon2_mem_limit_mb", "templates_dir", "workflows_dir", "log_level",
                          "http_max_body_bytes", "http_max_header_bytes", "http_keepalive_idle_s", "http_deadline_s",
                          "http_handler_threads", "http_handler_queue", "trusted_proxies"}) {
    EXPECT_NE(text.find("\n" + std::string(key) + " = "), std::string::npos) << key;
  }
  auto c = parse_config(text, "/etc/jixiao");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  const ServerConfig d;
  EXPECT_EQ(c->data_dir, "/var/lib/jixiao");
  EXPECT_EQ(c->net.listen_address, d.net.listen_address);
  EXPECT_EQ(c->net.port, d.net.port);
  EXPECT_EQ(c->net.tls, d.net.tls);
  EXPECT_EQ(c->net.cert_file, "/etc/jixiao/tls/server.crt");
  EXPECT_EQ(c->net.key_file, "/etc/jixiao/tls/server.key");
  EXPECT_EQ(c->net.allow_plain, d.net.allow_plain);
  EXPECT_EQ(c->net.max_message_bytes, d.net.max_message_bytes);
  EXPECT_EQ(c->net.max_queue, d.net.max_queue);
  EXPECT_EQ(c->net.max_connections, d.net.max_connections);
  EXPECT_EQ(c->net.handshake_timeout, d.net.handshake_timeout);
  EXPECT_EQ(c->net.idle_timeout, d.net.idle_timeout);
  EXPECT_EQ(c->net.ping_interval, d.net.ping_interval);
  EXPECT_EQ(c->net.threads, d.net.threads);
  EXPECT_EQ(c->accounts.lockout.max_failures, d.accounts.lockout.max_failures);
  EXPECT_EQ(c->accounts.lockout.lock_for, d.accounts.lockout.lock_for);
  EXPECT_EQ(c->accounts.sessions.idle, d.accounts.sessions.idle);
  EXPECT_EQ(c->accounts.sessions.absolute, d.accounts.sessions.absolute);
  EXPECT_EQ(c->accounts.hashing.ops_limit, d.accounts.hashing.ops_limit);
  EXPECT_EQ(c->accounts.hashing.mem_limit, d.accounts.hashing.mem_limit);
  EXPECT_EQ(c->templates_dir, d.templates_dir);
  EXPECT_EQ(c->workflows_dir, d.workflows_dir);
  EXPECT_EQ(c->log_level, d.log_level);
}

TEST(Config, ConfigTextReadsBackWhatItWrote) {
  ServerConfig c;
  c.data_dir = ".";
  c.net.tls = false;
  c.net.allow_plain = true;
  c.net.port = 0;
  c.net.threads = 3;
  c.accounts.lockout.max_failures = 7;
  c.accounts.hashing.mem_limit = 32u * 1024u * 1024u;
  c.templates_dir = "/opt/jixiao/templates";
  c.log_level = "warn";
  auto back = parse_config(config_text(c), "/data/j");
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->data_dir, "/data/j");
  EXPECT_FALSE(back->net.tls);
  EXPECT_TRUE(back->net.allow_plain);
  EXPECT_EQ(back->net.port, 0);
  EXPECT_EQ(back->net.threads, 3);
  EXPECT_EQ(back->net.cert_file, "");
  EXPECT_EQ(back->accounts.lockout.max_failures, 7);
  EXPECT_EQ(back->accounts.hashing.mem_limit, 32u * 1024u * 1024u);
  EXPECT_EQ(back->templates_dir, "/opt/jixiao/templates");
  EXPECT_EQ(back->log_level, "warn");
}

TEST(Config, LoadConfigResolvesAgainstTheFilesFolderAndNamesTheFile) {
  char tmpl[] = "/tmp/jixiao-config-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  {
    std::ofstream(dir / "a.conf") << "cert_file = c.pem\nkey_file = k.pem\n";
    std::ofstream(dir / "bad.conf") << "# header\ncert_file = c.pem\nkey_file = k.pem\nmax_connections = 0\n";
  }
  auto ok = load_config(dir / "a.conf");
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(ok->data_dir, dir);
  EXPECT_EQ(ok->net.cert_file, (dir / "c.pem").string());
  auto bad = load_config(dir / "bad.conf");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().message(), "配置文件 " + (dir / "bad.conf").string() +
                                        " 第 4 行：配置项“max_connections”的值“0”应为 1 到 1048576 之间的整数");
  auto missing = load_config(dir / "none.conf");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  fs::remove_all(dir);
}

TEST(Config, LoopbackAddresses) {
  EXPECT_TRUE(is_loopback_address("127.0.0.1"));
  EXPECT_TRUE(is_loopback_address("127.1.2.3"));
  EXPECT_TRUE(is_loopback_address("::1"));
  EXPECT_TRUE(is_loopback_address("localhost"));
  EXPECT_FALSE(is_loopback_address("0.0.0.0"));
  EXPECT_FALSE(is_loopback_address("127.0.0.1.evil"));
  EXPECT_FALSE(is_loopback_address("127.0.0"));
  EXPECT_FALSE(is_loopback_address("10.0.0.1"));
  EXPECT_FALSE(is_loopback_address("::"));
}

}  // namespace
}  // namespace jixiao::server
