// jixiao-bench-capacity (issue 6, part 4: server capacity).
//
// One command that sets up a real jixiao-server in a temporary directory
// (init, import-units, import-users, exactly as an administrator does), runs
// `jixiao-server serve` as a child process bound to 127.0.0.1, and drives it
// with N simulated office clients over real WebSocket connections
// (sync/net's WsConnection, ws:// or wss://) from this one process:
//
//   1. login: every client connects and logs in with its own user and
//      device (a password login: Argon2id on the server);
//   2. memory: server RSS with 0 connections and with N idle logged-in ones;
//   3. warm-up (untimed): every client creates one project form of its unit
//      with the generated content of bench/workload (40 indicator rows,
//      narratives) through a ClientReplica, and syncs it;
//   4. timed phases, one per batch size: all N clients at once, each in a
//      closed loop sending a SyncRequest of `batch` SetCell edits of its
//      form (narratives revised, numbers and indicators changed) with its
//      cursor, and waiting for the answer: accepted ops per second, request
//      latency p50/p99/max, errors, server CPU and peak RSS;
//   5. the ceiling: SQLite's own batched insert rate on the same disk into a
//      table shaped like the server's log, same PRAGMAs, same batch sizes,
//      rows as large as the log entries the clients received.
//
// It prints a table and one JSON line. Every wait is bounded; the server is
// stopped by its PID (SIGTERM, then SIGKILL), never by name. See
// bench/RESULTS-capacity.md for what was measured and what it means.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <semaphore>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "capacity_proc.h"
#include "capacity_sqlite.h"
#include "jixiao/common/cell_ref.h"
#include "jixiao/common/form_json.h"
#include "jixiao/common/form_template.h"
#include "jixiao/common/uuid.h"
#include "jixiao/net/endpoint.h"
#include "jixiao/net/ws_connection.h"
#include "jixiao/sync/client_replica.h"
#include "jixiao/sync/hlc.h"
#include "jixiao/sync/protocol.h"
#include "jixiao/workflow/clock.h"
#include "workload.h"

#include <sqlite3.h>

namespace jixiao::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;
using json = nlohmann::json;

// ---- options ------------------------------------------------------------------------------

struct Options {
  std::size_t clients = 1000;
  std::size_t per_unit = 2;  // preparers per district 科协 (workload.h: two machines of a unit)
  std::vector<std::size_t> batches{1, 50};
  double seconds = 20;  // measured window of each timed phase
  double ramp = 5;      // before the window: all clients already sending, not counted
  std::size_t rows = 40;
  bool real_argon2 = false;
  std::vector<std::string> transports{"ws"};
  fs::path tmp;
  bool keep = false;
  std::uint64_t seed = 20220301;
  double ceiling_seconds = 5;
  std::size_t stack_kib = 512;
  std::size_t login_concurrency = 8;
  int server_threads = 0;  // 0: the server's default (config `threads`)
  int think_ms = 0;
  std::string perf_file;  // perf record of the server during the last timed phase
  double max_minutes = 20;
  fs::path server_bin;
  bool repro_busy_logout = false;
};

const char* kUsage =
    "jixiao-bench-capacity: N simulated clients syncing at once against a real jixiao-server on 127.0.0.1,\n"
    "beside SQLite's own batched insert rate on the same disk (issue 6, server capacity).\n"
    "\n"
    "  --clients N            simulated clients, each its own user and device (default 1000)\n"
    "  --per-unit N           preparers per district unit (default 2)\n"
    "  --batches 1,50         SetCell operations per SyncRequest, one timed phase each (default 1,50)\n"
    "  --seconds S            measured window of each timed phase (default 20)\n"
    "  --ramp S               load before each window, not counted (default 5)\n"
    "  --rows N               indicator rows of each client's form (default 40)\n"
    "  --argon2 fast|default  password hashing of the imported users: fast = ops 1, 1 MiB (as the e2e tests);\n"
    "                         default = the server's defaults (ops 2, 64 MiB: ~0.1 s per login) (default fast)\n"
    "  --transport ws|wss|both  plain ws:// (allow_plain, loopback) or TLS wss:// (default ws)\n"
    "  --tmp DIR              where the temporary data directory goes (default $TMPDIR or /tmp)\n"
    "  --keep                 keep the temporary directory (server logs, database)\n"
    "  --seed N               (default 20220301)\n"
    "  --ceiling-seconds S    SQLite insert run per batch size (default 5)\n"
    "  --server-threads N     set the server's `threads` (I/O threads; the worker pool is max(2, N)); default: untouched\n"
    "  --think-ms N           pause between a client's requests (default 0: closed loop)\n"
    "  --login-concurrency N  logins in flight at once (default 8)\n"
    "  --stack-kib N          stack of each client thread (default 512)\n"
    "  --perf FILE            perf record --call-graph dwarf of the server during the last timed window\n"
    "  --max-minutes M        watchdog: the whole run is killed past this (default 20)\n"
    "  --server-bin PATH      jixiao-server to run (default: next to this program)\n"
    "\n"
    "  --repro-busy-logout    instead of the benchmark: does a sync request whose session check meets a busy\n"
    "                         store (> 5 s) leave its connection logged out? Exit 0 when it stays logged in\n"
    "                         (correct), 1 when it is logged out (the bug in bench/RESULTS-capacity.md)\n";

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) {
    if (!cur.empty()) out.push_back(cur);
  }
  return out;
}

Options parse_options(int argc, char** argv) {
  Options o;
  const char* tmp = std::getenv("TMPDIR");
  o.tmp = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  o.server_bin = fs::read_symlink("/proc/self/exe").parent_path() / "jixiao-server";
  const auto need = [&](int& i) -> std::string {
    if (i + 1 >= argc) throw std::invalid_argument(std::string(argv[i]) + " needs a value");
    return argv[++i];
  };
  const auto number = [](const std::string& v, const char* what) {
    std::size_t pos = 0;
    const double d = std::stod(v, &pos);
    if (pos != v.size() || d < 0) throw std::invalid_argument(std::string("bad ") + what + ": " + v);
    return d;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (a == "--clients") {
      o.clients = static_cast<std::size_t>(number(need(i), "clients"));
    } else if (a == "--per-unit") {
      o.per_unit = static_cast<std::size_t>(number(need(i), "per-unit"));
    } else if (a == "--batches") {
      o.batches.clear();
      for (const std::string& b : split(need(i), ',')) o.batches.push_back(static_cast<std::size_t>(number(b, "batch")));
    } else if (a == "--seconds") {
      o.seconds = number(need(i), "seconds");
    } else if (a == "--ramp") {
      o.ramp = number(need(i), "ramp");
    } else if (a == "--rows") {
      o.rows = static_cast<std::size_t>(number(need(i), "rows"));
    } else if (a == "--argon2") {
      const std::string v = need(i);
      if (v != "fast" && v != "default") throw std::invalid_argument("--argon2 fast|default");
      o.real_argon2 = v == "default";
    } else if (a == "--transport") {
      const std::string v = need(i);
      if (v == "both") {
        o.transports = {"ws", "wss"};
      } else if (v == "ws" || v == "wss") {
        o.transports = {v};
      } else {
        throw std::invalid_argument("--transport ws|wss|both");
      }
    } else if (a == "--tmp") {
      o.tmp = need(i);
    } else if (a == "--keep") {
      o.keep = true;
    } else if (a == "--seed") {
      o.seed = std::stoull(need(i));
    } else if (a == "--ceiling-seconds") {
      o.ceiling_seconds = number(need(i), "ceiling-seconds");
    } else if (a == "--server-threads") {
      o.server_threads = static_cast<int>(number(need(i), "server-threads"));
    } else if (a == "--think-ms") {
      o.think_ms = static_cast<int>(number(need(i), "think-ms"));
    } else if (a == "--login-concurrency") {
      o.login_concurrency = static_cast<std::size_t>(number(need(i), "login-concurrency"));
    } else if (a == "--stack-kib") {
      o.stack_kib = static_cast<std::size_t>(number(need(i), "stack-kib"));
    } else if (a == "--perf") {
      o.perf_file = need(i);
    } else if (a == "--max-minutes") {
      o.max_minutes = number(need(i), "max-minutes");
    } else if (a == "--server-bin") {
      o.server_bin = need(i);
    } else if (a == "--repro-busy-logout") {
      o.repro_busy_logout = true;
    } else {
      throw std::invalid_argument("unknown option " + a + " (see --help)");
    }
  }
  if (o.clients == 0 || o.per_unit == 0 || o.batches.empty() || o.login_concurrency == 0) {
    throw std::invalid_argument("--clients, --per-unit, --batches and --login-concurrency must be positive");
  }
  for (std::size_t b : o.batches) {
    if (b == 0 || b > 2000) throw std::invalid_argument("a batch is 1..2000 operations");
  }
  if (o.stack_kib < 128) throw std::invalid_argument("--stack-kib at least 128");
  return o;
}

// ---- small helpers ----------------------------------------------------------------------------

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

// Replaces the value of `key = …` in a jixiao-server.conf.
void set_config_value(const fs::path& file, const std::string& key, const std::string& value) {
  std::istringstream in(read_text(file));
  std::string line;
  std::string out;
  bool found = false;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (!found && eq != std::string::npos && line[0] != '#') {
      std::string k = line.substr(0, eq);
      while (!k.empty() && k.back() == ' ') k.pop_back();
      if (k == key) {
        line = key + " = " + value;
        found = true;
      }
    }
    out += line + "\n";
  }
  if (!found) throw std::runtime_error("the server configuration has no key " + key);
  write_file(file, out);
}

double percentile(const std::vector<std::uint32_t>& sorted_us, double q) {
  if (sorted_us.empty()) return 0;
  const auto i = std::min(sorted_us.size() - 1, static_cast<std::size_t>(q * static_cast<double>(sorted_us.size())));
  return static_cast<double>(sorted_us[i]) / 1000.0;
}

std::string fmt(double v, int decimals = 1) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

// ---- the server ---------------------------------------------------------------------------------

struct ServerSetup {
  fs::path root;  // the temporary directory
  fs::path data;
  fs::path logs;
  fs::path cert;  // wss only
  bool tls = false;
  std::vector<std::string> logins;
  std::vector<std::string> passwords;
  std::vector<std::string> units;  // each client's unit code
  std::map<std::string, std::string> unit_names;
  double init_s = 0, import_units_s = 0, import_users_s = 0;
};

class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess() {
    if (pid_ > 0) (void)stop();
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts `serve` and waits (bounded) for "LISTENING <port>" on its stdout.
  std::uint16_t start(const Options& o, const ServerSetup& s) {
    out_ = s.logs / "serve.out";
    pid_ = spawn_process({o.server_bin.string(), "serve", "--data", s.data.string()}, out_, s.logs / "serve.err");
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < deadline) {
      const std::string text = read_text(out_);
      if (const auto at = text.find("LISTENING "); at != std::string::npos && text.find('\n', at) != std::string::npos) {
        port_ = static_cast<std::uint16_t>(std::stoul(text.substr(at + 10)));
        return port_;
      }
      if (auto code = wait_exit(pid_, Millis(0))) {
        pid_ = -1;
        throw std::runtime_error("jixiao-server serve exited with " + std::to_string(*code) + ":\n" +
                                 read_text(s.logs / "serve.err"));
      }
      std::this_thread::sleep_for(Millis(20));
    }
    throw std::runtime_error("jixiao-server serve did not print LISTENING within 60 s");
  }

  StopResult stop() {
    const StopResult r = stop_process(pid_, Millis(20000));
    pid_ = -1;
    return r;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  fs::path out_;
  std::uint16_t port_ = 0;
};

// init, certificate, configuration, units and users: what an administrator does.
ServerSetup set_up_server(const Options& o, const fs::path& root, bool tls) {
  ServerSetup s;
  s.root = root;
  s.data = root / "server";
  s.logs = root / "logs";
  s.tls = tls;
  fs::create_directories(s.logs);
  const std::string bin = o.server_bin.string();
  const auto admin = [&](std::vector<std::string> args, const char* what) {
    args.insert(args.begin(), bin);
    args.push_back("--data");
    args.push_back(s.data.string());
    const int code = run_command(args, s.logs / "admin.out", s.logs / "admin.err", Millis(30 * 60 * 1000));
    if (code != 0) {
      throw std::runtime_error(std::string("jixiao-server ") + what + " failed (" + std::to_string(code) +
                               "):\n" + read_text(s.logs / "admin.err"));
    }
  };

  auto t = Clock::now();
  std::vector<std::string> init{"init", "--port", "0", "--listen", "127.0.0.1"};
  if (!tls) init.push_back("--plain");
  admin(init, "init");
  const fs::path conf = s.data / "jixiao-server.conf";
  if (tls) {
    fs::create_directories(s.data / "tls");
    s.cert = s.data / "tls" / "server.crt";
    const int code = run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                  "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                                  (s.data / "tls" / "server.key").string(), "-out", s.cert.string(), "-days", "2",
                                  "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
                                 s.logs / "openssl.out", s.logs / "openssl.err", Millis(60000));
    if (code != 0) throw std::runtime_error("openssl req failed:\n" + read_text(s.logs / "openssl.err"));
  }
  if (!o.real_argon2) {
    // As tests/e2e/system.cpp does: the timed phases never hash a password
    // (a sync request is authorized by its session token), only setup does.
    set_config_value(conf, "argon2_ops_limit", "1");
    set_config_value(conf, "argon2_mem_limit_mb", "1");
  }
  if (o.server_threads > 0) set_config_value(conf, "threads", std::to_string(o.server_threads));
  s.init_s = seconds_since(t);

  // A finance bureau, cities of up to 10 districts, `per_unit` preparers per
  // district: a province's worth of 科协 offices.
  const std::size_t districts = (o.clients + o.per_unit - 1) / o.per_unit;
  const std::size_t cities = (districts + 9) / 10;
  std::string units = "编码,名称,级别,上级单位,财政局\nF001,省财政厅,财政局,,\n";
  std::vector<std::string> district_codes;
  for (std::size_t c = 0; c < cities; ++c) {
    char code[32];
    std::snprintf(code, sizeof code, "C%03zu", c + 1);
    units += std::string(code) + ",第" + std::to_string(c + 1) + "市科学技术协会,市级,,F001\n";
    for (std::size_t d = 0; d < 10 && district_codes.size() < districts; ++d) {
      char dcode[32];
      std::snprintf(dcode, sizeof dcode, "C%03zuD%02zu", c + 1, d + 1);
      const std::string name = "第" + std::to_string(c + 1) + "市第" + std::to_string(d + 1) + "区科学技术协会";
      units += std::string(dcode) + "," + name + ",区县级," + code + ",F001\n";
      district_codes.push_back(dcode);
      s.unit_names[dcode] = name;
    }
  }
  write_file(root / "units.csv", units);
  t = Clock::now();
  admin({"import-units", (root / "units.csv").string()}, "import-units");
  s.import_units_s = seconds_since(t);

  std::string users = "登录名,姓名,单位,角色,初始密码\n";
  std::mt19937_64 rng(o.seed);
  for (std::size_t i = 0; i < o.clients; ++i) {
    char login[32];
    std::snprintf(login, sizeof login, "p%05zu", i + 1);
    char password[64];
    std::snprintf(password, sizeof password, "Bench%08llxx%05zu", static_cast<unsigned long long>(rng() & 0xffffffffULL),
                  i + 1);
    const std::string& unit = district_codes[i / o.per_unit];
    users += std::string(login) + ",填报人" + std::to_string(i + 1) + "," + unit + ",preparer," + password + "\n";
    s.logins.emplace_back(login);
    s.passwords.emplace_back(password);
    s.units.push_back(unit);
  }
  write_file(root / "users.csv", users);
  t = Clock::now();
  admin({"import-users", (root / "users.csv").string()}, "import-users");
  s.import_users_s = seconds_since(t);
  fs::remove(root / "users.csv");  // it holds passwords
  return s;
}

// ---- the clients ---------------------------------------------------------------------------------

// One cell a client may edit, and what the server holds in it (our last
// accepted write: nobody else edits this client's form).
struct CellSlot {
  CellRef ref;
  const CellDef* def = nullptr;
  MoneyUnit unit = MoneyUnit::kYuan;
  CellValue value;
};

struct PhaseStats {
  std::uint64_t requests = 0;      // answered inside the window
  std::uint64_t ops_sent = 0;      // in requests answered inside the window
  std::uint64_t ops_accepted = 0;  // OpResult.seq > 0, answered inside the window
  std::uint64_t ops_accepted_all = 0;  // including the ramp and the tail
  std::uint64_t ops_rejected = 0;  // OpResult.seq == 0 (whole phase)
  std::uint64_t error_responses = 0;
  std::uint64_t transport_errors = 0;
  std::uint64_t entries = 0;  // log entries received (own and colleagues')
  std::uint64_t bytes_up = 0, bytes_down = 0;
  std::vector<std::uint32_t> latency_us;  // requests sent inside the window
};

struct Client {
  std::size_t index = 0;
  std::string login, password, device, unit;
  std::unique_ptr<net::WsConnection> conn;
  User user;
  std::string unit_name;
  bool alive = false;
  std::string failure;
  double login_ms = 0;
  // The form this client edits.
  FormId form;
  std::vector<CellSlot> cells;
  sync::ServerSeq form_seq = 0;  // base_seq of the next edit
  sync::ServerSeq cursor = 0;
  std::uint64_t next_request_id = 1;
  std::mt19937_64 rng;
  std::unique_ptr<sync::HybridClock> hlc;
  // Warm-up.
  std::uint64_t warm_ops = 0, warm_requests = 0;
  double warm_s = 0;
  std::vector<PhaseStats> phases;
};

struct Shared {
  const Options* options = nullptr;
  net::Endpoint endpoint;
  net::TlsClientOptions tls;
  TemplateRegistry templates;
  const FormTemplate* tmpl = nullptr;
  workflow::SystemClock clock;
  std::unique_ptr<std::counting_semaphore<>> login_slots;

  // Phases: 0 login, 1 warm-up, 2.. the timed phases, then close.
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<int> phase{0};
  std::vector<std::size_t> done;  // GUARDED_BY(mu), per phase
  Clock::time_point start, window_start, window_end;  // of the current timed phase, set before it is published
  std::atomic<bool> abort{false};

  // Problems worth showing (the first few of each kind).
  std::mutex log_mu;
  std::map<std::string, std::size_t> problems;  // GUARDED_BY(log_mu)
  void problem(const std::string& what) {
    std::lock_guard lock(log_mu);
    ++problems[what.substr(0, 200)];
  }

  // Sizes of received log entries (what the server stored), sampled.
  std::atomic<std::uint64_t> entry_samples{0};
  std::atomic<std::uint64_t> entry_bytes{0};
  std::atomic<std::uint64_t> op_samples{0};
  std::atomic<std::uint64_t> op_bytes{0};

  void finish_phase(int k) {
    std::lock_guard lock(mu);
    ++done[static_cast<std::size_t>(k)];
    cv.notify_all();
  }
};

constexpr Millis kConnectTimeout{30000};
constexpr Millis kSendTimeout{30000};
constexpr Millis kAnswerTimeout{180000};

// Waits for phase `k` while keeping the connection answered: a receive()
// keeps a read pending, during which Beast answers the server's pings.
void wait_for_phase(Shared& sh, Client& c, int k) {
  while (sh.phase.load() < k && !sh.abort.load()) {
    if (c.alive && c.conn) {
      auto m = c.conn->receive(Millis(1000));
      if (m) {
        sh.problem("unexpected message from the server between phases");
      } else if (m.status().detail() != "timeout") {
        c.alive = false;
        c.failure = "connection lost while idle: " + m.status().to_string();
        sh.problem(c.failure);
      }
    } else {
      std::this_thread::sleep_for(Millis(200));
    }
  }
}

// Sends one message and waits for the answer.
Result<std::string> exchange_on(net::WsConnection& conn, const std::string& bytes, Millis answer_timeout) {
  if (auto s = conn.send(bytes, kSendTimeout); !s) return s;
  return conn.receive(answer_timeout);
}
Result<std::string> exchange(Client& c, const std::string& bytes, Millis answer_timeout) {
  return exchange_on(*c.conn, bytes, answer_timeout);
}

void log_in(Shared& sh, Client& c) {
  sh.login_slots->acquire();
  struct Release {
    std::counting_semaphore<>& s;
    ~Release() { s.release(); }
  } release{*sh.login_slots};
  const auto t = Clock::now();
  auto conn = net::WsConnection::connect(sh.endpoint, sh.tls, kConnectTimeout);
  if (!conn) throw std::runtime_error("connect: " + conn.status().to_string());
  c.conn = std::move(*conn);
  // Every capability, like the office client: the answers are then decoded
  // with the default (current) options.
  sync::LoginRequest req{c.login, c.device, c.password, "", "jixiao-bench-capacity", sync::Capabilities::all()};
  auto answer = exchange(c, sync::encode_message(req), Millis(600000));
  if (!answer) throw std::runtime_error("login: " + answer.status().to_string());
  auto resp = sync::decode_login_response(*answer);
  if (!resp) {
    auto err = sync::decode_error_response(*answer);
    throw std::runtime_error("login refused: " + (err ? err->message : resp.status().to_string()));
  }
  c.user = resp->user;
  c.unit_name = resp->unit_name;
  c.login_ms = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
  c.alive = true;
}

// Untimed: one form of the client's unit, typed in through a ClientReplica
// (as the office client does) and pushed until the outbox is empty.
void warm_up(Shared& sh, Client& c) {
  const auto t = Clock::now();
  auto replica = sync::ClientReplica::open(":memory:", sync::ClientIdentity{c.user, c.device, c.unit_name},
                                           sh.templates, sh.clock);
  if (!replica) throw std::runtime_error("replica: " + replica.status().to_string());
  Narrator narrator(c.rng);
  UnitPeople people{c.unit, c.unit_name, UnitLevel::kDistrict, c.login, c.login, c.login};
  const FormContent content = generate_form(narrator, people, c.index, sh.options->rows);
  auto form = create_form(**replica, 2021, content);
  if (!form) throw std::runtime_error("create form: " + form.status().to_string());
  c.form = *form;
  for (int round = 0; round < 64; ++round) {
    const sync::SyncRequest req = (*replica)->next_request(c.next_request_id++, 512 * 1024);
    auto answer = exchange(c, sync::encode_message(req), kAnswerTimeout);
    if (!answer) throw std::runtime_error("warm-up sync: " + answer.status().to_string());
    auto resp = sync::decode_sync_response(*answer);
    if (!resp) {
      auto err = sync::decode_error_response(*answer);
      throw std::runtime_error("warm-up sync refused: " + (err ? err->message : resp.status().to_string()));
    }
    ++c.warm_requests;
    for (const auto& r : resp->results) {
      if (r.seq > 0) {
        ++c.warm_ops;
      } else {
        sh.problem("warm-up op rejected: " + r.message);
      }
    }
    if (auto s = (*replica)->apply_response(req, *resp); !s) throw std::runtime_error("apply: " + s.to_string());
    if ((*replica)->pending().empty() && !resp->more) break;
  }
  if (!(*replica)->pending().empty()) throw std::runtime_error("warm-up: the outbox did not empty in 64 requests");
  auto confirmed = (*replica)->confirmed(c.form);
  if (!confirmed) throw std::runtime_error("confirmed: " + confirmed.status().to_string());
  c.form_seq = confirmed->last_seq;
  c.cursor = (*replica)->cursor();
  for (const CellRef& ref : editable_cells(confirmed->form)) {
    auto def = find_cell_def(*sh.tmpl, ref);
    if (!def) continue;
    CellSlot slot;
    slot.ref = ref;
    slot.def = *def;
    slot.unit = confirmed->form.money_unit;
    if (!ref.is_field()) {
      if (const TableDef* td = sh.tmpl->table(ref.table); td != nullptr && td->money_unit) slot.unit = *td->money_unit;
    }
    if (const CellValue* v = find_cell(confirmed->form, ref)) slot.value = *v;
    c.cells.push_back(std::move(slot));
  }
  if (c.cells.empty()) throw std::runtime_error("warm-up: no editable cells");
  c.hlc = std::make_unique<sync::HybridClock>(sh.clock);
  c.warm_s = seconds_since(t);
}

// ---- edits as a person makes them ----------------------------------------------------------------

std::string new_text_for(Narrator& n, const CellSlot& slot) {
  const CellValue& v = slot.value;
  const std::string old = v.kind == CellValue::Kind::kText ? v.text : std::string();
  const std::string& key = slot.ref.column;
  switch (slot.def->type) {
    case CellType::kLongText: return revise(n, old, 900);  // grows no further: edited over and over
    case CellType::kMoney: return money_wan(n, 1000, 18999);
    case CellType::kIndicator: return indicator_value(n);
    case CellType::kChoice: {
      const auto& ch = slot.def->choices;
      return ch.empty() ? old : ch[n.pick(ch.size())];
    }
    case CellType::kScore:
      if (slot.ref.table == "funds") return n.pick(2) == 0 ? "10" : "9";
      return n.pick(3) == 0 ? "1.5" : (n.pick(2) == 0 ? "2" : "1");
    case CellType::kPercent:
    case CellType::kNumber: return std::to_string(80 + n.pick(20));
    case CellType::kDate: return "2021年" + std::to_string(1 + n.pick(12)) + "月" + std::to_string(1 + n.pick(28)) + "日";
    case CellType::kText:
    default: {
      if (key == "level3") return "指标：" + n.sentence().substr(0, 36);
      const std::string mark = "（修订）";
      if (old.size() >= mark.size() && old.compare(old.size() - mark.size(), mark.size(), mark) == 0) {
        return old.substr(0, old.size() - mark.size());
      }
      return old + mark;
    }
  }
}

struct Batch {
  sync::SyncRequest request;
  std::vector<std::pair<std::size_t, CellValue>> writes;  // per op: the slot and its new value
};

Batch make_batch(Shared& sh, Client& c, std::size_t size) {
  Batch b;
  b.request.request_id = c.next_request_id++;
  b.request.device = c.device;
  b.request.user = c.login;
  b.request.cursor = c.cursor;
  b.request.max_response_bytes = sync::kMaxPayloadBytes;
  Narrator n(c.rng);
  std::map<std::size_t, CellValue> pending;  // chained within the batch: the base of the next edit
  for (std::size_t i = 0; i < size; ++i) {
    for (int attempt = 0; attempt < 8; ++attempt) {
      const std::size_t k = c.rng() % c.cells.size();
      const CellSlot& slot = c.cells[k];
      CellSlot current = slot;
      if (auto it = pending.find(k); it != pending.end()) current.value = it->second;
      const std::string text = new_text_for(n, current);
      auto value = parse_cell_text(*slot.def, text, slot.unit, slot.def->label, slot.ref.to_string());
      if (!value) {
        sh.problem("bench could not parse its own edit of " + slot.ref.column + ": " + value.status().message());
        continue;
      }
      sync::Operation op;
      op.id = new_uuid_v4();
      op.form_id = c.form;
      op.author = c.login;
      op.device = c.device;
      op.hlc = c.hlc->now();
      op.base_seq = c.form_seq;
      op.payload = sync::SetCell{slot.ref, *value, current.value};
      b.request.ops.push_back(std::move(op));
      b.writes.emplace_back(k, *value);
      pending[k] = std::move(*value);
      break;
    }
  }
  return b;
}

void timed_phase(Shared& sh, Client& c, std::size_t phase_index, std::size_t batch) {
  PhaseStats& ps = c.phases[phase_index];
  std::this_thread::sleep_until(sh.start);
  const auto window_start = sh.window_start;
  const auto window_end = sh.window_end;
  while (!sh.abort.load() && c.alive) {
    if (Clock::now() >= window_end) break;
    Batch b = make_batch(sh, c, batch);
    const std::string bytes = sync::encode_message(b.request);
    if (sh.op_samples.load(std::memory_order_relaxed) < 20000 && !b.request.ops.empty()) {
      sh.op_samples.fetch_add(1, std::memory_order_relaxed);
      sh.op_bytes.fetch_add(sync::encoded_size(b.request.ops.front()), std::memory_order_relaxed);
    }
    const auto t0 = Clock::now();
    auto answer = exchange(c, bytes, kAnswerTimeout);
    const auto t1 = Clock::now();
    if (!answer) {
      ++ps.transport_errors;
      c.alive = false;
      c.failure = "sync: " + answer.status().to_string();
      sh.problem(c.failure);
      break;
    }
    const bool in_window = t1 >= window_start && t1 <= window_end;
    if (t0 >= window_start && t0 < window_end) {
      ps.latency_us.push_back(static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count()));
    }
    ps.bytes_up += bytes.size();
    ps.bytes_down += answer->size();
    auto type = sync::peek_message_type(*answer);
    if (type && *type == sync::MessageType::kErrorResponse) {
      ++ps.error_responses;
      auto err = sync::decode_error_response(*answer);
      sh.problem("ErrorResponse: " + (err ? std::string(status_code_name(err->code)) + "/" + std::to_string(err->reason) +
                                                " " + err->message
                                          : std::string("undecodable")));
      if (err && err->next == sync::NextStep::kRetry) {
        std::this_thread::sleep_for(Millis(100));
        continue;
      }
      c.alive = false;
      c.failure = "refused";
      break;
    }
    auto resp = sync::decode_sync_response(*answer);
    if (!resp || resp->request_id != b.request.request_id || resp->results.size() != b.request.ops.size()) {
      ++ps.transport_errors;
      c.alive = false;
      c.failure = "bad SyncResponse: " + (resp ? std::string("mismatch") : resp.status().to_string());
      sh.problem(c.failure);
      break;
    }
    std::uint64_t accepted = 0;
    for (std::size_t i = 0; i < resp->results.size(); ++i) {
      const sync::OpResult& r = resp->results[i];
      if (r.seq > 0) {
        ++accepted;
        c.form_seq = std::max(c.form_seq, r.seq);
        c.cells[b.writes[i].first].value = std::move(b.writes[i].second);
      } else {
        ++ps.ops_rejected;
        sh.problem("op rejected: " + std::to_string(r.reason) + " " + r.message);
      }
    }
    c.cursor = resp->cursor;
    ps.entries += resp->entries.size();
    if (sh.entry_samples.load(std::memory_order_relaxed) < 50000) {
      for (std::size_t i = 0; i < resp->entries.size() && i < 8; ++i) {
        sh.entry_samples.fetch_add(1, std::memory_order_relaxed);
        sh.entry_bytes.fetch_add(sync::encoded_size(resp->entries[i]), std::memory_order_relaxed);
      }
    }
    ps.ops_accepted_all += accepted;
    if (in_window) {
      ++ps.requests;
      ps.ops_sent += b.request.ops.size();
      ps.ops_accepted += accepted;
    }
    if (sh.options->think_ms > 0) std::this_thread::sleep_for(Millis(sh.options->think_ms));
  }
}

void client_main(Shared& sh, Client& c, int timed_phases) {
  try {
    log_in(sh, c);
  } catch (const std::exception& e) {
    c.alive = false;
    c.failure = e.what();
    sh.problem(std::string("login: ") + e.what());
  }
  sh.finish_phase(0);
  wait_for_phase(sh, c, 1);
  if (c.alive && !sh.abort.load()) {
    try {
      warm_up(sh, c);
    } catch (const std::exception& e) {
      c.alive = false;
      c.failure = e.what();
      sh.problem(std::string("warm-up: ") + e.what());
    }
  }
  sh.finish_phase(1);
  for (int p = 0; p < timed_phases; ++p) {
    wait_for_phase(sh, c, 2 + p);
    if (c.alive && !sh.abort.load()) {
      try {
        timed_phase(sh, c, static_cast<std::size_t>(p), sh.options->batches[static_cast<std::size_t>(p)]);
      } catch (const std::exception& e) {
        c.alive = false;
        c.failure = e.what();
        sh.problem(std::string("timed: ") + e.what());
      }
    }
    sh.finish_phase(2 + p);
  }
  wait_for_phase(sh, c, 2 + timed_phases);
  if (c.conn) c.conn->close(Millis(2000));
  c.conn.reset();
  sh.finish_phase(2 + timed_phases);
}

// Threads with a chosen stack size (std::thread cannot set one).
class ClientThreads {
 public:
  ~ClientThreads() { join(); }
  void start(std::size_t stack_bytes, std::function<void()> body) {
    auto* fn = new std::function<void()>(std::move(body));
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, stack_bytes);
    pthread_t t{};
    const int rc = pthread_create(
        &t, &attr,
        [](void* p) -> void* {
          std::unique_ptr<std::function<void()>> f(static_cast<std::function<void()>*>(p));
          (*f)();
          return nullptr;
        },
        fn);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
      delete fn;
      throw std::runtime_error(std::string("pthread_create: ") + std::strerror(rc));
    }
    threads_.push_back(t);
  }
  void join() {
    for (pthread_t t : threads_) pthread_join(t, nullptr);
    threads_.clear();
  }

 private:
  std::vector<pthread_t> threads_;
};

// ---- one transport: setup, login, memory, warm-up, timed phases ------------------------------------------

struct PhaseResult {
  std::size_t batch = 0;
  double window_s = 0;
  std::uint64_t requests = 0, ops_sent = 0, ops_accepted = 0, ops_accepted_all = 0, ops_rejected = 0;
  std::uint64_t error_responses = 0, transport_errors = 0, entries = 0, bytes_up = 0, bytes_down = 0;
  std::size_t latency_samples = 0;
  double ops_per_s = 0, requests_per_s = 0, p50_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
  double server_cpu_s = 0, client_cpu_s = 0;
  std::uint64_t server_write_bytes = 0;  // /proc/<pid>/io write_bytes over the window
  std::uint64_t server_wchar = 0;        // bytes the server passed to write(2) calls (incl. sockets)
  struct ThreadReport {
    int tid = 0;
    double cpu_s = 0;
    std::vector<std::pair<std::string, double>> states;  // share of samples, most frequent first
  };
  std::vector<ThreadReport> busiest_threads;
  std::size_t state_samples = 0;
  std::uint64_t peak_rss_kb = 0;
  std::size_t clients_alive = 0;
};

struct TransportResult {
  std::string transport;
  std::size_t clients = 0;
  double init_s = 0, import_units_s = 0, import_users_s = 0, server_start_s = 0;
  double login_s = 0, login_p50_ms = 0, login_max_ms = 0;
  std::size_t logged_in = 0;
  std::uint64_t rss0_kb = 0, rss_idle_kb = 0, rss_warm_kb = 0, rss_after_kb = 0, hwm_kb = 0, threads_idle = 0;
  double per_connection_kb = 0;
  double warm_s = 0;
  std::uint64_t warm_ops = 0, warm_requests = 0;
  std::vector<PhaseResult> phases;
  std::vector<std::string> form_ids;
  int server_exit = -1;
  bool server_killed = false;
  std::string store_status;
  std::map<std::string, std::size_t> problems;
  double entry_bytes_avg = 0, op_bytes_avg = 0;
};

// Waits (bounded) until `n` clients finished phase `k`.
bool wait_done(Shared& sh, int k, std::size_t n, Clock::time_point deadline) {
  std::unique_lock lock(sh.mu);
  return sh.cv.wait_until(lock, deadline, [&] { return sh.done[static_cast<std::size_t>(k)] >= n; });
}

void publish(Shared& sh, int k) {
  std::lock_guard lock(sh.mu);
  sh.phase.store(k);
}

TransportResult run_transport(const Options& o, const std::string& transport, const fs::path& root) {
  TransportResult tr;
  tr.transport = transport;
  tr.clients = o.clients;
  const bool tls = transport == "wss";
  std::cerr << "[" << transport << "] setting up the server in " << root << " ..." << std::endl;
  ServerSetup setup = set_up_server(o, root, tls);
  tr.init_s = setup.init_s;
  tr.import_units_s = setup.import_units_s;
  tr.import_users_s = setup.import_users_s;
  std::cerr << "[" << transport << "] init " << fmt(setup.init_s, 2) << " s, import-units " << fmt(setup.import_units_s, 2)
            << " s, import-users (" << o.clients << " Argon2id hashes) " << fmt(setup.import_users_s, 2) << " s"
            << std::endl;

  ServerProcess server;
  auto t = Clock::now();
  const std::uint16_t port = server.start(o, setup);
  tr.server_start_s = seconds_since(t);
  std::this_thread::sleep_for(Millis(1000));
  tr.rss0_kb = proc_status_kb(server.pid(), "VmRSS");

  Shared sh;
  sh.options = &o;
  sh.endpoint = net::Endpoint{tls, "127.0.0.1", port, "/sync"};
  sh.tls = net::TlsClientOptions{tls ? setup.cert.string() : std::string(), true};
  if (auto s = sh.templates.load_directory(TemplateRegistry::default_directory(fs::read_symlink("/proc/self/exe").string()));
      !s) {
    throw std::runtime_error("templates: " + s.to_string());
  }
  sh.tmpl = sh.templates.latest(kTemplateId);
  if (sh.tmpl == nullptr) throw std::runtime_error(std::string("no template ") + kTemplateId);
  sh.login_slots = std::make_unique<std::counting_semaphore<>>(static_cast<std::ptrdiff_t>(o.login_concurrency));
  const int timed = static_cast<int>(o.batches.size());
  sh.done.assign(static_cast<std::size_t>(timed + 3), 0);

  std::vector<Client> clients(o.clients);
  for (std::size_t i = 0; i < o.clients; ++i) {
    Client& c = clients[i];
    c.index = i;
    c.login = setup.logins[i];
    c.password = setup.passwords[i];
    c.unit = setup.units[i];
    c.device = new_uuid_v4();
    c.rng.seed(o.seed * 1000003ULL + i);
    c.phases.resize(o.batches.size());
  }

  // Every wait below is bounded; past a deadline the run stops and fails.
  const auto fail = [&](const std::string& why) {
    sh.abort.store(true);
    publish(sh, timed + 2);
    throw std::runtime_error(why);
  };

  ClientThreads threads;
  // If anything throws from here on, stop the server first (every blocking
  // client call then ends with "closed"), then join the threads.
  struct Teardown {
    Shared& sh;
    ServerProcess& server;
    ClientThreads& threads;
    int last;
    bool armed = true;
    ~Teardown() {
      if (!armed) return;
      sh.abort.store(true);
      publish(sh, last);
      server.stop();
      threads.join();
    }
  } teardown{sh, server, threads, timed + 2};

  std::cerr << "[" << transport << "] logging in " << o.clients << " clients (" << o.login_concurrency
            << " at a time) ..." << std::endl;
  t = Clock::now();
  for (Client& c : clients) {
    threads.start(o.stack_kib * 1024, [&sh, &c, timed] { client_main(sh, c, timed); });
  }
  const auto login_budget = std::chrono::seconds(120) + std::chrono::milliseconds(o.real_argon2 ? 400 : 60) * o.clients;
  if (!wait_done(sh, 0, o.clients, Clock::now() + login_budget)) fail("logins did not finish in time");
  tr.login_s = seconds_since(t);
  std::vector<double> login_ms;
  for (const Client& c : clients) {
    if (c.alive) {
      ++tr.logged_in;
      login_ms.push_back(c.login_ms);
    }
  }
  std::sort(login_ms.begin(), login_ms.end());
  if (!login_ms.empty()) {
    tr.login_p50_ms = login_ms[login_ms.size() / 2];
    tr.login_max_ms = login_ms.back();
  }
  std::cerr << "[" << transport << "] " << tr.logged_in << " logged in in " << fmt(tr.login_s, 1) << " s" << std::endl;
  if (tr.logged_in == 0) fail("no client could log in");

  // Memory with N idle logged-in connections.
  std::this_thread::sleep_for(Millis(3000));
  tr.rss_idle_kb = proc_status_kb(server.pid(), "VmRSS");
  tr.threads_idle = proc_status_kb(server.pid(), "Threads");
  tr.per_connection_kb =
      static_cast<double>(tr.rss_idle_kb - std::min(tr.rss_idle_kb, tr.rss0_kb)) / static_cast<double>(tr.logged_in);
  std::cerr << "[" << transport << "] server RSS " << tr.rss0_kb << " kB idle with 0 connections, " << tr.rss_idle_kb
            << " kB with " << tr.logged_in << ": " << fmt(tr.per_connection_kb, 1) << " kB per connection" << std::endl;

  // Warm-up.
  std::cerr << "[" << transport << "] warm-up: each client creates and pushes its form ..." << std::endl;
  t = Clock::now();
  publish(sh, 1);
  if (!wait_done(sh, 1, o.clients, Clock::now() + std::chrono::minutes(15))) fail("warm-up did not finish in time");
  tr.warm_s = seconds_since(t);
  tr.rss_warm_kb = proc_status_kb(server.pid(), "VmRSS");
  for (const Client& c : clients) {
    tr.warm_ops += c.warm_ops;
    tr.warm_requests += c.warm_requests;
    if (!c.form.empty()) tr.form_ids.push_back(c.form);
  }
  std::cerr << "[" << transport << "] warm-up: " << tr.warm_ops << " ops in " << tr.warm_requests << " requests, "
            << fmt(tr.warm_s, 1) << " s" << std::endl;

  // Timed phases.
  for (int p = 0; p < timed; ++p) {
    const std::size_t batch = o.batches[static_cast<std::size_t>(p)];
    std::size_t alive = 0;
    for (const Client& c : clients) alive += c.alive ? 1 : 0;
    ::sync();  // the warm-up's or last phase's dirty pages are written back before, not during, the window
    std::cerr << "[" << transport << "] timed phase: " << alive << " clients, " << batch << " op(s) per request, "
              << fmt(o.ramp, 0) << " s ramp + " << fmt(o.seconds, 0) << " s window ..." << std::endl;
    {
      std::lock_guard lock(sh.mu);
      sh.start = Clock::now() + Millis(1500);  // every client notices within 1 s
      sh.window_start = sh.start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.ramp));
      sh.window_end =
          sh.window_start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
    }
    publish(sh, 2 + p);
    std::this_thread::sleep_until(sh.window_start);
    const ProcCpu cpu0 = proc_cpu(server.pid());
    const double self0 = self_cpu_seconds();
    const std::uint64_t written0 = proc_io(server.pid(), "write_bytes");
    const std::uint64_t wchar0 = proc_io(server.pid(), "wchar");
    pid_t perf = -1;
    if (!o.perf_file.empty() && p == timed - 1) {
      perf = spawn_process({"/usr/bin/perf", "record", "-F", "499", "--call-graph", "dwarf", "-p", std::to_string(server.pid()), "-o",
                            o.perf_file, "--", "/bin/sleep", fmt(o.seconds, 0)},
                           setup.logs / "perf.out", setup.logs / "perf.err");
    }
    PhaseResult pr;
    pr.batch = batch;
    pr.window_s = o.seconds;
    // Every 10 ms: what each server thread is doing; every 250 ms: RSS.
    std::map<int, std::map<std::string, std::size_t>> states;
    auto next_rss = Clock::now();
    while (Clock::now() < sh.window_end) {
      if (Clock::now() >= next_rss) {
        pr.peak_rss_kb = std::max(pr.peak_rss_kb, proc_status_kb(server.pid(), "VmRSS"));
        next_rss += Millis(250);
      }
      for (const ThreadState& ts : thread_states(server.pid())) ++states[ts.tid][ts.state];
      ++pr.state_samples;
      std::this_thread::sleep_for(Millis(10));
    }
    const ProcCpu cpu1 = proc_cpu(server.pid());
    const double self1 = self_cpu_seconds();
    pr.server_write_bytes = proc_io(server.pid(), "write_bytes") - written0;
    pr.server_wchar = proc_io(server.pid(), "wchar") - wchar0;
    if (perf > 0 && !wait_exit(perf, Millis(60000))) {
      stop_process(perf, Millis(5000));
      sh.problem("perf record did not end by itself");
    }
    if (!wait_done(sh, 2 + p, o.clients, sh.window_end + std::chrono::seconds(300))) {
      fail("the timed phase did not drain within 300 s of its end");
    }
    pr.server_cpu_s = (cpu1.user_s + cpu1.system_s) - (cpu0.user_s + cpu0.system_s);
    pr.client_cpu_s = self1 - self0;
    for (const ThreadCpu& t1 : cpu1.threads) {
      for (const ThreadCpu& t0 : cpu0.threads) {
        if (t0.tid != t1.tid) continue;
        PhaseResult::ThreadReport tr1;
        tr1.tid = t1.tid;
        tr1.cpu_s = (t1.user_s + t1.system_s) - (t0.user_s + t0.system_s);
        std::size_t total = 0;
        for (const auto& [state, n] : states[t1.tid]) total += n;
        for (const auto& [state, n] : states[t1.tid]) {
          tr1.states.emplace_back(state, static_cast<double>(n) / static_cast<double>(std::max<std::size_t>(total, 1)));
        }
        std::sort(tr1.states.begin(), tr1.states.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
        if (tr1.states.size() > 5) tr1.states.resize(5);
        pr.busiest_threads.push_back(std::move(tr1));
      }
    }
    std::sort(pr.busiest_threads.begin(), pr.busiest_threads.end(),
              [](const auto& a, const auto& b) { return a.cpu_s > b.cpu_s; });
    if (pr.busiest_threads.size() > 4) pr.busiest_threads.resize(4);
    std::vector<std::uint32_t> lat;
    for (const Client& c : clients) {
      const PhaseStats& ps = c.phases[static_cast<std::size_t>(p)];
      pr.requests += ps.requests;
      pr.ops_sent += ps.ops_sent;
      pr.ops_accepted += ps.ops_accepted;
      pr.ops_accepted_all += ps.ops_accepted_all;
      pr.ops_rejected += ps.ops_rejected;
      pr.error_responses += ps.error_responses;
      pr.transport_errors += ps.transport_errors;
      pr.entries += ps.entries;
      pr.bytes_up += ps.bytes_up;
      pr.bytes_down += ps.bytes_down;
      lat.insert(lat.end(), ps.latency_us.begin(), ps.latency_us.end());
      pr.clients_alive += c.alive ? 1 : 0;
    }
    std::sort(lat.begin(), lat.end());
    pr.latency_samples = lat.size();
    pr.p50_ms = percentile(lat, 0.50);
    pr.p99_ms = percentile(lat, 0.99);
    pr.max_ms = lat.empty() ? 0 : static_cast<double>(lat.back()) / 1000.0;
    double sum = 0;
    for (std::uint32_t v : lat) sum += v;
    pr.mean_ms = lat.empty() ? 0 : sum / static_cast<double>(lat.size()) / 1000.0;
    pr.ops_per_s = static_cast<double>(pr.ops_accepted) / o.seconds;
    pr.requests_per_s = static_cast<double>(pr.requests) / o.seconds;
    std::cerr << "[" << transport << "]   " << fmt(pr.ops_per_s, 0) << " ops/s, " << fmt(pr.requests_per_s, 1)
              << " requests/s, latency p50 " << fmt(pr.p50_ms, 1) << " ms p99 " << fmt(pr.p99_ms, 1) << " ms; server CPU "
              << fmt(pr.server_cpu_s, 1) << " s, bench CPU " << fmt(pr.client_cpu_s, 1) << " s in the "
              << fmt(o.seconds, 0) << " s window" << std::endl;
    tr.phases.push_back(std::move(pr));
  }

  // Close every connection; what the server keeps afterwards.
  publish(sh, timed + 2);
  if (!wait_done(sh, timed + 2, o.clients, Clock::now() + std::chrono::seconds(120))) fail("closing took too long");
  threads.join();
  std::this_thread::sleep_for(Millis(2000));
  tr.rss_after_kb = proc_status_kb(server.pid(), "VmRSS");
  tr.hwm_kb = proc_status_kb(server.pid(), "VmHWM");
  const StopResult stopped = server.stop();
  teardown.armed = false;
  tr.server_exit = stopped.code;
  tr.server_killed = stopped.killed;
  // The store as the administrator sees it.
  try {
    const int code = run_command({o.server_bin.string(), "status", "--data", setup.data.string()},
                                 setup.logs / "status.out", setup.logs / "status.err", Millis(120000));
    tr.store_status = code == 0 ? read_text(setup.logs / "status.out") : "status failed: " + read_text(setup.logs / "status.err");
  } catch (const std::exception& e) {
    tr.store_status = e.what();
  }
  {
    std::lock_guard lock(sh.log_mu);
    tr.problems = sh.problems;
  }
  if (sh.entry_samples > 0) tr.entry_bytes_avg = static_cast<double>(sh.entry_bytes) / static_cast<double>(sh.entry_samples);
  if (sh.op_samples > 0) tr.op_bytes_avg = static_cast<double>(sh.op_bytes) / static_cast<double>(sh.op_samples);
  return tr;
}

// ---- a reproducer: a busy store logs a connection out --------------------------------------------------------
//
// net_server.cpp's handle_sync answers a failed session check with
// SessionState{} whatever the reason, so when AccountStore::authenticate
// fails with kUnavailable (the database write lock busy for longer than the
// 5 s busy timeout) the reply says "retry" but the connection is no longer
// logged in: the retry is refused with "请先登录" and kReauthenticate, on which
// the office client drops its token (client/src/office_client.cpp).
// Found at 855c589; main's bf18c84 ("A busy account store no longer logs a
// connection out") fixes it, and this check then exits 0.

int repro_busy_logout(const Options& base, const fs::path& root) {
  Options o = base;
  o.clients = 1;
  ServerSetup setup = set_up_server(o, root / "repro", false);
  ServerProcess server;
  const std::uint16_t port = server.start(o, setup);
  const net::Endpoint endpoint{false, "127.0.0.1", port, "/sync"};
  auto conn = net::WsConnection::connect(endpoint, {}, kConnectTimeout);
  if (!conn) throw std::runtime_error("connect: " + conn.status().to_string());
  const std::string device = new_uuid_v4();
  const std::string& user = setup.logins[0];
  auto login = exchange_on(**conn,
                           sync::encode_message(sync::LoginRequest{user, device, setup.passwords[0], "", "repro",
                                                                   sync::Capabilities::all()}),
                           Millis(30000));
  if (!login) throw std::runtime_error("login: " + login.status().to_string());
  auto login_response = sync::decode_login_response(*login);
  if (!login_response) throw std::runtime_error("login refused");
  const std::string token = login_response->token;
  std::cout << "1. logged in as " << user << " on one connection\n";

  int last_next = -1;  // NextStep of the last ErrorResponse, -1 after a SyncResponse
  const auto sync_once = [&](std::uint64_t id) {
    sync::SyncRequest req;
    req.request_id = id;
    req.device = device;
    req.user = user;
    const auto t = Clock::now();
    auto answer = exchange_on(**conn, sync::encode_message(req), Millis(30000));
    if (!answer) throw std::runtime_error("sync: " + answer.status().to_string());
    std::ostringstream what;
    auto type = sync::peek_message_type(*answer);
    last_next = -2;
    if (type && *type == sync::MessageType::kSyncResponse) {
      what << "SyncResponse";
      last_next = -1;
    } else if (auto err = sync::decode_error_response(*answer)) {
      last_next = static_cast<int>(err->next);
      what << "ErrorResponse code=" << status_code_name(err->code) << " reason=" << err->reason
           << " next=" << static_cast<int>(err->next) << " (0 retry, 1 reauthenticate) message=" << err->message;
    } else {
      what << "undecodable answer";
    }
    what << " after " << fmt(seconds_since(t), 1) << " s";
    return what.str();
  };
  std::cout << "2. a sync request: " << sync_once(1) << "\n";

  // Another writer holds the database's write lock for longer than the
  // server's busy timeout (5 s), as a long transaction or a backup would.
  sqlite3* db = nullptr;
  if (sqlite3_open((setup.data / "server.db").c_str(), &db) != SQLITE_OK) throw std::runtime_error("open server.db");
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("BEGIN IMMEDIATE on server.db");
  }
  std::cout << "3. another process holds the write lock of server.db; a sync request: " << sync_once(2) << "\n";
  const bool told_retry = last_next == static_cast<int>(sync::NextStep::kRetry);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  std::cout << "4. the lock is released; the client retries as told, on the same connection: " << sync_once(3) << "\n";
  const bool logged_out = last_next == static_cast<int>(sync::NextStep::kReauthenticate);
  (*conn)->close();
  auto again = net::WsConnection::connect(endpoint, {}, kConnectTimeout);
  if (!again) throw std::runtime_error("connect: " + again.status().to_string());
  auto resumed = exchange_on(**again,
                             sync::encode_message(sync::LoginRequest{user, device, "", token, "repro",
                                                                     sync::Capabilities::all()}),
                             Millis(30000));
  const bool token_ok = resumed && sync::decode_login_response(*resumed);
  std::cout << "5. on a new connection the same session token " << (token_ok ? "is accepted" : "is refused") << "\n";
  (*again)->close();
  const bool reproduced = told_retry && logged_out && token_ok;
  if (reproduced) {
    std::cout << "REPRODUCED: a busy store logged the connection out (only the connection: the token is valid, but an\n"
                 "office client that receives next=1 clears its token and asks for the password)\n";
  } else if (told_retry && last_next == -1 && token_ok) {
    std::cout << "OK: after a busy store the retry on the same connection is served; the connection stayed logged in\n";
  } else {
    std::cout << "UNEXPECTED: see the answers above\n";
  }
  const StopResult stopped = server.stop();
  std::cout << "server exit " << stopped.code << "\n";
  // 0: the connection stays logged in (correct); 1: the bug, or anything unexpected.
  return !reproduced && told_retry && last_next == -1 && token_ok ? 0 : 1;
}

// ---- main ----------------------------------------------------------------------------------------------------

int run(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  if (!fs::exists(o.server_bin)) throw std::runtime_error("no jixiao-server at " + o.server_bin.string());
  ::signal(SIGPIPE, SIG_IGN);

  // File descriptors: each client holds a socket plus Asio's epoll, eventfd
  // and timerfd; the server (our child, inheriting the limit) one per client.
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  const rlim_t want = static_cast<rlim_t>(o.clients) * 6 + 256;
  if (nofile.rlim_cur < want) {
    nofile.rlim_cur = std::min(want, nofile.rlim_max);
    setrlimit(RLIMIT_NOFILE, &nofile);
    getrlimit(RLIMIT_NOFILE, &nofile);
  }
  if (nofile.rlim_cur < want) {
    throw std::runtime_error("RLIMIT_NOFILE is " + std::to_string(nofile.rlim_cur) + ", " + std::to_string(want) +
                             " needed for " + std::to_string(o.clients) + " clients (raise the hard limit)");
  }

  fs::create_directories(o.tmp);
  std::string tmpl = (o.tmp / "jixiao-capacity-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp in " + o.tmp.string());
  const fs::path root = tmpl;
  if (o.repro_busy_logout) {
    const int code = repro_busy_logout(o, root);
    std::error_code ec;
    if (!o.keep) fs::remove_all(root, ec);
    return code;
  }
  const MachineFacts machine = machine_facts(root);

  // Watchdog: the whole run is bounded. Past the limit it says so and ends
  // the process (the server child gets SIGTERM through PR_SET_PDEATHSIG).
  std::thread([minutes = o.max_minutes] {
    std::this_thread::sleep_for(std::chrono::duration<double>(minutes * 60));
    std::fprintf(stderr, "jixiao-bench-capacity: watchdog: the run exceeded %.0f minutes; exiting\n", minutes);
    std::_Exit(3);
  }).detach();

  const auto started = Clock::now();
  // The ceiling, on the same disk: before the server runs (a quiet disk) and
  // after it stopped (with its database on the disk), each after a sync(2).
  const auto measure_ceiling = [&](const char* when, std::size_t blob, const std::vector<std::string>& forms) {
    std::vector<CeilingResult> out;
    for (std::size_t b : o.batches) {
      ::sync();
      std::cerr << "[sqlite " << when << "] " << b << " row(s) of " << blob << " B per transaction, "
                << fmt(o.ceiling_seconds, 0) << " s ..." << std::endl;
      out.push_back(sqlite_ceiling(root / "ceiling.db", b, blob, forms, o.ceiling_seconds, o.seed));
      std::cerr << "[sqlite " << when << "]   " << fmt(out.back().rows_per_s, 0) << " rows/s" << std::endl;
    }
    return out;
  };
  // Before: entries of a typical size (the measured size is known only
  // later; the after run uses it); form ids of the same shape.
  std::vector<std::string> some_forms;
  for (std::size_t i = 0; i < o.clients; ++i) some_forms.push_back(new_uuid_v4());
  const std::vector<CeilingResult> ceiling_before = measure_ceiling("before", 400, some_forms);

  std::vector<TransportResult> results;
  for (const std::string& transport : o.transports) {
    results.push_back(run_transport(o, transport, root / transport));
  }

  double entry_bytes = 0;
  for (const auto& r : results) entry_bytes = std::max(entry_bytes, r.entry_bytes_avg);
  const auto blob = static_cast<std::size_t>(entry_bytes > 0 ? entry_bytes + 0.5 : 400);
  const std::vector<CeilingResult> ceiling_after =
      measure_ceiling("after", blob, results.front().form_ids.empty() ? some_forms : results.front().form_ids);
  // The ratio is taken against the higher of the two: the stricter ceiling.
  std::vector<CeilingResult> ceiling;
  for (std::size_t i = 0; i < o.batches.size(); ++i) {
    ceiling.push_back(ceiling_before[i].rows_per_s > ceiling_after[i].rows_per_s ? ceiling_before[i] : ceiling_after[i]);
  }
  const double total_s = seconds_since(started);

  // ---- the report ----
  std::cout << "\njixiao-bench-capacity: " << o.clients << " clients (" << o.per_unit << " per district unit), "
            << machine.nproc << " CPU " << machine.cpu_model << ", " << machine.kernel << ", " << machine.filesystem
            << " at " << o.tmp.string() << "\n";
  std::cout << "Argon2id of the imported users: "
            << (o.real_argon2 ? "the server's defaults (ops 2, 64 MiB)" : "fast (ops 1, 1 MiB), setup only") << "\n\n";
  for (const auto& r : results) {
    std::cout << "== " << r.transport << " ==\n";
    std::cout << "setup: init " << fmt(r.init_s, 2) << " s, import-units " << fmt(r.import_units_s, 2)
              << " s, import-users " << fmt(r.import_users_s, 2) << " s, serve ready " << fmt(r.server_start_s, 2) << " s\n";
    std::cout << "logins: " << r.logged_in << "/" << r.clients << " in " << fmt(r.login_s, 1) << " s ("
              << fmt(static_cast<double>(r.logged_in) / std::max(r.login_s, 1e-9), 1) << "/s, each connect+login p50 "
              << fmt(r.login_p50_ms, 1) << " ms, max " << fmt(r.login_max_ms, 1) << " ms)\n";
    std::cout << "server memory: RSS " << r.rss0_kb << " kB with 0 connections, " << r.rss_idle_kb << " kB with "
              << r.logged_in << " idle logged-in (" << fmt(r.per_connection_kb, 1) << " kB per connection; "
              << r.threads_idle << " threads), " << r.rss_warm_kb << " kB after the warm-up, " << r.rss_after_kb
              << " kB after they closed; VmHWM " << r.hwm_kb << " kB\n";
    std::cout << "warm-up: " << r.warm_ops << " ops in " << r.warm_requests << " requests, " << fmt(r.warm_s, 1)
              << " s (" << fmt(static_cast<double>(r.warm_ops) / std::max(r.warm_s, 1e-9), 0) << " ops/s, untimed)\n";
    std::cout << "average encoded SetCell op " << fmt(r.op_bytes_avg, 0) << " B, log entry " << fmt(r.entry_bytes_avg, 0)
              << " B\n\n";
    std::cout << "| batch | ops/s | req/s | p50 ms | p99 ms | max ms | rejected | errors | server CPU % | bench CPU % | "
                 "peak RSS kB | SQLite rows/s | ratio |\n";
    std::cout << "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (std::size_t i = 0; i < r.phases.size(); ++i) {
      const PhaseResult& p = r.phases[i];
      const double sqlite = ceiling[i].rows_per_s;
      std::cout << "| " << p.batch << " | " << fmt(p.ops_per_s, 0) << " | " << fmt(p.requests_per_s, 1) << " | "
                << fmt(p.p50_ms, 1) << " | " << fmt(p.p99_ms, 1) << " | " << fmt(p.max_ms, 1) << " | " << p.ops_rejected
                << " | " << (p.error_responses + p.transport_errors) << " | "
                << fmt(100.0 * p.server_cpu_s / p.window_s, 0) << " | " << fmt(100.0 * p.client_cpu_s / p.window_s, 0)
                << " | " << p.peak_rss_kb << " | " << fmt(sqlite, 0) << " | "
                << fmt(sqlite > 0 ? p.ops_per_s / sqlite : 0, 3) << " |\n";
    }
    std::cout << "\n(CPU % of one core over the window; 100% per core, " << machine.nproc
              << " cores shared by the server and this benchmark's clients)\n";
    for (const PhaseResult& p : r.phases) {
      std::cout << "batch " << p.batch << ": " << p.latency_samples << " latencies, " << p.entries
                << " entries received, " << p.clients_alive << " clients alive at the end; server wrote "
                << fmt(static_cast<double>(p.server_write_bytes) / std::max<double>(1, static_cast<double>(p.ops_accepted)), 0)
                << " B to disk per accepted op (" << fmt(static_cast<double>(p.server_write_bytes) / 1e6, 1) << " MB; write calls "
                << fmt(static_cast<double>(p.server_wchar) / 1e6, 1) << " MB); busiest server threads ("
                << p.state_samples << " samples of /proc/<pid>/task/*/{stat,wchan} over the window):\n";
      for (const auto& t : p.busiest_threads) {
        std::cout << "  tid " << t.tid << ": CPU " << fmt(t.cpu_s, 1) << " s (" << fmt(100.0 * t.cpu_s / p.window_s, 0)
                  << "%);";
        for (const auto& [state, share] : t.states) std::cout << " " << state << " " << fmt(100.0 * share, 0) << "%";
        std::cout << "\n";
      }
    }
    std::cout << "server exit: " << r.server_exit << (r.server_killed ? " (SIGKILL needed)" : "") << "\n";
    if (!r.problems.empty()) {
      std::cout << "problems seen (count):\n";
      for (const auto& [what, n] : r.problems) std::cout << "  " << n << " x " << what << "\n";
    }
    std::cout << "store after the run:\n" << r.store_status << "\n";
  }
  for (std::size_t i = 0; i < ceiling.size(); ++i) {
    const CeilingResult& c = ceiling[i];
    std::cout << "SQLite, batch " << c.batch << ": before the server " << fmt(ceiling_before[i].rows_per_s, 0)
              << " rows/s, after it " << fmt(ceiling_after[i].rows_per_s, 0) << " rows/s; the ceiling is the higher:\n";
    std::cout << "  SQLite ceiling, batch " << c.batch << ": " << c.rows << " rows of " << c.blob_bytes << " B in "
              << c.transactions << " transactions, " << fmt(c.seconds, 1) << " s = " << fmt(c.rows_per_s, 0)
              << " rows/s (transaction p50 " << fmt(c.commit_p50_ms, 2) << " ms, p99 " << fmt(c.commit_p99_ms, 2)
              << " ms; " << fmt(static_cast<double>(c.write_bytes) / std::max<double>(1, static_cast<double>(c.rows)), 0)
              << " B written to disk per row)\n";
  }
  std::cout << "whole run " << fmt(total_s, 0) << " s\n";

  json j;
  j["bench"] = "jixiao-bench-capacity";
  j["machine"] = {{"nproc", machine.nproc},          {"cpu", machine.cpu_model},
                  {"kernel", machine.kernel},        {"mem_total_kb", machine.mem_total_kb},
                  {"filesystem", machine.filesystem}};
  j["options"] = {{"clients", o.clients},         {"per_unit", o.per_unit},       {"batches", o.batches},
                  {"seconds", o.seconds},         {"ramp", o.ramp},               {"rows", o.rows},
                  {"argon2", o.real_argon2 ? "default" : "fast"}, {"seed", o.seed},
                  {"server_threads", o.server_threads}, {"think_ms", o.think_ms}, {"login_concurrency", o.login_concurrency}};
  j["transports"] = json::array();
  for (const auto& r : results) {
    json t = {{"transport", r.transport},
              {"setup_s", {{"init", r.init_s}, {"import_units", r.import_units_s}, {"import_users", r.import_users_s}, {"serve_ready", r.server_start_s}}},
              {"logins", {{"ok", r.logged_in}, {"seconds", r.login_s}, {"p50_ms", r.login_p50_ms}, {"max_ms", r.login_max_ms}}},
              {"memory_kb", {{"rss_0_connections", r.rss0_kb}, {"rss_idle_n", r.rss_idle_kb}, {"per_connection", r.per_connection_kb},
                             {"rss_after_warm_up", r.rss_warm_kb}, {"rss_after_close", r.rss_after_kb}, {"vm_hwm", r.hwm_kb}, {"threads_idle", r.threads_idle}}},
              {"warm_up", {{"ops", r.warm_ops}, {"requests", r.warm_requests}, {"seconds", r.warm_s}}},
              {"op_bytes_avg", r.op_bytes_avg},
              {"entry_bytes_avg", r.entry_bytes_avg},
              {"server_exit", r.server_exit},
              {"problems", r.problems}};
    t["phases"] = json::array();
    for (std::size_t i = 0; i < r.phases.size(); ++i) {
      const PhaseResult& p = r.phases[i];
      t["phases"].push_back({{"batch", p.batch},
                             {"window_s", p.window_s},
                             {"ops_per_s", p.ops_per_s},
                             {"requests_per_s", p.requests_per_s},
                             {"ops_accepted", p.ops_accepted},
                             {"ops_sent", p.ops_sent},
                             {"ops_rejected", p.ops_rejected},
                             {"error_responses", p.error_responses},
                             {"transport_errors", p.transport_errors},
                             {"latency_ms", {{"p50", p.p50_ms}, {"p99", p.p99_ms}, {"max", p.max_ms}, {"mean", p.mean_ms}, {"samples", p.latency_samples}}},
                             {"server_cpu_s", p.server_cpu_s},
                             {"bench_cpu_s", p.client_cpu_s},
                             {"peak_rss_kb", p.peak_rss_kb},
                             {"server_write_bytes", p.server_write_bytes},
                             {"server_wchar", p.server_wchar},
                             {"busiest_threads", [&] {
                                json a = json::array();
                                for (const auto& bt : p.busiest_threads) a.push_back({{"cpu_s", bt.cpu_s}, {"states", bt.states}});
                                return a;
                              }()},
                             {"entries_received", p.entries},
                             {"bytes_up", p.bytes_up},
                             {"bytes_down", p.bytes_down},
                             {"clients_alive", p.clients_alive},
                             {"sqlite_rows_per_s", ceiling[i].rows_per_s},
                             {"ratio_to_sqlite", ceiling[i].rows_per_s > 0 ? p.ops_per_s / ceiling[i].rows_per_s : 0}});
    }
    j["transports"].push_back(std::move(t));
  }
  const auto ceiling_json = [](const std::vector<CeilingResult>& v) {
    json a = json::array();
    for (const CeilingResult& c : v) {
      a.push_back({{"batch", c.batch}, {"blob_bytes", c.blob_bytes}, {"rows", c.rows}, {"seconds", c.seconds},
                   {"rows_per_s", c.rows_per_s}, {"txn_p50_ms", c.commit_p50_ms}, {"txn_p99_ms", c.commit_p99_ms},
                   {"write_bytes", c.write_bytes}});
    }
    return a;
  };
  j["sqlite_ceiling"] = ceiling_json(ceiling);
  j["sqlite_before"] = ceiling_json(ceiling_before);
  j["sqlite_after"] = ceiling_json(ceiling_after);
  j["total_s"] = total_s;
  std::cout << "\nJSON " << j.dump() << std::endl;

  if (!o.keep) {
    std::error_code ec;
    fs::remove_all(root, ec);
  } else {
    std::cerr << "kept " << root << std::endl;
  }
  bool ok = true;
  for (const auto& r : results) {
    if (r.logged_in != r.clients || r.server_exit != 0) ok = false;
    for (const auto& p : r.phases) {
      if (p.error_responses + p.transport_errors + p.ops_rejected > 0 || p.ops_accepted == 0) ok = false;
    }
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace jixiao::bench

int main(int argc, char** argv) {
  try {
    return jixiao::bench::run(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::cerr << "jixiao-bench-capacity: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "jixiao-bench-capacity: " << e.what() << "\n";
    return 1;
  }
}
