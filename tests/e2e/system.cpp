#include "system.h"

#include <signal.h>

#include <regex>
#include <sstream>
#include <stdexcept>

namespace jixiao::e2e {

namespace {

constexpr Millis kStartDeadline{20000};  // a process printing LISTENING
constexpr Millis kStopDeadline{15000};   // a process ending after SIGTERM

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == '\t') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

int to_int(const std::string& s) {
  try {
    return std::stoi(s);
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace

std::string bin(const std::string& name) { return std::string(JIXIAO_BIN_DIR) + "/" + name; }

// ---- ServerProcess ----------------------------------------------------------------------

ServerProcess::ServerProcess(fs::path root) : root_(std::move(root)), data_(root_ / "server"), logs_(root_ / "logs") {
  fs::create_directories(logs_);
}

ServerProcess::~ServerProcess() {
  if (proc_.started() && !proc_.reaped()) stop();
}

void ServerProcess::init() {
  RunResult r = run({bin("jixiao-server"), "init", "--data", data_.string(), "--port", "0"}, logs_);
  if (!r.ok()) throw std::runtime_error("jixiao-server init: " + r.status.describe() + "\n" + r.both());
  if (!write_self_signed_certificate(data_ / "tls" / "server.crt", data_ / "tls" / "server.key")) {
    throw std::runtime_error("cannot write the test certificate");
  }
  // Test speed: Argon2id at its cheapest (docs/server-admin.md §5).
  if (!set_config_value(config_file(), "argon2_ops_limit", "1") ||
      !set_config_value(config_file(), "argon2_mem_limit_mb", "1")) {
    throw std::runtime_error("the configuration has no argon2 keys");
  }
}

void ServerProcess::import_units(const std::string& csv) {
  write_file(root_ / "units.csv", csv);
  RunResult r = admin({"import-units", (root_ / "units.csv").string()});
  if (!r.ok()) throw std::runtime_error("import-units: " + r.both());
}

void ServerProcess::import_users(const std::string& csv) {
  write_file(root_ / "users.csv", csv);
  RunResult r = admin({"import-users", (root_ / "users.csv").string()});
  fs::remove(root_ / "users.csv");  // it holds passwords
  if (!r.ok()) throw std::runtime_error("import-users: " + r.both());
}

std::uint16_t ServerProcess::start() {
  if (proc_.started() && !proc_.reaped()) throw std::runtime_error("the server is already running");
  ++starts_;
  const std::string n = std::to_string(starts_);
  proc_ = Process::spawn({bin("jixiao-server"), "serve", "--data", data_.string()}, logs_ / ("serve-" + n + ".out"),
                         logs_ / ("serve-" + n + ".err"));
  auto port = proc_.wait_listening(kStartDeadline);
  if (!port) {
    const ExitStatus s = proc_.reap(Millis(5000));
    throw std::runtime_error("jixiao-server serve did not print LISTENING (" + s.describe() + "):\n" +
                             proc_.stderr_text());
  }
  if (port_ == 0) {
    port_ = *port;
    if (!set_config_value(config_file(), "port", std::to_string(port_))) throw std::runtime_error("no port key");
  } else if (*port != port_) {
    throw std::runtime_error("the server restarted on another port");
  }
  return port_;
}

ExitStatus ServerProcess::stop() {
  proc_.signal(SIGTERM);
  return proc_.reap(kStopDeadline);
}

ExitStatus ServerProcess::kill9() {
  proc_.signal(SIGKILL);
  return proc_.reap(kStopDeadline);
}

RunResult ServerProcess::admin(std::vector<std::string> args) {
  std::vector<std::string> argv{bin("jixiao-server")};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--data");
  argv.push_back(data_.string());
  return run(argv, logs_);
}

// ---- FaultProxy -------------------------------------------------------------------------

FaultProxy::FaultProxy(const fs::path& log_dir, std::uint16_t target_port, const std::vector<std::string>& options) {
  std::vector<std::string> argv{bin("jixiao-fault-proxy"), "--target-port", std::to_string(target_port)};
  argv.insert(argv.end(), options.begin(), options.end());
  proc_ = Process::spawn(argv, log_dir / "proxy.out", log_dir / "proxy.err");
  auto port = proc_.wait_listening(kStartDeadline);
  if (!port) {
    proc_.reap(Millis(5000));
    throw std::runtime_error("jixiao-fault-proxy did not print LISTENING:\n" + proc_.stderr_text());
  }
  port_ = *port;
}

FaultProxy::~FaultProxy() {
  if (proc_.started() && !proc_.reaped()) stop();
}

std::string FaultProxy::stop() {
  proc_.signal(SIGTERM);
  proc_.reap(kStopDeadline);
  std::istringstream in(proc_.stdout_text());
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("STATS", 0) == 0) return line;
  }
  return "";
}

// ---- ClientDir --------------------------------------------------------------------------

ClientDir::ClientDir(const fs::path& root, std::string login, std::string password)
    : login_(std::move(login)), dir_(root / ("client-" + login_)), logs_(root / "logs"),
      password_file_(root / ("client-" + login_ + ".password")) {
  fs::create_directories(logs_);
  write_file(password_file_, password + "\n");
  fs::permissions(password_file_, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
}

std::vector<std::string> ClientDir::argv(const std::vector<std::string>& args) const {
  std::vector<std::string> v{bin("jixiao"), "--data", dir_.string()};
  v.insert(v.end(), args.begin(), args.end());
  return v;
}

RunResult ClientDir::run(const std::vector<std::string>& args, Millis deadline) const {
  return e2e::run(argv(args), logs_, deadline);
}

Process ClientDir::start(const std::vector<std::string>& args) const {
  static int counter = 0;
  const std::string n = std::to_string(++counter);
  return Process::spawn(argv(args), logs_ / ("bg-" + login_ + "-" + n + ".out"), logs_ / ("bg-" + login_ + "-" + n + ".err"));
}

RunResult ClientDir::register_at(const std::string& url, const fs::path& ca, int attempts) const {
  RunResult r;
  for (int i = 0; i < attempts; ++i) {
    r = run({"register", "--server", url, "--user", login_, "--ca", ca.string(), "--password-file",
             password_file_.string()});
    if (r.ok()) break;
  }
  return r;
}

RunResult ClientDir::sync(int attempts, int* failures) const {
  RunResult r;
  for (int i = 0; i < attempts; ++i) {
    r = run({"sync", "--password-file", password_file_.string()});
    if (r.ok()) break;
    if (failures != nullptr) ++*failures;
  }
  return r;
}

// ---- parsing ----------------------------------------------------------------------------

std::optional<std::string> first_uuid(const std::string& text) {
  static const std::regex re("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  std::smatch m;
  if (std::regex_search(text, m, re)) return m.str();
  return std::nullopt;
}

std::map<std::string, FormLine> parse_forms(const std::string& out) {
  std::map<std::string, FormLine> forms;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    const auto f = split_tabs(line);
    if (f.size() != 9 || f[0] == "编号") continue;
    FormLine l{f[0], f[1], f[2], f[3], f[4], f[5], to_int(f[6]), to_int(f[7]), to_int(f[8])};
    forms[f[0]] = l;
  }
  return forms;
}

std::optional<SyncSummary> parse_sync_summary(const std::string& out) {
  static const std::regex re("发送 ([0-9]+) 项修改（接受 ([0-9]+)，拒绝 ([0-9]+)），接收 ([0-9]+) 条记录");
  std::smatch m;
  if (!std::regex_search(out, m, re)) return std::nullopt;
  return SyncSummary{std::stoi(m[1]), std::stoi(m[2]), std::stoi(m[3]), std::stoi(m[4])};
}

}  // namespace jixiao::e2e
