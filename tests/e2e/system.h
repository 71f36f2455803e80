// The jixiao system as real processes on 127.0.0.1, for end-to-end tests:
// a server data directory with a self-signed certificate and cheap Argon2,
// `jixiao-server serve`, office clients (`jixiao --data DIR …`) and the
// fault proxy. Every process is started through process.h and reaped by the
// object that started it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "process.h"

namespace jixiao::e2e {

std::string bin(const std::string& name);  // JIXIAO_BIN_DIR/name

class ServerProcess {
 public:
  // `root`/server is the data directory; logs go to `root`/logs.
  explicit ServerProcess(fs::path root);
  ~ServerProcess();  // SIGTERM, then SIGKILL at a deadline

  // init (TLS, port 0), a certificate for 127.0.0.1, Argon2 at its cheapest.
  void init();
  void import_units(const std::string& csv);
  void import_users(const std::string& csv);
  // serve; waits for LISTENING. After the first start the port is written
  // into the configuration, so restarts listen on the same port.
  std::uint16_t start();
  ExitStatus stop();   // SIGTERM and reap (bounded)
  ExitStatus kill9();  // SIGKILL and reap
  bool running() { return proc_.running(); }

  RunResult admin(std::vector<std::string> args);  // jixiao-server ARGS --data DIR

  std::uint16_t port() const { return port_; }
  const fs::path& data_dir() const { return data_; }
  fs::path ca_file() const { return data_ / "tls" / "server.crt"; }
  fs::path config_file() const { return data_ / "jixiao-server.conf"; }
  const fs::path& log_dir() const { return logs_; }
  std::string url(std::uint16_t port) const { return "wss://127.0.0.1:" + std::to_string(port) + "/sync"; }
  int starts() const { return starts_; }

 private:
  fs::path root_, data_, logs_;
  Process proc_;
  std::uint16_t port_ = 0;
  int starts_ = 0;
};

class FaultProxy {
 public:
  FaultProxy(const fs::path& log_dir, std::uint16_t target_port, const std::vector<std::string>& options);
  ~FaultProxy();
  std::uint16_t port() const { return port_; }
  // SIGTERM, reap, the STATS line.
  std::string stop();

 private:
  Process proc_;
  std::uint16_t port_ = 0;
};

class ClientDir {
 public:
  ClientDir(const fs::path& root, std::string login, std::string password);

  // jixiao --data DIR ARGS
  RunResult run(const std::vector<std::string>& args, Millis deadline = Millis(60000)) const;
  std::vector<std::string> argv(const std::vector<std::string>& args) const;
  // Starts `jixiao --data DIR ARGS` in the background (for killing mid-flight).
  Process start(const std::vector<std::string>& args) const;

  // register through `url`, retried up to `attempts` times (a lossy link).
  RunResult register_at(const std::string& url, const fs::path& ca, int attempts = 1) const;
  // sync until it succeeds, at most `attempts` times; the last result, and
  // how many attempts failed in *failures.
  RunResult sync(int attempts = 1, int* failures = nullptr) const;

  const std::string& login() const { return login_; }
  const fs::path& dir() const { return dir_; }
  const fs::path& log_dir() const { return logs_; }

 private:
  std::string login_;
  fs::path dir_, logs_, password_file_;
};

// ---- parsing the client's output ------------------------------------------------------------

// The first UUID in `text` (create's "已新建表单 <id>", add-row's "行编号 <id>").
std::optional<std::string> first_uuid(const std::string& text);

struct FormLine {  // one row of `jixiao forms`
  std::string id_prefix, project, template_title, unit, year, state;
  int pending = -1, conflicts = -1, rejected = -1;
};
// `jixiao forms` rows by id prefix (8 characters).
std::map<std::string, FormLine> parse_forms(const std::string& out);

// From "同步完成：发送 N 项修改（接受 A，拒绝 R），接收 M 条记录".
struct SyncSummary {
  int sent = -1, accepted = -1, rejected = -1, received = -1;
};
std::optional<SyncSummary> parse_sync_summary(const std::string& out);

}  // namespace jixiao::e2e
