// jixiao-bench-wire: jixiao's sync measured on the real wire (issue 6, part 2).
//
// A real `jixiao-server` (started by bench/peer.sh) sits behind the PouchDB
// harness's link emulator (proxy.js, docs/bench-peer.md); this program
// drives real office clients (client::OfficeClient, each with its own data
// directory, over WebSocket/TLS through the proxy) through the phases of
// issue 6 on the same workload as jixiao-bench-sync-cost (same seed):
//
//   first_push   district 731101's machine A pushes the unit's 10 forms,
//                created offline on its replica beforehand (not timed)
//   first_pull   a second machine B of the unit registers: login and first
//                sync, which fetches the 10 forms
//   week_push    A syncs the offline week made beforehand (not timed)
//   week_pull    B syncs and receives it
//   noop_a       A syncs with nothing to do (noop_b: B)
//   bureau       the finance bureau's client registers and bootstraps the
//                city: 110 forms at 财政局审核 (driven there beforehand over the
//                same proxy set to loopback speed, not timed)
//
// Each timed phase sets the proxy to the slow link (ONE_WAY_MS, BW_BPS),
// resets its counters, runs, waits 600 ms for trailing bytes and reads
// /stats: bytes up and down are TCP payload through the proxy (TLS records,
// WebSocket frames, handshakes included), the same quantity the harness
// reports for PouchDB. A counting wrapper around the production transport
// (ClientOptions::connect -> client::connect_websocket) counts connections,
// connect time, and every protocol message by type and size.
//
// Round trips: each message this client sends waits for its answer (one
// request in flight: docs/protocol.md §1), so the message round trips are
// logins + sync requests. A new connection adds TCP (the proxy charges one
// RTT), TLS (1 RTT with TLS 1.3, which client and server negotiate with
// OpenSSL 3) and the WebSocket upgrade (1 RTT): 3 RTT per connection.
//
// With --pouchdb-unit / --pouchdb-city (the harness's summary JSON on
// unit.json / city.json from jixiao-bench-export-dataset) it prints the
// comparison jixiao ÷ PouchDB per phase.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "jixiao/client/office_client.h"
#include "jixiao/client/transport.h"
#include "jixiao/common/form_json.h"
#include "jixiao/common/form_template.h"
#include "jixiao/sync/client_replica.h"
#include "jixiao/sync/model.h"
#include "jixiao/sync/protocol.h"
#include "jixiao/workflow/clock.h"
#include "workload.h"

namespace jixiao::bench {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::cerr << "jixiao-bench-wire: " << what << "\n";
  std::exit(2);
}
void check(const Status& s, const std::string& what) {
  if (!s) die(what + ": " + s.to_string());
}
void say(const std::string& what) { std::cerr << "jixiao-bench-wire: " << what << std::endl; }

double ms_since(SteadyClock::time_point t0, SteadyClock::time_point t1) {
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}


// ---- the proxy's control API (plain HTTP on 127.0.0.1) -------------------------------------

class ProxyControl {
 public:
  explicit ProxyControl(std::uint16_t port) : port_(port) {}

  Json call(const std::string& method, const std::string& target) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("proxy control: socket");
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      die("proxy control: cannot connect to 127.0.0.1:" + std::to_string(port_));
    }
    const std::string req = method + " " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n";
    if (::send(fd, req.data(), req.size(), 0) != static_cast<ssize_t>(req.size())) {
      ::close(fd);
      die("proxy control: send");
    }
    std::string resp;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) resp.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    const auto body = resp.find("\r\n\r\n");
    if (body == std::string::npos) die("proxy control: no HTTP answer to " + target);
    return Json::parse(resp.substr(body + 4));
  }
  void reset() const { call("POST", "/reset"); }
  Json stats() const { return call("GET", "/stats"); }
  void link(int one_way_ms, int bw_bps) const {
    call("POST", "/config?one_way_ms=" + std::to_string(one_way_ms) + "&bw_bps=" + std::to_string(bw_bps));
  }

 private:
  std::uint16_t port_;
};

// ---- counting transport ------------------------------------------------------------------

struct Traffic {
  std::uint64_t connects = 0;
  double connect_ms = 0;  // sum over the connections
  std::uint64_t msgs_up = 0, msgs_down = 0;
  std::uint64_t payload_up = 0, payload_down = 0;
  std::uint64_t logins = 0;         // LoginRequests sent
  std::uint64_t sync_requests = 0;  // SyncRequests sent
  std::uint64_t sync_responses = 0;
  std::uint64_t errors = 0;  // ErrorResponses received
  std::uint64_t login_up = 0, login_down = 0;  // payload of the login exchange
  std::uint64_t request_ops = 0;               // operations carried by the SyncRequests
  std::uint64_t largest_message_down = 0;
  SteadyClock::time_point last_receive{};
};

class CountingTransport final : public client::Transport {
 public:
  CountingTransport(std::unique_ptr<client::Transport> inner, Traffic& t) : inner_(std::move(inner)), t_(t) {}
  Status send(std::string_view message) override {
    Status s = inner_->send(message);
    if (!s) return s;
    ++t_.msgs_up;
    t_.payload_up += message.size();
    auto type = sync::peek_message_type(message);
    if (type && *type == sync::MessageType::kLoginRequest) {
      ++t_.logins;
      t_.login_up += message.size();
    } else if (type && *type == sync::MessageType::kSyncRequest) {
      ++t_.sync_requests;
      if (auto req = sync::decode_sync_request(message)) t_.request_ops += req->ops.size();
    }
    return s;
  }
  Result<std::string> receive(std::chrono::milliseconds timeout) override {
    auto r = inner_->receive(timeout);
    if (!r) return r;
    ++t_.msgs_down;
    t_.payload_down += r->size();
    t_.largest_message_down = std::max<std::uint64_t>(t_.largest_message_down, r->size());
    t_.last_receive = SteadyClock::now();
    auto type = sync::peek_message_type(*r);
    if (type && *type == sync::MessageType::kLoginResponse) t_.login_down += r->size();
    if (type && *type == sync::MessageType::kSyncResponse) ++t_.sync_responses;
    if (type && *type == sync::MessageType::kErrorResponse) ++t_.errors;
    return r;
  }
  bool connected() const override { return inner_->connected(); }
  std::size_t receiving_bytes() const override { return inner_->receiving_bytes(); }
  void close() override { inner_->close(); }

 private:
  std::unique_ptr<client::Transport> inner_;
  Traffic& t_;
};

// ---- settings -----------------------------------------------------------------------------

struct Settings {
  std::string url;  // wss://127.0.0.1:<proxy port>/sync
  std::string ca_file;
  std::uint16_t ctrl_port = 0;
  fs::path work;
  std::string password = "Bench2022pass";
  std::uint64_t seed = 20220301;
  int one_way_ms = 250;
  int bw_bps = 8000;
  std::chrono::milliseconds request_timeout{30000};  // ClientOptions' defaults unless given
  std::chrono::milliseconds sync_deadline{600000};
  std::chrono::milliseconds connect_timeout{15000};
  bool bureau_slow = true;
  std::string pouchdb_unit, pouchdb_city;
  std::string json_out;
  std::string report;
};

// ---- one office -------------------------------------------------------------------------

class Bench;

struct Office {
  UserId login;
  fs::path dir;
  std::unique_ptr<client::OfficeClient> client;
};

struct Phase {
  std::string id;
  std::string what;
  std::uint64_t up = 0, down = 0, connections = 0;  // proxy
  double wall_ms = 0;
  double to_last_answer_ms = 0;
  Traffic traffic;
  std::size_t ops_sent = 0, records_received = 0;
  std::uint64_t limit = 0;
  std::string limit_what;
  std::uint64_t rt_messages() const { return traffic.logins + traffic.sync_requests; }
  std::uint64_t rt_total() const { return 3 * traffic.connects + rt_messages(); }
};

void report(const Settings& cfg, const std::vector<Phase>& phases, const Json& facts);

class Bench {
 public:
  Bench(Settings s, const char* argv0) : s_(std::move(s)), proxy_(s_.ctrl_port), city_(make_city(10)) {
    check(templates_.load_directory(TemplateRegistry::default_directory(argv0)), "templates");
    auto wf = client::load_workflows(client::default_workflows_dir(argv0));
    check(wf.status(), "workflows");
    workflows_ = std::move(wf).value();
  }

  int run();

 private:
  client::ClientOptions options(const fs::path& dir) {
    client::ClientOptions o;
    o.data_dir = dir;
    o.templates = &templates_;
    o.workflows = workflows_;
    o.connect_timeout = s_.connect_timeout;
    o.request_timeout = s_.request_timeout;
    o.sync_deadline = s_.sync_deadline;
    Traffic* t = &traffic_;
    o.connect = [t](const client::ConnectParams& p) -> Result<std::unique_ptr<client::Transport>> {
      const auto t0 = SteadyClock::now();
      auto c = client::connect_websocket(p);
      t->connect_ms += ms_since(t0, SteadyClock::now());
      ++t->connects;
      if (!c) return c.status();
      return std::unique_ptr<client::Transport>(std::make_unique<CountingTransport>(std::move(c).value(), *t));
    };
    return o;
  }

  Office& office(const UserId& login) {
    auto& o = offices_[login];
    if (o.client) return o;
    o.login = login;
    o.dir = s_.work / ("client-" + login);
    auto c = client::OfficeClient::open(options(o.dir));
    check(c.status(), "open client " + login);
    o.client = std::move(c).value();
    return o;
  }
  void close(Office& o) { o.client.reset(); }
  void reopen(Office& o) {
    auto c = client::OfficeClient::open(options(o.dir));
    check(c.status(), "reopen client " + o.login);
    o.client = std::move(c).value();
  }

  // The office's replica file opened directly (the office client closed):
  // the workload's generators write operations exactly as
  // jixiao-bench-sync-cost does.
  std::unique_ptr<sync::ClientReplica> replica_of(Office& o) {
    close(o);
    reopen(o);
    const client::ClientMeta meta = o.client->meta();
    close(o);
    if (!meta.user) die(o.login + " has no user yet");
    auto r = sync::ClientReplica::open((o.dir / "replica.db").string(),
                                       sync::ClientIdentity{*meta.user, meta.device_id, meta.unit_name}, templates_,
                                       clock_);
    check(r.status(), "replica of " + o.login);
    return std::move(r).value();
  }

  // Inside a timed phase a failure ends the phase (reported with what it
  // cost so far); elsewhere it ends the run.
  struct PhaseFailed {
    std::string what;
  };
  void expect(const Status& s, const std::string& what) const {
    if (s) return;
    if (in_phase_) throw PhaseFailed{what + ": " + s.to_string()};
    die(what + ": " + s.to_string());
  }
  void register_office(Office& o) {
    expect(o.client->register_device(s_.url, o.login, s_.ca_file, s_.password), "register " + o.login);
  }
  client::SyncSummary sync(Office& o) {
    client::SyncOptions so;
    const std::string pw = s_.password;
    so.password = [pw]() -> std::optional<std::string> { return pw; };
    auto r = o.client->sync(so);
    expect(r.status(), "sync " + o.login);
    return *r;
  }

  void fast() const { proxy_.link(0, 0); }
  void slow() const { proxy_.link(s_.one_way_ms, s_.bw_bps); }

  template <class F>
  Phase measure(const std::string& id, const std::string& what, bool slow_link, F&& body) {
    say("phase " + id + " (" + what + ") on the " + (slow_link ? "slow" : "loopback") + " link …");
    if (slow_link) {
      slow();
    } else {
      fast();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    proxy_.reset();
    traffic_ = Traffic{};
    Phase p;
    p.id = id;
    p.what = what;
    const auto t0 = SteadyClock::now();
    std::string failed;
    in_phase_ = true;
    try {
      body(p);
    } catch (const PhaseFailed& f) {
      failed = f.what;
    }
    in_phase_ = false;
    const auto t1 = SteadyClock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(600));  // trailing bytes (close frames)
    const Json st = proxy_.stats();
    p.up = st.at("up_bytes").get<std::uint64_t>();
    p.down = st.at("down_bytes").get<std::uint64_t>();
    p.connections = st.at("connections").get<std::uint64_t>();
    p.wall_ms = ms_since(t0, t1);
    p.traffic = traffic_;
    p.to_last_answer_ms = traffic_.last_receive == SteadyClock::time_point{} ? 0 : ms_since(t0, traffic_.last_receive);
    fast();
    if (!failed.empty()) {
      std::printf("phase %s FAILED after %.1f s: %s\n  proxy: %llu B up, %llu B down, %llu connection(s); client: "
                  "%llu sync requests sent, %llu sync responses received, %llu B payload up, %llu B payload down\n",
                  id.c_str(), p.wall_ms / 1000.0, failed.c_str(), static_cast<unsigned long long>(p.up),
                  static_cast<unsigned long long>(p.down), static_cast<unsigned long long>(p.connections),
                  static_cast<unsigned long long>(p.traffic.sync_requests),
                  static_cast<unsigned long long>(p.traffic.sync_responses),
                  static_cast<unsigned long long>(p.traffic.payload_up),
                  static_cast<unsigned long long>(p.traffic.payload_down));
      std::exit(1);
    }
    say("  " + std::to_string(p.up) + " B up, " + std::to_string(p.down) + " B down, " +
        std::to_string(p.connections) + " connection(s), " + std::to_string(p.rt_messages()) + " message RT, " +
        std::to_string(static_cast<long long>(p.wall_ms)) + " ms");
    return p;
  }

  std::string forms_json(const client::OfficeClient& c, const std::vector<FormId>& forms) {
    std::string all;
    for (const FormId& f : forms) {
      auto j = c.form_json(f);
      check(j.status(), "form_json " + f);
      all += *j;
    }
    return all;
  }


  Settings s_;
  ProxyControl proxy_;
  City city_;
  TemplateRegistry templates_;
  std::vector<workflow::WorkflowDefinition> workflows_;
  workflow::SystemClock clock_;
  Traffic traffic_;
  bool in_phase_ = false;
  std::map<UserId, Office> offices_;
};

int Bench::run() {
  fs::create_directories(s_.work);
  fast();
  std::mt19937_64 rng(s_.seed);
  Narrator narrator(rng);
  constexpr std::size_t kFormsPerUnit = 10;
  constexpr std::size_t kWeekUnit = 1;
  const auto contents = generate_city_forms(narrator, city_, kFormsPerUnit);
  std::vector<Phase> phases;
  std::map<UnitCode, std::vector<FormId>> forms;
  const UnitPeople& wu = city_.units[kWeekUnit];

  // ---- every unit's preparer A: registers, creates its 10 forms offline, syncs --------------
  std::uint64_t form_json_total = 0;
  for (std::size_t u = 0; u < city_.units.size(); ++u) {
    const UnitPeople& p = city_.units[u];
    Office& a = office(p.preparer_a);
    register_office(a);
    {
      auto rep = replica_of(a);
      for (const FormContent& fc : contents[u]) {
        auto id = create_form(*rep, 2021, fc);
        check(id.status(), "create form for " + p.code);
        forms[p.code].push_back(*id);
      }
    }
    reopen(a);
    const std::string json = forms_json(*a.client, forms[p.code]);
    form_json_total += json.size();
    if (u != kWeekUnit) {
      sync(a);
      continue;
    }
    phases.push_back(measure("first_push", "unit's first sync: " + p.code + " machine A pushes its 10 new forms", true,
                             [&](Phase& ph) {
                               const auto r = sync(a);
                               ph.ops_sent = r.ops_sent;
                               ph.records_received = r.records_received;
                             }));
    phases.back().limit = zlib9_size(json);
    phases.back().limit_what = "zlib -9 of the 10 forms' JSON (" + std::to_string(json.size()) + " B raw)";
  }
  Office& a = office(wu.preparer_a);
  Office& b = office(wu.preparer_b);
  phases.push_back(measure("first_pull", "second machine B of " + wu.code + " registers and fetches the 10 forms", true,
                           [&](Phase&) { register_office(b); }));
  {
    const std::string json = forms_json(*b.client, forms[wu.code]);
    phases.back().limit = zlib9_size(json);
    phases.back().limit_what = "zlib -9 of the 10 forms' JSON";
    if (b.client->forms()->size() != kFormsPerUnit) die("machine B sees " + std::to_string(b.client->forms()->size()));
  }

  // ---- the offline week (made on A's replica, not timed), pushed, pulled ---------------------
  std::uint64_t week_limit = 0;
  std::uint64_t week_min = 0;
  std::size_t week_ops = 0, week_cells = 0;
  {
    auto rep = replica_of(a);
    auto changes = offline_week(*rep, forms[wu.code], narrator, 0.10, 3);
    check(changes.status(), "offline week");
    const std::vector<sync::Operation> ops = rep->pending();
    std::string encoded, minimal;
    for (const sync::Operation& op : ops) encoded += sync::encode_operation(op);
    for (const CellChange& ch : *changes) minimal += ch.form + " " + ch.cell.to_string() + " " + ch.text + "\n";
    for (std::size_t i = 0; i < 3; ++i) minimal += forms[wu.code][i] + " 提交\n";
    week_limit = zlib9_size(encoded);
    week_min = zlib9_size(minimal);
    week_ops = ops.size();
    week_cells = changes->size();
  }
  reopen(a);
  const std::string week_what = std::to_string(week_cells) + " cell edits + 3 提交, " + std::to_string(week_ops) + " ops";
  phases.push_back(measure("week_push", "week: machine A syncs " + week_what, true, [&](Phase& ph) {
    const auto r = sync(a);
    ph.ops_sent = r.ops_sent;
    ph.records_received = r.records_received;
  }));
  phases.back().limit = week_limit;
  phases.back().limit_what = "zlib -9 of the encoded ops (minimal 'form cell value' lines: " + std::to_string(week_min) + " B)";
  phases.push_back(measure("week_pull", "week: machine B syncs and receives it", true, [&](Phase& ph) {
    const auto r = sync(b);
    ph.records_received = r.records_received;
  }));
  phases.back().limit = week_limit;
  phases.back().limit_what = phases[phases.size() - 2].limit_what;
  if (!a.client->rejected()->empty()) die("the week left rejected changes on A");
  phases.push_back(measure("noop_a", "no-op sync of machine A", true, [&](Phase&) { sync(a); }));
  phases.push_back(measure("noop_b", "no-op sync of machine B", true, [&](Phase&) { sync(b); }));

  // ---- every form to 财政局审核 (loopback speed, not timed) -----------------------------------
  say("driving all forms to 财政局审核 on the loopback link …");
  fast();
  for (const UnitPeople& p : city_.units) {
    Office& prep = office(p.preparer_a);
    for (const FormId& f : forms[p.code]) {
      auto v = prep.client->view(f);
      check(v.status(), "view");
      if (v->workflow.phase == workflow::Phase::kDraft) check(prep.client->submit(f), "submit " + f);
    }
    sync(prep);
    Office& r = office(p.reviewer);
    register_office(r);
    for (const FormId& f : forms[p.code]) check(r.client->approve(f, {}), "unit approve " + f);
    sync(r);
  }
  Office& sup = office(city_.supervisor);
  register_office(sup);
  for (const UnitPeople& p : city_.units) {
    if (p.level != UnitLevel::kDistrict) continue;
    for (const FormId& f : forms[p.code]) check(sup.client->approve(f, {}), "city approve " + f);
  }
  sync(sup);
  if (!sup.client->rejected()->empty()) die("the supervisor's approvals were rejected");

  // ---- the bureau bootstraps the city -----------------------------------------------------------
  Office& fin = office(city_.finance_reviewer);
  phases.push_back(measure("bureau", "finance bureau registers and bootstraps the city (110 forms at 财政局审核)",
                           s_.bureau_slow, [&](Phase&) { register_office(fin); }));
  std::vector<FormId> every;
  for (const UnitPeople& p : city_.units) every.insert(every.end(), forms[p.code].begin(), forms[p.code].end());
  {
    auto listed = fin.client->forms();
    check(listed.status(), "bureau forms");
    if (listed->size() != every.size()) die("the bureau sees " + std::to_string(listed->size()) + " forms");
    for (const client::FormListing& l : *listed) {
      if (l.summary.stage_id != "finance_review") die("form " + l.summary.id + " is at " + l.summary.stage_id);
    }
    const std::string json = forms_json(*fin.client, every);
    phases.back().limit = zlib9_size(json);
    phases.back().limit_what = "zlib -9 of the forms' JSON (" + std::to_string(json.size()) + " B raw)";
  }

  // ---- convergence (loopback speed): every preparer catches up, then replica hashes ----------
  fast();
  for (const UnitPeople& p : city_.units) sync(office(p.preparer_a));
  sync(b);
  std::map<FormId, std::string> bureau_hashes;
  {
    auto rep = replica_of(fin);
    bureau_hashes = rep->replica_hashes();
  }
  std::size_t equal = 0;
  for (const UnitPeople& p : city_.units) {
    auto rep = replica_of(office(p.preparer_a));
    const auto h = rep->replica_hashes();
    for (const FormId& f : forms[p.code]) {
      if (h.count(f) == 0 || bureau_hashes.count(f) == 0 || h.at(f) != bureau_hashes.at(f)) {
        die("form " + f + " of " + p.code + ": preparer and bureau replicas differ");
      }
      ++equal;
    }
  }
  std::map<FormId, std::string> ha, hb;
  {
    auto ra = replica_of(a);
    ha = ra->replica_hashes();
  }
  {
    auto rb = replica_of(b);
    hb = rb->replica_hashes();
  }
  if (ha != hb) die("machines A and B of " + wu.code + " differ");
  say("converged: A = B for " + std::to_string(ha.size()) + " forms; bureau = preparers for " + std::to_string(equal) +
      " forms");

  const Json facts{{"seed", s_.seed},
                   {"forms", every.size()},
                   {"form_json_bytes_avg", form_json_total / every.size()},
                   {"week", week_what},
                   {"converged", true},
                   {"replicas_equal_a_b", ha.size()},
                   {"replicas_equal_bureau_preparers", equal}};
  report(s_, phases, facts);
  for (auto& [login, o] : offices_) close(o);
  return 0;
}

// ---- the comparison -------------------------------------------------------------------------

// The phase of the harness's summary, from the slow-link scenario when it ran,
// else from loopback_ka (bytes and round trips do not depend on the link).
Json pouch_phase(const std::string& file, const std::string& phase, std::string* scenario) {
  if (file.empty()) return nullptr;
  std::ifstream in(file);
  if (!in) die("cannot read " + file);
  Json j = Json::parse(in);
  Json best = nullptr;
  for (const Json& sc : j.at("scenarios")) {
    if (!sc.value("ok", false) || !sc.contains("phases")) continue;
    const std::string name = sc.at("scenario").get<std::string>();
    if (name != "rtt500_64k_ka" && name != "loopback_ka") continue;
    for (const Json& ph : sc.at("phases")) {
      if (ph.at("phase") != phase) continue;
      if (best.is_null() || name == "rtt500_64k_ka") {
        best = ph;
        best["scenario"] = name;
        best["converged"] = sc.contains("check") ? sc["check"].value("converged", false) : false;
      }
    }
  }
  if (!best.is_null() && scenario != nullptr) *scenario = best["scenario"].get<std::string>();
  return best;
}

std::string fmt(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}
std::string num(std::uint64_t v) {  // 1,234,567
  const std::string digits = std::to_string(v);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

void report(const Settings& cfg, const std::vector<Phase>& phases, const Json& facts) {
  const double rtt_s = 2.0 * cfg.one_way_ms / 1000.0;
  std::printf("\njixiao on the real wire (seed %llu): jixiao-server + OfficeClient, WebSocket over TLS,\n"
              "through proxy.js at one-way %d ms (RTT %d ms), %d B/s per direction\n",
              static_cast<unsigned long long>(cfg.seed), cfg.one_way_ms, 2 * cfg.one_way_ms, cfg.bw_bps);
  std::printf("bytes = TCP payload through the proxy (TLS, WebSocket, handshakes included); RT msg = logins + sync "
              "requests;\nRT all = RT msg + 3 per new connection (TCP, TLS 1.3, WebSocket upgrade)\n\n");
  std::printf("| phase | up B | down B | conns | RT msg | RT all | wall s | to last answer s | connect s | payload up B | "
              "payload down B | sync req | limit B | limit s (1 RT) |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  Json out = Json::array();
  for (const Phase& p : phases) {
    const double limit_s = rtt_s + static_cast<double>(p.limit) / cfg.bw_bps;
    std::printf("| %s | %s | %s | %llu | %llu | %llu | %s | %s | %s | %s | %s | %llu | %s | %s |\n", p.id.c_str(),
                num(p.up).c_str(), num(p.down).c_str(), static_cast<unsigned long long>(p.connections),
                static_cast<unsigned long long>(p.rt_messages()), static_cast<unsigned long long>(p.rt_total()),
                fmt(p.wall_ms / 1000.0, 1).c_str(), fmt(p.to_last_answer_ms / 1000.0, 1).c_str(),
                fmt(p.traffic.connect_ms / 1000.0, 2).c_str(), num(p.traffic.payload_up).c_str(),
                num(p.traffic.payload_down).c_str(), static_cast<unsigned long long>(p.traffic.sync_requests),
                num(p.limit).c_str(), p.limit == 0 || cfg.bw_bps == 0 ? "-" : fmt(limit_s, 1).c_str());
    out.push_back({{"phase", p.id},
                   {"what", p.what},
                   {"bytes_up", p.up},
                   {"bytes_down", p.down},
                   {"tcp_connections", p.connections},
                   {"round_trips_messages", p.rt_messages()},
                   {"round_trips_with_setup", p.rt_total()},
                   {"wall_ms", p.wall_ms},
                   {"to_last_answer_ms", p.to_last_answer_ms},
                   {"connects", p.traffic.connects},
                   {"connect_ms", p.traffic.connect_ms},
                   {"logins", p.traffic.logins},
                   {"sync_requests", p.traffic.sync_requests},
                   {"sync_responses", p.traffic.sync_responses},
                   {"error_responses", p.traffic.errors},
                   {"ops_in_requests", p.traffic.request_ops},
                   {"payload_up", p.traffic.payload_up},
                   {"payload_down", p.traffic.payload_down},
                   {"login_payload_up", p.traffic.login_up},
                   {"login_payload_down", p.traffic.login_down},
                   {"largest_message_down", p.traffic.largest_message_down},
                   {"limit_bytes", p.limit},
                   {"limit", p.limit_what},
                   {"limit_seconds_modelled", limit_s}});
  }
  std::printf("\n");
  for (const Phase& p : phases) std::printf("%-10s %s\n           limit: %s\n", p.id.c_str(), p.what.c_str(), p.limit_what.c_str());

  // ---- beside PouchDB ----
  Json cmp = Json::array();
  if (!cfg.pouchdb_unit.empty() || !cfg.pouchdb_city.empty()) {
    struct Pair {
      std::string phase;
      std::string file;
      std::vector<std::string> pouch;
    };
    const std::vector<Pair> pairs{{"first_push", cfg.pouchdb_unit, {"push_initial"}},
                                  {"first_pull", cfg.pouchdb_unit, {"pull_initial"}},
                                  {"week_push", cfg.pouchdb_unit, {"push_edit_1"}},
                                  {"week_pull", cfg.pouchdb_unit, {"pull_edit_1"}},
                                  {"noop_a", cfg.pouchdb_unit, {"push_noop", "pull_noop"}},
                                  {"bureau", cfg.pouchdb_city, {"pull_initial"}}};
    std::printf("\nbeside PouchDB 9 -> PouchDB-Server on the same documents and edits (docs/bench-peer.md):\n"
                "PouchDB RT = sequential_round_trips (+ tcp_connections in RT all); noop_a is compared with\n"
                "push_noop + pull_noop (one jixiao sync does both directions); 'scenario' says which PouchDB run the "
                "figures are from;\n~: PouchDB's wall time modelled from its loopback_ka figures by the harness's "
                "formula\n(RT x RTT + bytes / bandwidth + 1 RTT per new connection), not measured.\n\n");
    std::printf("| phase | PouchDB | scenario | jixiao B (up+down) | PouchDB B (up+down) | bytes ÷ | jixiao RT msg | "
                "PouchDB RT | RT msg ÷ | jixiao RT all | PouchDB RT all | RT all ÷ | jixiao wall s | PouchDB wall s | "
                "wall ÷ | limit B |\n");
    std::printf("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const Pair& pr : pairs) {
      const Phase* p = nullptr;
      for (const Phase& q : phases) {
        if (q.id == pr.phase) p = &q;
      }
      if (p == nullptr || pr.file.empty()) continue;
      std::uint64_t pu = 0, pd = 0, prt = 0, pconn = 0;
      double pwall = 0;
      bool have_wall = true, found = true;
      const double rtt_ms = 2.0 * cfg.one_way_ms;
      std::string scenario;
      for (const std::string& name : pr.pouch) {
        std::string sc;
        const Json ph = pouch_phase(pr.file, name, &sc);
        if (ph.is_null()) {
          found = false;
          break;
        }
        scenario = sc;
        pu += ph.at("bytes_up").get<std::uint64_t>();
        pd += ph.at("bytes_down").get<std::uint64_t>();
        prt += ph.at("sequential_round_trips").get<std::uint64_t>();
        pconn += ph.value("tcp_connections", 0ULL);
        if (sc == "rtt500_64k_ka") {
          pwall += ph.at("wall_ms").get<double>();
        } else {  // the harness's own model (README "How things are counted")
          have_wall = false;
          pwall += rtt_ms * static_cast<double>(ph.at("sequential_round_trips").get<std::uint64_t>() +
                                                ph.value("tcp_connections", 0ULL)) +
                   1000.0 * static_cast<double>(ph.at("bytes_up").get<std::uint64_t>() +
                                                ph.at("bytes_down").get<std::uint64_t>()) /
                       cfg.bw_bps;
        }
      }
      if (!found) continue;
      std::string pouch_names;
      for (const std::string& n : pr.pouch) pouch_names += (pouch_names.empty() ? "" : " + ") + n;
      const double jb = static_cast<double>(p->up + p->down);
      const double pb = static_cast<double>(pu + pd);
      const bool j_slow = pr.phase != "bureau" || cfg.bureau_slow;
      std::printf("| %s | %s | %s | %s | %s | %s | %llu | %llu | %s | %llu | %llu | %s | %s | %s | %s | %s |\n",
                  pr.phase.c_str(), pouch_names.c_str(), scenario.c_str(), num(p->up + p->down).c_str(),
                  num(pu + pd).c_str(), fmt(jb / pb, 2).c_str(), static_cast<unsigned long long>(p->rt_messages()),
                  static_cast<unsigned long long>(prt), fmt(static_cast<double>(p->rt_messages()) / static_cast<double>(prt), 2).c_str(),
                  static_cast<unsigned long long>(p->rt_total()), static_cast<unsigned long long>(prt + pconn),
                  fmt(static_cast<double>(p->rt_total()) / static_cast<double>(prt + pconn), 2).c_str(),
                  j_slow ? fmt(p->wall_ms / 1000.0, 1).c_str() : "-",
                  ((have_wall ? "" : "~") + fmt(pwall / 1000.0, 1)).c_str(),
                  j_slow ? ((have_wall ? "" : "~") + fmt(p->wall_ms / pwall, 2)).c_str() : "-", num(p->limit).c_str());
      cmp.push_back({{"phase", pr.phase},
                     {"pouchdb_phases", pr.pouch},
                     {"pouchdb_scenario", scenario},
                     {"jixiao_bytes_up", p->up},
                     {"jixiao_bytes_down", p->down},
                     {"pouchdb_bytes_up", pu},
                     {"pouchdb_bytes_down", pd},
                     {"bytes_ratio", jb / pb},
                     {"jixiao_rt_messages", p->rt_messages()},
                     {"pouchdb_rt", prt},
                     {"rt_messages_ratio", static_cast<double>(p->rt_messages()) / static_cast<double>(prt)},
                     {"jixiao_rt_all", p->rt_total()},
                     {"pouchdb_rt_all", prt + pconn},
                     {"rt_all_ratio", static_cast<double>(p->rt_total()) / static_cast<double>(prt + pconn)},
                     {"jixiao_wall_ms", j_slow ? Json(p->wall_ms) : Json(nullptr)},
                     {"pouchdb_wall_ms", pwall},
                     {"pouchdb_wall_modelled", !have_wall},
                     {"limit_bytes", p->limit}});
    }
  }
  const Json all{{"harness", "jixiao-bench-wire"},
                 {"link", {{"one_way_ms", cfg.one_way_ms}, {"bw_bytes_per_s", cfg.bw_bps}}},
                 {"client_timeouts_ms",
                  {{"request", cfg.request_timeout.count()},
                   {"sync_deadline", cfg.sync_deadline.count()},
                   {"connect", cfg.connect_timeout.count()}}},
                 {"bureau_link", cfg.bureau_slow ? "slow" : "loopback"},
                 {"facts", facts},
                 {"phases", out},
                 {"beside_pouchdb", cmp}};
  if (!cfg.json_out.empty()) {
    std::ofstream f(cfg.json_out, std::ios::trunc);
    f << all.dump(2) << "\n";
  }
  std::printf("\nJSON:\n%s\n", all.dump(2).c_str());
}

Phase phase_from_json(const Json& j) {
  Phase p;
  p.id = j.at("phase");
  p.what = j.at("what");
  p.up = j.at("bytes_up");
  p.down = j.at("bytes_down");
  p.connections = j.at("tcp_connections");
  p.wall_ms = j.at("wall_ms");
  p.to_last_answer_ms = j.at("to_last_answer_ms");
  p.traffic.connects = j.at("connects");
  p.traffic.connect_ms = j.at("connect_ms");
  p.traffic.logins = j.at("logins");
  p.traffic.sync_requests = j.at("sync_requests");
  p.traffic.sync_responses = j.at("sync_responses");
  p.traffic.errors = j.at("error_responses");
  p.traffic.request_ops = j.at("ops_in_requests");
  p.traffic.payload_up = j.at("payload_up");
  p.traffic.payload_down = j.at("payload_down");
  p.traffic.login_up = j.at("login_payload_up");
  p.traffic.login_down = j.at("login_payload_down");
  p.traffic.largest_message_down = j.at("largest_message_down");
  p.limit = j.at("limit_bytes");
  p.limit_what = j.at("limit");
  return p;
}

Settings parse(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(k + " needs a value");
      return argv[++i];
    };
    if (k == "--url") {
      s.url = value();
    } else if (k == "--ca") {
      s.ca_file = value();
    } else if (k == "--ctrl-port") {
      s.ctrl_port = static_cast<std::uint16_t>(std::stoi(value()));
    } else if (k == "--work") {
      s.work = value();
    } else if (k == "--password") {
      s.password = value();
    } else if (k == "--seed") {
      s.seed = std::stoull(value());
    } else if (k == "--one-way-ms") {
      s.one_way_ms = std::stoi(value());
    } else if (k == "--bw-bps") {
      s.bw_bps = std::stoi(value());
    } else if (k == "--request-timeout-ms") {
      s.request_timeout = std::chrono::milliseconds(std::stoll(value()));
    } else if (k == "--sync-deadline-ms") {
      s.sync_deadline = std::chrono::milliseconds(std::stoll(value()));
    } else if (k == "--connect-timeout-ms") {
      s.connect_timeout = std::chrono::milliseconds(std::stoll(value()));
    } else if (k == "--bureau-link") {
      const std::string v = value();
      if (v != "slow" && v != "loopback") die("--bureau-link slow|loopback");
      s.bureau_slow = v == "slow";
    } else if (k == "--pouchdb-unit") {
      s.pouchdb_unit = value();
    } else if (k == "--pouchdb-city") {
      s.pouchdb_city = value();
    } else if (k == "--json-out") {
      s.json_out = value();
    } else if (k == "--report") {  // prints the tables again from a saved --json-out file
      s.report = value();
    } else if (k == "--csv") {  // writes units.csv and users.csv into DIR, then exits
      s.work = value();
      s.url = "csv";
    } else {
      die("unknown argument " + k);
    }
  }
  return s;
}

}  // namespace

int run(int argc, char** argv) {
  Settings s = parse(argc, argv);
  if (s.url == "csv") {
    const City city = make_city(10);
    fs::create_directories(s.work);
    std::ofstream(s.work / "units.csv", std::ios::trunc) << units_csv(city);
    std::ofstream(s.work / "users.csv", std::ios::trunc) << users_csv(city, s.password);
    return 0;
  }
  if (!s.report.empty()) {
    std::ifstream in(s.report);
    if (!in) die("cannot read " + s.report);
    const Json saved = Json::parse(in);
    s.one_way_ms = saved.at("link").at("one_way_ms");
    s.bw_bps = saved.at("link").at("bw_bytes_per_s");
    s.seed = saved.at("facts").at("seed");
    s.bureau_slow = saved.value("bureau_link", std::string("slow")) == "slow";
    std::vector<Phase> phases;
    for (const Json& j : saved.at("phases")) phases.push_back(phase_from_json(j));
    report(s, phases, saved.at("facts"));
    return 0;
  }
  if (s.url.empty() || s.ctrl_port == 0 || s.work.empty()) {
    die("usage: jixiao-bench-wire --url wss://127.0.0.1:PROXY/sync --ca CERT --ctrl-port N --work DIR "
        "[--password P] [--seed S] [--one-way-ms 250] [--bw-bps 8000] [--request-timeout-ms T] "
        "[--sync-deadline-ms T] [--bureau-link slow|loopback] [--pouchdb-unit F] [--pouchdb-city F] [--json-out F]\n"
        "       jixiao-bench-wire --csv DIR [--password P]");
  }
  Bench b(std::move(s), argv[0]);
  return b.run();
}

}  // namespace jixiao::bench

int main(int argc, char** argv) { return jixiao::bench::run(argc, argv); }
