// Reads and edits through the client service while a finance bureau's
// bootstrap is applied (issue 11, part 5). Not a timed unit test: it
// prints p50/p99 of reads and edits beside the 50 ms target.
//
// One process: a SyncService (SQLite in memory) seeded with the city of
// workload.h (the city 科协 and ten districts, `per_unit` project forms each
// with 40 indicator rows and long narratives), every form driven to
// 财政局审核 by replicas over handle_bytes, as jixiao-bench-sync-cost does.
// Then the bureau's reviewer opens a ClientService on a fresh data
// directory (a real SQLite file in $TMPDIR) whose transport hands each
// message to the SyncService in process, and syncs: the bootstrap brings
// every form. Meanwhile `readers` threads read a form (view) and edit one
// of its cells (set_cell) in a loop through the same service; each call's
// latency is recorded until the sync ends.
//
//   jixiao-bench-client-service [per_unit=10] [readers=2] [batch=16] [seed]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "jixiao/client/client_service.h"
#include "jixiao/common/form_template.h"
#include "jixiao/common/uuid.h"
#include "jixiao/service/sync_service.h"
#include "jixiao/sync/protocol.h"
#include "jixiao/sync/sync_session.h"
#include "jixiao/workflow/clock.h"
#include "jixiao/workflow/definition.h"
#include "workload.h"

namespace jixiao::bench {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::cerr << "jixiao-bench-client-service: " << what << "\n";
  std::exit(1);
}
void check(const Status& s, const std::string& what) {
  if (!s) die(what + ": " + s.to_string());
}

// A replica driven over handle_bytes in process (as in sync_cost.cpp).
struct Machine {
  UserId user;
  sync::DeviceId device;
  std::unique_ptr<sync::ClientReplica> replica;
  std::unique_ptr<sync::ClientSyncSession> session;
  std::deque<std::string> outgoing;
};

// The transport of the bureau's ClientService: the login answered from the
// directory, every sync request by the SyncService.
class InProcessTransport final : public client::Transport {
 public:
  InProcessTransport(server::SyncService& server, const server::Directory& directory, std::atomic<std::uint64_t>& bytes)
      : server_(server), directory_(directory), bytes_(bytes) {}
  Status send(std::string_view message) override {
    auto type = sync::peek_message_type(message);
    if (type && *type == sync::MessageType::kLoginRequest) {
      auto req = sync::decode_login_request(message);
      if (!req) return req.status();
      who_ = server::SessionIdentity{req->user, req->device};
      sync::LoginResponse resp;
      resp.token = "bench-token";
      resp.user = directory_.users.at(req->user);
      if (const Unit* u = directory_.organisation.find(resp.user.unit)) resp.unit_name = u->name;
      resp.capabilities = sync::Capabilities::all();
      replies_.push_back(sync::encode_message(resp));
      return Status::ok();
    }
    replies_.push_back(server_.handle_bytes(message, who_));
    bytes_ += replies_.back().size();
    return Status::ok();
  }
  Result<std::string> receive(std::chrono::milliseconds) override {
    if (replies_.empty()) return Status(StatusCode::kUnavailable, "超时", "timeout");
    std::string r = std::move(replies_.front());
    replies_.pop_front();
    return r;
  }
  bool connected() const override { return true; }
  void close() override {}

 private:
  server::SyncService& server_;
  const server::Directory& directory_;
  std::atomic<std::uint64_t>& bytes_;
  server::SessionIdentity who_;
  std::deque<std::string> replies_;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

int run(int argc, char** argv) {
  const std::size_t per_unit = argc > 1 ? std::stoul(argv[1]) : 10;
  const std::size_t readers = argc > 2 ? std::stoul(argv[2]) : 2;
  const std::size_t batch = argc > 3 ? std::stoul(argv[3]) : 16;
  const std::uint64_t seed = argc > 4 ? std::stoull(argv[4]) : 20220301;

  std::mt19937_64 rng(seed);
  Narrator narrator(rng);
  const City city = make_city(10);
  TemplateRegistry templates;
  check(templates.load_directory(TemplateRegistry::default_directory(argv[0])), "templates");
  std::vector<workflow::WorkflowDefinition> defs;
  for (const char* name : {"district-default.json", "city-default.json"}) {
    auto def = workflow::load_workflow_definition(std::string(JIXIAO_SOURCE_DIR) + "/workflow/definitions/" + name);
    check(def.status(), name);
    defs.push_back(std::move(def).value());
  }
  workflow::ManualClock clock(workflow::utc_time(2022, 3, 1, 9, 0));
  auto opened = server::SyncService::open_seeded(":memory:", city.directory, templates, defs, clock);
  check(opened.status(), "server");
  server::SyncService& server = **opened;

  std::map<sync::DeviceId, std::unique_ptr<Machine>> machines;
  auto machine = [&](const UserId& user, const sync::DeviceId& device) -> Machine& {
    auto& slot = machines[device];
    if (slot) return *slot;
    slot = std::make_unique<Machine>();
    Machine& m = *slot;
    m.user = user;
    m.device = device;
    const User& u = city.directory.users.at(user);
    auto replica = sync::ClientReplica::open(
        ":memory:", sync::ClientIdentity{u, device, city.directory.organisation.find(u.unit)->name}, templates, clock);
    check(replica.status(), "replica " + device);
    m.replica = std::move(replica).value();
    m.session = std::make_unique<sync::ClientSyncSession>(
        *m.replica, [&m](std::string bytes) { m.outgoing.push_back(std::move(bytes)); }, std::chrono::seconds(30));
    return m;
  };
  auto sync_machine = [&](Machine& m) {
    m.session->begin(std::chrono::milliseconds(0));
    for (int guard = 0; !m.outgoing.empty(); ++guard) {
      if (guard > 10'000) die("sync of " + m.device + " does not end");
      const std::string request = std::move(m.outgoing.front());
      m.outgoing.pop_front();
      m.session->on_message(server.handle_bytes(request, server::SessionIdentity{m.user, m.device}),
                            std::chrono::milliseconds(0));
    }
    check(m.session->last_error(), "sync of " + m.device);
  };

  // ---- forms to 财政局审核 ------------------------------------------------------------------
  std::map<UnitCode, std::vector<FormId>> forms;
  Machine& sup = machine(city.supervisor, "dev-c1");
  auto to_bureau = [&](std::size_t first_unit, std::size_t end_unit) {
    for (std::size_t k = first_unit; k < end_unit; ++k) {
      const UnitPeople& u = city.units[k];
      Machine& p = machine(u.preparer_a, "dev-" + u.code + "-a");
      for (std::size_t i = 0; i < per_unit; ++i) {
        auto id = create_form(*p.replica, 2021, generate_form(narrator, u, i));
        check(id.status(), "create form");
        forms[u.code].push_back(*id);
        check(p.replica->workflow_action(*id, workflow::Action::kSubmit), "submit");
      }
      sync_machine(p);
      Machine& r = machine(u.reviewer, "dev-" + u.code + "-r");
      sync_machine(r);
      for (const FormId& f : forms[u.code]) check(r.replica->workflow_action(f, workflow::Action::kApprove), "approve");
      sync_machine(r);
    }
    sync_machine(sup);
    for (std::size_t k = first_unit; k < end_unit; ++k) {
      const UnitPeople& u = city.units[k];
      if (u.level != UnitLevel::kDistrict) continue;
      for (const FormId& f : forms[u.code]) {
        check(sup.replica->workflow_action(f, workflow::Action::kApprove), "city approve");
      }
    }
    sync_machine(sup);
  };
  // The city 科协's own forms first: the bureau has them before the bootstrap
  // that is measured, and its readers read and edit one of them.
  std::cerr << "seeding " << city.units.size() * per_unit << " forms…\n";
  to_bureau(0, 1);
  // ---- the bureau's ClientService, on a fresh data directory ----------------------------
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("jixiao-bench-client-service-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const User& fin = city.directory.users.at(city.finance_reviewer);
  {
    auto settings = client::ClientSettings::load(dir, {});
    check(settings.status(), "settings");
    client::ClientMeta& m = settings->meta();
    m.server_url = "inproc://bench";
    m.login = fin.id;
    m.device_id = new_uuid_v4();
    m.token = "bench-token";
    m.user = fin;
    m.unit_name = city.directory.organisation.find(fin.unit)->name;
    check(settings->save(), "client.json");
  }
  std::atomic<std::uint64_t> bytes{0};
  client::ServiceOptions so;
  so.client.data_dir = dir;
  so.client.templates = &templates;
  so.client.workflows = defs;
  so.client.clock = &clock;
  so.client.connect = [&](const client::ConnectParams&) -> Result<std::unique_ptr<client::Transport>> {
    return std::unique_ptr<client::Transport>(std::make_unique<InProcessTransport>(server, city.directory, bytes));
  };
  so.program = "jixiao-bench-client-service";
  so.apply_batch_items = batch;
  auto svc = client::ClientService::open(std::move(so));
  check(svc.status(), "service");
  client::ClientService& service = **svc;
  // The first sync brings the city's own forms: the readers read and edit
  // one of them (an edit of the bureau is refused by the server later and
  // kept as a rejected change; what is measured is the local call).
  check(service.sync().status(), "first sync");
  const FormId own = forms[city.units[0].code].front();
  check(service.view(own).status(), "the city's form on the bureau's machine");
  bytes = 0;
  // Then every district's forms reach 财政局审核: the bootstrap measured.
  to_bureau(1, city.units.size());
  std::size_t at_bureau = 0;
  for (const auto& [unit, ids] : forms) {
    for (const FormId& f : ids) {
      auto rep = server.replica(f);
      check(rep.status(), "server replica");
      if (rep->workflow.stage_id == "finance_review") ++at_bureau;
    }
  }
  machines.clear();

  std::atomic<bool> done{false};
  std::vector<std::vector<double>> read_ms(readers), edit_ms(readers);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < readers; ++t) {
    threads.emplace_back([&, t] {
      // At most kEdits edits each (every edit that was sent makes the sync
      // send another request; a person does not type every few ms for ever),
      // reads until the sync ends.
      constexpr std::size_t kEdits = 100;
      for (std::size_t i = 0; !done.load(); ++i) {
        const auto a = Clock::now();
        auto v = service.view(own);
        const auto b = Clock::now();
        if (!v) die("read failed: " + v.status().to_string());
        read_ms[t].push_back(std::chrono::duration<double, std::milli>(b - a).count());
        if (i < kEdits) {
          const Status s =
              service.set_cell(own, "fields.project_name", "读写测试" + std::to_string(t) + "-" + std::to_string(i));
          const auto c = Clock::now();
          if (!s) die("edit failed: " + s.to_string());
          edit_ms[t].push_back(std::chrono::duration<double, std::milli>(c - b).count());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
  }
  const auto started = Clock::now();
  auto summary = service.sync();
  const double sync_s = std::chrono::duration<double>(Clock::now() - started).count();
  done = true;
  for (auto& th : threads) th.join();
  check(summary.status(), "bootstrap sync");
  const auto listed = service.forms();
  check(listed.status(), "forms");

  std::vector<double> reads, edits;
  for (std::size_t t = 0; t < readers; ++t) {
    reads.insert(reads.end(), read_ms[t].begin(), read_ms[t].end());
    edits.insert(edits.end(), edit_ms[t].begin(), edit_ms[t].end());
  }
  const client::ClientStatus st = service.status();
  std::printf("bootstrap: %zu forms at 财政局审核 (%zu per unit, %zu units), %zu records, %.1f MB received, "
              "%zu answers, %.1f s; %zu forms on the bureau's machine\n",
              at_bureau, per_unit, city.units.size(), summary->records_received,
              static_cast<double>(bytes.load()) / 1e6, st.pages_received, sync_s, listed->size());
  std::printf("apply batch: %zu snapshots/entries per transaction; %zu reader threads\n", batch, readers);
  std::printf("read  (view):     n=%zu  p50=%.2f ms  p99=%.2f ms  max=%.2f ms  (target p99 50 ms)\n", reads.size(),
              percentile(reads, 0.50), percentile(reads, 0.99), percentile(reads, 1.0));
  std::printf("edit  (set_cell): n=%zu  p50=%.2f ms  p99=%.2f ms  max=%.2f ms  (target p99 50 ms)\n", edits.size(),
              percentile(edits, 0.50), percentile(edits, 0.99), percentile(edits, 1.0));
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace jixiao::bench

int main(int argc, char** argv) { return jixiao::bench::run(argc, argv); }
