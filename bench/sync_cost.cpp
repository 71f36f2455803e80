// jixiao-bench-sync-cost: what a sync costs on the wire, against the limit of
// sending the changed data itself, compressed, in one round trip (issue 6).
//
// One SyncService (SQLite in memory) and ClientReplicas in one process; every
// message goes through an in-process transport that counts the bytes of the
// encoded message (the application payload, envelope included) in both
// directions and the round trips (request/response pairs). A WebSocket/TLS
// estimate is added per message (an estimate, not a measurement). Wall time
// on a 64 kbit/s, 500 ms RTT link is modelled from those figures, not measured.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "jixiao/common/form_json.h"
#include "jixiao/common/form_template.h"
#include "jixiao/sync/client_replica.h"
#include "jixiao/sync/model.h"
#include "jixiao/service/sync_service.h"
#include "jixiao/sync/sync_session.h"
#include "jixiao/workflow/clock.h"
#include "jixiao/workflow/definition.h"
#include "workload.h"

namespace jixiao::bench {
namespace {

using sync::ClientReplica;
using sync::ClientSyncSession;
using sync::DeviceId;

constexpr double kLinkBytesPerSecond = 8000.0;  // 64 kbit/s
constexpr double kRttSeconds = 0.5;

[[noreturn]] void die(const std::string& what) {
  std::cerr << "jixiao-bench-sync-cost: " << what << "\n";
  std::exit(2);
}
void check(const Status& s, const std::string& what) {
  if (!s) die(what + ": " + s.to_string());
}


// WebSocket frame header (RFC 6455: 2, 4 or 10 bytes; +4 mask key from the
// client) and TLS records (~29 bytes each: 5 header + 8 explicit nonce + 16
// tag for TLS 1.2 AES-GCM; one record per 16 KiB). An estimate.
std::uint64_t framed_estimate(std::uint64_t payload, bool from_client) {
  std::uint64_t ws = payload < 126 ? 2 : payload < 65536 ? 4 : 10;
  if (from_client) ws += 4;
  const std::uint64_t records = (payload + ws + 16383) / 16384;
  return payload + ws + 29 * (records == 0 ? 1 : records);
}

struct Cost {
  std::uint64_t up = 0;  // client -> server, payload bytes
  std::uint64_t down = 0;
  std::uint64_t up_framed = 0;
  std::uint64_t down_framed = 0;
  std::uint64_t round_trips = 0;
  Cost& operator+=(const Cost& o) {
    up += o.up;
    down += o.down;
    up_framed += o.up_framed;
    down_framed += o.down_framed;
    round_trips += o.round_trips;
    return *this;
  }
  std::uint64_t bytes() const { return up + down; }
  std::uint64_t framed() const { return up_framed + down_framed; }
};

struct Machine {
  UserId user;
  DeviceId device;
  std::unique_ptr<ClientReplica> replica;
  std::unique_ptr<ClientSyncSession> session;
  std::deque<std::string> outgoing;
};

class World {
 public:
  explicit World(const char* argv0) : city_(make_city(10)), clock_(workflow::utc_time(2022, 3, 1, 9, 0)) {
    check(templates_.load_directory(TemplateRegistry::default_directory(argv0)), "templates");
    std::vector<workflow::WorkflowDefinition> defs;
    for (const char* name : {"district-default.json", "city-default.json"}) {
      auto def = workflow::load_workflow_definition(std::string(JIXIAO_SOURCE_DIR) + "/workflow/definitions/" + name);
      check(def.status(), name);
      defs.push_back(std::move(def).value());
    }
    auto server = server::SyncService::open_seeded(":memory:", city_.directory, templates_, std::move(defs), clock_);
    check(server.status(), "server");
    server_ = std::move(server).value();
  }

  const City& city() const { return city_; }
  const TemplateRegistry& templates() const { return templates_; }
  server::SyncService& server() { return *server_; }
  void advance(std::chrono::milliseconds by) {
    clock_.advance(by);
    now_ += by;
  }

  Machine& machine(const UserId& user, const DeviceId& device) {
    auto& slot = machines_[device];
    if (slot) return *slot;
    slot = std::make_unique<Machine>();
    Machine& m = *slot;
    m.user = user;
    m.device = device;
    const User& u = city_.directory.users.at(user);
    auto replica = ClientReplica::open(
        ":memory:", sync::ClientIdentity{u, device, city_.directory.organisation.find(u.unit)->name}, templates_,
        clock_);
    check(replica.status(), "replica " + device);
    m.replica = std::move(replica).value();
    m.session = std::make_unique<ClientSyncSession>(
        *m.replica, [&m](std::string bytes) { m.outgoing.push_back(std::move(bytes)); }, std::chrono::seconds(30));
    return m;
  }

  // One sync cycle of `m`, every message counted.
  Cost sync(Machine& m) {
    Cost c;
    m.session->begin(now_);
    for (int guard = 0; !m.outgoing.empty(); ++guard) {
      if (guard > 10'000) die("sync of " + m.device + " does not end");
      const std::string request = std::move(m.outgoing.front());
      m.outgoing.pop_front();
      const std::string response = server_->handle_bytes(request, server::SessionIdentity{m.user, m.device});
      c.up += request.size();
      c.down += response.size();
      c.up_framed += framed_estimate(request.size(), true);
      c.down_framed += framed_estimate(response.size(), false);
      ++c.round_trips;
      m.session->on_message(response, now_);
    }
    if (!m.session->idle()) die("session of " + m.device + " not idle after its cycle");
    check(m.session->last_error(), "sync of " + m.device);
    return c;
  }

 private:
  City city_;
  TemplateRegistry templates_;
  workflow::ManualClock clock_;
  std::chrono::milliseconds now_{0};
  std::unique_ptr<server::SyncService> server_;
  std::map<DeviceId, std::unique_ptr<Machine>> machines_;
};

struct Row {
  std::string id;
  std::string what;
  Cost cost;
  std::uint64_t limit = 0;  // compressed changed data, one round trip
  std::string limit_what;
  std::uint64_t alt_limit = 0;  // another reading of the limit (0: none)
  std::string alt_limit_what;
};

std::string forms_json(World& w, ClientReplica& r, const std::vector<FormId>& forms) {
  std::string all;
  const FormTemplate* t = w.templates().latest(kTemplateId);
  for (const FormId& f : forms) {
    auto v = r.view(f);
    check(v.status(), "view");
    all += form_to_json(v->form, *t);
  }
  return all;
}

std::string ops_bytes(const std::vector<sync::Operation>& ops) {
  std::string all;
  for (const sync::Operation& op : ops) all += sync::encode_operation(op);
  return all;
}

double modelled_seconds(std::uint64_t round_trips, std::uint64_t bytes) {
  return static_cast<double>(round_trips) * kRttSeconds + static_cast<double>(bytes) / kLinkBytesPerSecond;
}

std::string fmt(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

int run(int argc, char** argv) {
  const std::uint64_t seed = argc > 1 ? std::stoull(argv[1]) : 20220301;
  std::mt19937_64 rng(seed);
  Narrator narrator(rng);
  World w(argv[0]);
  const City& city = w.city();
  constexpr std::size_t kFormsPerUnit = 10;
  constexpr std::size_t kWeekUnit = 1;  // the first district
  std::vector<Row> rows;

  // ---- (a) every unit creates its 10 forms offline, then syncs ----------------------------
  std::map<UnitCode, std::vector<FormId>> forms;
  std::uint64_t content_chars = 0;
  std::uint64_t form_json_total = 0;
  Cost all_first;
  for (const UnitPeople& u : city.units) {
    Machine& a = w.machine(u.preparer_a, "dev-" + u.code + "-a");
    for (std::size_t i = 0; i < kFormsPerUnit; ++i) {
      const FormContent fc = generate_form(narrator, u, i);
      for (const auto& [cell, text] : fc.cells) content_chars += utf8_chars(text);
      auto id = create_form(*a.replica, 2021, fc);
      check(id.status(), "create form for " + u.code);
      forms[u.code].push_back(*id);
    }
    const std::string json = forms_json(w, *a.replica, forms[u.code]);
    form_json_total += json.size();
    const std::string ops = ops_bytes(a.replica->pending());
    const Cost c = w.sync(a);
    all_first += c;
    if (&u == &city.units[kWeekUnit]) {
      rows.push_back({"a", "first sync: " + u.code + " pushes its 10 new forms (" +
                               std::to_string(a.replica->pending().size()) + " left in outbox)",
                      c, zlib9_size(json), "zlib -9 of the 10 forms' JSON (" + std::to_string(json.size()) + " B raw)",
                      zlib9_size(ops), "zlib -9 of the encoded operations (" + std::to_string(ops.size()) + " B raw)"});
    }
  }
  const UnitPeople& wu = city.units[kWeekUnit];
  Machine& a = w.machine(wu.preparer_a, "dev-" + wu.code + "-a");
  Machine& b = w.machine(wu.preparer_b, "dev-" + wu.code + "-b");
  {
    const Cost c = w.sync(b);
    const std::string json = forms_json(w, *b.replica, forms[wu.code]);
    rows.push_back({"a2", "second machine of " + wu.code + " fetches the unit's 10 forms", c, zlib9_size(json),
                    "zlib -9 of the 10 forms' JSON", 0, ""});
  }

  // ---- (b) an offline week of one unit -----------------------------------------------------
  w.advance(std::chrono::hours(24 * 7));
  auto changes = offline_week(*a.replica, forms[wu.code], narrator, 0.10, 3);
  check(changes.status(), "offline week");
  const std::vector<sync::Operation> week_ops = a.replica->pending();
  std::string minimal;  // the changes as "form cell value" lines plus the actions
  for (const CellChange& ch : *changes) minimal += ch.form + " " + ch.cell.to_string() + " " + ch.text + "\n";
  for (std::size_t i = 0; i < 3; ++i) minimal += forms[wu.code][i] + " 提交\n";
  const std::uint64_t week_ops_z = zlib9_size(ops_bytes(week_ops));
  const std::uint64_t week_min_z = zlib9_size(minimal);
  const Cost push = w.sync(a);
  const Cost pull = w.sync(b);
  if (!a.replica->pending().empty()) die("week ops not all acknowledged");
  if (a.replica->replica_hashes() != b.replica->replica_hashes()) die("the two machines of the unit differ");
  Cost week = push;
  week += pull;
  const std::string week_what = std::to_string(changes->size()) + " cell edits + 3 提交, " +
                                std::to_string(week_ops.size()) + " ops";
  rows.push_back({"b-push", "week: machine A pushes " + week_what, push, week_ops_z, "zlib -9 of the encoded ops",
                  week_min_z, "zlib -9 of 'form cell new-value' lines"});
  rows.push_back({"b-pull", "week: machine B of the same unit pulls it", pull, week_ops_z,
                  "zlib -9 of the encoded ops", week_min_z, "zlib -9 of 'form cell new-value' lines"});
  rows.push_back({"b", "week total (push + pull)", week, week_ops_z, "zlib -9 of the encoded ops", week_min_z,
                  "zlib -9 of 'form cell new-value' lines"});

  // ---- (c) drive every form to 财政局审核, then the bureau bootstraps --------------------
  Machine& sup = w.machine(city.supervisor, "dev-c1");
  for (const UnitPeople& u : city.units) {
    Machine& p = w.machine(u.preparer_a, "dev-" + u.code + "-a");
    for (const FormId& f : forms[u.code]) {
      auto v = p.replica->view(f);
      check(v.status(), "view");
      if (v->workflow.phase == workflow::Phase::kDraft) check(p.replica->workflow_action(f, workflow::Action::kSubmit), "submit");
    }
    w.sync(p);
    Machine& r = w.machine(u.reviewer, "dev-" + u.code + "-r");
    w.sync(r);
    for (const FormId& f : forms[u.code]) check(r.replica->workflow_action(f, workflow::Action::kApprove), "unit approve");
    w.sync(r);
  }
  w.sync(sup);
  for (const UnitPeople& u : city.units) {
    if (u.level != UnitLevel::kDistrict) continue;
    for (const FormId& f : forms[u.code]) check(sup.replica->workflow_action(f, workflow::Action::kApprove), "city approve");
  }
  w.sync(sup);
  std::vector<FormId> every;
  for (const UnitPeople& u : city.units) {
    for (const FormId& f : forms[u.code]) {
      auto rep = w.server().replica(f);
      check(rep.status(), "server replica");
      if (rep->workflow.stage_id != "finance_review") die("form " + f + " is at " + rep->workflow.stage_id);
      every.push_back(f);
    }
  }
  Machine& fin = w.machine(city.finance_reviewer, "dev-f1");
  const Cost boot = w.sync(fin);
  if (fin.replica->forms().size() != every.size()) die("the bureau sees " + std::to_string(fin.replica->forms().size()));
  const std::string city_json = forms_json(w, *fin.replica, every);
  rows.push_back({"c", "finance bureau bootstraps the city: " + std::to_string(every.size()) + " forms at 财政局审核", boot,
                  zlib9_size(city_json), "zlib -9 of the forms' JSON (" + std::to_string(city_json.size()) + " B raw)", 0,
                  ""});

  // How compressible the generated prose is (real narratives of the bundled
  // fixtures compress about 2.4x with zlib -9): the limit depends on it.
  std::string prose;
  for (int i = 0; i < 20; ++i) prose += narrator.narrative();
  const double prose_ratio = static_cast<double>(prose.size()) / static_cast<double>(zlib9_size(prose));

  // ---- report --------------------------------------------------------------------------------
  std::printf("jixiao sync cost (seed %llu): city of %zu units x %zu forms, %zu indicator rows each\n",
              static_cast<unsigned long long>(seed), city.units.size(), kFormsPerUnit, std::size_t{40});
  std::printf("form text typed: %.0f characters per form on average; form JSON %.0f B per form\n",
              static_cast<double>(content_chars) / static_cast<double>(every.size()),
              static_cast<double>(form_json_total) / static_cast<double>(every.size()));
  std::printf("generated narratives compress %.2fx with zlib -9 (20 narratives, %zu B)\n", prose_ratio, prose.size());
  std::printf("bytes = encoded messages (payload incl. 12 B envelope), both directions; ws+tls = estimate;\n"
              "limit = compressed changed data in 1 round trip; time = MODELLED on 64 kbit/s, 500 ms RTT\n\n");
  std::printf("| id | up B | down B | bytes | ws+tls est. B | RT | limit B | bytes/limit | RT vs 1 | alt limit B | "
              "bytes/alt | modelled s | limit modelled s |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  nlohmann::json out = nlohmann::json::array();
  for (const Row& r : rows) {
    const double ratio = static_cast<double>(r.cost.bytes()) / static_cast<double>(r.limit);
    const double alt = r.alt_limit == 0 ? 0.0 : static_cast<double>(r.cost.bytes()) / static_cast<double>(r.alt_limit);
    const double t = modelled_seconds(r.cost.round_trips, r.cost.framed());
    const double tl = modelled_seconds(1, r.limit);
    std::printf("| %s | %llu | %llu | %llu | %llu | %llu | %llu | %s | %llu | %s | %s | %s | %s |\n", r.id.c_str(),
                static_cast<unsigned long long>(r.cost.up), static_cast<unsigned long long>(r.cost.down),
                static_cast<unsigned long long>(r.cost.bytes()), static_cast<unsigned long long>(r.cost.framed()),
                static_cast<unsigned long long>(r.cost.round_trips), static_cast<unsigned long long>(r.limit),
                fmt(ratio).c_str(), static_cast<unsigned long long>(r.cost.round_trips),
                r.alt_limit == 0 ? "-" : std::to_string(r.alt_limit).c_str(), r.alt_limit == 0 ? "-" : fmt(alt).c_str(),
                fmt(t, 1).c_str(), fmt(tl, 1).c_str());
    out.push_back({{"id", r.id},
                   {"what", r.what},
                   {"up_bytes", r.cost.up},
                   {"down_bytes", r.cost.down},
                   {"bytes", r.cost.bytes()},
                   {"ws_tls_estimate_bytes", r.cost.framed()},
                   {"round_trips", r.cost.round_trips},
                   {"limit_bytes", r.limit},
                   {"limit", r.limit_what},
                   {"bytes_over_limit", ratio},
                   {"alt_limit_bytes", r.alt_limit},
                   {"alt_limit", r.alt_limit_what},
                   {"bytes_over_alt_limit", alt},
                   {"modelled_seconds_64kbit_500ms", t},
                   {"limit_modelled_seconds_64kbit_500ms", tl}});
  }
  std::printf("\n");
  for (const Row& r : rows) {
    std::printf("%-7s %s\n        limit: %s%s%s\n", r.id.c_str(), r.what.c_str(), r.limit_what.c_str(),
                r.alt_limit == 0 ? "" : "; alt: ", r.alt_limit_what.c_str());
  }
  std::printf("all 11 units' first syncs together: %llu B in %llu round trips\n",
              static_cast<unsigned long long>(all_first.bytes()), static_cast<unsigned long long>(all_first.round_trips));
  std::printf("\nJSON:\n%s\n",
              nlohmann::json{{"seed", seed}, {"modelled_link", "64 kbit/s, 500 ms RTT (modelled, not measured)"},
                             {"narrative_zlib_ratio", prose_ratio},
                             {"scenarios", out}}
                  .dump(2)
                  .c_str());
  return 0;
}

}  // namespace jixiao::bench

int main(int argc, char** argv) { return jixiao::bench::run(argc, argv); }
